//! Problems found in compose files: each one says where (file:line:col and key path),
//! what was wrong and, when it helps, what to do.

use super::node::{KeyPath, Span};
use std::fmt;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Error,
    Warning,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    pub severity: Severity,
    /// Where the offending node starts; `None` when it comes from no file.
    pub span: Option<Span>,
    /// `services.web.ports[0]`; empty for the document itself.
    pub path: KeyPath,
    pub message: String,
}

impl Diagnostic {
    pub fn error(span: Option<Span>, path: KeyPath, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Error,
            span,
            path,
            message: message.into(),
        }
    }

    pub fn warning(span: Option<Span>, path: KeyPath, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Warning,
            span,
            path,
            message: message.into(),
        }
    }

    /// An error found by a stage that only knows the key path; [`Diagnostic::locate`]
    /// fills the span in from the tree later.
    pub fn at_path(path: KeyPath, message: impl Into<String>) -> Self {
        Diagnostic::error(None, path, message)
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// Fills a missing span from the tree the path points into.
    pub fn locate(mut self, root: &super::node::Node) -> Self {
        if self.span.is_none() {
            self.span = Some(root.locate(&self.path));
        }
        self
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(span) = &self.span {
            write!(f, "{span}: ")?;
        }
        if self.severity == Severity::Warning {
            f.write_str("warning: ")?;
        }
        if !self.path.0.is_empty() {
            write!(f, "{}: ", self.path)?;
        }
        f.write_str(&self.message)
    }
}

/// Every problem found, in source order, so that one run reports them all.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl Diagnostics {
    pub fn push(&mut self, d: Diagnostic) {
        self.0.push(d);
    }

    pub fn extend(&mut self, ds: impl IntoIterator<Item = Diagnostic>) {
        self.0.extend(ds);
    }

    pub fn has_errors(&self) -> bool {
        self.0.iter().any(Diagnostic::is_error)
    }

    pub fn errors(&self) -> impl Iterator<Item = &Diagnostic> {
        self.0.iter().filter(|d| d.is_error())
    }

    pub fn warnings(&self) -> impl Iterator<Item = &Diagnostic> {
        self.0.iter().filter(|d| !d.is_error())
    }

    /// Sorts by file, line, column (problems without a position last), then removes
    /// exact duplicates.
    pub fn sort(&mut self) {
        self.0.sort_by(|a, b| {
            let ka = a.span.as_ref().map(|s| (0, s.file.clone(), s.line, s.col));
            let kb = b.span.as_ref().map(|s| (0, s.file.clone(), s.line, s.col));
            let ka = ka.unwrap_or((1, "".into(), 0, 0));
            let kb = kb.unwrap_or((1, "".into(), 0, 0));
            ka.cmp(&kb)
                .then_with(|| a.path.cmp(&b.path))
                .then_with(|| a.message.cmp(&b.message))
        });
        self.0.dedup();
    }
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{d}")?;
        }
        Ok(())
    }
}

/// The closest candidate to `word` within a small edit distance, for "did you mean".
pub fn suggest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let limit = (word.chars().count() / 3).clamp(1, 3);
    candidates
        .into_iter()
        .map(|c| (edit_distance(word, c), c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, c)| (*d, *c))
        .map(|(_, c)| c)
}

/// Edit distance over chars where a swap of two neighbours counts as one edit
/// (optimal string alignment), so `imgae` is one edit from `image`.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut v = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = v;
        }
    }
    d[a.len()][b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn suggests_close_keys_only() {
        let keys = ["image", "ports", "volumes", "environment"];
        assert_eq!(suggest("imgae", keys), Some("image"));
        assert_eq!(suggest("enviroment", keys), Some("environment"));
        assert_eq!(suggest("zzzzzz", keys), None);
    }

    #[test]
    fn renders_file_line_col_path_message() {
        let d = Diagnostic::error(
            Some(Span::new(Arc::from("compose.yaml"), 3, 7)),
            KeyPath::parse("services.web.ports[0]"),
            "expected a port",
        );
        assert_eq!(
            d.to_string(),
            "compose.yaml:3:7: services.web.ports[0]: expected a port"
        );
    }
}
