//! The bt engine: runs guest code translated, block by block, through a
//! [`Backend`], implementing the machine's [`Engine`] trait.
//!
//! The boundary between translated and direct execution is the machine's
//! privilege at block entry, which the bt monitor keeps equal to the
//! *virtual* privilege: in supervisor mode a block is translated as kernel
//! code (sensitive instructions become callouts or inline operations); in
//! user mode it is translated for direct execution (every instruction runs as
//! the hardware runs it, so a privileged one traps, as with VMware's user
//! code running directly). Both kinds live in one cache, keyed by privilege.

use vmlab_machine::{Engine, Exit, HostPhys, Machine};

use crate::backend::{Backend, BackendStats, BlockExit, BlockId};
use crate::cache::{DEFAULT_CAPACITY, Key, Lookup, TranslationCache};
use crate::counters::Counters;
use crate::ir::{Callout, Privilege, Translation};
use crate::translate::{Source, translate, translate_direct};
use crate::vcpu::VirtualCpu;

/// Something the engine did that a `--trace bt` wants to show.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TraceEvent {
    /// A block was translated for the first time (or again).
    Translated(Translation),
    /// The backend's code for the block just translated (host disassembly
    /// beside the guest code for the x86-64 backend), one line per unit.
    Code {
        /// Guest-virtual address of the block.
        va: u32,
        /// [`Backend::listing`]'s lines.
        lines: Vec<String>,
    },
    /// A store faulted on a protected page and will be retranslated as a
    /// callout.
    Adaptive {
        /// Guest-virtual address of the store.
        pc: u32,
        /// Host-physical address of the store instruction.
        hpa: u32,
    },
}

/// The bt engine over backend `B` and virtual CPU `V`.
#[derive(Debug)]
pub struct BtEngine<B: Backend, V: VirtualCpu> {
    backend: B,
    vcpu: V,
    cache: TranslationCache,
    counters: Counters,
    last_callout: Option<Callout>,
    trace: Option<Vec<TraceEvent>>,
    /// Translate every block for direct execution ([`translate_direct`]).
    direct: bool,
}

impl<B: Backend, V: VirtualCpu> BtEngine<B, V> {
    /// An engine with an empty cache of the default capacity.
    pub fn new(backend: B, vcpu: V) -> BtEngine<B, V> {
        BtEngine::with_capacity(backend, vcpu, DEFAULT_CAPACITY)
    }

    /// An engine whose cache holds at most `capacity` guest instructions.
    pub fn with_capacity(backend: B, vcpu: V, capacity: usize) -> BtEngine<B, V> {
        BtEngine {
            backend,
            vcpu,
            cache: TranslationCache::new(capacity),
            counters: Counters::default(),
            last_callout: None,
            trace: None,
            direct: false,
        }
    }

    /// Translates every block, kernel code included, for direct execution
    /// ([`translate_direct`]: no inline operation or callout, system
    /// instructions run as the hardware runs them) when `on`. Drops the
    /// cache when the setting changes.
    pub fn set_direct_execution(&mut self, on: bool) {
        if self.direct != on {
            self.direct = on;
            self.flush();
        }
    }

    /// The virtual CPU.
    pub fn vcpu(&self) -> &V {
        &self.vcpu
    }

    /// The virtual CPU, mutably (the monitor emulating a callout).
    pub fn vcpu_mut(&mut self) -> &mut V {
        &mut self.vcpu
    }

    /// The backend, mutably.
    pub fn backend_mut(&mut self) -> &mut B {
        &mut self.backend
    }

    /// The backend.
    pub fn backend(&self) -> &B {
        &self.backend
    }

    /// The translation cache.
    pub fn cache(&self) -> &TranslationCache {
        &self.cache
    }

    /// The callout the last `Exit::Callout` stands for.
    pub fn last_callout(&self) -> Option<&Callout> {
        self.last_callout.as_ref()
    }

    /// Translator counters (guest-visible translation events).
    pub fn counters(&self) -> Counters {
        self.counters.with_backend(self.backend.stats())
    }

    /// Backend-internal figures.
    pub fn backend_stats(&self) -> BackendStats {
        self.backend.stats()
    }

    /// Starts (or stops) recording [`TraceEvent`]s.
    pub fn set_trace(&mut self, on: bool) {
        self.trace = on.then(Vec::new);
        self.backend.set_listings(on);
    }

    /// The trace events recorded since the last call.
    pub fn take_trace(&mut self) -> Vec<TraceEvent> {
        self.trace.as_mut().map(std::mem::take).unwrap_or_default()
    }

    /// Drops every translation (and chain).
    pub fn flush(&mut self) {
        self.cache.flush();
        self.backend.flush();
    }

    /// Runs like [`Engine::run`], but a callout does not end the run:
    /// `resolve` performs it (as the hardware would run the instruction)
    /// and the run goes on in the same world switch, within the same
    /// budget, unless `resolve` returns an exit. One `begin_run`/`end_run`
    /// bracket, as the interpreter's run has: exit and world-switch
    /// counters stay the interpreter's.
    pub fn run_resolving(
        &mut self,
        m: &mut Machine,
        budget: u64,
        mut resolve: impl FnMut(&mut Machine, &Callout) -> Option<Exit>,
    ) -> Exit {
        m.begin_run(budget);
        self.last_callout = None;
        let exit = loop {
            match self.dispatch(m) {
                Exit::Callout { .. } => {
                    let Some(c) = self.last_callout else {
                        break Exit::BudgetExhausted;
                    };
                    if let Some(exit) = resolve(m, &c) {
                        break exit;
                    }
                }
                other => break other,
            }
        };
        m.end_run(exit)
    }

    /// The dispatcher: event checks, fetch, lookup (translating on a miss),
    /// chain patching, and the backend's exits.
    fn dispatch(&mut self, m: &mut Machine) -> Exit {
        // The direct exit the last block left through, to chain.
        let mut pending: Option<(BlockId, usize, u32)> = None;
        loop {
            if let Some(exit) = m.engine_check_events() {
                return exit;
            }
            let pc = m.pc();
            let hpa = match m.engine_fetch(pc) {
                Ok(h) => h,
                Err(stop) => {
                    pending = None;
                    match m.engine_deliver(stop) {
                        Some(exit) => return exit,
                        None => continue,
                    }
                }
            };
            let (id, reset) = self.block_at(m, pc, hpa);
            if reset {
                pending = None;
            }
            if let Some((from, exit, target)) = pending.take() {
                if target == pc {
                    self.backend.chain(from, exit, id);
                }
            }
            match self.backend.run(id, m, &mut self.vcpu) {
                BlockExit::Direct { from, exit, pc } => pending = Some((from, exit, pc)),
                BlockExit::Indirect { .. } => self.counters.indirect_lookups += 1,
                BlockExit::Continue => {}
                BlockExit::Exit { from, exit } => {
                    if let Exit::ProtectedWrite { .. } = exit {
                        self.adapt(m, from);
                    }
                    return exit;
                }
                BlockExit::Callout(c) => {
                    self.counters.callouts[c.kind as usize] += 1;
                    self.last_callout = Some(c);
                    return Exit::Callout { id: c.kind as u32 };
                }
            }
        }
    }

    /// The slot of the current translation at (`pc`, `hpa`), translating on
    /// a miss. The flag says slots were dropped (no chain may be patched
    /// from the previous block).
    fn block_at(&mut self, m: &mut Machine, pc: u32, hpa: HostPhys) -> (BlockId, bool) {
        let privilege = if m.engine_user() {
            Privilege::User
        } else {
            Privilege::Supervisor
        };
        let key = Key {
            va: pc,
            hpa: hpa.0,
            privilege,
        };
        let generation = m.engine_code_generation(hpa);
        let mut reset = false;
        match self.cache.lookup(key, generation) {
            Lookup::Hit(id) => {
                self.counters.cache_hits += 1;
                return (id, false);
            }
            Lookup::Stale(id) => {
                self.counters.invalidations += 1;
                self.backend.discard(id);
                reset = true;
            }
            Lookup::Miss => {}
        }
        self.counters.cache_misses += 1;
        let cache = &self.cache;
        let src = Source {
            va: pc,
            hpa: hpa.0,
            generation,
            code: m.engine_code(hpa),
        };
        let t = if self.direct {
            translate_direct(src, privilege)
        } else {
            translate(src, privilege, &|h| cache.is_adaptive(h))
        };
        if !self.cache.fits(t.len()) {
            self.flush();
            self.counters.flushes += 1;
            reset = true;
        }
        m.engine_note_block(hpa, 4 * t.len() as u32);
        let id = self.cache.insert(key, generation, t.len());
        self.backend.compile(id, &t);
        self.counters.blocks_translated += 1;
        self.counters.instrs_translated += t.len() as u64;
        if privilege == Privilege::User {
            self.counters.user_blocks += 1;
        }
        if let Some(trace) = &mut self.trace {
            let va = t.va;
            trace.push(TraceEvent::Translated(t));
            trace.push(TraceEvent::Code {
                va,
                lines: self.backend.listing(id),
            });
        }
        (id, reset)
    }

    /// A kernel store in block `from` faulted on a protected page (pc at
    /// it): remember the store, and drop the block so its next execution is
    /// retranslated with the store as a `pte-write` callout.
    fn adapt(&mut self, m: &Machine, from: BlockId) {
        let Some(key) = self.cache.key(from) else {
            return;
        };
        if key.privilege != Privilege::Supervisor {
            return;
        }
        let pc = m.pc();
        let hpa = key.hpa.wrapping_add(pc.wrapping_sub(key.va));
        if self.cache.mark_adaptive(hpa) {
            self.counters.adaptive_retranslations += 1;
            if let Some(trace) = &mut self.trace {
                trace.push(TraceEvent::Adaptive { pc, hpa });
            }
        }
        self.cache.remove(from);
        self.backend.discard(from);
    }
}

impl<B: Backend, V: VirtualCpu> Engine for BtEngine<B, V> {
    fn name(&self) -> &'static str {
        "bt"
    }

    fn run(&mut self, m: &mut Machine, budget: u64) -> Exit {
        m.begin_run(budget);
        self.last_callout = None;
        let exit = self.dispatch(m);
        m.end_run(exit)
    }
}
