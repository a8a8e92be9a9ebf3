//! What scan classification costs per request, measured natively:
//! `cargo run --release -p qr-edge-core --example classify_cost`. Classifies
//! every request of the labelled corpus (fixtures/scan-classes/corpus.jsonl)
//! many times through `Visitor::classify` (the whole visitor: device, OS,
//! language, class) and through the class alone, and prints the mean of each.

use qr_edge_core::scan_class::{classify, RequestFacts};
use qr_edge_core::visitor::{Geo, Visitor};
use std::hint::black_box;
use std::time::Instant;

fn main() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../fixtures/scan-classes/corpus.jsonl"
    );
    let text = std::fs::read_to_string(path).expect("the corpus is committed");
    let uas: Vec<String> = text
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter_map(|v| v["ua"].as_str().map(str::to_owned))
        .collect();
    let lower: Vec<String> = uas.iter().map(|ua| ua.to_ascii_lowercase()).collect();
    let rounds = 200;
    let n = (uas.len() * rounds) as f64;

    let start = Instant::now();
    for _ in 0..rounds {
        for ua in &uas {
            black_box(Visitor::classify(
                None,
                Some(black_box(ua)),
                Some("de-DE,de;q=0.9,en;q=0.8"),
                RequestFacts::default(),
                Geo::default(),
                None,
            ));
        }
    }
    let visitor = start.elapsed().as_secs_f64() * 1e9 / n;

    let start = Instant::now();
    for _ in 0..rounds {
        for ua in &lower {
            black_box(classify(
                Some(black_box(ua)),
                RequestFacts::default(),
                false,
            ));
        }
    }
    let class = start.elapsed().as_secs_f64() * 1e9 / n;
    println!(
        "{} user agents × {rounds}: Visitor::classify {visitor:.0} ns per request, of which the class {class:.0} ns",
        uas.len()
    );
}
