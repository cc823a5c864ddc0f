//! Published ports: a service's `ports` (as the spec loader normalized them) -> the
//! host listeners to open, with compose's rules:
//!
//! - `published: "8080"` is that host port; no `published` lets the host pick one;
//! - `published: "8000-8010"` for a single container port is any free port of the
//!   range; a host range paired with a container range was already cut by the loader
//!   into one entry per container port, each with its own host port;
//! - `host_ip` is where the listener binds (none: every address, decided by the engine);
//! - tcp and udp are supported, sctp and IPv6 host addresses are not (yet).
//!
//! Pure: nothing here opens a socket (see [`crate::proxy`] for the listeners).

use crate::spec::model::PortConfig;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::net::IpAddr;

/// The transport of a published port.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    /// TCP: connections are forwarded.
    Tcp,
    /// UDP: datagrams are forwarded, per client.
    Udp,
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Protocol::Tcp => "tcp",
            Protocol::Udp => "udp",
        })
    }
}

/// Which host port to listen on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum HostPort {
    /// Any free port, chosen by the kernel.
    Ephemeral,
    /// This port, or an error when it is taken.
    Fixed(u16),
    /// Any free port from `start` to `end` (both included, `start < end`).
    Range { start: u16, end: u16 },
}

/// One published port of a service.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortBinding {
    /// The host address to listen on; `None`: every address.
    pub host_ip: Option<IpAddr>,
    /// The host port.
    pub host_port: HostPort,
    /// The container's port.
    pub target: u16,
    /// TCP or UDP.
    pub protocol: Protocol,
}

/// A `ports` entry rcompose can't publish.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PortError {
    /// An SCTP port.
    #[error(
        "service {service:?}: port {target}/sctp can't be published: rcompose publishes tcp \
         and udp ports only; use one of them"
    )]
    Sctp { service: String, target: u16 },
    /// A protocol other than tcp, udp or sctp.
    #[error("service {service:?}: port {target} has protocol {protocol:?}: expected tcp or udp")]
    UnknownProtocol {
        service: String,
        target: u16,
        protocol: String,
    },
    /// An IPv6 `host_ip`.
    #[error(
        "service {service:?}: port {target}/{protocol}: host_ip \"{host_ip}\": IPv6 is not \
         supported yet; use an IPv4 address such as 0.0.0.0 or 127.0.0.1, or leave host_ip out"
    )]
    Ipv6 {
        service: String,
        target: u16,
        protocol: Protocol,
        host_ip: IpAddr,
    },
    /// A `host_ip` that is not an IP address.
    #[error(
        "service {service:?}: port {target}/{protocol}: host_ip {host_ip:?} is not an IP \
         address, e.g. 127.0.0.1"
    )]
    InvalidHostIp {
        service: String,
        target: u16,
        protocol: Protocol,
        host_ip: String,
    },
    /// A `published` that is neither a port nor a range.
    #[error(
        "service {service:?}: port {target}/{protocol}: published {published:?} is not a host \
         port: expected a port from 1 to 65535 or a range such as 8000-8010"
    )]
    InvalidPublished {
        service: String,
        target: u16,
        protocol: Protocol,
        published: String,
    },
    /// A container port of 0.
    #[error("service {service:?}: a published port needs a container port from 1 to 65535")]
    NoTarget { service: String },
}

/// The published ports of `service`, from its normalized `ports`, in order.
pub fn service_ports(service: &str, ports: &[PortConfig]) -> Result<Vec<PortBinding>, PortError> {
    ports.iter().map(|port| binding(service, port)).collect()
}

fn binding(service: &str, port: &PortConfig) -> Result<PortBinding, PortError> {
    let service = || service.to_owned();
    let target = port.target;
    if target == 0 {
        return Err(PortError::NoTarget { service: service() });
    }
    let protocol = match port.protocol.to_ascii_lowercase().as_str() {
        "tcp" => Protocol::Tcp,
        "udp" => Protocol::Udp,
        "sctp" => {
            return Err(PortError::Sctp {
                service: service(),
                target,
            })
        }
        _ => {
            return Err(PortError::UnknownProtocol {
                service: service(),
                target,
                protocol: port.protocol.clone(),
            })
        }
    };
    let host_ip = match &port.host_ip {
        None => None,
        Some(text) => {
            let bare = text
                .strip_prefix('[')
                .and_then(|inner| inner.strip_suffix(']'))
                .unwrap_or(text);
            match bare.parse::<IpAddr>() {
                Ok(ip @ IpAddr::V4(_)) => Some(ip),
                Ok(host_ip @ IpAddr::V6(_)) => {
                    return Err(PortError::Ipv6 {
                        service: service(),
                        target,
                        protocol,
                        host_ip,
                    })
                }
                Err(_) => {
                    return Err(PortError::InvalidHostIp {
                        service: service(),
                        target,
                        protocol,
                        host_ip: text.clone(),
                    })
                }
            }
        }
    };
    let host_port = match &port.published {
        None => HostPort::Ephemeral,
        Some(published) => host_port(published).ok_or_else(|| PortError::InvalidPublished {
            service: service(),
            target,
            protocol,
            published: published.clone(),
        })?,
    };
    Ok(PortBinding {
        host_ip,
        host_port,
        target,
        protocol,
    })
}

/// `"8080"`, `"8000-8010"` (a one-port range is that port), or `""` (any port).
fn host_port(published: &str) -> Option<HostPort> {
    let port = |text: &str| {
        text.parse::<u16>()
            .ok()
            .filter(|port| *port > 0 && text.bytes().all(|b| b.is_ascii_digit()))
    };
    if published.is_empty() {
        return Some(HostPort::Ephemeral);
    }
    match published.split_once('-') {
        None => port(published).map(HostPort::Fixed),
        Some((start, end)) => match (port(start)?, port(end)?) {
            (start, end) if start == end => Some(HostPort::Fixed(start)),
            (start, end) if start < end => Some(HostPort::Range { start, end }),
            _ => None,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::syntax::parse_ports;
    use std::net::Ipv4Addr;

    fn short(specs: &[&str]) -> Result<Vec<PortBinding>, PortError> {
        let ports: Vec<PortConfig> = specs
            .iter()
            .flat_map(|spec| parse_ports(spec).unwrap())
            .collect();
        service_ports("web", &ports)
    }

    fn bind(host_ip: Option<[u8; 4]>, host_port: HostPort, target: u16, tcp: bool) -> PortBinding {
        PortBinding {
            host_ip: host_ip.map(|ip| IpAddr::V4(Ipv4Addr::from(ip))),
            host_port,
            target,
            protocol: if tcp { Protocol::Tcp } else { Protocol::Udp },
        }
    }

    fn long(published: Option<&str>, host_ip: Option<&str>, protocol: &str) -> PortConfig {
        PortConfig {
            target: 80,
            published: published.map(str::to_owned),
            host_ip: host_ip.map(str::to_owned),
            protocol: protocol.to_owned(),
            ..PortConfig::default()
        }
    }

    #[test]
    fn short_syntax_becomes_bindings_in_order() {
        assert_eq!(
            short(&[
                "8080:80",
                "53/udp",
                "127.0.0.1:9000:90/tcp",
                "0.0.0.0:8443:443"
            ])
            .unwrap(),
            vec![
                bind(None, HostPort::Fixed(8080), 80, true),
                bind(None, HostPort::Ephemeral, 53, false),
                bind(Some([127, 0, 0, 1]), HostPort::Fixed(9000), 90, true),
                bind(Some([0, 0, 0, 0]), HostPort::Fixed(8443), 443, true),
            ]
        );
    }

    #[test]
    fn a_host_range_for_one_container_port_is_any_port_of_it() {
        assert_eq!(
            short(&["127.0.0.1:8000-8010:80/udp", "7000-7000:70"]).unwrap(),
            vec![
                bind(
                    Some([127, 0, 0, 1]),
                    HostPort::Range {
                        start: 8000,
                        end: 8010
                    },
                    80,
                    false
                ),
                bind(None, HostPort::Fixed(7000), 70, true),
            ]
        );
    }

    #[test]
    fn paired_ranges_publish_each_port_on_its_own_host_port() {
        assert_eq!(
            short(&["8000-8002:80-82", "90-91"]).unwrap(),
            vec![
                bind(None, HostPort::Fixed(8000), 80, true),
                bind(None, HostPort::Fixed(8001), 81, true),
                bind(None, HostPort::Fixed(8002), 82, true),
                bind(None, HostPort::Ephemeral, 90, true),
                bind(None, HostPort::Ephemeral, 91, true),
            ]
        );
    }

    #[test]
    fn long_syntax_published_ranges_and_protocols() {
        let ports = [
            long(Some("8000-8010"), None, "tcp"),
            long(Some("8080"), Some("10.0.0.1"), "UDP"),
            long(None, None, "udp"),
            long(Some(""), None, "tcp"),
        ];
        assert_eq!(
            service_ports("web", &ports).unwrap(),
            vec![
                bind(
                    None,
                    HostPort::Range {
                        start: 8000,
                        end: 8010
                    },
                    80,
                    true
                ),
                bind(Some([10, 0, 0, 1]), HostPort::Fixed(8080), 80, false),
                bind(None, HostPort::Ephemeral, 80, false),
                bind(None, HostPort::Ephemeral, 80, true),
            ]
        );
    }

    #[test]
    fn sctp_is_refused() {
        let error = short(&["8080:80", "9000:90/sctp"]).unwrap_err();
        assert_eq!(
            error,
            PortError::Sctp {
                service: "web".into(),
                target: 90
            }
        );
        assert_eq!(
            error.to_string(),
            "service \"web\": port 90/sctp can't be published: rcompose publishes tcp and udp \
             ports only; use one of them"
        );
    }

    #[test]
    fn ipv6_host_addresses_are_refused() {
        for spec in ["[::1]:8080:80", "[::]:8080:80"] {
            let error = short(&[spec]).unwrap_err();
            assert!(
                matches!(error, PortError::Ipv6 { target: 80, .. }),
                "{spec}"
            );
        }
        let error = service_ports("web", &[long(Some("8080"), Some("::"), "udp")]).unwrap_err();
        assert_eq!(
            error.to_string(),
            "service \"web\": port 80/udp: host_ip \"::\": IPv6 is not supported yet; use an \
             IPv4 address such as 0.0.0.0 or 127.0.0.1, or leave host_ip out"
        );
    }

    #[test]
    fn entries_the_loader_did_not_check_are_errors_not_panics() {
        let cases = [
            (
                long(Some("http"), None, "tcp"),
                "service \"web\": port 80/tcp: published \"http\" is not a host port: expected \
                 a port from 1 to 65535 or a range such as 8000-8010",
            ),
            (
                long(Some("9000-8000"), None, "tcp"),
                "service \"web\": port 80/tcp: published \"9000-8000\" is not a host port: \
                 expected a port from 1 to 65535 or a range such as 8000-8010",
            ),
            (
                long(Some("0"), None, "udp"),
                "service \"web\": port 80/udp: published \"0\" is not a host port: expected a \
                 port from 1 to 65535 or a range such as 8000-8010",
            ),
            (
                long(Some("+80"), None, "tcp"),
                "service \"web\": port 80/tcp: published \"+80\" is not a host port: expected \
                 a port from 1 to 65535 or a range such as 8000-8010",
            ),
            (
                long(None, Some("localhost"), "tcp"),
                "service \"web\": port 80/tcp: host_ip \"localhost\" is not an IP address, e.g. \
                 127.0.0.1",
            ),
            (
                long(None, None, "icmp"),
                "service \"web\": port 80 has protocol \"icmp\": expected tcp or udp",
            ),
            (
                PortConfig::default(),
                "service \"web\": a published port needs a container port from 1 to 65535",
            ),
        ];
        for (port, message) in cases {
            let error = service_ports("web", &[port]).unwrap_err();
            assert_eq!(error.to_string(), message);
        }
    }

    #[test]
    fn protocols_serialize_and_display_lowercase() {
        assert_eq!(Protocol::Tcp.to_string(), "tcp");
        assert_eq!(Protocol::Udp.to_string(), "udp");
        assert_eq!(
            serde_json::to_string(&[Protocol::Tcp, Protocol::Udp]).unwrap(),
            r#"["tcp","udp"]"#
        );
    }
}
