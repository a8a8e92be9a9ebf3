//! The benchmark floor: the cheapest possible redirect on Compute, a fixed 302
//! with no lookup, no logging and no allocation beyond the response itself.
use fastly::http::StatusCode;
use fastly::{Request, Response};

fn main() {
    let _req = Request::from_client();
    Response::from_status(StatusCode::FOUND)
        .with_header("location", "https://example.com/")
        .with_header("cache-control", "private, max-age=0")
        .send_to_client();
}
