//! Pass 1: reads lines (following includes and macro expansions), skips
//! conditional blocks, defines labels and sizes every statement, so that
//! every address is known before pass 2 encodes anything.

use std::collections::HashMap;
use std::path::PathBuf;
use std::rc::Rc;

use crate::Options;
use crate::cond::Cond;
use crate::diag::{Diagnostic, Problem, Severity};
use crate::directive::slice;
use crate::expr::{EvalError, Expr};
use crate::image::SourceLoc;
use crate::instrs::{self, Arg, Form};
use crate::lexer::{Span, first_word, lex};
use crate::parse::{LabelDef, Operand, Statement, parse_statement};
use crate::symbols::{Env, Section, SectionState, SymEntry, SymKind, SymValue, Symbols};

/// Where a line came from, shared by every statement and diagnostic of it.
#[derive(Debug)]
pub(crate) struct LineCtx {
    pub file_name: Rc<str>,
    pub line: u32,
    pub text: Rc<str>,
    /// Set inside a macro expansion: which macro, invoked where.
    pub note: Option<Rc<str>>,
    /// The line-map location (the invocation line inside a macro).
    pub map: SourceLoc,
}

/// What a statement emits.
#[derive(Debug)]
pub(crate) enum Body {
    Instr(Form, Vec<Arg>),
    /// `.byte`/`.half`/`.word`: width in bytes and one expression per item.
    Data(u8, Vec<Expr>),
    Bytes(Vec<u8>),
    /// `.space`: `size` copies of the byte.
    Fill(u8),
}

/// A sized statement, encoded in pass 2.
#[derive(Debug)]
pub(crate) struct Stmt {
    pub seq: u64,
    pub ctx: Rc<LineCtx>,
    pub section: Section,
    pub offset: u64,
    pub size: u64,
    pub body: Body,
}

/// A source of lines: a file, or a macro expansion.
#[derive(Debug)]
pub(crate) struct Frame {
    /// (index into `files`, 1-based line, text)
    pub lines: Vec<(u32, u32, Rc<str>)>,
    pub next: usize,
    /// Depth of the conditional stack when the frame started; an `.if` left
    /// open at the frame's end is an error.
    pub cond_depth: usize,
    /// The file's path as resolved (for relative includes); `None` for a
    /// macro or for source given as a string.
    pub path: Option<PathBuf>,
    /// Canonical path, for include-cycle detection.
    pub canon: Option<PathBuf>,
    pub macro_note: Option<Rc<str>>,
    pub map: Option<SourceLoc>,
    /// The file's display name (for include-cycle messages).
    pub name: String,
}

#[derive(Debug)]
pub(crate) struct MacroDef {
    pub params: Vec<(String, Option<String>)>,
    pub body: Vec<(u32, u32, Rc<str>)>,
}

#[derive(Debug)]
pub(crate) struct Recording {
    pub name: String,
    pub def: MacroDef,
    /// Nested `.macro` lines inside the body, so the right `.endm` ends it.
    pub depth: u32,
    pub ctx: Rc<LineCtx>,
}

/// The span of a line's first word.
pub(crate) fn word_span(text: &str) -> Span {
    let indent = text.chars().take_while(|c| c.is_whitespace()).count();
    Span::new(indent, first_word(text).chars().count())
}

/// Most lines processed, so runaway macro recursion ends with a diagnostic.
const MAX_LINES: u64 = 2_000_000;
/// Deepest include or macro nesting.
pub(crate) const MAX_NESTING: usize = 64;
/// Most errors reported; assembly stops at the next one, with a note.
pub(crate) const MAX_ERRORS: usize = 100;

/// The assembler's state through pass 1; pass 2 consumes it.
#[derive(Debug)]
pub(crate) struct Assembler<'o> {
    pub opts: &'o Options,
    pub files: Vec<String>,
    pub files_read: Vec<PathBuf>,
    /// Diagnostics with the sequence number of the line, for source order.
    pub diags: Vec<(u64, Diagnostic)>,
    /// Set when more than [`MAX_ERRORS`] errors were found: assembly stops.
    pub stopped: bool,
    pub stack: Vec<Frame>,
    pub conds: Vec<Cond>,
    pub macros: HashMap<String, Rc<MacroDef>>,
    pub recording: Option<Recording>,
    pub expansions: u64,
    pub syms: Symbols,
    pub sections: [SectionState; 2],
    pub cur: Section,
    pub stmts: Vec<Stmt>,
    pub seq: u64,
    pub entry: Option<(Expr, Rc<LineCtx>, u64)>,
    /// Where `_start` is defined as a label: line, sequence number, span.
    pub start_label: Option<(Rc<LineCtx>, u64, Span)>,
    pub globals: Vec<String>,
}

impl<'o> Assembler<'o> {
    pub(crate) fn new(opts: &'o Options) -> Self {
        let mut syms = Symbols::default();
        for (name, v) in &opts.defines {
            let entry = SymEntry {
                value: SymValue::Const(*v),
                kind: SymKind::Define,
                at: "the command line".into(),
                seq: 0,
            };
            syms.map.insert(name.clone(), entry);
        }
        let text = SectionState {
            base: Some(0),
            ..SectionState::default()
        };
        Assembler {
            opts,
            files: Vec::new(),
            files_read: Vec::new(),
            diags: Vec::new(),
            stopped: false,
            stack: Vec::new(),
            conds: Vec::new(),
            macros: HashMap::new(),
            recording: None,
            expansions: 0,
            syms,
            sections: [text, SectionState::default()],
            cur: Section::Text,
            stmts: Vec::new(),
            seq: 0,
            entry: None,
            start_label: None,
            globals: Vec::new(),
        }
    }

    /// Index of `name` in the file table, adding it if new.
    pub(crate) fn file_index(&mut self, name: &str) -> u32 {
        match self.files.iter().position(|f| f == name) {
            Some(i) => i as u32,
            None => {
                self.files.push(name.to_string());
                (self.files.len() - 1) as u32
            }
        }
    }

    /// Starts reading a file's text.
    pub(crate) fn push_file(&mut self, name: &str, path: Option<PathBuf>, text: &str) {
        let file = self.file_index(name);
        let lines = text
            .lines()
            .enumerate()
            .map(|(i, l)| (file, i as u32 + 1, Rc::from(l)))
            .collect();
        let canon = path
            .as_ref()
            .map(|p| p.canonicalize().unwrap_or_else(|_| p.clone()));
        self.stack.push(Frame {
            lines,
            next: 0,
            cond_depth: self.conds.len(),
            path,
            canon,
            macro_note: None,
            map: None,
            name: name.to_string(),
        });
    }

    pub(crate) fn error(&mut self, ctx: &LineCtx, p: Problem) {
        let message = match &ctx.note {
            Some(n) => format!("{}{n}", p.msg),
            None => p.msg,
        };
        let d = Diagnostic {
            file: ctx.file_name.to_string(),
            line: ctx.line,
            col: p.span.col + 1,
            width: p.span.len.max(1),
            message,
            hint: p.hint,
            source_line: ctx.text.to_string(),
            ..Diagnostic::default()
        };
        self.push_diag(self.seq, d);
    }

    /// Reports a problem with the program as a whole (no line), after the
    /// line diagnostics.
    pub(crate) fn file_error(&mut self, message: String) {
        let d = Diagnostic {
            file: self.files.first().cloned().unwrap_or_default(),
            message,
            ..Diagnostic::default()
        };
        self.push_diag(u64::MAX - 1, d);
    }

    /// Records a diagnostic at sequence number `seq`, unless the error limit
    /// has been reached: the first error past it adds a note and stops
    /// assembly instead.
    fn push_diag(&mut self, seq: u64, d: Diagnostic) {
        if self.stopped {
            return;
        }
        if self.diags.len() >= MAX_ERRORS {
            self.stopped = true;
            let note = Diagnostic {
                file: self.files.first().cloned().unwrap_or_default(),
                message: format!("too many errors; stopping after {MAX_ERRORS}"),
                severity: Severity::Note,
                ..Diagnostic::default()
            };
            self.diags.push((u64::MAX, note));
            return;
        }
        self.diags.push((seq, d));
    }

    /// Runs pass 1 over everything pushed with [`Assembler::push_file`].
    pub(crate) fn run(&mut self) {
        while let Some(ctx) = self.next_line() {
            if self.stopped {
                return;
            }
            self.seq += 1;
            if self.seq > MAX_LINES {
                let p = Problem::new(
                    "too many lines (runaway macro or include?)",
                    Span::default(),
                    "",
                );
                self.error(&ctx, p);
                return;
            }
            self.process(&ctx);
        }
        if let Some(rec) = self.recording.take() {
            let p = Problem::new(
                "`.macro` without `.endm`",
                Span::new(0, rec.ctx.text.len()),
                "add `.endm` after the macro body",
            );
            self.error(&rec.ctx, p);
        }
    }

    fn next_line(&mut self) -> Option<Rc<LineCtx>> {
        loop {
            let frame = self.stack.last_mut()?;
            if let Some((file, line, text)) = frame.lines.get(frame.next).cloned() {
                frame.next += 1;
                let map = frame.map.unwrap_or(SourceLoc { file, line });
                return Some(Rc::new(LineCtx {
                    file_name: Rc::from(self.files[file as usize].as_str()),
                    line,
                    text,
                    note: frame.macro_note.clone(),
                    map,
                }));
            }
            let frame = self.stack.pop()?;
            while self.conds.len() > frame.cond_depth {
                if let Some(c) = self.conds.pop() {
                    let end = if frame.macro_note.is_some() {
                        "macro"
                    } else {
                        "file"
                    };
                    let p = Problem::new(
                        "`.if` without matching `.endif`",
                        word_span(&c.ctx.text),
                        format!("add `.endif` before the end of the {end}"),
                    );
                    self.error(&c.ctx, p);
                }
            }
        }
    }

    fn process(&mut self, ctx: &Rc<LineCtx>) {
        let word = first_word(&ctx.text).to_string();
        let file = self.file_of(ctx);
        if let Some(rec) = &mut self.recording {
            match word.as_str() {
                ".macro" => rec.depth += 1,
                ".endm" if rec.depth == 0 => {
                    if let Some(rec) = self.recording.take() {
                        self.macros.insert(rec.name, Rc::new(rec.def));
                    }
                    return;
                }
                ".endm" => rec.depth -= 1,
                _ => {}
            }
            rec.def.body.push((file, ctx.line, ctx.text.clone()));
            return;
        }
        if matches!(
            word.as_str(),
            ".if" | ".ifdef" | ".ifndef" | ".elif" | ".else" | ".endif"
        ) {
            self.conditional(&word, ctx);
            return;
        }
        if !self.active() {
            return;
        }
        let st = match lex(&ctx.text).and_then(|t| parse_statement(&t)) {
            Ok(st) => st,
            Err(p) => return self.error(ctx, p),
        };
        self.statement(st, ctx);
    }

    fn file_of(&self, ctx: &LineCtx) -> u32 {
        self.files
            .iter()
            .position(|f| **f == *ctx.file_name)
            .unwrap_or(0) as u32
    }

    pub(crate) fn cond_len(&self) -> usize {
        self.conds.len()
    }

    pub(crate) fn active(&self) -> bool {
        self.conds.iter().all(|c| c.active)
    }

    fn statement(&mut self, st: Statement, ctx: &Rc<LineCtx>) {
        for label in &st.labels {
            self.define_label(label, ctx);
        }
        let Some((op, span)) = st.op else {
            return;
        };
        if op.starts_with('.') {
            self.directive(&op, span, &st.operands, ctx);
        } else if let Some(def) = self.macros.get(&op).cloned() {
            self.expand_macro(&op, span, &def, &st.operands, ctx);
        } else if let Some(form) = instrs::lookup(&op) {
            self.instruction(form, &op, span, &st.operands, ctx);
        } else {
            let p = Problem::new(
                format!("unknown mnemonic `{op}`"),
                span,
                "expected an instruction, pseudo-instruction or directive",
            );
            self.error(ctx, p);
        }
    }

    fn define_label(&mut self, label: &LabelDef, ctx: &Rc<LineCtx>) {
        let offset = self.sections[self.cur.idx()].loc;
        match label {
            LabelDef::Local(n, span) => {
                let text = slice(&ctx.text, *span);
                if !text.chars().all(|c| c.is_ascii_digit()) {
                    let p = Problem::new(
                        format!("invalid local label `{text}`"),
                        *span,
                        "local labels are decimal digits only, as in `1:`",
                    );
                    return self.error(ctx, p);
                }
                self.syms
                    .locals
                    .entry(*n)
                    .or_default()
                    .push((self.seq, self.cur, offset));
            }
            LabelDef::Named(name, span) => {
                if let Some(prev) = self.syms.map.get(name) {
                    let (what, hint) = match prev.kind {
                        SymKind::Label => {
                            ("duplicate label", format!("first defined at {}", prev.at))
                        }
                        _ => (
                            "label conflicts with constant",
                            format!("`{name}` is defined at {}", prev.at),
                        ),
                    };
                    let p = Problem::new(format!("{what} `{name}`"), *span, hint);
                    return self.error(ctx, p);
                }
                let entry = SymEntry {
                    value: SymValue::Label {
                        section: self.cur,
                        offset,
                    },
                    kind: SymKind::Label,
                    at: format!("{}:{}", ctx.file_name, ctx.line),
                    seq: self.seq,
                };
                self.syms.map.insert(name.clone(), entry);
                if name == "_start" {
                    self.start_label = Some((ctx.clone(), self.seq, *span));
                }
            }
        }
    }

    /// A resolver for the current position, with the bases known so far.
    pub(crate) fn env(&self) -> Env<'_> {
        Env {
            syms: &self.syms,
            bases: [self.sections[0].base, self.sections[1].base],
            section: self.cur,
            offset: self.sections[self.cur.idx()].loc,
            seq: self.seq,
            depth: 0,
        }
    }

    /// Evaluates an expression that must be known now (`.org`, `.if`, ...).
    pub(crate) fn eval_now(&self, e: &Expr, what: &str) -> Result<i64, Problem> {
        e.eval(&self.env()).map_err(|err| match err {
            EvalError::Unknown(p) => Problem::new(
                format!("{what} needs a value known at this line: {}", p.msg),
                p.span,
                p.hint,
            ),
            EvalError::Error(p) => p,
        })
    }

    /// Replaces constants defined so far by their values, so a later `.set`
    /// does not change what this statement means.
    pub(crate) fn fold(&self, e: &mut Expr) {
        let syms = &self.syms;
        e.fold(&|name| match syms.map.get(name).map(|s| &s.value) {
            Some(SymValue::Const(v)) => Some(*v),
            _ => None,
        });
    }

    /// Records a statement of `size` bytes at the location counter.
    pub(crate) fn push_stmt(&mut self, ctx: &Rc<LineCtx>, span: Span, size: u64, body: Body) {
        let sec = &self.sections[self.cur.idx()];
        let offset = sec.loc;
        let start = sec.base.unwrap_or(0).saturating_add(offset);
        if start.saturating_add(size) > 1 << 32 {
            let p = Problem::new(
                format!("statement at {start:#x} runs past the end of the 32-bit address space"),
                span,
                "",
            );
            return self.error(ctx, p);
        }
        self.sections[self.cur.idx()].emit(size);
        self.stmts.push(Stmt {
            seq: self.seq,
            ctx: ctx.clone(),
            section: self.cur,
            offset,
            size,
            body,
        });
    }

    fn instruction(
        &mut self,
        form: Form,
        name: &str,
        span: Span,
        ops: &[Operand],
        ctx: &Rc<LineCtx>,
    ) {
        let sec = &self.sections[self.cur.idx()];
        // An unknown data base is page-aligned, so the offset decides alignment.
        let addr = sec.base.unwrap_or(0).wrapping_add(sec.loc);
        if addr % 4 != 0 {
            let p = Problem::new(
                format!("instruction at unaligned address {addr:#x}"),
                span,
                "instructions must be 4-byte aligned; add `.align 4` before it",
            );
            return self.error(ctx, p);
        }
        let mut args = match instrs::parse_args(form, name, ops, span) {
            Ok(a) => a,
            Err(p) => return self.error(ctx, p),
        };
        for a in &mut args {
            if let Arg::Expr(e) | Arg::Mem(e, _) = a {
                self.fold(e);
            }
        }
        let size = instrs::size(form, &args, &self.env());
        self.push_stmt(ctx, span, size, Body::Instr(form, args));
    }
}
