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
    let out = rcompose(&["-f", "compose.yaml", "pull", "-q"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(stdout(&out), "");
    assert_eq!(
        stderr(&out),
        "rcompose: `pull` is not implemented yet (`rcompose --help` lists the commands there \
         are)\n"
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
        "  up ",
        "  down ",
        "  ps ",
        "  logs ",
        "  ls ",
        "  port ",
        "  start ",
        "  stop ",
        "  restart ",
        "  kill ",
        "  rm ",
    ] {
        assert!(help.contains(expected), "missing {expected:?} in\n{help}");
    }
    assert!(!help.contains("pull"), "{help}");
    assert!(!help.contains("  top "), "{help}");
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
        &["up"],
        &["down"],
        &["ps"],
        &["logs"],
        &["ls"],
        &["port"],
        &["start"],
        &["stop"],
        &["restart"],
        &["kill"],
        &["rm"],
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
        &["rm"],
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

#[test]
fn after_logs_dash_f_means_follow() {
    let help = stdout(&rcompose(&["logs", "--help"]));
    assert!(help.contains("-f, --follow"), "{help}");
    assert!(help.contains("      --file <FILE>"), "{help}");
}

/// Runs rcompose in `dir` with the engine's root `dir/root`, without the compose
/// variables of the environment.
fn rcompose_in(dir: &std::path::Path, args: &[&str]) -> Output {
    let root = dir.join("root");
    Command::new(env!("CARGO_BIN_EXE_rcompose"))
        .current_dir(dir)
        .args(["--root", root.to_str().unwrap()])
        .args(args)
        .env_remove("COMPOSE_FILE")
        .env_remove("COMPOSE_PROJECT_NAME")
        .env_remove("RCOMPOSE_ROOT")
        .output()
        .unwrap()
}

#[test]
fn project_verbs_without_a_file_or_name_say_so_before_any_engine_starts() {
    let dir = tempfile::tempdir().unwrap();
    for verb in [
        &["up", "-d"][..],
        &["down"],
        &["ps"],
        &["logs"],
        &["port", "web", "80"],
        &["start"],
        &["stop"],
        &["restart"],
        &["kill"],
        &["rm", "-f"],
    ] {
        let out = rcompose_in(dir.path(), verb);
        assert_eq!(out.status.code(), Some(1), "{verb:?}");
        assert_eq!(
            stderr(&out),
            format!(
                "rcompose: no compose file found in {} or its parents (looked for \
                 compose.yaml, compose.yml, docker-compose.yml, docker-compose.yaml); use -f \
                 FILE\n",
                dir.path().display()
            ),
            "{verb:?}"
        );
        assert!(!dir.path().join("root").exists(), "{verb:?}: no engine");
    }
}

#[test]
fn unknown_services_are_refused_before_any_engine_starts() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("compose.yaml"),
        "name: demo\nservices:\n  web:\n    image: busybox\n  db:\n    image: busybox\n",
    )
    .unwrap();
    for verb in [
        &["up", "--scale", "nope=2"][..],
        &["up", "-d", "nope"],
        &["ps", "nope"],
        &["logs", "nope"],
        &["port", "nope", "80"],
        &["stop", "web", "nope"],
        &["rm", "-f", "nope"],
    ] {
        let out = rcompose_in(dir.path(), verb);
        assert_eq!(out.status.code(), Some(1), "{verb:?}");
        assert_eq!(
            stderr(&out),
            "rcompose: no such service: `nope` (the project has: db, web)\n",
            "{verb:?}"
        );
        assert!(!dir.path().join("root").exists(), "{verb:?}: no engine");
    }
}

#[test]
fn ls_without_an_engine_lists_no_project_and_starts_none() {
    let dir = tempfile::tempdir().unwrap();
    let out = rcompose_in(dir.path(), &["ls"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out), "NAME      STATUS    CONFIG FILES\n");
    let out = rcompose_in(dir.path(), &["ls", "--format", "json"]);
    assert_eq!(stdout(&out), "[]\n");
    let out = rcompose_in(dir.path(), &["ls", "-q"]);
    assert_eq!(stdout(&out), "");
    assert!(!dir.path().join("root").exists());
}

#[test]
fn bad_verb_options_are_usage_errors() {
    for (args, message) in [
        (
            &["up", "--force-recreate", "--no-recreate"][..],
            "the argument '--force-recreate' cannot be used with '--no-recreate'",
        ),
        (
            &["up", "--scale", "web"],
            "expected SERVICE=N (for example web=3), not \"web\"",
        ),
        (
            &["kill", "-s", "NOPE"],
            "unknown signal \"NOPE\" (for example SIGTERM, TERM or 15)",
        ),
        (&["port", "--protocol", "sctp", "web", "80"], "'sctp'"),
        (&["ps", "--format", "yaml"], "'yaml'"),
        (
            &["logs", "--tail", "x"],
            "expected a number of lines or `all`",
        ),
    ] {
        let out = rcompose(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(stderr(&out).contains(message), "{args:?}: {}", stderr(&out));
    }
}
