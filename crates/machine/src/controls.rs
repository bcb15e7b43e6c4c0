//! The exit controls: what leaves the guest for the host (the VMCS execution
//! controls of VT-x, the VMCB intercepts of AMD-V).
//!
//! Outside guest mode only `exception_exits`, `interrupt_exits`,
//! `interrupt_window_exits` and `port_exits` (for supervisor-mode accesses)
//! apply: enough for classic trap-and-emulate, where the deprivileged kernel's
//! privileged instructions fault as `privileged-instruction` and the exception
//! bitmap hands them to the host.

use vmlab_isa::Exception;

/// A bit per port, 0x0000..=0xFFFF (VT-x's I/O bitmaps A and B).
#[derive(Clone, PartialEq, Eq)]
pub struct PortBitmap {
    bits: Box<[u64; 1024]>,
}

impl Default for PortBitmap {
    fn default() -> PortBitmap {
        PortBitmap {
            bits: Box::new([0; 1024]),
        }
    }
}

impl std::fmt::Debug for PortBitmap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let set = self.bits.iter().map(|w| w.count_ones()).sum::<u32>();
        write!(f, "PortBitmap({set} ports set)")
    }
}

impl PortBitmap {
    /// True when accesses to `port` exit.
    #[inline]
    pub fn get(&self, port: u16) -> bool {
        self.bits[usize::from(port >> 6)] & (1 << (port & 63)) != 0
    }

    /// Makes accesses to `port` exit (or not).
    pub fn set(&mut self, port: u16, exit: bool) {
        let w = &mut self.bits[usize::from(port >> 6)];
        if exit {
            *w |= 1 << (port & 63);
        } else {
            *w &= !(1 << (port & 63));
        }
    }

    /// Sets `len` ports from `base` (clipped at 0xFFFF).
    pub fn set_range(&mut self, base: u16, len: u32, exit: bool) {
        for p in u32::from(base)..(u32::from(base) + len).min(0x1_0000) {
            self.set(p as u16, exit);
        }
    }

    /// Makes every port exit (or none).
    pub fn set_all(&mut self, exit: bool) {
        self.bits.fill(if exit { u64::MAX } else { 0 });
    }
}

/// The exit controls. All off (the default) means: nothing exits but what
/// must (halt, idle, hypercall in guest mode, shadow and nested faults,
/// protected writes, shutdown, the budget).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Controls {
    /// VT-x-like non-root operation: the CPU's control registers are the
    /// guest's copy, the guest kernel runs at guest-supervisor level and its
    /// privileged instructions act on that copy unless a control below says
    /// exit. `hypercall` exits. Each `run` in guest mode is a world-switch
    /// entry and its return an exit (an untagged TLB is flushed at both).
    pub guest_mode: bool,
    /// Bit `Exception::code()` set: that exception returns `Exit::Exception`
    /// instead of trapping to the guest vector (in or out of guest mode).
    pub exception_exits: u32,
    /// When an interrupt would be delivered, return `Exit::Interrupt`
    /// instead; the host injects it with `Machine::inject`.
    pub interrupt_exits: bool,
    /// Exit with `Exit::InterruptWindow` before the first instruction at which
    /// `status.IE` = 1 and `prio` lets the timer (the highest source) through.
    pub interrupt_window_exits: bool,
    /// Ports whose accesses return `Exit::PortIn`/`Exit::PortOut` (in guest
    /// mode, and outside it for supervisor-mode accesses). Other ports go to
    /// the bus.
    pub port_exits: PortBitmap,
    /// Guest mode: bits of each control register owned by the host; guest
    /// reads of them return `read_shadow` (VT-x's CR0/CR4 guest/host masks).
    pub csr_read_mask: [u32; 16],
    /// Guest mode: what the guest reads in the host-owned bits.
    pub read_shadow: [u32; 16],
    /// Guest mode: a `csrw` (or `setf`, for `status`) that would change an
    /// owned bit relative to `read_shadow` exits with `Exit::Privileged`;
    /// other writes change the guest copy, keeping the owned bits.
    pub csr_write_mask: [u32; 16],
    /// Guest mode: a `prio` write of a value below this threshold exits
    /// (VT-x's TPR threshold); others change the guest copy.
    pub prio_threshold: Option<u32>,
    /// Guest mode: `csrw ptbr` exits (shadow paging needs it).
    pub ptbr_exits: bool,
    /// Guest mode: `tlbflush` and `tlbflushp` exit.
    pub tlbflush_exits: bool,
    /// Guest mode: `halt` exits as `Exit::Privileged` (rather than `Exit::Halt`).
    pub halt_exits: bool,
    /// Guest mode: `wfi` exits as `Exit::Privileged` (rather than waiting on the
    /// guest copy of the timer).
    pub wfi_exits: bool,
    /// Guest mode: every privileged or sensitive instruction exits (port I/O
    /// as `PortIn`/`PortOut`, the rest as `Exit::Privileged`): a deprivileged,
    /// ring-1-like supervisor level for paravirtual kernels.
    pub privileged_exits: bool,
    /// With `privileged_exits`: `csrr`/`csrw` of the trap-frame registers
    /// (`vmlab_isa::abi::TRAP_FRAME_CSRS`: epc, cause, badaddr, scratch) do
    /// not exit but act on the guest copy (the ring-1 rule of
    /// docs/hypercalls.md, section 3).
    pub frame_csrs_exempt: bool,
    /// Guest mode: the address-space tag of the guest's TLB entries when the
    /// TLB is tagged (VT-x VPID, AMD ASID).
    pub vpid: u16,
}

impl Controls {
    /// True when exception `e` exits.
    #[inline]
    pub fn exception_exits_on(&self, e: Exception) -> bool {
        self.exception_exits & (1 << e.code()) != 0
    }

    /// True when `instr` is a trap-frame register access that the ring-1
    /// rule ([`frame_csrs_exempt`](Controls::frame_csrs_exempt)) lets through.
    #[inline]
    pub fn frame_csr_exempt(&self, instr: vmlab_isa::Instr) -> bool {
        use vmlab_isa::Instr;
        self.frame_csrs_exempt
            && matches!(instr, Instr::Csrr { csr, .. } | Instr::Csrw { csr, .. }
                if vmlab_isa::abi::TRAP_FRAME_CSRS.contains(&csr))
    }

    /// Makes exception `e` exit (or not).
    pub fn set_exception_exit(&mut self, e: Exception, exit: bool) {
        if exit {
            self.exception_exits |= 1 << e.code();
        } else {
            self.exception_exits &= !(1 << e.code());
        }
    }
}
