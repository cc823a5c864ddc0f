//! Executing the container's program: where it is looked up (pure), how failed attempts
//! become Docker's errors (pure), and the `execve` loop.

use super::error::ExecFailure;
use indexmap::IndexMap;
use nix::errno::Errno;
use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

/// The `PATH` used when the environment has none (runc's and Docker's default).
pub const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// The paths to try for `program`: the program itself when it contains a `/`, else the
/// program in each `PATH` directory in order (an empty entry is the working directory).
pub fn candidates(program: &str, path: Option<&str>) -> Vec<PathBuf> {
    if program.contains('/') {
        return vec![PathBuf::from(program)];
    }
    if program.is_empty() {
        return Vec::new();
    }
    path.unwrap_or(DEFAULT_PATH)
        .split(':')
        .map(|dir| PathBuf::from(if dir.is_empty() { "." } else { dir }).join(program))
        .collect()
}

/// Whether a failed `execve` of one candidate lets the search go on (as `execvp` does).
pub fn keeps_searching(errno: Errno) -> bool {
    matches!(errno, Errno::ENOENT | Errno::ENOTDIR | Errno::EACCES)
}

/// Docker's error for the failed attempts, in order (the search stops at the first
/// error that does not [keep searching](keeps_searching)). `direct` is true when the
/// program contains a `/` (it was not looked up in `PATH`).
pub fn failure(direct: bool, errors: &[Errno]) -> ExecFailure {
    if let Some(&errno) = errors.iter().find(|&&errno| !keeps_searching(errno)) {
        return ExecFailure::Errno(errno as i32);
    }
    if errors.contains(&Errno::EACCES) {
        ExecFailure::PermissionDenied
    } else if direct {
        ExecFailure::NotFound
    } else {
        ExecFailure::NotFoundInPath
    }
}

/// Replaces the process with `argv` (looked up in the environment's `PATH`) and the
/// environment `env`; returns only when that failed, with why.
pub(crate) fn execute(argv: &[String], env: &IndexMap<String, String>) -> ExecFailure {
    let Some(program) = argv.first() else {
        return ExecFailure::NotFoundInPath;
    };
    let args: Result<Vec<CString>, _> = argv.iter().map(|a| CString::new(a.as_str())).collect();
    let vars: Result<Vec<CString>, _> = env
        .iter()
        .map(|(name, value)| CString::new(format!("{name}={value}")))
        .collect();
    // The spec was validated: no NUL can be there.
    let (Ok(args), Ok(vars)) = (args, vars) else {
        return ExecFailure::Errno(Errno::EINVAL as i32);
    };
    let mut errors = Vec::new();
    for candidate in candidates(program, env.get("PATH").map(String::as_str)) {
        let Ok(path) = CString::new(candidate.as_os_str().as_bytes()) else {
            continue;
        };
        let errno = match nix::unistd::execve(&path, &args, &vars) {
            Err(errno) => errno,
            Ok(never) => match never {},
        };
        errors.push(errno);
        if !keeps_searching(errno) {
            break;
        }
    }
    failure(program.contains('/'), &errors)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_candidates() {
        assert_eq!(
            candidates("/bin/sh", Some("/x")),
            [PathBuf::from("/bin/sh")]
        );
        assert_eq!(candidates("./run", None), [PathBuf::from("./run")]);
        assert_eq!(
            candidates("sh", Some("/usr/bin::/bin")),
            [
                PathBuf::from("/usr/bin/sh"),
                PathBuf::from("./sh"),
                PathBuf::from("/bin/sh")
            ]
        );
        assert_eq!(candidates("sh", None).len(), 6);
        assert_eq!(candidates("sh", None)[5], PathBuf::from("/bin/sh"));
        assert!(candidates("", None).is_empty());
    }

    #[test]
    fn failures_as_docker_reports_them() {
        use Errno::*;
        let cases: [(bool, &[Errno], ExecFailure); 7] = [
            (false, &[], ExecFailure::NotFoundInPath),
            (
                false,
                &[ENOENT, ENOTDIR, ENOENT],
                ExecFailure::NotFoundInPath,
            ),
            (
                false,
                &[ENOENT, EACCES, ENOENT],
                ExecFailure::PermissionDenied,
            ),
            (
                false,
                &[ENOENT, ENOEXEC],
                ExecFailure::Errno(ENOEXEC as i32),
            ),
            (true, &[ENOENT], ExecFailure::NotFound),
            (true, &[EACCES], ExecFailure::PermissionDenied),
            (true, &[E2BIG], ExecFailure::Errno(E2BIG as i32)),
        ];
        for (direct, errors, expected) in cases {
            assert_eq!(failure(direct, errors), expected, "{direct} {errors:?}");
        }
    }
}
