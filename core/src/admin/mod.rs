//! The admin API's pure parts (docs/admin-api.md): routes, the bearer-token check,
//! request bodies and preconditions, random slugs, listings, imports, exports, audit
//! lines, the tombstones of deleted links and the facts of a tried scan. The edge shell (`../src/admin.rs`)
//! only does the I/O around them: the secret store, the `links` KV store, cache
//! purges and the `audit` log.

mod audit;
mod auth;
mod body;
mod error;
mod export;
mod listing;
mod preconditions;
mod route;
mod slug;
mod tombstone;
mod trial;

pub use audit::{
    Action, AuditEntry, Caller, Change, Logged, AUDIT_SCHEMA_VERSION, MAX_AUDIT_LINE_BYTES,
    MAX_AUDIT_TEXT_BYTES, MAX_AUDIT_VALUE_BYTES,
};
pub use auth::token_matches;
pub use body::{
    body_too_large, check_content_type, check_import_size, import_lines, import_results_body,
    parse_admin_record, record_from_import, split_import_line, ImportLine, ImportResult,
    ImportedLinks, MediaType, IMPORT_WINDOW, MAX_BODY_BYTES, MAX_IMPORT_LINES,
    MAX_RECORD_BODY_BYTES,
};
pub use error::AdminError;
pub use export::{
    error_line, export_line, link_line, split_key, ExportCursor, ExportQuery, PageBudget,
    EXPORT_ERROR_FIELD, EXPORT_LIST_LIMIT, EXPORT_PAGE_BYTES,
};
pub use listing::{
    decode_cursor, encode_cursor, list_body, slug_of_key, ListItem, ListQuery, DEFAULT_LIST_LIMIT,
    MAX_LIST_LIMIT,
};
pub use preconditions::{etag, Preconditions};
pub use route::{parse_domain, parse_route, parse_slug, AdminRoute, API_PREFIX};
pub use slug::{random_slug, RANDOM_SLUG_ALPHABET, RANDOM_SLUG_BYTES, RANDOM_SLUG_LEN};
pub use tombstone::{is_tombstone, TOMBSTONE, TOMBSTONE_TTL_SECS};
pub use trial::{parse_try, try_body, TryFacts, MAX_TRY_TEXT, TRY_FIELDS};

use crate::path::short_url;
use crate::record::LinkRecord;
use serde::Serialize;

/// The API URL of a link (the `Location` of a created link).
pub fn link_location(domain: &str, slug: &str) -> String {
    format!("{API_PREFIX}/links/{domain}/{slug}")
}

/// The body answering `POST /_api/v1/links/{domain}`: `{"slug", "short_url", …record}`.
pub fn created_body(domain: &str, slug: &str, record: &LinkRecord) -> String {
    #[derive(Serialize)]
    struct Created<'a> {
        slug: &'a str,
        short_url: String,
        #[serde(flatten)]
        record: &'a LinkRecord,
    }
    let created = Created {
        slug,
        short_url: short_url(domain, slug),
        record,
    };
    serde_json::to_string(&created).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn created_body_puts_slug_and_short_url_before_the_record() {
        let body = created_body(
            "go.example.com",
            "abc23456",
            &LinkRecord::to("https://example.com/"),
        );
        let value: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(value["slug"], "abc23456");
        assert_eq!(value["short_url"], "https://go.example.com/abc23456");
        assert_eq!(value["url"], "https://example.com/");
        assert_eq!(value["code"], 302);
        assert!(
            body.starts_with(r#"{"slug":"abc23456","short_url""#),
            "{body}"
        );
    }

    #[test]
    fn locations_are_under_the_api_prefix() {
        assert_eq!(
            link_location("go.example.com", "x"),
            "/_api/v1/links/go.example.com/x"
        );
    }
}
