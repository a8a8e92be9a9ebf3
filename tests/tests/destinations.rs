//! Where a link may send a visitor (docs/links.md): never to a host the service
//! answers for (no loops, not even across two short domains, nor through a
//! `*.edgecompute.app` host), on every write and every read; and query
//! forwarding that can add parameters but never replace the owner's.

use qr_edge_tests::admin::{import, with_json};
use qr_edge_tests::{Reply, Service, ServiceConfig};
use serde_json::json;

fn config() -> ServiceConfig {
    qr_edge_tests::admin::config()
        .setting("domains", json!(["go.example.com", "qr.example.org"]))
        .setting("destination_hosts", json!(["*"]))
}

fn put(s: &Service, host_path: &str, body: &str) -> Reply {
    s.send(with_json(
        "PUT",
        &format!("/_api/v1/links/{host_path}"),
        body,
    ))
}

fn names_url(r: &Reply, context: &str) {
    assert_eq!(r.status, 400, "{context}: {}", r.text());
    assert_eq!(r.json()["field"], "url", "{context}");
}

#[test]
fn a_loop_across_two_served_domains_is_refused_on_write() {
    let s = Service::start(config());
    names_url(
        &put(
            &s,
            "go.example.com/a",
            r#"{"url":"https://qr.example.org/b"}"#,
        ),
        "go → qr",
    );
    names_url(
        &put(
            &s,
            "qr.example.org/b",
            r#"{"url":"https://GO.example.com./a"}"#,
        ),
        "qr → go",
    );
    names_url(
        &put(
            &s,
            "go.example.com/a",
            r#"{"url":"https://my-service.edgecompute.app/a"}"#,
        ),
        "a Fastly service host",
    );
    let imported = s.send(import(
        r#"{"domain":"go.example.com","slug":"c","url":"https://example.com/","rules":[{"when":{},"url":"https://qr.example.org/x"}]}"#,
    ));
    assert!(
        imported.text().contains("rules[0].url"),
        "{}",
        imported.text()
    );
    assert_eq!(s.get("/a").status, 404, "nothing was stored");
    assert_eq!(s.get("/c").status, 404);
}

#[test]
fn a_stored_loop_is_refused_on_read() {
    let s = Service::start(
        config()
            .link("go.example.com/a", r#"{"url":"https://qr.example.org/b"}"#)
            .link("go.example.com/split", r#"{"url":"https://example.com/","split":[{"url":"https://x.edgecompute.app/","weight":1}]}"#)
            .setting("fallback_url", json!("https://example.com/sorry")),
    );
    for slug in ["/a", "/split"] {
        let r = s.get(slug);
        assert_eq!(
            (r.status, r.header("location")),
            (302, Some("https://example.com/sorry")),
            "{slug}: a record that would loop is no record; the fallback answers"
        );
    }
}

#[test]
fn a_scan_adds_parameters_but_never_replaces_the_owners() {
    let s = Service::start(
        config()
            .link(
                "go.example.com/spring26",
                r#"{"url":"https://example.com/spring?next=%2Fhome"}"#,
            )
            .link(
                "go.example.com/utm",
                r#"{"url":"https://example.com/p","forward_query":["utm_*","gclid"]}"#,
            )
            .link(
                "go.example.com/none",
                r#"{"url":"https://example.com/p?a=1","forward_query":false}"#,
            ),
    );
    let r = s.get("/spring26?next=https%3A%2F%2Fevil.test%2F&utm_source=qr");
    assert_eq!(
        r.header("location"),
        Some("https://example.com/spring?next=%2Fhome&utm_source=qr")
    );
    let r = s.get("/utm?utm_source=qr&utm_medium=print&next=x&gclid=7&gclid2=8");
    assert_eq!(
        r.header("location"),
        Some("https://example.com/p?utm_source=qr&utm_medium=print&gclid=7")
    );
    let r = s.get("/none?a=2&b=3");
    assert_eq!(r.header("location"), Some("https://example.com/p?a=1"));
}

#[test]
fn forward_query_lists_are_validated_naming_the_entry() {
    let s = Service::start(config());
    let r = put(
        &s,
        "go.example.com/x",
        r#"{"url":"https://example.com/","forward_query":["utm_*","u*m"]}"#,
    );
    assert_eq!(r.status, 400, "{}", r.text());
    assert_eq!(r.json()["field"], "forward_query[1]");
    let r = put(
        &s,
        "go.example.com/x",
        r#"{"url":"https://example.com/","forward_query":"yes"}"#,
    );
    assert_eq!(r.json()["field"], "forward_query");
    let ok = put(
        &s,
        "go.example.com/x",
        r#"{"url":"https://example.com/","forward_query":["utm_*"]}"#,
    );
    assert_eq!(ok.status, 201, "{}", ok.text());
    assert_eq!(ok.json()["forward_query"], json!(["utm_*"]));
}
