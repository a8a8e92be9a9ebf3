//! The admin API at the edge (docs/admin-api.md): the bearer token from the `secrets`
//! store, link reads and writes in the `links` KV store with optimistic
//! concurrency, the cached entry invalidated before the answer (`lookup::invalidate`:
//! visible at once) and an `audit` line per write (and per request
//! that fails authentication). A `DELETE` replaces the link by a tombstone on
//! the generation it read (`qr_edge_core::admin::TOMBSTONE`), since KV deletes
//! take no generation condition. Everything that is not I/O lives in
//! `qr_edge_core::admin`; errors become problem documents in one place,
//! [`error_response`].

use crate::client::header;
use crate::client::{request_id, unix_millis};
use crate::config::ip_salt;
use crate::config::{secret, settings_for, SettingsReader};
use crate::export::Export;
use crate::images;
use crate::lookup::LinkKey;
use crate::pieces::resolve_slug;
use crate::resources::{ADMIN_TOKEN_SECRET, AUDIT_LOG_ENDPOINT, LINKS_KV_STORE};
use crate::responses::{json, problem, Rejection};
use crate::scan_log::write_line;
use fastly::http::body::StreamingBody;
use fastly::http::StatusCode;
use fastly::kv_store::{
    InsertMode, KVStoreError, ListBuilder, ListPage, PendingInsertHandle, PendingLookupHandle,
};
use fastly::{KVStore, Request, Response};
use qr_edge_core::admin::{
    body_too_large, check_content_type, check_import_size, created_body, etag, import_lines,
    link_location, list_body, parse_admin_record, parse_route, random_slug, record_from_import,
    slug_of_key, split_import_line, token_matches, Action, AdminError, AdminRoute, AuditEntry,
    Caller, Change, ImportResult, ListItem, ListQuery, MediaType, Preconditions, RANDOM_SLUG_BYTES,
};
use qr_edge_core::admin::{is_tombstone, TOMBSTONE, TOMBSTONE_TTL_SECS};
use qr_edge_core::admin::{parse_try, try_body};
use qr_edge_core::admin::{ImportedLinks, IMPORT_WINDOW};
use qr_edge_core::answer;
use qr_edge_core::lower_hex;
use qr_edge_core::path::normalize_host;
use qr_edge_core::privacy::{ip_for_log, IpMode};
use qr_edge_core::qr::ImageFormat;
use qr_edge_core::record::{parse_record, LinkRecord, Strictness};
use qr_edge_core::settings::Settings;
use std::cell::OnceCell;
use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::IpAddr;
use std::time::Duration;

/// The OpenAPI 3.1 description of this API, served at `/_api/v1/openapi.json`.
const OPENAPI_JSON: &str = include_str!("../openapi/openapi.json");
/// Read-modify-write rounds before a write that keeps losing races gives up (409).
const WRITE_ATTEMPTS: usize = 3;
/// Random slugs tried before giving up (40 bits each: a second try is already rare).
const SLUG_ATTEMPTS: usize = 5;

/// Answers one `/_api/v1/…` request. Without the `secrets` store or its
/// `admin_token` the API does not exist: 404, like any unknown path.
pub fn handle(req: Request) -> Answer {
    let Some(admin_token) = secret(ADMIN_TOKEN_SECRET).filter(|t| !t.is_empty()) else {
        return Rejection::UnknownPath.into_response().into();
    };
    let call = Call::of(&req);
    if !token_matches(header(&req, "authorization").as_deref(), &admin_token) {
        auth_failed(&req, &call);
        return error_response(AdminError::Unauthorized).into();
    }
    serve(req, &call).unwrap_or_else(|e| error_response(e).into())
}

/// The `auth_failed` audit line (docs/admin-api.md): the caller and the path, never the
/// `Authorization` header. The address follows the `ip_mode` of the host the
/// request was sent to; when its settings cannot be read, no address (`none`:
/// the privacy setting fails closed).
fn auth_failed(req: &Request, call: &Call) {
    let ip_mode = normalize_host(header(req, "host").as_deref())
        .ok()
        .and_then(|host| settings_for(&host).ok())
        .map_or(IpMode::None, |settings| settings.ip_mode);
    let ip = call.ip_for_log(ip_mode);
    let entry = AuditEntry::auth_failed(call.at_ms, &call.id, &call.caller(ip.as_deref()));
    write_line(AUDIT_LOG_ENDPOINT, &entry.to_line());
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

/// Who is calling, for the audit log.
#[derive(Clone)]
struct Call {
    id: String,
    at_ms: i64,
    /// The client address, formatted per domain when a line is written.
    ip: Option<IpAddr>,
    ua: Option<String>,
    method: String,
    /// The path without the query string.
    path: String,
    /// The `hash` IP mode's key, read at most once per request (imports write many lines).
    salt: OnceCell<Option<Vec<u8>>>,
}

impl Call {
    fn of(req: &Request) -> Call {
        Call {
            id: request_id(req),
            at_ms: unix_millis(),
            ip: req.get_client_ip_addr(),
            ua: header(req, "user-agent").map(|ua| ua.into_owned()),
            method: req.get_method_str().to_owned(),
            path: req.get_path().to_owned(),
            salt: OnceCell::new(),
        }
    }

    /// The caller's address as `ip_mode` says (scan events use the same rule, docs/scan-events.md).
    fn ip_for_log(&self, ip_mode: IpMode) -> Option<String> {
        let salt = match ip_mode {
            IpMode::Hash => self.salt.get_or_init(ip_salt).as_deref(),
            _ => None,
        };
        ip_for_log(self.ip?, ip_mode, salt)
    }

    fn caller<'a>(&'a self, ip: Option<&'a str>) -> Caller<'a> {
        Caller {
            ip,
            ua: self.ua.as_deref(),
            method: &self.method,
            path: &self.path,
        }
    }
}

/// What the admin API answers: a whole response, or (an import, an export) a
/// head whose body is streamed once the head is out.
pub enum Answer {
    /// Sent as it is.
    Send(Response),
    /// Sent as the head; then the body is streamed.
    Stream(Response, Streamed),
}

/// A body streamed after its head.
pub enum Streamed {
    /// An import writes its links and streams one result line each (boxed:
    /// it is most of the size).
    Import(Box<Import>),
    /// An export streams one import line per link of its page.
    Export(Export),
}

impl Streamed {
    /// Streams the body into `out`.
    pub fn stream(self, out: StreamingBody) {
        match self {
            Streamed::Import(import) => (*import).stream(out),
            Streamed::Export(export) => export.stream(out),
        }
    }
}

impl From<Response> for Answer {
    fn from(response: Response) -> Self {
        Answer::Send(response)
    }
}

/// Routes one authorised request. Every route but the import and the export
/// answers with a whole response; theirs are streamed after the head.
fn serve(req: Request, call: &Call) -> Result<Answer, AdminError> {
    let response = match parse_route(req.get_method_str(), req.get_path())? {
        AdminRoute::OpenApi => Ok(json(StatusCode::OK, OPENAPI_JSON.to_owned())),
        AdminRoute::GetLink { domain, slug } => get_link(&req, link_key(domain, slug)?),
        AdminRoute::PutLink { domain, slug } => put_link(req, call, link_key(domain, slug)?),
        AdminRoute::DeleteLink { domain, slug } => delete_link(&req, call, link_key(domain, slug)?),
        AdminRoute::ListLinks { domain } => list_links(&req, &domain),
        AdminRoute::CreateLink { domain } => create_link(req, call, &domain),
        AdminRoute::Import => return import(req, call.clone()),
        AdminRoute::Export => {
            let (head, export) = crate::export::start(&req)?;
            return Ok(Answer::Stream(head, Streamed::Export(export)));
        }
        AdminRoute::GetSettings { domain } => get_settings(&domain),
        AdminRoute::TryLink { domain, slug } => try_link(req, call, link_key(domain, slug)?),
        AdminRoute::LinkImage {
            domain,
            slug,
            format,
        } => link_image(&req, &link_key(domain, slug)?, format),
    };
    response.map(Answer::Send)
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
/// The version read is replaced by a tombstone on its own generation
/// ([`Links::tombstone`]), so a version written in between is never deleted
/// unseen: with `If-Match` the re-read finds the new generation (412); without,
/// the new version is read and deleted, and the audit line names it.
fn delete_link(req: &Request, call: &Call, key: LinkKey) -> Result<Response, AdminError> {
    let links = Links::open()?;
    let store_key = key.store_key();
    let preconditions = preconditions(req);
    for _ in 0..WRITE_ATTEMPTS {
        let current = links.read(&store_key)?;
        preconditions.check_write(current.as_ref().map(|s| s.generation))?;
        let current = current.ok_or(AdminError::LinkNotFound)?;
        if links.tombstone(&store_key, current.generation)? {
            committed(
                call,
                Action::Delete,
                &key,
                (Some(current.generation), None),
                Some(&current),
                None,
            );
            return Ok(Response::from_status(StatusCode::NO_CONTENT)
                .with_header("cache-control", "no-store"));
        }
    }
    Err(AdminError::Conflict(format!(
        "the link changed {WRITE_ATTEMPTS} times during this delete; retry"
    )))
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
    let page = list_page(list)?;
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
            Ok(mut found) => {
                let stored = found.take_body_bytes();
                // A deleted link's tombstone is absent (a page may so come out short).
                if !is_tombstone(&stored) {
                    items.push(ListItem::from_stored(slug, &stored, &policy));
                }
            }
            Err(KVStoreError::ItemNotFound) => {} // deleted since the listing
            Err(e) => return Err(store_error(e)),
        }
    }
    Ok(json(
        StatusCode::OK,
        list_body(&items, page.next_cursor().as_deref()),
    ))
}

/// `POST /import`: NDJSON, one link per line, each validated and written on
/// its own. Whatever refuses the whole import (415; 413 for the body or for
/// more than [`qr_edge_core::admin::MAX_IMPORT_LINES`] lines; 503 without the
/// store) is decided here, before the answer starts and before anything is
/// written. Then the 200 goes out at once, and [`Import::stream`] writes the
/// lines and streams one result line each (docs/admin-api.md).
fn import(mut req: Request, call: Call) -> Result<Answer, AdminError> {
    let body = read_body(&mut req, MediaType::Ndjson)?;
    check_import_size(import_lines(&body).len())?;
    // Names this import in the KV metadata of what it writes (see `write_tag`):
    // request ids are not unique everywhere (Viceroy gives every request zeros).
    let nonce = random_bytes().map_or_else(|_| call.at_ms.to_string(), |b| lower_hex(&b));
    let import = Import {
        links: Links::open()?,
        call,
        body,
        nonce,
    };
    let head = Response::from_status(StatusCode::OK)
        .with_header("content-type", "application/x-ndjson")
        .with_header("cache-control", "no-store");
    Ok(Answer::Stream(head, Streamed::Import(Box::new(import))))
}

/// An accepted import, written after its response head is sent: its lines go
/// to the KV store [`IMPORT_WINDOW`] at a time, with every KV round trip of a
/// window in flight together, and each window's results are streamed in the
/// order of the body as soon as its writes are done.
pub struct Import {
    links: Links,
    call: Call,
    body: Vec<u8>,
    /// Random, hex: tells this import's writes from any other's.
    nonce: String,
}

impl Import {
    /// Writes every line and streams one result per link line.
    pub fn stream(mut self, mut out: StreamingBody) {
        // One settings reader for the whole import: `defaults` is read once and
        // the config-store lookups stay within Fastly's limit however many
        // domains the lines name (lines past it are refused, 503).
        let mut settings = ImportSettings {
            reader: SettingsReader::open(),
            by_domain: HashMap::new(),
        };
        let mut claimed = ImportedLinks::default();
        let body = std::mem::take(&mut self.body);
        // The lines since the last window was written: refused ones wait with
        // their result so that results keep the order of the body.
        let mut window: Vec<ImportLineState> = Vec::new();
        let mut writes = 0;
        for (number, line) in import_lines(&body) {
            let line = prepare_line(number, line, &mut settings, &mut claimed);
            if matches!(line, ImportLineState::Write(_)) {
                if writes == IMPORT_WINDOW {
                    self.write_window(&mut window, &mut out);
                    writes = 0;
                }
                writes += 1;
            }
            window.push(line);
        }
        self.write_window(&mut window, &mut out);
        if let Err(e) = out.finish() {
            log::warn!("the import's result stream did not finish: {e}");
        }
    }

    /// Writes the window's links and streams the results of all its lines.
    /// A client that went away does not stop the import: every line it sent
    /// is still written, and each write has its audit line.
    fn write_window(&mut self, window: &mut Vec<ImportLineState>, out: &mut StreamingBody) {
        let mut writes: Vec<&mut LineWrite> = window
            .iter_mut()
            .filter_map(|line| match line {
                ImportLineState::Write(write) => Some(write.as_mut()),
                ImportLineState::Done(_) => None,
            })
            .collect();
        self.call.at_ms = unix_millis();
        write_together(&self.links, &self.call, &self.nonce, &mut writes);
        let text: String = window
            .drain(..)
            .map(|line| match line {
                ImportLineState::Done(result) => result.to_line(),
                ImportLineState::Write(write) => write.result().to_line(),
            })
            .collect();
        if let Err(e) = out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
            log::warn!("import results could not be sent: {e}");
        }
    }
}

/// One link line of an import on its way through.
enum ImportLineState {
    /// Refused before any KV operation (or, for a write, finished): its result.
    Done(ImportResult),
    /// A valid record to write (boxed: it is most of the size).
    Write(Box<LineWrite>),
}

/// A link line being written: what to write, and what happened so far.
struct LineWrite {
    number: usize,
    key: LinkKey,
    store_key: String,
    record: LinkRecord,
    value: String,
    /// Once written: the link this write replaced (`None`: it created the
    /// link, where there was none or only a deleted link's tombstone).
    replaced: Option<Option<Stored>>,
    /// The new generation, when it could be read back.
    generation: Option<u64>,
    /// Why the line was not written.
    error: Option<AdminError>,
}

impl LineWrite {
    fn result(&self) -> ImportResult {
        let (number, domain, slug) = (self.number, &self.key.domain, &self.key.slug);
        match (&self.error, &self.replaced) {
            (Some(e), _) => ImportResult::failed(number, Some(domain), Some(slug), e),
            (None, Some(replaced)) => {
                ImportResult::written(number, domain, slug, replaced.is_none())
            }
            (None, None) => ImportResult::failed(
                number,
                Some(domain),
                Some(slug),
                &AdminError::Conflict(format!(
                    "the link changed {WRITE_ATTEMPTS} times during this write; retry"
                )),
            ),
        }
    }
}

/// The settings of the domains an import names: each read once per import,
/// through one reader.
struct ImportSettings {
    reader: SettingsReader,
    by_domain: HashMap<String, Result<Settings, AdminError>>,
}

impl ImportSettings {
    fn of(&mut self, domain: &str) -> &Result<Settings, AdminError> {
        let reader = &mut self.reader;
        self.by_domain
            .entry(domain.to_owned())
            .or_insert_with(|| served_by(reader, domain))
    }
}

/// Validates one import line: its result when refused, else the write to make.
/// Settings are read once per domain per import.
fn prepare_line(
    number: usize,
    line: &[u8],
    settings: &mut ImportSettings,
    claimed: &mut ImportedLinks,
) -> ImportLineState {
    let parts = match split_import_line(line) {
        Ok(parts) => parts,
        Err(e) => return ImportLineState::Done(ImportResult::failed(number, None, None, &e)),
    };
    let (domain, slug) = (parts.domain.clone(), parts.slug.clone());
    let failed = |e: &AdminError| {
        ImportLineState::Done(ImportResult::failed(number, Some(&domain), Some(&slug), e))
    };
    let settings = match settings.of(&domain) {
        Ok(settings) => settings.clone(),
        Err(e) => return failed(e),
    };
    let record = match record_from_import(parts, &settings.policy(&domain)) {
        Ok(record) => record,
        Err(e) => return failed(&e),
    };
    if let Err(e) = claimed.claim(&domain, &slug, number) {
        return failed(&e);
    }
    let key = LinkKey {
        domain: domain.clone(),
        slug: slug.clone(),
        settings,
    };
    ImportLineState::Write(Box::new(LineWrite {
        number,
        store_key: key.store_key(),
        value: to_json(&record),
        key,
        record,
        replaced: None,
        generation: None,
        error: None,
    }))
}

/// [`write_link`] for many links at once, with the same guarantees per link:
/// read, then an insert that only succeeds on the version just read
/// (insert-if-absent for a new link), re-read and retried when another writer
/// got there first, then the new generation read back, the cache entry
/// invalidated and the audit line written ([`committed`]). Each step is
/// started for every link before the first is awaited (the KV store has no
/// "wait for any"), so the window pays one KV latency per step, not one per link.
fn write_together(links: &Links, call: &Call, nonce: &str, writes: &mut [&mut LineWrite]) {
    let mut pending: Vec<usize> = (0..writes.len()).collect();
    for _ in 0..WRITE_ATTEMPTS {
        if pending.is_empty() {
            break;
        }
        let reads: Vec<_> = pending
            .iter()
            .map(|&i| links.start_read(&writes[i].store_key))
            .collect();
        let reads: Vec<_> = reads
            .into_iter()
            .map(|read| read.and_then(|handle| links.finish_read(handle)))
            .collect();
        let inserts: Vec<_> = pending
            .iter()
            .zip(reads)
            .map(|(&i, read)| {
                let current = read?;
                let write = &writes[i];
                let generation = current.as_ref().map(|s| s.generation);
                let handle = links.start_write(write, generation, nonce)?;
                Ok((current, handle))
            })
            .collect();
        let mut lost = Vec::new();
        for (&i, insert) in pending.iter().zip(inserts) {
            match insert.and_then(|(current, handle)| Ok((current, links.finish_write(handle)?))) {
                // A deleted link's tombstone was replaced on its generation: a create.
                Ok((current, true)) => {
                    writes[i].replaced = Some(current.filter(|s| !is_tombstone(&s.body)))
                }
                Ok((_, false)) => lost.push(i),
                Err(e) => writes[i].error = Some(e),
            }
        }
        pending = lost;
    }
    let written: Vec<usize> = (0..writes.len())
        .filter(|&i| writes[i].replaced.is_some())
        .collect();
    let read_backs: Vec<_> = written
        .iter()
        .map(|&i| links.start_read(&writes[i].store_key).ok())
        .collect();
    for (&i, read_back) in written.iter().zip(read_backs) {
        let write = &mut *writes[i];
        write.generation =
            read_back.and_then(|handle| links.generation_of_write(handle, write, nonce));
        let Some(replaced) = &write.replaced else {
            continue;
        };
        let (action, before, old) = match replaced {
            None => (Action::Create, None, None),
            Some(stored) => (Action::Update, Some(stored.generation), Some(stored)),
        };
        committed(
            call,
            action,
            &write.key,
            (before, write.generation),
            old,
            Some(&write.record),
        );
    }
}

/// The KV metadata of an imported value: which import (its nonce) and line wrote it.
fn write_tag(nonce: &str, line: usize) -> String {
    format!("import {nonce} line {line}")
}

/// The asynchronous halves of [`Links::read_raw`], [`Links::add`] and
/// [`Links::replace`], for [`write_together`].
impl Links {
    fn start_read(&self, key: &str) -> Result<PendingLookupHandle, AdminError> {
        self.store
            .build_lookup()
            .execute_async(key)
            .map_err(store_error)
    }

    /// Whatever the key holds, tombstones included.
    fn finish_read(&self, handle: PendingLookupHandle) -> Result<Option<Stored>, AdminError> {
        match self.store.pending_lookup_wait(handle) {
            Ok(mut found) => Ok(Some(Stored {
                generation: found.current_generation(),
                body: found.take_body_bytes(),
            })),
            Err(KVStoreError::ItemNotFound) => Ok(None),
            Err(e) => Err(store_error(e)),
        }
    }

    /// Insert-if-absent (`generation` `None`), or a replacement of that
    /// generation. The value's KV metadata names this write ([`write_tag`]),
    /// so that [`Links::generation_of_write`] can recognise it without
    /// reading the body back.
    fn start_write(
        &self,
        write: &LineWrite,
        generation: Option<u64>,
        nonce: &str,
    ) -> Result<PendingInsertHandle, AdminError> {
        let insert = self
            .store
            .build_insert()
            .metadata(&write_tag(nonce, write.number));
        let insert = match generation {
            None => insert.mode(InsertMode::Add),
            Some(generation) => insert.if_generation_match(generation),
        };
        insert
            .execute_async(&write.store_key, write.value.clone())
            .map_err(store_error)
    }

    /// The generation of `write`'s value from a read-back of its key, if it is
    /// still the one stored (inserts do not report it; another writer may
    /// already have replaced it). The body is left unread: the metadata tells.
    fn generation_of_write(
        &self,
        read_back: PendingLookupHandle,
        write: &LineWrite,
        nonce: &str,
    ) -> Option<u64> {
        let found = self.store.pending_lookup_wait(read_back).ok()?;
        let ours = found.metadata()? == write_tag(nonce, write.number).as_bytes();
        ours.then(|| found.current_generation())
    }

    /// `false` when the precondition of [`Links::start_write`] no longer held.
    fn finish_write(&self, handle: PendingInsertHandle) -> Result<bool, AdminError> {
        precondition_held(self.store.pending_insert_wait(handle))
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
                Some(stored) => (Action::Update, Some(stored.generation), Some(stored)),
            };
            committed(call, action, key, (before, generation), old, Some(record));
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

/// After a successful write: invalidate the cached entry (a cached "not found" or
/// old record must not outlive the write), then write the audit line.
fn committed(
    call: &Call,
    action: Action,
    key: &LinkKey,
    generations: (Option<u64>, Option<u64>),
    old: Option<&Stored>,
    new: Option<&LinkRecord>,
) {
    // Visible at once (docs/admin-api.md), even against a source read already under way.
    crate::lookup::invalidate(key);
    let change = Change {
        action,
        domain: &key.domain,
        slug: &key.slug,
        generations,
        // As stored, even when it is no longer a valid record (docs/admin-api.md).
        old: old.map(|stored| stored.body.as_slice()),
        new,
    };
    let ip = call.ip_for_log(key.settings.ip_mode);
    let entry = AuditEntry::change(call.at_ms, &call.id, &change, &call.caller(ip.as_deref()));
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

    /// The link stored under `key`; `None` when there is none or only a
    /// deleted link's tombstone, which every reader treats as absent.
    fn read(&self, key: &str) -> Result<Option<Stored>, AdminError> {
        Ok(self.read_raw(key)?.filter(|s| !is_tombstone(&s.body)))
    }

    /// Whatever `key` holds, tombstones included.
    fn read_raw(&self, key: &str) -> Result<Option<Stored>, AdminError> {
        match self.store.lookup(key) {
            Ok(mut found) => Ok(Some(Stored {
                generation: found.current_generation(),
                body: found.take_body_bytes(),
            })),
            Err(KVStoreError::ItemNotFound) => Ok(None),
            Err(e) => Err(store_error(e)),
        }
    }

    /// Insert-if-absent, where a tombstone counts as absent; `false` when a
    /// link exists. A tombstone is replaced on its own generation, so of two
    /// creates racing over one, only one wins.
    fn create(&self, key: &str, value: &str) -> Result<bool, AdminError> {
        if self.add(key, value)? {
            return Ok(true);
        }
        match self.read_raw(key)? {
            Some(stored) if is_tombstone(&stored.body) => {
                self.replace(key, value, stored.generation)
            }
            Some(_) => Ok(false),
            // The tombstone expired in between.
            None => self.add(key, value),
        }
    }

    /// Insert-if-absent; `false` when the key holds anything.
    fn add(&self, key: &str, value: &str) -> Result<bool, AdminError> {
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

    /// Deletes the version `generation` by replacing it with a tombstone that
    /// expires by itself; `false` when the key has changed since. (KV deletes
    /// take no generation condition; see `qr_edge_core::admin::TOMBSTONE`.)
    fn tombstone(&self, key: &str, generation: u64) -> Result<bool, AdminError> {
        self.tombstone_for(key, generation, Duration::from_secs(TOMBSTONE_TTL_SECS))
    }

    fn tombstone_for(&self, key: &str, generation: u64, ttl: Duration) -> Result<bool, AdminError> {
        let insert = self
            .store
            .build_insert()
            .if_generation_match(generation)
            .time_to_live(ttl)
            .execute(key, TOMBSTONE);
        precondition_held(insert)
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

/// One page of a KV list (the link listing, the export): a cursor the store
/// refuses is the caller's bad `cursor`, anything else a store failure.
pub(crate) fn list_page(list: ListBuilder<'_>) -> Result<ListPage, AdminError> {
    list.execute().map_err(|e| match e {
        KVStoreError::ItemBadRequest => AdminError::InvalidParameter {
            name: "cursor".into(),
            problem: "the link store refused this cursor".into(),
        },
        e => store_error(e),
    })
}

pub(crate) fn store_error(e: KVStoreError) -> AdminError {
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

/// `POST /try/{domain}/{slug}`: the decision a scan by the visitor the body
/// describes would get, made by the scan's own `answer::scan` on the link as a
/// scan resolves it (cache, KV, origin). Nothing is redirected and no scan
/// line is written; the body is checked before anything is looked up.
fn try_link(mut req: Request, call: &Call, key: LinkKey) -> Result<Response, AdminError> {
    let body = read_body(&mut req, MediaType::Json)?;
    let request =
        parse_try(&body)?.scan_request(call.id.clone(), call.at_ms, &key.domain, &key.slug);
    // Resolved as a scan resolves it, piece codes included.
    let (_, event) = answer::scan(request, resolve_slug(&key).looked(&key.settings));
    Ok(json(StatusCode::OK, try_body(&event.decision)))
}

/// `GET /qr/{domain}/{slug}.svg|.png`: the code the public image route draws
/// for that domain (it encodes the short domain's URL, whatever host this
/// request came to), for the dashboard on the admin host. Like `GET /links`,
/// it answers for links of the `links` store (404 for any other, without
/// asking the origin). Not kept by shared caches (an authorised answer); a
/// missing link or an unreadable store is a problem document like every other admin error.
fn link_image(req: &Request, key: &LinkKey, format: ImageFormat) -> Result<Response, AdminError> {
    Links::open()?
        .read(&key.store_key())?
        .ok_or(AdminError::LinkNotFound)?;
    let (mut response, _refresh) = images::respond(req, key, format);
    match response.get_status() {
        StatusCode::NOT_FOUND => Err(AdminError::LinkNotFound),
        StatusCode::SERVICE_UNAVAILABLE => Err(AdminError::Unavailable(
            "the link could not be resolved; retry later".into(),
        )),
        _ => {
            response.set_header("cache-control", "private, no-cache");
            Ok(response)
        }
    }
}

/// `GET /settings/{domain}`: the domain's effective settings and every
/// problem found in them (docs/settings.md); 503 naming the document when they cannot be read.
fn get_settings(domain: &str) -> Result<Response, AdminError> {
    let loaded = SettingsReader::open()
        .load(domain)
        .map_err(|e| AdminError::Unavailable(e.to_string()))?;
    Ok(json(StatusCode::OK, loaded.report(domain).to_string()))
}

/// The settings of a domain this service serves (setting `domains`); others are refused,
/// so a typo cannot create links no request will ever reach. Settings that
/// cannot be read refuse the request (503): they are never guessed.
fn served(domain: &str) -> Result<Settings, AdminError> {
    served_by(&mut SettingsReader::open(), domain)
}

/// [`served`], reading through one request's settings reader (an import's many domains).
fn served_by(reader: &mut SettingsReader, domain: &str) -> Result<Settings, AdminError> {
    let settings = reader
        .settings(domain)
        .map_err(|e| AdminError::Unavailable(format!("{e}; retry later")))?;
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
    let limit = expected.max_body();
    if req.get_content_length().is_some_and(|n| n > limit) {
        return Err(body_too_large(limit));
    }
    let mut body = Vec::new();
    req.take_body()
        .take(limit as u64 + 1)
        .read_to_end(&mut body)
        .map_err(|e| AdminError::MalformedJson(format!("the body could not be read: {e}")))?;
    if body.len() > limit {
        return Err(body_too_large(limit));
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
    //! the conditional writes that keep concurrent writers from overwriting
    //! (or deleting) each other unseen.
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

    fn generation(links: &Links, key: &str) -> u64 {
        links.read(key).expect("read").expect("stored").generation
    }

    #[test]
    fn a_delete_removes_only_the_version_read() {
        let links = Links::open().expect("the links store");
        let key = "go.example.com/unit-delete";
        assert!(links.create(key, "a").expect("create"));
        let read = generation(&links, key);
        // A write lands between the delete's read and its write.
        assert!(links.replace(key, "b", read).expect("replace"));
        assert!(
            !links.tombstone(key, read).expect("tombstone"),
            "the version read is gone: nothing is deleted"
        );
        assert_eq!(links.read(key).expect("read").expect("kept").body, b"b");
        let now = generation(&links, key);
        assert!(links.tombstone(key, now).expect("tombstone"));
        assert!(
            links.read(key).expect("read").is_none(),
            "deleted for readers"
        );
        let raw = links.read_raw(key).expect("read").expect("the tombstone");
        assert!(is_tombstone(&raw.body));
        assert!(
            !links.tombstone(key, now).expect("tombstone"),
            "the deleted version cannot be deleted twice"
        );
    }

    #[test]
    fn a_create_replaces_a_tombstone_and_only_one_create_wins() {
        let links = Links::open().expect("the links store");
        let key = "go.example.com/unit-recreate";
        assert!(links.create(key, "a").expect("create"));
        let read = generation(&links, key);
        assert!(links.tombstone(key, read).expect("tombstone"));
        assert!(links
            .create(key, "again")
            .expect("create over the tombstone"));
        assert!(
            !links.create(key, "second").expect("create"),
            "the tombstone is gone: the key is taken"
        );
        assert_eq!(
            links.read(key).expect("read").expect("stored").body,
            b"again"
        );
    }

    #[test]
    fn a_tombstone_expires_by_itself() {
        let links = Links::open().expect("the links store");
        let key = "go.example.com/unit-expire";
        assert!(links.create(key, "a").expect("create"));
        let read = generation(&links, key);
        assert!(links
            .tombstone_for(key, read, Duration::from_secs(1))
            .expect("tombstone"));
        assert!(links.read_raw(key).expect("read").is_some());
        std::thread::sleep(Duration::from_millis(1100));
        assert!(
            links.read_raw(key).expect("read").is_none(),
            "the KV time-to-live removed it"
        );
    }
}
