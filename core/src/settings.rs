//! Settings (SPEC §5): string values from the `settings` config store, each
//! with a default and an optional `{domain}:{key}` override. A malformed value
//! falls back to its default and is reported, never fatal.

use crate::privacy::IpMode;
use crate::record::validate_destination;
use crate::record::DestinationPolicy;

/// Setting keys, as written in the config store (SPEC §5).
pub mod keys {
    /// Seconds an entry is fresh.
    pub const CACHE_TTL: &str = "cache_ttl";
    /// Seconds after that it is served while refreshing.
    pub const STALE_WHILE_REVALIDATE: &str = "stale_while_revalidate";
    /// Seconds after `cache_ttl` it may serve on source errors.
    pub const STALE_IF_ERROR: &str = "stale_if_error";
    /// Seconds a "not found" is cached.
    pub const NEGATIVE_TTL: &str = "negative_ttl";
    /// Comma-separated hosts served (global only).
    pub const DOMAINS: &str = "domains";
    /// Target for `/`.
    pub const HOME_URL: &str = "home_url";
    /// 302 target for unknown slugs.
    pub const NOT_FOUND_URL: &str = "not_found_url";
    /// 302 target when nothing can be resolved.
    pub const FALLBACK_URL: &str = "fallback_url";
    /// Scan log IPs.
    pub const IP_MODE: &str = "ip_mode";
    /// Comma-separated allowed destination hosts.
    pub const DESTINATION_HOSTS: &str = "destination_hosts";
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
    /// Allowed destination hosts; `None` allows any.
    pub destination_hosts: Option<Vec<HostPattern>>,
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
        }
    }
}

/// A setting that was present but malformed, and so ignored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettingProblem {
    /// The key as stored, e.g. `go.example.com:cache_ttl`.
    pub key: String,
    /// What is wrong with its value.
    pub problem: String,
}

/// Longest TTL accepted: one year.
const MAX_SECONDS: u32 = 31_536_000;

impl Settings {
    /// Resolves every setting for `domain` through `lookup` (a config-store
    /// read), preferring `{domain}:{key}` over `{key}`. `domains` is global.
    pub fn load(
        domain: &str,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> (Settings, Vec<SettingProblem>) {
        let mut reader = Reader {
            domain,
            lookup,
            problems: Vec::new(),
        };
        let defaults = Settings::default();
        let url = |v: &str| parse_url(v, domain);
        let settings = Settings {
            cache_ttl: reader
                .read(keys::CACHE_TTL, parse_seconds)
                .unwrap_or(defaults.cache_ttl),
            stale_while_revalidate: reader
                .read(keys::STALE_WHILE_REVALIDATE, parse_seconds)
                .unwrap_or(defaults.stale_while_revalidate),
            stale_if_error: reader
                .read(keys::STALE_IF_ERROR, parse_seconds)
                .unwrap_or(defaults.stale_if_error),
            negative_ttl: reader
                .read(keys::NEGATIVE_TTL, parse_seconds)
                .unwrap_or(defaults.negative_ttl),
            domains: reader.read_global(keys::DOMAINS, parse_host_list),
            home_url: reader.read(keys::HOME_URL, url),
            not_found_url: reader.read(keys::NOT_FOUND_URL, url),
            fallback_url: reader.read(keys::FALLBACK_URL, url),
            ip_mode: reader
                .read(keys::IP_MODE, parse_ip_mode)
                .unwrap_or_default(),
            destination_hosts: reader.read(keys::DESTINATION_HOSTS, parse_patterns),
        };
        (settings, reader.problems)
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
            allowed_hosts: self.destination_hosts.as_deref(),
        }
    }
}

/// An allowed destination host: `example.com`, or `*.example.com` for its subdomains.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostPattern {
    /// That host only.
    Exact(String),
    /// Any host strictly below this suffix (stored with its leading dot).
    Subdomains(String),
}

impl HostPattern {
    /// Parses one pattern, lower-cased.
    pub fn parse(text: &str) -> Option<HostPattern> {
        let text = text.trim().to_ascii_lowercase();
        match text.strip_prefix("*.") {
            Some(base) if crate::path::is_dns_name(base) => {
                Some(HostPattern::Subdomains(format!(".{base}")))
            }
            None if crate::path::is_dns_name(&text) => Some(HostPattern::Exact(text)),
            _ => None,
        }
    }

    /// Whether a lower-case host matches.
    pub fn matches(&self, host: &str) -> bool {
        match self {
            HostPattern::Exact(name) => host == name,
            HostPattern::Subdomains(suffix) => {
                host.len() > suffix.len() && host.ends_with(suffix.as_str())
            }
        }
    }
}

/// Reads keys through a lookup, collecting problems.
struct Reader<'a, F> {
    domain: &'a str,
    lookup: F,
    problems: Vec<SettingProblem>,
}

impl<F: Fn(&str) -> Option<String>> Reader<'_, F> {
    /// `{domain}:{key}`, else `{key}`, parsed.
    fn read<T>(&mut self, key: &str, parse: impl Fn(&str) -> Result<T, String>) -> Option<T> {
        let scoped = format!("{}:{key}", self.domain);
        match (self.lookup)(&scoped) {
            Some(value) => self.parse(scoped, &value, parse),
            None => self.read_global(key, parse),
        }
    }

    /// `{key}` only, parsed.
    fn read_global<T>(
        &mut self,
        key: &str,
        parse: impl Fn(&str) -> Result<T, String>,
    ) -> Option<T> {
        let value = (self.lookup)(key)?;
        self.parse(key.to_owned(), &value, parse)
    }

    fn parse<T>(
        &mut self,
        key: String,
        value: &str,
        parse: impl Fn(&str) -> Result<T, String>,
    ) -> Option<T> {
        match parse(value.trim()) {
            Ok(parsed) => Some(parsed),
            Err(problem) => {
                self.problems.push(SettingProblem { key, problem });
                None
            }
        }
    }
}

fn parse_seconds(value: &str) -> Result<u32, String> {
    match value.parse::<u32>() {
        Ok(n) if n <= MAX_SECONDS => Ok(n),
        _ => Err(format!(
            "{value:?} is not a whole number of seconds up to {MAX_SECONDS}"
        )),
    }
}

fn parse_url(value: &str, domain: &str) -> Result<String, String> {
    let policy = DestinationPolicy {
        short_domain: domain,
        allowed_hosts: None,
    };
    validate_destination("", value, &policy).map_err(|e| format!("{value:?} {}", e.problem))?;
    Ok(value.to_owned())
}

fn parse_ip_mode(value: &str) -> Result<IpMode, String> {
    IpMode::parse(value)
        .ok_or_else(|| format!("{value:?} is not one of truncate, hash, full, none"))
}

fn parse_patterns(value: &str) -> Result<Vec<HostPattern>, String> {
    split_list(value)
        .map(|item| {
            HostPattern::parse(item)
                .ok_or_else(|| format!("{item:?} is not a host or *.host pattern"))
        })
        .collect()
}

fn parse_host_list(value: &str) -> Result<Vec<String>, String> {
    split_list(value)
        .map(|item| {
            let host = item.to_ascii_lowercase();
            if crate::path::is_dns_name(&host) {
                Ok(host)
            } else {
                Err(format!("{item:?} is not a host name"))
            }
        })
        .collect()
}

fn split_list(value: &str) -> impl Iterator<Item = &str> {
    value
        .split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn load(pairs: &[(&str, &str)]) -> (Settings, Vec<SettingProblem>) {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Settings::load("go.example.com", |key| map.get(key).cloned())
    }

    #[test]
    fn every_key_has_its_default() {
        let (settings, problems) = load(&[]);
        assert_eq!(settings, Settings::default());
        assert!(problems.is_empty());
        assert!(settings.serves("anything.test"));
    }

    #[test]
    fn domain_overrides_win() {
        let (settings, _) = load(&[
            ("cache_ttl", "10"),
            ("go.example.com:cache_ttl", "5"),
            ("other.test:cache_ttl", "1"),
        ]);
        assert_eq!(settings.cache_ttl, 5);
        let (settings, _) = load(&[("cache_ttl", "10")]);
        assert_eq!(settings.cache_ttl, 10);
    }

    #[test]
    fn malformed_values_fall_back_and_are_reported() {
        let (settings, problems) = load(&[
            ("cache_ttl", "soon"),
            ("go.example.com:ip_mode", "sometimes"),
            ("fallback_url", "javascript:alert(1)"),
            ("destination_hosts", "example.com, bad host"),
            ("domains", "go.example.com,not a host"),
        ]);
        assert_eq!(settings.cache_ttl, 60);
        assert_eq!(settings.ip_mode, IpMode::Truncate);
        assert_eq!(settings.fallback_url, None);
        assert_eq!(settings.destination_hosts, None);
        assert_eq!(settings.domains, None);
        let keys: Vec<&str> = problems.iter().map(|p| p.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "cache_ttl",
                "domains",
                "fallback_url",
                "go.example.com:ip_mode",
                "destination_hosts"
            ]
        );
    }

    #[test]
    fn domains_limit_the_hosts_served() {
        let (settings, _) = load(&[("domains", "Go.Example.com, qr.example.org")]);
        assert!(settings.serves("go.example.com"));
        assert!(settings.serves("qr.example.org"));
        assert!(!settings.serves("evil.test"));
    }

    #[test]
    fn host_patterns() {
        let exact = HostPattern::parse("Example.com").unwrap();
        assert!(exact.matches("example.com"));
        assert!(!exact.matches("www.example.com"));
        let subs = HostPattern::parse("*.example.com").unwrap();
        assert!(subs.matches("www.example.com"));
        assert!(subs.matches("a.b.example.com"));
        assert!(!subs.matches("example.com"));
        assert!(!subs.matches("badexample.com"));
        assert_eq!(HostPattern::parse("*"), None);
        assert_eq!(HostPattern::parse("*.*.com"), None);
    }
}
