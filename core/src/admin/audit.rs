//! The `audit` log line (docs/admin-api.md): one JSON object per admin write, with the
//! value before (as it was stored) and after, the KV generations and the
//! caller, so every change can be traced and undone; and one `auth_failed`
//! line per request that fails authentication, with the caller and the path,
//! never the token offered.
//!
//! Schema (version [`AUDIT_SCHEMA_VERSION`]); every key is present on every line:
//!
//! | key | value |
//! |---|---|
//! | `v` | `2` |
//! | `ts` | RFC 3339 UTC with milliseconds |
//! | `id` | request id |
//! | `action` | `create`, `update`, `delete`, `auth_failed` |
//! | `domain`, `slug` | the link; `null` on `auth_failed` |
//! | `generation_before`, `generation_after` | KV generations; `null`: no link (before), deleted or already replaced (after) |
//! | `old` | the value stored before, as stored: its JSON when it is JSON (even when it is not a valid record), else its text as a string; `null`: no link |
//! | `old_truncated` | `true` when `old` was cut to fit the bound: it is then a string, the first bytes of the stored text |
//! | `new` | the record written; `null` on `delete` and `auth_failed` |
//! | `new_truncated` | as `old_truncated`, for `new` |
//! | `ip` | the caller's address as the domain's `ip_mode` says (the request's host's on `auth_failed`); `null` for `none`, and for `hash` without `ip_salt` |
//! | `ua` | the caller's `User-Agent`, `null` without one |
//! | `method`, `path` | the request's method and path (no query string) |
//!
//! Size: `old` and `new` take at most [`MAX_AUDIT_VALUE_BYTES`] each as
//! written into the line, every text field at most [`MAX_AUDIT_TEXT_BYTES`],
//! so no line exceeds [`MAX_AUDIT_LINE_BYTES`] (records may reach 1 MiB).

use crate::clock::{format_millis, UnixMillis};
use crate::record::LinkRecord;
use serde::Serialize;

/// Schema version of [`AuditEntry`]. 2 added the caller (`ip`, `ua`, `method`,
/// `path`), `auth_failed`, `old` as stored (no longer `null` for a value that
/// is not a valid record), `old_truncated`, `new_truncated` and the size bound.
pub const AUDIT_SCHEMA_VERSION: u8 = 2;

/// Most bytes `old` or `new` take in a line, as serialised JSON.
pub const MAX_AUDIT_VALUE_BYTES: usize = 16 * 1024;

/// Most bytes each text field (`id`, `domain`, `slug`, `ua`, `method`, `path`)
/// takes in a line, as a serialised JSON string.
pub const MAX_AUDIT_TEXT_BYTES: usize = 1024;

/// No audit line is longer: two values, six text fields, and the fixed rest
/// (keys, time, generations, flags, `ip`: under 600 bytes) with room to spare.
pub const MAX_AUDIT_LINE_BYTES: usize = 64 * 1024;

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// A new link (also over a deleted link's tombstone).
    Create,
    /// A link replaced.
    Update,
    /// A link removed.
    Delete,
    /// A request that failed authentication (no line for what it asked).
    AuthFailed,
}

/// Who made the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Caller<'a> {
    /// The address as the domain's `ip_mode` says (`privacy::ip_for_log`).
    pub ip: Option<&'a str>,
    /// `User-Agent`.
    pub ua: Option<&'a str>,
    /// Request method.
    pub method: &'a str,
    /// Request path, without the query string.
    pub path: &'a str,
}

/// One write.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Change<'a> {
    /// What the write did.
    pub action: Action,
    /// Short-link domain.
    pub domain: &'a str,
    /// Slug.
    pub slug: &'a str,
    /// KV generations before and after.
    pub generations: (Option<u64>, Option<u64>),
    /// The value before, as stored (whether or not it is a valid record);
    /// `None`: no link. Not parsed as a record: no CPU spent on validating it.
    pub old: Option<&'a [u8]>,
    /// The record written; `None`: deleted.
    pub new: Option<&'a LinkRecord>,
}

/// `old` or `new` as it goes into a line.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Logged {
    /// A JSON document, whole.
    Json(serde_json::Value),
    /// Text that is not JSON, or the first bytes of a value too large to log whole.
    Text(String),
}

impl Logged {
    /// A stored value: its JSON when it is JSON and fits, else its text, cut to
    /// fit. The flag says whether it was cut.
    pub fn of(stored: &[u8]) -> (Logged, bool) {
        // Only input that may fit is parsed: parsing up to 1 MiB just to find
        // it too large would spend the request's CPU for nothing.
        if stored.len() <= MAX_AUDIT_VALUE_BYTES {
            if let Ok(value) = serde_json::from_slice::<serde_json::Value>(stored) {
                if serde_json::to_string(&value).is_ok_and(|s| s.len() <= MAX_AUDIT_VALUE_BYTES) {
                    return (Logged::Json(value), false);
                }
            }
        }
        // Each byte takes at least one byte in the line, so no more than the
        // budget's worth of input can fit: only that head is converted (a 1 MiB
        // value costs no more than a 16 KiB one), cut where no character is split.
        let mut end = stored.len().min(MAX_AUDIT_VALUE_BYTES);
        while end < stored.len() && end > 0 && (stored[end] & 0xC0) == 0x80 {
            end -= 1;
        }
        let text = String::from_utf8_lossy(&stored[..end]);
        let (cut, truncated) = fit(&text, MAX_AUDIT_VALUE_BYTES);
        (
            Logged::Text(cut.to_owned()),
            truncated || end < stored.len(),
        )
    }
}

/// One audit line.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditEntry<'a> {
    /// Schema version.
    pub v: u8,
    /// RFC 3339 UTC with milliseconds.
    pub ts: String,
    /// Request id.
    pub id: &'a str,
    /// What happened.
    pub action: Action,
    /// Short-link domain (`null` on `auth_failed`).
    pub domain: Option<&'a str>,
    /// Slug (`null` on `auth_failed`).
    pub slug: Option<&'a str>,
    /// KV generation before the write (`null`: there was no link).
    pub generation_before: Option<u64>,
    /// KV generation after the write (`null`: deleted, or changed again before it could be read).
    pub generation_after: Option<u64>,
    /// The value before, as stored (`null`: none).
    pub old: Option<Logged>,
    /// `old` was cut to [`MAX_AUDIT_VALUE_BYTES`].
    pub old_truncated: bool,
    /// The record after (`null`: deleted).
    pub new: Option<Logged>,
    /// `new` was cut to [`MAX_AUDIT_VALUE_BYTES`].
    pub new_truncated: bool,
    /// Caller address per `ip_mode`.
    pub ip: Option<&'a str>,
    /// Caller `User-Agent`.
    pub ua: Option<&'a str>,
    /// Request method.
    pub method: &'a str,
    /// Request path.
    pub path: &'a str,
}

impl AuditEntry<'_> {
    /// The line of a write made at `at` by request `id`.
    pub fn change<'a>(
        at: UnixMillis,
        id: &'a str,
        change: &Change<'a>,
        caller: &Caller<'a>,
    ) -> AuditEntry<'a> {
        let old = change.old.map(Logged::of);
        let new = change
            .new
            .map(|record| Logged::of(&serde_json::to_vec(record).unwrap_or_default()));
        let mut entry = AuditEntry::bare(at, id, change.action, caller);
        entry.domain = Some(text(change.domain));
        entry.slug = Some(text(change.slug));
        (entry.generation_before, entry.generation_after) = change.generations;
        if let Some((logged, truncated)) = old {
            entry.old = Some(logged);
            entry.old_truncated = truncated;
        }
        if let Some((logged, truncated)) = new {
            entry.new = Some(logged);
            entry.new_truncated = truncated;
        }
        entry
    }

    /// The line of a request that failed authentication. It names the caller
    /// and the path only: whatever credential was offered is never written.
    pub fn auth_failed<'a>(at: UnixMillis, id: &'a str, caller: &Caller<'a>) -> AuditEntry<'a> {
        AuditEntry::bare(at, id, Action::AuthFailed, caller)
    }

    fn bare<'a>(
        at: UnixMillis,
        id: &'a str,
        action: Action,
        caller: &Caller<'a>,
    ) -> AuditEntry<'a> {
        AuditEntry {
            v: AUDIT_SCHEMA_VERSION,
            ts: format_millis(at),
            id: text(id),
            action,
            domain: None,
            slug: None,
            generation_before: None,
            generation_after: None,
            old: None,
            old_truncated: false,
            new: None,
            new_truncated: false,
            ip: caller.ip.map(text),
            ua: caller.ua.map(text),
            method: text(caller.method),
            path: text(caller.path),
        }
    }

    /// The NDJSON line (serde_json escapes every newline inside strings).
    pub fn to_line(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// A text field cut to [`MAX_AUDIT_TEXT_BYTES`] as serialised.
fn text(value: &str) -> &str {
    fit(value, MAX_AUDIT_TEXT_BYTES).0
}

/// The longest prefix of `text` whose JSON string (quotes and escapes
/// included, as serde_json writes it) takes at most `budget` bytes, and
/// whether it had to be cut.
pub fn fit(text: &str, budget: usize) -> (&str, bool) {
    let mut used = 2; // the quotes
    for (i, c) in text.char_indices() {
        used += match c {
            '"' | '\\' | '\u{8}' | '\t' | '\n' | '\u{c}' | '\r' => 2,
            c if u32::from(c) < 0x20 => 6,
            c => c.len_utf8(),
        };
        if used > budget {
            return (&text[..i], true);
        }
    }
    (text, false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    const CALLER: Caller<'static> = Caller {
        ip: Some("203.0.113.0"),
        ua: Some("curl/8.5.0"),
        method: "PUT",
        path: "/_api/v1/links/go.example.com/spring",
    };

    fn parse(entry: &AuditEntry<'_>) -> Value {
        let line = entry.to_line();
        assert!(!line.contains('\n'));
        serde_json::from_str(&line).unwrap()
    }

    #[test]
    fn an_update_line_carries_both_values_generations_and_the_caller() {
        let new = LinkRecord::to("https://example.com/new");
        let change = Change {
            action: Action::Update,
            domain: "go.example.com",
            slug: "spring",
            generations: (Some(5), Some(9)),
            old: Some(br#"{"url":"https://example.com/old", "x": 1}"#),
            new: Some(&new),
        };
        let line = parse(&AuditEntry::change(
            1_772_323_200_123,
            "req-1",
            &change,
            &CALLER,
        ));
        assert_eq!(line["v"], 2);
        assert_eq!(line["ts"], "2026-03-01T00:00:00.123Z");
        assert_eq!(line["action"], "update");
        assert_eq!(
            (
                line["generation_before"].as_u64(),
                line["generation_after"].as_u64()
            ),
            (Some(5), Some(9))
        );
        assert_eq!(
            line["old"],
            json!({"url": "https://example.com/old", "x": 1}),
            "as stored, unknown fields and all"
        );
        assert_eq!(line["new"]["url"], "https://example.com/new");
        assert_eq!(
            (
                line["old_truncated"].as_bool(),
                line["new_truncated"].as_bool()
            ),
            (Some(false), Some(false))
        );
        assert_eq!(
            (
                line["id"].as_str(),
                line["domain"].as_str(),
                line["slug"].as_str()
            ),
            (Some("req-1"), Some("go.example.com"), Some("spring"))
        );
        assert_eq!(
            (
                line["ip"].as_str(),
                line["ua"].as_str(),
                line["method"].as_str(),
                line["path"].as_str()
            ),
            (
                Some("203.0.113.0"),
                Some("curl/8.5.0"),
                Some("PUT"),
                Some("/_api/v1/links/go.example.com/spring")
            )
        );
    }

    #[test]
    fn a_delete_line_has_no_new_record() {
        let change = Change {
            action: Action::Delete,
            domain: "d.test",
            slug: "s",
            generations: (Some(1), None),
            old: Some(br#"{"url":"https://example.com/"}"#),
            new: None,
        };
        let line = parse(&AuditEntry::change(0, "r", &change, &CALLER));
        assert_eq!(line["action"], "delete");
        assert_eq!(line["new"], Value::Null);
        assert_eq!(line["generation_after"], Value::Null);
    }

    #[test]
    fn an_invalid_or_non_json_old_value_is_kept_as_stored() {
        let invalid = Change {
            action: Action::Update,
            domain: "d.test",
            slug: "s",
            generations: (Some(1), Some(2)),
            old: Some(br#"{"url":"javascript:alert(1)"}"#),
            new: None,
        };
        let line = parse(&AuditEntry::change(0, "r", &invalid, &CALLER));
        assert_eq!(line["old"], json!({"url": "javascript:alert(1)"}));

        let text = Change {
            old: Some(b"not json\n\"at all\""),
            ..invalid
        };
        let line = parse(&AuditEntry::change(0, "r", &text, &CALLER));
        assert_eq!(line["old"], "not json\n\"at all\"");
        assert_eq!(line["old_truncated"], false);
    }

    #[test]
    fn a_create_line_has_no_old_value() {
        let new = LinkRecord::to("https://example.com/");
        let change = Change {
            action: Action::Create,
            domain: "d.test",
            slug: "s",
            generations: (None, Some(3)),
            old: None,
            new: Some(&new),
        };
        let line = parse(&AuditEntry::change(0, "r", &change, &CALLER));
        assert_eq!(
            (line["old"].clone(), line["old_truncated"].clone()),
            (Value::Null, Value::Bool(false))
        );
    }

    #[test]
    fn an_auth_failed_line_names_the_caller_and_path_only() {
        let caller = Caller {
            method: "DELETE",
            ..CALLER
        };
        let line = parse(&AuditEntry::auth_failed(0, "r", &caller));
        assert_eq!(line["action"], "auth_failed");
        assert_eq!(
            (line["method"].as_str(), line["path"].as_str()),
            (Some("DELETE"), Some(CALLER.path))
        );
        assert_eq!(
            (
                line["domain"].clone(),
                line["old"].clone(),
                line["new"].clone()
            ),
            (Value::Null, Value::Null, Value::Null)
        );
        let keys: Vec<&String> = line.as_object().unwrap().keys().collect();
        assert_eq!(keys.len(), 16, "every key on every line: {keys:?}");
    }

    #[test]
    fn large_values_are_cut_and_flagged() {
        let note = "n".repeat(900_000);
        let stored = format!(r#"{{"url":"https://example.com/big","note":"{note}"}}"#);
        let (logged, truncated) = Logged::of(stored.as_bytes());
        assert!(truncated);
        let Logged::Text(text) = &logged else {
            panic!("a cut value is text")
        };
        assert!(stored.starts_with(text.as_str()));
        assert!(serde_json::to_string(&logged).unwrap().len() <= MAX_AUDIT_VALUE_BYTES);
        let (whole, cut) = Logged::of(br#"{"url":"https://example.com/"}"#);
        assert!(!cut);
        assert!(matches!(whole, Logged::Json(_)));
    }

    #[test]
    fn a_cut_never_splits_a_character_and_is_always_flagged() {
        // Just over the bound: the head alone would fit, the rest is cut off.
        let over = "a".repeat(MAX_AUDIT_VALUE_BYTES + 1);
        let (Logged::Text(text), true) = Logged::of(over.as_bytes()) else {
            panic!("cut and flagged")
        };
        assert!(over.starts_with(&text));
        // A three-byte character straddling the head's end is left out whole.
        let straddling = format!(
            "{}€{}",
            "a".repeat(MAX_AUDIT_VALUE_BYTES - 1),
            "b".repeat(100)
        );
        let (Logged::Text(text), true) = Logged::of(straddling.as_bytes()) else {
            panic!("cut and flagged")
        };
        assert!(straddling.starts_with(&text) && !text.contains('\u{fffd}'));
    }

    #[test]
    fn fit_counts_escapes() {
        for (text, budget) in [
            ("\"\"\"\"\"\"", 9),
            ("\u{1}\u{1}\u{1}", 15),
            ("ééé", 7),
            ("abc", 5),
            ("a\nb\\c", 100),
        ] {
            let (cut, truncated) = fit(text, budget);
            let written = serde_json::to_string(cut).unwrap();
            assert!(written.len() <= budget, "{text:?} {budget}: {written}");
            assert_eq!(truncated, cut.len() < text.len());
            // Nothing more would have fitted.
            if let Some(next) = text[cut.len()..].chars().next() {
                let longer = &text[..cut.len() + next.len_utf8()];
                assert!(serde_json::to_string(longer).unwrap().len() > budget);
            }
        }
    }

    #[test]
    fn no_line_exceeds_the_bound_whatever_the_input() {
        let worst = "\u{1}".repeat(2 * MAX_AUDIT_VALUE_BYTES);
        let quotes = "\"".repeat(4 * MAX_AUDIT_TEXT_BYTES);
        let mut new = LinkRecord::to(format!("https://example.com/{}", "a".repeat(2000)));
        new.note = Some(worst.clone());
        let change = Change {
            action: Action::Update,
            domain: &quotes,
            slug: &quotes,
            generations: (Some(u64::MAX), Some(u64::MAX)),
            old: Some(worst.as_bytes()),
            new: Some(&new),
        };
        let caller = Caller {
            ip: Some("ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255"),
            ua: Some(&quotes),
            method: &quotes,
            path: &quotes,
        };
        let line = AuditEntry::change(4_102_444_800_000, &quotes, &change, &caller).to_line();
        assert!(line.len() <= MAX_AUDIT_LINE_BYTES, "{} bytes", line.len());
        let parsed: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(
            (
                parsed["old_truncated"].as_bool(),
                parsed["new_truncated"].as_bool()
            ),
            (Some(true), Some(true))
        );
    }
}
