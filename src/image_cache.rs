//! Drawn QR images kept in Fastly's core cache, so a repeated request for the
//! same image is served without drawing it again. An entry is keyed by the link
//! and the image's `ETag` (`qr_edge_core::answer::image_cache_key`) and tagged
//! with the link's surrogate key, so an admin write of the link purges its
//! images with its record (`lookup::invalidate`).

use crate::bodies::read_all;
use crate::lookup::{write_entry, LinkKey};
use fastly::cache::core::Transaction;
use std::time::Duration;

/// How long a drawn image is kept: as long as browsers may keep it
/// (`Cache-Control: public, max-age=86400`). It never goes stale by itself —
/// its bytes depend only on its key — so only purges and eviction end it.
const IMAGE_TTL: Duration = Duration::from_secs(86_400);

/// Whether the bytes came from the cache (`x-qr-image-cache`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kept {
    /// Served from the cache.
    Hit,
    /// Drawn by this request (and cached, when the cache took it).
    Miss,
}

impl Kept {
    /// The `x-qr-image-cache` value.
    pub fn header_value(self) -> &'static str {
        match self {
            Kept::Hit => "HIT",
            Kept::Miss => "MISS",
        }
    }
}

/// The image under `image_key`: from the cache, else drawn by `draw` and
/// cached. Concurrent first requests for one image wait for the one drawing it
/// (request collapsing) instead of drawing it again. A cache that fails is
/// skipped: the image is drawn, never refused.
pub fn drawn<E>(
    link: &LinkKey,
    image_key: &str,
    draw: impl FnOnce() -> Result<Vec<u8>, E>,
) -> Result<(Vec<u8>, Kept), E> {
    let txn = match Transaction::lookup(image_key.as_bytes().to_vec().into()).execute() {
        Ok(txn) => txn,
        Err(e) => {
            log::warn!("image cache lookup of {image_key} failed, drawing it: {e}");
            return draw().map(|bytes| (bytes, Kept::Miss));
        }
    };
    if let Some(found) = txn.found() {
        if let Some(bytes) = found.to_stream().ok().and_then(|body| read_all(body).ok()) {
            return Ok((bytes, Kept::Hit));
        }
    }
    let bytes = draw()?;
    if txn.must_insert_or_update() {
        let surrogate = link.store_key();
        let written = txn
            .insert(IMAGE_TTL)
            .surrogate_keys([surrogate.as_str()])
            .known_length(bytes.len() as u64)
            .execute();
        if let Err(e) = write_entry(written, &bytes) {
            log::warn!("image cache insert of {image_key} failed: {e}");
        }
    }
    Ok((bytes, Kept::Miss))
}
