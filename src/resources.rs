//! Fastly resource names, exactly as docs/resources.md and `fastly.toml` name them.
//! One grep joins the code to the service configuration.

/// KV store of link records, key `{domain}/{slug}` (docs/links.md).
pub const LINKS_KV_STORE: &str = "links";
/// Config store of settings (docs/settings.md). Optional.
pub const SETTINGS_CONFIG_STORE: &str = "settings";
/// Secret store holding `admin_token` and `ip_salt` (docs/scan-events.md, §8). Optional.
pub const SECRETS_STORE: &str = "secrets";
/// Secret: bearer token of the admin API.
pub const ADMIN_TOKEN_SECRET: &str = "admin_token";
/// Secret: key of the `hash` IP mode and of the scan event's `visitor`.
pub const IP_SALT_SECRET: &str = "ip_salt";
/// Backend of the optional authoritative link API (docs/resilience.md).
pub const ORIGIN_BACKEND: &str = "origin";
/// Log endpoint of scan events (docs/scan-events.md).
pub const SCANS_LOG_ENDPOINT: &str = "scans";
/// Log endpoint of admin writes (docs/admin-api.md).
pub const AUDIT_LOG_ENDPOINT: &str = "audit";
/// Log endpoint of the service's own diagnostics (store errors, settings problems).
pub const DIAGNOSTICS_LOG_ENDPOINT: &str = "diagnostics";
