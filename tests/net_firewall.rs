//! runtime::net::firewall made for real: the nftables rules of rcompose networks, read
//! back with `nft`, and observed with pings between network namespaces on bridges.
//!
//! Each test runs in a network namespace of its own (a thread that unshared one; `nft`
//! and the pings are spawned from it): its ruleset, bridges and veths are invisible to
//! the host and to the other tests, and die with it, also when it fails. They need root
//! and the `nft` program; as another user they pass with a "skipped" message (CI runs
//! as root).

use nix::sched::{setns, unshare, CloneFlags};
use rcompose::runtime::net::firewall::{Firewall, FirewallNetwork};
use rcompose::runtime::net::{self, netns, Netlink, Veth};
use std::fs::{self, File};
use std::io;
use std::net::Ipv4Addr;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

mod common;

/// Runs `test` on a new thread that has a network namespace of its own, with a
/// current-thread tokio runtime for netlink; its panics are the test's.
fn in_own_netns(test: impl FnOnce(&Lab) + Send + 'static) {
    let outcome = std::thread::spawn(move || {
        unshare(CloneFlags::CLONE_NEWNET).unwrap();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let netlink = runtime.block_on(async { Netlink::new().unwrap() });
        let dir = tempfile::Builder::new()
            .prefix("rcompose-fw-")
            .tempdir()
            .unwrap();
        test(&Lab {
            runtime,
            netlink,
            dir,
        })
    })
    .join();
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

/// A test's network namespace: netlink in it, and a directory for the network namespace
/// files of its "containers", each removed when the lab is dropped.
struct Lab {
    runtime: tokio::runtime::Runtime,
    netlink: Netlink,
    dir: tempfile::TempDir,
}

impl Lab {
    /// A bridge `name` with the gateway 10.77.`lan`.1/24, and a network namespace per
    /// host `(name, last byte, has a default route)` on it; returns their files.
    fn lan(&self, name: &str, lan: u8, hosts: &[(&str, u8, bool)]) -> Vec<PathBuf> {
        let gateway = Ipv4Addr::new(10, 77, lan, 1);
        self.runtime
            .block_on(self.netlink.create_bridge(name, 1500, gateway, 24))
            .unwrap();
        hosts
            .iter()
            .map(|&(host, last, routed)| {
                let path = self.dir.path().join(host);
                netns::create(&path).unwrap();
                let veth = Veth {
                    host_name: net::veth_name(host, 0),
                    bridge: name.to_string(),
                    netns: path.clone(),
                    peer_name: "eth0".to_string(),
                    mac: [0x02, 0x42, 10, 77, lan, last],
                    mtu: 1500,
                    address: Ipv4Addr::new(10, 77, lan, last),
                    prefix: 24,
                    gateway: routed.then_some(gateway),
                };
                self.runtime.block_on(self.netlink.add_veth(&veth)).unwrap();
                path
            })
            .collect()
    }
}

impl Drop for Lab {
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

/// The network `bridge` on 10.77.`lan`.0/24.
fn network(bridge: &str, lan: u8, internal: bool) -> FirewallNetwork {
    FirewallNetwork {
        bridge: bridge.to_string(),
        subnet: Ipv4Addr::new(10, 77, lan, 0),
        prefix: 24,
        internal,
    }
}

/// What `nft ARGS` prints, in the calling thread's network namespace.
fn nft(args: &[&str]) -> String {
    let output = Command::new("nft").args(args).output().unwrap();
    assert!(
        output.status.success(),
        "nft {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// Runs the nftables script `script`.
fn nft_script(script: &str) {
    let path = tempfile::NamedTempFile::new().unwrap();
    fs::write(path.path(), script).unwrap();
    nft(&["-f", &path.path().to_string_lossy()]);
}

/// Whether one ping from the network namespace `from` to `address` is answered.
fn ping(from: &Path, address: &str) -> bool {
    let netns = File::open(from).unwrap();
    let mut command = Command::new(common::BUSYBOX);
    command
        .args(["ping", "-c", "1", "-W", "2", address])
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    // SAFETY: setns is a plain system call, safe between fork and exec.
    unsafe {
        command.pre_exec(move || setns(&netns, CloneFlags::CLONE_NEWNET).map_err(io::Error::from));
    }
    command.status().unwrap().success()
}

fn ip_forward() -> String {
    fs::read_to_string("/proc/sys/net/ipv4/ip_forward").unwrap()
}

/// Skips the test unless we are root and `nft` is installed.
macro_rules! require_nft {
    () => {
        require_root!();
        if Firewall::new().is_err() {
            eprintln!("skipped: the nft program is missing (apt-get install nftables)");
            return;
        }
    };
}

#[test]
fn rules_are_exact_added_idempotently_and_removed_with_the_table() {
    require_nft!();
    in_own_netns(|_| {
        // A new namespace copies the host's setting, which an engine may have set.
        std::fs::write("/proc/sys/net/ipv4/ip_forward", "0\n").unwrap();
        let firewall = Firewall::new().unwrap();
        assert_eq!(firewall.networks().unwrap(), Vec::<String>::new());
        // Nothing there: removing is fine and makes nothing.
        firewall.remove_network("rc-0000000a").unwrap();
        assert_eq!(nft(&["list", "ruleset"]), "");

        // An internal network leaves forwarding off.
        firewall
            .add_network(&network("rc-0000000b", 2, true))
            .unwrap();
        assert_eq!(ip_forward(), "0\n");
        for _ in 0..2 {
            firewall
                .add_network(&network("rc-0000000a", 1, false))
                .unwrap();
        }
        assert_eq!(ip_forward(), "1\n");
        assert_eq!(firewall.networks().unwrap(), ["rc-0000000a", "rc-0000000b"]);
        assert_eq!(
            nft(&["list", "ruleset"]),
            "\
table inet rcompose {
\tset bridges {
\t\ttype ifname
\t\telements = { \"rc-0000000a\",
\t\t\t     \"rc-0000000b\" }
\t}

\tmap networks {
\t\ttype ifname : verdict
\t\telements = { \"rc-0000000a\" : jump net-rc-0000000a,
\t\t\t     \"rc-0000000b\" : jump net-rc-0000000b }
\t}

\tmap nat {
\t\ttype ifname : verdict
\t\telements = { \"rc-0000000a\" : jump nat-rc-0000000a }
\t}

\tchain forward {
\t\ttype filter hook forward priority filter; policy accept;
\t\tiifname vmap @networks
\t\toifname vmap @networks
\t}

\tchain postrouting {
\t\ttype nat hook postrouting priority srcnat; policy accept;
\t\tiifname vmap @nat
\t}

\tchain net-rc-0000000b {
\t\tiifname \"rc-0000000b\" oifname \"rc-0000000b\" accept
\t\tiifname \"rc-0000000b\" drop
\t\toifname \"rc-0000000b\" drop
\t}

\tchain net-rc-0000000a {
\t\tiifname \"rc-0000000a\" oifname \"rc-0000000a\" accept
\t\tiifname \"rc-0000000a\" oifname @bridges drop
\t\tiifname \"rc-0000000a\" accept
\t\toifname \"rc-0000000a\" ct state established,related accept
\t\toifname \"rc-0000000a\" drop
\t}

\tchain nat-rc-0000000a {
\t\tip saddr 10.77.1.0/24 oifname != \"rc-0000000a\" masquerade
\t}
}
"
        );

        // Made internal, then not again: its chain follows, its nat comes and goes.
        let chain = |name: &str| nft(&["list", "chain", "inet", "rcompose", name]);
        firewall
            .add_network(&network("rc-0000000a", 1, true))
            .unwrap();
        assert_eq!(
            chain("net-rc-0000000a"),
            "\
table inet rcompose {
\tchain net-rc-0000000a {
\t\tiifname \"rc-0000000a\" oifname \"rc-0000000a\" accept
\t\tiifname \"rc-0000000a\" drop
\t\toifname \"rc-0000000a\" drop
\t}
}
"
        );
        assert!(!nft(&["list", "ruleset"]).contains("nat-rc-0000000a"));
        firewall
            .add_network(&network("rc-0000000a", 1, false))
            .unwrap();
        assert_eq!(
            chain("nat-rc-0000000a"),
            "\
table inet rcompose {
\tchain nat-rc-0000000a {
\t\tip saddr 10.77.1.0/24 oifname != \"rc-0000000a\" masquerade
\t}
}
"
        );

        for _ in 0..2 {
            firewall.remove_network("rc-0000000a").unwrap();
        }
        assert_eq!(firewall.networks().unwrap(), ["rc-0000000b"]);
        let left = nft(&["list", "ruleset"]);
        assert!(!left.contains("rc-0000000a"), "{left}");
        assert!(left.contains("chain net-rc-0000000b {"), "{left}");
        firewall.remove_network("rc-0000000b").unwrap();
        assert_eq!(firewall.networks().unwrap(), Vec::<String>::new());
        assert_eq!(nft(&["list", "ruleset"]), "");
    });
}

#[test]
fn networks_are_isolated_masqueraded_and_internal_ones_stay_inside() {
    require_nft!();
    in_own_netns(|lab| {
        let (a, b, c) = ("rc-000000a1", "rc-000000b1", "rc-000000c1");
        let hosts_a = lab.lan(a, 1, &[("a1", 2, true), ("a2", 3, true)]);
        let hosts_b = lab.lan(b, 2, &[("b1", 2, true)]);
        let hosts_c = lab.lan(c, 3, &[("c1", 2, true)]);
        // Outside: o1 routes back through us, o2 answers only its own subnet.
        let outside = lab.lan("out0", 9, &[("o1", 2, true), ("o2", 3, false)]);
        let (a1, a2, b1, c1) = (&hosts_a[0], &hosts_a[1], &hosts_b[0], &hosts_c[0]);
        let (o1, _o2) = (&outside[0], &outside[1]);

        // Without rules, forwarding reaches everything routed back, and nothing is
        // masqueraded.
        fs::write("/proc/sys/net/ipv4/ip_forward", "1").unwrap();
        assert!(ping(a1, "10.77.2.2"), "a1 -> b1 without rules");
        assert!(ping(c1, "10.77.9.2"), "c1 -> o1 without rules");
        assert!(!ping(a1, "10.77.9.3"), "a1 -> o2 without masquerade");

        let firewall = Firewall::new().unwrap();
        firewall.add_network(&network(a, 1, false)).unwrap();
        firewall.add_network(&network(b, 2, false)).unwrap();
        firewall.add_network(&network(c, 3, true)).unwrap();

        assert!(ping(a1, "10.77.1.3"), "a1 -> a2: within the network");
        assert!(ping(a2, "10.77.1.2"), "a2 -> a1: within the network");
        assert!(!ping(a1, "10.77.2.2"), "a1 -> b1: across networks");
        assert!(!ping(b1, "10.77.1.2"), "b1 -> a1: across networks");
        assert!(ping(a1, "10.77.9.2"), "a1 -> o1: out");
        assert!(ping(a1, "10.77.9.3"), "a1 -> o2: out, masqueraded");
        assert!(
            !ping(o1, "10.77.1.2"),
            "o1 -> a1: into a network from outside"
        );
        assert!(ping(c1, "10.77.3.1"), "c1 -> its gateway");
        assert!(
            !ping(c1, "10.77.9.2"),
            "c1 -> o1: out of an internal network"
        );
        assert!(!ping(o1, "10.77.3.2"), "o1 -> c1: into an internal network");

        for bridge in [a, b, c] {
            firewall.remove_network(bridge).unwrap();
        }
        assert_eq!(nft(&["list", "ruleset"]), "");
        assert!(ping(a1, "10.77.2.2"), "a1 -> b1 once the rules are gone");
    });
}

#[test]
fn docker_forward_chain_lets_our_networks_through_and_gets_back_its_own_rules() {
    require_nft!();
    in_own_netns(|lab| {
        // Docker's table as iptables-nft makes it: FORWARD drops what it doesn't accept,
        // and br_netfilter sends even traffic within a bridge through it.
        nft_script(
            "table ip filter {
                chain FORWARD {
                    type filter hook forward priority filter; policy drop;
                    oifname \"docker0\" accept
                }
            }",
        );
        let docker = nft(&["list", "chain", "ip", "filter", "FORWARD"]);
        assert_eq!(
            docker,
            "\
table ip filter {
\tchain FORWARD {
\t\ttype filter hook forward priority filter; policy drop;
\t\toifname \"docker0\" accept
\t}
}
"
        );
        let (a, b) = ("rc-000000a2", "rc-000000b2");
        let hosts = lab.lan(a, 1, &[("a1", 2, true), ("a2", 3, true)]);
        lab.lan(b, 2, &[]);
        assert!(!ping(&hosts[0], "10.77.1.3"), "a1 -> a2 dropped by Docker");

        let firewall = Firewall::new().unwrap();
        for _ in 0..2 {
            firewall.add_network(&network(a, 1, false)).unwrap();
        }
        firewall.add_network(&network(b, 2, true)).unwrap();
        assert_eq!(
            nft(&["list", "chain", "ip", "filter", "FORWARD"]),
            "\
table ip filter {
\tchain FORWARD {
\t\ttype filter hook forward priority filter; policy drop;
\t\tiifname \"rc-000000b2\" oifname \"rc-000000b2\" accept comment \"rcompose rc-000000b2\"
\t\tiifname \"rc-000000a2\" oifname \"rc-000000a2\" accept comment \"rcompose rc-000000a2\"
\t\tiifname \"rc-000000a2\" accept comment \"rcompose rc-000000a2\"
\t\toifname \"rc-000000a2\" ct state established,related accept comment \"rcompose rc-000000a2\"
\t\toifname \"docker0\" accept
\t}
}
"
        );
        assert!(ping(&hosts[0], "10.77.1.3"), "a1 -> a2 with our rules");
        assert!(ping(&hosts[1], "10.77.1.2"), "a2 -> a1 with our rules");
        assert_eq!(firewall.networks().unwrap(), [a, b]);

        firewall.remove_network(a).unwrap();
        assert_eq!(firewall.networks().unwrap(), [b]);
        firewall.remove_network(b).unwrap();
        assert_eq!(firewall.networks().unwrap(), Vec::<String>::new());
        assert_eq!(nft(&["list", "ruleset"]), docker);
        assert!(!ping(&hosts[0], "10.77.1.3"), "a1 -> a2 dropped again");
    });
}

#[test]
fn engines_adding_and_removing_their_own_networks_side_by_side_keep_each_others() {
    require_nft!();
    in_own_netns(|_| {
        let firewall = Firewall::new().unwrap();
        // Threads start in the network namespace of the thread that makes them.
        let workers: Vec<_> = (0..6u8)
            .map(|worker| {
                let firewall = firewall.clone();
                std::thread::spawn(move || {
                    let bridge = format!("rc-0000001{worker}");
                    for round in 0..5 {
                        let internal = round % 2 == 1;
                        firewall
                            .add_network(&network(&bridge, 10 + worker, internal))
                            .unwrap();
                        let networks = firewall.networks().unwrap();
                        assert!(networks.contains(&bridge), "{bridge}: {networks:?}");
                        firewall.remove_network(&bridge).unwrap();
                    }
                    firewall
                        .add_network(&network(&bridge, 10 + worker, false))
                        .unwrap();
                })
            })
            .collect();
        for worker in workers {
            worker.join().unwrap();
        }
        let all: Vec<String> = (0..6).map(|worker| format!("rc-0000001{worker}")).collect();
        assert_eq!(firewall.networks().unwrap(), all);
        for bridge in &all {
            assert!(nft(&[
                "list",
                "chain",
                "inet",
                "rcompose",
                &format!("nat-{bridge}")
            ])
            .contains(&format!("oifname != \"{bridge}\" masquerade")));
            firewall.remove_network(bridge).unwrap();
        }
        assert_eq!(nft(&["list", "ruleset"]), "");
    });
}
