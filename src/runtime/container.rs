//! The caller's side: start a container through the helper, learn its PID, wait for
//! its exit status.
//!
//! The caller never forks itself to set a container up (it may be the multi-threaded
//! engine, where a forked child must not allocate): it spawns the helper, a fresh exec
//! of our own binary, with `std::process::Command`, and talks to it over two pipes.

use super::error::RuntimeError;
use super::helper::HELPER_SUBCOMMAND;
use super::message::{Report, ReportReader};
use super::spec::ValidSpec;
use super::sys;
use nix::fcntl::OFlag;
use nix::libc;
use nix::spawn::{posix_spawn, PosixSpawnAttr, PosixSpawnFileActions, PosixSpawnFlags};
use nix::sys::signal::SigSet;
use nix::unistd::Pid;
use serde::{Deserialize, Serialize};
use std::ffi::CString;
use std::fmt;
use std::fs::File;
use std::io::{self, Write};
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;

/// How the container's PID 1 ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExitStatus {
    /// It exited with this code.
    Exited(i32),
    /// A signal (this number) killed it.
    Signaled(i32),
}

impl ExitStatus {
    /// The exit code as a shell (and Docker) reports it: the code, or 128 + the signal.
    pub fn code(self) -> i32 {
        match self {
            ExitStatus::Exited(code) => code,
            ExitStatus::Signaled(signal) => 128 + signal,
        }
    }
}

impl fmt::Display for ExitStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExitStatus::Exited(code) => write!(f, "exited with code {code}"),
            ExitStatus::Signaled(signal) => write!(f, "killed by signal {signal}"),
        }
    }
}

/// Where one of the container's standard streams goes.
#[derive(Debug, Default)]
pub enum StdioSource {
    /// The caller's own stream.
    #[default]
    Inherit,
    /// `/dev/null`.
    Null,
    /// This descriptor (a file, a pipe, a socket, a terminal).
    Fd(OwnedFd),
}

impl From<StdioSource> for Stdio {
    fn from(source: StdioSource) -> Stdio {
        match source {
            StdioSource::Inherit => Stdio::inherit(),
            StdioSource::Null => Stdio::null(),
            StdioSource::Fd(fd) => Stdio::from(fd),
        }
    }
}

/// The container's standard streams. Descriptors can't travel in the JSON spec: they
/// become the helper's own streams, which the container inherits.
#[derive(Debug, Default)]
pub struct StdioSpec {
    /// Standard input.
    pub stdin: StdioSource,
    /// Standard output.
    pub stdout: StdioSource,
    /// Standard error.
    pub stderr: StdioSource,
}

/// Starts containers by running the helper.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Runtime {
    helper: PathBuf,
}

impl Default for Runtime {
    fn default() -> Self {
        Runtime::new()
    }
}

impl Runtime {
    /// Runs the helper from our own binary (`/proc/self/exe`).
    pub fn new() -> Self {
        Runtime::with_helper("/proc/self/exe")
    }

    /// Runs the helper from `binary` (an rcompose binary: tests run
    /// `CARGO_BIN_EXE_rcompose`, since their own executable is the test harness).
    pub fn with_helper(binary: impl Into<PathBuf>) -> Self {
        Runtime {
            helper: binary.into(),
        }
    }

    /// Runs the container with the caller's standard streams until it ends.
    pub fn run(&self, spec: &ValidSpec) -> Result<ExitStatus, RuntimeError> {
        self.spawn(spec, StdioSpec::default())?.wait()
    }

    /// Starts the container and returns once its program has been executed (or with
    /// the step that failed before).
    pub fn spawn(
        &self,
        spec: &ValidSpec,
        stdio: StdioSpec,
    ) -> Result<RunningContainer, RuntimeError> {
        let json = serde_json::to_vec(spec).map_err(|err| RuntimeError::SendSpec(err.into()))?;
        self.start_helper(HELPER_SUBCOMMAND, &json, stdio)
    }

    /// Runs our binary's hidden `subcommand` (a helper that reads `config` from its
    /// config pipe and reports on its status pipe) and returns once it reported the
    /// start of its process (or with the step that failed before).
    pub(super) fn start_helper(
        &self,
        subcommand: &str,
        config: &[u8],
        stdio: StdioSpec,
    ) -> Result<RunningContainer, RuntimeError> {
        let (config_read, config_write) =
            nix::unistd::pipe2(OFlag::O_CLOEXEC).map_err(RuntimeError::Pipe)?;
        let (status_read, status_write) =
            nix::unistd::pipe2(OFlag::O_CLOEXEC).map_err(RuntimeError::Pipe)?;
        let spawn_error = |source: io::Error| RuntimeError::SpawnHelper {
            helper: self.helper.clone(),
            source,
        };
        // The helper's descriptors 0-4, each copied above them first (close-on-exec),
        // so that no `dup2` of the spawn overwrites a source a later one reads. Only the
        // spawned helper gets them: other processes started meanwhile never do.
        let sources = [
            stdio_source(stdio.stdin, 0),
            stdio_source(stdio.stdout, 1),
            stdio_source(stdio.stderr, 2),
            Ok(config_read),
            Ok(status_write),
        ]
        .into_iter()
        .map(|fd| fd.and_then(|fd| sys::dup_above(fd, HELPER_FDS).map_err(io::Error::from)))
        .collect::<Result<Vec<OwnedFd>, io::Error>>()
        .map_err(spawn_error)?;
        let helper = spawn(&self.helper, subcommand, &sources).map_err(spawn_error)?;
        drop(sources);

        // A failed write means the helper is gone or failed: its report says why.
        let sent = File::from(config_write).write_all(config);
        let mut reports = ReportReader::new(File::from(status_read));
        let first = reports.next();
        let pid = match first {
            Ok(Some(Report::Started { pid })) => pid,
            other => {
                let status = helper.wait().map_err(RuntimeError::Wait)?;
                return Err(match other? {
                    Some(Report::Failed(failure)) => failure.into(),
                    Some(Report::Exited(exit)) => RuntimeError::UnexpectedReport {
                        expected: "the start",
                        got: format!("the exit ({exit})"),
                    },
                    Some(Report::Started { .. }) | None => match sent {
                        Err(err) => RuntimeError::SendSpec(err),
                        Ok(()) => RuntimeError::HelperEnded { status },
                    },
                });
            }
        };
        Ok(RunningContainer {
            pid,
            helper,
            reports,
        })
    }
}

/// A started container. Drop it only after [`wait`](RunningContainer::wait): the
/// helper is the caller's child and must be reaped.
#[derive(Debug)]
pub struct RunningContainer {
    pid: i32,
    helper: Helper,
    reports: ReportReader<File>,
}

/// The descriptors the helper gets: its streams, then its config (3) and status (4)
/// pipes.
const CONFIG_FD: i32 = 3;
const STATUS_FD: i32 = 4;

/// Where the helper's descriptors are copied before the spawn: above every number the
/// spawn writes.
const HELPER_FDS: i32 = 10;

/// A standard stream for the helper, as a descriptor (`stream` is 0, 1 or 2).
fn stdio_source(source: StdioSource, stream: i32) -> io::Result<OwnedFd> {
    match source {
        // SAFETY: 0, 1 and 2 stay open for the process's whole life; the borrow is
        // only copied.
        StdioSource::Inherit => unsafe { BorrowedFd::borrow_raw(stream) }.try_clone_to_owned(),
        StdioSource::Null => File::options()
            .read(stream == 0)
            .write(stream != 0)
            .open("/dev/null")
            .map(OwnedFd::from),
        StdioSource::Fd(fd) => Ok(fd),
    }
}

/// Starts `helper subcommand --config-fd 3 --status-fd 4` with `fds` as its descriptors
/// 0 to 4, an empty environment, no blocked signal and every signal's default action.
/// posix_spawn (a vfork) does not copy the caller's address space, as a fork would: a
/// multi-threaded engine starting many containers at once pays much less.
fn spawn(helper: &Path, subcommand: &str, fds: &[OwnedFd]) -> io::Result<Helper> {
    let text =
        |value: &str| CString::new(value).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput));
    let path = CString::new(helper.as_os_str().as_bytes())
        .map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    let argv = [
        path.clone(),
        text(subcommand)?,
        text("--config-fd")?,
        text(&CONFIG_FD.to_string())?,
        text("--status-fd")?,
        text(&STATUS_FD.to_string())?,
    ];
    let mut actions = PosixSpawnFileActions::init()?;
    for (target, fd) in (0..).zip(fds) {
        actions.add_dup2(fd.as_raw_fd(), target)?;
    }
    let mut attr = PosixSpawnAttr::init()?;
    attr.set_sigmask(&SigSet::empty())?;
    attr.set_sigdefault(&SigSet::all())?;
    attr.set_flags(
        PosixSpawnFlags::POSIX_SPAWN_SETSIGMASK | PosixSpawnFlags::POSIX_SPAWN_SETSIGDEF,
    )?;
    let pid = posix_spawn(path.as_c_str(), &actions, &attr, &argv, &[] as &[CString])?;
    Ok(Helper { pid })
}

/// The helper process, the caller's child until [`Helper::wait`] reaps it.
#[derive(Debug)]
struct Helper {
    pid: Pid,
}

impl Helper {
    fn id(&self) -> u32 {
        self.pid.as_raw().unsigned_abs()
    }

    /// Waits for the helper to end and reaps it.
    fn wait(&self) -> io::Result<std::process::ExitStatus> {
        let mut status = 0;
        loop {
            // SAFETY: waitpid writes the status into our integer and nothing else.
            let reaped = unsafe { libc::waitpid(self.pid.as_raw(), &mut status, 0) };
            if reaped == self.pid.as_raw() {
                return Ok(std::process::ExitStatus::from_raw(status));
            }
            let err = io::Error::last_os_error();
            if err.kind() != io::ErrorKind::Interrupted {
                return Err(err);
            }
        }
    }
}

impl RunningContainer {
    /// The host PID of the process that runs the program: the container's PID 1, or
    /// the process an [exec](Runtime::exec) started.
    pub fn pid(&self) -> i32 {
        self.pid
    }

    /// The helper's PID (the parent of that process).
    pub fn helper_pid(&self) -> u32 {
        self.helper.id()
    }

    /// Waits until that process ends.
    pub fn wait(mut self) -> Result<ExitStatus, RuntimeError> {
        let report = self.reports.next();
        let status = self.helper.wait().map_err(RuntimeError::Wait)?;
        match report? {
            Some(Report::Exited(exit)) => Ok(exit),
            Some(Report::Failed(failure)) => Err(failure.into()),
            Some(Report::Started { pid }) => Err(RuntimeError::UnexpectedReport {
                expected: "the exit",
                got: format!("a second start (pid {pid})"),
            }),
            None => Err(RuntimeError::HelperEnded { status }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_as_a_shell_reports_them() {
        assert_eq!(ExitStatus::Exited(3).code(), 3);
        assert_eq!(ExitStatus::Signaled(9).code(), 137);
        assert_eq!(ExitStatus::Exited(0).to_string(), "exited with code 0");
        assert_eq!(ExitStatus::Signaled(15).to_string(), "killed by signal 15");
    }

    #[test]
    fn a_missing_helper_is_named() {
        let spec = crate::runtime::ContainerSpec::new(
            crate::runtime::Rootfs::Directory {
                path: PathBuf::from("/nonexistent"),
            },
            "box",
            vec!["true".to_string()],
        )
        .validate()
        .unwrap();
        let err = Runtime::with_helper("/nonexistent/rcompose")
            .run(&spec)
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "cannot start the container helper /nonexistent/rcompose"
        );
        assert_eq!(err.exit_code(), 125);
    }

    #[test]
    fn a_helper_that_ends_without_a_report_is_an_error() {
        // `true` ignores its arguments and exits 0 without a word.
        let spec = crate::runtime::ContainerSpec::new(
            crate::runtime::Rootfs::Directory {
                path: PathBuf::from("/nonexistent"),
            },
            "box",
            vec!["true".to_string()],
        )
        .validate()
        .unwrap();
        let err = Runtime::with_helper("/bin/true").run(&spec).unwrap_err();
        assert!(
            matches!(
                err,
                RuntimeError::HelperEnded { .. } | RuntimeError::SendSpec(_)
            ),
            "{err:?}"
        );
    }
}
