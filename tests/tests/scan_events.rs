//! docs/scan-events.md: one scan event per `/{slug}` and `/{slug}+` request, with
//! every field, written after the response; the `visitor` hash of schema v2.

use jiff::{SignedDuration, Timestamp};
use qr_edge_tests::{agents, scan, Reply, Req, Service, ServiceConfig};
use serde_json::{json, Value};

const FIELDS: [&str; 30] = [
    "v",
    "ts",
    "id",
    "domain",
    "slug",
    "outcome",
    "status",
    "dest",
    "rule",
    "cache",
    "source",
    "method",
    "country",
    "region",
    "city",
    "continent",
    "asn",
    "device",
    "os",
    "bot",
    "ip",
    "ua",
    "referer",
    "lang",
    "pop",
    "elapsed_us",
    "piece",
    "class",
    "class_reason",
    "visitor",
];

fn links() -> ServiceConfig {
    ServiceConfig::new()
        .link("go.example.com/spring26", r#"{"url":"https://example.com/spring"}"#)
        .link("go.example.com/off", r#"{"url":"https://example.com/off","status":"disabled"}"#)
        .link("go.example.com/ended", r#"{"url":"https://example.com/old","valid_until":"2026-01-01T00:00:00Z"}"#)
        .link(
            "go.example.com/later",
            r#"{"url":"https://example.com/x","valid_from":"2099-01-01T00:00:00Z","expired_url":"https://example.com/soon"}"#,
        )
        .link("go.example.com/broken", r#"{"url":"javascript:alert(1)"}"#)
}

/// A fresh service under `config`, sent `req`: its reply and its one scan event.
fn scan_of(config: ServiceConfig, req: Req) -> (Reply, Value) {
    scan(&Service::start(config), req)
}

#[test]
fn a_redirect_logs_every_field_in_order() {
    let s = Service::start(links());
    let before = Timestamp::now();
    let (reply, scan) = scan(
        &s,
        Req::get("/SPRING26?utm_source=poster")
            .from("127.0.0.2")
            .header("user-agent", agents::IPHONE)
            .header("accept-language", "de-DE,de;q=0.9,en;q=0.5")
            .header("referer", "https://news.example/"),
    );
    assert_eq!(reply.status, 302);
    let keys: Vec<&str> = scan
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys, FIELDS, "field names and order");

    let ts = scan["ts"].as_str().unwrap();
    assert_eq!(ts.len(), "2026-03-01T00:00:00.000Z".len(), "{ts}");
    assert!(ts.ends_with('Z') && ts.as_bytes()[19] == b'.', "{ts}");
    // Read by jiff, a date library the service does not use.
    let logged: Timestamp = ts.parse().unwrap_or_else(|e| panic!("{ts}: {e}"));
    let (early, late) = (
        before - SignedDuration::from_secs(1),
        Timestamp::now() + SignedDuration::from_secs(1),
    );
    assert!(early <= logged && logged <= late, "{ts} is now");
    assert!(!scan["id"].as_str().unwrap().is_empty());
    assert!(scan["elapsed_us"].as_u64().unwrap() > 0);

    let mut fixed = scan.clone();
    for volatile in ["ts", "id", "elapsed_us"] {
        fixed.as_object_mut().unwrap().remove(volatile);
    }
    assert_eq!(
        fixed,
        json!({
            "v": 2, "domain": "go.example.com", "slug": "spring26", "outcome": "redirect", "status": 302,
            "dest": "https://example.com/spring?utm_source=poster", "rule": "default", "cache": "miss", "source": "kv",
            "method": "GET", "country": "DE", "region": "DE-BE", "city": "Berlin", "continent": "EU", "asn": 3320,
            "device": "mobile", "os": "ios", "bot": false, "ip": "127.0.0.0", "ua": agents::IPHONE,
            "referer": "https://news.example/", "lang": "de", "pop": "XXX",
            "piece": null, "class": "human", "class_reason": null, "visitor": null
        })
    );
}

#[test]
fn ids_are_unique_and_the_second_scan_is_a_cache_hit() {
    let s = Service::start(links());
    s.get("/spring26");
    s.get("/spring26");
    let scans = s.wait_for_scans(2);
    assert_ne!(scans[0]["id"], scans[1]["id"]);
    assert_eq!(
        (scans[1]["cache"].as_str(), scans[1]["source"].as_str()),
        (Some("hit"), Some("cache"))
    );
}

/// The `ip` field of the scan event of one scan from 127.0.0.3 under `config`.
fn logged_ip(config: ServiceConfig) -> Value {
    scan_of(config, Req::get("/spring26").from("127.0.0.3")).1["ip"].clone()
}

#[test]
fn ip_mode_truncate_is_the_default() {
    assert_eq!(logged_ip(links()), json!("127.0.0.0"));
}

#[test]
fn ip_mode_full_logs_the_address() {
    assert_eq!(
        logged_ip(links().setting("ip_mode", json!("full"))),
        json!("127.0.0.3")
    );
}

#[test]
fn ip_mode_none_of_the_domain_logs_no_address() {
    assert_eq!(
        logged_ip(links().domain_setting("go.example.com", "ip_mode", json!("none"))),
        json!(null)
    );
}

#[test]
fn ip_mode_hash_without_ip_salt_logs_no_address() {
    assert_eq!(
        logged_ip(links().setting("ip_mode", json!("hash"))),
        json!(null)
    );
}

#[test]
fn ip_mode_hash_logs_a_hash_keyed_by_ip_salt() {
    let hashed = |salt: &str| {
        logged_ip(
            links()
                .setting("ip_mode", json!("hash"))
                .secret("ip_salt", salt),
        )
    };
    let pepper = hashed("pepper");
    let pepper = pepper.as_str().unwrap();
    assert_eq!(pepper.len(), 32);
    assert!(pepper.bytes().all(|b| b.is_ascii_hexdigit()));
    assert_ne!(
        Some(pepper),
        hashed("salt").as_str(),
        "the hash is keyed by ip_salt"
    );
}

/// The `visitor` of one scan from `from` with user agent `ua`: the event's
/// UTC day (the hash rotates daily) and the value.
fn visitor_of(s: &Service, from: &str, ua: &str) -> (String, Value) {
    let (_, scan) = scan(s, Req::get("/spring26").from(from).header("user-agent", ua));
    let day = scan["ts"].as_str().unwrap()[..10].to_owned();
    (day, scan["visitor"].clone())
}

/// A `visitor` value as written: 32 hex digits that neither are nor contain
/// the client address (as text or as the hex of its octets) nor equal `ip`.
fn assert_opaque(visitor: &Value, address: &str, octets_hex: &str, ip: &Value) {
    let text = visitor
        .as_str()
        .unwrap_or_else(|| panic!("visitor {visitor}"));
    assert_eq!(text.len(), 32, "{text}");
    assert!(text.bytes().all(|b| b.is_ascii_hexdigit()), "{text}");
    assert!(
        !text.contains(address) && !text.contains(octets_hex),
        "{text} holds {address}"
    );
    assert_ne!(visitor, ip, "visitor is not the ip column");
}

#[test]
fn visitor_is_written_in_every_ip_mode_with_ip_salt() {
    let mut seen = Vec::new();
    for mode in ["truncate", "hash", "full", "none"] {
        let s = Service::start(
            links()
                .setting("ip_mode", json!(mode))
                .secret("ip_salt", "pepper"),
        );
        let (_, scan) = scan(
            &s,
            Req::get("/spring26")
                .from("127.0.0.2")
                .header("user-agent", agents::IPHONE),
        );
        assert_opaque(&scan["visitor"], "127.0.0.2", "7f000002", &scan["ip"]);
        if mode == "none" {
            assert_eq!(
                scan["ip"],
                Value::Null,
                "ip_mode none still logs no address"
            );
        }
        seen.push((
            scan["ts"].as_str().unwrap()[..10].to_owned(),
            scan["visitor"].clone(),
        ));
    }
    // `visitor` does not depend on ip_mode: one client, one day, one value.
    for pair in seen.windows(2) {
        if pair[0].0 == pair[1].0 {
            assert_eq!(pair[0].1, pair[1].1, "same client and day across ip_modes");
        }
    }
}

#[test]
fn visitor_is_null_without_ip_salt() {
    for config in [
        links().setting("ip_mode", json!("none")),
        // A secret store without `ip_salt`.
        links()
            .setting("ip_mode", json!("full"))
            .secret("admin_token", "t0ken"),
    ] {
        let (_, scan) = scan_of(
            config,
            Req::get("/spring26")
                .from("127.0.0.2")
                .header("user-agent", agents::IPHONE),
        );
        assert_eq!(scan["visitor"], Value::Null);
    }
}

#[test]
fn visitor_is_one_per_client_and_day() {
    let s = Service::start(links().secret("ip_salt", "pepper"));
    let first = visitor_of(&s, "127.0.0.2", agents::IPHONE);
    let again = visitor_of(&s, "127.0.0.2", agents::IPHONE);
    let other_address = visitor_of(&s, "127.0.0.3", agents::IPHONE);
    let other_agent = visitor_of(&s, "127.0.0.2", agents::PIXEL);
    if first.0 == again.0 {
        assert_eq!(first.1, again.1, "two scans of one client on one day");
    }
    assert_ne!(first.1, other_address.1, "another client address");
    assert_ne!(first.1, other_agent.1, "another user agent");
    assert_opaque(&other_address.1, "127.0.0.3", "7f000003", &Value::Null);

    // Keyed: another ip_salt gives another value for the same client.
    let peppered = Service::start(links().secret("ip_salt", "other pepper"));
    let salted = visitor_of(&peppered, "127.0.0.2", agents::IPHONE);
    assert_ne!(first.1, salted.1, "the hash is keyed by ip_salt");
}

#[test]
fn outcomes_statuses_and_rules() {
    let s = Service::start(links().setting("fallback_url", json!("https://example.com/sorry")));
    let cases = [
        ("/nope", 404, "not_found", None, "none"),
        ("/off", 410, "disabled", None, "none"),
        ("/ended", 410, "expired", None, "expired"),
        (
            "/later",
            302,
            "expired",
            Some("https://example.com/soon"),
            "expired",
        ),
        (
            "/broken",
            302,
            "fallback",
            Some("https://example.com/sorry"),
            "none",
        ),
        ("/spring26+", 200, "preview", None, "default"),
    ];
    for (target, status, ..) in &cases {
        assert_eq!(s.get(target).status, *status, "{target}");
    }
    let scans = s.wait_for_scans(cases.len());
    assert_eq!(scans.len(), cases.len());
    for ((target, status, outcome, dest, rule), scan) in cases.iter().zip(&scans) {
        assert_eq!(scan["status"], json!(status), "{target}");
        assert_eq!(scan["outcome"], json!(outcome), "{target}");
        assert_eq!(scan["dest"], json!(dest), "{target}");
        assert_eq!(scan["rule"], json!(rule), "{target}");
    }
}

#[test]
fn unavailable_without_fallback_is_503_and_logged() {
    let (reply, scan) = scan_of(links(), Req::get("/broken"));
    assert_eq!(reply.status, 503);
    assert_eq!(reply.header("retry-after"), Some("30"));
    assert_eq!(
        (scan["outcome"].as_str(), scan["status"].as_u64()),
        (Some("unavailable"), Some(503))
    );
    assert_eq!(
        (scan["cache"].as_str(), scan["source"].as_str()),
        (Some("miss"), Some("none"))
    );
}

#[test]
fn head_requests_are_logged_as_bots() {
    let (reply, scan) = scan_of(
        links(),
        Req::new("HEAD", "/spring26").header("user-agent", agents::IPHONE),
    );
    assert_eq!(reply.status, 302);
    assert_eq!(
        (scan["method"].as_str(), scan["bot"].as_bool()),
        (Some("HEAD"), Some(true))
    );
}

#[test]
fn missing_headers_are_null_and_unknown_devices_unknown() {
    let (_, scan) = scan_of(links(), Req::get("/spring26").from("127.0.0.9"));
    for field in [
        "country",
        "region",
        "city",
        "continent",
        "asn",
        "ua",
        "referer",
        "lang",
    ] {
        assert_eq!(scan[field], Value::Null, "{field}");
    }
    assert_eq!(
        (scan["device"].as_str(), scan["os"].as_str()),
        (Some("unknown"), Some("other"))
    );
}

#[test]
fn header_values_cannot_break_the_line() {
    let hostile = "evil\" , \"injected\": 1, \\u0000 ä";
    let (_, scan) = scan_of(links(), Req::get("/spring26").header("user-agent", hostile));
    assert_eq!(scan["ua"], json!(hostile));
    assert!(scan.get("injected").is_none());
}

#[test]
fn long_header_values_are_capped() {
    let (_, scan) = scan_of(
        links(),
        Req::get("/spring26").header("referer", &"r".repeat(3000)),
    );
    assert_eq!(
        scan["referer"].as_str().unwrap().len(),
        1024,
        "long headers are capped"
    );
}

/// The edge hands the classifier the request's own signals (docs/scan-events.md,
/// "Who scanned"); which user agents are which is core's, tested on its corpus.
#[test]
fn each_scan_says_who_scanned_and_why() {
    let s = Service::start(links());
    let browser = Req::get("/spring26").header("user-agent", agents::IPHONE);
    let cases = [
        (browser.clone(), "human", None),
        (
            browser.clone().header("sec-purpose", "prefetch"),
            "prefetch",
            Some("header:sec-purpose=prefetch"),
        ),
        (
            browser.clone().header("purpose", "prefetch"),
            "prefetch",
            Some("header:purpose=prefetch"),
        ),
        (
            Req::new("HEAD", "/spring26").header("user-agent", agents::IPHONE),
            "bot",
            Some("method:HEAD"),
        ),
        (
            Req::get("/spring26").header(
                "user-agent",
                "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
            ),
            "preview",
            Some("ua:facebookexternalhit"),
        ),
    ];
    for (req, class, reason) in cases {
        let (reply, scan) = scan(&s, req);
        // Classification never changes where a scan goes.
        assert_eq!(
            (reply.status, reply.header("location")),
            (302, Some("https://example.com/spring"))
        );
        assert_eq!(
            (scan["class"].as_str(), scan["class_reason"].as_str()),
            (Some(class), reason),
            "{scan}"
        );
    }
}
