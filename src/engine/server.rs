//! The engine process (`rcompose engine`): one per root. It holds the root's lock,
//! listens on the socket, serves one request per connection in its own task, and owns
//! every container it starts (or adopts at start: see `containers.rs`).
//!
//! Blocking work (image imports, container starts, waits for exits) runs on tokio's
//! blocking pool, never on the tasks that serve connections.

use super::containers::{self, Containers};
use super::health::Healths;
use super::layout::Layout;
use super::networks::{self, Networks};
use super::ports::{Ports, PortsError};
use super::protocol::{Event, Failure, Reply, Request, PROTOCOL_VERSION};
use super::state::{State, StateError};
use super::volumes::Volumes;
use super::wire::{self, Receiver};
use super::{images, logs, project};
use crate::image::{ImageError, ImageStore};
use crate::runtime::cgroup::Hierarchy;
use crate::runtime::Runtime;
use std::fs::{self, File, OpenOptions, TryLockError};
use std::io::{self, Read, Seek, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use tokio::io::Interest;
use tokio::net::{UnixListener, UnixStream};
use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::Notify;

/// Why the engine could not start, or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The run directory could not be made (or made private).
    #[error("cannot create the engine's run directory {}: {source}", path.display())]
    RunDir { path: PathBuf, source: io::Error },
    /// The lock file could not be opened, locked or written.
    #[error("cannot lock {}: {source}", path.display())]
    Lock { path: PathBuf, source: io::Error },
    /// Another engine holds the lock.
    #[error(
        "an engine already runs for {} (pid {}): stop it with `rcompose engine stop`, or talk \
         to it",
        root.display(),
        pid.map_or_else(|| "unknown".to_string(), |pid| pid.to_string())
    )]
    AlreadyRunning { root: PathBuf, pid: Option<u32> },
    /// The socket could not be bound.
    #[error("cannot listen on {}: {source}", path.display())]
    Socket { path: PathBuf, source: io::Error },
    /// The kernel refused to make the engine a subreaper.
    #[error("cannot make the engine the subreaper of its containers: {0}")]
    Subreaper(nix::errno::Errno),
    /// tokio's runtime or its signal handlers could not be set up.
    #[error("cannot start the engine's event loop: {0}")]
    EventLoop(io::Error),
    /// Netlink could not be opened.
    #[error("cannot open netlink: {0}")]
    Network(#[source] crate::runtime::net::NetError),
    /// The state database could not be opened.
    #[error(transparent)]
    State(#[from] StateError),
    /// The image store could not be opened.
    #[error("cannot open the image store under {}: {source}", root.display())]
    Images {
        root: PathBuf,
        source: Box<ImageError>,
    },
}

/// Runs the engine of `layout` until it is asked to stop (a `Shutdown` request,
/// SIGTERM or SIGINT). Containers keep running after it stops; the next engine adopts
/// them.
pub fn run_engine(layout: Layout) -> Result<(), EngineError> {
    let lock = EngineLock::acquire(&layout)?;
    nix::sys::prctl::set_child_subreaper(true).map_err(EngineError::Subreaper)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(EngineError::EventLoop)?;
    let served = runtime.block_on(serve(layout));
    // Tasks still waiting for containers end with the process; the containers don't.
    runtime.shutdown_background();
    drop(lock);
    served
}

/// The exclusive lock (`flock`) on the layout's lock file, which also holds the
/// engine's PID; released when the file is closed (the engine's end, whatever it is).
#[derive(Debug)]
struct EngineLock {
    _file: File,
}

impl EngineLock {
    fn acquire(layout: &Layout) -> Result<EngineLock, EngineError> {
        let run = layout.run();
        let run_dir = |source| EngineError::RunDir {
            path: run.to_path_buf(),
            source,
        };
        fs::create_dir_all(run).map_err(run_dir)?;
        fs::set_permissions(run, fs::Permissions::from_mode(0o700)).map_err(run_dir)?;
        let path = layout.lock_file();
        let lock_error = |source| EngineError::Lock {
            path: path.clone(),
            source,
        };
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(lock_error)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let mut text = String::new();
                let pid = file
                    .read_to_string(&mut text)
                    .ok()
                    .and_then(|_| text.trim().parse().ok());
                return Err(EngineError::AlreadyRunning {
                    root: layout.root().to_path_buf(),
                    pid,
                });
            }
            Err(TryLockError::Error(err)) => return Err(lock_error(err)),
        }
        file.set_len(0)
            .and_then(|()| file.rewind())
            .and_then(|()| writeln!(file, "{}", std::process::id()))
            .map_err(lock_error)?;
        Ok(EngineLock { _file: file })
    }
}

/// What every request handler shares.
pub(crate) struct Engine {
    pub(crate) layout: Layout,
    pub(crate) state: State,
    pub(crate) images: RwLock<ImageStore>,
    pub(crate) volumes: Volumes,
    pub(crate) hierarchy: Option<Hierarchy>,
    pub(crate) runtime: Runtime,
    pub(crate) containers: Containers,
    pub(crate) networks: Networks,
    pub(crate) ports: Ports,
    pub(crate) healths: Healths,
    shutdown: Notify,
}

async fn serve(layout: Layout) -> Result<(), EngineError> {
    let mut terminate = signal(SignalKind::terminate()).map_err(EngineError::EventLoop)?;
    let mut interrupt = signal(SignalKind::interrupt()).map_err(EngineError::EventLoop)?;
    let engine = Arc::new(open(layout)?);
    let socket = engine.layout.socket();
    // Only the engine that holds the lock gets here: a socket left behind is stale.
    match fs::remove_file(&socket) {
        Err(err) if err.kind() != io::ErrorKind::NotFound => {
            return Err(EngineError::Socket {
                path: socket,
                source: err,
            })
        }
        _ => {}
    }
    let listener = UnixListener::bind(&socket).map_err(|source| EngineError::Socket {
        path: socket.clone(),
        source,
    })?;
    networks::restore(&engine).await;
    containers::adopt(&engine).await;
    eprintln!(
        "rcompose engine {} (pid {}) serves {} on {}",
        env!("CARGO_PKG_VERSION"),
        std::process::id(),
        engine.layout.root().display(),
        socket.display()
    );
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    tokio::spawn(serve_connection(engine.clone(), stream));
                }
                Err(err) => {
                    // Out of descriptors, most likely: let some connections finish.
                    eprintln!("rcompose engine: accepting a connection failed: {err}");
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                }
            },
            _ = engine.shutdown.notified() => break,
            _ = terminate.recv() => break,
            _ = interrupt.recv() => break,
        }
    }
    drop(listener);
    // Removed while the lock is still held, so no newer engine's socket goes with it.
    let _ = fs::remove_file(&socket);
    eprintln!("rcompose engine (pid {}) stopped", std::process::id());
    Ok(())
}

fn open(layout: Layout) -> Result<Engine, EngineError> {
    let state = State::open(&layout.state_db())?;
    let images = ImageStore::open(layout.root()).map_err(|source| EngineError::Images {
        root: layout.root().to_path_buf(),
        source: Box::new(source),
    })?;
    let hierarchy = match Hierarchy::detect() {
        Ok(hierarchy) => Some(hierarchy),
        Err(err) => {
            eprintln!(
                "rcompose engine: no cgroups ({err}); containers run without resource limits"
            );
            None
        }
    };
    let runtime = match std::env::current_exe() {
        Ok(exe) => Runtime::with_helper(exe),
        Err(_) => Runtime::new(),
    };
    Ok(Engine {
        volumes: Volumes::new(layout.volumes()),
        layout,
        state,
        images: RwLock::new(images),
        hierarchy,
        runtime,
        containers: Containers::default(),
        networks: Networks::new().map_err(EngineError::Network)?,
        ports: Ports::default(),
        healths: Healths::default(),
        shutdown: Notify::new(),
    })
}

async fn serve_connection(engine: Arc<Engine>, stream: UnixStream) {
    let mut conn = Conn::new(stream);
    let mut shutdown = false;
    let outcome = match conn.recv().await {
        Ok(Some((request, fds))) => {
            shutdown = request == Request::Shutdown;
            handle(&engine, request, fds, &conn)
                .await
                .map_err(|err| err.failure())
        }
        Ok(None) => return,
        Err(err) => Err(Failure {
            message: format!(
                "the engine cannot read the request: {err} (are the rcompose command and \
                 the engine the same version? `rcompose engine stop` stops the engine)"
            ),
            exit_code: 125,
        }),
    };
    let last = match outcome {
        Ok(reply) => Event::Done(reply),
        Err(failure) => Event::Failed(failure),
    };
    // The caller may be gone; nothing is left to tell it.
    let _ = conn.send(&last).await;
    if shutdown {
        // Answered first; the accept loop then stops.
        engine.shutdown.notify_one();
    }
}

async fn handle(
    engine: &Arc<Engine>,
    request: Request,
    fds: Vec<OwnedFd>,
    conn: &Conn,
) -> Result<Reply, RequestError> {
    match request {
        Request::Ping => Ok(Reply::Pong {
            protocol: PROTOCOL_VERSION,
            version: env!("CARGO_PKG_VERSION").to_string(),
            pid: std::process::id(),
        }),
        Request::Shutdown => Ok(Reply::Ok),
        Request::ImageImport { name, changes } => {
            images::import(engine, &name, &changes, fds).await
        }
        Request::ImageLoad => images::load(engine, fds).await,
        Request::ImageList => images::list(engine).await,
        Request::ImageInspect { names } => images::inspect(engine, names).await,
        Request::ImageRemove { names, force } => images::remove(engine, names, force).await,
        Request::ImagePrune { all } => images::prune(engine, all).await,
        Request::Run(run) => containers::run(engine, *run, fds, conn).await,
        Request::Exec(exec) => containers::exec(engine, *exec, fds, conn).await,
        Request::Kill { container, signal } => containers::kill(engine, &container, signal).await,
        Request::Stop { container, timeout } => containers::stop(engine, &container, timeout).await,
        Request::Remove { container, force } => containers::remove(engine, &container, force).await,
        Request::List { project, all } => containers::list(engine, project.as_deref(), all),
        Request::Logs {
            container,
            follow,
            tail,
        } => logs::logs(engine, &container, follow, tail, conn).await,
        Request::VolumeList { project } => containers::volume_list(engine, project.as_deref()),
        Request::VolumeInspect { names } => containers::volume_inspect(engine, &names),
        // Docker has no use for force here: a volume in use is never removed.
        Request::VolumeRemove { names, force: _ } => {
            containers::volume_remove(engine, &names).await
        }
        Request::VolumePrune { project } => {
            containers::volume_prune(engine, project.as_deref()).await
        }
        Request::Up(up) => project::up(engine, *up, conn).await,
        Request::Down(down) => project::down(engine, *down, conn).await,
        Request::Lifecycle(request) => project::lifecycle(engine, *request, conn).await,
        Request::Projects { all } => project::projects(engine, all),
    }
}

/// The engine's side of one connection: the request comes in, events go out.
pub(crate) struct Conn {
    stream: UnixStream,
    receiver: Receiver,
}

impl Conn {
    fn new(stream: UnixStream) -> Conn {
        Conn {
            stream,
            receiver: Receiver::new(),
        }
    }

    /// The request and its descriptors; `None` when the caller closed without one.
    async fn recv(&mut self) -> io::Result<Option<(Request, Vec<OwnedFd>)>> {
        loop {
            if let Some(message) = self.receiver.next_message()? {
                return Ok(Some(message));
            }
            if self.receiver.eof() {
                return Ok(None);
            }
            self.stream.readable().await?;
            let (stream, receiver) = (&self.stream, &mut self.receiver);
            match stream.try_io(Interest::READABLE, || receiver.feed(stream.as_fd())) {
                Ok(_) => {}
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => {}
                Err(err) => return Err(err),
            }
        }
    }

    /// Sends one event.
    pub(crate) async fn send(&self, event: &Event) -> io::Result<()> {
        self.send_with(event, None).await
    }

    /// Sends one event with a descriptor.
    pub(crate) async fn send_with(
        &self,
        event: &Event,
        fd: Option<BorrowedFd<'_>>,
    ) -> io::Result<()> {
        let line = wire::encode(event, usize::from(fd.is_some()))?;
        let mut fds: Vec<_> = fd.iter().map(|fd| fd.as_raw_fd()).collect();
        let mut sent = 0;
        while sent < line.len() {
            self.stream.writable().await?;
            let chunk = &line[sent..];
            match self.stream.try_io(Interest::WRITABLE, || {
                wire::send_chunk(self.stream.as_fd(), chunk, &fds)
            }) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => {
                    sent += n;
                    // The descriptors went with the first bytes.
                    fds.clear();
                }
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => {}
                Err(err) => return Err(err),
            }
        }
        Ok(())
    }

    /// Resolves once the caller has closed its side of the connection (whatever it
    /// sends after its request is ignored).
    pub(crate) async fn closed(&self) {
        let mut scratch = [0u8; 512];
        loop {
            if self.stream.readable().await.is_err() {
                return;
            }
            match self.stream.try_read(&mut scratch) {
                Ok(0) => return,
                Ok(_) => {}
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => {}
                Err(_) => return,
            }
        }
    }
}

/// Runs `work` on the blocking pool.
pub(crate) async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, RequestError> + Send + 'static,
) -> Result<T, RequestError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|err| RequestError::Task(err.to_string()))?
}

/// Why a request failed. Each says what, why and what to do; [`RequestError::failure`]
/// makes the message the caller shows.
#[derive(Debug, thiserror::Error)]
pub(crate) enum RequestError {
    #[error(transparent)]
    Image(#[from] ImageError),
    #[error("no such image: {name} (`rcompose image ls` lists the images)")]
    NoSuchImage { name: String },
    #[error("the image ID prefix {prefix} matches {count} images: give more of the ID")]
    AmbiguousImage { prefix: String, count: usize },
    #[error(
        "image {id} has no name and is used by a container: remove the container first, or \
         force the removal"
    )]
    DanglingImageInUse { id: crate::image::ImageId },
    #[error(
        "the request carries no descriptor for the {what} (is the rcompose command the same \
         version as the engine?)"
    )]
    MissingDescriptor { what: &'static str },
    #[error(transparent)]
    State(#[from] StateError),
    #[error(transparent)]
    Volume(#[from] super::volumes::VolumeError),
    #[error(transparent)]
    Container(#[from] containers::ContainerError),
    #[error(transparent)]
    Network(Box<networks::NetworkError>),
    #[error(transparent)]
    Project(#[from] project::ProjectError),
    #[error(transparent)]
    Ports(Box<PortsError>),
    #[error("an engine task failed: {0}")]
    Task(String),
}

impl From<PortsError> for RequestError {
    fn from(err: PortsError) -> RequestError {
        RequestError::Ports(Box::new(err))
    }
}

impl From<networks::NetworkError> for RequestError {
    fn from(err: networks::NetworkError) -> RequestError {
        RequestError::Network(Box::new(err))
    }
}

impl RequestError {
    /// The failure the caller is sent: the message and the exit code (Docker's 126/127
    /// for a program that can't run, 125 for everything the engine refuses or fails).
    pub(crate) fn failure(&self) -> Failure {
        let exit_code = match self {
            RequestError::Container(err) => err.exit_code(),
            _ => 125,
        };
        Failure {
            message: error_chain(self),
            exit_code,
        }
    }
}

/// An error and its causes, `: `-separated (a cause already in the message is not
/// repeated).
pub(crate) fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut cause = err.source();
    while let Some(err) = cause {
        let more = err.to_string();
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        cause = err.source();
    }
    text
}
