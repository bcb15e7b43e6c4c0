//! Diagnostics: what went wrong, where, and what was expected, rendered in
//! the rustc style (`--> file:line:col`, the source line, a caret run).

use std::fmt;

use crate::lexer::Span;

/// How serious a diagnostic is. The assembler reports errors, and one note
/// when it stops early because there are too many errors.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum Severity {
    /// The program cannot be assembled.
    #[default]
    Error,
    /// Information about the other diagnostics (`too many errors; stopping
    /// after 100`); never the only diagnostic.
    Note,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Severity::Error => f.write_str("error"),
            Severity::Note => f.write_str("note"),
        }
    }
}

/// One problem in the source, with its location.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Diagnostic {
    /// File name as given to the assembler (or as resolved for an include).
    pub file: String,
    /// 1-based line; 0 when the problem has no line (a file that cannot be
    /// read, a program with no code, the too-many-errors note).
    pub line: u32,
    /// 1-based column (in characters) of the offending token.
    pub col: u32,
    /// Width in characters of the offending token (the caret run), at least 1.
    pub width: u32,
    /// What went wrong.
    pub message: String,
    /// What was expected, printed after the carets (may be empty).
    pub hint: String,
    /// The text of the offending line (after macro substitution).
    pub source_line: String,
    /// [`Severity::Error`], except for the note that ends a list cut short
    /// by the error limit.
    pub severity: Severity,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.severity, self.message)?;
        if self.line == 0 {
            return write!(f, "\n  --> {}", self.file);
        }
        // The gutter is at least two columns wide, so one-digit line numbers
        // are indented like the `-->` arrow.
        let w = self.line.to_string().len().max(2);
        let pad = " ".repeat(w);
        write!(f, "\n{pad}--> {}:{}:{}", self.file, self.line, self.col)?;
        write!(f, "\n{pad} |")?;
        write!(f, "\n{:>w$} | {}", self.line, self.source_line)?;
        // Reproduce tabs before the caret so it lines up under the token in
        // any terminal, whatever its tab width.
        let lead: String = self
            .source_line
            .chars()
            .chain(std::iter::repeat(' '))
            .take(self.col.saturating_sub(1) as usize)
            .map(|c| if c == '\t' { '\t' } else { ' ' })
            .collect();
        let carets = "^".repeat(self.width.max(1) as usize);
        write!(f, "\n{pad} | {lead}{carets}")?;
        if !self.hint.is_empty() {
            write!(f, " {}", self.hint)?;
        }
        Ok(())
    }
}

/// Every problem found in a program, in source order. Assembly reports all
/// of them, not only the first.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n\n")?;
            }
            d.fmt(f)?;
        }
        Ok(())
    }
}

impl std::error::Error for Diagnostics {}

/// A problem found while looking at one line, before it is attached to the
/// line's location: the message, the token it is about and the hint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Problem {
    pub msg: String,
    pub span: Span,
    pub hint: String,
}

impl Problem {
    pub(crate) fn new(msg: impl Into<String>, span: Span, hint: impl Into<String>) -> Problem {
        Problem {
            msg: msg.into(),
            span,
            hint: hint.into(),
        }
    }
}
