//! Writes one scan event per slug request to the `scans` endpoint, after the
//! response has been sent. A missing endpoint loses the line, never the scan.

use crate::config;
use crate::resources::SCANS_LOG_ENDPOINT;
use fastly::log::Endpoint;
use qr_edge_core::scan_event::ScanEvent;
use std::io::Write;

/// Writes the event's line; `elapsed_us` is the time until the response was
/// sent. The IP salt (for `visitor`, and `ip` in `hash` mode) is read whenever
/// the client address is known: here, after the send, so the secret-store
/// lookup never delays a redirect.
pub fn write_scan(event: &ScanEvent, elapsed_us: u64) {
    let salt = if event.needs_salt() {
        config::ip_salt()
    } else {
        None
    };
    write_line(
        SCANS_LOG_ENDPOINT,
        &event.to_line(elapsed_us, salt.as_deref()),
    );
}

/// One `write` per line, as Fastly's log endpoints expect. Errors are reported, not raised.
pub fn write_line(endpoint: &str, line: &str) {
    match Endpoint::try_from_name(endpoint) {
        Ok(mut endpoint) => {
            if let Err(e) = endpoint.write_all(line.as_bytes()) {
                log::error!("log endpoint {} write failed: {e}", endpoint.name());
            }
        }
        Err(e) => log::error!("log endpoint {endpoint} unavailable: {e}"),
    }
}
