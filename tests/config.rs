//! `rcompose config` as a user runs it: in a project directory of its own, with files,
//! standard input and environment variables, checking stdout, stderr and exit codes.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

/// Runs rcompose in `dir` with only the environment given (plus PATH), so that the
/// caller's COMPOSE_* variables never leak in.
fn run_in(dir: &Path, args: &[&str], env: &[(&str, &str)], stdin: Option<&str>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_rcompose"));
    cmd.args(args)
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", "/home/tester")
        .envs(env.iter().copied())
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("the rcompose binary runs");
    if let Some(text) = stdin {
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(text.as_bytes())
            .expect("write stdin");
    }
    child.wait_with_output().expect("rcompose finishes")
}

fn out(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn err(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A project directory named `name` holding `compose.yaml` with `text`.
fn project(name: &str, text: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    let tmp = tempfile::tempdir().expect("temp dir");
    let dir = tmp.path().join(name);
    std::fs::create_dir(&dir).expect("project dir");
    std::fs::write(dir.join("compose.yaml"), text).expect("compose.yaml");
    (tmp, dir)
}

const SHOP: &str = "\
services:
  web:
    image: busybox:${TAG:-latest}
    ports: [\"8080:80\"]
    depends_on:
      db:
        condition: service_started
    networks: [front, back]
  db:
    image: busybox:1.36
    volumes: [data:/var/lib/db]
    networks: [back]
  debug:
    image: busybox:latest
    profiles: [tools]
  builder:
    build: ./builder
networks:
  front: {}
  back: {internal: true}
volumes:
  data: {}
";

#[test]
fn prints_the_normalised_project_as_yaml() {
    let (_tmp, dir) = project("shop", SHOP);
    let o = run_in(&dir, &["config"], &[("TAG", "1.36")], None);
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    assert_eq!(err(&o), "");
    let context = dir.join("builder");
    assert_eq!(
        out(&o),
        format!(
            "name: shop
services:
  builder:
    build:
      context: {}
      dockerfile: Dockerfile
    networks:
      default: null
  db:
    image: busybox:1.36
    networks:
      back: null
    volumes:
    - type: volume
      source: data
      target: /var/lib/db
      volume: {{}}
  web:
    depends_on:
      db:
        condition: service_started
        required: true
    image: busybox:1.36
    networks:
      back: null
      front: null
    ports:
    - mode: ingress
      target: 80
      published: '8080'
      protocol: tcp
networks:
  back:
    name: shop_back
    internal: true
  default:
    name: shop_default
  front:
    name: shop_front
volumes:
  data:
    name: shop_data
",
            context.display()
        )
    );
}

#[test]
fn lists_names_images_profiles_and_hashes() {
    let (_tmp, dir) = project("shop", SHOP);
    let lines = |args: &[&str]| {
        let o = run_in(&dir, args, &[], None);
        assert_eq!(o.status.code(), Some(0), "{args:?}: {}", err(&o));
        out(&o)
    };
    assert_eq!(lines(&["config", "--services"]), "builder\ndb\nweb\n");
    assert_eq!(
        lines(&["--profile", "tools", "config", "--services"]),
        "builder\ndb\ndebug\nweb\n"
    );
    assert_eq!(lines(&["config", "--volumes"]), "data\n");
    assert_eq!(lines(&["config", "--networks"]), "back\ndefault\nfront\n");
    assert_eq!(lines(&["config", "--profiles"]), "tools\n");
    assert_eq!(
        lines(&["config", "--images"]),
        "shop-builder\nbusybox:1.36\nbusybox:latest\n"
    );

    let hashes = lines(&["config", "--hash", "*"]);
    let names: Vec<&str> = hashes
        .lines()
        .map(|l| l.split(' ').next().unwrap())
        .collect();
    assert_eq!(names, ["builder", "db", "web"]);
    assert!(hashes
        .lines()
        .all(|l| l.split(' ').nth(1).is_some_and(|h| h.len() == 64)));
    // Stable across runs; changes with the service's config only.
    assert_eq!(
        lines(&["config", "--hash", "web"]),
        lines(&["config", "--hash", "web"])
    );
    let db = lines(&["config", "--hash", "db"]);
    let o = run_in(&dir, &["config", "--hash", "web,db"], &[("TAG", "2")], None);
    let changed = out(&o);
    assert!(
        changed.contains(db.trim()),
        "db's hash must not change: {changed}"
    );
    assert!(
        !changed.contains(hashes.lines().last().unwrap()),
        "web's hash must change"
    );
}

#[test]
fn named_services_pull_in_their_dependencies() {
    let (_tmp, dir) = project("shop", SHOP);
    let o = run_in(&dir, &["config", "--services", "web"], &[], None);
    assert_eq!(out(&o), "db\nweb\n");
    // A service of an inactive profile is active when named.
    let o = run_in(&dir, &["config", "--services", "debug"], &[], None);
    assert_eq!(out(&o), "debug\n");
    let o = run_in(&dir, &["config", "nope"], &[], None);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        err(&o),
        "rcompose: no such service: `nope` (the project has: builder, db, web)\n"
    );
}

#[test]
fn json_and_dot_formats() {
    let (_tmp, dir) = project("shop", SHOP);
    let o = run_in(&dir, &["config", "--format", "json"], &[], None);
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    let json: serde_json::Value = serde_json::from_str(&out(&o)).expect("valid JSON");
    assert_eq!(json["name"], "shop");
    assert_eq!(json["services"]["web"]["ports"][0]["published"], "8080");
    assert_eq!(json["networks"]["back"]["internal"], true);

    let o = run_in(&dir, &["config", "--format", "dot"], &[], None);
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    let dot = out(&o);
    assert!(dot.starts_with("digraph"), "{dot}");
    assert!(dot.contains("\"web\" -> \"db\""), "{dot}");
}

#[test]
fn quiet_validates_and_the_exit_code_tells() {
    let (_tmp, dir) = project("shop", SHOP);
    let o = run_in(&dir, &["config", "-q"], &[], None);
    assert_eq!(
        (o.status.code(), out(&o), err(&o)),
        (Some(0), String::new(), String::new())
    );

    let (_tmp2, bad) = project(
        "bad",
        "services:\n  web:\n    imgae: busybox\n    ports: [\"99999\"]\n",
    );
    let o = run_in(&bad, &["config", "-q"], &[], None);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(out(&o), "");
    let file = bad.join("compose.yaml");
    assert_eq!(
        err(&o),
        format!(
            "rcompose: the compose file is invalid (2 problems):\n  \
             {f}:3:5: services.web.imgae: unknown key `imgae`; did you mean `image`?\n  \
             {f}:4:13: services.web.ports[0]: \"99999\" is not a port: ports are numbers from 1 to 65535\n",
            f = file.display()
        )
    );
}

#[test]
fn reads_standard_input_and_writes_an_output_file() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let dir = tmp.path().join("From Stdin");
    std::fs::create_dir(&dir).expect("dir");
    let o = run_in(
        &dir,
        &["-f", "-", "config", "-o", "out.yaml"],
        &[],
        Some("services:\n  app:\n    image: busybox\n"),
    );
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    assert_eq!(out(&o), "");
    let written = std::fs::read_to_string(dir.join("out.yaml")).expect("out.yaml written");
    // The project name is the directory's, normalised as compose does.
    assert!(written.starts_with("name: fromstdin\n"), "{written}");
}

#[test]
fn no_interpolate_keeps_variables_as_written() {
    let (_tmp, dir) = project("shop", "services:\n  web:\n    image: \"busybox:${TAG}\"\n");
    let o = run_in(
        &dir,
        &["config", "--no-interpolate", "--format", "json"],
        &[],
        None,
    );
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    let json: serde_json::Value = serde_json::from_str(&out(&o)).expect("valid JSON");
    assert_eq!(json["services"]["web"]["image"], "busybox:${TAG}");
    // With interpolation an unset variable is a warning and an empty string.
    let o = run_in(&dir, &["config", "--images"], &[], None);
    assert_eq!(out(&o), "busybox:\n");
    assert!(
        err(&o).contains("variable \"TAG\" is not set"),
        "{}",
        err(&o)
    );
}

#[test]
fn environment_variables_choose_files_name_and_profiles() {
    let (_tmp, dir) = project("shop", SHOP);
    std::fs::write(
        dir.join("other.yaml"),
        "services:\n  solo:\n    image: busybox\n",
    )
    .unwrap();
    let o = run_in(
        &dir,
        &["config", "--services"],
        &[
            ("COMPOSE_FILE", "other.yaml"),
            ("COMPOSE_PROJECT_NAME", "envname"),
        ],
        None,
    );
    assert_eq!(out(&o), "solo\n", "{}", err(&o));
    let o = run_in(
        &dir,
        &["config", "--services"],
        &[("COMPOSE_PROFILES", "tools")],
        None,
    );
    assert_eq!(out(&o), "builder\ndb\ndebug\nweb\n");
    let o = run_in(
        &dir,
        &["config"],
        &[("COMPOSE_PROJECT_NAME", "envname")],
        None,
    );
    assert!(out(&o).starts_with("name: envname\n"));
}

#[test]
fn keys_not_implemented_yet_are_kept_and_named_in_a_warning() {
    let (_tmp, dir) = project(
        "shop",
        "services:\n  web:\n    image: busybox\n    blkio_config:\n      weight: 300\n",
    );
    let o = run_in(&dir, &["config", "--format", "json"], &[], None);
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    let json: serde_json::Value = serde_json::from_str(&out(&o)).expect("valid JSON");
    assert_eq!(json["services"]["web"]["blkio_config"]["weight"], 300);
    let file = dir.join("compose.yaml");
    assert_eq!(
        err(&o),
        format!(
            "{}:5:7: warning: services.web.blkio_config: `blkio_config` is read but not supported by rcompose yet; it is ignored\n",
            file.display()
        )
    );
}
