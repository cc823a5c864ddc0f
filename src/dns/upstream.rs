//! The resolvers names are forwarded to: the host's, from its resolv.conf.
//!
//! The server runs in the engine, in the host's network namespace, so every resolver the
//! host itself uses is reachable, loopback ones included (a local dnsmasq or unbound).
//! The one exception to taking resolv.conf as it is: systemd-resolved's stub
//! (127.0.0.53, or 127.0.0.54) is replaced by the servers it forwards to, from
//! /run/systemd/resolve/resolv.conf, when that file lists any.

use super::message::{Message, Query, Rcode};
use super::server::Transport;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};

/// The host's resolver configuration.
pub const RESOLV_CONF: &str = "/etc/resolv.conf";
/// systemd-resolved's list of the servers behind its stub.
pub const SYSTEMD_RESOLV_CONF: &str = "/run/systemd/resolve/resolv.conf";
/// How long one upstream server has to answer: short enough that trying two of them
/// stays under a querier's own timeout (5 s for glibc and musl).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(2);
/// systemd-resolved's stub addresses.
const SYSTEMD_STUBS: [Ipv4Addr; 2] = [Ipv4Addr::new(127, 0, 0, 53), Ipv4Addr::new(127, 0, 0, 54)];

/// The host's resolvers could not be read.
#[derive(Debug, thiserror::Error)]
#[error(
    "cannot read the host's DNS resolvers from {}; containers will not resolve names \
     outside the project until it can be read",
    path.display()
)]
pub struct UpstreamError {
    /// The file.
    pub path: PathBuf,
    /// Why.
    #[source]
    pub source: io::Error,
}

/// The upstream resolvers, tried in order, each for at most `timeout`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Upstreams {
    servers: Vec<SocketAddr>,
    timeout: Duration,
}

impl Upstreams {
    /// These servers (port 53 for real ones; tests use others).
    pub fn new(servers: Vec<SocketAddr>, timeout: Duration) -> Upstreams {
        Upstreams { servers, timeout }
    }

    /// The host's resolvers, from [`RESOLV_CONF`] (and [`SYSTEMD_RESOLV_CONF`] behind
    /// systemd-resolved's stub), with [`DEFAULT_TIMEOUT`].
    pub fn from_host() -> Result<Upstreams, UpstreamError> {
        let read = |path: &str| {
            std::fs::read_to_string(path).map_err(|source| UpstreamError {
                path: Path::new(path).to_owned(),
                source,
            })
        };
        let host = read(RESOLV_CONF)?;
        // Absent unless systemd-resolved runs: then the stub, if listed, stays.
        let systemd = read(SYSTEMD_RESOLV_CONF).ok();
        let servers = host_nameservers(&host, systemd.as_deref())
            .into_iter()
            .map(|ip| SocketAddr::new(ip, 53))
            .collect();
        Ok(Upstreams::new(servers, DEFAULT_TIMEOUT))
    }

    /// The servers, in the order they are tried.
    pub fn servers(&self) -> &[SocketAddr] {
        &self.servers
    }

    /// Sends `request` (the bytes of `query`, as the querier sent them, so its id and
    /// EDNS options go through) to each server in turn until one answers it; a server's
    /// SERVFAIL, NOTIMP or REFUSED moves on to the next one and is returned only when
    /// no other answers. `None` when none answered at all.
    pub(super) async fn forward(
        &self,
        query: &Query,
        request: &[u8],
        transport: Transport,
    ) -> Option<Vec<u8>> {
        let mut refusal = None;
        for &server in &self.servers {
            let exchange = async {
                match transport {
                    Transport::Udp => exchange_udp(server, query, request).await,
                    Transport::Tcp => exchange_tcp(server, query, request).await,
                }
            };
            let Ok(Ok(reply)) = tokio::time::timeout(self.timeout, exchange).await else {
                continue;
            };
            let rcode = reply.get(3).map_or(0, |flags| u16::from(flags & 0xF));
            let retry = [Rcode::ServFail, Rcode::NotImp, Rcode::Refused];
            if retry.iter().any(|r| r.value() == rcode) {
                refusal = Some(reply);
            } else {
                return Some(reply);
            }
        }
        refusal
    }
}

/// The nameservers of a resolv.conf, in order. Addresses with a zone (`fe80::1%eth0`)
/// are left out: a socket address needs the interface's index, not its name.
pub fn nameservers(resolv_conf: &str) -> Vec<IpAddr> {
    resolv_conf
        .lines()
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            match (words.next(), words.next()) {
                (Some("nameserver"), Some(address)) => address.parse().ok(),
                _ => None,
            }
        })
        .collect()
}

/// The host's nameservers: those of its resolv.conf, systemd-resolved's stub replaced by
/// the servers of `systemd` (its own resolv.conf) when it lists any. No repeats.
pub fn host_nameservers(host: &str, systemd: Option<&str>) -> Vec<IpAddr> {
    let behind_stub = systemd.map(nameservers).unwrap_or_default();
    let mut servers = Vec::new();
    for server in nameservers(host) {
        let is_stub = matches!(server, IpAddr::V4(v4) if SYSTEMD_STUBS.contains(&v4));
        let replacement = if is_stub && !behind_stub.is_empty() {
            behind_stub.clone()
        } else {
            vec![server]
        };
        for server in replacement {
            if !servers.contains(&server) {
                servers.push(server);
            }
        }
    }
    servers
}

/// Whether `reply` is the answer to `query`: a response with its id and its question
/// (names compared without case), or an error response without a question.
fn answers(query: &Query, reply: &[u8]) -> bool {
    let Ok(message) = Message::parse(reply) else {
        return false;
    };
    let header = message.header;
    let same_question = match message.questions.as_slice() {
        [question] => {
            question.qtype == query.question.qtype
                && question.qclass == query.question.qclass
                && question.name.eq_ignore_case(&query.question.name)
        }
        [] => header.rcode != 0,
        _ => false,
    };
    header.response && header.id == query.id && same_question
}

/// One query over UDP, from a fresh socket on a random port connected to the server
/// (only its datagrams are received); datagrams that don't answer the query are skipped.
async fn exchange_udp(server: SocketAddr, query: &Query, request: &[u8]) -> io::Result<Vec<u8>> {
    let any: IpAddr = match server {
        SocketAddr::V4(_) => Ipv4Addr::UNSPECIFIED.into(),
        SocketAddr::V6(_) => Ipv6Addr::UNSPECIFIED.into(),
    };
    let socket = UdpSocket::bind(SocketAddr::new(any, 0)).await?;
    socket.connect(server).await?;
    socket.send(request).await?;
    let mut buffer = vec![0; 65_535];
    loop {
        let len = socket.recv(&mut buffer).await?;
        let reply = buffer.get(..len).unwrap_or_default();
        if answers(query, reply) {
            return Ok(reply.to_vec());
        }
    }
}

/// One query over TCP (two-byte length, then the message, both ways).
async fn exchange_tcp(server: SocketAddr, query: &Query, request: &[u8]) -> io::Result<Vec<u8>> {
    let mut stream = TcpStream::connect(server).await?;
    let len = u16::try_from(request.len())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "query too long"))?;
    let mut framed = Vec::with_capacity(2 + request.len());
    framed.extend_from_slice(&len.to_be_bytes());
    framed.extend_from_slice(request);
    stream.write_all(&framed).await?;
    let mut len = [0; 2];
    stream.read_exact(&mut len).await?;
    let mut reply = vec![0; usize::from(u16::from_be_bytes(len))];
    stream.read_exact(&mut reply).await?;
    if answers(query, &reply) {
        Ok(reply)
    } else {
        Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "the upstream server's reply does not answer the query",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nameservers_in_order_without_comments_options_or_zones() {
        let conf = "# generated\n\
                    search example.org\n\
                    nameserver 10.0.0.2\n\
                    ; nameserver 10.0.0.9\n\
                    options ndots:2 timeout:1\n\
                    nameserver   2001:db8::53  \n\
                    nameserver fe80::1%eth0\n\
                    nameserver not-an-address\n\
                    nameserver\n\
                    \tnameserver 192.0.2.1 trailing words\n";
        assert_eq!(
            nameservers(conf),
            [
                IpAddr::from([10, 0, 0, 2]),
                "2001:db8::53".parse::<IpAddr>().unwrap(),
                IpAddr::from([192, 0, 2, 1]),
            ]
        );
    }

    #[test]
    fn systemd_stub_replaced_by_its_servers() {
        let host = "nameserver 127.0.0.53\noptions edns0 trust-ad\nsearch .\n";
        let systemd = "nameserver 192.0.2.10\nnameserver 192.0.2.11\n";
        assert_eq!(
            host_nameservers(host, Some(systemd)),
            [IpAddr::from([192, 0, 2, 10]), IpAddr::from([192, 0, 2, 11])]
        );
    }

    #[test]
    fn systemd_stub_kept_when_its_servers_are_unknown() {
        let host = "nameserver 127.0.0.53\n";
        assert_eq!(
            host_nameservers(host, None),
            [IpAddr::from([127, 0, 0, 53])]
        );
        assert_eq!(
            host_nameservers(host, Some("# no servers\n")),
            [IpAddr::from([127, 0, 0, 53])]
        );
    }

    #[test]
    fn other_servers_kept_around_the_stub_without_repeats() {
        let host = "nameserver 127.0.0.1\nnameserver 127.0.0.54\nnameserver 192.0.2.10\n";
        let systemd = "nameserver 192.0.2.10\nnameserver 192.0.2.20\n";
        assert_eq!(
            host_nameservers(host, Some(systemd)),
            [
                IpAddr::from([127, 0, 0, 1]),
                IpAddr::from([192, 0, 2, 10]),
                IpAddr::from([192, 0, 2, 20]),
            ]
        );
    }
}
