//! Container networking in the kernel: network namespaces bound on files ([`netns`]),
//! bridges and veth pairs configured through netlink in-process ([`link`]), and the
//! names of the interfaces rcompose makes on the host; the networks' nftables rules
//! ([`firewall`]).
//!
//! A container's network namespace is made before the container starts, as a file
//! ([`netns::create`]); each of its veths is created with the peer born inside it
//! ([`Netlink::add_veth`]), and its PID 1 joins it
//! ([`Network::Join`](super::spec::Network::Join)). Removing the file
//! ([`netns::remove`]) lets the kernel destroy the namespace and the veths with it.

pub mod firewall;
pub mod link;
pub mod netns;

pub use link::{Netlink, Veth};

use sha2::{Digest, Sha256};
use std::io;
use std::net::Ipv4Addr;
use std::path::PathBuf;

/// The longest interface name the kernel takes (`IFNAMSIZ` less its NUL).
pub const MAX_IFNAME: usize = 15;

/// The name of a network's bridge: `rc-` and 8 hex digits of a hash of its id.
pub fn bridge_name(network_id: &str) -> String {
    format!("rc-{}", hash8(&[network_id.as_bytes()]))
}

/// The name of the host end of a container's `index`th veth: `rcv` and 8 hex digits of
/// a hash of both.
pub fn veth_name(container_id: &str, index: usize) -> String {
    let index = index.to_string();
    format!(
        "rcv{}",
        hash8(&[container_id.as_bytes(), b"\0", index.as_bytes()])
    )
}

/// The first 4 bytes of the SHA-256 of `parts`, in hex.
fn hash8(parts: &[&[u8]]) -> String {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update(part);
    }
    hasher
        .finalize()
        .iter()
        .take(4)
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// Checks that the kernel takes `name` as an interface name (its `dev_valid_name`).
pub fn check_ifname(name: &str) -> Result<(), NetError> {
    let reason = if name.is_empty() {
        "it is empty"
    } else if name.len() > MAX_IFNAME {
        "it is longer than 15 bytes"
    } else if name == "." || name == ".." {
        "it is `.` or `..`"
    } else if name
        .chars()
        .any(|c| c == '/' || c == ':' || c == '\0' || c.is_whitespace())
    {
        "it contains `/`, `:`, a space or a NUL"
    } else {
        return Ok(());
    };
    Err(NetError::InvalidName {
        name: name.to_string(),
        reason,
    })
}

/// Creating, configuring or removing a network namespace, a bridge or a veth failed.
#[derive(Debug, thiserror::Error)]
pub enum NetError {
    /// A name the kernel would refuse for an interface.
    #[error("invalid interface name {name:?}: {reason}")]
    InvalidName { name: String, reason: &'static str },
    /// A prefix length longer than an IPv4 address.
    #[error("invalid IPv4 prefix length /{prefix}: it must be at most 32")]
    InvalidPrefix { prefix: u8 },
    /// An MTU out of the range Ethernet devices take.
    #[error("invalid MTU {mtu}: it must be between 68 and 65535")]
    InvalidMtu { mtu: u32 },
    /// [`Netlink::new`] was called outside a tokio runtime.
    #[error(
        "netlink needs a tokio runtime: Netlink::new must be called from inside one (a bug \
         in rcompose)"
    )]
    NoRuntime,
    /// No netlink socket could be opened.
    #[error("cannot open a netlink socket{}", in_netns(netns))]
    Socket {
        netns: Option<PathBuf>,
        #[source]
        source: io::Error,
    },
    /// The kernel refused a netlink request; `action` says which ("creating the bridge
    /// rc-1a2b3c4d").
    #[error("{action}")]
    Netlink {
        action: String,
        #[source]
        source: io::Error,
    },
    /// An interface has the bridge's name but is no bridge.
    #[error(
        "an interface named {name} exists but is not a bridge (it is a {kind} interface); \
         remove it and retry"
    )]
    NotABridge { name: String, kind: String },
    /// The bridge exists with other addresses than the network's gateway.
    #[error(
        "the bridge {name} exists with the address(es) {} instead of {gateway}/{prefix}: it \
         is left from an older network of that name; remove the network (rcompose down) and \
         retry",
        found.join(", ")
    )]
    BridgeAddressConflict {
        name: String,
        gateway: Ipv4Addr,
        prefix: u8,
        found: Vec<String>,
    },
    /// A veth was to be attached to a bridge that does not exist.
    #[error("the bridge {name} does not exist: create its network first")]
    BridgeMissing { name: String },
    /// The file a network namespace is bound on could not be created.
    #[error("cannot create the network namespace file {}", path.display())]
    NetnsFile {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// `unshare(CLONE_NEWNET)` failed.
    #[error("cannot create a network namespace for {}", path.display())]
    NewNetns {
        path: PathBuf,
        #[source]
        source: nix::errno::Errno,
    },
    /// `lo` could not be brought up in a new network namespace.
    #[error("cannot bring up the loopback interface in the network namespace {}", path.display())]
    Loopback {
        path: PathBuf,
        #[source]
        source: nix::errno::Errno,
    },
    /// The new network namespace could not be bind-mounted on its file.
    #[error("cannot bind the new network namespace on {}", path.display())]
    BindNetns {
        path: PathBuf,
        #[source]
        source: nix::errno::Errno,
    },
    /// A network namespace file could not be unmounted.
    #[error("cannot unmount the network namespace file {}", path.display())]
    UnmountNetns {
        path: PathBuf,
        #[source]
        source: nix::errno::Errno,
    },
    /// A network namespace file could not be deleted once unmounted.
    #[error("cannot delete the network namespace file {}", path.display())]
    RemoveNetnsFile {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// A network namespace file could not be opened.
    #[error("cannot open the network namespace file {}", path.display())]
    OpenNetns {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// `setns` into a network namespace failed.
    #[error(
        "cannot enter the network namespace {} (is it a file made by netns::create?)",
        path.display()
    )]
    EnterNetns {
        path: PathBuf,
        #[source]
        source: nix::errno::Errno,
    },
    /// The thread that works in a network namespace could not be started.
    #[error("cannot start a thread to work in a network namespace")]
    Thread(#[source] io::Error),
    /// The thread that works in a network namespace ended without an answer.
    #[error("the thread working in the network namespace {} ended without an answer", path.display())]
    ThreadLost { path: PathBuf },
    /// The `nft` program is nowhere to be found.
    #[error(
        "cannot find the nft program (looked in /usr/sbin, /sbin, /usr/bin and PATH): \
         install the nftables package (Debian: apt-get install nftables)"
    )]
    NftMissing,
    /// `nft` could not be run, or fed its script.
    #[error("{action}: cannot run nft")]
    NftRun {
        action: String,
        #[source]
        source: io::Error,
    },
    /// `nft` refused a script or a listing; `stderr` is what it said.
    #[error("{action}: nft failed ({status}): {stderr}")]
    NftFailed {
        action: String,
        status: String,
        stderr: String,
    },
    /// `nft -j` printed something that is not JSON.
    #[error("cannot read the JSON output of {command}")]
    NftOutput {
        command: String,
        #[source]
        source: serde_json::Error,
    },
    /// `nft -j` printed JSON without a family, name or handle where it always has one.
    #[error("unexpected output of {command}: an object lacks its family, name or handle")]
    NftListing { command: String },
    /// The lock that serializes firewall changes could not be taken.
    #[error("cannot lock {} to change the firewall", path.display())]
    FirewallLock {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// IPv4 forwarding could not be turned on.
    #[error(
        "cannot enable IPv4 forwarding (writing 1 to /proc/sys/net/ipv4/ip_forward): \
         containers of non-internal networks need it to reach outside"
    )]
    IpForward {
        #[source]
        source: io::Error,
    },
}

/// ` in the network namespace PATH`, or nothing.
fn in_netns(netns: &Option<PathBuf>) -> String {
    netns
        .as_ref()
        .map(|path| format!(" in the network namespace {}", path.display()))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_short_hashes() {
        assert_eq!(bridge_name("shop_default"), "rc-4aececf0");
        assert_eq!(veth_name("shop-web-1", 0), "rcv053184ca");
        assert_eq!(veth_name("shop-web-1", 1), "rcvebc7373b");
        assert_ne!(veth_name("shop-web-1", 0), veth_name("shop-web-10", 0));
        for name in [bridge_name("x".repeat(300).as_str()), veth_name("", 99)] {
            assert_eq!(name.len(), 11);
            assert!(check_ifname(&name).is_ok());
        }
    }

    #[test]
    fn interface_names_are_checked_as_the_kernel_does() {
        for name in ["eth0", "rcv01234567", "a".repeat(15).as_str(), "br-x.y_z"] {
            assert!(check_ifname(name).is_ok(), "{name}");
        }
        let reason = |name: &str| check_ifname(name).unwrap_err().to_string();
        assert_eq!(reason(""), "invalid interface name \"\": it is empty");
        assert_eq!(
            reason(&"a".repeat(16)),
            "invalid interface name \"aaaaaaaaaaaaaaaa\": it is longer than 15 bytes"
        );
        assert_eq!(
            reason(".."),
            "invalid interface name \"..\": it is `.` or `..`"
        );
        for name in ["a/b", "eth0:1", "a b", "a\tb", "a\0"] {
            assert_eq!(
                reason(name),
                format!("invalid interface name {name:?}: it contains `/`, `:`, a space or a NUL")
            );
        }
    }

    #[test]
    fn errors_say_what_failed_and_what_to_do() {
        let err = NetError::BridgeAddressConflict {
            name: "rc-ff2c4cb7".to_string(),
            gateway: Ipv4Addr::new(172, 18, 0, 1),
            prefix: 16,
            found: vec!["10.0.0.1/24".to_string(), "10.0.1.1/24".to_string()],
        };
        assert_eq!(
            err.to_string(),
            "the bridge rc-ff2c4cb7 exists with the address(es) 10.0.0.1/24, 10.0.1.1/24 \
             instead of 172.18.0.1/16: it is left from an older network of that name; remove \
             the network (rcompose down) and retry"
        );
        let err = NetError::Socket {
            netns: Some(PathBuf::from("/run/rcompose/netns/c1")),
            source: io::Error::from_raw_os_error(24),
        };
        assert_eq!(
            err.to_string(),
            "cannot open a netlink socket in the network namespace /run/rcompose/netns/c1"
        );
    }
}
