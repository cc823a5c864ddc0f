//! The benchmark: `up -d --scale web=50` and `down` of a project of three
//! services on two networks, beside docker-compose; then the embedded DNS as a container
//! sees it.
//!
//! Run as root with `cargo bench --bench updown` (Debian's busybox-static must be
//! installed). It makes a busybox image, a root directory and a compose file in a
//! temporary directory: `web` (busybox, `init: true`, `sleep 100000`) on the network
//! `front`, `db` on `back`, `api` on both. It prints:
//! - the wall time of `rcompose up -d --scale web=50` (52 containers) and of
//!   `rcompose down`, min/median/max of 5 rounds, each checked with `ps` (52 running
//!   after up, none after down); once, whether `api` reaches `web` and `db` by name;
//! - the same file under docker-compose (`docker import` of the same tarball, tagged
//!   the same), when `docker` and `docker-compose` are installed and the daemon answers;
//! - the DNS from inside a container: a project with a service `app` of three replicas,
//!   and clients on threads that joined the network namespace of `app-1` sending A
//!   queries for `app` to the network's gateway, port 53, with one query in flight each
//!   (send, wait for the reply, send the next) for 2 s: queries answered per second and
//!   the round trip's percentiles, for 1 and 4 clients. Every reply is checked (id,
//!   rcode, three addresses).

#[path = "../tests/common/mod.rs"]
mod common;

use nix::sched::{setns, CloneFlags};
use rcompose::dns::Name;
use rcompose::engine::protocol::{ContainerSummary, Reply, Request};
use rcompose::engine::{Client, Layout};
use std::fs::{self, File};
use std::net::{Ipv4Addr, SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_rcompose");
/// The image, with the same tag in rcompose and in Docker.
const IMAGE: &str = "rcompose-updown-bb:latest";
const ROUNDS: usize = 5;
const REPLICAS: usize = 50;
/// Replicas of web plus api and db.
const CONTAINERS: usize = REPLICAS + 2;
/// The project under both tools (`-p`; the file has no `name:`, which docker-compose
/// 1.29 refuses).
const PROJECT: &str = "rcupdown";
const COMPOSE: &str = "\
services:
  web:
    image: rcompose-updown-bb:latest
    init: true
    command: sleep 100000
    networks: [front]
  api:
    image: rcompose-updown-bb:latest
    init: true
    command: sleep 100000
    networks: [front, back]
  db:
    image: rcompose-updown-bb:latest
    init: true
    command: sleep 100000
    networks: [back]
networks:
  front: {}
  back: {}
";
/// The DNS section's project: its service `app` has [`DNS_REPLICAS`] replicas.
const DNS_PROJECT: &str = "rcupdowndns";
const DNS_COMPOSE: &str = "\
services:
  app:
    image: rcompose-updown-bb:latest
    init: true
    command: sleep 100000
";
const DNS_REPLICAS: u16 = 3;
/// How long each DNS measurement runs, after the warm-up.
const DNS_RUN: Duration = Duration::from_secs(2);
/// Queries each DNS client sends before measuring.
const DNS_WARM_UP: usize = 200;

fn check(output: Output, what: &str) -> Output {
    assert!(
        output.status.success(),
        "{what}: {}\nstdout: {}\nstderr: {}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

fn timed(f: impl FnOnce()) -> Duration {
    let start = Instant::now();
    f();
    start.elapsed()
}

/// `min / median / max` in seconds.
fn spread(mut samples: Vec<Duration>) -> String {
    samples.sort();
    let s = |d: &Duration| format!("{:.3} s", d.as_secs_f64());
    match (samples.first(), samples.last()) {
        (Some(min), Some(max)) => format!(
            "min {}  median {}  max {}",
            s(min),
            s(&samples[samples.len() / 2]),
            s(max)
        ),
        _ => "no samples".to_string(),
    }
}

/// The engine's root in a fixture's directory; dropping it stops the engine, then
/// removes the directory.
struct Bench {
    fixture: common::Fixture,
    root: PathBuf,
    client: Client,
}

impl Bench {
    /// `rcompose --root ROOT -p PROJECT -f FILE ARGS`, asserted to succeed.
    fn rcompose(&self, project: &str, file: &Path, args: &[&str]) -> Output {
        let output = self.try_rcompose(project, file, args);
        check(output, &format!("rcompose -p {project} {}", args.join(" ")))
    }

    fn try_rcompose(&self, project: &str, file: &Path, args: &[&str]) -> Output {
        Command::new(BIN)
            .arg("--root")
            .arg(&self.root)
            .args(["-p", project, "-f"])
            .arg(file)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap()
    }

    /// The containers of `project`, stopped ones too.
    fn containers(&self, project: &str) -> Vec<ContainerSummary> {
        let request = Request::List {
            project: Some(project.to_string()),
            all: true,
        };
        match self.client.call(&request, &[]).unwrap().finish(|_, _| {}) {
            Ok(Reply::Containers(containers)) => containers,
            other => panic!("list: {other:?}"),
        }
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
        eprintln!("the up/down benchmark needs root");
        return;
    }
    let fixture = common::Fixture::new();
    let root = fixture.path("bench/root");
    let bench = Bench {
        client: Client::new(Layout::new(Some(root.clone())), PathBuf::from(BIN)),
        root,
        fixture,
    };
    let dir = bench.fixture.path("bench");
    fs::create_dir_all(&dir).unwrap();
    let tarball = dir.join("busybox.tar");
    common::root::busybox_tarball(&tarball, &[]);
    let compose = dir.join("compose.yaml");
    fs::write(&compose, COMPOSE).unwrap();
    bench.rcompose(
        PROJECT,
        &compose,
        &["image", "import", tarball.to_str().unwrap(), IMAGE],
    );

    let scale = format!("web={REPLICAS}");
    let up_args = ["up", "-d", "--scale", &scale];
    let (mut ups, mut downs) = (Vec::new(), Vec::new());
    let mut reach = String::new();
    for round in 0..ROUNDS {
        ups.push(timed(|| {
            bench.rcompose(PROJECT, &compose, &up_args);
        }));
        let running = bench
            .containers(PROJECT)
            .iter()
            .filter(|c| c.state == "running")
            .count();
        assert_eq!(running, CONTAINERS, "running after up");
        if round == 0 {
            reach = reaches(&bench, &compose);
        }
        downs.push(timed(|| {
            bench.rcompose(PROJECT, &compose, &["down"]);
        }));
        assert_eq!(bench.containers(PROJECT).len(), 0, "containers after down");
    }
    println!(
        "{CONTAINERS} containers (web x {REPLICAS}, api, db; networks front and back), \
         {ROUNDS} rounds, 2-core machine:"
    );
    println!("  rcompose up -d --scale {scale}   {}", spread(ups));
    println!("  rcompose down                     {}", spread(downs));
    println!("  api reaches web and db by name (ping): {reach}");
    docker_compose(&tarball, &compose, &scale);
    dns(&bench, &dir);
}

/// Whether `api` pings `web` and `db` by name: "yes", or what failed.
fn reaches(bench: &Bench, compose: &Path) -> String {
    let failed: Vec<String> = ["web", "db"]
        .iter()
        .filter_map(|name| {
            let out = bench.try_rcompose(
                PROJECT,
                compose,
                &["exec", "-T", "api", "ping", "-c", "1", "-W", "2", name],
            );
            (!out.status.success()).then(|| {
                format!(
                    "{name}: {} {}",
                    String::from_utf8_lossy(&out.stdout).trim(),
                    String::from_utf8_lossy(&out.stderr).trim()
                )
            })
        })
        .collect();
    if failed.is_empty() {
        "yes".to_string()
    } else {
        format!("NO ({})", failed.join("; "))
    }
}

/// The same file under docker-compose, when it and a Docker daemon are there.
fn docker_compose(tarball: &Path, compose: &Path, scale: &str) {
    let installed = ["docker", "docker-compose"].iter().all(|program| {
        Command::new(program)
            .arg("version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok()
    });
    if !installed {
        println!("  docker-compose: not measured (not installed)");
        return;
    }
    let answers = Command::new("docker")
        .arg("info")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !answers {
        println!("  docker-compose: not measured (the Docker daemon does not answer)");
        return;
    }
    let docker = |args: &[&str]| {
        check(
            Command::new("docker").args(args).output().unwrap(),
            &format!("docker {}", args.join(" ")),
        )
    };
    let compose_run = |args: &[&str]| {
        check(
            Command::new("docker-compose")
                .args(["-p", PROJECT, "-f"])
                .arg(compose)
                .args(args)
                .stdin(Stdio::null())
                .output()
                .unwrap(),
            &format!("docker-compose {}", args.join(" ")),
        )
    };
    let version = docker(&["version", "--format", "{{.Server.Version}}"]);
    let compose_version = compose_run(&["version", "--short"]);
    docker(&["import", tarball.to_str().unwrap(), IMAGE]);
    let _cleanup = DockerCleanup { compose };
    let (mut ups, mut downs) = (Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        ups.push(timed(|| {
            compose_run(&["up", "-d", "--scale", scale]);
        }));
        let listed = compose_run(&["ps", "-q"]);
        let running = String::from_utf8_lossy(&listed.stdout).lines().count();
        assert_eq!(running, CONTAINERS, "docker-compose ps -q after up");
        downs.push(timed(|| {
            compose_run(&["down"]);
        }));
    }
    println!(
        "docker-compose {} with Docker {}, same file, same image:",
        String::from_utf8_lossy(&compose_version.stdout).trim(),
        String::from_utf8_lossy(&version.stdout).trim()
    );
    println!("  docker-compose up -d --scale {scale}   {}", spread(ups));
    println!(
        "  docker-compose down                     {}",
        spread(downs)
    );
}

/// Takes the docker-compose project down and removes the image, also when a round
/// failed.
struct DockerCleanup<'a> {
    compose: &'a Path,
}

impl Drop for DockerCleanup<'_> {
    fn drop(&mut self) {
        let _ = Command::new("docker-compose")
            .args(["-p", PROJECT, "-f"])
            .arg(self.compose)
            .arg("down")
            .stdin(Stdio::null())
            .output();
        let _ = Command::new("docker").args(["rmi", IMAGE]).output();
    }
}

/// The DNS from inside a container of a project with `app` x [`DNS_REPLICAS`].
fn dns(bench: &Bench, dir: &Path) {
    let compose = dir.join("dns.yaml");
    fs::write(&compose, DNS_COMPOSE).unwrap();
    let scale = format!("app={DNS_REPLICAS}");
    bench.rcompose(DNS_PROJECT, &compose, &["up", "-d", "--scale", &scale]);
    let resolv = bench.rcompose(
        DNS_PROJECT,
        &compose,
        &["exec", "-T", "app", "cat", "/etc/resolv.conf"],
    );
    let resolv = String::from_utf8_lossy(&resolv.stdout).into_owned();
    let gateway: Ipv4Addr = resolv
        .lines()
        .find_map(|line| line.strip_prefix("nameserver "))
        .and_then(|address| address.trim().parse().ok())
        .unwrap_or_else(|| panic!("no IPv4 nameserver in app-1's resolv.conf:\n{resolv}"));
    let app1 = bench
        .containers(DNS_PROJECT)
        .into_iter()
        .find(|c| c.service == "app" && c.number == Some(1))
        .expect("app-1");
    let netns = bench.root.join("run").join("netns").join(&app1.id);
    let server = SocketAddr::from((gateway, 53));
    println!(
        "DNS from inside app-1 (A app, {DNS_REPLICAS} addresses) to {server}, \
         {} s each, one query in flight per client:",
        DNS_RUN.as_secs()
    );
    println!(
        "  {:>7} {:>9} {:>10} {:>8} {:>8}",
        "clients", "queries", "queries/s", "p50 µs", "p99 µs"
    );
    for clients in [1, 4] {
        let (count, elapsed, times) = in_netns(&netns, move || measure(server, clients));
        println!(
            "  {clients:>7} {count:>9} {:>10.0} {:>8.1} {:>8.1}",
            count as f64 / elapsed.as_secs_f64(),
            percentile(&times, 0.50),
            percentile(&times, 0.99),
        );
    }
    bench.rcompose(DNS_PROJECT, &compose, &["down"]);
}

/// Runs `f` on a thread that joined the network namespace of the file `netns` (threads
/// it starts are in it too).
fn in_netns<T: Send + 'static>(netns: &Path, f: impl FnOnce() -> T + Send + 'static) -> T {
    let file = File::open(netns).unwrap_or_else(|e| panic!("{}: {e}", netns.display()));
    std::thread::spawn(move || {
        setns(&file, CloneFlags::CLONE_NEWNET).expect("setns into the container's netns");
        f()
    })
    .join()
    .expect("the DNS clients' thread")
}

/// `clients` threads querying `server` for [`DNS_RUN`] after their warm-up: the queries
/// answered, the time it took and their sorted round-trip times.
fn measure(server: SocketAddr, clients: usize) -> (usize, Duration, Vec<Duration>) {
    let warmed = Arc::new(Barrier::new(clients + 1));
    let threads: Vec<_> = (0..clients)
        .map(|_| {
            let warmed = warmed.clone();
            std::thread::spawn(move || dns_client(server, &warmed))
        })
        .collect();
    warmed.wait();
    let start = Instant::now();
    let mut times: Vec<Duration> = threads
        .into_iter()
        .flat_map(|t| t.join().expect("DNS client"))
        .collect();
    let elapsed = start.elapsed();
    times.sort();
    (times.len(), elapsed, times)
}

/// One client: the warm-up, then queries for [`DNS_RUN`]; their round-trip times.
fn dns_client(server: SocketAddr, warmed: &Barrier) -> Vec<Duration> {
    let mut request = vec![0, 0, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0];
    request.extend_from_slice(Name::from_dotted("app").expect("a name").wire());
    request.extend_from_slice(&[0, 1, 0, 1]);
    let socket = UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0)).expect("client socket");
    socket.connect(server).expect("connect");
    socket
        .set_read_timeout(Some(Duration::from_secs(1)))
        .expect("timeout");
    let mut buffer = [0u8; 1500];
    let mut query = |n: usize| {
        let id = (n % 65_536) as u16;
        request[..2].copy_from_slice(&id.to_be_bytes());
        let start = Instant::now();
        socket.send(&request).expect("send");
        let len = socket.recv(&mut buffer).expect("a reply within 1 s");
        let elapsed = start.elapsed();
        let reply = &buffer[..len];
        assert!(len >= 12, "a reply shorter than a header");
        assert_eq!(reply[..2], id.to_be_bytes(), "reply to another query");
        assert_eq!(reply[3] & 0xF, 0, "rcode");
        assert_eq!(u16::from_be_bytes([reply[6], reply[7]]), DNS_REPLICAS);
        elapsed
    };
    for n in 0..DNS_WARM_UP {
        query(n);
    }
    warmed.wait();
    let until = Instant::now() + DNS_RUN;
    let mut times = Vec::with_capacity(1 << 18);
    let mut n = DNS_WARM_UP;
    while Instant::now() < until {
        times.push(query(n));
        n += 1;
    }
    times
}

/// The `p` percentile of `sorted`, in µs.
fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let index = ((sorted.len().saturating_sub(1)) as f64 * p).round() as usize;
    sorted.get(index).map_or(0.0, |d| d.as_secs_f64() * 1e6)
}
