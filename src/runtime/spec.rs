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
    /// The seccomp filter installed just before the program runs.
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
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Network {
    /// A fresh network namespace with only `lo`, brought up (`network_mode: none`).
    None,
    /// The host's network namespace (`network_mode: host`).
    Host,
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
}
