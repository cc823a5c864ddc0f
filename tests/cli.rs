//! The rcompose binary as a user runs it: output, stderr and exit codes.

use std::process::{Command, Output};

fn rcompose(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rcompose"))
        .args(args)
        .output()
        .expect("the rcompose binary runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn version_prints_the_crate_version() {
    let version = env!("CARGO_PKG_VERSION");
    let out = rcompose(&["version"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(stdout(&out), format!("rcompose version {version}\n"));

    let out = rcompose(&["version", "--short"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(stdout(&out), format!("{version}\n"));
}

#[test]
fn completion_scripts_go_to_stdout() {
    let out = rcompose(&["completion", "bash"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(stdout(&out).contains("_rcompose"), "{}", stdout(&out));
    assert_eq!(stderr(&out), "");

    for shell in ["zsh", "fish"] {
        let out = rcompose(&["completion", shell]);
        assert_eq!(out.status.code(), Some(0), "{shell}");
        assert!(stdout(&out).contains("rcompose"), "{shell}");
    }
}

#[test]
fn planned_verbs_say_they_are_not_implemented() {
    let out = rcompose(&["-f", "compose.yaml", "up", "-d"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(stdout(&out), "");
    assert_eq!(
        stderr(&out),
        "rcompose: `up` is not implemented yet: today rcompose runs one-off containers of a \
         service (`rcompose run`, `rcompose exec`); services that stay up come with networks\n"
    );
}

#[test]
fn unknown_verbs_get_a_usage_error() {
    let out = rcompose(&["frobnicate"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("unrecognized subcommand 'frobnicate'"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn help_lists_the_verbs_and_global_options_but_not_planned_verbs() {
    let out = rcompose(&["--help"]);
    assert_eq!(out.status.code(), Some(0));
    let help = stdout(&out);
    for expected in [
        "-f, --file <FILE>",
        "-p, --project-name <NAME>",
        "--project-directory <DIR>",
        "--env-file <FILE>",
        "--profile <PROFILE>",
        "COMPOSE_FILE",
        "COMPOSE_PROJECT_NAME",
        "COMPOSE_PROFILES",
        "--root <DIR>",
        "RCOMPOSE_ROOT",
        "version",
        "completion",
        "run",
        "exec",
        "image",
        "volume",
        "engine",
    ] {
        assert!(help.contains(expected), "missing {expected:?} in\n{help}");
    }
    assert!(!help.contains("  up "), "{help}");
    assert!(!help.contains("down"), "{help}");
}

#[test]
fn every_verb_has_help_with_the_global_options() {
    for verb in [
        &["version"][..],
        &["completion"],
        &["run"],
        &["exec"],
        &["engine"],
        &["image", "import"],
        &["image", "load"],
        &["image", "ls"],
        &["image", "inspect"],
        &["image", "rm"],
        &["image", "prune"],
        &["volume", "ls"],
        &["volume", "inspect"],
        &["volume", "rm"],
        &["volume", "prune"],
    ] {
        let out = rcompose(&[verb, &["--help"]].concat());
        assert_eq!(out.status.code(), Some(0), "{verb:?}");
        let help = stdout(&out);
        assert!(help.contains("--project-name"), "{verb:?}");
        assert!(help.contains("--root <DIR>"), "{verb:?}");
    }
}

#[test]
fn after_rm_and_prune_dash_f_means_force() {
    for verb in [
        &["image", "rm"][..],
        &["image", "prune"],
        &["volume", "rm"],
        &["volume", "prune"],
    ] {
        let help = stdout(&rcompose(&[verb, &["--help"]].concat()));
        assert!(help.contains("-f, --force"), "{verb:?}\n{help}");
        assert!(help.contains("      --file <FILE>"), "{verb:?}\n{help}");
        assert!(!help.contains("-f, --file"), "{verb:?}\n{help}");
    }
}

#[test]
fn run_and_exec_usage_shows_the_service_then_the_command() {
    let help = stdout(&rcompose(&["run", "--help"]));
    assert!(
        help.contains("Usage: rcompose run [OPTIONS] <SERVICE> [COMMAND]..."),
        "{help}"
    );
    let help = stdout(&rcompose(&["exec", "--help"]));
    assert!(
        help.contains("Usage: rcompose exec [OPTIONS] <SERVICE> <COMMAND>..."),
        "{help}"
    );
    let out = rcompose(&["exec", "web"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("<COMMAND>"), "{}", stderr(&out));
}

#[test]
fn run_without_a_compose_file_says_so_before_any_engine_starts() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    let out = Command::new(env!("CARGO_BIN_EXE_rcompose"))
        .current_dir(dir.path())
        .args(["--root", root.to_str().unwrap(), "run", "web", "true"])
        .env_remove("COMPOSE_FILE")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).starts_with("rcompose: no compose file found in "),
        "{}",
        stderr(&out)
    );
    assert!(!root.exists(), "no engine was started");
}

#[test]
fn engine_stop_without_an_engine_is_fine() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    let out = rcompose(&["--root", root.to_str().unwrap(), "engine", "stop"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        stderr(&out),
        format!("rcompose: no engine runs for {}\n", root.display())
    );
    assert!(!root.exists());
}

#[test]
fn image_import_of_a_missing_file_names_it_before_any_engine_starts() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    let out = Command::new(env!("CARGO_BIN_EXE_rcompose"))
        .current_dir(dir.path())
        .args(["--root", root.to_str().unwrap()])
        .args(["image", "import", "missing.tar", "x:1"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out),
        format!(
            "rcompose: cannot open {}: No such file or directory (os error 2)\n",
            dir.path().join("missing.tar").display()
        )
    );
    assert!(!root.exists());
}

#[test]
fn no_verb_prints_help_and_fails() {
    let out = rcompose(&[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("Usage: rcompose"), "{}", stderr(&out));
}
