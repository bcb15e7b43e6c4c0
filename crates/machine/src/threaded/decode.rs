//! The predecoded form of a block's instructions: what [`lowering`](super::lowering)
//! turns into threaded ops.

use vmlab_isa::{AluOp, BranchCond, ImmOp, Instr, LoadOp, Reg, Width};

use crate::cpu::SINK;

/// A predecoded instruction, the step between decoding and the threaded
/// ops (see [`lowering`](super::lowering)): one variant per operation, registers as indexes
/// into the register file (writes to `r0` redirected to the sink),
/// immediates sign-extended, pc-relative values resolved. Register-register
/// ops name `d`, `a`, `b`; register-immediate ops and loads `d`, `a`, `imm`;
/// stores `s` (the register stored), `a`, `imm`; branches `a`, `b` and the
/// resolved `target`. Eight bytes.
#[rustfmt::skip]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Op {
    Add { d: u8, a: u8, b: u8 },
    Sub { d: u8, a: u8, b: u8 },
    And { d: u8, a: u8, b: u8 },
    Or { d: u8, a: u8, b: u8 },
    Xor { d: u8, a: u8, b: u8 },
    Sll { d: u8, a: u8, b: u8 },
    Srl { d: u8, a: u8, b: u8 },
    Sra { d: u8, a: u8, b: u8 },
    Slt { d: u8, a: u8, b: u8 },
    Sltu { d: u8, a: u8, b: u8 },
    Mul { d: u8, a: u8, b: u8 },
    /// The other ALU ops (high multiplies, divisions: may trap).
    Alu { op: AluOp, d: u8, a: u8, b: u8 },
    Addi { d: u8, a: u8, imm: u32 },
    Andi { d: u8, a: u8, imm: u32 },
    Ori { d: u8, a: u8, imm: u32 },
    Xori { d: u8, a: u8, imm: u32 },
    Slli { d: u8, a: u8, imm: u32 },
    Srli { d: u8, a: u8, imm: u32 },
    Srai { d: u8, a: u8, imm: u32 },
    Slti { d: u8, a: u8, imm: u32 },
    Sltiu { d: u8, a: u8, imm: u32 },
    /// `lui`, and `auipc` with the pc added at decode.
    Li { d: u8, imm: u32 },
    Lw { d: u8, a: u8, imm: u32 },
    Lh { d: u8, a: u8, imm: u32 },
    Lhu { d: u8, a: u8, imm: u32 },
    Lb { d: u8, a: u8, imm: u32 },
    Lbu { d: u8, a: u8, imm: u32 },
    Sw { s: u8, a: u8, imm: u32 },
    Sh { s: u8, a: u8, imm: u32 },
    Sb { s: u8, a: u8, imm: u32 },
    Beq { a: u8, b: u8, target: u32 },
    Bne { a: u8, b: u8, target: u32 },
    Blt { a: u8, b: u8, target: u32 },
    Bge { a: u8, b: u8, target: u32 },
    Bltu { a: u8, b: u8, target: u32 },
    Bgeu { a: u8, b: u8, target: u32 },
    Jal { d: u8, target: u32 },
    Jalr { d: u8, a: u8, imm: u32 },
    /// A loop closer: `addi d, a, imm` (or `add d, a, b`) fused with the
    /// block's last op, a branch back to the block's start that compares
    /// `d` (the value just computed) with `c`. `kind`: the branch condition
    /// (0..6: `BranchCond` order), plus 6 for the `add` form.
    Closer { d: u8, a: u8, b: u8, c: u8, imm: i16, kind: u8 },
    /// `csrr`: may sit mid-block (reads instret exactly).
    Csrr { word: u32 },
    /// `getf`: may sit mid-block.
    Getf { word: u32 },
    /// Every other instruction: system instructions and illegal words. Always
    /// the last op of its block.
    System { word: u32 },
}

/// A conditional branch's parts: (condition, its index in
/// `BranchCond::ALL`; the two registers compared; the target).
pub(super) fn branch(op: Op) -> Option<(u8, u8, u8, u32)> {
    let (cond, a, b, target) = match op {
        Op::Beq { a, b, target } => (0, a, b, target),
        Op::Bne { a, b, target } => (1, a, b, target),
        Op::Blt { a, b, target } => (2, a, b, target),
        Op::Bge { a, b, target } => (3, a, b, target),
        Op::Bltu { a, b, target } => (4, a, b, target),
        Op::Bgeu { a, b, target } => (5, a, b, target),
        _ => return None,
    };
    Some((cond, a, b, target))
}

/// The loop closer for a block's last two ops, if they close a loop: an
/// `addi`/`add` whose result the final branch (back to the block's start
/// `va`) compares.
pub(super) fn fuse_loop(first: Op, last: Op, va: u32) -> Option<Op> {
    let (cond, x, c, target) = branch(last)?;
    if target != va || c == x {
        return None;
    }
    match first {
        Op::Addi { d, a, imm } if d == x => Some(Op::Closer {
            d,
            a,
            b: 0,
            c,
            imm: i16::try_from(imm as i32).ok()?,
            kind: cond,
        }),
        Op::Add { d, a, b } if d == x => Some(Op::Closer {
            d,
            a,
            b,
            c,
            imm: 0,
            kind: 6 + cond,
        }),
        _ => None,
    }
}

/// A destination register index: `r0` becomes the sink.
fn dst(r: Reg) -> u8 {
    if r.num() == 0 { SINK } else { r.num() }
}

/// Predecodes `instr` at virtual address `pc`.
pub(crate) fn predecode(instr: Instr, word: u32, pc: u32) -> Op {
    match instr {
        Instr::Alu { op, rd, rs1, rs2 } => {
            let (d, a, b) = (dst(rd), rs1.num(), rs2.num());
            match op {
                AluOp::Add => Op::Add { d, a, b },
                AluOp::Sub => Op::Sub { d, a, b },
                AluOp::And => Op::And { d, a, b },
                AluOp::Or => Op::Or { d, a, b },
                AluOp::Xor => Op::Xor { d, a, b },
                AluOp::Sll => Op::Sll { d, a, b },
                AluOp::Srl => Op::Srl { d, a, b },
                AluOp::Sra => Op::Sra { d, a, b },
                AluOp::Slt => Op::Slt { d, a, b },
                AluOp::Sltu => Op::Sltu { d, a, b },
                AluOp::Mul => Op::Mul { d, a, b },
                op => Op::Alu { op, d, a, b },
            }
        }
        Instr::AluImm { op, rd, rs1, imm } => {
            let (d, a, imm) = (dst(rd), rs1.num(), imm as u32);
            match op {
                ImmOp::Add => Op::Addi { d, a, imm },
                ImmOp::And => Op::Andi { d, a, imm },
                ImmOp::Or => Op::Ori { d, a, imm },
                ImmOp::Xor => Op::Xori { d, a, imm },
                ImmOp::Sll => Op::Slli { d, a, imm },
                ImmOp::Srl => Op::Srli { d, a, imm },
                ImmOp::Sra => Op::Srai { d, a, imm },
                ImmOp::Slt => Op::Slti { d, a, imm },
                ImmOp::Sltu => Op::Sltiu { d, a, imm },
            }
        }
        Instr::Lui { rd, imm } => Op::Li {
            d: dst(rd),
            imm: imm << 12,
        },
        Instr::Auipc { rd, imm } => Op::Li {
            d: dst(rd),
            imm: pc.wrapping_add(imm << 12),
        },
        Instr::Load { op, rd, rs1, off } => {
            let (d, a, imm) = (dst(rd), rs1.num(), off as u32);
            match op {
                LoadOp::Lw => Op::Lw { d, a, imm },
                LoadOp::Lh => Op::Lh { d, a, imm },
                LoadOp::Lhu => Op::Lhu { d, a, imm },
                LoadOp::Lb => Op::Lb { d, a, imm },
                LoadOp::Lbu => Op::Lbu { d, a, imm },
            }
        }
        Instr::Store {
            width,
            rs2,
            rs1,
            off,
        } => {
            let (s, a, imm) = (rs2.num(), rs1.num(), off as u32);
            match width {
                Width::Word => Op::Sw { s, a, imm },
                Width::Half => Op::Sh { s, a, imm },
                Width::Byte => Op::Sb { s, a, imm },
            }
        }
        Instr::Branch {
            cond,
            rs1,
            rs2,
            off,
        } => {
            // Offsets are multiples of 4 from an aligned pc: the target is
            // aligned, so its fetch needs no alignment check.
            let (a, b, target) = (rs1.num(), rs2.num(), pc.wrapping_add(off as u32));
            match cond {
                BranchCond::Eq => Op::Beq { a, b, target },
                BranchCond::Ne => Op::Bne { a, b, target },
                BranchCond::Lt => Op::Blt { a, b, target },
                BranchCond::Ge => Op::Bge { a, b, target },
                BranchCond::Ltu => Op::Bltu { a, b, target },
                BranchCond::Geu => Op::Bgeu { a, b, target },
            }
        }
        Instr::Jal { rd, off } => Op::Jal {
            d: dst(rd),
            target: pc.wrapping_add(off as u32),
        },
        Instr::Jalr { rd, rs1, off } => Op::Jalr {
            d: dst(rd),
            a: rs1.num(),
            imm: off as u32,
        },
        Instr::Csrr { .. } => Op::Csrr { word },
        Instr::GetFlags { .. } => Op::Getf { word },
        _ => Op::System { word },
    }
}

const _: () = assert!(std::mem::size_of::<Op>() == 8);
