//! Pure planning: from the validated project to what the runtime is asked to do.

use serde::{Deserialize, Serialize};

/// `run`'s command-line overrides of a service.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RunOverrides {
    /// `--name`.
    pub name: Option<String>,
    /// `-e KEY=VALUE` (resolved by the CLI).
    pub env: Vec<String>,
    /// `-v` in the short syntax.
    pub volumes: Vec<String>,
    /// `-u`.
    pub user: Option<String>,
    /// `-w`.
    pub workdir: Option<String>,
    /// `--entrypoint`.
    pub entrypoint: Option<String>,
    /// The command after the service name.
    pub command: Option<Vec<String>>,
    /// A terminal.
    pub tty: bool,
    /// Keep stdin open.
    pub interactive: bool,
}
