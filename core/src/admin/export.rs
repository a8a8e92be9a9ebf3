//! `GET /_api/v1/export?domain=&cursor=`, its pure half (docs/admin-api.md,
//! "Export"): the query, the resumable cursor, how many stored values one
//! response takes, and each stored value as one import line.
//!
//! A link is exported as `{"domain","slug",…record}`, the record serialised
//! exactly as the admin API stores it (`serde_json` of [`LinkRecord`]), so that
//! importing the line stores the same bytes again. A stored value that is not
//! a record becomes an `export_error` line naming its key and the problem:
//! it never vanishes from an export unseen, and an import refuses that line.

use super::route::parse_domain;
use super::{is_tombstone, AdminError};
use crate::pages::printable;
use crate::path::{is_dns_name, is_valid_slug};
use crate::record::{parse_record, DestinationPolicy, LinkRecord, Strictness};
use serde::{Deserialize, Serialize};

/// Keys one response lists from the `links` store (one KV list call; each
/// listed key is one KV lookup, all in flight together): as many as an import
/// takes ([`super::MAX_IMPORT_LINES`]), so that every export page is also a
/// valid import body. The cost per link is of the same kind as an import
/// line's (KV hostcalls and a record parsed): a page of 100 small records
/// measured 36.7 ms of guest time on the loaded test machine, over the 25 ms
/// budget; a page of 25 measured 3.2 ms on a quieter one.
/// Docs/admin-api.md, "How an export page was sized".
pub const EXPORT_LIST_LIMIT: u32 = super::MAX_IMPORT_LINES as u32;

/// Stored bytes one response exports at most (the first value is always
/// taken, so a page holds at least one link). Turning a stored value into its
/// line means parsing and validating it, which costs guest time in
/// proportion to its size: a 64 KiB record of 149 full rules costs about what
/// a scan of it does, 4–7 ms under Viceroy on a quiet machine and 13 ms on a
/// loaded one (tests/tests/export.rs). 64 KiB per response keeps the
/// heaviest page to one such record, well inside the 25 ms the harness allows
/// (Fastly's 50 ms of CPU with a margin of 2), and a page within the 1 MiB an
/// import body may have.
pub const EXPORT_PAGE_BYTES: usize = 64 * 1024;

/// The field of an export line that reports a stored value the export could not read.
pub const EXPORT_ERROR_FIELD: &str = "export_error";

/// A validated export query.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ExportQuery {
    /// Only this domain's links; `None`: every domain in the store.
    pub domain: Option<String>,
    /// Where the previous response stopped (the first page: the default).
    pub cursor: ExportCursor,
}

impl ExportQuery {
    /// Parses the query string. Unknown or repeated parameters, a domain that
    /// is not a host name and a cursor this API did not return are refused,
    /// each naming the parameter.
    pub fn parse(query: Option<&str>) -> Result<ExportQuery, AdminError> {
        let mut domain = None;
        let mut cursor = None;
        for (name, value) in url::form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
            let slot = match name.as_ref() {
                "domain" => &mut domain,
                "cursor" => &mut cursor,
                other => {
                    return Err(invalid(
                        &printable(other, 64),
                        "unknown parameter; use domain or cursor",
                    ))
                }
            };
            if slot.replace(value.into_owned()).is_some() {
                return Err(invalid(&name, "is given more than once"));
            }
        }
        let domain = domain.as_deref().map(parse_domain).transpose()?;
        let cursor = match cursor.as_deref() {
            None | Some("") => ExportCursor {
                domain: domain.clone(),
                ..ExportCursor::default()
            },
            Some(text) => ExportCursor::decode(text)?,
        };
        if cursor.domain != domain {
            return Err(invalid(
                "cursor",
                "was returned by an export of another domain (or of every domain); send it with the same domain parameter",
            ));
        }
        Ok(ExportQuery { domain, cursor })
    }

    /// The KV key prefix to list: `{domain}/`, or every key.
    pub fn key_prefix(&self) -> Option<String> {
        self.domain.as_ref().map(|d| format!("{d}/"))
    }
}

fn invalid(name: &str, problem: &str) -> AdminError {
    AdminError::InvalidParameter {
        name: name.to_owned(),
        problem: problem.to_owned(),
    }
}

/// Where an export resumes: a KV list page (its KV cursor; `None`: the first
/// page) and, when a response stopped inside that page, the last key it
/// exported. KV lists are in key order, so resuming skips every key up to and
/// including `after`: a key written or deleted in between shifts nothing.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExportCursor {
    /// The export's domain: a cursor only continues the export that returned it.
    #[serde(rename = "d")]
    pub domain: Option<String>,
    /// The KV list cursor of the page to list.
    #[serde(rename = "k")]
    pub kv: Option<String>,
    /// The last key already exported from that page.
    #[serde(rename = "a")]
    pub after: Option<String>,
}

/// Longest cursor taken (hex): a KV cursor and a key (at most 1,024 bytes each) with room.
const MAX_CURSOR_LEN: usize = 8192;

impl ExportCursor {
    /// The cursor as it goes into a URL: its JSON in lower-case hex (no percent-encoding needed).
    pub fn encode(&self) -> String {
        crate::lower_hex(serde_json::to_string(self).unwrap_or_default().as_bytes())
    }

    /// A cursor [`ExportCursor::encode`] made.
    pub fn decode(text: &str) -> Result<ExportCursor, AdminError> {
        let bad = || invalid("cursor", "is not a cursor this API returned");
        if !text.len().is_multiple_of(2) || text.len() > MAX_CURSOR_LEN {
            return Err(bad());
        }
        let bytes = (0..text.len())
            .step_by(2)
            .map(|i| {
                text.get(i..i + 2)
                    .and_then(|pair| u8::from_str_radix(pair, 16).ok())
            })
            .collect::<Option<Vec<u8>>>()
            .ok_or_else(bad)?;
        serde_json::from_slice(&bytes).map_err(|_| bad())
    }

    /// Whether a listed key comes after this cursor (keys up to `after` were exported).
    pub fn is_ahead(&self, key: &str) -> bool {
        self.after.as_deref().is_none_or(|after| key > after)
    }

    /// The cursor of the next response, if any link may remain. `stopped_at`:
    /// the last key exported when the page budget ended the response before
    /// the listed keys did; else the KV list's own next cursor, if it gave one.
    pub fn next(&self, stopped_at: Option<&str>, kv_next: Option<String>) -> Option<ExportCursor> {
        let domain = self.domain.clone();
        match stopped_at {
            Some(key) => Some(ExportCursor {
                domain,
                kv: self.kv.clone(),
                after: Some(key.to_owned()),
            }),
            None => kv_next.map(|kv| ExportCursor {
                domain,
                kv: Some(kv),
                after: None,
            }),
        }
    }

    /// The `Link` header pointing at the page that continues from here.
    pub fn link_header(&self) -> String {
        let domain = self
            .domain
            .as_ref()
            .map(|d| format!("domain={d}&"))
            .unwrap_or_default();
        format!(
            "<{}/export?{domain}cursor={}>; rel=\"next\"",
            super::API_PREFIX,
            self.encode()
        )
    }
}

/// How many stored values one response takes: bytes up to
/// [`EXPORT_PAGE_BYTES`], and always the first value whatever its size.
#[derive(Debug, Default)]
pub struct PageBudget {
    bytes: usize,
    taken: usize,
}

impl PageBudget {
    /// Takes a value of `len` bytes if it fits; `false`: the response ends before it.
    pub fn admit(&mut self, len: usize) -> bool {
        if self.taken > 0 && self.bytes + len > EXPORT_PAGE_BYTES {
            return false;
        }
        self.bytes += len;
        self.taken += 1;
        true
    }
}

/// A KV key as `(domain, slug)`, if it is one a link is stored under.
pub fn split_key(key: &str) -> Option<(&str, &str)> {
    let (domain, slug) = key.split_once('/')?;
    let lower = domain.bytes().all(|b| !b.is_ascii_uppercase());
    (lower && is_dns_name(domain) && is_valid_slug(slug)).then_some((domain, slug))
}

/// The export line of the value stored under `key` (newline included), or
/// `None` for a deleted link's tombstone. A valid record becomes
/// `{"domain","slug",…record}`; anything else a line naming the key and the
/// problem ([`EXPORT_ERROR_FIELD`]).
///
/// The record is read as the redirect path reads it, but without the domain's
/// settings: an export hands over the owner's data as stored, whatever
/// `destination_hosts` says today (the importing store's settings judge it
/// again). Only the rules no setting changes apply, among them that a link
/// never points at its own domain.
pub fn export_line(key: &str, stored: &[u8]) -> Option<String> {
    if is_tombstone(stored) {
        return None;
    }
    let Some((domain, slug)) = split_key(key) else {
        return Some(error_line(
            key,
            "the key is not {domain}/{slug} with a valid host name and slug",
        ));
    };
    let policy = DestinationPolicy::open(domain);
    let line = match parse_record(stored, Strictness::Reader, &policy) {
        Ok(record) => link_line(domain, slug, &record),
        Err(e) => error_line(key, &format!("the stored value is not a valid record: {e}")),
    };
    Some(line)
}

/// `{"domain","slug",…record}` and a newline: an import line.
pub fn link_line(domain: &str, slug: &str, record: &LinkRecord) -> String {
    #[derive(Serialize)]
    struct Line<'a> {
        domain: &'a str,
        slug: &'a str,
        #[serde(flatten)]
        record: &'a LinkRecord,
    }
    let line = Line {
        domain,
        slug,
        record,
    };
    serde_json::to_string(&line).unwrap_or_default() + "\n"
}

/// `{"key","export_error"}` and a newline: a stored value that is no link.
pub fn error_line(key: &str, problem: &str) -> String {
    #[derive(Serialize)]
    struct Line<'a> {
        key: &'a str,
        export_error: &'a str,
    }
    serde_json::to_string(&Line {
        key,
        export_error: problem,
    })
    .unwrap_or_default()
        + "\n"
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::admin::{record_from_import, split_import_line, TOMBSTONE};
    use crate::destination::HostPattern;
    use serde_json::Value;

    #[test]
    fn the_query_takes_a_domain_and_a_cursor() {
        assert_eq!(ExportQuery::parse(None).unwrap(), ExportQuery::default());
        let q = ExportQuery::parse(Some("domain=Go.Example.com")).unwrap();
        assert_eq!(q.domain.as_deref(), Some("go.example.com"));
        assert_eq!(
            q.cursor.domain.as_deref(),
            Some("go.example.com"),
            "the first page"
        );
        assert_eq!(q.key_prefix().as_deref(), Some("go.example.com/"));
        assert_eq!(
            ExportQuery::parse(Some("cursor=")).unwrap().key_prefix(),
            None
        );
        let cursor = ExportCursor {
            domain: Some("go.example.com".into()),
            kv: Some("a+/=".into()),
            after: Some("go.example.com/x".into()),
        };
        let q = ExportQuery::parse(Some(&format!(
            "domain=go.example.com&cursor={}",
            cursor.encode()
        )))
        .unwrap();
        assert_eq!(q.cursor, cursor);
    }

    fn refused(query: &str) -> String {
        let e = ExportQuery::parse(Some(query)).unwrap_err();
        assert_eq!(e.status(), 400, "{query}");
        e.field().unwrap_or("<none>").to_owned()
    }

    #[test]
    fn bad_parameters_are_named() {
        assert_eq!(refused("limit=5"), "limit");
        assert_eq!(refused("domain=go_example.com"), "domain");
        assert_eq!(refused("domain="), "domain");
        assert_eq!(refused("domain=a.com&domain=b.com"), "domain");
        assert_eq!(refused("cursor=zz"), "cursor");
        assert_eq!(refused("cursor=616"), "cursor");
        assert_eq!(refused("cursor=6162"), "cursor");
        assert_eq!(refused(&format!("cursor={}", "00".repeat(5000))), "cursor");
        // A cursor continues only the export that returned it.
        let other = ExportCursor {
            domain: Some("a.example".into()),
            ..ExportCursor::default()
        };
        assert_eq!(refused(&format!("cursor={}", other.encode())), "cursor");
        assert_eq!(
            refused(&format!("domain=b.example&cursor={}", other.encode())),
            "cursor"
        );
        let every = ExportCursor::default().encode();
        assert_eq!(
            refused(&format!("domain=a.example&cursor={every}")),
            "cursor"
        );
    }

    #[test]
    fn the_next_cursor_resumes_inside_a_page_or_at_the_next() {
        let first = ExportCursor::default();
        assert_eq!(first.next(None, None), None, "the last page");
        let next = first.next(None, Some("kv2".into())).unwrap();
        assert_eq!(
            (next.kv.as_deref(), next.after.as_deref()),
            (Some("kv2"), None)
        );
        let inside = next.next(Some("d.example/b"), Some("kv3".into())).unwrap();
        assert_eq!(inside.kv.as_deref(), Some("kv2"), "the same KV page again");
        assert!(!inside.is_ahead("d.example/a"));
        assert!(!inside.is_ahead("d.example/b"));
        assert!(inside.is_ahead("d.example/b-2"));
        assert!(first.is_ahead("anything"));
    }

    #[test]
    fn the_link_header_names_the_domain_and_the_cursor() {
        let c = ExportCursor {
            domain: Some("go.example.com".into()),
            kv: Some("k".into()),
            after: None,
        };
        assert_eq!(
            c.link_header(),
            format!(
                "</_api/v1/export?domain=go.example.com&cursor={}>; rel=\"next\"",
                c.encode()
            )
        );
        let every = ExportCursor::default();
        assert!(every.link_header().starts_with("</_api/v1/export?cursor="));
    }

    #[test]
    fn a_page_takes_its_first_value_and_then_what_fits() {
        let mut budget = PageBudget::default();
        assert!(
            budget.admit(EXPORT_PAGE_BYTES * 2),
            "the first value always"
        );
        assert!(!budget.admit(1));
        let mut budget = PageBudget::default();
        assert!(budget.admit(EXPORT_PAGE_BYTES - 10));
        assert!(budget.admit(10));
        assert!(!budget.admit(1));
    }

    #[test]
    fn keys_split_into_domain_and_slug() {
        assert_eq!(
            split_key("go.example.com/spring26"),
            Some(("go.example.com", "spring26"))
        );
        for bad in [
            "go.example.com",
            "Go.example.com/a",
            "go.example.com/A",
            "go/x/y",
            "/a",
            "a.com/",
        ] {
            assert_eq!(split_key(bad), None, "{bad}");
        }
    }

    const ANY: DestinationPolicy<'static> = DestinationPolicy {
        allowed_hosts: Some(&[HostPattern::Any]),
        ..DestinationPolicy::open("go.example.com")
    };

    /// What an import stores for a line: the admin API's serialisation of the record.
    fn imported(line: &str) -> String {
        let parts = split_import_line(line.trim_end().as_bytes()).unwrap();
        serde_json::to_string(&record_from_import(parts, &ANY).unwrap()).unwrap()
    }

    #[test]
    fn a_stored_record_comes_back_from_an_import_byte_for_byte() {
        let stored = r#"{"url":"https://bücher.example/ü?q=1","status":"disabled","code":308,"forward_query":["utm_*","ref"],"valid_from":"2026-01-01T00:00:00+02:00","valid_until":"2027-01-01T00:00:00Z","expired_url":"https://example.com/over","rules":[{"when":{"country":["DE"],"os":["ios"]},"url":"https://example.com/de"}],"split":[{"url":"https://example.com/a","weight":1}],"tags":["ünï"],"note":"Grüße 🌸"}"#;
        // It is what the admin API stores for it.
        assert_eq!(
            imported(&format!(
                r#"{{"domain":"x.example","slug":"s",{}"#,
                &stored[1..]
            )),
            stored
        );
        let line = export_line("go.example.com/spring-26", stored.as_bytes()).unwrap();
        assert_eq!(
            line,
            format!(
                r#"{{"domain":"go.example.com","slug":"spring-26",{}"#,
                &stored[1..]
            ) + "\n"
        );
        assert_eq!(imported(&line), stored);
    }

    #[test]
    fn a_hand_written_value_exports_as_the_api_would_store_it() {
        let line = export_line(
            "go.example.com/a",
            br#"{ "note": "n", "url": "https://example.com/" }"#,
        )
        .unwrap();
        assert_eq!(
            line,
            "{\"domain\":\"go.example.com\",\"slug\":\"a\",\"url\":\"https://example.com/\",\"status\":\"active\",\"code\":302,\"forward_query\":true,\"note\":\"n\"}\n"
        );
    }

    #[test]
    fn tombstones_are_left_out_and_other_values_named() {
        assert_eq!(export_line("go.example.com/gone", TOMBSTONE), None);
        for (key, stored, problem) in [
            ("go.example.com/x", &b"not json"[..], "not a valid record"),
            ("go.example.com/x", br#"{"code":302}"#, "url: is required"),
            (
                "go.example.com/x",
                br#"{"url":"javascript:alert(1)"}"#,
                "url",
            ),
            (
                "go.example.com/x",
                br#"{"url":"https://go.example.com/loop"}"#,
                "redirect loop",
            ),
            (
                "Bad Key",
                br#"{"url":"https://example.com/"}"#,
                "the key is not",
            ),
        ] {
            let line = export_line(key, stored).unwrap();
            let value: Value = serde_json::from_str(&line).unwrap();
            assert_eq!(value["key"], key, "{line}");
            let text = value[EXPORT_ERROR_FIELD].as_str().unwrap();
            assert!(text.contains(problem), "{line}");
            // An import refuses the line, naming the field.
            let refused = split_import_line(line.trim_end().as_bytes()).unwrap_err();
            assert_eq!(refused.field(), Some(EXPORT_ERROR_FIELD), "{line}");
            assert!(refused.to_string().contains(key), "{refused}");
        }
    }

    #[test]
    fn a_record_outside_todays_allow_list_is_still_exported() {
        // The domain's destination_hosts play no part: only the settings-free rules.
        let line = export_line(
            "go.example.com/a",
            br#"{"url":"https://anywhere.example/"}"#,
        )
        .unwrap();
        assert!(
            line.starts_with(r#"{"domain":"go.example.com","slug":"a","url""#),
            "{line}"
        );
    }
}
