//! trap: classic trap-and-emulate (Popek & Goldberg 1974), no guest mode.
//!
//! The kernel runs deprivileged in user mode on shadow page tables. Every
//! exception and interrupt traps to the monitor (the exception bitmap is all
//! ones, interrupt exiting is on). A privileged instruction is emulated on
//! the virtual CPU if the guest believes it is in supervisor mode; anything
//! else is reflected into the guest kernel's vector, as the real CPU would
//! have done for a real kernel.
//!
//! On the `legacy` profile this breaks: `getf` and `setf` do not trap in user
//! mode, so the monitor never sees them (docs/modes.md).

use vmlab_isa::{Cause, Exception, decode};

use crate::error::MonitorError;
use crate::handler::{Action, Exit, ExitHandler, Outcome, VmCtx};

/// The trap-and-emulate monitor.
#[derive(Clone, Copy, Debug, Default)]
pub struct TrapMonitor;

impl ExitHandler for TrapMonitor {
    fn handle(&mut self, cx: &mut VmCtx<'_>, exit: Exit) -> Result<Action, MonitorError> {
        match exit {
            // The deprivileged kernel ran a privileged instruction: emulate
            // it (badaddr carries the instruction word, decoded once).
            Exit::Exception {
                cause: Exception::PrivilegedInstruction,
                addr: word,
            } if cx.guest_supervisor() => cx.emulate(decode(word), word),
            // Anything else the guest raised is the guest kernel's business:
            // syscalls, a user's privileged instruction, divide by zero, ...
            Exit::Exception { cause, addr } => {
                cx.reflect(Cause::Exception(cause), addr)?;
                Ok(Action::Resume)
            }
            // The real CPU stops for an interrupt exactly when the virtual
            // IE allows it (the real IE mirrors it).
            Exit::Interrupt { irq } => {
                cx.reflect(Cause::Interrupt(irq), 0)?;
                Ok(Action::Resume)
            }
            Exit::PageFault { gva, access, user } => cx.shadow_fault(gva, access, user),
            Exit::ProtectedWrite {
                hpa, width, value, ..
            } => cx.protected_write(hpa, width, value),
            Exit::Idle => Ok(Action::Stop(Outcome::Idle)),
            Exit::BudgetExhausted => Ok(Action::Resume),
            other => Err(MonitorError::UnexpectedExit {
                exit: other,
                pc: cx.machine().pc(),
                mode: cx.mode(),
            }),
        }
    }
}
