//! The embedded DNS over UDP on loopback: queries per second and latency.
//!
//! Run with `cargo bench --bench dns`. The server (a tokio runtime with one worker, as a
//! listener is one task) answers from a table of 50 containers, a service `web` of three
//! replicas among them, on 127.0.0.1 at a free port. Clients are plain threads with
//! blocking sockets, each with one query in flight (send, wait for the reply, send the
//! next), asking in turn `web` A (three addresses, rotated), `p-app-7` A (one) and
//! `web` AAAA (empty). Every reply is checked (id, rcode, answer count). Prints, for 1,
//! 2 and 4 clients, the queries answered per second and the round-trip time's
//! percentiles as the clients see them.

use rcompose::dns::{DnsServer, Endpoint, Name, SharedRecords, Upstreams};
use std::net::{Ipv4Addr, SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

/// How long each measurement runs.
const RUN: Duration = Duration::from_secs(3);
/// Queries each client sends before measuring.
const WARM_UP: usize = 2_000;

/// A query, its id to be set, and how many addresses its answer has.
struct Case {
    request: Vec<u8>,
    answers: u16,
}

fn case(name: &str, qtype: u16, answers: u16) -> Case {
    let mut request = vec![0, 0, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0];
    request.extend_from_slice(Name::from_dotted(name).expect("a name").wire());
    request.extend_from_slice(&qtype.to_be_bytes());
    request.extend_from_slice(&[0, 1]);
    Case { request, answers }
}

fn records() -> SharedRecords {
    let shared = SharedRecords::new();
    shared
        .update(|records| {
            records.set_network("bench", false);
            (0..50u8).try_for_each(|i| {
                let (name, service) = if i < 3 {
                    (format!("p-web-{}", i + 1), "web")
                } else {
                    (format!("p-app-{i}"), "app")
                };
                let endpoint = Endpoint {
                    container: format!("container{i}"),
                    address: Ipv4Addr::new(10, 0, 0, 2 + i),
                    aliases: vec![service.to_owned(), format!("host{i}")],
                    name,
                };
                records.add("bench", endpoint)
            })
        })
        .expect("valid records");
    shared
}

/// One client: queries until `until`, returns the round-trip times.
fn client(server: SocketAddr, until: Instant, warm_up: usize) -> Vec<Duration> {
    let cases = [case("web", 1, 3), case("p-app-7", 1, 1), case("web", 28, 0)];
    let socket = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).expect("client socket");
    socket.connect(server).expect("connect");
    socket
        .set_read_timeout(Some(Duration::from_secs(1)))
        .expect("timeout");
    let mut buffer = [0u8; 1500];
    let mut times = Vec::with_capacity(1 << 20);
    let mut request = Vec::new();
    for n in 0usize.. {
        if n >= warm_up && Instant::now() >= until {
            break;
        }
        let case = &cases[n % cases.len()];
        let id = (n % 65_536) as u16;
        request.clone_from(&case.request);
        request[..2].copy_from_slice(&id.to_be_bytes());
        let start = Instant::now();
        socket.send(&request).expect("send");
        let len = socket.recv(&mut buffer).expect("a reply within 1 s");
        let elapsed = start.elapsed();
        let reply = &buffer[..len];
        assert_eq!(reply[..2], id.to_be_bytes(), "reply to another query");
        assert_eq!(reply[3] & 0xF, 0, "rcode");
        assert_eq!(u16::from_be_bytes([reply[6], reply[7]]), case.answers);
        if n >= warm_up {
            times.push(elapsed);
        }
    }
    times
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index].as_secs_f64() * 1e6
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("tokio runtime");
    let server = DnsServer::new(records(), Upstreams::new(vec![], Duration::from_secs(1)));
    let listener = runtime
        .block_on(server.listen("bench", (Ipv4Addr::LOCALHOST, 0).into()))
        .expect("listen");
    let address = listener.udp_address();
    println!(
        "{:>7} {:>9} {:>10} {:>8} {:>8} {:>8} {:>8}",
        "clients", "queries", "queries/s", "p50 µs", "p90 µs", "p99 µs", "p99.9 µs"
    );
    for clients in [1, 2, 4] {
        let until = Instant::now() + RUN;
        let start = Instant::now();
        let threads: Vec<_> = (0..clients)
            .map(|_| std::thread::spawn(move || client(address, until, WARM_UP)))
            .collect();
        let mut times: Vec<Duration> = threads
            .into_iter()
            .flat_map(|t| t.join().expect("client thread"))
            .collect();
        // The warm-up is in the elapsed time but not in the count: close enough at
        // these rates, and on the safe side.
        let elapsed = start.elapsed().as_secs_f64();
        times.sort();
        println!(
            "{clients:>7} {:>9} {:>10.0} {:>8.1} {:>8.1} {:>8.1} {:>8.1}",
            times.len(),
            times.len() as f64 / elapsed,
            percentile(&times, 0.50),
            percentile(&times, 0.90),
            percentile(&times, 0.99),
            percentile(&times, 0.999),
        );
    }
    runtime.block_on(listener.stop());
}
