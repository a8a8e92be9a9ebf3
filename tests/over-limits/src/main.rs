//! Breaks Fastly's per-request limits on purpose, so that the black-box
//! harness (tests/src/limits.rs) can prove it catches every kind of violation
//! on a real request under the real Viceroy (tests/tests/limits.rs):
//!
//! - `/lookups/{n}`: `n` config-store lookups in the `settings` store;
//! - `/backends/{n}`: `n` backend requests to the `origin` backend;
//! - `/spin/{n}`: `n` million rounds of arithmetic: busy guest CPU, the same
//!   amount however busy the machine is (about 1 ms per million here);
//! - `/wait`: one backend request that waits on a silent origin, so the
//!   request is long in wall time but short in guest time;
//! - `/hostcalls/{n}`: `n` trivial hostcalls (a header set on a request
//!   handle) and next to no guest work: what the trace itself costs.
//!
//! Every path answers 200 with a line saying what it did.
use fastly::http::StatusCode;
use fastly::{ConfigStore, Request, Response};

fn main() {
    let req = Request::from_client();
    let path = req.get_path().to_owned();
    let mut parts = path.trim_start_matches('/').splitn(2, '/');
    let (what, n) = (
        parts.next().unwrap_or(""),
        parts
            .next()
            .and_then(|n| n.parse::<u64>().ok())
            .unwrap_or(0),
    );
    let done = match what {
        "lookups" => lookups(n),
        "backends" => backends(n),
        "spin" => spin(n),
        "wait" => backends(1),
        "hostcalls" => hostcalls(n),
        _ => String::from("nothing"),
    };
    Response::from_status(StatusCode::OK)
        .with_body_text_plain(&format!("{done}\n"))
        .send_to_client();
}

/// `n` lookups of absent keys: each one is a `fastly_config_store::get`, found or not.
fn lookups(n: u64) -> String {
    let Ok(store) = ConfigStore::try_open("settings") else {
        return String::from("no settings store");
    };
    let found = (0..n)
        .filter(|i| matches!(store.try_get(&format!("k{i}")), Ok(Some(_))))
        .count();
    format!("{n} lookups, {found} found")
}

/// `n` sequential backend requests; errors count as requests sent.
fn backends(n: u64) -> String {
    let ok = (0..n)
        .filter(|i| {
            Request::get(format!("http://origin/links/over/{i}"))
                .send("origin")
                .is_ok()
        })
        .count();
    format!("{n} backend requests, {ok} answered")
}

/// `n` `fastly_http_req::header_insert` hostcalls.
fn hostcalls(n: u64) -> String {
    let mut handle = fastly::handle::RequestHandle::new();
    let (name, value) = (
        fastly::http::HeaderName::from_static("x-n"),
        fastly::http::HeaderValue::from_static("1"),
    );
    for _ in 0..n {
        handle.insert_header(&name, &value);
    }
    format!("{n} hostcalls")
}

/// `millions` million rounds of a linear congruential generator, which the
/// optimiser cannot skip (the result is printed).
fn spin(millions: u64) -> String {
    let mut x: u64 = 1;
    for _ in 0..millions * 1_000_000 {
        x = std::hint::black_box(
            x.wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407),
        );
    }
    format!("spun {millions} million rounds ({x:x})")
}
