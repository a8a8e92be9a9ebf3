//! `POST /_api/v1/try/{domain}/{slug}` (docs/admin-api.md, "Try a scan"): the
//! facts of an imagined visitor, checked field by field, become the
//! [`ScanRequest`] a real scan would carry, so the edge shell can hand them to
//! the very same [`crate::answer::scan`] a scan goes through. Nothing here
//! decides a destination: the answer names what the scan's decision did.

use super::AdminError;
use crate::answer::ScanRequest;
use crate::clock::{parse_rfc3339, UnixMillis};
use crate::decide::{Decision, Outcome};
use crate::record::is_region_code;
use crate::scan_class::RequestFacts;
use crate::visitor::{is_primary_subtag, Geo, Visitor};
use crate::vocabulary::{Continent, DeviceClass, Named, Os};
use serde_json::{json, Map, Value};
use std::net::IpAddr;

/// Every field the body may have (the openapi document lists the same).
pub const TRY_FIELDS: &[&str] = &[
    "country",
    "continent",
    "region",
    "device",
    "os",
    "language",
    "time",
    "query",
    "ip",
    "user_agent",
];
/// Longest `query` and `user_agent` taken: a scan URL is at most 8 KB, and a
/// user agent is classified on its first KiB only.
pub const MAX_TRY_TEXT: usize = 2048;

/// The visitor a try describes; every field optional, as a scan may lack any fact.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TryFacts {
    /// ISO 3166-1 alpha-2, upper case.
    pub country: Option<String>,
    /// Continent.
    pub continent: Option<Continent>,
    /// `CC-RR`, upper case.
    pub region: Option<String>,
    /// Device class; when absent, the one the user agent gives (as for a scan).
    pub device: Option<DeviceClass>,
    /// Operating system; when absent, the one the user agent gives.
    pub os: Option<Os>,
    /// Primary language subtag, lower case.
    pub language: Option<String>,
    /// Scan time; when absent, now.
    pub time: Option<UnixMillis>,
    /// The scan's query string, without `?`.
    pub query: String,
    /// Client address (the split's stickiness key, with the user agent).
    pub ip: Option<IpAddr>,
    /// `User-Agent`.
    pub user_agent: Option<String>,
}

fn invalid(name: &str, problem: impl Into<String>) -> AdminError {
    AdminError::InvalidField {
        name: name.to_owned(),
        problem: problem.into(),
    }
}

/// Reads a try body: a JSON object of [`TRY_FIELDS`], each a string. Every
/// refusal names its field; an unknown field is refused (as for records).
pub fn parse_try(body: &[u8]) -> Result<TryFacts, AdminError> {
    let value: Value = if body.iter().all(u8::is_ascii_whitespace) {
        Value::Object(Map::new())
    } else {
        serde_json::from_slice(body).map_err(|e| AdminError::MalformedJson(e.to_string()))?
    };
    let Value::Object(fields) = value else {
        return Err(AdminError::MalformedJson(
            "the body must be a JSON object".into(),
        ));
    };
    let mut facts = TryFacts::default();
    for (name, value) in &fields {
        if !TRY_FIELDS.contains(&name.as_str()) {
            return Err(invalid(
                name,
                format!("is not a field of a try; known: {}", TRY_FIELDS.join(" ")),
            ));
        }
        let Value::String(text) = value else {
            return Err(invalid(name, "must be a string"));
        };
        match name.as_str() {
            "country" => {
                if text.len() != 2 || !text.bytes().all(|b| b.is_ascii_alphabetic()) {
                    return Err(invalid(
                        name,
                        "must be an ISO 3166-1 alpha-2 code such as DE",
                    ));
                }
                facts.country = Some(text.to_ascii_uppercase());
            }
            "continent" => facts.continent = Some(named(name, text)?),
            "region" => {
                if !is_region_code(text) {
                    return Err(invalid(name, "must be a region code such as US-CA"));
                }
                facts.region = Some(text.to_ascii_uppercase());
            }
            "device" => facts.device = Some(named(name, text)?),
            "os" => facts.os = Some(named(name, text)?),
            "language" => {
                if !is_primary_subtag(text) {
                    return Err(invalid(
                        name,
                        "must be a primary language subtag such as fr",
                    ));
                }
                facts.language = Some(text.to_ascii_lowercase());
            }
            "time" => {
                facts.time = Some(parse_rfc3339(text).ok_or_else(|| {
                    invalid(
                        name,
                        "must be an RFC 3339 time such as 2026-03-01T12:00:00Z",
                    )
                })?);
            }
            "query" => {
                if text.len() > MAX_TRY_TEXT || text.chars().any(char::is_control) {
                    return Err(invalid(
                        name,
                        format!("must be a query string of at most {MAX_TRY_TEXT} bytes without control characters"),
                    ));
                }
                facts.query = text.strip_prefix('?').unwrap_or(text).to_owned();
            }
            "ip" => {
                facts.ip = Some(
                    text.parse()
                        .map_err(|_| invalid(name, "must be an IPv4 or IPv6 address"))?,
                );
            }
            _ => {
                if text.len() > MAX_TRY_TEXT || text.chars().any(char::is_control) {
                    return Err(invalid(
                        name,
                        format!("must be at most {MAX_TRY_TEXT} bytes without control characters"),
                    ));
                }
                facts.user_agent = Some(text.clone());
            }
        }
    }
    Ok(facts)
}

/// A closed-vocabulary value, written exactly as its name (`ios`, `EU`: the
/// API document lists them so), or the refusal listing the names.
fn named<T: Named>(field: &str, text: &str) -> Result<T, AdminError> {
    T::parse(text)
        .filter(|value| value.name_of() == Some(text))
        .ok_or_else(|| invalid(field, format!("must be {}", T::expected())))
}

impl TryFacts {
    /// The scan request these facts describe: classified like a scan's
    /// (`Visitor::classify`), then the device and OS asked for, if any.
    pub fn scan_request(
        self,
        id: String,
        now: UnixMillis,
        domain: &str,
        slug: &str,
    ) -> ScanRequest {
        let geo = Geo {
            country: self.country,
            region: self.region,
            continent: self.continent,
            ..Geo::default()
        };
        let mut visitor = Visitor::classify(
            self.ip,
            self.user_agent.as_deref(),
            self.language.as_deref(),
            RequestFacts::default(),
            geo,
            None,
        );
        if let Some(device) = self.device {
            visitor.device = device;
        }
        if let Some(os) = self.os {
            visitor.os = os;
        }
        ScanRequest {
            id,
            method: "GET".into(),
            started_ms: self.time.unwrap_or(now),
            domain: domain.to_owned(),
            slug: slug.to_owned(),
            preview: false,
            query: self.query,
            visitor,
            referer: None,
            pop: None,
        }
    }
}

/// The answer of a try: what the scan's decision was, as a scan event would name it.
pub fn try_body(decision: &Decision) -> String {
    json!({
        "status": decision.status,
        "location": decision.location,
        "outcome": outcome_name(decision.outcome),
        "rule": decision.rule.to_string(),
    })
    .to_string()
}

fn outcome_name(outcome: Outcome) -> String {
    serde_json::to_value(outcome)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::answer::{scan, Found, Resolution};
    use crate::freshness::{CacheState, Source};
    use crate::record::{parse_record, DestinationPolicy, Strictness};
    use crate::settings::Settings;

    const NOW: i64 = 1_772_323_200_000; // 2026-03-01T00:00:00Z

    const RECORD: &str = r#"{"url":"https://example.com/",
        "rules":[{"when":{"country":["DE"]},"url":"https://example.com/de"},
                 {"when":{"os":["ios"],"after":"2026-06-01T00:00:00Z"},"url":"https://example.com/ios"}],
        "split":[{"url":"https://example.com/a","weight":1},{"url":"https://example.com/b","weight":1}]}"#;

    /// The try's answer body, through the scan's own `answer::scan`.
    fn tried(record: &str, body: &str) -> Value {
        let policy = DestinationPolicy::open("go.example.com");
        let record = parse_record(record.as_bytes(), Strictness::Reader, &policy).unwrap();
        let settings = Settings::default();
        let request = parse_try(body.as_bytes()).unwrap().scan_request(
            "id".into(),
            NOW,
            "go.example.com",
            "s",
        );
        let (_, event) = scan(
            request,
            Resolution::Looked {
                settings: &settings,
                found: Found::Record(&record),
                cache: CacheState::Hit,
                source: Source::Cache,
                piece: None,
            },
        );
        serde_json::from_str(&try_body(&event.decision)).unwrap()
    }

    #[test]
    fn a_country_rule_decides_for_a_visitor_of_that_country() {
        let answer = tried(RECORD, r#"{"country":"de"}"#);
        assert_eq!(
            answer,
            json!({"status":302,"location":"https://example.com/de","outcome":"redirect","rule":"rule:0"})
        );
    }

    #[test]
    fn time_and_os_reach_the_rules() {
        let before = tried(RECORD, r#"{"os":"ios","time":"2026-05-01T00:00:00Z"}"#);
        assert!(
            before["rule"].as_str().unwrap().starts_with("split:"),
            "{before}"
        );
        let after = tried(RECORD, r#"{"os":"ios","time":"2026-06-01T00:00:00Z"}"#);
        assert_eq!(after["rule"], "rule:1");
        assert_eq!(after["location"], "https://example.com/ios");
    }

    #[test]
    fn the_split_arm_is_sticky_per_ip_and_user_agent() {
        let body = r#"{"ip":"192.0.2.7","user_agent":"Mozilla/5.0"}"#;
        let first = tried(RECORD, body);
        assert_eq!(first, tried(RECORD, body));
        let arms: std::collections::BTreeSet<String> = (0..40)
            .map(|i| {
                tried(RECORD, &format!(r#"{{"ip":"192.0.2.{i}"}}"#))["rule"]
                    .as_str()
                    .unwrap()
                    .to_owned()
            })
            .collect();
        assert_eq!(arms, ["split:0".to_owned(), "split:1".to_owned()].into());
    }

    #[test]
    fn query_forwarding_and_disabled_links_answer_as_a_scan() {
        let forwarded = tried(
            r#"{"url":"https://example.com/x"}"#,
            r#"{"query":"?utm_source=print"}"#,
        );
        assert_eq!(
            forwarded["location"],
            "https://example.com/x?utm_source=print"
        );
        assert_eq!(forwarded["rule"], "default");
        let disabled = tried(
            r#"{"url":"https://example.com/x","status":"disabled"}"#,
            "{}",
        );
        assert_eq!(
            disabled,
            json!({"status":410,"location":null,"outcome":"disabled","rule":"none"})
        );
    }

    #[test]
    fn an_empty_body_is_a_visitor_with_no_facts() {
        assert_eq!(parse_try(b"").unwrap(), TryFacts::default());
        assert_eq!(parse_try(b" {} ").unwrap(), TryFacts::default());
    }

    #[test]
    fn every_refusal_names_its_field() {
        for (body, field) in [
            (r#"{"country":"DEU"}"#, "country"),
            (r#"{"country":"D1"}"#, "country"),
            (r#"{"continent":"XX"}"#, "continent"),
            (r#"{"region":"CA"}"#, "region"),
            (r#"{"device":"phone"}"#, "device"),
            (r#"{"os":"beos"}"#, "os"),
            (r#"{"os":"iOS"}"#, "os"),
            (r#"{"continent":"eu"}"#, "continent"),
            (r#"{"language":"fr-FR"}"#, "language"),
            (r#"{"time":"yesterday"}"#, "time"),
            (r#"{"query":"a=\n"}"#, "query"),
            (r#"{"ip":"1.2.3"}"#, "ip"),
            (r#"{"user_agent":"a\u0000"}"#, "user_agent"),
            (r#"{"country":1}"#, "country"),
            (r#"{"city":"Berlin"}"#, "city"),
        ] {
            let e = parse_try(body.as_bytes()).unwrap_err();
            assert_eq!((e.status(), e.field()), (400, Some(field)), "{body}");
        }
        assert_eq!(parse_try(b"[1]").unwrap_err().status(), 400);
        assert_eq!(parse_try(b"{").unwrap_err().status(), 400);
    }
}
