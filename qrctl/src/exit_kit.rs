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
//! `{piece}` replaced by nothing, as the edge does; its piece codes are not in
//! the kit (docs/qrctl.md). Slugs match in any case (nginx's `map` compares strings
//! ignoring case; Caddy's `path` matcher ignores case).
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
use qr_edge_core::path::{is_dns_name, is_valid_slug};
use qr_edge_core::record::{ForwardQuery, LinkRecord};
use qr_edge_core::targeting::ScanFacts;
use qr_edge_core::visitor::{Geo, RequestFacts, Visitor};
use serde_json::Value;
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

/// The kit's input: domain → slug → target, sorted (stable output).
pub type Links = BTreeMap<String, BTreeMap<String, Target>>;

/// What a default visitor gets for `record` at `now`.
pub fn default_target(slug: &str, record: &LinkRecord, now: i64) -> Target {
    let visitor = Visitor::classify(
        None,
        None,
        None,
        RequestFacts::default(),
        Geo::default(),
        None,
    );
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

/// A scan of the base slug of a record with `pieces` replaces `{piece}` in
/// its destinations by nothing (docs/links.md); the kit answers base slugs
/// only, so every destination loses its placeholder here.
fn without_piece_placeholder(record: &mut Value) {
    // `get_mut`, not indexing: indexing would add the fields a record lacks.
    let strip = |value: Option<&mut Value>| {
        if let Some(Value::String(url)) = value {
            *url = url.replace("{piece}", "");
        }
    };
    strip(record.get_mut("url"));
    strip(record.get_mut("expired_url"));
    for list in ["rules", "split"] {
        if let Some(entries) = record.get_mut(list).and_then(Value::as_array_mut) {
            for entry in entries {
                strip(entry.get_mut("url"));
            }
        }
    }
}

/// Reads and judges the whole input; the first bad line stops everything.
pub fn read_links(bytes: &[u8], now: i64) -> Result<Links, String> {
    let mut links = Links::new();
    for (number, line) in numbered(bytes) {
        let mut split = split(number, line)?;
        without_piece_placeholder(&mut split.record);
        let record = record_of(number, &split)?;
        // Core has checked both; the servers' syntax depends on it, so check again here.
        if !is_dns_name(&split.domain) || !is_valid_slug(&split.slug) {
            return Err(format!("line {number}: domain or slug outside a-z 0-9 - ."));
        }
        let target = default_target(&split.slug, &record, now);
        if let Some(location) = &target.location {
            check_location(location)
                .map_err(|e| format!("line {number} ({}/{}): {e}", split.domain, split.slug))?;
        }
        let slugs = links.entry(split.domain.clone()).or_default();
        if slugs.insert(split.slug.clone(), target).is_some() {
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

/// The destination as nginx writes it: `$` through `$qrkit_dollar`, and the
/// scan's query appended when the record forwards it.
fn nginx_location(target: &Target) -> String {
    let location = target.location.as_deref().unwrap_or("");
    let mut out = location.replace('$', "${qrkit_dollar}");
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
    let count: usize = links.values().map(BTreeMap::len).sum();
    let mut statuses = String::new();
    let mut locations = String::new();
    for (domain, slugs) in links {
        for (slug, target) in slugs {
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
        .flat_map(|(domain, slugs)| slugs.keys().map(move |slug| domain.len() + 1 + slug.len()))
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
    map "$host$uri" $qrkit_status {{
        default 404;
{statuses}    }}
    map "$host$uri" $qrkit_location {{
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

/// Caddy's destination: the scan's query appended by a second, query-only rule.
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
    for (domain, slugs) in links {
        let _ = writeln!(out, "\nhttp://{domain}:{port} {{\n{bind}\troute {{");
        for (slug, target) in slugs {
            match &target.location {
                Some(location) => {
                    if target.forward {
                        let joiner = if location.contains('?') { '&' } else { '?' };
                        let _ = writeln!(
                            out,
                            "\t\t@q-{slug} {{\n\t\t\tpath /{slug}\n\t\t\texpression {{query}} != \"\"\n\t\t}}\n\t\tredir @q-{slug} \"{location}{joiner}{{query}}\" {}",
                            target.status
                        );
                    }
                    let _ = writeln!(out, "\t\tredir /{slug} \"{location}\" {}", target.status);
                }
                None => {
                    let _ = writeln!(out, "\t\trespond /{slug} {}", target.status);
                }
            }
        }
        let _ = writeln!(out, "\t\trespond 404\n\t}}\n}}");
    }
    let _ = writeln!(out, "\nhttp://:{port} {{\n{bind}\trespond 404\n}}");
    out
}

/// Netlify/Cloudflare Pages rules of one domain (`prefix` empty), or host-qualified ones.
fn redirects(prefix: &str, slugs: &BTreeMap<String, Target>) -> String {
    let mut out = String::new();
    for (slug, target) in slugs {
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
    for (domain, slugs) in links {
        all += &redirects(&format!("https://{domain}"), slugs);
        let site = dir.join("static").join(domain);
        write(&site.join("_redirects"), &redirects("", slugs))?;
        let mut names = BTreeSet::new();
        for (slug, target) in slugs {
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
        Ok::<usize, String>(links.values().map(BTreeMap::len).sum())
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
