//! Containers of rcompose's own runtime, run for real: each test builds a busybox root
//! filesystem (Debian's `busybox-static`), starts a container through the
//! `__container-init` helper of the built binary, and checks what a user would see from
//! inside. They need root; as another user they pass with a "skipped" message (CI runs
//! as root).

use rcompose::runtime::{
    ContainerSpec, ExecFailure, ExitStatus, Mount, Network, Rootfs, RuntimeError, StdioSource,
    StdioSpec, Step,
};
use std::fs;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};

mod common;
use common::{runtime, Fixture};

#[test]
fn the_program_is_pid_1_of_its_own_pid_namespace() {
    require_root!();
    let fixture = Fixture::new();
    assert_eq!(fixture.run(fixture.spec("echo $$")).ok(), "1\n");
}

#[test]
fn spawn_gives_the_host_pid_of_pid_1_and_wait_its_exit() {
    require_root!();
    let fixture = Fixture::new();
    let spec = fixture.spec_argv(&["cat"]).validate().unwrap();
    let (read, write) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).unwrap();
    let stdio = StdioSpec {
        stdin: StdioSource::Fd(read),
        stdout: StdioSource::Null,
        stderr: StdioSource::Null,
    };
    let container = runtime().spawn(&spec, stdio).unwrap();
    let status = fs::read_to_string(format!("/proc/{}/status", container.pid())).unwrap();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|line| line.strip_prefix(name))
            .unwrap()
            .trim()
            .to_string()
    };
    // The host's PID, then 1 in the container's namespace.
    assert_eq!(field("NSpid:"), format!("{}\t1", container.pid()));
    assert_eq!(field("PPid:"), container.helper_pid().to_string());
    assert_eq!(field("Name:"), "cat");
    drop(write); // cat reads end of file and exits 0
    assert_eq!(container.wait().unwrap(), ExitStatus::Exited(0));
}

#[test]
fn hostname_domainname_environment_and_working_directory() {
    require_root!();
    let fixture = Fixture::new();
    let mut spec = fixture.spec("hostname; cat /proc/sys/kernel/domainname; pwd; echo $GREETING");
    spec.hostname = "web-1".to_string();
    spec.domainname = Some("example.org".to_string());
    spec.cwd = PathBuf::from("/srv/app");
    spec.env
        .insert("GREETING".to_string(), "hello world".to_string());
    assert_eq!(
        fixture.run(spec).ok(),
        "web-1\nexample.org\n/srv/app\nhello world\n"
    );
    // The missing working directory was created in the container's layer.
    assert!(fixture.path("upper/srv/app").is_dir());
}

#[test]
fn user_and_groups_are_the_specs() {
    require_root!();
    let fixture = Fixture::new();
    let mut spec = fixture.spec("id -u; id -g; id -G");
    spec.user.uid = 1000;
    spec.user.gid = 1001;
    spec.user.additional_gids = vec![20, 30];
    assert_eq!(fixture.run(spec).ok(), "1000\n1001\n1001 20 30\n");
}

/// Interface names in a /proc/net/dev listing.
fn interfaces(net_dev: &str) -> Vec<String> {
    let mut names: Vec<String> = net_dev
        .lines()
        .skip(2)
        .filter_map(|line| Some(line.split(':').next()?.trim().to_string()))
        .collect();
    names.sort();
    names
}

#[test]
fn network_none_has_only_lo_and_it_is_up() {
    require_root!();
    let fixture = Fixture::new();
    let out = fixture
        .run(
            fixture
                .spec("cat /proc/net/dev; echo ==; cat /sys/class/net/lo/flags; ls /sys/class/net"),
        )
        .ok();
    let (net_dev, rest) = out.split_once("==\n").unwrap();
    assert_eq!(interfaces(net_dev), ["lo"]);
    // IFF_UP | IFF_LOOPBACK, and /sys shows the container's network namespace.
    assert_eq!(rest, "0x9\nlo\n");
}

#[test]
fn network_host_sees_the_hosts_interfaces() {
    require_root!();
    let fixture = Fixture::new();
    let mut spec = fixture.spec("cat /proc/net/dev");
    spec.network = Network::Host;
    let inside = interfaces(&fixture.run(spec).ok());
    let outside = interfaces(&fs::read_to_string("/proc/net/dev").unwrap());
    assert_eq!(inside, outside);
}

/// The `Cap*:` lines of the container's /proc/self/status, as `Name value` lines.
fn capabilities(fixture: &Fixture, change: impl FnOnce(&mut ContainerSpec)) -> String {
    let mut spec = fixture.spec("grep -E '^(Cap|NoNewPrivs)' /proc/self/status");
    change(&mut spec);
    fixture.run(spec).ok().replace(":\t", " ")
}

#[test]
fn capabilities_are_dockers() {
    require_root!();
    let fixture = Fixture::new();
    assert_eq!(
        capabilities(&fixture, |_| {}),
        "CapInh 0000000000000000\nCapPrm 00000000a80425fb\nCapEff 00000000a80425fb\n\
         CapBnd 00000000a80425fb\nCapAmb 0000000000000000\nNoNewPrivs 0\n"
    );
    // A non-root user gets no capability at exec, within the same bounding set.
    assert_eq!(
        capabilities(&fixture, |spec| {
            spec.user.uid = 1000;
            spec.no_new_privileges = true;
        }),
        "CapInh 0000000000000000\nCapPrm 0000000000000000\nCapEff 0000000000000000\n\
         CapBnd 00000000a80425fb\nCapAmb 0000000000000000\nNoNewPrivs 1\n"
    );
    let grep_eff_bnd = |out: String| {
        out.lines()
            .filter(|line| line.starts_with("CapEff") || line.starts_with("CapBnd"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(
        grep_eff_bnd(capabilities(&fixture, |spec| spec.cap_drop = vec!["ALL".into()])),
        "CapEff 0000000000000000\nCapBnd 0000000000000000"
    );
    // + NET_ADMIN (bit 12), - CHOWN (bit 0).
    assert_eq!(
        grep_eff_bnd(capabilities(&fixture, |spec| {
            spec.cap_add = vec!["NET_ADMIN".into()];
            spec.cap_drop = vec!["chown".into()];
        })),
        "CapEff 00000000a80435fa\nCapBnd 00000000a80435fa"
    );
}

#[test]
fn read_only_binds_refuse_writes_and_writable_ones_reach_the_host() {
    require_root!();
    let fixture = Fixture::new();
    let (ro, rw) = (fixture.path("ro-src"), fixture.path("rw-src"));
    fs::create_dir(&ro).unwrap();
    fs::create_dir(&rw).unwrap();
    fs::write(ro.join("hello"), "hello\n").unwrap();
    let mut spec = fixture.spec(
        "cat /data/hello; if touch /data/new; then echo wrote; else echo refused; fi; \
         echo ok > /rw/out",
    );
    spec.mounts = vec![
        Mount::Bind {
            source: ro.clone(),
            target: PathBuf::from("/data"),
            readonly: true,
            copy_up: false,
        },
        Mount::Bind {
            source: rw.clone(),
            target: PathBuf::from("/rw"),
            readonly: false,
            copy_up: false,
        },
    ];
    let ran = fixture.run(spec);
    assert_eq!(ran.stderr, "touch: /data/new: Read-only file system\n");
    assert_eq!(ran.ok(), "hello\nrefused\n");
    assert!(!ro.join("new").exists());
    assert_eq!(fs::read_to_string(rw.join("out")).unwrap(), "ok\n");
}

#[test]
fn proc_and_sys_are_masked_unless_privileged() {
    require_root!();
    let fixture = Fixture::new();
    // Masked files read empty, with a mount over them; kernels without one (this
    // machine's has no /proc/kcore) leave it absent.
    let files = [
        "/proc/kcore",
        "/proc/keys",
        "/proc/timer_list",
        "/proc/interrupts",
    ];
    assert!(!fs::read_to_string("/proc/timer_list").unwrap().is_empty());
    let mut script = format!("for p in {}; do ", files.join(" "));
    script.push_str(
        "if [ -e $p ]; then echo \"$p $(wc -c < $p) $(grep -c \" $p \" /proc/self/mountinfo)\"; \
         else echo \"$p absent\"; fi; done; ls -A /sys/firmware | wc -l; \
         if echo x 2>/dev/null > /proc/sys/kernel/hostname; then echo wrote; else echo refused; fi; \
         hostname; if touch /sys/x 2>/dev/null; then echo sys-rw; else echo sys-ro; fi",
    );
    let mut expected = String::new();
    for file in files {
        if Path::new(file).exists() {
            expected.push_str(&format!("{file} 0 1\n"));
        } else {
            expected.push_str(&format!("{file} absent\n"));
        }
    }
    expected.push_str("0\nrefused\nrc-test\nsys-ro\n");
    assert_eq!(fixture.run(fixture.spec(&script)).ok(), expected);

    // Privileged: nothing masked, /proc/sys writable (this UTS namespace's hostname).
    let mut spec = fixture.spec(
        "grep -c ' /proc/timer_list ' /proc/self/mountinfo; \
         echo changed > /proc/sys/kernel/hostname; hostname",
    );
    spec.privileged = true;
    assert_eq!(fixture.run(spec).ok(), "0\nchanged\n");
}

#[test]
fn overlay_writes_land_in_the_upper_dir_and_the_top_layer_wins() {
    require_root!();
    let fixture = Fixture::new();
    fs::create_dir(fixture.path("top/etc")).unwrap();
    fs::write(fixture.path("top/etc/layer"), "top\n").unwrap();
    fs::write(fixture.path("base/etc/layer"), "base\n").unwrap();
    let spec =
        fixture.spec("cat /etc/layer; echo hi > /newfile; echo upper >> /etc/motd; cat /etc/motd");
    assert_eq!(fixture.run(spec).ok(), "top\nlower\nupper\n");
    assert_eq!(
        fs::read_to_string(fixture.path("upper/newfile")).unwrap(),
        "hi\n"
    );
    assert!(!fixture.path("base/newfile").exists());
    assert!(!fixture.path("top/newfile").exists());
    assert_eq!(
        fs::read_to_string(fixture.path("upper/etc/motd")).unwrap(),
        "lower\nupper\n"
    );
    assert_eq!(
        fs::read_to_string(fixture.path("base/etc/motd")).unwrap(),
        "lower\n"
    );
}

#[test]
fn a_directory_rootfs_is_used_in_place() {
    require_root!();
    let fixture = Fixture::new();
    let mut spec = fixture.spec("echo in-place > /written; cat /etc/motd");
    spec.rootfs = Rootfs::Directory {
        path: fixture.path("base"),
    };
    assert_eq!(fixture.run(spec).ok(), "lower\n");
    assert_eq!(
        fs::read_to_string(fixture.path("base/written")).unwrap(),
        "in-place\n"
    );
}

#[test]
fn exit_codes_are_returned() {
    require_root!();
    let fixture = Fixture::new();
    let ran = fixture.run(fixture.spec("exit 3"));
    assert_eq!(ran.result.unwrap(), ExitStatus::Exited(3));

    let spec = fixture.spec_argv(&["sleep", "60"]).validate().unwrap();
    let stdio = StdioSpec {
        stdin: StdioSource::Null,
        stdout: StdioSource::Null,
        stderr: StdioSource::Null,
    };
    let container = runtime().spawn(&spec, stdio).unwrap();
    let pid = nix::unistd::Pid::from_raw(container.pid());
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL).unwrap();
    let status = container.wait().unwrap();
    assert_eq!(status, ExitStatus::Signaled(9));
    assert_eq!(status.code(), 137);
}

#[test]
fn a_missing_or_unexecutable_program_is_named() {
    require_root!();
    let fixture = Fixture::new();
    let err = fixture
        .run(fixture.spec_argv(&["nosuch", "arg"]))
        .result
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "exec: \"nosuch\": executable file not found in $PATH"
    );
    assert_eq!(err.exit_code(), 127);

    let err = fixture
        .run(fixture.spec_argv(&["/bin/nosuch"]))
        .result
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "exec: \"/bin/nosuch\": no such file or directory"
    );
    assert_eq!(err.exit_code(), 127);

    let err = fixture
        .run(fixture.spec_argv(&["/etc/motd"]))
        .result
        .unwrap_err();
    assert!(matches!(
        err,
        RuntimeError::Exec {
            failure: ExecFailure::PermissionDenied,
            ..
        }
    ));
    assert_eq!(err.exit_code(), 126);
}

#[test]
fn setup_failures_name_the_step_and_the_errno() {
    require_root!();
    let fixture = Fixture::new();
    let mut spec = fixture.spec("true");
    spec.mounts = vec![Mount::Bind {
        source: fixture.path("no-such-source"),
        target: PathBuf::from("/data"),
        readonly: false,
        copy_up: false,
    }];
    let err = fixture.run(spec).result.unwrap_err();
    match &err {
        RuntimeError::Setup { step, errno } => {
            assert_eq!(
                *step,
                Step::Mount {
                    target: PathBuf::from("/data")
                }
            );
            assert_eq!(*errno, nix::errno::Errno::ENOENT);
        }
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(err.to_string(), "mounting /data");
    assert_eq!(err.exit_code(), 125);
}

#[test]
fn a_bind_target_through_a_symlink_stays_in_the_rootfs() {
    require_root!();
    let fixture = Fixture::new();
    // In the image: /link -> /etc and /up -> ../../../../etc, as a hostile image could.
    symlink("/etc", fixture.path("top/link")).unwrap();
    symlink("../../../../etc", fixture.path("top/up")).unwrap();
    let source = fixture.path("src");
    fs::create_dir(&source).unwrap();
    fs::write(source.join("marker"), "from the host\n").unwrap();
    let file = fixture.path("file-src");
    fs::write(&file, "file\n").unwrap();
    let unique = format!("rcompose-test-{}", std::process::id());
    let mut spec = fixture.spec(&format!(
        "cat /etc/{unique}-dir/marker /etc/{unique}-file; ls /etc"
    ));
    spec.mounts = vec![
        Mount::Bind {
            source: source.clone(),
            target: PathBuf::from(format!("/link/{unique}-dir")),
            readonly: false,
            copy_up: false,
        },
        Mount::Bind {
            source: file,
            target: PathBuf::from(format!("/up/{unique}-file")),
            readonly: true,
            copy_up: false,
        },
    ];
    let out = fixture.run(spec).ok();
    assert_eq!(
        out,
        format!("from the host\nfile\nmotd\n{unique}-dir\n{unique}-file\n")
    );
    // The targets were created in the container's layer, never on the host.
    assert!(fixture.path(&format!("upper/etc/{unique}-dir")).is_dir());
    assert!(fixture.path(&format!("upper/etc/{unique}-file")).is_file());
    assert!(!Path::new(&format!("/etc/{unique}-dir")).exists());
    assert!(!Path::new(&format!("/etc/{unique}-file")).exists());

    // A bind over the symlink itself lands on the rootfs's /etc.
    let mut spec = fixture.spec("ls /etc");
    spec.mounts = vec![Mount::Bind {
        source,
        target: PathBuf::from("/link"),
        readonly: true,
        copy_up: false,
    }];
    assert_eq!(fixture.run(spec).ok(), "marker\n");
    assert!(!Path::new("/etc/marker").exists());
}

#[test]
fn read_only_rootfs_tmpfs_and_etc_files() {
    require_root!();
    let fixture = Fixture::new();
    let hosts = fixture.path("hosts");
    fs::write(&hosts, "127.0.0.1 localhost\n10.0.0.2 db\n").unwrap();
    let mut spec = fixture.spec(
        "if touch /x 2>/dev/null; then echo wrote; else echo refused; fi; \
         touch /scratch/x && echo tmpfs-ok; stat -c %a /scratch; \
         grep ' /scratch ' /proc/self/mounts | cut -d' ' -f4; \
         cat /etc/hosts; if echo x 2>/dev/null >> /etc/hosts; then echo wrote; else echo refused; fi",
    );
    spec.readonly_rootfs = true;
    spec.mounts = vec![Mount::Tmpfs {
        target: PathBuf::from("/scratch"),
        size: Some(1 << 20),
        mode: Some(0o750),
    }];
    spec.etc_files.hosts = Some(hosts.clone());
    assert_eq!(
        fixture.run(spec).ok(),
        "refused\ntmpfs-ok\n750\nrw,nosuid,nodev,noexec,relatime,size=1024k,mode=750\n\
         127.0.0.1 localhost\n10.0.0.2 db\nrefused\n"
    );
    assert_eq!(
        fs::read_to_string(&hosts).unwrap(),
        "127.0.0.1 localhost\n10.0.0.2 db\n"
    );
}

#[test]
fn dev_has_the_usual_nodes_and_mounts() {
    require_root!();
    let fixture = Fixture::new();
    let script = "stat -c '%n %F %t,%T %a' /dev/null /dev/zero /dev/full /dev/random /dev/urandom /dev/tty; \
                  readlink /dev/fd; readlink /dev/stdin; readlink /dev/ptmx; head -c 3 /dev/zero | wc -c; \
                  for m in /dev /dev/pts /dev/shm /dev/mqueue /sys; do \
                  grep \" $m \" /proc/self/mounts | cut -d' ' -f1,3,4; done";
    let out = fixture.run(fixture.spec(script)).ok();
    assert_eq!(
        out,
        "/dev/null character special file 1,3 666\n\
         /dev/zero character special file 1,5 666\n\
         /dev/full character special file 1,7 666\n\
         /dev/random character special file 1,8 666\n\
         /dev/urandom character special file 1,9 666\n\
         /dev/tty character special file 5,0 666\n\
         /proc/self/fd\n/proc/self/fd/0\npts/ptmx\n3\n\
         tmpfs tmpfs rw,nosuid,size=65536k,mode=755\n\
         devpts devpts rw,nosuid,noexec,relatime,gid=5,mode=620,ptmxmode=666\n\
         tmpfs tmpfs rw,nosuid,nodev,noexec,relatime,size=65536k\n\
         mqueue mqueue rw,nosuid,nodev,noexec,relatime\n\
         sysfs sysfs ro,nosuid,nodev,noexec,relatime\n"
    );
}
