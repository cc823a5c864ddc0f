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
        "rcompose: `up` is not implemented yet: rcompose can read and validate compose files \
         today (`rcompose config`); containers arrive with the runtime\n"
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
        "version",
        "completion",
    ] {
        assert!(help.contains(expected), "missing {expected:?} in\n{help}");
    }
    assert!(!help.contains("  up "), "{help}");
    assert!(!help.contains("down"), "{help}");
}

#[test]
fn every_verb_has_help_with_the_global_options() {
    for verb in ["version", "completion"] {
        let out = rcompose(&[verb, "--help"]);
        assert_eq!(out.status.code(), Some(0), "{verb}");
        assert!(stdout(&out).contains("--project-name"), "{verb}");
    }
}

#[test]
fn no_verb_prints_help_and_fails() {
    let out = rcompose(&[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("Usage: rcompose"), "{}", stderr(&out));
}
