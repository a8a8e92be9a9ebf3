//! Replays every input kept under `fuzz/regressions/<target>/` (inputs that once
//! broke a property) and `fuzz/seeds/<target>/` through the same property
//! checks the fuzz targets run (`fuzz/properties.rs`), natively, on every test run.

#[path = "../../fuzz/properties.rs"]
mod properties;

use std::path::Path;

/// A property check: panics on a finding.
type Check = fn(&[u8]);

const TARGETS: [(&str, Check); 4] = [
    ("path_route", properties::path_route),
    ("record_parse", properties::record_parse),
    ("accept_language", properties::accept_language),
    ("rule_eval", properties::rule_eval),
];

/// Runs `check` on every file under `fuzz/{kind}/{target}/`; returns how many.
fn replay(kind: &str, target: &str, check: Check) -> usize {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz")
        .join(kind)
        .join(target);
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return 0;
    };
    let mut files: Vec<_> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    for file in &files {
        let data = std::fs::read(file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let outcome = std::panic::catch_unwind(|| check(&data));
        assert!(
            outcome.is_ok(),
            "{target}: {} breaks a property again",
            file.display()
        );
    }
    files.len()
}

#[test]
fn kept_fuzz_findings_stay_fixed() {
    for (target, check) in TARGETS {
        replay("regressions", target, check);
    }
}

#[test]
fn fuzz_seeds_hold_every_property() {
    for (target, check) in TARGETS {
        assert!(replay("seeds", target, check) > 0, "no seeds for {target}");
    }
}
