//! The admin API at the edge (SPEC §8): the bearer token from the `secrets`
//! store, link reads and writes in the `links` KV store with optimistic
//! concurrency, a cache purge and an `audit` line per write. Everything that
//! is not I/O lives in `qr_edge_core::admin`; errors become problem documents
//! in one place, [`error_response`].

use crate::client::header;
use crate::config::{secret, settings_for};
use crate::handler::{request_id, unix_millis};
use crate::lookup::LinkKey;
use crate::resources::{ADMIN_TOKEN_SECRET, AUDIT_LOG_ENDPOINT, LINKS_KV_STORE};
use crate::responses::{json, problem, Rejection};
use crate::scan_log::write_line;
use fastly::http::StatusCode;
use fastly::kv_store::{InsertMode, KVStoreError};
use fastly::{KVStore, Request, Response};
use qr_edge_core::admin::{
    body_too_large, check_content_type, check_import_size, created_body, etag, import_lines,
    import_results_body, link_location, list_body, parse_admin_record, parse_route, random_slug,
    record_from_import, slug_of_key, split_import_line, token_matches, Action, AdminError,
    AdminRoute, AuditEntry, ImportResult, ListItem, ListQuery, MediaType, Preconditions,
    MAX_BODY_BYTES, RANDOM_SLUG_BYTES,
};
use qr_edge_core::record::{parse_record, LinkRecord, Strictness};
use qr_edge_core::settings::Settings;
use std::collections::HashMap;
use std::io::Read;

/// The OpenAPI 3.1 description of this API, served at `/_api/v1/openapi.json`.
const OPENAPI_JSON: &str = include_str!("../openapi/openapi.json");
/// Read-modify-write rounds before a write that keeps losing races gives up (409).
const WRITE_ATTEMPTS: usize = 3;
/// Random slugs tried before giving up (40 bits each: a second try is already rare).
const SLUG_ATTEMPTS: usize = 5;

/// Answers one `/_api/v1/…` request. Without the `secrets` store or its
/// `admin_token` the API does not exist: 404, like any unknown path.
pub fn handle(req: Request) -> Response {
    let Some(admin_token) = secret(ADMIN_TOKEN_SECRET).filter(|t| !t.is_empty()) else {
        return Rejection::UnknownPath.into_response();
    };
    if !token_matches(header(&req, "authorization").as_deref(), &admin_token) {
        return error_response(AdminError::Unauthorized);
    }
    serve(req).unwrap_or_else(error_response)
}

/// The one place admin errors become responses: RFC 9457 problem documents.
fn error_response(error: AdminError) -> Response {
    let status = StatusCode::from_u16(error.status()).unwrap_or(StatusCode::BAD_REQUEST);
    let response = problem(
        status,
        error.title(),
        &error.to_string(),
        error.field().filter(|f| !f.is_empty()),
    );
    match error {
        AdminError::Unauthorized => response.with_header("www-authenticate", "Bearer"),
        AdminError::MethodNotAllowed { allow } => response.with_header("allow", allow),
        AdminError::Unavailable(_) => response.with_header("retry-after", "30"),
        _ => response,
    }
}

/// Who is writing, for the audit log.
struct Call {
    id: String,
    at_ms: i64,
}

fn serve(req: Request) -> Result<Response, AdminError> {
    let call = Call {
        id: request_id(&req),
        at_ms: unix_millis(),
    };
    match parse_route(req.get_method_str(), req.get_path())? {
        AdminRoute::OpenApi => Ok(json(StatusCode::OK, OPENAPI_JSON.to_owned())),
        AdminRoute::GetLink { domain, slug } => get_link(&req, link_key(domain, slug)?),
        AdminRoute::PutLink { domain, slug } => put_link(req, &call, link_key(domain, slug)?),
        AdminRoute::DeleteLink { domain, slug } => {
            delete_link(&req, &call, link_key(domain, slug)?)
        }
        AdminRoute::ListLinks { domain } => list_links(&req, &domain),
        AdminRoute::CreateLink { domain } => create_link(req, &call, &domain),
        AdminRoute::Import => import(req, &call),
    }
}

/// `GET /links/{domain}/{slug}`: the record and its `ETag`; 304 on a matching `If-None-Match`.
fn get_link(req: &Request, key: LinkKey) -> Result<Response, AdminError> {
    let stored = Links::open()?
        .read(&key.store_key())?
        .ok_or(AdminError::LinkNotFound)?;
    let tag = etag(stored.generation);
    if preconditions(req).not_modified(stored.generation) {
        return Ok(Response::from_status(StatusCode::NOT_MODIFIED).with_header("etag", tag));
    }
    let record = parse_record(
        &stored.body,
        Strictness::Reader,
        &key.settings.policy(&key.domain),
    )
    .map_err(AdminError::StoredRecordInvalid)?;
    Ok(json(StatusCode::OK, to_json(&record)).with_header("etag", tag))
}

/// `PUT /links/{domain}/{slug}`: create (201) or replace (200), honouring preconditions.
fn put_link(mut req: Request, call: &Call, key: LinkKey) -> Result<Response, AdminError> {
    let body = read_body(&mut req, MediaType::Json)?;
    let record = parse_admin_record(&body, &key.settings.policy(&key.domain))?;
    let written = write_link(&Links::open()?, call, &key, &record, &preconditions(&req))?;
    let mut response = json(
        if written.created {
            StatusCode::CREATED
        } else {
            StatusCode::OK
        },
        to_json(&record),
    );
    if written.created {
        response.set_header("location", link_location(&key.domain, &key.slug));
    }
    Ok(with_etag(response, written.generation))
}

/// `DELETE /links/{domain}/{slug}`: 204, or 404 when there is no such link.
/// `If-Match` is checked just before the delete (KV deletes take no generation condition).
fn delete_link(req: &Request, call: &Call, key: LinkKey) -> Result<Response, AdminError> {
    let links = Links::open()?;
    let current = links.read(&key.store_key())?;
    preconditions(req).check_write(current.as_ref().map(|s| s.generation))?;
    let current = current.ok_or(AdminError::LinkNotFound)?;
    if !links.delete(&key.store_key())? {
        return Err(AdminError::LinkNotFound);
    }
    let old = current.record(&key);
    committed(
        call,
        Action::Delete,
        &key,
        (Some(current.generation), None),
        old.as_ref(),
        None,
    );
    Ok(Response::from_status(StatusCode::NO_CONTENT).with_header("cache-control", "no-store"))
}

/// `POST /links/{domain}`: a new link under a fresh random slug.
fn create_link(mut req: Request, call: &Call, domain: &str) -> Result<Response, AdminError> {
    let settings = served(domain)?;
    let body = read_body(&mut req, MediaType::Json)?;
    let record = parse_admin_record(&body, &settings.policy(domain))?;
    let links = Links::open()?;
    let value = to_json(&record);
    for _ in 0..SLUG_ATTEMPTS {
        let key = LinkKey {
            domain: domain.to_owned(),
            slug: random_slug(random_bytes()?),
            settings: settings.clone(),
        };
        if links.create(&key.store_key(), &value)? {
            let generation = links.generation_of(&key.store_key(), &value);
            committed(
                call,
                Action::Create,
                &key,
                (None, generation),
                None,
                Some(&record),
            );
            let response = json(
                StatusCode::CREATED,
                created_body(domain, &key.slug, &record),
            )
            .with_header("location", link_location(domain, &key.slug));
            return Ok(with_etag(response, generation));
        }
    }
    Err(AdminError::Conflict(format!(
        "no free random slug after {SLUG_ATTEMPTS} tries; retry"
    )))
}

/// `GET /links/{domain}?prefix=&cursor=&limit=`: one page of links.
fn list_links(req: &Request, domain: &str) -> Result<Response, AdminError> {
    let settings = served(domain)?;
    let query = ListQuery::parse(req.get_query_str())?;
    let links = Links::open()?;
    let mut list = links
        .store
        .build_list()
        .limit(query.limit)
        .prefix(&query.key_prefix(domain));
    if let Some(cursor) = &query.cursor {
        list = list.cursor(cursor);
    }
    let page = list.execute().map_err(|e| match e {
        KVStoreError::ItemBadRequest => AdminError::InvalidParameter {
            name: "cursor".into(),
            problem: "the link store refused this cursor".into(),
        },
        e => store_error(e),
    })?;
    // Every lookup is started before the first is awaited: one round trip for the page.
    let mut pending = Vec::new();
    for key in page.keys() {
        if let Some(slug) = slug_of_key(domain, key) {
            pending.push((
                slug,
                links
                    .store
                    .build_lookup()
                    .execute_async(key)
                    .map_err(store_error)?,
            ));
        }
    }
    let policy = settings.policy(domain);
    let mut items = Vec::with_capacity(pending.len());
    for (slug, handle) in pending {
        match links.store.pending_lookup_wait(handle) {
            Ok(mut found) => items.push(ListItem::from_stored(
                slug,
                &found.take_body_bytes(),
                &policy,
            )),
            Err(KVStoreError::ItemNotFound) => {} // deleted since the listing
            Err(e) => return Err(store_error(e)),
        }
    }
    Ok(json(
        StatusCode::OK,
        list_body(&items, page.next_cursor().as_deref()),
    ))
}

/// `POST /import`: NDJSON, one link per line, each validated and written on its own.
fn import(mut req: Request, call: &Call) -> Result<Response, AdminError> {
    let body = read_body(&mut req, MediaType::Ndjson)?;
    let lines = import_lines(&body);
    check_import_size(lines.len())?;
    let links = Links::open()?;
    let mut settings_by_domain: HashMap<String, Result<Settings, AdminError>> = HashMap::new();
    let results: Vec<ImportResult> = lines
        .into_iter()
        .map(|(number, line)| import_line(&links, call, number, line, &mut settings_by_domain))
        .collect();
    Ok(Response::from_status(StatusCode::OK)
        .with_header("content-type", "application/x-ndjson")
        .with_header("cache-control", "no-store")
        .with_body(import_results_body(&results)))
}

fn import_line(
    links: &Links,
    call: &Call,
    number: usize,
    line: &[u8],
    settings_by_domain: &mut HashMap<String, Result<Settings, AdminError>>,
) -> ImportResult {
    let parts = match split_import_line(line) {
        Ok(parts) => parts,
        Err(e) => return ImportResult::failed(number, None, None, &e),
    };
    let (domain, slug) = (parts.domain.clone(), parts.slug.clone());
    let failed = |e: &AdminError| ImportResult::failed(number, Some(&domain), Some(&slug), e);
    let settings = match settings_by_domain
        .entry(domain.clone())
        .or_insert_with(|| served(&domain))
    {
        Ok(settings) => settings.clone(),
        Err(e) => return failed(e),
    };
    let key = LinkKey {
        domain: domain.clone(),
        slug: slug.clone(),
        settings,
    };
    let written = record_from_import(parts, &key.settings.policy(&domain))
        .and_then(|record| write_link(links, call, &key, &record, &Preconditions::default()));
    match written {
        Ok(written) => ImportResult::written(number, &domain, &slug, written.created),
        Err(e) => failed(&e),
    }
}

/// What a write did.
struct Written {
    created: bool,
    /// The new generation, when it could be read back.
    generation: Option<u64>,
}

/// Creates or replaces a link: read, check preconditions, then an insert that
/// only succeeds on the version just read (insert-if-absent for a new link),
/// so concurrent writers never overwrite each other unseen.
fn write_link(
    links: &Links,
    call: &Call,
    key: &LinkKey,
    record: &LinkRecord,
    preconditions: &Preconditions,
) -> Result<Written, AdminError> {
    let store_key = key.store_key();
    let value = to_json(record);
    for _ in 0..WRITE_ATTEMPTS {
        let current = links.read(&store_key)?;
        preconditions.check_write(current.as_ref().map(|s| s.generation))?;
        let done = match &current {
            None => links.create(&store_key, &value)?,
            Some(stored) => links.replace(&store_key, &value, stored.generation)?,
        };
        if done {
            let generation = links.generation_of(&store_key, &value);
            let (action, before, old) = match &current {
                None => (Action::Create, None, None),
                Some(stored) => (Action::Update, Some(stored.generation), stored.record(key)),
            };
            committed(
                call,
                action,
                key,
                (before, generation),
                old.as_ref(),
                Some(record),
            );
            return Ok(Written {
                created: current.is_none(),
                generation,
            });
        }
    }
    Err(AdminError::Conflict(format!(
        "the link changed {WRITE_ATTEMPTS} times during this write; retry"
    )))
}

/// After a successful write: purge the cached entry (a cached "not found" or old
/// record must not outlive the write), then write the audit line.
fn committed(
    call: &Call,
    action: Action,
    key: &LinkKey,
    generations: (Option<u64>, Option<u64>),
    old: Option<&LinkRecord>,
    new: Option<&LinkRecord>,
) {
    // The redirect path caches each link under its store key as surrogate key (lookup.rs).
    let surrogate = key.store_key();
    if let Err(e) = fastly::http::purge::purge_surrogate_key(&surrogate) {
        eprintln!("purge of {surrogate} failed; the cached entry lives until it expires: {e}");
    }
    let entry = AuditEntry::new(
        call.at_ms,
        &call.id,
        action,
        &key.domain,
        &key.slug,
        generations,
        old,
        new,
    );
    write_line(AUDIT_LOG_ENDPOINT, &entry.to_line());
}

/// The `links` KV store, with the operations the API needs.
struct Links {
    store: KVStore,
}

/// A stored value and its generation.
struct Stored {
    generation: u64,
    body: Vec<u8>,
}

impl Stored {
    /// The stored record as the redirect path reads it (`None` when it is not one).
    fn record(&self, key: &LinkKey) -> Option<LinkRecord> {
        parse_record(
            &self.body,
            Strictness::Reader,
            &key.settings.policy(&key.domain),
        )
        .ok()
    }
}

impl Links {
    fn open() -> Result<Links, AdminError> {
        match KVStore::open(LINKS_KV_STORE) {
            Ok(Some(store)) => Ok(Links { store }),
            Ok(None) => Err(AdminError::Unavailable(
                "the links KV store is not configured".into(),
            )),
            Err(e) => Err(store_error(e)),
        }
    }

    fn read(&self, key: &str) -> Result<Option<Stored>, AdminError> {
        match self.store.lookup(key) {
            Ok(mut found) => Ok(Some(Stored {
                generation: found.current_generation(),
                body: found.take_body_bytes(),
            })),
            Err(KVStoreError::ItemNotFound) => Ok(None),
            Err(e) => Err(store_error(e)),
        }
    }

    /// Insert-if-absent; `false` when the key exists.
    fn create(&self, key: &str, value: &str) -> Result<bool, AdminError> {
        let insert = self
            .store
            .build_insert()
            .mode(InsertMode::Add)
            .execute(key, value.to_owned());
        precondition_held(insert)
    }

    /// Replaces the version `generation`; `false` when the key has changed since.
    fn replace(&self, key: &str, value: &str, generation: u64) -> Result<bool, AdminError> {
        let insert = self
            .store
            .build_insert()
            .if_generation_match(generation)
            .execute(key, value.to_owned());
        precondition_held(insert)
    }

    /// `false` when there was nothing to delete.
    fn delete(&self, key: &str) -> Result<bool, AdminError> {
        match self.store.delete(key) {
            Ok(()) => Ok(true),
            Err(KVStoreError::ItemNotFound) => Ok(false),
            Err(e) => Err(store_error(e)),
        }
    }

    /// The generation of the value just written, if it is still the one stored
    /// (inserts do not report it; another writer may already have replaced it).
    fn generation_of(&self, key: &str, value: &str) -> Option<u64> {
        let stored = self.read(key).ok()??;
        (stored.body == value.as_bytes()).then_some(stored.generation)
    }
}

fn precondition_held(insert: Result<(), KVStoreError>) -> Result<bool, AdminError> {
    match insert {
        Ok(()) => Ok(true),
        Err(KVStoreError::ItemPreconditionFailed) => Ok(false),
        Err(e) => Err(store_error(e)),
    }
}

fn store_error(e: KVStoreError) -> AdminError {
    match e {
        KVStoreError::ItemPayloadTooLarge => {
            AdminError::TooLarge("the link store refused the value as too large".into())
        }
        e => AdminError::Unavailable(format!("the links KV store failed: {e}")),
    }
}

/// The link a path names, with its domain's settings.
fn link_key(domain: String, slug: String) -> Result<LinkKey, AdminError> {
    let settings = served(&domain)?;
    Ok(LinkKey {
        domain,
        slug,
        settings,
    })
}

/// The settings of a domain this service serves (setting `domains`); others are refused,
/// so a typo cannot create links no request will ever reach.
fn served(domain: &str) -> Result<Settings, AdminError> {
    let settings = settings_for(domain);
    if settings.serves(domain) {
        Ok(settings)
    } else {
        Err(AdminError::InvalidDomain(format!(
            "{domain} is not served by this service (setting domains)"
        )))
    }
}

/// The body, after its media type and size are checked (413 before reading when declared too large).
fn read_body(req: &mut Request, expected: MediaType) -> Result<Vec<u8>, AdminError> {
    check_content_type(header(req, "content-type").as_deref(), expected)?;
    if req.get_content_length().is_some_and(|n| n > MAX_BODY_BYTES) {
        return Err(body_too_large());
    }
    let mut body = Vec::new();
    req.take_body()
        .take(MAX_BODY_BYTES as u64 + 1)
        .read_to_end(&mut body)
        .map_err(|e| AdminError::MalformedJson(format!("the body could not be read: {e}")))?;
    if body.len() > MAX_BODY_BYTES {
        return Err(body_too_large());
    }
    Ok(body)
}

fn preconditions(req: &Request) -> Preconditions {
    Preconditions::from_headers(
        header(req, "if-match").as_deref(),
        header(req, "if-none-match").as_deref(),
    )
}

/// Random bytes for one slug, from the host (WASI `random_get`).
fn random_bytes() -> Result<[u8; RANDOM_SLUG_BYTES], AdminError> {
    let mut bytes = [0u8; RANDOM_SLUG_BYTES];
    getrandom::fill(&mut bytes)
        .map_err(|e| AdminError::Unavailable(format!("no randomness for a slug: {e}")))?;
    Ok(bytes)
}

fn to_json(record: &LinkRecord) -> String {
    serde_json::to_string(record).unwrap_or_default()
}

fn with_etag(response: Response, generation: Option<u64>) -> Response {
    match generation {
        Some(generation) => response.with_header("etag", etag(generation)),
        None => response,
    }
}

#[cfg(test)]
mod tests {
    //! These run inside Viceroy against the local manifest's `links` KV store:
    //! the two conditional writes that keep concurrent writers from
    //! overwriting each other unseen.
    use super::*;

    #[test]
    fn create_is_insert_if_absent() {
        let links = Links::open().expect("the links store");
        let key = "go.example.com/unit-create";
        assert!(links.create(key, "first").expect("create"));
        assert!(
            !links.create(key, "second").expect("create"),
            "a second create finds the key taken"
        );
        assert_eq!(
            links.read(key).expect("read").expect("stored").body,
            b"first"
        );
    }

    #[test]
    fn replace_needs_the_generation_just_read() {
        let links = Links::open().expect("the links store");
        let key = "go.example.com/unit-replace";
        assert!(links.create(key, "a").expect("create"));
        let read = links.read(key).expect("read").expect("stored").generation;
        assert!(links.replace(key, "b", read).expect("replace"));
        assert!(
            !links.replace(key, "c", read).expect("replace"),
            "the version read is gone"
        );
        assert_eq!(links.read(key).expect("read").expect("stored").body, b"b");
    }
}
