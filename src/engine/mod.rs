//! The engine: one long-lived process per root that owns all mutable state (see
//! DESIGN.md, "One engine process per host"), and the CLI's way of talking to it.
//!
//! - [`layout`]: where everything lives under the root and the run directory.
//! - [`protocol`]: the requests and events; [`wire`]: their framing on the socket,
//!   descriptors included; [`client`]: the CLI's side.
//! - [`state`]: the records of containers and volumes (redb); [`volumes`]: named
//!   volumes on disk; `volumes_from`: the mounts taken from other containers; [`prepare`]: a planned container's directory, volumes, cgroup and
//!   spec, made (and undone) as one step.
//! - [`server`]: the engine process ([`run_engine`]): the lock, the socket, one task
//!   per connection; its requests are served by `images` (the image store),
//!   `containers` (run, exec, stop, rm, ps, volumes, adoption at start) and `logs`.

pub mod client;
mod containers;
mod health;
mod images;
pub mod layout;
mod logs;
mod networks;
mod ports;
pub mod prepare;
mod project;
pub mod protocol;
pub mod server;
pub mod state;
pub mod volumes;
mod volumes_from;
pub mod wire;

pub use client::{Call, Client, ClientError};
pub use layout::Layout;
pub use server::{run_engine, EngineError};
