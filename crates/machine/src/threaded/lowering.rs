//! Lowering: a block's instructions to threaded ops, choosing which to fuse
//! and which jumps within the page to follow.

use vmlab_isa::paging::PAGE_SIZE;
use vmlab_isa::{AluOp, Instr, Reg, decode};

use super::alu::{SINGLES, alu_rare, lower_pair, simple};
use super::control::{lower_last, lower_side};
use super::decode::{Op, branch, fuse_loop, predecode};
use super::loops::lower_mem_loop;
use super::memory::{GROUP_MAX, lower_group, lower_indexed, lower_plain};
use super::{Handler, TOp, read_op, system};

use crate::block::{MAX_BLOCK, form_block};
use crate::cpu::SINK;

/// A decoded instruction of a block being built: its op, its pc, how many
/// of the block's instructions run up to and including it, whether it ends
/// the block (a transfer or a system instruction), whether it is a
/// conditional branch the block goes on after (a side exit), and for a side
/// exit to a `ret` whose `ra` the block set, where that returns to.
#[derive(Clone, Copy)]
struct Decoded {
    op: Op,
    pc: u32,
    n: u8,
    ends: bool,
    side: bool,
    ret_to: Option<u32>,
}

/// Most stretches of code one block's ops may join (see [`lower_block`]).
pub(crate) const SEGMENTS: usize = 4;

/// Most `ret`s one block's side exits may run in place (see
/// [`lower_block`]).
const RETS: usize = 2;

/// Stretches of the page a block's ops depend on: its code, and the `ret`s
/// its side exits run.
pub(crate) const MARKS: usize = SEGMENTS + RETS;

/// What [`lower_block`] built.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Lowered {
    /// Ops written.
    pub ops: usize,
    /// Instructions they run.
    pub len: usize,
    /// The stretches of the page they were decoded from, as (page offset,
    /// bytes); unused entries have no bytes.
    pub segments: [(u32, u32); MARKS],
}

/// Decodes up to `limit` instructions of the block at `va` (`page`: the
/// bytes of its page) and writes their threaded ops into `arena` from
/// index `at`, fusing ops if `fuse`. The ops always end with one that
/// leaves the block.
///
/// When fusing and `join`, a block that ends in a `jal` to an address in the same
/// page goes on there: the `jal` becomes a write of its link register (or
/// nothing), and the code at the target joins the block, up to
/// [`SEGMENTS`] stretches and `limit` instructions in all. One page means
/// one translation and one code generation: the block is as valid as its
/// first instruction is. The transfer it saves is the costly part of a
/// call or a jump back.
///
/// A side exit to a `ret` (`jalr zero, 0(ra)`) in the page, taken while
/// `ra` holds a link this block wrote (a call it followed, and nothing
/// since that writes `ra`), runs the `ret` itself: it goes straight to the
/// link. A call to a leaf that returns early then costs one transfer, back
/// to the caller, whose address is fixed per block (so the host predicts
/// it, where a shared `ret` handler mispredicts between call sites).
///
/// Joins are for code that runs untranslated (`join` false when the MMU
/// translates through the TLB). A block boundary is where an engine
/// fetches afresh after a TLB fill has moved the MMU's epoch, and a fetch
/// can miss in the TLB; a joined block would run on past such a boundary
/// without the fetch, and count fewer TLB misses than an engine that runs
/// blocks as `form_block` makes them. (A loop's copies, below, leave at
/// every copy's end in that case instead.)
pub(crate) fn lower_block(
    arena: &mut [TOp],
    at: usize,
    va: u32,
    page: &[u8],
    limit: usize,
    fuse: bool,
    join: bool,
) -> Lowered {
    let mut decoded = [Decoded {
        op: Op::System { word: 0 },
        pc: 0,
        n: 0,
        ends: false,
        side: false,
        ret_to: None,
    }; MAX_BLOCK];
    let page_base = va & !(PAGE_SIZE - 1);
    let mut segments = [(0, 0); MARKS];
    // The `ret`s side exits run, marked after the segments.
    let mut rets = SEGMENTS;
    // The link `ra` holds, if this block wrote it.
    let mut ra = None;
    // Entries in `decoded`, and instructions taken (a `j` leaves none).
    let (mut n, mut len) = (0, 0);
    // Where control goes after the last instruction taken.
    let mut next = va;
    let limit = limit.min(MAX_BLOCK);
    for s in 0..SEGMENTS {
        let start = next;
        let code = page.get((start - page_base) as usize..).unwrap_or(&[]);
        let mut pc = start;
        for (instr, w) in form_block(code).zip(code.chunks_exact(4)).take(limit - len) {
            let word = u32::from_le_bytes([w[0], w[1], w[2], w[3]]);
            len += 1;
            decoded[n] = Decoded {
                op: predecode(instr, word, pc),
                pc,
                n: len as u8,
                ends: instr.ends_block(),
                side: false,
                ret_to: None,
            };
            if instr.dest() == Some(Reg::RA) {
                ra = None;
            }
            n += 1;
            pc = pc.wrapping_add(4);
        }
        segments[s] = (start - page_base, pc.wrapping_sub(start));
        next = pc;
        let Some(last) = n.checked_sub(1) else { break };
        let d = decoded[last];
        if !(fuse && join && d.ends) {
            break;
        }
        // Whether the block may take in another stretch.
        let more = len < limit && s + 1 < SEGMENTS;
        let in_page = |to: u32| to & !(PAGE_SIZE - 1) == page_base;
        if let Op::Jal { d: link, target } = d.op {
            if !more || !in_page(target) {
                break;
            }
            if link == SINK {
                n -= 1;
            } else {
                decoded[last].op = Op::Li {
                    d: link,
                    imm: d.pc.wrapping_add(4),
                };
                decoded[last].ends = false;
                if link == Reg::RA.num() {
                    ra = Some(d.pc.wrapping_add(4));
                }
            }
            next = target;
        } else if let Some((_, _, _, target)) = branch(d.op) {
            // A branch back to the start may close a loop (below).
            if target == va {
                break;
            }
            let on = d.pc.wrapping_add(4);
            // Where a taken branch's `ret` goes, if this block runs it.
            let off = target.wrapping_sub(page_base) as usize;
            let is_ret = in_page(target)
                && page.get(off..off + 4).is_some_and(|w| {
                    let word = u32::from_le_bytes([w[0], w[1], w[2], w[3]]);
                    decode(word)
                        == Instr::Jalr {
                            rd: Reg::ZERO,
                            rs1: Reg::RA,
                            off: 0,
                        }
                });
            let ret_to = ra.filter(|_| is_ret && rets < MARKS);
            let join = more && in_page(on);
            if !join && ret_to.is_none() {
                break;
            }
            // A side exit; the block goes on after it, or (when it may not
            // take in more) ends there, going on to `on` from its end op.
            decoded[last].side = true;
            decoded[last].ends = false;
            decoded[last].ret_to = ret_to;
            next = on;
            if ret_to.is_some() {
                segments[rets] = (off as u32, 4);
                rets += 1;
            }
            if !join {
                break;
            }
        } else {
            break;
        }
    }
    let joined = segments[1].1 != 0;
    let ends = n > 0 && decoded[n - 1].ends;
    let mut ops = &decoded[..n];
    // A loop closer branches back to the block's start by arithmetic on
    // its own pc: only in a block of one stretch.
    let mut closed = false;
    if fuse && n >= 2 && !joined {
        if let Some(fused) = fuse_loop(ops[n - 2].op, ops[n - 1].op, va) {
            decoded[n - 2] = Decoded {
                op: fused,
                ..decoded[n - 1]
            };
            ops = &decoded[..n - 1];
            closed = true;
        }
    }
    let mut k = write_ops(arena, at, ops, fuse);
    // A loop of one load or store (plain or indexed) and its closer runs
    // as one Rust loop.
    let mem_loop = closed && k - at == 2 && {
        let lowered = &mut arena[at..k];
        match (
            ops[0].op,
            ops.get(1).map(|d| d.op),
            ops.last().map(|d| d.op),
        ) {
            (Op::Add { .. }, Some(mem), Some(Op::Closer { kind, .. })) => {
                lower_mem_loop(mem, true, kind, lowered)
            }
            (mem, _, Some(Op::Closer { kind, .. })) => lower_mem_loop(mem, false, kind, lowered),
            _ => false,
        }
    };
    // Any other loop runs as copies of its body: a pass that goes back to
    // the start then costs no lookup, except after the last copy.
    let copies = (limit.min(UNROLLED) / len.max(1)).min(COPIES);
    if closed && !mem_loop && copies > 1 {
        let mut unrolled = [decoded[0]; MAX_BLOCK];
        let body = ops.len();
        for copy in 0..copies {
            for (slot, d) in unrolled[copy * body..].iter_mut().zip(ops) {
                *slot = Decoded {
                    n: d.n + (copy * len) as u8,
                    // A closer that goes back into the next copy.
                    side: d.side || (copy + 1 < copies && matches!(d.op, Op::Closer { .. })),
                    ..*d
                };
            }
        }
        k = write_ops(arena, at, &unrolled[..copies * body], fuse);
        // Every copy's closer goes back (or leaves, see
        // `control::closer`) to the start of the first copy: the only
        // ops with a `back` are closers.
        for op in arena[at..k].iter_mut().filter(|op| op.back != 0) {
            op.back = (len - 1) as u8;
        }
        len *= copies;
    }
    if !ends {
        // Falls through (or was cut short after a `jal` it followed).
        arena[k] = end_op(next, len as u8);
        k += 1;
    }
    Lowered {
        ops: k - at,
        len,
        segments,
    }
}

/// Most copies of a loop's body a block takes (see [`lower_block`]).
const COPIES: usize = 4;

/// Most instructions the copies of a loop's body take in all.
const UNROLLED: usize = 32;

/// Writes the threaded ops of `ops` (decoded instructions of a block) into
/// `arena` from index `at`, fusing if `fuse`; returns the index after the
/// last. A closer that is a side exit (`side`: a loop's copy that is not
/// the last) goes on into the next copy when taken.
fn write_ops(arena: &mut [TOp], at: usize, ops: &[Decoded], fuse: bool) -> usize {
    let count = |d: &Decoded| d.n;
    let mut k = at;
    // Ops up to here are members of a group whose header is written.
    let mut grouped = 0;
    let mut i = 0;
    while i < ops.len() {
        let first = ops[i];
        if fuse && i >= grouped {
            // An `addi base, base, imm` in front of a group off `base`
            // joins it (a stack frame's prologue).
            let pre = match first.op {
                Op::Addi { d, a, imm } if d == a && d != SINK => Some((d, imm)),
                _ => None,
            };
            let from = i + usize::from(pre.is_some());
            let mut members = [first.op; GROUP_MAX];
            let mut run = 0;
            if let Some(lead) = ops.get(from) {
                for d in ops[from..].iter().take(GROUP_MAX) {
                    if !same_group(lead.op, d.op) {
                        break;
                    }
                    members[run] = d.op;
                    run += 1;
                }
            }
            // The longest run from here that makes a group.
            let group = (2..=run)
                .rev()
                .find_map(|r| lower_group(&members[..r], pre).map(|h| (h, r)));
            if let Some((header, run)) = group {
                arena[k] = header;
                k += 1;
                grouped = from + run;
                if pre.is_some() {
                    // The header runs the addi.
                    i += 1;
                    continue;
                }
            }
        }
        // A `li` and an ALU op in front of a side exit (a call's link
        // write, then the callee's first test) join it.
        let linked = match (first.op, ops.get(i + 1), ops.get(i + 2)) {
            (Op::Li { d, imm }, Some(pre), Some(exit)) if fuse && exit.side && i >= grouped => {
                lower_side(Some(pre.op), exit.op, exit.n, exit.ret_to, Some((d, imm)))
            }
            _ => None,
        };
        if let Some(op) = linked {
            arena[k] = op;
            k += 1;
            i += 3;
            continue;
        }
        let pair = match ops.get(i + 1) {
            Some(second) if fuse && i + 1 >= grouped => {
                // An add that addresses the op after it fuses with that
                // op rather than with the one before.
                let addresses_next = ops
                    .get(i + 2)
                    .is_some_and(|third| lower_indexed(second.op, third.op, third.pc, 0).is_some());
                let (pc, n) = (second.pc, count(second));
                lower_indexed(first.op, second.op, pc, n)
                    .or_else(|| match (second.side, second.op) {
                        (true, Op::Closer { .. }) => {
                            lower_last(Some(first.op), second.op, pc, n, at, true)
                        }
                        (true, _) => lower_side(Some(first.op), second.op, n, second.ret_to, None),
                        (false, _) => lower_last(Some(first.op), second.op, pc, n, at, false),
                    })
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
                let side = match (first.side, first.op) {
                    (true, Op::Closer { .. }) => {
                        lower_last(None, first.op, first.pc, first.n, at, true)
                    }
                    (true, _) => lower_side(None, first.op, first.n, first.ret_to, None),
                    (false, _) => None,
                };
                side.unwrap_or_else(|| lower(first.op, first.pc, count(&first), at))
            }
        };
        k += 1;
    }
    k
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
    if let Some(last) = lower_last(None, op, pc, n, first, false) {
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

/// The op that ends a block of `n` instructions without a transfer of its
/// own: on to `next`.
pub(crate) fn end_op(next: u32, n: u8) -> TOp {
    TOp {
        imm: next,
        n,
        ..TOp::EMPTY
    }
}
