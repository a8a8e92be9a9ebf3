//! docs/routes.md: the public routes, methods, hosts and bad paths.

use qr_edge_tests::{Req, Service, ServiceConfig};
use serde_json::json;

const SPRING: &str = r#"{"url":"https://example.com/spring"}"#;

fn service() -> Service {
    Service::start(ServiceConfig::new().link("go.example.com/spring26", SPRING))
}

#[test]
fn a_slug_redirects_with_302_location_and_no_shared_caching() {
    let s = service();
    let r = s.get("/spring26");
    assert_eq!(r.status, 302);
    assert_eq!(r.header("location"), Some("https://example.com/spring"));
    assert_eq!(r.header("cache-control"), Some("private, max-age=0"));
    assert_eq!(r.header("x-qr-cache"), Some("MISS"));
    assert!(r.body.is_empty());
}

#[test]
fn slugs_are_case_insensitive_and_ignore_a_trailing_slash() {
    let s = service();
    for target in ["/SPRING26", "/Spring26/", "/spring26/"] {
        let r = s.get(target);
        assert_eq!(
            (r.status, r.header("location")),
            (302, Some("https://example.com/spring")),
            "{target}"
        );
    }
}

#[test]
fn head_redirects_without_a_body() {
    let s = service();
    let r = s.send(Req::new("HEAD", "/spring26"));
    assert_eq!(r.status, 302);
    assert_eq!(r.header("location"), Some("https://example.com/spring"));
    assert!(r.body.is_empty());
}

#[test]
fn invalid_paths_are_404_without_touching_a_store() {
    // A corrupt value under every key a bad path could reach: touching the store would answer 503.
    let s = Service::start(ServiceConfig::new().link("go.example.com/spring26", SPRING));
    for target in [
        "/a%41",
        "/spring26/extra",
        "/-spring",
        "/spring-",
        "/spr_ing",
        "/a.jpg",
        "/spring26++",
        "//",
        "/%00",
        "/%0d%0aSet-Cookie:x",
        &format!("/{}", "a".repeat(65)),
        &format!("/{}", "a".repeat(7000)),
    ] {
        let r = s.get(target);
        assert_eq!(r.status, 404, "{target}");
        assert!(
            r.header("x-qr-cache").is_none(),
            "{target} looked a link up"
        );
        assert!(r.text().contains("no such path"), "{target}: {}", r.text());
    }
    s.wait_for_completed(12);
    assert!(
        s.scans().is_empty(),
        "bad paths must not be logged as scans"
    );
}

#[test]
fn home_is_a_page_by_default() {
    let r = service().get("/");
    assert_eq!(r.status, 200);
    assert!(r.text().contains("<html"));
}

#[test]
fn home_redirects_to_home_url_when_set() {
    let s =
        Service::start(ServiceConfig::new().setting("home_url", json!("https://example.com/home")));
    let r = s.get("/");
    assert_eq!(
        (r.status, r.header("location")),
        (302, Some("https://example.com/home"))
    );
}

#[test]
fn robots_txt_disallows_everything() {
    let r = service().get("/robots.txt");
    assert_eq!(r.status, 200);
    assert_eq!(r.text(), "User-agent: *\nDisallow: /\n");
}

#[test]
fn health_answers_without_any_store() {
    let s = Service::start(ServiceConfig::new().without_kv().without_settings());
    let r = s.send(Req::get("/_health").host(Some("anything.test")));
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("application/json"));
    let body = r.json();
    assert_eq!(body["status"], "ok");
    assert_eq!(body["version"], env!("CARGO_PKG_VERSION"));
}

#[test]
fn other_methods_get_405_with_allow_naming_the_method_and_no_scan() {
    let s = service();
    let methods = ["POST", "PUT", "DELETE", "PATCH", "BREW"];
    for method in methods {
        let r = s.send(Req::new(method, "/spring26"));
        assert_eq!(r.status, 405, "{method}");
        assert_eq!(r.header("allow"), Some("GET, HEAD"), "{method}");
        assert!(r.text().contains(method), "the rejection names the method");
    }
    s.wait_for_completed(methods.len());
    assert!(s.scans().is_empty());
}

#[test]
fn options_gets_204_with_allow_and_no_scan() {
    let s = service();
    let r = s.send(Req::new("OPTIONS", "/spring26"));
    assert_eq!(r.status, 204);
    assert_eq!(r.header("allow"), Some("GET, HEAD"));
    s.wait_for_completed(1);
    assert!(s.scans().is_empty());
}

/// `spring26` on go.example.com, which serves it and qr.example.org.
fn two_domains() -> Service {
    Service::start(
        ServiceConfig::new()
            .link("go.example.com/spring26", SPRING)
            .setting("domains", json!(["go.example.com", "qr.example.org"])),
    )
}

#[test]
fn hosts_are_lower_cased_and_stripped_of_port() {
    let r = two_domains().send(Req::get("/spring26").host(Some("GO.Example.COM:8443")));
    assert_eq!(
        (r.status, r.header("location")),
        (302, Some("https://example.com/spring"))
    );
}

#[test]
fn a_host_outside_domains_is_421_naming_it() {
    let r = two_domains().send(Req::get("/spring26").host(Some("evil.test")));
    assert_eq!(r.status, 421);
    assert!(r.text().contains("evil.test"));
}

#[test]
fn each_served_domain_has_its_own_links() {
    let r = two_domains().send(Req::get("/spring26").host(Some("qr.example.org")));
    assert_eq!(r.status, 404, "another served domain has its own links");
}

#[test]
fn hostile_host_headers_are_400_and_name_the_host() {
    let s = service();
    // Viceroy itself drops connections whose Host cannot form a URI at all
    // ("a/b", a missing Host); these reach the service and must get a 400, not a panic.
    for host in [
        "a..b",
        "[::1]",
        "go.example.com:x",
        "go.example.com:99999",
        "a_b.com",
        "xn--zz.com",
        "-a.com",
    ] {
        let r = s.send(Req::get("/spring26").host(Some(host)));
        assert_eq!(r.status, 400, "{host:?}");
        assert!(r.text().contains("Host"), "{host:?}: {}", r.text());
    }
}

#[test]
fn an_unknown_slug_is_a_404_page_by_default() {
    let r = service().get("/nope");
    assert_eq!(r.status, 404);
    assert!(r.text().contains("does not exist"));
}

#[test]
fn an_unknown_slug_redirects_to_not_found_url_when_set() {
    let s = Service::start(ServiceConfig::new().domain_setting(
        "go.example.com",
        "not_found_url",
        json!("https://example.com/404"),
    ));
    let r = s.get("/nope");
    assert_eq!(
        (r.status, r.header("location")),
        (302, Some("https://example.com/404"))
    );
}

#[test]
fn preview_names_the_destination_without_redirecting() {
    let s = Service::start(ServiceConfig::new().link(
        "go.example.com/x",
        r#"{"url":"https://example.com/a?b=<c>&d='e'"}"#,
    ));
    let r = s.get("/x+");
    assert_eq!(r.status, 200);
    assert!(r.header("location").is_none());
    let body = r.text();
    // The destination as a redirect would send it (`<` percent-encoded), then HTML-escaped.
    assert!(
        body.contains("https://example.com/a?b=%3Cc%3E&amp;d=%27e%27"),
        "{body}"
    );
    assert!(!body.contains("<c>") && !body.contains("&d="));
}

#[test]
fn nothing_from_the_request_reaches_a_header_unencoded() {
    let s = service();
    let r = s.get("/spring26?next=%0d%0aSet-Cookie:%20x=1&a=%22%3E");
    assert_eq!(r.status, 302);
    assert!(r.header("set-cookie").is_none());
    let location = r.header("location").unwrap();
    assert!(
        location.starts_with("https://example.com/spring?next="),
        "{location}"
    );
    assert!(
        !location.contains('\r') && !location.contains('\n') && !location.contains(' '),
        "{location:?}"
    );
    assert_eq!(r.headers.iter().filter(|(n, _)| n == "location").count(), 1);
}

#[test]
fn unicode_destinations_are_sent_percent_encoded() {
    let s = Service::start(ServiceConfig::new().link(
        "go.example.com/uni",
        r#"{"url":"https://bücher.example/straße?q=é"}"#,
    ));
    let r = s.get("/uni?x=%C3%BC");
    assert_eq!(r.status, 302);
    assert_eq!(
        r.header("location"),
        Some("https://xn--bcher-kva.example/stra%C3%9Fe?q=%C3%A9&x=%C3%BC")
    );
    let scan = &s.wait_for_scans(1)[0];
    assert_eq!(
        scan["dest"].as_str(),
        r.header("location"),
        "dest is the Location sent"
    );
    let r = s.get("/uni");
    assert_eq!(
        (r.status, r.header("location")),
        (
            302,
            Some("https://xn--bcher-kva.example/stra%C3%9Fe?q=%C3%A9")
        )
    );
}

#[test]
fn a_unicode_home_url_is_sent_percent_encoded() {
    let s =
        Service::start(ServiceConfig::new().setting("home_url", json!("https://example.com/ä")));
    let r = s.get("/");
    assert_eq!(
        (r.status, r.header("location")),
        (302, Some("https://example.com/%C3%A4"))
    );
}
