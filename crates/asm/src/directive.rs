//! Directives (`.org`, `.word`, `.equ`, `.section`, `.include`, `.macro`, ...)
//! as pass 1 executes them, and macro expansion.

use std::path::{Path, PathBuf};
use std::rc::Rc;

use crate::diag::Problem;
use crate::expr::EvalError;
use crate::lexer::Span;
use crate::parse::{self, Operand};
use crate::pass1::{Assembler, Body, LineCtx, MAX_NESTING};
use crate::symbols::{Deferred, Section, SymEntry, SymKind, SymValue};

/// Largest `.space` and largest section, so a typo cannot allocate gigabytes.
pub(crate) const MAX_SECTION: u64 = 64 << 20;

/// Largest `.align` (1 MiB).
const MAX_ALIGN: u64 = 1 << 20;

/// The characters of `text` covered by `span`.
pub(crate) fn slice(text: &str, span: Span) -> String {
    text.chars()
        .skip(span.col as usize)
        .take(span.len as usize)
        .collect()
}

fn count(
    name: &str,
    ops: &[Operand],
    min: usize,
    max: usize,
    at: Span,
    usage: &str,
) -> Result<(), Problem> {
    if (min..=max).contains(&ops.len()) {
        return Ok(());
    }
    let span = ops.get(max).map_or(at, |o| o.span);
    Err(Problem::new(
        format!("wrong number of operands for `{name}`"),
        span,
        format!("expected `{name} {usage}`"),
    ))
}

impl Assembler<'_> {
    pub(crate) fn directive(&mut self, name: &str, span: Span, ops: &[Operand], ctx: &Rc<LineCtx>) {
        if let Err(p) = self.directive_inner(name, span, ops, ctx) {
            self.error(ctx, p);
        }
    }

    fn directive_inner(
        &mut self,
        name: &str,
        span: Span,
        ops: &[Operand],
        ctx: &Rc<LineCtx>,
    ) -> Result<(), Problem> {
        match name {
            ".org" => {
                count(name, ops, 1, 1, span, "address")?;
                let v = self.eval_now(&parse::expr(&ops[0])?, "`.org`")?;
                self.org(v, ops[0].span)
            }
            ".align" => {
                count(name, ops, 1, 1, span, "bytes (a power of two)")?;
                let v = self.eval_now(&parse::expr(&ops[0])?, "`.align`")?;
                self.align(v, ops[0].span)
            }
            ".byte" | ".half" | ".word" => {
                count(name, ops, 1, usize::MAX, span, "value, ...")?;
                let width = match name {
                    ".byte" => 1,
                    ".half" => 2,
                    _ => 4,
                };
                let mut items = Vec::with_capacity(ops.len());
                for op in ops {
                    let mut e = parse::expr(op)?;
                    self.fold(&mut e);
                    items.push(e);
                }
                let size = width as u64 * items.len() as u64;
                self.push_stmt(ctx, span, size, Body::Data(width, items));
                Ok(())
            }
            ".ascii" | ".asciz" => {
                count(name, ops, 1, usize::MAX, span, "\"text\", ...")?;
                let mut bytes = Vec::new();
                for op in ops {
                    bytes.extend(parse::string(op)?);
                    if name == ".asciz" {
                        bytes.push(0);
                    }
                }
                self.push_stmt(ctx, span, bytes.len() as u64, Body::Bytes(bytes));
                Ok(())
            }
            ".space" => {
                count(name, ops, 1, 2, span, "size[, fill]")?;
                let n = self.eval_now(&parse::expr(&ops[0])?, "`.space`")?;
                if !(0..=MAX_SECTION as i64).contains(&n) {
                    return Err(Problem::new(
                        format!("`.space` size {n} is out of range"),
                        ops[0].span,
                        format!("expected 0..={MAX_SECTION}"),
                    ));
                }
                let fill = match ops.get(1) {
                    Some(op) => self.eval_now(&parse::expr(op)?, "`.space` fill")?,
                    None => 0,
                };
                if !(-128..=255).contains(&fill) {
                    return Err(Problem::new(
                        format!("fill byte {fill} is out of range"),
                        ops[1].span,
                        "expected -128..=255",
                    ));
                }
                self.push_stmt(ctx, span, n as u64, Body::Fill(fill as u8));
                Ok(())
            }
            ".equ" | ".set" => {
                count(name, ops, 2, 2, span, "name, value")?;
                self.equ(name == ".set", &ops[0], &ops[1], ctx)
            }
            ".section" => {
                count(name, ops, 1, 1, span, "text|data")?;
                self.cur = match ops[0].toks.as_slice().first().and_then(|t| t.ident()) {
                    Some("text" | ".text") if ops[0].toks.len() == 1 => Section::Text,
                    Some("data" | ".data") if ops[0].toks.len() == 1 => Section::Data,
                    _ => {
                        let found = slice(&ctx.text, ops[0].span);
                        return Err(Problem::new(
                            format!("unknown section `{found}`"),
                            ops[0].span,
                            "expected `text` or `data`",
                        ));
                    }
                };
                Ok(())
            }
            ".text" | ".data" => {
                count(name, ops, 0, 0, span, "")?;
                self.cur = if name == ".text" {
                    Section::Text
                } else {
                    Section::Data
                };
                Ok(())
            }
            ".include" => {
                count(name, ops, 1, 1, span, "\"file\"")?;
                let file = String::from_utf8_lossy(&parse::string(&ops[0])?).into_owned();
                self.include(&file, ops[0].span)
            }
            ".macro" => self.start_macro(span, ops, ctx),
            ".endm" => Err(Problem::new(
                "`.endm` without `.macro`",
                span,
                "remove it or add a `.macro` before it",
            )),
            ".global" | ".globl" => {
                count(name, ops, 1, usize::MAX, span, "name, ...")?;
                for op in ops {
                    let (n, _) = parse::name(op)?;
                    self.globals.push(n);
                }
                Ok(())
            }
            ".entry" => {
                count(name, ops, 1, 1, span, "symbol")?;
                if self.entry.is_some() {
                    return Err(Problem::new(
                        "second `.entry`",
                        span,
                        "a program has one entry point",
                    ));
                }
                let mut e = parse::expr(&ops[0])?;
                self.fold(&mut e);
                self.entry = Some((e, ctx.clone(), self.seq));
                Ok(())
            }
            ".if" | ".ifdef" | ".ifndef" | ".elif" | ".else" | ".endif" => Err(Problem::new(
                format!("`{name}` must be the first word on its line"),
                span,
                "move the label to its own line",
            )),
            _ => Err(Problem::new(
                format!("unknown directive `{name}`"),
                span,
                "expected a directive such as .org, .align, .word, .ascii, .space, .equ, .section, .include, .macro, .if",
            )),
        }
    }

    fn org(&mut self, v: i64, span: Span) -> Result<(), Problem> {
        if !(0..=u32::MAX as i64).contains(&v) {
            return Err(Problem::new(
                format!("`.org` address {v} is out of range"),
                span,
                "expected 0..=0xffffffff",
            ));
        }
        let v = v as u64;
        let sec = &mut self.sections[self.cur.idx()];
        match sec.base {
            Some(base) => {
                let here = base + sec.loc;
                if v < here {
                    return Err(Problem::new(
                        format!(
                            "`.org` cannot move the location counter backwards (from {here:#x} to {v:#x})"
                        ),
                        span,
                        "`.org` only moves forward within a section",
                    ));
                }
                sec.set_loc(v - base);
            }
            None if sec.first.is_none() && sec.loc == 0 => sec.base = Some(v),
            None => {
                return Err(Problem::new(
                    "`.org` in the data section must come before its first data",
                    span,
                    "the data base address is only known after the text is placed",
                ));
            }
        }
        Ok(())
    }

    /// `.align N` aligns the location counter to N bytes (N a power of two),
    /// padding with zeros if more bytes follow.
    fn align(&mut self, n: i64, span: Span) -> Result<(), Problem> {
        let sec = &mut self.sections[self.cur.idx()];
        if !(1..=MAX_ALIGN as i64).contains(&n) || n & (n - 1) != 0 {
            return Err(Problem::new(
                format!("`.align` needs a power of two from 1 to {MAX_ALIGN}, found {n}"),
                span,
                "expected a byte alignment such as 4 or 4096",
            ));
        }
        // An unplaced data section only knows its base is page-aligned, so
        // offsets alone cannot give a larger alignment.
        if sec.base.is_none() && n > 4096 {
            return Err(Problem::new(
                format!(
                    "`.align {n}` in a data section whose address is not fixed yet: the limit there is 4096"
                ),
                span,
                "the data section is only known to start on a 4 KiB boundary; fix its address with `.org` before its first data to align further",
            ));
        }
        let n = n as u64;
        let base = sec.base.unwrap_or(0);
        let here = base + sec.loc;
        let aligned = (here + n - 1) & !(n - 1);
        sec.set_loc(aligned - base);
        Ok(())
    }

    fn equ(
        &mut self,
        set: bool,
        name_op: &Operand,
        value_op: &Operand,
        ctx: &Rc<LineCtx>,
    ) -> Result<(), Problem> {
        let (name, span) = parse::name(name_op)?;
        if let Some(prev) = self.syms.map.get(&name) {
            if !(set && prev.kind == SymKind::Set) {
                let hint = if set || prev.kind != SymKind::Set {
                    format!("first defined at {}", prev.at)
                } else {
                    format!("defined with `.set` at {}; use `.set` to redefine", prev.at)
                };
                return Err(Problem::new(
                    format!("symbol `{name}` is already defined"),
                    span,
                    hint,
                ));
            }
        }
        let mut e = parse::expr(value_op)?;
        self.fold(&mut e);
        let value = match e.eval(&self.env()) {
            Ok(v) => SymValue::Const(v),
            Err(EvalError::Error(p)) => return Err(p),
            // Uses capture a `.set` value at their own line, so it must be
            // known here; a deferred value would be the last one everywhere.
            Err(EvalError::Unknown(p)) if set => {
                return Err(Problem::new(
                    format!(
                        "`.set` values must be known where they are set; use `.equ` for forward references: {}",
                        p.msg
                    ),
                    p.span,
                    p.hint,
                ));
            }
            // Refers to something defined later: evaluate when used.
            Err(EvalError::Unknown(_)) => SymValue::Deferred(Rc::new(Deferred {
                expr: e,
                section: self.cur,
                offset: self.sections[self.cur.idx()].loc,
                seq: self.seq,
                ctx: ctx.clone(),
            })),
        };
        let kind = if set { SymKind::Set } else { SymKind::Equ };
        let at = format!("{}:{}", ctx.file_name, ctx.line);
        let seq = self.seq;
        self.syms.map.insert(
            name,
            SymEntry {
                value,
                kind,
                at,
                seq,
            },
        );
        Ok(())
    }

    fn include(&mut self, file: &str, span: Span) -> Result<(), Problem> {
        if self.stack.len() >= MAX_NESTING {
            return Err(Problem::new("includes nested too deeply", span, ""));
        }
        let rel = Path::new(file);
        let mut candidates = Vec::new();
        if rel.is_absolute() {
            candidates.push(rel.to_path_buf());
        } else {
            // The including file's directory; for source given as a string,
            // the current directory.
            let file_frame = self.stack.iter().rev().find(|f| f.macro_note.is_none());
            let dir = file_frame
                .and_then(|f| f.path.as_ref())
                .and_then(|p| p.parent());
            candidates.push(dir.map_or_else(|| rel.to_path_buf(), |d| d.join(rel)));
            candidates.extend(self.opts.include_dirs.iter().map(|d| d.join(rel)));
        }
        let Some(path) = candidates.iter().find(|p| p.is_file()).cloned() else {
            let searched: Vec<String> =
                candidates.iter().map(|p| p.display().to_string()).collect();
            return Err(Problem::new(
                format!("cannot find include file `{file}`"),
                span,
                format!("searched {}", searched.join(", ")),
            ));
        };
        let display = path.display().to_string();
        let canon = path.canonicalize().unwrap_or_else(|_| path.clone());
        if let Some(pos) = self
            .stack
            .iter()
            .position(|f| f.canon.as_ref() == Some(&canon))
        {
            let mut chain: Vec<&str> = self.stack[pos..]
                .iter()
                .filter(|f| f.macro_note.is_none())
                .map(|f| f.name.as_str())
                .collect();
            chain.push(&display);
            return Err(Problem::new(
                format!("include cycle: {}", chain.join(" -> ")),
                span,
                "a file may not include itself, directly or indirectly",
            ));
        }
        let text = read_text(&path).map_err(|msg| {
            Problem::new(
                format!("cannot read include file `{display}`: {msg}"),
                span,
                "",
            )
        })?;
        self.files_read.push(path.clone());
        self.push_file(&display, Some(path), &text);
        Ok(())
    }
}

/// Reads a source file as UTF-8 text.
pub(crate) fn read_text(path: &PathBuf) -> Result<String, String> {
    let bytes = std::fs::read(path).map_err(|e| e.to_string())?;
    String::from_utf8(bytes).map_err(|_| "not valid UTF-8".to_string())
}
