//! Sections with their location counters, the symbol table, local numeric
//! labels, and the resolver that gives expressions their values.

use std::collections::HashMap;
use std::rc::Rc;

use crate::diag::Problem;
use crate::expr::{EvalError, Expr, Resolver};
use crate::lexer::Span;
use crate::pass1::LineCtx;

/// The two sections; each has its own location counter.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Section {
    Text,
    Data,
}

impl Section {
    pub(crate) fn idx(self) -> usize {
        self as usize
    }
}

/// A section's location counter. Offsets are relative to `base`, which is 0
/// for text and, for data, unknown until the end of pass 1 (the page after
/// the text) unless `.org` fixes it.
#[derive(Clone, Debug, Default)]
pub(crate) struct SectionState {
    pub base: Option<u64>,
    pub loc: u64,
    /// Offset of the first emitted byte, if any.
    pub first: Option<u64>,
    /// One past the last emitted byte.
    pub end: u64,
    /// Largest value the location counter reached (for placing data after text).
    pub high: u64,
}

impl SectionState {
    /// Moves the location counter to `loc`.
    pub(crate) fn set_loc(&mut self, loc: u64) {
        self.loc = loc;
        self.high = self.high.max(loc);
    }

    /// Records `size` emitted bytes at the location counter and advances it.
    pub(crate) fn emit(&mut self, size: u64) {
        if size > 0 {
            self.first = Some(self.first.map_or(self.loc, |f| f.min(self.loc)));
            self.end = self.end.max(self.loc + size);
        }
        self.set_loc(self.loc + size);
    }
}

/// How a symbol got its value (duplicate and redefinition rules differ).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SymKind {
    Label,
    Equ,
    Set,
    /// `-D NAME=VALUE` from the options.
    Define,
}

/// A `.equ` whose expression refers to something not known yet: evaluated
/// on demand with the `.` and local-label context of its definition.
#[derive(Debug)]
pub(crate) struct Deferred {
    pub expr: Expr,
    pub section: Section,
    pub offset: u64,
    pub seq: u64,
    pub ctx: Rc<LineCtx>,
}

#[derive(Clone, Debug)]
pub(crate) enum SymValue {
    Label { section: Section, offset: u64 },
    Const(i64),
    Deferred(Rc<Deferred>),
}

#[derive(Clone, Debug)]
pub(crate) struct SymEntry {
    pub value: SymValue,
    pub kind: SymKind,
    /// `file:line` of the definition, for "first defined at".
    pub at: String,
    /// Sequence number of the defining line (for `.set`, the latest one).
    pub seq: u64,
}

/// All symbols and local labels.
#[derive(Debug, Default)]
pub(crate) struct Symbols {
    pub map: HashMap<String, SymEntry>,
    /// Local label number -> definitions in source order (sequence number,
    /// section, offset).
    pub locals: HashMap<u32, Vec<(u64, Section, u64)>>,
}

/// Resolves names against the symbol table. `bases` holds the section bases
/// known so far, so the same resolver serves pass 1 (some unknown) and
/// pass 2 (all known).
pub(crate) struct Env<'a> {
    pub syms: &'a Symbols,
    pub bases: [Option<u64>; 2],
    pub section: Section,
    pub offset: u64,
    pub seq: u64,
    pub depth: u32,
}

fn unknown(msg: String, span: Span, hint: &str) -> EvalError {
    EvalError::Unknown(Problem::new(msg, span, hint))
}

impl Env<'_> {
    fn address(
        &self,
        section: Section,
        offset: u64,
        what: &str,
        span: Span,
    ) -> Result<i64, EvalError> {
        match self.bases[section.idx()] {
            Some(b) => Ok(b.wrapping_add(offset) as i64),
            None => Err(unknown(
                format!("the address of {what} is not known yet"),
                span,
                "the data section is placed after the text; define it earlier or use `.org`",
            )),
        }
    }
}

impl Resolver for Env<'_> {
    fn symbol(&self, name: &str, span: Span) -> Result<i64, EvalError> {
        let Some(entry) = self.syms.map.get(name) else {
            return Err(unknown(
                format!("undefined symbol `{name}`"),
                span,
                "not defined as a label or with .equ/.set",
            ));
        };
        // Uses of a `.set` symbol after a `.set` line are folded to the value
        // current there, so one that reaches here stands before the first
        // `.set`, where the name is not defined yet.
        if entry.kind == SymKind::Set && self.seq < entry.seq {
            return Err(unknown(
                format!("undefined symbol `{name}`"),
                span,
                &format!(
                    "`{name}` is only defined from its first `.set` on (last set at {})",
                    entry.at
                ),
            ));
        }
        match &entry.value {
            SymValue::Const(v) => Ok(*v),
            SymValue::Label { section, offset } => {
                self.address(*section, *offset, &format!("`{name}`"), span)
            }
            SymValue::Deferred(d) => {
                if self.depth > 64 {
                    return Err(EvalError::Error(Problem::new(
                        format!("circular definition of `{name}`"),
                        span,
                        "the symbol's value depends on itself",
                    )));
                }
                let inner = Env {
                    syms: self.syms,
                    bases: self.bases,
                    section: d.section,
                    offset: d.offset,
                    seq: d.seq,
                    depth: self.depth + 1,
                };
                // Report problems at the use, which is the line being assembled.
                d.expr.eval(&inner).map_err(|e| match e {
                    EvalError::Unknown(p) => EvalError::Unknown(Problem::new(
                        format!("{} (in the value of `{name}`)", p.msg),
                        span,
                        p.hint,
                    )),
                    EvalError::Error(p) => EvalError::Error(Problem::new(
                        format!("{} (in the value of `{name}`)", p.msg),
                        span,
                        p.hint,
                    )),
                })
            }
        }
    }

    fn dot(&self, span: Span) -> Result<i64, EvalError> {
        self.address(self.section, self.offset, "`.`", span)
    }

    fn local(&self, n: u32, forward: bool, span: Span) -> Result<i64, EvalError> {
        let defs = self.syms.locals.get(&n).map_or(&[][..], Vec::as_slice);
        // A label on the statement's own line counts as preceding it.
        let split = defs.partition_point(|d| d.0 <= self.seq);
        let def = if forward {
            defs.get(split)
        } else {
            split.checked_sub(1).and_then(|i| defs.get(i))
        };
        let dir = if forward { 'f' } else { 'b' };
        match def {
            Some(&(_, section, offset)) => {
                self.address(section, offset, &format!("`{n}{dir}`"), span)
            }
            None => Err(unknown(
                format!(
                    "no local label `{n}:` {}",
                    if forward {
                        "after this line"
                    } else {
                        "before this line"
                    }
                ),
                span,
                if forward {
                    "`Nf` refers to the next `N:`"
                } else {
                    "`Nb` refers to the previous `N:`"
                },
            )),
        }
    }
}
