//! Owns the one way a test reads the scan event of a request it sent: one
//! request at a time, each waiting for its own line, so events match requests.

use crate::{Reply, Req, Service};
use serde_json::Value;

/// Sends `req` and returns its reply with the one scan event it wrote.
pub fn scan(s: &Service, req: Req) -> (Reply, Value) {
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
