//! `rcompose volume ls|inspect|rm|prune`: the project's named volumes, printed as docker
//! prints volumes. The project comes from the compose files (or `-p` alone when there
//! is none); a volume is named by its full name or by its key in the project's
//! `volumes:`.

use super::image::{confirm, unexpected, write};
use super::table::{self, json_pretty};
use super::{CliError, Context, ForceVerb, GlobalArgs, Verb};
use crate::engine::protocol::{Reply, Request, VolumeSummary};
use std::collections::BTreeMap;
use std::io::{self, Write};

/// The volume verbs.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// List the project's volumes
    #[command(visible_alias = "list")]
    Ls(Verb<ListArgs>),
    /// Show volumes' details as JSON
    Inspect(Verb<NamesArgs>),
    /// Remove volumes (refused while a container uses one)
    #[command(visible_alias = "remove")]
    Rm(ForceVerb<RemoveArgs>),
    /// Remove the project's volumes that no container uses
    Prune(ForceVerb<PruneArgs>),
}

impl Command {
    /// The global options given after the verb.
    pub(super) fn global_mut(&mut self) -> &mut GlobalArgs {
        match self {
            Command::Ls(verb) => &mut verb.global,
            Command::Inspect(verb) => &mut verb.global,
            Command::Rm(verb) => &mut verb.global,
            Command::Prune(verb) => &mut verb.global,
        }
    }
}

/// The arguments of `volume ls`.
#[derive(Debug, clap::Args)]
pub struct ListArgs {
    /// Only the names
    #[arg(short, long)]
    pub quiet: bool,
    /// A table, or one JSON object per line
    #[arg(long, value_enum, default_value = "table")]
    pub format: super::image::Format,
}

/// Volumes named on the command line.
#[derive(Debug, clap::Args)]
pub struct NamesArgs {
    /// Full names, or keys of the project's `volumes:`
    #[arg(value_name = "VOLUME", required = true)]
    pub names: Vec<String>,
}

/// The arguments of `volume rm`.
#[derive(Debug, clap::Args)]
pub struct RemoveArgs {
    /// Accepted as docker does; a volume in use is still refused
    #[arg(short, long)]
    pub force: bool,
    /// Full names, or keys of the project's `volumes:`
    #[arg(value_name = "VOLUME", required = true)]
    pub names: Vec<String>,
}

/// The arguments of `volume prune`.
#[derive(Debug, clap::Args)]
pub struct PruneArgs {
    /// Don't ask for confirmation
    #[arg(short, long)]
    pub force: bool,
}

/// Runs a volume verb.
pub fn run(command: &Command, context: &Context, out: &mut dyn Write) -> Result<(), CliError> {
    let (project, keys) = context.project_volumes()?;
    let client = context.client()?;
    let call = |request: &Request| -> Result<Reply, CliError> {
        Ok(client.call(request, &[])?.finish(|_, _| {})?)
    };
    match command {
        Command::Ls(verb) => {
            let request = Request::VolumeList {
                project: Some(project),
            };
            match call(&request)? {
                Reply::Volumes(volumes) => {
                    let text = match (verb.args.quiet, verb.args.format) {
                        (true, _) => volumes.iter().map(|v| format!("{}\n", v.name)).collect(),
                        (false, super::image::Format::Table) => list_table(&volumes),
                        (false, super::image::Format::Json) => list_json(&volumes),
                    };
                    write(out, &text)
                }
                other => Err(unexpected("volume ls", &other)),
            }
        }
        Command::Inspect(verb) => {
            let request = Request::VolumeInspect {
                names: full_names(&verb.args.names, &keys),
            };
            match call(&request)? {
                Reply::Json(value) => write(out, &json_pretty(&value)),
                other => Err(unexpected("volume inspect", &other)),
            }
        }
        Command::Rm(verb) => {
            let request = Request::VolumeRemove {
                names: full_names(&verb.args.names, &keys),
                force: verb.args.force,
            };
            match call(&request)? {
                Reply::Names(names) => write(out, &lines(&names)),
                other => Err(unexpected("volume rm", &other)),
            }
        }
        Command::Prune(verb) => {
            let warning = format!(
                "WARNING! This will remove the volumes of project {project} that no \
                 container uses."
            );
            if !verb.args.force && !confirm(out, &mut io::stdin().lock(), &warning)? {
                return Ok(());
            }
            let request = Request::VolumePrune {
                project: Some(project),
            };
            match call(&request)? {
                Reply::Names(names) if names.is_empty() => Ok(()),
                Reply::Names(names) => write(out, &format!("Deleted Volumes:\n{}", lines(&names))),
                other => Err(unexpected("volume prune", &other)),
            }
        }
    }
}

/// A key of the project's `volumes:` becomes the volume's full name; anything else is
/// taken as a full name.
fn full_names(names: &[String], keys: &BTreeMap<String, String>) -> Vec<String> {
    names
        .iter()
        .map(|name| keys.get(name).unwrap_or(name).clone())
        .collect()
}

fn lines(names: &[String]) -> String {
    names.iter().map(|name| format!("{name}\n")).collect()
}

fn list_table(volumes: &[VolumeSummary]) -> String {
    let mut rows = vec![vec!["DRIVER".to_string(), "VOLUME NAME".to_string()]];
    rows.extend(
        volumes
            .iter()
            .map(|volume| vec![volume.driver.clone(), volume.name.clone()]),
    );
    table::table(&rows)
}

/// docker's `--format json`: one object per line, labels as `k=v,k=v`.
fn list_json(volumes: &[VolumeSummary]) -> String {
    volumes
        .iter()
        .map(|volume| {
            let labels: Vec<String> = volume
                .labels
                .iter()
                .map(|(key, value)| format!("{key}={value}"))
                .collect();
            let object = serde_json::json!({
                "Driver": volume.driver,
                "Labels": labels.join(","),
                "Mountpoint": volume.mountpoint,
                "Name": volume.name,
                "Scope": "local",
            });
            format!("{object}\n")
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{parse, Cli};
    use std::path::PathBuf;

    fn volume(name: &str) -> VolumeSummary {
        VolumeSummary {
            name: name.to_string(),
            driver: "local".to_string(),
            project: Some("demo".to_string()),
            mountpoint: format!("/var/lib/rcompose/volumes/{name}/_data"),
            created: "2024-01-01T00:00:00Z".to_string(),
            labels: [
                ("com.docker.compose.project", "demo"),
                ("com.docker.compose.volume", "data"),
            ]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        }
    }

    #[test]
    fn ls_prints_driver_and_name() {
        assert_eq!(
            list_table(&[volume("demo_data"), volume("shared-cache")]),
            "DRIVER    VOLUME NAME\nlocal     demo_data\nlocal     shared-cache\n"
        );
        assert_eq!(list_table(&[]), "DRIVER    VOLUME NAME\n");
        assert_eq!(
            list_json(&[volume("demo_data")]),
            "{\"Driver\":\"local\",\"Labels\":\"com.docker.compose.project=demo,\
             com.docker.compose.volume=data\",\"Mountpoint\":\
             \"/var/lib/rcompose/volumes/demo_data/_data\",\"Name\":\"demo_data\",\
             \"Scope\":\"local\"}\n"
        );
    }

    #[test]
    fn keys_become_full_names() {
        let keys: BTreeMap<String, String> = [("data", "demo_data"), ("ext", "shared")]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let names = ["data", "demo_data", "other", "ext"].map(str::to_string);
        assert_eq!(
            full_names(&names, &keys),
            ["demo_data", "demo_data", "other", "shared"]
        );
    }

    #[test]
    fn verbs_parse() {
        let cli = parse([
            "rcompose", "volume", "prune", "-f", "--file", "c.yaml", "-p", "demo",
        ])
        .unwrap();
        match cli {
            Cli {
                command: Some(crate::cli::Command::Volume(Command::Prune(verb))),
                global,
                ..
            } => {
                assert!(verb.args.force);
                assert_eq!(global.files, [PathBuf::from("c.yaml")]);
                assert_eq!(global.project_name.as_deref(), Some("demo"));
            }
            other => panic!("unexpected {other:?}"),
        }
        assert!(parse(["rcompose", "volume", "rm"]).is_err());
        assert!(parse(["rcompose", "volume", "inspect", "a", "b"]).is_ok());
        assert!(parse(["rcompose", "volume", "list", "-q"]).is_ok());
    }
}
