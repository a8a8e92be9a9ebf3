//! `qrctl qr` renders the code the edge's image route serves, byte for byte,
//! from the same options, and refuses what the route refuses (naming the
//! option); the real wasm under the real Viceroy answers the route.

use qr_edge_tests::{built_qrctl, Service, ServiceConfig};
use std::process::Command;

#[test]
fn qrctl_qr_renders_the_edges_image_and_refuses_what_it_refuses() {
    let s = Service::start(ServiceConfig::new().link(
        "go.example.com/spring26",
        r#"{"url":"https://example.com/spring"}"#,
    ));
    let dir = std::env::temp_dir().join(format!("qr-edge-qrctl-qr-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    for (format, query, args) in [
        ("svg", "", vec![]),
        ("png", "", vec![]),
        (
            "png",
            "ecc=H&size=300&margin=2&fg=1a2b3c&bg=fafafa",
            vec![
                "--ecc", "H", "--size", "300", "--margin", "2", "--fg", "1a2b3c", "--bg", "fafafa",
            ],
        ),
        ("svg", "ecc=l&margin=0", vec!["--ecc", "l", "--margin", "0"]),
    ] {
        let target = format!("/spring26.{format}?{query}");
        let edge = s.get(&target);
        assert_eq!(edge.status, 200, "{target}");
        let out_file = dir.join(format!("code.{format}"));
        let out = Command::new(built_qrctl())
            .args([
                "qr",
                "--domain",
                "GO.example.com",
                "--slug",
                "SPRING26",
                "--format",
                format,
            ])
            .args(&args)
            .arg("--out")
            .arg(&out_file)
            .output()
            .expect("run qrctl qr");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            std::fs::read(&out_file).expect("image") == edge.body,
            "qrctl qr {args:?} differs from the edge's {target}"
        );
    }
    for (query, args, name) in [
        ("size=10", vec!["--size", "10"], "size"),
        ("ecc=X", vec!["--ecc", "X"], "ecc"),
        ("margin=17", vec!["--margin", "17"], "margin"),
        (
            "fg=ffffff&bg=ffffff",
            vec!["--fg", "ffffff", "--bg", "ffffff"],
            "fg",
        ),
    ] {
        let edge = s.get(&format!("/spring26.png?{query}"));
        assert_eq!(edge.status, 400, "{query}");
        assert!(edge.text().contains(name), "{query}: {}", edge.text());
        let out = Command::new(built_qrctl())
            .args([
                "qr",
                "--domain",
                "go.example.com",
                "--slug",
                "spring26",
                "--format",
                "png",
            ])
            .args(&args)
            .arg("--out")
            .arg(dir.join("refused.png"))
            .output()
            .expect("run qrctl qr");
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains(&format!("--{name}")),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(!dir.join("refused.png").exists());
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// `qrctl export` then `qrctl import --to` an empty store, then `qrctl export`
/// of that store: the same file, byte for byte. Each export line is the
/// stored value behind `{"domain","slug",` (tests/tests/export.rs proves that
/// of the route), so equal files mean equal stored records. The source holds
/// the fixture links (every record field the fixtures use, several domains)
/// and enough plain links for several export pages.
#[test]
fn qrctl_export_then_import_into_an_empty_store_reproduces_the_export() {
    let config =
        || qr_edge_tests::admin::config().setting("destination_hosts", serde_json::json!(["*"]));
    let dir = std::env::temp_dir().join(format!("qr-edge-qrctl-export-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let fixtures: std::collections::BTreeMap<String, String> = serde_json::from_str(
        &std::fs::read_to_string(qr_edge_tests::repo_root().join("fixtures/links.json"))
            .expect("fixtures"),
    )
    .expect("fixture JSON");
    let mut lines: Vec<String> = fixtures
        .iter()
        .map(|(key, record)| {
            let (domain, slug) = key.split_once('/').expect("domain/slug");
            format!(r#"{{"domain":"{domain}","slug":"{slug}",{}"#, &record[1..])
        })
        .collect();
    lines.extend((0..60).map(|i| {
        format!(
            r#"{{"domain":"go.example.com","slug":"bulk-{i:02}","url":"https://example.com/{i}"}}"#
        )
    }));
    let input = dir.join("input.ndjson");
    std::fs::write(&input, lines.join("\n") + "\n").expect("input");

    let qrctl = |args: &[&str]| {
        let out = Command::new(built_qrctl())
            .args(args)
            .env("QR_EDGE_ADMIN_TOKEN", qr_edge_tests::admin::TOKEN)
            .output()
            .expect("run qrctl");
        assert!(
            out.status.success(),
            "qrctl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let path = |name: &str| dir.join(name).to_string_lossy().into_owned();
    let source = Service::start(config());
    let source_url = format!("http://{}", source.addr());
    qrctl(&["import", &path("input.ndjson"), "--to", &source_url]);
    qrctl(&[
        "export",
        "--from",
        &source_url,
        "--out",
        &path("first.ndjson"),
    ]);

    let target = Service::start(config());
    let target_url = format!("http://{}", target.addr());
    qrctl(&["import", &path("first.ndjson"), "--to", &target_url]);
    qrctl(&[
        "export",
        "--from",
        &target_url,
        "--out",
        &path("second.ndjson"),
    ]);

    let first = std::fs::read_to_string(dir.join("first.ndjson")).expect("first export");
    let second = std::fs::read_to_string(dir.join("second.ndjson")).expect("second export");
    assert_eq!(
        first.lines().count(),
        lines.len(),
        "every link exported once"
    );
    assert!(first == second, "the second export differs from the first");
    source.assert_within_limits();
    target.assert_within_limits();
    let _ = std::fs::remove_dir_all(&dir);
}
