//! qrctl as an operator runs it (the built binary, real files, real HTTP):
//! the exit kit's refusals and static files, piece codes and their manifest,
//! `qr`'s option checks, and `export`'s paging against a small HTTP server
//! that speaks the export route's protocol (X-Next-Cursor). The kit in real
//! nginx and Caddy, `import --to` and `qr` against the edge itself are
//! black-box tests (tests/tests/exit_kit.rs, import.rs, qrctl.rs).

use qr_edge_core::qr::{render, short_url_text, ImageFormat, QrOptions};
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::{Arc, Mutex};

fn qrctl(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_qrctl"))
        .args(args)
        .env_remove("QR_EDGE_ADMIN_TOKEN")
        .output()
        .expect("run qrctl")
}

fn temp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("qrctl-cli-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn exit_kit_refuses_what_nginx_or_caddy_could_misread_naming_the_line() {
    let dir = temp("refuse");
    let good = r#"{"domain":"go.example.com","slug":"ok","url":"https://example.com/"}"#;
    for (bad, want) in [
        (
            r#"{"domain":"go.example.com","slug":"a;b","url":"https://example.com/"}"#,
            "line 2: slug",
        ),
        (
            r#"{"domain":"go.example.com; x","slug":"a","url":"https://example.com/"}"#,
            "line 2: domain",
        ),
        (
            r#"{"domain":"go.example.com","slug":"a","url":"https://example.com/?q={x}"}"#,
            "line 2 (go.example.com/a): destination",
        ),
        (
            r#"{"domain":"go.example.com","slug":"a","url":"https://example.com/","status":"disabled","expired_url":"https://example.com/\"x"}"#,
            "",
        ),
        (
            r#"{"domain":"go.example.com","slug":"OK","url":"https://example.com/"}"#,
            "line 2: go.example.com/ok is already on an earlier line",
        ),
        (
            r#"{"domain":"go.example.com","slug":"b","url":"javascript:alert(1)"}"#,
            "line 2 (go.example.com/b): url",
        ),
        (r#"not json"#, "line 2: the body is not valid JSON"),
    ] {
        let input = dir.join("links.ndjson");
        std::fs::write(&input, format!("{good}\n{bad}\n")).expect("input");
        let kit = dir.join("kit");
        let out = qrctl(&[
            "exit-kit",
            input.to_str().expect("path"),
            "--out",
            kit.to_str().expect("path"),
        ]);
        if want.is_empty() {
            // A disabled link never sends anyone to its expired_url: nothing to misread.
            assert!(out.status.success(), "{bad}: {}", stderr(&out));
            let _ = std::fs::remove_dir_all(&kit);
            continue;
        }
        assert_eq!(out.status.code(), Some(2), "{bad}");
        assert!(stderr(&out).contains(want), "{bad}: {}", stderr(&out));
        assert!(!kit.exists(), "{bad}: a refused input wrote a kit");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn exit_kit_writes_redirects_and_static_pages_in_both_cases() {
    let dir = temp("static");
    let input = dir.join("links.ndjson");
    std::fs::write(
        &input,
        concat!(
            r#"{"domain":"Go.Example.com","slug":"Spring26","url":"https://example.com/spring?a=1&b=<2>"}"#, "\n",
            "\n",
            r#"{"domain":"go.example.com","slug":"off","url":"https://example.com/","status":"disabled"}"#, "\n",
            r#"{"domain":"qr.example.org","slug":"ended","url":"https://example.org/","valid_until":"2020-01-01T00:00:00Z","expired_url":"https://example.org/events"}"#, "\n",
            r#"{"domain":"qr.example.org","slug":"ab","url":"https://example.org/x","split":[{"url":"https://example.org/a","weight":1}],"code":308}"#, "\n",
            r#"{"domain":"qr.example.org","slug":"mail","url":"https://example.org/m/{piece}?p={piece}","pieces":{"max_length":6}}"#, "\n",
        ),
    )
    .expect("input");
    let kit = dir.join("kit");
    let out = qrctl(&[
        "exit-kit",
        input.to_str().expect("path"),
        "--out",
        kit.to_str().expect("path"),
        "--listen",
        "8080",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let read = |path: &str| {
        std::fs::read_to_string(kit.join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
    };
    assert_eq!(
        read("static/go.example.com/_redirects"),
        "/spring26  https://example.com/spring?a=1&b=%3C2%3E  302\n/SPRING26  https://example.com/spring?a=1&b=%3C2%3E  302\n"
    );
    assert_eq!(
        read("static/qr.example.org/_redirects"),
        "# /mail-{piece}: piece codes cannot be expressed here (docs/qrctl.md)\n/ab  https://example.org/x  308\n/AB  https://example.org/x  308\n/ended  https://example.org/events  302\n/ENDED  https://example.org/events  302\n/mail  https://example.org/m/?p=  302\n/MAIL  https://example.org/m/?p=  302\n"
    );
    assert!(read("_redirects").contains(
        "https://go.example.com/SPRING26  https://example.com/spring?a=1&b=%3C2%3E  302\n"
    ));
    for case in ["spring26", "SPRING26"] {
        let page = read(&format!("static/go.example.com/{case}/index.html"));
        assert!(
            page.contains(r#"content="0; url=https://example.com/spring?a=1&amp;b=%3C2%3E""#),
            "{page}"
        );
    }
    assert!(read("static/go.example.com/OFF/index.html").contains("This code has ended"));
    let nginx = read("nginx.conf");
    assert!(nginx.contains("listen 8080 default_server;"), "{nginx}");
    assert!(nginx.contains("go.example.com/off 410;"), "{nginx}");
    let caddy = read("Caddyfile");
    assert!(caddy.contains("http://go.example.com:8080 {"), "{caddy}");
    assert!(
        caddy.contains("@s-off path /off\n\t\trespond @s-off 410"),
        "{caddy}"
    );
    assert!(
        caddy.contains("@p-mail path_regexp qrkitpiece (?i)^/mail-([a-z0-9]{1,6})$"),
        "{caddy}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn pieces_are_the_edges_codes_with_a_manifest_for_the_mail_merge() {
    let dir = temp("pieces");
    let out = qrctl(&[
        "pieces",
        "--domain",
        "Go.Example.com",
        "--slug",
        "Spring26",
        "--count",
        "12",
        "--start",
        "9",
        "--format",
        "svg",
        "--ecc",
        "q",
        "--out",
        dir.to_str().expect("path"),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let manifest = std::fs::read_to_string(dir.join("manifest.csv")).expect("manifest");
    let lines: Vec<&str> = manifest.lines().collect();
    assert_eq!(lines.len(), 13);
    assert_eq!(lines[0], "piece,short_url,file");
    assert_eq!(
        lines[1],
        "09,HTTPS://GO.EXAMPLE.COM/SPRING26-09,spring26-09.svg"
    );
    assert_eq!(
        lines[12],
        "20,HTTPS://GO.EXAMPLE.COM/SPRING26-20,spring26-20.svg"
    );
    let options = QrOptions::from_query("ecc=Q").expect("options");
    let want = render(
        &short_url_text("go.example.com", "spring26-20"),
        ImageFormat::Svg,
        &options,
    )
    .expect("render");
    assert_eq!(
        std::fs::read(dir.join("spring26-20.svg")).expect("image"),
        want
    );

    let random = temp("random");
    let out = qrctl(&[
        "pieces",
        "--domain",
        "go.example.com",
        "--slug",
        "s",
        "--count",
        "50",
        "--random",
        "--length",
        "8",
        "--format",
        "png",
        "--out",
        random.to_str().expect("path"),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let manifest = std::fs::read_to_string(random.join("manifest.csv")).expect("manifest");
    let pieces: std::collections::BTreeSet<&str> = manifest
        .lines()
        .skip(1)
        .map(|l| l.split(',').next().expect("piece"))
        .collect();
    assert_eq!(pieces.len(), 50, "distinct pieces");
    assert!(pieces.iter().all(|p| p.len() == 8
        && p.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())));

    for (args, want) in [
        (
            vec!["--count", "100", "--length", "2"],
            "the last piece, 100, has 3 digits",
        ),
        (vec!["--count", "3", "--length", "33"], "--length"),
        (vec!["--count", "3", "--size", "10"], "--size"),
        (vec!["--count", "3", "--fg", "ffffff"], "--fg"),
    ] {
        let mut all = vec![
            "pieces",
            "--domain",
            "go.example.com",
            "--slug",
            "s",
            "--format",
            "png",
            "--out",
            "/nonexistent/x",
        ];
        all.extend(args);
        let out = qrctl(&all);
        assert_eq!(out.status.code(), Some(2), "{all:?}");
        assert!(stderr(&out).contains(want), "{all:?}: {}", stderr(&out));
    }
    let out = qrctl(&[
        "pieces",
        "--domain",
        "go.example.com",
        "--slug",
        "-s",
        "--count",
        "1",
        "--format",
        "svg",
        "--out",
        "/nonexistent/x",
    ]);
    assert!(stderr(&out).contains("--slug"), "{}", stderr(&out));
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_dir_all(&random);
}

/// A tiny export route: pages of two lines, `X-Next-Cursor` while more remain.
fn export_server(pages: Vec<&'static str>) -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { break };
            let mut reader = BufReader::new(stream.try_clone().expect("clone"));
            let mut request = String::new();
            let mut line = String::new();
            while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                request += &line;
                line.clear();
            }
            let target = request.split(' ').nth(1).unwrap_or("").to_owned();
            log.lock().expect("log").push(request.clone());
            let authorized = request
                .to_ascii_lowercase()
                .contains("authorization: bearer secret\r\n");
            let page: usize = target
                .split("cursor=c")
                .nth(1)
                .and_then(|n| n.parse().ok())
                .unwrap_or(0);
            let response = if !authorized {
                "HTTP/1.1 401 Unauthorized\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
                    .to_owned()
            } else {
                let next = if page + 1 < pages.len() {
                    format!("x-next-cursor: c{}\r\nlink: </_api/v1/export?cursor=c{}>; rel=\"next\"\r\n", page + 1, page + 1)
                } else {
                    String::new()
                };
                format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/x-ndjson\r\n{next}content-length: {}\r\nconnection: close\r\n\r\n{}",
                    pages[page].len(),
                    pages[page]
                )
            };
            let _ = stream.write_all(response.as_bytes());
        }
    });
    (format!("http://{addr}"), seen)
}

#[test]
fn export_follows_the_cursor_to_the_last_page_and_resumes_from_one() {
    let pages = vec![
        "{\"domain\":\"go.example.com\",\"slug\":\"a\",\"url\":\"https://example.com/a\"}\n{\"domain\":\"go.example.com\",\"slug\":\"b\",\"url\":\"https://example.com/b\"}\n",
        "{\"domain\":\"go.example.com\",\"slug\":\"c\",\"url\":\"https://example.com/c\"}\n",
        "{\"domain\":\"go.example.com\",\"slug\":\"d\",\"url\":\"https://example.com/d\"}",
    ];
    let (url, seen) = export_server(pages.clone());
    let dir = temp("export");
    let file = dir.join("links.ndjson");
    let path = file.to_str().expect("path");
    let run = |extra: &[&str], token: Option<&str>| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_qrctl"));
        cmd.args([
            "export",
            "--from",
            &url,
            "--domain",
            "go.example.com",
            "--out",
            path,
        ])
        .args(extra)
        .env_remove("QR_EDGE_ADMIN_TOKEN");
        if let Some(token) = token {
            cmd.env("QR_EDGE_ADMIN_TOKEN", token);
        }
        cmd.output().expect("run qrctl export")
    };
    let without = run(&[], None);
    assert_eq!(without.status.code(), Some(2));
    assert!(stderr(&without).contains("QR_EDGE_ADMIN_TOKEN"));

    let out = run(&[], Some("secret"));
    assert!(out.status.success(), "{}", stderr(&out));
    let all = format!("{}{}{}\n", pages[0], pages[1], pages[2]);
    assert_eq!(std::fs::read_to_string(&file).expect("export"), all);
    let targets: Vec<String> = seen
        .lock()
        .expect("log")
        .iter()
        .map(|r| r.split(' ').nth(1).unwrap_or("").to_owned())
        .collect();
    assert_eq!(
        targets,
        [
            "/_api/v1/export?domain=go.example.com",
            "/_api/v1/export?domain=go.example.com&cursor=c1",
            "/_api/v1/export?domain=go.example.com&cursor=c2",
        ]
    );
    assert!(
        stderr(&out).contains("4 links in 3 pages"),
        "{}",
        stderr(&out)
    );

    // Resuming at a cursor appends its pages to the file.
    std::fs::write(&file, pages[0]).expect("first page");
    let out = run(&["--cursor", "c1"], Some("secret"));
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(std::fs::read_to_string(&file).expect("export"), all);

    // A refused token stops the export, exit 1.
    let out = run(&[], Some("wrong"));
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("401"), "{}", stderr(&out));
    let _ = std::fs::remove_dir_all(&dir);
}
