//! The built-in cost models and the published figures behind them.
//!
//! Rule: every constant comes from one cited figure (ANCHORS.md), is derived
//! from a composite figure by a stated subtraction, or is marked an
//! assumption with a reason. Nothing is fitted to the nanobenchmark table:
//! the paper numbers used here are marked `calibrated`, the rest are left to
//! validate the model. docs/cost-model.md tells the same story in prose.

use serde::Serialize;

use super::CostModel;

/// One published figure used to set one or more fields of a preset.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Calibration {
    /// The published figure, with its source.
    pub figure: &'static str,
    /// Its value in cycles (the midpoint where the source gives a range).
    pub value: u64,
    /// The fields it sets.
    pub fields: &'static [&'static str],
    /// How the fields follow from it.
    pub derivation: &'static str,
}

/// A published nanobenchmark figure, as the paper states it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "cycles", rename_all = "snake_case")]
pub enum PaperCycles {
    /// The paper's baseline; no absolute number given.
    Baseline,
    /// A number of cycles.
    Cycles(u64),
    /// About this many cycles ("~").
    About(u64),
    /// The native figure plus about this many cycles.
    NativePlus(u64),
    /// About the native figure.
    AboutNative,
}

impl PaperCycles {
    /// Absolute cycles, given the same row's native figure where the paper
    /// states this one relative to it.
    pub fn resolve(self, native: Option<u64>) -> Option<u64> {
        match self {
            PaperCycles::Baseline => None,
            PaperCycles::Cycles(c) | PaperCycles::About(c) => Some(c),
            PaperCycles::NativePlus(d) => native.map(|n| n + d),
            PaperCycles::AboutNative => native,
        }
    }
}

impl std::fmt::Display for PaperCycles {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PaperCycles::Baseline => f.write_str("baseline"),
            PaperCycles::Cycles(c) => write!(f, "{c}"),
            PaperCycles::About(c) => write!(f, "~{c}"),
            PaperCycles::NativePlus(d) => write!(f, "native + ~{d}"),
            PaperCycles::AboutNative => f.write_str("~ native"),
        }
    }
}

/// One cell of Adams & Agesen's nanobenchmark table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct PaperRow {
    /// The nanobenchmark, as the paper names it.
    pub bench: &'static str,
    /// vmlab's mode for the paper's column: `native`, `bt` (software VMM), `hw` (VT-x).
    pub mode: &'static str,
    /// vmlab's memory option for that column (the paper's VT-x VMM used shadow paging).
    pub mem: &'static str,
    /// The paper's figure.
    pub paper: PaperCycles,
    /// True when this figure calibrated a constant of the preset; false when
    /// it is left to validate the model.
    pub calibrated: bool,
}

/// A built-in cost model and its provenance.
#[derive(Debug)]
pub struct Preset {
    /// The preset's name.
    pub name: &'static str,
    /// One line saying what hardware it models.
    pub summary: &'static str,
    /// The published figures used to set its constants.
    pub calibration: &'static [Calibration],
    /// Published nanobenchmark figures for this hardware, each marked as
    /// calibration or validation (empty when none exist).
    pub paper: &'static [PaperRow],
    build: fn() -> CostModel,
}

impl Preset {
    /// Every preset, `p4-2006` first.
    pub const ALL: &'static [Preset] = &[P4_2006, MODERN];

    /// The preset called `name`.
    pub fn get(name: &str) -> Option<&'static Preset> {
        Preset::ALL.iter().find(|p| p.name == name)
    }

    /// The preset's cost model.
    pub fn model(&self) -> CostModel {
        (self.build)()
    }

    /// The published figures used to calibrate the preset.
    pub fn calibration(&self) -> &'static [Calibration] {
        self.calibration
    }

    /// The nanobenchmark figures left to validate the model: not used to
    /// calibrate it, and stating a number (the native syscall baseline does not).
    pub fn validation(&self) -> Vec<&'static PaperRow> {
        self.paper
            .iter()
            .filter(|r| !r.calibrated && r.paper != PaperCycles::Baseline)
            .collect()
    }
}

/// The preset names, for `--cost` help and error messages.
pub(super) const NAMES: &[&str] = &["p4-2006", "modern"];

/// Pentium 4 with first-generation VT-x (Adams & Agesen 2006): expensive
/// exits, untagged TLB.
fn p4_2006() -> CostModel {
    CostModel {
        name: "p4-2006".to_owned(),
        // No address-space tags on 2006 hardware: every world switch flushes.
        tlb_tagged: false,
        // Assumptions (no published per-class figure): the textbook pipeline,
        // one cycle per simple instruction, no caches.
        insn_alu: 1,
        insn_load: 1,
        insn_store: 1,
        insn_branch_not_taken: 1,
        // Assumption: a redirected fetch costs one bubble.
        insn_branch_taken: 2,
        insn_jump: 2,
        // Assumption: multi-cycle functional units.
        insn_mul: 3,
        insn_div: 20,
        // A&A native cr8wr ~140 cycles.
        insn_ctrl_write: 140,
        // A&A native divzero 889 = exception entry + return (the handler's
        // few instructions ignored); the even split is an assumption.
        exception_entry: 445,
        exception_return: 444,
        // A&A native `in` 3,209.
        device_native: 3_209,
        // A&A BT `in` ~214 = one callout + one device emulation: 214 - 34.
        device_emulation: 180,
        // A&A native divzero 889: the same hardware fault round trip, with
        // the monitor as the handler.
        monitor_trap: 889,
        // A&A VT-x `in` 15,826 = exit round trip + device emulation: 15,826 - 180.
        vm_exit: 15_646,
        // Assumption: the exit carries the decoded instruction; emulating it
        // is one match arm on the virtual CPU, about a hundred cycles.
        monitor_emulate: 100,
        // Assumption: two guest entries read and checked in monitor code.
        monitor_walk: 100,
        // A&A BT ptemod 391 = one callout + one shadow update: 391 - 34.
        shadow_update: 357,
        // A&A BT syscall = native + ~2,000 = reflect + the sret callout
        // (34) + emulating sret (100): 2,000 - 134.
        monitor_reflect: 1_866,
        // A&A native divzero 889 (half): injection makes the CPU do a
        // native exception entry at VM entry.
        interrupt_injection: 445,
        // Zero: the flush's fixed cost is inside the measured VT-x round
        // trip vm_exit was derived from (untagged P4); only misses are added.
        tlb_flush: 0,
        // Assumption: about an L2-cache hit; the model has no caches.
        page_walk_ref: 20,
        // A&A native divzero 889: a 2003 Xen hypercall is a software trap
        // into ring 0, a native trap round trip.
        hypercall: 889,
        // Assumption: decode and emit a few hundred host instructions' worth
        // per guest instruction.
        bt_translate: 200,
        // A&A call/ret: BT 51 - native 11.
        bt_indirect_lookup: 40,
        // Assumption priced in the model's own units: save and restore the 15
        // writable registers (15 stores + 15 loads) plus a call and a return.
        bt_callout: 34,
        // A&A native divzero 889: the notification is an event-channel
        // hypercall, a native trap round trip.
        ring_notify: 889,
        // A&A native divzero 889 (half): the event is delivered like a native
        // exception entry into the guest's handler.
        completion_interrupt: 445,
        // A&A native divzero 889: the device exit returns to the host's user
        // space and the device model re-enters: one host syscall round trip.
        hosted_switch: 889,
    }
}

/// A recent AMD host (KVM SVM, 2020): exit round trip ~1,360 cycles,
/// tagged TLB. Everything without a modern figure is carried over from
/// `p4-2006`, so the two differ only where a source says they do.
fn modern() -> CostModel {
    CostModel {
        name: "modern".to_owned(),
        // ASIDs/VPIDs: world switches do not flush.
        tlb_tagged: true,
        // LKML KVM SVM discussion, Dec 2020: VMRUN->exit 1,344-1,376; midpoint.
        vm_exit: 1_360,
        // Same source: whole KVM_RUN 2,528-2,576 (midpoint 2,552) minus the
        // VMRUN round trip 1,360 = the return to user space and back.
        hosted_switch: 1_192,
        ..p4_2006()
    }
}

const P4_2006: Preset = Preset {
    name: "p4-2006",
    summary: "Pentium 4 with first-generation VT-x (Adams & Agesen 2006): expensive exits, untagged TLB",
    calibration: &[
        Calibration {
            figure: "Adams & Agesen 2006, native divzero",
            value: 889,
            fields: &[
                "exception_entry",
                "exception_return",
                "monitor_trap",
                "interrupt_injection",
                "hypercall",
                "ring_notify",
                "completion_interrupt",
                "hosted_switch",
            ],
            derivation: "a native fault round trip: entry 445 + return 444 (even split assumed); a trap into the monitor, a hypercall, a notification and a hosted switch are each one round trip (889); injection and completion delivery are one entry (445)",
        },
        Calibration {
            figure: "Adams & Agesen 2006, native in",
            value: 3_209,
            fields: &["device_native"],
            derivation: "taken as is",
        },
        Calibration {
            figure: "Adams & Agesen 2006, native cr8wr",
            value: 140,
            fields: &["insn_ctrl_write"],
            derivation: "taken as is (~140)",
        },
        Calibration {
            figure: "Adams & Agesen 2006, native call/ret",
            value: 11,
            fields: &["bt_indirect_lookup"],
            derivation: "the baseline subtracted from BT call/ret",
        },
        Calibration {
            figure: "Adams & Agesen 2006, BT call/ret",
            value: 51,
            fields: &["bt_indirect_lookup"],
            derivation: "51 - 11 (native) = 40: the ret's indirect-branch lookup",
        },
        Calibration {
            figure: "Adams & Agesen 2006, BT in",
            value: 214,
            fields: &["device_emulation"],
            derivation: "one callout + one device emulation: 214 - 34 (bt_callout) = 180",
        },
        Calibration {
            figure: "Adams & Agesen 2006, VT-x in",
            value: 15_826,
            fields: &["vm_exit"],
            derivation: "one exit round trip + one device emulation: 15,826 - 180 = 15,646",
        },
        Calibration {
            figure: "Adams & Agesen 2006, BT ptemod",
            value: 391,
            fields: &["shadow_update"],
            derivation: "one callout + one shadow update: 391 - 34 = 357",
        },
        Calibration {
            figure: "Adams & Agesen 2006, BT syscall (native + ~2,000)",
            value: 2_000,
            fields: &["monitor_reflect"],
            derivation: "extra over native = reflect + sret callout (34) + sret emulation (100): 2,000 - 134 = 1,866",
        },
    ],
    paper: &AA_TABLE,
    build: p4_2006,
};

const MODERN: Preset = Preset {
    name: "modern",
    summary: "recent AMD host under KVM SVM (2020): exit round trip ~1,360 cycles, tagged TLB; the rest as p4-2006",
    calibration: &[
        Calibration {
            figure: "LKML KVM SVM discussion, Dec 2020: VMRUN->exit 1,344-1,376",
            value: 1_360,
            fields: &["vm_exit"],
            derivation: "midpoint of the range",
        },
        Calibration {
            figure: "LKML KVM SVM discussion, Dec 2020: whole KVM_RUN 2,528-2,576",
            value: 2_552,
            fields: &["hosted_switch"],
            derivation: "midpoint 2,552 - VMRUN round trip 1,360 = 1,192: the return to user space and back",
        },
    ],
    paper: &[],
    build: modern,
};

/// One cell of [`AA_TABLE`] per paper column: native, software VMM (bt),
/// hardware VMM (VT-x with shadow paging).
const fn native(bench: &'static str, paper: PaperCycles, calibrated: bool) -> PaperRow {
    PaperRow {
        bench,
        mode: "native",
        mem: "none",
        paper,
        calibrated,
    }
}
const fn bt(bench: &'static str, paper: PaperCycles, calibrated: bool) -> PaperRow {
    PaperRow {
        bench,
        mode: "bt",
        mem: "shadow",
        paper,
        calibrated,
    }
}
const fn hw(bench: &'static str, paper: PaperCycles, calibrated: bool) -> PaperRow {
    PaperRow {
        bench,
        mode: "hw",
        mem: "shadow",
        paper,
        calibrated,
    }
}

use PaperCycles::{About, AboutNative, Baseline, Cycles, NativePlus};

/// Adams & Agesen 2006, nanobenchmarks (cycles), all 21 cells.
const AA_TABLE: [PaperRow; 21] = [
    native("syscall", Baseline, false),
    bt("syscall", NativePlus(2_000), true),
    hw("syscall", AboutNative, false),
    native("in", Cycles(3_209), true),
    bt("in", About(214), true),
    hw("in", Cycles(15_826), true),
    native("cr8wr", About(140), true),
    bt("cr8wr", Cycles(35), false),
    hw("cr8wr", AboutNative, false),
    native("call/ret", Cycles(11), true),
    bt("call/ret", Cycles(51), true),
    hw("call/ret", Cycles(11), false),
    native("pgfault", Cycles(1_093), false),
    bt("pgfault", Cycles(3_927), false),
    hw("pgfault", Cycles(11_242), false),
    native("divzero", Cycles(889), true),
    bt("divzero", Cycles(3_223), false),
    hw("divzero", Cycles(1_014), false),
    native("ptemod", About(1), false),
    bt("ptemod", Cycles(391), true),
    hw("ptemod", Cycles(12_733), false),
];
