//! The harness's own proof (issue 11, item 2): it really catches a request
//! that breaks one of Fastly's per-request limits. A tiny Compute program
//! (tests/over-limits) makes exactly as many config-store lookups, backend
//! requests or milliseconds of CPU as its path says, under the same harness
//! and the real Viceroy as every other test; 32 lookups or backend requests
//! pass, 33 fail the test that sent them, naming the request, the limit and
//! the count. Time a request spends waiting on a backend is not guest time,
//! nor is the time Viceroy spends writing its own trace.

use qr_edge_tests::limits::{GUEST_TIME_BUDGET, MAX_BACKEND_REQUESTS, MAX_CONFIG_LOOKUPS};
use qr_edge_tests::{Behaviour, Origin, RequestCost, Service, ServiceConfig};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;
use std::time::Duration;

/// The over-limits program, built from this checkout once per test process (service::built_wasm).
fn over_limits_wasm() -> PathBuf {
    qr_edge_tests::service::built_wasm("qr-edge-over-limits")
}

/// The one request whose path is `path`.
fn cost_of(s: &Service, path: &str) -> RequestCost {
    let costs = s.request_costs();
    let found: Vec<&RequestCost> = costs.iter().filter(|c| c.target == path).collect();
    assert_eq!(found.len(), 1, "one request to {path} in {costs:?}");
    found[0].clone()
}

/// Drops the service and returns the message its limit check panicked with.
fn drop_check_message(s: Service) -> String {
    let payload = catch_unwind(AssertUnwindSafe(move || drop(s)))
        .expect_err("dropping the service must fail the test");
    payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default()
}

#[test]
fn thirty_three_config_store_lookups_fail_the_test_that_sent_them() {
    let s = Service::start(ServiceConfig::new().wasm(over_limits_wasm()));
    for n in [MAX_CONFIG_LOOKUPS, MAX_CONFIG_LOOKUPS + 1] {
        let r = s.get(&format!("/lookups/{n}"));
        assert_eq!(r.status, 200, "{}", r.text());
    }
    let at_limit = cost_of(&s, "/lookups/32");
    assert_eq!(at_limit.config_lookups, 32, "{at_limit:?}");
    assert!(at_limit.violations().is_empty(), "{at_limit:?}");
    let over = cost_of(&s, "/lookups/33");
    assert_eq!(
        (over.config_lookups, over.backend_requests),
        (33, 0),
        "{over:?}"
    );
    assert_eq!(over.method, "GET");

    let violations = s.limit_violations();
    assert_eq!(violations.len(), 1, "{violations:?}");
    assert!(
        violations[0].starts_with(&format!(
            "GET /lookups/33 (request {}) made 33 config-store lookups",
            over.id
        )) && violations[0].contains("Fastly allows 32 per request"),
        "{}",
        violations[0]
    );
    let asserted = catch_unwind(AssertUnwindSafe(|| s.assert_within_limits()));
    assert!(asserted.is_err(), "assert_within_limits passed a violation");

    let message = drop_check_message(s);
    assert!(
        message.contains("GET /lookups/33") && message.contains("made 33 config-store lookups"),
        "the drop check names the request, the limit and the count: {message}"
    );
    assert!(!message.contains("/lookups/32"), "{message}");
}

#[test]
fn thirty_three_backend_requests_fail_the_test_that_sent_them() {
    let origin = Origin::start();
    let s = Service::start(
        ServiceConfig::new()
            .wasm(over_limits_wasm())
            .origin(&origin.url()),
    );
    for n in [MAX_BACKEND_REQUESTS, MAX_BACKEND_REQUESTS + 1] {
        let r = s.get(&format!("/backends/{n}"));
        assert_eq!(r.status, 200, "{}", r.text());
        assert!(r.text().contains(&format!("{n} answered")), "{}", r.text());
    }
    assert_eq!(cost_of(&s, "/backends/32").backend_requests, 32);
    let over = cost_of(&s, "/backends/33");
    assert_eq!(
        (over.backend_requests, over.config_lookups),
        (33, 0),
        "{over:?}"
    );
    assert!(
        over.io_wait > Duration::ZERO && over.io_wait < over.wall,
        "the sends are I/O waits: {over:?}"
    );
    let message = drop_check_message(s);
    assert!(
        message.contains("GET /backends/33") && message.contains("made 33 backend requests"),
        "{message}"
    );
    assert!(!message.contains("/backends/32"), "{message}");
}

#[test]
fn a_request_over_the_guest_time_budget_fails_the_test_that_sent_it() {
    // 50 million rounds of arithmetic: about 100 ms of CPU on the 2-core
    // machine this was written on, still over the budget on a host 3 times
    // as fast; 1 million is about 2 ms.
    let s = Service::start(ServiceConfig::new().wasm(over_limits_wasm()));
    assert_eq!(s.get("/spin/1").status, 200);
    assert_eq!(s.get("/spin/50").status, 200);
    let short = cost_of(&s, "/spin/1");
    assert!(short.violations().is_empty(), "{short:?}");
    let long = cost_of(&s, "/spin/50");
    assert!(
        long.guest_time > GUEST_TIME_BUDGET && long.io_wait < Duration::from_millis(5),
        "busy CPU is guest time: {long:?}"
    );
    let message = drop_check_message(s);
    assert!(
        message.contains("GET /spin/50") && message.contains("ms of guest time"),
        "{message}"
    );
    assert!(!message.contains("/spin/1 "), "{message}");
}

#[test]
fn time_spent_waiting_on_a_backend_is_not_guest_time() {
    let origin = Origin::start();
    origin.set(Behaviour::Hang(Duration::from_millis(700)));
    let s = Service::start(
        ServiceConfig::new()
            .wasm(over_limits_wasm())
            .origin(&origin.url()),
    );
    assert_eq!(s.get("/wait").status, 200);
    let wait = cost_of(&s, "/wait");
    assert_eq!(wait.backend_requests, 1, "{wait:?}");
    assert!(
        wait.wall >= Duration::from_millis(500),
        "the request waited on the silent origin: {wait:?}"
    );
    assert!(
        wait.io_wait >= Duration::from_millis(500) && wait.guest_time < Duration::from_millis(10),
        "the wait is I/O, not guest time: {wait:?}"
    );
    s.assert_within_limits();
}

#[test]
fn the_trace_itself_is_not_counted_as_guest_time() {
    // 2000 trivial hostcalls: about 1.5 ms under `viceroy -v`, but 30 to 70 ms
    // of wall time under `-vvv` on a shared 2-core machine, nearly all of it
    // the trace's own writing. The harness takes most of that off: such a
    // request does not fail the budget.
    let s = Service::start(ServiceConfig::new().wasm(over_limits_wasm()));
    assert_eq!(s.get("/hostcalls/2000").status, 200);
    let cost = cost_of(&s, "/hostcalls/2000");
    assert!(cost.hostcalls > 2000, "{cost:?}");
    assert!(
        cost.guest_time < GUEST_TIME_BUDGET,
        "the trace's cost is not guest time: {cost:?}"
    );
    s.assert_within_limits();
}
