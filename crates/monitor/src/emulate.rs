//! Emulating one privileged or sensitive instruction on the virtual CPU
//! (trap mode) or on the guest copy of the control registers (the few
//! instructions guest mode sends to the monitor), and emulating devices.

use vmlab_isa::csr::{irq, status};
use vmlab_isa::{Cause, Csr, Exception, Instr, Reg, Width};
use vmlab_machine::bus::{Effect, truncate};

use crate::cost::Event;
use crate::error::MonitorError;
use crate::handler::{Action, Outcome, VmCtx};

impl VmCtx<'_> {
    /// Emulates `instr` (the instruction at pc, `word` its encoding) as the
    /// guest's supervisor would have executed it, and retires it.
    pub fn emulate(&mut self, instr: Instr, word: u32) -> Result<Action, MonitorError> {
        let pc = self.m.pc();
        match instr {
            Instr::In {
                width,
                rd,
                rs1,
                off,
            } => {
                let port = self.m.reg(rs1).wrapping_add(off as u32) as u16;
                return self.port_in(port, width, rd);
            }
            Instr::Out {
                width,
                rs2,
                rs1,
                off,
            } => {
                let port = self.m.reg(rs1).wrapping_add(off as u32) as u16;
                let value = truncate(self.m.reg(rs2), width);
                return self.port_out(port, width, value);
            }
            _ => {}
        }
        self.charge(Event::MonitorEmulate);
        self.vm.stats.emulated_instructions += 1;
        match instr {
            Instr::Csrr { rd, csr } => {
                let v = self.read_csr(csr);
                self.m.set_reg(rd, v);
                self.m.retire_emulated();
                self.did(|| format!("emulated csrr {} -> {v:#x}", csr.name()));
            }
            Instr::Csrw { csr, .. } if csr.is_read_only() => {
                // docs/isa.md 6.3, step 4: csrw to a counter is illegal.
                self.reflect(Cause::Exception(Exception::IllegalInstruction), word)?;
            }
            Instr::Csrw { csr, rs1 } => {
                let v = self.m.reg(rs1);
                self.m.retire_emulated();
                self.write_csr(csr, v)?;
                self.did(|| format!("emulated csrw {} <- {v:#x}", csr.name()));
            }
            Instr::Sret => {
                let (epc, effect) = self.vm.vcpu.sret(self.m);
                self.m.retire_emulated();
                self.m.set_pc(epc);
                self.follow(effect)?;
                let user = !self.vm.vcpu.supervisor();
                self.did(|| {
                    format!(
                        "emulated sret to {epc:#x} ({})",
                        if user { "user" } else { "supervisor" }
                    )
                });
            }
            Instr::GetFlags { rd } => {
                let v = self.read_csr(Csr::Status) & status::FLAGS;
                self.m.set_reg(rd, v);
                self.m.retire_emulated();
                self.did(|| format!("emulated getf -> {v:#x}"));
            }
            Instr::SetFlags { rs1 } => {
                let v = self.m.reg(rs1);
                if self.deprivileged() {
                    self.vm.vcpu.set_ie(v, self.m);
                } else {
                    let s = self.m.csr(Csr::Status);
                    self.m
                        .set_csr(Csr::Status, (s & !status::IE) | (v & status::IE));
                }
                self.m.retire_emulated();
                self.did(|| format!("emulated setf (IE = {})", (v & status::IE) >> 1));
            }
            Instr::TlbFlush | Instr::TlbFlushPage { .. } => {
                // The shadow tables are kept coherent by the page-table write
                // traps; the flush drops what the TLB cached from them.
                self.m.flush_tlb();
                self.m.retire_emulated();
                self.did(|| "emulated tlbflush: flushed the TLB".into());
            }
            Instr::Wfi => return self.wfi(),
            Instr::Halt => {
                self.did(|| "guest halted".into());
                return Ok(Action::Stop(Outcome::Halted));
            }
            Instr::Hypercall => {
                // A PV_IO kernel's ring_notify; otherwise, with no hypervisor
                // ABI, the kernel's own handler gets the hypercall exception.
                return self.hypercall_full_virt();
            }
            other => {
                // Not privileged: cannot trap as privileged. Reflect what the
                // CPU reported rather than trust a decoding mismatch.
                self.did(|| format!("unexpected privileged trap on {other:?} at {pc:#x}"));
                self.reflect(Cause::Exception(Exception::PrivilegedInstruction), word)?;
            }
        }
        Ok(Action::Resume)
    }

    /// Emulates a port read into `rd` and retires the `in`.
    pub fn port_in(&mut self, port: u16, width: Width, rd: Reg) -> Result<Action, MonitorError> {
        let v = self.device_read(port, width)?;
        self.m.set_reg(rd, v);
        self.m.retire_emulated();
        self.vm.stats.device_emulated += 1;
        self.charge(Event::DeviceEmulation);
        self.did(|| format!("emulated in {port:#06x} -> {v:#x}"));
        Ok(Action::Resume)
    }

    /// Emulates a port write and retires the `out`.
    pub fn port_out(
        &mut self,
        port: u16,
        width: Width,
        value: u32,
    ) -> Result<Action, MonitorError> {
        let effect = self.device_write(port, width, value)?;
        self.m.retire_emulated();
        self.vm.stats.device_emulated += 1;
        self.charge(Event::DeviceEmulation);
        self.did(|| format!("emulated out {port:#06x} <- {value:#x}"));
        match effect {
            Effect::PowerOff(code) => Ok(Action::Stop(Outcome::Shutdown { code })),
            Effect::None => Ok(Action::Resume),
        }
    }

    /// `wfi` (docs/isa.md 7): retires at once if an interrupt is pending,
    /// enabled and above `prio`; else skips virtual time to the timer
    /// deadline; else the guest waits forever.
    pub fn wfi(&mut self) -> Result<Action, MonitorError> {
        // In trap mode the real timer and masks mirror the virtual ones.
        let pend = self.m.csr(Csr::IPend);
        let enabled = self.m.csr(Csr::IEnable);
        let prio = self.m.csr(Csr::Prio);
        let wakes =
            (0..irq::COUNT).any(|s| pend & enabled & (1 << s) != 0 && irq::priority(s) > prio);
        if !wakes {
            if enabled & (1 << irq::TIMER) == 0 || irq::priority(irq::TIMER) <= prio {
                self.did(|| "wfi with nothing to wake it: idle".into());
                return Ok(Action::Stop(Outcome::Idle));
            }
            let deadline =
                u64::from(self.m.csr(Csr::TimeCmpH)) << 32 | u64::from(self.m.csr(Csr::TimeCmp));
            if deadline > self.m.instret() {
                self.m.set_csr(Csr::InstRet, deadline as u32);
                self.m.set_csr(Csr::InstRetH, (deadline >> 32) as u32);
            }
        }
        self.m.retire_emulated();
        self.did(|| "emulated wfi: skipped to the timer deadline".into());
        Ok(Action::Resume)
    }
}
