//! The one error type of the command line: each variant knows its exit code, and the
//! error is printed once, at the top, with its cause chain.

use crate::engine::ClientError;
use std::error::Error as _;
use std::fmt;
use std::io;
use std::path::PathBuf;

/// Where an invalid project name came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NameOrigin {
    /// `-p` / `--project-name`.
    Flag,
    /// `COMPOSE_PROJECT_NAME`.
    Environment,
}

impl fmt::Display for NameOrigin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            NameOrigin::Flag => "-p/--project-name",
            NameOrigin::Environment => "COMPOSE_PROJECT_NAME",
        })
    }
}

/// Everything that can make a command fail.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// The command line itself is wrong (unknown option, missing value, ...); also
    /// carries `--help`, which clap reports through its error type.
    #[error("{0}")]
    Usage(#[from] clap::Error),
    /// A verb of a later stage of rcompose.
    #[error("`{verb}` is not implemented yet (`rcompose --help` lists the commands there are)")]
    NotImplemented { verb: String },
    /// No `-f`, no `COMPOSE_FILE`, and no compose file in the directory or above.
    #[error(
        "no compose file found in {} or its parents (looked for {}); use -f FILE",
        dir.display(),
        super::options::DEFAULT_FILE_NAMES.join(", ")
    )]
    NoComposeFile { dir: PathBuf },
    /// `-p` or `COMPOSE_PROJECT_NAME` is not a valid project name.
    #[error("{}", invalid_name_message(name, *origin))]
    InvalidProjectName { name: String, origin: NameOrigin },
    /// `-f -` was given and standard input could not be read.
    #[error("cannot read the compose file from standard input")]
    Stdin(#[source] io::Error),
    /// Writing the command's output failed.
    #[error("cannot write to standard output")]
    Output(#[source] io::Error),
    /// The working directory is gone or unreadable.
    #[error("cannot determine the working directory")]
    Cwd(#[source] io::Error),
    /// `-o FILE` could not be written.
    #[error("cannot write {}", path.display())]
    WriteFile {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// The compose files could not be read or are invalid (every problem is listed).
    #[error(transparent)]
    Load(#[from] crate::spec::LoadError),
    /// A service named on the command line is not in the project.
    #[error("no such service: `{name}` (the project has: {})", known.join(", "))]
    NoSuchService { name: String, known: Vec<String> },
    /// `port`: the service has no such replica among the running containers.
    #[error(
        "service `{service}` of project {project} has no running container number {index}: \
         start it with `rcompose up -d` (or choose another with --index)"
    )]
    NoContainer {
        project: String,
        service: String,
        index: u32,
    },
    /// `port`: the container publishes no such port.
    #[error(
        "container {container} (service `{service}`) publishes no port for {port}/{protocol}: \
         add it to the service's `ports:` and run `rcompose up -d`"
    )]
    NoPublishedPort {
        container: String,
        service: String,
        port: u16,
        protocol: String,
    },
    /// The dependency graph could not be built.
    #[error("{0}")]
    Graph(crate::graph::GraphErrors),
    /// The project could not be serialized (a bug: every model value serializes).
    #[error("cannot render the project: {0}")]
    Render(String),
    /// Our own executable (which runs the engine) can't be found.
    #[error("cannot find the rcompose executable (it runs the engine)")]
    CurrentExe(#[source] io::Error),
    /// Talking to the engine failed, or the engine refused the request (its message).
    #[error(transparent)]
    Engine(#[from] ClientError),
    /// The engine answered with a reply that doesn't go with the request.
    #[error(
        "the rcompose engine answered `{request}` with {reply}: is it another version of \
         rcompose? Stop it with `rcompose engine stop`"
    )]
    UnexpectedReply {
        request: &'static str,
        reply: String,
    },
    /// The engine (`rcompose engine`) failed.
    #[error(transparent)]
    Server(#[from] crate::engine::EngineError),
    /// `engine stop`: the engine answered but did not exit.
    #[error("the rcompose engine (pid {pid}) did not exit within {} s of being asked to stop", .waited.as_secs())]
    EngineStop {
        pid: u32,
        waited: std::time::Duration,
    },
    /// A file to send to the engine can't be opened.
    #[error("cannot open {}", path.display())]
    Open {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// `image load` without `-i` while standard input is a terminal.
    #[error(
        "`image load` reads the archive from standard input, which is a terminal: give \
         it with -i FILE or redirect standard input"
    )]
    StdinIsTerminal,
    /// Reading a confirmation from standard input failed.
    #[error("cannot read the answer from standard input")]
    Confirm(#[source] io::Error),
    /// The terminal could not be set up for an attached container, or signals could not
    /// be forwarded to it.
    #[error("cannot {what}")]
    Attach {
        what: &'static str,
        #[source]
        source: nix::Error,
    },
}

impl CliError {
    /// The process exit code: 2 for usage errors (0 for `--help`); the engine's code
    /// for what it refused (125 when it fails, 126/127 when a container's program can't
    /// run) and 125 when it can't be reached, as docker; 1 otherwise.
    pub fn exit_code(&self) -> i32 {
        match self {
            CliError::Usage(err) => err.exit_code(),
            CliError::Engine(err) => err.exit_code(),
            CliError::UnexpectedReply { .. } => 125,
            _ => 1,
        }
    }

    /// The message for the user: `rcompose: <message>: <cause>: <cause>` (a cause the
    /// text already holds is not repeated). Usage errors keep clap's own layout
    /// (message, usage line, hint).
    pub fn render(&self) -> String {
        if let CliError::Usage(err) = self {
            return err.to_string();
        }
        let mut text = format!("rcompose: {self}");
        let mut cause = self.source();
        while let Some(err) = cause {
            let more = err.to_string();
            if !text.contains(&more) {
                text.push_str(&format!(": {more}"));
            }
            cause = err.source();
        }
        text
    }

    /// Prints the error where it belongs: clap's help on stdout, everything else on
    /// stderr.
    pub fn print(&self) {
        match self {
            // clap picks the stream and colours.
            CliError::Usage(err) => {
                let _ = err.print();
            }
            _ => eprintln!("{}", self.render()),
        }
    }
}

fn invalid_name_message(name: &str, origin: NameOrigin) -> String {
    let mut message = format!(
        "invalid project name {name:?} (from {origin}): use only lowercase letters, digits, \
         '_' and '-', starting with a letter or digit"
    );
    let normalized = super::options::normalize_project_name(name);
    if !normalized.is_empty() {
        message.push_str(&format!(" (for example {normalized:?})"));
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_render_with_their_cause_chain() {
        let err = CliError::Stdin(io::Error::other("device went away"));
        assert_eq!(
            err.render(),
            "rcompose: cannot read the compose file from standard input: device went away"
        );
        assert_eq!(err.exit_code(), 1);
    }

    #[test]
    fn causes_already_in_the_message_are_not_repeated() {
        let err = CliError::from(ClientError::NotRunning {
            root: PathBuf::from("/tmp/r"),
            socket: PathBuf::from("/tmp/r/run/engine.sock"),
            source: io::Error::from_raw_os_error(2),
        });
        assert_eq!(
            err.render(),
            "rcompose: no rcompose engine runs for /tmp/r (socket /tmp/r/run/engine.sock: No \
             such file or directory (os error 2))"
        );
        assert_eq!(err.exit_code(), 125);
        let failed = CliError::from(ClientError::Failed(crate::engine::protocol::Failure {
            message: "no such image: nope:1".to_string(),
            exit_code: 125,
        }));
        assert_eq!(failed.render(), "rcompose: no such image: nope:1");
    }

    #[test]
    fn invalid_name_suggests_the_normalized_one() {
        let err = CliError::InvalidProjectName {
            name: "My App".to_string(),
            origin: NameOrigin::Flag,
        };
        assert_eq!(
            err.render(),
            "rcompose: invalid project name \"My App\" (from -p/--project-name): use only \
             lowercase letters, digits, '_' and '-', starting with a letter or digit \
             (for example \"myapp\")"
        );
        let err = CliError::InvalidProjectName {
            name: "__".to_string(),
            origin: NameOrigin::Environment,
        };
        assert_eq!(
            err.render(),
            "rcompose: invalid project name \"__\" (from COMPOSE_PROJECT_NAME): use only \
             lowercase letters, digits, '_' and '-', starting with a letter or digit"
        );
    }

    #[test]
    fn not_implemented_names_the_verb() {
        let err = CliError::NotImplemented {
            verb: "pull".to_string(),
        };
        assert_eq!(
            err.render(),
            "rcompose: `pull` is not implemented yet (`rcompose --help` lists the commands \
             there are)"
        );
        assert_eq!(err.exit_code(), 1);
    }

    #[test]
    fn port_errors_name_the_service_and_port() {
        let err = CliError::NoContainer {
            project: "demo".to_string(),
            service: "web".to_string(),
            index: 2,
        };
        assert_eq!(
            err.render(),
            "rcompose: service `web` of project demo has no running container number 2: start \
             it with `rcompose up -d` (or choose another with --index)"
        );
        let err = CliError::NoPublishedPort {
            container: "demo-web-1".to_string(),
            service: "web".to_string(),
            port: 80,
            protocol: "udp".to_string(),
        };
        assert_eq!(
            err.render(),
            "rcompose: container demo-web-1 (service `web`) publishes no port for 80/udp: add \
             it to the service's `ports:` and run `rcompose up -d`"
        );
    }

    #[test]
    fn no_compose_file_lists_the_names_looked_for() {
        let err = CliError::NoComposeFile {
            dir: PathBuf::from("/srv/app"),
        };
        assert_eq!(
            err.render(),
            "rcompose: no compose file found in /srv/app or its parents (looked for \
             compose.yaml, compose.yml, docker-compose.yml, docker-compose.yaml); use -f FILE"
        );
    }
}
