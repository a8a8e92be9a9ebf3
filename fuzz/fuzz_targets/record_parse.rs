//! Fuzz target `record_parse`: the property check `properties::record_parse` on raw fuzzer bytes.
#![no_main]

// Each target uses one of the shared checks.
#[allow(dead_code)]
#[path = "../properties.rs"]
mod properties;

libfuzzer_sys::fuzz_target!(|data: &[u8]| properties::record_parse(data));
