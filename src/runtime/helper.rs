//! The helper: `rcompose __container-init`, a fresh single-threaded process started by
//! [`Runtime::spawn`](super::Runtime::spawn). It reads the spec from its config pipe,
//! creates the PID namespace, forks the container's PID 1 (which sets itself up and
//! execs, see [`init`](super::init)), reports to the caller on its status pipe, waits for
//! PID 1 and exits with its exit code.
//!
//! It is the container's shim and outlives its caller: it starts its own session and
//! ignores SIGPIPE, SIGINT, SIGTERM and SIGHUP (PID 1 resets them before it executes
//! the program), and goes on when nobody reads its reports any more. With `spec.log`
//! it gives PID 1 pipes for stdout and stderr and writes what comes out of them to the
//! log ([`logfile`](super::logfile)) until PID 1 has ended and the pipes are drained;
//! with `spec.exit_file` it writes how the container ended there before it exits.

use super::container::ExitStatus;
use super::error::{RuntimeError, Step};
use super::init;
use super::logfile::{LogWriter, Stream};
use super::message::{write_report, Failure, Report, ReportReader};
use super::process::{write_exit_file, ExitRecord};
use super::spec::ValidSpec;
use super::sys;
use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::sched::{unshare, CloneFlags};
use nix::sys::signal::{kill, Signal};
use nix::sys::wait::{waitpid, WaitStatus};
use nix::unistd::{ForkResult, Pid};
use rustix::event::{poll, PollFd, PollFlags, Timespec};
use rustix::process::{pidfd_open, PidfdFlags};
use std::error::Error;
use std::fs::{File, OpenOptions};
use std::io::{ErrorKind, Read};
use std::os::fd::{OwnedFd, RawFd};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::time::{Duration, Instant, SystemTime};

/// The hidden subcommand that runs the helper.
pub const HELPER_SUBCOMMAND: &str = "__container-init";

/// How long the helper goes on reading the container's output after PID 1 has ended,
/// when something outside the container still holds a pipe open.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

/// The helper's arguments: the descriptors of its two pipes.
#[derive(Clone, Debug, PartialEq, Eq, clap::Args)]
pub struct HelperArgs {
    /// Read end of the pipe the spec (JSON) comes on.
    #[arg(long, value_name = "FD")]
    pub config_fd: RawFd,
    /// Write end of the pipe reports go to.
    #[arg(long, value_name = "FD")]
    pub status_fd: RawFd,
}

/// Runs the helper and exits with the container's exit code (or Docker's 125/126/127
/// when it could not start).
pub fn helper_main(args: &HelperArgs) -> ! {
    // Before anything else opens a descriptor. A failure here only means descriptors
    // stay open in the helper (never in the container: its init marks them
    // close-on-exec).
    // SAFETY: nothing of ours has opened a descriptor yet: none has an owner.
    let _ = unsafe { sys::close_fds_except(&[args.config_fd, args.status_fd]) };
    detach();
    let mut status = match sys::take_fd(args.status_fd) {
        Ok(fd) => File::from(fd),
        Err(errno) => {
            eprintln!(
                "rcompose {HELPER_SUBCOMMAND}: no status pipe on descriptor {}: {errno} \
                 (this command is run by rcompose's runtime, not by hand)",
                args.status_fd
            );
            std::process::exit(125);
        }
    };
    let spec = match read_spec(args.config_fd) {
        Ok(spec) => spec,
        Err(failure) => {
            let code = RuntimeError::from(failure.clone()).exit_code();
            let _ = write_report(&mut status, &Report::Failed(failure));
            std::process::exit(code);
        }
    };
    let (code, record, report) = match run(&spec, &mut status) {
        Ok(exit) => (
            exit.code(),
            ExitRecord {
                status: exit,
                error: None,
            },
            Report::Exited(exit),
        ),
        Err(failure) => {
            let err = RuntimeError::from(failure.clone());
            let code = err.exit_code();
            let record = ExitRecord {
                status: ExitStatus::Exited(code),
                error: Some(with_causes(&err)),
            };
            (code, record, Report::Failed(failure))
        }
    };
    // The file first: a caller that reads the report may look for it.
    if let Some(path) = &spec.spec().exit_file {
        if let Err(err) = write_exit_file(path, &record) {
            eprintln!(
                "rcompose {HELPER_SUBCOMMAND}: cannot write the exit file {}: {err}",
                path.display()
            );
        }
    }
    // The caller may be gone; the exit code and the exit file still say it.
    let _ = write_report(&mut status, &report);
    std::process::exit(code)
}

/// Cuts the helper loose from its caller: its own session (no terminal's signals
/// reach it) and the signals a dying caller or its process group send ignored. A
/// failure changes nothing for the container: it is ignored.
fn detach() {
    let _ = sys::ignore_signals(&[
        Signal::SIGPIPE,
        Signal::SIGINT,
        Signal::SIGTERM,
        Signal::SIGHUP,
    ]);
    let _ = nix::unistd::setsid();
}

/// An error and its causes, as one line.
fn with_causes(err: &dyn Error) -> String {
    let mut text = err.to_string();
    let mut cause = err.source();
    while let Some(err) = cause {
        text.push_str(": ");
        text.push_str(&err.to_string());
        cause = err.source();
    }
    text
}

fn run(spec: &ValidSpec, status: &mut File) -> Result<ExitStatus, Failure> {
    let capture = spec.spec().log.as_deref().map(Capture::open).transpose()?;
    unshare(CloneFlags::CLONE_NEWPID).map_err(|errno| Failure::setup(Step::PidNamespace, errno))?;
    let (report_read, report_write) = nix::unistd::pipe2(OFlag::O_CLOEXEC)
        .map_err(|errno| Failure::setup(Step::InitPipe, errno))?;
    match sys::fork().map_err(|errno| Failure::setup(Step::Fork, errno))? {
        ForkResult::Child => {
            drop(report_read);
            let mut report = File::from(report_write);
            // A panic must not unwind into the helper's code in this process.
            let code = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || {
                if let Some(capture) = capture {
                    if let Err(failure) = capture.into_output() {
                        return init::report_failure(&mut report, failure);
                    }
                }
                init::setup_and_exec(spec, report)
            }));
            sys::exit_now(code.unwrap_or(125))
        }
        ForkResult::Parent { child } => {
            drop(report_write);
            let collector = capture.map(Capture::into_collector);
            // The init's report pipe closes on its exec (close-on-exec) or its exit.
            await_exec(report_read, child, Step::WaitInit)?;
            // The caller may be gone: the container runs on regardless.
            let _ = write_report(
                status,
                &Report::Started {
                    pid: child.as_raw(),
                },
            );
            match collector {
                Some(collector) => collector.run(child),
                None => wait_for(child, Step::WaitInit),
            }
        }
    }
}

fn read_spec(config_fd: RawFd) -> Result<ValidSpec, Failure> {
    let config = sys::take_fd(config_fd).map_err(|errno| Failure::setup(Step::HelperFds, errno))?;
    let mut json = Vec::new();
    File::from(config)
        .read_to_end(&mut json)
        .map_err(|err| Failure::io(Step::ReadSpec, &err))?;
    serde_json::from_slice(&json).map_err(|err| Failure::Spec {
        reason: err.to_string(),
    })
}

/// Waits until `child` has ended.
pub(super) fn wait_for(child: Pid, step: Step) -> Result<ExitStatus, Failure> {
    loop {
        match waitpid(child, None) {
            Ok(WaitStatus::Exited(_, code)) => return Ok(ExitStatus::Exited(code)),
            Ok(WaitStatus::Signaled(_, signal, _)) => {
                return Ok(ExitStatus::Signaled(signal as i32))
            }
            Ok(_) | Err(Errno::EINTR) => {}
            Err(errno) => return Err(Failure::setup(step.clone(), errno)),
        }
    }
}

/// Reads the report pipe of a forked child that sets itself up and execs: it closes
/// with no report on the exec (close-on-exec). A reported failure is returned once the
/// child is reaped; anything else kills the child. `step` names a failed wait.
pub(super) fn await_exec(report_read: OwnedFd, child: Pid, step: Step) -> Result<(), Failure> {
    match ReportReader::new(File::from(report_read)).next() {
        Ok(None) => Ok(()),
        Ok(Some(Report::Failed(failure))) => {
            wait_for(child, step)?;
            Err(failure)
        }
        Ok(Some(_)) | Err(_) => {
            let _ = kill(child, Signal::SIGKILL);
            wait_for(child, step)?;
            Err(Failure::setup(Step::InitPipe, Errno::EIO))
        }
    }
}

/// The log file and the pipes PID 1's stdout and stderr go into, before the fork.
struct Capture {
    log: File,
    /// (read end, write end) for stdout, then stderr.
    pipes: [(OwnedFd, OwnedFd); 2],
}

impl Capture {
    /// Opens the log (appending; created 0640) and makes the pipes.
    fn open(path: &Path) -> Result<Capture, Failure> {
        let log = OpenOptions::new()
            .append(true)
            .create(true)
            .mode(0o640)
            .open(path)
            .map_err(|err| {
                Failure::io(
                    Step::OpenLog {
                        path: path.to_path_buf(),
                    },
                    &err,
                )
            })?;
        let pipe = || {
            nix::unistd::pipe2(OFlag::O_CLOEXEC)
                .map_err(|errno| Failure::setup(Step::LogPipes, errno))
        };
        Ok(Capture {
            log,
            pipes: [pipe()?, pipe()?],
        })
    }

    /// PID 1's side: the write ends become its stdout and stderr.
    fn into_output(self) -> Result<(), Failure> {
        let [(_, stdout), (_, stderr)] = &self.pipes;
        nix::unistd::dup2_stdout(stdout).map_err(|errno| Failure::setup(Step::LogPipes, errno))?;
        nix::unistd::dup2_stderr(stderr).map_err(|errno| Failure::setup(Step::LogPipes, errno))
    }

    /// The helper's side: the read ends and the log; the write ends are closed, so
    /// that the pipes end when the container's last process has.
    fn into_collector(self) -> Collector {
        let [(stdout, _), (stderr, _)] = self.pipes;
        Collector {
            writer: LogWriter::new(self.log),
            pipes: [
                Some((Stream::Stdout, File::from(stdout))),
                Some((Stream::Stderr, File::from(stderr))),
            ],
        }
    }
}

/// Copies the container's output to the log while waiting for PID 1.
struct Collector {
    writer: LogWriter<File>,
    /// The pipes still open.
    pipes: [Option<(Stream, File)>; 2],
}

impl Collector {
    /// Writes the output to the log until `child` has ended and the pipes are closed
    /// (every process of the container dies with PID 1), or [`DRAIN_TIMEOUT`] after
    /// PID 1 ended. A log that can't be written loses the output, not the container:
    /// the pipes are read on.
    fn run(mut self, child: Pid) -> Result<ExitStatus, Failure> {
        let pidfd = rustix::process::Pid::from_raw(child.as_raw())
            .ok_or(rustix::io::Errno::INVAL)
            .and_then(|pid| pidfd_open(pid, PidfdFlags::empty()));
        let pidfd = match pidfd {
            Ok(pidfd) => pidfd,
            Err(err) => return Err(self.give_up(child, sys::errno(err))),
        };
        let mut exit = None;
        let mut drain_until = None;
        let mut buf = vec![0; 64 * 1024];
        while exit.is_none() || self.pipes.iter().any(Option::is_some) {
            let [stdout, stderr, ended] = match self.ready(&pidfd, exit.is_none(), drain_until) {
                Ok(Some(ready)) => ready,
                Ok(None) => break, // drained long enough
                Err(rustix::io::Errno::INTR) => continue,
                Err(err) => return Err(self.give_up(child, sys::errno(err))),
            };
            for (pipe, ready) in self.pipes.iter_mut().zip([stdout, stderr]) {
                let Some((stream, file)) = pipe.as_mut().filter(|_| ready) else {
                    continue;
                };
                let stream = *stream;
                match file.read(&mut buf) {
                    Err(err) if err.kind() == ErrorKind::Interrupted => {}
                    Ok(n) if n > 0 => {
                        let data = buf.get(..n).unwrap_or_default();
                        let _ = self.writer.write(stream, data, SystemTime::now());
                    }
                    // End of file (or a pipe that can't be read).
                    Ok(_) | Err(_) => {
                        let _ = self.writer.finish(stream, SystemTime::now());
                        *pipe = None;
                    }
                }
            }
            if ended && exit.is_none() {
                exit = Some(wait_for(child, Step::WaitInit)?);
                drain_until = Instant::now().checked_add(DRAIN_TIMEOUT);
            }
        }
        for (stream, _) in self.pipes.iter().flatten() {
            let _ = self.writer.finish(*stream, SystemTime::now());
        }
        match exit {
            Some(exit) => Ok(exit),
            None => wait_for(child, Step::WaitInit),
        }
    }

    /// Waits (until `until`, if given) for output on an open pipe or, when
    /// `watch_exit`, for PID 1's end: which of stdout, stderr and the end are ready,
    /// `None` on timeout.
    fn ready(
        &self,
        pidfd: &OwnedFd,
        watch_exit: bool,
        until: Option<Instant>,
    ) -> rustix::io::Result<Option<[bool; 3]>> {
        let mut slots = Vec::with_capacity(3);
        let mut fds = Vec::with_capacity(3);
        for (slot, pipe) in self.pipes.iter().enumerate() {
            if let Some((_, file)) = pipe {
                slots.push(slot);
                fds.push(PollFd::new(file, PollFlags::IN));
            }
        }
        if watch_exit {
            slots.push(2);
            // A pidfd is readable once its process has ended.
            fds.push(PollFd::new(pidfd, PollFlags::IN));
        }
        let left = until.map(|until| {
            let left = until.saturating_duration_since(Instant::now());
            Timespec::try_from(left).unwrap_or(Timespec {
                tv_sec: 0,
                tv_nsec: 0,
            })
        });
        if poll(&mut fds, left.as_ref())? == 0 {
            return Ok(None);
        }
        let mut ready = [false; 3];
        for (slot, fd) in slots.into_iter().zip(&fds) {
            if let Some(ready) = ready.get_mut(slot) {
                *ready = !fd.revents().is_empty();
            }
        }
        Ok(Some(ready))
    }

    /// Watching the container failed (never seen): it is killed rather than left
    /// running with nobody reading its output.
    fn give_up(self, child: Pid, errno: Errno) -> Failure {
        let _ = kill(child, Signal::SIGKILL);
        let _ = wait_for(child, Step::WaitInit);
        Failure::setup(Step::WaitInit, errno)
    }
}
