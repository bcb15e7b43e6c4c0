//! The run report: what the guest printed, how it ended, what was counted,
//! and what it all cost in modeled cycles, by category.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::config::Mode;
use crate::cost::{Breakdown, Event};
use crate::stats::Stats;
use crate::vm::Vm;

/// Instructions retired, by who ran them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Instructions {
    /// Retired by the CPU in user mode (outside guest mode).
    pub user: u64,
    /// Retired by the CPU in supervisor mode (outside guest mode).
    pub supervisor: u64,
    /// Retired in guest mode at guest-user level.
    pub guest_user: u64,
    /// Retired in guest mode at guest-supervisor level.
    pub guest_supervisor: u64,
    /// Emulated by the monitor (privileged instructions, port I/O, PTE stores).
    pub emulated: u64,
}

/// Device-register accesses.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct DeviceAccesses {
    /// Reached the device directly (native).
    pub native: u64,
    /// Emulated by the monitor.
    pub emulated: u64,
}

/// Every counter of a run.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ReportCounters {
    /// Instructions by mode.
    pub instructions: Instructions,
    /// Exits (hw) or traps into the monitor (trap), by reason.
    pub exits: BTreeMap<&'static str, u64>,
    /// All exits.
    pub exits_total: u64,
    /// Exceptions, syscalls and interrupts reflected or injected into the guest.
    pub traps_reflected: u64,
    /// Of those, interrupts.
    pub interrupts_reflected: u64,
    /// Traps the guest kernel took from the CPU directly (no monitor).
    pub native_traps: u64,
    /// Shadow fills the guest never sees.
    pub hidden_faults: u64,
    /// True guest page faults found by the monitor and reflected.
    pub reflected_faults: u64,
    /// Page-table writes trapped and emulated.
    pub pt_write_traps: u64,
    /// TLB misses.
    pub tlb_misses: u64,
    /// Page-walk memory references (one- and two-dimensional).
    pub walk_refs: u64,
    /// TLB flushes forced by world switches (untagged TLB) or by leaving the
    /// trap-mode kernel view.
    pub tlb_flushes: u64,
    /// Device accesses.
    pub device_accesses: DeviceAccesses,
    /// Calls from translated code into the monitor; never counted as exits.
    pub callouts: u64,
    /// Paravirtual work: hypercalls by number, `mmu_update` batch sizes,
    /// ring notifications and completions, validation rejections, hosted
    /// device exits.
    pub pv: crate::pv::PvStats,
    /// bt mode: the translator's counters (`bt.blocks-translated`,
    /// `bt.callout.port-in`, `bt.inline-ops`, `bt.cache-hits`,
    /// `bt.adaptive-retranslations`, ...); empty in other modes.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub bt: BTreeMap<String, u64>,
}

/// The report of one run (`vmlab run --json`).
#[derive(Clone, Debug, Serialize)]
pub struct RunReport {
    /// The workload's name.
    pub workload: String,
    /// The mode.
    pub mode: &'static str,
    /// The ISA profile.
    pub profile: &'static str,
    /// Memory virtualization.
    pub mem: &'static str,
    /// I/O virtualization: `device` (native), `emulated` or `pv`.
    pub io: &'static str,
    /// Whether the monitor is hosted (type 2).
    pub hosted: bool,
    /// Why the monitor stopped the VM (`exit_status` `guest_error`).
    pub stop_reason: Option<String>,
    /// The execution engine.
    pub engine: &'static str,
    /// The cost model's name.
    pub cost: String,
    /// Console output.
    pub console: String,
    /// Kernel log output.
    pub log: String,
    /// `shutdown`, `halt`, `idle`, or `running` (the budget ran out).
    pub exit_status: &'static str,
    /// The exit code written to the power device.
    pub exit_code: Option<u32>,
    /// Guest instructions: retired by the CPU plus emulated.
    pub guest_instructions: u64,
    /// Modeled cycles.
    pub modeled_cycles: u64,
    /// Modeled cycles by category and event.
    pub breakdown: Breakdown,
    /// The counters.
    pub counters: ReportCounters,
    /// Fraction of guest instructions the CPU executed without the monitor.
    pub efficiency: f64,
    /// Host time spent running the VM, in nanoseconds.
    pub host_ns: u128,
}

impl Vm {
    /// Modeled cycles so far: the monitor's events as they were charged, plus
    /// the events counted by the machine (docs/cost-model.md, flow table).
    ///
    /// The machine does not count instructions by class, so every retired
    /// instruction is priced at `insn_alu`. Each native trap entry is priced
    /// as `exception_entry` plus an `exception_return` for its `sret`.
    pub fn modeled(&self) -> Breakdown {
        let st = self.state();
        let c = &st.counters;
        let mut b = Breakdown::new(&st.config.cost);
        b.merge(&st.cycles);
        b.add(Event::InsnAlu, c.retired_total());
        let entries = native_traps(self);
        let injected = if matches!(st.config.mode, Mode::Hw | Mode::Pv) {
            st.stats.traps_reflected
        } else {
            0
        };
        b.add(Event::ExceptionEntry, entries.saturating_sub(injected));
        // pv returns from every trap with the `iret` hypercall, priced as such.
        let returns = if st.config.mode == Mode::Pv {
            0
        } else {
            entries
        };
        b.add(Event::ExceptionReturn, returns);
        b.add(Event::PageWalkRef, c.walk_refs_1d + c.walk_refs_2d);
        b.add(Event::TlbFlush, tlb_flushes(self));
        b.add(Event::DeviceNative, native_device_accesses(self));
        b
    }

    /// The report of the run so far.
    pub fn report(&self) -> RunReport {
        let st = self.state();
        let cfg = &st.config;
        let c = &st.counters;
        let s: &Stats = &st.stats;
        let breakdown = self.modeled();
        let retired = c.retired_total();
        let guest_instructions = retired + c.emulated;
        RunReport {
            workload: cfg.workload.clone(),
            mode: cfg.mode.name(),
            profile: if cfg.profile == vmlab_isa::Profile::Strict {
                "strict"
            } else {
                "legacy"
            },
            mem: cfg.mem.name(),
            io: cfg.io.name(),
            hosted: cfg.hosted,
            stop_reason: st.stop_reason.clone(),
            engine: cfg.engine.name(),
            cost: cfg.cost.name.clone(),
            console: String::from_utf8_lossy(self.console()).into_owned(),
            log: String::from_utf8_lossy(self.log()).into_owned(),
            exit_status: st.outcome.map_or("running", |o| o.name()),
            exit_code: st.outcome.and_then(|o| o.code()),
            guest_instructions,
            modeled_cycles: breakdown.total(),
            counters: ReportCounters {
                instructions: Instructions {
                    user: c.retired[0][0],
                    supervisor: c.retired[0][1],
                    guest_user: c.retired[1][0],
                    guest_supervisor: c.retired[1][1],
                    emulated: c.emulated,
                },
                exits: s.exits.clone(),
                exits_total: s.exits_total(),
                traps_reflected: s.traps_reflected,
                interrupts_reflected: s.interrupts_reflected,
                native_traps: native_traps(self).saturating_sub(
                    if matches!(cfg.mode, Mode::Hw | Mode::Pv) {
                        s.traps_reflected
                    } else {
                        0
                    },
                ),
                hidden_faults: s.hidden_faults,
                reflected_faults: s.reflected_faults,
                pt_write_traps: s.pt_write_traps,
                tlb_misses: c.tlb_misses,
                walk_refs: c.walk_refs_1d + c.walk_refs_2d,
                tlb_flushes: tlb_flushes(self),
                device_accesses: DeviceAccesses {
                    native: native_device_accesses(self),
                    emulated: s.device_emulated,
                },
                callouts: s.callouts,
                pv: s.pv.clone(),
                bt: st
                    .bt
                    .as_ref()
                    .map(|b| b.report_counters())
                    .unwrap_or_default(),
            },
            efficiency: efficiency(retired, c.emulated),
            host_ns: st.host_ns,
            breakdown,
        }
    }
}

/// Trap entries the CPU performed (including hw injections, which the CPU
/// performs at VM entry).
fn native_traps(vm: &Vm) -> u64 {
    let c = &vm.state().counters;
    c.traps.iter().sum::<u64>() + c.interrupts.iter().sum::<u64>()
}

fn tlb_flushes(vm: &Vm) -> u64 {
    let st = vm.state();
    st.counters.world_switch_flushes + st.shadow.as_ref().map_or(0, |p| p.view_flushes)
}

/// Port accesses the bus saw that the monitor did not emulate.
fn native_device_accesses(vm: &Vm) -> u64 {
    let total: u64 = vm.bus().accesses().iter().sum::<u64>() + vm.bus().unmapped_accesses();
    total.saturating_sub(vm.state().stats.device_emulated)
}

/// Instructions the CPU ran / all guest instructions (1.0 for an empty run).
pub fn efficiency(retired: u64, emulated: u64) -> f64 {
    let total = retired + emulated;
    if total == 0 {
        1.0
    } else {
        retired as f64 / total as f64
    }
}
