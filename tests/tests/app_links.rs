//! docs/routes.md, app-link files: per domain, `/.well-known/apple-app-site-association`
//! and `/.well-known/assetlinks.json` serve the domain's settings
//! `apple_app_site_association` and `assetlinks` as JSON, 200 and never a
//! redirect (Apple and Google follow none there), 404 when unset, 503 with
//! `Retry-After` when the domain's settings cannot be read, 405 for other
//! methods; against the real wasm under the real Viceroy.

use qr_edge_tests::{Reply, Req, Service, ServiceConfig};
use serde_json::{json, Value};

const AASA: &str = "/.well-known/apple-app-site-association";
const ASSETLINKS: &str = "/.well-known/assetlinks.json";

fn aasa() -> Value {
    json!({"applinks": {"details": [{"appIDs": ["ABCDE12345.com.example.app"], "components": [{"/": "/app/*", "comment": "Grüße"}]}]}})
}

fn assetlinks() -> Value {
    json!([{"relation": ["delegate_permission/common.handle_all_urls"], "target": {"namespace": "android_app", "package_name": "com.example.app", "sha256_cert_fingerprints": ["14:6D:E9"]}}])
}

/// `go.example.com` has both files (the Android one from `defaults`), and
/// every domain has a `home_url` and a `not_found_url`, which must never turn
/// an app-link path into a redirect.
fn config() -> ServiceConfig {
    ServiceConfig::new()
        .link(
            "go.example.com/spring26",
            r#"{"url":"https://example.com/spring"}"#,
        )
        .setting("destination_hosts", json!(["example.com"]))
        .setting("home_url", json!("https://example.com/"))
        .setting("not_found_url", json!("https://example.com/missing"))
        .setting("assetlinks", assetlinks())
        .domain_setting("go.example.com", "apple_app_site_association", aasa())
        // Per domain: this one overrides the defaults' file with a value of the wrong type.
        .domain_setting("bad.example.net", "assetlinks", json!({"not": "an array"}))
}

fn get(s: &Service, host: &str, path: &str) -> Reply {
    s.send(Req::get(path).host(Some(host)))
}

fn assert_served(r: &Reply, expected: &Value, what: &str) {
    assert_eq!(r.status, 200, "{what}: {}", r.text());
    assert_eq!(r.header("location"), None, "{what}");
    assert_eq!(r.header("content-type"), Some("application/json"), "{what}");
    assert_eq!(
        r.header("cache-control"),
        Some("public, max-age=3600"),
        "{what}"
    );
    assert_eq!(&r.json(), expected, "{what}");
}

fn assert_unset(r: &Reply, what: &str) {
    assert_eq!(
        (r.status, r.header("location")),
        (404, None),
        "{what}: {}",
        r.text()
    );
    assert_eq!(
        r.header("cache-control"),
        Some("private, max-age=0"),
        "{what}: a 404 is not kept, so setting the file takes effect at once"
    );
}

#[test]
fn each_domain_serves_its_files_from_its_settings() {
    let s = Service::start(config());
    assert_served(&get(&s, "go.example.com", AASA), &aasa(), "go AASA");
    assert_served(
        &get(&s, "go.example.com", ASSETLINKS),
        &assetlinks(),
        "go assetlinks (from defaults)",
    );
    assert_served(
        &get(&s, "qr.example.org", ASSETLINKS),
        &assetlinks(),
        "another domain's assetlinks (from defaults)",
    );
    assert_unset(
        &get(&s, "qr.example.org", AASA),
        "AASA set for another domain only",
    );
    assert_unset(
        &get(&s, "bad.example.net", ASSETLINKS),
        "assetlinks of the wrong type (reported, not served)",
    );
    // The slug routes are untouched.
    assert_eq!(
        get(&s, "go.example.com", "/spring26").header("location"),
        Some("https://example.com/spring")
    );
    s.assert_within_limits();
}

#[test]
fn head_answers_like_get_without_a_body() {
    let s = Service::start(config());
    let r = s.send(Req::new("HEAD", AASA));
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert!(r.body.is_empty(), "{}", r.text());
    assert_eq!(
        s.send(Req::new("HEAD", AASA).host(Some("qr.example.org")))
            .status,
        404
    );
}

#[test]
fn unset_files_are_404_without_any_setting() {
    let s = Service::start(ServiceConfig::new().without_settings());
    for path in [AASA, ASSETLINKS] {
        assert_unset(&s.get(path), path);
    }
}

#[test]
fn other_spellings_are_no_app_link_files() {
    let s = Service::start(config());
    for path in [
        "/.well-known/ASSETLINKS.JSON",
        "/.well-known/assetlinks.json/",
        "/.well-known/apple-app-site-association.json",
    ] {
        let r = s.get(path);
        assert_eq!((r.status, r.header("location")), (404, None), "{path}");
    }
}

#[test]
fn unknown_settings_fail_closed() {
    let s = Service::start(config().settings_document("go.example.com", "[]"));
    for path in [AASA, ASSETLINKS] {
        let r = s.get(path);
        assert_eq!(r.status, 503, "{path}: {}", r.text());
        assert_eq!(r.header("retry-after"), Some("30"), "{path}");
        assert_eq!(r.header("location"), None, "{path}");
    }
    // Another domain's settings are still known.
    assert_served(
        &get(&s, "qr.example.org", ASSETLINKS),
        &assetlinks(),
        "qr assetlinks",
    );
}

#[test]
fn other_methods_are_405_and_options_204() {
    let s = Service::start(config());
    for path in [AASA, ASSETLINKS] {
        let r = s.send(Req::new("POST", path).body("{}"));
        assert_eq!(r.status, 405, "{path}");
        assert_eq!(r.header("allow"), Some("GET, HEAD"), "{path}");
        let r = s.send(Req::new("OPTIONS", path));
        assert_eq!(r.status, 204, "{path}");
        assert_eq!(r.header("allow"), Some("GET, HEAD"), "{path}");
    }
}

#[test]
fn hosts_outside_domains_are_misdirected() {
    let s = Service::start(config().setting("domains", json!(["go.example.com"])));
    assert_served(&get(&s, "go.example.com", AASA), &aasa(), "served host");
    assert_eq!(get(&s, "qr.example.org", AASA).status, 421);
}
