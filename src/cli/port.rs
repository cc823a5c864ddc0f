//! `rcompose port SERVICE PRIVATE_PORT`: where a service's container port is published
//! on the host (`0.0.0.0:49153`), as `docker compose port` prints it.

use super::image::write;
use super::options::check_services;
use super::ps::containers;
use super::{CliError, Context};
use crate::engine::protocol::ContainerSummary;
use std::io::Write;

/// The arguments of `rcompose port`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The port's protocol
    #[arg(long, default_value = "tcp", value_parser = ["tcp", "udp"])]
    pub protocol: String,
    /// Which container of the service, when it has several
    #[arg(long, default_value_t = 1, value_name = "N",
          value_parser = clap::value_parser!(u32).range(1..))]
    pub index: u32,
    /// The service
    #[arg(value_name = "SERVICE")]
    pub service: String,
    /// The container's port
    #[arg(value_name = "PRIVATE_PORT")]
    pub port: u16,
}

/// Prints the host address of the port.
pub fn run(args: &Args, context: &Context, out: &mut dyn Write) -> Result<(), CliError> {
    let (project, loaded) = context.load_or_name()?;
    if let Some(loaded) = &loaded {
        check_services(loaded, std::slice::from_ref(&args.service))?;
    }
    let listed = containers(&context.client()?, &project, false)?;
    write(out, &format!("{}\n", published(args, &project, &listed)?))
}

/// The host side of the port of `args` among `containers` of `project`.
fn published(
    args: &Args,
    project: &str,
    containers: &[ContainerSummary],
) -> Result<String, CliError> {
    let container = containers
        .iter()
        .find(|c| c.service == args.service && c.number == Some(args.index))
        .ok_or_else(|| CliError::NoContainer {
            project: project.to_string(),
            service: args.service.clone(),
            index: args.index,
        })?;
    container
        .ports
        .iter()
        .find(|p| p.target == args.port && p.protocol == args.protocol)
        .map(|p| format!("{}:{}", p.host_ip, p.host_port))
        .ok_or_else(|| CliError::NoPublishedPort {
            container: container.name.clone(),
            service: args.service.clone(),
            port: args.port,
            protocol: args.protocol.clone(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::logs::tests::container;
    use crate::cli::{parse, Command};
    use crate::engine::protocol::PortSummary;

    fn args(line: &[&str]) -> Args {
        match parse(line.iter().copied()).unwrap().command {
            Some(Command::Port(verb)) => verb.args,
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn finds_the_host_side() {
        let mut web1 = container("demo-web-1", "web", Some(1));
        web1.ports = vec![PortSummary {
            host_ip: "0.0.0.0".to_string(),
            host_port: 49153,
            target: 80,
            protocol: "tcp".to_string(),
        }];
        let mut web2 = container("demo-web-2", "web", Some(2));
        web2.ports = vec![PortSummary {
            host_ip: "127.0.0.1".to_string(),
            host_port: 5353,
            target: 53,
            protocol: "udp".to_string(),
        }];
        let listed = [web1, web2];
        let found = |line: &[&str]| published(&args(line), "demo", &listed);
        assert_eq!(
            found(&["rcompose", "port", "web", "80"]).unwrap(),
            "0.0.0.0:49153"
        );
        assert_eq!(
            found(&[
                "rcompose",
                "port",
                "--index",
                "2",
                "--protocol",
                "udp",
                "web",
                "53"
            ])
            .unwrap(),
            "127.0.0.1:5353"
        );
        assert!(matches!(
            found(&["rcompose", "port", "--protocol", "udp", "web", "80"]),
            Err(CliError::NoPublishedPort { port: 80, .. })
        ));
        assert!(matches!(
            found(&["rcompose", "port", "--index", "3", "web", "80"]),
            Err(CliError::NoContainer { index: 3, .. })
        ));
        assert!(matches!(
            found(&["rcompose", "port", "db", "80"]),
            Err(CliError::NoContainer { .. })
        ));
    }

    #[test]
    fn options_parse() {
        assert!(parse(["rcompose", "port", "web"]).is_err());
        assert!(parse(["rcompose", "port", "web", "70000"]).is_err());
        assert!(parse(["rcompose", "port", "--protocol", "sctp", "web", "80"]).is_err());
        assert!(parse(["rcompose", "port", "--index", "0", "web", "80"]).is_err());
        let parsed = args(&["rcompose", "port", "web", "80"]);
        assert_eq!((parsed.protocol.as_str(), parsed.index), ("tcp", 1));
    }
}
