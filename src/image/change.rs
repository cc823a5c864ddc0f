//! Docker's `--change` instructions (`CMD ["sh"]`, `ENV K=V`, …), read as the Dockerfile
//! lines they are, and applied to an image config.

use super::config::{Healthcheck, ImageConfig};
use crate::spec::units::{Duration, UnitError};
use std::str::FromStr;

/// One `--change` instruction, already parsed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Change {
    /// `CMD ["a", "b"]`, or `CMD a b` for `["/bin/sh", "-c", "a b"]`.
    Cmd(Vec<String>),
    /// `ENTRYPOINT`, in the same two forms as `CMD`.
    Entrypoint(Vec<String>),
    /// `ENV K=V K2="v 2"`, or `ENV K the rest of the line`.
    Env(Vec<(String, String)>),
    /// `LABEL k=v`, in the same forms as `ENV`.
    Label(Vec<(String, String)>),
    /// `EXPOSE 80 53/udp 8000-8001/tcp`, as `80/tcp` … one entry per port.
    Expose(Vec<String>),
    /// `VOLUME ["/a"]` or `VOLUME /a /b`.
    Volume(Vec<String>),
    /// `WORKDIR /srv`; a relative path continues the current working directory.
    Workdir(String),
    /// `USER name[:group]`.
    User(String),
    /// `STOPSIGNAL SIGQUIT`.
    StopSignal(String),
    /// `HEALTHCHECK [--interval=…] CMD …`, or `HEALTHCHECK NONE` (`test` is `["NONE"]`).
    Healthcheck(Healthcheck),
}

/// A `--change` that could not be read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid change {change:?}: {problem}")]
pub struct ChangeError {
    pub change: String,
    pub problem: ChangeProblem,
}

/// What is wrong with a `--change`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ChangeProblem {
    #[error(
        "unknown instruction {0:?}: a change is one of CMD, ENTRYPOINT, ENV, EXPOSE, \
         HEALTHCHECK, LABEL, STOPSIGNAL, USER, VOLUME, WORKDIR"
    )]
    UnknownInstruction(String),
    #[error("{0} needs an argument")]
    MissingArgument(&'static str),
    #[error("a quote is not closed")]
    UnclosedQuote,
    #[error("{0:?} is not NAME=VALUE (with several pairs, each one needs an =)")]
    NotNameValue(String),
    #[error("a name before = is empty")]
    BlankName,
    #[error("{0} NAME VALUE needs a value after the name")]
    MissingValue(&'static str),
    #[error(
        "{0:?} is not a port: expected PORT, PORT/PROTO or FIRST-LAST/PROTO, ports from 0 \
         to 65535, and tcp, udp or sctp"
    )]
    Port(String),
    #[error(
        "unknown HEALTHCHECK option {0:?}: expected --interval, --timeout, --start-period, \
         --start-interval or --retries"
    )]
    HealthcheckOption(String),
    #[error("HEALTHCHECK --{option}: {source}")]
    HealthcheckDuration { option: String, source: UnitError },
    #[error("HEALTHCHECK --retries {0:?} is not a whole number")]
    HealthcheckRetries(String),
    #[error("HEALTHCHECK needs NONE, or options then CMD and a command")]
    HealthcheckCommand,
}

impl FromStr for Change {
    type Err = ChangeError;

    fn from_str(change: &str) -> Result<Change, ChangeError> {
        parse(change.trim()).map_err(|problem| ChangeError {
            change: change.to_string(),
            problem,
        })
    }
}

fn parse(change: &str) -> Result<Change, ChangeProblem> {
    let (keyword, args) = split_word(change);
    let instruction = keyword.to_ascii_uppercase();
    let name: &'static str = match instruction.as_str() {
        "CMD" => "CMD",
        "ENTRYPOINT" => "ENTRYPOINT",
        "ENV" => "ENV",
        "LABEL" => "LABEL",
        "EXPOSE" => "EXPOSE",
        "VOLUME" => "VOLUME",
        "WORKDIR" => "WORKDIR",
        "USER" => "USER",
        "STOPSIGNAL" => "STOPSIGNAL",
        "HEALTHCHECK" => "HEALTHCHECK",
        _ => return Err(ChangeProblem::UnknownInstruction(keyword.to_string())),
    };
    if args.is_empty() {
        return Err(ChangeProblem::MissingArgument(name));
    }
    Ok(match name {
        "CMD" => Change::Cmd(command(args)),
        "ENTRYPOINT" => Change::Entrypoint(command(args)),
        "ENV" => Change::Env(name_values(name, args)?),
        "LABEL" => Change::Label(name_values(name, args)?),
        "EXPOSE" => Change::Expose(ports(args)?),
        "VOLUME" => Change::Volume(match exec_form(args) {
            Some(paths) => paths,
            None => words(args)?,
        }),
        "WORKDIR" => Change::Workdir(words(args)?.join(" ")),
        "USER" => Change::User(words(args)?.join(" ")),
        "STOPSIGNAL" => Change::StopSignal(words(args)?.join(" ")),
        _ => Change::Healthcheck(healthcheck(args)?),
    })
}

impl Change {
    /// Applies the change to `config`, as a Dockerfile line of the same text would.
    pub fn apply(&self, config: &mut ImageConfig) {
        match self {
            Change::Cmd(cmd) => config.cmd = Some(cmd.clone()),
            Change::Entrypoint(entrypoint) => config.entrypoint = Some(entrypoint.clone()),
            Change::Env(pairs) => {
                for (name, value) in pairs {
                    let entry = format!("{name}={value}");
                    let existing = config
                        .env
                        .iter_mut()
                        .find(|e| e.split_once('=').map_or(e.as_str(), |(n, _)| n) == name);
                    match existing {
                        Some(existing) => *existing = entry,
                        None => config.env.push(entry),
                    }
                }
            }
            Change::Label(pairs) => config.labels.extend(pairs.iter().cloned()),
            Change::Expose(ports) => config.exposed_ports.extend(ports.iter().cloned()),
            Change::Volume(paths) => config.volumes.extend(paths.iter().cloned()),
            Change::Workdir(dir) if dir.starts_with('/') => config.working_dir = dir.clone(),
            Change::Workdir(dir) => {
                let base = config.working_dir.trim_end_matches('/');
                config.working_dir = format!("{base}/{dir}");
            }
            Change::User(user) => config.user = user.clone(),
            Change::StopSignal(signal) => config.stop_signal = Some(signal.clone()),
            Change::Healthcheck(healthcheck) => config.healthcheck = Some(healthcheck.clone()),
        }
    }
}

/// The first word and the rest, both trimmed.
fn split_word(text: &str) -> (&str, &str) {
    match text.split_once(char::is_whitespace) {
        Some((word, rest)) => (word, rest.trim()),
        None => (text, ""),
    }
}

/// A JSON array of strings is the exec form.
fn exec_form(args: &str) -> Option<Vec<String>> {
    if args.starts_with('[') {
        serde_json::from_str(args).ok()
    } else {
        None
    }
}

/// The exec form as is; anything else runs through `/bin/sh -c`.
fn command(args: &str) -> Vec<String> {
    exec_form(args)
        .unwrap_or_else(|| vec!["/bin/sh".to_string(), "-c".to_string(), args.to_string()])
}

/// Words split as a shell would, quotes removed.
fn words(args: &str) -> Result<Vec<String>, ChangeProblem> {
    shlex::split(args).ok_or(ChangeProblem::UnclosedQuote)
}

/// `K=V K2="v 2"`, or the legacy `K the rest` (one pair).
fn name_values(
    instruction: &'static str,
    args: &str,
) -> Result<Vec<(String, String)>, ChangeProblem> {
    let words = words(args)?;
    let Some(first) = words.first() else {
        return Err(ChangeProblem::MissingArgument(instruction));
    };
    if !first.contains('=') {
        let value = words.get(1..).unwrap_or_default().join(" ");
        if value.is_empty() {
            return Err(ChangeProblem::MissingValue(instruction));
        }
        return Ok(vec![(first.clone(), value)]);
    }
    words
        .iter()
        .map(|word| match word.split_once('=') {
            Some(("", _)) => Err(ChangeProblem::BlankName),
            Some((name, value)) => Ok((name.to_string(), value.to_string())),
            None => Err(ChangeProblem::NotNameValue(word.clone())),
        })
        .collect()
}

/// Each `PORT[/PROTO]` or `FIRST-LAST[/PROTO]` as `PORT/proto` entries.
fn ports(args: &str) -> Result<Vec<String>, ChangeProblem> {
    let mut ports = Vec::new();
    for spec in words(args)? {
        let bad = || ChangeProblem::Port(spec.clone());
        let (range, proto) = match spec.split_once('/') {
            Some((range, proto)) => (range, proto.to_ascii_lowercase()),
            None => (spec.as_str(), "tcp".to_string()),
        };
        if !matches!(proto.as_str(), "tcp" | "udp" | "sctp") {
            return Err(bad());
        }
        let port = |text: &str| {
            (!text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()))
                .then(|| text.parse::<u16>().ok())
                .flatten()
        };
        let (first, last) = match range.split_once('-') {
            Some((first, last)) => (port(first), port(last)),
            None => (port(range), port(range)),
        };
        match (first, last) {
            (Some(first), Some(last)) if first <= last => {
                ports.extend((first..=last).map(|p| format!("{p}/{proto}")));
            }
            _ => return Err(bad()),
        }
    }
    Ok(ports)
}

/// `NONE`, or `[--option=value …] CMD command`.
fn healthcheck(args: &str) -> Result<Healthcheck, ChangeProblem> {
    let mut check = Healthcheck::default();
    let mut rest = args;
    loop {
        let (word, after) = split_word(rest);
        let Some(option) = word.strip_prefix("--") else {
            break;
        };
        let (name, value) = option.split_once('=').unwrap_or((option, ""));
        let duration = || {
            Duration::parse(value)
                .map(|d| Some(d.as_std()).filter(|d| !d.is_zero()))
                .map_err(|source| ChangeProblem::HealthcheckDuration {
                    option: name.to_string(),
                    source,
                })
        };
        match name {
            "interval" => check.interval = duration()?,
            "timeout" => check.timeout = duration()?,
            "start-period" => check.start_period = duration()?,
            "start-interval" => check.start_interval = duration()?,
            "retries" => {
                let retries = value
                    .parse::<u32>()
                    .map_err(|_| ChangeProblem::HealthcheckRetries(value.to_string()))?;
                check.retries = Some(retries).filter(|&n| n != 0);
            }
            _ => return Err(ChangeProblem::HealthcheckOption(word.to_string())),
        }
        rest = after;
    }
    let (word, command) = split_word(rest);
    match word.to_ascii_uppercase().as_str() {
        "NONE" if command.is_empty() && rest.len() == args.len() => {
            check.test = vec!["NONE".to_string()];
        }
        "CMD" if !command.is_empty() => {
            check.test = match exec_form(command) {
                Some(exec) => std::iter::once("CMD".to_string()).chain(exec).collect(),
                None => vec!["CMD-SHELL".to_string(), command.to_string()],
            };
        }
        _ => return Err(ChangeProblem::HealthcheckCommand),
    }
    Ok(check)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration as StdDuration;

    fn change(text: &str) -> Change {
        text.parse().unwrap()
    }

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
        items
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn commands_in_exec_and_shell_form() {
        assert_eq!(change(r#"CMD ["sh"]"#), Change::Cmd(strings(&["sh"])));
        assert_eq!(
            change("CMD sh -c 'echo hi'"),
            Change::Cmd(strings(&["/bin/sh", "-c", "sh -c 'echo hi'"]))
        );
        assert_eq!(
            change(r#"entrypoint ["/bin/app", "--flag"]"#),
            Change::Entrypoint(strings(&["/bin/app", "--flag"]))
        );
        // Not a JSON array of strings: docker runs it through the shell.
        assert_eq!(
            change("CMD [not json"),
            Change::Cmd(strings(&["/bin/sh", "-c", "[not json"]))
        );
    }

    #[test]
    fn env_and_labels_in_both_forms() {
        assert_eq!(
            change(r#"ENV A=1 B="two words" C="#),
            Change::Env(pairs(&[("A", "1"), ("B", "two words"), ("C", "")]))
        );
        assert_eq!(
            change("ENV K some value"),
            Change::Env(pairs(&[("K", "some value")]))
        );
        assert_eq!(
            change(r#"LABEL org.example="x y" b=2"#),
            Change::Label(pairs(&[("org.example", "x y"), ("b", "2")]))
        );
    }

    #[test]
    fn other_instructions() {
        assert_eq!(
            change("EXPOSE 80 53/UDP 8000-8002/tcp"),
            Change::Expose(strings(&[
                "80/tcp", "53/udp", "8000/tcp", "8001/tcp", "8002/tcp"
            ]))
        );
        assert_eq!(
            change(r#"VOLUME ["/data"]"#),
            Change::Volume(strings(&["/data"]))
        );
        assert_eq!(
            change("VOLUME /a /b"),
            Change::Volume(strings(&["/a", "/b"]))
        );
        assert_eq!(
            change("WORKDIR /srv/app"),
            Change::Workdir("/srv/app".into())
        );
        assert_eq!(
            change("USER nobody:nogroup"),
            Change::User("nobody:nogroup".into())
        );
        assert_eq!(
            change("  STOPSIGNAL   SIGQUIT "),
            Change::StopSignal("SIGQUIT".into())
        );
    }

    #[test]
    fn healthchecks() {
        assert_eq!(
            change("HEALTHCHECK NONE"),
            Change::Healthcheck(Healthcheck {
                test: strings(&["NONE"]),
                ..Healthcheck::default()
            })
        );
        assert_eq!(
            change("HEALTHCHECK --interval=5s --timeout=1m30s --retries=3 CMD wget -q -O- x"),
            Change::Healthcheck(Healthcheck {
                test: strings(&["CMD-SHELL", "wget -q -O- x"]),
                interval: Some(StdDuration::from_secs(5)),
                timeout: Some(StdDuration::from_secs(90)),
                retries: Some(3),
                ..Healthcheck::default()
            })
        );
        assert_eq!(
            change(r#"HEALTHCHECK --start-period=0s cmd ["true"]"#),
            Change::Healthcheck(Healthcheck {
                test: strings(&["CMD", "true"]),
                ..Healthcheck::default()
            })
        );
    }

    #[test]
    fn bad_changes_say_what_is_wrong() {
        let table = [
            ("RUN x", ChangeProblem::UnknownInstruction("RUN".into())),
            ("", ChangeProblem::UnknownInstruction(String::new())),
            ("CMD", ChangeProblem::MissingArgument("CMD")),
            ("ENV A=1 B", ChangeProblem::NotNameValue("B".into())),
            ("ENV =1", ChangeProblem::BlankName),
            ("ENV K", ChangeProblem::MissingValue("ENV")),
            ("ENV A='x", ChangeProblem::UnclosedQuote),
            ("EXPOSE 80/icmp", ChangeProblem::Port("80/icmp".into())),
            ("EXPOSE 70000", ChangeProblem::Port("70000".into())),
            ("EXPOSE 90-80", ChangeProblem::Port("90-80".into())),
            ("EXPOSE +80", ChangeProblem::Port("+80".into())),
            (
                "HEALTHCHECK --every=1s CMD x",
                ChangeProblem::HealthcheckOption("--every=1s".into()),
            ),
            (
                "HEALTHCHECK --retries=x CMD y",
                ChangeProblem::HealthcheckRetries("x".into()),
            ),
            ("HEALTHCHECK CMD", ChangeProblem::HealthcheckCommand),
            (
                "HEALTHCHECK --interval=1s NONE",
                ChangeProblem::HealthcheckCommand,
            ),
            (
                "HEALTHCHECK --interval=soon CMD x",
                ChangeProblem::HealthcheckDuration {
                    option: "interval".into(),
                    source: UnitError::NotADuration("soon".into()),
                },
            ),
        ];
        for (text, problem) in table {
            assert_eq!(
                text.parse::<Change>(),
                Err(ChangeError {
                    change: text.to_string(),
                    problem,
                }),
                "{text}"
            );
        }
        assert_eq!(
            "ENV K".parse::<Change>().unwrap_err().to_string(),
            "invalid change \"ENV K\": ENV NAME VALUE needs a value after the name"
        );
    }

    #[test]
    fn changes_apply_in_order() {
        let mut config = ImageConfig {
            env: strings(&["PATH=/bin", "A=old"]),
            ..ImageConfig::default()
        };
        for text in [
            "ENV A=new B=2",
            "WORKDIR /srv",
            "WORKDIR app",
            r#"CMD ["sh"]"#,
            "ENTRYPOINT /init",
            "LABEL a=1",
            "EXPOSE 80",
            "VOLUME /data",
            "USER 1000",
            "STOPSIGNAL SIGINT",
            "HEALTHCHECK NONE",
        ] {
            change(text).apply(&mut config);
        }
        assert_eq!(
            config,
            ImageConfig {
                env: strings(&["PATH=/bin", "A=new", "B=2"]),
                entrypoint: Some(strings(&["/bin/sh", "-c", "/init"])),
                cmd: Some(strings(&["sh"])),
                working_dir: "/srv/app".into(),
                user: "1000".into(),
                exposed_ports: ["80/tcp".to_string()].into(),
                volumes: ["/data".to_string()].into(),
                stop_signal: Some("SIGINT".into()),
                labels: [("a".to_string(), "1".to_string())].into(),
                healthcheck: Some(Healthcheck {
                    test: strings(&["NONE"]),
                    ..Healthcheck::default()
                }),
            }
        );
    }
}
