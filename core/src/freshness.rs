//! Cache windows (docs/resilience.md): how old a cached entry may be and what its age
//! means for the scan, and the names `x-qr-cache` and the scan log give the result.

use serde::Serialize;

/// How the record (or "not found") of a scan was obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CacheState {
    /// Fresh from the cache.
    Hit,
    /// Looked up in KV or at the origin.
    Miss,
    /// Served stale while one request refreshes it.
    Stale,
    /// Served stale because the refresh failed.
    StaleIfError,
    /// Nothing was looked up.
    None,
}

impl CacheState {
    /// The `x-qr-cache` header value; `None` for [`CacheState::None`].
    pub fn header_value(self) -> Option<&'static str> {
        match self {
            CacheState::Hit => Some("HIT"),
            CacheState::Miss => Some("MISS"),
            CacheState::Stale => Some("STALE"),
            CacheState::StaleIfError => Some("STALE-IF-ERROR"),
            CacheState::None => None,
        }
    }
}

/// Where the record came from (the scan event's `source`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// The Fastly cache.
    Cache,
    /// The `links` KV store.
    Kv,
    /// The `origin` backend.
    Origin,
    /// Nowhere.
    None,
}

/// What a cached entry's age allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Freshness {
    /// Younger than its TTL: serve.
    Fresh,
    /// Within `stale_while_revalidate`: serve, one request refreshes after responding.
    ServeStale,
    /// Within `stale_if_error`: refresh first, serve stale only on a source error.
    RefreshFirst,
    /// Too old to use at all.
    Expired,
}

/// The windows of one cache entry, in seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Windows {
    /// Fresh for this long.
    pub ttl: u32,
    /// Then served while revalidating for this long.
    pub stale_while_revalidate: u32,
    /// Usable on source errors until `ttl` + this.
    pub stale_if_error: u32,
}

impl Windows {
    /// Windows of a found record.
    pub fn for_record(ttl: u32, stale_while_revalidate: u32, stale_if_error: u32) -> Windows {
        Windows {
            ttl,
            stale_while_revalidate,
            stale_if_error,
        }
    }

    /// Windows of a "not found": fresh for `negative_ttl`, never stale.
    pub fn for_not_found(negative_ttl: u32) -> Windows {
        Windows {
            ttl: negative_ttl,
            stale_while_revalidate: 0,
            stale_if_error: 0,
        }
    }

    /// Seconds after its TTL that the entry must stay in the cache.
    pub fn stale_span(&self) -> u32 {
        self.stale_while_revalidate.max(self.stale_if_error)
    }

    /// What an entry of this age allows, in milliseconds.
    pub fn classify(&self, age_ms: u64) -> Freshness {
        let ttl = u64::from(self.ttl) * 1000;
        if age_ms < ttl {
            Freshness::Fresh
        } else if age_ms < ttl + u64::from(self.stale_while_revalidate) * 1000 {
            Freshness::ServeStale
        } else if age_ms < ttl + u64::from(self.stale_if_error) * 1000 {
            Freshness::RefreshFirst
        } else {
            Freshness::Expired
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_records_life() {
        let w = Windows::for_record(60, 300, 604_800);
        assert_eq!(w.classify(0), Freshness::Fresh);
        assert_eq!(w.classify(59_999), Freshness::Fresh);
        assert_eq!(w.classify(60_000), Freshness::ServeStale);
        assert_eq!(w.classify(359_999), Freshness::ServeStale);
        assert_eq!(w.classify(360_000), Freshness::RefreshFirst);
        assert_eq!(w.classify(604_859_999), Freshness::RefreshFirst);
        assert_eq!(w.classify(604_860_000), Freshness::Expired);
        assert_eq!(w.stale_span(), 604_800);
    }

    #[test]
    fn not_found_is_never_stale() {
        let w = Windows::for_not_found(30);
        assert_eq!(w.classify(29_999), Freshness::Fresh);
        assert_eq!(w.classify(30_000), Freshness::Expired);
    }

    #[test]
    fn header_and_log_names() {
        assert_eq!(
            CacheState::StaleIfError.header_value(),
            Some("STALE-IF-ERROR")
        );
        assert_eq!(
            serde_json::to_string(&CacheState::StaleIfError).unwrap(),
            "\"stale_if_error\""
        );
        assert_eq!(serde_json::to_string(&Source::Kv).unwrap(), "\"kv\"");
    }
}
