//! Pass 2: places the data section, encodes every statement with all
//! addresses known, and builds the [`Image`].

use vmlab_isa::encode;

use crate::diag::{Diagnostics, Problem};
use crate::directive::MAX_SECTION;
use crate::expr::{EvalError, Expr};
use crate::image::{Image, Segment, SegmentKind, SourceLoc, Symbol};
use crate::instrs;
use crate::lexer::Span;
use crate::pass1::{Assembler, Body, Stmt};
use crate::symbols::{Env, Section, SymKind, SymValue};

/// A segment being filled: absolute start address, offset of its first
/// byte within the section, and the bytes.
struct Buf {
    start: u64,
    first: u64,
    data: Vec<u8>,
}

fn align_up(v: u64, to: u64) -> u64 {
    v.div_ceil(to) * to
}

/// Runs pass 2 and returns the image, or every diagnostic of both passes.
pub(crate) fn finish(asm: &mut Assembler<'_>) -> Result<Image, Diagnostics> {
    if asm.stopped {
        return Err(take_diags(asm));
    }
    let stmts = std::mem::take(&mut asm.stmts);
    // Data goes on the page after the text unless `.org` placed it.
    let text = &asm.sections[0];
    let data_base = asm.sections[1]
        .base
        .unwrap_or_else(|| align_up(text.high.max(text.end), 4096));
    asm.sections[1].base = Some(data_base);
    let bases = [Some(0), Some(data_base)];

    let mut bufs: [Option<Buf>; 2] = [None, None];
    for (i, buf) in bufs.iter_mut().enumerate() {
        let sec = &asm.sections[i];
        let Some(first) = sec.first else { continue };
        let start = data_base * i as u64 + first;
        let len = sec.end - first;
        let problem = if len > MAX_SECTION {
            Some(format!(
                "section is {len} bytes, more than the {MAX_SECTION}-byte limit"
            ))
        } else if start + len > 1 << 32 {
            Some(format!(
                "section at {start:#x} runs past the end of the 32-bit address space"
            ))
        } else {
            None
        };
        match problem {
            Some(msg) => report_section(asm, &stmts, i, msg),
            None => {
                *buf = Some(Buf {
                    start,
                    first,
                    data: vec![0; len as usize],
                })
            }
        }
    }
    if let [Some(t), Some(d)] = &bufs {
        let (t_end, d_end) = (t.start + t.data.len() as u64, d.start + d.data.len() as u64);
        if t.start < d_end && d.start < t_end {
            let msg = format!(
                "data segment {:#x}..{d_end:#x} overlaps text segment {:#x}..{t_end:#x}",
                d.start, t.start
            );
            report_section(asm, &stmts, 1, msg);
        }
    }

    let mut lines = Vec::new();
    for st in &stmts {
        if asm.stopped {
            break;
        }
        let env = Env {
            syms: &asm.syms,
            bases,
            section: st.section,
            offset: st.offset,
            seq: st.seq,
            depth: 0,
        };
        let addr = bases[st.section.idx()].unwrap_or(0) + st.offset;
        match emit(st, addr as u32, &env) {
            Ok(bytes) => {
                if let Some(buf) = &mut bufs[st.section.idx()] {
                    let at = (st.offset - buf.first) as usize;
                    if let Some(dst) = buf.data.get_mut(at..at + bytes.len()) {
                        dst.copy_from_slice(&bytes);
                    }
                }
                let loc = st.ctx.map;
                if matches!(st.body, Body::Instr(..)) {
                    lines.extend((0..st.size / 4).map(|k| ((addr + 4 * k) as u32, loc)));
                } else if st.size > 0 {
                    lines.push((addr as u32, loc));
                }
            }
            Err(p) => {
                asm.seq = st.seq;
                asm.error(&st.ctx, p);
            }
        }
    }
    lines.sort_by_key(|l: &(u32, SourceLoc)| l.0);

    let symbols = symbols(asm, bases);
    let text = bufs[0]
        .as_ref()
        .map(|b| (b.start, b.start + b.data.len() as u64));
    let entry = entry(asm, bases, text);
    if !asm.diags.is_empty() {
        return Err(take_diags(asm));
    }
    let kinds = [SegmentKind::Text, SegmentKind::Data];
    let mut segments: Vec<Segment> = bufs
        .into_iter()
        .zip(kinds)
        .filter_map(|(b, kind)| {
            b.map(|b| Segment {
                addr: b.start as u32,
                kind,
                data: b.data,
            })
        })
        .collect();
    segments.sort_by_key(|s| s.addr);
    let image = Image {
        entry,
        segments,
        symbols,
        files: asm.files.clone(),
        lines,
    };
    // The checks above should make this impossible; if one is missed, report
    // it here rather than hand out an image that cannot be saved.
    if let Err(e) = image.validate() {
        asm.file_error(format!(
            "internal error: the assembled image is invalid: {e}"
        ));
        return Err(take_diags(asm));
    }
    Ok(image)
}

/// Every diagnostic so far, in source order.
fn take_diags(asm: &mut Assembler<'_>) -> Diagnostics {
    let mut diags = std::mem::take(&mut asm.diags);
    diags.sort_by_key(|d| d.0);
    Diagnostics(diags.into_iter().map(|d| d.1).collect())
}

/// Reports a section-level problem at the section's first statement.
fn report_section(asm: &mut Assembler<'_>, stmts: &[Stmt], sec: usize, msg: String) {
    if let Some(st) = stmts.iter().find(|s| s.section.idx() == sec && s.size > 0) {
        asm.seq = st.seq;
        let span = Span::new(0, st.ctx.text.chars().count());
        asm.error(
            &st.ctx,
            Problem::new(msg, span, "in the section starting here"),
        );
    }
}

/// The little-endian bytes of one statement at `addr`.
fn emit(st: &Stmt, addr: u32, env: &Env<'_>) -> Result<Vec<u8>, Problem> {
    match &st.body {
        Body::Instr(form, args) => {
            let mut out = Vec::with_capacity(st.size as usize);
            let instrs = instrs::build(*form, args, addr, st.size, env)?;
            for i in instrs {
                let w = encode(&i).map_err(|e| {
                    Problem::new(e.to_string(), Span::new(0, st.ctx.text.chars().count()), "")
                })?;
                out.extend_from_slice(&w.to_le_bytes());
            }
            if out.len() as u64 != st.size {
                return Err(Problem::new(
                    "internal error: statement size changed between passes",
                    Span::default(),
                    "",
                ));
            }
            Ok(out)
        }
        Body::Data(width, items) => {
            let mut out = Vec::with_capacity(st.size as usize);
            for e in items {
                let v = data_value(e, *width, env)?;
                out.extend_from_slice(&v.to_le_bytes()[..*width as usize]);
            }
            Ok(out)
        }
        Body::Bytes(b) => Ok(b.clone()),
        Body::Fill(b) => Ok(vec![*b; st.size as usize]),
    }
}

/// A `.byte`/`.half`/`.word` item: must fit the width as a signed or an
/// unsigned number.
fn data_value(e: &Expr, width: u8, env: &Env<'_>) -> Result<u32, Problem> {
    let v = e.eval(env).map_err(EvalError::into_problem)?;
    let bits = 8 * u32::from(width);
    let (min, max) = (-(1i64 << (bits - 1)), (1i64 << bits) - 1);
    if !(min..=max).contains(&v) {
        let name = [".byte", ".half", "", ".word"][width as usize - 1];
        return Err(Problem::new(
            format!("value {v} does not fit in `{name}`"),
            e.span(),
            format!("expected {min}..={max}"),
        ));
    }
    Ok(v as u32)
}

fn symbols(asm: &mut Assembler<'_>, bases: [Option<u64>; 2]) -> Vec<Symbol> {
    let mut out = Vec::new();
    let mut problems = Vec::new();
    for (name, entry) in &asm.syms.map {
        let value = match &entry.value {
            _ if entry.kind == SymKind::Define => continue,
            SymValue::Label { section, offset } => bases[section.idx()].unwrap_or(0) + offset,
            SymValue::Const(v) => *v as u64,
            SymValue::Deferred(d) => {
                let env = Env {
                    syms: &asm.syms,
                    bases,
                    section: d.section,
                    offset: d.offset,
                    seq: d.seq,
                    depth: 0,
                };
                match d.expr.eval(&env) {
                    Ok(v) => v as u64,
                    Err(e) => {
                        problems.push((d.clone(), e.into_problem()));
                        continue;
                    }
                }
            }
        };
        let is_label = entry.kind == SymKind::Label;
        out.push(Symbol {
            name: name.clone(),
            value: value as u32,
            is_label,
        });
    }
    problems.sort_by_key(|p| p.0.seq);
    for (d, p) in problems {
        asm.seq = d.seq;
        asm.error(&d.ctx, p);
    }
    out.sort_by(|a, b| (a.value, &a.name).cmp(&(b.value, &b.name)));
    out
}

/// `.entry` if given, else `_start`, else the start of the text; `text` is
/// the text segment's address range, if there is one. The entry point must
/// lie inside it, which is checked only when there are no other errors (a
/// statement with an error emits nothing, which can leave the entry point
/// outside a text segment that is empty or too short).
fn entry(asm: &mut Assembler<'_>, bases: [Option<u64>; 2], text: Option<(u64, u64)>) -> u32 {
    let in_text = |v: u64| text.is_some_and(|(start, end)| (start..end).contains(&v));
    let check = asm.diags.is_empty();
    let where_text = || match text {
        Some((start, end)) => format!("the text segment is {start:#x}..{end:#x}"),
        None => "the program has no text section".to_string(),
    };
    if let Some((e, ctx, seq)) = asm.entry.take() {
        let env = Env {
            syms: &asm.syms,
            bases,
            section: Section::Text,
            offset: 0,
            seq,
            depth: 0,
        };
        let r = e.eval(&env).map_err(EvalError::into_problem).and_then(|v| {
            let v = u32::try_from(v).map_err(|_| {
                Problem::new(
                    format!("entry point {v} is out of range"),
                    e.span(),
                    "expected an address",
                )
            })?;
            if check && !in_text(v.into()) {
                return Err(Problem::new(
                    format!("entry point {v:#x} is not inside the text segment"),
                    e.span(),
                    where_text(),
                ));
            }
            Ok(v)
        });
        return r.unwrap_or_else(|p| {
            asm.seq = seq;
            asm.error(&ctx, p);
            0
        });
    }
    if let Some(SymValue::Label { section, offset }) = asm.syms.map.get("_start").map(|s| &s.value)
    {
        let v = bases[section.idx()].unwrap_or(0) + offset;
        match asm.start_label.clone() {
            Some((ctx, seq, span)) if check && text.is_some() && !in_text(v) => {
                asm.seq = seq;
                let p = Problem::new(
                    format!("the entry point `_start` ({v:#x}) is not inside the text segment"),
                    span,
                    format!("{}; the program starts at `_start`", where_text()),
                );
                asm.error(&ctx, p);
            }
            _ => {}
        }
        if text.is_some() {
            return v as u32;
        }
    }
    match text {
        Some((start, _)) => start as u32,
        None => {
            if check {
                asm.file_error("no code: the program has no text section".into());
            }
            0
        }
    }
}
