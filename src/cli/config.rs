//! `rcompose config`: the resolved, normalised project, like `docker compose config`.

use super::{load_options, CliError, GlobalArgs};
use crate::graph::ServiceGraph;
use crate::spec::model::{config_hash, Project};
use crate::spec::{self, Loaded};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

/// The arguments of `rcompose config`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Output format: the project as YAML or JSON, or its dependency graph for Graphviz
    #[arg(long, value_enum, default_value = "yaml")]
    pub format: Format,
    /// Only validate: print nothing, the exit code tells
    #[arg(short, long)]
    pub quiet: bool,
    /// Print the service names, one per line
    #[arg(long)]
    pub services: bool,
    /// Print the volume names, one per line
    #[arg(long)]
    pub volumes: bool,
    /// Print the network names, one per line
    #[arg(long)]
    pub networks: bool,
    /// Print every profile the services name, one per line
    #[arg(long)]
    pub profiles: bool,
    /// Print the image of each service (build-only services get `<project>-<service>`)
    #[arg(long)]
    pub images: bool,
    /// Print `SERVICE HASH` for these services (comma-separated, `*` for all): the config
    /// hash that decides whether a container is recreated
    #[arg(long, value_name = "SERVICES")]
    pub hash: Option<String>,
    /// Print values as written, without `${VAR}` interpolation
    #[arg(long)]
    pub no_interpolate: bool,
    /// Write the output to FILE instead of standard output
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Only these services (and what they depend on); named services are active
    /// whatever their profiles
    #[arg(value_name = "SERVICE")]
    pub service_names: Vec<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Yaml,
    Json,
    Dot,
}

/// Loads the project, prints its warnings on stderr and the requested view to `out` (or
/// to `--output`).
pub fn run(
    args: &Args,
    global: &GlobalArgs,
    cwd: &Path,
    env: &BTreeMap<String, String>,
    out: &mut dyn Write,
) -> Result<(), CliError> {
    let mut opts = load_options(global, cwd, env, &args.service_names)?;
    opts.interpolate = !args.no_interpolate;
    let Loaded {
        mut project,
        profiles,
        warnings,
    } = spec::load(&opts)?;
    for w in &warnings {
        eprintln!("{w}");
    }
    if !args.service_names.is_empty() {
        select(&mut project, &args.service_names)?;
    }
    if args.quiet {
        return Ok(());
    }
    let text = render(args, &project, &profiles)?;
    match &args.output {
        Some(path) => std::fs::write(path, text).map_err(|source| CliError::WriteFile {
            path: path.clone(),
            source,
        }),
        None => out.write_all(text.as_bytes()).map_err(CliError::Output),
    }
}

/// Keeps the named services and what they depend on.
fn select(project: &mut Project, names: &[String]) -> Result<(), CliError> {
    if let Some(missing) = names.iter().find(|n| !project.services.contains_key(*n)) {
        return Err(CliError::NoSuchService {
            name: missing.clone(),
            known: project.services.keys().cloned().collect(),
        });
    }
    let graph = ServiceGraph::from_project(project).map_err(CliError::Graph)?;
    let keep = graph.with_dependencies(names);
    project.services.retain(|name, _| keep.contains(name));
    Ok(())
}

fn lines<'a>(items: impl IntoIterator<Item = &'a String>) -> String {
    items.into_iter().map(|s| format!("{s}\n")).collect()
}

fn render(
    args: &Args,
    project: &Project,
    profiles: &std::collections::BTreeSet<String>,
) -> Result<String, CliError> {
    if args.services {
        return Ok(lines(project.services.keys()));
    }
    if args.volumes {
        return Ok(lines(project.volumes.keys()));
    }
    if args.networks {
        return Ok(lines(project.networks.keys()));
    }
    if args.profiles {
        return Ok(lines(profiles));
    }
    if args.images {
        let images: Vec<String> = project
            .services
            .iter()
            .map(|(name, s)| {
                s.image
                    .clone()
                    .unwrap_or_else(|| format!("{}-{name}", project.name))
            })
            .collect();
        return Ok(lines(&images));
    }
    if let Some(which) = &args.hash {
        let wanted: Vec<&str> = which
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect();
        let mut text = String::new();
        for name in &wanted {
            if *name != "*" && !project.services.contains_key(*name) {
                return Err(CliError::NoSuchService {
                    name: name.to_string(),
                    known: project.services.keys().cloned().collect(),
                });
            }
        }
        for (name, service) in &project.services {
            if wanted.contains(&"*") || wanted.contains(&name.as_str()) {
                text.push_str(&format!("{name} {}\n", config_hash(service)));
            }
        }
        return Ok(text);
    }
    match args.format {
        Format::Yaml => yaml_serde::to_string(project).map_err(|e| CliError::Render(e.to_string())),
        Format::Json => serde_json::to_string_pretty(project)
            .map(|s| s + "\n")
            .map_err(|e| CliError::Render(e.to_string())),
        Format::Dot => Ok(ServiceGraph::from_project(project)
            .map_err(CliError::Graph)?
            .to_dot()),
    }
}
