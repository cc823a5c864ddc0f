//! One load: files and environment in, a validated project out.
//!
//! Files are parsed into position-carrying trees, interpolated one by one, merged in
//! order, `include`s and `extends` resolved, the result checked against the Compose
//! Specification's schema, converted to the raw model, normalized, filtered by profiles
//! and checked semantically. Every stage reports problems as [`Diagnostic`]s; the load
//! fails when any of them is an error, with all of them.

use super::diag::{Diagnostic, Diagnostics};
use super::model::Project;
use super::node::{KeyPath, Node, PathSeg, Span, Value};
use super::LoadOptions;
use super::{de, env, extends, interpolate, merge, normalize, paths, raw, schema, validate, yaml};
use indexmap::IndexMap;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The result of a successful load.
#[derive(Clone, Debug, PartialEq)]
pub struct Loaded {
    /// The project with only the services whose profiles are active.
    pub project: Project,
    /// Every profile any service names, active or not (`config --profiles`).
    pub profiles: BTreeSet<String>,
    /// Warnings to show the user (unset variables, keys not implemented yet, …).
    pub warnings: Vec<Diagnostic>,
}

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("cannot read {}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}", render(.0))]
    Invalid(Diagnostics),
}

fn render(d: &Diagnostics) -> String {
    let n = d.errors().count();
    let head = if n == 1 {
        "the compose file is invalid:".to_string()
    } else {
        format!("the compose file is invalid ({n} problems):")
    };
    let mut s = head;
    for e in d.errors() {
        s.push_str("\n  ");
        s.push_str(&e.to_string());
    }
    s
}

/// Loads, merges, validates and normalizes the project `opts` describes.
pub fn load(opts: &LoadOptions) -> Result<Loaded, LoadError> {
    let mut diags = Diagnostics::default();
    let vars = variables(opts, &opts.project_directory, &opts.env_files, &mut diags)?;
    let mut stack = Vec::new();
    let mut root = load_tree(
        opts,
        &opts.files,
        &opts.project_directory,
        &vars,
        &mut stack,
        &mut diags,
    )?;
    fail_on_errors(&diags)?;

    // Structural problems are reported, and the entries holding them are set aside so
    // that the later stages still check (and report) everything else.
    let structural = schema::validate(&root);
    let mut failed: Vec<KeyPath> = Vec::new();
    for d in structural.iter().filter(|d| d.is_error()) {
        match prune(&mut root, &d.path) {
            Some(pruned) => failed.push(pruned),
            None => {
                diags.extend(structural);
                return Err(invalid(diags));
            }
        }
    }
    diags.extend(structural);

    let raw: raw::RawProject = match de::from_node(&root, &KeyPath::root()) {
        Ok(raw) => raw,
        Err(d) => {
            diags.push(d);
            return Err(invalid(diags));
        }
    };

    let name = project_name(opts, &root, &raw, &mut diags);
    let ctx = normalize::Context {
        project_name: name,
        project_directory: opts.project_directory.clone(),
        home: opts.home.clone(),
        lookup: &|k: &str| lookup(&vars, k),
        read_file: &|p: &Path| std::fs::read_to_string(p),
    };
    let (mut project, found) = normalize::normalize(raw, &root, &ctx);
    // Semantic checks run even when some values could not be normalized, so that one run
    // reports every problem; a check touching a path that already has an error (or one
    // of its ancestors) would only repeat it.
    let found: Vec<Diagnostic> = found
        .into_iter()
        .filter(|d| !(d.is_error() && failed.iter().any(|f| d.path.0.starts_with(&f.0))))
        .collect();
    failed.extend(
        found
            .iter()
            .filter(|d| d.is_error())
            .map(|d| d.path.clone()),
    );
    let overlaps = |p: &KeyPath| {
        failed
            .iter()
            .any(|f| f.0.starts_with(&p.0) || p.0.starts_with(&f.0))
    };
    diags.extend(found.into_iter().map(|d| d.locate(&root)));

    let profiles = project
        .services
        .values()
        .flat_map(|s| s.profiles.iter().cloned())
        .collect();
    let checked = apply_profiles(&mut project, &opts.profiles, &opts.services)
        .into_iter()
        .chain(validate::validate(&project))
        .filter(|d| !(d.is_error() && overlaps(&d.path)));
    diags.extend(checked.map(|d| d.locate(&root)));
    diags.sort();
    fail_on_errors(&diags)?;
    Ok(Loaded {
        project,
        profiles,
        warnings: diags.0,
    })
}

/// Removes the mapping entry that holds the node at `path` (the nearest ancestor that is
/// a mapping key), so that later stages don't trip over a node already reported as
/// malformed. Returns the removed entry's path; `None` when the problem is the document
/// itself.
fn prune(root: &mut Node, path: &KeyPath) -> Option<KeyPath> {
    let cut = path
        .0
        .iter()
        .rposition(|seg| matches!(seg, PathSeg::Key(_)))?;
    let parent = KeyPath(path.0[..cut].to_vec());
    let PathSeg::Key(key) = &path.0[cut] else {
        return None;
    };
    let mut node = root;
    for seg in &parent.0 {
        node = match (seg, &mut node.value) {
            (PathSeg::Key(k), Value::Map(m)) => &mut m.entries.get_mut(k.as_str())?.value,
            (PathSeg::Index(i), Value::Seq(items)) => items.get_mut(*i)?,
            // Already removed with an ancestor.
            _ => return Some(parent.key(key.clone())),
        };
    }
    if let Value::Map(m) = &mut node.value {
        m.entries.shift_remove(key.as_str());
    }
    Some(parent.key(key.clone()))
}

fn invalid(mut diags: Diagnostics) -> LoadError {
    diags.sort();
    LoadError::Invalid(diags)
}

fn fail_on_errors(diags: &Diagnostics) -> Result<(), LoadError> {
    if diags.has_errors() {
        let mut d = diags.clone();
        d.sort();
        Err(LoadError::Invalid(d))
    } else {
        Ok(())
    }
}

/// Interpolation variables: the process environment wins over the `.env` file (or the
/// `--env-file` files, read in order).
fn variables(
    opts: &LoadOptions,
    project_directory: &Path,
    env_files: &[PathBuf],
    diags: &mut Diagnostics,
) -> Result<IndexMap<String, String>, LoadError> {
    let default_env = project_directory.join(".env");
    let files: Vec<PathBuf> = if env_files.is_empty() {
        if default_env.is_file() {
            vec![default_env]
        } else {
            vec![]
        }
    } else {
        env_files.to_vec()
    };
    let mut vars: IndexMap<String, String> = IndexMap::new();
    for path in files {
        let text = read(&path)?;
        let file: Arc<str> = Arc::from(path.display().to_string());
        let known = vars.clone();
        let lookup = |k: &str| {
            opts.environment
                .get(k)
                .cloned()
                .or_else(|| known.get(k).cloned())
        };
        match env::parse_dotenv(&text, &file, &lookup) {
            Ok(found) => vars.extend(found),
            Err(d) => diags.push(d),
        }
    }
    for (k, v) in &opts.environment {
        vars.insert(k.clone(), v.clone());
    }
    Ok(vars)
}

fn lookup(vars: &IndexMap<String, String>, k: &str) -> Option<String> {
    vars.get(k).cloned()
}

fn read(path: &Path) -> Result<String, LoadError> {
    std::fs::read_to_string(path).map_err(|source| LoadError::Read {
        path: path.to_path_buf(),
        source,
    })
}

/// Parses and interpolates one file; several YAML documents in it merge in order.
fn parse_file(
    opts: &LoadOptions,
    path: &Path,
    vars: &IndexMap<String, String>,
    diags: &mut Diagnostics,
) -> Result<Option<Node>, LoadError> {
    let (text, name) = if path == Path::new("-") {
        (
            opts.stdin.clone().unwrap_or_default(),
            "<stdin>".to_string(),
        )
    } else {
        (read(path)?, path.display().to_string())
    };
    let file: Arc<str> = Arc::from(name);
    let docs = match yaml::parse(&text, &file) {
        Ok(docs) => docs,
        Err(d) => {
            diags.push(d);
            return Ok(None);
        }
    };
    let mut merged: Option<Node> = None;
    for mut doc in docs {
        if doc.is_null() {
            continue;
        }
        if !matches!(doc.value, Value::Map(_)) {
            diags.push(Diagnostic::error(
                Some(doc.span.clone()),
                KeyPath::root(),
                format!(
                    "a compose file must be a mapping (services:, networks:, …), found {}",
                    doc.kind_name()
                ),
            ));
            continue;
        }
        if opts.interpolate {
            diags.extend(interpolate::interpolate_tree(
                &mut doc,
                &KeyPath::root(),
                &|k| lookup(vars, k),
            ));
        }
        merged = Some(match merged {
            None => doc,
            Some(base) => merge::merge(base, doc),
        });
    }
    if merged.is_none() {
        diags.push(Diagnostic::error(
            Some(Span::new(file, 1, 1)),
            KeyPath::root(),
            "the compose file is empty: it needs at least a `services:` mapping",
        ));
    }
    Ok(merged)
}

/// Loads the files of one project (the main one or an included one) into one tree,
/// with its `include`s and `extends` resolved.
fn load_tree(
    opts: &LoadOptions,
    files: &[PathBuf],
    project_directory: &Path,
    vars: &IndexMap<String, String>,
    stack: &mut Vec<PathBuf>,
    diags: &mut Diagnostics,
) -> Result<Node, LoadError> {
    let mut root: Option<Node> = None;
    for path in files {
        if let Some(doc) = parse_file(opts, path, vars, diags)? {
            root = Some(match root {
                None => doc,
                Some(base) => merge::merge(base, doc),
            });
        }
    }
    let Some(mut root) = root else {
        // Every file failed to parse or was empty; the reasons are in `diags`.
        return Ok(Node::new(
            Value::Map(Default::default()),
            Span::synthetic("<none>"),
        ));
    };
    merge::strip_tags(&mut root);

    let base_dir = files
        .first()
        .filter(|p| *p != Path::new("-"))
        .and_then(|p| p.parent())
        .map(Path::to_path_buf)
        .unwrap_or_else(|| project_directory.to_path_buf());
    resolve_includes(opts, &mut root, &base_dir, stack, diags)?;

    let mut load_other = |path: &Path| -> Result<Node, Diagnostic> {
        let mut local = Diagnostics::default();
        let parsed = parse_file(opts, path, vars, &mut local).map_err(|e| {
            let cause = std::error::Error::source(&e)
                .map(|c| format!(": {c}"))
                .unwrap_or_default();
            Diagnostic::error(None, KeyPath::root(), format!("{e}{cause}"))
        })?;
        if let Some(first) = local.errors().next() {
            return Err(first.clone());
        }
        let mut node = parsed.ok_or_else(|| {
            Diagnostic::error(
                None,
                KeyPath::root(),
                format!("{} is empty", path.display()),
            )
        })?;
        merge::strip_tags(&mut node);
        Ok(node)
    };
    diags.extend(extends::resolve_extends(
        &mut root,
        &base_dir,
        &mut load_other,
    ));
    Ok(root)
}

/// `include:` entries load other projects (each with its own directory and `.env`) and
/// add their services, networks, volumes, secrets and configs; a name defined on both
/// sides is an error.
fn resolve_includes(
    opts: &LoadOptions,
    root: &mut Node,
    base_dir: &Path,
    stack: &mut Vec<PathBuf>,
    diags: &mut Diagnostics,
) -> Result<(), LoadError> {
    let Some(map) = root.as_map_mut() else {
        return Ok(());
    };
    let Some(entry) = map.entries.shift_remove("include") else {
        return Ok(());
    };
    let Some(items) = entry.value.as_seq() else {
        diags.push(Diagnostic::error(
            Some(entry.value.span.clone()),
            KeyPath::root().key("include"),
            format!(
                "expected a list of files or include mappings, found {}",
                entry.value.kind_name()
            ),
        ));
        return Ok(());
    };
    for (i, item) in items.iter().enumerate() {
        let path = KeyPath::root().key("include").index(i);
        let Some(inc) = Include::from_node(item, base_dir) else {
            diags.push(Diagnostic::error(
                Some(item.span.clone()),
                path,
                "expected a file path or a mapping with `path`, `project_directory` and `env_file`",
            ));
            continue;
        };
        if let Some(p) = inc.files.iter().find(|p| stack.contains(p)) {
            diags.push(Diagnostic::error(
                Some(item.span.clone()),
                path,
                format!("include cycle: {} includes itself", p.display()),
            ));
            continue;
        }
        if let Some(missing) = inc
            .files
            .iter()
            .chain(&inc.env_files)
            .find(|f| !f.is_file())
        {
            diags.push(Diagnostic::error(
                Some(item.span.clone()),
                path,
                format!("cannot include {}: no such file", missing.display()),
            ));
            continue;
        }
        let vars = variables(opts, &inc.project_directory, &inc.env_files, diags)?;
        stack.extend(inc.files.iter().cloned());
        let included = load_tree(
            opts,
            &inc.files,
            &inc.project_directory,
            &vars,
            stack,
            diags,
        )?;
        stack.truncate(stack.len() - inc.files.len());
        let mut included = included;
        rebase_included(&mut included, &inc.project_directory);
        add_included(root, included, &path, diags);
    }
    Ok(())
}

struct Include {
    files: Vec<PathBuf>,
    project_directory: PathBuf,
    env_files: Vec<PathBuf>,
}

impl Include {
    fn from_node(node: &Node, base_dir: &Path) -> Option<Include> {
        let strings = |n: &Node| -> Option<Vec<String>> {
            match &n.value {
                Value::String(s) => Some(vec![s.clone()]),
                Value::Seq(items) => items
                    .iter()
                    .map(|i| i.as_str().map(str::to_string))
                    .collect(),
                _ => None,
            }
        };
        let (files, dir, env_files) = match &node.value {
            Value::String(s) => (vec![s.clone()], None, vec![]),
            Value::Map(_) => (
                strings(node.get("path")?)?,
                node.get("project_directory")
                    .and_then(|n| n.as_str().map(str::to_string)),
                node.get("env_file").map(strings).unwrap_or(Some(vec![]))?,
            ),
            _ => return None,
        };
        let files: Vec<PathBuf> = files
            .iter()
            .map(|f| paths::absolute(base_dir, Path::new(f)))
            .collect();
        let project_directory = match dir {
            Some(d) => paths::absolute(base_dir, Path::new(&d)),
            None => files.first()?.parent()?.to_path_buf(),
        };
        // Like the compose files, env files are relative to the including file.
        let env_files = env_files
            .iter()
            .map(|f| paths::absolute(base_dir, Path::new(f)))
            .collect();
        Some(Include {
            files,
            project_directory,
            env_files,
        })
    }
}

/// Relative paths of an included project resolve against its own directory.
fn rebase_included(root: &mut Node, dir: &Path) {
    if let Some(services) = root.get_mut("services").and_then(Node::as_map_mut) {
        for e in services.entries.values_mut() {
            extends::rebase_service_paths(&mut e.value, dir);
        }
    }
    for section in ["secrets", "configs"] {
        let Some(items) = root.get_mut(section).and_then(Node::as_map_mut) else {
            continue;
        };
        for e in items.entries.values_mut() {
            if let Some(file) = e.value.get_mut("file") {
                if let Value::String(f) = &mut file.value {
                    if !f.starts_with('/') && !f.starts_with('~') {
                        *f = dir.join(&*f).display().to_string();
                    }
                }
            }
        }
    }
}

fn add_included(root: &mut Node, included: Node, at: &KeyPath, diags: &mut Diagnostics) {
    let Value::Map(inc) = included.value else {
        return;
    };
    let Some(root_map) = root.as_map_mut() else {
        return;
    };
    for section in [
        "services", "networks", "volumes", "secrets", "configs", "models",
    ] {
        let Some(from) = inc.entries.get(section) else {
            continue;
        };
        let Value::Map(from) = &from.value.value else {
            continue;
        };
        let target = root_map
            .entries
            .entry(section.to_string())
            .or_insert_with(|| super::node::Entry {
                key_span: included.span.clone(),
                value: Node::new(Value::Map(Default::default()), included.span.clone()),
            });
        let Value::Map(to) = &mut target.value.value else {
            continue;
        };
        for (name, e) in &from.entries {
            if let Some(existing) = to.entries.get(name) {
                diags.push(Diagnostic::error(
                    Some(e.key_span.clone()),
                    at.clone(),
                    format!(
                        "{section}.{name} is defined both here and at {}: an included file may not redefine a resource",
                        existing.key_span
                    ),
                ));
                continue;
            }
            to.entries.insert(name.clone(), e.clone());
        }
    }
}

/// `-p`/`COMPOSE_PROJECT_NAME`, else the top-level `name:`, else the project
/// directory's base name, normalised as compose does.
fn project_name(
    opts: &LoadOptions,
    root: &Node,
    raw: &raw::RawProject,
    diags: &mut Diagnostics,
) -> String {
    if let Some(n) = &opts.project_name {
        return n.clone();
    }
    if let Some(n) = raw.name.as_deref().filter(|n| !n.is_empty()) {
        if !is_valid_project_name(n) {
            diags.push(Diagnostic::error(
                root.get("name").map(|n| n.span.clone()),
                KeyPath::root().key("name"),
                format!(
                    "`{n}` is not a valid project name: use lowercase letters, digits, `_` and `-`, starting with a letter or digit"
                ),
            ));
        }
        return n.to_string();
    }
    let base = opts
        .project_directory
        .file_name()
        .map(|s| s.to_string_lossy().to_string())
        .unwrap_or_default();
    let name = normalize_project_name(&base);
    if name.is_empty() {
        diags.push(Diagnostic::error(
            None,
            KeyPath::root(),
            format!(
                "cannot derive a project name from the directory `{}`: set `name:` in the file or use -p NAME",
                opts.project_directory.display()
            ),
        ));
    }
    name
}

/// Compose's normalisation of a directory name: lowercase, only `[a-z0-9_-]`, starting
/// with a letter or digit.
pub fn normalize_project_name(s: &str) -> String {
    let lower: String = s
        .to_lowercase()
        .chars()
        .filter(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_' || *c == '-')
        .collect();
    lower.trim_start_matches(['_', '-']).to_string()
}

pub fn is_valid_project_name(s: &str) -> bool {
    !s.is_empty()
        && s.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
}

/// Keeps the services that are active: no `profiles`, a profile enabled (`*` enables
/// all), or named on the command line, plus everything those depend on. A required
/// dependency on a service left out by its profiles is an error.
pub fn apply_profiles(
    project: &mut Project,
    enabled: &[String],
    named: &[String],
) -> Vec<Diagnostic> {
    let all = enabled.iter().any(|p| p == "*");
    let mut active: BTreeSet<String> = project
        .services
        .iter()
        .filter(|(name, s)| {
            s.profiles.is_empty()
                || all
                || s.profiles.iter().any(|p| enabled.contains(p))
                || named.contains(name)
        })
        .map(|(name, _)| name.clone())
        .collect();
    // Services named on the command line pull in what they depend on.
    let mut queue: Vec<String> = named
        .iter()
        .filter(|n| project.services.contains_key(*n))
        .cloned()
        .collect();
    while let Some(name) = queue.pop() {
        let Some(service) = project.services.get(&name) else {
            continue;
        };
        for dep in service.depends_on.keys() {
            if project.services.contains_key(dep) && active.insert(dep.clone()) {
                queue.push(dep.clone());
            }
        }
    }
    let mut diags = Vec::new();
    for name in &active {
        let Some(service) = project.services.get(name) else {
            continue;
        };
        for (dep, d) in &service.depends_on {
            if d.required && !active.contains(dep) {
                if let Some(target) = project.services.get(dep) {
                    diags.push(Diagnostic::at_path(
                        KeyPath::root().key("services").key(name.clone()).key("depends_on").key(dep.clone()),
                        format!(
                            "`{name}` depends on `{dep}`, which is only in profile(s) {}: enable one with --profile",
                            target.profiles.iter().map(|p| format!("`{p}`")).collect::<Vec<_>>().join(", ")
                        ),
                    ));
                }
            }
        }
    }
    project.services.retain(|name, _| active.contains(name));
    diags
}
