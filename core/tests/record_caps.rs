//! The caps of docs/admin-api.md on the owner's free text: `note` at most 1,000
//! characters, at most 32 `tags` of at most 64 characters each. Admin writes
//! (PUT, POST, import) are refused naming the field; readers (KV, origin)
//! still accept records stored before the caps, since notes and tags never
//! change where a scan goes.

use qr_edge_core::admin::{parse_admin_record, record_from_import, split_import_line};
use qr_edge_core::destination::HostPattern;
use qr_edge_core::record::{parse_record, DestinationPolicy, Strictness};
use serde_json::json;

/// Any destination host (admin writes need an allow-list, docs/settings.md).
const POLICY: DestinationPolicy<'static> = DestinationPolicy {
    allowed_hosts: Some(&[HostPattern::Any]),
    ..DestinationPolicy::open("go.example.com")
};

fn admin_field(body: &serde_json::Value) -> Option<String> {
    parse_admin_record(body.to_string().as_bytes(), &POLICY)
        .err()
        .map(|e| e.field().unwrap_or_default().to_owned())
}

fn reader_accepts(body: &serde_json::Value) -> bool {
    parse_record(body.to_string().as_bytes(), Strictness::Reader, &POLICY).is_ok()
}

#[test]
fn a_note_of_1000_characters_passes_and_1001_is_refused() {
    // Characters, not bytes: 1,000 three-byte characters pass.
    let at_cap = json!({"url": "https://example.com/", "note": "€".repeat(1000)});
    assert_eq!(admin_field(&at_cap), None);
    let over = json!({"url": "https://example.com/", "note": "n".repeat(1001)});
    assert_eq!(admin_field(&over).as_deref(), Some("note"));
    assert!(
        reader_accepts(&over),
        "a stored record with a long note still redirects"
    );
}

#[test]
fn thirty_two_tags_pass_and_thirty_three_are_refused() {
    let tags = |n: usize| (0..n).map(|i| format!("t{i}")).collect::<Vec<_>>();
    assert_eq!(
        admin_field(&json!({"url": "https://example.com/", "tags": tags(32)})),
        None
    );
    let over = json!({"url": "https://example.com/", "tags": tags(33)});
    assert_eq!(admin_field(&over).as_deref(), Some("tags"));
    assert!(reader_accepts(&over));
}

#[test]
fn a_tag_over_64_characters_is_named_by_its_index() {
    let tags = ["a", "b", "c", &"x".repeat(65)];
    let over = json!({"url": "https://example.com/", "tags": tags});
    assert_eq!(admin_field(&over).as_deref(), Some("tags[3]"));
    assert!(reader_accepts(&over));
    let at_cap = json!({"url": "https://example.com/", "tags": ["ü".repeat(64)]});
    assert_eq!(admin_field(&at_cap), None);
}

#[test]
fn imports_are_capped_like_puts() {
    let line = json!({"domain": "go.example.com", "slug": "s", "url": "https://example.com/", "note": "n".repeat(1001)});
    let parts = split_import_line(line.to_string().as_bytes()).expect("a well-formed line");
    let e = record_from_import(parts, &POLICY).expect_err("capped");
    assert_eq!((e.status(), e.field()), (400, Some("note")));
}
