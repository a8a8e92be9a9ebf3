//! docs/resilience.md: cache → KV → origin, stale-while-revalidate,
//! stale-if-error, negative caching, and `x-qr-cache`. What a source error
//! with nothing cached answers (503 or the fallback, for every origin fault
//! and for corrupt KV values) is tests/faults.rs's.

use qr_edge_tests::{Behaviour, Origin, Service, ServiceConfig};
use serde_json::json;
use std::thread::sleep;
use std::time::{Duration, Instant};

const OLD: &str = r#"{"url":"https://example.com/old"}"#;
const NEW: &str = r#"{"url":"https://example.com/new"}"#;
const KEY: &str = "go.example.com/promo";

/// Origin-only service with the given settings; the origin serves `OLD` for `promo`.
fn origin_service(settings: &[(&str, serde_json::Value)]) -> (Service, Origin) {
    let origin = Origin::start();
    origin.put(KEY, OLD);
    let mut config = ServiceConfig::new().without_kv().origin(&origin.url());
    config.first_byte_timeout_ms = 500;
    for (k, v) in settings {
        config = config.setting(k, v.clone());
    }
    (Service::start(config), origin)
}

fn scan(s: &Service) -> (u16, Option<String>, Option<String>) {
    s.get("/promo").redirect()
}

fn redirect(dest: &str, cache: &str) -> (u16, Option<String>, Option<String>) {
    (
        302,
        Some(format!("https://example.com/{dest}")),
        Some(cache.to_owned()),
    )
}

#[test]
fn a_fresh_entry_is_served_from_the_cache_without_asking_the_origin() {
    let (s, origin) = origin_service(&[("cache_ttl", json!(60))]);
    assert_eq!(scan(&s), redirect("old", "MISS"));
    origin.put(KEY, NEW);
    assert_eq!(scan(&s), redirect("old", "HIT"));
    assert_eq!(origin.requests(), ["/links/go.example.com/promo"]);
    let scans = s.wait_for_scans(2);
    assert_eq!(
        (scans[0]["cache"].as_str(), scans[0]["source"].as_str()),
        (Some("miss"), Some("origin"))
    );
    assert_eq!(
        (scans[1]["cache"].as_str(), scans[1]["source"].as_str()),
        (Some("hit"), Some("cache"))
    );
}

#[test]
fn kv_takes_precedence_over_the_origin() {
    let origin = Origin::start();
    origin.put(KEY, NEW);
    let s = Service::start(ServiceConfig::new().link(KEY, OLD).origin(&origin.url()));
    assert_eq!(scan(&s), redirect("old", "MISS"));
    assert!(
        origin.requests().is_empty(),
        "the origin is not asked when KV has the link"
    );
    assert_eq!(s.wait_for_scans(1)[0]["source"], "kv");
}

#[test]
fn a_kv_miss_asks_the_origin() {
    let origin = Origin::start();
    origin.put(KEY, NEW);
    let s = Service::start(
        ServiceConfig::new()
            .link("go.example.com/other", OLD)
            .origin(&origin.url()),
    );
    assert_eq!(scan(&s), redirect("new", "MISS"));
    assert_eq!(s.wait_for_scans(1)[0]["source"], "origin");
}

#[test]
fn kv_only_and_origin_only_deployments_work() {
    let kv_only = Service::start(ServiceConfig::new().link(KEY, OLD));
    assert_eq!(scan(&kv_only), redirect("old", "MISS"));
    assert_eq!(
        kv_only.get("/unknown").status,
        404,
        "no origin: a KV miss is not found"
    );
    let (origin_only, _origin) = origin_service(&[]);
    assert_eq!(scan(&origin_only), redirect("old", "MISS"));
    let neither = Service::start(ServiceConfig::new().without_kv());
    assert_eq!(
        neither.get("/promo").status,
        404,
        "no source at all: nothing is found"
    );
}

#[test]
fn not_found_is_cached_for_negative_ttl() {
    let (s, origin) = origin_service(&[("negative_ttl", json!(2))]);
    origin.remove(KEY);
    let first = s.get("/promo");
    assert_eq!(
        (first.status, first.header("x-qr-cache")),
        (404, Some("MISS"))
    );
    origin.put(KEY, NEW);
    let cached = s.get("/promo");
    assert_eq!(
        (cached.status, cached.header("x-qr-cache")),
        (404, Some("HIT")),
        "the 404 is cached"
    );
    assert_eq!(origin.requests().len(), 1);
    sleep(Duration::from_millis(2300));
    assert_eq!(
        scan(&s),
        redirect("new", "MISS"),
        "after negative_ttl the origin is asked again"
    );
    assert_eq!(origin.requests().len(), 2);
}

#[test]
fn a_stale_entry_is_served_at_once_and_refreshed_after_the_response() {
    let (s, origin) = origin_service(&[
        ("cache_ttl", json!(1)),
        ("stale_while_revalidate", json!(60)),
    ]);
    assert_eq!(scan(&s), redirect("old", "MISS"));
    origin.put(KEY, NEW);
    sleep(Duration::from_millis(1300));
    assert_eq!(scan(&s), redirect("old", "STALE"));
    s.wait_for_completed(2);
    assert_eq!(
        origin.requests().len(),
        2,
        "the stale hit refreshed the entry"
    );
    assert_eq!(scan(&s), redirect("new", "HIT"));
    let scans = s.wait_for_scans(3);
    assert_eq!(
        (scans[1]["cache"].as_str(), scans[1]["source"].as_str()),
        (Some("stale"), Some("cache"))
    );
}

#[test]
fn many_concurrent_stale_hits_refresh_once() {
    let (s, origin) = origin_service(&[
        ("cache_ttl", json!(1)),
        ("stale_while_revalidate", json!(60)),
    ]);
    assert_eq!(scan(&s), redirect("old", "MISS"));
    origin.put(KEY, NEW);
    // Each refresh is slow, so concurrent stale hits overlap with it.
    origin.set(Behaviour::Serve);
    sleep(Duration::from_millis(1300));
    let replies: Vec<_> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..12).map(|_| scope.spawn(|| s.get("/promo"))).collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for r in &replies {
        assert_eq!(r.status, 302);
        assert!(
            matches!(r.header("x-qr-cache"), Some("STALE") | Some("HIT")),
            "{:?}",
            r.header("x-qr-cache")
        );
    }
    s.wait_for_completed(13);
    assert_eq!(
        origin.requests().len(),
        2,
        "exactly one refresh for {} stale hits",
        replies.len()
    );
}

#[test]
fn the_background_refresh_does_not_delay_the_redirect() {
    let origin = Origin::start();
    origin.put(KEY, OLD);
    let mut config = ServiceConfig::new()
        .without_kv()
        .origin(&origin.url())
        .setting("cache_ttl", json!(1))
        .setting("stale_while_revalidate", json!(60));
    config.first_byte_timeout_ms = 3000;
    let s = Service::start(config);
    assert_eq!(scan(&s), redirect("old", "MISS"));
    sleep(Duration::from_millis(1300));
    origin.set(Behaviour::Hang(Duration::from_secs(10)));
    let started = Instant::now();
    let r = s.get("/promo");
    let took = started.elapsed();
    assert_eq!((r.status, r.header("x-qr-cache")), (302, Some("STALE")));
    assert!(
        took < Duration::from_millis(2000),
        "the stale answer took {took:?}; the refresh hangs 3 s after it"
    );
    s.wait_for_completed(2);
    assert_eq!(
        origin.requests().len(),
        2,
        "the refresh did run, after the response"
    );
}

/// Past `stale_while_revalidate` but within `stale_if_error`, every kind of
/// source error serves the stale record.
#[test]
fn past_the_swr_window_a_failed_refresh_serves_stale() {
    for failure in [
        Behaviour::Status(500),
        Behaviour::Status(503),
        Behaviour::Garbage,
        Behaviour::Hang(Duration::from_secs(3)),
        Behaviour::Down,
    ] {
        let (s, origin) = origin_service(&[
            ("cache_ttl", json!(1)),
            ("stale_while_revalidate", json!(0)),
            ("stale_if_error", json!(120)),
        ]);
        assert_eq!(scan(&s), redirect("old", "MISS"), "{failure:?}");
        origin.set(failure.clone());
        sleep(Duration::from_millis(1300));
        let started = Instant::now();
        assert_eq!(scan(&s), redirect("old", "STALE-IF-ERROR"), "{failure:?}");
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "{failure:?} is bounded by the first-byte timeout"
        );
        let scans = s.wait_for_scans(2);
        assert_eq!(
            (scans[1]["cache"].as_str(), scans[1]["source"].as_str()),
            (Some("stale_if_error"), Some("cache"))
        );
    }
}

#[test]
fn past_the_swr_window_a_successful_refresh_answers_fresh() {
    let (s, origin) = origin_service(&[
        ("cache_ttl", json!(1)),
        ("stale_while_revalidate", json!(0)),
        ("stale_if_error", json!(120)),
    ]);
    assert_eq!(scan(&s), redirect("old", "MISS"));
    origin.put(KEY, NEW);
    sleep(Duration::from_millis(1300));
    assert_eq!(
        scan(&s),
        redirect("new", "MISS"),
        "refreshed before answering"
    );
    assert_eq!(scan(&s), redirect("new", "HIT"));
}

#[test]
fn beyond_stale_if_error_nothing_is_usable() {
    let settings = [
        ("cache_ttl", json!(1)),
        ("stale_while_revalidate", json!(0)),
        ("stale_if_error", json!(1)),
    ];
    let (s, origin) = origin_service(&settings);
    assert_eq!(scan(&s), redirect("old", "MISS"));
    origin.set(Behaviour::Status(500));
    sleep(Duration::from_millis(2300));
    let r = s.get("/promo");
    assert_eq!((r.status, r.header("retry-after")), (503, Some("30")));
}

#[test]
fn a_hanging_origin_is_bounded_by_the_first_byte_timeout() {
    let (s, origin) = origin_service(&[]);
    origin.set(Behaviour::Hang(Duration::from_secs(20)));
    let started = Instant::now();
    let r = s.get("/promo");
    assert_eq!(r.status, 503);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "took {:?} with a 500 ms first-byte timeout",
        started.elapsed()
    );
}

#[test]
fn errors_are_not_cached() {
    let (s, origin) = origin_service(&[]);
    origin.set(Behaviour::Status(500));
    assert_eq!(s.get("/promo").status, 503);
    origin.set(Behaviour::Serve);
    assert_eq!(
        scan(&s),
        redirect("old", "MISS"),
        "the next scan asks again"
    );
}

#[test]
fn an_origin_record_outside_destination_hosts_is_a_source_error() {
    let (s, origin) = origin_service(&[("destination_hosts", json!(["example.com"]))]);
    origin.put(KEY, r#"{"url":"https://phish.test/login"}"#);
    assert_eq!(
        s.get("/promo").status,
        503,
        "a compromised origin cannot send codes elsewhere"
    );
}
