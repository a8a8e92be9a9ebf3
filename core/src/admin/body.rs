//! Request bodies of the admin API: media types, size limits, one record per
//! `PUT`/`POST`, and NDJSON imports of `{"domain","slug",…record}` lines. Records
//! go through the one validator of `crate::record`, strictly (unknown fields rejected).

use super::route::{parse_domain, parse_slug};
use super::AdminError;
use crate::record::{
    record_from_value, DestinationPolicy, LinkRecord, RecordError, Strictness, MAX_RECORD_BYTES,
};
use serde::Serialize;
use serde_json::Value;
use std::collections::hash_map::Entry;
use std::collections::HashMap;

/// Largest request body: 1 MiB.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;
/// Most link lines in one import (docs/admin-api.md): as many as one request can write
/// within Compute's per-request limits, 50 ms of CPU and 2 minutes of wall
/// time. Sized from measurements (docs/admin-api.md, "The import line cap and how it was sized"; figures from
/// `measure_the_guest_time_of_an_import_line` in tests/tests/import.rs):
///
/// - CPU, the binding limit. Guest time under Viceroy 0.22.0 (release wasm,
///   the harness's per-request accounting, least of 5 rounds on a warm
///   Viceroy): 75–98 µs per line creating a link, 78–128 µs replacing one
///   (the old value is read for the audit line), plus 0.6–1.3 ms per request;
///   21 and 27 hostcalls per line. Viceroy's guest profiler puts the wasm
///   execution alone at 50–90 µs per line. At 25 lines, 1.3 ms + 25 × 128 µs
///   = 4.5 ms: under a fifth of the harness's 25 ms budget (Fastly's 50 ms
///   with a margin of 2). The rest is kept because the same figure under the
///   trace, with the test suite sharing the 2-core machine, measured 11–33 ms
///   for 40 lines (the first cap, which failed the budget once).
/// - Wall time, assuming 100 ms per production KV operation: the lines go in
///   windows of [`IMPORT_WINDOW`] with each step's KV operations in flight
///   together, so 2 windows × 3 round trips (read, conditional insert,
///   read-back) = 0.6 s, at worst 2 × 7 = 1.4 s when concurrent writers win
///   every race; plus, one line after another, the cache
///   invalidation and audit line of each write, 25 × 100 ms = 2.5 s counting
///   its purge as one such operation. About 3.1 s in all, far inside 2 minutes.
///
/// Larger files are split by the client (`qrctl import --to`, which uses this constant).
pub const MAX_IMPORT_LINES: usize = 25;

/// Link lines whose KV operations are in flight together in an import: each
/// round trip (read, conditional insert, read-back) is started for every line
/// of a window before the first is awaited, so a window costs about one KV
/// latency per step instead of one per line and step. Fastly documents no
/// limit on pending KV operations; 16 stays well below its per-request limit
/// of 32 backend requests, the nearest published bound on concurrent work, and
/// splits an import at the cap into two windows, whose results are streamed
/// one window at a time.
pub const IMPORT_WINDOW: usize = 16;

/// The media types the API takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaType {
    /// `application/json`: one record.
    Json,
    /// `application/x-ndjson`: one link per line.
    Ndjson,
}

impl MediaType {
    /// The largest body a route of this media type takes: one record
    /// (64 KiB and room for formatting), or an import of 1 MiB. A record body
    /// over its limit is refused before it is read: reading and parsing 1 MiB
    /// alone costs a good part of a request's 50 ms of CPU.
    pub fn max_body(self) -> usize {
        match self {
            MediaType::Json => MAX_RECORD_BODY_BYTES,
            MediaType::Ndjson => MAX_BODY_BYTES,
        }
    }

    /// The media type's name.
    pub fn name(self) -> &'static str {
        match self {
            MediaType::Json => "application/json",
            MediaType::Ndjson => "application/x-ndjson",
        }
    }
}

/// Checks a `Content-Type` value (parameters such as `charset` are allowed; case-insensitive).
pub fn check_content_type(
    content_type: Option<&str>,
    expected: MediaType,
) -> Result<(), AdminError> {
    let essence = content_type
        .and_then(|v| v.split(';').next())
        .map(str::trim)
        .unwrap_or("");
    if essence.eq_ignore_ascii_case(expected.name()) {
        Ok(())
    } else {
        Err(AdminError::UnsupportedMediaType {
            expected: expected.name(),
        })
    }
}

/// The error for a body over its route's limit ([`MediaType::max_body`]).
pub fn body_too_large(limit: usize) -> AdminError {
    AdminError::TooLarge(format!(
        "the body is larger than {limit} bytes, the most this route takes (a record at most {MAX_RECORD_BYTES} bytes, an import at most {MAX_BODY_BYTES})"
    ))
}

/// Parses one record body: malformed JSON and invalid records are told apart,
/// and the error names the offending field.
pub fn parse_admin_record(
    body: &[u8],
    policy: &DestinationPolicy<'_>,
) -> Result<LinkRecord, AdminError> {
    check_record_size(body.len())?;
    let value: Value =
        serde_json::from_slice(body).map_err(|e| AdminError::MalformedJson(e.to_string()))?;
    admin_record(value, policy)
}

/// Validates the record part of an import line.
pub fn record_from_import(
    line: ImportLine,
    policy: &DestinationPolicy<'_>,
) -> Result<LinkRecord, AdminError> {
    admin_record(line.record, policy)
}

/// Every admin write goes through here: none is taken before the owner has
/// set an allow-list, so a leaked token cannot point codes anywhere.
fn admin_record(value: Value, policy: &DestinationPolicy<'_>) -> Result<LinkRecord, AdminError> {
    if policy.allowed_hosts.is_none() {
        return Err(AdminError::NoAllowList);
    }
    if !value.is_object() {
        return Err(AdminError::InvalidRecord(RecordError {
            field: String::new(),
            problem: "must be a JSON object".into(),
        }));
    }
    record_from_value(value, Strictness::Admin, policy).map_err(AdminError::InvalidRecord)
}

/// The link lines of an NDJSON body with their 1-based line numbers; blank lines are skipped.
pub fn import_lines(body: &[u8]) -> Vec<(usize, &[u8])> {
    body.split(|b| *b == b'\n')
        .enumerate()
        .map(|(i, line)| (i + 1, line.strip_suffix(b"\r").unwrap_or(line)))
        .filter(|(_, line)| !line.iter().all(u8::is_ascii_whitespace))
        .collect()
}

/// Refuses an import of more than [`MAX_IMPORT_LINES`] link lines before anything is written.
pub fn check_import_size(lines: usize) -> Result<(), AdminError> {
    if lines > MAX_IMPORT_LINES {
        return Err(AdminError::TooLarge(format!(
            "{lines} link lines; an import takes at most {MAX_IMPORT_LINES}"
        )));
    }
    Ok(())
}

/// The links an import has named so far: a second line naming the same link is
/// refused (400, `slug`). Writing it would have to wait for the first line's
/// write to finish, one KV round trip after another, and enough such lines
/// would break the wall-time bound of [`MAX_IMPORT_LINES`]; refusing keeps
/// every line of a window independent and the result of the import predictable.
#[derive(Debug, Default)]
pub struct ImportedLinks {
    first_line: HashMap<(String, String), usize>,
}

impl ImportedLinks {
    /// Records that `line` names `domain`/`slug`; refuses a link an earlier line named.
    pub fn claim(&mut self, domain: &str, slug: &str, line: usize) -> Result<(), AdminError> {
        match self.first_line.entry((domain.to_owned(), slug.to_owned())) {
            Entry::Occupied(first) => Err(AdminError::InvalidSlug(format!(
                "{domain}/{slug} is already on line {} of this import; an import writes each link once",
                first.get()
            ))),
            Entry::Vacant(free) => {
                free.insert(line);
                Ok(())
            }
        }
    }
}

/// One import line, split into where the link goes and its record (not yet validated:
/// that needs the domain's settings).
#[derive(Debug, Clone, PartialEq)]
pub struct ImportLine {
    /// Short-link domain, lower case.
    pub domain: String,
    /// Slug, lower case.
    pub slug: String,
    /// The rest of the line.
    pub record: Value,
}

/// Largest body of one record (`PUT`, `POST`) or one import line: the record
/// limit and room for formatting, or for an import line's `domain` and `slug`.
pub const MAX_RECORD_BODY_BYTES: usize = MAX_RECORD_BYTES + 512;

/// Refuses a record or an import line over [`MAX_RECORD_BODY_BYTES`] before
/// parsing it: parsing a 1 MiB body alone costs a good part of a request's CPU.
fn check_record_size(len: usize) -> Result<(), AdminError> {
    if len > MAX_RECORD_BODY_BYTES {
        return Err(AdminError::InvalidRecord(RecordError {
            field: String::new(),
            problem: format!("{len} bytes; a record takes at most {MAX_RECORD_BYTES} (64 KiB)"),
        }));
    }
    Ok(())
}

/// Splits `{"domain","slug",…record}` into its parts.
pub fn split_import_line(line: &[u8]) -> Result<ImportLine, AdminError> {
    check_record_size(line.len())?;
    let value: Value =
        serde_json::from_slice(line).map_err(|e| AdminError::MalformedJson(e.to_string()))?;
    let Value::Object(mut fields) = value else {
        return Err(AdminError::InvalidRecord(RecordError {
            field: String::new(),
            problem: "each line must be a JSON object {\"domain\",\"slug\",…record}".into(),
        }));
    };
    // An export's report of a stored value it could not read (`export_error`,
    // docs/admin-api.md) is no link: refused by name rather than as an
    // unknown field, so the owner learns which stored value needs fixing.
    if let Some(problem) = fields.get(super::EXPORT_ERROR_FIELD) {
        let key = fields.get("key").and_then(Value::as_str).unwrap_or("?");
        return Err(AdminError::InvalidRecord(RecordError {
            field: super::EXPORT_ERROR_FIELD.into(),
            problem: format!(
                "this line is an export's report that the value stored under {key} could not be exported ({}), not a link; fix that value in the exported store and export it again",
                problem.as_str().unwrap_or("no reason given")
            ),
        }));
    }
    let domain = match fields.remove("domain") {
        Some(Value::String(domain)) => parse_domain(&domain)?,
        Some(_) => return Err(AdminError::InvalidDomain("must be a string".into())),
        None => return Err(AdminError::InvalidDomain("is required".into())),
    };
    let slug = match fields.remove("slug") {
        Some(Value::String(slug)) => parse_slug(&slug)?,
        Some(_) => return Err(AdminError::InvalidSlug("must be a string".into())),
        None => return Err(AdminError::InvalidSlug("is required".into())),
    };
    Ok(ImportLine {
        domain,
        slug,
        record: Value::Object(fields),
    })
}

/// What happened to one import line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImportResult {
    /// 1-based line number in the body.
    pub line: usize,
    /// The link's slug, once known.
    pub slug: Option<String>,
    /// What the same record would have got from `PUT`: 201, 200, or the error's status.
    pub status: u16,
    /// Why the line was not written.
    pub error: Option<String>,
    /// The link's domain, once known.
    pub domain: Option<String>,
    /// The offending field, if the error names one.
    pub field: Option<String>,
}

impl ImportResult {
    /// A line written: created (201) or replaced (200).
    pub fn written(line: usize, domain: &str, slug: &str, created: bool) -> ImportResult {
        let status = if created { 201 } else { 200 };
        ImportResult {
            line,
            domain: Some(domain.into()),
            slug: Some(slug.into()),
            status,
            error: None,
            field: None,
        }
    }

    /// A line refused or failed.
    pub fn failed(
        line: usize,
        domain: Option<&str>,
        slug: Option<&str>,
        error: &AdminError,
    ) -> ImportResult {
        ImportResult {
            line,
            domain: domain.map(str::to_owned),
            slug: slug.map(str::to_owned),
            status: error.status(),
            error: Some(error.to_string()),
            field: error.field().map(str::to_owned),
        }
    }

    /// This result as one NDJSON line, newline included (docs/admin-api.md: "one result per line").
    pub fn to_line(&self) -> String {
        serde_json::to_string(self).unwrap_or_default() + "\n"
    }
}

/// The response body of an import: one result per link line, as NDJSON
/// (docs/admin-api.md: "one result per line"), in the order of the body.
pub fn import_results_body(results: &[ImportResult]) -> String {
    results.iter().map(ImportResult::to_line).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::destination::HostPattern;

    const ANY: DestinationPolicy<'static> = DestinationPolicy {
        allowed_hosts: Some(&[HostPattern::Any]),
        ..DestinationPolicy::open("go.example.com")
    };

    #[test]
    fn no_write_is_taken_without_an_allow_list() {
        let open = DestinationPolicy::open("go.example.com");
        assert_eq!(
            parse_admin_record(br#"{"url":"https://example.com/"}"#, &open),
            Err(AdminError::NoAllowList)
        );
    }

    fn field_of(result: Result<LinkRecord, AdminError>) -> (u16, String) {
        let e = result.unwrap_err();
        (e.status(), e.field().unwrap_or("<none>").to_owned())
    }

    #[test]
    fn content_types_match_their_essence() {
        assert!(check_content_type(Some("application/json"), MediaType::Json).is_ok());
        assert!(
            check_content_type(Some("Application/JSON; charset=utf-8"), MediaType::Json).is_ok()
        );
        assert!(check_content_type(Some("application/x-ndjson"), MediaType::Ndjson).is_ok());
        for bad in [
            None,
            Some(""),
            Some("text/plain"),
            Some("application/jsonx"),
            Some("application/x-ndjson"),
        ] {
            assert_eq!(
                check_content_type(bad, MediaType::Json)
                    .unwrap_err()
                    .status(),
                415,
                "{bad:?}"
            );
        }
        assert_eq!(
            check_content_type(Some("application/json"), MediaType::Ndjson)
                .unwrap_err()
                .status(),
            415
        );
    }

    #[test]
    fn malformed_json_and_invalid_records_are_both_400_and_told_apart() {
        assert!(matches!(
            parse_admin_record(b"{\"url\":", &ANY),
            Err(AdminError::MalformedJson(_))
        ));
        assert!(matches!(
            parse_admin_record(b"[1]", &ANY),
            Err(AdminError::InvalidRecord(_))
        ));
        assert_eq!(
            field_of(parse_admin_record(
                br#"{"url":"javascript:alert(1)"}"#,
                &ANY
            )),
            (400, "url".into())
        );
        assert_eq!(
            field_of(parse_admin_record(
                br#"{"url":"https://example.com/","colour":"red"}"#,
                &ANY
            )),
            (400, "colour".into())
        );
        assert_eq!(
            field_of(parse_admin_record(br#"{"url":"https://example.com/","rules":[{"when":{"country":["DEU"]},"url":"https://example.com/de"}]}"#, &ANY)),
            (400, "rules[0].when.country[0]".into())
        );
        assert!(parse_admin_record(br#"{"url":"https://example.com/"}"#, &ANY).is_ok());
    }

    #[test]
    fn missing_fields_are_named_themselves() {
        assert_eq!(
            field_of(parse_admin_record(br#"{"status":"active"}"#, &ANY)),
            (400, "url".into())
        );
        assert_eq!(
            field_of(parse_admin_record(
                br#"{"url":"https://example.com/","split":[{"url":"https://example.com/a"}]}"#,
                &ANY
            )),
            (400, "split[0].weight".into())
        );
    }

    #[test]
    fn the_domain_policy_applies() {
        let allowed = [HostPattern::parse("example.com").unwrap()];
        let policy = DestinationPolicy {
            allowed_hosts: Some(&allowed),
            ..DestinationPolicy::open("go.example.com")
        };
        assert_eq!(
            field_of(parse_admin_record(
                br#"{"url":"https://evil.test/"}"#,
                &policy
            )),
            (400, "url".into())
        );
        assert_eq!(
            field_of(parse_admin_record(
                br#"{"url":"https://go.example.com/x"}"#,
                &ANY
            )),
            (400, "url".into())
        );
    }

    #[test]
    fn import_lines_skip_blanks_and_keep_numbers() {
        let lines = import_lines(b"{\"a\":1}\r\n\n  \n{\"b\":2}\n");
        assert_eq!(lines, vec![(1, &b"{\"a\":1}"[..]), (4, &b"{\"b\":2}"[..])]);
        assert!(check_import_size(MAX_IMPORT_LINES).is_ok());
        assert_eq!(
            check_import_size(MAX_IMPORT_LINES + 1)
                .unwrap_err()
                .status(),
            413
        );
    }

    #[test]
    fn a_link_is_claimed_by_its_first_line_only() {
        let mut links = ImportedLinks::default();
        assert!(links.claim("go.example.com", "a", 1).is_ok());
        assert!(links.claim("go.example.com", "b", 2).is_ok());
        assert!(links.claim("qr.example.org", "a", 3).is_ok());
        let again = links.claim("go.example.com", "a", 7).unwrap_err();
        assert_eq!((again.status(), again.field()), (400, Some("slug")));
        assert!(
            again
                .to_string()
                .contains("go.example.com/a is already on line 1"),
            "{again}"
        );
        assert!(
            links
                .claim("go.example.com", "a", 9)
                .unwrap_err()
                .to_string()
                .contains("line 1"),
            "the first line stays the one named"
        );
    }

    #[test]
    fn import_lines_split_into_domain_slug_and_record() {
        let line = split_import_line(
            br#"{"domain":"Go.Example.com","slug":"Spring","url":"https://example.com/"}"#,
        )
        .unwrap();
        assert_eq!(
            (line.domain.as_str(), line.slug.as_str()),
            ("go.example.com", "spring")
        );
        assert_eq!(
            record_from_import(line, &ANY).unwrap(),
            LinkRecord::to("https://example.com/")
        );
        let field = |line: &[u8]| {
            split_import_line(line)
                .unwrap_err()
                .field()
                .map(str::to_owned)
        };
        assert_eq!(
            field(br#"{"slug":"a","url":"https://example.com/"}"#),
            Some("domain".into())
        );
        assert_eq!(
            field(br#"{"domain":"go.example.com","slug":"a b","url":"https://example.com/"}"#),
            Some("slug".into())
        );
        assert_eq!(
            field(br#"{"domain":"go.example.com","slug":7}"#),
            Some("slug".into())
        );
        assert!(matches!(
            split_import_line(b"{oops"),
            Err(AdminError::MalformedJson(_))
        ));
        let line = split_import_line(
            br#"{"domain":"go.example.com","slug":"a","url":"https://example.com/","x":1}"#,
        )
        .unwrap();
        assert_eq!(
            record_from_import(line, &ANY).unwrap_err().field(),
            Some("x")
        );
    }

    #[test]
    fn import_results_are_one_json_object_per_line() {
        let results = [
            ImportResult::written(1, "go.example.com", "a", true),
            ImportResult::failed(2, None, None, &AdminError::InvalidSlug("bad".into())),
            ImportResult::written(3, "go.example.com", "b", false),
        ];
        let body = import_results_body(&results);
        let lines: Vec<Value> = body
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 3);
        assert!(body.ends_with('\n'));
        assert!(
            body.starts_with(r#"{"line":1,"slug":"a","status":201,"error":null,"#),
            "{body}"
        );
        assert_eq!(
            (lines[0]["status"].as_u64(), lines[2]["status"].as_u64()),
            (Some(201), Some(200))
        );
        assert_eq!(lines[1]["status"], 400);
        assert_eq!(lines[1]["field"], "slug");
        assert_eq!(lines[0]["error"], Value::Null);
    }
}
