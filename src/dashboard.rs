//! `/_admin/` (docs/dashboard.md): the dashboard's three files, embedded in
//! the wasm from `dashboard/` and served only when the admin API is on (the
//! `admin_token` secret exists; else 404 like any unknown path). Only this
//! route reads them: a scan never touches them and makes no extra hostcall.
//! What a path names, the content hashes and the headers are the core's
//! (`qr_edge_core::dashboard`).

use crate::config::secret;
use crate::resources::ADMIN_TOKEN_SECRET;
use crate::responses::Rejection;
use fastly::http::{Method, StatusCode};
use fastly::{Request, Response};
use qr_edge_core::dashboard::{
    asset_cache_control, content_hash, index_page, version, DashboardFile, PAGE_CACHE_CONTROL,
    SECURITY_HEADERS,
};

const INDEX_HTML: &str = include_str!("../dashboard/index.html");
const APP_JS: &str = include_str!("../dashboard/app.js");
const APP_CSS: &str = include_str!("../dashboard/app.css");
/// Content hashes, computed at compile time: an asset's URL changes with its content.
const APP_JS_HASH: u64 = content_hash(APP_JS.as_bytes());
const APP_CSS_HASH: u64 = content_hash(APP_CSS.as_bytes());

/// Answers one `/_admin…` request.
pub fn handle(req: &Request, file: DashboardFile) -> Response {
    if secret(ADMIN_TOKEN_SECRET).is_none_or(|token| token.is_empty()) {
        return Rejection::UnknownPath.into_response();
    }
    let head = match *req.get_method() {
        Method::GET => false,
        Method::HEAD => true,
        _ => return Rejection::MethodNotAllowed(req.get_method_str().to_owned()).into_response(),
    };
    let (body, content_type, cache_control) = match file {
        DashboardFile::Bare => {
            return secured(Response::from_status(StatusCode::MOVED_PERMANENTLY))
                .with_header("location", "/_admin/")
                .with_header("cache-control", PAGE_CACHE_CONTROL)
        }
        DashboardFile::Unknown => return secured(Rejection::UnknownPath.into_response()),
        DashboardFile::Index => (
            index_page(INDEX_HTML, &version(APP_JS_HASH), &version(APP_CSS_HASH)),
            "text/html; charset=utf-8",
            PAGE_CACHE_CONTROL,
        ),
        DashboardFile::Script => (
            APP_JS.to_owned(),
            "text/javascript; charset=utf-8",
            asset_cache_control(req.get_query_str(), &version(APP_JS_HASH)),
        ),
        DashboardFile::Style => (
            APP_CSS.to_owned(),
            "text/css; charset=utf-8",
            asset_cache_control(req.get_query_str(), &version(APP_CSS_HASH)),
        ),
    };
    let response = secured(Response::from_status(StatusCode::OK))
        .with_header("content-type", content_type)
        .with_header("cache-control", cache_control);
    if head {
        response
    } else {
        response.with_body(body)
    }
}

/// The security headers of every dashboard response.
fn secured(mut response: Response) -> Response {
    for (name, value) in SECURITY_HEADERS {
        response.set_header(name, value);
    }
    response
}
