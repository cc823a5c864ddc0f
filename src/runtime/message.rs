//! The reports that travel up the process chain, one JSON document per line: from the
//! container's init to the helper (only a failure: success is the pipe closing on
//! exec), and from the helper to the caller (started, failed, exited).

use super::container::ExitStatus;
use super::error::{ExecFailure, RuntimeError, Step};
use nix::errno::Errno;
use serde::{Deserialize, Serialize};
use std::io::{self, BufRead, BufReader, Read, Write};

/// One report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Report {
    /// The program was executed; `pid` is the container's PID 1 as the host sees it.
    Started { pid: i32 },
    /// Setting up or executing failed.
    Failed(Failure),
    /// The container's PID 1 ended.
    Exited(ExitStatus),
}

/// A failure before the program ran, in a form that crosses a pipe.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Failure {
    /// The helper could not read the spec it was sent.
    Spec { reason: String },
    /// A step failed with an errno.
    Setup { step: Step, errno: i32 },
    /// The program could not be executed.
    Exec {
        program: String,
        failure: ExecFailure,
    },
}

impl Failure {
    /// A failed step.
    pub(crate) fn setup(step: Step, errno: Errno) -> Failure {
        Failure::Setup {
            step,
            errno: errno as i32,
        }
    }

    /// A failed step whose error came from `std` (its OS error, else `EIO`).
    pub(crate) fn io(step: Step, err: &io::Error) -> Failure {
        Failure::setup(step, err.raw_os_error().map_or(Errno::EIO, Errno::from_raw))
    }
}

impl From<Failure> for RuntimeError {
    fn from(failure: Failure) -> RuntimeError {
        match failure {
            Failure::Spec { reason } => RuntimeError::HelperSpec { reason },
            Failure::Setup { step, errno } => RuntimeError::Setup {
                step,
                errno: Errno::from_raw(errno),
            },
            Failure::Exec { program, failure } => RuntimeError::Exec { program, failure },
        }
    }
}

/// Writes one report as one line, in a single write (reports are small, far below
/// the pipe's atomic size).
pub(crate) fn write_report(out: &mut impl Write, report: &Report) -> io::Result<()> {
    let mut line = serde_json::to_vec(report)?;
    line.push(b'\n');
    out.write_all(&line)
}

/// Reads reports line by line.
#[derive(Debug)]
pub(crate) struct ReportReader<R> {
    reader: BufReader<R>,
}

impl<R: Read> ReportReader<R> {
    pub(crate) fn new(reader: R) -> Self {
        ReportReader {
            reader: BufReader::new(reader),
        }
    }

    /// The next report, or `None` once the writer closed the pipe.
    pub(crate) fn next(&mut self) -> Result<Option<Report>, RuntimeError> {
        let mut line = String::new();
        let read = self
            .reader
            .read_line(&mut line)
            .map_err(RuntimeError::ReadReport)?;
        if read == 0 {
            return Ok(None);
        }
        serde_json::from_str(&line)
            .map(Some)
            .map_err(|source| RuntimeError::BadReport {
                line: line.trim_end().to_string(),
                source,
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    #[test]
    fn reports_round_trip_one_per_line() {
        let reports = [
            Report::Failed(Failure::setup(
                Step::Mount {
                    target: PathBuf::from("/proc"),
                },
                Errno::EPERM,
            )),
            Report::Started { pid: 4242 },
            Report::Exited(ExitStatus::Signaled(9)),
        ];
        let mut wire = Vec::new();
        for report in &reports {
            write_report(&mut wire, report).unwrap();
        }
        assert_eq!(
            String::from_utf8(wire.clone()).unwrap(),
            "{\"failed\":{\"setup\":{\"step\":{\"mount\":{\"target\":\"/proc\"}},\"errno\":1}}}\n\
             {\"started\":{\"pid\":4242}}\n\
             {\"exited\":{\"signaled\":9}}\n"
        );
        let mut reader = ReportReader::new(wire.as_slice());
        for report in reports {
            assert_eq!(reader.next().unwrap(), Some(report));
        }
        assert_eq!(reader.next().unwrap(), None);
    }

    #[test]
    fn garbage_is_a_bad_report() {
        let mut reader = ReportReader::new(&b"hello\n"[..]);
        let err = reader.next().unwrap_err();
        assert_eq!(
            err.to_string(),
            "the container helper sent an unreadable report \"hello\""
        );
    }

    #[test]
    fn failures_become_runtime_errors() {
        let err = RuntimeError::from(Failure::io(
            Step::Chdir {
                path: PathBuf::from("/app"),
            },
            &io::Error::from_raw_os_error(nix::libc::EACCES),
        ));
        assert!(matches!(
            err,
            RuntimeError::Setup {
                errno: Errno::EACCES,
                ..
            }
        ));
        assert_eq!(err.to_string(), "changing to the working directory /app");
        let err = RuntimeError::from(Failure::Exec {
            program: "nosuch".to_string(),
            failure: ExecFailure::NotFoundInPath,
        });
        assert_eq!(err.exit_code(), 127);
    }
}
