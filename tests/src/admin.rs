//! Owns the admin-API helpers every black-box test file shares: the token,
//! authorised requests, and the checks of a problem answer and an audit line.

use crate::{Reply, Req, Service, ServiceConfig};
use serde_json::Value;

/// The admin token the tests configure (`Basic dDBrM246` in tests/admin.rs is
/// this token base64-encoded).
pub const TOKEN: &str = "t0k3n";

/// KV store with no entries, empty settings, and the admin token: the admin
/// API is on.
pub fn config() -> ServiceConfig {
    ServiceConfig::new().secret("admin_token", TOKEN)
}

/// An authorised admin request.
pub fn api(method: &str, path: &str) -> Req {
    Req::new(method, path).header("authorization", &format!("Bearer {TOKEN}"))
}

/// An authorised request with a JSON body.
pub fn with_json(method: &str, path: &str, body: &str) -> Req {
    api(method, path)
        .header("content-type", "application/json")
        .body(body)
}

/// An authorised `POST /_api/v1/import` of this NDJSON body.
pub fn import(body: &str) -> Req {
    api("POST", "/_api/v1/import")
        .header("content-type", "application/x-ndjson")
        .body(body)
}

/// Asserts an RFC 9457 problem with this status, and returns its body.
pub fn problem(r: &Reply, status: u16) -> Value {
    assert_eq!(r.status, status, "{}", r.text());
    assert_eq!(
        r.header("content-type"),
        Some("application/problem+json"),
        "{}",
        r.text()
    );
    let body = r.json();
    assert_eq!(body["status"], status);
    assert!(
        body["title"].is_string() && body["detail"].is_string(),
        "{body}"
    );
    body
}

/// Asserts a 400 problem naming `field`.
pub fn names_field(r: &Reply, field: &str) {
    let body = problem(r, 400);
    assert_eq!(body["field"], field, "{body}");
}

/// Waits (up to 10 s) until at least `n` audit lines were written, and
/// returns them all, parsed (`n` = 0: the lines written so far).
pub fn audit(s: &Service, n: usize) -> Vec<Value> {
    s.wait_for_lines("audit", n)
        .iter()
        .map(|l| {
            serde_json::from_str(l).unwrap_or_else(|e| panic!("audit line is not JSON ({e}): {l}"))
        })
        .collect()
}
