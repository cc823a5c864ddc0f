//! An attached `run` or `exec`: the request goes with our standard streams (or the
//! engine sends back the controlling side of the container's terminal, which we relay
//! to ours in raw mode), then the call's events are followed until the exit code.
//!
//! Without a terminal, SIGINT, SIGTERM and SIGHUP sent to rcompose are forwarded to the
//! container (a `Kill` request on a second connection), as `docker run` does. With a
//! terminal, Ctrl-C is a byte the container's terminal turns into its own SIGINT, and
//! SIGWINCH makes us copy our window size to the container's terminal.

use super::image::unexpected;
use super::CliError;
use crate::engine::protocol::{Event, Reply, Request};
use crate::engine::{Client, ClientError};
use nix::errno::Errno;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::signal::{SigSet, SigmaskHow, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::sys::termios::{self, SetArg, Termios};
use nix::unistd;
use std::fs::File;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// How the container's streams are connected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Mode {
    /// The engine makes a terminal (the request says so); otherwise our descriptors 0,
    /// 1, 2 go with the request.
    pub tty: bool,
    /// The container reads our standard input (else it gets /dev/null, or nothing is
    /// relayed to its terminal).
    pub stdin_open: bool,
    /// Forward SIGINT, SIGTERM and SIGHUP to the container while it runs.
    pub forward_signals: bool,
}

/// Sends `request` attached as `mode` says and follows it; returns the container's (or
/// the exec'd program's) exit code.
pub(super) fn attached(
    client: &Client,
    request: &Request,
    what: &'static str,
    mode: Mode,
) -> Result<i32, CliError> {
    // Before the request goes, so that no signal is missed.
    let forwarder = if mode.forward_signals {
        Some(Forwarder::start(client.clone())?)
    } else {
        None
    };
    let mut call = if mode.tty {
        client.call(request, &[])?
    } else {
        let (our_stdin, null);
        let stdin = if mode.stdin_open {
            our_stdin = io::stdin();
            our_stdin.as_fd()
        } else {
            null = File::open("/dev/null").map_err(|source| CliError::Open {
                path: "/dev/null".into(),
                source,
            })?;
            null.as_fd()
        };
        client.call(
            request,
            &[stdin, io::stdout().as_fd(), io::stderr().as_fd()],
        )?
    };
    let mut terminal: Option<Terminal> = None;
    let result = loop {
        match call.next_event()? {
            Some((Event::Started { name, .. }, _)) => {
                if let Some(forwarder) = &forwarder {
                    forwarder.started(name);
                }
            }
            Some((Event::Terminal, fds)) => {
                if let Some(master) = fds.into_iter().next() {
                    terminal = Some(Terminal::start(master, mode.stdin_open)?);
                }
            }
            Some((Event::Warning { message }, _)) => eprintln!("rcompose: warning: {message}"),
            Some((Event::Done(Reply::Exited { code }), _)) => break Ok(code),
            Some((Event::Done(other), _)) => break Err(unexpected(what, &other)),
            Some((Event::Failed(failure), _)) => {
                break Err(CliError::Engine(ClientError::Failed(failure)))
            }
            Some((Event::Progress { .. } | Event::Log(_), _)) => {}
            None => {
                break Err(CliError::Engine(ClientError::NoAnswer {
                    log: client.layout().engine_log(),
                }))
            }
        }
    };
    if let Some(terminal) = terminal {
        if let Err(err) = terminal.finish() {
            eprintln!("rcompose: warning: relaying the container's terminal: {err}");
        }
    }
    drop(forwarder);
    result
}

/// Forwards the signals that would end rcompose to the container, from a thread that
/// reads them from a signalfd (they are blocked in this thread, and so in every thread
/// it starts).
struct Forwarder {
    target: Arc<Mutex<Target>>,
    client: Client,
    stop: OwnedFd,
    thread: Option<JoinHandle<()>>,
    previous_mask: SigSet,
}

/// Where forwarded signals go: the container once its name is known; until then they
/// wait.
#[derive(Default)]
struct Target {
    container: Option<String>,
    pending: Vec<Signal>,
}

const FORWARDED: [Signal; 3] = [Signal::SIGINT, Signal::SIGTERM, Signal::SIGHUP];

/// Signals blocked in the calling thread (and so in the threads it starts), to be read
/// from `signals` by a thread of the caller's, which `stop` (the read end of a pipe
/// whose write end `wake` is dropped) wakes to end.
pub(super) struct BlockedSignals {
    pub(super) signals: SignalFd,
    pub(super) wake: OwnedFd,
    pub(super) stop: OwnedFd,
    /// To put back when done.
    pub(super) previous_mask: SigSet,
}

/// Blocks `list` in the calling thread and opens a signalfd for them (non-blocking)
/// and the wake-up pipe; on error the mask is as it was.
pub(super) fn block_signals(list: &[Signal]) -> Result<BlockedSignals, Errno> {
    let mut set = SigSet::empty();
    for signal in list {
        set.add(*signal);
    }
    let previous_mask = set.thread_swap_mask(SigmaskHow::SIG_BLOCK)?;
    let made = SignalFd::with_flags(&set, SfdFlags::SFD_CLOEXEC | SfdFlags::SFD_NONBLOCK)
        .and_then(|signals| Ok((signals, unistd::pipe()?)));
    match made {
        Ok((signals, (wake, stop))) => Ok(BlockedSignals {
            signals,
            wake,
            stop,
            previous_mask,
        }),
        Err(errno) => {
            let _ = previous_mask.thread_set_mask();
            Err(errno)
        }
    }
}

impl Forwarder {
    fn start(client: Client) -> Result<Forwarder, CliError> {
        let failed = |source| CliError::Attach {
            what: "forward signals to the container",
            source,
        };
        let BlockedSignals {
            signals,
            wake,
            stop,
            previous_mask,
        } = block_signals(&FORWARDED).map_err(failed)?;
        let target = Arc::new(Mutex::new(Target::default()));
        let thread = {
            let (target, client) = (Arc::clone(&target), client.clone());
            std::thread::spawn(move || forward(&signals, &wake, &target, &client))
        };
        Ok(Forwarder {
            target,
            client,
            stop,
            thread: Some(thread),
            previous_mask,
        })
    }

    /// The container is known: signals go to it from now on, and those that came
    /// before go now.
    fn started(&self, container: String) {
        let pending = match self.target.lock() {
            Ok(mut target) => {
                target.container = Some(container.clone());
                std::mem::take(&mut target.pending)
            }
            Err(_) => return,
        };
        for signal in pending {
            kill(&self.client, &container, signal);
        }
    }
}

impl Drop for Forwarder {
    fn drop(&mut self) {
        let _ = unistd::write(&self.stop, b"x");
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        let _ = self.previous_mask.thread_set_mask();
    }
}

/// The forwarding thread: until `wake` is readable, each signal read from `signals`
/// goes to the container (or waits for it).
fn forward(signals: &SignalFd, wake: &OwnedFd, target: &Mutex<Target>, client: &Client) {
    // A window size change is for the terminal relay's signalfd, not for this thread
    // (where its default action would drop it).
    let mut winch = SigSet::empty();
    winch.add(Signal::SIGWINCH);
    let _ = winch.thread_block();
    loop {
        let mut fds = [
            PollFd::new(signals.as_fd(), PollFlags::POLLIN),
            PollFd::new(wake.as_fd(), PollFlags::POLLIN),
        ];
        match poll(&mut fds, PollTimeout::NONE) {
            Ok(_) | Err(Errno::EINTR) => {}
            Err(_) => return,
        }
        if ready(&fds, 1) {
            return;
        }
        while let Ok(Some(info)) = signals.read_signal() {
            let Ok(signal) = Signal::try_from(info.ssi_signo as i32) else {
                continue;
            };
            let container = match target.lock() {
                Ok(mut target) => match &target.container {
                    Some(container) => container.clone(),
                    None => {
                        target.pending.push(signal);
                        continue;
                    }
                },
                Err(_) => return,
            };
            kill(client, &container, signal);
        }
    }
}

/// Whether poll reported anything for `fds[index]`.
fn ready(fds: &[PollFd], index: usize) -> bool {
    fds.get(index)
        .and_then(PollFd::revents)
        .is_some_and(|events| !events.is_empty())
}

/// Sends `signal` to `container` on a connection of its own; a failure is a warning.
fn kill(client: &Client, container: &str, signal: Signal) {
    let request = Request::Kill {
        container: container.to_string(),
        signal: signal as i32,
    };
    if let Err(err) = client
        .call(&request, &[])
        .and_then(|call| call.finish(|_, _| {}))
    {
        eprintln!("rcompose: warning: cannot pass {signal} on to {container}: {err}");
    }
}

nix::ioctl_read_bad!(get_window_size, nix::libc::TIOCGWINSZ, nix::libc::winsize);
nix::ioctl_write_ptr_bad!(set_window_size, nix::libc::TIOCSWINSZ, nix::libc::winsize);

/// Copies the window size of the terminal `from` to the terminal `to`.
fn copy_window_size(from: BorrowedFd<'_>, to: BorrowedFd<'_>) -> nix::Result<()> {
    let mut size = nix::libc::winsize {
        ws_row: 0,
        ws_col: 0,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: both descriptors are open for the duration of the calls, and `size` is a
    // valid winsize the kernel reads or writes.
    unsafe {
        get_window_size(from.as_raw_fd(), &mut size)?;
        set_window_size(to.as_raw_fd(), &size)?;
    }
    Ok(())
}

/// Our terminal relayed to the container's: ours in raw mode, a thread copying both
/// ways and the window size. Dropping it stops the relay and restores our terminal.
struct Terminal {
    /// Our terminal's settings before raw mode, when we changed them.
    saved: Option<Termios>,
    /// Written to stop the relay.
    stop: Option<OwnedFd>,
    thread: Option<JoinHandle<io::Result<()>>>,
    previous_mask: SigSet,
}

impl Terminal {
    fn start(master: OwnedFd, stdin_open: bool) -> Result<Terminal, CliError> {
        let failed = |source| CliError::Attach {
            what: "relay the container's terminal",
            source,
        };
        // Best effort: the container starts with our size, or its terminal's default.
        let _ = copy_window_size(io::stdout().as_fd(), master.as_fd());
        let mut winch = SigSet::empty();
        winch.add(Signal::SIGWINCH);
        let previous_mask = winch
            .thread_swap_mask(SigmaskHow::SIG_BLOCK)
            .map_err(failed)?;
        // From here on, dropping `terminal` undoes what was done.
        let mut terminal = Terminal {
            saved: None,
            stop: None,
            thread: None,
            previous_mask,
        };
        let resized = SignalFd::with_flags(&winch, SfdFlags::SFD_CLOEXEC | SfdFlags::SFD_NONBLOCK)
            .map_err(failed)?;
        let (wake, stop) = unistd::pipe().map_err(failed)?;
        terminal.stop = Some(stop);
        if stdin_open {
            let stdin = io::stdin();
            let saved = termios::tcgetattr(stdin.as_fd()).map_err(failed)?;
            let mut raw = saved.clone();
            termios::cfmakeraw(&mut raw);
            termios::tcsetattr(stdin.as_fd(), SetArg::TCSANOW, &raw).map_err(failed)?;
            terminal.saved = Some(saved);
        }
        terminal.thread = Some(std::thread::spawn(move || {
            relay(&master, stdin_open, &wake, &resized)
        }));
        Ok(terminal)
    }

    /// Stops the relay once what the container wrote has been copied, restores our
    /// terminal; returns the relay's error, if any.
    fn finish(mut self) -> io::Result<()> {
        self.shutdown()
    }

    fn shutdown(&mut self) -> io::Result<()> {
        let mut result = Ok(());
        if let Some(thread) = self.thread.take() {
            if let Some(stop) = &self.stop {
                let _ = unistd::write(stop, b"x");
            }
            result = thread
                .join()
                .unwrap_or_else(|_| Err(io::Error::other("the relay thread panicked")));
        }
        if let Some(saved) = self.saved.take() {
            let _ = termios::tcsetattr(io::stdin().as_fd(), SetArg::TCSADRAIN, &saved);
        }
        let _ = self.previous_mask.thread_set_mask();
        result
    }
}

impl Drop for Terminal {
    fn drop(&mut self) {
        let _ = self.shutdown();
    }
}

/// How long the relay keeps copying the container's output once asked to stop, after
/// the last byte.
const DRAIN_QUIET: Duration = Duration::from_millis(200);

/// The relay thread: container output to our stdout, our stdin to the container (while
/// `stdin_open` and until its end), window size changes; until `wake` is readable,
/// then until the output is drained.
fn relay(master: &OwnedFd, stdin_open: bool, wake: &OwnedFd, resized: &SignalFd) -> io::Result<()> {
    let (stdin, stdout) = (io::stdin(), io::stdout());
    let mut stdin_open = stdin_open;
    let mut buffer = vec![0u8; 32 * 1024];
    loop {
        let mut fds = vec![
            PollFd::new(master.as_fd(), PollFlags::POLLIN),
            PollFd::new(wake.as_fd(), PollFlags::POLLIN),
            PollFd::new(resized.as_fd(), PollFlags::POLLIN),
        ];
        if stdin_open {
            fds.push(PollFd::new(stdin.as_fd(), PollFlags::POLLIN));
        }
        match poll(&mut fds, PollTimeout::NONE) {
            Ok(_) | Err(Errno::EINTR) => {}
            Err(errno) => return Err(errno.into()),
        }
        if ready(&fds, 0) && !copy_once(master.as_fd(), stdout.as_fd(), &mut buffer)? {
            return Ok(());
        }
        if ready(&fds, 1) {
            return drain(master.as_fd(), stdout.as_fd(), &mut buffer);
        }
        if ready(&fds, 2) {
            while let Ok(Some(_)) = resized.read_signal() {}
            let _ = copy_window_size(stdout.as_fd(), master.as_fd());
        }
        if stdin_open && ready(&fds, 3) {
            stdin_open = copy_once(stdin.as_fd(), master.as_fd(), &mut buffer)?;
        }
    }
}

/// Copies what `from` has to `to`; false at its end (a terminal's master reads EIO
/// once no process holds its other side).
fn copy_once(from: BorrowedFd<'_>, to: BorrowedFd<'_>, buffer: &mut [u8]) -> io::Result<bool> {
    match unistd::read(from, buffer) {
        Ok(0) | Err(Errno::EIO) => Ok(false),
        Ok(n) => {
            write_all(to, buffer.get(..n).unwrap_or_default())?;
            Ok(true)
        }
        Err(Errno::EINTR | Errno::EAGAIN) => Ok(true),
        Err(errno) => Err(errno.into()),
    }
}

/// Copies the container's remaining output until its end or [`DRAIN_QUIET`] without
/// any.
fn drain(master: BorrowedFd<'_>, stdout: BorrowedFd<'_>, buffer: &mut [u8]) -> io::Result<()> {
    let quiet = PollTimeout::try_from(DRAIN_QUIET).unwrap_or(PollTimeout::ZERO);
    loop {
        let mut fds = [PollFd::new(master, PollFlags::POLLIN)];
        match poll(&mut fds, quiet) {
            Ok(0) => return Ok(()),
            Ok(_) | Err(Errno::EINTR) => {}
            Err(errno) => return Err(errno.into()),
        }
        if ready(&fds, 0) && !copy_once(master, stdout, buffer)? {
            return Ok(());
        }
    }
}

/// Writes all of `bytes`, waiting when `to` is non-blocking and full.
fn write_all(to: BorrowedFd<'_>, mut bytes: &[u8]) -> io::Result<()> {
    while !bytes.is_empty() {
        match unistd::write(to, bytes) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => bytes = bytes.get(n..).unwrap_or_default(),
            Err(Errno::EINTR) => {}
            Err(Errno::EAGAIN) => {
                let mut fds = [PollFd::new(to, PollFlags::POLLOUT)];
                match poll(&mut fds, PollTimeout::NONE) {
                    Ok(_) | Err(Errno::EINTR) => {}
                    Err(errno) => return Err(errno.into()),
                }
            }
            Err(errno) => return Err(errno.into()),
        }
    }
    Ok(())
}
