//! One service's container, planned: the program, environment, user, mounts, limits and
//! isolation a container of the service gets, decided from the normalized service, its
//! image's config and `run`'s overrides with Docker's rules (moby's `merge` of image and
//! container config, compose's `getCreateConfigs` and `run` options).
//!
//! What the plan leaves to the engine: the image's root filesystem, resolving the user
//! against the image's files ([`super::user`]), creating volumes and host paths,
//! `volumes_from` (carried as written), `/etc/hosts` and `/etc/resolv.conf` (`dns*`,
//! `extra_hosts`), ports, healthchecks, restart policies and logging. Keys that would
//! change what the container does and that rcompose can't do yet are refused with a
//! [`PlanError`] rather than ignored.

use super::network::{service_networking, NetworkError, Networking};
use crate::image::ImageConfig;
use crate::runtime::cgroup::CgroupLimits;
use crate::runtime::exec::DEFAULT_PATH;
use crate::runtime::spec::DEFAULT_SHM_SIZE;
use crate::runtime::{Device, Network, Rlimit, Seccomp};
use crate::spec::model::{Project, Service, ServiceVolume, Ulimit, VolumeType};
use crate::spec::paths;
use crate::spec::syntax;
use crate::spec::units::{ByteSize, SwapLimit};
use indexmap::IndexMap;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

/// What `rcompose run` changes in the service's container (the CLI resolves relative
/// paths and `-e NAME` values before sending them).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RunOverrides {
    /// `--name`: the engine names the container from it; the plan takes the name it is
    /// given as `container_name`.
    pub name: Option<String>,
    /// `-e NAME=VALUE`, over the service's environment. `NAME` alone is a variable the
    /// CLI did not find: ignored, as compose ignores it.
    pub env: Vec<String>,
    /// `-v` in the short syntax; a bind source must be absolute. Replaces a service
    /// volume at the same target.
    pub volumes: Vec<String>,
    /// `-u`: over `user:` and the image's USER.
    pub user: Option<String>,
    /// `-w`: over `working_dir:` and the image's WORKDIR.
    pub workdir: Option<String>,
    /// `--entrypoint`, split as a shell would; `""` clears the entrypoint. Without a
    /// command it also drops the service's `command:`, as compose does.
    pub entrypoint: Option<String>,
    /// The command after the service name, over `command:`.
    pub command: Option<Vec<String>>,
    /// Allocate a terminal (on top of the service's `tty:`).
    pub tty: bool,
    /// Keep standard input open (on top of the service's `stdin_open:`).
    pub interactive: bool,
}

/// One mount of the container, before the engine turns volumes into host paths.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum PlannedMount {
    /// A host path.
    Bind {
        /// Absolute host path.
        source: PathBuf,
        /// Path in the container.
        target: PathBuf,
        /// Read-only.
        readonly: bool,
        /// Create a missing source directory (the short syntax); otherwise a missing
        /// source is an error.
        create_host_path: bool,
    },
    /// A named volume.
    Volume {
        /// The volume's full name, e.g. `<project>_data`, or an external volume's name.
        name: String,
        /// Path in the container.
        target: PathBuf,
        /// Read-only.
        readonly: bool,
        /// Don't copy the image's content at the target into a new volume.
        nocopy: bool,
        /// The volume must exist already (`external: true`).
        external: bool,
    },
    /// A new anonymous volume: an image VOLUME, or a volume entry without a source.
    Anonymous {
        /// Path in the container.
        target: PathBuf,
    },
    /// A fresh tmpfs (`nosuid,nodev,noexec`).
    Tmpfs {
        /// Path in the container.
        target: PathBuf,
        /// Size limit in bytes.
        size: Option<u64>,
        /// Permission bits of its root directory.
        mode: Option<u32>,
    },
}

impl PlannedMount {
    /// Path in the container.
    pub fn target(&self) -> &std::path::Path {
        match self {
            PlannedMount::Bind { target, .. }
            | PlannedMount::Volume { target, .. }
            | PlannedMount::Anonymous { target }
            | PlannedMount::Tmpfs { target, .. } => target,
        }
    }
}

/// Everything about one container of a service that the project, the image and `run`
/// decide. The engine adds the root filesystem, resolves `user`, creates volumes and
/// host paths and turns this into a `runtime::ContainerSpec`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ContainerPlan {
    /// Entrypoint + command.
    pub argv: Vec<String>,
    /// The environment as Docker builds it: `PATH`, `HOSTNAME`, `TERM` (with a tty),
    /// then the image's, the service's and `run -e`'s variables.
    pub env: IndexMap<String, String>,
    /// Working directory (absolute).
    pub cwd: PathBuf,
    /// `user`, `uid`, `user:group` or `uid:gid`; `""` is root. Resolved later by
    /// [`super::resolve_user`].
    pub user: String,
    /// `group_add`: group names or gids, resolved with `user`.
    pub group_add: Vec<String>,
    /// The container's hostname.
    pub hostname: String,
    /// The NIS domain name.
    pub domainname: Option<String>,
    /// Volumes, binds, tmpfs, secrets and configs, then the image's VOLUMEs that no
    /// mount covers.
    pub mounts: Vec<PlannedMount>,
    /// `volumes_from` entries as written (`service[:ro|rw]`, `container:name[:ro|rw]`),
    /// for the engine to resolve.
    pub volumes_from: Vec<String>,
    /// Mount the root filesystem read-only.
    pub readonly_rootfs: bool,
    /// All capabilities, no masked paths, no seccomp filter.
    pub privileged: bool,
    /// `cap_add` as written.
    pub cap_add: Vec<String>,
    /// `cap_drop` as written.
    pub cap_drop: Vec<String>,
    /// `security_opt: [no-new-privileges]`.
    pub no_new_privileges: bool,
    /// The seccomp filter (unconfined when privileged).
    pub seccomp: Seccomp,
    /// Namespaced kernel parameters.
    pub sysctls: IndexMap<String, String>,
    /// `ulimits`, by name.
    pub rlimits: Vec<Rlimit>,
    /// Host devices.
    pub devices: Vec<Device>,
    /// Size of `/dev/shm` in bytes.
    pub shm_size: u64,
    /// Run a tiny init as PID 1.
    pub init: bool,
    /// Standard input is a terminal.
    pub tty: bool,
    /// Keep standard input open.
    pub stdin_open: bool,
    /// The signal that asks the container to stop.
    pub stop_signal: i32,
    /// How long to wait after `stop_signal` before killing.
    pub stop_grace_period: Duration,
    /// cgroup limits.
    pub limits: CgroupLimits,
    /// The network namespace for the runtime. The planner decides `host` and `none`;
    /// for bridges and `service:`/`container:` it leaves `none` and the engine sets the
    /// namespace it makes or joins.
    pub network: Network,
    /// How the container is networked (bridges with their aliases, or a mode).
    #[serde(default = "no_networking")]
    pub networking: Networking,
    /// `dns`: nameservers after the networks' own.
    #[serde(default)]
    pub dns: Vec<String>,
    /// `dns_search`.
    #[serde(default)]
    pub dns_search: Vec<String>,
    /// `dns_opt`.
    #[serde(default)]
    pub dns_opt: Vec<String>,
    /// `extra_hosts`: (name, address), for `/etc/hosts`.
    #[serde(default)]
    pub extra_hosts: Vec<(String, String)>,
    /// The healthcheck the engine runs in the container.
    #[serde(default)]
    pub healthcheck: Option<HealthPlan>,
    /// The image's labels, then the service's over them.
    pub labels: BTreeMap<String, String>,
}

impl From<NetworkError> for PlanError {
    fn from(err: NetworkError) -> PlanError {
        PlanError::Network(Box::new(err))
    }
}

/// A healthcheck, with Docker's defaults for what the file leaves out.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HealthPlan {
    /// The program and its arguments (`CMD-SHELL` runs `/bin/sh -c`).
    pub argv: Vec<String>,
    /// Between two checks once started.
    pub interval: Duration,
    /// A check that takes longer fails.
    pub timeout: Duration,
    /// Failures in a row that make the container unhealthy.
    pub retries: u32,
    /// After the start, failures don't count (until a first success).
    pub start_period: Duration,
    /// Between two checks during the start period.
    pub start_interval: Duration,
}

/// Docker's defaults.
const HEALTH_INTERVAL: Duration = Duration::from_secs(30);
const HEALTH_TIMEOUT: Duration = Duration::from_secs(30);
const HEALTH_RETRIES: u32 = 3;
const HEALTH_START_INTERVAL: Duration = Duration::from_secs(5);

fn no_networking() -> Networking {
    Networking::None
}

/// Why a service can't be planned as a container. Each names the service and the key,
/// says what is wrong and what to do.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    /// The project has no such service.
    #[error("no service {service:?} in project {project:?}: check the service name")]
    UnknownService { project: String, service: String },
    /// Neither the service, `run`, nor the image gives a program.
    #[error(
        "service {service:?} has no command to run: neither the service nor its image sets \
         a command or an entrypoint; set `command:` or give a command to `run`"
    )]
    NoCommand { service: String },
    /// A path that must be absolute is not.
    #[error(
        "service {service:?}: {key} {path:?} is not an absolute path: use a path starting with /"
    )]
    NotAbsolute {
        service: String,
        key: String,
        path: String,
    },
    /// The service's networks can't be resolved.
    #[error(transparent)]
    Network(Box<NetworkError>),
    /// A key rcompose can't honour yet, which would change the container if ignored.
    #[error("service {service:?}: {key} is not supported yet: {hint}")]
    Unsupported {
        service: String,
        key: String,
        hint: String,
    },
    /// A reference to a volume, secret or config the project doesn't define.
    #[error(
        "service {service:?}: {key} refers to undefined {kind} {name:?}: define it under \
         the top-level `{kind}s`"
    )]
    Undefined {
        service: String,
        key: String,
        kind: &'static str,
        name: String,
    },
    /// A value that can't be used as it is.
    #[error("service {service:?}: {key} {value:?} is invalid: {reason}")]
    Invalid {
        service: String,
        key: String,
        value: String,
        reason: String,
    },
    /// Two mounts at the same path in the container.
    #[error("service {service:?}: {first} and {second} both mount {target}: keep one of them")]
    DuplicateMount {
        service: String,
        target: String,
        first: String,
        second: String,
    },
}

/// Docker's default grace period between the stop signal and SIGKILL.
const DEFAULT_STOP_GRACE_PERIOD: Duration = Duration::from_secs(10);
/// SIGTERM, Docker's default stop signal.
const SIGTERM: i32 = 15;
/// The longest hostname taken from the container name (a DNS label).
const MAX_HOSTNAME: usize = 63;
/// Docker's smallest memory limit (6 MiB).
const MIN_MEMORY: u64 = 6 * 1024 * 1024;
/// The kernel's range of CPU shares; Docker clamps to it.
const CPU_SHARES: (u64, u64) = (2, 262_144);
/// The resource names `ulimits` takes (Docker's).
const ULIMITS: [&str; 15] = [
    "core",
    "cpu",
    "data",
    "fsize",
    "locks",
    "memlock",
    "msgqueue",
    "nice",
    "nofile",
    "nproc",
    "rss",
    "rtprio",
    "rttime",
    "sigpending",
    "stack",
];
/// Keys kept in `Service::unsupported` that don't change the container itself.
const HARMLESS_UNSUPPORTED: [&str; 2] = ["attach", "develop"];

/// Plans the container `container_name` of `service` in `project`, from the image's
/// config and `run`'s overrides (all defaults for `up`).
pub fn plan_container(
    project: &Project,
    service: &str,
    image: &ImageConfig,
    overrides: &RunOverrides,
    container_name: &str,
) -> Result<ContainerPlan, PlanError> {
    let Some(svc) = project.services.get(service) else {
        return Err(PlanError::UnknownService {
            project: project.name.clone(),
            service: service.to_string(),
        });
    };
    let planner = Planner {
        project,
        name: service,
        service: svc,
        image,
        overrides,
    };
    planner.refuse_unsupported()?;
    let (networking, network) = planner.network(container_name)?;
    let tty = svc.tty || overrides.tty;
    let hostname = non_empty(svc.hostname.as_deref())
        .unwrap_or_else(|| truncate(container_name, MAX_HOSTNAME))
        .to_string();
    let (no_new_privileges, seccomp) = planner.security_opts()?;
    Ok(ContainerPlan {
        argv: planner.argv()?,
        env: planner.env(&hostname, tty)?,
        cwd: planner.cwd()?,
        user: non_empty(overrides.user.as_deref())
            .or(non_empty(svc.user.as_deref()))
            .unwrap_or(&image.user)
            .to_string(),
        group_add: svc.group_add.clone(),
        hostname,
        domainname: svc.domainname.clone(),
        mounts: planner.mounts()?,
        volumes_from: svc.volumes_from.clone(),
        readonly_rootfs: svc.read_only,
        privileged: svc.privileged,
        cap_add: svc.cap_add.clone(),
        cap_drop: svc.cap_drop.clone(),
        no_new_privileges,
        seccomp: if svc.privileged {
            Seccomp::Unconfined
        } else {
            seccomp
        },
        sysctls: svc
            .sysctls
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        rlimits: planner.rlimits()?,
        devices: planner.devices()?,
        shm_size: svc
            .shm_size
            .map(|size| size.0)
            .filter(|size| *size > 0)
            .unwrap_or(DEFAULT_SHM_SIZE),
        init: svc.init.unwrap_or(false),
        tty,
        stdin_open: svc.stdin_open || overrides.interactive,
        stop_signal: planner.stop_signal()?,
        stop_grace_period: svc
            .stop_grace_period
            .map(|period| period.as_std())
            .unwrap_or(DEFAULT_STOP_GRACE_PERIOD),
        limits: planner.limits()?,
        healthcheck: planner.healthcheck()?,
        network,
        networking,
        dns: svc.dns.clone(),
        dns_search: svc.dns_search.clone(),
        dns_opt: svc.dns_opt.clone(),
        extra_hosts: planner.extra_hosts(),
        labels: image
            .labels
            .iter()
            .chain(&svc.labels)
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
    })
}

/// `Some` only for a non-empty value: an empty one means unset to Docker and compose.
fn non_empty(value: Option<&str>) -> Option<&str> {
    value.filter(|value| !value.is_empty())
}

/// The longest prefix of `text` of at most `max` bytes that ends on a character.
fn truncate(text: &str, max: usize) -> &str {
    let mut end = text.len().min(max);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text.get(..end).unwrap_or_default()
}

/// The inputs of one plan, so each rule is a small method.
struct Planner<'a> {
    project: &'a Project,
    /// The service's name.
    name: &'a str,
    service: &'a Service,
    image: &'a ImageConfig,
    overrides: &'a RunOverrides,
}

impl Planner<'_> {
    fn unsupported(&self, key: impl Into<String>, hint: impl Into<String>) -> PlanError {
        PlanError::Unsupported {
            service: self.name.to_string(),
            key: key.into(),
            hint: hint.into(),
        }
    }

    fn invalid(
        &self,
        key: impl Into<String>,
        value: impl Into<String>,
        reason: impl Into<String>,
    ) -> PlanError {
        PlanError::Invalid {
            service: self.name.to_string(),
            key: key.into(),
            value: value.into(),
            reason: reason.into(),
        }
    }

    fn not_absolute(&self, key: impl Into<String>, path: &str) -> PlanError {
        PlanError::NotAbsolute {
            service: self.name.to_string(),
            key: key.into(),
            path: path.to_string(),
        }
    }

    /// Keys that would change the container if ignored and that rcompose can't do yet.
    fn refuse_unsupported(&self) -> Result<(), PlanError> {
        let svc = self.service;
        if let Some(ipc) = svc.ipc.as_deref() {
            // Docker's `private` and `shareable` are what every container gets here.
            if !matches!(ipc, "" | "private" | "shareable") {
                return Err(self.unsupported(
                    format!("`ipc: {ipc}`"),
                    "each container has its own IPC namespace; remove `ipc`",
                ));
            }
        }
        if let Some(pid) = svc.pid.as_deref().filter(|pid| !pid.is_empty()) {
            return Err(self.unsupported(
                format!("`pid: {pid}`"),
                "each container has its own PID namespace; remove `pid`",
            ));
        }
        if let Some(mode) = svc.userns_mode.as_deref() {
            // `host` (no user namespace) is what every container gets here.
            if !matches!(mode, "" | "host") {
                return Err(self.unsupported(
                    format!("`userns_mode: {mode}`"),
                    "containers run without a user namespace; remove `userns_mode`",
                ));
            }
        }
        if !svc.external_links.is_empty() {
            return Err(self.unsupported(
                "`external_links`",
                "containers outside the project are not reachable by link; put them on a \
                 shared network (`external: true`) and use their names",
            ));
        }
        if let Some(deploy) = &svc.deploy {
            let devices = [&deploy.resources.limits, &deploy.resources.reservations]
                .into_iter()
                .flatten()
                .any(|r| r.devices.is_some() || r.generic_resources.is_some());
            if devices {
                return Err(self.unsupported(
                    "reserving devices (GPUs, generic resources) in `deploy.resources`",
                    "remove them, or map device nodes with `devices:`",
                ));
            }
        }
        for (key, value) in &svc.unsupported {
            let default = value.is_null()
                || *value == serde_json::Value::Bool(false)
                || (key == "cgroup" && value == "private");
            if !default && !HARMLESS_UNSUPPORTED.contains(&key.as_str()) {
                return Err(self.unsupported(
                    format!("`{key}`"),
                    format!("remove `{key}` to run the service without it"),
                ));
            }
        }
        Ok(())
    }

    /// How the container is networked ([`service_networking`]) and the namespace that
    /// says for the runtime: `host` and `none` as they are; bridges and `service:` /
    /// `container:` join a namespace the engine makes or finds, so the runtime's
    /// network stays [`Network::None`] here until the engine sets it.
    fn network(&self, container_name: &str) -> Result<(Networking, Network), PlanError> {
        let networking = service_networking(self.project, self.name, container_name)?;
        let network = match networking {
            Networking::Host => Network::Host,
            _ => Network::None,
        };
        Ok((networking, network))
    }

    /// `healthcheck:` (`NONE`, `disable` or no test: none).
    fn healthcheck(&self) -> Result<Option<HealthPlan>, PlanError> {
        let Some(check) = &self.service.healthcheck else {
            return Ok(None);
        };
        if check.disable {
            return Ok(None);
        }
        let argv = match check.test.split_first() {
            None => return Ok(None),
            Some((kind, _)) if kind == "NONE" => return Ok(None),
            Some((kind, args)) if kind == "CMD" && !args.is_empty() => args.to_vec(),
            Some((kind, args)) if kind == "CMD-SHELL" && !args.is_empty() => {
                vec!["/bin/sh".to_string(), "-c".to_string(), args.join(" ")]
            }
            Some(_) => {
                return Err(self.invalid(
                    "healthcheck.test",
                    check.test.join(" "),
                    "expected [\"CMD\", program, args...], [\"CMD-SHELL\", command] or \
                     [\"NONE\"]",
                ))
            }
        };
        let period = |value: Option<crate::spec::units::Duration>, default: Duration| {
            value
                .map(|v| v.as_std())
                .filter(|d| !d.is_zero())
                .unwrap_or(default)
        };
        Ok(Some(HealthPlan {
            argv,
            interval: period(check.interval, HEALTH_INTERVAL),
            timeout: period(check.timeout, HEALTH_TIMEOUT),
            retries: check.retries.map_or(HEALTH_RETRIES, |r| {
                u32::try_from(r).unwrap_or(u32::MAX).max(1)
            }),
            start_period: check.start_period.map(|v| v.as_std()).unwrap_or_default(),
            start_interval: period(check.start_interval, HEALTH_START_INTERVAL),
        }))
    }

    /// `extra_hosts` as (name, address) pairs, in the file's order of names.
    fn extra_hosts(&self) -> Vec<(String, String)> {
        self.service
            .extra_hosts
            .iter()
            .flat_map(|(host, addresses)| {
                addresses
                    .iter()
                    .map(move |address| (host.clone(), address.clone()))
            })
            .collect()
    }

    /// Entrypoint + command, as Docker merges them with the image's: a non-empty
    /// entrypoint runs with the given command only (the image's CMD is dropped); without
    /// one, an empty or missing command takes the image's CMD, and the image's
    /// ENTRYPOINT stays unless the entrypoint was set (to empty).
    fn argv(&self) -> Result<Vec<String>, PlanError> {
        let overrides = self.overrides;
        let run_entrypoint = match &overrides.entrypoint {
            Some(text) => Some(
                syntax::split_command(text)
                    .map_err(|reason| self.invalid("run --entrypoint", text.as_str(), reason))?,
            ),
            None => None,
        };
        let entrypoint = run_entrypoint
            .clone()
            .or_else(|| self.service.entrypoint.clone());
        let command = match (&overrides.command, &run_entrypoint) {
            (Some(command), _) => Some(command.clone()),
            // `run --entrypoint` without a command drops the service's command.
            (None, Some(_)) => Some(Vec::new()),
            (None, None) => self.service.command.clone(),
        };
        let argv = match entrypoint {
            Some(entrypoint) if !entrypoint.is_empty() => {
                let mut argv = entrypoint;
                argv.extend(command.unwrap_or_default());
                argv
            }
            entrypoint => {
                let command = command
                    .filter(|command| !command.is_empty())
                    .or_else(|| self.image.cmd.clone())
                    .unwrap_or_default();
                let mut argv = match entrypoint {
                    Some(_) => Vec::new(),
                    None => self.image.entrypoint.clone().unwrap_or_default(),
                };
                argv.extend(command);
                argv
            }
        };
        if argv.is_empty() {
            return Err(PlanError::NoCommand {
                service: self.name.to_string(),
            });
        }
        Ok(argv)
    }

    /// Docker's environment: `PATH`, `HOSTNAME`, `TERM=xterm` with a tty, then the
    /// image's variables, then the service's (`env_file`s are merged into them; a name
    /// without a value unsets it), then `run -e`.
    fn env(&self, hostname: &str, tty: bool) -> Result<IndexMap<String, String>, PlanError> {
        let mut env = IndexMap::new();
        env.insert("PATH".to_string(), DEFAULT_PATH.to_string());
        env.insert("HOSTNAME".to_string(), hostname.to_string());
        if tty {
            env.insert("TERM".to_string(), "xterm".to_string());
        }
        for entry in &self.image.env {
            if let Some((name, value)) = entry.split_once('=') {
                env.insert(name.to_string(), value.to_string());
            }
        }
        for (name, value) in &self.service.environment {
            match value {
                Some(value) => {
                    env.insert(name.clone(), value.clone());
                }
                None => {
                    env.shift_remove(name);
                }
            }
        }
        for item in &self.overrides.env {
            let (name, value) = syntax::parse_env_item(item)
                .map_err(|reason| self.invalid("run -e", item.as_str(), reason))?;
            if let Some(value) = value {
                env.insert(name, value);
            }
        }
        Ok(env)
    }

    /// `run -w`, else `working_dir`, else the image's WORKDIR, else `/`; cleaned.
    fn cwd(&self) -> Result<PathBuf, PlanError> {
        let (key, dir) = if let Some(dir) = non_empty(self.overrides.workdir.as_deref()) {
            ("run -w", dir)
        } else if let Some(dir) = non_empty(self.service.working_dir.as_deref()) {
            ("working_dir", dir)
        } else if !self.image.working_dir.is_empty() {
            ("the image's WORKDIR", self.image.working_dir.as_str())
        } else {
            ("", "/")
        };
        if !dir.starts_with('/') {
            return Err(self.not_absolute(key, dir));
        }
        Ok(PathBuf::from(paths::clean_str(dir)))
    }

    /// `security_opt`: `no-new-privileges[:true|false]` and `seccomp=unconfined`; the
    /// AppArmor and SELinux options that change nothing here are accepted.
    fn security_opts(&self) -> Result<(bool, Seccomp), PlanError> {
        let mut no_new_privileges = false;
        let mut seccomp = Seccomp::Default;
        for opt in &self.service.security_opt {
            if opt == "no-new-privileges" {
                no_new_privileges = true;
                continue;
            }
            let invalid = |reason: &str| self.invalid("security_opt", opt.as_str(), reason);
            let Some((key, value)) = opt.split_once('=').or_else(|| opt.split_once(':')) else {
                return Err(invalid(
                    "expected KEY=VALUE, e.g. no-new-privileges:true or seccomp=unconfined",
                ));
            };
            match (key, value) {
                ("no-new-privileges", value) => {
                    no_new_privileges = go_bool(value)
                        .ok_or_else(|| invalid("no-new-privileges takes true or false"))?;
                }
                ("seccomp", "unconfined") => seccomp = Seccomp::Unconfined,
                ("seccomp", "builtin") => seccomp = Seccomp::Default,
                ("seccomp", _) => {
                    return Err(self.unsupported(
                        format!("`security_opt: {opt}`"),
                        "custom seccomp profiles are not supported yet; remove it to keep \
                         Docker's default profile, or use seccomp=unconfined",
                    ))
                }
                // No AppArmor profile or SELinux label is applied here anyway.
                ("apparmor", "unconfined") | ("label", "disable") => {}
                ("apparmor" | "label" | "systempaths", _) => {
                    return Err(self.unsupported(
                        format!("`security_opt: {opt}`"),
                        "remove it to run the service without it",
                    ))
                }
                _ => {
                    return Err(invalid(
                        "unknown option: expected no-new-privileges, seccomp, apparmor or label",
                    ))
                }
            }
        }
        Ok((no_new_privileges, seccomp))
    }

    /// `ulimits`: one value sets both limits; `-1` is unlimited.
    fn rlimits(&self) -> Result<Vec<Rlimit>, PlanError> {
        let mut rlimits = Vec::new();
        for (name, ulimit) in &self.service.ulimits {
            let key = format!("ulimits.{name}");
            if !ULIMITS.contains(&name.as_str()) {
                return Err(self.invalid(
                    "ulimits",
                    name.as_str(),
                    format!("unknown resource: expected one of {}", ULIMITS.join(", ")),
                ));
            }
            let (soft, hard) = match *ulimit {
                Ulimit::Single(limit) => (limit, limit),
                Ulimit::SoftHard { soft, hard } => (soft, hard),
            };
            let limit = |value: i64| match value {
                -1 => Ok(u64::MAX),
                _ => u64::try_from(value).map_err(|_| {
                    self.invalid(
                        key.as_str(),
                        value.to_string(),
                        "a limit is a whole number, or -1 for unlimited",
                    )
                }),
            };
            let (soft, hard) = (limit(soft)?, limit(hard)?);
            if soft > hard {
                return Err(self.invalid(
                    key.as_str(),
                    format!("soft {}, hard {}", show_limit(soft), show_limit(hard)),
                    "the soft limit is above the hard limit",
                ));
            }
            rlimits.push(Rlimit {
                name: name.clone(),
                soft,
                hard,
            });
        }
        Ok(rlimits)
    }

    /// `devices`: host paths and container paths must be absolute.
    fn devices(&self) -> Result<Vec<Device>, PlanError> {
        self.service
            .devices
            .iter()
            .enumerate()
            .map(|(i, device)| {
                for path in [&device.source, &device.target] {
                    if !path.starts_with('/') {
                        return Err(self.not_absolute(format!("devices[{i}]"), path));
                    }
                }
                Ok(Device {
                    source: PathBuf::from(&device.source),
                    target: PathBuf::from(paths::clean_str(&device.target)),
                    permissions: device.permissions.clone(),
                })
            })
            .collect()
    }

    /// `stop_signal`, else the image's STOPSIGNAL, else SIGTERM.
    fn stop_signal(&self) -> Result<i32, PlanError> {
        if let Some(signal) = self.service.stop_signal {
            return Ok(signal.number());
        }
        match self.image.stop_signal.as_deref() {
            Some(text) if !text.is_empty() => syntax::parse_signal(text)
                .map(|signal| signal.number())
                .map_err(|reason| self.invalid("the image's STOPSIGNAL", text, reason)),
            _ => Ok(SIGTERM),
        }
    }

    /// cgroup limits; `deploy.resources.limits` wins over `mem_limit`, `cpus` and
    /// `pids_limit`, as compose applies them. Docker's implicit swap limit (twice the
    /// memory when only memory is limited) is not set: swap is limited only when asked.
    fn limits(&self) -> Result<CgroupLimits, PlanError> {
        let svc = self.service;
        let deploy = svc
            .deploy
            .as_ref()
            .and_then(|deploy| deploy.resources.limits.as_ref());
        let memory = deploy
            .and_then(|limits| limits.memory)
            .or(svc.mem_limit)
            .map(|ByteSize(bytes)| bytes)
            .filter(|bytes| *bytes > 0);
        if let Some(bytes) = memory.filter(|bytes| *bytes < MIN_MEMORY) {
            return Err(self.invalid(
                "mem_limit",
                bytes.to_string(),
                "the smallest memory limit is 6m (6291456 bytes)",
            ));
        }
        let memory_swap = match svc.memswap_limit {
            None => None,
            Some(SwapLimit::Unlimited) => Some(-1),
            Some(SwapLimit::Limited(ByteSize(swap))) => {
                let Some(memory) = memory else {
                    return Err(self.invalid(
                        "memswap_limit",
                        swap.to_string(),
                        "it limits memory + swap, so it needs `mem_limit` too",
                    ));
                };
                if swap < memory {
                    return Err(self.invalid(
                        "memswap_limit",
                        swap.to_string(),
                        format!("it is memory + swap, so at least mem_limit ({memory})"),
                    ));
                }
                Some(i64::try_from(swap).unwrap_or(i64::MAX))
            }
        };
        let cpus = deploy.and_then(|limits| limits.cpus).or(svc.cpus);
        if let Some(cpus) = cpus.filter(|cpus| cpus.is_nan() || *cpus < 0.0) {
            return Err(self.invalid("cpus", cpus.to_string(), "a number of CPUs is 0 or more"));
        }
        Ok(CgroupLimits {
            memory,
            memory_swap,
            cpus: cpus.filter(|cpus| *cpus > 0.0),
            cpu_shares: svc.cpu_shares.filter(|shares| *shares != 0).map(|shares| {
                u64::try_from(shares)
                    .unwrap_or(0)
                    .clamp(CPU_SHARES.0, CPU_SHARES.1)
            }),
            cpuset_cpus: svc.cpuset.clone().filter(|cpuset| !cpuset.is_empty()),
            cpuset_mems: None,
            pids: deploy
                .and_then(|limits| limits.pids)
                .filter(|pids| *pids > 0)
                .or(svc.pids_limit.filter(|pids| *pids != 0)),
        })
    }

    /// The service's volumes with `run -v` over them (by target), `tmpfs`, secrets and
    /// configs (unless a volume is at their target), then the image's VOLUMEs no mount
    /// covers, as anonymous volumes.
    fn mounts(&self) -> Result<Vec<PlannedMount>, PlanError> {
        let mut mounts = Mounts {
            planner: self,
            list: Vec::new(),
        };
        for (i, volume) in self.service.volumes.iter().enumerate() {
            let key = format!("volumes[{i}]");
            let mount = self.volume(&key, volume, false)?;
            mounts.add(key, mount)?;
        }
        let from_service = mounts.list.len();
        for spec in &self.overrides.volumes {
            let key = format!("run -v {spec}");
            let volume = syntax::parse_volume(spec)
                .map_err(|reason| self.invalid("run -v", spec.as_str(), reason))?;
            let mount = self.volume(&key, &volume, true)?;
            let replaced = mounts
                .list
                .iter_mut()
                .take(from_service)
                .find(|(_, planned)| planned.target() == mount.target());
            match replaced {
                Some(slot) => *slot = (key, mount),
                None => mounts.add(key, mount)?,
            }
        }
        for (i, entry) in self.service.tmpfs.iter().enumerate() {
            let mount = self.tmpfs(&format!("tmpfs[{i}]"), entry)?;
            mounts.add(format!("tmpfs[{i}]"), mount)?;
        }
        for mount in self.file_mounts()? {
            if !mounts.covers(mount.target()) {
                mounts.list.push((String::new(), mount));
            }
        }
        for path in &self.image.volumes {
            if !path.starts_with('/') {
                return Err(self.not_absolute("the image's VOLUME", path));
            }
            let target = PathBuf::from(paths::clean_str(path));
            if !mounts.covers(&target) {
                mounts
                    .list
                    .push((String::new(), PlannedMount::Anonymous { target }));
            }
        }
        Ok(mounts.list.into_iter().map(|(_, mount)| mount).collect())
    }

    /// One `volumes` entry (or `run -v`, whose named volumes need no top-level entry:
    /// Docker creates them under the name given).
    fn volume(
        &self,
        key: &str,
        volume: &ServiceVolume,
        from_run: bool,
    ) -> Result<PlannedMount, PlanError> {
        if !volume.target.starts_with('/') {
            return Err(self.not_absolute(format!("{key} target"), &volume.target));
        }
        let target = PathBuf::from(paths::clean_str(&volume.target));
        let readonly = volume.read_only;
        match volume.type_ {
            VolumeType::Bind => {
                let source = volume.source.as_deref().unwrap_or_default();
                if !source.starts_with('/') {
                    return Err(self.not_absolute(format!("{key} source"), source));
                }
                let bind = volume.bind.clone().unwrap_or_default();
                if let Some(propagation) = bind
                    .propagation
                    .filter(|p| !matches!(p.as_str(), "private" | "rprivate"))
                {
                    return Err(self.unsupported(
                        format!("{key} bind propagation `{propagation}`"),
                        "binds are private; remove the propagation option",
                    ));
                }
                if let Some(recursive) = bind.recursive.filter(|r| r != "enabled") {
                    return Err(self.unsupported(
                        format!("{key} `recursive: {recursive}`"),
                        "binds are recursive; remove the option",
                    ));
                }
                Ok(PlannedMount::Bind {
                    source: PathBuf::from(paths::clean_str(source)),
                    target,
                    readonly,
                    create_host_path: bind.create_host_path.unwrap_or(false),
                })
            }
            VolumeType::Volume => {
                let options = volume.volume.clone().unwrap_or_default();
                if options.subpath.is_some() {
                    return Err(self.unsupported(
                        format!("{key} `volume.subpath`"),
                        "mount the whole volume, or a bind of a host directory",
                    ));
                }
                let Some(source) = volume.source.as_deref().filter(|s| !s.is_empty()) else {
                    if readonly || options.nocopy {
                        return Err(self.unsupported(
                            format!("{key}: a read-only or nocopy anonymous volume"),
                            "name the volume, or drop read_only and nocopy",
                        ));
                    }
                    return Ok(PlannedMount::Anonymous { target });
                };
                let (name, external) = match self.project.volumes.get(source) {
                    Some(defined) => (defined.name.clone(), defined.external),
                    None if from_run => (source.to_string(), false),
                    None => {
                        return Err(PlanError::Undefined {
                            service: self.name.to_string(),
                            key: key.to_string(),
                            kind: "volume",
                            name: source.to_string(),
                        })
                    }
                };
                Ok(PlannedMount::Volume {
                    name,
                    target,
                    readonly,
                    nocopy: options.nocopy,
                    external,
                })
            }
            VolumeType::Tmpfs => {
                if readonly {
                    return Err(self.unsupported(
                        format!("{key}: a read-only tmpfs"),
                        "drop read_only (a tmpfs is writable)",
                    ));
                }
                let options = volume.tmpfs.clone().unwrap_or_default();
                if let Some(mode) = options.mode.filter(|mode| *mode > 0o7777) {
                    return Err(self.invalid(
                        format!("{key} tmpfs.mode"),
                        format!("{mode:o}"),
                        "a mode is at most 7777 (octal)",
                    ));
                }
                Ok(PlannedMount::Tmpfs {
                    target,
                    size: options.size.map(|size| size.0).filter(|size| *size > 0),
                    mode: options.mode,
                })
            }
            other => Err(self.unsupported(
                format!("{key} of type `{}`", type_name(other)),
                "use a bind, a volume or a tmpfs",
            )),
        }
    }

    /// One `tmpfs` entry: `PATH[:OPTIONS]`, options `size=`, `mode=` (octal) and the
    /// defaults `rw`, `noexec`, `nosuid`, `nodev`.
    fn tmpfs(&self, key: &str, entry: &str) -> Result<PlannedMount, PlanError> {
        let (path, options) = entry.split_once(':').unwrap_or((entry, ""));
        if !path.starts_with('/') {
            return Err(self.not_absolute(key, path));
        }
        let (mut size, mut mode) = (None, None);
        for option in options.split(',').filter(|option| !option.is_empty()) {
            match option.split_once('=') {
                Some(("size", value)) => {
                    let bytes = ByteSize::parse(value)
                        .map_err(|error| self.invalid(key, entry, error.to_string()))?;
                    size = Some(bytes.0).filter(|bytes| *bytes > 0);
                }
                Some(("mode", value)) => {
                    mode = Some(
                        u32::from_str_radix(value, 8)
                            .ok()
                            .filter(|mode| *mode <= 0o7777)
                            .ok_or_else(|| {
                                self.invalid(
                                    key,
                                    entry,
                                    format!(
                                        "mode {value:?} is not an octal mode up to 7777, e.g. 1777"
                                    ),
                                )
                            })?,
                    );
                }
                None if matches!(option, "rw" | "noexec" | "nosuid" | "nodev") => {}
                _ => {
                    return Err(self.unsupported(
                        format!("tmpfs option `{option}` in {entry:?}"),
                        "a tmpfs takes size= and mode= (and is rw,noexec,nosuid,nodev)",
                    ))
                }
            }
        }
        Ok(PlannedMount::Tmpfs {
            target: PathBuf::from(paths::clean_str(path)),
            size,
            mode,
        })
    }

    /// Secrets (at `/run/secrets/<name>`) and configs (at `/<name>`) from files, bound
    /// read-only, as compose mounts them.
    fn file_mounts(&self) -> Result<Vec<PlannedMount>, PlanError> {
        let kinds = [
            (
                "secret",
                "/run/secrets/",
                &self.service.secrets,
                &self.project.secrets,
            ),
            ("config", "/", &self.service.configs, &self.project.configs),
        ];
        let mut mounts = Vec::new();
        for (kind, base, references, defined) in kinds {
            for (i, reference) in references.iter().enumerate() {
                let key = format!("{kind}s[{i}]");
                let Some(object) = defined.get(&reference.source) else {
                    return Err(PlanError::Undefined {
                        service: self.name.to_string(),
                        key,
                        kind,
                        name: reference.source.clone(),
                    });
                };
                let file = match &object.file {
                    Some(file) if !object.external => file,
                    _ => {
                        let from = if object.external {
                            "external"
                        } else if object.environment.is_some() {
                            "from `environment:`"
                        } else {
                            "from `content:`"
                        };
                        return Err(self.unsupported(
                            format!("{key}: {kind} {:?} {from}", reference.source),
                            format!("only {kind}s from a `file:` are; use one"),
                        ));
                    }
                };
                if !file.starts_with('/') {
                    return Err(self.not_absolute(format!("{key} file"), file));
                }
                let target = match reference.target.as_deref() {
                    Some(target) if target.starts_with('/') => target.to_string(),
                    Some(target) => format!("{base}{target}"),
                    None => format!("{base}{}", reference.source),
                };
                mounts.push(PlannedMount::Bind {
                    source: PathBuf::from(file),
                    target: PathBuf::from(paths::clean_str(&target)),
                    readonly: true,
                    create_host_path: false,
                });
            }
        }
        Ok(mounts)
    }
}

/// The mounts planned so far, each with the key it comes from.
struct Mounts<'p, 'a> {
    planner: &'p Planner<'a>,
    list: Vec<(String, PlannedMount)>,
}

impl Mounts<'_, '_> {
    /// Whether a mount is at `target` already.
    fn covers(&self, target: &std::path::Path) -> bool {
        self.list.iter().any(|(_, mount)| mount.target() == target)
    }

    /// Adds a mount; one already at its target is an error.
    fn add(&mut self, key: String, mount: PlannedMount) -> Result<(), PlanError> {
        let existing = self
            .list
            .iter()
            .find(|(_, planned)| planned.target() == mount.target());
        if let Some((first, _)) = existing {
            return Err(PlanError::DuplicateMount {
                service: self.planner.name.to_string(),
                target: mount.target().display().to_string(),
                first: first.clone(),
                second: key,
            });
        }
        self.list.push((key, mount));
        Ok(())
    }
}

/// Go's `strconv.ParseBool`.
fn go_bool(text: &str) -> Option<bool> {
    match text {
        "1" | "t" | "T" | "true" | "TRUE" | "True" => Some(true),
        "0" | "f" | "F" | "false" | "FALSE" | "False" => Some(false),
        _ => None,
    }
}

/// A limit as written: `-1` for unlimited.
fn show_limit(limit: u64) -> String {
    match limit {
        u64::MAX => "-1".to_string(),
        limit => limit.to_string(),
    }
}

/// A volume type as compose spells it.
fn type_name(type_: VolumeType) -> &'static str {
    match type_ {
        VolumeType::Bind => "bind",
        VolumeType::Volume => "volume",
        VolumeType::Tmpfs => "tmpfs",
        VolumeType::Npipe => "npipe",
        VolumeType::Cluster => "cluster",
        VolumeType::Image => "image",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::model::{Deploy, Resource, Resources};
    use crate::spec::LoadOptions;
    use serde_json::json;
    use std::path::Path;

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|item| item.to_string()).collect()
    }

    /// Loads `compose.yaml` (plus `files`, written beside it first) from a fresh
    /// directory, as the CLI would, with project name `demo`; returns the project and
    /// the directory's path (removed by then: nothing here reads it again).
    fn load_with(yaml: &str, files: &[(&str, &str)]) -> (Project, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        for (name, text) in files {
            std::fs::write(dir.path().join(name), text).unwrap();
        }
        let file = dir.path().join("compose.yaml");
        std::fs::write(&file, yaml).unwrap();
        let loaded = crate::spec::load(&LoadOptions {
            files: vec![file],
            project_directory: dir.path().to_path_buf(),
            project_name: Some("demo".into()),
            interpolate: true,
            ..LoadOptions::default()
        })
        .unwrap();
        (loaded.project, dir.path().to_path_buf())
    }

    fn load(yaml: &str) -> Project {
        load_with(yaml, &[]).0
    }

    /// busybox-like: a shell as CMD.
    fn busybox() -> ImageConfig {
        ImageConfig {
            cmd: Some(strings(&["sh"])),
            ..ImageConfig::default()
        }
    }

    /// A project of one service `app` without a network.
    fn project_of(service: Service) -> Project {
        Project {
            name: "demo".into(),
            services: BTreeMap::from([(
                "app".into(),
                Service {
                    network_mode: Some("none".into()),
                    ..service
                },
            )]),
            ..Project::default()
        }
    }

    fn plan(project: &Project, image: &ImageConfig) -> ContainerPlan {
        plan_container(
            project,
            "app",
            image,
            &RunOverrides::default(),
            "demo-app-1",
        )
        .unwrap()
    }

    fn plan_run(project: &Project, image: &ImageConfig, overrides: &RunOverrides) -> ContainerPlan {
        plan_container(project, "app", image, overrides, "demo-app-run-1").unwrap()
    }

    fn error(project: &Project, image: &ImageConfig) -> String {
        error_run(project, image, &RunOverrides::default())
    }

    fn error_run(project: &Project, image: &ImageConfig, overrides: &RunOverrides) -> String {
        plan_container(project, "app", image, overrides, "demo-app-1")
            .unwrap_err()
            .to_string()
    }

    fn env(pairs: &[(&str, &str)]) -> IndexMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn a_minimal_service_gets_dockers_defaults() {
        let project = load("services:\n  app:\n    image: bb\n    network_mode: none\n");
        assert_eq!(
            plan(&project, &busybox()),
            ContainerPlan {
                argv: strings(&["sh"]),
                env: env(&[("PATH", DEFAULT_PATH), ("HOSTNAME", "demo-app-1")]),
                cwd: PathBuf::from("/"),
                user: String::new(),
                group_add: vec![],
                hostname: "demo-app-1".into(),
                domainname: None,
                mounts: vec![],
                volumes_from: vec![],
                readonly_rootfs: false,
                privileged: false,
                cap_add: vec![],
                cap_drop: vec![],
                no_new_privileges: false,
                seccomp: Seccomp::Default,
                sysctls: IndexMap::new(),
                rlimits: vec![],
                devices: vec![],
                shm_size: 67108864,
                init: false,
                tty: false,
                stdin_open: false,
                stop_signal: 15,
                stop_grace_period: Duration::from_secs(10),
                limits: CgroupLimits::default(),
                network: Network::None,
                networking: Networking::None,
                dns: vec![],
                dns_search: vec![],
                dns_opt: vec![],
                extra_hosts: vec![],
                healthcheck: None,
                labels: BTreeMap::new(),
            }
        );
    }

    #[test]
    fn unknown_service_is_an_error() {
        let project = project_of(Service::default());
        assert_eq!(
            plan_container(&project, "web", &busybox(), &RunOverrides::default(), "x")
                .unwrap_err()
                .to_string(),
            "no service \"web\" in project \"demo\": check the service name"
        );
    }

    #[test]
    fn entrypoint_and_command_merge_as_docker_merges_them() {
        let image = ImageConfig {
            entrypoint: Some(strings(&["/entry.sh"])),
            cmd: Some(strings(&["serve"])),
            ..ImageConfig::default()
        };
        let argv = |entrypoint: Option<&[&str]>,
                    command: Option<&[&str]>,
                    run_entrypoint: Option<&str>,
                    run_command: Option<&[&str]>| {
            let project = project_of(Service {
                entrypoint: entrypoint.map(strings),
                command: command.map(strings),
                ..Service::default()
            });
            let overrides = RunOverrides {
                entrypoint: run_entrypoint.map(str::to_string),
                command: run_command.map(strings),
                ..RunOverrides::default()
            };
            plan_run(&project, &image, &overrides).argv
        };
        assert_eq!(argv(None, None, None, None), ["/entry.sh", "serve"]);
        assert_eq!(
            argv(None, Some(&["work", "-v"]), None, None),
            ["/entry.sh", "work", "-v"]
        );
        // A service entrypoint drops the image's CMD.
        assert_eq!(
            argv(Some(&["tini", "--"]), None, None, None),
            ["tini", "--"]
        );
        assert_eq!(
            argv(Some(&["tini"]), Some(&["x"]), None, None),
            ["tini", "x"]
        );
        // An empty entrypoint clears the image's ENTRYPOINT and keeps its CMD.
        assert_eq!(argv(Some(&[]), None, None, None), ["serve"]);
        assert_eq!(argv(Some(&[]), Some(&["ls"]), None, None), ["ls"]);
        // An empty command is no command: the image's CMD (Docker's engine ignores it).
        assert_eq!(argv(None, Some(&[]), None, None), ["/entry.sh", "serve"]);
        // run's command replaces the service's.
        assert_eq!(
            argv(None, Some(&["x"]), None, Some(&["id", "-u"])),
            ["/entry.sh", "id", "-u"]
        );
        // run --entrypoint without a command drops the service's command too.
        assert_eq!(
            argv(None, Some(&["x"]), Some("sh -c 'echo hi'"), None),
            ["sh", "-c", "echo hi"]
        );
        assert_eq!(
            argv(Some(&["tini"]), None, Some("env"), Some(&["-0"])),
            ["env", "-0"]
        );
        // run --entrypoint '' clears it: the image's CMD runs alone.
        assert_eq!(argv(None, Some(&["x"]), Some(""), None), ["serve"]);
    }

    #[test]
    fn nothing_to_run_is_an_error() {
        let project = project_of(Service::default());
        assert_eq!(
            error(&project, &ImageConfig::default()),
            "service \"app\" has no command to run: neither the service nor its image sets a \
             command or an entrypoint; set `command:` or give a command to `run`"
        );
        let overrides = RunOverrides {
            entrypoint: Some("'unclosed".into()),
            ..RunOverrides::default()
        };
        assert_eq!(
            error_run(&project, &busybox(), &overrides),
            "service \"app\": run --entrypoint \"'unclosed\" is invalid: \"'unclosed\" has an \
             unclosed quote or ends with a backslash: close it, or write the command as a list"
        );
    }

    #[test]
    fn environment_is_image_then_env_files_then_environment_then_run() {
        let yaml = "\
services:
  app:
    image: bb
    network_mode: none
    tty: true
    env_file: [base.env]
    environment:
      FROM_FILE_AND_SERVICE: service
      DROPPED:
      EMPTY: ''
";
        let (project, _) = load_with(
            yaml,
            &[(
                "base.env",
                "FROM_FILE=file\nFROM_FILE_AND_SERVICE=file\nLANG=C\n",
            )],
        );
        let image = ImageConfig {
            env: strings(&[
                "PATH=/opt/bin:/usr/bin:/bin",
                "LANG=en_US.UTF-8",
                "DROPPED=image",
                "NOT_AN_ASSIGNMENT",
            ]),
            cmd: Some(strings(&["sh"])),
            ..ImageConfig::default()
        };
        let overrides = RunOverrides {
            env: strings(&["EMPTY=run", "UNRESOLVED", "NEW=a=b"]),
            ..RunOverrides::default()
        };
        assert_eq!(
            plan_run(&project, &image, &overrides).env,
            env(&[
                ("PATH", "/opt/bin:/usr/bin:/bin"),
                ("HOSTNAME", "demo-app-run-1"),
                ("TERM", "xterm"),
                ("LANG", "C"),
                ("EMPTY", "run"),
                ("FROM_FILE", "file"),
                ("FROM_FILE_AND_SERVICE", "service"),
                ("NEW", "a=b"),
            ])
        );
        let overrides = RunOverrides {
            env: strings(&["=x"]),
            ..RunOverrides::default()
        };
        assert_eq!(
            error_run(&project, &image, &overrides),
            "service \"app\": run -e \"=x\" is invalid: \"=x\" has no variable name: expected \
             NAME=VALUE or NAME, e.g. DEBUG=1"
        );
    }

    #[test]
    fn working_dir_is_run_then_service_then_image_then_root() {
        let image = ImageConfig {
            working_dir: "/srv/app/".into(),
            ..busybox()
        };
        let service = |dir: Option<&str>| {
            project_of(Service {
                working_dir: dir.map(str::to_string),
                ..Service::default()
            })
        };
        let run = |workdir: &str| RunOverrides {
            workdir: Some(workdir.into()),
            ..RunOverrides::default()
        };
        assert_eq!(plan(&service(None), &busybox()).cwd, PathBuf::from("/"));
        assert_eq!(plan(&service(None), &image).cwd, PathBuf::from("/srv/app"));
        assert_eq!(
            plan(&service(Some("/data/./x/")), &image).cwd,
            PathBuf::from("/data/x")
        );
        assert_eq!(
            plan_run(&service(Some("/data")), &image, &run("/tmp")).cwd,
            PathBuf::from("/tmp")
        );
        // An empty -w is no -w, as in compose.
        assert_eq!(
            plan_run(&service(Some("/data")), &image, &run("")).cwd,
            PathBuf::from("/data")
        );
        assert_eq!(
            error(&service(Some("app")), &image),
            "service \"app\": working_dir \"app\" is not an absolute path: use a path starting \
             with /"
        );
        assert_eq!(
            error_run(&service(None), &image, &run("tmp")),
            "service \"app\": run -w \"tmp\" is not an absolute path: use a path starting with /"
        );
    }

    #[test]
    fn user_is_run_then_service_then_image() {
        let image = ImageConfig {
            user: "daemon".into(),
            ..busybox()
        };
        let with_user = |user: Option<&str>| {
            project_of(Service {
                user: user.map(str::to_string),
                group_add: strings(&["audio", "44"]),
                ..Service::default()
            })
        };
        let run = RunOverrides {
            user: Some("1000:1000".into()),
            ..RunOverrides::default()
        };
        assert_eq!(plan(&with_user(None), &busybox()).user, "");
        assert_eq!(plan(&with_user(None), &image).user, "daemon");
        assert_eq!(plan(&with_user(Some("www-data")), &image).user, "www-data");
        assert_eq!(plan(&with_user(Some("")), &image).user, "daemon");
        let planned = plan_run(&with_user(Some("www-data")), &image, &run);
        assert_eq!(planned.user, "1000:1000");
        assert_eq!(planned.group_add, strings(&["audio", "44"]));
    }

    #[test]
    fn hostname_is_the_services_or_the_container_name_cut_to_63_bytes() {
        let long = "a".repeat(70);
        let project = project_of(Service::default());
        let planned =
            plan_container(&project, "app", &busybox(), &RunOverrides::default(), &long).unwrap();
        assert_eq!(planned.hostname, "a".repeat(63));
        assert_eq!(planned.env.get("HOSTNAME"), Some(&"a".repeat(63)));
        let project = project_of(Service {
            hostname: Some(String::new()),
            ..Service::default()
        });
        assert_eq!(plan(&project, &busybox()).hostname, "demo-app-1");
        let project = project_of(Service {
            hostname: Some("box".into()),
            domainname: Some("example.org".into()),
            ..Service::default()
        });
        let planned = plan(&project, &busybox());
        assert_eq!(planned.hostname, "box");
        assert_eq!(planned.domainname.as_deref(), Some("example.org"));
    }

    #[test]
    fn healthchecks_are_planned_with_dockers_defaults() {
        let with = |check: &str| {
            let project = load(&format!(
                "services:\n  app:\n    image: bb\n    network_mode: none\n    healthcheck:\n{check}"
            ));
            plan_container(&project, "app", &busybox(), &RunOverrides::default(), "x")
                .map(|plan| plan.healthcheck)
                .map_err(|err| err.to_string())
        };
        assert_eq!(
            with("      test: [\"CMD\", \"test\", \"-f\", \"/ok\"]\n"),
            Ok(Some(HealthPlan {
                argv: strings(&["test", "-f", "/ok"]),
                interval: Duration::from_secs(30),
                timeout: Duration::from_secs(30),
                retries: 3,
                start_period: Duration::ZERO,
                start_interval: Duration::from_secs(5),
            }))
        );
        assert_eq!(
            with("      test: curl -f http://localhost\n      interval: 2s\n      timeout: 1s\n      retries: 5\n      start_period: 10s\n      start_interval: 500ms\n"),
            Ok(Some(HealthPlan {
                argv: strings(&["/bin/sh", "-c", "curl -f http://localhost"]),
                interval: Duration::from_secs(2),
                timeout: Duration::from_secs(1),
                retries: 5,
                start_period: Duration::from_secs(10),
                start_interval: Duration::from_millis(500),
            }))
        );
        assert_eq!(with("      test: [\"NONE\"]\n"), Ok(None));
        assert_eq!(
            with("      test: [\"CMD\", \"true\"]\n      disable: true\n"),
            Ok(None)
        );
    }

    #[test]
    fn network_modes_and_bridges_are_planned() {
        let with_mode = |mode: &str| {
            load(&format!(
                "services:\n  app:\n    image: bb\n    network_mode: {mode}\n"
            ))
        };
        let none = plan(&with_mode("none"), &busybox());
        assert_eq!(
            (none.network, none.networking),
            (Network::None, Networking::None)
        );
        let host = plan(&with_mode("host"), &busybox());
        assert_eq!(
            (host.network, host.networking),
            (Network::Host, Networking::Host)
        );
        assert_eq!(
            error(&with_mode("bridge"), &busybox()),
            "service \"app\": network_mode \"bridge\" is not supported: rcompose has no \
             host-wide default bridge; attach the service to a network under `networks` (or \
             leave both out for the project's default network)"
        );
        let project = load("services:\n  db:\n    image: bb\n    network_mode: none\n  app:\n    image: bb\n    network_mode: service:db\n");
        let joined = plan(&project, &busybox());
        // The engine finds db's namespace.
        assert_eq!(
            (joined.network, joined.networking),
            (
                Network::None,
                Networking::Service {
                    service: "db".into()
                }
            )
        );
        // No network_mode: compose puts the service on the default network.
        let project = load(
            "services:\n  app:\n    image: bb\n    dns: [9.9.9.9]\n    dns_search: [example.org]\n    dns_opt: [ndots:2]\n    extra_hosts: [\"db=10.0.0.5\"]\n",
        );
        let bridged = plan(&project, &busybox());
        let Networking::Bridge { attachments } = &bridged.networking else {
            panic!("not bridged: {:?}", bridged.networking);
        };
        assert_eq!(
            attachments
                .iter()
                .map(|a| (a.name.as_str(), a.interface.as_str(), a.aliases.clone()))
                .collect::<Vec<_>>(),
            [("demo_default", "eth0", strings(&["demo-app-1", "app"]))]
        );
        assert_eq!(bridged.network, Network::None);
        assert_eq!(
            (bridged.dns, bridged.dns_search, bridged.dns_opt),
            (
                strings(&["9.9.9.9"]),
                strings(&["example.org"]),
                strings(&["ndots:2"])
            )
        );
        assert_eq!(
            bridged.extra_hosts,
            [("db".to_string(), "10.0.0.5".to_string())]
        );
    }

    const VOLUMES_YAML: &str = "\
services:
  app:
    image: bb
    network_mode: none
    volumes:
      - ./data:/data
      - db:/var/lib/db:ro
      - /cache
      - type: bind
        source: /etc/app
        target: /etc/app/
        read_only: true
      - type: volume
        source: shared
        target: /shared
        volume:
          nocopy: true
      - type: tmpfs
        target: /scratch
        tmpfs:
          size: 16m
          mode: 0o700
    tmpfs:
      - /run:size=64m,mode=1777
      - /tmp
    secrets:
      - token
      - source: token
        target: other
    configs:
      - app_conf
    volumes_from:
      - db:ro
  db:
    image: bb
    network_mode: none
volumes:
  db: {}
  shared:
    external: true
    name: team_shared
secrets:
  token:
    file: ./token.txt
configs:
  app_conf:
    file: /srv/app.conf
";

    #[test]
    fn volumes_tmpfs_secrets_configs_and_image_volumes_become_mounts() {
        let (project, dir) = load_with(VOLUMES_YAML, &[]);
        let image = ImageConfig {
            volumes: ["/var/lib/db".to_string(), "/srv/state/".to_string()].into(),
            ..busybox()
        };
        let planned = plan(&project, &image);
        let bind = |source: &Path, target: &str, readonly, create_host_path| PlannedMount::Bind {
            source: source.to_path_buf(),
            target: target.into(),
            readonly,
            create_host_path,
        };
        assert_eq!(
            planned.mounts,
            vec![
                bind(&dir.join("data"), "/data", false, true),
                PlannedMount::Volume {
                    name: "demo_db".into(),
                    target: "/var/lib/db".into(),
                    readonly: true,
                    nocopy: false,
                    external: false,
                },
                PlannedMount::Anonymous {
                    target: "/cache".into()
                },
                bind(Path::new("/etc/app"), "/etc/app", true, false),
                PlannedMount::Volume {
                    name: "team_shared".into(),
                    target: "/shared".into(),
                    readonly: false,
                    nocopy: true,
                    external: true,
                },
                PlannedMount::Tmpfs {
                    target: "/scratch".into(),
                    size: Some(16 << 20),
                    mode: Some(0o700),
                },
                PlannedMount::Tmpfs {
                    target: "/run".into(),
                    size: Some(64 << 20),
                    mode: Some(0o1777),
                },
                PlannedMount::Tmpfs {
                    target: "/tmp".into(),
                    size: None,
                    mode: None,
                },
                bind(&dir.join("token.txt"), "/run/secrets/token", true, false),
                bind(&dir.join("token.txt"), "/run/secrets/other", true, false),
                bind(Path::new("/srv/app.conf"), "/app_conf", true, false),
                PlannedMount::Anonymous {
                    target: "/srv/state".into()
                },
            ]
        );
        assert_eq!(planned.volumes_from, strings(&["db:ro"]));
    }

    #[test]
    fn run_volumes_replace_service_volumes_at_the_same_target() {
        let (project, _) = load_with(VOLUMES_YAML, &[]);
        let overrides = RunOverrides {
            volumes: strings(&["/host/data:/data/:ro", "scratchpad:/pad", "/junk"]),
            ..RunOverrides::default()
        };
        let mounts = plan_run(&project, &busybox(), &overrides).mounts;
        assert_eq!(
            mounts.first(),
            Some(&PlannedMount::Bind {
                source: "/host/data".into(),
                target: "/data".into(),
                readonly: true,
                create_host_path: true,
            })
        );
        assert_eq!(
            mounts.get(6..8),
            Some(
                &[
                    PlannedMount::Volume {
                        name: "scratchpad".into(),
                        target: "/pad".into(),
                        readonly: false,
                        nocopy: false,
                        external: false,
                    },
                    PlannedMount::Anonymous {
                        target: "/junk".into()
                    },
                ][..]
            )
        );
        let error = |volumes: &[&str]| {
            let overrides = RunOverrides {
                volumes: strings(volumes),
                ..RunOverrides::default()
            };
            error_run(&project, &busybox(), &overrides)
        };
        assert_eq!(
            error(&["./rel:/rel"]),
            "service \"app\": run -v ./rel:/rel source \"./rel\" is not an absolute path: use a \
             path starting with /"
        );
        assert_eq!(
            error(&["/a:/x", "/b:/x"]),
            "service \"app\": run -v /a:/x and run -v /b:/x both mount /x: keep one of them"
        );
        assert_eq!(
            error(&["/a:/run"]),
            "service \"app\": run -v /a:/run and tmpfs[0] both mount /run: keep one of them"
        );
        assert_eq!(
            error(&["a:b:c:d"]),
            "service \"app\": run -v \"a:b:c:d\" is invalid: \"a:b:c:d\" has too many ':': \
             expected [SOURCE:]TARGET[:OPTIONS], e.g. data:/var/lib/data:ro"
        );
    }

    #[test]
    fn mount_problems_are_named() {
        let error_of = |yaml_volumes: &str| {
            let project = load(&format!(
                "services:\n  app:\n    image: bb\n    network_mode: none\n{yaml_volumes}"
            ));
            error(&project, &busybox())
        };
        assert_eq!(
            error_of("    volumes: [/a:/x]\n    tmpfs: [/x]\n"),
            "service \"app\": volumes[0] and tmpfs[0] both mount /x: keep one of them"
        );
        assert_eq!(
            error_of("    volumes: [/a:/x, /b:/x/]\n"),
            "service \"app\": volumes[0] and volumes[1] both mount /x: keep one of them"
        );
        assert_eq!(
            error_of("    tmpfs: ['/t:exec']\n"),
            "service \"app\": tmpfs option `exec` in \"/t:exec\" is not supported yet: a tmpfs \
             takes size= and mode= (and is rw,noexec,nosuid,nodev)"
        );
        assert_eq!(
            error_of("    tmpfs: ['/t:mode=999']\n"),
            "service \"app\": tmpfs[0] \"/t:mode=999\" is invalid: mode \"999\" is not an octal \
             mode up to 7777, e.g. 1777"
        );
        assert_eq!(
            error_of("    tmpfs: ['/t:size=lots']\n"),
            "service \"app\": tmpfs[0] \"/t:size=lots\" is invalid: \"lots\" is not a size: use \
             a number and an optional unit (b, k, m, g, t, p; multiples of 1024), e.g. 256m"
        );
        assert_eq!(
            error_of("    volumes: ['/a:/x:shared']\n"),
            "service \"app\": volumes[0] bind propagation `shared` is not supported yet: binds \
             are private; remove the propagation option"
        );
        assert_eq!(
            error_of(
                "    volumes:\n      - type: volume\n        source: v\n        target: /v\n        volume: {subpath: sub}\nvolumes:\n  v: {}\n"
            ),
            "service \"app\": volumes[0] `volume.subpath` is not supported yet: mount the whole \
             volume, or a bind of a host directory"
        );
        assert_eq!(
            error_of("    secrets: [s]\nsecrets:\n  s:\n    environment: TOKEN\n"),
            "service \"app\": secrets[0]: secret \"s\" from `environment:` is not supported yet: \
             only secrets from a `file:` are; use one"
        );
        assert_eq!(
            error_of("    configs: [c]\nconfigs:\n  c:\n    content: hello\n"),
            "service \"app\": configs[0]: config \"c\" from `content:` is not supported yet: \
             only configs from a `file:` are; use one"
        );
        let project = project_of(Service {
            volumes: vec![syntax::parse_volume("nowhere:/n").unwrap()],
            ..Service::default()
        });
        assert_eq!(
            error(&project, &busybox()),
            "service \"app\": volumes[0] refers to undefined volume \"nowhere\": define it under \
             the top-level `volumes`"
        );
        let image = ImageConfig {
            volumes: ["data".to_string()].into(),
            ..busybox()
        };
        assert_eq!(
            error(&project_of(Service::default()), &image),
            "service \"app\": the image's VOLUME \"data\" is not an absolute path: use a path \
             starting with /"
        );
    }

    #[test]
    fn limits_follow_compose_with_deploy_winning() {
        let yaml = "\
services:
  app:
    image: bb
    network_mode: none
    mem_limit: 256m
    memswap_limit: 512m
    cpus: 1.5
    cpu_shares: 512
    cpuset: 0-1
    pids_limit: 100
";
        assert_eq!(
            plan(&load(yaml), &busybox()).limits,
            CgroupLimits {
                memory: Some(256 << 20),
                memory_swap: Some(512 << 20),
                cpus: Some(1.5),
                cpu_shares: Some(512),
                cpuset_cpus: Some("0-1".into()),
                cpuset_mems: None,
                pids: Some(100),
            }
        );
        let deployed = format!(
            "{yaml}    deploy:\n      resources:\n        limits: {{memory: 300m, cpus: '0.5', pids: 50}}\n"
        );
        assert_eq!(
            plan(&load(&deployed), &busybox()).limits,
            CgroupLimits {
                memory: Some(300 << 20),
                memory_swap: Some(512 << 20),
                cpus: Some(0.5),
                cpu_shares: Some(512),
                cpuset_cpus: Some("0-1".into()),
                cpuset_mems: None,
                pids: Some(50),
            }
        );
        let limits = |service: Service| plan(&project_of(service), &busybox()).limits;
        assert_eq!(
            limits(Service {
                mem_limit: Some(ByteSize(64 << 20)),
                memswap_limit: Some(SwapLimit::Unlimited),
                cpu_shares: Some(1),
                pids_limit: Some(-1),
                ..Service::default()
            }),
            CgroupLimits {
                memory: Some(64 << 20),
                memory_swap: Some(-1),
                cpu_shares: Some(2),
                pids: Some(-1),
                ..CgroupLimits::default()
            }
        );
        // Zero means no limit; shares are clamped to the kernel's range.
        assert_eq!(
            limits(Service {
                mem_limit: Some(ByteSize(0)),
                cpus: Some(0.0),
                cpu_shares: Some(300_000),
                pids_limit: Some(0),
                deploy: Some(Deploy {
                    resources: Resources {
                        limits: Some(Resource {
                            pids: Some(0),
                            ..Resource::default()
                        }),
                        reservations: None,
                    },
                    ..Deploy::default()
                }),
                ..Service::default()
            }),
            CgroupLimits {
                cpu_shares: Some(262_144),
                ..CgroupLimits::default()
            }
        );
    }

    #[test]
    fn impossible_limits_are_errors() {
        let error_of = |service: Service| error(&project_of(service), &busybox());
        assert_eq!(
            error_of(Service {
                memswap_limit: Some(SwapLimit::Limited(ByteSize(1 << 30))),
                ..Service::default()
            }),
            "service \"app\": memswap_limit \"1073741824\" is invalid: it limits memory + swap, \
             so it needs `mem_limit` too"
        );
        assert_eq!(
            error_of(Service {
                mem_limit: Some(ByteSize(512 << 20)),
                memswap_limit: Some(SwapLimit::Limited(ByteSize(256 << 20))),
                ..Service::default()
            }),
            "service \"app\": memswap_limit \"268435456\" is invalid: it is memory + swap, so at \
             least mem_limit (536870912)"
        );
        assert_eq!(
            error_of(Service {
                mem_limit: Some(ByteSize(4 << 20)),
                ..Service::default()
            }),
            "service \"app\": mem_limit \"4194304\" is invalid: the smallest memory limit is 6m \
             (6291456 bytes)"
        );
        assert_eq!(
            error_of(Service {
                cpus: Some(-1.0),
                ..Service::default()
            }),
            "service \"app\": cpus \"-1\" is invalid: a number of CPUs is 0 or more"
        );
    }

    #[test]
    fn security_opt_privileged_and_capabilities() {
        let plan_of = |service: Service| plan(&project_of(service), &busybox());
        let with_opts = |opts: &[&str]| Service {
            security_opt: strings(opts),
            ..Service::default()
        };
        let security = |opts: &[&str]| {
            let planned = plan_of(with_opts(opts));
            (planned.no_new_privileges, planned.seccomp)
        };
        assert_eq!(security(&["no-new-privileges"]), (true, Seccomp::Default));
        assert_eq!(
            security(&["no-new-privileges:true"]),
            (true, Seccomp::Default)
        );
        assert_eq!(
            security(&["no-new-privileges=false"]),
            (false, Seccomp::Default)
        );
        assert_eq!(
            security(&["seccomp=unconfined"]),
            (false, Seccomp::Unconfined)
        );
        assert_eq!(
            security(&["seccomp:unconfined", "seccomp=builtin"]),
            (false, Seccomp::Default)
        );
        assert_eq!(
            security(&[
                "apparmor=unconfined",
                "label:disable",
                "no-new-privileges:1"
            ]),
            (true, Seccomp::Default)
        );
        let error_of = |opts: &[&str]| error(&project_of(with_opts(opts)), &busybox());
        assert_eq!(
            error_of(&["seccomp=/etc/profile.json"]),
            "service \"app\": `security_opt: seccomp=/etc/profile.json` is not supported yet: \
             custom seccomp profiles are not supported yet; remove it to keep Docker's default \
             profile, or use seccomp=unconfined"
        );
        assert_eq!(
            error_of(&["no-new-privileges:maybe"]),
            "service \"app\": security_opt \"no-new-privileges:maybe\" is invalid: \
             no-new-privileges takes true or false"
        );
        assert_eq!(
            error_of(&["systempaths=unconfined"]),
            "service \"app\": `security_opt: systempaths=unconfined` is not supported yet: \
             remove it to run the service without it"
        );
        assert_eq!(
            error_of(&["bogus"]),
            "service \"app\": security_opt \"bogus\" is invalid: expected KEY=VALUE, e.g. \
             no-new-privileges:true or seccomp=unconfined"
        );
        assert_eq!(
            error_of(&["mask=/proc"]),
            "service \"app\": security_opt \"mask=/proc\" is invalid: unknown option: expected \
             no-new-privileges, seccomp, apparmor or label"
        );
        let planned = plan_of(Service {
            privileged: true,
            cap_add: strings(&["NET_ADMIN"]),
            cap_drop: strings(&["ALL"]),
            read_only: true,
            ..Service::default()
        });
        assert!(planned.privileged);
        assert!(planned.readonly_rootfs);
        assert_eq!(planned.seccomp, Seccomp::Unconfined);
        assert_eq!(planned.cap_add, strings(&["NET_ADMIN"]));
        assert_eq!(planned.cap_drop, strings(&["ALL"]));
    }

    #[test]
    fn ulimits_sysctls_devices_and_the_rest_are_carried() {
        let yaml = "\
services:
  app:
    image: bb
    network_mode: none
    ulimits:
      nproc: 65535
      nofile: {soft: 1024, hard: 2048}
      core: -1
    sysctls:
      net.core.somaxconn: 1024
      kernel.shm_rmid_forced: 1
    devices:
      - /dev/fuse
      - /dev/ttyUSB0:/dev/serial:rw
    shm_size: 128m
    init: true
    stdin_open: true
    stop_signal: SIGQUIT
    stop_grace_period: 1m30s
    labels:
      tier: back
      shared: service
";
        let image = ImageConfig {
            labels: BTreeMap::from([
                ("shared".to_string(), "image".to_string()),
                ("vendor".to_string(), "acme".to_string()),
            ]),
            stop_signal: Some("SIGUSR1".into()),
            ..busybox()
        };
        let planned = plan(&load(yaml), &image);
        let rlimit = |name: &str, soft, hard| Rlimit {
            name: name.into(),
            soft,
            hard,
        };
        assert_eq!(
            planned.rlimits,
            vec![
                rlimit("core", u64::MAX, u64::MAX),
                rlimit("nofile", 1024, 2048),
                rlimit("nproc", 65535, 65535),
            ]
        );
        assert_eq!(
            planned.sysctls,
            env(&[
                ("kernel.shm_rmid_forced", "1"),
                ("net.core.somaxconn", "1024")
            ])
        );
        assert_eq!(
            planned.devices,
            vec![
                Device {
                    source: "/dev/fuse".into(),
                    target: "/dev/fuse".into(),
                    permissions: "rwm".into(),
                },
                Device {
                    source: "/dev/ttyUSB0".into(),
                    target: "/dev/serial".into(),
                    permissions: "rw".into(),
                },
            ]
        );
        assert_eq!(planned.shm_size, 128 << 20);
        assert!(planned.init);
        assert!(planned.stdin_open);
        assert!(!planned.tty);
        assert_eq!(planned.stop_signal, 3);
        assert_eq!(planned.stop_grace_period, Duration::from_secs(90));
        assert_eq!(
            planned.labels,
            BTreeMap::from([
                ("shared".to_string(), "service".to_string()),
                ("tier".to_string(), "back".to_string()),
                ("vendor".to_string(), "acme".to_string()),
            ])
        );
        // run -t/-i add a terminal and stdin; the image's STOPSIGNAL applies without one.
        let project = project_of(Service::default());
        let overrides = RunOverrides {
            tty: true,
            interactive: true,
            ..RunOverrides::default()
        };
        let planned = plan_run(&project, &image, &overrides);
        assert!(planned.tty && planned.stdin_open);
        assert_eq!(planned.stop_signal, 10);
        let image = ImageConfig {
            stop_signal: Some("SIGWHAT".into()),
            ..busybox()
        };
        assert_eq!(
            error(&project, &image),
            "service \"app\": the image's STOPSIGNAL \"SIGWHAT\" is invalid: unknown signal \
             \"SIGWHAT\": expected a name such as SIGTERM, SIGINT or \
             SIGUSR1, or a number from 1 to 31 or 34 to 64"
        );
    }

    #[test]
    fn bad_ulimits_and_devices_are_errors() {
        let error_of = |service: Service| error(&project_of(service), &busybox());
        assert_eq!(
            error_of(Service {
                ulimits: BTreeMap::from([("files".to_string(), Ulimit::Single(10))]),
                ..Service::default()
            }),
            "service \"app\": ulimits \"files\" is invalid: unknown resource: expected one of \
             core, cpu, data, fsize, locks, memlock, msgqueue, nice, nofile, nproc, rss, rtprio, \
             rttime, sigpending, stack"
        );
        assert_eq!(
            error_of(Service {
                ulimits: BTreeMap::from([(
                    "nofile".to_string(),
                    Ulimit::SoftHard { soft: -1, hard: 10 }
                )]),
                ..Service::default()
            }),
            "service \"app\": ulimits.nofile \"soft -1, hard 10\" is invalid: the soft limit is \
             above the hard limit"
        );
        assert_eq!(
            error_of(Service {
                devices: vec![syntax::parse_device("nvidia.com/gpu=all").unwrap()],
                ..Service::default()
            }),
            "service \"app\": devices[0] \"nvidia.com/gpu=all\" is not an absolute path: use a \
             path starting with /"
        );
    }

    #[test]
    fn keys_that_would_change_the_container_are_refused() {
        let error_of = |extra: &str| {
            let project = load(&format!(
                "services:\n  db:\n    image: bb\n    network_mode: none\n  app:\n    image: bb\n    network_mode: none\n{extra}"
            ));
            error(&project, &busybox())
        };
        assert_eq!(
            error_of("    ipc: host\n"),
            "service \"app\": `ipc: host` is not supported yet: each container has its own IPC \
             namespace; remove `ipc`"
        );
        assert_eq!(
            error_of("    pid: host\n"),
            "service \"app\": `pid: host` is not supported yet: each container has its own PID \
             namespace; remove `pid`"
        );
        assert_eq!(
            error_of("    userns_mode: keep-id\n"),
            "service \"app\": `userns_mode: keep-id` is not supported yet: containers run \
             without a user namespace; remove `userns_mode`"
        );
        assert_eq!(
            error_of("    cgroup_parent: custom\n"),
            "service \"app\": `cgroup_parent` is not supported yet: remove `cgroup_parent` to \
             run the service without it"
        );
        assert_eq!(
            error_of("    external_links: [db]\n"),
            "service \"app\": `external_links` is not supported yet: containers outside the \
             project are not reachable by link; put them on a shared network (`external: \
             true`) and use their names"
        );
        assert_eq!(
            error_of(
                "    deploy:\n      resources:\n        reservations:\n          devices:\n            - capabilities: [gpu]\n"
            ),
            "service \"app\": reserving devices (GPUs, generic resources) in \
             `deploy.resources` is not supported yet: remove them, or map device nodes with \
             `devices:`"
        );
        // What equals the behaviour here, or doesn't touch the container, is fine.
        let project = load(
            "services:\n  app:\n    image: bb\n    network_mode: none\n    ipc: private\n    userns_mode: host\n    cgroup: private\n    oom_kill_disable: false\n    develop:\n      watch: [{path: ., action: rebuild}]\n",
        );
        assert_eq!(plan(&project, &busybox()).argv, ["sh"]);
    }

    #[test]
    fn plans_and_mounts_serialize_with_a_type_tag() {
        let mount = PlannedMount::Volume {
            name: "demo_db".into(),
            target: "/db".into(),
            readonly: false,
            nocopy: true,
            external: false,
        };
        assert_eq!(
            serde_json::to_value(&mount).unwrap(),
            json!({"type": "volume", "name": "demo_db", "target": "/db", "readonly": false,
                   "nocopy": true, "external": false})
        );
        let (project, _) = load_with(VOLUMES_YAML, &[]);
        let planned = plan(&project, &busybox());
        let text = serde_json::to_string(&planned).unwrap();
        assert_eq!(
            serde_json::from_str::<ContainerPlan>(&text).unwrap(),
            planned
        );
        let overrides = RunOverrides {
            env: strings(&["A=1"]),
            command: Some(strings(&["id"])),
            tty: true,
            ..RunOverrides::default()
        };
        let text = serde_json::to_string(&overrides).unwrap();
        assert_eq!(
            serde_json::from_str::<RunOverrides>(&text).unwrap(),
            overrides
        );
    }
}
