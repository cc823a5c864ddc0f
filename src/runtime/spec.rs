//! What one container is: a plain serde description ([`ContainerSpec`]) and its checked
//! form ([`ValidSpec`]), the only thing the runtime accepts.
//!
//! Everything here is already resolved by the caller: the image's layers, the user's
//! numeric ids, entrypoint + command, the environment. The runtime only checks that the
//! values can reach the kernel.

use super::caps::{self, CapSet};
use indexmap::IndexMap;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Docker's default size of `/dev/shm` (64 MiB).
pub const DEFAULT_SHM_SIZE: u64 = 64 * 1024 * 1024;

/// The longest hostname or domain name the kernel takes (`__NEW_UTS_LEN`).
pub const MAX_UTS_NAME: usize = 64;

/// The longest mount data the kernel copies (one page, with its final NUL).
pub const MAX_MOUNT_DATA: usize = 4095;

/// The `kernel.*` sysctls a container may set (Docker's list): they belong to its IPC
/// namespace. `fs.mqueue.*` (IPC) and `net.*` (network namespace) are allowed too.
pub const NAMESPACED_SYSCTLS: [&str; 8] = [
    "kernel.msgmax",
    "kernel.msgmnb",
    "kernel.msgmni",
    "kernel.sem",
    "kernel.shmall",
    "kernel.shmmax",
    "kernel.shmmni",
    "kernel.shm_rmid_forced",
];

/// The resource limits compose knows (`ulimits`), as [`Rlimit::name`] spells them.
pub const RLIMIT_NAMES: [&str; 16] = [
    "core",
    "cpu",
    "data",
    "fsize",
    "locks",
    "memlock",
    "msgqueue",
    "nice",
    "nofile",
    "nproc",
    "rss",
    "rtprio",
    "rttime",
    "sigpending",
    "stack",
    "as",
];

/// Everything about one container, before validation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContainerSpec {
    /// The root filesystem.
    pub rootfs: Rootfs,
    /// Mount the root filesystem read-only (`read_only: true`).
    pub readonly_rootfs: bool,
    /// The container's hostname (its own UTS namespace).
    pub hostname: String,
    /// The NIS domain name; `None` keeps the one the UTS namespace starts with.
    pub domainname: Option<String>,
    /// The program and its arguments (entrypoint + command, already resolved).
    pub argv: Vec<String>,
    /// The environment, in order; `PATH` also decides where `argv[0]` is looked up.
    pub env: IndexMap<String, String>,
    /// The working directory, created (like Docker does) if it is missing.
    pub cwd: PathBuf,
    /// Who the process runs as.
    pub user: User,
    /// All capabilities, no masked paths, writable `/sys` (`privileged: true`).
    pub privileged: bool,
    /// `cap_add`: names with or without `CAP_`, any case; `ALL` for every capability.
    pub cap_add: Vec<String>,
    /// `cap_drop`: as `cap_add`; `ALL` drops Docker's default set.
    pub cap_drop: Vec<String>,
    /// Set `no_new_privs`, so no exec can gain privileges (setuid bits, file caps).
    pub no_new_privileges: bool,
    /// Bind mounts (volumes too) and tmpfs mounts, in any order: parents are mounted
    /// before what is inside them.
    pub mounts: Vec<Mount>,
    /// The network namespace.
    pub network: Network,
    /// Files prepared by the caller and bind-mounted over `/etc/...`.
    pub etc_files: EtcFiles,
    /// Size of `/dev/shm` in bytes.
    pub shm_size: u64,
    /// The cgroup PID 1 joins before it unshares its cgroup namespace, and how the
    /// container sees it under `/sys/fs/cgroup` (read-only); `None` stays in the caller's.
    #[serde(default)]
    pub cgroup: Option<CgroupJoin>,
    /// The seccomp filter, installed by PID 1 just before it gives up its privileges
    /// (the kernel takes a filter only with CAP_SYS_ADMIN or `no_new_privs`); PID 1 and
    /// everything it runs are filtered.
    #[serde(default)]
    pub seccomp: Seccomp,
    /// Run a tiny init as PID 1 that forwards signals to the program and reaps zombies
    /// (`init: true`).
    #[serde(default)]
    pub init: bool,
    /// Standard input is a terminal: PID 1 starts a session and makes it its
    /// controlling terminal (`tty: true`).
    #[serde(default)]
    pub tty: bool,
    /// Resource limits (`ulimits`); none is changed unless listed.
    #[serde(default)]
    pub rlimits: Vec<Rlimit>,
    /// Namespaced kernel parameters written under `/proc/sys` (`sysctls`).
    #[serde(default)]
    pub sysctls: IndexMap<String, String>,
    /// Host device nodes made available in the container (`devices`).
    #[serde(default)]
    pub devices: Vec<Device>,
    /// When set, the helper captures the program's stdout and stderr into this file,
    /// one JSON object per line (see `runtime::logfile`), instead of passing its own
    /// standard streams on.
    #[serde(default)]
    pub log: Option<PathBuf>,
    /// When set, the helper writes the exit status here (JSON, atomically) before it
    /// exits, so that an engine started later learns how the container ended.
    #[serde(default)]
    pub exit_file: Option<PathBuf>,
}

/// The cgroup a container runs in (made by `runtime::cgroup`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CgroupJoin {
    /// The `cgroup.procs` files PID 1 writes its PID into (one per v1 hierarchy, one
    /// on v2).
    pub procs: Vec<PathBuf>,
    /// What is mounted at `/sys/fs/cgroup` inside the container.
    pub mount: CgroupMount,
}

/// The container's view of its cgroup, mounted read-only at `/sys/fs/cgroup` after it
/// has its own cgroup namespace (so its cgroup is the root it sees).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum CgroupMount {
    /// A `cgroup2` mount.
    V2,
    /// A tmpfs with one `cgroup` mount per v1 hierarchy.
    V1 {
        /// The hierarchies.
        hierarchies: Vec<CgroupV1Mount>,
    },
}

/// One v1 hierarchy as mounted in the container.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CgroupV1Mount {
    /// Directory name under `/sys/fs/cgroup` (`memory`, `cpu,cpuacct`, `systemd`).
    pub dir: String,
    /// The `cgroup` mount's options naming the hierarchy (`memory`, `cpu,cpuacct`,
    /// `name=systemd`).
    pub options: String,
}

/// The seccomp filter.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Seccomp {
    /// Docker's default profile.
    #[default]
    Default,
    /// No filter (`security_opt: [seccomp=unconfined]`, or `privileged`).
    Unconfined,
}

/// One resource limit, as `setrlimit` takes it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rlimit {
    /// Compose's name: `nofile`, `nproc`, `core`, `memlock`, `stack`, ...
    pub name: String,
    /// Soft limit.
    pub soft: u64,
    /// Hard limit.
    pub hard: u64,
}

impl Rlimit {
    /// The kernel's resource number of this compose name (`nofile` is
    /// `RLIMIT_NOFILE`); `None` for a name compose does not know.
    pub fn resource(&self) -> Option<i32> {
        // The constants' type differs between C libraries; the values fit an i32.
        #[allow(clippy::unnecessary_cast)]
        let resource = match self.name.as_str() {
            "core" => nix::libc::RLIMIT_CORE,
            "cpu" => nix::libc::RLIMIT_CPU,
            "data" => nix::libc::RLIMIT_DATA,
            "fsize" => nix::libc::RLIMIT_FSIZE,
            "locks" => nix::libc::RLIMIT_LOCKS,
            "memlock" => nix::libc::RLIMIT_MEMLOCK,
            "msgqueue" => nix::libc::RLIMIT_MSGQUEUE,
            "nice" => nix::libc::RLIMIT_NICE,
            "nofile" => nix::libc::RLIMIT_NOFILE,
            "nproc" => nix::libc::RLIMIT_NPROC,
            "rss" => nix::libc::RLIMIT_RSS,
            "rtprio" => nix::libc::RLIMIT_RTPRIO,
            "rttime" => nix::libc::RLIMIT_RTTIME,
            "sigpending" => nix::libc::RLIMIT_SIGPENDING,
            "stack" => nix::libc::RLIMIT_STACK,
            "as" => nix::libc::RLIMIT_AS,
            _ => return None,
        } as i32;
        Some(resource)
    }
}

/// A host device node made available in the container.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Device {
    /// The device node on the host.
    pub source: PathBuf,
    /// Path in the container.
    pub target: PathBuf,
    /// `r`, `w` and `m` (compose's `cgroup_permissions`; default `rwm`).
    pub permissions: String,
}

/// The container's root filesystem.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Rootfs {
    /// An overlay of image layers with a per-container writable layer, mounted on
    /// `target` inside the container's mount namespace only.
    Overlay {
        /// Read-only layers, the top one first.
        lower: Vec<PathBuf>,
        /// The container's writable layer.
        upper: PathBuf,
        /// overlayfs's work directory, on the same filesystem as `upper`.
        work: PathBuf,
        /// An empty directory the overlay is mounted on.
        target: PathBuf,
    },
    /// A plain directory used as it is (writes land in it).
    Directory {
        /// The directory.
        path: PathBuf,
    },
}

/// The numeric identity the process runs as.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct User {
    /// User id.
    pub uid: u32,
    /// Primary group id.
    pub gid: u32,
    /// Supplementary groups (`group_add` and the user's groups in the image).
    pub additional_gids: Vec<u32>,
}

/// A mount inside the container.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Mount {
    /// A host file or directory (also a named volume's directory). A missing target is
    /// created as a file or a directory, like the source.
    Bind {
        /// Host path.
        source: PathBuf,
        /// Path in the container; symlinks in it resolve inside the root filesystem.
        target: PathBuf,
        /// Read-only.
        readonly: bool,
        /// A new named volume: when `source` is an empty directory, the root
        /// filesystem's content at `target` is copied into it first (Docker's copy-up).
        #[serde(default)]
        copy_up: bool,
    },
    /// A fresh tmpfs (`nosuid,nodev,noexec`, as Docker mounts them).
    Tmpfs {
        /// Path in the container.
        target: PathBuf,
        /// Size limit in bytes (the kernel's default, half the RAM, when absent).
        size: Option<u64>,
        /// Permission bits of its root directory (the kernel's 1777 when absent).
        mode: Option<u32>,
    },
}

impl Mount {
    /// Path in the container.
    pub fn target(&self) -> &Path {
        match self {
            Mount::Bind { target, .. } | Mount::Tmpfs { target, .. } => target,
        }
    }
}

/// The container's network namespace.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Network {
    /// A fresh network namespace with only `lo`, brought up (`network_mode: none`).
    None,
    /// The host's network namespace (`network_mode: host`).
    Host,
    /// The network namespace bound on this file (see `runtime::net::netns`), which PID 1
    /// joins: the container's own, made and wired before it starts, or another
    /// container's (`network_mode: service:x`).
    Join {
        /// The network namespace file.
        path: PathBuf,
    },
}

/// Host files bind-mounted over the container's `/etc/hosts`, `/etc/hostname` and
/// `/etc/resolv.conf` (read-only when the root filesystem is, as Docker does).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EtcFiles {
    /// Over `/etc/hosts`.
    pub hosts: Option<PathBuf>,
    /// Over `/etc/hostname`.
    pub hostname: Option<PathBuf>,
    /// Over `/etc/resolv.conf`.
    pub resolv_conf: Option<PathBuf>,
}

impl EtcFiles {
    /// `(source, target in the container)` of each file given.
    pub fn mounts(&self) -> impl Iterator<Item = (&Path, &'static str)> {
        [
            (self.hosts.as_deref(), "/etc/hosts"),
            (self.hostname.as_deref(), "/etc/hostname"),
            (self.resolv_conf.as_deref(), "/etc/resolv.conf"),
        ]
        .into_iter()
        .filter_map(|(source, target)| Some((source?, target)))
    }
}

impl ContainerSpec {
    /// A spec with Docker's defaults: root user, working directory `/`, empty
    /// environment, default capabilities, no network (`lo` only), 64 MiB `/dev/shm`.
    pub fn new(rootfs: Rootfs, hostname: impl Into<String>, argv: Vec<String>) -> Self {
        ContainerSpec {
            rootfs,
            readonly_rootfs: false,
            hostname: hostname.into(),
            domainname: None,
            argv,
            env: IndexMap::new(),
            cwd: PathBuf::from("/"),
            user: User::default(),
            privileged: false,
            cap_add: Vec::new(),
            cap_drop: Vec::new(),
            no_new_privileges: false,
            mounts: Vec::new(),
            network: Network::None,
            etc_files: EtcFiles::default(),
            shm_size: DEFAULT_SHM_SIZE,
            cgroup: None,
            seccomp: Seccomp::Default,
            init: false,
            tty: false,
            rlimits: Vec::new(),
            sysctls: IndexMap::new(),
            devices: Vec::new(),
            log: None,
            exit_file: None,
        }
    }

    /// Checks that every value can reach the kernel and computes the capability set.
    pub fn validate(self) -> Result<ValidSpec, SpecError> {
        ValidSpec::try_from(self)
    }
}

/// A checked [`ContainerSpec`]: only [`ContainerSpec::validate`] makes one, and it is
/// checked again when read back from JSON (that is how the helper receives it).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "ContainerSpec", into = "ContainerSpec")]
pub struct ValidSpec {
    spec: ContainerSpec,
    capabilities: CapSet,
}

impl ValidSpec {
    /// The spec.
    pub fn spec(&self) -> &ContainerSpec {
        &self.spec
    }

    /// The container's capability set (Docker's default set after `cap_add`/`cap_drop`,
    /// or every capability when privileged).
    pub fn capabilities(&self) -> CapSet {
        self.capabilities
    }
}

impl From<ValidSpec> for ContainerSpec {
    fn from(valid: ValidSpec) -> Self {
        valid.spec
    }
}

impl TryFrom<ContainerSpec> for ValidSpec {
    type Error = SpecError;

    fn try_from(spec: ContainerSpec) -> Result<Self, SpecError> {
        check_rootfs(&spec.rootfs)?;
        check_uts_name("hostname", &spec.hostname)?;
        if spec.hostname.is_empty() {
            return Err(SpecError::EmptyHostname);
        }
        if let Some(domainname) = &spec.domainname {
            check_uts_name("domainname", domainname)?;
        }
        if spec.argv.is_empty() {
            return Err(SpecError::EmptyArgv);
        }
        for (i, arg) in spec.argv.iter().enumerate() {
            check_no_nul(&format!("argv[{i}]"), arg)?;
        }
        for (name, value) in &spec.env {
            if name.is_empty() || name.contains('=') || name.contains('\0') {
                return Err(SpecError::InvalidEnvName { name: name.clone() });
            }
            check_no_nul(&format!("env.{name}"), value)?;
        }
        check_path("cwd", &spec.cwd)?;
        for (i, mount) in spec.mounts.iter().enumerate() {
            check_mount(i, mount)?;
        }
        for (source, target) in spec.etc_files.mounts() {
            check_path(&format!("etc_files ({target})"), source)?;
        }
        if spec.shm_size == 0 {
            return Err(SpecError::ZeroShmSize);
        }
        if let Some(cgroup) = &spec.cgroup {
            check_cgroup(cgroup)?;
        }
        if spec.seccomp == Seccomp::Default && super::seccomp::native().is_none() {
            return Err(SpecError::SeccompUnsupported {
                arch: std::env::consts::ARCH,
            });
        }
        for rlimit in &spec.rlimits {
            check_rlimit(rlimit)?;
        }
        if let Network::Join { path } = &spec.network {
            check_path("network.join.path", path)?;
        }
        for (key, value) in &spec.sysctls {
            check_sysctl(key, value, &spec.network)?;
        }
        for (i, device) in spec.devices.iter().enumerate() {
            check_device(i, device)?;
        }
        let capabilities =
            caps::container_capabilities(spec.privileged, &spec.cap_add, &spec.cap_drop)?;
        Ok(ValidSpec { spec, capabilities })
    }
}

fn check_rootfs(rootfs: &Rootfs) -> Result<(), SpecError> {
    match rootfs {
        Rootfs::Directory { path } => check_path("rootfs.path", path),
        Rootfs::Overlay {
            lower,
            upper,
            work,
            target,
        } => {
            if lower.is_empty() {
                return Err(SpecError::NoLowerDir);
            }
            for (i, dir) in lower.iter().enumerate() {
                check_overlay_path(&format!("rootfs.lower[{i}]"), dir)?;
            }
            check_overlay_path("rootfs.upper", upper)?;
            check_overlay_path("rootfs.work", work)?;
            check_path("rootfs.target", target)?;
            let len = super::mounts::overlay_data(lower, upper, work).len();
            if len > MAX_MOUNT_DATA {
                return Err(SpecError::OverlayOptionsTooLong { len });
            }
            Ok(())
        }
    }
}

fn check_mount(i: usize, mount: &Mount) -> Result<(), SpecError> {
    let target = mount.target();
    check_path(&format!("mounts[{i}].target"), target)?;
    if target
        .components()
        .all(|c| !matches!(c, std::path::Component::Normal(_)))
    {
        return Err(SpecError::RootTarget { index: i });
    }
    match mount {
        Mount::Bind { source, .. } => check_path(&format!("mounts[{i}].source"), source),
        Mount::Tmpfs { mode, .. } => match mode {
            Some(mode) if *mode > 0o7777 => Err(SpecError::TmpfsMode {
                index: i,
                mode: *mode,
            }),
            _ => Ok(()),
        },
    }
}

fn check_cgroup(cgroup: &CgroupJoin) -> Result<(), SpecError> {
    for (i, procs) in cgroup.procs.iter().enumerate() {
        check_path(&format!("cgroup.procs[{i}]"), procs)?;
    }
    if let CgroupMount::V1 { hierarchies } = &cgroup.mount {
        for (i, hierarchy) in hierarchies.iter().enumerate() {
            let mut names = Path::new(&hierarchy.dir).components();
            let one_name = matches!(
                (names.next(), names.next()),
                (Some(std::path::Component::Normal(_)), None)
            );
            if !one_name || hierarchy.dir.contains(['/', '\0']) {
                return Err(SpecError::CgroupDir {
                    index: i,
                    dir: hierarchy.dir.clone(),
                });
            }
            let field = format!("cgroup.mount.hierarchies[{i}].options");
            check_no_nul(&field, &hierarchy.options)?;
            if hierarchy.options.len() > MAX_MOUNT_DATA {
                return Err(SpecError::CgroupOptionsTooLong { index: i });
            }
        }
    }
    Ok(())
}

fn check_rlimit(rlimit: &Rlimit) -> Result<(), SpecError> {
    if rlimit.resource().is_none() {
        return Err(SpecError::UnknownRlimit {
            name: rlimit.name.clone(),
        });
    }
    if rlimit.soft > rlimit.hard {
        return Err(SpecError::RlimitSoftAboveHard {
            name: rlimit.name.clone(),
            soft: rlimit.soft,
            hard: rlimit.hard,
        });
    }
    Ok(())
}

/// A namespaced kernel parameter (Docker's rules), its name fit to become a path under
/// `/proc/sys`.
fn check_sysctl(key: &str, value: &str, network: &Network) -> Result<(), SpecError> {
    check_no_nul(&format!("sysctls.{key}"), value)?;
    let well_formed = key
        .split('.')
        .all(|part| !part.is_empty() && !part.contains(['/', '\0']));
    if !well_formed {
        return Err(SpecError::SysctlKey {
            key: key.to_string(),
        });
    }
    if key.starts_with("net.") {
        if *network == Network::Host {
            return Err(SpecError::SysctlHostNetwork {
                key: key.to_string(),
            });
        }
        return Ok(());
    }
    if key.starts_with("fs.mqueue.") || NAMESPACED_SYSCTLS.contains(&key) {
        return Ok(());
    }
    Err(SpecError::SysctlNotNamespaced {
        key: key.to_string(),
    })
}

fn check_device(i: usize, device: &Device) -> Result<(), SpecError> {
    check_path(&format!("devices[{i}].source"), &device.source)?;
    check_path(&format!("devices[{i}].target"), &device.target)?;
    let permissions = &device.permissions;
    let valid = !permissions.is_empty()
        && permissions.chars().all(|c| matches!(c, 'r' | 'w' | 'm'))
        && ['r', 'w', 'm']
            .iter()
            .all(|c| permissions.matches(*c).count() <= 1);
    if !valid {
        return Err(SpecError::DevicePermissions {
            index: i,
            permissions: permissions.clone(),
        });
    }
    Ok(())
}

fn check_uts_name(field: &'static str, name: &str) -> Result<(), SpecError> {
    check_no_nul(field, name)?;
    if name.len() > MAX_UTS_NAME {
        return Err(SpecError::UtsNameTooLong {
            field,
            len: name.len(),
        });
    }
    Ok(())
}

fn check_no_nul(field: &str, value: &str) -> Result<(), SpecError> {
    if value.contains('\0') {
        return Err(SpecError::Nul {
            field: field.to_string(),
        });
    }
    Ok(())
}

/// An absolute path that JSON and the kernel can carry.
fn check_path(field: &str, path: &Path) -> Result<(), SpecError> {
    let Some(text) = path.to_str() else {
        return Err(SpecError::NotUtf8 {
            field: field.to_string(),
            path: path.to_path_buf(),
        });
    };
    check_no_nul(field, text)?;
    if !path.is_absolute() {
        return Err(SpecError::NotAbsolute {
            field: field.to_string(),
            path: path.to_path_buf(),
        });
    }
    Ok(())
}

/// A path overlayfs's option string can carry: `:` separates lower dirs, `,` options,
/// and `\` escapes.
fn check_overlay_path(field: &str, path: &Path) -> Result<(), SpecError> {
    check_path(field, path)?;
    let text = path.to_string_lossy();
    if let Some(ch) = text.chars().find(|c| matches!(c, ':' | ',' | '\\')) {
        return Err(SpecError::OverlayPathChar {
            field: field.to_string(),
            path: path.to_path_buf(),
            ch,
        });
    }
    Ok(())
}

/// A [`ContainerSpec`] that can't be run. The field is named as in the spec's JSON.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SpecError {
    /// `argv` is empty.
    #[error("argv is empty: a container needs a program to run")]
    EmptyArgv,
    /// `hostname` is empty.
    #[error("hostname is empty")]
    EmptyHostname,
    /// A value contains a NUL byte, which no kernel call can carry.
    #[error("{field} contains a NUL byte")]
    Nul { field: String },
    /// An environment variable name is empty or contains `=`.
    #[error(
        "invalid environment variable name {name:?}: it must be non-empty, without `=` or NUL"
    )]
    InvalidEnvName { name: String },
    /// A path is relative.
    #[error("{field} must be an absolute path, got {}", path.display())]
    NotAbsolute { field: String, path: PathBuf },
    /// A path is not UTF-8 (the spec travels as JSON).
    #[error("{field} is not valid UTF-8: {}", path.display())]
    NotUtf8 { field: String, path: PathBuf },
    /// A hostname or domain name is longer than the kernel takes.
    #[error("{field} is {len} bytes long; the kernel takes at most {MAX_UTS_NAME}")]
    UtsNameTooLong { field: &'static str, len: usize },
    /// An overlay root filesystem without image layers.
    #[error(
        "rootfs.lower is empty: an overlay root filesystem needs at least one lower directory"
    )]
    NoLowerDir,
    /// An overlay path with a character overlayfs's options can't carry.
    #[error("{field} ({}) contains {ch:?}, which overlayfs's mount options can't carry", path.display())]
    OverlayPathChar {
        field: String,
        path: PathBuf,
        ch: char,
    },
    /// Too many or too long layer paths for one mount call.
    #[error(
        "the overlay mount options are {len} bytes long; the kernel takes at most \
         {MAX_MOUNT_DATA} (use fewer layers or shorter layer paths)"
    )]
    OverlayOptionsTooLong { len: usize },
    /// A mount over the container's `/`.
    #[error("mounts[{index}].target is the container's root `/`; mount a directory inside it")]
    RootTarget { index: usize },
    /// A tmpfs mode with bits beyond the permission bits.
    #[error("mounts[{index}].mode {mode:o} is not a permission mode (at most 7777 octal)")]
    TmpfsMode { index: usize, mode: u32 },
    /// `shm_size` is 0.
    #[error("shm_size must be greater than 0")]
    ZeroShmSize,
    /// A name in `cap_add`/`cap_drop` that is no capability.
    #[error("{field}: unknown capability {name:?}")]
    UnknownCapability { field: &'static str, name: String },
    /// A v1 hierarchy's directory that is not one name under `/sys/fs/cgroup`.
    #[error(
        "cgroup.mount.hierarchies[{index}].dir {dir:?} must be one directory name under \
         /sys/fs/cgroup"
    )]
    CgroupDir { index: usize, dir: String },
    /// A v1 hierarchy's mount options longer than the kernel takes.
    #[error(
        "cgroup.mount.hierarchies[{index}].options are longer than the kernel takes \
         ({MAX_MOUNT_DATA} bytes)"
    )]
    CgroupOptionsTooLong { index: usize },
    /// Docker's default seccomp profile on an architecture it has no syscall table for.
    #[error(
        "seccomp: rcompose has no syscall table for Docker's default profile on {arch}; \
         run the service with `security_opt: [seccomp=unconfined]`"
    )]
    SeccompUnsupported { arch: &'static str },
    /// A `ulimits` name compose does not know.
    #[error(
        "ulimits: unknown limit {name:?} (known: core, cpu, data, fsize, locks, memlock, \
         msgqueue, nice, nofile, nproc, rss, rtprio, rttime, sigpending, stack, as)"
    )]
    UnknownRlimit { name: String },
    /// A soft limit above its hard limit.
    #[error("ulimits.{name}: the soft limit {soft} is above the hard limit {hard}")]
    RlimitSoftAboveHard { name: String, soft: u64, hard: u64 },
    /// A sysctl name that is not dot-separated names.
    #[error(
        "sysctls: invalid key {key:?}: it must be names separated by dots, without `/`, \
         such as net.ipv4.ip_forward"
    )]
    SysctlKey { key: String },
    /// A sysctl that is not namespaced: setting it would change the host.
    #[error(
        "sysctls.{key}: not a namespaced kernel parameter, so a container can't set it \
         (it would change the whole host); allowed are kernel.msgmax, kernel.msgmnb, \
         kernel.msgmni, kernel.sem, kernel.shmall, kernel.shmmax, kernel.shmmni, \
         kernel.shm_rmid_forced, fs.mqueue.* and net.*"
    )]
    SysctlNotNamespaced { key: String },
    /// A `net.*` sysctl for a container on the host's network.
    #[error(
        "sysctls.{key}: net.* parameters can't be set with network_mode: host (they \
         would change the host's network namespace)"
    )]
    SysctlHostNetwork { key: String },
    /// Device permissions that are not a combination of `r`, `w` and `m`.
    #[error(
        "devices[{index}].permissions {permissions:?} must be a non-empty combination of \
         r, w and m (such as rwm)"
    )]
    DevicePermissions { index: usize, permissions: String },
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> ContainerSpec {
        ContainerSpec::new(
            Rootfs::Directory {
                path: PathBuf::from("/srv/root"),
            },
            "box",
            vec!["sh".to_string()],
        )
    }

    fn error(change: impl FnOnce(&mut ContainerSpec)) -> String {
        let mut spec = spec();
        change(&mut spec);
        spec.validate().unwrap_err().to_string()
    }

    #[test]
    fn defaults_are_dockers() {
        let valid = spec().validate().unwrap();
        assert_eq!(valid.capabilities().bits(), 0xa80425fb);
        assert_eq!(valid.spec().shm_size, 67108864);
        assert_eq!(valid.spec().cwd, PathBuf::from("/"));
        assert_eq!(valid.spec().network, Network::None);
    }

    #[test]
    fn invalid_values_are_named() {
        assert_eq!(
            error(|s| s.argv.clear()),
            "argv is empty: a container needs a program to run"
        );
        assert_eq!(error(|s| s.hostname.clear()), "hostname is empty");
        assert_eq!(
            error(|s| s.hostname = "h".repeat(65)),
            "hostname is 65 bytes long; the kernel takes at most 64"
        );
        assert_eq!(
            error(|s| s.domainname = Some("d\0".to_string())),
            "domainname contains a NUL byte"
        );
        assert_eq!(
            error(|s| s.argv.push("a\0b".to_string())),
            "argv[1] contains a NUL byte"
        );
        assert_eq!(
            error(|s| {
                s.env.insert("A=B".to_string(), "x".to_string());
            }),
            "invalid environment variable name \"A=B\": it must be non-empty, without `=` or NUL"
        );
        assert_eq!(
            error(|s| s.cwd = PathBuf::from("app")),
            "cwd must be an absolute path, got app"
        );
        assert_eq!(
            error(|s| s.mounts.push(Mount::Bind {
                source: PathBuf::from("data"),
                target: PathBuf::from("/data"),
                readonly: false,
                copy_up: false,
            })),
            "mounts[0].source must be an absolute path, got data"
        );
        assert_eq!(
            error(|s| s.mounts.push(Mount::Tmpfs {
                target: PathBuf::from("/./"),
                size: None,
                mode: None,
            })),
            "mounts[0].target is the container's root `/`; mount a directory inside it"
        );
        assert_eq!(
            error(|s| s.mounts.push(Mount::Tmpfs {
                target: PathBuf::from("/tmp"),
                size: None,
                mode: Some(0o17777),
            })),
            "mounts[0].mode 17777 is not a permission mode (at most 7777 octal)"
        );
        assert_eq!(
            error(|s| s.etc_files.hosts = Some(PathBuf::from("hosts"))),
            "etc_files (/etc/hosts) must be an absolute path, got hosts"
        );
        assert_eq!(error(|s| s.shm_size = 0), "shm_size must be greater than 0");
        assert_eq!(
            error(|s| s.cap_add.push("NET_FLY".to_string())),
            "cap_add: unknown capability \"NET_FLY\""
        );
    }

    #[test]
    fn sysctls_must_be_namespaced() {
        let sysctl = |key: &str, network| {
            let mut spec = spec();
            spec.network = network;
            spec.sysctls.insert(key.to_string(), "1".to_string());
            spec.validate().map(drop).map_err(|err| err.to_string())
        };
        for key in [
            "kernel.shmmax",
            "kernel.shm_rmid_forced",
            "fs.mqueue.msg_max",
            "net.ipv4.ip_forward",
            "net.core.somaxconn",
        ] {
            assert_eq!(sysctl(key, Network::None), Ok(()), "{key}");
        }
        assert_eq!(sysctl("kernel.shmmax", Network::Host), Ok(()));
        assert_eq!(
            sysctl("kernel.pid_max", Network::None),
            Err(
                "sysctls.kernel.pid_max: not a namespaced kernel parameter, so a container \
                 can't set it (it would change the whole host); allowed are kernel.msgmax, \
                 kernel.msgmnb, kernel.msgmni, kernel.sem, kernel.shmall, kernel.shmmax, \
                 kernel.shmmni, kernel.shm_rmid_forced, fs.mqueue.* and net.*"
                    .to_string()
            )
        );
        assert!(sysctl("vm.swappiness", Network::None).is_err());
        assert!(sysctl("fs.file-max", Network::None).is_err());
        assert_eq!(
            sysctl("net.ipv4.ip_forward", Network::Host),
            Err(
                "sysctls.net.ipv4.ip_forward: net.* parameters can't be set with \
                 network_mode: host (they would change the host's network namespace)"
                    .to_string()
            )
        );
        for key in ["net..x", "net.ipv4/../../x", "net.", ""] {
            assert_eq!(
                sysctl(key, Network::None),
                Err(format!(
                    "sysctls: invalid key {key:?}: it must be names separated by dots, \
                     without `/`, such as net.ipv4.ip_forward"
                )),
                "{key}"
            );
        }
    }

    #[test]
    fn rlimits_devices_and_cgroups_are_checked() {
        let rlimit = |name: &str, soft, hard| Rlimit {
            name: name.to_string(),
            soft,
            hard,
        };
        assert_eq!(rlimit("nofile", 1, 2).resource(), Some(7));
        assert_eq!(rlimit("as", 1, 2).resource(), Some(9));
        assert!(RLIMIT_NAMES
            .iter()
            .all(|name| rlimit(name, 0, 0).resource().is_some()));
        assert_eq!(
            error(|s| s.rlimits.push(rlimit("files", 1, 2))),
            "ulimits: unknown limit \"files\" (known: core, cpu, data, fsize, locks, memlock, \
             msgqueue, nice, nofile, nproc, rss, rtprio, rttime, sigpending, stack, as)"
        );
        assert_eq!(
            error(|s| s.rlimits.push(rlimit("nofile", 2048, 1024))),
            "ulimits.nofile: the soft limit 2048 is above the hard limit 1024"
        );

        let device = |permissions: &str| Device {
            source: PathBuf::from("/dev/fuse"),
            target: PathBuf::from("/dev/fuse"),
            permissions: permissions.to_string(),
        };
        for permissions in ["rwm", "r", "mw"] {
            let mut spec = spec();
            spec.devices.push(device(permissions));
            assert!(spec.validate().is_ok(), "{permissions}");
        }
        for permissions in ["", "rwx", "rr"] {
            assert_eq!(
                error(|s| s.devices.push(device(permissions))),
                format!(
                    "devices[0].permissions {permissions:?} must be a non-empty combination \
                     of r, w and m (such as rwm)"
                )
            );
        }
        assert_eq!(
            error(|s| s.devices.push(Device {
                source: PathBuf::from("dev/fuse"),
                ..device("rwm")
            })),
            "devices[0].source must be an absolute path, got dev/fuse"
        );

        let cgroup = |dir: &str| CgroupJoin {
            procs: vec![PathBuf::from("/sys/fs/cgroup/memory/c/cgroup.procs")],
            mount: CgroupMount::V1 {
                hierarchies: vec![CgroupV1Mount {
                    dir: dir.to_string(),
                    options: "cpu,cpuacct".to_string(),
                }],
            },
        };
        let mut spec = spec();
        spec.cgroup = Some(cgroup("cpu,cpuacct"));
        assert!(spec.validate().is_ok());
        for dir in ["..", "a/b", "", "/"] {
            assert_eq!(
                error(|s| s.cgroup = Some(cgroup(dir))),
                format!(
                    "cgroup.mount.hierarchies[0].dir {dir:?} must be one directory name under \
                     /sys/fs/cgroup"
                )
            );
        }
        assert_eq!(
            error(|s| s.cgroup = Some(CgroupJoin {
                procs: vec![PathBuf::from("cgroup.procs")],
                mount: CgroupMount::V2,
            })),
            "cgroup.procs[0] must be an absolute path, got cgroup.procs"
        );
    }

    #[test]
    fn overlay_paths_must_fit_the_mount_options() {
        let overlay = |lower: Vec<PathBuf>| Rootfs::Overlay {
            lower,
            upper: PathBuf::from("/c/upper"),
            work: PathBuf::from("/c/work"),
            target: PathBuf::from("/c/merged"),
        };
        assert_eq!(
            error(|s| s.rootfs = overlay(vec![])),
            "rootfs.lower is empty: an overlay root filesystem needs at least one lower directory"
        );
        assert_eq!(
            error(|s| s.rootfs = overlay(vec![PathBuf::from("/l/a"), PathBuf::from("/l/b:c")])),
            "rootfs.lower[1] (/l/b:c) contains ':', which overlayfs's mount options can't carry"
        );
        let many = (0..200)
            .map(|i| PathBuf::from(format!("/var/lib/rcompose/layers/{i:016}")))
            .collect();
        assert_eq!(
            error(|s| s.rootfs = overlay(many)),
            "the overlay mount options are 8442 bytes long; the kernel takes at most 4095 \
             (use fewer layers or shorter layer paths)"
        );
    }

    #[test]
    fn json_is_validated_when_read_back() {
        let valid = spec().validate().unwrap();
        let json = serde_json::to_string(&valid).unwrap();
        let back: ValidSpec = serde_json::from_str(&json).unwrap();
        assert_eq!(back, valid);

        let mut invalid = serde_json::to_value(&valid).unwrap();
        invalid["argv"] = serde_json::json!([]);
        let err = serde_json::from_value::<ValidSpec>(invalid).unwrap_err();
        assert_eq!(
            err.to_string(),
            "argv is empty: a container needs a program to run"
        );
    }

    #[test]
    fn spec_json_shape() {
        let mut spec = spec();
        spec.mounts.push(Mount::Tmpfs {
            target: PathBuf::from("/run"),
            size: Some(1024),
            mode: Some(0o755),
        });
        let json = serde_json::to_value(&spec).unwrap();
        assert_eq!(
            json["rootfs"],
            serde_json::json!({"type": "directory", "path": "/srv/root"})
        );
        assert_eq!(
            json["mounts"],
            serde_json::json!([{"type": "tmpfs", "target": "/run", "size": 1024, "mode": 493}])
        );
        assert_eq!(json["network"], serde_json::json!("none"));
    }

    #[test]
    fn a_joined_network_namespace_is_a_path() {
        let mut spec = spec();
        spec.network = Network::Join {
            path: PathBuf::from("/run/rcompose/netns/c1"),
        };
        spec.sysctls
            .insert("net.ipv4.ip_forward".to_string(), "1".to_string());
        let json = serde_json::to_value(spec.clone().validate().unwrap()).unwrap();
        assert_eq!(
            json["network"],
            serde_json::json!({"join": {"path": "/run/rcompose/netns/c1"}})
        );
        assert_eq!(
            error(|s| s.network = Network::Join {
                path: PathBuf::from("netns/c1")
            }),
            "network.join.path must be an absolute path, got netns/c1"
        );
    }
}
