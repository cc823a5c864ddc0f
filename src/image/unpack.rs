//! Unpacks a layer tarball into a directory, safely: nothing is ever written outside it.
//!
//! - Entry paths are made relative (a leading `/` is dropped, as GNU tar and docker do)
//!   and normalized; a `..` component refuses the layer.
//! - Nothing is written through a symlink: every parent directory of an entry is checked
//!   with `lstat` (or was created by this unpacking) and must be a real directory; a
//!   symlink there refuses the layer. The last component is replaced, never followed.
//! - Hard links must point at an entry already unpacked in the layer.
//! - OCI whiteouts become overlayfs ones: `.wh.NAME` a 0:0 character device `NAME`,
//!   `.wh..wh..opq` the opaque xattr on its directory; a 0:0 character device in the
//!   tarball is taken as a whiteout too. Other `.wh..wh.` entries (aufs metadata) and
//!   every other device node or fifo are skipped: containers get their own `/dev`.
//! - Mode (with setuid, setgid and sticky bits), owner and mtime are kept.
//!
//! The destination must be a fresh directory private to this process (the store unpacks
//! into a temp dir and renames it into place), so that nothing else changes it meanwhile.

use super::error::{EntryProblem, ImageError, IoContext};
use crate::runtime::fs::{make_whiteout, set_opaque, set_times_nofollow};
use std::collections::{HashMap, HashSet};
use std::ffi::OsStr;
use std::fs::{self, DirBuilder, File, FileTimes, OpenOptions, Permissions};
use std::io::{self, Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Component, Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tar::EntryType;

const WHITEOUT_PREFIX: &[u8] = b".wh.";
const OPAQUE_MARKER: &[u8] = b".wh..wh..opq";
const WHAT: &str = "layer";

/// Unpacks the tar stream `reader` into `dest`. The stream must end with the tar
/// end-of-archive marker; what follows the marker is left unread.
pub(crate) fn unpack<R: Read>(reader: R, dest: &Path) -> Result<(), ImageError> {
    let mut unpacker = Unpacker {
        root: dest,
        dirs: HashSet::new(),
        deferred: HashMap::new(),
    };
    // The layer root gets the usual mode of `/` unless the tarball has a `./` entry.
    unpacker.deferred.insert(
        PathBuf::new(),
        Meta {
            mode: 0o755,
            uid: 0,
            gid: 0,
            mtime: None,
        },
    );
    let mut archive = tar::Archive::new(EofTracker::new(reader));
    for entry in archive.entries().map_err(read_error)? {
        let mut entry = entry.map_err(read_error)?;
        unpacker.entry(&mut entry)?;
    }
    if archive.into_inner().hit_eof() {
        return Err(ImageError::Truncated { what: WHAT });
    }
    unpacker.finish()
}

fn read_error(source: io::Error) -> ImageError {
    ImageError::Read { what: WHAT, source }
}

/// Notes when the stream has ended: a tar reader that stops at end of input rather than
/// at the end-of-archive marker has read a truncated stream.
pub(crate) struct EofTracker<R> {
    inner: R,
    hit_eof: bool,
}

impl<R> EofTracker<R> {
    pub(crate) fn new(inner: R) -> Self {
        EofTracker {
            inner,
            hit_eof: false,
        }
    }

    /// Whether a read has returned end of input.
    pub(crate) fn hit_eof(&self) -> bool {
        self.hit_eof
    }
}

impl<R: Read> Read for EofTracker<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n == 0 && !buf.is_empty() {
            self.hit_eof = true;
        }
        Ok(n)
    }
}

/// Owner, permissions and time of an entry.
#[derive(Clone, Copy, Debug)]
struct Meta {
    mode: u32,
    uid: u32,
    gid: u32,
    /// `None` leaves the time as it is.
    mtime: Option<SystemTime>,
}

struct Unpacker<'a> {
    root: &'a Path,
    /// Relative paths known to be real directories (created or checked here).
    dirs: HashSet<PathBuf>,
    /// Directory metadata, applied last: unpacking into a directory changes its mtime,
    /// and a read-only directory must still take its entries.
    deferred: HashMap<PathBuf, Meta>,
}

impl Unpacker<'_> {
    fn entry<R: Read>(&mut self, entry: &mut tar::Entry<R>) -> Result<(), ImageError> {
        let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        let unsafe_entry = |problem| ImageError::UnsafeEntry {
            what: WHAT,
            entry: name.clone(),
            problem,
        };
        let kind = entry.header().entry_type();
        if matches!(
            kind,
            EntryType::XGlobalHeader
                | EntryType::XHeader
                | EntryType::GNULongName
                | EntryType::GNULongLink
        ) {
            return Ok(());
        }
        let raw_path = entry.path().map_err(read_error)?.into_owned();
        let rel = normalize(&raw_path).map_err(unsafe_entry)?;
        if let Some(file_name) = rel.file_name().map(OsStr::as_bytes) {
            if let Some(hidden) = file_name.strip_prefix(WHITEOUT_PREFIX) {
                self.ensure_parents(&rel).map_err(unsafe_entry)?;
                let parent = rel.parent().unwrap_or(Path::new(""));
                if file_name == OPAQUE_MARKER {
                    let dir = self.root.join(parent);
                    return set_opaque(&dir).doing("marking opaque", &dir);
                }
                if hidden.starts_with(WHITEOUT_PREFIX) {
                    return Ok(());
                }
                if matches!(hidden, b"" | b"." | b"..") {
                    return Err(unsafe_entry(EntryProblem::BadWhiteout));
                }
                let target = parent.join(OsStr::from_bytes(hidden));
                return self.whiteout(&target);
            }
        }
        if rel.as_os_str().is_empty() && kind != EntryType::Directory {
            return Err(unsafe_entry(EntryProblem::EmptyPath));
        }
        let meta = meta(entry).map_err(|err| match err {
            MetaError::Read(source) => read_error(source),
            MetaError::Id(id) => unsafe_entry(EntryProblem::IdOutOfRange(id)),
        })?;
        match kind {
            EntryType::Directory => self.directory(rel, meta).map_err(|e| e.on(&name)),
            EntryType::Regular | EntryType::Continuous | EntryType::GNUSparse => {
                self.ensure_parents(&rel).map_err(unsafe_entry)?;
                self.file(entry, &rel, meta, kind != EntryType::GNUSparse)
            }
            EntryType::Symlink => {
                let target = entry
                    .link_name()
                    .map_err(read_error)?
                    .ok_or_else(|| unsafe_entry(EntryProblem::EmptySymlink))?
                    .into_owned();
                self.ensure_parents(&rel).map_err(unsafe_entry)?;
                self.symlink(&rel, &target, meta)
            }
            EntryType::Link => {
                let target = entry
                    .link_name()
                    .map_err(read_error)?
                    .map(|t| t.into_owned());
                self.hard_link(&rel, target.as_deref())
                    .map_err(|e| e.on(&name))
            }
            EntryType::Char if device(entry) == Some((0, 0)) => {
                self.ensure_parents(&rel).map_err(unsafe_entry)?;
                self.whiteout(&rel)
            }
            EntryType::Char | EntryType::Block | EntryType::Fifo => Ok(()),
            other => Err(unsafe_entry(EntryProblem::UnknownType(char::from(
                other.as_byte(),
            )))),
        }
    }

    /// Checks that every parent of `rel` is a real directory, creating missing ones.
    /// (Directories are created 0700 and get their mode in `finish`: the umask must not
    /// decide it.)
    fn ensure_parents(&mut self, rel: &Path) -> Result<(), EntryProblem> {
        let Some(parent) = rel.parent() else {
            return Ok(());
        };
        let mut current = PathBuf::new();
        for component in parent.components() {
            current.push(component);
            if self.dirs.contains(&current) {
                continue;
            }
            let path = self.root.join(&current);
            match fs::symlink_metadata(&path) {
                Ok(found) if found.is_dir() => {}
                Ok(found) if found.file_type().is_symlink() => {
                    return Err(EntryProblem::ParentIsSymlink(display(&current)));
                }
                Ok(_) => return Err(EntryProblem::ParentNotDirectory(display(&current))),
                Err(err) if err.kind() == io::ErrorKind::NotFound => {
                    if DirBuilder::new().mode(0o700).create(&path).is_err() {
                        return Err(EntryProblem::ParentNotDirectory(display(&current)));
                    }
                    // A directory the tarball implies but does not list: 0755 root:root
                    // unless its own entry comes later.
                    self.deferred.entry(current.clone()).or_insert(Meta {
                        mode: 0o755,
                        uid: 0,
                        gid: 0,
                        mtime: None,
                    });
                }
                Err(_) => return Err(EntryProblem::ParentNotDirectory(display(&current))),
            }
            self.dirs.insert(current.clone());
        }
        Ok(())
    }

    /// Removes whatever is at `rel` (a later entry replaces an earlier one), without
    /// following a symlink.
    fn clear(&mut self, rel: &Path) -> Result<(), ImageError> {
        let path = self.root.join(rel);
        match fs::symlink_metadata(&path) {
            Ok(found) if found.is_dir() => {
                fs::remove_dir_all(&path).doing("replacing", &path)?;
                self.dirs.retain(|dir| !dir.starts_with(rel));
                self.deferred.retain(|dir, _| !dir.starts_with(rel));
                Ok(())
            }
            Ok(_) => fs::remove_file(&path).doing("replacing", &path),
            Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(err) => Err(err).doing("checking", &path),
        }
    }

    fn directory(&mut self, rel: PathBuf, meta: Meta) -> Result<(), EntryError> {
        if !rel.as_os_str().is_empty() {
            self.ensure_parents(&rel)?;
            let path = self.root.join(&rel);
            match fs::symlink_metadata(&path) {
                Ok(found) if found.is_dir() => {}
                _ => {
                    self.clear(&rel)?;
                    DirBuilder::new()
                        .mode(0o700)
                        .create(&path)
                        .doing("creating", &path)?;
                }
            }
            self.dirs.insert(rel.clone());
        }
        self.deferred.insert(rel, meta);
        Ok(())
    }

    fn file<R: Read>(
        &mut self,
        entry: &mut tar::Entry<R>,
        rel: &Path,
        meta: Meta,
        check_size: bool,
    ) -> Result<(), ImageError> {
        self.clear(rel)?;
        let path = self.root.join(rel);
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
            .doing("creating", &path)?;
        let written = copy(entry, &mut file, &path)?;
        if check_size && written != entry.size() {
            return Err(read_error(io::ErrorKind::UnexpectedEof.into()));
        }
        std::os::unix::fs::fchown(&file, Some(meta.uid), Some(meta.gid))
            .doing("setting the owner of", &path)?;
        // After chown, which clears the setuid and setgid bits.
        file.set_permissions(Permissions::from_mode(meta.mode))
            .doing("setting the mode of", &path)?;
        if let Some(mtime) = meta.mtime {
            let times = FileTimes::new().set_accessed(mtime).set_modified(mtime);
            file.set_times(times).doing("setting the times of", &path)?;
        }
        Ok(())
    }

    fn symlink(&mut self, rel: &Path, target: &Path, meta: Meta) -> Result<(), ImageError> {
        self.clear(rel)?;
        let path = self.root.join(rel);
        std::os::unix::fs::symlink(target, &path).doing("creating the symlink", &path)?;
        std::os::unix::fs::lchown(&path, Some(meta.uid), Some(meta.gid))
            .doing("setting the owner of", &path)?;
        if let Some(mtime) = meta.mtime {
            set_times_nofollow(&path, mtime).doing("setting the times of", &path)?;
        }
        Ok(())
    }

    fn hard_link(&mut self, rel: &Path, target: Option<&Path>) -> Result<(), EntryError> {
        let raw_target = target.unwrap_or(Path::new(""));
        let shown = display(raw_target);
        let target = normalize(raw_target).map_err(|_| EntryProblem::LinkOutside(shown.clone()))?;
        if target.as_os_str().is_empty() {
            return Err(EntryProblem::LinkTargetMissing(shown).into());
        }
        if target == rel {
            return Ok(());
        }
        if !self.parents_are_dirs(&target) {
            return Err(EntryProblem::LinkTargetMissing(shown).into());
        }
        let target_path = self.root.join(&target);
        match fs::symlink_metadata(&target_path) {
            Ok(found) if found.is_dir() => return Err(EntryProblem::LinkToDirectory(shown).into()),
            Ok(_) => {}
            Err(_) => return Err(EntryProblem::LinkTargetMissing(shown).into()),
        }
        self.ensure_parents(rel)?;
        self.clear(rel)?;
        let path = self.root.join(rel);
        fs::hard_link(&target_path, &path).doing("creating the hard link", &path)?;
        Ok(())
    }

    /// Whether every parent of `rel` is a real directory (nothing is created).
    fn parents_are_dirs(&self, rel: &Path) -> bool {
        let Some(parent) = rel.parent() else {
            return true;
        };
        let mut current = PathBuf::new();
        parent.components().all(|component| {
            current.push(component);
            self.dirs.contains(&current)
                || fs::symlink_metadata(self.root.join(&current)).is_ok_and(|found| found.is_dir())
        })
    }

    fn whiteout(&mut self, rel: &Path) -> Result<(), ImageError> {
        self.clear(rel)?;
        let path = self.root.join(rel);
        make_whiteout(&path).doing("creating the whiteout", &path)
    }

    /// Applies the directories' metadata, deepest first.
    fn finish(self) -> Result<(), ImageError> {
        let mut deferred: Vec<_> = self.deferred.into_iter().collect();
        deferred.sort_by_key(|(rel, _)| std::cmp::Reverse(rel.components().count()));
        for (rel, meta) in deferred {
            let path = self.root.join(&rel);
            let is_dir = fs::symlink_metadata(&path).is_ok_and(|found| found.is_dir());
            if !is_dir {
                continue;
            }
            std::os::unix::fs::lchown(&path, Some(meta.uid), Some(meta.gid))
                .doing("setting the owner of", &path)?;
            fs::set_permissions(&path, Permissions::from_mode(meta.mode))
                .doing("setting the mode of", &path)?;
            if let Some(mtime) = meta.mtime {
                set_times_nofollow(&path, mtime).doing("setting the times of", &path)?;
            }
        }
        Ok(())
    }
}

/// A problem of one entry: refused as unsafe, or a failure to write it.
enum EntryError {
    Unsafe(EntryProblem),
    Image(ImageError),
}

impl EntryError {
    fn on(self, entry: &str) -> ImageError {
        match self {
            EntryError::Unsafe(problem) => ImageError::UnsafeEntry {
                what: WHAT,
                entry: entry.to_string(),
                problem,
            },
            EntryError::Image(err) => err,
        }
    }
}

impl From<EntryProblem> for EntryError {
    fn from(problem: EntryProblem) -> Self {
        EntryError::Unsafe(problem)
    }
}

impl From<ImageError> for EntryError {
    fn from(err: ImageError) -> Self {
        EntryError::Image(err)
    }
}

/// The path made relative and normalized; `..` anywhere is refused.
pub(crate) fn normalize(path: &Path) -> Result<PathBuf, EntryProblem> {
    let mut normal = PathBuf::new();
    for component in path.components() {
        match component {
            Component::Normal(part) => normal.push(part),
            Component::CurDir | Component::RootDir | Component::Prefix(_) => {}
            Component::ParentDir => return Err(EntryProblem::ParentComponent),
        }
    }
    Ok(normal)
}

fn display(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

enum MetaError {
    Read(io::Error),
    Id(u64),
}

/// The entry's metadata; a PAX `mtime` (which may carry a fraction) wins over the
/// header's (tar already applies PAX `uid` and `gid`).
fn meta<R: Read>(entry: &mut tar::Entry<R>) -> Result<Meta, MetaError> {
    let header = entry.header();
    let id = |value: u64| u32::try_from(value).map_err(|_| MetaError::Id(value));
    let mode = header.mode().map_err(MetaError::Read)? & 0o7777;
    let uid = id(header.uid().map_err(MetaError::Read)?)?;
    let gid = id(header.gid().map_err(MetaError::Read)?)?;
    let mut mtime = UNIX_EPOCH + Duration::from_secs(header.mtime().map_err(MetaError::Read)?);
    if let Some(extensions) = entry.pax_extensions().map_err(MetaError::Read)? {
        for extension in extensions {
            let extension = extension.map_err(MetaError::Read)?;
            if extension.key_bytes() == b"mtime" {
                if let Some(time) = std::str::from_utf8(extension.value_bytes())
                    .ok()
                    .and_then(pax_time)
                {
                    mtime = time;
                }
            }
        }
    }
    Ok(Meta {
        mode,
        uid,
        gid,
        mtime: Some(mtime),
    })
}

/// A PAX time: decimal seconds since the epoch, maybe negative, maybe with a fraction.
fn pax_time(text: &str) -> Option<SystemTime> {
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (secs, fraction) = digits.split_once('.').unwrap_or((digits, ""));
    if secs.is_empty() || !secs.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let secs: u64 = secs.parse().ok()?;
    let nanos = fraction
        .bytes()
        .chain(std::iter::repeat(b'0'))
        .take(9)
        .fold(0u32, |acc, digit| acc * 10 + u32::from(digit - b'0'));
    let offset = Duration::new(secs, nanos);
    if negative {
        UNIX_EPOCH.checked_sub(offset)
    } else {
        UNIX_EPOCH.checked_add(offset)
    }
}

fn device<R: Read>(entry: &tar::Entry<R>) -> Option<(u32, u32)> {
    let header = entry.header();
    Some((header.device_major().ok()??, header.device_minor().ok()??))
}

/// Copies the entry's data to `file`, telling read failures (a bad archive) from write
/// failures (a problem on this host).
fn copy<R: Read>(
    entry: &mut tar::Entry<R>,
    file: &mut File,
    path: &Path,
) -> Result<u64, ImageError> {
    let mut buf = vec![0u8; 64 * 1024];
    let mut total = 0u64;
    loop {
        let n = match entry.read(&mut buf) {
            Ok(0) => return Ok(total),
            Ok(n) => n,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
            Err(err) => return Err(read_error(err)),
        };
        file.write_all(buf.get(..n).unwrap_or_default())
            .doing("writing", path)?;
        total += n as u64;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::{FileTypeExt, MetadataExt};
    use tar::Header;

    /// An entry with any name and link name, written byte for byte (tar's own builder
    /// refuses the malicious ones we need).
    fn raw(
        builder: &mut tar::Builder<Vec<u8>>,
        kind: EntryType,
        name: &str,
        link: &str,
        data: &[u8],
    ) {
        raw_with(builder, kind, name, link, data, |_| {});
    }

    fn raw_with(
        builder: &mut tar::Builder<Vec<u8>>,
        kind: EntryType,
        name: &str,
        link: &str,
        data: &[u8],
        adjust: impl FnOnce(&mut Header),
    ) {
        let mut header = Header::new_gnu();
        header.set_entry_type(kind);
        header.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
        header.as_old_mut().linkname[..link.len()].copy_from_slice(link.as_bytes());
        header.set_size(data.len() as u64);
        header.set_mode(if kind == EntryType::Directory {
            0o755
        } else {
            0o644
        });
        header.set_mtime(1_600_000_000);
        header.set_uid(0);
        header.set_gid(0);
        adjust(&mut header);
        header.set_cksum();
        builder.append(&header, data).unwrap();
    }

    fn tarball(build: impl FnOnce(&mut tar::Builder<Vec<u8>>)) -> Vec<u8> {
        let mut builder = tar::Builder::new(Vec::new());
        build(&mut builder);
        builder.into_inner().unwrap()
    }

    fn unpack_into(tar: &[u8]) -> (tempfile::TempDir, Result<(), ImageError>) {
        let dir = tempfile::tempdir().unwrap();
        let result = unpack(tar, dir.path());
        (dir, result)
    }

    fn unsafe_problem(result: Result<(), ImageError>) -> (String, EntryProblem) {
        match result {
            Err(ImageError::UnsafeEntry { entry, problem, .. }) => (entry, problem),
            other => panic!("expected an unsafe entry, got {other:?}"),
        }
    }

    #[test]
    fn paths_are_made_relative_and_dotdot_is_refused() {
        assert_eq!(
            normalize(Path::new("/etc/passwd")).unwrap(),
            Path::new("etc/passwd")
        );
        assert_eq!(
            normalize(Path::new("./a//b/./c/")).unwrap(),
            Path::new("a/b/c")
        );
        assert_eq!(normalize(Path::new("./")).unwrap(), Path::new(""));
        assert_eq!(
            normalize(Path::new("a/../b")),
            Err(EntryProblem::ParentComponent)
        );
    }

    #[test]
    fn pax_times_take_fractions_and_signs() {
        assert_eq!(
            pax_time("12.5"),
            Some(UNIX_EPOCH + Duration::new(12, 500_000_000))
        );
        assert_eq!(pax_time("7"), Some(UNIX_EPOCH + Duration::from_secs(7)));
        assert_eq!(
            pax_time("-1.25"),
            UNIX_EPOCH.checked_sub(Duration::new(1, 250_000_000))
        );
        assert_eq!(
            pax_time("1.0000000019"),
            Some(UNIX_EPOCH + Duration::new(1, 1))
        );
        assert_eq!(pax_time("x"), None);
        assert_eq!(pax_time("1.x"), None);
        assert_eq!(pax_time(""), None);
    }

    #[test]
    fn files_keep_mode_owner_setuid_and_mtime() {
        let tar = tarball(|b| {
            raw_with(b, EntryType::Regular, "bin/su", "", b"#!", |h| {
                h.set_mode(0o4755);
                h.set_uid(1000);
                h.set_gid(2000);
            });
            raw_with(b, EntryType::Directory, "bin/", "", b"", |h| {
                h.set_mode(0o750);
                h.set_mtime(1_500_000_000);
            });
            raw_with(b, EntryType::Symlink, "bin/sh", "su", b"", |h| h.set_uid(7));
            raw_with(b, EntryType::Directory, "./", "", b"", |h| {
                h.set_mode(0o700)
            });
        });
        let (dir, result) = unpack_into(&tar);
        result.unwrap();
        let su = fs::symlink_metadata(dir.path().join("bin/su")).unwrap();
        assert_eq!(su.mode() & 0o7777, 0o4755);
        assert_eq!((su.uid(), su.gid()), (1000, 2000));
        assert_eq!(su.mtime(), 1_600_000_000);
        let bin = fs::symlink_metadata(dir.path().join("bin")).unwrap();
        assert_eq!(bin.mode() & 0o7777, 0o750);
        assert_eq!(bin.mtime(), 1_500_000_000);
        let sh = fs::symlink_metadata(dir.path().join("bin/sh")).unwrap();
        assert!(sh.file_type().is_symlink());
        assert_eq!(sh.uid(), 7);
        assert_eq!(sh.mtime(), 1_600_000_000);
        assert_eq!(
            fs::read_link(dir.path().join("bin/sh")).unwrap(),
            Path::new("su")
        );
        let root = fs::symlink_metadata(dir.path()).unwrap();
        assert_eq!(root.mode() & 0o7777, 0o700);
    }

    #[test]
    fn the_layer_root_is_0755_without_a_root_entry_and_parents_are_made() {
        let tar = tarball(|b| raw(b, EntryType::Regular, "a/b/c", "", b"x"));
        let (dir, result) = unpack_into(&tar);
        result.unwrap();
        assert_eq!(
            fs::symlink_metadata(dir.path()).unwrap().mode() & 0o7777,
            0o755
        );
        assert_eq!(
            fs::symlink_metadata(dir.path().join("a/b")).unwrap().mode() & 0o7777,
            0o755
        );
        assert_eq!(fs::read(dir.path().join("a/b/c")).unwrap(), b"x");
    }

    #[test]
    fn a_later_entry_replaces_an_earlier_one_without_following_it() {
        let outside = tempfile::tempdir().unwrap();
        let target = outside.path().join("victim");
        fs::write(&target, "untouched").unwrap();
        let tar = tarball(|b| {
            raw(b, EntryType::Symlink, "f", target.to_str().unwrap(), b"");
            raw(b, EntryType::Regular, "f", "", b"new");
            raw(b, EntryType::Directory, "d", "", b"");
            raw(b, EntryType::Regular, "d/inner", "", b"x");
            raw(b, EntryType::Regular, "d", "", b"file now");
        });
        let (dir, result) = unpack_into(&tar);
        result.unwrap();
        assert_eq!(fs::read(&target).unwrap(), b"untouched");
        assert_eq!(fs::read(dir.path().join("f")).unwrap(), b"new");
        assert_eq!(fs::read(dir.path().join("d")).unwrap(), b"file now");
    }

    #[test]
    fn whiteouts_and_opaque_directories_become_overlay_markers() {
        let tar = tarball(|b| {
            raw(b, EntryType::Regular, "etc/.wh.motd", "", b"");
            raw(b, EntryType::Regular, "var/cache/.wh..wh..opq", "", b"");
            raw(b, EntryType::Regular, "x/.wh..wh.plnk", "", b"");
            raw_with(b, EntryType::Char, "dev-style-whiteout", "", b"", |h| {
                h.set_device_major(0).unwrap();
                h.set_device_minor(0).unwrap();
            });
            raw_with(b, EntryType::Char, "dev/null", "", b"", |h| {
                h.set_device_major(1).unwrap();
                h.set_device_minor(3).unwrap();
            });
            raw(b, EntryType::Fifo, "run/fifo", "", b"");
        });
        let (dir, result) = unpack_into(&tar);
        result.unwrap();
        for whiteout in ["etc/motd", "dev-style-whiteout"] {
            let found = fs::symlink_metadata(dir.path().join(whiteout)).unwrap();
            assert!(found.file_type().is_char_device(), "{whiteout}");
            assert_eq!(found.rdev(), 0, "{whiteout}");
        }
        assert!(!dir.path().join("etc/.wh.motd").exists());
        let mut value = [0u8; 4];
        let cache = dir.path().join("var/cache");
        let len = rustix::fs::lgetxattr(&cache, "trusted.overlay.opaque", &mut value[..]).unwrap();
        assert_eq!(&value[..len], b"y");
        assert!(fs::read_dir(&cache).unwrap().next().is_none());
        assert!(fs::read_dir(dir.path().join("x")).unwrap().next().is_none());
        assert!(!dir.path().join("dev/null").exists());
        assert!(!dir.path().join("run/fifo").exists());
    }

    #[test]
    fn a_whiteout_of_no_valid_name_is_refused() {
        for name in ["a/.wh.", "a/.wh..", "a/.wh..."] {
            let tar = tarball(|b| raw(b, EntryType::Regular, name, "", b""));
            let (_dir, result) = unpack_into(&tar);
            assert_eq!(
                unsafe_problem(result),
                (name.to_string(), EntryProblem::BadWhiteout)
            );
        }
    }

    #[test]
    fn hard_links_point_inside_the_layer() {
        let tar = tarball(|b| {
            raw(b, EntryType::Regular, "bin/busybox", "", b"elf");
            raw(b, EntryType::Link, "bin/ls", "bin/busybox", b"");
            raw(b, EntryType::Link, "/bin/cat", "/bin/busybox", b"");
        });
        let (dir, result) = unpack_into(&tar);
        result.unwrap();
        let original = fs::metadata(dir.path().join("bin/busybox")).unwrap();
        for link in ["bin/ls", "bin/cat"] {
            assert_eq!(
                fs::metadata(dir.path().join(link)).unwrap().ino(),
                original.ino()
            );
        }
        let cases = [
            (
                "../../etc/passwd",
                EntryProblem::LinkOutside("../../etc/passwd".into()),
            ),
            ("missing", EntryProblem::LinkTargetMissing("missing".into())),
            ("d", EntryProblem::LinkToDirectory("d".into())),
            ("", EntryProblem::LinkTargetMissing(String::new())),
        ];
        for (target, problem) in cases {
            let tar = tarball(|b| {
                raw(b, EntryType::Directory, "d", "", b"");
                raw(b, EntryType::Link, "l", target, b"");
            });
            let (_dir, result) = unpack_into(&tar);
            assert_eq!(
                unsafe_problem(result),
                ("l".to_string(), problem),
                "{target}"
            );
        }
    }

    #[test]
    fn a_hard_link_through_a_symlinked_directory_is_refused() {
        let outside = tempfile::tempdir().unwrap();
        fs::write(outside.path().join("secret"), "s").unwrap();
        let tar = tarball(|b| {
            raw(
                b,
                EntryType::Symlink,
                "out",
                outside.path().to_str().unwrap(),
                b"",
            );
            raw(b, EntryType::Link, "stolen", "out/secret", b"");
        });
        let (dir, result) = unpack_into(&tar);
        assert_eq!(
            unsafe_problem(result),
            (
                "stolen".into(),
                EntryProblem::LinkTargetMissing("out/secret".into())
            )
        );
        assert!(!dir.path().join("stolen").exists());
    }

    #[test]
    fn a_truncated_stream_is_an_error() {
        let tar = tarball(|b| raw(b, EntryType::Regular, "f", "", &[7u8; 2000]));
        // Cut inside the data, at the end of the data, and at the end of the entry.
        for cut in [1000, 512 + 2000, 512 + 2048] {
            let (_dir, result) = unpack_into(&tar[..cut]);
            assert!(
                matches!(
                    result,
                    Err(ImageError::Read { .. } | ImageError::Truncated { .. })
                ),
                "cut at {cut}: {result:?}"
            );
        }
        let (_dir, result) = unpack_into(b"");
        assert!(matches!(
            result,
            Err(ImageError::Truncated { what: "layer" })
        ));
    }

    #[test]
    fn unknown_entry_types_and_huge_ids_are_refused() {
        let tar = tarball(|b| raw(b, EntryType::new(b'Z'), "odd", "", b""));
        let (_dir, result) = unpack_into(&tar);
        assert_eq!(
            unsafe_problem(result),
            ("odd".into(), EntryProblem::UnknownType('Z'))
        );
        let tar = tarball(|b| {
            raw_with(b, EntryType::Regular, "big", "", b"", |h| {
                h.set_uid(1 << 40)
            });
        });
        let (_dir, result) = unpack_into(&tar);
        assert_eq!(
            unsafe_problem(result),
            ("big".into(), EntryProblem::IdOutOfRange(1 << 40))
        );
    }
}
