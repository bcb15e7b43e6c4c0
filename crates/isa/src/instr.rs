//! The decoded instruction: one enum that every part of vmlab matches on.

use crate::{Csr, Reg};

/// Register-register ALU operations (`op rd, rs1, rs2`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AluOp {
    /// rd = rs1 + rs2 (wrapping)
    Add,
    /// rd = rs1 - rs2 (wrapping)
    Sub,
    /// rd = rs1 & rs2
    And,
    /// rd = rs1 | rs2
    Or,
    /// rd = rs1 ^ rs2
    Xor,
    /// rd = rs1 << (rs2 & 31)
    Sll,
    /// rd = rs1 >> (rs2 & 31), logical
    Srl,
    /// rd = rs1 >> (rs2 & 31), arithmetic
    Sra,
    /// rd = (rs1 < rs2) signed ? 1 : 0
    Slt,
    /// rd = (rs1 < rs2) unsigned ? 1 : 0
    Sltu,
    /// rd = low 32 bits of rs1 * rs2
    Mul,
    /// rd = high 32 bits of signed rs1 * signed rs2
    Mulh,
    /// rd = high 32 bits of unsigned rs1 * unsigned rs2
    Mulhu,
    /// rd = rs1 / rs2 signed, rounding toward zero; traps on zero; MIN / -1 = MIN
    Div,
    /// rd = rs1 / rs2 unsigned; traps on zero
    Divu,
    /// rd = rs1 % rs2 signed (sign of dividend); traps on zero; MIN % -1 = 0
    Rem,
    /// rd = rs1 % rs2 unsigned; traps on zero
    Remu,
}

impl AluOp {
    /// Every register-register operation, in opcode order (0x01..=0x11).
    pub const ALL: [AluOp; 17] = [
        AluOp::Add,
        AluOp::Sub,
        AluOp::And,
        AluOp::Or,
        AluOp::Xor,
        AluOp::Sll,
        AluOp::Srl,
        AluOp::Sra,
        AluOp::Slt,
        AluOp::Sltu,
        AluOp::Mul,
        AluOp::Mulh,
        AluOp::Mulhu,
        AluOp::Div,
        AluOp::Divu,
        AluOp::Rem,
        AluOp::Remu,
    ];

    /// True for the four operations that trap on a zero divisor.
    pub const fn is_division(self) -> bool {
        matches!(self, AluOp::Div | AluOp::Divu | AluOp::Rem | AluOp::Remu)
    }

    /// Computes the operation. `None` means divide by zero (the caller traps).
    #[inline]
    pub fn apply(self, a: u32, b: u32) -> Option<u32> {
        Some(match self {
            AluOp::Add => a.wrapping_add(b),
            AluOp::Sub => a.wrapping_sub(b),
            AluOp::And => a & b,
            AluOp::Or => a | b,
            AluOp::Xor => a ^ b,
            AluOp::Sll => a << (b & 31),
            AluOp::Srl => a >> (b & 31),
            AluOp::Sra => ((a as i32) >> (b & 31)) as u32,
            AluOp::Slt => ((a as i32) < (b as i32)) as u32,
            AluOp::Sltu => (a < b) as u32,
            AluOp::Mul => a.wrapping_mul(b),
            AluOp::Mulh => (((a as i32 as i64) * (b as i32 as i64)) >> 32) as u32,
            AluOp::Mulhu => (((a as u64) * (b as u64)) >> 32) as u32,
            AluOp::Div => {
                if b == 0 {
                    return None;
                }
                (a as i32).wrapping_div(b as i32) as u32
            }
            AluOp::Divu => a.checked_div(b)?,
            AluOp::Rem => {
                if b == 0 {
                    return None;
                }
                (a as i32).wrapping_rem(b as i32) as u32
            }
            AluOp::Remu => a.checked_rem(b)?,
        })
    }
}

/// Register-immediate ALU operations (`opi rd, rs1, imm`); the immediate is
/// sign-extended from 16 bits, or a shift amount 0..31.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ImmOp {
    /// rd = rs1 + imm
    Add,
    /// rd = rs1 & imm
    And,
    /// rd = rs1 | imm
    Or,
    /// rd = rs1 ^ imm
    Xor,
    /// rd = rs1 << imm (imm in 0..=31)
    Sll,
    /// rd = rs1 >> imm logical (imm in 0..=31)
    Srl,
    /// rd = rs1 >> imm arithmetic (imm in 0..=31)
    Sra,
    /// rd = (rs1 < imm) signed
    Slt,
    /// rd = (rs1 < imm as u32) unsigned
    Sltu,
}

impl ImmOp {
    /// Every register-immediate operation.
    pub const ALL: [ImmOp; 9] = [
        ImmOp::Add,
        ImmOp::And,
        ImmOp::Or,
        ImmOp::Xor,
        ImmOp::Sll,
        ImmOp::Srl,
        ImmOp::Sra,
        ImmOp::Slt,
        ImmOp::Sltu,
    ];

    /// The register-register operation with the same arithmetic.
    pub const fn alu_op(self) -> AluOp {
        match self {
            ImmOp::Add => AluOp::Add,
            ImmOp::And => AluOp::And,
            ImmOp::Or => AluOp::Or,
            ImmOp::Xor => AluOp::Xor,
            ImmOp::Sll => AluOp::Sll,
            ImmOp::Srl => AluOp::Srl,
            ImmOp::Sra => AluOp::Sra,
            ImmOp::Slt => AluOp::Slt,
            ImmOp::Sltu => AluOp::Sltu,
        }
    }

    /// True for the shifts, whose immediate is a shift amount 0..=31.
    pub const fn is_shift(self) -> bool {
        matches!(self, ImmOp::Sll | ImmOp::Srl | ImmOp::Sra)
    }

    /// Computes the operation (never traps).
    #[inline]
    pub fn apply(self, a: u32, imm: i32) -> u32 {
        let b = imm as u32;
        match self {
            ImmOp::Add => a.wrapping_add(b),
            ImmOp::And => a & b,
            ImmOp::Or => a | b,
            ImmOp::Xor => a ^ b,
            ImmOp::Sll => a << (b & 31),
            ImmOp::Srl => a >> (b & 31),
            ImmOp::Sra => ((a as i32) >> (b & 31)) as u32,
            ImmOp::Slt => ((a as i32) < imm) as u32,
            ImmOp::Sltu => (a < b) as u32,
        }
    }
}

/// Memory and port access widths.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Width {
    /// 8 bits.
    Byte,
    /// 16 bits.
    Half,
    /// 32 bits.
    Word,
}

impl Width {
    /// Every width.
    pub const ALL: [Width; 3] = [Width::Byte, Width::Half, Width::Word];

    /// Size in bytes.
    pub const fn bytes(self) -> u32 {
        match self {
            Width::Byte => 1,
            Width::Half => 2,
            Width::Word => 4,
        }
    }

    /// Mnemonic suffix: `b`, `h`, `w`.
    pub const fn suffix(self) -> &'static str {
        match self {
            Width::Byte => "b",
            Width::Half => "h",
            Width::Word => "w",
        }
    }
}

/// Loads: width and sign extension.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LoadOp {
    /// Byte, sign-extended.
    Lb,
    /// Half, sign-extended.
    Lh,
    /// Word.
    Lw,
    /// Byte, zero-extended.
    Lbu,
    /// Half, zero-extended.
    Lhu,
}

impl LoadOp {
    /// Every load.
    pub const ALL: [LoadOp; 5] = [LoadOp::Lb, LoadOp::Lh, LoadOp::Lw, LoadOp::Lbu, LoadOp::Lhu];

    /// The access width.
    pub const fn width(self) -> Width {
        match self {
            LoadOp::Lb | LoadOp::Lbu => Width::Byte,
            LoadOp::Lh | LoadOp::Lhu => Width::Half,
            LoadOp::Lw => Width::Word,
        }
    }

    /// Extends a raw value read from memory (in the low bits) to 32 bits.
    #[inline]
    pub const fn extend(self, raw: u32) -> u32 {
        match self {
            LoadOp::Lb => raw as u8 as i8 as i32 as u32,
            LoadOp::Lh => raw as u16 as i16 as i32 as u32,
            LoadOp::Lw => raw,
            LoadOp::Lbu => raw as u8 as u32,
            LoadOp::Lhu => raw as u16 as u32,
        }
    }
}

/// Branch conditions (`bxx rs1, rs2, target`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BranchCond {
    /// rs1 == rs2
    Eq,
    /// rs1 != rs2
    Ne,
    /// rs1 < rs2 signed
    Lt,
    /// rs1 >= rs2 signed
    Ge,
    /// rs1 < rs2 unsigned
    Ltu,
    /// rs1 >= rs2 unsigned
    Geu,
}

impl BranchCond {
    /// Every condition.
    pub const ALL: [BranchCond; 6] = [
        BranchCond::Eq,
        BranchCond::Ne,
        BranchCond::Lt,
        BranchCond::Ge,
        BranchCond::Ltu,
        BranchCond::Geu,
    ];

    /// Evaluates the condition.
    #[inline]
    pub const fn holds(self, a: u32, b: u32) -> bool {
        match self {
            BranchCond::Eq => a == b,
            BranchCond::Ne => a != b,
            BranchCond::Lt => (a as i32) < (b as i32),
            BranchCond::Ge => (a as i32) >= (b as i32),
            BranchCond::Ltu => a < b,
            BranchCond::Geu => a >= b,
        }
    }
}

/// One decoded instruction. Produced by [`decode`](crate::decode), consumed by
/// the interpreter, the disassembler, the translator and the trap classifier,
/// so they cannot disagree about an encoding.
///
/// Offsets are in bytes: branch and jump offsets are relative to the
/// instruction's own address and are multiples of 4.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Instr {
    /// `op rd, rs1, rs2`
    Alu {
        /// Operation.
        op: AluOp,
        /// Destination.
        rd: Reg,
        /// First source.
        rs1: Reg,
        /// Second source.
        rs2: Reg,
    },
    /// `opi rd, rs1, imm`
    AluImm {
        /// Operation.
        op: ImmOp,
        /// Destination.
        rd: Reg,
        /// Source.
        rs1: Reg,
        /// Sign-extended 16-bit immediate, or shift amount 0..=31.
        imm: i32,
    },
    /// `lui rd, imm`: rd = imm << 12 (imm is 20 bits).
    Lui {
        /// Destination.
        rd: Reg,
        /// Upper 20 bits.
        imm: u32,
    },
    /// `auipc rd, imm`: rd = pc + (imm << 12).
    Auipc {
        /// Destination.
        rd: Reg,
        /// Upper 20 bits.
        imm: u32,
    },
    /// `lX rd, off(rs1)`
    Load {
        /// Width and extension.
        op: LoadOp,
        /// Destination.
        rd: Reg,
        /// Base address register.
        rs1: Reg,
        /// Signed 16-bit byte offset.
        off: i32,
    },
    /// `sX rs2, off(rs1)`
    Store {
        /// Width.
        width: Width,
        /// Value register.
        rs2: Reg,
        /// Base address register.
        rs1: Reg,
        /// Signed 16-bit byte offset.
        off: i32,
    },
    /// `bxx rs1, rs2, target`
    Branch {
        /// Condition.
        cond: BranchCond,
        /// First operand.
        rs1: Reg,
        /// Second operand.
        rs2: Reg,
        /// Byte offset from this instruction, a multiple of 4 in -131072..=131068.
        off: i32,
    },
    /// `jal rd, target`: rd = pc + 4; pc += off.
    Jal {
        /// Link register.
        rd: Reg,
        /// Byte offset, a multiple of 4 in -2097152..=2097148.
        off: i32,
    },
    /// `jalr rd, off(rs1)`: t = rs1 + off; rd = pc + 4; pc = t.
    Jalr {
        /// Link register.
        rd: Reg,
        /// Base register.
        rs1: Reg,
        /// Signed 16-bit byte offset.
        off: i32,
    },
    /// `syscall`: trap with cause `syscall`.
    Syscall,
    /// `hypercall`: call the hypervisor (a VM exit in guest mode).
    Hypercall,
    /// `break`: trap with cause `breakpoint`.
    Break,
    /// `csrr rd, csr` (privileged)
    Csrr {
        /// Destination.
        rd: Reg,
        /// Control register read.
        csr: Csr,
    },
    /// `csrw csr, rs1` (privileged)
    Csrw {
        /// Control register written.
        csr: Csr,
        /// Source.
        rs1: Reg,
    },
    /// `sret`: return from trap (privileged).
    Sret,
    /// `tlbflush`: invalidate every TLB entry (privileged).
    TlbFlush,
    /// `tlbflushp rs1`: invalidate the TLB entry for the page holding the virtual
    /// address in rs1 (privileged).
    TlbFlushPage {
        /// Virtual address register.
        rs1: Reg,
    },
    /// `wfi`: wait for an interrupt (privileged).
    Wfi,
    /// `halt`: stop the processor (privileged).
    Halt,
    /// `getf rd`: read the flags (`status` & (MODE | IE)). Sensitive; privileged
    /// only in the strict profile.
    GetFlags {
        /// Destination.
        rd: Reg,
    },
    /// `setf rs1`: write the interrupt-enable flag from rs1. Sensitive; privileged
    /// only in the strict profile; in the legacy profile a user-mode `setf` does
    /// nothing.
    SetFlags {
        /// Source.
        rs1: Reg,
    },
    /// `inX rd, off(rs1)`: read port (rs1 + off) & 0xFFFF (privileged).
    In {
        /// Access width.
        width: Width,
        /// Destination.
        rd: Reg,
        /// Base register.
        rs1: Reg,
        /// Signed 16-bit offset.
        off: i32,
    },
    /// `outX rs2, off(rs1)`: write port (rs1 + off) & 0xFFFF (privileged).
    Out {
        /// Access width.
        width: Width,
        /// Value register.
        rs2: Reg,
        /// Base register.
        rs1: Reg,
        /// Signed 16-bit offset.
        off: i32,
    },
    /// A word that is not a valid encoding; executing it raises an
    /// illegal-instruction trap.
    Illegal(u32),
}
