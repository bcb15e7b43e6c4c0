//! The student-facing API: a monitor is an [`ExitHandler`], one `match`
//! over [`Exit`], and [`VmCtx`] gives it the operations a monitor is made of
//! (emulate an instruction on the virtual CPU, emulate a device access,
//! reflect a trap, fill a shadow entry, apply a page-table write), each of
//! which counts and prices itself.
//!
//! ```
//! use vmlab_machine::Exit;
//! use vmlab_monitor::{Action, ExitHandler, MonitorError, VmCtx};
//!
//! /// Halts the guest at its first port access; every other exit as usual.
//! struct NoIo<H>(H);
//!
//! impl<H: ExitHandler> ExitHandler for NoIo<H> {
//!     fn handle(&mut self, cx: &mut VmCtx<'_>, exit: Exit) -> Result<Action, MonitorError> {
//!         match exit {
//!             Exit::PortIn { .. } | Exit::PortOut { .. } => Ok(Action::Stop(vmlab_monitor::Outcome::Halted)),
//!             other => self.0.handle(cx, other),
//!         }
//!     }
//! }
//! ```

use vmlab_isa::{Access, Cause, Csr, Exception, Width};
use vmlab_machine::{GuestVirt, HostPhys, Machine};

use crate::config::Mode;
use crate::cost::Event;
use crate::error::MonitorError;
use crate::shadow::{Fill, ShadowKey, View};
use crate::stats::Stats;
use crate::vcpu::{CsrEffect, Vcpu};
use crate::vm::VmState;

pub use vmlab_machine::Exit;

/// How a run of the guest ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case", tag = "status")]
pub enum Outcome {
    /// The guest wrote the power device's EXIT register.
    Shutdown {
        /// The exit code it wrote.
        code: u32,
    },
    /// The guest executed `halt`.
    Halted,
    /// The guest waits for an interrupt that nothing can raise.
    Idle,
    /// The monitor stopped the VM for breaking a rule it may not break (a
    /// privileged instruction in a pv kernel, an exception with no
    /// handler); `Vm::stop_reason` says which.
    GuestError {
        /// The guest pc.
        pc: u32,
    },
}

impl Outcome {
    /// A short name: `shutdown`, `halt` or `idle`.
    pub const fn name(self) -> &'static str {
        match self {
            Outcome::Shutdown { .. } => "shutdown",
            Outcome::Halted => "halt",
            Outcome::Idle => "idle",
            Outcome::GuestError { .. } => "guest_error",
        }
    }

    /// The exit code, for a shutdown.
    pub const fn code(self) -> Option<u32> {
        match self {
            Outcome::Shutdown { code } => Some(code),
            _ => None,
        }
    }
}

/// What the monitor does after handling an exit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// Enter the guest again.
    Resume,
    /// The guest is finished.
    Stop(Outcome),
}

/// A monitor, or one part of it: handles every exit of a run.
pub trait ExitHandler {
    /// Handles `exit`; the machine's pc is at the instruction that exited
    /// (for an instruction exit), which has not retired.
    fn handle(&mut self, cx: &mut VmCtx<'_>, exit: Exit) -> Result<Action, MonitorError>;
}

/// A running VM as a handler sees it: the machine (with the VM switched in)
/// and the monitor's state for the VM.
#[derive(Debug)]
pub struct VmCtx<'a> {
    pub(crate) m: &'a mut Machine,
    pub(crate) vm: &'a mut VmState,
}

impl VmCtx<'_> {
    /// The machine, with this VM's CPU state, memory and devices in it.
    pub fn machine(&mut self) -> &mut Machine {
        self.m
    }

    /// The VM's mode.
    pub fn mode(&self) -> Mode {
        self.vm.config.mode
    }

    /// The virtual CPU (trap mode's view of the guest's control registers).
    pub fn vcpu(&self) -> &Vcpu {
        &self.vm.vcpu
    }

    /// The monitor's counters so far.
    pub fn stats(&self) -> &Stats {
        &self.vm.stats
    }

    /// True in classic trap-and-emulate: no guest mode, the virtual CPU holds
    /// the guest's privileged state.
    pub fn deprivileged(&self) -> bool {
        !self.m.controls().guest_mode && self.vm.config.mode != Mode::Native
    }

    /// True when the guest believes it runs in supervisor mode.
    pub fn guest_supervisor(&self) -> bool {
        if self.deprivileged() {
            self.vm.vcpu.supervisor()
        } else {
            self.m.mode() == vmlab_machine::Mode::Supervisor
        }
    }

    /// Counts one priced event; returns its cycles.
    pub fn charge(&mut self, event: Event) -> u64 {
        self.vm.cycles.add(event, 1)
    }

    /// Records what the monitor did, for `--trace exits` (only built when tracing).
    pub fn did(&mut self, what: impl FnOnce() -> String) {
        if self.vm.tracing {
            self.vm.note = what();
        }
    }

    /// A control register as the guest reads it (the virtual CPU in trap
    /// mode, the guest copy in guest mode).
    pub fn read_csr(&self, csr: Csr) -> u32 {
        if self.deprivileged() {
            self.vm.vcpu.read(csr, self.m)
        } else {
            self.m.csr(csr)
        }
    }

    /// Writes a control register as the guest's `csrw` would, then follows
    /// any change of address space or privilege with the shadow tables.
    pub fn write_csr(&mut self, csr: Csr, value: u32) -> Result<(), MonitorError> {
        let effect = if self.deprivileged() {
            self.vm.vcpu.write(csr, value, self.m)
        } else {
            let before = (self.m.csr(Csr::Status), self.m.csr(Csr::Ptbr));
            self.m.set_csr(csr, value);
            let now = self.m.csr(Csr::Status);
            // Under shadow paging the monitor owns status.PG (it exits on a
            // change); the guest reads it from the read shadow.
            let pg = vmlab_isa::csr::status::PG;
            self.m.controls_mut().read_shadow[Csr::Status.index()] = now & pg;
            CsrEffect {
                space_changed: (now ^ before.0) & pg != 0
                    || (now & pg != 0 && self.m.csr(Csr::Ptbr) != before.1),
                mode_changed: false,
            }
        };
        self.follow(effect)
    }

    /// After a change of the guest's address space or privilege: selects the
    /// matching shadow table (nothing to do without shadow paging).
    pub fn follow(&mut self, effect: CsrEffect) -> Result<(), MonitorError> {
        if (effect.space_changed || effect.mode_changed) && self.vm.shadow.is_some() {
            self.activate_shadow()?;
        }
        Ok(())
    }

    /// The shadow address space for the guest's current root and privilege.
    pub fn shadow_key(&self) -> ShadowKey {
        if self.deprivileged() {
            let v = &self.vm.vcpu;
            ShadowKey {
                root: v.paging().then(|| v.ptbr() >> 12),
                view: if v.supervisor() {
                    View::Kernel
                } else {
                    View::User
                },
            }
        } else {
            let pg = self.m.csr(Csr::Status) & vmlab_isa::csr::status::PG != 0;
            ShadowKey {
                root: pg.then(|| self.m.csr(Csr::Ptbr) >> 12),
                view: View::Guest,
            }
        }
    }

    /// Points the MMU at the shadow table for [`shadow_key`](VmCtx::shadow_key).
    pub fn activate_shadow(&mut self) -> Result<(), MonitorError> {
        let key = self.shadow_key();
        if let Some(pager) = self.vm.shadow.as_mut() {
            pager.activate(self.m, key)?;
        }
        Ok(())
    }

    /// Reflects (trap mode: a virtual trap entry done in software) or
    /// injects (guest mode) `cause` into the guest kernel's vector.
    pub fn reflect(&mut self, cause: Cause, badaddr: u32) -> Result<(), MonitorError> {
        self.vm.stats.traps_reflected += 1;
        if matches!(cause, Cause::Interrupt(_)) {
            self.vm.stats.interrupts_reflected += 1;
        }
        if self.deprivileged() {
            let pc = self.m.pc();
            let (tvec, effect) = self.vm.vcpu.trap_entry(cause, pc, badaddr, self.m);
            self.m.set_pc(tvec);
            self.charge(Event::MonitorReflect);
            self.did(|| format!("reflected {} to tvec {tvec:#x}", cause_name(cause)));
            self.follow(effect)
        } else {
            self.m.inject(cause, badaddr);
            self.charge(Event::InterruptInjection);
            self.did(|| format!("injected {}", cause_name(cause)));
            Ok(())
        }
    }

    /// A shadow-table miss: fills the entry from the guest's tables (a
    /// hidden fault) or reflects the guest's own page fault. `user` is the
    /// privilege the CPU reported; in trap mode the virtual one is used.
    pub fn shadow_fault(
        &mut self,
        gva: GuestVirt,
        access: Access,
        user: bool,
    ) -> Result<Action, MonitorError> {
        let user = if self.deprivileged() {
            !self.vm.vcpu.supervisor()
        } else {
            user
        };
        let Some(pager) = self.vm.shadow.as_mut() else {
            return Err(MonitorError::Config(
                "a shadow fault without shadow paging".into(),
            ));
        };
        let fill = pager.fill(self.m, gva, access, user)?;
        self.charge(Event::MonitorWalk);
        match fill {
            Fill::Filled => {
                self.vm.stats.hidden_faults += 1;
                self.charge(Event::ShadowUpdate);
                self.did(|| format!("hidden fault: filled shadow entry for {gva}"));
            }
            Fill::Reflect(e) => {
                self.vm.stats.reflected_faults += 1;
                self.reflect(Cause::Exception(e), gva.0)?;
                let note = std::mem::take(&mut self.vm.note);
                self.did(|| format!("true guest fault ({}); {note}", e.name()));
            }
        }
        Ok(Action::Resume)
    }

    /// A guest store to a write-protected page-table page: performs it,
    /// updates the shadow tables and retires the store.
    pub fn protected_write(
        &mut self,
        hpa: HostPhys,
        width: Width,
        value: u32,
    ) -> Result<Action, MonitorError> {
        let Some(pager) = self.vm.shadow.as_mut() else {
            return Err(MonitorError::Config(
                "a protected write without shadow paging".into(),
            ));
        };
        pager.write(self.m, hpa, width, value)?;
        self.m.retire_emulated();
        self.vm.stats.pt_write_traps += 1;
        self.charge(Event::MonitorEmulate);
        self.charge(Event::ShadowUpdate);
        self.did(|| {
            format!("emulated page-table write {value:#x} at {hpa}; shadow entries dropped")
        });
        Ok(Action::Resume)
    }

    /// Nested paging cannot translate a guest-physical address: it lies
    /// outside the VM's RAM, which on real hardware is a bus error.
    pub fn nested_fault(&mut self, gva: GuestVirt) -> Result<Action, MonitorError> {
        self.vm.stats.reflected_faults += 1;
        self.reflect(Cause::Exception(Exception::BusError), gva.0)?;
        Ok(Action::Resume)
    }
}

/// A readable name for a cause.
pub(crate) fn cause_name(cause: Cause) -> String {
    match cause {
        Cause::Exception(e) => e.name().to_string(),
        Cause::Interrupt(i) => match i {
            0 => "timer interrupt".into(),
            1 => "device interrupt".into(),
            _ => "soft interrupt".into(),
        },
    }
}
