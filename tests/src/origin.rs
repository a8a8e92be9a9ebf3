//! A real link origin on loopback for one test: it answers
//! `GET /links/{domain}/{slug}` from records the test puts in, and can be
//! switched to answer slowly, answer 5xx, hang, send garbage, or be down altogether.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

/// How the origin answers.
#[derive(Debug, Clone, PartialEq)]
pub enum Behaviour {
    /// 200 with the record put for the key, else 404.
    Serve,
    /// As `Serve`, with the record as it was when the request arrived, but
    /// answered only after this long: a slow source read in flight.
    Delay(Duration),
    /// This status, with a small body.
    Status(u16),
    /// Accept, then say nothing for this long.
    Hang(Duration),
    /// 200 with a body that is not a record.
    Garbage,
    /// Nothing listens: connections are refused.
    Down,
}

struct State {
    behaviour: Behaviour,
    records: HashMap<String, String>,
    requests: Vec<String>,
}

/// A running origin; stops when dropped.
pub struct Origin {
    addr: SocketAddr,
    state: Arc<Mutex<State>>,
    stop: Arc<AtomicBool>,
    listening: Arc<AtomicBool>,
}

impl Origin {
    /// Starts an origin on a free port of 127.0.0.1.
    pub fn start() -> Origin {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind origin");
        let addr = listener.local_addr().expect("origin address");
        let state = Arc::new(Mutex::new(State {
            behaviour: Behaviour::Serve,
            records: HashMap::new(),
            requests: Vec::new(),
        }));
        let stop = Arc::new(AtomicBool::new(false));
        let listening = Arc::new(AtomicBool::new(true));
        let (s, st, l) = (state.clone(), stop.clone(), listening.clone());
        thread::spawn(move || accept_loop(Some(listener), addr, s, st, l));
        Origin {
            addr,
            state,
            stop,
            listening,
        }
    }

    /// The backend URL for Viceroy's config.
    pub fn url(&self) -> String {
        format!("http://{}/", self.addr)
    }

    /// Serves `record` (JSON text) for `{domain}/{slug}`.
    pub fn put(&self, key: &str, record: &str) {
        self.lock()
            .records
            .insert(key.to_owned(), record.to_owned());
    }

    /// Forgets a record (the origin then answers 404 for it).
    pub fn remove(&self, key: &str) {
        self.lock().records.remove(key);
    }

    /// Switches how the origin answers from now on. Switching to `Down`
    /// returns once the listening socket is closed.
    pub fn set(&self, behaviour: Behaviour) {
        let down = behaviour == Behaviour::Down;
        self.lock().behaviour = behaviour;
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while down && self.listening.load(Ordering::SeqCst) && std::time::Instant::now() < deadline
        {
            thread::sleep(Duration::from_millis(1));
        }
    }

    /// Link paths (`/links/…`) requested so far, in order. Viceroy's own
    /// start-up probe of the backend (`GET /`) is not counted.
    pub fn requests(&self) -> Vec<String> {
        self.lock()
            .requests
            .iter()
            .filter(|p| p.starts_with("/links/"))
            .cloned()
            .collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Drop for Origin {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

fn accept_loop(
    mut listener: Option<TcpListener>,
    addr: SocketAddr,
    state: Arc<Mutex<State>>,
    stop: Arc<AtomicBool>,
    listening: Arc<AtomicBool>,
) {
    while !stop.load(Ordering::SeqCst) {
        let down = state
            .lock()
            .map(|s| s.behaviour == Behaviour::Down)
            .unwrap_or(false);
        if down {
            listener = None;
            listening.store(false, Ordering::SeqCst);
            thread::sleep(Duration::from_millis(5));
            continue;
        }
        if listener.is_none() {
            listener = TcpListener::bind(addr).ok();
            if let Some(l) = &listener {
                let _ = l.set_nonblocking(true);
                listening.store(true, Ordering::SeqCst);
            }
        }
        let Some(l) = &listener else {
            thread::sleep(Duration::from_millis(5));
            continue;
        };
        let _ = l.set_nonblocking(true);
        match l.accept() {
            Ok((stream, _)) => {
                let state = state.clone();
                thread::spawn(move || answer(stream, &state));
            }
            Err(_) => thread::sleep(Duration::from_millis(2)),
        }
    }
}

fn answer(mut stream: TcpStream, state: &Mutex<State>) {
    let _ = stream.set_nonblocking(false);
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let mut head = Vec::new();
    let mut buf = [0u8; 4096];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
    let text = String::from_utf8_lossy(&head);
    let path = text.split(' ').nth(1).unwrap_or("").to_owned();
    let (behaviour, record) = {
        let mut s = state.lock().unwrap_or_else(|e| e.into_inner());
        s.requests.push(path.clone());
        let key = path.strip_prefix("/links/").unwrap_or("");
        (s.behaviour.clone(), s.records.get(key).cloned())
    };
    let served = |record: Option<String>| match record {
        Some(r) => (200, r),
        None => (404, r#"{"error":"not found"}"#.to_owned()),
    };
    let (status, body) = match behaviour {
        Behaviour::Serve => served(record),
        Behaviour::Delay(d) => {
            thread::sleep(d);
            served(record)
        }
        Behaviour::Status(code) => (code, r#"{"error":"scripted"}"#.to_owned()),
        Behaviour::Hang(d) => {
            thread::sleep(d);
            return;
        }
        Behaviour::Garbage => (200, "<html>definitely not a record".to_owned()),
        Behaviour::Down => return,
    };
    let reply = format!(
        "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.write_all(reply.as_bytes());
}
