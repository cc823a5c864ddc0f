//! What a service's keys do to its container, observed from inside with exact values:
//! each test runs `rcompose --root <temp dir> -f compose.yaml run --rm -T SERVICE ...`
//! (the real binary, with an engine of its own) on a busybox image, then stops its
//! engine and checks that no process, mount or cgroup of it is left; a guard cleans up
//! also when it fails. They need root; as another user they pass with a "skipped"
//! message (CI runs as root).

use common::root::{text, TestRoot, EXE};
use rcompose::engine::protocol::{Reply, Request};
use rcompose::engine::Client;
use std::fs;
use std::path::PathBuf;
use std::process::Output;
use std::time::{Duration, Instant};

mod common;

/// The image's users: `app` (1000:1000), member of `audio` (29).
const PASSWD: &str = "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n";
const GROUP: &str = "root:x:0:\naudio:x:29:app\nstaff:x:50:\napp:x:1000:\n";
/// What the image has at `/seed`, for a new volume's copy-up.
const SEED: &str = "from the image\n";

/// A root with the busybox image `bb:latest` (users above, `/seed/hello`, the
/// variables A to D set to `image`) and `compose.yaml` of the project `project`.
fn setup(project: &str, compose: &str) -> TestRoot {
    let root = TestRoot::new(project);
    root.import(
        &[
            ("etc/passwd", PASSWD),
            ("etc/group", GROUP),
            ("seed/hello", SEED),
        ],
        &[
            "bb:latest",
            "--change",
            "ENV A=image B=image C=image D=image",
        ],
    );
    root.compose(compose);
    root
}

/// `rcompose -f compose.yaml run --rm -T ARGS`.
fn run(root: &TestRoot, args: &[&str]) -> Output {
    let mut all = vec!["-f", "compose.yaml", "run", "--rm", "-T"];
    all.extend_from_slice(args);
    root.run(&all)
}

/// [`run`], asserting that it exits 0 and prints nothing on stderr; its output.
fn output(root: &TestRoot, args: &[&str]) -> String {
    let out = run(root, args);
    assert_eq!(
        (out.status.code(), text(&out.stderr)),
        (Some(0), String::new()),
        "{args:?}\nstdout: {}\nengine log: {}",
        text(&out.stdout),
        root.engine_log()
    );
    text(&out.stdout)
}

/// [`run`], asserting that the engine refused it (125) with `message`, printed
/// nothing else and left no container behind.
fn refused(root: &TestRoot, args: &[&str], message: &str) {
    let out = run(root, args);
    assert_eq!(out.status.code(), Some(125), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "");
    assert_eq!(text(&out.stderr), format!("rcompose: {message}\n"));
    assert_eq!(root.container_dirs(), Vec::<String>::new());
}

/// A service of `bb:latest` without a network, with more `keys` (indented by 4).
fn service(name: &str, keys: &str) -> String {
    format!("  {name}:\n    image: bb:latest\n    network_mode: none\n{keys}")
}

#[test]
fn user_groups_working_dir_environment_hostname_and_domainname() {
    require_root!();
    let root = setup(
        "identity",
        &format!(
            "services:\n{}",
            service(
                "who",
                "    user: app\n    group_add: [staff, \"4242\"]\n    working_dir: /srv/work\n    \
                 hostname: box\n    domainname: example.org\n    env_file: [who.env]\n    \
                 environment:\n      C: environment\n      D: environment\n"
            )
        ),
    );
    fs::write(root.path("who.env"), "B=file\nC=file\nD=file\n").unwrap();
    let stdout = output(
        &root,
        &[
            "-e",
            "D=run",
            "who",
            "sh",
            "-c",
            "id; pwd; echo $A $B $C $D; hostname; cat /etc/hostname \
             /proc/sys/kernel/domainname",
        ],
    );
    assert_eq!(
        stdout,
        "uid=1000(app) gid=1000(app) groups=29(audio),50(staff),4242\n\
         /srv/work\n\
         image file environment run\n\
         box\nbox\nexample.org\n"
    );
    // The supplementary groups are those listing the user plus group_add, as runc sets
    // them (the primary group is not repeated). The user by uid:gid, over the service's.
    assert_eq!(
        output(&root, &["-u", "0:29", "who", "id"]),
        "uid=0(root) gid=29(audio) groups=50(staff),4242\n"
    );
    root.wait_no_containers();
    root.finish();
}

#[test]
fn entrypoint_and_command_follow_composes_override_rules() {
    require_root!();
    let root = TestRoot::new("entry");
    root.import(
        &[],
        &[
            "bb:latest",
            "--change",
            r#"ENTRYPOINT ["echo", "image-entrypoint"]"#,
            "--change",
            r#"CMD ["image-command"]"#,
        ],
    );
    let entrypoint = "    entrypoint: [echo, service-entrypoint]\n";
    let command = "    command: [service-command]\n";
    root.compose(&format!(
        "services:\n{}{}{}{}",
        service("plain", ""),
        service("cmd", command),
        service("ep", entrypoint),
        service("both", &format!("{entrypoint}{command}")),
    ));
    let cases: [(&[&str], &str); 8] = [
        (&["plain"], "image-entrypoint image-command"),
        (&["cmd"], "image-entrypoint service-command"),
        // A service entrypoint drops the image's Cmd.
        (&["ep"], "service-entrypoint"),
        (&["both"], "service-entrypoint service-command"),
        (&["plain", "run-arg"], "image-entrypoint run-arg"),
        (&["both", "run-arg"], "service-entrypoint run-arg"),
        // --entrypoint without a command drops the service's command.
        (
            &["--entrypoint", "echo run-entrypoint", "both"],
            "run-entrypoint",
        ),
        (
            &["--entrypoint", "echo run-entrypoint", "both", "run-arg"],
            "run-entrypoint run-arg",
        ),
    ];
    for (args, expected) in cases {
        assert_eq!(output(&root, args), format!("{expected}\n"), "{args:?}");
    }
    // An empty --entrypoint clears it: the command runs alone.
    assert_eq!(
        output(&root, &["--entrypoint", "", "plain", "echo", "bare"]),
        "bare\n"
    );
    root.wait_no_containers();
    root.finish();
}

#[test]
fn binds_are_relative_to_the_project_and_a_missing_source_is_made_unless_forbidden() {
    require_root!();
    let root = setup("binds", "");
    // The project directory is the compose file's, not the working directory.
    fs::create_dir(root.path("project")).unwrap();
    fs::write(
        root.path("project/compose.yaml"),
        format!(
            "name: binds\nservices:\n{}{}",
            service("box", "    volumes:\n      - ./made/here:/mnt\n"),
            service(
                "strict",
                "    volumes:\n      - type: bind\n        source: ./absent\n        \
                 target: /mnt\n        bind: {create_host_path: false}\n"
            ),
        ),
    )
    .unwrap();
    let run_in = |args: &[&str]| {
        let mut all = vec!["-f", "project/compose.yaml", "run", "--rm", "-T"];
        all.extend_from_slice(args);
        root.run(&all)
    };
    let out = run_in(&["box", "sh", "-c", "echo written > /mnt/file; ls /mnt"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "file\n");
    assert_eq!(
        fs::read_to_string(root.path("project/made/here/file")).unwrap(),
        "written\n"
    );
    assert!(!root.path("made").exists());

    let out = run_in(&["strict", "true"]);
    assert_eq!(out.status.code(), Some(125), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stderr),
        format!(
            "rcompose: bind mount source path does not exist: {}: create it, or use the \
             short volume syntax (or `bind: create_host_path: true`) to have it created\n",
            root.path("project/absent").display()
        )
    );
    assert!(!root.path("project/absent").exists());
    assert_eq!(root.container_dirs(), Vec::<String>::new());
    root.wait_no_containers();
    root.finish();
}

#[test]
fn tmpfs_sizes_and_modes_and_a_read_only_root() {
    require_root!();
    let root = setup(
        "tmpfs",
        &format!(
            "services:\n{}",
            service(
                "box",
                "    read_only: true\n    tmpfs:\n      - /scratch:size=1m,mode=1770\n    \
                 volumes:\n      - type: tmpfs\n        target: /cache\n        \
                 tmpfs: {size: 2m, mode: 0700}\n"
            )
        ),
    );
    let stdout = output(
        &root,
        &[
            "box",
            "sh",
            "-c",
            "grep -E ' /(scratch|cache) ' /proc/mounts; touch /x 2>&1; \
             touch /scratch/x && echo scratch written; touch /cache/x && echo cache written",
        ],
    );
    assert_eq!(
        stdout,
        "tmpfs /cache tmpfs rw,nosuid,nodev,noexec,relatime,size=2048k,mode=700 0 0\n\
         tmpfs /scratch tmpfs rw,nosuid,nodev,noexec,relatime,size=1024k,mode=1770 0 0\n\
         touch: /x: Read-only file system\n\
         scratch written\n\
         cache written\n"
    );
    root.wait_no_containers();
    root.finish();
}

#[test]
fn named_volumes_are_filled_from_the_image_unless_nocopy_and_outlive_their_containers() {
    require_root!();
    let root = setup(
        "vols",
        &format!(
            "services:\n{}{}volumes:\n  data: {{}}\n  bare: {{}}\n",
            service("filled", "    volumes:\n      - data:/seed\n"),
            service(
                "bare",
                "    volumes:\n      - type: volume\n        source: bare\n        \
                 target: /seed\n        volume: {nocopy: true}\n"
            ),
        ),
    );
    assert_eq!(
        output(
            &root,
            &[
                "filled",
                "sh",
                "-c",
                "cat /seed/hello; echo added > /seed/added"
            ]
        ),
        SEED
    );
    root.wait_no_containers();
    // The container is gone; its volume and what was written in it are not.
    let data = root.layout.volumes().join("vols_data/_data");
    assert_eq!(fs::read_to_string(data.join("added")).unwrap(), "added\n");
    assert_eq!(
        output(&root, &["filled", "sh", "-c", "ls /seed; cat /seed/added"]),
        "added\nhello\nadded\n"
    );
    assert_eq!(output(&root, &["bare", "ls", "-A", "/seed"]), "");
    root.wait_no_containers();
    assert_eq!(root.ok(&["volume", "ls", "-q"]), "vols_bare\nvols_data\n");
    root.finish();
}

#[test]
fn volumes_from_takes_the_binds_and_volumes_of_another_container() {
    require_root!();
    let root = setup(
        "vf",
        &format!(
            "services:\n{}{}{}volumes:\n  data: {{}}\n",
            service(
                "store",
                "    volumes:\n      - data:/data\n      - ./shared:/shared\n      - /anon\n    \
                 tmpfs: [/scratch]\n"
            ),
            service("reader", "    volumes_from: [\"store:ro\"]\n"),
            service(
                "writer",
                "    volumes_from: [\"container:keeper\"]\n    volumes:\n      - ./own:/shared\n"
            ),
        ),
    );
    refused(
        &root,
        &["reader", "true"],
        "volumes_from store:ro: service store of project vf has no container: start it \
         first (e.g. `rcompose run -d store`)",
    );
    refused(
        &root,
        &["writer", "true"],
        "volumes_from container:keeper: no container named keeper: start it first (e.g. \
         `rcompose run -d --name keeper SERVICE`)",
    );

    root.ok(&[
        "run",
        "-d",
        "--rm",
        "--name",
        "keeper",
        "store",
        "sh",
        "-c",
        "echo data > /data/x; echo anon > /anon/x; echo shared > /shared/x; \
         while [ ! -e /shared/stop ]; do sleep 0.05; done",
    ]);
    wait_for(|| root.path("shared/x").exists());

    // `store:ro`: its volumes (named and anonymous) and binds, read-only; not its tmpfs.
    assert_eq!(
        output(
            &root,
            &[
                "reader",
                "sh",
                "-c",
                "cat /data/x /anon/x /shared/x; [ -e /scratch ] || echo no scratch; \
                 touch /data/y /anon/y /shared/y 2>&1; true"
            ]
        ),
        "data\nanon\nshared\nno scratch\n\
         touch: /data/y: Read-only file system\n\
         touch: /anon/y: Read-only file system\n\
         touch: /shared/y: Read-only file system\n"
    );
    // `container:keeper`, writable; the service's own mount at /shared wins.
    assert_eq!(
        output(
            &root,
            &[
                "writer",
                "sh",
                "-c",
                "cat /data/x /anon/x; ls -A /shared; echo from writer > /data/w"
            ]
        ),
        "data\nanon\n"
    );
    assert_eq!(
        fs::read_to_string(root.layout.volumes().join("vf_data/_data/w")).unwrap(),
        "from writer\n"
    );

    // What a container took counts as in use, also once its source is gone.
    let taker = root.ok(&[
        "run",
        "-d",
        "--rm",
        "--name",
        "taker",
        "reader",
        "sh",
        "-c",
        "while [ ! -e /tmp/stop ]; do sleep 0.05; done",
    ]);
    assert_eq!(taker, "taker\n");
    fs::write(root.path("shared/stop"), "").unwrap();
    wait_for(|| root.container_dirs().len() == 1);
    let out = root.run(&["volume", "rm", "vf_data"]);
    assert_eq!(out.status.code(), Some(125));
    assert_eq!(
        text(&out.stderr),
        "rcompose: volume vf_data is in use by container taker: remove the container \
         first, then the volume\n"
    );
    // keeper's anonymous volume stays while taker uses it, and goes with taker.
    assert_eq!(volume_names(&root).len(), 2, "{:?}", volume_names(&root));
    root.ok(&["exec", "-T", "reader", "touch", "/tmp/stop"]);
    root.wait_no_containers();
    // Removed right after the container's directory.
    wait_for(|| volume_names(&root) == ["vf_data"]);
    // The engine had no error to log (e.g. removing a volume still in use).
    let log = root.engine_log();
    assert_eq!(log.lines().count(), 1, "{log}");
    root.finish();
}

/// The volumes on disk.
fn volume_names(root: &TestRoot) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(root.layout.volumes())
        .unwrap()
        .flatten()
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn wait_for(condition: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !condition() {
        assert!(Instant::now() < deadline, "timed out");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn the_container_sees_its_cgroup_limits() {
    require_root!();
    let root = setup(
        "limits",
        &format!(
            "services:\n{}",
            service(
                "box",
                "    mem_limit: 64m\n    pids_limit: 50\n    cpus: 0.5\n"
            )
        ),
    );
    let stdout = output(
        &root,
        &[
            "box",
            "sh",
            "-c",
            "cd /sys/fs/cgroup; cat memory/memory.limit_in_bytes pids/pids.max \
             cpu/cpu.cfs_quota_us cpu/cpu.cfs_period_us",
        ],
    );
    assert_eq!(stdout, "67108864\n50\n50000\n100000\n");
    root.wait_no_containers();
    root.finish();
}

#[test]
fn capabilities_privileged_no_new_privileges_and_seccomp() {
    require_root!();
    let root = setup(
        "security",
        &format!(
            "services:\n{}{}{}",
            service("default", ""),
            service(
                "tuned",
                "    cap_drop: [ALL]\n    cap_add: [NET_ADMIN, CHOWN]\n    \
                 security_opt: [\"no-new-privileges:true\", \"seccomp=unconfined\"]\n"
            ),
            service("privileged", "    privileged: true\n"),
        ),
    );
    let status = |service: &str| {
        output(
            &root,
            &[
                service,
                "grep",
                "-E",
                "^(CapEff|NoNewPrivs|Seccomp):",
                "/proc/self/status",
            ],
        )
    };
    assert_eq!(
        status("default"),
        "CapEff:\t00000000a80425fb\nNoNewPrivs:\t0\nSeccomp:\t2\n"
    );
    assert_eq!(
        status("tuned"),
        "CapEff:\t0000000000001001\nNoNewPrivs:\t1\nSeccomp:\t0\n"
    );
    // Every capability the host allows (its bounding set: this host lacks
    // CAP_SYS_RESOURCE).
    let host = fs::read_to_string("/proc/self/status").unwrap();
    let bounding = host
        .lines()
        .find_map(|line| line.strip_prefix("CapBnd:\t"))
        .unwrap();
    assert_eq!(
        status("privileged"),
        format!("CapEff:\t{bounding}\nNoNewPrivs:\t0\nSeccomp:\t0\n")
    );
    root.wait_no_containers();
    root.finish();
}

#[test]
fn sysctls_and_ulimits_and_a_host_sysctl_refused() {
    require_root!();
    let root = setup(
        "kernel",
        &format!(
            "services:\n{}{}",
            service(
                "box",
                "    sysctls:\n      kernel.shmmax: \"123456789\"\n    ulimits:\n      \
                 nofile: {soft: 1024, hard: 2048}\n"
            ),
            service("host", "    sysctls:\n      vm.swappiness: \"10\"\n"),
        ),
    );
    assert_eq!(
        output(
            &root,
            &[
                "box",
                "sh",
                "-c",
                "cat /proc/sys/kernel/shmmax; ulimit -n; ulimit -Hn"
            ]
        ),
        "123456789\n1024\n2048\n"
    );
    refused(
        &root,
        &["host", "true"],
        "sysctls.vm.swappiness: not a namespaced kernel parameter, so a container can't set \
         it (it would change the whole host); allowed are kernel.msgmax, kernel.msgmnb, \
         kernel.msgmni, kernel.sem, kernel.shmall, kernel.shmmax, kernel.shmmni, \
         kernel.shm_rmid_forced, fs.mqueue.* and net.*",
    );
    root.wait_no_containers();
    root.finish();
}

#[test]
fn init_shm_size_and_devices() {
    require_root!();
    let root = setup(
        "initshm",
        &format!(
            "services:\n{}",
            service(
                "box",
                "    init: true\n    shm_size: 64m\n    devices:\n      - /dev/zero:/dev/myzero\n"
            )
        ),
    );
    let stdout = output(
        &root,
        &[
            "box",
            "sh",
            "-c",
            "cat /proc/1/comm; echo $$; df -k /dev/shm | awk 'NR == 2 { print $2 }'; \
             stat -c '%F %t:%T' /dev/myzero; head -c 3 /dev/myzero | od -An -tx1",
        ],
    );
    assert_eq!(
        stdout,
        "rcompose-init\n2\n65536\ncharacter special file 1:5\n 00 00 00\n"
    );
    root.wait_no_containers();
    root.finish();
}

#[test]
fn stop_sends_the_stop_signal_then_kills_after_the_grace_period() {
    require_root!();
    let script = |then: &str| {
        format!(
            "    stop_signal: SIGUSR1\n    volumes:\n      - ./out:/out\n    command:\n      \
             - sh\n      - -c\n      - \"trap 'echo usr1 >> /out/$$N{then}' USR1; touch \
             /out/$$N-up; while :; do sleep 0.05; done\"\n"
        )
    };
    let root = setup(
        "stop",
        &format!(
            "services:\n{}{}",
            service(
                "patient",
                &format!("    stop_grace_period: 1s\n{}", script(""))
            ),
            service(
                "polite",
                &format!("    stop_grace_period: 30s\n{}", script("; exit 3"))
            ),
        ),
    );
    let client = Client::new(root.layout.clone(), PathBuf::from(EXE));
    let call = |request: Request| {
        client
            .call(&request, &[])
            .unwrap()
            .finish(|_, _| {})
            .unwrap()
    };
    let exit_code = |name: &str| {
        let Reply::Containers(list) = call(Request::List {
            project: Some("stop".to_string()),
            all: true,
        }) else {
            panic!("not a list");
        };
        list.into_iter()
            .find(|c| c.name == name)
            .and_then(|c| c.exit_code)
    };
    // (service, grace period kept, exit code).
    for (service, waits, code) in [("patient", true, 137), ("polite", false, 3)] {
        root.ok(&[
            "-f",
            "compose.yaml",
            "run",
            "-d",
            "-e",
            &format!("N={service}"),
            "--name",
            service,
            service,
        ]);
        wait_for(|| root.path(&format!("out/{service}-up")).exists());
        let started = Instant::now();
        call(Request::Stop {
            container: service.to_string(),
            timeout: None,
        });
        let took = started.elapsed();
        if waits {
            assert!(took >= Duration::from_secs(1), "{took:?}");
        }
        assert!(took < Duration::from_secs(5), "{took:?}");
        assert_eq!(
            fs::read_to_string(root.path(&format!("out/{service}"))).unwrap(),
            "usr1\n"
        );
        assert_eq!(exit_code(service), Some(code));
        call(Request::Remove {
            container: service.to_string(),
            force: false,
        });
    }
    root.wait_no_containers();
    root.finish();
}
