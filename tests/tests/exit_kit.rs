//! The exit kit (`qrctl exit-kit`, issue 14 item 3) in real nginx and real
//! Caddy (Debian's packages; `./scripts/test black-box` installs them): the
//! fixture links (and one with a `$`) are served by the edge under Viceroy,
//! written as import NDJSON, turned into a kit, and both servers run the
//! kit's configuration on their own loopback port. Every fixture slug, in lower and upper case, with
//! and without a forwarded query parameter, must get the same status and
//! `Location` from nginx and from Caddy as from the edge for a default
//! visitor; a failure prints the whole mismatch table.
//!
//! The default visitor: a client at 127.0.0.9, an address fixtures/geo.json
//! does not know (no country, region or continent; `use_default_loopback =
//! false`), with no `User-Agent` and no `Accept-Language`, so no fixture rule
//! on geography, OS, device or language holds. The kit sends split traffic
//! to `url` by design (a static configuration has no sticky split), so the
//! edge answers here from the same records with their `split` taken out, and
//! nothing else changed.
//!
//! Piece codes: a record `mail` with `pieces` (`{piece}` in the path and in a
//! query value) and a link `mail-12` of its own are added to the fixtures;
//! piece codes are replayed too. The one documented difference: a piece
//! scanned with upper-case letters reaches the destination lower-cased from
//! the edge and as scanned from nginx and Caddy, which cannot lower-case a
//! capture; that difference is asserted, not skipped.

use qr_edge_tests::client::send_raw;
use qr_edge_tests::{built_qrctl, repo_root, Req, Service, ServiceConfig};
use serde_json::{json, Map, Value};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The client the fixtures' rules do not match.
const DEFAULT_VISITOR: &str = "127.0.0.9";

/// The settings fastly.local.toml serves the fixture links with.
fn config(links: &[(String, String)]) -> ServiceConfig {
    let mut config = ServiceConfig::new()
        .setting(
            "domains",
            json!(["go.example.com", "qr.example.org", "links.example.net"]),
        )
        .setting(
            "destination_hosts",
            json!([
                "example.com",
                "*.example.com",
                "example.org",
                "*.example.org",
                "apps.apple.com",
                "play.google.com"
            ]),
        )
        .domain_setting(
            "links.example.net",
            "destination_hosts",
            json!([
                "example.net",
                "*.example.net",
                "apps.apple.com",
                "play.google.com"
            ]),
        );
    for (key, value) in links {
        config = config.link(key, value);
    }
    config
}

/// fixtures/links.json: `{domain}/{slug}` → record text, in file order.
/// Plus one link whose destination holds what nginx would read as a variable
/// (`$`) and a query of its own (the scan's is joined with `&`), a print-run
/// record `mail` with pieces of up to 6 characters, and `mail-12`, a link of
/// its own that looks like one of its pieces.
fn fixture_links() -> Vec<(String, Map<String, Value>)> {
    let text = std::fs::read_to_string(repo_root().join("fixtures/links.json")).expect("fixtures");
    let mut store: Map<String, Value> = serde_json::from_str(&text).expect("fixture JSON");
    store.insert(
        "go.example.com/dollar".into(),
        json!({"url": "https://example.com/a$b?x=1"})
            .to_string()
            .into(),
    );
    store.insert(
        "go.example.com/mail".into(),
        json!({"url": "https://example.com/mail/{piece}?customer={piece}", "pieces": {"max_length": 6}})
            .to_string()
            .into(),
    );
    store.insert(
        "go.example.com/mail-12".into(),
        json!({"url": "https://example.com/exact-twelve"})
            .to_string()
            .into(),
    );
    store
        .into_iter()
        .map(|(key, value)| {
            let record =
                serde_json::from_str(value.as_str().expect("record text")).expect("record");
            (key, record)
        })
        .collect()
}

/// A server process, stopped when dropped.
struct Server {
    name: &'static str,
    child: Child,
    addr: SocketAddr,
    log: PathBuf,
}

impl Drop for Server {
    /// SIGTERM, then a wait: nginx's master stops its workers on SIGTERM,
    /// while a SIGKILLed master would leave them running.
    fn drop(&mut self) {
        let stopped = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .is_ok_and(|s| s.success());
        if !stopped {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

impl Server {
    fn start(name: &'static str, mut command: Command, addr: SocketAddr, log: PathBuf) -> Server {
        let out = std::fs::File::create(&log).expect("log file");
        let err = out.try_clone().expect("log file");
        let child = command
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot run {name} ({e}): install Debian's nginx and caddy (./scripts/test black-box does)")
            });
        let mut server = Server {
            name,
            child,
            addr,
            log,
        };
        let started = Instant::now();
        while TcpStream::connect(addr).is_err() {
            if let Ok(Some(status)) = server.child.try_wait() {
                panic!("{name} exited ({status}):\n{}", server.log_text());
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "{name} did not listen on {addr} within 30 s:\n{}",
                server.log_text()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        server
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

fn free_addr() -> SocketAddr {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
}

/// Runs `qrctl exit-kit` for a kit listening on `addr`.
fn make_kit(input: &Path, dir: &Path, addr: SocketAddr, at: &str) {
    let out = Command::new(built_qrctl())
        .args(["exit-kit"])
        .arg(input)
        .arg("--out")
        .arg(dir)
        .args(["--listen", &addr.to_string(), "--at", at])
        .output()
        .expect("run qrctl exit-kit");
    assert!(
        out.status.success(),
        "qrctl exit-kit failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Status and `Location` for a default visitor's GET.
fn answer(addr: SocketAddr, host: &str, target: &str) -> (u16, Option<String>) {
    let req = Req::get(target).host(Some(host)).from(DEFAULT_VISITOR);
    let reply = send_raw(addr, DEFAULT_VISITOR, &req.to_bytes())
        .unwrap_or_else(|e| panic!("GET {host}{target} from {addr}: {e}"));
    (reply.status, reply.header("location").map(str::to_owned))
}

#[test]
fn nginx_and_caddy_answer_every_fixture_slug_as_the_edge_does_for_a_default_visitor() {
    let fixtures = fixture_links();
    let dir = std::env::temp_dir().join(format!("qr-edge-exit-kit-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("dir");

    // The edge, with the fixture records less their split.
    let served: Vec<(String, String)> = fixtures
        .iter()
        .map(|(key, record)| {
            let mut record = record.clone();
            record.shift_remove("split");
            (key.clone(), Value::Object(record).to_string())
        })
        .collect();
    let edge = Service::start(config(&served));
    assert_eq!(edge.get("/_health").status, 200);

    // The kit's input: the import format, made from the fixture records as stored.
    let mut ndjson = String::new();
    for (key, record) in &fixtures {
        let (domain, slug) = key.split_once('/').expect("domain/slug");
        let mut line = Map::new();
        line.insert("domain".into(), domain.into());
        line.insert("slug".into(), slug.into());
        line.extend(record.clone());
        ndjson += &Value::Object(line).to_string();
        ndjson += "\n";
    }
    let input = dir.join("links.ndjson");
    std::fs::write(&input, &ndjson).expect("write input");

    // "Today" for the kit is the moment the edge is asked; windows and timed
    // rules of the fixtures are months apart, so the seconds between do not matter.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs();
    let at = jiff::Timestamp::from_second(now as i64)
        .expect("time")
        .to_string();

    let nginx_addr = free_addr();
    let nginx_dir = dir.join("nginx-kit");
    make_kit(&input, &nginx_dir, nginx_addr, &at);
    let mut nginx = Command::new("nginx");
    nginx
        .arg("-p")
        .arg(&nginx_dir)
        .arg("-c")
        .arg(nginx_dir.join("nginx.conf"));
    let nginx = Server::start("nginx", nginx, nginx_addr, dir.join("nginx.out"));

    let caddy_addr = free_addr();
    let caddy_dir = dir.join("caddy-kit");
    make_kit(&input, &caddy_dir, caddy_addr, &at);
    let mut caddy = Command::new("caddy");
    caddy
        .args(["run", "--adapter", "caddyfile", "--config"])
        .arg(caddy_dir.join("Caddyfile"))
        // Caddy keeps its autosaved configuration under XDG_CONFIG_HOME: inside the kit.
        .env("XDG_CONFIG_HOME", caddy_dir.join("config"))
        .env("XDG_DATA_HOME", caddy_dir.join("data"));
    let caddy = Server::start("caddy", caddy, caddy_addr, dir.join("caddy.out"));

    let mut rows = Vec::new();
    let mut mismatches = 0;
    // Asks nginx and Caddy what the edge answered (`want`); one table row each.
    let mut compare = |domain: &str, target: &str, want: &(u16, Option<String>)| {
        for server in [&nginx, &caddy] {
            let got = answer(server.addr, domain, target);
            let ok = got == *want;
            mismatches += usize::from(!ok);
            rows.push(format!(
                "{} {:5} {domain}{target}: edge {} {}, {} {} {}",
                if ok { "  " } else { "!!" },
                server.name,
                want.0,
                want.1.as_deref().unwrap_or("-"),
                server.name,
                got.0,
                got.1.as_deref().unwrap_or("-"),
            ));
        }
    };
    for (key, _) in &fixtures {
        let (domain, slug) = key.split_once('/').expect("domain/slug");
        for path in [slug.to_owned(), slug.to_ascii_uppercase()] {
            for query in ["", "?utm_source=qr"] {
                let target = format!("/{path}{query}");
                let want = answer(edge.addr(), domain, &target);
                compare(domain, &target, &want);
            }
        }
    }
    // Piece codes of `mail` (go.example.com): the same answer as the edge's,
    // digits in any case, lower-case letters, with a trailing slash or a
    // forwarded query; a piece longer than max_length is 404 everywhere, and
    // the link `mail-12` wins over the piece `12`.
    let piece_codes = [
        ("/mail-0042", "https://example.com/mail/0042?customer=0042"),
        ("/MAIL-0042", "https://example.com/mail/0042?customer=0042"),
        ("/mail-a7k2", "https://example.com/mail/a7k2?customer=a7k2"),
        (
            "/mail-000001/",
            "https://example.com/mail/000001?customer=000001",
        ),
        (
            "/Mail-7?utm_source=qr",
            "https://example.com/mail/7?customer=7&utm_source=qr",
        ),
        ("/mail-12", "https://example.com/exact-twelve"),
        ("/MAIL-12", "https://example.com/exact-twelve"),
        ("/mail-1234567", ""),
        ("/mail-00-1", ""),
    ];
    for (target, location) in piece_codes {
        let want = answer(edge.addr(), "go.example.com", target);
        // The edge itself answers as this test reads the record.
        let expected = if location.is_empty() {
            (404, None)
        } else {
            (302, Some(location.to_owned()))
        };
        assert_eq!(want, expected, "edge: go.example.com{target}");
        compare("go.example.com", target, &want);
    }
    // The documented difference (docs/qrctl.md): the edge lower-cases a
    // piece, nginx and Caddy pass it on as scanned.
    assert_eq!(
        answer(edge.addr(), "go.example.com", "/MAIL-A7K2"),
        (
            302,
            Some("https://example.com/mail/a7k2?customer=a7k2".to_owned())
        )
    );
    for server in [&nginx, &caddy] {
        assert_eq!(
            answer(server.addr, "go.example.com", "/MAIL-A7K2"),
            (
                302,
                Some("https://example.com/mail/A7K2?customer=A7K2".to_owned())
            ),
            "{}: a piece with upper-case letters is passed on as scanned",
            server.name
        );
    }
    // The edge's answer for an unknown slug differs by design (404 page or the
    // domain's not_found_url; the kit knows no settings): not compared, but the
    // servers must not redirect it.
    for server in [&nginx, &caddy] {
        assert_eq!(
            answer(server.addr, "go.example.com", "/no-such-slug").0,
            404
        );
        assert_eq!(answer(server.addr, "unknown.example", "/spring26").0, 404);
    }
    let table = rows.join("\n");
    assert_eq!(
        mismatches,
        0,
        "{mismatches} mismatches (!!) against the edge:\n{table}\n\nnginx log:\n{}\ncaddy log:\n{}",
        nginx.log_text(),
        caddy.log_text()
    );
    // Every fixture slug was compared, in both cases, with and without a
    // query, on both servers, and every piece code on both servers.
    assert_eq!(
        rows.len(),
        fixtures.len() * 2 * 2 * 2 + piece_codes.len() * 2
    );
    eprintln!("{table}");
    drop((nginx, caddy));
    let _ = std::fs::remove_dir_all(&dir);
}
