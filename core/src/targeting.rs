//! Targeting (docs/links.md, steps 3–5): ordered rules, first match wins, then a
//! sticky weighted split, then the default destination.

use crate::clock::UnixMillis;
use crate::record::{LinkRecord, When};
use crate::visitor::Visitor;
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::fmt;

/// The request facts a rule can look at besides the visitor.
#[derive(Debug, Clone, Copy)]
pub struct ScanFacts<'a> {
    /// The slug, lower case (part of the split's stickiness key).
    pub slug: &'a str,
    /// Scan time.
    pub now: UnixMillis,
    /// The scan's raw query string, without `?`.
    pub query: &'a str,
    /// Who scans.
    pub visitor: &'a Visitor,
}

/// What decided the destination (the scan event's `rule`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleRef {
    /// The record's `url`.
    Default,
    /// `rules[N]` (0-based, as the record lists them).
    Rule(usize),
    /// `split[N]` (0-based).
    Split(usize),
    /// The validity window.
    Expired,
    /// No record decided anything.
    None,
}

impl fmt::Display for RuleRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RuleRef::Default => f.write_str("default"),
            RuleRef::Rule(i) => write!(f, "rule:{i}"),
            RuleRef::Split(i) => write!(f, "split:{i}"),
            RuleRef::Expired => f.write_str("expired"),
            RuleRef::None => f.write_str("none"),
        }
    }
}

impl Serialize for RuleRef {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// Picks the destination for an active record inside its window.
pub fn choose<'r>(record: &'r LinkRecord, scan: &ScanFacts<'_>) -> (&'r str, RuleRef) {
    if let Some(i) = record.rules.iter().position(|rule| holds(&rule.when, scan)) {
        return (&record.rules[i].url, RuleRef::Rule(i));
    }
    if let Some(i) = split_index(record.split.iter().map(|e| e.weight), sticky_point(scan)) {
        return (&record.split[i].url, RuleRef::Split(i));
    }
    (&record.url, RuleRef::Default)
}

/// Whether every condition of a rule holds for this scan.
pub fn holds(when: &When, scan: &ScanFacts<'_>) -> bool {
    let v = scan.visitor;
    when.unknown.is_empty()
        && any_of(&when.country, |c| {
            v.geo
                .country
                .as_deref()
                .is_some_and(|g| g.eq_ignore_ascii_case(c))
        })
        && any_of(&when.continent, |c| v.geo.continent == Some(*c))
        && any_of(&when.region, |r| {
            v.geo
                .region
                .as_deref()
                .is_some_and(|g| g.eq_ignore_ascii_case(r))
        })
        && any_of(&when.os, |o| v.os == *o)
        && any_of(&when.device, |d| v.device == *d)
        && any_of(&when.language, |l| {
            v.language
                .as_deref()
                .is_some_and(|g| g.eq_ignore_ascii_case(l))
        })
        && when.after.as_ref().is_none_or(|at| scan.now >= at.millis())
        && when.before.as_ref().is_none_or(|at| scan.now < at.millis())
        && when.query.as_ref().is_none_or(|required| {
            required.iter().all(|(name, value)| {
                url::form_urlencoded::parse(scan.query.as_bytes())
                    .any(|(n, v)| n == name.as_str() && v == value.as_str())
            })
        })
}

/// A list condition: absent holds, present holds when one value matches.
fn any_of<T>(values: &Option<Vec<T>>, matches: impl Fn(&T) -> bool) -> bool {
    values.as_ref().is_none_or(|list| list.iter().any(matches))
}

/// A point in `[0, 2^64)` fixed by client IP, user agent and slug: the same
/// visitor always lands on the same split entry, with no cookie and no state.
pub fn sticky_point(scan: &ScanFacts<'_>) -> u64 {
    let mut hash = Sha256::new();
    hash.update(scan.visitor.ip.map(|ip| ip.to_string()).unwrap_or_default());
    hash.update([0]);
    hash.update(scan.visitor.user_agent.as_deref().unwrap_or(""));
    hash.update([0]);
    hash.update(scan.slug);
    let digest = hash.finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    u64::from_be_bytes(first)
}

/// The entry whose share of the total weight contains `point`; `None` when
/// there are no entries or all weights are zero.
pub fn split_index(weights: impl Iterator<Item = u32> + Clone, point: u64) -> Option<usize> {
    let total: u64 = weights.clone().map(u64::from).sum();
    if total == 0 {
        return None;
    }
    // Scale the 64-bit point into [0, total) without modulo bias worth naming.
    let mut target = ((u128::from(point) * u128::from(total)) >> 64) as u64;
    for (i, weight) in weights.enumerate() {
        let weight = u64::from(weight);
        if target < weight {
            return Some(i);
        }
        target -= weight;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{parse_record, DestinationPolicy, Strictness};
    use crate::visitor::{DeviceClass, Geo, Os};

    fn record(json: &str) -> LinkRecord {
        let policy = DestinationPolicy::open("go.example.com");
        parse_record(json.as_bytes(), Strictness::Reader, &policy).unwrap()
    }

    fn visitor() -> Visitor {
        Visitor {
            ip: Some("192.0.2.1".parse().unwrap()),
            user_agent: Some("ua".into()),
            geo: Geo {
                country: Some("DE".into()),
                region: Some("DE-BE".into()),
                city: None,
                continent: Some(crate::visitor::Continent::Eu),
                asn: None,
            },
            device: DeviceClass::Mobile,
            os: Os::Ios,
            bot: false,
            class: crate::visitor::ScanClass::Human,
            class_reason: None,
            language: Some("fr".into()),
        }
    }

    fn pick(json: &str, v: &Visitor, query: &str, now: UnixMillis) -> (String, RuleRef) {
        let r = record(json);
        let scan = ScanFacts {
            slug: "s",
            now,
            query,
            visitor: v,
        };
        let (url, rule) = choose(&r, &scan);
        (url.to_owned(), rule)
    }

    const NOW: UnixMillis = 1_772_323_200_000; // 2026-03-01T00:00:00Z

    fn rule_json(when: &str) -> String {
        format!(
            r#"{{"url":"https://example.com/default","rules":[{{"when":{when},"url":"https://example.com/hit"}}]}}"#
        )
    }

    #[test]
    fn every_condition_type_matches_and_misses() {
        let v = visitor();
        for (when, expect_hit) in [
            (r#"{"country":["at","de"]}"#, true),
            (r#"{"country":["US"]}"#, false),
            (r#"{"continent":["eu"]}"#, true),
            (r#"{"continent":["NA"]}"#, false),
            (r#"{"region":["de-be"]}"#, true),
            (r#"{"region":["US-CA"]}"#, false),
            (r#"{"os":["IOS"]}"#, true),
            (r#"{"os":["android"]}"#, false),
            (r#"{"device":["mobile","tablet"]}"#, true),
            (r#"{"device":["desktop"]}"#, false),
            (r#"{"language":["fr"]}"#, true),
            (r#"{"language":["de"]}"#, false),
            (r#"{"after":"2026-03-01T00:00:00Z"}"#, true),
            (r#"{"after":"2026-03-01T00:00:00.001Z"}"#, false),
            (r#"{"before":"2026-03-01T00:00:00.001Z"}"#, true),
            (r#"{"before":"2026-03-01T00:00:00Z"}"#, false),
            (r#"{"query":{"src":"print"}}"#, true),
            (r#"{"query":{"src":"web"}}"#, false),
            (r#"{"query":{"src":"print","x":"1"}}"#, false),
            (r#"{}"#, true),
            (r#"{"country":["DE"],"os":["android"]}"#, false),
            (r#"{"carrier":["x"]}"#, false),
        ] {
            let (url, rule) = pick(&rule_json(when), &v, "src=print&utm=a", NOW);
            if expect_hit {
                assert_eq!(
                    (url.as_str(), rule),
                    ("https://example.com/hit", RuleRef::Rule(0)),
                    "{when}"
                );
            } else {
                assert_eq!(
                    (url.as_str(), rule),
                    ("https://example.com/default", RuleRef::Default),
                    "{when}"
                );
            }
        }
    }

    #[test]
    fn first_matching_rule_wins() {
        let json = r#"{"url":"https://example.com/d","rules":[
            {"when":{"country":["US"]},"url":"https://example.com/0"},
            {"when":{"os":["ios"]},"url":"https://example.com/1"},
            {"when":{},"url":"https://example.com/2"}]}"#;
        assert_eq!(
            pick(json, &visitor(), "", NOW),
            ("https://example.com/1".into(), RuleRef::Rule(1))
        );
    }

    #[test]
    fn split_is_sticky_and_rules_come_first() {
        let json = r#"{"url":"https://example.com/d","split":[{"url":"https://example.com/a","weight":1},{"url":"https://example.com/b","weight":1}]}"#;
        let v = visitor();
        let first = pick(json, &v, "", NOW);
        for _ in 0..10 {
            assert_eq!(pick(json, &v, "", NOW), first);
        }
        assert!(matches!(first.1, RuleRef::Split(_)));
        let with_rule = r#"{"url":"https://example.com/d","rules":[{"url":"https://example.com/r"}],"split":[{"url":"https://example.com/a","weight":1}]}"#;
        assert_eq!(pick(with_rule, &v, "", NOW).1, RuleRef::Rule(0));
    }

    #[test]
    fn zero_weights_never_win() {
        for point in [0, 1, u64::MAX / 2, u64::MAX] {
            assert_eq!(split_index([0, 5, 0].into_iter(), point), Some(1));
        }
        assert_eq!(split_index([0, 0].into_iter(), 7), None);
        assert_eq!(split_index([].into_iter(), 7), None);
    }
}
