//! Containers: `run`, `exec`, `kill`, `stop`, `rm`, `ps`, the volumes requests, the
//! watcher that records each container's exit, and the adoption of what an earlier
//! engine left.
//!
//! A container's record is written before each step that makes something (`creating`
//! before its directory, cgroup and volumes exist; `running` right after its start), so
//! that the next engine knows what to clean or to watch after a crash. Every change of a
//! record happens under [`Containers::records`], never held while waiting for a
//! container.

use super::images;
use super::networks;
use super::prepare::{self, PrepareError};
use super::protocol::{ContainerSummary, Event, ExecRequest, PortSummary, Reply, RunRequest};
use super::server::{blocking, error_chain, Conn, Engine, RequestError};
use super::state::{ContainerRecord, Phase};
use super::volumes::VolumeError;
use super::volumes_from::{self, VolumesFromError};
use crate::image::{ImageError, Reference};
use crate::plan::network::Networking;
use crate::plan::{plan_container, resolve_user, PlanError, UserError};
use crate::runtime::caps;
use crate::runtime::cgroup::{Cgroup, CgroupError};
use crate::runtime::logfile::format_time;
use crate::runtime::process;
use crate::runtime::{
    ContainerSpec, ExecSpec, Network, Rootfs, RunningContainer, RuntimeError, Seccomp, SpecError,
    StdioSource, StdioSpec, ValidSpec,
};
use crate::spec::model::Project;
use std::collections::{BTreeMap, HashMap};
use std::fs::{self, File};
use std::io::{self, Read};
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};
use tokio::sync::watch;

/// The exit code recorded for a container whose end nobody saw (its helper was killed,
/// or it ended while no engine ran and left no exit file): Docker's 255.
pub const UNKNOWN_EXIT: i32 = 255;

/// How long the watcher waits, after a container's PID 1 has ended, for its helper to
/// write the exit file.
const EXIT_FILE_WAIT: Duration = Duration::from_secs(5);

/// A container request that failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ContainerError {
    #[error("no such container: {name} (`rcompose ps -a` lists the containers)")]
    NoSuchContainer { name: String },
    #[error("no such service: {service} (project {project} has: {known})")]
    NoSuchService {
        project: String,
        service: String,
        known: String,
    },
    #[error(
        "service {service} has no image: building images (`build:`) is not supported yet; \
         give it an `image:` and import it with `rcompose image import`"
    )]
    NoImage { service: String },
    #[error(
        "the container name {name} is already in use by container {id}: remove that \
         container, or choose another name"
    )]
    NameInUse { name: String, id: String },
    #[error("container {name} is running: stop it first, or remove it with force")]
    Running { name: String },
    #[error("container {name} is not running")]
    NotRunning { name: String },
    #[error("container {name} is being created: remove it once its creation has ended")]
    BeingCreated { name: String },
    #[error(
        "service {service} of project {project} has no running container with index \
         {index}: start one with `rcompose run -d {service}`"
    )]
    NoContainerToExec {
        project: String,
        service: String,
        index: u32,
    },
    #[error(
        "the container's standard streams did not come with the request (is the rcompose \
         command the same version as the engine?)"
    )]
    NoStdio,
    #[error(transparent)]
    Plan(#[from] PlanError),
    #[error(transparent)]
    User(#[from] UserError),
    #[error(transparent)]
    VolumesFrom(#[from] VolumesFromError),
    #[error(transparent)]
    Prepare(#[from] PrepareError),
    #[error(transparent)]
    Spec(#[from] SpecError),
    #[error(transparent)]
    Runtime(#[from] RuntimeError),
    #[error(transparent)]
    Cgroup(#[from] CgroupError),
    #[error("cannot make a container ID from /dev/urandom: {0}")]
    Random(#[source] io::Error),
    #[error("cannot read the log {}: {source}", path.display())]
    Log {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error(
        "cannot share {} with a container that joins its network namespace: {source}",
        path.display()
    )]
    ShareEtc {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("cannot duplicate the container's terminal: {0}")]
    Terminal(#[source] io::Error),
}

impl ContainerError {
    /// Docker's 126/127 for a program that can't run (or a user that can't be found
    /// for an exec), 125 otherwise.
    pub(crate) fn exit_code(&self) -> i32 {
        match self {
            ContainerError::Runtime(err) => err.exit_code(),
            ContainerError::User(_) => 126,
            _ => 125,
        }
    }
}

fn fail<T>(err: impl Into<ContainerError>) -> Result<T, RequestError> {
    Err(RequestError::Container(err.into()))
}

/// A claimed removal, released when dropped.
struct Removal<'a> {
    containers: &'a Containers,
    id: String,
}

impl Drop for Removal<'_> {
    fn drop(&mut self) {
        self.containers
            .removing
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .remove(&self.id);
    }
}

/// The engine's containers that run now.
#[derive(Debug, Default)]
pub(crate) struct Containers {
    /// Held while a record is read and written back (never across kernel or file
    /// work, so that containers are made, started and removed in parallel).
    records: tokio::sync::Mutex<()>,
    /// The containers being removed now: one remover each.
    removing: std::sync::Mutex<std::collections::HashSet<String>>,
    /// The running containers, by ID: their exit code is sent once it is recorded.
    live: std::sync::Mutex<HashMap<String, watch::Sender<Option<i32>>>>,
}

impl Containers {
    fn live(&self) -> std::sync::MutexGuard<'_, HashMap<String, watch::Sender<Option<i32>>>> {
        // Nothing panics while holding it; a poisoned map is still right.
        self.live
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Starts tracking a running container; its exit code comes on the receiver.
    fn track(&self, id: &str) -> watch::Receiver<Option<i32>> {
        let (exit, receiver) = watch::channel(None);
        self.live().insert(id.to_string(), exit);
        receiver
    }

    /// The exit code of a running container, once it has ended; `None` when it does
    /// not run.
    pub(crate) fn exit_of(&self, id: &str) -> Option<watch::Receiver<Option<i32>>> {
        self.live().get(id).map(watch::Sender::subscribe)
    }

    /// Claims the removal of container `id`; `None` when another remover has it.
    fn claim_removal(&self, id: &str) -> Option<Removal<'_>> {
        let mut removing = self
            .removing
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        removing.insert(id.to_string()).then(|| Removal {
            containers: self,
            id: id.to_string(),
        })
    }

    fn exited(&self, id: &str, code: i32) {
        if let Some(exit) = self.live().remove(id) {
            exit.send_replace(Some(code));
        }
    }
}

/// Waits until the exit code comes.
pub(crate) async fn exit_code(mut exit: watch::Receiver<Option<i32>>) -> i32 {
    let waited = exit.wait_for(Option::is_some).await.map(|code| *code);
    // The sender goes once the code is set: the last value is the code.
    waited
        .unwrap_or_else(|_| *exit.borrow())
        .unwrap_or(UNKNOWN_EXIT)
}

/// `run`: plans, prepares, records and starts a one-off container of a service;
/// attached, waits for its end.
pub(crate) async fn run(
    engine: &Arc<Engine>,
    request: RunRequest,
    fds: Vec<OwnedFd>,
    conn: &Conn,
) -> Result<Reply, RequestError> {
    let RunRequest {
        project,
        service,
        overrides,
        detach,
        remove,
    } = request;
    let id = new_id()?;
    let name = overrides.name.clone().unwrap_or_else(|| {
        format!(
            "{}-{}-run-{}",
            project.name,
            service,
            id.get(..12).unwrap_or(&id)
        )
    });
    let object = format!("container {name}");
    super::project::ensure_networks(engine, &project, &service).await?;
    progress(conn, &object, "creating").await;
    let record = {
        let engine = engine.clone();
        let new = NewContainer {
            id,
            name,
            project,
            service,
            overrides,
            auto_remove: remove,
            number: None,
            labels: BTreeMap::new(),
            ports: Vec::new(),
        };
        blocking(move || create(&engine, new)).await?
    };
    progress(conn, &object, "created").await;
    let (stdio, terminal) = match stdio(detach, record.spec.spec().tty, fds) {
        Ok(stdio) => stdio,
        Err(err) => {
            discard(engine, &record).await;
            return Err(err);
        }
    };
    if let Some(master) = terminal {
        // The caller relays it; the container's output waits in the terminal meanwhile.
        let _ = conn.send_with(&Event::Terminal, Some(master.as_fd())).await;
    }
    progress(conn, &object, "starting").await;
    let exit = start(engine, record.clone(), stdio, !detach).await?;
    progress(conn, &object, "started").await;
    let _ = conn
        .send(&Event::Started {
            name: record.name.clone(),
            id: record.id.clone(),
        })
        .await;
    if detach {
        return Ok(Reply::Ok);
    }
    tokio::select! {
        code = exit_code(exit) => Ok(Reply::Exited { code }),
        // Nobody to tell; the container runs on (and is removed at its end with --rm).
        () = conn.closed() => Ok(Reply::Ok),
    }
}

/// A container to make: a one-off one (`run`) or a replica (`up`).
pub(crate) struct NewContainer {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) project: Project,
    pub(crate) service: String,
    pub(crate) overrides: crate::plan::RunOverrides,
    pub(crate) auto_remove: bool,
    /// The replica number; `None` for a one-off container.
    pub(crate) number: Option<u32>,
    /// Labels over the service's (`com.docker.compose.project.config_files`).
    pub(crate) labels: BTreeMap<String, String>,
    /// Its service's published ports, as bound.
    pub(crate) ports: Vec<PortSummary>,
}

/// Plans and prepares the container, recorded `creating` first, `created` once made.
pub(crate) fn create(engine: &Engine, new: NewContainer) -> Result<ContainerRecord, RequestError> {
    let NewContainer {
        id,
        name,
        project,
        service,
        overrides,
        auto_remove,
        number,
        labels: extra_labels,
        ports,
    } = new;
    let Some(definition) = project.services.get(&service) else {
        return fail(ContainerError::NoSuchService {
            project: project.name.clone(),
            service,
            known: project
                .services
                .keys()
                .cloned()
                .collect::<Vec<_>>()
                .join(", "),
        });
    };
    let Some(image_name) = definition.image.clone() else {
        return fail(ContainerError::NoImage { service });
    };
    let images = images::read(engine);
    let reference = Reference::parse(&image_name).map_err(ImageError::from)?;
    let image = images.inspect(&reference)?;
    let mut plan = plan_container(&project, &service, &image.config, &overrides, &name)
        .map_err(ContainerError::from)?;
    if !plan.volumes_from.is_empty() {
        let taken = volumes_from::resolve(
            &plan.volumes_from,
            &plan.mounts,
            &project.name,
            &engine.state.containers()?,
            &engine.volumes,
        )
        .map_err(ContainerError::from)?;
        plan.mounts.extend(taken);
    }
    let config_hash = crate::spec::model::config_hash(definition);
    let mut labels = plan.labels.clone();
    let oneoff = if number.is_some() { "False" } else { "True" };
    for (key, value) in [
        ("com.docker.compose.project", project.name.clone()),
        ("com.docker.compose.service", service.clone()),
        ("com.docker.compose.oneoff", oneoff.to_string()),
        ("com.docker.compose.config-hash", config_hash.clone()),
    ] {
        labels.insert(key.to_string(), value);
    }
    if let Some(number) = number {
        labels.insert(
            "com.docker.compose.container-number".to_string(),
            number.to_string(),
        );
    }
    labels.extend(extra_labels);
    let (netns, attachments) = match &plan.networking {
        Networking::Bridge { attachments } => {
            let path = networks::netns_path(engine, &id);
            plan.network = Network::Join { path: path.clone() };
            (Some(path), attachments.clone())
        }
        // A joined namespace is found when the container starts (see `start`).
        Networking::Service { .. }
        | Networking::Container { .. }
        | Networking::Host
        | Networking::None => (None, Vec::new()),
    };
    let endpoints = networks::allocate(
        engine,
        &id,
        &name,
        &attachments,
        &link_aliases(&project, &service),
        &plan.hostname,
    )?;
    let mut record = ContainerRecord {
        id: id.clone(),
        name,
        project: project.name.clone(),
        service,
        number,
        image: image_name,
        image_id: image.id.to_string(),
        config_hash,
        labels,
        created: format_time(SystemTime::now()),
        phase: Phase::Creating,
        spec: provisional_spec(&engine.layout.container_dir(&id))?,
        plan,
        // Named before it exists, so that a crash before the end cleans it.
        cgroup: engine
            .hierarchy
            .as_ref()
            .map(|_| format!("{}/{id}", engine.layout.cgroup_parent())),
        volumes: Vec::new(),
        auto_remove,
        netns,
        endpoints,
        ports,
        started: None,
    };
    {
        // The name is taken by the `creating` record, written under the records lock.
        let _records = engine.containers.records.blocking_lock();
        if let Some(other) = engine.state.container_named(&record.name)? {
            let _ = networks::release(engine, &id, &record.endpoints);
            return fail(ContainerError::NameInUse {
                name: record.name,
                id: other.id,
            });
        }
        if let Err(err) = engine.state.put_container(&record) {
            let _ = networks::release(engine, &id, &record.endpoints);
            return Err(err.into());
        }
    }
    let prepared = prepare::prepare(
        &engine.layout,
        &engine.state,
        &images,
        &image.id,
        &record.plan,
        &id,
        &record.project,
        engine.hierarchy.as_ref(),
    );
    let prepared = match prepared {
        Ok(prepared) => prepared,
        Err(err) => {
            // prepare undid what it made.
            let _ = networks::release(engine, &id, &record.endpoints);
            let _ = engine.state.remove_container(&id);
            return fail(err);
        }
    };
    let wired = networks::wire(engine, &record, &attachments).and_then(|()| {
        let gateways = networks::gateways(engine, &record.endpoints)?;
        let addresses: Vec<_> = record.endpoints.iter().map(|e| e.address).collect();
        prepare::write_network_files(&prepared.dir, &record.plan, &addresses, &gateways)
            .map_err(|err| RequestError::Container(err.into()))
    });
    if let Err(err) = wired {
        let _ = networks::unwire(engine, &record);
        let _ = prepare::destroy(&engine.layout, &id, prepared.cgroup.as_ref());
        let _ = engine.state.remove_container(&id);
        return Err(err);
    }
    record.spec = prepared.spec;
    record.cgroup = prepared.cgroup.as_ref().map(|c| c.name().to_string());
    record.volumes = prepared.volumes;
    record.phase = Phase::Created;
    let written = {
        let _records = engine.containers.records.blocking_lock();
        engine.state.put_container(&record)
    };
    if let Err(err) = written {
        let _ = networks::unwire(engine, &record);
        let _ = prepare::destroy(&engine.layout, &id, prepared.cgroup.as_ref());
        let _ = engine.state.remove_container(&id);
        return Err(err.into());
    }
    Ok(record)
}

/// The names other services of the project give service `service` with `links`
/// (`db:database` makes `database` a name of db's containers). They answer on every
/// network the containers share, not only for the linking container.
fn link_aliases(project: &Project, service: &str) -> Vec<String> {
    let mut aliases = Vec::new();
    for other in project.services.values() {
        for link in &other.links {
            let (target, alias) = link.split_once(':').unwrap_or((link, link));
            if target == service && alias != service && !aliases.iter().any(|a| a == alias) {
                aliases.push(alias.to_string());
            }
        }
    }
    aliases
}

/// The namespace a `network_mode: service:X` or `container:X` container joins, as it
/// starts: that container's namespace file, else its running PID 1's namespace, else
/// the host's when it uses the host's; and that container's ID, whose `/etc/hosts` and
/// `/etc/resolv.conf` it shares.
fn joined_network(
    engine: &Engine,
    record: &ContainerRecord,
) -> Result<Option<(Network, String)>, RequestError> {
    if !matches!(
        record.plan.networking,
        Networking::Service { .. } | Networking::Container { .. }
    ) {
        return Ok(None);
    }
    let records = engine.state.containers()?;
    let alive = |r: &&ContainerRecord| !matches!(r.phase, Phase::Creating | Phase::Removing);
    let (mut candidates, target): (Vec<&ContainerRecord>, &str) = match &record.plan.networking {
        Networking::Service { service } => (
            records
                .iter()
                .filter(alive)
                .filter(|r| r.project == record.project && r.service == *service)
                .filter(|r| r.number.is_some())
                .collect(),
            service,
        ),
        Networking::Container { container } => (
            records
                .iter()
                .filter(alive)
                .filter(|r| r.name == *container || r.id == *container)
                .collect(),
            container,
        ),
        _ => return Ok(None),
    };
    candidates.sort_by_key(|r| r.number);
    let Some(joined) = candidates.first() else {
        return fail(ContainerError::NoSuchContainer {
            name: target.to_string(),
        });
    };
    let found = |network| Ok(Some((network, joined.id.clone())));
    if joined.spec.spec().network == Network::Host {
        return found(Network::Host);
    }
    if let Some(path) = &joined.netns {
        return found(Network::Join { path: path.clone() });
    }
    if let Phase::Running {
        pid, start_time, ..
    } = record.phase
    {
        if process::start_time(pid) == Some(start_time) {
            return found(Network::Join {
                path: PathBuf::from(format!("/proc/{pid}/ns/net")),
            });
        }
    }
    Err(RequestError::from(networks::NetworkError::NoNamespace {
        container: record.name.clone(),
        target: target.to_string(),
    }))
}

/// Gives a container that joins another's namespace that one's `/etc/hosts` and
/// `/etc/resolv.conf` (its own files, bind-mounted, get their content).
fn share_etc_files(
    engine: &Engine,
    record: &ContainerRecord,
    joined: &str,
) -> Result<(), RequestError> {
    let (from, to) = (
        engine.layout.container_dir(joined),
        engine.layout.container_dir(&record.id),
    );
    for name in ["hosts", "resolv.conf"] {
        let source = from.join(name);
        fs::copy(&source, to.join(name)).map_err(|err| ContainerError::ShareEtc {
            path: source,
            source: err,
        })?;
    }
    Ok(())
}

/// The spec a record holds while its container is being made: the real one exists
/// only once `prepare` has made everything it names.
fn provisional_spec(dir: &Path) -> Result<ValidSpec, RequestError> {
    let spec = ContainerSpec::new(
        Rootfs::Directory {
            path: dir.join("rootfs"),
        },
        "creating",
        vec!["true".to_string()],
    );
    spec.validate().or_else(fail)
}

/// A container that can't be started after all: its record and what it made go.
async fn discard(engine: &Arc<Engine>, record: &ContainerRecord) {
    let (engine, id) = (engine.clone(), record.id.clone());
    let removed = blocking(move || {
        if let Some(record) = engine.state.container(&id)? {
            remove_made(&engine, &record, true)?;
        }
        Ok(())
    })
    .await;
    if let Err(err) = removed {
        eprintln!(
            "rcompose engine: removing container {}: {}",
            record.name,
            error_chain(&err)
        );
    }
}

/// The container's standard streams, and the terminal's controlling side for the
/// caller when it has one.
fn stdio(
    detach: bool,
    tty: bool,
    fds: Vec<OwnedFd>,
) -> Result<(StdioSpec, Option<OwnedFd>), RequestError> {
    if detach {
        return Ok((
            StdioSpec {
                stdin: StdioSource::Null,
                stdout: StdioSource::Null,
                stderr: StdioSource::Null,
            },
            None,
        ));
    }
    if tty {
        let (master, slave) = process::open_pty().map_err(ContainerError::from)?;
        let copy = |fd: &OwnedFd| fd.try_clone().map_err(ContainerError::Terminal);
        let stdio = StdioSpec {
            stdin: StdioSource::Fd(copy(&slave)?),
            stdout: StdioSource::Fd(copy(&slave)?),
            stderr: StdioSource::Fd(slave),
        };
        return Ok((stdio, Some(master)));
    }
    let mut fds = fds.into_iter();
    match (fds.next(), fds.next(), fds.next()) {
        (Some(stdin), Some(stdout), Some(stderr)) => Ok((
            StdioSpec {
                stdin: StdioSource::Fd(stdin),
                stdout: StdioSource::Fd(stdout),
                stderr: StdioSource::Fd(stderr),
            },
            None,
        )),
        _ => fail(ContainerError::NoStdio),
    }
}

/// Starts a container of `up` or `start` (made, or exited) with no standard streams:
/// its output goes to its log. One that runs already is left as it is.
pub(crate) async fn start_detached(
    engine: &Arc<Engine>,
    record: ContainerRecord,
) -> Result<(), RequestError> {
    if engine.containers.exit_of(&record.id).is_some() {
        return Ok(());
    }
    if matches!(record.phase, Phase::Exited { .. }) {
        // Its cgroup went with its end.
        if let (Some(hierarchy), Some(name)) = (engine.hierarchy.as_ref(), &record.cgroup) {
            hierarchy
                .create(name, &record.plan.limits)
                .map_err(ContainerError::from)?;
        }
    }
    let stdio = StdioSpec {
        stdin: StdioSource::Null,
        stdout: StdioSource::Null,
        stderr: StdioSource::Null,
    };
    start(engine, record, stdio, false).await.map(drop)
}

/// Removes a container: killed first if it runs, then what it made, then its record;
/// with `anonymous_volumes`, its anonymous volumes too.
pub(crate) async fn remove_record(
    engine: &Arc<Engine>,
    record: ContainerRecord,
    anonymous_volumes: bool,
) -> Result<(), RequestError> {
    if let Some(exit) = engine.containers.exit_of(&record.id) {
        signal_running(&record, nix::libc::SIGKILL)?;
        exit_code(exit).await;
    }
    let shared = engine.clone();
    blocking(move || {
        // Its watcher may have removed it already (`--rm`), or recorded its end.
        if let Some(record) = shared.state.container(&record.id)? {
            remove_made(&shared, &record, anonymous_volumes)?;
        }
        Ok(())
    })
    .await
}

/// Sends `signal` to a running container's PID 1 (one that has ended is left alone).
pub(crate) fn signal(record: &ContainerRecord, signal: i32) -> Result<(), RequestError> {
    signal_running(record, signal).map(drop)
}

/// The error for a container that is not there.
pub(crate) fn no_such_container(name: &str) -> RequestError {
    RequestError::Container(ContainerError::NoSuchContainer {
        name: name.to_string(),
    })
}

/// Starts a created container and its watcher; the exit code comes on the receiver.
/// Attached, its output goes to the caller's streams rather than to its log.
async fn start(
    engine: &Arc<Engine>,
    mut record: ContainerRecord,
    stdio: StdioSpec,
    attached: bool,
) -> Result<watch::Receiver<Option<i32>>, RequestError> {
    let mut spec = ContainerSpec::from(record.spec.clone());
    if let Some((network, joined)) = joined_network(engine, &record)? {
        share_etc_files(engine, &record, &joined)?;
        spec.network = network;
    }
    if attached {
        spec.log = None;
    } else {
        // Nobody is there to type into a terminal.
        spec.tty = false;
    }
    let spec = spec.validate().map_err(ContainerError::from)?;
    let (id, exit_file) = (record.id.clone(), record.spec.spec().exit_file.clone());
    let shared = engine.clone();
    let (running, exit) = blocking(move || {
        let engine = shared;
        let running = match engine.runtime.spawn(&spec, stdio) {
            Ok(running) => running,
            Err(err) => {
                // It never ran: it ended with Docker's code for what went wrong.
                let code = err.exit_code();
                if let Err(more) = record_exit(&engine, &record.id, code) {
                    eprintln!(
                        "rcompose engine: container {}: {}",
                        record.name,
                        error_chain(&more)
                    );
                }
                return fail(err);
            }
        };
        let pid = running.pid();
        let start_time = process::start_time(pid).unwrap_or(0);
        let exit = engine.containers.track(&record.id);
        record.phase = Phase::Running {
            pid,
            start_time,
            // PIDs fit in an i32 (the kernel's pid_max is at most 2^22).
            helper_pid: i32::try_from(running.helper_pid()).unwrap_or(0),
        };
        record.started = Some(format_time(SystemTime::now()));
        let written = {
            let _records = engine.containers.records.blocking_lock();
            engine.state.put_container(&record)
        };
        let written = written
            .map_err(RequestError::from)
            .and_then(|()| networks::publish(&engine, &record));
        engine.ports.started(&record);
        super::health::watch(&engine, &record);
        if let Err(err) = written {
            // An unrecorded container must not run on: nobody could stop it.
            let _ = process::signal(pid, nix::libc::SIGKILL);
            let _ = running.wait();
            engine.containers.exited(&record.id, UNKNOWN_EXIT);
            let _ = remove_made(&engine, &record, record.auto_remove);
            return Err(err);
        }
        Ok((running, exit))
    })
    .await?;
    watch_exit(engine, id, running.pid(), exit_file, Some(running));
    Ok(exit)
}

/// Waits (on the blocking pool) for the container to end, then records it.
fn watch_exit(
    engine: &Arc<Engine>,
    id: String,
    pid: i32,
    exit_file: Option<PathBuf>,
    child: Option<RunningContainer>,
) {
    let engine = engine.clone();
    tokio::spawn(async move {
        let name = id.clone();
        let code = tokio::task::spawn_blocking(move || {
            wait_for_exit(&name, pid, child, exit_file.as_deref())
        })
        .await
        .unwrap_or(UNKNOWN_EXIT);
        finish(&engine, &id, code).await;
    });
}

/// Blocks until the container ends; its exit code. From the helper when it is our
/// child; otherwise (adopted, or its helper was killed) from its exit file once its
/// PID 1 is gone.
fn wait_for_exit(
    id: &str,
    pid: i32,
    child: Option<RunningContainer>,
    exit_file: Option<&Path>,
) -> i32 {
    if let Some(child) = child {
        match child.wait() {
            Ok(status) => return status.code(),
            Err(err) => {
                eprintln!(
                    "rcompose engine: container {id}: {}; its process {pid} is the \
                     engine's child now",
                    error_chain(&err)
                );
                if let Some(code) = reap(pid) {
                    return code;
                }
            }
        }
    }
    if let Err(err) = process::wait_exit(pid, None) {
        eprintln!("rcompose engine: container {id}: {}", error_chain(&err));
    }
    let Some(exit_file) = exit_file else {
        return UNKNOWN_EXIT;
    };
    // Its helper writes the file right after PID 1 has ended.
    let deadline = Instant::now() + EXIT_FILE_WAIT;
    loop {
        if let Some(status) = process::read_exit_file(exit_file) {
            return status.code();
        }
        if Instant::now() > deadline {
            return UNKNOWN_EXIT;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Waits for the container's PID 1 as its parent: once its helper is gone, the engine
/// (the subreaper of what it starts) is. Its exit code; `None` when it is not the
/// engine's child after all.
fn reap(pid: i32) -> Option<i32> {
    use nix::sys::wait::{waitpid, WaitStatus};
    loop {
        match waitpid(nix::unistd::Pid::from_raw(pid), None) {
            Ok(WaitStatus::Exited(_, code)) => return Some(code),
            Ok(WaitStatus::Signaled(_, signal, _)) => return Some(128 + signal as i32),
            Ok(_) | Err(nix::errno::Errno::EINTR) => {}
            Err(_) => return None,
        }
    }
}

/// Records the end of a container, then tells who waits for it.
async fn finish(engine: &Arc<Engine>, id: &str, code: i32) {
    // No answer names a container that has ended, no connection goes to it.
    networks::unpublish(engine, id);
    engine.ports.stopped(id);
    {
        let (shared, owned) = (engine.clone(), id.to_string());
        if let Err(err) = blocking(move || record_exit(&shared, &owned, code)).await {
            eprintln!("rcompose engine: container {id}: {}", error_chain(&err));
        }
    }
    engine.containers.exited(id, code);
}

/// Marks a container exited with `code`, removes its cgroup, and removes it whole
/// when it was started with `--rm`.
fn record_exit(engine: &Engine, id: &str, code: i32) -> Result<(), RequestError> {
    let record = {
        let _records = engine.containers.records.blocking_lock();
        let Some(mut record) = engine.state.container(id)? else {
            return Ok(());
        };
        if matches!(record.phase, Phase::Running { .. } | Phase::Created) {
            record.phase = Phase::Exited {
                code,
                finished: format_time(SystemTime::now()),
            };
            engine.state.put_container(&record)?;
        }
        record
    };
    if let Some(cgroup) = cgroup_of(engine, &record) {
        cgroup.remove().map_err(ContainerError::from)?;
    }
    if record.auto_remove {
        remove_made(engine, &record, true)?;
    }
    Ok(())
}

/// The record's cgroup.
fn cgroup_of(engine: &Engine, record: &ContainerRecord) -> Option<Cgroup> {
    let name = record.cgroup.as_deref()?;
    Some(engine.hierarchy.as_ref()?.open(name))
}

/// Removes what the container made (its directory and cgroup), then its record, then,
/// with `anonymous_volumes`, the anonymous volumes it used (as `--rm` does).
fn remove_made(
    engine: &Engine,
    record: &ContainerRecord,
    anonymous_volumes: bool,
) -> Result<(), RequestError> {
    // One remover at a time; a second one finds it done (or being done).
    let Some(_removal) = engine.containers.claim_removal(&record.id) else {
        return Ok(());
    };
    {
        let _records = engine.containers.records.blocking_lock();
        if engine.state.container(&record.id)?.is_none() {
            return Ok(());
        }
        let mut removing = record.clone();
        removing.phase = Phase::Removing;
        engine.state.put_container(&removing)?;
    }
    engine.ports.stopped(&record.id);
    networks::unwire(engine, record)?;
    prepare::destroy(
        &engine.layout,
        &record.id,
        cgroup_of(engine, record).as_ref(),
    )
    .map_err(ContainerError::from)?;
    let _records = engine.containers.records.blocking_lock();
    engine.state.remove_container(&record.id)?;
    if anonymous_volumes {
        for name in &record.volumes {
            let anonymous = engine
                .state
                .volume(name)?
                .is_some_and(|volume| volume.labels.contains_key(prepare::ANONYMOUS_VOLUME_LABEL));
            if anonymous {
                // One another container still mounts (`volumes_from`) stays, as with
                // Docker; the last of them removes it.
                match engine.volumes.remove(&engine.state, name) {
                    Ok(()) | Err(VolumeError::InUse { .. }) => {}
                    Err(err) => return Err(err.into()),
                }
            }
        }
    }
    Ok(())
}

/// `kill`: a signal to the container's PID 1.
pub(crate) async fn kill(
    engine: &Arc<Engine>,
    container: &str,
    signal: i32,
) -> Result<Reply, RequestError> {
    let record = find(engine, container)?;
    if !signal_running(&record, signal)? {
        return fail(ContainerError::NotRunning { name: record.name });
    }
    Ok(Reply::Ok)
}

/// Sends `signal` to the container's PID 1 if it still runs; whether it did.
fn signal_running(record: &ContainerRecord, signal: i32) -> Result<bool, RequestError> {
    match record.phase {
        Phase::Running {
            pid, start_time, ..
        } if process::start_time(pid) == Some(start_time) => {
            process::signal(pid, signal).map_err(ContainerError::from)?;
            Ok(true)
        }
        _ => Ok(false),
    }
}

/// `stop`: the stop signal, then SIGKILL after the grace period (or `timeout` seconds).
pub(crate) async fn stop(
    engine: &Arc<Engine>,
    container: &str,
    timeout: Option<u64>,
) -> Result<Reply, RequestError> {
    let record = find(engine, container)?;
    let grace = timeout.map_or(record.plan.stop_grace_period, Duration::from_secs);
    stop_record(engine, &record, record.plan.stop_signal, grace).await?;
    Ok(Reply::Ok)
}

/// Stops a running container and waits until its exit is recorded; a container that
/// does not run is left as it is.
pub(crate) async fn stop_record(
    engine: &Arc<Engine>,
    record: &ContainerRecord,
    signal: i32,
    grace: Duration,
) -> Result<(), RequestError> {
    let Some(exit) = engine.containers.exit_of(&record.id) else {
        return Ok(());
    };
    signal_running(record, signal)?;
    if tokio::time::timeout(grace, exit_code(exit.clone()))
        .await
        .is_err()
    {
        signal_running(record, nix::libc::SIGKILL)?;
        exit_code(exit).await;
    }
    Ok(())
}

/// `rm`: removes a container that does not run (any with `force`, killed first).
pub(crate) async fn remove(
    engine: &Arc<Engine>,
    container: &str,
    force: bool,
) -> Result<Reply, RequestError> {
    let record = find(engine, container)?;
    if let Some(exit) = engine.containers.exit_of(&record.id) {
        if !force {
            return fail(ContainerError::Running { name: record.name });
        }
        signal_running(&record, nix::libc::SIGKILL)?;
        exit_code(exit).await;
    }
    if matches!(record.phase, Phase::Creating) {
        return fail(ContainerError::BeingCreated { name: record.name });
    }
    let (engine, id) = (engine.clone(), record.id);
    blocking(move || {
        // Its watcher may have removed it already (`--rm`).
        if let Some(record) = engine.state.container(&id)? {
            remove_made(&engine, &record, false)?;
        }
        Ok(Reply::Ok)
    })
    .await
}

/// `ps`: the containers, oldest first.
pub(crate) fn list(
    engine: &Engine,
    project: Option<&str>,
    all: bool,
) -> Result<Reply, RequestError> {
    let mut records: Vec<ContainerRecord> = engine
        .state
        .containers()?
        .into_iter()
        .filter(|r| project.is_none_or(|p| r.project == p))
        .filter(|r| all || matches!(r.phase, Phase::Running { .. }))
        .collect();
    records.sort_by(|a, b| (&a.created, &a.name).cmp(&(&b.created, &b.name)));
    Ok(Reply::Containers(
        records
            .iter()
            .map(|record| {
                let mut summary = summary(record);
                summary.health = engine
                    .healths
                    .of(&record.id)
                    .map(|health| health.name().to_string());
                summary
            })
            .collect(),
    ))
}

fn summary(record: &ContainerRecord) -> ContainerSummary {
    let (state, exit_code) = match &record.phase {
        Phase::Creating => ("creating", None),
        Phase::Created => ("created", None),
        Phase::Running { .. } => ("running", None),
        Phase::Exited { code, .. } => ("exited", Some(*code)),
        Phase::Removing => ("removing", None),
    };
    ContainerSummary {
        id: record.id.clone(),
        name: record.name.clone(),
        project: record.project.clone(),
        service: record.service.clone(),
        image: record.image.clone(),
        state: state.to_string(),
        exit_code,
        labels: record.labels.clone(),
        number: record.number,
        command: record.plan.argv.join(" "),
        created: record.created.clone(),
        started: record.started.clone(),
        finished: match &record.phase {
            Phase::Exited { finished, .. } => Some(finished.clone()),
            _ => None,
        },
        // Only a running container takes connections (as Docker shows it).
        ports: if state == "running" {
            record.ports.clone()
        } else {
            Vec::new()
        },
        networks: record
            .endpoints
            .iter()
            .map(|e| (e.network.clone(), e.address.to_string()))
            .collect(),
        health: None,
    }
}

/// The container `name` means: its name, its ID, or a unique prefix of its ID.
pub(crate) fn find(engine: &Engine, name: &str) -> Result<ContainerRecord, RequestError> {
    let records = engine.state.containers()?;
    if let Some(record) = records.iter().find(|r| r.name == name || r.id == name) {
        return Ok(record.clone());
    }
    let mut prefixed = records
        .into_iter()
        .filter(|r| !name.is_empty() && r.id.starts_with(name));
    match (prefixed.next(), prefixed.next()) {
        (Some(record), None) => Ok(record),
        _ => fail(ContainerError::NoSuchContainer {
            name: name.to_string(),
        }),
    }
}

/// `exec`: a process in a running container, with its namespaces, cgroup, user and
/// capabilities (or all of them with `privileged`).
pub(crate) async fn exec(
    engine: &Arc<Engine>,
    request: ExecRequest,
    fds: Vec<OwnedFd>,
    conn: &Conn,
) -> Result<Reply, RequestError> {
    let record = exec_target(engine, &request)?;
    let Phase::Running { pid, .. } = record.phase else {
        return fail(ContainerError::NotRunning { name: record.name });
    };
    let spec = exec_spec(&record, pid, &request)?;
    let (stdio, terminal) = stdio(false, request.tty, fds)?;
    if let Some(master) = terminal {
        let _ = conn.send_with(&Event::Terminal, Some(master.as_fd())).await;
    }
    let shared = engine.clone();
    let running = blocking(move || shared.runtime.exec(&spec, stdio).or_else(fail)).await?;
    let _ = conn
        .send(&Event::Started {
            name: record.name.clone(),
            id: record.id.clone(),
        })
        .await;
    let wait = blocking(move || running.wait().or_else(fail));
    tokio::select! {
        status = wait => Ok(Reply::Exited { code: status?.code() }),
        () = conn.closed() => Ok(Reply::Ok),
    }
}

/// The running container of the service with number `index`; for services with only
/// one-off containers (`run -d`), the `index`th of those, oldest first.
fn exec_target(engine: &Engine, request: &ExecRequest) -> Result<ContainerRecord, RequestError> {
    let mut running: Vec<ContainerRecord> = engine
        .state
        .containers()?
        .into_iter()
        .filter(|r| r.project == request.project && r.service == request.service)
        .filter(|r| matches!(r.phase, Phase::Running { .. }))
        .collect();
    running.sort_by(|a, b| (&a.created, &a.name).cmp(&(&b.created, &b.name)));
    let numbered = running.iter().position(|r| r.number == Some(request.index));
    let oneoff = || {
        let index = usize::try_from(request.index).ok()?.checked_sub(1)?;
        running
            .iter()
            .enumerate()
            .filter(|(_, r)| r.number.is_none())
            .nth(index)
            .map(|(at, _)| at)
    };
    match numbered.or_else(oneoff) {
        Some(at) => Ok(running.swap_remove(at)),
        None => fail(ContainerError::NoContainerToExec {
            project: request.project.clone(),
            service: request.service.clone(),
            index: request.index,
        }),
    }
}

/// The exec's process: the container's environment, user, working directory,
/// capabilities and seccomp filter, with the request's changes.
pub(crate) fn exec_spec(
    record: &ContainerRecord,
    pid: i32,
    request: &ExecRequest,
) -> Result<ExecSpec, RequestError> {
    let spec = record.spec.spec();
    let mut env = spec.env.clone();
    for entry in &request.env {
        // `-e K` without a value was resolved by the caller when it could be.
        if let Some((key, value)) = entry.split_once('=') {
            env.insert(key.to_string(), value.to_string());
        }
    }
    let user = match &request.user {
        Some(user) => {
            // The container's own files, through its root.
            let etc = PathBuf::from(format!("/proc/{pid}/root/etc"));
            let passwd = std::fs::read_to_string(etc.join("passwd")).ok();
            let group = std::fs::read_to_string(etc.join("group")).ok();
            resolve_user(
                user,
                &record.plan.group_add,
                passwd.as_deref(),
                group.as_deref(),
            )
            .map_err(ContainerError::from)?
        }
        None => spec.user.clone(),
    };
    let (capabilities, seccomp) = if request.privileged {
        let all = caps::container_capabilities(true, &[], &[]).map_err(ContainerError::from)?;
        (all, Seccomp::Unconfined)
    } else {
        (record.spec.capabilities(), spec.seccomp)
    };
    Ok(ExecSpec {
        pid,
        argv: request.command.clone(),
        env,
        cwd: request
            .workdir
            .as_ref()
            .map_or_else(|| spec.cwd.clone(), PathBuf::from),
        user,
        capabilities,
        no_new_privileges: spec.no_new_privileges,
        seccomp,
        cgroup_procs: spec
            .cgroup
            .as_ref()
            .map(|cgroup| cgroup.procs.clone())
            .unwrap_or_default(),
        tty: request.tty,
    })
}

/// Adopts what an earlier engine left: watches the containers that still run, records
/// the end of those that ended meanwhile, and cleans what was half made or half removed.
pub(crate) async fn adopt(engine: &Arc<Engine>) {
    let records = match engine.state.containers() {
        Ok(records) => records,
        Err(err) => {
            eprintln!(
                "rcompose engine: cannot read the containers to adopt: {}",
                error_chain(&err)
            );
            return;
        }
    };
    super::ports::restore(engine, &records).await;
    for record in records {
        let exit_file = record.spec.spec().exit_file.clone();
        match record.phase {
            Phase::Running {
                pid, start_time, ..
            } if process::start_time(pid) == Some(start_time) => {
                engine.containers.track(&record.id);
                engine.ports.started(&record);
                super::health::watch(engine, &record);
                if let Err(err) = networks::publish(engine, &record) {
                    eprintln!(
                        "rcompose engine: container {}: {}",
                        record.name,
                        error_chain(&err)
                    );
                }
                watch_exit(engine, record.id, pid, exit_file, None);
            }
            Phase::Running { .. } => {
                // It ended while no engine ran: its helper left the exit file.
                let code = exit_file
                    .as_deref()
                    .and_then(process::read_exit_file)
                    .map_or(UNKNOWN_EXIT, |status| status.code());
                finish(engine, &record.id, code).await;
            }
            Phase::Creating | Phase::Removing => {
                let (shared, name) = (engine.clone(), record.name.clone());
                let cleaned = blocking(move || {
                    remove_made(&shared, &record, record.auto_remove)?;
                    Ok(())
                })
                .await;
                if let Err(err) = cleaned {
                    eprintln!(
                        "rcompose engine: cleaning container {name}: {}",
                        error_chain(&err)
                    );
                }
            }
            Phase::Created => {
                // Started by an engine that died before recording it: nobody can watch
                // it, so it is stopped and recorded as ended.
                let started = cgroup_of(engine, &record)
                    .and_then(|cgroup| cgroup.pids().ok())
                    .is_some_and(|pids| !pids.is_empty());
                if started {
                    finish(engine, &record.id, UNKNOWN_EXIT).await;
                }
            }
            Phase::Exited { .. } => {}
        }
    }
}

/// Tells the caller that `object` is now in `state`.
pub(crate) async fn progress(conn: &Conn, object: &str, state: &str) {
    let _ = conn
        .send(&Event::Progress {
            object: object.to_string(),
            state: state.to_string(),
        })
        .await;
}

/// A new container ID: 64 random hex digits.
pub(crate) fn new_id() -> Result<String, RequestError> {
    let mut bytes = [0u8; 32];
    File::open("/dev/urandom")
        .and_then(|mut random| random.read_exact(&mut bytes))
        .map_err(ContainerError::Random)?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// `volume ls`.
pub(crate) fn volume_list(engine: &Engine, project: Option<&str>) -> Result<Reply, RequestError> {
    let volumes = engine
        .state
        .volumes()?
        .into_iter()
        .filter(|v| project.is_none_or(|p| v.project.as_deref() == Some(p)))
        .map(|v| engine.volumes.summary(&v))
        .collect();
    Ok(Reply::Volumes(volumes))
}

/// `volume inspect`: docker's shape, one object per name.
pub(crate) fn volume_inspect(engine: &Engine, names: &[String]) -> Result<Reply, RequestError> {
    let mut found = Vec::new();
    for name in names {
        let Some(volume) = engine.state.volume(name)? else {
            return Err(super::volumes::VolumeError::NotFound { name: name.clone() }.into());
        };
        let summary = engine.volumes.summary(&volume);
        found.push(serde_json::json!({
            "CreatedAt": summary.created,
            "Driver": summary.driver,
            "Labels": summary.labels,
            "Mountpoint": summary.mountpoint,
            "Name": summary.name,
            "Options": null,
            "Scope": "local",
        }));
    }
    Ok(Reply::Json(serde_json::Value::Array(found)))
}

/// `volume rm`: refused for a volume a container uses.
pub(crate) async fn volume_remove(
    engine: &Arc<Engine>,
    names: &[String],
) -> Result<Reply, RequestError> {
    let _records = engine.containers.records.lock().await;
    let (engine, names) = (engine.clone(), names.to_vec());
    blocking(move || {
        for name in &names {
            engine.volumes.remove(&engine.state, name)?;
        }
        Ok(Reply::Names(names))
    })
    .await
}

/// `volume prune`: the (project's) volumes no container uses.
pub(crate) async fn volume_prune(
    engine: &Arc<Engine>,
    project: Option<&str>,
) -> Result<Reply, RequestError> {
    let _records = engine.containers.records.lock().await;
    let (engine, project) = (engine.clone(), project.map(str::to_string));
    blocking(move || {
        let used: std::collections::HashSet<String> = engine
            .state
            .containers()?
            .into_iter()
            .flat_map(|record| record.volumes)
            .collect();
        let mut removed = Vec::new();
        for volume in engine.state.volumes()? {
            let mine = project.is_none() || volume.project == project;
            if mine && !used.contains(&volume.name) {
                engine.volumes.remove(&engine.state, &volume.name)?;
                removed.push(volume.name);
            }
        }
        Ok(Reply::Names(removed))
    })
    .await
}
