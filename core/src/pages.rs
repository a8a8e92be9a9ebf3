//! The few human-facing bodies: home, not found, gone, unavailable, preview,
//! robots.txt and health. Tiny, no external assets, every interpolation escaped.

/// `robots.txt`: short links are not content to index.
pub const ROBOTS_TXT: &str = "User-agent: *\nDisallow: /\n";

/// The `/_health` body.
pub fn health_json(version: &str) -> String {
    serde_json::json!({ "status": "ok", "version": version }).to_string()
}

/// A minimal page with a title and one paragraph (already escaped by the caller where needed).
fn page(title: &str, body_html: &str) -> String {
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><meta name=\"robots\" content=\"noindex\"><title>{title}</title></head><body><h1>{title}</h1>{body_html}</body></html>\n"
    )
}

/// `GET /` without `home_url`.
pub fn home() -> String {
    page("qr-edge", "<p>This domain serves short links.</p>")
}

/// Unknown slug without `not_found_url`.
pub fn not_found() -> String {
    page("Link not found", "<p>This short link does not exist.</p>")
}

/// Disabled link, or expired without `expired_url`.
pub fn gone() -> String {
    page(
        "Link no longer available",
        "<p>This short link has been retired.</p>",
    )
}

/// Nothing resolvable and no `fallback_url`.
pub fn unavailable() -> String {
    page(
        "Temporarily unavailable",
        "<p>Please scan again in a moment.</p>",
    )
}

/// `/{slug}+`: where the link goes, without going there.
pub fn preview(short_url: &str, destination: Option<&str>) -> String {
    let body = match destination {
        Some(dest) => format!(
            "<p><code>{}</code> leads to:</p><p><a href=\"{}\" rel=\"nofollow noopener\">{}</a></p>",
            escape(short_url),
            escape(dest),
            escape(dest)
        ),
        None => format!("<p><code>{}</code> does not lead anywhere right now.</p>", escape(short_url)),
    };
    page("Link preview", &body)
}

/// Request text as it may be echoed in an error message: printable ASCII
/// only, at most `max` characters, so nothing sent can forge a line or a page.
pub fn printable(text: &str, max: usize) -> String {
    text.chars()
        .filter(|c| c.is_ascii_graphic())
        .take(max)
        .collect()
}

/// Escapes text for HTML element content and quoted attributes.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn preview_escapes_the_destination() {
        let html = preview(
            "https://go.example.com/x",
            Some("https://example.com/?a=<script>&b=\"1\""),
        );
        assert!(html.contains("https://example.com/?a=&lt;script&gt;&amp;b=&quot;1&quot;"));
        assert!(!html.contains("<script>"));
    }

    #[test]
    fn echoed_text_is_printable_and_bounded() {
        assert_eq!(printable("BR\r\nEW ä<", 32), "BREW<");
        assert_eq!(printable(&"x".repeat(100), 32).len(), 32);
    }

    #[test]
    fn health_is_json() {
        let v: serde_json::Value = serde_json::from_str(&health_json("0.1.0")).unwrap();
        assert_eq!(v, serde_json::json!({"status":"ok","version":"0.1.0"}));
    }
}
