//! What the monitor counts besides the machine's own counters.

use std::collections::BTreeMap;

use serde::Serialize;
use vmlab_machine::Exit;

/// Monitor-side counters of one VM.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Stats {
    /// Exits (hw) or traps into the monitor (trap) by reason; an exception
    /// exit is named by its cause (`privileged-instruction`, `syscall`, ...).
    /// Never includes callouts or the end of a run's budget.
    pub exits: BTreeMap<&'static str, u64>,
    /// Guest exceptions, syscalls and interrupts the monitor reflected
    /// (trap: virtual trap entry in software) or injected (hw).
    pub traps_reflected: u64,
    /// Of those, interrupts.
    pub interrupts_reflected: u64,
    /// Shadow fills: the guest's tables map the address, the guest never knows.
    pub hidden_faults: u64,
    /// True guest page faults (and bus errors) found by the monitor's walk and reflected.
    pub reflected_faults: u64,
    /// Guest stores to write-protected page-table pages, emulated.
    pub pt_write_traps: u64,
    /// Privileged or sensitive instructions the monitor emulated.
    pub emulated_instructions: u64,
    /// Device-register accesses the monitor emulated.
    pub device_emulated: u64,
    /// Calls from translated code (bt); counted apart, never as exits.
    pub callouts: u64,
    /// Paravirtual work: hypercalls, batches, rings, validation, hosted exits.
    pub pv: crate::pv::PvStats,
}

impl Stats {
    /// Counts one exit.
    pub fn count_exit(&mut self, exit: &Exit) {
        *self.exits.entry(exit_name(exit)).or_default() += 1;
    }

    /// All exits counted.
    pub fn exits_total(&self) -> u64 {
        self.exits.values().sum()
    }
}

/// The report name of an exit: its reason, or for an exception exit its cause.
pub fn exit_name(exit: &Exit) -> &'static str {
    match exit {
        Exit::Exception { cause, .. } => cause.name(),
        e => e.reason(),
    }
}
