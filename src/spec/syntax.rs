//! Compose's short syntaxes (`"8080:80/udp"`, `"data:/data:ro"`, `"KEY=value"`, …) read
//! into the model's long forms. Each parser returns the model value or a message saying
//! what is wrong and what was expected; the caller adds the location.

use super::diag::suggest;
use super::model::{
    BindOptions, DeviceMapping, PortConfig, RestartPolicy, ServiceVolume, Signal, Ulimit,
    VolumeOptions, VolumeType,
};
use std::net::IpAddr;

const PORT_FORM: &str = "expected [[HOST_IP:]HOST_PORT:]CONTAINER_PORT[/PROTOCOL], e.g. 8080:80";

/// Reads one `ports` entry in short syntax (docker's `nat.ParsePortSpec`, as compose-go
/// uses it): `"3000"`, `"3000-3005"`, `"8000:8000"`, `"9090-9091:8080-8081"`,
/// `"127.0.0.1:8001:8001"`, `"[::1]:6001:6001"`, `"6060:6060/udp"`. A container range
/// gives one entry per port; a host range with a single container port stays one entry
/// whose `published` is the range (the host port is picked from it).
pub fn parse_ports(spec: &str) -> Result<Vec<PortConfig>, String> {
    // From the right, so that an IPv6 host address keeps its colons.
    let mut parts = spec.rsplitn(3, ':');
    let container = parts.next().unwrap_or_default();
    let host = parts.next().unwrap_or_default();
    let ip = parts.next().unwrap_or_default();
    let (container, protocol) = match container.split_once('/') {
        Some((port, protocol)) => (port, protocol.to_ascii_lowercase()),
        None => (container, "tcp".to_string()),
    };
    if container.is_empty() {
        return Err(format!("{spec:?} has no container port: {PORT_FORM}"));
    }
    if !matches!(protocol.as_str(), "tcp" | "udp" | "sctp") {
        return Err(format!(
            "unknown protocol {protocol:?} in {spec:?}: expected tcp, udp or sctp"
        ));
    }
    let host_ip = match ip {
        "" => None,
        _ => Some(parse_host_ip(ip, spec)?),
    };
    let (target_start, target_end) = parse_port_range(container, spec)?;
    let host_range = match host {
        "" => None,
        _ => Some(parse_port_range(host, spec)?),
    };
    let count = target_end - target_start + 1;
    if let Some((host_start, host_end)) = host_range {
        let host_count = host_end - host_start + 1;
        if count > 1 && host_count != count {
            let host_ports = if host_count == 1 { "port" } else { "ports" };
            return Err(format!(
                "{spec:?} maps {host_count} host {host_ports} to {count} container ports: the \
                 ranges must have the same length, or the container side be a single port"
            ));
        }
    }
    Ok((0..count)
        .map(|offset| {
            let published = host_range.map(|(host_start, host_end)| {
                if count == 1 && host_start != host_end {
                    format!("{host_start}-{host_end}")
                } else {
                    (host_start + offset).to_string()
                }
            });
            PortConfig {
                host_ip: host_ip.clone(),
                // `count` was computed from this range, so this stays within u16.
                target: (target_start + offset) as u16,
                published,
                protocol: protocol.clone(),
                ..PortConfig::default()
            }
        })
        .collect())
}

/// An IP address, `[` `]` around an IPv6 one allowed (and removed).
fn parse_host_ip(ip: &str, spec: &str) -> Result<String, String> {
    let bare = match ip.strip_prefix('[') {
        Some(inner) => inner.strip_suffix(']').unwrap_or(ip),
        None => ip,
    };
    match bare.parse::<IpAddr>() {
        Ok(_) => Ok(bare.to_string()),
        Err(_) => Err(format!("{ip:?} in {spec:?} is not an IP address")),
    }
}

/// `"80"` or `"8000-8010"`, as the inclusive range of port numbers (1 to 65535).
fn parse_port_range(text: &str, spec: &str) -> Result<(u32, u32), String> {
    let (start, end) = match text.split_once('-') {
        Some((start, end)) => (parse_port(start, spec)?, parse_port(end, spec)?),
        None => {
            let port = parse_port(text, spec)?;
            (port, port)
        }
    };
    if end < start {
        return Err(format!(
            "port range {text:?} in {spec:?} goes down: write the lower port first, \
             e.g. {end}-{start}"
        ));
    }
    Ok((start, end))
}

fn parse_port(text: &str, spec: &str) -> Result<u32, String> {
    match text.parse::<u16>() {
        Ok(port) if port > 0 && text.bytes().all(|b| b.is_ascii_digit()) => Ok(port.into()),
        _ if text == spec => Err(format!(
            "{text:?} is not a port: ports are numbers from 1 to 65535"
        )),
        _ => Err(format!(
            "{text:?} in {spec:?} is not a port: ports are numbers from 1 to 65535"
        )),
    }
}

const VOLUME_FORM: &str = "expected [SOURCE:]TARGET[:OPTIONS], e.g. data:/var/lib/data:ro";
/// The bind propagation modes.
pub(crate) const PROPAGATIONS: [&str; 6] = [
    "rprivate", "private", "rshared", "shared", "rslave", "slave",
];
const CONSISTENCIES: [&str; 3] = ["consistent", "cached", "delegated"];

/// Reads one service `volumes` entry in short syntax: `TARGET` (an anonymous volume),
/// `SOURCE:TARGET` or `SOURCE:TARGET:OPTIONS`. A source starting with `/`, `.` or `~`
/// is a host path (a bind mount, which the short syntax creates when missing); any other
/// source names a volume. Options, comma-separated: `ro`, `rw`, `nocopy` (volumes),
/// `z`/`Z` and propagations (`rprivate`, `shared`, … for binds), and the consistencies
/// `consistent`, `cached`, `delegated`. Paths are kept as written; `:` inside `${…}`
/// does not split.
pub fn parse_volume(spec: &str) -> Result<ServiceVolume, String> {
    if spec.is_empty() {
        return Err(format!("empty volume: {VOLUME_FORM}"));
    }
    let parts = split_outside_variables(spec);
    if parts.iter().any(|part| part.is_empty()) {
        return Err(format!(
            "{spec:?} has an empty part between ':': {VOLUME_FORM}"
        ));
    }
    let (source, target, options) = match parts.as_slice() {
        [target] => (None, *target, None),
        [source, target] => (Some(*source), *target, None),
        [source, target, options] => (Some(*source), *target, Some(*options)),
        _ => return Err(format!("{spec:?} has too many ':': {VOLUME_FORM}")),
    };
    let is_bind = source.is_some_and(|s| s.starts_with(['/', '.', '~']));
    let mut volume = ServiceVolume {
        type_: if is_bind {
            VolumeType::Bind
        } else {
            VolumeType::Volume
        },
        source: source.map(str::to_string),
        target: target.to_string(),
        ..ServiceVolume::default()
    };
    let mut bind = BindOptions {
        create_host_path: Some(true),
        ..BindOptions::default()
    };
    let mut named = VolumeOptions::default();
    for option in options.into_iter().flat_map(|options| options.split(',')) {
        let bind_only = || {
            format!(
                "option {option:?} in {spec:?} applies to bind mounts only, and {:?} is a \
                 volume name (a host path starts with /, . or ~)",
                source.unwrap_or_default()
            )
        };
        match option {
            "ro" => volume.read_only = true,
            "rw" => volume.read_only = false,
            "nocopy" if is_bind => {
                return Err(format!(
                    "option \"nocopy\" in {spec:?} applies to named volumes only, and {:?} is \
                     a host path",
                    source.unwrap_or_default()
                ))
            }
            "nocopy" => named.nocopy = true,
            "z" | "Z" if is_bind => bind.selinux = Some(option.to_string()),
            _ if PROPAGATIONS.contains(&option) && is_bind => {
                bind.propagation = Some(option.to_string())
            }
            "z" | "Z" => return Err(bind_only()),
            _ if PROPAGATIONS.contains(&option) => return Err(bind_only()),
            _ if CONSISTENCIES.contains(&option) => volume.consistency = Some(option.to_string()),
            _ => {
                return Err(format!(
                    "unknown option {option:?} in {spec:?}: expected ro, rw, nocopy, z, Z, a \
                     propagation ({}) or a consistency ({})",
                    PROPAGATIONS.join(", "),
                    CONSISTENCIES.join(", ")
                ))
            }
        }
    }
    if is_bind {
        volume.bind = Some(bind);
    } else {
        volume.volume = Some(named);
    }
    Ok(volume)
}

/// Splits on `:` except inside `${…}` (nested too), so an uninterpolated
/// `${HOME:-/root}:/data` keeps its default.
fn split_outside_variables(spec: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut depth = 0usize;
    let mut start = 0;
    let mut previous = '\0';
    for (at, c) in spec.char_indices() {
        match c {
            '{' if previous == '$' => depth += 1,
            '}' if depth > 0 => depth -= 1,
            ':' if depth == 0 => {
                parts.push(&spec[start..at]);
                start = at + 1;
            }
            _ => {}
        }
        previous = c;
    }
    parts.push(&spec[start..]);
    parts
}

/// Reads one `extra_hosts` list entry: `HOST=IP` or `HOST:IP` (compose-go tries `=`
/// first, then the first `:`, so `myhost:::1` is `::1`). Several IPs may be given
/// comma-separated; `[` `]` around an IPv6 address are removed. IPs are not checked
/// (`host-gateway` is a valid value).
pub fn parse_extra_host(entry: &str) -> Result<(String, Vec<String>), String> {
    const FORM: &str = "expected HOST=IP or HOST:IP, e.g. myhost=10.0.0.5";
    let Some((host, ips)) = entry.split_once('=').or_else(|| entry.split_once(':')) else {
        return Err(format!("{entry:?} has no IP address: {FORM}"));
    };
    if host.is_empty() || host.contains([':', '=']) {
        return Err(format!("{entry:?} has no valid host name: {FORM}"));
    }
    if ips.is_empty() {
        return Err(format!("{entry:?} has no IP address: {FORM}"));
    }
    let ips = ips
        .split(',')
        .map(|ip| {
            ip.strip_prefix('[')
                .and_then(|inner| inner.strip_suffix(']'))
                .unwrap_or(ip)
                .to_string()
        })
        .collect();
    Ok((host.to_string(), ips))
}

/// Reads one `environment` (or `build.args`) list entry: `NAME=VALUE` (the value may
/// contain `=` and be empty) or `NAME` alone, whose value is looked up later (`None`).
pub fn parse_env_item(item: &str) -> Result<(String, Option<String>), String> {
    let (name, value) = match item.split_once('=') {
        Some((name, value)) => (name, Some(value.to_string())),
        None => (item, None),
    };
    if name.is_empty() {
        return Err(format!(
            "{item:?} has no variable name: expected NAME=VALUE or NAME, e.g. DEBUG=1"
        ));
    }
    Ok((name.to_string(), value))
}

/// Reads one `labels` (or `annotations`, `sysctls`) list entry: `KEY=VALUE`, or `KEY`
/// alone for an empty value.
pub fn parse_label_item(item: &str) -> Result<(String, String), String> {
    let (key, value) = item.split_once('=').unwrap_or((item, ""));
    if key.is_empty() {
        return Err(format!(
            "{item:?} has no key: expected KEY=VALUE or KEY, e.g. com.example.tier=web"
        ));
    }
    Ok((key.to_string(), value.to_string()))
}

/// Reads `restart:`: `no`, `always`, `on-failure`, `on-failure:N` or `unless-stopped`.
pub fn parse_restart(text: &str) -> Result<RestartPolicy, String> {
    const POLICIES: [&str; 4] = ["no", "always", "on-failure", "unless-stopped"];
    match text {
        "no" => return Ok(RestartPolicy::No),
        "always" => return Ok(RestartPolicy::Always),
        "on-failure" => return Ok(RestartPolicy::OnFailure { max_retries: None }),
        "unless-stopped" => return Ok(RestartPolicy::UnlessStopped),
        _ => {}
    }
    if let Some(count) = text.strip_prefix("on-failure:") {
        return match count.parse::<u32>() {
            Ok(max) if count.bytes().all(|b| b.is_ascii_digit()) => Ok(RestartPolicy::OnFailure {
                max_retries: Some(max),
            }),
            _ => Err(format!(
                "{text:?}: the retry count must be a whole number, e.g. on-failure:3"
            )),
        };
    }
    let hint = suggest(text, POLICIES)
        .map(|close| format!(" (did you mean {close:?}?)"))
        .unwrap_or_default();
    Err(format!(
        "unknown restart policy {text:?}{hint}: expected no, always, on-failure[:MAX_RETRIES] \
         or unless-stopped"
    ))
}

/// Reads one `devices` entry: `HOST_PATH[:CONTAINER_PATH[:PERMISSIONS]]`, the container
/// path defaulting to the host path and permissions to `rwm` (as compose-go does).
pub fn parse_device(spec: &str) -> Result<DeviceMapping, String> {
    const FORM: &str = "expected HOST_PATH[:CONTAINER_PATH[:PERMISSIONS]], e.g. \
                        /dev/ttyUSB0:/dev/ttyUSB0:rwm";
    let parts: Vec<&str> = spec.split(':').collect();
    if parts.iter().any(|part| part.is_empty()) {
        return Err(format!("{spec:?} has an empty part: {FORM}"));
    }
    let (source, target, permissions) = match parts.as_slice() {
        [source] => (*source, *source, "rwm"),
        [source, target] => (*source, *target, "rwm"),
        [source, target, permissions] => (*source, *target, *permissions),
        _ => return Err(format!("{spec:?} has too many ':': {FORM}")),
    };
    if !valid_device_permissions(permissions) {
        return Err(format!(
            "permissions {permissions:?} in {spec:?} must be made of r, w and m (each at \
             most once), e.g. rwm"
        ));
    }
    Ok(DeviceMapping {
        source: source.to_string(),
        target: target.to_string(),
        permissions: permissions.to_string(),
    })
}

/// Device cgroup permissions: made of `r`, `w` and `m`, each at most once.
pub(crate) fn valid_device_permissions(permissions: &str) -> bool {
    permissions.chars().all(|c| matches!(c, 'r' | 'w' | 'm'))
        && ['r', 'w', 'm']
            .iter()
            .all(|flag| permissions.matches(*flag).count() <= 1)
}

/// Splits a `command`/`entrypoint` string as a POSIX shell would (quotes, backslashes),
/// without expanding anything.
pub fn split_command(command: &str) -> Result<Vec<String>, String> {
    shlex::split(command).ok_or_else(|| {
        format!(
            "{command:?} has an unclosed quote or ends with a backslash: close it, or write \
             the command as a list"
        )
    })
}

/// Reads a `ulimits` value written as a string (e.g. after interpolation): a whole
/// number used as both soft and hard limit, `-1` meaning unlimited.
pub fn parse_ulimit(text: &str) -> Result<Ulimit, String> {
    match text.parse::<i64>() {
        Ok(limit) if limit >= -1 => Ok(Ulimit::Single(limit)),
        _ => Err(format!(
            "{text:?} is not a limit: expected a whole number (-1 for unlimited), e.g. 65535"
        )),
    }
}

/// Linux signal names (without `SIG`) and numbers; the first name of a number is its
/// canonical one.
const SIGNALS: [(&str, i32); 34] = [
    ("HUP", 1),
    ("INT", 2),
    ("QUIT", 3),
    ("ILL", 4),
    ("TRAP", 5),
    ("ABRT", 6),
    ("IOT", 6),
    ("BUS", 7),
    ("FPE", 8),
    ("KILL", 9),
    ("USR1", 10),
    ("SEGV", 11),
    ("USR2", 12),
    ("PIPE", 13),
    ("ALRM", 14),
    ("TERM", 15),
    ("STKFLT", 16),
    ("CHLD", 17),
    ("CLD", 17),
    ("CONT", 18),
    ("STOP", 19),
    ("TSTP", 20),
    ("TTIN", 21),
    ("TTOU", 22),
    ("URG", 23),
    ("XCPU", 24),
    ("XFSZ", 25),
    ("VTALRM", 26),
    ("PROF", 27),
    ("WINCH", 28),
    ("IO", 29),
    ("POLL", 29),
    ("PWR", 30),
    ("SYS", 31),
];
const SIGRTMIN: i32 = 34;
const SIGRTMAX: i32 = 64;

/// Reads `stop_signal`: a name with or without `SIG` (any case), `RTMIN+n`/`RTMAX-n`, or
/// a number (1-31, 34-64), e.g. `SIGTERM`, `TERM`, `15`.
pub fn parse_signal(text: &str) -> Result<Signal, String> {
    let unknown = || {
        let names = SIGNALS.iter().map(|(name, _)| *name);
        let upper = text.to_ascii_uppercase();
        let hint = suggest(upper.strip_prefix("SIG").unwrap_or(&upper), names)
            .map(|close| format!(" (did you mean \"SIG{close}\"?)"))
            .unwrap_or_default();
        format!(
            "unknown signal {text:?}{hint}: expected a name such as SIGTERM, SIGINT or \
             SIGUSR1, or a number from 1 to 31 or 34 to 64"
        )
    };
    let known = |number: i32| (1..=31).contains(&number) || (SIGRTMIN..=SIGRTMAX).contains(&number);
    if text.bytes().all(|b| b.is_ascii_digit()) {
        return match text.parse::<i32>() {
            Ok(number) if known(number) => Ok(Signal(number)),
            _ => Err(unknown()),
        };
    }
    let upper = text.to_ascii_uppercase();
    let name = upper.strip_prefix("SIG").unwrap_or(&upper);
    if let Some((_, number)) = SIGNALS.iter().find(|(known, _)| *known == name) {
        return Ok(Signal(*number));
    }
    let realtime = if name == "RTMIN" {
        Some(SIGRTMIN)
    } else if name == "RTMAX" {
        Some(SIGRTMAX)
    } else if let Some(offset) = name.strip_prefix("RTMIN+") {
        offset.parse::<i32>().ok().map(|n| SIGRTMIN + n)
    } else if let Some(offset) = name.strip_prefix("RTMAX-") {
        offset.parse::<i32>().ok().map(|n| SIGRTMAX - n)
    } else {
        None
    };
    match realtime {
        Some(number) if (SIGRTMIN..=SIGRTMAX).contains(&number) => Ok(Signal(number)),
        _ => Err(unknown()),
    }
}

/// The canonical name of a signal number: `SIGTERM`, `SIGRTMIN+3`, `SIGRTMAX-2`; a
/// number no name matches (not built by [`parse_signal`]) shows as the number.
pub(crate) fn signal_name(number: i32) -> String {
    if let Some((name, _)) = SIGNALS.iter().find(|(_, n)| *n == number) {
        return format!("SIG{name}");
    }
    match number {
        SIGRTMIN => "SIGRTMIN".to_string(),
        SIGRTMAX => "SIGRTMAX".to_string(),
        35..=49 => format!("SIGRTMIN+{}", number - SIGRTMIN),
        50..=63 => format!("SIGRTMAX-{}", SIGRTMAX - number),
        _ => number.to_string(),
    }
}

/// Checks a `cpuset` (`0-2,4`) and returns its inclusive CPU ranges in written order.
pub fn parse_cpuset(text: &str) -> Result<Vec<(u32, u32)>, String> {
    const FORM: &str = "expected CPU numbers and ranges separated by commas, e.g. 0-2,4";
    text.split(',')
        .map(|item| {
            let number = |n: &str| {
                n.parse::<u32>()
                    .ok()
                    .filter(|_| n.bytes().all(|b| b.is_ascii_digit()))
                    .ok_or_else(|| {
                        format!("{item:?} in cpuset {text:?} is not a CPU number: {FORM}")
                    })
            };
            let (first, last) = match item.split_once('-') {
                Some((first, last)) => (number(first)?, number(last)?),
                None => {
                    let cpu = number(item)?;
                    (cpu, cpu)
                }
            };
            if last < first {
                return Err(format!(
                    "range {item:?} in cpuset {text:?} goes down: write the lower CPU first, \
                     e.g. {last}-{first}"
                ));
            }
            Ok((first, last))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn port(
        host_ip: Option<&str>,
        published: Option<&str>,
        target: u16,
        protocol: &str,
    ) -> PortConfig {
        PortConfig {
            host_ip: host_ip.map(str::to_string),
            published: published.map(str::to_string),
            target,
            protocol: protocol.to_string(),
            ..PortConfig::default()
        }
    }

    fn tcp(published: Option<&str>, target: u16) -> PortConfig {
        port(None, published, target, "tcp")
    }

    #[test]
    fn parses_short_port_syntax() {
        let local = Some("127.0.0.1");
        let cases: Vec<(&str, Vec<PortConfig>)> = vec![
            ("3000", vec![tcp(None, 3000)]),
            (
                "3000-3002",
                vec![tcp(None, 3000), tcp(None, 3001), tcp(None, 3002)],
            ),
            ("8000:8000", vec![tcp(Some("8000"), 8000)]),
            (
                "9090-9091:8080-8081",
                vec![tcp(Some("9090"), 8080), tcp(Some("9091"), 8081)],
            ),
            ("49100:22", vec![tcp(Some("49100"), 22)]),
            ("8000-9000:80", vec![tcp(Some("8000-9000"), 80)]),
            ("12400-12500:1240", vec![tcp(Some("12400-12500"), 1240)]),
            (
                "127.0.0.1:8001:8001",
                vec![port(local, Some("8001"), 8001, "tcp")],
            ),
            (
                "127.0.0.1:5000-5002:5000-5002",
                vec![
                    port(local, Some("5000"), 5000, "tcp"),
                    port(local, Some("5001"), 5001, "tcp"),
                    port(local, Some("5002"), 5002, "tcp"),
                ],
            ),
            (
                "::1:6000:6000",
                vec![port(Some("::1"), Some("6000"), 6000, "tcp")],
            ),
            (
                "[::1]:6001:6001",
                vec![port(Some("::1"), Some("6001"), 6001, "tcp")],
            ),
            ("6060:6060/udp", vec![port(None, Some("6060"), 6060, "udp")]),
            ("6060:6060/UDP", vec![port(None, Some("6060"), 6060, "udp")]),
            ("5000/sctp", vec![port(None, None, 5000, "sctp")]),
            ("127.0.0.1::80", vec![port(local, None, 80, "tcp")]),
            ("65535:1", vec![tcp(Some("65535"), 1)]),
        ];
        for (spec, expected) in cases {
            assert_eq!(parse_ports(spec), Ok(expected), "{spec}");
        }
    }

    #[test]
    fn short_ports_default_to_ingress_mode() {
        let ports = parse_ports("80").unwrap();
        assert_eq!(ports[0].mode, "ingress");
        assert_eq!(ports[0].name, None);
        assert_eq!(ports[0].app_protocol, None);
    }

    #[test]
    fn rejects_bad_ports() {
        let cases = [
            ("", "\"\" has no container port: expected [[HOST_IP:]HOST_PORT:]CONTAINER_PORT[/PROTOCOL], e.g. 8080:80"),
            ("8080:", "\"8080:\" has no container port: expected [[HOST_IP:]HOST_PORT:]CONTAINER_PORT[/PROTOCOL], e.g. 8080:80"),
            ("80/", "unknown protocol \"\" in \"80/\": expected tcp, udp or sctp"),
            ("53:53/icmp", "unknown protocol \"icmp\" in \"53:53/icmp\": expected tcp, udp or sctp"),
            ("abc", "\"abc\" is not a port: ports are numbers from 1 to 65535"),
            ("0", "\"0\" is not a port: ports are numbers from 1 to 65535"),
            ("65536:80", "\"65536\" in \"65536:80\" is not a port: ports are numbers from 1 to 65535"),
            ("+80", "\"+80\" is not a port: ports are numbers from 1 to 65535"),
            ("80-", "\"\" in \"80-\" is not a port: ports are numbers from 1 to 65535"),
            ("1-2-3", "\"2-3\" in \"1-2-3\" is not a port: ports are numbers from 1 to 65535"),
            ("3005-3000", "port range \"3005-3000\" in \"3005-3000\" goes down: write the lower port first, e.g. 3000-3005"),
            ("9090-9092:8080-8081", "\"9090-9092:8080-8081\" maps 3 host ports to 2 container ports: the ranges must have the same length, or the container side be a single port"),
            ("80:8080-8081", "\"80:8080-8081\" maps 1 host port to 2 container ports: the ranges must have the same length, or the container side be a single port"),
            ("1.2.3:80:80", "\"1.2.3\" in \"1.2.3:80:80\" is not an IP address"),
            ("[::1:80:80", "\"[::1\" in \"[::1:80:80\" is not an IP address"),
            ("localhost:80:80", "\"localhost\" in \"localhost:80:80\" is not an IP address"),
        ];
        for (spec, message) in cases {
            assert_eq!(parse_ports(spec), Err(message.to_string()), "{spec:?}");
        }
    }

    fn bind(source: &str, target: &str) -> ServiceVolume {
        ServiceVolume {
            type_: VolumeType::Bind,
            source: Some(source.to_string()),
            target: target.to_string(),
            bind: Some(BindOptions {
                create_host_path: Some(true),
                ..BindOptions::default()
            }),
            ..ServiceVolume::default()
        }
    }

    fn named(source: Option<&str>, target: &str) -> ServiceVolume {
        ServiceVolume {
            type_: VolumeType::Volume,
            source: source.map(str::to_string),
            target: target.to_string(),
            volume: Some(VolumeOptions::default()),
            ..ServiceVolume::default()
        }
    }

    #[test]
    fn parses_short_volume_syntax() {
        let read_only = |mut v: ServiceVolume| {
            v.read_only = true;
            v
        };
        let with_bind = |mut v: ServiceVolume, f: fn(&mut BindOptions)| {
            if let Some(options) = v.bind.as_mut() {
                f(options);
            }
            v
        };
        let nocopy = {
            let mut v = named(Some("data"), "/data");
            v.volume = Some(VolumeOptions {
                nocopy: true,
                ..VolumeOptions::default()
            });
            v
        };
        let cached = {
            let mut v = bind("./src", "/src");
            v.consistency = Some("cached".to_string());
            v
        };
        let cases = vec![
            ("/var/lib/data", named(None, "/var/lib/data")),
            ("data:/data", named(Some("data"), "/data")),
            ("data:/data:ro", read_only(named(Some("data"), "/data"))),
            ("data:/data:nocopy", nocopy),
            ("./cache:/tmp/cache:rw", bind("./cache", "/tmp/cache")),
            ("../up:/up", bind("../up", "/up")),
            (
                "/opt/data:/var/lib/data",
                bind("/opt/data", "/var/lib/data"),
            ),
            (
                "~/configs:/etc/configs/:ro",
                read_only(bind("~/configs", "/etc/configs/")),
            ),
            (
                "/opt/data:/data:ro,z",
                read_only(with_bind(bind("/opt/data", "/data"), |b| {
                    b.selinux = Some("z".into())
                })),
            ),
            (
                "/opt/data:/data:Z",
                with_bind(bind("/opt/data", "/data"), |b| b.selinux = Some("Z".into())),
            ),
            (
                "/src:/dst:rshared",
                with_bind(bind("/src", "/dst"), |b| {
                    b.propagation = Some("rshared".into())
                }),
            ),
            ("./src:/src:cached", cached),
            ("/a:/b:ro,rw", bind("/a", "/b")),
            (
                "${DATA:-/srv/data}:/data",
                named(Some("${DATA:-/srv/data}"), "/data"),
            ),
            ("${HOME}/x:/x", named(Some("${HOME}/x"), "/x")),
        ];
        for (spec, expected) in cases {
            assert_eq!(parse_volume(spec), Ok(expected), "{spec}");
        }
    }

    #[test]
    fn rejects_bad_volumes() {
        let cases = [
            ("", "empty volume: expected [SOURCE:]TARGET[:OPTIONS], e.g. data:/var/lib/data:ro"),
            (":/data", "\":/data\" has an empty part between ':': expected [SOURCE:]TARGET[:OPTIONS], e.g. data:/var/lib/data:ro"),
            ("/foo::ro", "\"/foo::ro\" has an empty part between ':': expected [SOURCE:]TARGET[:OPTIONS], e.g. data:/var/lib/data:ro"),
            ("/foo:/foo:ro:foo", "\"/foo:/foo:ro:foo\" has too many ':': expected [SOURCE:]TARGET[:OPTIONS], e.g. data:/var/lib/data:ro"),
            ("data:/data:bogus", "unknown option \"bogus\" in \"data:/data:bogus\": expected ro, rw, nocopy, z, Z, a propagation (rprivate, private, rshared, shared, rslave, slave) or a consistency (consistent, cached, delegated)"),
            ("data:/data:ro,", "unknown option \"\" in \"data:/data:ro,\": expected ro, rw, nocopy, z, Z, a propagation (rprivate, private, rshared, shared, rslave, slave) or a consistency (consistent, cached, delegated)"),
            ("data:/data:z", "option \"z\" in \"data:/data:z\" applies to bind mounts only, and \"data\" is a volume name (a host path starts with /, . or ~)"),
            ("data:/data:shared", "option \"shared\" in \"data:/data:shared\" applies to bind mounts only, and \"data\" is a volume name (a host path starts with /, . or ~)"),
            ("/src:/data:nocopy", "option \"nocopy\" in \"/src:/data:nocopy\" applies to named volumes only, and \"/src\" is a host path"),
        ];
        for (spec, message) in cases {
            assert_eq!(parse_volume(spec), Err(message.to_string()), "{spec:?}");
        }
    }

    #[test]
    fn parses_extra_hosts() {
        let ok = |host: &str, ips: &[&str]| {
            Ok((
                host.to_string(),
                ips.iter().map(|s| s.to_string()).collect(),
            ))
        };
        assert_eq!(
            parse_extra_host("somehost:162.242.195.82"),
            ok("somehost", &["162.242.195.82"])
        );
        assert_eq!(
            parse_extra_host("somehost=162.242.195.82"),
            ok("somehost", &["162.242.195.82"])
        );
        assert_eq!(parse_extra_host("myhost:::1"), ok("myhost", &["::1"]));
        assert_eq!(parse_extra_host("myhost=::1"), ok("myhost", &["::1"]));
        assert_eq!(parse_extra_host("myhost=[::1]"), ok("myhost", &["::1"]));
        assert_eq!(
            parse_extra_host("gw=host-gateway"),
            ok("gw", &["host-gateway"])
        );
        assert_eq!(
            parse_extra_host("multi=10.0.0.1,10.0.0.2"),
            ok("multi", &["10.0.0.1", "10.0.0.2"])
        );
        let form = "expected HOST=IP or HOST:IP, e.g. myhost=10.0.0.5";
        assert_eq!(
            parse_extra_host("lonely"),
            Err(format!("\"lonely\" has no IP address: {form}"))
        );
        assert_eq!(
            parse_extra_host("host="),
            Err(format!("\"host=\" has no IP address: {form}"))
        );
        assert_eq!(
            parse_extra_host("=1.2.3.4"),
            Err(format!("\"=1.2.3.4\" has no valid host name: {form}"))
        );
        assert_eq!(
            parse_extra_host("a:b=1.2.3.4"),
            Err(format!("\"a:b=1.2.3.4\" has no valid host name: {form}"))
        );
    }

    #[test]
    fn parses_environment_and_label_items() {
        assert_eq!(parse_env_item("K=V"), Ok(("K".into(), Some("V".into()))));
        assert_eq!(parse_env_item("K="), Ok(("K".into(), Some(String::new()))));
        assert_eq!(
            parse_env_item("K=a=b"),
            Ok(("K".into(), Some("a=b".into())))
        );
        assert_eq!(parse_env_item("K"), Ok(("K".into(), None)));
        assert_eq!(
            parse_env_item("=V"),
            Err("\"=V\" has no variable name: expected NAME=VALUE or NAME, e.g. DEBUG=1".into())
        );
        assert_eq!(parse_label_item("a.b=c"), Ok(("a.b".into(), "c".into())));
        assert_eq!(parse_label_item("flag"), Ok(("flag".into(), String::new())));
        assert_eq!(
            parse_label_item(""),
            Err("\"\" has no key: expected KEY=VALUE or KEY, e.g. com.example.tier=web".into())
        );
    }

    #[test]
    fn parses_restart_policies() {
        let cases = [
            ("no", RestartPolicy::No),
            ("always", RestartPolicy::Always),
            ("on-failure", RestartPolicy::OnFailure { max_retries: None }),
            (
                "on-failure:3",
                RestartPolicy::OnFailure {
                    max_retries: Some(3),
                },
            ),
            ("unless-stopped", RestartPolicy::UnlessStopped),
        ];
        for (text, policy) in cases {
            assert_eq!(parse_restart(text), Ok(policy));
            assert_eq!(policy.to_string(), text);
        }
        assert_eq!(
            parse_restart("alway"),
            Err("unknown restart policy \"alway\" (did you mean \"always\"?): expected no, always, on-failure[:MAX_RETRIES] or unless-stopped".into())
        );
        assert_eq!(
            parse_restart("sometimes"),
            Err("unknown restart policy \"sometimes\": expected no, always, on-failure[:MAX_RETRIES] or unless-stopped".into())
        );
        assert_eq!(
            parse_restart("on-failure:x"),
            Err(
                "\"on-failure:x\": the retry count must be a whole number, e.g. on-failure:3"
                    .into()
            )
        );
        assert_eq!(
            parse_restart("on-failure:-1"),
            Err(
                "\"on-failure:-1\": the retry count must be a whole number, e.g. on-failure:3"
                    .into()
            )
        );
    }

    #[test]
    fn parses_devices() {
        let device = |s: &str, t: &str, p: &str| {
            Ok(DeviceMapping {
                source: s.into(),
                target: t.into(),
                permissions: p.into(),
            })
        };
        assert_eq!(
            parse_device("/dev/fuse"),
            device("/dev/fuse", "/dev/fuse", "rwm")
        );
        assert_eq!(
            parse_device("/dev/a:/dev/b"),
            device("/dev/a", "/dev/b", "rwm")
        );
        assert_eq!(
            parse_device("/dev/a:/dev/b:r"),
            device("/dev/a", "/dev/b", "r")
        );
        assert_eq!(
            parse_device("/dev/a:/dev/b:mw"),
            device("/dev/a", "/dev/b", "mw")
        );
        let form =
            "expected HOST_PATH[:CONTAINER_PATH[:PERMISSIONS]], e.g. /dev/ttyUSB0:/dev/ttyUSB0:rwm";
        assert_eq!(
            parse_device("/a:/b:rwm:x"),
            Err(format!("\"/a:/b:rwm:x\" has too many ':': {form}"))
        );
        assert_eq!(
            parse_device(""),
            Err(format!("\"\" has an empty part: {form}"))
        );
        assert_eq!(
            parse_device("/a::r"),
            Err(format!("\"/a::r\" has an empty part: {form}"))
        );
        for bad in ["rwx", "rr"] {
            assert_eq!(
                parse_device(&format!("/a:/b:{bad}")),
                Err(format!("permissions {bad:?} in \"/a:/b:{bad}\" must be made of r, w and m (each at most once), e.g. rwm"))
            );
        }
    }

    #[test]
    fn splits_commands_like_a_shell() {
        let words = |list: &[&str]| Ok(list.iter().map(|s| s.to_string()).collect());
        assert_eq!(
            split_command("bundle exec thin -p 3000"),
            words(&["bundle", "exec", "thin", "-p", "3000"])
        );
        assert_eq!(
            split_command("sh -c 'echo \"hi there\"'"),
            words(&["sh", "-c", "echo \"hi there\""])
        );
        assert_eq!(
            split_command("echo a\\ b \"$HOME\""),
            words(&["echo", "a b", "$HOME"])
        );
        assert_eq!(split_command(""), words(&[]));
        assert_eq!(
            split_command("sh -c 'echo"),
            Err("\"sh -c 'echo\" has an unclosed quote or ends with a backslash: close it, or write the command as a list".into())
        );
        assert!(split_command("echo \\").is_err());
    }

    #[test]
    fn parses_ulimits_written_as_strings() {
        assert_eq!(parse_ulimit("65535"), Ok(Ulimit::Single(65535)));
        assert_eq!(parse_ulimit("-1"), Ok(Ulimit::Single(-1)));
        for bad in ["-2", "1k", "", "20000:40000"] {
            assert_eq!(
                parse_ulimit(bad),
                Err(format!("{bad:?} is not a limit: expected a whole number (-1 for unlimited), e.g. 65535"))
            );
        }
    }

    #[test]
    fn parses_signals() {
        let cases = [
            ("SIGTERM", 15, "SIGTERM"),
            ("TERM", 15, "SIGTERM"),
            ("15", 15, "SIGTERM"),
            ("sigterm", 15, "SIGTERM"),
            ("SIGKILL", 9, "SIGKILL"),
            ("SIGUSR1", 10, "SIGUSR1"),
            ("SIGQUIT", 3, "SIGQUIT"),
            ("SIGIOT", 6, "SIGABRT"),
            ("CLD", 17, "SIGCHLD"),
            ("SIGPOLL", 29, "SIGIO"),
            ("31", 31, "SIGSYS"),
            ("SIGRTMIN", 34, "SIGRTMIN"),
            ("RTMIN+3", 37, "SIGRTMIN+3"),
            ("SIGRTMAX-2", 62, "SIGRTMAX-2"),
            ("SIGRTMAX", 64, "SIGRTMAX"),
            ("50", 50, "SIGRTMAX-14"),
            ("49", 49, "SIGRTMIN+15"),
        ];
        for (text, number, name) in cases {
            let signal = parse_signal(text).unwrap();
            assert_eq!(
                (signal.number(), signal.to_string().as_str()),
                (number, name),
                "{text}"
            );
        }
        let expected = "expected a name such as SIGTERM, SIGINT or SIGUSR1, or a number from 1 to 31 or 34 to 64";
        assert_eq!(
            parse_signal("SIGTREM"),
            Err(format!(
                "unknown signal \"SIGTREM\" (did you mean \"SIGTERM\"?): {expected}"
            ))
        );
        for bad in [
            "0",
            "32",
            "65",
            "SIGRTMIN+31",
            "RTMAX-31",
            "SIGFOOBAR",
            "",
            "-1",
            "99999999999",
        ] {
            assert_eq!(
                parse_signal(bad),
                Err(format!("unknown signal {bad:?}: {expected}")),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn checks_cpusets() {
        assert_eq!(parse_cpuset("0-2,4"), Ok(vec![(0, 2), (4, 4)]));
        assert_eq!(parse_cpuset("3"), Ok(vec![(3, 3)]));
        let form = "expected CPU numbers and ranges separated by commas, e.g. 0-2,4";
        assert_eq!(
            parse_cpuset(""),
            Err(format!("\"\" in cpuset \"\" is not a CPU number: {form}"))
        );
        assert_eq!(
            parse_cpuset("0,,1"),
            Err(format!(
                "\"\" in cpuset \"0,,1\" is not a CPU number: {form}"
            ))
        );
        assert_eq!(
            parse_cpuset("a-b"),
            Err(format!(
                "\"a-b\" in cpuset \"a-b\" is not a CPU number: {form}"
            ))
        );
        assert_eq!(
            parse_cpuset("+1"),
            Err(format!(
                "\"+1\" in cpuset \"+1\" is not a CPU number: {form}"
            ))
        );
        assert_eq!(
            parse_cpuset("4-2"),
            Err(
                "range \"4-2\" in cpuset \"4-2\" goes down: write the lower CPU first, e.g. 2-4"
                    .into()
            )
        );
    }
}
