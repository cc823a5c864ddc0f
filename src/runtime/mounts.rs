//! Every mount of a container as data: the root filesystem, Docker's standard mounts,
//! the spec's mounts, the `/etc` files, the device nodes, the masked and read-only
//! paths. Pure: the container's init applies this plan and decides nothing.

use super::spec::{CgroupMount, ContainerSpec, Mount, Rootfs};
use nix::mount::MsFlags;
use std::path::{Component, Path, PathBuf};

/// One mount call, with the path it lands on inside the container.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MountOp {
    /// What is mounted.
    pub source: MountSource,
    /// Path in the container (absolute); resolved inside the root filesystem.
    pub target: PathBuf,
    /// `mount(2)` flags.
    pub flags: MsFlags,
    /// `mount(2)` data (filesystem options).
    pub data: Option<String>,
    /// Remount read-only after mounting (a bind mount's flags can only change so).
    pub readonly: bool,
}

/// What a [`MountOp`] mounts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MountSource {
    /// A filesystem of this type (`proc`, `tmpfs`, ...); missing targets are created as
    /// directories.
    Fs(&'static str),
    /// A host path, bind-mounted; a missing target is created as a file or a directory,
    /// like the source.
    Bind(PathBuf),
    /// Nothing new: the mount already at the target (made by an earlier op) is only
    /// remounted read-only (with `readonly`), once what is inside it is mounted.
    Remount,
}

/// A device node made in the container's `/dev`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Device {
    /// Path in the container.
    pub path: &'static str,
    /// Major number.
    pub major: u64,
    /// Minor number.
    pub minor: u64,
}

/// The character devices of every container (all mode 0666), as runc makes them.
pub const DEVICES: [Device; 6] = [
    Device {
        path: "/dev/null",
        major: 1,
        minor: 3,
    },
    Device {
        path: "/dev/zero",
        major: 1,
        minor: 5,
    },
    Device {
        path: "/dev/full",
        major: 1,
        minor: 7,
    },
    Device {
        path: "/dev/random",
        major: 1,
        minor: 8,
    },
    Device {
        path: "/dev/urandom",
        major: 1,
        minor: 9,
    },
    Device {
        path: "/dev/tty",
        major: 5,
        minor: 0,
    },
];

/// The standard symlinks in `/dev`: (link, what it points to).
pub const DEV_SYMLINKS: [(&str, &str); 6] = [
    ("/dev/fd", "/proc/self/fd"),
    ("/dev/stdin", "/proc/self/fd/0"),
    ("/dev/stdout", "/proc/self/fd/1"),
    ("/dev/stderr", "/proc/self/fd/2"),
    ("/dev/ptmx", "pts/ptmx"),
    ("/dev/core", "/proc/kcore"),
];

/// Docker's masked paths: files get `/dev/null` bound over them, directories an empty
/// read-only tmpfs; paths the kernel doesn't have are skipped.
pub const MASKED_PATHS: [&str; 12] = [
    "/proc/acpi",
    "/proc/asound",
    "/proc/interrupts",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/sched_debug",
    "/proc/scsi",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/sys/devices/virtual/powercap",
    "/sys/firmware",
];

/// Docker's read-only paths, bound over themselves read-only.
pub const READONLY_PATHS: [&str; 5] = [
    "/proc/bus",
    "/proc/fs",
    "/proc/irq",
    "/proc/sys",
    "/proc/sysrq-trigger",
];

/// overlayfs's options for these layers.
pub fn overlay_data(lower: &[PathBuf], upper: &Path, work: &Path) -> String {
    let lower: Vec<_> = lower.iter().map(|dir| dir.to_string_lossy()).collect();
    format!(
        "lowerdir={},upperdir={},workdir={}",
        lower.join(":"),
        upper.to_string_lossy(),
        work.to_string_lossy()
    )
}

/// The mount that makes the root filesystem a mount point (`pivot_root` needs one): the
/// overlay, or a directory bound over itself. Its target is a host path.
pub fn rootfs_mount(rootfs: &Rootfs) -> MountOp {
    match rootfs {
        Rootfs::Overlay {
            lower,
            upper,
            work,
            target,
        } => MountOp {
            source: MountSource::Fs("overlay"),
            target: target.clone(),
            flags: MsFlags::empty(),
            data: Some(overlay_data(lower, upper, work)),
            readonly: false,
        },
        Rootfs::Directory { path } => MountOp {
            source: MountSource::Bind(path.clone()),
            target: path.clone(),
            flags: MsFlags::MS_BIND | MsFlags::MS_REC,
            data: None,
            readonly: false,
        },
    }
}

/// Every mount inside the root filesystem, in order: Docker's standard mounts (`/proc`,
/// `/dev`, `/dev/pts`, `/dev/shm`, `/dev/mqueue`, `/sys`, the cgroup view under
/// `/sys/fs/cgroup`) but those the spec replaces (a mount of the spec on the same path or
/// on a parent), then the spec's mounts and the `/etc` files, parents before children.
pub fn container_mounts(spec: &ContainerSpec) -> Vec<MountOp> {
    let nosuid_noexec_nodev = MsFlags::MS_NOSUID | MsFlags::MS_NOEXEC | MsFlags::MS_NODEV;
    let fs = |fstype, target: &str, flags, data: Option<String>| MountOp {
        source: MountSource::Fs(fstype),
        target: PathBuf::from(target),
        flags,
        data,
        readonly: false,
    };
    let sys_flags = if spec.privileged {
        nosuid_noexec_nodev
    } else {
        nosuid_noexec_nodev | MsFlags::MS_RDONLY
    };
    let mut standard = vec![
        fs("proc", "/proc", nosuid_noexec_nodev, None),
        fs(
            "tmpfs",
            "/dev",
            MsFlags::MS_NOSUID | MsFlags::MS_STRICTATIME,
            Some("mode=755,size=65536k".to_string()),
        ),
        fs(
            "devpts",
            "/dev/pts",
            MsFlags::MS_NOSUID | MsFlags::MS_NOEXEC,
            Some("newinstance,ptmxmode=0666,mode=0620,gid=5".to_string()),
        ),
        fs(
            "tmpfs",
            "/dev/shm",
            nosuid_noexec_nodev,
            Some(format!("mode=1777,size={}", spec.shm_size)),
        ),
        fs("mqueue", "/dev/mqueue", nosuid_noexec_nodev, None),
        fs("sysfs", "/sys", sys_flags, None),
    ];
    standard.extend(cgroup_mounts(spec));

    let mut own: Vec<MountOp> = spec.mounts.iter().map(mount_op).collect();
    own.extend(spec.etc_files.mounts().map(|(source, target)| MountOp {
        source: MountSource::Bind(source.to_path_buf()),
        target: PathBuf::from(target),
        flags: MsFlags::MS_BIND | MsFlags::MS_REC,
        data: None,
        readonly: spec.readonly_rootfs,
    }));
    // Parents first: a stable sort by depth keeps the spec's order among equals.
    own.sort_by_key(|op| depth(&op.target));

    let replaced = |op: &MountOp| {
        let target = normalize(&op.target);
        own.iter().any(|o| target.starts_with(normalize(&o.target)))
    };
    let mut all: Vec<MountOp> = standard.into_iter().filter(|op| !replaced(op)).collect();
    all.extend(own);
    all
}

/// The container's cgroup under `/sys/fs/cgroup`, mounted once PID 1 is in its own
/// cgroup namespace (so the container's cgroup is the root it sees), read-only unless
/// privileged, as Docker mounts it: `cgroup2`, or a tmpfs with one `cgroup` mount per v1
/// hierarchy, then the tmpfs made read-only.
fn cgroup_mounts(spec: &ContainerSpec) -> Vec<MountOp> {
    let Some(cgroup) = &spec.cgroup else {
        return Vec::new();
    };
    let flags = MsFlags::MS_NOSUID | MsFlags::MS_NOEXEC | MsFlags::MS_NODEV;
    let readonly = !spec.privileged;
    let root = Path::new("/sys/fs/cgroup");
    match &cgroup.mount {
        CgroupMount::V2 => vec![MountOp {
            source: MountSource::Fs("cgroup2"),
            target: root.to_path_buf(),
            flags,
            data: None,
            readonly,
        }],
        CgroupMount::V1 { hierarchies } => {
            let mut ops = vec![MountOp {
                source: MountSource::Fs("tmpfs"),
                target: root.to_path_buf(),
                flags,
                data: Some("mode=755".to_string()),
                readonly: false,
            }];
            ops.extend(hierarchies.iter().map(|hierarchy| MountOp {
                source: MountSource::Fs("cgroup"),
                target: root.join(&hierarchy.dir),
                flags,
                data: Some(hierarchy.options.clone()),
                readonly,
            }));
            if readonly {
                ops.push(MountOp {
                    source: MountSource::Remount,
                    target: root.to_path_buf(),
                    flags: MsFlags::empty(),
                    data: None,
                    readonly: true,
                });
            }
            ops
        }
    }
}

fn mount_op(mount: &Mount) -> MountOp {
    match mount {
        Mount::Bind {
            source,
            target,
            readonly,
            ..
        } => MountOp {
            source: MountSource::Bind(source.clone()),
            target: target.clone(),
            flags: MsFlags::MS_BIND | MsFlags::MS_REC,
            data: None,
            readonly: *readonly,
        },
        Mount::Tmpfs { target, size, mode } => {
            let mut options = Vec::new();
            if let Some(size) = size {
                options.push(format!("size={size}"));
            }
            if let Some(mode) = mode {
                options.push(format!("mode={mode:o}"));
            }
            MountOp {
                source: MountSource::Fs("tmpfs"),
                target: target.clone(),
                flags: MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC,
                data: (!options.is_empty()).then(|| options.join(",")),
                readonly: false,
            }
        }
    }
}

/// Number of named components after `.` and `..` are applied lexically.
fn depth(path: &Path) -> usize {
    normalize(path).components().count()
}

/// `path` without `.`, `..` (never above `/`) and the root: `/a/./b/../c` is `a/c`.
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::Normal(name) => out.push(name),
            Component::ParentDir => {
                out.pop();
            }
            Component::RootDir | Component::CurDir | Component::Prefix(_) => {}
        }
    }
    out
}

/// The paths to mask (none when privileged).
pub fn masked_paths(spec: &ContainerSpec) -> &'static [&'static str] {
    if spec.privileged {
        &[]
    } else {
        &MASKED_PATHS
    }
}

/// The paths to make read-only (none when privileged).
pub fn readonly_paths(spec: &ContainerSpec) -> &'static [&'static str] {
    if spec.privileged {
        &[]
    } else {
        &READONLY_PATHS
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::spec::Network;

    fn spec() -> ContainerSpec {
        ContainerSpec::new(
            Rootfs::Directory {
                path: PathBuf::from("/srv/root"),
            },
            "box",
            vec!["sh".to_string()],
        )
    }

    /// One line per mount: `source target flags data [ro]`.
    fn lines(ops: &[MountOp]) -> Vec<String> {
        ops.iter()
            .map(|op| {
                let source = match &op.source {
                    MountSource::Fs(fstype) => fstype.to_string(),
                    MountSource::Bind(path) => format!("bind:{}", path.display()),
                    MountSource::Remount => "remount".to_string(),
                };
                let flags: Vec<&str> = op.flags.iter_names().map(|(name, _)| name).collect();
                let mut line = format!(
                    "{source} {} {} {}",
                    op.target.display(),
                    if flags.is_empty() {
                        "-".to_string()
                    } else {
                        flags.join(" | ")
                    },
                    op.data.as_deref().unwrap_or("-")
                );
                if op.readonly {
                    line.push_str(" ro");
                }
                line
            })
            .collect()
    }

    #[test]
    fn standard_mounts_are_dockers() {
        assert_eq!(
            lines(&container_mounts(&spec())),
            [
                "proc /proc MS_NOSUID | MS_NODEV | MS_NOEXEC -",
                "tmpfs /dev MS_NOSUID | MS_STRICTATIME mode=755,size=65536k",
                "devpts /dev/pts MS_NOSUID | MS_NOEXEC newinstance,ptmxmode=0666,mode=0620,gid=5",
                "tmpfs /dev/shm MS_NOSUID | MS_NODEV | MS_NOEXEC mode=1777,size=67108864",
                "mqueue /dev/mqueue MS_NOSUID | MS_NODEV | MS_NOEXEC -",
                "sysfs /sys MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC -",
            ]
        );
    }

    #[test]
    fn own_mounts_follow_parents_first_and_replace_standard_ones() {
        let mut spec = spec();
        spec.shm_size = 1 << 20;
        spec.privileged = true;
        spec.readonly_rootfs = true;
        spec.network = Network::Host;
        spec.mounts = vec![
            Mount::Bind {
                source: PathBuf::from("/vol/logs"),
                target: PathBuf::from("/data/logs"),
                readonly: false,
                copy_up: false,
            },
            Mount::Bind {
                source: PathBuf::from("/vol/data"),
                target: PathBuf::from("/data"),
                readonly: true,
                copy_up: false,
            },
            Mount::Tmpfs {
                target: PathBuf::from("/dev/mqueue/"),
                size: None,
                mode: None,
            },
            Mount::Tmpfs {
                target: PathBuf::from("/run"),
                size: Some(65536),
                mode: Some(0o1777),
            },
        ];
        spec.etc_files.hosts = Some(PathBuf::from("/run/c1/hosts"));
        spec.etc_files.resolv_conf = Some(PathBuf::from("/run/c1/resolv.conf"));
        assert_eq!(
            lines(&container_mounts(&spec)),
            [
                "proc /proc MS_NOSUID | MS_NODEV | MS_NOEXEC -",
                "tmpfs /dev MS_NOSUID | MS_STRICTATIME mode=755,size=65536k",
                "devpts /dev/pts MS_NOSUID | MS_NOEXEC newinstance,ptmxmode=0666,mode=0620,gid=5",
                "tmpfs /dev/shm MS_NOSUID | MS_NODEV | MS_NOEXEC mode=1777,size=1048576",
                "sysfs /sys MS_NOSUID | MS_NODEV | MS_NOEXEC -",
                "bind:/vol/data /data MS_BIND | MS_REC - ro",
                "tmpfs /run MS_NOSUID | MS_NODEV | MS_NOEXEC size=65536,mode=1777",
                "bind:/vol/logs /data/logs MS_BIND | MS_REC -",
                "tmpfs /dev/mqueue/ MS_NOSUID | MS_NODEV | MS_NOEXEC -",
                "bind:/run/c1/hosts /etc/hosts MS_BIND | MS_REC - ro",
                "bind:/run/c1/resolv.conf /etc/resolv.conf MS_BIND | MS_REC - ro",
            ]
        );
    }

    fn with_cgroup(mount: CgroupMount) -> ContainerSpec {
        let mut spec = spec();
        spec.cgroup = Some(crate::runtime::spec::CgroupJoin {
            procs: vec![PathBuf::from("/sys/fs/cgroup/memory/rc/c1/cgroup.procs")],
            mount,
        });
        spec
    }

    #[test]
    fn the_cgroup_view_is_mounted_read_only_under_sys() {
        // No cgroup given: nothing under /sys/fs/cgroup.
        assert_eq!(container_mounts(&spec()).len(), 6);
        let v2 = lines(&container_mounts(&with_cgroup(CgroupMount::V2)));
        assert_eq!(
            v2[5..],
            [
                "sysfs /sys MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC -",
                "cgroup2 /sys/fs/cgroup MS_NOSUID | MS_NODEV | MS_NOEXEC - ro",
            ]
        );
        let hierarchy = |dir: &str, options: &str| crate::runtime::spec::CgroupV1Mount {
            dir: dir.to_string(),
            options: options.to_string(),
        };
        let mut spec = with_cgroup(CgroupMount::V1 {
            hierarchies: vec![
                hierarchy("memory", "memory"),
                hierarchy("cpu,cpuacct", "cpu,cpuacct"),
                hierarchy("systemd", "name=systemd"),
            ],
        });
        assert_eq!(
            lines(&container_mounts(&spec))[6..],
            [
                "tmpfs /sys/fs/cgroup MS_NOSUID | MS_NODEV | MS_NOEXEC mode=755",
                "cgroup /sys/fs/cgroup/memory MS_NOSUID | MS_NODEV | MS_NOEXEC memory ro",
                "cgroup /sys/fs/cgroup/cpu,cpuacct MS_NOSUID | MS_NODEV | MS_NOEXEC cpu,cpuacct ro",
                "cgroup /sys/fs/cgroup/systemd MS_NOSUID | MS_NODEV | MS_NOEXEC name=systemd ro",
                "remount /sys/fs/cgroup - - ro",
            ]
        );
        // Privileged: writable, as Docker mounts it.
        spec.privileged = true;
        assert_eq!(
            lines(&container_mounts(&spec))[6..],
            [
                "tmpfs /sys/fs/cgroup MS_NOSUID | MS_NODEV | MS_NOEXEC mode=755",
                "cgroup /sys/fs/cgroup/memory MS_NOSUID | MS_NODEV | MS_NOEXEC memory",
                "cgroup /sys/fs/cgroup/cpu,cpuacct MS_NOSUID | MS_NODEV | MS_NOEXEC cpu,cpuacct",
                "cgroup /sys/fs/cgroup/systemd MS_NOSUID | MS_NODEV | MS_NOEXEC name=systemd",
            ]
        );
    }

    #[test]
    fn a_mount_of_the_spec_replaces_the_standard_ones_at_and_under_it() {
        let mut spec = with_cgroup(CgroupMount::V1 {
            hierarchies: vec![crate::runtime::spec::CgroupV1Mount {
                dir: "memory".to_string(),
                options: "memory".to_string(),
            }],
        });
        spec.mounts = vec![
            Mount::Bind {
                source: PathBuf::from("/sys/fs/cgroup"),
                target: PathBuf::from("/sys/fs/cgroup"),
                readonly: true,
                copy_up: false,
            },
            Mount::Tmpfs {
                target: PathBuf::from("/dev"),
                size: None,
                mode: None,
            },
        ];
        assert_eq!(
            lines(&container_mounts(&spec)),
            [
                "proc /proc MS_NOSUID | MS_NODEV | MS_NOEXEC -",
                "sysfs /sys MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC -",
                "tmpfs /dev MS_NOSUID | MS_NODEV | MS_NOEXEC -",
                "bind:/sys/fs/cgroup /sys/fs/cgroup MS_BIND | MS_REC - ro",
            ]
        );
    }

    #[test]
    fn rootfs_mounts() {
        let overlay = Rootfs::Overlay {
            lower: vec![PathBuf::from("/l/top"), PathBuf::from("/l/base")],
            upper: PathBuf::from("/c/upper"),
            work: PathBuf::from("/c/work"),
            target: PathBuf::from("/c/merged"),
        };
        assert_eq!(
            lines(&[rootfs_mount(&overlay)]),
            ["overlay /c/merged - lowerdir=/l/top:/l/base,upperdir=/c/upper,workdir=/c/work"]
        );
        let dir = Rootfs::Directory {
            path: PathBuf::from("/srv/root"),
        };
        assert_eq!(
            lines(&[rootfs_mount(&dir)]),
            ["bind:/srv/root /srv/root MS_BIND | MS_REC -"]
        );
    }

    #[test]
    fn privileged_masks_nothing() {
        let mut spec = spec();
        assert_eq!(masked_paths(&spec).len(), 12);
        assert!(masked_paths(&spec).contains(&"/proc/kcore"));
        assert_eq!(readonly_paths(&spec), READONLY_PATHS);
        spec.privileged = true;
        assert!(masked_paths(&spec).is_empty());
        assert!(readonly_paths(&spec).is_empty());
    }

    #[test]
    fn depth_is_lexical() {
        assert_eq!(depth(Path::new("/a/./b/../c/")), 2);
        assert_eq!(depth(Path::new("/../..")), 0);
        assert_eq!(
            normalize(Path::new("/dev/shm/")),
            normalize(Path::new("/dev/./shm"))
        );
    }
}
