//! The scan event (SPEC §6): one NDJSON line per slug request, shaped so that
//! DuckDB's `read_json` and BigQuery load it with no transformation.

use crate::decide::{Outcome, RuleRef};
use crate::freshness::{CacheState, Source};
use crate::visitor::{DeviceClass, Os};
use serde::Serialize;

/// Longest `ua` or `referer` logged, in bytes; longer values are cut at a character boundary.
pub const MAX_LOGGED_HEADER: usize = 1024;

/// Schema version of [`ScanEvent`].
pub const SCHEMA_VERSION: u8 = 1;

/// One scan, in the field order of SPEC §6.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScanEvent<'a> {
    /// Schema version.
    pub v: u8,
    /// RFC 3339 UTC with milliseconds.
    pub ts: String,
    /// Request id.
    pub id: &'a str,
    /// Host, lower case.
    pub domain: &'a str,
    /// Slug, lower case.
    pub slug: &'a str,
    /// What happened.
    pub outcome: Outcome,
    /// HTTP status sent.
    pub status: u16,
    /// `Location` sent.
    pub dest: Option<&'a str>,
    /// What decided.
    pub rule: RuleRef,
    /// How the record was obtained.
    pub cache: CacheState,
    /// Where it came from.
    pub source: Source,
    /// Request method.
    pub method: &'a str,
    /// ISO 3166-1 alpha-2.
    pub country: Option<&'a str>,
    /// `CC-RR`.
    pub region: Option<&'a str>,
    /// City.
    pub city: Option<&'a str>,
    /// Continent code.
    pub continent: Option<&'a str>,
    /// Autonomous system number.
    pub asn: Option<u32>,
    /// Device class.
    pub device: DeviceClass,
    /// Operating system.
    pub os: Os,
    /// Crawler, preview fetcher or `HEAD`.
    pub bot: bool,
    /// Client IP per `ip_mode`.
    pub ip: Option<String>,
    /// `User-Agent`, capped.
    pub ua: Option<&'a str>,
    /// `Referer`, capped.
    pub referer: Option<&'a str>,
    /// Primary language subtag the rules saw.
    pub lang: Option<&'a str>,
    /// Fastly POP.
    pub pop: Option<&'a str>,
    /// Microseconds from request start to response sent.
    pub elapsed_us: u64,
}

impl ScanEvent<'_> {
    /// The NDJSON line, without the newline.
    pub fn to_line(&self) -> String {
        // Serialising plain strings, numbers and enums cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// Cuts a header value to [`MAX_LOGGED_HEADER`] bytes at a character boundary.
pub fn capped(value: &str) -> &str {
    crate::prefix(value, MAX_LOGGED_HEADER)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_line_has_every_field_in_order() {
        let event = ScanEvent {
            v: SCHEMA_VERSION,
            ts: "2026-03-01T00:00:00.000Z".into(),
            id: "abc",
            domain: "go.example.com",
            slug: "spring26",
            outcome: Outcome::Redirect,
            status: 302,
            dest: Some("https://example.com/"),
            rule: RuleRef::Split(1),
            cache: CacheState::StaleIfError,
            source: Source::Cache,
            method: "GET",
            country: Some("DE"),
            region: Some("DE-BE"),
            city: Some("Berlin"),
            continent: Some("EU"),
            asn: Some(3320),
            device: DeviceClass::Mobile,
            os: Os::Ios,
            bot: false,
            ip: Some("192.0.2.0".into()),
            ua: Some("ua \"quoted\"\n"),
            referer: None,
            lang: Some("de"),
            pop: Some("FRA"),
            elapsed_us: 42,
        };
        let line = event.to_line();
        assert!(!line.contains('\n'));
        assert_eq!(
            line,
            r#"{"v":1,"ts":"2026-03-01T00:00:00.000Z","id":"abc","domain":"go.example.com","slug":"spring26","outcome":"redirect","status":302,"dest":"https://example.com/","rule":"split:1","cache":"stale_if_error","source":"cache","method":"GET","country":"DE","region":"DE-BE","city":"Berlin","continent":"EU","asn":3320,"device":"mobile","os":"ios","bot":false,"ip":"192.0.2.0","ua":"ua \"quoted\"\n","referer":null,"lang":"de","pop":"FRA","elapsed_us":42}"#
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
