//! The interpreter: runs predecoded blocks out of the block cache.
//!
//! Bookkeeping stays out of the per-instruction path: one comparison per
//! block decides whether anything (the budget, the timer deadline, a pending
//! interrupt) needs a look; retired instructions are counted per block; a
//! block that would run past a deadline runs only up to it, so the timer
//! interrupt lands before exactly the right instruction.

use vmlab_isa::csr::{irq, status};
use vmlab_isa::{Access, AluOp, Csr, Exception, LoadOp, Width};

use crate::block::{Block, BlockCache, Op, page_rest};
use crate::engine::Engine;
use crate::exec::{Stop, with_addr};
use crate::exit::Exit;
use crate::machine::Machine;
use crate::tlb::allow;

/// The interpreter engine.
#[derive(Clone, Copy, Debug, Default)]
pub struct Interpreter;

impl Engine for Interpreter {
    fn name(&self) -> &'static str {
        "interp"
    }

    fn run(&mut self, m: &mut Machine, budget: u64) -> Exit {
        m.begin_run(budget);
        let mut cache = std::mem::take(&mut m.blocks);
        let exit = m.interpret(&mut cache);
        m.blocks = cache;
        m.end_run(exit)
    }
}

/// How a block's execution ended.
enum Flow {
    /// `retired` instructions ran; continue at `pc`.
    Next { retired: usize, pc: u32 },
    /// The instruction at index `at` stopped; `retired` instructions ran
    /// before it (more than `at` when a loop repeated the block in place).
    Stop {
        retired: usize,
        at: usize,
        stop: Stop,
    },
    /// The instruction at index `at` is a system instruction.
    System {
        retired: usize,
        at: usize,
        word: u32,
    },
}

impl Machine {
    /// The event check before a block, when instret reached `check_at`:
    /// the budget, interrupt delivery (or exit), interrupt-window exits; then
    /// the next instret at which to look again.
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

    /// Finds (or decodes) the block at pc.
    #[inline(always)]
    fn fetch_block(&mut self, cache: &mut BlockCache, pc: u32) -> Result<usize, Stop> {
        if pc & 3 != 0 {
            return Err(Stop::Trap(Exception::MisalignedFetch, pc));
        }
        let need = allow::FETCH << self.need_shift;
        if let Some(hpa) = self.mmu.fast_fetch(pc, need) {
            let generation = self.mmu.frames.generation(hpa);
            if let Some(slot) = cache.lookup(pc, hpa, generation) {
                return Ok(slot);
            }
            if let Some(code) = self.mmu.ram.as_bytes().get(hpa as usize..) {
                if !code.is_empty() {
                    return Ok(self.decode_block(cache, pc, hpa));
                }
            }
        }
        let user = self.cpu.user();
        let hpa = self
            .mmu
            .translate(pc, Access::Fetch, user)
            .map_err(|f| with_addr(f, pc))?;
        let generation = self.mmu.frames.generation(hpa);
        match cache.lookup(pc, hpa, generation) {
            Some(slot) => Ok(slot),
            None => Ok(self.decode_block(cache, pc, hpa)),
        }
    }

    #[cold]
    fn decode_block(&mut self, cache: &mut BlockCache, pc: u32, hpa: u32) -> usize {
        let generation = self.mmu.frames.generation(hpa);
        let start = hpa as usize;
        let end = start + page_rest(hpa) as usize;
        let code = &self.mmu.ram.as_bytes()[start..end];
        let (slot, bytes) = cache.fill(pc, hpa, generation, code);
        self.mmu.frames.mark_code(hpa, bytes);
        self.counters.blocks_decoded += 1;
        slot
    }

    /// The main loop of [`Interpreter`].
    pub(crate) fn interpret(&mut self, cache: &mut BlockCache) -> Exit {
        loop {
            if self.cpu.instret >= self.check_at {
                if let Some(exit) = self.check_events() {
                    return exit;
                }
            }
            let pc = self.cpu.pc;
            let slot = match self.fetch_block(cache, pc) {
                Ok(slot) => slot,
                Err(stop) => {
                    if let Some(exit) = self.stop(stop) {
                        return exit;
                    }
                    continue;
                }
            };
            let block = cache.block(slot);
            let room = self.check_at - self.cpu.instret;
            let room = usize::try_from(room).unwrap_or(usize::MAX);
            match self.exec_block(block, room) {
                Flow::Next { retired, pc } => {
                    self.commit(retired);
                    self.cpu.pc = pc;
                }
                Flow::Stop { retired, at, stop } => {
                    self.commit(retired);
                    self.cpu.pc = block.va.wrapping_add(4 * at as u32);
                    if let Some(exit) = self.stop(stop) {
                        return exit;
                    }
                }
                Flow::System { retired, at, word } => {
                    self.commit(retired);
                    self.cpu.pc = block.va.wrapping_add(4 * at as u32);
                    if let Some(exit) = self.exec_system(word) {
                        return exit;
                    }
                }
            }
        }
    }

    /// Runs block `b`, at most `room` instructions. Only the last op of a
    /// block transfers control, so a block cut short by a deadline falls
    /// through. A block whose last op jumps back to its own start (a tight
    /// loop) runs again in place while the room allows: the same
    /// instructions retire as if it were fetched anew, minus the lookup.
    #[inline(always)]
    fn exec_block(&mut self, b: &Block, room: usize) -> Flow {
        let base = b.va;
        let len = b.ops.len();
        let need_load = allow::LOAD << self.need_shift;
        let need_store = allow::STORE << self.need_shift;
        let next = |i: usize| base.wrapping_add(4 * (i as u32 + 1));
        // Instructions retired by earlier passes of an in-place loop.
        let mut done = 0usize;
        macro_rules! r {
            ($x:expr) => {
                self.cpu.get($x)
            };
        }
        macro_rules! stop {
            ($i:expr, $stop:expr) => {
                return Flow::Stop {
                    retired: done + $i,
                    at: $i,
                    stop: $stop,
                }
            };
        }
        macro_rules! jump {
            ($pass:lifetime, $i:expr, $target:expr) => {{
                let target = $target;
                if target == base && room > done + len && self.fetch_still_valid(base) {
                    done += len;
                    continue $pass;
                }
                return Flow::Next {
                    retired: done + $i + 1,
                    pc: target,
                };
            }};
        }
        macro_rules! branch {
            ($pass:lifetime, $i:expr, $cond:expr, $target:expr) => {{
                if $cond {
                    jump!($pass, $i, $target)
                }
                return Flow::Next {
                    retired: done + $i + 1,
                    pc: next($i),
                };
            }};
        }
        'pass: loop {
            let n = len.min(room - done);
            let ops = &b.ops[..n];
            for (i, op) in ops.iter().enumerate() {
                match *op {
                    Op::Add { d, a, b } => self.cpu.set(d, r!(a).wrapping_add(r!(b))),
                    Op::Sub { d, a, b } => self.cpu.set(d, r!(a).wrapping_sub(r!(b))),
                    Op::Alu { op, d, a, b } => match op.apply(r!(a), r!(b)) {
                        Some(v) => self.cpu.set(d, v),
                        None => {
                            debug_assert!(matches!(
                                op,
                                AluOp::Div | AluOp::Divu | AluOp::Rem | AluOp::Remu
                            ));
                            stop!(i, Stop::Trap(Exception::DivideByZero, 0));
                        }
                    },
                    Op::Addi { d, a, imm } => self.cpu.set(d, r!(a).wrapping_add(imm)),
                    Op::Andi { d, a, imm } => self.cpu.set(d, r!(a) & imm),
                    Op::Ori { d, a, imm } => self.cpu.set(d, r!(a) | imm),
                    Op::Xori { d, a, imm } => self.cpu.set(d, r!(a) ^ imm),
                    Op::Slli { d, a, imm } => self.cpu.set(d, r!(a) << (imm & 31)),
                    Op::Srli { d, a, imm } => self.cpu.set(d, r!(a) >> (imm & 31)),
                    Op::Srai { d, a, imm } => {
                        self.cpu.set(d, ((r!(a) as i32) >> (imm & 31)) as u32)
                    }
                    Op::Slti { d, a, imm } => {
                        self.cpu.set(d, u32::from((r!(a) as i32) < (imm as i32)))
                    }
                    Op::Sltiu { d, a, imm } => self.cpu.set(d, u32::from(r!(a) < imm)),
                    Op::Li { d, value } => self.cpu.set(d, value),
                    Op::Lw { d, a, off } => {
                        let va = r!(a).wrapping_add(off);
                        if va & 3 == 0 {
                            if let Some(v) = self.mmu.load_fast(va, Width::Word, need_load) {
                                self.cpu.set(d, v);
                                continue;
                            }
                        }
                        match self.load_slow(va, Width::Word) {
                            Ok(v) => self.cpu.set(d, v),
                            Err(stop) => stop!(i, stop),
                        }
                    }
                    Op::Load { op, d, a, off } => {
                        let va = r!(a).wrapping_add(off);
                        let width = op.width();
                        let raw = if va & (width.bytes() - 1) == 0 {
                            self.mmu.load_fast(va, width, need_load)
                        } else {
                            None
                        };
                        let raw = match raw {
                            Some(v) => v,
                            None => match self.load_slow(va, width) {
                                Ok(v) => v,
                                Err(stop) => stop!(i, stop),
                            },
                        };
                        self.cpu.set(d, extend(op, raw));
                    }
                    Op::Sw { s, a, off } => {
                        let va = r!(a).wrapping_add(off);
                        if let Some(flow) =
                            self.store(i, done, va, Width::Word, r!(s), need_store, base)
                        {
                            return flow;
                        }
                    }
                    Op::Store { width, s, a, off } => {
                        let va = r!(a).wrapping_add(off);
                        if let Some(flow) = self.store(i, done, va, width, r!(s), need_store, base)
                        {
                            return flow;
                        }
                    }
                    Op::Beq { a, b, target } => branch!('pass, i, r!(a) == r!(b), target),
                    Op::Bne { a, b, target } => branch!('pass, i, r!(a) != r!(b), target),
                    Op::Blt { a, b, target } => {
                        branch!('pass, i, (r!(a) as i32) < (r!(b) as i32), target)
                    }
                    Op::Bge { a, b, target } => {
                        branch!('pass, i, (r!(a) as i32) >= (r!(b) as i32), target)
                    }
                    Op::Bltu { a, b, target } => branch!('pass, i, r!(a) < r!(b), target),
                    Op::Bgeu { a, b, target } => branch!('pass, i, r!(a) >= r!(b), target),
                    Op::Jal { d, target } => {
                        self.cpu.set(d, next(i));
                        jump!('pass, i, target)
                    }
                    Op::Jalr { d, a, off } => {
                        // t = rs1 + off first: rd may be rs1.
                        let target = r!(a).wrapping_add(off);
                        self.cpu.set(d, next(i));
                        return Flow::Next {
                            retired: done + i + 1,
                            pc: target,
                        };
                    }
                    Op::Csrr { word } | Op::Getf { word } => {
                        if let Err(stop) = self.read_op(word, (done + i) as u64) {
                            stop!(i, stop);
                        }
                    }
                    Op::System { word } => {
                        return Flow::System {
                            retired: done + i,
                            at: i,
                            word,
                        };
                    }
                }
            }
            return Flow::Next {
                retired: done + n,
                pc: base.wrapping_add(4 * n as u32),
            };
        }
    }

    /// Whether a block at `va` may run again without a new fetch: always
    /// unpaged; paged, only while the TLB still holds the code page (a
    /// data access may have evicted it, and the refetch must then miss).
    #[inline(always)]
    fn fetch_still_valid(&self, va: u32) -> bool {
        !self.mmu.paged
            || self
                .mmu
                .tlb
                .peek(va, allow::FETCH << self.need_shift)
                .is_some()
    }

    /// A store from the block at index `i`: the fast path, else the slow
    /// one. `Some` ends the block (a stop, or code this store invalidated).
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    fn store(
        &mut self,
        i: usize,
        done: usize,
        va: u32,
        width: Width,
        value: u32,
        need: u8,
        base: u32,
    ) -> Option<Flow> {
        let pre = if va & (width.bytes() - 1) == 0 {
            match self.mmu.store_fast(va, width, value, need) {
                Ok(()) => return None,
                Err(pre) => pre,
            }
        } else {
            None
        };
        match self.store_slow(va, width, value, pre) {
            Ok(false) => None,
            Ok(true) => Some(Flow::Next {
                retired: done + i + 1,
                pc: base.wrapping_add(4 * (i as u32 + 1)),
            }),
            Err(stop) => Some(Flow::Stop {
                retired: done + i,
                at: i,
                stop,
            }),
        }
    }
}

/// Sign- or zero-extends a loaded value.
#[inline(always)]
fn extend(op: LoadOp, raw: u32) -> u32 {
    op.extend(raw)
}
