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
