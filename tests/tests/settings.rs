//! Settings as two JSON documents that fail closed (docs/settings.md): an unreadable
//! document makes the domain's settings unknown (503, never the defaults), a
//! bad guard allows nothing, a bad allow-list entry is dropped while the rest
//! stand, URL settings obey the allow-list, and the admin API shows it all.

use qr_edge_tests::admin::{api as admin, import, with_json};
use qr_edge_tests::{Req, Service, ServiceConfig};
use serde_json::{json, Value};

fn links() -> ServiceConfig {
    qr_edge_tests::admin::config()
        .link(
            "go.example.com/spring26",
            r#"{"url":"https://example.com/spring"}"#,
        )
        .link(
            "qr.example.org/menu",
            r#"{"url":"https://example.org/menu"}"#,
        )
}

fn put_link(s: &Service, slug: &str, url: &str) -> qr_edge_tests::Reply {
    s.send(with_json(
        "PUT",
        &format!("/_api/v1/links/go.example.com/{slug}"),
        &json!({ "url": url }).to_string(),
    ))
}

/// The links, with a `defaults` document that is not JSON. Which texts are
/// unreadable documents (not JSON, not an object) is core's (settings.rs).
fn unreadable_defaults() -> Service {
    Service::start(links().settings_document("defaults", "not json"))
}

#[test]
fn an_unreadable_defaults_document_fails_closed_for_every_domain() {
    let s = unreadable_defaults();
    for (host, target) in [("go.example.com", "/spring26"), ("qr.example.org", "/menu")] {
        let r = s.send(Req::get(target).host(Some(host)));
        assert_eq!(r.status, 503, "{host}{target}");
        assert_eq!(r.header("retry-after"), Some("30"), "{host}{target}");
        assert_eq!(r.header("location"), None, "{host}{target}");
    }
}

#[test]
fn images_previews_and_the_home_redirect_fail_closed_too() {
    let s = unreadable_defaults();
    assert_eq!(s.get("/spring26.svg").status, 503, "images");
    assert_eq!(s.get("/spring26+").status, 503, "previews");
    assert_eq!(s.get("/").status, 503, "the home redirect");
}

#[test]
fn health_touches_no_settings() {
    assert_eq!(unreadable_defaults().get("/_health").status, 200);
}

#[test]
fn admin_writes_fail_closed() {
    let s = unreadable_defaults();
    let write = put_link(&s, "new", "https://example.com/new");
    assert_eq!(write.status, 503, "{}", write.text());
}

#[test]
fn a_scan_with_unknown_settings_is_logged_unavailable_without_an_ip() {
    let s = unreadable_defaults();
    for target in ["/spring26", "/spring26+", "/spring26.svg", "/", "/_health"] {
        s.get(target);
    }
    put_link(&s, "new", "https://example.com/new");
    s.wait_for_completed(6);
    let scans = s.scans();
    assert_eq!(
        scans.len(),
        2,
        "a scan line for every redirect and preview request, and no other"
    );
    for scan in &scans {
        assert_eq!(scan["outcome"], "unavailable");
        assert_eq!(scan["status"], 503);
        assert_eq!(scan["ip"], Value::Null, "ip_mode is unknown, so no IP");
    }
}

#[test]
fn the_service_log_names_the_unreadable_document() {
    let s = unreadable_defaults();
    assert_eq!(s.get("/spring26").status, 503);
    s.wait_for_completed(1);
    assert!(
        s.log()
            .iter()
            .any(|l| l.contains("settings document \"defaults\"")),
        "the service log says why"
    );
}

#[test]
fn an_unreadable_domain_document_fails_closed_for_that_domain_only() {
    let s = Service::start(links().settings_document("go.example.com", "{\"cache_ttl\": "));
    assert_eq!(s.get("/spring26").status, 503);
    let other = s.send(Req::get("/menu").host(Some("qr.example.org")));
    assert_eq!(other.status, 302);
}

#[test]
fn a_malformed_allow_list_entry_is_dropped_and_the_rest_stand() {
    let s = Service::start(
        links()
            .link(
                "go.example.com/phish",
                r#"{"url":"https://evil.com/login"}"#,
            )
            .link(
                "go.example.com/shop",
                r#"{"url":"https://shop.example.com/"}"#,
            )
            .setting(
                "destination_hosts",
                json!([
                    "https://shop.example.com",
                    "example.com",
                    "*.com",
                    "bücher.example",
                    "a;b"
                ]),
            ),
    );
    assert_eq!(s.get("/spring26").status, 302, "example.com stands");
    let phish = s.get("/phish");
    assert_eq!(
        (phish.status, phish.header("location")),
        (503, None),
        "*.com is refused, so a stored record for evil.com is no record"
    );
    assert_eq!(s.get("/shop").status, 503, "a URL is no host pattern");
    let shown = s
        .send(admin("GET", "/_api/v1/settings/go.example.com"))
        .json();
    assert_eq!(
        shown["settings"]["destination_hosts"],
        json!(["example.com", "xn--bcher-kva.example"])
    );
    let dropped: Vec<&str> = shown["problems"]
        .as_array()
        .expect("problems")
        .iter()
        .filter_map(|p| p["field"].as_str())
        .collect();
    assert_eq!(
        dropped,
        [
            "destination_hosts[0]",
            "destination_hosts[2]",
            "destination_hosts[4]"
        ]
    );
    assert!(
        shown["problems"][1]["problem"]
            .as_str()
            .unwrap_or("")
            .contains("public suffix"),
        "{shown}"
    );
}

#[test]
fn a_bad_guard_list_allows_nothing() {
    let s = Service::start(links().setting("domains", json!("go.example.com")));
    assert_eq!(
        s.get("/spring26").status,
        421,
        "domains as a string serves no host"
    );
    let s = Service::start(
        links()
            .setting("destination_hosts", json!({"example.com": true}))
            .setting("ip_mode", json!("full")),
    );
    assert_eq!(s.get("/spring26").status, 503, "no destination is allowed");
    let write = put_link(&s, "new", "https://example.com/new");
    assert_eq!(write.status, 400, "{}", write.text());
    assert_eq!(write.json()["field"], "url");
}

#[test]
fn url_settings_obey_the_allow_list() {
    let s = Service::start(
        links()
            .setting("destination_hosts", json!(["example.com"]))
            .setting("home_url", json!("https://evil.test/"))
            .setting("not_found_url", json!("https://evil.test/404"))
            .domain_setting(
                "qr.example.org",
                "home_url",
                json!("https://example.com/home"),
            ),
    );
    let home = s.get("/");
    assert_eq!((home.status, home.header("location")), (200, None));
    let unknown = s.get("/nope");
    assert_eq!((unknown.status, unknown.header("location")), (404, None));
    let allowed = s.send(Req::get("/").host(Some("qr.example.org")));
    assert_eq!(
        (allowed.status, allowed.header("location")),
        (302, Some("https://example.com/home"))
    );
}

#[test]
fn a_malformed_ip_mode_logs_no_ip() {
    for bad in [json!("sometimes"), json!(3)] {
        let s = Service::start(links().setting("ip_mode", bad.clone()));
        assert_eq!(s.send(Req::get("/spring26").from("127.0.0.3")).status, 302);
        let scans = s.wait_for_scans(1);
        assert_eq!(scans[0]["ip"], Value::Null, "{bad}");
    }
}

#[test]
fn admin_writes_need_an_allow_list_and_nothing_is_stored_without_one() {
    let s = Service::start(links());
    let refused = put_link(&s, "new", "https://example.com/new");
    assert_eq!(refused.status, 409, "{}", refused.text());
    assert_eq!(refused.json()["field"], "destination_hosts");
    assert_eq!(s.get("/new").status, 404);
    let imported = s.send(import(
        r#"{"domain":"go.example.com","slug":"bulk","url":"https://example.com/b"}"#,
    ));
    assert_eq!(imported.status, 200);
    assert!(
        imported.text().contains("destination_hosts"),
        "{}",
        imported.text()
    );
    assert_eq!(s.get("/bulk").status, 404);
    assert_eq!(
        s.get("/spring26").status,
        302,
        "stored records still redirect"
    );

    let s = Service::start(links().setting("destination_hosts", json!(["*"])));
    assert_eq!(put_link(&s, "new", "https://anything.test/").status, 201);
    assert_eq!(
        s.get("/new").header("location"),
        Some("https://anything.test/")
    );
}

#[test]
fn the_settings_route_shows_effective_settings_and_problems() {
    let s = Service::start(
        links()
            .setting("cache_ttl", json!("soon"))
            .setting("destination_hosts", json!(["example.com"]))
            .domain_setting("go.example.com", "negative_ttl", json!(5))
            .domain_setting("go.example.com", "colour", json!("red")),
    );
    let r = s.send(admin("GET", "/_api/v1/settings/GO.example.com"));
    assert_eq!(r.status, 200, "{}", r.text());
    let body = r.json();
    assert_eq!(body["domain"], "go.example.com");
    assert_eq!(body["served"], true);
    assert_eq!(body["writes_allowed"], true);
    assert_eq!(body["settings"]["cache_ttl"], 60);
    assert_eq!(body["settings"]["negative_ttl"], 5);
    assert_eq!(body["settings"]["ip_mode"], "truncate");
    let problems: Vec<(String, String)> = body["problems"]
        .as_array()
        .expect("problems")
        .iter()
        .map(|p| {
            (
                p["document"].as_str().unwrap_or("").into(),
                p["field"].as_str().unwrap_or("").into(),
            )
        })
        .collect();
    assert_eq!(
        problems,
        [
            ("go.example.com".to_owned(), "colour".to_owned()),
            ("defaults".to_owned(), "cache_ttl".to_owned())
        ]
    );
    let unreadable = Service::start(links().settings_document("go.example.com", "[]"));
    let r = unreadable.send(admin("GET", "/_api/v1/settings/go.example.com"));
    assert_eq!(r.status, 503);
    assert!(r.text().contains("go.example.com"), "{}", r.text());
    let unauthorised = unreadable.send(Req::get("/_api/v1/settings/go.example.com"));
    assert_eq!(unauthorised.status, 401);
}

#[test]
fn without_a_settings_store_every_default_applies() {
    let s = Service::start(links().without_settings());
    assert_eq!(s.get("/spring26").status, 302);
    let shown = s
        .send(admin("GET", "/_api/v1/settings/go.example.com"))
        .json();
    assert_eq!(shown["settings"]["cache_ttl"], 60);
    assert_eq!(shown["writes_allowed"], false);
}

#[test]
fn a_scan_reads_its_two_settings_documents_with_one_lookup_each() {
    // Documents over the SDK's 256-byte default buffer would cost a second
    // lookup each; the reader asks for room for the largest value at once.
    let long_list: Vec<String> = (0..40).map(|i| format!("host-{i}.example.com")).collect();
    let mut allowed = long_list.clone();
    allowed.extend(["example.com".to_owned(), "example.org".to_owned()]);
    let s = Service::start(
        links()
            .setting("destination_hosts", json!(allowed))
            .domain_setting("go.example.com", "destination_hosts", json!(allowed))
            .setting("domains", json!(["go.example.com", "qr.example.org"])),
    );
    for _ in 0..2 {
        let r = s.get("/spring26");
        assert_eq!(r.status, 302, "{}", s.log().join("\n"));
    }
    let other = s.send(Req::get("/menu").host(Some("qr.example.org")));
    assert_eq!(other.status, 302);
    let lookups: Vec<u32> = s.request_costs().iter().map(|c| c.config_lookups).collect();
    assert_eq!(
        lookups,
        [2, 2, 2],
        "defaults and the domain's document, once each"
    );
}
