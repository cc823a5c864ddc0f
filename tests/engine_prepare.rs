//! Root tests: a container prepared by `engine::prepare` from an imported busybox image
//! runs, and shows from inside what the plan asked for (user, hostname, hosts, volume
//! copy-up, cgroup limit, log and exit files).

mod common;

use common::Fixture;
use indexmap::IndexMap;
use rcompose::engine::prepare::{destroy, prepare};
use rcompose::engine::state::State;
use rcompose::engine::Layout;
use rcompose::image::{ImageStore, Reference};
use rcompose::plan::{ContainerPlan, PlannedMount};
use rcompose::runtime::cgroup::{Cgroup, CgroupLimits, Hierarchy};
use rcompose::runtime::logfile::{tail, Stream};
use rcompose::runtime::process::read_exit_file;
use rcompose::runtime::{ExitStatus, Network, Seccomp, StdioSource, StdioSpec};
use std::collections::BTreeMap;
use std::fs;
use std::path::PathBuf;
use std::time::Duration;

const ID: &str = "5e1f0000000000000000000000000000000000000000000000000000000000aa";

/// Removes the test's cgroup, also when the test failed.
struct CgroupGuard(Cgroup);

impl Drop for CgroupGuard {
    fn drop(&mut self) {
        let _ = self.0.remove();
    }
}

fn plan(script: &str) -> ContainerPlan {
    ContainerPlan {
        argv: ["sh", "-c", script].map(str::to_string).to_vec(),
        env: IndexMap::from([("PATH".to_string(), "/bin".to_string())]),
        cwd: PathBuf::from("/"),
        user: "app".to_string(),
        group_add: vec!["123".to_string()],
        hostname: "web".to_string(),
        domainname: None,
        mounts: vec![PlannedMount::Volume {
            name: "demo_data".to_string(),
            target: PathBuf::from("/data"),
            readonly: false,
            nocopy: false,
            external: false,
        }],
        volumes_from: Vec::new(),
        readonly_rootfs: false,
        privileged: false,
        cap_add: Vec::new(),
        cap_drop: Vec::new(),
        no_new_privileges: false,
        seccomp: Seccomp::Default,
        sysctls: IndexMap::new(),
        rlimits: Vec::new(),
        devices: Vec::new(),
        shm_size: 64 * 1024 * 1024,
        init: false,
        tty: false,
        stdin_open: false,
        stop_signal: 15,
        stop_grace_period: Duration::from_secs(10),
        limits: CgroupLimits {
            memory: Some(48 * 1024 * 1024),
            ..CgroupLimits::default()
        },
        network: Network::None,
        networking: rcompose::plan::network::Networking::None,
        dns: Vec::new(),
        dns_search: Vec::new(),
        dns_opt: Vec::new(),
        extra_hosts: Vec::new(),
        healthcheck: None,
        labels: BTreeMap::new(),
    }
}

#[test]
fn a_prepared_container_runs_as_planned() {
    require_root!();
    let fixture = Fixture::new();
    let base = fixture.path("base");
    fs::write(
        base.join("etc/passwd"),
        "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n",
    )
    .unwrap();
    fs::write(
        base.join("etc/group"),
        "root:x:0:\napp:x:1000:\nvideo:x:44:app\n",
    )
    .unwrap();
    fs::create_dir_all(base.join("data")).unwrap();
    fs::write(base.join("data/seed"), "from the image\n").unwrap();
    // The volume's root takes the owner of the image's /data, so app can write there.
    std::os::unix::fs::chown(base.join("data"), Some(1000), Some(1000)).unwrap();
    let mut tar = tar::Builder::new(Vec::new());
    tar.follow_symlinks(false);
    tar.append_dir_all(".", &base).unwrap();
    let tar = tar.into_inner().unwrap();

    let layout = Layout::new(Some(fixture.path("root")));
    fs::create_dir_all(layout.root()).unwrap();
    let state = State::open(&layout.state_db()).unwrap();
    let mut images = ImageStore::open(layout.root()).unwrap();
    let reference = Reference::parse("bb:latest").unwrap();
    let image = images.import_rootfs(&tar[..], &reference, &[]).unwrap();
    let hierarchy = Hierarchy::detect().unwrap();
    let _guard = CgroupGuard(hierarchy.open(&format!("{}/{ID}", layout.cgroup_parent())));

    let script = "id -u; id -G; hostname; tail -n 1 /etc/hosts; cat /data/seed; \
                  echo written > /data/new; \
                  cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null \
                  || cat /sys/fs/cgroup/memory.max; exit 3";
    let prepared = prepare(
        &layout,
        &state,
        &images,
        &image,
        &plan(script),
        ID,
        "demo",
        Some(&hierarchy),
    )
    .unwrap();
    let null = StdioSpec {
        stdin: StdioSource::Null,
        stdout: StdioSource::Null,
        stderr: StdioSource::Null,
    };
    let status = common::runtime()
        .spawn(&prepared.spec, null)
        .and_then(|c| c.wait())
        .unwrap();
    assert_eq!(status, ExitStatus::Exited(3));

    let log = prepared.dir.join("log.json");
    let lines: Vec<(Stream, String)> = tail(&log, 100)
        .unwrap()
        .into_iter()
        .map(|e| (e.stream, e.log))
        .collect();
    let expected = [
        "1000\n",
        "1000 44 123\n",
        "web\n",
        "127.0.1.1\tweb\n",
        "from the image\n",
        "50331648\n",
    ];
    assert_eq!(
        lines,
        expected
            .iter()
            .map(|l| (Stream::Stdout, l.to_string()))
            .collect::<Vec<_>>()
    );
    assert_eq!(
        read_exit_file(&prepared.dir.join("exit.json")),
        Some(ExitStatus::Exited(3))
    );
    let data = layout.volumes().join("demo_data/_data");
    assert_eq!(
        fs::read_to_string(data.join("seed")).unwrap(),
        "from the image\n"
    );
    assert_eq!(fs::read_to_string(data.join("new")).unwrap(), "written\n");

    let cgroup = prepared.cgroup.as_ref().unwrap();
    destroy(&layout, ID, Some(cgroup)).unwrap();
    assert!(!cgroup.exists());
    assert!(!prepared.dir.exists());
    assert_eq!(fixture.mounts_under(), Vec::<String>::new());
}
