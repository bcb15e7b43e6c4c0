//! What the translator counts: guest-visible translation events the cost
//! model prices (translation per instruction, callouts, indirect lookups),
//! kept apart from the backend's internal figures.

use crate::backend::BackendStats;
use crate::ir::CalloutKind;

/// Translator events.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counters {
    /// Blocks translated (kernel and user).
    pub blocks_translated: u64,
    /// Guest instructions translated.
    pub instrs_translated: u64,
    /// Of those blocks, user blocks translated for direct execution.
    pub user_blocks: u64,
    /// Callouts returned to the monitor, by [`CalloutKind`] number.
    pub callouts: [u64; CalloutKind::ALL.len()],
    /// Inline virtual-CPU operations executed.
    pub inline_ops: u64,
    /// Lookups that found a current translation.
    pub cache_hits: u64,
    /// Lookups that found none (or a stale one).
    pub cache_misses: u64,
    /// Translations dropped because their source bytes changed.
    pub invalidations: u64,
    /// Indirect-branch (and return) target lookups.
    pub indirect_lookups: u64,
    /// Stores retranslated as callouts after faulting on a protected page.
    pub adaptive_retranslations: u64,
    /// Whole-cache flushes at the size limit.
    pub flushes: u64,
    /// Chains patched (also in [`BackendStats`]; the cost of linking).
    pub chain_patches: u64,
}

impl Counters {
    /// Callouts of one kind.
    pub fn callouts_of(&self, kind: CalloutKind) -> u64 {
        self.callouts[kind as usize]
    }

    /// All callouts.
    pub fn callouts_total(&self) -> u64 {
        self.callouts.iter().sum()
    }

    /// Every counter as `(name, value)`, for reports.
    pub fn iter(&self) -> Vec<(String, u64)> {
        let mut v: Vec<(String, u64)> = vec![
            ("bt.blocks-translated".into(), self.blocks_translated),
            ("bt.instrs-translated".into(), self.instrs_translated),
            ("bt.user-blocks".into(), self.user_blocks),
            ("bt.inline-ops".into(), self.inline_ops),
            ("bt.cache-hits".into(), self.cache_hits),
            ("bt.cache-misses".into(), self.cache_misses),
            ("bt.invalidations".into(), self.invalidations),
            ("bt.indirect-lookups".into(), self.indirect_lookups),
            (
                "bt.adaptive-retranslations".into(),
                self.adaptive_retranslations,
            ),
            ("bt.flushes".into(), self.flushes),
            ("bt.chain-patches".into(), self.chain_patches),
        ];
        for k in CalloutKind::ALL {
            v.push((format!("bt.callout.{}", k.name()), self.callouts_of(k)));
        }
        v
    }

    /// Folds in the backend's figure for inline operations and chains.
    pub(crate) fn with_backend(mut self, s: BackendStats) -> Counters {
        self.inline_ops = s.inline_ops;
        self.chain_patches = s.chain_patches;
        self.indirect_lookups += s.indirect_lookups;
        self
    }
}
