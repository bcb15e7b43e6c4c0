//! Cost files: TOML or JSON in, TOML out.
//!
//! Both formats are read into one list of `(field, value, location)` and
//! checked by one function, so they accept and reject exactly the same
//! documents and give the same messages.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::{Category, CostError, CostModel, Event, Location, MAX_COST, presets};

/// A field's value, whichever format it came from.
enum Raw {
    Int(i128),
    Float(f64),
    Bool(bool),
    Str(String),
    Other(&'static str),
}

impl Raw {
    /// "a float (1.5)": for wrong-type messages.
    fn describe(&self) -> String {
        match self {
            Raw::Int(v) => format!("an integer ({v})"),
            Raw::Float(v) => format!("a float ({v})"),
            Raw::Bool(v) => format!("a boolean ({v})"),
            Raw::Str(v) => format!("a string ({v:?})"),
            Raw::Other(kind) => (*kind).to_owned(),
        }
    }
}

struct Field {
    key: String,
    /// Where the key is (unknown-field errors point here).
    key_at: Location,
    value: Raw,
    /// Where the value is (type and range errors point here).
    value_at: Location,
}

/// 1-based line and column of byte `offset` in `text`.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

pub(super) fn from_toml(text: &str, origin: &str) -> Result<CostModel, CostError> {
    let table: BTreeMap<toml::Spanned<String>, toml::Spanned<toml::Value>> =
        toml::from_str(text).map_err(|e| CostError::Toml {
            at: Location {
                origin: origin.to_owned(),
                line_col: e.span().map(|s| line_col(text, s.start)),
            },
            message: e.message().trim().to_owned(),
        })?;
    let at = |offset: usize| Location {
        origin: origin.to_owned(),
        line_col: Some(line_col(text, offset)),
    };
    let mut fields: Vec<Field> = table
        .into_iter()
        .map(|(key, spanned)| {
            let value_at = at(spanned.span().start);
            let value = match spanned.into_inner() {
                toml::Value::Integer(v) => Raw::Int(i128::from(v)),
                toml::Value::Float(v) => Raw::Float(v),
                toml::Value::Boolean(v) => Raw::Bool(v),
                toml::Value::String(v) => Raw::Str(v),
                toml::Value::Datetime(_) => Raw::Other("a date-time"),
                toml::Value::Array(_) => Raw::Other("an array"),
                toml::Value::Table(_) => Raw::Other("a table"),
            };
            Field {
                key_at: at(key.span().start),
                key: key.into_inner(),
                value,
                value_at,
            }
        })
        .collect();
    // Report problems in the order a reader meets them.
    fields.sort_by_key(|f| f.key_at.line_col);
    build(&fields, origin)
}

pub(super) fn from_json(text: &str, origin: &str) -> Result<CostModel, CostError> {
    let value: serde_json::Value = serde_json::from_str(text).map_err(|e| {
        // serde_json appends " at line L column C"; the location says it already.
        let full = e.to_string();
        let message = match full.rfind(" at line ") {
            Some(i) => full[..i].to_owned(),
            None => full,
        };
        CostError::Json {
            at: Location {
                origin: origin.to_owned(),
                line_col: Some((e.line(), e.column())),
            },
            message,
        }
    })?;
    let at = || Location {
        origin: origin.to_owned(),
        line_col: None,
    };
    let serde_json::Value::Object(map) = value else {
        let found = match value {
            serde_json::Value::Array(_) => "an array",
            serde_json::Value::String(_) => "a string",
            serde_json::Value::Number(_) => "a number",
            serde_json::Value::Bool(_) => "a boolean",
            _ => "null",
        };
        return Err(CostError::NotATable { at: at(), found });
    };
    let fields: Vec<Field> = map
        .into_iter()
        .map(|(key, v)| {
            let value = match v {
                serde_json::Value::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
                    (Some(i), _, _) => Raw::Int(i128::from(i)),
                    (None, Some(u), _) => Raw::Int(i128::from(u)),
                    (None, None, Some(f)) => Raw::Float(f),
                    _ => Raw::Other("a number"),
                },
                serde_json::Value::Bool(b) => Raw::Bool(b),
                serde_json::Value::String(s) => Raw::Str(s),
                serde_json::Value::Null => Raw::Other("null"),
                serde_json::Value::Array(_) => Raw::Other("an array"),
                serde_json::Value::Object(_) => Raw::Other("an object"),
            };
            Field {
                key,
                key_at: at(),
                value,
                value_at: at(),
            }
        })
        .collect();
    build(&fields, origin)
}

/// Every key a cost file may hold, for suggestions.
fn known_keys() -> impl Iterator<Item = &'static str> {
    ["base", "name", "tlb_tagged"]
        .into_iter()
        .chain(Event::ALL.iter().map(|e| e.name()))
}

/// The known key closest to `key`, if it is close enough to be a typo.
fn suggest(key: &str) -> Option<String> {
    let key = key.to_ascii_lowercase().replace('-', "_");
    known_keys()
        .map(|k| (edit_distance(&key, k), k))
        .min()
        .filter(|(d, k)| *d <= (k.len() / 3).max(2))
        .map(|(_, k)| k.to_owned())
}

/// Levenshtein distance, by the textbook two-row dynamic program.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != *cb);
            cur[j + 1] = sub.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

fn wrong_type(f: &Field, expected: &'static str) -> CostError {
    CostError::WrongType {
        at: f.value_at.clone(),
        field: f.key.clone(),
        expected,
        found: f.value.describe(),
    }
}

fn known_presets() -> String {
    presets::NAMES.join(", ")
}

/// Check the fields and build the model: `base` first, then every field in
/// file order; without `base` every field is required.
fn build(fields: &[Field], origin: &str) -> Result<CostModel, CostError> {
    let mut base = None;
    for f in fields.iter().filter(|f| f.key == "base") {
        let Raw::Str(name) = &f.value else {
            return Err(wrong_type(
                f,
                "a preset name (a string such as \"p4-2006\")",
            ));
        };
        let model = CostModel::preset(name).ok_or_else(|| CostError::UnknownBase {
            at: f.value_at.clone(),
            base: name.clone(),
            known: known_presets(),
        })?;
        base = Some(model);
    }
    let inherited = base.is_some();
    // Without a base every field is overwritten or reported missing, so the
    // starting values never show.
    let mut model = match base {
        Some(mut m) => {
            m.name = format!("{}+custom", m.name);
            m
        }
        None => presets::Preset::ALL[0].model(),
    };
    let mut have_name = false;
    let mut have_tagged = false;
    let mut have = [false; Event::COUNT];
    for f in fields {
        match f.key.as_str() {
            "base" => {}
            "name" => {
                let Raw::Str(name) = &f.value else {
                    return Err(wrong_type(f, "a string"));
                };
                model.name.clone_from(name);
                have_name = true;
            }
            "tlb_tagged" => {
                let Raw::Bool(b) = f.value else {
                    return Err(wrong_type(f, "a boolean (true or false)"));
                };
                model.tlb_tagged = b;
                have_tagged = true;
            }
            key => {
                let Some(event) = Event::from_name(key) else {
                    return Err(CostError::UnknownField {
                        at: f.key_at.clone(),
                        field: key.to_owned(),
                        suggestion: suggest(key),
                    });
                };
                model.set_cost(event, cost_value(f)?);
                have[event.index()] = true;
            }
        }
    }
    if !inherited {
        let missing: Vec<String> = [("name", have_name), ("tlb_tagged", have_tagged)]
            .into_iter()
            .chain(Event::ALL.iter().map(|e| (e.name(), have[e.index()])))
            .filter(|(_, present)| !present)
            .map(|(name, _)| name.to_owned())
            .collect();
        if !missing.is_empty() {
            return Err(CostError::MissingField {
                at: Location {
                    origin: origin.to_owned(),
                    line_col: None,
                },
                fields: missing,
            });
        }
    }
    Ok(model)
}

fn cost_value(f: &Field) -> Result<u64, CostError> {
    let Raw::Int(v) = f.value else {
        return Err(wrong_type(
            f,
            "a whole number of cycles (an integer such as 1360)",
        ));
    };
    if v < 0 {
        return Err(CostError::Negative {
            at: f.value_at.clone(),
            field: f.key.clone(),
            value: i64::try_from(v).unwrap_or(i64::MIN),
        });
    }
    match u64::try_from(v) {
        Ok(c) if c <= MAX_COST => Ok(c),
        _ => Err(CostError::TooLarge {
            at: f.value_at.clone(),
            field: f.key.clone(),
            value: u64::try_from(v).unwrap_or(u64::MAX),
            max: MAX_COST,
        }),
    }
}

/// A TOML basic string: quotes, backslashes and control characters escaped.
fn toml_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04X}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

pub(super) fn to_toml(model: &CostModel) -> String {
    let mut out = String::new();
    out.push_str(
        "# vmlab cost model: modeled cycles per event (docs/cost-model.md).\n\
         # Edit and load it back with `--cost FILE`. To change only a few\n\
         # fields, keep those and add `base = \"p4-2006\"` (or \"modern\").\n\n",
    );
    let _ = writeln!(out, "name = {}", toml_string(&model.name));
    let _ = writeln!(
        out,
        "# Whether world switches keep the TLB (false: each one flushes it)."
    );
    let _ = writeln!(out, "tlb_tagged = {}", model.tlb_tagged);
    let mut category: Option<Category> = None;
    for &event in Event::ALL {
        if category != Some(event.category()) {
            category = Some(event.category());
            let _ = writeln!(out, "\n# {}", event.category());
        }
        let _ = writeln!(out, "# {}", event.description());
        let _ = writeln!(out, "{} = {}", event.name(), model.cost(event));
    }
    out
}
