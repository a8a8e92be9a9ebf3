//! Fuzz target `rule_eval`: the property check `properties::rule_eval` on raw fuzzer bytes.
#![no_main]

// Each target uses one of the shared checks.
#[allow(dead_code)]
#[path = "../properties.rs"]
mod properties;

libfuzzer_sys::fuzz_target!(|data: &[u8]| properties::rule_eval(data));
