//! Piece codes (docs/links.md, "Piece codes"): a record with `pieces` answers
//! `/{slug}-{piece}` with `{piece}` replaced in its destinations, unless
//! `{slug}-{piece}` is a link of its own. The exact slug is looked up first,
//! the base slug only on a miss, and both answers are cached under their own
//! keys; a piece no record can allow costs no second lookup. The admin API
//! refuses bad `pieces` and misplaced placeholders, naming the field.

use qr_edge_tests::admin::{import, names_field, with_json};
use qr_edge_tests::{scan, Origin, Reply, Req, Service, ServiceConfig};
use serde_json::json;

const RUN: &str = r#"{"url":"https://example.com/p/{piece}","forward_query":false,"pieces":{"max_length":8},
  "rules":[{"when":{"query":{"lang":"fr"}},"url":"https://example.com/fr/{piece}"}]}"#;
const SPLIT: &str = r#"{"url":"https://example.com/","pieces":{"max_length":4},
  "split":[{"url":"https://example.com/arm?piece={piece}","weight":1}]}"#;
const ENDED: &str = r#"{"url":"https://example.com/","pieces":{"max_length":4},
  "valid_until":"2020-01-01T00:00:00Z","expired_url":"https://example.com/ended#{piece}"}"#;
const PLAIN: &str = r#"{"url":"https://example.com/plain"}"#;
const VIP: &str = r#"{"url":"https://example.com/vip"}"#;

fn key(slug: &str) -> String {
    format!("go.example.com/{slug}")
}

/// A KV-only service with the piece-code records.
fn kv_service() -> Service {
    Service::start(
        ServiceConfig::new()
            .link(&key("run"), RUN)
            .link(&key("split"), SPLIT)
            .link(&key("ended"), ENDED)
            .link(&key("plain"), PLAIN)
            .link(&key("run-vip"), VIP)
            .link(&key("broken"), "not a record"),
    )
}

/// An origin-only service: the origin's request log is the list of lookups.
fn origin_service() -> (Service, Origin) {
    let origin = Origin::start();
    for (slug, record) in [("run", RUN), ("plain", PLAIN), ("run-vip", VIP)] {
        origin.put(&key(slug), record);
    }
    let service = Service::start(ServiceConfig::new().without_kv().origin(&origin.url()));
    (service, origin)
}

fn lookups(slugs: &[&str]) -> Vec<String> {
    slugs
        .iter()
        .map(|slug| format!("/links/go.example.com/{slug}"))
        .collect()
}

fn location(r: &Reply) -> (u16, Option<&str>) {
    (r.status, r.header("location"))
}

#[test]
fn a_piece_code_replaces_the_placeholder_in_every_destination() {
    let s = kv_service();
    assert_eq!(
        location(&s.get("/run-a7k2")),
        (302, Some("https://example.com/p/a7k2"))
    );
    assert_eq!(
        location(&s.get("/RUN-A7K2")),
        (302, Some("https://example.com/p/a7k2")),
        "printed upper case, replaced lower case"
    );
    assert_eq!(
        location(&s.get("/run-a7k2?lang=fr")),
        (302, Some("https://example.com/fr/a7k2")),
        "rules[].url"
    );
    assert_eq!(
        location(&s.get("/split-x1")),
        (302, Some("https://example.com/arm?piece=x1")),
        "split[].url"
    );
    assert_eq!(
        location(&s.get("/ended-x1")),
        (302, Some("https://example.com/ended#x1")),
        "expired_url"
    );
    assert_eq!(
        location(&s.get("/run")),
        (302, Some("https://example.com/p/")),
        "the base slug itself replaces the placeholder by nothing"
    );
    assert_eq!(
        location(&s.get("/run-12345678")),
        (302, Some("https://example.com/p/12345678")),
        "a piece of max_length characters"
    );
}

#[test]
fn the_exact_slug_wins_over_a_piece_code_without_a_base_lookup() {
    let (s, origin) = origin_service();
    let (r, event) = scan(&s, Req::get("/run-vip"));
    assert_eq!(location(&r), (302, Some("https://example.com/vip")));
    assert_eq!(origin.requests(), lookups(&["run-vip"]));
    assert_eq!(
        (&event["slug"], &event["piece"]),
        (&json!("run-vip"), &json!(null))
    );
}

#[test]
fn a_piece_code_whose_base_does_not_allow_it_is_not_found() {
    let (s, origin) = origin_service();
    for (path, base) in [
        ("/nope-a1", "nope"),
        ("/plain-a1", "plain"),
        ("/run-123456789", "run"),
    ] {
        let (r, event) = scan(&s, Req::get(path));
        assert_eq!((r.status, r.header("location")), (404, None), "{path}");
        assert_eq!(event["outcome"], "not_found", "{path}");
        assert_eq!(event["slug"], path[1..], "{path}: the slug scanned");
        assert_eq!(event["piece"], json!(null), "{path}");
        let asked = origin.requests();
        assert_eq!(
            asked[asked.len() - 2..],
            lookups(&[&path[1..], base]),
            "{path}: the exact slug, then the base"
        );
    }
    let with_page = Service::start(
        ServiceConfig::new()
            .link(&key("run"), RUN)
            .setting("not_found_url", json!("https://example.com/404")),
    );
    assert_eq!(
        location(&with_page.get("/run-123456789")),
        (302, Some("https://example.com/404")),
        "the domain's not_found_url, as for any unknown slug"
    );
}

#[test]
fn a_piece_no_record_can_allow_costs_no_base_lookup() {
    let (s, origin) = origin_service();
    let too_long = format!("/run-{}", "a".repeat(33));
    assert_eq!(s.get(&too_long).status, 404);
    assert_eq!(s.get("/run--a1").status, 404, "the base run- is no slug");
    assert_eq!(
        origin.requests(),
        lookups(&[&too_long[1..], "run--a1"]),
        "only the exact slugs were looked up"
    );
}

#[test]
fn both_lookups_are_cached_under_their_own_keys() {
    let (s, origin) = origin_service();
    let first = s.get("/run-a1");
    assert_eq!(location(&first), (302, Some("https://example.com/p/a1")));
    assert_eq!(first.header("x-qr-cache"), Some("MISS"));
    let second = s.get("/run-a1");
    assert_eq!(location(&second), (302, Some("https://example.com/p/a1")));
    assert_eq!(second.header("x-qr-cache"), Some("HIT"));
    assert_eq!(
        s.get("/run-b2").header("x-qr-cache"),
        Some("HIT"),
        "the base record is cached"
    );
    assert_eq!(s.get("/nope-a1").status, 404);
    assert_eq!(s.get("/nope-a1").status, 404);
    assert_eq!(
        origin.requests(),
        lookups(&["run-a1", "run", "run-b2", "nope-a1", "nope"]),
        "a second scan asks the origin for neither the exact slug (negatively cached) nor the base"
    );
}

#[test]
fn the_scan_event_names_the_record_and_the_piece() {
    let s = kv_service();
    let (r, event) = scan(&s, Req::get("/RUN-A7K2"));
    assert_eq!(r.status, 302);
    assert_eq!(event["slug"], "run", "the record that answered");
    assert_eq!(event["piece"], "a7k2");
    assert_eq!(event["dest"], "https://example.com/p/a7k2");
    assert_eq!(
        (&event["cache"], &event["source"]),
        (&json!("miss"), &json!("kv"))
    );
    let (_, event) = scan(&s, Req::get("/run"));
    assert_eq!(
        (&event["slug"], &event["piece"]),
        (&json!("run"), &json!(null))
    );
}

#[test]
fn a_base_that_cannot_be_read_makes_the_piece_code_unavailable_not_unknown() {
    let s = kv_service();
    let r = s.get("/broken-a1");
    assert_eq!(r.status, 503, "{}", r.text());
    assert_eq!(r.header("retry-after"), Some("30"));
}

#[test]
fn a_piece_codes_preview_and_image_are_its_own() {
    let s = kv_service();
    let (r, event) = scan(&s, Req::get("/run-a7k2+"));
    assert_eq!(r.status, 200);
    let page = r.text();
    assert!(page.contains("https://go.example.com/run-a7k2"), "{page}");
    assert!(page.contains("https://example.com/p/a7k2"), "{page}");
    assert_eq!(
        (&event["outcome"], &event["piece"]),
        (&json!("preview"), &json!("a7k2"))
    );

    let png = s.get("/run-a7k2.png");
    assert_eq!(png.status, 200, "{}", png.text());
    assert_eq!(png.header("content-type"), Some("image/png"));
    assert_eq!(decode_png(&png.body), "HTTPS://GO.EXAMPLE.COM/RUN-A7K2");
    assert_eq!(s.get("/run-a7k2.svg").status, 200);
    assert_eq!(
        s.get("/run-123456789.svg").status,
        404,
        "a piece the record does not allow"
    );
    assert_eq!(
        s.get("/plain-a1.png").status,
        404,
        "a record without pieces"
    );
}

/// The text of the one QR code in a served PNG (default options: black on
/// white with a quiet zone), read by the independent `png` and `rqrr` crates.
fn decode_png(bytes: &[u8]) -> String {
    let mut decoder = png::Decoder::new(std::io::Cursor::new(bytes));
    decoder.set_transformations(png::Transformations::EXPAND);
    let mut reader = decoder.read_info().expect("PNG header");
    let mut buf = vec![0; reader.output_buffer_size().expect("PNG buffer size")];
    let frame = reader.next_frame(&mut buf).expect("PNG image data");
    let channels = frame.color_type.samples();
    let (w, h) = (frame.width as usize, frame.height as usize);
    let mut prepared = rqrr::PreparedImage::prepare_from_greyscale(w, h, |x, y| {
        buf[y * frame.line_size + x * channels]
    });
    let grids = prepared.detect_grids();
    assert_eq!(grids.len(), 1, "one QR code");
    grids[0].decode().expect("rqrr decodes the code").1
}

#[test]
fn bad_pieces_and_misplaced_placeholders_are_refused_naming_the_field() {
    let s = Service::start(
        qr_edge_tests::admin::config().setting("destination_hosts", json!(["example.com"])),
    );
    let put = |slug: &str, body: &str| {
        s.send(with_json(
            "PUT",
            &format!("/_api/v1/links/go.example.com/{slug}"),
            body,
        ))
    };
    for (field, body) in [
        (
            "pieces.max_length",
            r#"{"url":"https://example.com/","pieces":{"max_length":0}}"#,
        ),
        (
            "pieces.max_length",
            r#"{"url":"https://example.com/","pieces":{"max_length":33}}"#,
        ),
        (
            "pieces.max_length",
            r#"{"url":"https://example.com/","pieces":{}}"#,
        ),
        (
            "pieces.alphabet",
            r#"{"url":"https://example.com/","pieces":{"max_length":4,"alphabet":"hex"}}"#,
        ),
        ("pieces", r#"{"url":"https://example.com/","pieces":4}"#),
        ("url", r#"{"url":"https://example.com/{piece}"}"#),
        (
            "rules[0].url",
            r#"{"url":"https://example.com/","rules":[{"url":"https://example.com/{piece}"}]}"#,
        ),
        (
            "url",
            r#"{"url":"https://{piece}.example.com/","pieces":{"max_length":4}}"#,
        ),
        (
            "split[0].url",
            r#"{"url":"https://example.com/","pieces":{"max_length":4},"split":[{"url":"https://example.com{piece}/","weight":1}]}"#,
        ),
        (
            "expired_url",
            r#"{"url":"https://example.com/","pieces":{"max_length":4},"expired_url":"https://evil.test/{piece}"}"#,
        ),
    ] {
        let r = put("run", body);
        names_field(&r, field);
    }
    assert_eq!(
        s.get("/run").status,
        404,
        "no refused write stored anything"
    );
    let imported = s.send(import(
        r#"{"domain":"go.example.com","slug":"run","url":"https://example.com/{piece}"}"#,
    ));
    assert!(
        imported.text().contains(r#""field":"url""#),
        "{}",
        imported.text()
    );
    assert_eq!(s.get("/run-a1").status, 404);

    let written = put(
        "run",
        r#"{"url":"https://example.com/p/{piece}","pieces":{"max_length":4}}"#,
    );
    assert!(matches!(written.status, 200 | 201), "{}", written.text());
    assert_eq!(
        location(&s.get("/run-a1")),
        (302, Some("https://example.com/p/a1")),
        "a record written through the admin API answers its pieces"
    );
}

#[test]
fn a_hit_costs_the_same_whether_its_slug_could_be_a_piece_code_or_not() {
    let s = kv_service();
    let paths = [
        "/plain", "/plain", "/run-vip", "/run-vip", "/run-a1", "/run-a1",
    ];
    for path in paths {
        assert_eq!(s.get(path).status, 302, "{path}");
    }
    let costs = s.request_costs();
    assert_eq!(costs.len(), paths.len());
    // The second request of each pair is the cached one.
    let [plain, dashed, piece] = [1, 3, 5].map(|i| costs[i].hostcalls);
    eprintln!("hostcalls of a cached hit: plain {plain}, run-vip {dashed}, piece code {piece}");
    assert_eq!(
        dashed, plain,
        "a hit of a slug that could be a piece code looks nothing else up"
    );
    assert!(
        piece > plain,
        "a piece-code hit looks up two cache entries: {piece} vs {plain}"
    );
}

#[test]
fn the_heaviest_piece_code_record_is_answered_within_the_limits() {
    // As many rules as the 64 KiB record cap allows, each with a placeholder
    // in its URL and conditions that all have to be read; no rule holds, so
    // a scan validates and evaluates every one. The harness fails the test
    // if a request breaks a per-request limit (guest time included).
    const COUNTRIES: [&str; 28] = [
        "DE", "AT", "CH", "FR", "IT", "ES", "NL", "BE", "LU", "DK", "SE", "NO", "FI", "PL", "CZ",
        "SK", "HU", "SI", "HR", "PT", "IE", "GB", "GR", "RO", "BG", "EE", "LV", "LT",
    ];
    let rule = |i: usize| {
        json!({
            "when": {"country": COUNTRIES, "query": {"rule": i.to_string()}},
            "url": format!("https://example.com/rule/{i}/{{piece}}?p={{piece}}#{{piece}}"),
        })
    };
    let mut rules = Vec::new();
    let record = loop {
        rules.push(rule(rules.len()));
        let record = json!({"url": "https://example.com/p/{piece}", "pieces": {"max_length": 32}, "rules": rules});
        if record.to_string().len() > 65_536 - 200 || rules.len() == 256 {
            break record.to_string();
        }
    };
    let s = Service::start(ServiceConfig::new().link(&key("big"), &record));
    // Instantiating the module is paid once per deployment, not per request.
    assert_eq!(s.get("/_health").status, 200);
    let piece = "a".repeat(32);
    for cache in ["MISS", "HIT"] {
        let r = s.get(&format!("/big-{piece}"));
        assert_eq!(
            location(&r),
            (302, Some(format!("https://example.com/p/{piece}").as_str())),
            "{cache}"
        );
        assert_eq!(r.header("x-qr-cache"), Some(cache));
    }
    for cost in s.request_costs() {
        eprintln!(
            "{}: {} hostcalls, guest {:.1} ms",
            cost.name(),
            cost.hostcalls,
            cost.guest_time.as_secs_f64() * 1e3
        );
    }
    eprintln!("{} rules, {} bytes", rules.len(), record.len());
    s.assert_within_limits();
}
