//! Fastly resource names, exactly as SPEC section 1 and `fastly.toml` name them.
//! One grep joins the code to the service configuration.

/// KV store of link records, key `{domain}/{slug}` (SPEC §3).
pub const LINKS_KV_STORE: &str = "links";
/// Config store of settings (SPEC §5). Optional.
pub const SETTINGS_CONFIG_STORE: &str = "settings";
/// Secret store holding `admin_token` and `ip_salt` (SPEC §6, §8). Optional.
pub const SECRETS_STORE: &str = "secrets";
/// Secret: bearer token of the admin API.
pub const ADMIN_TOKEN_SECRET: &str = "admin_token";
/// Secret: key of the `hash` IP mode.
pub const IP_SALT_SECRET: &str = "ip_salt";
/// Backend of the optional authoritative link API (SPEC §4).
pub const ORIGIN_BACKEND: &str = "origin";
/// Log endpoint of scan events (SPEC §6).
pub const SCANS_LOG_ENDPOINT: &str = "scans";
/// Log endpoint of admin writes (SPEC §8).
pub const AUDIT_LOG_ENDPOINT: &str = "audit";
