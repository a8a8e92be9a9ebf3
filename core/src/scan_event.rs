//! The scan event (docs/scan-events.md): one NDJSON line per slug request, shaped so that
//! DuckDB's `read_json` and BigQuery load it with no transformation.

use crate::clock::{format_millis, UnixMillis};
use crate::decide::{Decision, Outcome, RuleRef};
use crate::freshness::{CacheState, Source};
use crate::privacy::{ip_for_log, IpMode};
use crate::visitor::{Continent, DeviceClass, Os, Visitor};
use serde::Serialize;

/// Longest `ua` or `referer` logged, in bytes; longer values are cut at a character boundary.
pub const MAX_LOGGED_HEADER: usize = 1024;

/// Schema version of the scan line.
pub const SCHEMA_VERSION: u8 = 1;

/// One scan, as the request handling knows it. Two facts come only after the
/// response is sent: the time it took and, in `hash` mode, the IP salt (a
/// secret-store read the redirect does not wait for); [`ScanEvent::to_line`] takes them.
#[derive(Debug, Clone, PartialEq)]
pub struct ScanEvent {
    /// Request start, Unix milliseconds.
    pub started_ms: UnixMillis,
    /// Request id.
    pub id: String,
    /// Host, lower case.
    pub domain: String,
    /// Slug, lower case.
    pub slug: String,
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
    /// Whether [`ScanEvent::to_line`] needs the IP salt: `hash` mode with an address.
    pub fn needs_salt(&self) -> bool {
        self.ip_mode == IpMode::Hash && self.visitor.ip.is_some()
    }

    /// The NDJSON line, without the newline; `elapsed_us` is the time until
    /// the response was sent.
    pub fn to_line(&self, elapsed_us: u64, salt: Option<&[u8]>) -> String {
        let v = &self.visitor;
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
            ua: v.user_agent.as_deref().map(capped),
            referer: self.referer.as_deref().map(capped),
            lang: v.language.as_deref(),
            pop: self.pop.as_deref().filter(|p| !p.is_empty()),
            elapsed_us,
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
        assert!(!event.needs_salt());
        let line = event.to_line(42, None);
        assert!(!line.contains('\n'));
        assert_eq!(
            line,
            r#"{"v":1,"ts":"2026-03-01T00:00:00.000Z","id":"abc","domain":"go.example.com","slug":"spring26","outcome":"redirect","status":302,"dest":"https://example.com/","rule":"split:1","cache":"stale_if_error","source":"cache","method":"GET","country":"DE","region":"DE-BE","city":"Berlin","continent":"EU","asn":3320,"device":"mobile","os":"ios","bot":false,"ip":"192.0.2.0","ua":"ua \"quoted\"\n","referer":null,"lang":"de","pop":"FRA","elapsed_us":42}"#
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

    #[test]
    fn long_headers_are_capped_on_a_char_boundary() {
        let long = "é".repeat(1000);
        let cut = capped(&long);
        assert!(cut.len() <= MAX_LOGGED_HEADER);
        assert!(long.starts_with(cut));
        assert_eq!(capped("short"), "short");
    }
}
