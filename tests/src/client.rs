//! A deliberately small HTTP/1.1 client over a raw socket: it binds any
//! loopback source address (so Viceroy's geolocation sees another visitor) and
//! can send malformed requests that a real client library would refuse.

use socket2::{Domain, Socket, Type};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

/// A request to send.
#[derive(Debug, Clone)]
pub struct Req {
    /// Method.
    pub method: String,
    /// Request target (path and query), as sent.
    pub target: String,
    /// Headers in order; `Host` included.
    pub headers: Vec<(String, String)>,
    /// Body.
    pub body: Vec<u8>,
    /// Source address to bind, e.g. `127.0.0.2`.
    pub from: String,
}

impl Req {
    /// `GET target` for host `go.example.com` from 127.0.0.1.
    pub fn get(target: &str) -> Req {
        Req::new("GET", target)
    }

    /// Any method.
    pub fn new(method: &str, target: &str) -> Req {
        Req {
            method: method.into(),
            target: target.into(),
            headers: vec![("host".into(), "go.example.com".into())],
            body: Vec::new(),
            from: "127.0.0.1".into(),
        }
    }

    /// Replaces the `Host` header (`None` removes it).
    pub fn host(mut self, host: Option<&str>) -> Req {
        self.headers
            .retain(|(n, _)| !n.eq_ignore_ascii_case("host"));
        if let Some(host) = host {
            self.headers.insert(0, ("host".into(), host.into()));
        }
        self
    }

    /// Adds a header.
    pub fn header(mut self, name: &str, value: &str) -> Req {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Sets the body (and `content-length`).
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Req {
        self.body = body.into();
        self
    }

    /// Binds this loopback source address.
    pub fn from(mut self, ip: &str) -> Req {
        self.from = ip.into();
        self
    }

    /// The request's bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = format!("{} {} HTTP/1.1\r\n", self.method, self.target).into_bytes();
        for (name, value) in &self.headers {
            out.extend(format!("{name}: {value}\r\n").into_bytes());
        }
        if !self.body.is_empty() {
            out.extend(format!("content-length: {}\r\n", self.body.len()).into_bytes());
        }
        out.extend(b"connection: close\r\n\r\n");
        out.extend(&self.body);
        out
    }
}

/// A response as received.
#[derive(Debug, Clone)]
pub struct Reply {
    /// Status code.
    pub status: u16,
    /// Headers, names lower-cased, in order.
    pub headers: Vec<(String, String)>,
    /// Body, de-chunked.
    pub body: Vec<u8>,
    /// Time from connect to the end of the response headers.
    pub time_to_headers: Duration,
}

impl Reply {
    /// The first value of a header.
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Status, `Location` and `x-qr-cache`: where a scan was sent, and from
    /// which layer of the cache it was answered.
    pub fn redirect(&self) -> (u16, Option<String>, Option<String>) {
        (
            self.status,
            self.header("location").map(str::to_owned),
            self.header("x-qr-cache").map(str::to_owned),
        )
    }

    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("body is not JSON ({e}): {}", self.text()))
    }

    /// The body as NDJSON: one JSON value per line (import results, export).
    pub fn ndjson(&self) -> Vec<serde_json::Value> {
        self.text()
            .lines()
            .map(|l| {
                serde_json::from_str(l).unwrap_or_else(|e| panic!("line is not JSON ({e}): {l}"))
            })
            .collect()
    }
}

/// Sends raw bytes from `from` to `addr` and reads one response.
pub fn send_raw(addr: SocketAddr, from: &str, bytes: &[u8]) -> std::io::Result<Reply> {
    let socket = Socket::new(Domain::IPV4, Type::STREAM, None)?;
    let local: SocketAddr = format!("{from}:0").parse().map_err(std::io::Error::other)?;
    socket.bind(&local.into())?;
    let started = Instant::now();
    socket.connect_timeout(&addr.into(), Duration::from_secs(5))?;
    let mut stream: TcpStream = socket.into();
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    stream.write_all(bytes)?;
    read_reply(&mut stream, started)
}

fn read_reply(stream: &mut TcpStream, started: Instant) -> std::io::Result<Reply> {
    let mut raw = Vec::new();
    let mut buf = [0u8; 16 * 1024];
    let head_end = loop {
        let n = stream.read(&mut buf)?;
        if n == 0 {
            return Err(std::io::Error::other(format!(
                "connection closed before headers: {:?}",
                String::from_utf8_lossy(&raw)
            )));
        }
        raw.extend_from_slice(&buf[..n]);
        if let Some(i) = find(&raw, b"\r\n\r\n") {
            break i;
        }
    };
    let time_to_headers = started.elapsed();
    let head = String::from_utf8_lossy(&raw[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or("");
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let mut rest = raw[head_end + 4..].to_vec();
    // Read to EOF (we always send `connection: close`).
    loop {
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => rest.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => break,
            Err(e) => return Err(e),
        }
    }
    let chunked = headers
        .iter()
        .any(|(n, v)| n == "transfer-encoding" && v.eq_ignore_ascii_case("chunked"));
    let body = if chunked { dechunk(&rest) } else { rest };
    Ok(Reply {
        status,
        headers,
        body,
        time_to_headers,
    })
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(line_end) = find(data, b"\r\n") {
        let size_text = String::from_utf8_lossy(&data[..line_end]);
        let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)
            .unwrap_or(0);
        if size == 0 {
            break;
        }
        let start = line_end + 2;
        let end = (start + size).min(data.len());
        out.extend_from_slice(&data[start..end]);
        data = &data[(end + 2).min(data.len())..];
    }
    out
}
