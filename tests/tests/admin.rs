//! SPEC section 8: the admin API under `/_api/v1/`, against the real wasm under
//! the real Viceroy: auth, validation, optimistic concurrency, visibility of a
//! write to the very next scan, listing, import, audit lines, OpenAPI document.

use qr_edge_tests::{Reply, Req, Service, ServiceConfig};
use serde_json::{json, Value};

const TOKEN: &str = "t0k3n";
const LINK: &str = "/_api/v1/links/go.example.com";
const SPRING: &str = r#"{"url":"https://example.com/spring"}"#;

fn config() -> ServiceConfig {
    ServiceConfig::new().secret("admin_token", TOKEN)
}

fn service() -> Service {
    Service::start(config())
}

/// An authorised admin request.
fn api(method: &str, path: &str) -> Req {
    Req::new(method, path).header("authorization", &format!("Bearer {TOKEN}"))
}

/// An authorised request with a JSON body.
fn with_json(method: &str, path: &str, body: &str) -> Req {
    api(method, path)
        .header("content-type", "application/json")
        .body(body)
}

fn put(s: &Service, slug: &str, body: &str) -> Reply {
    s.send(with_json("PUT", &format!("{LINK}/{slug}"), body))
}

/// Asserts an RFC 9457 problem with this status, and returns its body.
fn problem(r: &Reply, status: u16) -> Value {
    assert_eq!(r.status, status, "{}", r.text());
    assert_eq!(
        r.header("content-type"),
        Some("application/problem+json"),
        "{}",
        r.text()
    );
    let body = r.json();
    assert_eq!(body["status"], status);
    assert!(
        body["title"].is_string() && body["detail"].is_string(),
        "{body}"
    );
    body
}

/// Asserts a 400 problem naming `field`.
fn names_field(r: &Reply, field: &str) {
    let body = problem(r, 400);
    assert_eq!(body["field"], field, "{body}");
}

fn audit(s: &Service, n: usize) -> Vec<Value> {
    s.wait_for_lines("audit", n)
        .iter()
        .map(|l| {
            serde_json::from_str(l).unwrap_or_else(|e| panic!("audit line is not JSON ({e}): {l}"))
        })
        .collect()
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
    let r = s.send(Req::get("/_api/v1/openapi.json"));
    assert_eq!(r.status, 401, "the OpenAPI document needs the token too");
    let ok = s.send(api("GET", &path));
    assert_eq!(
        ok.status, 404,
        "the right token passes (and the link does not exist)"
    );
    assert_eq!(ok.json()["title"], "No such link");
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
    let tag = r.header("etag").expect("etag").to_owned();

    let same = s.send(api("GET", &format!("{LINK}/spring")).header("if-none-match", &tag));
    assert_eq!(same.status, 304);
    assert_eq!(same.header("etag"), Some(tag.as_str()));

    let missing = s.send(api("GET", &format!("{LINK}/nope")));
    problem(&missing, 404);
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

    let absent = s.send(with_json("PUT", &format!("{LINK}/other"), SPRING).header("if-match", &v2));
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
    let s = Service::start(config().setting("destination_hosts", "example.com,*.example.com"));
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

    let per_domain =
        Service::start(config().setting("go.example.com:destination_hosts", "example.org"));
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
    let import = s.send(with_json("POST", "/_api/v1/import", "{}"));
    problem(&import, 415);
}

#[test]
fn a_body_over_1_mib_is_413() {
    let s = service();
    // Valid JSON padded with spaces: only the size is wrong.
    let padded = format!("{}{}", SPRING, " ".repeat(1024 * 1024 + 1 - SPRING.len()));
    let exact = format!("{}{}", SPRING, " ".repeat(1024 * 1024 - SPRING.len()));
    problem(&put(&s, "big", &padded), 413);
    assert_eq!(s.get("/big").status, 404);
    assert_eq!(
        put(&s, "big", &exact).status,
        201,
        "exactly 1 MiB is accepted"
    );
    let import = s.send(
        api("POST", "/_api/v1/import")
            .header("content-type", "application/x-ndjson")
            .body(padded),
    );
    problem(&import, 413);
}

#[test]
fn bad_paths_and_parameters_name_the_part() {
    let s = Service::start(config().setting("domains", "go.example.com"));
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
            .setting("destination_hosts", "example.com")
            .setting("domains", "go.example.com"),
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
    let r = s.send(
        api("POST", "/_api/v1/import")
            .header("content-type", "application/x-ndjson")
            .body(body),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("content-type"), Some("application/x-ndjson"));
    let results: Vec<Value> = r
        .text()
        .lines()
        .map(|l| {
            serde_json::from_str(l).unwrap_or_else(|e| panic!("result line is not JSON ({e}): {l}"))
        })
        .collect();
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

#[test]
fn an_import_of_over_10000_lines_is_413_and_writes_nothing() {
    let s = service();
    let line =
        |n: usize| format!(r#"{{"domain":"go.example.com","slug":"s{n}","url":"https://e.com/"}}"#);
    let body: Vec<String> = (0..10_001).map(line).collect();
    let r = s.send(
        api("POST", "/_api/v1/import")
            .header("content-type", "application/x-ndjson")
            .body(body.join("\n")),
    );
    problem(&r, 413);
    assert_eq!(s.get("/s0").status, 404);
}

// --- audit ------------------------------------------------------------------

#[test]
fn every_write_writes_one_audit_line() {
    let s = service();
    let created = put(&s, "audited", SPRING);
    let v1: u64 = created
        .header("etag")
        .expect("etag")
        .trim_matches('"')
        .parse()
        .expect("generation");
    let updated = put(&s, "audited", r#"{"url":"https://example.com/v2"}"#);
    let v2: u64 = updated
        .header("etag")
        .expect("etag")
        .trim_matches('"')
        .parse()
        .expect("generation");
    assert_eq!(
        s.send(api("DELETE", &format!("{LINK}/audited"))).status,
        204
    );
    let posted = s.send(with_json("POST", LINK, SPRING)).json();
    let import = r#"{"domain":"go.example.com","slug":"bulk","url":"https://example.com/bulk"}"#;
    s.send(
        api("POST", "/_api/v1/import")
            .header("content-type", "application/x-ndjson")
            .body(import),
    );
    // Refused writes leave no line.
    names_field(&put(&s, "audited", r#"{"url":"ftp://x"}"#), "url");
    problem(
        &s.send(with_json("PUT", &format!("{LINK}/bulk"), SPRING).header("if-none-match", "*")),
        412,
    );
    problem(&s.send(api("DELETE", &format!("{LINK}/nope"))), 404);
    s.send(api("GET", &format!("{LINK}/bulk")));
    s.wait_for_completed(9);

    let lines = audit(&s, 5);
    assert_eq!(
        lines.len(),
        5,
        "one line per write, none for refusals or reads: {lines:?}"
    );
    let [create, update, delete, post, bulk] =
        [&lines[0], &lines[1], &lines[2], &lines[3], &lines[4]];
    assert_eq!(create["action"], "create");
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
        (Value::Null, Some(v1))
    );
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
        (Some(v1), Some(v2))
    );
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
        (Some(v2), Value::Null)
    );
    assert_eq!(
        (post["action"].as_str(), post["slug"].as_str()),
        (Some("create"), posted["slug"].as_str())
    );
    assert_eq!(
        (bulk["action"].as_str(), bulk["slug"].as_str()),
        (Some("create"), Some("bulk"))
    );
    for line in &lines {
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
    }
    let ids: std::collections::BTreeSet<&str> =
        lines.iter().filter_map(|l| l["id"].as_str()).collect();
    assert_eq!(ids.len(), 5, "each write has its own request id");
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
