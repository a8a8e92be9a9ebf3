//! The accuracy of scan classification, measured on the labelled corpus
//! `fixtures/scan-classes/corpus.jsonl` (registry-published user agents of
//! real browsers, in-app browsers, crawlers, link previews, monitors and
//! scanners, plus hand-labelled requests; `fixtures/scan-classes/regen`
//! rebuilds it). Prints the per-class confusion table that README.md quotes
//! and holds the targets: no real browser classed non-human, and at least 99 %
//! of bots, previews, monitors and scanners classed non-human.

use qr_edge_core::visitor::{Geo, RequestFacts, ScanClass, Visitor};
use qr_edge_core::vocabulary::Named;
use serde::Deserialize;
use std::collections::BTreeMap;

/// One labelled request of the corpus.
#[derive(Deserialize)]
struct Case {
    class: String,
    source: String,
    method: String,
    headers: BTreeMap<String, String>,
    ua: String,
}

fn corpus() -> Vec<Case> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../fixtures/scan-classes/corpus.jsonl"
    );
    let text = std::fs::read_to_string(path).expect("the corpus is committed");
    text.lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
        .collect()
}

fn classify(case: &Case) -> Visitor {
    let header = |name: &str| case.headers.get(name).map(String::as_str);
    let request = RequestFacts {
        is_head: case.method == "HEAD",
        sec_purpose: header("sec-purpose"),
        purpose: header("purpose"),
        x_moz: header("x-moz"),
    };
    // No Fastly device detection off the edge: the user agent and the
    // request alone are measured, the worst case.
    Visitor::classify(None, Some(&case.ua), None, request, Geo::default(), None)
}

#[test]
fn the_corpus_is_classified_within_the_targets() {
    let cases = corpus();
    let classes: Vec<ScanClass> = ScanClass::NAMES.iter().map(|(_, c)| *c).collect();
    // counts[label][predicted]
    let mut counts: BTreeMap<&str, BTreeMap<&str, usize>> = BTreeMap::new();
    let mut wrong_humans = Vec::new();
    let mut missed = Vec::new();
    for case in &cases {
        let label = ScanClass::parse(&case.class).unwrap_or_else(|| panic!("label {}", case.class));
        let v = classify(case);
        *counts
            .entry(label.as_str())
            .or_default()
            .entry(v.class.as_str())
            .or_default() += 1;
        if label == ScanClass::Human && v.class != ScanClass::Human {
            wrong_humans.push(format!(
                "{:?} {} ({})",
                v.class_reason, case.ua, case.source
            ));
        }
        if label != ScanClass::Human && v.class == ScanClass::Human {
            missed.push(format!(
                "{} {} {} ({})",
                label.as_str(),
                case.method,
                case.ua,
                case.source
            ));
        }
    }

    // The table README.md quotes: rows are labels, columns the classifier's answer.
    let mut table = String::from("| label \\ classified |");
    for c in &classes {
        table += &format!(" {} |", c.as_str());
    }
    table += " non-human |\n|---|";
    table += &"---:|".repeat(classes.len() + 1);
    table.push('\n');
    let mut non_human_labelled = 0;
    let mut non_human_caught = 0;
    for label in &classes {
        let Some(row) = counts.get(label.as_str()) else {
            continue;
        };
        let total: usize = row.values().sum();
        let human = row.get("human").copied().unwrap_or(0);
        table += &format!("| {} ({total}) |", label.as_str());
        for c in &classes {
            table += &format!(" {} |", row.get(c.as_str()).copied().unwrap_or(0));
        }
        table += &format!(
            " {:.1} % |\n",
            100.0 * (total - human) as f64 / total as f64
        );
        if !matches!(label, ScanClass::Human | ScanClass::Prefetch) {
            non_human_labelled += total;
            non_human_caught += total - human;
        }
    }
    println!("{} labelled requests\n\n{table}", cases.len());
    println!(
        "missed (labelled non-human, classed human): {}",
        missed.len()
    );
    for line in &missed {
        println!("  {line}");
    }

    assert!(
        wrong_humans.is_empty(),
        "real browsers classed non-human:\n{}",
        wrong_humans.join("\n")
    );
    let rate = non_human_caught as f64 / non_human_labelled as f64;
    assert!(
        rate >= 0.99,
        "{non_human_caught} of {non_human_labelled} bots, previews, monitors and scanners classed non-human ({:.2} %)",
        100.0 * rate
    );
    assert!(
        counts.get("human").is_some_and(|row| row.len() == 1) && counts["human"]["human"] > 1000,
        "the corpus holds over a thousand real browsers"
    );
    assert_eq!(
        counts
            .get("prefetch")
            .map(|row| row.get("prefetch").copied()),
        Some(counts["prefetch"].values().sum::<usize>().into()),
        "every prefetch is classed prefetch"
    );
}
