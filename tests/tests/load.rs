//! Bounded load (issue 6, docs/resilience.md and docs/scan-events.md): a fixed number of concurrent scans
//! from several loopback visitors. Every response is the expected redirect, and
//! exactly one scan line per request reaches the log: none lost, none
//! duplicated, none attributed to another request. Loopback only; the test
//! stops by itself after its fixed request count.

use qr_edge_tests::{Req, Service, ServiceConfig};
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

/// Requests in all.
const REQUESTS: usize = 2_000;
/// Client threads, each with its own loopback source address.
const CLIENTS: usize = 8;
/// Source addresses and the country fixtures/geo.json gives each (None: no geo entry).
const VISITORS: [(&str, Option<&str>); CLIENTS] = [
    ("127.0.0.1", Some("US")),
    ("127.0.0.2", Some("DE")),
    ("127.0.0.3", Some("FR")),
    ("127.0.0.4", Some("JP")),
    ("127.0.0.5", Some("BR")),
    ("127.0.0.6", Some("AT")),
    ("127.0.0.7", None),
    ("127.0.0.8", None),
];

#[test]
fn every_request_of_a_bounded_load_redirects_and_logs_exactly_one_scan_line() {
    let service = Arc::new(Service::start(
        ServiceConfig::new()
            .link(
                "go.example.com/spring26",
                r#"{"url":"https://example.com/spring?src=qr"}"#,
            )
            .setting("cache_ttl", json!(3600)),
    ));
    let started = Instant::now();
    let clients: Vec<_> = (0..CLIENTS)
        .map(|client| {
            let service = service.clone();
            thread::spawn(move || {
                let (from, _) = VISITORS[client];
                // Request n goes to client n % CLIENTS; `n` travels in the query
                // string, so each Location and each scan line names its request.
                (client..REQUESTS)
                    .step_by(CLIENTS)
                    .map(|n| {
                        let reply = service.send(Req::get(&format!("/spring26?n={n}")).from(from));
                        (n, reply.status, reply.header("location").map(str::to_owned))
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let mut answered = 0;
    for client in clients {
        for (n, status, location) in client.join().expect("client thread") {
            assert_eq!(status, 302, "request {n}");
            assert_eq!(
                location.as_deref(),
                Some(format!("https://example.com/spring?src=qr&n={n}").as_str()),
                "request {n}"
            );
            answered += 1;
        }
    }
    assert_eq!(answered, REQUESTS);
    let load_time = started.elapsed();

    // Everything a request does after its response (the scan line) is done once
    // Viceroy reports the request completed; then no more lines may come.
    wait_for_scan_lines(&service, REQUESTS, Duration::from_secs(60));
    service.wait_for_completed(REQUESTS);
    thread::sleep(Duration::from_millis(500));
    let scans = service.scans();
    assert_eq!(
        scans.len(),
        REQUESTS,
        "one scan line per request, no more, no fewer"
    );

    let mut by_request = BTreeMap::new();
    let mut ids = BTreeSet::new();
    for scan in &scans {
        let dest = scan["dest"]
            .as_str()
            .unwrap_or_else(|| panic!("scan without dest: {scan}"));
        let n: usize = dest
            .strip_prefix("https://example.com/spring?src=qr&n=")
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("scan names no request: {scan}"));
        assert!(
            by_request.insert(n, scan).is_none(),
            "request {n} logged twice"
        );
        let id = scan["id"].as_str().unwrap_or("");
        assert!(!id.is_empty(), "scan without request id: {scan}");
        assert!(ids.insert(id.to_owned()), "request id {id} used twice");
        assert_eq!(
            (scan["status"].as_u64(), scan["outcome"].as_str()),
            (Some(302), Some("redirect")),
            "{scan}"
        );
        assert_eq!(
            (scan["domain"].as_str(), scan["slug"].as_str()),
            (Some("go.example.com"), Some("spring26"))
        );
        let (_, country) = VISITORS[n % CLIENTS];
        assert_eq!(
            scan["country"].as_str(),
            country,
            "request {n} attributed to the wrong visitor: {scan}"
        );
    }
    assert_eq!(by_request.len(), REQUESTS);
    assert_eq!(by_request.keys().next_back(), Some(&(REQUESTS - 1)));
    eprintln!("{REQUESTS} requests from {CLIENTS} clients answered in {load_time:?}");
}

/// Waits until `n` scan lines were written, up to `limit` (the machine may be loaded).
fn wait_for_scan_lines(service: &Service, n: usize, limit: Duration) {
    let deadline = Instant::now() + limit;
    while service.endpoint_lines("scans").len() < n && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(50));
    }
}
