//! docs/qr-images.md: the QR code image routes as the running service sends
//! them: the route serves a code of the request's host and slug with the
//! query's options applied, refuses bad options naming them, never redirects,
//! and caches by a strong ETag. A served image is read back by independent
//! code — the `png` crate, `resvg` for SVG and the `rqrr` QR decoder — and
//! must decode to exactly the upper-case short URL. How a code is drawn for
//! every option (ECC level, size, margin, colours, symbol version, mode) is
//! core's, in core/tests/qr_decode.rs and core/tests/qr_options.rs.

use qr_edge_tests::qr_image::{decode, png_pixels, svg_pixels, Decoded};
use qr_edge_tests::{Reply, Req, Service, ServiceConfig};
use serde_json::json;

const SPRING_URL: &str = "HTTPS://GO.EXAMPLE.COM/SPRING26";
const CACHEABLE: &str = "public, max-age=86400";

const ECCS: [&str; 4] = ["L", "M", "Q", "H"];

/// ISO/IEC 18004:2015 table 7: characters a version 1–10 symbol holds in
/// alphanumeric mode at L, M, Q, H.
const ALPHANUMERIC_CAPACITY: [[usize; 4]; 10] = [
    [25, 20, 16, 10],
    [47, 38, 29, 20],
    [77, 61, 47, 35],
    [114, 90, 67, 50],
    [154, 122, 87, 64],
    [195, 154, 108, 84],
    [224, 178, 125, 93],
    [279, 221, 157, 122],
    [335, 262, 189, 143],
    [395, 311, 221, 174],
];

fn record(path: &str) -> String {
    format!(r#"{{"url":"https://example.com/{path}"}}"#)
}

/// A service with the test links: `spring26` and `a`, a disabled and an
/// expired link, one on a second domain, and one whose KV value is corrupt.
fn service_with(config: ServiceConfig) -> Service {
    let mut config = config
        .link(
            "go.example.com/off",
            r#"{"url":"https://example.com/off","status":"disabled"}"#,
        )
        .link(
            "go.example.com/ended",
            r#"{"url":"https://example.com/old","valid_until":"2026-01-01T00:00:00Z"}"#,
        )
        .link("qr.example.org/hello", &record("hello"))
        .link("go.example.com/broken", "this is not a link record");
    for slug in ["spring26", "a"] {
        config = config.link(&format!("go.example.com/{slug}"), &record(slug));
    }
    Service::start(config)
}

fn service() -> Service {
    service_with(ServiceConfig::new())
}

/// `GET target`, which must answer 200 with an image of `content_type`.
fn image(s: &Service, req: Req, content_type: &str) -> Reply {
    let target = req.target.clone();
    let r = s.send(req);
    assert_eq!(r.status, 200, "{target}: {}", r.text());
    assert_eq!(r.header("content-type"), Some(content_type), "{target}");
    r
}

fn png(s: &Service, target: &str) -> Reply {
    image(s, Req::get(target), "image/png")
}

fn svg(s: &Service, target: &str) -> Reply {
    image(s, Req::get(target), "image/svg+xml")
}

fn hex(colour: &str) -> [u8; 3] {
    let byte = |i: usize| u8::from_str_radix(&colour[i..i + 2], 16).expect("hex colour");
    [byte(0), byte(2), byte(4)]
}

/// The smallest version whose alphanumeric capacity holds `len` characters at `ecc`.
fn minimum_version(len: usize, ecc: &str) -> usize {
    let level = ECCS.iter().position(|e| *e == ecc).expect("ecc level");
    ALPHANUMERIC_CAPACITY
        .iter()
        .position(|row| row[level] >= len)
        .expect("fits in version 10")
        + 1
}

/// Decodes a served PNG after checking it is drawn in whole-pixel modules of
/// only `fg` and `bg`, `size` rounded down to a whole number of modules (never
/// below 1 px per module), for a symbol of `version` with `margin`.
fn decode_png(
    bytes: &[u8],
    version: usize,
    margin: u32,
    size: u32,
    (fg, bg): ([u8; 3], [u8; 3]),
) -> Decoded {
    let image = png_pixels(bytes);
    assert!(
        image.rgb.iter().all(|&c| c == fg || c == bg),
        "every pixel is fg or bg"
    );
    let modules = version * 4 + 17 + 2 * margin as usize;
    let ppm = image.pixels_per_module(modules);
    assert_eq!(
        ppm,
        (size as usize / modules).max(1),
        "{modules} modules in {size} px"
    );
    // A 1-3 px/module image is shown enlarged by any viewer or printer driver.
    let image = if ppm < 4 {
        image.enlarged(4usize.div_ceil(ppm))
    } else {
        image
    };
    let ppm = image.width / modules;
    decode(&image, 4 * ppm, bg)
}

#[test]
fn a_png_decodes_to_the_short_url_with_the_options_applied() {
    let s = service();
    let (ecc, size, margin, fg, bg) = ("H", 1024, 0, "1A237E", "fffde7");
    let target = format!("/spring26.png?ecc={ecc}&size={size}&margin={margin}&fg={fg}&bg={bg}");
    let r = png(&s, &target);
    let version = minimum_version(SPRING_URL.len(), ecc);
    // Colours, margin and size: checked as the image is read.
    let decoded = decode_png(&r.body, version, margin, size, (hex(fg), hex(bg)));
    assert_eq!(decoded.text, SPRING_URL, "{target}");
    assert_eq!(decoded.ecc, ecc, "{target}");
}

#[test]
fn an_svg_decodes_to_the_short_url_with_the_options_applied() {
    let s = service();
    let (ecc, margin, fg, bg) = ("Q", 16, "8b0000", "eeeeee");
    let target = format!("/spring26.svg?ecc={ecc}&margin={margin}&fg={fg}&bg={bg}");
    let r = svg(&s, &target);
    let image = svg_pixels(&r.body, 6);
    assert!(
        image.rgb.iter().all(|&c| c == hex(fg) || c == hex(bg)),
        "{target}: only fg and bg"
    );
    let version = minimum_version(SPRING_URL.len(), ecc);
    assert_eq!(
        image.width,
        (version * 4 + 17 + 2 * margin) * 6,
        "{target}: the margin in the viewBox"
    );
    let decoded = decode(&image, 4 * 6, hex(bg));
    assert_eq!(decoded.text, SPRING_URL, "{target}");
    assert_eq!(decoded.ecc, ecc, "{target}");
}

#[test]
fn the_code_encodes_the_request_host_upper_cased_without_port() {
    let s = service();
    let r = image(
        &s,
        Req::get("/spring26.png").host(Some("GO.Example.COM:8443")),
        "image/png",
    );
    assert_eq!(
        decode_png(&r.body, 2, 4, 512, (hex("000000"), hex("ffffff"))).text,
        SPRING_URL
    );
    let r = image(
        &s,
        Req::get("/Hello.svg").host(Some("qr.example.org")),
        "image/svg+xml",
    );
    assert_eq!(
        decode(&svg_pixels(&r.body, 6), 24, hex("ffffff")).text,
        "HTTPS://QR.EXAMPLE.ORG/HELLO"
    );
}

#[test]
fn each_domain_has_its_own_codes() {
    let s = service();
    let r = s.send(Req::get("/spring26.png").host(Some("qr.example.org")));
    assert_eq!(r.status, 404, "spring26 is a link of go.example.com only");
}

#[test]
fn defaults_are_ecc_m_margin_4_size_512_black_on_white() {
    let s = service();
    let plain = png(&s, "/spring26.png");
    let explicit = png(
        &s,
        "/spring26.png?ecc=M&margin=4&size=512&fg=000000&bg=ffffff",
    );
    assert_eq!(plain.body, explicit.body);
    assert_eq!(plain.header("etag"), explicit.header("etag"));
    let decoded = decode_png(&plain.body, 2, 4, 512, (hex("000000"), hex("ffffff")));
    assert_eq!((decoded.text.as_str(), decoded.ecc), (SPRING_URL, "M"));
    // Parameters that are not image options (a campaign tag, say) change nothing.
    assert_eq!(
        png(&s, "/spring26.png?utm_source=poster&x=").body,
        plain.body
    );
    let plain = svg(&s, "/spring26.svg");
    assert_eq!(
        svg(&s, "/spring26.svg?ecc=m&margin=4&fg=000000&bg=FFFFFF").body,
        plain.body
    );
}

/// (query, parameter the problem must name): one bad value per parameter,
/// a repeated one and a pair of colours that is refused. Which values are bad
/// is core's (core/tests/qr_options.rs); this is the route's wiring.
const BAD_PARAMETERS: [(&str, &str); 7] = [
    ("ecc=X", "ecc"),
    ("margin=17", "margin"),
    ("size=4097", "size"),
    ("fg=zzzzzz", "fg"),
    ("bg=white", "bg"),
    ("ecc=L&ecc=M", "ecc"),
    // Low contrast is refused as fg: many scanners fail on it.
    ("fg=777777&bg=888888", "fg"),
];

#[test]
fn every_bad_parameter_is_a_400_problem_naming_it() {
    let s = service();
    for (query, param) in BAD_PARAMETERS {
        for format in ["png", "svg"] {
            let target = format!("/spring26.{format}?{query}");
            let r = s.get(&target);
            assert_eq!(r.status, 400, "{target}: {}", r.text());
            assert_eq!(
                r.header("content-type"),
                Some("application/problem+json"),
                "{target}"
            );
            assert_ne!(
                r.header("cache-control"),
                Some(CACHEABLE),
                "{target}: a refusal is not cached"
            );
            let problem = r.json();
            assert_eq!(problem["status"], 400, "{target}");
            assert_eq!(problem["field"], param, "{target}: {problem}");
            let detail = problem["detail"].as_str().unwrap_or_default();
            assert!(
                detail.starts_with(&format!("{param}: ")),
                "{target}: the detail names {param}: {detail}"
            );
        }
    }
}

#[test]
fn bad_parameters_are_refused_before_the_link_is_looked_up() {
    let s = service();
    // The corrupt record makes any lookup a source error (503)...
    let r = s.get("/broken.png");
    assert_eq!(r.status, 503, "{}", r.text());
    // ...so a 400 here means the parameters were checked first.
    let r = s.get("/broken.png?size=1");
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["field"], "size");
    assert!(r.header("x-qr-cache").is_none(), "no lookup happened");
    let r = s.get("/no-such-slug.svg?ecc=Z");
    assert_eq!((r.status, r.json()["field"].as_str()), (400, Some("ecc")));
}

#[test]
fn an_unknown_slug_is_404_and_never_redirects() {
    let s = service_with(
        ServiceConfig::new().setting("not_found_url", json!("https://example.com/404")),
    );
    for target in ["/nope.png", "/nope.svg", "/NOPE.PNG?ecc=H"] {
        let r = s.get(target);
        assert_eq!(r.status, 404, "{target}");
        assert!(
            r.header("location").is_none(),
            "{target}: an image URL never redirects"
        );
        assert_ne!(r.header("cache-control"), Some(CACHEABLE), "{target}");
        assert!(r.header("etag").is_none(), "{target}");
    }
    // The redirect route does use not_found_url: the difference is the image route's.
    assert_eq!(
        s.get("/nope").header("location"),
        Some("https://example.com/404")
    );
}

#[test]
fn a_source_error_is_503_with_retry_after_and_never_redirects() {
    let s = service_with(
        ServiceConfig::new().setting("fallback_url", json!("https://example.com/sorry")),
    );
    for target in ["/broken.png", "/broken.svg"] {
        let r = s.get(target);
        assert_eq!(r.status, 503, "{target}: {}", r.text());
        assert_eq!(r.header("retry-after"), Some("30"), "{target}");
        assert!(
            r.header("location").is_none(),
            "{target}: fallback_url is for scans, not images"
        );
        assert_ne!(r.header("cache-control"), Some(CACHEABLE), "{target}");
    }
}

/// Codes that differ from `/spring26.png` in one option, the format, the
/// slug or the host, each with its content type.
fn variants() -> Vec<(Req, &'static str)> {
    [
        Req::get("/spring26.png"),
        Req::get("/spring26.png?ecc=H"),
        Req::get("/spring26.png?margin=0"),
        Req::get("/spring26.png?size=1024"),
        Req::get("/spring26.png?fg=1a237e"),
        Req::get("/spring26.png?bg=fffde7"),
        Req::get("/spring26.svg"),
        Req::get("/spring26.svg?ecc=H"),
        Req::get("/a.png"),
        Req::get("/hello.png").host(Some("qr.example.org")),
    ]
    .into_iter()
    .map(|req| {
        let content_type = if req.target.contains(".png") {
            "image/png"
        } else {
            "image/svg+xml"
        };
        (req, content_type)
    })
    .collect()
}

#[test]
fn images_are_publicly_cacheable_and_come_from_a_lookup() {
    let s = service();
    for (req, content_type) in variants() {
        let target = req.target.clone();
        let r = image(&s, req, content_type);
        assert_eq!(r.header("cache-control"), Some(CACHEABLE), "{target}");
        let looked_up = r.header("x-qr-cache");
        assert!(
            matches!(looked_up, Some("MISS" | "HIT")),
            "{target}: x-qr-cache {looked_up:?}"
        );
    }
}

#[test]
fn an_image_has_a_strong_etag_and_the_same_bytes_every_time() {
    let s = service();
    for (req, content_type) in variants() {
        let target = req.target.clone();
        let first = image(&s, req.clone(), content_type);
        let tag = first.header("etag").expect("ETag");
        assert!(
            tag.len() > 2 && tag.starts_with('"') && tag.ends_with('"'),
            "{target}: strong ETag, got {tag}"
        );
        // A strong validator promises identical bytes for the same tag.
        let again = image(&s, req, content_type);
        assert_eq!(
            (again.header("etag"), &again.body),
            (Some(tag), &first.body),
            "{target}"
        );
    }
}

#[test]
fn every_variant_has_its_own_etag() {
    let s = service();
    let mut tags: Vec<String> = Vec::new();
    for (req, content_type) in variants() {
        let target = req.target.clone();
        let tag = image(&s, req, content_type)
            .header("etag")
            .expect("ETag")
            .to_owned();
        assert!(
            !tags.contains(&tag),
            "{target}: its ETag is shared with another variant"
        );
        tags.push(tag);
    }
}

#[test]
fn size_changes_neither_an_svgs_bytes_nor_its_etag() {
    let s = service();
    let small = svg(&s, "/spring26.svg?size=64");
    let large = svg(&s, "/spring26.svg?size=4096");
    assert_eq!(
        (small.header("etag"), &small.body),
        (large.header("etag"), &large.body)
    );
}

/// `/spring26.png` and its ETag.
fn spring_png_and_tag(s: &Service) -> (Reply, String) {
    let full = png(s, "/spring26.png");
    let tag = full.header("etag").expect("ETag").to_owned();
    (full, tag)
}

#[test]
fn if_none_match_gets_304_with_etag_and_cache_control_and_no_body() {
    let s = service();
    let (_, tag) = spring_png_and_tag(&s);
    // The route compares weakly; how a header's list and `*` are read is
    // core's (conditional.rs).
    let weak = format!("W/{tag}");
    for condition in [tag.as_str(), weak.as_str()] {
        for method in ["GET", "HEAD"] {
            let r = s.send(Req::new(method, "/spring26.png").header("if-none-match", condition));
            assert_eq!(r.status, 304, "{method} If-None-Match: {condition}");
            assert_eq!(r.header("etag"), Some(tag.as_str()), "{condition}");
            assert_eq!(r.header("cache-control"), Some(CACHEABLE), "{condition}");
            assert!(r.body.is_empty(), "{condition}");
        }
    }
}

#[test]
fn another_variants_or_formats_etag_is_no_match() {
    let s = service();
    let (full, tag) = spring_png_and_tag(&s);
    let other = png(&s, "/spring26.png?ecc=H")
        .header("etag")
        .expect("ETag")
        .to_owned();
    let r = s.send(Req::get("/spring26.png").header("if-none-match", &other));
    assert_eq!((r.status, &r.body), (200, &full.body));
    let r = s.send(Req::get("/spring26.svg").header("if-none-match", &tag));
    assert_eq!(r.status, 200);
    assert!(!r.body.is_empty());
}

#[test]
fn a_condition_never_hides_a_missing_link_or_a_bad_parameter() {
    let s = service();
    let (_, tag) = spring_png_and_tag(&s);
    assert_eq!(
        s.send(Req::get("/nope.png").header("if-none-match", "*"))
            .status,
        404
    );
    assert_eq!(
        s.send(Req::get("/spring26.png?size=1").header("if-none-match", &tag))
            .status,
        400
    );
}

#[test]
fn head_has_the_headers_of_get_and_no_body() {
    let s = service();
    for target in ["/spring26.png?size=1024", "/spring26.svg?ecc=Q"] {
        let get = s.get(target);
        let head = s.send(Req::new("HEAD", target));
        assert_eq!((get.status, head.status), (200, 200), "{target}");
        assert!(head.body.is_empty(), "{target}");
        assert!(!get.body.is_empty(), "{target}");
        for name in ["content-type", "etag", "cache-control"] {
            assert!(get.header(name).is_some(), "{target}: {name}");
            assert_eq!(head.header(name), get.header(name), "{target}: {name}");
        }
    }
}

#[test]
fn image_requests_write_no_scan_event() {
    let s = service();
    let tag = png(&s, "/spring26.png")
        .header("etag")
        .expect("ETag")
        .to_owned();
    let requests = [
        Req::get("/spring26.svg"),
        Req::new("HEAD", "/spring26.png"),
        Req::get("/spring26.png").header("if-none-match", &tag),
        Req::get("/off.png"),
        Req::get("/nope.png"),
        Req::get("/broken.svg"),
        Req::get("/spring26.png?ecc=X"),
    ];
    for req in &requests {
        s.send(req.clone());
    }
    s.wait_for_completed(1 + requests.len());
    assert!(
        s.scans().is_empty(),
        "image requests wrote scan events: {:?}",
        s.scans()
    );
    // The scan log works: the redirect route writes its line.
    assert_eq!(s.get("/spring26").status, 302);
    let scans = s.wait_for_scans(1);
    assert_eq!(scans.len(), 1);
    assert_eq!(scans[0]["slug"], "spring26");
}

#[test]
fn image_paths_are_case_insensitive() {
    let s = service();
    let lower = png(&s, "/spring26.png");
    for target in ["/SPRING26.PNG", "/Spring26.Png"] {
        let r = png(&s, target);
        assert_eq!(
            (r.header("etag"), &r.body),
            (lower.header("etag"), &lower.body),
            "{target}"
        );
    }
    let lower = svg(&s, "/spring26.svg");
    let upper = svg(&s, "/SPRING26.SVG");
    assert_eq!(upper.body, lower.body);
    assert_eq!(
        decode(&svg_pixels(&upper.body, 6), 24, hex("ffffff")).text,
        SPRING_URL
    );
}

#[test]
fn disabled_and_expired_links_still_have_their_code() {
    let s = service();
    for (slug, scan_status) in [("off", 410), ("ended", 410)] {
        assert_eq!(
            s.get(&format!("/{slug}")).status,
            scan_status,
            "a scan of /{slug} is refused"
        );
        let url = format!("HTTPS://GO.EXAMPLE.COM/{}", slug.to_ascii_uppercase());
        let version = minimum_version(url.len(), "M");
        let r = png(&s, &format!("/{slug}.png"));
        assert_eq!(
            decode_png(&r.body, version, 4, 512, (hex("000000"), hex("ffffff"))).text,
            url
        );
        let r = svg(&s, &format!("/{slug}.svg"));
        assert_eq!(decode(&svg_pixels(&r.body, 6), 24, hex("ffffff")).text, url);
    }
}

#[test]
fn a_repeated_image_comes_from_the_edge_cache_with_the_same_bytes() {
    let s = service();
    let first = png(&s, "/spring26.png?size=1024");
    assert_eq!(first.header("x-qr-image-cache"), Some("MISS"));
    let again = png(&s, "/spring26.png?size=1024");
    assert_eq!(again.header("x-qr-image-cache"), Some("HIT"));
    assert_eq!(
        (again.header("etag"), &again.body),
        (first.header("etag"), &first.body)
    );
    // Other options are another image, drawn on its own.
    let other = png(&s, "/spring26.png?size=512");
    assert_eq!(other.header("x-qr-image-cache"), Some("MISS"));
    // Another link's image is never served from this one's entry.
    let a = png(&s, "/a.png?size=1024");
    assert_eq!(a.header("x-qr-image-cache"), Some("MISS"));
    assert_ne!(a.body, first.body);
}

#[test]
fn an_admin_write_of_the_link_purges_its_cached_images() {
    use qr_edge_tests::admin;
    let s = service_with(admin::config().setting("destination_hosts", json!(["example.com"])));
    let target = "/spring26.svg?ecc=H";
    svg(&s, target);
    assert_eq!(svg(&s, target).header("x-qr-image-cache"), Some("HIT"));
    let put = s.send(admin::with_json(
        "PUT",
        "/_api/v1/links/go.example.com/spring26",
        r#"{"url":"https://example.com/summer"}"#,
    ));
    assert_eq!(put.status, 200, "{}", put.text());
    assert_eq!(svg(&s, target).header("x-qr-image-cache"), Some("MISS"));
    // Deleted, the link has no image, cached or not.
    let delete = s.send(admin::api(
        "DELETE",
        "/_api/v1/links/go.example.com/spring26",
    ));
    assert_eq!(delete.status, 204, "{}", delete.text());
    assert_eq!(s.get(target).status, 404);
}

#[test]
fn head_and_revalidation_draw_nothing_and_cache_nothing() {
    let s = service();
    let target = "/spring26.png?size=2048";
    assert_eq!(
        s.send(Req::new("HEAD", target)).header("x-qr-image-cache"),
        None
    );
    let tag = s
        .send(Req::new("HEAD", target))
        .header("etag")
        .map(str::to_owned);
    let revalidated =
        s.send(Req::get(target).header("if-none-match", tag.as_deref().unwrap_or("")));
    assert_eq!(revalidated.status, 304);
    assert_eq!(revalidated.header("x-qr-image-cache"), None);
    // Nothing was drawn above, so the first GET draws.
    assert_eq!(png(&s, target).header("x-qr-image-cache"), Some("MISS"));
}
