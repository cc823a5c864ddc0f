//! Containers end to end: `rcompose run --rm SERVICE true`, and 50 containers started at
//! once, with what the kernel work costs against the rest.
//!
//! Run as root with `cargo bench --bench container` (Debian's busybox-static must be
//! installed). It makes a busybox image, a root directory and a compose file in a
//! temporary directory, and prints medians of:
//! - `cli`: starting the rcompose binary (`rcompose version`);
//! - `ping`: one request/answer with the engine over its socket;
//! - `runtime`: the container alone, through the runtime library (helper, namespaces,
//!   overlay and other mounts, pivot_root, exec of `true`, exit), no engine;
//! - `run --rm`: the whole `rcompose run --rm bench true` (CLI, load of the compose file,
//!   engine, plan, state, cgroup, runtime, removal);
//! - 50 `run -d` started at once, until all have returned, and their forced removal
//!   (50 concurrent requests to the engine).
//!
//! When a Docker daemon answers (`docker info`), the same image is imported there and
//! `docker run --rm --network none IMAGE true` and 50 `docker run -d` are measured in the
//! same run, side by side.

#[path = "../tests/common/mod.rs"]
mod common;

use rcompose::engine::protocol::{Reply, Request};
use rcompose::engine::{Client, Layout};
use rcompose::runtime::{ContainerSpec, Rootfs, StdioSource, StdioSpec};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_rcompose");
const ROUNDS: usize = 20;
const AT_ONCE: usize = 50;

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

fn timed(mut f: impl FnMut()) -> Vec<Duration> {
    (0..ROUNDS)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed()
        })
        .collect()
}

fn check(output: Output, what: &str) -> Output {
    assert!(
        output.status.success(),
        "{what}: {}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

struct Bench {
    fixture: common::Fixture,
    root: PathBuf,
    compose: PathBuf,
}

impl Bench {
    fn rcompose(&self, args: &[&str]) -> Output {
        let output = Command::new(BIN)
            .arg("--root")
            .arg(&self.root)
            .arg("-f")
            .arg(&self.compose)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        check(output, &format!("rcompose {}", args.join(" ")))
    }
}

impl Drop for Bench {
    fn drop(&mut self) {
        let _ = Command::new(BIN)
            .arg("--root")
            .arg(&self.root)
            .args(["engine", "stop"])
            .status();
    }
}

fn main() {
    if !nix::unistd::geteuid().is_root() {
        eprintln!("the container benchmark needs root");
        return;
    }
    let fixture = common::Fixture::new();
    let dir = fixture.path("bench");
    fs::create_dir_all(&dir).unwrap();
    let tarball = dir.join("busybox.tar");
    check(
        Command::new("tar")
            .arg("-C")
            .arg(fixture.path("base"))
            .arg("-cf")
            .arg(&tarball)
            .arg(".")
            .output()
            .unwrap(),
        "tar",
    );
    let compose = dir.join("compose.yaml");
    fs::write(
        &compose,
        "name: bench\nservices:\n  bench:\n    image: bb:latest\n    network_mode: none\n",
    )
    .unwrap();
    let bench = Bench {
        root: dir.join("root"),
        compose,
        fixture,
    };
    bench.rcompose(&["image", "import", tarball.to_str().unwrap(), "bb:latest"]);

    let cli = median(timed(|| {
        check(
            Command::new(BIN).arg("version").output().unwrap(),
            "version",
        );
    }));
    let client = Client::new(Layout::new(Some(bench.root.clone())), PathBuf::from(BIN));
    let ping = median(timed(|| {
        let reply = client.call(&Request::Ping, &[]).unwrap().finish(|_, _| {});
        assert!(matches!(reply, Ok(Reply::Pong { .. })), "{reply:?}");
    }));
    let runtime = median(timed(|| runtime_only(&bench.fixture)));
    let run = median(timed(|| {
        bench.rcompose(&["run", "--rm", "-T", "bench", "true"]);
    }));

    let start = Instant::now();
    let children: Vec<_> = (0..AT_ONCE)
        .map(|i| {
            Command::new(BIN)
                .arg("--root")
                .arg(&bench.root)
                .arg("-f")
                .arg(&bench.compose)
                .args([
                    "run",
                    "-d",
                    "--name",
                    &format!("bench-{i}"),
                    "bench",
                    "sleep",
                    "600",
                ])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        check(child.wait_with_output().unwrap(), "run -d");
    }
    let at_once = start.elapsed();
    let start = Instant::now();
    let removers: Vec<_> = (0..AT_ONCE)
        .map(|i| {
            let client = client.clone();
            std::thread::spawn(move || {
                let request = Request::Remove {
                    container: format!("bench-{i}"),
                    force: true,
                };
                let reply = client.call(&request, &[]).unwrap().finish(|_, _| {});
                assert!(matches!(reply, Ok(Reply::Ok)), "{reply:?}");
            })
        })
        .collect();
    for remover in removers {
        remover.join().unwrap();
    }
    let removal = start.elapsed();

    println!("rcompose, medians of {ROUNDS} (2-core machine):");
    println!("  cli start (rcompose version)      {}", ms(cli));
    println!("  engine round trip (ping)          {}", ms(ping));
    println!("  runtime only (helper..exec..exit) {}", ms(runtime));
    println!("  run --rm bench true (end to end)  {}", ms(run));
    println!("  {AT_ONCE} x run -d at once             {}", ms(at_once));
    println!("  {AT_ONCE} x forced removal at once      {}", ms(removal));
    docker(&tarball);
}

/// The container alone: overlay of the image layer, the standard mounts, `true`.
fn runtime_only(fixture: &common::Fixture) {
    let scratch = tempfile::tempdir_in(fixture.path("bench")).unwrap();
    for sub in ["upper", "work", "merged"] {
        fs::create_dir(scratch.path().join(sub)).unwrap();
    }
    let rootfs = Rootfs::Overlay {
        lower: vec![fixture.path("base")],
        upper: scratch.path().join("upper"),
        work: scratch.path().join("work"),
        target: scratch.path().join("merged"),
    };
    let mut spec = ContainerSpec::new(rootfs, "bench", vec!["true".to_string()]);
    spec.env.insert("PATH".to_string(), "/bin".to_string());
    let stdio = StdioSpec {
        stdin: StdioSource::Null,
        stdout: StdioSource::Null,
        stderr: StdioSource::Null,
    };
    let status = common::runtime()
        .spawn(&spec.validate().unwrap(), stdio)
        .and_then(|c| c.wait())
        .unwrap();
    assert_eq!(status.code(), 0);
}

/// The same with Docker, when a daemon answers.
fn docker(tarball: &Path) {
    let answers = Command::new("docker")
        .arg("info")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !answers {
        println!("docker: no daemon answers here; not measured");
        return;
    }
    let docker = |args: &[&str]| {
        check(
            Command::new("docker").args(args).output().unwrap(),
            &format!("docker {}", args.join(" ")),
        )
    };
    docker(&[
        "import",
        tarball.to_str().unwrap(),
        "rcompose-bench-bb:latest",
    ]);
    let run = median(timed(|| {
        docker(&[
            "run",
            "--rm",
            "--network",
            "none",
            "rcompose-bench-bb:latest",
            "true",
        ]);
    }));
    let start = Instant::now();
    let children: Vec<_> = (0..AT_ONCE)
        .map(|i| {
            Command::new("docker")
                .args(["run", "-d", "--network", "none", "--name"])
                .arg(format!("rcompose-bench-{i}"))
                .args(["rcompose-bench-bb:latest", "sleep", "600"])
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        check(child.wait_with_output().unwrap(), "docker run -d");
    }
    let at_once = start.elapsed();
    let start = Instant::now();
    let names: Vec<String> = (0..AT_ONCE)
        .map(|i| format!("rcompose-bench-{i}"))
        .collect();
    let mut args = vec!["rm", "-f"];
    args.extend(names.iter().map(String::as_str));
    docker(&args);
    let removal = start.elapsed();
    docker(&["rmi", "rcompose-bench-bb:latest"]);
    println!("docker, same machine, same image:");
    println!("  docker run --rm true              {}", ms(run));
    println!("  {AT_ONCE} x docker run -d at once      {}", ms(at_once));
    println!("  docker rm -f of the {AT_ONCE}            {}", ms(removal));
}
