//! `rcompose version`: which rcompose this is.

use super::CliError;
use std::io::Write;

/// The arguments of `rcompose version`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Print only the version number
    #[arg(long)]
    pub short: bool,
}

/// Writes `rcompose version X.Y.Z` (or just `X.Y.Z` with `--short`).
pub fn run(args: &Args, out: &mut dyn Write) -> Result<(), CliError> {
    let version = env!("CARGO_PKG_VERSION");
    if args.short {
        writeln!(out, "{version}")
    } else {
        writeln!(out, "rcompose version {version}")
    }
    .map_err(CliError::Output)
}
