//! Trap causes: what the `cause` register holds after a trap (docs/isa.md, "Traps").

use std::fmt;

/// Bit 31 of `cause` marks an interrupt; the low bits then hold the source (`irq::*`).
pub const INTERRUPT_BIT: u32 = 1 << 31;

/// A synchronous exception cause.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u32)]
pub enum Exception {
    /// An undefined instruction word, or `csrw` to a read-only counter.
    IllegalInstruction = 0,
    /// A privileged instruction executed in user mode.
    PrivilegedInstruction = 1,
    /// Instruction fetch from an address that is not a multiple of 4.
    MisalignedFetch = 2,
    /// Load from an address not aligned to its width.
    MisalignedLoad = 3,
    /// Store to an address not aligned to its width.
    MisalignedStore = 4,
    /// Page fault on instruction fetch.
    FetchPageFault = 5,
    /// Page fault on a load.
    LoadPageFault = 6,
    /// Page fault on a store.
    StorePageFault = 7,
    /// A physical address outside RAM.
    BusError = 8,
    /// Integer division or remainder by zero.
    DivideByZero = 9,
    /// `syscall`.
    Syscall = 10,
    /// `break`.
    Breakpoint = 11,
    /// `hypercall` in supervisor mode with no hypervisor underneath.
    Hypercall = 12,
}

impl Exception {
    /// Every cause, in code order.
    pub const ALL: [Exception; 13] = [
        Exception::IllegalInstruction,
        Exception::PrivilegedInstruction,
        Exception::MisalignedFetch,
        Exception::MisalignedLoad,
        Exception::MisalignedStore,
        Exception::FetchPageFault,
        Exception::LoadPageFault,
        Exception::StorePageFault,
        Exception::BusError,
        Exception::DivideByZero,
        Exception::Syscall,
        Exception::Breakpoint,
        Exception::Hypercall,
    ];

    /// The value written to `cause`.
    pub const fn code(self) -> u32 {
        self as u32
    }

    /// The cause with this code.
    pub fn from_code(code: u32) -> Option<Exception> {
        Exception::ALL.get(code as usize).copied()
    }

    /// A short lower-case name for traces and reports.
    pub const fn name(self) -> &'static str {
        match self {
            Exception::IllegalInstruction => "illegal-instruction",
            Exception::PrivilegedInstruction => "privileged-instruction",
            Exception::MisalignedFetch => "misaligned-fetch",
            Exception::MisalignedLoad => "misaligned-load",
            Exception::MisalignedStore => "misaligned-store",
            Exception::FetchPageFault => "fetch-page-fault",
            Exception::LoadPageFault => "load-page-fault",
            Exception::StorePageFault => "store-page-fault",
            Exception::BusError => "bus-error",
            Exception::DivideByZero => "divide-by-zero",
            Exception::Syscall => "syscall",
            Exception::Breakpoint => "breakpoint",
            Exception::Hypercall => "hypercall",
        }
    }

    /// True for the three page faults.
    pub const fn is_page_fault(self) -> bool {
        matches!(
            self,
            Exception::FetchPageFault | Exception::LoadPageFault | Exception::StorePageFault
        )
    }

    /// True when `badaddr` holds a faulting address for this cause.
    pub const fn has_address(self) -> bool {
        matches!(
            self,
            Exception::MisalignedFetch
                | Exception::MisalignedLoad
                | Exception::MisalignedStore
                | Exception::FetchPageFault
                | Exception::LoadPageFault
                | Exception::StorePageFault
                | Exception::BusError
        )
    }
}

impl fmt::Display for Exception {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Either kind of trap, as the `cause` register encodes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Cause {
    /// A synchronous exception.
    Exception(Exception),
    /// An interrupt from source `irq::*`.
    Interrupt(u32),
}

impl Cause {
    /// The `cause` register value.
    pub const fn code(self) -> u32 {
        match self {
            Cause::Exception(e) => e.code(),
            Cause::Interrupt(n) => INTERRUPT_BIT | n,
        }
    }

    /// Decodes a `cause` register value.
    pub fn from_code(code: u32) -> Option<Cause> {
        if code & INTERRUPT_BIT != 0 {
            let n = code & !INTERRUPT_BIT;
            (n < crate::csr::irq::COUNT).then_some(Cause::Interrupt(n))
        } else {
            Exception::from_code(code).map(Cause::Exception)
        }
    }
}

impl fmt::Display for Cause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Cause::Exception(e) => e.fmt(f),
            Cause::Interrupt(crate::csr::irq::TIMER) => f.write_str("timer-interrupt"),
            Cause::Interrupt(crate::csr::irq::DEVICE) => f.write_str("device-interrupt"),
            Cause::Interrupt(_) => f.write_str("soft-interrupt"),
        }
    }
}
