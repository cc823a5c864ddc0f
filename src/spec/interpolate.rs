//! `${VAR}` interpolation of compose values, as the Compose Specification defines it
//! (12-interpolation.md) and compose-go's `template` package implements it.
//!
//! Forms: `$VAR`, `${VAR}`, `${VAR:-default}` / `${VAR-default}`, `${VAR:?message}` /
//! `${VAR?message}`, `${VAR:+alternative}` / `${VAR+alternative}`, nesting inside the
//! word after the operator, and `$$` for a literal `$`. A `$` followed by neither a
//! name, `{` nor `$` stays a literal `$`. Names are `[_a-zA-Z][_a-zA-Z0-9]*`.
//!
//! A string is parsed completely before anything is looked up, so a malformed
//! expression is an error even in a branch that is not taken; the word after an
//! operator is only evaluated when it is used (as a shell does), so a `${B:?…}` in the
//! default of a variable that is set does not fail.

use super::diag::Diagnostic;
use super::node::{KeyPath, Node, PathSeg, Value};
use std::collections::HashSet;

/// How deeply `${…}` may nest inside the word of another `${…}`.
const MAX_NESTING: usize = 32;

/// Why a string could not be interpolated.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum InterpolateError {
    /// `${VAR:?message}` with VAR unset or empty, or `${VAR?message}` with VAR unset.
    #[error("required variable {var} is missing a value{}", with_colon(.message))]
    MissingRequired { var: String, message: String },
    /// `text` starts like a substitution (`${`) but is not a valid one.
    #[error("invalid interpolation format for {text:?}: {reason}; a literal $ is written $$")]
    InvalidFormat { text: String, reason: String },
}

fn with_colon(message: &str) -> String {
    if message.is_empty() {
        String::new()
    } else {
        format!(": {message}")
    }
}

/// The result of interpolating one string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interpolated {
    pub value: String,
    /// Variables referenced without a default (`$X`, `${X}`) while unset, each once, in
    /// order of first use; compose warns about them and substitutes "".
    pub unset: Vec<String>,
}

/// Interpolates every `$` expression of `s`, looking variables up with `lookup`
/// (`None` means unset, `Some("")` set but empty).
pub fn interpolate_str(
    s: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<Interpolated, InterpolateError> {
    if !s.contains('$') {
        return Ok(Interpolated {
            value: s.to_string(),
            unset: Vec::new(),
        });
    }
    let pieces = Parser { src: s, pos: 0 }.parse_top()?;
    let mut out = Interpolated {
        value: String::with_capacity(s.len()),
        unset: Vec::new(),
    };
    evaluate(&pieces, lookup, &mut out.value, &mut out.unset)?;
    Ok(out)
}

/// Interpolates every string scalar value under `node` (never mapping keys, never
/// numbers or booleans), in place. `path` is the key path of `node` itself.
///
/// Returns an error for each string that failed (at the scalar's span and key path)
/// and one warning per unset variable name, at its first use. Interpolated scalars stay
/// strings: later stages parse numbers out of them where the model needs numbers.
pub fn interpolate_tree(
    node: &mut Node,
    path: &KeyPath,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Vec<Diagnostic> {
    let mut diags = Vec::new();
    let mut warned: HashSet<String> = HashSet::new();
    // An explicit stack (children pushed in reverse, so they pop in source order) keeps
    // deep documents from exhausting the call stack. Each entry has its depth and the
    // step to it from its parent; `trail` holds the steps to the node being visited, and
    // becomes a key path only for a diagnostic.
    let mut stack = vec![(node, 0, None)];
    let mut trail: Vec<Step> = Vec::new();
    while let Some((node, depth, step)) = stack.pop() {
        trail.truncate(depth);
        trail.extend(step);
        let here = || {
            let mut p = path.clone();
            p.0.extend(trail.iter().map(|step| match step {
                Step::Key(k) => PathSeg::Key((*k).to_string()),
                Step::Index(i) => PathSeg::Index(*i),
            }));
            p
        };
        match &mut node.value {
            // A string without `$` stays as it is.
            Value::String(s) if !s.contains('$') => {}
            Value::String(s) => match interpolate_str(s, lookup) {
                Ok(done) => {
                    for var in done.unset {
                        if !warned.contains(&var) {
                            diags.push(Diagnostic::warning(
                                Some(node.span.clone()),
                                here(),
                                format!(
                                    "variable {var:?} is not set; substituting an empty string"
                                ),
                            ));
                            warned.insert(var);
                        }
                    }
                    *s = done.value;
                }
                Err(e) => diags.push(Diagnostic::error(
                    Some(node.span.clone()),
                    here(),
                    e.to_string(),
                )),
            },
            Value::Seq(items) => {
                for (i, item) in items.iter_mut().enumerate().rev() {
                    stack.push((item, trail.len(), Some(Step::Index(i))));
                }
            }
            Value::Map(m) => {
                for (k, entry) in m.entries.iter_mut().rev() {
                    stack.push((&mut entry.value, trail.len(), Some(Step::Key(k))));
                }
            }
            Value::Null | Value::Bool(_) | Value::Int(_) | Value::Float(_) => {}
        }
    }
    diags
}

/// One step down the tree: a mapping key or a list index.
enum Step<'a> {
    Key(&'a str),
    Index(usize),
}

/// One parsed piece of a string.
#[derive(Debug)]
enum Piece {
    Text(String),
    Var {
        name: String,
        op: Option<(Op, Vec<Piece>)>,
    },
}

/// The operator of `${NAME<op>word}`; `colon` (`:-`, `:?`, `:+`) treats an empty value
/// like an unset one.
#[derive(Debug, Clone, Copy)]
struct Op {
    kind: OpKind,
    colon: bool,
}

#[derive(Debug, Clone, Copy)]
enum OpKind {
    /// `-`: the word when the variable is missing.
    Default,
    /// `?`: an error carrying the word when the variable is missing.
    Required,
    /// `+`: the word when the variable is present, else "".
    Alternative,
}

struct Parser<'a> {
    src: &'a str,
    pos: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<char> {
        self.src
            .get(self.pos..)
            .and_then(|rest| rest.chars().next())
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += c.len_utf8();
        Some(c)
    }

    fn parse_top(mut self) -> Result<Vec<Piece>, InterpolateError> {
        let mut pieces = Vec::new();
        let mut text = String::new();
        while let Some(c) = self.peek() {
            if c == '$' {
                self.parse_dollar(0, &mut text, &mut pieces)?;
            } else {
                text.push(c);
                self.bump();
            }
        }
        flush(&mut text, &mut pieces);
        Ok(pieces)
    }

    /// Parses the expression at a `$`: literal text goes to `text`, a variable becomes
    /// a piece (after flushing `text`).
    fn parse_dollar(
        &mut self,
        depth: usize,
        text: &mut String,
        pieces: &mut Vec<Piece>,
    ) -> Result<(), InterpolateError> {
        let start = self.pos;
        self.bump();
        match self.peek() {
            Some('$') => {
                self.bump();
                text.push('$');
            }
            Some('{') => {
                self.bump();
                let var = self.parse_braced(start, depth)?;
                flush(text, pieces);
                pieces.push(var);
            }
            Some(c) if is_name_start(c) => {
                let name = self.parse_name();
                flush(text, pieces);
                pieces.push(Piece::Var { name, op: None });
            }
            _ => text.push('$'),
        }
        Ok(())
    }

    fn parse_name(&mut self) -> String {
        let mut name = String::new();
        if let Some(c) = self.peek().filter(|&c| is_name_start(c)) {
            name.push(c);
            self.bump();
            while let Some(c) = self.peek().filter(|&c| is_name_char(c)) {
                name.push(c);
                self.bump();
            }
        }
        name
    }

    /// Parses what follows `${` (the `$` is at `start`) up to and including its `}`.
    fn parse_braced(&mut self, start: usize, depth: usize) -> Result<Piece, InterpolateError> {
        let name = self.parse_name();
        if name.is_empty() {
            return Err(self.invalid(
                start,
                match self.peek() {
                    None => "missing the closing \"}\"".to_string(),
                    Some(c) if c.is_ascii_digit() => {
                        "a variable name cannot start with a digit".to_string()
                    }
                    Some(_) => "expected a variable name after \"${\"".to_string(),
                },
            ));
        }
        let colon = self.peek() == Some(':');
        if colon {
            self.bump();
        }
        let kind = match self.peek() {
            Some('}') if !colon => {
                self.bump();
                return Ok(Piece::Var { name, op: None });
            }
            Some('-') => OpKind::Default,
            Some('?') => OpKind::Required,
            Some('+') => OpKind::Alternative,
            None => return Err(self.invalid(start, "missing the closing \"}\"".to_string())),
            Some(c) => {
                let expected = if colon {
                    "\"-\", \"?\" or \"+\" after \":\""
                } else {
                    "\"}\" or one of \":-\", \"-\", \":?\", \"?\", \":+\", \"+\""
                };
                return Err(self.invalid(
                    start,
                    format!("unexpected {c:?} after the variable name; expected {expected}"),
                ));
            }
        };
        self.bump();
        if depth >= MAX_NESTING {
            return Err(self.invalid(
                start,
                format!("expressions nest more than {MAX_NESTING} levels deep"),
            ));
        }
        let word = self.parse_word(start, depth + 1)?;
        Ok(Piece::Var {
            name,
            op: Some((Op { kind, colon }, word)),
        })
    }

    /// Parses the word after an operator up to and including the `}` that closes the
    /// expression at `start`. Bare `{` `}` pairs inside the word are kept as text.
    fn parse_word(&mut self, start: usize, depth: usize) -> Result<Vec<Piece>, InterpolateError> {
        let mut pieces = Vec::new();
        let mut text = String::new();
        let mut open_braces = 0usize;
        loop {
            match self.peek() {
                None => return Err(self.invalid(start, "missing the closing \"}\"".to_string())),
                Some('$') => self.parse_dollar(depth, &mut text, &mut pieces)?,
                Some('}') if open_braces == 0 => {
                    self.bump();
                    flush(&mut text, &mut pieces);
                    return Ok(pieces);
                }
                Some(c) => {
                    match c {
                        '{' => open_braces += 1,
                        '}' => open_braces -= 1,
                        _ => {}
                    }
                    text.push(c);
                    self.bump();
                }
            }
        }
    }

    /// An error for the expression starting at `start`, quoted up to its first `}`.
    fn invalid(&self, start: usize, reason: String) -> InterpolateError {
        let rest = self.src.get(start..).unwrap_or_default();
        let text = match rest.find('}') {
            Some(i) => &rest[..=i],
            None => rest,
        };
        InterpolateError::InvalidFormat {
            text: text.to_string(),
            reason,
        }
    }
}

fn flush(text: &mut String, pieces: &mut Vec<Piece>) {
    if !text.is_empty() {
        pieces.push(Piece::Text(std::mem::take(text)));
    }
}

fn is_name_start(c: char) -> bool {
    c == '_' || c.is_ascii_alphabetic()
}

fn is_name_char(c: char) -> bool {
    c == '_' || c.is_ascii_alphanumeric()
}

/// Appends the value of `pieces` to `out`. Recursion is bounded by the parse depth.
fn evaluate(
    pieces: &[Piece],
    lookup: &dyn Fn(&str) -> Option<String>,
    out: &mut String,
    unset: &mut Vec<String>,
) -> Result<(), InterpolateError> {
    for piece in pieces {
        match piece {
            Piece::Text(t) => out.push_str(t),
            Piece::Var { name, op: None } => match lookup(name) {
                Some(v) => out.push_str(&v),
                None => {
                    if !unset.contains(name) {
                        unset.push(name.clone());
                    }
                }
            },
            Piece::Var {
                name,
                op: Some((op, word)),
            } => {
                let present = lookup(name).filter(|v| !(op.colon && v.is_empty()));
                match (op.kind, present) {
                    (OpKind::Default | OpKind::Required, Some(v)) => out.push_str(&v),
                    (OpKind::Default, None) | (OpKind::Alternative, Some(_)) => {
                        evaluate(word, lookup, out, unset)?
                    }
                    (OpKind::Alternative, None) => {}
                    (OpKind::Required, None) => {
                        let mut message = String::new();
                        evaluate(word, lookup, &mut message, unset)?;
                        return Err(InterpolateError::MissingRequired {
                            var: name.clone(),
                            message,
                        });
                    }
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::node::{Entry, Mapping, Span};
    use std::sync::Arc;

    fn env(name: &str) -> Option<String> {
        match name {
            "FOO" => Some("first".into()),
            "EMPTY" => Some(String::new()),
            "N" => Some("3".into()),
            "B" => Some("bee".into()),
            _ => None,
        }
    }

    fn ok(s: &str) -> String {
        interpolate_str(s, &env).unwrap().value
    }

    fn err(s: &str) -> String {
        interpolate_str(s, &env).unwrap_err().to_string()
    }

    #[test]
    fn plain_and_braced_variables() {
        assert_eq!(ok("no variables here"), "no variables here");
        assert_eq!(ok("$FOO"), "first");
        assert_eq!(ok("${FOO}"), "first");
        assert_eq!(ok("a-${FOO}-b"), "a-first-b");
        assert_eq!(ok("$FOO-bar"), "first-bar");
        assert_eq!(ok("$FOO.$B"), "first.bee");
        assert_eq!(ok("${FOO}${B}"), "firstbee");
        assert_eq!(ok("é${FOO}ü"), "éfirstü");
        assert_eq!(ok("port ${N}"), "port 3");
    }

    #[test]
    fn unset_variables_become_empty_and_are_listed_once() {
        let r = interpolate_str("a${MISSING}b$OTHER$MISSING${EMPTY}", &env).unwrap();
        assert_eq!(r.value, "ab");
        assert_eq!(r.unset, vec!["MISSING".to_string(), "OTHER".to_string()]);
        assert_eq!(
            interpolate_str("$FOO", &env).unwrap().unset,
            Vec::<String>::new()
        );
    }

    #[test]
    fn defaults() {
        assert_eq!(ok("${MISSING:-def}"), "def");
        assert_eq!(ok("${EMPTY:-def}"), "def");
        assert_eq!(ok("${FOO:-def}"), "first");
        assert_eq!(ok("${MISSING-def}"), "def");
        assert_eq!(ok("${EMPTY-def}"), "");
        assert_eq!(ok("${FOO-def}"), "first");
        assert_eq!(ok("${MISSING:-}"), "");
        assert_eq!(ok("${EMPTY:-/non:-alphanumeric}"), "/non:-alphanumeric");
        assert_eq!(ok("${MISSING-myerror?msg}"), "myerror?msg");
        assert_eq!(ok("${MISSING:-a b  c}"), "a b  c");
        // A default is not an unset reference.
        let r = interpolate_str("${MISSING:-x}${MISSING-y}", &env).unwrap();
        assert_eq!(r.unset, Vec::<String>::new());
    }

    #[test]
    fn nested_defaults_are_interpolated() {
        assert_eq!(ok("${MISSING:-${B:-x}}"), "bee");
        assert_eq!(ok("${MISSING:-${OTHER:-x}}"), "x");
        assert_eq!(ok("${MISSING:-$B}"), "bee");
        assert_eq!(ok("${MISSING-${FOO} ${FOO}}"), "first first");
        assert_eq!(ok("${EMPTY:-${MISSING:-${B}}}/tail"), "bee/tail");
        assert_eq!(ok("${MISSING:-$$B}"), "$B");
        assert_eq!(ok("${MISSING:-{x}}"), "{x}");
        let r = interpolate_str("${MISSING:-$OTHER}", &env).unwrap();
        assert_eq!(r.value, "");
        assert_eq!(r.unset, vec!["OTHER".to_string()]);
    }

    #[test]
    fn unused_branches_are_not_evaluated() {
        assert_eq!(ok("${FOO:-${X:?never}}"), "first");
        let r = interpolate_str("${FOO:-$OTHER}", &env).unwrap();
        assert_eq!(r.unset, Vec::<String>::new());
    }

    #[test]
    fn required_variables() {
        assert_eq!(ok("${FOO:?err}"), "first");
        assert_eq!(ok("${FOO?err}"), "first");
        assert_eq!(ok("${EMPTY?err}"), "");
        assert_eq!(
            interpolate_str("x ${DB_PASS:?set it in .env}", &env),
            Err(InterpolateError::MissingRequired {
                var: "DB_PASS".into(),
                message: "set it in .env".into(),
            })
        );
        assert_eq!(
            err("${DB_PASS:?set it in .env}"),
            "required variable DB_PASS is missing a value: set it in .env"
        );
        assert_eq!(
            err("${EMPTY:?must not be empty}"),
            "required variable EMPTY is missing a value: must not be empty"
        );
        assert_eq!(
            err("${MISSING?}"),
            "required variable MISSING is missing a value"
        );
        assert_eq!(
            err("${MISSING:?}"),
            "required variable MISSING is missing a value"
        );
        assert_eq!(
            err("${MISSING?bar-baz}"),
            "required variable MISSING is missing a value: bar-baz"
        );
        assert_eq!(
            err("${MISSING:?need ${FOO} and $B}"),
            "required variable MISSING is missing a value: need first and bee"
        );
    }

    #[test]
    fn alternatives() {
        assert_eq!(ok("${FOO:+alt}"), "alt");
        assert_eq!(ok("${EMPTY:+alt}"), "");
        assert_eq!(ok("${MISSING:+alt}"), "");
        assert_eq!(ok("${FOO+alt}"), "alt");
        assert_eq!(ok("${EMPTY+alt}"), "alt");
        assert_eq!(ok("${MISSING+alt}"), "");
        assert_eq!(ok("${FOO:+-$B-}"), "-bee-");
        let r = interpolate_str("${MISSING:+alt}", &env).unwrap();
        assert_eq!(r.unset, Vec::<String>::new());
    }

    #[test]
    fn dollars_that_are_not_expressions_stay_literal() {
        assert_eq!(ok("$$"), "$");
        assert_eq!(ok("$${FOO}"), "${FOO}");
        assert_eq!(ok("$$FOO"), "$FOO");
        assert_eq!(ok("$$$FOO"), "$first");
        assert_eq!(ok("cost: 5$"), "cost: 5$");
        assert_eq!(ok("a $ b"), "a $ b");
        assert_eq!(ok("$1 $@ $- $}"), "$1 $@ $- $}");
        assert_eq!(ok("$é"), "$é");
        assert_eq!(ok("}{"), "}{");
    }

    #[test]
    fn malformed_expressions_are_errors() {
        assert_eq!(
            interpolate_str("x ${", &env),
            Err(InterpolateError::InvalidFormat {
                text: "${".into(),
                reason: "missing the closing \"}\"".into(),
            })
        );
        assert_eq!(
            err("${1X}"),
            "invalid interpolation format for \"${1X}\": a variable name cannot start with \
             a digit; a literal $ is written $$"
        );
        assert_eq!(
            err("${}"),
            "invalid interpolation format for \"${}\": expected a variable name after \
             \"${\"; a literal $ is written $$"
        );
        assert_eq!(
            err("${ FOO}"),
            "invalid interpolation format for \"${ FOO}\": expected a variable name after \
             \"${\"; a literal $ is written $$"
        );
        assert_eq!(
            err("${FOO }"),
            "invalid interpolation format for \"${FOO }\": unexpected ' ' after the variable \
             name; expected \"}\" or one of \":-\", \"-\", \":?\", \"?\", \":+\", \"+\"; \
             a literal $ is written $$"
        );
        assert_eq!(
            err("${FOO:x}"),
            "invalid interpolation format for \"${FOO:x}\": unexpected 'x' after the variable \
             name; expected \"-\", \"?\" or \"+\" after \":\"; a literal $ is written $$"
        );
        assert_eq!(
            err("${FOO"),
            "invalid interpolation format for \"${FOO\": missing the closing \"}\"; \
             a literal $ is written $$"
        );
        assert_eq!(
            err("pre ${FOO:-abc"),
            "invalid interpolation format for \"${FOO:-abc\": missing the closing \"}\"; \
             a literal $ is written $$"
        );
        assert_eq!(
            err("${MISSING:-${1}}"),
            "invalid interpolation format for \"${1}\": a variable name cannot start with \
             a digit; a literal $ is written $$"
        );
        // Parsed in full even where the branch is not taken.
        assert_eq!(
            err("${FOO:-${}}"),
            "invalid interpolation format for \"${}\": expected a variable name after \
             \"${\"; a literal $ is written $$"
        );
    }

    #[test]
    fn nesting_is_bounded() {
        let deep = format!("{}x{}", "${A:-".repeat(40), "}".repeat(40));
        assert_eq!(
            interpolate_str(&deep, &env),
            Err(InterpolateError::InvalidFormat {
                // Quoted from the 33rd expression to the first `}`.
                text: format!("{}x}}", "${A:-".repeat(8)),
                reason: "expressions nest more than 32 levels deep".into(),
            })
        );
        let ok32 = format!("{}x{}", "${A:-".repeat(32), "}".repeat(32));
        assert_eq!(ok(&ok32), "x");
    }

    fn span(line: u32, col: u32) -> Span {
        Span::new(Arc::from("compose.yaml"), line, col)
    }

    fn scalar(value: Value, line: u32) -> Node {
        Node::new(value, span(line, 10))
    }

    fn map(entries: Vec<(&str, Node)>, line: u32) -> Node {
        let mut m = Mapping::default();
        for (k, v) in entries {
            let key_span = span(v.span.line, 3);
            m.entries
                .insert(k.to_string(), Entry { key_span, value: v });
        }
        Node::new(Value::Map(m), span(line, 1))
    }

    #[test]
    fn tree_interpolates_string_values_only() {
        let mut root = map(
            vec![(
                "services",
                map(
                    vec![(
                        "web",
                        map(
                            vec![
                                ("image", scalar(Value::String("app:${FOO}".into()), 3)),
                                ("replicas", scalar(Value::String("${N}".into()), 4)),
                                ("port", scalar(Value::Int(80), 5)),
                                (
                                    "command",
                                    Node::new(
                                        Value::Seq(vec![
                                            scalar(Value::String("echo".into()), 7),
                                            scalar(Value::String("$$HOME".into()), 8),
                                        ]),
                                        span(6, 5),
                                    ),
                                ),
                                (
                                    "labels",
                                    map(
                                        vec![("${FOO}", scalar(Value::String("$B".into()), 10))],
                                        9,
                                    ),
                                ),
                            ],
                            2,
                        ),
                    )],
                    1,
                ),
            )],
            1,
        );
        let diags = interpolate_tree(&mut root, &KeyPath::root(), &env);
        assert_eq!(diags, Vec::<Diagnostic>::new());
        let at = |p: &str| root.at(&KeyPath::parse(p)).unwrap().value.clone();
        assert_eq!(at("services.web.image"), Value::String("app:first".into()));
        // Not re-typed: still a string.
        assert_eq!(at("services.web.replicas"), Value::String("3".into()));
        assert_eq!(at("services.web.port"), Value::Int(80));
        assert_eq!(at("services.web.command[1]"), Value::String("$HOME".into()));
        let labels = root.at(&KeyPath::parse("services.web.labels")).unwrap();
        let label = &labels.as_map().unwrap().entries["${FOO}"];
        assert_eq!(label.value.value, Value::String("bee".into()));
    }

    #[test]
    fn tree_reports_errors_and_one_warning_per_variable() {
        let mut root = map(
            vec![
                ("a", scalar(Value::String("${MISSING}".into()), 1)),
                (
                    "b",
                    Node::new(
                        Value::Seq(vec![
                            scalar(Value::String("$OTHER".into()), 3),
                            scalar(Value::String("${DB_PASS:?set it in .env}".into()), 4),
                            scalar(Value::String("x$MISSING".into()), 5),
                        ]),
                        span(2, 3),
                    ),
                ),
                ("c", scalar(Value::String("${".into()), 6)),
            ],
            1,
        );
        let diags = interpolate_tree(&mut root, &KeyPath::root().key("x-top"), &env);
        let text: Vec<String> = diags.iter().map(ToString::to_string).collect();
        assert_eq!(
            text,
            vec![
                "compose.yaml:1:10: warning: x-top.a: variable \"MISSING\" is not set; \
                 substituting an empty string",
                "compose.yaml:3:10: warning: x-top.b[0]: variable \"OTHER\" is not set; \
                 substituting an empty string",
                "compose.yaml:4:10: x-top.b[1]: required variable DB_PASS is missing a value: \
                 set it in .env",
                "compose.yaml:6:10: x-top.c: invalid interpolation format for \"${\": missing \
                 the closing \"}\"; a literal $ is written $$",
            ]
        );
        assert!(diags[2].is_error() && !diags[0].is_error());
        assert_eq!(
            root.at(&KeyPath::parse("b[2]")).unwrap().value,
            Value::String("x".into())
        );
        // A failed string is left as written.
        assert_eq!(
            root.at(&KeyPath::parse("c")).unwrap().value,
            Value::String("${".into())
        );
    }

    /// Every string of up to 4 characters from the syntax's alphabet either
    /// interpolates or errors; none panics.
    #[test]
    fn short_inputs_never_panic() {
        let alphabet = ['$', '{', '}', ':', '-', '?', '+', 'A', '1', ' ', 'é'];
        let mut inputs = vec![String::new()];
        for _ in 0..4 {
            let longer: Vec<String> = inputs
                .iter()
                .flat_map(|s| alphabet.iter().map(move |c| format!("{s}{c}")))
                .collect();
            for s in &longer {
                let _ = interpolate_str(s, &env);
            }
            inputs = longer;
        }
        assert_eq!(inputs.len(), 11usize.pow(4));
    }
}
