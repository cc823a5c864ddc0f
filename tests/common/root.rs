//! The verbs as a user runs them: the real binary with `--root <temp dir>` (it starts
//! its own engine there), a busybox image imported from a tarball, compose files in the
//! test's directory. [`TestRoot::finish`] stops the engine and checks that nothing of
//! the test is left (no process, mount or cgroup); dropping a [`TestRoot`] cleans up
//! also when the test failed.

use super::Fixture;
use rcompose::engine::Layout;
use rcompose::runtime::cgroup::Hierarchy;
use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

pub const EXE: &str = env!("CARGO_BIN_EXE_rcompose");

/// A test's directory with the engine's root in `root/`, for one compose project.
/// Dropping it stops the engine, kills what is left of it and unmounts what is still
/// mounted (also when the test failed); [`TestRoot::finish`] checks that nothing was
/// left.
pub struct TestRoot {
    pub dir: tempfile::TempDir,
    pub layout: Layout,
    project: String,
}

impl TestRoot {
    /// A new root for the compose project `project` (its `name:`).
    pub fn new(project: &str) -> TestRoot {
        let dir = tempfile::Builder::new()
            .prefix(&format!("rcompose-{project}-"))
            .tempdir()
            .unwrap();
        let layout = Layout::new(Some(dir.path().join("root")));
        TestRoot {
            dir,
            layout,
            project: project.to_string(),
        }
    }

    pub fn path(&self, sub: &str) -> PathBuf {
        self.dir.path().join(sub)
    }

    /// `rcompose --root <root> ARGS` in the test's directory, with none of the
    /// variables that would change what it does. The engine it starts inherits the
    /// working directory, so that every process of the test can be found.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(EXE);
        command
            .current_dir(self.dir.path())
            .arg("--root")
            .arg(self.layout.root())
            .args(args);
        for variable in [
            "RCOMPOSE_ROOT",
            "COMPOSE_FILE",
            "COMPOSE_PROJECT_NAME",
            "COMPOSE_PROFILES",
        ] {
            command.env_remove(variable);
        }
        command
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.command(args).stdin(Stdio::null()).output().unwrap()
    }

    /// Runs and asserts success; what it printed.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{args:?}\nstdout: {}\nstderr: {}\nengine log: {}",
            text(&out.stdout),
            text(&out.stderr),
            self.engine_log()
        );
        text(&out.stdout)
    }

    pub fn engine_log(&self) -> String {
        fs::read_to_string(self.layout.engine_log()).unwrap_or_default()
    }

    /// `image import busybox.tar ARGS` of the busybox root filesystem with `files`
    /// (relative path, content) added; the image's ID.
    pub fn import(&self, files: &[(&str, &str)], args: &[&str]) -> String {
        let tarball = self.path("busybox.tar");
        busybox_tarball(&tarball, files);
        let mut all = vec!["image", "import", "busybox.tar"];
        all.extend_from_slice(args);
        let id = self.ok(&all);
        id.strip_suffix('\n').unwrap().to_string()
    }

    /// `compose.yaml` of the project: `name: <project>` then `text`.
    pub fn compose(&self, text: &str) {
        let yaml = format!("name: {}\n{text}", self.project);
        fs::write(self.path("compose.yaml"), yaml).unwrap();
    }

    /// The IDs of the containers the engine has on disk.
    pub fn container_dirs(&self) -> Vec<String> {
        fs::read_dir(self.layout.root().join("containers"))
            .into_iter()
            .flatten()
            .flatten()
            .map(|entry| entry.file_name().to_string_lossy().into_owned())
            .collect()
    }

    /// Waits until no container is left (the engine removes `--rm` ones at their end).
    pub fn wait_no_containers(&self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while !self.container_dirs().is_empty() {
            assert!(Instant::now() < deadline, "{:?}", self.container_dirs());
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Stops the engine with `engine stop`, then checks that nothing of the test is
    /// left: no process started from its directory, no mount under it, no cgroup.
    pub fn finish(self) {
        let out = self.run(&["engine", "stop"]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        assert_eq!(text(&out.stderr), "");
        assert!(!self.layout.socket().exists(), "the socket is left behind");
        assert_eq!(processes_in(self.dir.path()), Vec::<i32>::new());
        assert_eq!(mounts_under(self.dir.path()), Vec::<String>::new());
        if let Ok(hierarchy) = Hierarchy::detect() {
            let parent = self.layout.cgroup_parent();
            assert!(!hierarchy.open(&parent).exists(), "cgroup {parent} is left");
        }
    }
}

impl Drop for TestRoot {
    fn drop(&mut self) {
        let _ = self.run(&["engine", "stop"]);
        for pid in processes_in(self.dir.path()) {
            let pid = nix::unistd::Pid::from_raw(pid);
            let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL);
        }
        if let Ok(hierarchy) = Hierarchy::detect() {
            let parent = self.layout.cgroup_parent();
            for id in self.container_dirs() {
                let _ = hierarchy.open(&format!("{parent}/{id}")).remove();
            }
            let _ = hierarchy.open(&parent).remove();
        }
        for point in mounts_under(self.dir.path()).iter().rev() {
            let _ = Command::new("umount").arg("-l").arg(point).status();
        }
    }
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The PIDs of the processes whose working directory is `dir` or under it: the engine
/// and the container helpers it started (the containers themselves are in cgroups).
pub fn processes_in(dir: &Path) -> Vec<i32> {
    let ours = std::process::id() as i32;
    let mut pids: Vec<i32> = fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|entry| entry.file_name().to_str()?.parse().ok())
        .filter(|&pid| pid != ours)
        .filter(|pid| {
            fs::read_link(format!("/proc/{pid}/cwd")).is_ok_and(|cwd| cwd.starts_with(dir))
        })
        .collect();
    pids.sort();
    pids
}

pub fn mounts_under(dir: &Path) -> Vec<String> {
    let dir = dir.to_string_lossy().into_owned();
    fs::read_to_string("/proc/self/mountinfo")
        .unwrap()
        .lines()
        .filter_map(|line| line.split(' ').nth(4))
        .filter(|point| point.starts_with(&dir))
        .map(str::to_string)
        .collect()
}

/// A tarball of the busybox root filesystem of the runtime tests with `files`
/// (relative path, content) added, their directories made as needed.
pub fn busybox_tarball(path: &Path, files: &[(&str, &str)]) {
    let fixture = Fixture::new();
    let base = fixture.path("base");
    for (name, content) in files {
        let file = base.join(name);
        fs::create_dir_all(file.parent().unwrap()).unwrap();
        fs::write(file, content).unwrap();
    }
    let mut builder = tar::Builder::new(File::create(path).unwrap());
    builder.follow_symlinks(false);
    builder.append_dir_all(".", &base).unwrap();
    builder.finish().unwrap();
}
