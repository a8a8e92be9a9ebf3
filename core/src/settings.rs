//! Settings (docs/settings.md): two JSON documents in the `settings` config store,
//! `defaults` for every domain and `{domain}` for one domain's overrides,
//! merged field by field. A request reads at most these two keys for its
//! domain, well inside Fastly's 32 config-store lookups per request.
//!
//! What guards something fails closed, never open:
//! - a document that cannot be read for any reason but "absent", or that is
//!   not a JSON object, makes the domain's settings unknown
//!   ([`SettingsUnavailable`]: its redirects, images and admin writes answer 503);
//! - a field of the wrong type or range is reported; an operational field
//!   takes its default, `ip_mode` takes `none`, and a bad `domains` or
//!   `destination_hosts` leaves nothing allowed;
//! - a malformed entry of `domains` or `destination_hosts` (a URL, not a
//!   host, a wildcard over a public suffix) is dropped and reported; the
//!   other entries stand;
//! - URL settings obey the destination policy like every record URL.

use crate::destination::{host_name, validate_destination, DestinationPolicy, HostPattern};
use crate::privacy::IpMode;
use serde_json::{json, Map, Value};
use std::fmt;

/// Config-store key of the document that applies to every domain.
pub const DEFAULTS_KEY: &str = "defaults";
/// Largest value the config store holds (bytes).
pub const MAX_DOCUMENT_BYTES: usize = 8000;
/// Longest TTL accepted: one year.
const MAX_SECONDS: u64 = 31_536_000;

/// Field names of the settings documents.
pub mod fields {
    /// Hosts served (`defaults` only).
    pub const DOMAINS: &str = "domains";
    /// Seconds an entry is fresh.
    pub const CACHE_TTL: &str = "cache_ttl";
    /// Seconds after that it is served while refreshing.
    pub const STALE_WHILE_REVALIDATE: &str = "stale_while_revalidate";
    /// Seconds after `cache_ttl` it may serve on source errors.
    pub const STALE_IF_ERROR: &str = "stale_if_error";
    /// Seconds a "not found" is cached.
    pub const NEGATIVE_TTL: &str = "negative_ttl";
    /// Target for `/`.
    pub const HOME_URL: &str = "home_url";
    /// 302 target for unknown slugs.
    pub const NOT_FOUND_URL: &str = "not_found_url";
    /// 302 target when nothing can be resolved.
    pub const FALLBACK_URL: &str = "fallback_url";
    /// Scan log IPs.
    pub const IP_MODE: &str = "ip_mode";
    /// Allowed destination host patterns.
    pub const DESTINATION_HOSTS: &str = "destination_hosts";
    /// Apple's app-site association document.
    pub const APPLE_APP_SITE_ASSOCIATION: &str = "apple_app_site_association";
    /// Android's Digital Asset Links statements.
    pub const ASSETLINKS: &str = "assetlinks";
    /// Every field, in the order the effective settings show them.
    pub const ALL: [&str; 12] = [
        DOMAINS,
        CACHE_TTL,
        STALE_WHILE_REVALIDATE,
        STALE_IF_ERROR,
        NEGATIVE_TTL,
        HOME_URL,
        NOT_FOUND_URL,
        FALLBACK_URL,
        IP_MODE,
        DESTINATION_HOSTS,
        APPLE_APP_SITE_ASSOCIATION,
        ASSETLINKS,
    ];
}

/// Every setting, resolved for one domain.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// Seconds an entry is fresh.
    pub cache_ttl: u32,
    /// Seconds after `cache_ttl` it is served while one request refreshes it.
    pub stale_while_revalidate: u32,
    /// Seconds after `cache_ttl` it may be served when the source fails.
    pub stale_if_error: u32,
    /// Seconds a "not found" is cached.
    pub negative_ttl: u32,
    /// Hosts served; `None` serves any.
    pub domains: Option<Vec<String>>,
    /// Target for `/`.
    pub home_url: Option<String>,
    /// 302 target for unknown slugs.
    pub not_found_url: Option<String>,
    /// 302 target when nothing can be resolved.
    pub fallback_url: Option<String>,
    /// What of the client IP reaches the scan log.
    pub ip_mode: IpMode,
    /// Allowed destination hosts; `None` when the owner set none (stored
    /// records redirect, admin writes are refused).
    pub destination_hosts: Option<Vec<HostPattern>>,
    /// Served at `/.well-known/apple-app-site-association`.
    pub apple_app_site_association: Option<Value>,
    /// Served at `/.well-known/assetlinks.json`.
    pub assetlinks: Option<Value>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            cache_ttl: 60,
            stale_while_revalidate: 300,
            stale_if_error: 604_800,
            negative_ttl: 30,
            domains: None,
            home_url: None,
            not_found_url: None,
            fallback_url: None,
            ip_mode: IpMode::Truncate,
            destination_hosts: None,
            apple_app_site_association: None,
            assetlinks: None,
        }
    }
}

/// What one config-store read gave: the value, `None` when the key is
/// absent, or why the read failed.
pub type DocumentRead = Result<Option<String>, String>;

/// A domain's settings cannot be known: fail closed (503), never "use the defaults".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettingsUnavailable {
    /// The config-store key that could not be used (`defaults`, `go.example.com`).
    pub key: String,
    /// Why.
    pub reason: String,
}

impl fmt::Display for SettingsUnavailable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "settings document {:?} {}", self.key, self.reason)
    }
}

impl std::error::Error for SettingsUnavailable {}

/// A field that was present but wrong, or an entry dropped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettingProblem {
    /// The document it is in (`defaults` or the domain).
    pub document: String,
    /// The field, with the entry index where one entry is meant (`destination_hosts[2]`).
    pub field: String,
    /// What is wrong, and what was done instead.
    pub problem: String,
}

impl fmt::Display for SettingProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}: {}", self.document, self.field, self.problem)
    }
}

/// Settings as loaded, with every problem found in them.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadedSettings {
    /// The effective settings.
    pub settings: Settings,
    /// Problems, in document order.
    pub problems: Vec<SettingProblem>,
}

impl Settings {
    /// Merges the `defaults` document and the domain's document, field by
    /// field (the domain's wins). Fails when either read failed or is not a
    /// JSON object.
    pub fn load(
        domain: &str,
        defaults: DocumentRead,
        overrides: DocumentRead,
    ) -> Result<LoadedSettings, SettingsUnavailable> {
        let mut docs = Documents {
            defaults: document(DEFAULTS_KEY, defaults)?,
            domain_key: domain,
            domain: document(domain, overrides)?,
            problems: Vec::new(),
        };
        docs.report_unknown_fields();
        let fallback = Settings::default();
        let mut settings = Settings {
            cache_ttl: docs.seconds(fields::CACHE_TTL, fallback.cache_ttl),
            stale_while_revalidate: docs.seconds(
                fields::STALE_WHILE_REVALIDATE,
                fallback.stale_while_revalidate,
            ),
            stale_if_error: docs.seconds(fields::STALE_IF_ERROR, fallback.stale_if_error),
            negative_ttl: docs.seconds(fields::NEGATIVE_TTL, fallback.negative_ttl),
            domains: docs.domains(),
            ip_mode: docs.ip_mode(),
            destination_hosts: docs.destination_hosts(),
            apple_app_site_association: docs.json(
                fields::APPLE_APP_SITE_ASSOCIATION,
                "an object",
                Value::is_object,
            ),
            assetlinks: docs.json(fields::ASSETLINKS, "an array", Value::is_array),
            ..fallback
        };
        // URL settings are destinations: checked once the policy is known.
        let policy_owner = settings.clone();
        let policy = policy_owner.policy(domain);
        settings.home_url = docs.url(fields::HOME_URL, &policy);
        settings.not_found_url = docs.url(fields::NOT_FOUND_URL, &policy);
        settings.fallback_url = docs.url(fields::FALLBACK_URL, &policy);
        Ok(LoadedSettings {
            settings,
            problems: docs.problems,
        })
    }

    /// Whether `host` is served at all.
    pub fn serves(&self, host: &str) -> bool {
        self.domains
            .as_ref()
            .is_none_or(|list| list.iter().any(|d| d == host))
    }

    /// The destination policy for records of `domain`.
    pub fn policy<'a>(&'a self, domain: &'a str) -> DestinationPolicy<'a> {
        DestinationPolicy {
            short_domain: domain,
            served_hosts: self.domains.as_deref().unwrap_or_default(),
            allowed_hosts: self.destination_hosts.as_deref(),
        }
    }

    /// Whether admin writes may be made: only once the owner has set an
    /// allow-list (`["*"]` says "any host" explicitly).
    pub fn allows_writes(&self) -> bool {
        self.destination_hosts.is_some()
    }

    /// The effective settings as JSON, every field shown (null when unset).
    pub fn to_json(&self) -> Value {
        let patterns = |list: &Option<Vec<HostPattern>>| {
            list.as_ref()
                .map(|l| l.iter().map(ToString::to_string).collect::<Vec<_>>())
        };
        json!({
            fields::DOMAINS: self.domains,
            fields::CACHE_TTL: self.cache_ttl,
            fields::STALE_WHILE_REVALIDATE: self.stale_while_revalidate,
            fields::STALE_IF_ERROR: self.stale_if_error,
            fields::NEGATIVE_TTL: self.negative_ttl,
            fields::HOME_URL: self.home_url,
            fields::NOT_FOUND_URL: self.not_found_url,
            fields::FALLBACK_URL: self.fallback_url,
            fields::IP_MODE: self.ip_mode.name(),
            fields::DESTINATION_HOSTS: patterns(&self.destination_hosts),
            fields::APPLE_APP_SITE_ASSOCIATION: self.apple_app_site_association,
            fields::ASSETLINKS: self.assetlinks,
        })
    }
}

impl LoadedSettings {
    /// The body of `GET /_api/v1/settings/{domain}`: whether the domain is
    /// served, whether admin writes are taken, the effective settings and
    /// every problem found in the documents.
    pub fn report(&self, domain: &str) -> Value {
        let problems: Vec<Value> = self
            .problems
            .iter()
            .map(|p| json!({"document": p.document, "field": p.field, "problem": p.problem}))
            .collect();
        json!({
            "domain": domain,
            "served": self.settings.serves(domain),
            "writes_allowed": self.settings.allows_writes(),
            "settings": self.settings.to_json(),
            "problems": problems,
        })
    }
}

/// One document as read: absent, or a JSON object.
fn document(
    key: &str,
    read: DocumentRead,
) -> Result<Option<Map<String, Value>>, SettingsUnavailable> {
    let unavailable = |reason: String| SettingsUnavailable {
        key: key.to_owned(),
        reason,
    };
    let Some(text) = read.map_err(|e| unavailable(format!("could not be read: {e}")))? else {
        return Ok(None);
    };
    match serde_json::from_str::<Value>(&text) {
        Ok(Value::Object(map)) => Ok(Some(map)),
        Ok(_) => Err(unavailable("is not a JSON object".into())),
        Err(e) => Err(unavailable(format!("is not valid JSON: {e}"))),
    }
}

/// Both documents of a domain, and the problems found reading them.
struct Documents<'a> {
    defaults: Option<Map<String, Value>>,
    domain_key: &'a str,
    domain: Option<Map<String, Value>>,
    problems: Vec<SettingProblem>,
}

impl Documents<'_> {
    fn report(&mut self, document: &str, field: String, problem: impl Into<String>) {
        self.problems.push(SettingProblem {
            document: document.to_owned(),
            field,
            problem: problem.into(),
        });
    }

    fn report_unknown_fields(&mut self) {
        let mut unknown = Vec::new();
        for (key, doc) in [
            (DEFAULTS_KEY, &self.defaults),
            (self.domain_key, &self.domain),
        ] {
            for field in doc.iter().flat_map(Map::keys) {
                if !fields::ALL.contains(&field.as_str()) {
                    unknown.push((key.to_owned(), field.clone(), "is not a setting; ignored"));
                } else if field == fields::DOMAINS && key != DEFAULTS_KEY {
                    unknown.push((
                        key.to_owned(),
                        field.clone(),
                        "is read from defaults only; ignored here",
                    ));
                }
            }
        }
        for (document, field, problem) in unknown {
            self.report(&document, field, problem);
        }
    }

    /// The field from the domain's document, else from `defaults`, with the document's key.
    fn get(&self, field: &str) -> Option<(String, Value)> {
        let from =
            |doc: &Option<Map<String, Value>>| doc.as_ref().and_then(|d| d.get(field)).cloned();
        match from(&self.domain) {
            Some(value) if field != fields::DOMAINS => Some((self.domain_key.to_owned(), value)),
            _ => from(&self.defaults).map(|value| (DEFAULTS_KEY.to_owned(), value)),
        }
    }

    /// A field parsed by `parse`; a wrong value is reported and gives `None`.
    fn parsed<T>(
        &mut self,
        field: &str,
        parse: impl FnOnce(&Value) -> Result<T, String>,
    ) -> Option<Result<T, ()>> {
        let (document, value) = self.get(field)?;
        Some(parse(&value).map_err(|problem| self.report(&document, field.to_owned(), problem)))
    }

    fn seconds(&mut self, field: &str, default: u32) -> u32 {
        let parse = |value: &Value| match value.as_u64() {
            Some(n) if n <= MAX_SECONDS => u32::try_from(n).map_err(|e| e.to_string()),
            _ => Err(format!(
                "must be a whole number of seconds from 0 to {MAX_SECONDS}; default {default} used"
            )),
        };
        match self.parsed(field, parse) {
            Some(Ok(n)) => n,
            _ => default,
        }
    }

    fn ip_mode(&mut self) -> IpMode {
        let parse = |value: &Value| {
            value.as_str().and_then(IpMode::parse).ok_or_else(|| {
                "must be one of truncate, hash, full, none; none used (no IP is logged)".to_owned()
            })
        };
        match self.parsed(fields::IP_MODE, parse) {
            None => IpMode::default(),
            Some(Ok(mode)) => mode,
            Some(Err(())) => IpMode::None,
        }
    }

    fn json(&mut self, field: &str, kind: &str, is_kind: fn(&Value) -> bool) -> Option<Value> {
        let parse = |value: &Value| {
            if is_kind(value) {
                Ok(value.clone())
            } else {
                Err(format!("must be {kind}; not served"))
            }
        };
        self.parsed(field, parse)?.ok()
    }

    /// `domains`: a bad list serves nothing; a bad entry is dropped.
    fn domains(&mut self) -> Option<Vec<String>> {
        self.host_list(fields::DOMAINS, |entry| {
            host_name(entry).ok_or_else(|| "is not a host name".to_owned())
        })
    }

    /// `destination_hosts`: a bad list allows nothing; a bad entry is dropped.
    fn destination_hosts(&mut self) -> Option<Vec<HostPattern>> {
        self.host_list(fields::DESTINATION_HOSTS, HostPattern::parse)
    }

    fn host_list<T>(
        &mut self,
        field: &str,
        parse: impl Fn(&str) -> Result<T, String>,
    ) -> Option<Vec<T>> {
        let (document, value) = self.get(field)?;
        let Some(entries) = value.as_array() else {
            self.report(
                &document,
                field.to_owned(),
                "must be an array of strings; nothing is allowed until it is fixed",
            );
            return Some(Vec::new());
        };
        let mut kept = Vec::with_capacity(entries.len());
        for (i, entry) in entries.iter().enumerate() {
            let parsed = entry
                .as_str()
                .ok_or_else(|| "is not a string".to_owned())
                .and_then(&parse);
            match parsed {
                Ok(item) => kept.push(item),
                Err(problem) => self.report(
                    &document,
                    format!("{field}[{i}]"),
                    format!("{entry} {problem}; entry dropped"),
                ),
            }
        }
        Some(kept)
    }

    fn url(&mut self, field: &str, policy: &DestinationPolicy<'_>) -> Option<String> {
        let parse = |value: &Value| {
            let url = value.as_str().ok_or("must be a URL string; unset")?;
            validate_destination(field, url, policy)
                .map(|()| url.to_owned())
                .map_err(|e| format!("{url:?} {}; unset", e.problem))
        };
        self.parsed(field, parse)?.ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOMAIN: &str = "go.example.com";

    fn load(defaults: Value, domain: Value) -> LoadedSettings {
        let doc = |v: Value| Ok((!v.is_null()).then(|| v.to_string()));
        Settings::load(DOMAIN, doc(defaults), doc(domain)).expect("readable")
    }

    fn fields_of(problems: &[SettingProblem]) -> Vec<String> {
        problems
            .iter()
            .map(|p| format!("{}:{}", p.document, p.field))
            .collect()
    }

    #[test]
    fn no_documents_give_every_default() {
        let loaded = load(Value::Null, Value::Null);
        assert_eq!(loaded.settings, Settings::default());
        assert!(loaded.problems.is_empty());
        assert!(loaded.settings.serves("anything.test"));
        assert!(!loaded.settings.allows_writes());
    }

    #[test]
    fn the_domain_document_overrides_field_by_field() {
        let loaded = load(
            json!({"cache_ttl": 10, "negative_ttl": 5, "domains": ["go.example.com"]}),
            json!({"cache_ttl": 3}),
        );
        assert_eq!(loaded.settings.cache_ttl, 3);
        assert_eq!(loaded.settings.negative_ttl, 5);
        assert_eq!(loaded.settings.domains, Some(vec![DOMAIN.to_owned()]));
        assert!(loaded.problems.is_empty());
    }

    #[test]
    fn an_unreadable_or_non_object_document_makes_settings_unknown() {
        let failed = Settings::load(DOMAIN, Ok(None), Err("lookup limit exceeded".into()));
        assert_eq!(failed.unwrap_err().key, DOMAIN);
        for bad in ["[1]", "\"x\"", "{", "null"] {
            let result = Settings::load(DOMAIN, Ok(Some(bad.into())), Ok(None));
            assert_eq!(result.unwrap_err().key, DEFAULTS_KEY, "{bad}");
        }
    }

    #[test]
    fn wrong_operational_fields_take_their_defaults_and_ip_mode_takes_none() {
        let loaded = load(
            json!({"cache_ttl": "soon", "stale_if_error": -1, "negative_ttl": 99999999999u64, "ip_mode": "sometimes", "colour": 1}),
            json!({"domains": ["x.test"]}),
        );
        let s = &loaded.settings;
        assert_eq!(
            (s.cache_ttl, s.stale_if_error, s.negative_ttl),
            (60, 604_800, 30)
        );
        assert_eq!(s.ip_mode, IpMode::None);
        assert_eq!(s.domains, None, "domains is read from defaults only");
        assert_eq!(
            fields_of(&loaded.problems),
            [
                "defaults:colour",
                "go.example.com:domains",
                "defaults:cache_ttl",
                "defaults:stale_if_error",
                "defaults:negative_ttl",
                "defaults:ip_mode"
            ]
        );
    }

    #[test]
    fn malformed_allow_list_entries_are_dropped_and_the_rest_stand() {
        let loaded = load(
            json!({"destination_hosts": ["example.com", "https://shop.example.com", "bücher.example", "a;b", "*.com", "*.co.uk", 7, "*.example.net"]}),
            Value::Null,
        );
        let hosts: Vec<String> = loaded
            .settings
            .destination_hosts
            .unwrap()
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            hosts,
            ["example.com", "xn--bcher-kva.example", "*.example.net"]
        );
        assert_eq!(
            fields_of(&loaded.problems),
            [
                "defaults:destination_hosts[1]",
                "defaults:destination_hosts[3]",
                "defaults:destination_hosts[4]",
                "defaults:destination_hosts[5]",
                "defaults:destination_hosts[6]"
            ]
        );
    }

    #[test]
    fn a_bad_guard_list_allows_nothing() {
        let loaded = load(
            json!({"domains": "go.example.com", "destination_hosts": "example.com"}),
            Value::Null,
        );
        assert_eq!(loaded.settings.domains, Some(Vec::new()));
        assert!(!loaded.settings.serves(DOMAIN));
        assert_eq!(loaded.settings.destination_hosts, Some(Vec::new()));
        assert!(
            loaded.settings.allows_writes(),
            "writes are checked against the (empty) list"
        );
        // The domain's own bad list is not widened back to the defaults' good one.
        let loaded = load(
            json!({"destination_hosts": ["*"]}),
            json!({"destination_hosts": {"x": 1}}),
        );
        assert_eq!(loaded.settings.destination_hosts, Some(Vec::new()));
    }

    #[test]
    fn url_settings_obey_the_destination_policy() {
        let loaded = load(
            json!({
                "domains": ["go.example.com", "qr.example.org"],
                "destination_hosts": ["example.com"],
                "home_url": "https://example.com/",
                "not_found_url": "https://evil.test/",
                "fallback_url": "https://qr.example.org/x"
            }),
            Value::Null,
        );
        let s = &loaded.settings;
        assert_eq!(s.home_url.as_deref(), Some("https://example.com/"));
        assert_eq!(
            (s.not_found_url.as_deref(), s.fallback_url.as_deref()),
            (None, None)
        );
        assert_eq!(
            fields_of(&loaded.problems),
            ["defaults:not_found_url", "defaults:fallback_url"]
        );
        assert!(
            loaded.problems[1].problem.contains("redirect loop"),
            "{}",
            loaded.problems[1]
        );
    }

    #[test]
    fn the_report_names_every_problem() {
        let loaded = load(
            json!({"domains": ["qr.example.org"], "destination_hosts": ["*.com"]}),
            Value::Null,
        );
        let report = loaded.report(DOMAIN);
        assert_eq!(report["served"], false);
        assert_eq!(report["writes_allowed"], true);
        assert_eq!(report["settings"]["destination_hosts"], json!([]));
        assert_eq!(report["problems"][0]["field"], "destination_hosts[0]");
        assert_eq!(report["problems"][0]["document"], "defaults");
    }

    #[test]
    fn effective_settings_show_every_field() {
        let loaded = load(
            json!({"destination_hosts": ["*.example.com", "*"]}),
            Value::Null,
        );
        let shown = loaded.settings.to_json();
        assert_eq!(shown["destination_hosts"], json!(["*.example.com", "*"]));
        assert_eq!(shown["ip_mode"], "truncate");
        assert_eq!(shown["domains"], Value::Null);
        assert_eq!(shown.as_object().unwrap().len(), fields::ALL.len());
    }
}
