//! `exec`: running one more program in a running container, like `docker exec`.
//!
//! [`Runtime::exec`] starts the exec helper, `rcompose __container-exec`, a fresh
//! single-threaded process that receives an [`ExecSpec`] over its config pipe and:
//!
//! ```text
//! exec helper
//!   opens /proc/<pid>/ns/{ipc,uts,net,cgroup,pid,mnt} and /proc/<pid>/root
//!   writes itself into the container's cgroup.procs
//!   setns() into each namespace (mnt last), chroot to the container's root
//!   └─ fork: the child is in the container's PID namespace
//!        terminal, user and capabilities, no_new_privs, working directory,
//!        signals, (seccomp), then execve(argv)
//! ```
//!
//! Like the container helper, it reports on its status pipe: the host PID of the
//! process once it has exec'd (or the step that failed), then its exit status; it exits
//! with the process's exit code.

use super::caps::CapSet;
use super::container::{ExitStatus, RunningContainer, Runtime, StdioSpec};
use super::error::{RuntimeError, Step};
use super::message::{write_report, Failure, Report};
use super::seccomp::Filter;
use super::spec::{Seccomp, User};
use super::{exec, helper, init, sys};
use indexmap::IndexMap;
use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::sched::{setns, CloneFlags};
use nix::sys::stat::{umask, Mode};
use nix::unistd::{chdir, chroot, fchdir, ForkResult};
use serde::{Deserialize, Serialize};
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::fd::RawFd;
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;

/// The hidden subcommand that runs the exec helper.
pub const EXEC_HELPER_SUBCOMMAND: &str = "__container-exec";

/// One program to run in a running container. The caller resolves everything from
/// the container's spec and the exec's options (the environment is complete: the
/// container's, then the exec's own variables).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExecSpec {
    /// The host PID of the container's PID 1, whose namespaces the program joins.
    pub pid: i32,
    /// The program and its arguments; the program is looked up in the environment's
    /// `PATH` inside the container.
    pub argv: Vec<String>,
    /// The environment, in order.
    pub env: IndexMap<String, String>,
    /// The working directory; an error when it does not exist (as `docker exec`).
    pub cwd: PathBuf,
    /// Who the program runs as.
    pub user: User,
    /// The capability set, as the container's (a privileged container's set is cut
    /// down to what the runtime itself has, as its PID 1's was).
    pub capabilities: CapSet,
    /// Set `no_new_privs`.
    pub no_new_privileges: bool,
    /// The seccomp filter installed just before the program runs.
    pub seccomp: Seccomp,
    /// The container's `cgroup.procs` files (one per v1 hierarchy, one on v2), joined
    /// before the namespaces; empty stays in the caller's cgroup.
    pub cgroup_procs: Vec<PathBuf>,
    /// Standard input is a terminal: the program starts a session and makes it its
    /// controlling terminal.
    pub tty: bool,
}

/// The exec helper's arguments: the descriptors of its two pipes.
#[derive(Clone, Debug, PartialEq, Eq, clap::Args)]
pub struct ExecHelperArgs {
    /// Read end of the pipe the exec spec (JSON) comes on.
    #[arg(long, value_name = "FD")]
    pub config_fd: RawFd,
    /// Write end of the pipe reports go to.
    #[arg(long, value_name = "FD")]
    pub status_fd: RawFd,
}

impl Runtime {
    /// Starts `spec.argv` in the running container `spec.pid` and returns once it has
    /// been executed (or with the step that failed: a container that is gone, a missing
    /// working directory, a program not found (exit code 127) ...).
    /// [`RunningContainer::pid`] is the new process's host PID and
    /// [`RunningContainer::wait`] gives its exit status.
    pub fn exec(
        &self,
        spec: &ExecSpec,
        stdio: StdioSpec,
    ) -> Result<RunningContainer, RuntimeError> {
        let json = serde_json::to_vec(spec).map_err(|err| RuntimeError::SendSpec(err.into()))?;
        self.start_helper(EXEC_HELPER_SUBCOMMAND, &json, stdio)
    }
}

/// The namespaces an exec joins, in order, with their names under `/proc/<pid>/ns`.
/// The mount namespace comes last: after it, host paths no longer resolve.
const NAMESPACES: [(&str, CloneFlags); 6] = [
    ("ipc", CloneFlags::CLONE_NEWIPC),
    ("uts", CloneFlags::CLONE_NEWUTS),
    ("net", CloneFlags::CLONE_NEWNET),
    ("cgroup", CloneFlags::CLONE_NEWCGROUP),
    ("pid", CloneFlags::CLONE_NEWPID),
    ("mnt", CloneFlags::CLONE_NEWNS),
];

/// Runs the exec helper and exits with the program's exit code (or Docker's
/// 125/126/127 when it could not start).
pub fn exec_helper_main(args: &ExecHelperArgs) -> ! {
    // Before anything else opens a descriptor (the program gets none of ours anyway:
    // everything the helper opens is close-on-exec).
    // SAFETY: nothing of ours has opened a descriptor yet: none has an owner.
    let _ = unsafe { sys::close_fds_except(&[args.config_fd, args.status_fd]) };
    let mut status = match sys::take_fd(args.status_fd) {
        Ok(fd) => File::from(fd),
        Err(errno) => {
            eprintln!(
                "rcompose {EXEC_HELPER_SUBCOMMAND}: no status pipe on descriptor {}: {errno} \
                 (this command is run by rcompose's runtime, not by hand)",
                args.status_fd
            );
            std::process::exit(125);
        }
    };
    let code = match run(args.config_fd, &mut status) {
        Ok(exit) => exit.code(),
        Err(failure) => {
            let code = RuntimeError::from(failure.clone()).exit_code();
            // The caller may be gone; the exit code still says it.
            let _ = write_report(&mut status, &Report::Failed(failure));
            code
        }
    };
    std::process::exit(code)
}

fn run(config_fd: RawFd, status: &mut File) -> Result<ExitStatus, Failure> {
    let spec = read_spec(config_fd)?;
    let target = Target::open(spec.pid)?;
    target.join(&spec.cgroup_procs)?;
    let (report_read, report_write) = nix::unistd::pipe2(OFlag::O_CLOEXEC)
        .map_err(|errno| Failure::setup(Step::InitPipe, errno))?;
    match sys::fork().map_err(|errno| fork_failure(spec.pid, errno))? {
        ForkResult::Child => {
            drop(report_read);
            // A panic must not unwind into the helper's code in this process.
            let failure = std::panic::catch_unwind(|| setup_and_exec(&spec));
            let code = match failure {
                Ok(failure) => {
                    let code = RuntimeError::from(failure.clone()).exit_code();
                    let _ = write_report(&mut File::from(report_write), &Report::Failed(failure));
                    code
                }
                Err(_) => 125,
            };
            sys::exit_now(code)
        }
        ForkResult::Parent { child } => {
            drop(report_write);
            // The child's report pipe closes on its exec (close-on-exec) or its exit.
            helper::await_exec(report_read, child, Step::ExecWait)?;
            // The caller may be gone: the program runs on regardless.
            let _ = write_report(
                status,
                &Report::Started {
                    pid: child.as_raw(),
                },
            );
            let exit = helper::wait_for(child, Step::ExecWait)?;
            let _ = write_report(status, &Report::Exited(exit));
            Ok(exit)
        }
    }
}

fn read_spec(config_fd: RawFd) -> Result<ExecSpec, Failure> {
    let config = sys::take_fd(config_fd).map_err(|errno| Failure::setup(Step::HelperFds, errno))?;
    let mut json = Vec::new();
    File::from(config)
        .read_to_end(&mut json)
        .map_err(|err| Failure::io(Step::ReadSpec, &err))?;
    serde_json::from_slice(&json).map_err(|err| Failure::Spec {
        reason: err.to_string(),
    })
}

/// The running container, as opened before the helper changes anything: its
/// namespaces (in [`NAMESPACES`]'s order) and its root directory.
struct Target {
    namespaces: Vec<(&'static str, CloneFlags, File)>,
    root: File,
}

impl Target {
    /// Opens the namespaces and root of process `pid`, which must be in a PID
    /// namespace of its own (so a PID reused by a host process is refused).
    fn open(pid: i32) -> Result<Target, Failure> {
        let open = |path: PathBuf| File::open(&path).map_err(|err| open_failure(pid, path, &err));
        let mut namespaces = Vec::with_capacity(NAMESPACES.len());
        for (name, flag) in NAMESPACES {
            let file = open(PathBuf::from(format!("/proc/{pid}/ns/{name}")))?;
            namespaces.push((name, flag, file));
        }
        let root = open(PathBuf::from(format!("/proc/{pid}/root")))?;
        let target = Target { namespaces, root };
        let ours = PathBuf::from("/proc/self/ns/pid");
        let ours = std::fs::metadata(&ours)
            .map_err(|err| Failure::io(Step::ExecOpen { path: ours }, &err))?;
        let same_pid_namespace = target.namespace("pid").is_some_and(|theirs| {
            theirs
                .metadata()
                .is_ok_and(|theirs| (theirs.dev(), theirs.ino()) == (ours.dev(), ours.ino()))
        });
        if same_pid_namespace {
            return Err(Failure::setup(
                Step::ExecNotAContainer { pid },
                Errno::EINVAL,
            ));
        }
        Ok(target)
    }

    fn namespace(&self, name: &str) -> Option<&File> {
        self.namespaces
            .iter()
            .find(|(ns, _, _)| *ns == name)
            .map(|(_, _, file)| file)
    }

    /// Joins the cgroups (`cgroup_procs`, host paths), then the namespaces, then the
    /// container's root directory (as `nsenter --root` does: the root of the mount
    /// namespace may not be the container's if it changed its own).
    fn join(&self, cgroup_procs: &[PathBuf]) -> Result<(), Failure> {
        let pid = std::process::id().to_string();
        for path in cgroup_procs {
            OpenOptions::new()
                .write(true)
                .open(path)
                .and_then(|mut procs| procs.write_all(pid.as_bytes()))
                .map_err(|err| Failure::io(Step::ExecCgroup { path: path.clone() }, &err))?;
        }
        for (name, flag, file) in &self.namespaces {
            setns(file, *flag).map_err(|errno| {
                Failure::setup(
                    Step::ExecNamespace {
                        namespace: name.to_string(),
                    },
                    errno,
                )
            })?;
        }
        let root = |errno| Failure::setup(Step::ExecRoot, errno);
        fchdir(&self.root).map_err(root)?;
        chroot(".").map_err(root)?;
        chdir("/").map_err(root)
    }
}

/// Opening `path` of process `pid` failed: the process is gone, or another reason.
fn open_failure(pid: i32, path: PathBuf, err: &io::Error) -> Failure {
    let errno = err.raw_os_error().map_or(Errno::EIO, Errno::from_raw);
    match errno {
        Errno::ENOENT | Errno::ESRCH => Failure::setup(Step::ExecTargetGone { pid }, errno),
        _ => Failure::setup(Step::ExecOpen { path }, errno),
    }
}

/// Forking into the container's PID namespace failed: `ENOMEM` means its PID 1 has
/// ended since its namespaces were opened (the kernel allows no new process there).
fn fork_failure(pid: i32, errno: Errno) -> Failure {
    match errno {
        Errno::ENOMEM => Failure::setup(Step::ExecTargetGone { pid }, errno),
        _ => Failure::setup(Step::ExecFork, errno),
    }
}

/// Sets the process up and executes the program; returns only when that failed. Runs
/// in the helper's forked child, in all of the container's namespaces.
fn setup_and_exec(spec: &ExecSpec) -> Failure {
    if let Err(failure) = setup(spec) {
        return failure;
    }
    Failure::Exec {
        program: spec.argv.first().cloned().unwrap_or_default(),
        failure: exec::execute(&spec.argv, &spec.env),
    }
}

fn setup(spec: &ExecSpec) -> Result<(), Failure> {
    let at = |step: Step| move |errno| Failure::setup(step, errno);
    if spec.tty {
        init::take_terminal()?;
    }
    // A privileged container's set is every capability: only what we have can be given.
    let ours = sys::permitted().map_err(at(Step::Capabilities))?;
    let capabilities = spec.capabilities.intersection(CapSet::from_bits(ours));
    // The container's filter, as its init installs it: compiled first (it allocates),
    // installed before the change of user (without no_new_privs the kernel takes a
    // filter only with CAP_SYS_ADMIN); what follows until execve is allowed.
    let filter = Filter::new(spec.seccomp, capabilities).map_err(at(Step::SeccompProfile))?;
    if let Some(filter) = &filter {
        filter.install().map_err(at(Step::Seccomp))?;
    }
    init::switch_user(&spec.user, capabilities)?;
    if spec.no_new_privileges {
        nix::sys::prctl::set_no_new_privs().map_err(at(Step::NoNewPrivileges))?;
    }
    // As the user: a directory the user may not enter is an error, as in Docker.
    chdir(&spec.cwd).map_err(at(Step::Chdir {
        path: spec.cwd.clone(),
    }))?;
    umask(Mode::from_bits_truncate(0o022));
    sys::reset_signals().map_err(at(Step::Signals))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> ExecSpec {
        ExecSpec {
            pid: 4242,
            argv: vec!["sh".to_string(), "-c".to_string(), "id".to_string()],
            env: IndexMap::from([("PATH".to_string(), "/bin".to_string())]),
            cwd: PathBuf::from("/srv"),
            user: User {
                uid: 1000,
                gid: 1000,
                additional_gids: vec![20],
            },
            capabilities: CapSet::docker_default(),
            no_new_privileges: true,
            seccomp: Seccomp::Default,
            cgroup_procs: vec![PathBuf::from("/sys/fs/cgroup/pids/rcompose/x/cgroup.procs")],
            tty: false,
        }
    }

    #[test]
    fn the_spec_crosses_the_pipe_unchanged() {
        let spec = spec();
        let json = serde_json::to_string(&spec).unwrap();
        assert_eq!(serde_json::from_str::<ExecSpec>(&json).unwrap(), spec);
        let mut value: serde_json::Value = serde_json::from_str(&json).unwrap();
        value["extra"] = serde_json::Value::Bool(true);
        let err = serde_json::from_value::<ExecSpec>(value).unwrap_err();
        assert!(err.to_string().contains("unknown field `extra`"), "{err}");
    }

    #[test]
    fn the_mount_namespace_is_joined_last() {
        let names: Vec<&str> = NAMESPACES.iter().map(|(name, _)| *name).collect();
        assert_eq!(names, ["ipc", "uts", "net", "cgroup", "pid", "mnt"]);
    }

    #[test]
    fn a_process_that_is_gone_says_so() {
        let gone = |err| {
            RuntimeError::from(open_failure(
                77,
                PathBuf::from("/proc/77/ns/ipc"),
                &io::Error::from_raw_os_error(err),
            ))
            .to_string()
        };
        let text = "container process 77 is gone (the container is not running)";
        assert_eq!(gone(nix::libc::ENOENT), text);
        assert_eq!(gone(nix::libc::ESRCH), text);
        assert_eq!(gone(nix::libc::EACCES), "opening /proc/77/ns/ipc");
        assert_eq!(
            RuntimeError::from(fork_failure(77, Errno::ENOMEM)).to_string(),
            text
        );
        let err = RuntimeError::from(fork_failure(77, Errno::EAGAIN));
        assert_eq!(err.to_string(), "starting the process in the container");
        assert_eq!(err.exit_code(), 125);
    }

    #[test]
    fn a_missing_exec_helper_is_named() {
        let err = Runtime::with_helper("/nonexistent/rcompose")
            .exec(&spec(), StdioSpec::default())
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "cannot start the container helper /nonexistent/rcompose"
        );
    }
}
