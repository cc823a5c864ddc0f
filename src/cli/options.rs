//! From the global options and the environment to the inputs of one load
//! ([`crate::spec::LoadOptions`]): which files, which project directory and name, which
//! env files and profiles. Follows compose's rules, including the search for a default
//! compose file in the working directory and its parents. Also the engine's layout
//! (`--root`) and the [`Context`] the verbs that talk to the engine start from.

use super::error::{CliError, NameOrigin};
use super::GlobalArgs;
use crate::engine::{Client, Layout};
use crate::spec::model::Project;
use crate::spec::paths::absolute;
use crate::spec::LoadOptions;
use std::collections::BTreeMap;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

/// What a verb starts from: the global options, the working directory and the process
/// environment.
#[derive(Clone, Debug)]
pub struct Context {
    pub global: GlobalArgs,
    /// Absolute.
    pub cwd: PathBuf,
    /// The process environment (variables whose name or value is not UTF-8 are left
    /// out: they can't be interpolated).
    pub env: BTreeMap<String, String>,
}

impl Context {
    /// The context of this process.
    pub fn from_process(global: GlobalArgs) -> Result<Context, CliError> {
        let cwd = std::env::current_dir().map_err(CliError::Cwd)?;
        let env = std::env::vars_os()
            .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
            .collect();
        Ok(Context { global, cwd, env })
    }

    /// The engine's layout: `--root`, else `RCOMPOSE_ROOT` (relative to the working
    /// directory), else the default one.
    pub fn layout(&self) -> Layout {
        let root = self.global.root.clone().or_else(|| {
            self.env
                .get("RCOMPOSE_ROOT")
                .filter(|root| !root.is_empty())
                .map(PathBuf::from)
        });
        Layout::new(root.map(|root| absolute(&self.cwd, &root)))
    }

    /// A client of the engine of [`Context::layout`], which starts this very executable
    /// as the engine when none runs.
    pub fn client(&self) -> Result<Client, CliError> {
        let program = std::env::current_exe().map_err(CliError::CurrentExe)?;
        Ok(Client::new(self.layout(), program))
    }

    /// Loads the project (with `services` active whatever their profiles), printing its
    /// warnings on stderr.
    pub fn load(&self, services: &[String]) -> Result<Project, CliError> {
        let options = load_options(&self.global, &self.cwd, &self.env, services)?;
        let loaded = crate::spec::load(&options)?;
        for warning in &loaded.warnings {
            eprintln!("{warning}");
        }
        Ok(loaded.project)
    }

    /// [`Context::load`], plus the compose files it read (`-` for standard input).
    pub fn load_with_files(&self, services: &[String]) -> Result<(Project, Vec<String>), CliError> {
        let options = load_options(&self.global, &self.cwd, &self.env, services)?;
        let files = options
            .files
            .iter()
            .map(|file| file.display().to_string())
            .collect();
        let loaded = crate::spec::load(&options)?;
        for warning in &loaded.warnings {
            eprintln!("{warning}");
        }
        Ok((loaded.project, files))
    }

    /// Loads the project and checks that it has `service`.
    pub fn load_with_service(&self, service: &str) -> Result<Project, CliError> {
        let project = self.load(&[service.to_string()])?;
        check_services(&project, &[service.to_string()])?;
        Ok(project)
    }

    /// The project of a verb that works without compose files (`down`, `ps`, `logs`,
    /// `stop`, ...): its name and its loaded files; or, when there is no compose file,
    /// the name `-p` / `COMPOSE_PROJECT_NAME` gives (no file and no name is
    /// [`CliError::NoComposeFile`]).
    pub fn load_or_name(&self) -> Result<(String, Option<Project>), CliError> {
        match self.load(&[]) {
            Ok(project) => Ok((project.name.clone(), Some(project))),
            Err(err @ CliError::NoComposeFile { .. }) => {
                match project_name(&self.global, &self.env)? {
                    Some(name) => Ok((name, None)),
                    None => Err(err),
                }
            }
            Err(err) => Err(err),
        }
    }

    /// The project's name (from its files, as [`Context::load`] finds them; or `-p` /
    /// `COMPOSE_PROJECT_NAME` alone when there is no compose file) and its named volumes
    /// (compose key to full name; none without a file).
    pub fn project_volumes(&self) -> Result<(String, BTreeMap<String, String>), CliError> {
        let (name, project) = self.load_or_name()?;
        let volumes = project
            .map(|project| {
                project
                    .volumes
                    .into_iter()
                    .map(|(key, volume)| (key, volume.name))
                    .collect()
            })
            .unwrap_or_default();
        Ok((name, volumes))
    }
}

/// Checks that `project` has every service of `names` ([`CliError::NoSuchService`] for
/// the first it lacks).
pub fn check_services(project: &Project, names: &[String]) -> Result<(), CliError> {
    match names
        .iter()
        .find(|name| !project.services.contains_key(*name))
    {
        Some(name) => Err(CliError::NoSuchService {
            name: name.clone(),
            known: project.services.keys().cloned().collect(),
        }),
        None => Ok(()),
    }
}

/// The names of a default compose file, in order of preference (compose's order).
pub const DEFAULT_FILE_NAMES: [&str; 4] = [
    "compose.yaml",
    "compose.yml",
    "docker-compose.yml",
    "docker-compose.yaml",
];

/// The override file names that go with each default name, preferred one first.
fn override_names(file_name: &str) -> [&'static str; 2] {
    match file_name {
        "compose.yaml" => ["compose.override.yaml", "compose.override.yml"],
        "compose.yml" => ["compose.override.yml", "compose.override.yaml"],
        "docker-compose.yml" => [
            "docker-compose.override.yml",
            "docker-compose.override.yaml",
        ],
        _ => [
            "docker-compose.override.yaml",
            "docker-compose.override.yml",
        ],
    }
}

/// How standard input is named among the files.
const STDIN: &str = "-";

/// Resolves the global options against the working directory `cwd` (absolute) and the
/// process environment `env`; `services` are the services named on the command line.
///
/// Files: `-f` (relative to `cwd`, `-` for standard input, which is read here), else
/// `COMPOSE_FILE` (split on `COMPOSE_PATH_SEPARATOR`, default `:`), else the first
/// default compose file found in the project directory (or `cwd`) and its parents,
/// plus its override file. Warnings about ambiguous default files go to stderr.
pub fn load_options(
    global: &GlobalArgs,
    cwd: &Path,
    env: &BTreeMap<String, String>,
    services: &[String],
) -> Result<LoadOptions, CliError> {
    let read_stdin = || {
        let mut text = String::new();
        io::stdin().read_to_string(&mut text).map(|_| text)
    };
    let (options, warnings) = resolve(global, cwd, env, services, read_stdin)?;
    for warning in warnings {
        eprintln!("rcompose: warning: {warning}");
    }
    Ok(options)
}

/// [`load_options`] with standard input supplied by the caller and the warnings
/// returned instead of printed.
fn resolve(
    global: &GlobalArgs,
    cwd: &Path,
    env: &BTreeMap<String, String>,
    services: &[String],
    read_stdin: impl FnOnce() -> io::Result<String>,
) -> Result<(LoadOptions, Vec<String>), CliError> {
    let project_name = project_name(global, env)?;
    let explicit_dir = global
        .project_directory
        .as_deref()
        .map(|dir| absolute(cwd, dir));

    let mut warnings = Vec::new();
    let mut files: Vec<PathBuf> = if global.files.is_empty() {
        compose_file_env(cwd, env)
    } else {
        global.files.iter().map(|f| file_path(cwd, f)).collect()
    };
    if files.is_empty() {
        let start = explicit_dir
            .clone()
            .unwrap_or_else(|| absolute(cwd, Path::new(".")));
        let found = discover(&start).ok_or(CliError::NoComposeFile { dir: start })?;
        files = found.files;
        warnings = found.warnings;
    }

    let stdin = if files.iter().any(|f| f.as_os_str() == STDIN) {
        Some(read_stdin().map_err(CliError::Stdin)?)
    } else {
        None
    };
    let project_directory = explicit_dir
        .or_else(|| {
            files
                .iter()
                .find(|f| f.as_os_str() != STDIN)
                .and_then(|f| f.parent())
                .map(Path::to_path_buf)
        })
        .unwrap_or_else(|| absolute(cwd, Path::new(".")));

    let profiles = if global.profile.is_empty() {
        env.get("COMPOSE_PROFILES")
            .map(|list| comma_list(list))
            .unwrap_or_default()
    } else {
        global.profile.clone()
    };

    let options = LoadOptions {
        files,
        stdin,
        project_directory,
        project_name,
        env_files: global.env_file.iter().map(|f| absolute(cwd, f)).collect(),
        profiles,
        services: services.to_vec(),
        environment: env.clone(),
        interpolate: true,
        home: env
            .get("HOME")
            .filter(|home| !home.is_empty())
            .map(PathBuf::from),
    };
    Ok((options, warnings))
}

/// `-p`, else `COMPOSE_PROJECT_NAME` (an empty value counts as unset); either must
/// already be a valid name.
fn project_name(
    global: &GlobalArgs,
    env: &BTreeMap<String, String>,
) -> Result<Option<String>, CliError> {
    let given = match global.project_name.as_deref().filter(|n| !n.is_empty()) {
        Some(name) => Some((name, NameOrigin::Flag)),
        None => env
            .get("COMPOSE_PROJECT_NAME")
            .map(String::as_str)
            .filter(|n| !n.is_empty())
            .map(|name| (name, NameOrigin::Environment)),
    };
    match given {
        None => Ok(None),
        Some((name, _)) if is_valid_project_name(name) => Ok(Some(name.to_string())),
        Some((name, origin)) => Err(CliError::InvalidProjectName {
            name: name.to_string(),
            origin,
        }),
    }
}

pub use crate::spec::{is_valid_project_name, normalize_project_name};

/// `COMPOSE_FILE`, split on `COMPOSE_PATH_SEPARATOR` (default `:`), empty entries
/// skipped, relative entries taken from `cwd`.
fn compose_file_env(cwd: &Path, env: &BTreeMap<String, String>) -> Vec<PathBuf> {
    let Some(list) = env.get("COMPOSE_FILE") else {
        return Vec::new();
    };
    let separator = env
        .get("COMPOSE_PATH_SEPARATOR")
        .map(String::as_str)
        .filter(|s| !s.is_empty())
        .unwrap_or(":");
    list.split(separator)
        .filter(|entry| !entry.is_empty())
        .map(|entry| file_path(cwd, Path::new(entry)))
        .collect()
}

/// A comma-separated list, entries trimmed, empty ones skipped.
fn comma_list(list: &str) -> Vec<String> {
    list.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// `-` stays as is (standard input); anything else becomes absolute.
fn file_path(cwd: &Path, file: &Path) -> PathBuf {
    if file.as_os_str() == STDIN {
        file.to_path_buf()
    } else {
        absolute(cwd, file)
    }
}

/// The default files found by [`discover`].
#[derive(Debug, PartialEq)]
struct Discovered {
    /// The compose file, then its override file if there is one.
    files: Vec<PathBuf>,
    warnings: Vec<String>,
}

/// Looks in `start`, then each parent in turn, for a default compose file. The first
/// directory with one wins; within it, the first name of [`DEFAULT_FILE_NAMES`] wins
/// (with a warning when several exist), and its override file is added when present.
fn discover(start: &Path) -> Option<Discovered> {
    start.ancestors().find_map(|dir| {
        let found = existing_files(dir, &DEFAULT_FILE_NAMES);
        let (winner, name) = found.first()?;
        let mut warnings = Vec::new();
        if found.len() > 1 {
            warnings.push(several_found("compose files", &found));
        }
        let mut files = vec![winner.clone()];
        let overrides = existing_files(dir, &override_names(name));
        if let Some((override_file, _)) = overrides.first() {
            if overrides.len() > 1 {
                warnings.push(several_found("override files", &overrides));
            }
            files.push(override_file.clone());
        }
        Some(Discovered { files, warnings })
    })
}

/// The files among `names` that exist in `dir` (as regular files, or links to one).
fn existing_files(dir: &Path, names: &[&'static str]) -> Vec<(PathBuf, &'static str)> {
    names
        .iter()
        .map(|name| (dir.join(name), *name))
        .filter(|(path, _)| path.is_file())
        .collect()
}

fn several_found(what: &str, found: &[(PathBuf, &str)]) -> String {
    let paths: Vec<String> = found
        .iter()
        .map(|(path, _)| path.display().to_string())
        .collect();
    format!(
        "found several {what} with supported names: {}; using {}",
        paths.join(", "),
        paths.first().map(String::as_str).unwrap_or_default()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn touch(path: &Path) {
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).unwrap();
        }
        fs::write(path, "services: {}\n").unwrap();
    }

    fn no_stdin() -> io::Result<String> {
        Err(io::Error::other("stdin must not be read"))
    }

    fn run(
        global: &GlobalArgs,
        cwd: &Path,
        env: &BTreeMap<String, String>,
    ) -> Result<(LoadOptions, Vec<String>), CliError> {
        resolve(global, cwd, env, &[], no_stdin)
    }

    fn files(global: &GlobalArgs, cwd: &Path, env: &BTreeMap<String, String>) -> Vec<PathBuf> {
        run(global, cwd, env).unwrap().0.files
    }

    #[test]
    fn discovers_the_nearest_compose_file_and_its_override() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        touch(&root.join("docker-compose.yml"));
        touch(&root.join("app/compose.yaml"));
        touch(&root.join("app/compose.override.yaml"));
        fs::create_dir_all(root.join("app/src/deep")).unwrap();

        let (options, warnings) = run(
            &GlobalArgs::default(),
            &root.join("app/src/deep"),
            &env(&[]),
        )
        .unwrap();
        assert_eq!(
            options.files,
            vec![
                root.join("app/compose.yaml"),
                root.join("app/compose.override.yaml")
            ]
        );
        assert_eq!(options.project_directory, root.join("app"));
        assert_eq!(options.project_name, None);
        assert!(warnings.is_empty());

        // Above app/, the parent's docker-compose.yml is found (it has no override).
        let (options, _) = run(&GlobalArgs::default(), root, &env(&[])).unwrap();
        assert_eq!(options.files, vec![root.join("docker-compose.yml")]);
        assert_eq!(options.project_directory, root);
    }

    #[test]
    fn the_override_matches_the_compose_file_name() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        touch(&dir.join("docker-compose.yml"));
        touch(&dir.join("compose.override.yaml"));
        touch(&dir.join("docker-compose.override.yaml"));
        assert_eq!(
            files(&GlobalArgs::default(), dir, &env(&[])),
            vec![
                dir.join("docker-compose.yml"),
                dir.join("docker-compose.override.yaml")
            ]
        );
    }

    #[test]
    fn several_default_files_warn_and_the_first_name_wins() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        touch(&dir.join("compose.yaml"));
        touch(&dir.join("docker-compose.yml"));
        touch(&dir.join("compose.override.yaml"));
        touch(&dir.join("compose.override.yml"));
        let (options, warnings) = run(&GlobalArgs::default(), dir, &env(&[])).unwrap();
        assert_eq!(
            options.files,
            vec![dir.join("compose.yaml"), dir.join("compose.override.yaml")]
        );
        let d = dir.display();
        assert_eq!(
            warnings,
            vec![
                format!(
                    "found several compose files with supported names: {d}/compose.yaml, \
                     {d}/docker-compose.yml; using {d}/compose.yaml"
                ),
                format!(
                    "found several override files with supported names: \
                     {d}/compose.override.yaml, {d}/compose.override.yml; using \
                     {d}/compose.override.yaml"
                ),
            ]
        );
    }

    #[test]
    fn a_directory_named_like_a_compose_file_is_skipped() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        fs::create_dir_all(dir.join("compose.yaml")).unwrap();
        touch(&dir.join("compose.yml"));
        assert_eq!(
            files(&GlobalArgs::default(), dir, &env(&[])),
            vec![dir.join("compose.yml")]
        );
    }

    #[test]
    fn no_compose_file_is_an_error_naming_the_start_directory() {
        let tmp = tempfile::tempdir().unwrap();
        let err = run(&GlobalArgs::default(), tmp.path(), &env(&[])).unwrap_err();
        match err {
            CliError::NoComposeFile { dir } => assert_eq!(dir, tmp.path()),
            other => panic!("unexpected error {other:?}"),
        }
    }

    #[test]
    fn discovery_starts_in_the_project_directory() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        touch(&root.join("elsewhere/compose.yml"));
        let global = GlobalArgs {
            project_directory: Some(PathBuf::from("elsewhere/.")),
            ..GlobalArgs::default()
        };
        let (options, _) = run(&global, root, &env(&[])).unwrap();
        assert_eq!(options.files, vec![root.join("elsewhere/compose.yml")]);
        assert_eq!(options.project_directory, root.join("elsewhere"));
    }

    #[test]
    fn explicit_files_are_made_absolute_and_keep_their_order() {
        let global = GlobalArgs {
            files: vec![
                PathBuf::from("../base/compose.yaml"),
                PathBuf::from("/etc/extra.yaml"),
                PathBuf::from("./local.yaml"),
            ],
            ..GlobalArgs::default()
        };
        let (options, warnings) = run(
            &global,
            Path::new("/srv/app"),
            &env(&[("COMPOSE_FILE", "ignored.yaml")]),
        )
        .unwrap();
        assert_eq!(
            options.files,
            vec![
                PathBuf::from("/srv/base/compose.yaml"),
                PathBuf::from("/etc/extra.yaml"),
                PathBuf::from("/srv/app/local.yaml"),
            ]
        );
        assert_eq!(options.project_directory, PathBuf::from("/srv/base"));
        assert_eq!(options.stdin, None);
        assert!(warnings.is_empty());
    }

    #[test]
    fn compose_file_lists_split_on_the_path_separator() {
        let cwd = Path::new("/srv/app");
        assert_eq!(
            files(
                &GlobalArgs::default(),
                cwd,
                &env(&[("COMPOSE_FILE", "compose.yaml::/opt/prod.yaml:")])
            ),
            vec![
                PathBuf::from("/srv/app/compose.yaml"),
                PathBuf::from("/opt/prod.yaml")
            ]
        );
        assert_eq!(
            files(
                &GlobalArgs::default(),
                cwd,
                &env(&[
                    ("COMPOSE_FILE", "a.yaml;sub/b.yaml"),
                    ("COMPOSE_PATH_SEPARATOR", ";")
                ])
            ),
            vec![
                PathBuf::from("/srv/app/a.yaml"),
                PathBuf::from("/srv/app/sub/b.yaml")
            ]
        );
    }

    #[test]
    fn an_empty_compose_file_variable_falls_back_to_discovery() {
        let tmp = tempfile::tempdir().unwrap();
        touch(&tmp.path().join("compose.yaml"));
        assert_eq!(
            files(
                &GlobalArgs::default(),
                tmp.path(),
                &env(&[("COMPOSE_FILE", "")])
            ),
            vec![tmp.path().join("compose.yaml")]
        );
    }

    #[test]
    fn stdin_is_read_once_and_the_project_directory_is_the_cwd() {
        let global = GlobalArgs {
            files: vec![PathBuf::from("-")],
            ..GlobalArgs::default()
        };
        let (options, _) = resolve(&global, Path::new("/srv/app"), &env(&[]), &[], || {
            Ok("services: {}\n".to_string())
        })
        .unwrap();
        assert_eq!(options.files, vec![PathBuf::from("-")]);
        assert_eq!(options.stdin.as_deref(), Some("services: {}\n"));
        assert_eq!(options.project_directory, PathBuf::from("/srv/app"));
    }

    #[test]
    fn stdin_read_failure_is_reported() {
        let global = GlobalArgs {
            files: vec![PathBuf::from("-")],
            ..GlobalArgs::default()
        };
        let err = run(&global, Path::new("/srv/app"), &env(&[])).unwrap_err();
        assert_eq!(
            err.render(),
            "rcompose: cannot read the compose file from standard input: stdin must not be read"
        );
    }

    #[test]
    fn project_name_comes_from_the_flag_then_the_environment() {
        let cwd = Path::new("/srv/app");
        let base = GlobalArgs {
            files: vec![PathBuf::from("compose.yaml")],
            ..GlobalArgs::default()
        };
        let named = GlobalArgs {
            project_name: Some("shop-2".to_string()),
            ..base.clone()
        };
        let from_env = env(&[("COMPOSE_PROJECT_NAME", "from_env")]);
        let name = |global: &GlobalArgs, env: &BTreeMap<String, String>| {
            run(global, cwd, env).unwrap().0.project_name
        };
        assert_eq!(name(&named, &from_env).as_deref(), Some("shop-2"));
        assert_eq!(name(&base, &from_env).as_deref(), Some("from_env"));
        assert_eq!(name(&base, &env(&[("COMPOSE_PROJECT_NAME", "")])), None);
        assert_eq!(name(&base, &env(&[])), None);
    }

    #[test]
    fn invalid_project_names_are_refused_with_their_origin() {
        let cwd = Path::new("/srv/app");
        let global = GlobalArgs {
            files: vec![PathBuf::from("compose.yaml")],
            project_name: Some("Shop".to_string()),
            ..GlobalArgs::default()
        };
        match run(&global, cwd, &env(&[])).unwrap_err() {
            CliError::InvalidProjectName { name, origin } => {
                assert_eq!((name.as_str(), origin), ("Shop", NameOrigin::Flag));
            }
            other => panic!("unexpected error {other:?}"),
        }
        let global = GlobalArgs {
            project_name: None,
            ..global
        };
        match run(&global, cwd, &env(&[("COMPOSE_PROJECT_NAME", "-x")])).unwrap_err() {
            CliError::InvalidProjectName { name, origin } => {
                assert_eq!((name.as_str(), origin), ("-x", NameOrigin::Environment));
            }
            other => panic!("unexpected error {other:?}"),
        }
    }

    #[test]
    fn project_name_rules() {
        for valid in ["a", "0", "my_app-2", "9-lives"] {
            assert!(is_valid_project_name(valid), "{valid}");
        }
        for invalid in ["", "_a", "-a", "App", "my app", "my.app", "café"] {
            assert!(!is_valid_project_name(invalid), "{invalid}");
        }
        assert_eq!(normalize_project_name("My App.v2"), "myappv2");
        assert_eq!(normalize_project_name("__-Web_Shop"), "web_shop");
        assert_eq!(normalize_project_name("Café"), "caf");
        assert_eq!(normalize_project_name("._-"), "");
        assert!(is_valid_project_name(&normalize_project_name("--X_y-1")));
    }

    #[test]
    fn the_root_comes_from_the_flag_then_the_environment() {
        let context = |root: Option<&str>, vars: &[(&str, &str)]| Context {
            global: GlobalArgs {
                root: root.map(PathBuf::from),
                ..GlobalArgs::default()
            },
            cwd: PathBuf::from("/srv/app"),
            env: env(vars),
        };
        let root = |context: Context| context.layout().root().to_path_buf();
        assert_eq!(
            root(context(Some("/a"), &[("RCOMPOSE_ROOT", "/b")])),
            Path::new("/a")
        );
        assert_eq!(
            root(context(None, &[("RCOMPOSE_ROOT", "state/../b")])),
            Path::new("/srv/app/b")
        );
        assert_eq!(
            context(Some("r"), &[]).layout().socket(),
            Path::new("/srv/app/r/run/engine.sock")
        );
        assert_eq!(
            context(None, &[("RCOMPOSE_ROOT", "")]).layout(),
            Layout::new(None)
        );
    }

    #[test]
    fn a_project_without_files_is_named_by_p() {
        let tmp = tempfile::tempdir().unwrap();
        let mut context = Context {
            global: GlobalArgs::default(),
            cwd: tmp.path().to_path_buf(),
            env: env(&[]),
        };
        assert!(matches!(
            context.project_volumes(),
            Err(CliError::NoComposeFile { .. })
        ));
        context.env = env(&[("COMPOSE_PROJECT_NAME", "shop")]);
        assert_eq!(
            context.project_volumes().unwrap(),
            ("shop".to_string(), BTreeMap::new())
        );
        fs::write(
            tmp.path().join("compose.yaml"),
            "name: demo\nservices: {}\nvolumes:\n  data: {}\n  ext:\n    name: shared\n",
        )
        .unwrap();
        context.env = env(&[]);
        let volumes: BTreeMap<String, String> = [("data", "demo_data"), ("ext", "shared")]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        assert_eq!(
            context.project_volumes().unwrap(),
            ("demo".to_string(), volumes)
        );
        assert!(matches!(
            context.load_with_service("web"),
            Err(CliError::NoSuchService { .. })
        ));
    }

    #[test]
    fn profiles_env_files_services_environment_and_home() {
        let cwd = Path::new("/srv/app");
        let process_env = env(&[
            ("COMPOSE_PROFILES", " debug, ,tools "),
            ("HOME", "/home/ada"),
        ]);
        let global = GlobalArgs {
            files: vec![PathBuf::from("compose.yaml")],
            env_file: vec![PathBuf::from(".env.local"), PathBuf::from("/etc/app.env")],
            ..GlobalArgs::default()
        };
        let services = vec!["web".to_string()];
        let (options, _) = resolve(&global, cwd, &process_env, &services, no_stdin).unwrap();
        assert_eq!(options.profiles, vec!["debug", "tools"]);
        assert_eq!(
            options.env_files,
            vec![
                PathBuf::from("/srv/app/.env.local"),
                PathBuf::from("/etc/app.env")
            ]
        );
        assert_eq!(options.services, services);
        assert_eq!(options.environment, process_env);
        assert_eq!(options.home, Some(PathBuf::from("/home/ada")));
        assert!(options.interpolate);

        let flagged = GlobalArgs {
            profile: vec!["prod".to_string()],
            ..global
        };
        let (options, _) = run(&flagged, cwd, &process_env).unwrap();
        assert_eq!(options.profiles, vec!["prod"]);
        assert_eq!(options.home, Some(PathBuf::from("/home/ada")));
    }
}
