//! The command line: global options, one file per verb, one error type.
//!
//! To add a verb: write `src/cli/<verb>.rs` with an `Args` struct (`clap::Args`) and a
//! `run` function; add a `Verb<<verb>::Args>` variant to [`Command`] (its doc comment is
//! the verb's help; [`ForceVerb`] when the verb's `-f` means `--force`) and its arms in
//! `Command::global_mut` and [`run`]; remove the verb from [`PLANNED_VERBS`]. A verb with
//! sub-verbs (`image ls`) has its own `Command` enum of `Verb`s.

mod attach;
pub mod completion;
pub mod config;
pub mod down;
pub mod engine;
mod error;
pub mod exec;
pub mod image;
pub mod lifecycle;
pub mod logs;
pub mod ls;
mod options;
pub mod port;
mod progress;
pub mod ps;
pub mod run;
mod table;
pub mod up;
pub mod version;
pub mod volume;

pub use error::{CliError, NameOrigin};
pub use options::{
    is_valid_project_name, load_options, normalize_project_name, Context, DEFAULT_FILE_NAMES,
};

use crate::engine::protocol::Lifecycle;
use clap::error::{ContextKind, ContextValue, ErrorKind};
use clap::{CommandFactory, Parser, Subcommand};
use std::ffi::OsString;
use std::io::{self, Write};
use std::path::PathBuf;

/// Verbs of later stages: typing one gives a clear "not implemented yet" instead of
/// clap's unknown-command error. They are not listed in `--help`.
pub const PLANNED_VERBS: [&str; 15] = [
    "pull", "build", "push", "create", "pause", "unpause", "top", "images", "cp", "events", "wait",
    "watch", "attach", "scale", "stats",
];

/// rcompose runs multi-container applications described in compose files, with its
/// own container runtime.
#[derive(Debug, Parser)]
#[command(
    name = "rcompose",
    disable_version_flag = true,
    arg_required_else_help = true
)]
pub struct Cli {
    /// Print the version and exit
    #[arg(short = 'v', long = "version")]
    pub version: bool,
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// The options every verb accepts, before or after the verb as in compose. After
/// [`parse`], [`Cli::global`] holds them all (values given after the verb are appended
/// to list options and win for single ones).
#[derive(Clone, Debug, Default, PartialEq, clap::Args)]
#[command(next_help_heading = "Global Options")]
pub struct GlobalArgs {
    /// Compose file, repeatable: later files are merged over earlier ones; `-` reads
    /// standard input [env: COMPOSE_FILE, separated by `:` or COMPOSE_PATH_SEPARATOR]
    #[arg(short = 'f', long = "file", value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Project name: lowercase letters, digits, `_` and `-`, starting with a letter or
    /// digit [env: COMPOSE_PROJECT_NAME] [default: top-level `name:`, else the project
    /// directory's name]
    #[arg(short = 'p', long, value_name = "NAME")]
    pub project_name: Option<String>,
    /// Directory that relative paths resolve against [default: the directory of the
    /// first compose file]
    #[arg(long, value_name = "DIR")]
    pub project_directory: Option<PathBuf>,
    /// Environment file, repeatable [default: `.env` in the project directory]
    #[arg(long, value_name = "FILE")]
    pub env_file: Vec<PathBuf>,
    /// Profile to enable, repeatable [env: COMPOSE_PROFILES, comma-separated]
    #[arg(long, value_name = "PROFILE")]
    pub profile: Vec<String>,
    /// Where the engine keeps images, volumes, containers and its state; its socket is
    /// under DIR/run [env: RCOMPOSE_ROOT] [default: /var/lib/rcompose, socket under
    /// /run/rcompose]
    #[arg(long, value_name = "DIR")]
    pub root: Option<PathBuf>,
}

impl GlobalArgs {
    /// Adds the options given after the verb to those given before it.
    fn append(&mut self, after: GlobalArgs) {
        self.files.extend(after.files);
        self.project_name = after.project_name.or(self.project_name.take());
        self.project_directory = after.project_directory.or(self.project_directory.take());
        self.env_file.extend(after.env_file);
        self.profile.extend(after.profile);
        self.root = after.root.or(self.root.take());
    }
}

/// A verb's own arguments plus the global options given after the verb. (clap's
/// `global` arguments would let a value after the verb silently replace the values
/// before it, so each verb carries its own copy and [`parse`] merges them.) The verb's
/// help text is the doc comment of its [`Command`] variant.
#[derive(Debug, clap::Args)]
#[command(about = None, long_about = None)]
pub struct Verb<A: clap::Args> {
    #[command(flatten)]
    pub args: A,
    #[command(flatten)]
    pub global: GlobalArgs,
}

/// [`Verb`] for verbs with a `-f` of their own (`--force` as in docker, `logs
/// --follow`): after such a verb the compose file is given with `--file` only.
#[derive(Debug, clap::Args)]
#[command(about = None, long_about = None, mut_arg("files", |arg| arg.short(None)))]
pub struct ForceVerb<A: clap::Args> {
    #[command(flatten)]
    pub args: A,
    #[command(flatten)]
    pub global: GlobalArgs,
}

/// The verbs.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print the resolved, normalised project (or parts of it) after validating it
    ///
    /// For example: rcompose config --services; rcompose config --format json -o project.json
    Config(Verb<config::Args>),
    /// Show the rcompose version
    Version(Verb<version::Args>),
    /// Print a shell completion script to standard output
    ///
    /// For example: rcompose completion bash > /etc/bash_completion.d/rcompose
    Completion(Verb<completion::Args>),
    /// Run a one-off container of a service
    ///
    /// Attached (without -d), the container gets this terminal (or standard input,
    /// output and error) and rcompose exits with its exit code. For example:
    /// rcompose run --rm worker sh -c 'id; hostname'
    Run(Verb<run::Args>),
    /// Run a command in a service's running container
    ///
    /// For example: rcompose exec web sh -c 'cat /etc/hostname'
    Exec(Verb<exec::Args>),
    /// Create and start the project's containers (with its networks and volumes)
    ///
    /// Without -d, follow their output until they end; Ctrl-C stops them. For example:
    /// rcompose up -d --scale web=3
    Up(Verb<up::Args>),
    /// Stop and remove the project's containers and the networks it made
    ///
    /// Works with only -p NAME when there is no compose file. For example: rcompose
    /// down -v
    Down(Verb<down::Args>),
    /// List the project's containers
    ///
    /// For example: rcompose ps -a --format json
    Ps(Verb<ps::Args>),
    /// Show the output of the project's containers
    ///
    /// For example: rcompose logs -f --tail 10 web
    Logs(ForceVerb<logs::Args>),
    /// List the projects that have containers
    Ls(Verb<ls::Args>),
    /// Print where a container port of a service is published on the host
    ///
    /// For example: rcompose port web 80
    Port(Verb<port::Args>),
    /// Start the project's stopped containers
    Start(Verb<lifecycle::ServicesArgs>),
    /// Stop the project's running containers
    Stop(Verb<lifecycle::StopArgs>),
    /// Stop, then start the project's containers
    Restart(Verb<lifecycle::StopArgs>),
    /// Send a signal to the project's running containers
    ///
    /// For example: rcompose kill -s SIGHUP web
    Kill(Verb<lifecycle::KillArgs>),
    /// Remove the project's stopped containers
    ///
    /// Asks first when standard input is a terminal (-f does not ask). For example:
    /// rcompose rm -s -f worker
    Rm(ForceVerb<lifecycle::RmArgs>),
    /// Manage images: import, load, ls, inspect, rm, prune
    #[command(subcommand)]
    Image(image::Command),
    /// Manage the project's named volumes: ls, inspect, rm, prune
    #[command(subcommand)]
    Volume(volume::Command),
    /// Run the engine in the foreground (`rcompose engine stop` stops it)
    ///
    /// Other commands start the engine in the background when none runs; this runs it
    /// under a service manager such as systemd.
    Engine(Verb<engine::Args>),
    /// The container runtime's helper (started by rcompose itself, never by hand)
    #[command(name = crate::runtime::HELPER_SUBCOMMAND, hide = true)]
    ContainerInit(Verb<crate::runtime::HelperArgs>),
    /// The container runtime's exec helper (started by rcompose itself, never by hand)
    #[command(name = crate::runtime::EXEC_HELPER_SUBCOMMAND, hide = true)]
    ContainerExec(Verb<crate::runtime::ExecHelperArgs>),
}

impl Command {
    /// The global options given after the verb.
    fn global_mut(&mut self) -> &mut GlobalArgs {
        match self {
            Command::Config(verb) => &mut verb.global,
            Command::Version(verb) => &mut verb.global,
            Command::Completion(verb) => &mut verb.global,
            Command::Run(verb) => &mut verb.global,
            Command::Exec(verb) => &mut verb.global,
            Command::Up(verb) => &mut verb.global,
            Command::Down(verb) => &mut verb.global,
            Command::Ps(verb) => &mut verb.global,
            Command::Logs(verb) => &mut verb.global,
            Command::Ls(verb) => &mut verb.global,
            Command::Port(verb) => &mut verb.global,
            Command::Start(verb) => &mut verb.global,
            Command::Stop(verb) => &mut verb.global,
            Command::Restart(verb) => &mut verb.global,
            Command::Kill(verb) => &mut verb.global,
            Command::Rm(verb) => &mut verb.global,
            Command::Image(command) => command.global_mut(),
            Command::Volume(command) => command.global_mut(),
            Command::Engine(verb) => &mut verb.global,
            Command::ContainerInit(verb) => &mut verb.global,
            Command::ContainerExec(verb) => &mut verb.global,
        }
    }
}

/// Runs rcompose with the process's arguments and returns the exit code.
pub fn main() -> i32 {
    let stdout = io::stdout();
    let mut out = stdout.lock();
    match parse(std::env::args_os()).and_then(|cli| run(cli, &mut out)) {
        Ok(code) => code,
        Err(err) => {
            err.print();
            err.exit_code()
        }
    }
}

/// Parses the command line; a planned verb becomes [`CliError::NotImplemented`]. The
/// global options given after the verb are merged into [`Cli::global`].
pub fn parse(args: impl IntoIterator<Item = impl Into<OsString> + Clone>) -> Result<Cli, CliError> {
    let mut cli = Cli::try_parse_from(args).map_err(|err| match planned_verb(&err) {
        Some(verb) => CliError::NotImplemented { verb },
        None => CliError::Usage(err),
    })?;
    if let Some(command) = cli.command.as_mut() {
        let after = std::mem::take(command.global_mut());
        cli.global.append(after);
    }
    Ok(cli)
}

/// The planned verb clap refused as an unknown subcommand, if that is what happened.
fn planned_verb(err: &clap::Error) -> Option<String> {
    if err.kind() != ErrorKind::InvalidSubcommand {
        return None;
    }
    match err.get(ContextKind::InvalidSubcommand) {
        Some(ContextValue::String(verb)) if PLANNED_VERBS.contains(&verb.as_str()) => {
            Some(verb.clone())
        }
        _ => None,
    }
}

/// Runs a parsed command line, writing its output to `out`; returns the exit code (the
/// container's for `run` and `exec`, 0 for the other verbs).
pub fn run(cli: Cli, out: &mut dyn Write) -> Result<i32, CliError> {
    let done = |result: Result<(), CliError>| result.map(|()| 0);
    match cli.command {
        Some(Command::Config(verb)) => {
            let context = Context::from_process(cli.global)?;
            done(config::run(
                &verb.args,
                &context.global,
                &context.cwd,
                &context.env,
                out,
            ))
        }
        Some(Command::Version(verb)) => done(version::run(&verb.args, out)),
        Some(Command::Completion(verb)) => done(completion::run(&verb.args, out)),
        Some(Command::Run(verb)) => run::run(&verb.args, &Context::from_process(cli.global)?, out),
        Some(Command::Exec(verb)) => exec::run(&verb.args, &Context::from_process(cli.global)?),
        Some(Command::Up(verb)) => up::run(&verb.args, &Context::from_process(cli.global)?, out),
        Some(Command::Down(verb)) => {
            done(down::run(&verb.args, &Context::from_process(cli.global)?))
        }
        Some(Command::Ps(verb)) => done(ps::run(
            &verb.args,
            &Context::from_process(cli.global)?,
            out,
        )),
        Some(Command::Logs(verb)) => done(logs::run(
            &verb.args,
            &Context::from_process(cli.global)?,
            out,
        )),
        Some(Command::Ls(verb)) => done(ls::run(
            &verb.args,
            &Context::from_process(cli.global)?,
            out,
        )),
        Some(Command::Port(verb)) => done(port::run(
            &verb.args,
            &Context::from_process(cli.global)?,
            out,
        )),
        Some(Command::Start(verb)) => done(lifecycle::run(
            &verb.args.services,
            Lifecycle::Start,
            &Context::from_process(cli.global)?,
        )),
        Some(Command::Stop(verb)) => done(lifecycle::run(
            &verb.args.services,
            Lifecycle::Stop {
                timeout: verb.args.timeout,
            },
            &Context::from_process(cli.global)?,
        )),
        Some(Command::Restart(verb)) => done(lifecycle::run(
            &verb.args.services,
            Lifecycle::Restart {
                timeout: verb.args.timeout,
            },
            &Context::from_process(cli.global)?,
        )),
        Some(Command::Kill(verb)) => done(lifecycle::run(
            &verb.args.services,
            Lifecycle::Kill {
                signal: verb.args.signal,
            },
            &Context::from_process(cli.global)?,
        )),
        Some(Command::Rm(verb)) => done(lifecycle::rm(
            &verb.args,
            &Context::from_process(cli.global)?,
            out,
        )),
        Some(Command::Image(command)) => done(image::run(
            &command,
            &Context::from_process(cli.global)?,
            out,
        )),
        Some(Command::Volume(command)) => done(volume::run(
            &command,
            &Context::from_process(cli.global)?,
            out,
        )),
        Some(Command::Engine(verb)) => {
            done(engine::run(&verb.args, &Context::from_process(cli.global)?))
        }
        Some(Command::ContainerInit(verb)) => crate::runtime::helper::helper_main(&verb.args),
        Some(Command::ContainerExec(verb)) => crate::runtime::enter::exec_helper_main(&verb.args),
        None if cli.version => done(version::run(&version::Args { short: false }, out)),
        None => Err(CliError::Usage(
            Cli::command().error(ErrorKind::MissingSubcommand, "a command is required"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn output(args: &[&str]) -> Result<String, CliError> {
        let mut out = Vec::new();
        assert_eq!(run(parse(args.iter().copied())?, &mut out)?, 0);
        Ok(String::from_utf8(out).unwrap())
    }

    #[test]
    fn the_command_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn planned_verbs_are_not_implemented_yet() {
        for args in [
            &["rcompose", "pull"][..],
            &["rcompose", "-f", "x.yaml", "-p", "shop", "pull", "-q"],
            &["rcompose", "pull", "--help"],
        ] {
            match parse(args.iter().copied()) {
                Err(CliError::NotImplemented { verb }) => assert_eq!(verb, "pull"),
                other => panic!("{args:?}: unexpected {other:?}"),
            }
        }
        match parse(["rcompose", "top", "web"]) {
            Err(CliError::NotImplemented { verb }) => assert_eq!(verb, "top"),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn other_unknown_verbs_are_usage_errors() {
        match parse(["rcompose", "upp"]) {
            Err(err @ CliError::Usage(_)) => {
                assert_eq!(err.exit_code(), 2);
                assert!(
                    err.render().contains("unrecognized subcommand 'upp'"),
                    "{}",
                    err.render()
                );
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn global_options_parse_before_and_after_the_verb() {
        let cli = parse([
            "rcompose",
            "-f",
            "a.yaml",
            "--file=-",
            "--profile",
            "debug",
            "-p",
            "first",
            "version",
            "-p",
            "shop",
            "--env-file",
            "x.env",
            "--profile",
            "tools",
            "--project-directory",
            "/srv",
        ])
        .unwrap();
        assert_eq!(
            cli.global,
            GlobalArgs {
                files: vec![PathBuf::from("a.yaml"), PathBuf::from("-")],
                project_name: Some("shop".to_string()),
                project_directory: Some(PathBuf::from("/srv")),
                env_file: vec![PathBuf::from("x.env")],
                profile: vec!["debug".to_string(), "tools".to_string()],
                root: None,
            }
        );
    }

    #[test]
    fn version_verb_and_flag() {
        let version = env!("CARGO_PKG_VERSION");
        assert_eq!(
            output(&["rcompose", "version"]).unwrap(),
            format!("rcompose version {version}\n")
        );
        assert_eq!(
            output(&["rcompose", "version", "--short"]).unwrap(),
            format!("{version}\n")
        );
        assert_eq!(
            output(&["rcompose", "--version"]).unwrap(),
            format!("rcompose version {version}\n")
        );
    }

    #[test]
    fn options_without_a_verb_are_a_usage_error() {
        let err = output(&["rcompose", "-f", "a.yaml"]).unwrap_err();
        assert_eq!(err.exit_code(), 2);
        assert!(
            err.render().contains("a command is required"),
            "{}",
            err.render()
        );
    }

    #[test]
    fn help_is_not_an_error_exit() {
        match parse(["rcompose", "version", "--help"]) {
            Err(err @ CliError::Usage(_)) => {
                assert_eq!(err.exit_code(), 0);
                assert!(err.render().contains("--short"), "{}", err.render());
            }
            other => panic!("unexpected {other:?}"),
        }
    }
}
