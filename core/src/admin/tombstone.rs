//! Tombstones: how a `DELETE` deletes exactly the version it read (docs/admin-api.md,
//! "never deletes another version than the one matched").
//!
//! Fastly's KV delete takes no generation condition, so a delete that checks
//! the generation first and then deletes would delete a version written in
//! between, unseen. An insert does take one (`if_generation_match`), so a
//! `DELETE` instead replaces the version it read by this tombstone, on that
//! generation: when another write came first, the insert fails and nothing is
//! deleted (412 for `If-Match`, a fresh read otherwise).
//!
//! Every reader treats a tombstone exactly as an absent key: the redirect path
//! (`src/lookup.rs`, on to the origin as on a KV miss), and the admin API's
//! reads, listings and writes (`src/admin.rs`; a create replaces a tombstone on
//! the tombstone's own generation, so two creates still cannot both win). It is
//! written with a KV time-to-live, so it disappears by itself.

/// The value of a deleted link. Not a record (no `url`), so a reader that does
/// not know tombstones refuses it rather than redirecting anywhere.
pub const TOMBSTONE: &[u8] =
    br#"{"deleted":"qr-edge tombstone: this link was deleted; treated as absent"}"#;

/// How long a tombstone lives (KV time-to-live). Readers treat it as absent
/// from the start, so the figure only bounds how long it clutters the store;
/// Fastly removes expired items within 24 hours of the expiry.
pub const TOMBSTONE_TTL_SECS: u64 = 3600;

/// Whether a stored value is a tombstone.
pub fn is_tombstone(stored: &[u8]) -> bool {
    stored == TOMBSTONE
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{parse_record, DestinationPolicy, Strictness};

    #[test]
    fn a_tombstone_is_no_record_for_any_reader() {
        let policy = DestinationPolicy::open("go.example.com");
        assert!(parse_record(TOMBSTONE, Strictness::Reader, &policy).is_err());
        assert!(is_tombstone(TOMBSTONE));
        assert!(!is_tombstone(br#"{"url":"https://example.com/"}"#));
        assert!(!is_tombstone(b""));
    }
}
