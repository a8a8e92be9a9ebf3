//! Writes one scan event per slug request to the `scans` endpoint, after the
//! response has been sent. A missing endpoint loses the line, never the scan.

use crate::resources::SCANS_LOG_ENDPOINT;
use fastly::log::Endpoint;
use qr_edge_core::clock::format_millis;
use qr_edge_core::decide::Decision;
use qr_edge_core::freshness::{CacheState, Source};
use qr_edge_core::privacy::ip_for_log;
use qr_edge_core::privacy::IpMode;
use qr_edge_core::scan_event::{capped, ScanEvent, SCHEMA_VERSION};
use qr_edge_core::visitor::Visitor;
use std::io::Write;

/// Everything a scan event needs, gathered while the request is handled.
pub struct ScanRecord {
    /// Request start, Unix milliseconds.
    pub started_ms: i64,
    /// Request id.
    pub id: String,
    /// Host, lower case.
    pub domain: String,
    /// Slug, lower case.
    pub slug: String,
    /// The decision sent.
    pub decision: Decision,
    /// How the record was obtained.
    pub cache: CacheState,
    /// Where it came from.
    pub source: Source,
    /// Request method.
    pub method: String,
    /// Who scanned.
    pub visitor: Visitor,
    /// `Referer`.
    pub referer: Option<String>,
    /// IP logging mode of the domain.
    pub ip_mode: IpMode,
}

impl ScanRecord {
    /// The record of a scan of `domain`/`slug` that nothing has been decided
    /// for yet: unavailable, nothing looked up, no IP logged. Callers fill in what they know.
    pub fn of(req: &fastly::Request, domain: String, slug: String, visitor: Visitor) -> ScanRecord {
        ScanRecord {
            started_ms: crate::client::unix_millis(),
            id: crate::client::request_id(req),
            domain,
            slug,
            decision: qr_edge_core::decide::unavailable(None),
            cache: CacheState::None,
            source: Source::None,
            method: req.get_method_str().to_owned(),
            visitor,
            referer: crate::client::header(req, "referer").map(std::borrow::Cow::into_owned),
            ip_mode: IpMode::None,
        }
    }

    /// Writes the event line; `elapsed_us` is the time until the response was sent.
    pub fn write(self, elapsed_us: u64, salt: impl FnOnce() -> Option<Vec<u8>>) {
        let salt = if self.ip_mode == IpMode::Hash {
            salt()
        } else {
            None
        };
        let v = &self.visitor;
        let pop = std::env::var("FASTLY_POP").ok();
        let event = ScanEvent {
            v: SCHEMA_VERSION,
            ts: format_millis(self.started_ms),
            id: &self.id,
            domain: &self.domain,
            slug: &self.slug,
            outcome: self.decision.outcome,
            status: self.decision.status,
            dest: self.decision.location.as_deref(),
            rule: self.decision.rule,
            cache: self.cache,
            source: self.source,
            method: &self.method,
            country: v.geo.country.as_deref(),
            region: v.geo.region.as_deref(),
            city: v.geo.city.as_deref(),
            continent: v.geo.continent.as_deref(),
            asn: v.geo.asn,
            device: v.device,
            os: v.os,
            bot: v.bot,
            ip: v
                .ip
                .and_then(|ip| ip_for_log(ip, self.ip_mode, salt.as_deref())),
            ua: v.user_agent.as_deref().map(capped),
            referer: self.referer.as_deref().map(capped),
            lang: v.language.as_deref(),
            pop: pop.as_deref().filter(|p| !p.is_empty()),
            elapsed_us,
        };
        write_line(SCANS_LOG_ENDPOINT, &event.to_line());
    }
}

/// One `write` per line, as Fastly's log endpoints expect. Errors are reported, not raised.
pub fn write_line(endpoint: &str, line: &str) {
    match Endpoint::try_from_name(endpoint) {
        Ok(mut endpoint) => {
            if let Err(e) = endpoint.write_all(line.as_bytes()) {
                eprintln!("log endpoint {} write failed: {e}", endpoint.name());
            }
        }
        Err(e) => eprintln!("log endpoint {endpoint} unavailable: {e}"),
    }
}
