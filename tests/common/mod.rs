//! Shared by the root integration tests: a busybox root filesystem made from Debian's
//! `busybox-static`, a container fixture that cleans up after itself, `require_root!`,
//! and [`root`]: a root of the real binary's own, for end-to-end tests of the verbs.
#![allow(dead_code)] // each test binary uses a different part of it

pub mod root;

use rcompose::runtime::{
    ContainerSpec, ExitStatus, Rootfs, Runtime, RuntimeError, StdioSource, StdioSpec,
};
use std::fs::{self, File};
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::Command;

pub const BUSYBOX: &str = "/bin/busybox";

/// Returns from the test, with a message, unless we are root.
#[macro_export]
macro_rules! require_root {
    () => {
        if !nix::unistd::geteuid().is_root() {
            eprintln!("skipped: containers need root (CI runs as root)");
            return;
        }
    };
}

pub fn runtime() -> Runtime {
    Runtime::with_helper(env!("CARGO_BIN_EXE_rcompose"))
}

/// A test's directory: a busybox image layer (`base`), an empty top layer (`top`), the
/// container's `upper`/`work`/`merged`, and `out/` for its output. Dropping it unmounts
/// whatever is still mounted under it (nothing should be) and removes it, also when the
/// test failed.
pub struct Fixture {
    dir: tempfile::TempDir,
}

/// What a container printed and how it ended.
pub struct Ran {
    pub result: Result<ExitStatus, RuntimeError>,
    pub stdout: String,
    pub stderr: String,
}

impl Ran {
    /// Asserts the container exited 0 and returns its output.
    pub fn ok(self) -> String {
        match self.result {
            Ok(ExitStatus::Exited(0)) => self.stdout,
            other => panic!(
                "container: {other:?}\nstdout: {}\nstderr: {}",
                self.stdout, self.stderr
            ),
        }
    }
}

impl Fixture {
    pub fn new() -> Fixture {
        assert!(
            Path::new(BUSYBOX).exists(),
            "{BUSYBOX} is missing: apt-get install -y busybox-static"
        );
        let dir = tempfile::Builder::new()
            .prefix("rcompose-runtime-")
            .tempdir()
            .unwrap();
        let fixture = Fixture { dir };
        let base = fixture.path("base");
        for sub in ["bin", "etc", "proc", "sys", "dev", "tmp"] {
            fs::create_dir_all(base.join(sub)).unwrap();
        }
        fs::copy(BUSYBOX, base.join("bin/busybox")).unwrap();
        let list = Command::new(BUSYBOX).arg("--list").output().unwrap();
        for applet in String::from_utf8(list.stdout).unwrap().lines() {
            if applet != "busybox" {
                symlink("busybox", base.join("bin").join(applet)).unwrap();
            }
        }
        fs::write(base.join("etc/motd"), "lower\n").unwrap();
        for sub in ["top", "upper", "work", "merged", "out"] {
            fs::create_dir_all(fixture.path(sub)).unwrap();
        }
        fixture
    }

    pub fn path(&self, sub: &str) -> PathBuf {
        self.dir.path().join(sub)
    }

    /// A container running `script` with `sh -c`, as root, with no network.
    pub fn spec(&self, script: &str) -> ContainerSpec {
        self.spec_argv(&["sh", "-c", script])
    }

    pub fn spec_argv(&self, argv: &[&str]) -> ContainerSpec {
        let rootfs = Rootfs::Overlay {
            lower: vec![self.path("top"), self.path("base")],
            upper: self.path("upper"),
            work: self.path("work"),
            target: self.path("merged"),
        };
        let mut spec = ContainerSpec::new(
            rootfs,
            "rc-test",
            argv.iter().map(|s| s.to_string()).collect(),
        );
        spec.env.insert("PATH".to_string(), "/bin".to_string());
        spec
    }

    /// Runs the container to its end, its output captured in files; then checks that
    /// nothing stayed mounted under the test's directory.
    pub fn run(&self, spec: ContainerSpec) -> Ran {
        let spec = spec.validate().unwrap();
        let (stdout, stderr) = (self.path("out/stdout"), self.path("out/stderr"));
        let stdio = StdioSpec {
            stdin: StdioSource::Null,
            stdout: StdioSource::Fd(File::create(&stdout).unwrap().into()),
            stderr: StdioSource::Fd(File::create(&stderr).unwrap().into()),
        };
        let result = runtime().spawn(&spec, stdio).and_then(|c| c.wait());
        assert_eq!(self.mounts_under(), Vec::<String>::new());
        Ran {
            result,
            stdout: fs::read_to_string(stdout).unwrap(),
            stderr: fs::read_to_string(stderr).unwrap(),
        }
    }

    /// Mount points under the test's directory, from /proc/self/mountinfo.
    pub fn mounts_under(&self) -> Vec<String> {
        let dir = self.dir.path().to_string_lossy().into_owned();
        fs::read_to_string("/proc/self/mountinfo")
            .unwrap()
            .lines()
            .filter_map(|line| line.split(' ').nth(4))
            .filter(|point| point.starts_with(&dir))
            .map(str::to_string)
            .collect()
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        // Deepest first; a lazy unmount can't fail on a busy mount.
        for point in self.mounts_under().iter().rev() {
            let _ = Command::new("umount").arg("-l").arg(point).status();
        }
        // The TempDir removes the directory (overlayfs's work/work is root's to remove).
    }
}
