//! Control transfers, a block's last op: conditional branches, `jal`,
//! `jalr` and loop closers, each with an optional simple ALU op fused in
//! front.

use vmlab_isa::BranchCond;

use super::alu::{alu, kind, operand, simple};
use super::decode::{Op, branch};
use super::{Handler, NEXT, TOp, again, goto, missing_op};
use crate::block::BlockCache;
use crate::machine::Machine;

/// Branch condition `cond` (its index in `BranchCond::ALL`) on `a` and
/// `b`. Callers pass a constant: this folds to one compare.
#[inline(always)]
pub(super) fn compare(cond: u8, a: u32, b: u32) -> bool {
    BranchCond::ALL[usize::from(cond) % BranchCond::ALL.len()].holds(a, b)
}

/// No ALU op in front of a closer or transfer.
pub(super) const NO_PRE: u8 = kind::COUNT as u8;

/// The ALU op `PRE` fused in front of a closer or transfer, if any:
/// `z = x PRE (y | imm2)`.
#[inline(always)]
fn pre<const PRE: u8>(m: &mut Machine, op: &TOp) {
    if PRE != NO_PRE {
        let v = alu::<PRE>(reg!(m, op.x), operand::<PRE>(m, op.y, op.imm2));
        reg!(m, op.z) = v;
    }
}

/// A loop closer (see `Op::Closer`): first the ALU op `PRE` fused in front
/// of it, if any (`z = x PRE (y | imm2)`), then `d = a + (imm | b)`, then,
/// if `d` compares with `c` as `C` says, back to the loop's start, else on
/// after it.
///
/// `ON`: the closer of a copy of its loop's body that is not the last (see
/// `lowering::lower_block`). Taken, it goes on into the next copy, the op
/// after it, since the room was counted for every copy. Unless no room is
/// left: then a slow path in this pass may have moved the MMU's epoch, and
/// the pass back goes through the main loop, as a single copy's closer
/// would; the main loop fetches the loop's start afresh, so the TLB sees
/// the same fetches whatever the engine. (When the epoch did not move, the
/// jump cache still has the loop and nothing is counted.)
fn closer<const PRE: u8, const C: u8, const ON: bool>(
    m: &mut Machine,
    c: &BlockCache,
    ops: &[TOp],
    left: usize,
    ep: u64,
) -> u64 {
    let op = op!(ops);
    pre::<PRE>(m, op);
    if close::<C>(m, op) {
        if !ON {
            return again(m, c, op, left, ep);
        }
        if left == 0 {
            m.cpu.instret += u64::from(op.n);
            m.cpu.pc = op.block_start();
            return NEXT;
        }
        next!(m, c, ops, left, ep)
    }
    goto(m, c, left, ep, op.n, op.after())
}

/// The loop closer `op` of kind `C` after the op in front of it: `d = a +
/// (imm | b)`, then whether `d` compares with `c` as `C` says (go back).
#[inline(always)]
pub(super) fn close<const C: u8>(m: &mut Machine, op: &TOp) -> bool {
    let addend = if C >= 6 { reg!(m, op.b) } else { op.imm };
    let v = reg!(m, op.a).wrapping_add(addend);
    reg!(m, op.d) = v;
    compare(C % 6, v, reg!(m, op.c))
}

/// The loop closers of one kind (whether they go on into a next copy), by
/// the ALU op in front (or [`NO_PRE`]) and the closer's kind.
#[rustfmt::skip]
macro_rules! closers {
    ($on:literal) => {
        table!(
            closer,
            [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, NO_PRE],
            [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11],
            $on
        )
    };
}

/// Every loop closer's handler: those that go back to the loop's start,
/// then those that go on into the next copy (see [`closer`]).
static CLOSERS: [[[Handler; 12]; kind::COUNT + 1]; 2] = [closers!(false), closers!(true)];

/// Conditional branches, `jal` and `jalr`, a block's last op, by number:
/// the branch conditions in `BranchCond` order, then these two.
const JAL: u8 = 6;
const JALR: u8 = 7;

/// A control transfer, a block's last op: first the ALU op `PRE` fused in
/// front of it, if any; then, as `T` says, a branch to `imm` if `a`
/// compares with `b` (else on), `jal` (`d = pc + 4`, to `imm`) or `jalr`
/// (to `a + imm`, read before `d = pc + 4` is written).
fn transfer<const PRE: u8, const T: u8>(
    m: &mut Machine,
    c: &BlockCache,
    ops: &[TOp],
    left: usize,
    ep: u64,
) -> u64 {
    let op = op!(ops);
    pre::<PRE>(m, op);
    let target = match T {
        JAL => {
            reg!(m, op.d) = op.after();
            op.imm
        }
        JALR => {
            let target = reg!(m, op.a).wrapping_add(op.imm);
            reg!(m, op.d) = op.after();
            target
        }
        _ => {
            if compare(T, reg!(m, op.a), reg!(m, op.b)) {
                op.imm
            } else {
                op.after()
            }
        }
    };
    goto(m, c, left, ep, op.n, target)
}

/// Every control transfer's handler, by the ALU op in front (or
/// [`NO_PRE`]) and the transfer's number.
#[rustfmt::skip]
static TRANSFERS: [[Handler; 8]; kind::COUNT + 1] = table!(
    transfer,
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, NO_PRE],
    [0, 1, 2, 3, 4, 5, 6, 7]
);

/// A side exit: a conditional branch in the middle of a block whose code
/// goes on after it (see `lowering::lower_block`). First, if `LINK`, the
/// constant `d = pc` (a `li` two instructions before the branch, such as
/// the link a call the block followed writes); then the ALU op `PRE` in
/// front of the branch, if any; then to `imm` if `a` compares with `b` as
/// `C` says (the block ends there), else on to the next op. (The room left
/// was counted for the whole block, so a side exit chains with less room
/// than it has: never more.)
///
/// If `RET`, `imm` holds a `ret` and `pc` the link the block put in `ra`:
/// a taken exit runs the `ret` too and goes to the link, when there is room
/// for one more instruction (else it stops short, at the `ret`).
fn side<const PRE: u8, const C: u8, const RET: bool, const LINK: bool>(
    m: &mut Machine,
    c: &BlockCache,
    ops: &[TOp],
    left: usize,
    ep: u64,
) -> u64 {
    let op = op!(ops);
    if LINK {
        reg!(m, op.d) = op.pc;
    }
    pre::<PRE>(m, op);
    if compare(C, reg!(m, op.a), reg!(m, op.b)) {
        if RET && left > 0 {
            return goto(m, c, left - 1, ep, op.n + 1, op.pc);
        }
        return goto(m, c, left, ep, op.n, op.imm);
    }
    next!(m, c, ops, left, ep)
}

/// The side exits of one kind (whether they run a `ret`, whether they
/// write a constant first), by the ALU op in front (or [`NO_PRE`]) and
/// the branch condition.
#[rustfmt::skip]
macro_rules! sides {
    ($ret:literal, $link:literal) => {
        table!(
            side,
            [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, NO_PRE],
            [0, 1, 2, 3, 4, 5],
            $ret,
            $link
        )
    };
}

/// Every side exit's handler, by whether it writes a constant first,
/// whether it runs a `ret`, the ALU op in front (or [`NO_PRE`]) and the
/// branch condition.
static SIDES: [[[[Handler; 6]; kind::COUNT + 1]; 2]; 2] = [
    [sides!(false, false), sides!(true, false)],
    [sides!(false, true), sides!(true, true)],
];

/// The ALU op fused in front of a transfer, closer or side exit as (kind,
/// or [`NO_PRE`]; `z`, `x`, `y`, `imm2`); `None` if `pre` is not a simple
/// ALU op.
fn pre_parts(pre: Option<Op>) -> Option<(u8, u8, u8, u8, u32)> {
    match pre {
        Some(op) => simple(op),
        None => Some((NO_PRE, 0, 0, 0, 0)),
    }
}

/// The conditional branch `op` (the block's `n`th instruction) as a side
/// exit, with the simple ALU op `pre` fused in front of it, if it is one;
/// `ret_to`: the link a taken exit goes to, running the `ret` at its target;
/// `link`: a constant write `(d, value)` in front of `pre`, if it can go
/// with this exit (with `ret_to`, only of the link itself).
pub(super) fn lower_side(
    pre: Option<Op>,
    op: Op,
    n: u8,
    ret_to: Option<u32>,
    link: Option<(u8, u32)>,
) -> Option<TOp> {
    let (k, z, x, y, imm2) = pre_parts(pre)?;
    let (cond, a, b, target) = branch(op)?;
    let (d, value) = link.unwrap_or((0, 0));
    if link.is_some() && ret_to.is_some_and(|to| to != value) {
        return None;
    }
    Some(TOp {
        f: SIDES[usize::from(link.is_some())][usize::from(ret_to.is_some())][usize::from(k)]
            [usize::from(cond)],
        imm: target,
        // A side exit never stops, so needs no pc of its own.
        pc: ret_to.unwrap_or(value),
        a,
        b,
        d,
        n,
        x,
        y,
        z,
        imm2,
        ..TOp::EMPTY
    })
}

/// A control transfer or loop closer `last` (at `pc`, the block's `n`th
/// instruction; the block's first op at arena index `first`) with the
/// simple ALU op `pre` fused in front of it, if it is one. A closer that
/// goes `on` into the next copy of its loop's body when taken is
/// `closer`'s `ON` kind; any other goes back to `first`.
pub(super) fn lower_last(
    pre: Option<Op>,
    last: Op,
    pc: u32,
    n: u8,
    first: usize,
    on: bool,
) -> Option<TOp> {
    let (k, z, x, y, imm2) = pre_parts(pre)?;
    let k = usize::from(k);
    let (f, a, b, c, d, imm) = match last {
        Op::Closer {
            d,
            a,
            b,
            c,
            imm,
            kind,
        } => (
            CLOSERS[usize::from(on)][k][usize::from(kind % 12)],
            a,
            b,
            c,
            d,
            imm as i32 as u32,
        ),
        Op::Jal { d, target } => (TRANSFERS[k][usize::from(JAL)], 0, 0, 0, d, target),
        Op::Jalr { d, a, imm } => (TRANSFERS[k][usize::from(JALR)], a, 0, 0, d, imm),
        _ => {
            let (cond, a, b, target) = branch(last)?;
            (TRANSFERS[k][usize::from(cond)], a, b, 0, 0, target)
        }
    };
    Some(TOp {
        f,
        imm,
        pc,
        a,
        b,
        c,
        d,
        n,
        x,
        y,
        z,
        imm2,
        first: first as u16,
        k: k as u8,
        // A closer's block is the `n` instructions up to it (lowering
        // changes this for a loop's copies).
        back: n.saturating_sub(1),
    })
}
