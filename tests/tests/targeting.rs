//! docs/links.md targeting and docs/scan-events.md visitor fields, black-box: the real wasm
//! under Viceroy, with Fastly geolocation for several loopback addresses
//! (fixtures/geo.json) and device detection for real user agents
//! (fixtures/devices.json). Every condition type, first match wins, all
//! conditions must hold, the decision order, the sticky split and the bot flag.

use qr_edge_tests::{ua, Reply, Req, Service, ServiceConfig};
use serde_json::{json, Value};
use std::time::{SystemTime, UNIX_EPOCH};

// ---- the world ----------------------------------------------------------

/// User agents of fixtures/devices.json beyond the harness's own list.
mod agent {
    /// Samsung Galaxy Tab, Chrome (Fastly: tablet).
    pub const GALAXY_TAB: &str = "Mozilla/5.0 (Linux; Android 13; SM-X710) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36";
    /// iPadOS Safari in desktop mode: a Mac's user agent (Fastly: tablet).
    pub const IPAD_DESKTOP_MODE: &str = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15";
    /// Chromebook.
    pub const CHROMEBOOK: &str = "Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36";
    /// Linux desktop, Firefox.
    pub const LINUX: &str =
        "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0";
    /// Slack's link unfurler (Fastly: bot).
    pub const SLACKBOT: &str = "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)";

    // Not in fixtures/devices.json: Fastly has no answer, the user agent decides.
    /// WhatsApp's link-preview fetcher.
    pub const WHATSAPP: &str = "WhatsApp/2.23.20.0 A";
    /// iMessage's link preview.
    pub const IMESSAGE: &str = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_11_1) AppleWebKit/601.2.4 (KHTML, like Gecko) Version/9.0.1 Safari/601.2.4 facebookexternalhit/1.1 Facebot Twitterbot/1.0";
    /// A Cubot phone: a name ending in "bot" that is no crawler.
    pub const CUBOT: &str = "Mozilla/5.0 (Linux; Android 10; CUBOT_X19) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Mobile Safari/537.36";
    /// Windows 10 Mobile, which also claims Android.
    pub const WINDOWS_PHONE: &str = "Mozilla/5.0 (Windows Phone 10.0; Android 6.0.1; Microsoft; Lumia 950) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/52.0.2743.116 Mobile Safari/537.36 Edge/15.15063";
    /// An Android tablet Fastly does not know.
    pub const UNKNOWN_ANDROID_TABLET: &str = "Mozilla/5.0 (Linux; Android 12; Lenovo TB-X606F) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36";
}

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

/// Sends one request and returns its reply with its scan event. Requests are
/// sent one at a time and each waits for its own event, so events match requests.
fn scan(s: &Service, req: Req) -> (Reply, Value) {
    let before = s.scans().len();
    let reply = s.send(req);
    let scans = s.wait_for_scans(before + 1);
    assert_eq!(
        scans.len(),
        before + 1,
        "exactly one scan event per request; log:\n{}",
        s.log().join("\n")
    );
    (reply, scans[before].clone())
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

/// RFC 3339 UTC for a Unix time in seconds (days-to-civil, proleptic Gregorian).
fn rfc3339(unix_seconds: i64) -> String {
    let (days, secs) = (
        unix_seconds.div_euclid(86_400),
        unix_seconds.rem_euclid(86_400),
    );
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

fn now_seconds() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

#[test]
fn the_time_helper_writes_rfc3339() {
    assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
    assert_eq!(rfc3339(1_772_323_200), "2026-03-01T00:00:00Z");
    assert_eq!(rfc3339(951_782_400 + 3_661), "2000-02-29T01:01:01Z");
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
        let (reply, event) = scan(&s, get("c", addr, Some(ua::IPHONE)));
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
        let (reply, event) = scan(&s, get("c", addr, Some(ua::WINDOWS)));
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
        let (reply, event) = scan(&s, get("r", addr, Some(ua::MAC)));
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
    let (reply, event) = scan(&s, get("g", "127.0.0.9", Some(ua::PIXEL)));
    assert_redirect(&reply, &event, &url("default"), "default");
    assert_visitor(&event, "127.0.0.9", "mobile", "android", false, None);
    let (reply, event) = scan(&s, get("g", "127.0.0.1", Some(ua::PIXEL)));
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
        (ua::IPHONE, "ios", "mobile", "rule:0"),
        (ua::IPAD, "ios", "tablet", "rule:0"),
        (agent::IPAD_DESKTOP_MODE, "ios", "tablet", "rule:0"),
        (ua::PIXEL, "android", "mobile", "rule:1"),
        (agent::GALAXY_TAB, "android", "tablet", "rule:1"),
        (ua::WINDOWS, "windows", "desktop", "rule:2"),
        (ua::MAC, "macos", "desktop", "rule:3"),
        (agent::LINUX, "linux", "desktop", "rule:4"),
        (agent::CHROMEBOOK, "chromeos", "desktop", "rule:5"),
        (agent::WINDOWS_PHONE, "other", "mobile", "rule:6"),
        (ua::GOOGLEBOT, "other", "bot", "rule:6"),
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
        (ua::IPHONE, "mobile", "ios", "rule:0"),
        (ua::PIXEL, "mobile", "android", "rule:0"),
        (ua::IPAD, "tablet", "ios", "rule:1"),
        (agent::GALAXY_TAB, "tablet", "android", "rule:1"),
        (agent::IPAD_DESKTOP_MODE, "tablet", "ios", "rule:1"),
        (ua::WINDOWS, "desktop", "windows", "rule:2"),
        (ua::MAC, "desktop", "macos", "rule:2"),
        (agent::CHROMEBOOK, "desktop", "chromeos", "rule:2"),
        (agent::LINUX, "desktop", "linux", "rule:2"),
        (ua::GOOGLEBOT, "bot", "other", "rule:3"),
        (ua::FACEBOOK, "bot", "other", "rule:3"),
        (agent::SLACKBOT, "bot", "other", "rule:3"),
        // Fastly has no answer: the user agent decides.
        (agent::CUBOT, "mobile", "android", "rule:0"),
        (agent::WINDOWS_PHONE, "mobile", "other", "rule:0"),
        (agent::UNKNOWN_ANDROID_TABLET, "tablet", "android", "rule:1"),
        (agent::WHATSAPP, "bot", "other", "rule:3"),
        (agent::IMESSAGE, "bot", "macos", "rule:3"),
    ] {
        let (reply, event) = scan(&s, get("d", "127.0.0.3", Some(user_agent)));
        assert_redirect(&reply, &event, &url(device), rule);
        assert_visitor(&event, "127.0.0.3", device, os, device == "bot", None);
    }
    let (reply, event) = scan(&s, get("d", "127.0.0.3", None));
    assert_redirect(&reply, &event, &url("default"), "default");
    assert_visitor(&event, "127.0.0.3", "unknown", "other", false, None);
}

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
        (
            Some("fr-CH, fr;q=0.9, en;q=0.8, de;q=0.7, *;q=0.5"),
            url("fr"),
            "rule:0",
            Some("fr"),
        ),
        (
            Some("en;q=0.5, de-AT;q=0.9, fr;q=0.1"),
            url("de"),
            "rule:1",
            Some("de"),
        ),
        (
            Some("en-US,en;q=0.9,fr;q=0.8"),
            url("default"),
            "default",
            Some("en"),
        ),
        (Some("*, DE;q=0.3"), url("de"), "rule:1", Some("de")),
        (
            Some("fr;q=0, es;q=0.2"),
            url("default"),
            "default",
            Some("es"),
        ),
        (
            Some("fr;q=abc, ;;, en_GB;q=0.7"),
            url("default"),
            "default",
            Some("en"),
        ),
        (Some(",,;q=x,*"), url("default"), "default", None),
        (None, url("default"), "default", None),
    ] {
        let mut req = get("l", "127.0.0.2", Some(ua::PIXEL));
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
    let now = now_seconds();
    let (hour_ago, in_an_hour) = (rfc3339(now - 3_600), rfc3339(now + 3_600));
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
        let (reply, event) = scan(&s, get(slug, "127.0.0.4", Some(ua::IPHONE)));
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
            .header("user-agent", ua::WINDOWS);
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
        ("127.0.0.2", ua::IPHONE, "ios", "rule:1", "mobile", "ios"),
        // Every rule holds: rule 0 decides.
        ("127.0.0.1", ua::IPHONE, "us", "rule:0", "mobile", "ios"),
        (
            "127.0.0.2",
            ua::WINDOWS,
            "europe",
            "rule:2",
            "desktop",
            "windows",
        ),
        (
            "127.0.0.4",
            ua::WINDOWS,
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
    let (reply, event) = scan(&s, req("127.0.0.3", ua::IPHONE, "fr-FR", "?src=print"));
    assert_redirect(&reply, &event, &url("fr-mobile"), "rule:0");
    assert_visitor(&event, "127.0.0.3", "mobile", "ios", false, Some("fr"));
    for (addr, user_agent, lang, query, device, os, logged_lang) in [
        (
            "127.0.0.2",
            ua::IPHONE,
            "fr-FR",
            "?src=print",
            "mobile",
            "ios",
            "fr",
        ), // country fails
        (
            "127.0.0.3",
            ua::WINDOWS,
            "fr-FR",
            "?src=print",
            "desktop",
            "windows",
            "fr",
        ), // device fails
        (
            "127.0.0.3",
            ua::IPHONE,
            "en-GB",
            "?src=print",
            "mobile",
            "ios",
            "en",
        ), // language fails
        (
            "127.0.0.3",
            ua::IPHONE,
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
        ("127.0.0.1", ua::IPHONE),
        ("127.0.0.4", ua::GOOGLEBOT),
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
    let (reply, event) = scan(&s, get("off", "127.0.0.2", Some(ua::IPHONE)));
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
    let now = now_seconds();
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
            targeted(json!({"valid_until": rfc3339(now - 60), "expired_url": url("ended")})),
        ),
        (
            "soon",
            targeted(json!({"valid_from": rfc3339(now + 3_600)})),
        ),
        (
            "open",
            targeted(json!({"valid_from": rfc3339(now - 60), "valid_until": rfc3339(now + 3_600)})),
        ),
    ]);
    let (reply, event) = scan(&s, get("ended", "127.0.0.6", Some(ua::PIXEL)));
    assert_eq!(
        (reply.status, reply.header("location")),
        (302, Some(url("ended").as_str()))
    );
    assert_eq!(
        (&event["outcome"], &event["dest"], &event["rule"]),
        (&json!("expired"), &json!(url("ended")), &json!("expired"))
    );
    assert_visitor(&event, "127.0.0.6", "mobile", "android", false, None);
    let (reply, event) = scan(&s, get("soon", "127.0.0.6", Some(ua::PIXEL)));
    assert_eq!((reply.status, reply.header("location")), (410, None));
    assert_eq!(
        (&event["outcome"], &event["status"], &event["rule"]),
        (&json!("expired"), &json!(410), &json!("expired"))
    );
    let (reply, event) = scan(&s, get("open", "127.0.0.6", Some(ua::PIXEL)));
    assert_redirect(&reply, &event, &url("everyone"), "rule:0");
}

#[test]
fn rules_beat_the_split_and_the_split_beats_the_default() {
    let s = service(&[(
        "ab",
        json!({
            "url": url("default"), "forward_query": false,
            "rules": [{"when": {"country": ["DE"]}, "url": url("de")}],
            "split": [{"url": url("a"), "weight": 1}, {"url": url("b"), "weight": 1}],
        }),
    )]);
    let (reply, event) = scan(&s, get("ab", "127.0.0.2", Some(ua::IPHONE)));
    assert_redirect(&reply, &event, &url("de"), "rule:0");
    for addr in ["127.0.0.1", "127.0.0.3", "127.0.0.4", "127.0.0.5"] {
        let (reply, event) = scan(&s, get("ab", addr, Some(ua::IPHONE)));
        let rule = event["rule"].as_str().unwrap_or_default().to_owned();
        let dest = match rule.as_str() {
            "split:0" => url("a"),
            "split:1" => url("b"),
            other => panic!("{addr}: expected a split arm, got rule {other:?}: {event}"),
        };
        assert_redirect(&reply, &event, &dest, &rule);
        assert_visitor(&event, addr, "mobile", "ios", false, None);
    }
    let s = service(&[(
        "plain",
        json!({"url": url("default"), "rules": [{"when": {"country": ["DE"]}, "url": url("de")}]}),
    )]);
    let (reply, event) = scan(&s, get("plain", "127.0.0.3", Some(ua::IPHONE)));
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
    let agents = [ua::IPHONE, ua::PIXEL, ua::WINDOWS, ua::MAC];
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
        (ua::GOOGLEBOT, "other"),
        (ua::FACEBOOK, "other"),
        (agent::SLACKBOT, "other"),
        (agent::WHATSAPP, "other"),
        (agent::IMESSAGE, "macos"),
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
        .header("user-agent", ua::IPHONE)
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
        (ua::IPHONE, "mobile", "ios"),
        (ua::WINDOWS, "desktop", "windows"),
        (agent::CUBOT, "mobile", "android"),
    ] {
        let (reply, event) = scan(&s, get("b", "127.0.0.5", Some(user_agent)));
        assert_redirect(&reply, &event, &url("spring"), "default");
        assert_eq!(event["method"], "GET");
        assert_visitor(&event, "127.0.0.5", device, os, false, None);
    }
}
