//! The processor state: general registers, pc, control registers, the
//! retired-instruction counter, and the interrupt logic (docs/isa.md,
//! "Traps", "Interrupts").

use vmlab_isa::csr::{irq, status};
use vmlab_isa::{Csr, Reg};

/// Writes to `r0` land in this slot of the register file, so `r0` reads 0
/// without a branch per write.
pub(crate) const SINK: u8 = 16;

/// The privilege mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Mode {
    /// User mode (`status.MODE` = 0).
    User,
    /// Supervisor mode (`status.MODE` = 1); guest-supervisor in guest mode.
    Supervisor,
}

/// The architectural state of one CPU: what a monitor saves and restores when
/// it switches between virtual CPUs on one machine.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CpuState {
    /// `r0`..`r15` (`regs[0]` is always 0).
    pub regs: [u32; 16],
    /// The program counter.
    pub pc: u32,
    /// Control registers by number. `ipend` holds only the software-set
    /// device and soft bits; the counters' slots are unused (see `instret`).
    pub csrs: [u32; 16],
    /// Retired instructions (`instret`, and `cycle`: guest time is virtual).
    pub instret: u64,
}

/// The CPU: registers (with the `r0` sink), pc, control registers, instret.
#[derive(Clone, Debug)]
pub(crate) struct Cpu {
    /// `r0`..`r15`, then the sink at index 16. 256 entries so that any
    /// `u8` index is in bounds: no mask and no check on the hot path.
    pub regs: [u32; 256],
    pub pc: u32,
    pub csrs: [u32; 16],
    pub instret: u64,
}

impl Cpu {
    /// Reset: supervisor mode, interrupts off, everything else 0.
    pub(crate) fn new() -> Cpu {
        let mut csrs = [0; 16];
        csrs[Csr::Status.index()] = status::MODE;
        Cpu {
            regs: [0; 256],
            pc: 0,
            csrs,
            instret: 0,
        }
    }

    #[inline(always)]
    pub(crate) fn get(&self, r: u8) -> u32 {
        self.regs[usize::from(r)]
    }

    #[inline(always)]
    pub(crate) fn set(&mut self, r: u8, v: u32) {
        self.regs[usize::from(r)] = v;
    }

    /// Writes a general register named by the ISA (`r0` ignores writes).
    pub(crate) fn set_reg(&mut self, r: Reg, v: u32) {
        if r.num() != 0 {
            self.regs[r.index()] = v;
        }
    }

    #[inline(always)]
    pub(crate) fn status(&self) -> u32 {
        self.csrs[Csr::Status.index()]
    }

    pub(crate) fn csr(&self, c: Csr) -> u32 {
        self.csrs[c.index()]
    }

    /// True in user mode.
    #[inline(always)]
    pub(crate) fn user(&self) -> bool {
        self.status() & status::MODE == 0
    }

    /// The 64-bit timer compare value.
    pub(crate) fn timecmp(&self) -> u64 {
        (u64::from(self.csr(Csr::TimeCmpH)) << 32) | u64::from(self.csr(Csr::TimeCmp))
    }

    /// The `ipend` bits at instret `now`: TIMER = now >= timecmp; DEVICE =
    /// the software bit OR the bus's line; SOFT = the software bit.
    pub(crate) fn pending(&self, device_line: bool, now: u64) -> u32 {
        let mut p = self.csr(Csr::IPend) & ((1 << irq::DEVICE) | (1 << irq::SOFT));
        if device_line {
            p |= 1 << irq::DEVICE;
        }
        if now >= self.timecmp() {
            p |= 1 << irq::TIMER;
        }
        p
    }

    /// The highest-priority interrupt that is pending, enabled in `ienable`
    /// and above `prio` (ignoring `status.IE`): timer > device > soft.
    pub(crate) fn wanting(&self, device_line: bool, now: u64) -> Option<u32> {
        let p = self.pending(device_line, now) & self.csr(Csr::IEnable);
        let prio = self.csr(Csr::Prio);
        [irq::TIMER, irq::DEVICE, irq::SOFT]
            .into_iter()
            .find(|&i| p & (1 << i) != 0 && irq::priority(i) > prio)
    }

    /// Trap entry (docs/isa.md, "Traps"): epc := `epc`; cause := `cause`;
    /// badaddr := `badaddr`; PMODE := MODE; PIE := IE; MODE := supervisor;
    /// IE := 0; pc := tvec.
    pub(crate) fn trap_entry(&mut self, cause: u32, badaddr: u32, epc: u32) {
        let s = self.status();
        let mut n = s & !(status::PMODE | status::PIE | status::IE);
        if s & status::MODE != 0 {
            n |= status::PMODE;
        }
        if s & status::IE != 0 {
            n |= status::PIE;
        }
        n |= status::MODE;
        self.csrs[Csr::Status.index()] = n;
        self.csrs[Csr::Epc.index()] = epc;
        self.csrs[Csr::Cause.index()] = cause;
        self.csrs[Csr::BadAddr.index()] = badaddr;
        self.pc = self.csr(Csr::Tvec);
    }

    /// `sret`: MODE := PMODE; IE := PIE; PMODE := 0; PIE := 1; pc := epc.
    pub(crate) fn sret(&mut self) {
        let s = self.status();
        let mut n = s & !(status::MODE | status::IE | status::PMODE | status::PIE);
        if s & status::PMODE != 0 {
            n |= status::MODE;
        }
        if s & status::PIE != 0 {
            n |= status::IE;
        }
        n |= status::PIE;
        self.csrs[Csr::Status.index()] = n;
        self.pc = self.csr(Csr::Epc);
    }

    pub(crate) fn save(&self) -> CpuState {
        let mut regs = [0; 16];
        regs.copy_from_slice(&self.regs[..16]);
        CpuState {
            regs,
            pc: self.pc,
            csrs: self.csrs,
            instret: self.instret,
        }
    }

    pub(crate) fn restore(&mut self, s: &CpuState) {
        self.regs = [0; 256];
        self.regs[..16].copy_from_slice(&s.regs);
        self.regs[0] = 0;
        self.pc = s.pc;
        self.csrs = s.csrs;
        self.csrs[Csr::Status.index()] &= status::WRITABLE;
        self.instret = s.instret;
    }
}
