//! The link record (docs/links.md): one type for the KV value, the origin's body and
//! the admin API's body, and one validator for all three.
//!
//! Readers (KV, origin) ignore unknown fields; the admin API rejects them. Both
//! run the same validation, including the destination allow-list, so neither a
//! compromised origin nor a leaked admin token can point a printed code at a
//! host the owner has not allowed.

use crate::clock::Timestamp;
use crate::destination::validate_destination;
pub use crate::destination::{DestinationPolicy, MAX_URL_LEN};
pub use crate::pieces::Pieces;
use crate::pieces::{check_placeholder, MAX_PIECE_LEN, PLACEHOLDER};
use crate::visitor::is_primary_subtag;
use crate::vocabulary::{Continent, DeviceClass, Os};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

/// Largest record accepted from any source (64 KiB). Every scan of a record
/// parses and validates it again, and the worst record under the old 1 MiB
/// bound (256 rules of long condition lists) cost a scan 30–80 ms of guest time
/// under Viceroy, past Fastly's 50 ms CPU limit; real records are a few KiB.
pub const MAX_RECORD_BYTES: usize = 64 * 1024;
/// Most rules, split entries, tags, or values in one condition.
pub const MAX_LIST_LEN: usize = 256;
/// Longest parameter name or prefix in `forward_query`.
pub const MAX_PARAMETER_NAME_LEN: usize = 256;
/// Largest split weight.
pub const MAX_WEIGHT: u32 = 1_000_000;
/// Redirect codes a record may ask for.
pub const ALLOWED_CODES: [u16; 5] = [301, 302, 303, 307, 308];

/// A link record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LinkRecord {
    /// The default destination.
    pub url: String,
    /// `active` or `disabled`.
    #[serde(default)]
    pub status: LinkStatus,
    /// Redirect status code for rule, split and default destinations.
    #[serde(default = "default_code")]
    pub code: u16,
    /// Which scan parameters are appended to the destination's query.
    #[serde(default)]
    pub forward_query: ForwardQuery,
    /// Start of the validity window (RFC 3339), inclusive.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_from: Option<Timestamp>,
    /// End of the validity window (RFC 3339), exclusive.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_until: Option<Timestamp>,
    /// Where scans outside the window go; without it they get a 410 page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expired_url: Option<String>,
    /// Ordered targeting rules; the first that holds decides.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<Rule>,
    /// Weighted, sticky A/B split.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub split: Vec<SplitEntry>,
    /// Free-form labels for the owner.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// Free text for the owner.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// Piece codes: the record also answers `/{slug}-{piece}` (crate::pieces).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pieces: Option<Pieces>,
}

/// Whether a link redirects at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LinkStatus {
    /// Redirects.
    #[default]
    Active,
    /// Answers a 410 page.
    Disabled,
}

/// One targeting rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rule {
    /// Conditions, all of which must hold; empty always holds.
    #[serde(default)]
    pub when: When,
    /// Destination when the rule holds.
    pub url: String,
}

/// The conditions of a rule. A list condition holds when the request matches
/// one of its values.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct When {
    /// ISO 3166-1 alpha-2 codes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<Vec<String>>,
    /// Continents.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub continent: Option<Vec<Continent>>,
    /// `CC-RR` subdivision codes, e.g. `US-CA`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<Vec<String>>,
    /// Operating systems.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub os: Option<Vec<Os>>,
    /// Device classes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device: Option<Vec<DeviceClass>>,
    /// Primary language subtags, e.g. `fr`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<Vec<String>>,
    /// The scan time is at or after this instant (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<Timestamp>,
    /// The scan time is strictly before this instant (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<Timestamp>,
    /// Query parameters that must all be present with these values.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query: Option<BTreeMap<String, String>>,
    /// Conditions this version does not know. The admin API rejects them; a
    /// reader keeps the rule but never lets it hold, since ignoring a condition
    /// would widen the rule beyond what its author wrote. Serialised back as
    /// read, so the cache's copy of the record keeps them (and keeps the rule shut).
    #[serde(flatten)]
    pub unknown: BTreeMap<String, serde_json::Value>,
}

/// One arm of a split.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SplitEntry {
    /// Destination of this arm.
    pub url: String,
    /// Relative share; 0 disables the arm.
    pub weight: u32,
}

fn default_code() -> u16 {
    302
}

/// `forward_query`: which of a scan's query parameters reach the
/// destination. A parameter the destination's URL already names is never
/// forwarded, so a scan can add parameters but never replace the owner's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ForwardQuery {
    /// `true` (the default): every parameter; `false`: none.
    Every(bool),
    /// The named parameters; a name ending in `*` is a prefix (`utm_*`).
    Named(Vec<String>),
}

impl Default for ForwardQuery {
    fn default() -> Self {
        ForwardQuery::Every(true)
    }
}

impl ForwardQuery {
    /// Whether a scan parameter of this name is forwarded.
    pub fn forwards(&self, name: &str) -> bool {
        match self {
            ForwardQuery::Every(all) => *all,
            ForwardQuery::Named(names) => {
                names.iter().any(|pattern| match pattern.strip_suffix('*') {
                    Some(prefix) => name.starts_with(prefix),
                    None => name == pattern,
                })
            }
        }
    }

    fn validate(&self) -> Result<(), RecordError> {
        let ForwardQuery::Named(names) = self else {
            return Ok(());
        };
        bounded_len("forward_query", names.len())?;
        for (i, name) in names.iter().enumerate() {
            let stem = name.strip_suffix('*').unwrap_or(name);
            if name.is_empty() || stem.contains('*') || name.len() > MAX_PARAMETER_NAME_LEN {
                return Err(RecordError::new(
                    format!("forward_query[{i}]"),
                    "must be a parameter name of 1 to 256 bytes, or a prefix ending in * such as utm_*",
                ));
            }
        }
        Ok(())
    }
}

/// How strictly to read a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strictness {
    /// KV and origin: unknown fields are ignored.
    Reader,
    /// Admin API: unknown fields are errors.
    Admin,
}

/// A record rejected, naming the field (`rules[0].when.country`) and the problem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordError {
    /// Path of the offending field; empty for the body as a whole.
    pub field: String,
    /// What is wrong with it.
    pub problem: String,
}

impl RecordError {
    fn new(field: impl Into<String>, problem: impl Into<String>) -> Self {
        RecordError {
            field: field.into(),
            problem: problem.into(),
        }
    }
}

impl fmt::Display for RecordError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.field.is_empty() {
            f.write_str(&self.problem)
        } else {
            write!(f, "{}: {}", self.field, self.problem)
        }
    }
}

impl std::error::Error for RecordError {}

/// Parses and validates a record body.
pub fn parse_record(
    body: &[u8],
    strictness: Strictness,
    policy: &DestinationPolicy<'_>,
) -> Result<LinkRecord, RecordError> {
    let record = deserialize_record(body, strictness)?;
    record.validate(strictness, policy)?;
    Ok(record)
}

/// Turns a JSON value (one import line, less its `domain` and `slug`) into a validated record.
pub fn record_from_value(
    value: serde_json::Value,
    strictness: Strictness,
    policy: &DestinationPolicy<'_>,
) -> Result<LinkRecord, RecordError> {
    let body = serde_json::to_vec(&value).map_err(|e| RecordError::new("", e.to_string()))?;
    parse_record(&body, strictness, policy)
}

fn deserialize_record(body: &[u8], strictness: Strictness) -> Result<LinkRecord, RecordError> {
    if body.len() > MAX_RECORD_BYTES {
        return Err(RecordError::new(
            "",
            "the record is larger than 65536 bytes (64 KiB)",
        ));
    }
    let mut json = serde_json::Deserializer::from_slice(body);
    let mut track = serde_path_to_error::Track::new();
    let mut ignored = Vec::new();
    let tracked = serde_path_to_error::Deserializer::new(&mut json, &mut track);
    let parsed: Result<LinkRecord, _> =
        serde_ignored::deserialize(tracked, |path| ignored.push(field_path(&path)));
    let record = parsed.map_err(|e| {
        let path = track.path().to_string();
        let parent = if path == "." { String::new() } else { path };
        type_error(parent, e.to_string())
    })?;
    json.end()
        .map_err(|e| RecordError::new("", e.to_string()))?;
    if strictness == Strictness::Admin {
        if let Some(field) = ignored.into_iter().next() {
            return Err(RecordError::new(field, "unknown field"));
        }
    }
    Ok(record)
}

/// A deserialisation error as a [`RecordError`]. serde reports a missing
/// field at its parent (`""`, `rules[0]`); name the field itself.
fn type_error(parent: String, message: String) -> RecordError {
    let missing = message
        .strip_prefix("missing field `")
        .and_then(|rest| rest.split_once('`'))
        .map(|(name, _)| name);
    match missing {
        Some(name) if parent.is_empty() => RecordError::new(name, "is required"),
        Some(name) => RecordError::new(format!("{parent}.{name}"), "is required"),
        None => RecordError::new(parent, without_position(&message)),
    }
}

/// A serde_json message without its ` at line 1 column 40`: the field's path
/// says where, and a body's line and column mean nothing to its author.
fn without_position(message: &str) -> &str {
    let Some((text, position)) = message.rsplit_once(" at line ") else {
        return message;
    };
    let numbers = position.split_once(" column ");
    match numbers {
        Some((line, column))
            if line.bytes().all(|b| b.is_ascii_digit())
                && column.bytes().all(|b| b.is_ascii_digit()) =>
        {
            text
        }
        _ => message,
    }
}

/// Renders a `serde_ignored` path as `rules[0].when.x`, the form
/// `serde_path_to_error` gives type errors.
fn field_path(path: &serde_ignored::Path<'_>) -> String {
    use serde_ignored::Path;
    match path {
        Path::Root => String::new(),
        Path::Seq { parent, index } => format!("{}[{index}]", field_path(parent)),
        Path::Map { parent, key } => match field_path(parent) {
            p if p.is_empty() => key.clone(),
            p => format!("{p}.{key}"),
        },
        Path::Some { parent }
        | Path::NewtypeStruct { parent }
        | Path::NewtypeVariant { parent } => field_path(parent),
    }
}

impl LinkRecord {
    /// A record with only a destination.
    pub fn to(url: impl Into<String>) -> Self {
        LinkRecord {
            url: url.into(),
            status: LinkStatus::Active,
            code: default_code(),
            forward_query: ForwardQuery::default(),
            valid_from: None,
            valid_until: None,
            expired_url: None,
            rules: Vec::new(),
            split: Vec::new(),
            tags: Vec::new(),
            note: None,
            pieces: None,
        }
    }

    /// Checks every field against the contract; the first problem is reported.
    pub fn validate(
        &self,
        strictness: Strictness,
        policy: &DestinationPolicy<'_>,
    ) -> Result<(), RecordError> {
        // First: the destinations' `{piece}` checks depend on it.
        if let Some(pieces) = &self.pieces {
            if !(1..=MAX_PIECE_LEN).contains(&(pieces.max_length as usize)) {
                return Err(RecordError::new(
                    "pieces.max_length",
                    "must be from 1 to 32",
                ));
            }
        }
        let destination = |field: &str, url: &str| self.destination(field, url, strictness, policy);
        destination("url", &self.url)?;
        if !ALLOWED_CODES.contains(&self.code) {
            return Err(RecordError::new(
                "code",
                "must be one of 301, 302, 303, 307, 308",
            ));
        }
        self.forward_query.validate()?;
        if let (Some(from), Some(until)) = (&self.valid_from, &self.valid_until) {
            if from.millis() >= until.millis() {
                return Err(RecordError::new("valid_until", "must be after valid_from"));
            }
        }
        if let Some(expired) = &self.expired_url {
            destination("expired_url", expired)?;
        }
        bounded_len("rules", self.rules.len())?;
        for (i, rule) in self.rules.iter().enumerate() {
            destination(&format!("rules[{i}].url"), &rule.url)?;
            rule.when
                .validate(&format!("rules[{i}].when"), strictness)?;
        }
        bounded_len("split", self.split.len())?;
        for (i, entry) in self.split.iter().enumerate() {
            destination(&format!("split[{i}].url"), &entry.url)?;
            if entry.weight > MAX_WEIGHT {
                return Err(RecordError::new(
                    format!("split[{i}].weight"),
                    "must be at most 1000000",
                ));
            }
        }
        if !self.split.is_empty() && self.split.iter().all(|e| e.weight == 0) {
            return Err(RecordError::new(
                "split",
                "at least one weight must be above 0",
            ));
        }
        // docs/admin-api.md: the owner's free text is capped for admin writes (an audit
        // line carries a record twice). Readers keep serving records stored
        // before the caps: notes and tags never change where a scan goes.
        if strictness == Strictness::Admin {
            const MAX_NOTE_CHARS: usize = 1000;
            const MAX_TAGS: usize = 32;
            const MAX_TAG_CHARS: usize = 64;
            if let Some(note) = &self.note {
                if note.chars().count() > MAX_NOTE_CHARS {
                    return Err(RecordError::new("note", "is longer than 1000 characters"));
                }
            }
            if self.tags.len() > MAX_TAGS {
                return Err(RecordError::new("tags", "has more than 32 entries"));
            }
            if let Some(i) = self
                .tags
                .iter()
                .position(|t| t.chars().count() > MAX_TAG_CHARS)
            {
                return Err(RecordError::new(
                    format!("tags[{i}]"),
                    "is longer than 64 characters",
                ));
            }
        }
        bounded_len("tags", self.tags.len())?;
        Ok(())
    }

    /// One destination of this record, checked against the policy. With
    /// `{piece}` in it, for every piece the record can answer (crate::pieces).
    /// The admin API refuses the placeholder in a record without `pieces`,
    /// where it is almost certainly a forgotten `pieces`; a reader keeps such
    /// a record and answers with the placeholder removed, as for a base slug.
    fn destination(
        &self,
        field: &str,
        url: &str,
        strictness: Strictness,
        policy: &DestinationPolicy<'_>,
    ) -> Result<(), RecordError> {
        if !url.contains(PLACEHOLDER) {
            return validate_destination(field, url, policy)
                .map_err(|e| RecordError::new(e.field, e.problem));
        }
        let max_length = match &self.pieces {
            Some(pieces) => pieces.max_length as usize,
            None if strictness == Strictness::Admin => {
                return Err(RecordError::new(
                    field,
                    "contains {piece}, but the record has no pieces: add \"pieces\": {\"max_length\": N} or remove the placeholder",
                ))
            }
            None => 1,
        };
        check_placeholder(field, url, max_length, policy)
            .map_err(|e| RecordError::new(e.field, e.problem))
    }
}

impl When {
    fn validate(&self, at: &str, strictness: Strictness) -> Result<(), RecordError> {
        if let Some(name) = self.unknown.keys().next() {
            if strictness == Strictness::Admin {
                return Err(RecordError::new(
                    format!("{at}.{name}"),
                    "unknown condition",
                ));
            }
        }
        codes(
            at,
            "country",
            &self.country,
            |v| v.len() == 2 && v.bytes().all(|b| b.is_ascii_alphabetic()),
            "an ISO 3166-1 alpha-2 code such as DE",
        )?;
        list(at, "continent", &self.continent)?;
        codes(
            at,
            "region",
            &self.region,
            is_region_code,
            "a CC-RR subdivision code such as US-CA",
        )?;
        // Names of closed vocabularies were checked as they were parsed.
        list(at, "os", &self.os)?;
        list(at, "device", &self.device)?;
        codes(
            at,
            "language",
            &self.language,
            is_primary_subtag,
            "a primary language subtag such as fr",
        )?;
        if let (Some(after), Some(before)) = (&self.after, &self.before) {
            // Such a rule could never hold: almost certainly the two were swapped.
            if after.millis() >= before.millis() {
                return Err(RecordError::new(
                    format!("{at}.before"),
                    "must be later than after",
                ));
            }
        }
        if let Some(query) = &self.query {
            bounded_len(&format!("{at}.query"), query.len())?;
            if query.keys().any(String::is_empty) {
                return Err(RecordError::new(
                    format!("{at}.query"),
                    "parameter names must not be empty",
                ));
            }
        }
        Ok(())
    }
}

/// A list condition, when present: at least one value, at most [`MAX_LIST_LEN`].
fn list<T>(at: &str, name: &str, values: &Option<Vec<T>>) -> Result<(), RecordError> {
    let Some(values) = values else { return Ok(()) };
    let field = format!("{at}.{name}");
    if values.is_empty() {
        return Err(RecordError::new(field, "must list at least one value"));
    }
    bounded_len(&field, values.len())
}

/// A list condition of open-ended codes (countries, regions, languages),
/// each checked for its shape.
fn codes(
    at: &str,
    name: &str,
    values: &Option<Vec<String>>,
    valid: impl Fn(&str) -> bool,
    expected: &str,
) -> Result<(), RecordError> {
    list(at, name, values)?;
    for (i, value) in values.iter().flatten().enumerate() {
        if !valid(value) {
            return Err(RecordError::new(
                format!("{at}.{name}[{i}]"),
                format!("must be {expected}"),
            ));
        }
    }
    Ok(())
}

fn bounded_len(field: &str, len: usize) -> Result<(), RecordError> {
    if len > MAX_LIST_LEN {
        return Err(RecordError::new(field, "has more than 256 entries"));
    }
    Ok(())
}

/// `CC-RR`: two letters, a dash, one to three letters or digits.
pub fn is_region_code(value: &str) -> bool {
    let Some((country, sub)) = value.split_once('-') else {
        return false;
    };
    country.len() == 2
        && country.bytes().all(|b| b.is_ascii_alphabetic())
        && (1..=3).contains(&sub.len())
        && sub.bytes().all(|b| b.is_ascii_alphanumeric())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::destination::HostPattern;

    const ANY: DestinationPolicy<'static> = DestinationPolicy::open("go.example.com");

    fn admin(body: &str) -> Result<LinkRecord, RecordError> {
        parse_record(body.as_bytes(), Strictness::Admin, &ANY)
    }

    fn reader(body: &str) -> Result<LinkRecord, RecordError> {
        parse_record(body.as_bytes(), Strictness::Reader, &ANY)
    }

    fn field_of(result: Result<LinkRecord, RecordError>) -> String {
        result.unwrap_err().field
    }

    #[test]
    fn only_url_is_required_and_defaults_apply() {
        let record = admin(r#"{"url":"https://example.com/spring"}"#).unwrap();
        assert_eq!(record, LinkRecord::to("https://example.com/spring"));
        assert_eq!(record.code, 302);
        assert_eq!(record.forward_query, ForwardQuery::default());
        assert_eq!(record.status, LinkStatus::Active);
    }

    #[test]
    fn the_spec_example_is_valid() {
        let body = r#"{
          "url": "https://example.com/spring", "status": "active", "code": 302, "forward_query": true,
          "valid_from": "2026-03-01T00:00:00Z", "valid_until": "2026-06-01T00:00:00Z",
          "expired_url": "https://example.com/ended",
          "rules": [
            {"when": {"country": ["DE", "AT"]}, "url": "https://example.com/de"},
            {"when": {"os": ["ios"]}, "url": "https://apps.apple.com/app/id1"},
            {"when": {"language": ["fr"], "device": ["mobile"]}, "url": "https://example.com/fr-m"}
          ],
          "split": [{"url": "https://example.com/a", "weight": 70}, {"url": "https://example.com/b", "weight": 30}],
          "tags": ["spring-campaign"], "note": "free text"}"#;
        let record = admin(body).unwrap();
        assert_eq!(record.rules.len(), 3);
        assert_eq!(record.split[1].weight, 30);
    }

    #[test]
    fn readers_ignore_unknown_fields_and_admin_names_them() {
        let body = r#"{"url":"https://example.com/","colour":"red"}"#;
        assert!(reader(body).is_ok());
        assert_eq!(field_of(admin(body)), "colour");
        let nested = r#"{"url":"https://example.com/","split":[{"url":"https://example.com/a","weight":1,"x":1}]}"#;
        assert!(reader(nested).is_ok());
        assert_eq!(field_of(admin(nested)), "split[0].x");
    }

    #[test]
    fn unknown_conditions_are_rejected_by_admin_and_kept_by_readers() {
        let body = r#"{"url":"https://example.com/","rules":[{"when":{"carrier":["x"]},"url":"https://example.com/c"}]}"#;
        assert_eq!(field_of(admin(body)), "rules[0].when.carrier");
        let record = reader(body).unwrap();
        assert!(record.rules[0].when.unknown.contains_key("carrier"));
    }

    #[test]
    fn type_errors_name_the_field() {
        assert_eq!(
            field_of(admin(r#"{"url":"https://example.com/","code":"x"}"#)),
            "code"
        );
        assert_eq!(
            field_of(admin(
                r#"{"url":"https://example.com/","split":[{"url":"https://example.com/a","weight":-1}]}"#
            )),
            "split[0].weight"
        );
        assert_eq!(
            field_of(admin(r#"{"url":"https://example.com/","status":"paused"}"#)),
            "status"
        );
        assert_eq!(
            field_of(admin(r#"{"status":"active"}"#)),
            "url",
            "a missing field is named itself"
        );
        assert_eq!(
            field_of(reader(
                r#"{"url":"https://example.com/","split":[{"url":"https://example.com/a"}]}"#
            )),
            "split[0].weight"
        );
        assert!(admin(r#"{"url":"https://example.com/"} trailing"#).is_err());
        assert!(admin("not json").is_err());
    }

    #[test]
    fn bad_destinations_are_refused() {
        for bad in [
            "javascript:alert(1)",
            "data:text/html,hi",
            "/relative",
            "ftp://example.com/",
            "https://user:pw@example.com/",
            "https://example.com/\r\nSet-Cookie: x",
            "https://exa mple.com/",
            "https://go.example.com/loop",
            "https://GO.EXAMPLE.COM./loop",
        ] {
            let body = serde_json::json!({ "url": bad }).to_string();
            assert_eq!(field_of(admin(&body)), "url", "{bad}");
        }
        let long = format!("https://example.com/{}", "a".repeat(2048));
        assert_eq!(
            field_of(admin(&serde_json::json!({ "url": long }).to_string())),
            "url"
        );
    }

    #[test]
    fn the_allow_list_guards_every_destination() {
        let patterns = [
            HostPattern::parse("example.com").unwrap(),
            HostPattern::parse("*.shop.example").unwrap(),
        ];
        let policy = DestinationPolicy {
            allowed_hosts: Some(&patterns),
            ..DestinationPolicy::open("go.example.com")
        };
        let check = |body: &str| parse_record(body.as_bytes(), Strictness::Reader, &policy);
        assert!(check(r#"{"url":"https://example.com/x"}"#).is_ok());
        assert!(check(r#"{"url":"https://eu.shop.example/x"}"#).is_ok());
        assert_eq!(
            field_of(check(r#"{"url":"https://shop.example/x"}"#)),
            "url"
        );
        assert_eq!(field_of(check(r#"{"url":"https://evil.test/x"}"#)), "url");
        assert_eq!(
            field_of(check(
                r#"{"url":"https://example.com/","rules":[{"url":"https://evil.test/"}]}"#
            )),
            "rules[0].url"
        );
        assert_eq!(
            field_of(check(
                r#"{"url":"https://example.com/","expired_url":"https://evil.test/"}"#
            )),
            "expired_url"
        );
        assert_eq!(
            field_of(check(
                r#"{"url":"https://example.com/","split":[{"url":"https://evil.test/","weight":1}]}"#
            )),
            "split[0].url"
        );
    }

    #[test]
    fn codes_windows_and_weights_are_checked() {
        assert_eq!(
            field_of(admin(r#"{"url":"https://example.com/","code":200}"#)),
            "code"
        );
        assert_eq!(
            field_of(admin(
                r#"{"url":"https://example.com/","valid_from":"soon"}"#
            )),
            "valid_from"
        );
        assert_eq!(
            field_of(admin(
                r#"{"url":"https://example.com/","valid_from":"2026-06-01T00:00:00Z","valid_until":"2026-03-01T00:00:00Z"}"#
            )),
            "valid_until"
        );
        assert_eq!(
            field_of(admin(
                r#"{"url":"https://example.com/","split":[{"url":"https://example.com/a","weight":0}]}"#
            )),
            "split"
        );
        let zeros = r#"{"url":"https://example.com/","split":[{"url":"https://example.com/a","weight":0},{"url":"https://example.com/b","weight":0}]}"#;
        assert_eq!(field_of(admin(zeros)), "split");
        assert_eq!(
            field_of(reader(zeros)),
            "split",
            "readers refuse a split that cannot choose"
        );
        assert_eq!(
            field_of(admin(
                r#"{"url":"https://example.com/","split":[{"url":"https://example.com/a","weight":1},{"url":"https://example.com/b","weight":1000001}]}"#
            )),
            "split[1].weight"
        );
        assert!(admin(r#"{"url":"https://example.com/","split":[{"url":"https://example.com/a","weight":0},{"url":"https://example.com/b","weight":1}]}"#).is_ok());
    }

    #[test]
    fn conditions_are_checked_and_named() {
        let rule = |when: &str| {
            format!(
                r#"{{"url":"https://example.com/","rules":[{{"when":{when},"url":"https://example.com/r"}}]}}"#
            )
        };
        assert_eq!(
            field_of(admin(&rule(r#"{"country":["DEU"]}"#))),
            "rules[0].when.country[0]"
        );
        assert_eq!(
            field_of(admin(&rule(r#"{"country":[]}"#))),
            "rules[0].when.country"
        );
        assert_eq!(
            field_of(admin(&rule(r#"{"continent":["XX"]}"#))),
            "rules[0].when.continent[0]"
        );
        assert_eq!(
            field_of(admin(&rule(r#"{"region":["California"]}"#))),
            "rules[0].when.region[0]"
        );
        assert_eq!(
            field_of(admin(&rule(r#"{"os":["beos"]}"#))),
            "rules[0].when.os[0]"
        );
        assert_eq!(
            admin(&rule(r#"{"os":["beos"]}"#)).unwrap_err().problem,
            "must be one of ios android windows macos linux chromeos other",
            "the one list of names, without serde's line and column"
        );
        assert_eq!(
            field_of(admin(&rule(r#"{"device":["phone"]}"#))),
            "rules[0].when.device[0]"
        );
        assert_eq!(
            field_of(admin(&rule(r#"{"language":["fr-FR"]}"#))),
            "rules[0].when.language[0]"
        );
        assert_eq!(
            field_of(admin(&rule(r#"{"language":["x"]}"#))),
            "rules[0].when.language[0]"
        );
        assert_eq!(
            field_of(admin(&rule(r#"{"after":"later"}"#))),
            "rules[0].when.after"
        );
        assert_eq!(
            field_of(admin(&rule(
                r#"{"after":"2026-06-01T00:00:00Z","before":"2026-03-01T00:00:00Z"}"#
            ))),
            "rules[0].when.before"
        );
        assert_eq!(
            field_of(admin(&rule(r#"{"region":["US_CA"]}"#))),
            "rules[0].when.region[0]"
        );
        assert_eq!(
            field_of(admin(&rule(r#"{"region":["USA-CA"]}"#))),
            "rules[0].when.region[0]"
        );
        assert_eq!(
            field_of(admin(&rule(r#"{"region":["US-"]}"#))),
            "rules[0].when.region[0]"
        );
        assert_eq!(
            field_of(admin(&rule(r#"{"country":["D1"]}"#))),
            "rules[0].when.country[0]"
        );
        assert_eq!(
            field_of(admin(&rule(r#"{"country":"DE"}"#))),
            "rules[0].when.country"
        );
        assert_eq!(
            field_of(admin(&rule(r#"{"query":{"":"x"}}"#))),
            "rules[0].when.query"
        );
        assert!(admin(&rule(r#"{"country":["de"],"continent":["eu"],"region":["US-CA"],"os":["iOS"],"device":["mobile"],"language":["FR"],"after":"2026-01-01T00:00:00Z","before":"2027-01-01T00:00:00+02:00","query":{"src":"print"}}"#)).is_ok());
        assert!(admin(&rule("{}")).is_ok());
    }

    #[test]
    fn forward_query_is_a_flag_or_a_list_of_names_and_prefixes() {
        let with = |value: &str| {
            admin(&format!(
                r#"{{"url":"https://example.com/","forward_query":{value}}}"#
            ))
        };
        let named = with(r#"["utm_*","gclid"]"#).unwrap().forward_query;
        assert!(named.forwards("utm_source") && named.forwards("gclid"));
        assert!(!named.forwards("gclid2") && !named.forwards("next"));
        assert!(!with("false").unwrap().forward_query.forwards("a"));
        assert!(with("true").unwrap().forward_query.forwards("a"));
        assert_eq!(field_of(with(r#"["a","u*m"]"#)), "forward_query[1]");
        assert_eq!(field_of(with(r#"[""]"#)), "forward_query[0]");
        assert_eq!(field_of(with(r#""utm_*""#)), "forward_query");
        assert_eq!(field_of(with("[1]")), "forward_query");
        let round = with(r#"["utm_*"]"#).unwrap();
        assert!(serde_json::to_string(&round)
            .unwrap()
            .contains(r#""forward_query":["utm_*"]"#));
    }

    #[test]
    fn pieces_are_checked_and_named() {
        let with = |pieces: &str| {
            admin(&format!(
                r#"{{"url":"https://example.com/{{piece}}","pieces":{pieces}}}"#
            ))
        };
        assert_eq!(
            with(r#"{"max_length":8}"#).unwrap().pieces,
            Some(Pieces { max_length: 8 })
        );
        assert!(with(r#"{"max_length":1}"#).is_ok() && with(r#"{"max_length":32}"#).is_ok());
        for bad in [
            r#"{"max_length":0}"#,
            r#"{"max_length":33}"#,
            r#"{"max_length":-1}"#,
            r#"{"max_length":"8"}"#,
            "{}",
        ] {
            assert_eq!(field_of(with(bad)), "pieces.max_length", "{bad}");
        }
        assert_eq!(
            field_of(with(r#"{"max_length":8,"alphabet":"a-z"}"#)),
            "pieces.alphabet"
        );
        assert_eq!(field_of(with("8")), "pieces");
        assert_eq!(
            field_of(reader(
                r#"{"url":"https://example.com/","pieces":{"max_length":99}}"#
            )),
            "pieces.max_length",
            "readers refuse a range no piece code can have"
        );
        let round = with(r#"{"max_length":8}"#).unwrap();
        assert!(serde_json::to_string(&round)
            .unwrap()
            .contains(r#""pieces":{"max_length":8}"#));
    }

    #[test]
    fn the_placeholder_needs_pieces_on_writes_and_stays_out_of_hosts() {
        let without =
            r#"{"url":"https://example.com/","rules":[{"url":"https://example.com/{piece}"}]}"#;
        let refused = admin(without).unwrap_err();
        assert_eq!(refused.field, "rules[0].url");
        assert!(refused.problem.contains("no pieces"), "{refused}");
        assert_eq!(
            reader(without).unwrap().for_piece("").rules[0].url,
            "https://example.com/",
            "a reader keeps it and answers with the placeholder removed"
        );
        for (field, body) in [
            (
                "url",
                r#"{"url":"https://{piece}.example.com/","pieces":{"max_length":4}}"#,
            ),
            (
                "expired_url",
                r#"{"url":"https://example.com/","expired_url":"https://example.com{piece}/","pieces":{"max_length":4}}"#,
            ),
            (
                "split[0].url",
                r#"{"url":"https://example.com/","split":[{"url":"https://ex{piece}.com/","weight":1}],"pieces":{"max_length":4}}"#,
            ),
        ] {
            assert_eq!(field_of(admin(body)), field, "{body}");
            assert_eq!(field_of(reader(body)), field, "readers too: {body}");
        }
        assert_eq!(
            field_of(reader(r#"{"url":"https://{piece}.example.com/"}"#)),
            "url",
            "a reader without pieces still keeps the placeholder out of the host"
        );
    }

    #[test]
    fn a_record_survives_a_round_trip() {
        let record = admin(r#"{"url":"https://example.com/","code":307,"forward_query":false,"tags":["a"],"rules":[{"when":{"os":["ios"]},"url":"https://example.com/i"}]}"#).unwrap();
        let again = admin(&serde_json::to_string(&record).unwrap()).unwrap();
        assert_eq!(record, again);
    }
}
