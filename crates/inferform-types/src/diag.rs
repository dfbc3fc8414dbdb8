//! [`Diagnostic`]: a user-facing problem with a stable code, a location in a file, and a help
//! line. Diagnostics accumulate in [`Diagnostics`] beside results instead of stopping at the
//! first; they implement [`miette::Diagnostic`] so the binary renders them with the source
//! snippet underlined.

use std::fmt;
use std::ops::Range;
use std::sync::Arc;

use miette::{LabeledSpan, NamedSource};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Warning,
    Error,
}

/// Where a diagnostic points: a file, its text, and a byte range in it.
#[derive(Clone, Debug)]
pub struct SourceSpan {
    pub file: Arc<str>,
    pub text: Arc<str>,
    pub range: Range<usize>,
}

impl SourceSpan {
    pub fn new(file: Arc<str>, text: Arc<str>, range: Range<usize>) -> Self {
        SourceSpan { file, text, range }
    }

    /// 1-based line and column of the span's start.
    pub fn line_col(&self) -> (usize, usize) {
        let start = self.range.start.min(self.text.len());
        let before = &self.text[..floor_char_boundary(&self.text, start)];
        let line = before.matches('\n').count() + 1;
        let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        (line, col)
    }
}

fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// One problem found in the user's input or met while working on it.
#[derive(Clone, Debug)]
pub struct Diagnostic {
    pub severity: Severity,
    /// A stable code, such as `inferform::config::unknown_attribute`.
    pub code: String,
    pub message: String,
    /// The label under the underlined snippet.
    pub label: Option<String>,
    pub help: Option<String>,
    /// Boxed to keep `Result<_, Diagnostic>` small.
    pub span: Option<Box<SourceSpan>>,
}

impl Diagnostic {
    pub fn error(code: impl Into<String>, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Error,
            code: code.into(),
            message: message.into(),
            label: None,
            help: None,
            span: None,
        }
    }

    pub fn warning(code: impl Into<String>, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Warning,
            ..Self::error(code, message)
        }
    }

    pub fn with_span(mut self, span: SourceSpan) -> Self {
        self.span = Some(Box::new(span));
        self
    }

    pub fn with_span_opt(mut self, span: Option<SourceSpan>) -> Self {
        self.span = span.map(Box::new);
        self
    }

    pub fn with_label(mut self, label: impl Into<String>) -> Self {
        self.label = Some(label.into());
        self
    }

    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// `file:line:column`, when the diagnostic has a location.
    pub fn location(&self) -> Option<String> {
        self.span.as_ref().map(|s| {
            let (line, col) = s.line_col();
            format!("{}:{line}:{col}", s.file)
        })
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Diagnostic {}

impl miette::Diagnostic for Diagnostic {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new(&self.code))
    }

    fn severity(&self) -> Option<miette::Severity> {
        Some(match self.severity {
            Severity::Warning => miette::Severity::Warning,
            Severity::Error => miette::Severity::Error,
        })
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        self.span
            .as_ref()
            .map(|s| &s.text as &dyn miette::SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let span = self.span.as_ref()?;
        let len = span.range.end.saturating_sub(span.range.start);
        Some(Box::new(std::iter::once(LabeledSpan::new(
            self.label.clone(),
            span.range.start,
            len,
        ))))
    }
}

impl Diagnostic {
    /// The diagnostic with its source named by file, for renderers that show the file name.
    pub fn named_source(&self) -> Option<NamedSource<String>> {
        self.span
            .as_ref()
            .map(|s| NamedSource::new(&s.file, s.text.to_string()))
    }
}

/// Diagnostics gathered while doing one piece of work.
#[derive(Clone, Debug, Default)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl Diagnostics {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn push(&mut self, d: Diagnostic) {
        self.0.push(d);
    }

    pub fn extend(&mut self, other: Diagnostics) {
        self.0.extend(other.0);
    }

    pub fn has_errors(&self) -> bool {
        self.0.iter().any(Diagnostic::is_error)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &Diagnostic> {
        self.0.iter()
    }
}

impl IntoIterator for Diagnostics {
    type Item = Diagnostic;
    type IntoIter = std::vec::IntoIter<Diagnostic>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_and_column() {
        let text: Arc<str> = "a = 1\nbb = 2\n".into();
        let span = SourceSpan::new("main.hcl".into(), text, 7..9);
        assert_eq!(span.line_col(), (2, 2));
        let d = Diagnostic::error("x", "y").with_span(span);
        assert_eq!(d.location().unwrap(), "main.hcl:2:2");
    }
}
