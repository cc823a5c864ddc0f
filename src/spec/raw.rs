//! The raw model: what the user wrote, typed.
//!
//! These types mirror the Compose Specification's JSON Schema (`schemas/compose-spec.json`)
//! one to one, so that any document valid against that schema deserializes into them, in
//! every syntax the spec allows. Values stay as written: a duration is a `String`, a size
//! may be a number or a string, a port may be a number, a short string or a long mapping.
//! Turning them into one canonical form is the job of `normalize`.
//!
//! Conventions:
//! - Every optional property is an `Option`; a property the spec requires is not.
//!   A YAML `null` where the spec allows it (`command: null`, `networks: {front: null}`)
//!   also reads as `None`.
//! - Where the spec offers alternatives (`oneOf`, or a list of types) the field is an
//!   untagged enum, one variant per alternative: [`BoolOrString`], [`IntOrString`],
//!   [`NumberOrString`], [`Scalar`], [`StringOrList`], [`ListOrDict`], [`Command`],
//!   [`Build`], [`Extends`], [`DependsOn`], [`ServiceNetworks`], [`Port`], …
//! - Structs deny unknown fields. Extension keys (`x-*`), which the spec allows almost
//!   everywhere, are dropped by the deserializer (`de`) before they reach these types.
//! - Maps keep the file's order ([`IndexMap`]).
//!
//! [`json_schema`] generates the editor schema (`schemas/rcompose.schema.json`) from these
//! types.

use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Map, Value};

/// A compose file: the application model as written by the user.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawProject {
    /// Declared for backward compatibility, ignored. Please remove it.
    #[schemars(extend("deprecated" = true))]
    pub version: Option<String>,
    /// Define the Compose project name, until user defines one explicitly.
    pub name: Option<String>,
    /// Compose sub-projects to be included.
    pub include: Option<Vec<Include>>,
    /// The services that will be used by your application.
    #[schemars(transform = closed_names)]
    pub services: Option<IndexMap<String, Service>>,
    /// Language models that will be used by your application.
    #[schemars(transform = open_names)]
    pub models: Option<IndexMap<String, Model>>,
    /// Networks that are shared among multiple services.
    #[schemars(transform = open_names)]
    pub networks: Option<IndexMap<String, Option<Network>>>,
    /// Named volumes that are shared among multiple services.
    #[schemars(transform = closed_names)]
    pub volumes: Option<IndexMap<String, Option<Volume>>>,
    /// Secrets that are shared among multiple services.
    #[schemars(transform = closed_names)]
    pub secrets: Option<IndexMap<String, Secret>>,
    /// Configurations that are shared among multiple services.
    #[schemars(transform = closed_names)]
    pub configs: Option<IndexMap<String, Config>>,
}

/// Configuration for a service.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Service {
    /// Development configuration for the service, used for development workflows.
    #[schemars(extend("x-nullable" = true))]
    pub develop: Option<Develop>,
    /// Deployment configuration for the service.
    #[schemars(extend("x-nullable" = true))]
    pub deploy: Option<Deploy>,
    /// Annotations for the container.
    pub annotations: Option<ListOrDict>,
    /// Whether to collect the service's logs when attached (`up` without `-d`).
    pub attach: Option<BoolOrString>,
    /// Configuration options for building the service's image.
    pub build: Option<Build>,
    /// Block IO configuration for the service.
    pub blkio_config: Option<BlkioConfig>,
    /// Add Linux capabilities. For example, 'CAP_SYS_ADMIN', 'SYS_ADMIN', or 'NET_ADMIN'.
    pub cap_add: Option<Vec<String>>,
    /// Drop Linux capabilities. For example, 'CAP_SYS_ADMIN', 'SYS_ADMIN', or 'NET_ADMIN'.
    pub cap_drop: Option<Vec<String>>,
    /// Specify the cgroup namespace to join. Use 'host' to use the host's cgroup namespace,
    /// or 'private' to use a private cgroup namespace.
    pub cgroup: Option<Cgroup>,
    /// Specify an optional parent cgroup for the container.
    pub cgroup_parent: Option<String>,
    /// Override the default command declared by the container image, for example 'CMD' in
    /// Dockerfile.
    #[schemars(extend("x-nullable" = true))]
    pub command: Option<Command>,
    /// Grant access to Configs on a per-service basis.
    pub configs: Option<Vec<FileRef>>,
    /// Specify a custom container name, rather than a generated default name.
    #[schemars(regex(pattern = "[a-zA-Z0-9][a-zA-Z0-9_.-]+"))]
    pub container_name: Option<String>,
    /// Number of usable CPUs.
    #[schemars(extend("minimum" = 0))]
    pub cpu_count: Option<IntOrString>,
    /// Percentage of CPU resources to use.
    #[schemars(extend("minimum" = 0, "maximum" = 100))]
    pub cpu_percent: Option<IntOrString>,
    /// CPU shares (relative weight) for the container.
    pub cpu_shares: Option<NumberOrString>,
    /// Limit the CPU CFS (Completely Fair Scheduler) quota.
    pub cpu_quota: Option<NumberOrString>,
    /// Limit the CPU CFS (Completely Fair Scheduler) period.
    pub cpu_period: Option<NumberOrString>,
    /// Limit the CPU real-time period in microseconds or a duration.
    pub cpu_rt_period: Option<NumberOrString>,
    /// Limit the CPU real-time runtime in microseconds or a duration.
    pub cpu_rt_runtime: Option<NumberOrString>,
    /// Number of CPUs to use. A floating-point value is supported to request partial CPUs.
    pub cpus: Option<NumberOrString>,
    /// CPUs in which to allow execution (0-3, 0,1).
    pub cpuset: Option<String>,
    /// Configure the credential spec for managed service account.
    pub credential_spec: Option<CredentialSpec>,
    /// Express dependency between services. Service dependencies cause services to be
    /// started in dependency order. The dependent service will wait for the dependency to be
    /// ready before starting.
    pub depends_on: Option<DependsOn>,
    /// Add rules to the cgroup allowed devices list.
    pub device_cgroup_rules: Option<Vec<String>>,
    /// List of device mappings for the container.
    pub devices: Option<Vec<Device>>,
    /// Custom DNS servers to set for the service container.
    pub dns: Option<StringOrList>,
    /// Custom DNS options to be passed to the container's DNS resolver.
    pub dns_opt: Option<Vec<String>>,
    /// Custom DNS search domains to set on the service container.
    pub dns_search: Option<StringOrList>,
    /// Custom domain name to use for the service container.
    pub domainname: Option<String>,
    /// Override the default entrypoint declared by the container image, for example
    /// 'ENTRYPOINT' in Dockerfile.
    #[schemars(extend("x-nullable" = true))]
    pub entrypoint: Option<Command>,
    /// Add environment variables from a file or multiple files. Can be a single file path or
    /// a list of file paths.
    pub env_file: Option<EnvFile>,
    /// Add metadata to containers using files containing Docker labels.
    pub label_file: Option<StringOrList>,
    /// Add environment variables. You can use either an array or a list of KEY=VAL pairs.
    pub environment: Option<ListOrDict>,
    /// Expose ports without publishing them to the host machine - they'll only be accessible
    /// to linked services.
    pub expose: Option<Vec<NumberOrString>>,
    /// Extend another service, in the current file or another file.
    pub extends: Option<Extends>,
    /// Specify a service which will not be manage by Compose directly, and delegate its
    /// management to an external provider.
    pub provider: Option<Provider>,
    /// Link to services started outside this Compose application. Specify services as
    /// `service_name:alias`.
    pub external_links: Option<Vec<String>>,
    /// Add hostname mappings to the container network interface configuration.
    pub extra_hosts: Option<ExtraHosts>,
    /// Define GPU devices to use. Can be set to 'all' to use all GPUs, or a list of specific
    /// GPU devices.
    pub gpus: Option<Gpus>,
    /// Add additional groups which user inside the container should be member of.
    pub group_add: Option<Vec<NumberOrString>>,
    /// Configure a health check for the container to monitor its health status.
    pub healthcheck: Option<Healthcheck>,
    /// Define a custom hostname for the service container.
    pub hostname: Option<String>,
    /// Specify the image to start the container from. Can be a repository/tag, a digest, or
    /// a local image ID.
    pub image: Option<String>,
    /// Run as an init process inside the container that forwards signals and reaps
    /// processes.
    pub init: Option<BoolOrString>,
    /// IPC sharing mode for the service container. Use 'host' to share the host's IPC
    /// namespace, 'service:[service_name]' to share with another service, or 'shareable' to
    /// allow other services to share this service's IPC namespace.
    pub ipc: Option<String>,
    /// Container isolation technology to use. Supported values are platform-specific.
    pub isolation: Option<String>,
    /// Add metadata to containers using Docker labels. You can use either an array or a
    /// list.
    pub labels: Option<ListOrDict>,
    /// Link to containers in another service. Either specify both the service name and a
    /// link alias (SERVICE:ALIAS), or just the service name.
    pub links: Option<Vec<String>>,
    /// Logging configuration for the service.
    pub logging: Option<Logging>,
    /// Container MAC address to set.
    pub mac_address: Option<String>,
    /// Memory limit for the container. A string value can use suffix like '2g' for 2
    /// gigabytes.
    pub mem_limit: Option<NumberOrString>,
    /// Memory reservation for the container.
    pub mem_reservation: Option<IntOrString>,
    /// Container memory swappiness as percentage (0 to 100).
    pub mem_swappiness: Option<IntOrString>,
    /// Amount of memory the container is allowed to swap to disk. Set to -1 to enable
    /// unlimited swap.
    pub memswap_limit: Option<NumberOrString>,
    /// Network mode. Values can be 'bridge', 'host', 'none', 'service:[service name]', or
    /// 'container:[container name]'.
    pub network_mode: Option<String>,
    /// AI Models to use, referencing entries under the top-level models key.
    pub models: Option<ServiceModels>,
    /// Networks to join, referencing entries under the top-level networks key. Can be a list
    /// of network names or a mapping of network name to network configuration.
    pub networks: Option<ServiceNetworks>,
    /// Disable OOM Killer for the container.
    pub oom_kill_disable: Option<BoolOrString>,
    /// Tune host's OOM preferences for the container (accepts -1000 to 1000).
    #[schemars(extend("minimum" = -1000, "maximum" = 1000))]
    pub oom_score_adj: Option<IntOrString>,
    /// PID mode for container.
    #[schemars(extend("x-nullable" = true))]
    pub pid: Option<String>,
    /// Tune a container's PIDs limit. Set to -1 for unlimited PIDs.
    pub pids_limit: Option<NumberOrString>,
    /// Target platform to run on, e.g., 'linux/amd64', 'linux/arm64', or 'windows/amd64'.
    pub platform: Option<String>,
    /// Expose container ports. Short format (`[HOST:]CONTAINER[/PROTOCOL]`).
    pub ports: Option<Vec<Port>>,
    /// Commands to run after the container starts. If any command fails, the container
    /// stops.
    pub post_start: Option<Vec<ServiceHook>>,
    /// Commands to run before the container stops. If any command fails, the container stop
    /// is aborted.
    pub pre_stop: Option<Vec<ServiceHook>>,
    /// Give extended privileges to the service container.
    pub privileged: Option<BoolOrString>,
    /// List of profiles for this service. When profiles are specified, services are only
    /// started when the profile is activated.
    pub profiles: Option<Vec<String>>,
    /// Policy for pulling images. Options include: 'always', 'never', 'if_not_present',
    /// 'missing', 'build', or time-based refresh policies.
    #[schemars(regex(
        pattern = "always|never|build|if_not_present|missing|refresh|daily|weekly|every_([0-9]+[wdhms])+"
    ))]
    pub pull_policy: Option<String>,
    /// Time after which to refresh the image. Used with pull_policy=refresh.
    pub pull_refresh_after: Option<String>,
    /// Mount the container's filesystem as read only.
    pub read_only: Option<BoolOrString>,
    /// Restart policy for the service container. Options include: 'no', 'always',
    /// 'on-failure', and 'unless-stopped'.
    pub restart: Option<String>,
    /// Runtime to use for this container, e.g., 'runc'.
    pub runtime: Option<String>,
    /// Number of containers to deploy for this service.
    pub scale: Option<IntOrString>,
    /// Override the default labeling scheme for each container.
    pub security_opt: Option<Vec<String>>,
    /// Size of /dev/shm. A string value can use suffix like '2g' for 2 gigabytes.
    pub shm_size: Option<NumberOrString>,
    /// Grant access to Secrets on a per-service basis.
    pub secrets: Option<Vec<FileRef>>,
    /// Kernel parameters to set in the container. You can use either an array or a list.
    pub sysctls: Option<ListOrDict>,
    /// Keep STDIN open even if not attached.
    pub stdin_open: Option<BoolOrString>,
    /// Time to wait for the container to stop gracefully before sending SIGKILL (e.g., '1s',
    /// '1m30s').
    pub stop_grace_period: Option<String>,
    /// Signal to stop the container (e.g., 'SIGTERM', 'SIGINT').
    pub stop_signal: Option<String>,
    /// Storage driver options for the container.
    pub storage_opt: Option<IndexMap<String, Value>>,
    /// Mount a temporary filesystem (tmpfs) into the container. Can be a single value or a
    /// list.
    pub tmpfs: Option<StringOrList>,
    /// Allocate a pseudo-TTY to service container.
    pub tty: Option<BoolOrString>,
    /// Override the default ulimits for a container.
    #[schemars(transform = ulimit_names)]
    pub ulimits: Option<IndexMap<String, Ulimit>>,
    /// Bind mount Docker API socket and required auth.
    pub use_api_socket: Option<bool>,
    /// Username or UID to run the container process as.
    pub user: Option<String>,
    /// UTS namespace to use. 'host' shares the host's UTS namespace.
    pub uts: Option<String>,
    /// User namespace to use. 'host' shares the host's user namespace.
    pub userns_mode: Option<String>,
    /// Mount host paths or named volumes accessible to the container. Short syntax
    /// (`VOLUME:CONTAINER_PATH[:MODE]`).
    pub volumes: Option<Vec<ServiceVolume>>,
    /// Mount volumes from another service or container. Optionally specify read-only access
    /// (ro) or read-write (rw).
    pub volumes_from: Option<Vec<String>>,
    /// The working directory in which the entrypoint or command will be run.
    pub working_dir: Option<String>,
}

/// `build`: a context path, or the full build configuration.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum Build {
    /// Path to the build context. Can be a relative path or a URL.
    Context(String),
    /// The full build configuration.
    Config(Box<BuildConfig>),
}

/// Configuration options for building the service's image.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BuildConfig {
    /// Path to the build context. Can be a relative path or a URL.
    pub context: Option<String>,
    /// Name of the Dockerfile to use for building the image.
    pub dockerfile: Option<String>,
    /// Inline Dockerfile content to use instead of a Dockerfile from the build context.
    pub dockerfile_inline: Option<String>,
    /// List of extra privileged entitlements to grant to the build process.
    pub entitlements: Option<Vec<String>>,
    /// Build-time variables, specified as a map or a list of KEY=VAL pairs.
    pub args: Option<ListOrDict>,
    /// SSH agent socket or keys to expose to the build. Format is either a string or a list
    /// of `default|<id>[=<socket>|<key>[,<key>]]`.
    pub ssh: Option<ListOrDict>,
    /// Labels to apply to the built image.
    pub labels: Option<ListOrDict>,
    /// List of sources the image builder should use for cache resolution.
    pub cache_from: Option<Vec<String>>,
    /// Cache destinations for the build cache.
    pub cache_to: Option<Vec<String>>,
    /// Do not use cache when building the image.
    pub no_cache: Option<BoolOrString>,
    /// Additional build contexts to use, specified as a map of name to context path or URL.
    pub additional_contexts: Option<ListOrDict>,
    /// Network mode to use for the build. Options include 'default', 'none', 'host', or a
    /// network name.
    pub network: Option<String>,
    /// Add a provenance attestation.
    pub provenance: Option<BoolOrString>,
    /// Add a SBOM attestation.
    pub sbom: Option<BoolOrString>,
    /// Always attempt to pull a newer version of the image.
    pub pull: Option<BoolOrString>,
    /// Build stage to target in a multi-stage Dockerfile.
    pub target: Option<String>,
    /// Size of /dev/shm for the build container. A string value can use suffix like '2g' for
    /// 2 gigabytes.
    pub shm_size: Option<IntOrString>,
    /// Add hostname mappings for the build container.
    pub extra_hosts: Option<ExtraHosts>,
    /// Container isolation technology to use for the build process.
    pub isolation: Option<String>,
    /// Give extended privileges to the build container.
    pub privileged: Option<BoolOrString>,
    /// Secrets to expose to the build. These are accessible at build-time.
    pub secrets: Option<Vec<FileRef>>,
    /// Additional tags to apply to the built image.
    pub tags: Option<Vec<String>>,
    /// Override the default ulimits for the build container.
    #[schemars(transform = ulimit_names)]
    pub ulimits: Option<IndexMap<String, Ulimit>>,
    /// Platforms to build for, e.g., 'linux/amd64', 'linux/arm64', or 'windows/amd64'.
    pub platforms: Option<Vec<String>>,
}

/// Block IO configuration for the service.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BlkioConfig {
    /// Limit read rate (bytes per second) from a device.
    pub device_read_bps: Option<Vec<BlkioLimit>>,
    /// Limit read rate (IO per second) from a device.
    pub device_read_iops: Option<Vec<BlkioLimit>>,
    /// Limit write rate (bytes per second) to a device.
    pub device_write_bps: Option<Vec<BlkioLimit>>,
    /// Limit write rate (IO per second) to a device.
    pub device_write_iops: Option<Vec<BlkioLimit>>,
    /// Block IO weight (relative weight) for the service, between 10 and 1000.
    pub weight: Option<IntOrString>,
    /// Block IO weight (relative weight) for specific devices.
    pub weight_device: Option<Vec<BlkioWeight>>,
}

/// Block IO limit for a specific device.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BlkioLimit {
    /// Path to the device (e.g., '/dev/sda').
    pub path: Option<String>,
    /// Rate limit in bytes per second or IO operations per second.
    pub rate: Option<IntOrString>,
}

/// Block IO weight for a specific device.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BlkioWeight {
    /// Path to the device (e.g., '/dev/sda').
    pub path: Option<String>,
    /// Relative weight for the device, between 10 and 1000.
    pub weight: Option<IntOrString>,
}

/// `cgroup`: the cgroup namespace to join.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Cgroup {
    /// The host's cgroup namespace.
    Host,
    /// A private cgroup namespace.
    Private,
}

/// Configure the credential spec for managed service account.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CredentialSpec {
    /// The name of the credential spec Config to use.
    pub config: Option<String>,
    /// Path to a credential spec file.
    pub file: Option<String>,
    /// Path to a credential spec in the Windows registry.
    pub registry: Option<String>,
}

/// `depends_on`: a list of service names, or a map of service name to its conditions.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum DependsOn {
    /// Short syntax: the names of the services this one depends on.
    List(Vec<String>),
    /// Long syntax: service name to the dependency's settings.
    #[schemars(transform = closed_names)]
    Map(IndexMap<String, DependsOnEntry>),
}

/// One dependency in the long syntax of `depends_on`.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DependsOnEntry {
    /// Whether to restart dependent services when this service is restarted.
    pub restart: Option<BoolOrString>,
    /// Whether the dependency is required for the dependent service to start.
    #[schemars(extend("default" = true))]
    pub required: Option<bool>,
    /// Condition to wait for. 'service_started' waits until the service has started,
    /// 'service_healthy' waits until the service is healthy (as defined by its
    /// healthcheck), 'service_completed_successfully' waits until the service has completed
    /// successfully.
    pub condition: DependsOnCondition,
}

/// What a dependency must reach before the dependent service starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum DependsOnCondition {
    /// The dependency has started.
    ServiceStarted,
    /// The dependency is healthy (as defined by its healthcheck).
    ServiceHealthy,
    /// The dependency has run to completion with exit code 0.
    ServiceCompletedSuccessfully,
}

/// One `devices` entry: `HOST[:CONTAINER[:PERMISSIONS]]` or the long syntax.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum Device {
    /// Short syntax, `HOST[:CONTAINER[:PERMISSIONS]]`.
    Short(String),
    /// Long syntax.
    Long(DeviceMapping),
}

/// A device mapping in the long syntax.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DeviceMapping {
    /// Path on the host to the device.
    pub source: String,
    /// Path in the container where the device will be mapped.
    pub target: Option<String>,
    /// Cgroup permissions for the device (rwm).
    pub permissions: Option<String>,
}

/// `env_file`: one path, or a list of files.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum EnvFile {
    /// Path to a file containing environment variables.
    Path(String),
    /// List of paths to files containing environment variables.
    List(Vec<EnvFileEntry>),
}

/// One file of an `env_file` list: a path, or a path with options.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum EnvFileEntry {
    /// Path to a file containing environment variables.
    Path(String),
    /// Detailed configuration for an environment file.
    Config(EnvFileConfig),
}

/// Detailed configuration for an environment file.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EnvFileConfig {
    /// Path to the environment file.
    pub path: String,
    /// Format attribute lets you to use an alternative file formats for env_file. When not
    /// set, env_file is parsed according to Compose rules.
    pub format: Option<String>,
    /// Whether the file is required. If true and the file doesn't exist, an error will be
    /// raised.
    #[schemars(extend("default" = true))]
    pub required: Option<BoolOrString>,
}

/// `extends`: a service name, or a service in another file.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum Extends {
    /// The name of a service in the same file.
    Service(String),
    /// A service, optionally in another file.
    Config(ExtendsConfig),
}

/// The long syntax of `extends`.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExtendsConfig {
    /// The name of the service to extend.
    pub service: String,
    /// The file path where the service to extend is defined.
    pub file: Option<String>,
}

/// Specify a service which will not be manage by Compose directly, and delegate its
/// management to an external provider.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Provider {
    /// External component used by Compose to manage setup and teardown lifecycle of the
    /// service.
    #[serde(rename = "type")]
    pub kind: String,
    /// Provider-specific options.
    pub options: Option<IndexMap<String, ProviderOption>>,
}

/// The value of one provider option: a scalar or a list of scalars.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum ProviderOption {
    /// A single value.
    One(Scalar),
    /// Several values.
    List(Vec<Scalar>),
}

/// `extra_hosts`: a map of hostname to address(es), or a list of `host:ip` / `host=ip`.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum ExtraHosts {
    /// Hostname to one IP address or a list of them.
    Map(IndexMap<String, StringOrList>),
    /// List of host:IP mappings in the format 'hostname:IP'.
    List(Vec<String>),
}

/// `gpus`: all GPUs, or a list of device requests.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum Gpus {
    /// `all`: use all available GPUs.
    All(AllGpus),
    /// List of specific GPU devices to use.
    List(Vec<GpuDevice>),
}

/// The keyword `all` of `gpus`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
pub enum AllGpus {
    /// Use all available GPUs.
    #[serde(rename = "all")]
    All,
}

/// One GPU request of `gpus`. The spec leaves these mappings open: other keys are accepted
/// and kept as written.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
pub struct GpuDevice {
    /// List of capabilities the GPU needs to have (e.g., 'compute', 'utility').
    pub capabilities: Option<Vec<String>>,
    /// Number of GPUs to use.
    pub count: Option<IntOrString>,
    /// List of specific GPU device IDs to use.
    pub device_ids: Option<Vec<String>>,
    /// GPU driver to use (e.g., 'nvidia').
    pub driver: Option<String>,
    /// Driver-specific options for the GPU.
    pub options: Option<ListOrDict>,
    /// Keys the spec does not define, as written.
    #[serde(flatten)]
    pub extra: IndexMap<String, Value>,
}

/// Configuration options to determine whether the container is healthy.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Healthcheck {
    /// Disable any container-specified healthcheck. Set to true to disable.
    pub disable: Option<BoolOrString>,
    /// Time between running the check (e.g., '1s', '1m30s'). Default: 30s.
    pub interval: Option<String>,
    /// Number of consecutive failures needed to consider the container as unhealthy.
    /// Default: 3.
    pub retries: Option<NumberOrString>,
    /// The test to perform to check container health. Can be a string or a list. The first
    /// item is either NONE, CMD, or CMD-SHELL. If it's CMD, the rest of the command is
    /// exec'd. If it's CMD-SHELL, the rest is run in the shell.
    pub test: Option<StringOrList>,
    /// Maximum time to allow one check to run (e.g., '1s', '1m30s'). Default: 30s.
    pub timeout: Option<String>,
    /// Start period for the container to initialize before starting health-retries
    /// countdown (e.g., '1s', '1m30s'). Default: 0s.
    pub start_period: Option<String>,
    /// Time between running the check during the start period (e.g., '1s', '1m30s').
    /// Default: interval value.
    pub start_interval: Option<String>,
}

/// Logging configuration for the service.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Logging {
    /// Logging driver to use, such as 'json-file', 'syslog', 'journald', etc.
    pub driver: Option<String>,
    /// Options for the logging driver.
    pub options: Option<IndexMap<String, Option<NumberOrString>>>,
}

/// Service `models`: a list of model names, or a map of model name to its settings.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum ServiceModels {
    /// The names of the models to use.
    List(Vec<String>),
    /// Model name to how the service learns about it.
    #[schemars(transform = open_names)]
    Map(IndexMap<String, ServiceModel>),
}

/// How a service learns about one model.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ServiceModel {
    /// Environment variable set to AI model endpoint.
    pub endpoint_var: Option<String>,
    /// Environment variable set to AI model name.
    pub model_var: Option<String>,
}

/// Service `networks`: a list of network names, or a map of network name to settings.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum ServiceNetworks {
    /// The names of the networks to join.
    List(Vec<String>),
    /// Network name to the settings of this attachment (or null).
    #[schemars(transform = closed_names)]
    Map(IndexMap<String, Option<ServiceNetwork>>),
}

/// The settings of a service's attachment to one network.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ServiceNetwork {
    /// Alternative hostnames for this service on the network.
    pub aliases: Option<Vec<String>>,
    /// Interface network name used to connect to network.
    pub interface_name: Option<String>,
    /// Specify a static IPv4 address for this service on this network.
    pub ipv4_address: Option<String>,
    /// Specify a static IPv6 address for this service on this network.
    pub ipv6_address: Option<String>,
    /// List of link-local IPs.
    pub link_local_ips: Option<Vec<String>>,
    /// Specify a MAC address for this service on this network.
    pub mac_address: Option<String>,
    /// Driver options for this network.
    pub driver_opts: Option<IndexMap<String, NumberOrString>>,
    /// Specify the priority for the network connection.
    pub priority: Option<Number>,
    /// Specify the gateway priority for the network connection.
    pub gw_priority: Option<Number>,
}

/// One `ports` entry: a bare container port, the short syntax, or the long syntax.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum Port {
    /// A container port as a number.
    Number(Number),
    /// Short syntax, `[[HOST_IP:]HOST:]CONTAINER[/PROTOCOL]`.
    Short(String),
    /// Long syntax.
    Long(PortConfig),
}

/// A port in the long syntax.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PortConfig {
    /// A human-readable name for this port mapping.
    pub name: Option<String>,
    /// The port binding mode, either 'host' for publishing a host port or 'ingress' for load
    /// balancing.
    pub mode: Option<String>,
    /// The host IP to bind to.
    pub host_ip: Option<String>,
    /// The port inside the container.
    pub target: Option<IntOrString>,
    /// The publicly exposed port.
    pub published: Option<IntOrString>,
    /// The port protocol (tcp or udp).
    pub protocol: Option<String>,
    /// Application protocol to use with the port (e.g., http, https, mysql).
    pub app_protocol: Option<String>,
}

/// Configuration for service lifecycle hooks, which are commands executed at specific
/// points in a container's lifecycle.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
// `command` is required but may be null, which schemars cannot say of a field.
#[schemars(extend("required" = ["command"]))]
pub struct ServiceHook {
    /// Command to execute as part of the hook.
    #[serde(deserialize_with = "Option::deserialize")]
    #[schemars(extend("x-nullable" = true))]
    pub command: Option<Command>,
    /// User to run the command as.
    pub user: Option<String>,
    /// Whether to run the command with extended privileges.
    pub privileged: Option<BoolOrString>,
    /// Working directory for the command.
    pub working_dir: Option<String>,
    /// Environment variables for the command.
    pub environment: Option<ListOrDict>,
}

/// One `volumes` entry of a service: the short syntax or the long syntax.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum ServiceVolume {
    /// Short syntax, `[SOURCE:]TARGET[:MODE]`.
    Short(String),
    /// Long syntax.
    Long(Box<VolumeMount>),
}

/// A mount in the long syntax of service `volumes`.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct VolumeMount {
    /// The mount type: bind for mounting host directories, volume for named volumes, tmpfs
    /// for temporary filesystems, cluster for cluster volumes, npipe for named pipes, or
    /// image for mounting from an image.
    #[serde(rename = "type")]
    pub kind: MountType,
    /// The source of the mount, a path on the host for a bind mount, a docker image
    /// reference for an image mount, or the name of a volume defined in the top-level
    /// volumes key. Not applicable for a tmpfs mount.
    pub source: Option<String>,
    /// The path in the container where the volume is mounted.
    pub target: Option<String>,
    /// Flag to set the volume as read-only.
    pub read_only: Option<BoolOrString>,
    /// The consistency requirements for the mount. Available values are platform specific.
    pub consistency: Option<String>,
    /// Configuration specific to bind mounts.
    pub bind: Option<BindOptions>,
    /// Configuration specific to volume mounts.
    pub volume: Option<VolumeOptions>,
    /// Configuration specific to tmpfs mounts.
    pub tmpfs: Option<TmpfsOptions>,
    /// Configuration specific to image mounts.
    pub image: Option<ImageOptions>,
}

/// The `type` of a long-syntax mount.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum MountType {
    /// A host directory or file.
    Bind,
    /// A named (or anonymous) volume.
    Volume,
    /// A temporary filesystem.
    Tmpfs,
    /// A cluster volume.
    Cluster,
    /// A named pipe (Windows).
    Npipe,
    /// The filesystem of an image.
    Image,
}

/// Configuration specific to bind mounts.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BindOptions {
    /// The propagation mode for the bind mount: 'shared', 'slave', 'private', 'rshared',
    /// 'rslave', or 'rprivate'.
    pub propagation: Option<String>,
    /// Create the host path if it doesn't exist.
    pub create_host_path: Option<BoolOrString>,
    /// Recursively mount the source directory.
    pub recursive: Option<BindRecursive>,
    /// SELinux relabeling options: 'z' for shared content, 'Z' for private unshared content.
    pub selinux: Option<SelinuxRelabel>,
}

/// How a bind mount treats the mounts below its source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum BindRecursive {
    /// Submounts are bound too, keeping their own read-only state.
    Enabled,
    /// Submounts are not bound.
    Disabled,
    /// Submounts are bound and made writable.
    Writable,
    /// Submounts are bound and made read-only.
    Readonly,
}

/// SELinux relabeling of a bind mount.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
pub enum SelinuxRelabel {
    /// `z`: content shared between containers.
    #[serde(rename = "z")]
    Shared,
    /// `Z`: content private to this container.
    #[serde(rename = "Z")]
    Private,
}

/// Configuration specific to volume mounts.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct VolumeOptions {
    /// Labels to apply to the volume.
    pub labels: Option<ListOrDict>,
    /// Flag to disable copying of data from a container when a volume is created.
    pub nocopy: Option<BoolOrString>,
    /// Path within the volume to mount instead of the volume root.
    pub subpath: Option<String>,
}

/// Configuration specific to tmpfs mounts.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TmpfsOptions {
    /// Size of the tmpfs mount in bytes.
    #[schemars(extend("minimum" = 0))]
    pub size: Option<IntOrString>,
    /// File mode of the tmpfs in octal.
    pub mode: Option<NumberOrString>,
}

/// Configuration specific to image mounts.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ImageOptions {
    /// Path within the image to mount instead of the image root.
    pub subpath: Option<String>,
}

/// A service's reference to a config or a secret: its name, or the long syntax.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum FileRef {
    /// Name of the config or secret to grant access to.
    Short(String),
    /// Detailed configuration for a config or secret.
    Long(FileRefConfig),
}

/// Detailed configuration for a config or secret.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FileRefConfig {
    /// Name of the config or secret as defined in the top-level configs or secrets section.
    pub source: Option<String>,
    /// Path in the container where the config or secret will be mounted. Defaults to
    /// `/<source>` for configs and `/run/secrets/<source>` for secrets.
    pub target: Option<String>,
    /// UID of the file in the container. Default is 0 (root).
    pub uid: Option<String>,
    /// GID of the file in the container. Default is 0 (root).
    pub gid: Option<String>,
    /// File permission mode inside the container, in octal. Default is 0444 for configs and
    /// 0400 for secrets.
    pub mode: Option<NumberOrString>,
}

/// One entry of `ulimits`: a single value for both limits, or separate soft and hard ones.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum Ulimit {
    /// Single value for both soft and hard limits.
    Single(IntOrString),
    /// Separate soft and hard limits.
    Limits(UlimitLimits),
}

/// Separate soft and hard limits.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UlimitLimits {
    /// Hard limit for the ulimit type. This is the maximum allowed value.
    pub hard: IntOrString,
    /// Soft limit for the ulimit type. This is the value that's actually enforced.
    pub soft: IntOrString,
}

/// Development configuration for the service, used for development workflows.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Develop {
    /// Configure watch mode for the service, which monitors file changes and performs
    /// actions in response.
    pub watch: Option<Vec<WatchRule>>,
}

/// One rule of `develop.watch`.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WatchRule {
    /// Patterns to exclude from watching.
    pub ignore: Option<StringOrList>,
    /// Patterns to include in watching.
    pub include: Option<StringOrList>,
    /// Path to watch for changes.
    pub path: String,
    /// Action to take when a change is detected: rebuild the container, sync files, restart
    /// the container, sync and restart, or sync and execute a command.
    pub action: WatchAction,
    /// Target path in the container for sync operations.
    pub target: Option<String>,
    /// Command to execute when a change is detected and action is sync+exec.
    pub exec: Option<ServiceHook>,
    /// Ensure that an initial synchronization is done before starting watch mode for sync+x
    /// triggers.
    pub initial_sync: Option<bool>,
}

/// What `develop.watch` does when a watched path changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
pub enum WatchAction {
    /// Rebuild the image and recreate the container.
    #[serde(rename = "rebuild")]
    Rebuild,
    /// Copy the changed files into the container.
    #[serde(rename = "sync")]
    Sync,
    /// Restart the container.
    #[serde(rename = "restart")]
    Restart,
    /// Copy the changed files, then restart the container.
    #[serde(rename = "sync+restart")]
    SyncRestart,
    /// Copy the changed files, then run `exec` in the container.
    #[serde(rename = "sync+exec")]
    SyncExec,
}

/// Deployment configuration for the service.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Deploy {
    /// Deployment mode for the service: 'replicated' (default) or 'global'.
    pub mode: Option<String>,
    /// Endpoint mode for the service: 'vip' (default) or 'dnsrr'.
    pub endpoint_mode: Option<String>,
    /// Number of replicas of the service container to run.
    pub replicas: Option<IntOrString>,
    /// Labels to apply to the service.
    pub labels: Option<ListOrDict>,
    /// Configuration for rolling back a service update.
    pub rollback_config: Option<UpdateConfig>,
    /// Configuration for updating a service.
    pub update_config: Option<UpdateConfig>,
    /// Resource constraints and reservations for the service.
    pub resources: Option<Resources>,
    /// Restart policy for the service containers.
    pub restart_policy: Option<RestartPolicy>,
    /// Constraints and preferences for the platform to select a physical node to run service
    /// containers.
    pub placement: Option<Placement>,
}

/// How a service is updated (`update_config`) or rolled back (`rollback_config`).
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateConfig {
    /// The number of containers to update (or roll back) at a time. If set to 0, all
    /// containers change simultaneously.
    pub parallelism: Option<IntOrString>,
    /// The time to wait between each container group (e.g., '1s', '1m30s').
    pub delay: Option<String>,
    /// Action to take if an update fails: 'continue', 'pause', 'rollback' (not for a
    /// rollback).
    pub failure_action: Option<String>,
    /// Duration to monitor each updated task for failures after it is created (e.g., '1s',
    /// '1m30s').
    pub monitor: Option<String>,
    /// Failure rate to tolerate (0 to 1).
    pub max_failure_ratio: Option<NumberOrString>,
    /// Order of operations: 'stop-first' (default) or 'start-first'.
    pub order: Option<UpdateOrder>,
}

/// The order of operations during an update or a rollback.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum UpdateOrder {
    /// Start the new task before stopping the old one.
    StartFirst,
    /// Stop the old task before starting the new one.
    StopFirst,
}

/// Resource constraints and reservations for the service.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Resources {
    /// Resource limits for the service containers.
    pub limits: Option<ResourceLimits>,
    /// Resource reservations for the service containers.
    pub reservations: Option<ResourceReservations>,
}

/// Resource limits for the service containers.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ResourceLimits {
    /// Limit for how much of the available CPU resources, as number of cores, a container
    /// can use.
    pub cpus: Option<NumberOrString>,
    /// Limit on the amount of memory a container can allocate (e.g., '1g', '1024m').
    pub memory: Option<String>,
    /// Maximum number of PIDs available to the container.
    pub pids: Option<IntOrString>,
}

/// Resource reservations for the service containers.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ResourceReservations {
    /// Reservation for how much of the available CPU resources, as number of cores, a
    /// container can use.
    pub cpus: Option<NumberOrString>,
    /// Reservation on the amount of memory a container can allocate (e.g., '1g', '1024m').
    pub memory: Option<String>,
    /// User-defined resources to reserve.
    pub generic_resources: Option<Vec<GenericResource>>,
    /// Device reservations for the container.
    pub devices: Option<Vec<DeviceRequest>>,
}

/// A user-defined resource to reserve.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GenericResource {
    /// Specification for discrete (countable) resources.
    pub discrete_resource_spec: Option<DiscreteResourceSpec>,
}

/// Specification for discrete (countable) resources.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DiscreteResourceSpec {
    /// Type of resource (e.g., 'GPU', 'FPGA', 'SSD').
    pub kind: Option<String>,
    /// Number of resources of this kind to reserve.
    pub value: Option<NumberOrString>,
}

/// A device reservation of `deploy.resources.reservations.devices`.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DeviceRequest {
    /// List of capabilities the device needs to have (e.g., 'gpu', 'compute', 'utility').
    pub capabilities: Vec<String>,
    /// Number of devices of this type to reserve.
    pub count: Option<IntOrString>,
    /// List of specific device IDs to reserve.
    pub device_ids: Option<Vec<String>>,
    /// Device driver to use (e.g., 'nvidia').
    pub driver: Option<String>,
    /// Driver-specific options for the device.
    pub options: Option<ListOrDict>,
}

/// Restart policy for the service containers.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RestartPolicy {
    /// Condition for restarting the container: 'none', 'on-failure', 'any'.
    pub condition: Option<String>,
    /// Delay between restart attempts (e.g., '1s', '1m30s').
    pub delay: Option<String>,
    /// Maximum number of restart attempts before giving up.
    pub max_attempts: Option<IntOrString>,
    /// Time window used to evaluate the restart policy (e.g., '1s', '1m30s').
    pub window: Option<String>,
}

/// Constraints and preferences for the platform to select a physical node to run service
/// containers.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Placement {
    /// Placement constraints for the service (e.g., 'node.role==manager').
    pub constraints: Option<Vec<String>>,
    /// Placement preferences for the service.
    pub preferences: Option<Vec<PlacementPreference>>,
    /// Maximum number of replicas of the service.
    pub max_replicas_per_node: Option<IntOrString>,
}

/// A placement preference.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PlacementPreference {
    /// Spread tasks evenly across values of the specified node label.
    pub spread: Option<String>,
}

/// One `include` entry: a path, or the long syntax.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum Include {
    /// Path to a compose file to include.
    Path(String),
    /// Long syntax.
    Config(IncludeConfig),
}

/// The long syntax of an `include` entry.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct IncludeConfig {
    /// Path to the Compose application or sub-project files to include.
    pub path: Option<StringOrList>,
    /// Path to the environment files to use to define default values when interpolating
    /// variables in the Compose files being parsed.
    pub env_file: Option<StringOrList>,
    /// Path to resolve relative paths set in the Compose file.
    pub project_directory: Option<String>,
}

/// Network configuration for the Compose application.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Network {
    /// Custom name for this network.
    pub name: Option<String>,
    /// Specify which driver should be used for this network. Default is 'bridge'.
    pub driver: Option<String>,
    /// Specify driver-specific options defined as key/value pairs.
    pub driver_opts: Option<IndexMap<String, NumberOrString>>,
    /// Custom IP Address Management configuration for this network.
    pub ipam: Option<Ipam>,
    /// Specifies that this network already exists and was created outside of Compose.
    pub external: Option<External>,
    /// Create an externally isolated network.
    pub internal: Option<BoolOrString>,
    /// Enable IPv4 networking.
    pub enable_ipv4: Option<BoolOrString>,
    /// Enable IPv6 networking.
    pub enable_ipv6: Option<BoolOrString>,
    /// If true, standalone containers can attach to this network.
    pub attachable: Option<BoolOrString>,
    /// Add metadata to the network using labels.
    pub labels: Option<ListOrDict>,
}

/// Custom IP Address Management configuration for this network.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Ipam {
    /// Custom IPAM driver, instead of the default.
    pub driver: Option<String>,
    /// List of IPAM configuration blocks.
    pub config: Option<Vec<IpamConfig>>,
    /// Driver-specific options for the IPAM driver.
    pub options: Option<IndexMap<String, String>>,
}

/// One IPAM configuration block.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct IpamConfig {
    /// Subnet in CIDR format that represents a network segment.
    pub subnet: Option<String>,
    /// Range of IPs from which to allocate container IPs.
    pub ip_range: Option<String>,
    /// IPv4 or IPv6 gateway for the subnet.
    pub gateway: Option<String>,
    /// Auxiliary IPv4 or IPv6 addresses used by Network driver.
    pub aux_addresses: Option<IndexMap<String, String>>,
}

/// Volume configuration for the Compose application.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Volume {
    /// Custom name for this volume.
    pub name: Option<String>,
    /// Specify which volume driver should be used for this volume.
    pub driver: Option<String>,
    /// Specify driver-specific options.
    pub driver_opts: Option<IndexMap<String, NumberOrString>>,
    /// Specifies that this volume already exists and was created outside of Compose.
    pub external: Option<External>,
    /// Add metadata to the volume using labels.
    pub labels: Option<ListOrDict>,
}

/// `external` of a network or a volume.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum External {
    /// Whether the resource exists outside of Compose.
    Bool(bool),
    /// `true` or `false` as a string (e.g. from interpolation).
    String(String),
    /// Deprecated object form naming the external resource.
    Object(ExternalName),
}

/// The deprecated object form of `external` (networks and volumes).
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExternalName {
    /// The name of the external resource. Deprecated: use the 'name' property instead.
    #[schemars(extend("deprecated" = true))]
    pub name: Option<String>,
}

/// `external` of a secret or a config.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum LooseExternal {
    /// Whether the resource exists outside of Compose.
    Bool(bool),
    /// `true` or `false` as a string (e.g. from interpolation).
    String(String),
    /// Object form naming the external resource.
    Object(LooseExternalName),
}

/// The object form of `external` for secrets and configs. The spec leaves it open: other
/// keys are accepted and kept as written.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
pub struct LooseExternalName {
    /// Specifies the name of the external secret or config.
    pub name: Option<String>,
    /// Keys the spec does not define, as written.
    #[serde(flatten)]
    pub extra: IndexMap<String, Value>,
}

/// Secret configuration for the Compose application.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Secret {
    /// Custom name for this secret.
    pub name: Option<String>,
    /// Name of an environment variable from which to get the secret value.
    pub environment: Option<String>,
    /// Path to a file containing the secret value.
    pub file: Option<String>,
    /// Specifies that this secret already exists and was created outside of Compose.
    pub external: Option<LooseExternal>,
    /// Add metadata to the secret using labels.
    pub labels: Option<ListOrDict>,
    /// Specify which secret driver should be used for this secret.
    pub driver: Option<String>,
    /// Specify driver-specific options.
    pub driver_opts: Option<IndexMap<String, NumberOrString>>,
    /// Driver to use for templating the secret's value.
    pub template_driver: Option<String>,
}

/// Config configuration for the Compose application.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Custom name for this config.
    pub name: Option<String>,
    /// Inline content of the config.
    pub content: Option<String>,
    /// Name of an environment variable from which to get the config value.
    pub environment: Option<String>,
    /// Path to a file containing the config value.
    pub file: Option<String>,
    /// Specifies that this config already exists and was created outside of Compose.
    pub external: Option<LooseExternal>,
    /// Add metadata to the config using labels.
    pub labels: Option<ListOrDict>,
    /// Driver to use for templating the config's value.
    pub template_driver: Option<String>,
}

/// Language Model for the Compose application.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Model {
    /// Custom name for this model.
    pub name: Option<String>,
    /// Language Model to run.
    pub model: String,
    /// Context window size of the model, in tokens.
    pub context_size: Option<i64>,
    /// Raw runtime flags to pass to the inference engine.
    pub runtime_flags: Option<Vec<String>>,
}

/// A command: a string (split like a shell would) or a list of arguments (exec form).
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum Command {
    /// Command as a string, split into arguments as a POSIX shell would.
    String(String),
    /// Command as an array of strings, executed directly without a shell.
    List(Vec<String>),
}

/// Either a single string or a list of strings.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum StringOrList {
    /// A single string value.
    String(String),
    /// A list of string values.
    List(Vec<String>),
}

/// Either a dictionary mapping keys to values, or a list of `KEY=VALUE` strings.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum ListOrDict {
    /// A dictionary; a value may be a string, number, boolean, or null.
    Dict(IndexMap<String, Option<Scalar>>),
    /// A list of `KEY=VALUE` (or bare `KEY`) strings.
    List(Vec<String>),
}

/// A string, number or boolean, as written.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum Scalar {
    /// A boolean.
    Bool(bool),
    /// A number.
    Number(Number),
    /// A string.
    String(String),
}

/// A boolean, or a string (e.g. `"true"` produced by interpolation).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum BoolOrString {
    /// A boolean.
    Bool(bool),
    /// A string.
    String(String),
}

/// An integer, or a string (a unit-suffixed size, a duration, an interpolated value…).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum IntOrString {
    /// An integer.
    Int(i64),
    /// A string.
    String(String),
}

/// A number (integer or floating-point), or a string.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum NumberOrString {
    /// A number.
    Number(Number),
    /// A string.
    String(String),
}

/// A JSON Schema `number` as written: an integer or a floating-point value.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum Number {
    /// An integer.
    Int(i64),
    /// A floating-point value (or an integer too large for `i64`).
    Float(f64),
}

impl JsonSchema for Number {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Number".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({ "type": "number" })
    }
}

/// The property names of services, networks, volumes, secrets, configs and models.
const NAME_PATTERN: &str = "^[a-zA-Z0-9._-]+$";

/// The property names of `ulimits`.
const ULIMIT_PATTERN: &str = "^[a-z]+$";

/// Marks a property whose `null` the spec accepts; every other property loses the `null`
/// that schemars adds for an `Option` (the spec rejects `image: null`).
const NULLABLE_MARK: &str = "x-nullable";

/// The editor schema (JSON Schema draft-07) of a compose file, generated from
/// [`RawProject`]: what `schemas/rcompose.schema.json` holds.
///
/// On top of what schemars derives: every object that denies unknown properties accepts
/// `x-*` extensions (as the spec does), optional properties are nullable only where the
/// spec says so, and descriptions are joined into single-line paragraphs.
pub fn json_schema() -> Value {
    let generator = schemars::generate::SchemaSettings::draft07().into_generator();
    let mut schema = generator.into_root_schema_for::<RawProject>().to_value();
    tidy(&mut schema);
    let Value::Object(mut body) = schema else {
        return schema;
    };
    let mut root = Map::new();
    if let Some(meta_schema) = body.shift_remove("$schema") {
        root.insert("$schema".into(), meta_schema);
    }
    root.insert("$id".into(), "rcompose.schema.json".into());
    root.insert("title".into(), "rcompose compose file".into());
    body.shift_remove("title");
    root.extend(body);
    Value::Object(root)
}

/// Applies the editor-schema conventions (see [`json_schema`]) to `schema` and everything
/// below it.
fn tidy(schema: &mut Value) {
    match schema {
        Value::Object(object) => {
            if let Some(Value::Object(properties)) = object.get_mut("properties") {
                for property in properties.values_mut() {
                    if let Value::Object(property) = property {
                        if property.shift_remove(NULLABLE_MARK).is_none() {
                            strip_null(property);
                        }
                    }
                }
            }
            if object.get("additionalProperties") == Some(&Value::Bool(false)) {
                let patterns = object
                    .entry("patternProperties")
                    .or_insert_with(|| Value::Object(Map::new()));
                if let Value::Object(patterns) = patterns {
                    patterns.insert("^x-".into(), Value::Object(Map::new()));
                }
            }
            if let Some(Value::String(description)) = object.get_mut("description") {
                *description = join_lines(description);
            }
            object.values_mut().for_each(tidy);
        }
        Value::Array(items) => items.iter_mut().for_each(tidy),
        _ => {}
    }
}

/// Removes the `null` alternative schemars adds to the schema of an `Option` property.
fn strip_null(property: &mut Map<String, Value>) {
    if let Some(Value::Array(types)) = property.get_mut("type") {
        types.retain(|t| t != "null");
        if let [single] = types.as_slice() {
            let single = single.clone();
            property.insert("type".into(), single);
        }
    } else if let Some(Value::Array(alternatives)) = property.get_mut("anyOf") {
        alternatives.retain(|a| a.get("type").and_then(Value::as_str) != Some("null"));
        if alternatives.len() == 1 {
            if let Some(alternatives) = property.shift_remove("anyOf") {
                property.insert("allOf".into(), alternatives);
            }
        }
    }
}

/// Joins the lines of each paragraph of a doc comment into one line.
fn join_lines(text: &str) -> String {
    text.split("\n\n")
        .map(|paragraph| {
            paragraph
                .lines()
                .map(str::trim)
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect::<Vec<_>>()
        .join("\n\n")
}

/// Schema transform: a map keyed by resource names, nothing else allowed.
fn closed_names(schema: &mut schemars::Schema) {
    keyed_by(schema, NAME_PATTERN, true);
}

/// Schema transform: a map keyed by resource names; other keys are left unchecked.
fn open_names(schema: &mut schemars::Schema) {
    keyed_by(schema, NAME_PATTERN, false);
}

/// Schema transform: the `ulimits` map, keyed by lowercase limit names.
fn ulimit_names(schema: &mut schemars::Schema) {
    keyed_by(schema, ULIMIT_PATTERN, false);
}

/// Turns the map schema schemars derives (`additionalProperties: <value>`) into the spec's
/// form: `patternProperties: {<pattern>: <value>}`, closed to other keys when `closed`.
fn keyed_by(schema: &mut schemars::Schema, pattern: &str, closed: bool) {
    if let Some(values) = schema.remove("additionalProperties") {
        let mut patterns = Map::new();
        patterns.insert(pattern.into(), values);
        schema.insert("patternProperties".into(), Value::Object(patterns));
        if closed {
            schema.insert("additionalProperties".into(), Value::Bool(false));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::{BTreeMap, BTreeSet};

    /// Where the editor schema is checked in, relative to the crate root.
    const EDITOR_SCHEMA: &str = "schemas/rcompose.schema.json";
    const COMPOSE_SPEC: &str = include_str!("../../schemas/compose-spec.json");
    const EVERY_KEY: &str = include_str!("../../tests/fixtures/raw/every-key.yaml");

    /// One step from a schema (or a document) down to part of its instance.
    #[derive(Clone, Debug)]
    enum Step {
        Property(String),
        Item,
        /// The value of any key of a map (`patternProperties`, `additionalProperties`).
        Value,
    }

    /// `services.*.ports[]`-style text for a path.
    fn path_text(path: &[Step]) -> String {
        let mut text = String::new();
        for step in path {
            match step {
                Step::Property(name) if text.is_empty() => text.push_str(name),
                Step::Property(name) => text.push_str(&format!(".{name}")),
                Step::Item => text.push_str("[]"),
                Step::Value if text.is_empty() => text.push('*'),
                Step::Value => text.push_str(".*"),
            }
        }
        text
    }

    /// `schema` and the schemas it stands for at the same place of the instance: the
    /// targets of `$ref` and the branches of `oneOf` / `anyOf` / `allOf`.
    fn alternatives<'a>(root: &'a Value, schema: &'a Value) -> Vec<&'a Value> {
        let mut found = Vec::new();
        let mut pending = vec![schema];
        while let Some(schema) = pending.pop() {
            assert!(found.len() < 100, "runaway $ref chain below {schema}");
            if let Some(reference) = schema.get("$ref").and_then(Value::as_str) {
                let target = reference.strip_prefix('#').and_then(|p| root.pointer(p));
                pending.push(target.unwrap_or_else(|| panic!("dangling $ref {reference}")));
            }
            for keyword in ["oneOf", "anyOf", "allOf"] {
                if let Some(Value::Array(branches)) = schema.get(keyword) {
                    pending.extend(branches);
                }
            }
            found.push(schema);
        }
        found
    }

    /// The schemas of `root` that describe the part of an instance at `path`.
    fn schemas_at<'a>(root: &'a Value, path: &[Step]) -> Vec<&'a Value> {
        let mut current = alternatives(root, root);
        for step in path {
            let mut next = Vec::new();
            for schema in current {
                match step {
                    Step::Property(name) => {
                        next.extend(schema.get("properties").and_then(|p| p.get(name)));
                    }
                    Step::Item => next.extend(schema.get("items")),
                    Step::Value => {
                        if let Some(Value::Object(patterns)) = schema.get("patternProperties") {
                            next.extend(patterns.iter().filter(|(p, _)| *p != "^x-").map(|e| e.1));
                        }
                        next.extend(schema.get("additionalProperties").filter(|v| v.is_object()));
                    }
                }
            }
            current = next
                .into_iter()
                .flat_map(|s| alternatives(root, s))
                .collect();
        }
        current
    }

    /// Every object of the schema `root` that names its properties, with its path and the
    /// names, following `$ref`s, alternatives, items and map values.
    fn objects_with_properties(root: &Value) -> Vec<(Vec<Step>, Vec<String>)> {
        let mut objects = Vec::new();
        let mut pending = vec![(Vec::new(), root)];
        while let Some((path, schema)) = pending.pop() {
            assert!(
                path.len() < 16,
                "runaway schema walk at {}",
                path_text(&path)
            );
            for schema in alternatives(root, schema) {
                let with = |step: Step| {
                    let mut longer = path.clone();
                    longer.push(step);
                    longer
                };
                if let Some(Value::Object(properties)) = schema.get("properties") {
                    objects.push((path.clone(), properties.keys().cloned().collect()));
                    for (name, property) in properties {
                        pending.push((with(Step::Property(name.clone())), property));
                    }
                }
                if let Some(items) = schema.get("items").filter(|i| i.is_object()) {
                    pending.push((with(Step::Item), items));
                }
                if let Some(Value::Object(patterns)) = schema.get("patternProperties") {
                    for (_, value) in patterns.iter().filter(|(p, _)| *p != "^x-") {
                        pending.push((with(Step::Value), value));
                    }
                }
            }
        }
        objects
    }

    fn compose_spec() -> Value {
        serde_json::from_str(COMPOSE_SPEC).expect("schemas/compose-spec.json is JSON")
    }

    #[test]
    fn accepts_every_key_of_the_compose_spec() {
        let spec = compose_spec();
        let ours = json_schema();
        let objects = objects_with_properties(&spec);
        let mut missing = Vec::new();
        for (path, names) in &objects {
            let known: BTreeSet<&str> = schemas_at(&ours, path)
                .into_iter()
                .filter_map(|s| s.get("properties").and_then(Value::as_object))
                .flat_map(|properties| properties.keys().map(String::as_str))
                .collect();
            for name in names.iter().filter(|n| !known.contains(n.as_str())) {
                missing.push(format!("{}: {name}", path_text(path)));
            }
        }
        assert!(
            missing.is_empty(),
            "keys of the Compose Specification missing from the raw model: {missing:#?}"
        );

        let walked: BTreeMap<String, usize> = objects
            .iter()
            .map(|(path, names)| (path_text(path), names.len()))
            .collect();
        assert_eq!(walked.get(""), Some(&9), "top level");
        assert_eq!(walked.get("services.*"), Some(&92), "service");
        for path in [
            "include[]",
            "services.*.build",
            "services.*.blkio_config",
            "services.*.blkio_config.device_read_bps[]",
            "services.*.credential_spec",
            "services.*.depends_on.*",
            "services.*.deploy",
            "services.*.deploy.resources",
            "services.*.deploy.resources.limits",
            "services.*.deploy.resources.reservations",
            "services.*.deploy.resources.reservations.devices[]",
            "services.*.deploy.resources.reservations.generic_resources[].discrete_resource_spec",
            "services.*.deploy.restart_policy",
            "services.*.deploy.placement",
            "services.*.deploy.placement.preferences[]",
            "services.*.deploy.update_config",
            "services.*.deploy.rollback_config",
            "services.*.develop",
            "services.*.develop.watch[]",
            "services.*.develop.watch[].exec",
            "services.*.devices[]",
            "services.*.env_file[]",
            "services.*.extends",
            "services.*.gpus[]",
            "services.*.healthcheck",
            "services.*.logging",
            "services.*.models.*",
            "services.*.networks.*",
            "services.*.ports[]",
            "services.*.post_start[]",
            "services.*.provider",
            "services.*.secrets[]",
            "services.*.ulimits.*",
            "services.*.volumes[]",
            "services.*.volumes[].bind",
            "services.*.volumes[].volume",
            "services.*.volumes[].tmpfs",
            "services.*.volumes[].image",
            "networks.*",
            "networks.*.ipam",
            "networks.*.ipam.config[]",
            "networks.*.external",
            "volumes.*",
            "volumes.*.external",
            "secrets.*",
            "secrets.*.external",
            "configs.*",
            "configs.*.external",
            "models.*",
        ] {
            assert!(
                walked.contains_key(path),
                "the walk of the spec never reached {path}"
            );
        }
    }

    /// The parts of a document at `path`.
    fn instances_at<'a>(document: &'a Value, path: &[Step]) -> Vec<&'a Value> {
        let mut current = vec![document];
        for step in path {
            let mut next = Vec::new();
            for value in current {
                match (step, value) {
                    (Step::Property(name), Value::Object(map)) => next.extend(map.get(name)),
                    (Step::Item, Value::Array(items)) => next.extend(items),
                    (Step::Value, Value::Object(map)) => {
                        next.extend(
                            map.iter()
                                .filter(|(k, _)| !k.starts_with("x-"))
                                .map(|e| e.1),
                        );
                    }
                    _ => {}
                }
            }
            current = next;
        }
        current
    }

    #[test]
    fn every_key_fixture_uses_every_key_of_the_compose_spec() {
        let document: Value = yaml_serde::from_str(EVERY_KEY).expect("the fixture is YAML");
        let mut unused = Vec::new();
        for (path, names) in objects_with_properties(&compose_spec()) {
            let used: BTreeSet<&str> = instances_at(&document, &path)
                .into_iter()
                .filter_map(Value::as_object)
                .flat_map(|map| map.keys().map(String::as_str))
                .collect();
            for name in names.iter().filter(|n| !used.contains(n.as_str())) {
                unused.push(format!("{}: {name}", path_text(&path)));
            }
        }
        assert!(
            unused.is_empty(),
            "keys the every-key fixture does not use: {unused:#?}"
        );
    }

    fn every_key() -> RawProject {
        yaml_serde::from_str(EVERY_KEY).expect("the every-key fixture deserializes")
    }

    fn service<'a>(project: &'a RawProject, name: &str) -> &'a Service {
        let services = project.services.as_ref().expect("services");
        services
            .get(name)
            .unwrap_or_else(|| panic!("service {name}"))
    }

    fn string(text: &str) -> Option<String> {
        Some(text.to_owned())
    }

    fn strings(texts: &[&str]) -> Vec<String> {
        texts.iter().map(|t| t.to_string()).collect()
    }

    #[test]
    fn every_key_fixture_deserializes_top_level() {
        let project = every_key();
        assert_eq!(project.version, string("3.9"));
        assert_eq!(project.name, string("shop"));
        assert_eq!(
            project.include,
            Some(vec![
                Include::Path("./monitoring/compose.yaml".into()),
                Include::Config(IncludeConfig {
                    path: Some(StringOrList::List(strings(&[
                        "./db/compose.yaml",
                        "./db/compose.override.yaml"
                    ]))),
                    env_file: Some(StringOrList::String("./db/.env".into())),
                    project_directory: string("./db"),
                }),
                Include::Config(IncludeConfig {
                    path: Some(StringOrList::String("./cache/compose.yaml".into())),
                    env_file: Some(StringOrList::List(strings(&[
                        "./cache/.env",
                        "./cache/.env.local"
                    ]))),
                    project_directory: None,
                }),
            ])
        );
        let names: Vec<&str> = project
            .services
            .iter()
            .flatten()
            .map(|(n, _)| n.as_str())
            .collect();
        assert_eq!(names, ["web", "worker"]);

        let networks = project.networks.expect("networks");
        assert_eq!(
            networks.keys().collect::<Vec<_>>(),
            ["front", "back", "legacy"]
        );
        let front = networks["front"].as_ref().expect("front is a mapping");
        assert_eq!(front.name, string("shop-front"));
        assert_eq!(
            front
                .driver_opts
                .as_ref()
                .map(|o| o.values().cloned().collect::<Vec<_>>()),
            Some(vec![
                NumberOrString::String("br-shop".into()),
                NumberOrString::Number(Number::Int(1400)),
            ])
        );
        let ipam = front.ipam.as_ref().expect("ipam");
        let block = &ipam.config.as_ref().expect("ipam config")[0];
        assert_eq!(block.subnet, string("172.16.238.0/24"));
        assert_eq!(
            block.aux_addresses.as_ref().map(|a| a["router"].as_str()),
            Some("172.16.238.2")
        );
        assert_eq!(front.external, Some(External::Bool(false)));
        assert_eq!(front.enable_ipv4, Some(BoolOrString::Bool(true)));
        assert_eq!(front.enable_ipv6, Some(BoolOrString::String("true".into())));
        assert_eq!(networks["back"], None);
        assert_eq!(
            networks["legacy"].as_ref().and_then(|n| n.external.clone()),
            Some(External::Object(ExternalName {
                name: string("legacy-net")
            }))
        );

        let volumes = project.volumes.expect("volumes");
        let data = volumes["data"].as_ref().expect("data is a mapping");
        assert_eq!(data.driver, string("local"));
        assert_eq!(
            data.driver_opts.as_ref().map(|o| o["o"].clone()),
            Some(NumberOrString::String("addr=10.0.0.1,rw".into()))
        );
        assert_eq!(
            data.labels,
            Some(ListOrDict::List(strings(&["com.example.volume=data"])))
        );
        assert_eq!(volumes["scratch"], None);

        let secrets = project.secrets.expect("secrets");
        assert_eq!(secrets["api_key"].file, string("./secrets/api_key.txt"));
        assert_eq!(secrets["api_key"].template_driver, string("golang"));
        assert_eq!(secrets["npm_token"].environment, string("NPM_TOKEN"));
        assert_eq!(
            secrets["build_key"].external,
            Some(LooseExternal::Bool(true))
        );
        assert_eq!(
            secrets["vault_key"].external,
            Some(LooseExternal::Object(LooseExternalName {
                name: string("vault-key"),
                extra: IndexMap::new(),
            }))
        );

        let configs = project.configs.expect("configs");
        assert_eq!(configs["inline_conf"].content, string("listen 8080;\n"));
        assert_eq!(configs["env_conf"].environment, string("WEB_CONF"));

        let models = project.models.expect("models");
        assert_eq!(
            models["llm"],
            Model {
                name: string("shop-llm"),
                model: "ai/smollm2".into(),
                context_size: Some(4096),
                runtime_flags: Some(strings(&["--temp", "0.2"])),
            }
        );
    }

    #[test]
    fn every_key_fixture_deserializes_long_forms() {
        let project = every_key();
        let web = service(&project, "web");

        let Some(Build::Config(build)) = &web.build else {
            panic!("web.build is a mapping: {:?}", web.build);
        };
        assert_eq!(build.context, string("./web"));
        assert_eq!(
            build.dockerfile_inline,
            string("FROM busybox\nCMD [\"httpd\", \"-f\"]\n")
        );
        let Some(ListOrDict::Dict(args)) = &build.args else {
            panic!("build.args is a map: {:?}", build.args);
        };
        assert_eq!(args["NODE_VERSION"], Some(Scalar::Number(Number::Int(22))));
        assert_eq!(args["DEBUG"], Some(Scalar::Bool(false)));
        assert_eq!(args["EMPTY"], None);
        assert_eq!(build.sbom, Some(BoolOrString::String("mode=max".into())));
        assert_eq!(build.shm_size, Some(IntOrString::Int(268435456)));
        assert_eq!(
            build.ulimits.as_ref().map(|u| u["nofile"].clone()),
            Some(Ulimit::Limits(UlimitLimits {
                hard: IntOrString::Int(4096),
                soft: IntOrString::Int(1024),
            }))
        );

        assert_eq!(
            web.command,
            Some(Command::List(strings(&["httpd", "-f", "-p", "8080"])))
        );
        assert_eq!(
            web.entrypoint,
            Some(Command::String("/docker-entrypoint.sh".into()))
        );
        assert_eq!(web.cpus, Some(NumberOrString::Number(Number::Float(0.5))));
        assert_eq!(web.cpuset, string("0-1"));
        assert_eq!(web.cgroup, Some(Cgroup::Private));
        assert_eq!(web.mem_limit, Some(NumberOrString::String("512m".into())));
        assert_eq!(web.oom_score_adj, Some(IntOrString::Int(-500)));
        assert_eq!(web.pid, string("host"));
        assert_eq!(web.pull_policy, string("every_12h"));
        assert_eq!(web.use_api_socket, Some(false));

        let Some(DependsOn::Map(depends_on)) = &web.depends_on else {
            panic!("web.depends_on is a map: {:?}", web.depends_on);
        };
        assert_eq!(
            depends_on["db"],
            DependsOnEntry {
                restart: Some(BoolOrString::Bool(true)),
                required: Some(true),
                condition: DependsOnCondition::ServiceHealthy,
            }
        );
        assert_eq!(
            depends_on["migrate"].condition,
            DependsOnCondition::ServiceCompletedSuccessfully
        );

        let Some(ListOrDict::Dict(environment)) = &web.environment else {
            panic!("web.environment is a map: {:?}", web.environment);
        };
        assert_eq!(
            environment
                .iter()
                .map(|(k, v)| (k.as_str(), v.clone()))
                .collect::<Vec<_>>(),
            [
                ("DEBUG", Some(Scalar::String("true".into()))),
                ("WORKERS", Some(Scalar::Number(Number::Int(4)))),
                ("RATIO", Some(Scalar::Number(Number::Float(0.75)))),
                ("VERBOSE", Some(Scalar::Bool(true))),
                ("UNSET", None),
            ]
        );

        assert_eq!(
            web.ports,
            Some(vec![
                Port::Long(PortConfig {
                    name: string("http"),
                    mode: string("host"),
                    host_ip: string("127.0.0.1"),
                    target: Some(IntOrString::Int(8080)),
                    published: Some(IntOrString::String("80".into())),
                    protocol: string("tcp"),
                    app_protocol: string("http"),
                }),
                Port::Long(PortConfig {
                    name: None,
                    mode: None,
                    host_ip: None,
                    target: Some(IntOrString::Int(9090)),
                    published: Some(IntOrString::String("9090-9091".into())),
                    protocol: None,
                    app_protocol: None,
                }),
            ])
        );

        let volumes = web.volumes.as_ref().expect("web.volumes");
        let Some(ServiceVolume::Long(bind)) = volumes.first() else {
            panic!("the first volume is long syntax: {volumes:?}");
        };
        assert_eq!(bind.kind, MountType::Bind);
        assert_eq!(bind.read_only, Some(BoolOrString::Bool(true)));
        assert_eq!(
            bind.bind,
            Some(BindOptions {
                propagation: string("rslave"),
                create_host_path: Some(BoolOrString::Bool(true)),
                recursive: Some(BindRecursive::Readonly),
                selinux: Some(SelinuxRelabel::Shared),
            })
        );
        let kinds: Vec<MountType> = volumes
            .iter()
            .filter_map(|v| match v {
                ServiceVolume::Long(mount) => Some(mount.kind),
                ServiceVolume::Short(_) => None,
            })
            .collect();
        assert_eq!(
            kinds,
            [
                MountType::Bind,
                MountType::Volume,
                MountType::Tmpfs,
                MountType::Image
            ]
        );
        let Some(ServiceVolume::Long(tmpfs)) = volumes.get(2) else {
            panic!("the third volume is long syntax: {volumes:?}");
        };
        assert_eq!(
            tmpfs.tmpfs,
            Some(TmpfsOptions {
                size: Some(IntOrString::Int(10485760)),
                mode: Some(NumberOrString::Number(Number::Int(1777))),
            })
        );

        let Some(ServiceNetworks::Map(networks)) = &web.networks else {
            panic!("web.networks is a map: {:?}", web.networks);
        };
        let front = networks["front"].as_ref().expect("front has settings");
        assert_eq!(front.ipv4_address, string("172.16.238.10"));
        assert_eq!(front.priority, Some(Number::Int(1000)));
        assert_eq!(front.gw_priority, Some(Number::Float(1.5)));
        assert_eq!(networks["back"], None);

        assert_eq!(
            web.secrets,
            Some(vec![FileRef::Long(FileRefConfig {
                source: string("api_key"),
                target: string("api_key.txt"),
                uid: string("103"),
                gid: string("103"),
                // YAML 1.2 octal.
                mode: Some(NumberOrString::Number(Number::Int(0o440))),
            })])
        );
        assert_eq!(
            web.devices,
            Some(vec![Device::Long(DeviceMapping {
                source: "/dev/ttyUSB0".into(),
                target: string("/dev/ttyUSB0"),
                permissions: string("rwm"),
            })])
        );
        assert_eq!(
            web.env_file,
            Some(EnvFile::List(vec![
                EnvFileEntry::Path("./common.env".into()),
                EnvFileEntry::Config(EnvFileConfig {
                    path: "./web.env".into(),
                    format: string("raw"),
                    required: Some(BoolOrString::Bool(false)),
                }),
            ]))
        );
        assert_eq!(
            web.extends,
            Some(Extends::Config(ExtendsConfig {
                service: "base".into(),
                file: string("./base.yaml")
            }))
        );
        let Some(ExtraHosts::Map(extra_hosts)) = &web.extra_hosts else {
            panic!("web.extra_hosts is a map: {:?}", web.extra_hosts);
        };
        assert_eq!(
            extra_hosts["somehost"],
            StringOrList::String("162.242.195.82".into())
        );
        assert_eq!(
            extra_hosts["dualhost"],
            StringOrList::List(strings(&["10.0.0.7", "::1"]))
        );
        let Some(Gpus::List(gpus)) = &web.gpus else {
            panic!("web.gpus is a list: {:?}", web.gpus);
        };
        assert_eq!(gpus[0].count, Some(IntOrString::Int(2)));
        assert_eq!(
            gpus[0].options,
            Some(ListOrDict::List(strings(&["compute=true"])))
        );
        assert_eq!(
            web.healthcheck.as_ref().and_then(|h| h.test.clone()),
            Some(StringOrList::List(strings(&[
                "CMD",
                "wget",
                "-q",
                "-O-",
                "http://localhost:8080/health"
            ])))
        );
        assert_eq!(
            web.ulimits
                .as_ref()
                .map(|u| u.values().cloned().collect::<Vec<_>>()),
            Some(vec![
                Ulimit::Single(IntOrString::Int(65535)),
                Ulimit::Limits(UlimitLimits {
                    hard: IntOrString::Int(40000),
                    soft: IntOrString::Int(20000)
                }),
            ])
        );
        let logging = web.logging.as_ref().expect("web.logging");
        assert_eq!(
            logging
                .options
                .as_ref()
                .map(|o| o.values().cloned().collect::<Vec<_>>()),
            Some(vec![
                Some(NumberOrString::String("10m".into())),
                Some(NumberOrString::Number(Number::Int(3))),
                None,
            ])
        );
        let provider = web.provider.as_ref().expect("web.provider");
        assert_eq!(provider.kind, "awesomecloud");
        assert_eq!(
            provider.options.as_ref().map(|o| o["zones"].clone()),
            Some(ProviderOption::List(vec![
                Scalar::String("eu-west-1a".into()),
                Scalar::String("eu-west-1b".into()),
            ]))
        );
        assert_eq!(
            provider.options.as_ref().map(|o| o["replicated"].clone()),
            Some(ProviderOption::One(Scalar::Bool(true)))
        );
        let watch = web
            .develop
            .as_ref()
            .and_then(|d| d.watch.clone())
            .expect("web.develop.watch");
        assert_eq!(watch[0].action, WatchAction::SyncExec);
        assert_eq!(
            watch[0].exec.as_ref().and_then(|e| e.command.clone()),
            Some(Command::List(strings(&["npm", "run", "reload"])))
        );
        assert_eq!(watch[1].action, WatchAction::Rebuild);
        assert_eq!(
            watch[1].ignore,
            Some(StringOrList::String("package-lock.json".into()))
        );

        let deploy = web.deploy.as_ref().expect("web.deploy");
        assert_eq!(deploy.replicas, Some(IntOrString::Int(2)));
        let update = deploy.update_config.as_ref().expect("update_config");
        assert_eq!(update.parallelism, Some(IntOrString::String("2".into())));
        assert_eq!(update.order, Some(UpdateOrder::StartFirst));
        assert_eq!(
            deploy.rollback_config.as_ref().and_then(|r| r.order),
            Some(UpdateOrder::StopFirst)
        );
        let resources = deploy.resources.as_ref().expect("resources");
        assert_eq!(
            resources.limits,
            Some(ResourceLimits {
                cpus: Some(NumberOrString::String("1.5".into())),
                memory: string("512m"),
                pids: Some(IntOrString::Int(200)),
            })
        );
        let reservations = resources.reservations.as_ref().expect("reservations");
        assert_eq!(
            reservations.cpus,
            Some(NumberOrString::Number(Number::Float(0.25)))
        );
        assert_eq!(
            reservations.devices,
            Some(vec![DeviceRequest {
                capabilities: strings(&["gpu", "utility"]),
                count: Some(IntOrString::Int(1)),
                device_ids: Some(strings(&["0"])),
                driver: string("nvidia"),
                options: Some(ListOrDict::Dict(IndexMap::from([(
                    "virtualization".to_owned(),
                    Some(Scalar::Bool(false))
                )]))),
            }])
        );
    }

    #[test]
    fn every_key_fixture_deserializes_alternative_syntaxes() {
        let project = every_key();
        let worker = service(&project, "worker");
        assert_eq!(worker.develop, None);
        assert_eq!(worker.deploy, None);
        assert_eq!(worker.entrypoint, None);
        assert_eq!(worker.pid, None);
        assert_eq!(
            worker.annotations,
            Some(ListOrDict::List(strings(&[
                "com.example.owner=team-worker"
            ])))
        );
        assert_eq!(worker.attach, Some(BoolOrString::String("false".into())));
        assert_eq!(worker.build, Some(Build::Context("./worker".into())));
        assert_eq!(worker.cgroup, Some(Cgroup::Host));
        assert_eq!(
            worker.command,
            Some(Command::String("python worker.py --queue default".into()))
        );
        assert_eq!(
            worker.configs,
            Some(vec![FileRef::Short("web_conf".into())])
        );
        assert_eq!(worker.cpus, Some(NumberOrString::String("0.25".into())));
        assert_eq!(worker.depends_on, Some(DependsOn::List(strings(&["web"]))));
        assert_eq!(
            worker.devices,
            Some(vec![Device::Short("/dev/fuse:/dev/fuse:rwm".into())])
        );
        assert_eq!(worker.dns, Some(StringOrList::String("10.0.0.2".into())));
        assert_eq!(worker.env_file, Some(EnvFile::Path("./worker.env".into())));
        assert_eq!(
            worker.label_file,
            Some(StringOrList::String("./worker.labels".into()))
        );
        assert_eq!(
            worker.environment,
            Some(ListOrDict::List(strings(&["QUEUE=default", "DEBUG"])))
        );
        assert_eq!(
            worker.expose,
            Some(vec![NumberOrString::String("7000-7010".into())])
        );
        assert_eq!(worker.extends, Some(Extends::Service("web".into())));
        assert_eq!(
            worker.extra_hosts,
            Some(ExtraHosts::List(strings(&[
                "somehost=162.242.195.82",
                "otherhost:50.31.209.229"
            ])))
        );
        assert_eq!(worker.gpus, Some(Gpus::All(AllGpus::All)));
        assert_eq!(
            worker.healthcheck.as_ref().and_then(|h| h.test.clone()),
            Some(StringOrList::String(
                "curl -f http://localhost:7000/ || exit 1".into()
            ))
        );
        assert_eq!(
            worker.healthcheck.as_ref().and_then(|h| h.retries.clone()),
            Some(NumberOrString::String("5".into()))
        );
        assert_eq!(
            worker.labels,
            Some(ListOrDict::List(strings(&["com.example.role=worker"])))
        );
        assert_eq!(
            worker.mem_limit,
            Some(NumberOrString::Number(Number::Int(268435456)))
        );
        assert_eq!(worker.models, Some(ServiceModels::List(strings(&["llm"]))));
        assert_eq!(
            worker.networks,
            Some(ServiceNetworks::List(strings(&["back"])))
        );
        assert_eq!(
            worker.ports,
            Some(vec![
                Port::Number(Number::Int(7000)),
                Port::Short("127.0.0.1:7001:7001/udp".into())
            ])
        );
        assert_eq!(
            worker.post_start,
            Some(vec![ServiceHook {
                command: None,
                user: None,
                privileged: None,
                working_dir: None,
                environment: None,
            }])
        );
        assert_eq!(worker.secrets, Some(vec![FileRef::Short("api_key".into())]));
        assert_eq!(
            worker.sysctls,
            Some(ListOrDict::List(strings(&["net.core.somaxconn=1024"])))
        );
        assert_eq!(worker.tmpfs, Some(StringOrList::String("/run".into())));
        assert_eq!(
            worker.ulimits,
            Some(IndexMap::from([(
                "nofile".to_owned(),
                Ulimit::Single(IntOrString::String("20000".into()))
            )]))
        );
        assert_eq!(
            worker.volumes,
            Some(vec![
                ServiceVolume::Short("./worker:/app:ro".into()),
                ServiceVolume::Short("data:/data".into()),
            ])
        );
    }

    #[test]
    fn a_mistyped_key_is_rejected() {
        let error = yaml_serde::from_str::<RawProject>("services:\n  web:\n    imgae: busybox\n")
            .expect_err("`imgae` is not a service key");
        assert!(
            error.to_string().starts_with(
                "services.web: unknown field `imgae`, expected one of `develop`, `deploy`,"
            ),
            "{error}"
        );

        let error = yaml_serde::from_str::<RawProject>(
            "services:\n  web:\n    healthcheck:\n      intervl: 5s\n",
        )
        .expect_err("`intervl` is not a healthcheck key");
        assert_eq!(
            error.to_string(),
            "services.web.healthcheck: unknown field `intervl`, expected one of `disable`, \
             `interval`, `retries`, `test`, `timeout`, `start_period`, `start_interval` at line 4 column 7"
        );

        let error = yaml_serde::from_str::<RawProject>("nmae: shop\n")
            .expect_err("`nmae` is not a top-level key");
        assert_eq!(
            error.to_string(),
            "unknown field `nmae`, expected one of `version`, `name`, `include`, `services`, \
             `models`, `networks`, `volumes`, `secrets`, `configs`"
        );
    }

    #[test]
    fn a_hook_without_command_is_rejected() {
        let error = yaml_serde::from_str::<RawProject>(
            "services:\n  web:\n    post_start:\n      - user: root\n",
        )
        .expect_err("a hook requires `command`");
        assert_eq!(
            error.to_string(),
            "services.web.post_start[0]: missing field `command` at line 4 column 9"
        );
    }

    #[test]
    fn editor_schema_is_null_only_where_the_spec_is() {
        let schema = json_schema();
        let service = &schema["definitions"]["Service"]["properties"];
        assert_eq!(
            service["image"],
            serde_json::json!({
                "type": "string",
                "description": "Specify the image to start the container from. Can be a repository/tag, a digest, or a local image ID."
            })
        );
        assert_eq!(
            service["pid"]["type"],
            serde_json::json!(["string", "null"])
        );
        assert_eq!(
            service["command"]["anyOf"],
            serde_json::json!([{ "$ref": "#/definitions/Command" }, { "type": "null" }])
        );
        assert_eq!(
            service["build"]["allOf"],
            serde_json::json!([{ "$ref": "#/definitions/Build" }])
        );
        assert_eq!(service["build"].get("anyOf"), None);
        let hook = &schema["definitions"]["ServiceHook"];
        assert_eq!(hook["required"], serde_json::json!(["command"]));
        assert_eq!(
            hook["properties"]["command"]["anyOf"][1],
            serde_json::json!({ "type": "null" })
        );
    }

    #[test]
    fn editor_schema_allows_extensions_wherever_unknown_keys_are_denied() {
        let schema = json_schema();
        assert_eq!(schema["$schema"], "http://json-schema.org/draft-07/schema#");
        assert_eq!(schema["$id"], "rcompose.schema.json");
        assert_eq!(schema["title"], "rcompose compose file");
        assert_eq!(schema["additionalProperties"], false);
        assert_eq!(
            schema["patternProperties"],
            serde_json::json!({ "^x-": {} })
        );
        let mut closed = 0;
        let mut pending = vec![&schema];
        while let Some(value) = pending.pop() {
            match value {
                Value::Object(object) => {
                    if object.get("additionalProperties") == Some(&Value::Bool(false)) {
                        closed += 1;
                        assert_eq!(
                            object["patternProperties"]["^x-"],
                            serde_json::json!({}),
                            "{value}"
                        );
                    }
                    pending.extend(object.values());
                }
                Value::Array(items) => pending.extend(items),
                _ => {}
            }
        }
        assert!(closed > 50, "only {closed} closed objects");
        assert_eq!(
            schema["definitions"]["Service"]["properties"]["ulimits"]["patternProperties"]
                ["^[a-z]+$"],
            serde_json::json!({ "$ref": "#/definitions/Ulimit" })
        );
    }

    fn editor_schema_text() -> String {
        let mut text = serde_json::to_string_pretty(&json_schema()).expect("a JSON value");
        text.push('\n');
        text
    }

    #[test]
    fn editor_schema_is_up_to_date() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(EDITOR_SCHEMA);
        let generated = editor_schema_text();
        if std::env::var_os("UPDATE_SCHEMA").is_some() {
            std::fs::write(&path, &generated).expect("write the editor schema");
            return;
        }
        let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            checked_in == generated,
            "{EDITOR_SCHEMA} is stale: it differs from what src/spec/raw.rs generates; \
             refresh it with `UPDATE_SCHEMA=1 cargo test editor_schema`"
        );
    }
}
