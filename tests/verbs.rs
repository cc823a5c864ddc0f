//! The verbs end to end, as a user runs them: the real binary with `--root <temp dir>`
//! (it starts its own engine there), a busybox image imported from a tarball, compose
//! files in the test's directory. Each test stops its engine and checks that nothing of
//! it is left (no process, mount or cgroup); a guard cleans up also when it fails. They
//! need root; as another user they pass with a "skipped" message (CI runs as root).

use std::fs::{self, File};
use std::io::{Read, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

mod common;

use common::root::{text, TestRoot};

const PASSWD: &str = "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n";
const GROUP: &str = "root:x:0:\napp:x:1000:\n";

/// `image import` of the busybox root filesystem (with a user `app`) as `bb:latest`;
/// the image's ID.
fn import_busybox(root: &TestRoot) -> String {
    root.import(
        &[("etc/passwd", PASSWD), ("etc/group", GROUP)],
        &["bb:latest"],
    )
}

/// A `docker save` archive of one image `saved:1` whose one layer is the busybox
/// tarball at `layer`, made on 2024-05-06.
fn docker_save(layer: &Path, archive: &Path) {
    let layer = fs::read(layer).unwrap();
    let diff_id = rcompose::image::Digest::of(&layer);
    let config = serde_json::to_vec(&serde_json::json!({
        "architecture": "amd64",
        "os": "linux",
        "created": "2024-05-06T07:08:09Z",
        "config": {"Cmd": ["sh"]},
        "rootfs": {"type": "layers", "diff_ids": [diff_id.to_string()]},
    }))
    .unwrap();
    let config_name = format!("{}.json", rcompose::image::Digest::of(&config).hex());
    let layer_name = format!("{}/layer.tar", diff_id.hex());
    let manifest = serde_json::json!([
        {"Config": config_name, "RepoTags": ["saved:1"], "Layers": [layer_name]}
    ]);
    let mut builder = tar::Builder::new(File::create(archive).unwrap());
    for (name, data) in [
        (config_name.as_str(), config),
        (layer_name.as_str(), layer),
        ("manifest.json", serde_json::to_vec(&manifest).unwrap()),
    ] {
        let mut header = tar::Header::new_gnu();
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        builder
            .append_data(&mut header, name, data.as_slice())
            .unwrap();
    }
    builder.finish().unwrap();
}

/// Bytes of file content of the busybox tarball: what the store counts as its size.
fn busybox_content_size() -> u64 {
    let motd = "lower\n";
    fs::metadata(common::BUSYBOX).unwrap().len() + (PASSWD.len() + GROUP.len() + motd.len()) as u64
}

const SERVICE: &str = "services:\n  box:\n    image: bb:latest\n    network_mode: none\n";

#[test]
fn image_import_ls_inspect_rm() {
    require_root!();
    let root = TestRoot::new("verbs");
    let id = import_busybox(&root);
    assert!(
        id.starts_with("sha256:")
            && id.len() == 71
            && id[7..].bytes().all(|b| b.is_ascii_hexdigit()),
        "{id}"
    );
    let short = &id[7..19];

    // REPOSITORY, TAG and IMAGE ID columns are 13, 10 and 15 wide; CREATED is as wide
    // as its longest text plus 3.
    let size = busybox_content_size();
    assert!((1_000_000..10_000_000).contains(&size), "{size}");
    let size = format!("{:.2}", size as f64 / 1e6);
    let size = format!("{}MB", size.trim_end_matches('0').trim_end_matches('.'));
    let table = root.ok(&["image", "ls"]);
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 2, "{table}");
    let prefix = format!("bb           latest    {short}   ");
    let rest = lines[1]
        .strip_prefix(&prefix)
        .unwrap_or_else(|| panic!("{table}"));
    let created = &rest[..rest.find(" ago").unwrap_or_else(|| panic!("{table}")) + 4];
    assert!(
        created == "Less than a second ago"
            || created == "1 second ago"
            || created
                .strip_suffix(" seconds ago")
                .is_some_and(|n| n.parse::<u32>().is_ok_and(|n| n < 60)),
        "{table}"
    );
    let width = created.len().max("CREATED".len()) + 3;
    assert_eq!(
        lines[0],
        format!(
            "REPOSITORY   TAG       IMAGE ID       {:width$}SIZE",
            "CREATED"
        )
    );
    assert_eq!(lines[1], format!("{prefix}{created:width$}{size}"));
    assert_eq!(root.ok(&["image", "ls", "-q"]), format!("{short}\n"));
    let json: serde_json::Value =
        serde_json::from_str(&root.ok(&["image", "ls", "--format", "json"])).unwrap();
    assert_eq!(json["Repository"], "bb");
    assert_eq!(json["Tag"], "latest");
    assert_eq!(json["ID"], short);
    assert_eq!(json["Size"], size.as_str());

    // inspect: docker's JSON, indented by four spaces, by name or ID prefix.
    let inspected = root.ok(&["image", "inspect", "bb"]);
    assert!(inspected.starts_with("[\n    {\n        \""), "{inspected}");
    let value: serde_json::Value = serde_json::from_str(&inspected).unwrap();
    assert_eq!(value[0]["Id"], id.as_str());
    assert_eq!(value[0]["RepoTags"], serde_json::json!(["bb:latest"]));
    assert_eq!(
        value[0]["Size"].as_u64(),
        Some(busybox_content_size()),
        "{inspected}"
    );
    let by_id: serde_json::Value =
        serde_json::from_str(&root.ok(&["image", "inspect", short])).unwrap();
    assert_eq!(by_id, value);

    // What the engine refuses exits with 125, as docker.
    let out = root.run(&["image", "inspect", "nope:1"]);
    assert_eq!(out.status.code(), Some(125));
    assert_eq!(
        text(&out.stderr),
        "rcompose: image nope:1 not found: import a rootfs tarball with `rcompose image \
         import FILE nope:1`, or load a saved image with `rcompose image load -i FILE`\n"
    );

    assert_eq!(
        root.ok(&["image", "rm", "bb:latest"]),
        format!("Untagged: bb:latest\nDeleted: {id}\n")
    );
    assert_eq!(
        root.ok(&["image", "ls"]),
        "REPOSITORY   TAG       IMAGE ID   CREATED   SIZE\n"
    );

    // load: from a file, or from standard input.
    docker_save(&root.path("busybox.tar"), &root.path("saved.tar"));
    assert_eq!(
        root.ok(&["image", "load", "-i", "saved.tar"]),
        "Loaded image: saved:1\n"
    );
    let out = root
        .command(&["image", "load"])
        .stdin(File::open(root.path("saved.tar")).unwrap())
        .output()
        .unwrap();
    assert_eq!(
        text(&out.stdout),
        "Loaded image: saved:1\n",
        "{}",
        text(&out.stderr)
    );
    let saved: serde_json::Value =
        serde_json::from_str(&root.ok(&["image", "inspect", "saved:1"])).unwrap();
    let saved_id = saved[0]["Id"].as_str().unwrap().to_string();
    let listed: serde_json::Value =
        serde_json::from_str(&root.ok(&["image", "ls", "--format", "json"])).unwrap();
    assert_eq!(listed["Repository"], "saved");
    assert_eq!(listed["Tag"], "1");
    assert_eq!(listed["ID"], &saved_id[7..19]);
    assert_eq!(listed["CreatedAt"], "2024-05-06 07:08:09 +0000 UTC");
    // A broken archive: the store's reason, nothing loaded.
    let out = root
        .command(&["image", "load"])
        .stdin(Stdio::from(File::open("/dev/null").unwrap()))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(125), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stderr),
        "rcompose: the image archive stops before the end-of-archive marker of its tar \
         stream: it is truncated\n"
    );

    // prune -a: every image no container uses.
    assert_eq!(
        root.ok(&["image", "prune", "-a", "-f"]),
        format!("Deleted Images:\nuntagged: saved:1\ndeleted: {saved_id}\n")
    );
    assert_eq!(root.ok(&["image", "ls", "-q"]), "");
    root.finish();
}

#[test]
fn run_prints_what_the_container_prints_and_exits_with_its_code() {
    require_root!();
    let root = TestRoot::new("verbs");
    import_busybox(&root);
    root.compose(SERVICE);

    let out = root.run(&["run", "--rm", "box", "sh", "-c", "echo $$; id -u; hostname"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stderr), "");
    let stdout = text(&out.stdout);
    let hostname = stdout
        .strip_prefix("1\n0\n")
        .unwrap_or_else(|| panic!("{stdout}"));
    let hex = hostname
        .strip_prefix("verbs-box-run-")
        .and_then(|rest| rest.strip_suffix('\n'))
        .unwrap_or_else(|| panic!("{stdout}"));
    assert!(
        hex.len() == 12 && hex.bytes().all(|b| b.is_ascii_hexdigit()),
        "{stdout}"
    );

    let out = root.run(&[
        "run",
        "--rm",
        "--name",
        "probe",
        "-u",
        "app",
        "-w",
        "/tmp",
        "box",
        "sh",
        "-c",
        "id -u; hostname; pwd; echo oops >&2; exit 3",
    ]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "1000\nprobe\n/tmp\n");
    assert_eq!(text(&out.stderr), "oops\n");

    // -e KEY takes the caller's value.
    let out = root
        .command(&[
            "run",
            "--rm",
            "-e",
            "A=1",
            "-e",
            "FROM_CALLER",
            "box",
            "sh",
            "-c",
            "echo $A $FROM_CALLER",
        ])
        .env("FROM_CALLER", "inherited")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(text(&out.stdout), "1 inherited\n", "{}", text(&out.stderr));

    // Standard input reaches the container, unless --interactive=false.
    let mut child = root
        .command(&["run", "--rm", "box", "sh", "-c", "tr a-z A-Z"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"piped in\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(text(&out.stdout), "PIPED IN\n");
    let mut child = root
        .command(&["run", "--rm", "--interactive=false", "box", "cat"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    // Kept open: cat ends only because its standard input is /dev/null.
    let stdin = child.stdin.take().unwrap();
    let out = child.wait_with_output().unwrap();
    drop(stdin);
    assert_eq!(
        (out.status.code(), text(&out.stdout)),
        (Some(0), String::new())
    );

    // A program that isn't there: 127, as docker.
    let out = root.run(&["run", "--rm", "box", "no-such-program"]);
    assert_eq!(out.status.code(), Some(127), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("no-such-program"),
        "{}",
        text(&out.stderr)
    );

    root.wait_no_containers();
    root.finish();
}

#[test]
fn a_missing_image_is_named_and_nothing_is_left() {
    require_root!();
    let root = TestRoot::new("verbs");
    root.compose("services:\n  ghost:\n    image: nope:1\n    network_mode: none\n");
    let out = root.run(&["run", "--rm", "ghost", "true"]);
    assert_eq!(out.status.code(), Some(125));
    assert_eq!(text(&out.stdout), "");
    assert_eq!(
        text(&out.stderr),
        "rcompose: image nope:1 not found: import a rootfs tarball with `rcompose image \
         import FILE nope:1`, or load a saved image with `rcompose image load -i FILE`\n"
    );
    let out = root.run(&["run", "--rm", "nosuch", "true"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr),
        "rcompose: no such service: `nosuch` (the project has: ghost)\n"
    );
    assert!(root.container_dirs().is_empty());
    root.finish();
}

#[test]
fn named_volumes_keep_data_across_runs_and_are_listed_and_removed() {
    require_root!();
    let root = TestRoot::new("verbs");
    import_busybox(&root);
    root.compose(&format!(
        "{SERVICE}    volumes:\n      - data:/data\nvolumes:\n  data: {{}}\n"
    ));
    assert_eq!(root.ok(&["volume", "ls"]), "DRIVER    VOLUME NAME\n");
    root.ok(&["run", "--rm", "box", "sh", "-c", "echo kept > /data/x"]);
    assert_eq!(root.ok(&["run", "--rm", "box", "cat", "/data/x"]), "kept\n");
    root.wait_no_containers();

    assert_eq!(
        root.ok(&["volume", "ls"]),
        "DRIVER    VOLUME NAME\nlocal     verbs_data\n"
    );
    assert_eq!(root.ok(&["volume", "ls", "-q"]), "verbs_data\n");
    // By its key in the project, or its full name.
    let inspected: serde_json::Value =
        serde_json::from_str(&root.ok(&["volume", "inspect", "data"])).unwrap();
    assert_eq!(inspected[0]["Name"], "verbs_data");
    let mountpoint = root.layout.volumes().join("verbs_data/_data");
    assert_eq!(
        inspected[0]["Mountpoint"].as_str(),
        Some(mountpoint.to_str().unwrap())
    );
    assert_eq!(fs::read_to_string(mountpoint.join("x")).unwrap(), "kept\n");

    assert_eq!(root.ok(&["volume", "rm", "verbs_data"]), "verbs_data\n");
    assert_eq!(root.ok(&["volume", "ls"]), "DRIVER    VOLUME NAME\n");
    assert!(!mountpoint.exists());

    // prune removes the project's unused volumes, after asking.
    root.ok(&["run", "--rm", "box", "true"]);
    root.wait_no_containers();
    let mut child = root
        .command(&["volume", "prune"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(b"n\n").unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        text(&out.stdout),
        "WARNING! This will remove the volumes of project verbs that no container uses.\n\
         Are you sure you want to continue? [y/N] "
    );
    assert_eq!(root.ok(&["volume", "ls", "-q"]), "verbs_data\n");
    assert_eq!(
        root.ok(&["volume", "prune", "-f"]),
        "Deleted Volumes:\nverbs_data\n"
    );
    assert_eq!(root.ok(&["volume", "ls", "-q"]), "");
    root.finish();
}

#[test]
fn run_detached_then_exec_into_it() {
    require_root!();
    let root = TestRoot::new("verbs");
    import_busybox(&root);
    root.compose(SERVICE);
    let name = root.ok(&[
        "run",
        "-d",
        "--rm",
        "box",
        "sh",
        "-c",
        "while [ ! -e /tmp/stop ]; do sleep 0.05; done",
    ]);
    let hex = name
        .strip_prefix("verbs-box-run-")
        .and_then(|rest| rest.strip_suffix('\n'))
        .unwrap_or_else(|| panic!("{name}"));
    assert_eq!(hex.len(), 12, "{name}");

    let out = root.run(&[
        "exec",
        "-T",
        "-u",
        "app",
        "-w",
        "/tmp",
        "-e",
        "GREETING=hi",
        "box",
        "sh",
        "-c",
        "echo $GREETING; id -u; pwd; hostname; exit 4",
    ]);
    assert_eq!(out.status.code(), Some(4), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), format!("hi\n1000\n/tmp\n{name}"));
    assert_eq!(root.ok(&["exec", "box", "touch", "/tmp/stop"]), "");
    root.wait_no_containers();

    let out = root.run(&["exec", "box", "true"]);
    assert_eq!(out.status.code(), Some(125));
    assert!(
        text(&out.stderr).contains("no running container"),
        "{}",
        text(&out.stderr)
    );
    root.finish();
}

#[test]
fn signals_to_an_attached_run_reach_the_container() {
    require_root!();
    let root = TestRoot::new("verbs");
    import_busybox(&root);
    root.compose(SERVICE);
    let mut child = root
        .command(&[
            "run",
            "--rm",
            "box",
            "sh",
            "-c",
            "trap 'echo got INT; exit 7' INT; echo ready; while :; do sleep 0.05; done",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut ready = [0u8; 6];
    stdout.read_exact(&mut ready).unwrap();
    assert_eq!(&ready, b"ready\n");
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGINT,
    )
    .unwrap();
    let mut rest = String::new();
    stdout.read_to_string(&mut rest).unwrap();
    assert_eq!(rest, "got INT\n");
    assert_eq!(child.wait().unwrap().code(), Some(7));
    root.wait_no_containers();
    root.finish();
}

/// What a terminal's controlling side has received so far, read by a thread.
struct Screen {
    seen: Arc<Mutex<Vec<u8>>>,
}

impl Screen {
    fn new(master: OwnedFd) -> Screen {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&seen);
        std::thread::spawn(move || {
            let mut master = File::from(master);
            let mut buffer = [0u8; 4096];
            // Ends with EIO once nothing holds the other side.
            while let Ok(n @ 1..) = master.read(&mut buffer) {
                sink.lock().unwrap().extend_from_slice(&buffer[..n]);
            }
        });
        Screen { seen }
    }

    fn text(&self) -> String {
        text(&self.seen.lock().unwrap())
    }

    fn wait_for(&self, expected: &str) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while !self.text().contains(expected) {
            assert!(
                Instant::now() < deadline,
                "no {expected:?} in {:?}",
                self.text()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

#[test]
fn on_a_terminal_run_relays_it_in_raw_mode_and_restores_it() {
    require_root!();
    let root = TestRoot::new("verbs");
    import_busybox(&root);
    root.compose(SERVICE);
    let size = nix::pty::Winsize {
        ws_row: 30,
        ws_col: 100,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    let pty = nix::pty::openpty(Some(&size), None).unwrap();
    let before = nix::sys::termios::tcgetattr(pty.slave.as_fd()).unwrap();
    let slave = File::from(pty.slave);
    let mut child = root
        .command(&[
            "run",
            "--rm",
            "box",
            "sh",
            "-c",
            "[ -t 0 ] && echo terminal; stty size; read line; echo \"got $line\"; stty size; \
             exit 5",
        ])
        .stdin(slave.try_clone().unwrap())
        .stdout(slave.try_clone().unwrap())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut master = File::from(pty.master.try_clone().unwrap());
    let screen = Screen::new(pty.master);
    // The container's terminal has ours's size, and follows it when SIGWINCH says it
    // changed.
    screen.wait_for("terminal\r\n30 100\r\n");
    let resized = Command::new("stty")
        .args(["rows", "40", "cols", "120"])
        .stdin(slave.try_clone().unwrap())
        .status()
        .unwrap();
    assert!(resized.success());
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGWINCH,
    )
    .unwrap();
    master.write_all(b"typed\r").unwrap();
    screen.wait_for("got typed\r\n40 120\r\n");
    let status = child.wait().unwrap();
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert_eq!(status.code(), Some(5), "{stderr}");
    assert_eq!(stderr, "");
    // Raw mode: what we typed was echoed by the container's terminal only, once.
    assert_eq!(
        screen.text().matches("typed").count(),
        2,
        "{:?}",
        screen.text()
    );
    let after = nix::sys::termios::tcgetattr(slave.as_fd()).unwrap();
    assert_eq!(after.local_flags, before.local_flags);
    assert_eq!(after.input_flags, before.input_flags);
    assert_eq!(after.output_flags, before.output_flags);
    root.wait_no_containers();
    root.finish();
}
