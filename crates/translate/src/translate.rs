//! The translator: one guest block, formed by the machine's shared block
//! formation, to a [`Translation`].
//!
//! Kernel code (docs/isa.md section 10, "Privileged and sensitive
//! instructions"): every sensitive instruction, privileged or not on the
//! running profile, is replaced, so the legacy profile's silent misbehaviour
//! of `getf`/`setf` cannot happen:
//!
//! | guest | translated |
//! |---|---|
//! | `csrr`, `getf` | inline load from the virtual CPU |
//! | `setf`, `csrw` of `prio`, `scratch`, `epc`, `cause`, `badaddr`, `tvec` | inline store to the virtual CPU |
//! | `csrw` of `status`, `ptbr`, `ienable`, `ipend`, `timecmp(h)` | callout `csr-write` |
//! | `sret`, `tlbflush(p)`, `wfi`, `halt`, `in`, `out`, `hypercall` | a callout of that kind |
//! | `csrw` of a read-only register, `syscall`, `break`, illegal | native (they only trap) |
//! | a store that faulted on a protected page | `PteStore` (adaptive) |
//! | everything else | kept |
//!
//! User code runs directly: every instruction is kept or native.

use vmlab_isa::{Csr, Instr};
use vmlab_machine::form_block;

use crate::ir::{BlockEnd, CalloutKind, InlineOp, Op, Privilege, TOp, Translation};

/// Where a block comes from: its addresses, its frame's code generation and
/// the bytes from its start to the end of its page.
#[derive(Clone, Copy, Debug)]
pub struct Source<'a> {
    /// Guest-virtual address of the first instruction.
    pub va: u32,
    /// Host-physical address of the first instruction.
    pub hpa: u32,
    /// The frame's code generation.
    pub generation: u32,
    /// The rest of the page from `hpa`.
    pub code: &'a [u8],
}

/// Translates the block at `src` for `privilege`. `adaptive(hpa)` says
/// whether the store at host-physical `hpa` is known to hit a protected page
/// (it becomes a [`Op::PteStore`]).
pub fn translate(
    src: Source<'_>,
    privilege: Privilege,
    adaptive: &dyn Fn(u32) -> bool,
) -> Translation {
    translate_ops(src, privilege, privilege == Privilege::User, adaptive)
}

/// Translates the block at `src` for direct execution whatever the
/// privilege (every instruction as the hardware runs it: system
/// instructions native, no inline operation or callout), tagged with
/// `privilege` for the cache and the backends' validity checks. What an
/// engine that owns no virtual CPU wants in guest mode, where the
/// hardware's exit controls decide what a sensitive instruction does.
pub fn translate_direct(src: Source<'_>, privilege: Privilege) -> Translation {
    translate_ops(src, privilege, true, &|_| false)
}

fn translate_ops(
    src: Source<'_>,
    privilege: Privilege,
    direct_ops: bool,
    adaptive: &dyn Fn(u32) -> bool,
) -> Translation {
    let mut ops = Vec::new();
    let words = src.code.chunks_exact(4);
    for (i, (instr, w)) in form_block(src.code).zip(words).enumerate() {
        let off = 4 * i as u32;
        let pc = src.va.wrapping_add(off);
        let word = u32::from_le_bytes([w[0], w[1], w[2], w[3]]);
        let op = if direct_ops {
            direct(instr)
        } else {
            kernel(instr, adaptive(src.hpa.wrapping_add(off)))
        };
        ops.push(TOp { pc, word, op });
    }
    let last = ops.last().copied();
    let next = src.va.wrapping_add(4 * ops.len() as u32);
    let end = match last {
        Some(t) if t.op.leaves() => BlockEnd::Leave,
        Some(TOp {
            op: Op::Guest(i @ Instr::Branch { .. }),
            pc,
            ..
        }) => BlockEnd::Branch {
            taken: i.direct_target(pc).unwrap_or(next),
            next,
        },
        Some(TOp {
            op: Op::Guest(i @ Instr::Jal { .. }),
            pc,
            ..
        }) => BlockEnd::Jump {
            target: i.direct_target(pc).unwrap_or(next),
        },
        Some(TOp {
            op: Op::Guest(Instr::Jalr { .. }),
            ..
        }) => BlockEnd::Indirect,
        _ => BlockEnd::FallThrough { next },
    };
    Translation {
        va: src.va,
        hpa: src.hpa,
        privilege,
        generation: src.generation,
        ops,
        end,
    }
}

/// User code: kept, system instructions run natively.
fn direct(instr: Instr) -> Op {
    if is_system(instr) {
        Op::Native(instr)
    } else {
        Op::Guest(instr)
    }
}

/// True for what the machine's fast path does not run (the system
/// instructions and illegal words).
fn is_system(instr: Instr) -> bool {
    !instr.is_computational()
}

/// Kernel code: the table in the module docs.
fn kernel(instr: Instr, adaptive_store: bool) -> Op {
    match instr {
        Instr::Csrr { rd, csr } => Op::Inline(InlineOp::ReadCsr { rd, csr }),
        Instr::GetFlags { rd } => Op::Inline(InlineOp::GetFlags { rd }),
        Instr::SetFlags { rs1 } => Op::Inline(InlineOp::SetFlags { rs1 }),
        Instr::Csrw { csr, .. } if csr.is_read_only() => Op::Native(instr),
        Instr::Csrw { csr, rs1 } if inline_write(csr) => {
            Op::Inline(InlineOp::WriteCsr { csr, rs1 })
        }
        Instr::Csrw { .. } => Op::Callout(CalloutKind::CsrWrite, instr),
        Instr::Sret => Op::Callout(CalloutKind::Sret, instr),
        Instr::TlbFlush | Instr::TlbFlushPage { .. } => Op::Callout(CalloutKind::TlbFlush, instr),
        Instr::Wfi => Op::Callout(CalloutKind::Wfi, instr),
        Instr::Halt => Op::Callout(CalloutKind::Halt, instr),
        Instr::In { .. } => Op::Callout(CalloutKind::PortIn, instr),
        Instr::Out { .. } => Op::Callout(CalloutKind::PortOut, instr),
        Instr::Hypercall => Op::Callout(CalloutKind::Hypercall, instr),
        Instr::Store { .. } if adaptive_store => Op::PteStore(instr),
        i if is_system(i) => Op::Native(i),
        i => Op::Guest(i),
    }
}

/// Registers whose write changes nothing about how the machine runs until
/// the monitor next looks: a plain store to the virtual CPU suffices.
fn inline_write(csr: Csr) -> bool {
    matches!(
        csr,
        Csr::Prio | Csr::Scratch | Csr::Epc | Csr::Cause | Csr::BadAddr | Csr::Tvec
    )
}
