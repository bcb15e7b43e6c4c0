//! The system instructions and trap machinery (docs/isa.md, "Privileged
//! instructions", "Control registers", "Traps"), with the exit controls
//! applied in guest mode. The interpreter's fast path handles everything
//! else; translated code calls in here too.

use vmlab_isa::csr::{irq, status};
use vmlab_isa::{Csr, Exception, INTERRUPT_BIT, Instr, Reg, Width, decode};

use crate::bus::{Effect, truncate};
use crate::exit::Exit;
use crate::machine::Machine;
use crate::mmu::Fault;

/// Why an instruction stopped short: a guest exception to raise (cause,
/// badaddr) or an exit to return. Either way it did not retire.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Stop {
    Trap(Exception, u32),
    Exit(Exit),
}

impl From<Fault> for Stop {
    fn from(f: Fault) -> Stop {
        match f {
            Fault::Guest(e) => Stop::Trap(e, 0),
            Fault::Exit(x) => Stop::Exit(x),
        }
    }
}

/// The port an `in`/`out` names: (rs1 + off) & 0xFFFF.
fn port(base: u32, off: i32) -> u16 {
    base.wrapping_add(off as u32) as u16
}

impl Machine {
    /// Retires the instruction at pc: pc += 4, instret += 1.
    pub(crate) fn retire_one(&mut self) {
        self.cpu.pc = self.cpu.pc.wrapping_add(4);
        self.commit(1);
    }

    /// Counts `n` retired instructions at the current privilege level.
    #[inline(always)]
    pub(crate) fn commit(&mut self, n: usize) {
        self.cpu.instret += n as u64;
        self.count_retired(n as u64);
    }

    /// Adds `n` to the retired counter of the current level (instret apart).
    #[inline(always)]
    pub(crate) fn count_retired(&mut self, n: u64) {
        let i = self.retire_at;
        self.counters.retired[(i >> 1) & 1][i & 1] += n;
    }

    /// An exception at pc: an exit if the exception bitmap asks, else the
    /// guest trap entry (epc = pc).
    pub(crate) fn raise(&mut self, e: Exception, badaddr: u32) -> Option<Exit> {
        if self.controls.exception_exits_on(e) {
            return Some(Exit::Exception {
                cause: e,
                addr: badaddr,
            });
        }
        self.counters.traps[e.code() as usize] += 1;
        self.enter_trap(e.code(), badaddr);
        None
    }

    /// Performs a stop: raises its exception or returns its exit.
    pub(crate) fn stop(&mut self, stop: Stop) -> Option<Exit> {
        match stop {
            Stop::Trap(e, a) => self.raise(e, a),
            Stop::Exit(x) => Some(x),
        }
    }

    /// Trap entry at pc. A trap consumes one unit of the run's budget, so a
    /// guest trapping in a loop without retiring anything still stops.
    pub(crate) fn enter_trap(&mut self, cause: u32, badaddr: u32) {
        let pc = self.cpu.pc;
        self.cpu.trap_entry(cause, badaddr, pc);
        self.budget_end = self.budget_end.saturating_sub(1);
        self.status_changed();
    }

    /// Delivers interrupt `source` (trap entry with epc = the next
    /// unexecuted instruction, which is pc).
    pub(crate) fn take_interrupt(&mut self, source: u32) {
        self.counters.interrupts[source.min(irq::COUNT - 1) as usize] += 1;
        self.enter_trap(INTERRUPT_BIT | source, 0);
    }

    /// After any change to `status`, `ptbr` or the memory mode: refresh the
    /// cached privilege shift and the MMU's view, and recheck interrupts.
    pub(crate) fn status_changed(&mut self) {
        self.retire_at = 2 * usize::from(self.controls.guest_mode) + usize::from(!self.cpu.user());
        self.need_shift = if self.cpu.user() { 3 } else { 0 };
        let pg = self.cpu.status() & status::PG != 0;
        self.mmu.set_context(self.cpu.csr(Csr::Ptbr), pg);
        self.check_at = 0;
    }

    /// A control register as the running code reads it, `at` instructions
    /// into the current block (counters and the timer bit are exact). In
    /// guest mode host-owned bits read from the shadow.
    pub(crate) fn read_csr(&self, csr: Csr, at: u64) -> u32 {
        let now = self.cpu.instret + at;
        let raw = match csr {
            Csr::InstRet | Csr::Cycle => now as u32,
            Csr::InstRetH | Csr::CycleH => (now >> 32) as u32,
            Csr::IPend => self.cpu.pending(self.dev_line, now),
            c => self.cpu.csr(c),
        };
        if self.controls.guest_mode {
            let m = self.controls.csr_read_mask[csr.index()];
            (raw & !m) | (self.controls.read_shadow[csr.index()] & m)
        } else {
            raw
        }
    }

    /// A `csrw` that passed its checks: in guest mode the host-owned bits
    /// keep their value; each register keeps only the bits it has.
    pub(crate) fn write_csr(&mut self, csr: Csr, value: u32) {
        let i = csr.index();
        let value = if self.controls.guest_mode {
            let m = self.controls.csr_write_mask[i];
            (value & !m) | (self.cpu.csrs[i] & m)
        } else {
            value
        };
        self.cpu.csrs[i] = match csr {
            Csr::Status => value & status::WRITABLE,
            // "a write sets the device and software bits to the written value"
            Csr::IPend => value & ((1 << irq::DEVICE) | (1 << irq::SOFT)),
            Csr::IEnable => value & irq::MASK,
            Csr::Prio => value & 0xF,
            c if c.is_read_only() => return,
            _ => value,
        };
        if matches!(csr, Csr::Status | Csr::Ptbr) {
            self.status_changed();
        }
    }

    /// Guest-mode write controls for a `status`/csr write of `value`: exit if
    /// it changes an owned bit relative to the read shadow.
    fn owned_change(&self, csr: Csr, value: u32) -> bool {
        let i = csr.index();
        (value ^ self.controls.read_shadow[i]) & self.controls.csr_write_mask[i] != 0
    }

    /// The exit controls of guest-supervisor level for `instr`, if one says exit.
    fn guest_exit(&mut self, instr: Instr) -> Option<Exit> {
        let c = &self.controls;
        if c.privileged_exits
            && instr.is_sensitive()
            && instr != Instr::Hypercall
            && !c.frame_csr_exempt(instr)
        {
            return Some(match instr {
                Instr::In { .. } | Instr::Out { .. } => self.port_exit(instr)?,
                _ => Exit::Privileged { instr },
            });
        }
        let exit = match instr {
            Instr::Csrw { csr, rs1 } if !csr.is_read_only() => {
                let v = self.cpu.get(rs1.num());
                self.owned_change(csr, v)
                    || (csr == Csr::Ptbr && c.ptbr_exits)
                    || (csr == Csr::Prio && c.prio_threshold.is_some_and(|t| v < t))
            }
            Instr::SetFlags { rs1 } => {
                let s = self.cpu.status();
                let v = (s & !status::IE) | (self.cpu.get(rs1.num()) & status::IE);
                self.owned_change(Csr::Status, v)
            }
            Instr::TlbFlush | Instr::TlbFlushPage { .. } => c.tlbflush_exits,
            Instr::Halt => c.halt_exits,
            Instr::Wfi => c.wfi_exits,
            _ => false,
        };
        exit.then_some(Exit::Privileged { instr })
    }

    /// The port exit for an `in`/`out` (remembering the destination of an `in`).
    fn port_exit(&mut self, instr: Instr) -> Option<Exit> {
        match instr {
            Instr::In {
                width,
                rd,
                rs1,
                off,
            } => {
                let port = port(self.cpu.get(rs1.num()), off);
                self.pending_in = Some((rd, width));
                Some(Exit::PortIn { port, width, rd })
            }
            Instr::Out {
                width,
                rs2,
                rs1,
                off,
            } => Some(Exit::PortOut {
                port: port(self.cpu.get(rs1.num()), off),
                width,
                value: truncate(self.cpu.get(rs2.num()), width),
            }),
            _ => None,
        }
    }

    /// `csrr` and `getf`, which may sit mid-block: `at` instructions into it.
    pub(crate) fn read_op(&mut self, word: u32, at: u64) -> Result<(), Stop> {
        let instr = decode(word);
        let user = self.cpu.user();
        if user && instr.is_privileged(self.config.profile) {
            return Err(Stop::Trap(Exception::PrivilegedInstruction, word));
        }
        if self.controls.guest_mode
            && !user
            && self.controls.privileged_exits
            && !self.controls.frame_csr_exempt(instr)
        {
            return Err(Stop::Exit(Exit::Privileged { instr }));
        }
        match instr {
            Instr::Csrr { rd, csr } => {
                let v = self.read_csr(csr, at);
                self.cpu.set_reg(rd, v);
            }
            // getf: status & (MODE | IE). A legacy user-mode getf sees MODE = 0;
            // in guest mode the guest kernel's copy says MODE = 1.
            Instr::GetFlags { rd } => {
                let v = self.read_csr(Csr::Status, at) & status::FLAGS;
                self.cpu.set_reg(rd, v);
            }
            _ => {}
        }
        Ok(())
    }

    /// Executes the system instruction `word` at pc: privilege check, the
    /// guest-mode exit controls, then its effect. Returns an exit for the host.
    pub(crate) fn exec_system(&mut self, word: u32) -> Option<Exit> {
        self.check_at = 0;
        let instr = decode(word);
        let user = self.cpu.user();
        // Privileged instructions in user mode raise privileged-instruction
        // (getf/setf only in the strict profile).
        if user && instr.is_privileged(self.config.profile) {
            return self.raise(Exception::PrivilegedInstruction, word);
        }
        if self.controls.guest_mode && !user {
            if let Some(exit) = self.guest_exit(instr) {
                return Some(exit);
            }
        }
        let r = |m: &Machine, reg: Reg| m.cpu.get(reg.num());
        match instr {
            Instr::Illegal(_) => self.raise(Exception::IllegalInstruction, word),
            Instr::Syscall => self.raise(Exception::Syscall, 0),
            Instr::Break => self.raise(Exception::Breakpoint, 0),
            Instr::Hypercall if self.controls.guest_mode => Some(Exit::Hypercall),
            Instr::Hypercall => self.raise(Exception::Hypercall, 0),
            Instr::Csrr { .. } | Instr::GetFlags { .. } => match self.read_op(word, 0) {
                Ok(()) => {
                    self.retire_one();
                    None
                }
                Err(stop) => self.stop(stop),
            },
            Instr::Csrw { csr, rs1 } => {
                if csr.is_read_only() {
                    return self.raise(Exception::IllegalInstruction, word);
                }
                let v = r(self, rs1);
                self.write_csr(csr, v);
                self.retire_one();
                None
            }
            Instr::SetFlags { rs1 } => {
                // Legacy user mode: does nothing (like POPF dropping IF).
                if !user {
                    let s = self.cpu.status();
                    let v = (s & !status::IE) | (r(self, rs1) & status::IE);
                    self.write_csr(Csr::Status, v);
                }
                self.retire_one();
                None
            }
            Instr::Sret => {
                self.cpu.sret();
                self.commit(1);
                self.status_changed();
                None
            }
            Instr::TlbFlush => {
                self.mmu.tlb.flush_space();
                self.retire_one();
                None
            }
            Instr::TlbFlushPage { rs1 } => {
                let va = r(self, rs1);
                self.mmu.tlb.flush_page(va);
                self.retire_one();
                None
            }
            Instr::Wfi => self.wfi(),
            Instr::Halt => Some(Exit::Halt),
            Instr::In {
                width,
                rd,
                rs1,
                off,
            } => {
                let p = port(r(self, rs1), off);
                if self.controls.port_exits.get(p) {
                    return self.port_exit(instr);
                }
                let v = self.bus.read(p, width);
                self.dev_line = self.bus.irq_pending();
                self.cpu.set_reg(rd, v);
                self.retire_one();
                None
            }
            Instr::Out {
                width,
                rs2,
                rs1,
                off,
            } => {
                let p = port(r(self, rs1), off);
                if self.controls.port_exits.get(p) {
                    return self.port_exit(instr);
                }
                let effect = self.bus.write(p, width, r(self, rs2));
                self.dev_line = self.bus.irq_pending();
                self.retire_one();
                match effect {
                    Effect::PowerOff(code) => Some(Exit::Shutdown { code }),
                    Effect::None => None,
                }
            }
            // Not system instructions: the fast path runs them; translated
            // code never sends them here.
            _ => self.raise(Exception::IllegalInstruction, word),
        }
    }

    /// `wfi`: retire at once if an interrupt wants in (ignoring IE); else if
    /// the timer can fire, skip idle time to the deadline (guest time is
    /// virtual) and retire; else nothing can ever wake it: `Exit::Idle`.
    fn wfi(&mut self) -> Option<Exit> {
        if self.cpu.wanting(self.dev_line, self.cpu.instret).is_some() {
            self.retire_one();
            return None;
        }
        let timer_on = self.cpu.csr(Csr::IEnable) & (1 << irq::TIMER) != 0
            && irq::priority(irq::TIMER) > self.cpu.csr(Csr::Prio);
        let deadline = self.cpu.timecmp();
        if timer_on && deadline > self.cpu.instret {
            // Skipped time is not work: it does not consume the budget.
            let skipped = deadline - self.cpu.instret;
            self.cpu.instret = deadline;
            self.budget_end = self.budget_end.saturating_add(skipped);
            self.retire_one();
            return None;
        }
        Some(Exit::Idle)
    }

    /// A load's slow path: alignment, translation (walks, faults, exits), RAM.
    pub(crate) fn load_slow(&mut self, va: u32, width: Width) -> Result<u32, Stop> {
        if va & (width.bytes() - 1) != 0 {
            return Err(Stop::Trap(Exception::MisalignedLoad, va));
        }
        let user = self.cpu.user();
        let hpa = self
            .mmu
            .translate(va, vmlab_isa::Access::Load, user)
            .map_err(|f| with_addr(f, va))?;
        self.mmu
            .ram
            .load(hpa, width)
            .ok_or(Stop::Trap(Exception::BusError, va))
    }

    /// A store's slow path. `pre` is the host-physical address the fast path
    /// already found (frame watched), if any. Returns true when the store
    /// invalidated cached code (the current block must end after it).
    pub(crate) fn store_slow(
        &mut self,
        va: u32,
        width: Width,
        value: u32,
        pre: Option<u32>,
    ) -> Result<bool, Stop> {
        if va & (width.bytes() - 1) != 0 {
            return Err(Stop::Trap(Exception::MisalignedStore, va));
        }
        let hpa = match pre {
            Some(h) => h,
            None => {
                let user = self.cpu.user();
                self.mmu
                    .translate(va, vmlab_isa::Access::Store, user)
                    .map_err(|f| with_addr(f, va))?
            }
        };
        if self.mmu.frames.is_protected(hpa) {
            return Err(Stop::Exit(Exit::ProtectedWrite {
                gva: crate::GuestVirt(va),
                hpa: crate::HostPhys(hpa),
                width,
                value: truncate(value, width),
            }));
        }
        if !self.mmu.ram.store(hpa, width, value) {
            return Err(Stop::Trap(Exception::BusError, va));
        }
        let invalidated = self.mmu.frames.written(hpa, width.bytes());
        if invalidated {
            self.counters.code_invalidations += 1;
        }
        Ok(invalidated)
    }
}

/// A translation fault as a stop, with badaddr = the faulting virtual address.
pub(crate) fn with_addr(f: Fault, va: u32) -> Stop {
    match f {
        Fault::Guest(e) => Stop::Trap(e, va),
        Fault::Exit(x) => Stop::Exit(x),
    }
}
