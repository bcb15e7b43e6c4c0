//! Lowering: a block's instructions to threaded ops, choosing which to fuse.

use vmlab_isa::AluOp;

use super::alu::{SINGLES, alu_rare, lower_pair, simple};
use super::control::lower_last;
use super::decode::{Op, fuse_loop, predecode};
use super::memory::{GROUP_MAX, lower_group, lower_indexed, lower_plain};
use super::{Handler, TOp, read_op, system};
use crate::block::{MAX_BLOCK, form_block};

/// A decoded instruction of a block being built: its op, its pc, and
/// whether it ends the block (a transfer or a system instruction).
#[derive(Clone, Copy)]
struct Decoded {
    op: Op,
    pc: u32,
    ends: bool,
}

/// Decodes up to `limit` instructions of the block at `va` (its bytes
/// `code`, the rest of its page) and writes their threaded ops into `arena`
/// from index `at`, fusing ops if `fuse`. The ops always end with one that
/// leaves the block. Returns (ops written, instructions).
pub(crate) fn lower_block(
    arena: &mut [TOp],
    at: usize,
    va: u32,
    code: &[u8],
    limit: usize,
    fuse: bool,
) -> (usize, usize) {
    let mut decoded = [Decoded {
        op: Op::System { word: 0 },
        pc: 0,
        ends: false,
    }; MAX_BLOCK];
    let mut n = 0;
    let mut pc = va;
    for (instr, w) in form_block(code).zip(code.chunks_exact(4)).take(limit) {
        let word = u32::from_le_bytes([w[0], w[1], w[2], w[3]]);
        decoded[n] = Decoded {
            op: predecode(instr, word, pc),
            pc,
            ends: instr.ends_block(),
        };
        n += 1;
        pc = pc.wrapping_add(4);
    }
    let ends = n > 0 && decoded[n - 1].ends;
    let mut ops = &decoded[..n];
    if fuse && n >= 2 {
        if let Some(fused) = fuse_loop(ops[n - 2].op, ops[n - 1].op, va) {
            decoded[n - 2] = Decoded {
                op: fused,
                ..decoded[n - 1]
            };
            ops = &decoded[..n - 1];
        }
    }
    let count = |d: &Decoded| (d.pc.wrapping_sub(va) / 4 + 1) as u8;
    let mut k = at;
    // Ops up to here are members of a group whose header is written.
    let mut grouped = 0;
    let mut i = 0;
    while i < ops.len() {
        let first = ops[i];
        if fuse && i >= grouped {
            let mut members = [first.op; GROUP_MAX];
            let mut run = 0;
            for d in ops[i..].iter().take(GROUP_MAX) {
                if !same_group(first.op, d.op) {
                    break;
                }
                members[run] = d.op;
                run += 1;
            }
            if let Some(header) = lower_group(&members[..run]) {
                arena[k] = header;
                k += 1;
                grouped = i + run;
            }
        }
        let pair = match ops.get(i + 1) {
            Some(second) if fuse && i + 1 >= grouped => {
                // An add that addresses the op after it fuses with that
                // op rather than with the one before.
                let addresses_next = ops
                    .get(i + 2)
                    .is_some_and(|third| lower_indexed(second.op, third.op, third.pc, 0).is_some());
                lower_indexed(first.op, second.op, second.pc, count(second))
                    .or_else(|| lower_last(Some(first.op), second.op, second.pc, count(second), at))
                    .or_else(|| {
                        (!addresses_next)
                            .then(|| lower_pair(first.op, second.op))
                            .flatten()
                    })
            }
            _ => None,
        };
        arena[k] = match pair {
            Some(op) => {
                i += 2;
                op
            }
            None => {
                i += 1;
                lower(first.op, first.pc, count(&first), at)
            }
        };
        k += 1;
    }
    if !ends {
        // Falls through: to the instruction after the last one.
        let pc = va.wrapping_add(4 * n as u32).wrapping_sub(4);
        arena[k] = end_op(pc, n as u8);
        k += 1;
    }
    (k - at, n)
}

/// True when `op` can join a group that `first` starts: word loads (that
/// do not write their base) or word stores, off the same base register.
fn same_group(first: Op, op: Op) -> bool {
    match (first, op) {
        (Op::Lw { a, .. }, Op::Lw { d, a: b, .. }) => a == b && d != b,
        (Op::Sw { a, .. }, Op::Sw { a: b, .. }) => a == b,
        _ => false,
    }
}

/// Lowers a predecoded op whose last instruction is at `pc` to its
/// threaded form. `n`: the block's length in instructions up to and
/// including that one; `first`: the arena index of the block's first op
/// (for loop closers).
fn lower(op: Op, pc: u32, n: u8, first: usize) -> TOp {
    let t = |f: Handler, a: u8, b: u8, d: u8, imm: u32| TOp {
        f,
        imm,
        pc,
        a,
        b,
        c: 0,
        d,
        n,
        ..TOp::EMPTY
    };
    if let Some((k, d, a, b, imm)) = simple(op) {
        return t(SINGLES[usize::from(k)], a, b, d, imm);
    }
    if let Some(last) = lower_last(None, op, pc, n, first) {
        return last;
    }
    if let Some(mem) = lower_plain(op, pc, n) {
        return mem;
    }
    match op {
        Op::Alu { op, d, a, b } => {
            let k = AluOp::ALL.iter().position(|&x| x == op).unwrap_or(0);
            TOp {
                c: k as u8,
                ..t(alu_rare, a, b, d, 0)
            }
        }
        Op::Csrr { word } | Op::Getf { word } => t(read_op, 0, 0, 0, word),
        Op::System { word } => t(system, 0, 0, 0, word),
        // Simple ALU ops, transfers, closers, loads and stores: above.
        _ => unreachable!("{op:?} has a lowering above"),
    }
}

/// The op that ends a block of `n` instructions, the last at `pc`, without
/// a transfer.
pub(crate) fn end_op(pc: u32, n: u8) -> TOp {
    TOp {
        pc,
        n,
        ..TOp::EMPTY
    }
}
