//! `exec` into running containers of rcompose's own runtime, for real: each test starts
//! a busybox container running `sleep 30` (see `common`), runs programs in it through
//! the `__container-exec` helper of the built binary, and checks what they see from
//! inside and what the host sees of them. They need root; as another user they pass
//! with a "skipped" message (CI runs as root).

use indexmap::IndexMap;
use nix::libc;
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use rcompose::runtime::caps::CapSet;
use rcompose::runtime::{
    ExecFailure, ExecSpec, ExitStatus, RunningContainer, RuntimeError, Seccomp, StdioSource,
    StdioSpec, Step, User,
};
use std::fs::{self, File};
use std::io::{Read, Seek};
use std::os::fd::{FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

mod common;
use common::{runtime, Fixture};

/// A running container, killed and waited for when dropped (also when a test fails).
/// Declare it after its [`Fixture`], so it is dropped first.
struct Target {
    container: Option<RunningContainer>,
}

impl Target {
    /// Starts `sleep 30` in `fixture`'s root filesystem, with hostname `exec-target`.
    fn start(fixture: &Fixture) -> Target {
        let mut spec = fixture.spec_argv(&["sleep", "30"]);
        spec.hostname = "exec-target".to_string();
        let spec = spec.validate().unwrap();
        let stdio = StdioSpec {
            stdin: StdioSource::Null,
            stdout: StdioSource::Null,
            stderr: StdioSource::Null,
        };
        Target {
            container: Some(runtime().spawn(&spec, stdio).unwrap()),
        }
    }

    /// The host PID of the container's PID 1.
    fn pid(&self) -> i32 {
        self.container.as_ref().map_or(0, RunningContainer::pid)
    }

    /// An exec of `sh -c script` as root with Docker's default capabilities.
    fn exec_spec(&self, script: &str) -> ExecSpec {
        ExecSpec {
            pid: self.pid(),
            argv: ["sh", "-c", script].map(String::from).to_vec(),
            env: IndexMap::from([("PATH".to_string(), "/bin".to_string())]),
            cwd: PathBuf::from("/"),
            user: User::default(),
            capabilities: CapSet::docker_default(),
            no_new_privileges: false,
            seccomp: Seccomp::Default,
            cgroup_procs: Vec::new(),
            tty: false,
        }
    }
}

impl Drop for Target {
    fn drop(&mut self) {
        if let Some(container) = self.container.take() {
            let _ = kill(Pid::from_raw(container.pid()), Signal::SIGKILL);
            let _ = container.wait();
        }
    }
}

/// What an exec printed and how it ended.
struct Ran {
    result: Result<ExitStatus, RuntimeError>,
    stdout: String,
    stderr: String,
}

impl Ran {
    /// Asserts the exec exited 0 and returns its output.
    fn ok(self) -> String {
        match self.result {
            Ok(ExitStatus::Exited(0)) => self.stdout,
            other => panic!(
                "exec: {other:?}\nstdout: {}\nstderr: {}",
                self.stdout, self.stderr
            ),
        }
    }
}

/// Runs `spec` to its end, its output captured in anonymous files.
fn exec(spec: &ExecSpec) -> Ran {
    let (mut stdout, mut stderr) = (tempfile::tempfile().unwrap(), tempfile::tempfile().unwrap());
    let stdio = StdioSpec {
        stdin: StdioSource::Null,
        stdout: StdioSource::Fd(stdout.try_clone().unwrap().into()),
        stderr: StdioSource::Fd(stderr.try_clone().unwrap().into()),
    };
    let result = runtime()
        .exec(spec, stdio)
        .and_then(|process| process.wait());
    let read = |file: &mut File| {
        let mut text = String::new();
        file.rewind().unwrap();
        file.read_to_string(&mut text).unwrap();
        text
    };
    Ran {
        result,
        stdout: read(&mut stdout),
        stderr: read(&mut stderr),
    }
}

/// One field (`Name:`) of /proc/<pid>/status as the host sees it.
fn status_field(pid: i32, name: &str) -> String {
    fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap()
        .lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(':'))
        .unwrap_or_else(|| panic!("no {name} in /proc/{pid}/status"))
        .trim()
        .to_string()
}

#[test]
fn an_exec_is_in_the_containers_namespaces() {
    require_root!();
    let fixture = Fixture::new();
    let target = Target::start(&fixture);
    // UTS and PID: the container's hostname and its PID 1, and a PID of its own.
    assert_eq!(exec(&target.exec_spec("hostname")).ok(), "exec-target\n");
    assert_eq!(
        exec(&target.exec_spec("cat /proc/1/cmdline")).ok(),
        "sleep\u{0}30\u{0}"
    );
    let pid: i32 = exec(&target.exec_spec("echo $$"))
        .ok()
        .trim()
        .parse()
        .unwrap();
    assert!(pid > 1, "{pid}");
    // Every namespace is the container's.
    let names = ["ipc", "uts", "net", "cgroup", "pid", "mnt"];
    let script = names
        .map(|ns| format!("readlink /proc/self/ns/{ns}"))
        .join("; ");
    let container: Vec<String> = names
        .iter()
        .map(|ns| {
            let link = fs::read_link(format!("/proc/{}/ns/{ns}", target.pid())).unwrap();
            format!("{}\n", link.display())
        })
        .collect();
    assert_eq!(exec(&target.exec_spec(&script)).ok(), container.concat());
    // Mount: a file the exec writes is in the container's layer and its PID 1 sees it.
    exec(&target.exec_spec("echo from-exec > /tmp/written")).ok();
    assert_eq!(
        fs::read_to_string(fixture.path("upper/tmp/written")).unwrap(),
        "from-exec\n"
    );
    assert_eq!(
        fs::read_to_string(format!("/proc/{}/root/tmp/written", target.pid())).unwrap(),
        "from-exec\n"
    );
}

#[test]
fn exec_gives_the_host_pid_of_the_process_and_wait_its_exit() {
    require_root!();
    let fixture = Fixture::new();
    let target = Target::start(&fixture);
    let mut spec = target.exec_spec("");
    spec.argv = vec!["cat".to_string()];
    let (read, write) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).unwrap();
    let stdio = StdioSpec {
        stdin: StdioSource::Fd(read),
        stdout: StdioSource::Null,
        stderr: StdioSource::Null,
    };
    let process = runtime().exec(&spec, stdio).unwrap();
    // The host's PID, then a PID above 1 in the container's namespace.
    let nspid = status_field(process.pid(), "NSpid");
    let (host, inside) = nspid.split_once('\t').unwrap();
    assert_eq!(host, process.pid().to_string());
    assert!(inside.parse::<i32>().unwrap() > 1, "{nspid}");
    assert_eq!(
        status_field(process.pid(), "PPid"),
        process.helper_pid().to_string()
    );
    assert_eq!(status_field(process.pid(), "Name"), "cat");
    drop(write); // cat reads end of file and exits 0
    assert_eq!(process.wait().unwrap(), ExitStatus::Exited(0));
    // The exit code comes through.
    let ran = exec(&target.exec_spec("echo oops >&2; exit 3"));
    assert_eq!(ran.stderr, "oops\n");
    assert_eq!(ran.result.unwrap(), ExitStatus::Exited(3));
}

#[test]
fn user_environment_working_directory_and_umask_are_the_specs() {
    require_root!();
    let fixture = Fixture::new();
    let target = Target::start(&fixture);
    let mut spec = target.exec_spec("id -u; id -g; id -G; pwd; echo $GREETING; umask");
    spec.user = User {
        uid: 1000,
        gid: 1001,
        additional_gids: vec![20, 30],
    };
    spec.cwd = PathBuf::from("/tmp");
    spec.env
        .insert("GREETING".to_string(), "hello world".to_string());
    assert_eq!(
        exec(&spec).ok(),
        "1000\n1001\n1001 20 30\n/tmp\nhello world\n0022\n"
    );
}

#[test]
fn capabilities_and_no_new_privileges_are_the_specs() {
    require_root!();
    let fixture = Fixture::new();
    let target = Target::start(&fixture);
    let mut spec = target.exec_spec("grep -E '^(Cap|NoNewPrivs)' /proc/self/status");
    // CAP_CHOWN (bit 0) and CAP_NET_RAW (bit 13).
    spec.capabilities = CapSet::from_numbers([0, 13]);
    assert_eq!(
        exec(&spec).ok().replace(":\t", " "),
        "CapInh 0000000000000000\nCapPrm 0000000000002001\nCapEff 0000000000002001\n\
         CapBnd 0000000000002001\nCapAmb 0000000000000000\nNoNewPrivs 0\n"
    );
    // A non-root user gets no capability, within the same bounding set.
    spec.user.uid = 1000;
    spec.no_new_privileges = true;
    assert_eq!(
        exec(&spec).ok().replace(":\t", " "),
        "CapInh 0000000000000000\nCapPrm 0000000000000000\nCapEff 0000000000000000\n\
         CapBnd 0000000000002001\nCapAmb 0000000000000000\nNoNewPrivs 1\n"
    );
}

#[test]
fn an_exec_runs_under_the_containers_seccomp_filter() {
    require_root!();
    let fixture = Fixture::new();
    let target = Target::start(&fixture);
    let mut spec = target.exec_spec("grep ^Seccomp: /proc/self/status; unshare -U true");
    let ran = exec(&spec);
    assert_eq!(ran.stdout, "Seccomp:\t2\n");
    assert!(
        ran.stderr.contains("Operation not permitted"),
        "{}",
        ran.stderr
    );
    spec.seccomp = Seccomp::Unconfined;
    assert_eq!(exec(&spec).ok(), "Seccomp:\t0\n");
}

#[test]
fn a_missing_command_is_127_and_named() {
    require_root!();
    let fixture = Fixture::new();
    let target = Target::start(&fixture);
    let mut spec = target.exec_spec("");
    spec.argv = vec!["nosuch".to_string()];
    let err = exec(&spec).result.unwrap_err();
    assert!(
        matches!(
            &err,
            RuntimeError::Exec { program, failure: ExecFailure::NotFoundInPath }
                if program == "nosuch"
        ),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "exec: \"nosuch\": executable file not found in $PATH"
    );
    assert_eq!(err.exit_code(), 127);
    // Not executable: 126.
    spec.argv = vec!["/etc".to_string()];
    assert_eq!(exec(&spec).result.unwrap_err().exit_code(), 126);
}

#[test]
fn a_missing_working_directory_is_an_error() {
    require_root!();
    let fixture = Fixture::new();
    let target = Target::start(&fixture);
    let mut spec = target.exec_spec("pwd");
    spec.cwd = PathBuf::from("/nope");
    let err = exec(&spec).result.unwrap_err();
    assert!(
        matches!(
            &err,
            RuntimeError::Setup { step: Step::Chdir { path }, errno: nix::errno::Errno::ENOENT }
                if path == Path::new("/nope")
        ),
        "{err:?}"
    );
    assert_eq!(err.to_string(), "changing to the working directory /nope");
    // Unlike a container's, an exec's working directory is not created.
    assert!(!fixture.path("upper/nope").exists());
}

#[test]
fn exec_into_a_container_that_is_gone_is_an_error() {
    require_root!();
    let fixture = Fixture::new();
    let spec = fixture.spec_argv(&["true"]).validate().unwrap();
    let container = runtime().spawn(&spec, StdioSpec::default()).unwrap();
    let pid = container.pid();
    assert_eq!(container.wait().unwrap(), ExitStatus::Exited(0));
    let target = Target { container: None };
    let mut spec = target.exec_spec("true");
    spec.pid = pid;
    let err = exec(&spec).result.unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("container process {pid} is gone (the container is not running)")
    );
    assert_eq!(err.exit_code(), 125);
}

#[test]
fn exec_into_a_process_outside_any_container_is_refused() {
    require_root!();
    let target = Target { container: None };
    let mut spec = target.exec_spec("true");
    spec.pid = std::process::id() as i32;
    let err = exec(&spec).result.unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "process {} is not a container's: it shares rcompose's PID namespace",
            spec.pid
        )
    );
}

/// A v1 `pids` cgroup of the test's own, removed when dropped (once it is empty).
struct TestCgroup(PathBuf);

impl Drop for TestCgroup {
    fn drop(&mut self) {
        let _ = fs::remove_dir(&self.0);
    }
}

#[test]
fn an_exec_joins_the_given_cgroups() {
    require_root!();
    let fixture = Fixture::new();
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    let name = format!("rcompose-test-exec-{}-{nanos}", std::process::id());
    let cgroup = TestCgroup(Path::new("/sys/fs/cgroup/pids").join(&name));
    fs::create_dir(&cgroup.0).unwrap();
    let target = Target::start(&fixture);
    let mut spec = target.exec_spec("");
    spec.argv = vec!["cat".to_string()];
    spec.cgroup_procs = vec![cgroup.0.join("cgroup.procs")];
    let (read, write) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).unwrap();
    let stdio = StdioSpec {
        stdin: StdioSource::Fd(read),
        stdout: StdioSource::Null,
        stderr: StdioSource::Null,
    };
    let process = runtime().exec(&spec, stdio).unwrap();
    let mut procs: Vec<u32> = fs::read_to_string(cgroup.0.join("cgroup.procs"))
        .unwrap()
        .lines()
        .map(|pid| pid.parse().unwrap())
        .collect();
    procs.sort();
    let mut expected = vec![process.pid() as u32, process.helper_pid()];
    expected.sort();
    // The helper and the program; not the container's PID 1.
    assert_eq!(procs, expected);
    drop(write);
    assert_eq!(process.wait().unwrap(), ExitStatus::Exited(0));
}

/// A new pseudo-terminal: (master, slave).
fn open_pty() -> (File, OwnedFd) {
    // SAFETY: plain libc calls on a descriptor we own; ptsname_r writes at most
    // `name.len()` bytes into our buffer.
    unsafe {
        let master = libc::posix_openpt(libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC);
        assert!(master >= 0, "posix_openpt");
        let master = File::from_raw_fd(master);
        use std::os::fd::AsRawFd;
        assert_eq!(libc::grantpt(master.as_raw_fd()), 0, "grantpt");
        assert_eq!(libc::unlockpt(master.as_raw_fd()), 0, "unlockpt");
        let mut name = [0 as libc::c_char; 128];
        assert_eq!(
            libc::ptsname_r(master.as_raw_fd(), name.as_mut_ptr(), name.len()),
            0
        );
        let slave = libc::open(
            name.as_ptr(),
            libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC,
        );
        assert!(slave >= 0, "open the pty slave");
        (master, OwnedFd::from_raw_fd(slave))
    }
}

/// Fields 1 (pid), 6 (session) and 7 (tty_nr) of a /proc/<pid>/stat line.
fn pid_session_tty(stat: &str) -> (i64, i64, i64) {
    // The command name (field 2) is in parentheses and may hold spaces.
    let (pid, rest) = stat.trim().split_once(" (").unwrap();
    let fields: Vec<i64> = rest
        .rsplit_once(") ")
        .unwrap()
        .1
        .split(' ')
        .skip(1) // the state, a letter
        .take(4)
        .map(|field| field.parse().unwrap())
        .collect();
    // ppid, pgrp, session, tty_nr
    (pid.parse().unwrap(), fields[2], fields[3])
}

#[test]
fn a_tty_exec_leads_a_session_with_its_terminal() {
    require_root!();
    let fixture = Fixture::new();
    let target = Target::start(&fixture);
    let mut spec = target.exec_spec("");
    spec.argv = ["cat", "/proc/self/stat"].map(String::from).to_vec();
    // Without a terminal: the helper's session, no controlling terminal.
    let (pid, session, tty) = pid_session_tty(&exec(&spec).ok());
    assert_ne!(pid, session);
    assert_eq!(tty, 0);

    spec.tty = true;
    let (mut master, slave) = open_pty();
    let stdio = StdioSpec {
        stdin: StdioSource::Fd(slave.try_clone().unwrap()),
        stdout: StdioSource::Fd(slave.try_clone().unwrap()),
        stderr: StdioSource::Fd(slave),
    };
    let process = runtime().exec(&spec, stdio).unwrap();
    assert_eq!(process.wait().unwrap(), ExitStatus::Exited(0));
    // Every slave descriptor is closed: reading ends with EIO after the output.
    let mut output = Vec::new();
    let mut chunk = [0; 4096];
    while let Ok(n @ 1..) = master.read(&mut chunk) {
        output.extend_from_slice(&chunk[..n]);
    }
    let (pid, session, tty) = pid_session_tty(&String::from_utf8(output).unwrap());
    assert_eq!(pid, session);
    assert_ne!(tty, 0);
}
