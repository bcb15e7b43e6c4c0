//! The interpreter: runs predecoded blocks out of the block cache as
//! threaded code (see [`crate::threaded`]).
//!
//! Bookkeeping stays out of the per-instruction path: one comparison per
//! block decides whether anything (the budget, the timer deadline, a pending
//! interrupt) needs a look; retired instructions are counted per block; a
//! block that would run past a deadline runs only up to it, so the timer
//! interrupt lands before exactly the right instruction.

use vmlab_isa::Csr;
use vmlab_isa::Width;
use vmlab_isa::csr::{irq, status};

use crate::block::BlockCache;
use crate::engine::Engine;
use crate::exec::Stop;
use crate::exit::Exit;
use crate::machine::Machine;
use crate::threaded::{self, CHAIN_MAX, NEXT, STOP, STOP_MISSING};
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
        let mut cache = m.blocks.take().unwrap_or_else(BlockCache::new);
        let exit = m.interpret(&mut cache);
        m.blocks = Some(cache);
        m.end_run(exit)
    }
}

impl Machine {
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

    /// The main loop of [`Interpreter`]. Handlers add retired instructions
    /// to instret per block; the per-level counter is brought up to date
    /// (`flush`) before anything that may change the level, or return.
    pub(crate) fn interpret(&mut self, cache: &mut BlockCache) -> Exit {
        // instret when `counters.retired` was last brought up to date.
        let mut counted = self.cpu.instret;
        macro_rules! flush {
            () => {{
                self.count_retired(self.cpu.instret - counted);
            }};
        }
        loop {
            if self.cpu.instret >= self.check_at {
                flush!();
                let exit = self.check_events();
                counted = self.cpu.instret;
                if let Some(exit) = exit {
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
                        let exit = self.stop(stop);
                        counted = self.cpu.instret;
                        if let Some(exit) = exit {
                            return exit;
                        }
                        continue;
                    }
                },
            };
            let room = self.check_at - self.cpu.instret;
            let room = usize::try_from(room).unwrap_or(usize::MAX);
            let len = usize::from(loc.len);
            let out = if len <= room {
                let left = room.min(CHAIN_MAX) - len;
                threaded::run(self, cache, usize::from(loc.start), left, epoch)
            } else {
                match self.partial_pass(cache, pc, room) {
                    Ok(first) => threaded::run(self, cache, first, 0, epoch),
                    Err(stop) => {
                        self.stopped = stop;
                        STOP
                    }
                }
            };
            if out == NEXT {
                continue;
            }
            flush!();
            let exit = if out == STOP {
                self.stop(self.stopped)
            } else if out == STOP_MISSING {
                self.stop(Stop::Trap(vmlab_isa::Exception::BusError, self.cpu.pc))
            } else {
                self.exec_system((out >> 32) as u32)
            };
            counted = self.cpu.instret;
            if let Some(exit) = exit {
                return exit;
            }
        }
    }

    /// Lowers the first `room` instructions of the block at `pc` (longer
    /// than that) into the cache's scratch area; returns its first op.
    #[cold]
    #[inline(never)]
    fn partial_pass(
        &mut self,
        cache: &mut BlockCache,
        pc: u32,
        room: usize,
    ) -> Result<usize, Stop> {
        // The jump cache named the block at this epoch: the TLB still holds
        // its page (every TLB fill moves the epoch) and its slot holds it,
        // so this finds it without a walk or a decode.
        let slot = self.fetch_block(cache, pc)?;
        let frame = cache.block(slot).hpa & !(vmlab_isa::paging::PAGE_SIZE - 1);
        Ok(cache.fill_partial(pc, self.page(frame), room))
    }

    /// A load the flat path did not serve: the TLB fast path, else the slow
    /// path. `Ok((value, slow))`: `slow` when the slow path ran.
    #[inline(never)]
    pub(crate) fn load_other(&mut self, va: u32, width: Width) -> Result<(u32, bool), Stop> {
        if va & (width.bytes() - 1) == 0 && va >= self.mmu.flat {
            let need = allow::LOAD << self.need_shift;
            if let Some(v) = self.mmu.load_fast(va, width, need) {
                return Ok((v, false));
            }
        }
        self.load_slow(va, width).map(|v| (v, true))
    }

    /// A store that the flat path did not serve: the TLB fast path, else
    /// the slow path. `Ok(slow)`: done (`slow` when the slow path ran);
    /// `Err(None)`: done, and it invalidated cached code (the block must
    /// end after it); `Err(Some(stop))`: it stopped.
    #[inline(never)]
    pub(crate) fn store_other(
        &mut self,
        va: u32,
        width: Width,
        value: u32,
    ) -> Result<bool, Option<Stop>> {
        let pre = if va & (width.bytes() - 1) == 0 {
            let need = allow::STORE << self.need_shift;
            self.mmu.store_fast(va, width, value, need)
        } else {
            Err(None)
        };
        let Err(pre) = pre else {
            return Ok(false);
        };
        match self.store_slow(va, width, value, pre) {
            Ok(false) => Ok(true),
            Ok(true) => Err(None),
            Err(stop) => Err(Some(stop)),
        }
    }
}
