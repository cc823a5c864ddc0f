//! Planning: what to ask the runtime for, decided from the project. Everything here is
//! pure (no file, network or kernel access) and tested without root.
//!
//! - [`container`]: one service's container ([`ContainerPlan`]) from the normalized
//!   service, its image's config and `run`'s overrides, with Docker's and compose's rules.
//! - [`user`]: `user:` and `group_add` resolved to numeric ids against the image's
//!   `/etc/passwd` and `/etc/group` text, as Docker does.
//! - [`ipam`]: subnets and addresses of bridge networks, as Docker's default IPAM.
//! - [`network`]: the project's networks resolved, and how one container is networked
//!   (its attachments in interface order, aliases, default route).
//! - [`ports`]: a service's published ports, as the host listeners to open.
//! - [`reconcile`]: the desired project against what exists -> the [`Plan`] of actions
//!   of `up` and `down`, in layers that may each run in parallel.

pub mod container;
pub mod ipam;
pub mod network;
pub mod ports;
pub mod reconcile;
pub mod user;

pub use container::{plan_container, ContainerPlan, PlanError, PlannedMount, RunOverrides};
pub use reconcile::{plan_down, plan_up, Action, DownOptions, Plan, UpOptions};
pub use user::{resolve_user, UserError};

/// Loads `compose.yaml` with `yaml` from a fresh directory, project name `demo` (the
/// planning modules' tests).
#[cfg(test)]
pub(crate) fn load_demo(yaml: &str) -> crate::spec::model::Project {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("compose.yaml");
    std::fs::write(&file, yaml).unwrap();
    crate::spec::load(&crate::spec::LoadOptions {
        files: vec![file],
        project_directory: dir.path().to_path_buf(),
        project_name: Some("demo".into()),
        interpolate: true,
        ..crate::spec::LoadOptions::default()
    })
    .unwrap()
    .project
}
