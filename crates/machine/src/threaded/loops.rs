//! Loops of one load or store: a block of just that op (plain, or indexed
//! by an `add`) and a loop closer runs as one Rust loop, and when its
//! registers allow, with the registers it writes in host registers.

use super::alu::{alu_dyn, alu_value, kind};
use super::control::{NO_PRE, close, compare};
use super::decode::Op;
use super::memory::{SLOWS, STORES, address, extend, load_fast, store_fast, width};
use super::{Handler, NEXT, TOp, goto, missing_op};
use crate::block::BlockCache;
use crate::cpu::SINK;
use crate::frames::Frames;
use crate::machine::Machine;
use crate::ram::Ram;

/// A loop of one load or store: a block of just that op (load or store
/// number `MX / 2`, indexed if `MX` is odd) and a loop closer of kind `C`
/// (`ops[1]`, with the kind of the ALU op in front of it in `k`). Runs the
/// two as one Rust loop: a pass that goes back to the start needs no
/// dispatch and no lookup. Anything off the fast path leaves the loop for
/// the load's or store's slow handler, which goes on to the closer op as
/// written; the closer op comes back here.
fn mem_loop<const MX: u8, const C: u8>(
    m: &mut Machine,
    c: &BlockCache,
    ops: &[TOp],
    left: usize,
    ep: u64,
) -> u64 {
    let (kind, x) = (MX / 2, MX % 2 == 1);
    let op = op!(ops);
    let Some(cl) = ops.get(1) else {
        return missing_op();
    };
    let n = usize::from(cl.n);
    let mut left = left;
    loop {
        let va = if x {
            address::<true>(m, op)
        } else {
            address::<false>(m, op)
        };
        let done = if kind < STORES {
            match load_fast(m, va, width(kind)) {
                Some(raw) => {
                    reg!(m, op.d) = extend(kind, raw);
                    true
                }
                None => false,
            }
        } else {
            let value = reg!(m, op.d);
            store_fast(m, va, width(kind), value)
        };
        if !done {
            let slow = SLOWS[usize::from(kind % 8)][usize::from(x)];
            return slow(m, c, ops, left, ep);
        }
        if cl.k != NO_PRE {
            let v = alu_dyn(m, cl.k, cl.x, cl.y, cl.imm2);
            reg!(m, cl.z) = v;
        }
        if !close::<C>(m, cl) {
            return goto(m, c, left, ep, cl.n, cl.after());
        }
        m.cpu.instret += n as u64;
        if n > left {
            m.cpu.pc = cl.block_start();
            return NEXT;
        }
        left -= n;
    }
}

/// How a loop of one load or store keeps its registers in host registers
/// (see [`plan`]); kept in the load's or store's op as its `k`.
#[derive(Clone, Copy)]
struct Plan {
    /// The register that varies the address is the accumulator (else the
    /// counter).
    var_is_sum: bool,
    /// The ALU op in front of the closer reads the loaded value as its
    /// second operand (else a register the loop does not write).
    y_is_loaded: bool,
}

/// Whether a loop of one load or store (number `number`, indexed if `x`;
/// its closer `cl`) can keep every register it writes in host registers
/// and read every other one once, and how. It can when:
/// - the closer counts itself (`d == a`);
/// - the ALU op in front of the closer, if any, accumulates (`z == x`) in
///   a register other than the counter;
/// - the address varies by the counter or the accumulator: an indexed
///   one's other register, a store's value and the closer's addend and
///   bound are registers the loop does not write;
/// - the registers written (counter, accumulator, address, loaded value)
///   are distinct, except that a load may overwrite its address register.
///
/// Anything else runs as written, through the register file.
fn plan(number: u8, x: bool, reg_addend: bool, op: &TOp, cl: &TOp) -> Option<Plan> {
    let load = number < STORES;
    let pre = cl.k != NO_PRE;
    let counter = cl.d;
    let acc = pre.then_some(cl.z);
    let addr = x.then_some(op.c);
    let dest = load.then_some(op.d);
    let written = [Some(counter), acc, addr, dest];
    let fixed = |r: u8| !written.contains(&Some(r));
    let varies = |r: u8| r == counter || acc == Some(r);
    let held = [Some(counter), acc, addr.filter(|&a| Some(a) != dest), dest];
    let distinct = held
        .iter()
        .enumerate()
        .all(|(i, r)| r.is_none() || !held[i + 1..].contains(r));
    let ok = cl.a == counter
        && counter != SINK
        && acc.is_none_or(|z| cl.x == z && z != SINK)
        && distinct
        && (load || fixed(op.d))
        && (!pre || cl.k >= kind::ADDI || fixed(cl.y) || Some(cl.y) == dest)
        && fixed(cl.c)
        && (!reg_addend || fixed(cl.b));
    if !ok {
        return None;
    }
    let var = match (x, varies(op.a), varies(op.b)) {
        (false, true, _) => op.a,
        (true, true, false) if fixed(op.b) => op.a,
        (true, false, true) if fixed(op.a) => op.b,
        _ => return None,
    };
    Some(Plan {
        var_is_sum: acc == Some(var),
        y_is_loaded: pre && cl.k < kind::ADDI && dest == Some(cl.y),
    })
}

impl Plan {
    fn bits(self) -> u8 {
        u8::from(self.var_is_sum) | u8::from(self.y_is_loaded) << 1
    }

    fn from_bits(k: u8) -> Plan {
        Plan {
            var_is_sum: k & 1 != 0,
            y_is_loaded: k & 2 != 0,
        }
    }
}

/// Why a loop that holds its registers stopped.
enum Left {
    /// The load or store needs its slow path, at address base `base`
    /// (the address register of an indexed one, not written yet).
    Slow(u32),
    /// The closer fell through.
    Out,
    /// Taken, but no room for another pass.
    Room,
}

/// The registers a planned loop writes, carried from pass to pass.
struct Carry {
    count: u32,
    sum: u32,
    addr: u32,
    loaded: u32,
    /// Passes that went back to the start.
    taken: usize,
}

/// What a planned loop reads and never writes.
struct Fixed {
    /// An indexed address's register that does not vary (else 0).
    base: u32,
    imm: u32,
    /// A store's value.
    value: u32,
    /// The ALU op's kind (or [`NO_PRE`]), second operand (unless it is the
    /// loaded value) and immediate.
    k: u8,
    y: u32,
    imm2: u32,
    y_is_loaded: bool,
    addend: u32,
    bound: u32,
    /// Passes that may go back to the start.
    room: usize,
}

/// [`mem_loop`] for a loop that [`plan`] says can keep its registers in
/// host registers (the plan in the first op's `k`): the counter, the
/// accumulator, the address and the loaded value live in locals and go to
/// the register file once, when the loop stops; every other register is
/// read once, before it starts. A pass is then the load or store, its
/// checks, the ALU op and the closer, with no traffic through the register
/// file: the interpreter is bound by how many host instructions it runs,
/// and this is where a loop spends them.
fn mem_loop_planned<const MX: u8, const C: u8>(
    m: &mut Machine,
    c: &BlockCache,
    ops: &[TOp],
    left: usize,
    ep: u64,
) -> u64 {
    let (kind, x) = (MX / 2, MX % 2 == 1);
    let load = kind < STORES;
    let (Some(op), Some(cl)) = (ops.first(), ops.get(1)) else {
        return missing_op();
    };
    let plan = Plan::from_bits(op.k);
    let pre = cl.k != NO_PRE;
    let n = usize::from(cl.n);
    let mut carry = Carry {
        count: reg!(m, cl.d),
        sum: if pre { reg!(m, cl.z) } else { 0 },
        addr: if x { reg!(m, op.c) } else { 0 },
        loaded: if load { reg!(m, op.d) } else { 0 },
        taken: 0,
    };
    let fixed = Fixed {
        base: if x {
            let varying = if plan.var_is_sum { cl.z } else { cl.d };
            if op.a == varying {
                reg!(m, op.b)
            } else {
                reg!(m, op.a)
            }
        } else {
            0
        },
        imm: op.imm,
        value: reg!(m, op.d),
        k: cl.k,
        y: reg!(m, cl.y),
        imm2: cl.imm2,
        y_is_loaded: plan.y_is_loaded,
        addend: if C >= 6 { reg!(m, cl.b) } else { cl.imm },
        bound: reg!(m, cl.c),
        room: left / n,
    };
    let window = (m.mmu.flat as usize).min(m.mmu.ram.as_bytes().len());
    let (frames, ram) = (&m.mmu.frames, &mut m.mmu.ram.as_bytes_mut()[..window]);
    let why = match (plan.var_is_sum, pre) {
        (false, false) => passes::<MX, C, false, false>(ram, frames, &fixed, &mut carry),
        (false, true) => passes::<MX, C, false, true>(ram, frames, &fixed, &mut carry),
        (true, _) => passes::<MX, C, true, true>(ram, frames, &fixed, &mut carry),
    };
    // Back to the register file, in the order the loop writes them (a
    // load's value after the address it overwrites).
    if x {
        reg!(m, op.c) = carry.addr;
    }
    if load {
        reg!(m, op.d) = carry.loaded;
    }
    if pre {
        reg!(m, cl.z) = carry.sum;
    }
    reg!(m, cl.d) = carry.count;
    m.cpu.instret += (carry.taken * n) as u64;
    let left = left - carry.taken.min(fixed.room) * n;
    match why {
        Left::Slow(ea) => {
            if x {
                reg!(m, op.c) = ea;
            }
            let slow = SLOWS[usize::from(kind % 8)][usize::from(x)];
            slow(m, c, ops, left, ep)
        }
        Left::Out => goto(m, c, left, ep, cl.n, cl.after()),
        Left::Room => {
            m.cpu.pc = cl.block_start();
            NEXT
        }
    }
}

/// The passes of a planned loop (load or store number `MX / 2`, indexed if
/// `MX` is odd; closer kind `C`; the address varies by the accumulator if
/// `SUM`, else by the counter; an ALU op in front of the closer if `PRE`)
/// over `ram`, the RAM in the flat window, until one leaves. Apart from the
/// rest of the handler, so that what it carries stays in host registers.
#[inline(never)]
fn passes<const MX: u8, const C: u8, const SUM: bool, const PRE: bool>(
    ram: &mut [u8],
    frames: &Frames,
    fixed: &Fixed,
    carry: &mut Carry,
) -> Left {
    let kind = MX / 2;
    let width = width(kind);
    let bytes = width.bytes() as usize;
    let Carry {
        mut count,
        mut sum,
        mut addr,
        mut loaded,
        mut taken,
    } = *carry;
    let why = loop {
        let ea = fixed.base.wrapping_add(if SUM { sum } else { count });
        let va = ea.wrapping_add(fixed.imm);
        let at = va as usize;
        if va & (width.bytes() - 1) != 0 {
            break Left::Slow(ea);
        }
        let Some(cell) = ram.get_mut(at..at + bytes) else {
            break Left::Slow(ea);
        };
        if kind < STORES {
            loaded = extend(kind, Ram::decode(cell, width));
        } else if frames.store_watched(va) {
            break Left::Slow(ea);
        } else {
            Ram::encode(cell, width, fixed.value);
        }
        addr = ea;
        if PRE {
            let y = if fixed.y_is_loaded { loaded } else { fixed.y };
            sum = alu_value(fixed.k, sum, y, fixed.imm2);
        }
        count = count.wrapping_add(fixed.addend);
        if !compare(C % 6, count, fixed.bound) {
            break Left::Out;
        }
        if taken == fixed.room {
            taken += 1;
            break Left::Room;
        }
        taken += 1;
    };
    *carry = Carry {
        count,
        sum,
        addr,
        loaded,
        taken,
    };
    why
}

/// Every loop of one load or store, by number (times 2, plus 1 if
/// indexed) and closer kind.
#[rustfmt::skip]
static MEM_LOOPS: [[Handler; 12]; 16] = table!(
    mem_loop,
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15],
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]
);

/// The number of load or store `op` (see [`STORES`]), if it is one.
fn number(op: Op) -> Option<u8> {
    Some(match op {
        Op::Lw { .. } => 0,
        Op::Lh { .. } => 1,
        Op::Lhu { .. } => 2,
        Op::Lb { .. } => 3,
        Op::Lbu { .. } => 4,
        Op::Sw { .. } => 5,
        Op::Sh { .. } => 6,
        Op::Sb { .. } => 7,
        _ => return None,
    })
}

/// Every loop of one load or store that keeps its registers in host
/// registers, by number (times 2, plus 1 if indexed) and closer kind.
#[rustfmt::skip]
static PLANNED_LOOPS: [[Handler; 12]; 16] = table!(
    mem_loop_planned,
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15],
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]
);

/// Makes the block `ops` (the load or store `mem`, indexed if `x`, then a
/// loop closer of kind `closer`, both lowered) run as one loop, keeping its
/// registers in host registers if [`plan`] allows; false if `mem` is not a
/// load or store.
pub(super) fn lower_mem_loop(mem: Op, x: bool, closer: u8, ops: &mut [TOp]) -> bool {
    let Some(number) = number(mem) else {
        return false;
    };
    let (Some(&op), Some(cl)) = (ops.first(), ops.get(1)) else {
        return false;
    };
    let (mx, c) = (usize::from(number * 2 + u8::from(x)), closer % 12);
    let (f, k) = match plan(number, x, c >= 6, &op, cl) {
        Some(plan) => (PLANNED_LOOPS[mx][usize::from(c)], plan.bits()),
        None => (MEM_LOOPS[mx][usize::from(c)], 0),
    };
    ops[0] = TOp { f, k, ..op };
    true
}
