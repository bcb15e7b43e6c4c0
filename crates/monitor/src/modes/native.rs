//! native: the kernel runs in supervisor mode on the machine, its
//! guest-physical memory mapped onto the VM's frames by the PhysMap. The
//! devices answer on the bus directly, no monitor involved; the only exits
//! end the run.

use crate::error::MonitorError;
use crate::handler::{Action, Exit, ExitHandler, Outcome, VmCtx};

/// The native "monitor": nothing to do but notice the end.
#[derive(Clone, Copy, Debug, Default)]
pub struct NativeMonitor;

impl ExitHandler for NativeMonitor {
    fn handle(&mut self, cx: &mut VmCtx<'_>, exit: Exit) -> Result<Action, MonitorError> {
        match exit {
            Exit::Shutdown { code } => Ok(Action::Stop(Outcome::Shutdown { code })),
            Exit::Halt => Ok(Action::Stop(Outcome::Halted)),
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
