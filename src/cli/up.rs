//! `rcompose up`: the project is loaded and validated here and sent whole to the
//! engine, which converges it (networks, volumes, containers in dependency order) and
//! reports its progress. Without `-d`, `up` then follows the containers' output as
//! `logs -f` does (`web-1  | ...`) until they have all ended; Ctrl-C (or SIGTERM)
//! stops the project gracefully, a second one kills it.

use super::attach::{block_signals, BlockedSignals};
use super::image::write;
use super::logs::{self, display_name, Followed, Printer};
use super::options::check_services;
use super::ps::containers;
use super::{progress, CliError, Context};
use crate::engine::protocol::{ContainerSummary, Lifecycle, LifecycleRequest, Request, UpRequest};
use crate::engine::Client;
use crate::plan::reconcile::Recreate;
use crate::plan::UpOptions;
use nix::errno::Errno;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::signal::{SigSet, Signal};
use nix::sys::signalfd::SignalFd;
use nix::unistd;
use std::io::{IsTerminal, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::sync::mpsc::{self, Sender};
use std::thread::JoinHandle;

/// The arguments of `rcompose up`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Return once the project has converged, without following its output
    #[arg(short, long)]
    pub detach: bool,
    /// Run N containers of SERVICE (over the file's `scale` / `deploy.replicas`),
    /// repeatable
    #[arg(long, value_name = "SERVICE=N", value_parser = parse_scale)]
    pub scale: Vec<(String, u32)>,
    /// Create the containers, don't start them
    #[arg(long)]
    pub no_start: bool,
    /// Recreate the containers even when nothing changed
    #[arg(long, conflicts_with = "no_recreate")]
    pub force_recreate: bool,
    /// Keep existing containers even when their configuration changed
    #[arg(long)]
    pub no_recreate: bool,
    /// Remove containers of services the compose file no longer has
    #[arg(long)]
    pub remove_orphans: bool,
    /// Seconds to wait for containers that are recreated or scaled down to stop before
    /// killing them (and for all of them after Ctrl-C) [default: each one's
    /// stop_grace_period, 10 s unless set]
    #[arg(short = 't', long, value_name = "SECONDS")]
    pub timeout: Option<u64>,
    /// Only these services and those they depend on [default: all]
    #[arg(value_name = "SERVICE")]
    pub services: Vec<String>,
}

/// `SERVICE=N`.
fn parse_scale(text: &str) -> Result<(String, u32), String> {
    let invalid = || format!("expected SERVICE=N (for example web=3), not {text:?}");
    let (service, count) = text.split_once('=').ok_or_else(invalid)?;
    if service.is_empty() {
        return Err(invalid());
    }
    let count = count.parse().map_err(|_| invalid())?;
    Ok((service.to_string(), count))
}

/// The plan's options from the command line.
fn options(args: &Args) -> UpOptions {
    let recreate = match (args.force_recreate, args.no_recreate) {
        (true, _) => Recreate::Force,
        (false, true) => Recreate::Never,
        (false, false) => Recreate::Diverged,
    };
    UpOptions {
        scale: args.scale.iter().cloned().collect(),
        services: args.services.clone(),
        no_start: args.no_start,
        remove_orphans: args.remove_orphans,
        recreate,
    }
}

/// Brings the project up; returns 0, or 130 once Ctrl-C has stopped it.
pub fn run(args: &Args, context: &Context, out: &mut dyn Write) -> Result<i32, CliError> {
    let (project, config_files) = context.load_with_files(&args.services)?;
    check_services(&project, &args.services)?;
    let scaled: Vec<String> = args.scale.iter().map(|(s, _)| s.clone()).collect();
    check_services(&project, &scaled)?;
    let name = project.name.clone();
    let client = context.client()?;
    let request = Request::Up(Box::new(UpRequest {
        project,
        options: options(args),
        timeout: args.timeout,
        config_files,
    }));
    progress::call(&client, &request, "up")?;
    if args.detach || args.no_start {
        return Ok(0);
    }
    attach(&client, &name, args, out)
}

/// What the attached `up` waits for.
enum Message {
    Log(Followed),
    /// SIGINT or SIGTERM.
    Interrupted,
    /// The project has stopped (after an interruption).
    Stopped(Result<(), CliError>),
}

/// Follows the output of the project's containers (of `args.services`) until they have
/// all ended, each from the start of its log. Stopped ones are followed too (rather
/// than only running ones): one that ended before it could be listed still shows its
/// output and exit code.
fn attach(
    client: &Client,
    project: &str,
    args: &Args,
    out: &mut dyn Write,
) -> Result<i32, CliError> {
    let (sender, receiver) = mpsc::channel();
    // Before any thread starts, so that every thread blocks them.
    let _interrupts = Interrupts::start(sender.clone())?;
    let listed: Vec<ContainerSummary> =
        logs::of_services(containers(client, project, true)?, &args.services)
            .into_iter()
            .filter(|c| c.number.is_some())
            .collect();
    let names: Vec<String> = listed.iter().map(display_name).collect();
    let printer = Printer::new(&names, true, std::io::stdout().is_terminal(), false);
    logs::follow(client, &listed, None, &sender, Message::Log);
    let mut following = listed.len();
    let (mut interrupted, mut stopping) = (false, false);
    while following > 0 || stopping {
        let Ok(message) = receiver.recv() else {
            break;
        };
        match message {
            Message::Log(Followed::Line { index, time, text }) => {
                write(out, &printer.line(index, &time, &text))?
            }
            Message::Log(Followed::Ended { index, result }) => {
                following -= 1;
                if let Err(err) = result {
                    eprintln!("rcompose: warning: {err}");
                } else if let Some(code) = listed.get(index).and_then(|c| exit_code(client, c)) {
                    write(
                        out,
                        &printer.status(index, &format!("exited with code {code}")),
                    )?;
                }
            }
            Message::Interrupted if !interrupted => {
                interrupted = true;
                stopping = true;
                eprintln!("Gracefully stopping... (press Ctrl+C again to force)");
                let timeout = args.timeout;
                lifecycle(client, project, args, Lifecycle::Stop { timeout }, &sender);
            }
            Message::Interrupted => {
                let signal = Signal::SIGKILL as i32;
                lifecycle(client, project, args, Lifecycle::Kill { signal }, &sender);
            }
            Message::Stopped(result) => {
                stopping = false;
                result?;
            }
        }
    }
    Ok(if interrupted { 130 } else { 0 })
}

/// Does `action` to the project's containers in a thread of its own, which reports
/// the end of a stop with [`Message::Stopped`].
fn lifecycle(
    client: &Client,
    project: &str,
    args: &Args,
    action: Lifecycle,
    sender: &Sender<Message>,
) {
    let stop = matches!(action, Lifecycle::Stop { .. });
    let request = Request::Lifecycle(Box::new(LifecycleRequest {
        project: project.to_string(),
        services: args.services.clone(),
        action,
    }));
    let (client, sender) = (client.clone(), sender.clone());
    std::thread::spawn(move || {
        let result = progress::call(&client, &request, "lifecycle");
        if stop {
            let _ = sender.send(Message::Stopped(result));
        } else if let Err(err) = result {
            eprintln!("rcompose: warning: {}", err.render());
        }
    });
}

/// The exit code of `container` once it has exited.
fn exit_code(client: &Client, container: &ContainerSummary) -> Option<i32> {
    containers(client, &container.project, true)
        .ok()?
        .into_iter()
        .find(|c| c.id == container.id && c.state == "exited")?
        .exit_code
}

/// SIGINT and SIGTERM, blocked in this thread (and so in those it starts) and read from
/// a signalfd by a thread that turns them into [`Message::Interrupted`]. Dropping it
/// ends that thread and unblocks them.
struct Interrupts {
    stop: OwnedFd,
    thread: Option<JoinHandle<()>>,
    previous_mask: SigSet,
}

impl Interrupts {
    fn start(sender: Sender<Message>) -> Result<Interrupts, CliError> {
        let failed = |source| CliError::Attach {
            what: "catch Ctrl-C",
            source,
        };
        let BlockedSignals {
            signals,
            wake,
            stop,
            previous_mask,
        } = block_signals(&[Signal::SIGINT, Signal::SIGTERM]).map_err(failed)?;
        let thread = std::thread::spawn(move || read_interrupts(&signals, &wake, &sender));
        Ok(Interrupts {
            stop,
            thread: Some(thread),
            previous_mask,
        })
    }
}

impl Drop for Interrupts {
    fn drop(&mut self) {
        let _ = unistd::write(&self.stop, b"x");
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        let _ = self.previous_mask.thread_set_mask();
    }
}

/// Until `wake` is readable, each signal read from `signals` becomes a message.
fn read_interrupts(signals: &SignalFd, wake: &OwnedFd, sender: &Sender<Message>) {
    let ready = |fd: Option<&PollFd>| {
        fd.and_then(PollFd::revents)
            .is_some_and(|events| !events.is_empty())
    };
    loop {
        let mut fds = [
            PollFd::new(signals.as_fd(), PollFlags::POLLIN),
            PollFd::new(wake.as_fd(), PollFlags::POLLIN),
        ];
        match poll(&mut fds, PollTimeout::NONE) {
            Ok(_) | Err(Errno::EINTR) => {}
            Err(_) => return,
        }
        if ready(fds.get(1)) {
            return;
        }
        while let Ok(Some(_)) = signals.read_signal() {
            if sender.send(Message::Interrupted).is_err() {
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{parse, Command};
    use std::collections::BTreeMap;

    fn args(line: &[&str]) -> Args {
        match parse(line.iter().copied()).unwrap().command {
            Some(Command::Up(verb)) => verb.args,
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn options_become_the_plan_options() {
        let parsed = args(&[
            "rcompose",
            "up",
            "-d",
            "--scale",
            "web=3",
            "--scale",
            "worker=0",
            "--no-start",
            "--force-recreate",
            "--remove-orphans",
            "-t",
            "5",
            "web",
            "db",
        ]);
        assert!(parsed.detach);
        assert_eq!(parsed.timeout, Some(5));
        assert_eq!(
            options(&parsed),
            UpOptions {
                scale: BTreeMap::from([("web".to_string(), 3), ("worker".to_string(), 0)]),
                services: vec!["web".to_string(), "db".to_string()],
                no_start: true,
                remove_orphans: true,
                recreate: Recreate::Force,
            }
        );
        let parsed = args(&["rcompose", "up", "--no-recreate"]);
        assert!(!parsed.detach);
        assert_eq!(options(&parsed).recreate, Recreate::Never);
        assert_eq!(options(&args(&["rcompose", "up"])), UpOptions::default());
    }

    #[test]
    fn bad_options_are_usage_errors() {
        assert!(parse(["rcompose", "up", "--force-recreate", "--no-recreate"]).is_err());
        for bad in ["web", "=3", "web=", "web=-1", "web=x"] {
            let err = parse(["rcompose", "up", "--scale", bad]).unwrap_err();
            assert!(
                err.render()
                    .contains("expected SERVICE=N (for example web=3)"),
                "{bad}: {}",
                err.render()
            );
        }
        assert_eq!(parse_scale("web=3"), Ok(("web".to_string(), 3)));
        assert_eq!(
            parse_scale("a=b=1"),
            Err("expected SERVICE=N (for example web=3), not \"a=b=1\"".to_string())
        );
    }
}
