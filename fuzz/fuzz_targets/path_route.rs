//! Fuzz target `path_route`: the property check `properties::path_route` on raw fuzzer bytes.
#![no_main]

// Each target uses one of the shared checks.
#[allow(dead_code)]
#[path = "../properties.rs"]
mod properties;

libfuzzer_sys::fuzz_target!(|data: &[u8]| properties::path_route(data));
