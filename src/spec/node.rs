//! The position-carrying YAML tree every compose file is read into.
//!
//! Deserializing straight into structs loses source positions, so every later stage
//! (interpolation, merging, schema validation, conversion to the typed model) works on
//! this tree, and any problem found can point at `file:line:col`.

use indexmap::IndexMap;
use std::fmt;
use std::sync::Arc;

/// Where a node starts in its source file (1-based line and column).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Span {
    pub file: Arc<str>,
    pub line: u32,
    pub col: u32,
}

impl Span {
    pub fn new(file: Arc<str>, line: u32, col: u32) -> Self {
        Span { file, line, col }
    }

    /// A span for values that come from no file (command line, environment, defaults).
    pub fn synthetic(what: &str) -> Self {
        Span {
            file: Arc::from(what),
            line: 0,
            col: 0,
        }
    }
}

impl fmt::Display for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}", self.file)
        } else {
            write!(f, "{}:{}:{}", self.file, self.line, self.col)
        }
    }
}

/// The YAML tags compose gives a meaning to in merges.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tag {
    /// `!reset`: the value is removed (or emptied) when merged over an earlier file.
    Reset,
    /// `!override`: the value replaces the earlier one instead of being merged with it.
    Override,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    String(String),
    Seq(Vec<Node>),
    Map(Mapping),
}

/// A mapping keeps its keys in source order; keys are strings (YAML scalar keys are
/// converted to their text, e.g. `80: x` has key `"80"`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Mapping {
    pub entries: IndexMap<String, Entry>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    pub key_span: Span,
    pub value: Node,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    pub value: Value,
    pub span: Span,
    pub tag: Option<Tag>,
    /// The scalar was written quoted (`"3"`, `'x'`) or as a block scalar. (Interpolation
    /// never re-types: a string stays a string, and normalization parses numbers.)
    pub quoted: bool,
}

impl Node {
    pub fn new(value: Value, span: Span) -> Self {
        Node {
            value,
            span,
            tag: None,
            quoted: false,
        }
    }

    pub fn get(&self, key: &str) -> Option<&Node> {
        match &self.value {
            Value::Map(m) => m.entries.get(key).map(|e| &e.value),
            _ => None,
        }
    }

    pub fn get_mut(&mut self, key: &str) -> Option<&mut Node> {
        match &mut self.value {
            Value::Map(m) => m.entries.get_mut(key).map(|e| &mut e.value),
            _ => None,
        }
    }

    pub fn as_map(&self) -> Option<&Mapping> {
        match &self.value {
            Value::Map(m) => Some(m),
            _ => None,
        }
    }

    pub fn as_map_mut(&mut self) -> Option<&mut Mapping> {
        match &mut self.value {
            Value::Map(m) => Some(m),
            _ => None,
        }
    }

    pub fn as_seq(&self) -> Option<&[Node]> {
        match &self.value {
            Value::Seq(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self.value, Value::Null)
    }

    /// The text of a scalar as YAML wrote it (numbers and booleans in their canonical
    /// form), `None` for sequences and mappings.
    pub fn scalar_text(&self) -> Option<String> {
        match &self.value {
            Value::Null => Some(String::new()),
            Value::Bool(b) => Some(b.to_string()),
            Value::Int(i) => Some(i.to_string()),
            Value::Float(x) => Some(format_float(*x)),
            Value::String(s) => Some(s.clone()),
            Value::Seq(_) | Value::Map(_) => None,
        }
    }

    /// "a string", "a mapping", … for messages.
    pub fn kind_name(&self) -> &'static str {
        self.value.kind_name()
    }

    /// The node at a key path, if it exists.
    pub fn at(&self, path: &KeyPath) -> Option<&Node> {
        let mut node = self;
        for seg in &path.0 {
            node = match (seg, &node.value) {
                (PathSeg::Key(k), Value::Map(m)) => &m.entries.get(k.as_str())?.value,
                (PathSeg::Index(i), Value::Seq(s)) => s.get(*i)?,
                _ => return None,
            };
        }
        Some(node)
    }

    /// The node at a borrowed key path, if it exists. (Recursion is as deep as the path,
    /// which the walk that made it bounds.)
    pub fn at_path(&self, path: PathRef<'_>) -> Option<&Node> {
        match path {
            PathRef::Base(base) => self.at(base),
            PathRef::Key(parent, key) => self.at_path(*parent)?.get(key),
            PathRef::Index(parent, i) => self.at_path(*parent)?.as_seq()?.get(i),
        }
    }

    /// The span that best locates a key path: the node itself, else the deepest existing
    /// ancestor (e.g. a missing key is reported at its parent mapping).
    pub fn locate(&self, path: &KeyPath) -> Span {
        let mut node = self;
        for seg in &path.0 {
            let next = match (seg, &node.value) {
                (PathSeg::Key(k), Value::Map(m)) => m.entries.get(k.as_str()).map(|e| &e.value),
                (PathSeg::Index(i), Value::Seq(s)) => s.get(*i),
                _ => None,
            };
            match next {
                Some(n) => node = n,
                None => break,
            }
        }
        node.span.clone()
    }

    /// Converts to a plain JSON value (for extension fields and free-form options).
    pub fn to_json(&self) -> serde_json::Value {
        match &self.value {
            Value::Null => serde_json::Value::Null,
            Value::Bool(b) => serde_json::Value::Bool(*b),
            Value::Int(i) => serde_json::Value::from(*i),
            Value::Float(x) => serde_json::Number::from_f64(*x)
                .map(serde_json::Value::Number)
                .unwrap_or_else(|| serde_json::Value::String(format_float(*x))),
            Value::String(s) => serde_json::Value::String(s.clone()),
            Value::Seq(s) => serde_json::Value::Array(s.iter().map(Node::to_json).collect()),
            Value::Map(m) => serde_json::Value::Object(
                m.entries
                    .iter()
                    .map(|(k, e)| (k.clone(), e.value.to_json()))
                    .collect(),
            ),
        }
    }
}

impl Value {
    pub fn kind_name(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Int(_) => "an integer",
            Value::Float(_) => "a number",
            Value::String(_) => "a string",
            Value::Seq(_) => "a list",
            Value::Map(_) => "a mapping",
        }
    }
}

/// The type of a plain (unquoted) scalar, by the YAML 1.2 core schema as compose reads it:
/// `null`/`~`/empty, `true`/`false` (any case form YAML allows), integers (decimal, `0x`,
/// `0o`, and YAML 1.1's leading-zero octal `0440` as compose's reader takes it), floats
/// (`1.5`, `1e3`, `.inf`, `.nan`); anything else is a string.
pub fn resolve_plain_scalar(text: &str) -> Value {
    typed_plain_scalar(text).unwrap_or_else(|| Value::String(text.to_string()))
}

/// What [`resolve_plain_scalar`] gives, except `None` for a string (so that a caller
/// holding the text as a `String` can keep it).
pub fn typed_plain_scalar(text: &str) -> Option<Value> {
    let value = match text {
        "" | "~" | "null" | "Null" | "NULL" => Some(Value::Null),
        "true" | "True" | "TRUE" => Some(Value::Bool(true)),
        "false" | "False" | "FALSE" => Some(Value::Bool(false)),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => Some(Value::Float(f64::INFINITY)),
        "-.inf" | "-.Inf" | "-.INF" => Some(Value::Float(f64::NEG_INFINITY)),
        ".nan" | ".NaN" | ".NAN" => Some(Value::Float(f64::NAN)),
        _ => None,
    };
    if value.is_some() {
        return value;
    }
    let bytes = text.as_bytes();
    let digits = |s: &str, radix: u32| !s.is_empty() && s.chars().all(|c| c.is_digit(radix));
    if let Some(hex) = text.strip_prefix("0x") {
        if digits(hex, 16) {
            if let Ok(i) = i64::from_str_radix(hex, 16) {
                return Some(Value::Int(i));
            }
        }
        return None;
    }
    if let Some(oct) = text.strip_prefix("0o") {
        if digits(oct, 8) {
            if let Ok(i) = i64::from_str_radix(oct, 8) {
                return Some(Value::Int(i));
            }
        }
        return None;
    }
    // YAML 1.1's octal form, which compose's YAML reader (yaml.v3) still takes:
    // `mode: 0440` is 288.
    if let Some(oct) = text.strip_prefix('0') {
        if digits(oct, 8) {
            if let Ok(i) = i64::from_str_radix(oct, 8) {
                return Some(Value::Int(i));
            }
        }
    }
    let unsigned = text.strip_prefix(['-', '+']).unwrap_or(text);
    if digits(unsigned, 10) {
        return text.parse::<i64>().ok().map(Value::Int);
    }
    // Core schema float: [-+]? ( \. [0-9]+ | [0-9]+ ( \. [0-9]* )? ) ( [eE] [-+]? [0-9]+ )?
    let is_float = {
        let (mantissa, exp) = match unsigned.find(['e', 'E']) {
            Some(i) => (&unsigned[..i], Some(&unsigned[i + 1..])),
            None => (unsigned, None),
        };
        let mantissa_ok = match mantissa.split_once('.') {
            Some((a, b)) => {
                (a.is_empty() || digits(a, 10))
                    && (b.is_empty() || digits(b, 10))
                    && !(a.is_empty() && b.is_empty())
            }
            None => digits(mantissa, 10),
        };
        let exp_ok = exp.is_none_or(|e| digits(e.strip_prefix(['-', '+']).unwrap_or(e), 10));
        mantissa_ok && exp_ok && bytes.iter().any(|b| b.is_ascii_digit())
    };
    if is_float {
        if let Ok(x) = text.parse::<f64>() {
            return Some(Value::Float(x));
        }
    }
    None
}

/// Formats a float the way YAML reads it back (`1.5`, `2.0`, `.inf`).
pub fn format_float(x: f64) -> String {
    if x.is_nan() {
        ".nan".into()
    } else if x.is_infinite() {
        if x > 0.0 {
            ".inf".into()
        } else {
            "-.inf".into()
        }
    } else if x.fract() == 0.0 && x.abs() < 1e15 {
        format!("{x:.1}")
    } else {
        x.to_string()
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PathSeg {
    Key(String),
    Index(usize),
}

/// A key path such as `services.web.ports[0]`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyPath(pub Vec<PathSeg>);

impl KeyPath {
    pub fn root() -> Self {
        KeyPath(Vec::new())
    }

    pub fn key(&self, k: impl Into<String>) -> Self {
        let mut p = self.clone();
        p.0.push(PathSeg::Key(k.into()));
        p
    }

    pub fn index(&self, i: usize) -> Self {
        let mut p = self.clone();
        p.0.push(PathSeg::Index(i));
        p
    }

    /// Parses `services.web.ports[0]` (keys may not contain `.` or `[` this way; use
    /// [`KeyPath::key`] for those).
    pub fn parse(s: &str) -> Self {
        let mut p = KeyPath::root();
        for part in s.split('.').filter(|x| !x.is_empty()) {
            let (name, rest) = match part.find('[') {
                Some(i) => (&part[..i], &part[i..]),
                None => (part, ""),
            };
            if !name.is_empty() {
                p.0.push(PathSeg::Key(name.to_string()));
            }
            for idx in rest.split('[').filter(|x| !x.is_empty()) {
                if let Ok(i) = idx.trim_end_matches(']').parse() {
                    p.0.push(PathSeg::Index(i));
                }
            }
        }
        p
    }
}

/// A key path during a walk of the tree: one segment on top of its parent's path, both
/// borrowed, so going one level deeper costs nothing. The owned [`KeyPath`] a
/// diagnostic holds is made by [`PathRef::to_key_path`] only when one is reported.
#[derive(Clone, Copy, Debug)]
pub enum PathRef<'a> {
    /// Where the walk starts (often the document itself).
    Base(&'a KeyPath),
    /// The value of a mapping key below a path.
    Key(&'a PathRef<'a>, &'a str),
    /// An item of a list below a path.
    Index(&'a PathRef<'a>, usize),
}

impl<'a> PathRef<'a> {
    /// The path of the value of `key` below this one.
    pub fn key(&'a self, key: &'a str) -> PathRef<'a> {
        PathRef::Key(self, key)
    }

    /// The path of item `i` below this one.
    pub fn index(&'a self, i: usize) -> PathRef<'a> {
        PathRef::Index(self, i)
    }

    /// The last segment's key, if the last segment is a key.
    pub fn last_key(&self) -> Option<&'a str> {
        match *self {
            PathRef::Base(base) => match base.0.last() {
                Some(PathSeg::Key(k)) => Some(k),
                _ => None,
            },
            PathRef::Key(_, k) => Some(k),
            PathRef::Index(..) => None,
        }
    }

    /// The owned path.
    pub fn to_key_path(&self) -> KeyPath {
        let mut below = Vec::new();
        let mut at = self;
        let base = loop {
            match at {
                PathRef::Base(base) => break *base,
                PathRef::Key(parent, k) => {
                    below.push(PathSeg::Key((*k).to_string()));
                    at = parent;
                }
                PathRef::Index(parent, i) => {
                    below.push(PathSeg::Index(*i));
                    at = parent;
                }
            }
        };
        let mut segs = Vec::with_capacity(base.0.len() + below.len());
        segs.extend(base.0.iter().cloned());
        segs.extend(below.into_iter().rev());
        KeyPath(segs)
    }
}

impl fmt::Display for KeyPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for seg in &self.0 {
            match seg {
                PathSeg::Key(k) => {
                    if !first {
                        f.write_str(".")?;
                    }
                    f.write_str(k)?;
                }
                PathSeg::Index(i) => write!(f, "[{i}]")?,
            }
            first = false;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_path_round_trips() {
        let p = KeyPath::root()
            .key("services")
            .key("web")
            .key("ports")
            .index(0);
        assert_eq!(p.to_string(), "services.web.ports[0]");
        assert_eq!(KeyPath::parse("services.web.ports[0]"), p);
    }

    #[test]
    fn plain_scalars_take_core_schema_types() {
        assert_eq!(resolve_plain_scalar(""), Value::Null);
        assert_eq!(resolve_plain_scalar("~"), Value::Null);
        assert_eq!(resolve_plain_scalar("True"), Value::Bool(true));
        assert_eq!(resolve_plain_scalar("yes"), Value::String("yes".into()));
        assert_eq!(resolve_plain_scalar("8080"), Value::Int(8080));
        assert_eq!(resolve_plain_scalar("-3"), Value::Int(-3));
        assert_eq!(resolve_plain_scalar("0x1F"), Value::Int(31));
        assert_eq!(resolve_plain_scalar("0o17"), Value::Int(15));
        assert_eq!(resolve_plain_scalar("0440"), Value::Int(288));
        assert_eq!(resolve_plain_scalar("0"), Value::Int(0));
        assert_eq!(resolve_plain_scalar("089"), Value::Int(89));
        assert_eq!(resolve_plain_scalar("1.5"), Value::Float(1.5));
        assert_eq!(resolve_plain_scalar("1e3"), Value::Float(1000.0));
        assert_eq!(resolve_plain_scalar("80:80"), Value::String("80:80".into()));
        assert_eq!(resolve_plain_scalar("1.2.3"), Value::String("1.2.3".into()));
        assert_eq!(resolve_plain_scalar("."), Value::String(".".into()));
        assert_eq!(
            resolve_plain_scalar("99999999999999999999"),
            Value::String("99999999999999999999".into())
        );
    }

    #[test]
    fn floats_format_as_yaml_reads_them() {
        assert_eq!(format_float(2.0), "2.0");
        assert_eq!(format_float(0.5), "0.5");
        assert_eq!(format_float(f64::INFINITY), ".inf");
    }
}
