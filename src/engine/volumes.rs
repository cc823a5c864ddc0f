//! Named volumes: a directory each under the root (`<volumes>/<name>/_data`, as Docker's
//! `local` driver lays them out), recorded in the state database.
//!
//! A volume is recorded before its directory is made and its directory removed before
//! its record, so that after a crash a record may lack its directory (made again by the
//! next `create`) but a directory never lacks its record.

use super::protocol::VolumeSummary;
use super::state::{State, StateError, VolumeRecord};
use crate::runtime::logfile::format_time;
use std::collections::BTreeMap;
use std::io;
use std::path::PathBuf;
use std::time::SystemTime;

/// The volumes of one root.
#[derive(Clone, Debug)]
pub struct Volumes {
    dir: PathBuf,
}

impl Volumes {
    /// The volumes kept under `dir` (the layout's `volumes()`).
    pub fn new(dir: PathBuf) -> Volumes {
        Volumes { dir }
    }

    /// The directory holding the volume's data: `<dir>/<name>/_data`.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name).join("_data")
    }

    /// Makes the volume unless it exists (then its record is returned as it is). The
    /// flag says whether it is new: not recorded before, or recorded without its
    /// directory (a crash came in between), so empty either way.
    pub fn create(
        &self,
        state: &State,
        name: &str,
        project: Option<&str>,
        labels: BTreeMap<String, String>,
    ) -> Result<(VolumeRecord, bool), VolumeError> {
        check_name(name)?;
        let path = self.path(name);
        let (record, recorded) = match state.volume(name)? {
            Some(record) => (record, true),
            None => {
                let record = VolumeRecord {
                    name: name.to_string(),
                    project: project.map(str::to_string),
                    created: format_time(SystemTime::now()),
                    labels,
                };
                state.put_volume(&record)?;
                (record, false)
            }
        };
        let had_dir = path.is_dir();
        if !had_dir {
            std::fs::create_dir_all(&path).map_err(|source| VolumeError::Io {
                action: "creating the directory of",
                name: name.to_string(),
                path: path.clone(),
                source,
            })?;
        }
        Ok((record, !recorded || !had_dir))
    }

    /// Removes the volume and its data; refused while a container record lists it.
    pub fn remove(&self, state: &State, name: &str) -> Result<(), VolumeError> {
        self.remove_unless_used(state, name, None)
    }

    /// As [`Volumes::remove`], not counting the container `except` (the one whose
    /// preparation made the volume and now undoes it) as a user.
    pub(super) fn remove_unless_used(
        &self,
        state: &State,
        name: &str,
        except: Option<&str>,
    ) -> Result<(), VolumeError> {
        check_name(name)?;
        if state.volume(name)?.is_none() {
            return Err(VolumeError::NotFound {
                name: name.to_string(),
            });
        }
        let users: Vec<String> = state
            .containers()?
            .into_iter()
            .filter(|c| Some(c.id.as_str()) != except && c.volumes.iter().any(|v| v == name))
            .map(|c| c.name)
            .collect();
        if !users.is_empty() {
            return Err(VolumeError::InUse {
                name: name.to_string(),
                containers: users.join(", "),
            });
        }
        let dir = self.dir.join(name);
        match std::fs::remove_dir_all(&dir) {
            Ok(()) => {}
            Err(err) if err.kind() == io::ErrorKind::NotFound => {}
            Err(source) => {
                return Err(VolumeError::Io {
                    action: "removing",
                    name: name.to_string(),
                    path: dir,
                    source,
                })
            }
        }
        state.remove_volume(name)?;
        Ok(())
    }

    /// The volume as `volume ls` shows it.
    pub fn summary(&self, r: &VolumeRecord) -> VolumeSummary {
        VolumeSummary {
            name: r.name.clone(),
            driver: "local".to_string(),
            project: r.project.clone(),
            mountpoint: self.path(&r.name).to_string_lossy().into_owned(),
            created: r.created.clone(),
            labels: r.labels.clone(),
        }
    }
}

/// Docker's rule for volume names (`[a-zA-Z0-9][a-zA-Z0-9_.-]+`), which also keeps a name
/// one plain component of a path.
fn check_name(name: &str) -> Result<(), VolumeError> {
    let mut chars = name.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphanumeric());
    let rest_ok = chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
    if first_ok && rest_ok && name.len() >= 2 {
        Ok(())
    } else {
        Err(VolumeError::InvalidName {
            name: name.to_string(),
        })
    }
}

/// A volume operation that failed.
#[derive(Debug, thiserror::Error)]
pub enum VolumeError {
    /// A name Docker would refuse (and that could leave the volumes directory).
    #[error(
        "invalid volume name {name:?}: a volume name has at least two characters, starts \
         with a letter or digit and has only letters, digits, `_`, `.` and `-`"
    )]
    InvalidName { name: String },
    /// No such volume.
    #[error("no such volume: {name} (`rcompose volume ls` lists the volumes)")]
    NotFound { name: String },
    /// Containers use it.
    #[error(
        "volume {name} is in use by container {containers}: remove the container first, \
         then the volume"
    )]
    InUse { name: String, containers: String },
    /// Its directory can't be made or removed.
    #[error("{action} volume {name} at {}: {source}", path.display())]
    Io {
        /// `creating the directory of`, `removing`.
        action: &'static str,
        name: String,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// The state database failed.
    #[error(transparent)]
    State(#[from] StateError),
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::state::tests::put_user;

    struct Setup {
        dir: tempfile::TempDir,
        state: State,
        volumes: Volumes,
    }

    fn setup() -> Setup {
        let dir = tempfile::tempdir().unwrap();
        let state = State::open(&dir.path().join("state.redb")).unwrap();
        let volumes = Volumes::new(dir.path().join("volumes"));
        Setup {
            dir,
            state,
            volumes,
        }
    }

    fn labels() -> BTreeMap<String, String> {
        BTreeMap::from([("com.docker.compose.project".to_string(), "demo".to_string())])
    }

    #[test]
    fn create_is_idempotent() {
        let s = setup();
        let (first, new) = s
            .volumes
            .create(&s.state, "demo_data", Some("demo"), labels())
            .unwrap();
        assert!(new);
        assert_eq!(first.name, "demo_data");
        assert_eq!(first.project.as_deref(), Some("demo"));
        assert_eq!(first.labels, labels());
        let data = s.dir.path().join("volumes/demo_data/_data");
        assert_eq!(s.volumes.path("demo_data"), data);
        assert!(data.is_dir());
        assert_eq!(s.state.volume("demo_data").unwrap(), Some(first.clone()));

        std::fs::write(data.join("kept"), "x").unwrap();
        let (again, new) = s
            .volumes
            .create(&s.state, "demo_data", None, BTreeMap::new())
            .unwrap();
        assert!(!new);
        assert_eq!(again, first);
        assert_eq!(std::fs::read_to_string(data.join("kept")).unwrap(), "x");
    }

    #[test]
    fn a_record_without_its_directory_is_made_whole_as_new() {
        let s = setup();
        let (record, _) = s
            .volumes
            .create(&s.state, "demo_data", Some("demo"), labels())
            .unwrap();
        std::fs::remove_dir_all(s.dir.path().join("volumes/demo_data")).unwrap();
        let (again, new) = s
            .volumes
            .create(&s.state, "demo_data", Some("demo"), labels())
            .unwrap();
        assert!(new);
        assert_eq!(again, record);
        assert!(s.volumes.path("demo_data").is_dir());
    }

    #[test]
    fn names_docker_refuses_are_refused() {
        let s = setup();
        for name in ["", "a", "../x", "_x", "a/b", "a b", ".."] {
            let err = s
                .volumes
                .create(&s.state, name, None, BTreeMap::new())
                .unwrap_err();
            assert_eq!(
                err.to_string(),
                format!(
                    "invalid volume name {name:?}: a volume name has at least two characters, \
                     starts with a letter or digit and has only letters, digits, `_`, `.` and `-`"
                )
            );
        }
        assert!(!s.dir.path().join("volumes").exists());
        assert_eq!(s.state.volumes().unwrap(), vec![]);
    }

    #[test]
    fn remove_is_refused_while_a_container_uses_the_volume() {
        let s = setup();
        s.volumes
            .create(&s.state, "demo_data", Some("demo"), labels())
            .unwrap();
        put_user(&s.state, "c1", &["demo_data"]);
        put_user(&s.state, "c2", &["other", "demo_data"]);
        put_user(&s.state, "c3", &["other"]);
        let err = s.volumes.remove(&s.state, "demo_data").unwrap_err();
        assert_eq!(
            err.to_string(),
            "volume demo_data is in use by container demo-web-c1, demo-web-c2: remove the \
             container first, then the volume"
        );
        assert!(s.volumes.path("demo_data").is_dir());

        s.state.remove_container("c1").unwrap();
        s.state.remove_container("c2").unwrap();
        s.volumes.remove(&s.state, "demo_data").unwrap();
        assert!(!s.dir.path().join("volumes/demo_data").exists());
        assert_eq!(s.state.volume("demo_data").unwrap(), None);

        let err = s.volumes.remove(&s.state, "demo_data").unwrap_err();
        assert_eq!(
            err.to_string(),
            "no such volume: demo_data (`rcompose volume ls` lists the volumes)"
        );
    }

    #[test]
    fn summary_is_what_volume_ls_shows() {
        let s = setup();
        let (record, _) = s
            .volumes
            .create(&s.state, "demo_data", Some("demo"), labels())
            .unwrap();
        let summary = s.volumes.summary(&record);
        assert_eq!(
            summary,
            VolumeSummary {
                name: "demo_data".to_string(),
                driver: "local".to_string(),
                project: Some("demo".to_string()),
                mountpoint: format!("{}/volumes/demo_data/_data", s.dir.path().display()),
                created: record.created.clone(),
                labels: labels(),
            }
        );
        assert_eq!(record.created.len(), "2026-11-25T03:12:00.123456789Z".len());
        assert!(record.created.ends_with('Z'), "{}", record.created);
    }
}
