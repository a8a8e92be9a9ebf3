//! `/{slug}.svg` and `/{slug}.png` (SPEC §7): the printable code of an
//! existing short link, cacheable and revalidated by `ETag`.

use crate::responses::Rejection;
use fastly::http::StatusCode;
use fastly::{Request, Response};
use qr_edge_core::qr::{content_type, etag, render, short_url_text, ImageFormat, QrOptions};

/// `Cache-Control` of images: the code of a short URL never changes.
const IMAGE_CACHE_CONTROL: &str = "public, max-age=86400";

/// The image response for an existing link.
pub fn image(req: &Request, domain: &str, slug: &str, format: ImageFormat) -> Response {
    let options = match QrOptions::from_query(req.get_query_str().unwrap_or("")) {
        Ok(options) => options,
        Err(e) => return Rejection::BadImageParameter(e).into_response(),
    };
    let text = short_url_text(domain, slug);
    let tag = etag(&text, format, &options);
    let not_modified = req
        .get_header_all_str_lossy("if-none-match")
        .iter()
        .flat_map(|value| value.split(','))
        .any(|candidate| matches!(candidate.trim(), "*") || candidate.trim() == tag);
    let response = Response::from_status(StatusCode::OK)
        .with_header("etag", &tag)
        .with_header("cache-control", IMAGE_CACHE_CONTROL);
    if not_modified {
        return response.with_status(StatusCode::NOT_MODIFIED);
    }
    match render(&text, format, &options) {
        Ok(bytes) => response.with_header("content-type", content_type(format)).with_body(bytes),
        Err(e) => Rejection::ImageTooLarge(e.to_string()).into_response(),
    }
}
