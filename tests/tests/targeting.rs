//! docs/links.md targeting and docs/scan-events.md visitor fields, black-box: the real wasm
//! under Viceroy, with Fastly geolocation for several loopback addresses
//! (fixtures/geo.json) and device detection for real user agents
//! (fixtures/devices.json). Every condition type, first match wins, all
//! conditions must hold, the decision order, the sticky split and the bot flag.

use jiff::{SignedDuration, Timestamp};
use qr_edge_tests::agents::{self, *};
use qr_edge_tests::{repo_root, scan, Reply, Req, Service, ServiceConfig};
use serde_json::{json, Value};

// ---- the world ----------------------------------------------------------

/// What fixtures/geo.json says about a loopback address, as the scan event shows it:
/// country, region, city, continent, asn.
fn geo_of(addr: &str) -> Value {
    let (country, region, city, continent, asn) = match addr {
        "127.0.0.1" => ("US", "US-CA", "San Francisco", "NA", 7922),
        "127.0.0.2" => ("DE", "DE-BE", "Berlin", "EU", 3320),
        "127.0.0.3" => ("FR", "FR-IDF", "Paris", "EU", 3215),
        "127.0.0.4" => ("JP", "JP-13", "Tokyo", "AS", 2516),
        "127.0.0.5" => ("BR", "BR-SP", "Sao Paulo", "SA", 28573),
        "127.0.0.6" => ("AT", "AT-9", "Vienna", "EU", 8447),
        _ => {
            return json!({"country": null, "region": null, "city": null, "continent": null, "asn": null})
        }
    };
    json!({"country": country, "region": region, "city": city, "continent": continent, "asn": asn})
}

/// One service with these links under `go.example.com/{slug}`.
fn service(links: &[(&str, Value)]) -> Service {
    let mut config = ServiceConfig::new();
    for (slug, record) in links {
        config = config.link(&format!("go.example.com/{slug}"), &record.to_string());
    }
    Service::start(config)
}

/// `GET /{slug}` from `addr` with this user agent (none for `None`).
fn get(slug: &str, addr: &str, user_agent: Option<&str>) -> Req {
    let req = Req::get(&format!("/{slug}")).from(addr);
    match user_agent {
        Some(ua) => req.header("user-agent", ua),
        None => req,
    }
}

/// Asserts a redirect to `dest`, and that the scan event names `rule` and `dest`.
fn assert_redirect(reply: &Reply, event: &Value, dest: &str, rule: &str) {
    assert_eq!(
        (reply.status, reply.header("location")),
        (302, Some(dest)),
        "event: {event}"
    );
    assert_eq!(event["outcome"], "redirect", "{event}");
    assert_eq!(event["status"], 302, "{event}");
    assert_eq!(event["dest"], dest, "{event}");
    assert_eq!(event["rule"], rule, "{event}");
}

/// Asserts the visitor fields of a scan event exactly: geolocation from the
/// address, then device, os, bot and lang.
fn assert_visitor(
    event: &Value,
    addr: &str,
    device: &str,
    os: &str,
    bot: bool,
    lang: Option<&str>,
) {
    let geo = geo_of(addr);
    for field in ["country", "region", "city", "continent", "asn"] {
        assert_eq!(event[field], geo[field], "{field} for {addr}: {event}");
    }
    assert_eq!(event["device"], device, "device: {event}");
    assert_eq!(event["os"], os, "os: {event}");
    assert_eq!(event["bot"], bot, "bot: {event}");
    assert_eq!(event["lang"], json!(lang), "lang: {event}");
}

/// A record whose rules each send to `https://example.com/{name}`; the default is `/default`.
fn rules(conditions: &[(&str, Value)]) -> Value {
    let rules: Vec<Value> = conditions
        .iter()
        .map(|(name, when)| json!({"when": when, "url": format!("https://example.com/{name}")}))
        .collect();
    json!({"url": "https://example.com/default", "forward_query": false, "rules": rules})
}

fn url(name: &str) -> String {
    format!("https://example.com/{name}")
}

/// RFC 3339 UTC for now plus `seconds` (negative: in the past), written by
/// `jiff`, a date library the service does not use.
fn rfc3339_from_now(seconds: i64) -> String {
    let at = Timestamp::now() + SignedDuration::from_secs(seconds);
    // Whole seconds, as an owner writes a validity window.
    Timestamp::from_second(at.as_second())
        .expect("a time near now")
        .to_string()
}

#[test]
fn the_agents_module_matches_the_device_fixture() {
    let fixture = std::fs::read_to_string(repo_root().join("fixtures/devices.json"))
        .expect("fixtures/devices.json");
    let fixture: serde_json::Map<String, Value> =
        serde_json::from_str(&fixture).expect("a JSON object");
    let mut known: Vec<&str> = fixture.keys().map(String::as_str).collect();
    let mut listed = agents::IN_DEVICE_FIXTURE.to_vec();
    known.sort_unstable();
    listed.sort_unstable();
    assert_eq!(
        listed, known,
        "agents::IN_DEVICE_FIXTURE is the fixture's keys"
    );
    for agent in agents::NOT_IN_DEVICE_FIXTURE {
        assert!(!fixture.contains_key(agent), "{agent} is in the fixture");
    }
}

// ---- one test per condition type ------------------------------------------

#[test]
fn country_condition_uses_fastly_geolocation() {
    let s = service(&[(
        "c",
        rules(&[("dach", json!({"country": ["DE", "at", "CH"]}))]),
    )]);
    for (addr, dest, rule) in [
        ("127.0.0.2", url("dach"), "rule:0"),
        ("127.0.0.6", url("dach"), "rule:0"),
        ("127.0.0.3", url("default"), "default"),
        ("127.0.0.1", url("default"), "default"),
    ] {
        let (reply, event) = scan(&s, get("c", addr, Some(IPHONE)));
        assert_redirect(&reply, &event, &dest, rule);
        assert_visitor(&event, addr, "mobile", "ios", false, None);
    }
}

#[test]
fn continent_condition_uses_fastly_geolocation() {
    let s = service(&[(
        "c",
        rules(&[
            ("asia", json!({"continent": ["AS"]})),
            ("south", json!({"continent": ["sa", "OC"]})),
        ]),
    )]);
    for (addr, dest, rule) in [
        ("127.0.0.4", url("asia"), "rule:0"),
        ("127.0.0.5", url("south"), "rule:1"),
        ("127.0.0.1", url("default"), "default"),
        ("127.0.0.2", url("default"), "default"),
    ] {
        let (reply, event) = scan(&s, get("c", addr, Some(WINDOWS)));
        assert_redirect(&reply, &event, &dest, rule);
        assert_visitor(&event, addr, "desktop", "windows", false, None);
    }
}

#[test]
fn region_condition_matches_cc_rr() {
    let s = service(&[(
        "r",
        rules(&[
            ("california", json!({"region": ["US-CA"]})),
            ("tokyo", json!({"region": ["JP-13"]})),
            ("vienna", json!({"region": ["at-9", "FR-IDF"]})),
        ]),
    )]);
    for (addr, dest, rule) in [
        ("127.0.0.1", url("california"), "rule:0"),
        ("127.0.0.4", url("tokyo"), "rule:1"),
        ("127.0.0.6", url("vienna"), "rule:2"),
        ("127.0.0.3", url("vienna"), "rule:2"),
        ("127.0.0.2", url("default"), "default"),
        ("127.0.0.5", url("default"), "default"),
    ] {
        let (reply, event) = scan(&s, get("r", addr, Some(MAC)));
        assert_redirect(&reply, &event, &dest, rule);
        assert_visitor(&event, addr, "desktop", "macos", false, None);
    }
}

#[test]
fn an_address_without_geolocation_matches_no_geo_condition_and_logs_nulls() {
    let s = service(&[(
        "g",
        rules(&[
            ("country", json!({"country": ["US"]})),
            ("continent", json!({"continent": ["NA"]})),
            ("region", json!({"region": ["US-CA"]})),
        ]),
    )]);
    let (reply, event) = scan(&s, get("g", "127.0.0.9", Some(PIXEL)));
    assert_redirect(&reply, &event, &url("default"), "default");
    assert_visitor(&event, "127.0.0.9", "mobile", "android", false, None);
    let (reply, event) = scan(&s, get("g", "127.0.0.1", Some(PIXEL)));
    assert_redirect(&reply, &event, &url("country"), "rule:0");
}

#[test]
fn os_condition_for_real_user_agents() {
    let s = service(&[(
        "o",
        rules(&[
            ("ios", json!({"os": ["ios"]})),
            ("android", json!({"os": ["ANDROID"]})),
            ("windows", json!({"os": ["windows"]})),
            ("macos", json!({"os": ["macos"]})),
            ("linux", json!({"os": ["linux"]})),
            ("chromeos", json!({"os": ["chromeos"]})),
            ("other", json!({"os": ["other"]})),
        ]),
    )]);
    for (user_agent, os, device, rule) in [
        (IPHONE, "ios", "mobile", "rule:0"),
        (IPAD, "ios", "tablet", "rule:0"),
        (IPAD_DESKTOP_MODE, "ios", "tablet", "rule:0"),
        (PIXEL, "android", "mobile", "rule:1"),
        (GALAXY_TAB, "android", "tablet", "rule:1"),
        (WINDOWS, "windows", "desktop", "rule:2"),
        (MAC, "macos", "desktop", "rule:3"),
        (LINUX, "linux", "desktop", "rule:4"),
        (CHROMEBOOK, "chromeos", "desktop", "rule:5"),
        (WINDOWS_PHONE, "other", "mobile", "rule:6"),
        (GOOGLEBOT, "other", "bot", "rule:6"),
    ] {
        let (reply, event) = scan(&s, get("o", "127.0.0.2", Some(user_agent)));
        assert_redirect(&reply, &event, &url(os), rule);
        assert_visitor(&event, "127.0.0.2", device, os, device == "bot", None);
    }
    // No user agent at all: os "other", device "unknown".
    let (reply, event) = scan(&s, get("o", "127.0.0.2", None));
    assert_redirect(&reply, &event, &url("other"), "rule:6");
    assert_visitor(&event, "127.0.0.2", "unknown", "other", false, None);
}

#[test]
fn device_condition_mobile_tablet_desktop_bot() {
    let s = service(&[(
        "d",
        rules(&[
            ("mobile", json!({"device": ["mobile"]})),
            ("tablet", json!({"device": ["tablet"]})),
            ("desktop", json!({"device": ["desktop"]})),
            ("bot", json!({"device": ["bot"]})),
        ]),
    )]);
    for (user_agent, device, os, rule) in [
        // From Fastly's device detection.
        (IPHONE, "mobile", "ios", "rule:0"),
        (PIXEL, "mobile", "android", "rule:0"),
        (IPAD, "tablet", "ios", "rule:1"),
        (GALAXY_TAB, "tablet", "android", "rule:1"),
        (IPAD_DESKTOP_MODE, "tablet", "ios", "rule:1"),
        (WINDOWS, "desktop", "windows", "rule:2"),
        (MAC, "desktop", "macos", "rule:2"),
        (CHROMEBOOK, "desktop", "chromeos", "rule:2"),
        (LINUX, "desktop", "linux", "rule:2"),
        (GOOGLEBOT, "bot", "other", "rule:3"),
        (FACEBOOK, "bot", "other", "rule:3"),
        (SLACKBOT, "bot", "other", "rule:3"),
        // Fastly has no answer: the user agent decides.
        (CUBOT, "mobile", "android", "rule:0"),
        (WINDOWS_PHONE, "mobile", "other", "rule:0"),
        (UNKNOWN_ANDROID_TABLET, "tablet", "android", "rule:1"),
        (WHATSAPP, "bot", "other", "rule:3"),
        (IMESSAGE, "bot", "macos", "rule:3"),
    ] {
        let (reply, event) = scan(&s, get("d", "127.0.0.3", Some(user_agent)));
        assert_redirect(&reply, &event, &url(device), rule);
        assert_visitor(&event, "127.0.0.3", device, os, device == "bot", None);
    }
    let (reply, event) = scan(&s, get("d", "127.0.0.3", None));
    assert_redirect(&reply, &event, &url("default"), "default");
    assert_visitor(&event, "127.0.0.3", "unknown", "other", false, None);
}

/// Wiring only: the request's `Accept-Language` reaches the language
/// condition and the scan event. How a header is read (q-values, wildcards,
/// junk) is core's, in `preferred_language`'s tests.
#[test]
fn language_condition_uses_the_most_preferred_accept_language_entry() {
    let s = service(&[(
        "l",
        rules(&[
            ("fr", json!({"language": ["fr"]})),
            ("de", json!({"language": ["DE", "at"]})),
        ]),
    )]);
    for (header, dest, rule, lang) in [
        // Not the first entry: the most preferred one.
        (
            Some("en;q=0.5, de-AT;q=0.9, fr;q=0.1"),
            url("de"),
            "rule:1",
            Some("de"),
        ),
        (None, url("default"), "default", None),
    ] {
        let mut req = get("l", "127.0.0.2", Some(PIXEL));
        if let Some(header) = header {
            req = req.header("accept-language", header);
        }
        let (reply, event) = scan(&s, req);
        assert_redirect(&reply, &event, &dest, rule);
        assert_visitor(&event, "127.0.0.2", "mobile", "android", false, lang);
    }
}

#[test]
fn after_and_before_use_the_request_clock() {
    let (hour_ago, in_an_hour) = (rfc3339_from_now(-3_600), rfc3339_from_now(3_600));
    let s = service(&[
        (
            "t",
            rules(&[
                ("not-yet", json!({"after": in_an_hour})),
                ("over", json!({"before": hour_ago})),
                ("running", json!({"after": hour_ago, "before": in_an_hour})),
            ]),
        ),
        ("started", rules(&[("started", json!({"after": hour_ago}))])),
        (
            "ending",
            rules(&[("ending", json!({"before": in_an_hour}))]),
        ),
        ("later", rules(&[("later", json!({"after": in_an_hour}))])),
        ("ended", rules(&[("ended", json!({"before": hour_ago}))])),
    ]);
    for (slug, dest, rule) in [
        ("t", url("running"), "rule:2"),
        ("started", url("started"), "rule:0"),
        ("ending", url("ending"), "rule:0"),
        ("later", url("default"), "default"),
        ("ended", url("default"), "default"),
    ] {
        let (reply, event) = scan(&s, get(slug, "127.0.0.4", Some(IPHONE)));
        assert_redirect(&reply, &event, &dest, rule);
        assert_visitor(&event, "127.0.0.4", "mobile", "ios", false, None);
    }
}

#[test]
fn query_condition_matches_the_scan_parameters() {
    let s = service(&[(
        "q",
        rules(&[
            ("print-de", json!({"query": {"src": "print", "lang": "de"}})),
            ("print", json!({"query": {"src": "print"}})),
        ]),
    )]);
    for (query, dest, rule) in [
        ("?src=print", url("print"), "rule:1"),
        ("?utm_medium=qr&src=print", url("print"), "rule:1"),
        ("?src=pr%69nt", url("print"), "rule:1"),
        ("?lang=de&src=print", url("print-de"), "rule:0"),
        ("?src=web", url("default"), "default"),
        ("?src=Print", url("default"), "default"),
        ("?lang=de", url("default"), "default"),
        ("", url("default"), "default"),
    ] {
        let req = Req::get(&format!("/q{query}"))
            .from("127.0.0.5")
            .header("user-agent", WINDOWS);
        let (reply, event) = scan(&s, req);
        assert_redirect(&reply, &event, &dest, rule);
        assert_visitor(&event, "127.0.0.5", "desktop", "windows", false, None);
    }
}

// ---- rule logic -----------------------------------------------------------

#[test]
fn the_first_rule_that_holds_wins() {
    let s = service(&[(
        "f",
        rules(&[
            ("us", json!({"country": ["US"]})),
            ("ios", json!({"os": ["ios"]})),
            ("europe", json!({"continent": ["EU"]})),
            ("anyone", json!({})),
        ]),
    )]);
    for (addr, user_agent, dest, rule, device, os) in [
        // Rules 1, 2 and 3 all hold: rule 1 decides.
        ("127.0.0.2", IPHONE, "ios", "rule:1", "mobile", "ios"),
        // Every rule holds: rule 0 decides.
        ("127.0.0.1", IPHONE, "us", "rule:0", "mobile", "ios"),
        (
            "127.0.0.2",
            WINDOWS,
            "europe",
            "rule:2",
            "desktop",
            "windows",
        ),
        (
            "127.0.0.4",
            WINDOWS,
            "anyone",
            "rule:3",
            "desktop",
            "windows",
        ),
    ] {
        let (reply, event) = scan(&s, get("f", addr, Some(user_agent)));
        assert_redirect(&reply, &event, &url(dest), rule);
        assert_visitor(&event, addr, device, os, false, None);
    }
}

#[test]
fn every_condition_of_a_rule_must_hold() {
    let when = json!({"country": ["FR"], "device": ["mobile"], "language": ["fr"], "query": {"src": "print"}});
    let s = service(&[("a", rules(&[("fr-mobile", when)]))]);
    let req = |addr: &str, user_agent: &str, lang: &str, query: &str| {
        Req::get(&format!("/a{query}"))
            .from(addr)
            .header("user-agent", user_agent)
            .header("accept-language", lang)
    };
    let (reply, event) = scan(&s, req("127.0.0.3", IPHONE, "fr-FR", "?src=print"));
    assert_redirect(&reply, &event, &url("fr-mobile"), "rule:0");
    assert_visitor(&event, "127.0.0.3", "mobile", "ios", false, Some("fr"));
    for (addr, user_agent, lang, query, device, os, logged_lang) in [
        (
            "127.0.0.2",
            IPHONE,
            "fr-FR",
            "?src=print",
            "mobile",
            "ios",
            "fr",
        ), // country fails
        (
            "127.0.0.3",
            WINDOWS,
            "fr-FR",
            "?src=print",
            "desktop",
            "windows",
            "fr",
        ), // device fails
        (
            "127.0.0.3",
            IPHONE,
            "en-GB",
            "?src=print",
            "mobile",
            "ios",
            "en",
        ), // language fails
        (
            "127.0.0.3",
            IPHONE,
            "fr-FR",
            "?src=web",
            "mobile",
            "ios",
            "fr",
        ), // query fails
    ] {
        let (reply, event) = scan(&s, req(addr, user_agent, lang, query));
        assert_redirect(&reply, &event, &url("default"), "default");
        assert_visitor(&event, addr, device, os, false, Some(logged_lang));
    }
}

#[test]
fn an_empty_when_always_holds() {
    let split = json!([{"url": url("a"), "weight": 1}, {"url": url("b"), "weight": 1}]);
    let s = service(&[
        (
            "e",
            json!({"url": url("default"), "rules": [{"when": {}, "url": url("everyone")}], "split": split}),
        ),
        (
            "n",
            json!({"url": url("default"), "rules": [{"url": url("everyone")}]}),
        ),
    ]);
    for (addr, user_agent) in [
        ("127.0.0.1", IPHONE),
        ("127.0.0.4", GOOGLEBOT),
        ("127.0.0.9", ""),
    ] {
        for slug in ["e", "n"] {
            let (reply, event) = scan(&s, get(slug, addr, Some(user_agent)));
            assert_redirect(&reply, &event, &url("everyone"), "rule:0");
        }
    }
}

// ---- decision order: disabled → window → rules → split → url ---------------

#[test]
fn disabled_beats_the_window_rules_and_split() {
    let s = service(&[(
        "off",
        json!({
            "url": url("default"), "status": "disabled",
            "valid_until": "2020-01-01T00:00:00Z", "expired_url": url("ended"),
            "rules": [{"url": url("everyone")}],
            "split": [{"url": url("a"), "weight": 1}],
        }),
    )]);
    let (reply, event) = scan(&s, get("off", "127.0.0.2", Some(IPHONE)));
    assert_eq!(reply.status, 410);
    assert!(reply.header("location").is_none());
    assert_eq!(
        (
            &event["outcome"],
            &event["status"],
            &event["dest"],
            &event["rule"]
        ),
        (
            &json!("disabled"),
            &json!(410),
            &Value::Null,
            &json!("none")
        )
    );
    assert_visitor(&event, "127.0.0.2", "mobile", "ios", false, None);
}

#[test]
fn the_validity_window_beats_rules_and_split() {
    let targeted = |window: Value| {
        let mut record = json!({
            "url": url("default"),
            "rules": [{"url": url("everyone")}],
            "split": [{"url": url("a"), "weight": 1}],
        });
        record
            .as_object_mut()
            .unwrap()
            .extend(window.as_object().unwrap().clone());
        record
    };
    let s = service(&[
        (
            "ended",
            targeted(json!({"valid_until": rfc3339_from_now(-60), "expired_url": url("ended")})),
        ),
        (
            "soon",
            targeted(json!({"valid_from": rfc3339_from_now(3_600)})),
        ),
        (
            "open",
            targeted(
                json!({"valid_from": rfc3339_from_now(-60), "valid_until": rfc3339_from_now(3_600)}),
            ),
        ),
    ]);
    let (reply, event) = scan(&s, get("ended", "127.0.0.6", Some(PIXEL)));
    assert_eq!(
        (reply.status, reply.header("location")),
        (302, Some(url("ended").as_str()))
    );
    assert_eq!(
        (&event["outcome"], &event["dest"], &event["rule"]),
        (&json!("expired"), &json!(url("ended")), &json!("expired"))
    );
    assert_visitor(&event, "127.0.0.6", "mobile", "android", false, None);
    let (reply, event) = scan(&s, get("soon", "127.0.0.6", Some(PIXEL)));
    assert_eq!((reply.status, reply.header("location")), (410, None));
    assert_eq!(
        (&event["outcome"], &event["status"], &event["rule"]),
        (&json!("expired"), &json!(410), &json!("expired"))
    );
    let (reply, event) = scan(&s, get("open", "127.0.0.6", Some(PIXEL)));
    assert_redirect(&reply, &event, &url("everyone"), "rule:0");
}

/// `ab`: a rule for Germany, a 50/50 split and a default.
fn rule_split_and_default() -> Service {
    service(&[(
        "ab",
        json!({
            "url": url("default"), "forward_query": false,
            "rules": [{"when": {"country": ["DE"]}, "url": url("de")}],
            "split": [{"url": url("a"), "weight": 1}, {"url": url("b"), "weight": 1}],
        }),
    )])
}

#[test]
fn a_rule_that_holds_beats_the_split() {
    let s = rule_split_and_default();
    let (reply, event) = scan(&s, get("ab", "127.0.0.2", Some(IPHONE)));
    assert_redirect(&reply, &event, &url("de"), "rule:0");
}

#[test]
fn when_no_rule_holds_the_split_beats_the_default() {
    let s = rule_split_and_default();
    for addr in ["127.0.0.1", "127.0.0.3", "127.0.0.4", "127.0.0.5"] {
        let (reply, event) = scan(&s, get("ab", addr, Some(IPHONE)));
        let rule = event["rule"].as_str().unwrap_or_default().to_owned();
        let dest = match rule.as_str() {
            "split:0" => url("a"),
            "split:1" => url("b"),
            other => panic!("{addr}: expected a split arm, got rule {other:?}: {event}"),
        };
        assert_redirect(&reply, &event, &dest, &rule);
        assert_visitor(&event, addr, "mobile", "ios", false, None);
    }
}

#[test]
fn with_no_split_a_scan_no_rule_holds_for_goes_to_the_default() {
    let s = service(&[(
        "plain",
        json!({"url": url("default"), "rules": [{"when": {"country": ["DE"]}, "url": url("de")}]}),
    )]);
    let (reply, event) = scan(&s, get("plain", "127.0.0.3", Some(IPHONE)));
    assert_redirect(&reply, &event, &url("default"), "default");
}

// ---- the sticky split ------------------------------------------------------

/// A split record with one arm per name and these weights.
fn split(arms: &[(&str, u32)]) -> Value {
    let arms: Vec<Value> = arms
        .iter()
        .map(|(name, weight)| json!({"url": url(name), "weight": weight}))
        .collect();
    json!({"url": url("default"), "forward_query": false, "split": arms})
}

/// The arm a scan landed on, checked against the `Location` sent.
fn arm(reply: &Reply, event: &Value, names: &[&str]) -> usize {
    let rule = event["rule"].as_str().unwrap_or_default();
    let index: usize = rule
        .strip_prefix("split:")
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("not a split: {event}"));
    assert_redirect(reply, event, &url(names[index]), rule);
    index
}

/// Visitors: several addresses, some with geolocation, some without, each with several agents.
fn visitors() -> Vec<(String, &'static str)> {
    let addresses = [
        "127.0.0.1",
        "127.0.0.2",
        "127.0.0.3",
        "127.0.0.4",
        "127.0.0.5",
        "127.0.0.6",
        "127.0.1.7",
        "127.0.1.8",
    ];
    let agents = [IPHONE, PIXEL, WINDOWS, MAC];
    addresses
        .iter()
        .flat_map(|a| agents.iter().map(move |u| (a.to_string(), *u)))
        .collect()
}

#[test]
fn the_split_is_sticky_per_client_ip_user_agent_and_slug() {
    let names = ["a", "b"];
    let s = service(&[("ab", split(&[("a", 50), ("b", 50)]))]);
    for (addr, user_agent) in visitors().into_iter().step_by(3) {
        let (reply, event) = scan(&s, get("ab", &addr, Some(user_agent)));
        let first = arm(&reply, &event, &names);
        // The same visitor again, with the slug in upper case, a query and another language.
        for target in ["/ab", "/AB", "/ab?utm_source=poster", "/Ab/"] {
            let req = Req::get(target)
                .from(&addr)
                .header("user-agent", user_agent)
                .header("accept-language", "ja");
            let (reply, event) = scan(&s, req);
            assert_eq!(
                arm(&reply, &event, &names),
                first,
                "{addr} {user_agent} {target}: the split must be sticky"
            );
        }
    }
}

#[test]
fn different_visitors_spread_across_the_arms() {
    let names = ["a", "b", "c"];
    let s = service(&[("abc", split(&[("a", 1), ("b", 1), ("c", 1)]))]);
    let mut counts = [0usize; 3];
    let all = visitors();
    for (addr, user_agent) in &all {
        let (reply, event) = scan(&s, get("abc", addr, Some(user_agent)));
        counts[arm(&reply, &event, &names)] += 1;
    }
    // 32 visitors, three equal arms: each arm gets some share, none gets nearly all.
    for (i, &count) in counts.iter().enumerate() {
        assert!(
            (3..=20).contains(&count),
            "arm {i} got {count} of {}: {counts:?}",
            all.len()
        );
    }
}

#[test]
fn a_100_0_split_always_takes_the_first_arm() {
    let names = ["a", "b"];
    let s = service(&[
        ("only-a", split(&[("a", 100), ("b", 0)])),
        ("only-b", split(&[("a", 0), ("b", 7)])),
    ]);
    for (addr, user_agent) in visitors().into_iter().step_by(2) {
        let (reply, event) = scan(&s, get("only-a", &addr, Some(user_agent)));
        assert_eq!(arm(&reply, &event, &names), 0, "{addr} {user_agent}");
    }
    for (addr, user_agent) in visitors().into_iter().step_by(5) {
        let (reply, event) = scan(&s, get("only-b", &addr, Some(user_agent)));
        assert_eq!(arm(&reply, &event, &names), 1, "{addr} {user_agent}");
    }
}

// ---- bots -------------------------------------------------------------------

#[test]
fn crawlers_and_link_previews_are_bots_and_still_redirected() {
    let s = service(&[("b", json!({"url": url("spring")}))]);
    for (user_agent, os) in [
        (GOOGLEBOT, "other"),
        (FACEBOOK, "other"),
        (SLACKBOT, "other"),
        (WHATSAPP, "other"),
        (IMESSAGE, "macos"),
    ] {
        let (reply, event) = scan(&s, get("b", "127.0.0.1", Some(user_agent)));
        assert_redirect(&reply, &event, &url("spring"), "default");
        assert_visitor(&event, "127.0.0.1", "bot", os, true, None);
        assert_eq!(event["ua"], user_agent);
    }
}

#[test]
fn head_requests_are_bots_and_still_redirected() {
    let s = service(&[("b", json!({"url": url("spring")}))]);
    let req = Req::new("HEAD", "/b")
        .from("127.0.0.2")
        .header("user-agent", IPHONE)
        .header("accept-language", "de-DE");
    let (reply, event) = scan(&s, req);
    assert_redirect(&reply, &event, &url("spring"), "default");
    assert!(reply.body.is_empty());
    assert_eq!(event["method"], "HEAD");
    // A HEAD from an iPhone is still an iPhone; it just is no person reading a page.
    assert_visitor(&event, "127.0.0.2", "mobile", "ios", true, Some("de"));
}

#[test]
fn people_are_not_bots() {
    let s = service(&[("b", json!({"url": url("spring")}))]);
    for (user_agent, device, os) in [
        (IPHONE, "mobile", "ios"),
        (WINDOWS, "desktop", "windows"),
        (CUBOT, "mobile", "android"),
    ] {
        let (reply, event) = scan(&s, get("b", "127.0.0.5", Some(user_agent)));
        assert_redirect(&reply, &event, &url("spring"), "default");
        assert_eq!(event["method"], "GET");
        assert_visitor(&event, "127.0.0.5", device, os, false, None);
    }
}
