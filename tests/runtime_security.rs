//! What a container's init does beyond namespaces and mounts, seen from inside real
//! containers (see tests/common): Docker's seccomp profile, the container's cgroup and
//! its read-only view, sysctls, ulimits, host devices and the copy-up of new volumes.
//! They need root; as another user they pass with a "skipped" message.

use rcompose::runtime::{
    CgroupJoin, CgroupMount, CgroupV1Mount, ContainerSpec, Device, Mount, Network, Rlimit,
    RuntimeError, Seccomp, Step,
};
use std::fs;
use std::os::unix::fs::{lchown, symlink, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

mod common;
use common::Fixture;

/// The `Seccomp:` line of the container's /proc/self/status.
fn seccomp_mode(fixture: &Fixture, seccomp: Seccomp) -> String {
    let mut spec = fixture.spec("grep '^Seccomp:' /proc/self/status");
    spec.seccomp = seccomp;
    fixture.run(spec).ok()
}

#[test]
fn the_default_profile_filters_and_unconfined_does_not() {
    require_root!();
    let fixture = Fixture::new();
    assert_eq!(seccomp_mode(&fixture, Seccomp::Default), "Seccomp:\t2\n");
    assert_eq!(seccomp_mode(&fixture, Seccomp::Unconfined), "Seccomp:\t0\n");
}

/// `unshare -U` needs no capability (anyone may make a user namespace), but the
/// profile allows `unshare` only with CAP_SYS_ADMIN.
fn unshare_user_ns(fixture: &Fixture, change: impl FnOnce(&mut ContainerSpec)) -> String {
    let mut spec = fixture.spec("if unshare -U true; then echo allowed; else echo refused; fi");
    change(&mut spec);
    let ran = fixture.run(spec);
    let stderr = ran.stderr.clone();
    stderr + &ran.ok()
}

#[test]
fn a_call_the_capabilities_allow_but_the_profile_does_not_fails_with_eperm() {
    require_root!();
    let fixture = Fixture::new();
    assert_eq!(
        unshare_user_ns(&fixture, |_| {}),
        "unshare: unshare(0x10000000): Operation not permitted\nrefused\n"
    );
    assert_eq!(
        unshare_user_ns(&fixture, |spec| spec.seccomp = Seccomp::Unconfined),
        "allowed\n"
    );
    // CAP_SYS_ADMIN opens its group of the profile.
    assert_eq!(
        unshare_user_ns(&fixture, |spec| spec.cap_add = vec!["SYS_ADMIN".into()]),
        "allowed\n"
    );
    // Threads and processes are still made (clone without namespace flags), and a
    // non-root user runs under the same filter.
    let mut spec = fixture.spec("sleep 0 & wait; echo $?; grep '^Seccomp:' /proc/self/status");
    spec.user.uid = 1000;
    assert_eq!(fixture.run(spec).ok(), "0\nSeccomp:\t2\n");
}

static NEXT: AtomicUsize = AtomicUsize::new(0);

/// A cgroup made by hand for one test, removed (rmdir) when dropped, also when the
/// test failed.
struct TestCgroup {
    dir: PathBuf,
}

impl TestCgroup {
    /// A fresh cgroup under the hierarchy mounted at `hierarchy`, or `None` when the
    /// host has no such hierarchy.
    fn new(hierarchy: &str) -> Option<TestCgroup> {
        let root = Path::new(hierarchy);
        if !root.join("cgroup.procs").exists() {
            eprintln!("skipped: no cgroup hierarchy at {hierarchy}");
            return None;
        }
        let name = format!(
            "rcompose-test-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let dir = root.join(name);
        fs::create_dir(&dir).unwrap();
        Some(TestCgroup { dir })
    }
}

impl Drop for TestCgroup {
    fn drop(&mut self) {
        // The container has exited; its cgroup empties as the kernel reaps it.
        for _ in 0..50 {
            if fs::remove_dir(&self.dir).is_ok() {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        eprintln!("could not remove the test cgroup {}", self.dir.display());
    }
}

#[test]
fn pid_1_joins_its_v1_cgroup_and_sees_it_read_only() {
    require_root!();
    let Some(cgroup) = TestCgroup::new("/sys/fs/cgroup/memory") else {
        return;
    };
    fs::write(cgroup.dir.join("memory.limit_in_bytes"), "67108864").unwrap();
    let fixture = Fixture::new();
    let mut spec = fixture.spec(
        "cat /sys/fs/cgroup/memory/memory.limit_in_bytes; grep ':memory:' /proc/self/cgroup; \
         if echo 1 > /sys/fs/cgroup/memory/memory.limit_in_bytes; then echo wrote; \
         else echo refused; fi; if mkdir /sys/fs/cgroup/other; then echo made; \
         else echo refused; fi; ls /sys/fs/cgroup",
    );
    spec.cgroup = Some(CgroupJoin {
        procs: vec![cgroup.dir.join("cgroup.procs")],
        mount: CgroupMount::V1 {
            hierarchies: vec![CgroupV1Mount {
                dir: "memory".to_string(),
                options: "memory".to_string(),
            }],
        },
    });
    let ran = fixture.run(spec);
    assert_eq!(
        ran.stderr,
        "sh: can't create /sys/fs/cgroup/memory/memory.limit_in_bytes: Read-only file system\n\
         mkdir: can't create directory '/sys/fs/cgroup/other': Read-only file system\n"
    );
    // The container's cgroup is the root of its cgroup namespace.
    assert_eq!(ran.ok(), "67108864\n4:memory:/\nrefused\nrefused\nmemory\n");
}

#[test]
fn pid_1_joins_its_v2_cgroup_and_sees_it_read_only() {
    require_root!();
    // This host mounts cgroup2 at /sys/fs/cgroup/unified, others at /sys/fs/cgroup.
    let hierarchy = ["/sys/fs/cgroup/unified", "/sys/fs/cgroup"]
        .into_iter()
        .find(|dir| {
            fs::read_to_string("/proc/self/mountinfo")
                .unwrap()
                .lines()
                .any(|line| line.contains(&format!(" {dir} ")) && line.contains(" - cgroup2 "))
        });
    let Some(cgroup) = hierarchy.and_then(TestCgroup::new) else {
        eprintln!("skipped: no cgroup2 mount");
        return;
    };
    let fixture = Fixture::new();
    let mut spec = fixture.spec(
        "grep '^0::' /proc/self/cgroup; cat /sys/fs/cgroup/cgroup.procs; \
         if mkdir /sys/fs/cgroup/sub 2>/dev/null; then echo made; else echo refused; fi",
    );
    spec.cgroup = Some(CgroupJoin {
        procs: vec![cgroup.dir.join("cgroup.procs")],
        mount: CgroupMount::V2,
    });
    // Only PID 1 (the shell) and the cat it runs are in the container's cgroup.
    let out = fixture.run(spec).ok();
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 4, "{out}");
    assert_eq!(lines[0], "0::/");
    assert_eq!(lines[1], "1");
    assert_eq!(lines[3], "refused");
}

#[test]
fn namespaced_sysctls_are_written_before_proc_sys_becomes_read_only() {
    require_root!();
    let fixture = Fixture::new();
    let mut spec = fixture.spec(
        "cat /proc/sys/kernel/shmmax /proc/sys/net/ipv4/ip_forward; \
         if echo 1 2>/dev/null > /proc/sys/kernel/shmmax; then echo wrote; \
         else echo refused; fi",
    );
    spec.sysctls
        .insert("kernel.shmmax".to_string(), "68719476736".to_string());
    spec.sysctls
        .insert("net.ipv4.ip_forward".to_string(), "1".to_string());
    assert_eq!(fixture.run(spec).ok(), "68719476736\n1\nrefused\n");
    // The host's values are untouched.
    assert_ne!(
        fs::read_to_string("/proc/sys/kernel/shmmax").unwrap(),
        "68719476736\n"
    );
}

#[test]
fn a_host_wide_sysctl_is_refused_before_anything_runs() {
    let fixture = Fixture::new();
    let mut spec = fixture.spec("true");
    spec.sysctls
        .insert("kernel.pid_max".to_string(), "4096".to_string());
    let err = spec.validate().unwrap_err();
    assert!(
        err.to_string()
            .starts_with("sysctls.kernel.pid_max: not a namespaced kernel parameter"),
        "{err}"
    );
    let mut spec = fixture.spec("true");
    spec.network = Network::Host;
    spec.sysctls
        .insert("net.core.somaxconn".to_string(), "1024".to_string());
    assert!(spec.validate().is_err());
}

/// The hard limit on open files of this process (the container's helper inherits it).
fn nofile_hard_limit() -> u64 {
    let limits = fs::read_to_string("/proc/self/limits").unwrap();
    let line = limits
        .lines()
        .find(|line| line.starts_with("Max open files"))
        .unwrap();
    line.split_whitespace().nth(4).unwrap().parse().unwrap()
}

#[test]
fn ulimits_are_set_and_a_refused_one_is_explained() {
    require_root!();
    let fixture = Fixture::new();
    let mut spec = fixture.spec("ulimit -Sn; ulimit -Hn; ulimit -Sc");
    spec.rlimits = vec![
        Rlimit {
            name: "nofile".to_string(),
            soft: 256,
            hard: 512,
        },
        Rlimit {
            name: "core".to_string(),
            soft: 0,
            hard: 0,
        },
    ];
    assert_eq!(fixture.run(spec).ok(), "256\n512\n0\n");

    // Above the hard limit: this machine's root lacks CAP_SYS_RESOURCE; past
    // fs.nr_open no one may go, so that is the limit asked for where root has it.
    let has_sys_resource = fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .find_map(|line| line.strip_prefix("CapEff:"))
        .map(|bits| u64::from_str_radix(bits.trim(), 16).unwrap() & (1 << 24) != 0)
        .unwrap();
    let hard = if has_sys_resource {
        fs::read_to_string("/proc/sys/fs/nr_open")
            .unwrap()
            .trim()
            .parse::<u64>()
            .unwrap()
            + 1
    } else {
        nofile_hard_limit() + 1
    };
    let mut spec = fixture.spec("true");
    spec.rlimits = vec![Rlimit {
        name: "nofile".to_string(),
        soft: 1024,
        hard,
    }];
    let err = fixture.run(spec).result.unwrap_err();
    assert!(
        matches!(
            &err,
            RuntimeError::Setup {
                step: Step::RlimitRefused { .. },
                errno: nix::errno::Errno::EPERM,
            }
        ),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        format!(
            "ulimit nofile=1024:{hard}: the kernel refused (raising a hard limit needs \
             CAP_SYS_RESOURCE)"
        )
    );
    assert_eq!(err.exit_code(), 125);
}

#[test]
fn a_host_device_is_made_at_its_target() {
    require_root!();
    let fixture = Fixture::new();
    let mut spec = fixture.spec(
        "stat -c '%t:%T %a %F' /dev/myzero /dev/input/null; \
         head -c 4 /dev/myzero | od -An -tx1; echo hi > /dev/input/null",
    );
    spec.devices = vec![
        Device {
            source: PathBuf::from("/dev/zero"),
            target: PathBuf::from("/dev/myzero"),
            permissions: "rwm".to_string(),
        },
        Device {
            source: PathBuf::from("/dev/null"),
            target: PathBuf::from("/dev/input/null"),
            permissions: "rw".to_string(),
        },
    ];
    assert_eq!(
        fixture.run(spec).ok(),
        "1:5 666 character special file\n1:3 666 character special file\n 00 00 00 00\n"
    );

    let mut spec = fixture.spec("true");
    spec.devices = vec![Device {
        source: PathBuf::from("/etc/hostname"),
        target: PathBuf::from("/dev/host"),
        permissions: "r".to_string(),
    }];
    // Not a device node: refused, with the target named.
    match fixture.run(spec).result.unwrap_err() {
        RuntimeError::Setup { step, errno } => {
            assert_eq!(step.to_string(), "creating the device /dev/host");
            assert_eq!(errno, nix::errno::Errno::ENODEV);
        }
        other => panic!("unexpected {other:?}"),
    }
}

/// A volume at /var/lib/data of an image that has content there.
fn copy_up_spec(fixture: &Fixture, volume: &Path, copy_up: bool) -> ContainerSpec {
    let mut spec = fixture.spec("ls -A /var/lib/data; cat /var/lib/data/hello 2>/dev/null || true");
    spec.mounts = vec![Mount::Bind {
        source: volume.to_path_buf(),
        target: PathBuf::from("/var/lib/data"),
        readonly: false,
        copy_up,
    }];
    spec
}

#[test]
fn copy_up_fills_an_empty_volume_and_leaves_others_alone() {
    require_root!();
    let fixture = Fixture::new();
    let data = fixture.path("base/var/lib/data");
    fs::create_dir_all(data.join("sub")).unwrap();
    fs::write(data.join("hello"), "from the image\n").unwrap();
    fs::set_permissions(data.join("hello"), fs::Permissions::from_mode(0o640)).unwrap();
    lchown(data.join("hello"), Some(123), Some(456)).unwrap();
    symlink("/etc/motd", data.join("sub/motd")).unwrap();
    fs::set_permissions(&data, fs::Permissions::from_mode(0o750)).unwrap();
    lchown(&data, Some(70), Some(71)).unwrap();

    let volume = fixture.path("volume");
    fs::create_dir(&volume).unwrap();
    let ran = fixture.run(copy_up_spec(&fixture, &volume, true));
    assert_eq!(ran.ok(), "hello\nsub\nfrom the image\n");
    let meta = fs::metadata(volume.join("hello")).unwrap();
    assert_eq!(
        (meta.mode() & 0o7777, meta.uid(), meta.gid()),
        (0o640, 123, 456)
    );
    assert_eq!(
        fs::read_link(volume.join("sub/motd")).unwrap(),
        Path::new("/etc/motd")
    );
    let root = fs::metadata(&volume).unwrap();
    assert_eq!(
        (root.mode() & 0o7777, root.uid(), root.gid()),
        (0o750, 70, 71)
    );

    // A volume with content keeps it, and the image's content is hidden by it.
    let used = fixture.path("used");
    fs::create_dir(&used).unwrap();
    fs::write(used.join("mine"), "mine\n").unwrap();
    assert_eq!(
        fixture.run(copy_up_spec(&fixture, &used, true)).ok(),
        "mine\n"
    );
    assert_eq!(fs::read_dir(&used).unwrap().count(), 1);

    // Without copy_up (a bind mount), an empty directory stays empty.
    let bind = fixture.path("bind");
    fs::create_dir(&bind).unwrap();
    assert_eq!(fixture.run(copy_up_spec(&fixture, &bind, false)).ok(), "");
    assert_eq!(fs::read_dir(&bind).unwrap().count(), 0);
}
