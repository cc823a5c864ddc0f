//! `rcompose run`: a one-off container of a service, as `docker compose run`. The
//! project is loaded and validated here and sent whole to the engine, which plans,
//! creates and starts the container.

use super::attach::{self, Mode};
use super::image::{unexpected, write};
use super::{CliError, Context};
use crate::engine::protocol::{Event, Reply, Request, RunRequest};
use crate::plan::RunOverrides;
use crate::spec::paths::absolute;
use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::path::Path;

/// The arguments of `rcompose run`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Remove the container (and its anonymous volumes) when it ends
    #[arg(long)]
    pub rm: bool,
    /// Start it in the background and print its name
    #[arg(short, long)]
    pub detach: bool,
    /// No terminal [default: one when standard input and output are terminals]
    #[arg(short = 'T', long = "no-TTY")]
    pub no_tty: bool,
    /// Keep standard input open (`--interactive=false` gives the container /dev/null)
    #[arg(
        short,
        long,
        num_args = 0..=1,
        require_equals = true,
        default_value_t = true,
        default_missing_value = "true",
        action = clap::ArgAction::Set,
        value_name = "BOOL"
    )]
    pub interactive: bool,
    /// Set an environment variable, repeatable; `KEY` alone takes its value from this
    /// environment
    #[arg(short, long = "env", value_name = "KEY[=VALUE]")]
    pub env: Vec<String>,
    /// Mount a volume, repeatable: `SOURCE:TARGET[:ro]`, the SOURCE a volume name or a
    /// path (one starting with `.` is relative to the working directory)
    #[arg(short, long = "volume", value_name = "SOURCE:TARGET")]
    pub volumes: Vec<String>,
    /// Run as this user: `name`, `uid`, `name:group` or `uid:gid`
    #[arg(short, long)]
    pub user: Option<String>,
    /// Working directory inside the container
    #[arg(short, long, value_name = "DIR")]
    pub workdir: Option<String>,
    /// Replace the entrypoint of the service and image (`''` clears it)
    #[arg(long)]
    pub entrypoint: Option<String>,
    /// The container's name [default: <project>-<service>-run-<12 hex digits>]
    #[arg(long)]
    pub name: Option<String>,
    /// The service, then the command and its arguments [default: the service's]
    /// (everything after the service is the command's)
    #[arg(
        required = true,
        num_args = 1..,
        trailing_var_arg = true,
        value_names = ["SERVICE", "COMMAND"]
    )]
    pub service_and_command: Vec<String>,
}

impl Args {
    /// The service (clap makes sure there is one).
    pub fn service(&self) -> &str {
        self.service_and_command
            .first()
            .map(String::as_str)
            .unwrap_or_default()
    }

    /// The command given after the service; empty for the service's own.
    pub fn command(&self) -> &[String] {
        self.service_and_command.get(1..).unwrap_or_default()
    }
}

/// Runs the container; returns its exit code when attached, 0 once started with `-d`
/// (after printing its name).
pub fn run(args: &Args, context: &Context, out: &mut dyn Write) -> Result<i32, CliError> {
    let project = context.load_with_service(args.service())?;
    let std_terminal = std::io::stdin().is_terminal() && std::io::stdout().is_terminal();
    let tty = !args.no_tty && !args.detach && std_terminal;
    let overrides = RunOverrides {
        name: args.name.clone(),
        env: resolve_env(&args.env, &context.env),
        volumes: args
            .volumes
            .iter()
            .map(|volume| resolve_volume(volume, &context.cwd))
            .collect(),
        user: args.user.clone(),
        workdir: args.workdir.clone(),
        entrypoint: args.entrypoint.clone(),
        command: (!args.command().is_empty()).then(|| args.command().to_vec()),
        tty,
        interactive: args.interactive,
    };
    let request = Request::Run(Box::new(RunRequest {
        project,
        service: args.service().to_string(),
        overrides,
        detach: args.detach,
        remove: args.rm,
    }));
    let client = context.client()?;
    if !args.detach {
        let mode = Mode {
            tty,
            stdin_open: args.interactive,
            // With our terminal in raw mode, Ctrl-C reaches the container as a byte.
            forward_signals: !(tty && args.interactive),
        };
        return attach::attached(&client, &request, "run", mode);
    }
    let mut name = None;
    let reply = client.call(&request, &[])?.finish(|event, _| match event {
        Event::Started { name: started, .. } => name = Some(started),
        Event::Warning { message } => eprintln!("rcompose: warning: {message}"),
        _ => {}
    })?;
    match (reply, name) {
        (Reply::Ok, Some(name)) => write(out, &format!("{name}\n")).map(|()| 0),
        (reply, _) => Err(unexpected("run -d", &reply)),
    }
}

/// `-e KEY` takes KEY's value from `env` (and stays `KEY`, which leaves it unset, when
/// `env` has none); `-e KEY=VALUE` is kept as it is.
pub(super) fn resolve_env(given: &[String], env: &BTreeMap<String, String>) -> Vec<String> {
    given
        .iter()
        .map(|entry| match env.get(entry) {
            Some(value) if !entry.contains('=') => format!("{entry}={value}"),
            _ => entry.clone(),
        })
        .collect()
}

/// A `-v` whose source is a relative path (`.`, `./x`, `../x`) gets an absolute one,
/// from the working directory `cwd`.
fn resolve_volume(volume: &str, cwd: &Path) -> String {
    let (source, rest) = volume.split_once(':').unwrap_or((volume, ""));
    let relative =
        source == "." || source == ".." || source.starts_with("./") || source.starts_with("../");
    if !relative || rest.is_empty() {
        return volume.to_string();
    }
    let source = absolute(cwd, Path::new(source));
    format!("{}:{rest}", source.display())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{parse, Cli, Command};

    fn args(line: &[&str]) -> Args {
        match parse(line.iter().copied()).unwrap() {
            Cli {
                command: Some(Command::Run(verb)),
                ..
            } => verb.args,
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn everything_after_the_service_is_the_command() {
        let parsed = args(&[
            "rcompose",
            "run",
            "--rm",
            "-T",
            "-e",
            "A=1",
            "-e",
            "HOME",
            "-v",
            "data:/data",
            "-u",
            "1000:1000",
            "-w",
            "/tmp",
            "--entrypoint",
            "/bin/sh -c",
            "--name",
            "probe",
            "worker",
            "sh",
            "-c",
            "echo $$",
            "--rm",
            "-f",
            "x",
        ]);
        assert!(parsed.rm && parsed.no_tty && !parsed.detach && parsed.interactive);
        assert_eq!(parsed.env, ["A=1", "HOME"]);
        assert_eq!(parsed.volumes, ["data:/data"]);
        assert_eq!(parsed.user.as_deref(), Some("1000:1000"));
        assert_eq!(parsed.workdir.as_deref(), Some("/tmp"));
        assert_eq!(parsed.entrypoint.as_deref(), Some("/bin/sh -c"));
        assert_eq!(parsed.name.as_deref(), Some("probe"));
        assert_eq!(parsed.service(), "worker");
        assert_eq!(parsed.command(), ["sh", "-c", "echo $$", "--rm", "-f", "x"]);

        let parsed = args(&["rcompose", "run", "-d", "--interactive=false", "worker"]);
        assert!(parsed.detach && !parsed.interactive);
        assert!(parsed.command().is_empty());
        let parsed = args(&["rcompose", "run", "-i", "worker", "true"]);
        assert!(parsed.interactive);
        assert_eq!(parsed.command(), ["true"]);
        assert!(parse(["rcompose", "run", "--rm"]).is_err());
    }

    #[test]
    fn global_options_go_before_the_service() {
        let cli = parse([
            "rcompose", "-f", "a.yaml", "run", "--root", "/tmp/r", "-p", "demo", "web", "-p", "x",
        ])
        .unwrap();
        assert_eq!(cli.global.root.as_deref(), Some(Path::new("/tmp/r")));
        assert_eq!(cli.global.project_name.as_deref(), Some("demo"));
        match cli.command {
            Some(Command::Run(verb)) => assert_eq!(verb.args.command(), ["-p", "x"]),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn env_without_value_comes_from_the_caller() {
        let env: BTreeMap<String, String> = [("HOME", "/root"), ("EMPTY", "")]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let given = ["HOME", "EMPTY", "UNSET", "A=1", "HOME=/x"].map(str::to_string);
        assert_eq!(
            resolve_env(&given, &env),
            ["HOME=/root", "EMPTY=", "UNSET", "A=1", "HOME=/x"]
        );
    }

    #[test]
    fn relative_volume_sources_become_absolute() {
        let cwd = Path::new("/srv/app");
        for (given, expected) in [
            ("./data:/data", "/srv/app/data:/data"),
            (".:/src:ro", "/srv/app:/src:ro"),
            ("../x:/x", "/srv/x:/x"),
            ("data:/data", "data:/data"),
            ("/abs:/abs", "/abs:/abs"),
            ("/anonymous", "/anonymous"),
            ("./only", "./only"),
        ] {
            assert_eq!(resolve_volume(given, cwd), expected, "{given}");
        }
    }
}
