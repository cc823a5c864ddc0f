//! Everything between a [`ContainerPlan`] and a [`ValidSpec`]: the container's directory
//! (writable layer, overlay mount point, `/etc` files, log, exit status), its user
//! resolved against the image's `/etc/passwd` and `/etc/group`, its volumes and bind
//! sources, its cgroup. What [`prepare`] makes is undone when a later step fails;
//! [`destroy`] removes a container's directory and cgroup.
//!
//! ```text
//! <root>/containers/<id>/upper        the overlay's writable layer
//!                        work         overlayfs's work directory
//!                        rootfs       where the overlay is mounted (in the container only)
//!                        hostname     bind-mounted over /etc/hostname
//!                        hosts        bind-mounted over /etc/hosts
//!                        resolv.conf  bind-mounted over /etc/resolv.conf
//!                        log.json     the program's output (runtime::logfile)
//!                        exit.json    its exit status, written by the helper
//! ```

use super::layout::Layout;
use super::state::State;
use super::volumes::{VolumeError, Volumes};
use crate::image::{ImageError, ImageId, ImageStore};
use crate::plan::container::{ContainerPlan, PlannedMount};
use crate::plan::user::{resolve_user, UserError};
use crate::runtime::cgroup::{Cgroup, CgroupError, Hierarchy};
use crate::runtime::fs::OPAQUE_XATTR;
use crate::runtime::{ContainerSpec, EtcFiles, Mount, Network, Rootfs, SpecError, User, ValidSpec};
use std::collections::BTreeMap;
use std::fs;
use std::io::{self, Read};
use std::net::Ipv4Addr;
use std::os::unix::fs::{DirBuilderExt, FileTypeExt, MetadataExt};
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// The label Docker puts on anonymous volumes.
pub const ANONYMOUS_VOLUME_LABEL: &str = "com.docker.volume.anonymous";

/// The compose label naming a volume's project.
const PROJECT_LABEL: &str = "com.docker.compose.project";

/// The compose label naming a volume's key in the project's `volumes:`.
const VOLUME_LABEL: &str = "com.docker.compose.volume";

/// The host's files a container's `/etc/hosts` and `/etc/resolv.conf` start from.
const HOST_HOSTS: &str = "/etc/hosts";
const HOST_RESOLV_CONF: &str = "/etc/resolv.conf";

/// How many symlinks are followed reading `/etc/passwd` or `/etc/group` in an image.
const MAX_SYMLINKS: usize = 16;

/// A container ready to start.
#[derive(Debug)]
pub struct Prepared {
    /// What to give the runtime.
    pub spec: ValidSpec,
    /// Its cgroup, when a hierarchy was given.
    pub cgroup: Option<Cgroup>,
    /// The volumes it mounts (full names, anonymous ones included, each once).
    pub volumes: Vec<String>,
    /// Its directory.
    pub dir: PathBuf,
}

/// Makes what the container `id` of `plan` needs (see the module docs) and returns the
/// spec to start it with. Named volumes are made unless they exist (a new one gets the
/// image's content at its target copied in, unless `nocopy`), labelled with the project
/// and their key (the name without `<project>_`); external ones must exist. Each
/// anonymous volume is a new volume with a random 64-hex name, labelled with the project
/// and [`ANONYMOUS_VOLUME_LABEL`]. The cgroup is `<cgroup parent>/<id>` with the plan's
/// limits. `plan.volumes_from` is not read: the caller resolves it into `plan.mounts`.
/// On error, whatever was made is removed again.
#[allow(clippy::too_many_arguments)]
pub fn prepare(
    layout: &Layout,
    state: &State,
    images: &ImageStore,
    image: &ImageId,
    plan: &ContainerPlan,
    id: &str,
    project: &str,
    hierarchy: Option<&Hierarchy>,
) -> Result<Prepared, PrepareError> {
    if id.is_empty() || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(PrepareError::InvalidId { id: id.to_string() });
    }
    let layers = images.layer_dirs(image)?;
    let passwd = read_image_file(&layers, Path::new("etc/passwd"))?;
    let group = read_image_file(&layers, Path::new("etc/group"))?;
    let user = resolve_user(
        &plan.user,
        &plan.group_add,
        passwd.as_deref(),
        group.as_deref(),
    )?;

    let place = Place {
        layout,
        state,
        volumes: Volumes::new(layout.volumes()),
        id,
        project,
    };
    let mut made = Made::default();
    match make(&place, plan, hierarchy, layers, user, &mut made) {
        Ok(prepared) => Ok(prepared),
        Err(error) => {
            let leftovers = made.undo(&place);
            if leftovers.is_empty() {
                Err(error)
            } else {
                Err(PrepareError::Undo {
                    error: Box::new(error),
                    leftovers: leftovers.join("; "),
                })
            }
        }
    }
}

/// Removes the container's directory and its cgroup (absent ones are fine). Its
/// anonymous volumes are the caller's to remove.
pub fn destroy(layout: &Layout, id: &str, cgroup: Option<&Cgroup>) -> Result<(), PrepareError> {
    if let Some(cgroup) = cgroup {
        cgroup.remove()?;
    }
    let dir = layout.container_dir(id);
    match fs::remove_dir_all(&dir) {
        Ok(()) => Ok(()),
        Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(source) => Err(PrepareError::Io {
            action: "removing the container directory",
            path: dir,
            source,
        }),
    }
}

/// Where [`prepare`] makes things.
struct Place<'a> {
    layout: &'a Layout,
    state: &'a State,
    volumes: Volumes,
    id: &'a str,
    project: &'a str,
}

/// What [`prepare`] has made so far, to be undone if a later step fails.
#[derive(Default)]
struct Made {
    dir: Option<PathBuf>,
    /// Host directories made for bind sources, outermost first.
    bind_dirs: Vec<PathBuf>,
    /// Volumes made (not those that existed).
    volumes: Vec<String>,
    cgroup: Option<Cgroup>,
}

impl Made {
    /// Undoes everything, newest first, and says what could not be undone.
    fn undo(self, place: &Place) -> Vec<String> {
        let mut leftovers = Vec::new();
        if let Some(cgroup) = &self.cgroup {
            if let Err(err) = cgroup.remove() {
                leftovers.push(format!("cgroup {}: {err}", cgroup.name()));
            }
        }
        for name in self.volumes.iter().rev() {
            let removed = place
                .volumes
                .remove_unless_used(place.state, name, Some(place.id));
            if let Err(err) = removed {
                leftovers.push(format!("volume {name}: {err}"));
            }
        }
        for dir in self.bind_dirs.iter().rev() {
            if let Err(err) = fs::remove_dir(dir) {
                leftovers.push(format!("directory {}: {err}", dir.display()));
            }
        }
        if let Some(dir) = &self.dir {
            if let Err(err) = fs::remove_dir_all(dir) {
                leftovers.push(format!("directory {}: {err}", dir.display()));
            }
        }
        leftovers
    }
}

fn make(
    place: &Place,
    plan: &ContainerPlan,
    hierarchy: Option<&Hierarchy>,
    layers: Vec<PathBuf>,
    user: User,
    made: &mut Made,
) -> Result<Prepared, PrepareError> {
    let Place {
        layout,
        state,
        volumes,
        id,
        project,
    } = place;
    let dir = layout.container_dir(id);
    make_container_dir(&dir, made)?;
    let etc_files = write_etc_files(&dir, plan)?;

    let mut mounts = Vec::with_capacity(plan.mounts.len());
    let mut used = Vec::new();
    for planned in &plan.mounts {
        let mount = match planned {
            PlannedMount::Bind {
                source,
                target,
                readonly,
                create_host_path,
            } => {
                ensure_bind_source(source, *create_host_path, made)?;
                Mount::Bind {
                    source: source.clone(),
                    target: target.clone(),
                    readonly: *readonly,
                    copy_up: false,
                }
            }
            PlannedMount::Volume {
                name,
                target,
                readonly,
                nocopy,
                external,
            } => {
                let new = if *external {
                    if state.volume(name)?.is_none() {
                        return Err(PrepareError::ExternalVolumeMissing { name: name.clone() });
                    }
                    false
                } else {
                    let mut labels =
                        BTreeMap::from([(PROJECT_LABEL.to_string(), project.to_string())]);
                    let key = name.strip_prefix(&format!("{project}_")).unwrap_or(name);
                    labels.insert(VOLUME_LABEL.to_string(), key.to_string());
                    let (_, new) = volumes.create(state, name, Some(project), labels)?;
                    if new {
                        made.volumes.push(name.clone());
                    }
                    new
                };
                push_once(&mut used, name);
                Mount::Bind {
                    source: volumes.path(name),
                    target: target.clone(),
                    readonly: *readonly,
                    copy_up: new && !nocopy,
                }
            }
            PlannedMount::Anonymous { target } => {
                let name = random_id()?;
                let labels = BTreeMap::from([
                    (PROJECT_LABEL.to_string(), project.to_string()),
                    (ANONYMOUS_VOLUME_LABEL.to_string(), String::new()),
                ]);
                volumes.create(state, &name, Some(project), labels)?;
                made.volumes.push(name.clone());
                push_once(&mut used, &name);
                Mount::Bind {
                    source: volumes.path(&name),
                    target: target.clone(),
                    readonly: false,
                    copy_up: true,
                }
            }
            PlannedMount::Tmpfs { target, size, mode } => Mount::Tmpfs {
                target: target.clone(),
                size: *size,
                mode: *mode,
            },
        };
        mounts.push(mount);
    }

    let cgroup = match hierarchy {
        Some(hierarchy) => {
            let name = format!("{}/{id}", layout.cgroup_parent());
            let cgroup = hierarchy.create(&name, &plan.limits)?;
            made.cgroup = Some(cgroup.clone());
            Some(cgroup)
        }
        None => None,
    };

    let mut lower = vec![init_layer(layout.root())?];
    lower.extend(layers);
    let mut spec = ContainerSpec::new(
        Rootfs::Overlay {
            lower,
            upper: dir.join("upper"),
            work: dir.join("work"),
            target: dir.join("rootfs"),
        },
        plan.hostname.clone(),
        plan.argv.clone(),
    );
    spec.readonly_rootfs = plan.readonly_rootfs;
    spec.domainname = plan.domainname.clone();
    spec.env = plan.env.clone();
    spec.cwd = plan.cwd.clone();
    spec.user = user;
    spec.privileged = plan.privileged;
    spec.cap_add = plan.cap_add.clone();
    spec.cap_drop = plan.cap_drop.clone();
    spec.no_new_privileges = plan.no_new_privileges;
    spec.mounts = mounts;
    spec.network = plan.network.clone();
    spec.etc_files = etc_files;
    spec.shm_size = plan.shm_size;
    spec.cgroup = cgroup.as_ref().map(Cgroup::join);
    spec.seccomp = plan.seccomp;
    spec.init = plan.init;
    spec.tty = plan.tty;
    spec.rlimits = plan.rlimits.clone();
    spec.sysctls = plan.sysctls.clone();
    spec.devices = plan.devices.clone();
    spec.log = Some(dir.join("log.json"));
    spec.exit_file = Some(dir.join("exit.json"));
    Ok(Prepared {
        spec: spec.validate()?,
        cgroup,
        volumes: used,
        dir,
    })
}

fn push_once(names: &mut Vec<String>, name: &str) {
    if !names.iter().any(|n| n == name) {
        names.push(name.to_string());
    }
}

/// Makes `<dir>` (0700; it must not exist) and its `upper`, `work` and `rootfs`.
fn make_container_dir(dir: &Path, made: &mut Made) -> Result<(), PrepareError> {
    let io_error = |action, path: &Path| {
        let path = path.to_path_buf();
        move |source| PrepareError::Io {
            action,
            path,
            source,
        }
    };
    if let Some(parent) = dir.parent() {
        fs::create_dir_all(parent).map_err(io_error("creating", parent))?;
    }
    fs::DirBuilder::new()
        .mode(0o700)
        .create(dir)
        .map_err(io_error("creating the container directory", dir))?;
    made.dir = Some(dir.to_path_buf());
    for sub in ["upper", "work", "rootfs"] {
        let path = dir.join(sub);
        fs::create_dir(&path).map_err(io_error("creating", &path))?;
    }
    Ok(())
}

/// Writes `hostname`, `hosts` and `resolv.conf` in `dir`. With the host's network the
/// container sees the host's `/etc/hosts`, as with Docker; otherwise localhost and its
/// own name on 127.0.1.1. `resolv.conf` is the host's (an empty one when it has none).
fn write_etc_files(dir: &Path, plan: &ContainerPlan) -> Result<EtcFiles, PrepareError> {
    let mut hosts = match plan.network {
        Network::Host => read_host_file(HOST_HOSTS)?,
        Network::None | Network::Join { .. } => {
            hosts_file(&plan.hostname, plan.domainname.as_deref())
        }
    };
    hosts.push_str(&extra_hosts(plan));
    let files = [
        ("hostname", format!("{}\n", plan.hostname)),
        ("hosts", hosts),
        ("resolv.conf", read_host_file(HOST_RESOLV_CONF)?),
    ];
    for (name, content) in &files {
        let path = dir.join(name);
        fs::write(&path, content).map_err(|source| PrepareError::Io {
            action: "writing",
            path,
            source,
        })?;
    }
    Ok(EtcFiles {
        hosts: Some(dir.join("hosts")),
        hostname: Some(dir.join("hostname")),
        resolv_conf: Some(dir.join("resolv.conf")),
    })
}

/// What the runtime mounts on in every container, made once in a read-only layer on
/// top of the image's (as Docker's init layer): without it, each start would make them
/// in the container's writable layer, several new inodes per container.
const INIT_LAYER_DIRS: [&str; 4] = ["proc", "sys", "dev", "etc"];
const INIT_LAYER_FILES: [&str; 3] = ["etc/hosts", "etc/hostname", "etc/resolv.conf"];

/// The shared init layer under `root`, made when missing (whole or not at all: it is
/// made aside, then renamed into place).
pub fn init_layer(root: &Path) -> Result<PathBuf, PrepareError> {
    let layer = root.join("init-layer");
    if layer.is_dir() {
        return Ok(layer);
    }
    let io_error = |action: &'static str, path: &Path| {
        let path = path.to_path_buf();
        move |source| PrepareError::Io {
            action,
            path,
            source,
        }
    };
    // Containers are made in parallel: each maker has its own place aside.
    static MAKERS: AtomicU64 = AtomicU64::new(0);
    let aside = root.join(format!(
        ".init-layer-{}-{}",
        std::process::id(),
        MAKERS.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = fs::remove_dir_all(&aside);
    fs::create_dir_all(&aside).map_err(io_error("creating", &aside))?;
    for dir in INIT_LAYER_DIRS {
        let path = aside.join(dir);
        fs::create_dir(&path).map_err(io_error("creating", &path))?;
    }
    for file in INIT_LAYER_FILES {
        let path = aside.join(file);
        fs::write(&path, "").map_err(io_error("creating", &path))?;
    }
    match fs::rename(&aside, &layer) {
        Ok(()) => Ok(layer),
        // Another container made it first.
        Err(_) if layer.is_dir() => {
            let _ = fs::remove_dir_all(&aside);
            Ok(layer)
        }
        Err(source) => {
            let _ = fs::remove_dir_all(&aside);
            Err(PrepareError::Io {
                action: "renaming into place",
                path: layer,
                source,
            })
        }
    }
}

/// `extra_hosts` lines for `/etc/hosts`.
fn extra_hosts(plan: &ContainerPlan) -> String {
    plan.extra_hosts
        .iter()
        .map(|(name, address)| format!("{address}\t{name}\n"))
        .collect()
}

/// Rewrites `hosts` and `resolv.conf` in the container's directory `dir` for a
/// container on bridge networks: its `addresses` named by its hostname, and the DNS of
/// its networks (`gateways`) before the service's `dns` servers, with `dns_search` and
/// `dns_opt` (the host's search domains when it gives none).
pub fn write_network_files(
    dir: &Path,
    plan: &ContainerPlan,
    addresses: &[Ipv4Addr],
    gateways: &[Ipv4Addr],
) -> Result<(), PrepareError> {
    if addresses.is_empty() {
        return Ok(());
    }
    let names = match plan.domainname.as_deref() {
        Some(domain) if !domain.is_empty() => {
            format!("{}.{domain}\t{}", plan.hostname, plan.hostname)
        }
        _ => plan.hostname.clone(),
    };
    let mut hosts =
        String::from("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n");
    for address in addresses {
        hosts.push_str(&format!("{address}\t{names}\n"));
    }
    hosts.push_str(&extra_hosts(plan));
    let host_resolv = read_host_file(HOST_RESOLV_CONF)?;
    let mut resolv = String::new();
    for server in gateways
        .iter()
        .map(ToString::to_string)
        .chain(plan.dns.iter().cloned())
    {
        resolv.push_str(&format!("nameserver {server}\n"));
    }
    let search = if plan.dns_search.is_empty() {
        host_resolv
            .lines()
            .filter_map(|line| line.trim().strip_prefix("search"))
            .filter(|rest| rest.starts_with([' ', '\t']))
            .flat_map(|rest| rest.split_whitespace().map(str::to_string))
            .collect()
    } else {
        plan.dns_search.clone()
    };
    if !search.is_empty() {
        resolv.push_str(&format!("search {}\n", search.join(" ")));
    }
    if !plan.dns_opt.is_empty() {
        resolv.push_str(&format!("options {}\n", plan.dns_opt.join(" ")));
    }
    for (name, content) in [("hosts", hosts), ("resolv.conf", resolv)] {
        let path = dir.join(name);
        fs::write(&path, content).map_err(|source| PrepareError::Io {
            action: "writing",
            path,
            source,
        })?;
    }
    Ok(())
}

/// `/etc/hosts` of a container with no network of its own to name.
fn hosts_file(hostname: &str, domainname: Option<&str>) -> String {
    let names = match domainname {
        Some(domain) if !domain.is_empty() => format!("{hostname}.{domain}\t{hostname}"),
        _ => hostname.to_string(),
    };
    format!("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n127.0.1.1\t{names}\n")
}

fn read_host_file(path: &str) -> Result<String, PrepareError> {
    match fs::read_to_string(path) {
        Ok(text) => Ok(text),
        Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(String::new()),
        Err(source) => Err(PrepareError::Io {
            action: "reading the host's",
            path: PathBuf::from(path),
            source,
        }),
    }
}

/// Makes a missing bind source directory when allowed (recording each directory made,
/// so that they can be removed again), or says it is missing.
fn ensure_bind_source(
    source: &Path,
    create_host_path: bool,
    made: &mut Made,
) -> Result<(), PrepareError> {
    if fs::symlink_metadata(source).is_ok() {
        return Ok(());
    }
    if !create_host_path {
        return Err(PrepareError::BindSourceMissing {
            path: source.to_path_buf(),
        });
    }
    let missing: Vec<&Path> = source
        .ancestors()
        .take_while(|dir| fs::symlink_metadata(dir).is_err())
        .collect();
    for dir in missing.into_iter().rev() {
        match fs::DirBuilder::new().mode(0o755).create(dir) {
            Ok(()) => made.bind_dirs.push(dir.to_path_buf()),
            Err(source) => {
                return Err(PrepareError::Io {
                    action: "creating the bind mount source",
                    path: dir.to_path_buf(),
                    source,
                })
            }
        }
    }
    Ok(())
}

/// A random 64-hex name.
fn random_id() -> Result<String, PrepareError> {
    let mut bytes = [0u8; 32];
    fs::File::open("/dev/urandom")
        .and_then(|mut random| random.read_exact(&mut bytes))
        .map_err(|source| PrepareError::Io {
            action: "reading random bytes from",
            path: PathBuf::from("/dev/urandom"),
            source,
        })?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// The text of the file `path` (relative, in the image) as the container's overlay will
/// show it: from the topmost layer that has it, unless a whiteout or an opaque
/// directory above hides it. `layers` is top first. Symlinks (of the file itself) are
/// followed inside the image; `None` when it is absent, hidden, not a regular file, or
/// a directory on its way is not one.
fn read_image_file(layers: &[PathBuf], path: &Path) -> Result<Option<String>, PrepareError> {
    let mut path = normalize(path);
    for _ in 0..=MAX_SYMLINKS {
        let Some(found) = find_in_layers(layers, &path)? else {
            return Ok(None);
        };
        let meta = fs::symlink_metadata(&found).map_err(|source| PrepareError::Io {
            action: "reading",
            path: found.clone(),
            source,
        })?;
        if meta.file_type().is_symlink() {
            let target = fs::read_link(&found).map_err(|source| PrepareError::Io {
                action: "reading the symlink",
                path: found.clone(),
                source,
            })?;
            let base = path.parent().unwrap_or(Path::new("")).to_path_buf();
            path = normalize(&base.join(target));
            continue;
        }
        if !meta.is_file() {
            return Ok(None);
        }
        let bytes = fs::read(&found).map_err(|source| PrepareError::Io {
            action: "reading",
            path: found.clone(),
            source,
        })?;
        return Ok(Some(String::from_utf8_lossy(&bytes).into_owned()));
    }
    Ok(None)
}

/// `path` made relative to the image's root, with `.` and `..` resolved lexically (`..`
/// stops at the root, as it does in the container).
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

/// The host path of the entry the overlay shows at `path` (relative, normalized), top
/// layer first, or `None` when no layer has it visible.
fn find_in_layers(layers: &[PathBuf], path: &Path) -> Result<Option<PathBuf>, PrepareError> {
    let names: Vec<_> = path.components().collect();
    for layer in layers {
        let mut dir = layer.clone();
        let mut opaque = false;
        for (i, name) in names.iter().enumerate() {
            let entry = dir.join(name);
            let meta = match fs::symlink_metadata(&entry) {
                Ok(meta) => meta,
                Err(err) if err.kind() == io::ErrorKind::NotFound => break,
                Err(source) => {
                    return Err(PrepareError::Io {
                        action: "reading",
                        path: entry,
                        source,
                    })
                }
            };
            if is_whiteout(&meta) {
                return Ok(None);
            }
            if i + 1 == names.len() {
                return Ok(Some(entry));
            }
            if !meta.is_dir() {
                // A file (or symlink) here replaces any directory of the layers below.
                return Ok(None);
            }
            opaque |= is_opaque(&entry)?;
            dir = entry;
        }
        if opaque {
            return Ok(None);
        }
    }
    Ok(None)
}

/// An overlayfs whiteout: a character device 0:0.
fn is_whiteout(meta: &fs::Metadata) -> bool {
    meta.file_type().is_char_device() && meta.rdev() == 0
}

fn is_opaque(dir: &Path) -> Result<bool, PrepareError> {
    let mut value = [0u8; 1];
    match rustix::fs::lgetxattr(dir, OPAQUE_XATTR, &mut value[..]) {
        Ok(len) => Ok(len == 1 && value[0] == b'y'),
        // No such attribute, a longer value than "y", or a file system without xattrs.
        Err(rustix::io::Errno::NODATA | rustix::io::Errno::RANGE | rustix::io::Errno::NOTSUP) => {
            Ok(false)
        }
        Err(err) => Err(PrepareError::Io {
            action: "reading the overlay attributes of",
            path: dir.to_path_buf(),
            source: err.into(),
        }),
    }
}

/// A container that could not be prepared or destroyed.
#[derive(Debug, thiserror::Error)]
pub enum PrepareError {
    /// A container ID that is no hex number.
    #[error("invalid container ID {id:?}: an ID is hex digits")]
    InvalidId { id: String },
    /// The image or its layers.
    #[error(transparent)]
    Image(#[from] ImageError),
    /// `user` or `group_add` against the image's files.
    #[error(transparent)]
    User(#[from] UserError),
    /// A volume.
    #[error(transparent)]
    Volume(#[from] VolumeError),
    /// The state database.
    #[error(transparent)]
    State(#[from] super::state::StateError),
    /// The cgroup.
    #[error(transparent)]
    Cgroup(#[from] CgroupError),
    /// The spec the plan made can't be run.
    #[error(transparent)]
    Spec(#[from] SpecError),
    /// An external volume that does not exist.
    #[error(
        "external volume {name:?} not found: create it first (an external volume is \
         never created by rcompose), or drop `external: true`"
    )]
    ExternalVolumeMissing { name: String },
    /// A bind source that is absent and may not be created.
    #[error(
        "bind mount source path does not exist: {}: create it, or use the short volume \
         syntax (or `bind: create_host_path: true`) to have it created",
        path.display()
    )]
    BindSourceMissing { path: PathBuf },
    /// A file operation.
    #[error("{action} {}: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// A failure, and what could not be removed again after it.
    #[error("{error} (undoing it left behind: {leftovers})")]
    Undo {
        error: Box<PrepareError>,
        leftovers: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::state::tests::{plan, put_user};
    use crate::image::Reference;
    use crate::runtime::cgroup::CgroupLimits;
    use crate::runtime::fs::{make_whiteout, set_opaque};
    use std::os::unix::fs::{symlink, PermissionsExt};

    const PASSWD: &str = "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\n";
    const GROUP: &str = "root:x:0:\napp:x:1000:\nvideo:x:44:app\n";
    const ID: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    struct Setup {
        dir: tempfile::TempDir,
        layout: Layout,
        state: State,
        images: ImageStore,
        image: ImageId,
    }

    /// A root with a one-layer image holding `etc/passwd`, `etc/group` and `data/seed`.
    fn setup() -> Setup {
        let dir = tempfile::tempdir().unwrap();
        let layout = Layout::new(Some(dir.path().join("root")));
        fs::create_dir_all(layout.root()).unwrap();
        let state = State::open(&layout.state_db()).unwrap();
        let mut images = ImageStore::open(layout.root()).unwrap();
        let mut tar = tar::Builder::new(Vec::new());
        for (path, content) in [
            ("etc/passwd", PASSWD),
            ("etc/group", GROUP),
            ("data/seed", "s"),
        ] {
            let mut header = tar::Header::new_gnu();
            header.set_size(content.len() as u64);
            header.set_mode(0o644);
            header.set_uid(0);
            header.set_gid(0);
            header.set_mtime(0);
            header.set_entry_type(tar::EntryType::Regular);
            tar.append_data(&mut header, path, content.as_bytes())
                .unwrap();
        }
        let tar = tar.into_inner().unwrap();
        let reference = Reference::parse("bb:latest").unwrap();
        let image = images.import_rootfs(&tar[..], &reference, &[]).unwrap();
        Setup {
            dir,
            layout,
            state,
            images,
            image,
        }
    }

    impl Setup {
        fn prepare(&self, plan: &ContainerPlan, id: &str) -> Result<Prepared, PrepareError> {
            self.prepare_in(plan, id, None)
        }

        fn prepare_in(
            &self,
            plan: &ContainerPlan,
            id: &str,
            hierarchy: Option<&Hierarchy>,
        ) -> Result<Prepared, PrepareError> {
            prepare(
                &self.layout,
                &self.state,
                &self.images,
                &self.image,
                plan,
                id,
                "demo",
                hierarchy,
            )
        }

        fn volume_names(&self) -> Vec<String> {
            let names = self.state.volumes().unwrap().into_iter().map(|v| v.name);
            names.collect()
        }

        fn volume_dirs(&self) -> Vec<String> {
            match fs::read_dir(self.layout.volumes()) {
                Ok(entries) => {
                    let mut names: Vec<String> = entries
                        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                        .collect();
                    names.sort();
                    names
                }
                Err(_) => Vec::new(),
            }
        }
    }

    fn volume(name: &str, target: &str, readonly: bool, nocopy: bool) -> PlannedMount {
        PlannedMount::Volume {
            name: name.to_string(),
            target: PathBuf::from(target),
            readonly,
            nocopy,
            external: false,
        }
    }

    fn bind(source: &Path, create_host_path: bool) -> PlannedMount {
        PlannedMount::Bind {
            source: source.to_path_buf(),
            target: PathBuf::from("/host"),
            readonly: true,
            create_host_path,
        }
    }

    #[test]
    fn the_init_layer_holds_the_mount_points_and_is_made_once() {
        let dir = tempfile::tempdir().unwrap();
        let layer = init_layer(dir.path()).unwrap();
        assert_eq!(layer, dir.path().join("init-layer"));
        let mut found: Vec<String> = walk(&layer);
        found.sort();
        assert_eq!(
            found,
            [
                "dev/",
                "etc/",
                "etc/hostname",
                "etc/hosts",
                "etc/resolv.conf",
                "proc/",
                "sys/"
            ]
        );
        // Made once: a second call finds it, and nothing is left aside.
        assert_eq!(init_layer(dir.path()).unwrap(), layer);
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn the_init_layer_is_made_by_one_of_many_parallel_makers() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().to_path_buf();
        let makers: Vec<_> = (0..16)
            .map(|_| {
                let root = root.clone();
                std::thread::spawn(move || init_layer(&root).unwrap())
            })
            .collect();
        for maker in makers {
            assert_eq!(maker.join().unwrap(), root.join("init-layer"));
        }
        assert_eq!(walk(&root.join("init-layer")).len(), 7);
        assert_eq!(fs::read_dir(&root).unwrap().count(), 1);
    }

    /// Paths under `root`, directories with a trailing `/`.
    fn walk(root: &Path) -> Vec<String> {
        let mut found = Vec::new();
        for entry in fs::read_dir(root).unwrap() {
            let path = entry.unwrap().path();
            let name = path.strip_prefix(root).unwrap().display().to_string();
            if path.is_dir() {
                found.push(format!("{name}/"));
                found.extend(walk(&path).into_iter().map(|sub| format!("{name}/{sub}")));
            } else {
                found.push(name);
            }
        }
        found
    }

    #[test]
    fn a_plan_becomes_a_spec_with_its_directory_volumes_and_user() {
        let s = setup();
        let host = s.dir.path().join("host/a/b");
        let mut plan = plan();
        plan.user = "app".to_string();
        plan.group_add = vec!["123".to_string()];
        plan.hostname = "web".to_string();
        plan.mounts = vec![
            volume("demo_data", "/data", false, false),
            volume("demo_cache", "/cache", true, true),
            PlannedMount::Anonymous {
                target: PathBuf::from("/anon"),
            },
            bind(&host, true),
            PlannedMount::Tmpfs {
                target: PathBuf::from("/tmp"),
                size: Some(1024),
                mode: Some(0o1777),
            },
        ];
        let prepared = s.prepare(&plan, ID).unwrap();
        let dir = s.layout.container_dir(ID);
        assert_eq!(prepared.dir, dir);
        assert!(prepared.cgroup.is_none());
        let anonymous = prepared.volumes[2].clone();
        assert_eq!(anonymous.len(), 64);
        assert!(
            anonymous.bytes().all(|b| b.is_ascii_hexdigit()),
            "{anonymous}"
        );
        assert_eq!(
            prepared.volumes,
            vec![
                "demo_data".to_string(),
                "demo_cache".to_string(),
                anonymous.clone()
            ]
        );

        let spec = prepared.spec.spec();
        assert_eq!(
            spec.user,
            User {
                uid: 1000,
                gid: 1000,
                additional_gids: vec![44, 123],
            }
        );
        assert_eq!(
            spec.rootfs,
            Rootfs::Overlay {
                lower: [s.layout.root().join("init-layer")]
                    .into_iter()
                    .chain(s.images.layer_dirs(&s.image).unwrap())
                    .collect(),
                upper: dir.join("upper"),
                work: dir.join("work"),
                target: dir.join("rootfs"),
            }
        );
        let volumes = s.layout.volumes();
        assert_eq!(
            spec.mounts,
            vec![
                Mount::Bind {
                    source: volumes.join("demo_data/_data"),
                    target: PathBuf::from("/data"),
                    readonly: false,
                    copy_up: true,
                },
                Mount::Bind {
                    source: volumes.join("demo_cache/_data"),
                    target: PathBuf::from("/cache"),
                    readonly: true,
                    copy_up: false,
                },
                Mount::Bind {
                    source: volumes.join(&anonymous).join("_data"),
                    target: PathBuf::from("/anon"),
                    readonly: false,
                    copy_up: true,
                },
                Mount::Bind {
                    source: host.clone(),
                    target: PathBuf::from("/host"),
                    readonly: true,
                    copy_up: false,
                },
                Mount::Tmpfs {
                    target: PathBuf::from("/tmp"),
                    size: Some(1024),
                    mode: Some(0o1777),
                },
            ]
        );
        assert!(host.is_dir());
        assert_eq!(spec.log, Some(dir.join("log.json")));
        assert_eq!(spec.exit_file, Some(dir.join("exit.json")));
        assert_eq!(
            spec.etc_files,
            EtcFiles {
                hosts: Some(dir.join("hosts")),
                hostname: Some(dir.join("hostname")),
                resolv_conf: Some(dir.join("resolv.conf")),
            }
        );
        assert_eq!(spec.hostname, "web");
        assert_eq!(spec.argv, vec!["sh".to_string()]);
        assert_eq!(spec.env, plan.env);
        assert_eq!(spec.cgroup, None);
        assert_eq!(
            fs::read_to_string(dir.join("hosts")).unwrap(),
            "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n127.0.1.1\tweb\n"
        );
        assert_eq!(fs::read_to_string(dir.join("hostname")).unwrap(), "web\n");
        assert_eq!(
            fs::read_to_string(dir.join("resolv.conf")).unwrap(),
            fs::read_to_string(HOST_RESOLV_CONF).unwrap_or_default()
        );
        for sub in ["upper", "work", "rootfs"] {
            assert!(dir.join(sub).is_dir(), "{sub}");
        }
        assert_eq!(
            fs::metadata(&dir).unwrap().permissions().mode() & 0o7777,
            0o700
        );

        let data = s.state.volume("demo_data").unwrap().unwrap();
        assert_eq!(data.project.as_deref(), Some("demo"));
        assert_eq!(
            data.labels,
            BTreeMap::from([
                (PROJECT_LABEL.to_string(), "demo".to_string()),
                (VOLUME_LABEL.to_string(), "data".to_string()),
            ])
        );
        let anon = s.state.volume(&anonymous).unwrap().unwrap();
        assert_eq!(
            anon.labels,
            BTreeMap::from([
                (PROJECT_LABEL.to_string(), "demo".to_string()),
                (ANONYMOUS_VOLUME_LABEL.to_string(), String::new()),
            ])
        );

        // A second container: the named volume exists now (no copy-up), the anonymous
        // one is new again.
        let other = ID.replace('0', "f");
        let again = s.prepare(&plan, &other).unwrap();
        let Mount::Bind { copy_up, .. } = &again.spec.spec().mounts[0] else {
            panic!("{:?}", again.spec.spec().mounts[0]);
        };
        assert!(!copy_up);
        assert_ne!(again.volumes[2], anonymous);
        assert_eq!(s.volume_names().len(), 4);

        destroy(&s.layout, ID, None).unwrap();
        assert!(!dir.exists());
        destroy(&s.layout, ID, None).unwrap();
        assert!(s.layout.container_dir(&other).is_dir());
    }

    #[test]
    fn the_host_network_gets_the_hosts_etc_hosts_and_a_domain_its_fqdn() {
        let s = setup();
        let mut plan = plan();
        plan.network = Network::Host;
        let prepared = s.prepare(&plan, ID).unwrap();
        assert_eq!(
            fs::read_to_string(prepared.dir.join("hosts")).unwrap(),
            fs::read_to_string(HOST_HOSTS).unwrap_or_default()
        );
        assert_eq!(
            hosts_file("web", Some("example.org")),
            "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n\
             127.0.1.1\tweb.example.org\tweb\n"
        );
    }

    #[test]
    fn an_unknown_user_is_refused_before_anything_is_made() {
        let s = setup();
        let mut plan = plan();
        plan.user = "nobody2".to_string();
        plan.mounts = vec![volume("demo_data", "/data", false, false)];
        let err = s.prepare(&plan, ID).unwrap_err();
        assert_eq!(
            err.to_string(),
            "unable to find user nobody2: no matching entries in passwd file"
        );
        assert!(!s.layout.container_dir(ID).exists());
        assert_eq!(s.volume_names(), Vec::<String>::new());
    }

    #[test]
    fn an_invalid_id_is_refused() {
        let s = setup();
        let err = s.prepare(&plan(), "../x").unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid container ID \"../x\": an ID is hex digits"
        );
    }

    #[test]
    fn a_missing_external_volume_is_named() {
        let s = setup();
        let mut plan = plan();
        plan.mounts = vec![PlannedMount::Volume {
            name: "shared".to_string(),
            target: PathBuf::from("/shared"),
            readonly: false,
            nocopy: false,
            external: true,
        }];
        let err = s.prepare(&plan, ID).unwrap_err();
        assert_eq!(
            err.to_string(),
            "external volume \"shared\" not found: create it first (an external volume is \
             never created by rcompose), or drop `external: true`"
        );
        assert!(!s.layout.container_dir(ID).exists());

        Volumes::new(s.layout.volumes())
            .create(&s.state, "shared", None, BTreeMap::new())
            .unwrap();
        let prepared = s.prepare(&plan, ID).unwrap();
        assert_eq!(
            prepared.spec.spec().mounts,
            vec![Mount::Bind {
                source: s.layout.volumes().join("shared/_data"),
                target: PathBuf::from("/shared"),
                readonly: false,
                copy_up: false,
            }]
        );
        assert_eq!(prepared.volumes, vec!["shared".to_string()]);
    }

    #[test]
    fn a_failure_undoes_what_was_made() {
        let s = setup();
        let volumes = Volumes::new(s.layout.volumes());
        volumes
            .create(&s.state, "demo_kept", Some("demo"), BTreeMap::new())
            .unwrap();
        // The engine may have recorded the container (creating) with its volumes.
        put_user(&s.state, ID, &["demo_kept", "demo_data"]);
        let made = s.dir.path().join("made");
        let absent = s.dir.path().join("absent");
        let mut plan = plan();
        plan.mounts = vec![
            volume("demo_kept", "/kept", false, false),
            volume("demo_data", "/data", false, false),
            PlannedMount::Anonymous {
                target: PathBuf::from("/anon"),
            },
            bind(&made.join("x/y"), true),
            bind(&absent, false),
        ];
        let err = s.prepare(&plan, ID).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "bind mount source path does not exist: {}: create it, or use the short \
                 volume syntax (or `bind: create_host_path: true`) to have it created",
                absent.display()
            )
        );
        assert!(!s.layout.container_dir(ID).exists());
        assert!(!made.exists());
        assert_eq!(s.volume_names(), vec!["demo_kept".to_string()]);
        assert_eq!(s.volume_dirs(), vec!["demo_kept".to_string()]);
    }

    #[test]
    fn what_can_not_be_undone_is_named() {
        let s = setup();
        put_user(&s.state, "c2", &["demo_data"]);
        let absent = s.dir.path().join("absent");
        let mut plan = plan();
        plan.mounts = vec![
            volume("demo_data", "/data", false, false),
            bind(&absent, false),
        ];
        let err = s.prepare(&plan, ID).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "bind mount source path does not exist: {}: create it, or use the short \
                 volume syntax (or `bind: create_host_path: true`) to have it created \
                 (undoing it left behind: volume demo_data: volume demo_data is in use by \
                 container demo-web-c2: remove the container first, then the volume)",
                absent.display()
            )
        );
        assert!(!s.layout.container_dir(ID).exists());
        assert_eq!(s.volume_names(), vec!["demo_data".to_string()]);
    }

    /// The cgroup hierarchy of this host, when we are root.
    fn hierarchy() -> Option<Hierarchy> {
        if !nix::unistd::geteuid().is_root() {
            eprintln!("skipped: cgroups need root (CI runs as root)");
            return None;
        }
        Some(Hierarchy::detect().unwrap())
    }

    /// Removes a test's cgroup, also when the test failed.
    struct CgroupGuard(Cgroup);

    impl Drop for CgroupGuard {
        fn drop(&mut self) {
            let _ = self.0.remove();
        }
    }

    #[test]
    fn the_cgroup_is_made_with_the_limits_and_destroyed() {
        let Some(hierarchy) = hierarchy() else {
            return;
        };
        let s = setup();
        let name = format!("{}/{ID}", s.layout.cgroup_parent());
        let _guard = CgroupGuard(hierarchy.open(&name));
        let mut plan = plan();
        plan.limits = CgroupLimits {
            memory: Some(64 * 1024 * 1024),
            ..CgroupLimits::default()
        };
        let prepared = s.prepare_in(&plan, ID, Some(&hierarchy)).unwrap();
        let cgroup = prepared.cgroup.as_ref().unwrap();
        assert_eq!(cgroup.name(), name);
        assert!(cgroup.exists());
        assert_eq!(prepared.spec.spec().cgroup, Some(cgroup.join()));

        destroy(&s.layout, ID, Some(cgroup)).unwrap();
        assert!(!cgroup.exists());
        assert!(!prepared.dir.exists());
    }

    #[test]
    fn a_failure_after_the_cgroup_removes_it_too() {
        let Some(hierarchy) = hierarchy() else {
            return;
        };
        let s = setup();
        let name = format!("{}/{ID}", s.layout.cgroup_parent());
        let _guard = CgroupGuard(hierarchy.open(&name));
        let mut plan = plan();
        plan.argv.clear();
        plan.mounts = vec![
            volume("demo_data", "/data", false, false),
            bind(&s.dir.path().join("made"), true),
        ];
        let err = s.prepare_in(&plan, ID, Some(&hierarchy)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "argv is empty: a container needs a program to run"
        );
        assert!(!hierarchy.open(&name).exists());
        assert!(!s.layout.container_dir(ID).exists());
        assert!(!s.dir.path().join("made").exists());
        assert_eq!(s.volume_names(), Vec::<String>::new());
    }

    /// Layer directories `top`, `mid`, `base` (top first) with files written by `make`.
    fn make_layers(make: impl FnOnce(&Path, &Path, &Path)) -> (tempfile::TempDir, Vec<PathBuf>) {
        let dir = tempfile::tempdir().unwrap();
        let layers: Vec<PathBuf> = ["top", "mid", "base"]
            .iter()
            .map(|name| dir.path().join(name))
            .collect();
        for layer in &layers {
            fs::create_dir_all(layer.join("etc")).unwrap();
        }
        make(&layers[0], &layers[1], &layers[2]);
        (dir, layers)
    }

    fn read(layers: &[PathBuf], path: &str) -> Option<String> {
        read_image_file(layers, Path::new(path)).unwrap()
    }

    #[test]
    fn the_topmost_layer_with_the_file_wins() {
        let (_dir, layers) = make_layers(|_, mid, base| {
            fs::write(mid.join("etc/passwd"), "mid").unwrap();
            fs::write(base.join("etc/passwd"), "base").unwrap();
            fs::write(base.join("etc/group"), "base").unwrap();
        });
        assert_eq!(read(&layers, "etc/passwd").as_deref(), Some("mid"));
        assert_eq!(read(&layers, "/etc/group").as_deref(), Some("base"));
        assert_eq!(read(&layers, "etc/shadow"), None);
        assert_eq!(read(&layers, "etc"), None);
    }

    #[test]
    fn whiteouts_hide_files_and_directories_below() {
        let (_dir, layers) = make_layers(|top, mid, base| {
            make_whiteout(&mid.join("etc/passwd")).unwrap();
            fs::write(base.join("etc/passwd"), "base").unwrap();
            fs::write(top.join("etc/group"), "top").unwrap();
        });
        assert_eq!(read(&layers, "etc/passwd"), None);
        assert_eq!(read(&layers, "etc/group").as_deref(), Some("top"));

        let (_dir, layers) = make_layers(|top, _, base| {
            fs::remove_dir(top.join("etc")).unwrap();
            make_whiteout(&top.join("etc")).unwrap();
            fs::write(base.join("etc/passwd"), "base").unwrap();
        });
        assert_eq!(read(&layers, "etc/passwd"), None);

        let (_dir, layers) = make_layers(|_, mid, base| {
            fs::remove_dir(mid.join("etc")).unwrap();
            fs::write(mid.join("etc"), "a file over the directory").unwrap();
            fs::write(base.join("etc/passwd"), "base").unwrap();
        });
        assert_eq!(read(&layers, "etc/passwd"), None);
    }

    #[test]
    fn an_opaque_directory_hides_the_layers_below() {
        if !nix::unistd::geteuid().is_root() {
            eprintln!("skipped: the opaque attribute needs root");
            return;
        }
        let (_dir, layers) = make_layers(|_, mid, base| {
            set_opaque(&mid.join("etc")).unwrap();
            fs::write(mid.join("etc/group"), "mid").unwrap();
            fs::write(base.join("etc/passwd"), "base").unwrap();
            fs::write(base.join("etc/group"), "base").unwrap();
        });
        assert_eq!(read(&layers, "etc/passwd"), None);
        assert_eq!(read(&layers, "etc/group").as_deref(), Some("mid"));
    }

    #[test]
    fn symlinks_are_followed_inside_the_image() {
        let (_dir, layers) = make_layers(|top, mid, base| {
            symlink("../srv/passwd", top.join("etc/passwd")).unwrap();
            fs::create_dir_all(base.join("srv")).unwrap();
            fs::write(base.join("srv/passwd"), "linked").unwrap();
            symlink("/../../srv/passwd", mid.join("etc/group")).unwrap();
            symlink("loop", top.join("etc/loop")).unwrap();
        });
        assert_eq!(read(&layers, "etc/passwd").as_deref(), Some("linked"));
        assert_eq!(read(&layers, "etc/group").as_deref(), Some("linked"));
        assert_eq!(read(&layers, "etc/loop"), None);
    }
}
