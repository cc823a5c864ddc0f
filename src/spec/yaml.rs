//! Compose-file text -> the position-carrying [`Node`] tree, one node per YAML document.
//!
//! Events come from `saphyr-parser`'s pull iterator (its `load` recurses on nesting depth,
//! the iterator does not) and the tree is built on an explicit stack, so input depth never
//! becomes Rust stack depth. On top of plain YAML this resolves what the typed stages must
//! not see: anchors and aliases (deep copies, guarded against alias bombs), merge keys
//! `<<`, the core-schema tags and compose's own `!reset` / `!override`.

use super::diag::Diagnostic;
use super::node::{
    format_float, resolve_plain_scalar, typed_plain_scalar, Entry, KeyPath, Mapping, Node, PathSeg,
    Span, Tag, Value,
};
use indexmap::IndexMap;
use saphyr_parser::{Event, Marker, Parser, ScalarStyle, ScanError};
use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;

/// Deepest nesting of sequences and mappings accepted (aliases included).
const MAX_DEPTH: usize = 256;
/// Most nodes one document may expand to once aliases are copied.
const MAX_NODES: usize = 1_000_000;

/// Parses compose-file text into one [`Node`] per YAML document (none for an empty text
/// or one of only comments).
///
/// Plain scalars are typed by the YAML 1.2 core schema; quoted and block scalars are
/// strings with `quoted` set. Aliases become deep copies of their anchored node (keeping
/// the original's spans), merge keys `<<` are applied, and mapping keys are their scalar
/// text. The first problem found is returned as an error [`Diagnostic`] located at
/// `file:line:col` with the key path where it is known.
pub fn parse(text: &str, file: &Arc<str>) -> Result<Vec<Node>, Diagnostic> {
    let mut builder = Builder {
        text,
        file,
        docs: Vec::new(),
        root: None,
        stack: Vec::new(),
        anchors: HashMap::new(),
        nodes: 0,
    };
    let mut parser = Parser::new_from_str(text);
    while let Some(next) = parser.next_event() {
        match next {
            Ok((event, span)) => builder.event(event, span.start)?,
            Err(e) => return Err(builder.scan_error(&e)),
        }
    }
    Ok(builder.docs)
}

/// A finished node with what the limits need to know about it.
#[derive(Clone)]
struct Built {
    node: Node,
    /// Levels of collections in it: 0 for a scalar, 1 for `[a]`, 2 for `[[a]]`.
    height: usize,
    /// Nodes in it, itself included.
    size: usize,
}

/// A sequence or mapping whose end event has not come yet. (Its key path is not kept:
/// the frames below it know it, see [`path_of`].)
struct Frame {
    body: Body,
    span: Span,
    tag: Option<Tag>,
    /// saphyr's anchor id (0: none), to refuse an alias to a node from inside itself.
    anchor: usize,
    /// Largest height among the children.
    height: usize,
    size: usize,
}

enum Body {
    Seq(Vec<Node>),
    Map(MapBody),
}

#[derive(Default)]
struct MapBody {
    entries: IndexMap<String, Entry>,
    /// The key whose value comes next.
    key: Option<(Key, Span)>,
    merge: Option<Merge>,
}

enum Key {
    Name(String),
    /// The plain key `<<`.
    Merge,
}

/// The mappings a `<<` key brings in, and where it stood among the mapping's own keys.
struct Merge {
    key_span: Span,
    at: usize,
    maps: Vec<Mapping>,
}

/// How a tag types the node it is on.
#[derive(Clone, Copy, PartialEq)]
enum TagKind {
    Compose(Tag),
    /// `!!str`: the scalar is a string whatever its text.
    Str,
    Int,
    Float,
    Bool,
    Null,
    Map,
    Seq,
}

struct Builder<'a> {
    text: &'a str,
    file: &'a Arc<str>,
    docs: Vec<Node>,
    /// The finished top node of the current document.
    root: Option<Node>,
    stack: Vec<Frame>,
    /// Anchored nodes of the current document by saphyr's anchor id.
    anchors: HashMap<usize, Built>,
    /// Nodes the current document has produced so far, alias copies included.
    nodes: usize,
}

impl Builder<'_> {
    fn event(&mut self, event: Event<'_>, mark: Marker) -> Result<(), Diagnostic> {
        let span = self.span(mark);
        match event {
            Event::Nothing | Event::StreamStart | Event::StreamEnd => {}
            Event::DocumentStart(_) => {
                self.anchors.clear();
                self.nodes = 0;
            }
            Event::DocumentEnd => self.docs.extend(self.root.take()),
            Event::Scalar(text, style, anchor, tag) => {
                let error = |msg| Diagnostic::error(Some(span.clone()), self.child_path(), msg);
                let kind = tag
                    .map(|t| classify(&t))
                    .transpose()
                    .map_err(|name| error(unknown_tag(&name)))?;
                let typed = match kind {
                    None if style == ScalarStyle::Plain => typed_plain_scalar(&text),
                    _ => None,
                };
                let (value, quoted, written) = match typed {
                    Some(value) => (value, false, Written::PlainTyped(&text)),
                    None if style == ScalarStyle::Plain && kind.is_none() => (
                        Value::String(text.into_owned()),
                        false,
                        Written::PlainString,
                    ),
                    None => {
                        let (value, quoted) = scalar_value(text, style, kind).map_err(error)?;
                        (value, quoted, Written::Other)
                    }
                };
                let node = Node {
                    value,
                    span,
                    tag: compose_tag(kind),
                    quoted,
                };
                self.nodes += 1;
                let built = Built {
                    node,
                    height: 0,
                    size: 1,
                };
                self.finish(built, anchor, written)?;
            }
            Event::SequenceStart(anchor, tag) => {
                self.open(Body::Seq(Vec::new()), span, anchor, tag.as_deref())?;
            }
            Event::MappingStart(anchor, tag) => {
                let body = Body::Map(MapBody::default());
                self.open(body, span, anchor, tag.as_deref())?;
            }
            Event::SequenceEnd | Event::MappingEnd => self.close()?,
            Event::Alias(id) => self.alias(id, span, mark.index())?,
        }
        Ok(())
    }

    /// Starts a sequence or mapping.
    fn open(
        &mut self,
        body: Body,
        span: Span,
        anchor: usize,
        tag: Option<&saphyr_parser::Tag>,
    ) -> Result<(), Diagnostic> {
        let what = match body {
            Body::Seq(_) => "a list",
            Body::Map(_) => "a mapping",
        };
        let error = |msg: String| Diagnostic::error(Some(span.clone()), self.child_path(), msg);
        if self.expects_key() {
            return Err(error(format!(
                "a mapping key must be a scalar, found {what}"
            )));
        }
        let kind = tag
            .map(classify)
            .transpose()
            .map_err(|n| error(unknown_tag(&n)))?;
        match (kind, &body) {
            (None | Some(TagKind::Compose(_)), _)
            | (Some(TagKind::Seq), Body::Seq(_))
            | (Some(TagKind::Map), Body::Map(_)) => {}
            (Some(other), _) => {
                return Err(error(format!(
                    "the `{}` tag cannot be put on {what}",
                    tag_name(other)
                )))
            }
        }
        if self.stack.len() >= MAX_DEPTH {
            return Err(error(too_deep()));
        }
        self.nodes += 1;
        self.stack.push(Frame {
            body,
            span,
            tag: compose_tag(kind),
            anchor,
            height: 0,
            size: 1,
        });
        Ok(())
    }

    /// Ends the innermost sequence or mapping.
    fn close(&mut self) -> Result<(), Diagnostic> {
        let Some(frame) = self.stack.pop() else {
            return Ok(());
        };
        let value = match frame.body {
            Body::Seq(items) => Value::Seq(items),
            Body::Map(map) => Value::Map(Mapping {
                entries: match map.merge {
                    None => map.entries,
                    Some(merge) => apply_merge(map.entries, merge),
                },
            }),
        };
        let node = Node {
            value,
            span: frame.span,
            tag: frame.tag,
            quoted: false,
        };
        let built = Built {
            node,
            height: frame.height + 1,
            size: frame.size,
        };
        self.finish(built, frame.anchor, Written::Other)
    }

    /// Copies the node an alias refers to; `index` is where its `*` is, in characters.
    fn alias(&mut self, id: usize, span: Span, index: usize) -> Result<(), Diagnostic> {
        let error = |msg| Diagnostic::error(Some(span.clone()), self.child_path(), msg);
        if self.stack.iter().any(|f| f.anchor == id) {
            let name = alias_name(self.text, index);
            return Err(error(format!(
                "alias `*{name}` is inside the node its anchor `&{name}` names; a node cannot contain itself"
            )));
        }
        let Some(anchored) = self.anchors.get(&id) else {
            return Err(error(unknown_alias(&alias_name(self.text, index))));
        };
        if self.stack.len() + anchored.height > MAX_DEPTH {
            return Err(error(too_deep()));
        }
        let nodes = self.nodes.saturating_add(anchored.size);
        if nodes > MAX_NODES {
            return Err(error(format!(
                "the document expands to more than {MAX_NODES} nodes through aliases"
            )));
        }
        let copy = anchored.clone();
        self.nodes = nodes;
        self.finish(copy, 0, Written::Other)
    }

    /// Puts a finished node where it belongs: the document, a sequence, a mapping key or
    /// a mapping value. `written` is how a scalar was written (for keys).
    fn finish(
        &mut self,
        built: Built,
        anchor: usize,
        written: Written<'_>,
    ) -> Result<(), Diagnostic> {
        if anchor != 0 {
            self.anchors.insert(anchor, built.clone());
        }
        let Some((frame, parents)) = self.stack.split_last_mut() else {
            self.root = Some(built.node);
            return Ok(());
        };
        let map = match &mut frame.body {
            Body::Seq(items) => {
                frame.height = frame.height.max(built.height);
                frame.size += built.size;
                items.push(built.node);
                return Ok(());
            }
            Body::Map(map) => map,
        };
        match map.key.take() {
            None => {
                let Node {
                    value, span, tag, ..
                } = built.node;
                let key = key_of(value, tag, written)
                    .map_err(|msg| Diagnostic::error(Some(span.clone()), path_of(parents), msg))?;
                let first = match &key {
                    Key::Name(name) => map.entries.get(name).map(|e| &e.key_span),
                    Key::Merge => map.merge.as_ref().map(|m| &m.key_span),
                };
                if let Some(first) = first {
                    let shown = match &key {
                        Key::Name(name) => name.as_str(),
                        Key::Merge => "<<",
                    };
                    let msg = format!(
                        "duplicate key `{shown}` (first defined at {}:{})",
                        first.line, first.col
                    );
                    return Err(Diagnostic::error(Some(span), path_of(parents), msg));
                }
                map.key = Some((key, span));
            }
            Some((Key::Name(name), key_span)) => {
                frame.height = frame.height.max(built.height);
                frame.size += built.size;
                let value = built.node;
                map.entries.insert(name, Entry { key_span, value });
            }
            Some((Key::Merge, key_span)) => {
                let path = path_of(parents).key("<<");
                let (maps, levels) = merge_sources(built.node, path)?;
                frame.height = frame.height.max(built.height.saturating_sub(levels));
                frame.size += built.size;
                let at = map.entries.len();
                map.merge = Some(Merge { key_span, at, maps });
            }
        }
        Ok(())
    }

    /// Whether the next node is a mapping key.
    fn expects_key(&self) -> bool {
        matches!(self.stack.last(), Some(Frame { body: Body::Map(m), .. }) if m.key.is_none())
    }

    /// The key path of the node that comes next (a mapping key: the mapping's path).
    fn child_path(&self) -> KeyPath {
        path_of(&self.stack)
    }

    /// Our 1-based span from saphyr's marker (1-based line, 0-based column).
    fn span(&self, mark: Marker) -> Span {
        let line = u32::try_from(mark.line()).unwrap_or(u32::MAX);
        let col = u32::try_from(mark.col().saturating_add(1)).unwrap_or(u32::MAX);
        Span::new(self.file.clone(), line, col)
    }

    fn scan_error(&self, e: &ScanError) -> Diagnostic {
        let span = self.span(*e.marker());
        let info = e.info();
        let message = if info == "while parsing node, found unknown anchor" {
            unknown_alias(&alias_name(self.text, e.marker().index()))
        } else if info.contains("tab") {
            format!("invalid YAML: {info}; indent with spaces, not tabs")
        } else if info == "mapping values are not allowed in this context" {
            format!("invalid YAML: {info}; a value that contains `: ` must be quoted")
        } else {
            format!("invalid YAML: {info}")
        };
        Diagnostic::error(Some(span), self.child_path(), message)
    }
}

/// The key path of the node that comes next inside the innermost of `frames`: each
/// frame leads to its next child, by the key waiting for its value or the index of its
/// next item (a mapping waiting for a key leads nowhere further).
fn path_of(frames: &[Frame]) -> KeyPath {
    let mut path = KeyPath::root();
    for frame in frames {
        match &frame.body {
            Body::Seq(items) => path.0.push(PathSeg::Index(items.len())),
            Body::Map(MapBody {
                key: Some((Key::Name(name), _)),
                ..
            }) => path.0.push(PathSeg::Key(name.clone())),
            Body::Map(MapBody {
                key: Some((Key::Merge, _)),
                ..
            }) => path.0.push(PathSeg::Key("<<".into())),
            Body::Map(_) => {}
        }
    }
    path
}

/// What a YAML tag means to compose, or the tag as written when it means nothing.
fn classify(tag: &saphyr_parser::Tag) -> Result<TagKind, String> {
    let full = if tag.handle == "!" {
        format!("!{}", tag.suffix)
    } else {
        format!("{}{}", tag.handle, tag.suffix)
    };
    if let Some(core) = full.strip_prefix("tag:yaml.org,2002:") {
        return match core {
            "str" => Ok(TagKind::Str),
            "int" => Ok(TagKind::Int),
            "float" => Ok(TagKind::Float),
            "bool" => Ok(TagKind::Bool),
            "null" => Ok(TagKind::Null),
            "map" => Ok(TagKind::Map),
            "seq" => Ok(TagKind::Seq),
            other => Err(format!("!!{other}")),
        };
    }
    match full.as_str() {
        "!reset" => Ok(TagKind::Compose(Tag::Reset)),
        "!override" => Ok(TagKind::Compose(Tag::Override)),
        _ => Err(full),
    }
}

fn tag_name(kind: TagKind) -> &'static str {
    match kind {
        TagKind::Compose(Tag::Reset) => "!reset",
        TagKind::Compose(Tag::Override) => "!override",
        TagKind::Str => "!!str",
        TagKind::Int => "!!int",
        TagKind::Float => "!!float",
        TagKind::Bool => "!!bool",
        TagKind::Null => "!!null",
        TagKind::Map => "!!map",
        TagKind::Seq => "!!seq",
    }
}

fn compose_tag(kind: Option<TagKind>) -> Option<Tag> {
    match kind {
        Some(TagKind::Compose(tag)) => Some(tag),
        _ => None,
    }
}

/// The value of a scalar and whether it is a string by the way it was written (quotes,
/// block style, `!!str`), which later re-typing after interpolation must respect.
fn scalar_value(
    text: Cow<'_, str>,
    style: ScalarStyle,
    kind: Option<TagKind>,
) -> Result<(Value, bool), String> {
    let resolved = || resolve_plain_scalar(&text);
    let mismatch = |kind, what| format!("`{}` value `{text}` is not {what}", tag_name(kind));
    match kind {
        None | Some(TagKind::Compose(_)) if style == ScalarStyle::Plain => Ok((resolved(), false)),
        None | Some(TagKind::Compose(_)) | Some(TagKind::Str) => {
            Ok((Value::String(text.into_owned()), true))
        }
        Some(kind @ TagKind::Int) => match resolved() {
            Value::Int(i) => Ok((Value::Int(i), false)),
            _ => Err(mismatch(kind, "an integer")),
        },
        Some(kind @ TagKind::Float) => match resolved() {
            Value::Float(x) => Ok((Value::Float(x), false)),
            // An integer is a valid float in the core schema (`!!float 3` is 3.0).
            #[allow(clippy::cast_precision_loss)]
            Value::Int(i) => Ok((Value::Float(i as f64), false)),
            _ => Err(mismatch(kind, "a number")),
        },
        Some(kind @ TagKind::Bool) => match resolved() {
            Value::Bool(b) => Ok((Value::Bool(b), false)),
            _ => Err(mismatch(kind, "a boolean (`true` or `false`)")),
        },
        Some(kind @ TagKind::Null) => match resolved() {
            Value::Null => Ok((Value::Null, false)),
            _ => Err(mismatch(kind, "null (`null`, `~` or nothing)")),
        },
        Some(kind @ (TagKind::Map | TagKind::Seq)) => Err(format!(
            "the `{}` tag cannot be put on a scalar",
            tag_name(kind)
        )),
    }
}

/// How a scalar was written, which decides what it means as a mapping key.
#[derive(Clone, Copy)]
enum Written<'t> {
    /// Quoted, a block scalar, tagged, or no scalar (a collection, an alias's copy).
    Other,
    /// Plain and untagged, a string (the plain `<<` is the merge key).
    PlainString,
    /// Plain and untagged, typed by the core schema (`3`, `true`, `~`): its text as
    /// written, which is the key (`0x1F:` stays `0x1F`).
    PlainTyped(&'t str),
}

/// A mapping key from its node's value and tag and how it was written (see
/// [`Written`]), or what is wrong with it: scalars become their text.
fn key_of(value: Value, tag: Option<Tag>, written: Written<'_>) -> Result<Key, String> {
    if let Some(tag) = tag {
        let name = tag_name(TagKind::Compose(tag));
        return Err(format!("`{name}` tags a value, not a mapping key"));
    }
    match (value, written) {
        (Value::String(s), Written::PlainString) if s == "<<" => Ok(Key::Merge),
        (Value::Null, Written::PlainTyped("")) => Err("a mapping key cannot be null".into()),
        (Value::Null, Written::PlainTyped(text)) => Err(format!(
            "mapping key `{text}` is null in YAML; quote it (\"{text}\") to use it as text"
        )),
        (_, Written::PlainTyped(text)) => Ok(Key::Name(text.to_string())),
        (value, _) => key_text(value),
    }
}

/// The text of a scalar that was not written plain, as a mapping key.
fn key_text(value: Value) -> Result<Key, String> {
    match value {
        Value::String(s) => Ok(Key::Name(s)),
        Value::Null => Err("a mapping key cannot be null".into()),
        Value::Seq(_) | Value::Map(_) => Err(format!(
            "a mapping key must be a scalar, found {}",
            value.kind_name()
        )),
        Value::Bool(b) => Ok(Key::Name(b.to_string())),
        Value::Int(i) => Ok(Key::Name(i.to_string())),
        Value::Float(x) => Ok(Key::Name(format_float(x))),
    }
}

/// The mappings a `<<` value brings in, and how many levels of collections above their
/// entries the value had (1 for a mapping, 2 for a list of mappings).
fn merge_sources(node: Node, path: KeyPath) -> Result<(Vec<Mapping>, usize), Diagnostic> {
    const EXPECTED: &str = "the merge key `<<` takes a mapping or a list of mappings";
    match node.value {
        Value::Map(map) => Ok((vec![map], 1)),
        Value::Seq(items) => {
            let maps = items
                .into_iter()
                .enumerate()
                .map(|(i, item)| match item.value {
                    Value::Map(map) => Ok(map),
                    other => Err(Diagnostic::error(
                        Some(item.span),
                        path.index(i),
                        format!("{EXPECTED}, found {} in the list", other.kind_name()),
                    )),
                })
                .collect::<Result<_, _>>()?;
            Ok((maps, 2))
        }
        other => Err(Diagnostic::error(
            Some(node.span),
            path,
            format!("{EXPECTED}, found {}", other.kind_name()),
        )),
    }
}

/// A mapping's own entries with the merged-in ones where `<<` stood: keys written in the
/// mapping win wherever they are, and among merged mappings the earlier one wins.
fn apply_merge(mut own: IndexMap<String, Entry>, merge: Merge) -> IndexMap<String, Entry> {
    let after = own.split_off(merge.at.min(own.len()));
    for map in merge.maps {
        for (key, entry) in map.entries {
            if !own.contains_key(&key) && !after.contains_key(&key) {
                own.insert(key, entry);
            }
        }
    }
    own.extend(after);
    own
}

/// The name of the alias whose `*` is at character `index` of the text.
fn alias_name(text: &str, index: usize) -> String {
    text.chars()
        .skip(index.saturating_add(1))
        .take_while(|c| !c.is_whitespace() && !matches!(c, ',' | '[' | ']' | '{' | '}'))
        .collect()
}

fn unknown_alias(name: &str) -> String {
    format!("unknown alias `*{name}`: no anchor `&{name}` is defined before it in this document")
}

fn unknown_tag(name: &str) -> String {
    format!("unknown YAML tag `{name}`: compose files know only `!reset` and `!override`")
}

fn too_deep() -> String {
    format!("the document nests lists and mappings more than {MAX_DEPTH} levels deep")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file() -> Arc<str> {
        Arc::from("compose.yaml")
    }

    fn doc(text: &str) -> Node {
        let mut docs = parse(text, &file()).expect("valid YAML");
        assert_eq!(docs.len(), 1, "one document");
        docs.remove(0)
    }

    /// The error as rendered: `compose.yaml:line:col: path: message`.
    fn err(text: &str) -> String {
        parse(text, &file()).expect_err("an error").to_string()
    }

    fn pos(node: &Node) -> (u32, u32) {
        (node.span.line, node.span.col)
    }

    fn value<'a>(root: &'a Node, path: &str) -> &'a Node {
        root.at(&KeyPath::parse(path)).expect("path exists")
    }

    fn keys(node: &Node) -> Vec<&str> {
        node.as_map()
            .expect("a mapping")
            .entries
            .keys()
            .map(String::as_str)
            .collect()
    }

    #[test]
    fn empty_and_comment_only_texts_have_no_document() {
        assert_eq!(parse("", &file()), Ok(vec![]));
        assert_eq!(parse("# only a comment\n\n", &file()), Ok(vec![]));
    }

    #[test]
    fn plain_scalars_are_typed_and_the_others_are_strings() {
        let root = doc("a: 3\nb: true\nc: ~\nd: 1.5\ne: nginx\nf: \"3\"\ng: 'x'\nh: |\n  hi\ni: >\n  a\n  b\nj:\n");
        let v = |k: &str| &root.get(k).expect(k).value;
        assert_eq!(v("a"), &Value::Int(3));
        assert_eq!(v("b"), &Value::Bool(true));
        assert_eq!(v("c"), &Value::Null);
        assert_eq!(v("d"), &Value::Float(1.5));
        assert_eq!(v("e"), &Value::String("nginx".into()));
        assert_eq!(v("f"), &Value::String("3".into()));
        assert_eq!(v("g"), &Value::String("x".into()));
        assert_eq!(v("h"), &Value::String("hi\n".into()));
        assert_eq!(v("i"), &Value::String("a b\n".into()));
        assert_eq!(v("j"), &Value::Null);
        let quoted: Vec<bool> = ["a", "e", "f", "g", "h", "i", "j"]
            .iter()
            .map(|k| root.get(k).expect(k).quoted)
            .collect();
        assert_eq!(quoted, [false, false, true, true, true, true, false]);
    }

    #[test]
    fn spans_are_one_based_at_keys_and_values() {
        let root = doc("services:\n  web:\n    image: nginx\n    ports: [\"80:80\"]\n");
        assert_eq!(pos(&root), (1, 1));
        let services = root.as_map().unwrap().entries.get("services").unwrap();
        assert_eq!((services.key_span.line, services.key_span.col), (1, 1));
        let web = value(&root, "services.web");
        assert_eq!(pos(web), (3, 5), "a block mapping starts at its first key");
        let image = web.as_map().unwrap().entries.get("image").unwrap();
        assert_eq!((image.key_span.line, image.key_span.col), (3, 5));
        assert_eq!(pos(&image.value), (3, 12));
        assert_eq!(image.value.span.file.as_ref(), "compose.yaml");
        assert_eq!(pos(value(&root, "services.web.ports")), (4, 12));
        assert_eq!(pos(value(&root, "services.web.ports[0]")), (4, 13));
    }

    #[test]
    fn core_tags_type_scalars() {
        let root = doc(concat!(
            "s: !!str 3\n",
            "i: !!int \"42\"\n",
            "h: !!int 0x1F\n",
            "f: !!float 3\n",
            "b: !!bool true\n",
            "n: !!null ~\n",
            "m: !!map {a: 1}\n",
            "q: !!seq [1]\n",
            "v: !<tag:yaml.org,2002:int> 7\n",
        ));
        let s = root.get("s").unwrap();
        assert_eq!((&s.value, s.quoted), (&Value::String("3".into()), true));
        assert_eq!(root.get("i").unwrap().value, Value::Int(42));
        assert_eq!(root.get("h").unwrap().value, Value::Int(31));
        assert_eq!(root.get("f").unwrap().value, Value::Float(3.0));
        assert_eq!(root.get("b").unwrap().value, Value::Bool(true));
        assert_eq!(root.get("n").unwrap().value, Value::Null);
        assert_eq!(value(&root, "m.a").value, Value::Int(1));
        assert_eq!(value(&root, "q[0]").value, Value::Int(1));
        assert_eq!(root.get("v").unwrap().value, Value::Int(7));
    }

    #[test]
    fn core_tags_refuse_text_that_does_not_fit() {
        assert_eq!(
            err("a:\n  x: !!int abc\n"),
            "compose.yaml:2:6: a.x: `!!int` value `abc` is not an integer"
        );
        assert_eq!(
            err("x: !!float 1.2.3"),
            "compose.yaml:1:4: x: `!!float` value `1.2.3` is not a number"
        );
        assert_eq!(
            err("x: !!bool yes"),
            "compose.yaml:1:4: x: `!!bool` value `yes` is not a boolean (`true` or `false`)"
        );
        assert_eq!(
            err("x: !!null 0"),
            "compose.yaml:1:4: x: `!!null` value `0` is not null (`null`, `~` or nothing)"
        );
        assert_eq!(
            err("x: !!map [a]"),
            "compose.yaml:1:4: x: the `!!map` tag cannot be put on a list"
        );
        assert_eq!(
            err("x: !!seq a"),
            "compose.yaml:1:4: x: the `!!seq` tag cannot be put on a scalar"
        );
        assert_eq!(
            err("x: !!str {a: 1}"),
            "compose.yaml:1:4: x: the `!!str` tag cannot be put on a mapping"
        );
    }

    #[test]
    fn compose_tags_mark_scalars_lists_and_mappings() {
        let root = doc("a: !reset\nb: !reset []\nc: !override\n  x: 1\nd: !override \"v\"\ne: 1\n");
        let a = root.get("a").unwrap();
        assert_eq!((&a.value, a.tag), (&Value::Null, Some(Tag::Reset)));
        let b = root.get("b").unwrap();
        assert_eq!((&b.value, b.tag), (&Value::Seq(vec![]), Some(Tag::Reset)));
        let c = root.get("c").unwrap();
        assert_eq!(c.tag, Some(Tag::Override));
        assert_eq!(value(&root, "c.x").value, Value::Int(1));
        let d = root.get("d").unwrap();
        assert_eq!(
            (&d.value, d.tag, d.quoted),
            (&Value::String("v".into()), Some(Tag::Override), true)
        );
        assert_eq!(root.get("e").unwrap().tag, None);
    }

    #[test]
    fn other_tags_are_errors() {
        assert_eq!(
            err("services:\n  web: !foo x\n"),
            "compose.yaml:2:8: services.web: unknown YAML tag `!foo`: compose files know only `!reset` and `!override`"
        );
        assert_eq!(
            err("x: !!binary aGk="),
            "compose.yaml:1:4: x: unknown YAML tag `!!binary`: compose files know only `!reset` and `!override`"
        );
        assert_eq!(
            err("x: !foo [a]"),
            "compose.yaml:1:4: x: unknown YAML tag `!foo`: compose files know only `!reset` and `!override`"
        );
        assert_eq!(
            err("!reset a: 1"),
            "compose.yaml:1:1: `!reset` tags a value, not a mapping key"
        );
    }

    #[test]
    fn scalar_keys_become_their_text() {
        let root = doc("80: a\ntrue: b\n1.50: c\n0x1F: d\n\"q\": e\n!!str null: f\n");
        assert_eq!(keys(&root), ["80", "true", "1.50", "0x1F", "q", "null"]);
    }

    #[test]
    fn null_and_collection_keys_are_errors() {
        assert_eq!(
            err("a:\n  ~: x\n"),
            "compose.yaml:2:3: a: mapping key `~` is null in YAML; quote it (\"~\") to use it as text"
        );
        assert_eq!(
            err("? \n: x\n"),
            "compose.yaml:2:1: a mapping key cannot be null"
        );
        assert_eq!(
            err("a: 1\n[x]: 2\n"),
            "compose.yaml:2:1: a mapping key must be a scalar, found a list"
        );
        assert_eq!(
            err("a: 1\n? {x: 1}\n: 2\n"),
            "compose.yaml:2:3: a mapping key must be a scalar, found a mapping"
        );
        assert_eq!(
            err("a: &m {x: 1}\n*m : 2\n"),
            "compose.yaml:1:4: a mapping key must be a scalar, found a mapping"
        );
    }

    #[test]
    fn duplicate_keys_name_the_first_definition() {
        assert_eq!(
            err("services:\n  web:\n    image: a\n    ports: []\n    image: b\n"),
            "compose.yaml:5:5: services.web: duplicate key `image` (first defined at 3:5)"
        );
        assert_eq!(
            err("{a: 1, \"a\": 2}"),
            "compose.yaml:1:8: duplicate key `a` (first defined at 1:2)"
        );
    }

    #[test]
    fn aliases_are_deep_copies_with_the_original_spans() {
        let root = doc("x: &env\n  A: 1\n  B: [2]\ny: *env\nz: &s text\nw: *s\n");
        assert_eq!(root.get("y"), root.get("x"));
        assert_eq!(
            pos(root.get("y").unwrap()),
            (1, 4),
            "a node starts at its anchor"
        );
        assert_eq!(pos(value(&root, "y.B[0]")), (3, 7));
        assert_eq!(root.get("w").unwrap().value, Value::String("text".into()));
        assert_eq!(pos(root.get("w").unwrap()), (5, 4));
    }

    #[test]
    fn unknown_and_recursive_aliases_are_errors() {
        assert_eq!(
            err("a: 1\nb: *nope\n"),
            "compose.yaml:2:4: b: unknown alias `*nope`: no anchor `&nope` is defined before it in this document"
        );
        assert_eq!(
            err("a: &x 1\n---\nb: *x\n"),
            "compose.yaml:3:4: b: unknown alias `*x`: no anchor `&x` is defined before it in this document"
        );
        assert_eq!(
            err("a: &x [1, *x]"),
            "compose.yaml:1:11: a[1]: alias `*x` is inside the node its anchor `&x` names; a node cannot contain itself"
        );
    }

    #[test]
    fn alias_bombs_stop_at_the_node_limit() {
        let mut text = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
        for (name, prev) in ["b", "c", "d", "e", "f", "g"]
            .iter()
            .zip(["a", "b", "c", "d", "e", "f"])
        {
            let items = vec![format!("*{prev}"); 10].join(", ");
            text.push_str(&format!("{name}: &{name} [{items}]\n"));
        }
        let d = parse(&text, &file()).expect_err("too many nodes");
        assert_eq!(
            d.message,
            "the document expands to more than 1000000 nodes through aliases"
        );
        assert_eq!(d.span.map(|s| s.line), Some(6));
        // One level less stays under the limit.
        let smaller: String = text.lines().take(5).map(|l| format!("{l}\n")).collect();
        assert_eq!(parse(&smaller, &file()).map(|d| d.len()), Ok(1));
    }

    #[test]
    fn nesting_deeper_than_the_limit_is_an_error() {
        let ok = format!("{}x", "- ".repeat(MAX_DEPTH));
        assert_eq!(parse(&ok, &file()).map(|d| d.len()), Ok(1));
        let deep = format!("{}x", "- ".repeat(MAX_DEPTH + 1));
        assert_eq!(
            parse(&deep, &file()).expect_err("too deep").message,
            "the document nests lists and mappings more than 256 levels deep"
        );
        // Through an alias: 101 open lists around a copy 199 levels high.
        let anchored = format!("- &a {}x{}\n", "[".repeat(199), "]".repeat(199));
        let alias = format!("- {}*a\n", "- ".repeat(100));
        let d = parse(&(anchored.clone() + &alias), &file()).expect_err("too deep");
        assert_eq!(
            d.to_string(),
            format!(
                "compose.yaml:2:203: [1]{}: the document nests lists and mappings more than 256 levels deep",
                "[0]".repeat(100)
            )
        );
        let shallower = format!("- {}*a\n", "- ".repeat(56));
        assert_eq!(
            parse(&(anchored + &shallower), &file()).map(|d| d.len()),
            Ok(1)
        );
        // Thousands of levels give an error, not a stack overflow.
        let huge = format!("{}x", "- ".repeat(100_000));
        assert!(parse(&huge, &file()).is_err());
    }

    #[test]
    fn merge_keys_bring_in_entries_that_own_keys_override() {
        let root = doc(concat!(
            "x-base: &base\n",
            "  image: base\n",
            "  restart: always\n",
            "  init: true\n",
            "web:\n",
            "  image: own-before\n",
            "  <<: *base\n",
            "  init: false\n",
        ));
        let web = root.get("web").unwrap();
        assert_eq!(keys(web), ["image", "restart", "init"]);
        assert_eq!(
            value(&root, "web.image").value,
            Value::String("own-before".into())
        );
        assert_eq!(value(&root, "web.init").value, Value::Bool(false));
        assert_eq!(
            value(&root, "web.restart").value,
            Value::String("always".into())
        );
        let restart = web.as_map().unwrap().entries.get("restart").unwrap();
        assert_eq!((restart.key_span.line, restart.key_span.col), (3, 3));
        assert_eq!(pos(&restart.value), (3, 12));
    }

    #[test]
    fn merge_lists_prefer_earlier_mappings_and_nest() {
        let root = doc(concat!(
            "a: &a {x: a, y: a}\n",
            "b: &b {<<: *a, y: b, z: b}\n",
            "c: {<<: [*b, {x: lit, w: lit}], v: own}\n",
        ));
        assert_eq!(keys(root.get("b").unwrap()), ["x", "y", "z"]);
        let c = root.get("c").unwrap();
        assert_eq!(keys(c), ["x", "y", "z", "w", "v"]);
        let text = |p: &str| value(&root, p).as_str().map(str::to_string);
        assert_eq!(text("c.x").as_deref(), Some("a"));
        assert_eq!(text("c.y").as_deref(), Some("b"));
        assert_eq!(text("c.w").as_deref(), Some("lit"));
        assert_eq!(text("c.v").as_deref(), Some("own"));
        assert_eq!(pos(value(&root, "c.x")), (1, 11));
        // A quoted `<<` is an ordinary key.
        let quoted = doc("\"<<\": {a: 1}");
        assert_eq!(keys(&quoted), ["<<"]);
    }

    #[test]
    fn merge_keys_need_mappings() {
        assert_eq!(
            err("web:\n  <<: 3\n"),
            "compose.yaml:2:7: web.<<: the merge key `<<` takes a mapping or a list of mappings, found an integer"
        );
        assert_eq!(
            err("a: &a {x: 1}\nweb:\n  <<: [*a, [1]]\n"),
            "compose.yaml:3:12: web.<<[1]: the merge key `<<` takes a mapping or a list of mappings, found a list in the list"
        );
        assert_eq!(
            err("a: &a {x: 1}\nb:\n  <<: *a\n  <<: *a\n"),
            "compose.yaml:4:3: b: duplicate key `<<` (first defined at 3:3)"
        );
    }

    #[test]
    fn parser_errors_keep_saphyr_positions() {
        assert_eq!(
            err("a: \"x\n"),
            "compose.yaml:1:4: a: invalid YAML: while scanning a quoted scalar, found unexpected end of stream"
        );
        assert_eq!(
            err("a:\n\tb: 1\n"),
            "compose.yaml:2:2: a: invalid YAML: tabs disallowed within this context (block indentation); indent with spaces, not tabs"
        );
        assert_eq!(
            err("a: b: c\n"),
            "compose.yaml:1:5: invalid YAML: mapping values are not allowed in this context; a value that contains `: ` must be quoted"
        );
        assert_eq!(
            err("a:\n  b: 1\n c: 2\n"),
            "compose.yaml:3:2: invalid YAML: while parsing a block mapping, did not find expected key"
        );
    }

    #[test]
    fn each_document_is_one_node() {
        let docs = parse("a: 1\n---\nb: 2\n---\n", &file()).unwrap();
        assert_eq!(docs.len(), 3);
        assert_eq!(docs[0].get("a").map(|n| &n.value), Some(&Value::Int(1)));
        assert_eq!(docs[1].get("b").map(|n| &n.value), Some(&Value::Int(2)));
        assert_eq!((&docs[2].value, pos(&docs[2])), (&Value::Null, (5, 1)));
    }
}
