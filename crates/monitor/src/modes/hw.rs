//! hw: hardware-assisted full virtualization. The unmodified kernel runs in
//! guest mode at guest-supervisor level, so its privileged instructions act
//! on the guest copy of the control registers and `getf`/`setf` behave on
//! every profile. Syscalls and the exceptions the guest handles itself never
//! exit. What does exit: port I/O (every port), `halt` and `wfi`, interrupts
//! (injected back), and under shadow paging `ptbr` and `status.PG` writes,
//! TLB flushes, shadow misses and page-table writes.

use vmlab_isa::{Cause, encode};

use crate::error::MonitorError;
use crate::handler::{Action, Exit, ExitHandler, Outcome, VmCtx};

/// The hardware-assisted monitor.
#[derive(Clone, Copy, Debug, Default)]
pub struct HwMonitor;

impl ExitHandler for HwMonitor {
    fn handle(&mut self, cx: &mut VmCtx<'_>, exit: Exit) -> Result<Action, MonitorError> {
        match exit {
            Exit::PortIn { port, width, rd } => cx.port_in(port, width, rd),
            Exit::PortOut { port, width, value } => cx.port_out(port, width, value),
            // ptbr / status.PG writes, TLB flushes, wfi (what the controls ask).
            Exit::Privileged { instr } => cx.emulate(instr, encode(&instr).unwrap_or(0)),
            Exit::Interrupt { irq } => {
                cx.reflect(Cause::Interrupt(irq), 0)?;
                Ok(Action::Resume)
            }
            Exit::PageFault { gva, access, user } => cx.shadow_fault(gva, access, user),
            Exit::ProtectedWrite {
                hpa, width, value, ..
            } => cx.protected_write(hpa, width, value),
            Exit::NestedFault { gva, .. } => cx.nested_fault(gva),
            // A PV_IO kernel's ring_notify (io pv); a full kernel has no
            // hypercall ABI: as on a bare machine, its own handler sees a
            // hypercall exception.
            Exit::Hypercall => cx.hypercall_full_virt(),
            Exit::Halt => Ok(Action::Stop(Outcome::Halted)),
            Exit::Idle => Ok(Action::Stop(Outcome::Idle)),
            Exit::Shutdown { code } => Ok(Action::Stop(Outcome::Shutdown { code })),
            Exit::BudgetExhausted => Ok(Action::Resume),
            other => Err(MonitorError::UnexpectedExit {
                exit: other,
                pc: cx.machine().pc(),
                mode: cx.mode(),
            }),
        }
    }
}
