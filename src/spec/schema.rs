//! Structural validation of a compose document against the Compose Specification's JSON
//! Schema (draft-07), checked in at `schemas/compose-spec.json`.
//!
//! Every problem is reported at once, each at the span of the offending node (an unknown
//! key at the key itself) with its key path and what was expected. `oneOf` and `anyOf` are
//! both read as "at least one branch matches": the compose schema's branches are meant as
//! alternatives, and two matching branches are no error.

use super::diag::{suggest, Diagnostic};
use super::node::{format_float, KeyPath, Mapping, Node, PathRef, Span, Value};
use regex::Regex;
use serde_json::{Map as JsonMap, Value as Json};
use std::collections::HashMap;
use std::sync::OnceLock;

/// The Compose Specification JSON Schema this crate validates against.
const COMPOSE_SPEC: &str = include_str!("../../schemas/compose-spec.json");

/// How deep validation may go (nodes plus `$ref` hops) before it gives up, so that a
/// self-referencing schema or a very deep document cannot exhaust the stack.
const MAX_DEPTH: usize = 256;

/// Above this many allowed keys, an unknown key's message points at the specification
/// instead of listing them.
const MAX_LISTED_KEYS: usize = 10;

/// The parsed Compose Specification schema, or why the embedded text does not parse.
fn compose_spec() -> Result<&'static Json, &'static str> {
    static SCHEMA: OnceLock<Result<Json, String>> = OnceLock::new();
    SCHEMA
        .get_or_init(|| serde_json::from_str(COMPOSE_SPEC).map_err(|e| e.to_string()))
        .as_ref()
        .map_err(String::as_str)
}

/// Validates a compose document against the Compose Specification schema. Errors and
/// warnings (deprecated keys) come in document order.
pub fn validate(root: &Node) -> Vec<Diagnostic> {
    // The schema is compiled once per process (it is a constant), not per document.
    static COMPILED: OnceLock<Compiled<'static>> = OnceLock::new();
    match compose_spec() {
        Ok(schema) => COMPILED
            .get_or_init(|| Compiled::new(schema))
            .validate(root),
        Err(e) => vec![Diagnostic::error(
            None,
            KeyPath::root(),
            format!("the built-in Compose Specification schema does not parse: {e}"),
        )],
    }
}

/// Validates a document against any draft-07 schema that uses the keywords the compose
/// schema uses (`$ref` may only point into the same schema: `#/definitions/...`).
pub fn validate_against(root: &Node, schema: &Json) -> Vec<Diagnostic> {
    Compiled::new(schema).validate(root)
}

/// What the checks of a node found.
struct Report {
    /// Warnings, and errors unless probing.
    found: Vec<Diagnostic>,
    /// Only whether there is an error matters (an alternative being tried): errors are
    /// counted, their messages not built.
    probe: bool,
    errors: usize,
}

impl Report {
    fn new(probe: bool) -> Self {
        Report {
            found: Vec::new(),
            probe,
            errors: 0,
        }
    }

    /// An error at `span`; `message` is only called when the error is kept.
    fn error(&mut self, span: &Span, path: PathRef<'_>, message: impl FnOnce() -> String) {
        self.errors += 1;
        if !self.probe {
            let d = Diagnostic::error(Some(span.clone()), path.to_key_path(), message());
            self.found.push(d);
        }
    }

    fn warning(&mut self, d: Diagnostic) {
        self.found.push(d);
    }

    /// Takes in what a check made on its own found.
    fn absorb(&mut self, other: Report) {
        self.errors += other.errors;
        self.found.extend(other.found);
    }

    /// A probe that already failed need not look further.
    fn settled(&self) -> bool {
        self.probe && self.errors > 0
    }
}

/// A schema with its keywords read and its `$ref`s resolved ahead of validation: every
/// schema object it contains is compiled once, and refers to the others by index.
struct Compiled<'s> {
    /// Index 0 is the root.
    schemas: Vec<Schema<'s>>,
}

/// One compiled schema.
enum Schema<'s> {
    /// `false`: no value is allowed.
    Nothing,
    /// `true`, or anything else that is not an object: every value is allowed.
    Anything,
    Object(Box<Keywords<'s>>),
}

/// The keywords of a schema object that validation uses (each as draft-07 reads it; a
/// keyword whose value has the wrong JSON type is ignored, as before compilation).
struct Keywords<'s> {
    /// The object as written, for messages.
    raw: &'s JsonMap<String, Json>,
    /// `$ref`: the schema it points to, or the reference as written when it points
    /// nowhere. When present it replaces every other keyword.
    reference: Option<Result<usize, &'s Json>>,
    types: Option<Vec<&'s str>>,
    enumeration: Option<&'s [Json]>,
    required: Option<Vec<&'s str>>,
    properties: Option<HashMap<&'s str, Property<'s>>>,
    patterns: Vec<(&'s str, Matcher, usize)>,
    additional: Additional,
    items: Items,
    unique_items: bool,
    minimum: Option<(f64, &'s Json)>,
    maximum: Option<(f64, &'s Json)>,
    pattern: Option<(&'s str, Matcher)>,
    all_of: Option<Vec<usize>>,
    /// `oneOf` then `anyOf`, those that are lists.
    alternatives: Vec<Vec<usize>>,
}

struct Property<'s> {
    schema: usize,
    deprecated: bool,
    raw: &'s Json,
}

/// `additionalProperties`: what a key no `properties` or `patternProperties` admits meets.
enum Additional {
    /// Absent, `true`, or not a schema object: nothing.
    Allowed,
    /// `false`: it is an unknown key.
    Refused,
    Checked(usize),
}

enum Items {
    None,
    /// Draft-07 tuple form: one schema per position.
    Tuple(Vec<usize>),
    Each(usize),
}

/// A schema pattern, ready to match. The patterns the Compose Specification uses for
/// names and extensions (matched for every key of every mapping) are checked directly.
enum Matcher {
    /// `^x-`
    Extension,
    /// `.+`: some character other than a newline.
    AnyLine,
    /// `^.+$`: not empty, no newline.
    OneLine,
    /// `^[a-zA-Z0-9._-]+$`
    Name,
    Regex(Regex),
    /// The pattern does not compile: why.
    Invalid(String),
}

impl Matcher {
    fn new(pattern: &str) -> Matcher {
        match pattern {
            "^x-" => Matcher::Extension,
            ".+" => Matcher::AnyLine,
            "^.+$" => Matcher::OneLine,
            "^[a-zA-Z0-9._-]+$" => Matcher::Name,
            _ => match Regex::new(pattern) {
                Ok(re) => Matcher::Regex(re),
                Err(e) => Matcher::Invalid(e.to_string()),
            },
        }
    }

    /// Whether `text` matches, or why the pattern cannot tell.
    fn matches(&self, text: &str) -> Result<bool, &str> {
        Ok(match self {
            Matcher::Extension => text.starts_with("x-"),
            Matcher::AnyLine => text.chars().any(|c| c != '\n'),
            Matcher::OneLine => !text.is_empty() && !text.contains('\n'),
            Matcher::Name => {
                !text.is_empty()
                    && text
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
            }
            Matcher::Regex(re) => re.is_match(text),
            Matcher::Invalid(e) => return Err(e),
        })
    }
}

/// Builds a [`Compiled`] schema: each schema object met gets an index the first time
/// and is compiled from a work list (no recursion, and `$ref` cycles are just indices).
struct Compiler<'s> {
    root: &'s Json,
    schemas: Vec<Schema<'s>>,
    /// Index of each schema object met, by address.
    seen: HashMap<*const Json, usize>,
    todo: Vec<(usize, &'s Json)>,
}

impl<'s> Compiler<'s> {
    fn index(&mut self, schema: &'s Json) -> usize {
        let address: *const Json = schema;
        if let Some(&i) = self.seen.get(&address) {
            return i;
        }
        let i = self.schemas.len();
        self.schemas.push(Schema::Anything);
        self.seen.insert(address, i);
        self.todo.push((i, schema));
        i
    }

    fn indices(&mut self, schemas: &'s [Json]) -> Vec<usize> {
        schemas.iter().map(|s| self.index(s)).collect()
    }

    fn compile(&mut self, schema: &'s Json) -> Schema<'s> {
        let raw = match schema {
            Json::Object(raw) => raw,
            Json::Bool(false) => return Schema::Nothing,
            _ => return Schema::Anything,
        };
        let reference = raw.get("$ref").map(|reference| {
            let target = reference
                .as_str()
                .and_then(|r| r.strip_prefix('#'))
                .and_then(|pointer| self.root.pointer(pointer));
            target.map(|t| self.index(t)).ok_or(reference)
        });
        let array = |key: &str| raw.get(key).and_then(Json::as_array);
        let number = |key: &str| raw.get(key).and_then(|v| Some((v.as_f64()?, v)));
        let properties = raw.get("properties").and_then(Json::as_object).map(|p| {
            p.iter()
                .map(|(key, property)| {
                    let compiled = Property {
                        schema: self.index(property),
                        deprecated: property.get("deprecated") == Some(&Json::Bool(true)),
                        raw: property,
                    };
                    (key.as_str(), compiled)
                })
                .collect()
        });
        let patterns = raw
            .get("patternProperties")
            .and_then(Json::as_object)
            .into_iter()
            .flatten()
            .map(|(pattern, property)| {
                (
                    pattern.as_str(),
                    Matcher::new(pattern),
                    self.index(property),
                )
            })
            .collect();
        let additional = match raw.get("additionalProperties") {
            Some(Json::Bool(false)) => Additional::Refused,
            Some(additional @ Json::Object(_)) => Additional::Checked(self.index(additional)),
            _ => Additional::Allowed,
        };
        let items = match raw.get("items") {
            Some(Json::Array(positions)) => Items::Tuple(self.indices(positions)),
            Some(each) => Items::Each(self.index(each)),
            None => Items::None,
        };
        let all_of = array("allOf").map(|all| self.indices(all));
        let alternatives = ["oneOf", "anyOf"]
            .into_iter()
            .filter_map(&array)
            .map(|branches| self.indices(branches))
            .collect();
        Schema::Object(Box::new(Keywords {
            raw,
            reference,
            types: raw.get("type").map(type_names),
            enumeration: array("enum").map(Vec::as_slice),
            required: array("required").map(|r| r.iter().filter_map(Json::as_str).collect()),
            properties,
            patterns,
            additional,
            items,
            unique_items: raw.get("uniqueItems") == Some(&Json::Bool(true)),
            minimum: number("minimum"),
            maximum: number("maximum"),
            pattern: raw
                .get("pattern")
                .and_then(Json::as_str)
                .map(|p| (p, Matcher::new(p))),
            all_of,
            alternatives,
        }))
    }
}

impl<'s> Compiled<'s> {
    fn new(root: &'s Json) -> Self {
        let mut compiler = Compiler {
            root,
            schemas: Vec::new(),
            seen: HashMap::new(),
            todo: Vec::new(),
        };
        compiler.index(root);
        while let Some((i, schema)) = compiler.todo.pop() {
            let compiled = compiler.compile(schema);
            if let Some(slot) = compiler.schemas.get_mut(i) {
                *slot = compiled;
            }
        }
        Compiled {
            schemas: compiler.schemas,
        }
    }

    fn validate(&self, root: &Node) -> Vec<Diagnostic> {
        let mut out = Report::new(false);
        let root_path = KeyPath::root();
        self.check(0, root, PathRef::Base(&root_path), 0, &mut out);
        out.found
    }

    fn schema(&self, i: usize) -> &Schema<'s> {
        self.schemas.get(i).unwrap_or(&Schema::Anything)
    }

    fn check(&self, schema: usize, node: &Node, path: PathRef<'_>, depth: usize, out: &mut Report) {
        if out.settled() {
            return;
        }
        if depth > MAX_DEPTH {
            out.error(&node.span, path, || "nested too deeply to validate".into());
            return;
        }
        let schema = match self.schema(schema) {
            Schema::Object(keywords) => keywords,
            Schema::Nothing => {
                out.error(&node.span, path, || "no value is allowed here".into());
                return;
            }
            Schema::Anything => return,
        };
        // Draft-07: a `$ref` replaces every keyword beside it.
        match schema.reference {
            Some(Ok(target)) => return self.check(target, node, path, depth + 1, out),
            Some(Err(reference)) => {
                return out.error(&node.span, path, || {
                    format!("the schema reference {reference} does not resolve")
                })
            }
            None => {}
        }
        if let Some(types) = &schema.types {
            if !types.iter().any(|t| type_matches(t, node)) {
                out.error(&node.span, path, || {
                    let expected = describe_types(types);
                    format!("expected {expected}, found {}", node.kind_name())
                });
                return;
            }
        }
        if let Some(allowed) = schema.enumeration {
            if !allowed.iter().any(|v| equals_json(node, v)) {
                out.error(&node.span, path, || {
                    let list = join(allowed.iter().map(|v| format!("`{}`", json_text(v))));
                    format!("expected one of {list}, found {}", describe(node))
                });
            }
        }
        match &node.value {
            Value::Map(mapping) => self.check_mapping(schema, mapping, node, path, depth, out),
            Value::Seq(items) => self.check_items(schema, items, path, depth, out),
            Value::Int(_) | Value::Float(_) => check_range(schema, node, path, out),
            Value::String(text) => check_pattern(schema, text, node, path, out),
            Value::Null | Value::Bool(_) => {}
        }
        for &branch in schema.all_of.iter().flatten() {
            self.check(branch, node, path, depth + 1, out);
        }
        for branches in &schema.alternatives {
            self.check_alternatives(branches, node, path, depth, out);
        }
    }

    fn check_mapping(
        &self,
        schema: &Keywords<'s>,
        mapping: &Mapping,
        node: &Node,
        path: PathRef<'_>,
        depth: usize,
        out: &mut Report,
    ) {
        for &key in schema.required.iter().flatten() {
            if !mapping.entries.contains_key(key) {
                out.error(&node.span, path, || format!("missing required key `{key}`"));
            }
        }
        for (key, entry) in &mapping.entries {
            if out.settled() {
                return;
            }
            let key_path = path.key(key.as_str());
            let mut known = false;
            let property = schema.properties.as_ref().and_then(|p| p.get(key.as_str()));
            if let Some(property) = property {
                known = true;
                if property.deprecated {
                    out.warning(Diagnostic::warning(
                        Some(entry.key_span.clone()),
                        key_path.to_key_path(),
                        deprecation(key, property.raw),
                    ));
                }
                self.check(property.schema, &entry.value, key_path, depth + 1, out);
            }
            for (pattern, matcher, property) in &schema.patterns {
                match matcher.matches(key) {
                    Ok(true) => {
                        known = true;
                        self.check(*property, &entry.value, key_path, depth + 1, out);
                    }
                    Ok(false) => {}
                    Err(e) => out.error(&node.span, path, || {
                        format!("the schema pattern `{pattern}` is not a valid regex: {e}")
                    }),
                }
            }
            if known {
                continue;
            }
            match schema.additional {
                Additional::Refused => out.error(&entry.key_span, key_path, || {
                    unknown_key(key, schema.raw, path)
                }),
                Additional::Checked(additional) => {
                    self.check(additional, &entry.value, key_path, depth + 1, out)
                }
                Additional::Allowed => {}
            }
        }
    }

    fn check_items(
        &self,
        schema: &Keywords<'s>,
        items: &[Node],
        path: PathRef<'_>,
        depth: usize,
        out: &mut Report,
    ) {
        match &schema.items {
            Items::Tuple(positions) => {
                for (i, (item, &item_schema)) in items.iter().zip(positions).enumerate() {
                    self.check(item_schema, item, path.index(i), depth + 1, out);
                }
            }
            &Items::Each(item_schema) => {
                for (i, item) in items.iter().enumerate() {
                    self.check(item_schema, item, path.index(i), depth + 1, out);
                }
            }
            Items::None => {}
        }
        if schema.unique_items {
            check_unique(items, path, out);
        }
    }

    /// `oneOf` / `anyOf`: fine when any branch matches (with that branch's warnings);
    /// otherwise the errors of the most plausible branch (one that accepts this kind of
    /// node, with the fewest errors).
    fn check_alternatives(
        &self,
        branches: &[usize],
        node: &Node,
        path: PathRef<'_>,
        depth: usize,
        out: &mut Report,
    ) {
        // Usually a branch matches: find it without building any message.
        for &branch in branches {
            let mut tried = Report::new(true);
            self.check(branch, node, path, depth + 1, &mut tried);
            if tried.errors == 0 {
                out.absorb(tried);
                return;
            }
        }
        if out.probe {
            out.errors += 1;
            return;
        }
        let mut best: Option<Report> = None;
        for &branch in branches {
            let mut found = Report::new(false);
            self.check(branch, node, path, depth + 1, &mut found);
            let better = best.as_ref().is_none_or(|b| found.errors < b.errors);
            if better && self.accepts_kind(branch, node, depth + 1) {
                best = Some(found);
            }
        }
        match best {
            Some(found) => out.absorb(found),
            None => {
                let mut types = Vec::new();
                for &branch in branches {
                    self.collect_types(branch, depth + 1, &mut types);
                }
                out.error(&node.span, path, || {
                    if types.is_empty() {
                        "no value is allowed here".to_string()
                    } else {
                        let expected = describe_types(&types);
                        format!("expected {expected}, found {}", node.kind_name())
                    }
                });
            }
        }
    }

    /// Whether a schema's top-level type constraint admits this node's kind.
    fn accepts_kind(&self, schema: usize, node: &Node, depth: usize) -> bool {
        let schema = match self.schema(schema) {
            Schema::Object(keywords) => keywords,
            Schema::Nothing => return false,
            Schema::Anything => return true,
        };
        if depth > MAX_DEPTH {
            return true;
        }
        match schema.reference {
            Some(Ok(target)) => return self.accepts_kind(target, node, depth + 1),
            Some(Err(_)) => return true,
            None => {}
        }
        if let Some(types) = &schema.types {
            return types.iter().any(|t| type_matches(t, node));
        }
        if let Some(branches) = schema.alternatives.first() {
            return branches
                .iter()
                .any(|&s| self.accepts_kind(s, node, depth + 1));
        }
        match &schema.all_of {
            Some(all) => all.iter().all(|&s| self.accepts_kind(s, node, depth + 1)),
            None => true,
        }
    }

    /// The JSON types a schema admits at its top level, added to `types` without repeats.
    fn collect_types(&self, schema: usize, depth: usize, types: &mut Vec<&'s str>) {
        let Schema::Object(schema) = self.schema(schema) else {
            return;
        };
        if depth > MAX_DEPTH {
            return;
        }
        if let Some(Ok(target)) = schema.reference {
            return self.collect_types(target, depth + 1, types);
        }
        if let Some(listed) = &schema.types {
            for &t in listed {
                if !types.contains(&t) {
                    types.push(t);
                }
            }
            return;
        }
        for branches in &schema.alternatives {
            for &branch in branches {
                self.collect_types(branch, depth + 1, types);
            }
        }
    }
}

/// Whether a node equals a JSON value (as [`Node::to_json`] would), without converting
/// strings.
fn equals_json(node: &Node, json: &Json) -> bool {
    match &node.value {
        Value::String(s) => json.as_str() == Some(s.as_str()),
        _ => node.to_json() == *json,
    }
}

/// `uniqueItems`: each item equal (as JSON) to an earlier one is reported.
fn check_unique(items: &[Node], path: PathRef<'_>, out: &mut Report) {
    for (i, item) in items.iter().enumerate() {
        if items.iter().take(i).any(|earlier| json_eq(earlier, item)) {
            out.error(&item.span, path.index(i), || {
                format!("duplicate item `{}`", json_text(&item.to_json()))
            });
        }
    }
}

/// Whether two nodes are equal as JSON values (as their [`Node::to_json`] are), without
/// converting collections or strings.
fn json_eq(a: &Node, b: &Node) -> bool {
    match (&a.value, &b.value) {
        (Value::String(x), Value::String(y)) => x == y,
        (Value::Seq(x), Value::Seq(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| json_eq(p, q))
        }
        (Value::Map(x), Value::Map(y)) => {
            x.entries.len() == y.entries.len()
                && x.entries.iter().all(|(key, e)| {
                    y.entries
                        .get(key)
                        .is_some_and(|f| json_eq(&e.value, &f.value))
                })
        }
        (Value::Seq(_) | Value::Map(_), _) | (_, Value::Seq(_) | Value::Map(_)) => false,
        _ => a.to_json() == b.to_json(),
    }
}

/// The `type` keyword as a list of names (it may be one name or an array of them).
fn type_names(types: &Json) -> Vec<&str> {
    match types {
        Json::String(t) => vec![t.as_str()],
        Json::Array(ts) => ts.iter().filter_map(Json::as_str).collect(),
        _ => Vec::new(),
    }
}

/// Whether a node is of a JSON Schema type. A float with no fraction is an integer.
fn type_matches(name: &str, node: &Node) -> bool {
    match (name, &node.value) {
        ("string", Value::String(_))
        | ("boolean", Value::Bool(_))
        | ("null", Value::Null)
        | ("object", Value::Map(_))
        | ("array", Value::Seq(_))
        | ("number", Value::Int(_) | Value::Float(_))
        | ("integer", Value::Int(_)) => true,
        ("integer", Value::Float(x)) => x.is_finite() && x.fract() == 0.0,
        _ => false,
    }
}

/// `["string", "array"]` -> "a string or a list", in the words `Value::kind_name` uses.
fn describe_types(types: &[&str]) -> String {
    let mut names: Vec<&str> = Vec::new();
    for t in types {
        let name = match *t {
            "string" => "a string",
            "number" => "a number",
            "integer" => "an integer",
            "boolean" => "a boolean",
            "null" => "null",
            "object" => "a mapping",
            "array" => "a list",
            other => other,
        };
        if !names.contains(&name) {
            names.push(name);
        }
    }
    match names.split_last() {
        None => "nothing".to_string(),
        Some((last, [])) => last.to_string(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
    }
}

/// A node for a message: scalars by their text, collections by their kind.
fn describe(node: &Node) -> String {
    match &node.value {
        Value::Null => "null".to_string(),
        Value::Seq(_) | Value::Map(_) => node.kind_name().to_string(),
        _ => format!("`{}`", node.scalar_text().unwrap_or_default()),
    }
}

/// A JSON value as a user would write it: strings bare, everything else as JSON.
fn json_text(value: &Json) -> String {
    match value {
        Json::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn join(items: impl Iterator<Item = String>) -> String {
    items.collect::<Vec<_>>().join(", ")
}

fn check_range(schema: &Keywords<'_>, node: &Node, path: PathRef<'_>, out: &mut Report) {
    let value = match node.value {
        Value::Int(i) => i as f64,
        Value::Float(x) => x,
        _ => return,
    };
    let found = || node.scalar_text().unwrap_or_default();
    if let Some((min, written)) = schema.minimum {
        if value < min || value.is_nan() {
            out.error(&node.span, path, || {
                let bound = number_text(written);
                format!("expected a number of at least {bound}, found {}", found())
            });
        }
    }
    if let Some((max, written)) = schema.maximum {
        if value > max || value.is_nan() {
            out.error(&node.span, path, || {
                let bound = number_text(written);
                format!("expected a number of at most {bound}, found {}", found())
            });
        }
    }
}

fn number_text(value: &Json) -> String {
    match value {
        Json::Number(n) if n.is_f64() => format_float(n.as_f64().unwrap_or_default()),
        other => other.to_string(),
    }
}

fn check_pattern(
    schema: &Keywords<'_>,
    text: &str,
    node: &Node,
    path: PathRef<'_>,
    out: &mut Report,
) {
    let Some((pattern, matcher)) = &schema.pattern else {
        return;
    };
    match matcher.matches(text) {
        Ok(true) => {}
        Ok(false) => out.error(&node.span, path, || {
            format!("expected a value matching `{pattern}`, found `{text}`")
        }),
        Err(e) => out.error(&node.span, path, || {
            format!("the schema pattern `{pattern}` is not a valid regex: {e}")
        }),
    }
}

/// The warning for a key whose schema says `deprecated: true`.
fn deprecation(key: &str, property: &Json) -> String {
    let description = property
        .get("description")
        .and_then(Json::as_str)
        .unwrap_or("");
    if description.contains("ignored") {
        format!("`{key}` is obsolete and ignored; remove it")
    } else if let Some((_, advice)) = description.split_once("Deprecated:") {
        let advice = advice.trim().trim_end_matches('.');
        format!("`{key}` is deprecated: {advice}")
    } else {
        format!("`{key}` is deprecated")
    }
}

/// The message for a key that no `properties` or `patternProperties` entry admits where
/// `additionalProperties` is false. `path` is the mapping's own path.
fn unknown_key(key: &str, schema: &JsonMap<String, Json>, path: PathRef<'_>) -> String {
    let names: Vec<&str> = schema
        .get("properties")
        .and_then(Json::as_object)
        .map(|p| p.keys().map(String::as_str).collect())
        .unwrap_or_default();
    let name_pattern = schema
        .get("patternProperties")
        .and_then(Json::as_object)
        .and_then(|p| p.keys().find(|k| k.as_str() != "^x-"));
    match name_pattern {
        Some(pattern) if names.is_empty() => {
            let what = path.last_key().map_or("key", name_kind);
            let rule = if pattern == "^[a-zA-Z0-9._-]+$" {
                "names may contain only letters, digits, `.`, `_` and `-`".to_string()
            } else {
                format!("names must match `{pattern}`")
            };
            format!("invalid {what} name `{key}`: {rule}")
        }
        _ => unknown_key_message(key, &names),
    }
}

/// "unknown key `imgae`; did you mean `image`?", else the allowed keys when they are
/// few, else a pointer to the specification. Shared with the typed deserializer.
pub(super) fn unknown_key_message(key: &str, allowed: &[&str]) -> String {
    if let Some(close) = suggest(key, allowed.iter().copied()) {
        format!("unknown key `{key}`; did you mean `{close}`?")
    } else if allowed.is_empty() {
        format!("unknown key `{key}`: no keys are allowed here")
    } else if allowed.len() <= MAX_LISTED_KEYS {
        let list = join(allowed.iter().map(|k| format!("`{k}`")));
        format!("unknown key `{key}`; allowed keys are {list}")
    } else {
        format!("unknown key `{key}`; see the Compose Specification for the keys allowed here")
    }
}

/// What the keys of a name-keyed mapping name: `services` -> "service".
fn name_kind(parent: &str) -> &'static str {
    match parent {
        "services" | "depends_on" => "service",
        "networks" => "network",
        "volumes" => "volume",
        "secrets" => "secret",
        "configs" => "config",
        "models" => "model",
        "ulimits" => "ulimit",
        _ => "key",
    }
}

/// Test-only: nodes from YAML text (through yaml_serde) with spans that name the node.
#[cfg(test)]
pub(super) mod testing {
    use crate::spec::node::{Entry, KeyPath, Mapping, Node, Span, Value};

    /// The span given to the node at `path`: its file is `@` followed by the path.
    pub fn node_span(path: &str) -> Span {
        Span::synthetic(&format!("@{path}"))
    }

    /// The span given to the key of the entry at `path`.
    pub fn key_span(path: &str) -> Span {
        Span::synthetic(&format!("key@{path}"))
    }

    /// Parses YAML into a node tree whose spans are [`node_span`] / [`key_span`].
    pub fn yaml(text: &str) -> Node {
        let value: yaml_serde::Value = match yaml_serde::from_str(text) {
            Ok(value) => value,
            Err(e) => panic!("test YAML does not parse: {e}"),
        };
        convert(&value, &KeyPath::root())
    }

    fn convert(value: &yaml_serde::Value, path: &KeyPath) -> Node {
        use yaml_serde::Value as Y;
        let converted = match value {
            Y::Null => Value::Null,
            Y::Bool(b) => Value::Bool(*b),
            Y::Number(n) => match n.as_i64() {
                Some(i) => Value::Int(i),
                None => Value::Float(n.as_f64().unwrap_or(f64::NAN)),
            },
            Y::String(s) => Value::String(s.clone()),
            Y::Sequence(items) => Value::Seq(
                items
                    .iter()
                    .enumerate()
                    .map(|(i, item)| convert(item, &path.index(i)))
                    .collect(),
            ),
            Y::Mapping(map) => {
                let mut mapping = Mapping::default();
                for (k, v) in map {
                    let key = match k {
                        Y::String(s) => s.clone(),
                        Y::Number(n) => n.to_string(),
                        Y::Bool(b) => b.to_string(),
                        other => panic!("unsupported test key {other:?}"),
                    };
                    let entry_path = path.key(key.as_str());
                    let entry = Entry {
                        key_span: key_span(&entry_path.to_string()),
                        value: convert(v, &entry_path),
                    };
                    mapping.entries.insert(key, entry);
                }
                Value::Map(mapping)
            }
            Y::Tagged(tagged) => return convert(&tagged.value, path),
        };
        Node::new(converted, node_span(&path.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::testing::{key_span, node_span, yaml};
    use super::*;
    use crate::spec::diag::Severity;
    use crate::spec::node::{Entry, Span};
    use serde_json::json;
    use std::sync::Arc;

    /// (span, path, message) of each diagnostic, for exact comparison.
    fn summary(diags: &[Diagnostic]) -> Vec<(Span, String, String)> {
        diags
            .iter()
            .map(|d| {
                let span = d.span.clone().unwrap_or_else(|| Span::synthetic("none"));
                (span, d.path.to_string(), d.message.clone())
            })
            .collect()
    }

    fn at(path: &str, message: &str) -> (Span, String, String) {
        (node_span(path), path.to_string(), message.to_string())
    }

    fn at_key(path: &str, message: &str) -> (Span, String, String) {
        (key_span(path), path.to_string(), message.to_string())
    }

    fn messages(diags: &[Diagnostic]) -> Vec<&str> {
        diags.iter().map(|d| d.message.as_str()).collect()
    }

    #[test]
    fn embedded_compose_schema_parses() {
        let schema = compose_spec().expect("schema parses");
        assert_eq!(schema["title"], json!("Compose Specification"));
        assert!(validate(&yaml("services: {}")).is_empty());
    }

    #[test]
    fn wrong_type_names_expected_and_found_kinds() {
        let schema = json!({"type": "object", "properties": {
            "command": {"type": ["string", "array"]},
            "count": {"type": "integer"},
            "ratio": {"type": "number"},
            "flag": {"type": ["boolean", "null"]},
        }});
        let doc = yaml("command: {a: 1}\ncount: 2.0\nratio: 3\nflag: ~\n");
        assert_eq!(
            summary(&validate_against(&doc, &schema)),
            vec![at(
                "command",
                "expected a string or a list, found a mapping"
            )]
        );
        let doc = yaml("count: 2.5\nratio: x\nflag: 1\n");
        assert_eq!(
            summary(&validate_against(&doc, &schema)),
            vec![
                at("count", "expected an integer, found a number"),
                at("ratio", "expected a number, found a string"),
                at("flag", "expected a boolean or null, found an integer"),
            ]
        );
    }

    #[test]
    fn enum_required_unique_and_range() {
        let schema = json!({"type": "object",
        "required": ["target", "mode"],
        "properties": {
            "protocol": {"enum": ["tcp", "udp"]},
            "tags": {"type": "array", "uniqueItems": true},
            "weight": {"type": "integer", "minimum": 10, "maximum": 1000},
            "mode": {"type": "string", "pattern": "^(host|ingress)$"},
        }});
        let doc =
            yaml("protocol: sctp\ntags: [a, b, a, {x: 1}, {x: 1}]\nweight: 5\nmode: bridge\n");
        assert_eq!(
            summary(&validate_against(&doc, &schema)),
            vec![
                at("", "missing required key `target`"),
                at("protocol", "expected one of `tcp`, `udp`, found `sctp`"),
                at("tags[2]", "duplicate item `a`"),
                at("tags[4]", "duplicate item `{\"x\":1}`"),
                at("weight", "expected a number of at least 10, found 5"),
                at(
                    "mode",
                    "expected a value matching `^(host|ingress)$`, found `bridge`"
                ),
            ]
        );
        let doc = yaml("target: 1\nmode: host\nweight: 1001.0\n");
        assert_eq!(
            summary(&validate_against(&doc, &schema)),
            vec![at(
                "weight",
                "expected a number of at most 1000, found 1001.0"
            )]
        );
    }

    #[test]
    fn unknown_keys_get_suggestions_or_the_allowed_list() {
        let schema = json!({"type": "object", "additionalProperties": false,
            "patternProperties": {"^x-": {}},
            "properties": {"image": {}, "ports": {}}});
        let doc = yaml("imgae: x\nfoo: 1\nx-extra: {anything: [1]}\n");
        assert_eq!(
            summary(&validate_against(&doc, &schema)),
            vec![
                at_key("imgae", "unknown key `imgae`; did you mean `image`?"),
                at_key(
                    "foo",
                    "unknown key `foo`; allowed keys are `image`, `ports`"
                ),
            ]
        );
        let many: JsonMap<String, Json> = (0..11).map(|i| (format!("key{i}"), json!({}))).collect();
        let schema = json!({"type": "object", "additionalProperties": false, "properties": many});
        assert_eq!(
            messages(&validate_against(&yaml("other: 1"), &schema)),
            vec!["unknown key `other`; see the Compose Specification for the keys allowed here"]
        );
    }

    #[test]
    fn additional_properties_schema_applies_to_unlisted_keys() {
        let schema = json!({"type": "object", "properties": {"a": {"type": "string"}},
            "additionalProperties": {"type": "integer"}});
        let doc = yaml("a: x\nb: 1\nc: y\n");
        assert_eq!(
            summary(&validate_against(&doc, &schema)),
            vec![at("c", "expected an integer, found a string")]
        );
    }

    #[test]
    fn refs_resolve_into_definitions() {
        let schema = json!({"type": "object",
            "properties": {"a": {"$ref": "#/definitions/port"}, "b": {"$ref": "#/definitions/nope"}},
            "definitions": {"port": {"type": "integer", "maximum": 65535}}});
        let doc = yaml("a: 70000\nb: 1\n");
        assert_eq!(
            summary(&validate_against(&doc, &schema)),
            vec![
                at("a", "expected a number of at most 65535, found 70000"),
                at(
                    "b",
                    "the schema reference \"#/definitions/nope\" does not resolve"
                ),
            ]
        );
    }

    #[test]
    fn a_self_referencing_schema_stops_at_the_depth_limit() {
        let schema = json!({"$ref": "#"});
        assert_eq!(
            summary(&validate_against(&yaml("a: 1"), &schema)),
            vec![at("", "nested too deeply to validate")]
        );
    }

    #[test]
    fn a_deep_document_stops_at_the_depth_limit() {
        let schema = json!({"type": "array", "items": {"$ref": "#"}});
        let mut node = Node::new(Value::Seq(Vec::new()), Span::synthetic("deep"));
        for _ in 0..1000 {
            node = Node::new(Value::Seq(vec![node]), Span::synthetic("deep"));
        }
        let diags = validate_against(&node, &schema);
        assert_eq!(messages(&diags), vec!["nested too deeply to validate"]);
        // Each level costs two steps: the item, then its `$ref`.
        assert_eq!(diags[0].path.0.len(), 129);
    }

    #[test]
    fn one_of_reports_the_most_plausible_branch() {
        let schema = json!({"oneOf": [
            {"type": "string"},
            {"type": "object", "required": ["target"], "additionalProperties": false,
             "properties": {"target": {"type": "integer"}, "published": {"type": "string"}}},
            {"type": "object", "required": ["a", "b"], "additionalProperties": false,
             "properties": {"a": {}, "b": {}}},
        ]});
        // The mapping branches both accept a mapping; the first has one error, the second two.
        assert_eq!(
            summary(&validate_against(&yaml("published: '80'"), &schema)),
            vec![at("", "missing required key `target`")]
        );
        assert_eq!(
            summary(&validate_against(&yaml("[1]"), &schema)),
            vec![at("", "expected a string or a mapping, found a list")]
        );
        assert!(validate_against(&yaml("target: 1"), &schema).is_empty());
    }

    #[test]
    fn one_of_with_two_matching_branches_passes() {
        let schema = json!({"oneOf": [{"type": "number"}, {"type": "integer"}]});
        assert!(validate_against(&yaml("3"), &schema).is_empty());
        let schema = json!({"anyOf": [{"type": "string"}, {"type": "number"}],
            "allOf": [{"minimum": 1}]});
        assert_eq!(
            summary(&validate_against(&yaml("0"), &schema)),
            vec![at("", "expected a number of at least 1, found 0")]
        );
    }

    #[test]
    fn spans_come_from_the_offending_node_and_key() {
        let file: Arc<str> = Arc::from("compose.yaml");
        let span = |line, col| Span::new(file.clone(), line, col);
        let mut inner = Mapping::default();
        inner.entries.insert(
            "imgae".into(),
            Entry {
                key_span: span(3, 5),
                value: Node::new(Value::String("nginx".into()), span(3, 12)),
            },
        );
        inner.entries.insert(
            "cap_add".into(),
            Entry {
                key_span: span(4, 5),
                value: Node::new(Value::Bool(true), span(4, 14)),
            },
        );
        let mut services = Mapping::default();
        services.entries.insert(
            "web".into(),
            Entry {
                key_span: span(2, 3),
                value: Node::new(Value::Map(inner), span(3, 5)),
            },
        );
        let mut root = Mapping::default();
        root.entries.insert(
            "services".into(),
            Entry {
                key_span: span(1, 1),
                value: Node::new(Value::Map(services), span(2, 3)),
            },
        );
        let doc = Node::new(Value::Map(root), span(1, 1));
        let rendered: Vec<String> = validate(&doc).iter().map(|d| d.to_string()).collect();
        assert_eq!(
            rendered,
            vec![
                "compose.yaml:3:5: services.web.imgae: unknown key `imgae`; did you mean `image`?",
                "compose.yaml:4:14: services.web.cap_add: expected a list, found a boolean",
            ]
        );
    }

    const REALISTIC: &str = r#"
name: shop
x-logging: &logging
  driver: json-file
  options:
    max-size: 10m
services:
  web:
    build:
      context: ./web
      dockerfile: Dockerfile.dev
      args:
        VERSION: "1.2"
    image: shop/web:latest
    command: ["npm", "start"]
    ports:
      - "8080:80"
      - 443
      - target: 9000
        published: "9000"
        protocol: tcp
        x-note: admin
    environment:
      NODE_ENV: production
      WORKERS: 4
      DEBUG:
    env_file: [.env]
    depends_on:
      db:
        condition: service_healthy
      cache:
        condition: service_started
        restart: true
    networks:
      front:
      back:
        aliases: [api]
        ipv4_address: 172.20.0.10
    volumes:
      - ./static:/srv/static:ro
      - type: volume
        source: uploads
        target: /srv/uploads
    healthcheck:
      test: ["CMD", "curl", "-f", "http://localhost"]
      interval: 10s
      retries: 3
    deploy:
      replicas: 2
      resources:
        limits:
          cpus: "0.5"
          memory: 256M
    restart: unless-stopped
    labels:
      - com.example.tier=front
    logging: *logging
    secrets: [api_key]
    configs:
      - source: nginx
        target: /etc/nginx.conf
    ulimits:
      nofile:
        soft: 1024
        hard: 2048
    x-custom: 1
  db:
    image: postgres:16
    environment:
      - POSTGRES_PASSWORD_FILE=/run/secrets/db
    volumes:
      - db-data:/var/lib/postgresql/data
    networks: [back]
    cap_add: [SYS_NICE]
    healthcheck:
      test: pg_isready
  cache:
    image: redis:7
    profiles: [full]
    oom_score_adj: -500
networks:
  front: {}
  back:
    driver: bridge
    ipam:
      config:
        - subnet: 172.20.0.0/16
volumes:
  db-data:
  uploads:
    driver: local
secrets:
  api_key:
    file: ./api_key.txt
configs:
  nginx:
    file: ./nginx.conf
"#;

    #[test]
    fn a_realistic_compose_file_passes() {
        assert_eq!(summary(&validate(&yaml(REALISTIC))), vec![]);
    }

    #[test]
    fn compose_unknown_service_key_gets_a_suggestion() {
        let doc = yaml("services:\n  web:\n    imgae: nginx\n    enviroment: [A=1]\n");
        assert_eq!(
            summary(&validate(&doc)),
            vec![
                at_key(
                    "services.web.imgae",
                    "unknown key `imgae`; did you mean `image`?"
                ),
                at_key(
                    "services.web.enviroment",
                    "unknown key `enviroment`; did you mean `environment`?"
                ),
            ]
        );
    }

    #[test]
    fn compose_unknown_key_without_a_close_one_points_at_the_spec() {
        let doc = yaml("services:\n  web:\n    image: nginx\n    colour: red\n");
        assert_eq!(
            summary(&validate(&doc)),
            vec![at_key(
                "services.web.colour",
                "unknown key `colour`; see the Compose Specification for the keys allowed here"
            )]
        );
    }

    #[test]
    fn compose_bad_names_are_named_by_their_section() {
        let doc = yaml(
            "services:\n  my web:\n    image: nginx\n    depends_on:\n      'a b': {condition: service_started}\n    networks:\n      'f/g': {}\nvolumes:\n  'v!': {}\n",
        );
        let names = "names may contain only letters, digits, `.`, `_` and `-`";
        assert_eq!(
            summary(&validate(&doc)),
            vec![
                at_key(
                    "services.my web",
                    &format!("invalid service name `my web`: {names}")
                ),
                at_key("volumes.v!", &format!("invalid volume name `v!`: {names}")),
            ]
        );
        let doc = yaml(
            "services:\n  web:\n    image: nginx\n    depends_on:\n      'a b': {condition: service_started}\n    networks:\n      'f/g': {}\n",
        );
        assert_eq!(
            summary(&validate(&doc)),
            vec![
                at_key(
                    "services.web.depends_on.a b",
                    &format!("invalid service name `a b`: {names}")
                ),
                at_key(
                    "services.web.networks.f/g",
                    &format!("invalid network name `f/g`: {names}")
                ),
            ]
        );
    }

    #[test]
    fn compose_port_mapping_errors_come_from_the_mapping_branch() {
        // The compose schema does not require `target` in a long-form port (compose-go
        // checks that later), so a mapping without it passes the schema.
        let doc = yaml("services:\n  web:\n    image: nginx\n    ports:\n      - published: 80\n");
        assert_eq!(summary(&validate(&doc)), vec![]);
        let doc = yaml(
            "services:\n  web:\n    image: nginx\n    ports:\n      - targte: 80\n        published: [80]\n      - [80]\n",
        );
        assert_eq!(
            summary(&validate(&doc)),
            vec![
                at_key(
                    "services.web.ports[0].targte",
                    "unknown key `targte`; did you mean `target`?"
                ),
                at(
                    "services.web.ports[0].published",
                    "expected a string or an integer, found a list"
                ),
                at(
                    "services.web.ports[1]",
                    "expected a number, a string or a mapping, found a list"
                ),
            ]
        );
    }

    #[test]
    fn compose_required_keys_in_long_forms() {
        let doc = yaml(
            "services:\n  web:\n    image: nginx\n    depends_on:\n      db: {restart: true}\n    volumes:\n      - source: data\n        target: /data\n",
        );
        assert_eq!(
            summary(&validate(&doc)),
            vec![
                at(
                    "services.web.depends_on.db",
                    "missing required key `condition`"
                ),
                at("services.web.volumes[0]", "missing required key `type`"),
            ]
        );
    }

    #[test]
    fn compose_reports_every_problem_at_once() {
        let doc = yaml(
            "services:\n  web:\n    image: nginx\n    restart: 3\n    ports: ['80:80', '80:80']\n  db:\n    imagee: postgres\n",
        );
        assert_eq!(
            summary(&validate(&doc)),
            vec![
                at(
                    "services.web.restart",
                    "expected a string, found an integer"
                ),
                at("services.web.ports[1]", "duplicate item `80:80`"),
                at_key(
                    "services.db.imagee",
                    "unknown key `imagee`; did you mean `image`?"
                ),
            ]
        );
    }

    #[test]
    fn compose_enum_and_range_errors() {
        let doc = yaml(
            "services:\n  web:\n    image: nginx\n    cpu_percent: 150\n    depends_on:\n      db: {condition: service_ready}\n",
        );
        assert_eq!(
            summary(&validate(&doc)),
            vec![
                at(
                    "services.web.cpu_percent",
                    "expected a number of at most 100, found 150"
                ),
                at(
                    "services.web.depends_on.db.condition",
                    "expected one of `service_started`, `service_healthy`, `service_completed_successfully`, found `service_ready`"
                ),
            ]
        );
    }

    #[test]
    fn compose_deprecated_keys_are_warnings() {
        let doc = yaml(
            "version: '3.8'\nservices: {}\nnetworks:\n  ext:\n    external:\n      name: outside\n",
        );
        let diags = validate(&doc);
        assert!(diags.iter().all(|d| d.severity == Severity::Warning));
        assert_eq!(
            summary(&diags),
            vec![
                at_key("version", "`version` is obsolete and ignored; remove it"),
                at_key(
                    "networks.ext.external.name",
                    "`name` is deprecated: use the 'name' property instead"
                ),
            ]
        );
    }

    #[test]
    fn compose_extensions_are_allowed_where_the_schema_says() {
        let doc = yaml(
            "x-top: 1\nservices:\n  web:\n    image: nginx\n    x-web: {a: 1}\n    build:\n      context: .\n      x-b: 1\n",
        );
        assert!(validate(&doc).is_empty());
        // healthcheck admits `x-` keys too, but `command` (a string or list) has no keys.
        let doc = yaml("services:\n  web:\n    image: nginx\n    command: {x-a: 1}\n");
        assert_eq!(
            summary(&validate(&doc)),
            vec![at(
                "services.web.command",
                "expected null, a string or a list, found a mapping"
            )]
        );
    }
}
