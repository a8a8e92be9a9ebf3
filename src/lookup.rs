//! Link resolution (docs/resilience.md): the Fastly cache, then the `links` KV store, then
//! the `origin` backend. Records and "not found" are cached under
//! `{domain}/{slug}`; stale entries are served while one request refreshes
//! them, or when every source fails. [`invalidate`] makes an admin write
//! visible at once (docs/admin-api.md), even against a source read already under way.

use crate::bodies::read_all;
use crate::resources::{LINKS_KV_STORE, ORIGIN_BACKEND};
use fastly::cache::core::{self, Transaction};
use fastly::kv_store::KVStoreError;
use fastly::{Backend, KVStore, Request};
use qr_edge_core::answer::Found;
use qr_edge_core::freshness::{CacheState, Freshness, Source, Windows};
use qr_edge_core::record::{parse_record, LinkRecord, Strictness};
use qr_edge_core::settings::Settings;
use std::io::{Read, Write};
use std::time::Duration;

/// What the sources say about a slug.
#[derive(Debug, Clone, PartialEq)]
pub enum Link {
    /// A valid record.
    Found(LinkRecord),
    /// No source knows the slug.
    NotFound,
}

/// Why no source could answer.
#[derive(Debug)]
pub enum SourceError {
    /// The KV store failed.
    Kv(KVStoreError),
    /// A KV value could not be read to its end.
    KvRead(std::io::Error),
    /// The origin could not be reached, timed out, or answered an unexpected status.
    Origin(String),
    /// A source answered something that is not a valid record.
    InvalidRecord(Source, String),
}

impl std::fmt::Display for SourceError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SourceError::Kv(e) => write!(f, "KV store: {e}"),
            SourceError::KvRead(e) => write!(f, "KV store, reading a value: {e}"),
            SourceError::Origin(e) => write!(f, "origin: {e}"),
            SourceError::InvalidRecord(source, e) => {
                write!(f, "invalid record from {source:?}: {e}")
            }
        }
    }
}

/// The result of resolving one slug.
pub struct Resolution {
    /// The link, or `None` when nothing could be resolved.
    pub link: Option<Link>,
    /// How it was obtained (`x-qr-cache`, scan `cache`).
    pub cache: CacheState,
    /// Where it came from (scan `source`).
    pub source: Source,
    /// A stale entry to refresh after the response has been sent.
    pub refresh: Option<Refresh>,
}

impl Resolution {
    /// What the lookup found, as the core's answer takes it.
    pub fn found(&self) -> Found<'_> {
        match &self.link {
            Some(Link::Found(record)) => Found::Record(record),
            Some(Link::NotFound) => Found::NotFound,
            None => Found::Unavailable,
        }
    }
}

/// Where and how to look a slug up.
#[derive(Clone)]
pub struct LinkKey {
    /// Short-link domain, lower case.
    pub domain: String,
    /// Slug, lower case.
    pub slug: String,
    /// The domain's settings.
    pub settings: Settings,
}

impl LinkKey {
    /// The KV key, cache key and surrogate key: `{domain}/{slug}`.
    pub fn store_key(&self) -> String {
        format!("{}/{}", self.domain, self.slug)
    }

    fn windows(&self, link: &Link) -> Windows {
        let s = &self.settings;
        match link {
            Link::Found(_) => {
                Windows::for_record(s.cache_ttl, s.stale_while_revalidate, s.stale_if_error)
            }
            Link::NotFound => Windows::for_not_found(s.negative_ttl),
        }
    }
}

/// Resolves a slug through the cache and, where needed, the sources.
pub fn resolve(key: &LinkKey) -> Resolution {
    let txn = match Transaction::lookup(key.store_key().into_bytes().into()).execute() {
        Ok(txn) => txn,
        Err(e) => {
            log::warn!("cache lookup failed, going to the sources: {e}");
            return from_sources(key, None, None);
        }
    };
    let cached = txn
        .found()
        .and_then(|found| decode(key, &found).map(|link| (age_ms(&found), link)));
    let Some((age, link)) = cached else {
        return from_sources(key, Some(txn), None);
    };
    match key.windows(&link).classify(age) {
        Freshness::Fresh => served_from_cache(link, CacheState::Hit, None),
        Freshness::ServeStale => {
            let refresh = txn.must_insert_or_update().then(|| Refresh {
                txn,
                key: key.clone(),
            });
            served_from_cache(link, CacheState::Stale, refresh)
        }
        Freshness::RefreshFirst => from_sources(key, Some(txn), Some(link)),
        Freshness::Expired => from_sources(key, Some(txn), None),
    }
}

fn served_from_cache(link: Link, cache: CacheState, refresh: Option<Refresh>) -> Resolution {
    Resolution {
        link: Some(link),
        cache,
        source: Source::Cache,
        refresh,
    }
}

/// Asks the sources; caches the answer when this request holds the insert
/// obligation; falls back to `stale` on a source error.
fn from_sources(key: &LinkKey, txn: Option<Transaction>, stale: Option<Link>) -> Resolution {
    match fetch(key) {
        Ok((link, source)) => {
            if let Some(txn) = txn.filter(Transaction::must_insert_or_update) {
                store(key, txn, &link);
            }
            Resolution {
                link: Some(link),
                cache: CacheState::Miss,
                source,
                refresh: None,
            }
        }
        Err(e) => {
            log::error!("lookup of {} failed: {e}", key.store_key());
            match stale {
                Some(link) => served_from_cache(link, CacheState::StaleIfError, None),
                None => Resolution {
                    link: None,
                    cache: CacheState::Miss,
                    source: Source::None,
                    refresh: None,
                },
            }
        }
    }
}

/// The obligation to refresh a stale entry, kept until after the response.
/// Dropping it unfulfilled cancels it, so another request can take it.
pub struct Refresh {
    txn: Transaction,
    key: LinkKey,
}

impl Refresh {
    /// Fetches the link afresh and replaces the cache entry; on a source
    /// error the stale entry stays and the obligation is given back.
    pub fn run(self) {
        match fetch(&self.key) {
            Ok((link, _)) => store(&self.key, self.txn, &link),
            Err(e) => log::warn!("background refresh of {} failed: {e}", self.key.store_key()),
        }
    }
}

/// KV first; on a KV miss (or no KV store), the origin (if configured).
fn fetch(key: &LinkKey) -> Result<(Link, Source), SourceError> {
    let mut asked = Source::None;
    // An absent store is a supported configuration (origin only); a store
    // that fails to open is a source error, never "not found" (docs/resources.md).
    let store = match KVStore::open(LINKS_KV_STORE) {
        Ok(store) => store,
        Err(KVStoreError::StoreNotFound(_)) => None,
        Err(e) => return Err(SourceError::Kv(e)),
    };
    if let Some(store) = store {
        asked = Source::Kv;
        match store.lookup(&key.store_key()) {
            Ok(mut found) => {
                let body = read_all(found.take_body()).map_err(SourceError::KvRead)?;
                // A deleted link's tombstone (admin.rs, `DELETE`) is a KV miss.
                if !qr_edge_core::admin::is_tombstone(&body) {
                    return parse(key, &body, Source::Kv).map(|l| (l, Source::Kv));
                }
            }
            Err(KVStoreError::ItemNotFound) => {}
            Err(e) => return Err(SourceError::Kv(e)),
        }
    }
    if let Ok(backend) = Backend::from_name(ORIGIN_BACKEND) {
        if backend.exists() {
            return fetch_origin(key, &backend).map(|l| (l, Source::Origin));
        }
    }
    Ok((Link::NotFound, asked))
}

/// `GET /links/{domain}/{slug}` at the origin: 200 record, 404 not found,
/// anything else a source error. Timeouts come from the backend definition.
fn fetch_origin(key: &LinkKey, backend: &Backend) -> Result<Link, SourceError> {
    let url = format!(
        "http://{}/links/{}/{}",
        ORIGIN_BACKEND, key.domain, key.slug
    );
    let resp = Request::get(url)
        .with_header("accept", "application/json")
        .with_pass(true)
        .send(backend.clone())
        .map_err(|e| SourceError::Origin(e.root_cause().to_string()))?;
    match resp.get_status().as_u16() {
        200 => {
            let mut body = Vec::new();
            let limit = qr_edge_core::record::MAX_RECORD_BYTES as u64 + 1;
            resp.into_body()
                .take(limit)
                .read_to_end(&mut body)
                .map_err(|e| SourceError::Origin(format!("reading the body: {e}")))?;
            parse(key, &body, Source::Origin)
        }
        404 => Ok(Link::NotFound),
        status => Err(SourceError::Origin(format!("answered {status}"))),
    }
}

fn parse(key: &LinkKey, body: &[u8], source: Source) -> Result<Link, SourceError> {
    let policy = key.settings.policy(&key.domain);
    parse_record(body, Strictness::Reader, &policy)
        .map(Link::Found)
        .map_err(|e| SourceError::InvalidRecord(source, e.to_string()))
}

/// Cache entry body: `N` for "not found", `R` + record JSON for a record
/// ([`HIDDEN`] is the third kind, written only by [`invalidate`]).
fn encode(link: &Link) -> Vec<u8> {
    match link {
        Link::NotFound => b"N".to_vec(),
        Link::Found(record) => {
            let mut body = b"R".to_vec();
            body.extend(serde_json::to_vec(record).unwrap_or_default());
            body
        }
    }
}

/// Reads a cache entry back; records are validated again, so a tightened
/// `destination_hosts` applies to cached records at once. `None` when unusable.
fn decode(key: &LinkKey, found: &core::Found) -> Option<Link> {
    let body = read_all(found.to_stream().ok()?).ok()?;
    match body.split_first() {
        Some((b'N', _)) => Some(Link::NotFound),
        Some((b'R', json)) => parse(key, json, Source::Cache).ok(),
        // `HIDDEN` (or anything else) is "nothing cached": go to the sources.
        _ => None,
    }
}

fn age_ms(found: &core::Found) -> u64 {
    u64::try_from(found.age().as_millis()).unwrap_or(u64::MAX)
}

/// Writes `link` under the transaction: fresh for its TTL, kept through its stale windows.
fn store(key: &LinkKey, txn: Transaction, link: &Link) {
    let windows = key.windows(link);
    let body = encode(link);
    let surrogate = key.store_key();
    let written = txn
        .insert(Duration::from_secs(windows.ttl.into()))
        .stale_while_revalidate(Duration::from_secs(windows.stale_span().into()))
        .surrogate_keys([surrogate.as_str()])
        .known_length(body.len() as u64)
        .execute();
    if let Err(e) = write_entry(written, &body) {
        log::warn!("cache insert of {surrogate} failed: {e}");
    }
}

/// Writes a cache entry's body into the writer an insert handed out, and finishes it.
pub fn write_entry(
    writer: Result<fastly::http::body::StreamingBody, core::CacheError>,
    body: &[u8],
) -> Result<(), String> {
    let mut writer = writer.map_err(|e| e.to_string())?;
    writer.write_all(body).map_err(|e| e.to_string())?;
    writer.finish().map_err(|e| e.to_string())
}

/// The body of an entry that hides whatever was cached before it.
const HIDDEN: &[u8] = b"H";

/// Makes an admin write of `key` visible at once (docs/admin-api.md): once this returns,
/// no lookup at this POP serves what was cached before the write, not even an
/// entry inserted later by a source read that began before the write. Call it
/// after the KV write has succeeded and before answering.
///
/// A purge alone is not enough, because every source read that may insert runs
/// under a cache obligation that a purge leaves in place: a scan that missed
/// (or a background refresh of a stale entry) reads the old record, the purge
/// passes, then the scan inserts the old record for `cache_ttl`. So:
///
/// 1. Hide: overwrite the entry with a [`HIDDEN`] entry, born expired. A
///    non-transactional insert replaces the item at once (a purge may take
///    ~150 ms to land in production), and an expired item is not usable, so
///    transactional lookups now collapse on any obligation still outstanding
///    instead of being served stale.
/// 2. Wait: a transactional lookup of our own blocks, by request collapsing,
///    while another client holds the obligation (there is at most one per
///    key). When it returns, every obligation that existed at step 1 is done.
/// 3. If that read inserted something, hide it again; if we were handed the
///    obligation instead, nothing was inserted since step 1: give it back.
///    Either way, whatever is inserted from now on comes from a source read
///    that began after step 1, i.e. after the KV write, so it reads the new
///    record (a KV read at the POP that wrote sees the write).
/// 4. Purge the surrogate key for the other POPs (eventual; at this POP it
///    adds nothing to the above).
///
/// The wait usually costs nothing (no read is under way); otherwise it lasts
/// until the read in flight for this link ends, which the origin backend's
/// timeouts bound.
pub fn invalidate(key: &LinkKey) {
    let cache_key = key.store_key();
    hide(&cache_key);
    match Transaction::lookup(cache_key.clone().into_bytes().into()).execute() {
        Ok(txn) => {
            if txn.found().is_some() {
                hide(&cache_key);
            }
            if txn.must_insert_or_update() {
                if let Err(e) = txn.cancel_insert_or_update() {
                    log::warn!("giving back the cache obligation of {cache_key} failed: {e}");
                }
            }
        }
        Err(e) => {
            log::warn!("cache lookup of {cache_key} after a write failed: {e}");
            hide(&cache_key);
        }
    }
    if let Err(e) = fastly::http::purge::purge_surrogate_key(&cache_key) {
        log::error!("purge of {cache_key} failed; other POPs keep it until it expires: {e}");
    }
}

/// Overwrites `cache_key` with a [`HIDDEN`] entry that is already expired (an
/// initial age past its max age, as Viceroy's own "immediately stale" test
/// does), so no lookup can use it.
fn hide(cache_key: &str) {
    let written = core::insert(cache_key.as_bytes().to_vec().into(), Duration::from_secs(1))
        .initial_age(Duration::from_secs(2))
        .surrogate_keys([cache_key])
        .known_length(HIDDEN.len() as u64)
        .execute();
    if let Err(e) = write_entry(written, HIDDEN) {
        log::warn!("hiding the cache entry of {cache_key} failed: {e}");
    }
}

#[cfg(test)]
mod tests {
    //! These run inside Viceroy against the fixture KV store of `fastly.toml`
    //! and Viceroy's real core cache.
    use super::*;

    fn key(slug: &str) -> LinkKey {
        LinkKey {
            domain: "go.example.com".into(),
            slug: slug.into(),
            settings: Settings::default(),
        }
    }

    #[test]
    fn a_kv_record_is_cached_after_the_first_lookup() {
        let first = resolve(&key("spring26"));
        assert_eq!((first.cache, first.source), (CacheState::Miss, Source::Kv));
        let Some(Link::Found(record)) = first.link else {
            panic!("spring26 is in fixtures/links.json")
        };
        assert_eq!(record.url, "https://example.com/spring");
        let second = resolve(&key("spring26"));
        assert_eq!(
            (second.cache, second.source),
            (CacheState::Hit, Source::Cache)
        );
        assert_eq!(second.link, Some(Link::Found(record)));
    }

    #[test]
    fn after_invalidate_the_next_lookup_goes_to_the_sources() {
        let cached = resolve(&key("menu")).link;
        assert!(
            matches!(cached, Some(Link::Found(_))),
            "menu is in fixtures/links.json"
        );
        assert_eq!(resolve(&key("menu")).cache, CacheState::Hit);
        invalidate(&key("menu"));
        let after = resolve(&key("menu"));
        assert_eq!((after.cache, after.source), (CacheState::Miss, Source::Kv));
        assert_eq!(after.link, cached);
        assert_eq!(
            resolve(&key("menu")).cache,
            CacheState::Hit,
            "and is cached again"
        );
    }

    #[test]
    fn cache_entries_round_trip() {
        let record = Link::Found(LinkRecord::to("https://example.com/x"));
        assert_eq!(encode(&Link::NotFound), b"N");
        assert_eq!(encode(&record)[0], b'R');
        assert_eq!(key("a").store_key(), "go.example.com/a");
    }
}
