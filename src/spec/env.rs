//! Compose's `.env` file syntax, as compose-go's `dotenv` package reads it.
//!
//! One `KEY=VALUE` per statement; `export KEY=VALUE` and YAML-like `KEY: VALUE` are
//! accepted. Blank lines and lines starting with `#` are skipped. Values are:
//! - unquoted: to the end of the line, trailing whitespace removed, cut at a `#` that
//!   follows whitespace (`A=b #c` is `b`, `A=b#c` is `b#c`), then interpolated;
//! - single-quoted: literal, may span lines (only `\'` is unescaped, as compose-go does);
//! - double-quoted: may span lines, escapes `\n` `\r` `\t` `\a` `\b` `\f` `\v` `\\` `\"`
//!   `\$` are decoded (any other `\x` stays as written), then interpolated.
//!
//! A bare `KEY` takes the value `lookup` gives it and is left out when unset.
//! Interpolation sees the keys defined earlier in the same file first, then `lookup`.
//! Key names are letters, digits, `_`, `.`, `-`, `[` and `]` (what compose-go accepts).

use super::diag::Diagnostic;
use super::interpolate::interpolate_str;
use super::node::{KeyPath, Span};
use indexmap::IndexMap;
use std::sync::Arc;

/// Parses the text of a `.env` file named `file` into its variables, in file order (a
/// key defined twice keeps its first position and its last value).
///
/// The first syntax or interpolation error is returned with its line and column.
/// Unset variables referenced in values are substituted with "" silently.
pub fn parse_dotenv(
    text: &str,
    file: &Arc<str>,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<IndexMap<String, String>, Diagnostic> {
    let mut parser = Dotenv {
        text,
        pos: 0,
        file,
        vars: IndexMap::new(),
    };
    while parser.skip_blank_and_comments() {
        parser.statement(lookup)?;
    }
    Ok(parser.vars)
}

struct Dotenv<'a> {
    text: &'a str,
    /// Byte offset of the next character.
    pos: usize,
    file: &'a Arc<str>,
    vars: IndexMap<String, String>,
}

/// Whitespace inside a line (compose-go also counts `\r`, `\v`, `\f`, NEL and NBSP).
fn is_inline_space(c: char) -> bool {
    matches!(
        c,
        ' ' | '\t' | '\r' | '\u{0b}' | '\u{0c}' | '\u{85}' | '\u{a0}'
    )
}

fn is_key_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '_' | '.' | '-' | '[' | ']')
}

impl Dotenv<'_> {
    fn rest(&self) -> &str {
        self.text.get(self.pos..).unwrap_or_default()
    }

    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    fn skip_while(&mut self, keep: impl Fn(char) -> bool) {
        let skipped: usize = self
            .rest()
            .chars()
            .take_while(|&c| keep(c))
            .map(char::len_utf8)
            .sum();
        self.pos += skipped;
    }

    /// Skips whitespace, blank lines and comment lines; `false` at the end of the text.
    fn skip_blank_and_comments(&mut self) -> bool {
        loop {
            self.skip_while(char::is_whitespace);
            match self.peek() {
                None => return false,
                Some('#') => self.skip_while(|c| c != '\n'),
                Some(_) => return true,
            }
        }
    }

    fn span_at(&self, offset: usize) -> Span {
        let before = self.text.get(..offset).unwrap_or(self.text);
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let line = before.matches('\n').count() + 1;
        let col = before.get(line_start..).unwrap_or_default().chars().count() + 1;
        Span::new(
            self.file.clone(),
            u32::try_from(line).unwrap_or(u32::MAX),
            u32::try_from(col).unwrap_or(u32::MAX),
        )
    }

    fn error(&self, offset: usize, path: KeyPath, message: String) -> Diagnostic {
        Diagnostic::error(Some(self.span_at(offset)), path, message)
    }

    /// Parses one statement starting at a non-blank, non-comment character.
    fn statement(&mut self, lookup: &dyn Fn(&str) -> Option<String>) -> Result<(), Diagnostic> {
        let statement_start = self.pos;
        if let Some(after) = self.rest().strip_prefix("export") {
            if after.starts_with([' ', '\t']) {
                self.pos += "export".len();
                self.skip_while(is_inline_space);
                if matches!(self.peek(), None | Some('\n')) {
                    // A lone `export` is a bare key named "export".
                    self.pos = statement_start;
                }
            }
        }
        let key_start = self.pos;
        let mut terminator = None;
        for (i, c) in self.rest().char_indices() {
            match c {
                '=' | ':' => {
                    terminator = Some((i, c));
                    break;
                }
                '\n' => break,
                c if is_inline_space(c) || is_key_char(c) => {}
                c => {
                    let line = self.rest().lines().next().unwrap_or_default();
                    return Err(self.error(
                        key_start + i,
                        KeyPath::root(),
                        format!(
                            "unexpected character {c:?} in variable name {:?}; names use \
                             letters, digits, '_', '.', '-', '[' and ']'",
                            line.trim_end()
                        ),
                    ));
                }
            }
        }
        let key_end = match terminator {
            Some((i, _)) => key_start + i,
            None => key_start + self.rest().find('\n').unwrap_or(self.rest().len()),
        };
        let key = self
            .text
            .get(key_start..key_end)
            .unwrap_or_default()
            .trim_end();
        if key.is_empty() {
            let sep = terminator.map_or('=', |(_, c)| c);
            return Err(self.error(
                key_start,
                KeyPath::root(),
                format!("missing variable name before {sep:?}"),
            ));
        }
        if key.contains(is_inline_space) {
            return Err(self.error(
                key_start,
                KeyPath::root(),
                format!("invalid variable name {key:?}: a name cannot contain spaces"),
            ));
        }
        let key = key.to_string();
        self.pos = key_end;
        if terminator.is_none() {
            // A bare `KEY`: inherited from the environment.
            if let Some(value) = lookup(&key) {
                self.vars.insert(key, value);
            }
            return Ok(());
        }
        self.pos += 1;
        let value = self.value(&key, lookup)?;
        self.vars.insert(key, value);
        Ok(())
    }

    /// Parses the value of `key`, from just after its `=` or `:`.
    fn value(
        &mut self,
        key: &str,
        lookup: &dyn Fn(&str) -> Option<String>,
    ) -> Result<String, Diagnostic> {
        let after_separator = self.pos;
        self.skip_while(is_inline_space);
        let start = self.pos;
        let template = match self.peek() {
            Some(quote @ ('\'' | '"')) => {
                let raw = self.quoted(key, quote)?;
                if quote == '\'' {
                    return Ok(raw);
                }
                raw
            }
            _ => {
                // From the separator, so that the whitespace before the value counts:
                // `A= #c` is empty.
                let line = self.text.get(after_separator..).unwrap_or_default();
                let line = line.split('\n').next().unwrap_or_default();
                self.pos = after_separator + line.len();
                let mut after_space = false;
                let cut = line
                    .char_indices()
                    .find(|&(_, c)| {
                        let comment = c == '#' && after_space;
                        after_space = is_inline_space(c);
                        comment
                    })
                    .map_or(line.len(), |(i, _)| i);
                let value = line.get(..cut).unwrap_or(line);
                value
                    .trim_start_matches(is_inline_space)
                    .trim_end()
                    .to_string()
            }
        };
        let vars = &self.vars;
        let scoped = |name: &str| vars.get(name).cloned().or_else(|| lookup(name));
        interpolate_str(&template, &scoped)
            .map(|done| done.value)
            .map_err(|e| self.error(start, KeyPath::root().key(key), e.to_string()))
    }

    /// Reads a quoted value starting at its opening `quote` and checks that only a
    /// comment follows it on its line. Double-quoted escapes are decoded, with `\$`
    /// kept as `$$` for the interpolation that follows.
    fn quoted(&mut self, key: &str, quote: char) -> Result<String, Diagnostic> {
        let start = self.pos;
        let mut out = String::new();
        let mut end = None;
        let mut chars = self.rest().char_indices().skip(1);
        while let Some((i, c)) = chars.next() {
            if c == quote {
                end = Some(i + c.len_utf8());
                break;
            }
            if c != '\\' {
                out.push(c);
                continue;
            }
            let Some((_, next)) = chars.next() else {
                break;
            };
            match (quote, next) {
                (_, n) if n == quote => out.push(n),
                ('"', 'n') => out.push('\n'),
                ('"', 'r') => out.push('\r'),
                ('"', 't') => out.push('\t'),
                ('"', 'a') => out.push('\u{07}'),
                ('"', 'b') => out.push('\u{08}'),
                ('"', 'f') => out.push('\u{0c}'),
                ('"', 'v') => out.push('\u{0b}'),
                ('"', '\\') => out.push('\\'),
                ('"', '$') => out.push_str("$$"),
                (_, n) => {
                    out.push('\\');
                    out.push(n);
                }
            }
        }
        let Some(end) = end else {
            return Err(self.error(
                start,
                KeyPath::root().key(key),
                format!("unterminated quoted value: no closing {quote} before the end of the file"),
            ));
        };
        self.pos += end;
        self.skip_while(is_inline_space);
        match self.peek() {
            None | Some('\n' | '#') => Ok(out),
            Some(_) => Err(self.error(
                self.pos,
                KeyPath::root().key(key),
                format!("unexpected text after the closing {quote}; expected the end of the line or a # comment"),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outer(name: &str) -> Option<String> {
        match name {
            "HOME" => Some("/home/me".into()),
            "EMPTY" => Some(String::new()),
            "INHERITED" => Some("from-env".into()),
            _ => None,
        }
    }

    fn parse(text: &str) -> Result<Vec<(String, String)>, String> {
        let file: Arc<str> = Arc::from(".env");
        parse_dotenv(text, &file, &outer)
            .map(|m| m.into_iter().collect())
            .map_err(|d| d.to_string())
    }

    fn pairs(items: &[(&str, &str)]) -> Result<Vec<(String, String)>, String> {
        Ok(items
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect())
    }

    #[test]
    fn keys_values_export_and_comments() {
        assert_eq!(
            parse("# a comment\n\nA=1\nexport B=two\n  C = three  \n\t# indented comment\nD=\nE.F-G[0]=x\n"),
            pairs(&[
                ("A", "1"),
                ("B", "two"),
                ("C", "three"),
                ("D", ""),
                ("E.F-G[0]", "x")
            ])
        );
        assert_eq!(parse(""), pairs(&[]));
        assert_eq!(parse("A=1"), pairs(&[("A", "1")]));
        assert_eq!(parse("A=1\r\nB=2\r\n"), pairs(&[("A", "1"), ("B", "2")]));
        assert_eq!(parse("A=b=c"), pairs(&[("A", "b=c")]));
        assert_eq!(
            parse("export=1\nexportX=2"),
            pairs(&[("export", "1"), ("exportX", "2")])
        );
        assert_eq!(parse("A=1\nA=2\nB=3"), pairs(&[("A", "2"), ("B", "3")]));
    }

    #[test]
    fn yaml_style_keys() {
        assert_eq!(
            parse("A: 1\nURL: http://x:80/\nB:c=d"),
            pairs(&[("A", "1"), ("URL", "http://x:80/"), ("B", "c=d")])
        );
    }

    #[test]
    fn inline_comments_need_whitespace_before_them() {
        assert_eq!(
            parse("A=b #c\nB=b#c\nC=b\t# tab\nD= #only a comment\nE=#x\nF='q' # c\nG=\"q\"#c"),
            pairs(&[
                ("A", "b"),
                ("B", "b#c"),
                ("C", "b"),
                ("D", ""),
                ("E", "#x"),
                ("F", "q"),
                ("G", "q")
            ])
        );
    }

    #[test]
    fn single_quotes_are_literal() {
        assert_eq!(
            parse(
                r#"A='$HOME ${X:?no} \n "x"'
B='it\'s'
C='multi
line'"#
            ),
            pairs(&[
                ("A", r#"$HOME ${X:?no} \n "x""#),
                ("B", "it's"),
                ("C", "multi\nline")
            ])
        );
    }

    #[test]
    fn double_quotes_decode_escapes_and_interpolate() {
        assert_eq!(
            parse(
                r#"A="a\nb\tc\\d\"e\$HOME $HOME"
B="\q\\n"
C="line1
line2 # not a comment"
D=""
"#
            ),
            pairs(&[
                ("A", "a\nb\tc\\d\"e$HOME /home/me"),
                ("B", "\\q\\n"),
                ("C", "line1\nline2 # not a comment"),
                ("D", "")
            ])
        );
    }

    #[test]
    fn unquoted_values_interpolate_with_earlier_keys_first() {
        assert_eq!(
            parse("HOME=/override\nA=$HOME/x\nB=${MISSING:-def} ${A}\nC=${UNSET}|$EMPTY|\nD=a\\nb $$HOME"),
            pairs(&[
                ("HOME", "/override"),
                ("A", "/override/x"),
                ("B", "def /override/x"),
                ("C", "||"),
                ("D", "a\\nb $HOME")
            ])
        );
        assert_eq!(parse("A=${HOME}"), pairs(&[("A", "/home/me")]));
    }

    #[test]
    fn bare_keys_are_inherited_or_left_out() {
        assert_eq!(
            parse("INHERITED\nNOT_SET\nexport EMPTY\nA=1\n  INHERITED  "),
            pairs(&[("INHERITED", "from-env"), ("EMPTY", ""), ("A", "1")])
        );
        // A bare key asks the environment, not the file.
        assert_eq!(parse("X=1\nX"), pairs(&[("X", "1")]));
        let file: Arc<str> = Arc::from(".env");
        let export = |name: &str| (name == "export").then(|| "e".to_string());
        let vars = parse_dotenv("export  \nexport", &file, &export).unwrap();
        assert_eq!(
            vars.into_iter().collect::<Vec<_>>(),
            vec![("export".to_string(), "e".to_string())]
        );
    }

    #[test]
    fn syntax_errors_have_line_and_column() {
        assert_eq!(
            parse("A=1\n\n  B$=2\n"),
            Err(
                ".env:3:4: unexpected character '$' in variable name \"B$=2\"; names use \
                 letters, digits, '_', '.', '-', '[' and ']'"
                    .into()
            )
        );
        assert_eq!(
            parse("MY KEY=1"),
            Err(".env:1:1: invalid variable name \"MY KEY\": a name cannot contain spaces".into())
        );
        assert_eq!(
            parse("A=1\n=2"),
            Err(".env:2:1: missing variable name before '='".into())
        );
        assert_eq!(
            parse("A=1\nB=\"open\nstill open"),
            Err(
                ".env:2:3: B: unterminated quoted value: no closing \" before the end of the file"
                    .into()
            )
        );
        assert_eq!(
            parse("A='x' y"),
            Err(
                ".env:1:7: A: unexpected text after the closing '; expected the end of the line \
                 or a # comment"
                    .into()
            )
        );
        assert_eq!(
            parse("é=1\nB=${DB_PASS:?set it in .env}"),
            Err(".env:2:3: B: required variable DB_PASS is missing a value: set it in .env".into())
        );
        assert_eq!(
            parse("A=\"x ${\""),
            Err(
                ".env:1:3: A: invalid interpolation format for \"${\": missing the closing \
                 \"}\"; a literal $ is written $$"
                    .into()
            )
        );
    }

    /// Every text of up to 4 characters from the syntax's alphabet either parses or
    /// errors; none panics.
    #[test]
    fn short_inputs_never_panic() {
        let alphabet = [
            'A', '=', ':', '"', '\'', '\\', '#', ' ', '\n', '$', '\u{a0}', 'é',
        ];
        let mut inputs = vec![String::new()];
        for _ in 0..4 {
            let longer: Vec<String> = inputs
                .iter()
                .flat_map(|s| alphabet.iter().map(move |c| format!("{s}{c}")))
                .collect();
            for s in &longer {
                let _ = parse(s);
            }
            inputs = longer;
        }
        assert_eq!(inputs.len(), 12usize.pow(4));
    }
}
