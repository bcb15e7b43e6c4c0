//! The shape of a statement: labels, then a mnemonic or directive, then
//! comma-separated operands; and the operand kinds instructions take.

use vmlab_isa::{Csr, Reg};

use crate::diag::Problem;
use crate::expr::{Expr, parse_expr};
use crate::lexer::{Span, Tok, Token};

/// A label defined at the start of a line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum LabelDef {
    Named(String, Span),
    Local(u32, Span),
}

/// One operand: its tokens and the text they cover.
#[derive(Clone, Debug)]
pub(crate) struct Operand {
    pub toks: Vec<Token>,
    pub span: Span,
}

/// A statement split into its parts.
#[derive(Clone, Debug, Default)]
pub(crate) struct Statement {
    pub labels: Vec<LabelDef>,
    /// The mnemonic, directive or macro name.
    pub op: Option<(String, Span)>,
    pub operands: Vec<Operand>,
}

/// Splits a lexed line into labels, operation and operands.
pub(crate) fn parse_statement(toks: &[Token]) -> Result<Statement, Problem> {
    let mut st = Statement::default();
    let mut i = 0;
    while i + 1 < toks.len() && toks[i + 1].is_punct(':') {
        match &toks[i].tok {
            Tok::Ident(name) if name != "." => {
                st.labels.push(LabelDef::Named(name.clone(), toks[i].span))
            }
            Tok::Num(n) if (0..=u32::MAX as i64).contains(n) => {
                st.labels.push(LabelDef::Local(*n as u32, toks[i].span))
            }
            _ => {
                return Err(Problem::new(
                    "invalid label",
                    toks[i].span,
                    "expected a name or a local label number before `:`",
                ));
            }
        }
        i += 2;
    }
    let Some(t) = toks.get(i) else {
        return Ok(st);
    };
    let Some(name) = t.ident() else {
        return Err(Problem::new(
            "expected an instruction, directive or label",
            t.span,
            "a statement starts with a mnemonic, a directive or `name:`",
        ));
    };
    st.op = Some((name.to_string(), t.span));
    st.operands = split_operands(&toks[i + 1..], t.span)?;
    Ok(st)
}

/// Splits tokens at top-level commas (commas inside parentheses belong to
/// the expression).
pub(crate) fn split_operands(toks: &[Token], after: Span) -> Result<Vec<Operand>, Problem> {
    let mut out = Vec::new();
    if toks.is_empty() {
        return Ok(out);
    }
    let mut depth = 0i32;
    let mut cur: Vec<Token> = Vec::new();
    let mut prev_end = after.end();
    for t in toks {
        match t.tok {
            Tok::Punct('(') => depth += 1,
            Tok::Punct(')') => depth -= 1,
            Tok::Punct(',') if depth <= 0 => {
                out.push(operand(std::mem::take(&mut cur), t.span, prev_end)?);
                prev_end = t.span.end();
                continue;
            }
            _ => {}
        }
        cur.push(t.clone());
    }
    let end = Span::new(prev_end as usize + 1, 1);
    out.push(operand(cur, end, prev_end)?);
    Ok(out)
}

fn operand(toks: Vec<Token>, next: Span, prev_end: u32) -> Result<Operand, Problem> {
    match (toks.first(), toks.last()) {
        (Some(a), Some(b)) => {
            let span = a.span.to(b.span);
            Ok(Operand { toks, span })
        }
        _ => Err(Problem::new(
            "empty operand",
            Span::new(
                prev_end as usize,
                next.col.saturating_sub(prev_end) as usize,
            ),
            "expected an operand between the commas",
        )),
    }
}

pub(crate) const REG_HINT: &str =
    "expected a register: zero, ra, sp, a0-a4, t0-t3, s0-s3, fp, or r0-r15";

/// A general register operand.
pub(crate) fn reg(op: &Operand) -> Result<Reg, Problem> {
    match op.toks.as_slice() {
        [t] => match t.ident() {
            Some(name) => Reg::parse(name).ok_or_else(|| {
                Problem::new(format!("unknown register `{name}`"), t.span, REG_HINT)
            }),
            None => Err(Problem::new("expected a register", t.span, REG_HINT)),
        },
        _ => Err(Problem::new("expected a register", op.span, REG_HINT)),
    }
}

/// A control register operand (`status`, `epc`, ...).
pub(crate) fn csr(op: &Operand) -> Result<Csr, Problem> {
    let hint = || {
        let names: Vec<&str> = Csr::ALL.iter().map(|c| c.name()).collect();
        format!("expected a control register: {}", names.join(", "))
    };
    match op.toks.as_slice() {
        [t] => match t.ident().and_then(Csr::parse) {
            Some(c) => Ok(c),
            None => Err(Problem::new("unknown control register", t.span, hint())),
        },
        _ => Err(Problem::new("expected a control register", op.span, hint())),
    }
}

/// An expression operand.
pub(crate) fn expr(op: &Operand) -> Result<Expr, Problem> {
    parse_expr(&op.toks, op.span)
}

/// A memory operand `off(reg)`; the offset may be omitted (`(sp)` is `0(sp)`).
pub(crate) fn mem(op: &Operand) -> Result<(Expr, Reg), Problem> {
    let t = &op.toks;
    let n = t.len();
    if n >= 3 && t[n - 1].is_punct(')') && t[n - 3].is_punct('(') {
        if let Some(r) = t[n - 2].ident().and_then(Reg::parse) {
            let off = if n == 3 {
                Expr::Num(0, t[0].span)
            } else {
                parse_expr(&t[..n - 3], op.span)?
            };
            return Ok((off, r));
        }
        if let Some(name) = t[n - 2].ident() {
            return Err(Problem::new(
                format!("unknown register `{name}`"),
                t[n - 2].span,
                REG_HINT,
            ));
        }
    }
    Err(Problem::new(
        "expected a memory operand",
        op.span,
        "expected `offset(register)`, as in `8(sp)` or `(a0)`",
    ))
}

/// A string literal operand.
pub(crate) fn string(op: &Operand) -> Result<Vec<u8>, Problem> {
    match op.toks.as_slice() {
        [
            Token {
                tok: Tok::Str(s), ..
            },
        ] => Ok(s.clone()),
        _ => Err(Problem::new(
            "expected a string",
            op.span,
            "expected \"text\"",
        )),
    }
}

/// A bare name operand (for `.equ`, `.ifdef`, `.global`, `.section`).
pub(crate) fn name(op: &Operand) -> Result<(String, Span), Problem> {
    match op.toks.as_slice() {
        [t] if t.ident().is_some_and(|n| n != ".") => Ok((t.ident().unwrap_or("").into(), t.span)),
        _ => Err(Problem::new(
            "expected a name",
            op.span,
            "expected a symbol name",
        )),
    }
}
