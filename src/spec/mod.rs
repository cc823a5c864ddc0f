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
mod load;
pub mod merge;
pub mod model;
pub mod node;
pub mod normalize;
pub mod paths;
pub mod raw;
pub mod schema;
pub mod syntax;
pub mod units;
pub mod validate;
pub mod yaml;

pub use load::{
    apply_profiles, is_valid_project_name, load, normalize_project_name, LoadError, Loaded,
};

use std::collections::BTreeMap;
use std::path::PathBuf;

/// Everything `spec::load` needs to turn files into a project, resolved by the CLI from
/// its options and the process environment (so loading itself reads no global state).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LoadOptions {
    /// The compose files in merge order (absolute paths). `-` means standard input,
    /// whose text is in `stdin`.
    pub files: Vec<PathBuf>,
    /// The text of standard input when one of `files` is `-`.
    pub stdin: Option<String>,
    /// Relative paths resolve against it; its `.env` is read unless `env_files` is set.
    pub project_directory: PathBuf,
    /// From `-p` or `COMPOSE_PROJECT_NAME`, already normalised; `None` lets the top-level
    /// `name:` or the project directory's base name decide.
    pub project_name: Option<String>,
    /// `--env-file` files (absolute); empty means `<project_directory>/.env` if present.
    pub env_files: Vec<PathBuf>,
    /// Enabled profiles (`--profile`, `COMPOSE_PROFILES`).
    pub profiles: Vec<String>,
    /// Services named on the command line: they are active whatever their profiles.
    pub services: Vec<String>,
    /// The process environment (it wins over `.env` values).
    pub environment: BTreeMap<String, String>,
    /// `false` for `config --no-interpolate`.
    pub interpolate: bool,
    /// The user's home directory, for `~` in paths.
    pub home: Option<PathBuf>,
}
