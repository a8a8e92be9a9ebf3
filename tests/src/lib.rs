//! Black-box test harness: runs the real `qr-edge.wasm` under the real Viceroy
//! on a free loopback port with a configuration of the test's own, sends real
//! HTTP from chosen loopback addresses, gives each test a real origin server,
//! and reads the log lines (`scans :: {json}`) Viceroy prints. What several
//! test files need is here once: the user agents (`agents`), the admin-API
//! requests and checks (`admin`), a request's scan event (`scan`), and the
//! `qrctl` binary (`qrctl`).

pub mod admin;
pub mod agents;
pub mod client;
pub mod limits;
pub mod origin;
pub mod qr_image;
pub mod qrctl;
pub mod scan;
pub mod service;

pub use client::{Reply, Req};
pub use limits::RequestCost;
pub use origin::{Behaviour, Origin};
pub use qrctl::built_qrctl;
pub use scan::scan;
pub use service::{Service, ServiceConfig};

/// The workspace root (where `fastly.toml` and `fixtures/` live).
pub fn repo_root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(|p| p.to_path_buf())
        .unwrap_or_default()
}

/// The 64-character slug (the longest a slug may be).
pub fn longest_slug() -> String {
    let slug: String = "x1y2z3-".repeat(10).chars().take(64).collect();
    assert_eq!(slug.len(), 64);
    slug
}
