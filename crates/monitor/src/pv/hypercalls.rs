//! The hypercall dispatcher (docs/hypercalls.md section 6): the pv
//! kernel's hypercalls, the `PV_IO` kernel's `ring_notify` under trap or
//! hw, their accounting and trace notes, and `log_write`.

use std::collections::HashSet;

use vmlab_isa::abi::{self, Hypercall};
use vmlab_isa::csr::{irq, status};
use vmlab_isa::{Cause, Csr, Exception, Reg};
use vmlab_machine::{HostPhys, Machine};

use crate::cost::Event;
use crate::error::MonitorError;
use crate::handler::{Action, Outcome, VmCtx};

impl VmCtx<'_> {
    /// A hypercall from a kernel that is not pv (a `PV_IO` kernel under
    /// trap or hw): `ring_notify` when the VM has rings, `E_NOSYS` for any
    /// other number; with emulated I/O, the bare machine's `hypercall`
    /// exception, reflected to the kernel.
    pub fn hypercall_full_virt(&mut self) -> Result<Action, MonitorError> {
        if self.vm.io.rings.is_none() {
            self.reflect(Cause::Exception(Exception::Hypercall), 0)?;
            return Ok(Action::Resume);
        }
        let nr = self.m.reg(Reg::A4);
        let a0 = self.m.reg(Reg::A0);
        self.count_hypercall(nr);
        let result = if nr == abi::HC_RING_NOTIFY {
            let r = self.ring_notify(a0)?;
            if r > 0 {
                self.m.raise_irq(irq::DEVICE);
                self.vm.stats.pv.ring_completions += 1;
                self.charge(Event::CompletionInterrupt);
            }
            r
        } else {
            abi::E_NOSYS
        };
        if result < 0 {
            self.vm.stats.pv.validation_rejections += 1;
        }
        self.m.set_reg(Reg::A0, result as u32);
        self.m.retire_emulated();
        self.note_hypercall(nr, &[a0], result);
        Ok(Action::Resume)
    }

    fn count_hypercall(&mut self, nr: u32) {
        let s = &mut self.vm.stats.pv;
        *s.hypercalls.entry(nr).or_default() += 1;
        s.hypercalls_total += 1;
        self.charge(Event::MonitorEmulate);
    }

    pub(super) fn note_hypercall(&mut self, nr: u32, args: &[u32], result: i32) {
        self.did(|| {
            let name = Hypercall::from_number(nr).map_or("unknown", Hypercall::name);
            let names = Hypercall::from_number(nr).map_or(&[][..], Hypercall::args);
            let args: Vec<String> = names
                .iter()
                .zip(args)
                .map(|(n, v)| format!("{n}={v:#x}"))
                .collect();
            let res = abi::error_name(result)
                .filter(|_| result < 0)
                .map_or_else(|| result.to_string(), str::to_owned);
            format!("hypercall {name}({}) -> {res}", args.join(", "))
        });
    }

    /// `ring_notify(ring)`: the back end processes the ring (section 7.4).
    fn ring_notify(&mut self, ring: u32) -> Result<i32, MonitorError> {
        self.vm.stats.pv.ring_notifications += 1;
        let ram = self.vm.config.ram_bytes;
        let pinned: HashSet<u32> = self
            .vm
            .pv
            .as_ref()
            .map(|p| p.pinned.keys().chain(p.special.iter()).copied().collect())
            .unwrap_or_default();
        let forbidden =
            move |m: &Machine, h: HostPhys| pinned.contains(&(h.0 >> 12)) || m.is_protected(h);
        let hosted = self.vm.io.hosted.is_some();
        let out = self.vm.io.notify(self.m, ring, ram, &forbidden)?;
        if hosted && out.result != abi::E_NOSYS {
            self.vm.stats.pv.hosted_switches += 1;
            self.charge(Event::HostedSwitch);
        }
        self.vm.stats.pv.ring_requests += u64::from(out.requests);
        self.vm.stats.pv.validation_rejections += u64::from(out.rejected);
        for _ in 0..out.requests {
            self.charge(Event::DeviceEmulation);
        }
        Ok(out.result)
    }

    /// A hypercall from the pv kernel (section 6): performs it, sets `a0`,
    /// resumes after the `hypercall` (or at `epc` for `iret`), then makes
    /// any deliverable upcall.
    pub fn pv_hypercall(&mut self) -> Result<Action, MonitorError> {
        let nr = self.m.reg(Reg::A4);
        let [a0, a1, a2, a3] = [Reg::A0, Reg::A1, Reg::A2, Reg::A3].map(|r| self.m.reg(r));
        self.count_hypercall(nr);
        let before = self.m.instret();
        let hc = Hypercall::from_number(nr);
        let result: i32 = match hc {
            None => abi::E_NOSYS,
            Some(Hypercall::SetTrapTable) => self.set_trap_table(a0)?,
            Some(Hypercall::Iret) => {
                let r = self.iret()?;
                if r == 0 {
                    self.note_hypercall(nr, &[], 0);
                    self.deliver_events()?;
                    return Ok(Action::Resume);
                }
                r
            }
            Some(Hypercall::MmuUpdate) => self.mmu_update(a0, a1, a2, a3)?,
            Some(Hypercall::PinTable) => self.pin(a0, a1)?,
            Some(Hypercall::UnpinTable) => self.unpin(a0)?,
            Some(Hypercall::SetPtbr) => {
                let ok = self.pv()?.pinned.get(&(a0 >> 12)) == Some(&true);
                if a0 % 4096 != 0 {
                    abi::E_INVAL
                } else if !ok {
                    abi::E_PERM
                } else {
                    self.m.set_csr(Csr::Ptbr, a0);
                    let st = self.m.csr(Csr::Status);
                    self.m.set_csr(Csr::Status, st | status::PG);
                    self.m.flush_tlb();
                    0
                }
            }
            Some(Hypercall::TlbFlush) => {
                if a0 == abi::TLB_FLUSH_PAGE || a0 == abi::TLB_FLUSH_ALL {
                    self.m.flush_tlb();
                    0
                } else {
                    abi::E_INVAL
                }
            }
            Some(Hypercall::EventCheck | Hypercall::Yield) => 0,
            Some(Hypercall::SetTimer) => {
                let never = a0 == abi::TIMER_NEVER && a1 == abi::TIMER_NEVER;
                self.pv()?.deadline = (!never).then_some((u64::from(a1) << 32) | u64::from(a0));
                0
            }
            Some(Hypercall::Time) => {
                self.m.set_reg(Reg::A1, (before >> 32) as u32);
                before as u32 as i32
            }
            Some(Hypercall::Block) => return self.block(nr),
            Some(Hypercall::RingNotify) => {
                let r = self.ring_notify(a0)?;
                if r > 0 {
                    let ev = if a0 == abi::RING_CONSOLE {
                        abi::EV_CONSOLE
                    } else {
                        abi::EV_BLOCK
                    };
                    self.raise_event(ev)?;
                    self.vm.stats.pv.ring_completions += 1;
                    self.charge(Event::CompletionInterrupt);
                }
                r
            }
            Some(Hypercall::LogWrite) => self.log_write(a0, a1)?,
            Some(Hypercall::Shutdown) => {
                self.note_hypercall(nr, &[a0], 0);
                return Ok(Action::Stop(Outcome::Shutdown { code: a0 }));
            }
        };
        if result < 0 && hc != Some(Hypercall::Time) {
            self.vm.stats.pv.validation_rejections += 1;
        }
        self.m.set_reg(Reg::A0, result as u32);
        self.m.retire_emulated();
        self.fire_timer_if_due()?;
        self.note_hypercall(nr, &[a0, a1, a2, a3], result);
        let note = std::mem::take(&mut self.vm.note);
        let upcall = self.deliver_events()?;
        self.did(|| {
            if upcall {
                format!("{note}; upcall")
            } else {
                note
            }
        });
        Ok(Action::Resume)
    }

    fn log_write(&mut self, va: u32, len: u32) -> Result<i32, MonitorError> {
        if len > abi::LOG_WRITE_MAX {
            return Ok(abi::E_INVAL);
        }
        let mut bytes = Vec::with_capacity(len as usize);
        for i in 0..len {
            let at = va.wrapping_add(i);
            let Some(w) = self.read_virt(at & !3) else {
                return Ok(abi::E_FAULT);
            };
            bytes.push(w.to_le_bytes()[(at & 3) as usize]);
        }
        if let Some(log) = self.m.bus_mut().get_mut::<vmlab_machine::devices::Log>() {
            use vmlab_machine::bus::Device;
            for b in bytes {
                log.write(0, vmlab_isa::Width::Byte, u32::from(b));
            }
        }
        Ok(len as i32)
    }
}
