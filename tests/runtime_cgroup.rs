//! Cgroups made for real on this host's cgroup filesystems: limits read back from the
//! kernel's files, a process moved in, killed and the cgroup removed. They need root; as
//! another user they pass with a "skipped" message (CI runs as root). Every test uses its
//! own cgroup under `rcompose-test/`, removed by a guard even when the test fails.

use rcompose::runtime::cgroup::{Cgroup, CgroupError, CgroupLimits, Hierarchy, V1Hierarchy};
use std::fs;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{SystemTime, UNIX_EPOCH};

mod common;

/// A name no other test (or run) uses: `rcompose-test/<pid>-<time>-<tag>/box`.
fn unique_name(tag: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!("rcompose-test/{}-{nanos}-{tag}/box", std::process::id())
}

/// The directory under `rcompose-test/` that the test's cgroup lives in.
fn test_dir(name: &str) -> &str {
    name.strip_suffix("/box").unwrap()
}

/// Kills the test's processes and removes its cgroup, also when the test failed.
struct Guard {
    cgroup: Cgroup,
    children: Vec<Child>,
}

impl Guard {
    fn new(cgroup: Cgroup) -> Guard {
        Guard {
            cgroup,
            children: Vec::new(),
        }
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = self.cgroup.remove();
    }
}

fn sleeper() -> Child {
    Command::new("sleep").arg("60").spawn().unwrap()
}

/// Moves `pid` into the cgroup, as the container's PID 1 does.
fn join(cgroup: &Cgroup, pid: u32) {
    for procs in cgroup.join().procs {
        fs::write(&procs, pid.to_string()).unwrap_or_else(|e| panic!("{}: {e}", procs.display()));
    }
}

fn v1_hierarchies() -> Option<Vec<V1Hierarchy>> {
    match Hierarchy::detect().unwrap() {
        Hierarchy::V1 { hierarchies } => Some(hierarchies),
        Hierarchy::V2 { .. } => {
            eprintln!("skipped: this host's controllers are on cgroup v2");
            None
        }
    }
}

fn mount_of<'a>(hierarchies: &'a [V1Hierarchy], controller: &str) -> &'a Path {
    &hierarchies
        .iter()
        .find(|h| h.controllers.iter().any(|c| c == controller))
        .unwrap_or_else(|| panic!("no {controller} hierarchy"))
        .mount
}

fn read(path: PathBuf) -> String {
    fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The cgroup2 mount of this host, if any (on hybrid hosts, the unified hierarchy).
fn cgroup2_root() -> Option<PathBuf> {
    let mountinfo = fs::read_to_string("/proc/self/mountinfo").unwrap();
    let root = mountinfo.lines().find_map(|line| {
        let (fields, rest) = line.split_once(" - ")?;
        let point = fields.split(' ').nth(4)?;
        rest.starts_with("cgroup2 ").then(|| PathBuf::from(point))
    });
    if root.is_none() {
        eprintln!("skipped: no cgroup2 mount on this host");
    }
    root
}

#[test]
fn v1_limits_are_written_and_the_cgroup_killed_and_removed() {
    require_root!();
    let Some(hierarchies) = v1_hierarchies() else {
        return;
    };
    let hierarchy = Hierarchy::V1 {
        hierarchies: hierarchies.clone(),
    };
    let name = unique_name("limits");
    let limits = CgroupLimits {
        memory: Some(64 << 20),
        memory_swap: Some(128 << 20),
        cpus: Some(1.5),
        cpu_shares: Some(512),
        cpuset_cpus: Some("0".to_string()),
        cpuset_mems: Some("0".to_string()),
        pids: Some(50),
    };
    let mut guard = Guard::new(hierarchy.create(&name, &limits).unwrap());
    let cgroup = guard.cgroup.clone();
    assert!(cgroup.exists());

    let file = |controller: &str, file: &str| {
        read(mount_of(&hierarchies, controller).join(&name).join(file))
    };
    assert_eq!(file("memory", "memory.limit_in_bytes"), "67108864\n");
    assert_eq!(file("memory", "memory.memsw.limit_in_bytes"), "134217728\n");
    assert_eq!(file("cpu", "cpu.cfs_period_us"), "100000\n");
    assert_eq!(file("cpu", "cpu.cfs_quota_us"), "150000\n");
    assert_eq!(file("cpu", "cpu.shares"), "512\n");
    assert_eq!(file("cpuset", "cpuset.cpus"), "0\n");
    assert_eq!(file("cpuset", "cpuset.mems"), "0\n");
    assert_eq!(file("pids", "pids.max"), "50\n");
    // The new parent got the root's CPUs and memory nodes.
    let cpuset = mount_of(&hierarchies, "cpuset");
    for file in ["cpuset.cpus", "cpuset.mems"] {
        assert_eq!(
            read(cpuset.join(test_dir(&name)).join(file)),
            read(cpuset.join(file))
        );
    }

    guard.children.push(sleeper());
    let pid = guard.children[0].id();
    join(&cgroup, pid);
    assert_eq!(cgroup.pids().unwrap(), [pid as i32]);
    let own = read(PathBuf::from(format!("/proc/{pid}/cgroup")));
    for hierarchy in &hierarchies {
        let line = format!(":{}:/{name}", hierarchy.options);
        assert!(own.lines().any(|l| l.ends_with(&line)), "{line} in\n{own}");
    }

    cgroup.kill().unwrap();
    let status = guard.children[0].wait().unwrap();
    assert_eq!(status.signal(), Some(9));
    assert!(!Path::new(&format!("/proc/{pid}")).exists());
    cgroup.remove().unwrap();
    assert!(!cgroup.exists());
    for hierarchy in &hierarchies {
        // `rcompose-test` itself goes too once no other test's cgroup is under it.
        assert!(!hierarchy.mount.join(test_dir(&name)).exists());
    }
}

#[test]
fn a_value_the_kernel_refuses_is_named_and_leaves_no_cgroup() {
    require_root!();
    let Some(hierarchies) = v1_hierarchies() else {
        return;
    };
    let hierarchy = Hierarchy::V1 {
        hierarchies: hierarchies.clone(),
    };
    let name = unique_name("refused");
    let _guard = Guard::new(hierarchy.open(&name));
    let limits = CgroupLimits {
        memory: Some(64 << 20),
        cpuset_cpus: Some("999".to_string()),
        ..CgroupLimits::default()
    };
    let err = hierarchy.create(&name, &limits).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "cannot set cpuset_cpus: writing \"999\" to {}/{name}/cpuset.cpus failed (ERANGE: Math \
             result not representable): list only CPUs this host has \
             (/sys/devices/system/cpu/online), like \"0-1\" or \"0,2\"",
            mount_of(&hierarchies, "cpuset").display()
        )
    );
    assert!(!hierarchy.open(&name).exists());
    for hierarchy in &hierarchies {
        assert!(!hierarchy.mount.join(test_dir(&name)).exists());
    }

    let limits = CgroupLimits {
        cpuset_mems: Some("7".to_string()),
        ..CgroupLimits::default()
    };
    let err = hierarchy.create(&name, &limits).unwrap_err();
    assert!(
        matches!(
            err,
            CgroupError::Limit {
                limit: "cpuset_mems",
                ..
            }
        ),
        "{err}"
    );
    assert!(err
        .to_string()
        .contains("(EINVAL: Invalid argument): list only memory nodes"));
    assert!(!hierarchy.open(&name).exists());
}

#[test]
fn v2_cgroups_are_created_joined_and_removed_with_their_processes() {
    require_root!();
    let Some(root) = cgroup2_root() else {
        return;
    };
    let hierarchy = Hierarchy::V2 { root: root.clone() };
    let name = unique_name("v2");
    let mut guard = Guard::new(hierarchy.create(&name, &CgroupLimits::default()).unwrap());
    let cgroup = guard.cgroup.clone();
    assert!(root.join(&name).join("cgroup.procs").is_file());

    guard.children.push(sleeper());
    let pid = guard.children[0].id();
    join(&cgroup, pid);
    assert_eq!(cgroup.pids().unwrap(), [pid as i32]);
    assert!(read(PathBuf::from(format!("/proc/{pid}/cgroup")))
        .lines()
        .any(|line| line == format!("0::/{name}")));

    // remove() kills (cgroup.kill) and waits until the process is gone; its parent
    // reaps it meanwhile.
    let mut child = guard.children.remove(0);
    let reaper = std::thread::spawn(move || child.wait().unwrap());
    cgroup.remove().unwrap();
    assert_eq!(reaper.join().unwrap().signal(), Some(9));
    assert!(!cgroup.exists());
    assert!(!root.join(test_dir(&name)).exists());
}

#[test]
fn v2_limits_need_their_controller() {
    require_root!();
    let Some(root) = cgroup2_root() else {
        return;
    };
    let hierarchy = Hierarchy::V2 { root: root.clone() };
    let name = unique_name("v2-pids");
    let _guard = Guard::new(hierarchy.open(&name));
    let limits = CgroupLimits {
        pids: Some(50),
        ..CgroupLimits::default()
    };
    let available = read(root.join("cgroup.controllers"));
    if available.split_whitespace().any(|c| c == "pids") {
        let cgroup = hierarchy.create(&name, &limits).unwrap();
        assert_eq!(read(root.join(&name).join("pids.max")), "50\n");
        cgroup.remove().unwrap();
    } else {
        // A hybrid host: pids is bound to v1.
        assert_eq!(
            hierarchy.create(&name, &limits).unwrap_err().to_string(),
            format!(
                "cannot set pids: cgroup v2 at {} has no pids controller (its \
                 cgroup.controllers lists {:?}; the controller may be bound to a cgroup v1 \
                 hierarchy, or disabled on the kernel command line); leave pids unset",
                root.display(),
                available.trim()
            )
        );
    }
    assert!(!root.join(test_dir(&name)).exists());
}
