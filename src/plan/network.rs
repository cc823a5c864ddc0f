//! The project's networks, resolved as compose resolves them: each network's real name
//! (`<project>_<key>`, or `name:` as given, set by normalize), whether it is external
//! or internal, its MTU (`driver_opts: com.docker.network.driver.mtu`), its `ipam`
//! settings checked, and a config hash that says when a network must be recreated.
//!
//! For one container of a service: its `network_mode`, or its attachments in
//! interface order (higher `priority` first, then network key, as compose's
//! `NetworksByPriority` does), named `eth0`, `eth1` … unless `interface_name` says
//! otherwise, with compose's DNS aliases (container name, service name, `aliases`), the
//! fixed `ipv4_address` and `mac_address`, and the network the default route goes
//! through: the non-internal one with the highest `gw_priority`, the first one in
//! interface order on a tie.
//!
//! Pure; bridge networks only, IPv4 only.

use super::ipam::{IpamError, IpamRequest};
use crate::spec::model::{Network, Project, ServiceNetwork};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;

/// The `driver_opts` key of a network's MTU (Docker's).
pub const MTU_OPTION: &str = "com.docker.network.driver.mtu";
/// Driver options accepted and ignored: rcompose names its bridges itself.
const IGNORED_OPTIONS: [&str; 1] = ["com.docker.network.bridge.name"];
/// The smallest MTU IPv4 allows, and the largest a Linux bridge takes.
const MTU_RANGE: (u32, u32) = (68, 65535);
/// The longest interface name Linux takes (IFNAMSIZ - 1).
const MAX_INTERFACE_NAME: usize = 15;

/// What is wrong with a network or a service's use of networks.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum NetworkError {
    /// A network setting rcompose does not implement.
    #[error("network {network:?}: {problem}")]
    Unsupported { network: String, problem: String },
    /// A driver option that does not parse.
    #[error("network {network:?}: driver option {option} {value:?} is invalid: {reason}")]
    InvalidOption {
        network: String,
        option: String,
        value: String,
        reason: String,
    },
    /// Bad `ipam` settings.
    #[error(transparent)]
    Ipam(#[from] IpamError),
    /// The project has no such service.
    #[error("no service {service:?} in project {project:?}: check the service name")]
    UnknownService { project: String, service: String },
    /// A service refers to a network the project doesn't define.
    #[error(
        "service {service:?} refers to undefined network {network:?}: define it under the \
         top-level `networks`"
    )]
    UndefinedNetwork { service: String, network: String },
    /// A service with neither `networks` nor `network_mode`.
    #[error(
        "service {service:?} has neither `networks` nor `network_mode`: give it one \
         (normally the project's `default` network is added when it has neither)"
    )]
    NoNetwork { service: String },
    /// A `network_mode` rcompose can't run.
    #[error("service {service:?}: network_mode {mode:?} is not supported: {hint}")]
    NetworkMode {
        service: String,
        mode: String,
        hint: String,
    },
    /// A value of a service's attachment to a network that can't be used.
    #[error("service {service:?}: networks.{network}.{key} {value:?} is invalid: {reason}")]
    InvalidAttachment {
        service: String,
        network: String,
        key: String,
        value: String,
        reason: String,
    },
    /// Two attachments with the same interface name.
    #[error(
        "service {service:?}: networks {first:?} and {second:?} both use interface \
         {interface:?}: give them different `interface_name`s"
    )]
    DuplicateInterface {
        service: String,
        interface: String,
        first: String,
        second: String,
    },
}

/// One network of the project, resolved.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProjectNetwork {
    /// The key under the top-level `networks` (`default`, `front` …).
    pub key: String,
    /// The real name: `<project>_<key>`, or `name:`.
    pub name: String,
    /// Used, never created or removed.
    pub external: bool,
    /// No route to the outside.
    pub internal: bool,
    /// `None`: the engine's default.
    pub mtu: Option<u32>,
    pub ipam: IpamRequest,
    pub labels: BTreeMap<String, String>,
    /// Changes when the network must be recreated ([`network_hash`]).
    pub config_hash: String,
}

/// How a container is networked.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "mode", rename_all = "snake_case")]
pub enum Networking {
    /// `network_mode: host`: the host's network namespace.
    Host,
    /// `network_mode: none`: loopback only.
    None,
    /// `network_mode: service:<name>`: the namespace of that service's first container.
    Service { service: String },
    /// `network_mode: container:<name>`: the namespace of that container.
    Container { container: String },
    /// Bridge networks, in interface order (never empty).
    Bridge { attachments: Vec<Attachment> },
}

/// A container's attachment to one bridge network.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attachment {
    /// The network's key in the project.
    pub network: String,
    /// The network's real name.
    pub name: String,
    /// The interface inside the container: `eth<index>` or `interface_name`.
    pub interface: String,
    /// Names this container answers to on the network, besides its hostname: the
    /// container name, the service name, then `aliases` (without repeats).
    pub aliases: Vec<String>,
    /// `ipv4_address`; `None`: allocated by IPAM.
    pub ipv4_address: Option<Ipv4Addr>,
    /// `mac_address`; `None`: [`mac_address`] of the allocated address.
    pub mac_address: Option<[u8; 6]>,
    /// The network's MTU.
    pub mtu: Option<u32>,
    /// The network is internal (no default route through it).
    pub internal: bool,
    /// The container's default route goes through this network's gateway.
    pub default_route: bool,
}

/// Resolves every network of `project`, by key.
pub fn project_networks(
    project: &Project,
) -> Result<BTreeMap<String, ProjectNetwork>, NetworkError> {
    project
        .networks
        .iter()
        .map(|(key, network)| Ok((key.clone(), project_network(key, network)?)))
        .collect()
}

/// Resolves the network `key` of the project, `network` as normalized.
pub fn project_network(key: &str, network: &Network) -> Result<ProjectNetwork, NetworkError> {
    let name = network.name.clone();
    let unsupported = |problem: String| NetworkError::Unsupported {
        network: name.clone(),
        problem,
    };
    let mut resolved = ProjectNetwork {
        key: key.to_string(),
        name: name.clone(),
        external: network.external,
        internal: network.internal,
        mtu: None,
        ipam: IpamRequest::default(),
        labels: network.labels.clone(),
        config_hash: network_hash(network),
    };
    if network.external {
        // Made by someone else: only its name matters.
        return Ok(resolved);
    }
    if let Some(driver) = network.driver.as_deref().filter(|d| *d != "bridge") {
        return Err(unsupported(format!(
            "driver {driver:?} is not supported: rcompose makes bridge networks; remove \
             `driver` or set it to `bridge`"
        )));
    }
    if network.enable_ipv6 == Some(true) {
        return Err(unsupported(
            "IPv6 is not supported yet: remove `enable_ipv6: true`".into(),
        ));
    }
    if network.enable_ipv4 == Some(false) {
        return Err(unsupported(
            "IPv4 can't be disabled: rcompose networks are IPv4; remove `enable_ipv4: false`"
                .into(),
        ));
    }
    for (option, value) in &network.driver_opts {
        if option == MTU_OPTION {
            resolved.mtu = Some(parse_mtu(&name, value)?);
        } else if !IGNORED_OPTIONS.contains(&option.as_str()) {
            return Err(unsupported(format!(
                "driver option {option:?} is not supported: rcompose supports {MTU_OPTION} \
                 only; remove it"
            )));
        }
    }
    resolved.ipam = IpamRequest::from_model(&name, &network.ipam)?;
    Ok(resolved)
}

fn parse_mtu(network: &str, value: &str) -> Result<u32, NetworkError> {
    let invalid = |reason: String| NetworkError::InvalidOption {
        network: network.to_string(),
        option: MTU_OPTION.to_string(),
        value: value.to_string(),
        reason,
    };
    let (low, high) = MTU_RANGE;
    let mtu: u32 = value
        .trim()
        .parse()
        .map_err(|_| invalid("expected a number of bytes, e.g. 1450".into()))?;
    if !(low..=high).contains(&mtu) {
        return Err(invalid(format!("expected {low} to {high}")));
    }
    Ok(mtu)
}

/// The sha256 (lowercase hex) of the network's configuration as normalized, without
/// its `x-*` keys: when it changes, the network is recreated, as compose does.
pub fn network_hash(network: &Network) -> String {
    let mut view = network.clone();
    view.extensions.clear();
    // Struct fields serialize in declaration order and maps are `BTreeMap`s: the text
    // is the same on every run.
    let canonical = serde_json::to_string(&view)
        .expect("a network serializes to JSON: string keys only, no failing Serialize impl");
    Sha256::digest(canonical.as_bytes())
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// How container `container_name` of `service` is networked.
pub fn service_networking(
    project: &Project,
    service: &str,
    container_name: &str,
) -> Result<Networking, NetworkError> {
    let Some(svc) = project.services.get(service) else {
        return Err(NetworkError::UnknownService {
            project: project.name.clone(),
            service: service.to_string(),
        });
    };
    if let Some(mode) = svc.network_mode.as_deref() {
        let unsupported = |hint: &str| NetworkError::NetworkMode {
            service: service.to_string(),
            mode: mode.to_string(),
            hint: hint.to_string(),
        };
        return match mode {
            "host" => Ok(Networking::Host),
            "none" => Ok(Networking::None),
            "bridge" | "default" => Err(unsupported(
                "rcompose has no host-wide default bridge; attach the service to a network \
                 under `networks` (or leave both out for the project's default network)",
            )),
            _ => {
                if let Some(name) = mode.strip_prefix("service:") {
                    if !project.services.contains_key(name) {
                        return Err(unsupported("no such service in the project"));
                    }
                    Ok(Networking::Service {
                        service: name.to_string(),
                    })
                } else if let Some(name) = mode.strip_prefix("container:").filter(|n| !n.is_empty())
                {
                    Ok(Networking::Container {
                        container: name.to_string(),
                    })
                } else {
                    Err(unsupported(
                        "expected host, none, service:NAME or container:NAME",
                    ))
                }
            }
        };
    }
    if svc.networks.is_empty() {
        return Err(NetworkError::NoNetwork {
            service: service.to_string(),
        });
    }
    let default = ServiceNetwork::default();
    let mut keyed: Vec<(&String, &ServiceNetwork)> = svc
        .networks
        .iter()
        .map(|(key, options)| (key, options.as_ref().unwrap_or(&default)))
        .collect();
    keyed.sort_by(|(a_key, a), (b_key, b)| {
        let priority = |options: &ServiceNetwork| options.priority.unwrap_or(0);
        priority(b).cmp(&priority(a)).then_with(|| a_key.cmp(b_key))
    });
    let mut attachments = Vec::with_capacity(keyed.len());
    let mut interfaces: BTreeMap<String, &str> = BTreeMap::new();
    for (index, (key, options)) in keyed.iter().enumerate() {
        let Some(network) = project.networks.get(*key) else {
            return Err(NetworkError::UndefinedNetwork {
                service: service.to_string(),
                network: key.to_string(),
            });
        };
        let invalid = |field: &str, value: &str, reason: &str| NetworkError::InvalidAttachment {
            service: service.to_string(),
            network: key.to_string(),
            key: field.to_string(),
            value: value.to_string(),
            reason: reason.to_string(),
        };
        if let Some(address) = &options.ipv6_address {
            return Err(invalid(
                "ipv6_address",
                address,
                "IPv6 is not supported yet; remove it",
            ));
        }
        let ipv4_address = options
            .ipv4_address
            .as_deref()
            .map(|text| {
                text.parse::<Ipv4Addr>()
                    .map_err(|_| invalid("ipv4_address", text, "expected an IPv4 address"))
            })
            .transpose()?;
        let mac_address = options
            .mac_address
            .as_deref()
            .map(|text| {
                parse_mac(text).ok_or_else(|| {
                    invalid(
                        "mac_address",
                        text,
                        "expected six hexadecimal bytes separated by colons, e.g. \
                         02:42:ac:11:00:02",
                    )
                })
            })
            .transpose()?;
        let interface = match &options.interface_name {
            Some(name) => {
                check_interface_name(name)
                    .map_err(|reason| invalid("interface_name", name, reason))?;
                name.clone()
            }
            None => format!("eth{index}"),
        };
        if let Some(first) = interfaces.insert(interface.clone(), key) {
            return Err(NetworkError::DuplicateInterface {
                service: service.to_string(),
                interface,
                first: first.to_string(),
                second: key.to_string(),
            });
        }
        let resolved = project_network(key, network)?;
        let mut seen = BTreeSet::new();
        let aliases = [container_name, service]
            .into_iter()
            .chain(options.aliases.iter().map(String::as_str))
            .filter(|alias| seen.insert(*alias))
            .map(str::to_string)
            .collect();
        attachments.push(Attachment {
            network: key.to_string(),
            name: resolved.name,
            interface,
            aliases,
            ipv4_address,
            mac_address,
            mtu: resolved.mtu,
            internal: resolved.internal,
            default_route: false,
        });
    }
    // The highest gw_priority among non-internal networks; the first on a tie.
    let gateway = keyed
        .iter()
        .zip(&attachments)
        .enumerate()
        .filter(|(_, (_, attachment))| !attachment.internal)
        .max_by(|(a_index, ((_, a), _)), (b_index, ((_, b), _))| {
            let priority = |options: &ServiceNetwork| options.gw_priority.unwrap_or(0);
            priority(a)
                .cmp(&priority(b))
                .then_with(|| b_index.cmp(a_index))
        })
        .map(|(index, _)| index);
    if let Some(attachment) = gateway.and_then(|index| attachments.get_mut(index)) {
        attachment.default_route = true;
    }
    Ok(Networking::Bridge { attachments })
}

/// `02:42:xx:xx:xx:xx` from a container's address, as Docker made MAC addresses: stable
/// for as long as the container keeps its address, and unique on the network.
pub fn mac_address(address: Ipv4Addr) -> [u8; 6] {
    let [a, b, c, d] = address.octets();
    [0x02, 0x42, a, b, c, d]
}

/// Six hexadecimal bytes separated by colons (or dashes).
fn parse_mac(text: &str) -> Option<[u8; 6]> {
    let mut mac = [0u8; 6];
    let mut parts = text.split([':', '-']);
    for byte in &mut mac {
        let part = parts.next()?;
        if part.len() != 2 || !part.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        *byte = u8::from_str_radix(part, 16).ok()?;
    }
    parts.next().is_none().then_some(mac)
}

/// Why `name` can't be a Linux interface name, if it can't.
fn check_interface_name(name: &str) -> Result<(), &'static str> {
    if name.is_empty() || name == "." || name == ".." {
        Err("an interface needs a name")
    } else if name.len() > MAX_INTERFACE_NAME {
        Err("an interface name is at most 15 bytes")
    } else if name
        .chars()
        .any(|c| c == '/' || c == ':' || c.is_whitespace())
    {
        Err("an interface name has no '/', ':' or spaces")
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::ipam::Subnet;
    use crate::plan::load_demo as load;

    fn attachments(project: &Project, service: &str) -> Vec<Attachment> {
        match service_networking(project, service, &format!("demo-{service}-1")).unwrap() {
            Networking::Bridge { attachments } => attachments,
            other => panic!("not bridged: {other:?}"),
        }
    }

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|item| item.to_string()).collect()
    }

    #[test]
    fn networks_get_their_names_and_settings() {
        let project = load(
            "services:
  app:
    image: bb
    networks: [default, back, shared, front]
networks:
  back:
    internal: true
    driver_opts:
      com.docker.network.driver.mtu: \"1450\"
      com.docker.network.bridge.name: br-back
  front:
    name: custom-front
    driver: bridge
    labels: {tier: front}
    ipam:
      config:
        - subnet: 172.28.0.0/16
          gateway: 172.28.0.254
  shared:
    external: true
",
        );
        let networks = project_networks(&project).unwrap();
        assert_eq!(
            networks.keys().collect::<Vec<_>>(),
            ["back", "default", "front", "shared"]
        );
        assert_eq!(
            networks["default"],
            ProjectNetwork {
                key: "default".into(),
                name: "demo_default".into(),
                external: false,
                internal: false,
                mtu: None,
                ipam: IpamRequest::default(),
                labels: BTreeMap::new(),
                // sha256 of `{"name":"demo_default"}`.
                config_hash: "0bc9a729aefb91cd1fed8a2dfad21de63f7ace697407b17883e7f2ee022044a2"
                    .into(),
            }
        );
        let back = &networks["back"];
        assert_eq!(
            (back.name.as_str(), back.internal, back.mtu),
            ("demo_back", true, Some(1450))
        );
        let front = &networks["front"];
        assert_eq!(front.name, "custom-front");
        assert_eq!(
            front.labels,
            BTreeMap::from([("tier".to_string(), "front".to_string())])
        );
        assert_eq!(
            front.ipam,
            IpamRequest {
                subnet: Some("172.28.0.0/16".parse::<Subnet>().unwrap()),
                gateway: Some(Ipv4Addr::new(172, 28, 0, 254)),
                ..IpamRequest::default()
            }
        );
        let shared = &networks["shared"];
        assert_eq!((shared.name.as_str(), shared.external), ("shared", true));
    }

    #[test]
    fn network_hash_follows_the_configuration() {
        let project = load(
            "services:\n  app:\n    image: bb\nnetworks:\n  default:\n    x-note: 1\n    labels: {a: b}\n",
        );
        let network = &project.networks["default"];
        let hash = network_hash(network);
        let changed = |change: fn(&mut Network)| {
            let mut network = network.clone();
            change(&mut network);
            network_hash(&network)
        };
        assert_eq!(changed(|n| n.extensions.clear()), hash);
        assert_ne!(changed(|n| n.internal = true), hash);
        assert_ne!(changed(|n| n.name = "other".into()), hash);
        assert_ne!(changed(|n| n.labels.clear()), hash);
        assert_ne!(changed(|n| n.ipam.config.push(Default::default())), hash);
    }

    #[test]
    fn unsupported_network_settings_are_refused() {
        let error = |network: &str| {
            let project = load(&format!(
                "services:\n  app:\n    image: bb\nnetworks:\n  default:\n{network}"
            ));
            project_networks(&project).unwrap_err().to_string()
        };
        assert_eq!(
            error("    driver: overlay\n"),
            "network \"demo_default\": driver \"overlay\" is not supported: rcompose makes \
             bridge networks; remove `driver` or set it to `bridge`"
        );
        assert_eq!(
            error("    enable_ipv6: true\n"),
            "network \"demo_default\": IPv6 is not supported yet: remove `enable_ipv6: true`"
        );
        assert_eq!(
            error("    driver_opts:\n      com.docker.network.bridge.enable_icc: \"false\"\n"),
            "network \"demo_default\": driver option \"com.docker.network.bridge.enable_icc\" \
             is not supported: rcompose supports com.docker.network.driver.mtu only; remove it"
        );
        assert_eq!(
            error("    driver_opts:\n      com.docker.network.driver.mtu: big\n"),
            "network \"demo_default\": driver option com.docker.network.driver.mtu \"big\" is \
             invalid: expected a number of bytes, e.g. 1450"
        );
        assert_eq!(
            error("    driver_opts:\n      com.docker.network.driver.mtu: \"67\"\n"),
            "network \"demo_default\": driver option com.docker.network.driver.mtu \"67\" is \
             invalid: expected 68 to 65535"
        );
        assert_eq!(
            error("    ipam:\n      driver: dhcp\n"),
            "network \"demo_default\": ipam driver \"dhcp\" is not supported: rcompose has \
             only the `default` one; remove `ipam.driver`"
        );
        // An external network is only named: its settings are someone else's.
        let project = load(
            "services:\n  app:\n    image: bb\n    networks: [outside]\nnetworks:\n  outside:\n    external: true\n    driver: overlay\n",
        );
        assert!(project_networks(&project).unwrap()["outside"].external);
    }

    #[test]
    fn attachments_are_ordered_by_priority_then_name() {
        let project = load(
            "services:
  web:
    image: bb
    networks:
      zeta: {}
      alpha:
        aliases: [www, web, demo-web-1]
      mid:
        priority: 100
        ipv4_address: 172.28.0.10
        mac_address: 02:42:AC:1C:00:0A
      low:
        priority: -5
        interface_name: lan9
networks:
  zeta: {}
  alpha: {}
  mid:
    ipam:
      config: [{subnet: 172.28.0.0/16}]
    driver_opts: {com.docker.network.driver.mtu: \"9000\"}
  low: {}
",
        );
        let attachment = |network: &str, interface: &str, aliases: &[&str]| Attachment {
            network: network.into(),
            name: format!("demo_{network}"),
            interface: interface.into(),
            aliases: strings(aliases),
            ipv4_address: None,
            mac_address: None,
            mtu: None,
            internal: false,
            default_route: false,
        };
        assert_eq!(
            attachments(&project, "web"),
            vec![
                Attachment {
                    ipv4_address: Some(Ipv4Addr::new(172, 28, 0, 10)),
                    mac_address: Some([0x02, 0x42, 0xac, 0x1c, 0x00, 0x0a]),
                    mtu: Some(9000),
                    default_route: true,
                    ..attachment("mid", "eth0", &["demo-web-1", "web"])
                },
                attachment("alpha", "eth1", &["demo-web-1", "web", "www"]),
                attachment("zeta", "eth2", &["demo-web-1", "web"]),
                attachment("low", "lan9", &["demo-web-1", "web"]),
            ]
        );
    }

    #[test]
    fn the_default_route_avoids_internal_networks_and_follows_gw_priority() {
        let routes = |yaml: &str| -> Vec<(String, bool)> {
            attachments(&load(yaml), "app")
                .into_iter()
                .map(|a| (a.interface, a.default_route))
                .collect()
        };
        let on = |pairs: &[(&str, bool)]| -> Vec<(String, bool)> {
            pairs.iter().map(|(i, d)| (i.to_string(), *d)).collect()
        };
        // `a` is first but internal: the route goes through `b`.
        assert_eq!(
            routes("services:\n  app:\n    image: bb\n    networks: [a, b, c]\nnetworks:\n  a: {internal: true}\n  b: {}\n  c: {}\n"),
            on(&[("eth0", false), ("eth1", true), ("eth2", false)])
        );
        // gw_priority picks the gateway without changing the interface order.
        assert_eq!(
            routes("services:\n  app:\n    image: bb\n    networks:\n      a: {}\n      b: {}\n      c: {gw_priority: 1}\nnetworks:\n  a: {}\n  b: {}\n  c: {}\n"),
            on(&[("eth0", false), ("eth1", false), ("eth2", true)])
        );
        // Only internal networks: no default route.
        assert_eq!(
            routes("services:\n  app:\n    image: bb\n    networks: [a]\nnetworks:\n  a: {internal: true}\n"),
            on(&[("eth0", false)])
        );
        // No networks at all: the default network, eth0, with the route.
        let project = load("services:\n  app:\n    image: bb\n");
        let default = attachments(&project, "app");
        assert_eq!(
            (
                default[0].name.as_str(),
                default[0].interface.as_str(),
                default[0].default_route
            ),
            ("demo_default", "eth0", true)
        );
    }

    #[test]
    fn network_modes_are_resolved() {
        let project = load(
            "services:
  db:
    image: bb
  host:
    image: bb
    network_mode: host
  none:
    image: bb
    network_mode: none
  sidecar:
    image: bb
    network_mode: service:db
  other:
    image: bb
    network_mode: container:some-container
",
        );
        let mode = |service: &str| service_networking(&project, service, "x").unwrap();
        assert_eq!(mode("host"), Networking::Host);
        assert_eq!(mode("none"), Networking::None);
        assert_eq!(
            mode("sidecar"),
            Networking::Service {
                service: "db".into()
            }
        );
        assert_eq!(
            mode("other"),
            Networking::Container {
                container: "some-container".into()
            }
        );
        assert_eq!(
            service_networking(&project, "nope", "x")
                .unwrap_err()
                .to_string(),
            "no service \"nope\" in project \"demo\": check the service name"
        );
        let mut project = project;
        let error = |project: &Project| {
            service_networking(project, "host", "x")
                .unwrap_err()
                .to_string()
        };
        for (mode, hint) in [
            (
                "bridge",
                "rcompose has no host-wide default bridge; attach the service to a network \
                 under `networks` (or leave both out for the project's default network)",
            ),
            ("service:ghost", "no such service in the project"),
            (
                "container:",
                "expected host, none, service:NAME or container:NAME",
            ),
            (
                "slirp4netns",
                "expected host, none, service:NAME or container:NAME",
            ),
        ] {
            if let Some(host) = project.services.get_mut("host") {
                host.network_mode = Some(mode.into());
            }
            assert_eq!(
                error(&project),
                format!("service \"host\": network_mode {mode:?} is not supported: {hint}")
            );
        }
        if let Some(host) = project.services.get_mut("host") {
            host.network_mode = None;
        }
        assert_eq!(
            error(&project),
            "service \"host\" has neither `networks` nor `network_mode`: give it one \
             (normally the project's `default` network is added when it has neither)"
        );
    }

    #[test]
    fn bad_attachments_are_refused() {
        let project = load(
            "services:\n  app:\n    image: bb\n    networks: [a, b]\nnetworks:\n  a: {}\n  b: {}\n",
        );
        let error = |change: fn(&mut ServiceNetwork), network: &str| {
            let mut project = project.clone();
            if let Some(app) = project.services.get_mut("app") {
                let mut options = ServiceNetwork::default();
                change(&mut options);
                app.networks.insert(network.into(), Some(options));
            }
            service_networking(&project, "app", "demo-app-1")
                .unwrap_err()
                .to_string()
        };
        assert_eq!(
            error(|o| o.ipv4_address = Some("10.0.0.300".into()), "a"),
            "service \"app\": networks.a.ipv4_address \"10.0.0.300\" is invalid: expected an \
             IPv4 address"
        );
        assert_eq!(
            error(|o| o.ipv6_address = Some("fd00::5".into()), "a"),
            "service \"app\": networks.a.ipv6_address \"fd00::5\" is invalid: IPv6 is not \
             supported yet; remove it"
        );
        assert_eq!(
            error(|o| o.mac_address = Some("02:42:ac:11:00".into()), "a"),
            "service \"app\": networks.a.mac_address \"02:42:ac:11:00\" is invalid: expected \
             six hexadecimal bytes separated by colons, e.g. 02:42:ac:11:00:02"
        );
        assert_eq!(
            error(|o| o.interface_name = Some("a-very-long-name0".into()), "a"),
            "service \"app\": networks.a.interface_name \"a-very-long-name0\" is invalid: an \
             interface name is at most 15 bytes"
        );
        assert_eq!(
            error(|o| o.interface_name = Some("eth1".into()), "a"),
            "service \"app\": networks \"a\" and \"b\" both use interface \"eth1\": give them \
             different `interface_name`s"
        );
        assert_eq!(
            error(|_| {}, "ghost"),
            "service \"app\" refers to undefined network \"ghost\": define it under the \
             top-level `networks`"
        );
    }

    #[test]
    fn mac_addresses() {
        assert_eq!(
            mac_address(Ipv4Addr::new(172, 17, 0, 2)),
            [0x02, 0x42, 0xac, 0x11, 0x00, 0x02]
        );
        assert_eq!(
            parse_mac("0a-0B-0c-0D-0e-0F"),
            Some([10, 11, 12, 13, 14, 15])
        );
        for bad in [
            "",
            "02:42:ac:11:00:02:03",
            "2:42:ac:11:00:02",
            "02:42:ac:11:00:zz",
            "02:42:ac:11:00:+2",
        ] {
            assert_eq!(parse_mac(bad), None, "{bad}");
        }
    }
}
