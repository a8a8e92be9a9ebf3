//! `/_api/v1/…` paths and methods → a typed admin route. Domains and slugs are
//! lower-cased and validated here, so every store key built from a route is safe.

use super::AdminError;
use crate::path::{is_dns_name, is_valid_slug};
use crate::qr::ImageFormat;

/// The admin API's path prefix (docs/admin-api.md).
pub const API_PREFIX: &str = "/_api/v1";

/// One admin request, its path parts validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AdminRoute {
    /// `GET /_api/v1/openapi.json`
    OpenApi,
    /// `GET /_api/v1/links/{domain}/{slug}`
    GetLink { domain: String, slug: String },
    /// `PUT /_api/v1/links/{domain}/{slug}`
    PutLink { domain: String, slug: String },
    /// `DELETE /_api/v1/links/{domain}/{slug}`
    DeleteLink { domain: String, slug: String },
    /// `GET /_api/v1/links/{domain}?prefix=&cursor=&limit=`
    ListLinks { domain: String },
    /// `POST /_api/v1/links/{domain}`: a new random slug.
    CreateLink { domain: String },
    /// `POST /_api/v1/import`
    Import,
    /// `GET /_api/v1/export?domain=&cursor=`
    Export,
    /// `GET /_api/v1/settings/{domain}`: the effective settings and their problems.
    GetSettings { domain: String },
    /// `POST /_api/v1/try/{domain}/{slug}`: the decision a scan by the described visitor would get.
    TryLink { domain: String, slug: String },
    /// `GET /_api/v1/qr/{domain}/{slug}.svg|.png`: the link's code, from any host
    /// the API answers on (the dashboard's preview and download).
    LinkImage {
        domain: String,
        slug: String,
        format: ImageFormat,
    },
}

const ALLOW_LINK: &str = "GET, PUT, DELETE";
const ALLOW_DOMAIN: &str = "GET, POST";
const ALLOW_GET: &str = "GET";
const ALLOW_POST: &str = "POST";

/// Classifies an admin request by its raw path (as sent, without the query) and method.
pub fn parse_route(method: &str, raw_path: &str) -> Result<AdminRoute, AdminError> {
    let rest = raw_path
        .strip_prefix(API_PREFIX)
        .and_then(|r| r.strip_prefix('/'))
        .ok_or(AdminError::UnknownRoute)?;
    let segments: Vec<&str> = rest.split('/').collect();
    match segments.as_slice() {
        ["openapi.json"] => match method {
            "GET" => Ok(AdminRoute::OpenApi),
            _ => Err(AdminError::MethodNotAllowed { allow: ALLOW_GET }),
        },
        ["import"] => match method {
            "POST" => Ok(AdminRoute::Import),
            _ => Err(AdminError::MethodNotAllowed { allow: ALLOW_POST }),
        },
        ["export"] => match method {
            "GET" => Ok(AdminRoute::Export),
            _ => Err(AdminError::MethodNotAllowed { allow: ALLOW_GET }),
        },
        ["settings", domain] => match method {
            "GET" => Ok(AdminRoute::GetSettings {
                domain: parse_domain(domain)?,
            }),
            _ => Err(AdminError::MethodNotAllowed { allow: ALLOW_GET }),
        },
        ["try", domain, slug] => match method {
            "POST" => Ok(AdminRoute::TryLink {
                domain: parse_domain(domain)?,
                slug: parse_slug(slug)?,
            }),
            _ => Err(AdminError::MethodNotAllowed { allow: ALLOW_POST }),
        },
        ["qr", domain, file] => {
            if method != "GET" {
                return Err(AdminError::MethodNotAllowed { allow: ALLOW_GET });
            }
            let lower = file.to_ascii_lowercase();
            let (slug, format) = if let Some(slug) = lower.strip_suffix(".svg") {
                (slug, ImageFormat::Svg)
            } else if let Some(slug) = lower.strip_suffix(".png") {
                (slug, ImageFormat::Png)
            } else {
                return Err(AdminError::UnknownRoute);
            };
            Ok(AdminRoute::LinkImage {
                domain: parse_domain(domain)?,
                slug: parse_slug(slug)?,
                format,
            })
        }
        ["links", domain] => {
            let allowed = matches!(method, "GET" | "POST");
            if !allowed {
                return Err(AdminError::MethodNotAllowed {
                    allow: ALLOW_DOMAIN,
                });
            }
            let domain = parse_domain(domain)?;
            Ok(if method == "GET" {
                AdminRoute::ListLinks { domain }
            } else {
                AdminRoute::CreateLink { domain }
            })
        }
        ["links", domain, slug] => {
            if !matches!(method, "GET" | "PUT" | "DELETE") {
                return Err(AdminError::MethodNotAllowed { allow: ALLOW_LINK });
            }
            let domain = parse_domain(domain)?;
            let slug = parse_slug(slug)?;
            Ok(match method {
                "GET" => AdminRoute::GetLink { domain, slug },
                "PUT" => AdminRoute::PutLink { domain, slug },
                _ => AdminRoute::DeleteLink { domain, slug },
            })
        }
        _ => Err(AdminError::UnknownRoute),
    }
}

/// A short-link domain as the API takes it: a DNS name, lower-cased.
pub fn parse_domain(raw: &str) -> Result<String, AdminError> {
    let domain = raw.to_ascii_lowercase();
    if is_dns_name(&domain) {
        Ok(domain)
    } else {
        Err(AdminError::InvalidDomain(
            "must be a host name such as go.example.com (a-z, 0-9, - and dots)".into(),
        ))
    }
}

/// A slug as the API takes it: lower-cased (slugs are case-insensitive), 1–64 of `a-z0-9-`.
pub fn parse_slug(raw: &str) -> Result<String, AdminError> {
    let slug = raw.to_ascii_lowercase();
    if is_valid_slug(&slug) {
        Ok(slug)
    } else {
        Err(AdminError::InvalidSlug(
            "must be 1-64 characters of a-z, 0-9 and -, not starting or ending with -".into(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link(domain: &str, slug: &str) -> (String, String) {
        (domain.into(), slug.into())
    }

    #[test]
    fn settings_are_read_only() {
        assert_eq!(
            parse_route("GET", "/_api/v1/settings/Go.Example.com"),
            Ok(AdminRoute::GetSettings {
                domain: "go.example.com".into()
            })
        );
        assert_eq!(
            parse_route("PUT", "/_api/v1/settings/go.example.com"),
            Err(AdminError::MethodNotAllowed { allow: ALLOW_GET })
        );
    }

    #[test]
    fn link_routes_by_method() {
        let (domain, slug) = link("go.example.com", "spring26");
        assert_eq!(
            parse_route("GET", "/_api/v1/links/go.example.com/spring26"),
            Ok(AdminRoute::GetLink {
                domain: domain.clone(),
                slug: slug.clone()
            })
        );
        assert_eq!(
            parse_route("PUT", "/_api/v1/links/Go.Example.com/SPRING26"),
            Ok(AdminRoute::PutLink {
                domain: domain.clone(),
                slug: slug.clone()
            })
        );
        assert_eq!(
            parse_route("DELETE", "/_api/v1/links/go.example.com/spring26"),
            Ok(AdminRoute::DeleteLink {
                domain: domain.clone(),
                slug
            })
        );
        assert_eq!(
            parse_route("GET", "/_api/v1/links/go.example.com"),
            Ok(AdminRoute::ListLinks {
                domain: domain.clone()
            })
        );
        assert_eq!(
            parse_route("POST", "/_api/v1/links/go.example.com"),
            Ok(AdminRoute::CreateLink { domain })
        );
        assert_eq!(
            parse_route("POST", "/_api/v1/import"),
            Ok(AdminRoute::Import)
        );
        assert_eq!(
            parse_route("GET", "/_api/v1/openapi.json"),
            Ok(AdminRoute::OpenApi)
        );
        assert_eq!(
            parse_route("GET", "/_api/v1/export"),
            Ok(AdminRoute::Export)
        );
    }

    #[test]
    fn try_and_image_routes_name_domain_slug_and_format() {
        assert_eq!(
            parse_route("POST", "/_api/v1/try/Go.Example.com/SPRING26"),
            Ok(AdminRoute::TryLink {
                domain: "go.example.com".into(),
                slug: "spring26".into()
            })
        );
        assert_eq!(
            parse_route("GET", "/_api/v1/qr/go.example.com/Spring26.SVG"),
            Ok(AdminRoute::LinkImage {
                domain: "go.example.com".into(),
                slug: "spring26".into(),
                format: ImageFormat::Svg
            })
        );
        assert_eq!(
            parse_route("GET", "/_api/v1/qr/go.example.com/spring26.png"),
            Ok(AdminRoute::LinkImage {
                domain: "go.example.com".into(),
                slug: "spring26".into(),
                format: ImageFormat::Png
            })
        );
        assert_eq!(
            parse_route("GET", "/_api/v1/qr/go.example.com/spring26.gif"),
            Err(AdminError::UnknownRoute)
        );
        assert_eq!(
            parse_route("GET", "/_api/v1/qr/go.example.com/-a.svg")
                .unwrap_err()
                .field(),
            Some("slug")
        );
        assert_eq!(
            parse_route("GET", "/_api/v1/try/go.example.com/spring26"),
            Err(AdminError::MethodNotAllowed { allow: "POST" })
        );
        assert_eq!(
            parse_route("POST", "/_api/v1/qr/go.example.com/spring26.svg"),
            Err(AdminError::MethodNotAllowed { allow: "GET" })
        );
    }

    #[test]
    fn other_methods_are_405_with_allow() {
        assert_eq!(
            parse_route("POST", "/_api/v1/links/go.example.com/x"),
            Err(AdminError::MethodNotAllowed {
                allow: "GET, PUT, DELETE"
            })
        );
        assert_eq!(
            parse_route("PUT", "/_api/v1/links/go.example.com"),
            Err(AdminError::MethodNotAllowed { allow: "GET, POST" })
        );
        assert_eq!(
            parse_route("GET", "/_api/v1/import"),
            Err(AdminError::MethodNotAllowed { allow: "POST" })
        );
        assert_eq!(
            parse_route("POST", "/_api/v1/export"),
            Err(AdminError::MethodNotAllowed { allow: "GET" })
        );
        assert_eq!(
            parse_route("DELETE", "/_api/v1/openapi.json"),
            Err(AdminError::MethodNotAllowed { allow: "GET" })
        );
    }

    #[test]
    fn bad_domains_and_slugs_name_the_part() {
        for bad in [
            "/_api/v1/links/go.example.com/a%41",
            "/_api/v1/links/go.example.com/-a",
            "/_api/v1/links/go.example.com/",
        ] {
            assert_eq!(
                parse_route("PUT", bad).unwrap_err().field(),
                Some("slug"),
                "{bad}"
            );
        }
        for bad in [
            "/_api/v1/links/go_example.com/a",
            "/_api/v1/links//a",
            "/_api/v1/links/a..b/x",
            "/_api/v1/links/%2e",
        ] {
            assert_eq!(
                parse_route("GET", bad).unwrap_err().field(),
                Some("domain"),
                "{bad}"
            );
        }
    }

    #[test]
    fn unknown_paths_are_unknown_routes() {
        for bad in [
            "/_api/v1",
            "/_api/v1/",
            "/_api/v1/links",
            "/_api/v1/links/a.com/b/c",
            "/_api/v1/imports",
            "/_api/v2/import",
        ] {
            assert_eq!(
                parse_route("GET", bad),
                Err(AdminError::UnknownRoute),
                "{bad}"
            );
        }
    }
}
