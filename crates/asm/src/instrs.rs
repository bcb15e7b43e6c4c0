//! The mnemonic table: real instructions and pseudo-instructions, what
//! operands each takes, and how each becomes one or two [`Instr`]s.

use vmlab_isa::{
    AluOp, BRANCH_MAX, BRANCH_MIN, BranchCond, Csr, IMM16_MAX, IMM16_MIN, IMM20_MAX, ImmOp, Instr,
    JUMP_MAX, JUMP_MIN, LoadOp, Reg, Width, split_hi_lo,
};

use crate::diag::Problem;
use crate::expr::{EvalError, Expr, Resolver};
use crate::lexer::Span;
use crate::parse::{self, Operand};

/// What a mnemonic assembles to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Form {
    Alu(AluOp),
    Imm(ImmOp),
    Lui,
    Auipc,
    Load(LoadOp),
    Store(Width),
    Branch(BranchCond),
    Jal,
    Jalr,
    Csrr,
    Csrw,
    TlbFlushPage,
    GetFlags,
    SetFlags,
    In(Width),
    Out(Width),
    /// An instruction without operands.
    Bare(Instr),
    // Pseudo-instructions.
    Li,
    La,
    Mv,
    Not,
    Neg,
    J,
    Jr,
    Call,
    Ret,
    Nop,
    /// `bxxz rs, target`: compare with zero; `true` when `rs` is the first
    /// operand of the real branch (`beqz`), `false` when second (`blez`).
    BranchZero(BranchCond, bool),
    /// `bgt`/`ble`/`bgtu`/`bleu`: the real branch with operands swapped.
    BranchSwap(BranchCond),
    Seqz,
    Snez,
}

/// Operand kinds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Reg,
    Csr,
    Expr,
    Mem,
}

/// A parsed operand.
#[derive(Clone, Debug)]
pub(crate) enum Arg {
    Reg(Reg),
    Csr(Csr),
    Expr(Expr),
    Mem(Expr, Reg),
}

/// Looks up a mnemonic.
pub(crate) fn lookup(m: &str) -> Option<Form> {
    use Form::*;
    if let Some(op) = AluOp::ALL.iter().find(|o| o.mnemonic() == m) {
        return Some(Alu(*op));
    }
    if let Some(op) = ImmOp::ALL.iter().find(|o| o.mnemonic() == m) {
        return Some(Imm(*op));
    }
    if let Some(op) = LoadOp::ALL.iter().find(|o| o.mnemonic() == m) {
        return Some(Load(*op));
    }
    if let Some(c) = BranchCond::ALL.iter().find(|c| c.mnemonic() == m) {
        return Some(Branch(*c));
    }
    let width = |s: &str| match s {
        "b" => Some(Width::Byte),
        "h" => Some(Width::Half),
        "w" => Some(Width::Word),
        _ => None,
    };
    if let Some(w) = m.strip_prefix("out").and_then(width) {
        return Some(Out(w));
    }
    if let Some(w) = m.strip_prefix("in").and_then(width) {
        return Some(In(w));
    }
    if let Some(w) = m.strip_prefix('s').and_then(width) {
        return Some(Store(w));
    }
    use BranchCond as C;
    Some(match m {
        "lui" => Lui,
        "auipc" => Auipc,
        "jal" => Jal,
        "jalr" => Jalr,
        "csrr" => Csrr,
        "csrw" => Csrw,
        "tlbflushp" => TlbFlushPage,
        "getf" => GetFlags,
        "setf" => SetFlags,
        "syscall" => Bare(Instr::Syscall),
        "hypercall" => Bare(Instr::Hypercall),
        "break" => Bare(Instr::Break),
        "sret" => Bare(Instr::Sret),
        "tlbflush" => Bare(Instr::TlbFlush),
        "wfi" => Bare(Instr::Wfi),
        "halt" => Bare(Instr::Halt),
        "li" => Li,
        "la" => La,
        "mv" => Mv,
        "not" => Not,
        "neg" => Neg,
        "j" => J,
        "jr" => Jr,
        "call" => Call,
        "ret" => Ret,
        "nop" => Nop,
        "beqz" => BranchZero(C::Eq, true),
        "bnez" => BranchZero(C::Ne, true),
        "bltz" => BranchZero(C::Lt, true),
        "bgez" => BranchZero(C::Ge, true),
        "blez" => BranchZero(C::Ge, false),
        "bgtz" => BranchZero(C::Lt, false),
        "bgt" => BranchSwap(C::Lt),
        "ble" => BranchSwap(C::Ge),
        "bgtu" => BranchSwap(C::Ltu),
        "bleu" => BranchSwap(C::Geu),
        "seqz" => Seqz,
        "snez" => Snez,
        _ => return None,
    })
}

/// The operands a form takes, and how to describe them in a diagnostic.
fn signature(form: Form) -> (&'static [Kind], &'static str) {
    use Form::*;
    use Kind::{Csr as C, Expr as E, Mem as M, Reg as R};
    match form {
        Alu(_) => (&[R, R, R], "rd, rs1, rs2"),
        Imm(_) => (&[R, R, E], "rd, rs1, imm"),
        Lui | Auipc => (&[R, E], "rd, imm20"),
        Load(_) | In(_) => (&[R, M], "rd, offset(rs1)"),
        Store(_) | Out(_) => (&[R, M], "rs2, offset(rs1)"),
        Branch(_) | BranchSwap(_) => (&[R, R, E], "rs1, rs2, target"),
        Jal => (&[R, E], "rd, target"),
        Jalr => (&[R, M], "rd, offset(rs1)"),
        Csrr => (&[R, C], "rd, csr"),
        Csrw => (&[C, R], "csr, rs1"),
        TlbFlushPage | SetFlags | Jr => (&[R], "rs1"),
        GetFlags => (&[R], "rd"),
        Bare(_) | Ret | Nop => (&[], "no operands"),
        Li => (&[R, E], "rd, value"),
        La => (&[R, E], "rd, symbol"),
        Mv | Not | Neg | Seqz | Snez => (&[R, R], "rd, rs"),
        J | Call => (&[E], "target"),
        BranchZero(..) => (&[R, E], "rs, target"),
    }
}

/// Parses the operands of an instruction statement.
pub(crate) fn parse_args(
    form: Form,
    name: &str,
    ops: &[Operand],
    at: Span,
) -> Result<Vec<Arg>, Problem> {
    let (kinds, desc) = signature(form);
    if ops.len() != kinds.len() {
        let span = match ops.last() {
            Some(last) if ops.len() > kinds.len() => ops[kinds.len()].span.to(last.span),
            Some(last) => at.to(last.span),
            None => at,
        };
        let n = kinds.len();
        return Err(Problem::new(
            format!(
                "`{name}` takes {n} operand{}, found {}",
                if n == 1 { "" } else { "s" },
                ops.len()
            ),
            span,
            format!("expected `{name} {desc}`").replace(" no operands", ""),
        ));
    }
    kinds
        .iter()
        .zip(ops)
        .map(|(k, op)| {
            Ok(match k {
                Kind::Reg => Arg::Reg(parse::reg(op)?),
                Kind::Csr => Arg::Csr(parse::csr(op)?),
                Kind::Expr => Arg::Expr(parse::expr(op)?),
                Kind::Mem => {
                    let (e, r) = parse::mem(op)?;
                    Arg::Mem(e, r)
                }
            })
        })
        .collect()
}

/// Size in bytes, decided in pass 1. `li` is one instruction when its value
/// is already known and fits a 16-bit immediate, two otherwise (a forward
/// reference always gets two, since the size cannot change in pass 2).
pub(crate) fn size(form: Form, args: &[Arg], env: &dyn Resolver) -> u64 {
    match (form, args) {
        (Form::Li, [_, Arg::Expr(e)]) => match e.eval(env) {
            Ok(v) if fits_imm16(v) => 4,
            _ => 8,
        },
        (Form::La, _) => 8,
        _ => 4,
    }
}

/// True when `v`, taken as a 32-bit register value, is an `addi` immediate.
fn fits_imm16(v: i64) -> bool {
    (-(1i64 << 31)..=u32::MAX as i64).contains(&v)
        && (IMM16_MIN..=IMM16_MAX).contains(&(v as u32 as i32))
}

fn range(e: &Expr, v: i64, min: i64, max: i64, what: &str) -> Result<i64, Problem> {
    if (min..=max).contains(&v) {
        Ok(v)
    } else {
        Err(Problem::new(
            format!("{what} {v} is out of range"),
            e.span(),
            format!("expected a value in {min}..={max}"),
        ))
    }
}

fn value(e: &Expr, env: &dyn Resolver) -> Result<i64, Problem> {
    e.eval(env).map_err(EvalError::into_problem)
}

fn imm16(e: &Expr, env: &dyn Resolver, what: &str) -> Result<i32, Problem> {
    let v = value(e, env)?;
    Ok(range(e, v, IMM16_MIN.into(), IMM16_MAX.into(), what)? as i32)
}

/// The pc-relative offset to `target`, checked against the field's range.
fn offset(e: &Expr, env: &dyn Resolver, pc: u32, jump: bool) -> Result<i32, Problem> {
    let target = value(e, env)?;
    let dist = target.wrapping_sub(pc.into());
    let (what, min, max) = if jump {
        ("jump", JUMP_MIN, JUMP_MAX)
    } else {
        ("branch", BRANCH_MIN, BRANCH_MAX)
    };
    if target & 3 != 0 {
        return Err(Problem::new(
            format!("{what} target {target:#x} is not 4-byte aligned"),
            e.span(),
            "instructions are at multiples of 4",
        ));
    }
    if !(i64::from(min)..=i64::from(max)).contains(&dist) {
        return Err(Problem::new(
            format!("{what} target out of range: distance {dist} bytes"),
            e.span(),
            format!("a {what} reaches {min}..={max} bytes"),
        ));
    }
    Ok(dist as i32)
}

/// Builds the instructions of a statement at `pc`; `size` is what pass 1 chose.
pub(crate) fn build(
    form: Form,
    args: &[Arg],
    pc: u32,
    size: u64,
    env: &dyn Resolver,
) -> Result<Vec<Instr>, Problem> {
    use Arg as A;
    let z = Reg::ZERO;
    let one = |i: Instr| Ok(vec![i]);
    match (form, args) {
        (Form::Alu(op), [A::Reg(rd), A::Reg(rs1), A::Reg(rs2)]) => one(Instr::Alu {
            op,
            rd: *rd,
            rs1: *rs1,
            rs2: *rs2,
        }),
        (Form::Imm(op), [A::Reg(rd), A::Reg(rs1), A::Expr(e)]) => {
            let imm = if op.is_shift() {
                range(e, value(e, env)?, 0, 31, "shift amount")? as i32
            } else {
                imm16(e, env, "immediate")?
            };
            one(Instr::AluImm {
                op,
                rd: *rd,
                rs1: *rs1,
                imm,
            })
        }
        (Form::Lui | Form::Auipc, [A::Reg(rd), A::Expr(e)]) => {
            let imm = range(e, value(e, env)?, 0, IMM20_MAX.into(), "upper immediate")? as u32;
            one(if form == Form::Lui {
                Instr::Lui { rd: *rd, imm }
            } else {
                Instr::Auipc { rd: *rd, imm }
            })
        }
        (Form::Load(op), [A::Reg(rd), A::Mem(e, rs1)]) => one(Instr::Load {
            op,
            rd: *rd,
            rs1: *rs1,
            off: imm16(e, env, "offset")?,
        }),
        (Form::Store(width), [A::Reg(rs2), A::Mem(e, rs1)]) => one(Instr::Store {
            width,
            rs2: *rs2,
            rs1: *rs1,
            off: imm16(e, env, "offset")?,
        }),
        (Form::In(width), [A::Reg(rd), A::Mem(e, rs1)]) => one(Instr::In {
            width,
            rd: *rd,
            rs1: *rs1,
            off: imm16(e, env, "port offset")?,
        }),
        (Form::Out(width), [A::Reg(rs2), A::Mem(e, rs1)]) => one(Instr::Out {
            width,
            rs2: *rs2,
            rs1: *rs1,
            off: imm16(e, env, "port offset")?,
        }),
        (Form::Branch(cond), [A::Reg(rs1), A::Reg(rs2), A::Expr(e)]) => one(Instr::Branch {
            cond,
            rs1: *rs1,
            rs2: *rs2,
            off: offset(e, env, pc, false)?,
        }),
        (Form::BranchSwap(cond), [A::Reg(a), A::Reg(b), A::Expr(e)]) => one(Instr::Branch {
            cond,
            rs1: *b,
            rs2: *a,
            off: offset(e, env, pc, false)?,
        }),
        (Form::BranchZero(cond, first), [A::Reg(r), A::Expr(e)]) => {
            let (rs1, rs2) = if first { (*r, z) } else { (z, *r) };
            one(Instr::Branch {
                cond,
                rs1,
                rs2,
                off: offset(e, env, pc, false)?,
            })
        }
        (Form::Jal, [A::Reg(rd), A::Expr(e)]) => one(Instr::Jal {
            rd: *rd,
            off: offset(e, env, pc, true)?,
        }),
        (Form::J, [A::Expr(e)]) => one(Instr::Jal {
            rd: z,
            off: offset(e, env, pc, true)?,
        }),
        (Form::Call, [A::Expr(e)]) => one(Instr::Jal {
            rd: Reg::RA,
            off: offset(e, env, pc, true)?,
        }),
        (Form::Jalr, [A::Reg(rd), A::Mem(e, rs1)]) => one(Instr::Jalr {
            rd: *rd,
            rs1: *rs1,
            off: imm16(e, env, "offset")?,
        }),
        (Form::Jr, [A::Reg(rs1)]) => one(Instr::Jalr {
            rd: z,
            rs1: *rs1,
            off: 0,
        }),
        (Form::Ret, []) => one(Instr::Jalr {
            rd: z,
            rs1: Reg::RA,
            off: 0,
        }),
        (Form::Csrr, [A::Reg(rd), A::Csr(csr)]) => one(Instr::Csrr { rd: *rd, csr: *csr }),
        (Form::Csrw, [A::Csr(csr), A::Reg(rs1)]) => one(Instr::Csrw {
            csr: *csr,
            rs1: *rs1,
        }),
        (Form::TlbFlushPage, [A::Reg(rs1)]) => one(Instr::TlbFlushPage { rs1: *rs1 }),
        (Form::GetFlags, [A::Reg(rd)]) => one(Instr::GetFlags { rd: *rd }),
        (Form::SetFlags, [A::Reg(rs1)]) => one(Instr::SetFlags { rs1: *rs1 }),
        (Form::Bare(i), []) => one(i),
        (Form::Nop, []) => one(Instr::AluImm {
            op: ImmOp::Add,
            rd: z,
            rs1: z,
            imm: 0,
        }),
        (Form::Mv, [A::Reg(rd), A::Reg(rs)]) => one(Instr::AluImm {
            op: ImmOp::Add,
            rd: *rd,
            rs1: *rs,
            imm: 0,
        }),
        (Form::Not, [A::Reg(rd), A::Reg(rs)]) => one(Instr::AluImm {
            op: ImmOp::Xor,
            rd: *rd,
            rs1: *rs,
            imm: -1,
        }),
        (Form::Seqz, [A::Reg(rd), A::Reg(rs)]) => one(Instr::AluImm {
            op: ImmOp::Sltu,
            rd: *rd,
            rs1: *rs,
            imm: 1,
        }),
        (Form::Neg, [A::Reg(rd), A::Reg(rs)]) => one(Instr::Alu {
            op: AluOp::Sub,
            rd: *rd,
            rs1: z,
            rs2: *rs,
        }),
        (Form::Snez, [A::Reg(rd), A::Reg(rs)]) => one(Instr::Alu {
            op: AluOp::Sltu,
            rd: *rd,
            rs1: z,
            rs2: *rs,
        }),
        (Form::Li | Form::La, [A::Reg(rd), A::Expr(e)]) => {
            let v = value(e, env)?;
            // Any 32-bit value, signed or unsigned, is a register value.
            let v = range(e, v, -(1i64 << 31), u32::MAX.into(), "value")? as u32;
            if size == 4 && fits_imm16(v.into()) {
                // Pass 1 saw the value and it fits; it cannot have changed.
                return one(Instr::AluImm {
                    op: ImmOp::Add,
                    rd: *rd,
                    rs1: z,
                    imm: v as i32,
                });
            }
            let (hi, lo) = split_hi_lo(v);
            Ok(vec![
                Instr::Lui { rd: *rd, imm: hi },
                Instr::AluImm {
                    op: ImmOp::Add,
                    rd: *rd,
                    rs1: *rd,
                    imm: lo,
                },
            ])
        }
        _ => Err(Problem::new(
            "internal error: operands do not match the form",
            Span::default(),
            "",
        )),
    }
}
