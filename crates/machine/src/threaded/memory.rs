//! Loads and stores: plain (`a + imm`), indexed (an `add` fused in front),
//! and groups of word accesses off one base register.

use vmlab_isa::Width;

use super::decode::Op;
use super::{Handler, TOp, after_slow, end_after, missing_op, stop_at};
use crate::block::BlockCache;
use crate::cpu::SINK;
use crate::machine::Machine;

/// The address of a load or store: `a + imm`, or for an indexed one
/// (`X`: an `add c, a, b` fused in front of it) `c = a + b` first, then
/// `c + imm`.
#[inline(always)]
pub(super) fn address<const X: bool>(m: &mut Machine, op: &TOp) -> u32 {
    let base = if X {
        let v = reg!(m, op.a).wrapping_add(reg!(m, op.b));
        reg!(m, op.c) = v;
        v
    } else {
        reg!(m, op.a)
    };
    base.wrapping_add(op.imm)
}

/// The address a slow path recomputes: the fast path already did any add.
#[inline(always)]
fn address_again<const X: bool>(m: &Machine, op: &TOp) -> u32 {
    let base = if X { reg!(m, op.c) } else { reg!(m, op.a) };
    base.wrapping_add(op.imm)
}

/// Loads and stores by number: loads in the order `lw`, `lh`, `lhu`,
/// `lb`, `lbu`, then stores `sw`, `sh`, `sb`.
pub(super) const STORES: u8 = 5;

/// The width of load or store number `m`.
#[inline(always)]
pub(super) const fn width(m: u8) -> Width {
    match m {
        0 | 5 => Width::Word,
        1 | 2 | 6 => Width::Half,
        _ => Width::Byte,
    }
}

/// What load number `m` makes of the bytes it read.
#[inline(always)]
pub(super) const fn extend(m: u8, raw: u32) -> u32 {
    match m {
        1 => raw as u16 as i16 as u32,
        3 => raw as u8 as i8 as u32,
        _ => raw,
    }
}

/// A load's fast path: aligned, in the flat window.
#[inline(always)]
pub(super) fn load_fast(m: &Machine, va: u32, width: Width) -> Option<u32> {
    if va & (width.bytes() - 1) == 0 && va < m.mmu.flat {
        m.mmu.ram.load(va, width)
    } else {
        None
    }
}

/// A store's fast path: aligned, in the flat window, to a frame no one
/// watches. False if it did not store.
#[inline(always)]
pub(super) fn store_fast(m: &mut Machine, va: u32, width: Width, value: u32) -> bool {
    va & (width.bytes() - 1) == 0
        && va < m.mmu.flat
        && !m.mmu.frames.store_watched(va)
        && m.mmu.ram.store(va, width, value)
}

/// Loads: `d = extend(mem[address])`, by number. The flat window inline;
/// the TLB and the slow path in a second handler, tail-called, so the fast
/// path saves no registers.
macro_rules! loads {
    ($($name:ident, $slow:ident: $number:literal;)*) => {$(
        fn $name<const X: bool>(
            m: &mut Machine,
            c: &BlockCache,
            ops: &[TOp],
            left: usize,
            ep: u64,
        ) -> u64 {
            let op = op!(ops);
            let va = address::<X>(m, op);
            if let Some(raw) = load_fast(m, va, width($number)) {
                reg!(m, op.d) = extend($number, raw);
                next!(m, c, ops, left, ep)
            }
            $slow::<X>(m, c, ops, left, ep)
        }

        #[inline(never)]
        fn $slow<const X: bool>(
            m: &mut Machine,
            c: &BlockCache,
            ops: &[TOp],
            left: usize,
            ep: u64,
        ) -> u64 {
            let op = op!(ops);
            let va = address_again::<X>(m, op);
            let mut left = left;
            let raw = match m.load_other(va, width($number)) {
                Ok((v, slow)) => {
                    if slow {
                        left = after_slow(m, left, ep);
                    }
                    v
                }
                Err(stop) => return stop_at(m, op, stop),
            };
            reg!(m, op.d) = extend($number, raw);
            next!(m, c, ops, left, ep)
        }
    )*};
}

loads! {
    lw, lw_slow: 0;
    lh, lh_slow: 1;
    lhu, lhu_slow: 2;
    lb, lb_slow: 3;
    lbu, lbu_slow: 4;
}

/// Stores: `mem[address] = d`, by number. The flat window of unwatched
/// frames inline; the rest in a second handler, tail-called.
macro_rules! stores {
    ($($name:ident, $slow:ident: $number:literal;)*) => {$(
        fn $name<const X: bool>(
            m: &mut Machine,
            c: &BlockCache,
            ops: &[TOp],
            left: usize,
            ep: u64,
        ) -> u64 {
            let op = op!(ops);
            let va = address::<X>(m, op);
            let value = reg!(m, op.d);
            if store_fast(m, va, width($number), value) {
                next!(m, c, ops, left, ep)
            }
            $slow::<X>(m, c, ops, left, ep)
        }

        #[inline(never)]
        fn $slow<const X: bool>(
            m: &mut Machine,
            c: &BlockCache,
            ops: &[TOp],
            left: usize,
            ep: u64,
        ) -> u64 {
            let op = op!(ops);
            let va = address_again::<X>(m, op);
            let value = reg!(m, op.d);
            let mut left = left;
            match m.store_other(va, width($number), value) {
                Ok(false) => {}
                Ok(true) => left = after_slow(m, left, ep),
                Err(None) => return end_after(m, op),
                Err(Some(stop)) => return stop_at(m, op, stop),
            }
            next!(m, c, ops, left, ep)
        }
    )*};
}

stores! {
    sw, sw_slow: 5;
    sh, sh_slow: 6;
    sb, sb_slow: 7;
}

/// A group of `K` word loads or stores off one base register (`a`): the
/// `K` ops right after this one, at consecutive words from `imm` up, whose
/// registers are the bytes of `pc` in the order of their words. One
/// check for all of them, then each without its own dispatch, inside one
/// slice of RAM; if the check fails, the members run one by one, as
/// written. (The span is under a page, so one alignment check and the watch
/// bytes of the two ends cover every member.) If `PRE`, an `addi a, a,
/// imm2` in front of the group (a stack frame's prologue) comes first, and
/// the base goes on in a host register rather than through the register
/// file.
fn group<const STORE: bool, const K: usize, const PRE: bool>(
    m: &mut Machine,
    c: &BlockCache,
    ops: &[TOp],
    left: usize,
    ep: u64,
) -> u64 {
    let op = op!(ops);
    let mut base = reg!(m, op.a);
    if PRE {
        base = base.wrapping_add(op.imm2);
        reg!(m, op.a) = base;
    }
    let lo = base.wrapping_add(op.imm);
    // Computed wide: a group that wraps around 4 GiB is not in the window.
    let end = lo as usize + 4 * K;
    let watched = |m: &Machine| {
        STORE && (m.mmu.frames.store_watched(lo) || m.mmu.frames.store_watched((end - 4) as u32))
    };
    if lo & 3 != 0 || end > m.mmu.flat as usize || watched(m) {
        next!(m, c, ops, left, ep)
    }
    // The members' registers, a byte each, taken in turn.
    let mut members = op.pc;
    if STORE {
        let Some(window) = m.mmu.ram.as_bytes_mut().get_mut(lo as usize..end) else {
            next!(m, c, ops, left, ep)
        };
        for w in window.chunks_exact_mut(4) {
            w.copy_from_slice(&reg!(m, members as u8).to_le_bytes());
            members >>= 8;
        }
    } else {
        let Some(window) = m.mmu.ram.as_bytes().get(lo as usize..end) else {
            next!(m, c, ops, left, ep)
        };
        for w in window.chunks_exact(4) {
            if let &[b0, b1, b2, b3] = w {
                reg!(m, members as u8) = u32::from_le_bytes([b0, b1, b2, b3]);
            }
            members >>= 8;
        }
    }
    // On after the members.
    match ops.get(K + 1..) {
        Some(rest @ [after, ..]) => (after.f)(m, c, rest, left, ep),
        _ => missing_op(),
    }
}

/// The slow handler of each load and store, plain and indexed.
#[rustfmt::skip]
pub(super) static SLOWS: [[Handler; 2]; 8] = [
    [lw_slow::<false>, lw_slow::<true>], [lh_slow::<false>, lh_slow::<true>],
    [lhu_slow::<false>, lhu_slow::<true>], [lb_slow::<false>, lb_slow::<true>],
    [lbu_slow::<false>, lbu_slow::<true>], [sw_slow::<false>, sw_slow::<true>],
    [sh_slow::<false>, sh_slow::<true>], [sb_slow::<false>, sb_slow::<true>],
];

/// The most members a group takes.
pub(super) const GROUP_MAX: usize = 4;

/// The header of a group of `ops` (word loads or stores in a row), if
/// they qualify: two to [`GROUP_MAX`], one base register, at consecutive
/// words in some order (they touch distinct words, so any order does the
/// same), and no load that writes the base or a register another load
/// writes. `pre`: an `addi` of the base in front of them, as (base, imm).
pub(super) fn lower_group(ops: &[Op], pre: Option<(u8, u32)>) -> Option<TOp> {
    // The members as (offset, register), and the base and kind they share.
    let mut members = [(0, 0); GROUP_MAX];
    let mut shared = None;
    for (k, op) in ops.iter().enumerate() {
        let (store, a, d, imm) = match *op {
            Op::Lw { d, a, imm } if d != a => (false, a, d, imm as i32),
            Op::Sw { s, a, imm } => (true, a, s, imm as i32),
            _ => return None,
        };
        if *shared.get_or_insert((store, a)) != (store, a) {
            return None;
        }
        *members.get_mut(k)? = (imm, d);
    }
    let (store, base) = shared?;
    let members = &mut members[..ops.len()];
    members.sort_unstable_by_key(|&(imm, _)| imm);
    let lo = members[0].0;
    let consecutive = members
        .iter()
        .enumerate()
        .all(|(k, &(imm, _))| i64::from(imm) == i64::from(lo) + 4 * k as i64);
    let writes_twice = !store
        && members
            .iter()
            .enumerate()
            .any(|(k, &(_, d))| members[k + 1..].iter().any(|&(_, e)| e == d));
    if !consecutive || writes_twice || pre.is_some_and(|(d, _)| d != base) {
        return None;
    }
    let f: Handler = match (store, ops.len(), pre.is_some()) {
        (false, 2, false) => group::<false, 2, false>,
        (false, 3, false) => group::<false, 3, false>,
        (false, 4, false) => group::<false, 4, false>,
        (true, 2, false) => group::<true, 2, false>,
        (true, 3, false) => group::<true, 3, false>,
        (true, 4, false) => group::<true, 4, false>,
        (false, 2, true) => group::<false, 2, true>,
        (false, 3, true) => group::<false, 3, true>,
        (false, 4, true) => group::<false, 4, true>,
        (true, 2, true) => group::<true, 2, true>,
        (true, 3, true) => group::<true, 3, true>,
        (true, 4, true) => group::<true, 4, true>,
        _ => return None,
    };
    // The members' registers in the order of their words, a byte each,
    // the first lowest.
    let regs = members
        .iter()
        .rev()
        .fold(0, |packed, &(_, d)| packed << 8 | u32::from(d));
    Some(TOp {
        f,
        imm: lo as u32,
        pc: regs,
        a: base,
        imm2: pre.map_or(0, |(_, imm)| imm),
        ..TOp::EMPTY
    })
}

/// A load or store's handler (indexed if `X`), base register, data
/// register (loaded or stored) and offset.
fn memory_op<const X: bool>(op: Op) -> Option<(Handler, u8, u8, u32)> {
    Some(match op {
        Op::Lw { d, a, imm } => (lw::<X>, a, d, imm),
        Op::Lh { d, a, imm } => (lh::<X>, a, d, imm),
        Op::Lhu { d, a, imm } => (lhu::<X>, a, d, imm),
        Op::Lb { d, a, imm } => (lb::<X>, a, d, imm),
        Op::Lbu { d, a, imm } => (lbu::<X>, a, d, imm),
        Op::Sw { s, a, imm } => (sw::<X>, a, s, imm),
        Op::Sh { s, a, imm } => (sh::<X>, a, s, imm),
        Op::Sb { s, a, imm } => (sb::<X>, a, s, imm),
        _ => return None,
    })
}

/// Lowers the load or store `op` (at `pc`, the block's `n`th instruction),
/// if it is one.
pub(super) fn lower_plain(op: Op, pc: u32, n: u8) -> Option<TOp> {
    let (f, a, d, imm) = memory_op::<false>(op)?;
    Some(TOp {
        f,
        imm,
        pc,
        a,
        d,
        n,
        ..TOp::EMPTY
    })
}

/// Lowers `add sum, a, b` followed by the load or store `mem` (at `pc`,
/// the block's `n`th instruction) whose base register is `sum` into one
/// indexed op, if they are such a pair.
pub(super) fn lower_indexed(add: Op, mem: Op, pc: u32, n: u8) -> Option<TOp> {
    let Op::Add { d: sum, a, b } = add else {
        return None;
    };
    let (f, base, d, imm) = memory_op::<true>(mem)?;
    // `add zero, ...` writes the sink: the memory op's base would read 0.
    (base == sum && sum != SINK).then_some(TOp {
        f,
        imm,
        pc,
        a,
        b,
        c: sum,
        d,
        n,
        ..TOp::EMPTY
    })
}
