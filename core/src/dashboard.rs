//! The dashboard's pure parts (docs/dashboard.md): which file a `/_admin/…`
//! path names, the content hash that names each asset version, and the
//! headers every dashboard response carries (a strict Content-Security-Policy,
//! no referrer, no sniffing, and caching by content hash). The files
//! themselves are embedded by the edge shell (`src/dashboard.rs`), which is
//! the only code that touches them: a scan never does.

/// The dashboard's path prefix.
pub const DASHBOARD_PREFIX: &str = "/_admin";

/// A file of the dashboard, as its path names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DashboardFile {
    /// `/_admin`: redirected to `/_admin/` (relative asset URLs need the slash).
    Bare,
    /// `/_admin/` (and `/_admin/index.html`): the page.
    Index,
    /// `/_admin/app.js`
    Script,
    /// `/_admin/app.css`
    Style,
    /// Anything else under `/_admin/`: 404.
    Unknown,
}

/// The file a path under [`DASHBOARD_PREFIX`] names; `None` for any other path.
pub fn dashboard_file(raw_path: &str) -> Option<DashboardFile> {
    let rest = raw_path.strip_prefix(DASHBOARD_PREFIX)?;
    Some(match rest {
        "" => DashboardFile::Bare,
        "/" | "/index.html" => DashboardFile::Index,
        "/app.js" => DashboardFile::Script,
        "/app.css" => DashboardFile::Style,
        _ if rest.starts_with('/') => DashboardFile::Unknown,
        _ => return None,
    })
}

/// The policy of every dashboard response: only this origin's own script,
/// style and API; images also from `blob:` (the QR preview is fetched with the
/// token, then shown from a blob; `data:` names the empty favicon, so the
/// browser asks the short domain's `/favicon.ico` for nothing); no inline script or style, no plugins, no
/// framing, no `<base>`, forms only to this origin.
pub const CONTENT_SECURITY_POLICY: &str =
    "default-src 'none'; script-src 'self'; style-src 'self'; \
img-src 'self' blob: data:; connect-src 'self'; base-uri 'none'; form-action 'self'; \
frame-ancestors 'none'; object-src 'none'";

/// `Cache-Control` of the page: always revalidated, so a new deployment's
/// page (naming new asset versions) is seen at once.
pub const PAGE_CACHE_CONTROL: &str = "no-cache";
/// `Cache-Control` of an asset requested by its current content hash: that URL never changes content.
pub const IMMUTABLE_CACHE_CONTROL: &str = "public, max-age=31536000, immutable";

/// The headers every dashboard response carries, besides `Content-Type` and `Cache-Control`.
pub const SECURITY_HEADERS: [(&str, &str); 4] = [
    ("content-security-policy", CONTENT_SECURITY_POLICY),
    ("referrer-policy", "no-referrer"),
    ("x-content-type-options", "nosniff"),
    ("x-frame-options", "DENY"),
];

/// FNV-1a (64-bit) of `bytes`, usable in constants: the content hash that
/// versions an embedded asset at compile time, at no cost per request.
pub const fn content_hash(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut i = 0;
    while i < bytes.len() {
        hash ^= bytes[i] as u64;
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        i += 1;
    }
    hash
}

/// The version of an asset in its URL: its content hash, 16 hex digits.
pub fn version(hash: u64) -> String {
    format!("{hash:016x}")
}

/// The `Cache-Control` of an asset: immutable for a year when the query's `v`
/// is its current version, else revalidated (an old or missing version must
/// not be pinned in a cache under a URL that now serves other content).
pub fn asset_cache_control(query: Option<&str>, current: &str) -> &'static str {
    let asked = url::form_urlencoded::parse(query.unwrap_or("").as_bytes())
        .find(|(name, _)| name == "v")
        .map(|(_, value)| value.into_owned());
    if asked.as_deref() == Some(current) {
        IMMUTABLE_CACHE_CONTROL
    } else {
        PAGE_CACHE_CONTROL
    }
}

/// The page with its asset references pinned to the current versions:
/// `{{app.js}}` and `{{app.css}}` become `app.js?v=…` and `app.css?v=…`.
pub fn index_page(template: &str, script_version: &str, style_version: &str) -> String {
    template
        .replace("{{app.js}}", &format!("app.js?v={script_version}"))
        .replace("{{app.css}}", &format!("app.css?v={style_version}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_name_files_and_only_under_the_prefix() {
        assert_eq!(dashboard_file("/_admin"), Some(DashboardFile::Bare));
        assert_eq!(dashboard_file("/_admin/"), Some(DashboardFile::Index));
        assert_eq!(
            dashboard_file("/_admin/index.html"),
            Some(DashboardFile::Index)
        );
        assert_eq!(
            dashboard_file("/_admin/app.js"),
            Some(DashboardFile::Script)
        );
        assert_eq!(
            dashboard_file("/_admin/app.css"),
            Some(DashboardFile::Style)
        );
        assert_eq!(
            dashboard_file("/_admin/../secrets"),
            Some(DashboardFile::Unknown)
        );
        assert_eq!(dashboard_file("/_adminx"), None);
        assert_eq!(dashboard_file("/admin/"), None);
        assert_eq!(dashboard_file("/spring26"), None);
    }

    #[test]
    fn the_policy_allows_no_inline_code_and_no_framing() {
        for directive in [
            "default-src 'none'",
            "script-src 'self'",
            "style-src 'self'",
            "frame-ancestors 'none'",
            "object-src 'none'",
            "base-uri 'none'",
        ] {
            assert!(CONTENT_SECURITY_POLICY.contains(directive), "{directive}");
        }
        assert!(!CONTENT_SECURITY_POLICY.contains("unsafe"));
    }

    #[test]
    fn assets_are_immutable_only_at_their_current_version() {
        let v = version(content_hash(b"console.log(1)"));
        assert_eq!(v.len(), 16);
        assert_eq!(
            asset_cache_control(Some(&format!("v={v}")), &v),
            IMMUTABLE_CACHE_CONTROL
        );
        assert_eq!(asset_cache_control(Some("v=0"), &v), PAGE_CACHE_CONTROL);
        assert_eq!(asset_cache_control(None, &v), PAGE_CACHE_CONTROL);
        assert_ne!(content_hash(b"a"), content_hash(b"b"));
        // FNV-1a's published test vector.
        assert_eq!(content_hash(b"a"), 0xaf63_dc4c_8601_ec8c);
    }

    #[test]
    fn the_page_names_the_current_versions() {
        let page = index_page(
            r#"<script src="{{app.js}}"></script><link href="{{app.css}}">"#,
            "1",
            "2",
        );
        assert_eq!(
            page,
            r#"<script src="app.js?v=1"></script><link href="app.css?v=2">"#
        );
    }
}
