//! The server: a UDP and a TCP listener per network (on its gateway address, port 53),
//! answering from the shared [`Records`] for that network's queriers and forwarding
//! other names upstream (never from internal networks).
//!
//! Local answers are made in the listener's task, from a snapshot of the records; a
//! forwarded query gets its own task (at most [`MAX_FORWARDS`] at once per listener),
//! so a slow upstream never holds up local names.

use super::message::{error_reply, Answer, Query, Rcode, TCP_LIMIT};
use super::records::{Records, Resolution, SharedRecords};
use super::upstream::Upstreams;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::task::{JoinHandle, JoinSet};

/// The DNS port.
pub const PORT: u16 = 53;
/// Forwarded queries in flight per UDP listener; beyond, queries get SERVFAIL at once.
pub const MAX_FORWARDS: usize = 512;
/// Open TCP connections per listener; beyond, new ones are closed at once.
pub const MAX_TCP_CONNECTIONS: usize = 128;
/// How long a TCP connection may stay silent (RFC 7766 suggests seconds).
pub const TCP_IDLE: Duration = Duration::from_secs(10);
/// How long to wait before accepting again after `accept` failed (out of descriptors).
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

/// How a query came.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transport {
    /// A datagram: replies are cut to the querier's limit.
    Udp,
    /// A TCP connection: replies up to 64 KiB.
    Tcp,
}

/// A listener could not be started.
#[derive(Debug, thiserror::Error)]
#[error(
    "cannot answer DNS queries of network {network} on {address} ({transport}): is another \
     DNS server (dnsmasq, systemd-resolved) listening there, or is the address not on the \
     network's bridge?"
)]
pub struct DnsError {
    /// The network.
    pub network: String,
    /// The address.
    pub address: SocketAddr,
    /// `udp` or `tcp`.
    pub transport: &'static str,
    /// Why.
    #[source]
    pub source: io::Error,
}

/// The server: the records and the upstream resolvers its listeners share.
#[derive(Clone, Debug)]
pub struct DnsServer {
    records: SharedRecords,
    upstreams: Arc<Upstreams>,
}

/// What to do with a request.
#[derive(Debug, PartialEq, Eq)]
enum Action {
    /// Send this reply.
    Reply(Vec<u8>),
    /// Ask upstream.
    Forward(Query),
    /// Say nothing (a response, or fewer bytes than a header).
    Ignore,
}

/// The answer to `request`, from `records` for `querier` on `network`.
fn respond(
    records: &Records,
    network: &str,
    querier: IpAddr,
    request: &[u8],
    transport: Transport,
    can_forward: bool,
) -> Action {
    let query = match Query::parse(request) {
        Ok(query) => query,
        Err(error) => {
            return error
                .rcode()
                .and_then(|rcode| error_reply(request, rcode))
                .map_or(Action::Ignore, Action::Reply)
        }
    };
    let limit = match transport {
        Transport::Udp => query.udp_limit(),
        Transport::Tcp => TCP_LIMIT,
    };
    let reply = |rcode, answers: &[Answer]| Action::Reply(query.reply(rcode, answers, limit));
    if query.edns.is_some_and(|edns| edns.version != 0) {
        return reply(Rcode::BadVers, &[]);
    }
    match records.resolve(network, querier, &query.question) {
        Resolution::Addresses(addresses) => {
            let answers: Vec<Answer> = addresses.into_iter().map(Answer::A).collect();
            reply(Rcode::NoError, &answers)
        }
        Resolution::NoData => reply(Rcode::NoError, &[]),
        Resolution::Pointer(name) => reply(Rcode::NoError, &[Answer::Ptr(name)]),
        Resolution::Unknown { forward: true } if can_forward => Action::Forward(query),
        Resolution::Unknown { forward: true } => reply(Rcode::ServFail, &[]),
        Resolution::Unknown { forward: false } => reply(Rcode::NxDomain, &[]),
        Resolution::Refused => reply(Rcode::Refused, &[]),
    }
}

impl DnsServer {
    /// A server answering from `records` (which the engine keeps changing) and
    /// forwarding to `upstreams`.
    pub fn new(records: SharedRecords, upstreams: Upstreams) -> DnsServer {
        DnsServer {
            records,
            upstreams: Arc::new(upstreams),
        }
    }

    /// Starts answering the queries of `network` on `address` (its gateway, port
    /// [`PORT`]; port 0 picks free ports, one for UDP and one for TCP), until the
    /// returned listener is stopped or dropped.
    pub async fn listen(&self, network: &str, address: SocketAddr) -> Result<Listener, DnsError> {
        let failed = |transport, source| DnsError {
            network: network.to_owned(),
            address,
            transport,
            source,
        };
        let udp = UdpSocket::bind(address)
            .await
            .map_err(|e| failed("udp", e))?;
        let tcp = TcpListener::bind(address)
            .await
            .map_err(|e| failed("tcp", e))?;
        let udp_address = udp.local_addr().map_err(|e| failed("udp", e))?;
        let tcp_address = tcp.local_addr().map_err(|e| failed("tcp", e))?;
        let network: Arc<str> = Arc::from(network);
        let tasks = vec![
            tokio::spawn(self.clone().serve_udp(udp, Arc::clone(&network))),
            tokio::spawn(self.clone().serve_tcp(tcp, network)),
        ];
        Ok(Listener {
            udp_address,
            tcp_address,
            tasks,
        })
    }

    fn respond(
        &self,
        network: &str,
        querier: IpAddr,
        request: &[u8],
        transport: Transport,
    ) -> Action {
        let can_forward = !self.upstreams.servers().is_empty();
        let records = self.records.snapshot();
        respond(&records, network, querier, request, transport, can_forward)
    }

    async fn serve_udp(self, socket: UdpSocket, network: Arc<str>) {
        let mut buffer = vec![0; 65_535];
        // Dropped with this task: forwarded queries end with the listener.
        let mut forwards = JoinSet::new();
        loop {
            tokio::select! {
                received = socket.recv_from(&mut buffer) => {
                    let Ok((len, peer)) = received else {
                        tokio::time::sleep(ACCEPT_BACKOFF).await;
                        continue;
                    };
                    let request = buffer.get(..len).unwrap_or_default();
                    match self.respond(&network, peer.ip(), request, Transport::Udp) {
                        Action::Reply(reply) => {
                            // Best effort, as UDP is: a querier that is gone asks again.
                            let _ = socket.send_to(&reply, peer).await;
                        }
                        Action::Forward(query) if forwards.len() >= MAX_FORWARDS => {
                            let reply = query.reply(Rcode::ServFail, &[], query.udp_limit());
                            let _ = socket.send_to(&reply, peer).await;
                        }
                        Action::Forward(query) => {
                            let upstreams = Arc::clone(&self.upstreams);
                            let request = request.to_vec();
                            forwards.spawn(async move {
                                let reply = upstreams
                                    .forward(&query, &request, Transport::Udp)
                                    .await
                                    .unwrap_or_else(|| {
                                        query.reply(Rcode::ServFail, &[], query.udp_limit())
                                    });
                                (reply, peer)
                            });
                        }
                        Action::Ignore => {}
                    }
                }
                Some(done) = forwards.join_next() => {
                    if let Ok((reply, peer)) = done {
                        let _ = socket.send_to(&reply, peer).await;
                    }
                }
            }
        }
    }

    async fn serve_tcp(self, listener: TcpListener, network: Arc<str>) {
        // Dropped with this task: connections end with the listener.
        let mut connections = JoinSet::new();
        loop {
            tokio::select! {
                accepted = listener.accept() => {
                    let Ok((stream, peer)) = accepted else {
                        tokio::time::sleep(ACCEPT_BACKOFF).await;
                        continue;
                    };
                    if connections.len() < MAX_TCP_CONNECTIONS {
                        let server = self.clone();
                        let network = Arc::clone(&network);
                        connections.spawn(async move {
                            server.serve_connection(stream, peer.ip(), &network).await;
                        });
                    }
                }
                Some(_) = connections.join_next() => {}
            }
        }
    }

    /// Answers the queries of one connection, one after the other, until it closes,
    /// stays idle for [`TCP_IDLE`] or sends something unanswerable.
    async fn serve_connection(&self, mut stream: TcpStream, querier: IpAddr, network: &str) {
        loop {
            let mut len = [0; 2];
            if !matches!(
                tokio::time::timeout(TCP_IDLE, stream.read_exact(&mut len)).await,
                Ok(Ok(_))
            ) {
                return;
            }
            let mut request = vec![0; usize::from(u16::from_be_bytes(len))];
            if !matches!(
                tokio::time::timeout(TCP_IDLE, stream.read_exact(&mut request)).await,
                Ok(Ok(_))
            ) {
                return;
            }
            let reply = match self.respond(network, querier, &request, Transport::Tcp) {
                Action::Reply(reply) => reply,
                Action::Forward(query) => self
                    .upstreams
                    .forward(&query, &request, Transport::Tcp)
                    .await
                    .unwrap_or_else(|| query.reply(Rcode::ServFail, &[], TCP_LIMIT)),
                Action::Ignore => return,
            };
            let Ok(len) = u16::try_from(reply.len()) else {
                return;
            };
            let mut framed = Vec::with_capacity(2 + reply.len());
            framed.extend_from_slice(&len.to_be_bytes());
            framed.extend_from_slice(&reply);
            if !matches!(
                tokio::time::timeout(TCP_IDLE, stream.write_all(&framed)).await,
                Ok(Ok(()))
            ) {
                return;
            }
        }
    }
}

/// A network's running listeners (UDP and TCP); dropping it stops them too, but only
/// [`Listener::stop`] waits until their sockets are closed.
#[derive(Debug)]
pub struct Listener {
    udp_address: SocketAddr,
    tcp_address: SocketAddr,
    tasks: Vec<JoinHandle<()>>,
}

impl Listener {
    /// Where the UDP listener is bound.
    pub fn udp_address(&self) -> SocketAddr {
        self.udp_address
    }

    /// Where the TCP listener is bound.
    pub fn tcp_address(&self) -> SocketAddr {
        self.tcp_address
    }

    /// Stops answering; when this returns, both sockets are closed (the address can be
    /// bound again) and every query in progress is abandoned.
    pub async fn stop(mut self) {
        let tasks = std::mem::take(&mut self.tasks);
        for task in &tasks {
            task.abort();
        }
        for task in tasks {
            // Cancelled: the only outcome, and the one awaited.
            let _ = task.await;
        }
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dns::message::{Message, Name, Rdata, RecordType};
    use crate::dns::records::Endpoint;
    use std::net::Ipv4Addr;
    use std::sync::atomic::{AtomicUsize, Ordering};

    const WAIT: Duration = Duration::from_secs(5);
    const LOCALHOST: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);
    /// What the fake upstream answers for every A question.
    const UPSTREAM_ANSWER: Ipv4Addr = Ipv4Addr::new(203, 0, 113, 7);

    fn query(id: u16, name: &str, qtype: RecordType) -> Vec<u8> {
        let mut bytes = id.to_be_bytes().to_vec();
        bytes.extend_from_slice(&[1, 0, 0, 1, 0, 0, 0, 0, 0, 0]);
        bytes.extend_from_slice(Name::from_dotted(name).unwrap().wire());
        bytes.extend_from_slice(&qtype.0.to_be_bytes());
        bytes.extend_from_slice(&[0, 1]);
        bytes
    }

    fn a(id: u16, name: &str) -> Vec<u8> {
        query(id, name, RecordType::A)
    }

    fn endpoint(container: &str, address: Ipv4Addr, name: &str, aliases: &[&str]) -> Endpoint {
        Endpoint {
            container: container.into(),
            address,
            name: name.into(),
            aliases: aliases.iter().map(|a| a.to_string()).collect(),
        }
    }

    /// `front`: web (two replicas); `back` (internal): cache. `db` is on both, at
    /// 127.0.0.1 on front: the tests' queries come from it.
    fn records() -> SharedRecords {
        let shared = SharedRecords::new();
        shared
            .update(|records| {
                records.set_network("front", false);
                records.set_network("back", true);
                let web1 = endpoint("c1", [10, 0, 0, 2].into(), "p-web-1", &["web"]);
                records.add("front", web1)?;
                let web2 = endpoint("c2", [10, 0, 0, 3].into(), "p-web-2", &["web"]);
                records.add("front", web2)?;
                records.add(
                    "front",
                    endpoint("c3", Ipv4Addr::LOCALHOST, "p-db-1", &["db"]),
                )?;
                records.add(
                    "back",
                    endpoint("c3", [10, 1, 0, 2].into(), "p-db-1", &["db"]),
                )?;
                records.add(
                    "back",
                    endpoint("c4", [10, 1, 0, 3].into(), "p-cache-1", &["cache"]),
                )
            })
            .unwrap();
        shared
    }

    fn rcode(reply: &[u8]) -> u8 {
        reply[3] & 0xF
    }

    fn addresses(reply: &[u8]) -> Vec<[u8; 4]> {
        let message = Message::parse(reply).unwrap();
        message
            .answers
            .iter()
            .map(|record| match record.data {
                Rdata::A(address) => address.octets(),
                ref other => panic!("not an address: {other:?}"),
            })
            .collect()
    }

    async fn ask_udp(server: SocketAddr, request: &[u8]) -> Vec<u8> {
        let socket = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap();
        socket.send_to(request, server).await.unwrap();
        let mut buffer = vec![0; 65_535];
        let (len, from) = tokio::time::timeout(WAIT, socket.recv_from(&mut buffer))
            .await
            .expect("no reply in time")
            .unwrap();
        assert_eq!(from, server);
        buffer.truncate(len);
        buffer
    }

    /// Several queries, one after the other on one connection.
    async fn ask_tcp(server: SocketAddr, requests: &[Vec<u8>]) -> Vec<Vec<u8>> {
        let mut stream = TcpStream::connect(server).await.unwrap();
        let mut replies = Vec::new();
        for request in requests {
            stream
                .write_all(&(request.len() as u16).to_be_bytes())
                .await
                .unwrap();
            stream.write_all(request).await.unwrap();
            let mut len = [0; 2];
            tokio::time::timeout(WAIT, stream.read_exact(&mut len))
                .await
                .expect("no reply in time")
                .unwrap();
            let mut reply = vec![0; usize::from(u16::from_be_bytes(len))];
            stream.read_exact(&mut reply).await.unwrap();
            replies.push(reply);
        }
        replies
    }

    /// A resolver on 127.0.0.1 answering every A question with [`UPSTREAM_ANSWER`]
    /// (UDP and TCP on one port), counting the queries it gets.
    struct FakeUpstream {
        address: SocketAddr,
        queries: Arc<AtomicUsize>,
        tasks: Vec<JoinHandle<()>>,
    }

    impl Drop for FakeUpstream {
        fn drop(&mut self) {
            self.tasks.iter().for_each(JoinHandle::abort);
        }
    }

    fn upstream_reply(request: &[u8]) -> Vec<u8> {
        let query = Query::parse(request).unwrap();
        let answers = [Answer::A(UPSTREAM_ANSWER)];
        query.reply(Rcode::NoError, &answers, TCP_LIMIT)
    }

    async fn fake_upstream() -> FakeUpstream {
        let (udp, tcp) = loop {
            let udp = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap();
            let port = udp.local_addr().unwrap().port();
            if let Ok(tcp) = TcpListener::bind((Ipv4Addr::LOCALHOST, port)).await {
                break (udp, tcp);
            }
        };
        let address = udp.local_addr().unwrap();
        let queries = Arc::new(AtomicUsize::new(0));
        let counted = Arc::clone(&queries);
        let udp_task = tokio::spawn(async move {
            let mut buffer = vec![0; 65_535];
            while let Ok((len, peer)) = udp.recv_from(&mut buffer).await {
                counted.fetch_add(1, Ordering::SeqCst);
                let reply = upstream_reply(&buffer[..len]);
                udp.send_to(&reply, peer).await.unwrap();
            }
        });
        let counted = Arc::clone(&queries);
        let tcp_task = tokio::spawn(async move {
            while let Ok((mut stream, _)) = tcp.accept().await {
                counted.fetch_add(1, Ordering::SeqCst);
                let mut len = [0; 2];
                stream.read_exact(&mut len).await.unwrap();
                let mut request = vec![0; usize::from(u16::from_be_bytes(len))];
                stream.read_exact(&mut request).await.unwrap();
                let reply = upstream_reply(&request);
                stream
                    .write_all(&(reply.len() as u16).to_be_bytes())
                    .await
                    .unwrap();
                stream.write_all(&reply).await.unwrap();
            }
        });
        FakeUpstream {
            address,
            queries,
            tasks: vec![udp_task, tcp_task],
        }
    }

    async fn server(records: SharedRecords, upstreams: Vec<SocketAddr>) -> Listener {
        let upstreams = Upstreams::new(upstreams, Duration::from_millis(300));
        DnsServer::new(records, upstreams)
            .listen("front", (Ipv4Addr::LOCALHOST, 0).into())
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn answers_replicas_over_udp_rotating() {
        let listener = server(records(), vec![]).await;
        let first = ask_udp(listener.udp_address(), &a(7, "WEB")).await;
        assert_eq!(first[..4], [0, 7, 0x85, 0x80]);
        assert_eq!(addresses(&first), [[10, 0, 0, 2], [10, 0, 0, 3]]);
        let second = ask_udp(listener.udp_address(), &a(8, "web")).await;
        assert_eq!(addresses(&second), [[10, 0, 0, 3], [10, 0, 0, 2]]);
        let empty = ask_udp(listener.udp_address(), &query(9, "web", RecordType::AAAA)).await;
        assert_eq!((rcode(&empty), addresses(&empty).len()), (0, 0));
        let ptr = ask_udp(
            listener.udp_address(),
            &query(10, "3.0.0.10.in-addr.arpa", RecordType::PTR),
        )
        .await;
        let answers = Message::parse(&ptr).unwrap().answers;
        assert_eq!(answers.len(), 1);
        assert_eq!(
            answers[0].data,
            Rdata::Name(Name::from_dotted("p-web-2").unwrap())
        );
        listener.stop().await;
    }

    #[tokio::test]
    async fn answers_over_tcp_several_queries_per_connection() {
        let listener = server(records(), vec![]).await;
        let replies = ask_tcp(
            listener.tcp_address(),
            &[a(1, "web"), a(2, "p-web-1"), a(3, "nothing.invalid")],
        )
        .await;
        assert_eq!(addresses(&replies[0]), [[10, 0, 0, 2], [10, 0, 0, 3]]);
        assert_eq!(addresses(&replies[1]), [[10, 0, 0, 2]]);
        // Unknown, and no upstream to ask.
        assert_eq!(replies[2][..4], [0, 3, 0x81, 0x82]);
        listener.stop().await;
    }

    #[tokio::test]
    async fn the_querier_sees_every_network_of_its_container() {
        // The queries come from 127.0.0.1, db's address on front: back's names are
        // seen; from another address they are not.
        let listener = server(records(), vec![]).await;
        let reply = ask_udp(listener.udp_address(), &a(1, "cache")).await;
        assert_eq!(addresses(&reply), [[10, 1, 0, 3]]);
        let other = UdpSocket::bind((Ipv4Addr::new(127, 0, 0, 2), 0))
            .await
            .unwrap();
        other
            .send_to(&a(2, "cache"), listener.udp_address())
            .await
            .unwrap();
        let mut buffer = [0; 512];
        let len = tokio::time::timeout(WAIT, other.recv(&mut buffer))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(rcode(&buffer[..len]), 2); // SERVFAIL: forwarded, no upstream
        listener.stop().await;
    }

    #[tokio::test]
    async fn changes_are_seen_at_once() {
        let shared = records();
        let listener = server(shared.clone(), vec![]).await;
        shared.update(|records| records.remove("c2"));
        let reply = ask_udp(listener.udp_address(), &a(1, "web")).await;
        assert_eq!(addresses(&reply), [[10, 0, 0, 2]]);
        shared.update(|records| records.remove("c1"));
        shared.update(|records| records.set_network("front", true));
        let reply = ask_udp(listener.udp_address(), &a(2, "web")).await;
        assert_eq!(reply[..4], [0, 2, 0x85, 0x83]); // NXDOMAIN
        listener.stop().await;
    }

    #[tokio::test]
    async fn forwards_other_names_over_udp_and_tcp() {
        let upstream = fake_upstream().await;
        let listener = server(records(), vec![upstream.address]).await;
        let request = a(0x4242, "example.com");
        let reply = ask_udp(listener.udp_address(), &request).await;
        assert_eq!(reply, upstream_reply(&request));
        assert_eq!(addresses(&reply), [UPSTREAM_ANSWER.octets()]);
        let replies = ask_tcp(listener.tcp_address(), &[request.clone(), a(5, "web")]).await;
        assert_eq!(replies[0], upstream_reply(&request));
        assert_eq!(addresses(&replies[1]), [[10, 0, 0, 2], [10, 0, 0, 3]]);
        // One UDP and one TCP query reached it; local names never do.
        assert_eq!(upstream.queries.load(Ordering::SeqCst), 2);
        listener.stop().await;
    }

    #[tokio::test]
    async fn internal_networks_never_forward() {
        let upstream = fake_upstream().await;
        let shared = records();
        let listener = DnsServer::new(shared, Upstreams::new(vec![upstream.address], WAIT))
            .listen("back", (Ipv4Addr::LOCALHOST, 0).into())
            .await
            .unwrap();
        let reply = ask_udp(listener.udp_address(), &a(1, "example.com")).await;
        assert_eq!(reply[..4], [0, 1, 0x85, 0x83]);
        let reply = ask_udp(listener.udp_address(), &a(2, "cache")).await;
        assert_eq!(addresses(&reply), [[10, 1, 0, 3]]);
        assert_eq!(upstream.queries.load(Ordering::SeqCst), 0);
        listener.stop().await;
    }

    #[tokio::test]
    async fn a_silent_upstream_is_skipped_then_servfail() {
        let silent = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap();
        let silent_address = silent.local_addr().unwrap();
        let upstream = fake_upstream().await;
        let listener = server(records(), vec![silent_address, upstream.address]).await;
        let reply = ask_udp(listener.udp_address(), &a(1, "example.com")).await;
        assert_eq!(addresses(&reply), [UPSTREAM_ANSWER.octets()]);
        listener.stop().await;
        let listener = server(records(), vec![silent_address]).await;
        let reply = ask_udp(listener.udp_address(), &a(2, "example.com")).await;
        let servfail = Query::parse(&a(2, "example.com"))
            .unwrap()
            .reply(Rcode::ServFail, &[], 512);
        assert_eq!(reply, servfail);
        listener.stop().await;
    }

    #[tokio::test]
    async fn stopping_frees_the_addresses() {
        let listener = server(records(), vec![]).await;
        let (udp, tcp) = (listener.udp_address(), listener.tcp_address());
        listener.stop().await;
        UdpSocket::bind(udp).await.unwrap();
        TcpListener::bind(tcp).await.unwrap();
    }

    #[tokio::test]
    async fn a_taken_address_is_a_clear_error() {
        let taken = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap();
        let address = taken.local_addr().unwrap();
        let error = DnsServer::new(records(), Upstreams::new(vec![], WAIT))
            .listen("front", address)
            .await
            .unwrap_err();
        assert_eq!((error.transport, error.address), ("udp", address));
        assert_eq!(error.source.kind(), io::ErrorKind::AddrInUse);
        assert!(error.to_string().starts_with(&format!(
            "cannot answer DNS queries of network front on {address} (udp)"
        )));
    }

    fn respond_front(request: &[u8], transport: Transport, can_forward: bool) -> Action {
        let records = records().snapshot();
        respond(
            &records,
            "front",
            LOCALHOST,
            request,
            transport,
            can_forward,
        )
    }

    #[test]
    fn unreadable_requests() {
        // A header announcing a question that is not there: FORMERR.
        let request = [0, 9, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0];
        assert_eq!(
            respond_front(&request, Transport::Udp, true),
            Action::Reply(vec![0, 9, 0x81, 0x81, 0, 0, 0, 0, 0, 0, 0, 0])
        );
        // Too short to answer; a response.
        assert_eq!(
            respond_front(&request[..5], Transport::Udp, true),
            Action::Ignore
        );
        let mut response = a(1, "web");
        response[2] |= 0x80;
        assert_eq!(
            respond_front(&response, Transport::Udp, true),
            Action::Ignore
        );
    }

    #[test]
    fn forwarding_decisions() {
        let request = a(1, "example.com");
        let query = Query::parse(&request).unwrap();
        assert_eq!(
            respond_front(&request, Transport::Udp, true),
            Action::Forward(query.clone())
        );
        assert_eq!(
            respond_front(&request, Transport::Udp, false),
            Action::Reply(query.reply(Rcode::ServFail, &[], 512))
        );
        let records = records().snapshot();
        assert_eq!(
            respond(&records, "gone", LOCALHOST, &request, Transport::Udp, true),
            Action::Reply(query.reply(Rcode::Refused, &[], 512))
        );
    }

    #[test]
    fn edns_version_other_than_0() {
        let mut request = a(1, "web");
        request[11] = 1;
        request.extend_from_slice(&[0, 0, 41, 0x10, 0, 0, 1, 0, 0, 0, 0]);
        let Action::Reply(reply) = respond_front(&request, Transport::Udp, true) else {
            panic!("no reply");
        };
        let message = Message::parse(&reply).unwrap();
        assert_eq!((message.header.rcode, message.answers.len()), (0, 0));
        assert_eq!(message.additionals[0].ttl >> 24, 1); // BADVERS = 16
    }

    #[test]
    fn udp_replies_cut_tcp_ones_whole() {
        let shared = SharedRecords::new();
        shared
            .update(|records| {
                records.set_network("front", false);
                (0..40u8).try_for_each(|i| {
                    let address = Ipv4Addr::new(10, 0, 1, i);
                    records.add(
                        "front",
                        endpoint(&format!("c{i}"), address, &format!("p-web-{i}"), &["web"]),
                    )
                })
            })
            .unwrap();
        let records = shared.snapshot();
        let request = a(1, "web");
        let count =
            |transport| match respond(&records, "front", LOCALHOST, &request, transport, true) {
                Action::Reply(reply) => (reply[2] & 0x02 != 0, addresses(&reply).len()),
                other => panic!("{other:?}"),
            };
        assert_eq!(count(Transport::Udp), (true, 30));
        assert_eq!(count(Transport::Tcp), (false, 40));
    }
}
