//! docs/admin-api.md, imports within Fastly's per-request limits (issue 11,
//! item 6), against the real wasm under the real Viceroy: at most
//! `MAX_IMPORT_LINES` link lines per request, refused whole (413, nothing
//! written) above it; the results streamed, one line per link line in the
//! order of the body, while the links are written a window at a time; the
//! same per-line results as one-by-one writes; insert-if-absent and
//! replace-only-the-version-read between concurrent importers; and
//! `qrctl import --to`, which sends a larger file in chunks of the cap.

use qr_edge_core::admin::{IMPORT_WINDOW, MAX_IMPORT_LINES};
use qr_edge_tests::admin::{api, audit, import as import_request, TOKEN};
use qr_edge_tests::{built_qrctl, Service, ServiceConfig};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::time::Duration;

const DOMAIN: &str = "go.example.com";

/// Admin writes need the token and an allow-list (docs/settings.md); links go only to
/// served domains.
fn config() -> ServiceConfig {
    qr_edge_tests::admin::config()
        .setting("domains", json!([DOMAIN]))
        .setting("destination_hosts", json!(["example.com", "*.example.com"]))
}

/// A service that has answered one request. The first request a Viceroy
/// process runs costs several milliseconds more guest time than any later one
/// (the process warming up, not the request), which would count against the
/// import under test (docs/admin-api.md: how the import cap was sized).
fn warm(config: ServiceConfig) -> Service {
    let s = Service::start(config);
    assert_eq!(s.get("/_health").status, 200);
    s
}

fn line(slug: &str, url: &str) -> String {
    json!({"domain": DOMAIN, "slug": slug, "url": url}).to_string()
}

/// An import's answer as it came over the wire: the head, and the body's
/// chunks as the service framed them (`Transfer-Encoding: chunked`).
struct Streamed {
    status: u16,
    head: String,
    chunks: Vec<Vec<u8>>,
}

impl Streamed {
    fn results(&self) -> Vec<Value> {
        let body: Vec<u8> = self.chunks.concat();
        String::from_utf8_lossy(&body)
            .lines()
            .map(|l| {
                serde_json::from_str(l)
                    .unwrap_or_else(|e| panic!("result line is not JSON ({e}): {l}"))
            })
            .collect()
    }
}

/// Sends an import and reads the raw answer, keeping the chunk framing that
/// the harness's client removes.
fn send_streamed(s: &Service, body: &str) -> Streamed {
    let mut stream = TcpStream::connect(s.addr()).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .expect("timeout");
    stream
        .write_all(&import_request(body).to_bytes())
        .expect("send");
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).expect("read the answer");
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a head");
    let head = String::from_utf8_lossy(&raw[..end]).to_ascii_lowercase();
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let mut rest = &raw[end + 4..];
    let mut chunks = Vec::new();
    if head.contains("transfer-encoding: chunked") {
        loop {
            let eol = rest
                .windows(2)
                .position(|w| w == b"\r\n")
                .expect("a chunk size line");
            let size = usize::from_str_radix(String::from_utf8_lossy(&rest[..eol]).trim(), 16)
                .expect("a hex chunk size");
            if size == 0 {
                break;
            }
            chunks.push(rest[eol + 2..eol + 2 + size].to_vec());
            rest = &rest[eol + 2 + size + 2..];
        }
    } else {
        chunks.push(rest.to_vec());
    }
    Streamed {
        status,
        head,
        chunks,
    }
}

fn stored_url(s: &Service, slug: &str) -> Option<String> {
    let r = s.send(api("GET", &format!("/_api/v1/links/{DOMAIN}/{slug}")));
    (r.status == 200).then(|| r.json()["url"].as_str().unwrap_or("").to_owned())
}

#[test]
fn an_import_at_the_cap_writes_every_line_and_streams_its_results_in_order() {
    let s = warm(config());
    let body: Vec<String> = (0..MAX_IMPORT_LINES)
        .map(|i| line(&format!("cap-{i}"), &format!("https://example.com/{i}")))
        .collect();
    let r = send_streamed(&s, &body.join("\n"));
    assert_eq!(r.status, 200, "{}", r.head);
    assert!(
        r.head.contains("content-type: application/x-ndjson"),
        "{}",
        r.head
    );
    // Streamed: no length known up front, and the results came in pieces as
    // windows of writes finished, not as one body at the end.
    assert!(!r.head.contains("content-length"), "{}", r.head);
    let windows = MAX_IMPORT_LINES.div_ceil(IMPORT_WINDOW);
    assert!(
        r.chunks.len() >= windows.min(2),
        "{} chunks for {windows} windows",
        r.chunks.len()
    );
    let results = r.results();
    assert_eq!(results.len(), MAX_IMPORT_LINES, "one result per link line");
    for (i, result) in results.iter().enumerate() {
        assert_eq!(
            (
                result["line"].as_u64(),
                result["slug"].as_str(),
                result["status"].as_u64()
            ),
            (
                Some(i as u64 + 1),
                Some(format!("cap-{i}").as_str()),
                Some(201)
            ),
            "{result}"
        );
        assert_eq!(result["error"], Value::Null);
    }
    // Each chunk ends at a result line's end: a result is never split over two.
    assert!(r.chunks.iter().all(|c| c.ends_with(b"\n")));
    let last = MAX_IMPORT_LINES - 1;
    assert_eq!(
        s.get(&format!("/cap-{last}")).header("location"),
        Some(format!("https://example.com/{last}").as_str())
    );
    s.wait_for_completed(3);
    let lines = audit(&s, 0);
    assert_eq!(lines.len(), MAX_IMPORT_LINES, "one audit line per write");
    assert!(
        lines
            .iter()
            .all(|l| l["action"] == "create" && l["generation_after"].is_u64()),
        "{:?}",
        lines.iter().find(|l| !l["generation_after"].is_u64())
    );
}

#[test]
fn an_import_over_the_cap_is_413_naming_both_counts_and_writes_nothing() {
    let s = warm(config().link(
        &format!("{DOMAIN}/over-0"),
        r#"{"url":"https://example.com/before"}"#,
    ));
    let body: Vec<String> = (0..=MAX_IMPORT_LINES)
        .map(|i| line(&format!("over-{i}"), "https://example.com/after"))
        .collect();
    let r = s.send(import_request(&body.join("\n")));
    assert_eq!(r.status, 413, "{}", r.text());
    assert_eq!(r.header("content-type"), Some("application/problem+json"));
    let detail = r.json()["detail"].as_str().unwrap_or("").to_owned();
    assert!(
        detail.contains(&(MAX_IMPORT_LINES + 1).to_string())
            && detail.contains(&MAX_IMPORT_LINES.to_string()),
        "names the line count and the cap: {detail}"
    );
    assert_eq!(
        stored_url(&s, "over-0").as_deref(),
        Some("https://example.com/before")
    );
    assert_eq!(stored_url(&s, &format!("over-{MAX_IMPORT_LINES}")), None);
    s.wait_for_completed(4);
    assert!(audit(&s, 0).is_empty(), "nothing written, nothing audited");
}

/// What a line of [`mixed_lines`] must come to.
#[derive(Debug, Clone, PartialEq)]
struct Expected {
    line: usize,
    slug: Option<String>,
    status: u16,
    field: Option<String>,
}

/// An import over several windows: good lines, lines replacing stored links,
/// a destination outside the allow-list, an unknown record field, an invalid
/// slug, malformed JSON, a domain the service does not serve, a link a
/// previous line already named, and blank lines, interleaved so that refused
/// lines fall inside and at the edges of windows.
fn mixed_lines() -> (Vec<String>, Vec<Expected>, BTreeMap<String, String>) {
    let mut body = Vec::new();
    let mut expected = Vec::new();
    let mut stored = BTreeMap::new();
    for i in 0..MAX_IMPORT_LINES {
        let slug = format!("m-{i}");
        let number = body.len() + 1;
        let mut want = |slug: Option<&str>, status, field: Option<&str>| {
            expected.push(Expected {
                line: number,
                slug: slug.map(str::to_owned),
                status,
                field: field.map(str::to_owned),
            })
        };
        let text = match i % 9 {
            1 => {
                want(Some(&slug), 400, Some("url"));
                line(&slug, "https://evil.test/")
            }
            2 => {
                stored.insert(
                    slug.clone(),
                    r#"{"url":"https://example.com/old"}"#.to_owned(),
                );
                want(Some(&slug), 200, None);
                line(&slug, &format!("https://example.com/{i}"))
            }
            3 => {
                want(Some(&slug), 400, Some("colour"));
                json!({"domain": DOMAIN, "slug": slug, "url": "https://example.com/", "colour": "red"}).to_string()
            }
            4 => {
                want(None, 400, Some("slug"));
                line("-bad-", "https://example.com/")
            }
            5 => {
                want(None, 400, None);
                r#"{"oops"#.to_owned()
            }
            6 => {
                want(Some(&slug), 400, Some("domain"));
                json!({"domain": "elsewhere.example.com", "slug": slug, "url": "https://example.com/"}).to_string()
            }
            7 => {
                // A link this round's first line (i % 9 == 0) wrote.
                let first = format!("m-{}", i - 7);
                want(Some(&first), 400, Some("slug"));
                line(&first, "https://example.com/again")
            }
            _ => {
                want(Some(&slug), 201, None);
                line(&slug, &format!("https://example.com/{i}"))
            }
        };
        body.push(text);
        if i % 10 == 4 {
            body.push(String::new());
        }
    }
    (body, expected, stored)
}

#[test]
fn a_mixed_import_gives_each_line_the_result_a_single_write_would_get() {
    let (body, expected, stored) = mixed_lines();
    let mut config = config();
    for (slug, value) in &stored {
        config = config.link(&format!("{DOMAIN}/{slug}"), value);
    }
    let s = warm(config);
    let r = send_streamed(&s, &body.join("\n"));
    assert_eq!(r.status, 200, "{}", r.head);
    let results = r.results();
    let got: Vec<Expected> = results
        .iter()
        .map(|r| Expected {
            line: r["line"].as_u64().unwrap_or(0) as usize,
            slug: r["slug"].as_str().map(str::to_owned),
            status: r["status"].as_u64().unwrap_or(0) as u16,
            field: r["field"].as_str().map(str::to_owned),
        })
        .collect();
    assert_eq!(got, expected);
    for result in &results {
        let status = result["status"].as_u64().unwrap_or(0);
        assert_eq!(result["error"].is_null(), status < 300, "{result}");
    }
    let again = results
        .iter()
        .find(|r| {
            r["error"]
                .as_str()
                .is_some_and(|e| e.contains("already on line"))
        })
        .expect("a line naming an earlier one");
    assert!(
        again["error"]
            .as_str()
            .unwrap_or("")
            .contains(&format!("{DOMAIN}/m-0 is already on line 1")),
        "{again}"
    );

    // What is stored: every written line, the first of two lines naming one link.
    for e in &expected {
        let Some(slug) = &e.slug else { continue };
        let i: usize = slug.trim_start_matches("m-").parse().expect("index");
        let want = match e.status {
            200 | 201 => Some(format!("https://example.com/{i}")),
            _ if e.field.as_deref() == Some("slug") => continue,
            _ if stored.contains_key(slug) => Some("https://example.com/old".into()),
            _ if e.field.as_deref() == Some("domain") => continue,
            _ => None,
        };
        assert_eq!(stored_url(&s, slug), want, "{slug} after line {}", e.line);
    }
    let written: Vec<&Expected> = expected.iter().filter(|e| e.status < 300).collect();
    s.wait_for_completed(3);
    let lines = audit(&s, 0);
    assert_eq!(
        lines.len(),
        written.len(),
        "one audit line per written line"
    );
    for (line, e) in lines.iter().zip(&written) {
        assert_eq!(line["slug"].as_str(), e.slug.as_deref());
        let (action, old) = if e.status == 201 {
            ("create", Value::Null)
        } else {
            ("update", json!("https://example.com/old"))
        };
        assert_eq!(
            (line["action"].as_str(), &line["old"]["url"]),
            (Some(action), &old.clone()),
            "{line}"
        );
        if e.status == 200 {
            assert!(line["generation_before"].is_u64(), "{line}");
        }
        assert!(line["generation_after"].is_u64(), "{line}");
    }
}

#[test]
fn concurrent_imports_of_the_same_links_never_overwrite_each_other_unseen() {
    let s = std::sync::Arc::new(warm(config()));
    let n = MAX_IMPORT_LINES / 4;
    let body = |who: &str| {
        (0..n)
            .map(|i| {
                line(
                    &format!("race-{i}"),
                    &format!("https://example.com/{who}/{i}"),
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    };
    let importers: Vec<_> = ["a", "b"]
        .into_iter()
        .map(|who| {
            let (s, body) = (s.clone(), body(who));
            std::thread::spawn(move || s.send(import_request(&body)))
        })
        .collect();
    let answers: Vec<Vec<Value>> = importers
        .into_iter()
        .map(|t| {
            let r = t.join().expect("importer");
            assert_eq!(r.status, 200, "{}", r.text());
            r.text()
                .lines()
                .map(|l| serde_json::from_str(l).expect("JSON"))
                .collect()
        })
        .collect();
    for i in 0..n {
        let statuses: BTreeSet<u64> = answers
            .iter()
            .map(|a| a[i]["status"].as_u64().unwrap_or(0))
            .collect();
        let created = answers.iter().filter(|a| a[i]["status"] == 201).count();
        assert_eq!(
            created, 1,
            "race-{i}: exactly one import created the link ({statuses:?})"
        );
        assert!(
            answers
                .iter()
                .all(|a| a[i]["status"] == 201 || a[i]["status"] == 200 || a[i]["status"] == 409),
            "race-{i}: {statuses:?}"
        );
    }
    s.wait_for_completed(3);
    // Per link, the audit lines form one chain: one create, and each update
    // names as the version it replaced the version another line wrote.
    let mut by_slug: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for l in audit(&s, 0) {
        by_slug
            .entry(l["slug"].as_str().unwrap_or("").to_owned())
            .or_default()
            .push(l);
    }
    assert_eq!(by_slug.len(), n);
    for (slug, lines) in &by_slug {
        let creates = lines.iter().filter(|l| l["action"] == "create").count();
        assert_eq!(creates, 1, "{slug}: {lines:?}");
        let written: BTreeSet<u64> = lines
            .iter()
            .filter_map(|l| l["generation_after"].as_u64())
            .collect();
        // A write whose generation could not be read back (another import
        // replaced it first: the audit line then says null) is named by its
        // value instead; the two imports write different URLs.
        let unread: Vec<&Value> = lines
            .iter()
            .filter(|l| l["generation_after"].is_null())
            .map(|l| &l["new"])
            .collect();
        for update in lines.iter().filter(|l| l["action"] == "update") {
            let before = update["generation_before"]
                .as_u64()
                .expect("generation_before");
            assert!(
                written.contains(&before) || unread.contains(&&update["old"]),
                "{slug}: an update replaced a version no line wrote: {lines:?}"
            );
        }
        // The stored link is the chain's last write: the one no update replaced.
        let replaced: Vec<&Value> = lines
            .iter()
            .filter(|l| l["action"] == "update")
            .map(|l| &l["old"])
            .collect();
        let last: Vec<&Value> = lines
            .iter()
            .filter(|l| !replaced.contains(&&l["new"]))
            .collect();
        assert_eq!(last.len(), 1, "{slug}: {lines:?}");
        assert_eq!(
            stored_url(&s, slug).as_deref(),
            last[0]["new"]["url"].as_str(),
            "{slug}"
        );
    }
}

/// `qrctl import --to`: a file larger than the cap goes in chunks.
#[test]
fn qrctl_import_sends_a_larger_file_in_chunks_of_the_cap() {
    let s = warm(config());
    let dir = std::env::temp_dir().join(format!("qr-edge-qrctl-import-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let total = MAX_IMPORT_LINES + 5;
    let mut text = String::new();
    for i in 0..total {
        if i == 3 {
            text += "\n"; // blank: skipped, line numbers kept
        }
        if i == MAX_IMPORT_LINES - 2 {
            text += &line("-bad-", "https://example.com/");
            text += "\n";
        }
        text += &line(&format!("file-{i}"), &format!("https://example.com/{i}"));
        text += "\n";
    }
    let file = dir.join("links.ndjson");
    let failed = dir.join("failed.ndjson");
    std::fs::write(&file, &text).expect("write links");
    let qrctl = built_qrctl();
    let run = |extra: &[&str], token: Option<&str>| {
        let mut cmd = Command::new(&qrctl);
        cmd.arg("import")
            .arg("--to")
            .arg(format!("http://{}", s.addr()))
            .args(extra)
            .arg(&file)
            .env_remove("QR_EDGE_ADMIN_TOKEN");
        if let Some(token) = token {
            cmd.env("QR_EDGE_ADMIN_TOKEN", token);
        }
        cmd.output().expect("run qrctl import")
    };

    let without = run(&[], None);
    assert_eq!(without.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&without.stderr).contains("QR_EDGE_ADMIN_TOKEN"));

    let out = run(&["--failed", failed.to_str().expect("path")], Some(TOKEN));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "one line refused:\n{stderr}");
    let results: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("result JSON"))
        .collect();
    assert_eq!(results.len(), total + 1, "{stderr}");
    // Line numbers are the file's, across chunks and around the blank line.
    let file_lines: Vec<&str> = text.split('\n').collect();
    for result in &results {
        let n = result["line"].as_u64().expect("line") as usize;
        let source: Value = serde_json::from_str(file_lines[n - 1]).expect("the named line");
        if result["status"] == 201 {
            assert_eq!(result["slug"], source["slug"], "{result}");
        } else {
            assert_eq!(
                (result["status"].as_u64(), source["slug"].as_str()),
                (Some(400), Some("-bad-"))
            );
        }
    }
    assert!(
        stderr.contains(&format!(
            "{} created, 0 replaced, 1 refused, 0 failed",
            total
        )),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("importing {} link lines", total + 1)),
        "{stderr}"
    );
    assert_eq!(std::fs::read_to_string(&failed).expect("--failed file"), "");
    let imports = s
        .request_costs()
        .iter()
        .filter(|c| c.method == "POST" && c.target == "/_api/v1/import")
        .count();
    assert_eq!(
        imports,
        (total + 1).div_ceil(MAX_IMPORT_LINES),
        "requests of at most the cap"
    );
    assert_eq!(
        s.get(&format!("/file-{}", total - 1)).header("location"),
        Some(format!("https://example.com/{}", total - 1).as_str())
    );

    // Too large a chunk: the service refuses it whole, the script halves it.
    let again = run(
        &["--chunk", &(2 * MAX_IMPORT_LINES).to_string()],
        Some(TOKEN),
    );
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert_eq!(again.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!("the service refused {} lines at once", total + 1)),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("0 created, {total} replaced, 1 refused, 0 failed")),
        "{stderr}"
    );

    // Resuming: --from-line skips the file's lines before it (here: all but the last).
    let last = file_lines
        .iter()
        .rposition(|l| !l.is_empty())
        .expect("a line")
        + 1;
    let resumed = run(&["--from-line", &last.to_string()], Some(TOKEN));
    let stderr = String::from_utf8_lossy(&resumed.stderr);
    assert_eq!(resumed.status.code(), Some(0), "{stderr}");
    let results: Vec<Value> = String::from_utf8_lossy(&resumed.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("result JSON"))
        .collect();
    assert_eq!(results.len(), 1, "{stderr}");
    assert_eq!(
        (results[0]["line"].as_u64(), results[0]["status"].as_u64()),
        (Some(last as u64), Some(200))
    );

    // The token is never an argument.
    let argument = run(&["--token", TOKEN], Some(TOKEN));
    assert_eq!(argument.status.code(), Some(2));
    let _ = std::fs::remove_dir_all(&dir);
}

/// The figures behind `MAX_IMPORT_LINES` (its doc comment, docs/admin-api.md): the
/// guest time of imports of several sizes up to the cap, from the harness's
/// per-request accounting (tests/src/limits.rs), creating links and then
/// replacing them (the heavier: the old value is read for the audit line),
/// and the slope per line. One warm Viceroy; each figure is the least of its
/// rounds, the best estimate of the cost without other work on the machine.
/// Not a check: run it by hand, ideally on a quiet machine, with
/// `cargo test -p qr-edge-tests --test import -- --ignored --nocapture measure`.
#[test]
#[ignore]
fn measure_the_guest_time_of_an_import_line() {
    let sizes = [
        1,
        MAX_IMPORT_LINES / 4,
        MAX_IMPORT_LINES / 2,
        MAX_IMPORT_LINES,
    ];
    let rounds = 5;
    let s = Service::start(config());
    // Realistic lines: a record with tags, a note and a rule.
    let body = |n: usize, tag: &str| {
        (0..n)
            .map(|i| {
                json!({
                    "domain": DOMAIN, "slug": format!("{tag}-{i}"),
                    "url": format!("https://example.com/campaign/{i}?utm_source=qr"),
                    "tags": ["spring", "poster"], "note": "printed run 2026-03",
                    "rules": [{"when": {"country": ["DE", "AT"]}, "url": "https://example.com/de"}],
                })
                .to_string()
            })
            .collect::<Vec<_>>()
            .join("\n")
    };
    let mut sent = 0;
    let mut import = |text: String| {
        let r = s.send(import_request(&text));
        assert_eq!(r.status, 200);
        sent += 1;
        s.wait_for_completed(sent);
        s.request_costs()
            .into_iter()
            .filter(|c| c.target == "/_api/v1/import")
            .nth(sent - 1)
            .expect("the import's cost")
    };
    import(body(1, "warm-up"));
    let mut best: BTreeMap<(&str, usize), (f64, u32)> = BTreeMap::new();
    for round in 0..rounds {
        for &n in &sizes {
            // The same lines twice: first each creates its link, then replaces it.
            for kind in ["create", "replace"] {
                let cost = import(body(n, &format!("r{round}-n{n}")));
                let ms = cost.guest_time.as_secs_f64() * 1e3;
                eprintln!(
                    "round {round}: {kind:7} {n:3} lines: guest {ms:6.2} ms, wall {:6.2} ms, {} hostcalls",
                    cost.wall.as_secs_f64() * 1e3,
                    cost.hostcalls
                );
                let entry = best.entry((kind, n)).or_insert((f64::MAX, cost.hostcalls));
                entry.0 = entry.0.min(ms);
            }
        }
    }
    for kind in ["create", "replace"] {
        let points: Vec<(f64, f64, f64)> = sizes
            .iter()
            .map(|&n| {
                let (ms, calls) = best[&(kind, n)];
                (n as f64, ms * 1e3, f64::from(calls))
            })
            .collect();
        let fit = |y: fn(&(f64, f64, f64)) -> f64| {
            let k = points.len() as f64;
            let (sx, sy) = points
                .iter()
                .fold((0.0, 0.0), |(a, b), p| (a + p.0, b + y(p)));
            let (mx, my) = (sx / k, sy / k);
            let sxy: f64 = points.iter().map(|p| (p.0 - mx) * (y(p) - my)).sum();
            let sxx: f64 = points.iter().map(|p| (p.0 - mx).powi(2)).sum();
            (sxy / sxx, my - sxy / sxx * mx)
        };
        let (per_line, fixed) = fit(|p| p.1);
        let (calls_per_line, calls_fixed) = fit(|p| p.2);
        for p in &points {
            eprintln!(
                "{kind} {:3} lines: least guest time {:.2} ms",
                p.0,
                p.1 / 1e3
            );
        }
        eprintln!("{kind}: guest time {per_line:.0} µs per line + {fixed:.0} µs; hostcalls {calls_per_line:.1} per line + {calls_fixed:.0}");
    }
    // On a busy machine some imports break the guest-time budget; the figures
    // are the point here, not the harness's check when the service stops.
    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| drop(s)));
}
