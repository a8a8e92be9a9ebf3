//! `GET /_api/v1/links/{domain}?prefix=&cursor=&limit=`: the query, the items
//! and the opaque cursor. The cursor is the KV list API's own, hex-encoded so
//! that it needs no percent-encoding in a URL (the KV's is base64, with `+ / =`).

use super::AdminError;
use crate::pages::printable;
use crate::path::MAX_SLUG_LEN;
use crate::record::{parse_record, DestinationPolicy, LinkStatus, Strictness};
use serde::Serialize;

/// Items per page unless `limit` says otherwise.
pub const DEFAULT_LIST_LIMIT: u32 = 100;
/// Most items per page (each item is one KV lookup).
pub const MAX_LIST_LIMIT: u32 = 100;

/// A validated listing query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListQuery {
    /// Slug prefix, lower case (may be empty).
    pub prefix: String,
    /// The KV list cursor to continue from.
    pub cursor: Option<String>,
    /// Page size.
    pub limit: u32,
}

impl ListQuery {
    /// Parses the query string; unknown parameters are refused so typos do not pass silently.
    pub fn parse(query: Option<&str>) -> Result<ListQuery, AdminError> {
        let mut list = ListQuery {
            prefix: String::new(),
            cursor: None,
            limit: DEFAULT_LIST_LIMIT,
        };
        for (name, value) in url::form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
            match name.as_ref() {
                "prefix" => list.prefix = parse_prefix(&value)?,
                "cursor" if value.is_empty() => list.cursor = None,
                "cursor" => list.cursor = Some(decode_cursor(&value)?),
                "limit" => list.limit = parse_limit(&value)?,
                other => {
                    return Err(invalid(
                        &printable(other, 64),
                        "unknown parameter; use prefix, cursor or limit",
                    ))
                }
            }
        }
        Ok(list)
    }

    /// The KV key prefix of this listing.
    pub fn key_prefix(&self, domain: &str) -> String {
        format!("{domain}/{}", self.prefix)
    }
}

fn invalid(name: &str, problem: &str) -> AdminError {
    AdminError::InvalidParameter {
        name: name.to_owned(),
        problem: problem.to_owned(),
    }
}

fn parse_prefix(value: &str) -> Result<String, AdminError> {
    let prefix = value.to_ascii_lowercase();
    let valid = prefix.len() <= MAX_SLUG_LEN
        && prefix
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if valid {
        Ok(prefix)
    } else {
        Err(invalid(
            "prefix",
            "must be the start of a slug: at most 64 of a-z, 0-9 and -",
        ))
    }
}

fn parse_limit(value: &str) -> Result<u32, AdminError> {
    match value.parse::<u32>() {
        Ok(limit) if (1..=MAX_LIST_LIMIT).contains(&limit) => Ok(limit),
        _ => Err(invalid(
            "limit",
            &format!("must be a whole number from 1 to {MAX_LIST_LIMIT}"),
        )),
    }
}

/// The API's cursor for a KV cursor: its bytes in lower-case hex.
pub fn encode_cursor(kv_cursor: &str) -> String {
    crate::lower_hex(kv_cursor.as_bytes())
}

/// The KV cursor inside an API cursor.
pub fn decode_cursor(cursor: &str) -> Result<String, AdminError> {
    let bad = || invalid("cursor", "is not a cursor this API returned");
    if !cursor.len().is_multiple_of(2) || cursor.len() > 4096 {
        return Err(bad());
    }
    let bytes = (0..cursor.len())
        .step_by(2)
        .map(|i| {
            cursor
                .get(i..i + 2)
                .and_then(|pair| u8::from_str_radix(pair, 16).ok())
        })
        .collect::<Option<Vec<u8>>>()
        .ok_or_else(bad)?;
    String::from_utf8(bytes).map_err(|_| bad())
}

/// The slug of a KV key under `{domain}/`, if it is a valid one (others are skipped).
pub fn slug_of_key<'a>(domain: &str, key: &'a str) -> Option<&'a str> {
    let slug = key.strip_prefix(domain)?.strip_prefix('/')?;
    crate::path::is_valid_slug(slug).then_some(slug)
}

/// One link of a listing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ListItem {
    /// The slug.
    pub slug: String,
    /// The default destination (`null` when the stored value has none).
    pub url: Option<String>,
    /// `active`, `disabled`, or `invalid` for a stored value the redirect path would refuse.
    pub status: &'static str,
    /// Why the stored value is invalid.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl ListItem {
    /// The item for a stored value, read like the redirect path reads it.
    pub fn from_stored(slug: &str, stored: &[u8], policy: &DestinationPolicy<'_>) -> ListItem {
        match parse_record(stored, Strictness::Reader, policy) {
            Ok(record) => ListItem {
                slug: slug.to_owned(),
                url: Some(record.url),
                status: match record.status {
                    LinkStatus::Active => "active",
                    LinkStatus::Disabled => "disabled",
                },
                error: None,
            },
            Err(e) => {
                let raw: Option<serde_json::Value> = serde_json::from_slice(stored).ok();
                let url = raw
                    .as_ref()
                    .and_then(|v| v.get("url"))
                    .and_then(|u| u.as_str())
                    .map(str::to_owned);
                ListItem {
                    slug: slug.to_owned(),
                    url,
                    status: "invalid",
                    error: Some(e.to_string()),
                }
            }
        }
    }
}

/// The listing body: `{"items": […], "cursor": next or null}`.
pub fn list_body(items: &[ListItem], next_kv_cursor: Option<&str>) -> String {
    serde_json::json!({ "items": items, "cursor": next_kv_cursor.map(encode_cursor) }).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    const ANY: DestinationPolicy<'static> = DestinationPolicy::open("go.example.com");

    #[test]
    fn defaults_and_values() {
        assert_eq!(
            ListQuery::parse(None).unwrap(),
            ListQuery {
                prefix: String::new(),
                cursor: None,
                limit: 100
            }
        );
        let q = ListQuery::parse(Some("prefix=Spring-&limit=2&cursor=6162")).unwrap();
        assert_eq!(
            q,
            ListQuery {
                prefix: "spring-".into(),
                cursor: Some("ab".into()),
                limit: 2
            }
        );
        assert_eq!(q.key_prefix("go.example.com"), "go.example.com/spring-");
        assert_eq!(ListQuery::parse(Some("cursor=")).unwrap().cursor, None);
    }

    #[test]
    fn bad_parameters_are_named() {
        let field = |q: &str| {
            ListQuery::parse(Some(q))
                .unwrap_err()
                .field()
                .map(str::to_owned)
        };
        for (query, name) in [
            ("limit=0", "limit"),
            ("limit=101", "limit"),
            ("limit=x", "limit"),
            ("limit=-1", "limit"),
            ("prefix=a/b", "prefix"),
            ("prefix=a%25", "prefix"),
            ("cursor=zz", "cursor"),
            ("cursor=abc", "cursor"),
            ("limt=2", "limt"),
        ] {
            assert_eq!(field(query), Some(name.to_owned()), "{query}");
        }
    }

    #[test]
    fn cursors_round_trip_through_hex() {
        for kv in ["", "Z28uZXhhbXBsZS5jb20vYg==", "a+b/c="] {
            let api = encode_cursor(kv);
            assert!(api.bytes().all(|b| b.is_ascii_hexdigit()));
            assert_eq!(decode_cursor(&api).unwrap(), kv);
        }
        assert!(decode_cursor("ff").is_err(), "not UTF-8");
    }

    #[test]
    fn keys_outside_the_domain_or_not_slugs_are_skipped() {
        assert_eq!(
            slug_of_key("go.example.com", "go.example.com/spring"),
            Some("spring")
        );
        assert_eq!(
            slug_of_key("go.example.com", "go.example.com.evil/spring"),
            None
        );
        assert_eq!(slug_of_key("go.example.com", "go.example.com/a/b"), None);
    }

    #[test]
    fn items_show_url_and_status_or_why_they_are_invalid() {
        let ok = ListItem::from_stored(
            "a",
            br#"{"url":"https://example.com/","status":"disabled"}"#,
            &ANY,
        );
        assert_eq!(
            (ok.url.as_deref(), ok.status),
            (Some("https://example.com/"), "disabled")
        );
        let bad = ListItem::from_stored("b", br#"{"url":"javascript:x"}"#, &ANY);
        assert_eq!(
            (bad.url.as_deref(), bad.status),
            (Some("javascript:x"), "invalid")
        );
        assert!(bad.error.unwrap().starts_with("url:"));
        let junk = ListItem::from_stored("c", b"not json", &ANY);
        assert_eq!((junk.url, junk.status), (None, "invalid"));
    }

    #[test]
    fn the_body_carries_items_and_an_encoded_cursor() {
        let items = [ListItem {
            slug: "a".into(),
            url: Some("https://example.com/".into()),
            status: "active",
            error: None,
        }];
        let body: serde_json::Value = serde_json::from_str(&list_body(&items, Some("ab"))).unwrap();
        assert_eq!(
            body["items"][0],
            serde_json::json!({"slug":"a","url":"https://example.com/","status":"active"})
        );
        assert_eq!(body["cursor"], "6162");
        let last: serde_json::Value = serde_json::from_str(&list_body(&[], None)).unwrap();
        assert_eq!(last["cursor"], serde_json::Value::Null);
    }
}
