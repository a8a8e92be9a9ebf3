//! One client request → its response, plus the work that must wait until the
//! response has been sent (the scan event, a background cache refresh, an
//! import's writes and streamed results).

use crate::admin::{Answer, Import};
use crate::client::header;
use crate::config::settings_for;
use crate::lookup::{resolve, Link, LinkKey, Refresh};
use crate::responses::{for_decision, html, json, redirect, text, Rejection};
use crate::scan_log::ScanRecord;
use crate::{client, images};
use fastly::http::StatusCode;
use fastly::{Request, Response};
use qr_edge_core::decide::{self, decide, Decision, Outcome};
use qr_edge_core::freshness::CacheState;
use qr_edge_core::pages;
use qr_edge_core::path::{
    method_class, normalize_host, route, short_url, MethodClass, Route, View,
};
use qr_edge_core::qr::ImageFormat;
use qr_edge_core::targeting::ScanFacts;

/// A response and what follows it.
pub struct Handled {
    /// Sent first.
    pub response: Response,
    /// The scan event to write once the response is out.
    pub scan: Option<ScanRecord>,
    /// A stale cache entry to refresh once the response is out.
    pub refresh: Option<(Refresh, LinkKey)>,
    /// An admin import: `response` is only its head, and the import writes
    /// its links and streams their results as the body (SPEC §8).
    pub import: Option<Import>,
}

impl From<Answer> for Handled {
    fn from(answer: Answer) -> Self {
        match answer {
            Answer::Send(response) => response.into(),
            Answer::Stream(head, import) => Handled {
                import: Some(import),
                ..head.into()
            },
        }
    }
}

impl From<Response> for Handled {
    fn from(response: Response) -> Self {
        Handled {
            response,
            scan: None,
            refresh: None,
            import: None,
        }
    }
}

impl From<Rejection> for Handled {
    fn from(rejection: Rejection) -> Self {
        rejection.into_response().into()
    }
}

/// Routes one request.
pub fn handle(req: Request) -> Handled {
    // The Host header is checked before anything reads the URL: the runtime
    // builds the URL from it, and the `fastly` crate panics on one it cannot parse.
    let host = match normalize_host(header(&req, "host").as_deref()) {
        Ok(host) => host,
        Err(e) => return Rejection::BadHost(e).into(),
    };
    let route = route(req.get_path());
    if route == Route::NotFound {
        return Rejection::UnknownPath.into();
    }
    if route == Route::Admin {
        return crate::admin::handle(req).into();
    }
    let head = match method_class(req.get_method_str()) {
        MethodClass::Get => false,
        MethodClass::Head => true,
        MethodClass::Options => return Rejection::Options.into(),
        MethodClass::Other => {
            return Rejection::MethodNotAllowed(req.get_method_str().to_owned()).into()
        }
    };
    let mut handled = public(req, host, route);
    if head {
        handled.response.set_body(Vec::new());
    }
    handled
}

/// The public routes, once the method is known to be `GET` or `HEAD`.
fn public(req: Request, host: String, route: Route) -> Handled {
    if route == Route::Health {
        return json(
            StatusCode::OK,
            pages::health_json(env!("CARGO_PKG_VERSION")),
        )
        .into();
    }
    let settings = match settings_for(&host) {
        Ok(settings) => settings,
        Err(_) => return settings_unknown(&req, host, route),
    };
    if !settings.serves(&host) {
        return Rejection::MisdirectedHost(host).into();
    }
    match route {
        Route::Robots => text(StatusCode::OK, pages::ROBOTS_TXT).into(),
        Route::Home => match &settings.home_url {
            Some(url) => redirect(302, url).into(),
            None => html(StatusCode::OK, pages::home()).into(),
        },
        Route::Link { slug, view } => link(
            req,
            LinkKey {
                domain: host,
                slug,
                settings,
            },
            view,
        ),
        Route::Health | Route::Admin | Route::NotFound => Rejection::UnknownPath.into(),
    }
}

/// `/{slug}`, `/{slug}+`, `/{slug}.svg`, `/{slug}.png`.
fn link(req: Request, key: LinkKey, view: View) -> Handled {
    if let Some(format) = image_format(view) {
        let (response, refresh) = images::respond(&req, &key, format);
        return Handled {
            refresh: refresh.map(|r| (r, key)),
            ..response.into()
        };
    }
    let started_ms = client::unix_millis();
    let resolution = resolve(&key);
    let refresh = resolution.refresh.map(|r| (r, key.clone()));
    let visitor = client::visitor(&req);
    let query = req.get_query_str().unwrap_or("");
    let decision = match &resolution.link {
        Some(Link::Found(record)) => decide(
            record,
            &ScanFacts {
                slug: &key.slug,
                now: started_ms,
                query,
                visitor: &visitor,
            },
        ),
        Some(Link::NotFound) => decide::not_found(key.settings.not_found_url.as_deref()),
        None => decide::unavailable(key.settings.fallback_url.as_deref()),
    };
    let (response, decision) = match view {
        View::Preview => preview(&key, decision, resolution.cache),
        _ => (for_decision(&decision, resolution.cache), decision),
    };
    let scan = ScanRecord {
        started_ms,
        decision,
        cache: resolution.cache,
        source: resolution.source,
        ip_mode: key.settings.ip_mode,
        ..ScanRecord::of(&req, key.domain.clone(), key.slug.clone(), visitor)
    };
    Handled {
        response,
        scan: Some(scan),
        refresh,
        import: None,
    }
}

/// The domain's settings cannot be read (SPEC §5, failing closed): nothing
/// that depends on them is answered from guesses. Redirects, images and pages
/// are 503 with `Retry-After`; a scan is still logged, without an IP (the
/// domain's `ip_mode` is unknown).
fn settings_unknown(req: &Request, host: String, route: Route) -> Handled {
    let decision = decide::unavailable(None);
    let response = for_decision(&decision, CacheState::None);
    let scan = match route {
        Route::Link {
            slug,
            view: View::Redirect | View::Preview,
        } => Some(ScanRecord {
            decision,
            ..ScanRecord::of(req, host, slug, client::visitor(req))
        }),
        _ => None,
    };
    Handled {
        scan,
        ..response.into()
    }
}

fn image_format(view: View) -> Option<ImageFormat> {
    match view {
        View::Svg => Some(ImageFormat::Svg),
        View::Png => Some(ImageFormat::Png),
        View::Redirect | View::Preview => None,
    }
}

/// `/{slug}+`: a page naming where the link leads, for a link that exists;
/// an unknown or unresolvable link is answered as a scan of it would be.
fn preview(key: &LinkKey, decision: Decision, cache: CacheState) -> (Response, Decision) {
    if matches!(
        decision.outcome,
        Outcome::NotFound | Outcome::Unavailable | Outcome::Fallback
    ) {
        return (for_decision(&decision, cache), decision);
    }
    let page = pages::preview(
        &short_url(&key.domain, &key.slug),
        decision.location.as_deref(),
    );
    let shown = Decision {
        outcome: Outcome::Preview,
        status: 200,
        location: None,
        rule: decision.rule,
    };
    (html(StatusCode::OK, page), shown)
}
