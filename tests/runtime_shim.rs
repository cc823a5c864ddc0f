//! The container helper as a shim, run for real (busybox containers, as root): the
//! program's output captured into a json-file log while it runs, the exit file, the
//! helper outliving its caller, the tiny init of `init: true`, and `tty: true`.

use rcompose::runtime::logfile::{format_time, read_entries, tail, LogEntry, Stream};
use rcompose::runtime::process::{self, read_exit_file, read_exit_record};
use rcompose::runtime::{
    ContainerSpec, ExitStatus, Mount, RunningContainer, StdioSource, StdioSpec, HELPER_SUBCOMMAND,
};
use std::fs::{self, File};
use std::io::{BufRead, BufReader, Read};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

mod common;
use common::{runtime, Fixture};

const SIGTERM: i32 = nix::libc::SIGTERM;
const SIGKILL: i32 = nix::libc::SIGKILL;

/// Kills a process still running when a test ends early (a failed assertion), so
/// that no container outlives its test; a PID reused since is left alone.
struct KillOnDrop {
    pid: i32,
    start_time: Option<u64>,
}

impl KillOnDrop {
    fn new(pid: i32) -> KillOnDrop {
        KillOnDrop {
            pid,
            start_time: process::start_time(pid),
        }
    }
}

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if self.start_time.is_some() && process::start_time(self.pid) == self.start_time {
            let _ = process::signal(self.pid, SIGKILL);
            let _ = process::wait_exit(self.pid, Some(Duration::from_secs(5)));
        }
    }
}

/// Polls `check` every 20 ms until it is true (or 10 s have passed: false).
fn eventually(mut check: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if check() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

/// The entries of the log at `path` (none while it does not exist).
fn entries(path: &Path) -> Vec<LogEntry> {
    match File::open(path) {
        Ok(file) => read_entries(BufReader::new(file))
            .collect::<Result<_, _>>()
            .unwrap(),
        Err(_) => Vec::new(),
    }
}

/// (stream, text) of each entry.
fn texts(entries: &[LogEntry]) -> Vec<(Stream, String)> {
    entries
        .iter()
        .map(|entry| (entry.stream, entry.log.clone()))
        .collect()
}

/// A read-write bind of the fixture's `ctl` directory at `/ctl`, through which a test
/// tells a running container to go on.
fn with_ctl(fixture: &Fixture, spec: &mut ContainerSpec) -> PathBuf {
    let ctl = fixture.path("ctl");
    fs::create_dir_all(&ctl).unwrap();
    spec.mounts.push(Mount::Bind {
        source: ctl.clone(),
        target: PathBuf::from("/ctl"),
        readonly: false,
        copy_up: false,
    });
    ctl
}

fn spawn(spec: ContainerSpec, stdio: StdioSpec) -> RunningContainer {
    runtime().spawn(&spec.validate().unwrap(), stdio).unwrap()
}

fn null_stdio() -> StdioSpec {
    StdioSpec {
        stdin: StdioSource::Null,
        stdout: StdioSource::Null,
        stderr: StdioSource::Null,
    }
}

#[test]
fn output_is_logged_with_its_stream_and_time_and_readable_while_running() {
    require_root!();
    let fixture = Fixture::new();
    let log = fixture.path("out/container.log");
    let mut spec = fixture.spec(
        "cat; echo out1; echo err1 >&2; printf 'no newline'; \
         while [ ! -e /ctl/go ]; do sleep 0.05; done; echo ' end'",
    );
    let ctl = with_ctl(&fixture, &mut spec);
    spec.log = Some(log.clone());
    let input = fixture.path("out/input");
    fs::write(&input, "from stdin\n").unwrap();
    let stdio = StdioSpec {
        stdin: StdioSource::Fd(File::open(&input).unwrap().into()),
        ..null_stdio()
    };
    let before = format_time(SystemTime::now());
    let container = spawn(spec, stdio);
    let guard = KillOnDrop::new(container.pid());

    // While it runs: the complete lines are there; the unfinished one waits for its end.
    let running = [
        (Stream::Stdout, "from stdin\n".to_string()),
        (Stream::Stdout, "out1\n".to_string()),
        (Stream::Stderr, "err1\n".to_string()),
    ];
    assert!(
        eventually(|| entries(&log).len() >= 3),
        "{:?}",
        entries(&log)
    );
    assert_eq!(texts(&entries(&log)), running);
    assert_eq!(texts(&tail(&log, 2).unwrap()), running[1..]);
    assert!(process::start_time(container.pid()).is_some());

    fs::write(ctl.join("go"), "").unwrap();
    assert_eq!(container.wait().unwrap(), ExitStatus::Exited(0));
    drop(guard);
    let after = format_time(SystemTime::now());
    let all = entries(&log);
    assert_eq!(
        texts(&all),
        [
            running.to_vec(),
            vec![(Stream::Stdout, "no newline end\n".to_string())]
        ]
        .concat()
    );
    // Times as Docker writes them, in order, within the run.
    let mut last = before;
    for entry in &all {
        assert_eq!(entry.time.len(), "2026-11-25T03:12:00.123456789Z".len());
        assert!(entry.time.ends_with('Z'), "{}", entry.time);
        assert!(entry.time >= last, "{} < {last}", entry.time);
        last = entry.time.clone();
    }
    assert!(last <= after);
    let text = fs::read_to_string(&log).unwrap();
    assert!(
        text.starts_with("{\"log\":\"from stdin\\n\",\"stream\":\"stdout\",\"time\":\"20"),
        "{text}"
    );
    assert_eq!(
        fs::metadata(&log).unwrap().permissions().mode() & 0o777,
        0o640
    );

    // A second run appends to the same log.
    let mut spec = fixture.spec("echo again");
    spec.log = Some(log.clone());
    assert_eq!(fixture.run(spec).ok(), "");
    let again = entries(&log);
    assert_eq!(again.len(), 5);
    assert_eq!(
        texts(&again[4..]),
        [(Stream::Stdout, "again\n".to_string())]
    );
}

#[test]
fn the_exit_file_says_how_the_container_ended() {
    require_root!();
    let fixture = Fixture::new();
    let exit_file = fixture.path("out/exit.json");
    let run = |argv: &[&str]| {
        let mut spec = fixture.spec_argv(argv);
        spec.exit_file = Some(exit_file.clone());
        let result = fixture.run(spec).result;
        let record = read_exit_record(&exit_file);
        fs::remove_file(&exit_file).unwrap();
        (result.map_err(|err| err.to_string()), record)
    };

    let (result, record) = run(&["sh", "-c", "exit 3"]);
    assert_eq!(result, Ok(ExitStatus::Exited(3)));
    let record = record.unwrap();
    assert_eq!((record.status, record.error), (ExitStatus::Exited(3), None));

    let (result, record) = run(&["sh", "-c", "kill -KILL $$"]);
    // PID 1 can't kill itself: the namespace's init ignores the signal.
    assert_eq!(result, Ok(ExitStatus::Exited(0)));
    assert_eq!(record.unwrap().status, ExitStatus::Exited(0));

    let (result, record) = run(&["nosuch"]);
    let message = "exec: \"nosuch\": executable file not found in $PATH";
    assert_eq!(result, Err(message.to_string()));
    let record = record.unwrap();
    assert_eq!(record.status, ExitStatus::Exited(127));
    assert_eq!(record.error.as_deref(), Some(message));

    // A failed setup step, with its errno.
    let mut spec = fixture.spec("true");
    spec.cwd = PathBuf::from("/etc/motd/sub");
    spec.exit_file = Some(exit_file.clone());
    assert!(fixture.run(spec).result.is_err());
    let record = read_exit_record(&exit_file).unwrap();
    assert_eq!(record.status, ExitStatus::Exited(125));
    assert_eq!(
        record.error.as_deref(),
        Some("resolving /etc/motd/sub in the root filesystem: ENOTDIR: Not a directory")
    );
    assert_eq!(read_exit_file(&exit_file), Some(ExitStatus::Exited(125)));
}

#[test]
fn the_container_outlives_its_caller() {
    require_root!();
    let fixture = Fixture::new();
    let (log, exit_file) = (fixture.path("out/log"), fixture.path("out/exit.json"));
    let mut spec = fixture.spec(
        "i=0; while [ ! -e /ctl/stop ]; do echo tick $i; i=$((i+1)); sleep 0.05; done; \
         echo bye >&2; exit 7",
    );
    let ctl = with_ctl(&fixture, &mut spec);
    spec.log = Some(log.clone());
    spec.exit_file = Some(exit_file.clone());
    let spec_file = fixture.path("out/spec.json");
    fs::write(
        &spec_file,
        serde_json::to_vec(&spec.validate().unwrap()).unwrap(),
    )
    .unwrap();

    // The caller: a shell that starts the helper (spec from a file, reports on its own
    // stdout, a pipe to us) in the background, says its PID, and waits.
    let mut caller = Command::new("sh")
        .arg("-c")
        .arg("\"$0\" $1 --config-fd 3 --status-fd 4 3<\"$2\" 4>&1 & echo $!; wait")
        .arg(env!("CARGO_BIN_EXE_rcompose"))
        .arg(HELPER_SUBCOMMAND)
        .arg(&spec_file)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let _caller_guard = KillOnDrop::new(caller.id() as i32);
    let mut lines = BufReader::new(caller.stdout.take().unwrap()).lines();
    let (mut helper, mut pid) = (None, None);
    for line in lines.by_ref().take(2) {
        let line = line.unwrap();
        match line.strip_prefix("{\"started\":{\"pid\":") {
            Some(rest) => pid = rest.trim_end_matches("}}").parse::<i32>().ok(),
            None => helper = line.parse::<i32>().ok(),
        }
    }
    let (helper, pid) = (helper.unwrap(), pid.unwrap());
    let _guard = KillOnDrop::new(pid);
    assert!(eventually(|| !entries(&log).is_empty()));

    // The caller dies: killed, its end of the status pipe closed; and the signals a
    // dying session or process group would send reach the helper.
    caller.kill().unwrap();
    caller.wait().unwrap();
    drop(lines);
    for signal in [
        nix::libc::SIGHUP,
        nix::libc::SIGINT,
        SIGTERM,
        nix::libc::SIGPIPE,
    ] {
        process::signal(helper, signal).unwrap();
    }
    assert!(!process::wait_exit(helper, Some(Duration::from_millis(300))).unwrap());

    // The log keeps growing.
    let seen = entries(&log).len();
    assert!(eventually(|| entries(&log).len() >= seen + 5));
    let stat = fs::read_to_string(format!("/proc/{helper}/stat")).unwrap();
    assert!(stat.contains(") S "), "{stat}");

    fs::write(ctl.join("stop"), "").unwrap();
    assert!(process::wait_exit(helper, Some(Duration::from_secs(10))).unwrap());
    assert_eq!(read_exit_file(&exit_file), Some(ExitStatus::Exited(7)));
    let all = entries(&log);
    let (last, ticks) = all.split_last().unwrap();
    assert_eq!((last.stream, last.log.as_str()), (Stream::Stderr, "bye\n"));
    assert!(ticks.len() >= seen + 5);
    for (i, entry) in ticks.iter().enumerate() {
        assert_eq!(
            (entry.stream, entry.log.clone()),
            (Stream::Stdout, format!("tick {i}\n"))
        );
    }
}

#[test]
fn with_init_the_program_is_not_pid_1() {
    require_root!();
    let fixture = Fixture::new();
    let mut spec = fixture.spec("echo $$; cat /proc/1/comm; grep PPid /proc/$$/status; exit 5");
    spec.init = true;
    let ran = fixture.run(spec);
    assert_eq!(ran.stdout, "2\nrcompose-init\nPPid:\t1\n");
    assert_eq!(ran.result.unwrap(), ExitStatus::Exited(5));

    // Killed by a signal: 128 + its number.
    let mut spec = fixture.spec("kill -TERM $$");
    spec.init = true;
    assert_eq!(fixture.run(spec).result.unwrap(), ExitStatus::Exited(143));

    // A program that can't be executed is reported as without init.
    let mut spec = fixture.spec_argv(&["nosuch"]);
    spec.init = true;
    let err = fixture.run(spec).result.unwrap_err();
    assert_eq!(
        err.to_string(),
        "exec: \"nosuch\": executable file not found in $PATH"
    );
    assert_eq!(err.exit_code(), 127);
}

/// `pid (comm) state` of every process the container's shell sees, after an orphan
/// has ended.
const PROCESSES: &str = "(sleep 0.1 &); sleep 1; \
    for f in /proc/[0-9]*/stat; do read -r pid comm state rest < $f; echo $pid $comm $state; done";

#[test]
fn with_init_orphans_are_reaped() {
    require_root!();
    let fixture = Fixture::new();
    let mut spec = fixture.spec(PROCESSES);
    spec.init = true;
    // The orphaned sleep went to PID 1, which reaped it: no zombie.
    assert_eq!(fixture.run(spec).ok(), "1 (rcompose-init) S\n2 (sh) R\n");
}

#[test]
fn with_init_signals_reach_the_program() {
    require_root!();
    let fixture = Fixture::new();
    let log = fixture.path("out/log");
    let mut spec = fixture.spec(
        "trap 'echo got USR1' USR1; trap 'echo got 40' 40; trap 'echo got TERM; exit 3' TERM; \
         echo ready; while :; do sleep 0.05; done",
    );
    spec.init = true;
    spec.log = Some(log.clone());
    let container = spawn(spec, null_stdio());
    let _guard = KillOnDrop::new(container.pid());
    let comm = fs::read_to_string(format!("/proc/{}/comm", container.pid())).unwrap();
    assert_eq!(comm, "rcompose-init\n");
    assert!(eventually(|| entries(&log).len() == 1));
    let said = |text: &str| entries(&log).iter().any(|entry| entry.log == text);
    process::signal(container.pid(), nix::libc::SIGUSR1).unwrap();
    assert!(eventually(|| said("got USR1\n")));
    // A real-time signal.
    process::signal(container.pid(), 40).unwrap();
    assert!(eventually(|| said("got 40\n")));
    process::signal(container.pid(), SIGTERM).unwrap();
    assert_eq!(container.wait().unwrap(), ExitStatus::Exited(3));
    assert_eq!(
        texts(&entries(&log)),
        ["ready\n", "got USR1\n", "got 40\n", "got TERM\n"]
            .map(|text| (Stream::Stdout, text.to_string()))
    );
}

/// What the kernel shows as `tty_nr` (field 7 of /proc/<pid>/stat) for a terminal
/// device number.
fn tty_nr(rdev: u64) -> u64 {
    let (major, minor) = (nix::sys::stat::major(rdev), nix::sys::stat::minor(rdev));
    (major << 8) | (minor & 0xff) | ((minor & !0xff) << 12)
}

/// Runs `script` with a new terminal as its stdin and stdout; what it printed.
fn on_a_terminal(fixture: &Fixture, init: bool, script: &str) -> (String, u64) {
    let (master, slave) = process::open_pty().unwrap();
    let rdev = File::from(slave.try_clone().unwrap())
        .metadata()
        .unwrap()
        .rdev();
    let mut spec = fixture.spec(script);
    spec.tty = true;
    spec.init = init;
    let stdio = StdioSpec {
        stdin: StdioSource::Fd(slave.try_clone().unwrap()),
        stdout: StdioSource::Fd(slave),
        stderr: StdioSource::Null,
    };
    let container = spawn(spec, stdio);
    let _guard = KillOnDrop::new(container.pid());
    assert_eq!(container.wait().unwrap(), ExitStatus::Exited(0));
    // Every slave descriptor is closed: the master reads the output, then EIO.
    let mut out = Vec::new();
    let mut master = File::from(master);
    let mut buf = [0; 4096];
    while let Ok(n @ 1..) = master.read(&mut buf) {
        out.extend_from_slice(&buf[..n]);
    }
    (String::from_utf8(out).unwrap(), tty_nr(rdev))
}

#[test]
fn tty_makes_the_terminal_the_programs_controlling_terminal() {
    require_root!();
    let fixture = Fixture::new();
    // Session id and controlling terminal of the program, as the kernel has them.
    let script = "[ -t 0 ] && [ -t 1 ] && echo tty; \
                  read -r pid comm state ppid pgrp sid tty rest < /proc/$$/stat; echo $pid $sid $tty";
    // The terminal turns "\n" into "\r\n".
    let (out, tty) = on_a_terminal(&fixture, false, script);
    assert_eq!(out, format!("tty\r\n1 1 {tty}\r\n"));
    // With init, the program leads its own session.
    let (out, tty) = on_a_terminal(&fixture, true, script);
    assert_eq!(out, format!("tty\r\n2 2 {tty}\r\n"));
    // Without tty: no controlling terminal, and the session is the helper's, outside
    // the PID namespace (0 there).
    let ran = fixture.run(
        fixture
            .spec("read -r pid comm state ppid pgrp sid tty rest < /proc/$$/stat; echo $sid $tty"),
    );
    assert_eq!(ran.ok(), "0 0\n");
}
