//! The tiny init of `init: true` (what tini, Docker's `--init`, does): PID 1 forks the
//! program and stays, forwarding every signal it can catch to the program, reaping
//! every process that ends in the container (orphans are re-parented to PID 1), and
//! exiting with the program's status once the program has ended.
//!
//! PID 1 of a PID namespace gets from outside only the signals it handles (or blocks):
//! so it blocks them all before it forks (none is lost meanwhile) and reads them from
//! a `signalfd`. The program unblocks them before it is executed.

use super::container::ExitStatus;
use super::error::Step;
use super::message::Failure;
use super::sys;
use nix::errno::Errno;
use nix::sys::signal::{sigprocmask, SigSet, SigmaskHow, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::{ForkResult, Pid};
use std::os::fd::AsRawFd;

/// Synchronous signals: the kernel sends them to the thread that faulted, forwarding
/// them means nothing (tini's list). They keep their default action.
const NOT_FORWARDED: [Signal; 7] = [
    Signal::SIGFPE,
    Signal::SIGILL,
    Signal::SIGSEGV,
    Signal::SIGBUS,
    Signal::SIGABRT,
    Signal::SIGTRAP,
    Signal::SIGSYS,
];

/// Which side of the fork this process is.
pub(crate) enum Role {
    /// The program: execute it now (its signal mask is empty again).
    Program,
    /// The init: [`supervise`] the program.
    Init {
        /// The program's PID.
        program: Pid,
        /// Where the blocked signals are read from.
        signals: SignalFd,
    },
}

/// The signals the init takes: every signal but the synchronous ones (and SIGKILL and
/// SIGSTOP, which nothing can block). SIGCHLD is among them: it means "reap".
fn taken() -> SigSet {
    let mut set = SigSet::all();
    for signal in NOT_FORWARDED {
        set.remove(signal);
    }
    set
}

/// Blocks the signals the init takes and forks the program.
pub(crate) fn start() -> Result<Role, Failure> {
    let at = |step| move |errno| Failure::setup(step, errno);
    let taken = taken();
    sigprocmask(SigmaskHow::SIG_BLOCK, Some(&taken), None).map_err(at(Step::InitSignals))?;
    let signals =
        SignalFd::with_flags(&taken, SfdFlags::SFD_CLOEXEC).map_err(at(Step::InitSignals))?;
    match sys::fork().map_err(at(Step::ForkProgram))? {
        ForkResult::Child => {
            drop(signals);
            sigprocmask(SigmaskHow::SIG_SETMASK, Some(&SigSet::empty()), None)
                .map_err(at(Step::Signals))?;
            Ok(Role::Program)
        }
        ForkResult::Parent { child } => Ok(Role::Init {
            program: child,
            signals,
        }),
    }
}

/// The init's life: forwards signals to `program`, reaps every child, and exits with
/// the program's exit code (128 + n when signal n killed it, as tini and a shell
/// report it: PID 1 can't be killed by a signal it raises itself).
pub(crate) fn supervise(program: Pid, signals: SignalFd) -> ! {
    let _ = nix::sys::prctl::set_name(c"rcompose-init");
    // SAFETY: this process never returns to the code that owns the descriptors it got
    // from the helper (the status pipe, the log): it ends in `exit_now` below.
    let _ = unsafe { sys::close_fds_except(&[signals.as_raw_fd()]) };
    loop {
        let signal = match signals.read_signal() {
            Ok(Some(info)) => info.ssi_signo as i32,
            Ok(None) | Err(Errno::EINTR) => continue,
            // Can't read signals any more (never seen): still reap until the end.
            Err(_) => sys::exit_now(wait_blocking(program)),
        };
        if signal == Signal::SIGCHLD as i32 {
            if let Some(code) = reap(program) {
                sys::exit_now(code);
            }
        } else {
            // The program may have just ended; its SIGCHLD comes next.
            let _ = sys::kill(program.as_raw(), signal);
        }
    }
}

/// The exit code `status` gives the init.
fn code(status: WaitStatus) -> Option<i32> {
    match status {
        WaitStatus::Exited(_, code) => Some(ExitStatus::Exited(code).code()),
        WaitStatus::Signaled(_, signal, _) => Some(ExitStatus::Signaled(signal as i32).code()),
        _ => None,
    }
}

/// Reaps every child that has ended; the program's exit code if it is one of them.
fn reap(program: Pid) -> Option<i32> {
    let mut ended = None;
    loop {
        match waitpid(None::<Pid>, Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::StillAlive) | Err(Errno::ECHILD) => return ended,
            Ok(status) if status.pid() == Some(program) => ended = code(status),
            Ok(_) | Err(Errno::EINTR) => {}
            // Never seen: nothing more to reap now.
            Err(_) => return ended,
        }
    }
}

/// Reaps children, waiting, until the program has ended; its exit code.
fn wait_blocking(program: Pid) -> i32 {
    loop {
        match waitpid(None::<Pid>, None) {
            Ok(status) if status.pid() == Some(program) => {
                if let Some(code) = code(status) {
                    return code;
                }
            }
            Ok(_) | Err(Errno::EINTR) => {}
            // No child left: the program is gone.
            Err(_) => return 125,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_init_takes_every_catchable_signal_but_the_synchronous_ones() {
        let taken = taken();
        for signal in [
            Signal::SIGTERM,
            Signal::SIGINT,
            Signal::SIGHUP,
            Signal::SIGQUIT,
            Signal::SIGUSR1,
            Signal::SIGUSR2,
            Signal::SIGWINCH,
            Signal::SIGCHLD,
            Signal::SIGCONT,
            Signal::SIGTSTP,
            Signal::SIGPIPE,
            Signal::SIGALRM,
        ] {
            assert!(taken.contains(signal), "{signal}");
        }
        for signal in NOT_FORWARDED {
            assert!(!taken.contains(signal), "{signal}");
        }
    }

    #[test]
    fn exit_codes_are_a_shells() {
        let pid = Pid::from_raw(7);
        assert_eq!(code(WaitStatus::Exited(pid, 3)), Some(3));
        assert_eq!(
            code(WaitStatus::Signaled(pid, Signal::SIGTERM, false)),
            Some(143)
        );
        assert_eq!(
            code(WaitStatus::Signaled(pid, Signal::SIGKILL, true)),
            Some(137)
        );
        assert_eq!(code(WaitStatus::StillAlive), None);
    }
}
