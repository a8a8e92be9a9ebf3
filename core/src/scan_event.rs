//! The scan event (docs/scan-events.md): one NDJSON line per slug request, shaped so that
//! DuckDB's `read_json` and BigQuery load it with no transformation.

use crate::clock::{format_millis, UnixMillis};
use crate::decide::{Decision, Outcome, RuleRef};
use crate::freshness::{CacheState, Source};
use crate::privacy::{ip_for_log, visitor_hash, IpMode};
use crate::visitor::{Continent, DeviceClass, Os, ScanClass, Visitor};
use serde::Serialize;

/// Longest `ua` or `referer` logged, in bytes; longer values are cut at a character boundary.
pub const MAX_LOGGED_HEADER: usize = 1024;

/// Schema version of the scan line: 2 added `piece`, `class`, `class_reason` and `visitor`.
pub const SCHEMA_VERSION: u8 = 2;

/// One scan, as the request handling knows it. Two facts come only after the
/// response is sent: the time it took and the IP salt (a secret-store read the
/// redirect does not wait for); [`ScanEvent::to_line`] takes them.
#[derive(Debug, Clone, PartialEq)]
pub struct ScanEvent {
    /// Request start, Unix milliseconds.
    pub started_ms: UnixMillis,
    /// Request id.
    pub id: String,
    /// Host, lower case.
    pub domain: String,
    /// Slug, lower case: the record's (for a piece code, its base slug).
    pub slug: String,
    /// The piece of a piece code, lower case; `None` for any other answer.
    pub piece: Option<String>,
    /// What was sent.
    pub decision: Decision,
    /// How the record was obtained.
    pub cache: CacheState,
    /// Where it came from.
    pub source: Source,
    /// Request method.
    pub method: String,
    /// Who scanned.
    pub visitor: Visitor,
    /// `Referer`.
    pub referer: Option<String>,
    /// What of the IP is logged (the domain's `ip_mode`; `none` when unknown).
    pub ip_mode: IpMode,
    /// Fastly POP.
    pub pop: Option<String>,
}

impl ScanEvent {
    /// Whether [`ScanEvent::to_line`] needs the IP salt: whenever there is an
    /// address, in every `ip_mode`, for `visitor` (and for `ip` in `hash` mode).
    pub fn needs_salt(&self) -> bool {
        self.visitor.ip.is_some()
    }

    /// The NDJSON line, without the newline; `elapsed_us` is the time until
    /// the response was sent, `salt` the secret `ip_salt` (`None`: absent).
    pub fn to_line(&self, elapsed_us: u64, salt: Option<&[u8]>) -> String {
        let v = &self.visitor;
        let ua = v.user_agent.as_deref().map(capped);
        let line = Line {
            v: SCHEMA_VERSION,
            ts: format_millis(self.started_ms),
            id: &self.id,
            domain: &self.domain,
            slug: &self.slug,
            outcome: self.decision.outcome,
            status: self.decision.status,
            dest: self.decision.location.as_deref(),
            rule: self.decision.rule,
            cache: self.cache,
            source: self.source,
            method: &self.method,
            country: v.geo.country.as_deref(),
            region: v.geo.region.as_deref(),
            city: v.geo.city.as_deref(),
            continent: v.geo.continent,
            asn: v.geo.asn,
            device: v.device,
            os: v.os,
            bot: v.bot,
            ip: v.ip.and_then(|ip| ip_for_log(ip, self.ip_mode, salt)),
            ua,
            referer: self.referer.as_deref().map(capped),
            lang: v.language.as_deref(),
            pop: self.pop.as_deref().filter(|p| !p.is_empty()),
            elapsed_us,
            piece: self.piece.as_deref(),
            class: v.class,
            class_reason: v.class_reason.as_deref().map(capped),
            // Over the user agent as logged: lines with equal `ua` (and day and
            // address) have equal `visitor`, and a huge header costs no more.
            visitor: visitor_hash(salt, self.started_ms, v.ip, ua),
        };
        // Serialising plain strings, numbers and enums cannot fail.
        serde_json::to_string(&line).unwrap_or_default()
    }
}

/// The line's columns, in their documented order (docs/scan-events.md).
#[derive(Serialize)]
struct Line<'a> {
    v: u8,
    ts: String,
    id: &'a str,
    domain: &'a str,
    slug: &'a str,
    outcome: Outcome,
    status: u16,
    dest: Option<&'a str>,
    rule: RuleRef,
    cache: CacheState,
    source: Source,
    method: &'a str,
    country: Option<&'a str>,
    region: Option<&'a str>,
    city: Option<&'a str>,
    continent: Option<Continent>,
    asn: Option<u32>,
    device: DeviceClass,
    os: Os,
    bot: bool,
    ip: Option<String>,
    ua: Option<&'a str>,
    referer: Option<&'a str>,
    lang: Option<&'a str>,
    pop: Option<&'a str>,
    elapsed_us: u64,
    piece: Option<&'a str>,
    class: ScanClass,
    class_reason: Option<&'a str>,
    visitor: Option<String>,
}

/// Cuts a header value to [`MAX_LOGGED_HEADER`] bytes at a character boundary.
pub fn capped(value: &str) -> &str {
    crate::prefix(value, MAX_LOGGED_HEADER)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::visitor::Geo;

    #[test]
    fn the_line_has_every_field_in_order() {
        let event = ScanEvent {
            started_ms: 1_772_323_200_000,
            id: "abc".into(),
            domain: "go.example.com".into(),
            slug: "spring26".into(),
            piece: None,
            decision: Decision {
                outcome: Outcome::Redirect,
                status: 302,
                location: Some("https://example.com/".into()),
                rule: RuleRef::Split(1),
            },
            cache: CacheState::StaleIfError,
            source: Source::Cache,
            method: "GET".into(),
            visitor: Visitor {
                ip: Some("192.0.2.7".parse().unwrap()),
                user_agent: Some("ua \"quoted\"\n".into()),
                geo: Geo {
                    country: Some("DE".into()),
                    region: Some("DE-BE".into()),
                    city: Some("Berlin".into()),
                    continent: Some(Continent::Eu),
                    asn: Some(3320),
                },
                device: DeviceClass::Mobile,
                os: Os::Ios,
                bot: false,
                class: crate::visitor::ScanClass::Human,
                class_reason: None,
                language: Some("de".into()),
            },
            referer: None,
            ip_mode: IpMode::Truncate,
            pop: Some("FRA".into()),
        };
        assert!(
            event.needs_salt(),
            "visitor needs the salt in every ip_mode"
        );
        let line = event.to_line(42, None);
        assert!(!line.contains('\n'));
        assert_eq!(
            line,
            r#"{"v":2,"ts":"2026-03-01T00:00:00.000Z","id":"abc","domain":"go.example.com","slug":"spring26","outcome":"redirect","status":302,"dest":"https://example.com/","rule":"split:1","cache":"stale_if_error","source":"cache","method":"GET","country":"DE","region":"DE-BE","city":"Berlin","continent":"EU","asn":3320,"device":"mobile","os":"ios","bot":false,"ip":"192.0.2.0","ua":"ua \"quoted\"\n","referer":null,"lang":"de","pop":"FRA","elapsed_us":42,"piece":null,"class":"human","class_reason":null,"visitor":null}"#
        );
        let hashed = ScanEvent {
            ip_mode: IpMode::Hash,
            ..event
        };
        assert!(hashed.needs_salt());
        assert!(
            hashed.to_line(1, None).contains(r#""ip":null"#),
            "no salt, no IP"
        );
        assert!(!hashed.to_line(1, Some(b"salt")).contains("192.0.2"));
    }

    fn event(ip_mode: IpMode) -> ScanEvent {
        ScanEvent {
            started_ms: 1_772_323_200_000,
            id: "abc".into(),
            domain: "go.example.com".into(),
            slug: "spring26".into(),
            piece: None,
            decision: Decision {
                outcome: Outcome::Redirect,
                status: 302,
                location: Some("https://example.com/".into()),
                rule: RuleRef::Default,
            },
            cache: CacheState::Miss,
            source: Source::Kv,
            method: "HEAD".into(),
            visitor: Visitor {
                ip: Some("192.0.2.7".parse().unwrap()),
                user_agent: Some("facebookexternalhit/1.1".into()),
                geo: Geo::default(),
                device: DeviceClass::Bot,
                os: Os::Other,
                bot: true,
                class: ScanClass::Preview,
                class_reason: Some("ua:facebookexternalhit".into()),
                language: None,
            },
            referer: None,
            ip_mode,
            pop: None,
        }
    }

    fn parsed(line: &str) -> serde_json::Value {
        serde_json::from_str(line).unwrap()
    }

    #[test]
    fn class_and_reason_come_from_the_visitor() {
        let line = parsed(&event(IpMode::Truncate).to_line(1, None));
        assert_eq!(line["class"], "preview");
        assert_eq!(line["class_reason"], "ua:facebookexternalhit");
        assert_eq!(line["piece"], serde_json::Value::Null);
    }

    #[test]
    fn visitor_is_written_in_every_ip_mode_with_a_salt() {
        let salt: &[u8] = b"pepper";
        let expected = visitor_hash(
            Some(salt),
            1_772_323_200_000,
            Some("192.0.2.7".parse().unwrap()),
            Some("facebookexternalhit/1.1"),
        )
        .unwrap();
        for mode in [IpMode::Truncate, IpMode::Hash, IpMode::Full, IpMode::None] {
            let e = event(mode);
            assert!(e.needs_salt(), "{mode:?}");
            let line = parsed(&e.to_line(1, Some(salt)));
            assert_eq!(line["visitor"], expected.as_str(), "{mode:?}");
            assert_eq!(
                parsed(&e.to_line(1, None))["visitor"],
                serde_json::Value::Null
            );
        }
        let hashed = parsed(&event(IpMode::Hash).to_line(1, Some(salt)));
        assert_ne!(hashed["ip"], hashed["visitor"]);
        assert_eq!(
            parsed(&event(IpMode::None).to_line(1, Some(salt)))["ip"],
            serde_json::Value::Null
        );
    }

    #[test]
    fn no_address_no_visitor_and_no_salt_read() {
        let mut e = event(IpMode::Hash);
        e.visitor.ip = None;
        assert!(!e.needs_salt());
        let line = parsed(&e.to_line(1, Some(b"pepper")));
        assert_eq!(
            (&line["ip"], &line["visitor"]),
            (&serde_json::Value::Null, &serde_json::Value::Null)
        );
    }

    #[test]
    fn visitor_hashes_the_user_agent_as_logged() {
        let mut long = event(IpMode::None);
        long.visitor.user_agent = Some("a".repeat(5000));
        let mut cut = event(IpMode::None);
        cut.visitor.user_agent = Some("a".repeat(MAX_LOGGED_HEADER));
        let salt = Some(b"pepper".as_slice());
        assert_eq!(
            parsed(&long.to_line(1, salt))["visitor"],
            parsed(&cut.to_line(1, salt))["visitor"]
        );
    }

    #[test]
    fn long_headers_are_capped_on_a_char_boundary() {
        let long = "é".repeat(1000);
        let cut = capped(&long);
        assert!(cut.len() <= MAX_LOGGED_HEADER);
        assert!(long.starts_with(cut));
        assert_eq!(capped("short"), "short");
    }
}
