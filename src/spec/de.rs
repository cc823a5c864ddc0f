//! A serde `Deserializer` over the position-carrying tree, so typed structs are built from
//! a [`Node`] and any error points at the node (file:line:col and key path) it came from.
//!
//! The mapping of the tree onto serde's data model:
//! - `deserialize_any` follows the node: null -> unit, booleans, `i64`, `f64`, strings,
//!   lists -> sequences, mappings -> maps with string keys (so `#[serde(untagged)]` enums
//!   and `serde_json::Value` work).
//! - Integer targets take integers (and floats with no fraction) in their range, else
//!   "expected an integer between 0 and 65535, found 70000". Mapping keys are text and are
//!   parsed when a number or boolean is asked for (`BTreeMap<u16, _>`).
//! - String targets also take booleans and numbers, as their YAML text (`WORKERS: 4`).
//! - `Option`: null -> `None`. A struct takes a mapping, or null as an empty mapping (a
//!   resource written as `db:` with all defaults).
//! - Enums: a string is a unit variant; a mapping of one key is `variant: content`.
//! - `x-` keys are extension fields, skipped, except in mappings whose keys are data
//!   (names and variables: the mapping under `environment`, `labels`, `services`, …; see
//!   [`DATA_KEYS`]). Structs always skip them. Untagged enums read through
//!   `deserialize_any`, so the skipping is decided there by the mapping's key path.

use super::diag::{suggest, Diagnostic};
use super::node::{format_float, Entry, KeyPath, Mapping, Node, PathRef, Span, Value};
use super::schema::unknown_key_message;
use serde::de::{
    self, DeserializeOwned, DeserializeSeed, Expected, IntoDeserializer, Unexpected, Visitor,
};
use std::fmt;

/// Builds a `T` from `node`, which sits at `path` in its document.
pub fn from_node<T: DeserializeOwned>(node: &Node, path: &KeyPath) -> Result<T, Diagnostic> {
    T::deserialize(NodeDeserializer::new(node, PathRef::Base(path), 0)).map_err(|e| {
        let Error { message, at } = e.located(&node.span, PathRef::Base(path));
        let (span, path) = at.unwrap_or_else(|| (node.span.clone(), path.clone()));
        Diagnostic::error(Some(span), path, message)
    })
}

/// A deserialization error, with the node it arose at once known.
#[derive(Debug)]
struct Error {
    message: String,
    at: Option<(Span, KeyPath)>,
}

impl Error {
    fn new(message: impl Into<String>) -> Self {
        Error {
            message: message.into(),
            at: None,
        }
    }

    /// Places an error that has no place yet: the innermost node being deserialized when
    /// it arose is the first to call this on its way out.
    fn located(mut self, span: &Span, path: PathRef<'_>) -> Self {
        if self.at.is_none() {
            self.at = Some((span.clone(), path.to_key_path()));
        }
        self
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

impl de::Error for Error {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        Error::new(msg.to_string())
    }

    fn invalid_type(unexp: Unexpected<'_>, exp: &dyn Expected) -> Self {
        Error::new(format!("expected {exp}, found {}", found(&unexp)))
    }

    fn invalid_value(unexp: Unexpected<'_>, exp: &dyn Expected) -> Self {
        Error::new(format!("expected {exp}, found {}", found(&unexp)))
    }

    fn invalid_length(len: usize, exp: &dyn Expected) -> Self {
        let items = if len == 1 { "item" } else { "items" };
        Error::new(format!("expected {exp}, found {len} {items}"))
    }

    fn unknown_variant(variant: &str, expected: &'static [&'static str]) -> Self {
        let message = if let Some(close) = suggest(variant, expected.iter().copied()) {
            format!("unknown variant `{variant}`; did you mean `{close}`?")
        } else {
            let list: Vec<String> = expected.iter().map(|v| format!("`{v}`")).collect();
            format!(
                "unknown variant `{variant}`; expected one of {}",
                list.join(", ")
            )
        };
        Error::new(message)
    }

    fn unknown_field(field: &str, expected: &'static [&'static str]) -> Self {
        Error::new(unknown_key_message(field, expected))
    }

    fn missing_field(field: &'static str) -> Self {
        Error::new(format!("missing required key `{field}`"))
    }

    fn duplicate_field(field: &'static str) -> Self {
        Error::new(format!("duplicate key `{field}`"))
    }
}

/// What was found, for "expected X, found Y": values by their text, collections by kind.
fn found(unexp: &Unexpected<'_>) -> String {
    match unexp {
        Unexpected::Bool(b) => format!("`{b}`"),
        Unexpected::Signed(i) => i.to_string(),
        Unexpected::Unsigned(u) => u.to_string(),
        Unexpected::Float(x) => format_float(*x),
        Unexpected::Char(c) => format!("`{c}`"),
        Unexpected::Str(s) => format!("`{s}`"),
        Unexpected::Unit => "null".to_string(),
        Unexpected::Seq => "a list".to_string(),
        Unexpected::Map => "a mapping".to_string(),
        other => other.to_string(),
    }
}

/// "an integer between 0 and 65535" for an integer type.
fn integer_range<T: fmt::Display>(min: T, max: T) -> String {
    format!("an integer between {min} and {max}")
}

/// The integer methods of a deserializer whose `integer()` gives its value, if integral.
macro_rules! deserialize_integers {
    ($($method:ident => $ty:ty, $visit:ident;)*) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
            match self.integer().map(<$ty>::try_from) {
                Some(Ok(v)) => visitor.$visit(v),
                _ => Err(de::Error::invalid_value(
                    self.unexpected(),
                    &integer_range(<$ty>::MIN, <$ty>::MAX).as_str(),
                )),
            }
        }
    )*};
}

/// How many mappings and lists deep a document may nest below the node deserialized
/// (deeper input is refused rather than recursed into without bound).
const MAX_DEPTH: usize = 128;

/// Deserializes one node, which is at `path`, `depth` levels below the starting node.
/// Keys under which every key of the mapping is data (names, variables, options), so
/// an `x-` key there is not an extension field.
pub const DATA_KEYS: &[&str] = &[
    "environment",
    "labels",
    "annotations",
    "sysctls",
    "driver_opts",
    "options",
    "args",
    "extra_hosts",
    "storage_opt",
    "additional_contexts",
    "aux_addresses",
    "ulimits",
    "services",
    "networks",
    "volumes",
    "secrets",
    "configs",
    "models",
    "depends_on",
];

/// Whether the mapping at `path` holds data keys (see [`DATA_KEYS`]).
fn holds_data(path: PathRef<'_>) -> bool {
    path.last_key().is_some_and(|k| DATA_KEYS.contains(&k))
}

struct NodeDeserializer<'a, 'p> {
    node: &'a Node,
    path: PathRef<'p>,
    depth: usize,
}

impl<'a, 'p> NodeDeserializer<'a, 'p> {
    fn new(node: &'a Node, path: PathRef<'p>, depth: usize) -> Self {
        NodeDeserializer { node, path, depth }
    }

    /// Refuses to descend into a collection beyond [`MAX_DEPTH`].
    fn check_depth(&self) -> Result<(), Error> {
        if self.depth >= MAX_DEPTH {
            return Err(Error::new(format!(
                "nested more than {MAX_DEPTH} levels deep"
            )));
        }
        Ok(())
    }

    /// Runs `seed` on this node and places any error that has no place yet here.
    fn deserialize_seed<'de, S: DeserializeSeed<'de>>(self, seed: S) -> Result<S::Value, Error> {
        let (span, path) = (&self.node.span, self.path);
        seed.deserialize(self).map_err(|e| e.located(span, path))
    }

    /// The value as an integer: integers, and floats with no fraction.
    fn integer(&self) -> Option<i128> {
        match self.node.value {
            Value::Int(i) => Some(i128::from(i)),
            // Within ±2^63 a float converts exactly to an integer.
            Value::Float(x) if x.fract() == 0.0 && x.abs() < 9.3e18 => Some(x as i128),
            _ => None,
        }
    }

    fn unexpected(&self) -> Unexpected<'a> {
        match &self.node.value {
            Value::Null => Unexpected::Unit,
            Value::Bool(b) => Unexpected::Bool(*b),
            Value::Int(i) => Unexpected::Signed(*i),
            Value::Float(x) => Unexpected::Float(*x),
            Value::String(s) => Unexpected::Str(s),
            Value::Seq(_) => Unexpected::Seq,
            Value::Map(_) => Unexpected::Map,
        }
    }

    fn visit_seq<'de, V: Visitor<'de>>(
        self,
        items: &'a [Node],
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.check_depth()?;
        let mut seq = SeqAccess {
            items: items.iter().enumerate(),
            path: self.path,
            depth: self.depth + 1,
        };
        let value = visitor.visit_seq(&mut seq)?;
        match seq.items.len() {
            0 => Ok(value),
            left => Err(Error::new(format!(
                "expected {} items, found {}",
                items.len() - left,
                items.len()
            ))),
        }
    }

    fn visit_map<'de, V: Visitor<'de>>(
        self,
        mapping: &'a Mapping,
        skip_extensions: bool,
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.check_depth()?;
        visitor.visit_map(MapAccess {
            entries: mapping.entries.iter(),
            path: self.path,
            depth: self.depth + 1,
            pending: None,
            skip_extensions,
        })
    }
}

impl<'de> de::Deserializer<'de> for NodeDeserializer<'_, '_> {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match &self.node.value {
            Value::Null => visitor.visit_unit(),
            Value::Bool(b) => visitor.visit_bool(*b),
            Value::Int(i) => visitor.visit_i64(*i),
            Value::Float(x) => visitor.visit_f64(*x),
            Value::String(s) => visitor.visit_str(s),
            Value::Seq(items) => self.visit_seq(items, visitor),
            Value::Map(mapping) => {
                let skip = !holds_data(self.path);
                self.visit_map(mapping, skip, visitor)
            }
        }
    }

    deserialize_integers! {
        deserialize_i8 => i8, visit_i8;
        deserialize_i16 => i16, visit_i16;
        deserialize_i32 => i32, visit_i32;
        deserialize_i64 => i64, visit_i64;
        deserialize_u8 => u8, visit_u8;
        deserialize_u16 => u16, visit_u16;
        deserialize_u32 => u32, visit_u32;
        deserialize_u64 => u64, visit_u64;
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_string(visitor)
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match &self.node.value {
            Value::Bool(_) | Value::Int(_) | Value::Float(_) => {
                visitor.visit_string(self.node.scalar_text().unwrap_or_default())
            }
            _ => self.deserialize_any(visitor),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.node.value {
            Value::Null => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        static EMPTY: std::sync::OnceLock<Mapping> = std::sync::OnceLock::new();
        match &self.node.value {
            Value::Map(mapping) => self.visit_map(mapping, true, visitor),
            Value::Null => self.visit_map(EMPTY.get_or_init(Mapping::default), true, visitor),
            _ => Err(de::Error::invalid_type(self.unexpected(), &"a mapping")),
        }
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        match &self.node.value {
            Value::String(name) => visitor.visit_enum(UnitVariant { name }),
            Value::Map(mapping) if mapping.entries.len() == 1 => {
                self.check_depth()?;
                match mapping.entries.iter().next() {
                    Some((key, entry)) => visitor.visit_enum(MapVariant {
                        key,
                        entry,
                        parent: self.path,
                        depth: self.depth + 1,
                    }),
                    None => Err(Error::new("expected a mapping with one key")),
                }
            }
            Value::Map(mapping) => Err(Error::new(format!(
                "expected a string or a mapping with a single key, found a mapping with {} keys",
                mapping.entries.len()
            ))),
            _ => Err(de::Error::invalid_type(
                self.unexpected(),
                &"a string or a mapping with a single key",
            )),
        }
    }

    serde::forward_to_deserialize_any! {
        bool f32 f64 char bytes byte_buf unit unit_struct seq tuple tuple_struct map
        identifier ignored_any
    }
}

struct SeqAccess<'a, 'p> {
    items: std::iter::Enumerate<std::slice::Iter<'a, Node>>,
    path: PathRef<'p>,
    /// The depth of the items.
    depth: usize,
}

impl<'de> de::SeqAccess<'de> for SeqAccess<'_, '_> {
    type Error = Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, Error> {
        match self.items.next() {
            Some((i, item)) => NodeDeserializer::new(item, self.path.index(i), self.depth)
                .deserialize_seed(seed)
                .map(Some),
            None => Ok(None),
        }
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.items.len())
    }
}

struct MapAccess<'a, 'p> {
    entries: indexmap::map::Iter<'a, String, Entry>,
    path: PathRef<'p>,
    /// The depth of the values.
    depth: usize,
    /// The entry whose key was just read, with its key.
    pending: Option<(&'a str, &'a Entry)>,
    /// Leave out `x-` keys (for structs).
    skip_extensions: bool,
}

impl<'de> de::MapAccess<'de> for MapAccess<'_, '_> {
    type Error = Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Error> {
        let Some((key, entry)) = self
            .entries
            .by_ref()
            .find(|(key, _)| !(self.skip_extensions && key.starts_with("x-")))
        else {
            return Ok(None);
        };
        let value = seed
            .deserialize(KeyDeserializer { key })
            .map_err(|e| e.located(&entry.key_span, self.path.key(key)))?;
        self.pending = Some((key, entry));
        Ok(Some(value))
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Error> {
        match self.pending.take() {
            Some((key, entry)) => {
                NodeDeserializer::new(&entry.value, self.path.key(key), self.depth)
                    .deserialize_seed(seed)
            }
            None => Err(Error::new("a mapping value was asked for before its key")),
        }
    }

    fn size_hint(&self) -> Option<usize> {
        (!self.skip_extensions).then(|| self.entries.len())
    }
}

/// Deserializes a mapping key (always text; parsed when a number or boolean is asked for).
struct KeyDeserializer<'a> {
    key: &'a str,
}

impl<'a> KeyDeserializer<'a> {
    fn integer(&self) -> Option<i128> {
        self.key.parse().ok()
    }

    fn unexpected(&self) -> Unexpected<'a> {
        Unexpected::Str(self.key)
    }
}

impl<'de> de::Deserializer<'de> for KeyDeserializer<'_> {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_str(self.key)
    }

    deserialize_integers! {
        deserialize_i8 => i8, visit_i8;
        deserialize_i16 => i16, visit_i16;
        deserialize_i32 => i32, visit_i32;
        deserialize_i64 => i64, visit_i64;
        deserialize_u8 => u8, visit_u8;
        deserialize_u16 => u16, visit_u16;
        deserialize_u32 => u32, visit_u32;
        deserialize_u64 => u64, visit_u64;
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.key.parse() {
            Ok(b) => visitor.visit_bool(b),
            Err(_) => self.deserialize_any(visitor),
        }
    }

    fn deserialize_f64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.key.parse() {
            Ok(x) => visitor.visit_f64(x),
            Err(_) => self.deserialize_any(visitor),
        }
    }

    fn deserialize_f32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_f64(visitor)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_some(self)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        visitor.visit_enum(UnitVariant { name: self.key })
    }

    serde::forward_to_deserialize_any! {
        char str string bytes byte_buf unit unit_struct seq tuple tuple_struct map struct
        identifier ignored_any
    }
}

/// An enum written as a string: a unit variant.
struct UnitVariant<'a> {
    name: &'a str,
}

impl<'de> de::EnumAccess<'de> for UnitVariant<'_> {
    type Error = Error;
    type Variant = Self;

    fn variant_seed<S: DeserializeSeed<'de>>(self, seed: S) -> Result<(S::Value, Self), Error> {
        let variant = seed.deserialize(self.name.into_deserializer())?;
        Ok((variant, self))
    }
}

impl<'de> de::VariantAccess<'de> for UnitVariant<'_> {
    type Error = Error;

    fn unit_variant(self) -> Result<(), Error> {
        Ok(())
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, _seed: T) -> Result<T::Value, Error> {
        Err(self.needs_content())
    }

    fn tuple_variant<V: Visitor<'de>>(self, _len: usize, _visitor: V) -> Result<V::Value, Error> {
        Err(self.needs_content())
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        _fields: &'static [&'static str],
        _visitor: V,
    ) -> Result<V::Value, Error> {
        Err(self.needs_content())
    }
}

impl UnitVariant<'_> {
    fn needs_content(&self) -> Error {
        let name = self.name;
        Error::new(format!(
            "`{name}` needs a value: write it as a mapping `{name}: ...`"
        ))
    }
}

/// An enum written as a mapping of one key: `variant: content`.
struct MapVariant<'a, 'p> {
    key: &'a str,
    entry: &'a Entry,
    /// The path of the mapping.
    parent: PathRef<'p>,
    /// The depth of the content.
    depth: usize,
}

impl<'de> de::EnumAccess<'de> for MapVariant<'_, '_> {
    type Error = Error;
    type Variant = Self;

    fn variant_seed<S: DeserializeSeed<'de>>(self, seed: S) -> Result<(S::Value, Self), Error> {
        let variant = seed
            .deserialize(KeyDeserializer { key: self.key })
            .map_err(|e| e.located(&self.entry.key_span, self.parent.key(self.key)))?;
        Ok((variant, self))
    }
}

impl<'de> de::VariantAccess<'de> for MapVariant<'_, '_> {
    type Error = Error;

    fn unit_variant(self) -> Result<(), Error> {
        let content =
            NodeDeserializer::new(&self.entry.value, self.parent.key(self.key), self.depth);
        match content.node.value {
            Value::Null => Ok(()),
            _ => Err(
                <Error as de::Error>::invalid_type(content.unexpected(), &"null")
                    .located(&content.node.span, content.path),
            ),
        }
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value, Error> {
        NodeDeserializer::new(&self.entry.value, self.parent.key(self.key), self.depth)
            .deserialize_seed(seed)
    }

    fn tuple_variant<V: Visitor<'de>>(self, _len: usize, visitor: V) -> Result<V::Value, Error> {
        let path = self.parent.key(self.key);
        let content = NodeDeserializer::new(&self.entry.value, path, self.depth);
        de::Deserializer::deserialize_seq(content, visitor)
            .map_err(|e| e.located(&self.entry.value.span, path))
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        let path = self.parent.key(self.key);
        let content = NodeDeserializer::new(&self.entry.value, path, self.depth);
        de::Deserializer::deserialize_struct(content, "", fields, visitor)
            .map_err(|e| e.located(&self.entry.value.span, path))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::schema::testing::{key_span, node_span, yaml};
    use indexmap::IndexMap;
    use serde::Deserialize;
    use serde_json::json;
    use std::collections::BTreeMap;
    use std::sync::Arc;

    fn parse<T: DeserializeOwned>(text: &str) -> Result<T, Diagnostic> {
        from_node(&yaml(text), &KeyPath::root())
    }

    /// (span, path, message) of an error, for exact comparison.
    fn failure<T: DeserializeOwned + fmt::Debug>(text: &str) -> (Span, String, String) {
        match parse::<T>(text) {
            Ok(value) => panic!("expected an error, got {value:?}"),
            Err(d) => {
                assert!(d.is_error());
                let span = d.span.unwrap_or_else(|| Span::synthetic("none"));
                (span, d.path.to_string(), d.message)
            }
        }
    }

    fn at(path: &str, message: &str) -> (Span, String, String) {
        (node_span(path), path.to_string(), message.to_string())
    }

    fn at_key(path: &str, message: &str) -> (Span, String, String) {
        (key_span(path), path.to_string(), message.to_string())
    }

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(rename_all = "snake_case", deny_unknown_fields)]
    struct Service {
        image: Option<String>,
        #[serde(default)]
        ports: Vec<u16>,
        #[serde(default)]
        labels: BTreeMap<String, String>,
        #[serde(default)]
        sysctls: IndexMap<String, serde_json::Value>,
        restart: Option<Restart>,
        healthcheck: Option<Healthcheck>,
        stop_grace_period: Option<f64>,
        read_only: Option<bool>,
        #[serde(default)]
        extras: serde_json::Value,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(rename_all = "kebab-case")]
    enum Restart {
        No,
        Always,
        UnlessStopped,
        OnFailure(u32),
    }

    #[derive(Debug, Default, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Healthcheck {
        #[serde(default)]
        retries: u8,
        disable: Option<bool>,
    }

    #[test]
    fn builds_structs_with_options_defaults_and_collections() {
        let service: Service = parse(
            "image: nginx\nports: [80, 443.0]\nlabels: {tier: front, weight: 3, on: true}\nsysctls: {b: 1, a: [x], x-kept: null}\nrestart: unless-stopped\nhealthcheck:\nstop_grace_period: 10\nx-note: skipped\nextras: {k: [1, 2.5, ~]}\n",
        )
        .unwrap();
        let mut sysctls = IndexMap::new();
        sysctls.insert("b".to_string(), json!(1));
        sysctls.insert("a".to_string(), json!(["x"]));
        sysctls.insert("x-kept".to_string(), json!(null));
        assert_eq!(
            service,
            Service {
                image: Some("nginx".into()),
                ports: vec![80, 443],
                labels: BTreeMap::from([
                    ("on".to_string(), "true".to_string()),
                    ("tier".to_string(), "front".to_string()),
                    ("weight".to_string(), "3".to_string()),
                ]),
                sysctls,
                restart: Some(Restart::UnlessStopped),
                healthcheck: None,
                stop_grace_period: Some(10.0),
                read_only: None,
                extras: json!({"k": [1, 2.5, null]}),
            }
        );
        let keys: Vec<&String> = service.sysctls.keys().collect();
        assert_eq!(keys, ["b", "a", "x-kept"]);
    }

    #[test]
    fn integers_out_of_range_name_the_range() {
        assert_eq!(
            failure::<Service>("ports: [80, 70000]"),
            at(
                "ports[1]",
                "expected an integer between 0 and 65535, found 70000"
            )
        );
        assert_eq!(
            failure::<Service>("ports: [-1]"),
            at(
                "ports[0]",
                "expected an integer between 0 and 65535, found -1"
            )
        );
        assert_eq!(
            failure::<Service>("ports: [8.5]"),
            at(
                "ports[0]",
                "expected an integer between 0 and 65535, found 8.5"
            )
        );
        assert_eq!(
            failure::<Service>("healthcheck: {retries: '3'}"),
            at(
                "healthcheck.retries",
                "expected an integer between 0 and 255, found `3`"
            )
        );
        assert_eq!(
            parse::<u64>("9223372036854775807").unwrap(),
            i64::MAX as u64
        );
        assert_eq!(parse::<i8>("-128").unwrap(), -128);
    }

    #[test]
    fn wrong_types_say_what_was_expected() {
        assert_eq!(
            failure::<Service>("read_only: yes"),
            at("read_only", "expected a boolean, found `yes`")
        );
        assert_eq!(
            failure::<Service>("healthcheck: [1]"),
            at("healthcheck", "expected a mapping, found a list")
        );
        assert_eq!(
            failure::<Service>("labels: [a]"),
            at("labels", "expected a map, found a list")
        );
        assert_eq!(
            failure::<Service>("image: [a]"),
            at("image", "expected a string, found a list")
        );
    }

    #[test]
    fn map_keys_parse_as_numbers_when_asked() {
        let ports: BTreeMap<u16, String> = parse("80: http\n'443': https\n").unwrap();
        assert_eq!(
            ports,
            BTreeMap::from([(80, "http".to_string()), (443, "https".to_string())])
        );
        let flags: BTreeMap<bool, i32> = parse("true: 1\n").unwrap();
        assert_eq!(flags, BTreeMap::from([(true, 1)]));
        assert_eq!(
            failure::<BTreeMap<u16, String>>("80: a\nhttp: b\n"),
            at_key(
                "http",
                "expected an integer between 0 and 65535, found `http`"
            )
        );
    }

    #[test]
    fn enums_from_strings_and_single_key_mappings() {
        #[derive(Debug, Deserialize, PartialEq)]
        #[serde(rename_all = "snake_case")]
        enum Mount {
            Tmpfs,
            Bind(String),
            Volume { name: String, nocopy: bool },
            Pair(u8, u8),
        }
        let mounts: Vec<Mount> = parse(
            "- tmpfs\n- bind: /src\n- volume: {name: data, nocopy: true, x-ext: 1}\n- pair: [1, 2]\n- tmpfs: ~\n",
        )
        .unwrap();
        assert_eq!(
            mounts,
            vec![
                Mount::Tmpfs,
                Mount::Bind("/src".into()),
                Mount::Volume {
                    name: "data".into(),
                    nocopy: true
                },
                Mount::Pair(1, 2),
                Mount::Tmpfs,
            ]
        );
        assert_eq!(
            failure::<Vec<Mount>>("- tmpfs\n- bnid: /x\n"),
            at_key("[1].bnid", "unknown variant `bnid`; did you mean `bind`?")
        );
        assert_eq!(
            failure::<Vec<Mount>>("- other\n"),
            at(
                "[0]",
                "unknown variant `other`; expected one of `tmpfs`, `bind`, `volume`, `pair`"
            )
        );
        assert_eq!(
            failure::<Vec<Mount>>("- bind\n"),
            at(
                "[0]",
                "`bind` needs a value: write it as a mapping `bind: ...`"
            )
        );
        assert_eq!(
            failure::<Vec<Mount>>("- {bind: a, tmpfs: ~}\n"),
            at(
                "[0]",
                "expected a string or a mapping with a single key, found a mapping with 2 keys"
            )
        );
        assert_eq!(
            failure::<Vec<Mount>>("- pair: [1, 2, 3]\n"),
            at("[0].pair", "expected 2 items, found 3")
        );
        assert_eq!(
            failure::<Vec<Mount>>("- volume: {name: data}\n"),
            at("[0].volume", "missing required key `nocopy`")
        );
        assert_eq!(
            failure::<Vec<Mount>>("- tmpfs: 1\n"),
            at("[0].tmpfs", "expected null, found 1")
        );
        assert_eq!(
            failure::<Service>("restart: on-failure"),
            at(
                "restart",
                "`on-failure` needs a value: write it as a mapping `on-failure: ...`"
            )
        );
    }

    #[test]
    fn untagged_enums_read_the_node_as_it_is() {
        #[derive(Debug, Deserialize, PartialEq)]
        #[serde(untagged)]
        enum Port {
            Number(u16),
            Short(String),
            Long {
                target: u16,
                published: Option<String>,
            },
        }
        let ports: Vec<Port> =
            parse("- 80\n- '8080:80'\n- {target: 9000, published: '9000'}\n").unwrap();
        assert_eq!(
            ports,
            vec![
                Port::Number(80),
                Port::Short("8080:80".into()),
                Port::Long {
                    target: 9000,
                    published: Some("9000".into())
                },
            ]
        );
        assert_eq!(
            failure::<Vec<Port>>("- 80\n- [1]\n"),
            at(
                "[1]",
                "data did not match any variant of untagged enum Port"
            )
        );
    }

    #[test]
    fn unknown_fields_point_at_the_key_with_a_suggestion() {
        assert_eq!(
            failure::<Service>("imgae: nginx"),
            at_key("imgae", "unknown key `imgae`; did you mean `image`?")
        );
        assert_eq!(
            failure::<Service>("healthcheck: {retries: 3, colour: red}"),
            at_key(
                "healthcheck.colour",
                "unknown key `colour`; allowed keys are `retries`, `disable`"
            )
        );
        // Extension keys are left out of structs, even with deny_unknown_fields.
        assert_eq!(
            parse::<Healthcheck>("retries: 2\nx-extra: {a: 1}\n").unwrap(),
            Healthcheck {
                retries: 2,
                disable: None
            }
        );
    }

    #[test]
    fn custom_errors_are_located_at_the_node_that_raised_them() {
        #[derive(Debug, PartialEq)]
        struct Protocol(String);
        impl<'de> Deserialize<'de> for Protocol {
            fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let text = String::deserialize(d)?;
                match text.as_str() {
                    "tcp" | "udp" => Ok(Protocol(text)),
                    _ => Err(de::Error::custom(format!("unsupported protocol `{text}`"))),
                }
            }
        }
        #[derive(Debug, Deserialize, PartialEq)]
        struct Ports {
            protocols: Vec<Protocol>,
        }
        let base = KeyPath::parse("services.web");
        let doc = yaml("protocols: [tcp, sctp]");
        let err = from_node::<Ports>(&doc, &base).unwrap_err();
        // The tree's synthetic spans name the path inside the document; the diagnostic's
        // path starts from the base path given.
        assert_eq!(err.span, Some(node_span("protocols[1]")));
        assert_eq!(err.path.to_string(), "services.web.protocols[1]");
        assert_eq!(err.message, "unsupported protocol `sctp`");
        assert_eq!(
            failure::<Ports>("{}"),
            at("", "missing required key `protocols`")
        );
    }

    #[test]
    fn errors_carry_file_line_and_column() {
        let file: Arc<str> = Arc::from("compose.yaml");
        let mut mapping = Mapping::default();
        mapping.entries.insert(
            "retries".into(),
            Entry {
                key_span: Span::new(file.clone(), 2, 3),
                value: Node::new(Value::Int(300), Span::new(file.clone(), 2, 12)),
            },
        );
        let node = Node::new(Value::Map(mapping), Span::new(file, 2, 3));
        let err = from_node::<Healthcheck>(&node, &KeyPath::parse("services.web.healthcheck"))
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "compose.yaml:2:12: services.web.healthcheck.retries: expected an integer between 0 and 255, found 300"
        );
    }

    #[test]
    fn deep_nesting_is_refused_not_recursed() {
        let mut node = Node::new(Value::Int(1), Span::synthetic("deep"));
        for _ in 0..200 {
            node = Node::new(Value::Seq(vec![node]), Span::synthetic("deep"));
        }
        let err = from_node::<serde_json::Value>(&node, &KeyPath::root()).unwrap_err();
        assert_eq!(err.message, "nested more than 128 levels deep");
        assert_eq!(err.path.0.len(), 128);
        let mut ok = Node::new(Value::Int(1), Span::synthetic("deep"));
        for _ in 0..100 {
            ok = Node::new(Value::Seq(vec![ok]), Span::synthetic("deep"));
        }
        assert!(from_node::<serde_json::Value>(&ok, &KeyPath::root()).is_ok());
    }

    #[test]
    fn null_is_none_unit_or_an_empty_struct() {
        assert_eq!(parse::<Option<u16>>("~").unwrap(), None);
        assert_eq!(parse::<Option<u16>>("8").unwrap(), Some(8));
        parse::<()>("null").unwrap();
        assert_eq!(parse::<Healthcheck>("").unwrap(), Healthcheck::default());
        assert_eq!(
            failure::<Vec<String>>("~"),
            at("", "expected a sequence, found null")
        );
    }
}
