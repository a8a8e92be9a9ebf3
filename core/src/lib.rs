//! qr-edge-core: everything about a scan that is not I/O.
//!
//! No Fastly types live here, so every piece is unit-tested, property-tested
//! and fuzzed natively. The edge shell in `../src` feeds it request facts and
//! store results and turns its answers into responses, cache entries and log lines.

pub mod admin;
pub mod answer;
pub mod clock;
pub mod conditional;
pub mod dashboard;
pub mod decide;
pub mod destination;
pub mod freshness;
pub mod pages;
pub mod path;
pub mod pieces;
pub mod privacy;
pub mod qr;
pub mod record;
pub mod reply;
pub mod scan_class;
pub mod scan_event;
pub mod settings;
pub mod targeting;
pub mod visitor;
pub mod vocabulary;

/// Bytes as lower-case hex: hashed IPs in scan events, image `ETag`s, admin cursors.
pub fn lower_hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut out, b| {
            let _ = write!(out, "{b:02x}");
            out
        })
}

/// The first `max` bytes of `text`, cut at a character boundary: header
/// values as the scan log keeps them and as the visitor classification reads them.
pub fn prefix(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}
