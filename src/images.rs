//! `/{slug}.svg` and `/{slug}.png` (docs/qr-images.md): the printable code of
//! a link that exists, cacheable and revalidated by `ETag`. The core decides
//! the answer (`qr_edge_core::answer::image`); this module reads the request
//! and sends it. Images are not scans: they never write a `scans` line.

use crate::image_cache::drawn;
use crate::lookup::{LinkKey, Refresh};
use crate::pieces::resolve_slug;
use crate::responses::{mark_cache, reply, Rejection};
use fastly::http::{Method, StatusCode};
use fastly::{Request, Response};
use qr_edge_core::answer::{
    self, image, image_cache_key, ImageReply, ImageRequest, IMAGE_CACHE_CONTROL,
};
use qr_edge_core::qr::{ImageFormat, QrOptions};

/// The answer to an image request. Parameters are checked first: a bad one is
/// 400 without touching any store. A stale entry is refreshed after the image
/// is sent, as for a scan.
pub fn respond(req: &Request, key: &LinkKey, format: ImageFormat) -> (Response, Option<Refresh>) {
    let options = match QrOptions::from_query(req.get_query_str().unwrap_or("")) {
        Ok(options) => options,
        Err(e) => return (Rejection::BadImageParameter(e).into_response(), None),
    };
    // A piece code's image encodes the piece code's own short URL (`key.slug`).
    let resolution = resolve_slug(key).resolution;
    let if_none_match = req.get_header_all_str_lossy("if-none-match");
    let if_none_match: Vec<String> = if_none_match.iter().map(|v| v.to_string()).collect();
    let request = ImageRequest {
        domain: &key.domain,
        slug: &key.slug,
        format,
        options: &options,
        if_none_match: &if_none_match,
        head: req.get_method() == Method::HEAD,
    };
    let response = match image(&request, resolution.found(), resolution.cache) {
        ImageReply::Image {
            etag,
            content_type,
            draw,
            cache,
        } => {
            let mut response = Response::from_status(StatusCode::OK)
                .with_header("etag", &etag)
                .with_header("cache-control", IMAGE_CACHE_CONTROL)
                .with_header("content-type", content_type);
            if draw {
                let image_key = image_cache_key(&request, &etag);
                match drawn(key, &image_key, || answer::draw(&request)) {
                    Ok((bytes, kept)) => {
                        response.set_header("x-qr-image-cache", kept.header_value());
                        response.set_body(bytes);
                    }
                    Err(e) => {
                        return (
                            Rejection::ImageTooLarge(e.to_string()).into_response(),
                            resolution.refresh,
                        )
                    }
                }
            }
            mark_cache(&mut response, cache);
            response
        }
        ImageReply::NotModified { etag, cache } => {
            let mut response = Response::from_status(StatusCode::NOT_MODIFIED)
                .with_header("etag", etag)
                .with_header("cache-control", IMAGE_CACHE_CONTROL);
            mark_cache(&mut response, cache);
            response
        }
        ImageReply::Page(plan) => reply(plan),
    };
    (response, resolution.refresh)
}
