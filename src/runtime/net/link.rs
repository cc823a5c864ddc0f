//! Bridges and veth pairs through netlink, in-process (rtnetlink on tokio): no `ip`
//! command is run.
//!
//! A veth's peer is created directly inside the container's network namespace (moving
//! it there afterwards costs much more), then configured there over a netlink socket
//! opened inside that namespace by a short-lived thread and used from the caller's
//! tasks.

use super::{check_ifname, netns, NetError};
use futures_util::TryStreamExt;
use rtnetlink::packet_route::address::AddressAttribute;
use rtnetlink::packet_route::link::{
    InfoData, InfoKind, InfoVeth, LinkAttribute, LinkFlags, LinkInfo, LinkMessage,
};
use rtnetlink::{
    Handle, LinkBridge, LinkMessageBuilder, LinkUnspec, LinkVeth, RouteMessageBuilder,
};
use sha2::{Digest, Sha256};
use std::io;
use std::net::{IpAddr, Ipv4Addr};
use std::os::fd::AsRawFd;
use std::path::PathBuf;

/// The smallest MTU an Ethernet device takes (IPv4's minimum).
const MIN_MTU: u32 = 68;
/// The largest MTU a bridge or a veth takes.
const MAX_MTU: u32 = 65535;

/// A netlink connection to the kernel's routing subsystem in the network namespace of
/// the thread that made it (the engine's: the host's). Cheap to clone; the connection
/// runs as a task on the tokio runtime it was made on, and ends when the last clone is
/// dropped.
#[derive(Clone)]
pub struct Netlink {
    handle: Handle,
}

/// One veth pair: the host end on a bridge, the peer born in a container's network
/// namespace and configured there.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Veth {
    /// The host end's name ([`veth_name`](super::veth_name)).
    pub host_name: String,
    /// The bridge the host end is attached to.
    pub bridge: String,
    /// The container's network namespace file ([`netns::create`]).
    pub netns: PathBuf,
    /// The peer's name in the container (`eth0`, `eth1`, ...).
    pub peer_name: String,
    /// The peer's MAC address.
    pub mac: [u8; 6],
    /// Both ends' MTU.
    pub mtu: u32,
    /// The peer's address.
    pub address: Ipv4Addr,
    /// The prefix length of the peer's subnet.
    pub prefix: u8,
    /// The gateway of the container's default route, if this veth carries it.
    pub gateway: Option<Ipv4Addr>,
}

impl Veth {
    /// Checks the names, MTU and prefix before anything is made.
    fn check(&self) -> Result<(), NetError> {
        check_ifname(&self.host_name)?;
        check_ifname(&self.bridge)?;
        check_ifname(&self.peer_name)?;
        check_mtu(self.mtu)?;
        check_prefix(self.prefix)
    }

    /// ` in the network namespace PATH`.
    fn location(&self) -> String {
        format!(" in the network namespace {}", self.netns.display())
    }
}

impl Netlink {
    /// Opens a netlink socket in the calling thread's network namespace and runs its
    /// connection on the current tokio runtime (so it must be called inside one).
    pub fn new() -> Result<Netlink, NetError> {
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| NetError::NoRuntime)?;
        let (connection, handle, _) =
            rtnetlink::new_connection().map_err(|source| NetError::Socket {
                netns: None,
                source,
            })?;
        runtime.spawn(connection);
        Ok(Netlink { handle })
    }

    /// Makes sure the bridge `name` exists, is up with `mtu`, and has the address
    /// `gateway/prefix`. A bridge already there with that address (or none) is kept; one
    /// with other addresses is an error. Its MAC address is fixed (derived from its
    /// name), so that it does not change as containers come and go.
    pub async fn create_bridge(
        &self,
        name: &str,
        mtu: u32,
        gateway: Ipv4Addr,
        prefix: u8,
    ) -> Result<(), NetError> {
        check_ifname(name)?;
        check_mtu(mtu)?;
        check_prefix(prefix)?;
        if self.link(name).await?.is_none() {
            let message = LinkBridge::new(name)
                .mtu(mtu)
                .address(bridge_mac(name).to_vec())
                .build();
            match self.handle.link().add(message).execute().await {
                // Made meanwhile by another task: checked below like any existing one.
                Err(err) if errno(&err) == Some(nix::libc::EEXIST) => {}
                result => result.map_err(failed(format!("creating the bridge {name}")))?,
            }
        }
        let link = self
            .bridge(name)
            .await?
            .ok_or_else(|| NetError::BridgeMissing {
                name: name.to_string(),
            })?;
        let index = link.header.index;
        let up = link.header.flags.contains(LinkFlags::Up);
        if !up || link_mtu(&link) != Some(mtu) {
            let message = LinkUnspec::new_with_index(index).up().mtu(mtu).build();
            self.handle
                .link()
                .set(message)
                .execute()
                .await
                .map_err(failed(format!(
                    "bringing the bridge {name} up with MTU {mtu}"
                )))?;
        }

        let found = ipv4_addresses(&self.handle, index)
            .await
            .map_err(failed(format!(
                "reading the addresses of the bridge {name}"
            )))?;
        if found.contains(&(gateway, prefix)) {
            return Ok(());
        }
        if !found.is_empty() {
            return Err(NetError::BridgeAddressConflict {
                name: name.to_string(),
                gateway,
                prefix,
                found: found
                    .iter()
                    .map(|(address, prefix)| format!("{address}/{prefix}"))
                    .collect(),
            });
        }
        match self
            .handle
            .address()
            .add(index, IpAddr::V4(gateway), prefix)
            .execute()
            .await
        {
            Err(err) if errno(&err) == Some(nix::libc::EEXIST) => Ok(()),
            result => result.map_err(failed(format!(
                "adding the address {gateway}/{prefix} to the bridge {name}"
            ))),
        }
    }

    /// Deletes the bridge `name` (its ports are detached, not deleted); a missing one is
    /// fine.
    pub async fn delete_bridge(&self, name: &str) -> Result<(), NetError> {
        check_ifname(name)?;
        let Some(link) = self.bridge(name).await? else {
            return Ok(());
        };
        match self.handle.link().del(link.header.index).execute().await {
            Err(err) if errno(&err) == Some(nix::libc::ENODEV) => Ok(()),
            result => result.map_err(failed(format!("deleting the bridge {name}"))),
        }
    }

    /// Whether the bridge `name` exists; an interface of that name that is no bridge is
    /// an error.
    pub async fn bridge_exists(&self, name: &str) -> Result<bool, NetError> {
        check_ifname(name)?;
        Ok(self.bridge(name).await?.is_some())
    }

    /// Creates the veth pair `veth`: the host end up on its bridge, the peer born in the
    /// container's network namespace with its MAC and MTU, then given its address, brought
    /// up and (with a gateway) given the default route there. When the peer can't be
    /// configured, the pair is deleted again.
    pub async fn add_veth(&self, veth: &Veth) -> Result<(), NetError> {
        veth.check()?;
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| NetError::NoRuntime)?;
        let bridge = self
            .bridge(&veth.bridge)
            .await?
            .ok_or_else(|| NetError::BridgeMissing {
                name: veth.bridge.clone(),
            })?;
        let netns = netns::open(&veth.netns)?;
        let peer = LinkMessageBuilder::<LinkUnspec>::new()
            .name(veth.peer_name.clone())
            .address(veth.mac.to_vec())
            .mtu(veth.mtu)
            .setns_by_fd(netns.as_raw_fd())
            .build();
        let message = LinkMessageBuilder::<LinkVeth>::new_with_info_kind(InfoKind::Veth)
            .name(veth.host_name.clone())
            .mtu(veth.mtu)
            .controller(bridge.header.index)
            .up()
            .set_info_data(InfoData::Veth(InfoVeth::Peer(peer)))
            .build();
        self.handle
            .link()
            .add(message)
            .execute()
            .await
            .map_err(failed(format!(
                "creating the veth {} on the bridge {} with its peer {}{} (is it a file made \
                 by netns::create?)",
                veth.host_name,
                veth.bridge,
                veth.peer_name,
                veth.location()
            )))?;

        let configured = async {
            let handle = connect_in(&runtime, netns, &veth.netns).await?;
            configure_peer(&handle, veth).await
        };
        if let Err(err) = configured.await {
            // Deleting one end deletes both. Should this fail too, the pair still goes
            // with the network namespace.
            let host_end = LinkUnspec::new_with_name(&veth.host_name).build();
            let _ = self
                .handle
                .link()
                .del_with_message(host_end)
                .execute()
                .await;
            return Err(err);
        }
        Ok(())
    }

    /// The names of this network namespace's interfaces that start with `prefix`
    /// (`rc-` for our bridges, `rcv` for our veths), sorted.
    pub async fn list_links(&self, prefix: &str) -> Result<Vec<String>, NetError> {
        let links: Vec<LinkMessage> = self
            .handle
            .link()
            .get()
            .execute()
            .try_collect()
            .await
            .map_err(failed("listing the network interfaces".to_string()))?;
        let mut names: Vec<String> = links
            .iter()
            .filter_map(link_name)
            .filter(|name| name.starts_with(prefix))
            .map(str::to_string)
            .collect();
        names.sort();
        Ok(names)
    }

    /// The link `name`, if there is one.
    async fn link(&self, name: &str) -> Result<Option<LinkMessage>, NetError> {
        find_link(&self.handle, name)
            .await
            .map_err(failed(format!("looking up the interface {name}")))
    }

    /// The bridge `name`, if there is one; an interface of that name that is no bridge
    /// is an error.
    async fn bridge(&self, name: &str) -> Result<Option<LinkMessage>, NetError> {
        let Some(link) = self.link(name).await? else {
            return Ok(None);
        };
        match link_kind(&link) {
            Some(InfoKind::Bridge) => Ok(Some(link)),
            kind => Err(NetError::NotABridge {
                name: name.to_string(),
                kind: kind.map_or_else(|| "plain".to_string(), |kind| kind.to_string()),
            }),
        }
    }
}

/// A netlink connection inside the network namespace `netns` (the file `path`): its
/// socket is opened by a thread that entered the namespace, its connection runs as a
/// task on `runtime` until the handle is dropped.
async fn connect_in(
    runtime: &tokio::runtime::Handle,
    netns: std::fs::File,
    path: &std::path::Path,
) -> Result<Handle, NetError> {
    let inside = runtime.clone();
    let netns_path = path.to_path_buf();
    let (connection, handle) = netns::run_in(netns, path, move || {
        // The socket registers with the runtime's reactor.
        let _entered = inside.enter();
        let (connection, handle, _) =
            rtnetlink::new_connection().map_err(|source| NetError::Socket {
                netns: Some(netns_path),
                source,
            })?;
        Ok((connection, handle))
    })
    .await?;
    runtime.spawn(connection);
    Ok(handle)
}

/// Gives the peer its address, brings it up and adds the default route, in the
/// container's network namespace (`handle`'s).
async fn configure_peer(handle: &Handle, veth: &Veth) -> Result<(), NetError> {
    let (peer, address, prefix) = (&veth.peer_name, veth.address, veth.prefix);
    let link = find_link(handle, peer)
        .await
        .map_err(failed(format!("looking up {peer}{}", veth.location())))?
        .ok_or_else(|| NetError::Netlink {
            action: format!("looking up {peer}{}", veth.location()),
            source: io::Error::from_raw_os_error(nix::libc::ENODEV),
        })?;
    let index = link.header.index;
    handle
        .address()
        .add(index, IpAddr::V4(address), prefix)
        .execute()
        .await
        .map_err(failed(format!(
            "adding the address {address}/{prefix} to {peer}{}",
            veth.location()
        )))?;
    handle
        .link()
        .set(LinkUnspec::new_with_index(index).up().build())
        .execute()
        .await
        .map_err(failed(format!("bringing {peer} up{}", veth.location())))?;
    if let Some(gateway) = veth.gateway {
        let route = RouteMessageBuilder::<Ipv4Addr>::new()
            .gateway(gateway)
            .build();
        handle
            .route()
            .add(route)
            .execute()
            .await
            .map_err(failed(format!(
                "adding the default route via {gateway}{}",
                veth.location()
            )))?;
    }
    Ok(())
}

/// The link `name` in `handle`'s network namespace, if there is one.
async fn find_link(handle: &Handle, name: &str) -> Result<Option<LinkMessage>, rtnetlink::Error> {
    match handle
        .link()
        .get()
        .match_name(name.to_string())
        .execute()
        .try_next()
        .await
    {
        Err(err) if errno(&err) == Some(nix::libc::ENODEV) => Ok(None),
        result => result,
    }
}

/// The IPv4 addresses (with their prefix lengths) of the link `index`.
async fn ipv4_addresses(
    handle: &Handle,
    index: u32,
) -> Result<Vec<(Ipv4Addr, u8)>, rtnetlink::Error> {
    let messages: Vec<_> = handle
        .address()
        .get()
        .set_link_index_filter(index)
        .execute()
        .try_collect()
        .await?;
    Ok(messages
        .iter()
        .flat_map(|message| {
            message
                .attributes
                .iter()
                .filter_map(|attribute| match attribute {
                    AddressAttribute::Address(IpAddr::V4(address)) => {
                        Some((*address, message.header.prefix_len))
                    }
                    _ => None,
                })
        })
        .collect())
}

fn link_name(link: &LinkMessage) -> Option<&str> {
    link.attributes
        .iter()
        .find_map(|attribute| match attribute {
            LinkAttribute::IfName(name) => Some(name.as_str()),
            _ => None,
        })
}

fn link_mtu(link: &LinkMessage) -> Option<u32> {
    link.attributes
        .iter()
        .find_map(|attribute| match attribute {
            LinkAttribute::Mtu(mtu) => Some(*mtu),
            _ => None,
        })
}

fn link_kind(link: &LinkMessage) -> Option<&InfoKind> {
    link.attributes
        .iter()
        .find_map(|attribute| match attribute {
            LinkAttribute::LinkInfo(infos) => infos.iter().find_map(|info| match info {
                LinkInfo::Kind(kind) => Some(kind),
                _ => None,
            }),
            _ => None,
        })
}

/// A locally administered unicast MAC address derived from the bridge's name.
fn bridge_mac(name: &str) -> [u8; 6] {
    let hash = Sha256::digest(name.as_bytes());
    let mut mac = [0x02, 0, 0, 0, 0, 0];
    for (byte, hashed) in mac.iter_mut().skip(1).zip(hash.iter()) {
        *byte = *hashed;
    }
    mac
}

fn check_mtu(mtu: u32) -> Result<(), NetError> {
    if (MIN_MTU..=MAX_MTU).contains(&mtu) {
        Ok(())
    } else {
        Err(NetError::InvalidMtu { mtu })
    }
}

fn check_prefix(prefix: u8) -> Result<(), NetError> {
    if prefix <= 32 {
        Ok(())
    } else {
        Err(NetError::InvalidPrefix { prefix })
    }
}

/// The (positive) errno of a netlink error message.
fn errno(err: &rtnetlink::Error) -> Option<i32> {
    match err {
        rtnetlink::Error::NetlinkError(message) => message.code.map(|code| code.get().abs()),
        _ => None,
    }
}

/// Turns an rtnetlink error into ours, saying what we were doing.
fn failed(action: String) -> impl FnOnce(rtnetlink::Error) -> NetError {
    move |err| NetError::Netlink {
        action,
        source: match err {
            rtnetlink::Error::NetlinkError(message) => message.to_io(),
            other => io::Error::other(other.to_string()),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bridge_macs_are_local_unicast_and_stable() {
        let mac = bridge_mac("rc-ff2c4cb7");
        assert_eq!(mac, bridge_mac("rc-ff2c4cb7"));
        assert_eq!(mac[0], 0x02);
        assert_ne!(mac, bridge_mac("rc-00000000"));
    }

    #[test]
    fn veths_are_checked_before_anything_is_made() {
        let veth = Veth {
            host_name: "rcv01234567".to_string(),
            bridge: "rc-01234567".to_string(),
            netns: PathBuf::from("/run/rcompose/netns/c1"),
            peer_name: "eth0".to_string(),
            mac: [0x02, 0x42, 0xac, 0x11, 0x00, 0x02],
            mtu: 1500,
            address: Ipv4Addr::new(172, 17, 0, 2),
            prefix: 16,
            gateway: Some(Ipv4Addr::new(172, 17, 0, 1)),
        };
        assert!(veth.check().is_ok());
        let error = |change: fn(&mut Veth)| {
            let mut veth = veth.clone();
            change(&mut veth);
            veth.check().unwrap_err().to_string()
        };
        assert_eq!(
            error(|v| v.peer_name = "eth0:1".to_string()),
            "invalid interface name \"eth0:1\": it contains `/`, `:`, a space or a NUL"
        );
        assert_eq!(
            error(|v| v.host_name = "rcv0123456789abc".to_string()),
            "invalid interface name \"rcv0123456789abc\": it is longer than 15 bytes"
        );
        assert_eq!(
            error(|v| v.mtu = 67),
            "invalid MTU 67: it must be between 68 and 65535"
        );
        assert_eq!(
            error(|v| v.mtu = 65536),
            "invalid MTU 65536: it must be between 68 and 65535"
        );
        assert_eq!(
            error(|v| v.prefix = 33),
            "invalid IPv4 prefix length /33: it must be at most 32"
        );
    }

    #[test]
    fn netlink_errors_keep_the_errno() {
        use rtnetlink::packet_core::ErrorMessage;
        let mut message = ErrorMessage::default();
        message.code = std::num::NonZeroI32::new(-nix::libc::EEXIST);
        let err = rtnetlink::Error::NetlinkError(message);
        assert_eq!(errno(&err), Some(nix::libc::EEXIST));
        let ours = failed("creating the bridge rc-1".to_string())(err);
        assert_eq!(ours.to_string(), "creating the bridge rc-1");
        let NetError::Netlink { source, .. } = ours else {
            panic!("{ours:?}");
        };
        assert_eq!(source.raw_os_error(), Some(nix::libc::EEXIST));
        assert_eq!(errno(&rtnetlink::Error::RequestFailed), None);
    }
}
