//! docs/admin-api.md: the admin API under `/_api/v1/`, against the real wasm under
//! the real Viceroy: auth, validation, optimistic concurrency, visibility of a
//! write to the very next scan, listing, import, audit lines, OpenAPI document.

use qr_edge_tests::admin::{api, audit, import, names_field, problem, with_json, TOKEN};
use qr_edge_tests::{Reply, Req, Service, ServiceConfig};
use serde_json::{json, Value};

const LINK: &str = "/_api/v1/links/go.example.com";
const SPRING: &str = r#"{"url":"https://example.com/spring"}"#;

fn config() -> ServiceConfig {
    qr_edge_tests::admin::config().setting("destination_hosts", json!(["*"]))
}

fn service() -> Service {
    Service::start(config())
}

fn put(s: &Service, slug: &str, body: &str) -> Reply {
    s.send(with_json("PUT", &format!("{LINK}/{slug}"), body))
}

// --- auth -----------------------------------------------------------------

#[test]
fn the_api_is_404_without_the_secrets_store() {
    let s = Service::start(ServiceConfig::new());
    for req in [
        api("GET", &format!("{LINK}/spring")),
        with_json("PUT", &format!("{LINK}/spring"), SPRING),
        api("GET", "/_api/v1/openapi.json"),
        api("GET", "/_api/v1/anything"),
    ] {
        let r = s.send(req.clone());
        assert_eq!(r.status, 404, "{} {}", req.method, req.target);
        assert!(
            r.text().contains("no such path"),
            "indistinguishable from any unknown path: {}",
            r.text()
        );
    }
    assert_eq!(s.get("/spring").status, 404, "the PUT wrote nothing");
}

#[test]
fn the_api_is_404_without_the_admin_token_key() {
    let s = Service::start(ServiceConfig::new().secret("ip_salt", "pepper"));
    let r = s.send(with_json("PUT", &format!("{LINK}/spring"), SPRING));
    assert_eq!(r.status, 404);
    assert_eq!(s.get("/spring").status, 404);
}

#[test]
fn a_missing_or_wrong_token_is_401_with_www_authenticate() {
    let s = service();
    let path = format!("{LINK}/spring");
    let attempts = [
        None,
        Some("Bearer wrong"),
        Some("Bearer t0k3"),
        Some("Bearer t0k3n0"),
        Some("Basic dDBrM246"),
        Some(TOKEN),
        Some("Bearer"),
    ];
    for authorization in attempts {
        let mut req = Req::new("PUT", &path)
            .header("content-type", "application/json")
            .body(SPRING);
        if let Some(value) = authorization {
            req = req.header("authorization", value);
        }
        let r = s.send(req);
        problem(&r, 401);
        assert_eq!(
            r.header("www-authenticate"),
            Some("Bearer"),
            "{authorization:?}"
        );
    }
    assert_eq!(
        s.get("/spring").status,
        404,
        "no unauthorised write happened"
    );
    let ok = s.send(api("GET", &path));
    assert_eq!(
        ok.status, 404,
        "the right token passes (and the link does not exist)"
    );
    assert_eq!(ok.json()["title"], "No such link");
}

#[test]
fn the_openapi_document_needs_the_token_too() {
    let s = service();
    problem(&s.send(Req::get("/_api/v1/openapi.json")), 401);
    assert_eq!(s.send(api("GET", "/_api/v1/openapi.json")).status, 200);
}

#[test]
fn the_bearer_scheme_is_case_insensitive() {
    let s = service();
    let r = s.send(
        Req::new("GET", "/_api/v1/openapi.json")
            .header("authorization", &format!("bearer {TOKEN}")),
    );
    assert_eq!(r.status, 200);
}

// --- read, create, update, delete -------------------------------------------

#[test]
fn a_create_is_visible_at_once_after_a_cached_not_found() {
    let s = service();
    assert_eq!(s.get("/fresh").status, 404);
    let cached = s.get("/fresh");
    assert_eq!(
        (cached.status, cached.header("x-qr-cache")),
        (404, Some("HIT")),
        "the 404 is cached"
    );

    let r = put(&s, "fresh", SPRING);
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(
        r.header("location"),
        Some("/_api/v1/links/go.example.com/fresh")
    );
    assert!(r
        .header("etag")
        .is_some_and(|t| t.starts_with('"') && t.ends_with('"')));
    assert_eq!(r.json()["url"], "https://example.com/spring");

    let scan = s.get("/fresh");
    assert_eq!(
        (scan.status, scan.header("location")),
        (302, Some("https://example.com/spring"))
    );
    assert_eq!(
        scan.header("x-qr-cache"),
        Some("MISS"),
        "the cached 404 was purged"
    );
}

#[test]
fn an_update_is_visible_at_once_after_a_cached_hit() {
    let s = Service::start(config().link("go.example.com/spring", SPRING));
    assert_eq!(s.get("/spring").status, 302);
    let cached = s.get("/spring");
    assert_eq!(cached.header("x-qr-cache"), Some("HIT"));

    let r = put(&s, "spring", r#"{"url":"https://example.com/summer"}"#);
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(r.header("location").is_none());

    let scan = s.get("/spring");
    assert_eq!(
        (scan.status, scan.header("location")),
        (302, Some("https://example.com/summer"))
    );
}

#[test]
fn get_answers_the_record_with_defaults_and_an_etag() {
    let s = Service::start(config().link("go.example.com/spring", SPRING));
    let r = s.send(api("GET", &format!("{LINK}/SPRING")));
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(
        r.json(),
        json!({"url":"https://example.com/spring","status":"active","code":302,"forward_query":true})
    );
    assert!(r
        .header("etag")
        .is_some_and(|t| t.starts_with('"') && t.ends_with('"')));
}

#[test]
fn get_with_if_none_match_of_the_etag_is_304() {
    let s = Service::start(config().link("go.example.com/spring", SPRING));
    let r = s.send(api("GET", &format!("{LINK}/spring")));
    let tag = r.header("etag").expect("etag").to_owned();
    let same = s.send(api("GET", &format!("{LINK}/spring")).header("if-none-match", &tag));
    assert_eq!(same.status, 304);
    assert_eq!(same.header("etag"), Some(tag.as_str()));
}

#[test]
fn get_of_a_missing_link_is_a_404_problem() {
    let s = service();
    problem(&s.send(api("GET", &format!("{LINK}/nope"))), 404);
}

#[test]
fn get_of_a_stored_value_the_redirect_path_refuses_is_409_naming_the_field() {
    let s =
        Service::start(config().link("go.example.com/broken", r#"{"url":"javascript:alert(1)"}"#));
    let r = s.send(api("GET", &format!("{LINK}/broken")));
    assert_eq!(problem(&r, 409)["field"], "url");
    assert_eq!(put(&s, "broken", SPRING).status, 200, "it can be replaced");
}

#[test]
fn the_etag_is_the_generation_and_changes_with_every_write() {
    let s = service();
    let first = put(&s, "gen", SPRING);
    let got = s.send(api("GET", &format!("{LINK}/gen")));
    assert_eq!(
        first.header("etag"),
        got.header("etag"),
        "PUT answers the stored version's ETag"
    );
    let second = put(&s, "gen", SPRING);
    assert_ne!(first.header("etag"), second.header("etag"));
}

#[test]
fn if_match_with_a_stale_etag_is_412_and_writes_nothing() {
    let s = service();
    let created = put(&s, "promo", SPRING);
    let v1 = created.header("etag").expect("etag").to_owned();

    let r = s.send(
        with_json(
            "PUT",
            &format!("{LINK}/promo"),
            r#"{"url":"https://example.com/v2"}"#,
        )
        .header("if-match", &v1),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let v2 = r.header("etag").expect("etag").to_owned();
    assert_ne!(v1, v2);

    let stale = s.send(
        with_json(
            "PUT",
            &format!("{LINK}/promo"),
            r#"{"url":"https://example.com/v3"}"#,
        )
        .header("if-match", &v1),
    );
    problem(&stale, 412);
    let now = s.send(api("GET", &format!("{LINK}/promo")));
    assert_eq!(now.json()["url"], "https://example.com/v2");
    assert_eq!(now.header("etag"), Some(v2.as_str()));
    assert_eq!(
        s.get("/promo").header("location"),
        Some("https://example.com/v2")
    );
}

#[test]
fn if_match_on_a_missing_link_is_412_and_creates_nothing() {
    let s = service();
    let tag = put(&s, "promo", SPRING)
        .header("etag")
        .expect("etag")
        .to_owned();
    let absent =
        s.send(with_json("PUT", &format!("{LINK}/other"), SPRING).header("if-match", &tag));
    problem(&absent, 412);
    assert_eq!(
        s.get("/other").status,
        404,
        "If-Match on a missing link creates nothing"
    );
}

#[test]
fn if_none_match_star_only_creates() {
    let s = service();
    let r = s.send(with_json("PUT", &format!("{LINK}/once"), SPRING).header("if-none-match", "*"));
    assert_eq!(r.status, 201, "{}", r.text());
    let again = s.send(
        with_json(
            "PUT",
            &format!("{LINK}/once"),
            r#"{"url":"https://example.com/x"}"#,
        )
        .header("if-none-match", "*"),
    );
    problem(&again, 412);
    assert_eq!(
        s.get("/once").header("location"),
        Some("https://example.com/spring")
    );
}

#[test]
fn delete_is_204_then_404_and_the_next_scan_sees_it() {
    let s = Service::start(config().link("go.example.com/spring", SPRING));
    assert_eq!(s.get("/spring").status, 302);
    assert_eq!(s.get("/spring").header("x-qr-cache"), Some("HIT"));

    let r = s.send(api("DELETE", &format!("{LINK}/spring")));
    assert_eq!(r.status, 204, "{}", r.text());
    assert!(r.body.is_empty());
    assert_eq!(s.get("/spring").status, 404, "the cached record was purged");
    problem(&s.send(api("DELETE", &format!("{LINK}/spring"))), 404);
    problem(&s.send(api("GET", &format!("{LINK}/spring"))), 404);
}

#[test]
fn delete_honours_if_match() {
    let s = service();
    let v1 = put(&s, "keep", SPRING)
        .header("etag")
        .expect("etag")
        .to_owned();
    put(&s, "keep", r#"{"url":"https://example.com/v2"}"#);
    problem(
        &s.send(api("DELETE", &format!("{LINK}/keep")).header("if-match", &v1)),
        412,
    );
    assert_eq!(s.get("/keep").status, 302);
}

#[test]
fn post_creates_a_random_slug_with_its_location() {
    let s = service();
    let mut slugs = Vec::new();
    for _ in 0..3 {
        let r = s.send(with_json(
            "POST",
            LINK,
            r#"{"url":"https://example.com/random","tags":["print"]}"#,
        ));
        assert_eq!(r.status, 201, "{}", r.text());
        let body = r.json();
        let slug = body["slug"].as_str().expect("slug").to_owned();
        assert_eq!(slug.len(), 8, "{slug}");
        assert!(
            slug.bytes()
                .all(|b| b"0123456789abcdefghjkmnpqrstvwxyz".contains(&b)),
            "{slug}"
        );
        assert_eq!(body["short_url"], format!("https://go.example.com/{slug}"));
        assert_eq!(
            (body["url"].as_str(), body["tags"][0].as_str()),
            (Some("https://example.com/random"), Some("print"))
        );
        assert_eq!(
            r.header("location"),
            Some(format!("{LINK}/{slug}").as_str())
        );
        assert!(r.header("etag").is_some());
        let scan = s.get(&format!("/{}", slug.to_uppercase()));
        assert_eq!(
            (scan.status, scan.header("location")),
            (302, Some("https://example.com/random"))
        );
        slugs.push(slug);
    }
    slugs.sort();
    slugs.dedup();
    assert_eq!(slugs.len(), 3, "every POST gets its own slug");
}

// --- validation -------------------------------------------------------------

#[test]
fn invalid_records_are_400_naming_the_field() {
    let s = service();
    let cases = [
        (
            r#"{"url":"https://example.com/","rules":[{"when":{"country":["DEU"]},"url":"https://example.com/de"}]}"#,
            "rules[0].when.country[0]",
        ),
        (r#"{"url":"https://example.com/","colour":"red"}"#, "colour"),
        (
            r#"{"url":"https://example.com/","rules":[{"when":{"carrier":["x"]},"url":"https://example.com/c"}]}"#,
            "rules[0].when.carrier",
        ),
        (r#"{"status":"active"}"#, "url"),
        (
            r#"{"url":"https://example.com/","split":[{"url":"https://example.com/a"}]}"#,
            "split[0].weight",
        ),
        (r#"{"url":"https://example.com/","code":200}"#, "code"),
        (r#"{"url":"javascript:alert(1)"}"#, "url"),
        (
            r#"{"url":"https://example.com/","expired_url":"data:text/html,hi"}"#,
            "expired_url",
        ),
    ];
    for (body, field) in cases {
        names_field(&put(&s, "bad", body), field);
        names_field(&s.send(with_json("POST", LINK, body)), field);
    }
    assert_eq!(s.get("/bad").status, 404);
}

#[test]
fn destinations_outside_destination_hosts_are_400_naming_url() {
    let s = Service::start(
        config().setting("destination_hosts", json!(["example.com", "*.example.com"])),
    );
    names_field(
        &put(&s, "phish", r#"{"url":"https://evil.test/login"}"#),
        "url",
    );
    names_field(
        &put(
            &s,
            "phish",
            r#"{"url":"https://example.com/","rules":[{"url":"https://evil.test/"}]}"#,
        ),
        "rules[0].url",
    );
    assert_eq!(
        put(&s, "fine", r#"{"url":"https://shop.example.com/"}"#).status,
        201
    );
    assert_eq!(s.get("/phish").status, 404);

    let per_domain = Service::start(config().domain_setting(
        "go.example.com",
        "destination_hosts",
        json!(["example.org"]),
    ));
    names_field(&put(&per_domain, "x", SPRING), "url");
}

#[test]
fn a_destination_on_the_short_domain_itself_is_400() {
    let s = service();
    let r = put(&s, "loop", r#"{"url":"https://GO.example.com/loop"}"#);
    names_field(&r, "url");
    assert!(
        r.json()["detail"].as_str().unwrap_or("").contains("loop"),
        "{}",
        r.text()
    );
}

#[test]
fn malformed_json_is_400() {
    let s = service();
    for body in [
        r#"{"url":"#,
        "not json",
        r#"{"url":"https://example.com/"} {}"#,
    ] {
        let r = put(&s, "broken", body);
        let problem = problem(&r, 400);
        assert!(
            problem["detail"].as_str().unwrap_or("").contains("JSON"),
            "{problem}"
        );
    }
}

#[test]
fn a_wrong_content_type_is_415() {
    let s = service();
    let path = format!("{LINK}/typed");
    for content_type in [
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        Some("application/x-ndjson"),
        None,
    ] {
        let mut req = api("PUT", &path).body(SPRING);
        if let Some(value) = content_type {
            req = req.header("content-type", value);
        }
        problem(&s.send(req), 415);
    }
    let charset = s.send(
        api("PUT", &path)
            .header("content-type", "application/json; charset=utf-8")
            .body(SPRING),
    );
    assert_eq!(charset.status, 201);
    let wrong = s.send(with_json("POST", "/_api/v1/import", "{}"));
    problem(&wrong, 415);
}

#[test]
fn bodies_over_their_routes_limit_are_413() {
    let s = service();
    // Valid JSON padded with spaces: only the size is wrong. A record route
    // takes one record (64 KiB and 512 bytes of room); an import 1 MiB.
    let pad = |len: usize| format!("{}{}", SPRING, " ".repeat(len - SPRING.len()));
    let record_limit = 64 * 1024 + 512;
    let over = put(&s, "big", &pad(record_limit + 1));
    problem(&over, 413);
    assert!(over.text().contains("66048"), "{}", over.text());
    problem(&put(&s, "big", &pad(1024 * 1024 + 1)), 413);
    assert_eq!(s.get("/big").status, 404);
    assert_eq!(
        put(&s, "big", &pad(record_limit)).status,
        201,
        "a record body at its limit is accepted"
    );
    problem(&s.send(import(&pad(1024 * 1024 + 1))), 413);
}

#[test]
fn bad_paths_and_parameters_name_the_part() {
    let s = Service::start(config().setting("domains", json!(["go.example.com"])));
    names_field(
        &s.send(api("GET", "/_api/v1/links/go.example.com/-bad")),
        "slug",
    );
    names_field(
        &s.send(with_json(
            "PUT",
            "/_api/v1/links/go.example.com/a%20b",
            SPRING,
        )),
        "slug",
    );
    names_field(
        &s.send(api("GET", "/_api/v1/links/go_example.com/x")),
        "domain",
    );
    names_field(
        &s.send(with_json(
            "PUT",
            "/_api/v1/links/other.example.com/x",
            SPRING,
        )),
        "domain",
    );
    names_field(&s.send(api("GET", &format!("{LINK}?limit=0"))), "limit");
    names_field(&s.send(api("GET", &format!("{LINK}?limt=2"))), "limt");
    names_field(&s.send(api("GET", &format!("{LINK}?prefix=a/b"))), "prefix");
    names_field(&s.send(api("GET", &format!("{LINK}?cursor=zz"))), "cursor");
}

#[test]
fn unknown_routes_are_404_and_other_methods_405_with_allow() {
    let s = service();
    problem(&s.send(api("GET", "/_api/v1/nothing")), 404);
    problem(
        &s.send(api("GET", "/_api/v1/links/go.example.com/a/b")),
        404,
    );
    let r = s.send(with_json("POST", &format!("{LINK}/x"), SPRING));
    problem(&r, 405);
    assert_eq!(r.header("allow"), Some("GET, PUT, DELETE"));
    let r = s.send(api("PATCH", LINK));
    problem(&r, 405);
    assert_eq!(r.header("allow"), Some("GET, POST"));
    let r = s.send(api("GET", "/_api/v1/import"));
    assert_eq!((r.status, r.header("allow")), (405, Some("POST")));
}

// --- listing ----------------------------------------------------------------

#[test]
fn listing_pages_through_every_link_with_the_cursor() {
    let mut config = config()
        .link(
            "go.example.com/summer",
            r#"{"url":"https://example.com/summer","status":"disabled"}"#,
        )
        .link("go.example.com/broken", r#"{"url":"javascript:x"}"#)
        .link("qr.example.org/spring-x", SPRING)
        .link("go.example.com.evil/spring-y", SPRING);
    for n in 1..=5 {
        config = config.link(
            &format!("go.example.com/spring-{n}"),
            &format!(r#"{{"url":"https://example.com/{n}"}}"#),
        );
    }
    let s = Service::start(config);

    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let target = match &cursor {
            Some(c) => format!("{LINK}?prefix=spring-&limit=2&cursor={c}"),
            None => format!("{LINK}?prefix=spring-&limit=2"),
        };
        let r = s.send(api("GET", &target));
        assert_eq!(r.status, 200, "{}", r.text());
        let body = r.json();
        let items = body["items"].as_array().expect("items").clone();
        assert!(items.len() <= 2);
        for item in &items {
            let slug = item["slug"].as_str().expect("slug").to_owned();
            assert_eq!(
                item["url"],
                format!("https://example.com/{}", &slug["spring-".len()..])
            );
            assert_eq!(item["status"], "active");
            seen.push(slug);
        }
        pages += 1;
        assert!(pages <= 5, "the cursor must end");
        match body["cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    assert_eq!(
        seen,
        ["spring-1", "spring-2", "spring-3", "spring-4", "spring-5"]
    );
    assert!(pages >= 3, "five links at two a page take three pages");

    let all = s.send(api("GET", LINK)).json();
    let slugs: Vec<&str> = all["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|i| i["slug"].as_str())
        .collect();
    assert_eq!(
        slugs,
        ["broken", "spring-1", "spring-2", "spring-3", "spring-4", "spring-5", "summer"],
        "one domain only"
    );
    assert_eq!(all["cursor"], Value::Null);
    let items = all["items"].as_array().expect("items");
    assert_eq!(items[6]["status"], "disabled");
    assert_eq!(
        items[0]["status"], "invalid",
        "a stored value the redirect path refuses is shown as such"
    );
}

#[test]
fn listing_an_empty_domain_is_an_empty_page() {
    let s = service();
    let r = s.send(api("GET", LINK));
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json(), json!({"items": [], "cursor": null}));
}

#[test]
fn without_the_links_store_writes_are_503_with_retry_after() {
    let s = Service::start(config().without_kv());
    let r = put(&s, "spring", SPRING);
    problem(&r, 503);
    assert_eq!(r.header("retry-after"), Some("30"));
    assert!(r.text().contains("links KV store"), "{}", r.text());
}

// --- import -----------------------------------------------------------------

#[test]
fn an_import_writes_each_good_line_and_reports_the_bad_ones() {
    let s = Service::start(
        config()
            .link("go.example.com/old", SPRING)
            .setting("destination_hosts", json!(["example.com"]))
            .setting("domains", json!(["go.example.com"])),
    );
    let body = [
        r#"{"domain":"go.example.com","slug":"one","url":"https://example.com/1"}"#,
        r#"{"domain":"go.example.com","slug":"phish","url":"https://evil.test/"}"#,
        "",
        r#"{"domain":"go.example.com","slug":"Two","url":"https://example.com/2","tags":["bulk"]}"#,
        r#"{"domain":"go.example.com","slug":"odd","url":"https://example.com/","colour":"red"}"#,
        r#"{"domain":"go.example.com","slug":"old","url":"https://example.com/new"}"#,
        r#"{"domain":"go.example.com","slug":"-x","url":"https://example.com/"}"#,
        r#"{"oops"#,
        r#"{"domain":"elsewhere.example.com","slug":"x","url":"https://example.com/"}"#,
    ]
    .join("\n");
    let r = s.send(import(&body));
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("content-type"), Some("application/x-ndjson"));
    let results: Vec<Value> = r.ndjson();
    let outcome = |i: usize| {
        (
            results[i]["line"].as_u64(),
            results[i]["slug"].clone(),
            results[i]["status"].as_u64(),
            results[i]["field"].clone(),
        )
    };
    assert_eq!(outcome(0), (Some(1), json!("one"), Some(201), Value::Null));
    assert_eq!(
        outcome(1),
        (Some(2), json!("phish"), Some(400), json!("url"))
    );
    assert_eq!(
        outcome(2),
        (Some(4), json!("two"), Some(201), Value::Null),
        "the blank line 3 is skipped, numbers kept"
    );
    assert_eq!(
        outcome(3),
        (Some(5), json!("odd"), Some(400), json!("colour"))
    );
    assert_eq!(outcome(4), (Some(6), json!("old"), Some(200), Value::Null));
    assert_eq!(
        (results[5]["status"].as_u64(), results[5]["field"].as_str()),
        (Some(400), Some("slug"))
    );
    assert_eq!(
        (results[6]["line"].as_u64(), results[6]["status"].as_u64()),
        (Some(8), Some(400))
    );
    assert_eq!(
        outcome(7),
        (Some(9), json!("x"), Some(400), json!("domain")),
        "a domain this service does not serve"
    );
    assert_eq!(results.len(), 8, "one result per link line");
    assert!(results[1]["error"]
        .as_str()
        .unwrap_or("")
        .contains("evil.test"));

    assert_eq!(
        s.get("/one").header("location"),
        Some("https://example.com/1")
    );
    assert_eq!(
        s.get("/two").header("location"),
        Some("https://example.com/2")
    );
    assert_eq!(
        s.get("/old").header("location"),
        Some("https://example.com/new")
    );
    assert_eq!(s.get("/phish").status, 404);
    assert_eq!(s.get("/odd").status, 404);
}

// --- audit ------------------------------------------------------------------

/// What one admin session wrote: the audit lines of a create, an update and
/// a delete of `audited`, a POST and an import of `bulk`, after which come a
/// refused PUT, a refused conditional PUT, a DELETE of a missing link and a
/// GET, which must write nothing.
struct Session {
    lines: Vec<Value>,
    /// The generations (ETags) the create and the update answered.
    v1: u64,
    v2: u64,
    /// The slug the POST drew.
    posted: String,
}

fn generation(r: &Reply) -> u64 {
    r.header("etag")
        .expect("etag")
        .trim_matches('"')
        .parse()
        .expect("generation")
}

fn audited_session() -> Session {
    let s = service();
    let v1 = generation(&put(&s, "audited", SPRING));
    let v2 = generation(&put(&s, "audited", r#"{"url":"https://example.com/v2"}"#));
    assert_eq!(
        s.send(api("DELETE", &format!("{LINK}/audited"))).status,
        204
    );
    let posted = s.send(with_json("POST", LINK, SPRING)).json()["slug"]
        .as_str()
        .expect("slug")
        .to_owned();
    let bulk = r#"{"domain":"go.example.com","slug":"bulk","url":"https://example.com/bulk"}"#;
    assert_eq!(s.send(import(bulk)).status, 200);
    names_field(&put(&s, "audited", r#"{"url":"ftp://x"}"#), "url");
    problem(
        &s.send(with_json("PUT", &format!("{LINK}/bulk"), SPRING).header("if-none-match", "*")),
        412,
    );
    problem(&s.send(api("DELETE", &format!("{LINK}/nope"))), 404);
    assert_eq!(s.send(api("GET", &format!("{LINK}/bulk"))).status, 200);
    // Every request has finished, lines written after the response included.
    s.wait_for_completed(9);
    Session {
        lines: audit(&s, 5),
        v1,
        v2,
        posted,
    }
}

#[test]
fn every_write_writes_one_audit_line_and_refusals_and_reads_none() {
    let session = audited_session();
    let calls: Vec<(&str, &str, &str)> = session
        .lines
        .iter()
        .map(|l| {
            (
                l["action"].as_str().unwrap_or(""),
                l["method"].as_str().unwrap_or(""),
                l["path"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        calls,
        [
            ("create", "PUT", "/_api/v1/links/go.example.com/audited"),
            ("update", "PUT", "/_api/v1/links/go.example.com/audited"),
            ("delete", "DELETE", "/_api/v1/links/go.example.com/audited"),
            ("create", "POST", "/_api/v1/links/go.example.com"),
            ("create", "POST", "/_api/v1/import"),
        ],
        "one line per write, none for refusals or reads: {:?}",
        session.lines
    );
}

#[test]
fn a_create_line_has_the_new_value_and_no_old_one() {
    let session = audited_session();
    let create = &session.lines[0];
    assert_eq!(
        (create["domain"].as_str(), create["slug"].as_str()),
        (Some("go.example.com"), Some("audited"))
    );
    assert_eq!(
        (create["old"].clone(), create["new"]["url"].clone()),
        (Value::Null, json!("https://example.com/spring"))
    );
    assert_eq!(
        (
            create["generation_before"].clone(),
            create["generation_after"].as_u64()
        ),
        (Value::Null, Some(session.v1))
    );
}

#[test]
fn an_update_line_has_the_old_and_new_values_and_generations() {
    let session = audited_session();
    let update = &session.lines[1];
    assert_eq!(update["action"], "update");
    assert_eq!(
        (update["old"]["url"].as_str(), update["new"]["url"].as_str()),
        (
            Some("https://example.com/spring"),
            Some("https://example.com/v2")
        )
    );
    assert_eq!(
        (
            update["generation_before"].as_u64(),
            update["generation_after"].as_u64()
        ),
        (Some(session.v1), Some(session.v2))
    );
}

#[test]
fn a_delete_line_has_the_old_value_and_no_new_one() {
    let session = audited_session();
    let delete = &session.lines[2];
    assert_eq!(delete["action"], "delete");
    assert_eq!(
        (delete["old"]["url"].as_str(), delete["new"].clone()),
        (Some("https://example.com/v2"), Value::Null)
    );
    assert_eq!(
        (
            delete["generation_before"].as_u64(),
            delete["generation_after"].clone()
        ),
        (Some(session.v2), Value::Null)
    );
}

#[test]
fn a_post_and_an_import_line_name_the_slug_they_created() {
    let session = audited_session();
    let (post, bulk) = (&session.lines[3], &session.lines[4]);
    assert_eq!(
        (post["action"].as_str(), post["slug"].as_str()),
        (Some("create"), Some(session.posted.as_str()))
    );
    assert_eq!(
        (bulk["action"].as_str(), bulk["slug"].as_str()),
        (Some("create"), Some("bulk"))
    );
}

#[test]
fn every_audit_line_has_its_version_time_request_id_and_caller() {
    let session = audited_session();
    for line in &session.lines {
        assert!(
            line["ts"]
                .as_str()
                .is_some_and(|t| t.ends_with('Z') && t.len() == 24),
            "{line}"
        );
        assert!(
            line["id"].as_str().is_some_and(|id| !id.is_empty()),
            "{line}"
        );
        assert_eq!(line["v"], 2, "{line}");
        // The caller: 127.0.0.1 as the default ip_mode (truncate) writes it; the
        // harness sends no User-Agent.
        assert_eq!(
            (line["ip"].as_str(), line["ua"].clone()),
            (Some("127.0.0.0"), Value::Null),
            "{line}"
        );
    }
    let ids: std::collections::BTreeSet<&str> = session
        .lines
        .iter()
        .filter_map(|l| l["id"].as_str())
        .collect();
    assert_eq!(ids.len(), 5, "each write has its own request id");
}

#[test]
fn audit_lines_name_the_caller_as_ip_mode_says() {
    const DOMAINS: [&str; 4] = [
        "go.example.com",
        "qr.example.org",
        "links.example.net",
        "x.example.com",
    ];
    let s = Service::start(
        config()
            .secret("ip_salt", "pepper")
            .setting("domains", json!(DOMAINS))
            .domain_setting("qr.example.org", "ip_mode", json!("full"))
            .domain_setting("links.example.net", "ip_mode", json!("hash"))
            .domain_setting("x.example.com", "ip_mode", json!("none")),
    );
    for domain in DOMAINS {
        let path = format!("/_api/v1/links/{domain}/caller?x=1");
        let r = s.send(
            with_json("PUT", &path, SPRING)
                .from("127.0.0.7")
                .header("user-agent", "audit-test/1.0 (\"quoted\")"),
        );
        assert_eq!(r.status, 201, "{domain}: {}", r.text());
    }
    let lines = audit(&s, 4);
    let line = &lines[0];
    assert_eq!(
        (
            line["ip"].as_str(),
            line["ua"].as_str(),
            line["method"].as_str(),
            line["path"].as_str()
        ),
        (
            Some("127.0.0.0"),
            Some("audit-test/1.0 (\"quoted\")"),
            Some("PUT"),
            Some("/_api/v1/links/go.example.com/caller")
        ),
        "the address cut to its /24 (default ip_mode truncate), the path without its query: {line}"
    );
    assert_eq!(lines[1]["ip"], "127.0.0.7", "full: {}", lines[1]);
    let hashed = lines[2]["ip"].as_str().unwrap_or("");
    assert!(
        hashed.len() == 32 && hashed.bytes().all(|b| b.is_ascii_hexdigit()),
        "hash: a keyed hash, not the address: {}",
        lines[2]
    );
    assert_eq!(lines[3]["ip"], Value::Null, "none: {}", lines[3]);
}

/// A token offered by the failed attempts of [`failed_authentications`];
/// distinctive, so that any trace of it in Viceroy's output is found.
const OFFERED: &str = "0ffered-Secret-q7x9z2";

/// A service sent five requests that fail authentication (DELETE and GET of
/// `spring` in turn, from 127.0.0.9 as `intruder/0.1`, offering [`OFFERED`]
/// in several forms or nothing), then one that passes; all of them finished.
fn failed_authentications() -> (Service, usize) {
    let s = service();
    let offered = OFFERED;
    let path = format!("{LINK}/spring");
    let attempts = [
        Some(format!("Bearer {offered}")),
        Some(format!("bearer   {offered}")),
        Some(format!("Basic {offered}")),
        Some(offered.to_owned()),
        None,
    ];
    for (n, authorization) in attempts.iter().enumerate() {
        let mut req = Req::new(if n % 2 == 0 { "DELETE" } else { "GET" }, &path)
            .from("127.0.0.9")
            .header("user-agent", "intruder/0.1");
        if let Some(value) = authorization {
            req = req.header("authorization", value);
        }
        problem(&s.send(req), 401);
    }
    // A request that passes authentication writes no auth_failed line.
    assert_eq!(s.send(api("GET", "/_api/v1/openapi.json")).status, 200);
    s.wait_for_completed(attempts.len() + 1);
    (s, attempts.len())
}

#[test]
fn a_failed_authentication_writes_one_auth_failed_line() {
    let (s, attempts) = failed_authentications();
    let path = format!("{LINK}/spring");
    let lines = audit(&s, attempts);
    assert_eq!(
        lines.len(),
        attempts,
        "one line per failed request: {lines:?}"
    );
    for (n, line) in lines.iter().enumerate() {
        assert_eq!(line["action"], "auth_failed", "{line}");
        assert_eq!(
            (
                line["method"].as_str(),
                line["path"].as_str(),
                line["ip"].as_str(),
                line["ua"].as_str()
            ),
            (
                Some(if n % 2 == 0 { "DELETE" } else { "GET" }),
                Some(path.as_str()),
                Some("127.0.0.0"),
                Some("intruder/0.1")
            ),
            "{line}"
        );
        assert!(
            line["id"].as_str().is_some_and(|id| !id.is_empty()),
            "{line}"
        );
        assert!(
            line["ts"].as_str().is_some_and(|t| t.ends_with('Z')),
            "{line}"
        );
        assert_eq!(
            (line["domain"].clone(), line["old"].clone()),
            (Value::Null, Value::Null)
        );
    }
}

#[test]
fn neither_the_offered_nor_the_real_token_reaches_the_output() {
    let (s, _) = failed_authentications();
    let log = s.log();
    let leaks: Vec<&String> = log.iter().filter(|l| l.contains(OFFERED)).collect();
    assert!(
        leaks.is_empty(),
        "the offered token reached the output: {leaks:?}"
    );
    assert!(
        !log.iter().any(|l| l.contains(TOKEN)),
        "nor did the real one"
    );
}

#[test]
fn the_old_value_is_logged_as_stored_even_when_it_is_not_a_valid_record() {
    let broken = r#"{"url":"javascript:alert(1)","colour":"red"}"#;
    let s = Service::start(
        config()
            .link("go.example.com/broken", broken)
            .link("go.example.com/text", "not a record"),
    );
    assert_eq!(put(&s, "broken", SPRING).status, 200);
    assert_eq!(s.send(api("DELETE", &format!("{LINK}/text"))).status, 204);
    let lines = audit(&s, 2);
    let (update, delete) = (&lines[0], &lines[1]);
    assert_eq!(update["action"], "update");
    assert_eq!(
        update["old"],
        serde_json::from_str::<Value>(broken).expect("json"),
        "the stored JSON, unknown fields and all: {update}"
    );
    assert_eq!(update["new"]["url"], "https://example.com/spring");
    assert_eq!(delete["action"], "delete");
    assert_eq!(
        delete["old"], "not a record",
        "text that is not JSON, as a string"
    );
    assert_eq!(
        (
            update["old_truncated"].as_bool(),
            delete["old_truncated"].as_bool()
        ),
        (Some(false), Some(false))
    );
}

#[test]
fn every_audit_line_is_bounded_in_size() {
    const LINE_BOUND: usize = 64 * 1024;
    const VALUE_BOUND: usize = 16 * 1024;
    // A stored record near the 1 MiB limit (readers accept long notes) ...
    let big_old =
        json!({"url": "https://example.com/big", "note": "n".repeat(1_000_000)}).to_string();
    // ... replaced by an admin record of about 23 KB (12 rules with long URLs),
    // then deleted: both values are over the bound, and the requests stay
    // within the harness's CPU budget.
    let rules: Vec<Value> = (0..12)
        .map(|i| {
            let url = format!("https://example.com/{}", "r".repeat(1900));
            json!({"when": {"query": {"r": i.to_string()}}, "url": url})
        })
        .collect();
    let big_new = json!({"url": "https://example.com/new", "rules": rules}).to_string();
    let s = Service::start(config().link("go.example.com/big", &big_old));
    let r = put(&s, "big", &big_new);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(s.send(api("DELETE", &format!("{LINK}/big"))).status, 204);
    let long_ua = "u".repeat(8000);
    let r = s.send(
        Req::new("PUT", &format!("{LINK}/{}", "p".repeat(6000)))
            .header("user-agent", &long_ua)
            .header("authorization", "Bearer wrong"),
    );
    assert_eq!(r.status, 401);

    let raw = s.wait_for_lines("audit", 3);
    assert_eq!(raw.len(), 3, "{}", raw.len());
    for line in &raw {
        assert!(
            line.len() <= LINE_BOUND,
            "an audit line of {} bytes",
            line.len()
        );
    }
    let lines = audit(&s, 3);
    let (update, delete, failed) = (&lines[0], &lines[1], &lines[2]);
    for (value, flag) in [
        (&update["old"], &update["old_truncated"]),
        (&update["new"], &update["new_truncated"]),
        (&delete["old"], &delete["old_truncated"]),
    ] {
        assert_eq!(flag, true);
        let text = value
            .as_str()
            .expect("a cut value is its text's first bytes");
        assert!(serde_json::to_string(text).expect("json").len() <= VALUE_BOUND);
        assert!(text.len() > VALUE_BOUND / 2, "as much as fits is kept");
    }
    assert!(update["old"]
        .as_str()
        .is_some_and(|t| big_old.starts_with(t)));
    assert!(update["new"]
        .as_str()
        .is_some_and(|t| t.starts_with(r#"{"url":"https://example.com/new""#)));
    assert_eq!(failed["action"], "auth_failed");
    assert!(failed["ua"]
        .as_str()
        .is_some_and(|ua| ua.len() < 1024 && long_ua.starts_with(ua)));
}

// --- atomic conditional delete ------------------------------------------------

#[test]
fn a_conditional_delete_deletes_only_the_version_matched() {
    let s = Service::start(config().link("go.example.com/spring", SPRING));
    let v1 = s
        .send(api("GET", &format!("{LINK}/spring")))
        .header("etag")
        .expect("etag")
        .to_owned();
    let v2 = put(&s, "spring", r#"{"url":"https://example.com/v2"}"#)
        .header("etag")
        .expect("etag")
        .to_owned();
    let stale = s.send(api("DELETE", &format!("{LINK}/spring")).header("if-match", &v1));
    let detail = problem(&stale, 412)["detail"]
        .as_str()
        .unwrap_or("")
        .to_owned();
    assert!(detail.contains(&v2), "names the current ETag: {detail}");
    assert_eq!(
        s.get("/spring").header("location"),
        Some("https://example.com/v2")
    );
    let ok = s.send(api("DELETE", &format!("{LINK}/spring")).header("if-match", &v2));
    assert_eq!(ok.status, 204, "{}", ok.text());
    problem(
        &s.send(api("DELETE", &format!("{LINK}/spring")).header("if-match", &v2)),
        412,
    );
    let lines = audit(&s, 2);
    assert_eq!(
        lines.len(),
        2,
        "the refused delete wrote nothing: {lines:?}"
    );
    assert_eq!(
        (
            lines[1]["action"].as_str(),
            lines[1]["generation_before"].as_u64(),
            lines[1]["old"]["url"].as_str()
        ),
        (
            Some("delete"),
            v2.trim_matches('"').parse().ok(),
            Some("https://example.com/v2")
        )
    );
}

/// A service where `spring` was scanned (and cached), then deleted with
/// `If-Match`, next to `summer`; with the deleted version's ETag.
fn deleted_spring() -> (Service, String) {
    let s = Service::start(config().link("go.example.com/spring", SPRING).link(
        "go.example.com/summer",
        r#"{"url":"https://example.com/summer"}"#,
    ));
    assert_eq!(s.get("/spring").status, 302);
    assert_eq!(s.get("/spring").header("x-qr-cache"), Some("HIT"));
    let tag = s
        .send(api("GET", &format!("{LINK}/spring")))
        .header("etag")
        .expect("etag")
        .to_owned();
    let r = s.send(api("DELETE", &format!("{LINK}/spring")).header("if-match", &tag));
    assert_eq!(r.status, 204, "{}", r.text());
    (s, tag)
}

#[test]
fn a_deleted_link_is_absent_everywhere() {
    let (s, tag) = deleted_spring();
    for _ in 0..2 {
        let scan = s.get("/spring");
        assert_eq!(scan.status, 404, "scans see no link (cached or not)");
    }
    assert_eq!(s.get("/spring+").status, 404, "nor does the preview");
    problem(&s.send(api("GET", &format!("{LINK}/spring"))), 404);
    problem(&s.send(api("DELETE", &format!("{LINK}/spring"))), 404);
    problem(
        &s.send(api("DELETE", &format!("{LINK}/spring")).header("if-match", "*")),
        412,
    );
    problem(
        &s.send(with_json("PUT", &format!("{LINK}/spring"), SPRING).header("if-match", &tag)),
        412,
    );
    let listed = s.send(api("GET", LINK)).json();
    assert_eq!(
        listed["items"]
            .as_array()
            .expect("items")
            .iter()
            .filter_map(|i| i["slug"].as_str())
            .collect::<Vec<_>>(),
        ["summer"],
        "the listing leaves it out: {listed}"
    );
}

#[test]
fn a_deleted_link_can_be_created_again_with_no_old_value() {
    let (s, _) = deleted_spring();
    let again = s.send(
        with_json(
            "PUT",
            &format!("{LINK}/spring"),
            r#"{"url":"https://example.com/again"}"#,
        )
        .header("if-none-match", "*"),
    );
    assert_eq!(
        again.status,
        201,
        "If-None-Match: * creates over a deleted link: {}",
        again.text()
    );
    assert_eq!(
        s.get("/spring").header("location"),
        Some("https://example.com/again")
    );
    let got = s.send(api("GET", &format!("{LINK}/spring")));
    assert_eq!(
        (got.status, got.header("etag")),
        (200, again.header("etag"))
    );
    problem(
        &s.send(with_json("PUT", &format!("{LINK}/spring"), SPRING).header("if-none-match", "*")),
        412,
    );
    let lines = audit(&s, 2);
    assert_eq!(
        (
            lines[1]["action"].as_str(),
            lines[1]["old"].clone(),
            lines[1]["generation_before"].clone()
        ),
        (Some("create"), Value::Null, Value::Null),
        "a create over a deleted link has no old value: {}",
        lines[1]
    );
}

#[test]
fn an_import_over_a_deleted_link_creates_it() {
    let s = Service::start(config().link("go.example.com/spring", SPRING));
    assert_eq!(s.send(api("DELETE", &format!("{LINK}/spring"))).status, 204);
    let line = r#"{"domain":"go.example.com","slug":"spring","url":"https://example.com/back"}"#;
    let r = s.send(import(line));
    assert_eq!(r.status, 200, "{}", r.text());
    let result: Value =
        serde_json::from_str(r.text().lines().next().unwrap_or("")).expect("a result");
    assert_eq!(result["status"], 201, "created, not replaced: {result}");
    assert_eq!(
        s.get("/spring").header("location"),
        Some("https://example.com/back")
    );
    let lines = audit(&s, 2);
    assert_eq!(
        (lines[1]["action"].as_str(), lines[1]["old"].clone()),
        (Some("create"), Value::Null),
        "{}",
        lines[1]
    );
}

#[test]
fn after_a_delete_scans_fall_through_to_the_origin_as_on_any_kv_miss() {
    let origin = qr_edge_tests::Origin::start();
    origin.put(
        "go.example.com/spring",
        r#"{"url":"https://example.com/from-origin"}"#,
    );
    let s = Service::start(
        config()
            .link("go.example.com/spring", SPRING)
            .origin(&origin.url()),
    );
    assert_eq!(
        s.get("/spring").header("location"),
        Some("https://example.com/spring")
    );
    assert_eq!(s.send(api("DELETE", &format!("{LINK}/spring"))).status, 204);
    assert_eq!(
        s.get("/spring").header("location"),
        Some("https://example.com/from-origin")
    );
}

// --- caps on note and tags ------------------------------------------------------

#[test]
fn note_and_tags_over_their_caps_are_400_naming_the_field() {
    let s = service();
    let tags = |n: usize| (0..n).map(|i| format!("t{i}")).collect::<Vec<_>>();
    let cases = [
        (
            json!({"url": "https://example.com/", "note": "n".repeat(1001)}),
            "note",
        ),
        (
            json!({"url": "https://example.com/", "tags": tags(33)}),
            "tags",
        ),
        (
            json!({"url": "https://example.com/", "tags": ["a", "b", "c", "x".repeat(65)]}),
            "tags[3]",
        ),
    ];
    for (body, field) in &cases {
        names_field(&put(&s, "capped", &body.to_string()), field);
        names_field(&s.send(with_json("POST", LINK, &body.to_string())), field);
        let mut line = body.clone();
        line["domain"] = json!("go.example.com");
        line["slug"] = json!("capped");
        let r = s.send(import(&line.to_string()));
        let result: Value =
            serde_json::from_str(r.text().lines().next().unwrap_or("")).expect("a result line");
        assert_eq!(
            (result["status"].as_u64(), result["field"].as_str()),
            (Some(400), Some(*field)),
            "{result}"
        );
    }
    assert_eq!(s.get("/capped").status, 404, "nothing was written");
    let at_caps = json!({"url": "https://example.com/", "note": "é".repeat(1000), "tags": vec!["t".repeat(64); 32]});
    assert_eq!(
        put(&s, "capped", &at_caps.to_string()).status,
        201,
        "the caps themselves pass"
    );
}

#[test]
fn a_stored_record_over_the_caps_still_redirects() {
    let stored =
        json!({"url": "https://example.com/old", "note": "n".repeat(5000), "tags": vec!["t"; 40]})
            .to_string();
    let s = Service::start(config().link("go.example.com/old", &stored));
    assert_eq!(
        s.get("/old").header("location"),
        Some("https://example.com/old")
    );
    let got = s.send(api("GET", &format!("{LINK}/old")));
    assert_eq!(got.status, 200, "readers keep accepting it: {}", got.text());
    names_field(&put(&s, "old", &stored), "note");
}

// --- OpenAPI ----------------------------------------------------------------

#[test]
fn the_openapi_document_is_served_as_kept_in_the_repo() {
    let s = service();
    let r = s.send(api("GET", "/_api/v1/openapi.json"));
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("application/json"));
    let repo = std::fs::read_to_string(qr_edge_tests::repo_root().join("openapi/openapi.json"))
        .expect("openapi/openapi.json");
    assert_eq!(r.text(), repo);
    let doc = r.json();
    assert_eq!(doc["openapi"], "3.1.0");
    for path in [
        "/_api/v1/links/{domain}/{slug}",
        "/_api/v1/links/{domain}",
        "/_api/v1/import",
        "/_api/v1/openapi.json",
    ] {
        assert!(doc["paths"][path].is_object(), "{path} is documented");
    }
}

// --- concurrency --------------------------------------------------------------
//
// Insert-if-absent and generation-matched replacement are proven against the
// KV store by the edge shell's unit tests inside Viceroy (`src/admin.rs`).
// They are deliberately not raced here: Viceroy's in-memory KV store checks a
// precondition and then writes in two steps (viceroy-lib 0.22.0
// `object_store.rs`, `insert`), so two truly concurrent inserts can both pass
// under Viceroy, while Fastly's KV store decides them atomically.
