//! What a cache-hit scan costs in hostcalls. Each hostcall is a round trip
//! from the guest to the host, on Fastly as under Viceroy, so the count holds
//! on any runtime (BENCHMARKS.md, "Hostcalls per request"). These tests pin
//! the count and the two cuts made to it, and fail if either is undone.
//!
//! A phone's cache-hit scan (user agent and `Accept-Language`, no `Referer`),
//! with `ip_salt` set, makes 42 hostcalls today:
//!
//! | part | hostcalls |
//! |---|---:|
//! | the request: its handles, URL, method, `Host`, and closing it and its body | 6 |
//! | settings: the store and its two documents | 3 |
//! | client metadata (the SDK fetches address, server address, request id and key validity together) | 4 |
//! | headers: the names, then the two present values | 3 |
//! | geolocation, device detection | 2 |
//! | the cache entry: lookup, two state reads, body, two reads, age, two closes | 9 |
//! | the response: body, handle, status, version, three headers, framing, keep-alive, send | 10 |
//! | after the response: `ip_salt` (store, secret, plaintext), the scan line (endpoint, write) | 5 |
//!
//! It was 48 before the two cuts these tests hold: asking for the header
//! names first (six header reads became the names and the values present)
//! and reading the cache entry into a buffer with room for it (five body
//! reads became two).

use qr_edge_tests::{agents, Req, RequestCost, Service, ServiceConfig};

/// The most hostcalls a phone's cache-hit scan may make (see the table).
const CACHE_HIT_HOSTCALLS: u32 = 42;

fn service() -> Service {
    let s = Service::start(
        ServiceConfig::new()
            .secret("ip_salt", "a salt for the visitor hash")
            .link(
                "go.example.com/spring26",
                r#"{"url":"https://example.com/spring"}"#,
            ),
    );
    assert_eq!(s.get("/_health").status, 200, "warm-up");
    s
}

fn phone_scan() -> Req {
    Req::get("/spring26")
        .header("user-agent", agents::IPHONE)
        .header("accept-language", "de-DE,de;q=0.9,en;q=0.8")
}

/// The cost of the second `GET /spring26`: the first fills the cache.
fn cache_hit(s: &Service, scan: Req) -> RequestCost {
    for expected in ["MISS", "HIT"] {
        let r = s.send(scan.clone());
        assert_eq!(r.status, 302);
        assert_eq!(r.header("x-qr-cache"), Some(expected));
    }
    let hits: Vec<RequestCost> = s
        .request_costs()
        .into_iter()
        .filter(|c| c.target == "/spring26")
        .collect();
    let hit = hits.get(1).cloned().expect("two scans traced");
    assert!(hit.completed, "{hit:?}");
    hit
}

fn kind(cost: &RequestCost, name: &str) -> u32 {
    cost.kinds.get(name).copied().unwrap_or(0)
}

#[test]
fn a_phones_cache_hit_scan_stays_within_its_hostcall_count() {
    let s = service();
    let hit = cache_hit(&s, phone_scan());
    assert!(
        hit.hostcalls <= CACHE_HIT_HOSTCALLS,
        "{} hostcalls, at most {CACHE_HIT_HOSTCALLS}: {:#?}",
        hit.hostcalls,
        hit.kinds
    );
    // The scan line and the visitor hash are part of the count.
    assert_eq!(kind(&hit, "fastly_log::write"), 1, "{:#?}", hit.kinds);
    assert_eq!(kind(&hit, "fastly_secret_store::plaintext"), 1);
}

#[test]
fn a_scan_reads_only_the_headers_that_are_present() {
    let s = service();
    let hit = cache_hit(&s, phone_scan());
    // `Host`, `User-Agent`, `Accept-Language`: not `Referer` or the three
    // prefetch signals, which the phone did not send.
    assert_eq!(kind(&hit, "fastly_http_req::header_names_get"), 1);
    assert_eq!(
        kind(&hit, "fastly_http_req::header_values_get"),
        3,
        "{:#?}",
        hit.kinds
    );

    let s = service();
    let with_referer = cache_hit(&s, phone_scan().header("referer", "https://example.org/"));
    assert_eq!(kind(&with_referer, "fastly_http_req::header_values_get"), 4);
}

#[test]
fn a_cached_record_is_read_in_two_body_reads() {
    let s = service();
    let hit = cache_hit(&s, phone_scan());
    // The bytes, then the end of the body (not the SDK's 32-byte first chunk, doubling).
    assert_eq!(kind(&hit, "fastly_http_body::read"), 2, "{:#?}", hit.kinds);
}
