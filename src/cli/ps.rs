//! `rcompose ps`: the project's containers, as compose v2 lists them (a table, IDs,
//! service names, or a JSON array).

use super::image::{unexpected, write, Format};
use super::options::check_services;
use super::table::{self, ago, since};
use super::{CliError, Context};
use crate::engine::protocol::{ContainerSummary, PortSummary, Reply, Request};
use crate::engine::Client;
use std::io::Write;
use std::time::SystemTime;

/// The arguments of `rcompose ps`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Stopped containers too
    #[arg(short, long)]
    pub all: bool,
    /// Only the IDs
    #[arg(short, long, conflicts_with = "services_only")]
    pub quiet: bool,
    /// A table, or a JSON array
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
    /// Only the names of the services that have containers
    #[arg(long = "services")]
    pub services_only: bool,
    /// Only containers in this state, repeatable (stopped ones too)
    #[arg(long, value_name = "STATUS", value_parser = [
        "paused", "restarting", "removing", "running", "dead", "created", "exited"
    ])]
    pub status: Vec<String>,
    /// Only these services' containers [default: all of the project's]
    #[arg(value_name = "SERVICE")]
    pub services: Vec<String>,
}

/// Lists the containers.
pub fn run(args: &Args, context: &Context, out: &mut dyn Write) -> Result<(), CliError> {
    let (project, loaded) = context.load_or_name()?;
    if let Some(loaded) = &loaded {
        check_services(loaded, &args.services)?;
    }
    let client = context.client()?;
    let all = args.all || !args.status.is_empty();
    let listed = super::logs::of_services(containers(&client, &project, all)?, &args.services);
    let listed: Vec<ContainerSummary> = listed
        .into_iter()
        .filter(|c| args.status.is_empty() || args.status.contains(&c.state))
        .collect();
    let text = if args.quiet {
        listed.iter().map(|c| format!("{}\n", c.id)).collect()
    } else if args.services_only {
        let mut services: Vec<&str> = Vec::new();
        for container in &listed {
            if !services.contains(&container.service.as_str()) {
                services.push(&container.service);
            }
        }
        services.iter().map(|s| format!("{s}\n")).collect()
    } else {
        let now = SystemTime::now();
        match args.format {
            Format::Table => ps_table(&listed, now),
            Format::Json => ps_json(&listed, now),
        }
    };
    write(out, &text)
}

/// The containers of `project` (stopped ones too with `all`), sorted by name.
pub(super) fn containers(
    client: &Client,
    project: &str,
    all: bool,
) -> Result<Vec<ContainerSummary>, CliError> {
    let request = Request::List {
        project: Some(project.to_string()),
        all,
    };
    match client.call(&request, &[])?.finish(|_, _| {})? {
        Reply::Containers(mut containers) => {
            containers.sort_by(|a, b| a.name.cmp(&b.name));
            Ok(containers)
        }
        other => Err(unexpected("ps", &other)),
    }
}

/// compose v2's table: NAME IMAGE COMMAND SERVICE CREATED STATUS PORTS.
fn ps_table(containers: &[ContainerSummary], now: SystemTime) -> String {
    let mut rows = vec![[
        "NAME", "IMAGE", "COMMAND", "SERVICE", "CREATED", "STATUS", "PORTS",
    ]
    .map(str::to_string)
    .to_vec()];
    rows.extend(containers.iter().map(|c| {
        vec![
            c.name.clone(),
            c.image.clone(),
            format!("{:?}", ellipsis(&c.command, 20)),
            c.service.clone(),
            ago(Some(&c.created), now),
            status(c, now),
            ports(&c.ports),
        ]
    }));
    table::table(&rows)
}

/// compose v2's `--format json`: one array.
fn ps_json(containers: &[ContainerSummary], now: SystemTime) -> String {
    let objects: Vec<serde_json::Value> = containers
        .iter()
        .map(|c| {
            let publishers: Vec<serde_json::Value> = c
                .ports
                .iter()
                .map(|p| {
                    serde_json::json!({
                        "URL": p.host_ip,
                        "TargetPort": p.target,
                        "PublishedPort": p.host_port,
                        "Protocol": p.protocol,
                    })
                })
                .collect();
            let created = table::parse_rfc3339(&c.created)
                .map(|nanos| nanos.div_euclid(1_000_000_000) as i64)
                .unwrap_or(0);
            serde_json::json!({
                "ID": c.id,
                "Name": c.name,
                "Image": c.image,
                "Command": c.command,
                "Project": c.project,
                "Service": c.service,
                "Created": created,
                "State": c.state,
                "Status": status(c, now),
                "Health": c.health.as_deref().unwrap_or_default(),
                "ExitCode": c.exit_code.unwrap_or(0),
                "Networks": c.networks.keys().cloned().collect::<Vec<_>>().join(","),
                "Publishers": publishers,
            })
        })
        .collect();
    format!("{}\n", serde_json::Value::Array(objects))
}

/// docker's STATUS: `Up 5 seconds`, `Exited (0) 2 minutes ago`, `Created`.
fn status(container: &ContainerSummary, now: SystemTime) -> String {
    match container.state.as_str() {
        "running" => {
            let up = match since(container.started.as_deref(), now) {
                Some(duration) => format!("Up {duration}"),
                None => "Up".to_string(),
            };
            match container.health.as_deref() {
                // Docker's words: `Up 5 seconds (health: starting)`, `(healthy)`.
                Some("starting") => format!("{up} (health: starting)"),
                Some(health) => format!("{up} ({health})"),
                None => up,
            }
        }
        "exited" => format!(
            "Exited ({}) {}",
            container.exit_code.unwrap_or(0),
            ago(container.finished.as_deref(), now)
        ),
        state => {
            let mut chars = state.chars();
            match chars.next() {
                Some(first) => first.to_uppercase().chain(chars).collect(),
                None => String::new(),
            }
        }
    }
}

/// docker's PORTS: `0.0.0.0:8080->80/tcp, 127.0.0.1:5353->53/udp`.
fn ports(ports: &[PortSummary]) -> String {
    ports
        .iter()
        .map(|p| format!("{}:{}->{}/{}", p.host_ip, p.host_port, p.target, p.protocol))
        .collect::<Vec<_>>()
        .join(", ")
}

/// docker's truncation: at most `width` characters, the last an ellipsis when cut.
fn ellipsis(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        return text.to_string();
    }
    let mut cut: String = text.chars().take(width.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::logs::tests::container;
    use crate::cli::{parse, Command};
    use std::time::{Duration, UNIX_EPOCH};

    /// 2024-01-01T00:00:00Z plus `seconds`.
    fn at(seconds: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(1_704_067_200 + seconds)
    }

    fn port(host_ip: &str, host_port: u16, target: u16, protocol: &str) -> PortSummary {
        PortSummary {
            host_ip: host_ip.to_string(),
            host_port,
            target,
            protocol: protocol.to_string(),
        }
    }

    fn sample() -> Vec<ContainerSummary> {
        let mut web = container("demo-web-1", "web", Some(1));
        web.ports = vec![
            port("0.0.0.0", 8080, 80, "tcp"),
            port("127.0.0.1", 5353, 53, "udp"),
        ];
        let mut db = container("demo-db-1", "db", Some(1));
        db.image = "registry.example/postgres:16".to_string();
        db.command = "postgres".to_string();
        db.state = "exited".to_string();
        db.exit_code = Some(137);
        db.finished = Some("2024-01-01T00:00:05Z".to_string());
        let mut job = container("demo-job-1", "job", Some(1));
        job.state = "created".to_string();
        job.started = None;
        vec![web, db, job]
    }

    #[test]
    fn the_table_reads_like_compose() {
        assert_eq!(
            ps_table(&sample(), at(125)),
            "NAME         IMAGE                          COMMAND              SERVICE   \
             CREATED         STATUS                       PORTS\n\
             demo-web-1   busybox:latest                 \"sh -c 'httpd -f'\"   web       \
             2 minutes ago   Up 2 minutes                 0.0.0.0:8080->80/tcp, \
             127.0.0.1:5353->53/udp\n\
             demo-db-1    registry.example/postgres:16   \"postgres\"           db        \
             2 minutes ago   Exited (137) 2 minutes ago   \n\
             demo-job-1   busybox:latest                 \"sh -c 'httpd -f'\"   job       \
             2 minutes ago   Created                      \n"
        );
        assert_eq!(
            status(&sample()[0], at(1)),
            "Up Less than a second",
            "started at second 1"
        );
        assert_eq!(status(&sample()[0], at(6)), "Up 5 seconds");
    }

    #[test]
    fn long_commands_are_cut_and_quoted() {
        assert_eq!(
            ellipsis("docker-entrypoint.sh postgres", 20),
            "docker-entrypoint.s…"
        );
        assert_eq!(ellipsis("exactly twenty chars", 20), "exactly twenty chars");
        assert_eq!(
            format!("{:?}", ellipsis("echo \"hi\"", 20)),
            "\"echo \\\"hi\\\"\""
        );
    }

    #[test]
    fn status_shows_the_health_as_docker() {
        let mut container = sample()[0].clone();
        assert_eq!(status(&container, at(6)), "Up 5 seconds");
        for (health, shown) in [
            ("starting", "Up 5 seconds (health: starting)"),
            ("healthy", "Up 5 seconds (healthy)"),
            ("unhealthy", "Up 5 seconds (unhealthy)"),
        ] {
            container.health = Some(health.to_string());
            assert_eq!(status(&container, at(6)), shown);
        }
    }

    #[test]
    fn json_is_one_array() {
        let json = ps_json(&sample()[..2], at(6));
        let value: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(
            value,
            serde_json::json!([
                {
                    "ID": "demo-web-1-id", "Name": "demo-web-1", "Image": "busybox:latest",
                    "Command": "sh -c 'httpd -f'", "Project": "demo", "Service": "web",
                    "Created": 1_704_067_200, "State": "running", "Status": "Up 5 seconds",
                    "Health": "", "ExitCode": 0, "Networks": "",
                    "Publishers": [
                        {"URL": "0.0.0.0", "TargetPort": 80, "PublishedPort": 8080, "Protocol": "tcp"},
                        {"URL": "127.0.0.1", "TargetPort": 53, "PublishedPort": 5353, "Protocol": "udp"}
                    ]
                },
                {
                    "ID": "demo-db-1-id", "Name": "demo-db-1",
                    "Image": "registry.example/postgres:16", "Command": "postgres",
                    "Project": "demo", "Service": "db", "Created": 1_704_067_200,
                    "State": "exited", "Status": "Exited (137) 1 second ago", "Health": "",
                    "ExitCode": 137, "Networks": "", "Publishers": []
                }
            ])
        );
        assert_eq!(json.lines().count(), 1);
        assert_eq!(ps_json(&[], at(0)), "[]\n");
    }

    #[test]
    fn options_parse() {
        match parse([
            "rcompose", "ps", "-a", "--format", "json", "--status", "running", "--status",
            "exited", "web",
        ])
        .unwrap()
        .command
        {
            Some(Command::Ps(verb)) => {
                let args = verb.args;
                assert!(args.all && !args.quiet && !args.services_only);
                assert_eq!(args.format, Format::Json);
                assert_eq!(args.status, ["running", "exited"]);
                assert_eq!(args.services, ["web"]);
            }
            other => panic!("unexpected {other:?}"),
        }
        assert!(parse(["rcompose", "ps", "-q", "--services"]).is_err());
        assert!(parse(["rcompose", "ps", "--status", "sleeping"]).is_err());
        assert!(parse(["rcompose", "ps", "--format", "yaml"]).is_err());
    }
}
