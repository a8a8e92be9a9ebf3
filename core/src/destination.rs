//! Where a link may send a visitor (docs/links.md, §5): the destination policy that
//! every URL of a record and every URL setting obeys, on every read and write.
//!
//! A destination is an absolute `http`/`https` URL of at most 2048 bytes, with
//! no user-info and no control characters, whose host is allowed by the
//! domain's `destination_hosts` and is none of the hosts the service answers
//! for: the short domain itself, every entry of `domains` and every
//! `*.edgecompute.app` host. The last rule stops redirect loops, including
//! loops across two short domains. The allow-list is the defence against QR
//! phishing: even a leaked admin token or a compromised origin cannot send a
//! printed code to a host the owner has not allowed.

use std::fmt;

/// Longest destination URL in bytes.
pub const MAX_URL_LEN: usize = 2048;
/// Fastly's own service hostnames: a service answers on `{name}.edgecompute.app`.
const PLATFORM_SUFFIX: &str = ".edgecompute.app";

/// What the destination URLs of one short domain may be.
#[derive(Debug, Clone, Copy)]
pub struct DestinationPolicy<'a> {
    /// The short-link domain itself, never a destination.
    pub short_domain: &'a str,
    /// The other hosts the service answers for (setting `domains`), never destinations.
    pub served_hosts: &'a [String],
    /// Allowed destination hosts; `None` when the owner set no allow-list.
    pub allowed_hosts: Option<&'a [HostPattern]>,
}

impl<'a> DestinationPolicy<'a> {
    /// No allow-list and no other served host: only the loop rules apply.
    pub const fn open(short_domain: &'a str) -> Self {
        DestinationPolicy {
            short_domain,
            served_hosts: &[],
            allowed_hosts: None,
        }
    }

    /// Why `host` (lower case, no trailing dot) may not be a destination, if it may not.
    fn refuses(&self, host: &str) -> Option<String> {
        if host == self.short_domain || self.served_hosts.iter().any(|h| h == host) {
            return Some(format!(
                "host {host} is served by this service (a redirect loop)"
            ));
        }
        if host.ends_with(PLATFORM_SUFFIX) {
            return Some(format!(
                "host {host} is a Fastly service host (a possible redirect loop)"
            ));
        }
        match self.allowed_hosts {
            Some(allowed) if !allowed.iter().any(|pattern| pattern.matches(host)) => {
                Some(format!("host {host} is not in destination_hosts"))
            }
            _ => None,
        }
    }
}

/// A destination refused, naming the field (`rules[0].url`) and the problem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DestinationError {
    /// Path of the offending field.
    pub field: String,
    /// What is wrong with it.
    pub problem: String,
}

/// Checks one destination URL against the policy.
pub fn validate_destination(
    field: &str,
    url: &str,
    policy: &DestinationPolicy<'_>,
) -> Result<(), DestinationError> {
    let reject = |problem: &str| {
        Err(DestinationError {
            field: field.to_owned(),
            problem: problem.to_owned(),
        })
    };
    if url.len() > MAX_URL_LEN {
        return reject("is longer than 2048 bytes");
    }
    if url.bytes().any(|b| b <= b' ' || b == 0x7f) {
        return reject("contains spaces or control characters");
    }
    let Ok(parsed) = url::Url::parse(url) else {
        return reject("is not an absolute URL");
    };
    if !matches!(parsed.scheme(), "http" | "https") {
        return reject("must be an http or https URL");
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return reject("must not contain user-info");
    }
    let Some(host) = parsed.host_str().map(str::to_ascii_lowercase) else {
        return reject("has no host");
    };
    let host = host.strip_suffix('.').unwrap_or(&host);
    match policy.refuses(host) {
        Some(problem) => reject(&problem),
        None => Ok(()),
    }
}

/// An allowed destination host: `example.com`, `*.example.com` for its
/// subdomains, or `*` for any host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostPattern {
    /// Any host (`*`): the owner's explicit "no restriction".
    Any,
    /// That host only.
    Exact(String),
    /// Any host strictly below this suffix (stored with its leading dot).
    Subdomains(String),
}

impl HostPattern {
    /// Parses one pattern. Hosts are lower-cased and international names
    /// become punycode, as destinations are compared. A URL, a name with
    /// characters no host has, or a wildcard over a public suffix (`*.com`,
    /// `*.co.uk`: every registrable domain below it) is refused, with the reason.
    pub fn parse(text: &str) -> Result<HostPattern, String> {
        let text = text.trim();
        if text == "*" {
            return Ok(HostPattern::Any);
        }
        match text.strip_prefix("*.") {
            Some(base) => {
                let base = host_name(base).ok_or("is not a host or *.host pattern")?;
                if is_public_suffix(&base) {
                    return Err(format!(
                        "*.{base} would allow every site under the public suffix {base}"
                    ));
                }
                Ok(HostPattern::Subdomains(format!(".{base}")))
            }
            None => host_name(text)
                .map(HostPattern::Exact)
                .ok_or_else(|| "is not a host or *.host pattern".to_owned()),
        }
    }

    /// Whether a lower-case host matches.
    pub fn matches(&self, host: &str) -> bool {
        match self {
            HostPattern::Any => true,
            HostPattern::Exact(name) => host == name,
            HostPattern::Subdomains(suffix) => {
                host.len() > suffix.len() && host.ends_with(suffix.as_str())
            }
        }
    }
}

impl fmt::Display for HostPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HostPattern::Any => f.write_str("*"),
            HostPattern::Exact(name) => f.write_str(name),
            HostPattern::Subdomains(suffix) => write!(f, "*{suffix}"),
        }
    }
}

/// A host name as destinations are compared: lower case, punycode, no
/// trailing dot. `None` for anything that is not a DNS name (a URL, an IP
/// literal, `a;b`).
pub fn host_name(text: &str) -> Option<String> {
    let text = text.strip_suffix('.').unwrap_or(text);
    match url::Host::parse(text).ok()? {
        url::Host::Domain(ascii) if crate::path::is_dns_name(&ascii) => Some(ascii),
        _ => None,
    }
}

/// The Public Suffix List's rules of two or more labels, ASCII, byte-sorted,
/// one per line (`scripts/update-public-suffixes` says where they come from,
/// and why not the `psl` crate: 0.9 MB of wasm).
const PUBLIC_SUFFIX_RULES: &str = include_str!("../data/public_suffixes.txt");

/// Whether a lower-case punycode name is a public suffix by the Public Suffix
/// List: a rule names it, or a wildcard rule (`*.ck`) covers it without an
/// exception (`!www.ck`). The list's implicit `*` rule makes every single
/// label (a TLD) one.
pub fn is_public_suffix(name: &str) -> bool {
    let Some((_, parent)) = name.split_once('.') else {
        return true;
    };
    has_rule(name) || (has_rule(&format!("*.{parent}")) && !has_rule(&format!("!{name}")))
}

/// Binary search of [`PUBLIC_SUFFIX_RULES`] by line.
fn has_rule(rule: &str) -> bool {
    let text = PUBLIC_SUFFIX_RULES.as_bytes();
    let (mut low, mut high) = (0, text.len());
    while low < high {
        let middle = low + (high - low) / 2;
        // The line holding byte `middle`.
        let start = text[..middle]
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |i| i + 1);
        let end = text[middle..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(text.len(), |i| middle + i);
        match text[start..end].cmp(rule.as_bytes()) {
            std::cmp::Ordering::Equal => return true,
            std::cmp::Ordering::Less => low = end + 1,
            std::cmp::Ordering::Greater => high = start,
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(url: &str, policy: &DestinationPolicy<'_>) -> Result<(), String> {
        validate_destination("url", url, policy).map_err(|e| e.problem)
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
        assert_eq!(HostPattern::parse("*"), Ok(HostPattern::Any));
        assert!(HostPattern::Any.matches("anything.test"));
        assert_eq!(
            HostPattern::parse("bücher.example"),
            Ok(HostPattern::Exact("xn--bcher-kva.example".into()))
        );
        assert_eq!(subs.to_string(), "*.example.com");
    }

    #[test]
    fn malformed_patterns_and_public_suffix_wildcards_are_refused() {
        for bad in [
            "https://shop.example.com",
            "a;b",
            "exa mple.com",
            "*.*.com",
            "",
            "127.0.0.1",
            "*.com",
            "*.co.uk",
            "*.github.io",
            "*.test",
        ] {
            assert!(HostPattern::parse(bad).is_err(), "{bad:?} was accepted");
        }
        assert!(HostPattern::parse("*.example.co.uk").is_ok());
        assert!(HostPattern::parse("*.shop.example").is_ok());
        assert!(is_public_suffix("co.uk"));
        assert!(is_public_suffix("github.io"));
        assert!(is_public_suffix("anything.ck"), "wildcard rule *.ck");
        assert!(!is_public_suffix("www.ck"), "exception rule !www.ck");
        assert!(!is_public_suffix("example.com"));
        assert!(!is_public_suffix("example.co.uk"));
    }

    #[test]
    fn every_listed_rule_is_found_by_the_search() {
        for rule in PUBLIC_SUFFIX_RULES.lines() {
            assert!(has_rule(rule), "{rule}");
            assert!(
                !has_rule(&format!("{rule}x"))
                    || PUBLIC_SUFFIX_RULES.lines().any(|r| r == format!("{rule}x"))
            );
        }
        assert!(!has_rule(""));
        assert!(!has_rule("zzzz.zzzz"));
    }

    #[test]
    fn served_hosts_and_platform_hosts_are_never_destinations() {
        let served = ["qr.example.org".to_owned()];
        let policy = DestinationPolicy {
            short_domain: "go.example.com",
            served_hosts: &served,
            allowed_hosts: Some(&[HostPattern::Any]),
        };
        assert!(check("https://example.com/", &policy).is_ok());
        for looped in [
            "https://go.example.com/a",
            "https://GO.EXAMPLE.COM./a",
            "https://qr.example.org/b",
            "https://my-service.edgecompute.app/a",
        ] {
            assert!(check(looped, &policy).is_err(), "{looped}");
        }
    }

    #[test]
    fn the_allow_list_is_checked_when_set() {
        let allowed = [HostPattern::parse("example.com").unwrap()];
        let policy = DestinationPolicy {
            allowed_hosts: Some(&allowed),
            ..DestinationPolicy::open("go.example.com")
        };
        assert!(check("https://example.com/x", &policy).is_ok());
        assert_eq!(
            check("https://evil.test/x", &policy),
            Err("host evil.test is not in destination_hosts".into())
        );
        assert!(check(
            "https://evil.test/x",
            &DestinationPolicy::open("go.example.com")
        )
        .is_ok());
    }
}
