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
//!
//! By concern:
//! - [`alu`]: the simple ALU ops alone and in fused pairs, and the rare ones;
//! - [`memory`]: loads and stores, plain, indexed and in groups;
//! - [`loops`]: loops of one load or store, run as Rust loops;
//! - [`control`]: branches, jumps and loop closers, with an ALU op fused in
//!   front;
//! - [`decode`]: the predecoded form a block is lowered from;
//! - [`lowering`]: a block's instructions to threaded ops, choosing fusions.

use crate::block::BlockCache;
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
/// the handler (see [`lowering`]).
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
    /// A loop closer: the kind of the ALU op fused in front of it (as its
    /// handler's `PRE`), for a loop that runs it from elsewhere.
    pub k: u8,
    /// A loop closer: its loop's first instruction is `back` instructions
    /// before its own.
    pub back: u8,
}

const _: () = assert!(std::mem::size_of::<TOp>() == 32);

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
        k: 0,
        back: 0,
    };

    /// Instructions of the block before this op's last one.
    #[inline(always)]
    fn before(&self) -> u64 {
        u64::from(self.n).saturating_sub(1)
    }

    /// A loop closer's loop's first pc.
    #[inline(always)]
    fn block_start(&self) -> u32 {
        self.pc.wrapping_sub(4 * u32::from(self.back))
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
    m.cpu.pc = op.block_start();
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

/// A table of handlers `$f::<row, column>` for every row and column given.
macro_rules! table {
    ($f:ident, [$($row:expr),*], $columns:tt) => {
        [$(table!(@row $f, $row, $columns)),*]
    };
    (@row $f:ident, $row:expr, [$($column:literal),*]) => {
        [$($f::<{ $row }, $column>),*]
    };
    // With more generic arguments, the same for every entry.
    ($f:ident, [$($row:expr),*], $columns:tt, $z:literal) => {
        [$(table!(@row $f, $row, $columns, $z)),*]
    };
    (@row $f:ident, $row:expr, [$($column:literal),*], $z:literal) => {
        [$($f::<{ $row }, $column, $z>),*]
    };
    ($f:ident, [$($row:expr),*], $columns:tt, $y:literal, $z:literal) => {
        [$(table!(@row $f, $row, $columns, $y, $z)),*]
    };
    (@row $f:ident, $row:expr, [$($column:literal),*], $y:literal, $z:literal) => {
        [$($f::<{ $row }, $column, $y, $z>),*]
    };
}

mod alu;
mod control;
mod decode;
mod loops;
mod lowering;
mod memory;

pub(crate) use lowering::{Lowered, MARKS, lower_block};

/// The end of a block that does not transfer (the end of its page,
/// [`MAX_BLOCK`](crate::block::MAX_BLOCK) instructions, or a partial pass):
/// on to `imm`, the instruction after its last one. Also fills unused arena
/// slots.
fn end(m: &mut Machine, c: &BlockCache, ops: &[TOp], left: usize, ep: u64) -> u64 {
    let op = op!(ops);
    goto(m, c, left, ep, op.n, op.imm)
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
