//! The backend's block store: construction, compiling a block into it,
//! validation, indirect-jump lookup and inline caches, and the run loop.

use std::cell::Cell;
use std::collections::{HashMap, HashSet};
use std::rc::Rc;

use vmlab_isa::Exception;
use vmlab_machine::engine_support::EngineStop;
use vmlab_machine::{HostPhys, Machine};

use crate::backend::{Backend, BackendStats, BlockExit, BlockId};
use crate::ir::{Privilege, Translation};
use crate::portable::PortableBackend;
use crate::vcpu::VirtualCpu;

use super::exec_mem::{self, Arena};
use super::generate::generate;
use super::runtime::{build_trampoline, epoch_of};
use super::{Compiled, Ctx, Data, HOT_RUNS, HostCode, Live, X86Backend, exit, native_op};

impl X86Backend {
    /// A backend with no blocks.
    ///
    /// # Panics
    /// If the host refuses an executable mapping.
    pub fn new() -> X86Backend {
        let (trampoline, exit_stub, thunks) =
            build_trampoline().expect("x86-64 backend: cannot map executable memory");
        let ctx = Box::new(Ctx {
            regs: [0; 16],
            left: 0,
            pending: 0,
            exit_fn: exit_stub,
            load_fn: [
                exec_mem::load_helper::<0> as *const () as usize as u64,
                exec_mem::load_helper::<1> as *const () as usize as u64,
                exec_mem::load_helper::<2> as *const () as usize as u64,
                exec_mem::load_helper::<3> as *const () as usize as u64,
                exec_mem::load_helper::<4> as *const () as usize as u64,
            ],
            store_fn: [
                exec_mem::store_helper::<1> as *const () as usize as u64,
                exec_mem::store_helper::<2> as *const () as usize as u64,
                exec_mem::store_helper::<4> as *const () as usize as u64,
            ],
            thunks,
            pc: 0,
            spill: 0,
            ram: 0,
            flat: 0,
            watch: 0,
            _pad2: 0,
            machine: std::ptr::null_mut(),
            machine_epoch: 0,
            stop: None,
            live: Live::default(),
            all_watched: vec![1; 1 << 20].into_boxed_slice(),
        });
        X86Backend {
            slots: Vec::new(),
            portable: PortableBackend::new(),
            trampoline,
            arena: Arena::default(),
            ctx,
            stats: BackendStats::default(),
            compile_ns: 0,
            by_va: HashMap::default(),
            indirect_caches: false,
            pending_link: None,
            hot_runs: HOT_RUNS,
        }
    }

    /// A backend that resolves indirect jumps itself, with a two-entry
    /// inline cache per `jalr` and its own lookup on a miss, instead of
    /// returning every one to the engine. They still count as the engine's
    /// indirect lookups ([`BackendStats::indirect_lookups`] is folded into
    /// its counters), but a wrapper that prices
    /// [`BlockExit::Indirect`] exits as they happen (the monitor's bt mode)
    /// would miss them: it wants [`X86Backend::new`].
    pub fn with_indirect_caches() -> X86Backend {
        let mut b = X86Backend::new();
        b.indirect_caches = true;
        b
    }

    /// Blocks that have host code (not left to the portable backend) and
    /// are currently held.
    pub fn native_blocks(&self) -> u64 {
        self.slots
            .iter()
            .flatten()
            .filter(|b| b.host.is_some())
            .count() as u64
    }

    /// Generates host code for every block at once (listings on: what a
    /// trace shows when a block is translated) instead of after
    /// [`HOT_RUNS`](super::HOT_RUNS) runs on the portable backend.
    pub fn set_eager(&mut self, on: bool) {
        self.hot_runs = if on { 0 } else { HOT_RUNS };
    }

    /// Host time spent compiling blocks (lowering, assembly, mapping), in
    /// nanoseconds.
    pub fn compile_ns(&self) -> u64 {
        self.compile_ns
    }

    /// Host addresses of the mappings holding generated code (for the W^X
    /// test): the trampoline's and every block's.
    pub fn code_ranges(&self) -> Vec<(u64, u64)> {
        let mut v = vec![(
            self.trampoline.addr(),
            self.trampoline.addr() + self.trampoline.bytes().len() as u64,
        )];
        for h in self.slots.iter().flatten().filter_map(|b| b.host.as_ref()) {
            v.push((h.code.addr(), h.code.addr() + h.code.bytes().len() as u64));
        }
        v
    }

    /// Runs a block that cannot (or need not) run natively through the
    /// portable backend: its result is the run's.
    fn run_portable(
        &mut self,
        id: BlockId,
        m: &mut Machine,
        vcpu: &mut dyn VirtualCpu,
    ) -> BlockExit {
        self.portable.run(id, m, vcpu)
    }

    /// True when block `id` may be entered now (the dispatcher's checks).
    fn valid(&self, id: BlockId, m: &Machine) -> bool {
        let Some(Some(b)) = self.slots.get(id) else {
            return false;
        };
        b.user == m.engine_user()
            && m.engine_fetch_peek(b.va).is_some_and(|h| h.0 == b.hpa)
            && m.engine_code_generation(HostPhys(b.hpa)) == b.generation
    }

    /// The block to continue with at `pc` after an indirect jump, if one
    /// is compiled and may be entered now (what the engine's lookup would
    /// find: same address, privilege, fetch translation and generation).
    fn lookup_indirect(&self, pc: u32, m: &Machine) -> Option<BlockId> {
        let to = *self.by_va.get(&(pc, m.engine_user()))?;
        (m.engine_room() > 0 && self.valid(to, m)).then_some(to)
    }

    /// Puts block `to` (at `pc`) into `from`'s indirect inline cache.
    fn fill_inline_cache(&mut self, from: BlockId, pc: u32, to: BlockId) {
        let (Some(Some(f)), Some(Some(t))) = (self.slots.get(from), self.slots.get(to)) else {
            return;
        };
        let Some(entry) = t.entry() else {
            return;
        };
        let d = &f.data;
        let k = d.ic_next.get() as usize & 1;
        d.ic_next.set((k as u32) ^ 1);
        d.ic[k].va.set(pc);
        d.ic[k].addr.set(entry);
        self.ctx.live.push(d, 2 + k);
    }

    /// Points link `k` of `from` at `to`'s entry (validated in the current
    /// epoch, so live until it moves).
    fn link_live(&mut self, from: BlockId, k: usize, to: BlockId) {
        let (Some(Some(f)), Some(Some(t))) = (self.slots.get(from), self.slots.get(to)) else {
            return;
        };
        if let (Some(entry), true) = (t.entry(), f.data.link_to[k].get() == Some(to)) {
            f.data.links[k].set(entry);
            self.ctx.live.push(&f.data, k);
        }
    }

    pub(super) fn unlink_into(&mut self, id: BlockId) {
        let incoming = match self.slots.get_mut(id) {
            Some(Some(b)) => std::mem::take(&mut b.incoming),
            _ => return,
        };
        for (from, k) in incoming {
            if let Some(Some(f)) = self.slots.get(from) {
                f.data.links[k].set(f.data.stubs[k].get());
                f.data.link_to[k].set(None);
            }
        }
    }
}

impl X86Backend {
    pub(super) fn compile_block(&mut self, id: BlockId, t: &Translation) {
        self.discard(id);
        self.portable.compile(id, t);
        let native = t.ops.iter().all(|o| native_op(&o.op));
        if self.slots.len() <= id {
            self.slots.resize_with(id + 1, || None);
        }
        let exits = t.direct_exits();
        let data = Rc::<Data>::default();
        let mut incoming = HashSet::new();
        // An exit back to the block's own start is chained from the start
        // (as in the portable backend), validated when first taken.
        if native {
            for (k, &e) in exits.iter().enumerate() {
                if e == t.va {
                    data.link_to[k].set(Some(id));
                    incoming.insert((id, k));
                }
            }
        }
        self.slots[id] = Some(Compiled {
            va: t.va,
            hpa: t.hpa,
            generation: t.generation,
            user: t.privilege == Privilege::User,
            len: t.len(),
            native,
            exits,
            t: t.clone(),
            host: None,
            runs: 0,
            data,
            incoming,
        });
        self.by_va
            .insert((t.va, t.privilege == Privilege::User), id);
    }

    /// Generates block `id`'s host code if it has none yet (and can have
    /// some); true when it has host code.
    pub(super) fn ensure_host(&mut self, id: BlockId) -> bool {
        let Some(Some(b)) = self.slots.get(id) else {
            return false;
        };
        if b.host.is_some() {
            return true;
        }
        if !b.native {
            return false;
        }
        let start = std::time::Instant::now();
        let g = generate(id, &b.t, &b.data, self.indirect_caches)
            .expect("x86-64 backend: assembly failed");
        let code = self
            .arena
            .place(&g.bytes)
            .expect("x86-64 backend: cannot map executable memory");
        // Every link and inline-cache entry starts at its stub.
        let data = &b.data;
        for k in 0..2 {
            if let Some(o) = g.stubs[k] {
                data.stubs[k].set(code.addr() + o);
                data.links[k].set(code.addr() + o);
            }
        }
        if let Some(o) = g.ic_stub {
            data.ic_stub.set(code.addr() + o);
            for e in &data.ic {
                e.addr.set(code.addr() + o);
            }
        }
        self.stats.compiled += 1;
        self.stats.code_bytes += g.bytes.len() as u64;
        if let Some(Some(b)) = self.slots.get_mut(id) {
            b.host = Some(HostCode {
                code,
                entry: g.entry,
                marks: g.marks,
            });
        }
        self.compile_ns += start.elapsed().as_nanos() as u64;
        true
    }

    pub(super) fn run_blocks(
        &mut self,
        id: BlockId,
        m: &mut Machine,
        vcpu: &mut dyn VirtualCpu,
    ) -> BlockExit {
        // The engine validated `id`; links lead to their successors only
        // while those were validated in the current chain epoch.
        let me = epoch_of(m);
        if me != self.ctx.machine_epoch {
            self.ctx.machine_epoch = me;
            self.ctx.live.reset();
        }
        // A link the engine patched or confirmed on its way here leads to a
        // block it just validated.
        if let Some((from, k, to)) = self.pending_link.take() {
            if to == id {
                self.link_live(from, k, to);
            }
        }
        let mut id = id;
        for r in 1..16u8 {
            self.ctx.regs[r as usize] = m.engine_get(r);
        }
        loop {
            let Some(Some(b)) = self.slots.get_mut(id) else {
                return BlockExit::Continue;
            };
            if !b.native || m.engine_room() < b.len as u64 {
                return self.run_portable(id, m, vcpu);
            }
            if b.host.is_none() && b.runs < self.hot_runs {
                // Not hot yet: one block on the portable backend, then on
                // through its links as the portable backend would go.
                b.runs += 1;
                let exit = self.portable.exec(id, m, vcpu);
                // Host code that runs next starts from the machine's
                // registers, which the portable backend updated.
                for r in 1..16u8 {
                    self.ctx.regs[r as usize] = m.engine_get(r);
                }
                match exit {
                    BlockExit::Direct { from, exit: k, pc } => {
                        let to = self
                            .slots
                            .get(from)
                            .and_then(|s| s.as_ref())
                            .and_then(|f| f.data.link_to.get(k).and_then(Cell::get));
                        match to {
                            Some(to) if m.engine_room() > 0 && self.valid(to, m) => {
                                self.stats.chained_transfers += 1;
                                id = to;
                                continue;
                            }
                            _ => return BlockExit::Direct { from, exit: k, pc },
                        }
                    }
                    other => return other,
                }
            }
            if !self.ensure_host(id) {
                return self.run_portable(id, m, vcpu);
            }
            let Some(Some(b)) = self.slots.get(id) else {
                return BlockExit::Continue;
            };
            let Some(target) = b.entry() else {
                return self.run_portable(id, m, vcpu);
            };
            let room = m.engine_room();
            self.ctx.left = room;
            self.ctx.pending = 0;
            self.ctx.stop = None;
            let word = exec_mem::enter(&self.trampoline, target, &mut self.ctx, m);
            let (code, done, op, from) = exit::parts(word);
            self.ctx.left -= done;
            self.ctx.pending = room - self.ctx.left;
            m.engine_commit(self.ctx.pending);
            self.ctx.pending = 0;
            for r in 1..16u8 {
                m.engine_set(r, self.ctx.regs[r as usize]);
            }
            let from = from as BlockId;
            let Some(Some(fb)) = self.slots.get(from) else {
                return BlockExit::Continue;
            };
            let at = |i: u32| fb.va.wrapping_add(4 * i);
            match code {
                exit::INDIRECT => {
                    let pc = self.ctx.pc;
                    m.set_pc(pc);
                    if let Some(to) = self
                        .indirect_caches
                        .then(|| self.lookup_indirect(pc, m))
                        .flatten()
                    {
                        self.fill_inline_cache(from, pc, to);
                        self.stats.indirect_lookups += 1;
                        id = to;
                        continue;
                    }
                    return BlockExit::Indirect { pc };
                }
                exit::ROOM => {
                    m.set_pc(fb.va);
                    return self.run_portable(from, m, vcpu);
                }
                exit::STOP | exit::DIVZERO => {
                    let stop = if code == exit::DIVZERO {
                        EngineStop::Trap(Exception::DivideByZero, 0)
                    } else {
                        self.ctx
                            .stop
                            .take()
                            .unwrap_or(EngineStop::Trap(Exception::BusError, 0))
                    };
                    m.set_pc(at(op));
                    return match m.engine_deliver(stop) {
                        Some(exit) => BlockExit::Exit { from, exit },
                        None => BlockExit::Continue,
                    };
                }
                exit::CUT => {
                    m.set_pc(at(op + 1));
                    return BlockExit::Continue;
                }
                k => {
                    let k = k as usize;
                    let pc = fb.exits.get(k).copied().unwrap_or(fb.va);
                    m.set_pc(pc);
                    // A link validated in an older epoch: validate its
                    // target again (what the engine's lookup would check).
                    if let Some(to) = fb.data.link_to.get(k).and_then(Cell::get) {
                        if m.engine_room() > 0 && self.valid(to, m) {
                            self.link_live(from, k, to);
                            self.stats.chained_transfers += 1;
                            id = to;
                            continue;
                        }
                    }
                    return BlockExit::Direct { from, exit: k, pc };
                }
            }
        }
    }
}
