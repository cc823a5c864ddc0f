//! Where the engine keeps things: the root (images, layers, volumes, containers, the
//! state database) and the run directory (the socket, the pid file, the engine's log).

use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// The root when neither `--root` nor `RCOMPOSE_ROOT` says otherwise.
pub const DEFAULT_ROOT: &str = "/var/lib/rcompose";
/// The run directory that goes with [`DEFAULT_ROOT`].
pub const DEFAULT_RUN: &str = "/run/rcompose";

/// The paths of one engine. Two layouts with different roots share nothing (not even a
/// cgroup directory), so tests run side by side, each with its own engine.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Layout {
    root: PathBuf,
    run: PathBuf,
}

impl Layout {
    /// The default layout, or the one of `root` (its run directory is `<root>/run`).
    pub fn new(root: Option<PathBuf>) -> Layout {
        match root {
            None => Layout {
                root: PathBuf::from(DEFAULT_ROOT),
                run: PathBuf::from(DEFAULT_RUN),
            },
            Some(root) => Layout {
                run: root.join("run"),
                root,
            },
        }
    }

    /// The root: images, layers, volumes, containers, state.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The run directory: the socket, the pid file.
    pub fn run(&self) -> &Path {
        &self.run
    }

    /// The engine's unix socket.
    pub fn socket(&self) -> PathBuf {
        self.run.join("engine.sock")
    }

    /// The file the engine holds locked while it runs (it also holds its PID).
    pub fn lock_file(&self) -> PathBuf {
        self.run.join("engine.pid")
    }

    /// Where an engine started in the background writes its own messages.
    pub fn engine_log(&self) -> PathBuf {
        self.run.join("engine.log")
    }

    /// The state database.
    pub fn state_db(&self) -> PathBuf {
        self.root.join("state.redb")
    }

    /// Named volumes: `<volumes>/<name>/_data`.
    pub fn volumes(&self) -> PathBuf {
        self.root.join("volumes")
    }

    /// A container's own directory (its writable layer, log, exit status, /etc files).
    pub fn container_dir(&self, id: &str) -> PathBuf {
        self.root.join("containers").join(id)
    }

    /// The cgroup (relative to each hierarchy's root) under which this engine's
    /// containers live: `rcompose/<8 hex digits of the root's hash>`.
    pub fn cgroup_parent(&self) -> String {
        let hash = Sha256::digest(self.root.as_os_str().as_encoded_bytes());
        let hex: String = hash.iter().take(4).map(|b| format!("{b:02x}")).collect();
        format!("rcompose/{hex}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_and_moved_layouts() {
        let default = Layout::new(None);
        assert_eq!(default.socket(), Path::new("/run/rcompose/engine.sock"));
        assert_eq!(
            default.state_db(),
            Path::new("/var/lib/rcompose/state.redb")
        );
        let moved = Layout::new(Some(PathBuf::from("/tmp/x")));
        assert_eq!(moved.socket(), Path::new("/tmp/x/run/engine.sock"));
        assert_eq!(moved.volumes(), Path::new("/tmp/x/volumes"));
        assert_eq!(
            moved.container_dir("abc"),
            Path::new("/tmp/x/containers/abc")
        );
    }

    #[test]
    fn each_root_has_its_own_cgroup_parent() {
        let a = Layout::new(Some(PathBuf::from("/tmp/a"))).cgroup_parent();
        let b = Layout::new(Some(PathBuf::from("/tmp/b"))).cgroup_parent();
        assert_ne!(a, b);
        assert!(
            a.starts_with("rcompose/") && a.len() == "rcompose/".len() + 8,
            "{a}"
        );
    }
}
