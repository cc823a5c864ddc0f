//! A container's cgroup: where the host's cgroup filesystems are ([`Hierarchy`], found in
//! `/proc/self/mountinfo`), the cgroup made with its limits ([`Hierarchy::create`]), and
//! what is done with it afterwards ([`Cgroup`]: join, list, kill, remove).
//!
//! Everything is a plain file operation under the hierarchy's mount points, so a
//! [`Hierarchy`] pointing at any directory works the same (tests use temp dirs).
//!
//! cgroup v1 has one hierarchy per controller or group of co-mounted controllers
//! (`memory`, `cpu,cpuacct`, `name=systemd`, ...): a container's cgroup is one directory
//! of the same name in each. cgroup v2 has a single hierarchy. Which files a
//! [`CgroupLimits`] writes, with which values, is decided by pure functions (one for v1,
//! one for v2) before anything is created.

use super::spec::{CgroupJoin, CgroupMount, CgroupV1Mount};
use nix::errno::Errno;
use nix::sys::signal::{self, Signal};
use nix::unistd::Pid;
use serde::{Deserialize, Serialize};
use std::ffi::OsStr;
use std::fs;
use std::io::{self, Write};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::thread;
use std::time::{Duration, Instant};

/// The CFS bandwidth period, in microseconds (the kernel's and Docker's default).
const CPU_PERIOD: u64 = 100_000;

/// The smallest CFS quota the kernel takes, in microseconds.
const MIN_CPU_QUOTA: u64 = 1_000;

/// How long [`Cgroup::remove`] waits for the killed processes to be gone.
const REMOVE_TIMEOUT: Duration = Duration::from_secs(2);

/// How often [`Cgroup::remove`] looks again.
const REMOVE_POLL: Duration = Duration::from_millis(10);

/// How often [`Hierarchy::create`] makes a parent again that another cgroup's removal
/// took away.
const MKDIR_RETRIES: u32 = 10;

/// The v1 controllers (the kernel's subsystems) that a `cgroup` mount's options name.
const V1_CONTROLLERS: &[&str] = &[
    "cpuset",
    "cpu",
    "cpuacct",
    "blkio",
    "memory",
    "devices",
    "freezer",
    "net_cls",
    "perf_event",
    "net_prio",
    "hugetlb",
    "pids",
    "rdma",
    "misc",
    "debug",
];

/// A container's resource limits; `None` leaves the kernel's default (no limit).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CgroupLimits {
    /// Memory limit in bytes (`mem_limit`); 0 is no limit.
    pub memory: Option<u64>,
    /// Memory plus swap in bytes, like Docker's `--memory-swap` (`memswap_limit`): at
    /// least `memory`, which it needs; -1 is unlimited swap and 0 is unset.
    pub memory_swap: Option<i64>,
    /// How many CPUs' worth of time (`cpus`), e.g. 1.5: a quota of 150 ms every 100 ms;
    /// 0 is no limit.
    pub cpus: Option<f64>,
    /// Relative CPU weight (`cpu_shares`; the kernel takes 2 to 262144, 1024 is the
    /// default); 0 is unset.
    pub cpu_shares: Option<u64>,
    /// The CPUs the processes may run on (`cpuset`), e.g. `0-1,3`; empty is unset.
    pub cpuset_cpus: Option<String>,
    /// The memory nodes the processes may use (`cpuset.mems`), e.g. `0`; empty is unset.
    pub cpuset_mems: Option<String>,
    /// The most processes (`pids_limit`); -1 or 0 is unlimited.
    pub pids: Option<i64>,
}

/// The host's cgroup filesystems.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Hierarchy {
    /// The unified hierarchy (cgroup v2).
    V2 {
        /// Where it is mounted (`/sys/fs/cgroup`).
        root: PathBuf,
    },
    /// cgroup v1: one hierarchy per controller or group of co-mounted controllers.
    V1 {
        /// The hierarchies, in mount order.
        hierarchies: Vec<V1Hierarchy>,
    },
}

/// One cgroup v1 hierarchy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct V1Hierarchy {
    /// Where it is mounted (`/sys/fs/cgroup/memory`).
    pub mount: PathBuf,
    /// Its controllers (`["cpu", "cpuacct"]`); empty for a named hierarchy such as
    /// `name=systemd`.
    pub controllers: Vec<String>,
    /// The mount options that name it (`cpu,cpuacct`, `name=systemd`).
    pub options: String,
}

/// A container's cgroup: one directory under each hierarchy's mount point (v1), or one
/// directory under the unified hierarchy (v2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cgroup {
    hierarchy: Hierarchy,
    name: String,
}

/// One file written for a limit, relative to the cgroup's directory.
#[derive(Clone, Debug, PartialEq, Eq)]
struct LimitFile {
    /// The [`CgroupLimits`] field it comes from.
    limit: &'static str,
    /// The file, whose prefix is its controller (`memory.max`).
    file: &'static str,
    value: String,
}

impl LimitFile {
    fn new(limit: &'static str, file: &'static str, value: impl ToString) -> LimitFile {
        LimitFile {
            limit,
            file,
            value: value.to_string(),
        }
    }

    /// The controller whose file it is.
    fn controller(&self) -> &'static str {
        self.file
            .split_once('.')
            .map_or(self.file, |(prefix, _)| prefix)
    }
}

/// [`CgroupLimits`] checked, with the "unset" spellings (0, empty) gone.
#[derive(Debug, Default)]
struct Checked<'a> {
    memory: Option<u64>,
    /// Memory plus swap; at least `memory`, which is set.
    memory_swap: Option<u64>,
    cpu_quota: Option<u64>,
    cpu_shares: Option<u64>,
    cpuset_cpus: Option<&'a str>,
    cpuset_mems: Option<&'a str>,
    /// `Some(None)` is unlimited.
    pids: Option<Option<u64>>,
}

impl CgroupLimits {
    fn checked(&self) -> Result<Checked<'_>, CgroupError> {
        let invalid = |limit, value: &dyn ToString, reason: &str| CgroupError::InvalidLimit {
            limit,
            value: value.to_string(),
            reason: reason.to_string(),
        };
        let memory = self.memory.filter(|&bytes| bytes > 0);
        let memory_swap = match self.memory_swap {
            None | Some(0) | Some(-1) => None,
            Some(total) => {
                let Ok(total) = u64::try_from(total) else {
                    return Err(invalid(
                        "memory_swap",
                        &total,
                        "use a byte count, or -1 for unlimited swap",
                    ));
                };
                let Some(memory) = memory else {
                    return Err(invalid(
                        "memory_swap",
                        &total,
                        "it is memory plus swap, so it needs a memory limit too",
                    ));
                };
                if total < memory {
                    return Err(invalid(
                        "memory_swap",
                        &total,
                        &format!(
                            "it is memory plus swap, so it must be at least memory ({memory})"
                        ),
                    ));
                }
                Some(total)
            }
        };
        let cpu_quota = match self.cpus {
            None => None,
            Some(cpus) if !cpus.is_finite() || cpus < 0.0 => {
                return Err(invalid("cpus", &cpus, "use a positive number of CPUs"))
            }
            Some(0.0) => None,
            Some(cpus) => {
                // Saturating: a quota beyond what the kernel takes is its to refuse.
                let quota = (cpus * CPU_PERIOD as f64).round() as u64;
                if quota < MIN_CPU_QUOTA {
                    return Err(invalid(
                        "cpus",
                        &cpus,
                        "the kernel's smallest CPU quota is 0.01 CPU (1 ms every 100 ms)",
                    ));
                }
                Some(quota)
            }
        };
        let pids = match self.pids {
            None => None,
            Some(-1 | 0) => Some(None),
            Some(max) => match u64::try_from(max) {
                Ok(max) => Some(Some(max)),
                Err(_) => {
                    return Err(invalid(
                        "pids",
                        &max,
                        "use a positive number, or -1 or 0 for unlimited",
                    ))
                }
            },
        };
        Ok(Checked {
            memory,
            memory_swap,
            cpu_quota,
            cpu_shares: self.cpu_shares.filter(|&shares| shares > 0),
            cpuset_cpus: self.cpuset_cpus.as_deref().filter(|cpus| !cpus.is_empty()),
            cpuset_mems: self.cpuset_mems.as_deref().filter(|mems| !mems.is_empty()),
            pids,
        })
    }
}

/// The files cgroup v1 takes for `limits`, in the order they are written.
fn v1_files(limits: &CgroupLimits) -> Result<Vec<LimitFile>, CgroupError> {
    let limits = limits.checked()?;
    let mut files = Vec::new();
    if let Some(bytes) = limits.memory {
        files.push(LimitFile::new("memory", "memory.limit_in_bytes", bytes));
    }
    // After memory.limit_in_bytes: the kernel keeps memsw at least as large.
    if let Some(total) = limits.memory_swap {
        files.push(LimitFile::new(
            "memory_swap",
            "memory.memsw.limit_in_bytes",
            total,
        ));
    }
    if let Some(quota) = limits.cpu_quota {
        files.push(LimitFile::new("cpus", "cpu.cfs_period_us", CPU_PERIOD));
        files.push(LimitFile::new("cpus", "cpu.cfs_quota_us", quota));
    }
    if let Some(shares) = limits.cpu_shares {
        files.push(LimitFile::new("cpu_shares", "cpu.shares", shares));
    }
    files.extend(cpuset_and_pids(&limits));
    Ok(files)
}

/// The files cgroup v2 takes for `limits`, in the order they are written.
fn v2_files(limits: &CgroupLimits) -> Result<Vec<LimitFile>, CgroupError> {
    let limits = limits.checked()?;
    let mut files = Vec::new();
    if let Some(bytes) = limits.memory {
        files.push(LimitFile::new("memory", "memory.max", bytes));
    }
    if let (Some(total), Some(memory)) = (limits.memory_swap, limits.memory) {
        files.push(LimitFile::new(
            "memory_swap",
            "memory.swap.max",
            total - memory,
        ));
    }
    if let Some(quota) = limits.cpu_quota {
        files.push(LimitFile::new(
            "cpus",
            "cpu.max",
            format!("{quota} {CPU_PERIOD}"),
        ));
    }
    if let Some(shares) = limits.cpu_shares {
        files.push(LimitFile::new(
            "cpu_shares",
            "cpu.weight",
            cpu_weight(shares),
        ));
    }
    files.extend(cpuset_and_pids(&limits));
    Ok(files)
}

/// The files named alike in v1 and v2.
fn cpuset_and_pids(limits: &Checked) -> Vec<LimitFile> {
    let mut files = Vec::new();
    if let Some(cpus) = limits.cpuset_cpus {
        files.push(LimitFile::new("cpuset_cpus", "cpuset.cpus", cpus));
    }
    if let Some(mems) = limits.cpuset_mems {
        files.push(LimitFile::new("cpuset_mems", "cpuset.mems", mems));
    }
    if let Some(max) = limits.pids {
        let value = max.map_or_else(|| "max".to_string(), |max| max.to_string());
        files.push(LimitFile::new("pids", "pids.max", value));
    }
    files
}

/// v2's `cpu.weight` (1 to 10000) for v1's `cpu.shares` (2 to 262144), as runc maps it.
fn cpu_weight(shares: u64) -> u64 {
    let shares = shares.clamp(2, 262_144);
    1 + (shares - 2) * 9_999 / 262_142
}

impl Hierarchy {
    /// The host's cgroup filesystems, from `/proc/self/mountinfo` (see
    /// [`Hierarchy::from_mountinfo`]).
    pub fn detect() -> Result<Hierarchy, CgroupError> {
        let text = fs::read_to_string("/proc/self/mountinfo")
            .map_err(|err| CgroupError::Mountinfo { errno: errno(&err) })?;
        Hierarchy::from_mountinfo(&text)
    }

    /// The cgroup filesystems listed in a `/proc/<pid>/mountinfo` text: v1 when the
    /// memory controller is on a v1 hierarchy (hybrid hosts), else the first `cgroup2`
    /// mount, else whatever v1 hierarchies there are. A hierarchy mounted twice counts
    /// once; lines that can't be read are skipped.
    pub fn from_mountinfo(text: &str) -> Result<Hierarchy, CgroupError> {
        let mut v1: Vec<V1Hierarchy> = Vec::new();
        let mut v2 = None;
        for line in text.lines() {
            let Some(mount) = MountLine::parse(line) else {
                continue;
            };
            match mount.fstype {
                "cgroup2" => {
                    v2.get_or_insert(mount.point);
                }
                "cgroup" => {
                    if let Some(hierarchy) = V1Hierarchy::new(mount.point, mount.super_options) {
                        if !v1.iter().any(|known| known.options == hierarchy.options) {
                            v1.push(hierarchy);
                        }
                    }
                }
                _ => {}
            }
        }
        let memory_on_v1 = v1.iter().any(|hierarchy| hierarchy.has("memory"));
        match v2 {
            Some(root) if !memory_on_v1 => Ok(Hierarchy::V2 { root }),
            _ if !v1.is_empty() => Ok(Hierarchy::V1 { hierarchies: v1 }),
            _ => Err(CgroupError::NotMounted),
        }
    }

    /// Creates the cgroup `name` (like `rcompose/3f2a9c1e/<container id>`, relative to
    /// each hierarchy's root) with `limits`. Missing parents are created too: on v1 a new
    /// cpuset cgroup gets its parent's CPUs and memory nodes (without them no process
    /// can join); on v2 the controllers the limits need are enabled in the parents'
    /// `cgroup.subtree_control`. When a step fails, the directories made are removed.
    /// The cgroup itself must not exist yet.
    pub fn create(&self, name: &str, limits: &CgroupLimits) -> Result<Cgroup, CgroupError> {
        check_name(name)?;
        let mut created = Vec::new();
        let result = match self {
            Hierarchy::V1 { hierarchies } => {
                create_v1(hierarchies, name, &v1_files(limits)?, &mut created)
            }
            Hierarchy::V2 { root } => create_v2(root, name, &v2_files(limits)?, &mut created),
        };
        if let Err(err) = result {
            for dir in created.iter().rev() {
                let _ = fs::remove_dir(dir);
            }
            return Err(err);
        }
        Ok(self.open(name))
    }

    /// The cgroup `name`, which may or may not exist (no file is touched): to adopt or
    /// remove one made earlier.
    pub fn open(&self, name: &str) -> Cgroup {
        Cgroup {
            hierarchy: self.clone(),
            name: name.to_string(),
        }
    }

    /// The root directory of each hierarchy.
    fn roots(&self) -> Vec<&Path> {
        match self {
            Hierarchy::V2 { root } => vec![root],
            Hierarchy::V1 { hierarchies } => {
                hierarchies.iter().map(|h| h.mount.as_path()).collect()
            }
        }
    }
}

impl V1Hierarchy {
    /// The hierarchy named by a `cgroup` mount's super options, if they name one.
    fn new(mount: PathBuf, super_options: &str) -> Option<V1Hierarchy> {
        let names: Vec<&str> = super_options
            .split(',')
            .filter(|option| V1_CONTROLLERS.contains(option) || option.starts_with("name="))
            .collect();
        if names.is_empty() {
            return None;
        }
        Some(V1Hierarchy {
            mount,
            controllers: names
                .iter()
                .filter(|name| !name.starts_with("name="))
                .map(|name| name.to_string())
                .collect(),
            options: names.join(","),
        })
    }

    fn has(&self, controller: &str) -> bool {
        self.controllers.iter().any(|c| c == controller)
    }

    /// Its directory under the container's `/sys/fs/cgroup`: the host's (the mount
    /// point's last component: `cpu,cpuacct`, `systemd`), else its options without
    /// `name=`.
    fn dir(&self) -> String {
        match self.mount.file_name().and_then(OsStr::to_str) {
            Some(dir) => dir.to_string(),
            None => self.options.replace("name=", ""),
        }
    }
}

/// The fields of one `mountinfo` line that tell a cgroup mount.
struct MountLine<'a> {
    point: PathBuf,
    fstype: &'a str,
    super_options: &'a str,
}

impl MountLine<'_> {
    /// `36 35 98:0 /root /mnt rw,noatime master:1 - ext3 /dev/root rw,errors=continue`:
    /// the mount point is the 5th field; after the optional fields and `-` come the type,
    /// the source and the super options.
    fn parse(line: &str) -> Option<MountLine<'_>> {
        let (fields, rest) = line.split_once(" - ")?;
        let point = fields.split(' ').nth(4)?;
        let mut rest = rest.split(' ');
        let fstype = rest.next()?;
        let _source = rest.next()?;
        let super_options = rest.next()?;
        Some(MountLine {
            point: unescape(point),
            fstype,
            super_options,
        })
    }
}

/// A mountinfo path with its octal escapes (`\040` for a space) decoded.
fn unescape(field: &str) -> PathBuf {
    let mut bytes = Vec::with_capacity(field.len());
    let mut rest = field.as_bytes();
    while let Some((&byte, tail)) = rest.split_first() {
        if byte == b'\\' {
            if let Some((digits, after)) = tail.split_at_checked(3) {
                if let Some(decoded) = octal_byte(digits) {
                    bytes.push(decoded);
                    rest = after;
                    continue;
                }
            }
        }
        bytes.push(byte);
        rest = tail;
    }
    PathBuf::from(OsStr::from_bytes(&bytes))
}

/// Three octal digits making one byte (`040`).
fn octal_byte(digits: &[u8]) -> Option<u8> {
    let value = digits.iter().try_fold(0u32, |value, &digit| {
        matches!(digit, b'0'..=b'7').then(|| value * 8 + u32::from(digit - b'0'))
    })?;
    u8::try_from(value).ok()
}

/// A name can only designate a directory below each hierarchy's root.
fn check_name(name: &str) -> Result<(), CgroupError> {
    let reason = if name.is_empty() {
        "it is empty"
    } else if name.contains('\0') {
        "it contains a NUL byte"
    } else if name
        .split('/')
        .any(|component| matches!(component, "" | "." | ".."))
    {
        "it must be a relative path of plain components separated by single `/`"
    } else {
        return Ok(());
    };
    Err(CgroupError::InvalidName {
        name: name.to_string(),
        reason,
    })
}

fn create_v1(
    hierarchies: &[V1Hierarchy],
    name: &str,
    files: &[LimitFile],
    created: &mut Vec<PathBuf>,
) -> Result<(), CgroupError> {
    // Every controller is found before the first directory is made.
    let mut targets = Vec::new();
    for file in files {
        let controller = file.controller();
        let Some(hierarchy) = hierarchies.iter().find(|h| h.has(controller)) else {
            return Err(CgroupError::NoV1Controller {
                limit: file.limit,
                controller,
            });
        };
        targets.push((hierarchy.mount.join(name), file));
    }
    for hierarchy in hierarchies {
        let dirs = make_dirs(&hierarchy.mount, name, created)?;
        if hierarchy.has("cpuset") {
            for dir in &dirs {
                inherit_cpuset(dir)?;
            }
        }
    }
    for (dir, file) in targets {
        write_limit(&dir, file)?;
    }
    Ok(())
}

fn create_v2(
    root: &Path,
    name: &str,
    files: &[LimitFile],
    created: &mut Vec<PathBuf>,
) -> Result<(), CgroupError> {
    let mut needed: Vec<&'static str> = Vec::new();
    for file in files {
        if !needed.contains(&file.controller()) {
            needed.push(file.controller());
        }
    }
    if !needed.is_empty() {
        let available = read(&root.join("cgroup.controllers"))?;
        let has = |controller| available.split_whitespace().any(|c| c == controller);
        if let Some(file) = files.iter().find(|file| !has(file.controller())) {
            return Err(CgroupError::NoV2Controller {
                limit: file.limit,
                controller: file.controller(),
                root: root.to_path_buf(),
                available: available.trim().to_string(),
            });
        }
    }
    let dirs = make_dirs(root, name, created)?;
    if !needed.is_empty() {
        let parents = dirs.split_last().map_or(&[][..], |(_, parents)| parents);
        for dir in std::iter::once(root).chain(parents.iter().map(PathBuf::as_path)) {
            enable_controllers(dir, &needed)?;
        }
    }
    for file in files {
        write_limit(&root.join(name), file)?;
    }
    Ok(())
}

/// Creates `root/name` and its missing parents, recording each directory made; returns
/// every directory from the first component of `name` down to `root/name`.
fn make_dirs(
    root: &Path,
    name: &str,
    created: &mut Vec<PathBuf>,
) -> Result<Vec<PathBuf>, CgroupError> {
    let leaf = root.join(name);
    let mut dirs: Vec<PathBuf> = leaf
        .ancestors()
        .take_while(|dir| *dir != root)
        .map(Path::to_path_buf)
        .collect();
    dirs.reverse();
    let mut retries = 0;
    'again: loop {
        for dir in &dirs {
            match fs::create_dir(dir) {
                Ok(()) => created.push(dir.clone()),
                Err(err) if err.kind() == io::ErrorKind::AlreadyExists => {
                    if *dir == leaf {
                        return Err(CgroupError::Exists { path: leaf });
                    }
                }
                // A parent was removed meanwhile, by the removal of its last other
                // cgroup: make it again.
                Err(err) if err.kind() == io::ErrorKind::NotFound && retries < MKDIR_RETRIES => {
                    retries += 1;
                    continue 'again;
                }
                Err(err) => {
                    return Err(CgroupError::Create {
                        path: dir.clone(),
                        errno: errno(&err),
                    })
                }
            }
        }
        return Ok(dirs);
    }
}

/// Gives a v1 cpuset cgroup its parent's CPUs and memory nodes when it has none.
fn inherit_cpuset(dir: &Path) -> Result<(), CgroupError> {
    let Some(parent) = dir.parent() else {
        return Ok(());
    };
    for file in ["cpuset.cpus", "cpuset.mems"] {
        if read(&dir.join(file))?.trim().is_empty() {
            let value = read(&parent.join(file))?;
            write_plain(&dir.join(file), value.trim())?;
        }
    }
    Ok(())
}

/// Enables `controllers` for the children of the v2 cgroup `dir`, where they aren't yet.
fn enable_controllers(dir: &Path, controllers: &[&str]) -> Result<(), CgroupError> {
    let file = dir.join("cgroup.subtree_control");
    let enabled = read(&file)?;
    let missing: Vec<String> = controllers
        .iter()
        .filter(|controller| !enabled.split_whitespace().any(|e| e == **controller))
        .map(|controller| format!("+{controller}"))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    write_plain(&file, &missing.join(" "))
}

fn write_limit(dir: &Path, file: &LimitFile) -> Result<(), CgroupError> {
    let path = dir.join(file.file);
    write(&path, &file.value).map_err(|errno| CgroupError::Limit {
        limit: file.limit,
        hint: limit_hint(file, errno),
        file: path,
        value: file.value.clone(),
        errno,
    })
}

/// What to do when the kernel refuses a limit.
fn limit_hint(file: &LimitFile, errno: Errno) -> String {
    let limit = file.limit;
    match (errno, limit) {
        (Errno::ENOENT, "memory_swap") => format!(
            "swap accounting is off in this kernel (no {}): boot it with swapaccount=1, \
             or leave memory_swap unset",
            file.file
        ),
        (Errno::ENOENT, _) => format!(
            "the {} controller is not enabled for this cgroup; leave {limit} unset",
            file.controller()
        ),
        (Errno::EACCES | Errno::EPERM | Errno::EROFS, _) => {
            "cgroups need root and a writable cgroup filesystem".to_string()
        }
        (Errno::EBUSY, "memory" | "memory_swap") => {
            "its processes already use more memory than that; raise the limit".to_string()
        }
        (Errno::EINVAL | Errno::ERANGE, "cpuset_cpus") => {
            "list only CPUs this host has (/sys/devices/system/cpu/online), like \"0-1\" or \"0,2\""
                .to_string()
        }
        (Errno::EINVAL | Errno::ERANGE, "cpuset_mems") => {
            "list only memory nodes this host has (/sys/devices/system/node/online), like \"0\""
                .to_string()
        }
        (Errno::EINVAL, "cpus") => {
            "the kernel refused this CPU quota (a parent cgroup's may be lower); use fewer cpus"
                .to_string()
        }
        _ => format!("the kernel refused this value; use another one or leave {limit} unset"),
    }
}

impl Cgroup {
    /// Its name, relative to each hierarchy's root.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// What the container's PID 1 joins and mounts (see [`CgroupJoin`]). On v1, each
    /// hierarchy appears in the container under the host's directory name (`memory`,
    /// `cpu,cpuacct`, `systemd`). A cgroup opened with an invalid name has no
    /// `cgroup.procs` to join.
    pub fn join(&self) -> CgroupJoin {
        let procs = self
            .dirs()
            .unwrap_or_default()
            .into_iter()
            .map(|dir| dir.join("cgroup.procs"))
            .collect();
        let mount = match &self.hierarchy {
            Hierarchy::V2 { .. } => CgroupMount::V2,
            Hierarchy::V1 { hierarchies } => CgroupMount::V1 {
                hierarchies: hierarchies
                    .iter()
                    .map(|hierarchy| CgroupV1Mount {
                        dir: hierarchy.dir(),
                        options: hierarchy.options.clone(),
                    })
                    .collect(),
            },
        };
        CgroupJoin { procs, mount }
    }

    /// The processes in it and in the cgroups below it (in every v1 hierarchy), sorted;
    /// none when it doesn't exist.
    pub fn pids(&self) -> Result<Vec<i32>, CgroupError> {
        let mut pids = Vec::new();
        for dir in self.dirs()? {
            for dir in subtree(&dir)? {
                let path = dir.join("cgroup.procs");
                match fs::read_to_string(&path) {
                    Ok(text) => {
                        pids.extend(text.lines().filter_map(|line| line.parse::<i32>().ok()))
                    }
                    Err(err) if err.kind() == io::ErrorKind::NotFound => {}
                    Err(err) => {
                        return Err(CgroupError::Read {
                            path,
                            errno: errno(&err),
                        })
                    }
                }
            }
        }
        pids.retain(|&pid| pid > 0);
        pids.sort_unstable();
        pids.dedup();
        Ok(pids)
    }

    /// Sends SIGKILL to every process in it: through `cgroup.kill` on v2 when the
    /// kernel has it (5.14+), else one by one. Nothing to do when it doesn't exist.
    pub fn kill(&self) -> Result<(), CgroupError> {
        let dirs = self.dirs()?;
        if let (Hierarchy::V2 { .. }, [dir]) = (&self.hierarchy, dirs.as_slice()) {
            let file = dir.join("cgroup.kill");
            if file.exists() {
                return match write(&file, "1") {
                    Ok(()) | Err(Errno::ENOENT) => Ok(()),
                    Err(errno) => Err(CgroupError::Write {
                        file,
                        value: "1".to_string(),
                        errno,
                    }),
                };
            }
        }
        for pid in self.pids()? {
            match signal::kill(Pid::from_raw(pid), Signal::SIGKILL) {
                Ok(()) | Err(Errno::ESRCH) => {}
                Err(errno) => {
                    return Err(CgroupError::Kill {
                        name: self.name.clone(),
                        pid,
                        errno,
                    })
                }
            }
        }
        Ok(())
    }

    /// Kills its processes, waits (up to 2 s) until they are gone, and removes its
    /// directories (and the cgroups below them); then its parents that are now empty,
    /// the first component of its name too (a create that loses its parent meanwhile
    /// makes it again), so nothing of ours stays. What doesn't exist is fine.
    pub fn remove(&self) -> Result<(), CgroupError> {
        let dirs = self.dirs()?;
        let deadline = Instant::now() + REMOVE_TIMEOUT;
        loop {
            let pids = self.pids()?;
            if pids.is_empty() {
                break;
            }
            if Instant::now() >= deadline {
                return Err(CgroupError::Busy {
                    name: self.name.clone(),
                    pids,
                });
            }
            self.kill()?;
            thread::sleep(REMOVE_POLL);
        }
        let depth = self.name.split('/').count();
        for dir in &dirs {
            for dir in subtree(dir)? {
                remove_dir(&dir, deadline)?;
            }
            for parent in dir.ancestors().skip(1).take(depth.saturating_sub(1)) {
                match fs::remove_dir(parent) {
                    Ok(()) => {}
                    Err(err) if err.kind() == io::ErrorKind::NotFound => {}
                    // Still holding other cgroups: so do its parents.
                    Err(err) if matches!(errno(&err), Errno::EBUSY | Errno::ENOTEMPTY) => break,
                    Err(err) => {
                        return Err(CgroupError::Remove {
                            path: parent.to_path_buf(),
                            errno: errno(&err),
                        })
                    }
                }
            }
        }
        Ok(())
    }

    /// Whether its directory exists (in any v1 hierarchy).
    pub fn exists(&self) -> bool {
        self.dirs()
            .is_ok_and(|dirs| dirs.iter().any(|dir| dir.is_dir()))
    }

    /// Its directory in each hierarchy.
    fn dirs(&self) -> Result<Vec<PathBuf>, CgroupError> {
        check_name(&self.name)?;
        Ok(self
            .hierarchy
            .roots()
            .into_iter()
            .map(|root| root.join(&self.name))
            .collect())
    }
}

/// `dir` and the directories below it, deepest first; none when `dir` doesn't exist.
fn subtree(dir: &Path) -> Result<Vec<PathBuf>, CgroupError> {
    let read_error = |err: io::Error| CgroupError::Read {
        path: dir.to_path_buf(),
        errno: errno(&err),
    };
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(err) => return Err(read_error(err)),
    };
    let mut dirs = Vec::new();
    for entry in entries {
        let entry = entry.map_err(read_error)?;
        if entry.file_type().map_err(read_error)?.is_dir() {
            dirs.extend(subtree(&entry.path())?);
        }
    }
    dirs.push(dir.to_path_buf());
    Ok(dirs)
}

/// Removes an empty cgroup directory; the kernel may still count a process that was just
/// killed for a moment (EBUSY) until `deadline`.
fn remove_dir(dir: &Path, deadline: Instant) -> Result<(), CgroupError> {
    loop {
        match fs::remove_dir(dir) {
            Ok(()) => return Ok(()),
            Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(err) if errno(&err) == Errno::EBUSY && Instant::now() < deadline => {
                thread::sleep(REMOVE_POLL)
            }
            Err(err) => {
                return Err(CgroupError::Remove {
                    path: dir.to_path_buf(),
                    errno: errno(&err),
                })
            }
        }
    }
}

fn read(path: &Path) -> Result<String, CgroupError> {
    fs::read_to_string(path).map_err(|err| CgroupError::Read {
        path: path.to_path_buf(),
        errno: errno(&err),
    })
}

/// Writes `value` into an existing cgroup file in one write, as the kernel wants it.
fn write(path: &Path, value: &str) -> Result<(), Errno> {
    let mut file = fs::OpenOptions::new()
        .write(true)
        .open(path)
        .map_err(|err| errno(&err))?;
    file.write_all(value.as_bytes()).map_err(|err| errno(&err))
}

/// [`write`] for a file that no limit names.
fn write_plain(path: &Path, value: &str) -> Result<(), CgroupError> {
    write(path, value).map_err(|errno| CgroupError::Write {
        file: path.to_path_buf(),
        value: value.to_string(),
        errno,
    })
}

fn errno(err: &io::Error) -> Errno {
    err.raw_os_error().map_or(Errno::EIO, Errno::from_raw)
}

/// What went wrong with a cgroup; the kernel's errno is part of the message.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CgroupError {
    /// `/proc/self/mountinfo` could not be read.
    #[error("cannot read /proc/self/mountinfo to find the cgroup filesystems ({errno})")]
    Mountinfo { errno: Errno },
    /// No cgroup filesystem is mounted.
    #[error(
        "no cgroup filesystem is mounted (none in /proc/self/mountinfo): mount cgroup2 on \
         /sys/fs/cgroup, or the v1 controllers below it"
    )]
    NotMounted,
    /// A cgroup name that is not a relative path of plain components.
    #[error("invalid cgroup name {name:?}: {reason}")]
    InvalidName { name: String, reason: &'static str },
    /// A limit no kernel takes.
    #[error("invalid {limit} {value}: {reason}")]
    InvalidLimit {
        limit: &'static str,
        value: String,
        reason: String,
    },
    /// A limit whose controller no v1 hierarchy has.
    #[error(
        "cannot set {limit}: no cgroup v1 hierarchy has the {controller} controller (see \
         /proc/self/mountinfo); mount it, or leave {limit} unset"
    )]
    NoV1Controller {
        limit: &'static str,
        controller: &'static str,
    },
    /// A limit whose controller the v2 hierarchy does not offer.
    #[error(
        "cannot set {limit}: cgroup v2 at {} has no {controller} controller (its \
         cgroup.controllers lists {available:?}; the controller may be bound to a cgroup v1 \
         hierarchy, or disabled on the kernel command line); leave {limit} unset",
        root.display()
    )]
    NoV2Controller {
        limit: &'static str,
        controller: &'static str,
        root: PathBuf,
        available: String,
    },
    /// The cgroup to create exists already.
    #[error(
        "cgroup {} already exists: remove it first (left over by a container of the same \
         name?)",
        path.display()
    )]
    Exists { path: PathBuf },
    /// A cgroup directory could not be made.
    #[error("cannot create cgroup {} ({errno})", path.display())]
    Create { path: PathBuf, errno: Errno },
    /// The kernel refused a limit.
    #[error("cannot set {limit}: writing {value:?} to {} failed ({errno}): {hint}", file.display())]
    Limit {
        limit: &'static str,
        file: PathBuf,
        value: String,
        errno: Errno,
        hint: String,
    },
    /// Another cgroup file could not be written.
    #[error("cannot write {value:?} to {} ({errno})", file.display())]
    Write {
        file: PathBuf,
        value: String,
        errno: Errno,
    },
    /// A cgroup file or directory could not be read.
    #[error("cannot read {} ({errno})", path.display())]
    Read { path: PathBuf, errno: Errno },
    /// A process of the cgroup could not be killed.
    #[error("cannot kill process {pid} of cgroup {name} ({errno})")]
    Kill {
        name: String,
        pid: i32,
        errno: Errno,
    },
    /// Processes were still there 2 s after SIGKILL.
    #[error(
        "cgroup {name} still has processes {pids:?} 2 s after SIGKILL: they may be stuck \
         in the kernel (state D in ps); try to remove it again later"
    )]
    Busy { name: String, pids: Vec<i32> },
    /// A cgroup directory could not be removed.
    #[error("cannot remove cgroup {} ({errno})", path.display())]
    Remove { path: PathBuf, errno: Errno },
}

#[cfg(test)]
mod tests {
    use super::*;

    /// This VM (Linux 6.18): every v1 controller on its own hierarchy, plus an empty
    /// cgroup2 at /sys/fs/cgroup/unified.
    const THIS_HOST: &str = "\
22 27 0:21 / /proc rw,relatime - proc proc rw
23 27 0:22 / /sys rw,relatime - sysfs sysfs rw
24 27 0:6 / /dev rw,relatime - devtmpfs devtmpfs rw,size=12334432k,nr_inodes=3083608,mode=755
25 24 0:23 / /dev/shm rw,relatime - tmpfs tmpfs rw,size=24683656k
26 24 0:24 / /dev/pts rw,relatime - devpts devpts rw,mode=600,ptmxmode=000
27 1 254:0 / / rw,relatime - ext4 /dev/vda rw,discard,resv_strict,resuid=65534,resgid=65534
29 26 0:26 / /dev/pts rw,relatime - devpts devpts rw,mode=600,ptmxmode=000
30 25 0:27 / /dev/shm rw,relatime - tmpfs tmpfs rw,size=24683656k
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
36 31 0:33 / /sys/fs/cgroup/devices rw,relatime - cgroup cgroup rw,devices
37 31 0:34 / /sys/fs/cgroup/freezer rw,relatime - cgroup cgroup rw,freezer
38 31 0:35 / /sys/fs/cgroup/blkio rw,relatime - cgroup cgroup rw,blkio
39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
42 23 0:13 / /sys/kernel/tracing rw,relatime - tracefs none rw
";

    /// CentOS 7 (kernel 3.10, cgroup v1 only): co-mounted controllers listed out of
    /// order, a release agent on the systemd hierarchy.
    const CENTOS_7: &str = "\
17 60 0:16 / /sys rw,nosuid,nodev,noexec,relatime shared:6 - sysfs sysfs rw,seclabel
24 17 0:19 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:8 - tmpfs tmpfs ro,seclabel,mode=755
25 24 0:20 / /sys/fs/cgroup/systemd rw,nosuid,nodev,noexec,relatime shared:9 - cgroup cgroup rw,xattr,release_agent=/usr/lib/systemd/systemd-cgroups-agent,name=systemd
26 17 0:21 / /sys/fs/pstore rw,nosuid,nodev,noexec,relatime shared:20 - pstore pstore rw
27 24 0:22 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid,nodev,noexec,relatime shared:10 - cgroup cgroup rw,cpuacct,cpu
28 24 0:23 / /sys/fs/cgroup/hugetlb rw,nosuid,nodev,noexec,relatime shared:11 - cgroup cgroup rw,hugetlb
30 24 0:25 / /sys/fs/cgroup/net_cls,net_prio rw,nosuid,nodev,noexec,relatime shared:13 - cgroup cgroup rw,net_prio,net_cls
35 24 0:30 / /sys/fs/cgroup/memory rw,nosuid,nodev,noexec,relatime shared:18 - cgroup cgroup rw,memory
36 24 0:31 / /sys/fs/cgroup/cpuset rw,nosuid,nodev,noexec,relatime shared:19 - cgroup cgroup rw,cpuset
60 1 253:0 / / rw,relatime shared:1 - xfs /dev/mapper/cl-root rw,seclabel,attr2,inode64,noquota
";

    /// Ubuntu 20.04 (systemd's hybrid layout): v1 controllers and an unused cgroup2.
    const UBUNTU_20_04: &str = "\
34 24 0:28 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:9 - tmpfs tmpfs ro,mode=755
35 34 0:29 / /sys/fs/cgroup/unified rw,nosuid,nodev,noexec,relatime shared:10 - cgroup2 cgroup2 rw,nsdelegate
36 34 0:30 / /sys/fs/cgroup/systemd rw,nosuid,nodev,noexec,relatime shared:11 - cgroup cgroup rw,xattr,name=systemd
39 34 0:33 / /sys/fs/cgroup/memory rw,nosuid,nodev,noexec,relatime shared:15 - cgroup cgroup rw,memory
40 34 0:34 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid,nodev,noexec,relatime shared:16 - cgroup cgroup rw,cpu,cpuacct
";

    /// Ubuntu 22.04 (cgroup v2 only).
    const UBUNTU_22_04: &str = "\
28 31 0:25 / /run rw,nosuid,nodev,noexec,relatime shared:5 - tmpfs tmpfs rw,size=800164k,mode=755,inode64
31 1 8:2 / / rw,relatime shared:1 - ext4 /dev/sda2 rw
35 24 0:29 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:9 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot
38 25 0:32 / /proc/sys/fs/binfmt_misc rw,relatime shared:13 - autofs systemd-1 rw,fd=29,pgrp=1,timeout=0,minproto=5,maxproto=5,direct
";

    /// A Kubernetes pod on a v1 host: the hierarchies' roots are the pod's cgroups.
    const K8S_POD_V1: &str = "\
1523 1522 0:213 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime - tmpfs tmpfs rw,mode=755
1524 1523 0:24 /kubepods/besteffort/pod28478e30/58a77afc /sys/fs/cgroup/systemd ro,nosuid,nodev,noexec,relatime master:8 - cgroup cgroup rw,xattr,release_agent=/usr/lib/systemd/systemd-cgroups-agent,name=systemd
1525 1523 0:26 /kubepods/besteffort/pod28478e30/58a77afc /sys/fs/cgroup/cpu,cpuacct ro,nosuid,nodev,noexec,relatime master:11 - cgroup cgroup rw,cpu,cpuacct
1530 1523 0:31 /kubepods/besteffort/pod28478e30/58a77afc /sys/fs/cgroup/memory ro,nosuid,nodev,noexec,relatime master:16 - cgroup cgroup rw,memory
";

    fn v1(mount: &str, controllers: &[&str], options: &str) -> V1Hierarchy {
        V1Hierarchy {
            mount: PathBuf::from(mount),
            controllers: controllers.iter().map(|c| c.to_string()).collect(),
            options: options.to_string(),
        }
    }

    fn hierarchies(hierarchy: &Hierarchy) -> &[V1Hierarchy] {
        match hierarchy {
            Hierarchy::V1 { hierarchies } => hierarchies,
            Hierarchy::V2 { root } => panic!("v2 at {}", root.display()),
        }
    }

    #[test]
    fn this_host_is_v1_with_every_hierarchy_but_the_unified_one() {
        let hierarchy = Hierarchy::from_mountinfo(THIS_HOST).unwrap();
        let expected = [
            ("cpu", "cpu"),
            ("cpuacct", "cpuacct"),
            ("cpuset", "cpuset"),
            ("memory", "memory"),
            ("devices", "devices"),
            ("freezer", "freezer"),
            ("blkio", "blkio"),
            ("pids", "pids"),
        ]
        .map(|(dir, controller)| v1(&format!("/sys/fs/cgroup/{dir}"), &[controller], controller))
        .into_iter()
        .chain([v1("/sys/fs/cgroup/systemd", &[], "name=systemd")])
        .collect::<Vec<_>>();
        assert_eq!(hierarchies(&hierarchy), expected);

        let join = hierarchy.open("rcompose/3f2a9c1e/web-1").join();
        let dirs = [
            "cpu", "cpuacct", "cpuset", "memory", "devices", "freezer", "blkio", "pids", "systemd",
        ];
        assert_eq!(
            join.procs,
            dirs.map(|dir| PathBuf::from(format!(
                "/sys/fs/cgroup/{dir}/rcompose/3f2a9c1e/web-1/cgroup.procs"
            )))
        );
        let options = dirs.map(|dir| {
            if dir == "systemd" {
                "name=systemd"
            } else {
                dir
            }
        });
        assert_eq!(
            join.mount,
            CgroupMount::V1 {
                hierarchies: dirs
                    .iter()
                    .zip(options)
                    .map(|(dir, options)| CgroupV1Mount {
                        dir: dir.to_string(),
                        options: options.to_string(),
                    })
                    .collect()
            }
        );
    }

    #[test]
    fn co_mounted_controllers_are_one_hierarchy_under_the_hosts_directory() {
        let hierarchy = Hierarchy::from_mountinfo(CENTOS_7).unwrap();
        assert_eq!(
            hierarchies(&hierarchy),
            [
                v1("/sys/fs/cgroup/systemd", &[], "name=systemd"),
                v1(
                    "/sys/fs/cgroup/cpu,cpuacct",
                    &["cpuacct", "cpu"],
                    "cpuacct,cpu"
                ),
                v1("/sys/fs/cgroup/hugetlb", &["hugetlb"], "hugetlb"),
                v1(
                    "/sys/fs/cgroup/net_cls,net_prio",
                    &["net_prio", "net_cls"],
                    "net_prio,net_cls"
                ),
                v1("/sys/fs/cgroup/memory", &["memory"], "memory"),
                v1("/sys/fs/cgroup/cpuset", &["cpuset"], "cpuset"),
            ]
        );
        let CgroupMount::V1 { hierarchies } = hierarchy.open("c").join().mount else {
            panic!("not v1");
        };
        let mounts: Vec<(&str, &str)> = hierarchies
            .iter()
            .map(|h| (h.dir.as_str(), h.options.as_str()))
            .collect();
        assert_eq!(
            mounts,
            [
                ("systemd", "name=systemd"),
                ("cpu,cpuacct", "cpuacct,cpu"),
                ("hugetlb", "hugetlb"),
                ("net_cls,net_prio", "net_prio,net_cls"),
                ("memory", "memory"),
                ("cpuset", "cpuset"),
            ]
        );
    }

    #[test]
    fn hybrid_hosts_use_v1_when_memory_is_there() {
        let hierarchy = Hierarchy::from_mountinfo(UBUNTU_20_04).unwrap();
        assert_eq!(
            hierarchies(&hierarchy),
            [
                v1("/sys/fs/cgroup/systemd", &[], "name=systemd"),
                v1("/sys/fs/cgroup/memory", &["memory"], "memory"),
                v1(
                    "/sys/fs/cgroup/cpu,cpuacct",
                    &["cpu", "cpuacct"],
                    "cpu,cpuacct"
                ),
            ]
        );
        // Only systemd's named hierarchy on v1: the controllers are on v2.
        let systemd_only = UBUNTU_20_04
            .lines()
            .filter(|line| !line.contains("memory") && !line.contains("cpuacct"))
            .collect::<Vec<_>>()
            .join("\n");
        assert_eq!(
            Hierarchy::from_mountinfo(&systemd_only).unwrap(),
            Hierarchy::V2 {
                root: PathBuf::from("/sys/fs/cgroup/unified")
            }
        );
    }

    #[test]
    fn v2_hosts_have_one_root() {
        let hierarchy = Hierarchy::from_mountinfo(UBUNTU_22_04).unwrap();
        assert_eq!(
            hierarchy,
            Hierarchy::V2 {
                root: PathBuf::from("/sys/fs/cgroup")
            }
        );
        assert_eq!(
            hierarchy.open("rcompose/p/c").join(),
            CgroupJoin {
                procs: vec![PathBuf::from("/sys/fs/cgroup/rcompose/p/c/cgroup.procs")],
                mount: CgroupMount::V2,
            }
        );
    }

    #[test]
    fn mount_points_count_not_the_mounts_roots() {
        let hierarchy = Hierarchy::from_mountinfo(K8S_POD_V1).unwrap();
        assert_eq!(
            hierarchies(&hierarchy),
            [
                v1("/sys/fs/cgroup/systemd", &[], "name=systemd"),
                v1(
                    "/sys/fs/cgroup/cpu,cpuacct",
                    &["cpu", "cpuacct"],
                    "cpu,cpuacct"
                ),
                v1("/sys/fs/cgroup/memory", &["memory"], "memory"),
            ]
        );
    }

    #[test]
    fn odd_mountinfo_lines() {
        // Escaped mount points; the same hierarchy mounted twice counts once; lines
        // that can't be read are skipped.
        let text = "\
garbage
1 2 3 - cgroup
50 1 0:40 / /mnt/my\\040cgroups\\134memory rw - cgroup cgroup rw,memory
51 1 0:40 / /mnt/again rw - cgroup cgroup rw,memory
52 1 0:41 / /mnt/none rw - cgroup cgroup rw,xattr
53 1 0:42 / /mnt/bad\\09x rw - cgroup cgroup rw,pids
";
        assert_eq!(
            hierarchies(&Hierarchy::from_mountinfo(text).unwrap()),
            [
                v1("/mnt/my cgroups\\memory", &["memory"], "memory"),
                v1("/mnt/bad\\09x", &["pids"], "pids"),
            ]
        );
        let err = Hierarchy::from_mountinfo(&THIS_HOST.replace("cgroup", "other")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "no cgroup filesystem is mounted (none in /proc/self/mountinfo): mount cgroup2 on \
             /sys/fs/cgroup, or the v1 controllers below it"
        );
    }

    fn files(files: Result<Vec<LimitFile>, CgroupError>) -> Vec<(&'static str, String)> {
        files
            .unwrap()
            .into_iter()
            .map(|file| (file.file, file.value))
            .collect()
    }

    fn pairs(expected: &[(&'static str, &str)]) -> Vec<(&'static str, String)> {
        expected
            .iter()
            .map(|(file, value)| (*file, value.to_string()))
            .collect()
    }

    fn all_limits() -> CgroupLimits {
        CgroupLimits {
            memory: Some(64 << 20),
            memory_swap: Some(96 << 20),
            cpus: Some(1.5),
            cpu_shares: Some(1024),
            cpuset_cpus: Some("0-1".to_string()),
            cpuset_mems: Some("0".to_string()),
            pids: Some(100),
        }
    }

    #[test]
    fn v1_files_and_values() {
        assert_eq!(
            files(v1_files(&all_limits())),
            pairs(&[
                ("memory.limit_in_bytes", "67108864"),
                ("memory.memsw.limit_in_bytes", "100663296"),
                ("cpu.cfs_period_us", "100000"),
                ("cpu.cfs_quota_us", "150000"),
                ("cpu.shares", "1024"),
                ("cpuset.cpus", "0-1"),
                ("cpuset.mems", "0"),
                ("pids.max", "100"),
            ])
        );
        assert_eq!(files(v1_files(&CgroupLimits::default())), pairs(&[]));
    }

    #[test]
    fn v2_files_and_values() {
        assert_eq!(
            files(v2_files(&all_limits())),
            pairs(&[
                ("memory.max", "67108864"),
                ("memory.swap.max", "33554432"),
                ("cpu.max", "150000 100000"),
                ("cpu.weight", "39"),
                ("cpuset.cpus", "0-1"),
                ("cpuset.mems", "0"),
                ("pids.max", "100"),
            ])
        );
        assert_eq!(files(v2_files(&CgroupLimits::default())), pairs(&[]));
    }

    #[test]
    fn unset_and_unlimited_spellings() {
        let limits = CgroupLimits {
            memory: Some(0),
            memory_swap: Some(-1),
            cpus: Some(0.0),
            cpu_shares: Some(0),
            cpuset_cpus: Some(String::new()),
            cpuset_mems: Some(String::new()),
            pids: Some(-1),
        };
        assert_eq!(files(v1_files(&limits)), pairs(&[("pids.max", "max")]));
        let limits = CgroupLimits {
            memory: Some(1 << 30),
            memory_swap: Some(-1),
            pids: Some(0),
            ..CgroupLimits::default()
        };
        assert_eq!(
            files(v2_files(&limits)),
            pairs(&[("memory.max", "1073741824"), ("pids.max", "max")])
        );
        // No swap at all: memory + swap = memory.
        let limits = CgroupLimits {
            memory: Some(1 << 30),
            memory_swap: Some(1 << 30),
            ..CgroupLimits::default()
        };
        assert_eq!(
            files(v2_files(&limits)),
            pairs(&[("memory.max", "1073741824"), ("memory.swap.max", "0")])
        );
    }

    #[test]
    fn cpus_and_shares_conversions() {
        let v2 = |cpus: f64| {
            files(v2_files(&CgroupLimits {
                cpus: Some(cpus),
                ..CgroupLimits::default()
            }))
        };
        assert_eq!(v2(0.01), pairs(&[("cpu.max", "1000 100000")]));
        assert_eq!(v2(0.333), pairs(&[("cpu.max", "33300 100000")]));
        assert_eq!(v2(2.0), pairs(&[("cpu.max", "200000 100000")]));
        let weights: Vec<u64> = [1, 2, 512, 1024, 2048, 262_144, 1_000_000]
            .into_iter()
            .map(cpu_weight)
            .collect();
        assert_eq!(weights, [1, 1, 20, 39, 79, 10000, 10000]);
    }

    #[test]
    fn invalid_limits_are_named() {
        let error = |change: fn(&mut CgroupLimits)| {
            let mut limits = CgroupLimits::default();
            change(&mut limits);
            let v1 = v1_files(&limits).unwrap_err();
            assert_eq!(v2_files(&limits).unwrap_err(), v1);
            v1.to_string()
        };
        assert_eq!(
            error(|l| l.memory_swap = Some(1 << 30)),
            "invalid memory_swap 1073741824: it is memory plus swap, so it needs a memory limit too"
        );
        assert_eq!(
            error(|l| {
                l.memory = Some(2048);
                l.memory_swap = Some(1024);
            }),
            "invalid memory_swap 1024: it is memory plus swap, so it must be at least memory (2048)"
        );
        assert_eq!(
            error(|l| l.memory_swap = Some(-2)),
            "invalid memory_swap -2: use a byte count, or -1 for unlimited swap"
        );
        assert_eq!(
            error(|l| l.cpus = Some(-1.0)),
            "invalid cpus -1: use a positive number of CPUs"
        );
        assert_eq!(
            error(|l| l.cpus = Some(f64::NAN)),
            "invalid cpus NaN: use a positive number of CPUs"
        );
        assert_eq!(
            error(|l| l.cpus = Some(0.004)),
            "invalid cpus 0.004: the kernel's smallest CPU quota is 0.01 CPU (1 ms every 100 ms)"
        );
        assert_eq!(
            error(|l| l.pids = Some(-5)),
            "invalid pids -5: use a positive number, or -1 or 0 for unlimited"
        );
    }

    #[test]
    fn names_stay_below_the_roots() {
        let hierarchy = Hierarchy::V2 {
            root: PathBuf::from("/nonexistent/cgroup"),
        };
        for name in ["", "/abs", "a//b", "a/", "a/../b", "./a", "..", "a\0b"] {
            let err = hierarchy
                .create(name, &CgroupLimits::default())
                .unwrap_err();
            assert!(
                matches!(err, CgroupError::InvalidName { .. }),
                "{name:?}: {err}"
            );
            let cgroup = hierarchy.open(name);
            assert!(!cgroup.exists());
            assert_eq!(cgroup.remove().unwrap_err(), err);
            assert_eq!(cgroup.pids().unwrap_err(), err);
            assert_eq!(cgroup.join().procs, Vec::<PathBuf>::new());
        }
        assert_eq!(
            hierarchy.open("a/../b").remove().unwrap_err().to_string(),
            "invalid cgroup name \"a/../b\": it must be a relative path of plain components \
             separated by single `/`"
        );
    }

    fn fake_v1(dir: &Path, controllers: &[&str]) -> Hierarchy {
        Hierarchy::V1 {
            hierarchies: controllers
                .iter()
                .map(|controller| {
                    let mount = dir.join(controller);
                    fs::create_dir(&mount).unwrap();
                    v1(mount.to_str().unwrap(), &[controller], controller)
                })
                .collect(),
        }
    }

    #[test]
    fn directories_are_made_and_removed_with_their_new_parents() {
        let temp = tempfile::tempdir().unwrap();
        let hierarchy = fake_v1(temp.path(), &["memory", "pids"]);
        fs::create_dir(temp.path().join("pids/rcompose")).unwrap();
        let cgroup = hierarchy
            .create("rcompose/proj/web-1", &CgroupLimits::default())
            .unwrap();
        assert_eq!(cgroup.name(), "rcompose/proj/web-1");
        assert!(cgroup.exists());
        for controller in ["memory", "pids"] {
            assert!(temp
                .path()
                .join(controller)
                .join("rcompose/proj/web-1")
                .is_dir());
        }
        let sibling = hierarchy
            .create("rcompose/proj/web-2", &CgroupLimits::default())
            .unwrap();
        assert_eq!(
            hierarchy
                .create("rcompose/proj/web-1", &CgroupLimits::default())
                .unwrap_err()
                .to_string(),
            format!(
                "cgroup {}/memory/rcompose/proj/web-1 already exists: remove it first (left \
                 over by a container of the same name?)",
                temp.path().display()
            )
        );
        assert_eq!(cgroup.pids().unwrap(), Vec::<i32>::new());

        // The parent stays while it holds web-2.
        cgroup.remove().unwrap();
        assert!(!cgroup.exists());
        assert!(temp.path().join("memory/rcompose/proj/web-2").is_dir());
        // Then goes, and the first component of the name with it.
        sibling.remove().unwrap();
        for controller in ["memory", "pids"] {
            let rcompose = temp.path().join(controller).join("rcompose");
            assert!(!rcompose.exists(), "{controller}");
        }
        // Absent is fine.
        sibling.remove().unwrap();
        sibling.kill().unwrap();
    }

    #[test]
    fn a_failed_create_removes_what_it_made() {
        // A plain directory has no memory.limit_in_bytes: the write fails after the
        // directories are made.
        let temp = tempfile::tempdir().unwrap();
        let hierarchy = fake_v1(temp.path(), &["memory", "pids"]);
        fs::create_dir(temp.path().join("memory/rcompose")).unwrap();
        let limits = CgroupLimits {
            memory: Some(1 << 20),
            ..CgroupLimits::default()
        };
        let err = hierarchy
            .create("rcompose/proj/web-1", &limits)
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "cannot set memory: writing \"1048576\" to \
                 {}/memory/rcompose/proj/web-1/memory.limit_in_bytes failed (ENOENT: No such \
                 file or directory): the memory controller is not enabled for this cgroup; \
                 leave memory unset",
                temp.path().display()
            )
        );
        assert!(temp.path().join("memory/rcompose").is_dir());
        assert_eq!(
            fs::read_dir(temp.path().join("memory/rcompose"))
                .unwrap()
                .count(),
            0
        );
        assert_eq!(fs::read_dir(temp.path().join("pids")).unwrap().count(), 0);

        // A controller no hierarchy has: refused before anything is made.
        let limits = CgroupLimits {
            cpu_shares: Some(512),
            ..CgroupLimits::default()
        };
        assert_eq!(
            hierarchy.create("other", &limits).unwrap_err().to_string(),
            "cannot set cpu_shares: no cgroup v1 hierarchy has the cpu controller (see \
             /proc/self/mountinfo); mount it, or leave cpu_shares unset"
        );
        assert!(!hierarchy.open("other").exists());
    }

    #[test]
    fn v2_enables_the_controllers_in_the_parents() {
        let temp = tempfile::tempdir().unwrap();
        let root = temp.path().to_path_buf();
        fs::write(root.join("cgroup.controllers"), "cpuset cpu io memory\n").unwrap();
        fs::write(root.join("cgroup.subtree_control"), "cpu\n").unwrap();
        let hierarchy = Hierarchy::V2 { root: root.clone() };
        let limits = CgroupLimits {
            pids: Some(10),
            ..CgroupLimits::default()
        };
        assert_eq!(
            hierarchy.create("web", &limits).unwrap_err().to_string(),
            format!(
                "cannot set pids: cgroup v2 at {} has no pids controller (its \
                 cgroup.controllers lists \"cpuset cpu io memory\"; the controller may be \
                 bound to a cgroup v1 hierarchy, or disabled on the kernel command line); \
                 leave pids unset",
                root.display()
            )
        );
        // memory and cpu are asked for, cpu is on already; the limit's file is missing
        // in a plain directory, so the cgroup is removed again.
        let limits = CgroupLimits {
            memory: Some(1 << 20),
            cpus: Some(1.0),
            ..CgroupLimits::default()
        };
        let err = hierarchy.create("web", &limits).unwrap_err();
        assert!(
            matches!(
                err,
                CgroupError::Limit {
                    limit: "memory",
                    errno: Errno::ENOENT,
                    ..
                }
            ),
            "{err}"
        );
        assert_eq!(
            fs::read_to_string(root.join("cgroup.subtree_control")).unwrap(),
            "+memory"
        );
        assert!(!root.join("web").exists());
    }

    #[test]
    fn limit_hints() {
        let hint = |limit, file, errno| limit_hint(&LimitFile::new(limit, file, "1"), errno);
        assert_eq!(
            hint("memory_swap", "memory.memsw.limit_in_bytes", Errno::ENOENT),
            "swap accounting is off in this kernel (no memory.memsw.limit_in_bytes): boot it \
             with swapaccount=1, or leave memory_swap unset"
        );
        assert_eq!(
            hint("memory", "memory.limit_in_bytes", Errno::EBUSY),
            "its processes already use more memory than that; raise the limit"
        );
        assert_eq!(
            hint("cpuset_cpus", "cpuset.cpus", Errno::ERANGE),
            "list only CPUs this host has (/sys/devices/system/cpu/online), like \"0-1\" or \
             \"0,2\""
        );
        assert_eq!(
            hint("pids", "pids.max", Errno::EACCES),
            "cgroups need root and a writable cgroup filesystem"
        );
        assert_eq!(
            hint("pids", "pids.max", Errno::EINVAL),
            "the kernel refused this value; use another one or leave pids unset"
        );
    }
}
