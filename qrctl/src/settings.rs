//! `qrctl settings check FILE...` validates settings documents before they are
//! uploaded to the `settings` config store (docs/settings.md). Each FILE is named after
//! its config-store key: `defaults.json`, or `{domain}.json` such as
//! `go.example.com.json`. For every domain it prints the effective settings
//! and each problem the edge would report, and exits 1 when a document could
//! not be used at all or has any problem, so a deploy script can stop.

use qr_edge_core::settings::{Settings, DEFAULTS_KEY, MAX_DOCUMENT_BYTES};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// One document as the config store would hold it: its key and text.
struct Document {
    key: String,
    text: String,
}

fn read(path: &Path) -> Result<Document, String> {
    let shown = path.display();
    let key = path
        .file_name()
        .and_then(|n| n.to_str())
        .and_then(|n| n.strip_suffix(".json"))
        .ok_or_else(|| format!("{shown}: name the file defaults.json or {{domain}}.json"))?
        .to_ascii_lowercase();
    let text = std::fs::read_to_string(path).map_err(|e| format!("{shown}: {e}"))?;
    Ok(Document { key, text })
}

pub fn check(files: &[PathBuf]) -> ExitCode {
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
