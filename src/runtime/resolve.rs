//! Paths inside a root filesystem, resolved as if it were `/`: a symlink (absolute or
//! with `..`) never leads out of it. This is how mount targets are found before
//! `pivot_root`, while the host's tree is still visible.
//!
//! It reads the filesystem (`lstat`, `readlink`) but changes nothing, so it is tested
//! without root. No container process runs while the targets are resolved, so nothing
//! can swap a component for a symlink between the check and the mount.

use std::ffi::OsString;
use std::io;
use std::path::{Component, Path, PathBuf};

/// The most symlinks followed in one resolution, as the kernel (`MAXSYMLINKS`).
pub const MAX_SYMLINKS: usize = 40;

/// The host path of `path` (absolute or not, taken from `root`) inside `root`, with every
/// symlink resolved within `root`. Components that don't exist are kept as written (a
/// mount target may be created there). Errors: `ELOOP` for too many symlinks, or the
/// error of `lstat`/`readlink` other than "not found".
pub fn resolve_in_root(root: &Path, path: &Path) -> io::Result<PathBuf> {
    // Components still to walk, the next one last.
    let mut pending: Vec<OsString> = Vec::new();
    push_components(&mut pending, path);
    let mut resolved = PathBuf::new();
    let mut links = 0;
    while let Some(name) = pending.pop() {
        if name == ".." {
            resolved.pop();
            continue;
        }
        let candidate = root.join(&resolved).join(&name);
        match candidate.symlink_metadata() {
            Ok(meta) if meta.file_type().is_symlink() => {
                links += 1;
                if links > MAX_SYMLINKS {
                    return Err(io::Error::from_raw_os_error(nix::libc::ELOOP));
                }
                let target = candidate.read_link()?;
                if target.is_absolute() {
                    resolved.clear();
                }
                push_components(&mut pending, &target);
                continue;
            }
            Ok(_) => {}
            // Kept as written; a later `..` may lead back to existing components, which
            // are checked again.
            Err(err) if err.kind() == io::ErrorKind::NotFound => {}
            Err(err) => return Err(err),
        }
        resolved.push(name);
    }
    Ok(root.join(resolved))
}

/// Pushes the named components of `path` (and `..`) so that the first is popped first.
fn push_components(pending: &mut Vec<OsString>, path: &Path) {
    let names: Vec<OsString> = path
        .components()
        .filter_map(|c| match c {
            Component::Normal(name) => Some(name.to_os_string()),
            Component::ParentDir => Some(OsString::from("..")),
            Component::RootDir | Component::CurDir | Component::Prefix(_) => None,
        })
        .collect();
    pending.extend(names.into_iter().rev());
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
    use std::os::unix::fs::symlink;

    fn root() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        fs::create_dir_all(root.join("etc")).unwrap();
        fs::create_dir_all(root.join("usr/lib")).unwrap();
        symlink("/etc", root.join("abs")).unwrap();
        symlink("../../../../etc", root.join("usr/lib/up")).unwrap();
        symlink("lib", root.join("usr/rel")).unwrap();
        symlink("loop2", root.join("loop1")).unwrap();
        symlink("loop1", root.join("loop2")).unwrap();
        symlink("/nowhere/deep", root.join("dangling")).unwrap();
        dir
    }

    #[test]
    fn symlinks_stay_inside_the_root() {
        let dir = root();
        let root = dir.path();
        let cases = [
            ("/etc/hosts", "etc/hosts"),
            ("/abs", "etc"),
            ("/abs/passwd", "etc/passwd"),
            ("/usr/lib/up/passwd", "etc/passwd"),
            ("/usr/rel/x", "usr/lib/x"),
            ("/../../etc", "etc"),
            ("usr/./lib/..", "usr"),
            ("/dangling/file", "nowhere/deep/file"),
            ("/new/dir/../file", "new/file"),
            ("/new/../abs/passwd", "etc/passwd"),
            ("/", ""),
        ];
        for (path, expected) in cases {
            assert_eq!(
                resolve_in_root(root, Path::new(path)).unwrap(),
                root.join(expected),
                "{path}"
            );
        }
    }

    #[test]
    fn symlink_loops_are_eloop() {
        let dir = root();
        let err = resolve_in_root(dir.path(), Path::new("/loop1/x")).unwrap_err();
        assert_eq!(err.raw_os_error(), Some(nix::libc::ELOOP));
    }

    #[test]
    fn a_file_in_the_middle_is_an_error_of_the_mount_not_of_the_resolution() {
        let dir = root();
        fs::write(dir.path().join("etc/hosts"), "").unwrap();
        // lstat of etc/hosts/x fails with ENOTDIR: reported as is.
        let err = resolve_in_root(dir.path(), Path::new("/etc/hosts/x")).unwrap_err();
        assert_eq!(err.raw_os_error(), Some(nix::libc::ENOTDIR));
    }
}
