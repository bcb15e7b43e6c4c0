//! Events and trap delivery (docs/hypercalls.md sections 5 and 6.2): the
//! pending bytes and virtual interrupt mask of the shared page, upcalls,
//! the one-shot timer, the trap table and its exception delivery, and the
//! `iret` and `block` hypercalls that return to and wait for events.

use vmlab_isa::abi;
use vmlab_isa::csr::{irq, status};
use vmlab_isa::{Cause, Csr, Exception, Reg};
use vmlab_machine::GuestPhys;

use super::{gread, gwrite};
use crate::cost::Event;
use crate::error::MonitorError;
use crate::handler::{Action, Outcome, VmCtx};

impl VmCtx<'_> {
    /// Sets event `ev`'s pending byte in the shared page.
    pub(crate) fn raise_event(&mut self, ev: u32) -> Result<(), MonitorError> {
        let shared = self.pv()?.shared;
        let at = shared + abi::SHARED_PENDING + ev;
        self.m.write_guest_phys(GuestPhys(at), &[1])?;
        Ok(())
    }

    fn publish_time(&mut self) -> Result<(), MonitorError> {
        let shared = self.pv()?.shared;
        let now = self.m.instret();
        gwrite(self.m, shared + abi::SHARED_TIME_LO, now as u32)?;
        gwrite(self.m, shared + abi::SHARED_TIME_HI, (now >> 32) as u32)
    }

    pub(super) fn deliverable(&mut self) -> Result<bool, MonitorError> {
        let pv = self.pv()?;
        let shared = pv.shared;
        if pv
            .trap_table
            .is_none_or(|t| t[abi::TRAP_UPCALL as usize] == 0)
        {
            return Ok(false);
        }
        let pending = gread(self.m, shared + abi::SHARED_PENDING)?.to_le_bytes();
        let prio = gread(self.m, shared + abi::SHARED_PRIO)? & 15;
        let masked = gread(self.m, shared + abi::SHARED_MASK)? != 0;
        let user = self.m.csr(Csr::Status) & status::MODE == 0;
        let any =
            (0..abi::EV_COUNT).any(|e| pending[e as usize] != 0 && abi::event_priority(e) > prio);
        Ok(any && (user || !masked))
    }

    /// Section 5.4: one upcall if an event is deliverable (the virtual
    /// interrupt mask in the shared page is read first), else only the
    /// shared time is refreshed.
    pub(crate) fn deliver_events(&mut self) -> Result<bool, MonitorError> {
        if !self.deliverable()? {
            self.publish_time()?;
            return Ok(false);
        }
        let pv = self.pv()?;
        let entry = pv.trap_table.map_or(0, |t| t[abi::TRAP_UPCALL as usize]);
        let shared = pv.shared;
        self.enter_at(entry, Cause::Interrupt(irq::SOFT), 0);
        gwrite(self.m, shared + abi::SHARED_MASK, 1)?;
        self.publish_time()?;
        self.vm.stats.pv.upcalls += 1;
        self.vm.stats.traps_reflected += 1;
        self.vm.stats.interrupts_reflected += 1;
        self.charge(Event::InterruptInjection);
        Ok(true)
    }

    /// The trap entry for `cause` at `entry` instead of `tvec`.
    fn enter_at(&mut self, entry: u32, cause: Cause, badaddr: u32) {
        let tvec = self.m.csr(Csr::Tvec);
        self.m.set_csr(Csr::Tvec, entry);
        self.m.inject(cause, badaddr);
        self.m.set_csr(Csr::Tvec, tvec);
    }

    /// An exception that exited under pv: a page fault is bounced to its
    /// trap-table entry, another cause delivered to its own entry; with no
    /// entry the VM stops.
    pub fn pv_exception(&mut self, e: Exception, addr: u32) -> Result<Action, MonitorError> {
        let entry = self.pv()?.trap_table.map_or(0, |t| t[e.code() as usize]);
        if entry == 0 {
            return self.guest_error(&format!(
                "unhandled guest exception {} (address {addr:#x}): no trap-table entry",
                e.name()
            ));
        }
        let fault = matches!(
            e,
            Exception::FetchPageFault | Exception::LoadPageFault | Exception::StorePageFault
        );
        if fault {
            self.vm.stats.pv.bounced_faults += 1;
            self.vm.stats.reflected_faults += 1;
        } else {
            self.vm.stats.pv.trap_table_deliveries += 1;
        }
        self.vm.stats.traps_reflected += 1;
        self.enter_at(entry, Cause::Exception(e), addr);
        self.charge(Event::MonitorReflect);
        self.did(|| {
            format!(
                "bounced {} ({addr:#x}) to trap-table entry {entry:#x}",
                e.name()
            )
        });
        Ok(Action::Resume)
    }

    pub(super) fn fire_timer_if_due(&mut self) -> Result<(), MonitorError> {
        let now = self.m.instret();
        let pv = self.pv()?;
        if pv.deadline.is_some_and(|d| now >= d) {
            pv.deadline = None;
            self.raise_event(abi::EV_TIMER)?;
        }
        Ok(())
    }

    pub(super) fn set_trap_table(&mut self, va: u32) -> Result<i32, MonitorError> {
        let mut table = [0u32; 16];
        for (i, slot) in table.iter_mut().enumerate() {
            match self.read_virt(va.wrapping_add(4 * i as u32)) {
                Some(v) => *slot = v,
                None if va % 4 != 0 => return Ok(abi::E_INVAL),
                None => return Ok(abi::E_FAULT),
            }
        }
        let bad = table
            .iter()
            .enumerate()
            .position(|(i, &e)| e % 4 != 0 || (e != 0 && matches!(i, 12 | 14 | 15)));
        if let Some(i) = bad {
            self.m.set_reg(Reg::A1, i as u32);
            return Ok(abi::E_INVAL);
        }
        self.pv()?.trap_table = Some(table);
        // The common entry goes in tvec; causes with another entry (and
        // every page fault) exit to the monitor.
        let common = table[Exception::Syscall.code() as usize];
        let mut exits = 0u32;
        for e in Exception::ALL {
            let c = e.code();
            let fault = matches!(c, 5..=7);
            if fault || table[c as usize] == 0 || table[c as usize] != common {
                exits |= 1 << c;
            }
        }
        self.m.set_csr(Csr::Tvec, common);
        self.m.controls_mut().exception_exits = exits;
        Ok(0)
    }

    pub(super) fn iret(&mut self) -> Result<i32, MonitorError> {
        let shared = self.pv()?.shared;
        let flags = gread(self.m, shared + abi::SHARED_IRET_FLAGS)?;
        if flags & !(abi::IRET_KERNEL | abi::IRET_EVENTS) != 0 || flags == abi::IRET_EVENTS {
            return Ok(abi::E_INVAL);
        }
        let epc = self.m.csr(Csr::Epc);
        self.m.retire_emulated();
        self.m.set_pc(epc);
        let a0 = gread(self.m, shared + abi::SHARED_IRET_A0)?;
        let a4 = gread(self.m, shared + abi::SHARED_IRET_A4)?;
        self.m.set_reg(Reg::A0, a0);
        self.m.set_reg(Reg::A4, a4);
        let kernel = flags & abi::IRET_KERNEL != 0;
        let st = self.m.csr(Csr::Status) & !status::MODE;
        self.m
            .set_csr(Csr::Status, st | if kernel { status::MODE } else { 0 });
        let unmask = flags == abi::IRET_KERNEL | abi::IRET_EVENTS;
        gwrite(self.m, shared + abi::SHARED_MASK, u32::from(!unmask))?;
        self.fire_timer_if_due()?;
        Ok(0)
    }

    pub(super) fn block(&mut self, nr: u32) -> Result<Action, MonitorError> {
        let shared = self.pv()?.shared;
        gwrite(self.m, shared + abi::SHARED_MASK, 0)?;
        if self.vm.io.poll_held(self.m)? {
            self.raise_event(abi::EV_CONSOLE)?;
            self.vm.stats.pv.ring_completions += 1;
        }
        self.m.set_reg(Reg::A0, 0);
        if !self.deliverable()? {
            let prio = gread(self.m, shared + abi::SHARED_PRIO)? & 15;
            match self.pv()?.deadline {
                Some(d) if abi::EV_PRIO_TIMER > prio => {
                    let now = self.m.instret();
                    if d > now + 1 {
                        // Virtual time: skip to the deadline (the call retires there).
                        let t = d - 1;
                        self.m.set_csr(Csr::InstRetH, (t >> 32) as u32);
                        self.m.set_csr(Csr::InstRet, t as u32);
                    }
                }
                _ => {
                    self.did(|| "hypercall block with nothing to wake it: idle".into());
                    return Ok(Action::Stop(Outcome::Idle));
                }
            }
        }
        self.m.retire_emulated();
        self.fire_timer_if_due()?;
        self.note_hypercall(nr, &[], 0);
        self.deliver_events()?;
        Ok(Action::Resume)
    }
}
