//! Reading a whole body (a cache entry, a KV value) in as few hostcalls as
//! the platform allows.
//!
//! The `fastly` crate's `Body::into_bytes` reads in chunks that start at 32
//! bytes and double: five `fastly_http_body::read` hostcalls for a 300-byte
//! record. Reading through the body's own buffered reader into a vector with
//! room for the usual entry takes two: the bytes, then the end of the body.

use fastly::Body;
use std::io::Read;

/// Room reserved up front: a typical link record (a few hundred bytes) fits,
/// so the first read takes all of it. Larger bodies grow the vector as usual.
const FIRST_READ: usize = 4096;

/// The whole body.
pub fn read_all(mut body: Body) -> std::io::Result<Vec<u8>> {
    let mut bytes = Vec::with_capacity(FIRST_READ);
    body.read_to_end(&mut bytes)?;
    Ok(bytes)
}
