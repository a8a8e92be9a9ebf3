//! One Viceroy process running the real wasm with a configuration of the
//! test's own: links in the KV store, settings, secrets, an origin backend, and
//! the fixture geolocation and device-detection data. Every request it runs is
//! held to Fastly's per-request limits, read from Viceroy's hostcall trace
//! (crate::limits, issue 11).

use crate::client::{send_raw, Reply, Req};
use crate::limits::{process_cpu_nanos, RequestCost, Tracker};
use crate::repo_root;
use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, OnceLock};
use std::thread;
use std::time::{Duration, Instant};

/// What the service runs with. Every resource of docs/resources.md can be left out.
#[derive(Debug, Clone)]
pub struct ServiceConfig {
    /// `links` KV store entries; `None` leaves the store out.
    pub kv: Option<Vec<(String, String)>>,
    /// `settings` config store entries (`defaults`, `{domain}` → JSON document
    /// text); `None` leaves the store out.
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

/// The service wasm: `$QR_EDGE_WASM`, else the release build of this checkout,
/// built by [`built_wasm`] (once per test process).
pub fn default_wasm() -> PathBuf {
    std::env::var_os("QR_EDGE_WASM")
        .map(PathBuf::from)
        .unwrap_or_else(|| built_wasm("qr-edge"))
}

/// The release wasm of a workspace package (`qr-edge`, `qr-edge-over-limits`),
/// built from this checkout's sources the first time a test of this process
/// asks for it: a test never runs whatever an earlier build left in `target/`.
/// Cargo makes the build a no-op when nothing changed. A failed build fails
/// every test that asks, with cargo's own message above.
pub fn built_wasm(package: &str) -> PathBuf {
    static BUILT: OnceLock<Mutex<HashMap<String, Result<PathBuf, String>>>> = OnceLock::new();
    let built = BUILT.get_or_init(Default::default);
    // Held during the build: concurrent tests wait for the one build rather than start their own.
    let mut built = built.lock().unwrap_or_else(|e| e.into_inner());
    let result = built
        .entry(package.to_owned())
        .or_insert_with(|| build_wasm(package))
        .clone();
    result.unwrap_or_else(|e| panic!("{e}"))
}

fn build_wasm(package: &str) -> Result<PathBuf, String> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let status = Command::new(&cargo)
        .args([
            "build",
            "--quiet",
            "--release",
            "--target",
            "wasm32-wasip1",
            "-p",
            package,
        ])
        .current_dir(repo_root())
        .stdin(Stdio::null())
        .status()
        .map_err(|e| format!("cannot run cargo to build {package}: {e}"))?;
    if !status.success() {
        return Err(format!(
            "`cargo build --release --target wasm32-wasip1 -p {package}` failed ({status})"
        ));
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| repo_root().join("target"), |dir| repo_root().join(dir));
    let wasm = target.join(format!("wasm32-wasip1/release/{package}.wasm"));
    if wasm.exists() {
        Ok(wasm)
    } else {
        Err(format!(
            "cargo built {package} but {} is missing",
            wasm.display()
        ))
    }
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

    /// Sets a field of the `defaults` settings document.
    pub fn setting(self, field: &str, value: serde_json::Value) -> Self {
        self.domain_setting("defaults", field, value)
    }

    /// Sets a field of one domain's settings document (`document` is the
    /// config-store key: the domain, or `defaults`).
    pub fn domain_setting(mut self, document: &str, field: &str, value: serde_json::Value) -> Self {
        let docs = self.settings.get_or_insert_with(Vec::new);
        let mut object = match docs.iter().position(|(key, _)| key == document) {
            Some(i) => match serde_json::from_str(&docs.remove(i).1) {
                Ok(serde_json::Value::Object(object)) => object,
                _ => serde_json::Map::new(),
            },
            None => serde_json::Map::new(),
        };
        object.insert(field.into(), value);
        docs.push((
            document.into(),
            serde_json::Value::Object(object).to_string(),
        ));
        self
    }

    /// Stores a settings document exactly as given, valid or not.
    pub fn settings_document(mut self, key: &str, text: &str) -> Self {
        let docs = self.settings.get_or_insert_with(Vec::new);
        docs.retain(|(k, _)| k != key);
        docs.push((key.into(), text.into()));
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

/// A running Viceroy; killed when dropped. Every request it runs is held to
/// Fastly's per-request limits (crate::limits): dropping the service fails
/// the test if one of its requests broke one.
pub struct Service {
    child: Child,
    addr: SocketAddr,
    lines: Arc<Mutex<Vec<String>>>,
    dir: PathBuf,
    /// Per-request costs from Viceroy's hostcall trace.
    tracker: Arc<Mutex<Tracker>>,
    /// When the last line of Viceroy's output was read.
    last_line: Arc<Mutex<Instant>>,
    /// The threads reading Viceroy's stdout and stderr.
    readers: Vec<thread::JoinHandle<()>>,
}

static NEXT_DIR: AtomicUsize = AtomicUsize::new(0);

impl Service {
    /// Starts Viceroy and waits until it listens.
    ///
    /// Viceroy runs with `-vvv`, which traces every hostcall with its request
    /// id; the reader threads count them per request as the lines arrive
    /// (crate::limits::Tracker) and keep only what `viceroy -v` would print,
    /// so `log()` and the endpoint lines are as before and memory stays
    /// bounded however many requests a test sends. `RUST_LOG` would override
    /// `-vvv` (and `RUST_LOG_PRETTY` change the format), so neither is passed on.
    pub fn start(config: ServiceConfig) -> Service {
        assert!(
            config.wasm.exists(),
            "{} is missing (QR_EDGE_WASM or ServiceConfig::wasm names a file that does not exist)",
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
            .arg("-vvv")
            .arg("-C")
            .arg(&toml_path)
            .arg("--addr")
            .arg("127.0.0.1:0")
            .arg(&config.wasm)
            .env_remove("RUST_LOG")
            .env_remove("RUST_LOG_PRETTY")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {viceroy}: {e} (scripts/test installs it)"));
        let lines = Arc::new(Mutex::new(Vec::new()));
        // Viceroy's tokio runtime has one worker thread per core.
        let workers = thread::available_parallelism().map_or(1, |n| n.get());
        let pid = child.id();
        let tracker = Arc::new(Mutex::new(Tracker::new(
            workers,
            Box::new(move || process_cpu_nanos(pid)),
        )));
        let last_line = Arc::new(Mutex::new(Instant::now()));
        let (tx, rx) = mpsc::channel();
        let mut readers = Vec::new();
        for (stream, timed) in [
            (
                child
                    .stdout
                    .take()
                    .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
                true,
            ),
            (
                child
                    .stderr
                    .take()
                    .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
                false,
            ),
        ] {
            let Some(stream) = stream else { continue };
            let (lines, tracker, last_line, tx) = (
                lines.clone(),
                tracker.clone(),
                last_line.clone(),
                tx.clone(),
            );
            readers.push(thread::spawn(move || {
                for line in BufReader::with_capacity(1 << 16, stream)
                    .lines()
                    .map_while(Result::ok)
                {
                    if let Some(addr) = line.split("Listening on http://").nth(1) {
                        let _ = tx.send(addr.trim().to_owned());
                    }
                    let keep = tracker
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .observe(&line, timed);
                    if keep {
                        lines.lock().unwrap_or_else(|e| e.into_inner()).push(line);
                    }
                    *last_line.lock().unwrap_or_else(|e| e.into_inner()) = Instant::now();
                }
            }));
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
            tracker,
            last_line,
            readers,
        }
    }

    /// What each request has cost so far (crate::limits::RequestCost), in the
    /// order Viceroy completed them, then those still running. Waits first
    /// (up to 5 s) until no request is running and Viceroy's output is read.
    pub fn request_costs(&self) -> Vec<RequestCost> {
        self.settle(Duration::from_secs(5));
        self.tracker.lock().map(|t| t.costs()).unwrap_or_default()
    }

    /// Every limit broken so far, one sentence per request and limit.
    pub fn limit_violations(&self) -> Vec<String> {
        self.settle(Duration::from_secs(5));
        self.violations_now()
    }

    fn violations_now(&self) -> Vec<String> {
        let costs = self.tracker.lock().map(|t| t.costs()).unwrap_or_default();
        let mut out: Vec<String> = costs.iter().flat_map(RequestCost::violations).collect();
        // A trace without hostcalls (Viceroy started without it, a changed
        // format) would let every request pass: no real request makes none.
        if let Some(blind) = costs.iter().find(|c| c.completed && c.hostcalls == 0) {
            out.push(format!(
                "{} completed with no hostcall in Viceroy's trace: the harness cannot check Fastly's limits (is `viceroy -vvv` tracing hostcalls?)",
                blind.name()
            ));
        }
        out
    }

    /// Panics, naming each request and the limit it broke, if any request so
    /// far broke one of Fastly's per-request limits (crate::limits). Dropping
    /// the service does the same.
    pub fn assert_within_limits(&self) {
        let violations = self.limit_violations();
        assert!(
            violations.is_empty(),
            "Fastly's per-request limits broken:\n{}",
            violations.join("\n")
        );
    }

    /// With `QR_EDGE_COST_DUMP=<file>`, appends one JSON line per request of
    /// this service to `<file>` (the test's name, then [`RequestCost`]'s
    /// figures, times in µs): the measurements behind the limits' figures.
    fn dump_costs(&self) {
        let Some(file) = std::env::var_os("QR_EDGE_COST_DUMP") else {
            return;
        };
        let test = thread::current().name().unwrap_or("?").to_owned();
        let costs = self.tracker.lock().map(|t| t.costs()).unwrap_or_default();
        let text: String = costs
            .iter()
            .map(|c| {
                serde_json::json!({
                    "test": test,
                    "id": c.id,
                    "method": c.method,
                    "target": c.target,
                    "config_lookups": c.config_lookups,
                    "config_lookup_retries": c.config_lookup_retries,
                    "backend_requests": c.backend_requests,
                    "hostcalls": c.hostcalls,
                    "guest_us": c.guest_time.as_micros() as u64,
                    "wall_us": c.wall.as_micros() as u64,
                    "io_wait_us": c.io_wait.as_micros() as u64,
                    "host_us": c.host_time.as_micros() as u64,
                    "process_cpu_us": c.process_cpu.map(|d| d.as_micros() as u64),
                    "completed": c.completed,
                })
                .to_string()
                    + "\n"
            })
            .collect();
        let written = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&file)
            .and_then(|mut f| std::io::Write::write_all(&mut f, text.as_bytes()));
        if let Err(e) = written {
            eprintln!(
                "cannot append the request costs to {}: {e}",
                PathBuf::from(file).display()
            );
        }
    }

    /// Waits until no request is running and no output came for 50 ms, or `at_most` passed.
    fn settle(&self, at_most: Duration) {
        let deadline = Instant::now() + at_most;
        while Instant::now() < deadline {
            let running = self.tracker.lock().map(|t| t.in_flight()).unwrap_or(0);
            let quiet = self
                .last_line
                .lock()
                .map(|t| t.elapsed() >= Duration::from_millis(50))
                .unwrap_or(true);
            if running == 0 && quiet {
                return;
            }
            thread::sleep(Duration::from_millis(10));
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
        while self.tracker.lock().map(|t| t.completed()).unwrap_or(0) < n
            && Instant::now() < deadline
        {
            thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Service {
    /// Stops Viceroy, then fails the test if a request broke one of Fastly's
    /// per-request limits. Requests still running get up to 5 s to finish
    /// first; after the kill the reader threads are joined, so every line
    /// Viceroy printed has been counted. A test that is already failing is
    /// not failed twice.
    fn drop(&mut self) {
        let failing = thread::panicking();
        if !failing {
            self.settle(Duration::from_secs(5));
        }
        self.dump_scans();
        let _ = self.child.kill();
        let _ = self.child.wait();
        for reader in self.readers.drain(..) {
            let _ = reader.join();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
        self.dump_costs();
        if !failing {
            let violations = self.violations_now();
            assert!(
                violations.is_empty(),
                "Fastly's per-request limits broken:\n{}",
                violations.join("\n")
            );
        }
    }
}
