//! What can go wrong when starting a container, with the step that failed.

use nix::errno::Errno;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::io;
use std::path::PathBuf;

/// A step of setting up a container, as named in errors ("mounting /proc").
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    /// The helper takes its file descriptors.
    HelperFds,
    /// The helper reads the spec from its config pipe.
    ReadSpec,
    /// The helper creates the PID namespace.
    PidNamespace,
    /// The helper creates the pipe its child reports on.
    InitPipe,
    /// The helper forks the container's PID 1.
    Fork,
    /// The helper waits for the container's PID 1.
    WaitInit,
    /// The helper opens the log file (append, create).
    OpenLog { path: PathBuf },
    /// The pipes the program's output goes into, for the log.
    LogPipes,
    /// The container's init blocks the signals it forwards.
    InitSignals,
    /// The container's init forks the program.
    ForkProgram,
    /// `setsid` for a terminal.
    Session,
    /// `TIOCSCTTY` on standard input.
    ControllingTerminal,
    /// Writing PID 1 into a `cgroup.procs` file of the container's cgroup.
    JoinCgroup { path: PathBuf },
    /// Unsharing the mount, UTS, IPC, cgroup (and network) namespaces.
    Namespaces,
    /// Making every mount private, so nothing propagates to the host.
    PrivateMounts,
    /// Mounting the root filesystem (host path).
    MountRootfs { target: PathBuf },
    /// Resolving a path inside the root filesystem.
    Resolve { path: PathBuf },
    /// Copying the root filesystem's content at a volume's target into the new volume.
    CopyUp { target: PathBuf },
    /// Creating a missing mount target.
    CreateTarget { path: PathBuf },
    /// Mounting on a path in the container.
    Mount { target: PathBuf },
    /// Making a mount read-only.
    Readonly { target: PathBuf },
    /// Making a device node.
    Device { path: PathBuf },
    /// Making a symlink in `/dev`.
    Symlink { path: PathBuf },
    /// Bringing `lo` up in a new network namespace.
    Loopback,
    /// Joining the network namespace bound on a file (`setns`).
    JoinNetwork { path: PathBuf },
    /// Creating the working directory.
    CreateCwd { path: PathBuf },
    /// `pivot_root` into the root filesystem.
    PivotRoot,
    /// Detaching the host's root from the container's mount namespace.
    DetachOldRoot,
    /// Masking a path with `/dev/null` or an empty tmpfs.
    Mask { path: PathBuf },
    /// Making the root filesystem read-only.
    ReadonlyRootfs,
    /// Writing a sysctl under `/proc/sys`.
    Sysctl { key: String },
    /// Setting a resource limit.
    Rlimit { name: String, soft: u64, hard: u64 },
    /// The kernel refused a resource limit (`EPERM`: above the hard limit without
    /// CAP_SYS_RESOURCE).
    RlimitRefused { name: String, soft: u64, hard: u64 },
    /// Compiling the seccomp profile to BPF.
    SeccompProfile,
    /// Installing the seccomp filter.
    Seccomp,
    /// `sethostname`.
    Hostname,
    /// `setdomainname`.
    Domainname,
    /// Marking inherited file descriptors close-on-exec.
    CloseFds,
    /// Dropping capabilities from the bounding set.
    BoundingSet,
    /// Keeping capabilities across the change of user.
    KeepCaps,
    /// `setgroups`.
    Groups,
    /// `setgid`.
    Gid { gid: u32 },
    /// `setuid`.
    Uid { uid: u32 },
    /// Setting the effective, permitted, inheritable and ambient sets.
    Capabilities,
    /// `PR_SET_NO_NEW_PRIVS`.
    NoNewPrivileges,
    /// Changing to the working directory.
    Chdir { path: PathBuf },
    /// Restoring default signal dispositions and an empty signal mask.
    Signals,
    // The exec helper's own steps (see `runtime::enter`).
    /// The process an exec was to join has ended (its container stopped).
    ExecTargetGone { pid: i32 },
    /// The process an exec was to join shares rcompose's PID namespace: no container's.
    ExecNotAContainer { pid: i32 },
    /// Opening a namespace or the root directory of the process an exec joins.
    ExecOpen { path: PathBuf },
    /// Writing the exec helper's PID into one of the container's `cgroup.procs`.
    ExecCgroup { path: PathBuf },
    /// `setns` into one of the container's namespaces (`ipc`, `uts`, `net`, ...).
    ExecNamespace { namespace: String },
    /// Changing to the container's root directory.
    ExecRoot,
    /// Starting the exec's process in the container's PID namespace.
    ExecFork,
    /// Waiting for the exec's process.
    ExecWait,
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Step::HelperFds => write!(f, "taking the container helper's pipes"),
            Step::ReadSpec => write!(f, "reading the container spec"),
            Step::PidNamespace => write!(f, "creating the PID namespace"),
            Step::InitPipe => write!(f, "creating the container init's report pipe"),
            Step::Fork => write!(f, "starting the container's first process"),
            Step::WaitInit => write!(f, "waiting for the container's first process"),
            Step::OpenLog { path } => write!(f, "opening the log file {}", path.display()),
            Step::LogPipes => write!(f, "creating the pipes for the container's output"),
            Step::InitSignals => write!(f, "blocking signals in the container's init"),
            Step::ForkProgram => write!(f, "starting the program under the container's init"),
            Step::Session => write!(f, "starting a new session for the terminal"),
            Step::ControllingTerminal => {
                write!(f, "making standard input the controlling terminal")
            }
            Step::JoinCgroup { path } => write!(f, "joining the cgroup ({})", path.display()),
            Step::Namespaces => {
                write!(
                    f,
                    "creating the mount, UTS, IPC, cgroup and network namespaces"
                )
            }
            Step::PrivateMounts => write!(f, "making the mounts private"),
            Step::MountRootfs { target } => {
                write!(f, "mounting the root filesystem on {}", target.display())
            }
            Step::Resolve { path } => {
                write!(f, "resolving {} in the root filesystem", path.display())
            }
            Step::CopyUp { target } => write!(
                f,
                "copying the image's content at {} into the new volume",
                target.display()
            ),
            Step::CreateTarget { path } => {
                write!(f, "creating the mount target {}", path.display())
            }
            Step::Mount { target } => write!(f, "mounting {}", target.display()),
            Step::Readonly { target } => write!(f, "making {} read-only", target.display()),
            Step::Device { path } => write!(f, "creating the device {}", path.display()),
            Step::Symlink { path } => write!(f, "creating the symlink {}", path.display()),
            Step::Loopback => write!(f, "bringing up the loopback interface"),
            Step::JoinNetwork { path } => {
                write!(f, "joining the network namespace {}", path.display())
            }
            Step::CreateCwd { path } => {
                write!(f, "creating the working directory {}", path.display())
            }
            Step::PivotRoot => write!(f, "changing the root to the container's filesystem"),
            Step::DetachOldRoot => write!(f, "detaching the host's root filesystem"),
            Step::Mask { path } => write!(f, "masking {}", path.display()),
            Step::ReadonlyRootfs => write!(f, "making the root filesystem read-only"),
            Step::Sysctl { key } => write!(f, "setting the sysctl {key}"),
            Step::Rlimit { name, soft, hard } => {
                write!(f, "setting ulimit {name}={soft}:{hard}")
            }
            Step::RlimitRefused { name, soft, hard } => write!(
                f,
                "ulimit {name}={soft}:{hard}: the kernel refused (raising a hard limit needs \
                 CAP_SYS_RESOURCE)"
            ),
            Step::SeccompProfile => write!(f, "compiling the seccomp profile"),
            Step::Seccomp => write!(f, "installing the seccomp filter"),
            Step::Hostname => write!(f, "setting the hostname"),
            Step::Domainname => write!(f, "setting the domain name"),
            Step::CloseFds => write!(f, "closing inherited file descriptors"),
            Step::BoundingSet => write!(f, "dropping capabilities from the bounding set"),
            Step::KeepCaps => write!(f, "keeping capabilities across the change of user"),
            Step::Groups => write!(f, "setting the supplementary groups"),
            Step::Gid { gid } => write!(f, "setting the group id to {gid}"),
            Step::Uid { uid } => write!(f, "setting the user id to {uid}"),
            Step::Capabilities => write!(f, "setting the capabilities"),
            Step::NoNewPrivileges => write!(f, "setting no_new_privs"),
            Step::Chdir { path } => {
                write!(f, "changing to the working directory {}", path.display())
            }
            Step::Signals => write!(f, "resetting signal handling"),
            Step::ExecTargetGone { pid } => write!(
                f,
                "container process {pid} is gone (the container is not running)"
            ),
            Step::ExecNotAContainer { pid } => write!(
                f,
                "process {pid} is not a container's: it shares rcompose's PID namespace"
            ),
            Step::ExecOpen { path } => write!(f, "opening {}", path.display()),
            Step::ExecCgroup { path } => {
                write!(f, "joining the container's cgroup ({})", path.display())
            }
            Step::ExecNamespace { namespace } => {
                write!(f, "joining the container's {namespace} namespace")
            }
            Step::ExecRoot => write!(f, "changing to the container's root directory"),
            Step::ExecFork => write!(f, "starting the process in the container"),
            Step::ExecWait => write!(f, "waiting for the process in the container"),
        }
    }
}

/// Why the program could not be executed (Docker's wording).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExecFailure {
    /// A bare name found in no `PATH` directory.
    NotFoundInPath,
    /// A path (with a `/`) that does not exist.
    NotFound,
    /// Found, but not executable by the user (or on a `noexec` mount).
    PermissionDenied,
    /// `execve` failed otherwise (the raw errno, e.g. `ENOEXEC`).
    Errno(i32),
}

impl fmt::Display for ExecFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExecFailure::NotFoundInPath => write!(f, "executable file not found in $PATH"),
            ExecFailure::NotFound => write!(f, "no such file or directory"),
            ExecFailure::PermissionDenied => write!(f, "permission denied"),
            ExecFailure::Errno(errno) => write!(f, "{}", Errno::from_raw(*errno)),
        }
    }
}

/// Starting or waiting for a container failed.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    /// A pipe to the helper could not be made.
    #[error("cannot create a pipe to the container helper")]
    Pipe(#[source] Errno),
    /// The helper could not be started.
    #[error("cannot start the container helper {}", helper.display())]
    SpawnHelper {
        helper: PathBuf,
        #[source]
        source: io::Error,
    },
    /// The spec could not be written to the helper.
    #[error("cannot send the container spec to the helper")]
    SendSpec(#[source] io::Error),
    /// The helper's report could not be read.
    #[error("cannot read the container helper's report")]
    ReadReport(#[source] io::Error),
    /// The helper wrote something that is no report (a bug, or another program).
    #[error("the container helper sent an unreadable report {line:?}")]
    BadReport {
        line: String,
        #[source]
        source: serde_json::Error,
    },
    /// The helper's reports came in an impossible order (a bug).
    #[error("the container helper reported {got} where {expected} was expected")]
    UnexpectedReport { expected: &'static str, got: String },
    /// The helper ended without saying how the container did (it was killed?).
    #[error("the container helper ended without a report ({status})")]
    HelperEnded { status: std::process::ExitStatus },
    /// Waiting for the helper failed.
    #[error("cannot wait for the container helper")]
    Wait(#[source] io::Error),
    /// The helper could not read the spec it was sent (a different binary?).
    #[error("the container helper could not read its spec: {reason}")]
    HelperSpec { reason: String },
    /// A setup step failed before the program was executed.
    #[error("{step}")]
    Setup {
        step: Step,
        #[source]
        errno: Errno,
    },
    /// The program could not be executed.
    #[error("exec: {program:?}: {failure}")]
    Exec {
        program: String,
        failure: ExecFailure,
    },
    /// A signal could not be sent.
    #[error("cannot send signal {signal} to process {pid}")]
    Signal {
        pid: i32,
        signal: i32,
        #[source]
        errno: Errno,
    },
    /// Waiting for a process to end failed.
    #[error("cannot wait for process {pid} to end")]
    WaitExit {
        pid: i32,
        #[source]
        errno: Errno,
    },
    /// No pseudo-terminal could be opened.
    #[error("cannot open a pseudo-terminal (is /dev/pts mounted?)")]
    Pty(#[source] Errno),
}

impl RuntimeError {
    /// The exit code Docker gives for this failure: 127 when the program is not found,
    /// 126 when it can't be executed, 125 for every other failure to start.
    pub fn exit_code(&self) -> i32 {
        match self {
            RuntimeError::Exec {
                failure: ExecFailure::NotFound | ExecFailure::NotFoundInPath,
                ..
            } => 127,
            RuntimeError::Exec { .. } => 126,
            _ => 125,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::error::Error as _;

    fn chain(err: &RuntimeError) -> String {
        let mut text = err.to_string();
        let mut cause = err.source();
        while let Some(err) = cause {
            text.push_str(&format!(": {err}"));
            cause = err.source();
        }
        text
    }

    #[test]
    fn setup_errors_name_the_step_and_the_errno() {
        let err = RuntimeError::Setup {
            step: Step::Mount {
                target: PathBuf::from("/proc"),
            },
            errno: Errno::EPERM,
        };
        assert_eq!(
            chain(&err),
            "mounting /proc: EPERM: Operation not permitted"
        );
        assert_eq!(err.exit_code(), 125);
    }

    #[test]
    fn exec_errors_are_dockers() {
        let exec = |program: &str, failure| RuntimeError::Exec {
            program: program.to_string(),
            failure,
        };
        let err = exec("nosuch", ExecFailure::NotFoundInPath);
        assert_eq!(
            err.to_string(),
            "exec: \"nosuch\": executable file not found in $PATH"
        );
        assert_eq!(err.exit_code(), 127);
        let err = exec("/bin/nosuch", ExecFailure::NotFound);
        assert_eq!(
            err.to_string(),
            "exec: \"/bin/nosuch\": no such file or directory"
        );
        assert_eq!(err.exit_code(), 127);
        let err = exec("/etc/passwd", ExecFailure::PermissionDenied);
        assert_eq!(err.to_string(), "exec: \"/etc/passwd\": permission denied");
        assert_eq!(err.exit_code(), 126);
        let err = exec("/bin/script", ExecFailure::Errno(nix::libc::ENOEXEC));
        assert_eq!(
            err.to_string(),
            "exec: \"/bin/script\": ENOEXEC: Exec format error"
        );
        assert_eq!(err.exit_code(), 126);
    }

    #[test]
    fn steps_read_as_sentences() {
        let cases = [
            (Step::PidNamespace, "creating the PID namespace"),
            (
                Step::MountRootfs {
                    target: PathBuf::from("/c/merged"),
                },
                "mounting the root filesystem on /c/merged",
            ),
            (
                Step::Mask {
                    path: PathBuf::from("/proc/kcore"),
                },
                "masking /proc/kcore",
            ),
            (Step::Uid { uid: 1000 }, "setting the user id to 1000"),
            (
                Step::JoinNetwork {
                    path: PathBuf::from("/run/rcompose/netns/c1"),
                },
                "joining the network namespace /run/rcompose/netns/c1",
            ),
            (
                Step::RlimitRefused {
                    name: "nofile".to_string(),
                    soft: 100,
                    hard: 1 << 30,
                },
                "ulimit nofile=100:1073741824: the kernel refused (raising a hard limit \
                 needs CAP_SYS_RESOURCE)",
            ),
            (
                Step::JoinCgroup {
                    path: PathBuf::from("/sys/fs/cgroup/memory/rc/cgroup.procs"),
                },
                "joining the cgroup (/sys/fs/cgroup/memory/rc/cgroup.procs)",
            ),
            (
                Step::Chdir {
                    path: PathBuf::from("/app"),
                },
                "changing to the working directory /app",
            ),
        ];
        for (step, text) in cases {
            assert_eq!(step.to_string(), text);
        }
    }
}
