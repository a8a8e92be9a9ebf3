//! `GET /_api/v1/export?domain=&cursor=` at the edge (docs/admin-api.md,
//! "Export"): one KV list page, its values looked up together, as many
//! taken as one response's budget allows (`qr_edge_core::admin::PageBudget`),
//! then the head with the next cursor, then one import line per link streamed
//! as each value is turned into it. Everything that can refuse the request
//! (bad query, bad cursor, a store that fails) is decided before the head
//! goes out; what a line says is the core's (`qr_edge_core::admin::export_line`).

use crate::admin::{list_page, store_error};
use crate::resources::LINKS_KV_STORE;
use fastly::http::body::StreamingBody;
use fastly::http::StatusCode;
use fastly::kv_store::KVStoreError;
use fastly::{KVStore, Request, Response};
use qr_edge_core::admin::{export_line, AdminError, ExportQuery, PageBudget, EXPORT_LIST_LIMIT};
use qr_edge_core::record::MAX_RECORD_BYTES;
use std::io::{Read, Write};

/// The values of one export response, read before its head is sent; turned
/// into lines once it is ([`Export::stream`]).
pub struct Export {
    /// `(key, stored value)`, in key order. At most
    /// [`qr_edge_core::admin::EXPORT_PAGE_BYTES`] in all but for a single
    /// value, and no value more than one byte over a record's limit (what
    /// is over is reported, not read).
    values: Vec<(String, Vec<u8>)>,
}

/// Reads one page of the export and builds the head that announces it.
pub fn start(req: &Request) -> Result<(Response, Export), AdminError> {
    let query = ExportQuery::parse(req.get_query_str())?;
    let store = match KVStore::open(LINKS_KV_STORE) {
        Ok(Some(store)) => store,
        Ok(None) => {
            return Err(AdminError::Unavailable(
                "the links KV store is not configured".into(),
            ))
        }
        Err(e) => return Err(store_error(e)),
    };
    let mut list = store.build_list().limit(EXPORT_LIST_LIMIT);
    let prefix = query.key_prefix();
    if let Some(prefix) = &prefix {
        list = list.prefix(prefix);
    }
    if let Some(kv) = &query.cursor.kv {
        list = list.cursor(kv);
    }
    let page = list_page(list)?;
    let keys: Vec<&String> = page
        .keys()
        .iter()
        .filter(|key| query.cursor.is_ahead(key))
        .collect();
    // Every lookup is started before the first is awaited: one KV round trip for the page.
    let mut pending = Vec::with_capacity(keys.len());
    for key in &keys {
        pending.push(
            store
                .build_lookup()
                .execute_async(key)
                .map_err(store_error)?,
        );
    }
    let mut budget = PageBudget::default();
    let mut values = Vec::new();
    let mut last: Option<&str> = None;
    let mut stopped = false;
    for (key, handle) in keys.iter().zip(pending) {
        match store.pending_lookup_wait(handle) {
            Ok(mut found) => {
                let value = read_bounded(found.take_body())?;
                if !budget.admit(value.len()) {
                    stopped = true;
                    break;
                }
                values.push((key.to_string(), value));
            }
            Err(KVStoreError::ItemNotFound) => {} // deleted since the listing
            Err(e) => return Err(store_error(e)),
        }
        last = Some(key.as_str());
    }
    let next = query
        .cursor
        .next(last.filter(|_| stopped), page.next_cursor());
    let mut head = Response::from_status(StatusCode::OK)
        .with_header("content-type", "application/x-ndjson")
        .with_header("cache-control", "no-store");
    if let Some(next) = next {
        head.set_header("x-next-cursor", next.encode());
        head.set_header("link", next.link_header());
    }
    Ok((head, Export { values }))
}

/// A stored value, read up to one byte past a record's limit: a larger value
/// is no record (its line says so) and is not worth reading whole.
fn read_bounded(body: fastly::Body) -> Result<Vec<u8>, AdminError> {
    let mut value = Vec::new();
    body.take(MAX_RECORD_BYTES as u64 + 1)
        .read_to_end(&mut value)
        .map_err(|e| AdminError::Unavailable(format!("a stored value could not be read: {e}")))?;
    Ok(value)
}

impl Export {
    /// Writes one line per stored value, each as soon as it is made, and
    /// drops the value it came from.
    pub fn stream(self, mut out: StreamingBody) {
        for (key, value) in self.values {
            let Some(line) = export_line(&key, &value) else {
                continue; // a deleted link's tombstone
            };
            if let Err(e) = out.write_all(line.as_bytes()) {
                log::warn!("the export stream was cut at {key}: {e}");
                return;
            }
        }
        if let Err(e) = out.finish() {
            log::warn!("the export stream did not finish: {e}");
        }
    }
}
