//! `qrctl import FILE --to URL`: links into a running service through
//! `POST /_api/v1/import`, in requests of at most the service's line cap
//! (core's `MAX_IMPORT_LINES`) and 1 MiB (`MAX_BODY_BYTES`). A refused import
//! writes nothing (413), so a chunk the service finds too large is halved and
//! sent again. Results stream back one per link line; they go to stdout with
//! the FILE's line numbers, a progress bar to stderr (hidden when stderr is
//! not a terminal), and a summary at the end.
//!
//! Resuming: `--from-line N` skips the file's lines before N. When a chunk goes
//! unanswered the tool stops and prints the line to resume from; lines whose
//! result may change on a second try (409, 429, 5xx, unanswered) are written
//! to `--failed FILE`. Sending a line again is safe: an import line creates or
//! replaces its link.
//!
//! `qrctl import FILE --local PATH`: the local KV store file that
//! `./scripts/serve` serves (`QR_EDGE_LINKS`, default `local/links.json`): one
//! entry `"{domain}/{slug}"` → the record's JSON text per line, merged into
//! PATH (or replacing it with `--replace`). Records are checked as the edge
//! reads them, so a bad line is refused here instead of as a source error.
//!
//! Exit status: 0 when every link line was written, 1 when any was refused or
//! failed, 2 when the service or the file could not be used at all.

use crate::links::{numbered, parse, read_input};
use crate::TOKEN_ENV;
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use qr_edge_core::admin::{MAX_BODY_BYTES, MAX_IMPORT_LINES};
use serde_json::{Map, Value};
use std::collections::HashSet;
use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

const IMPORT_PATH: &str = "/_api/v1/import";

#[derive(Args)]
pub struct ImportArgs {
    /// Links, one {"domain","slug",…record} object per line; - for stdin.
    file: PathBuf,
    /// The service's base URL, e.g. https://go.example.com (token from QR_EDGE_ADMIN_TOKEN).
    #[arg(
        long,
        value_name = "URL",
        conflicts_with = "local",
        required_unless_present = "local"
    )]
    to: Option<String>,
    /// A local KV store file (JSON, as fastly.local.toml's `links` store reads it), e.g. local/links.json.
    #[arg(long, value_name = "PATH")]
    local: Option<PathBuf>,
    /// With --local: drop the links already in PATH.
    #[arg(long, requires = "local")]
    replace: bool,
    /// Link lines per request (default and maximum: the service's cap).
    #[arg(long, value_name = "N", requires = "to", value_parser = clap::value_parser!(u32).range(1..))]
    chunk: Option<u32>,
    /// Skip the file's lines before N (resume where a stopped import said).
    #[arg(long, value_name = "N", requires = "to", default_value_t = 1)]
    from_line: usize,
    /// Write the lines worth sending again (409, 429, 5xx, unanswered) here.
    #[arg(long, value_name = "FILE", requires = "to")]
    failed: Option<PathBuf>,
    /// Seconds without an answer before a chunk counts as unanswered.
    #[arg(long, value_name = "S", requires = "to", default_value_t = 180)]
    timeout: u64,
}

pub fn run(args: ImportArgs) -> ExitCode {
    let bytes = match read_input(&args.file) {
        Ok(bytes) => bytes,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    match (&args.to, &args.local) {
        (Some(to), _) => remote(&args, to, &bytes),
        (None, Some(local)) => match load_local(local, args.replace, &bytes) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("{e}");
                ExitCode::FAILURE
            }
        },
        (None, None) => ExitCode::from(2),
    }
}

/// Merges the lines into the KV JSON file; nothing is written when a line is bad.
fn load_local(path: &PathBuf, replace: bool, bytes: &[u8]) -> Result<(), String> {
    let mut store: Map<String, Value> = if replace || !path.exists() {
        Map::new()
    } else {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        serde_json::from_str(&text)
            .map_err(|e| format!("{}: not a KV store JSON object: {e}", path.display()))?
    };
    let mut added = 0;
    let mut seen = HashSet::new();
    for (number, line) in numbered(bytes) {
        let (split, _) = parse(number, line)?;
        let key = format!("{}/{}", split.domain, split.slug);
        if !seen.insert(key.clone()) {
            return Err(format!(
                "line {number}: {key} is already on an earlier line"
            ));
        }
        let text = serde_json::to_string(&split.record).map_err(|e| e.to_string())?;
        store.insert(key, Value::String(text));
        added += 1;
    }
    // One entry per line, as the tracked fixtures are written: diffs stay readable.
    let entries: Vec<String> = store
        .iter()
        .map(|(k, v)| format!("  {}: {}", Value::String(k.clone()), v))
        .collect();
    let text = format!("{{\n{}\n}}\n", entries.join(",\n"));
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
    }
    std::fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))?;
    println!(
        "{added} links loaded into {} ({} in all); restart ./scripts/serve to serve them",
        path.display(),
        store.len()
    );
    Ok(())
}

/// Splits the lines into import bodies of at most `max_lines` lines and
/// `MAX_BODY_BYTES` bytes, keeping their order.
fn chunks<'a>(lines: &[(usize, &'a [u8])], max_lines: usize) -> Vec<Vec<(usize, &'a [u8])>> {
    let mut out = Vec::new();
    let mut chunk: Vec<(usize, &[u8])> = Vec::new();
    let mut size = 0;
    for &(number, line) in lines {
        if !chunk.is_empty() && (chunk.len() == max_lines || size + line.len() + 1 > MAX_BODY_BYTES)
        {
            out.push(std::mem::take(&mut chunk));
            size = 0;
        }
        chunk.push((number, line));
        size += line.len() + 1;
    }
    if !chunk.is_empty() {
        out.push(chunk);
    }
    out
}

/// Counts of the summary.
#[derive(Default)]
struct Counts {
    created: usize,
    replaced: usize,
    refused: usize,
    failed: usize,
}

/// How one chunk went.
enum Sent {
    /// Every line has its result.
    Answered,
    /// 413: nothing was written; the service's reason.
    TooLarge(String),
}

/// A chunk the service did not take whole: nothing of it was written, or it is
/// not known how much.
struct Unanswered(String);

struct Importer {
    agent: ureq::Agent,
    url: String,
    token: String,
}

impl Importer {
    /// POSTs one chunk and calls `on_result(file line, result)` per result line as it streams in.
    fn send(
        &self,
        chunk: &[(usize, &[u8])],
        on_result: &mut dyn FnMut(usize, Value),
    ) -> Result<Sent, Unanswered> {
        let mut body = Vec::new();
        for (_, line) in chunk {
            body.extend_from_slice(line);
            body.push(b'\n');
        }
        let response = self
            .agent
            .post(&self.url)
            .header("authorization", &format!("Bearer {}", self.token))
            .header("content-type", "application/x-ndjson")
            .send(&body[..])
            .map_err(|e| Unanswered(e.to_string()))?;
        let status = response.status().as_u16();
        let mut reader = BufReader::new(response.into_body().into_reader());
        if status == 413 {
            return Ok(Sent::TooLarge(problem_text(&mut reader)));
        }
        if status != 200 {
            return Err(Unanswered(format!(
                "{status}: {}",
                problem_text(&mut reader)
            )));
        }
        let mut seen = 0;
        let mut raw = Vec::new();
        loop {
            raw.clear();
            let n = reader
                .read_until(b'\n', &mut raw)
                .map_err(|e| Unanswered(format!("reading the results: {e}")))?;
            if n == 0 {
                break;
            }
            if raw.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            let result: Value = serde_json::from_slice(&raw)
                .map_err(|e| Unanswered(format!("a result line is not JSON: {e}")))?;
            let index = result["line"].as_u64().unwrap_or(0) as usize;
            if index == 0 || index > chunk.len() {
                return Err(Unanswered(format!(
                    "a result names line {} of a {}-line chunk",
                    result["line"],
                    chunk.len()
                )));
            }
            on_result(chunk[index - 1].0, result);
            seen += 1;
        }
        if seen != chunk.len() {
            return Err(Unanswered(format!(
                "{seen} results for {} lines: the stream ended early",
                chunk.len()
            )));
        }
        Ok(Sent::Answered)
    }
}

/// The `detail` (or `title`) of a problem+json body, else its text.
fn problem_text(reader: impl BufRead) -> String {
    let mut text = String::new();
    let _ = std::io::Read::read_to_string(&mut std::io::Read::take(reader, 64 * 1024), &mut text);
    match serde_json::from_str::<Value>(&text) {
        Ok(problem) => problem["detail"]
            .as_str()
            .or(problem["title"].as_str())
            .map_or(text.clone(), str::to_owned),
        Err(_) => text.trim().to_owned(),
    }
}

fn remote(args: &ImportArgs, to: &str, bytes: &[u8]) -> ExitCode {
    let token = std::env::var(TOKEN_ENV).unwrap_or_default();
    if token.is_empty() {
        eprintln!(
            "set {TOKEN_ENV} to the service's admin_token (it is never taken as an argument)"
        );
        return ExitCode::from(2);
    }
    let base = match url::Url::parse(to) {
        Ok(url) if matches!(url.scheme(), "http" | "https") && url.host().is_some() => url,
        _ => {
            eprintln!("--to {to:?}: want http://host[:port] or https://host[:port]");
            return ExitCode::from(2);
        }
    };
    let mut cap = args.chunk.map_or(MAX_IMPORT_LINES, |n| n as usize);
    let lines: Vec<(usize, &[u8])> = numbered(bytes)
        .into_iter()
        .filter(|(n, _)| *n >= args.from_line)
        .collect();
    let total = lines.len();
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(args.timeout)))
        .build()
        .into();
    let importer = Importer {
        agent,
        url: format!("{}{}", base.as_str().trim_end_matches('/'), IMPORT_PATH),
        token,
    };
    eprintln!("importing {total} link lines into {to}, at most {cap} per request");
    let bar = ProgressBar::new(total as u64);
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} lines ({per_sec}, {eta} left) {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let started = Instant::now();
    let mut counts = Counts::default();
    let mut answered: HashSet<usize> = HashSet::new();
    let mut retry: Vec<&[u8]> = Vec::new();
    let source: std::collections::HashMap<usize, &[u8]> = lines.iter().copied().collect();
    let mut stdout = std::io::stdout().lock();
    let mut pending: std::collections::VecDeque<Vec<(usize, &[u8])>> = chunks(&lines, cap).into();
    let mut stopped = None;
    while let Some(chunk) = pending.pop_front() {
        let mut on_result = |number: usize, mut result: Value| {
            let status = result["status"].as_u64().unwrap_or(0);
            match status {
                201 => counts.created += 1,
                200 => counts.replaced += 1,
                409 | 429 | 500..=599 => {
                    counts.failed += 1;
                    retry.push(source[&number]);
                }
                _ => counts.refused += 1,
            }
            if status != 200 && status != 201 {
                let place: Vec<&str> = ["domain", "slug"]
                    .iter()
                    .filter_map(|k| result[*k].as_str())
                    .collect();
                bar.suspend(|| {
                    eprintln!(
                        "line {number} {}: {status} {}",
                        place.join("/"),
                        result["error"].as_str().unwrap_or("")
                    )
                });
            }
            result["line"] = Value::from(number);
            let _ = writeln!(stdout, "{result}");
            answered.insert(number);
            bar.inc(1);
            bar.set_message(format!(
                "{} created, {} replaced, {} refused, {} failed",
                counts.created, counts.replaced, counts.refused, counts.failed
            ));
        };
        match importer.send(&chunk, &mut on_result) {
            Ok(Sent::Answered) => {}
            Ok(Sent::TooLarge(reason)) if chunk.len() == 1 => {
                bar.suspend(|| eprintln!("line {}: refused: {reason}", chunk[0].0));
                counts.refused += 1;
                answered.insert(chunk[0].0);
                bar.inc(1);
            }
            Ok(Sent::TooLarge(reason)) => {
                // A refused import wrote nothing: the same lines again, in smaller requests.
                cap = (chunk.len() / 2).max(1);
                bar.suspend(|| {
                    eprintln!(
                        "the service refused {} lines at once ({reason}); sending {cap} at a time",
                        chunk.len()
                    )
                });
                let rest: Vec<(usize, &[u8])> = chunk
                    .into_iter()
                    .chain(pending.drain(..).flatten())
                    .collect();
                pending = chunks(&rest, cap).into();
            }
            Err(Unanswered(why)) => {
                // Lines without a result may or may not have been written; sending them again is safe.
                let unanswered: Vec<(usize, &[u8])> = chunk
                    .into_iter()
                    .filter(|(n, _)| !answered.contains(n))
                    .chain(pending.drain(..).flatten())
                    .collect();
                retry.extend(unanswered.iter().map(|(_, line)| *line));
                stopped = unanswered.first().map(|(n, _)| (*n, why));
                break;
            }
        }
    }
    bar.finish_and_clear();
    let _ = stdout.flush();
    eprintln!(
        "done in {:.1} s: {} created, {} replaced, {} refused, {} failed, {} unanswered, of {total} link lines",
        started.elapsed().as_secs_f64(),
        counts.created,
        counts.replaced,
        counts.refused,
        counts.failed,
        total - answered.len()
    );
    if let Some(path) = &args.failed {
        let mut text = Vec::new();
        for line in &retry {
            text.extend_from_slice(line);
            text.push(b'\n');
        }
        if let Err(e) = std::fs::write(path, text) {
            eprintln!("{}: {e}", path.display());
            return ExitCode::from(2);
        }
        eprintln!(
            "{} lines worth sending again written to {}",
            retry.len(),
            path.display()
        );
    }
    if let Some((line, why)) = stopped {
        eprintln!("stopped at line {line}: {why}; resume with --from-line {line}");
        return ExitCode::from(2);
    }
    if counts.refused == 0 && counts.failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
