//! Why `run` returned: one enum for every engine, in the spirit of
//! kvm-ioctls' `VcpuExit`, so a monitor is one readable `match` (STYLE.md 4).

use vmlab_isa::{Access, Exception, Instr, Reg, Width};

use crate::addr::{GuestPhys, GuestVirt, HostPhys};

/// Why the CPU stopped and handed control to the host.
///
/// For every exit caused by an instruction, `pc` is *at* that instruction and
/// it has not retired: the host completes it ([`complete_in`], [`retire_emulated`])
/// or leaves it to run again.
///
/// [`complete_in`]: crate::Machine::complete_in
/// [`retire_emulated`]: crate::Machine::retire_emulated
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Exit {
    /// `halt` executed (pc at the `halt`).
    Halt,
    /// `wfi` with nothing that could ever wake it (pc at the `wfi`).
    Idle,
    /// A port read the port-exit bitmap sends to the host; finish it with
    /// [`complete_in`](crate::Machine::complete_in).
    PortIn {
        /// The port.
        port: u16,
        /// The access width.
        width: Width,
        /// The destination register.
        rd: Reg,
    },
    /// A port write the port-exit bitmap sends to the host; finish it with
    /// [`retire_emulated`](crate::Machine::retire_emulated).
    PortOut {
        /// The port.
        port: u16,
        /// The access width.
        width: Width,
        /// The value written (truncated to the width).
        value: u32,
    },
    /// A sensitive or privileged instruction the controls send to the host
    /// (the control register involved is `instr.control_register()`).
    Privileged {
        /// The instruction.
        instr: Instr,
    },
    /// A guest exception the exception bitmap sends to the host; no guest
    /// trap entry was done.
    Exception {
        /// The cause.
        cause: Exception,
        /// What `badaddr` would have received.
        addr: u32,
    },
    /// Shadow paging: the shadow table has no (or an insufficient) entry.
    PageFault {
        /// The faulting guest-virtual address.
        gva: GuestVirt,
        /// The access.
        access: Access,
        /// True when the guest was in user mode.
        user: bool,
    },
    /// Nested paging: the nested table cannot translate a guest-physical address.
    NestedFault {
        /// The guest-virtual address being accessed.
        gva: GuestVirt,
        /// The guest-physical address the nested walk failed on.
        gpa: GuestPhys,
        /// The access the nested walk checked.
        access: Access,
    },
    /// A guest store to a write-protected host page; it was not performed.
    ProtectedWrite {
        /// The guest-virtual address of the store.
        gva: GuestVirt,
        /// The host-physical address it would have written.
        hpa: HostPhys,
        /// The store width.
        width: Width,
        /// The value (truncated to the width).
        value: u32,
    },
    /// `hypercall` in guest mode.
    Hypercall,
    /// Interrupt-window exiting: the guest can take an interrupt now.
    InterruptWindow,
    /// Interrupt exiting: this interrupt would have been delivered; inject it
    /// with [`inject`](crate::Machine::inject).
    Interrupt {
        /// The source (`irq::*`).
        irq: u32,
    },
    /// The run's instruction budget is spent.
    BudgetExhausted,
    /// The guest powered the machine off (the `out` retired).
    Shutdown {
        /// The exit code written to the power device.
        code: u32,
    },
    /// Reserved for translated code: a call back into the monitor (never a VM exit).
    Callout {
        /// The translator's callout number.
        id: u32,
    },
}

impl Exit {
    /// Short names, indexed by [`Exit::index`].
    pub const REASONS: [&'static str; 15] = [
        "halt",
        "idle",
        "port-in",
        "port-out",
        "privileged",
        "exception",
        "page-fault",
        "nested-fault",
        "protected-write",
        "hypercall",
        "interrupt-window",
        "interrupt",
        "budget",
        "shutdown",
        "callout",
    ];

    /// A small number per variant, for counting by reason.
    pub const fn index(&self) -> usize {
        match self {
            Exit::Halt => 0,
            Exit::Idle => 1,
            Exit::PortIn { .. } => 2,
            Exit::PortOut { .. } => 3,
            Exit::Privileged { .. } => 4,
            Exit::Exception { .. } => 5,
            Exit::PageFault { .. } => 6,
            Exit::NestedFault { .. } => 7,
            Exit::ProtectedWrite { .. } => 8,
            Exit::Hypercall => 9,
            Exit::InterruptWindow => 10,
            Exit::Interrupt { .. } => 11,
            Exit::BudgetExhausted => 12,
            Exit::Shutdown { .. } => 13,
            Exit::Callout { .. } => 14,
        }
    }

    /// A short name for counters and reports (`"port-in"`, `"hypercall"`, ...).
    pub const fn reason(&self) -> &'static str {
        Exit::REASONS[self.index()]
    }
}
