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
