//! The container's PID 1 before it execs: cgroup, namespaces, root filesystem, volume
//! copy-up, mounts, devices, `pivot_root`, sysctls, masks, hostname, ulimits, seccomp,
//! user, capabilities, then the program. It carries out what
//! [`mounts`](super::mounts), [`caps`](super::caps), [`seccomp`](super::seccomp) and
//! [`exec`](super::exec) decided; each failure names its step.

use super::caps::{CapSet, ProcessCaps};
use super::copyup::copy_up;
use super::error::{RuntimeError, Step};
use super::message::{write_report, Failure, Report};
use super::mounts::{self, MountOp, MountSource};
use super::resolve::resolve_in_root;
use super::seccomp::Filter;
use super::spec::{ContainerSpec, Mount, Network, User, ValidSpec};
use super::{exec, sys, tini};
use nix::errno::Errno;
use nix::mount::{mount, umount2, MntFlags, MsFlags};
use nix::sched::{unshare, CloneFlags};
use nix::sys::stat::{makedev, mknod, umask, Mode, SFlag};
use nix::sys::statvfs::{statvfs, FsFlags};
use nix::unistd::{chdir, fchdir, pivot_root, setgid, setgroups, setuid, Gid, Uid};
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{lchown, FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

/// Sets the container up and executes its program; returns only when that failed,
/// with the exit code, after writing the failure to `report` (which closes when the
/// program is executed). Runs in the helper's forked child, PID 1 of the new PID
/// namespace.
///
/// [`setup`] ends with the last steps before exec; with `init`, PID 1 forks after
/// them (so the program and the init both run under them) and stays as the init.
pub(crate) fn setup_and_exec(valid: &ValidSpec, mut report: File) -> i32 {
    let failure = match setup(valid) {
        Err(failure) => failure,
        Ok(()) if valid.spec().init => match tini::start() {
            Err(failure) => failure,
            Ok(tini::Role::Program) => exec_program(valid),
            Ok(tini::Role::Init { program, signals }) => {
                // The program holds the report pipe until it is executed.
                drop(report);
                tini::supervise(program, signals)
            }
        },
        Ok(()) => exec_program(valid),
    };
    report_failure(&mut report, failure)
}

/// Writes `failure` to `report` (the helper may be gone: the exit code still says
/// it) and returns the exit code.
pub(crate) fn report_failure(report: &mut File, failure: Failure) -> i32 {
    let code = RuntimeError::from(failure.clone()).exit_code();
    let _ = write_report(report, &Report::Failed(failure));
    code
}

/// Takes the terminal (`tty`), then replaces this process with the program; returns
/// only when that failed.
fn exec_program(valid: &ValidSpec) -> Failure {
    let spec = valid.spec();
    if spec.tty {
        if let Err(failure) = take_terminal() {
            return failure;
        }
    }
    Failure::Exec {
        program: spec.argv.first().cloned().unwrap_or_default(),
        failure: exec::execute(&spec.argv, &spec.env),
    }
}

/// A new session whose controlling terminal is standard input, so that the program
/// gets the terminal's signals (^C) and job control works.
pub(crate) fn take_terminal() -> Result<(), Failure> {
    nix::unistd::setsid().map_err(at(Step::Session))?;
    rustix::process::ioctl_tiocsctty(std::io::stdin())
        .map_err(|err| Failure::setup(Step::ControllingTerminal, sys::errno(err)))
}

/// `step` failed with this errno.
fn at(step: Step) -> impl FnOnce(Errno) -> Failure {
    move |errno| Failure::setup(step, errno)
}

/// `step` failed with this `std` error.
fn io_at(step: Step) -> impl FnOnce(io::Error) -> Failure {
    move |err| Failure::io(step, &err)
}

fn setup(valid: &ValidSpec) -> Result<(), Failure> {
    let spec = valid.spec();
    // Compiled first (it allocates); installed just before the change of user.
    let seccomp =
        Filter::new(spec.seccomp, valid.capabilities()).map_err(at(Step::SeccompProfile))?;
    // Before the cgroup namespace is made, so that this cgroup becomes its root.
    join_cgroup(spec)?;
    if let Network::Join { path } = &spec.network {
        let netns = File::open(path).map_err(io_at(Step::JoinNetwork { path: path.clone() }))?;
        nix::sched::setns(netns, CloneFlags::CLONE_NEWNET)
            .map_err(at(Step::JoinNetwork { path: path.clone() }))?;
    }
    let mut namespaces = CloneFlags::CLONE_NEWNS
        | CloneFlags::CLONE_NEWUTS
        | CloneFlags::CLONE_NEWIPC
        | CloneFlags::CLONE_NEWCGROUP;
    if spec.network == Network::None {
        namespaces |= CloneFlags::CLONE_NEWNET;
    }
    unshare(namespaces).map_err(at(Step::Namespaces))?;
    // Modes below are exact (devices 0666, directories 0755); the program gets 022.
    umask(Mode::empty());
    mount(
        None::<&str>,
        "/",
        None::<&str>,
        MsFlags::MS_REC | MsFlags::MS_PRIVATE,
        None::<&str>,
    )
    .map_err(at(Step::PrivateMounts))?;
    if spec.network == Network::None {
        sys::loopback_up().map_err(at(Step::Loopback))?;
    }

    let rootfs = mounts::rootfs_mount(&spec.rootfs);
    let root = rootfs.target.clone();
    apply(&rootfs, &root).map_err(|(_, errno)| {
        Failure::setup(
            Step::MountRootfs {
                target: root.clone(),
            },
            errno,
        )
    })?;
    copy_up_volumes(spec, &root)?;
    for op in mounts::container_mounts(spec) {
        let target = resolve_in_root(&root, &op.target).map_err(io_at(Step::Resolve {
            path: op.target.clone(),
        }))?;
        apply(&op, &target).map_err(|(step, errno)| Failure::setup(step, errno))?;
    }
    make_devices(&root)?;
    make_spec_devices(spec, &root)?;
    let cwd = resolve_in_root(&root, &spec.cwd).map_err(io_at(Step::Resolve {
        path: spec.cwd.clone(),
    }))?;
    create_dir(&cwd, 0o755).map_err(io_at(Step::CreateCwd {
        path: spec.cwd.clone(),
    }))?;

    enter_root(&root)?;
    // Before /proc/sys becomes read-only.
    write_sysctls(spec)?;
    for path in mounts::masked_paths(spec) {
        mask(Path::new(path)).map_err(at(Step::Mask {
            path: PathBuf::from(path),
        }))?;
    }
    for path in mounts::readonly_paths(spec) {
        readonly_in_place(Path::new(path)).map_err(at(Step::Readonly {
            target: PathBuf::from(path),
        }))?;
    }
    if spec.readonly_rootfs {
        remount_readonly(Path::new("/")).map_err(at(Step::ReadonlyRootfs))?;
    }
    nix::unistd::sethostname(&spec.hostname).map_err(at(Step::Hostname))?;
    if let Some(domainname) = &spec.domainname {
        sys::set_domainname(domainname).map_err(at(Step::Domainname))?;
    }
    umask(Mode::from_bits_truncate(0o022));
    sys::mark_cloexec_from(3).map_err(at(Step::CloseFds))?;

    set_rlimits(spec)?;
    // Without no_new_privs the kernel takes a filter only with CAP_SYS_ADMIN, so before
    // the change of user (runc does the same); what follows until execve is allowed.
    if let Some(filter) = &seccomp {
        filter.install().map_err(at(Step::Seccomp))?;
    }
    become_user(valid)?;
    if spec.no_new_privileges {
        nix::sys::prctl::set_no_new_privs().map_err(at(Step::NoNewPrivileges))?;
    }
    chdir(&spec.cwd).map_err(at(Step::Chdir {
        path: spec.cwd.clone(),
    }))?;
    sys::reset_signals().map_err(at(Step::Signals))
}

/// Mounts `op` on the host path `target`, creating the target if missing; a failure
/// names the step with the target as the container sees it.
fn apply(op: &MountOp, target: &Path) -> Result<(), (Step, Errno)> {
    let create_failed = |err: io::Error| {
        let step = Step::CreateTarget {
            path: op.target.clone(),
        };
        (step, err.raw_os_error().map_or(Errno::EIO, Errno::from_raw))
    };
    let mount_failed = |errno| {
        let step = Step::Mount {
            target: op.target.clone(),
        };
        (step, errno)
    };
    match &op.source {
        MountSource::Fs(fstype) => {
            create_dir(target, 0o755).map_err(create_failed)?;
            mount(
                Some(*fstype),
                target,
                Some(*fstype),
                op.flags,
                op.data.as_deref(),
            )
            .map_err(mount_failed)?;
        }
        MountSource::Remount => {}
        MountSource::Bind(source) => {
            let is_dir = fs::metadata(source)
                .map_err(|err| {
                    mount_failed(err.raw_os_error().map_or(Errno::EIO, Errno::from_raw))
                })?
                .is_dir();
            if is_dir {
                create_dir(target, 0o755).map_err(create_failed)?;
            } else {
                create_file(target).map_err(create_failed)?;
            }
            mount(Some(source), target, None::<&str>, op.flags, None::<&str>)
                .map_err(mount_failed)?;
        }
    }
    if op.readonly {
        remount_readonly(target).map_err(|errno| {
            let step = Step::Readonly {
                target: op.target.clone(),
            };
            (step, errno)
        })?;
    }
    Ok(())
}

/// `mkdir -p` with `mode` for the directories it makes.
fn create_dir(path: &Path, mode: u32) -> io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    fs::DirBuilder::new()
        .recursive(true)
        .mode(mode)
        .create(path)
}

/// An empty file (and its parent directories) unless something is there already.
fn create_file(path: &Path) -> io::Result<()> {
    if path.symlink_metadata().is_ok() {
        return Ok(());
    }
    if let Some(parent) = path.parent() {
        create_dir(parent, 0o755)?;
    }
    use std::os::unix::fs::OpenOptionsExt;
    OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o644)
        .open(path)
        .map(drop)
}

/// Makes a bind or a mount read-only, keeping its nosuid/nodev/noexec and atime flags.
fn remount_readonly(path: &Path) -> Result<(), Errno> {
    let current = statvfs(path)?.flags();
    let mut flags = MsFlags::MS_BIND | MsFlags::MS_REMOUNT | MsFlags::MS_RDONLY;
    for (kept, flag) in [
        (FsFlags::ST_NOSUID, MsFlags::MS_NOSUID),
        (FsFlags::ST_NODEV, MsFlags::MS_NODEV),
        (FsFlags::ST_NOEXEC, MsFlags::MS_NOEXEC),
        (FsFlags::ST_NOATIME, MsFlags::MS_NOATIME),
        (FsFlags::ST_NODIRATIME, MsFlags::MS_NODIRATIME),
        (FsFlags::ST_RELATIME, MsFlags::MS_RELATIME),
    ] {
        if current.contains(kept) {
            flags |= flag;
        }
    }
    mount(None::<&str>, path, None::<&str>, flags, None::<&str>)
}

/// The device nodes and symlinks of `/dev` (a fresh tmpfs by now).
fn make_devices(root: &Path) -> Result<(), Failure> {
    for device in mounts::DEVICES {
        let step = || Step::Device {
            path: PathBuf::from(device.path),
        };
        let path = resolve_in_root(root, Path::new(device.path)).map_err(io_at(step()))?;
        mknod(
            &path,
            SFlag::S_IFCHR,
            Mode::from_bits_truncate(0o666),
            makedev(device.major, device.minor),
        )
        .map_err(at(step()))?;
    }
    for (link, points_to) in mounts::DEV_SYMLINKS {
        let step = || Step::Symlink {
            path: PathBuf::from(link),
        };
        let path = resolve_in_root(root, Path::new(link)).map_err(io_at(step()))?;
        std::os::unix::fs::symlink(points_to, &path).map_err(io_at(step()))?;
    }
    Ok(())
}

/// Moves PID 1 into the container's cgroup: `0` written to each `cgroup.procs` file is
/// the writer itself.
fn join_cgroup(spec: &ContainerSpec) -> Result<(), Failure> {
    let Some(cgroup) = &spec.cgroup else {
        return Ok(());
    };
    for procs in &cgroup.procs {
        OpenOptions::new()
            .write(true)
            .open(procs)
            .and_then(|mut file| file.write_all(b"0"))
            .map_err(io_at(Step::JoinCgroup {
                path: procs.clone(),
            }))?;
    }
    Ok(())
}

/// Docker's copy-up: the root filesystem's content at the target of each new volume
/// (`copy_up`) goes into it while it is still empty, before anything is mounted.
fn copy_up_volumes(spec: &ContainerSpec, root: &Path) -> Result<(), Failure> {
    for mount in &spec.mounts {
        let Mount::Bind {
            source,
            target,
            copy_up: true,
            ..
        } = mount
        else {
            continue;
        };
        let step = || Step::CopyUp {
            target: target.clone(),
        };
        let from = resolve_in_root(root, target).map_err(io_at(step()))?;
        copy_up(&from, source).map_err(io_at(step()))?;
    }
    Ok(())
}

/// The spec's host devices: a node of the same type and number as the source (a
/// symlink to it is followed, as Docker does), with its mode and owner, replacing
/// whatever is at the target.
fn make_spec_devices(spec: &ContainerSpec, root: &Path) -> Result<(), Failure> {
    for device in &spec.devices {
        let step = || Step::Device {
            path: device.target.clone(),
        };
        let meta = fs::metadata(&device.source).map_err(io_at(step()))?;
        let kind = if meta.file_type().is_char_device() {
            SFlag::S_IFCHR
        } else if meta.file_type().is_block_device() {
            SFlag::S_IFBLK
        } else {
            return Err(Failure::setup(step(), Errno::ENODEV));
        };
        let path = resolve_in_root(root, &device.target).map_err(io_at(step()))?;
        if let Some(parent) = path.parent() {
            create_dir(parent, 0o755).map_err(io_at(step()))?;
        }
        match fs::remove_file(&path) {
            Err(err) if err.kind() != io::ErrorKind::NotFound => {
                return Err(Failure::io(step(), &err))
            }
            _ => {}
        }
        let mode = Mode::from_bits_truncate(meta.mode() & 0o7777);
        mknod(&path, kind, mode, meta.rdev()).map_err(at(step()))?;
        lchown(&path, Some(meta.uid()), Some(meta.gid())).map_err(io_at(step()))?;
    }
    Ok(())
}

/// Writes the spec's sysctls (validated: namespaced ones only) under `/proc/sys`.
fn write_sysctls(spec: &ContainerSpec) -> Result<(), Failure> {
    for (key, value) in &spec.sysctls {
        let path = Path::new("/proc/sys").join(key.replace('.', "/"));
        OpenOptions::new()
            .write(true)
            .open(path)
            .and_then(|mut file| file.write_all(value.as_bytes()))
            .map_err(io_at(Step::Sysctl { key: key.clone() }))?;
    }
    Ok(())
}

/// Sets the spec's resource limits; `EPERM` means a hard limit above the current one,
/// which only CAP_SYS_RESOURCE may raise.
fn set_rlimits(spec: &ContainerSpec) -> Result<(), Failure> {
    for rlimit in &spec.rlimits {
        let (name, soft, hard) = (rlimit.name.clone(), rlimit.soft, rlimit.hard);
        // Validated: every name is known.
        let resource = rlimit.resource().ok_or_else(|| {
            Failure::setup(
                Step::Rlimit {
                    name: name.clone(),
                    soft,
                    hard,
                },
                Errno::EINVAL,
            )
        })?;
        sys::set_rlimit(resource, soft, hard).map_err(|errno| {
            let step = if errno == Errno::EPERM {
                Step::RlimitRefused { name, soft, hard }
            } else {
                Step::Rlimit { name, soft, hard }
            };
            Failure::setup(step, errno)
        })?;
    }
    Ok(())
}

/// `pivot_root` into `root` and detach the host's tree (runc's way: pivot the root onto
/// itself, then lazily unmount the old root stacked on it).
fn enter_root(root: &Path) -> Result<(), Failure> {
    let old_root = File::open("/").map_err(io_at(Step::PivotRoot))?;
    let new_root = File::open(root).map_err(io_at(Step::PivotRoot))?;
    fchdir(&new_root).map_err(at(Step::PivotRoot))?;
    pivot_root(".", ".").map_err(at(Step::PivotRoot))?;
    fchdir(&old_root).map_err(at(Step::DetachOldRoot))?;
    // Our mounts are private already; slave the old root so its unmount can't
    // propagate anywhere either.
    mount(
        None::<&str>,
        ".",
        None::<&str>,
        MsFlags::MS_SLAVE | MsFlags::MS_REC,
        None::<&str>,
    )
    .map_err(at(Step::DetachOldRoot))?;
    umount2(".", MntFlags::MNT_DETACH).map_err(at(Step::DetachOldRoot))?;
    chdir("/").map_err(at(Step::DetachOldRoot))
}

/// Hides `path`: `/dev/null` over a file, an empty read-only tmpfs over a directory;
/// nothing when the kernel has no such path.
fn mask(path: &Path) -> Result<(), Errno> {
    let is_dir = match path.symlink_metadata() {
        Ok(meta) => meta.is_dir(),
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(err) => return Err(err.raw_os_error().map_or(Errno::EIO, Errno::from_raw)),
    };
    if is_dir {
        mount(
            Some("tmpfs"),
            path,
            Some("tmpfs"),
            MsFlags::MS_RDONLY,
            None::<&str>,
        )
    } else {
        mount(
            Some("/dev/null"),
            path,
            None::<&str>,
            MsFlags::MS_BIND,
            None::<&str>,
        )
    }
}

/// Binds `path` over itself read-only; nothing when the kernel has no such path.
fn readonly_in_place(path: &Path) -> Result<(), Errno> {
    match mount(
        Some(path),
        path,
        None::<&str>,
        MsFlags::MS_BIND | MsFlags::MS_REC,
        None::<&str>,
    ) {
        Err(Errno::ENOENT) => Ok(()),
        Err(errno) => Err(errno),
        Ok(()) => remount_readonly(path),
    }
}

/// Bounding set, groups, gid, uid, then the capability sets, as runc orders them:
/// the bounding set is dropped while we still have CAP_SETPCAP, and permitted
/// capabilities survive the change of uid (keepcaps) until capset sets them.
/// A privileged container gets every capability the runtime itself has (a host can
/// withhold some from root); otherwise asking for one the runtime lacks fails.
fn become_user(valid: &ValidSpec) -> Result<(), Failure> {
    let mut capabilities = valid.capabilities();
    if valid.spec().privileged {
        let ours = sys::permitted().map_err(at(Step::Capabilities))?;
        capabilities = capabilities.intersection(CapSet::from_bits(ours));
    }
    switch_user(&valid.spec().user, capabilities)
}

/// Becomes `user` with `capabilities` (the container's set), in [`become_user`]'s
/// order; an exec's process does the same (see [`enter`](super::enter)).
pub(crate) fn switch_user(user: &User, capabilities: CapSet) -> Result<(), Failure> {
    let caps = ProcessCaps::for_user(capabilities, user.uid);
    for n in 0..64u8 {
        if caps.bounding.contains(n) {
            continue;
        }
        match sys::drop_bounding(n) {
            Ok(()) => {}
            // Past the kernel's last capability.
            Err(Errno::EINVAL) => break,
            Err(errno) => return Err(Failure::setup(Step::BoundingSet, errno)),
        }
    }
    nix::sys::prctl::set_keepcaps(true).map_err(at(Step::KeepCaps))?;
    let groups: Vec<Gid> = user
        .additional_gids
        .iter()
        .map(|&g| Gid::from_raw(g))
        .collect();
    setgroups(&groups).map_err(at(Step::Groups))?;
    setgid(Gid::from_raw(user.gid)).map_err(at(Step::Gid { gid: user.gid }))?;
    setuid(Uid::from_raw(user.uid)).map_err(at(Step::Uid { uid: user.uid }))?;
    nix::sys::prctl::set_keepcaps(false).map_err(at(Step::KeepCaps))?;
    sys::capset(
        caps.effective.bits(),
        caps.permitted.bits(),
        caps.inheritable.bits(),
    )
    .map_err(at(Step::Capabilities))?;
    sys::clear_ambient().map_err(at(Step::Capabilities))?;
    for n in caps.ambient.numbers() {
        sys::raise_ambient(n).map_err(at(Step::Capabilities))?;
    }
    Ok(())
}
