//! A minimal trap-and-emulate monitor written against the library's
//! `ExitHandler` trait, in the size of a coursework exercise: the whole
//! monitor is the `match` in `handle`.
//!
//! It runs a real workload (the guest kernel with the `syscall` workload:
//! getpid in a loop) by classic trap-and-emulate with shadow paging, and
//! checks the console output against the workload's expected output.
//!
//! Run it with `cargo run -p vmlab-monitor --example student_monitor`.

use vmlab_isa::{Cause, Exception, decode};
use vmlab_monitor::{
    Action, Exit, ExitHandler, Host, MemVirt, Mode, MonitorError, Outcome, RunState, Vm, VmConfig,
    VmCtx,
};

/// My monitor: counts what it emulated, reflects everything else.
#[derive(Debug, Default)]
struct StudentMonitor {
    emulated: u64,
    reflected: u64,
}

impl ExitHandler for StudentMonitor {
    fn handle(&mut self, cx: &mut VmCtx<'_>, exit: Exit) -> Result<Action, MonitorError> {
        match exit {
            // 1. The deprivileged kernel ran a privileged instruction: the
            //    CPU hands us its word; emulate it on the virtual CPU.
            Exit::Exception {
                cause: Exception::PrivilegedInstruction,
                addr: word,
            } if cx.guest_supervisor() => {
                self.emulated += 1;
                cx.emulate(decode(word), word)
            }
            // 2. Anything else the guest raised belongs to the guest kernel.
            Exit::Exception { cause, addr } => {
                self.reflected += 1;
                cx.reflect(Cause::Exception(cause), addr)?;
                Ok(Action::Resume)
            }
            // 3. A timer tick the virtual CPU would take now.
            Exit::Interrupt { irq } => {
                self.reflected += 1;
                cx.reflect(Cause::Interrupt(irq), 0)?;
                Ok(Action::Resume)
            }
            // 4. Shadow paging: fill a missing entry, apply a page-table write.
            Exit::PageFault { gva, access, user } => cx.shadow_fault(gva, access, user),
            Exit::ProtectedWrite {
                hpa, width, value, ..
            } => cx.protected_write(hpa, width, value),
            Exit::BudgetExhausted => Ok(Action::Resume),
            _ => Ok(Action::Stop(Outcome::Halted)),
        }
    }
}

fn main() -> Result<(), MonitorError> {
    let iters = 200;
    let mut config = VmConfig::for_workload("syscall", iters, Mode::Trap)?;
    config.mem = MemVirt::Shadow;
    let mut host: Host = Vm::host_for(&config)?;
    let mut vm = Vm::with_handler(&mut host, config, Box::new(StudentMonitor::default()))?;
    let state = vm.run(&mut host, 10_000_000)?;
    let report = vm.report();
    print!("{}", report.console);
    println!("ended: {state:?}");
    println!("exits: {:?}", report.counters.exits);
    println!(
        "modeled cycles: {} (efficiency {:.4})",
        report.modeled_cycles, report.efficiency
    );
    let expected = vmlab_guest::workload("syscall").map(|w| w.expected_output(iters));
    assert_eq!(
        Some(report.console),
        expected,
        "the guest computed something else"
    );
    assert_eq!(state, RunState::Finished(Outcome::Shutdown { code: 0 }));
    Ok(())
}
