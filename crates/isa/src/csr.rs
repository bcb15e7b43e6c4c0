//! Control registers: the privileged state of the processor (docs/isa.md, "Control registers").

use std::fmt;

/// A control register, named by the 16-bit number in `csrr`/`csrw`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u16)]
pub enum Csr {
    /// Processor status: mode, interrupt enable, their saved copies, paging enable.
    Status = 0,
    /// Trap vector: where every trap and interrupt enters supervisor mode.
    Tvec = 1,
    /// Exception pc: the pc saved by the last trap; `sret` returns there.
    Epc = 2,
    /// Cause of the last trap (bit 31 set for interrupts).
    Cause = 3,
    /// Faulting address of the last memory trap, or the instruction word of an
    /// illegal- or privileged-instruction trap.
    BadAddr = 4,
    /// Scratch word for the kernel's trap entry.
    Scratch = 5,
    /// Page-table base: physical address of the root table (the walk ignores the
    /// low 12 bits).
    Ptbr = 6,
    /// Timer compare, low 32 bits. The timer interrupt is pending while
    /// `instret >= timecmp` (64-bit compare).
    TimeCmp = 7,
    /// Timer compare, high 32 bits.
    TimeCmpH = 8,
    /// Interrupt pending bits (`irq::*`). The timer bit is read-only (it reflects
    /// `instret >= timecmp`); a write sets the device and software bits to the
    /// written value, which is how the kernel acknowledges them.
    IPend = 9,
    /// Interrupt enable bits (`irq::*`), one per source.
    IEnable = 10,
    /// Interrupt priority threshold (0..15), the analog of x86's CR8/TPR: an
    /// interrupt is taken only if its priority is greater than this value.
    Prio = 11,
    /// Retired-instruction counter, low 32 bits (read-only).
    InstRet = 12,
    /// Retired-instruction counter, high 32 bits (read-only).
    InstRetH = 13,
    /// Cycle counter, low 32 bits (read-only). Guest time is virtual: it equals `instret`.
    Cycle = 14,
    /// Cycle counter, high 32 bits (read-only).
    CycleH = 15,
}

impl Csr {
    /// Every control register, in number order.
    pub const ALL: [Csr; 16] = [
        Csr::Status,
        Csr::Tvec,
        Csr::Epc,
        Csr::Cause,
        Csr::BadAddr,
        Csr::Scratch,
        Csr::Ptbr,
        Csr::TimeCmp,
        Csr::TimeCmpH,
        Csr::IPend,
        Csr::IEnable,
        Csr::Prio,
        Csr::InstRet,
        Csr::InstRetH,
        Csr::Cycle,
        Csr::CycleH,
    ];

    /// The register with this number, if defined.
    pub fn from_number(n: u32) -> Option<Csr> {
        Csr::ALL.get(n as usize).copied()
    }

    /// The register's number (the immediate of `csrr`/`csrw`).
    pub const fn number(self) -> u16 {
        self as u16
    }

    /// The register's index into a 16-entry array.
    pub const fn index(self) -> usize {
        self as usize
    }

    /// Assembly name (`status`, `tvec`, ...).
    pub const fn name(self) -> &'static str {
        match self {
            Csr::Status => "status",
            Csr::Tvec => "tvec",
            Csr::Epc => "epc",
            Csr::Cause => "cause",
            Csr::BadAddr => "badaddr",
            Csr::Scratch => "scratch",
            Csr::Ptbr => "ptbr",
            Csr::TimeCmp => "timecmp",
            Csr::TimeCmpH => "timecmph",
            Csr::IPend => "ipend",
            Csr::IEnable => "ienable",
            Csr::Prio => "prio",
            Csr::InstRet => "instret",
            Csr::InstRetH => "instreth",
            Csr::Cycle => "cycle",
            Csr::CycleH => "cycleh",
        }
    }

    /// Parses an assembly name.
    pub fn parse(name: &str) -> Option<Csr> {
        Csr::ALL.iter().copied().find(|c| c.name() == name)
    }

    /// True for the counters, which `csrw` may not write (illegal-instruction trap).
    pub const fn is_read_only(self) -> bool {
        matches!(
            self,
            Csr::InstRet | Csr::InstRetH | Csr::Cycle | Csr::CycleH
        )
    }
}

impl fmt::Display for Csr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Bits of the `status` register.
pub mod status {
    /// Current mode: 1 = supervisor, 0 = user.
    pub const MODE: u32 = 1 << 0;
    /// Interrupt enable: interrupts are taken only when set.
    pub const IE: u32 = 1 << 1;
    /// Previous mode, saved by trap entry and restored by `sret`.
    pub const PMODE: u32 = 1 << 2;
    /// Previous interrupt enable, saved by trap entry and restored by `sret`.
    pub const PIE: u32 = 1 << 3;
    /// Paging enable: translate addresses through the tables at `ptbr`.
    pub const PG: u32 = 1 << 4;
    /// The bits that exist; writes to other bits are ignored and they read as 0.
    pub const WRITABLE: u32 = MODE | IE | PMODE | PIE | PG;
    /// The "flags" view that `getf` reads and `setf` writes (docs/isa.md, "Profiles").
    pub const FLAGS: u32 = MODE | IE;
}

/// Interrupt sources: bit numbers in `ipend` and `ienable`, and their priorities.
pub mod irq {
    /// Timer: pending while `instret >= timecmp`.
    pub const TIMER: u32 = 0;
    /// Devices: the block device's completion and console receive.
    pub const DEVICE: u32 = 1;
    /// Software interrupt: set by writing `ipend`.
    pub const SOFT: u32 = 2;
    /// Number of interrupt sources.
    pub const COUNT: u32 = 3;
    /// Mask of the defined bits in `ipend`/`ienable`.
    pub const MASK: u32 = (1 << COUNT) - 1;

    /// The fixed priority of each source: an interrupt is taken only when its
    /// priority is greater than the `prio` register.
    pub const fn priority(irq: u32) -> u32 {
        match irq {
            TIMER => 8,
            DEVICE => 4,
            _ => 2,
        }
    }
}
