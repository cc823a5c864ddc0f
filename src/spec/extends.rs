//! `extends`: a service defined over another one, from the same file or another file.
//!
//! `extends: base` or `extends: {service: base, file: common.yaml}` takes the base
//! service (itself resolved first, so chains work) and merges the extending service over
//! it by the rules of [`merge_service`]; the result has no `extends`. A service taken from
//! another file has its relative paths made absolute against that file's directory
//! first, since they were written relative to it.
//!
//! Like merging, this works on interpolated but unvalidated trees: an `extends` of an
//! unexpected shape is left in place for validation to report.

use super::diag::{suggest, Diagnostic};
use super::merge::merge_service;
use super::node::{Entry, KeyPath, Node, Span, Value};
use super::paths::clean;
use indexmap::IndexMap;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Resolves every `extends` under `services` of `root`, a document whose relative paths
/// are relative to `base_dir`. `load` reads another file (an absolute path) into an
/// interpolated tree; each file is loaded once. Services whose `extends` cannot be
/// resolved are left as they are, and the problems are returned.
pub fn resolve_extends(
    root: &mut Node,
    base_dir: &Path,
    load: &mut dyn FnMut(&Path) -> Result<Node, Diagnostic>,
) -> Vec<Diagnostic> {
    let extends_any = root
        .get("services")
        .and_then(Node::as_map)
        .is_some_and(|m| m.entries.values().any(|e| e.value.get("extends").is_some()));
    if !extends_any {
        return Vec::new();
    }
    let mut resolver = Resolver {
        docs: vec![Doc::new(root, clean(base_dir), None)],
        files: HashMap::new(),
        load,
        diags: Vec::new(),
    };
    let names: Vec<String> = resolver.docs[0].services.keys().cloned().collect();
    for name in &names {
        resolver.resolve(0, name);
    }
    let outcomes = std::mem::take(&mut resolver.docs[0].outcomes);
    if let Some(services) = root.get_mut("services").and_then(Node::as_map_mut) {
        for (name, outcome) in outcomes {
            if let (Outcome::Merged(node), Some(entry)) = (outcome, services.entries.get_mut(&name))
            {
                entry.value = node;
            }
        }
    }
    resolver.diags
}

/// Makes the relative paths of a service taken from another file absolute against
/// `dir`, that file's directory: `build` (the string form) and `build.context` unless
/// remote (a URL or `git@…`; a mapping without `context` gets `dir`),
/// `build.additional_contexts`, `env_file` (strings or `path`), `label_file`, the
/// sources of bind mounts in `volumes` (short syntax: a source starting with `.`; long
/// syntax: `type: bind`), `develop.watch[].path` and `extends.file`.
/// `build.dockerfile` stays relative to the context; `~` paths are left for later.
pub fn rebase_service_paths(service: &mut Node, dir: &Path) {
    let Some(map) = service.as_map_mut() else {
        return;
    };
    for (key, entry) in map.entries.iter_mut() {
        let value = &mut entry.value;
        match key.as_str() {
            "build" => rebase_build(value, dir),
            "env_file" | "label_file" => {
                for item in items_mut(value) {
                    rebase_scalar(item, dir);
                    if let Some(path) = item.get_mut("path") {
                        rebase_scalar(path, dir);
                    }
                }
            }
            "volumes" => {
                for item in items_mut(value) {
                    rebase_volume(item, dir);
                }
            }
            "develop" => {
                if let Some(watch) = value.get_mut("watch") {
                    for rule in items_mut(watch) {
                        if let Some(path) = rule.get_mut("path") {
                            rebase_scalar(path, dir);
                        }
                    }
                }
            }
            "extends" => {
                if let Some(file) = value.get_mut("file") {
                    rebase_scalar(file, dir);
                }
            }
            _ => {}
        }
    }
}

/// The items of a list, or a scalar as its only item; nothing for a mapping or null.
fn items_mut(node: &mut Node) -> Vec<&mut Node> {
    if node.as_str().is_some() {
        return vec![node];
    }
    match &mut node.value {
        Value::Seq(items) => items.iter_mut().collect(),
        _ => Vec::new(),
    }
}

fn rebase_build(build: &mut Node, dir: &Path) {
    let span = build.span.clone();
    match &mut build.value {
        Value::String(_) => rebase_context(build, dir),
        Value::Map(m) => {
            match m.entries.get_mut("context") {
                Some(context) => rebase_context(&mut context.value, dir),
                None => {
                    let context = Value::String(dir.to_string_lossy().into_owned());
                    m.entries.insert(
                        "context".into(),
                        Entry {
                            key_span: span.clone(),
                            value: Node::new(context, span),
                        },
                    );
                }
            }
            match m
                .entries
                .get_mut("additional_contexts")
                .map(|e| &mut e.value)
            {
                Some(Node {
                    value: Value::Map(contexts),
                    ..
                }) => {
                    for entry in contexts.entries.values_mut() {
                        rebase_context(&mut entry.value, dir);
                    }
                }
                Some(Node {
                    value: Value::Seq(items),
                    ..
                }) => {
                    for item in items {
                        let Some((name, path)) = item.as_str().and_then(|s| s.split_once('='))
                        else {
                            continue;
                        };
                        if let Some(path) = rebased_context(path, dir) {
                            item.value = Value::String(format!("{name}={path}"));
                        }
                    }
                }
                _ => {}
            }
        }
        _ => {}
    }
}

/// A build context is a local path unless it is a URL (`https://`, `docker-image://`, …)
/// or a git reference.
fn rebased_context(context: &str, dir: &Path) -> Option<String> {
    if context.contains("://") || context.starts_with("github.com/") || context.starts_with("git@")
    {
        return None;
    }
    rebased(context, dir)
}

fn rebase_context(node: &mut Node, dir: &Path) {
    if let Some(path) = node.as_str().and_then(|s| rebased_context(s, dir)) {
        node.value = Value::String(path);
    }
}

fn rebase_scalar(node: &mut Node, dir: &Path) {
    if let Some(path) = node.as_str().and_then(|s| rebased(s, dir)) {
        node.value = Value::String(path);
    }
}

/// Short syntax `./src:/dst[:mode]` (a source starting with `.` is a relative bind
/// mount; `/` and `~` ones are not relative, anything else names a volume); long syntax
/// `{type: bind, source: …}`.
fn rebase_volume(volume: &mut Node, dir: &Path) {
    if let Some(text) = volume.as_str() {
        let Some((source, rest)) = text.split_once(':') else {
            return;
        };
        if source.starts_with('.') {
            if let Some(source) = rebased(source, dir) {
                volume.value = Value::String(format!("{source}:{rest}"));
            }
        }
    } else if volume.get("type").and_then(Node::as_str) == Some("bind") {
        if let Some(source) = volume.get_mut("source") {
            rebase_scalar(source, dir);
        }
    }
}

/// `path` made absolute against `dir`; `None` if it is absolute or starts with `~`.
fn rebased(path: &str, dir: &Path) -> Option<String> {
    if path.starts_with('~') || Path::new(path).is_absolute() {
        return None;
    }
    Some(clean(&dir.join(path)).to_string_lossy().into_owned())
}

/// One document taking part: the one being resolved (index 0) or another file.
struct Doc {
    /// The directory its relative paths are relative to.
    dir: PathBuf,
    /// The file it was loaded from; `None` for the document being resolved.
    file: Option<PathBuf>,
    /// Its services as written.
    services: IndexMap<String, Node>,
    outcomes: HashMap<String, Outcome>,
}

impl Doc {
    fn new(root: &Node, dir: PathBuf, file: Option<PathBuf>) -> Self {
        let services = root
            .get("services")
            .and_then(Node::as_map)
            .map(|m| {
                m.entries
                    .iter()
                    .map(|(k, e)| (k.clone(), e.value.clone()))
                    .collect()
            })
            .unwrap_or_default();
        Doc {
            dir,
            file,
            services,
            outcomes: HashMap::new(),
        }
    }
}

enum Outcome {
    /// The service extends nothing: it stands as written.
    Plain,
    /// The service merged over the one it extends.
    Merged(Node),
    /// Its `extends` could not be resolved (reported once, where it failed).
    Failed,
}

/// A parsed `extends`.
struct Reference {
    service: String,
    /// Where the service name is written (`…extends` or `…extends.service`).
    path: KeyPath,
    span: Span,
    /// `file`, with its span.
    file: Option<(String, Span)>,
}

fn extends_path(name: &str) -> KeyPath {
    KeyPath::root().key("services").key(name).key("extends")
}

/// The `extends` of a service; `None` when it has none or one of an unexpected shape.
fn reference(name: &str, service: &Node) -> Option<Reference> {
    let extends = service.get("extends")?;
    if let Some(base) = extends.as_str() {
        return Some(Reference {
            service: base.to_string(),
            path: extends_path(name),
            span: extends.span.clone(),
            file: None,
        });
    }
    let base = extends.get("service")?;
    let file = match extends.get("file") {
        None => None,
        Some(f) => Some((f.as_str()?.to_string(), f.span.clone())),
    };
    Some(Reference {
        service: base.as_str()?.to_string(),
        path: extends_path(name).key("service"),
        span: base.span.clone(),
        file,
    })
}

/// One step of a chain: `name` in `doc` extends a service of `target`.
struct Link {
    doc: usize,
    name: String,
    target: usize,
}

struct Resolver<'a> {
    docs: Vec<Doc>,
    /// Loaded files by path: the document, or `None` if loading failed.
    files: HashMap<PathBuf, Option<usize>>,
    load: &'a mut dyn FnMut(&Path) -> Result<Node, Diagnostic>,
    diags: Vec<Diagnostic>,
}

impl Resolver<'_> {
    /// Resolves one service (and every service its chain goes through), iteratively.
    fn resolve(&mut self, doc: usize, name: &str) {
        let mut chain: Vec<Link> = Vec::new();
        let (mut doc, mut name) = (doc, name.to_string());
        // Follow the chain down to a service already resolved or extending nothing.
        let mut base = loop {
            match self.docs[doc].outcomes.get(&name) {
                Some(Outcome::Merged(node)) => break node.clone(),
                Some(Outcome::Plain) => match self.docs[doc].services.get(&name) {
                    Some(node) => break node.clone(),
                    None => return self.fail(chain),
                },
                Some(Outcome::Failed) => return self.fail(chain),
                None => {}
            }
            if let Some(start) = chain.iter().position(|l| l.doc == doc && l.name == name) {
                self.report_cycle(&chain[start..]);
                return self.fail(chain);
            }
            let Some(service) = self.docs[doc].services.get(&name) else {
                return self.fail(chain);
            };
            let Some(reference) = reference(&name, service) else {
                let node = service.clone();
                self.docs[doc].outcomes.insert(name, Outcome::Plain);
                break node;
            };
            let target = match &reference.file {
                None => Some(doc),
                Some((file, span)) => self.load_file(doc, &name, file, span),
            };
            let found = target.filter(|t| self.docs[*t].services.contains_key(&reference.service));
            if let (Some(target), None) = (target, found) {
                self.report_missing(doc, &reference, target);
            }
            chain.push(Link {
                doc,
                name,
                target: found.unwrap_or(doc),
            });
            let Some(target) = found else {
                return self.fail(chain);
            };
            doc = target;
            name = reference.service;
        };
        // Merge back up the chain, each service over the one it extends.
        for link in chain.into_iter().rev() {
            if link.target != link.doc {
                rebase_service_paths(&mut base, &self.docs[link.target].dir);
            }
            let Some(mut service) = self.docs[link.doc].services.get(&link.name).cloned() else {
                continue;
            };
            remove_extends(&mut service);
            let mut merged = merge_service(base, service);
            remove_extends(&mut merged);
            self.docs[link.doc]
                .outcomes
                .insert(link.name, Outcome::Merged(merged.clone()));
            base = merged;
        }
    }

    /// Marks every service of a chain that cannot be resolved.
    fn fail(&mut self, chain: Vec<Link>) {
        for link in chain {
            self.docs[link.doc]
                .outcomes
                .insert(link.name, Outcome::Failed);
        }
    }

    /// The document of `file` (relative to the directory of document `from`), loaded
    /// once; `None`, with the load's error reported the first time, if it cannot be read.
    fn load_file(&mut self, from: usize, name: &str, file: &str, span: &Span) -> Option<usize> {
        let path = clean(&self.docs[from].dir.join(file));
        if let Some(known) = self.files.get(&path) {
            return *known;
        }
        let loaded = match (self.load)(&path) {
            Ok(node) => {
                let dir = path
                    .parent()
                    .map_or_else(|| PathBuf::from("/"), Path::to_path_buf);
                self.docs.push(Doc::new(&node, dir, Some(path.clone())));
                Some(self.docs.len() - 1)
            }
            Err(mut diag) => {
                if diag.span.is_none() {
                    diag.span = Some(span.clone());
                }
                if diag.path.0.is_empty() {
                    diag.path = extends_path(name).key("file");
                }
                self.diags.push(diag);
                None
            }
        };
        self.files.insert(path, loaded);
        loaded
    }

    fn report_missing(&mut self, doc: usize, reference: &Reference, target: usize) {
        let known: Vec<&str> = self.docs[target]
            .services
            .keys()
            .map(String::as_str)
            .collect();
        let place = match (&self.docs[target].file, target == doc) {
            (Some(file), false) => file.display().to_string(),
            _ => "this file".to_string(),
        };
        let mut message = format!("service \"{}\" not found in {place}", reference.service);
        if known.is_empty() {
            message.push_str(", which defines no services");
        } else {
            message.push_str(&format!("; defined services: {}", known.join(", ")));
            if let Some(close) = suggest(&reference.service, known.iter().copied()) {
                message.push_str(&format!("; did you mean \"{close}\"?"));
            }
        }
        self.diags.push(Diagnostic::error(
            Some(reference.span.clone()),
            reference.path.clone(),
            message,
        ));
    }

    /// Reports a cycle at the `extends` of its first service: `a -> b -> a` (services of
    /// another document than the first's carry their file: `b (common.yaml)`).
    fn report_cycle(&mut self, cycle: &[Link]) {
        let Some(first) = cycle.first() else {
            return;
        };
        let label = |link: &Link| match &self.docs[link.doc].file {
            Some(file) if link.doc != first.doc => {
                format!("{} ({})", link.name, file.display())
            }
            _ => link.name.clone(),
        };
        let mut names: Vec<String> = cycle.iter().map(label).collect();
        names.push(first.name.clone());
        let span = self.docs[first.doc]
            .services
            .get(&first.name)
            .and_then(|s| s.get("extends"))
            .map(|e| e.span.clone());
        self.diags.push(Diagnostic::error(
            span,
            extends_path(&first.name),
            format!("extends cycle: {}", names.join(" -> ")),
        ));
    }
}

fn remove_extends(service: &mut Node) {
    if let Some(map) = service.as_map_mut() {
        map.entries.shift_remove("extends");
    }
}

#[cfg(test)]
mod tests {
    use super::super::merge::testing::{has_tags, json, tree};
    use super::*;

    fn expect(yaml: &str) -> String {
        json(&tree("expected", yaml))
    }

    fn no_files(path: &Path) -> Result<Node, Diagnostic> {
        panic!("unexpected load of {}", path.display())
    }

    /// Resolves a document in `/proj` whose other files come from `files`; returns the
    /// JSON text of the result and the messages of the diagnostics.
    fn resolve(root: &str, files: &[(&str, &str)]) -> (String, Vec<String>) {
        let mut doc = tree("/proj/compose.yaml", root);
        let mut load = |path: &Path| {
            files
                .iter()
                .find(|(p, _)| Path::new(p) == path)
                .map(|(p, text)| tree(p, text))
                .ok_or_else(|| {
                    Diagnostic::at_path(
                        KeyPath::root(),
                        format!("cannot read {}: no such file", path.display()),
                    )
                })
        };
        let diags = resolve_extends(&mut doc, Path::new("/proj"), &mut load);
        (json(&doc), diags.iter().map(ToString::to_string).collect())
    }

    #[test]
    fn extends_a_service_of_the_same_file() {
        let (doc, diags) = resolve(
            "services:
  base: {image: a, environment: [A=1, B=2], command: [run], ports: ['80:80']}
  web: {extends: base, environment: {B: 3}, command: [serve], ports: ['443:443']}
  api: {extends: {service: base}, image: b}",
            &[],
        );
        assert_eq!(diags, Vec::<String>::new());
        assert_eq!(
            doc,
            expect(
                "services:
  base: {image: a, environment: [A=1, B=2], command: [run], ports: ['80:80']}
  web: {image: a, environment: {A: '1', B: 3}, command: [serve], ports: ['80:80', '443:443']}
  api: {image: b, environment: [A=1, B=2], command: [run], ports: ['80:80']}"
            )
        );
    }

    #[test]
    fn chains_resolve_in_any_order() {
        let (doc, diags) = resolve(
            "services:
  a: {extends: b, labels: [a=1]}
  b: {extends: c, labels: [b=1], user: b}
  c: {image: c, user: c}",
            &[],
        );
        assert_eq!(diags, Vec::<String>::new());
        assert_eq!(
            doc,
            expect(
                "services:
  a: {image: c, user: b, labels: [b=1, a=1]}
  b: {image: c, user: b, labels: [b=1]}
  c: {image: c, user: c}"
            )
        );
    }

    #[test]
    fn a_cycle_is_an_error_at_its_first_service() {
        let mut doc = tree(
            "/proj/compose.yaml",
            "services:\n  a: {extends: b}\n  b: {extends: {service: a}}\n  c: {extends: a}\n  d: {extends: d}",
        );
        let before = doc.clone();
        let diags = resolve_extends(&mut doc, Path::new("/proj"), &mut no_files);
        let span = |p: &str| before.at(&KeyPath::parse(p)).map(|n| n.span.clone());
        assert_eq!(
            diags,
            vec![
                Diagnostic::error(
                    span("services.a.extends"),
                    KeyPath::parse("services.a.extends"),
                    "extends cycle: a -> b -> a"
                ),
                Diagnostic::error(
                    span("services.d.extends"),
                    KeyPath::parse("services.d.extends"),
                    "extends cycle: d -> d"
                ),
            ]
        );
        assert_eq!(doc, before);
    }

    #[test]
    fn an_undefined_service_is_an_error_with_suggestions() {
        let mut doc = tree(
            "/proj/compose.yaml",
            "services:\n  db: {image: pg}\n  web: {extends: dbb}\n  api: {extends: {service: zzz}}\n  worker: {extends: web}",
        );
        let before = doc.clone();
        let diags = resolve_extends(&mut doc, Path::new("/proj"), &mut no_files);
        let web_span = before
            .at(&KeyPath::parse("services.web.extends"))
            .map(|n| n.span.clone());
        let api_span = before
            .at(&KeyPath::parse("services.api.extends.service"))
            .map(|n| n.span.clone());
        assert_eq!(
            diags,
            vec![
                Diagnostic::error(
                    web_span,
                    KeyPath::parse("services.web.extends"),
                    "service \"dbb\" not found in this file; defined services: db, web, api, worker; did you mean \"db\"?"
                ),
                Diagnostic::error(
                    api_span,
                    KeyPath::parse("services.api.extends.service"),
                    "service \"zzz\" not found in this file; defined services: db, web, api, worker"
                ),
            ]
        );
        // The failed services, and those extending them, are left as written.
        assert_eq!(doc, before);
    }

    #[test]
    fn another_file_is_loaded_once_with_its_paths_rebased() {
        let mut loads = Vec::new();
        let mut doc = tree(
            "/proj/compose.yaml",
            "services:
  web:
    extends: {file: common/base.yaml, service: base}
    volumes: ['./local:/local']
  api:
    extends: {file: ./common/../common/base.yaml, service: tool}",
        );
        let mut load = |path: &Path| {
            loads.push(path.to_path_buf());
            Ok(tree(
                "/proj/common/base.yaml",
                "services:
  base:
    build: {context: ., dockerfile: Dockerfile.dev}
    env_file: [.env, {path: ../shared.env, required: false}]
    volumes: ['./data:/data', 'named:/named', '/abs:/abs', '~/h:/h', {type: bind, source: src, target: /src}, {type: volume, source: v, target: /v}]
    label_file: labels
  tool:
    build: git@github.com:org/tool.git
    env_file: tool.env",
            ))
        };
        let diags = resolve_extends(&mut doc, Path::new("/proj"), &mut load);
        assert_eq!(diags, Vec::<Diagnostic>::new());
        assert_eq!(loads, vec![PathBuf::from("/proj/common/base.yaml")]);
        assert_eq!(
            json(&doc),
            expect(
                "services:
  web:
    build: {context: /proj/common, dockerfile: Dockerfile.dev}
    env_file: [/proj/common/.env, {path: /proj/shared.env, required: false}]
    volumes: ['/proj/common/data:/data', 'named:/named', '/abs:/abs', '~/h:/h', {type: bind, source: /proj/common/src, target: /src}, {type: volume, source: v, target: /v}, './local:/local']
    label_file: /proj/common/labels
  api:
    build: git@github.com:org/tool.git
    env_file: /proj/common/tool.env"
            )
        );
    }

    #[test]
    fn extends_in_another_file_resolve_relative_to_it() {
        let (doc, diags) = resolve(
            "services:\n  web: {extends: {file: a/one.yaml, service: one}, image: web}",
            &[
                (
                    "/proj/a/one.yaml",
                    "services:
  one: {extends: two, env_file: one.env}
  two: {extends: {file: b/three.yaml, service: three}, env_file: two.env}",
                ),
                (
                    "/proj/a/b/three.yaml",
                    "services:\n  three: {build: ., image: three}",
                ),
            ],
        );
        assert_eq!(diags, Vec::<String>::new());
        assert_eq!(
            doc,
            expect(
                "services:
  web: {build: /proj/a/b, image: web, env_file: [/proj/a/two.env, /proj/a/one.env]}"
            )
        );
    }

    #[test]
    fn a_missing_file_or_service_elsewhere_is_reported_where_it_is_named() {
        let mut doc = tree(
            "/proj/compose.yaml",
            "services:
  web: {extends: {file: nope.yaml, service: x}}
  api: {extends: {file: nope.yaml, service: y}}
  job: {extends: {file: empty.yaml, service: x}}
  run: {extends: {file: other.yaml, service: bsae}}",
        );
        let before = doc.clone();
        let mut load = |path: &Path| match path.to_str() {
            Some("/proj/empty.yaml") => Ok(tree("/proj/empty.yaml", "name: x")),
            Some("/proj/other.yaml") => Ok(tree("/proj/other.yaml", "services: {base: {}}")),
            _ => Err(Diagnostic::at_path(
                KeyPath::root(),
                format!("cannot read {}", path.display()),
            )),
        };
        let diags = resolve_extends(&mut doc, Path::new("/proj"), &mut load);
        let span = |p: &str| before.at(&KeyPath::parse(p)).map(|n| n.span.clone());
        assert_eq!(
            diags,
            vec![
                Diagnostic::error(
                    span("services.web.extends.file"),
                    KeyPath::parse("services.web.extends.file"),
                    "cannot read /proj/nope.yaml"
                ),
                Diagnostic::error(
                    span("services.job.extends.service"),
                    KeyPath::parse("services.job.extends.service"),
                    "service \"x\" not found in /proj/empty.yaml, which defines no services"
                ),
                Diagnostic::error(
                    span("services.run.extends.service"),
                    KeyPath::parse("services.run.extends.service"),
                    "service \"bsae\" not found in /proj/other.yaml; defined services: base; did you mean \"base\"?"
                ),
            ]
        );
        assert_eq!(doc, before);
    }

    #[test]
    fn a_cycle_across_files_names_the_files() {
        let (_, diags) = resolve(
            "services:\n  web: {extends: {file: other.yaml, service: x}}",
            &[
                (
                    "/proj/other.yaml",
                    "services:\n  x: {extends: {file: compose.yaml, service: web}}",
                ),
                (
                    "/proj/compose.yaml",
                    "services:\n  web: {extends: {file: other.yaml, service: x}}",
                ),
            ],
        );
        // The first document's own file, named by `extends.file`, is loaded as another
        // document: the cycle closes in the files loaded.
        assert_eq!(
            diags,
            vec![
                "/proj/other.yaml:7:1: services.x.extends: extends cycle: x -> web (/proj/compose.yaml) -> x"
            ]
        );
    }

    #[test]
    fn tags_of_the_extending_service_apply_to_its_base() {
        let (doc, diags) = resolve(
            "services:
  base: {image: a, ports: ['80:80'], labels: {a: '1', b: '2'}}
  web: {extends: base, ports: !reset [], labels: {a: !reset null}}
  other: {image: b, ports: !reset []}",
            &[],
        );
        assert_eq!(diags, Vec::<String>::new());
        assert_eq!(
            doc,
            expect(
                "services:
  base: {image: a, ports: ['80:80'], labels: {a: '1', b: '2'}}
  web: {image: a, labels: {b: '2'}}
  other: {image: b, ports: []}"
            )
        );
    }

    #[test]
    fn services_without_extends_keep_their_tags() {
        let mut doc = tree(
            "/proj/compose.yaml",
            "services:\n  a: {ports: !reset []}\n  b: {extends: a, image: x}",
        );
        let diags = resolve_extends(&mut doc, Path::new("/proj"), &mut no_files);
        assert!(diags.is_empty());
        let a = doc.at(&KeyPath::parse("services.a")).expect("a");
        assert!(has_tags(a));
        let b = doc.at(&KeyPath::parse("services.b")).expect("b");
        assert!(!has_tags(b));
        assert_eq!(json(b), expect("image: x"));
    }

    #[test]
    fn extends_of_unexpected_shapes_are_left_for_validation() {
        let src = "services:
  a: {extends: 3}
  b: {extends: {file: x.yaml}}
  c: {extends: {service: a, file: [x]}}
  d: {extends: a, image: d}
services2: 1";
        let (doc, diags) = resolve(src, &[]);
        assert_eq!(diags, Vec::<String>::new());
        assert_eq!(
            doc,
            expect(
                "services:
  a: {extends: 3}
  b: {extends: {file: x.yaml}}
  c: {extends: {service: a, file: [x]}}
  d: {image: d}
services2: 1"
            )
        );
        let (doc, diags) = resolve("services: [a]", &[]);
        assert_eq!((doc, diags), (expect("services: [a]"), vec![]));
    }

    #[test]
    fn rebasing_handles_every_path_attribute() {
        let mut service = tree(
            "f",
            "build: {context: ../ctx, dockerfile: Dockerfile, additional_contexts: {a: ./a, img: 'docker-image://alpine', web: 'https://x/y.git'}}
env_file: ./e.env
label_file: [l1, /abs/l2]
volumes: ['.:/app', '../up:/up:ro', 'vol:/vol', './only']
develop: {watch: [{path: ./src, action: sync}]}
extends: {file: ../base.yaml, service: b}",
        );
        rebase_service_paths(&mut service, Path::new("/p/d"));
        assert_eq!(
            json(&service),
            expect(
                "build: {context: /p/ctx, dockerfile: Dockerfile, additional_contexts: {a: /p/d/a, img: 'docker-image://alpine', web: 'https://x/y.git'}}
env_file: /p/d/e.env
label_file: [/p/d/l1, /abs/l2]
volumes: ['/p/d:/app', '/p/up:/up:ro', 'vol:/vol', './only']
develop: {watch: [{path: /p/d/src, action: sync}]}
extends: {file: /p/base.yaml, service: b}"
            )
        );
        let mut service = tree(
            "f",
            "build: {dockerfile: D, additional_contexts: ['a=./a', 'b=github.com/o/r']}",
        );
        rebase_service_paths(&mut service, Path::new("/p"));
        assert_eq!(
            json(&service),
            expect("build: {dockerfile: D, additional_contexts: ['a=/p/a', 'b=github.com/o/r'], context: /p}")
        );
        let mut service = tree("f", "build: 'https://github.com/o/r.git#main'");
        rebase_service_paths(&mut service, Path::new("/p"));
        assert_eq!(
            json(&service),
            expect("build: 'https://github.com/o/r.git#main'")
        );
    }
}
