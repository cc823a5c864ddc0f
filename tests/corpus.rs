//! Every compose file under examples/ and tests/fixtures/valid/ loads; every file under
//! tests/fixtures/invalid/ fails with the problems its `# expect:` lines name.
//!
//! An invalid fixture starts with one or more lines
//! `# expect: LINE:COL: KEY.PATH: message text` (the rendered diagnostic without the file
//! name); the load must report each of them exactly, and nothing else.

use rcompose::spec::{load, LoadError, LoadOptions};
use std::path::{Path, PathBuf};

fn compose_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = entries.flatten().map(|e| e.path()).collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            compose_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "yaml" || e == "yml")
            && !path.to_string_lossy().contains(".override.")
            && !path.components().any(|c| c.as_os_str() == "parts")
        {
            out.push(path);
        }
    }
}

fn options(file: &Path) -> LoadOptions {
    let dir = file.parent().unwrap().to_path_buf();
    let mut files = vec![file.to_path_buf()];
    for name in ["compose.override.yaml", "docker-compose.override.yml"] {
        let over = dir.join(name);
        if file
            .file_name()
            .is_some_and(|n| n == "compose.yaml" || n == "docker-compose.yml")
            && over.is_file()
        {
            files.push(over);
        }
    }
    LoadOptions {
        files,
        project_directory: dir,
        project_name: Some("corpus".into()),
        environment: [("HOME".to_string(), "/home/test".to_string())].into(),
        interpolate: true,
        home: Some("/home/test".into()),
        ..Default::default()
    }
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn every_valid_file_loads() {
    let mut files = Vec::new();
    compose_files(&root().join("examples"), &mut files);
    compose_files(&root().join("tests/fixtures/valid"), &mut files);
    assert!(files.len() >= 5, "too few fixtures found: {files:?}");
    let mut failures = Vec::new();
    for file in &files {
        if let Err(e) = load(&options(file)) {
            failures.push(format!("{}:\n{e}", file.display()));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn every_invalid_file_fails_where_it_says() {
    let mut files = Vec::new();
    compose_files(&root().join("tests/fixtures/invalid"), &mut files);
    assert!(files.len() >= 5, "too few fixtures found: {files:?}");
    let mut failures = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        let expected: Vec<String> = text
            .lines()
            .filter_map(|l| l.strip_prefix("# expect: "))
            .map(|l| format!("{}:{}", file.display(), l))
            .collect();
        assert!(
            !expected.is_empty(),
            "{} has no `# expect:` line",
            file.display()
        );
        match load(&options(file)) {
            Ok(_) => failures.push(format!("{}: loaded, expected errors", file.display())),
            Err(LoadError::Invalid(d)) => {
                let got: Vec<String> = d.errors().map(|e| e.to_string()).collect();
                if got != expected {
                    failures.push(format!(
                        "{}:\n  expected:\n    {}\n  got:\n    {}",
                        file.display(),
                        expected.join("\n    "),
                        got.join("\n    ")
                    ));
                }
            }
            Err(e) => failures.push(format!("{}: unexpected error {e}", file.display())),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
