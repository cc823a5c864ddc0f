//! The names the DNS answers, per network: a pure table, changed when containers come
//! and go, read by the server through a snapshot it never locks for long.

use super::message::{Name, Question, RecordType, CLASS_IN};
use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, Ipv4Addr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, PoisonError, RwLock};

/// One container on one network, as the DNS sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoint {
    /// The container's id: what [`Records::remove`] takes.
    pub container: String,
    /// Its address on the network.
    pub address: Ipv4Addr,
    /// Its main name (the container name): answered for, and the answer to a reverse
    /// lookup of `address`.
    pub name: String,
    /// Its other names, answered for too: the service, `<project>-<service>-<n>`,
    /// network aliases, links aliases, the hostname. Repeats are harmless.
    pub aliases: Vec<String>,
}

/// Why a change to the table was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RecordsError {
    /// [`Records::add`] to a network [`Records::set_network`] did not declare.
    #[error(
        "the DNS has no network {network} (declare it with set_network before adding containers)"
    )]
    UnknownNetwork { network: String },
    /// A name no DNS query can carry.
    #[error("container {container}: {name:?} cannot be a DNS name: {reason}")]
    Name {
        container: String,
        name: String,
        reason: &'static str,
    },
}

/// What the table says about a question.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Resolution {
    /// The name's addresses (never empty), rotated by one at each answer so that
    /// replicas share the load.
    Addresses(Vec<Ipv4Addr>),
    /// The name exists but has no record of the asked type (AAAA, MX, ...): an empty
    /// NOERROR answer, never NXDOMAIN.
    NoData,
    /// The container name of a reverse-looked-up address.
    Pointer(Name),
    /// Not a name of the querier's networks: forward it upstream when `forward`, else
    /// (only internal networks) it does not exist.
    Unknown { forward: bool },
    /// The network asked is not in the table.
    Refused,
}

/// Every network's names. Cheap to clone: each network is shared until changed.
#[derive(Clone, Debug, Default)]
pub struct Records {
    networks: BTreeMap<String, Arc<Network>>,
}

/// One network: its containers and the indexes built from them.
#[derive(Debug, Default)]
struct Network {
    internal: bool,
    endpoints: BTreeMap<String, Entry>,
    /// Lowercase dotted name -> addresses.
    names: HashMap<String, Addresses>,
    /// Address -> (container id, name for reverse lookups).
    by_address: HashMap<Ipv4Addr, (String, Name)>,
}

/// An endpoint with its names checked.
#[derive(Clone, Debug)]
struct Entry {
    endpoint: Endpoint,
    /// The lowercase keys of its name and aliases.
    keys: Vec<String>,
    /// Its name, for reverse lookups.
    pointer: Name,
}

/// A name's addresses and whose turn it is to come first.
#[derive(Debug)]
struct Addresses {
    list: Vec<Ipv4Addr>,
    turn: AtomicUsize,
}

impl Network {
    fn new(internal: bool, endpoints: BTreeMap<String, Entry>) -> Network {
        let mut names: HashMap<String, Addresses> = HashMap::new();
        let mut by_address = HashMap::new();
        for entry in endpoints.values() {
            let address = entry.endpoint.address;
            for key in &entry.keys {
                let addresses = names.entry(key.clone()).or_insert_with(|| Addresses {
                    list: Vec::new(),
                    turn: AtomicUsize::new(0),
                });
                if !addresses.list.contains(&address) {
                    addresses.list.push(address);
                }
            }
            by_address.insert(
                address,
                (entry.endpoint.container.clone(), entry.pointer.clone()),
            );
        }
        Network {
            internal,
            endpoints,
            names,
            by_address,
        }
    }
}

impl Records {
    /// An empty table.
    pub fn new() -> Records {
        Records::default()
    }

    /// Declares a network (or changes whether it is internal, keeping its containers).
    /// Internal networks never forward names they don't know upstream.
    pub fn set_network(&mut self, network: &str, internal: bool) {
        let endpoints = self
            .networks
            .get(network)
            .map(|net| net.endpoints.clone())
            .unwrap_or_default();
        self.networks.insert(
            network.to_owned(),
            Arc::new(Network::new(internal, endpoints)),
        );
    }

    /// Forgets a network and its containers' names on it.
    pub fn remove_network(&mut self, network: &str) {
        self.networks.remove(network);
    }

    /// Adds a container to a network, replacing what was known of it there.
    pub fn add(&mut self, network: &str, endpoint: Endpoint) -> Result<(), RecordsError> {
        let Some(net) = self.networks.get_mut(network) else {
            return Err(RecordsError::UnknownNetwork {
                network: network.to_owned(),
            });
        };
        let bad = |name: &str, reason| RecordsError::Name {
            container: endpoint.container.clone(),
            name: name.to_owned(),
            reason,
        };
        let mut keys = Vec::with_capacity(1 + endpoint.aliases.len());
        for name in std::iter::once(&endpoint.name).chain(&endpoint.aliases) {
            keys.push(key(name).map_err(|reason| bad(name, reason))?);
        }
        let pointer = Name::from_dotted(&endpoint.name)
            .map_err(|_| bad(&endpoint.name, "it is longer than 253 characters"))?;
        let mut endpoints = net.endpoints.clone();
        endpoints.insert(
            endpoint.container.clone(),
            Entry {
                endpoint,
                keys,
                pointer,
            },
        );
        *net = Arc::new(Network::new(net.internal, endpoints));
        Ok(())
    }

    /// Removes a container from every network: its names stop resolving at once.
    pub fn remove(&mut self, container: &str) {
        for net in self.networks.values_mut() {
            if net.endpoints.contains_key(container) {
                let mut endpoints = net.endpoints.clone();
                endpoints.remove(container);
                *net = Arc::new(Network::new(net.internal, endpoints));
            }
        }
    }

    /// Answers a question asked on `network`'s server by `querier`. The names seen are
    /// those of `network` first, then those of the other networks the querier's
    /// container joins (so that a container on several networks resolves them all,
    /// whichever of its name servers it asks); a name on no such network is unknown.
    pub fn resolve(&self, network: &str, querier: IpAddr, question: &Question) -> Resolution {
        let Some(asked) = self.networks.get(network) else {
            return Resolution::Refused;
        };
        let container = match querier {
            IpAddr::V4(address) => asked.by_address.get(&address).map(|(id, _)| id),
            IpAddr::V6(_) => None,
        };
        let others = self
            .networks
            .iter()
            .filter(|(id, net)| {
                id.as_str() != network && container.is_some_and(|c| net.endpoints.contains_key(c))
            })
            .map(|(_, net)| net);
        let scope: Vec<&Network> = std::iter::once(asked).chain(others).map(|n| &**n).collect();
        let unknown = Resolution::Unknown {
            forward: scope.iter().any(|net| !net.internal),
        };
        if question.qclass != CLASS_IN {
            return unknown;
        }
        if question.qtype == RecordType::PTR {
            if let Some(address) = question.name.reverse_ipv4() {
                return scope
                    .iter()
                    .find_map(|net| net.by_address.get(&address))
                    .map_or(unknown, |(_, name)| Resolution::Pointer(name.clone()));
            }
        }
        let found = query_key(&question.name)
            .and_then(|key| scope.iter().find_map(|net| net.names.get(&key)));
        match found {
            None => unknown,
            Some(addresses) if matches!(question.qtype, RecordType::A | RecordType::ANY) => {
                let mut list = addresses.list.clone();
                let turn = addresses.turn.fetch_add(1, Ordering::Relaxed);
                let first = turn.checked_rem(list.len()).unwrap_or(0);
                list.rotate_left(first);
                Resolution::Addresses(list)
            }
            Some(_) => Resolution::NoData,
        }
    }
}

/// Whether a byte may be in a label of our names: compose's names (services, projects,
/// containers, aliases) are made of letters, digits, `-` and `_`, dots between labels.
fn label_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_'
}

/// The table's key for a name given by the engine: lowercase, no final dot.
fn key(name: &str) -> Result<String, &'static str> {
    let name = name.strip_suffix('.').unwrap_or(name);
    if name.is_empty() {
        return Err("it is empty");
    }
    if name.len() > 253 {
        return Err("it is longer than 253 characters");
    }
    for label in name.split('.') {
        if label.is_empty() {
            return Err("it has an empty label (two dots in a row, or a leading dot)");
        }
        if label.len() > 63 {
            return Err("it has a label longer than 63 characters");
        }
        if !label.bytes().all(label_byte) {
            return Err("only letters, digits, '-', '_' and '.' are allowed");
        }
    }
    Ok(name.to_ascii_lowercase())
}

/// The table's key for a queried name; `None` when it can't be one of ours.
fn query_key(name: &Name) -> Option<String> {
    let mut key = String::new();
    for label in name.labels() {
        if !label.iter().copied().all(label_byte) {
            return None;
        }
        if !key.is_empty() {
            key.push('.');
        }
        key.extend(label.iter().map(|b| char::from(b.to_ascii_lowercase())));
    }
    (!key.is_empty()).then_some(key)
}

/// The table shared between whoever changes it (the engine) and the servers: a change
/// swaps in a new version; a reader takes the current one, holding a lock only to copy
/// a pointer, and keeps answering from it while the next change is made.
#[derive(Clone, Debug, Default)]
pub struct SharedRecords {
    current: Arc<RwLock<Arc<Records>>>,
}

impl SharedRecords {
    /// A shared table, empty.
    pub fn new() -> SharedRecords {
        SharedRecords::default()
    }

    /// The current version.
    pub fn snapshot(&self) -> Arc<Records> {
        Arc::clone(&self.current.read().unwrap_or_else(PoisonError::into_inner))
    }

    /// Changes the table; readers see all of the change or none of it. Changes are
    /// made one at a time.
    pub fn update<T>(&self, change: impl FnOnce(&mut Records) -> T) -> T {
        let mut current = self.current.write().unwrap_or_else(PoisonError::into_inner);
        change(Arc::make_mut(&mut current))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn endpoint(container: &str, address: [u8; 4], name: &str, aliases: &[&str]) -> Endpoint {
        Endpoint {
            container: container.into(),
            address: address.into(),
            name: name.into(),
            aliases: aliases.iter().map(|a| a.to_string()).collect(),
        }
    }

    fn question(name: &str, qtype: RecordType) -> Question {
        Question {
            name: Name::from_dotted(name).unwrap(),
            qtype,
            qclass: CLASS_IN,
        }
    }

    fn a(name: &str) -> Question {
        question(name, RecordType::A)
    }

    const OUTSIDE: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));

    fn addresses(list: &[[u8; 4]]) -> Resolution {
        Resolution::Addresses(list.iter().map(|&a| a.into()).collect())
    }

    /// `front`: web-1, web-2 (service `web`), db-1; `back` (internal): db-1, cache-1.
    fn project() -> Records {
        let mut records = Records::new();
        records.set_network("front", false);
        records.set_network("back", true);
        let web = ["web", "p-web-1", "w1host"];
        records
            .add("front", endpoint("c1", [10, 0, 0, 2], "p-web-1", &web))
            .unwrap();
        records
            .add(
                "front",
                endpoint("c2", [10, 0, 0, 3], "p-web-2", &["web", "p-web-2"]),
            )
            .unwrap();
        records
            .add(
                "front",
                endpoint("c3", [10, 0, 0, 4], "p-db-1", &["db", "database"]),
            )
            .unwrap();
        records
            .add("back", endpoint("c3", [10, 1, 0, 2], "p-db-1", &["db"]))
            .unwrap();
        records
            .add(
                "back",
                endpoint("c4", [10, 1, 0, 3], "p-cache-1", &["cache"]),
            )
            .unwrap();
        records
    }

    #[test]
    fn replicas_rotate_at_each_answer() {
        let records = project();
        let web = a("web");
        assert_eq!(
            records.resolve("front", OUTSIDE, &web),
            addresses(&[[10, 0, 0, 2], [10, 0, 0, 3]])
        );
        assert_eq!(
            records.resolve("front", OUTSIDE, &web),
            addresses(&[[10, 0, 0, 3], [10, 0, 0, 2]])
        );
        assert_eq!(
            records.resolve("front", OUTSIDE, &web),
            addresses(&[[10, 0, 0, 2], [10, 0, 0, 3]])
        );
        // Each name has its own turn.
        assert_eq!(
            records.resolve("front", OUTSIDE, &a("p-web-1")),
            addresses(&[[10, 0, 0, 2]])
        );
        assert_eq!(
            records.resolve("front", OUTSIDE, &web),
            addresses(&[[10, 0, 0, 3], [10, 0, 0, 2]])
        );
    }

    #[test]
    fn every_name_without_case_and_with_a_final_dot() {
        let records = project();
        for name in ["P-WEB-1", "w1host.", "Web", "ANY-not-this"] {
            let found = records.resolve("front", OUTSIDE, &question(name, RecordType::ANY));
            assert_eq!(
                found != Resolution::Unknown { forward: true },
                name != "ANY-not-this",
                "{name}"
            );
        }
        assert_eq!(
            records.resolve("front", OUTSIDE, &a("DataBase.")),
            addresses(&[[10, 0, 0, 4]])
        );
    }

    #[test]
    fn other_types_of_a_known_name_are_empty_not_unknown() {
        let records = project();
        for qtype in [
            RecordType::AAAA,
            RecordType(15),
            RecordType::PTR,
            RecordType::CNAME,
        ] {
            assert_eq!(
                records.resolve("front", OUTSIDE, &question("web", qtype)),
                Resolution::NoData
            );
        }
    }

    #[test]
    fn unknown_names_forwarded_except_from_internal_networks() {
        let records = project();
        assert_eq!(
            records.resolve("front", OUTSIDE, &a("example.com")),
            Resolution::Unknown { forward: true }
        );
        assert_eq!(
            records.resolve("back", OUTSIDE, &a("example.com")),
            Resolution::Unknown { forward: false }
        );
        assert_eq!(
            records.resolve("nowhere", OUTSIDE, &a("web")),
            Resolution::Refused
        );
        // Another class (CHAOS) is never ours.
        let mut chaos = a("web");
        chaos.qclass = 3;
        assert_eq!(
            records.resolve("front", OUTSIDE, &chaos),
            Resolution::Unknown { forward: true }
        );
    }

    #[test]
    fn reverse_lookups_answer_the_container_name() {
        let records = project();
        let ptr = |name: &str| records.resolve("front", OUTSIDE, &question(name, RecordType::PTR));
        assert_eq!(
            ptr("3.0.0.10.in-addr.arpa"),
            Resolution::Pointer(Name::from_dotted("p-web-2").unwrap())
        );
        assert_eq!(
            ptr("9.0.0.10.in-addr.arpa"),
            Resolution::Unknown { forward: true }
        );
        // back's addresses are not front's.
        assert_eq!(
            ptr("3.0.1.10.in-addr.arpa"),
            Resolution::Unknown { forward: true }
        );
    }

    #[test]
    fn names_are_seen_only_from_the_networks_of_the_querier() {
        let records = project();
        // An unknown querier on front sees front only.
        assert_eq!(
            records.resolve("front", OUTSIDE, &a("cache")),
            Resolution::Unknown { forward: true }
        );
        // web-1 is on front only.
        let web1 = IpAddr::from([10, 0, 0, 2]);
        assert_eq!(
            records.resolve("front", web1, &a("cache")),
            Resolution::Unknown { forward: true }
        );
        // db-1 is on both: asking front's server, it sees back's names too, and front's
        // address of a name on both; back's server gives back's.
        let db_front = IpAddr::from([10, 0, 0, 4]);
        assert_eq!(
            records.resolve("front", db_front, &a("cache")),
            addresses(&[[10, 1, 0, 3]])
        );
        assert_eq!(
            records.resolve("front", db_front, &a("db")),
            addresses(&[[10, 0, 0, 4]])
        );
        let db_back = IpAddr::from([10, 1, 0, 2]);
        assert_eq!(
            records.resolve("back", db_back, &a("db")),
            addresses(&[[10, 1, 0, 2]])
        );
        assert_eq!(
            records.resolve("back", db_back, &a("web")),
            addresses(&[[10, 0, 0, 2], [10, 0, 0, 3]])
        );
        // ... and may forward, as front is not internal, though back is.
        assert_eq!(
            records.resolve("back", db_back, &a("example.com")),
            Resolution::Unknown { forward: true }
        );
        let cache = IpAddr::from([10, 1, 0, 3]);
        assert_eq!(
            records.resolve("back", cache, &a("example.com")),
            Resolution::Unknown { forward: false }
        );
        // A querier's address on another network does not count.
        assert_eq!(
            records.resolve("front", IpAddr::from([10, 1, 0, 2]), &a("cache")),
            Resolution::Unknown { forward: true }
        );
    }

    #[test]
    fn removed_containers_stop_resolving_at_once() {
        let mut records = project();
        records.remove("c2");
        assert_eq!(
            records.resolve("front", OUTSIDE, &a("web")),
            addresses(&[[10, 0, 0, 2]])
        );
        assert_eq!(
            records.resolve("front", OUTSIDE, &a("p-web-2")),
            Resolution::Unknown { forward: true }
        );
        records.remove("c3");
        assert_eq!(
            records.resolve("front", OUTSIDE, &a("db")),
            Resolution::Unknown { forward: true }
        );
        assert_eq!(
            records.resolve("back", OUTSIDE, &a("db")),
            Resolution::Unknown { forward: false }
        );
        assert_eq!(
            records.resolve("back", OUTSIDE, &a("cache")),
            addresses(&[[10, 1, 0, 3]])
        );
        records.remove_network("back");
        assert_eq!(
            records.resolve("back", OUTSIDE, &a("cache")),
            Resolution::Refused
        );
    }

    #[test]
    fn adding_again_replaces() {
        let mut records = project();
        records
            .add("front", endpoint("c1", [10, 0, 0, 9], "p-web-1", &["web"]))
            .unwrap();
        assert_eq!(
            records.resolve("front", OUTSIDE, &a("web")),
            addresses(&[[10, 0, 0, 9], [10, 0, 0, 3]])
        );
        assert_eq!(
            records.resolve("front", OUTSIDE, &a("w1host")),
            Resolution::Unknown { forward: true }
        );
    }

    #[test]
    fn set_network_keeps_the_containers() {
        let mut records = project();
        records.set_network("back", false);
        assert_eq!(
            records.resolve("back", OUTSIDE, &a("nothing")),
            Resolution::Unknown { forward: true }
        );
        assert_eq!(
            records.resolve("back", OUTSIDE, &a("cache")),
            addresses(&[[10, 1, 0, 3]])
        );
    }

    #[test]
    fn refused_changes() {
        let mut records = project();
        assert_eq!(
            records.add("other", endpoint("c9", [10, 2, 0, 2], "x", &[])),
            Err(RecordsError::UnknownNetwork {
                network: "other".into()
            })
        );
        let bad = |name: &str| {
            records
                .clone()
                .add("front", endpoint("c9", [10, 0, 0, 9], "ok", &[name]))
                .unwrap_err()
        };
        assert_eq!(
            bad("has space"),
            RecordsError::Name {
                container: "c9".into(),
                name: "has space".into(),
                reason: "only letters, digits, '-', '_' and '.' are allowed"
            }
        );
        for (name, reason) in [
            ("", "it is empty"),
            (
                "a..b",
                "it has an empty label (two dots in a row, or a leading dot)",
            ),
            (&"x".repeat(64), "it has a label longer than 63 characters"),
            (
                &vec!["x".repeat(60); 5].join("."),
                "it is longer than 253 characters",
            ),
        ] {
            assert!(
                matches!(bad(name), RecordsError::Name { reason: r, .. } if r == reason),
                "{name}"
            );
        }
        // Nothing of the refused endpoint was kept.
        assert_eq!(
            records.resolve("front", OUTSIDE, &a("ok")),
            Resolution::Unknown { forward: true }
        );
    }

    #[test]
    fn queried_names_that_cannot_be_ours_are_unknown() {
        let mut records = Records::new();
        records.set_network("n", true);
        records
            .add("n", endpoint("c", [10, 0, 0, 2], "a.b", &[]))
            .unwrap();
        assert_eq!(
            records.resolve("n", OUTSIDE, &a("a.b")),
            addresses(&[[10, 0, 0, 2]])
        );
        // One label `a.b` (a dot inside) is not the two labels `a` and `b`.
        let mut query = vec![0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0];
        query.extend_from_slice(b"\x03a.b\x00\x00\x01\x00\x01");
        let one_label = crate::dns::Query::parse(&query).unwrap().question;
        assert_eq!(
            records.resolve("n", OUTSIDE, &one_label),
            Resolution::Unknown { forward: false }
        );
        assert_eq!(
            records.resolve("n", OUTSIDE, &a(".")),
            Resolution::Unknown { forward: false }
        );
    }

    #[test]
    fn snapshots_do_not_change_under_their_reader() {
        let shared = SharedRecords::new();
        shared.update(|records| records.set_network("n", false));
        let before = shared.snapshot();
        shared
            .update(|records| records.add("n", endpoint("c", [10, 0, 0, 2], "web", &[])))
            .unwrap();
        assert_eq!(
            before.resolve("n", OUTSIDE, &a("web")),
            Resolution::Unknown { forward: true }
        );
        assert_eq!(
            shared.snapshot().resolve("n", OUTSIDE, &a("web")),
            addresses(&[[10, 0, 0, 2]])
        );
        // Clones share the table.
        let other = shared.clone();
        other.update(|records| records.remove("c"));
        assert_eq!(
            shared.snapshot().resolve("n", OUTSIDE, &a("web")),
            Resolution::Unknown { forward: true }
        );
    }
}
