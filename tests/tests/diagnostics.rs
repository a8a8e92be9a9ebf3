//! The service's own diagnostics (docs/resources.md): written through `log`
//! and log-fastly to the `diagnostics` log endpoint, one line per problem as
//! `LEVEL module: message`, and only when there is a problem to report.

use qr_edge_tests::{Service, ServiceConfig};
use serde_json::json;

#[test]
fn a_refused_record_is_reported_on_the_diagnostics_endpoint_as_an_error() {
    let service = Service::start(ServiceConfig::new().link("go.example.com/broken", "{not json"));
    assert_eq!(service.get("/broken").status, 503);
    service.wait_for_completed(1);
    let lines = service.endpoint_lines("diagnostics");
    assert!(
        lines.iter().any(|l| l.starts_with(
            "ERROR qr_edge::lookup: lookup of go.example.com/broken failed: invalid record from Kv"
        )),
        "diagnostics lines: {lines:?}"
    );
}

#[test]
fn a_settings_problem_is_a_warning() {
    let service = Service::start(
        ServiceConfig::new()
            .link(
                "go.example.com/spring26",
                r#"{"url":"https://example.com/spring"}"#,
            )
            .setting("cache_ttl", json!("soon")),
    );
    assert_eq!(service.get("/spring26").status, 302);
    service.wait_for_completed(1);
    let lines = service.endpoint_lines("diagnostics");
    assert!(
        lines.iter().any(|l| l
            .starts_with("WARN qr_edge::config: settings problem for go.example.com:")
            && l.contains("cache_ttl")),
        "diagnostics lines: {lines:?}"
    );
}

#[test]
fn a_scan_with_nothing_to_report_writes_no_diagnostics() {
    let service = Service::start(ServiceConfig::new().link(
        "go.example.com/spring26",
        r#"{"url":"https://example.com/spring"}"#,
    ));
    for _ in 0..3 {
        assert_eq!(service.get("/spring26").status, 302);
    }
    service.wait_for_completed(3);
    assert_eq!(service.scans().len(), 3);
    assert_eq!(service.endpoint_lines("diagnostics"), Vec::<String>::new());
}
