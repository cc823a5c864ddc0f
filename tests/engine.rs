//! The engine process, for real: each test starts `rcompose engine --root <its own temp
//! dir>` and talks to it with the CLI's `engine::Client`, as the verbs do. Containers
//! run a busybox image imported from a tarball of the busybox root filesystem. After
//! each test nothing of it is left: no process, no mount under its directory, no cgroup
//! under its layout's cgroup parent. They need root; as another user they pass with a
//! "skipped" message (CI runs as root).

use rcompose::engine::protocol::{
    ContainerSummary, Event, ExecRequest, Reply, Request, RunRequest, PROTOCOL_VERSION,
};
use rcompose::engine::{Client, ClientError, Layout};
use rcompose::plan::RunOverrides;
use rcompose::runtime::cgroup::Hierarchy;
use rcompose::spec::model::Project;
use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::Read;
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

mod common;

const EXE: &str = env!("CARGO_BIN_EXE_rcompose");

/// An engine on its own root. Dropping it stops the engine and kills and removes
/// whatever is left (also when the test failed); [`TestEngine::finish`] checks that
/// nothing was left.
struct TestEngine {
    dir: tempfile::TempDir,
    layout: Layout,
    client: Client,
    child: Option<Child>,
}

impl TestEngine {
    fn start() -> TestEngine {
        let dir = tempfile::Builder::new()
            .prefix("rcompose-engine-")
            .tempdir()
            .unwrap();
        let layout = Layout::new(Some(dir.path().join("root")));
        let client = Client::new(layout.clone(), PathBuf::from(EXE));
        let mut engine = TestEngine {
            dir,
            layout,
            client,
            child: None,
        };
        engine.child = Some(engine.spawn());
        engine.wait_ready();
        engine
    }

    /// `rcompose engine --root <root>`, its messages in `<dir>/engine.log`. Its working
    /// directory is the test's directory, so that every process it starts can be found.
    fn spawn(&self) -> Child {
        let log = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.path("engine.log"))
            .unwrap();
        Command::new(EXE)
            .arg("engine")
            .arg("--root")
            .arg(self.layout.root())
            .current_dir(self.dir.path())
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap()
    }

    fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if self.call(Request::Ping, &[]).is_ok() {
                return;
            }
            if let Some(status) = self.child.as_mut().unwrap().try_wait().unwrap() {
                panic!("the engine ended ({status}): {}", self.log());
            }
            assert!(Instant::now() < deadline, "no engine: {}", self.log());
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn path(&self, sub: &str) -> PathBuf {
        self.dir.path().join(sub)
    }

    fn log(&self) -> String {
        fs::read_to_string(self.path("engine.log")).unwrap_or_default()
    }

    /// Sends a request to the running engine; the events before the last, and the reply.
    fn call(
        &self,
        request: Request,
        fds: &[std::os::fd::BorrowedFd<'_>],
    ) -> Result<(Vec<Event>, Reply), ClientError> {
        let call = self.client.call_running(&request, fds)?;
        let mut events = Vec::new();
        let reply = call.finish(|event, _| events.push(event))?;
        Ok((events, reply))
    }

    fn ok(&self, request: Request) -> Reply {
        match self.call(request.clone(), &[]) {
            Ok((_, reply)) => reply,
            Err(err) => panic!("{request:?}: {err}\nengine log:\n{}", self.log()),
        }
    }

    /// Imports the busybox root filesystem as `bb:latest`.
    fn import_busybox(&self) -> Reply {
        let tarball = self.path("busybox.tar");
        busybox_tarball(&tarball);
        let file = File::open(&tarball).unwrap();
        let request = Request::ImageImport {
            name: "bb:latest".to_string(),
            changes: vec!["ENV PATH=/bin".to_string()],
        };
        self.call(request, &[file.as_fd()])
            .unwrap_or_else(|err| panic!("import: {err}\n{}", self.log()))
            .1
    }

    /// The project `demo`, its one service `box` running bb:latest without a network,
    /// with `./shared` (in the test's dir) at `/shared` and an anonymous volume at
    /// `/anon`.
    fn project(&self) -> Project {
        let compose = self.path("compose.yaml");
        fs::write(
            &compose,
            "services:\n  box:\n    image: bb:latest\n    network_mode: none\n    \
             volumes:\n      - ./shared:/shared\n      - /anon\n",
        )
        .unwrap();
        let options = rcompose::spec::LoadOptions {
            files: vec![compose],
            stdin: None,
            project_directory: self.dir.path().to_path_buf(),
            project_name: Some("demo".to_string()),
            env_files: Vec::new(),
            profiles: Vec::new(),
            services: Vec::new(),
            environment: BTreeMap::new(),
            interpolate: true,
            home: None,
        };
        rcompose::spec::load(&options).unwrap().project
    }

    fn run_request(&self, script: &str, detach: bool, remove: bool) -> Request {
        Request::Run(Box::new(RunRequest {
            project: self.project(),
            service: "box".to_string(),
            overrides: RunOverrides {
                command: Some(vec!["sh".into(), "-c".into(), script.into()]),
                ..RunOverrides::default()
            },
            detach,
            remove,
        }))
    }

    /// `run -d`: the container's name.
    fn run_detached(&self, script: &str) -> String {
        let request = self.run_request(script, true, false);
        let (events, reply) = self
            .call(request, &[])
            .unwrap_or_else(|err| panic!("run: {err}\n{}", self.log()));
        assert_eq!(reply, Reply::Ok);
        started(&events).0
    }

    /// `run` attached with pipes for stdout and stderr: the events, the reply, and
    /// what it printed on each.
    fn run_attached(&self, script: &str, remove: bool) -> (Vec<Event>, Reply, String, String) {
        let stdin = File::open("/dev/null").unwrap();
        let (mut out_read, out_write) = std::io::pipe().unwrap();
        let (mut err_read, err_write) = std::io::pipe().unwrap();
        let call = self
            .client
            .call_running(
                &self.run_request(script, false, remove),
                &[stdin.as_fd(), out_write.as_fd(), err_write.as_fd()],
            )
            .unwrap();
        // Only the container holds the write ends now: reads end when it does.
        drop((stdin, out_write, err_write));
        let mut events = Vec::new();
        let reply = call
            .finish(|event, _| events.push(event))
            .unwrap_or_else(|err| panic!("run: {err}\n{}", self.log()));
        let (mut out, mut err) = (String::new(), String::new());
        out_read.read_to_string(&mut out).unwrap();
        err_read.read_to_string(&mut err).unwrap();
        (events, reply, out, err)
    }

    fn containers(&self) -> Vec<ContainerSummary> {
        match self.ok(Request::List {
            project: None,
            all: true,
        }) {
            Reply::Containers(containers) => containers,
            other => panic!("{other:?}"),
        }
    }

    /// The names of the volumes.
    fn volumes(&self) -> Vec<String> {
        match self.ok(Request::VolumeList { project: None }) {
            Reply::Volumes(volumes) => volumes.into_iter().map(|v| v.name).collect(),
            other => panic!("{other:?}"),
        }
    }

    fn container(&self, name: &str) -> ContainerSummary {
        self.containers()
            .into_iter()
            .find(|c| c.name == name)
            .unwrap_or_else(|| panic!("no container {name}"))
    }

    /// Waits until the container has exited; its exit code.
    fn wait_exited(&self, name: &str) -> i32 {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let container = self.container(name);
            if container.state == "exited" {
                return container.exit_code.unwrap();
            }
            assert!(Instant::now() < deadline, "{container:?}\n{}", self.log());
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The container's log, stdout and stderr together.
    fn logs(&self, name: &str) -> String {
        let request = Request::Logs {
            container: name.to_string(),
            follow: false,
            tail: None,
        };
        let (events, reply) = self.call(request, &[]).unwrap();
        assert_eq!(reply, Reply::Ok);
        events
            .into_iter()
            .map(|event| match event {
                Event::Log(entry) => entry.log,
                other => panic!("{other:?}"),
            })
            .collect()
    }

    fn wait_log(&self, name: &str, text: &str) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while !self.logs(name).contains(text) {
            assert!(Instant::now() < deadline, "{name}: {:?}", self.logs(name));
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Stops the engine with a `Shutdown` request and waits for it to end.
    fn shutdown(&mut self) {
        assert_eq!(self.ok(Request::Shutdown), Reply::Ok);
        let status = self.child.take().unwrap().wait().unwrap();
        assert!(status.success(), "{status}: {}", self.log());
        assert!(!self.layout.socket().exists(), "the socket is left behind");
    }

    /// Stops the engine, then checks that nothing of the test is left: no process
    /// started from its directory, no mount under it, no cgroup.
    fn finish(mut self) {
        self.shutdown();
        assert_eq!(processes_in(self.dir.path()), Vec::<i32>::new());
        assert_eq!(mounts_under(self.dir.path()), Vec::<String>::new());
        if let Ok(hierarchy) = Hierarchy::detect() {
            assert!(
                !hierarchy.open(&self.layout.cgroup_parent()).exists(),
                "cgroup {} is left",
                self.layout.cgroup_parent()
            );
        }
    }
}

impl Drop for TestEngine {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        for pid in processes_in(self.dir.path()) {
            let _ = rcompose::runtime::process::signal(pid, nix::libc::SIGKILL);
        }
        if let Ok(hierarchy) = Hierarchy::detect() {
            let parent = self.layout.cgroup_parent();
            let ids = fs::read_dir(self.layout.root().join("containers"))
                .into_iter()
                .flatten()
                .flatten();
            for id in ids {
                let name = format!("{parent}/{}", id.file_name().to_string_lossy());
                let _ = hierarchy.open(&name).remove();
            }
            let _ = hierarchy.open(&parent).remove();
        }
        for point in mounts_under(self.dir.path()).iter().rev() {
            let _ = Command::new("umount").arg("-l").arg(point).status();
        }
    }
}

/// The PIDs of the processes whose working directory is `dir` or under it: the engine
/// and the container helpers it started (the containers themselves are in cgroups).
fn processes_in(dir: &Path) -> Vec<i32> {
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

fn mounts_under(dir: &Path) -> Vec<String> {
    let dir = dir.to_string_lossy().into_owned();
    fs::read_to_string("/proc/self/mountinfo")
        .unwrap()
        .lines()
        .filter_map(|line| line.split(' ').nth(4))
        .filter(|point| point.starts_with(&dir))
        .map(str::to_string)
        .collect()
}

/// A tarball of the busybox root filesystem of the runtime tests (with a user `app`).
fn busybox_tarball(path: &Path) {
    let fixture = common::Fixture::new();
    let base = fixture.path("base");
    fs::write(
        base.join("etc/passwd"),
        "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n",
    )
    .unwrap();
    fs::write(base.join("etc/group"), "root:x:0:\napp:x:1000:\n").unwrap();
    let mut builder = tar::Builder::new(File::create(path).unwrap());
    builder.follow_symlinks(false);
    builder.append_dir_all(".", &base).unwrap();
    builder.finish().unwrap();
}

/// The name and ID of the `Started` event.
fn started(events: &[Event]) -> (String, String) {
    events
        .iter()
        .find_map(|event| match event {
            Event::Started { name, id } => Some((name.clone(), id.clone())),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no start in {events:?}"))
}

fn exec_request(command: &[&str], user: Option<&str>) -> Request {
    Request::Exec(Box::new(ExecRequest {
        project: "demo".to_string(),
        service: "box".to_string(),
        index: 1,
        command: command.iter().map(|s| s.to_string()).collect(),
        env: vec!["GREETING=hi".to_string()],
        user: user.map(str::to_string),
        workdir: Some("/tmp".to_string()),
        tty: false,
        privileged: false,
    }))
}

#[test]
fn ping_a_second_engine_is_refused_sigterm_stops_it_and_a_killed_one_is_replaced() {
    require_root!();
    let mut engine = TestEngine::start();
    let pid = engine.child.as_ref().unwrap().id();
    assert_eq!(
        engine.ok(Request::Ping),
        Reply::Pong {
            protocol: PROTOCOL_VERSION,
            version: env!("CARGO_PKG_VERSION").to_string(),
            pid,
        }
    );
    assert_eq!(
        fs::read_to_string(engine.layout.lock_file()).unwrap(),
        format!("{pid}\n")
    );

    let second = Command::new(EXE)
        .arg("engine")
        .arg("--root")
        .arg(engine.layout.root())
        .output()
        .unwrap();
    assert_eq!(second.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&second.stderr);
    let expected = format!(
        "an engine already runs for {} (pid {pid})",
        engine.layout.root().display()
    );
    assert!(stderr.contains(&expected), "{stderr}");
    // The first one still answers.
    assert!(matches!(engine.ok(Request::Ping), Reply::Pong { .. }));

    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let status = engine.child.take().unwrap().wait().unwrap();
    assert!(status.success(), "{status}: {}", engine.log());
    assert!(!engine.layout.socket().exists());
    // A new engine takes the root over; one killed outright leaves its socket, which
    // the next one replaces.
    engine.child = Some(engine.spawn());
    engine.wait_ready();
    let mut killed = engine.child.take().unwrap();
    killed.kill().unwrap();
    killed.wait().unwrap();
    assert!(engine.layout.socket().exists());
    engine.child = Some(engine.spawn());
    engine.wait_ready();
    engine.finish();
}

#[test]
fn images_are_imported_over_a_descriptor_listed_inspected_and_removed() {
    require_root!();
    let engine = TestEngine::start();
    let Reply::Image(image) = engine.import_busybox() else {
        panic!("not an image reply");
    };
    assert_eq!(image.names, ["bb:latest"]);
    assert!(
        image.id.starts_with("sha256:") && image.id.len() == 71,
        "{image:?}"
    );
    assert!(image.size > 500_000, "{image:?}");
    assert_eq!(
        engine.ok(Request::ImageList),
        Reply::Images(vec![image.clone()])
    );
    let Reply::Json(inspected) = engine.ok(Request::ImageInspect {
        names: vec![image.id[7..19].to_string()],
    }) else {
        panic!("not JSON");
    };
    assert_eq!(inspected[0]["Id"], image.id.as_str());
    assert_eq!(inspected[0]["RepoTags"], serde_json::json!(["bb:latest"]));
    assert_eq!(
        inspected[0]["Config"]["Env"],
        serde_json::json!(["PATH=/bin"])
    );

    let err = engine
        .call(
            Request::ImageRemove {
                names: vec!["nosuch".to_string()],
                force: false,
            },
            &[],
        )
        .unwrap_err();
    assert_eq!(err.exit_code(), 125);
    assert_eq!(
        err.to_string(),
        "image nosuch:latest not found: import a rootfs tarball with `rcompose image import \
         FILE nosuch:latest`, or load a saved image with `rcompose image load -i FILE`"
    );
    let err = engine
        .call(
            Request::ImageInspect {
                names: vec!["sha256:0123".to_string()],
            },
            &[],
        )
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "no such image: sha256:0123 (`rcompose image ls` lists the images)"
    );
    assert_eq!(
        engine.ok(Request::ImageRemove {
            names: vec!["bb".to_string()],
            force: false,
        }),
        Reply::Removed {
            untagged: vec!["bb:latest".to_string()],
            deleted: vec![image.id],
        }
    );
    assert_eq!(engine.ok(Request::ImageList), Reply::Images(Vec::new()));
    engine.finish();
}

#[test]
fn run_attached_gives_the_output_and_the_exit_code_and_rm_removes_it() {
    require_root!();
    let engine = TestEngine::start();
    engine.import_busybox();
    let (events, reply, out, err) =
        engine.run_attached("echo out; echo err >&2; id -u; cat /shared/x; exit 3", true);
    assert_eq!(reply, Reply::Exited { code: 3 });
    assert_eq!(out, "out\n0\n");
    assert_eq!(
        err,
        "err\ncat: can't open '/shared/x': No such file or directory\n"
    );
    let (name, id) = started(&events);
    assert_eq!(name, format!("demo-box-run-{}", &id[..12]));
    assert_eq!(id.len(), 64);
    // --rm: gone once its end is told, with its anonymous volume.
    assert_eq!(engine.containers(), Vec::new());
    assert!(!engine.layout.container_dir(&id).exists());
    assert_eq!(engine.volumes(), Vec::<String>::new());

    // A program that is not there: Docker's 127, and the container is recorded exited.
    let (_, reply, _, _) = engine.run_attached("exec nosuch", false);
    assert_eq!(reply, Reply::Exited { code: 127 });
    let containers = engine.containers();
    assert_eq!(containers.len(), 1);
    assert_eq!(
        (containers[0].state.as_str(), containers[0].exit_code),
        ("exited", Some(127))
    );
    assert_eq!(containers[0].labels["com.docker.compose.oneoff"], "True");
    assert_eq!(containers[0].labels["com.docker.compose.project"], "demo");
    assert_eq!(containers[0].labels["com.docker.compose.service"], "box");
    engine.ok(Request::Remove {
        container: containers[0].name.clone(),
        force: false,
    });
    engine.finish();
}

#[test]
fn run_detached_logs_exec_stop_with_a_grace_period_and_rm() {
    require_root!();
    let engine = TestEngine::start();
    engine.import_busybox();
    let name = engine.run_detached(
        "trap 'echo bye; exit 7' TERM; echo hello; echo oops >&2; \
         while true; do sleep 0.1; done",
    );
    engine.wait_log(&name, "hello\n");
    let running = engine.container(&name);
    assert_eq!(running.state, "running");
    // In its own cgroup under the layout's parent while it runs.
    let cgroup = format!("{}/{}", engine.layout.cgroup_parent(), running.id);
    let hierarchy = Hierarchy::detect().unwrap();
    assert!(hierarchy.open(&cgroup).exists(), "no cgroup {cgroup}");

    // exec: the container's namespaces, the request's env, user and working dir.
    let stdin = File::open("/dev/null").unwrap();
    let (mut out_read, out_write) = std::io::pipe().unwrap();
    let script = "echo $GREETING $(id -u) $(pwd) $(hostname); exit 4";
    let call = engine
        .client
        .call_running(
            &exec_request(&["sh", "-c", script], Some("app")),
            &[stdin.as_fd(), out_write.as_fd(), out_write.as_fd()],
        )
        .unwrap();
    drop(out_write);
    assert_eq!(call.finish(|_, _| {}).unwrap(), Reply::Exited { code: 4 });
    let mut out = String::new();
    out_read.read_to_string(&mut out).unwrap();
    assert_eq!(out, format!("hi 1000 /tmp {name}\n"));

    // The image is in use: not removed.
    let err = engine
        .call(
            Request::ImageRemove {
                names: vec!["bb:latest".to_string()],
                force: false,
            },
            &[],
        )
        .unwrap_err();
    assert!(err.to_string().contains("is used by a container"), "{err}");
    // Nor is a running container.
    let err = engine
        .call(
            Request::Remove {
                container: name.clone(),
                force: false,
            },
            &[],
        )
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("container {name} is running: stop it first, or remove it with force")
    );

    // Its trap runs on SIGTERM: it ends well within the grace period.
    let began = Instant::now();
    engine.ok(Request::Stop {
        container: name.clone(),
        timeout: Some(10),
    });
    assert!(began.elapsed() < Duration::from_secs(5));
    let container = engine.container(&name);
    assert_eq!(
        (container.state.as_str(), container.exit_code),
        ("exited", Some(7))
    );
    // Its cgroup goes when it ends; its directory stays until it is removed.
    assert!(!hierarchy.open(&cgroup).exists());
    assert!(engine.layout.container_dir(&running.id).is_dir());
    assert_eq!(engine.logs(&name), "hello\noops\nbye\n");
    let tail = Request::Logs {
        container: name.clone(),
        follow: false,
        tail: Some(1),
    };
    let (events, _) = engine.call(tail, &[]).unwrap();
    assert!(matches!(&events[..], [Event::Log(entry)] if entry.log == "bye\n"));

    // One that ignores SIGTERM is killed after the grace period.
    let stubborn = engine.run_detached("trap '' TERM; echo ready; while true; do sleep 0.1; done");
    engine.wait_log(&stubborn, "ready\n");
    let began = Instant::now();
    engine.ok(Request::Stop {
        container: stubborn.clone(),
        timeout: Some(1),
    });
    assert!(began.elapsed() >= Duration::from_secs(1));
    assert_eq!(engine.container(&stubborn).exit_code, Some(137));

    for name in [name, stubborn] {
        engine.ok(Request::Remove {
            container: name,
            force: false,
        });
    }
    assert_eq!(engine.containers(), Vec::new());
    // Without --rm, their anonymous volumes stay until pruned.
    let anonymous = engine.volumes();
    assert_eq!(anonymous.len(), 2, "{anonymous:?}");
    assert_eq!(
        engine.ok(Request::VolumePrune {
            project: Some("demo".to_string()),
        }),
        Reply::Names(anonymous)
    );
    assert_eq!(engine.volumes(), Vec::<String>::new());
    engine.ok(Request::ImageRemove {
        names: vec!["bb:latest".to_string()],
        force: false,
    });
    engine.finish();
}

#[test]
fn logs_follow_until_the_container_ends() {
    require_root!();
    let engine = TestEngine::start();
    engine.import_busybox();
    fs::create_dir_all(engine.path("shared")).unwrap();
    let name = engine
        .run_detached("echo one; while [ ! -e /shared/go ]; do sleep 0.05; done; echo two; exit 2");
    engine.wait_log(&name, "one\n");
    let request = Request::Logs {
        container: name.clone(),
        follow: true,
        tail: None,
    };
    let mut call = engine.client.call_running(&request, &[]).unwrap();
    let next = |call: &mut rcompose::engine::Call| match call.next_event().unwrap() {
        Some((Event::Log(entry), _)) => entry.log,
        other => panic!("{other:?}"),
    };
    assert_eq!(next(&mut call), "one\n");
    fs::write(engine.path("shared/go"), "").unwrap();
    assert_eq!(next(&mut call), "two\n");
    assert_eq!(
        call.finish(|event, _| panic!("{event:?}")).unwrap(),
        Reply::Ok
    );
    assert_eq!(engine.wait_exited(&name), 2);
    engine.ok(Request::Remove {
        container: name,
        force: false,
    });
    engine.finish();
}

#[test]
fn containers_outlive_the_engine_and_the_next_engine_adopts_them() {
    require_root!();
    let mut engine = TestEngine::start();
    engine.import_busybox();
    fs::create_dir_all(engine.path("shared")).unwrap();
    let later =
        engine.run_detached("echo up; while [ ! -e /shared/later ]; do sleep 0.05; done; exit 5");
    let meanwhile = engine.run_detached(
        "echo up; while [ ! -e /shared/meanwhile ]; do sleep 0.05; done; echo gone; exit 6",
    );
    engine.wait_log(&later, "up\n");
    engine.wait_log(&meanwhile, "up\n");
    engine.shutdown();
    // Their helpers run on (the engine is gone).
    assert_eq!(processes_in(engine.dir.path()).len(), 2);

    // One ends while no engine runs; its helper leaves its exit status.
    fs::write(engine.path("shared/meanwhile"), "").unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while processes_in(engine.dir.path()).len() != 1 {
        assert!(Instant::now() < deadline);
        std::thread::sleep(Duration::from_millis(20));
    }

    engine.child = Some(engine.spawn());
    engine.wait_ready();
    assert_eq!(engine.wait_exited(&meanwhile), 6);
    assert_eq!(engine.logs(&meanwhile), "up\ngone\n");
    assert_eq!(engine.container(&later).state, "running");
    fs::write(engine.path("shared/later"), "").unwrap();
    assert_eq!(engine.wait_exited(&later), 5);
    for name in [later, meanwhile] {
        engine.ok(Request::Remove {
            container: name,
            force: false,
        });
    }
    engine.finish();
}

#[test]
fn rm_force_kills_a_running_container() {
    require_root!();
    let engine = TestEngine::start();
    engine.import_busybox();
    let name = engine.run_detached("echo ready; while true; do sleep 0.1; done");
    engine.wait_log(&name, "ready\n");
    engine.ok(Request::Kill {
        container: name.clone(),
        signal: 0,
    });
    engine.ok(Request::Remove {
        container: name.clone(),
        force: true,
    });
    assert_eq!(engine.containers(), Vec::new());
    let err = engine
        .call(
            Request::Kill {
                container: name.clone(),
                signal: 15,
            },
            &[],
        )
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("no such container: {name} (`rcompose ps -a` lists the containers)")
    );
    engine.finish();
}
