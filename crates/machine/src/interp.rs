//! The interpreter: runs predecoded blocks out of the block cache.
//!
//! Bookkeeping stays out of the per-instruction path: one comparison per
//! block decides whether anything (the budget, the timer deadline, a pending
//! interrupt) needs a look; retired instructions are counted per block; a
//! block that would run past a deadline runs only up to it, so the timer
//! interrupt lands before exactly the right instruction.

use vmlab_isa::csr::{irq, status};
use vmlab_isa::{AluOp, Csr, Exception, Width};

use crate::block::{BlockCache, Op};
use crate::engine::Engine;
use crate::exec::Stop;
use crate::exit::Exit;
use crate::machine::Machine;
use crate::tlb::allow;

/// An epoch no MMU reaches (and no jump-cache entry holds: empty entries
/// hold `u64::MAX`): what [`Machine::exec_blocks`] reads the jump cache at
/// once a slow path changed the epoch, so no transfer chains.
const STALE: u64 = u64::MAX - 1;

/// The interpreter engine.
#[derive(Clone, Copy, Debug, Default)]
pub struct Interpreter;

impl Engine for Interpreter {
    fn name(&self) -> &'static str {
        "interp"
    }

    fn run(&mut self, m: &mut Machine, budget: u64) -> Exit {
        m.begin_run(budget);
        let mut cache = m.blocks.take().unwrap_or_else(BlockCache::new);
        let exit = m.interpret(&mut cache);
        m.blocks = Some(cache);
        m.end_run(exit)
    }
}

/// How a run of blocks ended.
enum Flow {
    /// `retired` instructions ran; continue at `pc`.
    Next { retired: usize, pc: u32 },
    /// The instruction at `pc` stopped; `retired` instructions ran before it.
    Stop { retired: usize, pc: u32, stop: Stop },
    /// The instruction at `pc` is a system instruction.
    System { retired: usize, pc: u32, word: u32 },
}

/// The exits of [`Machine::exec_blocks`] are built out of line: their
/// arithmetic (and the values it needs) stays out of the hot loop, where the
/// compiler would otherwise compute it ahead, once per pass.
impl Flow {
    /// A control transfer to `pc` with `after` of the `room` left.
    #[inline(never)]
    fn jump(room: usize, after: usize, pc: u32) -> Flow {
        Flow::Next {
            retired: room - after,
            pc,
        }
    }

    /// The pass at `base` ran its `n` ops (`left` of the `room` before it).
    #[inline(never)]
    fn end(room: usize, left: usize, base: u32, n: usize) -> Flow {
        Flow::Next {
            retired: room - left + n,
            pc: base.wrapping_add(4 * n as u32),
        }
    }

    /// The op at index `i` of the pass at `base` stopped.
    #[cold]
    #[inline(never)]
    fn stop(room: usize, left: usize, base: u32, i: usize, stop: Stop) -> Flow {
        Flow::Stop {
            retired: room - left + i,
            pc: base.wrapping_add(4 * i as u32),
            stop,
        }
    }

    /// The op at index `i` of the pass at `base` is a system instruction.
    #[cold]
    #[inline(never)]
    fn system(room: usize, left: usize, base: u32, i: usize, word: u32) -> Flow {
        Flow::System {
            retired: room - left + i,
            pc: base.wrapping_add(4 * i as u32),
            word,
        }
    }
}

impl Machine {
    /// `csrr`/`getf` at index `i` of a pass (`left` of the `room` before it).
    #[inline(never)]
    fn read_op_at(&mut self, word: u32, room: usize, left: usize, i: usize) -> Result<(), Stop> {
        self.read_op(word, (room - left + i) as u64)
    }

    /// The event check before a block, when instret reached `check_at`:
    /// the budget, interrupt delivery (or exit), interrupt-window exits; then
    /// the next instret at which to look again.
    #[inline(never)]
    pub(crate) fn check_events(&mut self) -> Option<Exit> {
        if self.cpu.instret >= self.budget_end {
            return Some(Exit::BudgetExhausted);
        }
        let ie = self.cpu.status() & status::IE != 0;
        if ie {
            // Take the highest-priority pending, enabled interrupt above prio.
            if let Some(source) = self.cpu.wanting(self.dev_line, self.cpu.instret) {
                if self.controls.interrupt_exits {
                    return Some(Exit::Interrupt { irq: source });
                }
                self.take_interrupt(source);
                if self.cpu.instret >= self.budget_end {
                    return Some(Exit::BudgetExhausted);
                }
            }
        }
        let ie = self.cpu.status() & status::IE != 0;
        if self.controls.interrupt_window_exits
            && ie
            && self.cpu.csr(Csr::Prio) < irq::priority(irq::TIMER)
        {
            return Some(Exit::InterruptWindow);
        }
        // Nothing now. IE can only change at a block end (which resets
        // check_at), so the next event is the budget or the timer deadline.
        let mut next = self.budget_end;
        let timecmp = self.cpu.timecmp();
        if ie
            && self.cpu.csr(Csr::IEnable) & (1 << irq::TIMER) != 0
            && irq::priority(irq::TIMER) > self.cpu.csr(Csr::Prio)
            && timecmp > self.cpu.instret
        {
            next = next.min(timecmp);
        }
        self.check_at = next;
        None
    }

    /// The main loop of [`Interpreter`]. Retired instructions go into
    /// instret per block; the per-level counter is brought up to date
    /// (`flush`) before anything that may change the level, or return.
    pub(crate) fn interpret(&mut self, cache: &mut BlockCache) -> Exit {
        // Retired since the last flush into `counters.retired`.
        let mut pending = 0u64;
        macro_rules! flush {
            () => {{
                self.count_retired(pending);
                pending = 0;
            }};
        }
        loop {
            if self.cpu.instret >= self.check_at {
                flush!();
                if let Some(exit) = self.check_events() {
                    return exit;
                }
            }
            let pc = self.cpu.pc;
            let mut epoch = self.mmu.epoch();
            let loc = match cache.jump(pc, epoch) {
                Some(loc) => loc,
                None => match self.fetch_block(cache, pc) {
                    Ok(slot) => {
                        epoch = self.mmu.epoch();
                        cache.remember(pc, epoch, slot)
                    }
                    Err(stop) => {
                        flush!();
                        if let Some(exit) = self.stop(stop) {
                            return exit;
                        }
                        continue;
                    }
                },
            };
            let ops = cache.ops(loc);
            let room = self.check_at - self.cpu.instret;
            let room = usize::try_from(room).unwrap_or(usize::MAX);
            let flow = if ops.len() <= room {
                self.exec_blocks::<true>(cache, pc, ops, room, epoch)
            } else {
                self.exec_part(cache, pc, ops, room, epoch)
            };
            match flow {
                Flow::Next { retired, pc } => {
                    self.cpu.instret += retired as u64;
                    pending += retired as u64;
                    self.cpu.pc = pc;
                }
                Flow::Stop { retired, pc, stop } => {
                    self.cpu.instret += retired as u64;
                    pending += retired as u64;
                    flush!();
                    self.cpu.pc = pc;
                    if let Some(exit) = self.stop(stop) {
                        return exit;
                    }
                }
                Flow::System { retired, pc, word } => {
                    self.cpu.instret += retired as u64;
                    pending += retired as u64;
                    flush!();
                    self.cpu.pc = pc;
                    if let Some(exit) = self.exec_system(word) {
                        return exit;
                    }
                }
            }
        }
    }

    /// The part of the block at `base` that the `room` allows (less than the
    /// whole block): a pass that falls through, kept out of the main path.
    #[inline(never)]
    fn exec_part(
        &mut self,
        cache: &BlockCache,
        base: u32,
        ops: &[Op],
        room: usize,
        epoch: u64,
    ) -> Flow {
        self.exec_blocks::<false>(cache, base, ops, room, epoch)
    }

    /// Runs the block at `base` (its `ops`), then the blocks it leads to,
    /// at most `room` instructions in all. `WHOLE`: the block fits the room
    /// (the caller checks). Otherwise only the part that fits runs: only the
    /// last op of a block transfers control, so that part falls through, and
    /// a fused loop closer in it runs only its ALU half. A control
    /// transfer goes straight on to the next block, without a return to the
    /// main loop, when it fits whole in the room, the epoch it started at
    /// still holds (only a slow path can change what a fetch depends on, the
    /// MMU's epoch: each slow path checks) and the jump cache holds it; a
    /// block that jumps back to its own start (a tight loop) runs again in
    /// place. The same instructions retire as if each block were fetched
    /// anew.
    #[inline(never)]
    fn exec_blocks<const WHOLE: bool>(
        &mut self,
        cache: &BlockCache,
        base: u32,
        ops: &[Op],
        room: usize,
        epoch: u64,
    ) -> Flow {
        let mut base = base;
        // The ops of this pass: the whole block, or the part the room allows.
        let mut ops = if WHOLE {
            ops
        } else {
            &ops[..ops.len().min(room)]
        };
        // Instructions still allowed from the start of this pass on (the
        // room minus what earlier blocks and passes retired).
        let mut left = room;
        // The epoch the jump cache is read at; STALE once a slow path changed
        // the MMU's epoch (only a slow path can), which no entry holds.
        let mut epoch = epoch;
        macro_rules! slow_ran {
            () => {
                if self.mmu.epoch() != epoch {
                    epoch = STALE;
                }
            };
        }
        macro_rules! r {
            ($x:expr) => {
                self.cpu.get($x)
            };
        }
        // The pc after the pass's last op.
        macro_rules! end {
            () => {
                base.wrapping_add(4 * ops.len() as u32)
            };
        }
        macro_rules! set {
            ($d:expr, $v:expr) => {{
                let v = $v;
                self.cpu.set($d, v)
            }};
        }
        macro_rules! stop {
            ($i:expr, $stop:expr) => {{
                let i = $i;
                return Flow::stop(room, left, base, i, $stop);
            }};
        }
        macro_rules! jump {
            ($pass:lifetime, $target:expr) => {{
                let target: u32 = $target;
                // A control transfer is the last op of its pass.
                let after = left - ops.len();
                if target == base {
                    if ops.len() <= after && epoch != STALE {
                        left = after;
                        continue $pass;
                    }
                } else if let Some(loc) = cache.jump(target, epoch) {
                    let next_ops = cache.ops(loc);
                    if next_ops.len() <= after {
                        left = after;
                        base = target;
                        ops = next_ops;
                        continue $pass;
                    }
                }
                return Flow::jump(room, after, target);
            }};
        }
        macro_rules! branch {
            ($pass:lifetime, $cond:expr, $target:expr) => {{
                if $cond {
                    jump!($pass, $target)
                }
                jump!($pass, end!())
            }};
        }
        // A fused loop closer: the ALU half, then (in a whole pass) the
        // block's last op, the branch back to the start. Taken, the pass runs
        // again from `$next` = 0 in the same op loop `$op` (no new pass).
        macro_rules! closer {
            ($pass:lifetime, $op:lifetime, $next:ident, $d:expr, $v:expr, $c:expr, $cmp:expr) => {{
                let v: u32 = $v;
                set!($d, v);
                // The branch is the block's last op: in a whole pass only.
                if WHOLE {
                    debug_assert!($next < ops.len());
                    let c: u32 = r!($c);
                    #[allow(clippy::redundant_closure_call)]
                    let taken: bool = $cmp(v, c);
                    if taken {
                        // Back to the start: again in place if it fits.
                        let after = left - ops.len();
                        if ops.len() <= after && epoch != STALE {
                            left = after;
                            $next = 0;
                            continue $op;
                        }
                        return Flow::jump(room, after, base);
                    }
                    jump!($pass, end!())
                }
            }};
        }
        macro_rules! load {
            ($i:expr, $d:expr, $a:expr, $imm:expr, $width:expr, $ext:expr) => {{
                let va = r!($a).wrapping_add($imm);
                let fast = if va & ($width.bytes() - 1) == 0 && va < self.mmu.flat {
                    self.mmu.ram.load(va, $width)
                } else {
                    None
                };
                let raw = match fast {
                    Some(v) => v,
                    None => match self.load_other(va, $width) {
                        Ok((v, slow)) => {
                            if slow {
                                slow_ran!();
                            }
                            v
                        }
                        Err(stop) => stop!($i, stop),
                    },
                };
                set!($d, $ext(raw))
            }};
        }
        macro_rules! store {
            ($i:expr, $s:expr, $a:expr, $imm:expr, $width:expr) => {{
                let va = r!($a).wrapping_add($imm);
                let value = r!($s);
                let aligned = va & ($width.bytes() - 1) == 0;
                if !(aligned
                    && va < self.mmu.flat
                    && !self.mmu.frames.store_watched(va)
                    && self.mmu.ram.store(va, $width, value))
                {
                    match self.store_other((room, left), $i, va, $width, value, base) {
                        Ok(slow) => {
                            if slow {
                                slow_ran!();
                            }
                        }
                        Err(flow) => return flow,
                    }
                }
            }};
        }
        'pass: loop {
            let mut next = 0;
            'op: while let Some(&op) = ops.get(next) {
                next += 1;
                // The index of `op`.
                macro_rules! at {
                    () => {
                        next - 1
                    };
                }
                match op {
                    Op::Add { d, a, b } => set!(d, r!(a).wrapping_add(r!(b))),
                    Op::Sub { d, a, b } => set!(d, r!(a).wrapping_sub(r!(b))),
                    Op::And { d, a, b } => set!(d, r!(a) & r!(b)),
                    Op::Or { d, a, b } => set!(d, r!(a) | r!(b)),
                    Op::Xor { d, a, b } => set!(d, r!(a) ^ r!(b)),
                    Op::Sll { d, a, b } => set!(d, r!(a) << (r!(b) & 31)),
                    Op::Srl { d, a, b } => set!(d, r!(a) >> (r!(b) & 31)),
                    Op::Sra { d, a, b } => set!(d, ((r!(a) as i32) >> (r!(b) & 31)) as u32),
                    Op::Slt { d, a, b } => set!(d, u32::from((r!(a) as i32) < (r!(b) as i32))),
                    Op::Sltu { d, a, b } => set!(d, u32::from(r!(a) < r!(b))),
                    Op::Mul { d, a, b } => set!(d, r!(a).wrapping_mul(r!(b))),
                    Op::Alu { op, d, a, b } => match op.apply(r!(a), r!(b)) {
                        Some(v) => set!(d, v),
                        None => {
                            debug_assert!(matches!(
                                op,
                                AluOp::Div | AluOp::Divu | AluOp::Rem | AluOp::Remu
                            ));
                            stop!(at!(), Stop::Trap(Exception::DivideByZero, 0));
                        }
                    },
                    Op::Addi { d, a, imm } => set!(d, r!(a).wrapping_add(imm)),
                    Op::Andi { d, a, imm } => set!(d, r!(a) & imm),
                    Op::Ori { d, a, imm } => set!(d, r!(a) | imm),
                    Op::Xori { d, a, imm } => set!(d, r!(a) ^ imm),
                    Op::Slli { d, a, imm } => set!(d, r!(a) << (imm & 31)),
                    Op::Srli { d, a, imm } => set!(d, r!(a) >> (imm & 31)),
                    Op::Srai { d, a, imm } => set!(d, ((r!(a) as i32) >> (imm & 31)) as u32),
                    Op::Slti { d, a, imm } => set!(d, u32::from((r!(a) as i32) < (imm as i32))),
                    Op::Sltiu { d, a, imm } => set!(d, u32::from(r!(a) < imm)),
                    Op::Li { d, imm } => set!(d, imm),
                    Op::Lw { d, a, imm } => load!(at!(), d, a, imm, Width::Word, |v| v),
                    Op::Lh { d, a, imm } => {
                        load!(at!(), d, a, imm, Width::Half, |v: u32| v as u16 as i16
                            as u32)
                    }
                    Op::Lhu { d, a, imm } => load!(at!(), d, a, imm, Width::Half, |v| v),
                    Op::Lb { d, a, imm } => {
                        load!(at!(), d, a, imm, Width::Byte, |v: u32| v as u8 as i8 as u32)
                    }
                    Op::Lbu { d, a, imm } => load!(at!(), d, a, imm, Width::Byte, |v| v),
                    Op::Sw { s, a, imm } => store!(at!(), s, a, imm, Width::Word),
                    Op::Sh { s, a, imm } => store!(at!(), s, a, imm, Width::Half),
                    Op::Sb { s, a, imm } => store!(at!(), s, a, imm, Width::Byte),
                    Op::Beq { a, b, target } => branch!('pass, r!(a) == r!(b), target),
                    Op::Bne { a, b, target } => branch!('pass, r!(a) != r!(b), target),
                    Op::Blt { a, b, target } => {
                        branch!('pass, (r!(a) as i32) < (r!(b) as i32), target)
                    }
                    Op::Bge { a, b, target } => {
                        branch!('pass, (r!(a) as i32) >= (r!(b) as i32), target)
                    }
                    Op::Bltu { a, b, target } => branch!('pass, r!(a) < r!(b), target),
                    Op::Bgeu { a, b, target } => branch!('pass, r!(a) >= r!(b), target),
                    Op::AddiBeq { d, a, c, imm } => {
                        closer!('pass, 'op, next, d, r!(a).wrapping_add(imm as u32), c, |v, c| v == c)
                    }
                    Op::AddiBne { d, a, c, imm } => {
                        closer!('pass, 'op, next, d, r!(a).wrapping_add(imm as u32), c, |v, c| v != c)
                    }
                    Op::AddiBlt { d, a, c, imm } => closer!(
                        'pass,
                        'op,
                        next,
                        d,
                        r!(a).wrapping_add(imm as u32),
                        c,
                        |v: u32, c: u32| (v as i32) < (c as i32)
                    ),
                    Op::AddiBge { d, a, c, imm } => closer!(
                        'pass,
                        'op,
                        next,
                        d,
                        r!(a).wrapping_add(imm as u32),
                        c,
                        |v: u32, c: u32| (v as i32) >= (c as i32)
                    ),
                    Op::AddiBltu { d, a, c, imm } => {
                        closer!('pass, 'op, next, d, r!(a).wrapping_add(imm as u32), c, |v, c| v < c)
                    }
                    Op::AddiBgeu { d, a, c, imm } => {
                        closer!('pass, 'op, next, d, r!(a).wrapping_add(imm as u32), c, |v, c| v >= c)
                    }
                    Op::AddBne { d, a, b, c } => {
                        closer!('pass, 'op, next, d, r!(a).wrapping_add(r!(b)), c, |v, c| v != c)
                    }
                    Op::AddBltu { d, a, b, c } => {
                        closer!('pass, 'op, next, d, r!(a).wrapping_add(r!(b)), c, |v, c| v < c)
                    }
                    Op::AddBlt { d, a, b, c } => closer!(
                        'pass,
                        'op,
                        next,
                        d,
                        r!(a).wrapping_add(r!(b)),
                        c,
                        |v: u32, c: u32| (v as i32) < (c as i32)
                    ),
                    Op::Jal { d, target } => {
                        set!(d, end!());
                        jump!('pass, target)
                    }
                    Op::Jalr { d, a, imm } => {
                        // t = rs1 + off first: rd may be rs1.
                        let target = r!(a).wrapping_add(imm);
                        set!(d, end!());
                        jump!('pass, target)
                    }
                    Op::Csrr { word } | Op::Getf { word } => {
                        let i = at!();
                        if let Err(stop) = self.read_op_at(word, room, left, i) {
                            stop!(i, stop);
                        }
                        slow_ran!();
                    }
                    Op::System { word } => {
                        let i = at!();
                        return Flow::system(room, left, base, i, word);
                    }
                }
            }
            // The end of the page, MAX_BLOCK, or the room.
            let n = ops.len();
            return Flow::end(room, left, base, n);
        }
    }

    /// A load the flat path did not serve: the TLB fast path, else the slow
    /// path. `Ok((value, slow))`: `slow` when the slow path ran.
    #[inline(never)]
    fn load_other(&mut self, va: u32, width: Width) -> Result<(u32, bool), Stop> {
        if va & (width.bytes() - 1) == 0 && va >= self.mmu.flat {
            let need = allow::LOAD << self.need_shift;
            if let Some(v) = self.mmu.load_fast(va, width, need) {
                return Ok((v, false));
            }
        }
        self.load_slow(va, width).map(|v| (v, true))
    }

    /// A store from the block at `base`, index `i`, that the flat path did
    /// not serve: the TLB fast path, else the slow path. `Ok(slow)`: done
    /// (`slow` when the slow path ran); `Err` ends the block (a stop, or
    /// code this store invalidated). (`room`, `left`: as in [`Flow::stop`].)
    #[inline(never)]
    fn store_other(
        &mut self,
        (room, left): (usize, usize),
        i: usize,
        va: u32,
        width: Width,
        value: u32,
        base: u32,
    ) -> Result<bool, Flow> {
        let pre = if va & (width.bytes() - 1) == 0 {
            let need = allow::STORE << self.need_shift;
            self.mmu.store_fast(va, width, value, need)
        } else {
            Err(None)
        };
        let Err(pre) = pre else {
            return Ok(false);
        };
        let done = room - left;
        match self.store_slow(va, width, value, pre) {
            Ok(false) => Ok(true),
            Ok(true) => Err(Flow::Next {
                retired: done + i + 1,
                pc: base.wrapping_add(4 * (i as u32 + 1)),
            }),
            Err(stop) => Err(Flow::Stop {
                retired: done + i,
                pc: base.wrapping_add(4 * i as u32),
                stop,
            }),
        }
    }
}
