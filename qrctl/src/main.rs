//! `qrctl`, qr-edge's link tool on the operator's machine. It is built on
//! `qr-edge-core`, so it judges exactly as the edge does.
//!
//! `qrctl settings check FILE...` validates settings documents before they are
//! uploaded to the `settings` config store (docs/settings.md). Each FILE is named after
//! its config-store key: `defaults.json`, or `{domain}.json` such as
//! `go.example.com.json`. For every domain it prints the effective settings
//! and each problem the edge would report, and exits 1 when a document could
//! not be used at all or has any problem, so a deploy script can stop.

use qr_edge_core::settings::{Settings, DEFAULTS_KEY, MAX_DOCUMENT_BYTES};
use std::path::Path;
use std::process::ExitCode;

const USAGE: &str = "usage: qrctl settings check FILE...   (defaults.json, {domain}.json)";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["settings", "check", files @ ..] if !files.is_empty() => settings_check(files),
        _ => {
            eprintln!("{USAGE}");
            ExitCode::from(2)
        }
    }
}

/// One document as the config store would hold it: its key and text.
struct Document {
    key: String,
    text: String,
}

fn read(path: &str) -> Result<Document, String> {
    let key = Path::new(path)
        .file_name()
        .and_then(|n| n.to_str())
        .and_then(|n| n.strip_suffix(".json"))
        .ok_or_else(|| format!("{path}: name the file defaults.json or {{domain}}.json"))?
        .to_ascii_lowercase();
    let text = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
    Ok(Document { key, text })
}

fn settings_check(files: &[&str]) -> ExitCode {
    let mut documents = Vec::new();
    for file in files {
        match read(file) {
            Ok(document) => documents.push(document),
            Err(e) => {
                eprintln!("{e}");
                return ExitCode::from(2);
            }
        }
    }
    let mut failed = false;
    for document in &documents {
        if document.text.len() > MAX_DOCUMENT_BYTES {
            println!(
                "{}: {} bytes; the config store holds at most {MAX_DOCUMENT_BYTES}",
                document.key,
                document.text.len()
            );
            failed = true;
        }
    }
    let defaults = documents.iter().find(|d| d.key == DEFAULTS_KEY);
    let mut domains: Vec<&Document> = documents.iter().filter(|d| d.key != DEFAULTS_KEY).collect();
    // With only `defaults`, check it as any domain would see it.
    let example = Document {
        key: "any-domain.invalid".into(),
        text: String::new(),
    };
    if domains.is_empty() {
        domains.push(&example);
    }
    for domain in domains {
        let overrides = (!domain.text.is_empty()).then(|| domain.text.clone());
        let loaded = Settings::load(
            &domain.key,
            Ok(defaults.map(|d| d.text.clone())),
            Ok(overrides),
        );
        match loaded {
            Err(e) => {
                println!("{}: UNUSABLE, the edge would answer 503: {e}", domain.key);
                failed = true;
            }
            Ok(loaded) => {
                println!("{}: {}", domain.key, loaded.report(&domain.key));
                for problem in &loaded.problems {
                    println!("  problem: {problem}");
                    failed = true;
                }
            }
        }
    }
    if failed {
        ExitCode::FAILURE
    } else {
        println!("ok");
        ExitCode::SUCCESS
    }
}
