//! `rcompose engine`: the engine in the foreground (what the other verbs start in the
//! background when none runs); `rcompose engine stop`.

use super::{CliError, Context};
use crate::engine::protocol::{Reply, Request};
use crate::engine::{Client, ClientError};
use std::time::{Duration, Instant};

/// The arguments of `rcompose engine`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// What to do instead of running the engine
    #[arg(value_enum, value_name = "ACTION")]
    pub action: Option<Action>,
}

/// What to do instead of running the engine.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Action {
    /// Stop the engine that runs for the root; its containers keep running
    Stop,
}

/// How long `engine stop` waits for the engine to exit.
const STOP_TIMEOUT: Duration = Duration::from_secs(30);

/// Runs the engine until it is stopped, or stops the running one.
pub fn run(args: &Args, context: &Context) -> Result<(), CliError> {
    match args.action {
        None => Ok(crate::engine::run_engine(context.layout())?),
        Some(Action::Stop) => stop(&context.client()?),
    }
}

/// Asks the engine to stop and waits until its process is gone; nothing to do when
/// none runs.
fn stop(client: &Client) -> Result<(), CliError> {
    let ping = client.call_running(&Request::Ping, &[]);
    let pid = match ping.and_then(|call| call.finish(|_, _| {})) {
        Ok(Reply::Pong { pid, .. }) => pid,
        Ok(other) => return Err(super::image::unexpected("ping", &other)),
        Err(ClientError::NotRunning { .. }) => {
            eprintln!(
                "rcompose: no engine runs for {}",
                client.layout().root().display()
            );
            return Ok(());
        }
        Err(err) => return Err(err.into()),
    };
    client
        .call_running(&Request::Shutdown, &[])?
        .finish(|_, _| {})?;
    let deadline = Instant::now() + STOP_TIMEOUT;
    while alive(pid) {
        if Instant::now() > deadline {
            return Err(CliError::EngineStop {
                pid,
                waited: STOP_TIMEOUT,
            });
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    Ok(())
}

/// Whether process `pid` still runs (a zombie waiting for its parent does not).
fn alive(pid: u32) -> bool {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    // The state follows the command name, which is in parentheses and may hold any
    // character.
    let state = stat
        .rsplit_once(") ")
        .and_then(|(_, rest)| rest.chars().next());
    !matches!(state, Some('Z' | 'X') | None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{parse, Cli, Command};

    #[test]
    fn stop_is_an_action_and_global_options_follow_it() {
        match parse(["rcompose", "engine", "stop", "--root", "/tmp/r"]).unwrap() {
            Cli {
                command: Some(Command::Engine(verb)),
                global,
                ..
            } => {
                assert_eq!(verb.args.action, Some(Action::Stop));
                assert_eq!(global.root, Some("/tmp/r".into()));
            }
            other => panic!("unexpected {other:?}"),
        }
        match parse(["rcompose", "engine", "--root", "/tmp/r"])
            .unwrap()
            .command
        {
            Some(Command::Engine(verb)) => assert_eq!(verb.args.action, None),
            other => panic!("unexpected {other:?}"),
        }
        assert!(parse(["rcompose", "engine", "start"]).is_err());
    }

    #[test]
    fn liveness_reads_proc() {
        assert!(alive(std::process::id()));
        // Beyond pid_max (at most 2^22).
        assert!(!alive(1 << 23));
    }
}
