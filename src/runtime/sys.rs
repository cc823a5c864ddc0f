//! The few kernel calls nix has no safe wrapper for, and file descriptor plumbing. Every
//! `unsafe` block of the runtime is here, each with why it is sound.

use nix::errno::Errno;
use nix::fcntl::{fcntl, FcntlArg, FdFlag};
use nix::libc;
use nix::sys::signal::{self, SigHandler, SigSet, SigmaskHow, Signal};
use nix::sys::socket::{socket, AddressFamily, SockFlag, SockType};
use nix::unistd::ForkResult;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};

/// Takes ownership of a descriptor passed by number (the helper's pipes) and marks it
/// close-on-exec again. Fails with `EBADF` when no such descriptor is open.
pub(crate) fn take_fd(raw: RawFd) -> Result<OwnedFd, Errno> {
    if raw < 3 {
        return Err(Errno::EBADF);
    }
    // SAFETY: the borrow only lives for this fcntl, which fails with EBADF on a number
    // that is not an open descriptor.
    let borrowed = unsafe { BorrowedFd::borrow_raw(raw) };
    fcntl(borrowed, FcntlArg::F_SETFD(FdFlag::FD_CLOEXEC))?;
    // SAFETY: the descriptor is open (above) and was passed to this process for it
    // alone: nothing else in the helper refers to it.
    Ok(unsafe { OwnedFd::from_raw_fd(raw) })
}

/// `fd` copied to the lowest free number from `min` up, close-on-exec.
pub(crate) fn dup_above(fd: OwnedFd, min: RawFd) -> Result<OwnedFd, Errno> {
    let raw = fcntl(&fd, FcntlArg::F_DUPFD_CLOEXEC(min))?;
    // SAFETY: F_DUPFD_CLOEXEC returned a new descriptor that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(raw) })
}

/// Forks the helper.
pub(crate) fn fork() -> Result<ForkResult, Errno> {
    // SAFETY: only the helper forks, and it is single-threaded (a fresh exec of our
    // binary that starts no thread), so the child may allocate and run any code.
    unsafe { nix::unistd::fork() }
}

/// `kill(2)` with a raw signal number (real-time signals too), to one process.
pub(crate) fn kill(pid: libc::pid_t, signal: libc::c_int) -> Result<(), Errno> {
    // SAFETY: kill takes integers only.
    Errno::result(unsafe { libc::kill(pid, signal) }).map(drop)
}

/// Sets each of `signals` to be ignored (the helper's defence against its caller's
/// death; the container's init resets them all before it executes the program).
pub(crate) fn ignore_signals(signals: &[Signal]) -> Result<(), Errno> {
    for &sig in signals {
        // SAFETY: SIG_IGN installs no handler, so no code of ours runs in a signal
        // context.
        unsafe { signal::signal(sig, SigHandler::SigIgn) }?;
    }
    Ok(())
}

/// The errno of a rustix call, as nix (and our errors) have it.
pub(crate) fn errno(err: rustix::io::Errno) -> Errno {
    Errno::from_raw(err.raw_os_error())
}

/// `setdomainname(2)` for the current UTS namespace.
pub(crate) fn set_domainname(name: &str) -> Result<(), Errno> {
    // SAFETY: the pointer and length describe `name`'s bytes, which outlive the call.
    let res = unsafe { libc::setdomainname(name.as_ptr().cast(), name.len()) };
    Errno::result(res).map(drop)
}

/// Drops capability `cap` from the bounding set; `EINVAL` when the kernel has no such
/// capability.
pub(crate) fn drop_bounding(cap: u8) -> Result<(), Errno> {
    // SAFETY: PR_CAPBSET_DROP takes integers only.
    let res = unsafe {
        libc::prctl(
            libc::PR_CAPBSET_DROP,
            libc::c_ulong::from(cap),
            0 as libc::c_ulong,
            0 as libc::c_ulong,
            0 as libc::c_ulong,
        )
    };
    Errno::result(res).map(drop)
}

/// Empties the ambient set.
pub(crate) fn clear_ambient() -> Result<(), Errno> {
    // SAFETY: PR_CAP_AMBIENT takes integers only.
    let res = unsafe {
        libc::prctl(
            libc::PR_CAP_AMBIENT,
            libc::PR_CAP_AMBIENT_CLEAR_ALL as libc::c_ulong,
            0 as libc::c_ulong,
            0 as libc::c_ulong,
            0 as libc::c_ulong,
        )
    };
    Errno::result(res).map(drop)
}

/// Adds capability `cap` to the ambient set (it must be permitted and inheritable).
pub(crate) fn raise_ambient(cap: u8) -> Result<(), Errno> {
    // SAFETY: PR_CAP_AMBIENT takes integers only.
    let res = unsafe {
        libc::prctl(
            libc::PR_CAP_AMBIENT,
            libc::PR_CAP_AMBIENT_RAISE as libc::c_ulong,
            libc::c_ulong::from(cap),
            0 as libc::c_ulong,
            0 as libc::c_ulong,
        )
    };
    Errno::result(res).map(drop)
}

/// `_LINUX_CAPABILITY_VERSION_3`: 64-bit sets in two 32-bit halves.
const CAPABILITY_VERSION_3: u32 = 0x2008_0522;

#[repr(C)]
struct CapHeader {
    version: u32,
    pid: libc::c_int,
}

#[repr(C)]
#[derive(Clone, Copy)]
struct CapData {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

/// `capset(2)` of the calling thread's effective, permitted and inheritable sets.
pub(crate) fn capset(effective: u64, permitted: u64, inheritable: u64) -> Result<(), Errno> {
    let half = |bits: u64, high: bool| (if high { bits >> 32 } else { bits }) as u32;
    let data = [false, true].map(|high| CapData {
        effective: half(effective, high),
        permitted: half(permitted, high),
        inheritable: half(inheritable, high),
    });
    let header = CapHeader {
        version: CAPABILITY_VERSION_3,
        pid: 0,
    };
    // SAFETY: version 3 takes a header and an array of two data structs, both
    // #[repr(C)] as the kernel defines them, alive for the call.
    let res =
        unsafe { libc::syscall(libc::SYS_capset, &header as *const CapHeader, data.as_ptr()) };
    Errno::result(res).map(drop)
}

/// The calling thread's permitted set (`capget(2)`).
pub(crate) fn permitted() -> Result<u64, Errno> {
    let mut header = CapHeader {
        version: CAPABILITY_VERSION_3,
        pid: 0,
    };
    let mut data = [CapData {
        effective: 0,
        permitted: 0,
        inheritable: 0,
    }; 2];
    // SAFETY: as capset, with both structs writable and alive for the call.
    let res = unsafe {
        libc::syscall(
            libc::SYS_capget,
            &mut header as *mut CapHeader,
            data.as_mut_ptr(),
        )
    };
    Errno::result(res)?;
    Ok(u64::from(data[0].permitted) | (u64::from(data[1].permitted) << 32))
}

/// Sets `IFF_UP` on `lo` in the current network namespace.
pub(crate) fn loopback_up() -> Result<(), Errno> {
    let sock = socket(
        AddressFamily::Inet,
        SockType::Datagram,
        SockFlag::SOCK_CLOEXEC,
        None,
    )?;
    // SAFETY: ifreq is plain old data; all-zero is a valid value.
    let mut request: libc::ifreq = unsafe { std::mem::zeroed() };
    for (dst, src) in request.ifr_name.iter_mut().zip(b"lo") {
        *dst = *src as libc::c_char;
    }
    // SAFETY: SIOCGIFFLAGS reads the name and writes the flags of the ifreq we own.
    let res = unsafe { libc::ioctl(sock.as_raw_fd(), libc::SIOCGIFFLAGS, &mut request) };
    Errno::result(res)?;
    // SAFETY: the kernel filled ifru_flags above; the union field is a c_short.
    unsafe { request.ifr_ifru.ifru_flags |= libc::IFF_UP as libc::c_short };
    // SAFETY: SIOCSIFFLAGS reads the ifreq we own.
    let res = unsafe { libc::ioctl(sock.as_raw_fd(), libc::SIOCSIFFLAGS, &request) };
    Errno::result(res).map(drop)
}

/// Default dispositions for every signal and an empty signal mask: what an exec'd
/// program expects (our runtime ignores SIGPIPE, and ignored signals survive exec).
pub(crate) fn reset_signals() -> Result<(), Errno> {
    for sig in Signal::iterator() {
        if matches!(sig, Signal::SIGKILL | Signal::SIGSTOP) {
            continue;
        }
        // SAFETY: SIG_DFL installs no handler, so no code of ours can run in a signal
        // context.
        unsafe { signal::signal(sig, SigHandler::SigDfl) }?;
    }
    signal::sigprocmask(SigmaskHow::SIG_SETMASK, Some(&SigSet::empty()), None)
}

/// Closes every open descriptor numbered 3 or more but `keep`: the helper holds nothing
/// its caller leaked to it (such as the write end of the container's stdin pipe), the
/// container's init nothing it inherited from the helper.
///
/// # Safety
///
/// No object that owns one of the descriptors closed may be used or dropped afterwards:
/// call it before anything opened one (first thing in the helper), or in a process
/// that never returns to the code owning them (the container's init, which ends with
/// `_exit`).
pub(crate) unsafe fn close_fds_except(keep: &[RawFd]) -> Result<(), Errno> {
    for raw in open_fds()? {
        if raw >= 3 && !keep.contains(&raw) {
            // SAFETY: no owner of this descriptor is used again (the caller's promise).
            // The directory's own (already closed) descriptor gives EBADF, which is fine.
            unsafe { libc::close(raw) };
        }
    }
    Ok(())
}

/// The numbers of the open descriptors.
fn open_fds() -> Result<Vec<RawFd>, Errno> {
    Ok(std::fs::read_dir("/proc/self/fd")
        .map_err(|err| err.raw_os_error().map_or(Errno::EIO, Errno::from_raw))?
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse().ok())
        .collect())
}

/// Marks every open descriptor numbered `from` or more close-on-exec, so the program
/// inherits only what it is given (runc does the same).
pub(crate) fn mark_cloexec_from(from: RawFd) -> Result<(), Errno> {
    for raw in open_fds()?.into_iter().filter(|&n| n >= from) {
        // SAFETY: fcntl(F_SETFD) has no memory effects; the directory's own descriptor
        // is closed by now and gives EBADF, which is fine.
        let res = unsafe { libc::fcntl(raw, libc::F_SETFD, libc::FD_CLOEXEC) };
        if res == -1 && Errno::last() != Errno::EBADF {
            return Err(Errno::last());
        }
    }
    Ok(())
}

/// Ends the process at once, without exit handlers (for the helper's forked child,
/// whose exit handlers and buffers belong to the helper).
pub(crate) fn exit_now(code: i32) -> ! {
    // SAFETY: _exit takes an integer and never returns.
    unsafe { libc::_exit(code) }
}

/// Installs a seccomp BPF program on the calling thread (`seccomp(2)`,
/// `SECCOMP_SET_MODE_FILTER`). Unlike seccompiler's own `apply_filter`, it does not set
/// `no_new_privs`: that is the spec's choice, so the caller needs CAP_SYS_ADMIN.
pub(crate) fn install_seccomp(program: &[seccompiler::sock_filter]) -> Result<(), Errno> {
    let len = u16::try_from(program.len()).map_err(|_| Errno::EINVAL)?;
    let fprog = libc::sock_fprog {
        len,
        // seccompiler's sock_filter is #[repr(C)] with the kernel's layout, as
        // libc's is; the kernel only reads through the pointer.
        filter: program.as_ptr().cast::<libc::sock_filter>().cast_mut(),
    };
    // SAFETY: fprog points to `len` instructions that outlive the call; the kernel
    // copies them.
    let res = unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            libc::SECCOMP_SET_MODE_FILTER,
            0 as libc::c_uint,
            &fprog as *const libc::sock_fprog,
        )
    };
    Errno::result(res).map(drop)
}

/// Sets the soft and hard limits of `resource` (an `RLIMIT_*` number) for this process
/// (`prlimit64(2)` on itself).
pub(crate) fn set_rlimit(resource: i32, soft: u64, hard: u64) -> Result<(), Errno> {
    let limit = libc::rlimit64 {
        rlim_cur: soft,
        rlim_max: hard,
    };
    // SAFETY: the new limit is read from a struct alive for the call; the old one is
    // not asked for (null).
    let res = unsafe {
        libc::syscall(
            libc::SYS_prlimit64,
            0 as libc::pid_t,
            resource as libc::c_int,
            &limit as *const libc::rlimit64,
            std::ptr::null_mut::<libc::rlimit64>(),
        )
    };
    Errno::result(res).map(drop)
}
