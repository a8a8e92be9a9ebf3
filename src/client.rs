//! The facts of the client request: who is scanning, from Fastly's own data
//! (geolocation of the client address, device detection of the user agent,
//! classified by the pure core), its headers, its id and when it arrived.

use fastly::http::HeaderName;
use fastly::Request;
use qr_edge_core::visitor::{Continent, DeviceHints, Geo, RequestFacts, Visitor};
use qr_edge_core::vocabulary::Named;
use std::borrow::Cow;
use std::net::IpAddr;
use std::time::{SystemTime, UNIX_EPOCH};

/// The headers a scan reads: six, most of them absent from a phone's scan
/// (`Referer`, and the browsers' prefetch signals `Sec-Purpose`, `Purpose`,
/// `X-Moz`). The names come first, in one hostcall for a usual request; then
/// only the values that are present, one hostcall each. Asking for each header
/// by name would cost a hostcall per header, present or not.
pub struct ScanHeaders {
    pub user_agent: Option<String>,
    pub accept_language: Option<String>,
    pub referer: Option<String>,
    sec_purpose: Option<String>,
    purpose: Option<String>,
    x_moz: Option<String>,
}

impl ScanHeaders {
    pub fn read(req: &Request) -> ScanHeaders {
        let present: Vec<HeaderName> = req.get_header_names().cloned().collect();
        let value = |name: &str| {
            present
                .iter()
                .any(|present| present == name)
                .then(|| header(req, name).map(Cow::into_owned))
                .flatten()
        };
        ScanHeaders {
            user_agent: value("user-agent"),
            accept_language: value("accept-language"),
            referer: value("referer"),
            sec_purpose: value("sec-purpose"),
            purpose: value("purpose"),
            x_moz: value("x-moz"),
        }
    }
}

/// The visitor behind the client request.
pub fn visitor(req: &Request, headers: &ScanHeaders) -> Visitor {
    let ip = req.get_client_ip_addr();
    let user_agent = headers.user_agent.as_deref();
    let request = RequestFacts {
        is_head: req.get_method_str() == "HEAD",
        sec_purpose: headers.sec_purpose.as_deref(),
        purpose: headers.purpose.as_deref(),
        x_moz: headers.x_moz.as_deref(),
    };
    Visitor::classify(
        ip,
        user_agent,
        headers.accept_language.as_deref(),
        request,
        ip.map(geo).unwrap_or_default(),
        user_agent.and_then(device_hints),
    )
}

/// A header's first value as text; bytes that are not UTF-8 become U+FFFD
/// (the `fastly` crate's strict accessor would panic on them).
pub fn header<'a>(req: &'a Request, name: &str) -> Option<Cow<'a, str>> {
    req.get_header_str_lossy(name)
}

/// The request id: Fastly's client request id, else the sandbox's id (the
/// SDK's runtime API; `FASTLY_TRACE_ID` underneath).
pub fn request_id(req: &Request) -> String {
    req.get_client_request_id()
        .unwrap_or_else(|| fastly::compute_runtime::sandbox_id())
        .to_owned()
}

/// The Fastly POP serving the request (the SDK's runtime API), when known.
pub fn pop() -> Option<String> {
    Some(fastly::compute_runtime::pop())
        .filter(|pop| !pop.is_empty())
        .map(str::to_owned)
}

/// Now, in Unix milliseconds.
pub fn unix_millis() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// Fastly geolocation, with the region as `CC-RR` like rule conditions.
fn geo(ip: IpAddr) -> Geo {
    let Some(g) = fastly::geo::geo_lookup(ip) else {
        return Geo::default();
    };
    let country = non_empty(g.country_code()).map(str::to_ascii_uppercase);
    let region = match (&country, g.region()) {
        (Some(cc), Some(rr)) if !rr.is_empty() => Some(format!("{cc}-{}", rr.to_ascii_uppercase())),
        _ => None,
    };
    Geo {
        region,
        city: non_empty(g.city()).map(str::to_owned),
        continent: Continent::parse(g.continent().as_code()),
        asn: Some(g.as_number()).filter(|asn| *asn != 0),
        country,
    }
}

/// Fastly device detection, when it knows the user agent.
fn device_hints(user_agent: &str) -> Option<DeviceHints> {
    let d = fastly::device_detection::lookup(user_agent)?;
    Some(DeviceHints {
        is_mobile: d.is_mobile().unwrap_or(false),
        is_tablet: d.is_tablet().unwrap_or(false),
        is_desktop: d.is_desktop().unwrap_or(false),
        is_bot: d.is_bot().unwrap_or(false),
    })
}

fn non_empty(s: &str) -> Option<&str> {
    Some(s).filter(|s| !s.is_empty() && *s != "?")
}
