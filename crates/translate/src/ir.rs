//! The translated form of one guest block: the IR every backend compiles.
//!
//! A [`Translation`] is the guest block's instructions, each kept, replaced
//! by an inline operation on the virtual CPU, or replaced by a callout into
//! the monitor, followed by how the block ends. The IR keeps innocuous
//! instructions as the decoded [`Instr`] (decode once, STYLE.md 3): a backend
//! lowers them, so it cannot disagree with the interpreter about an encoding.

use std::fmt;

use vmlab_isa::{Csr, Instr, Reg, Width};

/// The privilege a block was translated for (part of the cache key).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Privilege {
    /// Kernel code: sensitive instructions become callouts or inline ops.
    Supervisor,
    /// User code: runs directly, every instruction as the hardware does it
    /// (a privileged one traps; a legacy `getf`/`setf` misbehaves, as on x86).
    User,
}

/// Why translated code calls back into the monitor. The monitor receives
/// `Exit::Callout { id: kind as u32 }` with pc at the instruction, not
/// retired, and finds the details in the engine's last [`Callout`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u32)]
pub enum CalloutKind {
    /// `csrw` of a register the monitor must act on (`status`, `ptbr`,
    /// `ienable`, `ipend`, `timecmp`, `timecmph`).
    CsrWrite = 0,
    /// `sret`: return to user mode (or within the kernel).
    Sret = 1,
    /// `tlbflush` / `tlbflushp`.
    TlbFlush = 2,
    /// `wfi`.
    Wfi = 3,
    /// `halt`.
    Halt = 4,
    /// `in`: device emulation.
    PortIn = 5,
    /// `out`: device emulation.
    PortOut = 6,
    /// `hypercall` from an unmodified kernel.
    Hypercall = 7,
    /// A store adaptive translation found hitting a write-protected page
    /// (a guest page-table page under shadow paging).
    PteWrite = 8,
}

impl CalloutKind {
    /// Every kind, indexed by its number.
    pub const ALL: [CalloutKind; 9] = [
        CalloutKind::CsrWrite,
        CalloutKind::Sret,
        CalloutKind::TlbFlush,
        CalloutKind::Wfi,
        CalloutKind::Halt,
        CalloutKind::PortIn,
        CalloutKind::PortOut,
        CalloutKind::Hypercall,
        CalloutKind::PteWrite,
    ];

    /// The kind a callout exit's `id` names.
    pub fn from_id(id: u32) -> Option<CalloutKind> {
        CalloutKind::ALL.get(id as usize).copied()
    }

    /// A short name for counters and traces.
    pub const fn name(self) -> &'static str {
        match self {
            CalloutKind::CsrWrite => "csr-write",
            CalloutKind::Sret => "sret",
            CalloutKind::TlbFlush => "tlb-flush",
            CalloutKind::Wfi => "wfi",
            CalloutKind::Halt => "halt",
            CalloutKind::PortIn => "port-in",
            CalloutKind::PortOut => "port-out",
            CalloutKind::Hypercall => "hypercall",
            CalloutKind::PteWrite => "pte-write",
        }
    }
}

/// What the monitor needs to perform a callout.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Callout {
    /// The kind (also the exit's `id`).
    pub kind: CalloutKind,
    /// Guest-virtual address of the instruction (pc).
    pub pc: u32,
    /// The guest instruction the callout stands for.
    pub instr: Instr,
    /// For [`CalloutKind::PteWrite`]: the store, already translated.
    pub store: Option<PendingStore>,
}

/// A store a [`CalloutKind::PteWrite`] callout hands to the monitor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PendingStore {
    /// Guest-virtual address written.
    pub gva: u32,
    /// Host-physical address it translates to (a protected page).
    pub hpa: u32,
    /// Width.
    pub width: Width,
    /// Value, truncated to the width.
    pub value: u32,
}

/// An operation on the virtual CPU done in place, with no callout: the
/// state lives in the monitor's [`VirtualCpu`](crate::VirtualCpu).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InlineOp {
    /// `csrr rd, csr`: a load from the virtual CPU.
    ReadCsr {
        /// Destination.
        rd: Reg,
        /// Register read.
        csr: Csr,
    },
    /// `csrw csr, rs1` of a register with no side effect on how the machine
    /// runs (`prio`, `scratch`, `epc`, `cause`, `badaddr`, `tvec`): a store
    /// to the virtual CPU (Adams & Agesen's TPR write).
    WriteCsr {
        /// Register written.
        csr: Csr,
        /// Source.
        rs1: Reg,
    },
    /// `getf rd`: the virtual MODE and IE.
    GetFlags {
        /// Destination.
        rd: Reg,
    },
    /// `setf rs1`: the virtual IE (VMware's inline cli/sti).
    SetFlags {
        /// Source.
        rs1: Reg,
    },
}

/// One translated instruction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// An innocuous instruction, kept: ALU, loads, stores, branches, jumps.
    Guest(Instr),
    /// A sensitive instruction done inline on the virtual CPU.
    Inline(InlineOp),
    /// A sensitive instruction done by the monitor.
    Callout(CalloutKind, Instr),
    /// A store retranslated after it faulted on a protected page: a
    /// [`CalloutKind::PteWrite`] callout while its target stays protected,
    /// an ordinary store otherwise.
    PteStore(Instr),
    /// An instruction run exactly as the hardware runs it: in user code any
    /// system instruction; in kernel code the ones that only trap
    /// (`syscall`, `break`, illegal words).
    Native(Instr),
}

impl Op {
    /// True for operations the backend hands to the monitor or the machine
    /// (a callout, or a native system instruction), which end the block.
    pub fn leaves(&self) -> bool {
        match self {
            Op::Callout(..) => true,
            Op::Native(i) => !matches!(i, Instr::Csrr { .. } | Instr::GetFlags { .. }),
            _ => false,
        }
    }
}

/// One translated instruction at its guest address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TOp {
    /// Guest-virtual address.
    pub pc: u32,
    /// The raw guest word (what `Native` ops execute).
    pub word: u32,
    /// The translation.
    pub op: Op,
}

/// How control leaves a translated block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BlockEnd {
    /// The block stopped at a page end or the length limit: continue at the
    /// next address (direct exit 0, chainable).
    FallThrough {
        /// The next guest address.
        next: u32,
    },
    /// A conditional branch: direct exit 0 when taken, 1 when not.
    Branch {
        /// Target when taken.
        taken: u32,
        /// The next instruction.
        next: u32,
    },
    /// `jal`: direct exit 0.
    Jump {
        /// Target.
        target: u32,
    },
    /// `jalr` (returns included): the target is looked up at run time.
    Indirect,
    /// The last op leaves translated code (a callout or native system
    /// instruction): the monitor or the machine decides what runs next.
    Leave,
}

/// A translated guest block.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Translation {
    /// Guest-virtual address of the first instruction.
    pub va: u32,
    /// Host-physical address of the first instruction.
    pub hpa: u32,
    /// The privilege it was translated for.
    pub privilege: Privilege,
    /// The code generation of its frame when translated.
    pub generation: u32,
    /// The instructions, in order.
    pub ops: Vec<TOp>,
    /// How it ends.
    pub end: BlockEnd,
}

impl Translation {
    /// Guest instructions in the block.
    pub fn len(&self) -> usize {
        self.ops.len()
    }

    /// True for an empty block (never produced by the translator).
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    /// The direct (chainable) exits' targets, by exit number.
    pub fn direct_exits(&self) -> Vec<u32> {
        match self.end {
            BlockEnd::FallThrough { next } => vec![next],
            BlockEnd::Branch { taken, next } => vec![taken, next],
            BlockEnd::Jump { target } => vec![target],
            BlockEnd::Indirect | BlockEnd::Leave => Vec::new(),
        }
    }

    /// Callouts and inline operations in the block.
    pub fn sensitive_ops(&self) -> (usize, usize) {
        let callouts = self
            .ops
            .iter()
            .filter(|o| matches!(o.op, Op::Callout(..) | Op::PteStore(_)))
            .count();
        let inline = self
            .ops
            .iter()
            .filter(|o| matches!(o.op, Op::Inline(_)))
            .count();
        (callouts, inline)
    }
}

impl fmt::Display for InlineOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InlineOp::ReadCsr { rd, csr } => write!(f, "{rd} = vcpu.{}", csr.name()),
            InlineOp::WriteCsr { csr, rs1 } => write!(f, "vcpu.{} = {rs1}", csr.name()),
            InlineOp::GetFlags { rd } => write!(f, "{rd} = vcpu.status & (MODE|IE)"),
            InlineOp::SetFlags { rs1 } => write!(f, "vcpu.status.IE = {rs1}.IE"),
        }
    }
}
