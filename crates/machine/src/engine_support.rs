//! Hooks for engines outside this crate (the translator's backends).
//!
//! An engine that runs guest code its own way still has to reproduce the
//! interpreter's guest-visible behaviour to the instruction: the same fetch
//! translation (TLB, walks, faults), the same load and store paths (the write
//! protect bitmap, code invalidation), the same trap entry, the same system
//! instruction semantics and the same event checks at block boundaries. These
//! wrappers expose exactly the crate-internal functions the interpreter uses,
//! so there is one implementation of each rule.
//!
//! The protocol: bracket a run with [`Machine::begin_run`] and
//! [`Machine::end_run`]; before each block call [`Machine::engine_check_events`];
//! run at most [`Machine::engine_room`] instructions; keep `pc` and the
//! retired count exact ([`Machine::engine_commit`]) before any call that can
//! trap or read `instret`.

use vmlab_isa::{Access, Csr, Exception, Width};

use crate::addr::HostPhys;
use crate::exec::{Stop, with_addr};
use crate::exit::Exit;
use crate::machine::Machine;
use crate::tlb::allow;

/// Why an instruction stopped short (it did not retire): a guest exception
/// to raise (cause, badaddr) or an exit for the host. Hand it to
/// [`Machine::engine_deliver`] after making `pc` point at the instruction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EngineStop {
    /// Raise this exception with this `badaddr`.
    Trap(Exception, u32),
    /// Return this exit.
    Exit(Exit),
}

impl From<Stop> for EngineStop {
    fn from(s: Stop) -> EngineStop {
        match s {
            Stop::Trap(e, a) => EngineStop::Trap(e, a),
            Stop::Exit(x) => EngineStop::Exit(x),
        }
    }
}

impl From<EngineStop> for Stop {
    fn from(s: EngineStop) -> Stop {
        match s {
            EngineStop::Trap(e, a) => Stop::Trap(e, a),
            EngineStop::Exit(x) => Stop::Exit(x),
        }
    }
}

impl Machine {
    /// The event check before a block (budget, interrupt delivery or exit,
    /// interrupt-window exit), done only when `instret` reached the next
    /// check point, exactly as the interpreter does it.
    #[inline]
    pub fn engine_check_events(&mut self) -> Option<Exit> {
        if self.cpu.instret >= self.check_at {
            self.check_events()
        } else {
            None
        }
    }

    /// Instructions the next block may retire before the next check point
    /// (the budget or the timer deadline); at least 1 after a check.
    #[inline]
    pub fn engine_room(&self) -> u64 {
        self.check_at.saturating_sub(self.cpu.instret)
    }

    /// Forces an event check before the next block (after an inline change
    /// of interrupt state).
    pub fn engine_recheck(&mut self) {
        self.check_at = 0;
    }

    /// True in user mode (the privilege a block is fetched and translated at).
    #[inline]
    pub fn engine_user(&self) -> bool {
        self.cpu.user()
    }

    /// Translates the fetch of the block at `pc` like the interpreter:
    /// alignment, a TLB probe (not counted), a walk on a miss (counted).
    pub fn engine_fetch(&mut self, pc: u32) -> Result<HostPhys, EngineStop> {
        if pc & 3 != 0 {
            return Err(EngineStop::Trap(Exception::MisalignedFetch, pc));
        }
        if let Some(hpa) = self.engine_fetch_peek(pc) {
            return Ok(hpa);
        }
        let user = self.cpu.user();
        self.mmu
            .translate(pc, Access::Fetch, user)
            .map(HostPhys)
            .map_err(|f| with_addr(f, pc).into())
    }

    /// The fetch translation of `pc` if it needs no walk (the TLB holds it,
    /// or paging is off), with no side effect: what a chained block checks
    /// before jumping to its successor.
    #[inline]
    pub fn engine_fetch_peek(&self, pc: u32) -> Option<HostPhys> {
        let need = allow::FETCH << self.need_shift;
        let hpa = self.mmu.fast_fetch(pc, need)?;
        self.mmu
            .ram
            .contains(HostPhys(hpa), 4)
            .then_some(HostPhys(hpa))
    }

    /// A number that changes whenever a fetch translation or any frame's
    /// code generation may have changed (TLB contents or context, code
    /// invalidation): a chain validated while it is unchanged stays valid.
    #[inline]
    pub fn engine_chain_epoch(&self) -> u64 {
        self.mmu.tlb.epoch.wrapping_add(self.mmu.frames.epoch)
    }

    /// Guest addresses below this limit are data-accessed at the same RAM
    /// offset with no TLB and nothing counted (the identity window of the
    /// load fast path; 0 when paged): an engine may read `ram()` directly
    /// there, as the interpreter's fast path does. The limit leaves room for
    /// a whole word.
    #[inline]
    pub fn engine_flat_limit(&self) -> u32 {
        let ram = u32::try_from(self.mmu.ram.len()).unwrap_or(u32::MAX);
        self.mmu.flat.min(ram.saturating_sub(3))
    }

    /// Guest RAM, mutably, for an engine's direct stores in the identity
    /// window (below [`engine_flat_limit`](Machine::engine_flat_limit)): an
    /// aligned store there to a frame whose
    /// [`engine_store_watch`](Machine::engine_store_watch) byte is 0 is
    /// exactly the interpreter's store fast path (no TLB, nothing counted,
    /// no code to invalidate). Every other store goes through
    /// [`engine_store`](Machine::engine_store).
    #[inline]
    pub fn engine_ram_mut(&mut self) -> &mut [u8] {
        self.mmu.ram.as_bytes_mut()
    }

    /// One byte per 4 KiB page of the 32-bit host-physical space, indexed
    /// by `hpa >> 12` (any address: 2^20 bytes): non-zero when a store there
    /// needs the slow path (write-protected, holding cached code whose
    /// generation the store may have to bump, or past the end of RAM).
    #[inline]
    pub fn engine_store_watch(&self) -> &[u8] {
        self.mmu.frames.watch_bytes()
    }

    /// The code generation of the frame holding `hpa` (bumped whenever code
    /// in it is invalidated by a guest store or a host write).
    #[inline]
    pub fn engine_code_generation(&self, hpa: HostPhys) -> u32 {
        self.mmu.frames.generation(hpa.0)
    }

    /// The bytes from `hpa` to the end of its page (what `form_block` reads).
    pub fn engine_code(&self, hpa: HostPhys) -> &[u8] {
        let start = hpa.0 as usize;
        let end = start + crate::block::page_rest(hpa.0) as usize;
        self.mmu.ram.as_bytes().get(start..end).unwrap_or(&[])
    }

    /// Records that `bytes` at `hpa` now hold cached code, so stores and
    /// host writes to them invalidate it, and counts one block decoded.
    pub fn engine_note_block(&mut self, hpa: HostPhys, bytes: u32) {
        self.mmu.frames.mark_code(hpa.0, bytes);
        self.counters.blocks_decoded += 1;
    }

    /// Counts `n` instructions retired at the current privilege level (pc
    /// is the engine's to set).
    #[inline]
    pub fn engine_commit(&mut self, n: u64) {
        self.commit(n as usize);
    }

    /// Performs a stop at pc: raises its exception (guest trap entry, or an
    /// exception exit when the bitmap asks) or returns its exit.
    pub fn engine_deliver(&mut self, stop: EngineStop) -> Option<Exit> {
        self.stop(stop.into())
    }

    /// A general register by number (0..=15; writes to 0 land in the sink).
    #[inline]
    pub fn engine_get(&self, r: u8) -> u32 {
        self.cpu.get(r)
    }

    /// Writes a general register by number (`r0` keeps reading 0).
    #[inline]
    pub fn engine_set(&mut self, r: u8, value: u32) {
        if r != 0 {
            self.cpu.set(r, value);
        }
    }

    /// A load at the current privilege level: the RAM fast path on a TLB
    /// hit, else alignment, the walk and its faults.
    #[inline]
    pub fn engine_load(&mut self, va: u32, width: Width) -> Result<u32, EngineStop> {
        if va & (width.bytes() - 1) == 0 {
            let need = allow::LOAD << self.need_shift;
            if let Some(v) = self.mmu.load_fast(va, width, need) {
                return Ok(v);
            }
        }
        self.load_slow(va, width).map_err(Into::into)
    }

    /// A store at the current privilege level. `Ok(true)`: it overwrote
    /// cached code (the running block must end after it).
    #[inline]
    pub fn engine_store(&mut self, va: u32, width: Width, value: u32) -> Result<bool, EngineStop> {
        let pre = if va & (width.bytes() - 1) == 0 {
            let need = allow::STORE << self.need_shift;
            match self.mmu.store_fast(va, width, value, need) {
                Ok(()) => return Ok(false),
                Err(pre) => pre,
            }
        } else {
            None
        };
        self.store_slow(va, width, value, pre).map_err(Into::into)
    }

    /// Translates a store without performing it: alignment and the walk
    /// (faults included). Returns the host-physical address and whether the
    /// page is write-protected.
    pub fn engine_store_target(
        &mut self,
        va: u32,
        width: Width,
    ) -> Result<(HostPhys, bool), EngineStop> {
        if va & (width.bytes() - 1) != 0 {
            return Err(EngineStop::Trap(Exception::MisalignedStore, va));
        }
        let user = self.cpu.user();
        let hpa = self
            .mmu
            .translate(va, Access::Store, user)
            .map_err(|f| EngineStop::from(with_addr(f, va)))?;
        Ok((HostPhys(hpa), self.mmu.frames.is_protected(hpa)))
    }

    /// Performs a store already translated to `hpa` by
    /// [`engine_store_target`](Machine::engine_store_target).
    pub fn engine_store_at(
        &mut self,
        va: u32,
        hpa: HostPhys,
        width: Width,
        value: u32,
    ) -> Result<bool, EngineStop> {
        self.store_slow(va, width, value, Some(hpa.0))
            .map_err(Into::into)
    }

    /// `csrr`/`getf` (word `word`) at pc with the interpreter's semantics
    /// (privilege check, guest-mode controls); retired instructions must be
    /// committed first, so counters read exactly. Does not retire it.
    pub fn engine_read_op(&mut self, word: u32) -> Result<(), EngineStop> {
        self.read_op(word, 0).map_err(Into::into)
    }

    /// Executes the system instruction `word` at pc as the interpreter does
    /// (privilege check, exit controls, effect, retirement or trap). `Some`
    /// is an exit for the host.
    pub fn engine_system(&mut self, word: u32) -> Option<Exit> {
        self.exec_system(word)
    }

    /// A control register as supervisor code reads it now (counters exact,
    /// guest-mode read shadows applied).
    pub fn engine_read_csr(&self, csr: Csr) -> u32 {
        self.read_csr(csr, 0)
    }

    /// A `csrw` that passed its checks (guest-mode masks applied; `status`
    /// and `ptbr` refresh the MMU context and force an event check).
    pub fn engine_write_csr(&mut self, csr: Csr, value: u32) {
        self.write_csr(csr, value);
        self.check_at = 0;
    }
}
