//! Docker's copy-up of a new volume: before a named volume is first mounted, the image's
//! content at its target is copied into it, so that `/var/lib/mysql` of the image is in
//! the volume the database then finds there. Done by the container's PID 1 before it
//! binds the volume, with nothing of the container running yet.
//!
//! The copy keeps modes, owners, timestamps and symlinks (as links: never followed),
//! and makes device nodes and FIFOs anew; sockets are skipped. Hard links become
//! separate copies and extended attributes are not copied.

use super::fs::set_times_nofollow;
use nix::sys::stat::{mknod, Mode, SFlag};
use std::fs::{self, File, FileTimes, Metadata};
use std::io;
use std::os::unix::fs::{lchown, symlink, FileTypeExt, MetadataExt, PermissionsExt};
use std::path::Path;

/// Copies the directory `from` (a host path already resolved inside the root
/// filesystem: it is not followed if it is a symlink) into `volume` when `volume` is an
/// empty directory, and gives `volume` the owner and mode of `from`, as Docker does.
/// Returns whether it copied: nothing happens when `from` is no directory (or does not
/// exist) or `volume` is no empty directory.
pub(crate) fn copy_up(from: &Path, volume: &Path) -> io::Result<bool> {
    let source = match from.symlink_metadata() {
        Ok(meta) if meta.is_dir() => meta,
        Ok(_) => return Ok(false),
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(false),
        Err(err) => return Err(err),
    };
    if !fs::metadata(volume)?.is_dir() || fs::read_dir(volume)?.next().is_some() {
        return Ok(false);
    }
    copy_children(from, volume)?;
    lchown(volume, Some(source.uid()), Some(source.gid()))?;
    fs::set_permissions(volume, fs::Permissions::from_mode(source.mode() & 0o7777))?;
    Ok(true)
}

/// Copies every entry of the directory `from` into the existing directory `to`.
fn copy_children(from: &Path, to: &Path) -> io::Result<()> {
    for entry in fs::read_dir(from)? {
        let entry = entry?;
        let meta = entry.metadata()?; // lstat: a symlink stays a symlink
        copy_entry(&entry.path(), &to.join(entry.file_name()), &meta)?;
    }
    Ok(())
}

/// Copies one entry and what it contains; `meta` is its `lstat`.
fn copy_entry(from: &Path, to: &Path, meta: &Metadata) -> io::Result<()> {
    let kind = meta.file_type();
    let node = |flag: SFlag| {
        let permissions = Mode::from_bits_truncate(meta.mode() & 0o7777);
        mknod(to, flag, permissions, meta.rdev()).map_err(io::Error::from)
    };
    if kind.is_dir() {
        fs::create_dir(to)?;
        copy_children(from, to)?;
    } else if kind.is_symlink() {
        symlink(fs::read_link(from)?, to)?;
    } else if kind.is_file() {
        fs::copy(from, to)?;
    } else if kind.is_fifo() {
        node(SFlag::S_IFIFO)?;
    } else if kind.is_char_device() {
        node(SFlag::S_IFCHR)?;
    } else if kind.is_block_device() {
        node(SFlag::S_IFBLK)?;
    } else {
        // A socket: only meaningful to the process that bound it.
        return Ok(());
    }
    lchown(to, Some(meta.uid()), Some(meta.gid()))?;
    if kind.is_symlink() {
        // A symlink has no mode of its own.
        return set_times_nofollow(to, meta.modified()?);
    }
    // After the chown, which clears setuid and setgid bits.
    fs::set_permissions(to, fs::Permissions::from_mode(meta.mode() & 0o7777))?;
    if kind.is_file() || kind.is_dir() {
        let times = FileTimes::new()
            .set_accessed(meta.accessed()?)
            .set_modified(meta.modified()?);
        File::open(to)?.set_times(times)
    } else {
        // Opening a FIFO or a device would block or reach the device.
        set_times_nofollow(to, meta.modified()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    fn mtime(path: &Path) -> (i64, i64) {
        let meta = path.symlink_metadata().unwrap();
        (meta.mtime(), meta.mtime_nsec())
    }

    /// An image directory: a file, a private subdirectory with a file, symlinks out of
    /// the root (kept as they are), a FIFO; all with old timestamps.
    fn image(dir: &Path) {
        let data = dir.join("var/lib/db");
        fs::create_dir_all(data.join("private")).unwrap();
        fs::write(data.join("conf"), "port=5432\n").unwrap();
        fs::write(data.join("private/key"), "secret\n").unwrap();
        symlink("/etc/passwd", data.join("abs")).unwrap();
        symlink("../../../../../host", data.join("up")).unwrap();
        mknod(
            &data.join("fifo"),
            SFlag::S_IFIFO,
            Mode::from_bits_truncate(0o620),
            0,
        )
        .unwrap();
        fs::set_permissions(data.join("conf"), fs::Permissions::from_mode(0o640)).unwrap();
        fs::set_permissions(data.join("fifo"), fs::Permissions::from_mode(0o620)).unwrap();
        fs::set_permissions(data.join("private"), fs::Permissions::from_mode(0o700)).unwrap();
        fs::set_permissions(&data, fs::Permissions::from_mode(0o750)).unwrap();
        let old = UNIX_EPOCH + Duration::new(1_000_000_000, 7);
        for path in ["conf", "private/key", "abs", "fifo", "private"] {
            set_times_nofollow(&data.join(path), old).unwrap();
        }
    }

    #[test]
    fn an_empty_volume_gets_the_image_content() {
        let dir = tempfile::tempdir().unwrap();
        image(dir.path());
        let from = dir.path().join("var/lib/db");
        let volume = dir.path().join("volume");
        fs::create_dir(&volume).unwrap();
        let root = nix::unistd::geteuid().is_root();
        if root {
            lchown(from.join("private/key"), Some(999), Some(998)).unwrap();
            lchown(from.join("abs"), Some(997), Some(996)).unwrap();
        }
        assert!(copy_up(&from, &volume).unwrap());

        let mode = |path: &str| fs::symlink_metadata(volume.join(path)).unwrap().mode() & 0o7777;
        assert_eq!(mode(""), 0o750);
        assert_eq!(mode("conf"), 0o640);
        assert_eq!(mode("private"), 0o700);
        assert_eq!(mode("fifo"), 0o620);
        assert!(fs::symlink_metadata(volume.join("fifo"))
            .unwrap()
            .file_type()
            .is_fifo());
        assert_eq!(
            fs::read_to_string(volume.join("private/key")).unwrap(),
            "secret\n"
        );
        assert_eq!(
            fs::read_link(volume.join("abs")).unwrap(),
            Path::new("/etc/passwd")
        );
        assert_eq!(
            fs::read_link(volume.join("up")).unwrap(),
            Path::new("../../../../../host")
        );
        for path in ["conf", "private/key", "abs", "fifo", "private"] {
            assert_eq!(mtime(&volume.join(path)), (1_000_000_000, 7), "{path}");
        }
        if root {
            let owner = |path: &str| {
                let meta = fs::symlink_metadata(volume.join(path)).unwrap();
                (meta.uid(), meta.gid())
            };
            assert_eq!(owner("private/key"), (999, 998));
            assert_eq!(owner("abs"), (997, 996));
        }
    }

    #[test]
    fn a_volume_with_content_or_a_missing_source_is_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        image(dir.path());
        let from = dir.path().join("var/lib/db");
        let volume = dir.path().join("volume");
        fs::create_dir(&volume).unwrap();
        fs::write(volume.join("mine"), "keep\n").unwrap();
        assert!(!copy_up(&from, &volume).unwrap());
        let names: Vec<_> = fs::read_dir(&volume)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["mine"]);

        let empty = dir.path().join("empty");
        fs::create_dir(&empty).unwrap();
        assert!(!copy_up(&dir.path().join("nothing"), &empty).unwrap());
        assert!(!copy_up(&from.join("conf"), &empty).unwrap());
        // A symlink to a directory is not followed.
        symlink(&from, dir.path().join("link")).unwrap();
        assert!(!copy_up(&dir.path().join("link"), &empty).unwrap());
        assert_eq!(fs::read_dir(&empty).unwrap().count(), 0);
    }
}
