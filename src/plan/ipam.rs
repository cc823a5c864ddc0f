//! IPv4 address management for bridge networks, as Docker's default IPAM does it:
//!
//! - a network without `ipam.config` gets the first of Docker's default pools
//!   (172.17.0.0/16 … 172.31.0.0/16, then 192.168.0.0/16 cut into /20s) that overlaps
//!   neither a route of the host nor another rcompose network;
//! - `ipam.config` gives the subnet, the gateway, the `ip_range` containers get their
//!   addresses from, and `aux_addresses` that are never handed out;
//! - the gateway is the subnet's first host address unless given; containers get the
//!   next free address after the last one handed out (serially, wrapping round, as
//!   Docker does, so a released address is not reused at once); `ipv4_address` takes a
//!   fixed address anywhere in the subnet; the network and broadcast addresses, the
//!   gateway and the aux addresses are never given to a container, and no address is
//!   ever given twice.
//!
//! [`NetworkIpam`] is the state of one network (serde, for the engine's state store);
//! the engine serialises allocations through it. Everything here is pure; IPv6 is not
//! supported yet.

use crate::spec::model;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::net::Ipv4Addr;
use std::str::FromStr;

/// The smallest subnet a bridge network can have: a gateway and one container.
const MAX_PREFIX: u8 = 30;

/// What went wrong with a network's addresses.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum IpamError {
    /// Text that is not an IPv4 address block.
    #[error("{text:?} is not an IPv4 subnet: {reason}")]
    InvalidSubnet { text: String, reason: String },
    /// Text that is not an IPv4 address.
    #[error("network {network:?}: {key} {text:?} is not an IPv4 address")]
    InvalidAddress {
        network: String,
        key: String,
        text: String,
    },
    /// An `ipam.config` entry rcompose can't use.
    #[error("network {network:?}: {problem}")]
    Unsupported { network: String, problem: String },
    /// A subnet with no room for a gateway and a container.
    #[error(
        "network {network:?}: subnet {subnet} is too small: a bridge network needs at \
         least a /{MAX_PREFIX} (a gateway and one container)"
    )]
    SubnetTooSmall { network: String, subnet: Subnet },
    /// The given subnet shares addresses with another rcompose network.
    #[error(
        "network {network:?}: subnet {subnet} overlaps subnet {other_subnet} of network \
         {other:?}: choose another subnet, or remove that network first"
    )]
    SubnetOverlap {
        network: String,
        subnet: Subnet,
        other: String,
        other_subnet: Subnet,
    },
    /// Every default pool is taken.
    #[error(
        "network {network:?}: no free subnet left in the default pools (172.17.0.0/16 to \
         172.31.0.0/16, 192.168.0.0/16 in /20s): each overlaps a host route or another \
         network; set `ipam.config` with a `subnet` on the network, or remove unused networks"
    )]
    NoFreeSubnet { network: String },
    /// An address (gateway, aux address, `ipv4_address`, `ip_range`) outside the subnet.
    #[error("network {network:?}: {key} {value} is outside subnet {subnet}")]
    OutsideSubnet {
        network: String,
        key: String,
        value: String,
        subnet: Subnet,
    },
    /// An address that is the subnet's network or broadcast address, the gateway or an
    /// aux address, asked for a container or as the gateway.
    #[error("network {network:?}: {address} can't be used for {key}: it is {what}")]
    Reserved {
        network: String,
        key: String,
        address: Ipv4Addr,
        what: String,
    },
    /// A fixed address already held by another container.
    #[error(
        "network {network:?}: address {address} is already in use by {owner:?}: choose \
         another `ipv4_address`"
    )]
    InUse {
        network: String,
        address: Ipv4Addr,
        owner: String,
    },
    /// No address left to hand out.
    #[error(
        "network {network:?}: no free address left in {range}: remove containers from the \
         network or give it a larger subnet or ip_range"
    )]
    Exhausted { network: String, range: Subnet },
}

/// An IPv4 address block with no bits set after its prefix, written `172.18.0.0/16`
/// (serialized that way too).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Subnet {
    /// The network address, as a number.
    base: u32,
    prefix: u8,
}

impl Subnet {
    /// The block `address/prefix`; `None` when the prefix is over 32 or bits are set
    /// after it.
    pub fn new(address: Ipv4Addr, prefix: u8) -> Option<Subnet> {
        let block = Subnet {
            base: u32::from(address),
            prefix,
        };
        (prefix <= 32 && block.base & !block.mask() == 0).then_some(block)
    }

    /// The network address (the first of the block).
    pub fn network(self) -> Ipv4Addr {
        Ipv4Addr::from(self.base)
    }

    /// The prefix length.
    pub fn prefix(self) -> u8 {
        self.prefix
    }

    /// The broadcast address (the last of the block).
    pub fn broadcast(self) -> Ipv4Addr {
        Ipv4Addr::from(self.last())
    }

    /// `address` is in the block.
    pub fn contains(self, address: Ipv4Addr) -> bool {
        u32::from(address) & self.mask() == self.base
    }

    /// `other` lies entirely within this block.
    pub fn covers(self, other: Subnet) -> bool {
        other.prefix >= self.prefix && self.contains(other.network())
    }

    /// The two blocks share at least one address.
    pub fn overlaps(self, other: Subnet) -> bool {
        self.covers(other) || other.covers(self)
    }

    fn mask(self) -> u32 {
        u32::MAX
            .checked_shl(32 - u32::from(self.prefix))
            .unwrap_or(0)
    }

    fn last(self) -> u32 {
        self.base | !self.mask()
    }
}

impl fmt::Display for Subnet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.network(), self.prefix)
    }
}

impl FromStr for Subnet {
    type Err = IpamError;

    fn from_str(text: &str) -> Result<Subnet, IpamError> {
        let invalid = |reason: String| IpamError::InvalidSubnet {
            text: text.to_string(),
            reason,
        };
        let form =
            || invalid("expected an IPv4 address and a prefix length, e.g. 172.28.0.0/16".into());
        let (address, prefix) = text.split_once('/').ok_or_else(form)?;
        let address: Ipv4Addr = address.parse().map_err(|_| form())?;
        if prefix.is_empty() || prefix.len() > 2 || !prefix.bytes().all(|b| b.is_ascii_digit()) {
            return Err(form());
        }
        let prefix: u8 = prefix.parse().map_err(|_| form())?;
        if prefix > 32 {
            return Err(invalid(format!("prefix length {prefix} is over 32")));
        }
        let block = Subnet {
            base: u32::from(address),
            prefix,
        };
        let masked = Subnet {
            base: block.base & block.mask(),
            prefix,
        };
        if masked != block {
            return Err(invalid(format!(
                "bits are set after the prefix: did you mean {masked}?"
            )));
        }
        Ok(block)
    }
}

impl Serialize for Subnet {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Subnet {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// Docker's default address pools, in the order they are tried: 172.17.0.0/16 to
/// 172.31.0.0/16, then 192.168.0.0/20 to 192.168.240.0/20.
pub fn default_pools() -> impl Iterator<Item = Subnet> {
    let wide = (17..=31).map(|second| Subnet {
        base: u32::from(Ipv4Addr::new(172, second, 0, 0)),
        prefix: 16,
    });
    let narrow = (0..16).map(|i| Subnet {
        base: u32::from(Ipv4Addr::new(192, 168, i * 16, 0)),
        prefix: 20,
    });
    wide.chain(narrow)
}

/// The first default pool that overlaps none of `taken`.
pub fn choose_subnet(taken: &[Subnet]) -> Option<Subnet> {
    default_pools().find(|pool| taken.iter().all(|other| !other.overlaps(*pool)))
}

/// The destinations of the host's IPv4 routes from the text of `/proc/net/route`:
/// every route but a default one, through a gateway or not (a subnet reached through a
/// VPN is as much in use as one on the host's own link). Lines that don't parse are
/// skipped.
pub fn routes_from_proc(text: &str) -> Vec<Subnet> {
    let mut routes = Vec::new();
    for line in text.lines().skip(1) {
        let fields: Vec<&str> = line.split_whitespace().collect();
        // Iface Destination Gateway Flags RefCnt Use Metric Mask ...
        let (Some(destination), Some(mask)) = (fields.get(1), fields.get(7)) else {
            continue;
        };
        // The kernel prints each address as the number its network-order bytes make
        // in host order.
        let address = |hex: &str| {
            u32::from_str_radix(hex, 16)
                .ok()
                .map(|n| Ipv4Addr::from(n.to_ne_bytes()))
        };
        let (Some(destination), Some(mask)) = (address(destination), address(mask)) else {
            continue;
        };
        let mask = u32::from(mask);
        // A netmask is ones then zeros.
        if mask == 0 || mask.leading_ones() + mask.trailing_zeros() != 32 {
            continue;
        }
        let prefix = mask.leading_ones() as u8;
        let base = u32::from(destination) & mask;
        routes.push(Subnet { base, prefix });
    }
    routes.sort();
    routes.dedup();
    routes
}

/// A network's `ipam` settings: what [`NetworkIpam::new`] needs.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IpamRequest {
    /// `None`: chosen from the default pools.
    pub subnet: Option<Subnet>,
    /// `None`: the subnet's first host address.
    pub gateway: Option<Ipv4Addr>,
    /// Where containers' addresses come from; `None`: the whole subnet.
    pub ip_range: Option<Subnet>,
    /// `aux_addresses`: host name -> an address never given to a container.
    pub aux_addresses: BTreeMap<String, Ipv4Addr>,
}

impl IpamRequest {
    /// Reads and [checks](IpamRequest::check) `ipam` of network `network` (its real
    /// name, for messages): the `default` driver only, at most one pool, IPv4 only.
    pub fn from_model(network: &str, ipam: &model::Ipam) -> Result<IpamRequest, IpamError> {
        let unsupported = |problem: String| IpamError::Unsupported {
            network: network.to_string(),
            problem,
        };
        if let Some(driver) = ipam.driver.as_deref().filter(|d| *d != "default") {
            return Err(unsupported(format!(
                "ipam driver {driver:?} is not supported: rcompose has only the `default` \
                 one; remove `ipam.driver`"
            )));
        }
        if !ipam.options.is_empty() {
            return Err(unsupported(
                "`ipam.options` are not supported (they belong to other ipam drivers); \
                 remove them"
                    .into(),
            ));
        }
        let pool = match ipam.config.as_slice() {
            [] => return Ok(IpamRequest::default()),
            [pool] => pool,
            _ => {
                return Err(unsupported(format!(
                    "{} `ipam.config` entries: a bridge network has one IPv4 subnet (and \
                     IPv6 is not supported yet); keep one entry",
                    ipam.config.len()
                )))
            }
        };
        let Some(subnet) = pool.subnet.as_deref() else {
            return Err(unsupported(
                "an `ipam.config` entry needs a `subnet`, e.g. 172.28.0.0/16".into(),
            ));
        };
        if subnet.contains(':') {
            return Err(unsupported(format!(
                "subnet {subnet} is IPv6, and IPv6 is not supported yet; use an IPv4 subnet"
            )));
        }
        let address = |key: &str, text: &str| -> Result<Ipv4Addr, IpamError> {
            text.parse().map_err(|_| IpamError::InvalidAddress {
                network: network.to_string(),
                key: key.to_string(),
                text: text.to_string(),
            })
        };
        let mut aux_addresses = BTreeMap::new();
        for (host, text) in &pool.aux_addresses {
            aux_addresses.insert(host.clone(), address("aux address", text)?);
        }
        let request = IpamRequest {
            subnet: Some(subnet.parse()?),
            gateway: pool
                .gateway
                .as_deref()
                .map(|text| address("gateway", text))
                .transpose()?,
            ip_range: pool.ip_range.as_deref().map(str::parse).transpose()?,
            aux_addresses,
        };
        request.check(network)?;
        Ok(request)
    }

    /// Checks that the settings fit together: a gateway, range or aux addresses only
    /// with a subnet of at most /30, all inside it; neither the gateway nor an aux
    /// address is the subnet's network or broadcast address, nor the gateway an aux
    /// address.
    pub fn check(&self, network: &str) -> Result<(), IpamError> {
        let Some(subnet) = self.subnet else {
            if self.gateway.is_some() || self.ip_range.is_some() || !self.aux_addresses.is_empty() {
                return Err(IpamError::Unsupported {
                    network: network.to_string(),
                    problem: "`gateway`, `ip_range` and `aux_addresses` need a `subnet`".into(),
                });
            }
            return Ok(());
        };
        if subnet.prefix > MAX_PREFIX {
            return Err(IpamError::SubnetTooSmall {
                network: network.to_string(),
                subnet,
            });
        }
        let outside = |key: &str, value: String| IpamError::OutsideSubnet {
            network: network.to_string(),
            key: key.to_string(),
            value,
            subnet,
        };
        let reserved = |key: &str, address: Ipv4Addr, what: &str| IpamError::Reserved {
            network: network.to_string(),
            key: key.to_string(),
            address,
            what: what.to_string(),
        };
        let aux = self.aux_addresses.values().map(|a| ("aux address", *a));
        for (key, address) in aux.chain(self.gateway.map(|g| ("gateway", g))) {
            if !subnet.contains(address) {
                return Err(outside(key, address.to_string()));
            }
            if let Some(what) = boundary(subnet, address) {
                return Err(reserved(key, address, what));
            }
        }
        if let Some(gateway) = self.gateway {
            if self.aux_addresses.values().any(|aux| *aux == gateway) {
                return Err(reserved("gateway", gateway, "an aux address"));
            }
        }
        if let Some(range) = self.ip_range.filter(|range| !subnet.covers(*range)) {
            return Err(outside("ip_range", range.to_string()));
        }
        Ok(())
    }
}

/// "the network address" or "the broadcast address" when `address` is one of
/// `subnet`'s.
fn boundary(subnet: Subnet, address: Ipv4Addr) -> Option<&'static str> {
    if address == subnet.network() {
        Some("the subnet's network address")
    } else if address == subnet.broadcast() {
        Some("the subnet's broadcast address")
    } else {
        None
    }
}

/// What a new network's subnet must not overlap.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UsedSubnets {
    /// The host's routes ([`routes_from_proc`]): avoided by chosen subnets only, as
    /// Docker does (a subnet given in the file is the user's choice).
    pub routes: Vec<Subnet>,
    /// The other rcompose networks on the host, by name: never overlapped.
    pub networks: BTreeMap<String, Subnet>,
}

/// The addresses of one network: its subnet, gateway, and which container holds which
/// address. Kept in the engine's state.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetworkIpam {
    /// The network's real name (for messages).
    pub network: String,
    pub subnet: Subnet,
    /// On the bridge.
    pub gateway: Ipv4Addr,
    /// Where dynamic addresses come from (`ip_range`, else the subnet).
    pub range: Subnet,
    /// `aux_addresses`: never given to a container.
    pub reserved: BTreeSet<Ipv4Addr>,
    /// Address -> the container (id) holding it.
    pub allocated: BTreeMap<Ipv4Addr, String>,
    /// The last address handed out dynamically: the next search starts after it.
    pub last: Option<Ipv4Addr>,
}

impl NetworkIpam {
    /// The addresses of a new network `network` (its real name) as `request` asks,
    /// with a subnet chosen from the default pools when it gives none. A network in
    /// `used.networks` under the same name is left out (it is this one, being
    /// recreated).
    pub fn new(
        network: &str,
        request: &IpamRequest,
        used: &UsedSubnets,
    ) -> Result<NetworkIpam, IpamError> {
        request.check(network)?;
        let mut others = used
            .networks
            .iter()
            .filter(|(name, _)| name.as_str() != network);
        let subnet = match request.subnet {
            Some(subnet) => {
                if let Some((other, other_subnet)) =
                    others.find(|(_, other)| other.overlaps(subnet))
                {
                    return Err(IpamError::SubnetOverlap {
                        network: network.to_string(),
                        subnet,
                        other: other.clone(),
                        other_subnet: *other_subnet,
                    });
                }
                subnet
            }
            None => {
                let mut taken = used.routes.clone();
                taken.extend(others.map(|(_, subnet)| *subnet));
                choose_subnet(&taken).ok_or_else(|| IpamError::NoFreeSubnet {
                    network: network.to_string(),
                })?
            }
        };
        Ok(NetworkIpam {
            network: network.to_string(),
            subnet,
            gateway: request
                .gateway
                .unwrap_or(Ipv4Addr::from(subnet.base.saturating_add(1))),
            range: request.ip_range.unwrap_or(subnet),
            reserved: request.aux_addresses.values().copied().collect(),
            allocated: BTreeMap::new(),
            last: None,
        })
    }

    /// The address `owner` holds on this network.
    pub fn address_of(&self, owner: &str) -> Option<Ipv4Addr> {
        self.allocated
            .iter()
            .find(|(_, holder)| holder.as_str() == owner)
            .map(|(address, _)| *address)
    }

    /// An address for `owner`: the one it already holds, else the first free one in
    /// the range after the last one handed out (wrapping round).
    pub fn allocate(&mut self, owner: &str) -> Result<Ipv4Addr, IpamError> {
        if let Some(address) = self.address_of(owner) {
            return Ok(address);
        }
        let (first, last) = (self.range.base, self.range.last());
        let start = match self.last.map(u32::from) {
            Some(previous) if previous >= first && previous < last => previous + 1,
            _ => first,
        };
        let found = (start..=last)
            .chain(first..start)
            .map(Ipv4Addr::from)
            .find(|address| self.is_free(*address));
        let Some(address) = found else {
            return Err(IpamError::Exhausted {
                network: self.network.clone(),
                range: self.range,
            });
        };
        self.allocated.insert(address, owner.to_string());
        self.last = Some(address);
        Ok(address)
    }

    /// The fixed address `address` (`ipv4_address`) for `owner`, anywhere in the
    /// subnet; an address `owner` held before on this network is released.
    pub fn allocate_fixed(&mut self, owner: &str, address: Ipv4Addr) -> Result<(), IpamError> {
        let reserved = |what: &str| IpamError::Reserved {
            network: self.network.clone(),
            key: "ipv4_address".into(),
            address,
            what: what.to_string(),
        };
        if !self.subnet.contains(address) {
            return Err(IpamError::OutsideSubnet {
                network: self.network.clone(),
                key: "ipv4_address".into(),
                value: address.to_string(),
                subnet: self.subnet,
            });
        }
        if let Some(what) = boundary(self.subnet, address) {
            return Err(reserved(what));
        }
        if address == self.gateway {
            return Err(reserved("the gateway"));
        }
        if self.reserved.contains(&address) {
            return Err(reserved("an aux address"));
        }
        match self.allocated.get(&address) {
            Some(holder) if holder == owner => return Ok(()),
            Some(holder) => {
                return Err(IpamError::InUse {
                    network: self.network.clone(),
                    address,
                    owner: holder.clone(),
                })
            }
            None => {}
        }
        self.release_owner(owner);
        self.allocated.insert(address, owner.to_string());
        Ok(())
    }

    /// Frees `address`; its holder, if it had one.
    pub fn release(&mut self, address: Ipv4Addr) -> Option<String> {
        self.allocated.remove(&address)
    }

    /// Frees the address `owner` holds; that address, if it had one.
    pub fn release_owner(&mut self, owner: &str) -> Option<Ipv4Addr> {
        let address = self.address_of(owner)?;
        self.allocated.remove(&address);
        Some(address)
    }

    /// `address` may be handed out: inside the subnet, not one of its boundaries, the
    /// gateway, an aux address or held.
    fn is_free(&self, address: Ipv4Addr) -> bool {
        self.subnet.contains(address)
            && boundary(self.subnet, address).is_none()
            && address != self.gateway
            && !self.reserved.contains(&address)
            && !self.allocated.contains_key(&address)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn subnet(text: &str) -> Subnet {
        text.parse().unwrap()
    }

    fn ip(text: &str) -> Ipv4Addr {
        text.parse().unwrap()
    }

    fn request(subnet_text: &str) -> IpamRequest {
        IpamRequest {
            subnet: Some(subnet(subnet_text)),
            ..IpamRequest::default()
        }
    }

    fn network(request: &IpamRequest) -> NetworkIpam {
        NetworkIpam::new("demo_back", request, &UsedSubnets::default()).unwrap()
    }

    fn model_ipam(pairs: &[(&str, &str)]) -> model::Ipam {
        let mut pool = model::IpamPool::default();
        for (key, value) in pairs {
            let value = value.to_string();
            match *key {
                "subnet" => pool.subnet = Some(value),
                "gateway" => pool.gateway = Some(value),
                "ip_range" => pool.ip_range = Some(value),
                host => {
                    pool.aux_addresses.insert(host.to_string(), value);
                }
            }
        }
        model::Ipam {
            config: vec![pool],
            ..model::Ipam::default()
        }
    }

    #[test]
    fn subnets_parse_print_and_compare() {
        let block = subnet("172.28.0.0/16");
        assert_eq!(block.to_string(), "172.28.0.0/16");
        assert_eq!(block.network(), ip("172.28.0.0"));
        assert_eq!(block.broadcast(), ip("172.28.255.255"));
        assert_eq!(block.prefix(), 16);
        assert!(block.contains(ip("172.28.5.1")));
        assert!(!block.contains(ip("172.29.0.1")));
        assert!(block.covers(subnet("172.28.5.0/24")));
        assert!(!subnet("172.28.5.0/24").covers(block));
        assert!(subnet("172.28.5.0/24").overlaps(block));
        assert!(!block.overlaps(subnet("172.29.0.0/16")));
        assert_eq!(subnet("0.0.0.0/0").broadcast(), ip("255.255.255.255"));
        assert_eq!(subnet("10.1.2.3/32").broadcast(), ip("10.1.2.3"));
        assert_eq!(Subnet::new(ip("10.0.0.0"), 8), Some(subnet("10.0.0.0/8")));
        assert_eq!(Subnet::new(ip("10.0.0.1"), 8), None);
        assert_eq!(Subnet::new(ip("10.0.0.0"), 33), None);
    }

    #[test]
    fn bad_subnets_say_why() {
        let error = |text: &str| text.parse::<Subnet>().unwrap_err().to_string();
        assert_eq!(
            error("172.28.0.5/16"),
            "\"172.28.0.5/16\" is not an IPv4 subnet: bits are set after the prefix: did you \
             mean 172.28.0.0/16?"
        );
        assert_eq!(
            error("10.0.0.0/33"),
            "\"10.0.0.0/33\" is not an IPv4 subnet: prefix length 33 is over 32"
        );
        for text in [
            "10.0.0.0",
            "10.0.0/8",
            "10.0.0.0/",
            "10.0.0.0/+8",
            "10.0.0.0/008",
            "fd00::/64",
            "",
        ] {
            assert_eq!(
                error(text),
                format!(
                    "{text:?} is not an IPv4 subnet: expected an IPv4 address and a prefix \
                     length, e.g. 172.28.0.0/16"
                )
            );
        }
    }

    #[test]
    fn subnets_serialize_as_text() {
        let block = subnet("192.168.16.0/20");
        assert_eq!(
            serde_json::to_string(&block).unwrap(),
            "\"192.168.16.0/20\""
        );
        assert_eq!(
            serde_json::from_str::<Subnet>("\"192.168.16.0/20\"").unwrap(),
            block
        );
        let error = serde_json::from_str::<Subnet>("\"192.168.16.1/20\"").unwrap_err();
        assert!(error.to_string().starts_with(
            "\"192.168.16.1/20\" is not an IPv4 subnet: bits are set after the prefix"
        ));
    }

    #[test]
    fn default_pools_are_dockers() {
        let pools: Vec<String> = default_pools().map(|p| p.to_string()).collect();
        assert_eq!(pools.len(), 31);
        assert_eq!(pools[0], "172.17.0.0/16");
        assert_eq!(pools[14], "172.31.0.0/16");
        assert_eq!(pools[15], "192.168.0.0/20");
        assert_eq!(pools[16], "192.168.16.0/20");
        assert_eq!(pools[30], "192.168.240.0/20");
    }

    #[test]
    fn chosen_subnets_skip_routes_and_networks() {
        assert_eq!(choose_subnet(&[]), Some(subnet("172.17.0.0/16")));
        // docker0's route, and a /24 inside 172.18.
        let taken = [subnet("172.17.0.0/16"), subnet("172.18.3.0/24")];
        assert_eq!(choose_subnet(&taken), Some(subnet("172.19.0.0/16")));
        // A route covering all of 172.16/12 sends us to 192.168, which a /24 dents.
        let taken = [subnet("172.16.0.0/12"), subnet("192.168.1.0/24")];
        assert_eq!(choose_subnet(&taken), Some(subnet("192.168.16.0/20")));
        let everything = [subnet("0.0.0.0/1"), subnet("128.0.0.0/1")];
        assert_eq!(choose_subnet(&everything), None);

        let used = UsedSubnets {
            routes: vec![subnet("172.17.0.0/16")],
            networks: BTreeMap::from([
                ("other_default".to_string(), subnet("172.18.0.0/16")),
                // This very network, recorded before: not in the way of itself.
                ("demo_back".to_string(), subnet("172.19.0.0/16")),
            ]),
        };
        let ipam = NetworkIpam::new("demo_back", &IpamRequest::default(), &used).unwrap();
        assert_eq!(ipam.subnet, subnet("172.19.0.0/16"));
        assert_eq!(ipam.gateway, ip("172.19.0.1"));
        assert_eq!(ipam.range, subnet("172.19.0.0/16"));
    }

    #[test]
    fn given_subnets_may_cross_routes_but_not_networks() {
        let used = UsedSubnets {
            routes: vec![subnet("172.28.0.0/16")],
            networks: BTreeMap::from([("other_front".to_string(), subnet("10.5.0.0/16"))]),
        };
        let ipam = NetworkIpam::new("demo_back", &request("172.28.0.0/16"), &used).unwrap();
        assert_eq!(ipam.subnet, subnet("172.28.0.0/16"));
        assert_eq!(
            NetworkIpam::new("demo_back", &request("10.5.3.0/24"), &used)
                .unwrap_err()
                .to_string(),
            "network \"demo_back\": subnet 10.5.3.0/24 overlaps subnet 10.5.0.0/16 of network \
             \"other_front\": choose another subnet, or remove that network first"
        );
        let full = UsedSubnets {
            routes: vec![subnet("0.0.0.0/0")],
            ..UsedSubnets::default()
        };
        assert_eq!(
            NetworkIpam::new("demo_back", &IpamRequest::default(), &full).unwrap_err(),
            IpamError::NoFreeSubnet {
                network: "demo_back".into()
            }
        );
    }

    #[test]
    fn addresses_are_handed_out_serially_and_released() {
        let mut ipam = network(&request("10.9.0.0/29"));
        assert_eq!(ipam.gateway, ip("10.9.0.1"));
        assert_eq!(ipam.allocate("a").unwrap(), ip("10.9.0.2"));
        assert_eq!(ipam.allocate("b").unwrap(), ip("10.9.0.3"));
        // Asking again gives the same address.
        assert_eq!(ipam.allocate("a").unwrap(), ip("10.9.0.2"));
        assert_eq!(ipam.release(ip("10.9.0.2")), Some("a".to_string()));
        // The released address is not reused at once: the search goes on after .3.
        assert_eq!(ipam.allocate("c").unwrap(), ip("10.9.0.4"));
        assert_eq!(ipam.allocate("d").unwrap(), ip("10.9.0.5"));
        assert_eq!(ipam.allocate("e").unwrap(), ip("10.9.0.6"));
        // .7 is the broadcast address: wrap round to the free .2.
        assert_eq!(ipam.allocate("f").unwrap(), ip("10.9.0.2"));
        assert_eq!(
            ipam.allocate("g").unwrap_err().to_string(),
            "network \"demo_back\": no free address left in 10.9.0.0/29: remove containers \
             from the network or give it a larger subnet or ip_range"
        );
        assert_eq!(ipam.release_owner("d"), Some(ip("10.9.0.5")));
        assert_eq!(ipam.release_owner("d"), None);
        assert_eq!(ipam.release(ip("10.9.0.5")), None);
        assert_eq!(ipam.allocate("g").unwrap(), ip("10.9.0.5"));
        assert_eq!(ipam.address_of("g"), Some(ip("10.9.0.5")));
        assert_eq!(ipam.address_of("a"), None);
        let holders: Vec<&str> = ipam.allocated.values().map(String::as_str).collect();
        assert_eq!(holders, ["f", "b", "c", "g", "e"]);
    }

    #[test]
    fn ranges_gateways_and_aux_addresses_are_honoured() {
        let request = IpamRequest::from_model(
            "demo_back",
            &model_ipam(&[
                ("subnet", "172.28.0.0/16"),
                ("ip_range", "172.28.5.0/30"),
                ("gateway", "172.28.5.254"),
                ("host1", "172.28.5.1"),
            ]),
        )
        .unwrap();
        assert_eq!(
            request,
            IpamRequest {
                subnet: Some(subnet("172.28.0.0/16")),
                gateway: Some(ip("172.28.5.254")),
                ip_range: Some(subnet("172.28.5.0/30")),
                aux_addresses: BTreeMap::from([("host1".to_string(), ip("172.28.5.1"))]),
            }
        );
        let mut ipam = network(&request);
        assert_eq!(ipam.gateway, ip("172.28.5.254"));
        // The range's own first and last addresses are hosts of the /16: usable.
        assert_eq!(ipam.allocate("a").unwrap(), ip("172.28.5.0"));
        assert_eq!(ipam.allocate("b").unwrap(), ip("172.28.5.2"));
        assert_eq!(ipam.allocate("c").unwrap(), ip("172.28.5.3"));
        assert!(matches!(
            ipam.allocate("d"),
            Err(IpamError::Exhausted { .. })
        ));
        // A fixed address may be outside the range, inside the subnet.
        ipam.allocate_fixed("d", ip("172.28.9.9")).unwrap();
        assert_eq!(ipam.address_of("d"), Some(ip("172.28.9.9")));
        let json = serde_json::to_string(&ipam).unwrap();
        assert_eq!(
            json,
            "{\"network\":\"demo_back\",\"subnet\":\"172.28.0.0/16\",\"gateway\":\"172.28.5.254\",\
             \"range\":\"172.28.5.0/30\",\"reserved\":[\"172.28.5.1\"],\"allocated\":{\
             \"172.28.5.0\":\"a\",\"172.28.5.2\":\"b\",\"172.28.5.3\":\"c\",\"172.28.9.9\":\"d\"},\
             \"last\":\"172.28.5.3\"}"
        );
        assert_eq!(serde_json::from_str::<NetworkIpam>(&json).unwrap(), ipam);
    }

    #[test]
    fn fixed_addresses_are_checked() {
        let mut ipam = network(&IpamRequest {
            aux_addresses: BTreeMap::from([("printer".to_string(), ip("10.9.0.9"))]),
            ..request("10.9.0.0/24")
        });
        ipam.allocate_fixed("a", ip("10.9.0.10")).unwrap();
        // Again for the same owner: fine.
        ipam.allocate_fixed("a", ip("10.9.0.10")).unwrap();
        let error = |ipam: &mut NetworkIpam, owner: &str, address: &str| {
            ipam.allocate_fixed(owner, ip(address))
                .unwrap_err()
                .to_string()
        };
        assert_eq!(
            error(&mut ipam, "b", "10.9.0.10"),
            "network \"demo_back\": address 10.9.0.10 is already in use by \"a\": choose \
             another `ipv4_address`"
        );
        assert_eq!(
            error(&mut ipam, "b", "10.9.1.10"),
            "network \"demo_back\": ipv4_address 10.9.1.10 is outside subnet 10.9.0.0/24"
        );
        for (address, what) in [
            ("10.9.0.0", "the subnet's network address"),
            ("10.9.0.255", "the subnet's broadcast address"),
            ("10.9.0.1", "the gateway"),
            ("10.9.0.9", "an aux address"),
        ] {
            assert_eq!(
                error(&mut ipam, "b", address),
                format!(
                    "network \"demo_back\": {address} can't be used for ipv4_address: it is {what}"
                )
            );
        }
        // A new fixed address for an owner releases its old one.
        ipam.allocate_fixed("a", ip("10.9.0.11")).unwrap();
        assert_eq!(
            ipam.allocated,
            BTreeMap::from([(ip("10.9.0.11"), "a".to_string())])
        );
        // Dynamic allocation skips fixed addresses and aux addresses.
        let mut ipam = network(&IpamRequest {
            aux_addresses: BTreeMap::from([("printer".to_string(), ip("10.9.0.3"))]),
            ..request("10.9.0.0/24")
        });
        ipam.allocate_fixed("fixed", ip("10.9.0.2")).unwrap();
        assert_eq!(ipam.allocate("a").unwrap(), ip("10.9.0.4"));
    }

    #[test]
    fn ipam_settings_are_checked() {
        let error = |pairs: &[(&str, &str)]| {
            IpamRequest::from_model("demo_back", &model_ipam(pairs))
                .unwrap_err()
                .to_string()
        };
        assert_eq!(
            error(&[("subnet", "172.28.0.0/16"), ("gateway", "172.29.0.1")]),
            "network \"demo_back\": gateway 172.29.0.1 is outside subnet 172.28.0.0/16"
        );
        assert_eq!(
            error(&[("subnet", "172.28.0.0/16"), ("gateway", "172.28.0.0")]),
            "network \"demo_back\": 172.28.0.0 can't be used for gateway: it is the subnet's \
             network address"
        );
        assert_eq!(
            error(&[("subnet", "172.28.0.0/16"), ("gateway", "gw")]),
            "network \"demo_back\": gateway \"gw\" is not an IPv4 address"
        );
        assert_eq!(
            error(&[("subnet", "172.28.0.0/16"), ("ip_range", "172.0.0.0/8")]),
            "network \"demo_back\": ip_range 172.0.0.0/8 is outside subnet 172.28.0.0/16"
        );
        assert_eq!(
            error(&[("subnet", "172.28.0.0/16"), ("h", "172.28.255.255")]),
            "network \"demo_back\": 172.28.255.255 can't be used for aux address: it is the \
             subnet's broadcast address"
        );
        assert_eq!(
            error(&[
                ("subnet", "172.28.0.0/16"),
                ("gateway", "172.28.0.7"),
                ("h", "172.28.0.7")
            ]),
            "network \"demo_back\": 172.28.0.7 can't be used for gateway: it is an aux address"
        );
        assert_eq!(
            error(&[("subnet", "10.0.0.0/31")]),
            "network \"demo_back\": subnet 10.0.0.0/31 is too small: a bridge network needs at \
             least a /30 (a gateway and one container)"
        );
        assert_eq!(
            error(&[("subnet", "fd00::/64")]),
            "network \"demo_back\": subnet fd00::/64 is IPv6, and IPv6 is not supported yet; \
             use an IPv4 subnet"
        );
        assert_eq!(
            error(&[("gateway", "10.0.0.1")]),
            "network \"demo_back\": an `ipam.config` entry needs a `subnet`, e.g. 172.28.0.0/16"
        );
        let mut two = model_ipam(&[("subnet", "10.1.0.0/16")]);
        two.config.push(two.config[0].clone());
        assert_eq!(
            IpamRequest::from_model("demo_back", &two)
                .unwrap_err()
                .to_string(),
            "network \"demo_back\": 2 `ipam.config` entries: a bridge network has one IPv4 \
             subnet (and IPv6 is not supported yet); keep one entry"
        );
        let driver = model::Ipam {
            driver: Some("dhcp".into()),
            ..model::Ipam::default()
        };
        assert_eq!(
            IpamRequest::from_model("demo_back", &driver)
                .unwrap_err()
                .to_string(),
            "network \"demo_back\": ipam driver \"dhcp\" is not supported: rcompose has only \
             the `default` one; remove `ipam.driver`"
        );
        let default_driver = model::Ipam {
            driver: Some("default".into()),
            ..model::Ipam::default()
        };
        assert_eq!(
            IpamRequest::from_model("demo_back", &default_driver),
            Ok(IpamRequest::default())
        );
        // A request made by hand is checked by `new` too.
        let loose = IpamRequest {
            gateway: Some(ip("10.0.0.1")),
            ..IpamRequest::default()
        };
        assert_eq!(
            NetworkIpam::new("demo_back", &loose, &UsedSubnets::default())
                .unwrap_err()
                .to_string(),
            "network \"demo_back\": `gateway`, `ip_range` and `aux_addresses` need a `subnet`"
        );
    }

    /// The text is a little-endian host's (x86): 0x0011A8C0 is 192.168.17.0.
    #[cfg(target_endian = "little")]
    #[test]
    fn host_routes_are_read_from_proc() {
        let text = "\
Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT
eth0\t00000000\t0111A8C0\t0003\t0\t0\t100\t00000000\t0\t0\t0
eth0\t0011A8C0\t00000000\t0001\t0\t0\t100\t00FFFFFF\t0\t0\t0
docker0\t000011AC\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0
tun0\t0000000A\t0100080A\t0003\t0\t0\t0\t000000FF\t0\t0\t0
bad\tzz\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0
odd\t000011AC\t00000000\t0001\t0\t0\t0\t00FF00FF\t0\t0\t0
short\t000011AC
";
        assert_eq!(
            routes_from_proc(text),
            [
                subnet("10.0.0.0/8"),
                subnet("172.17.0.0/16"),
                subnet("192.168.17.0/24"),
            ]
        );
        assert_eq!(routes_from_proc(""), Vec::<Subnet>::new());
    }
}
