//! The whole loader on arbitrary text: parse, interpolate, merge, validate against the
//! schema, convert, normalize and check. Every input must give a project or errors,
//! never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rcompose::spec::{load, LoadOptions};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let opts = LoadOptions {
        files: vec!["-".into()],
        stdin: Some(text.to_string()),
        // A directory that doesn't exist: file references fail cleanly, nothing is read
        // from the fuzzing machine.
        project_directory: "/nonexistent/rcompose-fuzz".into(),
        project_name: Some("fuzz".into()),
        environment: [("TAG".to_string(), "1".to_string())].into(),
        interpolate: true,
        ..Default::default()
    };
    let _ = load(&opts);
});
