//! runtime::net made for real: network namespace files, bridges and veths with their
//! peer born in a container's network namespace, observed through netlink and from
//! inside busybox containers that join those namespaces (`Network::Join`).
//!
//! Each test that makes links runs in a network namespace of its own (a thread that
//! unshared one): its bridges and host veth ends are invisible to the host and to the
//! other tests, and die with it, also when it fails. Its network namespace files live
//! in its own temporary directory, removed by a guard. They need root; as another user
//! they pass with a "skipped" message (CI runs as root).

use nix::errno::Errno;
use nix::sched::{unshare, CloneFlags};
use rcompose::runtime::net::{self, netns, NetError, Netlink, Veth};
use rcompose::runtime::{Network, RuntimeError, Step};
use rtnetlink::packet_route::address::AddressAttribute;
use rtnetlink::packet_route::link::{LinkAttribute, LinkFlags, LinkMessage};
use std::fs;
use std::future::Future;
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

mod common;
use common::Fixture;

/// Runs `test` on a new thread that has a network namespace of its own, with a
/// current-thread tokio runtime to run futures on; its panics are the test's.
fn in_own_netns(test: impl FnOnce(&Runner) + Send + 'static) {
    let outcome = std::thread::spawn(move || {
        unshare(CloneFlags::CLONE_NEWNET).unwrap();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        test(&Runner(runtime))
    })
    .join();
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

struct Runner(tokio::runtime::Runtime);

impl Runner {
    fn run<T>(&self, future: impl Future<Output = T>) -> T {
        self.0.block_on(future)
    }

    fn netlink(&self) -> Netlink {
        self.run(async { Netlink::new().unwrap() })
    }
}

/// A test's directory of network namespace files; dropping it removes every one.
struct NetnsDir {
    dir: tempfile::TempDir,
}

impl NetnsDir {
    fn new() -> NetnsDir {
        let dir = tempfile::Builder::new()
            .prefix("rcompose-netns-")
            .tempdir()
            .unwrap();
        NetnsDir { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// A fresh network namespace bound on `name` in the directory.
    fn create(&self, name: &str) -> PathBuf {
        let path = self.path(name);
        netns::create(&path).unwrap();
        path
    }

    /// A name no other test uses (the directory's own is unique).
    fn id(&self) -> String {
        self.dir.path().to_string_lossy().into_owned()
    }

    fn mounts(&self) -> Vec<String> {
        mounts_under(self.dir.path())
    }
}

impl Drop for NetnsDir {
    fn drop(&mut self) {
        for entry in fs::read_dir(self.dir.path())
            .into_iter()
            .flatten()
            .flatten()
        {
            let _ = netns::remove(&entry.path());
        }
    }
}

/// `(mount point, filesystem type)` of every mount under `dir`.
fn mounts_under(dir: &Path) -> Vec<String> {
    let dir = dir.to_string_lossy().into_owned();
    fs::read_to_string("/proc/self/mountinfo")
        .unwrap()
        .lines()
        .filter_map(|line| {
            let point = line.split(' ').nth(4)?;
            let fstype = line.split(" - ").nth(1)?.split(' ').next()?;
            point.starts_with(&dir).then(|| format!("{point} {fstype}"))
        })
        .collect()
}

/// What a busybox container joining the network namespace `netns` prints for `script`.
fn run_in(netns: &Path, script: &str) -> String {
    let fixture = Fixture::new();
    let mut spec = fixture.spec(script);
    spec.network = Network::Join {
        path: netns.to_path_buf(),
    };
    fixture.run(spec).ok()
}

/// The link `name` as the kernel describes it, from a netlink socket of our own.
async fn describe(name: &str) -> LinkMessage {
    let (connection, handle, _) = rtnetlink::new_connection().unwrap();
    tokio::spawn(connection);
    use futures_util::TryStreamExt;
    handle
        .link()
        .get()
        .match_name(name.to_string())
        .execute()
        .try_next()
        .await
        .unwrap()
        .unwrap()
}

/// The IPv4 addresses (`a.b.c.d/n`) of the link `index`.
async fn addresses(index: u32) -> Vec<String> {
    let (connection, handle, _) = rtnetlink::new_connection().unwrap();
    tokio::spawn(connection);
    use futures_util::TryStreamExt;
    let messages: Vec<_> = handle
        .address()
        .get()
        .set_link_index_filter(index)
        .execute()
        .try_collect()
        .await
        .unwrap();
    messages
        .iter()
        .flat_map(|message| {
            message
                .attributes
                .iter()
                .filter_map(move |attribute| match attribute {
                    AddressAttribute::Address(IpAddr::V4(address)) => {
                        Some(format!("{address}/{}", message.header.prefix_len))
                    }
                    _ => None,
                })
        })
        .collect()
}

fn mtu(link: &LinkMessage) -> Option<u32> {
    link.attributes
        .iter()
        .find_map(|attribute| match attribute {
            LinkAttribute::Mtu(mtu) => Some(*mtu),
            _ => None,
        })
}

fn controller(link: &LinkMessage) -> Option<u32> {
    link.attributes
        .iter()
        .find_map(|attribute| match attribute {
            LinkAttribute::Controller(index) => Some(*index),
            _ => None,
        })
}

fn mac(link: &LinkMessage) -> Option<Vec<u8>> {
    link.attributes
        .iter()
        .find_map(|attribute| match attribute {
            LinkAttribute::Address(mac) => Some(mac.clone()),
            _ => None,
        })
}

/// Polls `list_links(prefix)` until it is `expected` (the kernel destroys a network
/// namespace, and its veths, in the background); gives the last answer after 10 s.
fn wait_for_links(
    runner: &Runner,
    netlink: &Netlink,
    prefix: &str,
    expected: &[String],
) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let links = runner.run(netlink.list_links(prefix)).unwrap();
        if links == expected || Instant::now() > deadline {
            return links;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn a_netns_file_is_made_with_lo_up_and_removed_without_a_trace() {
    require_root!();
    let dir = NetnsDir::new();
    let path = dir.create("c1");
    let point = path.to_string_lossy().into_owned();
    assert_eq!(dir.mounts(), vec![format!("{point} nsfs")]);
    // Inside: only `lo`, up (IFF_UP | IFF_LOOPBACK).
    assert_eq!(
        run_in(&path, "ls /sys/class/net; cat /sys/class/net/lo/flags"),
        "lo\n0x9\n"
    );

    let err = netns::create(&path).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("cannot create the network namespace file {point}")
    );
    assert!(matches!(err, NetError::NetnsFile { ref source, .. }
        if source.kind() == std::io::ErrorKind::AlreadyExists));
    assert_eq!(dir.mounts(), vec![format!("{point} nsfs")]);

    netns::remove(&path).unwrap();
    assert_eq!(dir.mounts(), Vec::<String>::new());
    assert!(!path.exists());
    // Absent is fine, and so is a file with nothing mounted on it.
    netns::remove(&path).unwrap();
    fs::write(&path, "").unwrap();
    netns::remove(&path).unwrap();
    assert!(!path.exists());

    let missing = dir.path("no/such/dir/c2");
    assert!(netns::create(&missing).is_err());
    assert!(!missing.exists());
}

#[test]
fn joining_a_missing_or_foreign_file_fails_at_its_step() {
    require_root!();
    let dir = NetnsDir::new();
    let fixture = Fixture::new();
    let plain = dir.path("plain");
    fs::write(&plain, "").unwrap();
    for (path, errno) in [(dir.path("missing"), Errno::ENOENT), (plain, Errno::EINVAL)] {
        let mut spec = fixture.spec("true");
        spec.network = Network::Join { path: path.clone() };
        let err = fixture.run(spec).result.unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("joining the network namespace {}", path.display())
        );
        assert!(
            matches!(&err, RuntimeError::Setup { step: Step::JoinNetwork { path: p }, errno: e }
                if *p == path && *e == errno),
            "{err:?}"
        );
    }
}

#[test]
fn a_bridge_is_ensured_idempotently_and_deleted() {
    require_root!();
    in_own_netns(|runner| {
        let dir = NetnsDir::new();
        let netlink = runner.netlink();
        let name = net::bridge_name(&dir.id());
        let gateway = Ipv4Addr::new(10, 89, 0, 1);
        assert!(!runner.run(netlink.bridge_exists(&name)).unwrap());
        for _ in 0..2 {
            runner
                .run(netlink.create_bridge(&name, 1400, gateway, 24))
                .unwrap();
        }
        assert!(runner.run(netlink.bridge_exists(&name)).unwrap());
        assert_eq!(
            runner.run(netlink.list_links("rc-")).unwrap(),
            vec![name.clone()]
        );

        let link = runner.run(describe(&name));
        assert!(link.header.flags.contains(LinkFlags::Up));
        assert_eq!(mtu(&link), Some(1400));
        let address = mac(&link).unwrap();
        assert_eq!(address.len(), 6);
        assert_eq!(address[0], 0x02, "{address:02x?}");
        assert_eq!(
            runner.run(addresses(link.header.index)),
            vec!["10.89.0.1/24".to_string()]
        );

        let err = runner
            .run(netlink.create_bridge(&name, 1400, Ipv4Addr::new(10, 90, 0, 1), 16))
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "the bridge {name} exists with the address(es) 10.89.0.1/24 instead of \
                 10.90.0.1/16: it is left from an older network of that name; remove the \
                 network (rcompose down) and retry"
            )
        );

        runner.run(netlink.delete_bridge(&name)).unwrap();
        assert!(!runner.run(netlink.bridge_exists(&name)).unwrap());
        runner.run(netlink.delete_bridge(&name)).unwrap();
        assert_eq!(
            runner.run(netlink.list_links("rc-")).unwrap(),
            Vec::<String>::new()
        );
    });
}

#[test]
fn veths_join_two_network_namespaces_over_a_bridge() {
    require_root!();
    in_own_netns(|runner| {
        let dir = NetnsDir::new();
        let netlink = runner.netlink();
        let bridge = net::bridge_name(&dir.id());
        runner
            .run(netlink.create_bridge(&bridge, 1400, Ipv4Addr::new(10, 89, 0, 1), 24))
            .unwrap();
        let (a, b) = (dir.create("a"), dir.create("b"));
        let veth = |netns: &Path, host: String, last: u8, gateway| Veth {
            host_name: host,
            bridge: bridge.clone(),
            netns: netns.to_path_buf(),
            peer_name: "eth0".to_string(),
            mac: [0x02, 0x42, 0x0a, 0x59, 0x00, last],
            mtu: 1400,
            address: Ipv4Addr::new(10, 89, 0, last),
            prefix: 24,
            gateway,
        };
        let host_a = net::veth_name(&format!("{}/a", dir.id()), 0);
        let host_b = net::veth_name(&format!("{}/b", dir.id()), 0);
        let gateway = Some(Ipv4Addr::new(10, 89, 0, 1));
        runner
            .run(netlink.add_veth(&veth(&a, host_a.clone(), 2, gateway)))
            .unwrap();
        runner
            .run(netlink.add_veth(&veth(&b, host_b.clone(), 3, None)))
            .unwrap();

        let mut hosts = vec![host_a.clone(), host_b.clone()];
        hosts.sort();
        assert_eq!(runner.run(netlink.list_links("rcv")).unwrap(), hosts);
        let bridge_index = runner.run(describe(&bridge)).header.index;
        for host in &hosts {
            let link = runner.run(describe(host));
            assert!(link.header.flags.contains(LinkFlags::Up), "{host}");
            assert_eq!(controller(&link), Some(bridge_index), "{host}");
            assert_eq!(mtu(&link), Some(1400), "{host}");
        }
        let err = runner
            .run(netlink.create_bridge(&host_a, 1400, Ipv4Addr::new(10, 91, 0, 1), 24))
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "an interface named {host_a} exists but is not a bridge (it is a veth \
                 interface); remove it and retry"
            )
        );

        // Routes as /proc/net/route has them: interface, destination, gateway, mask.
        let script = "cat /sys/class/net/eth0/address /sys/class/net/eth0/mtu; \
                      ls /sys/class/net; \
                      awk 'NR > 1 { print $1, $2, $3, $8 }' /proc/net/route; \
                      ping -c 1 -W 5 $PEER > /dev/null && echo reached $PEER; \
                      ping -c 1 -W 5 10.89.0.1 > /dev/null && echo reached the gateway; \
                      cat /sys/class/net/eth0/operstate";
        assert_eq!(
            run_in(&a, &script.replace("$PEER", "10.89.0.3")),
            "02:42:0a:59:00:02\n1400\neth0\nlo\n\
             eth0 00000000 0100590A 00000000\n\
             eth0 0000590A 00000000 00FFFFFF\n\
             reached 10.89.0.3\nreached the gateway\nup\n"
        );
        assert_eq!(
            run_in(&b, &script.replace("$PEER", "10.89.0.2")),
            "02:42:0a:59:00:03\n1400\neth0\nlo\n\
             eth0 0000590A 00000000 00FFFFFF\n\
             reached 10.89.0.2\nreached the gateway\nup\n"
        );

        // The network namespace's end takes its veth with it.
        netns::remove(&a).unwrap();
        assert_eq!(
            wait_for_links(runner, &netlink, "rcv", std::slice::from_ref(&host_b)),
            vec![host_b.clone()]
        );
        netns::remove(&b).unwrap();
        assert_eq!(
            wait_for_links(runner, &netlink, "rcv", &[]),
            Vec::<String>::new()
        );
        assert_eq!(dir.mounts(), Vec::<String>::new());
        runner.run(netlink.delete_bridge(&bridge)).unwrap();
    });
}

#[test]
fn a_veth_is_refused_without_its_bridge_or_netns_and_leaves_nothing() {
    require_root!();
    in_own_netns(|runner| {
        let dir = NetnsDir::new();
        let netlink = runner.netlink();
        let bridge = net::bridge_name(&dir.id());
        let netns = dir.create("c");
        let veth = Veth {
            host_name: net::veth_name(&dir.id(), 0),
            bridge: bridge.clone(),
            netns: netns.clone(),
            peer_name: "eth0".to_string(),
            mac: [0x02, 0x42, 0x0a, 0x59, 0x00, 0x02],
            mtu: 1500,
            address: Ipv4Addr::new(10, 89, 0, 2),
            prefix: 24,
            gateway: None,
        };
        let err = runner.run(netlink.add_veth(&veth)).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("the bridge {bridge} does not exist: create its network first")
        );

        runner
            .run(netlink.create_bridge(&bridge, 1500, Ipv4Addr::new(10, 89, 0, 1), 24))
            .unwrap();
        let missing = Veth {
            netns: dir.path("missing"),
            ..veth.clone()
        };
        let err = runner.run(netlink.add_veth(&missing)).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "cannot open the network namespace file {}",
                missing.netns.display()
            )
        );

        // A file that is no network namespace: the kernel refuses the peer's namespace.
        let plain = dir.path("plain");
        fs::write(&plain, "").unwrap();
        let foreign = Veth {
            netns: plain.clone(),
            ..veth.clone()
        };
        let err = runner.run(netlink.add_veth(&foreign)).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "creating the veth {} on the bridge {bridge} with its peer eth0 in the \
                 network namespace {} (is it a file made by netns::create?)",
                veth.host_name,
                plain.display()
            )
        );
        assert!(
            matches!(&err, NetError::Netlink { source, .. }
            if source.raw_os_error() == Some(nix::libc::EINVAL)),
            "{err:?}"
        );

        // A gateway out of the peer's subnet: the kernel refuses the route, the pair is
        // undone.
        let unreachable = Veth {
            gateway: Some(Ipv4Addr::new(10, 200, 0, 1)),
            ..veth.clone()
        };
        let err = runner.run(netlink.add_veth(&unreachable)).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "adding the default route via 10.200.0.1 in the network namespace {}",
                netns.display()
            )
        );
        assert_eq!(
            runner.run(netlink.list_links("rcv")).unwrap(),
            Vec::<String>::new()
        );
        // And the same veth can then be made.
        runner.run(netlink.add_veth(&veth)).unwrap();
        assert_eq!(
            runner.run(netlink.list_links("rcv")).unwrap(),
            vec![veth.host_name.clone()]
        );
    });
}
