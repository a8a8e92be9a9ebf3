//! Request line and `Host` → route (docs/routes.md). Pure and total: every input maps
//! to a route, and anything that is not a valid slug path is `NotFound`
//! before any store is touched.

use crate::dashboard::{dashboard_file, DashboardFile};

/// Longest slug (docs/routes.md).
pub const MAX_SLUG_LEN: usize = 64;
/// Longest host name we serve (DNS limit).
pub const MAX_HOST_LEN: usize = 253;
/// The admin API's path prefix (docs/admin-api.md).
pub const ADMIN_PREFIX: &str = "/_api/v1";

/// What a slug path asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    /// `/{slug}`: the redirect.
    Redirect,
    /// `/{slug}+`: a page naming the destination.
    Preview,
    /// `/{slug}.svg`
    Svg,
    /// `/{slug}.png`
    Png,
}

/// A request path, classified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// `/_health`
    Health,
    /// `/robots.txt`
    Robots,
    /// `/`
    Home,
    /// `/_api/v1` and below: handed to the admin API as sent.
    Admin,
    /// `/_admin` and below: the dashboard (`crate::dashboard`).
    Dashboard(DashboardFile),
    /// `/.well-known/apple-app-site-association` or `/.well-known/assetlinks.json`.
    AppLink(AppLinkFile),
    /// A slug route, the slug lower-cased.
    Link { slug: String, view: View },
    /// Anything else: 404 without touching a store.
    NotFound,
}

/// The app-link files a domain serves from its settings (docs/routes.md), so
/// that a short link can open the owner's app.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppLinkFile {
    /// `/.well-known/apple-app-site-association` (setting `apple_app_site_association`).
    AppleAppSiteAssociation,
    /// `/.well-known/assetlinks.json` (setting `assetlinks`).
    AssetLinks,
}

impl AppLinkFile {
    /// The path the platform fetches.
    pub const fn path(self) -> &'static str {
        match self {
            AppLinkFile::AppleAppSiteAssociation => "/.well-known/apple-app-site-association",
            AppLinkFile::AssetLinks => "/.well-known/assetlinks.json",
        }
    }
}

/// How a method relates to the public routes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MethodClass {
    /// `GET`
    Get,
    /// `HEAD`: answered like `GET`, without a body.
    Head,
    /// `OPTIONS`: 204 with `Allow`.
    Options,
    /// Anything else: 405 with `Allow`.
    Other,
}

/// The `Allow` header value of every public route.
pub const ALLOW_PUBLIC: &str = "GET, HEAD";

/// Classifies a method name (methods are case-sensitive, RFC 9110 §9.1).
pub fn method_class(method: &str) -> MethodClass {
    match method {
        "GET" => MethodClass::Get,
        "HEAD" => MethodClass::Head,
        "OPTIONS" => MethodClass::Options,
        _ => MethodClass::Other,
    }
}

/// Classifies a raw request path (without the query string), matched as sent.
pub fn route(raw_path: &str) -> Route {
    if raw_path == ADMIN_PREFIX || raw_path.starts_with("/_api/v1/") {
        return Route::Admin;
    }
    if let Some(file) = dashboard_file(raw_path) {
        return Route::Dashboard(file);
    }
    // Matched exactly as Apple and Google fetch them: no other spelling is
    // asked for, and none needs to reach the slug rules below.
    for file in [
        AppLinkFile::AppleAppSiteAssociation,
        AppLinkFile::AssetLinks,
    ] {
        if raw_path == file.path() {
            return Route::AppLink(file);
        }
    }
    // Longest public path: "/" + 64-char slug + ".svg" + "/"; anything longer is not ours.
    if raw_path.len() > MAX_SLUG_LEN + 6 || !raw_path.starts_with('/') {
        return Route::NotFound;
    }
    let lower = raw_path.to_ascii_lowercase();
    let path = match lower.strip_suffix('/') {
        Some(rest) if rest.len() > 1 => rest,
        _ => lower.as_str(),
    };
    match path {
        "/" => return Route::Home,
        "/_health" => return Route::Health,
        "/robots.txt" => return Route::Robots,
        _ => {}
    }
    let name = &path[1..];
    let (slug, view) = if let Some(s) = name.strip_suffix(".svg") {
        (s, View::Svg)
    } else if let Some(s) = name.strip_suffix(".png") {
        (s, View::Png)
    } else if let Some(s) = name.strip_suffix('+') {
        (s, View::Preview)
    } else {
        (name, View::Redirect)
    };
    if is_valid_slug(slug) {
        Route::Link {
            slug: slug.to_owned(),
            view,
        }
    } else {
        Route::NotFound
    }
}

/// The short URL of a link: `https://{domain}/{slug}`, lower case as served
/// (QR codes print it upper-cased, `qr::short_url_text`).
pub fn short_url(domain: &str, slug: &str) -> String {
    format!("https://{domain}/{slug}")
}

/// A slug is 1–64 characters of `a-z`, `0-9` and `-`, not starting or ending with `-`.
pub fn is_valid_slug(slug: &str) -> bool {
    let bytes = slug.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= MAX_SLUG_LEN
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
        && bytes.first() != Some(&b'-')
        && bytes.last() != Some(&b'-')
}

/// Why a `Host` header was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostError {
    /// No `Host` header, or an empty one.
    Missing,
    /// Characters or shape no DNS name has.
    Malformed,
}

impl std::fmt::Display for HostError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HostError::Missing => f.write_str("the Host header is missing"),
            HostError::Malformed => f.write_str("the Host header is not a valid host name"),
        }
    }
}

/// Lower-cases a `Host` header and strips its port. Only DNS-shaped names
/// (and IPv4 literals) pass: the result becomes part of a store key.
pub fn normalize_host(raw: Option<&str>) -> Result<String, HostError> {
    let raw = raw
        .map(str::trim)
        .filter(|h| !h.is_empty())
        .ok_or(HostError::Missing)?;
    let name = match raw.rsplit_once(':') {
        Some((name, port))
            if port.bytes().all(|b| b.is_ascii_digit()) && port.parse::<u16>().is_ok() =>
        {
            name
        }
        Some((_, _)) => return Err(HostError::Malformed),
        None => raw,
    };
    let name = name.strip_suffix('.').unwrap_or(name).to_ascii_lowercase();
    // The runtime parses `http://{Host}{path}` with the `url` crate; only hosts
    // that parse there (punycode included) may reach it.
    if is_dns_name(&name) && url::Host::parse(&name).is_ok() {
        Ok(name)
    } else {
        Err(HostError::Malformed)
    }
}

/// Labels of `a-z0-9-` (not starting or ending with `-`), 1–63 bytes each, 253 in all.
pub fn is_dns_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_HOST_LEN
        && name.split('.').all(|label| {
            let b = label.as_bytes();
            !b.is_empty()
                && b.len() <= 63
                && b.iter()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
                && b[0] != b'-'
                && b[b.len() - 1] != b'-'
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link(slug: &str, view: View) -> Route {
        Route::Link {
            slug: slug.into(),
            view,
        }
    }

    #[test]
    fn slug_routes_are_lower_cased_and_ignore_one_trailing_slash() {
        assert_eq!(route("/SPRING26"), link("spring26", View::Redirect));
        assert_eq!(route("/spring26/"), link("spring26", View::Redirect));
        assert_eq!(route("/Spring26.SVG"), link("spring26", View::Svg));
        assert_eq!(route("/spring26.png"), link("spring26", View::Png));
        assert_eq!(route("/spring26+"), link("spring26", View::Preview));
        assert_eq!(
            route(&format!("/{}", "a".repeat(64))),
            link(&"a".repeat(64), View::Redirect)
        );
    }

    #[test]
    fn fixed_routes() {
        assert_eq!(route("/"), Route::Home);
        assert_eq!(route("/_health"), Route::Health);
        assert_eq!(route("/robots.txt"), Route::Robots);
        assert_eq!(route("/_api/v1"), Route::Admin);
        assert_eq!(route("/_api/v1/links/a.com/x"), Route::Admin);
        assert_eq!(route("/_admin/"), Route::Dashboard(DashboardFile::Index));
        assert_eq!(
            route("/_admin/app.js"),
            Route::Dashboard(DashboardFile::Script)
        );
        assert_eq!(route("/_admin"), Route::Dashboard(DashboardFile::Bare));
        assert_eq!(
            route("/.well-known/apple-app-site-association"),
            Route::AppLink(AppLinkFile::AppleAppSiteAssociation)
        );
        assert_eq!(
            route("/.well-known/assetlinks.json"),
            Route::AppLink(AppLinkFile::AssetLinks)
        );
    }

    #[test]
    fn app_link_files_are_matched_exactly() {
        for other in [
            "/.well-known/apple-app-site-association/",
            "/.well-known/Apple-App-Site-Association",
            "/.well-known/assetlinks.json/",
            "/.well-known/ASSETLINKS.JSON",
            "/.well-known/assetlinks",
            "/.well-known/apple-app-site-association.json",
            "/.well-known/",
            "/.well-known",
        ] {
            assert_eq!(route(other), Route::NotFound, "{other}");
        }
    }

    #[test]
    fn everything_else_is_not_found() {
        for bad in [
            "",
            "//",
            "/-a",
            "/a-",
            "/a_b",
            "/a%41",
            "/a/b",
            "/a//",
            "/a b",
            "/ä",
            "/a.jpg",
            "/a++",
            "/.svg",
            "/+",
            "/_api",
            "/_api/v2/x",
            "/a\r\nx",
            "/a\0",
        ] {
            assert_eq!(route(bad), Route::NotFound, "{bad:?}");
        }
        assert_eq!(route(&format!("/{}", "a".repeat(65))), Route::NotFound);
        assert_eq!(route(&format!("/{}", "a".repeat(8000))), Route::NotFound);
    }

    #[test]
    fn hosts_are_lower_cased_without_port() {
        assert_eq!(
            normalize_host(Some("Go.Example.COM:443")).unwrap(),
            "go.example.com"
        );
        assert_eq!(
            normalize_host(Some("go.example.com.")).unwrap(),
            "go.example.com"
        );
        assert_eq!(normalize_host(Some("127.0.0.1:7676")).unwrap(), "127.0.0.1");
    }

    #[test]
    fn hostile_hosts_are_refused() {
        assert_eq!(normalize_host(None), Err(HostError::Missing));
        assert_eq!(normalize_host(Some("  ")), Err(HostError::Missing));
        for bad in [
            "a/b",
            "a..b",
            "-a.com",
            "a.com:",
            "a.com:x",
            "a.com:99999",
            "[::1]:80",
            "exämple.com",
            "a b",
            "a\r\nb",
            "xn--zz.com",
        ] {
            assert_eq!(
                normalize_host(Some(bad)),
                Err(HostError::Malformed),
                "{bad:?}"
            );
        }
        assert!(normalize_host(Some(&"a".repeat(254))).is_err());
    }

    #[test]
    fn methods() {
        assert_eq!(method_class("GET"), MethodClass::Get);
        assert_eq!(method_class("HEAD"), MethodClass::Head);
        assert_eq!(method_class("OPTIONS"), MethodClass::Options);
        assert_eq!(method_class("get"), MethodClass::Other);
        assert_eq!(method_class("POST"), MethodClass::Other);
    }
}
