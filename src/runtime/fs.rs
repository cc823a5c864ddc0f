//! File-system calls that std does not offer: the overlayfs markers that image layers
//! carry (whiteouts and opaque directories), timestamps of symlinks, and syncfs.
//!
//! None of these follow a symlink at the last component of the path they are given;
//! callers make sure no earlier component is a symlink.

use rustix::fs::{AtFlags, FileType, Mode, Timestamps, XattrFlags, CWD};
use std::io;
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

/// The extended attribute that makes an overlayfs directory opaque: the directories of
/// lower layers with the same path are hidden rather than merged.
pub const OPAQUE_XATTR: &str = "trusted.overlay.opaque";

/// Creates the overlayfs whiteout `path` (a character device 0:0 with no permissions):
/// in an overlay, it hides the entry of the same path in the layers below.
pub fn make_whiteout(path: &Path) -> io::Result<()> {
    rustix::fs::mknodat(
        CWD,
        path,
        FileType::CharacterDevice,
        Mode::empty(),
        rustix::fs::makedev(0, 0),
    )?;
    Ok(())
}

/// Marks the directory `dir` opaque for overlayfs (`trusted.overlay.opaque=y`). Needs
/// CAP_SYS_ADMIN, as every `trusted.` attribute does.
pub fn set_opaque(dir: &Path) -> io::Result<()> {
    rustix::fs::lsetxattr(dir, OPAQUE_XATTR, b"y", XattrFlags::empty())?;
    Ok(())
}

/// Sets the access and modification times of `path` to `time` without following it if
/// it is a symlink (std can set the times of open files only).
pub fn set_times_nofollow(path: &Path, time: SystemTime) -> io::Result<()> {
    let timestamp = timespec(time);
    let times = Timestamps {
        last_access: timestamp,
        last_modification: timestamp,
    };
    rustix::fs::utimensat(CWD, path, &times, AtFlags::SYMLINK_NOFOLLOW)?;
    Ok(())
}

/// Writes every dirty page of the file system that holds `dir` to disk: one call where
/// fsyncing each file of a freshly unpacked layer would take thousands.
pub fn sync_filesystem(dir: &Path) -> io::Result<()> {
    let dir = std::fs::File::open(dir)?;
    rustix::fs::syncfs(&dir)?;
    Ok(())
}

/// `time` as a kernel timespec; times before 1970 count back with a negative second
/// and a positive nanosecond part, as the kernel expects.
fn timespec(time: SystemTime) -> rustix::fs::Timespec {
    match time.duration_since(UNIX_EPOCH) {
        Ok(after) => rustix::fs::Timespec {
            tv_sec: i64::try_from(after.as_secs()).unwrap_or(i64::MAX),
            tv_nsec: i64::from(after.subsec_nanos()),
        },
        Err(before) => {
            let before = before.duration();
            let secs = i64::try_from(before.as_secs()).unwrap_or(i64::MAX);
            match before.subsec_nanos() {
                0 => rustix::fs::Timespec {
                    tv_sec: -secs,
                    tv_nsec: 0,
                },
                nanos => rustix::fs::Timespec {
                    tv_sec: -secs - 1,
                    tv_nsec: i64::from(1_000_000_000 - nanos),
                },
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::{FileTypeExt, MetadataExt};
    use std::time::Duration;

    #[test]
    fn a_whiteout_is_a_char_device_0_0_without_permissions() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("gone");
        make_whiteout(&path).unwrap();
        let meta = std::fs::symlink_metadata(&path).unwrap();
        assert!(meta.file_type().is_char_device());
        assert_eq!(meta.rdev(), 0);
        assert_eq!(meta.mode() & 0o7777, 0);
    }

    #[test]
    fn a_whiteout_does_not_replace_an_existing_entry() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("here");
        std::fs::write(&path, "x").unwrap();
        let err = make_whiteout(&path).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::AlreadyExists);
    }

    #[test]
    fn an_opaque_directory_carries_the_overlay_xattr() {
        let dir = tempfile::tempdir().unwrap();
        set_opaque(dir.path()).unwrap();
        let mut value = [0u8; 8];
        let len = rustix::fs::lgetxattr(dir.path(), OPAQUE_XATTR, &mut value[..]).unwrap();
        assert_eq!(&value[..len], b"y");
    }

    #[test]
    fn times_of_a_symlink_are_set_on_the_link_not_its_target() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("target");
        std::fs::write(&target, "x").unwrap();
        let target_mtime = std::fs::metadata(&target).unwrap().modified().unwrap();
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        let time = UNIX_EPOCH + Duration::new(1_000_000_000, 5);
        set_times_nofollow(&link, time).unwrap();
        let link_meta = std::fs::symlink_metadata(&link).unwrap();
        assert_eq!(link_meta.mtime(), 1_000_000_000);
        assert_eq!(link_meta.mtime_nsec(), 5);
        assert_eq!(
            std::fs::metadata(&target).unwrap().modified().unwrap(),
            target_mtime
        );
    }

    #[test]
    fn times_before_1970_count_back() {
        let time = UNIX_EPOCH - Duration::new(1, 250_000_000);
        let spec = timespec(time);
        assert_eq!((spec.tv_sec, spec.tv_nsec), (-2, 750_000_000));
        let spec = timespec(UNIX_EPOCH - Duration::from_secs(3));
        assert_eq!((spec.tv_sec, spec.tv_nsec), (-3, 0));
    }

    #[test]
    fn sync_filesystem_accepts_a_directory() {
        let dir = tempfile::tempdir().unwrap();
        sync_filesystem(dir.path()).unwrap();
        let err = sync_filesystem(&dir.path().join("missing")).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::NotFound);
    }
}
