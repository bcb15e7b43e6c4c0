//! Errors from loading a cost model: what was wrong, where, and what to do.

use std::fmt;
use std::path::PathBuf;

/// Where in a cost file something was found: the file (or `<toml>`/`<json>`
/// for a string) and, when known, the 1-based line and column.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Location {
    /// The file's path, or `<toml>` / `<json>` for text not read from a file.
    pub origin: String,
    /// 1-based line and column, when the parser reports them.
    pub line_col: Option<(usize, usize)>,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line_col {
            Some((line, col)) => write!(f, "{}:{line}:{col}", self.origin),
            None => f.write_str(&self.origin),
        }
    }
}

/// Why a cost model could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum CostError {
    /// The file could not be read.
    #[error("cannot read cost file {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The operating system's reason.
        source: std::io::Error,
    },
    /// The file name does not end in `.toml` or `.json`.
    #[error(
        "{}: unknown cost file extension; name the file *.toml or *.json \
         (dump a preset to start from: CostModel::to_toml_string)",
        path.display()
    )]
    Extension {
        /// The file.
        path: PathBuf,
    },
    /// `--cost` named neither a preset nor a file.
    #[error("unknown cost model `{spec}`: not a preset ({known}) and not a .toml or .json file")]
    UnknownSpec {
        /// What was asked for.
        spec: String,
        /// The preset names.
        known: String,
    },
    /// The text is not valid TOML.
    #[error("{at}: malformed TOML: {message}")]
    Toml {
        /// Where the parser stopped.
        at: Location,
        /// The parser's message.
        message: String,
    },
    /// The text is not valid JSON.
    #[error("{at}: malformed JSON: {message}")]
    Json {
        /// Where the parser stopped.
        at: Location,
        /// The parser's message.
        message: String,
    },
    /// The document is not a table of fields (for example a JSON array).
    #[error("{at}: expected a table of cost fields at the top level, found {found}")]
    NotATable {
        /// The file.
        at: Location,
        /// What was found.
        found: &'static str,
    },
    /// A field the model does not have.
    #[error("{at}: unknown field `{field}`{}", suggestion_text(.suggestion))]
    UnknownField {
        /// Where the field is.
        at: Location,
        /// The field as written.
        field: String,
        /// The closest known field name, if one is close.
        suggestion: Option<String>,
    },
    /// Fields missing from a file without `base`.
    #[error(
        "{at}: missing field{} {}: without `base` every field is required; \
         add {}, or start the file with `base = \"p4-2006\"` (or \"modern\") to inherit the rest",
        plural(.fields),
        quoted(.fields),
        if .fields.len() == 1 { "it" } else { "them" }
    )]
    MissingField {
        /// The file.
        at: Location,
        /// Every missing field, in table order.
        fields: Vec<String>,
    },
    /// A field whose value has the wrong type.
    #[error("{at}: field `{field}` must be {expected}, found {found}")]
    WrongType {
        /// Where the value is.
        at: Location,
        /// The field.
        field: String,
        /// What the field takes.
        expected: &'static str,
        /// What was found (type and value).
        found: String,
    },
    /// A cost below zero.
    #[error(
        "{at}: field `{field}` is {value}, but a cost cannot be negative; use 0 or more cycles"
    )]
    Negative {
        /// Where the value is.
        at: Location,
        /// The field.
        field: String,
        /// The value.
        value: i64,
    },
    /// A cost too large to be a per-event cost (probably a typo).
    #[error(
        "{at}: field `{field}` is {value} cycles, above the limit of {max} for one event; \
         check for a typo (costs are cycles per event, not totals)"
    )]
    TooLarge {
        /// Where the value is.
        at: Location,
        /// The field.
        field: String,
        /// The value.
        value: u64,
        /// The limit, [`MAX_COST`](super::MAX_COST).
        max: u64,
    },
    /// `base` names no preset.
    #[error("{at}: unknown base preset `{base}`; known presets: {known}")]
    UnknownBase {
        /// Where `base` is.
        at: Location,
        /// The name given.
        base: String,
        /// The preset names.
        known: String,
    },
}

fn suggestion_text(s: &Option<String>) -> String {
    match s {
        Some(s) => format!("; did you mean `{s}`? Fix the name or remove the line"),
        None => "; remove it (docs/cost-model.md lists the fields)".to_owned(),
    }
}

fn plural(v: &[String]) -> &'static str {
    if v.len() == 1 { "" } else { "s" }
}

fn quoted(v: &[String]) -> String {
    v.iter()
        .map(|f| format!("`{f}`"))
        .collect::<Vec<_>>()
        .join(", ")
}
