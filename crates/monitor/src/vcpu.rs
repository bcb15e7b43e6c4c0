//! The virtual CPU of classic trap-and-emulate: the control registers the
//! deprivileged kernel believes it has.
//!
//! In trap mode the real CPU always runs in user mode, so the kernel's
//! `status`, `tvec`, `epc`, ... live here. The monitor copies into the real
//! CPU only what changes how the real CPU runs the guest: the interrupt
//! enable (so the real CPU stops for an interrupt exactly when the virtual
//! one would take it), the timer and interrupt masks, and `ptbr`/`PG` (so
//! the machine's software walker reads the guest's own tables).

use vmlab_isa::csr::{irq, status};
use vmlab_isa::{Cause, Csr};
use vmlab_machine::Machine;

/// What a virtual control-register write changed, for the memory virtualization.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CsrEffect {
    /// The guest's address space changed (`ptbr`, or `status.PG`).
    pub space_changed: bool,
    /// The virtual privilege changed (kernel <-> user view of the shadow tables).
    pub mode_changed: bool,
}

/// The virtual CPU: every control register as the guest kernel sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Vcpu {
    /// Control registers by number; `status` holds the *virtual* MODE and IE.
    /// The counters' slots are unused (the real `instret` is the guest's time).
    pub csrs: [u32; 16],
}

impl Default for Vcpu {
    /// Reset: supervisor mode, interrupts off (docs/isa.md, "Reset state").
    fn default() -> Vcpu {
        let mut csrs = [0; 16];
        csrs[Csr::Status.index()] = status::MODE;
        Vcpu { csrs }
    }
}

impl Vcpu {
    /// The virtual `status`.
    pub fn status(&self) -> u32 {
        self.csrs[Csr::Status.index()]
    }

    /// True when the guest believes it is in supervisor mode.
    pub fn supervisor(&self) -> bool {
        self.status() & status::MODE != 0
    }

    /// True when the guest's paging is on.
    pub fn paging(&self) -> bool {
        self.status() & status::PG != 0
    }

    /// The guest's page-table base.
    pub fn ptbr(&self) -> u32 {
        self.csrs[Csr::Ptbr.index()]
    }

    /// `csrr`: the value the guest reads. Counters and `ipend` come from the
    /// real CPU, whose timer and interrupt state mirror the virtual ones.
    pub fn read(&self, csr: Csr, m: &Machine) -> u32 {
        match csr {
            Csr::InstRet | Csr::InstRetH | Csr::Cycle | Csr::CycleH | Csr::IPend => m.csr(csr),
            c => self.csrs[c.index()],
        }
    }

    /// `csrw`: writes the virtual register with the architectural masks
    /// (docs/isa.md 5.1) and mirrors what the real CPU needs.
    pub fn write(&mut self, csr: Csr, value: u32, m: &mut Machine) -> CsrEffect {
        let before = (self.status(), self.ptbr());
        if csr == Csr::IPend {
            // Pending bits are the real CPU's own (the real CPU never takes a
            // trap in trap mode, so its `ipend` is the guest's).
            m.set_csr(Csr::IPend, value);
            return CsrEffect::default();
        }
        let v = match csr {
            Csr::Status => value & status::WRITABLE,
            Csr::IEnable => value & irq::MASK,
            Csr::Prio => value & 0xF,
            _ => value,
        };
        self.csrs[csr.index()] = v;
        self.sync(m);
        self.effect(before)
    }

    /// `setf`: the virtual IE from bit 1 of `value`.
    pub fn set_ie(&mut self, value: u32, m: &mut Machine) {
        let s = &mut self.csrs[Csr::Status.index()];
        *s = (*s & !status::IE) | (value & status::IE);
        self.sync(m);
    }

    /// `sret` on the virtual CPU (docs/isa.md 6.4); returns the new pc.
    pub fn sret(&mut self, m: &mut Machine) -> (u32, CsrEffect) {
        let before = (self.status(), self.ptbr());
        let s = self.status();
        let mut n = s & status::PG;
        if s & status::PMODE != 0 {
            n |= status::MODE;
        }
        if s & status::PIE != 0 {
            n |= status::IE;
        }
        n |= status::PIE;
        self.csrs[Csr::Status.index()] = n;
        self.sync(m);
        (self.csrs[Csr::Epc.index()], self.effect(before))
    }

    /// Virtual trap entry (docs/isa.md 6.2): what the real CPU would do on a
    /// trap in supervisor mode, done in software. Returns the new pc (`tvec`).
    pub fn trap_entry(
        &mut self,
        cause: Cause,
        pc: u32,
        badaddr: u32,
        m: &mut Machine,
    ) -> (u32, CsrEffect) {
        let before = (self.status(), self.ptbr());
        let s = self.status();
        let mut n = (s & status::PG) | status::MODE;
        if s & status::MODE != 0 {
            n |= status::PMODE;
        }
        if s & status::IE != 0 {
            n |= status::PIE;
        }
        self.csrs[Csr::Status.index()] = n;
        self.csrs[Csr::Epc.index()] = pc;
        self.csrs[Csr::Cause.index()] = cause.code();
        self.csrs[Csr::BadAddr.index()] = badaddr;
        self.sync(m);
        (self.csrs[Csr::Tvec.index()], self.effect(before))
    }

    fn effect(&self, (status_before, ptbr_before): (u32, u32)) -> CsrEffect {
        let now = self.status();
        CsrEffect {
            space_changed: (now ^ status_before) & status::PG != 0
                || (now & status::PG != 0 && self.ptbr() != ptbr_before),
            mode_changed: (now ^ status_before) & status::MODE != 0,
        }
    }

    /// Copies into the real CPU what decides how it runs the guest. The real
    /// MODE stays user: that is the deprivileging.
    pub fn sync(&self, m: &mut Machine) {
        let real = self.status() & (status::IE | status::PG | status::PMODE | status::PIE);
        if m.csr(Csr::Status) != real {
            m.set_csr(Csr::Status, real);
        }
        for c in [
            Csr::Ptbr,
            Csr::TimeCmp,
            Csr::TimeCmpH,
            Csr::IEnable,
            Csr::Prio,
        ] {
            if m.csr(c) != self.csrs[c.index()] {
                m.set_csr(c, self.csrs[c.index()]);
            }
        }
    }
}
