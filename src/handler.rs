//! One client request → its response, plus the work that must wait until the
//! response has been sent (the scan event, a background cache refresh, an
//! import's writes and streamed results, an export's lines). Decisions are the core's
//! (`qr_edge_core::answer`); this module reads the request's facts, looks the
//! link up and turns the core's reply plan into a response.

use crate::admin::{Answer, Streamed};
use crate::client::header;
use crate::config::settings_for;
use crate::lookup::{LinkKey, Refresh};
use crate::pieces::resolve_slug;
use crate::responses::{json, reply, Rejection};
use crate::{client, images};
use fastly::http::StatusCode;
use fastly::{Request, Response};
use qr_edge_core::answer::{self, Resolution, ScanRequest};
use qr_edge_core::pages;
use qr_edge_core::path::{method_class, normalize_host, route, MethodClass, Route, View};
use qr_edge_core::qr::ImageFormat;
use qr_edge_core::reply::Reply;
use qr_edge_core::scan_event::ScanEvent;

/// A response and what follows it.
pub struct Handled {
    /// Sent first.
    pub response: Response,
    /// The scan event to write once the response is out.
    pub scan: Option<ScanEvent>,
    /// A stale cache entry to refresh once the response is out.
    pub refresh: Option<Refresh>,
    /// An admin import or export: `response` is only its head, and the body
    /// is streamed after it (docs/admin-api.md).
    pub stream: Option<Streamed>,
}

impl From<Answer> for Handled {
    fn from(answer: Answer) -> Self {
        match answer {
            Answer::Send(response) => response.into(),
            Answer::Stream(head, streamed) => Handled {
                stream: Some(streamed),
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
            stream: None,
        }
    }
}

impl From<Rejection> for Handled {
    fn from(rejection: Rejection) -> Self {
        rejection.into_response().into()
    }
}

impl From<Reply> for Handled {
    fn from(plan: Reply) -> Self {
        reply(plan).into()
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
    if let Route::Dashboard(file) = route {
        return crate::dashboard::handle(&req, file).into();
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
        Route::Robots => Reply::text(pages::ROBOTS_TXT).into(),
        Route::Home => answer::home(&settings).into(),
        Route::AppLink(file) => answer::app_link(&settings, file).into(),
        Route::Link { slug, view } => {
            let key = LinkKey {
                domain: host,
                slug,
                settings,
            };
            match view {
                View::Svg => image(&req, &key, ImageFormat::Svg),
                View::Png => image(&req, &key, ImageFormat::Png),
                View::Redirect | View::Preview => scan(&req, &key, view == View::Preview),
            }
        }
        Route::Health | Route::Admin | Route::Dashboard(_) | Route::NotFound => {
            Rejection::UnknownPath.into()
        }
    }
}

/// `/{slug}.svg` and `/{slug}.png`: the image, and a refresh of a stale entry.
fn image(req: &Request, key: &LinkKey, format: ImageFormat) -> Handled {
    let (response, refresh) = images::respond(req, key, format);
    Handled {
        refresh,
        ..response.into()
    }
}

/// `/{slug}` and `/{slug}+`: look the link up, let the core answer.
fn scan(req: &Request, key: &LinkKey, preview: bool) -> Handled {
    let request = scan_request(req, &key.domain, &key.slug, preview);
    let resolved = resolve_slug(key);
    let (plan, event) = answer::scan(request, resolved.looked(&key.settings));
    Handled {
        scan: Some(event),
        refresh: resolved.resolution.refresh,
        ..reply(plan).into()
    }
}

/// The domain's settings cannot be read (docs/settings.md, failing closed):
/// the core answers 503 without looking anything up; a scan is still logged.
fn settings_unknown(req: &Request, host: String, route: Route) -> Handled {
    let Route::Link {
        slug,
        view: view @ (View::Redirect | View::Preview),
    } = route
    else {
        // Pages and images are not scans: the same 503, no facts read, no scan line.
        return answer::settings_unknown().into();
    };
    let (plan, event) = answer::scan(
        scan_request(req, &host, &slug, view == View::Preview),
        Resolution::SettingsUnknown,
    );
    Handled {
        scan: Some(event),
        ..reply(plan).into()
    }
}

/// The facts of a scan request, read from the client request.
fn scan_request(req: &Request, domain: &str, slug: &str, preview: bool) -> ScanRequest {
    let headers = client::ScanHeaders::read(req);
    ScanRequest {
        id: client::request_id(req),
        method: req.get_method_str().to_owned(),
        started_ms: client::unix_millis(),
        domain: domain.to_owned(),
        slug: slug.to_owned(),
        preview,
        query: req.get_query_str().unwrap_or("").to_owned(),
        visitor: client::visitor(req, &headers),
        referer: headers.referer,
        pop: client::pop(),
    }
}
