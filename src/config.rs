//! Reads settings (config store `settings`, documents `defaults` and
//! `{domain}`, docs/settings.md) and secrets (secret store `secrets`) for one request.
//!
//! Both stores are optional: without the settings store every setting has its
//! default. A store or document that exists but cannot be read makes the
//! domain's settings unknown, and the caller fails closed (503).

use crate::resources::{SECRETS_STORE, SETTINGS_CONFIG_STORE};
use fastly::config_store::OpenError;
use fastly::handle::config_store::ConfigStoreHandle;
use fastly::SecretStore;
use qr_edge_core::settings::{
    DocumentRead, LoadedSettings, Settings, SettingsUnavailable, DEFAULTS_KEY, MAX_DOCUMENT_BYTES,
};
use std::collections::HashMap;

/// Fastly's limit of config-store lookups in one request ("Compute resource
/// limits"); a lookup past it fails on the platform (never under Viceroy).
pub const MAX_CONFIG_STORE_LOOKUPS: usize = 32;

/// The settings of one domain, its problems reported to the service log.
pub fn settings_for(domain: &str) -> Result<Settings, SettingsUnavailable> {
    SettingsReader::open().settings(domain)
}

/// Reads settings documents for the domains of one request: `defaults` once,
/// each domain's document once, and never more than the platform's lookups.
pub struct SettingsReader {
    store: Result<Option<ConfigStoreHandle>, String>,
    documents: HashMap<String, DocumentRead>,
    lookups: usize,
}

impl SettingsReader {
    /// Opens the `settings` store (absent is fine: every default applies).
    pub fn open() -> SettingsReader {
        let store = match ConfigStoreHandle::open(SETTINGS_CONFIG_STORE) {
            Ok(handle) => Ok(Some(handle)),
            Err(OpenError::ConfigStoreDoesNotExist) => Ok(None),
            Err(e) => Err(format!(
                "the settings config store could not be opened: {e}"
            )),
        };
        SettingsReader {
            store,
            documents: HashMap::new(),
            lookups: 0,
        }
    }

    /// The effective settings of `domain`, with every problem found in them.
    pub fn load(&mut self, domain: &str) -> Result<LoadedSettings, SettingsUnavailable> {
        let defaults = self.document(DEFAULTS_KEY);
        let overrides = self.document(domain);
        let loaded = Settings::load(domain, defaults, overrides);
        match &loaded {
            Ok(loaded) => {
                for problem in &loaded.problems {
                    log::warn!("settings problem for {domain}: {problem}");
                }
            }
            Err(e) => log::error!("settings of {domain} unknown, failing closed: {e}"),
        }
        loaded
    }

    /// The effective settings of `domain`.
    pub fn settings(&mut self, domain: &str) -> Result<Settings, SettingsUnavailable> {
        self.load(domain).map(|loaded| loaded.settings)
    }

    /// One document, read at most once per request.
    fn document(&mut self, key: &str) -> DocumentRead {
        if let Some(read) = self.documents.get(key) {
            return read.clone();
        }
        let read = match &self.store {
            Err(e) => Err(e.clone()),
            Ok(None) => Ok(None),
            Ok(Some(_)) if self.lookups >= MAX_CONFIG_STORE_LOOKUPS => Err(format!(
                "was not read: this request already made Fastly's limit of {MAX_CONFIG_STORE_LOOKUPS} config-store lookups (send fewer domains per request)"
            )),
            Ok(Some(store)) => {
                self.lookups += 1;
                // One lookup with room for the largest value the store holds
                // (the SDK's default buffer would make a second for documents over 256 bytes).
                store
                    .get(key, MAX_DOCUMENT_BYTES)
                    .map_err(|e| format!("lookup failed: {e}"))
            }
        };
        self.documents.insert(key.to_owned(), read.clone());
        read
    }
}

/// A secret's bytes, or `None` when the store or the key is missing.
pub fn secret(name: &str) -> Option<Vec<u8>> {
    let store = SecretStore::open(SECRETS_STORE).ok()?;
    let secret = store.try_get(name).ok().flatten()?;
    // `plaintext()` panics when decryption fails; a request must never panic.
    Some(secret.try_plaintext().ok()?.to_vec())
}

/// The key of the `hash` IP mode and of the scan event's `visitor`, read only when needed.
pub fn ip_salt() -> Option<Vec<u8>> {
    secret(crate::resources::IP_SALT_SECRET)
}

#[cfg(test)]
mod tests {
    //! These run inside Viceroy (`cargo test --target wasm32-wasip1`) against
    //! the stores `fastly.local.toml` declares for local serving.
    use super::*;
    use crate::resources::{ADMIN_TOKEN_SECRET, IP_SALT_SECRET};

    #[test]
    fn settings_come_from_the_two_documents() {
        let settings = settings_for("go.example.com").expect("readable");
        let domains = settings.domains.expect("fastly.local.toml sets domains");
        assert_eq!(
            domains,
            ["go.example.com", "qr.example.org", "links.example.net"]
        );
        assert_eq!(settings.home_url.as_deref(), Some("https://example.com/"));
        assert_eq!(settings.cache_ttl, 60);
        assert_eq!(settings.not_found_url, None);
        let overridden = settings_for("qr.example.org").expect("readable");
        assert_eq!(
            overridden.not_found_url.as_deref(),
            Some("https://example.org/")
        );
    }

    #[test]
    fn each_document_is_read_once_and_the_lookups_stay_within_the_limit() {
        let mut reader = SettingsReader::open();
        for _ in 0..3 {
            reader.settings("go.example.com").expect("readable");
        }
        assert_eq!(reader.lookups, 2, "defaults and go.example.com, once each");
        for i in 0..40 {
            let domain = format!("d{i}.example.com");
            let read = reader.settings(&domain);
            if i < MAX_CONFIG_STORE_LOOKUPS - 2 {
                assert!(read.is_ok(), "{domain}");
            } else {
                let refused =
                    read.expect_err("past the limit the settings are unknown, not defaults");
                assert_eq!(refused.key, domain);
            }
        }
        assert_eq!(reader.lookups, MAX_CONFIG_STORE_LOOKUPS);
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
