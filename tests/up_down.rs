//! The scenarios end to end: `up -d`, `--scale`, published ports, named volumes
//! and `down`, with the real binary on its own root (see `common::root`) and a busybox
//! image. What is asserted is observed from inside the containers (`exec -T SERVICE`
//! with busybox's nslookup, wget, ping) and from the host (TCP to published ports, the
//! kernel's interfaces and nftables rules). After each `down` nothing of the project is
//! left: no bridge, veth or nftables rule of it, and (checked by `TestRoot::finish`) no
//! mount, cgroup or process. They need root; as another user they pass with a "skipped"
//! message (CI runs as root).

use rcompose::engine::protocol::{ContainerSummary, Reply, Request};
use rcompose::engine::state::State;
use rcompose::engine::Client;
use rcompose::runtime::net::veth_name;
use std::collections::BTreeSet;
use std::fs;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::ops::Deref;
use std::path::PathBuf;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

mod common;

use common::root::{text, TestRoot, EXE};

/// A shell command that serves the container's hostname over HTTP on port 80.
const SERVE_HOSTNAME: &str =
    "sh -c 'mkdir /www && hostname >/www/index.html && exec httpd -f -p 80 -h /www'";

/// A test's root (see `TestRoot`) for one project, with the busybox image imported as
/// `bb:latest`. When the test fails, dropping it takes the project down (`down -v`)
/// before the root's own cleanup, so that no bridge, veth or nftables rule of it
/// outlives the test; [`Project::finish`] is `TestRoot::finish`.
struct Project {
    root: Option<TestRoot>,
    name: &'static str,
}

impl Project {
    fn new(name: &'static str) -> Project {
        let root = TestRoot::new(name);
        root.import(&[], &["bb:latest"]);
        Project {
            root: Some(root),
            name,
        }
    }

    fn finish(mut self) {
        self.root.take().unwrap().finish();
    }
}

impl Deref for Project {
    type Target = TestRoot;

    fn deref(&self) -> &TestRoot {
        self.root.as_ref().unwrap()
    }
}

impl Drop for Project {
    fn drop(&mut self) {
        if let Some(root) = &self.root {
            let _ = root.run(&["down", "-v", "-p", self.name]);
        }
    }
}

/// A service of `bb:latest` with `init: true` running `command`, then `extra` lines
/// (already indented for a service).
fn service(name: &str, command: &str, extra: &str) -> String {
    format!("  {name}:\n    image: bb:latest\n    init: true\n    command: {command}\n{extra}")
}

/// The project's containers (stopped ones too), sorted by name, as the engine lists
/// them for `ps` (with each one's address on each of its networks).
fn containers(root: &TestRoot, project: &str) -> Vec<ContainerSummary> {
    let client = Client::new(root.layout.clone(), PathBuf::from(EXE));
    let request = Request::List {
        project: Some(project.to_string()),
        all: true,
    };
    match client
        .call(&request, &[])
        .unwrap()
        .finish(|_, _| {})
        .unwrap()
    {
        Reply::Containers(mut list) => {
            list.sort_by(|a, b| a.name.cmp(&b.name));
            list
        }
        other => panic!("List answered {other:?}"),
    }
}

/// The container named `name` among `list`.
fn named<'a>(list: &'a [ContainerSummary], name: &str) -> &'a ContainerSummary {
    list.iter()
        .find(|c| c.name == name)
        .unwrap_or_else(|| panic!("no container {name} in {list:?}"))
}

/// The address of container `name` on network `network`.
fn address(list: &[ContainerSummary], name: &str, network: &str) -> Ipv4Addr {
    let container = named(list, name);
    container
        .networks
        .get(network)
        .unwrap_or_else(|| panic!("{name} is not on {network}: {:?}", container.networks))
        .parse()
        .unwrap()
}

/// `exec -T SERVICE ARGS...`: what it printed and how it ended.
fn exec(root: &TestRoot, service: &str, args: &[&str]) -> Output {
    let mut all = vec!["exec", "-T", service];
    all.extend_from_slice(args);
    root.run(&all)
}

/// `exec`, asserting success; its stdout.
fn exec_ok(root: &TestRoot, service: &str, args: &[&str]) -> String {
    let out = exec(root, service, args);
    assert_eq!(
        out.status.code(),
        Some(0),
        "exec {service} {args:?}\nstdout: {}\nstderr: {}",
        text(&out.stdout),
        text(&out.stderr)
    );
    text(&out.stdout)
}

/// The A addresses `nslookup NAME` answers inside `service`, sorted; `None` when the
/// name doesn't resolve (NXDOMAIN: busybox exits 1).
fn nslookup(root: &TestRoot, service: &str, name: &str) -> Option<Vec<Ipv4Addr>> {
    let out = exec(root, service, &["nslookup", "-type=a", name]);
    let stdout = text(&out.stdout);
    if out.status.code() != Some(0) {
        assert!(
            stdout.contains("NXDOMAIN"),
            "nslookup {name} in {service}: {stdout}{}",
            text(&out.stderr)
        );
        return None;
    }
    // The server's own lines come first, `Address:\t<ip>:53`; the answers follow
    // `Name:` lines.
    let mut answers = Vec::new();
    let mut in_answer = false;
    for line in stdout.lines() {
        if line.starts_with("Name:") {
            in_answer = true;
        } else if let Some(value) = line.strip_prefix("Address:").filter(|_| in_answer) {
            answers.push(value.trim().parse().unwrap());
        }
    }
    answers.sort();
    Some(answers)
}

/// Retries `rcompose ARGS...` until it succeeds (a server just started may not listen
/// yet); its stdout.
fn eventually(root: &TestRoot, args: &[&str]) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let out = root.run(args);
        if out.status.success() {
            return text(&out.stdout);
        }
        assert!(Instant::now() < deadline, "{args:?}: {}", text(&out.stderr));
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The lines of `rcompose up` (stderr: plain lines, it is not a terminal) that say a
/// container or network was made, started or recreated.
fn changes(stderr: &str) -> Vec<&str> {
    stderr
        .lines()
        .filter(|line| {
            ["Created", "Started", "Recreated"]
                .iter()
                .any(|w| line.trim_end().ends_with(w))
        })
        .collect()
}

/// What the kernel has of a project that is up: its bridges, its containers' veths
/// and netns files.
struct KernelObjects {
    bridges: Vec<String>,
    veths: Vec<String>,
    netns: Vec<PathBuf>,
}

impl KernelObjects {
    /// The bridges of the project's networks (the host interfaces holding the gateway
    /// of each network its containers are on), the host ends of their veths and their
    /// netns files under `root`.
    fn of(root: &TestRoot, list: &[ContainerSummary]) -> KernelObjects {
        let interfaces = host_ipv4_interfaces();
        let mut bridges = BTreeSet::new();
        let mut veths = Vec::new();
        for container in list {
            for (index, address) in container.networks.values().enumerate() {
                let address: Ipv4Addr = address.parse().unwrap();
                let bridge = interfaces
                    .iter()
                    .find(|(_, gateway, prefix)| same_subnet(address, *gateway, *prefix))
                    .unwrap_or_else(|| panic!("no bridge holds {address}: {interfaces:?}"));
                bridges.insert(bridge.0.clone());
                veths.push(veth_name(&container.id, index));
            }
        }
        let objects = KernelObjects {
            bridges: bridges.into_iter().collect(),
            veths,
            netns: list
                .iter()
                .map(|c| root.layout.run().join("netns").join(&c.id))
                .collect(),
        };
        for name in objects.bridges.iter().chain(&objects.veths) {
            assert!(interface_exists(name), "{name} is not there while up");
        }
        for file in &objects.netns {
            assert!(file.exists(), "{} is not there while up", file.display());
        }
        let rules = nft_ruleset();
        for bridge in &objects.bridges {
            assert!(rules.contains(bridge), "no nftables rule for {bridge}");
        }
        objects
    }

    /// Asserts that none of them is left, nor any nftables rule naming a bridge.
    fn assert_gone(&self) {
        for name in self.bridges.iter().chain(&self.veths) {
            assert!(!interface_exists(name), "{name} is left after down");
        }
        for file in &self.netns {
            assert!(!file.exists(), "{} is left after down", file.display());
        }
        let rules = nft_ruleset();
        for bridge in &self.bridges {
            assert!(
                !rules.contains(bridge),
                "nftables rules of {bridge} are left:\n{rules}"
            );
        }
    }
}

fn interface_exists(name: &str) -> bool {
    fs::symlink_metadata(format!("/sys/class/net/{name}")).is_ok()
}

/// The host's interfaces with an IPv4 address: (name, address, prefix length).
fn host_ipv4_interfaces() -> Vec<(String, Ipv4Addr, u8)> {
    let out = Command::new("ip")
        .args(["-4", "-o", "addr", "show"])
        .output()
        .unwrap();
    text(&out.stdout)
        .lines()
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            let name = words.nth(1)?.to_string();
            let cidr = words.nth(1)?;
            let (address, prefix) = cidr.split_once('/')?;
            Some((name, address.parse().ok()?, prefix.parse().ok()?))
        })
        .collect()
}

fn same_subnet(a: Ipv4Addr, b: Ipv4Addr, prefix: u8) -> bool {
    let mask = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
    u32::from(a) & mask == u32::from(b) & mask
}

fn nft_ruleset() -> String {
    let out = Command::new("nft")
        .args(["list", "ruleset"])
        .output()
        .unwrap();
    assert!(out.status.success(), "nft: {}", text(&out.stderr));
    text(&out.stdout)
}

/// `GET /` over HTTP/1.0 to 127.0.0.1:`port`: the body.
fn http_get(port: u16) -> String {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    stream.write_all(b"GET / HTTP/1.0\r\n\r\n").unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    match response.split_once("\r\n\r\n") {
        Some((_, body)) => body.to_string(),
        None => panic!("not an HTTP response: {response:?}"),
    }
}

/// The names of `list`.
fn names(list: &[ContainerSummary]) -> Vec<&str> {
    list.iter().map(|c| c.name.as_str()).collect()
}

#[test]
fn a_user_defined_bridge_resolves_and_reaches_its_members_only() {
    require_root!();
    let root = Project::new("bridges");
    let on_net = "    networks: [alpine-net]\n";
    root.compose(&format!(
        "services:\n{}{}{}{}networks:\n  alpine-net: {{}}\n",
        service("alpine1", "sleep 100000", on_net),
        service("alpine2", SERVE_HOSTNAME, on_net),
        service("alpine3", SERVE_HOSTNAME, ""),
        service(
            "alpine4",
            SERVE_HOSTNAME,
            "    networks: [alpine-net, default]\n"
        ),
    ));
    root.ok(&["up", "-d"]);
    let list = containers(&root, "bridges");
    let (net, default) = ("bridges_alpine-net", "bridges_default");
    for (name, networks) in [
        ("bridges-alpine1-1", vec![net]),
        ("bridges-alpine2-1", vec![net]),
        ("bridges-alpine3-1", vec![default]),
        ("bridges-alpine4-1", vec![net, default]),
    ] {
        let container = named(&list, name);
        assert_eq!(container.state, "running", "{name}");
        assert_eq!(
            container.networks.keys().collect::<Vec<_>>(),
            networks,
            "{name}"
        );
    }
    let alpine1 = address(&list, "bridges-alpine1-1", net);
    let alpine2 = address(&list, "bridges-alpine2-1", net);
    let alpine3 = address(&list, "bridges-alpine3-1", default);
    let alpine4 = address(&list, "bridges-alpine4-1", net);

    // alpine1 finds alpine2 and alpine4 by name, and reaches them over TCP.
    assert_eq!(nslookup(&root, "alpine1", "alpine2"), Some(vec![alpine2]));
    assert_eq!(nslookup(&root, "alpine1", "alpine4"), Some(vec![alpine4]));
    for name in ["alpine2", "alpine4"] {
        let url = format!("http://{name}/");
        let body = eventually(&root, &["exec", "-T", "alpine1", "wget", "-qO-", &url]);
        assert_eq!(body, format!("bridges-{name}-1\n"));
    }
    // alpine3, on the other network only, is neither resolvable nor reachable from
    // alpine1, though it serves (alpine4 reaches it at the same address).
    assert_eq!(nslookup(&root, "alpine1", "alpine3"), None);
    let alpine3_url = format!("http://{alpine3}/");
    let body = eventually(
        &root,
        &["exec", "-T", "alpine4", "wget", "-qO-", &alpine3_url],
    );
    assert_eq!(body, "bridges-alpine3-1\n");
    let ping = |target: Ipv4Addr| {
        let target = target.to_string();
        exec(&root, "alpine1", &["ping", "-c1", "-W1", &target])
            .status
            .code()
    };
    assert_eq!(ping(alpine2), Some(0));
    assert_eq!(ping(alpine3), Some(1));
    // busybox's `wget -T` crashes; `timeout` kills it with SIGTERM instead (143).
    let out = exec(
        &root,
        "alpine1",
        &["timeout", "1", "wget", "-qO-", &alpine3_url],
    );
    assert_eq!(out.status.code(), Some(143), "{}", text(&out.stdout));
    // alpine4, on both, resolves both sides.
    assert_eq!(nslookup(&root, "alpine4", "alpine1"), Some(vec![alpine1]));
    assert_eq!(nslookup(&root, "alpine4", "alpine3"), Some(vec![alpine3]));

    let kernel = KernelObjects::of(&root, &list);
    assert_eq!(kernel.bridges.len(), 2);
    root.ok(&["down"]);
    kernel.assert_gone();
    assert_eq!(names(&containers(&root, "bridges")), Vec::<&str>::new());
    root.finish();
}

#[test]
fn scaling_up_and_down_updates_the_service_name_in_dns() {
    require_root!();
    let root = Project::new("scale");
    root.compose(&format!(
        "services:\n{}{}",
        service("web", "sleep 100000", ""),
        service("client", "sleep 100000", "")
    ));
    root.ok(&["up", "-d", "--scale", "web=3"]);
    let list = containers(&root, "scale");
    assert_eq!(
        names(&list),
        [
            "scale-client-1",
            "scale-web-1",
            "scale-web-2",
            "scale-web-3"
        ]
    );
    let mut webs: Vec<Ipv4Addr> = ["scale-web-1", "scale-web-2", "scale-web-3"]
        .iter()
        .map(|name| address(&list, name, "scale_default"))
        .collect();
    webs.sort();
    assert_eq!(nslookup(&root, "client", "web"), Some(webs));
    let kernel = KernelObjects::of(&root, &list);

    root.ok(&["up", "-d", "--scale", "web=1"]);
    let after = containers(&root, "scale");
    assert_eq!(names(&after), ["scale-client-1", "scale-web-1"]);
    assert_eq!(
        named(&after, "scale-web-1").id,
        named(&list, "scale-web-1").id
    );
    let web1 = address(&list, "scale-web-1", "scale_default");
    assert_eq!(nslookup(&root, "client", "web"), Some(vec![web1]));
    let ps: serde_json::Value =
        serde_json::from_str(&root.ok(&["ps", "-a", "--format", "json"])).unwrap();
    let listed: Vec<(&str, &str)> = ps
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["Name"].as_str().unwrap(), c["State"].as_str().unwrap()))
        .collect();
    assert_eq!(
        listed,
        [("scale-client-1", "running"), ("scale-web-1", "running")]
    );
    for gone in ["scale-web-2", "scale-web-3"] {
        let id = &named(&list, gone).id;
        let veth = veth_name(id, 0);
        assert!(!interface_exists(&veth), "{gone}'s {veth} is left");
        let netns = root.layout.run().join("netns").join(id);
        assert!(!netns.exists(), "{gone}'s netns file is left");
    }

    // `down -p NAME` needs no compose file.
    fs::remove_file(root.path("compose.yaml")).unwrap();
    root.ok(&["down", "-p", "scale"]);
    kernel.assert_gone();
    assert_eq!(names(&containers(&root, "scale")), Vec::<&str>::new());
    root.finish();
}

#[test]
fn a_published_port_balances_over_the_replicas() {
    require_root!();
    let root = Project::new("balance");
    root.compose(&format!(
        "services:\n{}",
        service("web", SERVE_HOSTNAME, "    scale: 3\n    ports: [\"80\"]\n")
    ));
    root.ok(&["up", "-d"]);
    let list = containers(&root, "balance");
    let expected = ["balance-web-1", "balance-web-2", "balance-web-3"];
    assert_eq!(names(&list), expected);
    // Each replica serves its own name (once its httpd listens).
    for (index, name) in ["1", "2", "3"].into_iter().zip(expected) {
        let args = [
            "exec",
            "-T",
            "--index",
            index,
            "web",
            "wget",
            "-qO-",
            "http://127.0.0.1/",
        ];
        assert_eq!(eventually(&root, &args), format!("{name}\n"));
    }
    let published = root.ok(&["port", "web", "80"]);
    let port: u16 = published
        .trim_end()
        .strip_prefix("0.0.0.0:")
        .unwrap_or_else(|| panic!("port printed {published:?}"))
        .parse()
        .unwrap();
    let answers: BTreeSet<String> = (0..30).map(|_| http_get(port)).collect();
    let expected: BTreeSet<String> = expected.iter().map(|name| format!("{name}\n")).collect();
    assert_eq!(answers, expected);

    let kernel = KernelObjects::of(&root, &list);
    root.ok(&["down"]);
    kernel.assert_gone();
    assert!(
        TcpStream::connect(("127.0.0.1", port)).is_err(),
        "{port} still listens"
    );
    root.finish();
}

#[test]
fn a_taken_host_port_fails_up_and_makes_nothing() {
    require_root!();
    let root = Project::new("taken");
    let taken = TcpListener::bind(("127.0.0.1", 0)).unwrap();
    let port = taken.local_addr().unwrap().port();
    root.compose(&format!(
        "services:\n{}{}networks:\n  back: {{}}\n",
        service("db", "sleep 100000", "    networks: [back]\n"),
        service(
            "web",
            "sleep 100000",
            &format!("    networks: [back]\n    ports: [\"127.0.0.1:{port}:80\"]\n")
        ),
    ));
    let out = root.run(&["up", "-d"]);
    let stderr = text(&out.stderr);
    assert_ne!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains(&port.to_string()), "{stderr}");
    assert!(stderr.contains("web"), "{stderr}");
    assert_eq!(root.ok(&["ps", "-a", "-q"]), "");

    // The engine's records (readable once it has stopped) hold no network either.
    root.ok(&["engine", "stop"]);
    let state = State::open(&root.layout.state_db()).unwrap();
    assert_eq!(state.networks().unwrap(), vec![]);
    assert_eq!(state.containers().unwrap(), vec![]);
    drop(state);
    assert_eq!(root.ok(&["ps", "-a", "-q"]), "");
    drop(taken);
    root.finish();
}

#[test]
fn named_volume_data_outlives_down_but_not_down_v() {
    require_root!();
    let root = Project::new("volume");
    root.compose(&format!(
        "services:\n{}volumes:\n  data: {{}}\n",
        service("box", "sleep 100000", "    volumes: [\"data:/data\"]\n")
    ));
    root.ok(&["up", "-d"]);
    exec_ok(
        &root,
        "box",
        &["sh", "-c", "echo kept across down >/data/file"],
    );
    let kernel = KernelObjects::of(&root, &containers(&root, "volume"));
    root.ok(&["down"]);
    kernel.assert_gone();

    root.ok(&["up", "-d"]);
    assert_eq!(
        exec_ok(&root, "box", &["cat", "/data/file"]),
        "kept across down\n"
    );
    let kernel = KernelObjects::of(&root, &containers(&root, "volume"));
    root.ok(&["down", "-v"]);
    kernel.assert_gone();

    root.ok(&["up", "-d"]);
    assert_eq!(exec_ok(&root, "box", &["ls", "-A", "/data"]), "");
    root.ok(&["down", "-v"]);
    root.finish();
}

#[test]
fn up_again_with_no_change_changes_nothing() {
    require_root!();
    let root = Project::new("again");
    root.compose(&format!(
        "services:\n{}{}",
        service("web", "sleep 100000", "    scale: 2\n"),
        service("db", "sleep 100000", "")
    ));
    let first = root.run(&["up", "-d"]);
    assert_eq!(first.status.code(), Some(0), "{}", text(&first.stderr));
    assert_eq!(
        changes(&text(&first.stderr)).len(),
        7,
        "{}",
        text(&first.stderr)
    );
    let before = containers(&root, "again");

    let second = root.run(&["up", "-d"]);
    let stderr = text(&second.stderr);
    assert_eq!(second.status.code(), Some(0), "{stderr}");
    assert_eq!(changes(&stderr), Vec::<&str>::new(), "{stderr}");
    let after = containers(&root, "again");
    let ids = |list: &[ContainerSummary]| -> Vec<(String, String)> {
        list.iter()
            .map(|c| (c.name.clone(), c.id.clone()))
            .collect()
    };
    assert_eq!(ids(&after), ids(&before));
    assert!(after.iter().all(|c| c.state == "running"), "{after:?}");

    let kernel = KernelObjects::of(&root, &after);
    root.ok(&["down"]);
    kernel.assert_gone();
    root.finish();
}

/// The health `ps` shows for container `name` (`ps --format json`'s `Health`).
fn health_of(root: &TestRoot, name: &str) -> String {
    let json: serde_json::Value =
        serde_json::from_str(&root.ok(&["ps", "--format", "json"])).unwrap();
    json.as_array()
        .unwrap()
        .iter()
        .find(|c| c["Name"] == name)
        .map(|c| c["Health"].as_str().unwrap().to_string())
        .unwrap_or_else(|| panic!("no container {name} in {json}"))
}

/// Polls until container `name`'s health is `wanted` (5 s at most).
fn wait_health(root: &TestRoot, name: &str, wanted: &str) {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let health = health_of(root, name);
        if health == wanted {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{name} is {health}, not {wanted}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn healthchecks_gate_the_published_port_and_depends_on() {
    require_root!();
    let root = Project::new("health");
    let check = "    healthcheck:\n      test: [\"CMD\", \"test\", \"-f\", \"/ok\"]\n      interval: 100ms\n      retries: 1\n";
    root.compose(&format!(
        "services:\n{}{}{}",
        service(
            "web",
            SERVE_HOSTNAME,
            &format!("    scale: 2\n    ports: [\"80\"]\n{check}")
        ),
        // Healthy after half a second: `up` waits for it before starting client.
        service(
            "db",
            "sh -c 'sleep 0.5; touch /ok; exec sleep 100000'",
            "    healthcheck:\n      test: [\"CMD-SHELL\", \"test -f /ok\"]\n      interval: 100ms\n      start_period: 5s\n"
        ),
        service(
            "client",
            "sleep 100000",
            "    depends_on:\n      db:\n        condition: service_healthy\n"
        ),
    ));
    root.ok(&["up", "-d"]);
    assert_eq!(health_of(&root, "health-db-1"), "healthy");
    assert_eq!(health_of(&root, "health-client-1"), "");
    wait_health(&root, "health-web-1", "unhealthy");
    wait_health(&root, "health-web-2", "unhealthy");
    let port: u16 = root
        .ok(&["port", "web", "80"])
        .trim_end()
        .strip_prefix("0.0.0.0:")
        .unwrap()
        .parse()
        .unwrap();

    // Only healthy replicas take connections.
    root.ok(&["exec", "-T", "--index", "1", "web", "touch", "/ok"]);
    wait_health(&root, "health-web-1", "healthy");
    let answers: BTreeSet<String> = (0..6).map(|_| http_get(port)).collect();
    assert_eq!(answers, BTreeSet::from(["health-web-1\n".to_string()]));
    root.ok(&["exec", "-T", "--index", "2", "web", "touch", "/ok"]);
    wait_health(&root, "health-web-2", "healthy");
    let answers: BTreeSet<String> = (0..6).map(|_| http_get(port)).collect();
    assert_eq!(
        answers,
        BTreeSet::from(["health-web-1\n".to_string(), "health-web-2\n".to_string()])
    );
    root.ok(&["exec", "-T", "--index", "1", "web", "rm", "/ok"]);
    wait_health(&root, "health-web-1", "unhealthy");
    let answers: BTreeSet<String> = (0..6).map(|_| http_get(port)).collect();
    assert_eq!(answers, BTreeSet::from(["health-web-2\n".to_string()]));

    let list = containers(&root, "health");
    let kernel = KernelObjects::of(&root, &list);
    root.ok(&["down"]);
    kernel.assert_gone();
    root.finish();
}
