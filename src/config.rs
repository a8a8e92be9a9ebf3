//! Reads settings (config store) and secrets (secret store) for one request.
//! Both stores are optional: without them every setting has its default.

use crate::resources::{SECRETS_STORE, SETTINGS_CONFIG_STORE};
use fastly::{ConfigStore, SecretStore};
use qr_edge_core::settings::Settings;

/// Settings for `domain`; malformed values are reported to the service log
/// (stderr) once per request that reads them, and replaced by defaults.
pub fn settings_for(domain: &str) -> Settings {
    let store = ConfigStore::try_open(SETTINGS_CONFIG_STORE).ok();
    let (settings, problems) =
        Settings::load(domain, |key| store.as_ref()?.try_get(key).ok().flatten());
    for problem in problems {
        eprintln!(
            "setting {} ignored, default used: {}",
            problem.key, problem.problem
        );
    }
    settings
}

/// A secret's bytes, or `None` when the store or the key is missing.
pub fn secret(name: &str) -> Option<Vec<u8>> {
    let store = SecretStore::open(SECRETS_STORE).ok()?;
    let secret = store.try_get(name).ok().flatten()?;
    // `plaintext()` panics when decryption fails; a request must never panic.
    Some(secret.try_plaintext().ok()?.to_vec())
}

#[cfg(test)]
mod tests {
    //! These run inside Viceroy (`cargo test --target wasm32-wasip1`) against
    //! the stores `fastly.toml` declares for local serving.
    use super::*;
    use crate::resources::{ADMIN_TOKEN_SECRET, IP_SALT_SECRET};

    #[test]
    fn settings_come_from_the_config_store() {
        let settings = settings_for("go.example.com");
        let domains = settings.domains.expect("fastly.local.toml sets domains");
        assert_eq!(
            domains,
            ["go.example.com", "qr.example.org", "links.example.net"]
        );
        assert_eq!(settings.home_url.as_deref(), Some("https://example.com/"));
        assert_eq!(settings.cache_ttl, 60);
        assert_eq!(settings.not_found_url, None);
    }

    #[test]
    fn domain_overrides_come_from_the_config_store() {
        let settings = settings_for("qr.example.org");
        assert_eq!(
            settings.not_found_url.as_deref(),
            Some("https://example.org/")
        );
    }

    #[test]
    fn secrets_come_from_the_secret_store() {
        assert_eq!(
            secret(ADMIN_TOKEN_SECRET).as_deref(),
            Some(&b"local-admin-token"[..])
        );
        assert_eq!(
            secret(IP_SALT_SECRET).as_deref(),
            Some(&b"local-ip-salt"[..])
        );
        assert_eq!(secret("no-such-secret"), None);
    }
}
