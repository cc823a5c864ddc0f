//! Processes as an engine sees them after the fact: whether a PID is still the process
//! it was ([`start_time`]), signalling it, waiting for it to end when it is not our
//! child ([`wait_exit`]), how a container ended when its helper is gone
//! ([`read_exit_file`]), and pseudo-terminals for `tty: true` ([`open_pty`]).

use super::container::ExitStatus;
use super::error::RuntimeError;
use super::sys;
use nix::errno::Errno;
use rustix::event::{poll, PollFd, PollFlags, Timespec};
use rustix::process::{pidfd_open, Pid, PidfdFlags};
use rustix::pty::{grantpt, ioctl_tiocgptpeer, openpt, unlockpt, OpenptFlags};
use serde::{Deserialize, Serialize};
use std::fs::{self, Permissions};
use std::io::{self, Write};
use std::os::fd::OwnedFd;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::{Duration, Instant};

/// When process `pid` started, in clock ticks after boot (field 22 of
/// `/proc/<pid>/stat`); `None` when there is no such process. A PID and its start
/// time name one process: a PID reused later has another start time. (A process that
/// ended but is not reaped yet still has one.)
pub fn start_time(pid: i32) -> Option<u64> {
    if pid <= 0 {
        return None;
    }
    parse_start_time(&fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
}

/// Field 22 of a `/proc/<pid>/stat` line. The command name (field 2, in parentheses)
/// may hold spaces and parentheses: fields are counted after its last `)`.
fn parse_start_time(stat: &str) -> Option<u64> {
    let (_, after_name) = stat.rsplit_once(')')?;
    // Field 3 is the first after the name.
    after_name
        .split_ascii_whitespace()
        .nth(22 - 3)?
        .parse()
        .ok()
}

/// Sends signal number `signal` to process `pid` (real-time signals too; 0 only checks
/// that it exists). A process already gone is fine. Only a positive PID is taken:
/// never a process group, never every process.
pub fn signal(pid: i32, signal: i32) -> Result<(), RuntimeError> {
    let failed = |errno| RuntimeError::Signal { pid, signal, errno };
    if pid <= 0 {
        return Err(failed(Errno::EINVAL));
    }
    match sys::kill(pid, signal) {
        Ok(()) | Err(Errno::ESRCH) => Ok(()),
        Err(errno) => Err(failed(errno)),
    }
}

/// Blocks until process `pid` (not necessarily our child) has ended, or `timeout` has
/// passed: `true` when it has ended (or never existed), `false` on timeout.
pub fn wait_exit(pid: i32, timeout: Option<Duration>) -> Result<bool, RuntimeError> {
    let failed = |errno| RuntimeError::WaitExit { pid, errno };
    let Some(target) = Pid::from_raw(pid) else {
        return Err(failed(Errno::EINVAL));
    };
    let pidfd = match pidfd_open(target, PidfdFlags::empty()) {
        Ok(pidfd) => pidfd,
        Err(rustix::io::Errno::SRCH) => return Ok(true),
        Err(err) => return Err(failed(sys::errno(err))),
    };
    // A timeout too long to represent is no timeout.
    let deadline = timeout.and_then(|timeout| Instant::now().checked_add(timeout));
    loop {
        let left = deadline.map(|deadline| deadline.saturating_duration_since(Instant::now()));
        let left = left.and_then(|left| Timespec::try_from(left).ok());
        // A pidfd is readable once its process has ended.
        let mut fds = [PollFd::new(&pidfd, PollFlags::IN)];
        match poll(&mut fds, left.as_ref()) {
            Ok(0) => return Ok(false),
            Ok(_) => return Ok(true),
            Err(rustix::io::Errno::INTR) => {}
            Err(err) => return Err(failed(sys::errno(err))),
        }
    }
}

/// What the helper writes to the spec's `exit_file`: the exit status, and why the
/// program did not run when it did not (then the status is Docker's 125, 126 or 127).
///
/// ```json
/// {"exited":0}
/// {"signaled":9}
/// {"exited":127,"error":"exec: \"nosuch\": executable file not found in $PATH"}
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExitRecord {
    /// How the container ended.
    #[serde(flatten)]
    pub status: ExitStatus,
    /// The error that kept the program from running, with its causes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The exit status in an exit file; `None` when there is none (the container has not
/// ended, or its helper was killed) or it can't be read.
pub fn read_exit_file(path: &Path) -> Option<ExitStatus> {
    read_exit_record(path).map(|record| record.status)
}

/// The whole record of an exit file (see [`read_exit_file`]).
pub fn read_exit_record(path: &Path) -> Option<ExitRecord> {
    serde_json::from_slice(&fs::read(path).ok()?).ok()
}

/// Writes `record` to `path` atomically: a temporary file beside it, synced, then
/// renamed over it, so a reader sees the whole record or none.
pub(crate) fn write_exit_file(path: &Path, record: &ExitRecord) -> io::Result<()> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let mut file = tempfile::Builder::new()
        .prefix(".exit-")
        .permissions(Permissions::from_mode(0o640))
        .tempfile_in(dir)?;
    let mut json = serde_json::to_vec(record)?;
    json.push(b'\n');
    file.write_all(&json)?;
    file.as_file().sync_all()?;
    file.persist(path).map_err(|err| err.error)?;
    Ok(())
}

/// A new pseudo-terminal: its master (for the engine to relay) and its slave (the
/// container's standard streams), both close-on-exec, neither becoming our
/// controlling terminal.
pub fn open_pty() -> Result<(OwnedFd, OwnedFd), RuntimeError> {
    let failed = |err| RuntimeError::Pty(sys::errno(err));
    let flags = OpenptFlags::RDWR | OpenptFlags::NOCTTY | OpenptFlags::CLOEXEC;
    let master = openpt(flags).map_err(failed)?;
    grantpt(&master).map_err(failed)?;
    unlockpt(&master).map_err(failed)?;
    let slave = ioctl_tiocgptpeer(&master, flags).map_err(failed)?;
    Ok((master, slave))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;
    use std::os::fd::AsRawFd;
    use std::process::Command;

    #[test]
    fn start_time_is_field_22() {
        let stat = "4242 (a) b) (c) S 1 4242 4242 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 \
                    987654 12345678 300 18446744073709551615";
        assert_eq!(parse_start_time(stat), Some(987_654));
        assert_eq!(parse_start_time("4242 (sh) S 1 2"), None);
        assert_eq!(parse_start_time("garbage"), None);
        let ours = fs::read_to_string("/proc/self/stat").unwrap();
        let field = ours.rsplit_once(')').unwrap().1.split(' ').nth(20);
        assert_eq!(
            start_time(std::process::id() as i32),
            Some(field.unwrap().parse().unwrap())
        );
        // Above the kernel's largest PID, and never a process group.
        assert_eq!(start_time(i32::MAX), None);
        assert_eq!(start_time(0), None);
        assert_eq!(start_time(-1), None);
    }

    #[test]
    fn signals_reach_a_process_and_a_gone_one_is_fine() {
        let mut child = Command::new("sleep").arg("30").spawn().unwrap();
        let pid = child.id() as i32;
        signal(pid, 0).unwrap();
        signal(pid, nix::libc::SIGTERM).unwrap();
        let status = child.wait().unwrap();
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(status.signal(), Some(nix::libc::SIGTERM));
        // Reaped: no such process any more.
        signal(pid, nix::libc::SIGTERM).unwrap();
        signal(i32::MAX, nix::libc::SIGKILL).unwrap();
        for pid in [0, -1] {
            let err = signal(pid, nix::libc::SIGKILL).unwrap_err();
            assert_eq!(
                err.to_string(),
                format!("cannot send signal 9 to process {pid}")
            );
        }
        let err = signal(std::process::id() as i32, 1000).unwrap_err();
        assert!(matches!(
            err,
            RuntimeError::Signal {
                errno: Errno::EINVAL,
                ..
            }
        ));
    }

    #[test]
    fn wait_exit_times_out_then_sees_the_end() {
        let mut child = Command::new("sleep").arg("0.3").spawn().unwrap();
        let pid = child.id() as i32;
        let started = Instant::now();
        assert!(!wait_exit(pid, Some(Duration::from_millis(50))).unwrap());
        assert!(started.elapsed() >= Duration::from_millis(50));
        assert!(wait_exit(pid, Some(Duration::from_secs(10))).unwrap());
        assert!(started.elapsed() < Duration::from_secs(5));
        // Ended, not yet reaped: still ended.
        assert!(wait_exit(pid, Some(Duration::ZERO)).unwrap());
        child.wait().unwrap();
        assert!(wait_exit(pid, None).unwrap());
        assert!(wait_exit(i32::MAX, None).unwrap());
        assert!(matches!(
            wait_exit(0, None),
            Err(RuntimeError::WaitExit {
                errno: Errno::EINVAL,
                ..
            })
        ));
        // Not our child: our parent (cargo's test runner) is alive.
        let parent = nix::unistd::getppid().as_raw();
        assert!(!wait_exit(parent, Some(Duration::from_millis(10))).unwrap());
    }

    #[test]
    fn exit_files_round_trip_and_replace_each_other() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("exit.json");
        assert_eq!(read_exit_file(&path), None);
        let failed = ExitRecord {
            status: ExitStatus::Exited(127),
            error: Some("exec: \"nosuch\": executable file not found in $PATH".to_string()),
        };
        write_exit_file(&path, &failed).unwrap();
        assert_eq!(
            fs::read_to_string(&path).unwrap(),
            "{\"exited\":127,\"error\":\"exec: \\\"nosuch\\\": executable file not found in $PATH\"}\n"
        );
        assert_eq!(read_exit_record(&path), Some(failed));
        assert_eq!(read_exit_file(&path), Some(ExitStatus::Exited(127)));
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o7777,
            0o640
        );
        let killed = ExitRecord {
            status: ExitStatus::Signaled(9),
            error: None,
        };
        write_exit_file(&path, &killed).unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "{\"signaled\":9}\n");
        assert_eq!(read_exit_file(&path), Some(ExitStatus::Signaled(9)));
        // No temporary file is left beside it.
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
        fs::write(&path, "{\"exited\":").unwrap();
        assert_eq!(read_exit_file(&path), None);
        fs::write(&path, "{\"stopped\":1}").unwrap();
        assert_eq!(read_exit_file(&path), None);
    }

    #[test]
    fn a_pty_echoes_what_its_slave_writes_to_its_master() {
        let (master, slave) = open_pty().unwrap();
        assert!(nix::unistd::isatty(&slave).unwrap());
        let link = fs::read_link(format!("/proc/self/fd/{}", slave.as_raw_fd())).unwrap();
        let name = rustix::pty::ptsname(&master, Vec::new()).unwrap();
        assert_eq!(link.as_os_str().as_encoded_bytes(), name.as_bytes());
        assert!(link.starts_with("/dev/pts"), "{link:?}");
        let mut slave = fs::File::from(slave);
        slave.write_all(b"hi\n").unwrap();
        drop(slave);
        let mut out = [0u8; 16];
        let n = fs::File::from(master).read(&mut out).unwrap();
        // The terminal turns "\n" into "\r\n".
        assert_eq!(&out[..n], b"hi\r\n");
    }
}
