//! Any text must give `Ok` or a `Diagnostic` from the YAML reader, never a panic, a
//! stack overflow or a runaway allocation.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::sync::Arc;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let file: Arc<str> = Arc::from("fuzz.yaml");
        let _ = rcompose::spec::yaml::parse(text, &file);
    }
});
