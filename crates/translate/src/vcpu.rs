//! The virtual CPU the inline operations act on.
//!
//! In bt mode the monitor owns the guest kernel's privileged state (its
//! `status` with the virtual MODE and IE, `prio`, `tvec`, ...). Translated
//! code reads and writes it without a callout through this trait, which the
//! monitor implements on its own virtual CPU. [`NativeCpu`] is the trivial
//! implementation where the machine's registers *are* the virtual CPU (tests,
//! and any run where the guest owns the real CPU).

use vmlab_isa::Csr;
use vmlab_isa::csr::status;
use vmlab_machine::Machine;

/// The guest kernel's privileged state as translated code sees it.
///
/// After a write the engine forces an event check before the next block, so
/// an implementation that mirrors interrupt state into the machine (IE,
/// `prio`) has an interrupt it unmasked taken before the next instruction,
/// as the hardware would.
pub trait VirtualCpu {
    /// `csrr rd, csr` in kernel code.
    fn read_csr(&mut self, m: &Machine, csr: Csr) -> u32;
    /// `csrw csr, value` of an inline-written register, or `setf`'s `status`.
    fn write_csr(&mut self, m: &mut Machine, csr: Csr, value: u32);

    /// `getf`: the virtual MODE and IE.
    fn flags(&mut self, m: &Machine) -> u32 {
        self.read_csr(m, Csr::Status) & status::FLAGS
    }

    /// `setf`: IE from `value`, the rest of `status` unchanged.
    fn set_flags(&mut self, m: &mut Machine, value: u32) {
        let s = self.read_csr(m, Csr::Status);
        let v = (s & !status::IE) | (value & status::IE);
        self.write_csr(m, Csr::Status, v);
    }
}

/// The machine's own control registers as the virtual CPU: inline operations
/// do exactly what the hardware instructions do in supervisor mode.
#[derive(Clone, Copy, Debug, Default)]
pub struct NativeCpu;

impl VirtualCpu for NativeCpu {
    fn read_csr(&mut self, m: &Machine, csr: Csr) -> u32 {
        m.engine_read_csr(csr)
    }

    fn write_csr(&mut self, m: &mut Machine, csr: Csr, value: u32) {
        m.engine_write_csr(csr, value);
    }
}
