//! `qrctl export --from URL [--domain D] --out FILE`: every link of a running
//! service, or of one domain, as import NDJSON, through the export route:
//! `GET /_api/v1/export?domain=D&cursor=C` answers 200 `application/x-ndjson`,
//! one import line per link; while more remain the answer carries
//! `X-Next-Cursor`, and the last page has none.
//!
//! Resuming: each page is appended to FILE as it arrives and the next cursor
//! is printed to stderr; `--cursor C` starts there and appends to FILE
//! instead of replacing it. Pages are written whole or not at all, so a resumed
//! export neither loses nor repeats a link.

use crate::TOKEN_ENV;
use clap::Args;
use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

const EXPORT_PATH: &str = "/_api/v1/export";

#[derive(Args)]
pub struct ExportArgs {
    /// The service's base URL, e.g. https://go.example.com (token from QR_EDGE_ADMIN_TOKEN).
    #[arg(long, value_name = "URL")]
    from: String,
    /// Only this short-link domain (default: every domain).
    #[arg(long, value_name = "D")]
    domain: Option<String>,
    /// Where the NDJSON goes.
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
    /// Resume at this cursor (printed by an interrupted export), appending to FILE.
    #[arg(long, value_name = "C")]
    cursor: Option<String>,
    /// Seconds without an answer before a page counts as failed.
    #[arg(long, value_name = "S", default_value_t = 180)]
    timeout: u64,
}

/// One page of the export.
pub struct Page {
    /// The NDJSON body, ending in a newline unless empty.
    pub body: Vec<u8>,
    /// `X-Next-Cursor`, when more remain.
    pub next: Option<String>,
}

/// Fetches one page.
pub fn fetch_page(
    agent: &ureq::Agent,
    base: &str,
    token: &str,
    domain: Option<&str>,
    cursor: Option<&str>,
) -> Result<Page, String> {
    let mut request = agent
        .get(format!("{}{EXPORT_PATH}", base.trim_end_matches('/')))
        .header("authorization", &format!("Bearer {token}"))
        .header("accept", "application/x-ndjson");
    if let Some(domain) = domain {
        request = request.query("domain", domain);
    }
    if let Some(cursor) = cursor {
        request = request.query("cursor", cursor);
    }
    let response = request.call().map_err(|e| e.to_string())?;
    let status = response.status().as_u16();
    let next = response
        .headers()
        .get("x-next-cursor")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .filter(|c| !c.is_empty());
    let mut body = Vec::new();
    response
        .into_body()
        .into_reader()
        .read_to_end(&mut body)
        .map_err(|e| format!("reading the page: {e}"))?;
    if status != 200 {
        return Err(format!(
            "{status}: {}",
            String::from_utf8_lossy(&body[..body.len().min(2048)]).trim()
        ));
    }
    if !body.is_empty() && !body.ends_with(b"\n") {
        body.push(b'\n');
    }
    Ok(Page { body, next })
}

pub fn run(args: ExportArgs) -> ExitCode {
    let token = std::env::var(TOKEN_ENV).unwrap_or_default();
    if token.is_empty() {
        eprintln!(
            "set {TOKEN_ENV} to the service's admin_token (it is never taken as an argument)"
        );
        return ExitCode::from(2);
    }
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(args.timeout)))
        .build()
        .into();
    let file = std::fs::OpenOptions::new()
        .create(true)
        .write(true)
        .append(args.cursor.is_some())
        .truncate(args.cursor.is_none())
        .open(&args.out);
    let mut file = match file {
        Ok(file) => file,
        Err(e) => {
            eprintln!("{}: {e}", args.out.display());
            return ExitCode::from(2);
        }
    };
    let mut cursor = args.cursor.clone();
    let (mut pages, mut links) = (0usize, 0usize);
    loop {
        let page = match fetch_page(
            &agent,
            &args.from,
            &token,
            args.domain.as_deref(),
            cursor.as_deref(),
        ) {
            Ok(page) => page,
            Err(e) => {
                eprintln!("export stopped after {links} links: {e}");
                if let Some(c) = &cursor {
                    eprintln!("resume with --cursor {c}");
                }
                return ExitCode::FAILURE;
            }
        };
        if let Err(e) = file.write_all(&page.body).and_then(|()| file.flush()) {
            eprintln!("{}: {e}", args.out.display());
            return ExitCode::from(2);
        }
        pages += 1;
        links += page
            .body
            .split(|b| *b == b'\n')
            .filter(|l| !l.is_empty())
            .count();
        match page.next {
            Some(next) => {
                eprintln!("{links} links so far; next cursor {next}");
                cursor = Some(next);
            }
            None => break,
        }
    }
    eprintln!(
        "{links} links in {pages} pages written to {}",
        args.out.display()
    );
    ExitCode::SUCCESS
}
