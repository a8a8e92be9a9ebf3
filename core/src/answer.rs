//! The whole answer to a request for a link, as one pure function of the
//! request's facts and what the lookup found: the reply plan to send and, for
//! a scan, the scan event to log. The edge shell reads the facts, performs the
//! lookup, and sends what comes back; it decides nothing.

use crate::clock::UnixMillis;
use crate::conditional::TagSet;
use crate::decide::{self, decide, Decision, Outcome};
use crate::freshness::{CacheState, Source};
use crate::pages;
use crate::path::{short_url, AppLinkFile};
use crate::privacy::IpMode;
use crate::qr::{content_type, etag, render, short_url_text, ImageFormat, QrError, QrOptions};
use crate::record::LinkRecord;
use crate::reply::Reply;
use crate::scan_event::ScanEvent;
use crate::settings::Settings;
use crate::targeting::ScanFacts;
use crate::visitor::Visitor;

/// `Cache-Control` of images: the code of a short URL never changes (the
/// destination behind it may, but the code does not encode the destination).
pub const IMAGE_CACHE_CONTROL: &str = "public, max-age=86400";

/// The facts of one scan request (`/{slug}` or `/{slug}+`).
#[derive(Debug, Clone)]
pub struct ScanRequest {
    /// Request id.
    pub id: String,
    /// Request method.
    pub method: String,
    /// Arrival, Unix milliseconds (the time rules and windows see).
    pub started_ms: UnixMillis,
    /// Host, lower case.
    pub domain: String,
    /// Slug, lower case.
    pub slug: String,
    /// `/{slug}+`: show where the link leads instead of going there.
    pub preview: bool,
    /// The raw query string, without `?`.
    pub query: String,
    /// Who scans.
    pub visitor: Visitor,
    /// `Referer`.
    pub referer: Option<String>,
    /// Fastly POP.
    pub pop: Option<String>,
}

/// What a lookup of the link found.
#[derive(Debug, Clone, Copy)]
pub enum Found<'a> {
    /// The record.
    Record(&'a LinkRecord),
    /// No source knows the slug.
    NotFound,
    /// No source answered and nothing usable was cached.
    Unavailable,
}

/// Where the answer stands before deciding.
#[derive(Debug, Clone, Copy)]
pub enum Resolution<'a> {
    /// The domain's settings cannot be read: nothing was looked up, and
    /// nothing is answered from guesses (fail closed: 503, no IP logged).
    SettingsUnknown,
    /// The settings are known and the link was looked up.
    Looked {
        /// The domain's settings.
        settings: &'a Settings,
        /// What the lookup found.
        found: Found<'a>,
        /// How the cache took part.
        cache: CacheState,
        /// Which source answered.
        source: Source,
    },
}

/// The answer to a scan: the reply to send and the scan event to log after it.
pub fn scan(request: ScanRequest, resolution: Resolution<'_>) -> (Reply, ScanEvent) {
    let (decision, cache, source, ip_mode) = match resolution {
        Resolution::SettingsUnknown => (
            decide::unavailable(None),
            CacheState::None,
            Source::None,
            IpMode::None,
        ),
        Resolution::Looked {
            settings,
            found,
            cache,
            source,
        } => {
            let decision = match found {
                Found::Record(record) => decide(
                    record,
                    &ScanFacts {
                        slug: &request.slug,
                        now: request.started_ms,
                        query: &request.query,
                        visitor: &request.visitor,
                    },
                ),
                Found::NotFound => decide::not_found(settings.not_found_url.as_deref()),
                Found::Unavailable => decide::unavailable(settings.fallback_url.as_deref()),
            };
            (decision, cache, source, settings.ip_mode)
        }
    };
    let (reply, decision) = if request.preview && leads_somewhere(&decision) {
        preview(&request, decision, cache)
    } else {
        (Reply::for_decision(&decision, cache), decision)
    };
    let event = ScanEvent {
        started_ms: request.started_ms,
        id: request.id,
        domain: request.domain,
        slug: request.slug,
        decision,
        cache,
        source,
        method: request.method,
        visitor: request.visitor,
        referer: request.referer,
        ip_mode,
        pop: request.pop,
    };
    (reply, event)
}

/// Whether the decision is about a link that exists (a preview shows where
/// it leads); an unknown or unresolvable link is answered as a scan of it.
fn leads_somewhere(decision: &Decision) -> bool {
    !matches!(
        decision.outcome,
        Outcome::NotFound | Outcome::Unavailable | Outcome::Fallback
    )
}

/// `/{slug}+`: a page naming where the link leads, logged as a preview.
fn preview(request: &ScanRequest, decision: Decision, cache: CacheState) -> (Reply, Decision) {
    let page = pages::preview(
        &short_url(&request.domain, &request.slug),
        decision.location.as_deref(),
    );
    let shown = Decision {
        outcome: Outcome::Preview,
        status: 200,
        location: None,
        rule: decision.rule,
    };
    (
        Reply {
            cache,
            ..Reply::page(200, page)
        },
        shown,
    )
}

/// Any route but a scan's, when the domain's settings cannot be read: the
/// same 503 a scan gets (fail closed), with no scan event.
pub fn settings_unknown() -> Reply {
    Reply::for_decision(&decide::unavailable(None), CacheState::None)
}

/// `/.well-known/apple-app-site-association`, `/.well-known/assetlinks.json`:
/// the domain's setting as JSON, 200 and never a redirect (Apple and Google
/// follow none there); 404 when the setting is unset or was refused as the
/// wrong type (docs/settings.md: reported, not served).
pub fn app_link(settings: &Settings, file: AppLinkFile) -> Reply {
    let document = match file {
        AppLinkFile::AppleAppSiteAssociation => &settings.apple_app_site_association,
        AppLinkFile::AssetLinks => &settings.assetlinks,
    };
    match document {
        Some(document) => Reply::json(document.to_string()),
        None => Reply::page(404, pages::not_found()),
    }
}

/// `/`: the domain's `home_url`, else a short page.
pub fn home(settings: &Settings) -> Reply {
    match &settings.home_url {
        Some(url) => Reply::redirect(302, url),
        None => Reply::page(200, pages::home()),
    }
}

/// The facts of one image request (`/{slug}.svg`, `/{slug}.png`) whose
/// parameters were already accepted.
#[derive(Debug, Clone)]
pub struct ImageRequest<'a> {
    /// Host, lower case.
    pub domain: &'a str,
    /// Slug, lower case.
    pub slug: &'a str,
    /// SVG or PNG.
    pub format: ImageFormat,
    /// The accepted image parameters.
    pub options: &'a QrOptions,
    /// Every `If-None-Match` header value.
    pub if_none_match: &'a [String],
    /// `HEAD`: everything but the rendering.
    pub head: bool,
}

/// The answer to an image request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImageReply {
    /// 200 with the image. `draw` says whether its bytes are needed (not for
    /// `HEAD`): [`draw`] makes them, or the cache keeps them under [`image_cache_key`].
    Image {
        /// The image's `ETag`: one per short URL, format and options.
        etag: String,
        /// `Content-Type`.
        content_type: &'static str,
        /// Whether to send the bytes.
        draw: bool,
        /// `x-qr-cache` (of the link's lookup).
        cache: CacheState,
    },
    /// 304: the client's `If-None-Match` already names the image (RFC 9110
    /// §15.4.5: a 304 repeats `ETag` and `Cache-Control` and has no body).
    NotModified {
        /// The image's `ETag`.
        etag: String,
        /// `x-qr-cache`.
        cache: CacheState,
    },
    /// A page instead of an image (unknown or unresolvable link).
    Page(Reply),
}

/// The image of a link.
///
/// - Any link that exists gets its code, including a disabled or expired one:
///   the owner may re-enable or extend it, and the printed code stays the same.
/// - Unknown slug → 404 (not `not_found_url`); nothing resolvable → 503 with
///   `Retry-After` (not `fallback_url`: a redirect is no image).
/// - Images are not scans: no scan event.
pub fn image(request: &ImageRequest<'_>, found: Found<'_>, cache: CacheState) -> ImageReply {
    match found {
        Found::Record(_) => {}
        Found::NotFound => {
            return ImageReply::Page(Reply::for_decision(&decide::not_found(None), cache))
        }
        Found::Unavailable => {
            return ImageReply::Page(Reply::for_decision(&decide::unavailable(None), cache))
        }
    }
    let tag = image_etag(request);
    let not_modified = request
        .if_none_match
        .iter()
        .any(|header| TagSet::parse(header).matches_weak(&tag));
    if not_modified {
        return ImageReply::NotModified { etag: tag, cache };
    }
    ImageReply::Image {
        etag: tag,
        content_type: content_type(request.format),
        draw: !request.head,
        cache,
    }
}

fn image_etag(request: &ImageRequest<'_>) -> String {
    etag(
        &short_url_text(request.domain, request.slug),
        request.format,
        request.options,
    )
}

/// The image's bytes: the code of `https://{DOMAIN}/{SLUG}` drawn with the
/// request's options. Fails only when the short URL does not fit a QR symbol
/// (cannot happen for valid hosts and slugs).
pub fn draw(request: &ImageRequest<'_>) -> Result<Vec<u8>, QrError> {
    render(
        &short_url_text(request.domain, request.slug),
        request.format,
        request.options,
    )
}

/// Where a drawn image is kept in the edge cache: one entry per link and
/// `ETag` (renderer version, short URL, format and options), so a repeated
/// request is not drawn again.
pub fn image_cache_key(request: &ImageRequest<'_>, etag: &str) -> String {
    format!(
        "qr/{}/{}/{}",
        request.domain,
        request.slug,
        etag.trim_matches('"')
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decide::RuleRef;
    use crate::record::{parse_record, DestinationPolicy, Strictness};
    use crate::reply::Body;
    use crate::visitor::Geo;

    const NOW: UnixMillis = 1_772_323_200_000;

    fn request(preview: bool) -> ScanRequest {
        ScanRequest {
            id: "id".into(),
            method: "GET".into(),
            started_ms: NOW,
            domain: "go.example.com".into(),
            slug: "spring26".into(),
            preview,
            query: String::new(),
            visitor: Visitor::classify(
                Some("192.0.2.7".parse().unwrap()),
                None,
                None,
                crate::visitor::RequestFacts::default(),
                Geo::default(),
                None,
            ),
            referer: None,
            pop: None,
        }
    }

    fn record(json: &str) -> LinkRecord {
        parse_record(
            json.as_bytes(),
            Strictness::Reader,
            &DestinationPolicy::open("go.example.com"),
        )
        .unwrap()
    }

    fn looked<'a>(settings: &'a Settings, found: Found<'a>) -> Resolution<'a> {
        Resolution::Looked {
            settings,
            found,
            cache: CacheState::Miss,
            source: Source::Kv,
        }
    }

    #[test]
    fn a_scan_of_a_record_redirects_and_logs_the_decision() {
        let settings = Settings::default();
        let link = record(r#"{"url":"https://example.com/spring"}"#);
        let (reply, event) = scan(request(false), looked(&settings, Found::Record(&link)));
        assert_eq!(
            (reply.status, reply.location.as_deref(), reply.cache),
            (302, Some("https://example.com/spring"), CacheState::Miss)
        );
        assert_eq!(event.decision.outcome, Outcome::Redirect);
        assert_eq!(event.decision.rule, RuleRef::Default);
        assert_eq!(
            (event.source, event.ip_mode),
            (Source::Kv, IpMode::Truncate)
        );
    }

    #[test]
    fn a_preview_shows_the_destination_and_logs_a_preview() {
        let settings = Settings::default();
        let link = record(r#"{"url":"https://example.com/spring"}"#);
        let (reply, event) = scan(request(true), looked(&settings, Found::Record(&link)));
        assert_eq!((reply.status, &reply.location), (200, &None));
        let Body::Html(page) = &reply.body else {
            panic!("a page")
        };
        assert!(page.contains("https://go.example.com/spring26"));
        assert!(page.contains("https://example.com/spring"));
        assert_eq!(
            (event.decision.outcome, event.decision.status),
            (Outcome::Preview, 200)
        );
    }

    #[test]
    fn a_preview_of_an_unknown_link_is_answered_as_its_scan() {
        let settings = Settings {
            not_found_url: Some("https://example.com/404".into()),
            ..Settings::default()
        };
        let (reply, event) = scan(request(true), looked(&settings, Found::NotFound));
        assert_eq!(
            (reply.status, reply.location.as_deref()),
            (302, Some("https://example.com/404"))
        );
        assert_eq!(event.decision.outcome, Outcome::NotFound);
    }

    #[test]
    fn unknown_settings_fail_closed_without_an_ip() {
        let (reply, event) = scan(request(false), Resolution::SettingsUnknown);
        assert_eq!((reply.status, reply.retry_after), (503, Some(30)));
        assert_eq!(
            reply,
            settings_unknown(),
            "pages and images answer the same"
        );
        assert_eq!(event.decision.outcome, Outcome::Unavailable);
        assert_eq!(event.ip_mode, IpMode::None);
        assert!(event.to_line(0, None).contains(r#""ip":null"#));
    }

    #[test]
    fn unresolvable_links_go_to_the_fallback_url() {
        let settings = Settings {
            fallback_url: Some("https://example.com/sorry".into()),
            ..Settings::default()
        };
        let (reply, event) = scan(request(false), looked(&settings, Found::Unavailable));
        assert_eq!(reply.location.as_deref(), Some("https://example.com/sorry"));
        assert_eq!(event.decision.outcome, Outcome::Fallback);
    }

    #[test]
    fn app_link_files_come_from_the_settings() {
        use crate::path::AppLinkFile::{AppleAppSiteAssociation, AssetLinks};
        let unset = Settings::default();
        for file in [AppleAppSiteAssociation, AssetLinks] {
            let reply = app_link(&unset, file);
            assert_eq!((reply.status, reply.location), (404, None), "{file:?}");
        }
        let aasa = serde_json::json!({"applinks": {"details": [{"appIDs": ["T.com.example"], "components": [{"/": "/app/*"}]}]}});
        let assetlinks = serde_json::json!([{"relation": ["delegate_permission/common.handle_all_urls"], "target": {"namespace": "android_app", "package_name": "com.example"}}]);
        let settings = Settings {
            apple_app_site_association: Some(aasa.clone()),
            assetlinks: Some(assetlinks.clone()),
            ..Settings::default()
        };
        let reply = app_link(&settings, AppleAppSiteAssociation);
        assert_eq!((reply.status, reply.location.as_deref()), (200, None));
        let Body::Json(text) = &reply.body else {
            panic!("{:?}", reply.body)
        };
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(text).unwrap(),
            aasa
        );
        let Body::Json(text) = app_link(&settings, AssetLinks).body else {
            panic!("not JSON")
        };
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&text).unwrap(),
            assetlinks
        );
    }

    #[test]
    fn home_redirects_to_home_url_or_shows_a_page() {
        assert_eq!(home(&Settings::default()).body, Body::Html(pages::home()));
        let settings = Settings {
            home_url: Some("https://example.com/".into()),
            ..Settings::default()
        };
        assert_eq!(
            home(&settings).location.as_deref(),
            Some("https://example.com/")
        );
    }

    #[test]
    fn images_are_drawn_for_links_that_exist_and_revalidated_by_etag() {
        let options = QrOptions::from_query("").unwrap();
        let link = record(r#"{"url":"https://example.com/","status":"disabled"}"#);
        let mut req = ImageRequest {
            domain: "go.example.com",
            slug: "spring26",
            format: ImageFormat::Svg,
            options: &options,
            if_none_match: &[],
            head: false,
        };
        let ImageReply::Image {
            etag, draw: true, ..
        } = image(&req, Found::Record(&link), CacheState::Hit)
        else {
            panic!("a disabled link still has its code")
        };
        let svg = draw(&req).unwrap();
        assert!(svg.starts_with(b"<svg") || svg.starts_with(b"<?xml"));
        assert_eq!(
            image_cache_key(&req, &etag),
            format!("qr/go.example.com/spring26/{}", etag.trim_matches('"'))
        );
        req.head = true;
        assert!(matches!(
            image(&req, Found::Record(&link), CacheState::Hit),
            ImageReply::Image { draw: false, .. }
        ));
        let conditions = [etag.clone()];
        req.if_none_match = &conditions;
        assert_eq!(
            image(&req, Found::Record(&link), CacheState::Hit),
            ImageReply::NotModified {
                etag,
                cache: CacheState::Hit
            }
        );
        let ImageReply::Page(missing) = image(&req, Found::NotFound, CacheState::Miss) else {
            panic!("a page")
        };
        assert_eq!((missing.status, missing.location), (404, None));
        let ImageReply::Page(down) = image(&req, Found::Unavailable, CacheState::None) else {
            panic!("a page")
        };
        assert_eq!(down.status, 503);
    }
}
