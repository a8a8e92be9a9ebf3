//! The `audit` log line (SPEC §8): one JSON object per admin write, with the
//! record before and after and the KV generations, so every change can be
//! traced and undone.

use crate::clock::{format_millis, UnixMillis};
use crate::record::LinkRecord;
use serde::Serialize;

/// Schema version of [`AuditEntry`].
pub const AUDIT_SCHEMA_VERSION: u8 = 1;

/// What a write did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// A new link.
    Create,
    /// A link replaced.
    Update,
    /// A link removed.
    Delete,
}

/// One admin write.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditEntry<'a> {
    /// Schema version.
    pub v: u8,
    /// RFC 3339 UTC with milliseconds.
    pub ts: String,
    /// Request id.
    pub id: &'a str,
    /// What the write did.
    pub action: Action,
    /// Short-link domain.
    pub domain: &'a str,
    /// Slug.
    pub slug: &'a str,
    /// KV generation before the write (`null`: there was no link).
    pub generation_before: Option<u64>,
    /// KV generation after the write (`null`: deleted, or changed again before it could be read).
    pub generation_after: Option<u64>,
    /// The record before (`null`: none, or a stored value that was not a record).
    pub old: Option<&'a LinkRecord>,
    /// The record after (`null`: deleted).
    pub new: Option<&'a LinkRecord>,
}

impl AuditEntry<'_> {
    /// Builds an entry stamped `at`.
    #[allow(clippy::too_many_arguments)]
    pub fn new<'a>(
        at: UnixMillis,
        id: &'a str,
        action: Action,
        domain: &'a str,
        slug: &'a str,
        generations: (Option<u64>, Option<u64>),
        old: Option<&'a LinkRecord>,
        new: Option<&'a LinkRecord>,
    ) -> AuditEntry<'a> {
        AuditEntry {
            v: AUDIT_SCHEMA_VERSION,
            ts: format_millis(at),
            id,
            action,
            domain,
            slug,
            generation_before: generations.0,
            generation_after: generations.1,
            old,
            new,
        }
    }

    /// The NDJSON line.
    pub fn to_line(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_update_line_carries_both_records_and_generations() {
        let (old, new) = (
            LinkRecord::to("https://example.com/old"),
            LinkRecord::to("https://example.com/new"),
        );
        let entry = AuditEntry::new(
            1_772_323_200_123,
            "req-1",
            Action::Update,
            "go.example.com",
            "spring",
            (Some(5), Some(9)),
            Some(&old),
            Some(&new),
        );
        let line: serde_json::Value = serde_json::from_str(&entry.to_line()).unwrap();
        assert_eq!(line["ts"], "2026-03-01T00:00:00.123Z");
        assert_eq!(line["action"], "update");
        assert_eq!(
            (
                line["generation_before"].as_u64(),
                line["generation_after"].as_u64()
            ),
            (Some(5), Some(9))
        );
        assert_eq!(line["old"]["url"], "https://example.com/old");
        assert_eq!(line["new"]["url"], "https://example.com/new");
        assert_eq!(
            (
                line["id"].as_str(),
                line["domain"].as_str(),
                line["slug"].as_str()
            ),
            (Some("req-1"), Some("go.example.com"), Some("spring"))
        );
    }

    #[test]
    fn a_delete_line_has_no_new_record() {
        let old = LinkRecord::to("https://example.com/");
        let entry = AuditEntry::new(
            0,
            "r",
            Action::Delete,
            "d.test",
            "s",
            (Some(1), None),
            Some(&old),
            None,
        );
        let line: serde_json::Value = serde_json::from_str(&entry.to_line()).unwrap();
        assert_eq!(line["action"], "delete");
        assert_eq!(line["new"], serde_json::Value::Null);
        assert_eq!(line["generation_after"], serde_json::Value::Null);
        assert!(!entry.to_line().contains('\n'));
    }
}
