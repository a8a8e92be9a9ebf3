//! docs/admin-api.md, "Export": `GET /_api/v1/export?domain=&cursor=` against
//! the real wasm under the real Viceroy. An export of every page, imported
//! into a fresh, empty service, reproduces every record byte for byte; pages
//! are resumable by `X-Next-Cursor` and `Link`, the last page has neither; a
//! page is bounded by `EXPORT_LIST_LIMIT` keys and `EXPORT_PAGE_BYTES` of
//! stored values, and the heaviest pages stay within Fastly's per-request
//! limits (the harness checks every request; the figures are printed with
//! `--nocapture`); a stored value that is no record becomes a line naming its
//! key, which an import refuses; bad input is 400 naming the parameter.

use qr_edge_core::admin::{EXPORT_LIST_LIMIT, EXPORT_PAGE_BYTES, MAX_IMPORT_LINES};
use qr_edge_core::record::MAX_RECORD_BYTES;
use qr_edge_tests::admin::{api, import, names_field, problem};
use qr_edge_tests::{repo_root, Reply, Req, Service, ServiceConfig};
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// Admin writes need the token and an allow-list: `*` lets the IDN and every
/// fixture destination in.
fn config() -> ServiceConfig {
    qr_edge_tests::admin::config().setting("destination_hosts", json!(["*"]))
}

/// A started service that has answered one request: a Viceroy process's first
/// request pays for warming it up, which is not the request's cost.
fn start(config: ServiceConfig) -> Service {
    let s = Service::start(config);
    assert_eq!(s.get("/_health").status, 200);
    s
}

/// One page of the export, as sent.
struct Page {
    reply: Reply,
    /// `X-Next-Cursor`, if more links remain.
    next: Option<String>,
}

fn export(s: &Service, query: &str) -> Page {
    let target = if query.is_empty() {
        "/_api/v1/export".to_owned()
    } else {
        format!("/_api/v1/export?{query}")
    };
    let reply = s.send(api("GET", &target));
    assert_eq!(reply.status, 200, "{target}: {}", reply.text());
    assert_eq!(
        reply.header("content-type"),
        Some("application/x-ndjson"),
        "{target}"
    );
    assert_eq!(reply.header("cache-control"), Some("no-store"));
    let next = reply.header("x-next-cursor").map(str::to_owned);
    Page { reply, next }
}

/// Every page of an export (`domain`: of one domain), following `X-Next-Cursor`
/// and checking that `Link` names the same next page; the pages' bodies.
fn export_all(s: &Service, domain: Option<&str>) -> Vec<String> {
    let domain_param = domain.map(|d| format!("domain={d}")).unwrap_or_default();
    let mut query = domain_param.clone();
    let mut pages = Vec::new();
    loop {
        let page = export(s, &query);
        pages.push(page.reply.text());
        let Some(next) = page.next else {
            assert_eq!(page.reply.header("link"), None, "the last page has no Link");
            return pages;
        };
        query = match domain {
            Some(_) => format!("{domain_param}&cursor={next}"),
            None => format!("cursor={next}"),
        };
        assert_eq!(
            page.reply.header("link"),
            Some(format!("</_api/v1/export?{query}>; rel=\"next\"").as_str()),
            "Link and X-Next-Cursor name the same page"
        );
        assert!(pages.len() < 1000, "the export never ends");
    }
}

/// Imports NDJSON lines in requests of at most `MAX_IMPORT_LINES`; every result.
fn import_all(s: &Service, lines: &[String]) -> Vec<Value> {
    lines
        .chunks(MAX_IMPORT_LINES)
        .flat_map(|chunk| {
            let r = s.send(import(&chunk.join("\n")));
            assert_eq!(r.status, 200, "{}", r.text());
            r.ndjson()
        })
        .collect()
}

fn lines_of(pages: &[String]) -> Vec<String> {
    pages
        .iter()
        .flat_map(|p| p.lines().map(str::to_owned))
        .collect()
}

/// Two-letter codes, upper case.
fn codes(n: usize) -> Vec<String> {
    (b'A'..=b'Z')
        .flat_map(|a| (b'A'..=b'Z').map(move |b| format!("{}{}", a as char, b as char)))
        .take(n)
        .collect()
}

/// A record of `rules` rules with every condition kind, about 440 bytes a rule.
fn record_with_rules(rules: usize) -> Value {
    let rules: Vec<Value> = (0..rules)
        .map(|i| {
            json!({
                "when": {
                    "country": codes(8),
                    "continent": ["AF", "EU"],
                    "region": ["US-CA", "DE-BE"],
                    "os": ["android", "ios"],
                    "device": ["tablet", "mobile"],
                    "language": ["en", "de"],
                    "after": "2020-01-01T00:00:00Z",
                    "before": "2100-01-01T00:00:00+01:00",
                    "query": {"k": "v", "rule": i.to_string()},
                },
                "url": format!("https://example.com/rule/{i}"),
            })
        })
        .collect();
    json!({"url": "https://example.com/default", "forward_query": ["utm_*"], "rules": rules})
}

/// The largest record of [`record_with_rules`] within the record limit.
fn heaviest_record() -> Value {
    (1..=256)
        .rev()
        .map(record_with_rules)
        .find(|r| r.to_string().len() <= MAX_RECORD_BYTES)
        .expect("a record that fits")
}

/// Records exercising every field, unicode in the free text, IDN and
/// percent-encoded destinations, time zones other than UTC.
fn every_field() -> Vec<Value> {
    vec![
        json!({"domain": "go.example.com", "slug": "every-field",
            "url": "https://bücher.example/straße?q=ä&x=1#frag",
            "status": "disabled", "code": 308,
            "forward_query": ["utm_*", "ref"],
            "valid_from": "2026-03-01T09:00:00+01:00",
            "valid_until": "2030-12-31T23:59:59.5Z",
            "expired_url": "https://xn--bcher-kva.example/vorbei",
            "rules": [
                {"when": {"country": ["DE", "AT"], "continent": ["EU"], "region": ["DE-BY"],
                          "os": ["ios", "macos"], "device": ["mobile", "tablet"],
                          "language": ["de", "fr"], "after": "2026-01-01T00:00:00Z",
                          "before": "2031-01-01T00:00:00-05:00",
                          "query": {"src": "poster", "ü": "ß"}},
                 "url": "https://example.com/de?über=1"},
                {"url": "https://example.com/always"}
            ],
            "split": [{"url": "https://example.com/a", "weight": 0},
                      {"url": "https://example.com/b", "weight": 1000000}],
            "tags": ["sommer-🌸", "plakat", ""],
            "note": "Grüße aus Köln — 春の \"キャンペーン\" \\ \u{7f} \n zweite Zeile 🎉"}),
        json!({"domain": "go.example.com", "slug": "x", "url": "http://[2001:db8::1]:8080/p",
               "forward_query": false, "code": 301}),
        json!({"domain": "links.example.net", "slug": "1-2-3", "url": "https://例え.jp/パス",
               "forward_query": true, "note": ""}),
    ]
}

/// The fixture links (fixtures/links.json) as import lines.
fn fixture_lines() -> Vec<Value> {
    let text = std::fs::read_to_string(repo_root().join("fixtures/links.json")).expect("fixtures");
    let fixtures: BTreeMap<String, String> = serde_json::from_str(&text).expect("fixture JSON");
    fixtures
        .iter()
        .map(|(key, value)| {
            let (domain, slug) = key.split_once('/').expect("domain/slug");
            let mut line: serde_json::Map<String, Value> = serde_json::Map::new();
            line.insert("domain".into(), json!(domain));
            line.insert("slug".into(), json!(slug));
            let Value::Object(record) = serde_json::from_str(value).expect("fixture record") else {
                panic!("{key}")
            };
            line.extend(record);
            Value::Object(line)
        })
        .collect()
}

#[test]
fn export_then_import_into_an_empty_store_reproduces_every_record_byte_for_byte() {
    // The source store: the fixtures, records of every field, a few heavy
    // records (so that the byte budget ends pages early) and enough plain
    // links to need more than one KV list page, all written by the import.
    let mut lines: Vec<Value> = fixture_lines();
    lines.extend(every_field());
    for i in 0..EXPORT_LIST_LIMIT as usize * 2 {
        lines.push(
            json!({"domain": "go.example.com", "slug": format!("bulk-{i:03}"),
                          "url": format!("https://example.com/{i}"), "tags": ["bulk"]}),
        );
    }
    let mut heavy_lines = Vec::new();
    for i in 0..3 {
        let mut heavy = record_with_rules(60);
        heavy["domain"] = json!("qr.example.org");
        heavy["slug"] = json!(format!("heavy-{i}"));
        heavy_lines.push(heavy.to_string());
    }
    let mut lines: Vec<String> = lines.iter().map(Value::to_string).collect();
    let source = start(config());
    let mut written = import_all(&source, &lines);
    // The heavy records one per import: each costs an import a few milliseconds.
    for line in &heavy_lines {
        written.extend(import_all(&source, std::slice::from_ref(line)));
    }
    lines.extend(heavy_lines);
    let refused: Vec<&Value> = written.iter().filter(|r| r["status"] != 201).collect();
    assert!(refused.is_empty(), "every link written: {refused:?}");
    // A deleted link (its tombstone) is not exported.
    assert_eq!(
        source
            .send(api("DELETE", "/_api/v1/links/go.example.com/bulk-000"))
            .status,
        204
    );
    let links = lines.len() - 1;

    let pages = export_all(&source, None);
    let exported = lines_of(&pages);
    assert!(pages.len() >= 3, "{} pages", pages.len());
    assert_eq!(exported.len(), links, "each link once");
    let mut keys: Vec<String> = exported
        .iter()
        .map(|l| {
            let v: Value = serde_json::from_str(l).expect("an export line is JSON");
            format!(
                "{}/{}",
                v["domain"].as_str().unwrap(),
                v["slug"].as_str().unwrap()
            )
        })
        .collect();
    let listed = keys.clone();
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len(), links, "no link twice");
    assert_eq!(listed, keys, "in key order");
    assert!(!keys.contains(&"go.example.com/bulk-000".to_owned()));

    // A fresh service with an empty store takes the export as its import.
    let target = start(config());
    // Page by page, as an exit would: each export page is a valid import body.
    let results: Vec<Value> = pages
        .iter()
        .flat_map(|page| {
            let page_lines: Vec<String> = page.lines().map(str::to_owned).collect();
            import_all(&target, &page_lines)
        })
        .collect();
    assert_eq!(results.len(), links);
    assert!(
        results.iter().all(|r| r["status"] == 201),
        "{:?}",
        results.iter().find(|r| r["status"] != 201)
    );
    // Its export is the same, byte for byte: each line is `{"domain","slug",`
    // followed by the stored value as stored (see the next test), so the
    // stored values are the same bytes.
    let again = lines_of(&export_all(&target, None));
    assert_eq!(again.len(), exported.len());
    for (a, b) in exported.iter().zip(&again) {
        assert_eq!(a, b);
    }
    // And the admin API reads the same record from both.
    for key in &keys {
        let path = format!("/_api/v1/links/{key}");
        let (a, b) = (
            source.send(api("GET", &path)),
            target.send(api("GET", &path)),
        );
        assert_eq!((a.status, b.status), (200, 200), "{key}");
        assert!(a.header("etag").is_some() && b.header("etag").is_some());
        assert_eq!(a.body, b.body, "{key}");
    }
    source.assert_within_limits();
    target.assert_within_limits();
}

#[test]
fn a_stored_record_is_exported_as_stored() {
    // Values as the admin API stores them (its serialisation of the record),
    // put straight into the KV store: each export line is the value itself
    // after `{"domain","slug",`, so comparing exports compares stored bytes.
    // A value written by hand in another form is exported in the API's form.
    let stored = [
        (
            "go.example.com/every-field",
            r#"{"url":"https://bücher.example/straße?q=ä","status":"disabled","code":308,"forward_query":["utm_*"],"valid_from":"2026-03-01T09:00:00+01:00","valid_until":"2030-12-31T23:59:59.5Z","expired_url":"https://example.com/over","rules":[{"when":{"country":["DE"],"language":["de"],"query":{"ü":"ß"}},"url":"https://example.com/de"}],"split":[{"url":"https://example.com/a","weight":1}],"tags":["🌸"],"note":"Grüße\n\"zitiert\""}"#,
        ),
        (
            "go.example.com/plain",
            r#"{"url":"https://example.com/","status":"active","code":302,"forward_query":true}"#,
        ),
    ];
    let mut config = config();
    for (key, value) in stored {
        config = config.link(key, value);
    }
    let s = start(config.link(
        "go.example.com/hand-written",
        r#"{ "note" : "n", "url" : "https://example.com/h" }"#,
    ));
    let lines = lines_of(&export_all(&s, Some("go.example.com")));
    let expected = [
        format!(
            r#"{{"domain":"go.example.com","slug":"every-field",{}"#,
            &stored[0].1[1..]
        ),
        r#"{"domain":"go.example.com","slug":"hand-written","url":"https://example.com/h","status":"active","code":302,"forward_query":true,"note":"n"}"#.to_owned(),
        format!(
            r#"{{"domain":"go.example.com","slug":"plain",{}"#,
            &stored[1].1[1..]
        ),
    ];
    assert_eq!(lines, expected);
    s.assert_within_limits();
}

#[test]
fn a_domain_exports_alone_and_its_cursor_continues_only_it() {
    let mut config = config();
    for i in 0..EXPORT_LIST_LIMIT + 5 {
        config = config.link(
            &format!("a.example.com/l{i:03}"),
            &json!({"url": format!("https://example.com/{i}")}).to_string(),
        );
    }
    let s = start(
        config
            .link("b.example.com/x", r#"{"url":"https://example.com/b"}"#)
            .link("c.example.com/y", r#"{"url":"https://example.com/c"}"#),
    );
    let b = lines_of(&export_all(&s, Some("B.example.com")));
    assert_eq!(b.len(), 1);
    assert!(
        b[0].starts_with(r#"{"domain":"b.example.com","slug":"x","#),
        "{b:?}"
    );
    let first = export(&s, "domain=a.example.com");
    assert_eq!(first.reply.ndjson().len(), EXPORT_LIST_LIMIT as usize);
    let cursor = first.next.expect("a second page");
    // The cursor belongs to the export of a.example.com.
    names_field(
        &s.send(api("GET", &format!("/_api/v1/export?cursor={cursor}"))),
        "cursor",
    );
    names_field(
        &s.send(api(
            "GET",
            &format!("/_api/v1/export?domain=b.example.com&cursor={cursor}"),
        )),
        "cursor",
    );
    let second = export(&s, &format!("domain=a.example.com&cursor={cursor}"));
    assert_eq!(second.reply.ndjson().len(), 5);
    assert_eq!(second.next, None);
    assert_eq!(
        lines_of(&export_all(&s, None)).len(),
        EXPORT_LIST_LIMIT as usize + 7
    );
    s.assert_within_limits();
}

#[test]
fn a_stored_value_that_is_no_record_is_named_and_an_import_refuses_it() {
    let s = start(
        config()
            .link("go.example.com/broken", "not json")
            .link("go.example.com/no-url", r#"{"code":302}"#)
            .link(
                "go.example.com/loop",
                r#"{"url":"https://go.example.com/x"}"#,
            )
            .link(
                "go.example.com/big",
                &format!(
                    r#"{{"url":"https://example.com/","note":"{}"}}"#,
                    "n".repeat(MAX_RECORD_BYTES)
                ),
            )
            .link("Not A Key", r#"{"url":"https://example.com/"}"#)
            .link(
                "go.example.com/fine",
                r#"{"url":"https://example.com/fine"}"#,
            ),
    );
    let lines = lines_of(&export_all(&s, None));
    let parsed: Vec<Value> = lines
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let errors: BTreeMap<&str, &str> = parsed
        .iter()
        .filter_map(|v| Some((v["key"].as_str()?, v["export_error"].as_str()?)))
        .collect();
    assert_eq!(parsed.len(), 6, "nothing vanishes: {lines:?}");
    for (key, problem) in [
        ("go.example.com/broken", "not a valid record"),
        ("go.example.com/no-url", "url: is required"),
        ("go.example.com/loop", "redirect loop"),
        ("go.example.com/big", "larger than 65536 bytes"),
        ("Not A Key", "the key is not"),
    ] {
        let said = errors
            .get(key)
            .unwrap_or_else(|| panic!("{key}: {lines:?}"));
        assert!(said.contains(problem), "{key}: {said}");
    }
    // Into a fresh store: the good link is written, every other line refused
    // with a 400 naming `export_error` and the key; nothing else is stored.
    let target = start(config());
    let results = import_all(&target, &lines);
    for r in &results {
        if r["slug"] == "fine" {
            assert_eq!(r["status"], 201, "{r}");
        } else {
            assert_eq!(
                (r["status"].as_u64(), r["field"].as_str()),
                (Some(400), Some("export_error")),
                "{r}"
            );
            assert!(
                r["error"]
                    .as_str()
                    .unwrap()
                    .contains("could not be exported"),
                "{r}"
            );
        }
    }
    assert_eq!(lines_of(&export_all(&target, None)).len(), 1);
    s.assert_within_limits();
}

#[test]
fn bad_input_is_refused_naming_the_parameter() {
    let s = start(config().link("go.example.com/a", r#"{"url":"https://example.com/"}"#));
    for (query, field) in [
        ("limit=10", "limit"),
        ("prefix=a", "prefix"),
        ("domain=go_example.com", "domain"),
        ("domain=", "domain"),
        ("domain=a.com&domain=b.com", "domain"),
        ("cursor=xyz", "cursor"),
        ("cursor=6162", "cursor"),
        // Well-formed hex, but no cursor of this API.
        (
            &*format!("cursor={}", qr_edge_core::lower_hex(br#"{"k":"x","z":1}"#)),
            "cursor",
        ),
    ] {
        let r = s.send(api("GET", &format!("/_api/v1/export?{query}")));
        names_field(&r, field);
    }
    let r = s.send(api("POST", "/_api/v1/export"));
    problem(&r, 405);
    assert_eq!(r.header("allow"), Some("GET"));
    let r = s.send(Req::get("/_api/v1/export"));
    problem(&r, 401);
    assert!(r.header("x-next-cursor").is_none());
}

#[test]
fn without_a_links_store_the_export_is_unavailable() {
    let s = start(config().without_kv());
    let r = s.send(api("GET", "/_api/v1/export"));
    problem(&r, 503);
    assert!(r.header("retry-after").is_some());
}

/// The heaviest pages an export sends, measured: a full KV list page of
/// realistic links, and pages of the largest records (one each: the byte
/// budget). The harness holds each to the guest-time budget; the figures
/// are printed for docs/admin-api.md ("How an export page was sized").
#[test]
fn the_heaviest_export_pages_are_within_the_limits() {
    let heavy = heaviest_record();
    let heavy_text = heavy.to_string();
    assert!(
        heavy_text.len() > EXPORT_PAGE_BYTES / 2,
        "{}",
        heavy_text.len()
    );
    let mut config = config();
    for i in 0..EXPORT_LIST_LIMIT {
        let record = json!({
            "url": format!("https://example.com/campaign/{i}?utm_source=qr"),
            "tags": ["spring", "poster"], "note": "printed run 2026-03",
            "rules": [{"when": {"country": ["DE", "AT"]}, "url": "https://example.com/de"}],
        });
        config = config.link(&format!("a.example.com/l{i:03}"), &record.to_string());
    }
    for i in 0..3 {
        config = config.link(&format!("h.example.com/heavy-{i}"), &heavy_text);
    }
    let s = start(config);
    let page = export(&s, "domain=a.example.com");
    assert_eq!(page.reply.ndjson().len(), EXPORT_LIST_LIMIT as usize);
    let pages = export_all(&s, Some("h.example.com"));
    assert_eq!(
        pages.iter().map(|p| p.lines().count()).collect::<Vec<_>>(),
        [1, 1, 1],
        "one record of {} bytes per page",
        heavy_text.len()
    );
    for cost in s
        .request_costs()
        .iter()
        .filter(|c| c.target.starts_with("/_api/v1/export"))
    {
        eprintln!(
            "{}: guest {:.2} ms, wall {:.2} ms, {} hostcalls",
            cost.target.chars().take(60).collect::<String>(),
            cost.guest_time.as_secs_f64() * 1e3,
            cost.wall.as_secs_f64() * 1e3,
            cost.hostcalls
        );
    }
    s.assert_within_limits();
}

/// Keys `h.example.com/k0`… of records over a third of the byte budget: it
/// takes two a page, so a page ends inside the KV list page.
#[test]
fn a_link_written_or_deleted_between_pages_shifts_nothing() {
    let record = (1..=256)
        .map(|rules| record_with_rules(rules).to_string())
        .find(|r| r.len() * 3 > EXPORT_PAGE_BYTES)
        .expect("a record over a third of a page");
    assert!(record.len() * 2 <= EXPORT_PAGE_BYTES, "{}", record.len());
    let mut config = config();
    for i in 0..6 {
        config = config.link(&format!("h.example.com/k{i}"), &record);
    }
    let s = start(config);
    let slugs = |page: &Page| -> Vec<String> {
        page.reply
            .ndjson()
            .iter()
            .map(|l| l["slug"].as_str().unwrap().to_owned())
            .collect()
    };
    let first = export(&s, "domain=h.example.com");
    assert_eq!(slugs(&first), ["k0", "k1"]);
    // Between the pages: a link written before the cursor's position and one
    // ahead of it deleted.
    let put = s.send(
        api("PUT", "/_api/v1/links/h.example.com/k0a")
            .header("content-type", "application/json")
            .body(r#"{"url":"https://example.com/new"}"#),
    );
    assert_eq!(put.status, 201, "{}", put.text());
    assert_eq!(
        s.send(api("DELETE", "/_api/v1/links/h.example.com/k3"))
            .status,
        204
    );
    let mut query = format!("domain=h.example.com&cursor={}", first.next.unwrap());
    let mut rest = Vec::new();
    loop {
        let page = export(&s, &query);
        rest.extend(slugs(&page));
        match page.next {
            Some(next) => query = format!("domain=h.example.com&cursor={next}"),
            None => break,
        }
    }
    // Every link present throughout is exported once, none twice.
    assert_eq!(rest, ["k2", "k4", "k5"]);
    s.assert_within_limits();
}
