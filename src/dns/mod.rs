//! The embedded DNS: each network's gateway answers its containers' queries for the
//! project's names (services with every replica's address, rotated; container names;
//! aliases; hostnames; reverse lookups) and forwards other names to the host's
//! resolvers, except from internal networks (see DESIGN.md, "Networks and DNS").
//!
//! - [`message`]: the wire format. Our own, not a DNS crate: the server needs a strict
//!   reader for one-question queries and a writer for the few answers it gives, a few
//!   hundred lines that are fast (no general-purpose record model in the way), have no dependency,
//!   and are fuzzed (fuzz/fuzz_targets/dns_message.rs) to never panic on any input.
//!   Forwarded queries and replies are passed through as bytes, only checked.
//! - [`records`]: the pure table of names per network, which the engine changes as
//!   containers come and go, and the server reads without waiting.
//! - [`server`]: the UDP and TCP listeners (tokio).
//! - [`upstream`]: the host's resolvers, and forwarding to them.

pub mod message;
pub mod records;
pub mod server;
pub mod upstream;

pub use message::{Answer, Name, NameError, Query, QueryError, Rcode};
pub use records::{Endpoint, Records, RecordsError, Resolution, SharedRecords};
pub use server::{DnsError, DnsServer, Listener, Transport, PORT};
pub use upstream::{UpstreamError, Upstreams};
