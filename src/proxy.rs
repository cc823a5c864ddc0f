//! The userspace proxy of a published port: one listener on the host, forwarding to the
//! containers that serve the port (its [`Backends`], which the engine keeps current as
//! replicas come and go), balanced round-robin.
//!
//! - TCP: each accepted connection goes to the next backend; a backend that does not
//!   accept within [`CONNECT_TIMEOUT`] is skipped (each is tried at most once), and when
//!   none accepts (or there is none) the connection is closed. Bytes are then copied both
//!   ways until both sides have finished (a half-close is passed on).
//! - UDP: each client address gets a session, a socket connected to the next backend;
//!   the backend's replies are sent back from the listening socket. A session ends after
//!   [`UDP_IDLE`] without a datagram either way, or when its backend is gone from the
//!   backends (the client's next datagram opens a session with a current one).
//!
//! Like Docker's `docker-proxy`, this needs no firewall rule and works for clients on
//! the host itself (127.0.0.1); it touches no kernel object but sockets. As with
//! `docker-proxy`, the containers see the host's address as the client's, not the
//! client's own.

use crate::plan::ports::{HostPort, Protocol};
use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::sync::{mpsc, oneshot};
use tokio::task::{JoinHandle, JoinSet};

/// How long a TCP backend may take to accept a connection before the next is tried.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// How long a UDP session lives without a datagram either way.
pub const UDP_IDLE: Duration = Duration::from_secs(60);
/// How long to wait before accepting or receiving again after a failure (such as being
/// out of file descriptors).
const RETRY_BACKOFF: Duration = Duration::from_millis(50);
/// Datagrams from a client waiting for its session to send them; more are dropped.
const SESSION_QUEUE: usize = 64;
/// The largest UDP payload.
const DATAGRAM_MAX: usize = 65_535;

/// A published port could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum ProxyError {
    /// Something else listens on the port.
    #[error(
        "host port {address} is already in use: stop the program that listens there (`ss \
         -lntup` shows it), or publish another host port"
    )]
    InUse { address: SocketAddr },
    /// Every port of a range is taken.
    #[error(
        "no free host port in {host_ip}:{start}-{end}/{protocol}: all are in use; free one, \
         or publish a wider range"
    )]
    RangeInUse {
        host_ip: IpAddr,
        start: u16,
        end: u16,
        protocol: Protocol,
    },
    /// The address is not one of the host's.
    #[error(
        "cannot listen on {address}: {ip} is not an address of this host; use one of its \
         addresses as host_ip, or 0.0.0.0 for all",
        ip = address.ip()
    )]
    NotLocal { address: SocketAddr },
    /// Any other failure to listen.
    #[error("cannot listen on {address}/{protocol} for a published port")]
    Bind {
        address: SocketAddr,
        protocol: Protocol,
        #[source]
        source: io::Error,
    },
}

/// The addresses a proxy forwards to, shared with whoever keeps them current; a clone
/// shares them. Readers take a snapshot (a pointer copy under a short lock).
#[derive(Clone, Debug, Default)]
pub struct Backends(Arc<RwLock<Arc<[SocketAddr]>>>);

impl Backends {
    /// Replaces the addresses; connections and sessions opened from now on use them.
    pub fn set(&self, addrs: Vec<SocketAddr>) {
        *self.0.write().unwrap_or_else(PoisonError::into_inner) = addrs.into();
    }

    /// The current addresses.
    pub fn get(&self) -> Vec<SocketAddr> {
        self.snapshot().to_vec()
    }

    fn snapshot(&self) -> Arc<[SocketAddr]> {
        Arc::clone(&self.0.read().unwrap_or_else(PoisonError::into_inner))
    }
}

/// One listening port, forwarding until [`Proxy::stop`]ped or dropped.
#[derive(Debug)]
pub struct Proxy {
    local_addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
}

impl Proxy {
    /// Binds `host_ip` and the port `port` says (Ephemeral: any; Range: the first free
    /// one of the range), TCP or UDP, and starts forwarding to `backends`.
    pub async fn bind(
        host_ip: IpAddr,
        port: &HostPort,
        protocol: Protocol,
        backends: Backends,
    ) -> Result<Proxy, ProxyError> {
        Proxy::bind_with(host_ip, port, protocol, backends, UDP_IDLE).await
    }

    async fn bind_with(
        host_ip: IpAddr,
        port: &HostPort,
        protocol: Protocol,
        backends: Backends,
        udp_idle: Duration,
    ) -> Result<Proxy, ProxyError> {
        let listener = match *port {
            HostPort::Ephemeral => Listener::bind(SocketAddr::new(host_ip, 0), protocol).await?,
            HostPort::Fixed(port) => {
                Listener::bind(SocketAddr::new(host_ip, port), protocol).await?
            }
            HostPort::Range { start, end } => {
                Listener::bind_range(host_ip, start, end, protocol).await?
            }
        };
        let local_addr = listener.local_addr().map_err(|source| ProxyError::Bind {
            address: SocketAddr::new(host_ip, 0),
            protocol,
            source,
        })?;
        let (stop, stopped) = oneshot::channel();
        let task = match listener {
            Listener::Tcp(listener) => tokio::spawn(serve_tcp(listener, backends, stopped)),
            Listener::Udp(socket) => {
                tokio::spawn(serve_udp(Arc::new(socket), backends, udp_idle, stopped))
            }
        };
        Ok(Proxy {
            local_addr,
            stop: Some(stop),
            task,
        })
    }

    /// Where it listens (with the port chosen).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Stops listening and ends its connections and sessions; when this returns, their
    /// sockets are closed (the port can be bound again).
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            // Err: the task has ended already, which is what is awaited next.
            let _ = stop.send(());
        }
        // Its only outcomes: finished, or cancelled by a panic in it (nothing to report).
        let _ = (&mut self.task).await;
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A bound socket.
enum Listener {
    Tcp(TcpListener),
    Udp(UdpSocket),
}

impl Listener {
    async fn bind(address: SocketAddr, protocol: Protocol) -> Result<Listener, ProxyError> {
        let bound = match protocol {
            Protocol::Tcp => TcpListener::bind(address).await.map(Listener::Tcp),
            Protocol::Udp => UdpSocket::bind(address).await.map(Listener::Udp),
        };
        bound.map_err(|source| match source.kind() {
            io::ErrorKind::AddrInUse => ProxyError::InUse { address },
            io::ErrorKind::AddrNotAvailable => ProxyError::NotLocal { address },
            _ => ProxyError::Bind {
                address,
                protocol,
                source,
            },
        })
    }

    async fn bind_range(
        host_ip: IpAddr,
        start: u16,
        end: u16,
        protocol: Protocol,
    ) -> Result<Listener, ProxyError> {
        for port in start..=end {
            match Listener::bind(SocketAddr::new(host_ip, port), protocol).await {
                Err(ProxyError::InUse { .. }) => continue,
                bound => return bound,
            }
        }
        Err(ProxyError::RangeInUse {
            host_ip,
            start,
            end,
            protocol,
        })
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        match self {
            Listener::Tcp(listener) => listener.local_addr(),
            Listener::Udp(socket) => socket.local_addr(),
        }
    }
}

async fn serve_tcp(listener: TcpListener, backends: Backends, mut stopped: oneshot::Receiver<()>) {
    let mut connections = JoinSet::new();
    let mut next = 0usize;
    loop {
        tokio::select! {
            _ = &mut stopped => break,
            accepted = listener.accept() => {
                let Ok((client, _)) = accepted else {
                    tokio::time::sleep(RETRY_BACKOFF).await;
                    continue;
                };
                connections.spawn(forward_connection(client, backends.snapshot(), next));
                next = next.wrapping_add(1);
            }
            Some(_) = connections.join_next() => {}
        }
    }
    drop(listener);
    connections.shutdown().await;
}

/// Connects to the backends from `first` on (each once) and copies both ways with the
/// first that accepts; closes `client` when none does.
async fn forward_connection(mut client: TcpStream, backends: Arc<[SocketAddr]>, first: usize) {
    let count = backends.len();
    for offset in 0..count {
        let Some(&backend) = backends.get(first.wrapping_add(offset) % count) else {
            continue;
        };
        if let Ok(Ok(mut upstream)) =
            tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(backend)).await
        {
            // Small writes are passed on as they come, as if there were no proxy.
            let _ = client.set_nodelay(true);
            let _ = upstream.set_nodelay(true);
            // An error ends the connection either way (a reset by one side, say).
            let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
            return;
        }
    }
}

/// A client's session, as the listener sees it.
struct Session {
    backend: SocketAddr,
    datagrams: mpsc::Sender<Vec<u8>>,
}

async fn serve_udp(
    socket: Arc<UdpSocket>,
    backends: Backends,
    idle: Duration,
    mut stopped: oneshot::Receiver<()>,
) {
    let mut sessions: HashMap<SocketAddr, Session> = HashMap::new();
    let mut tasks = JoinSet::new();
    let mut next = 0usize;
    let mut buffer = vec![0; DATAGRAM_MAX];
    loop {
        tokio::select! {
            _ = &mut stopped => break,
            received = socket.recv_from(&mut buffer) => {
                let Ok((len, client)) = received else {
                    tokio::time::sleep(RETRY_BACKOFF).await;
                    continue;
                };
                let datagram = buffer.get(..len).unwrap_or_default().to_vec();
                let current = backends.snapshot();
                let open = sessions.get(&client).filter(|session| {
                    !session.datagrams.is_closed() && current.contains(&session.backend)
                });
                let queue = match open {
                    Some(session) => session.datagrams.clone(),
                    None => {
                        let Some(&backend) = current.get(next % current.len().max(1)) else {
                            continue;
                        };
                        next = next.wrapping_add(1);
                        let Ok(upstream) = connect_udp(backend).await else {
                            continue;
                        };
                        let (queue, queued) = mpsc::channel(SESSION_QUEUE);
                        tasks.spawn(udp_session(
                            Arc::clone(&socket), client, upstream, queued, idle,
                        ));
                        // Replacing a session closes its queue, which ends it.
                        sessions.insert(client, Session { backend, datagrams: queue.clone() });
                        queue
                    }
                };
                // Full: dropped, as a congested network would.
                let _ = queue.try_send(datagram);
            }
            Some(ended) = tasks.join_next() => {
                if let Ok(client) = ended {
                    if sessions.get(&client).is_some_and(|s| s.datagrams.is_closed()) {
                        sessions.remove(&client);
                    }
                }
            }
        }
    }
    sessions.clear();
    tasks.shutdown().await;
}

/// A socket of the host's for `backend`'s replies, connected to it.
async fn connect_udp(backend: SocketAddr) -> io::Result<UdpSocket> {
    let any = match backend {
        SocketAddr::V4(_) => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        SocketAddr::V6(_) => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
    };
    let upstream = UdpSocket::bind(SocketAddr::new(any, 0)).await?;
    upstream.connect(backend).await?;
    Ok(upstream)
}

/// Sends `client`'s datagrams to the backend and its replies back from `listener`,
/// until `idle` passes without either or the queue is closed; returns `client`.
async fn udp_session(
    listener: Arc<UdpSocket>,
    client: SocketAddr,
    upstream: UdpSocket,
    mut datagrams: mpsc::Receiver<Vec<u8>>,
    idle: Duration,
) -> SocketAddr {
    let mut buffer = vec![0; DATAGRAM_MAX];
    loop {
        tokio::select! {
            datagram = datagrams.recv() => {
                let Some(datagram) = datagram else { break };
                // Best effort, as UDP is.
                let _ = upstream.send(&datagram).await;
            }
            reply = upstream.recv(&mut buffer) => {
                // An error is an ICMP message (nothing listens there yet): the client
                // may try again.
                if let Ok(len) = reply {
                    let _ = listener.send_to(buffer.get(..len).unwrap_or_default(), client).await;
                }
            }
            () = tokio::time::sleep(idle) => break,
        }
    }
    datagrams.close();
    client
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    const LOCALHOST: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);
    const WAIT: Duration = Duration::from_secs(5);

    /// A TCP server on 127.0.0.1 that writes `name` to each connection and closes it;
    /// it stops when the returned handle is dropped.
    async fn named_server(name: &'static str) -> (SocketAddr, JoinSet<()>) {
        let listener = TcpListener::bind((LOCALHOST, 0)).await.unwrap();
        let address = listener.local_addr().unwrap();
        let mut server = JoinSet::new();
        server.spawn(async move {
            loop {
                let (mut stream, _) = listener.accept().await.unwrap();
                stream.write_all(name.as_bytes()).await.unwrap();
            }
        });
        (address, server)
    }

    /// An address where nothing listens (bound, then closed).
    fn dead_address() -> SocketAddr {
        let listener = std::net::TcpListener::bind((LOCALHOST, 0)).unwrap();
        listener.local_addr().unwrap()
    }

    /// What a connection to `address` reads until the other side closes.
    async fn read_all(address: SocketAddr) -> String {
        let mut stream = TcpStream::connect(address).await.unwrap();
        let mut text = String::new();
        tokio::time::timeout(WAIT, stream.read_to_string(&mut text))
            .await
            .unwrap()
            .unwrap();
        text
    }

    async fn tcp_proxy(backends: &Backends) -> Proxy {
        Proxy::bind(
            LOCALHOST,
            &HostPort::Ephemeral,
            Protocol::Tcp,
            backends.clone(),
        )
        .await
        .unwrap()
    }

    #[tokio::test]
    async fn tcp_connections_are_balanced_round_robin() {
        let (a, _a) = named_server("a").await;
        let (b, _b) = named_server("b").await;
        let (c, _c) = named_server("c").await;
        let backends = Backends::default();
        backends.set(vec![a, b, c]);
        let proxy = tcp_proxy(&backends).await;
        assert_eq!(proxy.local_addr().ip(), LOCALHOST);
        assert_ne!(proxy.local_addr().port(), 0);
        let mut seen = Vec::new();
        for _ in 0..9 {
            seen.push(read_all(proxy.local_addr()).await);
        }
        assert_eq!(seen, ["a", "b", "c", "a", "b", "c", "a", "b", "c"]);
        proxy.stop().await;
    }

    #[tokio::test]
    async fn a_dead_backend_is_skipped() {
        let (a, _a) = named_server("a").await;
        let (c, _c) = named_server("c").await;
        let backends = Backends::default();
        backends.set(vec![a, dead_address(), c]);
        let proxy = tcp_proxy(&backends).await;
        let mut counts = BTreeMap::new();
        for _ in 0..6 {
            *counts
                .entry(read_all(proxy.local_addr()).await)
                .or_insert(0) += 1;
        }
        // Turns 0 and 3 go to a; 1, 2, 4 and 5 to c (1 and 4 after the dead one).
        assert_eq!(counts, BTreeMap::from([("a".into(), 2), ("c".into(), 4)]));
    }

    #[tokio::test]
    async fn backends_change_live_and_none_closes_the_connection() {
        let (a, _a) = named_server("a").await;
        let (b, _b) = named_server("b").await;
        let backends = Backends::default();
        let proxy = tcp_proxy(&backends).await;
        assert_eq!(read_all(proxy.local_addr()).await, "");
        backends.set(vec![a]);
        assert_eq!(backends.get(), vec![a]);
        assert_eq!(read_all(proxy.local_addr()).await, "a");
        backends.set(vec![b]);
        assert_eq!(read_all(proxy.local_addr()).await, "b");
        assert_eq!(read_all(proxy.local_addr()).await, "b");
        backends.set(vec![dead_address()]);
        assert_eq!(read_all(proxy.local_addr()).await, "");
    }

    #[tokio::test]
    async fn a_half_close_reaches_the_backend_and_its_answer_comes_back() {
        // Reads the whole request, then answers its length and closes.
        let listener = TcpListener::bind((LOCALHOST, 0)).await.unwrap();
        let backends = Backends::default();
        backends.set(vec![listener.local_addr().unwrap()]);
        let mut server = JoinSet::new();
        server.spawn(async move {
            let (mut stream, _) = listener.accept().await.unwrap();
            let mut request = Vec::new();
            stream.read_to_end(&mut request).await.unwrap();
            let answer = format!("got {} bytes", request.len());
            stream.write_all(answer.as_bytes()).await.unwrap();
        });
        let proxy = tcp_proxy(&backends).await;
        let mut stream = TcpStream::connect(proxy.local_addr()).await.unwrap();
        stream.write_all(&[7; 100_000]).await.unwrap();
        stream.shutdown().await.unwrap();
        let mut answer = String::new();
        tokio::time::timeout(WAIT, stream.read_to_string(&mut answer))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(answer, "got 100000 bytes");
    }

    #[tokio::test]
    async fn stop_frees_the_port_and_ends_connections() {
        // Accepts and holds connections open without a word.
        let listener = TcpListener::bind((LOCALHOST, 0)).await.unwrap();
        let backends = Backends::default();
        backends.set(vec![listener.local_addr().unwrap()]);
        let mut server = JoinSet::new();
        server.spawn(async move {
            let mut held = Vec::new();
            loop {
                held.push(listener.accept().await.unwrap());
            }
        });
        let proxy = tcp_proxy(&backends).await;
        let address = proxy.local_addr();
        let mut stream = TcpStream::connect(address).await.unwrap();
        stream.write_all(b"hello").await.unwrap();
        proxy.stop().await;
        let mut rest = Vec::new();
        let read = tokio::time::timeout(WAIT, stream.read_to_end(&mut rest))
            .await
            .unwrap();
        assert!(matches!(read, Ok(0) | Err(_)), "{read:?}");
        TcpListener::bind(address).await.unwrap();
    }

    /// A UDP server on 127.0.0.1 that answers each datagram with `name:` and the datagram.
    async fn udp_echo(name: &'static str) -> (SocketAddr, JoinSet<()>) {
        let socket = UdpSocket::bind((LOCALHOST, 0)).await.unwrap();
        let address = socket.local_addr().unwrap();
        let mut server = JoinSet::new();
        server.spawn(async move {
            let mut buffer = [0; 1500];
            loop {
                let (len, peer) = socket.recv_from(&mut buffer).await.unwrap();
                let reply = [format!("{name}:").as_bytes(), &buffer[..len]].concat();
                socket.send_to(&reply, peer).await.unwrap();
            }
        });
        (address, server)
    }

    /// Sends `text` from `client` to `proxy`; the reply, which must come from `proxy`.
    async fn ask(client: &UdpSocket, proxy: SocketAddr, text: &str) -> String {
        client.send_to(text.as_bytes(), proxy).await.unwrap();
        let mut buffer = [0; 1500];
        let (len, from) = tokio::time::timeout(WAIT, client.recv_from(&mut buffer))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(from, proxy);
        String::from_utf8(buffer[..len].to_vec()).unwrap()
    }

    async fn udp_proxy(backends: &Backends, idle: Duration) -> Proxy {
        let port = HostPort::Ephemeral;
        Proxy::bind_with(LOCALHOST, &port, Protocol::Udp, backends.clone(), idle)
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn udp_clients_keep_their_backend_for_their_session() {
        let (a, _a) = udp_echo("a").await;
        let (b, _b) = udp_echo("b").await;
        let backends = Backends::default();
        backends.set(vec![a, b]);
        let proxy = udp_proxy(&backends, UDP_IDLE).await;
        let address = proxy.local_addr();
        let one = UdpSocket::bind((LOCALHOST, 0)).await.unwrap();
        let two = UdpSocket::bind((LOCALHOST, 0)).await.unwrap();
        assert_eq!(ask(&one, address, "hi").await, "a:hi");
        assert_eq!(ask(&two, address, "hello").await, "b:hello");
        assert_eq!(ask(&one, address, "again").await, "a:again");
        assert_eq!(ask(&two, address, "again").await, "b:again");
        // The backend gone: the next datagram opens a session with a current one.
        backends.set(vec![b]);
        assert_eq!(ask(&one, address, "moved").await, "b:moved");
        proxy.stop().await;
        UdpSocket::bind(address).await.unwrap();
    }

    #[tokio::test]
    async fn idle_udp_sessions_end() {
        let (a, _a) = udp_echo("a").await;
        let (b, _b) = udp_echo("b").await;
        let backends = Backends::default();
        backends.set(vec![a, b]);
        let proxy = udp_proxy(&backends, Duration::from_millis(100)).await;
        let client = UdpSocket::bind((LOCALHOST, 0)).await.unwrap();
        assert_eq!(ask(&client, proxy.local_addr(), "1").await, "a:1");
        assert_eq!(ask(&client, proxy.local_addr(), "2").await, "a:2");
        tokio::time::sleep(Duration::from_millis(400)).await;
        // A new session, with the next backend.
        assert_eq!(ask(&client, proxy.local_addr(), "3").await, "b:3");
    }

    #[tokio::test]
    async fn a_taken_port_is_in_use() {
        let taken = std::net::TcpListener::bind((LOCALHOST, 0)).unwrap();
        let address = taken.local_addr().unwrap();
        let port = HostPort::Fixed(address.port());
        let error = Proxy::bind(LOCALHOST, &port, Protocol::Tcp, Backends::default())
            .await
            .unwrap_err();
        assert!(matches!(error, ProxyError::InUse { address: a } if a == address));
        assert_eq!(
            error.to_string(),
            format!(
                "host port 127.0.0.1:{} is already in use: stop the program that listens \
                 there (`ss -lntup` shows it), or publish another host port",
                address.port()
            )
        );
        let taken = std::net::UdpSocket::bind((LOCALHOST, 0)).unwrap();
        let address = taken.local_addr().unwrap();
        let port = HostPort::Fixed(address.port());
        let error = Proxy::bind(LOCALHOST, &port, Protocol::Udp, Backends::default())
            .await
            .unwrap_err();
        assert!(matches!(error, ProxyError::InUse { address: a } if a == address));
    }

    #[tokio::test]
    async fn a_range_gives_a_free_port_of_it() {
        let taken = std::net::TcpListener::bind((LOCALHOST, 0)).unwrap();
        let start = taken.local_addr().unwrap().port();
        let end = start.saturating_add(20);
        let port = HostPort::Range { start, end };
        let proxy = Proxy::bind(LOCALHOST, &port, Protocol::Tcp, Backends::default())
            .await
            .unwrap();
        let chosen = proxy.local_addr().port();
        assert!(chosen > start && chosen <= end, "{chosen} in {start}-{end}");

        let port = HostPort::Range { start, end: start };
        let error = Proxy::bind(LOCALHOST, &port, Protocol::Tcp, Backends::default())
            .await
            .unwrap_err();
        assert_eq!(
            error.to_string(),
            format!(
                "no free host port in 127.0.0.1:{start}-{start}/tcp: all are in use; free one, \
                 or publish a wider range"
            )
        );
    }

    #[tokio::test]
    async fn an_address_not_of_this_host_is_named() {
        // TEST-NET-1 (RFC 5737): never assigned to a host.
        let address = SocketAddr::from(([192, 0, 2, 1], 8080));
        let port = HostPort::Fixed(8080);
        let error = Proxy::bind(address.ip(), &port, Protocol::Tcp, Backends::default())
            .await
            .unwrap_err();
        assert_eq!(
            error.to_string(),
            "cannot listen on 192.0.2.1:8080: 192.0.2.1 is not an address of this host; use \
             one of its addresses as host_ip, or 0.0.0.0 for all"
        );
    }
}
