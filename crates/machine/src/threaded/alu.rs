//! The simple ALU ops (register-register, register-immediate, `li`), alone
//! and as fused pairs, and the rare ones (high multiplies, divisions).

use vmlab_isa::{AluOp, Exception};

use super::decode::Op;
use super::{Handler, TOp, missing_op, stop_at};
use crate::block::BlockCache;
use crate::exec::Stop;
use crate::machine::Machine;

/// The simple ALU ops by number: register-register ones (`d = a op b`,
/// numbered by their index in `AluOp::ALL`), then register-immediate ones
/// (`d = a op imm`), then `li` (`d = imm`).
pub(super) mod kind {
    pub const ADD: u8 = 0;
    pub const SUB: u8 = 1;
    pub const AND: u8 = 2;
    pub const OR: u8 = 3;
    pub const XOR: u8 = 4;
    pub const SLL: u8 = 5;
    pub const SRL: u8 = 6;
    pub const SRA: u8 = 7;
    pub const SLT: u8 = 8;
    pub const SLTU: u8 = 9;
    pub const MUL: u8 = 10;
    /// The first register-immediate kind: `ADDI + k` is kind `k`'s
    /// (`k` up to `SLTU`; there is no `subi` or `muli`, their slots stay
    /// unused).
    pub const ADDI: u8 = 11;
    pub const LI: u8 = ADDI + SLTU + 1;
    pub const COUNT: usize = LI as usize + 1;
}

/// Simple ALU op `K` on `a` and `b` (the second register, or the immediate).
#[inline(always)]
pub(super) fn alu<const K: u8>(a: u32, b: u32) -> u32 {
    if K == kind::LI {
        return b;
    }
    let k = if K >= kind::ADDI { K - kind::ADDI } else { K };
    // `K` is a constant: this folds to the one operation (none of the
    // simple ones divides, so none is `None`).
    AluOp::ALL[usize::from(k)].apply(a, b).unwrap_or(0)
}

/// Simple ALU op `k` (known only at run time) on `x` and register `y` or
/// `imm`, as [`alu`] and [`operand`] do for a constant kind.
#[inline(always)]
pub(super) fn alu_dyn(m: &Machine, k: u8, x: u8, y: u8, imm: u32) -> u32 {
    alu_value(k, reg!(m, x), reg!(m, y), imm)
}

/// Simple ALU op `k` (known only at run time) on `a` and `b` or `imm`
/// (as the kind says).
#[inline(always)]
pub(super) fn alu_value(k: u8, a: u32, b: u32, imm: u32) -> u32 {
    if k == kind::LI {
        return imm;
    }
    let (k, b) = if k >= kind::ADDI {
        (k - kind::ADDI, imm)
    } else {
        (k, b)
    };
    match AluOp::ALL.get(usize::from(k)) {
        Some(op) => op.apply(a, b).unwrap_or(0),
        None => 0,
    }
}

/// The second operand of simple ALU op `K`: register `r`, or `imm`.
#[inline(always)]
pub(super) fn operand<const K: u8>(m: &Machine, r: u8, imm: u32) -> u32 {
    if K < kind::ADDI { reg!(m, r) } else { imm }
}

/// How a fused pair's second op uses the first's result (the `F` of
/// [`pair`]): its `x` is the first's `d` ([`FWD_X`]), its `y` is
/// ([`FWD_Y`]), and it overwrites it ([`DEAD`]: the first's write is
/// never seen). A forwarded operand comes from the host register that
/// holds the result, not from the register file.
const FWD_X: u8 = 1;
const FWD_Y: u8 = 2;
const DEAD: u8 = 4;

/// Two simple ALU ops fused: `d = a K1 (b | imm)`, then
/// `z = x K2 (y | imm2)`, in that order (the second may read the first's
/// result: see [`FWD_X`]). Neither can stop, so neither needs a pc.
fn pair<const K1: u8, const K2: u8, const F: u8>(
    m: &mut Machine,
    c: &BlockCache,
    ops: &[TOp],
    left: usize,
    ep: u64,
) -> u64 {
    let op = op!(ops);
    let v = alu::<K1>(reg!(m, op.a), operand::<K1>(m, op.b, op.imm));
    if F & DEAD == 0 {
        reg!(m, op.d) = v;
    }
    let x = if F & FWD_X != 0 { v } else { reg!(m, op.x) };
    let y = if F & FWD_Y != 0 {
        v
    } else {
        operand::<K2>(m, op.y, op.imm2)
    };
    reg!(m, op.z) = alu::<K2>(x, y);
    next!(m, c, ops, left, ep)
}

/// The fused pairs with one `F` (see [`pair`]), by the two kinds.
#[rustfmt::skip]
macro_rules! pairs {
    ($f:literal) => {
        table!(
            pair,
            [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21],
            [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21],
            $f
        )
    };
}

/// Every fused pair's handler, by how the second op uses the first's
/// result (the ways [`pair_use`] names, in its order) and the two kinds.
static PAIRS: [[[Handler; kind::COUNT]; kind::COUNT]; 6] = [
    pairs!(0),
    pairs!(1),
    pairs!(2),
    pairs!(4),
    pairs!(5),
    pairs!(6),
];

/// How the second op of a pair (kind `k2`, `z = x k2 y`) uses the first's
/// result `d`: the row of [`PAIRS`] for [`pair`]'s `F`.
fn pair_use(d: u8, k2: u8, z: u8, x: u8, y: u8) -> usize {
    let reads_x = k2 != kind::LI && x == d;
    let reads_y = k2 < kind::ADDI && y == d;
    let fwd = match (reads_x, reads_y) {
        (true, _) => FWD_X,
        (false, true) => FWD_Y,
        (false, false) => 0,
    };
    // Reading it twice, `y` comes from the register file: the write stays.
    let dead = z == d && !(reads_x && reads_y);
    let f = fwd | if dead { DEAD } else { 0 };
    // The rows hold `F` = 0, 1, 2, 4, 5, 6 (both forwards never go together).
    usize::from(f) - usize::from(f >= DEAD)
}

/// A simple ALU op on its own: `d = a K (b | imm)`.
fn single<const K: u8>(m: &mut Machine, c: &BlockCache, ops: &[TOp], left: usize, ep: u64) -> u64 {
    let op = op!(ops);
    let v = alu::<K>(reg!(m, op.a), operand::<K>(m, op.b, op.imm));
    reg!(m, op.d) = v;
    next!(m, c, ops, left, ep)
}

/// Every simple ALU op's handler, by kind.
#[rustfmt::skip]
pub(super) static SINGLES: [Handler; kind::COUNT] = [
    single::<0>, single::<1>, single::<2>, single::<3>, single::<4>, single::<5>,
    single::<6>, single::<7>, single::<8>, single::<9>, single::<10>, single::<11>,
    single::<12>, single::<13>, single::<14>, single::<15>, single::<16>, single::<17>,
    single::<18>, single::<19>, single::<20>, single::<21>,
];

/// A simple ALU op as (kind, d, a, b, imm).
pub(super) fn simple(op: Op) -> Option<(u8, u8, u8, u8, u32)> {
    use kind::*;
    let rr = |k: u8, d, a, b| Some((k, d, a, b, 0));
    let ri = |k: u8, d, a, imm| Some((ADDI + k, d, a, 0, imm));
    match op {
        Op::Add { d, a, b } => rr(ADD, d, a, b),
        Op::Sub { d, a, b } => rr(SUB, d, a, b),
        Op::And { d, a, b } => rr(AND, d, a, b),
        Op::Or { d, a, b } => rr(OR, d, a, b),
        Op::Xor { d, a, b } => rr(XOR, d, a, b),
        Op::Sll { d, a, b } => rr(SLL, d, a, b),
        Op::Srl { d, a, b } => rr(SRL, d, a, b),
        Op::Sra { d, a, b } => rr(SRA, d, a, b),
        Op::Slt { d, a, b } => rr(SLT, d, a, b),
        Op::Sltu { d, a, b } => rr(SLTU, d, a, b),
        Op::Mul { d, a, b } => rr(MUL, d, a, b),
        Op::Addi { d, a, imm } => ri(ADD, d, a, imm),
        Op::Andi { d, a, imm } => ri(AND, d, a, imm),
        Op::Ori { d, a, imm } => ri(OR, d, a, imm),
        Op::Xori { d, a, imm } => ri(XOR, d, a, imm),
        Op::Slli { d, a, imm } => ri(SLL, d, a, imm),
        Op::Srli { d, a, imm } => ri(SRL, d, a, imm),
        Op::Srai { d, a, imm } => ri(SRA, d, a, imm),
        Op::Slti { d, a, imm } => ri(SLT, d, a, imm),
        Op::Sltiu { d, a, imm } => ri(SLTU, d, a, imm),
        Op::Li { d, imm } => Some((LI, d, 0, 0, imm)),
        _ => None,
    }
}

/// Two simple ALU ops in a row as one fused op, if they are.
pub(super) fn lower_pair(first: Op, second: Op) -> Option<TOp> {
    let (k1, d, a, b, imm) = simple(first)?;
    let (k2, z, x, y, imm2) = simple(second)?;
    let row = pair_use(d, k2, z, x, y);
    Some(TOp {
        f: PAIRS[row][usize::from(k1)][usize::from(k2)],
        imm,
        imm2,
        a,
        b,
        d,
        x,
        y,
        z,
        ..TOp::EMPTY
    })
}

/// The ALU ops that may trap or are rare (high multiplies, divisions):
/// `c` is the operation's index in `AluOp::ALL`.
pub(super) fn alu_rare(m: &mut Machine, c: &BlockCache, ops: &[TOp], left: usize, ep: u64) -> u64 {
    let op = op!(ops);
    let alu = AluOp::ALL[usize::from(op.c) % AluOp::ALL.len()];
    match alu.apply(reg!(m, op.a), reg!(m, op.b)) {
        Some(v) => reg!(m, op.d) = v,
        None => return stop_at(m, op, Stop::Trap(Exception::DivideByZero, 0)),
    }
    next!(m, c, ops, left, ep)
}
