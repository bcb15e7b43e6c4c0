//! pv: paravirtualization (Xen, SOSP 2003). The pv kernel build runs in
//! guest mode at the deprivileged, ring-1-like level: every privileged
//! instruction exits and is a guest error, except the trap-frame registers
//! (the ring-1 rule, done by the machine with no exit). Everything the
//! kernel needs from the monitor is a hypercall (docs/hypercalls.md);
//! syscalls and exceptions reach the kernel through its trap table with no
//! exit, page faults reach the monitor first and are bounced. Memory is
//! direct paging: the kernel's tables hold host frames, validated by
//! `mmu_update` and `pin_table` and write-protected while pinned.

use vmlab_isa::Exception;

use crate::error::MonitorError;
use crate::handler::{Action, Exit, ExitHandler, Outcome, VmCtx};

/// The paravirtualizing monitor.
#[derive(Clone, Copy, Debug, Default)]
pub struct PvMonitor;

impl ExitHandler for PvMonitor {
    fn handle(&mut self, cx: &mut VmCtx<'_>, exit: Exit) -> Result<Action, MonitorError> {
        match exit {
            Exit::Hypercall => cx.pv_hypercall(),
            // Page faults (always) and causes whose trap-table entry is not
            // the common one: delivered by the monitor.
            Exit::Exception { cause, addr } => cx.pv_exception(cause, addr),
            // A store to a pinned page-table frame (section 8.5): not
            // performed, bounced as a store page fault.
            Exit::ProtectedWrite { gva, .. } => cx.pv_exception(Exception::StorePageFault, gva.0),
            Exit::Privileged { instr } => cx.guest_error(&format!(
                "privileged instruction {instr:?} in the pv kernel"
            )),
            Exit::PortIn { port, .. } | Exit::PortOut { port, .. } => cx.guest_error(&format!(
                "port access {port:#06x} in the pv kernel (devices are reached through the rings)"
            )),
            Exit::Halt => cx.guest_error("halt in the pv kernel"),
            Exit::Idle => Ok(Action::Stop(Outcome::Idle)),
            Exit::Shutdown { code } => Ok(Action::Stop(Outcome::Shutdown { code })),
            Exit::BudgetExhausted => Ok(Action::Resume),
            other => cx.guest_error(&format!("unexpected exit {other:?} under pv")),
        }
    }
}
