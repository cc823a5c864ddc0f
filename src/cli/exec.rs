//! `rcompose exec`: a command in a service's running container, as `docker compose
//! exec`.

use super::attach::{self, Mode};
use super::{CliError, Context};
use crate::engine::protocol::{ExecRequest, Request};
use std::io::IsTerminal;

/// The arguments of `rcompose exec`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// No terminal [default: one when standard input and output are terminals]
    #[arg(short = 'T', long = "no-TTY")]
    pub no_tty: bool,
    /// Run as this user: `name`, `uid`, `name:group` or `uid:gid` [default: the
    /// container's]
    #[arg(short, long)]
    pub user: Option<String>,
    /// Working directory inside the container [default: the container's]
    #[arg(short, long, value_name = "DIR")]
    pub workdir: Option<String>,
    /// Set an environment variable, repeatable; `KEY` alone takes its value from this
    /// environment
    #[arg(short, long = "env", value_name = "KEY[=VALUE]")]
    pub env: Vec<String>,
    /// Which container of the service, when it has several
    #[arg(long, default_value_t = 1, value_name = "N",
          value_parser = clap::value_parser!(u32).range(1..))]
    pub index: u32,
    /// Give the command every capability, without the seccomp filter
    #[arg(long)]
    pub privileged: bool,
    /// The service, then the command and its arguments (everything after the service
    /// is the command's)
    #[arg(
        required = true,
        num_args = 2..,
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

    /// The command (clap makes sure there is one).
    pub fn command(&self) -> &[String] {
        self.service_and_command.get(1..).unwrap_or_default()
    }
}

/// Runs the command; returns its exit code.
pub fn run(args: &Args, context: &Context) -> Result<i32, CliError> {
    let project = context.load_with_service(args.service())?;
    let tty = !args.no_tty && std::io::stdin().is_terminal() && std::io::stdout().is_terminal();
    let request = Request::Exec(Box::new(ExecRequest {
        project: project.name,
        service: args.service().to_string(),
        index: args.index,
        command: args.command().to_vec(),
        env: super::run::resolve_env(&args.env, &context.env),
        user: args.user.clone(),
        workdir: args.workdir.clone(),
        tty,
        privileged: args.privileged,
    }));
    let mode = Mode {
        tty,
        stdin_open: true,
        // A Kill would go to the container's first process, not to this command; as
        // with docker, a signal ends rcompose and the command goes on.
        forward_signals: false,
    };
    attach::attached(&context.client()?, &request, "exec", mode)
}

#[cfg(test)]
mod tests {
    use crate::cli::{parse, Cli, Command};

    #[test]
    fn options_then_service_then_command() {
        let cli = parse([
            "rcompose",
            "exec",
            "-T",
            "-u",
            "nobody",
            "-w",
            "/tmp",
            "-e",
            "A=1",
            "--index",
            "2",
            "--privileged",
            "web",
            "ls",
            "-l",
            "/",
            "-u",
            "x",
        ])
        .unwrap();
        match cli {
            Cli {
                command: Some(Command::Exec(verb)),
                ..
            } => {
                let args = verb.args;
                assert!(args.no_tty && args.privileged);
                assert_eq!(args.user.as_deref(), Some("nobody"));
                assert_eq!(args.workdir.as_deref(), Some("/tmp"));
                assert_eq!(args.env, ["A=1"]);
                assert_eq!(args.index, 2);
                assert_eq!(args.service(), "web");
                assert_eq!(args.command(), ["ls", "-l", "/", "-u", "x"]);
            }
            other => panic!("unexpected {other:?}"),
        }
        assert!(parse(["rcompose", "exec", "web"]).is_err());
        assert!(parse(["rcompose", "exec", "--index", "0", "web", "true"]).is_err());
    }
}
