//! Lexical path cleaning, as compose does it (Go's `path.Clean`): no file-system access,
//! symbolic links are not followed.

use std::path::{Component, Path, PathBuf};

/// Removes `.` components, doubled and trailing separators, and resolves `..` against
/// the preceding component: `/a/./b/../c` is `/a/c`; `..` above the root of an
/// absolute path is dropped (`/../x` is `/x`), kept in a relative one (`a/../../b` is
/// `../b`); an empty result is `.`.
pub fn clean(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => match out.components().next_back() {
                Some(Component::Normal(_)) => {
                    out.pop();
                }
                Some(Component::RootDir | Component::Prefix(_)) => {}
                _ => out.push(".."),
            },
            other => out.push(other),
        }
    }
    if out.as_os_str().is_empty() {
        out.push(".");
    }
    out
}

/// [`clean`] for paths held as text (bind sources, mount targets).
pub fn clean_str(path: &str) -> String {
    clean(Path::new(path)).to_string_lossy().into_owned()
}

/// `path` made absolute against `base` (itself absolute), then cleaned.
pub fn absolute(base: &Path, path: &Path) -> PathBuf {
    clean(&base.join(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cleans_lexically() {
        for (path, clean) in [
            ("/a/./b/../c", "/a/c"),
            ("/app/./a/../b/", "/app/b"),
            ("/../x", "/x"),
            ("//a//b", "/a/b"),
            ("/", "/"),
            ("a/../../b", "../b"),
            ("./", "."),
            (".", "."),
            ("", "."),
        ] {
            assert_eq!(clean_str(path), clean, "{path:?}");
        }
    }

    #[test]
    fn absolute_joins_then_cleans() {
        let cwd = Path::new("/a/b");
        assert_eq!(
            absolute(cwd, Path::new("../c/./d")),
            PathBuf::from("/a/c/d")
        );
        assert_eq!(absolute(cwd, Path::new("/x/../y")), PathBuf::from("/y"));
        assert_eq!(absolute(cwd, Path::new("../../../..")), PathBuf::from("/"));
    }
}
