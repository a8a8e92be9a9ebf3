//! Fuzz target `accept_language`: the property check `properties::accept_language` on raw fuzzer bytes.
#![no_main]

// Each target uses one of the shared checks.
#[allow(dead_code)]
#[path = "../properties.rs"]
mod properties;

libfuzzer_sys::fuzz_target!(|data: &[u8]| properties::accept_language(data));
