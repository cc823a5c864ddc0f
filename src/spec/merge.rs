//! Merging compose documents: each `-f` file over the ones before it, and a service over
//! the one it `extends`.
//!
//! The merge works on whole [`Node`] trees, after interpolation and before validation, so
//! a value of an unexpected kind is never an error here: the overlay's value simply
//! replaces it, and validation reports it later. The rules are the Compose
//! Specification's (13-merge.md) as compose-go implements them:
//!
//! - mappings merge key by key; scalars (and values of different kinds) are replaced;
//!   an overlay `null` leaves the base value in place;
//! - sequences are appended, except the attributes listed in `RULES`: shell commands
//!   are replaced, `KEY=VAL` lists and mappings merge by key, resource lists (ports,
//!   volumes, secrets, …) merge by their unique key, `networks` and `depends_on` merge as
//!   mappings, `logging` merges only for the same driver, and `build: dir` means
//!   `build: {context: dir}`;
//! - an overlay value tagged `!reset` removes the key, one tagged `!override` replaces
//!   the base value whole. The result carries no tags.
//!
//! Spans: a value taken from the overlay keeps the overlay's span, one taken from the
//! base keeps the base's; a mapping or sequence built from both keeps the base's span.
//! Recursion follows the nesting of the trees, which the YAML reader bounds.

use super::node::{Entry, Mapping, Node, Span, Tag, Value};
use std::collections::HashSet;

/// Merges two whole compose documents; `overlay` (the later file) wins.
pub fn merge(base: Node, overlay: Node) -> Node {
    merge_root(base, overlay, &mut Vec::new())
}

/// Merges two service mappings (a later file's definition, or a service over the one it
/// extends) by the same rules as [`merge`] applies under `services.<name>`.
pub fn merge_service(base: Node, overlay: Node) -> Node {
    merge_root(base, overlay, &mut vec!["services".into(), "*".into()])
}

/// Makes a single file's tree tag-free, as if it were merged over nothing: entries and
/// items tagged `!reset` are dropped and `!override` tags are cleared (the document
/// itself is kept even if tagged `!reset`).
pub fn strip_tags(node: &mut Node) {
    node.tag = None;
    match &mut node.value {
        Value::Map(m) => {
            m.entries.retain(|_, e| e.value.tag != Some(Tag::Reset));
            for e in m.entries.values_mut() {
                strip_tags(&mut e.value);
            }
        }
        Value::Seq(items) => {
            items.retain(|n| n.tag != Some(Tag::Reset));
            for n in items {
                strip_tags(n);
            }
        }
        _ => {}
    }
}

/// How the values at one path merge.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Rule {
    /// Mappings merge key by key, sequences append, anything else is replaced.
    Default,
    /// The overlay replaces the base, even with `null`.
    Replace,
    /// A `KEY=VAL` list or a mapping, merged by key (the overlay's value wins).
    KeyValue(Split),
    /// A list of resources merged by their unique key (the overlay's items win).
    Unique(UniqueKey),
    /// A list of names or a mapping, merged as a mapping.
    MapForm,
    /// `depends_on`: lists append unique; with a mapping on either side, as mappings.
    DependsOn,
    /// `logging`: merged for the same driver, replaced for a different one.
    Logging,
    /// `build`: a string is the `context` of the mapping form.
    Build,
}

/// Where a `KEY=VAL` list item splits into key and value.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Split {
    /// At the first `=`.
    Equals,
    /// At the first `=`, else the first `:` (`extra_hosts`: `host=ip` or `host:ip`).
    /// Several items may name one host (several addresses).
    Host,
}

/// The identity of an item in a resource list.
#[derive(Clone, Copy, Debug, PartialEq)]
enum UniqueKey {
    /// The item's text.
    Text,
    /// `ports`: the text of the short syntax; `host_ip:published:target/protocol` long.
    Port,
    /// `volumes`: the container path (`src:dst[:mode]`, `dst`, or `target`).
    VolumeTarget,
    /// `devices`: the container path (`host:container[:perms]`, or `target`).
    DeviceTarget,
    /// `secrets`/`configs`: `target`, relative ones and sources under this directory.
    MountTarget(&'static str),
    /// `env_file`: the path (string or `path`).
    EnvFile,
    /// `networks.*.ipam.config`: the `subnet`.
    Subnet,
}

/// The special merge rules by path (`*` matches any key); every other path merges by
/// [`Rule::Default`].
const RULES: &[(&str, Rule)] = &[
    ("services.*.command", Rule::Replace),
    ("services.*.entrypoint", Rule::Replace),
    ("services.*.healthcheck.test", Rule::Replace),
    ("services.*.ulimits.*", Rule::Replace),
    ("services.*.environment", Rule::KeyValue(Split::Equals)),
    ("services.*.labels", Rule::KeyValue(Split::Equals)),
    ("services.*.annotations", Rule::KeyValue(Split::Equals)),
    ("services.*.sysctls", Rule::KeyValue(Split::Equals)),
    ("services.*.build.args", Rule::KeyValue(Split::Equals)),
    ("services.*.build.labels", Rule::KeyValue(Split::Equals)),
    (
        "services.*.build.additional_contexts",
        Rule::KeyValue(Split::Equals),
    ),
    ("services.*.deploy.labels", Rule::KeyValue(Split::Equals)),
    ("networks.*.labels", Rule::KeyValue(Split::Equals)),
    ("volumes.*.labels", Rule::KeyValue(Split::Equals)),
    ("configs.*.labels", Rule::KeyValue(Split::Equals)),
    ("secrets.*.labels", Rule::KeyValue(Split::Equals)),
    ("services.*.extra_hosts", Rule::KeyValue(Split::Host)),
    ("services.*.build.extra_hosts", Rule::KeyValue(Split::Host)),
    ("services.*.ports", Rule::Unique(UniqueKey::Port)),
    ("services.*.volumes", Rule::Unique(UniqueKey::VolumeTarget)),
    ("services.*.devices", Rule::Unique(UniqueKey::DeviceTarget)),
    (
        "services.*.secrets",
        Rule::Unique(UniqueKey::MountTarget("/run/secrets")),
    ),
    (
        "services.*.configs",
        Rule::Unique(UniqueKey::MountTarget("")),
    ),
    ("services.*.env_file", Rule::Unique(UniqueKey::EnvFile)),
    ("services.*.label_file", Rule::Unique(UniqueKey::Text)),
    ("services.*.expose", Rule::Unique(UniqueKey::Text)),
    ("services.*.dns", Rule::Unique(UniqueKey::Text)),
    ("services.*.dns_search", Rule::Unique(UniqueKey::Text)),
    ("services.*.dns_opt", Rule::Unique(UniqueKey::Text)),
    ("services.*.tmpfs", Rule::Unique(UniqueKey::Text)),
    ("services.*.cap_add", Rule::Unique(UniqueKey::Text)),
    ("services.*.cap_drop", Rule::Unique(UniqueKey::Text)),
    ("services.*.security_opt", Rule::Unique(UniqueKey::Text)),
    ("services.*.group_add", Rule::Unique(UniqueKey::Text)),
    ("services.*.external_links", Rule::Unique(UniqueKey::Text)),
    ("services.*.links", Rule::Unique(UniqueKey::Text)),
    ("services.*.profiles", Rule::Unique(UniqueKey::Text)),
    ("services.*.build.tags", Rule::Unique(UniqueKey::Text)),
    ("services.*.build.platforms", Rule::Unique(UniqueKey::Text)),
    (
        "services.*.networks.*.aliases",
        Rule::Unique(UniqueKey::Text),
    ),
    (
        "services.*.networks.*.link_local_ips",
        Rule::Unique(UniqueKey::Text),
    ),
    ("networks.*.ipam.config", Rule::Unique(UniqueKey::Subnet)),
    ("services.*.networks", Rule::MapForm),
    ("services.*.models", Rule::MapForm),
    ("services.*.depends_on", Rule::DependsOn),
    ("services.*.logging", Rule::Logging),
    ("services.*.build", Rule::Build),
];

fn rule_for(path: &[String]) -> Rule {
    RULES
        .iter()
        .find(|(pattern, _)| {
            pattern.split('.').count() == path.len()
                && pattern
                    .split('.')
                    .zip(path)
                    .all(|(p, key)| p == "*" || p == key)
        })
        .map_or(Rule::Default, |(_, rule)| *rule)
}

fn merge_root(mut base: Node, overlay: Node, path: &mut Vec<String>) -> Node {
    strip_tags(&mut base);
    if overlay.tag == Some(Tag::Reset) {
        let value = match overlay.value {
            Value::Map(_) => Value::Map(Mapping::default()),
            Value::Seq(_) => Value::Seq(Vec::new()),
            _ => Value::Null,
        };
        return Node::new(value, overlay.span);
    }
    merge_node(base, overlay, path)
}

/// The overlay value, taken whole: its own `!reset` entries dropped, tags cleared.
fn taken(mut node: Node) -> Node {
    strip_tags(&mut node);
    node
}

/// Merges two values at `path`. `base` is tag-free; `overlay` is not tagged `!reset`
/// (the caller removed such entries).
fn merge_node(base: Node, overlay: Node, path: &mut Vec<String>) -> Node {
    let rule = rule_for(path);
    if overlay.tag == Some(Tag::Override) || rule == Rule::Replace {
        return taken(overlay);
    }
    if overlay.is_null() {
        return base;
    }
    if base.is_null() {
        return taken(overlay);
    }
    match rule {
        Rule::Default | Rule::Replace => merge_default(base, overlay, path),
        Rule::KeyValue(split) => merge_key_values(base, overlay, split),
        Rule::Unique(key) => merge_unique(base, overlay, key),
        Rule::MapForm => merge_map_form(base, overlay, path),
        Rule::DependsOn => merge_depends_on(base, overlay, path),
        Rule::Logging => merge_logging(base, overlay, path),
        Rule::Build => merge_build(base, overlay, path),
    }
}

fn merge_default(base: Node, overlay: Node, path: &mut Vec<String>) -> Node {
    let span = base.span;
    match (base.value, overlay.value) {
        (Value::Map(b), Value::Map(o)) => Node::new(Value::Map(merge_maps(b, o, path, true)), span),
        (Value::Seq(mut b), Value::Seq(o)) => {
            b.extend(overlay_items(o));
            Node::new(Value::Seq(b), span)
        }
        (_, value) => taken(Node { value, ..overlay }),
    }
}

/// Merges mappings key by key: the overlay's `!reset` entries remove the key; with
/// `deep`, values present on both sides merge by the rules of their path, otherwise the
/// overlay's value replaces the base's.
fn merge_maps(base: Mapping, overlay: Mapping, path: &mut Vec<String>, deep: bool) -> Mapping {
    let mut entries = base.entries;
    for (key, over) in overlay.entries {
        if over.value.tag == Some(Tag::Reset) {
            entries.shift_remove(&key);
            continue;
        }
        let Some(slot) = entries.get_mut(&key) else {
            entries.insert(
                key,
                Entry {
                    key_span: over.key_span,
                    value: taken(over.value),
                },
            );
            continue;
        };
        let base_value = std::mem::replace(
            &mut slot.value,
            Node::new(Value::Null, over.key_span.clone()),
        );
        let over_span = over.value.span.clone();
        slot.value = if deep {
            path.push(key);
            let merged = merge_node(base_value, over.value, path);
            path.pop();
            merged
        } else {
            taken(over.value)
        };
        if slot.value.span == over_span {
            slot.key_span = over.key_span;
        }
    }
    Mapping { entries }
}

/// The overlay's items of a sequence, without those tagged `!reset`.
fn overlay_items(items: Vec<Node>) -> impl Iterator<Item = Node> {
    items
        .into_iter()
        .filter(|n| n.tag != Some(Tag::Reset))
        .map(taken)
}

/// Merges item lists by key: the overlay's items for a key present in the base replace
/// the base's (at the first base position); all other items of both sides are kept, in
/// order. Items without a key never clash.
fn merge_by_key(
    base: Vec<Node>,
    overlay: Vec<Node>,
    key: impl Fn(&Node) -> Option<String>,
) -> Vec<Node> {
    let mut over: Vec<(Option<String>, Option<Node>)> =
        overlay_items(overlay).map(|n| (key(&n), Some(n))).collect();
    let over_keys: HashSet<String> = over.iter().filter_map(|(k, _)| k.clone()).collect();
    let mut out = Vec::with_capacity(base.len() + over.len());
    for item in base {
        match key(&item) {
            Some(k) if over_keys.contains(&k) => {
                for (ok, slot) in &mut over {
                    if ok.as_deref() == Some(k.as_str()) {
                        out.extend(slot.take());
                    }
                }
            }
            _ => out.push(item),
        }
    }
    out.extend(over.into_iter().filter_map(|(_, n)| n));
    out
}

fn merge_key_values(base: Node, overlay: Node, split: Split) -> Node {
    let span = base.span.clone();
    let as_map = |b: Mapping, o: Mapping| {
        Node::new(
            Value::Map(merge_maps(b, o, &mut Vec::new(), false)),
            span.clone(),
        )
    };
    match (base.value, overlay.value) {
        (Value::Seq(b), Value::Seq(o)) => Node::new(
            Value::Seq(merge_by_key(b, o, |n| key_value(n, split).map(|(k, _)| k))),
            span,
        ),
        (Value::Map(b), Value::Map(o)) => as_map(b, o),
        (Value::Seq(b), Value::Map(o)) => match key_value_map(&b, split) {
            Some(b) => as_map(b, o),
            None => taken(Node {
                value: Value::Map(o),
                ..overlay
            }),
        },
        (Value::Map(b), Value::Seq(o)) => {
            let o: Vec<Node> = overlay_items(o).collect();
            match key_value_map(&o, split) {
                Some(o) => as_map(b, o),
                None => Node {
                    value: Value::Seq(o),
                    tag: None,
                    ..overlay
                },
            }
        }
        (_, value) => taken(Node { value, ..overlay }),
    }
}

/// `KEY=VAL` as (key, Some(value)), `KEY` as (key, None); `None` for a non-scalar.
fn key_value(item: &Node, split: Split) -> Option<(String, Option<String>)> {
    let text = item.scalar_text()?;
    let cut = match split {
        Split::Equals => text.split_once('='),
        Split::Host => text.split_once('=').or_else(|| text.split_once(':')),
    };
    Some(match cut {
        Some((k, v)) => (k.to_string(), Some(v.to_string())),
        None => (text, None),
    })
}

/// The mapping form of a `KEY=VAL` list (`KEY` alone maps to null); `None` when an item
/// is not a scalar. For `Split::Host`, several items for one host gather into a list.
fn key_value_map(items: &[Node], split: Split) -> Option<Mapping> {
    let mut map = Mapping::default();
    for item in items {
        let (key, value) = key_value(item, split)?;
        let value = match value {
            Some(v) => Node {
                quoted: true,
                ..Node::new(Value::String(v), item.span.clone())
            },
            None => Node::new(Value::Null, item.span.clone()),
        };
        if split == Split::Host {
            if let Some(existing) = map.entries.get_mut(&key) {
                let span = existing.value.span.clone();
                let previous =
                    std::mem::replace(&mut existing.value, Node::new(Value::Null, span.clone()));
                let mut all = match previous.value {
                    Value::Seq(all) => all,
                    _ => vec![previous],
                };
                all.push(value);
                existing.value = Node::new(Value::Seq(all), span);
                continue;
            }
        }
        map.entries.insert(
            key,
            Entry {
                key_span: item.span.clone(),
                value,
            },
        );
    }
    Some(map)
}

fn merge_unique(base: Node, overlay: Node, key: UniqueKey) -> Node {
    if base.as_map().is_some() || overlay.as_map().is_some() {
        return taken(overlay);
    }
    // A scalar is a one-item list (`dns: 8.8.8.8`).
    let items = |node: Node| match node.value {
        Value::Seq(items) => items,
        _ => vec![node],
    };
    let span = base.span.clone();
    Node::new(
        Value::Seq(merge_by_key(items(base), items(overlay), |n| {
            unique_key(n, key)
        })),
        span,
    )
}

fn unique_key(item: &Node, key: UniqueKey) -> Option<String> {
    let field = |name: &str| item.get(name).and_then(Node::scalar_text);
    if item.as_map().is_none() {
        let text = item.scalar_text()?;
        return Some(match key {
            UniqueKey::VolumeTarget | UniqueKey::DeviceTarget => {
                text.split(':').nth(1).unwrap_or(&text).to_string()
            }
            UniqueKey::MountTarget(dir) => format!("{dir}/{text}"),
            _ => text,
        });
    }
    match key {
        UniqueKey::Text => None,
        UniqueKey::Port => Some(format!(
            "{}:{}:{}/{}",
            field("host_ip").unwrap_or_default(),
            field("published").unwrap_or_default(),
            field("target")?,
            field("protocol").unwrap_or_else(|| "tcp".into()),
        )),
        UniqueKey::VolumeTarget | UniqueKey::DeviceTarget => field("target"),
        UniqueKey::MountTarget(dir) => match field("target") {
            Some(t) if t.starts_with('/') => Some(t),
            Some(t) => Some(format!("{dir}/{t}")),
            None => field("source").map(|s| format!("{dir}/{s}")),
        },
        UniqueKey::EnvFile => field("path"),
        UniqueKey::Subnet => field("subnet"),
    }
}

/// The mapping form of a list of names, each mapped to `value(item span)`; the node
/// unchanged (as `Err`) when it is neither a mapping nor a list of scalars.
fn names_to_map(node: Node, value: impl Fn(&Span) -> Node) -> Result<Node, Node> {
    let Value::Seq(items) = &node.value else {
        return match node.value {
            Value::Map(_) => Ok(node),
            _ => Err(node),
        };
    };
    let mut map = Mapping::default();
    for item in items {
        let Some(name) = item.scalar_text() else {
            return Err(node);
        };
        map.entries.insert(
            name,
            Entry {
                key_span: item.span.clone(),
                value: value(&item.span),
            },
        );
    }
    Ok(Node::new(Value::Map(map), node.span))
}

/// Converts both sides to mappings with `value` for listed names and merges them; the
/// overlay wins when either side is of another kind.
fn merge_as_maps(
    base: Node,
    overlay: Node,
    path: &mut Vec<String>,
    value: impl Fn(&Span) -> Node,
) -> Node {
    let overlay = taken(overlay);
    match names_to_map(base, &value) {
        Ok(b) => match names_to_map(overlay, &value) {
            Ok(o) => merge_default(b, o, path),
            Err(o) => o,
        },
        Err(_) => overlay,
    }
}

fn merge_map_form(base: Node, overlay: Node, path: &mut Vec<String>) -> Node {
    merge_as_maps(base, overlay, path, |span| {
        Node::new(Value::Null, span.clone())
    })
}

fn merge_depends_on(base: Node, overlay: Node, path: &mut Vec<String>) -> Node {
    if let (Value::Seq(_), Value::Seq(_)) = (&base.value, &overlay.value) {
        return merge_unique(base, overlay, UniqueKey::Text);
    }
    merge_as_maps(base, overlay, path, |span| {
        let mut condition = Mapping::default();
        condition.entries.insert(
            "condition".into(),
            Entry {
                key_span: span.clone(),
                value: Node::new(Value::String("service_started".into()), span.clone()),
            },
        );
        Node::new(Value::Map(condition), span.clone())
    })
}

fn merge_logging(base: Node, overlay: Node, path: &mut Vec<String>) -> Node {
    let driver = |n: &Node| n.get("driver").and_then(Node::scalar_text);
    match (driver(&base), driver(&overlay)) {
        (Some(b), Some(o)) if b != o => taken(overlay),
        _ => merge_default(base, overlay, path),
    }
}

fn merge_build(base: Node, overlay: Node, path: &mut Vec<String>) -> Node {
    let as_map = |node: Node| match node.value {
        Value::String(_) => {
            let mut map = Mapping::default();
            let span = node.span.clone();
            map.entries.insert(
                "context".into(),
                Entry {
                    key_span: span.clone(),
                    value: node,
                },
            );
            Node::new(Value::Map(map), span)
        }
        _ => node,
    };
    match (&base.value, &overlay.value) {
        (Value::String(_), Value::String(_)) => taken(overlay),
        (Value::String(_) | Value::Map(_), Value::String(_) | Value::Map(_)) => {
            merge_default(as_map(base), as_map(overlay), path)
        }
        _ => taken(overlay),
    }
}

/// Test trees built from YAML text (the position-carrying reader is not used here).
#[cfg(test)]
pub(crate) mod testing {
    use super::super::node::{Entry, Mapping, Node, Span, Tag, Value};
    use std::sync::Arc;

    /// A tree from YAML text; every node's span is `file:N:1` with N its number in
    /// document order, so tests can tell which file and which node a value came from.
    pub fn tree(file: &str, text: &str) -> Node {
        let value: yaml_serde::Value = yaml_serde::from_str(text).expect("test YAML parses");
        let mut counter = 0;
        convert(&value, &Arc::from(file), &mut counter)
    }

    fn convert(value: &yaml_serde::Value, file: &Arc<str>, counter: &mut u32) -> Node {
        *counter += 1;
        let span = Span::new(file.clone(), *counter, 1);
        let value = match value {
            yaml_serde::Value::Null => Value::Null,
            yaml_serde::Value::Bool(b) => Value::Bool(*b),
            yaml_serde::Value::Number(n) => match n.as_i64() {
                Some(i) => Value::Int(i),
                None => Value::Float(n.as_f64().unwrap_or(f64::NAN)),
            },
            yaml_serde::Value::String(s) => Value::String(s.clone()),
            yaml_serde::Value::Sequence(items) => {
                Value::Seq(items.iter().map(|v| convert(v, file, counter)).collect())
            }
            yaml_serde::Value::Mapping(m) => {
                let mut map = Mapping::default();
                for (k, v) in m {
                    let key = convert(k, file, counter);
                    let value = convert(v, file, counter);
                    map.entries.insert(
                        key.scalar_text().expect("scalar key"),
                        Entry {
                            key_span: key.span,
                            value,
                        },
                    );
                }
                Value::Map(map)
            }
            yaml_serde::Value::Tagged(t) => {
                let mut node = convert(&t.value, file, counter);
                node.tag = if t.tag == "reset" {
                    Some(Tag::Reset)
                } else if t.tag == "override" {
                    Some(Tag::Override)
                } else {
                    None
                };
                return node;
            }
        };
        Node::new(value, span)
    }

    /// Compact JSON text of a tree, keys in order.
    pub fn json(node: &Node) -> String {
        node.to_json().to_string()
    }

    /// `true` if any node of the tree carries a tag.
    pub fn has_tags(node: &Node) -> bool {
        node.tag.is_some()
            || match &node.value {
                Value::Map(m) => m.entries.values().any(|e| has_tags(&e.value)),
                Value::Seq(items) => items.iter().any(has_tags),
                _ => false,
            }
    }
}

#[cfg(test)]
mod tests {
    use super::super::node::KeyPath;
    use super::testing::{has_tags, json, tree};
    use super::*;

    /// Merges `base` over `over` (both under `services.web`) and returns the JSON text
    /// of the merged service.
    fn web(base: &str, over: &str) -> String {
        let doc = |file, body: &str| {
            let indented: String = body.lines().map(|l| format!("    {l}\n")).collect();
            tree(file, &format!("services:\n  web:\n{indented}"))
        };
        let merged = merge(doc("base", base), doc("over", over));
        assert!(!has_tags(&merged), "tags left in {merged:?}");
        json(
            merged
                .at(&KeyPath::parse("services.web"))
                .expect("services.web"),
        )
    }

    fn expect(yaml: &str) -> String {
        json(&tree("expected", yaml))
    }

    #[test]
    fn mappings_merge_by_key_and_scalars_are_replaced() {
        let merged = merge(
            tree("base", "services: {web: {image: a, user: root}}\nname: p"),
            tree(
                "over",
                "services: {web: {image: b, init: true}, db: {image: pg}}",
            ),
        );
        assert_eq!(
            json(&merged),
            expect("services: {web: {image: b, user: root, init: true}, db: {image: pg}}\nname: p")
        );
    }

    #[test]
    fn sequences_append_by_default() {
        assert_eq!(
            web("volumes_from: [a]", "volumes_from: [b, a]"),
            expect("volumes_from: [a, b, a]")
        );
        let merged = merge(tree("base", "x-list: [1]"), tree("over", "x-list: [2]"));
        assert_eq!(json(&merged), expect("x-list: [1, 2]"));
    }

    #[test]
    fn shell_commands_and_ulimits_are_replaced() {
        assert_eq!(
            web(
                "command: [echo, a]\nentrypoint: [sh, -c]\nhealthcheck: {test: [CMD, a], retries: 3}",
                "command: [echo, b]\nentrypoint: sh\nhealthcheck: {test: [CMD, b]}"
            ),
            expect(
                "command: [echo, b]\nentrypoint: sh\nhealthcheck: {test: [CMD, b], retries: 3}"
            )
        );
        assert_eq!(
            web(
                "ulimits: {nofile: {soft: 1, hard: 2}, nproc: 5}",
                "ulimits: {nofile: {soft: 3}}"
            ),
            expect("ulimits: {nofile: {soft: 3}, nproc: 5}")
        );
        assert_eq!(
            web("command: [a]", "command: null"),
            expect("command: null")
        );
    }

    #[test]
    fn environment_merges_by_key_in_either_form() {
        assert_eq!(
            web("environment: [A=1, B=2, C]", "environment: [B=3, D=4, C=5]"),
            expect("environment: [A=1, B=3, C=5, D=4]")
        );
        assert_eq!(
            web("environment: {A: 1, B: 2}", "environment: {B: x, C: null}"),
            expect("environment: {A: 1, B: x, C: null}")
        );
        assert_eq!(
            web("environment: [A=1, B=2, C]", "environment: {B: 3}"),
            expect("environment: {A: '1', B: 3, C: null}")
        );
        assert_eq!(
            web("environment: {A: 1, B: 2}", "environment: [B=3, C]"),
            expect("environment: {A: 1, B: '3', C: null}")
        );
        assert_eq!(
            web("environment: {A: 1}", "environment: null"),
            expect("environment: {A: 1}")
        );
    }

    #[test]
    fn key_value_attributes_merge_by_key() {
        for key in ["labels", "annotations", "sysctls"] {
            assert_eq!(
                web(&format!("{key}: [a=1, b=2]"), &format!("{key}: [b=3]")),
                expect(&format!("{key}: [a=1, b=3]")),
                "{key}"
            );
        }
        assert_eq!(
            web(
                "build: {context: ., args: [A=1], labels: {l: x}}\ndeploy: {labels: {a: '1'}}",
                "build: {args: {A: 2}, labels: [m=y]}\ndeploy: {labels: [b=2]}"
            ),
            expect(
                "build: {context: ., args: {A: 2}, labels: {l: x, m: y}}\ndeploy: {labels: {a: '1', b: '2'}}"
            )
        );
        let merged = merge(
            tree(
                "base",
                "networks: {n: {labels: [a=1]}}\nvolumes: {v: {labels: {a: '1'}}}",
            ),
            tree(
                "over",
                "networks: {n: {labels: [a=2]}}\nvolumes: {v: {labels: {b: '2'}}}",
            ),
        );
        assert_eq!(
            json(&merged),
            expect("networks: {n: {labels: [a=2]}}\nvolumes: {v: {labels: {a: '1', b: '2'}}}")
        );
    }

    #[test]
    fn extra_hosts_merge_by_host_in_both_notations() {
        assert_eq!(
            web(
                "extra_hosts: ['a:1.1.1.1', 'b=2.2.2.2', 'c:::1']",
                "extra_hosts: ['b:3.3.3.3', 'b:4.4.4.4', 'c=::2']"
            ),
            expect("extra_hosts: ['a:1.1.1.1', 'b:3.3.3.3', 'b:4.4.4.4', 'c=::2']")
        );
        assert_eq!(
            web(
                "extra_hosts: ['a:1.1.1.1', 'b=2.2.2.2', 'b=5.5.5.5']",
                "extra_hosts: {c: 3.3.3.3}"
            ),
            expect("extra_hosts: {a: 1.1.1.1, b: [2.2.2.2, 5.5.5.5], c: 3.3.3.3}")
        );
        assert_eq!(
            web(
                "build: {context: ., extra_hosts: {a: 1.1.1.1}}",
                "build: {extra_hosts: ['a=9.9.9.9']}"
            ),
            expect("build: {context: ., extra_hosts: {a: 9.9.9.9}}")
        );
    }

    #[test]
    fn ports_append_without_exact_duplicates() {
        assert_eq!(
            web(
                "ports: ['80:80', 443, {target: 53, published: '53', protocol: udp}]",
                "ports: ['80:80', '8080:80', 443, {target: 53, published: '53', protocol: udp, mode: host}, {target: 53, published: '53'}]"
            ),
            expect(
                "ports: ['80:80', 443, {target: 53, published: '53', protocol: udp, mode: host}, '8080:80', {target: 53, published: '53'}]"
            )
        );
    }

    #[test]
    fn name_lists_append_unique() {
        for key in [
            "expose",
            "dns",
            "dns_search",
            "dns_opt",
            "tmpfs",
            "cap_add",
            "cap_drop",
            "security_opt",
            "group_add",
            "external_links",
            "links",
            "profiles",
            "label_file",
        ] {
            assert_eq!(
                web(&format!("{key}: [a, b]"), &format!("{key}: [b, c]")),
                expect(&format!("{key}: [a, b, c]")),
                "{key}"
            );
        }
        assert_eq!(
            web("dns: 1.1.1.1", "dns: [8.8.8.8, 1.1.1.1]"),
            expect("dns: [1.1.1.1, 8.8.8.8]")
        );
        assert_eq!(
            web(
                "env_file: a.env",
                "env_file: [{path: a.env, required: false}, b.env]"
            ),
            expect("env_file: [{path: a.env, required: false}, b.env]")
        );
        assert_eq!(
            web(
                "networks: {n: {aliases: [x, y]}}",
                "networks: {n: {aliases: [y, z]}}"
            ),
            expect("networks: {n: {aliases: [x, y, z]}}")
        );
    }

    #[test]
    fn volumes_merge_by_target() {
        assert_eq!(
            web(
                "volumes: ['data:/data', './src:/app:ro', /anon, {type: bind, source: ./c, target: /conf}]",
                "volumes: ['other:/data', {type: volume, source: v, target: /app}, '/tmp:/conf:rw', 'new:/new']"
            ),
            expect(
                "volumes: ['other:/data', {type: volume, source: v, target: /app}, /anon, '/tmp:/conf:rw', 'new:/new']"
            )
        );
    }

    #[test]
    fn secrets_configs_and_devices_merge_by_target() {
        assert_eq!(
            web(
                "secrets: [a, {source: b, target: /run/secrets/x}, {source: c, target: y}]\nconfigs: [a, {source: b, target: /b}]",
                "secrets: [{source: z, target: /run/secrets/a}, {source: b, target: x}, y]\nconfigs: [{source: n, target: /a}, b]"
            ),
            expect(
                "secrets: [{source: z, target: /run/secrets/a}, {source: b, target: x}, y]\nconfigs: [{source: n, target: /a}, b]"
            )
        );
        assert_eq!(
            web(
                "devices: ['/dev/a:/dev/x', '/dev/b', {source: /dev/c, target: /dev/c}]",
                "devices: ['/dev/y:/dev/x:r', {source: /dev/z, target: /dev/b}, '/dev/c']"
            ),
            expect("devices: ['/dev/y:/dev/x:r', {source: /dev/z, target: /dev/b}, '/dev/c']")
        );
    }

    #[test]
    fn networks_merge_as_mappings() {
        assert_eq!(
            web(
                "networks: [front, back]",
                "networks: {back: {aliases: [b]}, extra: null}"
            ),
            expect("networks: {front: null, back: {aliases: [b]}, extra: null}")
        );
        assert_eq!(
            web("networks: [front]", "networks: [back, front]"),
            expect("networks: {front: null, back: null}")
        );
        assert_eq!(
            web(
                "networks: {front: {aliases: [a], priority: 1}}",
                "networks: {front: null}"
            ),
            expect("networks: {front: {aliases: [a], priority: 1}}")
        );
        assert_eq!(
            web("networks: [front]", "networks: null"),
            expect("networks: [front]")
        );
    }

    #[test]
    fn depends_on_lists_append_and_mix_into_mappings() {
        assert_eq!(
            web("depends_on: [db, cache]", "depends_on: [queue, db]"),
            expect("depends_on: [db, cache, queue]")
        );
        assert_eq!(
            web(
                "depends_on: [db, cache]",
                "depends_on: {db: {condition: service_healthy}}"
            ),
            expect(
                "depends_on: {db: {condition: service_healthy}, cache: {condition: service_started}}"
            )
        );
        assert_eq!(
            web(
                "depends_on: {db: {condition: service_healthy, restart: true}}",
                "depends_on: [q]"
            ),
            expect(
                "depends_on: {db: {condition: service_healthy, restart: true}, q: {condition: service_started}}"
            )
        );
    }

    #[test]
    fn logging_merges_only_for_the_same_driver() {
        assert_eq!(
            web(
                "logging: {driver: syslog, options: {a: '1'}}",
                "logging: {driver: json-file, options: {b: '2'}}"
            ),
            expect("logging: {driver: json-file, options: {b: '2'}}")
        );
        assert_eq!(
            web(
                "logging: {driver: syslog, options: {a: '1', b: '1'}}",
                "logging: {driver: syslog, options: {b: '2'}}"
            ),
            expect("logging: {driver: syslog, options: {a: '1', b: '2'}}")
        );
        assert_eq!(
            web(
                "logging: {driver: syslog, options: {a: '1'}}",
                "logging: {options: {b: '2'}}"
            ),
            expect("logging: {driver: syslog, options: {a: '1', b: '2'}}")
        );
    }

    #[test]
    fn build_string_is_the_context() {
        assert_eq!(
            web("build: ./app", "build: {dockerfile: Dev.Dockerfile}"),
            expect("build: {context: ./app, dockerfile: Dev.Dockerfile}")
        );
        assert_eq!(
            web("build: {context: ./app, target: prod}", "build: ./other"),
            expect("build: {context: ./other, target: prod}")
        );
        assert_eq!(web("build: ./a", "build: ./b"), expect("build: ./b"));
    }

    #[test]
    fn ipam_config_merges_by_subnet() {
        let merged = merge(
            tree(
                "base",
                "networks: {n: {ipam: {config: [{subnet: 10.0.0.0/24, gateway: 10.0.0.1}, {subnet: 10.1.0.0/24}]}}}",
            ),
            tree(
                "over",
                "networks: {n: {ipam: {config: [{subnet: 10.0.0.0/24, gateway: 10.0.0.254}, {subnet: 10.2.0.0/24}]}}}",
            ),
        );
        assert_eq!(
            json(&merged),
            expect(
                "networks: {n: {ipam: {config: [{subnet: 10.0.0.0/24, gateway: 10.0.0.254}, {subnet: 10.1.0.0/24}, {subnet: 10.2.0.0/24}]}}}"
            )
        );
    }

    #[test]
    fn reset_removes_and_override_replaces() {
        assert_eq!(
            web(
                "image: a\nports: ['8080:80']\nenvironment: {FOO: BAR, KEEP: x}",
                "ports: !reset []\nenvironment: {FOO: !reset null}"
            ),
            expect("image: a\nenvironment: {KEEP: x}")
        );
        assert_eq!(
            web(
                "ports: ['8080:80']\nlabels: {a: '1'}",
                "ports: !override ['8443:443']\nlabels: !override {b: '2'}"
            ),
            expect("ports: ['8443:443']\nlabels: {b: '2'}")
        );
        assert_eq!(
            web("cap_add: [A, B]", "cap_add: [!reset B, C]"),
            expect("cap_add: [A, B, C]")
        );
        // Tags under a key only the overlay has, and under an `!override`, are applied
        // to that subtree alone.
        assert_eq!(
            web(
                "image: a",
                "deploy: {labels: {a: !reset x, b: y}}\nlogging: !override {driver: syslog, options: !reset {}}"
            ),
            expect("image: a\ndeploy: {labels: {b: y}}\nlogging: {driver: syslog}")
        );
    }

    #[test]
    fn base_tags_are_stripped() {
        assert_eq!(
            web(
                "image: a\nports: !reset ['80:80']\nlabels: !override {a: '1', b: !reset '2'}",
                "labels: {c: '3'}"
            ),
            expect("image: a\nlabels: {a: '1', c: '3'}")
        );
    }

    #[test]
    fn reset_document_or_service_empties_it() {
        let merged = merge_service(tree("base", "image: a"), tree("over", "!reset {}"));
        assert_eq!(json(&merged), "{}");
        assert!(!has_tags(&merged));
    }

    #[test]
    fn overlay_null_keeps_the_base_and_base_null_takes_the_overlay() {
        assert_eq!(web("image: a", "image: null"), expect("image: a"));
        assert_eq!(
            web("ports: null", "ports: ['80:80']"),
            expect("ports: ['80:80']")
        );
        let merged = merge(
            tree("base", "services: {web: {image: a}}"),
            tree("over", ""),
        );
        assert_eq!(json(&merged), expect("services: {web: {image: a}}"));
    }

    #[test]
    fn values_of_unexpected_kinds_are_replaced() {
        assert_eq!(
            web(
                "environment: [A=1]\nports: ['80:80']\nlogging: {driver: x}\nbuild: [a]\nnetworks: 3\nhealthcheck: x",
                "environment: A=2\nports: {a: b}\nlogging: [x]\nbuild: ./b\nnetworks: [n]\nhealthcheck: {test: [NONE]}"
            ),
            expect(
                "environment: A=2\nports: {a: b}\nlogging: [x]\nbuild: ./b\nnetworks: [n]\nhealthcheck: {test: [NONE]}"
            )
        );
        assert_eq!(
            web("environment: [{A: 1}]", "environment: {B: 2}"),
            expect("environment: {B: 2}")
        );
        let merged = merge(
            tree("base", "services: [a]"),
            tree("over", "services: {web: {}}"),
        );
        assert_eq!(json(&merged), expect("services: {web: {}}"));
    }

    #[test]
    fn spans_follow_the_origin_of_each_value() {
        let merged = merge(
            tree(
                "base",
                "services: {web: {image: a, user: root, ports: ['1:1']}}",
            ),
            tree("over", "services: {web: {image: b, ports: ['2:2']}}"),
        );
        let at = |p: &str| merged.at(&KeyPath::parse(p)).expect(p).span.clone();
        assert_eq!(at("services.web.image").file.as_ref(), "over");
        assert_eq!(at("services.web.user").file.as_ref(), "base");
        assert_eq!(at("services.web").file.as_ref(), "base");
        assert_eq!(at("services.web.ports").file.as_ref(), "base");
        assert_eq!(at("services.web.ports[0]").file.as_ref(), "base");
        assert_eq!(at("services.web.ports[1]").file.as_ref(), "over");
        let web = merged
            .get("services")
            .and_then(|s| s.get("web"))
            .expect("web");
        let key_span = |k: &str| web.as_map().expect("map").entries[k].key_span.clone();
        assert_eq!(key_span("image").file.as_ref(), "over");
        assert_eq!(key_span("user").file.as_ref(), "base");
        assert_eq!(key_span("ports").file.as_ref(), "base");
    }

    #[test]
    fn merge_service_applies_service_rules() {
        let merged = merge_service(
            tree("base", "command: [a]\nenvironment: [A=1]\nimage: x"),
            tree("over", "command: [b]\nenvironment: [A=2]"),
        );
        assert_eq!(
            json(&merged),
            expect("command: [b]\nenvironment: [A=2]\nimage: x")
        );
    }

    #[test]
    fn strip_tags_drops_resets_and_clears_overrides() {
        let mut node = tree(
            "f",
            "services: {web: {ports: !reset ['80:80'], dns: [!reset a, b], labels: !override {a: '1'}}}",
        );
        strip_tags(&mut node);
        assert_eq!(
            json(&node),
            expect("services: {web: {dns: [b], labels: {a: '1'}}}")
        );
        assert!(!has_tags(&node));
    }
}
