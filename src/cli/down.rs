//! `rcompose down`: stops and removes the project's containers and the networks it
//! made (and with `-v` its named volumes). Like compose, it works with only `-p NAME`
//! when there is no compose file.

use super::{CliError, Context};
use crate::engine::protocol::{DownRequest, Request};
use crate::plan::DownOptions;

/// The arguments of `rcompose down`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Remove the project's named volumes and the containers' anonymous volumes too
    #[arg(short, long)]
    pub volumes: bool,
    /// Also remove containers of services the compose file no longer has
    #[arg(long)]
    pub remove_orphans: bool,
    /// Seconds to wait for each container to stop before killing it [default: its
    /// stop_grace_period, 10 s unless set]
    #[arg(short = 't', long, value_name = "SECONDS")]
    pub timeout: Option<u64>,
}

/// Takes the project down.
pub fn run(args: &Args, context: &Context) -> Result<(), CliError> {
    let (project, files) = context.load_or_name()?;
    let request = Request::Down(Box::new(DownRequest {
        project,
        files,
        options: options(args),
        timeout: args.timeout,
    }));
    super::progress::call(&context.client()?, &request, "down")
}

fn options(args: &Args) -> DownOptions {
    DownOptions {
        remove_orphans: args.remove_orphans,
        volumes: args.volumes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{parse, Command};

    #[test]
    fn options_parse() {
        let cli = parse([
            "rcompose",
            "down",
            "-v",
            "--remove-orphans",
            "-t",
            "0",
            "-p",
            "demo",
        ])
        .unwrap();
        assert_eq!(cli.global.project_name.as_deref(), Some("demo"));
        match cli.command {
            Some(Command::Down(verb)) => {
                assert_eq!(verb.args.timeout, Some(0));
                assert_eq!(
                    options(&verb.args),
                    DownOptions {
                        remove_orphans: true,
                        volumes: true
                    }
                );
            }
            other => panic!("unexpected {other:?}"),
        }
        match parse(["rcompose", "down"]).unwrap().command {
            Some(Command::Down(verb)) => {
                assert_eq!(verb.args.timeout, None);
                assert_eq!(options(&verb.args), DownOptions::default());
            }
            other => panic!("unexpected {other:?}"),
        }
    }
}
