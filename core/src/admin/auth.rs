//! The bearer-token check, in constant time. Both tokens are hashed with
//! SHA-256 first and the digests compared with `subtle`, so the time taken
//! depends neither on where the tokens first differ nor on their lengths.

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Whether an `Authorization` header value carries the admin token.
/// The scheme is case-insensitive (RFC 9110 §11.1); an empty token never matches.
pub fn token_matches(authorization: Option<&str>, admin_token: &[u8]) -> bool {
    let presented = authorization.and_then(bearer_token).unwrap_or("");
    let (presented_digest, token_digest) = (
        Sha256::digest(presented.as_bytes()),
        Sha256::digest(admin_token),
    );
    let equal: bool = presented_digest
        .as_slice()
        .ct_eq(token_digest.as_slice())
        .into();
    // The emptiness checks are on public facts (a missing token, a disabled API), not on secret bytes.
    equal && !presented.is_empty() && !admin_token.is_empty()
}

/// The token of `Bearer <token>`.
fn bearer_token(value: &str) -> Option<&str> {
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_right_token_passes_with_any_scheme_case() {
        assert!(token_matches(Some("Bearer t0k3n"), b"t0k3n"));
        assert!(token_matches(Some("bearer t0k3n"), b"t0k3n"));
        assert!(token_matches(Some("  BEARER   t0k3n "), b"t0k3n"));
    }

    #[test]
    fn anything_else_fails() {
        for bad in [
            None,
            Some(""),
            Some("t0k3n"),
            Some("Bearer"),
            Some("Bearer "),
            Some("Basic t0k3n"),
            Some("Bearer t0k3"),
            Some("Bearer t0k3n2"),
            Some("Bearer T0K3N"),
        ] {
            assert!(!token_matches(bad, b"t0k3n"), "{bad:?}");
        }
        assert!(!token_matches(Some("Bearer "), b""));
        assert!(!token_matches(Some("Bearer x"), b""));
    }
}
