//! Black-box test harness: runs the real `qr-edge.wasm` under the real Viceroy
//! on a free loopback port with a configuration of the test's own, sends real
//! HTTP from chosen loopback addresses, gives each test a real origin server,
//! and reads the log lines (`scans :: {json}`) Viceroy prints.

pub mod client;
pub mod limits;
pub mod origin;
pub mod service;

pub use client::{Reply, Req};
pub use limits::RequestCost;
pub use origin::{Behaviour, Origin};
pub use service::{Service, ServiceConfig};

/// The user agents of `fixtures/devices.json`, for device and OS tests.
pub mod ua {
    /// iPhone, Safari.
    pub const IPHONE: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1";
    /// iPad, Safari.
    pub const IPAD: &str = "Mozilla/5.0 (iPad; CPU OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1";
    /// Pixel 8, Chrome.
    pub const PIXEL: &str = "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Mobile Safari/537.36";
    /// Windows, Chrome.
    pub const WINDOWS: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36";
    /// macOS, Safari.
    pub const MAC: &str = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15";
    /// Googlebot.
    pub const GOOGLEBOT: &str =
        "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)";
    /// Facebook's link-preview fetcher.
    pub const FACEBOOK: &str =
        "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)";
}

/// The workspace root (where `fastly.toml` and `fixtures/` live).
pub fn repo_root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(|p| p.to_path_buf())
        .unwrap_or_default()
}
