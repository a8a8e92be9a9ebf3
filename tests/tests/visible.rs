//! docs/admin-api.md, "a write makes the change visible at once": after an admin
//! write's response, no scan is served the old record from this POP's cache,
//! not even by a source read that began before the write. Each test races a
//! slow read at the real origin (docs/resilience.md: KV, then origin) against a
//! real admin write, under the real Viceroy core cache.

use qr_edge_tests::admin::with_json;
use qr_edge_tests::{Behaviour, Origin, Reply, Service};
use serde_json::json;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

const KEY: &str = "go.example.com/promo";
const OLD: &str = r#"{"url":"https://example.com/old"}"#;
const OLD_URL: &str = "https://example.com/old";
const NEW_URL: &str = "https://example.com/new";
/// How long the origin takes to answer: the source read the write races.
const SLOW_READ: Duration = Duration::from_millis(800);
/// How far into that read the write is sent.
const WRITE_AFTER: Duration = Duration::from_millis(250);
/// Between two scans of one continuously scanning client.
const SCAN_PAUSE: Duration = Duration::from_millis(10);

/// An origin-only record (`OLD` at the origin, nothing in KV), an origin that
/// answers in `SLOW_READ`, the admin API on, and these cache settings.
fn service(cache_ttl: u64, stale_while_revalidate: u64) -> (Service, Origin) {
    let origin = Origin::start();
    origin.put(KEY, OLD);
    origin.set(Behaviour::Delay(SLOW_READ));
    let mut config = qr_edge_tests::admin::config()
        .origin(&origin.url())
        .setting("destination_hosts", json!(["*"]))
        .setting("cache_ttl", json!(cache_ttl))
        .setting("stale_while_revalidate", json!(stale_while_revalidate));
    config.first_byte_timeout_ms = 5000;
    (Service::start(config), origin)
}

/// `PUT` of the link, as the admin API takes it.
fn put(s: &Service, record: serde_json::Value) -> Reply {
    s.send(with_json(
        "PUT",
        &format!("/_api/v1/links/{KEY}"),
        &record.to_string(),
    ))
}

/// One scan: status, `Location`, `x-qr-cache`.
fn scan(s: &Service) -> (u16, Option<String>, Option<String>) {
    s.get("/promo").redirect()
}

/// Waits until the origin has received `n` link requests: a read is in flight.
fn wait_for_origin_reads(origin: &Origin, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while origin.requests().len() < n {
        assert!(
            Instant::now() < deadline,
            "the origin saw {:?}, expected {n} reads",
            origin.requests()
        );
        thread::sleep(Duration::from_millis(2));
    }
}

#[test]
fn a_write_during_a_slow_first_read_wins_over_that_read() {
    let (s, origin) = service(60, 300);
    thread::scope(|scope| {
        // The read that began before the write: a miss, sent to the slow origin.
        let early = scope.spawn(|| scan(&s));
        wait_for_origin_reads(&origin, 1);
        thread::sleep(WRITE_AFTER);
        assert!(!early.is_finished(), "the early read is still under way");
        let written = put(&s, json!({"url": NEW_URL}));
        assert_eq!(written.status, 201, "{}", written.text());

        // After the response: scans in a row, then several at once, all new.
        for n in 0..3 {
            let (status, location, _) = scan(&s);
            assert_eq!(
                (status, location.as_deref()),
                (302, Some(NEW_URL)),
                "scan {n} after the write's response"
            );
        }
        let at_once: Vec<_> = (0..4).map(|_| scope.spawn(|| scan(&s))).collect();
        for (n, handle) in at_once.into_iter().enumerate() {
            let (status, location, _) = handle.join().expect("scan thread");
            assert_eq!(
                (status, location.as_deref()),
                (302, Some(NEW_URL)),
                "concurrent scan {n} after the write's response"
            );
        }

        // The early read has finished by now (whatever it answered); what it
        // read must not have been cached over the write.
        let (early_status, _, _) = early.join().expect("early scan");
        assert_eq!(early_status, 302);
        let (status, location, cache) = scan(&s);
        assert_eq!(
            (status, location.as_deref()),
            (302, Some(NEW_URL)),
            "after the early read finished ({cache:?})"
        );
    });
    assert_eq!(
        origin.requests().len(),
        1,
        "KV has the new record, so only the early read asked the origin"
    );
}

/// Stops the scanning threads when dropped, so a failed assertion ends the
/// test instead of leaving `thread::scope` waiting for them.
struct StopOnDrop<'a>(&'a AtomicBool);

impl Drop for StopOnDrop<'_> {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

/// A scan as the scanning thread saw it.
struct Seen {
    sent: Instant,
    status: u16,
    location: Option<String>,
    cache: Option<String>,
}

#[test]
fn an_emergency_disable_stops_every_scan_that_starts_after_its_response() {
    // A one-second TTL and continuous scans: the entry keeps going stale, and
    // one scan at a time refreshes it in the background (an update obligation
    // held after its response), reading the slow origin.
    let (s, origin) = service(1, 60);
    assert_eq!(scan(&s).1.as_deref(), Some(OLD_URL));
    let stop = AtomicBool::new(false);
    let (put_done, seen) = thread::scope(|scope| {
        let stopping = StopOnDrop(&stop);
        let scanners: Vec<_> = (0..2)
            .map(|_| {
                scope.spawn(|| {
                    let mut seen = Vec::new();
                    while !stop.load(Ordering::SeqCst) {
                        let sent = Instant::now();
                        let (status, location, cache) = scan(&s);
                        seen.push(Seen {
                            sent,
                            status,
                            location,
                            cache,
                        });
                        // Paced like a busy poster, not a load test: every
                        // request is still checked against Fastly's limits.
                        thread::sleep(SCAN_PAUSE);
                    }
                    seen
                })
            })
            .collect();
        // The first read was the miss; the second is a background refresh of
        // the stale entry, begun before the write.
        wait_for_origin_reads(&origin, 2);
        thread::sleep(WRITE_AFTER);
        let disabled = put(&s, json!({"url": OLD_URL, "status": "disabled"}));
        let put_done = Instant::now();
        assert_eq!(disabled.status, 201, "{}", disabled.text());
        // Scan on past the refresh's answer and past a whole cache_ttl.
        thread::sleep(SLOW_READ + Duration::from_millis(1500));
        drop(stopping);
        let seen: Vec<Seen> = scanners
            .into_iter()
            .flat_map(|h| h.join().expect("scanner"))
            .collect();
        (put_done, seen)
    });

    let before = seen.iter().filter(|x| x.sent < put_done).count();
    let mut after: Vec<&Seen> = seen.iter().filter(|x| x.sent > put_done).collect();
    after.sort_by_key(|x| x.sent);
    assert!(before > 0, "scans ran before the write");
    assert!(
        seen.iter()
            .any(|x| x.sent < put_done && x.cache.as_deref() == Some("STALE")),
        "a stale entry was being refreshed in the background during the write"
    );
    assert!(
        after.len() >= 10,
        "only {} scans after the write",
        after.len()
    );
    let served: Vec<String> = after
        .iter()
        .filter(|x| x.status != 410)
        .map(|x| {
            format!(
                "{:?} after: {} {} ({})",
                x.sent - put_done,
                x.status,
                x.location.as_deref().unwrap_or("-"),
                x.cache.as_deref().unwrap_or("-")
            )
        })
        .collect();
    assert!(
        served.is_empty(),
        "{} of {} scans sent after the disable's response were not 410; the first:\n{}",
        served.len(),
        after.len(),
        served[..served.len().min(5)].join("\n")
    );
}
