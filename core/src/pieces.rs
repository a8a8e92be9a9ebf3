//! Piece codes (docs/links.md, "Piece codes"): one record with `pieces` serves
//! `/{slug}-{piece}` for every piece it allows, so a print run of a million
//! individually tracked mail pieces needs one record, not a million.
//!
//! What lives here: which slugs can be piece codes at all ([`piece_code`]),
//! whether a record answers a piece ([`Pieces::allows`]), the `{piece}`
//! placeholder ([`substitute`], [`LinkRecord::for_piece`]) and the check that
//! keeps the placeholder out of a destination's scheme and host
//! ([`check_placeholder`]): whatever the piece, the allow-list holds.

use crate::destination::{validate_destination, DestinationError, DestinationPolicy};
use crate::path::is_valid_slug;
use crate::record::LinkRecord;
use serde::{Deserialize, Serialize};
use std::borrow::Cow;

/// The placeholder a destination may contain, replaced by the piece.
pub const PLACEHOLDER: &str = "{piece}";
/// Longest piece any record may allow (`pieces.max_length` is 1 to this).
pub const MAX_PIECE_LEN: usize = 32;

/// A record's `pieces`: the record also answers `/{slug}-{piece}` for every
/// piece of 1 to `max_length` characters of `a-z0-9`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pieces {
    /// Longest piece answered, 1 to [`MAX_PIECE_LEN`].
    pub max_length: u32,
}

impl Pieces {
    /// Whether a piece (lower case, as [`piece_code`] hands it out) is one of this record's.
    pub fn allows(&self, piece: &str) -> bool {
        !piece.is_empty()
            && piece.len() <= self.max_length as usize
            && piece
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    }
}

/// A slug read as a piece code: the base slug (before the last `-`) and the piece.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PieceCode<'a> {
    /// The slug of the record that may answer.
    pub base: &'a str,
    /// The piece, lower case.
    pub piece: &'a str,
}

/// The piece code a (lower-case, valid) slug can be, if any: the part after
/// the last `-` must be a piece some record could allow (1 to 32 characters
/// of `a-z0-9`) and the part before it a valid slug. `None` means no record
/// can answer it, so the base is not looked up at all.
pub fn piece_code(slug: &str) -> Option<PieceCode<'_>> {
    let (base, piece) = slug.rsplit_once('-')?;
    let fits = !piece.is_empty()
        && piece.len() <= MAX_PIECE_LEN
        && piece
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    (fits && is_valid_slug(base)).then_some(PieceCode { base, piece })
}

/// `url` with every `{piece}` replaced by `piece`; borrowed when it has none.
pub fn substitute<'u>(url: &'u str, piece: &str) -> Cow<'u, str> {
    if url.contains(PLACEHOLDER) {
        Cow::Owned(url.replace(PLACEHOLDER, piece))
    } else {
        Cow::Borrowed(url)
    }
}

impl LinkRecord {
    /// The record as it answers `piece`: `{piece}` replaced in every
    /// destination (`url`, `expired_url`, `rules[].url`, `split[].url`). The
    /// base slug itself answers with `piece` empty. Borrowed when no
    /// destination has the placeholder, so a plain record is never copied.
    pub fn for_piece(&self, piece: &str) -> Cow<'_, LinkRecord> {
        let has = |url: &str| url.contains(PLACEHOLDER);
        let any = has(&self.url)
            || self.expired_url.as_deref().is_some_and(has)
            || self.rules.iter().any(|r| has(&r.url))
            || self.split.iter().any(|s| has(&s.url));
        if !any {
            return Cow::Borrowed(self);
        }
        let mut record = self.clone();
        let replace = |url: &mut String| {
            if let Cow::Owned(new) = substitute(url, piece) {
                *url = new;
            }
        };
        replace(&mut record.url);
        if let Some(url) = record.expired_url.as_mut() {
            replace(url);
        }
        record.rules.iter_mut().for_each(|r| replace(&mut r.url));
        record.split.iter_mut().for_each(|s| replace(&mut s.url));
        Cow::Owned(record)
    }
}

/// Checks a destination that contains `{piece}`, for a record whose pieces
/// are at most `max_length` characters long (1 for a record without
/// `pieces`, which a reader keeps and answers with the placeholder removed).
///
/// The placeholder may appear only after the host: in the path, the query or
/// the fragment. That is checked by substituting nothing and a sample piece
/// of `max_length` characters: both must parse to the same scheme,
/// user-info, host and port, so no piece can change where the link leads.
/// The URL as written and both substitutions must then pass the destination
/// policy (allow-list, loops, length), so the longest piece cannot push the
/// URL past 2048 bytes either.
pub fn check_placeholder(
    field: &str,
    url: &str,
    max_length: usize,
    policy: &DestinationPolicy<'_>,
) -> Result<(), DestinationError> {
    let sample: String = "z9".chars().cycle().take(max_length.max(1)).collect();
    let with_sample = substitute(url, &sample);
    let with_nothing = substitute(url, "");
    let authority = |text: &str| {
        url::Url::parse(text).ok().map(|u| {
            (
                u.scheme().to_owned(),
                u.username().to_owned(),
                u.password().map(str::to_owned),
                u.host_str().map(str::to_owned),
                u.port(),
            )
        })
    };
    match (authority(&with_sample), authority(&with_nothing)) {
        // Not a URL whatever the piece: the policy says why.
        (None, None) => {}
        (Some(a), Some(b)) if a == b => {}
        _ => {
            return Err(DestinationError {
                field: field.to_owned(),
                problem: "may contain {piece} only after the host (in the path, query or fragment), never in the scheme or host".to_owned(),
            })
        }
    }
    // The URL as written too: what a record stores obeys the policy as it
    // stands (at most 2048 bytes, the same host), whatever replaces the placeholder.
    validate_destination(field, url, policy)?;
    validate_destination(field, &with_sample, policy)?;
    validate_destination(field, &with_nothing, policy)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::destination::HostPattern;
    use crate::record::{parse_record, Strictness};

    const ANY: DestinationPolicy<'static> = DestinationPolicy::open("go.example.com");

    #[test]
    fn a_piece_code_is_split_at_the_last_dash() {
        assert_eq!(
            piece_code("spring26-a7k2"),
            Some(PieceCode {
                base: "spring26",
                piece: "a7k2"
            })
        );
        assert_eq!(
            piece_code("mail-run-2026-x1"),
            Some(PieceCode {
                base: "mail-run-2026",
                piece: "x1"
            })
        );
        assert_eq!(piece_code("spring26"), None, "no dash, no piece");
        let longest = format!("run-{}", "a".repeat(32));
        assert_eq!(piece_code(&longest).map(|c| c.piece.len()), Some(32));
        let too_long = format!("run-{}", "a".repeat(33));
        assert_eq!(
            piece_code(&too_long),
            None,
            "no record allows a piece over 32 characters"
        );
        assert_eq!(piece_code("run--x"), None, "the base run- is no slug");
    }

    #[test]
    fn a_record_allows_pieces_up_to_its_max_length() {
        let pieces = Pieces { max_length: 4 };
        assert!(pieces.allows("a") && pieces.allows("a7k2"));
        assert!(!pieces.allows("a7k2z"));
        assert!(!pieces.allows(""));
        assert!(!pieces.allows("A7"), "pieces arrive lower-cased");
    }

    #[test]
    fn for_piece_replaces_the_placeholder_in_every_destination() {
        let record = parse_record(
            br#"{"url":"https://example.com/p/{piece}","pieces":{"max_length":8},
                 "expired_url":"https://example.com/ended?piece={piece}",
                 "rules":[{"when":{"os":["ios"]},"url":"https://example.com/ios#{piece}"}],
                 "split":[{"url":"https://example.com/a/{piece}/{piece}","weight":1}]}"#,
            Strictness::Admin,
            &ANY,
        )
        .unwrap();
        let answered = record.for_piece("a7");
        assert_eq!(answered.url, "https://example.com/p/a7");
        assert_eq!(
            answered.expired_url.as_deref(),
            Some("https://example.com/ended?piece=a7")
        );
        assert_eq!(answered.rules[0].url, "https://example.com/ios#a7");
        assert_eq!(answered.split[0].url, "https://example.com/a/a7/a7");
        assert_eq!(record.for_piece("").url, "https://example.com/p/");
        let plain = LinkRecord::to("https://example.com/x");
        assert!(matches!(plain.for_piece("a7"), Cow::Borrowed(_)));
    }

    #[test]
    fn the_placeholder_may_not_touch_scheme_or_host() {
        for url in [
            "https://{piece}.example.com/",
            "https://example.com{piece}/",
            "https://example.{piece}/",
            "https://example.com:{piece}/",
            "https://example.com:44{piece}/",
            "https://{piece}@example.com/",
            "{piece}https://example.com/",
            "http{piece}://example.com/",
            "https://{piece}/",
            "https://example.com{piece}",
        ] {
            let err = check_placeholder("url", url, 8, &ANY).unwrap_err();
            assert_eq!(err.field, "url", "{url}");
            assert!(
                err.problem.contains("only after the host"),
                "{url}: {err:?}"
            );
        }
        for url in [
            "https://example.com/{piece}",
            "https://example.com/x?p={piece}&q={piece}",
            "https://example.com/#{piece}",
        ] {
            let r = check_placeholder("url", url, 32, &ANY);
            assert!(r.is_ok(), "{url}: {r:?}");
        }
    }

    #[test]
    fn the_allow_list_and_the_length_hold_for_every_piece() {
        let patterns = [HostPattern::parse("*.example.com").unwrap()];
        let policy = DestinationPolicy {
            allowed_hosts: Some(&patterns),
            ..ANY
        };
        assert!(check_placeholder("url", "https://www.example.com/{piece}", 32, &policy).is_ok());
        assert!(check_placeholder("url", "https://evil.test/{piece}", 32, &policy).is_err());
        // 2040 bytes with the placeholder: fine for 1-character pieces, not for 32.
        let long = format!("https://www.example.com/{}{PLACEHOLDER}", "a".repeat(2009));
        assert_eq!(long.len(), 2040);
        assert!(check_placeholder("url", &long, 1, &policy).is_ok());
        let err = check_placeholder("url", &long, 32, &policy).unwrap_err();
        assert!(err.problem.contains("2048"), "{err:?}");
        // 2050 bytes as written, 2044 with a 1-character piece: still refused as stored.
        let written = format!("https://www.example.com/{}{PLACEHOLDER}", "a".repeat(2019));
        assert_eq!(written.len(), 2050);
        assert!(check_placeholder("url", &written, 1, &policy).is_err());
    }
}
