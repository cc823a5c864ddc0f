//! `volumes_from`: the mounts a new container takes from containers that exist.
//!
//! `service[:ro|rw]` names the lowest-numbered container of that service in the same
//! project (its oldest one-off container when it has no numbered one);
//! `container:name[:ro|rw]` names any container by its name or ID. What is taken is
//! that container's binds and volumes as they were mounted (a named or anonymous volume
//! stays the same volume), not its tmpfs mounts nor its `/etc` files. As with Docker, a
//! later entry wins over an earlier one at the same target, a mount of the container's
//! own wins over both, `:ro` makes the taken mounts read-only and `:rw` keeps each as
//! its source container mounts it. Pure: the caller gives the records.

use super::state::{ContainerRecord, Phase};
use super::volumes::Volumes;
use crate::graph::VolumesFrom;
use crate::plan::container::PlannedMount;
use crate::runtime::Mount;
use indexmap::IndexMap;
use std::path::PathBuf;

/// The mounts that `entries` (`volumes_from` as written) add to a container of
/// `project` whose own mounts are `own`, from the existing `records`. Each volume is a
/// [`PlannedMount::Volume`] marked external (it must exist; it is not filled again),
/// each bind a [`PlannedMount::Bind`] whose source must exist.
pub(crate) fn resolve(
    entries: &[String],
    own: &[PlannedMount],
    project: &str,
    records: &[ContainerRecord],
    volumes: &Volumes,
) -> Result<Vec<PlannedMount>, VolumesFromError> {
    let mut taken: IndexMap<PathBuf, PlannedMount> = IndexMap::new();
    for entry in entries {
        let from = VolumesFrom::parse(entry);
        let source = source(&from, entry, project, records)?;
        let readonly = from.mode == Some("ro");
        for mount in &source.spec.spec().mounts {
            let Mount::Bind {
                source: path,
                target,
                readonly: source_readonly,
                ..
            } = mount
            else {
                continue;
            };
            let readonly = readonly || *source_readonly;
            let volume = source
                .volumes
                .iter()
                .find(|name| volumes.path(name) == *path);
            let planned = match volume {
                Some(name) => PlannedMount::Volume {
                    name: name.clone(),
                    target: target.clone(),
                    readonly,
                    nocopy: true,
                    external: true,
                },
                None => PlannedMount::Bind {
                    source: path.clone(),
                    target: target.clone(),
                    readonly,
                    create_host_path: false,
                },
            };
            // A later entry replaces an earlier one at the same target, at its place.
            taken.insert(target.clone(), planned);
        }
    }
    Ok(taken
        .into_values()
        .filter(|mount| own.iter().all(|o| o.target() != mount.target()))
        .collect())
}

/// The container an entry names: one that has been made (not one being made or
/// removed).
fn source<'r>(
    from: &VolumesFrom,
    entry: &str,
    project: &str,
    records: &'r [ContainerRecord],
) -> Result<&'r ContainerRecord, VolumesFromError> {
    let mut made = records
        .iter()
        .filter(|r| !matches!(r.phase, Phase::Creating | Phase::Removing));
    if from.container {
        return made
            .find(|r| r.name == from.name || r.id == from.name)
            .ok_or_else(|| VolumesFromError::NoContainer {
                entry: entry.to_string(),
                name: from.name.to_string(),
            });
    }
    let of_service: Vec<&ContainerRecord> = made
        .filter(|r| r.project == project && r.service == from.name)
        .collect();
    let numbered = of_service
        .iter()
        .filter_map(|r| Some((r.number?, *r)))
        .min_by_key(|(number, _)| *number)
        .map(|(_, r)| r);
    let oneoff = || {
        of_service
            .iter()
            .copied()
            .min_by(|a, b| (&a.created, &a.name).cmp(&(&b.created, &b.name)))
    };
    numbered
        .or_else(oneoff)
        .ok_or_else(|| VolumesFromError::NoServiceContainer {
            entry: entry.to_string(),
            project: project.to_string(),
            service: from.name.to_string(),
        })
}

/// A `volumes_from` entry whose container does not exist.
#[derive(Debug, thiserror::Error)]
pub(crate) enum VolumesFromError {
    #[error(
        "volumes_from {entry}: service {service} of project {project} has no container: \
         start it first (e.g. `rcompose run -d {service}`)"
    )]
    NoServiceContainer {
        entry: String,
        project: String,
        service: String,
    },
    #[error(
        "volumes_from {entry}: no container named {name}: start it first (e.g. \
         `rcompose run -d --name {name} SERVICE`)"
    )]
    NoContainer { entry: String, name: String },
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::state::tests::plan;
    use crate::runtime::{ContainerSpec, Rootfs};
    use std::collections::BTreeMap;

    fn volumes() -> Volumes {
        Volumes::new(PathBuf::from("/v"))
    }

    fn bind(source: &str, target: &str, readonly: bool) -> Mount {
        Mount::Bind {
            source: PathBuf::from(source),
            target: PathBuf::from(target),
            readonly,
            copy_up: false,
        }
    }

    /// A record of `service` in project `demo` with `mounts`, using `used` volumes.
    fn record(
        name: &str,
        service: &str,
        number: Option<u32>,
        mounts: Vec<Mount>,
    ) -> ContainerRecord {
        let mut spec = ContainerSpec::new(
            Rootfs::Directory {
                path: PathBuf::from("/srv/root"),
            },
            "box",
            vec!["sh".to_string()],
        );
        spec.mounts = mounts;
        let volumes = spec
            .mounts
            .iter()
            .filter_map(|m| match m {
                Mount::Bind { source, .. } => source
                    .strip_prefix("/v")
                    .ok()?
                    .iter()
                    .next()
                    .map(|n| n.to_string_lossy().into_owned()),
                Mount::Tmpfs { .. } => None,
            })
            .collect();
        ContainerRecord {
            id: format!("{name}-id"),
            name: name.to_string(),
            project: "demo".to_string(),
            service: service.to_string(),
            number,
            image: "bb:latest".to_string(),
            image_id: "sha256:00".to_string(),
            labels: BTreeMap::new(),
            config_hash: String::new(),
            created: format!("2026-01-01T00:00:00.{name}Z"),
            phase: Phase::Exited {
                code: 0,
                finished: String::new(),
            },
            spec: spec.validate().unwrap(),
            plan: plan(),
            cgroup: None,
            volumes,
            auto_remove: false,
            netns: None,
            endpoints: Vec::new(),
            ports: Vec::new(),
            started: None,
        }
    }

    fn store(name: &str, number: Option<u32>) -> ContainerRecord {
        record(
            name,
            "store",
            number,
            vec![
                bind("/v/demo_data/_data", "/data", false),
                bind("/v/0123abcd/_data", "/anon", false),
                bind("/srv/shared", "/shared", true),
                Mount::Tmpfs {
                    target: PathBuf::from("/tmp"),
                    size: None,
                    mode: None,
                },
            ],
        )
    }

    fn strings(entries: &[&str]) -> Vec<String> {
        entries.iter().map(|s| s.to_string()).collect()
    }

    fn volume(name: &str, target: &str, readonly: bool) -> PlannedMount {
        PlannedMount::Volume {
            name: name.to_string(),
            target: PathBuf::from(target),
            readonly,
            nocopy: true,
            external: true,
        }
    }

    fn planned_bind(source: &str, target: &str, readonly: bool) -> PlannedMount {
        PlannedMount::Bind {
            source: PathBuf::from(source),
            target: PathBuf::from(target),
            readonly,
            create_host_path: false,
        }
    }

    #[test]
    fn a_service_gives_its_volumes_and_binds_but_not_its_tmpfs() {
        let records = [store("demo-store-1", Some(1))];
        let taken = resolve(&strings(&["store"]), &[], "demo", &records, &volumes()).unwrap();
        assert_eq!(
            taken,
            vec![
                volume("demo_data", "/data", false),
                volume("0123abcd", "/anon", false),
                planned_bind("/srv/shared", "/shared", true),
            ]
        );
        // :ro makes every one read-only; :rw leaves a read-only one read-only.
        let taken = resolve(
            &strings(&["service:store:ro"]),
            &[],
            "demo",
            &records,
            &volumes(),
        )
        .unwrap();
        assert!(taken.iter().all(|m| matches!(
            m,
            PlannedMount::Volume { readonly: true, .. } | PlannedMount::Bind { readonly: true, .. }
        )));
        let taken = resolve(&strings(&["store:rw"]), &[], "demo", &records, &volumes()).unwrap();
        assert_eq!(taken[2], planned_bind("/srv/shared", "/shared", true));
    }

    #[test]
    fn the_lowest_number_wins_then_the_oldest_one_off() {
        let mut records = vec![
            record("a", "store", None, vec![bind("/srv/a", "/x", false)]),
            record("b", "store", None, vec![bind("/srv/b", "/x", false)]),
        ];
        let from = |records: &[ContainerRecord]| {
            resolve(&strings(&["store"]), &[], "demo", records, &volumes()).unwrap()
        };
        assert_eq!(from(&records), vec![planned_bind("/srv/a", "/x", false)]);
        records.push(record(
            "c",
            "store",
            Some(2),
            vec![bind("/srv/c", "/x", false)],
        ));
        records.push(record(
            "d",
            "store",
            Some(1),
            vec![bind("/srv/d", "/x", false)],
        ));
        assert_eq!(from(&records), vec![planned_bind("/srv/d", "/x", false)]);
        // One being made or removed does not count.
        records[3].phase = Phase::Creating;
        assert_eq!(from(&records), vec![planned_bind("/srv/c", "/x", false)]);
    }

    #[test]
    fn own_mounts_win_and_later_entries_replace_earlier_ones() {
        let records = [
            store("demo-store-1", Some(1)),
            record(
                "legacy",
                "other",
                None,
                vec![bind("/srv/legacy", "/data", false)],
            ),
        ];
        let own = [PlannedMount::Tmpfs {
            target: PathBuf::from("/shared/"),
            size: None,
            mode: None,
        }];
        let taken = resolve(
            &strings(&["store", "container:legacy:ro"]),
            &own,
            "demo",
            &records,
            &volumes(),
        )
        .unwrap();
        assert_eq!(
            taken,
            vec![
                planned_bind("/srv/legacy", "/data", true),
                volume("0123abcd", "/anon", false),
            ]
        );
        // By ID too.
        let taken = resolve(
            &strings(&["container:legacy-id"]),
            &[],
            "demo",
            &records,
            &volumes(),
        )
        .unwrap();
        assert_eq!(taken, vec![planned_bind("/srv/legacy", "/data", false)]);
    }

    #[test]
    fn a_missing_source_is_named() {
        let records = [store("x-store-1", Some(1))];
        // Another project's container of a service of the same name is not it.
        let mut other = records[0].clone();
        other.project = "x".to_string();
        let err = resolve(&strings(&["store:ro"]), &[], "demo", &[other], &volumes()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "volumes_from store:ro: service store of project demo has no container: start \
             it first (e.g. `rcompose run -d store`)"
        );
        let err = resolve(
            &strings(&["container:gone"]),
            &[],
            "demo",
            &records,
            &volumes(),
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "volumes_from container:gone: no container named gone: start it first (e.g. \
             `rcompose run -d --name gone SERVICE`)"
        );
    }
}
