//! The reply plan of a public route: status, `Location`, body, cache state
//! and `Retry-After`, decided here so the edge shell only renders it to HTTP
//! (`src/responses.rs`) and never chooses a page or a status itself.

use crate::decide::{location_value, Decision};
use crate::freshness::CacheState;
use crate::pages;

/// Seconds a client is asked to wait before scanning again after a 503.
pub const RETRY_AFTER_SECONDS: u32 = 30;

/// `Cache-Control` of redirects and link pages: the destination may change at any time.
pub const NO_SHARED_CACHE: &str = "private, max-age=0";

/// `Cache-Control` of the app-link files (docs/routes.md): the platforms and
/// any shared cache may keep them an hour. Apple's CDN and Google's verifier
/// fetch on their own schedule anyway; an hour bounds how long a cache
/// between them and the owner serves a file after the setting changed.
pub const APP_LINK_CACHE: &str = "public, max-age=3600";

/// What to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// HTTP status.
    pub status: u16,
    /// `Location`, ASCII-serialised, for redirects.
    pub location: Option<String>,
    /// The body.
    pub body: Body,
    /// `x-qr-cache`, when a lookup happened.
    pub cache: CacheState,
    /// `Retry-After` in seconds, for answers that say "try again".
    pub retry_after: Option<u32>,
}

/// A reply body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Body {
    /// No body (redirects).
    Empty,
    /// An HTML page (`text/html; charset=utf-8`).
    Html(String),
    /// Plain text (`text/plain; charset=utf-8`).
    Text(&'static str),
    /// A JSON document (`application/json`): an app-link file.
    Json(String),
}

impl Reply {
    /// A redirect to `url` with `status`.
    pub fn redirect(status: u16, url: &str) -> Reply {
        Reply {
            status,
            location: Some(location_value(url)),
            body: Body::Empty,
            cache: CacheState::None,
            retry_after: None,
        }
    }

    /// A page with `status`.
    pub fn page(status: u16, html: String) -> Reply {
        Reply {
            status,
            location: None,
            body: Body::Html(html),
            cache: CacheState::None,
            retry_after: None,
        }
    }

    /// `200` with plain text.
    pub fn text(text: &'static str) -> Reply {
        Reply {
            body: Body::Text(text),
            ..Reply::page(200, String::new())
        }
    }

    /// `200` with a JSON document (an app-link file, cached per [`APP_LINK_CACHE`]).
    pub fn json(document: String) -> Reply {
        Reply {
            body: Body::Json(document),
            ..Reply::page(200, String::new())
        }
    }

    /// `Cache-Control` of this reply: a served app-link file may be kept
    /// ([`APP_LINK_CACHE`]); anything else may change at any time
    /// ([`NO_SHARED_CACHE`]), a 404 for an unset app-link file included, so
    /// that setting one takes effect at once.
    pub fn cache_control(&self) -> &'static str {
        match (&self.body, self.status) {
            (Body::Json(_), 200) => APP_LINK_CACHE,
            _ => NO_SHARED_CACHE,
        }
    }

    /// The answer to a decision about a slug: its redirect, or the page its
    /// outcome calls for (410 gone, 503 unavailable with `Retry-After`, 404).
    pub fn for_decision(decision: &Decision, cache: CacheState) -> Reply {
        let reply = match (&decision.location, decision.status) {
            (Some(location), status) => Reply {
                location: Some(location.clone()),
                body: Body::Empty,
                ..Reply::page(status, String::new())
            },
            (None, 410) => Reply::page(410, pages::gone()),
            (None, 503) => Reply {
                retry_after: Some(RETRY_AFTER_SECONDS),
                ..Reply::page(503, pages::unavailable())
            },
            (None, _) => Reply::page(404, pages::not_found()),
        };
        Reply { cache, ..reply }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decide::{not_found, unavailable};

    #[test]
    fn decisions_without_a_location_get_their_page() {
        let gone = Reply::for_decision(
            &Decision {
                outcome: crate::decide::Outcome::Disabled,
                status: 410,
                location: None,
                rule: crate::decide::RuleRef::None,
            },
            CacheState::Hit,
        );
        assert_eq!((gone.status, gone.cache), (410, CacheState::Hit));
        assert_eq!(gone.body, Body::Html(pages::gone()));
        let down = Reply::for_decision(&unavailable(None), CacheState::Miss);
        assert_eq!(
            (down.status, down.retry_after),
            (503, Some(RETRY_AFTER_SECONDS))
        );
        assert_eq!(down.body, Body::Html(pages::unavailable()));
        let missing = Reply::for_decision(&not_found(None), CacheState::Miss);
        assert_eq!(missing.body, Body::Html(pages::not_found()));
    }

    #[test]
    fn only_a_served_json_file_may_be_cached() {
        assert_eq!(Reply::json("{}".into()).cache_control(), APP_LINK_CACHE);
        assert_eq!(Reply::text("x").cache_control(), NO_SHARED_CACHE);
        assert_eq!(
            Reply::redirect(302, "https://example.com/").cache_control(),
            NO_SHARED_CACHE
        );
        assert_eq!(
            Reply::page(404, pages::not_found()).cache_control(),
            NO_SHARED_CACHE
        );
    }

    #[test]
    fn redirects_have_no_body_and_an_ascii_location() {
        let r = Reply::for_decision(&not_found(Some("https://example.com/é")), CacheState::Miss);
        assert_eq!(r.status, 302);
        assert_eq!(r.location.as_deref(), Some("https://example.com/%C3%A9"));
        assert_eq!(r.body, Body::Empty);
        assert_eq!(
            Reply::redirect(302, "https://bücher.example/")
                .location
                .as_deref(),
            Some("https://xn--bcher-kva.example/")
        );
    }
}
