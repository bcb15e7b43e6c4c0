//! The priced events: one [`Event`] variant and one [`CostModel`] field per
//! event, generated from a single table so that the enum, the struct, the
//! file format and the report cannot disagree about a name.

use serde::Serialize;

/// A group of events, one column of the report's breakdown.
///
/// The order of the variants is the order of the breakdown.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Category {
    /// Guest instructions executed by the CPU, by class.
    GuestInstructions,
    /// Native exception entry and return (the guest kernel's own traps).
    NativeExceptions,
    /// Device accesses: real hardware latency and software emulation.
    Device,
    /// Transitions into the monitor: traps and VM exits.
    Exits,
    /// Software work the monitor does per exit or trap.
    MonitorWork,
    /// TLB flushes and page-walk memory references.
    Tlb,
    /// Paravirtual hypercalls.
    Hypercalls,
    /// Binary translation: translating code and indirect-branch lookups.
    Translation,
    /// Calls from translated code into the monitor.
    Callouts,
    /// Paravirtual I/O rings: notifications and completions.
    IoRings,
    /// The hosted (type-2) monitor's extra switch to its user-space device model.
    Hosted,
}

impl Category {
    /// Every category, in breakdown order.
    pub const ALL: [Category; 11] = [
        Category::GuestInstructions,
        Category::NativeExceptions,
        Category::Device,
        Category::Exits,
        Category::MonitorWork,
        Category::Tlb,
        Category::Hypercalls,
        Category::Translation,
        Category::Callouts,
        Category::IoRings,
        Category::Hosted,
    ];

    /// The category's name in reports and JSON.
    pub const fn name(self) -> &'static str {
        match self {
            Category::GuestInstructions => "guest instructions",
            Category::NativeExceptions => "native exceptions",
            Category::Device => "device",
            Category::Exits => "exits",
            Category::MonitorWork => "monitor work",
            Category::Tlb => "tlb",
            Category::Hypercalls => "hypercalls",
            Category::Translation => "translation",
            Category::Callouts => "callouts",
            Category::IoRings => "io rings",
            Category::Hosted => "hosted",
        }
    }

    /// Position in [`Category::ALL`].
    pub const fn index(self) -> usize {
        self as usize
    }
}

impl std::fmt::Display for Category {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Defines `Event`, `CostModel` and the accessors that map one to the other
/// from one table: `Variant field: Category, "description";`.
macro_rules! events {
    ($($variant:ident $field:ident : $cat:ident, $desc:literal;)*) => {
        /// One priced event. Modeled cycles are the sum over events of
        /// count x [`CostModel::cost`].
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
        #[serde(rename_all = "snake_case")]
        pub enum Event {
            $(#[doc = $desc] $variant,)*
        }

        impl Event {
            /// Every event, in table (and breakdown) order.
            pub const ALL: &'static [Event] = &[$(Event::$variant,)*];
            /// The number of events.
            pub const COUNT: usize = Event::ALL.len();

            /// The event's name: also its field name in a cost file.
            pub const fn name(self) -> &'static str {
                match self { $(Event::$variant => stringify!($field),)* }
            }

            /// One sentence saying what the event is.
            pub const fn description(self) -> &'static str {
                match self { $(Event::$variant => $desc,)* }
            }

            /// The breakdown column the event's cycles go to.
            pub const fn category(self) -> Category {
                match self { $(Event::$variant => Category::$cat,)* }
            }

            /// Position in [`Event::ALL`].
            pub const fn index(self) -> usize {
                self as usize
            }

            /// The event whose field is called `name`.
            pub fn from_name(name: &str) -> Option<Event> {
                Event::ALL.iter().copied().find(|e| e.name() == name)
            }
        }

        /// Named per-event costs in modeled cycles (whole cycles, so that
        /// every run is exactly reproducible), plus whether the TLB is tagged.
        ///
        /// Build one with [`CostModel::preset`], or load a file with
        /// [`CostModel::load`]. docs/cost-model.md gives every preset value
        /// and its source.
        #[derive(Clone, Debug, PartialEq, Eq, Serialize)]
        pub struct CostModel {
            /// The model's name, shown in reports (`p4-2006`, `modern`, or the file's).
            pub name: String,
            /// Whether the TLB is tagged with an address-space id. When false,
            /// every world switch (VM entry and exit) flushes it, as on 2006
            /// hardware, and the misses that follow are counted and priced.
            pub tlb_tagged: bool,
            $(#[doc = $desc] pub $field: u64,)*
        }

        impl CostModel {
            /// The cost of one `event`, in modeled cycles.
            pub const fn cost(&self, event: Event) -> u64 {
                match event { $(Event::$variant => self.$field,)* }
            }

            /// Set the cost of `event` (for sweeps, such as the exit-cost sweep).
            pub fn set_cost(&mut self, event: Event, cycles: u64) {
                match event { $(Event::$variant => self.$field = cycles,)* }
            }
        }
    };
}

events! {
    InsnAlu insn_alu: GuestInstructions,
        "A simple ALU instruction (add, logic, shift, compare, lui, auipc) or a control-register read.";
    InsnMul insn_mul: GuestInstructions,
        "An integer multiply.";
    InsnDiv insn_div: GuestInstructions,
        "An integer divide or remainder.";
    InsnLoad insn_load: GuestInstructions,
        "A load that hits the TLB (the model has no caches; a TLB miss adds page-walk references).";
    InsnStore insn_store: GuestInstructions,
        "A store that hits the TLB.";
    InsnBranchTaken insn_branch_taken: GuestInstructions,
        "A conditional branch that is taken.";
    InsnBranchNotTaken insn_branch_not_taken: GuestInstructions,
        "A conditional branch that falls through.";
    InsnJump insn_jump: GuestInstructions,
        "An unconditional jump, call or return (jal, jalr).";
    InsnCtrlWrite insn_ctrl_write: GuestInstructions,
        "A control-register write executed by the CPU (natively, or on the guest copy in guest mode).";
    ExceptionEntry exception_entry: NativeExceptions,
        "The CPU's entry into the guest kernel's trap vector for an exception, syscall or interrupt.";
    ExceptionReturn exception_return: NativeExceptions,
        "The CPU's trap return (sret) from the guest kernel.";
    DeviceNative device_native: Device,
        "One port access to a real device (native mode): real hardware is slow.";
    DeviceEmulation device_emulation: Device,
        "The monitor's software emulation of one device-register access.";
    MonitorTrap monitor_trap: Exits,
        "A trap into the monitor that is not a VM exit (trap-and-emulate, bt): a native fault round trip.";
    VmExit vm_exit: Exits,
        "A VM exit and the VM entry that resumes the guest (hardware-assisted modes).";
    MonitorEmulate monitor_emulate: MonitorWork,
        "Monitor work to emulate one trapped privileged or sensitive instruction on the virtual CPU.";
    MonitorWalk monitor_walk: MonitorWork,
        "Monitor work to walk the guest's page table in software (shadow paging).";
    ShadowUpdate shadow_update: MonitorWork,
        "Monitor work to create or update one shadow page-table entry.";
    MonitorReflect monitor_reflect: MonitorWork,
        "Monitor work to reflect a guest exception or interrupt into the guest kernel in software.";
    InterruptInjection interrupt_injection: MonitorWork,
        "Injecting an event at VM entry (hardware-assisted): the CPU delivers it into the guest's vector.";
    TlbFlush tlb_flush: Tlb,
        "The fixed cost of a TLB flush forced by a world switch on an untagged TLB (misses priced apart).";
    PageWalkRef page_walk_ref: Tlb,
        "One memory reference of a TLB-miss page walk (a 2+2-level two-dimensional walk makes 8).";
    Hypercall hypercall: Hypercalls,
        "A paravirtual hypercall round trip into the monitor and back.";
    BtTranslate bt_translate: Translation,
        "Translating one guest instruction into the translation cache.";
    BtIndirectLookup bt_indirect_lookup: Translation,
        "Looking up the translated target of an indirect branch (jalr, ret) in translated code.";
    BtCallout bt_callout: Callouts,
        "A call from translated code into the monitor and back (not an exit).";
    RingNotify ring_notify: IoRings,
        "A guest-to-backend notification that a batch of ring requests is ready.";
    CompletionInterrupt completion_interrupt: IoRings,
        "Delivering a completion event or interrupt for a batch of ring responses to the guest.";
    HostedSwitch hosted_switch: Hosted,
        "The hosted (type-2) monitor's extra round trip to its user-space device model per device exit.";
}
