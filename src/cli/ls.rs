//! `rcompose ls`: the projects that have containers on this engine, as compose v2
//! lists them. It asks a running engine only: with none, there are no projects.

use super::image::{unexpected, write, Format};
use super::table;
use super::{CliError, Context};
use crate::engine::protocol::{ProjectSummary, Reply, Request};
use crate::engine::ClientError;
use std::io::Write;

/// The arguments of `rcompose ls`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Projects whose containers have all stopped too
    #[arg(short, long)]
    pub all: bool,
    /// Only the names
    #[arg(short, long)]
    pub quiet: bool,
    /// A table, or a JSON array
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
}

/// Lists the projects.
pub fn run(args: &Args, context: &Context, out: &mut dyn Write) -> Result<(), CliError> {
    let request = Request::Projects { all: args.all };
    let reply = context
        .client()?
        .call_running(&request, &[])
        .and_then(|call| call.finish(|_, _| {}));
    let projects = match reply {
        Ok(Reply::Projects(projects)) => projects,
        Ok(other) => return Err(unexpected("ls", &other)),
        Err(ClientError::NotRunning { .. }) => Vec::new(),
        Err(err) => return Err(err.into()),
    };
    let text = match (args.quiet, args.format) {
        (true, _) => projects.iter().map(|p| format!("{}\n", p.name)).collect(),
        (false, Format::Table) => ls_table(&projects),
        (false, Format::Json) => ls_json(&projects),
    };
    write(out, &text)
}

fn ls_table(projects: &[ProjectSummary]) -> String {
    let mut rows = vec![["NAME", "STATUS", "CONFIG FILES"]
        .map(str::to_string)
        .to_vec()];
    rows.extend(
        projects
            .iter()
            .map(|p| vec![p.name.clone(), p.status.clone(), p.config_files.join(",")]),
    );
    table::table(&rows)
}

fn ls_json(projects: &[ProjectSummary]) -> String {
    let objects: Vec<serde_json::Value> = projects
        .iter()
        .map(|p| {
            serde_json::json!({
                "Name": p.name,
                "Status": p.status,
                "ConfigFiles": p.config_files.join(","),
            })
        })
        .collect();
    format!("{}\n", serde_json::Value::Array(objects))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{parse, Command};

    fn sample() -> Vec<ProjectSummary> {
        vec![
            ProjectSummary {
                name: "demo".to_string(),
                status: "running(3)".to_string(),
                config_files: vec![
                    "/srv/demo/compose.yaml".to_string(),
                    "/srv/demo/compose.override.yaml".to_string(),
                ],
            },
            ProjectSummary {
                name: "shop".to_string(),
                status: "exited(1), running(2)".to_string(),
                config_files: Vec::new(),
            },
        ]
    }

    #[test]
    fn table_and_json_read_like_compose() {
        assert_eq!(
            ls_table(&sample()),
            "NAME      STATUS                  CONFIG FILES\n\
             demo      running(3)              /srv/demo/compose.yaml,/srv/demo/compose.override.yaml\n\
             shop      exited(1), running(2)   \n"
        );
        assert_eq!(ls_table(&[]), "NAME      STATUS    CONFIG FILES\n");
        assert_eq!(
            ls_json(&sample()),
            "[{\"Name\":\"demo\",\"Status\":\"running(3)\",\"ConfigFiles\":\
             \"/srv/demo/compose.yaml,/srv/demo/compose.override.yaml\"},\
             {\"Name\":\"shop\",\"Status\":\"exited(1), running(2)\",\"ConfigFiles\":\"\"}]\n"
        );
    }

    #[test]
    fn options_parse() {
        match parse(["rcompose", "ls", "-a", "-q", "--format", "json"])
            .unwrap()
            .command
        {
            Some(Command::Ls(verb)) => {
                assert!(verb.args.all && verb.args.quiet);
                assert_eq!(verb.args.format, Format::Json);
            }
            other => panic!("unexpected {other:?}"),
        }
    }
}
