//! `rcompose start|stop|restart|kill|rm [SERVICE...]`: one action over a project's
//! containers ([`Lifecycle`]), done by the engine, its progress shown as `up`'s. They
//! work with only `-p NAME` too (no compose file).

use super::image::write;
use super::options::check_services;
use super::{CliError, Context};
use crate::engine::protocol::{Lifecycle, LifecycleRequest, Request};
use nix::sys::signal::Signal;
use std::io::{self, BufRead, IsTerminal, Write};
use std::str::FromStr;

/// Services named on the command line (`start`).
#[derive(Debug, clap::Args)]
pub struct ServicesArgs {
    /// Only these services' containers [default: all of the project's]
    #[arg(value_name = "SERVICE")]
    pub services: Vec<String>,
}

/// The arguments of `stop` and `restart`.
#[derive(Debug, clap::Args)]
pub struct StopArgs {
    /// Seconds to wait for each container to stop before killing it [default: its
    /// stop_grace_period, 10 s unless set]
    #[arg(short = 't', long, value_name = "SECONDS")]
    pub timeout: Option<u64>,
    /// Only these services' containers [default: all of the project's]
    #[arg(value_name = "SERVICE")]
    pub services: Vec<String>,
}

/// The arguments of `kill`.
#[derive(Debug, clap::Args)]
pub struct KillArgs {
    /// The signal: a name (`SIGTERM`, `TERM`, `term`) or a number
    #[arg(short, long, default_value = "SIGKILL", value_parser = parse_signal)]
    pub signal: i32,
    /// Only these services' containers [default: all of the project's]
    #[arg(value_name = "SERVICE")]
    pub services: Vec<String>,
}

/// The arguments of `rm`.
#[derive(Debug, clap::Args)]
pub struct RmArgs {
    /// Don't ask for confirmation
    #[arg(short, long)]
    pub force: bool,
    /// Stop running containers first (else they are left)
    #[arg(short, long)]
    pub stop: bool,
    /// Remove their anonymous volumes too
    #[arg(short, long)]
    pub volumes: bool,
    /// Only these services' containers [default: all of the project's]
    #[arg(value_name = "SERVICE")]
    pub services: Vec<String>,
}

/// A signal name (with or without `SIG`, any case) or number, as its number.
fn parse_signal(text: &str) -> Result<i32, String> {
    if let Ok(number) = text.parse::<i32>() {
        return Signal::try_from(number)
            .map(|signal| signal as i32)
            .map_err(|_| format!("{number} is not a signal number"));
    }
    let upper = text.to_ascii_uppercase();
    let name = match upper.strip_prefix("SIG") {
        Some(_) => upper,
        None => format!("SIG{upper}"),
    };
    Signal::from_str(&name)
        .map(|signal| signal as i32)
        .map_err(|_| format!("unknown signal {text:?} (for example SIGTERM, TERM or 15)"))
}

/// Does `action` to the containers of `services` (all of the project's when empty).
pub fn run(services: &[String], action: Lifecycle, context: &Context) -> Result<(), CliError> {
    let (project, loaded) = context.load_or_name()?;
    if let Some(loaded) = &loaded {
        check_services(loaded, services)?;
    }
    let client = context.client()?;
    let request = Request::Lifecycle(Box::new(LifecycleRequest {
        project,
        services: services.to_vec(),
        action,
    }));
    super::progress::call(&client, &request, "lifecycle")
}

/// `rm`: asks first (unless `-f`) when standard input is a terminal, listing what goes.
pub fn rm(args: &RmArgs, context: &Context, out: &mut dyn Write) -> Result<(), CliError> {
    let action = Lifecycle::Remove {
        stop: args.stop,
        volumes: args.volumes,
    };
    if args.force || !io::stdin().is_terminal() {
        return run(&args.services, action, context);
    }
    let (project, loaded) = context.load_or_name()?;
    if let Some(loaded) = &loaded {
        check_services(loaded, &args.services)?;
    }
    let listed = super::ps::containers(&context.client()?, &project, true)?;
    let names: Vec<String> = super::logs::of_services(listed, &args.services)
        .into_iter()
        .filter(|c| c.number.is_some() && (args.stop || c.state != "running"))
        .map(|c| c.name)
        .collect();
    if names.is_empty() {
        eprintln!("No stopped containers");
        return Ok(());
    }
    if !confirm(out, &mut io::stdin().lock(), &names)? {
        return Ok(());
    }
    run(&args.services, action, context)
}

/// Asks whether to remove `names`: `y` or `yes` (any case) goes on.
fn confirm(
    out: &mut dyn Write,
    input: &mut dyn BufRead,
    names: &[String],
) -> Result<bool, CliError> {
    write(
        out,
        &format!("Going to remove {}\nAre you sure? [yN] ", names.join(", ")),
    )?;
    let mut answer = String::new();
    input.read_line(&mut answer).map_err(CliError::Confirm)?;
    let answer = answer.trim().to_ascii_lowercase();
    Ok(answer == "y" || answer == "yes")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{parse, Command};

    #[test]
    fn signals_by_name_or_number() {
        for (given, expected) in [
            ("SIGKILL", 9),
            ("KILL", 9),
            ("term", 15),
            ("SigHup", 1),
            ("15", 15),
            ("SIGUSR1", 10),
        ] {
            assert_eq!(parse_signal(given), Ok(expected), "{given}");
        }
        assert_eq!(
            parse_signal("NOPE"),
            Err("unknown signal \"NOPE\" (for example SIGTERM, TERM or 15)".to_string())
        );
        assert_eq!(
            parse_signal("99"),
            Err("99 is not a signal number".to_string())
        );
        assert!(parse_signal("").is_err());
    }

    #[test]
    fn verbs_parse() {
        match parse(["rcompose", "stop", "-t", "3", "web", "db"])
            .unwrap()
            .command
        {
            Some(Command::Stop(verb)) => {
                assert_eq!(verb.args.timeout, Some(3));
                assert_eq!(verb.args.services, ["web", "db"]);
            }
            other => panic!("unexpected {other:?}"),
        }
        match parse(["rcompose", "restart"]).unwrap().command {
            Some(Command::Restart(verb)) => assert_eq!(verb.args.timeout, None),
            other => panic!("unexpected {other:?}"),
        }
        match parse(["rcompose", "kill", "-s", "TERM", "web"])
            .unwrap()
            .command
        {
            Some(Command::Kill(verb)) => assert_eq!(verb.args.signal, 15),
            other => panic!("unexpected {other:?}"),
        }
        match parse(["rcompose", "kill"]).unwrap().command {
            Some(Command::Kill(verb)) => assert_eq!(verb.args.signal, 9),
            other => panic!("unexpected {other:?}"),
        }
        let cli = parse([
            "rcompose", "rm", "-f", "-s", "-v", "web", "--file", "c.yaml",
        ])
        .unwrap();
        match cli.command {
            Some(Command::Rm(verb)) => {
                let args = verb.args;
                assert!(args.force && args.stop && args.volumes);
                assert_eq!(args.services, ["web"]);
            }
            other => panic!("unexpected {other:?}"),
        }
        assert_eq!(cli.global.files, [std::path::PathBuf::from("c.yaml")]);
        match parse(["rcompose", "start", "web"]).unwrap().command {
            Some(Command::Start(verb)) => assert_eq!(verb.args.services, ["web"]),
            other => panic!("unexpected {other:?}"),
        }
        assert!(parse(["rcompose", "kill", "-s", "NOPE"]).is_err());
        assert!(parse(["rcompose", "stop", "-t", "-1"]).is_err());
    }

    #[test]
    fn rm_asks_first() {
        let names = ["demo-web-1".to_string(), "demo-db-1".to_string()];
        for (answer, expected) in [("y\n", true), ("YES\n", true), ("\n", false), ("n", false)] {
            let mut out = Vec::new();
            let go = confirm(&mut out, &mut answer.as_bytes(), &names).unwrap();
            assert_eq!(go, expected, "{answer:?}");
            assert_eq!(
                String::from_utf8(out).unwrap(),
                "Going to remove demo-web-1, demo-db-1\nAre you sure? [yN] "
            );
        }
    }
}
