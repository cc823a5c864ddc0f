//! `rcompose image import|load|ls|inspect|rm|prune`: the engine's image store, printed
//! as docker prints it.

use super::table::{self, ago, docker_time, human_size};
use super::{CliError, Context, ForceVerb, GlobalArgs, Verb};
use crate::engine::protocol::{ImageSummary, Reply, Request};
use crate::engine::Client;
use std::fs::File;
use std::io::{self, BufRead, IsTerminal, Write};
use std::os::fd::AsFd;
use std::path::PathBuf;
use std::time::SystemTime;

/// The image verbs.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Make a one-layer image of a root filesystem tarball (plain, gzip or zstd), like
    /// `docker import`; prints the image's ID
    ///
    /// For example: rcompose image import rootfs.tar.gz tools:1.0 --change 'CMD ["sh"]'
    Import(Verb<ImportArgs>),
    /// Load the images of a `docker save` or OCI image-layout archive, every name in it
    ///
    /// For example: rcompose image load -i images.tar
    Load(Verb<LoadArgs>),
    /// List the images
    #[command(visible_alias = "list")]
    Ls(Verb<ListArgs>),
    /// Show images' details as JSON
    Inspect(Verb<InspectArgs>),
    /// Remove images (refused while a container uses one, unless --force)
    #[command(visible_alias = "remove")]
    Rm(ForceVerb<RemoveArgs>),
    /// Remove the images without a name that no container uses (with --all, every
    /// image no container uses)
    Prune(ForceVerb<PruneArgs>),
}

impl Command {
    /// The global options given after the verb.
    pub(super) fn global_mut(&mut self) -> &mut GlobalArgs {
        match self {
            Command::Import(verb) => &mut verb.global,
            Command::Load(verb) => &mut verb.global,
            Command::Ls(verb) => &mut verb.global,
            Command::Inspect(verb) => &mut verb.global,
            Command::Rm(verb) => &mut verb.global,
            Command::Prune(verb) => &mut verb.global,
        }
    }
}

/// The arguments of `image import`.
#[derive(Debug, clap::Args)]
pub struct ImportArgs {
    /// The tarball; `-` reads standard input
    #[arg(value_name = "FILE|-")]
    pub file: PathBuf,
    /// The image's name
    #[arg(value_name = "NAME[:TAG]")]
    pub name: String,
    /// A Dockerfile instruction for the image's config (CMD, ENTRYPOINT, ENV, EXPOSE,
    /// LABEL, STOPSIGNAL, USER, VOLUME, WORKDIR), repeatable
    #[arg(short, long, value_name = "INSTRUCTION")]
    pub change: Vec<String>,
}

/// The arguments of `image load`.
#[derive(Debug, clap::Args)]
pub struct LoadArgs {
    /// The archive [default: standard input]
    #[arg(short, long, value_name = "FILE|-")]
    pub input: Option<PathBuf>,
}

/// The arguments of `image ls`.
#[derive(Debug, clap::Args)]
pub struct ListArgs {
    /// Only the image IDs
    #[arg(short, long)]
    pub quiet: bool,
    /// A table, or one JSON object per line
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
}

/// How `ls` prints.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Table,
    Json,
}

/// The arguments of `image inspect`.
#[derive(Debug, clap::Args)]
pub struct InspectArgs {
    /// Names or IDs (a unique prefix of the ID is enough)
    #[arg(value_name = "IMAGE", required = true)]
    pub names: Vec<String>,
}

/// The arguments of `image rm`.
#[derive(Debug, clap::Args)]
pub struct RemoveArgs {
    /// Remove it even when a container uses it
    #[arg(short, long)]
    pub force: bool,
    /// Names or IDs
    #[arg(value_name = "IMAGE", required = true)]
    pub names: Vec<String>,
}

/// The arguments of `image prune`.
#[derive(Debug, clap::Args)]
pub struct PruneArgs {
    /// Every image no container uses, not only those without a name
    #[arg(short, long)]
    pub all: bool,
    /// Don't ask for confirmation
    #[arg(short, long)]
    pub force: bool,
}

/// Runs an image verb.
pub fn run(command: &Command, context: &Context, out: &mut dyn Write) -> Result<(), CliError> {
    let client = context.client()?;
    match command {
        Command::Import(verb) => import(&client, &verb.args, context, out),
        Command::Load(verb) => load(&client, &verb.args, context, out),
        Command::Ls(verb) => list(&client, &verb.args, out),
        Command::Inspect(verb) => {
            let request = Request::ImageInspect {
                names: verb.args.names.clone(),
            };
            match call(&client, &request, None)? {
                Reply::Json(value) => write(out, &table::json_pretty(&value)),
                other => Err(unexpected("image inspect", &other)),
            }
        }
        Command::Rm(verb) => {
            let request = Request::ImageRemove {
                names: verb.args.names.clone(),
                force: verb.args.force,
            };
            match call(&client, &request, None)? {
                Reply::Removed { untagged, deleted } => write(out, &removed(&untagged, &deleted)),
                other => Err(unexpected("image rm", &other)),
            }
        }
        Command::Prune(verb) => {
            let warning = if verb.args.all {
                "WARNING! This will remove all images without at least one container \
                 associated to them."
            } else {
                "WARNING! This will remove all dangling images."
            };
            if !verb.args.force && !confirm(out, &mut io::stdin().lock(), warning)? {
                return Ok(());
            }
            let request = Request::ImagePrune { all: verb.args.all };
            match call(&client, &request, None)? {
                Reply::Removed { untagged, deleted } => write(out, &pruned(&untagged, &deleted)),
                other => Err(unexpected("image prune", &other)),
            }
        }
    }
}

fn import(
    client: &Client,
    args: &ImportArgs,
    context: &Context,
    out: &mut dyn Write,
) -> Result<(), CliError> {
    let request = Request::ImageImport {
        name: args.name.clone(),
        changes: args.change.clone(),
    };
    let file = open_input(context, &args.file)?;
    let reply = match &file {
        Some(file) => call(client, &request, Some(file.as_fd()))?,
        None => call(client, &request, Some(io::stdin().as_fd()))?,
    };
    match reply {
        Reply::Image(image) => write(out, &format!("{}\n", image.id)),
        other => Err(unexpected("image import", &other)),
    }
}

fn load(
    client: &Client,
    args: &LoadArgs,
    context: &Context,
    out: &mut dyn Write,
) -> Result<(), CliError> {
    let file = match &args.input {
        Some(path) => open_input(context, path)?,
        None if io::stdin().is_terminal() => return Err(CliError::StdinIsTerminal),
        None => None,
    };
    let reply = match &file {
        Some(file) => call(client, &Request::ImageLoad, Some(file.as_fd()))?,
        None => call(client, &Request::ImageLoad, Some(io::stdin().as_fd()))?,
    };
    match reply {
        Reply::Loaded { names } => write(out, &loaded(&names)),
        other => Err(unexpected("image load", &other)),
    }
}

fn list(client: &Client, args: &ListArgs, out: &mut dyn Write) -> Result<(), CliError> {
    match call(client, &Request::ImageList, None)? {
        Reply::Images(images) => {
            let rows = rows(images);
            let now = SystemTime::now();
            let text = if args.quiet {
                rows.iter().map(|row| format!("{}\n", row.id)).collect()
            } else {
                match args.format {
                    Format::Table => list_table(&rows, now),
                    Format::Json => list_json(&rows, now),
                }
            };
            write(out, &text)
        }
        other => Err(unexpected("image ls", &other)),
    }
}

/// `None` for `-` (standard input); the file otherwise (relative to the working
/// directory).
fn open_input(context: &Context, path: &std::path::Path) -> Result<Option<File>, CliError> {
    if path.as_os_str() == "-" {
        return Ok(None);
    }
    let path = crate::spec::paths::absolute(&context.cwd, path);
    File::open(&path)
        .map(Some)
        .map_err(|source| CliError::Open { path, source })
}

/// Sends `request` (with `file` as its one descriptor) and waits for the reply.
fn call(
    client: &Client,
    request: &Request,
    file: Option<std::os::fd::BorrowedFd<'_>>,
) -> Result<Reply, CliError> {
    let fds: Vec<_> = file.into_iter().collect();
    Ok(client.call(request, &fds)?.finish(|_, _| {})?)
}

pub(super) fn unexpected(request: &'static str, reply: &Reply) -> CliError {
    CliError::UnexpectedReply {
        request,
        reply: format!("{reply:?}"),
    }
}

pub(super) fn write(out: &mut dyn Write, text: &str) -> Result<(), CliError> {
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .map_err(CliError::Output)
}

/// Asks `question` as docker does and reads the answer: `y` or `yes` (any case) go on.
pub(super) fn confirm(
    out: &mut dyn Write,
    input: &mut dyn BufRead,
    warning: &str,
) -> Result<bool, CliError> {
    write(
        out,
        &format!("{warning}\nAre you sure you want to continue? [y/N] "),
    )?;
    let mut answer = String::new();
    input.read_line(&mut answer).map_err(CliError::Confirm)?;
    let answer = answer.trim().to_ascii_lowercase();
    Ok(answer == "y" || answer == "yes")
}

/// One line of `image ls`: an image under one of its names.
#[derive(Debug, PartialEq)]
struct Row {
    repository: String,
    tag: String,
    /// 12 hex digits.
    id: String,
    created: Option<String>,
    size: u64,
}

/// One row per name (`<none>` for an image without one), the newest images first.
fn rows(mut images: Vec<ImageSummary>) -> Vec<Row> {
    images.sort_by_key(|image| {
        let created = image.created.as_deref().and_then(table::parse_rfc3339);
        std::cmp::Reverse(created)
    });
    let mut rows = Vec::new();
    for image in images {
        let id: String = image
            .id
            .strip_prefix("sha256:")
            .unwrap_or(&image.id)
            .chars()
            .take(12)
            .collect();
        let mut names: Vec<(String, String)> =
            image.names.iter().map(|name| split_name(name)).collect();
        names.sort();
        if names.is_empty() {
            names.push(("<none>".to_string(), "<none>".to_string()));
        }
        for (repository, tag) in names {
            rows.push(Row {
                repository,
                tag,
                id: id.clone(),
                created: image.created.clone(),
                size: image.size,
            });
        }
    }
    rows
}

/// `registry:5000/team/app:1.2` -> (`registry:5000/team/app`, `1.2`); a name pinned by
/// digest has the tag `<none>`.
fn split_name(name: &str) -> (String, String) {
    let without_digest = name.split_once('@').map_or(name, |(repo, _)| repo);
    let last_segment = without_digest.rfind('/').map_or(0, |slash| slash + 1);
    match without_digest
        .rfind(':')
        .filter(|&colon| colon > last_segment)
    {
        Some(colon) if without_digest.len() == name.len() => {
            (name[..colon].to_string(), name[colon + 1..].to_string())
        }
        Some(colon) => (without_digest[..colon].to_string(), "<none>".to_string()),
        None => (without_digest.to_string(), "<none>".to_string()),
    }
}

fn list_table(rows: &[Row], now: SystemTime) -> String {
    let mut cells = vec![["REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE"]
        .map(str::to_string)
        .to_vec()];
    for row in rows {
        cells.push(vec![
            row.repository.clone(),
            row.tag.clone(),
            row.id.clone(),
            ago(row.created.as_deref(), now),
            human_size(row.size),
        ]);
    }
    table::table(&cells)
}

/// docker's `--format json`: one object per line.
fn list_json(rows: &[Row], now: SystemTime) -> String {
    rows.iter()
        .map(|row| {
            let object = serde_json::json!({
                "CreatedAt": row.created.as_deref().map(docker_time).unwrap_or_default(),
                "CreatedSince": ago(row.created.as_deref(), now),
                "ID": row.id,
                "Repository": row.repository,
                "Size": human_size(row.size),
                "Tag": row.tag,
            });
            format!("{object}\n")
        })
        .collect()
}

fn removed(untagged: &[String], deleted: &[String]) -> String {
    let untagged = untagged.iter().map(|name| format!("Untagged: {name}\n"));
    let deleted = deleted.iter().map(|id| format!("Deleted: {id}\n"));
    untagged.chain(deleted).collect()
}

/// As `docker image prune` says it (lower case, unlike `rm`); nothing when nothing was
/// removed.
fn pruned(untagged: &[String], deleted: &[String]) -> String {
    if untagged.is_empty() && deleted.is_empty() {
        return String::new();
    }
    let untagged = untagged.iter().map(|name| format!("untagged: {name}\n"));
    let deleted = deleted.iter().map(|id| format!("deleted: {id}\n"));
    format!(
        "Deleted Images:\n{}",
        untagged.chain(deleted).collect::<String>()
    )
}

fn loaded(names: &[String]) -> String {
    names
        .iter()
        .map(|name| {
            if name.starts_with("sha256:") {
                format!("Loaded image ID: {name}\n")
            } else {
                format!("Loaded image: {name}\n")
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{parse, Cli};
    use std::time::{Duration, UNIX_EPOCH};

    fn image_command(args: &[&str]) -> (Command, GlobalArgs) {
        match parse(args.iter().copied()).unwrap() {
            Cli {
                command: Some(crate::cli::Command::Image(command)),
                global,
                ..
            } => (command, global),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn verbs_parse_with_global_options_after_them() {
        let (command, global) = image_command(&[
            "rcompose",
            "image",
            "import",
            "-",
            "bb:1",
            "-c",
            "CMD [\"sh\"]",
            "--change",
            "ENV A=1",
            "--root",
            "/tmp/r",
        ]);
        match command {
            Command::Import(verb) => {
                assert_eq!(verb.args.file, PathBuf::from("-"));
                assert_eq!(verb.args.name, "bb:1");
                assert_eq!(verb.args.change, ["CMD [\"sh\"]", "ENV A=1"]);
            }
            other => panic!("unexpected {other:?}"),
        }
        assert_eq!(global.root, Some(PathBuf::from("/tmp/r")));

        // -f is --force after rm and prune; the compose file is --file there.
        let (command, global) = image_command(&[
            "rcompose", "--root", "/a", "image", "rm", "-f", "x", "y", "--file", "c.yaml",
        ]);
        match command {
            Command::Rm(verb) => {
                assert!(verb.args.force);
                assert_eq!(verb.args.names, ["x", "y"]);
            }
            other => panic!("unexpected {other:?}"),
        }
        assert_eq!(global.files, [PathBuf::from("c.yaml")]);
        assert_eq!(global.root, Some(PathBuf::from("/a")));
        match image_command(&["rcompose", "image", "prune", "-af"]).0 {
            Command::Prune(verb) => assert!(verb.args.all && verb.args.force),
            other => panic!("unexpected {other:?}"),
        }
        match image_command(&["rcompose", "image", "list", "-q", "--format", "json"]).0 {
            Command::Ls(verb) => assert!(verb.args.quiet && verb.args.format == Format::Json),
            other => panic!("unexpected {other:?}"),
        }
        match image_command(&["rcompose", "image", "load"]).0 {
            Command::Load(verb) => assert_eq!(verb.args.input, None),
            other => panic!("unexpected {other:?}"),
        }
        assert!(parse(["rcompose", "image", "inspect"]).is_err());
        assert!(parse(["rcompose", "image", "import", "x.tar"]).is_err());
    }

    #[test]
    fn names_split_into_repository_and_tag() {
        for (name, repository, tag) in [
            ("bb:latest", "bb", "latest"),
            (
                "registry:5000/team/app:1.2",
                "registry:5000/team/app",
                "1.2",
            ),
            ("registry:5000/team/app", "registry:5000/team/app", "<none>"),
            ("app@sha256:abc", "app", "<none>"),
            ("app:1@sha256:abc", "app", "<none>"),
        ] {
            assert_eq!(
                split_name(name),
                (repository.to_string(), tag.to_string()),
                "{name}"
            );
        }
    }

    fn summary(id: &str, names: &[&str], created: Option<&str>, size: u64) -> ImageSummary {
        ImageSummary {
            id: format!("sha256:{id}"),
            names: names.iter().map(|n| n.to_string()).collect(),
            size,
            created: created.map(str::to_string),
        }
    }

    #[test]
    fn ls_prints_one_row_per_name_newest_first() {
        let now = UNIX_EPOCH + Duration::from_secs(1_704_067_200 + 7_200);
        let images = vec![
            summary(&"a".repeat(64), &[], None, 0),
            summary(
                &"b".repeat(64),
                &["bb:latest", "bb:1.36"],
                Some("2024-01-01T00:00:00Z"),
                2_170_000,
            ),
            summary(
                &"c".repeat(64),
                &["tools:dev"],
                Some("2024-01-01T01:59:59.5Z"),
                512,
            ),
        ];
        let rows = rows(images);
        let created = format!("{:<25}", "CREATED");
        assert_eq!(
            list_table(&rows, now),
            format!(
                "REPOSITORY   TAG       IMAGE ID       {created}SIZE\n\
                 tools        dev       cccccccccccc   Less than a second ago   512B\n\
                 bb           1.36      bbbbbbbbbbbb   2 hours ago              2.17MB\n\
                 bb           latest    bbbbbbbbbbbb   2 hours ago              2.17MB\n\
                 <none>       <none>    aaaaaaaaaaaa   N/A                      0B\n"
            )
        );
        assert_eq!(
            list_json(&rows[..1], now),
            "{\"CreatedAt\":\"2024-01-01 01:59:59 +0000 UTC\",\"CreatedSince\":\
             \"Less than a second ago\",\"ID\":\"cccccccccccc\",\"Repository\":\"tools\",\
             \"Size\":\"512B\",\"Tag\":\"dev\"}\n"
        );
    }

    #[test]
    fn removals_and_loads_print_like_docker() {
        assert_eq!(
            removed(&["bb:latest".to_string()], &["sha256:abc".to_string()]),
            "Untagged: bb:latest\nDeleted: sha256:abc\n"
        );
        assert_eq!(
            pruned(&["bb:latest".to_string()], &["sha256:abc".to_string()]),
            "Deleted Images:\nuntagged: bb:latest\ndeleted: sha256:abc\n"
        );
        assert_eq!(pruned(&[], &[]), "");
        assert_eq!(
            loaded(&["bb:latest".to_string(), "sha256:abc".to_string()]),
            "Loaded image: bb:latest\nLoaded image ID: sha256:abc\n"
        );
    }

    #[test]
    fn confirmation_takes_y_or_yes() {
        for (answer, expected) in [
            ("y\n", true),
            ("YES\n", true),
            ("n\n", false),
            ("", false),
            ("yep\n", false),
        ] {
            let mut out = Vec::new();
            let got = confirm(&mut out, &mut answer.as_bytes(), "WARNING! Careful.").unwrap();
            assert_eq!(got, expected, "{answer:?}");
            assert_eq!(
                String::from_utf8(out).unwrap(),
                "WARNING! Careful.\nAre you sure you want to continue? [y/N] "
            );
        }
    }
}
