//! `/{slug}.svg` and `/{slug}.png` (SPEC §7): the printable code of a link
//! that exists, cacheable and revalidated by `ETag`. Images are not scans:
//! they never write a `scans` line.

use crate::lookup::{resolve, Link, LinkKey, Refresh};
use crate::responses::{for_decision, with_cache_state, Rejection};
use fastly::http::{Method, StatusCode};
use fastly::{Request, Response};
use qr_edge_core::conditional::TagSet;
use qr_edge_core::decide;
use qr_edge_core::qr::{content_type, etag, render, short_url_text, ImageFormat, QrOptions};

/// `Cache-Control` of images: the code of a short URL never changes (the
/// destination behind it may, but the code does not encode the destination).
const IMAGE_CACHE_CONTROL: &str = "public, max-age=86400";

/// The answer to an image request.
///
/// - Parameters are checked first: a bad one is 400 without touching any store.
/// - Any link that exists gets its code, including a disabled or expired one:
///   the owner may re-enable or extend it, and the printed code stays the same.
/// - Unknown slug → 404 (not `not_found_url`); nothing resolvable → 503 with
///   `Retry-After` (not `fallback_url`: a redirect is no image).
pub fn respond(req: &Request, key: &LinkKey, format: ImageFormat) -> (Response, Option<Refresh>) {
    let options = match QrOptions::from_query(req.get_query_str().unwrap_or("")) {
        Ok(options) => options,
        Err(e) => return (Rejection::BadImageParameter(e).into_response(), None),
    };
    let resolution = resolve(key);
    let response = match resolution.link {
        Some(Link::Found(_)) => with_cache_state(
            image(req, &key.domain, &key.slug, format, &options),
            resolution.cache,
        ),
        Some(Link::NotFound) => for_decision(&decide::not_found(None), resolution.cache),
        None => for_decision(&decide::unavailable(None), resolution.cache),
    };
    // A stale entry is refreshed after the image is sent, as for a scan.
    (response, resolution.refresh)
}

/// The code of `https://{DOMAIN}/{SLUG}`: 200 with the image, or 304 when the
/// client's `If-None-Match` already names it. `HEAD` skips the rendering.
fn image(
    req: &Request,
    domain: &str,
    slug: &str,
    format: ImageFormat,
    options: &QrOptions,
) -> Response {
    let text = short_url_text(domain, slug);
    let tag = etag(&text, format, options);
    let response = Response::from_status(StatusCode::OK)
        .with_header("etag", &tag)
        .with_header("cache-control", IMAGE_CACHE_CONTROL);
    let conditions = req.get_header_all_str_lossy("if-none-match");
    if conditions
        .iter()
        .any(|header| TagSet::parse(header).matches_weak(&tag))
    {
        // RFC 9110 §15.4.5: a 304 repeats ETag and Cache-Control, and has no body.
        return response.with_status(StatusCode::NOT_MODIFIED);
    }
    let response = response.with_header("content-type", content_type(format));
    if req.get_method() == Method::HEAD {
        return response;
    }
    match render(&text, format, options) {
        Ok(bytes) => response.with_body(bytes),
        Err(e) => Rejection::ImageTooLarge(e.to_string()).into_response(),
    }
}
