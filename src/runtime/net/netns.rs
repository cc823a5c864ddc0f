//! Network namespaces bound on files, so that they outlive any process: made before
//! the container starts, joined by its PID 1, removed with the container.
//!
//! Switching a thread's network namespace is only ever done in a dedicated,
//! short-lived thread: never on a thread that other code shares (a tokio worker).

use super::NetError;
use crate::runtime::sys;
use nix::errno::Errno;
use nix::mount::{mount, umount2, MntFlags, MsFlags};
use nix::sched::{setns, unshare, CloneFlags};
use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::thread;

/// The calling thread's own network namespace (Linux 3.17 and later).
const THREAD_NETNS: &str = "/proc/thread-self/ns/net";

/// Makes a fresh network namespace, with `lo` up, bound on `path` (a new file: an
/// existing one is an error). Its parent directory must exist.
pub fn create(path: &Path) -> Result<(), NetError> {
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o444)
        .open(path)
        .map_err(|source| NetError::NetnsFile {
            path: path.to_path_buf(),
            source,
        })?;
    let target = path.to_path_buf();
    let result = run_in_thread(path, move || {
        unshare(CloneFlags::CLONE_NEWNET).map_err(|source| NetError::NewNetns {
            path: target.clone(),
            source,
        })?;
        sys::loopback_up().map_err(|source| NetError::Loopback {
            path: target.clone(),
            source,
        })?;
        mount(
            Some(THREAD_NETNS),
            &target,
            None::<&str>,
            MsFlags::MS_BIND,
            None::<&str>,
        )
        .map_err(|source| NetError::BindNetns {
            path: target.clone(),
            source,
        })
    })
    .and_then(|made| made);
    if result.is_err() {
        // Nothing is mounted on it: the file alone is left.
        let _ = fs::remove_file(path);
    }
    result
}

/// Unmounts the network namespace file `path` and deletes it; the kernel destroys the
/// namespace (and the veths in it) once no process is left in it. A missing file, or
/// one with nothing mounted on it, is fine.
pub fn remove(path: &Path) -> Result<(), NetError> {
    match umount2(path, MntFlags::MNT_DETACH) {
        // EINVAL: not a mount point; ENOENT: no such file.
        Ok(()) | Err(Errno::EINVAL) | Err(Errno::ENOENT) => {}
        Err(source) => {
            return Err(NetError::UnmountNetns {
                path: path.to_path_buf(),
                source,
            })
        }
    }
    match fs::remove_file(path) {
        Err(err) if err.kind() != io::ErrorKind::NotFound => Err(NetError::RemoveNetnsFile {
            path: path.to_path_buf(),
            source: err,
        }),
        _ => Ok(()),
    }
}

/// Opens the network namespace file `path` (to enter it, or to create a link in it).
pub(crate) fn open(path: &Path) -> Result<File, NetError> {
    File::open(path).map_err(|source| NetError::OpenNetns {
        path: path.to_path_buf(),
        source,
    })
}

/// Runs `work` in a new thread that first enters the network namespace `netns` (the
/// file `path`), and awaits its result without blocking the caller's thread; the
/// thread ends with `work`.
pub(crate) async fn run_in<T: Send + 'static>(
    netns: File,
    path: &Path,
    work: impl FnOnce() -> Result<T, NetError> + Send + 'static,
) -> Result<T, NetError> {
    let target = path.to_path_buf();
    let (sender, receiver) = tokio::sync::oneshot::channel();
    thread::Builder::new()
        .name("rcompose-netns".to_string())
        .spawn(move || {
            let result = setns(&netns, CloneFlags::CLONE_NEWNET)
                .map_err(|source| NetError::EnterNetns {
                    path: target,
                    source,
                })
                .and_then(|()| work());
            // The caller may have gone (its future dropped): nobody needs the result.
            let _ = sender.send(result);
        })
        .map_err(NetError::Thread)?;
    receiver.await.map_err(|_| NetError::ThreadLost {
        path: path.to_path_buf(),
    })?
}

/// Runs `work` in a new thread and waits for it.
fn run_in_thread<T: Send + 'static>(
    path: &Path,
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, NetError> {
    thread::Builder::new()
        .name("rcompose-netns".to_string())
        .spawn(work)
        .map_err(NetError::Thread)?
        .join()
        .map_err(|_| NetError::ThreadLost {
            path: path.to_path_buf(),
        })
}
