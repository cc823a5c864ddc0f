//! What the CLI asks the engine and what the engine answers (see [`super::wire`] for
//! the framing). One request per connection: the client sends a [`Request`] (with the
//! descriptors it names), the engine answers with [`Event`]s, the last of which is
//! [`Event::Done`] or [`Event::Failed`], then closes the connection.

use crate::plan::{DownOptions, RunOverrides, UpOptions};
use crate::spec::model::Project;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Bumped whenever a message changes shape; a CLI and an engine of different versions
/// refuse each other with a clear message.
pub const PROTOCOL_VERSION: u32 = 2;

/// A request. The descriptors that travel with it are listed per variant.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Request {
    /// Is the engine there? Answered with [`Reply::Pong`].
    Ping,
    /// Stop the engine (containers keep running). Answered with [`Reply::Ok`].
    Shutdown,
    /// `image import`: descriptor 0 is the tarball. Answered with [`Reply::Image`].
    ImageImport {
        /// The image's name (`name[:tag]`).
        name: String,
        /// docker's `--change` instructions.
        changes: Vec<String>,
    },
    /// `image load`: descriptor 0 is the archive. Answered with [`Reply::Loaded`].
    ImageLoad,
    /// `image ls`: answered with [`Reply::Images`].
    ImageList,
    /// `image inspect`: answered with [`Reply::Json`] (an array, one object per name).
    ImageInspect {
        /// Names or IDs.
        names: Vec<String>,
    },
    /// `image rm`: answered with [`Reply::Removed`].
    ImageRemove {
        /// Names or IDs.
        names: Vec<String>,
        /// Remove even when a container uses it.
        force: bool,
    },
    /// `image prune`: removes images no container uses and no name points at (all
    /// unused ones with `all`). Answered with [`Reply::Removed`].
    ImagePrune {
        /// Unused named images too.
        all: bool,
    },
    /// `run`: a one-off container of a service. Attached (not `detach`): descriptors
    /// 0, 1, 2 are the caller's stdin, stdout and stderr, unless `overrides.tty`, where
    /// the engine makes a terminal and sends its controlling side with
    /// [`Event::Terminal`]. Progress comes as [`Event::Progress`], the container's name
    /// with [`Event::Started`], the end with [`Reply::Exited`] (attached) or
    /// [`Reply::Ok`] (detached).
    Run(Box<RunRequest>),
    /// `exec`: descriptors as for an attached `run`. Answered as `run`.
    Exec(Box<ExecRequest>),
    /// Sends a signal to a container's PID 1 (the CLI forwards its Ctrl-C so).
    /// Answered with [`Reply::Ok`].
    Kill {
        /// Name or ID.
        container: String,
        /// Signal number.
        signal: i32,
    },
    /// Stops a container (its stop signal, then SIGKILL after the grace period).
    Stop {
        /// Name or ID.
        container: String,
        /// Seconds to wait before SIGKILL; the container's stop_grace_period when absent.
        timeout: Option<u64>,
    },
    /// Removes a container (stopped, or any with `force`).
    Remove {
        /// Name or ID.
        container: String,
        /// Kill it first if it runs.
        force: bool,
    },
    /// The containers (of one project): answered with [`Reply::Containers`].
    List {
        /// Only this project's.
        project: Option<String>,
        /// Stopped ones too.
        all: bool,
    },
    /// A container's log: [`Event::Log`]s, then [`Reply::Ok`].
    Logs {
        /// Name or ID.
        container: String,
        /// Keep sending new entries until the container ends.
        follow: bool,
        /// Only the last N entries.
        tail: Option<usize>,
    },
    /// `volume ls`: answered with [`Reply::Volumes`].
    VolumeList {
        /// Only this project's.
        project: Option<String>,
    },
    /// `volume inspect`: answered with [`Reply::Json`].
    VolumeInspect {
        /// Full names.
        names: Vec<String>,
    },
    /// `volume rm`: answered with [`Reply::Names`] (what was removed).
    VolumeRemove {
        /// Full names.
        names: Vec<String>,
        /// Not used by docker compose; kept false.
        force: bool,
    },
    /// `volume prune`: removes the project's volumes no container uses; answered with
    /// [`Reply::Names`].
    VolumePrune {
        /// Only this project's.
        project: Option<String>,
    },
    /// `up`: converges the project (networks, volumes, containers). Progress comes as
    /// [`Event::Progress`] (`network demo_default`: `creating`, `created`; `container
    /// demo-web-1`: `creating`, `created`, `starting`, `started`, `stopping`, `stopped`,
    /// `removing`, `removed`, `recreating`, `recreated`, `waiting`, `healthy`,
    /// `exited`), warnings as [`Event::Warning`]; the end with [`Reply::Ok`].
    Up(Box<UpRequest>),
    /// `down`: progress as for `up`, then [`Reply::Ok`].
    Down(Box<DownRequest>),
    /// `start`, `stop`, `restart`, `kill`, `rm` of a project's containers: progress as for
    /// `up`, then [`Reply::Ok`].
    Lifecycle(Box<LifecycleRequest>),
    /// `ls`: the projects that have containers; answered with [`Reply::Projects`].
    Projects {
        /// Projects whose containers have all stopped too.
        all: bool,
    },
}

/// An `up` request.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct UpRequest {
    /// The project, as `spec::load` returned it.
    pub project: Project,
    /// `up`'s options (`--scale`, `SERVICE...`, `--no-start`, ...).
    pub options: UpOptions,
    /// `-t`: seconds to wait when stopping containers that are recreated or scaled
    /// down; each container's stop_grace_period when absent.
    pub timeout: Option<u64>,
    /// The compose files the project was loaded from (shown by `ls`).
    pub config_files: Vec<String>,
}

/// A `down` request.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DownRequest {
    /// The project's name.
    pub project: String,
    /// The project's files, when there are some (`down -p NAME` works without).
    pub files: Option<Project>,
    /// `-v`, `--remove-orphans`.
    pub options: DownOptions,
    /// `-t`: seconds to wait before killing; each container's stop_grace_period when
    /// absent.
    pub timeout: Option<u64>,
}

/// A lifecycle request: one action over a project's containers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LifecycleRequest {
    /// The project's name.
    pub project: String,
    /// Only these services' containers; empty: all of the project's (one-off ones
    /// excepted).
    pub services: Vec<String>,
    /// What to do.
    pub action: Lifecycle,
}

/// What a [`LifecycleRequest`] does to each container.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Lifecycle {
    /// Starts the containers that don't run (dependencies first).
    Start,
    /// Stops the running ones (dependents first); `timeout` seconds before SIGKILL, or
    /// each container's stop_grace_period.
    Stop { timeout: Option<u64> },
    /// Stops, then starts them.
    Restart { timeout: Option<u64> },
    /// Sends `signal` to the running ones.
    Kill { signal: i32 },
    /// Removes the stopped ones (`stop`: stops running ones first, else they are left);
    /// `volumes`: their anonymous volumes too.
    Remove { stop: bool, volumes: bool },
}

/// A `run` request: the resolved project (the CLI loads and validates the files), the
/// service, and the command line's overrides.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunRequest {
    /// The project, as `spec::load` returned it.
    pub project: Project,
    /// The service to run.
    pub service: String,
    /// `run`'s options.
    pub overrides: RunOverrides,
    /// `-d`: return once it has started.
    pub detach: bool,
    /// `--rm`: remove the container when it ends.
    pub remove: bool,
}

/// An `exec` request.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ExecRequest {
    /// The project's name.
    pub project: String,
    /// The service.
    pub service: String,
    /// Which replica (`--index`, from 1).
    pub index: u32,
    /// The program and its arguments.
    pub command: Vec<String>,
    /// `-e KEY=VALUE`, resolved by the CLI.
    pub env: Vec<String>,
    /// `-u`.
    pub user: Option<String>,
    /// `-w`.
    pub workdir: Option<String>,
    /// A terminal (the engine makes one, see [`Request::Run`]).
    pub tty: bool,
    /// `--privileged`.
    pub privileged: bool,
}

/// What the engine sends back.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    /// An object changes state (`container demo-web-1`, `creating`).
    Progress {
        /// What (`container demo-web-1`, `volume demo_data`).
        object: String,
        /// Its new state (`creating`, `created`, `starting`, `started`, ...).
        state: String,
    },
    /// The container of a `run` (or the process of an `exec`) has started.
    Started {
        /// Its name.
        name: String,
        /// Its ID.
        id: String,
    },
    /// Carries the controlling side of the terminal the engine made (one descriptor).
    Terminal,
    /// A log entry (`logs`).
    Log(crate::runtime::logfile::LogEntry),
    /// A warning for the user.
    Warning {
        /// What to say.
        message: String,
    },
    /// The request succeeded; the last event.
    Done(Reply),
    /// The request failed; the last event.
    Failed(Failure),
}

/// A failed request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failure {
    /// One message: what failed, where, why, and what to do.
    pub message: String,
    /// The exit code the CLI ends with (125 for the engine's own failures, 126/127 as
    /// Docker for a program that can't run, 1 otherwise).
    pub exit_code: i32,
}

/// The result of a successful request. Its tag is `reply` and its content `value`
/// (`{"type":"done","reply":"images","value":[…]}`): an [`Event`]'s own tag is `type`,
/// and lists can't carry a tag inside them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "reply", content = "value", rename_all = "snake_case")]
pub enum Reply {
    /// Done; nothing to say.
    Ok,
    /// The engine's version and PID.
    Pong {
        /// [`PROTOCOL_VERSION`] of the engine.
        protocol: u32,
        /// The engine's crate version.
        version: String,
        /// The engine's PID.
        pid: u32,
    },
    /// An imported image.
    Image(ImageSummary),
    /// The names loaded from an archive (and IDs of images without one).
    Loaded {
        /// `name:tag` or `sha256:…`.
        names: Vec<String>,
    },
    /// Images.
    Images(Vec<ImageSummary>),
    /// Anything shown as JSON (`inspect`).
    Json(serde_json::Value),
    /// What `image rm`/`image prune` did.
    Removed {
        /// Names taken off.
        untagged: Vec<String>,
        /// Image IDs deleted.
        deleted: Vec<String>,
    },
    /// The exit code of a `run` or `exec`.
    Exited {
        /// As a shell reports it (128 + signal for a signal).
        code: i32,
    },
    /// Containers.
    Containers(Vec<ContainerSummary>),
    /// Volumes.
    Volumes(Vec<VolumeSummary>),
    /// Names (of removed volumes).
    Names(Vec<String>),
    /// Projects (`ls`).
    Projects(Vec<ProjectSummary>),
}

/// A project as `ls` shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProjectSummary {
    /// Its name.
    pub name: String,
    /// Its containers' states with their counts, as compose prints them:
    /// `running(3)`, `exited(1), running(2)`.
    pub status: String,
    /// The compose files of its last `up`.
    pub config_files: Vec<String>,
}

/// A published port, as `ps` and `port` show it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortSummary {
    /// The host address it listens on (`0.0.0.0` for all).
    pub host_ip: String,
    /// The host port.
    pub host_port: u16,
    /// The container's port.
    pub target: u16,
    /// `tcp` or `udp`.
    pub protocol: String,
}

/// An image as `image ls` shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageSummary {
    /// `sha256:…`.
    pub id: String,
    /// Its names.
    pub names: Vec<String>,
    /// Bytes of its layers.
    pub size: u64,
    /// When it was made (RFC 3339), if known.
    pub created: Option<String>,
}

/// A container as `ps` shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContainerSummary {
    /// Its ID (64 hex digits).
    pub id: String,
    /// `<project>-<service>-<n>` or `<project>-<service>-run-<id>`.
    pub name: String,
    /// The project.
    pub project: String,
    /// The service.
    pub service: String,
    /// The image reference.
    pub image: String,
    /// `created`, `running`, `exited`.
    pub state: String,
    /// The exit code once it has exited.
    pub exit_code: Option<i32>,
    /// Its labels.
    pub labels: BTreeMap<String, String>,
    /// The replica number (`None` for a one-off container).
    #[serde(default)]
    pub number: Option<u32>,
    /// The command it runs, as one line.
    #[serde(default)]
    pub command: String,
    /// When it was made (RFC 3339).
    #[serde(default)]
    pub created: String,
    /// When it last started (RFC 3339), if it has.
    #[serde(default)]
    pub started: Option<String>,
    /// When it ended (RFC 3339), once it has exited.
    #[serde(default)]
    pub finished: Option<String>,
    /// Its published ports.
    #[serde(default)]
    pub ports: Vec<PortSummary>,
    /// The networks it is on, with its address on each.
    #[serde(default)]
    pub networks: BTreeMap<String, String>,
    /// `starting`, `healthy` or `unhealthy` while it runs with a healthcheck.
    #[serde(default)]
    pub health: Option<String>,
}

/// A volume as `volume ls` shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VolumeSummary {
    /// Its full name.
    pub name: String,
    /// Always `local`.
    pub driver: String,
    /// The project it belongs to (none for external ones).
    pub project: Option<String>,
    /// The directory with its data.
    pub mountpoint: String,
    /// When it was created (RFC 3339).
    pub created: String,
    /// Its labels.
    pub labels: BTreeMap<String, String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(event: Event) {
        let json = serde_json::to_string(&event).unwrap();
        let back: Event = serde_json::from_str(&json).unwrap_or_else(|err| panic!("{json}: {err}"));
        assert_eq!(back, event);
    }

    #[test]
    fn every_reply_travels_in_an_event() {
        let replies = [
            Reply::Ok,
            Reply::Pong {
                protocol: PROTOCOL_VERSION,
                version: "1.0".to_string(),
                pid: 7,
            },
            Reply::Images(Vec::new()),
            Reply::Json(serde_json::json!([{"Id": "x"}])),
            Reply::Exited { code: 3 },
            Reply::Containers(Vec::new()),
            Reply::Names(vec!["a".to_string()]),
        ];
        for reply in replies {
            round_trip(Event::Done(reply));
        }
        assert_eq!(
            serde_json::to_string(&Event::Done(Reply::Exited { code: 3 })).unwrap(),
            r#"{"type":"done","reply":"exited","value":{"code":3}}"#
        );
        round_trip(Event::Failed(Failure {
            message: "no".to_string(),
            exit_code: 1,
        }));
    }
}
