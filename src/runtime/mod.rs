//! The container runtime: the only layer that touches the kernel.
//!
//! A [`ContainerSpec`] says everything about one container; [`ContainerSpec::validate`]
//! checks it before any side effect and returns a [`ValidSpec`]. [`Runtime::spawn`]
//! starts it and [`RunningContainer::wait`] returns its exit status ([`Runtime::run`] does
//! both).
//!
//! The chain of processes (see [`container`] and [`helper`]):
//!
//! ```text
//! caller (the engine; may be multi-threaded)
//!   └─ helper: /proc/self/exe __container-init   (fresh, single-threaded; spec over a pipe)
//!        │  unshare(CLONE_NEWPID), fork
//!        └─ container init: PID 1 of the new PID namespace
//!             join the cgroup (and the network namespace file of Network::Join),
//!             unshare mount/uts/ipc/cgroup(/net) namespaces, rootfs,
//!             volume copy-up, /proc, /dev, /sys, /sys/fs/cgroup, devices, pivot_root,
//!             sysctls, masks, hostname, ulimits, seccomp, user, capabilities,
//!             then execve(argv)
//!             (with `init`: PID 1 forks the program and stays as a tiny init, [`tini`])
//! ```
//!
//! The helper reports to the caller over a status pipe: the container's host PID once
//! it has exec'd (or the step that failed), then its exit status; it stays the parent
//! of the container's PID 1 and exits with the container's exit code. It is the
//! container's "shim": it outlives its caller (own session, deaf to the caller's
//! signals), writes the program's output to the log ([`logfile`]) and the exit status
//! to the exit file, so a later engine finds both ([`process`]).
//!
//! [`Runtime::exec`] runs one more program in a running container through a second
//! helper, `__container-exec`, which joins the container's cgroup and namespaces (see
//! [`enter`]) and reports the same way.
//!
//! [`net`] makes what a container's network needs before it starts: its network
//! namespace as a file, bridges, and veths with their peer born in that namespace
//! (netlink in-process).
//!
//! What is decided is pure and tested without root: [`caps`] (the capability sets),
//! [`mounts`] (every mount with its flags and data, masked and read-only paths, the
//! cgroup view), [`resolve`] (mount targets resolved inside the root filesystem),
//! [`exec`] (the executable's candidate paths), [`seccomp`] (Docker's default profile
//! for a capability set, compiled to BPF). The code that applies them ([`init`],
//! [`sys`]) only carries out those decisions.

pub mod caps;
pub mod cgroup;
pub mod container;
mod copyup;
pub mod enter;
pub mod error;
pub mod exec;
pub mod fs;
pub mod helper;
mod init;
pub mod logfile;
mod message;
pub mod mounts;
pub mod net;
pub mod process;
pub mod resolve;
pub mod seccomp;
pub mod spec;
mod sys;
mod tini;

pub use container::{ExitStatus, RunningContainer, Runtime, StdioSource, StdioSpec};
pub use enter::{ExecHelperArgs, ExecSpec, EXEC_HELPER_SUBCOMMAND};
pub use error::{ExecFailure, RuntimeError, Step};
pub use helper::{HelperArgs, HELPER_SUBCOMMAND};
pub use spec::{
    CgroupJoin, CgroupMount, CgroupV1Mount, ContainerSpec, Device, EtcFiles, Mount, Network,
    Rlimit, Rootfs, Seccomp, SpecError, User, ValidSpec,
};
