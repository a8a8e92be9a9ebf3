//! docs/dashboard.md and the admin routes the dashboard needs, against the
//! real wasm under the real Viceroy: `/_admin/` exists only with the admin
//! API, on any host, with a strict Content-Security-Policy and caching by
//! content hash; `POST /_api/v1/try/…` answers what a scan would get without
//! redirecting or logging one; `GET /_api/v1/qr/…` draws the short domain's
//! code from the admin host. (The dashboard itself runs in Chromium in the
//! `dashboard` stage of scripts/test.)

use qr_edge_tests::admin::{api, config, names_field, problem, with_json};
use qr_edge_tests::{Req, Service, ServiceConfig};
use serde_json::json;

/// The host a browser sends to a locally served dashboard.
const ADMIN_HOST: &str = "127.0.0.1:7676";
const MENU: &str = r#"{"url":"https://example.com/menu","rules":[{"when":{"country":["DE"]},"url":"https://example.com/de/menu"},{"when":{"os":["ios"]},"url":"https://example.com/ios"}]}"#;

fn service() -> Service {
    Service::start(
        config()
            .setting("destination_hosts", json!(["*"]))
            .setting("domains", json!(["go.example.com"]))
            .link("go.example.com/menu", MENU)
            .link(
                "go.example.com/mail",
                r#"{"url":"https://example.com/m/{piece}","pieces":{"max_length":6}}"#,
            ),
    )
}

fn admin_get(s: &Service, target: &str) -> qr_edge_tests::Reply {
    s.send(Req::get(target).host(Some(ADMIN_HOST)))
}

#[test]
fn the_dashboard_is_404_without_the_admin_token() {
    let s = Service::start(ServiceConfig::new().secret("ip_salt", "pepper"));
    for target in ["/_admin/", "/_admin/app.js", "/_admin"] {
        let r = admin_get(&s, target);
        assert_eq!(r.status, 404, "{target}");
        assert!(r.text().contains("no such path"), "{}", r.text());
    }
}

#[test]
fn the_page_is_served_on_any_host_with_a_strict_policy() {
    let s = service();
    // 127.0.0.1 is not in `domains` (a scan there is 421): the dashboard answers on every host.
    assert_eq!(admin_get(&s, "/menu").status, 421);
    let r = admin_get(&s, "/_admin/");
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("content-type"), Some("text/html; charset=utf-8"));
    assert_eq!(r.header("cache-control"), Some("no-cache"));
    assert_eq!(r.header("referrer-policy"), Some("no-referrer"));
    assert_eq!(r.header("x-content-type-options"), Some("nosniff"));
    let csp = r.header("content-security-policy").expect("a CSP");
    for directive in [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "connect-src 'self'",
        "frame-ancestors 'none'",
    ] {
        assert!(csp.contains(directive), "{directive} in {csp}");
    }
    assert!(!csp.contains("unsafe"), "{csp}");
    let page = r.text();
    assert!(
        !page.contains("<style") && !page.contains(" style=") && !page.contains("<script>"),
        "no inline style or script: the CSP would refuse them"
    );
    assert!(
        !page.contains("http://") && !page.contains("https://"),
        "no outside resource"
    );
    let head = s.send(Req::new("HEAD", "/_admin/").host(Some(ADMIN_HOST)));
    assert_eq!((head.status, head.body.len()), (200, 0));
    let post = s.send(Req::new("POST", "/_admin/").host(Some(ADMIN_HOST)));
    assert_eq!(post.status, 405);
    assert_eq!(post.header("allow"), Some("GET, HEAD"));
    let bare = admin_get(&s, "/_admin");
    assert_eq!(
        (bare.status, bare.header("location")),
        (301, Some("/_admin/"))
    );
    let unknown = admin_get(&s, "/_admin/secrets.json");
    assert_eq!(unknown.status, 404);
    assert!(unknown.header("content-security-policy").is_some());
}

#[test]
fn assets_are_immutable_under_their_content_hash_only() {
    let s = service();
    let page = admin_get(&s, "/_admin/").text();
    for (asset, content_type) in [
        ("app.js", "text/javascript; charset=utf-8"),
        ("app.css", "text/css; charset=utf-8"),
    ] {
        let at = page
            .find(&format!("\"{asset}?v="))
            .unwrap_or_else(|| panic!("the page names {asset} by version"));
        let version = &page[at + asset.len() + 4..at + asset.len() + 4 + 16];
        assert!(version.bytes().all(|b| b.is_ascii_hexdigit()), "{version}");
        let r = admin_get(&s, &format!("/_admin/{asset}?v={version}"));
        assert_eq!(r.status, 200);
        assert_eq!(r.header("content-type"), Some(content_type));
        assert_eq!(
            r.header("cache-control"),
            Some("public, max-age=31536000, immutable")
        );
        assert!(r.header("content-security-policy").is_some());
        let stale = admin_get(&s, &format!("/_admin/{asset}?v=0000000000000000"));
        assert_eq!(stale.header("cache-control"), Some("no-cache"));
        assert_eq!(stale.body, r.body);
    }
}

#[test]
fn try_answers_the_scan_decision_without_redirecting_or_logging() {
    let s = service();
    let tried = |body: &str| {
        let r = s.send(
            with_json("POST", "/_api/v1/try/go.example.com/MENU", body).host(Some(ADMIN_HOST)),
        );
        assert_eq!(r.status, 200, "{}", r.text());
        assert!(r.header("location").is_none(), "no redirect");
        r.json()
    };
    assert_eq!(
        tried(r#"{"country":"DE"}"#),
        json!({"location":"https://example.com/de/menu","outcome":"redirect","rule":"rule:0","status":302})
    );
    assert_eq!(
        tried(r#"{"os":"ios","query":"utm_source=poster"}"#),
        json!({"location":"https://example.com/ios?utm_source=poster","outcome":"redirect","rule":"rule:1","status":302})
    );
    assert_eq!(tried("{}")["rule"], "default");
    // A piece code resolves as a scan resolves it: the base record, `{piece}` filled in.
    assert_eq!(
        s.send(with_json(
            "POST",
            "/_api/v1/try/go.example.com/MAIL-A7",
            "{}"
        ))
        .json(),
        json!({"location":"https://example.com/m/a7","outcome":"redirect","rule":"default","status":302})
    );
    let unknown = s.send(with_json("POST", "/_api/v1/try/go.example.com/nope", "{}"));
    assert_eq!(
        unknown.json(),
        json!({"location":null,"outcome":"not_found","rule":"none","status":404})
    );
    // One real scan afterwards: it is the only scan line.
    assert_eq!(s.get("/menu").status, 302);
    let scans = s.wait_for_scans(1);
    assert_eq!(scans.len(), 1, "the tries wrote no scan line: {scans:?}");
    assert_eq!(scans[0]["slug"], "menu");
}

#[test]
fn try_refuses_bad_facts_naming_the_field() {
    let s = service();
    let path = "/_api/v1/try/go.example.com/menu";
    for (body, field) in [
        (r#"{"country":"Germany"}"#, "country"),
        (r#"{"device":"phone"}"#, "device"),
        (r#"{"time":"tomorrow"}"#, "time"),
        (r#"{"city":"Berlin"}"#, "city"),
        (r#"{"language":7}"#, "language"),
    ] {
        names_field(&s.send(with_json("POST", path, body)), field);
    }
    problem(&s.send(api("POST", path).body("{}")), 415);
    let anonymous = s.send(
        Req::new("POST", path)
            .header("content-type", "application/json")
            .body("{}"),
    );
    problem(&anonymous, 401);
    problem(&s.send(with_json("GET", path, "{}")), 405);
}

#[test]
fn the_admin_image_is_the_short_domains_code_from_any_host() {
    let s = service();
    for (file, query) in [
        ("menu.svg", "ecc=H&margin=2"),
        ("MENU.png", "size=128&fg=1a237e"),
    ] {
        let admin = s.send(
            api("GET", &format!("/_api/v1/qr/go.example.com/{file}?{query}"))
                .host(Some(ADMIN_HOST)),
        );
        assert_eq!(admin.status, 200, "{}", admin.text());
        assert_eq!(admin.header("cache-control"), Some("private, no-cache"));
        let public = s.get(&format!("/{file}?{query}"));
        assert_eq!(public.status, 200);
        assert_eq!(admin.header("content-type"), public.header("content-type"));
        assert!(
            admin.body == public.body,
            "{file}: the admin route draws exactly the code of https://go.example.com/menu"
        );
    }
    problem(
        &s.send(api("GET", "/_api/v1/qr/go.example.com/nope.svg")),
        404,
    );
    names_field(
        &s.send(api("GET", "/_api/v1/qr/go.example.com/menu.svg?ecc=Z")),
        "ecc",
    );
    problem(
        &s.send(Req::get("/_api/v1/qr/go.example.com/menu.svg")),
        401,
    );
}
