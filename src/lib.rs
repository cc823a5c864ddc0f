//! rcompose: a compose-compatible multi-container orchestrator with its own runtime.
//!
//! Layers (see DESIGN.md): `spec` (files in, a validated project out), `graph` and
//! `plan` (what to ask the runtime for) are pure; `cli` is the command line; `runtime`
//! (containers) is the only layer that touches the kernel.

pub mod cli;
pub mod dns;
pub mod engine;
pub mod graph;
pub mod image;
pub mod plan;
pub mod proxy;
pub mod runtime;
pub mod spec;
