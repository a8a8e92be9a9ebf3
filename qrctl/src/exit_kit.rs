//! `qrctl exit-kit links.ndjson --out DIR [--listen PORT]`: configurations
//! that keep every printed code working without Fastly (docs/qrctl.md,
//! "Leaving Fastly" in the README):
//!
//! - `DIR/nginx.conf`, complete: `nginx -p DIR -c DIR/nginx.conf` runs it in
//!   the foreground, with its pid file, logs and temporary files inside DIR;
//! - `DIR/Caddyfile`: `caddy run --config DIR/Caddyfile --adapter caddyfile`,
//!   plain HTTP (put TLS in front, or change the site addresses), no admin
//!   endpoint, its storage inside DIR;
//! - `DIR/_redirects` (Netlify, one site for every domain: host-qualified
//!   rules) and `DIR/static/{domain}/_redirects` (Netlify or Cloudflare Pages,
//!   one site per domain);
//! - `DIR/static/{domain}/{slug}/index.html` (and the upper-case `{SLUG}`, as
//!   codes print it) redirect pages for any static host.
//!
//! Each slug answers what a default visitor gets from the edge at generation
//! time: core's own decision (`decide`) for a visitor with no known country,
//! region, language, OS or device, no query, and the record's `split`
//! dropped, so rules and splits fall back to `url`, a disabled link is 410,
//! and outside its window a link goes to `expired_url` or is 410. A rule that
//! only names a time holds for everyone and counts when it holds at
//! generation time. A record with `pieces` answers its base slug with
//! `{piece}` replaced by nothing, as the edge does, and its piece codes
//! `/{slug}-{piece}` through a case-insensitive regex route after the exact
//! slugs (which win, as on the edge), with `{piece}` replaced by the captured
//! piece. Neither server can lower-case a capture, so a piece scanned with
//! upper-case letters reaches the destination as scanned (docs/qrctl.md);
//! digits-only pieces, `qrctl pieces`' default, are identical. Slugs match in
//! any case (nginx's `map` compares strings ignoring case; Caddy's `path`
//! matcher ignores case) and with one trailing slash, as on the edge.
//!
//! Query forwarding: nginx and Caddy append the scan's whole query when the
//! record forwards every parameter (`forward_query` true, the default); a
//! `forward_query` list cannot be expressed there and forwards nothing. The
//! static targets forward as their host does. Unknown slugs and hosts are 404
//! (the kit does not know the domain's `not_found_url` or `home_url`).
//!
//! Input the servers could misread is refused with its line number: domains
//! and slugs pass core's checks (a DNS name; 1–64 of a-z 0-9 -), and a
//! destination may hold no character that quotes, escapes or placeholders of
//! nginx or Caddy would read (`"` `'` `\` `{` `}`, spaces, control characters);
//! nginx's `$` is written through a variable that holds a literal `$`.

use crate::links::{numbered, read_input, record_of, split};
use clap::Args;
use qr_edge_core::clock::parse_rfc3339;
use qr_edge_core::decide::{decide, Outcome};
use qr_edge_core::path::{is_dns_name, is_valid_slug, MAX_SLUG_LEN};
use qr_edge_core::pieces::{MAX_PIECE_LEN, PLACEHOLDER};
use qr_edge_core::record::{ForwardQuery, LinkRecord};
use qr_edge_core::targeting::ScanFacts;
use qr_edge_core::visitor::Visitor;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Args)]
pub struct ExitKitArgs {
    /// Links in the import/export format, one {"domain","slug",…record} per line; - for stdin.
    file: PathBuf,
    /// The directory to write (created; files of an earlier kit are replaced).
    #[arg(long)]
    out: PathBuf,
    /// Where nginx and Caddy listen: PORT (every address) or ADDRESS:PORT.
    #[arg(long, default_value = "80")]
    listen: String,
    /// Decide as of this time (RFC 3339) instead of now: windows and timed rules.
    #[arg(long, value_name = "TIME")]
    at: Option<String>,
}

/// Where one slug goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// 301, 302, 303, 307, 308 or 410.
    pub status: u16,
    /// `Location` of a redirect.
    pub location: Option<String>,
    /// Append the scan's query (the record forwards every parameter).
    pub forward: bool,
}

/// The piece codes of one record: `/{base}-{piece}` for pieces of 1 to
/// `max_length` characters of `a-z0-9`, any case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PieceRoute {
    /// The record's `pieces.max_length`, less what would make `{base}-{piece}`
    /// longer than a slug may be (the edge never looks such a path up).
    pub max_length: usize,
    /// Where a default visitor goes; `location` holds [`PLACEHOLDER`] where the piece goes.
    pub target: Target,
}

/// One domain of the kit: exact slugs, and the piece routes by base slug.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Domain {
    pub slugs: BTreeMap<String, Target>,
    pub pieces: BTreeMap<String, PieceRoute>,
}

/// The kit's input: domain → its links, sorted (stable output).
pub type Links = BTreeMap<String, Domain>;

/// Stands in for the piece while core decides: only `a-z` (a piece's own
/// alphabet, which the URL standard leaves as it is in a path, query or
/// fragment), and long enough not to occur in a destination by chance.
const PIECE_MARK: &str = "qrkitpiecemarkzq";

/// What a default visitor gets for `record` at `now`.
pub fn default_target(slug: &str, record: &LinkRecord, now: i64) -> Target {
    let visitor = Visitor::unknown();
    let mut record = record.clone();
    record.split.clear();
    let decision = decide(
        &record,
        &ScanFacts {
            slug,
            now,
            query: "",
            visitor: &visitor,
        },
    );
    let forward =
        decision.outcome == Outcome::Redirect && record.forward_query == ForwardQuery::Every(true);
    Target {
        status: decision.status,
        location: decision.location,
        forward,
    }
}

/// A destination the configurations can hold as it is, or why not.
fn check_location(location: &str) -> Result<(), String> {
    match location
        .chars()
        .find(|c| !c.is_ascii_graphic() || matches!(c, '"' | '\'' | '\\' | '{' | '}'))
    {
        Some(c) => Err(format!(
            "destination {location:?} holds {c:?}, which nginx or Caddy would read as syntax"
        )),
        None => Ok(()),
    }
}

/// The piece route of a record with `pieces`: core's own substitution
/// (`for_piece`) with [`PIECE_MARK`] as the piece, and the mark turned back
/// into [`PLACEHOLDER`] in the decided location for each server to fill in.
fn piece_route(slug: &str, record: &LinkRecord, now: i64) -> Option<PieceRoute> {
    let pieces = record.pieces?;
    // `{slug}-{piece}` must itself be a slug (at most MAX_SLUG_LEN characters).
    let room = MAX_SLUG_LEN.checked_sub(slug.len() + 1)?;
    let max_length = (pieces.max_length as usize).min(MAX_PIECE_LEN).min(room);
    if max_length == 0 {
        return None;
    }
    let mut target = default_target(slug, &record.for_piece(PIECE_MARK), now);
    target.location = target
        .location
        .map(|location| location.replace(PIECE_MARK, PLACEHOLDER));
    Some(PieceRoute { max_length, target })
}

/// Reads and judges the whole input; the first bad line stops everything.
pub fn read_links(bytes: &[u8], now: i64) -> Result<Links, String> {
    let mut links = Links::new();
    for (number, line) in numbered(bytes) {
        let split = split(number, line)?;
        if split.record.to_string().contains(PIECE_MARK) {
            return Err(format!(
                "line {number}: holds {PIECE_MARK:?}, which the kit uses to mark the piece"
            ));
        }
        let record = record_of(number, &split)?;
        // Core has checked both; the servers' syntax depends on it, so check again here.
        if !is_dns_name(&split.domain) || !is_valid_slug(&split.slug) {
            return Err(format!("line {number}: domain or slug outside a-z 0-9 - ."));
        }
        let located = |e: String| format!("line {number} ({}/{}): {e}", split.domain, split.slug);
        // The base slug answers with `{piece}` replaced by nothing, as on the edge.
        let target = default_target(&split.slug, &record.for_piece(""), now);
        if let Some(location) = &target.location {
            check_location(location).map_err(located)?;
        }
        let pieces = piece_route(&split.slug, &record, now);
        if let Some(location) = pieces.as_ref().and_then(|p| p.target.location.as_ref()) {
            check_location(&location.replace(PLACEHOLDER, "")).map_err(located)?;
        }
        let domain = links.entry(split.domain.clone()).or_default();
        if let Some(pieces) = pieces {
            domain.pieces.insert(split.slug.clone(), pieces);
        }
        if domain.slugs.insert(split.slug.clone(), target).is_some() {
            return Err(format!(
                "line {number}: {}/{} is already on an earlier line",
                split.domain, split.slug
            ));
        }
    }
    Ok(links)
}

/// `--listen`: a port, or an address and a port.
fn parse_listen(listen: &str) -> Result<(Option<String>, u16), String> {
    let (address, port) = match listen.rsplit_once(':') {
        Some((address, port)) => (Some(address.trim_matches(['[', ']']).to_owned()), port),
        None => (None, listen),
    };
    let port: u16 = port
        .parse()
        .ok()
        .filter(|p| *p > 0)
        .ok_or_else(|| format!("--listen {listen:?}: want PORT or ADDRESS:PORT"))?;
    if let Some(address) = &address {
        address
            .parse::<std::net::IpAddr>()
            .map_err(|_| format!("--listen {listen:?}: {address:?} is not an IP address"))?;
    }
    Ok((address, port))
}

/// The destination as nginx writes it: `$` through `$qrkit_dollar`, a piece
/// through the piece route's named capture, and the scan's query appended
/// when the record forwards it.
fn nginx_location(target: &Target) -> String {
    let location = target.location.as_deref().unwrap_or("");
    let mut out = location
        .replace('$', "${qrkit_dollar}")
        .replace(PLACEHOLDER, "${qrkit_piece}");
    if target.forward {
        out += if location.contains('?') {
            "$qrkit_and_args"
        } else {
            "$is_args$args"
        };
    }
    out
}

pub fn nginx_conf(links: &Links, listen: &(Option<String>, u16)) -> String {
    let listen = match &listen.0 {
        Some(address) if address.contains(':') => format!("[{address}]:{}", listen.1),
        Some(address) => format!("{address}:{}", listen.1),
        None => listen.1.to_string(),
    };
    let count: usize = links.values().map(|d| d.slugs.len()).sum();
    let mut statuses = String::new();
    let mut locations = String::new();
    for (domain, links) in links {
        for (slug, target) in &links.slugs {
            let _ = writeln!(statuses, "        {domain}/{slug} {};", target.status);
            if target.location.is_some() {
                let _ = writeln!(
                    locations,
                    "        {domain}/{slug} \"{}\";",
                    nginx_location(target)
                );
            }
        }
    }
    // Piece routes after every exact key: `map` tries exact strings first and
    // regexes (`~*`: ignoring case) only then, in order, so a link of its own wins.
    for (domain, links) in links {
        for (base, route) in &links.pieces {
            let pattern = format!(
                "\"~*^{}/{base}-(?<qrkit_piece>[a-z0-9]{{1,{}}})$\"",
                domain.replace('.', "\\."),
                route.max_length
            );
            let _ = writeln!(statuses, "        {pattern} {};", route.target.status);
            if route.target.location.is_some() {
                let _ = writeln!(
                    locations,
                    "        {pattern} \"{}\";",
                    nginx_location(&route.target)
                );
            }
        }
    }
    let mut returns = String::new();
    for code in [301, 302, 303, 307, 308] {
        let _ = writeln!(
            returns,
            "            if ($qrkit_status = {code}) {{ return {code} $qrkit_location; }}"
        );
    }
    // Hash sizes: room for every key, and a bucket that holds the longest
    // (a 253-character domain and a 64-character slug); nginx refuses to
    // start when they do not fit.
    let max_size = (count * 2).next_power_of_two().max(1024);
    let longest = links
        .iter()
        .flat_map(|(domain, d)| {
            d.slugs
                .keys()
                .map(move |slug| domain.len() + 1 + slug.len())
        })
        .max()
        .unwrap_or(0);
    let bucket_size = (longest + 32).next_power_of_two().max(128);
    format!(
        r#"# Written by `qrctl exit-kit` ({count} links): run it with
#   nginx -p DIR -c DIR/nginx.conf
# Each slug answers what a default visitor got from qr-edge when the kit was
# made (docs/qrctl.md). Slugs match in any case: map compares strings ignoring case.
daemon off;
worker_processes 1;
pid nginx.pid;
error_log logs/error.log warn;

events {{
    worker_connections 1024;
}}

http {{
    access_log logs/access.log;
    client_body_temp_path tmp/client_body;
    proxy_temp_path tmp/proxy;
    fastcgi_temp_path tmp/fastcgi;
    uwsgi_temp_path tmp/uwsgi;
    scgi_temp_path tmp/scgi;
    default_type text/plain;
    server_tokens off;
    # `//x` is not `/x` on the edge either.
    merge_slashes off;
    map_hash_max_size {max_size};
    map_hash_bucket_size {bucket_size};

    # A literal `$` in a destination (nginx reads `$` as a variable everywhere else).
    geo $qrkit_dollar {{
        default "$";
    }}
    # The scan's query after a destination that has a query of its own.
    map $args $qrkit_and_args {{
        "" "";
        default "&$args";
    }}
    # The path without one trailing slash: the edge reads /{{slug}}/ as /{{slug}}.
    map $uri $qrkit_path {{
        "~^(?<qrkit_trimmed>/.+)/$" $qrkit_trimmed;
        default $uri;
    }}
    map "$host$qrkit_path" $qrkit_status {{
        default 404;
{statuses}    }}
    map "$host$qrkit_path" $qrkit_location {{
        default "";
{locations}    }}

    server {{
        listen {listen} default_server;
        server_name _;
        location / {{
{returns}            if ($qrkit_status = 410) {{ return 410; }}
            return 404;
        }}
    }}
}}
"#
    )
}

/// Caddy's `redir` rules for one target matched by `matcher` (a path, or a
/// named matcher `@name` whose `body` is written first): the scan's query
/// appended by a second, query-only rule before the plain one.
fn caddy_redir(out: &mut String, name: &str, path: &str, target: &Target) {
    let Some(location) = &target.location else {
        let _ = writeln!(
            out,
            "\t\t@{name} {path}\n\t\trespond @{name} {}",
            target.status
        );
        return;
    };
    let location = location.replace(PLACEHOLDER, "{re.qrkitpiece.1}");
    if target.forward {
        let joiner = if location.contains('?') { '&' } else { '?' };
        let _ = writeln!(
            out,
            "\t\t@q-{name} {{\n\t\t\t{path}\n\t\t\texpression {{query}} != \"\"\n\t\t}}\n\t\tredir @q-{name} \"{location}{joiner}{{query}}\" {}",
            target.status
        );
    }
    let _ = writeln!(
        out,
        "\t\t@{name} {path}\n\t\tredir @{name} \"{location}\" {}",
        target.status
    );
}

/// Caddy's sites, one per domain: exact slugs first, then piece routes, so a
/// link of its own wins, as on the edge.
pub fn caddyfile(links: &Links, listen: &(Option<String>, u16), storage: &Path) -> String {
    let port = listen.1;
    let bind = listen
        .0
        .as_ref()
        .map(|address| format!("\tbind {address}\n"))
        .unwrap_or_default();
    let mut out = format!(
        "# Written by `qrctl exit-kit`: run it with\n#   caddy run --config DIR/Caddyfile --adapter caddyfile\n\
         # Each slug answers what a default visitor got from qr-edge when the kit was\n\
         # made (docs/qrctl.md). Caddy's path matcher ignores case.\n\
         {{\n\tadmin off\n\tauto_https off\n\tstorage file_system {}\n}}\n",
        storage.display()
    );
    for (domain, links) in links {
        // One trailing slash is dropped first: the edge reads /{slug}/ as /{slug}.
        let _ = writeln!(
            out,
            "\nhttp://{domain}:{port} {{\n{bind}\troute {{\n\t\turi strip_suffix /"
        );
        for (slug, target) in &links.slugs {
            caddy_redir(
                &mut out,
                &format!("s-{slug}"),
                &format!("path /{slug}"),
                target,
            );
        }
        for (base, route) in &links.pieces {
            // `(?i)`: any case, as `path` matches; the capture keeps the scanned case.
            let path = format!(
                "path_regexp qrkitpiece (?i)^/{base}-([a-z0-9]{{1,{}}})$",
                route.max_length
            );
            caddy_redir(&mut out, &format!("p-{base}"), &path, &route.target);
        }
        let _ = writeln!(out, "\t\trespond 404\n\t}}\n}}");
    }
    let _ = writeln!(out, "\nhttp://:{port} {{\n{bind}\trespond 404\n}}");
    out
}

/// Netlify/Cloudflare Pages rules of one domain (`prefix` empty), or host-qualified ones.
/// Piece codes get a comment only: both hosts document `:placeholder` as a
/// whole path segment, never part of one like `/{slug}-:piece`.
fn redirects(prefix: &str, links: &Domain) -> String {
    let mut out = String::new();
    for base in links.pieces.keys() {
        let _ = writeln!(
            out,
            "# {prefix}/{base}-{PLACEHOLDER}: piece codes cannot be expressed here (docs/qrctl.md)"
        );
    }
    for (slug, target) in &links.slugs {
        if let Some(location) = &target.location {
            for path in [slug.clone(), slug.to_ascii_uppercase()] {
                let _ = writeln!(out, "{prefix}/{path}  {location}  {}", target.status);
            }
        }
    }
    out
}

fn html_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A page that sends the browser on at once (or says the code has ended).
fn static_page(target: &Target) -> String {
    match &target.location {
        Some(location) => {
            let url = html_escape(location);
            format!(
                "<!doctype html>\n<html><head><meta charset=\"utf-8\">\n<meta http-equiv=\"refresh\" content=\"0; url={url}\">\n<link rel=\"canonical\" href=\"{url}\">\n<meta name=\"robots\" content=\"noindex\">\n<title>Redirecting</title></head>\n<body><p>Redirecting to <a href=\"{url}\">{url}</a>.</p></body></html>\n"
            )
        }
        None => "<!doctype html>\n<html><head><meta charset=\"utf-8\">\n<meta name=\"robots\" content=\"noindex\">\n<title>This code has ended</title></head>\n<body><p>This code has ended.</p></body></html>\n".to_owned(),
    }
}

fn write(path: &Path, text: &str) -> Result<(), String> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
    }
    std::fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))
}

/// Writes every file of the kit into `dir`.
pub fn write_kit(links: &Links, dir: &Path, listen: &(Option<String>, u16)) -> Result<(), String> {
    for sub in ["logs", "tmp", "caddy"] {
        std::fs::create_dir_all(dir.join(sub)).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    let dir_abs = std::fs::canonicalize(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    write(&dir.join("nginx.conf"), &nginx_conf(links, listen))?;
    write(
        &dir.join("Caddyfile"),
        &caddyfile(links, listen, &dir_abs.join("caddy")),
    )?;
    let mut all = String::from(
        "# Written by `qrctl exit-kit`: Netlify rules for one site serving every domain.\n",
    );
    for (domain, links) in links {
        all += &redirects(&format!("https://{domain}"), links);
        let site = dir.join("static").join(domain);
        write(&site.join("_redirects"), &redirects("", links))?;
        let mut names = BTreeSet::new();
        for (slug, target) in &links.slugs {
            let page = static_page(target);
            for name in [slug.clone(), slug.to_ascii_uppercase()] {
                if names.insert(name.clone()) {
                    write(&site.join(&name).join("index.html"), &page)?;
                }
            }
        }
    }
    write(&dir.join("_redirects"), &all)
}

pub fn run(args: ExitKitArgs) -> ExitCode {
    let result = (|| {
        let listen = parse_listen(&args.listen)?;
        let now = match &args.at {
            Some(at) => parse_rfc3339(at).ok_or_else(|| format!("--at {at:?}: want RFC 3339"))?,
            None => std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_err(|e| e.to_string())?
                .as_millis() as i64,
        };
        let bytes = read_input(&args.file)?;
        let links = read_links(&bytes, now)?;
        write_kit(&links, &args.out, &listen)?;
        Ok::<usize, String>(links.values().map(|d| d.slugs.len()).sum())
    })();
    match result {
        Ok(n) => {
            println!(
                "{n} links: nginx.conf, Caddyfile, _redirects and static/ written to {}",
                args.out.display()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{e}");
            ExitCode::from(2)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use qr_edge_core::pieces::piece_code;

    fn kit(lines: &str) -> Result<Links, String> {
        read_links(lines.as_bytes(), 0)
    }

    #[test]
    fn a_record_with_pieces_gets_a_piece_route_with_the_placeholder() {
        let links = kit(
            r#"{"domain":"go.example.com","slug":"mail","url":"https://example.com/m/{piece}?c={piece}","pieces":{"max_length":6}}"#,
        )
        .unwrap();
        let domain = &links["go.example.com"];
        assert_eq!(
            domain.slugs["mail"].location.as_deref(),
            Some("https://example.com/m/?c="),
            "the base slug: {{piece}} replaced by nothing"
        );
        let route = &domain.pieces["mail"];
        assert_eq!(route.max_length, 6);
        assert_eq!(
            route.target.location.as_deref(),
            Some("https://example.com/m/{piece}?c={piece}")
        );
        let conf = nginx_conf(&links, &(None, 80));
        assert!(conf.contains(r#""~*^go\.example\.com/mail-(?<qrkit_piece>[a-z0-9]{1,6})$""#));
        assert!(conf.contains("https://example.com/m/${qrkit_piece}?c=${qrkit_piece}"));
        let caddy = caddyfile(&links, &(None, 80), Path::new("/x"));
        assert!(caddy.contains("path_regexp qrkitpiece (?i)^/mail-([a-z0-9]{1,6})$"));
        assert!(caddy.contains("https://example.com/m/{re.qrkitpiece.1}?c={re.qrkitpiece.1}"));
    }

    #[test]
    fn a_piece_route_never_matches_a_path_longer_than_a_slug() {
        let base = "b".repeat(60);
        let links = kit(&format!(
            r#"{{"domain":"go.example.com","slug":"{base}","url":"https://example.com/{{piece}}","pieces":{{"max_length":8}}}}"#
        ))
        .unwrap();
        let route = &links["go.example.com"].pieces[&base];
        assert_eq!(route.max_length, 3, "60 + 1 + 3 = 64 characters");
        // The edge routes only slugs (path.rs), and reads those as piece codes.
        assert!(
            is_valid_slug(&format!("{base}-abc")) && piece_code(&format!("{base}-abc")).is_some()
        );
        assert!(!is_valid_slug(&format!("{base}-abcd")));
        let full = "c".repeat(63);
        let links = kit(&format!(
            r#"{{"domain":"go.example.com","slug":"{full}","url":"https://example.com/{{piece}}","pieces":{{"max_length":8}}}}"#
        ))
        .unwrap();
        assert!(
            links["go.example.com"].pieces.is_empty(),
            "no room for a piece"
        );
    }

    #[test]
    fn a_record_holding_the_piece_mark_is_refused() {
        let err = kit(&format!(
            r#"{{"domain":"go.example.com","slug":"a","url":"https://example.com/{PIECE_MARK}"}}"#
        ))
        .unwrap_err();
        assert!(err.contains("line 1") && err.contains(PIECE_MARK), "{err}");
    }
}
