//! Bad input (issue 6): malformed request lines, 8 KB paths, percent-encoded
//! control characters, NUL bytes, CR/LF in every header, huge and duplicate
//! headers, unicode hosts — sent as raw bytes. The service answers each
//! (never 500) and stays up: after every bad request a good one still gets its 302.
//!
//! Some inputs never reach the service: Viceroy's HTTP layer answers them
//! itself (400, 414, 431) or, for a missing `Host` or a `Host` that cannot form
//! a URI, closes the connection. Each case names which of the three happens,
//! and the test checks it against Viceroy's own log of the requests it handed
//! to the guest, so a guest that ran and crashed cannot pass as "rejected".

use qr_edge_tests::{Reply, Service, ServiceConfig};
use serde_json::json;
use std::io::Write;
use std::net::TcpStream;
use std::thread;
use std::time::{Duration, Instant};

const SPRING: &str = r#"{"url":"https://example.com/spring"}"#;

/// Who answers a bad request.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Expect {
    /// The service ran and answered this status.
    Service(u16),
    /// Viceroy's HTTP layer answered this status; the service never ran.
    Runtime(u16),
    /// Viceroy closed the connection without an answer; the service never ran.
    Closed,
}
use Expect::{Closed, Runtime, Service as Answered};

/// `GET {target}` with `Host: go.example.com` and extra raw header lines.
fn get(target: &str, headers: &str) -> Vec<u8> {
    format!("GET {target} HTTP/1.1\r\nhost: go.example.com\r\n{headers}connection: close\r\n\r\n")
        .into_bytes()
}

/// `GET /spring26` with raw `Host` bytes.
fn with_host(host: &[u8]) -> Vec<u8> {
    [
        b"GET /spring26 HTTP/1.1\r\nhost: ".as_slice(),
        host,
        b"\r\nconnection: close\r\n\r\n",
    ]
    .concat()
}

/// `GET /spring26` with one raw header line.
fn with_header(name: &str, value: &[u8]) -> Vec<u8> {
    [
        format!("GET /spring26 HTTP/1.1\r\nhost: go.example.com\r\n{name}: ").as_bytes(),
        value,
        b"\r\nconnection: close\r\n\r\n",
    ]
    .concat()
}

fn request_lines() -> Vec<(String, Vec<u8>, Expect)> {
    let raw = |name: &str, bytes: &[u8], expect| (name.to_owned(), bytes.to_vec(), expect);
    vec![
        raw("only a method", b"GET\r\n\r\n", Runtime(400)),
        raw("no HTTP version", b"GET /spring26\r\nhost: go.example.com\r\n\r\n", Runtime(400)),
        raw("HTTP/9.9", b"GET /spring26 HTTP/9.9\r\nhost: go.example.com\r\nconnection: close\r\n\r\n", Runtime(400)),
        raw("binary garbage", b"\x00\x01\x02\xff garbage\r\n\r\n", Runtime(400)),
        raw("a fourth token", b"GET /spring26 HTTP/1.1 extra\r\nhost: go.example.com\r\nconnection: close\r\n\r\n", Runtime(400)),
        raw("method with a symbol", b"G@T /spring26 HTTP/1.1\r\nhost: go.example.com\r\nconnection: close\r\n\r\n", Runtime(400)),
        raw("lower-case method", b"get /spring26 HTTP/1.1\r\nhost: go.example.com\r\nconnection: close\r\n\r\n", Answered(405)),
        raw("unknown method", b"BREW /spring26 HTTP/1.1\r\nhost: go.example.com\r\nconnection: close\r\n\r\n", Answered(405)),
        raw("space in the path", b"GET /spr ing26 HTTP/1.1\r\nhost: go.example.com\r\nconnection: close\r\n\r\n", Runtime(400)),
        raw("NUL in the path", b"GET /spr\x00ing26 HTTP/1.1\r\nhost: go.example.com\r\nconnection: close\r\n\r\n", Runtime(400)),
        raw("UTF-8 in the path", "GET /spré HTTP/1.1\r\nhost: go.example.com\r\nconnection: close\r\n\r\n".as_bytes(), Runtime(400)),
        raw("0xFF in the path", b"GET /spr\xffing HTTP/1.1\r\nhost: go.example.com\r\nconnection: close\r\n\r\n", Runtime(400)),
        raw("asterisk form", b"OPTIONS * HTTP/1.1\r\nhost: go.example.com\r\nconnection: close\r\n\r\n", Answered(204)),
        raw("absolute form", b"GET http://go.example.com/spring26 HTTP/1.1\r\nhost: go.example.com\r\nconnection: close\r\n\r\n", Answered(302)),
        raw("no Host", b"GET /spring26 HTTP/1.1\r\nconnection: close\r\n\r\n", Closed),
        raw("HTTP/1.0 without Host", b"GET /spring26 HTTP/1.0\r\n\r\n", Closed),
        raw("negative content-length", &get("/spring26", "content-length: -1\r\n"), Runtime(400)),
        raw("header line without a colon", &get("/spring26", "nocolon\r\n"), Runtime(400)),
        raw("space in a header name", &get("/spring26", "bad name: x\r\n"), Runtime(400)),
        raw("obsolete line folding", &get("/spring26", "user-agent: a\r\n b\r\n"), Runtime(400)),
        raw("8 KB path", &get(&format!("/{}", "a".repeat(8192)), ""), Answered(404)),
        raw("64 KB path", &get(&format!("/{}", "a".repeat(65536)), ""), Runtime(414)),
        raw("8 KB query", &get(&format!("/spring26?{}", "a".repeat(8192)), ""), Answered(302)),
        raw("%00 path", &get("/%00", ""), Answered(404)),
        raw("%0d%0a path", &get("/spring26%0d%0aSet-Cookie:%20evil=1", ""), Answered(404)),
        raw("%1b%7f path", &get("/%1b%7f", ""), Answered(404)),
        raw("%2e%2e path", &get("/%2e%2e/%2e%2e/etc/passwd", ""), Answered(404)),
        raw("encoded slug", &get("/spring%32%36", ""), Answered(404)),
        raw("%0d%0a query", &get("/spring26?x=%0d%0aSet-Cookie:%20evil=1", ""), Answered(302)),
        raw("%00 query", &get("/spring26?x=%00", ""), Answered(302)),
    ]
}

fn hosts() -> Vec<(String, Vec<u8>, Expect)> {
    let host =
        |name: &str, bytes: &[u8], expect| (format!("Host {name}"), with_host(bytes), expect);
    vec![
        host(
            "in upper case with a port",
            b"GO.EXAMPLE.COM:443",
            Answered(302),
        ),
        host("with a trailing dot", b"go.example.com.", Answered(302)),
        host(
            "in punycode (not in domains)",
            b"xn--bcher-kva.example",
            Answered(421),
        ),
        host("in raw UTF-8", "bücher.example".as_bytes(), Closed),
        host("with an emoji", "😀.example".as_bytes(), Closed),
        host("with 0xFF", b"go.example.com\xff", Closed),
        host("with a NUL", b"go.exa\x00mple.com", Runtime(400)),
        host("with a space", b"go example.com", Closed),
        host("with a slash", b"go.example.com/x", Closed),
        host("with user-info", b"a@go.example.com", Answered(400)),
        host(
            "with a port over 65535",
            b"go.example.com:99999",
            Answered(400),
        ),
        host("as an IPv6 literal", b"[::1]:8080", Answered(400)),
        host("of 300 bytes", "a".repeat(300).as_bytes(), Answered(400)),
    ]
}

/// CR and LF in every header the service reads, and a few it does not.
fn header_injections() -> Vec<(String, Vec<u8>, Expect)> {
    let mut cases = Vec::new();
    for name in [
        "host",
        "user-agent",
        "accept-language",
        "referer",
        "cookie",
        "x-forwarded-for",
        "if-none-match",
    ] {
        let host_value = |tail: &[u8]| [b"go.example.com".as_slice(), tail].concat();
        let value = |tail: &[u8]| {
            if name == "host" {
                host_value(tail)
            } else {
                [b"a".as_slice(), tail].concat()
            }
        };
        let bytes = |tail: &[u8]| {
            if name == "host" {
                with_host(&value(tail))
            } else {
                with_header(name, &value(tail))
            }
        };
        // CRLF ends the line: the rest becomes a header of its own, which must not leak into the answer.
        cases.push((
            format!("{name}: CRLF + injected header"),
            bytes(b"\r\nx-injected: 1"),
            Answered(302),
        ));
        cases.push((
            format!("{name}: bare CR"),
            bytes(b"\rx-injected: 1"),
            Runtime(400),
        ));
        // Viceroy's parser takes a bare LF as a line end too.
        cases.push((
            format!("{name}: bare LF"),
            bytes(b"\nx-injected: 1"),
            Answered(302),
        ));
        cases.push((format!("{name}: NUL"), bytes(b"\x00"), Runtime(400)));
        // The same, percent-encoded: plain text to HTTP. In a Host (with its
        // space and colon) it forms no URI, and Viceroy drops the connection.
        let encoded = if name == "host" {
            Closed
        } else {
            Answered(302)
        };
        cases.push((
            format!("{name}: %0d%0a text"),
            bytes(b"%0d%0ax-injected: 1"),
            encoded,
        ));
    }
    cases
}

fn big_and_duplicate_headers() -> Vec<(String, Vec<u8>, Expect)> {
    let many = |n: usize| (0..n).map(|i| format!("x-h{i}: v\r\n")).collect::<String>();
    vec![
        ("100 KB user-agent".into(), get("/spring26", &format!("user-agent: {}\r\n", "a".repeat(100_000))), Answered(302)),
        ("100 KB accept-language".into(), get("/spring26", &format!("accept-language: {}\r\n", "fr-".repeat(33_000))), Answered(302)),
        ("1 MB header".into(), get("/spring26", &format!("x-big: {}\r\n", "a".repeat(1_000_000))), Runtime(431)),
        ("90 headers".into(), get("/spring26", &many(90)), Answered(302)),
        ("200 headers".into(), get("/spring26", &many(200)), Runtime(431)),
        ("two Hosts, ours first".into(), get("/spring26", "host: evil.test\r\n"), Answered(302)),
        (
            "two Hosts, another first".into(),
            b"GET /spring26 HTTP/1.1\r\nhost: evil.test\r\nhost: go.example.com\r\nconnection: close\r\n\r\n".to_vec(),
            Answered(421),
        ),
        ("duplicate user-agent and accept-language".into(), get("/spring26", "user-agent: a\r\nuser-agent: b\r\naccept-language: fr\r\naccept-language: de\r\n"), Answered(302)),
        ("non-UTF-8 user-agent".into(), with_header("user-agent", b"\xff\xfe bot? \xc3"), Answered(302)),
        ("non-UTF-8 accept-language".into(), with_header("accept-language", b"\xff;q=0.9, fr"), Answered(302)),
        ("non-UTF-8 referer".into(), with_header("referer", b"https://\xc3\x28.example/"), Answered(302)),
    ]
}

#[test]
fn bad_input_is_answered_without_500_and_the_service_stays_up() {
    let service = Service::start(
        ServiceConfig::new()
            .link("go.example.com/spring26", SPRING)
            .setting("domains", json!(["go.example.com"])),
    );
    let mut ran = 0;
    let mut cases = request_lines();
    cases.extend(hosts());
    cases.extend(header_injections());
    cases.extend(big_and_duplicate_headers());
    for (name, bytes, expect) in &cases {
        let answer = service.send_raw(bytes);
        match (expect, &answer) {
            (Answered(status) | Runtime(status), Ok(reply)) => {
                assert_eq!(reply.status, *status, "{name}: {}", reply.text());
                assert_no_injection(name, reply);
            }
            (Closed, Err(e)) => assert!(
                e.to_string().contains("connection closed before headers"),
                "{name}: {e}"
            ),
            (_, Ok(reply)) => panic!(
                "{name}: expected {expect:?}, got {} {}",
                reply.status,
                reply.text()
            ),
            (_, Err(e)) => panic!("{name}: expected {expect:?}, got no answer: {e}"),
        }
        if let Answered(_) = expect {
            ran += 1;
        }
        // The service is still up and still right.
        let good = service.get("/spring26");
        assert_eq!(
            (good.status, good.header("location")),
            (302, Some("https://example.com/spring")),
            "after {name}"
        );
        ran += 1;
        // Viceroy logs every request it hands to the service: only the cases
        // expected to reach it may have done so.
        let handed = wait_for_handed(&service, ran);
        assert_eq!(handed, ran, "{name}: expected {expect:?}; Viceroy handed the service {handed} requests so far, not {ran}");
    }
    // Each request the service answered still wrote one well-formed scan line
    // (the scan log parses every line as JSON), with long headers capped.
    service.wait_for_completed(ran);
    for scan in service.scans() {
        for field in ["ua", "referer"] {
            let len = scan[field].as_str().map_or(0, str::len);
            assert!(len <= 1024, "{field} of {len} bytes logged: {scan}");
        }
    }
}

/// Nothing the request carried turns into a response header or a raw CR/LF.
fn assert_no_injection(name: &str, reply: &Reply) {
    for (header, value) in &reply.headers {
        assert!(
            !header.contains("injected") && !header.contains("set-cookie"),
            "{name}: answered with {header}: {value}"
        );
        assert!(
            !value.contains(['\r', '\n', '\0']),
            "{name}: raw control character in {header}: {value:?}"
        );
    }
    if let Some(location) = reply.header("location") {
        assert!(
            location.starts_with("https://example.com/spring"),
            "{name}: Location {location}"
        );
    }
}

/// How many requests Viceroy has handed to the service, once it reaches `at_least` (or 10 s pass).
fn wait_for_handed(service: &Service, at_least: usize) -> usize {
    let count = || {
        service
            .log()
            .iter()
            .filter(|l| l.contains("handling request"))
            .count()
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    while count() < at_least && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(10));
    }
    count()
}

#[test]
fn stalled_connections_do_not_keep_others_from_being_answered() {
    let service = Service::start(ServiceConfig::new().link("go.example.com/spring26", SPRING));
    // Half a request each, then silence: the runtime waits for the rest.
    let stalled: Vec<TcpStream> = (0..32)
        .map(|_| {
            let mut stream = TcpStream::connect(service.addr()).expect("connect");
            stream
                .write_all(b"GET /spring26 HTTP/1.1\r\nhost: go.exa")
                .expect("write half a request");
            stream
        })
        .collect();
    for _ in 0..5 {
        let started = Instant::now();
        let reply = service.get("/spring26");
        assert_eq!(reply.status, 302);
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "answered after {:?}",
            started.elapsed()
        );
    }
    drop(stalled);
    assert_eq!(service.get("/spring26").status, 302);
}
