//! One Viceroy process running the real wasm with a configuration of the
//! test's own: links in the KV store, settings, secrets, an origin backend, and
//! the fixture geolocation and device-detection data.

use crate::client::{send_raw, Reply, Req};
use crate::repo_root;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// What the service runs with. Every resource of SPEC section 1 can be left out.
#[derive(Debug, Clone)]
pub struct ServiceConfig {
    /// `links` KV store entries; `None` leaves the store out.
    pub kv: Option<Vec<(String, String)>>,
    /// `settings` config store entries; `None` leaves the store out.
    pub settings: Option<Vec<(String, String)>>,
    /// `secrets` secret store entries; `None` leaves the store out.
    pub secrets: Option<Vec<(String, String)>>,
    /// `origin` backend URL; `None` leaves the backend out.
    pub origin: Option<String>,
    /// The origin backend's first-byte timeout.
    pub first_byte_timeout_ms: u64,
    /// The wasm to run.
    pub wasm: PathBuf,
}

impl Default for ServiceConfig {
    fn default() -> Self {
        ServiceConfig {
            kv: Some(Vec::new()),
            settings: Some(Vec::new()),
            secrets: None,
            origin: None,
            first_byte_timeout_ms: 1000,
            wasm: default_wasm(),
        }
    }
}

/// The service wasm: `$QR_EDGE_WASM`, else the release build in `target/`.
pub fn default_wasm() -> PathBuf {
    std::env::var_os("QR_EDGE_WASM")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("target/wasm32-wasip1/release/qr-edge.wasm"))
}

impl ServiceConfig {
    /// KV store with no entries, empty settings, no secrets, no origin.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a KV entry (`{domain}/{slug}` → value text).
    pub fn link(mut self, key: &str, value: &str) -> Self {
        self.kv
            .get_or_insert_with(Vec::new)
            .push((key.into(), value.into()));
        self
    }

    /// Adds a setting.
    pub fn setting(mut self, key: &str, value: &str) -> Self {
        self.settings
            .get_or_insert_with(Vec::new)
            .push((key.into(), value.into()));
        self
    }

    /// Adds a secret.
    pub fn secret(mut self, key: &str, value: &str) -> Self {
        self.secrets
            .get_or_insert_with(Vec::new)
            .push((key.into(), value.into()));
        self
    }

    /// Uses an origin backend.
    pub fn origin(mut self, url: &str) -> Self {
        self.origin = Some(url.into());
        self
    }

    /// Leaves the `links` KV store out.
    pub fn without_kv(mut self) -> Self {
        self.kv = None;
        self
    }

    /// Leaves the `settings` config store out.
    pub fn without_settings(mut self) -> Self {
        self.settings = None;
        self
    }

    /// Runs another wasm (e.g. the benchmark floor).
    pub fn wasm(mut self, wasm: PathBuf) -> Self {
        self.wasm = wasm;
        self
    }

    /// Writes the data files into `dir` and returns the `fastly.toml` text.
    pub fn write(&self, dir: &std::path::Path) -> String {
        let fixtures = repo_root().join("fixtures");
        let mut toml = String::from("manifest_version = 3\nname = \"qr-edge-test\"\nlanguage = \"rust\"\n\n[local_server]\n");
        if let Some(url) = &self.origin {
            toml += &format!(
                "[local_server.backends.origin]\nurl = {}\nfirst_byte_timeout_ms = {}\nbetween_bytes_timeout_ms = {}\n",
                quote(url),
                self.first_byte_timeout_ms,
                self.first_byte_timeout_ms
            );
        }
        if let Some(kv) = &self.kv {
            let path = write_json_object(dir, "links.json", kv);
            toml += &format!(
                "[local_server.kv_stores]\nlinks = {{ file = {}, format = \"json\" }}\n",
                quote(&path)
            );
        }
        if let Some(settings) = &self.settings {
            let path = write_json_object(dir, "settings.json", settings);
            toml += &format!(
                "[local_server.config_stores]\nsettings = {{ file = {}, format = \"json\" }}\n",
                quote(&path)
            );
        }
        if let Some(secrets) = &self.secrets {
            let entries: Vec<String> = secrets
                .iter()
                .map(|(k, v)| format!("{{ key = {}, data = {} }}", quote(k), quote(v)))
                .collect();
            toml += &format!(
                "[local_server.secret_stores]\nsecrets = [{}]\n",
                entries.join(", ")
            );
        }
        toml += &format!(
            "[local_server.geolocation]\nuse_default_loopback = false\nfile = {}\nformat = \"json\"\n",
            quote(&fixtures.join("geo.json").to_string_lossy())
        );
        toml += &format!(
            "[local_server.device_detection]\nfile = {}\nformat = \"json\"\n",
            quote(&fixtures.join("devices.json").to_string_lossy())
        );
        toml
    }
}

fn write_json_object(dir: &std::path::Path, name: &str, entries: &[(String, String)]) -> String {
    let object: serde_json::Map<String, serde_json::Value> = entries
        .iter()
        .map(|(k, v)| (k.clone(), serde_json::Value::from(v.as_str())))
        .collect();
    let path = dir.join(name);
    std::fs::write(&path, serde_json::Value::Object(object).to_string()).expect("write test data");
    path.to_string_lossy().into_owned()
}

/// A TOML basic string (JSON string escapes are valid TOML escapes).
fn quote(text: &str) -> String {
    serde_json::Value::from(text).to_string()
}

/// A running Viceroy; killed when dropped.
pub struct Service {
    child: Child,
    addr: SocketAddr,
    lines: Arc<Mutex<Vec<String>>>,
    dir: PathBuf,
}

static NEXT_DIR: AtomicUsize = AtomicUsize::new(0);

impl Service {
    /// Starts Viceroy and waits until it listens.
    pub fn start(config: ServiceConfig) -> Service {
        assert!(
            config.wasm.exists(),
            "{} is missing: build it with `cargo build --release --target wasm32-wasip1 -p qr-edge` (scripts/test does)",
            config.wasm.display()
        );
        let dir = std::env::temp_dir().join(format!(
            "qr-edge-test-{}-{}",
            std::process::id(),
            NEXT_DIR.fetch_add(1, Ordering::SeqCst)
        ));
        std::fs::create_dir_all(&dir).expect("test dir");
        let toml = config.write(&dir);
        let toml_path = dir.join("fastly.toml");
        std::fs::write(&toml_path, &toml).expect("write fastly.toml");
        let viceroy = std::env::var("VICEROY").unwrap_or_else(|_| "viceroy".into());
        let mut child = Command::new(&viceroy)
            .arg("-v")
            .arg("-C")
            .arg(&toml_path)
            .arg("--addr")
            .arg("127.0.0.1:0")
            .arg(&config.wasm)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {viceroy}: {e} (scripts/test installs it)"));
        let lines = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = mpsc::channel();
        for stream in [
            child
                .stdout
                .take()
                .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
            child
                .stderr
                .take()
                .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
        ]
        .into_iter()
        .flatten()
        {
            let (lines, tx) = (lines.clone(), tx.clone());
            thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    if let Some(addr) = line.split("Listening on http://").nth(1) {
                        let _ = tx.send(addr.trim().to_owned());
                    }
                    lines.lock().unwrap_or_else(|e| e.into_inner()).push(line);
                }
            });
        }
        let addr = match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(addr) => addr.parse().expect("listening address"),
            Err(_) => {
                let _ = child.kill();
                let log = lines.lock().map(|l| l.join("\n")).unwrap_or_default();
                panic!("viceroy did not start listening within 60 s; config:\n{toml}\nlog:\n{log}");
            }
        };
        Service {
            child,
            addr,
            lines,
            dir,
        }
    }

    /// Where the service listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Sends a request; panics with context when the connection fails.
    pub fn send(&self, req: Req) -> Reply {
        self.try_send(&req).unwrap_or_else(|e| {
            panic!(
                "{} {} failed: {e}\nlog:\n{}",
                req.method,
                req.target,
                self.log().join("\n")
            )
        })
    }

    /// Sends a request.
    pub fn try_send(&self, req: &Req) -> std::io::Result<Reply> {
        send_raw(self.addr, &req.from, &req.to_bytes())
    }

    /// Sends raw bytes from 127.0.0.1.
    pub fn send_raw(&self, bytes: &[u8]) -> std::io::Result<Reply> {
        send_raw(self.addr, "127.0.0.1", bytes)
    }

    /// `GET target` with `Host: go.example.com` from 127.0.0.1.
    pub fn get(&self, target: &str) -> Reply {
        self.send(Req::get(target))
    }

    /// Every line Viceroy printed so far.
    pub fn log(&self) -> Vec<String> {
        self.lines.lock().map(|l| l.clone()).unwrap_or_default()
    }

    /// The lines written to a log endpoint so far, without the `name :: ` prefix.
    pub fn endpoint_lines(&self, endpoint: &str) -> Vec<String> {
        let prefix = format!("{endpoint} :: ");
        self.log()
            .iter()
            .filter_map(|l| l.strip_prefix(&prefix).map(str::to_owned))
            .collect()
    }

    /// The scan events so far, parsed.
    pub fn scans(&self) -> Vec<serde_json::Value> {
        self.endpoint_lines("scans")
            .iter()
            .map(|l| {
                serde_json::from_str(l)
                    .unwrap_or_else(|e| panic!("scan line is not JSON ({e}): {l}"))
            })
            .collect()
    }

    /// Waits (up to 10 s) until at least `n` scan events were written, and returns them all.
    pub fn wait_for_scans(&self, n: usize) -> Vec<serde_json::Value> {
        self.wait_for_lines("scans", n);
        self.scans()
    }

    /// Waits (up to 10 s) until at least `n` lines reached `endpoint`.
    pub fn wait_for_lines(&self, endpoint: &str, n: usize) -> Vec<String> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let lines = self.endpoint_lines(endpoint);
            if lines.len() >= n || Instant::now() > deadline {
                return lines;
            }
            thread::sleep(Duration::from_millis(10));
        }
    }

    /// With `QR_EDGE_SCAN_DUMP=<dir>`, keeps this service's scan lines in `<dir>/<pid>-<n>.ndjson`,
    /// real service output for the analytics tests (scripts/test).
    fn dump_scans(&self) {
        let (Some(dump), Some(name)) =
            (std::env::var_os("QR_EDGE_SCAN_DUMP"), self.dir.file_name())
        else {
            return;
        };
        let lines = self.endpoint_lines("scans");
        if lines.is_empty() {
            return;
        }
        let name = name.to_string_lossy();
        let dump = PathBuf::from(dump);
        let file = dump.join(format!(
            "{}.ndjson",
            name.trim_start_matches("qr-edge-test-")
        ));
        if let Err(e) = std::fs::create_dir_all(&dump)
            .and_then(|()| std::fs::write(&file, lines.join("\n") + "\n"))
        {
            eprintln!("cannot keep the scan lines in {}: {e}", file.display());
        }
    }

    /// Waits until Viceroy has finished `n` requests (its `request completed in` lines):
    /// everything a request does after its response, such as logging, is then done.
    pub fn wait_for_completed(&self, n: usize) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while self
            .log()
            .iter()
            .filter(|l| l.contains("request completed in"))
            .count()
            < n
            && Instant::now() < deadline
        {
            thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        self.dump_scans();
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
