//! Every response the public routes send, built in one place: the core's
//! reply plans rendered to HTTP, and the typed rejections of bad requests.

use fastly::http::StatusCode;
use fastly::Response;
use qr_edge_core::freshness::CacheState;
use qr_edge_core::pages::printable;
use qr_edge_core::path::{HostError, ALLOW_PUBLIC};
use qr_edge_core::reply::{Body, Reply, NO_SHARED_CACHE};

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

/// The core's reply plan as HTTP: the status, `Location`, body and
/// `Retry-After` it names, its `Cache-Control` (`private, max-age=0` but for a
/// served app-link file: a destination may change at any time), and
/// `x-qr-cache` when a lookup happened.
pub fn reply(plan: Reply) -> Response {
    let status = StatusCode::from_u16(plan.status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
    let mut response =
        Response::from_status(status).with_header("cache-control", plan.cache_control());
    if let Some(location) = &plan.location {
        response.set_header("location", location);
    }
    match plan.body {
        Body::Empty => {}
        Body::Html(page) => response.set_body_text_html(&page),
        Body::Text(text) => response.set_body_text_plain(text),
        Body::Json(document) => {
            response.set_body(document);
            response.set_content_type(fastly::mime::APPLICATION_JSON);
        }
    }
    if let Some(seconds) = plan.retry_after {
        response.set_header("retry-after", seconds.to_string());
    }
    mark_cache(&mut response, plan.cache);
    response
}

/// `x-qr-cache`: how the cache took part, when a lookup happened.
pub fn mark_cache(response: &mut Response, cache: CacheState) {
    if let Some(value) = cache.header_value() {
        response.set_header("x-qr-cache", value);
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
