//! Every response the public routes send, built in one place: redirects,
//! pages, and the typed rejections of bad requests.

use fastly::http::StatusCode;
use fastly::Response;
use qr_edge_core::decide::{location_value, Decision};
use qr_edge_core::freshness::CacheState;
use qr_edge_core::pages::{self, printable};
use qr_edge_core::path::{HostError, ALLOW_PUBLIC};

/// `Cache-Control` of redirects and link pages: the destination may change at any time.
pub const NO_SHARED_CACHE: &str = "private, max-age=0";

/// A request refused before any link was looked at. Each names what was wrong.
#[derive(Debug)]
pub enum Rejection {
    /// The path is no route of ours (404, no store touched).
    UnknownPath,
    /// A method other than `GET`/`HEAD` on a public route (405).
    MethodNotAllowed(String),
    /// `OPTIONS` on a public route (204).
    Options,
    /// Missing or malformed `Host` (400).
    BadHost(HostError),
    /// A host outside setting `domains` (421).
    MisdirectedHost(String),
    /// A QR image parameter out of range (400, problem+json).
    BadImageParameter(qr_edge_core::qr::ParamError),
    /// The short URL does not fit a QR symbol (cannot happen for valid hosts and slugs).
    ImageTooLarge(String),
}

impl Rejection {
    /// The response for this rejection.
    pub fn into_response(self) -> Response {
        match self {
            Rejection::UnknownPath => text(StatusCode::NOT_FOUND, "not found: no such path\n"),
            Rejection::MethodNotAllowed(method) => text(
                StatusCode::METHOD_NOT_ALLOWED,
                &format!(
                    "method {} not allowed: use GET or HEAD\n",
                    printable(&method, 32)
                ),
            )
            .with_header("allow", ALLOW_PUBLIC),
            Rejection::Options => {
                Response::from_status(StatusCode::NO_CONTENT).with_header("allow", ALLOW_PUBLIC)
            }
            Rejection::BadHost(e) => text(StatusCode::BAD_REQUEST, &format!("bad request: {e}\n")),
            Rejection::MisdirectedHost(host) => text(
                StatusCode::MISDIRECTED_REQUEST,
                &format!("misdirected request: this service does not serve host {host}\n"),
            ),
            Rejection::BadImageParameter(e) => problem(
                StatusCode::BAD_REQUEST,
                "Invalid image parameter",
                &e.to_string(),
                Some(e.param),
            ),
            Rejection::ImageTooLarge(e) => problem(
                StatusCode::BAD_REQUEST,
                "Short URL too long for a QR code",
                &e,
                None,
            ),
        }
    }
}

/// Plain text with no caching.
pub fn text(status: StatusCode, body: &str) -> Response {
    Response::from_status(status)
        .with_content_type(fastly::mime::TEXT_PLAIN_UTF_8)
        .with_header("cache-control", NO_SHARED_CACHE)
        .with_body(body.to_owned())
}

/// A JSON body that no cache keeps (health, admin API answers).
pub fn json(status: StatusCode, body: String) -> Response {
    Response::from_status(status)
        .with_content_type(fastly::mime::APPLICATION_JSON)
        .with_header("cache-control", "no-store")
        .with_body(body)
}

/// An HTML page with no shared caching.
pub fn html(status: StatusCode, body: String) -> Response {
    Response::from_status(status)
        .with_content_type(fastly::mime::TEXT_HTML_UTF_8)
        .with_header("cache-control", NO_SHARED_CACHE)
        .with_body(body)
}

/// A redirect: `Location`, `Cache-Control: private, max-age=0`, empty body.
/// The location is serialised to ASCII first: the `fastly` crate panics on a
/// header value it cannot send, and a stored URL may hold any Unicode.
pub fn redirect(status: u16, location: &str) -> Response {
    Response::from_status(StatusCode::from_u16(status).unwrap_or(StatusCode::FOUND))
        .with_header("location", location_value(location))
        .with_header("cache-control", NO_SHARED_CACHE)
}

/// The response for a decision about a slug.
pub fn for_decision(decision: &Decision, cache: CacheState) -> Response {
    let response = match (&decision.location, decision.status) {
        (Some(location), status) => redirect(status, location),
        (None, 410) => html(StatusCode::GONE, pages::gone()),
        (None, 503) => html(StatusCode::SERVICE_UNAVAILABLE, pages::unavailable())
            .with_header("retry-after", "30"),
        (None, _) => html(StatusCode::NOT_FOUND, pages::not_found()),
    };
    with_cache_state(response, cache)
}

/// Adds `x-qr-cache` when a lookup happened.
pub fn with_cache_state(response: Response, cache: CacheState) -> Response {
    match cache.header_value() {
        Some(value) => response.with_header("x-qr-cache", value),
        None => response,
    }
}

/// An RFC 9457 problem document naming the offending parameter or field.
pub fn problem(status: StatusCode, title: &str, detail: &str, field: Option<&str>) -> Response {
    let mut body = serde_json::json!({
        "type": "about:blank",
        "title": title,
        "status": status.as_u16(),
        "detail": detail,
    });
    if let Some(field) = field {
        body["field"] = serde_json::Value::from(field);
    }
    Response::from_status(status)
        .with_header("content-type", "application/problem+json")
        .with_header("cache-control", "no-store")
        .with_body(body.to_string())
}
