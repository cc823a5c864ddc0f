//! The normalized project: what the rest of rcompose works from and what
//! `rcompose config` prints.
//!
//! Its serialized form follows `docker compose config` (compose v2, compose-go v2's
//! `loader/full-struct_test.go` is the reference): keys named and ordered as compose
//! prints them, long syntax for ports, volumes, secrets and configs, absolute paths,
//! `environment` as a map, durations as Go prints them (`1m30s`), sizes as a quoted byte
//! count (`"268435456"`), file modes as octal strings (`"0440"`), `extra_hosts` as a
//! sorted `host=ip` list, and empty or unset values left out. Every name-keyed map is a
//! `BTreeMap`, so output and hashes are deterministic.

use super::syntax;
use super::units::{ByteSize, Duration, SwapLimit};
use serde::de::{self, Deserializer};
use serde::ser::Serializer;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::fmt;

/// `x-*` keys, kept as written.
pub type Extensions = BTreeMap<String, Value>;

/// A whole compose project after loading, merging, interpolation and normalization.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Project {
    pub name: String,
    pub services: BTreeMap<String, Service>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub networks: BTreeMap<String, Network>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub volumes: BTreeMap<String, Volume>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub secrets: BTreeMap<String, Secret>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub configs: BTreeMap<String, Config>,
    /// Top-level `x-*` keys.
    #[serde(flatten)]
    pub extensions: Extensions,
}

/// One service. Fields are in the order `docker compose config` prints them.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Service {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub profiles: Vec<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub build: Option<BuildConfig>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub cap_add: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub cap_drop: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpus: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpuset: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu_shares: Option<i64>,
    /// `None`: the image's CMD; `Some(vec![])`: cleared.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub configs: Vec<FileReference>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub container_name: Option<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub depends_on: BTreeMap<String, DependsOn>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deploy: Option<Deploy>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub devices: Vec<DeviceMapping>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub dns: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub dns_opt: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub dns_search: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub domainname: Option<String>,
    /// `None`: the image's ENTRYPOINT; `Some(vec![])`: cleared.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entrypoint: Option<Vec<String>>,
    /// `None` values are variables named without a value and not found anywhere.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub environment: BTreeMap<String, Option<String>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub env_file: Vec<EnvFile>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub expose: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub external_links: Vec<String>,
    /// Host name -> its addresses; printed as a sorted `host=ip` list, as compose does.
    #[serde(
        skip_serializing_if = "BTreeMap::is_empty",
        serialize_with = "serialize_extra_hosts",
        deserialize_with = "deserialize_extra_hosts"
    )]
    pub extra_hosts: BTreeMap<String, Vec<String>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub group_add: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub healthcheck: Option<Healthcheck>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub init: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ipc: Option<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub links: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub logging: Option<Logging>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mem_limit: Option<ByteSize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memswap_limit: Option<SwapLimit>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub network_mode: Option<String>,
    /// Network key -> attachment options (`None` prints as `null`, as compose does).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub networks: BTreeMap<String, Option<ServiceNetwork>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pid: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pids_limit: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub platform: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ports: Vec<PortConfig>,
    #[serde(skip_serializing_if = "is_false")]
    pub privileged: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pull_policy: Option<String>,
    #[serde(skip_serializing_if = "is_false")]
    pub read_only: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub restart: Option<RestartPolicy>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scale: Option<u32>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub secrets: Vec<FileReference>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub security_opt: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shm_size: Option<ByteSize>,
    #[serde(skip_serializing_if = "is_false")]
    pub stdin_open: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stop_grace_period: Option<Duration>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stop_signal: Option<Signal>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub sysctls: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tmpfs: Vec<String>,
    #[serde(skip_serializing_if = "is_false")]
    pub tty: bool,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub ulimits: BTreeMap<String, Ulimit>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub userns_mode: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub volumes: Vec<ServiceVolume>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub volumes_from: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub working_dir: Option<String>,
    /// Keys of the Compose Specification the runtime does not implement yet
    /// (`blkio_config`, `develop`, `gpus`, …), kept as written so `config` shows them.
    #[serde(flatten, deserialize_with = "deserialize_non_extensions")]
    pub unsupported: BTreeMap<String, Value>,
    /// The service's `x-*` keys.
    #[serde(flatten, deserialize_with = "deserialize_extensions")]
    pub extensions: Extensions,
}

impl Service {
    /// How many containers the service wants: `scale`, else `deploy.replicas`, else 1.
    pub fn replicas(&self) -> u32 {
        self.scale
            .or_else(|| self.deploy.as_ref().and_then(|deploy| deploy.replicas))
            .unwrap_or(1)
    }
}

/// The sha256 (lowercase hex) of the service's effective configuration, stored on its
/// containers: when it changes, they are recreated. Left out, as compose leaves them out,
/// is what must not recreate a container: `scale`, `deploy.replicas`, `depends_on`,
/// `build`, `profiles`, `pull_policy` and the `x-*` extensions.
///
/// The canonical form is the service's compact JSON with every object's keys sorted, so
/// the hash is the same on every run and machine.
pub fn config_hash(service: &Service) -> String {
    let mut view = service.clone();
    view.scale = None;
    view.build = None;
    view.depends_on.clear();
    view.profiles.clear();
    view.pull_policy = None;
    view.extensions.clear();
    if let Some(deploy) = &mut view.deploy {
        deploy.replicas = None;
    }
    let mut canonical = serde_json::to_value(&view)
        .expect("the model serializes to JSON: string keys only, and no failing Serialize impl");
    sort_keys(&mut canonical);
    Sha256::digest(canonical.to_string().as_bytes())
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// Sorts every object's keys, so free-form values (`unsupported`, swarm-only `deploy`
/// parts) hash the same whatever order they were written in. Iterative: input depth
/// doesn't grow the stack.
fn sort_keys(value: &mut Value) {
    let mut pending = vec![value];
    while let Some(value) = pending.pop() {
        match value {
            Value::Object(map) => {
                map.sort_keys();
                pending.extend(map.values_mut());
            }
            Value::Array(items) => pending.extend(items.iter_mut()),
            _ => {}
        }
    }
}

/// `build:` in long form, `context` absolute (or a URL).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct BuildConfig {
    pub context: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dockerfile: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dockerfile_inline: Option<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub args: BTreeMap<String, Option<String>>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub cache_from: Vec<String>,
    /// Name -> absolute path or URL.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub additional_contexts: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub network: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shm_size: Option<ByteSize>,
    /// Other build keys (`tags`, `platforms`, `ssh`, `secrets`, …) and `x-*` keys,
    /// kept as written.
    #[serde(flatten)]
    pub unsupported: BTreeMap<String, Value>,
}

/// One `env_file` entry, `path` absolute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvFile {
    pub path: String,
    /// `false`: a missing file is skipped.
    pub required: bool,
}

/// A required file prints as its path, an optional one as `{path, required: false}`,
/// as compose does.
impl Serialize for EnvFile {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if self.required {
            serializer.serialize_str(&self.path)
        } else {
            EnvFileLong {
                path: self.path.clone(),
                required: false,
            }
            .serialize(serializer)
        }
    }
}

impl<'de> Deserialize<'de> for EnvFile {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Repr {
            Path(String),
            Long(EnvFileLong),
        }
        Ok(match Repr::deserialize(deserializer)? {
            Repr::Path(path) => EnvFile {
                path,
                required: true,
            },
            Repr::Long(EnvFileLong { path, required }) => EnvFile { path, required },
        })
    }
}

#[derive(Serialize, Deserialize)]
struct EnvFileLong {
    path: String,
    #[serde(default = "yes")]
    required: bool,
}

/// One `ports` entry in long form. Short-syntax ranges are expanded to one entry per
/// container port.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct PortConfig {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// `ingress` (compose's default) or `host`.
    pub mode: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host_ip: Option<String>,
    pub target: u16,
    /// A port or a range (`8000-9000`) on the host; `None` picks a free port.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub published: Option<String>,
    /// `tcp`, `udp` or `sctp`.
    pub protocol: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub app_protocol: Option<String>,
}

impl Default for PortConfig {
    fn default() -> Self {
        PortConfig {
            name: None,
            mode: "ingress".to_string(),
            host_ip: None,
            target: 0,
            published: None,
            protocol: "tcp".to_string(),
            app_protocol: None,
        }
    }
}

/// What a service volume mounts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum VolumeType {
    Bind,
    #[default]
    Volume,
    Tmpfs,
    Npipe,
    Cluster,
    Image,
}

/// One `volumes` entry of a service, in long form. Paths are not resolved here
/// (normalize makes bind sources absolute).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ServiceVolume {
    #[serde(rename = "type")]
    pub type_: VolumeType,
    /// Host path (bind), volume name (volume), image (image); `None` for an anonymous
    /// volume or a tmpfs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    pub target: String,
    #[serde(skip_serializing_if = "is_false")]
    pub read_only: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub consistency: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bind: Option<BindOptions>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub volume: Option<VolumeOptions>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tmpfs: Option<TmpfsOptions>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image: Option<ImageOptions>,
}

/// `bind:` options of a bind mount.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct BindOptions {
    /// `rprivate`, `private`, `rshared`, `shared`, `rslave` or `slave`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub propagation: Option<String>,
    /// Create a missing source directory; the short syntax implies `true`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub create_host_path: Option<bool>,
    /// `z` (shared) or `Z` (private) SELinux relabelling.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub selinux: Option<String>,
    /// `enabled`, `disabled`, `writable` or `readonly`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recursive: Option<String>,
}

/// `volume:` options of a volume mount (printed as `volume: {}` when all are unset,
/// as compose does for the short syntax).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct VolumeOptions {
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// Don't copy the image's content at the target into a new volume.
    #[serde(skip_serializing_if = "is_false")]
    pub nocopy: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subpath: Option<String>,
}

/// `tmpfs:` options of a tmpfs mount.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct TmpfsOptions {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size: Option<ByteSize>,
    /// File mode of the tmpfs root, e.g. `0o1777`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mode: Option<u32>,
}

/// `image:` options of an image mount.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ImageOptions {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subpath: Option<String>,
}

/// One attachment of a service to a network.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ServiceNetwork {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub driver_opts: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gw_priority: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interface_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ipv4_address: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ipv6_address: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub link_local_ips: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mac_address: Option<String>,
    /// Higher first when ordering the container's interfaces.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub priority: Option<i32>,
}

/// One `depends_on` entry in long form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct DependsOn {
    pub condition: DependsCondition,
    /// Restart this service when the dependency is updated.
    #[serde(skip_serializing_if = "is_false")]
    pub restart: bool,
    /// `false`: a missing or disabled dependency is only warned about.
    pub required: bool,
}

impl Default for DependsOn {
    fn default() -> Self {
        DependsOn {
            condition: DependsCondition::ServiceStarted,
            restart: false,
            required: true,
        }
    }
}

/// What a dependency must reach before the dependent service starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DependsCondition {
    #[default]
    ServiceStarted,
    ServiceHealthy,
    ServiceCompletedSuccessfully,
}

/// `healthcheck:`; unset timings take the runtime's defaults.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Healthcheck {
    /// `["CMD", …]`, `["CMD-SHELL", "…"]` or `["NONE"]`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub test: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout: Option<Duration>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interval: Option<Duration>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retries: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_period: Option<Duration>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_interval: Option<Duration>,
    #[serde(skip_serializing_if = "is_false")]
    pub disable: bool,
}

/// `deploy:`. What a single host can honour is typed; the swarm-only parts are kept as
/// written.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Deploy {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mode: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replicas: Option<u32>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub update_config: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rollback_config: Option<Value>,
    #[serde(skip_serializing_if = "Resources::is_empty")]
    pub resources: Resources,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub restart_policy: Option<DeployRestartPolicy>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub placement: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub endpoint_mode: Option<String>,
    /// `x-*` keys.
    #[serde(flatten)]
    pub extensions: Extensions,
}

/// `deploy.resources`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Resources {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limits: Option<Resource>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reservations: Option<Resource>,
}

impl Resources {
    /// Neither limits nor reservations: compose leaves `resources` out then.
    pub fn is_empty(&self) -> bool {
        self.limits.is_none() && self.reservations.is_none()
    }
}

/// Limits or reservations of `deploy.resources`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Resource {
    /// A number of CPUs, e.g. `0.5`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpus: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory: Option<ByteSize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pids: Option<i64>,
    /// Device reservations (GPUs …), kept as written.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub devices: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub generic_resources: Option<Value>,
}

/// `deploy.restart_policy`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct DeployRestartPolicy {
    /// `none`, `on-failure` or `any`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub condition: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delay: Option<Duration>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_attempts: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub window: Option<Duration>,
}

/// The service-level `restart:` policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RestartPolicy {
    No,
    Always,
    /// `on-failure[:max_retries]`.
    OnFailure {
        max_retries: Option<u32>,
    },
    UnlessStopped,
}

/// The compose spelling: `no`, `always`, `on-failure`, `on-failure:3`, `unless-stopped`.
impl fmt::Display for RestartPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RestartPolicy::No => f.write_str("no"),
            RestartPolicy::Always => f.write_str("always"),
            RestartPolicy::OnFailure { max_retries: None } => f.write_str("on-failure"),
            RestartPolicy::OnFailure {
                max_retries: Some(max),
            } => write!(f, "on-failure:{max}"),
            RestartPolicy::UnlessStopped => f.write_str("unless-stopped"),
        }
    }
}

impl Serialize for RestartPolicy {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for RestartPolicy {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        syntax::parse_restart(&text).map_err(de::Error::custom)
    }
}

/// A signal by number (Linux numbering); shown by its canonical name, e.g. `SIGTERM`.
/// Built by [`syntax::parse_signal`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Signal(pub(crate) i32);

impl Signal {
    /// The Linux signal number, e.g. 15 for `SIGTERM`.
    pub fn number(self) -> i32 {
        self.0
    }
}

impl fmt::Display for Signal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&syntax::signal_name(self.0))
    }
}

impl Serialize for Signal {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Signal {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        syntax::parse_signal(&text).map_err(de::Error::custom)
    }
}

/// One `devices` entry: host device, its path in the container, cgroup permissions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceMapping {
    pub source: String,
    pub target: String,
    /// Some of `r`, `w`, `m`; compose's default is `rwm`.
    pub permissions: String,
}

/// One `ulimits` entry: one value for both limits, or soft and hard.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Ulimit {
    Single(i64),
    SoftHard { soft: i64, hard: i64 },
}

/// `logging:`: the log driver and its options.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Logging {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub driver: Option<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub options: BTreeMap<String, String>,
}

/// A service's use of a secret or config.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct FileReference {
    pub source: String,
    /// For secrets compose fills `/run/secrets/<source>` in; for configs `/<source>`
    /// is the runtime default.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uid: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gid: Option<String>,
    /// Printed in octal as a string (`"0440"`), as compose v2.34+ does.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "serialize_file_mode",
        deserialize_with = "deserialize_file_mode"
    )]
    pub mode: Option<u32>,
}

/// A top-level network.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Network {
    /// The real name: `<project>_<key>`, or `name:` as given (always set by normalize).
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub driver: Option<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub driver_opts: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Ipam::is_empty")]
    pub ipam: Ipam,
    #[serde(skip_serializing_if = "is_false")]
    pub external: bool,
    #[serde(skip_serializing_if = "is_false")]
    pub internal: bool,
    #[serde(skip_serializing_if = "is_false")]
    pub attachable: bool,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enable_ipv4: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enable_ipv6: Option<bool>,
    #[serde(flatten)]
    pub extensions: Extensions,
}

/// A network's address management: its driver and address pools.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Ipam {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub driver: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub config: Vec<IpamPool>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub options: BTreeMap<String, String>,
}

impl Ipam {
    /// Nothing configured: compose leaves `ipam` out then.
    pub fn is_empty(&self) -> bool {
        self.driver.is_none() && self.config.is_empty() && self.options.is_empty()
    }
}

/// One `ipam.config` entry.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct IpamPool {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subnet: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gateway: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ip_range: Option<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub aux_addresses: BTreeMap<String, String>,
}

/// A top-level volume.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Volume {
    /// The real name: `<project>_<key>`, or `name:` as given (always set by normalize).
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub driver: Option<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub driver_opts: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "is_false")]
    pub external: bool,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    #[serde(flatten)]
    pub extensions: Extensions,
}

/// A top-level secret or config: where its content comes from.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct FileObject {
    /// The real name: `<project>_<key>`, or `name:` as given (always set by normalize).
    pub name: String,
    /// Absolute path of the file holding the content.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// Environment variable holding the content.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub environment: Option<String>,
    /// Inline content (configs only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
    #[serde(skip_serializing_if = "is_false")]
    pub external: bool,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    #[serde(flatten)]
    pub extensions: Extensions,
}

/// A top-level `secrets` entry.
pub type Secret = FileObject;
/// A top-level `configs` entry.
pub type Config = FileObject;

fn is_false(value: &bool) -> bool {
    !*value
}

fn yes() -> bool {
    true
}

fn serialize_extra_hosts<S: Serializer>(
    hosts: &BTreeMap<String, Vec<String>>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    let mut entries: Vec<String> = hosts
        .iter()
        .flat_map(|(host, ips)| ips.iter().map(move |ip| format!("{host}={ip}")))
        .collect();
    entries.sort();
    serializer.collect_seq(entries)
}

fn deserialize_extra_hosts<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<BTreeMap<String, Vec<String>>, D::Error> {
    let mut hosts: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for entry in Vec::<String>::deserialize(deserializer)? {
        let (host, ips) = syntax::parse_extra_host(&entry).map_err(de::Error::custom)?;
        hosts.entry(host).or_default().extend(ips);
    }
    Ok(hosts)
}

fn serialize_file_mode<S: Serializer>(
    mode: &Option<u32>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match mode {
        Some(mode) => serializer.collect_str(&format_args!("0{mode:o}")),
        None => serializer.serialize_none(),
    }
}

fn deserialize_file_mode<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<u32>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Repr {
        Number(u32),
        Octal(String),
    }
    match Option::<Repr>::deserialize(deserializer)? {
        None => Ok(None),
        Some(Repr::Number(mode)) => Ok(Some(mode)),
        Some(Repr::Octal(text)) => u32::from_str_radix(&text, 8).map(Some).map_err(|_| {
            de::Error::custom(format!(
                "{text:?} is not a file mode: expected octal digits, e.g. 0440"
            ))
        }),
    }
}

fn deserialize_extensions<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Extensions, D::Error> {
    let mut map = BTreeMap::<String, Value>::deserialize(deserializer)?;
    map.retain(|key, _| key.starts_with("x-"));
    Ok(map)
}

fn deserialize_non_extensions<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<BTreeMap<String, Value>, D::Error> {
    let mut map = BTreeMap::<String, Value>::deserialize(deserializer)?;
    map.retain(|key, _| !key.starts_with("x-"));
    Ok(map)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::syntax::{parse_ports, parse_signal, parse_volume};
    use serde_json::json;

    fn duration(text: &str) -> Duration {
        Duration::parse(text).unwrap()
    }

    fn size(text: &str) -> ByteSize {
        ByteSize::parse(text).unwrap()
    }

    fn strings(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    fn web() -> Service {
        let mut ports = parse_ports("127.0.0.1:8080:80").unwrap();
        ports.extend(parse_ports("53:53/udp").unwrap());
        Service {
            image: Some("nginx:1.25".into()),
            command: Some(strings(&["nginx", "-g", "daemon off;"])),
            environment: BTreeMap::from([
                ("DEBUG".into(), Some("1".into())),
                ("EMPTY".into(), Some(String::new())),
                ("FROM_SHELL".into(), None),
            ]),
            env_file: vec![
                EnvFile {
                    path: "/app/.env".into(),
                    required: true,
                },
                EnvFile {
                    path: "/app/local.env".into(),
                    required: false,
                },
            ],
            ports,
            volumes: vec![
                parse_volume("data:/var/lib/data:ro").unwrap(),
                parse_volume("/srv/www:/usr/share/nginx/html:z").unwrap(),
                ServiceVolume {
                    type_: VolumeType::Tmpfs,
                    target: "/run".into(),
                    tmpfs: Some(TmpfsOptions {
                        size: Some(size("64m")),
                        mode: Some(0o1777),
                    }),
                    ..ServiceVolume::default()
                },
            ],
            networks: BTreeMap::from([
                ("back".into(), None),
                (
                    "front".into(),
                    Some(ServiceNetwork {
                        aliases: strings(&["www"]),
                        ipv4_address: Some("172.28.0.10".into()),
                        ..ServiceNetwork::default()
                    }),
                ),
            ]),
            depends_on: BTreeMap::from([(
                "db".into(),
                DependsOn {
                    condition: DependsCondition::ServiceHealthy,
                    restart: true,
                    required: true,
                },
            )]),
            healthcheck: Some(Healthcheck {
                test: strings(&["CMD-SHELL", "curl -f http://localhost/"]),
                interval: Some(duration("30s")),
                timeout: Some(duration("5s")),
                retries: Some(3),
                start_period: Some(duration("90s")),
                ..Healthcheck::default()
            }),
            restart: Some(RestartPolicy::UnlessStopped),
            stop_signal: Some(parse_signal("QUIT").unwrap()),
            stop_grace_period: Some(duration("1m30s")),
            mem_limit: Some(size("256m")),
            memswap_limit: Some(SwapLimit::Unlimited),
            extra_hosts: BTreeMap::from([
                ("somehost".into(), strings(&["162.242.195.82"])),
                ("v6host".into(), strings(&["::1"])),
            ]),
            ulimits: BTreeMap::from([
                ("nproc".into(), Ulimit::Single(65535)),
                (
                    "nofile".into(),
                    Ulimit::SoftHard {
                        soft: 20000,
                        hard: 40000,
                    },
                ),
            ]),
            secrets: vec![FileReference {
                source: "token".into(),
                target: Some("/run/secrets/token".into()),
                mode: Some(0o440),
                ..FileReference::default()
            }],
            deploy: Some(Deploy {
                resources: Resources {
                    limits: Some(Resource {
                        cpus: Some(0.5),
                        memory: Some(size("512m")),
                        ..Resource::default()
                    }),
                    reservations: None,
                },
                ..Deploy::default()
            }),
            labels: BTreeMap::from([("com.example.tier".into(), "front".into())]),
            read_only: true,
            unsupported: BTreeMap::from([("gpus".into(), json!("all"))]),
            extensions: BTreeMap::from([("x-team".into(), json!("web"))]),
            ..Service::default()
        }
    }

    fn project() -> Project {
        Project {
            name: "demo".into(),
            services: BTreeMap::from([
                ("web".into(), web()),
                (
                    "db".into(),
                    Service {
                        image: Some("postgres:16".into()),
                        scale: Some(2),
                        ..Service::default()
                    },
                ),
            ]),
            networks: BTreeMap::from([
                (
                    "back".into(),
                    Network {
                        name: "demo_back".into(),
                        internal: true,
                        ..Network::default()
                    },
                ),
                (
                    "front".into(),
                    Network {
                        name: "demo_front".into(),
                        ipam: Ipam {
                            config: vec![IpamPool {
                                subnet: Some("172.28.0.0/16".into()),
                                gateway: Some("172.28.0.1".into()),
                                ..IpamPool::default()
                            }],
                            ..Ipam::default()
                        },
                        ..Network::default()
                    },
                ),
            ]),
            volumes: BTreeMap::from([(
                "data".into(),
                Volume {
                    name: "demo_data".into(),
                    ..Volume::default()
                },
            )]),
            secrets: BTreeMap::from([(
                "token".into(),
                Secret {
                    name: "demo_token".into(),
                    file: Some("/app/token.txt".into()),
                    ..Secret::default()
                },
            )]),
            configs: BTreeMap::new(),
            extensions: BTreeMap::from([("x-common".into(), json!({"b": 1, "a": [true]}))]),
        }
    }

    /// What `rcompose config` prints for [`project`].
    const PROJECT_YAML: &str = "\
name: demo
services:
  db:
    image: postgres:16
    scale: 2
  web:
    command:
    - nginx
    - -g
    - daemon off;
    depends_on:
      db:
        condition: service_healthy
        restart: true
        required: true
    deploy:
      resources:
        limits:
          cpus: 0.5
          memory: '536870912'
    environment:
      DEBUG: '1'
      EMPTY: ''
      FROM_SHELL: null
    env_file:
    - /app/.env
    - path: /app/local.env
      required: false
    extra_hosts:
    - somehost=162.242.195.82
    - v6host=::1
    healthcheck:
      test:
      - CMD-SHELL
      - curl -f http://localhost/
      timeout: 5s
      interval: 30s
      retries: 3
      start_period: 1m30s
    image: nginx:1.25
    labels:
      com.example.tier: front
    mem_limit: '268435456'
    memswap_limit: '-1'
    networks:
      back: null
      front:
        aliases:
        - www
        ipv4_address: 172.28.0.10
    ports:
    - mode: ingress
      host_ip: 127.0.0.1
      target: 80
      published: '8080'
      protocol: tcp
    - mode: ingress
      target: 53
      published: '53'
      protocol: udp
    read_only: true
    restart: unless-stopped
    secrets:
    - source: token
      target: /run/secrets/token
      mode: '0440'
    stop_grace_period: 1m30s
    stop_signal: SIGQUIT
    ulimits:
      nofile:
        soft: 20000
        hard: 40000
      nproc: 65535
    volumes:
    - type: volume
      source: data
      target: /var/lib/data
      read_only: true
      volume: {}
    - type: bind
      source: /srv/www
      target: /usr/share/nginx/html
      bind:
        create_host_path: true
        selinux: z
    - type: tmpfs
      target: /run
      tmpfs:
        size: '67108864'
        mode: 1023
    gpus: all
    x-team: web
networks:
  back:
    name: demo_back
    internal: true
  front:
    name: demo_front
    ipam:
      config:
      - subnet: 172.28.0.0/16
        gateway: 172.28.0.1
volumes:
  data:
    name: demo_data
secrets:
  token:
    name: demo_token
    file: /app/token.txt
x-common:
  b: 1
  a:
  - true
";

    #[test]
    fn prints_the_project_as_compose_config_does() {
        assert_eq!(yaml_serde::to_string(&project()).unwrap(), PROJECT_YAML);
    }

    #[test]
    fn prints_an_empty_project_and_bare_resources() {
        let project = Project {
            name: "empty".into(),
            networks: BTreeMap::from([(
                "default".into(),
                Network {
                    name: "empty_default".into(),
                    ..Network::default()
                },
            )]),
            ..Project::default()
        };
        assert_eq!(
            yaml_serde::to_string(&project).unwrap(),
            "name: empty\nservices: {}\nnetworks:\n  default:\n    name: empty_default\n"
        );
    }

    #[test]
    fn round_trips_through_yaml_and_json() {
        let project = project();
        let yaml = yaml_serde::to_string(&project).unwrap();
        assert_eq!(yaml_serde::from_str::<Project>(&yaml).unwrap(), project);
        let json = serde_json::to_string(&project).unwrap();
        assert_eq!(serde_json::from_str::<Project>(&json).unwrap(), project);
    }

    #[test]
    fn splits_unknown_service_keys_into_unsupported_and_extensions() {
        let service: Service =
            serde_json::from_str(r#"{"image": "x", "gpus": "all", "x-a": 1, "develop": {}}"#)
                .unwrap();
        assert_eq!(service.image.as_deref(), Some("x"));
        assert_eq!(
            service.unsupported,
            BTreeMap::from([("develop".into(), json!({})), ("gpus".into(), json!("all"))])
        );
        assert_eq!(
            service.extensions,
            BTreeMap::from([("x-a".into(), json!(1))])
        );
    }

    #[test]
    fn reads_the_accepted_forms_back() {
        let service: Service = serde_json::from_str(
            r#"{
                "env_file": ["/a.env", {"path": "/b.env"}, {"path": "/c.env", "required": false}],
                "secrets": [{"source": "s", "mode": 288}, {"source": "t", "mode": "0400"}],
                "depends_on": {"db": {"condition": "service_healthy"}},
                "extra_hosts": ["h=::1", "h=10.0.0.1", "g:1.2.3.4"],
                "mem_limit": 1024,
                "memswap_limit": -1,
                "stop_signal": "15",
                "restart": "on-failure:2"
            }"#,
        )
        .unwrap();
        let env_file = |path: &str, required| EnvFile {
            path: path.into(),
            required,
        };
        assert_eq!(
            service.env_file,
            vec![
                env_file("/a.env", true),
                env_file("/b.env", true),
                env_file("/c.env", false)
            ]
        );
        let modes: Vec<_> = service.secrets.iter().map(|s| s.mode).collect();
        assert_eq!(modes, vec![Some(0o440), Some(0o400)]);
        assert_eq!(
            service.depends_on["db"],
            DependsOn {
                condition: DependsCondition::ServiceHealthy,
                restart: false,
                required: true,
            }
        );
        assert_eq!(
            service.extra_hosts,
            BTreeMap::from([
                ("g".into(), strings(&["1.2.3.4"])),
                ("h".into(), strings(&["::1", "10.0.0.1"])),
            ])
        );
        assert_eq!(service.mem_limit, Some(ByteSize(1024)));
        assert_eq!(service.memswap_limit, Some(SwapLimit::Unlimited));
        assert_eq!(service.stop_signal.map(Signal::number), Some(15));
        assert_eq!(
            service.restart,
            Some(RestartPolicy::OnFailure {
                max_retries: Some(2)
            })
        );
    }

    #[test]
    fn refuses_bad_values_when_reading_back() {
        // The message, without serde_json's " at line 1 column N".
        let error = |json: &str| {
            let text = serde_json::from_str::<Service>(json)
                .unwrap_err()
                .to_string();
            text.rsplit_once(" at line ")
                .map(|(message, _)| message.to_string())
        };
        assert_eq!(
            error(r#"{"secrets": [{"source": "s", "mode": "0999"}]}"#),
            Some("\"0999\" is not a file mode: expected octal digits, e.g. 0440".into())
        );
        assert_eq!(
            error(r#"{"restart": "sometimes"}"#),
            Some(
                "unknown restart policy \"sometimes\": expected no, always, \
                 on-failure[:MAX_RETRIES] or unless-stopped"
                    .into()
            )
        );
        assert_eq!(
            error(r#"{"extra_hosts": ["nohost"]}"#),
            Some(
                "\"nohost\" has no IP address: expected HOST=IP or HOST:IP, e.g. myhost=10.0.0.5"
                    .into()
            )
        );
    }

    #[test]
    fn replicas_come_from_scale_then_deploy_then_one() {
        let mut service = Service::default();
        assert_eq!(service.replicas(), 1);
        service.deploy = Some(Deploy {
            replicas: Some(3),
            ..Deploy::default()
        });
        assert_eq!(service.replicas(), 3);
        service.scale = Some(0);
        assert_eq!(service.replicas(), 0);
    }

    #[test]
    fn config_hash_is_stable_and_pinned() {
        let service = Service {
            image: Some("busybox:1.36".into()),
            command: Some(strings(&["sleep", "infinity"])),
            environment: BTreeMap::from([("A".into(), Some("1".into()))]),
            ..Service::default()
        };
        assert_eq!(config_hash(&service), config_hash(&service.clone()));
        assert_eq!(config_hash(&web()), config_hash(&web()));
        // The canonical form is `{"command":["sleep","infinity"],"environment":{"A":"1"},
        // "image":"busybox:1.36"}`; if this changes, every container gets recreated.
        assert_eq!(
            config_hash(&service),
            "c130824b524f4de6d7ecf21fb57d0d4fd357774f506d3e88cf615db5bf01330d"
        );
    }

    #[test]
    fn config_hash_follows_what_needs_a_new_container() {
        let base = web();
        let hash = config_hash(&base);
        let changed = |change: fn(&mut Service)| {
            let mut service = base.clone();
            change(&mut service);
            config_hash(&service)
        };
        assert_ne!(changed(|s| s.image = Some("nginx:1.26".into())), hash);
        assert_ne!(
            changed(|s| {
                s.environment.insert("DEBUG".into(), Some("0".into()));
            }),
            hash
        );
        assert_ne!(changed(|s| s.ports.clear()), hash);
        assert_ne!(
            changed(|s| {
                s.unsupported.insert("gpus".into(), json!("none"));
            }),
            hash
        );
        assert_eq!(changed(|s| s.scale = Some(5)), hash);
        assert_eq!(changed(|s| s.depends_on.clear()), hash);
        assert_eq!(
            changed(|s| {
                if let Some(deploy) = s.deploy.as_mut() {
                    deploy.replicas = Some(4);
                }
            }),
            hash
        );
        assert_eq!(
            changed(|s| {
                s.build = Some(BuildConfig {
                    context: "/app".into(),
                    ..BuildConfig::default()
                })
            }),
            hash
        );
        assert_eq!(changed(|s| s.profiles = strings(&["debug"])), hash);
        assert_eq!(changed(|s| s.pull_policy = Some("always".into())), hash);
        assert_eq!(changed(|s| s.extensions.clear()), hash);
    }

    #[test]
    fn config_hash_ignores_key_order_in_free_form_values() {
        let mut first = web();
        first
            .unsupported
            .insert("develop".into(), json!({"watch": [], "a": 1}));
        let mut second = web();
        second
            .unsupported
            .insert("develop".into(), json!({"a": 1, "watch": []}));
        assert_eq!(config_hash(&first), config_hash(&second));
    }
}
