//! `rcompose logs`: the output of a project's containers, each line prefixed with its
//! container (`web-1  | hello`) as compose v2 prints it. One connection per container;
//! lines are interleaved as they arrive when following, by time otherwise. The line
//! assembly, prefixes, colours and the follower threads serve `up` too.

use super::image::write;
use super::options::check_services;
use super::ps::containers;
use super::{CliError, Context};
use crate::engine::protocol::{ContainerSummary, Event, Request};
use crate::engine::{Client, ClientError};
use crate::runtime::logfile::LogEntry;
use std::io::{IsTerminal, Write};
use std::sync::mpsc::{self, Sender};

/// The arguments of `rcompose logs`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Keep printing new output until every container has ended
    #[arg(short, long)]
    pub follow: bool,
    /// Only the last N lines of each container (`all`: every line)
    #[arg(long, default_value = "all", value_name = "N", value_parser = parse_tail)]
    pub tail: Tail,
    /// Show each line's time (RFC 3339, UTC, nanoseconds)
    #[arg(short, long)]
    pub timestamps: bool,
    /// Don't prefix lines with their container
    #[arg(long)]
    pub no_log_prefix: bool,
    /// No colours [default: coloured prefixes when standard output is a terminal]
    #[arg(long)]
    pub no_color: bool,
    /// Only these services' containers [default: all of the project's]
    #[arg(value_name = "SERVICE")]
    pub services: Vec<String>,
}

/// `--tail`: `None` for all lines.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tail(pub Option<usize>);

fn parse_tail(text: &str) -> Result<Tail, String> {
    if text == "all" {
        return Ok(Tail(None));
    }
    text.parse()
        .map(|n| Tail(Some(n)))
        .map_err(|_| format!("expected a number of lines or `all`, not {text:?}"))
}

/// Prints the logs.
pub fn run(args: &Args, context: &Context, out: &mut dyn Write) -> Result<(), CliError> {
    let (project, loaded) = context.load_or_name()?;
    if let Some(loaded) = &loaded {
        check_services(loaded, &args.services)?;
    }
    let client = context.client()?;
    let containers = of_services(containers(&client, &project, true)?, &args.services);
    let names: Vec<String> = containers.iter().map(display_name).collect();
    let printer = Printer::new(
        &names,
        !args.no_log_prefix,
        !args.no_color && std::io::stdout().is_terminal(),
        args.timestamps,
    );
    if !args.follow {
        let mut per_container = Vec::new();
        for container in &containers {
            per_container.push(read_all(&client, container, args.tail.0)?);
        }
        for (index, time, text) in merge_by_time(per_container) {
            write(out, &printer.line(index, &time, &text))?;
        }
        return Ok(());
    }
    let (sender, receiver) = mpsc::channel();
    follow(&client, &containers, args.tail.0, &sender, |followed| {
        followed
    });
    drop(sender);
    for followed in receiver {
        match followed {
            Followed::Line { index, time, text } => write(out, &printer.line(index, &time, &text))?,
            Followed::Ended {
                result: Err(err), ..
            } => eprintln!("rcompose: warning: {err}"),
            Followed::Ended { .. } => {}
        }
    }
    Ok(())
}

/// Only the containers of `services` (all when it is empty).
pub(super) fn of_services(
    containers: Vec<ContainerSummary>,
    services: &[String],
) -> Vec<ContainerSummary> {
    containers
        .into_iter()
        .filter(|c| services.is_empty() || services.contains(&c.service))
        .collect()
}

/// A container as compose names it in prefixes: `web-1` for `demo-web-1`, its full name
/// when it has a `container_name` or is a one-off.
pub(super) fn display_name(container: &ContainerSummary) -> String {
    match container.number {
        Some(number)
            if container.name
                == format!("{}-{}-{number}", container.project, container.service) =>
        {
            format!("{}-{number}", container.service)
        }
        _ => container.name.clone(),
    }
}

/// Every entry of a container's log (its last `tail` lines), as lines.
fn read_all(
    client: &Client,
    container: &ContainerSummary,
    tail: Option<usize>,
) -> Result<Vec<(String, String)>, CliError> {
    let request = Request::Logs {
        container: container.id.clone(),
        follow: false,
        tail,
    };
    let mut lines = Lines::default();
    let mut all = Vec::new();
    client.call(&request, &[])?.finish(|event, _| {
        if let Event::Log(entry) = event {
            all.extend(lines.push(&entry));
        }
    })?;
    all.extend(lines.flush());
    Ok(all)
}

/// Lines of several containers (each in order), merged by time: `(container index,
/// time, text)`. Equal times keep the containers' order.
pub(super) fn merge_by_time(
    per_container: Vec<Vec<(String, String)>>,
) -> Vec<(usize, String, String)> {
    let mut all: Vec<(usize, String, String)> = per_container
        .into_iter()
        .enumerate()
        .flat_map(|(index, lines)| {
            lines
                .into_iter()
                .map(move |(time, text)| (index, time, text))
        })
        .collect();
    // The times are all written with nine fractional digits in UTC: they sort as text.
    all.sort_by(|a, b| a.1.cmp(&b.1));
    all
}

/// What a follower thread reports.
#[derive(Debug)]
pub(super) enum Followed {
    /// A complete line of container `index` (without its `\n`).
    Line {
        index: usize,
        time: String,
        text: String,
    },
    /// Container `index`'s log has ended (it has stopped), or could not be read.
    Ended {
        index: usize,
        result: Result<(), ClientError>,
    },
}

/// Follows each container's log on a connection and thread of its own, sending what
/// comes through `sender` (wrapped by `wrap`). Each thread ends with
/// [`Followed::Ended`].
pub(super) fn follow<M: Send + 'static>(
    client: &Client,
    containers: &[ContainerSummary],
    tail: Option<usize>,
    sender: &Sender<M>,
    wrap: fn(Followed) -> M,
) {
    for (index, container) in containers.iter().enumerate() {
        let request = Request::Logs {
            container: container.id.clone(),
            follow: true,
            tail,
        };
        let (client, sender) = (client.clone(), sender.clone());
        std::thread::spawn(move || {
            let mut lines = Lines::default();
            let send = |time: String, text: String| {
                let _ = sender.send(wrap(Followed::Line { index, time, text }));
            };
            let result = client.call(&request, &[]).and_then(|call| {
                call.finish(|event, _| {
                    if let Event::Log(entry) = event {
                        for (time, text) in lines.push(&entry) {
                            send(time, text);
                        }
                    }
                })
            });
            if let Some((time, text)) = lines.flush() {
                send(time, text);
            }
            let result = result.map(|_| ());
            let _ = sender.send(wrap(Followed::Ended { index, result }));
        });
    }
}

/// Log entries (whole lines, or pieces of a long or unfinished one) joined into lines.
#[derive(Debug, Default)]
pub(super) struct Lines {
    pending: String,
    /// The time of the first piece of `pending`.
    time: String,
}

impl Lines {
    /// Adds an entry; returns the lines it completes, `(time, text)`, each with the
    /// time of its first piece.
    pub(super) fn push(&mut self, entry: &LogEntry) -> Vec<(String, String)> {
        let mut done = Vec::new();
        let mut rest = entry.log.as_str();
        while let Some((line, after)) = rest.split_once('\n') {
            let time = if self.pending.is_empty() {
                entry.time.clone()
            } else {
                std::mem::take(&mut self.time)
            };
            let mut text = std::mem::take(&mut self.pending);
            text.push_str(line);
            done.push((time, text));
            rest = after;
        }
        if !rest.is_empty() {
            if self.pending.is_empty() {
                self.time = entry.time.clone();
            }
            self.pending.push_str(rest);
        }
        done
    }

    /// What is left of an unfinished line.
    pub(super) fn flush(&mut self) -> Option<(String, String)> {
        if self.pending.is_empty() {
            return None;
        }
        Some((
            std::mem::take(&mut self.time),
            std::mem::take(&mut self.pending),
        ))
    }
}

/// compose's colours for containers, in turn: cyan, yellow, green, magenta, blue, then
/// their bright versions.
const RAINBOW: [&str; 10] = [
    "36", "33", "32", "35", "34", "36;1", "33;1", "32;1", "35;1", "34;1",
];

/// Formats containers' lines.
#[derive(Debug)]
pub(super) struct Printer {
    names: Vec<String>,
    /// The prefix of each container's lines (`web-1  |`), empty without prefixes.
    prefixes: Vec<String>,
    color: bool,
    timestamps: bool,
}

impl Printer {
    /// A printer for containers called `names` (compose's: `web-1`); `prefix`: lines
    /// start with the name, padded to the longest; `color`: the prefix is coloured per
    /// container; `timestamps`: lines start with their time.
    pub(super) fn new(names: &[String], prefix: bool, color: bool, timestamps: bool) -> Printer {
        let width = names.iter().map(|n| n.chars().count()).max().unwrap_or(0) + 1;
        let prefixes = names
            .iter()
            .enumerate()
            .map(|(index, name)| match prefix {
                true => paint(color, index, &format!("{name:<width$} |")),
                false => String::new(),
            })
            .collect();
        Printer {
            names: names.to_vec(),
            prefixes,
            color,
            timestamps,
        }
    }

    /// A line of container `index`, with its `\n`.
    pub(super) fn line(&self, index: usize, time: &str, text: &str) -> String {
        let mut line = String::new();
        if let Some(prefix) = self.prefixes.get(index).filter(|p| !p.is_empty()) {
            line.push_str(prefix);
            line.push(' ');
        }
        if self.timestamps {
            line.push_str(time);
            line.push(' ');
        }
        line.push_str(text);
        line.push('\n');
        line
    }

    /// What happened to container `index` (`web-1 exited with code 0`), with its `\n`.
    pub(super) fn status(&self, index: usize, message: &str) -> String {
        let name = self.names.get(index).map(String::as_str).unwrap_or("?");
        format!(
            "{}\n",
            paint(self.color, index, &format!("{name} {message}"))
        )
    }
}

fn paint(color: bool, index: usize, text: &str) -> String {
    match RAINBOW.get(index % RAINBOW.len()).filter(|_| color) {
        Some(code) => format!("\x1b[{code}m{text}\x1b[0m"),
        None => text.to_string(),
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::cli::{parse, Cli, Command};
    use crate::runtime::logfile::Stream;

    fn entry(log: &str, time: &str) -> LogEntry {
        LogEntry {
            log: log.to_string(),
            stream: Stream::Stdout,
            time: time.to_string(),
        }
    }

    fn pair(time: &str, text: &str) -> (String, String) {
        (time.to_string(), text.to_string())
    }

    pub(crate) fn container(name: &str, service: &str, number: Option<u32>) -> ContainerSummary {
        ContainerSummary {
            id: format!("{name}-id"),
            name: name.to_string(),
            project: "demo".to_string(),
            service: service.to_string(),
            image: "busybox:latest".to_string(),
            state: "running".to_string(),
            exit_code: None,
            labels: Default::default(),
            number,
            command: "sh -c 'httpd -f'".to_string(),
            created: "2024-01-01T00:00:00.000000000Z".to_string(),
            started: Some("2024-01-01T00:00:01.000000000Z".to_string()),
            finished: None,
            ports: Vec::new(),
            networks: Default::default(),
            health: None,
        }
    }

    #[test]
    fn options_parse() {
        let cli = parse([
            "rcompose",
            "logs",
            "-f",
            "--tail",
            "5",
            "-t",
            "--no-log-prefix",
            "--no-color",
            "web",
            "db",
            "--file",
            "c.yaml",
        ])
        .unwrap();
        match cli.command {
            Some(Command::Logs(verb)) => {
                let args = verb.args;
                assert!(args.follow && args.timestamps && args.no_log_prefix && args.no_color);
                assert_eq!(args.tail, Tail(Some(5)));
                assert_eq!(args.services, ["web", "db"]);
            }
            other => panic!("unexpected {other:?}"),
        }
        assert_eq!(cli.global.files, [std::path::PathBuf::from("c.yaml")]);
        match parse(["rcompose", "logs"]).unwrap() {
            Cli {
                command: Some(Command::Logs(verb)),
                ..
            } => {
                assert_eq!(verb.args.tail, Tail(None));
                assert!(!verb.args.follow);
            }
            other => panic!("unexpected {other:?}"),
        }
        assert!(parse(["rcompose", "logs", "--tail", "all"]).is_ok());
        let err = parse(["rcompose", "logs", "--tail=-3"]).unwrap_err();
        assert!(
            err.render().contains("expected a number of lines or `all`"),
            "{}",
            err.render()
        );
    }

    #[test]
    fn pieces_join_into_lines() {
        let mut lines = Lines::default();
        assert_eq!(lines.push(&entry("one\n", "t1")), [pair("t1", "one")]);
        assert_eq!(lines.push(&entry("par", "t2")), []);
        assert_eq!(lines.push(&entry("tial", "t3")), []);
        assert_eq!(
            lines.push(&entry("\nthree\nfou", "t4")),
            [pair("t2", "partial"), pair("t4", "three")]
        );
        assert_eq!(lines.flush(), Some(pair("t4", "fou")));
        assert_eq!(lines.flush(), None);
        assert_eq!(lines.push(&entry("\n", "t5")), [pair("t5", "")]);
    }

    #[test]
    fn names_drop_the_project() {
        assert_eq!(
            display_name(&container("demo-web-1", "web", Some(1))),
            "web-1"
        );
        assert_eq!(display_name(&container("custom", "web", Some(1))), "custom");
        assert_eq!(
            display_name(&container("demo-web-run-0123456789ab", "web", None)),
            "demo-web-run-0123456789ab"
        );
    }

    #[test]
    fn prefixes_are_padded_to_the_longest_name() {
        let names = ["web-1".to_string(), "worker-10".to_string()];
        let printer = Printer::new(&names, true, false, false);
        assert_eq!(printer.line(0, "t", "hello"), "web-1      | hello\n");
        assert_eq!(printer.line(1, "t", "hi"), "worker-10  | hi\n");
        assert_eq!(
            printer.status(0, "exited with code 0"),
            "web-1 exited with code 0\n"
        );
        let single = Printer::new(&names[..1], true, false, false);
        assert_eq!(single.line(0, "t", "x"), "web-1  | x\n");

        let plain = Printer::new(&names, false, false, true);
        assert_eq!(
            plain.line(1, "2024-01-01T00:00:00.000000001Z", "hi"),
            "2024-01-01T00:00:00.000000001Z hi\n"
        );
        let colored = Printer::new(&names, true, true, true);
        assert_eq!(
            colored.line(1, "T", "hi"),
            "\x1b[33mworker-10  |\x1b[0m T hi\n"
        );
        assert_eq!(
            colored.status(0, "exited with code 137"),
            "\x1b[36mweb-1 exited with code 137\x1b[0m\n"
        );
    }

    #[test]
    fn lines_merge_by_time() {
        let merged = merge_by_time(vec![
            vec![pair("2", "a2"), pair("4", "a4")],
            vec![pair("1", "b1"), pair("2", "b2"), pair("5", "b5")],
        ]);
        let order: Vec<(usize, &str)> = merged
            .iter()
            .map(|(index, _, text)| (*index, text.as_str()))
            .collect();
        assert_eq!(
            order,
            [(1, "b1"), (0, "a2"), (1, "b2"), (0, "a4"), (1, "b5")]
        );
    }
}
