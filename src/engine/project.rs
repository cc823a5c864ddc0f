//! Projects: `up`, `down`, the lifecycle verbs (`start`, `stop`, `restart`, `kill`,
//! `rm`) and `ls`. What exists is read from the state ([`observe`]), the pure planner
//! (`plan::reconcile`) decides what to do, and [`execute`] does it: layer after layer,
//! the actions of a layer in parallel, each object's progress streamed to the caller.

use super::containers::{self, progress, NewContainer};
use super::health::Health;
use super::networks;
use super::ports;
use super::protocol::{
    DownRequest, Event, Lifecycle, LifecycleRequest, PortSummary, ProjectSummary, Reply, UpRequest,
};
use super::server::{blocking, error_chain, Conn, Engine, RequestError};
use super::state::{ContainerRecord, Phase};
use super::volumes::VolumeError;
use crate::plan::network::project_network;
use crate::plan::reconcile::{
    plan_down, Action, DownFrom, Observed, ObservedContainer, ObservedNetwork, ObservedVolume,
    ReconcileError,
};
use crate::plan::{plan_up, Plan, RunOverrides};
use crate::spec::model::{DependsCondition, Project, RestartPolicy};
use futures_util::future::join_all;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

/// The label compose puts on each container: the files of the project's last `up`.
pub(crate) const CONFIG_FILES_LABEL: &str = "com.docker.compose.project.config_files";

/// A project request that failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ProjectError {
    #[error(transparent)]
    Reconcile(Box<ReconcileError>),
    #[error("no such project: {project} (`rcompose ls -a` lists the projects)")]
    NoSuchProject { project: String },
    #[error("service {service} is not healthy ({detail}), and {dependents} depend on it")]
    NotHealthy {
        service: String,
        detail: String,
        dependents: String,
    },
    #[error(
        "service {service} did not complete successfully ({detail}), and {dependents} \
         depend on it"
    )]
    NotCompleted {
        service: String,
        detail: String,
        dependents: String,
    },
    #[error("{failed} of {total} actions failed; the first: {first}")]
    Several {
        failed: usize,
        total: usize,
        first: String,
    },
}

impl From<ReconcileError> for ProjectError {
    fn from(err: ReconcileError) -> ProjectError {
        ProjectError::Reconcile(Box::new(err))
    }
}

fn fail<T>(err: impl Into<ProjectError>) -> Result<T, RequestError> {
    Err(RequestError::Project(err.into()))
}

/// `up`: converges the project.
pub(crate) async fn up(
    engine: &Arc<Engine>,
    request: UpRequest,
    conn: &Conn,
) -> Result<Reply, RequestError> {
    let UpRequest {
        project,
        options,
        timeout,
        config_files,
    } = request;
    let observed = observe(engine, &project.name)?;
    let plan = plan_up(&project, &observed, &options).map_err(ProjectError::from)?;
    eprint!("rcompose engine: up {}:\n{plan}", project.name);
    warn(conn, &plan).await;
    for message in not_applied(&project) {
        let _ = conn.send(&Event::Warning { message }).await;
    }
    // The project's networks that exist get their rules again (another tool may have
    // changed the firewall since they were made).
    let existing: Vec<String> = project
        .networks
        .values()
        .map(|network| network.name.clone())
        .collect();
    for refreshed in join_all(existing.iter().map(|name| networks::refresh(engine, name))).await {
        refreshed?;
    }
    // Every published port is bound before anything is made: a taken one fails the
    // `up` with nothing made.
    let mut ports = BTreeMap::new();
    for service in project.services.keys() {
        match ports::publish(engine, &project, service).await {
            Ok(summaries) => {
                ports.insert(service.clone(), summaries);
            }
            Err(err) => {
                let _ = ports::close_unused(engine, &project.name).await;
                return Err(err);
            }
        }
    }
    let context = Context {
        engine: engine.clone(),
        project: Arc::new(project),
        timeout: timeout.map(Duration::from_secs),
        config_files: config_files.join(","),
        ports,
    };
    run(&context, plan, conn).await
}

/// `down`: stops and removes the project's containers and networks (and volumes).
pub(crate) async fn down(
    engine: &Arc<Engine>,
    request: DownRequest,
    conn: &Conn,
) -> Result<Reply, RequestError> {
    let DownRequest {
        project,
        files,
        options,
        timeout,
    } = request;
    let observed = observe(engine, &project)?;
    let plan = match &files {
        Some(files) => plan_down(DownFrom::Project(files), &observed, &options),
        None => plan_down(DownFrom::Name(&project), &observed, &options),
    }
    .map_err(ProjectError::from)?;
    eprint!("rcompose engine: down {project}:\n{plan}");
    warn(conn, &plan).await;
    let context = Context {
        engine: engine.clone(),
        project: Arc::new(files.unwrap_or_else(|| Project {
            name: project,
            ..Project::default()
        })),
        timeout: timeout.map(Duration::from_secs),
        config_files: String::new(),
        ports: BTreeMap::new(),
    };
    run(&context, plan, conn).await
}

/// Makes the networks service `service` is on, when missing (`run` of a service whose
/// project is not up); an external one must exist.
pub(crate) async fn ensure_networks(
    engine: &Arc<Engine>,
    project: &Project,
    service: &str,
) -> Result<(), RequestError> {
    let Some(definition) = project.services.get(service) else {
        return Ok(());
    };
    if definition.network_mode.is_some() {
        return Ok(());
    }
    for key in definition.networks.keys() {
        let Some(network) = project.networks.get(key) else {
            continue;
        };
        let network = project_network(key, network)
            .map_err(|err| ProjectError::from(ReconcileError::from(err)))?;
        if network.external {
            if engine.state.network(&network.name)?.is_none() {
                return fail(ReconcileError::ExternalNetworkMissing {
                    network: network.name,
                });
            }
        } else {
            networks::create(engine, &network, &project.name).await?;
        }
    }
    Ok(())
}

/// What the project asks that `up` does not do yet, one warning each: restart
/// policies are read but not applied.
fn not_applied(project: &Project) -> Vec<String> {
    let mut warnings = Vec::new();
    for (name, service) in &project.services {
        if let Some(policy) = service
            .restart
            .as_ref()
            .filter(|p| **p != RestartPolicy::No)
        {
            warnings.push(format!(
                "service {name}: `restart: {policy}` is not applied yet: its containers are \
                 not restarted when they end (`rcompose start {name}` starts them again)"
            ));
        }
    }
    warnings
}

/// What every action of one request shares.
struct Context {
    engine: Arc<Engine>,
    project: Arc<Project>,
    /// `-t`: overrides each container's stop_grace_period.
    timeout: Option<Duration>,
    /// For [`CONFIG_FILES_LABEL`].
    config_files: String,
    /// Each service's published ports, as bound.
    ports: BTreeMap<String, Vec<PortSummary>>,
}

async fn warn(conn: &Conn, plan: &Plan) {
    for message in &plan.warnings {
        let _ = conn
            .send(&Event::Warning {
                message: message.clone(),
            })
            .await;
    }
}

/// What exists of project `name`: its containers, and every network and volume here.
fn observe(engine: &Engine, name: &str) -> Result<Observed, RequestError> {
    let containers = engine
        .state
        .containers()?
        .into_iter()
        .filter(|record| record.project == name)
        .map(|record| ObservedContainer {
            running: matches!(record.phase, Phase::Running { .. }),
            oneoff: record.number.is_none(),
            number: record.number.unwrap_or(0),
            networks: record.endpoints.iter().map(|e| e.network.clone()).collect(),
            volumes: record.volumes.iter().cloned().collect(),
            name: record.name,
            service: record.service,
            config_hash: record.config_hash,
        })
        .collect();
    let networks = engine
        .state
        .networks()?
        .into_iter()
        .map(|record| ObservedNetwork {
            name: record.name,
            project: record.project,
            config_hash: record.config_hash,
            subnet: record.ipam.subnet,
            gateway: record.ipam.gateway,
        })
        .collect();
    let volumes = engine
        .state
        .volumes()?
        .into_iter()
        .map(|record| ObservedVolume {
            name: record.name,
            project: record.project,
        })
        .collect();
    Ok(Observed {
        containers,
        networks,
        volumes,
    })
}

/// Runs the plan, then closes the published ports no container of the project uses
/// any more (also when the plan failed half-way).
async fn run(context: &Context, plan: Plan, conn: &Conn) -> Result<Reply, RequestError> {
    let executed = execute(context, plan, conn).await;
    ports::close_unused(&context.engine, &context.project.name).await?;
    executed?;
    Ok(Reply::Ok)
}

/// Runs the plan layer after layer; a layer's actions run in parallel, and a failure
/// ends the plan once its layer is done.
async fn execute(context: &Context, plan: Plan, conn: &Conn) -> Result<(), RequestError> {
    for layer in plan.layers {
        let total = layer.len();
        let results = join_all(layer.into_iter().map(|action| act(context, action, conn))).await;
        let mut failures = results.into_iter().filter_map(Result::err);
        if let Some(first) = failures.next() {
            let more = failures.count();
            if more == 0 {
                return Err(first);
            }
            return fail(ProjectError::Several {
                failed: more + 1,
                total,
                first: error_chain(&first),
            });
        }
    }
    Ok(())
}

/// Does one action, telling its object's progress (`error` when it fails).
async fn act(context: &Context, action: Action, conn: &Conn) -> Result<(), RequestError> {
    let engine = &context.engine;
    let (object, doing, done) = match &action {
        Action::CreateNetwork { network, .. } => {
            (format!("network {}", network.name), "creating", "created")
        }
        Action::RemoveNetwork { name, .. } => (format!("network {name}"), "removing", "removed"),
        Action::CreateVolume { name, .. } => (format!("volume {name}"), "creating", "created"),
        Action::RemoveVolume { name, .. } => (format!("volume {name}"), "removing", "removed"),
        Action::CreateContainer { container, .. } => (
            format!("container {}", container.name),
            "creating",
            "created",
        ),
        Action::RecreateContainer { container, .. } => (
            format!("container {}", container.name),
            "recreating",
            "recreated",
        ),
        Action::StartContainer { name, .. } => (format!("container {name}"), "starting", "started"),
        Action::StopContainer { name, .. } => (format!("container {name}"), "stopping", "stopped"),
        Action::RemoveContainer { name, .. } => {
            (format!("container {name}"), "removing", "removed")
        }
        Action::WaitFor { service, .. } => (format!("service {service}"), "waiting", "ready"),
    };
    progress(conn, &object, doing).await;
    let result = match action {
        Action::CreateNetwork { network, .. } => {
            networks::create(engine, &network, &context.project.name)
                .await
                .map(drop)
        }
        Action::RemoveNetwork { name, .. } => networks::remove(engine, &name).await,
        Action::CreateVolume { key, name, .. } => {
            let (shared, project) = (engine.clone(), context.project.name.clone());
            blocking(move || {
                let labels = BTreeMap::from([
                    ("com.docker.compose.project".to_string(), project.clone()),
                    ("com.docker.compose.volume".to_string(), key),
                ]);
                shared
                    .volumes
                    .create(&shared.state, &name, Some(&project), labels)?;
                Ok(())
            })
            .await
        }
        Action::RemoveVolume { name, .. } => {
            let shared = engine.clone();
            blocking(move || match shared.volumes.remove(&shared.state, &name) {
                Ok(()) => Ok(()),
                Err(VolumeError::NotFound { .. }) => Ok(()),
                Err(err) => Err(err.into()),
            })
            .await
        }
        Action::CreateContainer { container, .. } => create(
            context,
            &container.service,
            container.number,
            &container.name,
        )
        .await
        .map(drop),
        Action::RecreateContainer {
            container,
            replaces,
            ..
        } => {
            if let Some(old) = record_named(engine, &replaces)? {
                stop(context, &old).await?;
                containers::remove_record(engine, old, true).await?;
            }
            create(
                context,
                &container.service,
                container.number,
                &container.name,
            )
            .await
            .map(drop)
        }
        Action::StartContainer { name, .. } => match record_named(engine, &name)? {
            Some(record) => containers::start_detached(engine, record).await,
            None => Err(containers::no_such_container(&name)),
        },
        Action::StopContainer { name, .. } => match record_named(engine, &name)? {
            Some(record) => stop(context, &record).await,
            None => Ok(()),
        },
        Action::RemoveContainer {
            name,
            anonymous_volumes,
            ..
        } => match record_named(engine, &name)? {
            Some(record) => {
                stop(context, &record).await?;
                containers::remove_record(engine, record, anonymous_volumes).await
            }
            None => Ok(()),
        },
        Action::WaitFor {
            service,
            condition,
            required,
            dependents,
        } => {
            let waited = wait_for(context, &service, condition, &dependents).await;
            match waited {
                Err(err) if !required => {
                    let _ = conn
                        .send(&Event::Warning {
                            message: error_chain(&err),
                        })
                        .await;
                    Ok(())
                }
                other => other,
            }
        }
    };
    match &result {
        Ok(()) => progress(conn, &object, done).await,
        Err(_) => progress(conn, &object, "error").await,
    }
    result
}

/// Makes container `name` (replica `number` of `service`).
async fn create(
    context: &Context,
    service: &str,
    number: u32,
    name: &str,
) -> Result<ContainerRecord, RequestError> {
    let engine = context.engine.clone();
    let project = (*context.project).clone();
    let (service, name) = (service.to_string(), name.to_string());
    let config_files = context.config_files.clone();
    let ports = context.ports.get(&service).cloned().unwrap_or_default();
    blocking(move || {
        let new = NewContainer {
            id: containers::new_id()?,
            name,
            project,
            service,
            overrides: RunOverrides::default(),
            auto_remove: false,
            number: Some(number),
            labels: BTreeMap::from([(CONFIG_FILES_LABEL.to_string(), config_files)]),
            ports,
        };
        containers::create(&engine, new)
    })
    .await
}

/// Stops the container if it runs: its stop signal, then SIGKILL after the request's
/// timeout or its own grace period.
async fn stop(context: &Context, record: &ContainerRecord) -> Result<(), RequestError> {
    let grace = context.timeout.unwrap_or(record.plan.stop_grace_period);
    containers::stop_record(&context.engine, record, record.plan.stop_signal, grace).await
}

fn record_named(engine: &Engine, name: &str) -> Result<Option<ContainerRecord>, RequestError> {
    Ok(engine.state.container_named(name)?)
}

/// Waits until `service`'s containers meet `condition`.
async fn wait_for(
    context: &Context,
    service: &str,
    condition: DependsCondition,
    dependents: &[String],
) -> Result<(), RequestError> {
    let dependents = dependents.join(", ");
    match condition {
        DependsCondition::ServiceStarted => Ok(()),
        DependsCondition::ServiceHealthy => wait_healthy(context, service, dependents).await,
        DependsCondition::ServiceCompletedSuccessfully => {
            let records: Vec<ContainerRecord> = context
                .engine
                .state
                .containers()?
                .into_iter()
                .filter(|r| r.project == context.project.name && r.service == service)
                .filter(|r| r.number.is_some())
                .collect();
            for record in records {
                let code = match context.engine.containers.exit_of(&record.id) {
                    Some(exit) => containers::exit_code(exit).await,
                    None => match record.phase {
                        Phase::Exited { code, .. } => code,
                        _ => {
                            return fail(ProjectError::NotCompleted {
                                service: service.to_string(),
                                detail: format!("container {} never started", record.name),
                                dependents,
                            })
                        }
                    },
                };
                if code != 0 {
                    return fail(ProjectError::NotCompleted {
                        service: service.to_string(),
                        detail: format!("container {} exited with code {code}", record.name),
                        dependents,
                    });
                }
            }
            Ok(())
        }
    }
}

/// Waits until every running container of `service` is healthy; one that becomes
/// unhealthy or ends, or a service without a healthcheck, fails the wait.
async fn wait_healthy(
    context: &Context,
    service: &str,
    dependents: String,
) -> Result<(), RequestError> {
    let engine = &context.engine;
    let mut changes = engine.healths.subscribe();
    loop {
        let records: Vec<ContainerRecord> = engine
            .state
            .containers()?
            .into_iter()
            .filter(|r| r.project == context.project.name && r.service == service)
            .filter(|r| r.number.is_some())
            .collect();
        let unhealthy = |detail: String| {
            fail(ProjectError::NotHealthy {
                service: service.to_string(),
                detail,
                dependents: dependents.clone(),
            })
        };
        let mut ready = true;
        for record in &records {
            if record.plan.healthcheck.is_none() {
                return unhealthy("it has no healthcheck".to_string());
            }
            match engine.healths.of(&record.id) {
                Some(Health::Healthy) => {}
                Some(Health::Starting) => ready = false,
                Some(Health::Unhealthy) => {
                    return unhealthy(format!("container {} is unhealthy", record.name))
                }
                None => return unhealthy(format!("container {} does not run", record.name)),
            }
        }
        if ready {
            return Ok(());
        }
        if changes.changed().await.is_err() {
            return unhealthy("the engine stops".to_string());
        }
    }
}

/// `start`, `stop`, `restart`, `kill`, `rm` over a project's containers.
pub(crate) async fn lifecycle(
    engine: &Arc<Engine>,
    request: LifecycleRequest,
    conn: &Conn,
) -> Result<Reply, RequestError> {
    let LifecycleRequest {
        project,
        services,
        action,
    } = request;
    let all = engine.state.containers()?;
    let ours: Vec<ContainerRecord> = all
        .into_iter()
        .filter(|r| r.project == project && r.number.is_some())
        .collect();
    if ours.is_empty() && !matches!(action, Lifecycle::Remove { .. }) {
        return fail(ProjectError::NoSuchProject { project });
    }
    let known: BTreeSet<&str> = ours.iter().map(|r| r.service.as_str()).collect();
    if let Some(unknown) = services.iter().find(|s| !known.contains(s.as_str())) {
        return Err(RequestError::Container(
            containers::ContainerError::NoSuchService {
                project,
                service: unknown.clone(),
                known: known.into_iter().collect::<Vec<_>>().join(", "),
            },
        ));
    }
    let mut chosen: Vec<ContainerRecord> = ours
        .into_iter()
        .filter(|r| services.is_empty() || services.contains(&r.service))
        .collect();
    chosen.sort_by(|a, b| (&a.service, a.number).cmp(&(&b.service, b.number)));
    let context = Context {
        engine: engine.clone(),
        project: Arc::new(Project {
            name: project,
            ..Project::default()
        }),
        timeout: None,
        config_files: String::new(),
        ports: BTreeMap::new(),
    };
    let running = |r: &ContainerRecord| matches!(r.phase, Phase::Running { .. });
    let each = |states: (&'static str, &'static str), records: Vec<ContainerRecord>, what| {
        let context = &context;
        async move {
            let results = join_all(records.into_iter().map(|record| async move {
                let object = format!("container {}", record.name);
                progress(conn, &object, states.0).await;
                let result = match what {
                    Step::Start => containers::start_detached(&context.engine, record).await,
                    Step::Stop(timeout) => {
                        let grace = timeout.unwrap_or(record.plan.stop_grace_period);
                        containers::stop_record(
                            &context.engine,
                            &record,
                            record.plan.stop_signal,
                            grace,
                        )
                        .await
                    }
                    Step::Kill(signal) => containers::signal(&record, signal),
                    Step::Remove(volumes) => {
                        containers::remove_record(&context.engine, record, volumes).await
                    }
                };
                progress(
                    conn,
                    &object,
                    if result.is_ok() { states.1 } else { "error" },
                )
                .await;
                result
            }))
            .await;
            results
                .into_iter()
                .collect::<Result<Vec<()>, RequestError>>()
        }
    };
    let seconds = |timeout: Option<u64>| timeout.map(Duration::from_secs);
    match action {
        Lifecycle::Start => {
            let stopped = chosen.into_iter().filter(|r| !running(r)).collect();
            each(("starting", "started"), stopped, Step::Start).await?;
        }
        Lifecycle::Stop { timeout } => {
            let up = chosen.into_iter().filter(running).collect();
            each(("stopping", "stopped"), up, Step::Stop(seconds(timeout))).await?;
        }
        Lifecycle::Restart { timeout } => {
            let up = chosen.iter().filter(|r| running(r)).cloned().collect();
            each(("stopping", "stopped"), up, Step::Stop(seconds(timeout))).await?;
            // Read again: their records say they have exited now.
            let ids: BTreeSet<String> = chosen.into_iter().map(|r| r.id).collect();
            let again = engine
                .state
                .containers()?
                .into_iter()
                .filter(|r| ids.contains(&r.id))
                .collect();
            each(("starting", "started"), again, Step::Start).await?;
        }
        Lifecycle::Kill { signal } => {
            let up = chosen.into_iter().filter(running).collect();
            each(("killing", "killed"), up, Step::Kill(signal)).await?;
        }
        Lifecycle::Remove { stop, volumes } => {
            if stop {
                let up = chosen.iter().filter(|r| running(r)).cloned().collect();
                each(("stopping", "stopped"), up, Step::Stop(None)).await?;
            }
            let ids: BTreeSet<String> = chosen.into_iter().map(|r| r.id).collect();
            let stopped = engine
                .state
                .containers()?
                .into_iter()
                .filter(|r| ids.contains(&r.id) && !running(r))
                .collect();
            let removed = each(("removing", "removed"), stopped, Step::Remove(volumes)).await;
            ports::close_unused(engine, &context.project.name).await?;
            removed?;
        }
    }
    Ok(Reply::Ok)
}

/// One lifecycle step on one container.
#[derive(Clone, Copy)]
enum Step {
    Start,
    Stop(Option<Duration>),
    Kill(i32),
    Remove(bool),
}

/// `ls`: the projects with containers here (only those with a running one, unless
/// `all`), by name.
pub(crate) fn projects(engine: &Engine, all: bool) -> Result<Reply, RequestError> {
    let mut by_project: BTreeMap<String, (BTreeMap<&'static str, usize>, Vec<String>)> =
        BTreeMap::new();
    for record in engine.state.containers()? {
        let state = match record.phase {
            Phase::Creating => "creating",
            Phase::Created => "created",
            Phase::Running { .. } => "running",
            Phase::Exited { .. } => "exited",
            Phase::Removing => "removing",
        };
        let entry = by_project.entry(record.project.clone()).or_default();
        *entry.0.entry(state).or_default() += 1;
        if let Some(files) = record.labels.get(CONFIG_FILES_LABEL) {
            for file in files.split(',').filter(|f| !f.is_empty()) {
                if !entry.1.iter().any(|known| known == file) {
                    entry.1.push(file.to_string());
                }
            }
        }
    }
    let summaries = by_project
        .into_iter()
        .filter(|(_, (states, _))| all || states.contains_key("running"))
        .map(|(name, (states, config_files))| ProjectSummary {
            name,
            status: states
                .iter()
                .map(|(state, count)| format!("{state}({count})"))
                .collect::<Vec<_>>()
                .join(", "),
            config_files,
        })
        .collect();
    Ok(Reply::Projects(summaries))
}
