//! The decision for one scan of a known link (docs/links.md, "Decision order"):
//! disabled → validity window → rules → split → default, then query forwarding.

use crate::clock::Timestamp;
use crate::record::{ForwardQuery, LinkRecord, LinkStatus};
pub use crate::targeting::RuleRef;
use crate::targeting::{choose, ScanFacts};
use serde::Serialize;

/// What happened to a scan (the scan event's `outcome`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Redirected to a destination of the record.
    Redirect,
    /// No such link.
    NotFound,
    /// The link is disabled.
    Disabled,
    /// The scan is outside the link's validity window.
    Expired,
    /// Nothing could be resolved; redirected to `fallback_url`.
    Fallback,
    /// Nothing could be resolved; 503.
    Unavailable,
    /// The `/{slug}+` page.
    Preview,
}

/// The answer for one scan of a known link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// What happened.
    pub outcome: Outcome,
    /// HTTP status to send.
    pub status: u16,
    /// `Location`, for redirects.
    pub location: Option<String>,
    /// What decided.
    pub rule: RuleRef,
}

/// Applies the decision order to a record.
pub fn decide(record: &LinkRecord, scan: &ScanFacts<'_>) -> Decision {
    if record.status == LinkStatus::Disabled {
        return Decision {
            outcome: Outcome::Disabled,
            status: 410,
            location: None,
            rule: RuleRef::None,
        };
    }
    if !in_window(record, scan.now) {
        let location = record.expired_url.as_deref().map(location_value);
        let status = if location.is_some() { 302 } else { 410 };
        return Decision {
            outcome: Outcome::Expired,
            status,
            location,
            rule: RuleRef::Expired,
        };
    }
    let (url, rule) = choose(record, scan);
    let location = forward_query(url, scan.query, &record.forward_query);
    Decision {
        outcome: Outcome::Redirect,
        status: record.code,
        location: Some(location),
        rule,
    }
}

/// The answer for a slug no source knows: 302 to `not_found_url`, else a 404 page.
pub fn not_found(not_found_url: Option<&str>) -> Decision {
    let status = if not_found_url.is_some() { 302 } else { 404 };
    Decision {
        outcome: Outcome::NotFound,
        status,
        location: not_found_url.map(location_value),
        rule: RuleRef::None,
    }
}

/// The answer when no source answered and nothing usable is cached: 302 to
/// `fallback_url`, else 503.
pub fn unavailable(fallback_url: Option<&str>) -> Decision {
    match fallback_url {
        Some(url) => Decision {
            outcome: Outcome::Fallback,
            status: 302,
            location: Some(location_value(url)),
            rule: RuleRef::None,
        },
        None => Decision {
            outcome: Outcome::Unavailable,
            status: 503,
            location: None,
            rule: RuleRef::None,
        },
    }
}

/// Whether `now` lies in `[valid_from, valid_until)`.
pub fn in_window(record: &LinkRecord, now: i64) -> bool {
    let from = record.valid_from.as_ref().map(Timestamp::millis);
    let until = record.valid_until.as_ref().map(Timestamp::millis);
    from.is_none_or(|from| now >= from) && until.is_none_or(|until| now < until)
}

/// A URL as a `Location` value: serialised by the URL standard, so it is
/// ASCII (non-ASCII path and query bytes percent-encoded, hosts in punycode)
/// and can never be refused as a header value.
pub fn location_value(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(parsed) => parsed.into(),
        Err(_) => url
            .bytes()
            .map(|b| {
                if b.is_ascii_graphic() {
                    char::from(b).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect(),
    }
}

/// Appends the scan's parameters that `forward` lets through to the
/// destination's query. A parameter the destination already names is
/// dropped: a scan may add parameters, never replace the owner's (no
/// `?next=https://evil.test/` smuggled over an owner's `next`). The
/// destination's own query is kept byte for byte.
pub fn forward_query(destination: &str, scan_query: &str, forward: &ForwardQuery) -> String {
    let Ok(mut url) = url::Url::parse(destination) else {
        return location_value(destination);
    };
    let owned: Vec<String> = url
        .query_pairs()
        .map(|(name, _)| name.into_owned())
        .collect();
    let forwarded: Vec<(String, String)> = url::form_urlencoded::parse(scan_query.as_bytes())
        .into_owned()
        .filter(|(name, _)| forward.forwards(name) && !owned.contains(name))
        .collect();
    if !forwarded.is_empty() {
        url.query_pairs_mut().extend_pairs(forwarded);
    }
    url.into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{parse_record, DestinationPolicy, Strictness};
    use crate::visitor::Visitor;

    const NOW: i64 = 1_772_323_200_000; // 2026-03-01T00:00:00Z

    fn decide_json(json: &str, query: &str) -> Decision {
        let policy = DestinationPolicy::open("go.example.com");
        let record = parse_record(json.as_bytes(), Strictness::Reader, &policy).unwrap();
        let visitor = Visitor::unknown();
        decide(
            &record,
            &ScanFacts {
                slug: "s",
                now: NOW,
                query,
                visitor: &visitor,
            },
        )
    }

    #[test]
    fn default_destination_with_the_records_code() {
        let d = decide_json(r#"{"url":"https://example.com/x","code":307}"#, "");
        assert_eq!(
            d,
            Decision {
                outcome: Outcome::Redirect,
                status: 307,
                location: Some("https://example.com/x".into()),
                rule: RuleRef::Default
            }
        );
    }

    #[test]
    fn disabled_wins_over_everything() {
        let d = decide_json(
            r#"{"url":"https://example.com/x","status":"disabled","valid_until":"2020-01-01T00:00:00Z"}"#,
            "",
        );
        assert_eq!(
            (d.outcome, d.status, d.location, d.rule),
            (Outcome::Disabled, 410, None, RuleRef::None)
        );
    }

    #[test]
    fn outside_the_window_is_expired() {
        let before = decide_json(
            r#"{"url":"https://example.com/x","valid_from":"2026-03-01T00:00:00.001Z","expired_url":"https://example.com/ended"}"#,
            "a=1",
        );
        assert_eq!(
            (before.outcome, before.status, before.location.as_deref()),
            (Outcome::Expired, 302, Some("https://example.com/ended"))
        );
        let after = decide_json(
            r#"{"url":"https://example.com/x","valid_until":"2026-03-01T00:00:00Z"}"#,
            "",
        );
        assert_eq!(
            (after.outcome, after.status, after.location, after.rule),
            (Outcome::Expired, 410, None, RuleRef::Expired)
        );
        let inside = decide_json(
            r#"{"url":"https://example.com/x","valid_from":"2026-03-01T00:00:00Z","valid_until":"2026-03-01T00:00:00.001Z"}"#,
            "",
        );
        assert_eq!(inside.outcome, Outcome::Redirect);
    }

    #[test]
    fn scan_parameters_are_appended_but_never_replace_the_owners() {
        let all = ForwardQuery::default();
        assert_eq!(
            forward_query("https://example.com/p?a=1&b=2#frag", "b=3&c=4", &all),
            "https://example.com/p?a=1&b=2&c=4#frag"
        );
        assert_eq!(
            forward_query(
                "https://example.com/spring?next=%2Fhome",
                "next=https%3A%2F%2Fevil.test%2F",
                &all
            ),
            "https://example.com/spring?next=%2Fhome"
        );
        assert_eq!(
            forward_query("https://example.com/p?a=%20", "", &all),
            "https://example.com/p?a=%20"
        );
        let named = ForwardQuery::Named(vec!["utm_*".into(), "gclid".into()]);
        assert_eq!(
            forward_query(
                "https://example.com/p",
                "utm_source=qr&next=x&gclid=1&gclid2=2",
                &named
            ),
            "https://example.com/p?utm_source=qr&gclid=1"
        );
        let d = decide_json(
            r#"{"url":"https://example.com/x?k=v","forward_query":false}"#,
            "utm=1",
        );
        assert_eq!(d.location.as_deref(), Some("https://example.com/x?k=v"));
        let d = decide_json(r#"{"url":"https://example.com/x?k=v"}"#, "utm=1&k=evil");
        assert_eq!(
            d.location.as_deref(),
            Some("https://example.com/x?k=v&utm=1")
        );
        let d = decide_json(
            r#"{"url":"https://example.com/x","forward_query":["utm_*"]}"#,
            "utm_medium=print&x=1",
        );
        assert_eq!(
            d.location.as_deref(),
            Some("https://example.com/x?utm_medium=print")
        );
    }

    #[test]
    fn locations_are_always_ascii() {
        assert_eq!(
            location_value("https://example.com/ä?q=é"),
            "https://example.com/%C3%A4?q=%C3%A9"
        );
        assert_eq!(
            location_value("https://bücher.example/"),
            "https://xn--bcher-kva.example/"
        );
        assert_eq!(location_value("not a url ä"), "not%20a%20url%20%C3%A4");
        let d = decide_json(
            r#"{"url":"https://example.com/ä","forward_query":false}"#,
            "",
        );
        assert_eq!(d.location.as_deref(), Some("https://example.com/%C3%A4"));
        let d = decide_json(r#"{"url":"https://example.com/ä"}"#, "");
        assert_eq!(d.location.as_deref(), Some("https://example.com/%C3%A4"));
        assert_eq!(
            not_found(Some("https://example.com/é")).location.as_deref(),
            Some("https://example.com/%C3%A9")
        );
    }

    #[test]
    fn rule_refs_print_as_the_log_names_them() {
        let names: Vec<String> = [
            RuleRef::Default,
            RuleRef::Rule(2),
            RuleRef::Split(0),
            RuleRef::Expired,
            RuleRef::None,
        ]
        .iter()
        .map(ToString::to_string)
        .collect();
        assert_eq!(names, ["default", "rule:2", "split:0", "expired", "none"]);
    }
}
