//! The desired project against what exists: the [`Plan`] of actions that converges one
//! to the other, decided purely (no calls, deterministic), as compose's convergence
//! decides it (`pkg/compose/convergence.go`, `create.go`, `down.go`):
//!
//! - a container is kept while its config hash ([`config_hash`]) matches its service's
//!   and it is on every network and mounts every named volume its service wants;
//!   otherwise it is recreated (create the new one, stop and remove the old, rename),
//!   keeping its number; `--force-recreate` recreates all, `--no-recreate` none;
//! - a service wants `--scale`, else `scale` / `deploy.replicas`, else 1 containers:
//!   scaling down removes the out-of-date containers first, then the highest numbers;
//!   scaling up adds numbers after the highest one;
//! - kept containers that are not running are started; running ones are left alone, so
//!   `up` with no change plans nothing;
//! - networks and named volumes the services use are created when missing; an external
//!   one that is missing is an error; a network the project made whose configuration
//!   changed is removed and made again, with the containers on it;
//! - services whose `depends_on` says `restart: true` are stopped and started again
//!   when the service they depend on is recreated;
//! - orphans (containers of services no longer in the project, and exited one-off
//!   `run` containers) are removed with `--remove-orphans`, and warned about otherwise;
//!   running one-off containers are left alone;
//! - `down` stops and removes the project's containers (one-off ones and orphans with
//!   `--remove-orphans` only), the networks it made, and with `-v` the named volumes it
//!   made and the containers' anonymous volumes.
//!
//! A plan is a list of layers: the actions of one layer are independent and may run in
//! parallel; a layer starts when the previous one is done. Stops follow the service
//! graph's stop order (dependents first), then removals, then networks and volumes,
//! then creations and starts follow its start order, each start layer preceded by the
//! waits its `depends_on` conditions ask for.

use super::ipam::{Subnet, UsedSubnets};
use super::network::{
    project_networks, service_networking, NetworkError, Networking, ProjectNetwork,
};
use crate::graph::{GraphErrors, ServiceGraph};
use crate::spec::model::{config_hash, DependsCondition, Project, Service, VolumeType};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::net::Ipv4Addr;

/// A container of the project, as the engine's state has it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObservedContainer {
    pub name: String,
    pub service: String,
    /// The replica number (unused for one-off containers).
    pub number: u32,
    /// The [`config_hash`] of the service it was made from.
    pub config_hash: String,
    pub running: bool,
    /// Made by `run`.
    pub oneoff: bool,
    /// Real names of the networks it is attached to.
    pub networks: BTreeSet<String>,
    /// Real names of the named volumes it mounts.
    pub volumes: BTreeSet<String>,
}

/// A network rcompose made on this host.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObservedNetwork {
    pub name: String,
    /// The project that made it (`None`: made outside any project).
    pub project: Option<String>,
    /// The [`ProjectNetwork::config_hash`] it was made with.
    pub config_hash: String,
    pub subnet: Subnet,
    pub gateway: Ipv4Addr,
}

/// A volume on this host.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObservedVolume {
    pub name: String,
    /// The project that made it (`None`: made outside any project).
    pub project: Option<String>,
}

/// What exists: the project's containers, and every network and volume of the host.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Observed {
    pub containers: Vec<ObservedContainer>,
    pub networks: Vec<ObservedNetwork>,
    pub volumes: Vec<ObservedVolume>,
}

impl Observed {
    /// What a new network's subnet must avoid: the host's `routes` and every network
    /// here.
    pub fn used_subnets(&self, routes: Vec<Subnet>) -> UsedSubnets {
        UsedSubnets {
            routes,
            networks: self
                .networks
                .iter()
                .map(|network| (network.name.clone(), network.subnet))
                .collect(),
        }
    }

    fn network(&self, name: &str) -> Option<&ObservedNetwork> {
        self.networks.iter().find(|network| network.name == name)
    }

    fn volume(&self, name: &str) -> Option<&ObservedVolume> {
        self.volumes.iter().find(|volume| volume.name == name)
    }
}

/// When existing containers are recreated.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Recreate {
    /// When they differ from what the project wants (compose's default).
    #[default]
    Diverged,
    /// Always (`--force-recreate`).
    Force,
    /// Never (`--no-recreate`), unless a network they are on is made again.
    Never,
}

/// `up`'s options.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpOptions {
    /// `--scale SERVICE=N`, over the file's `scale` / `deploy.replicas`.
    pub scale: BTreeMap<String, u32>,
    /// `SERVICE...`: these and what they depend on; empty: every service.
    pub services: Vec<String>,
    /// `--no-start`: create, don't start.
    pub no_start: bool,
    /// `--remove-orphans`.
    pub remove_orphans: bool,
    pub recreate: Recreate,
}

/// `down`'s options.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DownOptions {
    /// `--remove-orphans`: also what the project made that its file no longer has.
    pub remove_orphans: bool,
    /// `-v`: named volumes the project made, and containers' anonymous volumes.
    pub volumes: bool,
}

/// Why the plan can't be made.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ReconcileError {
    #[error(transparent)]
    Network(#[from] NetworkError),
    #[error(transparent)]
    Graph(#[from] GraphErrors),
    /// `--scale` or a `SERVICE` argument names no service of the project.
    #[error("no such service: {service:?} (project {project:?} has {known})")]
    UnknownService {
        project: String,
        service: String,
        known: String,
    },
    /// A fixed container name can't be given to several replicas.
    #[error(
        "service {service:?} is using the custom container name {container_name:?} and \
         wants {replicas} replicas: container names are unique; remove `container_name` to \
         scale the service"
    )]
    ContainerNameScale {
        service: String,
        container_name: String,
        replicas: u32,
    },
    /// An external network that doesn't exist.
    #[error(
        "network {network:?} declared as external, but could not be found: create it \
         first (with the project that defines it), or remove `external: true`"
    )]
    ExternalNetworkMissing { network: String },
    /// An external volume that doesn't exist.
    #[error(
        "external volume {volume:?} not found: create it first (`rcompose volume create \
         {volume}`), or remove `external: true`"
    )]
    ExternalVolumeMissing { volume: String },
}

/// Why an action is in the plan.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "cause", rename_all = "snake_case")]
pub enum Cause {
    /// The network, volume or replica doesn't exist.
    NotFound,
    /// The service's config hash changed.
    ConfigChanged,
    /// `--force-recreate`.
    Forced,
    /// The project's network was made with another configuration: it is made again.
    NetworkChanged { network: String },
    /// The container is not on a network its service wants.
    NotOnNetwork { network: String },
    /// The container doesn't mount a named volume its service wants.
    VolumeNotMounted { volume: String },
    /// More containers than the service wants.
    ScaleDown,
    /// The container's service is not in the project.
    Orphan,
    /// The container exists but is not running.
    NotRunning,
    /// Start what this plan creates.
    Created,
    /// A service this one `depends_on` with `restart: true` is recreated.
    DependencyUpdated { service: String },
    /// `down`.
    Down,
}

impl fmt::Display for Cause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Cause::NotFound => f.write_str("not found"),
            Cause::ConfigChanged => f.write_str("config changed"),
            Cause::Forced => f.write_str("forced"),
            Cause::NetworkChanged { network } => write!(f, "network {network} changed"),
            Cause::NotOnNetwork { network } => write!(f, "not on network {network}"),
            Cause::VolumeNotMounted { volume } => write!(f, "volume {volume} not mounted"),
            Cause::ScaleDown => f.write_str("scale down"),
            Cause::Orphan => f.write_str("orphan"),
            Cause::NotRunning => f.write_str("not running"),
            Cause::Created => f.write_str("created"),
            Cause::DependencyUpdated { service } => write!(f, "{service} recreated"),
            Cause::Down => f.write_str("down"),
        }
    }
}

/// A container the plan makes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewContainer {
    pub service: String,
    pub number: u32,
    /// `<project>-<service>-<number>`, or `container_name`.
    pub name: String,
    /// To record on it.
    pub config_hash: String,
    pub networking: Networking,
}

/// One thing to do.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Action {
    CreateNetwork {
        network: ProjectNetwork,
        cause: Cause,
    },
    /// Remove the network (by its real name).
    RemoveNetwork {
        name: String,
        cause: Cause,
    },
    /// Create the named volume `name` (the project's volume `key`).
    CreateVolume {
        key: String,
        name: String,
        cause: Cause,
    },
    RemoveVolume {
        name: String,
        cause: Cause,
    },
    CreateContainer {
        container: NewContainer,
        cause: Cause,
    },
    /// Replace container `replaces`: create the new one under a temporary name, stop
    /// and remove the old one, rename the new one; anonymous volumes carry over.
    RecreateContainer {
        container: NewContainer,
        replaces: String,
        cause: Cause,
    },
    StartContainer {
        service: String,
        name: String,
        cause: Cause,
    },
    StopContainer {
        service: String,
        name: String,
        cause: Cause,
    },
    RemoveContainer {
        service: String,
        name: String,
        /// Remove its anonymous volumes too.
        anonymous_volumes: bool,
        cause: Cause,
    },
    /// Wait until the containers of `service` meet `condition` (healthy, or exited
    /// with 0): `dependents` start next. Not `required`: a failure is only warned about.
    WaitFor {
        service: String,
        condition: DependsCondition,
        required: bool,
        dependents: Vec<String>,
    },
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Action::CreateNetwork { network, cause } => {
                write!(f, "create network {} ({cause})", network.name)
            }
            Action::RemoveNetwork { name, cause } => write!(f, "remove network {name} ({cause})"),
            Action::CreateVolume { name, cause, .. } => {
                write!(f, "create volume {name} ({cause})")
            }
            Action::RemoveVolume { name, cause } => write!(f, "remove volume {name} ({cause})"),
            Action::CreateContainer { container, cause } => {
                write!(f, "create container {} ({cause})", container.name)
            }
            Action::RecreateContainer {
                container,
                replaces,
                cause,
            } => {
                write!(f, "recreate container {}", container.name)?;
                if *replaces != container.name {
                    write!(f, " replacing {replaces}")?;
                }
                write!(f, " ({cause})")
            }
            Action::StartContainer { name, cause, .. } => {
                write!(f, "start container {name} ({cause})")
            }
            Action::StopContainer { name, cause, .. } => {
                write!(f, "stop container {name} ({cause})")
            }
            Action::RemoveContainer {
                name,
                anonymous_volumes,
                cause,
                ..
            } => {
                write!(f, "remove container {name}")?;
                if *anonymous_volumes {
                    f.write_str(" and its anonymous volumes")?;
                }
                write!(f, " ({cause})")
            }
            Action::WaitFor {
                service,
                condition,
                required,
                dependents,
            } => {
                let state = match condition {
                    DependsCondition::ServiceStarted => "started",
                    DependsCondition::ServiceHealthy => "healthy",
                    DependsCondition::ServiceCompletedSuccessfully => "completed successfully",
                };
                write!(f, "wait for service {service} to be {state} (")?;
                if !required {
                    f.write_str("optional, ")?;
                }
                write!(f, "needed by {})", dependents.join(", "))
            }
        }
    }
}

/// What to do, in order: layer after layer, the actions of a layer in parallel.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    pub layers: Vec<Vec<Action>>,
    /// What the user should know (orphan containers left, networks used as they are).
    pub warnings: Vec<String>,
}

impl Plan {
    /// Nothing to do.
    pub fn is_empty(&self) -> bool {
        self.layers.is_empty()
    }
}

/// One line per action, prefixed by its layer's number (from 1).
impl fmt::Display for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, layer) in self.layers.iter().enumerate() {
            for action in layer {
                writeln!(f, "{}. {action}", index + 1)?;
            }
        }
        Ok(())
    }
}

/// The plan that brings `project` up from `observed`.
pub fn plan_up(
    project: &Project,
    observed: &Observed,
    options: &UpOptions,
) -> Result<Plan, ReconcileError> {
    let graph = ServiceGraph::from_project(project)?;
    for service in options.scale.keys().chain(&options.services) {
        if !project.services.contains_key(service) {
            return Err(ReconcileError::UnknownService {
                project: project.name.clone(),
                service: service.clone(),
                known: known_services(project),
            });
        }
    }
    let mut converge: BTreeSet<String> = if options.services.is_empty() {
        project.services.keys().cloned().collect()
    } else {
        graph.with_dependencies(&options.services)
    };
    let networks = project_networks(project)?;
    let mut builder = Builder::new(project, observed, options.no_start);

    // Networks the project made with another configuration are made again, and the
    // containers on them too, whatever their service.
    let mut diverged: BTreeSet<String>;
    loop {
        diverged = used_networks(project, &converge)
            .iter()
            .filter_map(|key| networks.get(key))
            .filter(|network| builder.diverged(network))
            .map(|network| network.name.clone())
            .collect();
        let more: BTreeSet<String> = observed
            .containers
            .iter()
            .filter(|c| !c.oneoff && project.services.contains_key(&c.service))
            .filter(|c| c.networks.iter().any(|n| diverged.contains(n)))
            .map(|c| c.service.clone())
            .filter(|service| !converge.contains(service))
            .collect();
        if more.is_empty() {
            break;
        }
        converge.extend(more);
    }

    builder.orphans(options.remove_orphans);
    for key in used_networks(project, &converge) {
        if let Some(network) = networks.get(&key) {
            builder.ensure_network(network, &diverged)?;
        }
    }
    for key in used_volumes(project, &converge) {
        builder.ensure_volume(&key)?;
    }
    for name in &converge {
        if let Some(service) = project.services.get(name) {
            let replicas = options
                .scale
                .get(name)
                .copied()
                .unwrap_or_else(|| service.replicas());
            builder.converge(name, service, replicas, options, &diverged)?;
        }
    }
    builder.restart_dependents();
    Ok(builder.finish(&graph))
}

/// What `down` works from.
#[derive(Clone, Copy, Debug)]
pub enum DownFrom<'a> {
    /// The project's files.
    Project(&'a Project),
    /// Only the project's name (`down -p NAME` without files), as compose does it: the
    /// services of its containers, and the networks and volumes it made.
    Name(&'a str),
}

/// The plan that takes a project down: its containers stopped (dependents first) and
/// removed, then the networks it made and, with `-v`, the named volumes it made. One-off
/// containers and orphans go only with `--remove-orphans`.
pub fn plan_down(
    from: DownFrom<'_>,
    observed: &Observed,
    options: &DownOptions,
) -> Result<Plan, ReconcileError> {
    let skeleton;
    let project = match from {
        DownFrom::Project(project) => project,
        DownFrom::Name(name) => {
            skeleton = Project {
                name: name.to_string(),
                services: observed
                    .containers
                    .iter()
                    .filter(|c| !c.oneoff)
                    .map(|c| (c.service.clone(), Service::default()))
                    .collect(),
                ..Project::default()
            };
            &skeleton
        }
    };
    let graph = ServiceGraph::from_project(project)?;
    let mut builder = Builder::new(project, observed, true);
    for container in &observed.containers {
        if project.services.contains_key(&container.service)
            && (!container.oneoff || options.remove_orphans)
        {
            builder.remove(container, Cause::Down, options.volumes);
        } else if options.remove_orphans && is_orphan(project, container) {
            builder.remove(container, Cause::Orphan, false);
        }
    }
    let ours = |owner: &Option<String>| owner.as_deref() == Some(project.name.as_str());
    // From files: what they declare, not external; from a name: all the project made.
    let network_declared = |name: &str| match from {
        DownFrom::Project(project) => project
            .networks
            .values()
            .any(|network| network.name == name && !network.external),
        DownFrom::Name(_) => true,
    };
    let volume_declared = |name: &str| match from {
        DownFrom::Project(project) => project
            .volumes
            .values()
            .any(|volume| volume.name == name && !volume.external),
        DownFrom::Name(_) => true,
    };
    for network in &observed.networks {
        if ours(&network.project) && network_declared(&network.name) {
            builder.resource_removals.push(Action::RemoveNetwork {
                name: network.name.clone(),
                cause: Cause::Down,
            });
        }
    }
    for volume in observed.volumes.iter().filter(|_| options.volumes) {
        if ours(&volume.project) && volume_declared(&volume.name) {
            builder.resource_removals.push(Action::RemoveVolume {
                name: volume.name.clone(),
                cause: Cause::Down,
            });
        }
    }
    Ok(builder.finish(&graph))
}

/// Compose's orphans: exited one-off containers, and containers of services the
/// project doesn't have.
fn is_orphan(project: &Project, container: &ObservedContainer) -> bool {
    if container.oneoff {
        !container.running
    } else {
        !project.services.contains_key(&container.service)
    }
}

fn known_services(project: &Project) -> String {
    if project.services.is_empty() {
        return "no services".to_string();
    }
    let names: Vec<&str> = project.services.keys().map(String::as_str).collect();
    names.join(", ")
}

/// The keys of the networks `services` attach to (those with no `network_mode`).
fn used_networks(project: &Project, services: &BTreeSet<String>) -> BTreeSet<String> {
    services
        .iter()
        .filter_map(|name| project.services.get(name))
        .filter(|service| service.network_mode.is_none())
        .flat_map(|service| service.networks.keys().cloned())
        .collect()
}

/// The keys of the project's volumes `services` mount.
fn used_volumes(project: &Project, services: &BTreeSet<String>) -> BTreeSet<String> {
    services
        .iter()
        .filter_map(|name| project.services.get(name))
        .flat_map(|service| named_volumes(project, service))
        .collect()
}

/// The keys of the project's volumes `service` mounts.
fn named_volumes<'a>(
    project: &'a Project,
    service: &'a Service,
) -> impl Iterator<Item = String> + 'a {
    service
        .volumes
        .iter()
        .filter(|volume| volume.type_ == VolumeType::Volume)
        .filter_map(|volume| volume.source.as_ref())
        .filter(|key| project.volumes.contains_key(*key))
        .cloned()
}

/// The actions gathered by phase, then laid out in layers by [`Builder::finish`].
struct Builder<'a> {
    project: &'a Project,
    observed: &'a Observed,
    /// (service, stop action): laid out in the graph's stop order.
    stops: Vec<(String, Action)>,
    removals: Vec<Action>,
    /// Networks and volumes removed.
    resource_removals: Vec<Action>,
    /// Networks and volumes created.
    resources: Vec<Action>,
    /// By service: laid out in the graph's start order.
    creations: BTreeMap<String, Vec<Action>>,
    starts: BTreeMap<String, Vec<Action>>,
    /// Services whose containers are recreated.
    recreated: BTreeSet<String>,
    /// Containers left as they are, running (candidates for a dependent's restart).
    untouched: Vec<&'a ObservedContainer>,
    /// How many containers each converged service wants.
    replicas: BTreeMap<String, u32>,
    /// `--no-start`.
    no_start: bool,
    warnings: Vec<String>,
}

impl<'a> Builder<'a> {
    fn new(project: &'a Project, observed: &'a Observed, no_start: bool) -> Builder<'a> {
        Builder {
            project,
            observed,
            stops: Vec::new(),
            removals: Vec::new(),
            resource_removals: Vec::new(),
            resources: Vec::new(),
            creations: BTreeMap::new(),
            starts: BTreeMap::new(),
            recreated: BTreeSet::new(),
            untouched: Vec::new(),
            replicas: BTreeMap::new(),
            no_start,
            warnings: Vec::new(),
        }
    }

    /// The project made `network`, and with another configuration.
    fn diverged(&self, network: &ProjectNetwork) -> bool {
        !network.external
            && self
                .observed
                .network(&network.name)
                .is_some_and(|observed| {
                    observed.project.as_deref() == Some(self.project.name.as_str())
                        && observed.config_hash != network.config_hash
                })
    }

    /// The orphans ([`is_orphan`]): removed when `remove`, else warned about.
    fn orphans(&mut self, remove: bool) {
        let mut orphans: Vec<&ObservedContainer> = self
            .observed
            .containers
            .iter()
            .filter(|c| is_orphan(self.project, c))
            .collect();
        orphans
            .sort_by(|a, b| (&a.service, a.number, &a.name).cmp(&(&b.service, b.number, &b.name)));
        if orphans.is_empty() {
            return;
        }
        if remove {
            for container in orphans {
                self.remove(container, Cause::Orphan, false);
            }
        } else {
            let names: Vec<&str> = orphans.iter().map(|c| c.name.as_str()).collect();
            self.warnings.push(format!(
                "Found orphan containers ({}) for this project. If you removed or renamed \
                 this service in your compose file, you can run this command with the \
                 --remove-orphans flag to clean it up.",
                names.join(", ")
            ));
        }
    }

    /// Stops `container` if it runs, and removes it.
    fn remove(&mut self, container: &ObservedContainer, cause: Cause, anonymous_volumes: bool) {
        if container.running {
            self.stops.push((
                container.service.clone(),
                Action::StopContainer {
                    service: container.service.clone(),
                    name: container.name.clone(),
                    cause: cause.clone(),
                },
            ));
        }
        self.removals.push(Action::RemoveContainer {
            service: container.service.clone(),
            name: container.name.clone(),
            anonymous_volumes,
            cause,
        });
    }

    fn ensure_network(
        &mut self,
        network: &ProjectNetwork,
        diverged: &BTreeSet<String>,
    ) -> Result<(), ReconcileError> {
        let observed = self.observed.network(&network.name);
        if network.external {
            return match observed {
                Some(_) => Ok(()),
                None => Err(ReconcileError::ExternalNetworkMissing {
                    network: network.name.clone(),
                }),
            };
        }
        match observed {
            None => self.resources.push(Action::CreateNetwork {
                network: network.clone(),
                cause: Cause::NotFound,
            }),
            Some(_) if diverged.contains(&network.name) => {
                let cause = Cause::NetworkChanged {
                    network: network.name.clone(),
                };
                self.resource_removals.push(Action::RemoveNetwork {
                    name: network.name.clone(),
                    cause: cause.clone(),
                });
                self.resources.push(Action::CreateNetwork {
                    network: network.clone(),
                    cause,
                });
            }
            Some(found) if found.project.as_deref() != Some(self.project.name.as_str()) => {
                let maker = match &found.project {
                    Some(other) => format!("for project {other:?}"),
                    None => "outside any project".to_string(),
                };
                self.warnings.push(format!(
                    "a network with name {} exists but was not created for project {:?} \
                     (it was made {maker}); it is used as it is. Set `external: true` to use \
                     an existing network",
                    network.name, self.project.name
                ));
            }
            Some(_) => {}
        }
        Ok(())
    }

    fn ensure_volume(&mut self, key: &str) -> Result<(), ReconcileError> {
        let Some(volume) = self.project.volumes.get(key) else {
            return Ok(());
        };
        if self.observed.volume(&volume.name).is_some() {
            return Ok(());
        }
        if volume.external {
            return Err(ReconcileError::ExternalVolumeMissing {
                volume: volume.name.clone(),
            });
        }
        self.resources.push(Action::CreateVolume {
            key: key.to_string(),
            name: volume.name.clone(),
            cause: Cause::NotFound,
        });
        Ok(())
    }

    /// Brings service `name` to `replicas` up-to-date containers.
    fn converge(
        &mut self,
        name: &str,
        service: &Service,
        replicas: u32,
        options: &UpOptions,
        diverged: &BTreeSet<String>,
    ) -> Result<(), ReconcileError> {
        if let Some(container_name) = service.container_name.as_ref().filter(|_| replicas > 1) {
            return Err(ReconcileError::ContainerNameScale {
                service: name.to_string(),
                container_name: container_name.clone(),
                replicas,
            });
        }
        self.replicas.insert(name.to_string(), replicas);
        let hash = config_hash(service);
        let networks: Vec<String> = match service.network_mode {
            Some(_) => Vec::new(),
            None => service
                .networks
                .keys()
                .filter_map(|key| self.project.networks.get(key))
                .map(|network| network.name.clone())
                .collect(),
        };
        let volumes: Vec<String> = named_volumes(self.project, service)
            .filter_map(|key| self.project.volumes.get(&key))
            .map(|volume| volume.name.clone())
            .collect();
        let obsolete = |container: &ObservedContainer| -> Option<Cause> {
            if let Some(network) = container.networks.iter().find(|n| diverged.contains(*n)) {
                return Some(Cause::NetworkChanged {
                    network: network.clone(),
                });
            }
            match options.recreate {
                Recreate::Never => None,
                Recreate::Force => Some(Cause::Forced),
                Recreate::Diverged if container.config_hash != hash => Some(Cause::ConfigChanged),
                Recreate::Diverged => {
                    if let Some(network) =
                        networks.iter().find(|n| !container.networks.contains(*n))
                    {
                        Some(Cause::NotOnNetwork {
                            network: network.clone(),
                        })
                    } else {
                        volumes
                            .iter()
                            .find(|v| !container.volumes.contains(*v))
                            .map(|volume| Cause::VolumeNotMounted {
                                volume: volume.clone(),
                            })
                    }
                }
            }
        };
        // Up-to-date containers first, lowest numbers first: what is kept when scaling
        // down.
        let mut containers: Vec<(&'a ObservedContainer, Option<Cause>)> = self
            .observed
            .containers
            .iter()
            .filter(|c| c.service == name && !c.oneoff)
            .map(|c| (c, obsolete(c)))
            .collect();
        containers.sort_by_key(|(c, cause)| (cause.is_some(), c.number, c.name.clone()));
        let next = containers.iter().map(|(c, _)| c.number).max().unwrap_or(0);
        let existing = containers.len();
        for (index, (container, cause)) in containers.into_iter().enumerate() {
            if index >= replicas as usize {
                self.remove(container, Cause::ScaleDown, false);
                continue;
            }
            match cause {
                Some(cause @ Cause::NetworkChanged { .. }) => {
                    // The network goes before the new container can be made: remove,
                    // then create.
                    self.remove(container, cause.clone(), false);
                    self.create(name, service, container.number, &hash, None, cause)?;
                    self.recreated.insert(name.to_string());
                }
                Some(cause) => {
                    let replaces = Some(container.name.clone());
                    self.create(name, service, container.number, &hash, replaces, cause)?;
                    self.recreated.insert(name.to_string());
                }
                None if !container.running && !self.no_start => {
                    self.start(name, &container.name, Cause::NotRunning);
                }
                None if container.running => self.untouched.push(container),
                None => {}
            }
        }
        for offset in 1..=(replicas as usize).saturating_sub(existing) {
            let number = next.saturating_add(offset as u32);
            self.create(name, service, number, &hash, None, Cause::NotFound)?;
        }
        Ok(())
    }

    /// Creates (or recreates, replacing `replaces`) container `number` of `name`, and
    /// starts it unless `--no-start`.
    fn create(
        &mut self,
        name: &str,
        service: &Service,
        number: u32,
        hash: &str,
        replaces: Option<String>,
        cause: Cause,
    ) -> Result<(), ReconcileError> {
        let container_name = service
            .container_name
            .clone()
            .unwrap_or_else(|| format!("{}-{name}-{number}", self.project.name));
        let container = NewContainer {
            service: name.to_string(),
            number,
            name: container_name.clone(),
            config_hash: hash.to_string(),
            networking: service_networking(self.project, name, &container_name)?,
        };
        let action = match replaces {
            Some(replaces) => Action::RecreateContainer {
                container,
                replaces,
                cause,
            },
            None => Action::CreateContainer { container, cause },
        };
        self.creations
            .entry(name.to_string())
            .or_default()
            .push(action);
        if !self.no_start {
            self.start(name, &container_name, Cause::Created);
        }
        Ok(())
    }

    fn start(&mut self, service: &str, name: &str, cause: Cause) {
        self.starts
            .entry(service.to_string())
            .or_default()
            .push(Action::StartContainer {
                service: service.to_string(),
                name: name.to_string(),
                cause,
            });
    }

    /// Stops and starts again the running, untouched containers of services that
    /// `depends_on` a recreated service with `restart: true`.
    fn restart_dependents(&mut self) {
        let untouched = std::mem::take(&mut self.untouched);
        for container in untouched {
            let Some(service) = self.project.services.get(&container.service) else {
                continue;
            };
            let updated = service
                .depends_on
                .iter()
                .find(|(dependency, d)| d.restart && self.recreated.contains(*dependency));
            if let Some((dependency, _)) = updated {
                let cause = Cause::DependencyUpdated {
                    service: dependency.clone(),
                };
                self.stops.push((
                    container.service.clone(),
                    Action::StopContainer {
                        service: container.service.clone(),
                        name: container.name.clone(),
                        cause: cause.clone(),
                    },
                ));
                if !self.no_start {
                    self.start(&container.service, &container.name, cause);
                }
            }
        }
    }

    /// The waits before starting `services`: one per dependency and condition that
    /// needs more than a started container, for a dependency that wants containers.
    fn waits(&self, services: &[String]) -> Vec<Action> {
        let mut waits: BTreeMap<(String, u8), (DependsCondition, bool, Vec<String>)> =
            BTreeMap::new();
        for name in services.iter().filter(|s| self.starts.contains_key(*s)) {
            let Some(service) = self.project.services.get(name) else {
                continue;
            };
            for (dependency, depends_on) in &service.depends_on {
                let rank = match depends_on.condition {
                    DependsCondition::ServiceStarted => continue,
                    DependsCondition::ServiceHealthy => 0,
                    DependsCondition::ServiceCompletedSuccessfully => 1,
                };
                let wanted = match self.replicas.get(dependency) {
                    Some(replicas) => *replicas,
                    None => match self.project.services.get(dependency) {
                        Some(service) => service.replicas(),
                        None => continue,
                    },
                };
                if wanted == 0 {
                    continue;
                }
                let entry = waits.entry((dependency.clone(), rank)).or_insert((
                    depends_on.condition,
                    false,
                    Vec::new(),
                ));
                entry.1 |= depends_on.required;
                entry.2.push(name.clone());
            }
        }
        waits
            .into_iter()
            .map(
                |((service, _), (condition, required, dependents))| Action::WaitFor {
                    service,
                    condition,
                    required,
                    dependents,
                },
            )
            .collect()
    }

    /// Lays the actions out in layers.
    fn finish(mut self, graph: &ServiceGraph) -> Plan {
        let mut layers: Vec<Vec<Action>> = Vec::new();
        let stop_layers = graph.stop_layers();
        let mut stops: Vec<Vec<Action>> = vec![Vec::new(); stop_layers.len().max(1)];
        for (service, action) in std::mem::take(&mut self.stops) {
            // Orphans have no place in the graph: they stop first.
            let index = stop_layers
                .iter()
                .position(|layer| layer.contains(&service))
                .unwrap_or(0);
            if let Some(layer) = stops.get_mut(index) {
                layer.push(action);
            }
        }
        layers.extend(stops);
        layers.push(std::mem::take(&mut self.removals));
        layers.push(std::mem::take(&mut self.resource_removals));
        layers.push(std::mem::take(&mut self.resources));
        let start_layers = graph.start_layers();
        for services in &start_layers {
            let layer = services
                .iter()
                .filter_map(|s| self.creations.remove(s))
                .flatten()
                .collect();
            layers.push(layer);
        }
        for services in &start_layers {
            layers.push(self.waits(services));
            let layer = services
                .iter()
                .filter_map(|s| self.starts.remove(s))
                .flatten()
                .collect();
            layers.push(layer);
        }
        layers.retain(|layer| !layer.is_empty());
        Plan {
            layers,
            warnings: self.warnings,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::load_demo as load;
    use crate::plan::network::{project_network, Attachment};

    /// db (healthchecked, on back, with the `data` volume), web (two replicas on front
    /// and back, waiting for db to be healthy), and a one-shot `migrate` that web
    /// restarts after.
    const APP: &str = "
services:
  db:
    image: bb
    networks: [back]
    volumes: [data:/var/lib/db]
    healthcheck:
      test: [CMD, 'true']
  migrate:
    image: bb
    network_mode: none
  web:
    image: bb
    scale: 2
    networks: [front, back]
    depends_on:
      db: {condition: service_healthy}
      migrate: {condition: service_completed_successfully, restart: true}
networks:
  front: {}
  back: {internal: true}
volumes:
  data: {}
";

    /// Container `number` of `service` as `up` would have made it, running.
    fn made(project: &Project, service: &str, number: u32) -> ObservedContainer {
        let svc = &project.services[service];
        ObservedContainer {
            name: format!("demo-{service}-{number}"),
            service: service.into(),
            number,
            config_hash: config_hash(svc),
            running: true,
            oneoff: false,
            networks: match svc.network_mode {
                Some(_) => BTreeSet::new(),
                None => svc
                    .networks
                    .keys()
                    .map(|key| project.networks[key].name.clone())
                    .collect(),
            },
            volumes: named_volumes(project, svc)
                .map(|key| project.volumes[&key].name.clone())
                .collect(),
        }
    }

    fn network_of(project: &Project, key: &str, octet: u8) -> ObservedNetwork {
        let resolved = project_network(key, &project.networks[key]).unwrap();
        ObservedNetwork {
            name: resolved.name,
            project: Some("demo".into()),
            config_hash: resolved.config_hash,
            subnet: format!("172.{octet}.0.0/16").parse().unwrap(),
            gateway: Ipv4Addr::new(172, octet, 0, 1),
        }
    }

    /// Everything of [`APP`] made and running.
    fn converged(project: &Project) -> Observed {
        Observed {
            containers: vec![
                made(project, "db", 1),
                made(project, "migrate", 1),
                made(project, "web", 1),
                made(project, "web", 2),
            ],
            networks: vec![
                network_of(project, "back", 18),
                network_of(project, "front", 19),
            ],
            volumes: vec![ObservedVolume {
                name: "demo_data".into(),
                project: Some("demo".into()),
            }],
        }
    }

    fn up(project: &Project, observed: &Observed, options: &UpOptions) -> String {
        plan_up(project, observed, options).unwrap().to_string()
    }

    fn up_error(project: &Project, observed: &Observed, options: &UpOptions) -> String {
        plan_up(project, observed, options).unwrap_err().to_string()
    }

    fn scale(pairs: &[(&str, u32)]) -> UpOptions {
        UpOptions {
            scale: pairs.iter().map(|(s, n)| (s.to_string(), *n)).collect(),
            ..UpOptions::default()
        }
    }

    #[test]
    fn a_fresh_up_creates_everything_in_dependency_order() {
        let project = load(APP);
        assert_eq!(
            up(&project, &Observed::default(), &UpOptions::default()),
            "\
1. create network demo_back (not found)
1. create network demo_front (not found)
1. create volume demo_data (not found)
2. create container demo-db-1 (not found)
2. create container demo-migrate-1 (not found)
3. create container demo-web-1 (not found)
3. create container demo-web-2 (not found)
4. start container demo-db-1 (created)
4. start container demo-migrate-1 (created)
5. wait for service db to be healthy (needed by web)
5. wait for service migrate to be completed successfully (needed by web)
6. start container demo-web-1 (created)
6. start container demo-web-2 (created)
"
        );
    }

    #[test]
    fn created_containers_carry_their_name_hash_and_networks() {
        let project = load(APP);
        let plan = plan_up(&project, &Observed::default(), &UpOptions::default()).unwrap();
        let web_2 = plan.layers[2][1].clone();
        let attachment = |key: &str, interface: &str, internal, default_route| Attachment {
            network: key.into(),
            name: format!("demo_{key}"),
            interface: interface.into(),
            aliases: vec!["demo-web-2".into(), "web".into()],
            ipv4_address: None,
            mac_address: None,
            mtu: None,
            internal,
            default_route,
        };
        assert_eq!(
            web_2,
            Action::CreateContainer {
                container: NewContainer {
                    service: "web".into(),
                    number: 2,
                    name: "demo-web-2".into(),
                    config_hash: config_hash(&project.services["web"]),
                    networking: Networking::Bridge {
                        attachments: vec![
                            attachment("back", "eth0", true, false),
                            attachment("front", "eth1", false, true),
                        ],
                    },
                },
                cause: Cause::NotFound,
            }
        );
        let Action::CreateNetwork { network, .. } = &plan.layers[0][0] else {
            panic!("not a network: {:?}", plan.layers[0][0]);
        };
        assert_eq!(
            (network.name.as_str(), network.internal),
            ("demo_back", true)
        );
        assert!(plan.warnings.is_empty());
    }

    #[test]
    fn up_again_with_no_change_does_nothing() {
        let project = load(APP);
        let plan = plan_up(&project, &converged(&project), &UpOptions::default()).unwrap();
        assert!(plan.is_empty());
        assert_eq!(plan, Plan::default());
    }

    #[test]
    fn scaling_up_adds_the_next_numbers_and_keeps_the_others() {
        let project = load(APP);
        assert_eq!(
            up(&project, &converged(&project), &scale(&[("web", 4)])),
            "\
1. create container demo-web-3 (not found)
1. create container demo-web-4 (not found)
2. wait for service db to be healthy (needed by web)
2. wait for service migrate to be completed successfully (needed by web)
3. start container demo-web-3 (created)
3. start container demo-web-4 (created)
"
        );
        // Numbers go on after the highest one, gaps are not filled (as compose).
        let mut observed = converged(&project);
        observed.containers.retain(|c| c.name != "demo-web-1");
        assert_eq!(
            up(&project, &observed, &scale(&[("web", 2)])),
            "\
1. create container demo-web-3 (not found)
2. wait for service db to be healthy (needed by web)
2. wait for service migrate to be completed successfully (needed by web)
3. start container demo-web-3 (created)
"
        );
    }

    #[test]
    fn scaling_down_removes_out_of_date_then_highest_numbers() {
        let project = load(APP);
        let mut observed = converged(&project);
        observed.containers.push(made(&project, "web", 3));
        assert_eq!(
            up(&project, &observed, &scale(&[("web", 1)])),
            "\
1. stop container demo-web-2 (scale down)
1. stop container demo-web-3 (scale down)
2. remove container demo-web-2 (scale down)
2. remove container demo-web-3 (scale down)
"
        );
        // web-1 is out of date: it goes first, and web-2 is kept.
        if let Some(web_1) = observed
            .containers
            .iter_mut()
            .find(|c| c.name == "demo-web-1")
        {
            web_1.config_hash = "old".into();
            web_1.running = false;
        }
        assert_eq!(
            up(&project, &observed, &scale(&[("web", 1)])),
            "\
1. stop container demo-web-3 (scale down)
2. remove container demo-web-3 (scale down)
2. remove container demo-web-1 (scale down)
"
        );
        assert_eq!(
            up(&project, &observed, &scale(&[("web", 0)])),
            "\
1. stop container demo-web-2 (scale down)
1. stop container demo-web-3 (scale down)
2. remove container demo-web-2 (scale down)
2. remove container demo-web-3 (scale down)
2. remove container demo-web-1 (scale down)
"
        );
    }

    #[test]
    fn changed_services_are_recreated_and_restart_dependents() {
        let yaml = APP.replace(
            "network_mode: none",
            "network_mode: none\n    command: [new]",
        );
        let project = load(&yaml);
        let mut observed = converged(&project);
        if let Some(migrate) = observed
            .containers
            .iter_mut()
            .find(|c| c.service == "migrate")
        {
            migrate.config_hash = "old".into();
        }
        assert_eq!(
            up(&project, &observed, &UpOptions::default()),
            "\
1. stop container demo-web-1 (migrate recreated)
1. stop container demo-web-2 (migrate recreated)
2. recreate container demo-migrate-1 (config changed)
3. start container demo-migrate-1 (created)
4. wait for service db to be healthy (needed by web)
4. wait for service migrate to be completed successfully (needed by web)
5. start container demo-web-1 (migrate recreated)
5. start container demo-web-2 (migrate recreated)
"
        );
        // db changing recreates db; web waits on it but has no `restart: true` for it.
        let mut observed = converged(&project);
        if let Some(db) = observed.containers.iter_mut().find(|c| c.service == "db") {
            db.config_hash = "old".into();
        }
        assert_eq!(
            up(&project, &observed, &UpOptions::default()),
            "\
1. recreate container demo-db-1 (config changed)
2. start container demo-db-1 (created)
"
        );
    }

    #[test]
    fn recreate_policies() {
        let project = load(APP);
        let force = UpOptions {
            recreate: Recreate::Force,
            services: vec!["db".into()],
            ..UpOptions::default()
        };
        assert_eq!(
            up(&project, &converged(&project), &force),
            "\
1. recreate container demo-db-1 (forced)
2. start container demo-db-1 (created)
"
        );
        let mut observed = converged(&project);
        for container in &mut observed.containers {
            container.config_hash = "old".into();
        }
        let never = UpOptions {
            recreate: Recreate::Never,
            ..UpOptions::default()
        };
        assert_eq!(up(&project, &observed, &never), "");
    }

    #[test]
    fn containers_off_their_networks_or_volumes_are_recreated() {
        let project = load(APP);
        let mut observed = converged(&project);
        if let Some(web_2) = observed
            .containers
            .iter_mut()
            .find(|c| c.name == "demo-web-2")
        {
            web_2.networks.remove("demo_front");
        }
        if let Some(db) = observed
            .containers
            .iter_mut()
            .find(|c| c.name == "demo-db-1")
        {
            db.volumes.clear();
        }
        assert_eq!(
            up(&project, &observed, &UpOptions::default()),
            "\
1. recreate container demo-db-1 (volume demo_data not mounted)
2. recreate container demo-web-2 (not on network demo_front)
3. start container demo-db-1 (created)
4. wait for service db to be healthy (needed by web)
4. wait for service migrate to be completed successfully (needed by web)
5. start container demo-web-2 (created)
"
        );
    }

    #[test]
    fn stopped_containers_are_started_unless_no_start() {
        let project = load(APP);
        let mut observed = converged(&project);
        for container in &mut observed.containers {
            container.running = container.service != "db";
        }
        assert_eq!(
            up(&project, &observed, &UpOptions::default()),
            "1. start container demo-db-1 (not running)\n"
        );
        let no_start = UpOptions {
            no_start: true,
            ..scale(&[("web", 3)])
        };
        assert_eq!(
            up(&project, &observed, &no_start),
            "1. create container demo-web-3 (not found)\n"
        );
    }

    #[test]
    fn named_services_bring_their_dependencies() {
        let project = load(APP);
        let only_db = UpOptions {
            services: vec!["db".into()],
            ..UpOptions::default()
        };
        assert_eq!(
            up(&project, &Observed::default(), &only_db),
            "\
1. create network demo_back (not found)
1. create volume demo_data (not found)
2. create container demo-db-1 (not found)
3. start container demo-db-1 (created)
"
        );
        let web = UpOptions {
            services: vec!["web".into()],
            ..UpOptions::default()
        };
        let mut observed = converged(&project);
        observed.containers.clear();
        assert_eq!(
            up(&project, &observed, &web),
            "\
1. create container demo-db-1 (not found)
1. create container demo-migrate-1 (not found)
2. create container demo-web-1 (not found)
2. create container demo-web-2 (not found)
3. start container demo-db-1 (created)
3. start container demo-migrate-1 (created)
4. wait for service db to be healthy (needed by web)
4. wait for service migrate to be completed successfully (needed by web)
5. start container demo-web-1 (created)
5. start container demo-web-2 (created)
"
        );
    }

    #[test]
    fn orphans_are_warned_about_or_removed() {
        let project = load(APP);
        let mut observed = converged(&project);
        let orphan = |name: &str, service: &str, running, oneoff| ObservedContainer {
            name: name.into(),
            service: service.into(),
            number: 1,
            config_hash: "x".into(),
            running,
            oneoff,
            ..ObservedContainer::default()
        };
        observed.containers.extend([
            orphan("demo-cache-1", "cache", true, false),
            orphan("demo-old-1", "old", false, false),
            // Running one-offs are left alone, whatever their service.
            orphan("demo-old-run-1a2b", "old", true, true),
            orphan("demo-web-run-3c4d", "web", true, true),
            // An exited one is an orphan.
            orphan("demo-web-run-5e6f", "web", false, true),
        ]);
        let plan = plan_up(&project, &observed, &UpOptions::default()).unwrap();
        assert!(plan.is_empty());
        assert_eq!(
            plan.warnings,
            [
                "Found orphan containers (demo-cache-1, demo-old-1, demo-web-run-5e6f) for this \
              project. If you removed or renamed this service in your compose file, you can \
              run this command with the --remove-orphans flag to clean it up."
            ]
        );
        let remove = UpOptions {
            remove_orphans: true,
            ..UpOptions::default()
        };
        let plan = plan_up(&project, &observed, &remove).unwrap();
        assert_eq!(
            plan.to_string(),
            "\
1. stop container demo-cache-1 (orphan)
2. remove container demo-cache-1 (orphan)
2. remove container demo-old-1 (orphan)
2. remove container demo-web-run-5e6f (orphan)
"
        );
        assert!(plan.warnings.is_empty());
    }

    #[test]
    fn a_changed_network_is_made_again_with_its_containers() {
        let project = load(APP);
        let mut observed = converged(&project);
        if let Some(front) = observed
            .networks
            .iter_mut()
            .find(|n| n.name == "demo_front")
        {
            front.config_hash = "old".into();
        }
        assert_eq!(
            up(&project, &observed, &UpOptions::default()),
            "\
1. stop container demo-web-1 (network demo_front changed)
1. stop container demo-web-2 (network demo_front changed)
2. remove container demo-web-1 (network demo_front changed)
2. remove container demo-web-2 (network demo_front changed)
3. remove network demo_front (network demo_front changed)
4. create network demo_front (network demo_front changed)
5. create container demo-web-1 (network demo_front changed)
5. create container demo-web-2 (network demo_front changed)
6. wait for service db to be healthy (needed by web)
6. wait for service migrate to be completed successfully (needed by web)
7. start container demo-web-1 (created)
7. start container demo-web-2 (created)
"
        );
        // Even `up db` takes web's containers along: they are on the changed network.
        if let Some(back) = observed.networks.iter_mut().find(|n| n.name == "demo_back") {
            back.config_hash = "old".into();
        }
        if let Some(front) = observed
            .networks
            .iter_mut()
            .find(|n| n.name == "demo_front")
        {
            *front = network_of(&project, "front", 19);
        }
        let only_db = UpOptions {
            services: vec!["db".into()],
            ..UpOptions::default()
        };
        assert_eq!(
            up(&project, &observed, &only_db),
            "\
1. stop container demo-web-1 (network demo_back changed)
1. stop container demo-web-2 (network demo_back changed)
2. stop container demo-db-1 (network demo_back changed)
3. remove container demo-db-1 (network demo_back changed)
3. remove container demo-web-1 (network demo_back changed)
3. remove container demo-web-2 (network demo_back changed)
4. remove network demo_back (network demo_back changed)
5. create network demo_back (network demo_back changed)
6. create container demo-db-1 (network demo_back changed)
7. create container demo-web-1 (network demo_back changed)
7. create container demo-web-2 (network demo_back changed)
8. start container demo-db-1 (created)
9. wait for service db to be healthy (needed by web)
9. wait for service migrate to be completed successfully (needed by web)
10. start container demo-web-1 (created)
10. start container demo-web-2 (created)
"
        );
    }

    #[test]
    fn networks_and_volumes_made_elsewhere() {
        let project = load(
            "services:
  app:
    image: bb
    networks: [shared, taken]
    volumes: [cache:/cache]
networks:
  shared: {external: true}
  taken: {}
volumes:
  cache: {external: true}
",
        );
        let mut observed = Observed::default();
        assert_eq!(
            up_error(&project, &observed, &UpOptions::default()),
            "network \"shared\" declared as external, but could not be found: create it first \
             (with the project that defines it), or remove `external: true`"
        );
        let other = |name: &str, project: Option<&str>| ObservedNetwork {
            name: name.into(),
            project: project.map(str::to_string),
            config_hash: "theirs".into(),
            subnet: "10.7.0.0/16".parse().unwrap(),
            gateway: Ipv4Addr::new(10, 7, 0, 1),
        };
        observed.networks = vec![other("shared", Some("infra")), other("demo_taken", None)];
        assert_eq!(
            up_error(&project, &observed, &UpOptions::default()),
            "external volume \"cache\" not found: create it first (`rcompose volume create \
             cache`), or remove `external: true`"
        );
        observed.volumes.push(ObservedVolume {
            name: "cache".into(),
            project: None,
        });
        let plan = plan_up(&project, &observed, &UpOptions::default()).unwrap();
        // Neither network is recreated, though their hashes differ: they are not ours.
        assert_eq!(
            plan.to_string(),
            "\
1. create container demo-app-1 (not found)
2. start container demo-app-1 (created)
"
        );
        assert_eq!(
            plan.warnings,
            [
                "a network with name demo_taken exists but was not created for project \"demo\" \
              (it was made outside any project); it is used as it is. Set `external: true` to \
              use an existing network"
            ]
        );
    }

    #[test]
    fn bad_requests_are_refused() {
        let project = load(APP);
        let none = Observed::default();
        assert_eq!(
            up_error(&project, &none, &scale(&[("wbe", 2)])),
            "no such service: \"wbe\" (project \"demo\" has db, migrate, web)"
        );
        let named = UpOptions {
            services: vec!["nope".into()],
            ..UpOptions::default()
        };
        assert_eq!(
            up_error(&project, &none, &named),
            "no such service: \"nope\" (project \"demo\" has db, migrate, web)"
        );
        let project = load("services:\n  app:\n    image: bb\n    container_name: the-app\n");
        assert_eq!(
            up(&project, &none, &UpOptions::default()),
            "\
1. create network demo_default (not found)
2. create container the-app (not found)
3. start container the-app (created)
"
        );
        assert_eq!(
            up_error(&project, &none, &scale(&[("app", 2)])),
            "service \"app\" is using the custom container name \"the-app\" and wants 2 \
             replicas: container names are unique; remove `container_name` to scale the service"
        );
    }

    #[test]
    fn down_stops_dependents_first_then_removes_everything_made() {
        let project = load(APP);
        let mut observed = converged(&project);
        let oneoff = |name: &str, service: &str, running| ObservedContainer {
            name: name.into(),
            service: service.into(),
            running,
            oneoff: true,
            ..ObservedContainer::default()
        };
        observed.containers.extend([
            oneoff("demo-db-run-9f8e", "db", true),
            oneoff("demo-gone-run-7a6b", "gone", false),
            oneoff("demo-gone-run-5c4d", "gone", true),
        ]);
        // Made by the project, not in its file any more: left, as compose leaves it.
        observed.networks.push(ObservedNetwork {
            name: "demo_gone".into(),
            ..network_of(&project, "front", 20)
        });
        observed.volumes.push(ObservedVolume {
            name: "other_data".into(),
            project: Some("other".into()),
        });
        let down = |options: &DownOptions| {
            plan_down(DownFrom::Project(&project), &observed, options)
                .unwrap()
                .to_string()
        };
        assert_eq!(
            down(&DownOptions::default()),
            "\
1. stop container demo-web-1 (down)
1. stop container demo-web-2 (down)
2. stop container demo-db-1 (down)
2. stop container demo-migrate-1 (down)
3. remove container demo-db-1 (down)
3. remove container demo-migrate-1 (down)
3. remove container demo-web-1 (down)
3. remove container demo-web-2 (down)
4. remove network demo_back (down)
4. remove network demo_front (down)
"
        );
        let all = DownOptions {
            remove_orphans: true,
            volumes: true,
        };
        assert_eq!(
            down(&all),
            "\
1. stop container demo-web-1 (down)
1. stop container demo-web-2 (down)
2. stop container demo-db-1 (down)
2. stop container demo-migrate-1 (down)
2. stop container demo-db-run-9f8e (down)
3. remove container demo-db-1 and its anonymous volumes (down)
3. remove container demo-migrate-1 and its anonymous volumes (down)
3. remove container demo-web-1 and its anonymous volumes (down)
3. remove container demo-web-2 and its anonymous volumes (down)
3. remove container demo-db-run-9f8e and its anonymous volumes (down)
3. remove container demo-gone-run-7a6b (orphan)
4. remove network demo_back (down)
4. remove network demo_front (down)
4. remove volume demo_data (down)
"
        );
    }

    #[test]
    fn down_without_a_file_removes_what_the_project_made() {
        let project = load(APP);
        let mut observed = converged(&project);
        observed.networks.push(ObservedNetwork {
            name: "other_net".into(),
            project: Some("other".into()),
            ..network_of(&project, "front", 20)
        });
        let options = DownOptions {
            remove_orphans: false,
            volumes: true,
        };
        let plan = plan_down(DownFrom::Name("demo"), &observed, &options).unwrap();
        assert_eq!(
            plan.to_string(),
            "\
1. stop container demo-db-1 (down)
1. stop container demo-migrate-1 (down)
1. stop container demo-web-1 (down)
1. stop container demo-web-2 (down)
2. remove container demo-db-1 and its anonymous volumes (down)
2. remove container demo-migrate-1 and its anonymous volumes (down)
2. remove container demo-web-1 and its anonymous volumes (down)
2. remove container demo-web-2 and its anonymous volumes (down)
3. remove network demo_back (down)
3. remove network demo_front (down)
3. remove volume demo_data (down)
"
        );
        assert!(plan.warnings.is_empty());
        let empty = plan_down(DownFrom::Name("demo"), &Observed::default(), &options);
        assert!(empty.unwrap().is_empty());
    }

    #[test]
    fn plans_serialize_for_the_engine() {
        let project = load("services:\n  app:\n    image: bb\n    network_mode: host\n");
        let plan = plan_up(&project, &Observed::default(), &UpOptions::default()).unwrap();
        let json = serde_json::to_string(&plan).unwrap();
        assert_eq!(
            json,
            format!(
                "{{\"layers\":[[{{\"action\":\"create_container\",\"container\":{{\"service\":\
                 \"app\",\"number\":1,\"name\":\"demo-app-1\",\"config_hash\":\"{}\",\
                 \"networking\":{{\"mode\":\"host\"}}}},\"cause\":{{\"cause\":\"not_found\"}}}}],\
                 [{{\"action\":\"start_container\",\"service\":\"app\",\"name\":\"demo-app-1\",\
                 \"cause\":{{\"cause\":\"created\"}}}}]],\"warnings\":[]}}",
                config_hash(&project.services["app"])
            )
        );
        assert_eq!(serde_json::from_str::<Plan>(&json).unwrap(), plan);
    }

    #[test]
    fn used_subnets_come_from_every_network() {
        let project = load(APP);
        let used = converged(&project).used_subnets(vec!["192.168.1.0/24".parse().unwrap()]);
        assert_eq!(
            used,
            UsedSubnets {
                routes: vec!["192.168.1.0/24".parse().unwrap()],
                networks: BTreeMap::from([
                    ("demo_back".to_string(), "172.18.0.0/16".parse().unwrap()),
                    ("demo_front".to_string(), "172.19.0.0/16".parse().unwrap()),
                ]),
            }
        );
    }
}
