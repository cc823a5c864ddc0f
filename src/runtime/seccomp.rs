//! Docker's default seccomp profile (moby's `profiles/seccomp/default.json`): which
//! system calls a container may make, decided from its capability set (pure, see
//! [`profile`]), compiled to BPF with `seccompiler` and installed by the container's
//! init before it gives up its privileges.
//!
//! Any system call the profile does not allow fails with `EPERM`. Those of the
//! capability-gated groups are allowed only with their capability (`mount` and
//! `unshare` need CAP_SYS_ADMIN, `ptrace` of other processes' memory CAP_SYS_PTRACE,
//! ...). Without CAP_SYS_ADMIN, `clone` may not create namespaces and `clone3` fails
//! with `ENOSYS` (the C library then falls back to `clone`, whose flags the filter can
//! check). `socket` can't open `AF_VSOCK`, and `personality` takes only the values
//! Docker allows.
//!
//! The profile is the same on every architecture; the names are turned into numbers
//! with the tables of `seccomp/syscalls.rs` (x86_64 and aarch64). A name an
//! architecture does not have is skipped, as libseccomp does. What rcompose does not do
//! that Docker's does: the 32-bit ABIs of those architectures (i386 and x32 on x86_64,
//! arm on aarch64) are not allowed at all: an i386 system call kills the process, an
//! x32 one fails with `EPERM`.

mod syscalls;

use super::caps::{self, CapSet};
use super::spec::Seccomp;
use super::sys;
use nix::errno::Errno;
use seccompiler::{
    BackendError, BpfProgram, SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition,
    SeccompFilter, SeccompRule, TargetArch,
};
use std::collections::BTreeMap;

/// The system calls every container may make, in any form. `ptrace` and
/// `process_vm_readv`/`writev` are here because every kernel rcompose runs on is newer
/// than 4.8, since which seccomp can't be bypassed with them.
pub const ALLOWED: [&str; 363] = [
    "accept",
    "accept4",
    "access",
    "adjtimex",
    "alarm",
    "bind",
    "brk",
    "cachestat",
    "capget",
    "capset",
    "chdir",
    "chmod",
    "chown",
    "chown32",
    "clock_adjtime",
    "clock_adjtime64",
    "clock_getres",
    "clock_getres_time64",
    "clock_gettime",
    "clock_gettime64",
    "clock_nanosleep",
    "clock_nanosleep_time64",
    "close",
    "close_range",
    "connect",
    "copy_file_range",
    "creat",
    "dup",
    "dup2",
    "dup3",
    "epoll_create",
    "epoll_create1",
    "epoll_ctl",
    "epoll_ctl_old",
    "epoll_pwait",
    "epoll_pwait2",
    "epoll_wait",
    "epoll_wait_old",
    "eventfd",
    "eventfd2",
    "execve",
    "execveat",
    "exit",
    "exit_group",
    "faccessat",
    "faccessat2",
    "fadvise64",
    "fadvise64_64",
    "fallocate",
    "fanotify_mark",
    "fchdir",
    "fchmod",
    "fchmodat",
    "fchmodat2",
    "fchown",
    "fchown32",
    "fchownat",
    "fcntl",
    "fcntl64",
    "fdatasync",
    "fgetxattr",
    "flistxattr",
    "flock",
    "fork",
    "fremovexattr",
    "fsetxattr",
    "fstat",
    "fstat64",
    "fstatat64",
    "fstatfs",
    "fstatfs64",
    "fsync",
    "ftruncate",
    "ftruncate64",
    "futex",
    "futex_requeue",
    "futex_time64",
    "futex_wait",
    "futex_waitv",
    "futex_wake",
    "futimesat",
    "getcpu",
    "getcwd",
    "getdents",
    "getdents64",
    "getegid",
    "getegid32",
    "geteuid",
    "geteuid32",
    "getgid",
    "getgid32",
    "getgroups",
    "getgroups32",
    "getitimer",
    "getpeername",
    "getpgid",
    "getpgrp",
    "getpid",
    "getppid",
    "getpriority",
    "getrandom",
    "getresgid",
    "getresgid32",
    "getresuid",
    "getresuid32",
    "getrlimit",
    "get_robust_list",
    "getrusage",
    "getsid",
    "getsockname",
    "getsockopt",
    "get_thread_area",
    "gettid",
    "gettimeofday",
    "getuid",
    "getuid32",
    "getxattr",
    "getxattrat",
    "inotify_add_watch",
    "inotify_init",
    "inotify_init1",
    "inotify_rm_watch",
    "io_cancel",
    "ioctl",
    "io_destroy",
    "io_getevents",
    "io_pgetevents",
    "io_pgetevents_time64",
    "ioprio_get",
    "ioprio_set",
    "io_setup",
    "io_submit",
    "ipc",
    "kill",
    "landlock_add_rule",
    "landlock_create_ruleset",
    "landlock_restrict_self",
    "lchown",
    "lchown32",
    "lgetxattr",
    "link",
    "linkat",
    "listen",
    "listmount",
    "listxattr",
    "listxattrat",
    "llistxattr",
    "_llseek",
    "lremovexattr",
    "lseek",
    "lsetxattr",
    "lstat",
    "lstat64",
    "madvise",
    "map_shadow_stack",
    "membarrier",
    "memfd_create",
    "memfd_secret",
    "mincore",
    "mkdir",
    "mkdirat",
    "mknod",
    "mknodat",
    "mlock",
    "mlock2",
    "mlockall",
    "mmap",
    "mmap2",
    "mprotect",
    "mq_getsetattr",
    "mq_notify",
    "mq_open",
    "mq_timedreceive",
    "mq_timedreceive_time64",
    "mq_timedsend",
    "mq_timedsend_time64",
    "mq_unlink",
    "mremap",
    "mseal",
    "msgctl",
    "msgget",
    "msgrcv",
    "msgsnd",
    "msync",
    "munlock",
    "munlockall",
    "munmap",
    "name_to_handle_at",
    "nanosleep",
    "newfstatat",
    "_newselect",
    "open",
    "openat",
    "openat2",
    "pause",
    "pidfd_open",
    "pidfd_send_signal",
    "pipe",
    "pipe2",
    "pkey_alloc",
    "pkey_free",
    "pkey_mprotect",
    "poll",
    "ppoll",
    "ppoll_time64",
    "prctl",
    "pread64",
    "preadv",
    "preadv2",
    "prlimit64",
    "process_mrelease",
    "process_vm_readv",
    "process_vm_writev",
    "pselect6",
    "pselect6_time64",
    "ptrace",
    "pwrite64",
    "pwritev",
    "pwritev2",
    "read",
    "readahead",
    "readlink",
    "readlinkat",
    "readv",
    "recv",
    "recvfrom",
    "recvmmsg",
    "recvmmsg_time64",
    "recvmsg",
    "remap_file_pages",
    "removexattr",
    "removexattrat",
    "rename",
    "renameat",
    "renameat2",
    "restart_syscall",
    "rmdir",
    "rseq",
    "rt_sigaction",
    "rt_sigpending",
    "rt_sigprocmask",
    "rt_sigqueueinfo",
    "rt_sigreturn",
    "rt_sigsuspend",
    "rt_sigtimedwait",
    "rt_sigtimedwait_time64",
    "rt_tgsigqueueinfo",
    "sched_getaffinity",
    "sched_getattr",
    "sched_getparam",
    "sched_get_priority_max",
    "sched_get_priority_min",
    "sched_getscheduler",
    "sched_rr_get_interval",
    "sched_rr_get_interval_time64",
    "sched_setaffinity",
    "sched_setattr",
    "sched_setparam",
    "sched_setscheduler",
    "sched_yield",
    "seccomp",
    "select",
    "semctl",
    "semget",
    "semop",
    "semtimedop",
    "semtimedop_time64",
    "send",
    "sendfile",
    "sendfile64",
    "sendmmsg",
    "sendmsg",
    "sendto",
    "setfsgid",
    "setfsgid32",
    "setfsuid",
    "setfsuid32",
    "setgid",
    "setgid32",
    "setgroups",
    "setgroups32",
    "setitimer",
    "setpgid",
    "setpriority",
    "setregid",
    "setregid32",
    "setresgid",
    "setresgid32",
    "setresuid",
    "setresuid32",
    "setreuid",
    "setreuid32",
    "setrlimit",
    "set_robust_list",
    "setsid",
    "setsockopt",
    "set_thread_area",
    "set_tid_address",
    "setuid",
    "setuid32",
    "setxattr",
    "setxattrat",
    "shmat",
    "shmctl",
    "shmdt",
    "shmget",
    "shutdown",
    "sigaltstack",
    "signalfd",
    "signalfd4",
    "sigprocmask",
    "sigreturn",
    "socketcall",
    "socketpair",
    "splice",
    "stat",
    "stat64",
    "statfs",
    "statfs64",
    "statmount",
    "statx",
    "symlink",
    "symlinkat",
    "sync",
    "sync_file_range",
    "syncfs",
    "sysinfo",
    "tee",
    "tgkill",
    "time",
    "timer_create",
    "timer_delete",
    "timer_getoverrun",
    "timer_gettime",
    "timer_gettime64",
    "timer_settime",
    "timer_settime64",
    "timerfd_create",
    "timerfd_gettime",
    "timerfd_gettime64",
    "timerfd_settime",
    "timerfd_settime64",
    "times",
    "tkill",
    "truncate",
    "truncate64",
    "ugetrlimit",
    "umask",
    "uname",
    "unlink",
    "unlinkat",
    "uretprobe",
    "utime",
    "utimensat",
    "utimensat_time64",
    "utimes",
    "vfork",
    "vmsplice",
    "wait4",
    "waitid",
    "waitpid",
    "write",
    "writev",
];

/// The system calls allowed when the container has a capability (by its kernel name).
pub const BY_CAPABILITY: [(&str, &[&str]); 14] = [
    ("CAP_DAC_READ_SEARCH", &["open_by_handle_at"]),
    (
        "CAP_SYS_ADMIN",
        &[
            "bpf",
            "clone",
            "clone3",
            "fanotify_init",
            "fsconfig",
            "fsmount",
            "fsopen",
            "fspick",
            "lookup_dcookie",
            "lsm_get_self_attr",
            "lsm_list_modules",
            "lsm_set_self_attr",
            "mount",
            "mount_setattr",
            "move_mount",
            "open_tree",
            "perf_event_open",
            "quotactl",
            "quotactl_fd",
            "setdomainname",
            "sethostname",
            "setns",
            "syslog",
            "umount",
            "umount2",
            "unshare",
        ],
    ),
    ("CAP_SYS_BOOT", &["reboot"]),
    ("CAP_SYS_CHROOT", &["chroot"]),
    (
        "CAP_SYS_MODULE",
        &["delete_module", "init_module", "finit_module"],
    ),
    ("CAP_SYS_PACCT", &["acct"]),
    (
        "CAP_SYS_PTRACE",
        &[
            "kcmp",
            "pidfd_getfd",
            "process_madvise",
            "process_vm_readv",
            "process_vm_writev",
            "ptrace",
        ],
    ),
    ("CAP_SYS_RAWIO", &["iopl", "ioperm"]),
    (
        "CAP_SYS_TIME",
        &["settimeofday", "stime", "clock_settime", "clock_settime64"],
    ),
    ("CAP_SYS_TTY_CONFIG", &["vhangup"]),
    (
        "CAP_SYS_NICE",
        &[
            "get_mempolicy",
            "mbind",
            "set_mempolicy",
            "set_mempolicy_home_node",
        ],
    ),
    ("CAP_SYSLOG", &["syslog"]),
    ("CAP_BPF", &["bpf"]),
    ("CAP_PERFMON", &["perf_event_open"]),
];

/// The x86-only system calls Docker allows there (x86's thread-local storage); other
/// architectures have no such names.
pub const X86_64_ALLOWED: [&str; 2] = ["arch_prctl", "modify_ldt"];

/// The `personality(2)` values Docker allows: Linux, `PER_LINUX32`, `UNAME26`, both,
/// and the query `0xffffffff`.
pub const PERSONALITIES: [u64; 5] = [0x0, 0x0008, 0x2_0000, 0x2_0008, 0xffff_ffff];

/// `AF_VSOCK`, the one socket family Docker refuses (VM sockets reach the host).
pub const AF_VSOCK: u64 = 40;

/// The `clone` flags that create namespaces, refused without CAP_SYS_ADMIN.
pub const NAMESPACE_FLAGS: u64 = (nix::libc::CLONE_NEWNS
    | nix::libc::CLONE_NEWUTS
    | nix::libc::CLONE_NEWIPC
    | nix::libc::CLONE_NEWUSER
    | nix::libc::CLONE_NEWPID
    | nix::libc::CLONE_NEWNET
    | nix::libc::CLONE_NEWCGROUP) as u64;

/// A test of one argument (the whole 64-bit register) of a system call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArgCheck {
    /// Argument `arg` equals the value.
    Eq { arg: u8, value: u64 },
    /// Argument `arg` is not the value.
    Ne { arg: u8, value: u64 },
    /// Argument `arg` has none of the bits of the mask.
    NoneOf { arg: u8, mask: u64 },
}

/// When an allowed system call is allowed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Allowed {
    /// With any arguments.
    Always,
    /// When one of these checks holds.
    When(Vec<ArgCheck>),
}

/// The profile for one capability set, by system call name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Profile {
    /// The system calls allowed; every other one fails with `EPERM`.
    pub allowed: BTreeMap<&'static str, Allowed>,
    /// System calls that fail with `ENOSYS` instead, so that the C library falls back
    /// to an older call the filter can check (`clone3`, without CAP_SYS_ADMIN).
    pub enosys: Vec<&'static str>,
}

/// Docker's default profile for a container with these capabilities (its capability
/// set, whatever user it runs as: Docker decides from the bounding set).
pub fn profile(capabilities: CapSet) -> Profile {
    let has = |name: &str| caps::number(name).is_some_and(|n| capabilities.contains(n));
    let mut allowed = BTreeMap::new();
    let mut allow = |name: &'static str, check: Option<ArgCheck>| {
        let entry = allowed.entry(name).or_insert(Allowed::When(Vec::new()));
        match (entry, check) {
            (entry, None) => *entry = Allowed::Always,
            (Allowed::When(checks), Some(check)) => checks.push(check),
            (Allowed::Always, Some(_)) => {}
        }
    };
    for name in ALLOWED.into_iter().chain(X86_64_ALLOWED) {
        allow(name, None);
    }
    allow(
        "socket",
        Some(ArgCheck::Ne {
            arg: 0,
            value: AF_VSOCK,
        }),
    );
    for value in PERSONALITIES {
        allow("personality", Some(ArgCheck::Eq { arg: 0, value }));
    }
    for (capability, names) in BY_CAPABILITY {
        if has(capability) {
            for name in names {
                allow(name, None);
            }
        }
    }
    let mut enosys = Vec::new();
    if !has("CAP_SYS_ADMIN") {
        allow(
            "clone",
            Some(ArgCheck::NoneOf {
                arg: 0,
                mask: NAMESPACE_FLAGS,
            }),
        );
        enosys.push("clone3");
    }
    Profile { allowed, enosys }
}

/// The architecture this binary runs on and its system call table, when rcompose has
/// one for it.
pub fn native() -> Option<(TargetArch, &'static [(&'static str, i64)])> {
    if cfg!(target_arch = "x86_64") {
        Some((TargetArch::x86_64, syscalls::X86_64))
    } else if cfg!(target_arch = "aarch64") {
        Some((TargetArch::aarch64, syscalls::AARCH64))
    } else {
        None
    }
}

/// The BPF programs of a profile, to install in this order: the allow list (`EPERM`
/// for the rest), then the `ENOSYS` list if any. The kernel runs every installed filter
/// and keeps the verdict of highest precedence, the most recent one among equals: so
/// the second filter's `ENOSYS` wins over the first's `EPERM`.
pub fn compile(
    profile: &Profile,
    arch: TargetArch,
    table: &[(&str, i64)],
) -> Result<Vec<BpfProgram>, BackendError> {
    let number = |name: &str| table.iter().find(|(n, _)| *n == name).map(|(_, nr)| *nr);
    let mut rules = BTreeMap::new();
    for (name, allowed) in &profile.allowed {
        let Some(nr) = number(name) else { continue };
        let chain = match allowed {
            Allowed::Always => Vec::new(),
            Allowed::When(checks) => checks
                .iter()
                .map(|check| SeccompRule::new(vec![condition(*check)?]))
                .collect::<Result<_, _>>()?,
        };
        rules.insert(nr, chain);
    }
    let errno = |errno: Errno| SeccompAction::Errno(errno as u32);
    let allow_list = SeccompFilter::new(rules, errno(Errno::EPERM), SeccompAction::Allow, arch)?;
    let mut programs = vec![BpfProgram::try_from(allow_list)?];
    let enosys: BTreeMap<i64, Vec<SeccompRule>> = profile
        .enosys
        .iter()
        .filter_map(|name| Some((number(name)?, Vec::new())))
        .collect();
    if !enosys.is_empty() {
        let filter = SeccompFilter::new(enosys, SeccompAction::Allow, errno(Errno::ENOSYS), arch)?;
        programs.push(BpfProgram::try_from(filter)?);
    }
    Ok(programs)
}

fn condition(check: ArgCheck) -> Result<SeccompCondition, BackendError> {
    let (arg, op, value) = match check {
        ArgCheck::Eq { arg, value } => (arg, SeccompCmpOp::Eq, value),
        ArgCheck::Ne { arg, value } => (arg, SeccompCmpOp::Ne, value),
        ArgCheck::NoneOf { arg, mask } => (arg, SeccompCmpOp::MaskedEq(mask), 0),
    };
    SeccompCondition::new(arg, SeccompCmpArgLen::Qword, op, value)
}

/// A compiled filter, ready to install: compiling allocates, installing does not.
#[derive(Clone, Debug)]
pub(crate) struct Filter {
    programs: Vec<BpfProgram>,
}

impl Filter {
    /// The filter of `seccomp` for a container with these capabilities; `None` when
    /// unconfined.
    pub(crate) fn new(seccomp: Seccomp, capabilities: CapSet) -> Result<Option<Filter>, Errno> {
        if seccomp == Seccomp::Unconfined {
            return Ok(None);
        }
        // The spec's validation refuses the default profile on other architectures.
        let (arch, table) = native().ok_or(Errno::ENOTSUP)?;
        let programs = compile(&profile(capabilities), arch, table).map_err(|_| Errno::EINVAL)?;
        Ok(Some(Filter { programs }))
    }

    /// Installs the filter on the calling thread; its children and the programs it
    /// executes inherit it. Without `no_new_privs`, the kernel takes a filter only from
    /// a thread with CAP_SYS_ADMIN: install it before dropping capabilities, and make
    /// sure what runs afterwards only makes allowed system calls (everything the
    /// container's init does until `execve` is in [`ALLOWED`]).
    pub(crate) fn install(&self) -> Result<(), Errno> {
        for program in &self.programs {
            sys::install_seccomp(program)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use seccompiler::sock_filter;

    const AUDIT_ARCH_X86_64: u32 = 0xc000_003e;
    const AUDIT_ARCH_I386: u32 = 0x4000_0003;
    const ALLOW: u32 = 0x7fff_0000;
    const KILL_PROCESS: u32 = 0x8000_0000;
    const EPERM: u32 = 0x0005_0000 | 1;
    const ENOSYS: u32 = 0x0005_0000 | 38;

    fn caps(names: &[&str]) -> CapSet {
        let mut set = CapSet::docker_default().bits();
        for name in names {
            set |= 1 << caps::number(name).unwrap();
        }
        CapSet::from_bits(set)
    }

    /// Runs one classic BPF program, as the kernel does, on `struct seccomp_data`.
    fn run(program: &[sock_filter], data: &[u8; 64]) -> u32 {
        let (mut acc, mut pc) = (0u32, 0usize);
        loop {
            let ins = &program[pc];
            pc += 1;
            let k = ins.k as usize;
            let jump = |taken: bool| usize::from(if taken { ins.jt } else { ins.jf });
            match ins.code {
                0x20 => acc = u32::from_ne_bytes(data[k..k + 4].try_into().unwrap()),
                0x54 => acc &= ins.k,
                0x05 => pc += k,
                0x15 => pc += jump(acc == ins.k),
                0x25 => pc += jump(acc > ins.k),
                0x35 => pc += jump(acc >= ins.k),
                0x06 => return ins.k,
                code => panic!("instruction {code:#x} is not handled"),
            }
        }
    }

    /// The kernel's verdict with every program installed in order: all run, the most
    /// recent first, and the first verdict of highest precedence wins.
    fn verdict(programs: &[BpfProgram], arch: u32, nr: i64, args: [u64; 6]) -> u32 {
        let mut data = [0u8; 64];
        data[0..4].copy_from_slice(&(nr as i32).to_ne_bytes());
        data[4..8].copy_from_slice(&arch.to_ne_bytes());
        for (i, arg) in args.iter().enumerate() {
            data[16 + 8 * i..24 + 8 * i].copy_from_slice(&arg.to_ne_bytes());
        }
        let mut result = ALLOW;
        for program in programs.iter().rev() {
            let ret = run(program, &data);
            if ((ret & 0xffff_0000) as i32) < ((result & 0xffff_0000) as i32) {
                result = ret;
            }
        }
        result
    }

    fn x86_64(capabilities: CapSet) -> impl Fn(&str, [u64; 6]) -> u32 {
        let programs =
            compile(&profile(capabilities), TargetArch::x86_64, syscalls::X86_64).unwrap();
        move |name, args| {
            let nr = syscalls::X86_64.iter().find(|(n, _)| *n == name).unwrap().1;
            verdict(&programs, AUDIT_ARCH_X86_64, nr, args)
        }
    }

    #[test]
    fn the_default_capabilities_get_dockers_rules() {
        let profile = profile(CapSet::docker_default());
        assert_eq!(profile.allowed["read"], Allowed::Always);
        // CAP_SYS_CHROOT is a default capability, CAP_SYS_ADMIN and CAP_SYS_PTRACE are not.
        assert_eq!(profile.allowed["chroot"], Allowed::Always);
        for name in [
            "mount", "unshare", "setns", "bpf", "kcmp", "reboot", "clone3",
        ] {
            assert!(!profile.allowed.contains_key(name), "{name}");
        }
        assert_eq!(
            profile.allowed["clone"],
            Allowed::When(vec![ArgCheck::NoneOf {
                arg: 0,
                mask: 0x7e02_0000
            }])
        );
        assert_eq!(profile.enosys, ["clone3"]);
        assert_eq!(
            profile.allowed["socket"],
            Allowed::When(vec![ArgCheck::Ne { arg: 0, value: 40 }])
        );
        let Allowed::When(personalities) = &profile.allowed["personality"] else {
            panic!("personality is conditional");
        };
        let values: Vec<u64> = personalities
            .iter()
            .map(|check| match check {
                ArgCheck::Eq { arg: 0, value } => *value,
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(values, [0, 8, 0x20000, 0x20008, 0xffffffff]);
        // The allowlist plus socket, personality and clone; chroot through its cap.
        assert_eq!(profile.allowed.len(), 363 + 2 + 3 + 1);
    }

    #[test]
    fn capabilities_open_their_groups() {
        let admin = profile(caps(&["CAP_SYS_ADMIN"]));
        for name in [
            "mount",
            "umount2",
            "unshare",
            "setns",
            "clone",
            "clone3",
            "lsm_list_modules",
        ] {
            assert_eq!(admin.allowed[name], Allowed::Always, "{name}");
        }
        assert!(admin.enosys.is_empty());
        assert!(!admin.allowed.contains_key("ptrace_nothing"));

        let ptrace = profile(caps(&["CAP_SYS_PTRACE", "CAP_SYS_BOOT", "CAP_SYS_NICE"]));
        for name in ["kcmp", "pidfd_getfd", "process_madvise", "reboot", "mbind"] {
            assert_eq!(ptrace.allowed[name], Allowed::Always, "{name}");
        }
        assert!(!ptrace.allowed.contains_key("mount"));

        let none = profile(CapSet::EMPTY);
        for name in [
            "chroot",
            "open_by_handle_at",
            "acct",
            "settimeofday",
            "syslog",
        ] {
            assert!(!none.allowed.contains_key(name), "{name}");
        }
        let all = profile(CapSet::ALL);
        for name in [
            "chroot",
            "open_by_handle_at",
            "acct",
            "settimeofday",
            "syslog",
            "bpf",
        ] {
            assert_eq!(all.allowed[name], Allowed::Always, "{name}");
        }
    }

    #[test]
    fn the_compiled_filter_decides_as_dockers() {
        let check = x86_64(CapSet::docker_default());
        let none = [0; 6];
        assert_eq!(check("read", none), ALLOW);
        assert_eq!(check("execve", none), ALLOW);
        assert_eq!(check("mount", none), EPERM);
        assert_eq!(check("unshare", [0x1000_0000, 0, 0, 0, 0, 0]), EPERM);
        assert_eq!(check("reboot", none), EPERM);
        // clone: a thread or a process, but no namespace; clone3 falls back to clone.
        assert_eq!(check("clone", [0x11 | 0x0100_0000, 0, 0, 0, 0, 0]), ALLOW);
        assert_eq!(check("clone", [0x1000_0000 | 0x11, 0, 0, 0, 0, 0]), EPERM);
        assert_eq!(check("clone", [0x0002_0000, 0, 0, 0, 0, 0]), EPERM);
        assert_eq!(check("clone3", none), ENOSYS);
        assert_eq!(check("socket", [2, 1, 0, 0, 0, 0]), ALLOW);
        assert_eq!(check("socket", [40, 1, 0, 0, 0, 0]), EPERM);
        assert_eq!(check("personality", [8, 0, 0, 0, 0, 0]), ALLOW);
        assert_eq!(check("personality", [0xffff_ffff, 0, 0, 0, 0, 0]), ALLOW);
        assert_eq!(check("personality", [0x0040_0000, 0, 0, 0, 0, 0]), EPERM);
        assert_eq!(check("personality", [1 << 32, 0, 0, 0, 0, 0]), EPERM);

        let admin = x86_64(caps(&["CAP_SYS_ADMIN"]));
        assert_eq!(admin("mount", none), ALLOW);
        assert_eq!(admin("clone", [0x1000_0000 | 0x11, 0, 0, 0, 0, 0]), ALLOW);
        assert_eq!(admin("clone3", none), ALLOW);
        assert_eq!(admin("ptrace", none), ALLOW);
        assert_eq!(admin("kcmp", none), EPERM);
    }

    #[test]
    fn another_architecture_is_killed() {
        let programs = compile(
            &profile(CapSet::docker_default()),
            TargetArch::x86_64,
            syscalls::X86_64,
        )
        .unwrap();
        // i386's read is 3, like x86_64's close: the arch decides, not the number.
        assert_eq!(verdict(&programs, AUDIT_ARCH_I386, 3, [0; 6]), KILL_PROCESS);
    }

    #[test]
    fn every_name_is_known_to_the_tables() {
        let profile = profile(CapSet::ALL);
        let mut names: Vec<&str> = profile.allowed.keys().copied().collect();
        names.extend(&profile.enosys);
        let missing = |table: &[(&str, i64)]| {
            let mut missing: Vec<&str> = names
                .iter()
                .copied()
                .filter(|name| table.iter().all(|(n, _)| n != name))
                .collect();
            missing.sort();
            missing.dedup();
            missing.join(" ")
        };
        // 32-bit, time64 and socketcall/ipc multiplexer variants: no such x86_64 calls.
        assert_eq!(
            missing(syscalls::X86_64),
            "_llseek _newselect chown32 clock_adjtime64 clock_getres_time64 clock_gettime64 \
             clock_nanosleep_time64 clock_settime64 fadvise64_64 fchown32 fcntl64 fstat64 \
             fstatat64 fstatfs64 ftruncate64 futex_time64 getegid32 geteuid32 getgid32 \
             getgroups32 getresgid32 getresuid32 getuid32 io_pgetevents_time64 ipc lchown32 \
             lstat64 mmap2 mq_timedreceive_time64 mq_timedsend_time64 ppoll_time64 \
             pselect6_time64 recv recvmmsg_time64 rt_sigtimedwait_time64 \
             sched_rr_get_interval_time64 semtimedop_time64 send sendfile64 setfsgid32 \
             setfsuid32 setgid32 setgroups32 setregid32 setresgid32 setresuid32 setreuid32 \
             setuid32 sigprocmask sigreturn socketcall stat64 statfs64 stime timer_gettime64 \
             timer_settime64 timerfd_gettime64 timerfd_settime64 truncate64 ugetrlimit \
             umount utimensat_time64 waitpid"
        );
        let number = |table: &[(&str, i64)], name: &str| {
            table.iter().find(|(n, _)| *n == name).map(|(_, nr)| *nr)
        };
        assert_eq!(number(syscalls::X86_64, "read"), Some(0));
        assert_eq!(number(syscalls::X86_64, "clone"), Some(56));
        assert_eq!(number(syscalls::X86_64, "listmount"), Some(458));
        assert_eq!(number(syscalls::AARCH64, "clone"), Some(220));
        assert_eq!(number(syscalls::AARCH64, "setrlimit"), Some(164));
        assert_eq!(number(syscalls::AARCH64, "open"), None);
        // aarch64 compiles too (the filter is built on any host).
        let programs = compile(&profile, TargetArch::aarch64, syscalls::AARCH64).unwrap();
        assert_eq!(programs.len(), 1);
    }

    #[test]
    fn unconfined_is_no_filter() {
        assert!(Filter::new(Seccomp::Unconfined, CapSet::ALL)
            .unwrap()
            .is_none());
        let filter = Filter::new(Seccomp::Default, CapSet::docker_default()).unwrap();
        assert_eq!(filter.map(|f| f.programs.len()), Some(2));
    }
}
