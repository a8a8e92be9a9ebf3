//! What of a visitor's IP address reaches the scan log (setting `ip_mode`, docs/settings.md, docs/scan-events.md),
//! and the scan event's `visitor`: a keyed hash that counts daily unique visitors without keeping an IP.

use crate::clock::UnixMillis;
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

/// Tag that starts every `visitor` message: it separates these hashes from the
/// `hash` mode's (a message that is an address's text), which share the key.
const VISITOR_TAG: &[u8] = b"qr-edge visitor v1\0";

/// Milliseconds in a UTC day (Unix time has no leap seconds).
const DAY_MS: UnixMillis = 86_400_000;

/// The scan event's `visitor`: the first 16 bytes of HMAC-SHA-256 with the
/// secret `ip_salt` over (UTC day of `at_ms`, client address, user agent), as
/// 32 hex digits. The same client on the same day gets the same value, so
/// reports can count daily unique visitors; the day in the message makes the
/// value change at midnight UTC, so no identifier outlives a day. `None`
/// without a salt (an unkeyed hash of the IPv4 space times the common user
/// agents is reversed in minutes) or without an address (it would identify a
/// user agent, not a visitor). It does not depend on `ip_mode`.
pub fn visitor_hash(
    salt: Option<&[u8]>,
    at_ms: UnixMillis,
    ip: Option<IpAddr>,
    user_agent: Option<&str>,
) -> Option<String> {
    let (key, ip) = (salt?, ip?);
    // Framing: every part has a fixed length or a length prefix, so no two
    // different (day, IP, UA) triples give the same message; "no user agent"
    // and an empty one are told apart by a presence byte.
    let mut message = Vec::with_capacity(VISITOR_TAG.len() + 8 + 17 + 5 + 1024);
    message.extend_from_slice(VISITOR_TAG);
    message.extend_from_slice(&at_ms.div_euclid(DAY_MS).to_be_bytes());
    match ip {
        IpAddr::V4(v4) => {
            message.push(4);
            message.extend_from_slice(&v4.octets());
        }
        IpAddr::V6(v6) => {
            message.push(6);
            message.extend_from_slice(&v6.octets());
        }
    }
    match user_agent {
        None => message.push(0),
        Some(ua) => {
            message.push(1);
            let len = u32::try_from(ua.len()).unwrap_or(u32::MAX);
            message.extend_from_slice(&len.to_be_bytes());
            message.extend_from_slice(ua.as_bytes());
        }
    }
    Some(keyed_hash_hex(key, &message))
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

    const NOON: UnixMillis = 1_772_366_400_000; // 2026-03-01T12:00:00Z
    const UA: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X)";

    fn visitor(at: UnixMillis, addr: &str, ua: Option<&str>) -> String {
        visitor_hash(Some(b"pepper"), at, Some(ip(addr)), ua).unwrap()
    }

    #[test]
    fn visitor_is_the_same_for_one_client_on_one_utc_day() {
        let a = visitor(NOON, "203.0.113.77", Some(UA));
        assert_eq!(a, visitor(NOON, "203.0.113.77", Some(UA)));
        let midnight = NOON - 12 * 3_600_000;
        assert_eq!(a, visitor(midnight, "203.0.113.77", Some(UA)));
        assert_eq!(a, visitor(midnight + DAY_MS - 1, "203.0.113.77", Some(UA)));
        assert_eq!(a.len(), 32);
        assert!(a.bytes().all(|b| b.is_ascii_hexdigit()));
    }

    #[test]
    fn visitor_changes_with_the_day_the_address_the_agent_and_the_salt() {
        let a = visitor(NOON, "203.0.113.77", Some(UA));
        let midnight = NOON - 12 * 3_600_000;
        let others = [
            visitor(midnight - 1, "203.0.113.77", Some(UA)),
            visitor(NOON + DAY_MS, "203.0.113.77", Some(UA)),
            visitor(NOON, "203.0.113.78", Some(UA)),
            visitor(NOON, "::ffff:203.0.113.77", Some(UA)),
            visitor(NOON, "203.0.113.77", Some("Mozilla/5.0 (Android 14)")),
            visitor(NOON, "203.0.113.77", Some("")),
            visitor(NOON, "203.0.113.77", None),
            visitor_hash(Some(b"salt"), NOON, Some(ip("203.0.113.77")), Some(UA)).unwrap(),
        ];
        for (i, other) in others.iter().enumerate() {
            assert_ne!(&a, other, "case {i}");
        }
    }

    #[test]
    fn visitor_is_not_the_ip_mode_hash() {
        // Same key, same address: the tag keeps the two hashes apart, so a
        // `visitor` cannot be joined to an `ip` of hash mode.
        let addr = ip("203.0.113.77");
        let hashed = ip_for_log(addr, IpMode::Hash, Some(b"pepper")).unwrap();
        assert_ne!(visitor(NOON, "203.0.113.77", None), hashed);
    }

    #[test]
    fn visitor_needs_a_salt_and_an_address() {
        assert_eq!(
            visitor_hash(None, NOON, Some(ip("203.0.113.77")), Some(UA)),
            None
        );
        assert_eq!(visitor_hash(Some(b"pepper"), NOON, None, Some(UA)), None);
    }

    #[test]
    fn visitor_does_not_contain_the_address() {
        for addr in ["203.0.113.77", "2001:db8:aaaa:bbbb::1", "127.0.0.2"] {
            let v = visitor(NOON, addr, Some(UA));
            assert!(!v.contains(addr), "{v} contains {addr}");
            let octets: String = match ip(addr) {
                IpAddr::V4(v4) => crate::lower_hex(&v4.octets()),
                IpAddr::V6(v6) => crate::lower_hex(&v6.octets()),
            };
            assert!(!v.contains(&octets), "{v} contains {addr} as hex");
        }
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
