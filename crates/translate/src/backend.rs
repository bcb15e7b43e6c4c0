//! The interface between the translator and code generators: the portable
//! backend here, the x86-64 backend (issue 8) later.
//!
//! A backend compiles [`Translation`]s into numbered slots, runs them
//! against the machine, and links them. The [`BtEngine`](crate::BtEngine)
//! owns the policy (what to translate, the cache, invalidation, adaptive
//! retranslation); a backend owns only code.

use vmlab_machine::{Exit, Machine};

use crate::ir::{Callout, Translation};
use crate::vcpu::VirtualCpu;

/// A slot number for a compiled block, assigned by the translation cache.
pub type BlockId = usize;

/// How control left translated code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BlockExit {
    /// Through direct exit `exit` of block `from` (a branch, `jal` or fall
    /// through) to `pc`, with no chain to follow yet: the engine looks the
    /// target up and patches the chain.
    Direct {
        /// The block whose exit it was.
        from: BlockId,
        /// Its exit number ([`Translation::direct_exits`]).
        exit: usize,
        /// The target.
        pc: u32,
    },
    /// Through an indirect jump (`jalr`, returns) to `pc`: a lookup.
    Indirect {
        /// The target.
        pc: u32,
    },
    /// The machine's pc is where to go on, but the block was cut short (the
    /// next event check is due, a store overwrote code) or the machine ran a
    /// native system instruction (a trap was taken): look up afresh.
    Continue,
    /// The run must end with `exit` (pc at the instruction, not retired).
    Exit {
        /// The block that was running.
        from: BlockId,
        /// The exit.
        exit: Exit,
    },
    /// A callout into the monitor (pc at the instruction, not retired).
    Callout(Callout),
}

/// Engine-internal figures: how the code ran, not what the guest did, so
/// they may differ between backends (guest-visible counters may not).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BackendStats {
    /// Blocks compiled.
    pub compiled: u64,
    /// Chains patched (a direct exit linked to its target's code).
    pub chain_patches: u64,
    /// Transfers that went through a chain without returning to the engine.
    /// The portable backend counts every one; the x86-64 backend counts
    /// only those that went through Rust (a link validated again, a block
    /// not yet hot): a transfer in its host code is a plain jump, kept free
    /// of bookkeeping (a counter bumped on each cost about 15% on
    /// call-heavy code).
    pub chained_transfers: u64,
    /// Size of the code compiled so far, in the backend's units (bytes of
    /// host code; of predecoded ops for the portable backend).
    pub code_bytes: u64,
    /// Inline virtual-CPU operations executed.
    pub inline_ops: u64,
    /// Indirect jumps the backend resolved itself (an inline cache, or its
    /// own lookup) instead of returning [`BlockExit::Indirect`]: they count
    /// as the engine's indirect lookups, so the guest-visible figure does
    /// not depend on the backend.
    pub indirect_lookups: u64,
}

/// A code generator and runner for translated blocks.
///
/// Contract for [`run`](Backend::run): before entering every block (the
/// first and each chained one) the event check must not be due
/// ([`Machine::engine_room`] > 0); a block runs at most `engine_room()`
/// instructions; `pc` and the retired count are exact whenever the machine
/// is called (loads, stores, traps, inline ops) and on return. A chained
/// transfer is taken only if the target's fetch translation is still the
/// one it was compiled for ([`Machine::engine_fetch_peek`], no walk) and
/// its frame's code generation is unchanged; otherwise return
/// [`BlockExit::Direct`].
pub trait Backend {
    /// A short name (`"portable"`, `"x86-64"`).
    fn name(&self) -> &'static str;
    /// Compiles `t` into slot `id`, replacing what the slot held (chains out
    /// of the old code die with it).
    fn compile(&mut self, id: BlockId, t: &Translation);
    /// Runs block `id` and whatever it is chained to until control leaves
    /// translated code.
    fn run(&mut self, id: BlockId, m: &mut Machine, vcpu: &mut dyn VirtualCpu) -> BlockExit;
    /// Links direct exit `exit` of block `from` to block `to`.
    fn chain(&mut self, from: BlockId, exit: usize, to: BlockId);
    /// Drops slot `id` and every chain into it.
    fn discard(&mut self, id: BlockId);
    /// Drops every slot (a cache flush).
    fn flush(&mut self);
    /// Engine-internal figures.
    fn stats(&self) -> BackendStats;
    /// The compiled code of slot `id`, one line per unit, for traces.
    fn listing(&self, id: BlockId) -> Vec<String>;
    /// Traces are on: keep what [`listing`](Backend::listing) shows
    /// available from the moment a block is compiled (the x86-64 backend
    /// then generates host code at once, instead of once a block is hot).
    fn set_listings(&mut self, _on: bool) {}
}
