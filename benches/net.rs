//! The kernel's network work for 50 containers, through `runtime::net`: 50 network
//! namespace files, then 50 veths on one bridge, each with its peer born in one of them
//! and configured there (address, MAC, MTU, up, default route); then the files are
//! removed and the kernel destroys the namespaces and their veths.
//!
//! Run as root with `cargo bench --bench net`. Everything happens in a network
//! namespace of the bench's own (a thread that unshared one), so the host sees nothing.
//! Prints, per round, the time per network namespace, per veth (one after the other, and
//! all 50 awaited together), per removal, and until the last veth is gone.

use futures_util::future::join_all;
use nix::sched::{unshare, CloneFlags};
use rcompose::runtime::net::{self, netns, Netlink, Veth};
use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

const VETHS: usize = 50;
const ROUNDS: usize = 3;

fn main() {
    if !nix::unistd::geteuid().is_root() {
        eprintln!("skipped: network namespaces and veths need root");
        return;
    }
    let outcome = std::thread::spawn(|| {
        unshare(CloneFlags::CLONE_NEWNET).expect("a network namespace for the bench");
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a tokio runtime");
        runtime.block_on(bench());
    })
    .join();
    if outcome.is_err() {
        std::process::exit(1);
    }
}

async fn bench() {
    let dir = tempfile::Builder::new()
        .prefix("rcompose-bench-net-")
        .tempdir()
        .expect("a temporary directory");
    let netlink = Netlink::new().expect("netlink");
    let bridge = net::bridge_name("bench");
    netlink
        .create_bridge(&bridge, 1500, Ipv4Addr::new(10, 89, 0, 1), 16)
        .await
        .expect("the bridge");
    println!("{VETHS} veths, peers born in {VETHS} network namespace files, per item:");
    println!("round  mode        netns    veth     remove   all veths gone");
    for round in 0..ROUNDS {
        for together in [false, true] {
            let paths: Vec<PathBuf> = (0..VETHS)
                .map(|i| dir.path().join(format!("c{i}")))
                .collect();
            let start = Instant::now();
            for path in &paths {
                netns::create(path).expect("a network namespace file");
            }
            let made = start.elapsed();

            let veths: Vec<Veth> = paths
                .iter()
                .enumerate()
                .map(|(i, path)| {
                    let [_, _, high, low] = u32::try_from(i + 2).unwrap_or(2).to_be_bytes();
                    Veth {
                        host_name: net::veth_name(&format!("bench-{round}-{i}"), 0),
                        bridge: bridge.clone(),
                        netns: path.clone(),
                        peer_name: "eth0".to_string(),
                        mac: [0x02, 0x42, 10, 89, high, low],
                        mtu: 1500,
                        address: Ipv4Addr::new(10, 89, high, low),
                        prefix: 16,
                        gateway: Some(Ipv4Addr::new(10, 89, 0, 1)),
                    }
                })
                .collect();
            let start = Instant::now();
            if together {
                for result in join_all(veths.iter().map(|veth| netlink.add_veth(veth))).await {
                    result.expect("a veth");
                }
            } else {
                for veth in &veths {
                    netlink.add_veth(veth).await.expect("a veth");
                }
            }
            let wired = start.elapsed();
            assert_eq!(netlink.list_links("rcv").await.expect("links").len(), VETHS);

            let start = Instant::now();
            for path in &paths {
                netns::remove(path).expect("removing a network namespace file");
            }
            let removed = start.elapsed();
            while !netlink.list_links("rcv").await.expect("links").is_empty() {
                tokio::task::yield_now().await;
                std::thread::sleep(Duration::from_millis(1));
            }
            let gone = start.elapsed();
            println!(
                "{round:>5}  {:<10}  {:>7}  {:>7}  {:>7}  {:>9.1} ms",
                if together { "together" } else { "one by one" },
                per_item(made),
                per_item(wired),
                per_item(removed),
                gone.as_secs_f64() * 1e3,
            );
        }
    }
    netlink
        .delete_bridge(&bridge)
        .await
        .expect("deleting the bridge");
}

/// `elapsed / VETHS` in milliseconds, as `0.123ms`.
fn per_item(elapsed: Duration) -> String {
    format!("{:.3}ms", elapsed.as_secs_f64() * 1e3 / VETHS as f64)
}
