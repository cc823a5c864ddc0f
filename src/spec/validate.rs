//! Semantic checks on a normalized [`Project`]: what the schema cannot see, such as
//! references between services and top-level objects, dependency cycles, clashing ports
//! and names, and address plans that do not add up.
//!
//! Every problem is reported, in a fixed order: each service's own checks (services in
//! name order), then dependency cycles, container names, ports, each network's IPAM,
//! overlapping subnets, fixed addresses, and top-level secrets and configs. Each
//! diagnostic carries the key path of the offending node; the loader fills the span in
//! from the YAML tree.

use super::diag::{suggest, Diagnostic};
use super::model::{DependsCondition, Network, Project, Service, VolumeType};
use super::node::{KeyPath, PathRef};
use crate::graph::{
    located_dependencies, visit_dependencies, DepKind, GraphError, ServiceGraph, VolumesFrom,
};
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Checks `project` (already normalized and filtered by profiles) and returns every
/// problem found, each located by its key path.
pub fn validate(project: &Project) -> Vec<Diagnostic> {
    let mut found = Vec::new();
    for (name, service) in &project.services {
        check_service(project, name, service, &mut found);
    }
    check_cycles(project, &mut found);
    check_container_names_unique(project, &mut found);
    check_ports(project, &mut found);
    for (name, network) in &project.networks {
        check_ipam(name, network, &mut found);
    }
    check_subnet_overlaps(project, &mut found);
    check_fixed_addresses(project, &mut found);
    check_file_objects(project, &mut found);
    found
}

fn service_path(name: &str) -> KeyPath {
    KeyPath::root().key("services").key(name)
}

/// `base` followed by the segments of `relative`.
fn join(base: PathRef<'_>, relative: KeyPath) -> KeyPath {
    let mut path = base.to_key_path();
    path.0.extend(relative.0);
    path
}

/// "undefined network `bak`: did you mean `back`?", or, with no close name, where to
/// define it.
fn undefined<'a>(
    what: &str,
    name: &str,
    top_level_key: &str,
    defined: impl IntoIterator<Item = &'a str>,
) -> String {
    match suggest(name, defined) {
        Some(close) => format!("undefined {what} `{name}`: did you mean `{close}`?"),
        None => {
            format!("undefined {what} `{name}`: define it under the top-level `{top_level_key}`")
        }
    }
}

fn check_service(project: &Project, name: &str, service: &Service, out: &mut Vec<Diagnostic>) {
    let services = KeyPath::root().key("services");
    let services = PathRef::Base(&services);
    let mut check = ServiceCheck {
        project,
        name,
        service,
        base: services.key(name),
        out,
    };
    check.settings();
    check.namespaces();
    check.service_references();
    check.healthy_dependencies();
    check.resource_references();
    check.mount_targets();
}

/// The checks of one service: where it is, and where its problems go.
struct ServiceCheck<'a> {
    project: &'a Project,
    name: &'a str,
    service: &'a Service,
    /// `services.<name>`.
    base: PathRef<'a>,
    out: &'a mut Vec<Diagnostic>,
}

impl ServiceCheck<'_> {
    fn error(&mut self, path: PathRef<'_>, message: String) {
        self.out
            .push(Diagnostic::at_path(path.to_key_path(), message));
    }

    /// `image`/`build`, `scale`, `container_name`, `hostname` and `healthcheck.test`.
    fn settings(&mut self) {
        let (name, service, base) = (self.name, self.service, self.base);
        if service.image.is_none() && service.build.is_none() {
            self.error(
                base,
                format!("service `{name}` has neither `image` nor `build`: give one of them"),
            );
        }
        if let (Some(scale), Some(replicas)) = (
            service.scale,
            service.deploy.as_ref().and_then(|deploy| deploy.replicas),
        ) {
            if scale != replicas {
                self.error(
                    base.key("scale"),
                    format!(
                        "`scale` ({scale}) and `deploy.replicas` ({replicas}) disagree: give one \
                         of them, or the same value in both"
                    ),
                );
            }
        }
        if let Some(container_name) = &service.container_name {
            let path = base.key("container_name");
            if !is_container_name(container_name) {
                self.error(
                    path,
                    format!(
                        "invalid container name `{container_name}`: expected a letter or digit, \
                         then letters, digits, `_`, `.` or `-`"
                    ),
                );
            }
            let replicas = service.replicas();
            if replicas > 1 {
                let from = if service.scale.is_some() {
                    "scale"
                } else {
                    "deploy.replicas"
                };
                self.error(
                    path,
                    format!(
                        "`container_name` cannot be used with {replicas} replicas (from \
                         `{from}`): each container needs a name of its own"
                    ),
                );
            }
        }
        if let Some(hostname) = &service.hostname {
            if let Some(problem) = hostname_problem(hostname) {
                self.error(
                    base.key("hostname"),
                    format!(
                        "invalid hostname `{hostname}`: {problem}; expected labels of 1 to 63 \
                         letters, digits and `-` (not first or last) separated by dots"
                    ),
                );
            }
        }
        if let Some(first) = service
            .healthcheck
            .as_ref()
            .and_then(|check| check.test.first())
        {
            if !matches!(first.as_str(), "CMD" | "CMD-SHELL" | "NONE") {
                self.error(
                    base.key("healthcheck").key("test"),
                    format!(
                        "`healthcheck.test` must start with CMD, CMD-SHELL or NONE, not `{first}`"
                    ),
                );
            }
        }
    }

    /// `network_mode`, and the `service:`/`container:` forms of `ipc` and `pid`.
    fn namespaces(&mut self) {
        let (service, base) = (self.service, self.base);
        if let Some(mode) = &service.network_mode {
            let path = base.key("network_mode");
            match mode.split_once(':') {
                _ if matches!(mode.as_str(), "none" | "host" | "bridge") => {}
                Some(("service" | "container", "")) => self.error(
                    path,
                    format!("`network_mode: {mode}` needs a name after `:`"),
                ),
                Some(("service" | "container", _)) => {}
                _ => self.error(
                    path,
                    format!(
                        "unknown network_mode `{mode}`: expected none, host, bridge, \
                         service:NAME or container:NAME"
                    ),
                ),
            }
            if !service.networks.is_empty() {
                self.error(
                    path,
                    "`network_mode` and `networks` cannot be used together".to_string(),
                );
            }
        }
        for (key, value) in [("ipc", &service.ipc), ("pid", &service.pid)] {
            if let Some(value @ ("service:" | "container:")) = value.as_deref() {
                self.error(
                    base.key(key),
                    format!("`{key}: {value}` needs a name after `:`"),
                );
            }
        }
    }

    /// References to other services, and the forms of `volumes_from` and `links`.
    fn service_references(&mut self) {
        let (project, name, service, base) = (self.project, self.name, self.service, self.base);
        let other_services = || {
            project
                .services
                .keys()
                .map(String::as_str)
                .filter(move |other| *other != name)
        };
        let mut undefined = Vec::new();
        visit_dependencies(service, |at, dependency| {
            let optional = matches!(
                dependency.kind,
                DepKind::DependsOn {
                    required: false,
                    ..
                }
            );
            if !optional && !project.services.contains_key(&dependency.service) {
                let mut message = format!(
                    "`{}` refers to undefined service `{}`",
                    dependency.kind.key(),
                    dependency.service
                );
                if let Some(close) = suggest(&dependency.service, other_services()) {
                    message.push_str(&format!(": did you mean `{close}`?"));
                }
                undefined.push(Diagnostic::at_path(join(base, at.key_path()), message));
            }
        });
        self.out.extend(undefined);
        for (i, entry) in service.volumes_from.iter().enumerate() {
            let source = VolumesFrom::parse(entry);
            let volumes_from = base.key("volumes_from");
            let path = volumes_from.index(i);
            if source.name.is_empty() {
                self.error(
                    path,
                    format!(
                        "`volumes_from` entry `{entry}` names no service: expected NAME, \
                         service:NAME or container:NAME, optionally followed by :ro or :rw"
                    ),
                );
            } else if let Some(mode) = source.mode.filter(|mode| !matches!(*mode, "ro" | "rw")) {
                self.error(
                    path,
                    format!(
                        "unknown mode `{mode}` in `volumes_from` entry `{entry}`: expected ro or rw"
                    ),
                );
            }
        }
        for (i, link) in service.links.iter().enumerate() {
            if link.starts_with(':') || link.is_empty() {
                self.error(
                    base.key("links").index(i),
                    format!("`links` entry `{link}` names no service: expected NAME or NAME:ALIAS"),
                );
            }
        }
    }

    /// `condition: service_healthy` on a dependency that has no healthcheck.
    fn healthy_dependencies(&mut self) {
        let (project, service, base) = (self.project, self.service, self.base);
        for (dependency, depends_on) in &service.depends_on {
            if depends_on.condition != DependsCondition::ServiceHealthy {
                continue;
            }
            let Some(target) = project.services.get(dependency) else {
                continue;
            };
            let depends_on_path = base.key("depends_on");
            let path = depends_on_path.key(dependency.as_str());
            match &target.healthcheck {
                // The image may define a HEALTHCHECK: only the runtime can tell.
                None => self.out.push(Diagnostic::warning(
                    None,
                    path.to_key_path(),
                    format!(
                        "`condition: service_healthy` waits for a healthcheck on `{dependency}`, \
                         which defines none: its image must have a HEALTHCHECK"
                    ),
                )),
                Some(check) if check.disable || check.test == ["NONE"] => self.error(
                    path,
                    format!(
                        "`condition: service_healthy` needs a healthcheck on `{dependency}`, \
                         whose healthcheck is disabled: enable it, or use \
                         `condition: service_started`"
                    ),
                ),
                Some(_) => {}
            }
        }
    }

    /// Networks, named volumes, secrets and configs the service uses must be defined.
    fn resource_references(&mut self) {
        let (project, service, base) = (self.project, self.service, self.base);
        let networks =
            || std::iter::once("default").chain(project.networks.keys().map(String::as_str));
        for network in service.networks.keys() {
            if network != "default" && !project.networks.contains_key(network) {
                self.error(
                    base.key("networks").key(network.as_str()),
                    undefined("network", network, "networks", networks()),
                );
            }
        }

        for (i, volume) in service.volumes.iter().enumerate() {
            let Some(source) = volume.source.as_deref().filter(|s| !s.is_empty()) else {
                continue;
            };
            if volume.type_ == VolumeType::Volume && !project.volumes.contains_key(source) {
                self.error(
                    base.key("volumes").index(i).key("source"),
                    undefined(
                        "volume",
                        source,
                        "volumes",
                        project.volumes.keys().map(String::as_str),
                    ),
                );
            }
        }
        for (key, what, references, defined) in [
            ("secrets", "secret", &service.secrets, &project.secrets),
            ("configs", "config", &service.configs, &project.configs),
        ] {
            for (i, reference) in references.iter().enumerate() {
                if !defined.contains_key(&reference.source) {
                    self.error(
                        base.key(key).index(i).key("source"),
                        undefined(
                            what,
                            &reference.source,
                            key,
                            defined.keys().map(String::as_str),
                        ),
                    );
                }
            }
        }
    }

    /// Volume and tmpfs targets are absolute paths.
    fn mount_targets(&mut self) {
        let (service, base) = (self.service, self.base);
        for (i, volume) in service.volumes.iter().enumerate() {
            if !volume.target.starts_with('/') {
                self.error(
                    base.key("volumes").index(i).key("target"),
                    format!(
                        "volume target `{}` is not an absolute path: paths in the container \
                         start with /",
                        volume.target
                    ),
                );
            }
        }
        for (i, tmpfs) in service.tmpfs.iter().enumerate() {
            let target = tmpfs.split(':').next().unwrap_or_default();
            if !target.starts_with('/') {
                self.error(
                    base.key("tmpfs").index(i),
                    format!(
                        "tmpfs target `{target}` is not an absolute path: paths in the container \
                         start with /"
                    ),
                );
            }
        }
    }
}

/// `[a-zA-Z0-9][a-zA-Z0-9_.-]*`, as Docker accepts container names.
fn is_container_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
}

/// What makes `hostname` invalid by RFC 1123 (and the kernel's 64-byte limit), if
/// anything.
fn hostname_problem(hostname: &str) -> Option<String> {
    if hostname.len() > 64 {
        return Some(format!(
            "it is {} characters long, and the kernel takes at most 64",
            hostname.len()
        ));
    }
    for label in hostname.split('.') {
        if label.is_empty() {
            return Some("it has an empty label".to_string());
        }
        if label.len() > 63 {
            return Some(format!("label `{label}` is longer than 63 characters"));
        }
        if let Some(bad) = label
            .chars()
            .find(|c| !c.is_ascii_alphanumeric() && *c != '-')
        {
            return Some(format!("label `{label}` contains `{bad}`"));
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Some(format!("label `{label}` starts or ends with `-`"));
        }
    }
    None
}

/// One cycle per group of services that depend on each other, at the key that makes the
/// first service of the cycle depend on the next.
fn check_cycles(project: &Project, out: &mut Vec<Diagnostic>) {
    let Err(errors) = ServiceGraph::from_project(project) else {
        return;
    };
    for error in errors.0 {
        let GraphError::Cycle { path } = &error else {
            continue;
        };
        let (Some(first), Some(next)) = (path.first(), path.get(1)) else {
            continue;
        };
        let base = service_path(first);
        let location = project
            .services
            .get(first)
            .and_then(|service| {
                located_dependencies(service)
                    .into_iter()
                    .find(|(_, dependency)| &dependency.service == next)
            })
            .map_or(base.clone(), |(relative, _)| {
                join(PathRef::Base(&base), relative)
            });
        out.push(Diagnostic::at_path(location, error.to_string()));
    }
}

fn check_container_names_unique(project: &Project, out: &mut Vec<Diagnostic>) {
    let mut seen: BTreeMap<&str, &str> = BTreeMap::new();
    for (name, service) in &project.services {
        let Some(container_name) = service.container_name.as_deref() else {
            continue;
        };
        match seen.get(container_name) {
            Some(first) => out.push(Diagnostic::at_path(
                service_path(name).key("container_name"),
                format!("container name `{container_name}` is already used by service `{first}`"),
            )),
            None => {
                seen.insert(container_name, name);
            }
        }
    }
}

/// The host address a port is published on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum HostIp<'a> {
    /// No `host_ip`: every address of both families.
    All,
    /// `0.0.0.0` (`ipv4: true`) or `::`: every address of one family.
    Any {
        ipv4: bool,
    },
    Ip(IpAddr),
    /// Not an IP address (the schema or normalization reports it); compared as text.
    Text(&'a str),
}

impl<'a> HostIp<'a> {
    fn new(host_ip: Option<&'a str>) -> Self {
        match host_ip.filter(|ip| !ip.is_empty()) {
            None => HostIp::All,
            Some(text) => match text.parse::<IpAddr>() {
                Ok(ip) if ip.is_unspecified() => HostIp::Any { ipv4: ip.is_ipv4() },
                Ok(ip) => HostIp::Ip(ip),
                Err(_) => HostIp::Text(text),
            },
        }
    }

    /// Whether listening on both at once is impossible.
    fn clashes(self, other: HostIp) -> bool {
        match (self, other) {
            (HostIp::All, _) | (_, HostIp::All) => true,
            (HostIp::Any { ipv4: a }, HostIp::Any { ipv4: b }) => a == b,
            (HostIp::Any { ipv4 }, HostIp::Ip(ip)) | (HostIp::Ip(ip), HostIp::Any { ipv4 }) => {
                ip.is_ipv4() == ipv4
            }
            (HostIp::Ip(a), HostIp::Ip(b)) => a == b,
            (HostIp::Text(a), HostIp::Text(b)) => a == b,
            _ => false,
        }
    }
}

/// One fixed host port, as shown in messages: `8080/tcp`, `127.0.0.1:8080/tcp`,
/// `[::1]:8080/tcp`.
struct Published<'a> {
    /// The service and the index of the entry in its `ports`.
    at: (&'a str, usize),
    host: HostIp<'a>,
    port: u16,
    protocol: &'a str,
}

impl fmt::Display for Published<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.host {
            HostIp::All => {}
            HostIp::Any { ipv4: true } => f.write_str("0.0.0.0:")?,
            HostIp::Any { ipv4: false } => f.write_str("[::]:")?,
            HostIp::Ip(IpAddr::V6(ip)) => write!(f, "[{ip}]:")?,
            HostIp::Ip(ip) => write!(f, "{ip}:")?,
            HostIp::Text(text) => write!(f, "{text}:")?,
        }
        write!(f, "{}/{}", self.port, self.protocol)
    }
}

/// A fixed host port published twice (on addresses that overlap, for the same protocol)
/// is reported at the later entry. Ports without `published` and host port ranges (a
/// free port is picked from the range) never clash; one port on a service with several
/// replicas is fine (rcompose balances it over them).
fn check_ports(project: &Project, out: &mut Vec<Diagnostic>) {
    // Only a port published with the same number and protocol can clash: each such
    // group, in order.
    let mut published: HashMap<(u16, &str), Vec<Published>> = HashMap::new();
    let path = |(name, i): (&str, usize)| service_path(name).key("ports").index(i);
    for (name, service) in &project.services {
        for (i, port) in service.ports.iter().enumerate() {
            let Some(number) = port
                .published
                .as_deref()
                .and_then(|text| text.parse::<u16>().ok())
                .filter(|number| *number != 0)
            else {
                continue;
            };
            let this = Published {
                at: (name, i),
                host: HostIp::new(port.host_ip.as_deref()),
                port: number,
                protocol: &port.protocol,
            };
            let same = published.entry((this.port, this.protocol)).or_default();
            let earlier = same.iter().find(|other| other.host.clashes(this.host));
            if let Some(other) = earlier {
                let (shown, other_shown) = (this.to_string(), other.to_string());
                let message = if shown == other_shown {
                    format!(
                        "host port {shown} is already published at {}",
                        path(other.at)
                    )
                } else {
                    format!(
                        "host port {shown} overlaps {other_shown}, published at {}",
                        path(other.at)
                    )
                };
                out.push(Diagnostic::at_path(path(this.at), message));
            }
            same.push(this);
        }
    }
}

/// An address block: an address and a prefix length (`172.28.0.0/16`, `fd00::/64`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Cidr {
    addr: IpAddr,
    prefix: u32,
}

impl Cidr {
    fn parse(text: &str) -> Option<Cidr> {
        let (addr, prefix) = text.split_once('/')?;
        let addr: IpAddr = addr.parse().ok()?;
        if prefix.is_empty() || !prefix.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let prefix: u32 = prefix.parse().ok()?;
        (prefix <= width(addr)).then_some(Cidr { addr, prefix })
    }

    /// The block with the bits after the prefix cleared.
    fn masked(self) -> Cidr {
        let bits = to_bits(self.addr) & self.mask();
        Cidr {
            addr: from_bits(bits, self.addr.is_ipv4()),
            prefix: self.prefix,
        }
    }

    fn mask(self) -> u128 {
        let ones = u128::MAX.checked_shl(128 - self.prefix).unwrap_or(0);
        ones >> (128 - width(self.addr))
    }

    fn contains(self, ip: IpAddr) -> bool {
        ip.is_ipv4() == self.addr.is_ipv4()
            && to_bits(ip) & self.mask() == to_bits(self.addr) & self.mask()
    }

    /// `other` lies entirely within `self`.
    fn covers(self, other: Cidr) -> bool {
        other.prefix >= self.prefix && self.contains(other.addr)
    }

    fn overlaps(self, other: Cidr) -> bool {
        self.covers(other) || other.covers(self)
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

fn width(ip: IpAddr) -> u32 {
    if ip.is_ipv4() {
        32
    } else {
        128
    }
}

fn to_bits(ip: IpAddr) -> u128 {
    match ip {
        IpAddr::V4(ip) => u32::from(ip).into(),
        IpAddr::V6(ip) => ip.into(),
    }
}

fn from_bits(bits: u128, ipv4: bool) -> IpAddr {
    if ipv4 {
        // The caller masked `bits` to 32 bits.
        IpAddr::V4(Ipv4Addr::from(bits as u32))
    } else {
        IpAddr::V6(Ipv6Addr::from(bits))
    }
}

const CIDR_FORM: &str =
    "expected an IP address and a prefix length, e.g. 172.28.0.0/16 or fd00:1::/64";

/// A CIDR field of `ipam.config` (`subnet`, `ip_range`), reported when it does not parse
/// or has bits set after its prefix; the masked block is returned either way.
fn parse_block(key: &str, text: &str, path: KeyPath, out: &mut Vec<Diagnostic>) -> Option<Cidr> {
    let Some(block) = Cidr::parse(text) else {
        out.push(Diagnostic::at_path(
            path,
            format!("{key} `{text}` is not an address block: {CIDR_FORM}"),
        ));
        return None;
    };
    let masked = block.masked();
    if masked != block {
        out.push(Diagnostic::at_path(
            path,
            format!("{key} `{text}` has bits set after its prefix: did you mean `{masked}`?"),
        ));
    }
    Some(masked)
}

/// The `ipam.config` entries of a network the project creates (external networks are
/// left alone).
fn check_ipam(name: &str, network: &Network, out: &mut Vec<Diagnostic>) {
    if network.external {
        return;
    }
    let base = KeyPath::root()
        .key("networks")
        .key(name)
        .key("ipam")
        .key("config");
    for (i, pool) in network.ipam.config.iter().enumerate() {
        let path = base.index(i);
        let subnet = match &pool.subnet {
            Some(text) => parse_block("subnet", text, path.key("subnet"), out),
            None => {
                out.push(Diagnostic::at_path(
                    path.clone(),
                    "an `ipam.config` entry needs a `subnet`, e.g. 172.28.0.0/16",
                ));
                None
            }
        };
        let mut check_address = |what: &str, text: &str, path: KeyPath| match text.parse::<IpAddr>()
        {
            Err(_) => out.push(Diagnostic::at_path(
                path,
                format!("{what} `{text}` is not an IP address"),
            )),
            Ok(ip) => {
                if let Some(subnet) = subnet.filter(|subnet| !subnet.contains(ip)) {
                    out.push(Diagnostic::at_path(
                        path,
                        format!("{what} `{text}` is outside subnet `{subnet}`"),
                    ));
                }
            }
        };
        if let Some(gateway) = &pool.gateway {
            check_address("gateway", gateway, path.key("gateway"));
        }
        for (host, address) in &pool.aux_addresses {
            check_address(
                "aux address",
                address,
                path.key("aux_addresses").key(host.as_str()),
            );
        }
        if let Some(range) = &pool.ip_range {
            let range_path = path.key("ip_range");
            let block = parse_block("ip_range", range, range_path.clone(), out);
            if let (Some(block), Some(subnet)) = (block, subnet) {
                if !subnet.covers(block) {
                    out.push(Diagnostic::at_path(
                        range_path,
                        format!("ip_range `{range}` is outside subnet `{subnet}`"),
                    ));
                }
            }
        }
    }
}

/// The subnets of networks the project creates, each with its path and network.
fn project_subnets(project: &Project) -> Vec<(&str, KeyPath, Cidr)> {
    let mut subnets = Vec::new();
    for (name, network) in project.networks.iter().filter(|(_, n)| !n.external) {
        for (i, pool) in network.ipam.config.iter().enumerate() {
            if let Some(block) = pool.subnet.as_deref().and_then(Cidr::parse) {
                let path = KeyPath::root()
                    .key("networks")
                    .key(name.as_str())
                    .key("ipam")
                    .key("config")
                    .index(i)
                    .key("subnet");
                subnets.push((name.as_str(), path, block.masked()));
            }
        }
    }
    subnets
}

/// Two subnets of the project's networks that share addresses: the later one is reported.
fn check_subnet_overlaps(project: &Project, out: &mut Vec<Diagnostic>) {
    let subnets = project_subnets(project);
    for (later, (_, path, block)) in subnets.iter().enumerate() {
        let earlier = subnets
            .iter()
            .take(later)
            .find(|(_, _, other)| other.overlaps(*block));
        if let Some((network, _, other)) = earlier {
            out.push(Diagnostic::at_path(
                path.clone(),
                format!("subnet `{block}` overlaps subnet `{other}` of network `{network}`"),
            ));
        }
    }
}

/// `ipv4_address` / `ipv6_address` of service attachments: of the right family, inside
/// a configured subnet of that network, and not given twice on one network.
fn check_fixed_addresses(project: &Project, out: &mut Vec<Diagnostic>) {
    let mut taken: BTreeMap<(&str, IpAddr), &str> = BTreeMap::new();
    for (name, service) in &project.services {
        for (network_key, attachment) in &service.networks {
            let Some(attachment) = attachment else {
                continue;
            };
            let network = project.networks.get(network_key);
            if network.is_none() && network_key != "default" {
                continue; // reported as an undefined network
            }
            let base = service_path(name).key("networks").key(network_key.as_str());
            for (key, family, address, ipv4) in [
                ("ipv4_address", "IPv4", &attachment.ipv4_address, true),
                ("ipv6_address", "IPv6", &attachment.ipv6_address, false),
            ] {
                let Some(text) = address else {
                    continue;
                };
                let path = base.key(key);
                let parsed = if ipv4 {
                    text.parse::<Ipv4Addr>().map(IpAddr::V4).ok()
                } else {
                    text.parse::<Ipv6Addr>().map(IpAddr::V6).ok()
                };
                let Some(ip) = parsed else {
                    out.push(Diagnostic::at_path(
                        path,
                        format!("{key} `{text}` is not an {family} address"),
                    ));
                    continue;
                };
                if let Some(first) = taken.get(&(network_key.as_str(), ip)) {
                    out.push(Diagnostic::at_path(
                        path,
                        format!(
                            "{key} `{text}` on network `{network_key}` is already given to \
                             service `{first}`"
                        ),
                    ));
                    continue;
                }
                taken.insert((network_key.as_str(), ip), name);
                if let Some(message) = outside_subnets(network, network_key, key, family, text, ip)
                {
                    out.push(Diagnostic::at_path(path, message));
                }
            }
        }
    }
}

/// Why `ip` cannot be a fixed address on `network`, if it cannot.
fn outside_subnets(
    network: Option<&Network>,
    network_key: &str,
    key: &str,
    family: &str,
    text: &str,
    ip: IpAddr,
) -> Option<String> {
    let pools = network.map_or(&[][..], |network| network.ipam.config.as_slice());
    if network.is_some_and(|network| network.external) {
        return None; // its subnets are not known here
    }
    let mut subnets = Vec::new();
    for text in pools.iter().filter_map(|pool| pool.subnet.as_deref()) {
        match Cidr::parse(text) {
            Some(block) if block.addr.is_ipv4() == ip.is_ipv4() => subnets.push(block.masked()),
            Some(_) => {}
            None => return None, // the bad subnet is reported
        }
    }
    if subnets.is_empty() {
        return Some(format!(
            "{key} needs `ipam.config` with an {family} subnet on network `{network_key}`"
        ));
    }
    if subnets.iter().any(|subnet| subnet.contains(ip)) {
        return None;
    }
    let listed: Vec<String> = subnets.iter().map(Cidr::to_string).collect();
    Some(format!(
        "{key} `{text}` is outside the {family} subnets of network `{network_key}`: {}",
        listed.join(", ")
    ))
}

/// Top-level secrets and configs the project provides must say where their content is.
fn check_file_objects(project: &Project, out: &mut Vec<Diagnostic>) {
    for (name, secret) in project.secrets.iter().filter(|(_, s)| !s.external) {
        if secret.file.is_none() && secret.environment.is_none() {
            out.push(Diagnostic::at_path(
                KeyPath::root().key("secrets").key(name.as_str()),
                format!(
                    "secret `{name}` has no content: give `file` or `environment`, or mark \
                     it `external: true`"
                ),
            ));
        }
    }
    for (name, config) in project.configs.iter().filter(|(_, c)| !c.external) {
        if config.file.is_none() && config.environment.is_none() && config.content.is_none() {
            out.push(Diagnostic::at_path(
                KeyPath::root().key("configs").key(name.as_str()),
                format!(
                    "config `{name}` has no content: give `file`, `environment` or `content`, \
                     or mark it `external: true`"
                ),
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::model::{
        BuildConfig, DependsOn, Deploy, FileObject, FileReference, Healthcheck, Ipam, IpamPool,
        PortConfig, ServiceNetwork, ServiceVolume, Volume,
    };
    use crate::spec::syntax::{parse_ports, parse_volume};

    fn service() -> Service {
        Service {
            image: Some("busybox".to_string()),
            ..Service::default()
        }
    }

    fn project(services: Vec<(&str, Service)>) -> Project {
        Project {
            name: "demo".to_string(),
            services: services
                .into_iter()
                .map(|(name, service)| (name.to_string(), service))
                .collect(),
            ..Project::default()
        }
    }

    /// Each problem as `(path, message)`.
    fn problems(project: &Project) -> Vec<(String, String)> {
        validate(project)
            .into_iter()
            .map(|d| {
                assert!(d.is_error() && d.span.is_none());
                (d.path.to_string(), d.message)
            })
            .collect()
    }

    fn problem(path: &str, message: &str) -> (String, String) {
        (path.to_string(), message.to_string())
    }

    fn strings(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    fn depends(condition: DependsCondition, required: bool) -> DependsOn {
        DependsOn {
            condition,
            required,
            restart: false,
        }
    }

    fn ports(specs: &[&str]) -> Vec<PortConfig> {
        specs
            .iter()
            .flat_map(|spec| parse_ports(spec).unwrap())
            .collect()
    }

    fn network(subnets: &[&str]) -> Network {
        Network {
            name: "net".to_string(),
            ipam: Ipam {
                config: subnets
                    .iter()
                    .map(|subnet| IpamPool {
                        subnet: Some(subnet.to_string()),
                        ..IpamPool::default()
                    })
                    .collect(),
                ..Ipam::default()
            },
            ..Network::default()
        }
    }

    fn attach(ipv4: Option<&str>, ipv6: Option<&str>) -> Option<ServiceNetwork> {
        Some(ServiceNetwork {
            ipv4_address: ipv4.map(str::to_string),
            ipv6_address: ipv6.map(str::to_string),
            ..ServiceNetwork::default()
        })
    }

    #[test]
    fn a_sound_project_has_no_problems() {
        let mut web = service();
        web.depends_on = BTreeMap::from([(
            "db".to_string(),
            depends(DependsCondition::ServiceHealthy, true),
        )]);
        web.ports = ports(&["8080:80", "127.0.0.1:9090:90", "53:53/udp", "3000"]);
        web.networks = BTreeMap::from([
            ("default".to_string(), None),
            ("back".to_string(), attach(Some("10.5.0.10"), None)),
        ]);
        web.volumes = vec![
            parse_volume("data:/data:ro").unwrap(),
            parse_volume("/srv:/srv").unwrap(),
            parse_volume("/cache").unwrap(),
        ];
        web.tmpfs = strings(&["/run:size=64m", "/tmp"]);
        web.secrets = vec![FileReference {
            source: "token".to_string(),
            ..FileReference::default()
        }];
        web.hostname = Some("web-1.example.com".to_string());
        web.container_name = Some("demo_web.1".to_string());
        web.links = strings(&["db:database"]);
        web.volumes_from = strings(&["db:ro", "container:legacy"]);
        web.deploy = Some(Deploy {
            replicas: Some(1),
            ..Deploy::default()
        });
        web.scale = Some(1);
        let mut db = Service {
            image: None,
            build: Some(BuildConfig {
                context: "/app/db".to_string(),
                ..BuildConfig::default()
            }),
            ..Service::default()
        };
        db.healthcheck = Some(Healthcheck {
            test: strings(&["CMD", "pg_isready"]),
            ..Healthcheck::default()
        });
        db.ports = ports(&["127.0.0.2:9090:90", "9000-9010:5432", "8080:80/udp"]);
        let mut vpn = service();
        vpn.network_mode = Some("host".to_string());
        vpn.scale = Some(3);
        vpn.ports = ports(&["7000:7000"]);
        let mut project = project(vec![("web", web), ("db", db), ("vpn", vpn)]);
        project.networks = BTreeMap::from([("back".to_string(), network(&["10.5.0.0/16"]))]);
        project.volumes = BTreeMap::from([("data".to_string(), Volume::default())]);
        project.secrets = BTreeMap::from([(
            "token".to_string(),
            FileObject {
                file: Some("/app/token".to_string()),
                ..FileObject::default()
            },
        )]);
        assert_eq!(problems(&project), vec![]);
    }

    #[test]
    fn service_references_to_undefined_services_suggest_close_names() {
        let mut web = service();
        web.depends_on = BTreeMap::from([
            (
                "dbb".to_string(),
                depends(DependsCondition::ServiceStarted, true),
            ),
            (
                "metrics".to_string(),
                depends(DependsCondition::ServiceHealthy, false),
            ),
        ]);
        web.network_mode = Some("service:vnp".to_string());
        web.volumes_from = strings(&["service:store:ro", "container:gone"]);
        web.links = strings(&["cache:redis"]);
        web.ipc = Some("service:ipcd".to_string());
        web.pid = Some("service:web2".to_string());
        let project = project(vec![
            ("web", web),
            ("db", service()),
            ("vpn", service()),
            ("caches", service()),
        ]);
        assert_eq!(
            problems(&project),
            vec![
                problem(
                    "services.web.depends_on.dbb",
                    "`depends_on` refers to undefined service `dbb`: did you mean `db`?"
                ),
                problem(
                    "services.web.network_mode",
                    "`network_mode` refers to undefined service `vnp`: did you mean `vpn`?"
                ),
                problem(
                    "services.web.volumes_from[0]",
                    "`volumes_from` refers to undefined service `store`"
                ),
                problem(
                    "services.web.links[0]",
                    "`links` refers to undefined service `cache`: did you mean `caches`?"
                ),
                problem(
                    "services.web.ipc",
                    "`ipc` refers to undefined service `ipcd`"
                ),
                // `web` itself is never suggested.
                problem(
                    "services.web.pid",
                    "`pid` refers to undefined service `web2`"
                ),
            ]
        );
    }

    #[test]
    fn empty_names_and_bad_modes_in_service_references() {
        let mut web = service();
        web.ipc = Some("service:".to_string());
        web.pid = Some("container:".to_string());
        web.volumes_from = strings(&["service:", "db:rx", "container:c1:ro"]);
        web.links = strings(&[":alias", "db"]);
        let project = project(vec![("web", web), ("db", service())]);
        assert_eq!(
            problems(&project),
            vec![
                problem("services.web.ipc", "`ipc: service:` needs a name after `:`"),
                problem(
                    "services.web.pid",
                    "`pid: container:` needs a name after `:`"
                ),
                problem(
                    "services.web.volumes_from[0]",
                    "`volumes_from` entry `service:` names no service: expected NAME, \
                     service:NAME or container:NAME, optionally followed by :ro or :rw"
                ),
                problem(
                    "services.web.volumes_from[1]",
                    "unknown mode `rx` in `volumes_from` entry `db:rx`: expected ro or rw"
                ),
                problem(
                    "services.web.links[0]",
                    "`links` entry `:alias` names no service: expected NAME or NAME:ALIAS"
                ),
            ]
        );
    }

    #[test]
    fn undefined_networks_volumes_secrets_and_configs() {
        let mut web = service();
        web.networks = BTreeMap::from([
            ("default".to_string(), None),
            ("bakc".to_string(), None),
            ("front".to_string(), None),
            ("elsewhere".to_string(), None),
        ]);
        web.volumes = vec![
            parse_volume("dta:/data").unwrap(),
            parse_volume("/host:/host").unwrap(),
            parse_volume("/anonymous").unwrap(),
            parse_volume("logs:/logs").unwrap(),
        ];
        web.secrets = vec![FileReference {
            source: "tokn".to_string(),
            ..FileReference::default()
        }];
        web.configs = vec![
            FileReference {
                source: "nginx".to_string(),
                ..FileReference::default()
            },
            FileReference {
                source: "app".to_string(),
                ..FileReference::default()
            },
        ];
        let mut project = project(vec![("web", web)]);
        project.networks = BTreeMap::from([
            ("back".to_string(), Network::default()),
            ("front".to_string(), Network::default()),
        ]);
        project.volumes = BTreeMap::from([("data".to_string(), Volume::default())]);
        let file = FileObject {
            file: Some("/f".to_string()),
            ..FileObject::default()
        };
        project.secrets = BTreeMap::from([("token".to_string(), file.clone())]);
        project.configs = BTreeMap::from([("nginx".to_string(), file)]);
        assert_eq!(
            problems(&project),
            vec![
                problem(
                    "services.web.networks.bakc",
                    "undefined network `bakc`: did you mean `back`?"
                ),
                problem(
                    "services.web.networks.elsewhere",
                    "undefined network `elsewhere`: define it under the top-level `networks`"
                ),
                problem(
                    "services.web.volumes[0].source",
                    "undefined volume `dta`: did you mean `data`?"
                ),
                problem(
                    "services.web.volumes[3].source",
                    "undefined volume `logs`: define it under the top-level `volumes`"
                ),
                problem(
                    "services.web.secrets[0].source",
                    "undefined secret `tokn`: did you mean `token`?"
                ),
                problem(
                    "services.web.configs[1].source",
                    "undefined config `app`: define it under the top-level `configs`"
                ),
            ]
        );
    }

    #[test]
    fn each_dependency_cycle_is_reported_once_at_its_first_edge() {
        let mut a = service();
        a.links = strings(&["x", "b:bee"]);
        let mut b = service();
        b.depends_on = BTreeMap::from([(
            "c".to_string(),
            depends(DependsCondition::ServiceStarted, false),
        )]);
        let mut c = service();
        c.volumes_from = strings(&["a:ro"]);
        let mut d = service();
        d.network_mode = Some("service:e".to_string());
        let mut e = service();
        e.depends_on = BTreeMap::from([(
            "d".to_string(),
            depends(DependsCondition::ServiceStarted, true),
        )]);
        let mut solo = service();
        solo.pid = Some("service:solo".to_string());
        let project = project(vec![
            ("a", a),
            ("b", b),
            ("c", c),
            ("d", d),
            ("e", e),
            ("solo", solo),
            ("x", service()),
        ]);
        assert_eq!(
            problems(&project),
            vec![
                problem("services.a.links[1]", "dependency cycle: a -> b -> c -> a"),
                problem("services.d.network_mode", "dependency cycle: d -> e -> d"),
                problem("services.solo.pid", "dependency cycle: solo -> solo"),
            ]
        );
    }

    #[test]
    fn network_mode_values_and_networks() {
        let mode = |value: &str, networks: &[&str]| Service {
            network_mode: Some(value.to_string()),
            networks: networks.iter().map(|n| (n.to_string(), None)).collect(),
            ..service()
        };
        let project = project(vec![
            ("a", mode("none", &[])),
            ("b", mode("bridge", &[])),
            ("c", mode("container:abc", &[])),
            ("d", mode("host", &["default"])),
            ("e", mode("vpn", &[])),
            ("f", mode("service:", &[])),
            ("g", mode("service:a", &[])),
        ]);
        assert_eq!(
            problems(&project),
            vec![
                problem(
                    "services.d.network_mode",
                    "`network_mode` and `networks` cannot be used together"
                ),
                problem(
                    "services.e.network_mode",
                    "unknown network_mode `vpn`: expected none, host, bridge, service:NAME \
                     or container:NAME"
                ),
                problem(
                    "services.f.network_mode",
                    "`network_mode: service:` needs a name after `:`"
                ),
            ]
        );
    }

    #[test]
    fn a_host_port_published_twice_is_reported_at_the_later_entry() {
        let mut api = service();
        api.ports = ports(&[
            "8080:80",
            "0.0.0.0:9000:9000",
            "[::1]:7000:7000",
            "5000:5000",
        ]);
        let mut web = service();
        web.scale = Some(3);
        // 8081-8082 expands to two entries; 8081 is then published twice in web.
        web.ports = ports(&[
            "8080:8080",
            "127.0.0.1:9000:9000",
            "8081-8082:81-82",
            "8081:83",
            "8080:80/udp",
            "[::]:7000:7000",
            "0.0.0.0:7000:7001",
            "5000-5010:5000",
            "6000",
        ]);
        let project = project(vec![("api", api), ("web", web)]);
        assert_eq!(
            problems(&project),
            vec![
                problem(
                    "services.web.ports[0]",
                    "host port 8080/tcp is already published at services.api.ports[0]"
                ),
                problem(
                    "services.web.ports[1]",
                    "host port 127.0.0.1:9000/tcp overlaps 0.0.0.0:9000/tcp, published at \
                     services.api.ports[1]"
                ),
                problem(
                    "services.web.ports[4]",
                    "host port 8081/tcp is already published at services.web.ports[2]"
                ),
                problem(
                    "services.web.ports[6]",
                    "host port [::]:7000/tcp overlaps [::1]:7000/tcp, published at \
                     services.api.ports[2]"
                ),
            ]
        );
    }

    #[test]
    fn host_addresses_clash_by_family() {
        let all = HostIp::new(None);
        let any4 = HostIp::new(Some("0.0.0.0"));
        let any6 = HostIp::new(Some("::"));
        let lo4 = HostIp::new(Some("127.0.0.1"));
        let lo6 = HostIp::new(Some("::1"));
        assert!(all.clashes(lo6) && lo4.clashes(all) && all.clashes(all));
        assert!(any4.clashes(lo4) && any4.clashes(any4) && any6.clashes(lo6));
        assert!(!any4.clashes(lo6) && !any6.clashes(lo4) && !any4.clashes(any6));
        assert!(!lo4.clashes(HostIp::new(Some("127.0.0.2"))));
        assert_eq!(HostIp::new(Some("")), HostIp::All);
    }

    #[test]
    fn container_names_must_be_valid_unique_and_single() {
        let named = |name: &str| Service {
            container_name: Some(name.to_string()),
            ..service()
        };
        let mut scaled = named("worker");
        scaled.scale = Some(2);
        let mut deployed = named("deployed");
        deployed.deploy = Some(Deploy {
            replicas: Some(4),
            ..Deploy::default()
        });
        let project = project(vec![
            ("a", named("shared")),
            ("b", named("-bad")),
            ("c", named("shared")),
            ("d", scaled),
            ("e", deployed),
            ("f", named("")),
        ]);
        assert_eq!(
            problems(&project),
            vec![
                problem(
                    "services.b.container_name",
                    "invalid container name `-bad`: expected a letter or digit, then \
                     letters, digits, `_`, `.` or `-`"
                ),
                problem(
                    "services.d.container_name",
                    "`container_name` cannot be used with 2 replicas (from `scale`): each \
                     container needs a name of its own"
                ),
                problem(
                    "services.e.container_name",
                    "`container_name` cannot be used with 4 replicas (from \
                     `deploy.replicas`): each container needs a name of its own"
                ),
                problem(
                    "services.f.container_name",
                    "invalid container name ``: expected a letter or digit, then letters, \
                     digits, `_`, `.` or `-`"
                ),
                problem(
                    "services.c.container_name",
                    "container name `shared` is already used by service `a`"
                ),
            ]
        );
    }

    #[test]
    fn scale_must_agree_with_deploy_replicas() {
        let mut web = service();
        web.scale = Some(2);
        web.deploy = Some(Deploy {
            replicas: Some(3),
            ..Deploy::default()
        });
        let project = project(vec![("web", web)]);
        assert_eq!(
            problems(&project),
            vec![problem(
                "services.web.scale",
                "`scale` (2) and `deploy.replicas` (3) disagree: give one of them, or the \
                 same value in both"
            )]
        );
    }

    #[test]
    fn a_service_needs_an_image_or_a_build() {
        let project = project(vec![("web", Service::default())]);
        assert_eq!(
            problems(&project),
            vec![problem(
                "services.web",
                "service `web` has neither `image` nor `build`: give one of them"
            )]
        );
    }

    #[test]
    fn hostnames_follow_rfc_1123() {
        assert_eq!(hostname_problem("web"), None);
        assert_eq!(hostname_problem("a-1.b2.example"), None);
        assert_eq!(hostname_problem(&"a".repeat(63)), None);
        assert_eq!(
            hostname_problem(&"a".repeat(64)),
            Some(format!(
                "label `{}` is longer than 63 characters",
                "a".repeat(64)
            ))
        );
        assert_eq!(
            hostname_problem(&format!("{}.{}", "a".repeat(40), "b".repeat(40))),
            Some("it is 81 characters long, and the kernel takes at most 64".to_string())
        );
        assert_eq!(
            hostname_problem("a..b"),
            Some("it has an empty label".to_string())
        );
        assert_eq!(
            hostname_problem("web."),
            Some("it has an empty label".to_string())
        );
        assert_eq!(
            hostname_problem("my_host"),
            Some("label `my_host` contains `_`".to_string())
        );
        assert_eq!(
            hostname_problem("a.-b"),
            Some("label `-b` starts or ends with `-`".to_string())
        );
        let mut web = service();
        web.hostname = Some("web_1".to_string());
        assert_eq!(
            problems(&project(vec![("web", web)])),
            vec![problem(
                "services.web.hostname",
                "invalid hostname `web_1`: label `web_1` contains `_`; expected labels of \
                 1 to 63 letters, digits and `-` (not first or last) separated by dots"
            )]
        );
    }

    #[test]
    fn mount_targets_must_be_absolute() {
        let mut web = service();
        web.volumes = vec![
            ServiceVolume {
                type_: VolumeType::Bind,
                source: Some("/srv".to_string()),
                target: "srv".to_string(),
                ..ServiceVolume::default()
            },
            ServiceVolume {
                type_: VolumeType::Tmpfs,
                target: "run".to_string(),
                ..ServiceVolume::default()
            },
        ];
        web.tmpfs = strings(&["/ok", "tmp:size=1m"]);
        assert_eq!(
            problems(&project(vec![("web", web)])),
            vec![
                problem(
                    "services.web.volumes[0].target",
                    "volume target `srv` is not an absolute path: paths in the container \
                     start with /"
                ),
                problem(
                    "services.web.volumes[1].target",
                    "volume target `run` is not an absolute path: paths in the container \
                     start with /"
                ),
                problem(
                    "services.web.tmpfs[1]",
                    "tmpfs target `tmp` is not an absolute path: paths in the container \
                     start with /"
                ),
            ]
        );
    }

    #[test]
    fn service_healthy_needs_a_healthcheck_on_the_dependency() {
        let mut web = service();
        web.depends_on = BTreeMap::from([
            (
                "a".to_string(),
                depends(DependsCondition::ServiceHealthy, true),
            ),
            (
                "b".to_string(),
                depends(DependsCondition::ServiceHealthy, true),
            ),
            (
                "c".to_string(),
                depends(DependsCondition::ServiceHealthy, true),
            ),
            (
                "d".to_string(),
                depends(DependsCondition::ServiceHealthy, true),
            ),
            (
                "e".to_string(),
                depends(DependsCondition::ServiceStarted, true),
            ),
        ]);
        let with = |check: Healthcheck| Service {
            healthcheck: Some(check),
            ..service()
        };
        let project = project(vec![
            ("web", web),
            ("a", service()),
            (
                "b",
                with(Healthcheck {
                    disable: true,
                    ..Healthcheck::default()
                }),
            ),
            (
                "c",
                with(Healthcheck {
                    test: strings(&["NONE"]),
                    ..Healthcheck::default()
                }),
            ),
            // Only timings: the image's HEALTHCHECK test applies.
            (
                "d",
                with(Healthcheck {
                    retries: Some(3),
                    ..Healthcheck::default()
                }),
            ),
            ("e", service()),
        ]);
        let found: Vec<(bool, String, String)> = validate(&project)
            .into_iter()
            .map(|d| (d.is_error(), d.path.to_string(), d.message))
            .collect();
        assert_eq!(
            found,
            vec![
                (
                    false,
                    "services.web.depends_on.a".to_string(),
                    "`condition: service_healthy` waits for a healthcheck on `a`, which \
                     defines none: its image must have a HEALTHCHECK"
                        .to_string()
                ),
                (
                    true,
                    "services.web.depends_on.b".to_string(),
                    "`condition: service_healthy` needs a healthcheck on `b`, whose \
                     healthcheck is disabled: enable it, or use `condition: service_started`"
                        .to_string()
                ),
                (
                    true,
                    "services.web.depends_on.c".to_string(),
                    "`condition: service_healthy` needs a healthcheck on `c`, whose \
                     healthcheck is disabled: enable it, or use `condition: service_started`"
                        .to_string()
                ),
            ]
        );
    }

    #[test]
    fn healthcheck_test_starts_with_a_known_word() {
        let mut web = service();
        web.healthcheck = Some(Healthcheck {
            test: strings(&["curl", "-f", "http://localhost"]),
            ..Healthcheck::default()
        });
        assert_eq!(
            problems(&project(vec![("web", web)])),
            vec![problem(
                "services.web.healthcheck.test",
                "`healthcheck.test` must start with CMD, CMD-SHELL or NONE, not `curl`"
            )]
        );
    }

    #[test]
    fn cidrs_parse_mask_and_contain() {
        let cidr = |text: &str| Cidr::parse(text).unwrap();
        assert_eq!(cidr("10.1.2.3/8").masked(), cidr("10.0.0.0/8"));
        assert_eq!(cidr("10.1.2.3/0").masked(), cidr("0.0.0.0/0"));
        assert_eq!(cidr("10.1.2.3/32").masked(), cidr("10.1.2.3/32"));
        assert_eq!(cidr("fd00:1:2::5/32").masked(), cidr("fd00:1::/32"));
        assert_eq!(cidr("fd00::1/128").masked(), cidr("fd00::1/128"));
        for bad in [
            "10.0.0.0",
            "10.0.0.0/33",
            "10.0.0.0/",
            "10.0.0.0/+8",
            "fd00::/129",
            "x/8",
        ] {
            assert_eq!(Cidr::parse(bad), None, "{bad}");
        }
        assert!(cidr("10.0.0.0/8").contains("10.255.0.1".parse().unwrap()));
        assert!(!cidr("10.0.0.0/8").contains("11.0.0.1".parse().unwrap()));
        assert!(!cidr("0.0.0.0/0").contains("::1".parse().unwrap()));
        assert!(cidr("10.0.0.0/8").overlaps(cidr("10.3.0.0/16")));
        assert!(cidr("10.3.0.0/16").overlaps(cidr("10.0.0.0/8")));
        assert!(!cidr("10.0.0.0/16").overlaps(cidr("10.1.0.0/16")));
        assert!(!cidr("fd00::/8").overlaps(cidr("10.0.0.0/8")));
    }

    #[test]
    fn ipam_entries_must_be_valid_and_inside_their_subnet() {
        let pool = |subnet: Option<&str>, gateway: Option<&str>, range: Option<&str>| IpamPool {
            subnet: subnet.map(str::to_string),
            gateway: gateway.map(str::to_string),
            ip_range: range.map(str::to_string),
            ..IpamPool::default()
        };
        let mut with_aux = pool(Some("172.28.0.0/16"), Some("172.28.0.1"), None);
        with_aux.aux_addresses = BTreeMap::from([
            ("good".to_string(), "172.28.1.5".to_string()),
            ("far".to_string(), "172.29.1.5".to_string()),
            ("junk".to_string(), "host-1".to_string()),
        ]);
        let mut net = Network::default();
        net.ipam.config = vec![
            with_aux,
            pool(Some("10.0.0.1/24"), Some("10.0.1.1"), Some("10.0.0.0/23")),
            pool(Some("10.9.0.0/33"), Some("nope"), Some("10.9.0.0/24")),
            pool(None, Some("10.10.0.1"), None),
            pool(
                Some("fd00:1::/64"),
                Some("fd00:2::1"),
                Some("fd00:1::9/125"),
            ),
        ];
        let mut external = Network {
            external: true,
            ..Network::default()
        };
        external.ipam.config = vec![pool(Some("bogus"), None, None)];
        let mut project = project(vec![]);
        project.networks =
            BTreeMap::from([("back".to_string(), net), ("outside".to_string(), external)]);
        let at = |i: usize, rest: &str| format!("networks.back.ipam.config[{i}]{rest}");
        assert_eq!(
            problems(&project),
            vec![
                problem(
                    &at(0, ".aux_addresses.far"),
                    "aux address `172.29.1.5` is outside subnet `172.28.0.0/16`"
                ),
                problem(
                    &at(0, ".aux_addresses.junk"),
                    "aux address `host-1` is not an IP address"
                ),
                problem(
                    &at(1, ".subnet"),
                    "subnet `10.0.0.1/24` has bits set after its prefix: did you mean \
                     `10.0.0.0/24`?"
                ),
                problem(
                    &at(1, ".gateway"),
                    "gateway `10.0.1.1` is outside subnet `10.0.0.0/24`"
                ),
                problem(
                    &at(1, ".ip_range"),
                    "ip_range `10.0.0.0/23` is outside subnet `10.0.0.0/24`"
                ),
                problem(
                    &at(2, ".subnet"),
                    "subnet `10.9.0.0/33` is not an address block: expected an IP address \
                     and a prefix length, e.g. 172.28.0.0/16 or fd00:1::/64"
                ),
                problem(&at(2, ".gateway"), "gateway `nope` is not an IP address"),
                problem(
                    &at(3, ""),
                    "an `ipam.config` entry needs a `subnet`, e.g. 172.28.0.0/16"
                ),
                problem(
                    &at(4, ".gateway"),
                    "gateway `fd00:2::1` is outside subnet `fd00:1::/64`"
                ),
                problem(
                    &at(4, ".ip_range"),
                    "ip_range `fd00:1::9/125` has bits set after its prefix: did you mean \
                     `fd00:1::8/125`?"
                ),
            ]
        );
    }

    #[test]
    fn overlapping_subnets_between_networks() {
        let mut project = project(vec![]);
        let mut external = network(&["10.0.0.0/8"]);
        external.external = true;
        project.networks = BTreeMap::from([
            ("a".to_string(), network(&["10.1.0.0/16", "fd00::/64"])),
            ("b".to_string(), network(&["10.2.0.0/16", "10.1.128.0/17"])),
            ("c".to_string(), network(&["fd00::8000/113", "10.3.0.0/16"])),
            ("outside".to_string(), external),
        ]);
        assert_eq!(
            problems(&project),
            vec![
                problem(
                    "networks.b.ipam.config[1].subnet",
                    "subnet `10.1.128.0/17` overlaps subnet `10.1.0.0/16` of network `a`"
                ),
                problem(
                    "networks.c.ipam.config[0].subnet",
                    "subnet `fd00::8000/113` overlaps subnet `fd00::/64` of network `a`"
                ),
            ]
        );
    }

    #[test]
    fn fixed_addresses_need_a_matching_subnet() {
        let on = |entries: Vec<(&str, Option<ServiceNetwork>)>| Service {
            networks: entries
                .into_iter()
                .map(|(name, attachment)| (name.to_string(), attachment))
                .collect(),
            ..service()
        };
        let mut outside = network(&[]);
        outside.external = true;
        let mut project = project(vec![
            (
                "a",
                on(vec![
                    ("back", attach(Some("10.5.0.10"), Some("fd00::10"))),
                    ("plain", attach(Some("10.6.0.1"), None)),
                    ("default", attach(Some("10.7.0.1"), None)),
                    ("outside", attach(Some("192.168.1.1"), None)),
                    ("missing", attach(Some("oops"), None)),
                ]),
            ),
            (
                "b",
                on(vec![("back", attach(Some("10.6.0.10"), Some("fd01::1")))]),
            ),
            (
                "c",
                on(vec![("back", attach(Some("10.5.0.10"), Some("10.5.0.11")))]),
            ),
            (
                "d",
                on(vec![("v6only", attach(Some("10.0.0.1"), Some("::ffff:1")))]),
            ),
            ("e", on(vec![("back", attach(Some("fd00::12"), None))])),
        ]);
        project.networks = BTreeMap::from([
            ("back".to_string(), network(&["10.5.0.0/16", "fd00::/64"])),
            ("plain".to_string(), network(&[])),
            ("outside".to_string(), outside),
            ("v6only".to_string(), network(&["fd02::/64"])),
        ]);
        assert_eq!(
            problems(&project),
            vec![
                problem(
                    "services.a.networks.missing",
                    "undefined network `missing`: define it under the top-level `networks`"
                ),
                problem(
                    "services.a.networks.default.ipv4_address",
                    "ipv4_address needs `ipam.config` with an IPv4 subnet on network `default`"
                ),
                problem(
                    "services.a.networks.plain.ipv4_address",
                    "ipv4_address needs `ipam.config` with an IPv4 subnet on network `plain`"
                ),
                problem(
                    "services.b.networks.back.ipv4_address",
                    "ipv4_address `10.6.0.10` is outside the IPv4 subnets of network `back`: \
                     10.5.0.0/16"
                ),
                problem(
                    "services.b.networks.back.ipv6_address",
                    "ipv6_address `fd01::1` is outside the IPv6 subnets of network `back`: \
                     fd00::/64"
                ),
                problem(
                    "services.c.networks.back.ipv4_address",
                    "ipv4_address `10.5.0.10` on network `back` is already given to service `a`"
                ),
                problem(
                    "services.c.networks.back.ipv6_address",
                    "ipv6_address `10.5.0.11` is not an IPv6 address"
                ),
                problem(
                    "services.d.networks.v6only.ipv4_address",
                    "ipv4_address needs `ipam.config` with an IPv4 subnet on network `v6only`"
                ),
                problem(
                    "services.d.networks.v6only.ipv6_address",
                    "ipv6_address `::ffff:1` is outside the IPv6 subnets of network \
                     `v6only`: fd02::/64"
                ),
                problem(
                    "services.e.networks.back.ipv4_address",
                    "ipv4_address `fd00::12` is not an IPv4 address"
                ),
            ]
        );
    }

    #[test]
    fn top_level_secrets_and_configs_need_content() {
        let mut project = project(vec![]);
        project.secrets = BTreeMap::from([
            ("empty".to_string(), FileObject::default()),
            (
                "env".to_string(),
                FileObject {
                    environment: Some("TOKEN".to_string()),
                    ..FileObject::default()
                },
            ),
            (
                "ext".to_string(),
                FileObject {
                    external: true,
                    ..FileObject::default()
                },
            ),
        ]);
        project.configs = BTreeMap::from([
            ("bare".to_string(), FileObject::default()),
            (
                "inline".to_string(),
                FileObject {
                    content: Some("x".to_string()),
                    ..FileObject::default()
                },
            ),
        ]);
        assert_eq!(
            problems(&project),
            vec![
                problem(
                    "secrets.empty",
                    "secret `empty` has no content: give `file` or `environment`, or mark it \
                     `external: true`"
                ),
                problem(
                    "configs.bare",
                    "config `bare` has no content: give `file`, `environment` or `content`, \
                     or mark it `external: true`"
                ),
            ]
        );
    }
}
