//! The CLI's side of the socket: connect to the engine (starting it in the background
//! when none answers), send one request, read its events.

use super::layout::Layout;
use super::protocol::{Event, Failure, Reply, Request, PROTOCOL_VERSION};
use super::wire::{self, Receiver};
use std::fs::{self, OpenOptions};
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How long a CLI waits for an engine it started to answer.
pub const START_TIMEOUT: Duration = Duration::from_secs(10);

/// Why the CLI could not talk to the engine, or what the engine refused.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// No engine answers on the socket.
    #[error("no rcompose engine runs for {root} (socket {socket}: {source})")]
    NotRunning {
        root: PathBuf,
        socket: PathBuf,
        source: io::Error,
    },
    /// Starting one failed.
    #[error("cannot start the rcompose engine ({program}): {source}")]
    Start { program: PathBuf, source: io::Error },
    /// It was started but did not answer in time, or ended.
    #[error("the rcompose engine did not start{}; its log {log} says:\n{tail}", .exit.as_deref().unwrap_or(" in time"))]
    NotReady {
        exit: Option<String>,
        log: PathBuf,
        tail: String,
    },
    /// The connection broke.
    #[error("lost the connection to the rcompose engine: {0}")]
    Io(#[from] io::Error),
    /// The engine ended the conversation without an answer.
    #[error("the rcompose engine closed the connection without answering (see {log})")]
    NoAnswer { log: PathBuf },
    /// The engine speaks another version of the protocol.
    #[error(
        "the running rcompose engine (version {version}, pid {pid}) speaks protocol \
         {protocol}, this rcompose speaks {PROTOCOL_VERSION}: stop it with `rcompose engine stop`"
    )]
    Version {
        version: String,
        pid: u32,
        protocol: u32,
    },
    /// The request failed; the engine's message.
    #[error("{}", .0.message)]
    Failed(Failure),
}

impl ClientError {
    /// The exit code for the CLI.
    pub fn exit_code(&self) -> i32 {
        match self {
            ClientError::Failed(failure) => failure.exit_code,
            _ => 125,
        }
    }
}

/// Talks to the engine of one layout.
#[derive(Clone, Debug)]
pub struct Client {
    layout: Layout,
    program: PathBuf,
}

impl Client {
    /// A client that starts `program engine --root <root>` when no engine answers
    /// (`program` is normally our own executable).
    pub fn new(layout: Layout, program: PathBuf) -> Client {
        Client { layout, program }
    }

    /// The layout.
    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    /// Connects to a running engine, without starting one.
    pub fn connect(&self) -> Result<UnixStream, ClientError> {
        let socket = self.layout.socket();
        UnixStream::connect(&socket).map_err(|source| ClientError::NotRunning {
            root: self.layout.root().to_path_buf(),
            socket,
            source,
        })
    }

    /// Connects, starting the engine in the background when none answers, and checks
    /// that it speaks our protocol.
    pub fn connect_or_start(&self) -> Result<UnixStream, ClientError> {
        if let Ok(stream) = self.connect() {
            return Ok(stream);
        }
        self.start()?;
        let stream = self.connect()?;
        Ok(stream)
    }

    fn start(&self) -> Result<(), ClientError> {
        let start = |source| ClientError::Start {
            program: self.program.clone(),
            source,
        };
        fs::create_dir_all(self.layout.run()).map_err(start)?;
        let log_path = self.layout.engine_log();
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)
            .map_err(start)?;
        let log_start = log.metadata().map(|m| m.len()).unwrap_or(0);
        let mut command = Command::new(&self.program);
        command
            .arg("engine")
            .arg("--root")
            .arg(self.layout.root())
            .stdin(Stdio::null())
            .stdout(log.try_clone().map_err(start)?)
            .stderr(log);
        // SAFETY: setsid is async-signal-safe; the closure allocates nothing.
        unsafe {
            command.pre_exec(|| {
                nix::unistd::setsid()?;
                Ok(())
            });
        }
        let mut child = command.spawn().map_err(start)?;
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if let Ok(reply) = self.ping() {
                return check_version(reply);
            }
            // Another CLI's engine may have won the race: ours then exits, and that
            // one answers.
            let exited = child.try_wait().map_err(start)?;
            if let Some(status) = exited {
                if !status.success() {
                    if let Ok(reply) = self.ping() {
                        return check_version(reply);
                    }
                    return Err(self.not_ready(Some(format!(": it {status}")), log_start));
                }
            }
            if Instant::now() > deadline {
                return Err(self.not_ready(None, log_start));
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    fn not_ready(&self, exit: Option<String>, from: u64) -> ClientError {
        let log = self.layout.engine_log();
        let text = fs::read(&log).unwrap_or_default();
        let tail = String::from_utf8_lossy(text.get(from as usize..).unwrap_or_default())
            .trim_end()
            .to_string();
        ClientError::NotReady { exit, log, tail }
    }

    fn ping(&self) -> Result<Reply, ClientError> {
        let stream = self.connect()?;
        Call::send(stream, &Request::Ping, &[], self.layout.engine_log())?.finish(|_, _| {})
    }

    /// Sends `request` with `fds`, starting the engine if needed.
    pub fn call(&self, request: &Request, fds: &[BorrowedFd<'_>]) -> Result<Call, ClientError> {
        let stream = self.connect_or_start()?;
        Call::send(stream, request, fds, self.layout.engine_log())
    }

    /// Sends `request` to a running engine only (`engine stop`, `ls`).
    pub fn call_running(
        &self,
        request: &Request,
        fds: &[BorrowedFd<'_>],
    ) -> Result<Call, ClientError> {
        let stream = self.connect()?;
        Call::send(stream, request, fds, self.layout.engine_log())
    }
}

fn check_version(reply: Reply) -> Result<(), ClientError> {
    match reply {
        Reply::Pong {
            protocol,
            version,
            pid,
        } if protocol != PROTOCOL_VERSION => Err(ClientError::Version {
            version,
            pid,
            protocol,
        }),
        _ => Ok(()),
    }
}

/// One request in flight: its events arrive with [`Call::next_event`].
#[derive(Debug)]
pub struct Call {
    stream: UnixStream,
    receiver: Receiver,
    log: PathBuf,
}

impl Call {
    fn send(
        stream: UnixStream,
        request: &Request,
        fds: &[BorrowedFd<'_>],
        log: PathBuf,
    ) -> Result<Call, ClientError> {
        let line = wire::encode(request, fds.len())?;
        let raw: Vec<_> = fds.iter().map(|fd| fd.as_raw_fd()).collect();
        wire::send_line(stream.as_fd(), &line, &raw)?;
        Ok(Call {
            stream,
            receiver: Receiver::new(),
            log,
        })
    }

    /// The next event and the descriptors that came with it; `None` once the engine
    /// has closed the connection.
    pub fn next_event(&mut self) -> Result<Option<(Event, Vec<OwnedFd>)>, ClientError> {
        Ok(self.receiver.recv(self.stream.as_fd())?)
    }

    /// Reads events until the last, passing the others to `on_event`; returns the
    /// reply, or the engine's failure as [`ClientError::Failed`].
    pub fn finish(
        mut self,
        mut on_event: impl FnMut(Event, Vec<OwnedFd>),
    ) -> Result<Reply, ClientError> {
        loop {
            match self.next_event()? {
                Some((Event::Done(reply), _)) => return Ok(reply),
                Some((Event::Failed(failure), _)) => return Err(ClientError::Failed(failure)),
                Some((event, fds)) => on_event(event, fds),
                None => return Err(ClientError::NoAnswer { log: self.log }),
            }
        }
    }
}
