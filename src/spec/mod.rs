//! Compose files in, a typed and validated project out. Everything here is pure.
//!
//! The flow of one load:
//! `yaml` (text -> position-carrying `node` tree) -> `interpolate` (with `env`) ->
//! `merge` / `extends` / include -> `schema` (structural check against the Compose
//! Specification's JSON Schema) -> `de` into the `raw` model -> `normalize` into the
//! `model` -> `validate` (semantic checks).

pub mod de;
pub mod diag;
pub mod env;
pub mod extends;
pub mod interpolate;
pub mod merge;
pub mod model;
pub mod node;
pub mod normalize;
pub mod raw;
pub mod schema;
pub mod syntax;
pub mod units;
pub mod validate;
pub mod yaml;
