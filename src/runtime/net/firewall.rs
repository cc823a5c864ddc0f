//! The firewall of rcompose's networks, in nftables: masquerade for traffic leaving a
//! non-internal network, no forwarding between two rcompose networks, nothing in or out
//! of an internal one, and the accepts Docker's `FORWARD` chain needs to let our traffic
//! through.
//!
//! The component is the `nft` program (Debian's `nftables` package), fed one script on
//! its stdin (`nft -f -`) per change, as Podman's netavark does: network changes are rare
//! (per network, never per container), one `nft -f` is one atomic netlink transaction,
//! and no maintained pure-Rust crate speaks nftables' netlink (the libnftnl bindings are
//! C).
//!
//! Every rcompose engine on the host shares one table, `table inet rcompose`:
//!
//! ```text
//! set bridges       every rcompose bridge
//! map networks      bridge -> jump net-<bridge>
//! map nat           bridge -> jump nat-<bridge>      (non-internal networks)
//! chain forward     hook forward:     iifname vmap @networks; oifname vmap @networks
//! chain postrouting hook postrouting: iifname vmap @nat
//! chain net-<bridge>, chain nat-<bridge>             one network's own rules
//! ```
//!
//! so a change touches only its network's chains and its elements of the sets, and
//! several engines can add and remove their own networks side by side. The base chains'
//! rules are rewritten (flushed and added again, atomically) by every addition, which
//! keeps them whole whatever ran before. Changes are serialized between processes by an
//! exclusive lock on [`LOCK_FILE`], since removing the last network deletes the table.
//!
//! Docker on the same host (iptables-nft, as on Debian 12) has `table ip filter` with a
//! `FORWARD` chain whose policy is drop, and with `br_netfilter` even traffic within one
//! bridge goes through it: while that chain exists, each network also gets accepts
//! there, with the comment `rcompose <bridge>`, removed by handle with the network.
//! Rules of iptables-legacy (not nftables) are not handled.

use super::{check_ifname, NetError};
use serde_json::Value;
use std::fmt::Write as _;
use std::fs::{self, File, OpenOptions};
use std::io::Write as _;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Where `nft` is looked for before the directories of `PATH`.
const NFT_DIRS: [&str; 3] = ["/usr/sbin", "/sbin", "/usr/bin"];

/// The file every rcompose process locks while it changes the firewall.
pub const LOCK_FILE: &str = "/run/lock/rcompose-firewall.lock";

/// The kernel's switch for forwarding IPv4 between interfaces.
const IP_FORWARD: &str = "/proc/sys/net/ipv4/ip_forward";

/// Our table's family and name.
const TABLE: &str = "inet rcompose";

/// The prefix of the comment on our rules in Docker's `FORWARD` chain.
const COMMENT: &str = "rcompose ";

/// One network, as the firewall sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FirewallNetwork {
    /// Its bridge.
    pub bridge: String,
    /// Its subnet's address (host bits are ignored).
    pub subnet: Ipv4Addr,
    /// Its subnet's prefix length.
    pub prefix: u8,
    /// Nothing of it reaches outside the network, nor comes in from outside.
    pub internal: bool,
}

/// The firewall, through the `nft` program.
#[derive(Clone, Debug)]
pub struct Firewall {
    nft: PathBuf,
}

impl Firewall {
    /// Finds `nft` in /usr/sbin, /sbin, /usr/bin, then `PATH`.
    pub fn new() -> Result<Firewall, NetError> {
        let path = std::env::var_os("PATH").unwrap_or_default();
        NFT_DIRS
            .iter()
            .map(PathBuf::from)
            .chain(std::env::split_paths(&path))
            .map(|dir| dir.join("nft"))
            .find(|nft| is_executable(nft))
            .map(|nft| Firewall { nft })
            .ok_or(NetError::NftMissing)
    }

    /// Makes sure the network's rules are there, as `net` says (an existing network's
    /// rules are replaced), and, for a non-internal network, that IPv4 forwarding is on.
    pub fn add_network(&self, net: &FirewallNetwork) -> Result<(), NetError> {
        check_bridge(&net.bridge)?;
        if net.prefix > 32 {
            return Err(NetError::InvalidPrefix { prefix: net.prefix });
        }
        let action = format!("adding the firewall rules of the network {}", net.bridge);
        {
            let _lock = lock()?;
            let observed = self.observe()?;
            self.apply(&add_script(net, &observed), &action)?;
        }
        if !net.internal {
            fs::write(IP_FORWARD, "1").map_err(|source| NetError::IpForward { source })?;
        }
        Ok(())
    }

    /// Removes the rules of the network whose bridge is `bridge` (none is fine), and our
    /// table with the last network.
    pub fn remove_network(&self, bridge: &str) -> Result<(), NetError> {
        check_bridge(bridge)?;
        let action = format!("removing the firewall rules of the network {bridge}");
        let _lock = lock()?;
        let observed = self.observe()?;
        match remove_script(bridge, &observed) {
            Some(script) => self.apply(&script, &action),
            None => Ok(()),
        }
    }

    /// The bridges that have rules (in our table or in Docker's `FORWARD` chain), sorted.
    pub fn networks(&self) -> Result<Vec<String>, NetError> {
        let observed = self.observe()?;
        let mut bridges = observed.bridges;
        bridges.extend(
            observed
                .forward
                .into_iter()
                .flatten()
                .map(|rule| rule.bridge),
        );
        bridges.sort();
        bridges.dedup();
        Ok(bridges)
    }

    /// What there is of ours: the bridges in our table, and Docker's `FORWARD` chain.
    fn observe(&self) -> Result<Observed, NetError> {
        let tables = parse_tables(&self.list(&["list", "tables"])?)?;
        let has = |family: &str, name: &str| {
            tables
                .iter()
                .any(|(f, n)| f.as_str() == family && n.as_str() == name)
        };
        let (table, bridges) = if has("inet", "rcompose") {
            let listing = self.list(&["list", "set", "inet", "rcompose", "bridges"])?;
            (true, parse_set_elements(&listing)?)
        } else {
            (false, Vec::new())
        };
        let forward = if has("ip", "filter") {
            parse_forward(&self.list(&["-a", "list", "table", "ip", "filter"])?)?
        } else {
            None
        };
        Ok(Observed {
            table,
            bridges,
            forward,
        })
    }

    /// Runs `nft -j ARGS` and returns its JSON output.
    fn list(&self, args: &[&str]) -> Result<Value, NetError> {
        let command = format!("nft -j {}", args.join(" "));
        let output = Command::new(&self.nft)
            .arg("-j")
            .args(args)
            .stdin(Stdio::null())
            .output()
            .map_err(|source| NetError::NftRun {
                action: format!("running {command}"),
                source,
            })?;
        if !output.status.success() {
            return Err(NetError::NftFailed {
                action: format!("running {command}"),
                status: output.status.to_string(),
                stderr: String::from_utf8_lossy(&output.stderr).trim().to_string(),
            });
        }
        serde_json::from_slice(&output.stdout)
            .map_err(|source| NetError::NftOutput { command, source })
    }

    /// Runs `script` through `nft -f -`, as one transaction.
    fn apply(&self, script: &str, action: &str) -> Result<(), NetError> {
        let run_error = |source| NetError::NftRun {
            action: action.to_string(),
            source,
        };
        let mut child = Command::new(&self.nft)
            .args(["-f", "-"])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(run_error)?;
        let written = child
            .stdin
            .take()
            .map(|mut stdin| stdin.write_all(script.as_bytes()))
            .unwrap_or(Ok(()));
        let output = child.wait_with_output().map_err(run_error)?;
        if !output.status.success() {
            return Err(NetError::NftFailed {
                action: action.to_string(),
                status: output.status.to_string(),
                stderr: String::from_utf8_lossy(&output.stderr).trim().to_string(),
            });
        }
        written.map_err(run_error)
    }
}

/// What there is of ours in the ruleset.
#[derive(Debug, Default, PartialEq, Eq)]
struct Observed {
    /// `table inet rcompose` exists.
    table: bool,
    /// The elements of its set `bridges`.
    bridges: Vec<String>,
    /// Our rules in Docker's `FORWARD` chain, when `table ip filter` has that chain.
    forward: Option<Vec<ForwardRule>>,
}

/// One of our rules in Docker's `FORWARD` chain.
#[derive(Clone, Debug, PartialEq, Eq)]
struct ForwardRule {
    handle: u64,
    bridge: String,
}

/// The script that (re)makes the rules of `net`.
fn add_script(net: &FirewallNetwork, observed: &Observed) -> String {
    let bridge = &net.bridge;
    let subnet = Ipv4Addr::from(u32::from(net.subnet) & mask(net.prefix));
    let mut script = String::new();
    let mut line = |text: String| {
        script.push_str(&text);
        script.push('\n');
    };
    line(format!("add table {TABLE}"));
    line(format!("add set {TABLE} bridges {{ type ifname; }}"));
    line(format!(
        "add map {TABLE} networks {{ type ifname : verdict; }}"
    ));
    line(format!("add map {TABLE} nat {{ type ifname : verdict; }}"));
    line(format!(
        "add chain {TABLE} forward {{ type filter hook forward priority filter; policy accept; }}"
    ));
    line(format!(
        "add chain {TABLE} postrouting {{ type nat hook postrouting priority srcnat; policy \
         accept; }}"
    ));
    line(format!("flush chain {TABLE} forward"));
    line(format!("add rule {TABLE} forward iifname vmap @networks"));
    line(format!("add rule {TABLE} forward oifname vmap @networks"));
    line(format!("flush chain {TABLE} postrouting"));
    line(format!("add rule {TABLE} postrouting iifname vmap @nat"));

    line(format!("add chain {TABLE} net-{bridge}"));
    line(format!("flush chain {TABLE} net-{bridge}"));
    let rules: &[String] = if net.internal {
        &[
            format!("iifname \"{bridge}\" oifname \"{bridge}\" accept"),
            format!("iifname \"{bridge}\" drop"),
            format!("oifname \"{bridge}\" drop"),
        ]
    } else {
        &[
            format!("iifname \"{bridge}\" oifname \"{bridge}\" accept"),
            format!("iifname \"{bridge}\" oifname @bridges drop"),
            format!("iifname \"{bridge}\" accept"),
            format!("oifname \"{bridge}\" ct state established,related accept"),
            format!("oifname \"{bridge}\" drop"),
        ]
    };
    for rule in rules {
        line(format!("add rule {TABLE} net-{bridge} {rule}"));
    }
    line(format!("add element {TABLE} bridges {{ \"{bridge}\" }}"));
    line(format!(
        "add element {TABLE} networks {{ \"{bridge}\" : jump net-{bridge} }}"
    ));

    line(format!("add chain {TABLE} nat-{bridge}"));
    line(format!(
        "add element {TABLE} nat {{ \"{bridge}\" : jump nat-{bridge} }}"
    ));
    if net.internal {
        // Added just above, so that deleting can't fail on a network that had none.
        line(format!("delete element {TABLE} nat {{ \"{bridge}\" }}"));
        line(format!("delete chain {TABLE} nat-{bridge}"));
    } else {
        line(format!("flush chain {TABLE} nat-{bridge}"));
        line(format!(
            "add rule {TABLE} nat-{bridge} ip saddr {subnet}/{} oifname != \"{bridge}\" \
             masquerade",
            net.prefix
        ));
    }

    if let Some(rules) = &observed.forward {
        delete_forward_rules(&mut script, bridge, rules);
        // Each insert goes first: the last one inserted is the chain's first rule.
        let mut accepts = vec![format!("iifname \"{bridge}\" oifname \"{bridge}\" accept")];
        if !net.internal {
            accepts.push(format!("iifname \"{bridge}\" accept"));
            accepts.push(format!(
                "oifname \"{bridge}\" ct state established,related accept"
            ));
        }
        for accept in accepts.iter().rev() {
            let _ = writeln!(
                script,
                "insert rule ip filter FORWARD {accept} comment \"{COMMENT}{bridge}\""
            );
        }
    }
    script
}

/// The script that removes the rules of `bridge`, if it has any; the whole table when
/// no other network is left in it.
fn remove_script(bridge: &str, observed: &Observed) -> Option<String> {
    let mut script = String::new();
    if observed.table && observed.bridges.iter().all(|other| other == bridge) {
        let _ = writeln!(script, "delete table {TABLE}");
    } else if observed.bridges.iter().any(|other| other == bridge) {
        // An internal network has no `nat` element nor chain: each is added first, so
        // that deleting it can't fail.
        for line in [
            format!("delete element {TABLE} bridges {{ \"{bridge}\" }}"),
            format!("delete element {TABLE} networks {{ \"{bridge}\" }}"),
            format!("delete chain {TABLE} net-{bridge}"),
            format!("add chain {TABLE} nat-{bridge}"),
            format!("add element {TABLE} nat {{ \"{bridge}\" : jump nat-{bridge} }}"),
            format!("delete element {TABLE} nat {{ \"{bridge}\" }}"),
            format!("delete chain {TABLE} nat-{bridge}"),
        ] {
            script.push_str(&line);
            script.push('\n');
        }
    }
    if let Some(rules) = &observed.forward {
        delete_forward_rules(&mut script, bridge, rules);
    }
    (!script.is_empty()).then_some(script)
}

/// Adds to `script` the deletion of the rules of `bridge` among `rules`.
fn delete_forward_rules(script: &mut String, bridge: &str, rules: &[ForwardRule]) {
    for rule in rules.iter().filter(|rule| rule.bridge == bridge) {
        let _ = writeln!(
            script,
            "delete rule ip filter FORWARD handle {}",
            rule.handle
        );
    }
}

/// The netmask of a prefix length (at most 32).
fn mask(prefix: u8) -> u32 {
    u32::MAX
        .checked_shl(32 - u32::from(prefix.min(32)))
        .unwrap_or(0)
}

/// Checks that `bridge` is an interface name that can be written in nftables rules and
/// chain names as it is: letters, digits, `-`, `_` and `.` only.
fn check_bridge(bridge: &str) -> Result<(), NetError> {
    check_ifname(bridge)?;
    if bridge
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    {
        Ok(())
    } else {
        Err(NetError::InvalidName {
            name: bridge.to_string(),
            reason: "the firewall takes only letters, digits, `-`, `_` and `.` in a bridge name",
        })
    }
}

/// Whether `path` is an executable file.
fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    fs::metadata(path)
        .map(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

/// Takes the exclusive lock on [`LOCK_FILE`], held until the file is dropped.
fn lock() -> Result<File, NetError> {
    let path = Path::new(LOCK_FILE);
    let lock_error = |source| NetError::FirewallLock {
        path: path.to_path_buf(),
        source,
    };
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).map_err(lock_error)?;
    }
    let file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .map_err(lock_error)?;
    file.lock().map_err(lock_error)?;
    Ok(file)
}

/// The objects of an `nft -j` listing.
fn objects(listing: &Value) -> impl Iterator<Item = &Value> {
    listing
        .get("nftables")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
}

/// An error for a listing of `what` that is not what nft prints.
fn unexpected(what: &str) -> NetError {
    NetError::NftListing {
        command: format!("nft -j list {what}"),
    }
}

/// `(family, name)` of every table in `nft -j list tables`.
fn parse_tables(listing: &Value) -> Result<Vec<(String, String)>, NetError> {
    objects(listing)
        .filter_map(|object| object.get("table"))
        .map(|table| {
            let field = |key| table.get(key).and_then(Value::as_str).map(str::to_string);
            field("family")
                .zip(field("name"))
                .ok_or_else(|| unexpected("tables"))
        })
        .collect()
}

/// The elements of the set in `nft -j list set ...`.
fn parse_set_elements(listing: &Value) -> Result<Vec<String>, NetError> {
    let set = objects(listing)
        .find_map(|object| object.get("set"))
        .ok_or_else(|| unexpected("set inet rcompose bridges"))?;
    let mut elements: Vec<String> = set
        .get("elem")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(str::to_string)
        .collect();
    elements.sort();
    Ok(elements)
}

/// Our rules in the chain `FORWARD` of `nft -j -a list table ip filter`, or `None`
/// without that chain.
fn parse_forward(listing: &Value) -> Result<Option<Vec<ForwardRule>>, NetError> {
    let is_forward = |object: &Value| {
        object.get("family").and_then(Value::as_str) == Some("ip")
            && object.get("table").and_then(Value::as_str) == Some("filter")
    };
    let chain_exists = objects(listing)
        .filter_map(|object| object.get("chain"))
        .any(|chain| {
            is_forward(chain) && chain.get("name").and_then(Value::as_str) == Some("FORWARD")
        });
    if !chain_exists {
        return Ok(None);
    }
    let mut rules = Vec::new();
    for rule in objects(listing).filter_map(|object| object.get("rule")) {
        if !is_forward(rule) || rule.get("chain").and_then(Value::as_str) != Some("FORWARD") {
            continue;
        }
        let Some(bridge) = rule
            .get("comment")
            .and_then(Value::as_str)
            .and_then(|comment| comment.strip_prefix(COMMENT))
        else {
            continue;
        };
        let handle = rule
            .get("handle")
            .and_then(Value::as_u64)
            .ok_or_else(|| unexpected("table ip filter"))?;
        rules.push(ForwardRule {
            handle,
            bridge: bridge.to_string(),
        });
    }
    Ok(Some(rules))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn network(internal: bool) -> FirewallNetwork {
        FirewallNetwork {
            bridge: "rc-1a2b3c4d".to_string(),
            subnet: Ipv4Addr::new(10, 89, 3, 7),
            prefix: 24,
            internal,
        }
    }

    /// The lines every addition starts with: the shared objects, the base chains' rules.
    const SHARED: &str = "\
add table inet rcompose
add set inet rcompose bridges { type ifname; }
add map inet rcompose networks { type ifname : verdict; }
add map inet rcompose nat { type ifname : verdict; }
add chain inet rcompose forward { type filter hook forward priority filter; policy accept; }
add chain inet rcompose postrouting { type nat hook postrouting priority srcnat; policy accept; }
flush chain inet rcompose forward
add rule inet rcompose forward iifname vmap @networks
add rule inet rcompose forward oifname vmap @networks
flush chain inet rcompose postrouting
add rule inet rcompose postrouting iifname vmap @nat
";

    #[test]
    fn a_network_gets_its_chains_and_elements() {
        let script = add_script(&network(false), &Observed::default());
        let own = "\
add chain inet rcompose net-rc-1a2b3c4d
flush chain inet rcompose net-rc-1a2b3c4d
add rule inet rcompose net-rc-1a2b3c4d iifname \"rc-1a2b3c4d\" oifname \"rc-1a2b3c4d\" accept
add rule inet rcompose net-rc-1a2b3c4d iifname \"rc-1a2b3c4d\" oifname @bridges drop
add rule inet rcompose net-rc-1a2b3c4d iifname \"rc-1a2b3c4d\" accept
add rule inet rcompose net-rc-1a2b3c4d oifname \"rc-1a2b3c4d\" ct state established,related accept
add rule inet rcompose net-rc-1a2b3c4d oifname \"rc-1a2b3c4d\" drop
add element inet rcompose bridges { \"rc-1a2b3c4d\" }
add element inet rcompose networks { \"rc-1a2b3c4d\" : jump net-rc-1a2b3c4d }
add chain inet rcompose nat-rc-1a2b3c4d
add element inet rcompose nat { \"rc-1a2b3c4d\" : jump nat-rc-1a2b3c4d }
flush chain inet rcompose nat-rc-1a2b3c4d
add rule inet rcompose nat-rc-1a2b3c4d ip saddr 10.89.3.0/24 oifname != \"rc-1a2b3c4d\" masquerade
";
        assert_eq!(script, format!("{SHARED}{own}"));
    }

    #[test]
    fn an_internal_network_drops_all_but_its_own_traffic_and_has_no_nat() {
        let observed = Observed {
            table: true,
            bridges: vec!["rc-1a2b3c4d".to_string()],
            forward: Some(vec![
                ForwardRule {
                    handle: 7,
                    bridge: "rc-1a2b3c4d".to_string(),
                },
                ForwardRule {
                    handle: 8,
                    bridge: "rc-99999999".to_string(),
                },
            ]),
        };
        let script = add_script(&network(true), &observed);
        let own = "\
add chain inet rcompose net-rc-1a2b3c4d
flush chain inet rcompose net-rc-1a2b3c4d
add rule inet rcompose net-rc-1a2b3c4d iifname \"rc-1a2b3c4d\" oifname \"rc-1a2b3c4d\" accept
add rule inet rcompose net-rc-1a2b3c4d iifname \"rc-1a2b3c4d\" drop
add rule inet rcompose net-rc-1a2b3c4d oifname \"rc-1a2b3c4d\" drop
add element inet rcompose bridges { \"rc-1a2b3c4d\" }
add element inet rcompose networks { \"rc-1a2b3c4d\" : jump net-rc-1a2b3c4d }
add chain inet rcompose nat-rc-1a2b3c4d
add element inet rcompose nat { \"rc-1a2b3c4d\" : jump nat-rc-1a2b3c4d }
delete element inet rcompose nat { \"rc-1a2b3c4d\" }
delete chain inet rcompose nat-rc-1a2b3c4d
delete rule ip filter FORWARD handle 7
insert rule ip filter FORWARD iifname \"rc-1a2b3c4d\" oifname \"rc-1a2b3c4d\" accept comment \"rcompose rc-1a2b3c4d\"
";
        assert_eq!(script, format!("{SHARED}{own}"));
    }

    #[test]
    fn docker_forward_chain_gets_accepts_in_reading_order() {
        let observed = Observed {
            forward: Some(Vec::new()),
            ..Observed::default()
        };
        let script = add_script(&network(false), &observed);
        let forward: Vec<&str> = script
            .lines()
            .filter(|line| line.contains("ip filter FORWARD"))
            .collect();
        assert_eq!(
            forward,
            [
                "insert rule ip filter FORWARD oifname \"rc-1a2b3c4d\" ct state \
                 established,related accept comment \"rcompose rc-1a2b3c4d\"",
                "insert rule ip filter FORWARD iifname \"rc-1a2b3c4d\" accept comment \
                 \"rcompose rc-1a2b3c4d\"",
                "insert rule ip filter FORWARD iifname \"rc-1a2b3c4d\" oifname \"rc-1a2b3c4d\" \
                 accept comment \"rcompose rc-1a2b3c4d\"",
            ]
        );
    }

    #[test]
    fn removing_touches_only_the_network_and_the_last_one_takes_the_table() {
        let bridge = "rc-1a2b3c4d";
        assert_eq!(remove_script(bridge, &Observed::default()), None);
        let only = Observed {
            table: true,
            bridges: vec![bridge.to_string()],
            forward: Some(vec![ForwardRule {
                handle: 12,
                bridge: bridge.to_string(),
            }]),
        };
        assert_eq!(
            remove_script(bridge, &only).unwrap(),
            "delete table inet rcompose\ndelete rule ip filter FORWARD handle 12\n"
        );
        let empty = Observed {
            table: true,
            ..Observed::default()
        };
        assert_eq!(
            remove_script(bridge, &empty).unwrap(),
            "delete table inet rcompose\n"
        );
        let others = Observed {
            table: true,
            bridges: vec!["rc-00000000".to_string(), bridge.to_string()],
            forward: Some(vec![ForwardRule {
                handle: 3,
                bridge: "rc-00000000".to_string(),
            }]),
        };
        assert_eq!(
            remove_script(bridge, &others).unwrap(),
            "\
delete element inet rcompose bridges { \"rc-1a2b3c4d\" }
delete element inet rcompose networks { \"rc-1a2b3c4d\" }
delete chain inet rcompose net-rc-1a2b3c4d
add chain inet rcompose nat-rc-1a2b3c4d
add element inet rcompose nat { \"rc-1a2b3c4d\" : jump nat-rc-1a2b3c4d }
delete element inet rcompose nat { \"rc-1a2b3c4d\" }
delete chain inet rcompose nat-rc-1a2b3c4d
"
        );
        let absent = Observed {
            bridges: vec!["rc-00000000".to_string()],
            ..others
        };
        assert_eq!(remove_script(bridge, &absent), None);
    }

    #[test]
    fn listings_are_read_from_nft_json() {
        let tables: Value = serde_json::from_str(
            r#"{"nftables": [{"metainfo": {"version": "1.0.6", "json_schema_version": 1}},
                {"table": {"family": "ip", "name": "filter", "handle": 1}},
                {"table": {"family": "inet", "name": "rcompose", "handle": 2}}]}"#,
        )
        .unwrap();
        assert_eq!(
            parse_tables(&tables).unwrap(),
            [
                ("ip".to_string(), "filter".to_string()),
                ("inet".to_string(), "rcompose".to_string())
            ]
        );
        let set: Value = serde_json::from_str(
            r#"{"nftables": [{"metainfo": {}}, {"set": {"family": "inet", "name": "bridges",
                "table": "rcompose", "type": "ifname", "handle": 1,
                "elem": ["rc-b", "rc-a"]}}]}"#,
        )
        .unwrap();
        assert_eq!(parse_set_elements(&set).unwrap(), ["rc-a", "rc-b"]);
        let empty: Value = serde_json::from_str(
            r#"{"nftables": [{"set": {"family": "inet", "name": "bridges",
                "table": "rcompose", "type": "ifname", "handle": 1}}]}"#,
        )
        .unwrap();
        assert_eq!(parse_set_elements(&empty).unwrap(), Vec::<String>::new());

        let filter: Value = serde_json::from_str(
            r#"{"nftables": [{"table": {"family": "ip", "name": "filter", "handle": 1}},
                {"chain": {"family": "ip", "table": "filter", "name": "FORWARD", "handle": 1,
                  "type": "filter", "hook": "forward", "prio": 0, "policy": "drop"}},
                {"chain": {"family": "ip", "table": "filter", "name": "DOCKER", "handle": 9}},
                {"rule": {"family": "ip", "table": "filter", "chain": "FORWARD", "handle": 5,
                  "comment": "rcompose rc-1", "expr": [{"accept": null}]}},
                {"rule": {"family": "ip", "table": "filter", "chain": "FORWARD", "handle": 4,
                  "comment": "docker", "expr": [{"accept": null}]}},
                {"rule": {"family": "ip", "table": "filter", "chain": "DOCKER", "handle": 10,
                  "comment": "rcompose rc-2", "expr": [{"accept": null}]}},
                {"rule": {"family": "ip", "table": "filter", "chain": "FORWARD", "handle": 2,
                  "expr": [{"counter": {"packets": 0, "bytes": 0}}]}}]}"#,
        )
        .unwrap();
        assert_eq!(
            parse_forward(&filter).unwrap(),
            Some(vec![ForwardRule {
                handle: 5,
                bridge: "rc-1".to_string()
            }])
        );
        let no_forward: Value = serde_json::from_str(
            r#"{"nftables": [{"table": {"family": "ip", "name": "filter"}}]}"#,
        )
        .unwrap();
        assert_eq!(parse_forward(&no_forward).unwrap(), None);

        let broken: Value =
            serde_json::from_str(r#"{"nftables": [{"table": {"name": "filter"}}]}"#).unwrap();
        assert_eq!(
            parse_tables(&broken).unwrap_err().to_string(),
            "unexpected output of nft -j list tables: an object lacks its family, name or \
             handle"
        );
    }

    #[test]
    fn subnets_are_masked_and_bridge_names_checked() {
        assert_eq!(mask(0), 0);
        assert_eq!(mask(24), 0xffff_ff00);
        assert_eq!(mask(32), u32::MAX);
        let net = FirewallNetwork {
            subnet: Ipv4Addr::new(172, 18, 200, 9),
            prefix: 12,
            ..network(false)
        };
        assert!(add_script(&net, &Observed::default())
            .contains(" ip saddr 172.16.0.0/12 oifname != \"rc-1a2b3c4d\" masquerade\n"));
        assert!(check_bridge("rc-0a1b2c3d").is_ok());
        assert!(check_bridge("br_x.y").is_ok());
        assert_eq!(
            check_bridge("a\"b").unwrap_err().to_string(),
            "invalid interface name \"a\\\"b\": the firewall takes only letters, digits, `-`, \
             `_` and `.` in a bridge name"
        );
        assert_eq!(
            check_bridge("").unwrap_err().to_string(),
            "invalid interface name \"\": it is empty"
        );
    }

    #[test]
    fn errors_say_what_to_do() {
        assert_eq!(
            NetError::NftMissing.to_string(),
            "cannot find the nft program (looked in /usr/sbin, /sbin, /usr/bin and PATH): \
             install the nftables package (Debian: apt-get install nftables)"
        );
        let err = NetError::NftFailed {
            action: "removing the firewall rules of the network rc-1a2b3c4d".to_string(),
            status: "exit status: 1".to_string(),
            stderr: "Error: Could not process rule: No such file or directory".to_string(),
        };
        assert_eq!(
            err.to_string(),
            "removing the firewall rules of the network rc-1a2b3c4d: nft failed (exit \
             status: 1): Error: Could not process rule: No such file or directory"
        );
    }
}
