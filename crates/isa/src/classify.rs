//! Classification for the monitor and the translator (docs/isa.md, "Privileged
//! and sensitive instructions").

use crate::{Csr, Instr, Profile, Reg};

impl Instr {
    /// True when executing this instruction in user mode traps with
    /// `privileged-instruction` under `profile`.
    pub const fn is_privileged(&self, profile: Profile) -> bool {
        match self {
            Instr::Csrr { .. }
            | Instr::Csrw { .. }
            | Instr::Sret
            | Instr::TlbFlush
            | Instr::TlbFlushPage { .. }
            | Instr::Wfi
            | Instr::Halt
            | Instr::In { .. }
            | Instr::Out { .. }
            | Instr::Hypercall => true,
            Instr::GetFlags { .. } | Instr::SetFlags { .. } => matches!(profile, Profile::Strict),
            _ => false,
        }
    }

    /// True when the instruction reads or changes privileged state (mode,
    /// interrupt enable, control registers, the TLB, devices), in either profile.
    /// Popek & Goldberg: trap-and-emulate works when every sensitive
    /// instruction is privileged; `getf`/`setf` break that in the legacy profile.
    pub const fn is_sensitive(&self) -> bool {
        self.is_privileged(Profile::Strict)
    }

    /// True for instructions that are sensitive but not privileged under
    /// `profile`: the ones that break classic trap-and-emulate.
    pub const fn is_sensitive_unprivileged(&self, profile: Profile) -> bool {
        self.is_sensitive() && !self.is_privileged(profile)
    }

    /// True when the instruction can transfer control somewhere other than the
    /// next instruction (branches, jumps, traps by design, `sret`, `halt`, `wfi`).
    pub const fn is_control_flow(&self) -> bool {
        matches!(
            self,
            Instr::Branch { .. }
                | Instr::Jal { .. }
                | Instr::Jalr { .. }
                | Instr::Sret
                | Instr::Syscall
                | Instr::Hypercall
                | Instr::Break
                | Instr::Halt
                | Instr::Wfi
                | Instr::Illegal(_)
        )
    }

    /// True when a basic block must end after this instruction: control flow,
    /// and anything that can change the mode, the address space, the interrupt
    /// state or a device (so interrupts are checked right after it).
    pub const fn ends_block(&self) -> bool {
        self.is_control_flow()
            || matches!(
                self,
                Instr::Csrw { .. }
                    | Instr::SetFlags { .. }
                    | Instr::TlbFlush
                    | Instr::TlbFlushPage { .. }
                    | Instr::In { .. }
                    | Instr::Out { .. }
            )
    }

    /// The control register the instruction reads or writes, if any.
    pub const fn control_register(&self) -> Option<Csr> {
        match self {
            Instr::Csrr { csr, .. } | Instr::Csrw { csr, .. } => Some(*csr),
            Instr::GetFlags { .. } | Instr::SetFlags { .. } | Instr::Sret => Some(Csr::Status),
            _ => None,
        }
    }

    /// The general register written, if any (writes to `zero` are reported as `None`).
    pub const fn dest(&self) -> Option<Reg> {
        let rd = match self {
            Instr::Alu { rd, .. }
            | Instr::AluImm { rd, .. }
            | Instr::Lui { rd, .. }
            | Instr::Auipc { rd, .. }
            | Instr::Load { rd, .. }
            | Instr::Jal { rd, .. }
            | Instr::Jalr { rd, .. }
            | Instr::Csrr { rd, .. }
            | Instr::GetFlags { rd }
            | Instr::In { rd, .. } => *rd,
            _ => return None,
        };
        if rd.num() == 0 { None } else { Some(rd) }
    }

    /// The target of a direct branch or jump at `pc`.
    pub const fn direct_target(&self, pc: u32) -> Option<u32> {
        match self {
            Instr::Branch { off, .. } | Instr::Jal { off, .. } => {
                Some(pc.wrapping_add(*off as u32))
            }
            _ => None,
        }
    }

    /// True for ordinary computation and control flow: ALU operations, upper
    /// immediates, loads, stores, branches and jumps. Every engine can run
    /// these the same way in every mode; everything else (system and
    /// privileged instructions, traps by design, illegal words) needs the
    /// machine's or the monitor's attention.
    pub const fn is_computational(&self) -> bool {
        matches!(
            self,
            Instr::Alu { .. }
                | Instr::AluImm { .. }
                | Instr::Lui { .. }
                | Instr::Auipc { .. }
                | Instr::Load { .. }
                | Instr::Store { .. }
                | Instr::Branch { .. }
                | Instr::Jal { .. }
                | Instr::Jalr { .. }
        )
    }

    /// True for loads and stores (memory accesses that can page-fault).
    pub const fn is_memory_access(&self) -> bool {
        matches!(self, Instr::Load { .. } | Instr::Store { .. })
    }
}
