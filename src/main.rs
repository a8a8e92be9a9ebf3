//! qr-edge: a dynamic-QR-code redirect service on Fastly Compute.
//!
//! One scan's timeline, in order: route the request and resolve the link
//! (cache → KV → origin), let the core decide the answer, **send the
//! response**, then write the scan event and refresh a stale cache entry.
//! Nothing after the send can delay or fail the redirect.

mod admin;
mod bodies;
mod client;
mod config;
mod dashboard;
mod diagnostics;
mod export;
mod handler;
mod image_cache;
mod images;
mod lookup;
mod pieces;
mod resources;
mod responses;
mod scan_log;

use fastly::Request;
use std::time::Instant;

fn main() {
    let started = Instant::now();
    diagnostics::init();
    let handled = handler::handle(Request::from_client());

    match handled.stream {
        // An admin import or export: its head now, then its lines as they are made.
        Some(streamed) => streamed.stream(handled.response.stream_to_client()),
        None => handled.response.send_to_client(),
    }
    let elapsed_us = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);

    if let Some(scan) = handled.scan {
        scan_log::write_scan(&scan, elapsed_us);
    }
    if let Some(refresh) = handled.refresh {
        refresh.run();
    }
}
