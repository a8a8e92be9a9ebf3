//! What of a visitor's IP address reaches the scan log (setting `ip_mode`, docs/settings.md, docs/scan-events.md).

use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::net::IpAddr;

/// How client IPs are written to the scan log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum IpMode {
    /// IPv4 to its /24, IPv6 to its /48: enough for abuse triage, not a person.
    #[default]
    Truncate,
    /// A keyed hash (HMAC-SHA-256 with secret `ip_salt`): joinable, not reversible.
    Hash,
    /// The address as seen.
    Full,
    /// Nothing.
    None,
}

impl IpMode {
    /// Parses a setting value.
    pub fn parse(value: &str) -> Option<IpMode> {
        match value {
            "truncate" => Some(IpMode::Truncate),
            "hash" => Some(IpMode::Hash),
            "full" => Some(IpMode::Full),
            "none" => Some(IpMode::None),
            _ => None,
        }
    }

    /// The setting value naming this mode.
    pub fn name(self) -> &'static str {
        match self {
            IpMode::Truncate => "truncate",
            IpMode::Hash => "hash",
            IpMode::Full => "full",
            IpMode::None => "none",
        }
    }
}

/// The `ip` field of a scan event. In `hash` mode without a salt the address is
/// left out: an unkeyed hash of the IPv4 space is reversed in seconds.
pub fn ip_for_log(ip: IpAddr, mode: IpMode, salt: Option<&[u8]>) -> Option<String> {
    match mode {
        IpMode::Full => Some(ip.to_string()),
        IpMode::None => None,
        IpMode::Truncate => Some(truncate(ip).to_string()),
        IpMode::Hash => salt.map(|key| keyed_hash_hex(key, ip.to_string().as_bytes())),
    }
}

/// IPv4 to /24, IPv6 to /48.
pub fn truncate(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, c, _] = v4.octets();
            IpAddr::from([a, b, c, 0])
        }
        IpAddr::V6(v6) => {
            let mut octets = v6.octets();
            octets[6..].fill(0);
            IpAddr::from(octets)
        }
    }
}

/// Hex of the first 16 bytes of HMAC-SHA-256(key, message).
pub fn keyed_hash_hex(key: &[u8], message: &[u8]) -> String {
    // HMAC accepts keys of any length, so this cannot fail.
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(key) else {
        return String::new();
    };
    mac.update(message);
    let digest = mac.finalize().into_bytes();
    crate::lower_hex(&digest[..16])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn truncate_keeps_the_network_only() {
        assert_eq!(
            ip_for_log(ip("203.0.113.77"), IpMode::Truncate, None).unwrap(),
            "203.0.113.0"
        );
        assert_eq!(
            ip_for_log(ip("2001:db8:aaaa:bbbb::1"), IpMode::Truncate, None).unwrap(),
            "2001:db8:aaaa::"
        );
    }

    #[test]
    fn hash_is_keyed_and_stable() {
        let a = ip_for_log(ip("203.0.113.77"), IpMode::Hash, Some(b"k1")).unwrap();
        assert_eq!(
            a,
            ip_for_log(ip("203.0.113.77"), IpMode::Hash, Some(b"k1")).unwrap()
        );
        assert_ne!(
            a,
            ip_for_log(ip("203.0.113.77"), IpMode::Hash, Some(b"k2")).unwrap()
        );
        assert_eq!(a.len(), 32);
        assert!(!a.contains("203"));
    }

    #[test]
    fn hash_without_salt_logs_nothing() {
        assert_eq!(ip_for_log(ip("203.0.113.77"), IpMode::Hash, None), None);
    }

    #[test]
    fn full_and_none() {
        assert_eq!(
            ip_for_log(ip("203.0.113.77"), IpMode::Full, None).unwrap(),
            "203.0.113.77"
        );
        assert_eq!(ip_for_log(ip("203.0.113.77"), IpMode::None, None), None);
    }
}
