//! The raw model (what the user wrote, in any syntax the spec allows) turned into the
//! project model (`model::Project`), the way `docker compose config` (compose-go v2)
//! normalizes a project:
//!
//! - resources get their real names (`name:`, else the key for external ones, else
//!   `<project>_<key>`); a `default` network is added when a service uses it, and a
//!   service with neither `networks` nor `network_mode` joins it;
//! - relative paths (build contexts, bind sources, `env_file`, `label_file`, secret and
//!   config files, `local` bind volume devices) become absolute against the project
//!   directory, `~` expands to the home directory, and paths are cleaned lexically;
//! - `env_file`s are read and merged under `environment`; `label_file`s under `labels`;
//!   variables named without a value take the value `Context::lookup` gives;
//! - short syntaxes become long forms with compose's defaults (ports, volumes, devices,
//!   depends_on, secrets, build, healthcheck test, ulimits, extra_hosts);
//! - durations, sizes, numbers and booleans written as strings are parsed;
//! - `depends_on` gains the dependencies compose infers from `links`, `volumes_from` and
//!   `service:` namespace references.
//!
//! Keys the runtime does not implement yet are kept as written in `unsupported` (and
//! warned about); swarm-only `deploy` fields are kept and warned about. Every problem is
//! reported as a diagnostic whose key path points at the offending node.

use super::diag::Diagnostic;
use super::env::parse_dotenv;
use super::model::{self, Extensions, Project};
use super::node::{KeyPath, Node, PathRef};
use super::raw::{
    self, BoolOrString, IntOrString, ListOrDict, Number, NumberOrString, Scalar, StringOrList,
};
use super::units::{ByteSize, Duration, SwapLimit};
use super::{paths, syntax};
use indexmap::IndexMap;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::io::ErrorKind;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// What normalization needs from outside the compose files.
pub struct Context<'a> {
    /// The project name, already decided (`-p`, `COMPOSE_PROJECT_NAME`, `name:`, the
    /// directory).
    pub project_name: String,
    /// Relative paths resolve against it; absolute.
    pub project_directory: PathBuf,
    /// The user's home directory, for `~` and `~/…` in paths.
    pub home: Option<PathBuf>,
    /// Variables (process environment over `.env`), for `environment: [KEY]` and build
    /// args written without a value, and for `${VAR}` inside env files.
    pub lookup: &'a dyn Fn(&str) -> Option<String>,
    /// Reads an `env_file` or `label_file`.
    pub read_file: &'a dyn Fn(&Path) -> std::io::Result<String>,
}

/// Turns the merged, interpolated, schema-valid raw project into the normalized
/// [`Project`]. `root` is the tree `raw` was read from, `x-*` keys included: they become
/// the `extensions` of the project, services, networks, volumes, secrets, configs,
/// `deploy` and `build`, and keys the model does not type are taken from it as written.
///
/// Every problem is reported (errors at the offending node's key path, their span left
/// for the caller to fill in), together with warnings for what rcompose reads but ignores;
/// the project is built as far as possible either way.
pub fn normalize(raw: raw::RawProject, root: &Node, ctx: &Context) -> (Project, Vec<Diagnostic>) {
    let mut normalizer = Normalizer {
        ctx,
        root,
        diagnostics: Vec::new(),
        service_names: raw
            .services
            .iter()
            .flat_map(|s| s.keys().cloned())
            .collect(),
    };
    let project = normalizer.project(raw);
    (project, normalizer.diagnostics)
}

/// Service keys the model types (or that are consumed: `extends` is resolved before,
/// `label_file` is read into `labels`); any other key goes to `unsupported`.
const SERVICE_KEYS: &[&str] = &[
    "annotations",
    "build",
    "cap_add",
    "cap_drop",
    "command",
    "configs",
    "container_name",
    "cpu_shares",
    "cpus",
    "cpuset",
    "depends_on",
    "deploy",
    "devices",
    "dns",
    "dns_opt",
    "dns_search",
    "domainname",
    "entrypoint",
    "env_file",
    "environment",
    "expose",
    "extends",
    "external_links",
    "extra_hosts",
    "group_add",
    "healthcheck",
    "hostname",
    "image",
    "init",
    "ipc",
    "label_file",
    "labels",
    "links",
    "logging",
    "mem_limit",
    "memswap_limit",
    "network_mode",
    "networks",
    "pid",
    "pids_limit",
    "platform",
    "ports",
    "privileged",
    "profiles",
    "pull_policy",
    "read_only",
    "restart",
    "scale",
    "secrets",
    "security_opt",
    "shm_size",
    "stdin_open",
    "stop_grace_period",
    "stop_signal",
    "sysctls",
    "tmpfs",
    "tty",
    "ulimits",
    "user",
    "userns_mode",
    "volumes",
    "volumes_from",
    "working_dir",
];

/// `build` keys the model types; others are kept in `BuildConfig::unsupported`.
const BUILD_KEYS: [&str; 10] = [
    "context",
    "dockerfile",
    "dockerfile_inline",
    "args",
    "labels",
    "cache_from",
    "additional_contexts",
    "network",
    "target",
    "shm_size",
];

/// Keys of a top-level secret the model types.
const SECRET_KEYS: [&str; 5] = ["name", "environment", "file", "external", "labels"];
/// Keys of a top-level config the model types.
const CONFIG_KEYS: [&str; 6] = [
    "name",
    "content",
    "environment",
    "file",
    "external",
    "labels",
];

/// `deploy` keys that only a swarm honours.
const SWARM_ONLY: [&str; 5] = [
    "endpoint_mode",
    "labels",
    "placement",
    "rollback_config",
    "update_config",
];

struct Normalizer<'c, 'a> {
    ctx: &'c Context<'a>,
    root: &'c Node,
    diagnostics: Vec<Diagnostic>,
    /// The project's service names: inferred dependencies only point at these (a
    /// reference to anything else is reported once, by validation, where it is written).
    service_names: BTreeSet<String>,
}

/// One `env_file` entry as written, with where it sits.
struct EnvFileEntry<'p> {
    at: PathRef<'p>,
    path: String,
    required: Option<BoolOrString>,
    format: Option<String>,
}

impl Normalizer<'_, '_> {
    fn error(&mut self, path: PathRef<'_>, message: impl Into<String>) {
        self.diagnostics
            .push(Diagnostic::at_path(path.to_key_path(), message));
    }

    fn warning(&mut self, path: PathRef<'_>, message: impl Into<String>) {
        self.diagnostics
            .push(Diagnostic::warning(None, path.to_key_path(), message));
    }

    /// The value, or `None` after reporting the error at `path`.
    fn check<T>(&mut self, path: PathRef<'_>, result: Result<T, String>) -> Option<T> {
        result.map_err(|message| self.error(path, message)).ok()
    }

    /// Converts the value of `parent.key` when it is set, reporting a failure at it.
    fn field<R, T>(
        &mut self,
        parent: PathRef<'_>,
        key: &str,
        value: Option<R>,
        convert: impl FnOnce(R) -> Result<T, String>,
    ) -> Option<T> {
        let value = value?;
        self.check(parent.key(key), convert(value))
    }

    /// The value of a boolean key, `false` when unset (or wrong, after reporting it).
    fn flag(&mut self, parent: PathRef<'_>, key: &str, value: Option<BoolOrString>) -> bool {
        self.field(parent, key, value, |v| boolean(&v))
            .unwrap_or(false)
    }

    /// The `x-*` keys of the mapping at `path`, as written.
    fn extensions(&self, path: PathRef<'_>) -> Extensions {
        self.root
            .at_path(path)
            .and_then(Node::as_map)
            .map(|map| {
                map.entries
                    .iter()
                    .filter(|(key, _)| key.starts_with("x-"))
                    .map(|(key, entry)| (key.clone(), entry.value.to_json()))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The keys of the mapping at `path` that are neither `known` nor extensions, as
    /// written, each warned about as read but not supported (named `<prefix><key>`).
    fn unsupported(
        &mut self,
        path: PathRef<'_>,
        known: &[&str],
        prefix: &str,
    ) -> BTreeMap<String, Value> {
        let found: BTreeMap<String, Value> = self
            .root
            .at_path(path)
            .and_then(Node::as_map)
            .map(|map| {
                map.entries
                    .iter()
                    .filter(|(key, _)| !key.starts_with("x-") && !known.contains(&key.as_str()))
                    .map(|(key, entry)| (key.clone(), entry.value.to_json()))
                    .collect()
            })
            .unwrap_or_default();
        for key in found.keys() {
            self.warning(
                path.key(key.as_str()),
                format!("`{prefix}{key}` is read but not supported by rcompose yet; it is ignored"),
            );
        }
        found
    }

    /// The node at `path` as written, as JSON.
    fn as_written(&self, path: PathRef<'_>) -> Option<Value> {
        self.root.at_path(path).map(Node::to_json)
    }

    /// `path` made absolute against the project directory (`~` expanded first), cleaned.
    fn resolve_path(&self, path: &str) -> String {
        let expanded = match (path.strip_prefix('~'), &self.ctx.home) {
            (Some(rest), Some(home)) if rest.is_empty() || rest.starts_with('/') => {
                home.join(rest.trim_start_matches('/'))
            }
            _ => PathBuf::from(path),
        };
        let absolute = if expanded.is_absolute() {
            expanded
        } else {
            self.ctx.project_directory.join(expanded)
        };
        paths::clean_str(&absolute.to_string_lossy())
    }

    /// A build context: a path made absolute, a URL or git reference left alone.
    fn context_path(&self, context: &str) -> String {
        const REMOTE_PREFIXES: [&str; 3] = ["github.com/", "git@", "service:"];
        if context.contains("://") || REMOTE_PREFIXES.iter().any(|p| context.starts_with(p)) {
            context.to_string()
        } else {
            self.resolve_path(context)
        }
    }

    /// Reads an env or label file; a missing optional file is `None` without an error.
    fn read(&mut self, at: PathRef<'_>, file: &str, required: bool, what: &str) -> Option<String> {
        match (self.ctx.read_file)(Path::new(file)) {
            Ok(text) => Some(text),
            Err(e) if e.kind() == ErrorKind::NotFound => {
                if required {
                    let hint = if what == "env file" {
                        ": create it, or mark the entry `required: false`"
                    } else {
                        ""
                    };
                    self.error(at, format!("{what} {file} not found{hint}"));
                }
                None
            }
            Err(e) => {
                self.error(at, format!("cannot read {what} {file}: {e}"));
                None
            }
        }
    }

    fn project(&mut self, raw: raw::RawProject) -> Project {
        let top = KeyPath::root();
        let root = PathRef::Base(&top);
        let [services, networks, volumes, secrets, configs] =
            ["services", "networks", "volumes", "secrets", "configs"].map(|key| root.key(key));
        if raw.models.is_some() {
            self.warning(
                root.key("models"),
                "`models` is read but not supported by rcompose yet; it is ignored",
            );
        }
        let mut project = Project {
            name: self.ctx.project_name.clone(),
            extensions: self.extensions(root),
            ..Project::default()
        };
        let mut uses_default_network = false;
        for (name, service) in raw.services.unwrap_or_default() {
            let path = services.key(name.as_str());
            let joins_networks = service.provider.is_none() && service.network_mode.is_none();
            let mut service = self.service(path, service);
            if joins_networks {
                if service.networks.is_empty() {
                    service.networks.insert("default".into(), None);
                }
                uses_default_network |= service.networks.contains_key("default");
            }
            project.services.insert(name, service);
        }
        for (key, network) in raw.networks.unwrap_or_default() {
            let path = networks.key(key.as_str());
            let network = self.network(path, &key, network);
            project.networks.insert(key, network);
        }
        if uses_default_network && !project.networks.contains_key("default") {
            let network = self.network(root.key("networks").key("default"), "default", None);
            project.networks.insert("default".into(), network);
        }
        for (key, volume) in raw.volumes.unwrap_or_default() {
            let path = volumes.key(key.as_str());
            let volume = self.volume(path, &key, volume);
            project.volumes.insert(key, volume);
        }
        for (key, secret) in raw.secrets.unwrap_or_default() {
            let path = secrets.key(key.as_str());
            let written = FileObjectWritten {
                name: secret.name,
                file: secret.file,
                environment: secret.environment,
                content: None,
                external: secret.external,
                labels: secret.labels,
            };
            let secret = self.file_object(path, &key, written, &SECRET_KEYS);
            project.secrets.insert(key, secret);
        }
        for (key, config) in raw.configs.unwrap_or_default() {
            let path = configs.key(key.as_str());
            let written = FileObjectWritten {
                name: config.name,
                file: config.file,
                environment: config.environment,
                content: config.content,
                external: config.external,
                labels: config.labels,
            };
            let config = self.file_object(path, &key, written, &CONFIG_KEYS);
            project.configs.insert(key, config);
        }
        project
    }

    /// The real name of a resource: `name:`, else its key when external, else
    /// `<project>_<key>`.
    fn resource_name(&self, key: &str, name: Option<String>, external: bool) -> String {
        match name {
            Some(name) => name,
            None if external => key.to_string(),
            None => format!("{}_{key}", self.ctx.project_name),
        }
    }

    /// `external` of a network or volume, and the name its deprecated object form gives.
    fn external(
        &mut self,
        path: PathRef<'_>,
        name: &Option<String>,
        external: Option<raw::External>,
    ) -> (bool, Option<String>) {
        match external {
            None => (false, None),
            Some(raw::External::Bool(external)) => (external, None),
            Some(raw::External::String(text)) => (
                self.check(path.key("external"), boolean_text(&text))
                    .unwrap_or(false),
                None,
            ),
            Some(raw::External::Object(object)) => {
                (true, self.external_name(path, name, object.name))
            }
        }
    }

    /// The name given by the deprecated `external: {name: …}`: warned about, and an
    /// error when it disagrees with `name:` (as compose does).
    fn external_name(
        &mut self,
        path: PathRef<'_>,
        name: &Option<String>,
        external_name: Option<String>,
    ) -> Option<String> {
        let external_name = external_name?;
        let external = path.key("external");
        let at = external.key("name");
        match name {
            Some(name) if *name != external_name => {
                self.error(
                    at,
                    format!(
                        "`external.name` ({external_name:?}) and `name` ({name:?}) conflict: \
                         keep only `name`, with `external: true`"
                    ),
                );
                None
            }
            _ => {
                self.warning(
                    at,
                    "`external.name` is deprecated: set `name` and `external: true` instead",
                );
                Some(external_name)
            }
        }
    }

    fn network(
        &mut self,
        path: PathRef<'_>,
        key: &str,
        network: Option<raw::Network>,
    ) -> model::Network {
        let Some(network) = network else {
            return model::Network {
                name: self.resource_name(key, None, false),
                ..model::Network::default()
            };
        };
        let (external, external_name) = self.external(path, &network.name, network.external);
        let name = network.name.or(external_name);
        let ipam = network.ipam.map(|ipam| model::Ipam {
            driver: ipam.driver,
            config: ipam
                .config
                .unwrap_or_default()
                .into_iter()
                .map(|pool| model::IpamPool {
                    subnet: pool.subnet,
                    gateway: pool.gateway,
                    ip_range: pool.ip_range,
                    aux_addresses: pool.aux_addresses.unwrap_or_default().into_iter().collect(),
                })
                .collect(),
            options: ipam.options.unwrap_or_default().into_iter().collect(),
        });
        model::Network {
            name: self.resource_name(key, name, external),
            driver: network.driver,
            driver_opts: driver_opts(network.driver_opts),
            ipam: ipam.unwrap_or_default(),
            external,
            internal: self.flag(path, "internal", network.internal),
            attachable: self.flag(path, "attachable", network.attachable),
            labels: self.mapping(path.key("labels"), network.labels),
            enable_ipv4: self.field(path, "enable_ipv4", network.enable_ipv4, |v| boolean(&v)),
            enable_ipv6: self.field(path, "enable_ipv6", network.enable_ipv6, |v| boolean(&v)),
            extensions: self.extensions(path),
        }
    }

    fn volume(
        &mut self,
        path: PathRef<'_>,
        key: &str,
        volume: Option<raw::Volume>,
    ) -> model::Volume {
        let Some(volume) = volume else {
            return model::Volume {
                name: self.resource_name(key, None, false),
                ..model::Volume::default()
            };
        };
        let (external, external_name) = self.external(path, &volume.name, volume.external);
        let name = volume.name.or(external_name);
        let mut driver_opts = driver_opts(volume.driver_opts);
        // A `local` volume bound to a host directory: compose resolves the directory.
        if volume.driver.as_deref() == Some("local")
            && driver_opts.get("o").map(String::as_str) == Some("bind")
        {
            if let Some(device) = driver_opts.get_mut("device") {
                *device = self.resolve_path(device);
            }
        }
        model::Volume {
            name: self.resource_name(key, name, external),
            driver: volume.driver,
            driver_opts,
            external,
            labels: self.mapping(path.key("labels"), volume.labels),
            extensions: self.extensions(path),
        }
    }

    fn file_object(
        &mut self,
        path: PathRef<'_>,
        key: &str,
        written: FileObjectWritten,
        known: &[&str],
    ) -> model::FileObject {
        let (external, external_name) = match written.external {
            None => (false, None),
            Some(raw::LooseExternal::Bool(external)) => (external, None),
            Some(raw::LooseExternal::String(text)) => (
                self.check(path.key("external"), boolean_text(&text))
                    .unwrap_or(false),
                None,
            ),
            Some(raw::LooseExternal::Object(object)) => {
                (true, self.external_name(path, &written.name, object.name))
            }
        };
        let name = written.name.or(external_name);
        // Not kept: the model has no place for them (drivers, templating).
        self.unsupported(path, known, "");
        model::FileObject {
            name: self.resource_name(key, name, external),
            file: written.file.map(|file| self.resolve_path(&file)),
            environment: written.environment,
            content: written.content,
            external,
            labels: self.mapping(path.key("labels"), written.labels),
            extensions: self.extensions(path),
        }
    }

    fn service(&mut self, path: PathRef<'_>, raw: raw::Service) -> model::Service {
        let (env_file, environment) = self.environment(path, raw.env_file, raw.environment);
        let mut labels = self.label_files(path, raw.label_file);
        labels.extend(self.mapping(path.key("labels"), raw.labels));
        let depends_on = self.depends_on(path.key("depends_on"), raw.depends_on);
        let mut service = model::Service {
            profiles: raw.profiles.unwrap_or_default(),
            annotations: self.mapping(path.key("annotations"), raw.annotations),
            build: raw.build.map(|build| self.build(path.key("build"), build)),
            cap_add: raw.cap_add.unwrap_or_default(),
            cap_drop: raw.cap_drop.unwrap_or_default(),
            cpus: self.field(path, "cpus", raw.cpus, |v| cpus(&v)),
            cpuset: self.field(path, "cpuset", raw.cpuset, |v| {
                syntax::parse_cpuset(&v).map(|_| v)
            }),
            cpu_shares: self.field(path, "cpu_shares", raw.cpu_shares, |v| {
                whole_number(&Written::from(&v), "cpu_shares", "512")
            }),
            command: self.field(path, "command", raw.command, command),
            configs: self.file_refs(path.key("configs"), raw.configs, false),
            container_name: raw.container_name,
            depends_on,
            deploy: raw
                .deploy
                .map(|deploy| self.deploy(path.key("deploy"), deploy)),
            devices: self.devices(path.key("devices"), raw.devices),
            dns: string_or_list(raw.dns),
            dns_opt: raw.dns_opt.unwrap_or_default(),
            dns_search: string_or_list(raw.dns_search),
            domainname: raw.domainname,
            entrypoint: self.field(path, "entrypoint", raw.entrypoint, command),
            environment,
            env_file,
            expose: self.expose(path.key("expose"), raw.expose),
            external_links: raw.external_links.unwrap_or_default(),
            extra_hosts: self.extra_hosts(path.key("extra_hosts"), raw.extra_hosts),
            group_add: raw
                .group_add
                .unwrap_or_default()
                .iter()
                .map(number_or_string_text)
                .collect(),
            hostname: raw.hostname,
            healthcheck: raw
                .healthcheck
                .map(|check| self.healthcheck(path.key("healthcheck"), check)),
            image: raw.image,
            init: self.field(path, "init", raw.init, |v| boolean(&v)),
            ipc: raw.ipc,
            labels,
            links: raw.links.unwrap_or_default(),
            logging: raw.logging.map(|logging| model::Logging {
                driver: logging.driver,
                options: logging
                    .options
                    .unwrap_or_default()
                    .into_iter()
                    .map(|(key, value)| {
                        (
                            key,
                            value
                                .as_ref()
                                .map(number_or_string_text)
                                .unwrap_or_default(),
                        )
                    })
                    .collect(),
            }),
            mem_limit: self.field(path, "mem_limit", raw.mem_limit, |v| {
                size(&Written::from(&v), "mem_limit")
            }),
            memswap_limit: self.field(path, "memswap_limit", raw.memswap_limit, |v| {
                swap_limit(&Written::from(&v))
            }),
            network_mode: raw.network_mode,
            networks: self.service_networks(path.key("networks"), raw.networks),
            pid: raw.pid,
            pids_limit: self.field(path, "pids_limit", raw.pids_limit, |v| {
                whole_number(&Written::from(&v), "pids_limit", "100")
            }),
            platform: raw.platform,
            ports: self.ports(path.key("ports"), raw.ports),
            privileged: self.flag(path, "privileged", raw.privileged),
            pull_policy: raw.pull_policy.map(|policy| match policy.as_str() {
                // compose's older spelling.
                "if_not_present" => "missing".to_string(),
                _ => policy,
            }),
            read_only: self.flag(path, "read_only", raw.read_only),
            restart: self.field(path, "restart", raw.restart, |v| syntax::parse_restart(&v)),
            scale: self.field(path, "scale", raw.scale, |v| {
                count(&Written::from(&v), "scale")
            }),
            secrets: self.file_refs(path.key("secrets"), raw.secrets, true),
            security_opt: raw.security_opt.unwrap_or_default(),
            shm_size: self.field(path, "shm_size", raw.shm_size, |v| {
                size(&Written::from(&v), "shm_size")
            }),
            stdin_open: self.flag(path, "stdin_open", raw.stdin_open),
            stop_grace_period: self.field(path, "stop_grace_period", raw.stop_grace_period, |v| {
                duration(&v)
            }),
            stop_signal: self.field(path, "stop_signal", raw.stop_signal, |v| {
                syntax::parse_signal(&v)
            }),
            sysctls: self.mapping(path.key("sysctls"), raw.sysctls),
            tmpfs: string_or_list(raw.tmpfs),
            tty: self.flag(path, "tty", raw.tty),
            ulimits: self.ulimits(path.key("ulimits"), raw.ulimits),
            user: raw.user,
            userns_mode: raw.userns_mode,
            volumes: self.service_volumes(path.key("volumes"), raw.volumes),
            volumes_from: raw.volumes_from.unwrap_or_default(),
            working_dir: raw.working_dir,
            unsupported: self.unsupported(path, SERVICE_KEYS, ""),
            extensions: self.extensions(path),
        };
        infer_dependencies(&mut service, raw.uts.as_deref(), &self.service_names);
        service
    }

    /// `env_file`s read in order, then `environment` over them (as compose-go's
    /// `WithServicesEnvironmentResolved` does). `${VAR}` in an env file sees the file's
    /// earlier keys, then earlier files and `environment`, then `Context::lookup`.
    fn environment(
        &mut self,
        path: PathRef<'_>,
        env_file: Option<raw::EnvFile>,
        environment: Option<ListOrDict>,
    ) -> (Vec<model::EnvFile>, BTreeMap<String, Option<String>>) {
        let written = self.variables(path.key("environment"), environment, true);
        let mut merged: IndexMap<String, String> = written
            .iter()
            .filter_map(|(key, value)| Some((key.clone(), value.clone()?)))
            .collect();
        let mut files = Vec::new();
        let env_file_path = path.key("env_file");
        for entry in env_file_entries(&env_file_path, env_file) {
            let required = self
                .field(entry.at, "required", entry.required, |v| boolean(&v))
                .unwrap_or(true);
            let file = self.resolve_path(&entry.path);
            files.push(model::EnvFile {
                path: file.clone(),
                required,
            });
            let raw_format = match entry.format.as_deref() {
                None | Some("dotenv") => false,
                Some("raw") => true,
                Some(other) => {
                    self.error(
                        entry.at.key("format"),
                        format!("unknown env_file format {other:?}: expected dotenv or raw"),
                    );
                    continue;
                }
            };
            let Some(text) = self.read(entry.at, &file, required, "env file") else {
                continue;
            };
            let lookup = self.ctx.lookup;
            let known = |key: &str| merged.get(key).cloned().or_else(|| lookup(key));
            let vars = if raw_format {
                parse_raw_env(&text, &known)
            } else {
                parse_dotenv(&text, &Arc::from(file.as_str()), &known).map_err(|d| d.to_string())
            };
            match vars {
                Ok(vars) => merged.extend(vars),
                Err(message) => self.error(entry.at, format!("in env file {file}: {message}")),
            }
        }
        let mut environment: BTreeMap<String, Option<String>> = merged
            .into_iter()
            .map(|(key, value)| (key, Some(value)))
            .collect();
        environment.extend(written);
        (files, environment)
    }

    /// `environment` or `build.args` entries, in written order: a variable named without
    /// a value takes `Context::lookup`'s value, and when unset is kept as `None`
    /// (`keep_unset`) or left out.
    fn variables(
        &mut self,
        path: PathRef<'_>,
        written: Option<ListOrDict>,
        keep_unset: bool,
    ) -> IndexMap<String, Option<String>> {
        let entries: Vec<(String, Option<String>)> = match written {
            None => Vec::new(),
            Some(ListOrDict::Dict(map)) => map
                .into_iter()
                .map(|(key, value)| (key, value.as_ref().map(scalar_text)))
                .collect(),
            Some(ListOrDict::List(items)) => items
                .iter()
                .enumerate()
                .filter_map(|(i, item)| self.check(path.index(i), syntax::parse_env_item(item)))
                .collect(),
        };
        entries
            .into_iter()
            .filter_map(|(key, value)| {
                let value = value.or_else(|| (self.ctx.lookup)(&key));
                (value.is_some() || keep_unset).then_some((key, value))
            })
            .collect()
    }

    /// `labels`, `annotations`, `sysctls` and the like: a list of `KEY=VALUE` or a map
    /// (`null` is an empty value).
    fn mapping(
        &mut self,
        path: PathRef<'_>,
        written: Option<ListOrDict>,
    ) -> BTreeMap<String, String> {
        match written {
            None => BTreeMap::new(),
            Some(ListOrDict::Dict(map)) => map
                .into_iter()
                .map(|(key, value)| (key, value.as_ref().map(scalar_text).unwrap_or_default()))
                .collect(),
            Some(ListOrDict::List(items)) => items
                .iter()
                .enumerate()
                .filter_map(|(i, item)| self.check(path.index(i), syntax::parse_label_item(item)))
                .collect(),
        }
    }

    /// The labels of `label_file`s, read in order (a later file wins; `${VAR}` in one sees
    /// only the labels read before, as compose-go does).
    fn label_files(
        &mut self,
        path: PathRef<'_>,
        label_file: Option<StringOrList>,
    ) -> BTreeMap<String, String> {
        let label_file_path = path.key("label_file");
        let files: Vec<(PathRef, String)> = match label_file {
            None => Vec::new(),
            Some(StringOrList::String(file)) => vec![(label_file_path, file)],
            Some(StringOrList::List(files)) => files
                .into_iter()
                .enumerate()
                .map(|(i, file)| (label_file_path.index(i), file))
                .collect(),
        };
        let mut labels: IndexMap<String, String> = IndexMap::new();
        for (at, file) in files {
            let file = self.resolve_path(&file);
            let Some(text) = self.read(at, &file, true, "label file") else {
                continue;
            };
            let known = |key: &str| labels.get(key).cloned();
            match parse_dotenv(&text, &Arc::from(file.as_str()), &known) {
                Ok(vars) => labels.extend(vars),
                Err(d) => self.error(at, format!("in label file {file}: {d}")),
            }
        }
        labels.into_iter().collect()
    }

    fn build(&mut self, path: PathRef<'_>, build: raw::Build) -> model::BuildConfig {
        let build = match build {
            raw::Build::Context(context) => {
                return model::BuildConfig {
                    context: self.context_path(&context),
                    dockerfile: Some("Dockerfile".into()),
                    ..model::BuildConfig::default()
                }
            }
            raw::Build::Config(build) => *build,
        };
        let dockerfile = match (build.dockerfile, &build.dockerfile_inline) {
            (Some(dockerfile), _) => Some(dockerfile),
            (None, None) => Some("Dockerfile".to_string()),
            (None, Some(_)) => None,
        };
        let additional_contexts = self
            .variables(
                path.key("additional_contexts"),
                build.additional_contexts,
                false,
            )
            .into_iter()
            .filter_map(|(name, context)| Some((name, self.context_path(&context?))))
            .collect();
        let mut unsupported = self.unsupported(path, &BUILD_KEYS, "build.");
        unsupported.extend(self.extensions(path));
        model::BuildConfig {
            context: self.context_path(build.context.as_deref().unwrap_or(".")),
            dockerfile,
            dockerfile_inline: build.dockerfile_inline,
            args: self
                .variables(path.key("args"), build.args, false)
                .into_iter()
                .collect(),
            labels: self.mapping(path.key("labels"), build.labels),
            cache_from: build.cache_from.unwrap_or_default(),
            additional_contexts,
            network: build.network,
            target: build.target,
            shm_size: self.field(path, "shm_size", build.shm_size, |v| {
                size(&Written::from(&v), "shm_size")
            }),
            unsupported,
        }
    }

    fn depends_on(
        &mut self,
        path: PathRef<'_>,
        depends_on: Option<raw::DependsOn>,
    ) -> BTreeMap<String, model::DependsOn> {
        match depends_on {
            None => BTreeMap::new(),
            Some(raw::DependsOn::List(names)) => names
                .into_iter()
                .map(|name| (name, model::DependsOn::default()))
                .collect(),
            Some(raw::DependsOn::Map(map)) => map
                .into_iter()
                .map(|(name, entry)| {
                    let at = path.key(name.as_str());
                    let dependency = model::DependsOn {
                        condition: match entry.condition {
                            raw::DependsOnCondition::ServiceStarted => {
                                model::DependsCondition::ServiceStarted
                            }
                            raw::DependsOnCondition::ServiceHealthy => {
                                model::DependsCondition::ServiceHealthy
                            }
                            raw::DependsOnCondition::ServiceCompletedSuccessfully => {
                                model::DependsCondition::ServiceCompletedSuccessfully
                            }
                        },
                        restart: self.flag(at, "restart", entry.restart),
                        required: entry.required.unwrap_or(true),
                    };
                    (name, dependency)
                })
                .collect(),
        }
    }

    fn deploy(&mut self, path: PathRef<'_>, deploy: raw::Deploy) -> model::Deploy {
        for key in SWARM_ONLY {
            if self.root.at_path(path.key(key)).is_some() {
                self.warning(
                    path.key(key),
                    format!("`deploy.{key}` only applies to swarm; it is ignored"),
                );
            }
        }
        let resources = deploy.resources.map(|resources| {
            let at = path.key("resources");
            model::Resources {
                limits: resources.limits.map(|limits| {
                    let at = at.key("limits");
                    model::Resource {
                        cpus: self.field(at, "cpus", limits.cpus, |v| cpus(&v)),
                        memory: self.field(at, "memory", limits.memory, |v| {
                            ByteSize::parse(&v).map_err(|e| e.to_string())
                        }),
                        pids: self.field(at, "pids", limits.pids, |v| {
                            whole_number(&Written::from(&v), "pids", "100")
                        }),
                        ..model::Resource::default()
                    }
                }),
                reservations: resources.reservations.map(|reservations| {
                    let at = at.key("reservations");
                    let mut kept = |key: &str, written: bool| {
                        let path = at.key(key);
                        if !written {
                            return None;
                        }
                        self.warning(
                            path,
                            format!(
                                "`deploy.resources.reservations.{key}` is read but not \
                                 supported by rcompose yet; it is ignored"
                            ),
                        );
                        self.as_written(path)
                    };
                    let devices = kept("devices", reservations.devices.is_some());
                    let generic_resources = kept(
                        "generic_resources",
                        reservations.generic_resources.is_some(),
                    );
                    model::Resource {
                        cpus: self.field(at, "cpus", reservations.cpus, |v| cpus(&v)),
                        memory: self.field(at, "memory", reservations.memory, |v| {
                            ByteSize::parse(&v).map_err(|e| e.to_string())
                        }),
                        pids: None,
                        devices,
                        generic_resources,
                    }
                }),
            }
        });
        let restart_policy = deploy.restart_policy.map(|policy| {
            let at = path.key("restart_policy");
            model::DeployRestartPolicy {
                condition: self.field(at, "condition", policy.condition, |v| match v.as_str() {
                    "none" | "on-failure" | "any" => Ok(v),
                    _ => Err(format!(
                        "unknown restart condition {v:?}: expected none, on-failure or any"
                    )),
                }),
                delay: self.field(at, "delay", policy.delay, |v| duration(&v)),
                max_attempts: self.field(at, "max_attempts", policy.max_attempts, |v| {
                    count(&Written::from(&v), "max_attempts").map(u64::from)
                }),
                window: self.field(at, "window", policy.window, |v| duration(&v)),
            }
        });
        model::Deploy {
            mode: deploy.mode,
            replicas: self.field(path, "replicas", deploy.replicas, |v| {
                count(&Written::from(&v), "replicas")
            }),
            labels: self.mapping(path.key("labels"), deploy.labels),
            update_config: self.as_written(path.key("update_config")),
            rollback_config: self.as_written(path.key("rollback_config")),
            resources: resources.unwrap_or_default(),
            restart_policy,
            placement: self.as_written(path.key("placement")),
            endpoint_mode: deploy.endpoint_mode,
            extensions: self.extensions(path),
        }
    }

    fn devices(
        &mut self,
        path: PathRef<'_>,
        devices: Option<Vec<raw::Device>>,
    ) -> Vec<model::DeviceMapping> {
        let mut mapped = Vec::new();
        for (i, device) in devices.unwrap_or_default().into_iter().enumerate() {
            let at = path.index(i);
            let device = match device {
                raw::Device::Short(spec) => self.check(at, syntax::parse_device(&spec)),
                raw::Device::Long(device) => {
                    let target = device.target.unwrap_or_else(|| device.source.clone());
                    self.field(at, "permissions", Some(device.permissions), |p| {
                        let permissions = p.unwrap_or_else(|| "rwm".into());
                        if syntax::valid_device_permissions(&permissions) {
                            Ok(permissions)
                        } else {
                            Err(format!(
                                "permissions {permissions:?} must be made of r, w and m (each \
                                 at most once), e.g. rwm"
                            ))
                        }
                    })
                    .map(|permissions| model::DeviceMapping {
                        source: device.source,
                        target,
                        permissions,
                    })
                }
            };
            mapped.extend(device);
        }
        mapped
    }

    fn expose(&mut self, path: PathRef<'_>, expose: Option<Vec<NumberOrString>>) -> Vec<String> {
        let mut ports = Vec::new();
        for (i, port) in expose.unwrap_or_default().iter().enumerate() {
            let text = number_or_string_text(port);
            let valid = !text.contains(':') && syntax::parse_ports(&text).is_ok();
            if valid {
                ports.push(text);
            } else {
                self.error(
                    path.index(i),
                    format!(
                        "{text:?} is not a port to expose: expected PORT[-PORT][/PROTOCOL], \
                         e.g. 3000 or 8000-8010/udp"
                    ),
                );
            }
        }
        ports
    }

    fn extra_hosts(
        &mut self,
        path: PathRef<'_>,
        extra_hosts: Option<raw::ExtraHosts>,
    ) -> BTreeMap<String, Vec<String>> {
        let mut hosts: BTreeMap<String, Vec<String>> = BTreeMap::new();
        match extra_hosts {
            None => {}
            Some(raw::ExtraHosts::Map(map)) => {
                for (host, ips) in map {
                    let ips = string_or_list(Some(ips)).into_iter().map(|ip| {
                        ip.strip_prefix('[')
                            .and_then(|inner| inner.strip_suffix(']'))
                            .map_or(ip.clone(), str::to_string)
                    });
                    hosts.entry(host).or_default().extend(ips);
                }
            }
            Some(raw::ExtraHosts::List(entries)) => {
                for (i, entry) in entries.iter().enumerate() {
                    if let Some((host, ips)) =
                        self.check(path.index(i), syntax::parse_extra_host(entry))
                    {
                        hosts.entry(host).or_default().extend(ips);
                    }
                }
            }
        }
        hosts
    }

    fn healthcheck(&mut self, path: PathRef<'_>, check: raw::Healthcheck) -> model::Healthcheck {
        let test = match check.test {
            None => Vec::new(),
            Some(StringOrList::String(shell)) => vec!["CMD-SHELL".to_string(), shell],
            Some(StringOrList::List(test)) => test,
        };
        let disabled = test == ["NONE"];
        model::Healthcheck {
            timeout: self.field(path, "timeout", check.timeout, |v| duration(&v)),
            interval: self.field(path, "interval", check.interval, |v| duration(&v)),
            retries: self.field(path, "retries", check.retries, |v| {
                count(&Written::from(&v), "retries").map(u64::from)
            }),
            start_period: self.field(path, "start_period", check.start_period, |v| duration(&v)),
            start_interval: self.field(path, "start_interval", check.start_interval, |v| {
                duration(&v)
            }),
            disable: self.flag(path, "disable", check.disable) || disabled,
            test,
        }
    }

    fn service_networks(
        &mut self,
        path: PathRef<'_>,
        networks: Option<raw::ServiceNetworks>,
    ) -> BTreeMap<String, Option<model::ServiceNetwork>> {
        match networks {
            None => BTreeMap::new(),
            Some(raw::ServiceNetworks::List(names)) => {
                names.into_iter().map(|name| (name, None)).collect()
            }
            Some(raw::ServiceNetworks::Map(map)) => map
                .into_iter()
                .map(|(name, network)| {
                    let at = path.key(name.as_str());
                    let network = network.map(|network| model::ServiceNetwork {
                        aliases: network.aliases.unwrap_or_default(),
                        driver_opts: driver_opts(network.driver_opts),
                        gw_priority: self.field(at, "gw_priority", network.gw_priority, |v| {
                            priority(v, "gw_priority")
                        }),
                        interface_name: network.interface_name,
                        ipv4_address: network.ipv4_address,
                        ipv6_address: network.ipv6_address,
                        link_local_ips: network.link_local_ips.unwrap_or_default(),
                        mac_address: network.mac_address,
                        priority: self.field(at, "priority", network.priority, |v| {
                            priority(v, "priority")
                        }),
                    });
                    (name, network)
                })
                .collect(),
        }
    }

    fn ports(
        &mut self,
        path: PathRef<'_>,
        ports: Option<Vec<raw::Port>>,
    ) -> Vec<model::PortConfig> {
        let mut mapped = Vec::new();
        for (i, port) in ports.unwrap_or_default().into_iter().enumerate() {
            let at = path.index(i);
            let ports = match port {
                raw::Port::Number(Number::Int(port)) => {
                    self.check(at, syntax::parse_ports(&port.to_string()))
                }
                raw::Port::Number(Number::Float(port)) => self.check(
                    at,
                    Err(format!(
                        "{} is not a port: ports are whole numbers from 1 to 65535",
                        go_float(port)
                    )),
                ),
                raw::Port::Short(spec) => self.check(at, syntax::parse_ports(&spec)),
                raw::Port::Long(port) => self.long_port(at, port).map(|port| vec![port]),
            };
            mapped.extend(ports.into_iter().flatten());
        }
        mapped
    }

    fn long_port(&mut self, at: PathRef<'_>, port: raw::PortConfig) -> Option<model::PortConfig> {
        let target = match port.target {
            Some(target) => self.check(at.key("target"), port_number(&Written::from(&target))),
            None => {
                self.error(
                    at,
                    "a port in the long syntax needs `target`, the port in the container",
                );
                None
            }
        };
        let published = self.field(at, "published", port.published, |v| {
            published_port(&Written::from(&v))
        });
        let host_ip = self.field(at, "host_ip", port.host_ip, |ip| {
            ip.parse::<IpAddr>()
                .map(|_| ip.clone())
                .map_err(|_| format!("{ip:?} is not an IP address, e.g. 127.0.0.1"))
        });
        let protocol = self.field(at, "protocol", port.protocol, |protocol| {
            let lower = protocol.to_ascii_lowercase();
            match lower.as_str() {
                "tcp" | "udp" | "sctp" => Ok(lower),
                _ => Err(format!(
                    "unknown protocol {protocol:?}: expected tcp, udp or sctp"
                )),
            }
        });
        let mode = self.field(at, "mode", port.mode, |mode| match mode.as_str() {
            "ingress" | "host" => Ok(mode),
            _ => Err(format!(
                "unknown port mode {mode:?}: expected ingress or host"
            )),
        });
        let defaults = model::PortConfig::default();
        Some(model::PortConfig {
            name: port.name,
            mode: mode.unwrap_or(defaults.mode),
            host_ip,
            target: target?,
            published: published.flatten(),
            protocol: protocol.unwrap_or(defaults.protocol),
            app_protocol: port.app_protocol,
        })
    }

    /// Secret (`secrets`) or config references; a secret's `target` defaults to
    /// `/run/secrets/<source>`, as compose fills it in (a config's is left to the
    /// runtime, as compose leaves it).
    fn file_refs(
        &mut self,
        path: PathRef<'_>,
        refs: Option<Vec<raw::FileRef>>,
        secrets: bool,
    ) -> Vec<model::FileReference> {
        let default_target = |source: &str| secrets.then(|| format!("/run/secrets/{source}"));
        let mut mapped = Vec::new();
        for (i, reference) in refs.unwrap_or_default().into_iter().enumerate() {
            let at = path.index(i);
            match reference {
                raw::FileRef::Short(source) => mapped.push(model::FileReference {
                    target: default_target(&source),
                    source,
                    ..model::FileReference::default()
                }),
                raw::FileRef::Long(long) => {
                    let mode = self.field(at, "mode", long.mode, |v| file_mode(&v));
                    let Some(source) = long.source else {
                        let what = if secrets { "secret" } else { "config" };
                        self.error(at, format!("a {what} reference needs `source`, its name"));
                        continue;
                    };
                    mapped.push(model::FileReference {
                        target: long.target.or_else(|| default_target(&source)),
                        source,
                        uid: long.uid,
                        gid: long.gid,
                        mode,
                    });
                }
            }
        }
        mapped
    }

    fn ulimits(
        &mut self,
        path: PathRef<'_>,
        ulimits: Option<IndexMap<String, raw::Ulimit>>,
    ) -> BTreeMap<String, model::Ulimit> {
        let mut mapped = BTreeMap::new();
        for (name, ulimit) in ulimits.unwrap_or_default() {
            let at = path.key(name.as_str());
            let ulimit = match ulimit {
                raw::Ulimit::Single(IntOrString::Int(limit)) => {
                    self.check(at, syntax::parse_ulimit(&limit.to_string()))
                }
                raw::Ulimit::Single(IntOrString::String(text)) => {
                    self.check(at, syntax::parse_ulimit(&text))
                }
                raw::Ulimit::Limits(limits) => {
                    let soft = self.field(at, "soft", Some(limits.soft), |v| {
                        limit(&Written::from(&v), "soft")
                    });
                    let hard = self.field(at, "hard", Some(limits.hard), |v| {
                        limit(&Written::from(&v), "hard")
                    });
                    match (soft, hard) {
                        (Some(soft), Some(hard)) if hard != -1 && (soft == -1 || soft > hard) => {
                            self.error(
                                at.key("soft"),
                                format!("the soft limit {soft} is above the hard limit {hard}"),
                            );
                            None
                        }
                        (Some(soft), Some(hard)) => Some(model::Ulimit::SoftHard { soft, hard }),
                        _ => None,
                    }
                }
            };
            if let Some(ulimit) = ulimit {
                mapped.insert(name, ulimit);
            }
        }
        mapped
    }

    fn service_volumes(
        &mut self,
        path: PathRef<'_>,
        volumes: Option<Vec<raw::ServiceVolume>>,
    ) -> Vec<model::ServiceVolume> {
        let mut mapped = Vec::new();
        for (i, volume) in volumes.unwrap_or_default().into_iter().enumerate() {
            let at = path.index(i);
            let volume = match volume {
                raw::ServiceVolume::Short(spec) => {
                    self.check(at, syntax::parse_volume(&spec))
                        .map(|mut volume| {
                            if volume.type_ == model::VolumeType::Bind {
                                volume.source = volume.source.map(|s| self.resolve_path(&s));
                            }
                            volume.target = paths::clean_str(&volume.target);
                            volume
                        })
                }
                raw::ServiceVolume::Long(mount) => self.mount(at, *mount),
            };
            mapped.extend(volume);
        }
        mapped
    }

    /// A volume in the long syntax. A `bind` section without `create_host_path` gets
    /// `true` (compose-go's default); without a `bind` section there is none.
    fn mount(&mut self, at: PathRef<'_>, mount: raw::VolumeMount) -> Option<model::ServiceVolume> {
        let type_ = match mount.kind {
            raw::MountType::Bind => model::VolumeType::Bind,
            raw::MountType::Volume => model::VolumeType::Volume,
            raw::MountType::Tmpfs => model::VolumeType::Tmpfs,
            raw::MountType::Cluster => model::VolumeType::Cluster,
            raw::MountType::Npipe => model::VolumeType::Npipe,
            raw::MountType::Image => model::VolumeType::Image,
        };
        let source = match (type_, mount.source) {
            (model::VolumeType::Bind, Some(source)) => Some(self.resolve_path(&source)),
            (model::VolumeType::Bind, None) => {
                self.error(at, "a bind mount needs `source`, the path on the host");
                None
            }
            (model::VolumeType::Tmpfs, Some(_)) => {
                self.error(
                    at.key("source"),
                    "a tmpfs mount has no source: remove `source`",
                );
                None
            }
            (_, source) => source,
        };
        let target = match mount.target {
            Some(target) => Some(paths::clean_str(&target)),
            None => {
                self.error(at, "a mount needs `target`, the path in the container");
                None
            }
        };
        let bind = mount.bind.map(|bind| {
            let bind_at = at.key("bind");
            model::BindOptions {
                propagation: self.field(bind_at, "propagation", bind.propagation, |p| {
                    if syntax::PROPAGATIONS.contains(&p.as_str()) {
                        Ok(p)
                    } else {
                        Err(format!(
                            "unknown propagation {p:?}: expected one of {}",
                            syntax::PROPAGATIONS.join(", ")
                        ))
                    }
                }),
                create_host_path: Some(
                    self.field(bind_at, "create_host_path", bind.create_host_path, |v| {
                        boolean(&v)
                    })
                    .unwrap_or(true),
                ),
                selinux: bind.selinux.map(|selinux| {
                    match selinux {
                        raw::SelinuxRelabel::Shared => "z",
                        raw::SelinuxRelabel::Private => "Z",
                    }
                    .to_string()
                }),
                recursive: bind.recursive.map(|recursive| {
                    match recursive {
                        raw::BindRecursive::Enabled => "enabled",
                        raw::BindRecursive::Disabled => "disabled",
                        raw::BindRecursive::Writable => "writable",
                        raw::BindRecursive::Readonly => "readonly",
                    }
                    .to_string()
                }),
            }
        });
        let volume = mount.volume.map(|volume| {
            let volume_at = at.key("volume");
            model::VolumeOptions {
                labels: self.mapping(volume_at.key("labels"), volume.labels),
                nocopy: self.flag(volume_at, "nocopy", volume.nocopy),
                subpath: volume.subpath,
            }
        });
        let tmpfs = mount.tmpfs.map(|tmpfs| {
            let tmpfs_at = at.key("tmpfs");
            model::TmpfsOptions {
                size: self.field(tmpfs_at, "size", tmpfs.size, |v| {
                    size(&Written::from(&v), "size")
                }),
                mode: self.field(tmpfs_at, "mode", tmpfs.mode, |v| file_mode(&v)),
            }
        });
        Some(model::ServiceVolume {
            type_,
            source,
            target: target?,
            read_only: self.flag(at, "read_only", mount.read_only),
            consistency: mount.consistency,
            bind,
            volume,
            tmpfs,
            image: mount.image.map(|image| model::ImageOptions {
                subpath: image.subpath,
            }),
        })
    }
}

/// A top-level secret or config as written, the fields they share.
struct FileObjectWritten {
    name: Option<String>,
    file: Option<String>,
    environment: Option<String>,
    content: Option<String>,
    external: Option<raw::LooseExternal>,
    labels: Option<ListOrDict>,
}

/// The `env_file` entries with their key paths (`env_file` for a single path,
/// `env_file[i]` for a list item).
fn env_file_entries<'p>(
    path: &'p PathRef<'p>,
    env_file: Option<raw::EnvFile>,
) -> Vec<EnvFileEntry<'p>> {
    match env_file {
        None => Vec::new(),
        Some(raw::EnvFile::Path(file)) => vec![EnvFileEntry {
            at: *path,
            path: file,
            required: None,
            format: None,
        }],
        Some(raw::EnvFile::List(entries)) => entries
            .into_iter()
            .enumerate()
            .map(|(i, entry)| match entry {
                raw::EnvFileEntry::Path(file) => EnvFileEntry {
                    at: path.index(i),
                    path: file,
                    required: None,
                    format: None,
                },
                raw::EnvFileEntry::Config(config) => EnvFileEntry {
                    at: path.index(i),
                    path: config.path,
                    required: config.required,
                    format: config.format,
                },
            })
            .collect(),
    }
}

/// Adds the dependencies compose infers (when not declared): `links` and `service:`
/// namespaces (`network_mode`, `ipc`, `pid`, `uts`) restart with their dependency,
/// `volumes_from` services do not.
fn infer_dependencies(service: &mut model::Service, uts: Option<&str>, known: &BTreeSet<String>) {
    let mut inferred: Vec<(String, bool)> = Vec::new();
    for link in &service.links {
        let name = link.split(':').next().unwrap_or(link);
        inferred.push((name.to_string(), true));
    }
    let namespaces = [
        service.network_mode.as_deref(),
        service.ipc.as_deref(),
        service.pid.as_deref(),
        uts,
    ];
    for namespace in namespaces.into_iter().flatten() {
        if let Some(name) = namespace.strip_prefix("service:") {
            inferred.push((name.to_string(), true));
        }
    }
    for source in &service.volumes_from {
        if !source.starts_with("container:") {
            let name = source.split(':').next().unwrap_or(source);
            inferred.push((name.to_string(), false));
        }
    }
    for (name, restart) in inferred
        .into_iter()
        .filter(|(name, _)| known.contains(name))
    {
        service.depends_on.entry(name).or_insert(model::DependsOn {
            restart,
            ..model::DependsOn::default()
        });
    }
}

/// Reads an env file in compose's `raw` format (docker's `--env-file`): `KEY=VALUE` per
/// line, the value taken literally; a bare `KEY` takes `lookup`'s value, or is left out.
fn parse_raw_env(
    text: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<IndexMap<String, String>, String> {
    let mut vars = IndexMap::new();
    for (number, line) in text.lines().enumerate() {
        let line = line.trim_start();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (key, value) = match line.split_once('=') {
            Some((key, value)) => (key, Some(value.to_string())),
            None => (line, None),
        };
        if key.is_empty() {
            return Err(format!("line {}: no variable name before '='", number + 1));
        }
        if key.contains(char::is_whitespace) {
            return Err(format!(
                "line {}: variable name {key:?} contains whitespace",
                number + 1
            ));
        }
        if let Some(value) = value.or_else(|| lookup(key)) {
            vars.insert(key.to_string(), value);
        }
    }
    Ok(vars)
}

/// A number or string as written, for the converters below.
enum Written<'v> {
    Int(i64),
    Float(f64),
    Text(&'v str),
}

impl<'v> From<&'v IntOrString> for Written<'v> {
    fn from(value: &'v IntOrString) -> Self {
        match value {
            IntOrString::Int(i) => Written::Int(*i),
            IntOrString::String(text) => Written::Text(text),
        }
    }
}

impl<'v> From<&'v NumberOrString> for Written<'v> {
    fn from(value: &'v NumberOrString) -> Self {
        match value {
            NumberOrString::Number(Number::Int(i)) => Written::Int(*i),
            NumberOrString::Number(Number::Float(x)) => Written::Float(*x),
            NumberOrString::String(text) => Written::Text(text),
        }
    }
}

impl Written<'_> {
    /// As written, for messages: numbers as Go prints them, strings quoted.
    fn shown(&self) -> String {
        match self {
            Written::Int(i) => i.to_string(),
            Written::Float(x) => go_float(*x),
            Written::Text(text) => format!("{text:?}"),
        }
    }
}

/// A whole number (a float with no fraction counts), e.g. `cpu_shares: "512"`.
fn whole_number(value: &Written, key: &str, example: &str) -> Result<i64, String> {
    let whole = match value {
        Written::Int(i) => Some(*i),
        Written::Float(x) if x.fract() == 0.0 && x.abs() < 9.0e18 => Some(*x as i64),
        Written::Float(_) => None,
        Written::Text(text) => text.parse::<i64>().ok(),
    };
    whole.ok_or_else(|| {
        format!(
            "{key} must be a whole number, e.g. {example}; found {}",
            value.shown()
        )
    })
}

/// A whole number of 0 or more that fits a `u32` (`scale`, `replicas`, `retries`).
fn count(value: &Written, key: &str) -> Result<u32, String> {
    let number = whole_number(value, key, "2")?;
    if number < 0 {
        return Err(format!("{key} must be 0 or more, found {number}"));
    }
    u32::try_from(number).map_err(|_| format!("{key} is too large: at most {}", u32::MAX))
}

/// A `ulimits` soft or hard limit: a whole number, `-1` for unlimited.
fn limit(value: &Written, key: &str) -> Result<i64, String> {
    let number = whole_number(value, key, "65535")?;
    if number < -1 {
        return Err(format!(
            "{key} must be a whole number (-1 for unlimited), found {number}"
        ));
    }
    Ok(number)
}

/// `cpus`: a number of CPUs (a fraction allowed), more than 0.
fn cpus(value: &NumberOrString) -> Result<f64, String> {
    let written = Written::from(value);
    let cpus = match written {
        Written::Int(i) => Some(i as f64),
        Written::Float(x) => Some(x),
        Written::Text(text) => text.parse::<f64>().ok().filter(|x| x.is_finite()),
    }
    .ok_or_else(|| {
        format!(
            "cpus must be a number of CPUs, e.g. 0.5 or 2; found {}",
            written.shown()
        )
    })?;
    if cpus <= 0.0 {
        return Err(format!(
            "cpus must be more than 0, found {}",
            written.shown()
        ));
    }
    Ok(cpus)
}

/// A size: a number of bytes, or a string with a unit (`256m`).
fn size(value: &Written, key: &str) -> Result<ByteSize, String> {
    let bytes = match value {
        Written::Int(i) => u64::try_from(*i).ok(),
        Written::Float(x) if x.fract() == 0.0 && *x >= 0.0 && *x < 9.0e18 => Some(*x as u64),
        Written::Float(_) => None,
        Written::Text(text) => return ByteSize::parse(text).map_err(|e| e.to_string()),
    };
    bytes.map(ByteSize).ok_or_else(|| {
        format!(
            "{key} must be a size such as 256m or a whole number of bytes, found {}",
            value.shown()
        )
    })
}

/// `memswap_limit`: a size, or `-1` for unlimited swap.
fn swap_limit(value: &Written) -> Result<SwapLimit, String> {
    match value {
        Written::Int(-1) => Ok(SwapLimit::Unlimited),
        Written::Text(text) => SwapLimit::parse(text).map_err(|e| e.to_string()),
        _ => size(value, "memswap_limit").map(SwapLimit::Limited),
    }
}

/// A boolean, or a string YAML 1.1 reads as one (`"true"`, `"no"`, …), as compose-go
/// reads interpolated booleans.
fn boolean(value: &BoolOrString) -> Result<bool, String> {
    match value {
        BoolOrString::Bool(b) => Ok(*b),
        BoolOrString::String(text) => boolean_text(text),
    }
}

fn boolean_text(text: &str) -> Result<bool, String> {
    match text.to_ascii_lowercase().as_str() {
        "true" | "yes" | "y" | "on" => Ok(true),
        "false" | "no" | "n" | "off" => Ok(false),
        _ => Err(format!("expected true or false, found {text:?}")),
    }
}

fn duration(text: &str) -> Result<Duration, String> {
    Duration::parse(text).map_err(|e| e.to_string())
}

/// A file mode: a number, or octal digits as a string (`"0440"`).
fn file_mode(value: &NumberOrString) -> Result<u32, String> {
    let mode = match Written::from(value) {
        Written::Int(i) => u32::try_from(i).ok(),
        Written::Float(_) => None,
        Written::Text(text) => {
            let digits = text.strip_prefix("0o").unwrap_or(text);
            u32::from_str_radix(digits, 8).ok()
        }
    };
    match mode {
        Some(mode) if mode <= 0o7777 => Ok(mode),
        _ => Err(format!(
            "{} is not a file mode: expected octal digits, e.g. \"0440\"",
            Written::from(value).shown()
        )),
    }
}

/// A container port: 1 to 65535.
fn port_number(value: &Written) -> Result<u16, String> {
    match whole_number(value, "target", "80") {
        Ok(port) if (1..=65535).contains(&port) => Ok(port as u16),
        _ => Err(format!(
            "{} is not a port: ports are whole numbers from 1 to 65535",
            value.shown()
        )),
    }
}

/// A published (host) port or range (`8080`, `"8000-8010"`); empty is none.
fn published_port(value: &Written) -> Result<Option<String>, String> {
    let text = match value {
        Written::Int(i) => i.to_string(),
        Written::Float(x) => go_float(*x),
        Written::Text(text) => text.to_string(),
    };
    if text.is_empty() {
        return Ok(None);
    }
    let port = |part: &str| {
        part.parse::<u16>()
            .ok()
            .filter(|p| *p > 0 && part.bytes().all(|b| b.is_ascii_digit()))
    };
    let valid = match text.split_once('-') {
        Some((start, end)) => matches!((port(start), port(end)), (Some(s), Some(e)) if s <= e),
        None => port(&text).is_some(),
    };
    if valid {
        Ok(Some(text))
    } else {
        Err(format!(
            "{} is not a host port: expected a port from 1 to 65535 or a range such as \
             8000-8010",
            value.shown()
        ))
    }
}

/// A network `priority` or `gw_priority`.
fn priority(value: Number, key: &str) -> Result<i32, String> {
    let written = match value {
        Number::Int(i) => Written::Int(i),
        Number::Float(x) => Written::Float(x),
    };
    let number = whole_number(&written, key, "100")?;
    i32::try_from(number).map_err(|_| format!("{key} {number} is out of range"))
}

fn command(command: raw::Command) -> Result<Vec<String>, String> {
    match command {
        raw::Command::String(text) => syntax::split_command(&text),
        raw::Command::List(args) => Ok(args),
    }
}

fn string_or_list(value: Option<StringOrList>) -> Vec<String> {
    match value {
        None => Vec::new(),
        Some(StringOrList::String(one)) => vec![one],
        Some(StringOrList::List(many)) => many,
    }
}

fn driver_opts(opts: Option<IndexMap<String, NumberOrString>>) -> BTreeMap<String, String> {
    opts.unwrap_or_default()
        .into_iter()
        .map(|(key, value)| (key, number_or_string_text(&value)))
        .collect()
}

fn number_or_string_text(value: &NumberOrString) -> String {
    match value {
        NumberOrString::Number(number) => number_text(*number),
        NumberOrString::String(text) => text.clone(),
    }
}

fn number_text(number: Number) -> String {
    match number {
        Number::Int(i) => i.to_string(),
        Number::Float(x) => go_float(x),
    }
}

/// A scalar as the text compose-go gives it (Go's `fmt.Sprint`): `true`, `1`, `1.5`.
fn scalar_text(value: &Scalar) -> String {
    match value {
        Scalar::Bool(b) => b.to_string(),
        Scalar::Number(number) => number_text(*number),
        Scalar::String(text) => text.clone(),
    }
}

/// A float as Go's `%v` prints it: the shortest digits that read back, in exponent form
/// when the exponent is below -4 or at least 6 (`1.5`, `2`, `1e+06`, `1e-05`).
fn go_float(x: f64) -> String {
    if x.is_nan() {
        return "NaN".into();
    }
    if x.is_infinite() {
        return if x > 0.0 { "+Inf" } else { "-Inf" }.into();
    }
    if x == 0.0 {
        return if x.is_sign_negative() { "-0" } else { "0" }.into();
    }
    let scientific = format!("{x:e}");
    let (mantissa, exponent) = scientific.split_once('e').unwrap_or((&scientific, "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    let (sign, mantissa) = match mantissa.strip_prefix('-') {
        Some(mantissa) => ("-", mantissa),
        None => ("", mantissa),
    };
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    if !(-4..6).contains(&exponent) {
        let (first, rest) = digits.split_at(1);
        let fraction = if rest.is_empty() {
            String::new()
        } else {
            format!(".{rest}")
        };
        let exponent_sign = if exponent < 0 { '-' } else { '+' };
        format!(
            "{sign}{first}{fraction}e{exponent_sign}{:02}",
            exponent.abs()
        )
    } else if exponent < 0 {
        let zeros = "0".repeat(exponent.unsigned_abs() as usize - 1);
        format!("{sign}0.{zeros}{digits}")
    } else {
        let point = exponent as usize + 1;
        if digits.len() <= point {
            format!("{sign}{digits}{}", "0".repeat(point - digits.len()))
        } else {
            format!("{sign}{}.{}", &digits[..point], &digits[point..])
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::de::from_node;
    use crate::spec::model::{
        BindOptions, DependsCondition, DeviceMapping, FileReference, PortConfig, RestartPolicy,
        ServiceNetwork, ServiceVolume, TmpfsOptions, Ulimit, VolumeOptions, VolumeType,
    };
    use crate::spec::schema::testing::yaml;
    use serde_json::json;
    use std::io;

    /// Normalizes `text` for project `demo` in `/app`, home `/home/me`, with the given
    /// variables and files (absolute path -> content).
    fn load(text: &str, vars: &[(&str, &str)], files: &[(&str, &str)]) -> (Project, Vec<String>) {
        let root = yaml(text);
        let raw: raw::RawProject = match from_node(&root, &KeyPath::root()) {
            Ok(raw) => raw,
            Err(d) => panic!("test document is not a raw project: {d}"),
        };
        let vars: BTreeMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let files: BTreeMap<PathBuf, String> = files
            .iter()
            .map(|(path, text)| (PathBuf::from(path), text.to_string()))
            .collect();
        let lookup = |key: &str| vars.get(key).cloned();
        let read_file = |path: &Path| {
            if path == Path::new("/app/locked.env") {
                return Err(io::Error::from(ErrorKind::PermissionDenied));
            }
            files
                .get(path)
                .cloned()
                .ok_or_else(|| io::Error::from(ErrorKind::NotFound))
        };
        let ctx = Context {
            project_name: "demo".into(),
            project_directory: PathBuf::from("/app"),
            home: Some(PathBuf::from("/home/me")),
            lookup: &lookup,
            read_file: &read_file,
        };
        let (project, diagnostics) = normalize(raw, &root, &ctx);
        (
            project,
            diagnostics.iter().map(ToString::to_string).collect(),
        )
    }

    /// Normalizes `text`, which must produce no diagnostics.
    fn clean(text: &str) -> Project {
        let (project, diagnostics) = load(text, &[], &[]);
        assert_eq!(diagnostics, Vec::<String>::new());
        project
    }

    /// The only service of `text`, which must produce no diagnostics.
    fn service(text: &str) -> model::Service {
        let project = clean(text);
        project.services.into_values().next().expect("one service")
    }

    /// The diagnostics of `text`.
    fn problems(text: &str) -> Vec<String> {
        load(text, &[], &[]).1
    }

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    fn map(entries: &[(&str, &str)]) -> BTreeMap<String, String> {
        entries
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn names_resources_after_the_project_unless_named_or_external() {
        let project = clean(
            "services:
  web:
    image: nginx
    networks: [front]
networks:
  front:
  back:
    name: shared-back
  outside:
    external: true
  outside2:
    external: \"true\"
    name: real
volumes:
  data:
  cache:
    external: true
  logs:
    name: app-logs
secrets:
  token:
    file: ./secrets/token.txt
  vault:
    external: true
configs:
  nginx:
    file: ~/nginx.conf
  inline:
    content: hello
  env:
    environment: CONFIG_VAR
",
        );
        let names = |networks: Vec<(&String, &String)>| -> Vec<(String, String)> {
            networks
                .into_iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        };
        assert_eq!(project.name, "demo");
        assert_eq!(
            names(project.networks.iter().map(|(k, n)| (k, &n.name)).collect()),
            vec![
                ("back".into(), "shared-back".into()),
                ("front".into(), "demo_front".into()),
                ("outside".into(), "outside".into()),
                ("outside2".into(), "real".into()),
            ]
        );
        assert!(project.networks["outside"].external);
        assert!(project.networks["outside2"].external);
        assert!(!project.networks["front"].external);
        assert_eq!(
            names(project.volumes.iter().map(|(k, v)| (k, &v.name)).collect()),
            vec![
                ("cache".into(), "cache".into()),
                ("data".into(), "demo_data".into()),
                ("logs".into(), "app-logs".into()),
            ]
        );
        assert_eq!(
            project.secrets["token"],
            model::Secret {
                name: "demo_token".into(),
                file: Some("/app/secrets/token.txt".into()),
                ..model::Secret::default()
            }
        );
        assert_eq!(
            project.secrets["vault"],
            model::Secret {
                name: "vault".into(),
                external: true,
                ..model::Secret::default()
            }
        );
        assert_eq!(
            project.configs["nginx"].file.as_deref(),
            Some("/home/me/nginx.conf")
        );
        assert_eq!(project.configs["inline"].content.as_deref(), Some("hello"));
        assert_eq!(
            project.configs["env"].environment.as_deref(),
            Some("CONFIG_VAR")
        );
        // Nothing uses `default`: it is not added.
        assert!(!project.networks.contains_key("default"));
    }

    #[test]
    fn adds_the_default_network_for_services_without_networks() {
        let project = clean(
            "services:
  web:
    image: nginx
  host:
    image: nginx
    network_mode: host
  api:
    image: api
    networks: {}
  back:
    image: db
    networks: [back]
networks:
  back:
",
        );
        let default = BTreeMap::from([("default".to_string(), None)]);
        assert_eq!(project.services["web"].networks, default);
        assert_eq!(project.services["api"].networks, default);
        assert_eq!(project.services["host"].networks, BTreeMap::new());
        assert_eq!(
            project.services["back"].networks,
            BTreeMap::from([("back".to_string(), None)])
        );
        assert_eq!(
            project.networks["default"],
            model::Network {
                name: "demo_default".into(),
                ..model::Network::default()
            }
        );
    }

    #[test]
    fn a_defined_default_network_keeps_its_definition() {
        let project = clean(
            "services:
  web:
    image: nginx
networks:
  default:
    name: my-net
    driver: bridge
    driver_opts:
      com.docker.network.bridge.name: br0
      mtu: 1400
    internal: \"true\"
    enable_ipv6: true
    labels: [a=b]
    ipam:
      driver: default
      config:
        - subnet: 172.30.0.0/16
          gateway: 172.30.0.1
          aux_addresses:
            host1: 172.30.0.5
      options:
        foo: bar
    x-note: kept
",
        );
        assert_eq!(
            project.networks["default"],
            model::Network {
                name: "my-net".into(),
                driver: Some("bridge".into()),
                driver_opts: map(&[("com.docker.network.bridge.name", "br0"), ("mtu", "1400")]),
                ipam: model::Ipam {
                    driver: Some("default".into()),
                    config: vec![model::IpamPool {
                        subnet: Some("172.30.0.0/16".into()),
                        gateway: Some("172.30.0.1".into()),
                        ip_range: None,
                        aux_addresses: map(&[("host1", "172.30.0.5")]),
                    }],
                    options: map(&[("foo", "bar")]),
                },
                internal: true,
                enable_ipv6: Some(true),
                labels: map(&[("a", "b")]),
                extensions: BTreeMap::from([("x-note".to_string(), json!("kept"))]),
                ..model::Network::default()
            }
        );
    }

    #[test]
    fn deprecated_external_name_becomes_the_name_and_conflicts_are_errors() {
        let (project, diagnostics) = load(
            "services: {}
networks:
  old:
    external:
      name: legacy
volumes:
  bad:
    name: one
    external:
      name: two
secrets:
  s:
    external:
      name: vault-s
",
            &[],
            &[],
        );
        assert_eq!(project.networks["old"].name, "legacy");
        assert!(project.networks["old"].external);
        assert_eq!(project.secrets["s"].name, "vault-s");
        assert_eq!(
            diagnostics,
            vec![
                "warning: networks.old.external.name: `external.name` is deprecated: set `name` \
                 and `external: true` instead",
                "volumes.bad.external.name: `external.name` (\"two\") and `name` (\"one\") \
                 conflict: keep only `name`, with `external: true`",
                "warning: secrets.s.external.name: `external.name` is deprecated: set `name` \
                 and `external: true` instead",
            ]
        );
    }

    #[test]
    fn a_local_bind_volume_device_is_resolved() {
        let project = clean(
            "services: {}
volumes:
  src:
    driver: local
    driver_opts:
      type: none
      o: bind
      device: ./src
  nfs:
    driver: local
    driver_opts:
      type: nfs
      o: addr=10.0.0.1
      device: :/export
",
        );
        assert_eq!(project.volumes["src"].driver_opts["device"], "/app/src");
        assert_eq!(project.volumes["nfs"].driver_opts["device"], ":/export");
    }

    #[test]
    fn resolves_paths_against_the_project_directory_and_home() {
        let web = service(
            "services:
  web:
    build: ./web/../frontend/
    volumes:
      - ./data:/data
      - ~/cache:/cache/
      - ~:/root-home
      - /abs/./x/../y:/y
      - named:/named
      - type: bind
        source: ../shared
        target: /shared
",
        );
        assert_eq!(
            web.build.map(|b| (b.context, b.dockerfile)),
            Some(("/app/frontend".to_string(), Some("Dockerfile".to_string())))
        );
        let mounts: Vec<(Option<String>, String)> = web
            .volumes
            .into_iter()
            .map(|v| (v.source, v.target))
            .collect();
        let some = |s: &str| Some(s.to_string());
        assert_eq!(
            mounts,
            vec![
                (some("/app/data"), "/data".to_string()),
                (some("/home/me/cache"), "/cache".to_string()),
                (some("/home/me"), "/root-home".to_string()),
                (some("/abs/y"), "/y".to_string()),
                (some("named"), "/named".to_string()),
                (some("/shared"), "/shared".to_string()),
            ]
        );
    }

    #[test]
    fn leaves_remote_build_contexts_alone() {
        let project = clean(
            "services:
  a:
    build: https://github.com/docker/rootfs.git#main
  b:
    build: git@github.com:docker/rootfs.git
  c:
    build:
      context: github.com/docker/rootfs
      additional_contexts:
        base: docker-image://alpine:3.20
        src: ./src
        other: service:base
",
        );
        let context = |name: &str| project.services[name].build.clone().unwrap_or_default();
        assert_eq!(
            context("a").context,
            "https://github.com/docker/rootfs.git#main"
        );
        assert_eq!(context("b").context, "git@github.com:docker/rootfs.git");
        assert_eq!(context("c").context, "github.com/docker/rootfs");
        assert_eq!(
            context("c").additional_contexts,
            map(&[
                ("base", "docker-image://alpine:3.20"),
                ("other", "service:base"),
                ("src", "/app/src")
            ])
        );
    }

    #[test]
    fn a_home_path_without_a_known_home_stays_relative() {
        let root = yaml("services:\n  web:\n    env_file: ~/x.env\n");
        let raw: raw::RawProject = from_node(&root, &KeyPath::root()).expect("raw");
        let lookup = |_: &str| None;
        let read_file = |_: &Path| Ok(String::new());
        let ctx = Context {
            project_name: "demo".into(),
            project_directory: PathBuf::from("/app"),
            home: None,
            lookup: &lookup,
            read_file: &read_file,
        };
        let (project, diagnostics) = normalize(raw, &root, &ctx);
        assert_eq!(diagnostics, vec![]);
        assert_eq!(project.services["web"].env_file[0].path, "/app/~/x.env");
    }

    #[test]
    fn environment_merges_env_files_under_environment() {
        let (project, diagnostics) = load(
            "services:
  web:
    env_file:
      - ./common.env
      - path: ./local.env
        required: false
      - path: ./missing.env
        required: \"false\"
    environment:
      FROM_ENV: $$literal
      OVERRIDDEN: by-environment
      FLAG: true
      RATIO: 1.5
      COUNT: 3
      WHOLE: 2.0
      BIG: 1000000.0
      FROM_SHELL:
      UNSET:
",
            &[("FROM_SHELL", "shell"), ("HOST", "db.local")],
            &[
                (
                    "/app/common.env",
                    "OVERRIDDEN=by-file\nURL=postgres://${HOST}/app\nSHARED=common\n",
                ),
                (
                    "/app/local.env",
                    "SHARED=local\nDERIVED=${SHARED}-${OVERRIDDEN}\n",
                ),
            ],
        );
        assert_eq!(diagnostics, Vec::<String>::new());
        let web = &project.services["web"];
        let some = |s: &str| Some(s.to_string());
        assert_eq!(
            web.environment,
            BTreeMap::from([
                ("BIG".to_string(), some("1e+06")),
                ("COUNT".to_string(), some("3")),
                // Earlier files override `environment` for interpolation (compose-go's order).
                ("DERIVED".to_string(), some("local-by-file")),
                ("FLAG".to_string(), some("true")),
                ("FROM_ENV".to_string(), some("$$literal")),
                ("FROM_SHELL".to_string(), some("shell")),
                ("OVERRIDDEN".to_string(), some("by-environment")),
                ("RATIO".to_string(), some("1.5")),
                ("SHARED".to_string(), some("local")),
                ("UNSET".to_string(), None),
                ("URL".to_string(), some("postgres://db.local/app")),
                ("WHOLE".to_string(), some("2")),
            ])
        );
        assert_eq!(
            web.env_file,
            vec![
                model::EnvFile {
                    path: "/app/common.env".into(),
                    required: true
                },
                model::EnvFile {
                    path: "/app/local.env".into(),
                    required: false
                },
                model::EnvFile {
                    path: "/app/missing.env".into(),
                    required: false
                },
            ]
        );
    }

    #[test]
    fn environment_list_entries_and_lookup() {
        let (project, diagnostics) = load(
            "services:
  web:
    env_file: ./.env.web
    environment:
      - A=1
      - B=x=y
      - EMPTY=
      - FROM_SHELL
      - FROM_FILE
      - NOWHERE
",
            &[("FROM_SHELL", "shell")],
            &[("/app/.env.web", "FROM_FILE=file\nNOWHERE=file\n")],
        );
        assert_eq!(diagnostics, Vec::<String>::new());
        let some = |s: &str| Some(s.to_string());
        // A bare name overrides the env file, even unset (compose-go's OverrideBy).
        assert_eq!(
            project.services["web"].environment,
            BTreeMap::from([
                ("A".to_string(), some("1")),
                ("B".to_string(), some("x=y")),
                ("EMPTY".to_string(), some("")),
                ("FROM_FILE".to_string(), None),
                ("FROM_SHELL".to_string(), some("shell")),
                ("NOWHERE".to_string(), None),
            ])
        );
    }

    #[test]
    fn raw_env_files_are_taken_literally() {
        let (project, diagnostics) = load(
            "services:
  web:
    env_file:
      - path: ./raw.env
        format: raw
",
            &[("HOME_DIR", "/root")],
            &[(
                "/app/raw.env",
                "# comment\n  QUOTED=\"x\" # not a comment\nREF=${HOME_DIR}\nHOME_DIR\nUNSET\n",
            )],
        );
        assert_eq!(diagnostics, Vec::<String>::new());
        assert_eq!(
            project.services["web"].environment,
            BTreeMap::from([
                ("HOME_DIR".to_string(), Some("/root".to_string())),
                (
                    "QUOTED".to_string(),
                    Some("\"x\" # not a comment".to_string())
                ),
                ("REF".to_string(), Some("${HOME_DIR}".to_string())),
            ])
        );
    }

    #[test]
    fn reports_env_file_problems_at_the_entry() {
        let (_, diagnostics) = load(
            "services:
  web:
    env_file:
      - ./missing.env
      - ./bad.env
      - path: ./x.env
        format: yaml
      - ./locked.env
      - path: ./also-missing.env
        required: maybe
  api:
    env_file: ./gone.env
    label_file: [./labels]
",
            &[],
            &[("/app/bad.env", "OK=1\nBAD KEY=1\n")],
        );
        assert_eq!(
            diagnostics,
            vec![
                "services.web.env_file[0]: env file /app/missing.env not found: create it, or \
                 mark the entry `required: false`",
                "services.web.env_file[1]: in env file /app/bad.env: /app/bad.env:2:1: \
                 invalid variable name \"BAD KEY\": a name cannot contain spaces",
                "services.web.env_file[2].format: unknown env_file format \"yaml\": expected \
                 dotenv or raw",
                "services.web.env_file[3]: cannot read env file /app/locked.env: permission \
                 denied",
                "services.web.env_file[4].required: expected true or false, found \"maybe\"",
                "services.web.env_file[4]: env file /app/also-missing.env not found: create \
                 it, or mark the entry `required: false`",
                "services.api.env_file: env file /app/gone.env not found: create it, or mark \
                 the entry `required: false`",
                "services.api.label_file[0]: label file /app/labels not found",
            ]
        );
    }

    #[test]
    fn label_files_are_read_under_labels() {
        let (project, diagnostics) = load(
            "services:
  web:
    label_file:
      - ./base.labels
      - ./more.labels
    labels:
      tier: web-explicit
      empty:
",
            &[("IGNORED", "shell")],
            &[
                ("/app/base.labels", "tier=web\nteam=core\n"),
                ("/app/more.labels", "owner=${team}-${IGNORED}\n"),
            ],
        );
        assert_eq!(diagnostics, Vec::<String>::new());
        assert_eq!(
            project.services["web"].labels,
            map(&[
                ("empty", ""),
                ("owner", "core-"),
                ("team", "core"),
                ("tier", "web-explicit")
            ])
        );
    }

    #[test]
    fn commands_are_split_and_lists_kept() {
        let project = clean(
            "services:
  a:
    command: sh -c 'echo \"hi there\"'
    entrypoint: [\"/bin/init\", \"--\"]
  b:
    command: \"\"
    entrypoint: null
  c:
    command: [\"a b\"]
",
        );
        assert_eq!(
            project.services["a"].command,
            Some(strings(&["sh", "-c", "echo \"hi there\""]))
        );
        assert_eq!(
            project.services["a"].entrypoint,
            Some(strings(&["/bin/init", "--"]))
        );
        assert_eq!(project.services["b"].command, Some(vec![]));
        assert_eq!(project.services["b"].entrypoint, None);
        assert_eq!(project.services["c"].command, Some(strings(&["a b"])));
        assert_eq!(
            problems("services:\n  a:\n    command: echo 'open\n"),
            vec![
                "services.a.command: \"echo 'open\" has an unclosed quote or ends with a \
                 backslash: close it, or write the command as a list"
            ]
        );
    }

    #[test]
    fn healthchecks_take_the_long_form() {
        let project = clean(
            "services:
  a:
    healthcheck:
      test: curl -f http://localhost/
      interval: 1m30s
      timeout: \"10s\"
      retries: \"5\"
      start_period: 0
      start_interval: 500ms
  b:
    healthcheck:
      test: [\"NONE\"]
  c:
    healthcheck:
      disable: \"true\"
",
        );
        assert_eq!(
            project.services["a"].healthcheck,
            Some(model::Healthcheck {
                test: strings(&["CMD-SHELL", "curl -f http://localhost/"]),
                interval: Duration::parse("90s").ok(),
                timeout: Duration::from_secs(10),
                retries: Some(5),
                start_period: Some(Duration::ZERO),
                start_interval: Duration::parse("500ms").ok(),
                disable: false,
            })
        );
        assert_eq!(
            project.services["b"].healthcheck,
            Some(model::Healthcheck {
                test: strings(&["NONE"]),
                disable: true,
                ..model::Healthcheck::default()
            })
        );
        assert_eq!(
            project.services["c"].healthcheck,
            Some(model::Healthcheck {
                disable: true,
                ..model::Healthcheck::default()
            })
        );
        assert_eq!(
            problems("services:\n  a:\n    healthcheck:\n      interval: 1x\n      retries: -1\n"),
            vec![
                "services.a.healthcheck.interval: \"1x\" is not a duration: use a number and a \
                 unit (ns, us, ms, s, m, h), e.g. 1m30s",
                "services.a.healthcheck.retries: retries must be 0 or more, found -1",
            ]
        );
    }

    fn port(published: Option<&str>, target: u16) -> PortConfig {
        PortConfig {
            published: published.map(str::to_string),
            target,
            ..PortConfig::default()
        }
    }

    #[test]
    fn ports_take_the_long_form() {
        let web = service(
            "services:
  web:
    ports:
      - 3000
      - \"8080:80\"
      - 9000-9001:9000-9001
      - target: 443
        published: \"8443\"
        host_ip: 127.0.0.1
        protocol: UDP
        mode: host
        app_protocol: https
        name: tls
      - target: \"53\"
        published: 5353
      - target: 7000
        published: 7000-7010
",
        );
        assert_eq!(
            web.ports,
            vec![
                port(None, 3000),
                port(Some("8080"), 80),
                port(Some("9000"), 9000),
                port(Some("9001"), 9001),
                PortConfig {
                    name: Some("tls".into()),
                    mode: "host".into(),
                    host_ip: Some("127.0.0.1".into()),
                    target: 443,
                    published: Some("8443".into()),
                    protocol: "udp".into(),
                    app_protocol: Some("https".into()),
                },
                port(Some("5353"), 53),
                port(Some("7000-7010"), 7000),
            ]
        );
    }

    #[test]
    fn reports_every_bad_port() {
        assert_eq!(
            problems(
                "services:
  web:
    ports:
      - 80
      - \"70000:80\"
      - published: 8080
      - target: 0
        published: \"90-80\"
        host_ip: localhost
        protocol: icmp
        mode: swarm
      - 1.5
"
            ),
            vec![
                "services.web.ports[1]: \"70000\" in \"70000:80\" is not a port: ports are \
                 numbers from 1 to 65535",
                "services.web.ports[2]: a port in the long syntax needs `target`, the port in \
                 the container",
                "services.web.ports[3].target: 0 is not a port: ports are whole numbers from 1 \
                 to 65535",
                "services.web.ports[3].published: \"90-80\" is not a host port: expected a port \
                 from 1 to 65535 or a range such as 8000-8010",
                "services.web.ports[3].host_ip: \"localhost\" is not an IP address, e.g. \
                 127.0.0.1",
                "services.web.ports[3].protocol: unknown protocol \"icmp\": expected tcp, udp or \
                 sctp",
                "services.web.ports[3].mode: unknown port mode \"swarm\": expected ingress or \
                 host",
                "services.web.ports[4]: 1.5 is not a port: ports are whole numbers from 1 to \
                 65535",
            ]
        );
    }

    #[test]
    fn volumes_take_the_long_form() {
        let web = service(
            "services:
  web:
    volumes:
      - data:/var/lib/data:ro,nocopy
      - /run/docker.sock:/var/run/docker.sock
      - /anonymous
      - type: bind
        source: ./conf
        target: /etc/conf
        read_only: \"true\"
      - type: bind
        source: ./src
        target: /src
        bind:
          propagation: rshared
          selinux: Z
          recursive: readonly
      - type: bind
        source: ./optional
        target: /optional
        bind:
          create_host_path: false
      - type: volume
        source: data
        target: /sub
        volume:
          nocopy: true
          subpath: app
          labels: [backup=daily]
      - type: tmpfs
        target: /tmp
        tmpfs:
          size: 64m
          mode: \"1777\"
      - type: image
        source: alpine:3.20
        target: /image
        image:
          subpath: /etc
",
        );
        let bind = |source: &str, target: &str, bind: Option<BindOptions>| ServiceVolume {
            type_: VolumeType::Bind,
            source: Some(source.into()),
            target: target.into(),
            bind,
            ..ServiceVolume::default()
        };
        assert_eq!(
            web.volumes,
            vec![
                ServiceVolume {
                    source: Some("data".into()),
                    target: "/var/lib/data".into(),
                    read_only: true,
                    volume: Some(VolumeOptions {
                        nocopy: true,
                        ..VolumeOptions::default()
                    }),
                    ..ServiceVolume::default()
                },
                bind(
                    "/run/docker.sock",
                    "/var/run/docker.sock",
                    Some(BindOptions {
                        create_host_path: Some(true),
                        ..BindOptions::default()
                    })
                ),
                ServiceVolume {
                    target: "/anonymous".into(),
                    volume: Some(VolumeOptions::default()),
                    ..ServiceVolume::default()
                },
                ServiceVolume {
                    read_only: true,
                    ..bind("/app/conf", "/etc/conf", None)
                },
                bind(
                    "/app/src",
                    "/src",
                    Some(BindOptions {
                        propagation: Some("rshared".into()),
                        create_host_path: Some(true),
                        selinux: Some("Z".into()),
                        recursive: Some("readonly".into()),
                    })
                ),
                bind(
                    "/app/optional",
                    "/optional",
                    Some(BindOptions {
                        create_host_path: Some(false),
                        ..BindOptions::default()
                    })
                ),
                ServiceVolume {
                    source: Some("data".into()),
                    target: "/sub".into(),
                    volume: Some(VolumeOptions {
                        labels: map(&[("backup", "daily")]),
                        nocopy: true,
                        subpath: Some("app".into()),
                    }),
                    ..ServiceVolume::default()
                },
                ServiceVolume {
                    type_: VolumeType::Tmpfs,
                    target: "/tmp".into(),
                    tmpfs: Some(TmpfsOptions {
                        size: Some(ByteSize(64 << 20)),
                        mode: Some(0o1777),
                    }),
                    ..ServiceVolume::default()
                },
                ServiceVolume {
                    type_: VolumeType::Image,
                    source: Some("alpine:3.20".into()),
                    target: "/image".into(),
                    image: Some(model::ImageOptions {
                        subpath: Some("/etc".into())
                    }),
                    ..ServiceVolume::default()
                },
            ]
        );
    }

    #[test]
    fn reports_every_bad_volume() {
        assert_eq!(
            problems(
                "services:
  web:
    volumes:
      - data:/data:rx
      - type: bind
        target: /x
      - type: volume
        source: data
      - type: tmpfs
        source: /host
        target: /t
        tmpfs:
          size: -1
          mode: \"999\"
      - type: bind
        source: /a
        target: /b
        bind:
          propagation: sideways
"
            ),
            vec![
                "services.web.volumes[0]: unknown option \"rx\" in \"data:/data:rx\": expected \
                 ro, rw, nocopy, z, Z, a propagation (rprivate, private, rshared, shared, \
                 rslave, slave) or a consistency (consistent, cached, delegated)",
                "services.web.volumes[1]: a bind mount needs `source`, the path on the host",
                "services.web.volumes[2]: a mount needs `target`, the path in the container",
                "services.web.volumes[3].source: a tmpfs mount has no source: remove `source`",
                "services.web.volumes[3].tmpfs.size: size must be a size such as 256m or a \
                 whole number of bytes, found -1",
                "services.web.volumes[3].tmpfs.mode: \"999\" is not a file mode: expected octal \
                 digits, e.g. \"0440\"",
                "services.web.volumes[4].bind.propagation: unknown propagation \"sideways\": \
                 expected one of rprivate, private, rshared, shared, rslave, slave",
            ]
        );
    }

    #[test]
    fn maps_lists_and_scalars_take_one_form() {
        let web = service(
            "services:
  web:
    devices:
      - /dev/fuse
      - /dev/ttyUSB0:/dev/ttyS0:r
      - source: /dev/sda
      - source: /dev/sdb
        target: /dev/xvdb
        permissions: rw
    ulimits:
      nproc: 65535
      core: \"-1\"
      nofile:
        soft: \"20000\"
        hard: 40000
    sysctls:
      - net.core.somaxconn=1024
    labels:
      - com.example.tier=web
      - bare
    annotations:
      com.example.count: 3
    extra_hosts:
      - somehost=162.242.195.82
      - otherhost:50.31.209.229
      - somehost=::1
    dns: 8.8.8.8
    dns_search: [example.com]
    dns_opt: [use-vc]
    tmpfs: /run
    expose: [3000, \"8000-8010/udp\"]
    group_add: [mail, 1001]
    cap_add: [NET_ADMIN]
    cap_drop: [ALL]
    security_opt: [no-new-privileges:true]
    logging:
      driver: json-file
      options:
        max-size: 10m
        max-file: 3
        compress:
",
        );
        assert_eq!(
            web.devices,
            vec![
                DeviceMapping {
                    source: "/dev/fuse".into(),
                    target: "/dev/fuse".into(),
                    permissions: "rwm".into(),
                },
                DeviceMapping {
                    source: "/dev/ttyUSB0".into(),
                    target: "/dev/ttyS0".into(),
                    permissions: "r".into(),
                },
                DeviceMapping {
                    source: "/dev/sda".into(),
                    target: "/dev/sda".into(),
                    permissions: "rwm".into(),
                },
                DeviceMapping {
                    source: "/dev/sdb".into(),
                    target: "/dev/xvdb".into(),
                    permissions: "rw".into(),
                },
            ]
        );
        assert_eq!(
            web.ulimits,
            BTreeMap::from([
                ("core".to_string(), Ulimit::Single(-1)),
                (
                    "nofile".to_string(),
                    Ulimit::SoftHard {
                        soft: 20000,
                        hard: 40000
                    }
                ),
                ("nproc".to_string(), Ulimit::Single(65535)),
            ])
        );
        assert_eq!(web.sysctls, map(&[("net.core.somaxconn", "1024")]));
        assert_eq!(
            web.labels,
            map(&[("bare", ""), ("com.example.tier", "web")])
        );
        assert_eq!(web.annotations, map(&[("com.example.count", "3")]));
        assert_eq!(
            web.extra_hosts,
            BTreeMap::from([
                ("otherhost".to_string(), strings(&["50.31.209.229"])),
                ("somehost".to_string(), strings(&["162.242.195.82", "::1"])),
            ])
        );
        assert_eq!(web.dns, strings(&["8.8.8.8"]));
        assert_eq!(web.dns_search, strings(&["example.com"]));
        assert_eq!(web.dns_opt, strings(&["use-vc"]));
        assert_eq!(web.tmpfs, strings(&["/run"]));
        assert_eq!(web.expose, strings(&["3000", "8000-8010/udp"]));
        assert_eq!(web.group_add, strings(&["mail", "1001"]));
        assert_eq!(web.cap_add, strings(&["NET_ADMIN"]));
        assert_eq!(web.cap_drop, strings(&["ALL"]));
        assert_eq!(web.security_opt, strings(&["no-new-privileges:true"]));
        assert_eq!(
            web.logging,
            Some(model::Logging {
                driver: Some("json-file".into()),
                options: map(&[("compress", ""), ("max-file", "3"), ("max-size", "10m")]),
            })
        );
    }

    #[test]
    fn extra_hosts_as_a_map() {
        let web = service(
            "services:
  web:
    extra_hosts:
      dual: [\"10.0.0.7\", \"[::1]\"]
      gw: host-gateway
",
        );
        assert_eq!(
            web.extra_hosts,
            BTreeMap::from([
                ("dual".to_string(), strings(&["10.0.0.7", "::1"])),
                ("gw".to_string(), strings(&["host-gateway"])),
            ])
        );
    }

    #[test]
    fn reports_bad_entries_of_lists_and_maps() {
        assert_eq!(
            problems(
                "services:
  web:
    devices: [\"/dev/a:/dev/b:rx\", {source: /dev/c, permissions: rr}]
    ulimits:
      nofile: {soft: 50, hard: 10}
      nproc: lots
      core: {soft: 1, hard: \"x\"}
    sysctls: [\"=1\"]
    environment: [\"=x\"]
    extra_hosts: [nohost]
    expose: [\"80:80\", abc]
    cpuset: 0-2,x
"
            ),
            vec![
                "services.web.environment[0]: \"=x\" has no variable name: expected NAME=VALUE \
                 or NAME, e.g. DEBUG=1",
                "services.web.cpuset: \"x\" in cpuset \"0-2,x\" is not a CPU number: expected \
                 CPU numbers and ranges separated by commas, e.g. 0-2,4",
                "services.web.devices[0]: permissions \"rx\" in \"/dev/a:/dev/b:rx\" must be \
                 made of r, w and m (each at most once), e.g. rwm",
                "services.web.devices[1].permissions: permissions \"rr\" must be made of r, w \
                 and m (each at most once), e.g. rwm",
                "services.web.expose[0]: \"80:80\" is not a port to expose: expected \
                 PORT[-PORT][/PROTOCOL], e.g. 3000 or 8000-8010/udp",
                "services.web.expose[1]: \"abc\" is not a port to expose: expected \
                 PORT[-PORT][/PROTOCOL], e.g. 3000 or 8000-8010/udp",
                "services.web.extra_hosts[0]: \"nohost\" has no IP address: expected HOST=IP or \
                 HOST:IP, e.g. myhost=10.0.0.5",
                "services.web.sysctls[0]: \"=1\" has no key: expected KEY=VALUE or KEY, e.g. \
                 com.example.tier=web",
                "services.web.ulimits.nofile.soft: the soft limit 50 is above the hard limit 10",
                "services.web.ulimits.nproc: \"lots\" is not a limit: expected a whole number \
                 (-1 for unlimited), e.g. 65535",
                "services.web.ulimits.core.hard: hard must be a whole number, e.g. 65535; found \
                 \"x\"",
            ]
        );
    }

    #[test]
    fn depends_on_takes_the_long_form_and_gains_inferred_services() {
        let project = clean(
            "services:
  a:
    image: x
    depends_on: [db]
  b:
    image: x
    depends_on:
      db:
        condition: service_healthy
        restart: \"true\"
      cache:
        condition: service_completed_successfully
        required: false
    links: [\"db:database\", logs]
    network_mode: service:vpn
    ipc: service:shm
    pid: host
    volumes_from: [\"store:ro\", \"container:legacy\"]
  c:
    image: x
    links: [undefined]
  db: {image: x}
  logs: {image: x}
  vpn: {image: x}
  shm: {image: x}
  store: {image: x}
",
        );
        // Only services of the project are inferred; `undefined` is left to validation.
        assert_eq!(project.services["c"].depends_on, BTreeMap::new());
        assert_eq!(
            project.services["a"].depends_on,
            BTreeMap::from([("db".to_string(), model::DependsOn::default())])
        );
        let started = |restart| model::DependsOn {
            restart,
            ..model::DependsOn::default()
        };
        assert_eq!(
            project.services["b"].depends_on,
            BTreeMap::from([
                (
                    "cache".to_string(),
                    model::DependsOn {
                        condition: DependsCondition::ServiceCompletedSuccessfully,
                        restart: false,
                        required: false,
                    }
                ),
                (
                    "db".to_string(),
                    model::DependsOn {
                        condition: DependsCondition::ServiceHealthy,
                        restart: true,
                        required: true,
                    }
                ),
                ("logs".to_string(), started(true)),
                ("shm".to_string(), started(true)),
                ("store".to_string(), started(false)),
                ("vpn".to_string(), started(true)),
            ])
        );
        // network_mode: no default network.
        assert_eq!(project.services["b"].networks, BTreeMap::new());
    }

    #[test]
    fn secret_and_config_references_take_the_long_form() {
        let web = service(
            "services:
  web:
    secrets:
      - token
      - source: cert
        target: /etc/ssl/cert.pem
        uid: \"103\"
        gid: \"103\"
        mode: \"0440\"
      - source: key
        mode: 256
    configs:
      - nginx
      - source: site
        target: /etc/nginx/site.conf
",
        );
        assert_eq!(
            web.secrets,
            vec![
                FileReference {
                    source: "token".into(),
                    target: Some("/run/secrets/token".into()),
                    ..FileReference::default()
                },
                FileReference {
                    source: "cert".into(),
                    target: Some("/etc/ssl/cert.pem".into()),
                    uid: Some("103".into()),
                    gid: Some("103".into()),
                    mode: Some(0o440),
                },
                FileReference {
                    source: "key".into(),
                    target: Some("/run/secrets/key".into()),
                    mode: Some(0o400),
                    ..FileReference::default()
                },
            ]
        );
        assert_eq!(
            web.configs,
            vec![
                FileReference {
                    source: "nginx".into(),
                    ..FileReference::default()
                },
                FileReference {
                    source: "site".into(),
                    target: Some("/etc/nginx/site.conf".into()),
                    ..FileReference::default()
                },
            ]
        );
        assert_eq!(
            problems("services:\n  web:\n    secrets:\n      - target: /x\n        mode: 1.5\n"),
            vec![
                "services.web.secrets[0].mode: 1.5 is not a file mode: expected octal digits, \
                 e.g. \"0440\"",
                "services.web.secrets[0]: a secret reference needs `source`, its name",
            ]
        );
    }

    #[test]
    fn numbers_sizes_durations_and_policies_are_parsed() {
        let web = service(
            "services:
  web:
    restart: on-failure:3
    stop_signal: quit
    stop_grace_period: 1m
    mem_limit: 512m
    memswap_limit: -1
    shm_size: 67108864
    cpus: \"1.5\"
    cpu_shares: \"512\"
    pids_limit: 100
    cpuset: 0-2,4
    scale: \"2\"
    init: true
    privileged: \"yes\"
    read_only: \"false\"
    tty: true
    stdin_open: \"True\"
    pull_policy: if_not_present
",
        );
        assert_eq!(
            web.restart,
            Some(RestartPolicy::OnFailure {
                max_retries: Some(3)
            })
        );
        assert_eq!(web.stop_signal.map(model::Signal::number), Some(3));
        assert_eq!(web.stop_grace_period, Duration::from_secs(60));
        assert_eq!(web.mem_limit, Some(ByteSize(512 << 20)));
        assert_eq!(web.memswap_limit, Some(SwapLimit::Unlimited));
        assert_eq!(web.shm_size, Some(ByteSize(64 << 20)));
        assert_eq!(web.cpus, Some(1.5));
        assert_eq!(web.cpu_shares, Some(512));
        assert_eq!(web.pids_limit, Some(100));
        assert_eq!(web.cpuset.as_deref(), Some("0-2,4"));
        assert_eq!(web.scale, Some(2));
        assert_eq!(web.replicas(), 2);
        assert_eq!(web.init, Some(true));
        assert!(web.privileged);
        assert!(!web.read_only);
        assert!(web.tty);
        assert!(web.stdin_open);
        assert_eq!(web.pull_policy.as_deref(), Some("missing"));
    }

    #[test]
    fn reports_every_bad_number_and_keyword() {
        assert_eq!(
            problems(
                "services:
  web:
    restart: sometimes
    stop_signal: SIGFOO
    stop_grace_period: soon
    mem_limit: 1x
    memswap_limit: -2
    shm_size: 1.5
    cpus: 0
    cpu_shares: lots
    pids_limit: 1.5
    scale: -1
    init: maybe
    tty: \"1\"
    deploy:
      replicas: \"-3\"
"
            ),
            vec![
                "services.web.cpus: cpus must be more than 0, found 0",
                "services.web.cpu_shares: cpu_shares must be a whole number, e.g. 512; found \
                 \"lots\"",
                "services.web.deploy.replicas: replicas must be 0 or more, found -3",
                "services.web.init: expected true or false, found \"maybe\"",
                "services.web.mem_limit: \"1x\" is not a size: use a number and an optional \
                 unit (b, k, m, g, t, p; multiples of 1024), e.g. 256m",
                "services.web.memswap_limit: memswap_limit must be a size such as 256m or a \
                 whole number of bytes, found -2",
                "services.web.pids_limit: pids_limit must be a whole number, e.g. 100; found 1.5",
                "services.web.restart: unknown restart policy \"sometimes\": expected no, \
                 always, on-failure[:MAX_RETRIES] or unless-stopped",
                "services.web.scale: scale must be 0 or more, found -1",
                "services.web.shm_size: shm_size must be a size such as 256m or a whole number \
                 of bytes, found 1.5",
                "services.web.stop_grace_period: \"soon\" is not a duration: use a number and a \
                 unit (ns, us, ms, s, m, h), e.g. 1m30s",
                "services.web.stop_signal: unknown signal \"SIGFOO\": expected a name such as \
                 SIGTERM, SIGINT or SIGUSR1, or a number from 1 to 31 or 34 to 64",
                "services.web.tty: expected true or false, found \"1\"",
            ]
        );
    }

    #[test]
    fn build_takes_the_long_form() {
        let text = "services:
  web:
    build:
      context: ./web
      dockerfile: docker/Dockerfile.prod
      args:
        VERSION: 1.2
        FROM_SHELL:
        UNSET:
      labels: [com.example.built=yes]
      cache_from: [\"type=local,src=/tmp/cache\"]
      network: host
      target: prod
      shm_size: 2g
      tags: [\"web:latest\"]
  api:
    build:
      dockerfile_inline: FROM alpine
      args: [A=1, FROM_SHELL, UNSET]
";
        // The raw model cannot read `x-*` keys inside `build` yet (an untagged enum of a
        // struct that denies unknown fields); normalize takes them from the tree.
        let raw: raw::RawProject = from_node(&yaml(text), &KeyPath::root()).expect("raw");
        let root = yaml(&text.replace("      tags:", "      x-builder: fast\n      tags:"));
        let lookup = |key: &str| (key == "FROM_SHELL").then(|| "shell".to_string());
        let read_file = |_: &Path| Err(io::Error::from(ErrorKind::NotFound));
        let ctx = Context {
            project_name: "demo".into(),
            project_directory: PathBuf::from("/app"),
            home: None,
            lookup: &lookup,
            read_file: &read_file,
        };
        let (project, diagnostics) = normalize(raw, &root, &ctx);
        assert_eq!(
            diagnostics
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>(),
            vec![
                "warning: services.web.build.tags: `build.tags` is read but not supported by \
                 rcompose yet; it is ignored"
            ]
        );
        let some = |s: &str| Some(s.to_string());
        assert_eq!(
            project.services["web"].build,
            Some(model::BuildConfig {
                context: "/app/web".into(),
                dockerfile: some("docker/Dockerfile.prod"),
                args: BTreeMap::from([
                    ("FROM_SHELL".to_string(), some("shell")),
                    ("VERSION".to_string(), some("1.2")),
                ]),
                labels: map(&[("com.example.built", "yes")]),
                cache_from: strings(&["type=local,src=/tmp/cache"]),
                network: some("host"),
                target: some("prod"),
                shm_size: Some(ByteSize(2 << 30)),
                unsupported: BTreeMap::from([
                    ("tags".to_string(), json!(["web:latest"])),
                    ("x-builder".to_string(), json!("fast")),
                ]),
                ..model::BuildConfig::default()
            })
        );
        assert_eq!(
            project.services["api"].build,
            Some(model::BuildConfig {
                context: "/app".into(),
                dockerfile_inline: some("FROM alpine"),
                args: BTreeMap::from([
                    ("A".to_string(), some("1")),
                    ("FROM_SHELL".to_string(), some("shell")),
                ]),
                ..model::BuildConfig::default()
            })
        );
    }

    #[test]
    fn deploy_keeps_what_one_host_honours_and_warns_about_swarm() {
        let (project, diagnostics) = load(
            "services:
  web:
    image: x
    deploy:
      mode: replicated
      replicas: 3
      endpoint_mode: vip
      labels: {tier: web}
      placement:
        constraints: [node.role==manager]
      update_config:
        parallelism: 2
        delay: 10s
      resources:
        limits:
          cpus: \"0.5\"
          memory: 512m
          pids: 100
        reservations:
          cpus: 0.25
          memory: 128m
          devices:
            - capabilities: [gpu]
      restart_policy:
        condition: on-failure
        delay: 5s
        max_attempts: \"3\"
        window: 2m
      x-autoscale: false
",
            &[],
            &[],
        );
        assert_eq!(
            diagnostics,
            vec![
                "warning: services.web.deploy.endpoint_mode: `deploy.endpoint_mode` only \
                 applies to swarm; it is ignored",
                "warning: services.web.deploy.labels: `deploy.labels` only applies to swarm; it \
                 is ignored",
                "warning: services.web.deploy.placement: `deploy.placement` only applies to \
                 swarm; it is ignored",
                "warning: services.web.deploy.update_config: `deploy.update_config` only \
                 applies to swarm; it is ignored",
                "warning: services.web.deploy.resources.reservations.devices: \
                 `deploy.resources.reservations.devices` is read but not supported by rcompose \
                 yet; it is ignored",
            ]
        );
        assert_eq!(
            project.services["web"].deploy,
            Some(model::Deploy {
                mode: Some("replicated".into()),
                replicas: Some(3),
                labels: map(&[("tier", "web")]),
                update_config: Some(json!({"parallelism": 2, "delay": "10s"})),
                rollback_config: None,
                resources: model::Resources {
                    limits: Some(model::Resource {
                        cpus: Some(0.5),
                        memory: Some(ByteSize(512 << 20)),
                        pids: Some(100),
                        ..model::Resource::default()
                    }),
                    reservations: Some(model::Resource {
                        cpus: Some(0.25),
                        memory: Some(ByteSize(128 << 20)),
                        devices: Some(json!([{"capabilities": ["gpu"]}])),
                        ..model::Resource::default()
                    }),
                },
                restart_policy: Some(model::DeployRestartPolicy {
                    condition: Some("on-failure".into()),
                    delay: Duration::from_secs(5),
                    max_attempts: Some(3),
                    window: Duration::from_secs(120),
                }),
                placement: Some(json!({"constraints": ["node.role==manager"]})),
                endpoint_mode: Some("vip".into()),
                extensions: BTreeMap::from([("x-autoscale".to_string(), json!(false))]),
            })
        );
        assert_eq!(
            problems(
                "services:\n  web:\n    deploy:\n      restart_policy:\n        condition: \
                 always\n"
            ),
            vec![
                "services.web.deploy.restart_policy.condition: unknown restart condition \
                 \"always\": expected none, on-failure or any"
            ]
        );
    }

    #[test]
    fn service_networks_take_the_map_form() {
        let web = service(
            "services:
  web:
    networks:
      front:
        aliases: [www]
        ipv4_address: 172.28.0.10
        ipv6_address: 2001:db8::10
        priority: 100
        gw_priority: 1
        mac_address: 02:42:ac:11:00:02
        link_local_ips: [169.254.0.5]
        interface_name: eth1
        driver_opts:
          mtu: 1400
      back:
networks:
  front:
  back:
",
        );
        assert_eq!(
            web.networks,
            BTreeMap::from([
                ("back".to_string(), None),
                (
                    "front".to_string(),
                    Some(ServiceNetwork {
                        aliases: strings(&["www"]),
                        driver_opts: map(&[("mtu", "1400")]),
                        gw_priority: Some(1),
                        interface_name: Some("eth1".into()),
                        ipv4_address: Some("172.28.0.10".into()),
                        ipv6_address: Some("2001:db8::10".into()),
                        link_local_ips: strings(&["169.254.0.5"]),
                        mac_address: Some("02:42:ac:11:00:02".into()),
                        priority: Some(100),
                    })
                ),
            ])
        );
    }

    #[test]
    fn keeps_unsupported_keys_and_extensions_as_written() {
        let (project, diagnostics) = load(
            "x-common: &common
  restart: always
services:
  web:
    image: nginx
    blkio_config:
      weight: 300
    gpus: all
    extends: base
    x-team: web
secrets:
  s:
    environment: TOKEN
    template_driver: golang
volumes:
  data:
    x-backup: true
models:
  llm:
    model: ai/smollm2
",
            &[],
            &[],
        );
        assert_eq!(
            diagnostics,
            vec![
                "warning: models: `models` is read but not supported by rcompose yet; it is \
                 ignored",
                "warning: services.web.blkio_config: `blkio_config` is read but not supported \
                 by rcompose yet; it is ignored",
                "warning: services.web.gpus: `gpus` is read but not supported by rcompose yet; \
                 it is ignored",
                "warning: secrets.s.template_driver: `template_driver` is read but not \
                 supported by rcompose yet; it is ignored",
            ]
        );
        let web = &project.services["web"];
        assert_eq!(
            web.unsupported,
            BTreeMap::from([
                ("blkio_config".to_string(), json!({"weight": 300})),
                ("gpus".to_string(), json!("all")),
            ])
        );
        assert_eq!(
            web.extensions,
            BTreeMap::from([("x-team".to_string(), json!("web"))])
        );
        assert_eq!(
            project.extensions,
            BTreeMap::from([("x-common".to_string(), json!({"restart": "always"}))])
        );
        assert_eq!(
            project.volumes["data"].extensions,
            BTreeMap::from([("x-backup".to_string(), json!(true))])
        );
    }

    #[test]
    fn formats_floats_as_go_does() {
        let cases = [
            (1.5, "1.5"),
            (2.0, "2"),
            (-0.25, "-0.25"),
            (123456.0, "123456"),
            (1e6, "1e+06"),
            (1234567.0, "1.234567e+06"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (1e21, "1e+21"),
            (-1.5e-7, "-1.5e-07"),
            (0.0, "0"),
            (f64::INFINITY, "+Inf"),
        ];
        for (x, text) in cases {
            assert_eq!(go_float(x), text, "{x}");
        }
    }

    #[test]
    fn reads_booleans_as_compose_go_does() {
        for (text, value) in [("true", true), ("On", true), ("y", true), ("NO", false)] {
            assert_eq!(boolean_text(text), Ok(value), "{text}");
        }
        assert_eq!(
            boolean_text("1"),
            Err("expected true or false, found \"1\"".to_string())
        );
    }

    /// A realistic application: what `rcompose config` prints for it.
    const APP: &str = r#"name: ignored-by-context
x-logging: &logging
  driver: json-file
  options:
    max-size: 10m
services:
  web:
    build:
      context: ./web
      args:
        NODE_ENV: production
    ports:
      - "8080:80"
    depends_on:
      api:
        condition: service_healthy
    environment:
      API_URL: http://api:3000
    networks: [front]
    logging: *logging
    restart: unless-stopped
  api:
    image: example/api:1.4
    command: node server.js --port 3000
    env_file: ./api.env
    environment:
      - DB_HOST=db
      - DB_PASSWORD
    expose: [3000]
    healthcheck:
      test: wget -qO- http://localhost:3000/health || exit 1
      interval: 10s
      retries: 5
    depends_on: [db]
    networks:
      front:
        aliases: [backend]
      back:
    deploy:
      replicas: 2
      resources:
        limits:
          memory: 256m
  db:
    image: postgres:16
    volumes:
      - db-data:/var/lib/postgresql/data
      - ./init:/docker-entrypoint-initdb.d:ro
    secrets: [db_password]
    stop_grace_period: 1m30s
    shm_size: 128m
    x-backup: nightly
networks:
  front:
  back:
    internal: true
volumes:
  db-data:
secrets:
  db_password:
    file: ./secrets/db_password.txt
"#;

    const APP_CONFIG: &str = "\
name: shop
services:
  api:
    command:
    - node
    - server.js
    - --port
    - '3000'
    depends_on:
      db:
        condition: service_started
        required: true
    deploy:
      replicas: 2
      resources:
        limits:
          memory: '268435456'
    environment:
      DB_HOST: db
      DB_PASSWORD: s3cret
      LOG_LEVEL: info
    env_file:
    - /srv/shop/api.env
    expose:
    - '3000'
    healthcheck:
      test:
      - CMD-SHELL
      - wget -qO- http://localhost:3000/health || exit 1
      interval: 10s
      retries: 5
    image: example/api:1.4
    networks:
      back: null
      front:
        aliases:
        - backend
  db:
    image: postgres:16
    networks:
      default: null
    secrets:
    - source: db_password
      target: /run/secrets/db_password
    shm_size: '134217728'
    stop_grace_period: 1m30s
    volumes:
    - type: volume
      source: db-data
      target: /var/lib/postgresql/data
      volume: {}
    - type: bind
      source: /srv/shop/init
      target: /docker-entrypoint-initdb.d
      read_only: true
      bind:
        create_host_path: true
    x-backup: nightly
  web:
    build:
      context: /srv/shop/web
      dockerfile: Dockerfile
      args:
        NODE_ENV: production
    depends_on:
      api:
        condition: service_healthy
        required: true
    environment:
      API_URL: http://api:3000
    logging:
      driver: json-file
      options:
        max-size: 10m
    networks:
      front: null
    ports:
    - mode: ingress
      target: 80
      published: '8080'
      protocol: tcp
    restart: unless-stopped
networks:
  back:
    name: shop_back
    internal: true
  default:
    name: shop_default
  front:
    name: shop_front
volumes:
  db-data:
    name: shop_db-data
secrets:
  db_password:
    name: shop_db_password
    file: /srv/shop/secrets/db_password.txt
x-logging:
  driver: json-file
  options:
    max-size: 10m
";

    #[test]
    fn normalizes_a_realistic_project_as_compose_config_prints_it() {
        let root = yaml(APP);
        let raw: raw::RawProject = match from_node(&root, &KeyPath::root()) {
            Ok(raw) => raw,
            Err(d) => panic!("APP is not a raw project: {d}"),
        };
        let lookup = |key: &str| (key == "DB_PASSWORD").then(|| "s3cret".to_string());
        let read_file = |path: &Path| {
            if path == Path::new("/srv/shop/api.env") {
                Ok("LOG_LEVEL=info\nDB_HOST=localhost\n".to_string())
            } else {
                Err(io::Error::from(ErrorKind::NotFound))
            }
        };
        let ctx = Context {
            project_name: "shop".into(),
            project_directory: PathBuf::from("/srv/shop"),
            home: None,
            lookup: &lookup,
            read_file: &read_file,
        };
        let (project, diagnostics) = normalize(raw, &root, &ctx);
        assert_eq!(diagnostics, vec![]);
        let printed = yaml_serde::to_string(&project).expect("the project prints");
        assert_eq!(printed, APP_CONFIG, "printed:\n{printed}");
    }
}
