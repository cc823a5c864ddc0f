//! Networks: a bridge per compose network, its addresses (IPAM, kept in the state),
//! its firewall rules, and the DNS that answers on its gateway; and each container's
//! side of it: its network namespace file, its veths, its addresses and its names.
//!
//! A network is recorded before its bridge exists and forgotten after the bridge is
//! gone. A container's namespace file is named in its record before it is made; its
//! addresses are taken in the network's record before its veths exist, and given
//! back when it is removed. Removing the namespace file destroys the veths with it.

use super::server::{blocking, error_chain, Engine, RequestError};
use super::state::{ContainerRecord, EndpointRecord, NetworkRecord};
use crate::dns::{DnsServer, Endpoint, Listener, SharedRecords, Upstreams};
use crate::plan::ipam::{routes_from_proc, IpamError, NetworkIpam, UsedSubnets};
use crate::plan::network::{mac_address, Attachment, ProjectNetwork};
use crate::runtime::logfile::format_time;
use crate::runtime::net::firewall::{Firewall, FirewallNetwork};
use crate::runtime::net::{bridge_name, netns, veth_name, NetError, Netlink, Veth};
use std::collections::HashMap;
use std::fs::{self, File};
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::SystemTime;

/// The MTU of a network that sets none (Docker's default).
pub const DEFAULT_MTU: u32 = 1500;

/// The DNS port on each gateway.
const DNS_PORT: u16 = 53;

/// Held while a subnet is chosen and its bridge made, by every rcompose engine on the
/// host: two engines (two roots) never pick the same free subnet at once. Each sees the
/// other's networks as routes once their bridges exist.
const SUBNET_LOCK: &str = "/run/rcompose-subnets.lock";

/// Where the host's routes are read from.
const ROUTES: &str = "/proc/net/route";

/// A network request that failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum NetworkError {
    #[error(transparent)]
    Ipam(#[from] IpamError),
    #[error("network {network}: {source}")]
    Kernel {
        network: String,
        #[source]
        source: NetError,
    },
    #[error("container {container}: {source}")]
    Container {
        container: String,
        #[source]
        source: NetError,
    },
    #[error("network {network}: the DNS can't listen on its gateway: {source}")]
    Dns {
        network: String,
        #[source]
        source: crate::dns::DnsError,
    },
    #[error("container {container}: its name on network {network}: {source}")]
    Name {
        container: String,
        network: String,
        #[source]
        source: crate::dns::RecordsError,
    },
    #[error("network {network}: no firewall: {message}")]
    NoFirewall { network: String, message: String },
    #[error("no such network: {network} (is it made by `up`, or `external` and missing?)")]
    NoSuchNetwork { network: String },
    #[error(
        "network {network} is used by container(s) {containers}: remove them first \
         (`rcompose down` of their project)"
    )]
    InUse { network: String, containers: String },
    #[error("cannot {action} {}: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error(
        "container {container} joins the network namespace of {target}, which has none of \
         its own and does not run: start {target} first"
    )]
    NoNamespace { container: String, target: String },
}

fn fail<T>(err: impl Into<NetworkError>) -> Result<T, RequestError> {
    Err(RequestError::from(err.into()))
}

/// The engine's networking: netlink, the firewall, the DNS and its listeners.
pub(crate) struct Networks {
    netlink: Netlink,
    /// `None` when `nft` is missing: saying so is left to the first network made.
    firewall: Result<Firewall, String>,
    records: SharedRecords,
    dns: DnsServer,
    /// By network name.
    listeners: tokio::sync::Mutex<HashMap<String, Listener>>,
    /// Held while a network record's addresses are read and written back.
    ipam: Mutex<()>,
}

impl Networks {
    /// Opens netlink in the engine's (the host's) network namespace; must run on the
    /// engine's tokio runtime.
    pub(crate) fn new() -> Result<Networks, NetError> {
        let upstreams = Upstreams::from_host().unwrap_or_else(|err| {
            eprintln!(
                "rcompose engine: {}; names outside the projects will not resolve",
                error_chain(&err)
            );
            Upstreams::new(Vec::new(), std::time::Duration::from_secs(2))
        });
        let records = SharedRecords::new();
        Ok(Networks {
            netlink: Netlink::new()?,
            firewall: Firewall::new().map_err(|err| error_chain(&err)),
            dns: DnsServer::new(records.clone(), upstreams),
            records,
            listeners: tokio::sync::Mutex::new(HashMap::new()),
            ipam: Mutex::new(()),
        })
    }

    fn ipam_lock(&self) -> MutexGuard<'_, ()> {
        self.ipam
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn firewall(&self, network: &str) -> Result<&Firewall, NetworkError> {
        self.firewall
            .as_ref()
            .map_err(|message| NetworkError::NoFirewall {
                network: network.to_string(),
                message: message.clone(),
            })
    }
}

/// The network's bridge, firewall rules and DNS, made when missing (a network already
/// recorded is only checked to be all there, as after a reboot). `network` is not
/// external.
pub(crate) async fn create(
    engine: &Arc<Engine>,
    network: &ProjectNetwork,
    project: &str,
) -> Result<NetworkRecord, RequestError> {
    if let Some(record) = engine.state.network(&network.name)? {
        make(engine, &record).await?;
        return Ok(record);
    }
    let (shared, network, project) = (engine.clone(), network.clone(), project.to_string());
    let record = blocking(move || new_record(&shared, &network, &project)).await?;
    if let Err(err) = make(engine, &record).await {
        // Nothing of a new network stays when it can't be made whole.
        let _ = remove_made(engine, &record).await;
        return Err(err);
    }
    Ok(record)
}

/// Chooses the subnet (under the host-wide lock) and records the network; its bridge is
/// made before the lock is let go, so that the next chooser sees its route.
fn new_record(
    engine: &Engine,
    network: &ProjectNetwork,
    project: &str,
) -> Result<NetworkRecord, RequestError> {
    let _host = lock_file(Path::new(SUBNET_LOCK))?;
    let routes = fs::read_to_string(ROUTES)
        .map(|text| routes_from_proc(&text))
        .unwrap_or_default();
    let ours = engine.state.networks()?;
    let used = UsedSubnets {
        routes,
        networks: ours
            .iter()
            .map(|other| (other.name.clone(), other.ipam.subnet))
            .collect(),
    };
    let ipam = NetworkIpam::new(&network.name, &network.ipam, &used).map_err(NetworkError::from)?;
    let id = super::containers::new_id()?;
    let record = NetworkRecord {
        name: network.name.clone(),
        bridge: bridge_name(&id),
        id,
        project: Some(project.to_string()),
        config_hash: network.config_hash.clone(),
        internal: network.internal,
        mtu: network.mtu.unwrap_or(DEFAULT_MTU),
        labels: network.labels.clone(),
        created: format_time(SystemTime::now()),
        ipam,
    };
    engine.state.put_network(&record)?;
    let made = tokio::runtime::Handle::current().block_on(engine.networks.netlink.create_bridge(
        &record.bridge,
        record.mtu,
        record.ipam.gateway,
        record.ipam.subnet.prefix(),
    ));
    if let Err(source) = made {
        let _ = engine.state.remove_network(&record.name);
        return fail(NetworkError::Kernel {
            network: record.name,
            source,
        });
    }
    Ok(record)
}

/// An exclusive `flock` on `path`, released when the file closes.
fn lock_file(path: &Path) -> Result<File, RequestError> {
    let file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .map_err(|source| NetworkError::Io {
            action: "open the lock file",
            path: path.to_path_buf(),
            source,
        })?;
    file.lock().map_err(|source| NetworkError::Io {
        action: "lock",
        path: path.to_path_buf(),
        source,
    })?;
    Ok(file)
}

/// Makes sure the recorded network's bridge, rules and DNS are there.
async fn make(engine: &Arc<Engine>, record: &NetworkRecord) -> Result<(), RequestError> {
    let networks = &engine.networks;
    let kernel = |source| NetworkError::Kernel {
        network: record.name.clone(),
        source,
    };
    networks
        .netlink
        .create_bridge(
            &record.bridge,
            record.mtu,
            record.ipam.gateway,
            record.ipam.subnet.prefix(),
        )
        .await
        .map_err(kernel)?;
    let rules = FirewallNetwork {
        bridge: record.bridge.clone(),
        subnet: record.ipam.subnet.network(),
        prefix: record.ipam.subnet.prefix(),
        internal: record.internal,
    };
    change_firewall(engine, &record.name, move |firewall| {
        firewall.add_network(&rules)
    })
    .await?;
    networks
        .records
        .update(|records| records.set_network(&record.name, record.internal));
    let mut listeners = networks.listeners.lock().await;
    if !listeners.contains_key(&record.name) {
        let address = SocketAddr::from((record.ipam.gateway, DNS_PORT));
        let listener = networks
            .dns
            .listen(&record.name, address)
            .await
            .map_err(|source| NetworkError::Dns {
                network: record.name.clone(),
                source,
            })?;
        listeners.insert(record.name.clone(), listener);
    }
    Ok(())
}

/// Makes the recorded network `name` whole again if it exists: its bridge, DNS, and its
/// firewall rules, which another tool may have changed meanwhile (Docker, started
/// after the network was made, puts its FORWARD chain with policy DROP in front).
pub(crate) async fn refresh(engine: &Arc<Engine>, name: &str) -> Result<(), RequestError> {
    match engine.state.network(name)? {
        Some(record) => make(engine, &record).await,
        None => Ok(()),
    }
}

/// Runs `change` on the firewall for network `network` (on the blocking pool: it runs
/// `nft`).
async fn change_firewall(
    engine: &Arc<Engine>,
    network: &str,
    change: impl FnOnce(&Firewall) -> Result<(), NetError> + Send + 'static,
) -> Result<(), RequestError> {
    let (shared, network) = (engine.clone(), network.to_string());
    blocking(move || {
        let firewall = shared.networks.firewall(&network)?;
        change(firewall).map_err(|source| NetworkError::Kernel { network, source })?;
        Ok(())
    })
    .await
}

/// Removes the network (its DNS, rules, bridge, then its record); refused while a
/// container is on it.
pub(crate) async fn remove(engine: &Arc<Engine>, name: &str) -> Result<(), RequestError> {
    let Some(record) = engine.state.network(name)? else {
        return Ok(());
    };
    let users: Vec<String> = engine
        .state
        .containers()?
        .into_iter()
        .filter(|c| c.endpoints.iter().any(|e| e.network == name))
        .map(|c| c.name)
        .collect();
    if !users.is_empty() {
        return fail(NetworkError::InUse {
            network: name.to_string(),
            containers: users.join(", "),
        });
    }
    remove_made(engine, &record).await
}

/// Undoes [`make`] and forgets the record.
async fn remove_made(engine: &Arc<Engine>, record: &NetworkRecord) -> Result<(), RequestError> {
    let networks = &engine.networks;
    if let Some(listener) = networks.listeners.lock().await.remove(&record.name) {
        listener.stop().await;
    }
    networks
        .records
        .update(|records| records.remove_network(&record.name));
    let kernel = |source| NetworkError::Kernel {
        network: record.name.clone(),
        source,
    };
    if networks.firewall.is_ok() {
        let bridge = record.bridge.clone();
        change_firewall(engine, &record.name, move |firewall| {
            firewall.remove_network(&bridge)
        })
        .await?;
    }
    networks
        .netlink
        .delete_bridge(&record.bridge)
        .await
        .map_err(kernel)?;
    engine.state.remove_network(&record.name)?;
    Ok(())
}

/// At the engine's start: every recorded network made whole again (after a reboot,
/// bridges and rules are gone), and the names of running containers known to the DNS.
pub(crate) async fn restore(engine: &Arc<Engine>) {
    let records = match engine.state.networks() {
        Ok(records) => records,
        Err(err) => {
            eprintln!(
                "rcompose engine: reading the networks: {}",
                error_chain(&err)
            );
            return;
        }
    };
    let owners: Option<std::collections::HashSet<String>> = engine
        .state
        .containers()
        .ok()
        .map(|records| records.into_iter().map(|r| r.id).collect());
    for mut record in records {
        // Addresses taken by a container whose record never got written (a crash in
        // between) are given back.
        if let Some(owners) = &owners {
            let before = record.ipam.allocated.len();
            record
                .ipam
                .allocated
                .retain(|_, owner| owners.contains(owner));
            if record.ipam.allocated.len() != before {
                if let Err(err) = engine.state.put_network(&record) {
                    eprintln!(
                        "rcompose engine: network {}: {}",
                        record.name,
                        error_chain(&err)
                    );
                }
            }
        }
        if let Err(err) = make(engine, &record).await {
            eprintln!(
                "rcompose engine: network {}: {}",
                record.name,
                error_chain(&err)
            );
        }
    }
}

/// The namespace file of container `id`.
pub(crate) fn netns_path(engine: &Engine, id: &str) -> PathBuf {
    engine.layout.run().join("netns").join(id)
}

/// Takes the container's addresses on its networks (recorded in each network before
/// anything uses them), for `attachments` in order.
pub(crate) fn allocate(
    engine: &Engine,
    container_id: &str,
    container: &str,
    attachments: &[Attachment],
    link_aliases: &[String],
    hostname: &str,
) -> Result<Vec<EndpointRecord>, RequestError> {
    let _ipam = engine.networks.ipam_lock();
    let mut endpoints = Vec::with_capacity(attachments.len());
    let mut changed: Vec<NetworkRecord> = Vec::new();
    for (index, attachment) in attachments.iter().enumerate() {
        let mut network = match changed.iter().position(|n| n.name == attachment.name) {
            Some(at) => changed.remove(at),
            None => match engine.state.network(&attachment.name)? {
                Some(network) => network,
                None => {
                    return fail(NetworkError::NoSuchNetwork {
                        network: attachment.name.clone(),
                    })
                }
            },
        };
        let address = match attachment.ipv4_address {
            Some(fixed) => {
                network
                    .ipam
                    .allocate_fixed(container_id, fixed)
                    .map_err(NetworkError::from)?;
                fixed
            }
            None => network
                .ipam
                .allocate(container_id)
                .map_err(NetworkError::from)?,
        };
        let mut aliases: Vec<String> = attachment
            .aliases
            .iter()
            .filter(|alias| alias.as_str() != container)
            .cloned()
            .collect();
        aliases.extend(link_aliases.iter().cloned());
        if hostname != container {
            aliases.push(hostname.to_string());
        }
        endpoints.push(EndpointRecord {
            network: attachment.name.clone(),
            address,
            interface: attachment.interface.clone(),
            veth: veth_name(container_id, index),
            aliases,
        });
        changed.push(network);
    }
    for network in &changed {
        engine.state.put_network(network)?;
    }
    Ok(endpoints)
}

/// Gives back the addresses container `id` holds.
pub(crate) fn release(
    engine: &Engine,
    id: &str,
    endpoints: &[EndpointRecord],
) -> Result<(), RequestError> {
    let _ipam = engine.networks.ipam_lock();
    for endpoint in endpoints {
        if let Some(mut network) = engine.state.network(&endpoint.network)? {
            if network.ipam.release_owner(id).is_some() {
                engine.state.put_network(&network)?;
            }
        }
    }
    Ok(())
}

/// Makes the container's namespace file and its veths (the peers born inside it).
pub(crate) fn wire(
    engine: &Engine,
    record: &ContainerRecord,
    attachments: &[Attachment],
) -> Result<(), RequestError> {
    let Some(path) = &record.netns else {
        return Ok(());
    };
    let failed = |source| NetworkError::Container {
        container: record.name.clone(),
        source,
    };
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).map_err(|source| NetworkError::Io {
            action: "create",
            path: dir.to_path_buf(),
            source,
        })?;
    }
    netns::create(path).map_err(failed)?;
    let runtime = tokio::runtime::Handle::current();
    for (endpoint, attachment) in record.endpoints.iter().zip(attachments) {
        let Some(network) = engine.state.network(&endpoint.network)? else {
            return fail(NetworkError::NoSuchNetwork {
                network: endpoint.network.clone(),
            });
        };
        let veth = Veth {
            host_name: endpoint.veth.clone(),
            bridge: network.bridge.clone(),
            netns: path.clone(),
            peer_name: endpoint.interface.clone(),
            mac: attachment
                .mac_address
                .unwrap_or_else(|| mac_address(endpoint.address)),
            mtu: network.mtu,
            address: endpoint.address,
            prefix: network.ipam.subnet.prefix(),
            gateway: attachment.default_route.then_some(network.ipam.gateway),
        };
        runtime
            .block_on(engine.networks.netlink.add_veth(&veth))
            .map_err(failed)?;
    }
    Ok(())
}

/// Undoes [`allocate`] and [`wire`]: the namespace (and its veths with it), the
/// addresses, the names.
pub(crate) fn unwire(engine: &Engine, record: &ContainerRecord) -> Result<(), RequestError> {
    unpublish(engine, &record.id);
    if let Some(path) = &record.netns {
        netns::remove(path).map_err(|source| NetworkError::Container {
            container: record.name.clone(),
            source,
        })?;
    }
    release(engine, &record.id, &record.endpoints)
}

/// Makes the running container's names answer on its networks.
pub(crate) fn publish(engine: &Engine, record: &ContainerRecord) -> Result<(), RequestError> {
    engine.networks.records.update(|records| {
        for endpoint in &record.endpoints {
            let added = records.add(
                &endpoint.network,
                Endpoint {
                    container: record.id.clone(),
                    address: endpoint.address,
                    name: record.name.clone(),
                    aliases: endpoint.aliases.clone(),
                },
            );
            if let Err(source) = added {
                return fail(NetworkError::Name {
                    container: record.name.clone(),
                    network: endpoint.network.clone(),
                    source,
                });
            }
        }
        Ok(())
    })
}

/// Takes the container's names out of the DNS at once.
pub(crate) fn unpublish(engine: &Engine, id: &str) {
    engine.networks.records.update(|records| records.remove(id));
}

/// The gateways of the container's networks, its DNS servers.
pub(crate) fn gateways(
    engine: &Engine,
    endpoints: &[EndpointRecord],
) -> Result<Vec<Ipv4Addr>, RequestError> {
    let mut gateways = Vec::new();
    for endpoint in endpoints {
        if let Some(network) = engine.state.network(&endpoint.network)? {
            if !gateways.contains(&network.ipam.gateway) {
                gateways.push(network.ipam.gateway);
            }
        }
    }
    Ok(gateways)
}
