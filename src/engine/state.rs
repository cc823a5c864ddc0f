//! The engine's records of what exists: containers, volumes and networks, in one redb database
//! (`<root>/state.redb`). Each table is keyed by the object's ID or name and holds its
//! record as JSON. Every write is its own transaction, durable once the call returns,
//! so a record made before an object exists (a container in [`Phase::Creating`]) is
//! there after a crash for the next engine to clean up.

use super::protocol::PortSummary;
use crate::plan::container::ContainerPlan;
use crate::plan::ipam::NetworkIpam;
use crate::runtime::ValidSpec;
use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};

const CONTAINERS: TableDefinition<&str, &str> = TableDefinition::new("containers");
const VOLUMES: TableDefinition<&str, &str> = TableDefinition::new("volumes");
const NETWORKS: TableDefinition<&str, &str> = TableDefinition::new("networks");

/// The state database. It can be shared between threads (`&self` everywhere); only one
/// process opens it at a time.
#[derive(Debug)]
pub struct State {
    db: Database,
    path: PathBuf,
    /// The containers table, decoded: it is read far more often than written (each
    /// action of an `up` looks containers up), and only this engine writes it.
    containers: RwLock<BTreeMap<String, ContainerRecord>>,
}

/// One container, from the moment the engine decides to make it until it is removed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ContainerRecord {
    /// 64 hex digits.
    pub id: String,
    /// `<project>-<service>-<n>`, `<project>-<service>-run-<12 hex>` or `--name`.
    pub name: String,
    /// The compose project.
    pub project: String,
    /// The service.
    pub service: String,
    /// The replica number; `None` for a one-off (`run`) container.
    pub number: Option<u32>,
    /// The image reference as the compose file (or the command line) wrote it.
    pub image: String,
    /// The image's ID (`sha256:…`).
    pub image_id: String,
    /// Its labels (`com.docker.compose.*` and the service's).
    pub labels: BTreeMap<String, String>,
    /// The hash of the service's configuration it was made from.
    pub config_hash: String,
    /// When it was made (RFC 3339).
    pub created: String,
    /// Where it is in its life.
    pub phase: Phase,
    /// What the runtime was (or will be) given.
    pub spec: ValidSpec,
    /// What it was planned from (exec, stop and restart read it).
    pub plan: ContainerPlan,
    /// Its cgroup's name (relative to each hierarchy's root), once made.
    pub cgroup: Option<String>,
    /// The volumes (full names) it mounts, anonymous ones included.
    pub volumes: Vec<String>,
    /// Remove it (and its anonymous volumes) when it ends (`run --rm`).
    pub auto_remove: bool,
    /// The network namespace file it owns (bridge networking), named before it exists.
    #[serde(default)]
    pub netns: Option<PathBuf>,
    /// Its attachments to bridge networks, with their addresses.
    #[serde(default)]
    pub endpoints: Vec<EndpointRecord>,
    /// Its service's published ports, as bound on the host.
    #[serde(default)]
    pub ports: Vec<PortSummary>,
    /// When it last started (RFC 3339).
    #[serde(default)]
    pub started: Option<String>,
}

/// A container's attachment to a network.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndpointRecord {
    /// The network's real name.
    pub network: String,
    /// The container's address there.
    pub address: Ipv4Addr,
    /// Its interface in the container (`eth0`).
    pub interface: String,
    /// The host end of its veth.
    pub veth: String,
    /// Names it answers to there besides its container name (service, aliases, links
    /// aliases, hostname).
    pub aliases: Vec<String>,
}

/// A network rcompose made (a bridge), with its addresses.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetworkRecord {
    /// Its real name (`<project>_<key>` or `name:`).
    pub name: String,
    /// 64 hex digits; its bridge's name derives from it.
    pub id: String,
    /// The project that made it.
    pub project: Option<String>,
    /// The hash of the configuration it was made with.
    pub config_hash: String,
    /// The bridge (`rc-<8 hex>`).
    pub bridge: String,
    /// No route to the outside.
    pub internal: bool,
    /// The bridge's and veths' MTU.
    pub mtu: u32,
    /// Its labels.
    pub labels: BTreeMap<String, String>,
    /// When it was made (RFC 3339).
    pub created: String,
    /// Subnet, gateway and the addresses containers hold.
    pub ipam: NetworkIpam,
}

/// Where a container is in its life.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Phase {
    /// Being made: its directory, volumes and cgroup may be half there.
    Creating,
    /// Made, never started.
    Created,
    /// Started.
    Running {
        /// The host PID of its PID 1.
        pid: i32,
        /// That process's start time (`/proc/<pid>/stat` field 22), so that a reused PID
        /// is not taken for it.
        start_time: u64,
        /// The PID of the helper that waits for it.
        helper_pid: i32,
    },
    /// Ended.
    Exited {
        /// Its exit code (128 + signal for a signal).
        code: i32,
        /// When it ended (RFC 3339).
        finished: String,
    },
    /// Being removed.
    Removing,
}

/// A named (or anonymous) volume.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VolumeRecord {
    /// Its full name.
    pub name: String,
    /// The project it belongs to; `None` for one made outside any project.
    pub project: Option<String>,
    /// When it was made (RFC 3339).
    pub created: String,
    /// Its labels.
    pub labels: BTreeMap<String, String>,
}

impl State {
    /// Opens the database at `path`, creating it (and its tables) when absent.
    pub fn open(path: &Path) -> Result<State, StateError> {
        let db = Database::create(path).map_err(|source| match source {
            redb::DatabaseError::DatabaseAlreadyOpen => StateError::AlreadyOpen {
                path: path.to_path_buf(),
            },
            source => StateError::Open {
                path: path.to_path_buf(),
                source: Box::new(source),
            },
        })?;
        let state = State {
            db,
            path: path.to_path_buf(),
            containers: RwLock::new(BTreeMap::new()),
        };
        state
            .create_tables()
            .map_err(|source| state.failed("creating the tables", source))?;
        let records: Vec<ContainerRecord> = state.all(CONTAINERS, "container")?;
        *state.cached_mut() = records
            .into_iter()
            .map(|record| (record.id.clone(), record))
            .collect();
        Ok(state)
    }

    /// Records a container (replacing its earlier record).
    pub fn put_container(&self, record: &ContainerRecord) -> Result<(), StateError> {
        self.put(CONTAINERS, "container", &record.id, record)?;
        self.cached_mut().insert(record.id.clone(), record.clone());
        Ok(())
    }

    /// The container with this ID.
    pub fn container(&self, id: &str) -> Result<Option<ContainerRecord>, StateError> {
        Ok(self.cached().get(id).cloned())
    }

    /// The container with this name.
    pub fn container_named(&self, name: &str) -> Result<Option<ContainerRecord>, StateError> {
        Ok(self.cached().values().find(|r| r.name == name).cloned())
    }

    /// Every container, by ID.
    pub fn containers(&self) -> Result<Vec<ContainerRecord>, StateError> {
        Ok(self.cached().values().cloned().collect())
    }

    /// Forgets a container (an absent one is fine).
    pub fn remove_container(&self, id: &str) -> Result<(), StateError> {
        self.remove(CONTAINERS, "container", id)?;
        self.cached_mut().remove(id);
        Ok(())
    }

    fn cached(&self) -> RwLockReadGuard<'_, BTreeMap<String, ContainerRecord>> {
        // Nothing panics while holding it: a poisoned map is still right.
        self.containers
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn cached_mut(&self) -> RwLockWriteGuard<'_, BTreeMap<String, ContainerRecord>> {
        self.containers
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Records a volume (replacing its earlier record).
    pub fn put_volume(&self, v: &VolumeRecord) -> Result<(), StateError> {
        self.put(VOLUMES, "volume", &v.name, v)
    }

    /// The volume with this name.
    pub fn volume(&self, name: &str) -> Result<Option<VolumeRecord>, StateError> {
        self.get(VOLUMES, "volume", name)
    }

    /// Every volume, by name.
    pub fn volumes(&self) -> Result<Vec<VolumeRecord>, StateError> {
        self.all(VOLUMES, "volume")
    }

    /// Forgets a volume (an absent one is fine).
    pub fn remove_volume(&self, name: &str) -> Result<(), StateError> {
        self.remove(VOLUMES, "volume", name)
    }

    /// Records a network (replacing its earlier record).
    pub fn put_network(&self, n: &NetworkRecord) -> Result<(), StateError> {
        self.put(NETWORKS, "network", &n.name, n)
    }

    /// The network with this name.
    pub fn network(&self, name: &str) -> Result<Option<NetworkRecord>, StateError> {
        self.get(NETWORKS, "network", name)
    }

    /// Every network, by name.
    pub fn networks(&self) -> Result<Vec<NetworkRecord>, StateError> {
        self.all(NETWORKS, "network")
    }

    /// Forgets a network (an absent one is fine).
    pub fn remove_network(&self, name: &str) -> Result<(), StateError> {
        self.remove(NETWORKS, "network", name)
    }

    fn create_tables(&self) -> Result<(), redb::Error> {
        let txn = self.db.begin_write()?;
        txn.open_table(CONTAINERS)?;
        txn.open_table(VOLUMES)?;
        txn.open_table(NETWORKS)?;
        txn.commit()?;
        Ok(())
    }

    fn put<T: Serialize>(
        &self,
        table: TableDefinition<&str, &str>,
        kind: &'static str,
        key: &str,
        value: &T,
    ) -> Result<(), StateError> {
        let json = serde_json::to_string(value).map_err(|source| StateError::Encode {
            kind,
            key: key.to_string(),
            source,
        })?;
        let write = || -> Result<(), redb::Error> {
            let txn = self.db.begin_write()?;
            txn.open_table(table)?.insert(key, json.as_str())?;
            txn.commit()?;
            Ok(())
        };
        write().map_err(|source| self.failed(format!("writing {kind} {key}"), source))
    }

    fn get<T: DeserializeOwned>(
        &self,
        table: TableDefinition<&str, &str>,
        kind: &'static str,
        key: &str,
    ) -> Result<Option<T>, StateError> {
        let read = || -> Result<Option<String>, redb::Error> {
            let txn = self.db.begin_read()?;
            let found = txn.open_table(table)?.get(key)?;
            Ok(found.map(|value| value.value().to_string()))
        };
        let json = read().map_err(|source| self.failed(format!("reading {kind} {key}"), source))?;
        json.map(|json| self.decode(kind, key, &json)).transpose()
    }

    fn all<T: DeserializeOwned>(
        &self,
        table: TableDefinition<&str, &str>,
        kind: &'static str,
    ) -> Result<Vec<T>, StateError> {
        let read = || -> Result<Vec<(String, String)>, redb::Error> {
            let txn = self.db.begin_read()?;
            let table = txn.open_table(table)?;
            let mut rows = Vec::new();
            for row in table.iter()? {
                let (key, value) = row?;
                rows.push((key.value().to_string(), value.value().to_string()));
            }
            Ok(rows)
        };
        let rows = read().map_err(|source| self.failed(format!("reading the {kind}s"), source))?;
        rows.iter()
            .map(|(key, json)| self.decode(kind, key, json))
            .collect()
    }

    fn remove(
        &self,
        table: TableDefinition<&str, &str>,
        kind: &'static str,
        key: &str,
    ) -> Result<(), StateError> {
        let write = || -> Result<(), redb::Error> {
            let txn = self.db.begin_write()?;
            txn.open_table(table)?.remove(key)?;
            txn.commit()?;
            Ok(())
        };
        write().map_err(|source| self.failed(format!("removing {kind} {key}"), source))
    }

    fn decode<T: DeserializeOwned>(
        &self,
        kind: &'static str,
        key: &str,
        json: &str,
    ) -> Result<T, StateError> {
        serde_json::from_str(json).map_err(|source| StateError::Corrupt {
            path: self.path.clone(),
            kind,
            key: key.to_string(),
            source,
        })
    }

    fn failed(&self, doing: impl Into<String>, source: redb::Error) -> StateError {
        StateError::Database {
            path: self.path.clone(),
            doing: doing.into(),
            source: Box::new(source),
        }
    }
}

/// A state database operation that failed.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// Another process has the database open.
    #[error(
        "the state database {} is already open by another process: is another engine \
         running for this root?",
        path.display()
    )]
    AlreadyOpen { path: PathBuf },
    /// The database can't be opened.
    #[error(
        "cannot open the state database {}: {source} (if it is not a redb database, move \
         it away; the engine then starts with no containers or volumes recorded)",
        path.display()
    )]
    Open {
        path: PathBuf,
        #[source]
        source: Box<redb::DatabaseError>,
    },
    /// A read or write failed.
    #[error("{doing} in the state database {}: {source}", path.display())]
    Database {
        path: PathBuf,
        /// `writing container <id>`, `reading the volumes`, …
        doing: String,
        #[source]
        source: Box<redb::Error>,
    },
    /// A record can't be read back.
    #[error(
        "the {kind} record {key} in the state database {} can't be read (written by \
         another version of rcompose?): {source}",
        path.display()
    )]
    Corrupt {
        path: PathBuf,
        /// `container` or `volume`.
        kind: &'static str,
        key: String,
        #[source]
        source: serde_json::Error,
    },
    /// A record can't be written as JSON.
    #[error("cannot encode the {kind} record {key} as JSON: {source}")]
    Encode {
        kind: &'static str,
        key: String,
        #[source]
        source: serde_json::Error,
    },
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::runtime::cgroup::CgroupLimits;
    use crate::runtime::{ContainerSpec, Network, Rootfs, Seccomp};
    use indexmap::IndexMap;
    use std::time::Duration;

    /// A plan with Docker's defaults that runs `sh`.
    pub(crate) fn plan() -> ContainerPlan {
        ContainerPlan {
            argv: vec!["sh".to_string()],
            env: IndexMap::from([("PATH".to_string(), "/bin".to_string())]),
            cwd: PathBuf::from("/"),
            user: String::new(),
            group_add: Vec::new(),
            hostname: "box".to_string(),
            domainname: None,
            mounts: Vec::new(),
            volumes_from: Vec::new(),
            readonly_rootfs: false,
            privileged: false,
            cap_add: Vec::new(),
            cap_drop: Vec::new(),
            no_new_privileges: false,
            seccomp: Seccomp::Default,
            sysctls: IndexMap::new(),
            rlimits: Vec::new(),
            devices: Vec::new(),
            shm_size: crate::runtime::spec::DEFAULT_SHM_SIZE,
            init: false,
            tty: false,
            stdin_open: false,
            stop_signal: 15,
            stop_grace_period: Duration::from_secs(10),
            limits: CgroupLimits::default(),
            network: Network::None,
            networking: crate::plan::network::Networking::None,
            dns: Vec::new(),
            dns_search: Vec::new(),
            dns_opt: Vec::new(),
            extra_hosts: Vec::new(),
            healthcheck: None,
            labels: BTreeMap::new(),
        }
    }

    fn container(id: &str, volumes: &[&str]) -> ContainerRecord {
        let spec = ContainerSpec::new(
            Rootfs::Directory {
                path: PathBuf::from("/srv/root"),
            },
            "box",
            vec!["sh".to_string()],
        );
        ContainerRecord {
            id: id.to_string(),
            name: format!("demo-web-{id}"),
            project: "demo".to_string(),
            service: "web".to_string(),
            number: Some(1),
            image: "bb:latest".to_string(),
            image_id: "sha256:00".to_string(),
            labels: BTreeMap::from([(
                "com.docker.compose.project".to_string(),
                "demo".to_string(),
            )]),
            config_hash: "abc".to_string(),
            created: "2026-11-25T03:12:00.000000000Z".to_string(),
            phase: Phase::Running {
                pid: 42,
                start_time: 1234,
                helper_pid: 41,
            },
            spec: spec.validate().unwrap(),
            plan: plan(),
            cgroup: Some("rcompose/0011aabb/c1".to_string()),
            volumes: volumes.iter().map(|v| v.to_string()).collect(),
            auto_remove: true,
            netns: None,
            endpoints: Vec::new(),
            ports: Vec::new(),
            started: None,
        }
    }

    /// Records container `id` (named `demo-web-<id>`) that mounts `volumes`.
    pub(crate) fn put_user(state: &State, id: &str, volumes: &[&str]) {
        state.put_container(&container(id, volumes)).unwrap();
    }

    fn volume(name: &str) -> VolumeRecord {
        VolumeRecord {
            name: name.to_string(),
            project: Some("demo".to_string()),
            created: "2026-11-25T03:12:00.000000000Z".to_string(),
            labels: BTreeMap::from([("a".to_string(), "b".to_string())]),
        }
    }

    #[test]
    fn records_round_trip_and_survive_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.redb");
        let state = State::open(&path).unwrap();
        assert_eq!(state.containers().unwrap(), vec![]);
        assert_eq!(state.volumes().unwrap(), vec![]);
        assert_eq!(state.container("c1").unwrap(), None);

        let mut c2 = container("c2", &["demo_data"]);
        state.put_container(&c2).unwrap();
        state.put_container(&container("c1", &[])).unwrap();
        c2.phase = Phase::Exited {
            code: 137,
            finished: "2026-11-25T03:13:00.000000000Z".to_string(),
        };
        state.put_container(&c2).unwrap();
        state.put_volume(&volume("demo_data")).unwrap();
        drop(state);

        let state = State::open(&path).unwrap();
        assert_eq!(state.container("c2").unwrap(), Some(c2.clone()));
        assert_eq!(
            state.containers().unwrap(),
            vec![container("c1", &[]), c2.clone()]
        );
        assert_eq!(
            state.volume("demo_data").unwrap(),
            Some(volume("demo_data"))
        );
        assert_eq!(state.volumes().unwrap(), vec![volume("demo_data")]);

        state.remove_container("c1").unwrap();
        state.remove_container("c1").unwrap();
        state.remove_volume("demo_data").unwrap();
        state.remove_volume("absent").unwrap();
        assert_eq!(state.containers().unwrap(), vec![c2]);
        assert_eq!(state.volumes().unwrap(), vec![]);
    }

    #[test]
    fn phases_are_tagged_with_state() {
        let running = serde_json::to_value(Phase::Running {
            pid: 7,
            start_time: 9,
            helper_pid: 6,
        })
        .unwrap();
        assert_eq!(
            running,
            serde_json::json!({"state": "running", "pid": 7, "start_time": 9, "helper_pid": 6})
        );
        assert_eq!(
            serde_json::to_value(Phase::Creating).unwrap(),
            serde_json::json!({"state": "creating"})
        );
    }

    #[test]
    fn a_second_opener_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.redb");
        let _first = State::open(&path).unwrap();
        let err = State::open(&path).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "the state database {} is already open by another process: is another \
                 engine running for this root?",
                path.display()
            )
        );
    }

    #[test]
    fn a_file_that_is_no_database_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.redb");
        std::fs::write(&path, "not a database, not at all, really not").unwrap();
        let err = State::open(&path).unwrap_err();
        assert!(matches!(err, StateError::Open { .. }), "{err:?}");
        assert!(
            err.to_string().starts_with(&format!(
                "cannot open the state database {}: ",
                path.display()
            )),
            "{err}"
        );
    }

    #[test]
    fn an_unreadable_record_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.redb");
        let state = State::open(&path).unwrap();
        let txn = state.db.begin_write().unwrap();
        txn.open_table(VOLUMES)
            .unwrap()
            .insert("broken", "{\"name\": 1}")
            .unwrap();
        txn.commit().unwrap();
        let err = state.volumes().unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "the volume record broken in the state database {} can't be read (written \
                 by another version of rcompose?): invalid type: integer `1`, expected a \
                 string at line 1 column 10",
                path.display()
            )
        );
        assert_eq!(
            err.to_string(),
            state.volume("broken").unwrap_err().to_string()
        );
    }
}
