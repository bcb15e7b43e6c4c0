//! The interpreter's threaded code: every predecoded operation is a handler
//! function plus its operands, and each handler ends by calling the next
//! op's handler in tail position. Optimised builds turn those calls into
//! jumps, so each op dispatches with its own indirect jump (direct threading)
//! instead of returning to one shared `match`, and adding an op cannot slow
//! the others down. A block's last op transfers control: to the next block
//! straight from the jump cache when it fits the room left, else back to the
//! interpreter's main loop.
//!
//! Nothing here relies on the calls becoming jumps: a chain never runs more
//! than [`CHAIN_MAX`] instructions (plus one op per block) before it returns,
//! so even a build that keeps every frame uses a bounded stack.
//!
//! Retired instructions are added to instret per block, by its last op (and
//! on a stop by the op that stops: each op knows how many of its block's
//! instructions precede it).

use vmlab_isa::{AluOp, Exception, Width};

use crate::block::{BlockCache, Op};
use crate::cpu::SINK;
use crate::exec::Stop;
use crate::machine::Machine;

/// A handler: runs `ops[0]` (and, through tail calls, the ops after it:
/// `ops` runs to the end of the arena) with `left` instructions allowed once
/// the current block is done, while the jump cache is read at `epoch`.
/// Returns a [`NEXT`], [`STOP`] or [`SYSTEM`] code.
pub(crate) type Handler = fn(&mut Machine, &BlockCache, &[TOp], usize, u64) -> u64;

/// The pc is set; carry on there.
pub(crate) const NEXT: u64 = 0;
/// The pc is set to an instruction that stopped ([`Machine::stopped`]).
pub(crate) const STOP: u64 = 1;
/// The pc is set to a system instruction, whose word is in the upper half.
pub(crate) const SYSTEM: u64 = 2;

/// Longest run of instructions a chain of handlers makes before it returns
/// to the main loop: bounds the stack should a build keep every frame.
pub(crate) const CHAIN_MAX: usize = if cfg!(debug_assertions) { 128 } else { 1024 };

/// A threaded op. What the four register bytes and `imm` mean depends on
/// the handler (see [`lower`]).
#[derive(Clone, Copy, Debug)]
pub(crate) struct TOp {
    pub f: Handler,
    pub imm: u32,
    /// The pc of the op's last instruction.
    pub pc: u32,
    pub a: u8,
    pub b: u8,
    pub c: u8,
    pub d: u8,
    /// Instructions of the block up to and including this op's last one.
    pub n: u8,
    /// An ALU op fused in front of this one: `z = x K (y | imm2)`.
    pub x: u8,
    pub y: u8,
    pub z: u8,
    pub imm2: u32,
    /// A loop closer's block: the arena index of its first op.
    pub first: u16,
}

impl TOp {
    /// The filler of unused arena slots (never run: every block ends with
    /// an op that leaves it).
    pub(crate) const EMPTY: TOp = TOp {
        f: end,
        imm: 0,
        pc: 0,
        a: 0,
        b: 0,
        c: 0,
        d: 0,
        n: 0,
        x: 0,
        y: 0,
        z: 0,
        imm2: 0,
        first: 0,
    };

    /// Instructions of the block before this op's last one.
    #[inline(always)]
    fn before(&self) -> u64 {
        u64::from(self.n).saturating_sub(1)
    }

    /// The pc after the op's last instruction.
    #[inline(always)]
    fn after(&self) -> u32 {
        self.pc.wrapping_add(4)
    }
}

/// Runs the ops from arena index `i` on.
#[inline(always)]
pub(crate) fn run(m: &mut Machine, c: &BlockCache, i: usize, left: usize, epoch: u64) -> u64 {
    let ops = c.ops_from(i);
    (ops[0].f)(m, c, ops, left, epoch)
}

/// The op a handler runs.
macro_rules! op {
    ($ops:ident) => {
        match $ops.first() {
            Some(op) => op,
            None => return missing_op(),
        }
    };
}

/// On to the next op of the block.
macro_rules! next {
    ($m:ident, $c:ident, $ops:ident, $left:expr, $ep:ident) => {{
        let rest = &$ops[1..];
        match rest.first() {
            Some(op) => return (op.f)($m, $c, rest, $left, $ep),
            None => return missing_op(),
        }
    }};
}

/// A block that runs off the end of the arena: cannot happen (every block
/// ends with an op that leaves it); a clean error rather than a panic.
#[cold]
#[inline(never)]
fn missing_op() -> u64 {
    debug_assert!(false, "a block ran off the end of the op arena");
    STOP_MISSING
}

/// What [`missing_op`] returns: the main loop raises a bus error.
pub(crate) const STOP_MISSING: u64 = 3;

/// The block's `n` instructions are done: go to `target`, straight into its
/// block if the jump cache has it at `epoch` and it fits in `left`.
#[inline(always)]
fn goto(m: &mut Machine, c: &BlockCache, left: usize, epoch: u64, n: u8, target: u32) -> u64 {
    m.cpu.instret += u64::from(n);
    if let Some(loc) = c.jump(target, epoch) {
        let len = usize::from(loc.len);
        if len <= left {
            let ops = c.ops_from(usize::from(loc.start));
            return (ops[0].f)(m, c, ops, left - len, epoch);
        }
    }
    m.cpu.pc = target;
    NEXT
}

/// The loop closer `op` is done and taken: its block (`n` instructions,
/// first op at arena index `first`) again in place if it fits in `left`.
#[inline(always)]
fn again(m: &mut Machine, c: &BlockCache, op: &TOp, left: usize, epoch: u64) -> u64 {
    m.cpu.instret += u64::from(op.n);
    let n = usize::from(op.n);
    if n <= left {
        let ops = c.ops_from(usize::from(op.first));
        return (ops[0].f)(m, c, ops, left - n, epoch);
    }
    m.cpu.pc = op.pc.wrapping_sub(4 * (u32::from(op.n) - 1));
    NEXT
}

/// `op` stopped: the instructions before it retire, the pc points at it.
#[cold]
#[inline(never)]
fn stop_at(m: &mut Machine, op: &TOp, stop: Stop) -> u64 {
    m.cpu.instret += op.before();
    m.cpu.pc = op.pc;
    m.stopped = stop;
    STOP
}

/// `op` (a store) invalidated cached code: it retires, and the main loop
/// carries on after it.
#[cold]
#[inline(never)]
fn end_after(m: &mut Machine, op: &TOp) -> u64 {
    m.cpu.instret += u64::from(op.n);
    m.cpu.pc = op.after();
    NEXT
}

/// A slow path ran: if it moved the MMU's epoch, no transfer may chain any
/// more (the main loop fetches afresh).
#[inline(always)]
fn after_slow(m: &Machine, left: usize, epoch: u64) -> usize {
    if m.mmu.epoch() == epoch { left } else { 0 }
}

macro_rules! reg {
    ($m:ident, $r:expr) => {
        $m.cpu.regs[usize::from($r)]
    };
}

/// The simple ALU ops by number: register-register ones (their index in
/// `AluOp::ALL`)
/// (`d = a op b`), then register-immediate ones (`d = a op imm`), then
/// `li` (`d = imm`).
mod kind {
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
fn alu<const K: u8>(a: u32, b: u32) -> u32 {
    if K == kind::LI {
        return b;
    }
    let k = if K >= kind::ADDI { K - kind::ADDI } else { K };
    // `K` is a constant: this folds to the one operation (none of the
    // simple ones divides, so none is `None`).
    AluOp::ALL[usize::from(k)].apply(a, b).unwrap_or(0)
}

/// The second operand of simple ALU op `K`: register `r`, or `imm`.
#[inline(always)]
fn operand<const K: u8>(m: &Machine, r: u8, imm: u32) -> u32 {
    if K < kind::ADDI { reg!(m, r) } else { imm }
}

/// Two simple ALU ops fused: `d = a K1 (b | imm)`, then
/// `z = x K2 (y | imm2)`, in that order (the second may read the first's
/// result). Neither can stop, so neither needs a pc.
fn pair<const K1: u8, const K2: u8>(
    m: &mut Machine,
    c: &BlockCache,
    ops: &[TOp],
    left: usize,
    ep: u64,
) -> u64 {
    let op = op!(ops);
    let v = alu::<K1>(reg!(m, op.a), operand::<K1>(m, op.b, op.imm));
    reg!(m, op.d) = v;
    let v = alu::<K2>(reg!(m, op.x), operand::<K2>(m, op.y, op.imm2));
    reg!(m, op.z) = v;
    next!(m, c, ops, left, ep)
}

/// A table of handlers `$f::<row, column>` for every row and column given.
macro_rules! table {
    ($f:ident, [$($row:expr),*], $columns:tt) => {
        [$(table!(@row $f, $row, $columns)),*]
    };
    (@row $f:ident, $row:expr, [$($column:literal),*]) => {
        [$($f::<{ $row }, $column>),*]
    };
}

/// Every fused pair's handler, by the two kinds.
#[rustfmt::skip]
static PAIRS: [[Handler; kind::COUNT]; kind::COUNT] = table!(
    pair,
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21],
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21]
);

/// A simple ALU op on its own: `d = a K (b | imm)`.
fn single<const K: u8>(m: &mut Machine, c: &BlockCache, ops: &[TOp], left: usize, ep: u64) -> u64 {
    let op = op!(ops);
    let v = alu::<K>(reg!(m, op.a), operand::<K>(m, op.b, op.imm));
    reg!(m, op.d) = v;
    next!(m, c, ops, left, ep)
}

/// Every simple ALU op's handler, by kind.
#[rustfmt::skip]
static SINGLES: [Handler; kind::COUNT] = [
    single::<0>, single::<1>, single::<2>, single::<3>, single::<4>, single::<5>,
    single::<6>, single::<7>, single::<8>, single::<9>, single::<10>, single::<11>,
    single::<12>, single::<13>, single::<14>, single::<15>, single::<16>, single::<17>,
    single::<18>, single::<19>, single::<20>, single::<21>,
];

/// A simple ALU op as (kind, d, a, b, imm).
fn simple(op: Op) -> Option<(u8, u8, u8, u8, u32)> {
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
pub(crate) fn lower_pair(first: Op, second: Op) -> Option<TOp> {
    let (k1, d, a, b, imm) = simple(first)?;
    let (k2, z, x, y, imm2) = simple(second)?;
    Some(TOp {
        f: PAIRS[usize::from(k1)][usize::from(k2)],
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
fn alu_rare(m: &mut Machine, c: &BlockCache, ops: &[TOp], left: usize, ep: u64) -> u64 {
    let op = op!(ops);
    let alu = AluOp::ALL[usize::from(op.c) % AluOp::ALL.len()];
    match alu.apply(reg!(m, op.a), reg!(m, op.b)) {
        Some(v) => reg!(m, op.d) = v,
        None => return stop_at(m, op, Stop::Trap(Exception::DivideByZero, 0)),
    }
    next!(m, c, ops, left, ep)
}

/// The address of a load or store: `a + imm`, or for an indexed one
/// (`X`: an `add c, a, b` fused in front of it) `c = a + b` first, then
/// `c + imm`.
#[inline(always)]
fn address<const X: bool>(m: &mut Machine, op: &TOp) -> u32 {
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

/// Loads: `d = ext(mem[address])`. The flat window inline; the TLB and the
/// slow path in a second handler, tail-called, so the fast path saves no
/// registers.
macro_rules! loads {
    ($($name:ident, $slow:ident: $width:expr, $ext:expr;)*) => {$(
        fn $name<const X: bool>(
            m: &mut Machine,
            c: &BlockCache,
            ops: &[TOp],
            left: usize,
            ep: u64,
        ) -> u64 {
            let op = op!(ops);
            let va = address::<X>(m, op);
            let width: Width = $width;
            if va & (width.bytes() - 1) == 0 && va < m.mmu.flat {
                if let Some(raw) = m.mmu.ram.load(va, width) {
                    #[allow(clippy::redundant_closure_call)]
                    let v = $ext(raw);
                    reg!(m, op.d) = v;
                    next!(m, c, ops, left, ep)
                }
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
            let raw = match m.load_other(va, $width) {
                Ok((v, slow)) => {
                    if slow {
                        left = after_slow(m, left, ep);
                    }
                    v
                }
                Err(stop) => return stop_at(m, op, stop),
            };
            #[allow(clippy::redundant_closure_call)]
            let v = $ext(raw);
            reg!(m, op.d) = v;
            next!(m, c, ops, left, ep)
        }
    )*};
}

loads! {
    lw, lw_slow: Width::Word, |v: u32| v;
    lh, lh_slow: Width::Half, |v: u32| v as u16 as i16 as u32;
    lhu, lhu_slow: Width::Half, |v: u32| v;
    lb, lb_slow: Width::Byte, |v: u32| v as u8 as i8 as u32;
    lbu, lbu_slow: Width::Byte, |v: u32| v;
}

/// Stores: `mem[address] = d`. The flat window of unwatched frames inline;
/// the rest in a second handler, tail-called.
macro_rules! stores {
    ($($name:ident, $slow:ident: $width:expr;)*) => {$(
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
            let width: Width = $width;
            if va & (width.bytes() - 1) == 0
                && va < m.mmu.flat
                && !m.mmu.frames.store_watched(va)
                && m.mmu.ram.store(va, width, value)
            {
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
            match m.store_other(va, $width, value) {
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
    sw, sw_slow: Width::Word;
    sh, sh_slow: Width::Half;
    sb, sb_slow: Width::Byte;
}

/// A group of `K` word loads or stores off one base register (`a`): the
/// `K` ops right after this one. One check for all of them, then each
/// without its own dispatch, inside one slice of RAM; if the check fails,
/// the members run one by one. `imm`: the lowest offset; `pc`: the highest minus the lowest. Built
/// only when every offset is a multiple of 4 and the span under a page, so
/// one alignment check and the watch bytes of the two ends cover every
/// member.
fn group<const STORE: bool, const K: usize>(
    m: &mut Machine,
    c: &BlockCache,
    ops: &[TOp],
    left: usize,
    ep: u64,
) -> u64 {
    let op = op!(ops);
    let Some(members) = ops.get(1..=K) else {
        return missing_op();
    };
    let lo = reg!(m, op.a).wrapping_add(op.imm);
    // Computed wide: a group that wraps around 4 GiB is not in the window.
    let end = lo as usize + op.pc as usize + 4;
    let watched = |m: &Machine| {
        STORE && (m.mmu.frames.store_watched(lo) || m.mmu.frames.store_watched((end - 4) as u32))
    };
    if lo & 3 != 0 || end > m.mmu.flat as usize || watched(m) {
        next!(m, c, ops, left, ep)
    }
    if STORE {
        let Some(window) = m.mmu.ram.as_bytes_mut().get_mut(lo as usize..end) else {
            next!(m, c, ops, left, ep)
        };
        for x in members {
            let at = x.imm.wrapping_sub(op.imm) as usize;
            if let Some(w) = window.get_mut(at..at + 4) {
                w.copy_from_slice(&m.cpu.regs[usize::from(x.d)].to_le_bytes());
            }
        }
    } else {
        let Some(window) = m.mmu.ram.as_bytes().get(lo as usize..end) else {
            next!(m, c, ops, left, ep)
        };
        for x in members {
            let at = x.imm.wrapping_sub(op.imm) as usize;
            if let Some(&[b0, b1, b2, b3]) = window.get(at..at + 4) {
                m.cpu.regs[usize::from(x.d)] = u32::from_le_bytes([b0, b1, b2, b3]);
            }
        }
    }
    let rest = &ops[K..];
    next!(m, c, rest, left, ep)
}

/// The most members a group takes.
pub(crate) const GROUP_MAX: usize = 4;

/// The header of a group of `ops` (consecutive word loads or stores), if
/// they qualify: two to [`GROUP_MAX`], one base register, offsets multiples of 4
/// spanning less than a page, and no load that writes the base.
pub(crate) fn lower_group(ops: &[Op]) -> Option<TOp> {
    let mut base = None;
    let mut store = false;
    let (mut lo, mut hi) = (i32::MAX, i32::MIN);
    for (k, op) in ops.iter().enumerate() {
        let (is_store, a, imm) = match *op {
            Op::Lw { d, a, imm } if d != a => (false, a, imm as i32),
            Op::Sw { a, imm, .. } => (true, a, imm as i32),
            _ => return None,
        };
        if k == 0 {
            (base, store) = (Some(a), is_store);
        } else if base != Some(a) || store != is_store {
            return None;
        }
        if imm % 4 != 0 {
            return None;
        }
        (lo, hi) = (lo.min(imm), hi.max(imm));
    }
    let base = base?;
    let f: Handler = match (store, ops.len()) {
        (false, 2) => group::<false, 2>,
        (false, 3) => group::<false, 3>,
        (false, 4) => group::<false, 4>,
        (true, 2) => group::<true, 2>,
        (true, 3) => group::<true, 3>,
        (true, 4) => group::<true, 4>,
        _ => return None,
    };
    if hi - lo >= 4096 {
        return None;
    }
    Some(TOp {
        f,
        imm: lo as u32,
        pc: (hi - lo) as u32,
        a: base,
        b: 0,
        c: ops.len() as u8,
        d: 0,
        n: 0,
        ..TOp::EMPTY
    })
}

/// Branch condition `cond` (`BranchCond` order: eq, ne, lt, ge, ltu, geu)
/// on `a` and `b`. Callers pass a constant: this folds to one compare.
#[inline(always)]
fn compare(cond: u8, a: u32, b: u32) -> bool {
    match cond {
        0 => a == b,
        1 => a != b,
        2 => (a as i32) < (b as i32),
        3 => (a as i32) >= (b as i32),
        4 => a < b,
        _ => a >= b,
    }
}

/// No ALU op in front of a closer or transfer.
const NO_PRE: u8 = kind::COUNT as u8;

/// The ALU op `PRE` fused in front of a closer or transfer, if any:
/// `z = x PRE (y | imm2)`.
#[inline(always)]
fn pre<const PRE: u8>(m: &mut Machine, op: &TOp) {
    if PRE != NO_PRE {
        let v = alu::<PRE>(reg!(m, op.x), operand::<PRE>(m, op.y, op.imm2));
        reg!(m, op.z) = v;
    }
}

/// A loop closer, a block's last op (see `Op::Closer`): first the ALU op
/// `PRE` fused in front of it, if any (`z = x PRE (y | imm2)`), then
/// `d = a + (imm | b)`, then back to the block's start if `d` compares
/// with `c` as `C` says, else on.
fn closer<const PRE: u8, const C: u8>(
    m: &mut Machine,
    c: &BlockCache,
    ops: &[TOp],
    left: usize,
    ep: u64,
) -> u64 {
    let op = op!(ops);
    pre::<PRE>(m, op);
    let addend = if C >= 6 { reg!(m, op.b) } else { op.imm };
    let v = reg!(m, op.a).wrapping_add(addend);
    reg!(m, op.d) = v;
    let w = reg!(m, op.c);
    if compare(C % 6, v, w) {
        return again(m, c, op, left, ep);
    }
    goto(m, c, left, ep, op.n, op.after())
}

/// Every loop closer's handler, by the ALU op in front (or [`NO_PRE`]) and
/// the closer's kind.
#[rustfmt::skip]
static CLOSERS: [[Handler; 12]; kind::COUNT + 1] = table!(
    closer,
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, NO_PRE],
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]
);

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

/// A control transfer or loop closer `last` (at `pc`, the block's `n`th
/// instruction; the block's first op at arena index `first`) with the
/// simple ALU op `pre` fused in front of it, if it is one.
pub(crate) fn lower_last(pre: Option<Op>, last: Op, pc: u32, n: u8, first: usize) -> Option<TOp> {
    let (k, z, x, y, imm2) = match pre {
        Some(op) => simple(op)?,
        None => (NO_PRE, 0, 0, 0, 0),
    };
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
            CLOSERS[k][usize::from(kind % 12)],
            a,
            b,
            c,
            d,
            imm as i32 as u32,
        ),
        Op::Beq { a, b, target } => (TRANSFERS[k][0], a, b, 0, 0, target),
        Op::Bne { a, b, target } => (TRANSFERS[k][1], a, b, 0, 0, target),
        Op::Blt { a, b, target } => (TRANSFERS[k][2], a, b, 0, 0, target),
        Op::Bge { a, b, target } => (TRANSFERS[k][3], a, b, 0, 0, target),
        Op::Bltu { a, b, target } => (TRANSFERS[k][4], a, b, 0, 0, target),
        Op::Bgeu { a, b, target } => (TRANSFERS[k][5], a, b, 0, 0, target),
        Op::Jal { d, target } => (TRANSFERS[k][usize::from(JAL)], 0, 0, 0, d, target),
        Op::Jalr { d, a, imm } => (TRANSFERS[k][usize::from(JALR)], a, 0, 0, d, imm),
        _ => return None,
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
    })
}

/// The end of a block that does not transfer (the end of its page,
/// [`MAX_BLOCK`](crate::block::MAX_BLOCK) instructions, or a partial pass):
/// on to the instruction after its last one. Also fills unused arena slots.
fn end(m: &mut Machine, c: &BlockCache, ops: &[TOp], left: usize, ep: u64) -> u64 {
    let op = op!(ops);
    goto(m, c, left, ep, op.n, op.after())
}

/// `csrr`/`getf` mid-block (`imm`: the word): reads counters exactly.
fn read_op(m: &mut Machine, c: &BlockCache, ops: &[TOp], left: usize, ep: u64) -> u64 {
    let op = op!(ops);
    if let Err(stop) = m.read_op(op.imm, op.before()) {
        return stop_at(m, op, stop);
    }
    let left = after_slow(m, left, ep);
    next!(m, c, ops, left, ep)
}

/// A system instruction (`imm`: the word), always a block's last op: the
/// main loop runs it.
fn system(m: &mut Machine, _c: &BlockCache, ops: &[TOp], _left: usize, _ep: u64) -> u64 {
    let op = op!(ops);
    m.cpu.instret += op.before();
    m.cpu.pc = op.pc;
    SYSTEM | u64::from(op.imm) << 32
}

/// Lowers a predecoded op whose last instruction is at `pc` to its
/// threaded form. `n`: the block's length in instructions up to and
/// including that one; `first`: the arena index of the block's first op
/// (for loop closers).
pub(crate) fn lower(op: Op, pc: u32, n: u8, first: usize) -> TOp {
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
    match op {
        Op::Alu { op, d, a, b } => {
            let k = AluOp::ALL.iter().position(|&x| x == op).unwrap_or(0);
            TOp {
                c: k as u8,
                ..t(alu_rare, a, b, d, 0)
            }
        }
        Op::Lw { d, a, imm } => t(lw::<false>, a, 0, d, imm),
        Op::Lh { d, a, imm } => t(lh::<false>, a, 0, d, imm),
        Op::Lhu { d, a, imm } => t(lhu::<false>, a, 0, d, imm),
        Op::Lb { d, a, imm } => t(lb::<false>, a, 0, d, imm),
        Op::Lbu { d, a, imm } => t(lbu::<false>, a, 0, d, imm),
        Op::Sw { s, a, imm } => t(sw::<false>, a, 0, s, imm),
        Op::Sh { s, a, imm } => t(sh::<false>, a, 0, s, imm),
        Op::Sb { s, a, imm } => t(sb::<false>, a, 0, s, imm),
        Op::Csrr { word } | Op::Getf { word } => t(read_op, 0, 0, 0, word),
        Op::System { word } => t(system, 0, 0, 0, word),
        // Simple ALU ops, transfers and closers: lowered above.
        _ => unreachable!("{op:?} has a lowering above"),
    }
}

/// Lowers `add sum, a, b` followed by the load or store `mem` (at `pc`,
/// the block's `n`th instruction) whose base register is `sum` into one
/// indexed op, if they are such a pair.
pub(crate) fn lower_indexed(add: Op, mem: Op, pc: u32, n: u8) -> Option<TOp> {
    let Op::Add { d: sum, a, b } = add else {
        return None;
    };
    let (f, base, d, imm): (Handler, u8, u8, u32) = match mem {
        Op::Lw { d, a, imm } => (lw::<true>, a, d, imm),
        Op::Lh { d, a, imm } => (lh::<true>, a, d, imm),
        Op::Lhu { d, a, imm } => (lhu::<true>, a, d, imm),
        Op::Lb { d, a, imm } => (lb::<true>, a, d, imm),
        Op::Lbu { d, a, imm } => (lbu::<true>, a, d, imm),
        Op::Sw { s, a, imm } => (sw::<true>, a, s, imm),
        Op::Sh { s, a, imm } => (sh::<true>, a, s, imm),
        Op::Sb { s, a, imm } => (sb::<true>, a, s, imm),
        _ => return None,
    };
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

/// The op that ends a block of `n` instructions, the last at `pc`, without
/// a transfer.
pub(crate) fn end_op(pc: u32, n: u8) -> TOp {
    TOp {
        pc,
        n,
        ..TOp::EMPTY
    }
}
