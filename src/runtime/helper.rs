//! The helper: `rcompose __container-init`, a fresh single-threaded process started by
//! [`Runtime::spawn`](super::Runtime::spawn). It reads the spec from its config pipe,
//! creates the PID namespace, forks the container's PID 1 (which sets itself up and
//! execs, see [`init`](super::init)), reports to the caller on its status pipe, waits for
//! PID 1 and exits with its exit code.

use super::container::ExitStatus;
use super::error::Step;
use super::init;
use super::message::{write_report, Failure, Report, ReportReader};
use super::spec::ValidSpec;
use super::sys;
use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::sched::{unshare, CloneFlags};
use nix::sys::signal::{kill, Signal};
use nix::sys::wait::{waitpid, WaitStatus};
use nix::unistd::{ForkResult, Pid};
use std::fs::File;
use std::io::Read;
use std::os::fd::RawFd;

/// The hidden subcommand that runs the helper.
pub const HELPER_SUBCOMMAND: &str = "__container-init";

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
    let _ = sys::close_fds_except(&[args.config_fd, args.status_fd]);
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
    let code = match run(args.config_fd, &mut status) {
        Ok(exit) => exit.code(),
        Err(failure) => {
            let code = super::RuntimeError::from(failure.clone()).exit_code();
            // The caller may be gone; the exit code still says it.
            let _ = write_report(&mut status, &Report::Failed(failure));
            code
        }
    };
    std::process::exit(code)
}

fn run(config_fd: RawFd, status: &mut File) -> Result<ExitStatus, Failure> {
    let spec = read_spec(config_fd)?;
    unshare(CloneFlags::CLONE_NEWPID).map_err(|errno| Failure::setup(Step::PidNamespace, errno))?;
    let (report_read, report_write) = nix::unistd::pipe2(OFlag::O_CLOEXEC)
        .map_err(|errno| Failure::setup(Step::InitPipe, errno))?;
    match sys::fork().map_err(|errno| Failure::setup(Step::Fork, errno))? {
        ForkResult::Child => {
            drop(report_read);
            // A panic must not unwind into the helper's code in this process.
            let failure = std::panic::catch_unwind(|| init::setup_and_exec(&spec));
            let code = match failure {
                Ok(failure) => {
                    let code = super::RuntimeError::from(failure.clone()).exit_code();
                    let _ = write_report(&mut File::from(report_write), &Report::Failed(failure));
                    code
                }
                Err(_) => 125,
            };
            sys::exit_now(code)
        }
        ForkResult::Parent { child } => {
            drop(report_write);
            // The init's report pipe closes on its exec (close-on-exec) or its exit.
            let report = ReportReader::new(File::from(report_read)).next();
            match report {
                Ok(None) => {}
                Ok(Some(Report::Failed(failure))) => {
                    wait_for(child)?;
                    return Err(failure);
                }
                Ok(Some(_)) | Err(_) => {
                    let _ = kill(child, Signal::SIGKILL);
                    wait_for(child)?;
                    return Err(Failure::setup(Step::InitPipe, Errno::EIO));
                }
            }
            // The caller may be gone: the container runs on regardless.
            let _ = write_report(
                status,
                &Report::Started {
                    pid: child.as_raw(),
                },
            );
            let exit = wait_for(child)?;
            let _ = write_report(status, &Report::Exited(exit));
            Ok(exit)
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
fn wait_for(child: Pid) -> Result<ExitStatus, Failure> {
    loop {
        match waitpid(child, None) {
            Ok(WaitStatus::Exited(_, code)) => return Ok(ExitStatus::Exited(code)),
            Ok(WaitStatus::Signaled(_, signal, _)) => {
                return Ok(ExitStatus::Signaled(signal as i32))
            }
            Ok(_) | Err(Errno::EINTR) => {}
            Err(errno) => return Err(Failure::setup(Step::WaitInit, errno)),
        }
    }
}
