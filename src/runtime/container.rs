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
use serde::{Deserialize, Serialize};
use std::fmt;
use std::fs::File;
use std::io::Write;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

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
        // The helper's ends, numbered above 0-2 (which the helper's streams take), and
        // close-on-exec until the helper's own exec: other processes the caller starts
        // meanwhile never inherit them.
        let config_read = sys::dup_above_stdio(config_read).map_err(RuntimeError::Pipe)?;
        let status_write = sys::dup_above_stdio(status_write).map_err(RuntimeError::Pipe)?;
        let (config_fd, status_fd) = (config_read.as_raw_fd(), status_write.as_raw_fd());

        let mut command = Command::new(&self.helper);
        command
            .arg(subcommand)
            .arg("--config-fd")
            .arg(config_fd.to_string())
            .arg("--status-fd")
            .arg(status_fd.to_string())
            .env_clear()
            .stdin(stdio.stdin)
            .stdout(stdio.stdout)
            .stderr(stdio.stderr);
        // SAFETY: the closure runs between fork and exec and only calls fcntl, which is
        // async-signal-safe; it allocates nothing.
        unsafe {
            command.pre_exec(move || {
                sys::clear_cloexec(config_fd)?;
                sys::clear_cloexec(status_fd)
            });
        }
        let mut helper = command
            .spawn()
            .map_err(|source| RuntimeError::SpawnHelper {
                helper: self.helper.clone(),
                source,
            })?;
        drop((config_read, status_write, command));

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
    helper: Child,
    reports: ReportReader<File>,
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
