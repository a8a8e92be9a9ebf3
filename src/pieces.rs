//! The second lookup of a piece code (docs/links.md, "Piece codes"): when
//! `/{slug}-{piece}` is not a link of its own, the base slug's record may
//! answer it. Only a "not found" of the exact slug costs the extra lookup;
//! a hit, and any other answer, costs what it costs without piece codes.

use crate::lookup::{resolve, Link, LinkKey, Resolution};
use qr_edge_core::answer;
use qr_edge_core::pieces::{piece_code, PieceCode};
use qr_edge_core::settings::Settings;

/// A slug's resolution, and the piece code it answered, if it was one.
pub struct Resolved<'k> {
    /// What to answer with: the exact slug's lookup, or the base slug's.
    pub resolution: Resolution,
    /// `Some` when `resolution` is the base record answering a piece code.
    pub piece: Option<PieceCode<'k>>,
}

impl Resolved<'_> {
    /// What the core's answer takes: the domain's settings and what was found.
    pub fn looked<'a>(&'a self, settings: &'a Settings) -> answer::Resolution<'a> {
        answer::Resolution::Looked {
            settings,
            found: self.resolution.found(),
            cache: self.resolution.cache,
            source: self.resolution.source,
            piece: self.piece,
        }
    }
}

/// Resolves `key`'s slug; if no source knows it and it can be a piece code,
/// resolves the base slug too (cache → KV → origin, cached under its own key
/// like any slug). The base answers only if its record has `pieces` that
/// allow the piece; otherwise the exact slug's "not found" stands. When the
/// base cannot be resolved at all (a source error with nothing cached), the
/// answer is that: it may be a valid piece code, so not a 404.
pub fn resolve_slug(key: &LinkKey) -> Resolved<'_> {
    let exact = resolve(key);
    let plain = |resolution| Resolved {
        resolution,
        piece: None,
    };
    if !matches!(exact.link, Some(Link::NotFound)) {
        return plain(exact);
    }
    // A piece no record can allow (over 32 characters, or a base that is no
    // slug) is a plain 404, with no second lookup.
    let Some(code) = piece_code(&key.slug) else {
        return plain(exact);
    };
    let base_key = LinkKey {
        slug: code.base.to_owned(),
        ..key.clone()
    };
    let base = resolve(&base_key);
    match &base.link {
        Some(Link::Found(record)) if record.pieces.is_some_and(|p| p.allows(code.piece)) => {
            Resolved {
                resolution: base,
                piece: Some(code),
            }
        }
        // No such piece: the exact slug's "not found", with the base's
        // refresh (a stale base record) still run after the response. A
        // "not found" never carries a refresh of its own (no stale window).
        Some(_) => plain(Resolution {
            refresh: base.refresh.or(exact.refresh),
            ..exact
        }),
        None => plain(base),
    }
}
