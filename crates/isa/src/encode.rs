//! Encoding and decoding of 32-bit instruction words (docs/isa.md, "Encoding").
//!
//! Every word has the opcode in its top byte, so a hex dump reads as
//! `OP A B imm16`:
//!
//! | format | 31..24 | 23..20 | 19..16 | 15..12 | 11..0 |
//! |---|---|---|---|---|---|
//! | R | opcode | rd | rs1 | rs2 | 0 |
//! | I | opcode | rd | rs1 | imm16 (15..0) | |
//! | S | opcode | rs2 | rs1 | imm16 | |
//! | B | opcode | rs1 | rs2 | imm16 = offset / 4 | |
//! | U | opcode | rd | imm20 (19..0) | | |
//! | J | opcode | rd | imm20 = offset / 4 | | |
//! | C | opcode | rd | rs1 | csr number (15..0) | |
//! | N | opcode | rd or 0 | rs1 or 0 | 0 | |
//!
//! Bits a format does not use must be zero; otherwise the word is illegal.

use crate::instr::{AluOp, BranchCond, ImmOp, Instr, LoadOp, Width};
use crate::{Csr, Reg};

/// Opcode byte values (docs/isa.md has the full table).
pub mod op {
    /// First register-register ALU opcode (`add`); `AluOp::ALL[i]` is `ALU_BASE + i`.
    pub const ALU_BASE: u8 = 0x01;
    /// `addi`; other immediate ops are `0x20 +` their register-register opcode.
    pub const ADDI: u8 = 0x21;
    /// `andi`
    pub const ANDI: u8 = 0x23;
    /// `ori`
    pub const ORI: u8 = 0x24;
    /// `xori`
    pub const XORI: u8 = 0x25;
    /// `slli`
    pub const SLLI: u8 = 0x26;
    /// `srli`
    pub const SRLI: u8 = 0x27;
    /// `srai`
    pub const SRAI: u8 = 0x28;
    /// `slti`
    pub const SLTI: u8 = 0x29;
    /// `sltiu`
    pub const SLTIU: u8 = 0x2A;
    /// `lui`
    pub const LUI: u8 = 0x30;
    /// `auipc`
    pub const AUIPC: u8 = 0x31;
    /// `lb`
    pub const LB: u8 = 0x40;
    /// `lh`
    pub const LH: u8 = 0x41;
    /// `lw`
    pub const LW: u8 = 0x42;
    /// `lbu`
    pub const LBU: u8 = 0x44;
    /// `lhu`
    pub const LHU: u8 = 0x45;
    /// `sb`
    pub const SB: u8 = 0x48;
    /// `sh`
    pub const SH: u8 = 0x49;
    /// `sw`
    pub const SW: u8 = 0x4A;
    /// First branch opcode (`beq`); `BranchCond::ALL[i]` is `BRANCH_BASE + i`.
    pub const BRANCH_BASE: u8 = 0x50;
    /// `jal`
    pub const JAL: u8 = 0x58;
    /// `jalr`
    pub const JALR: u8 = 0x59;
    /// `syscall`
    pub const SYSCALL: u8 = 0x60;
    /// `hypercall`
    pub const HYPERCALL: u8 = 0x61;
    /// `break`
    pub const BREAK: u8 = 0x62;
    /// `csrr`
    pub const CSRR: u8 = 0x70;
    /// `csrw`
    pub const CSRW: u8 = 0x71;
    /// `sret`
    pub const SRET: u8 = 0x72;
    /// `tlbflush`
    pub const TLBFLUSH: u8 = 0x73;
    /// `tlbflushp`
    pub const TLBFLUSHP: u8 = 0x74;
    /// `wfi`
    pub const WFI: u8 = 0x75;
    /// `halt`
    pub const HALT: u8 = 0x76;
    /// `getf`
    pub const GETF: u8 = 0x78;
    /// `setf`
    pub const SETF: u8 = 0x79;
    /// `inb`; `inh` and `inw` follow.
    pub const IN_BASE: u8 = 0x80;
    /// `outb`; `outh` and `outw` follow.
    pub const OUT_BASE: u8 = 0x84;
}

/// Range of 16-bit signed immediates and offsets.
pub const IMM16_MIN: i32 = -0x8000;
/// Range of 16-bit signed immediates and offsets.
pub const IMM16_MAX: i32 = 0x7FFF;
/// Largest `lui`/`auipc` immediate (20 bits).
pub const IMM20_MAX: u32 = 0xF_FFFF;
/// Branch offsets in bytes: `imm16 * 4`.
pub const BRANCH_MIN: i32 = IMM16_MIN * 4;
/// Branch offsets in bytes: `imm16 * 4`.
pub const BRANCH_MAX: i32 = IMM16_MAX * 4;
/// Jump offsets in bytes: signed 20-bit field times 4.
pub const JUMP_MIN: i32 = -(1 << 19) * 4;
/// Jump offsets in bytes: signed 20-bit field times 4.
pub const JUMP_MAX: i32 = ((1 << 19) - 1) * 4;

/// Why an [`Instr`] cannot be encoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EncodeError {
    /// An immediate or offset does not fit its field.
    #[error("{what} {value} is out of range {min}..={max}")]
    OutOfRange {
        /// Which field.
        what: &'static str,
        /// The value given.
        value: i64,
        /// Smallest allowed.
        min: i64,
        /// Largest allowed.
        max: i64,
    },
    /// A branch or jump offset is not a multiple of 4.
    #[error("{what} {value} is not a multiple of 4")]
    Misaligned {
        /// Which field.
        what: &'static str,
        /// The value given.
        value: i32,
    },
    /// `Instr::Illegal` holding a word that decodes to a valid instruction.
    #[error("word {0:#010x} is a valid instruction, not an illegal one")]
    NotIllegal(u32),
}

fn range(what: &'static str, value: i64, min: i64, max: i64) -> Result<(), EncodeError> {
    if value < min || value > max {
        Err(EncodeError::OutOfRange {
            what,
            value,
            min,
            max,
        })
    } else {
        Ok(())
    }
}

fn imm16(what: &'static str, v: i32) -> Result<u32, EncodeError> {
    range(what, v.into(), IMM16_MIN.into(), IMM16_MAX.into())?;
    Ok(v as u32 & 0xFFFF)
}

fn word_offset(what: &'static str, v: i32, min: i32, max: i32) -> Result<i32, EncodeError> {
    if v % 4 != 0 {
        return Err(EncodeError::Misaligned { what, value: v });
    }
    range(what, v.into(), min.into(), max.into())?;
    Ok(v / 4)
}

fn word(opcode: u8, a: Reg, b: Reg, low16: u32) -> u32 {
    (opcode as u32) << 24 | (a.num() as u32) << 20 | (b.num() as u32) << 16 | (low16 & 0xFFFF)
}

fn imm_opcode(op: ImmOp) -> u8 {
    match op {
        ImmOp::Add => op::ADDI,
        ImmOp::And => op::ANDI,
        ImmOp::Or => op::ORI,
        ImmOp::Xor => op::XORI,
        ImmOp::Sll => op::SLLI,
        ImmOp::Srl => op::SRLI,
        ImmOp::Sra => op::SRAI,
        ImmOp::Slt => op::SLTI,
        ImmOp::Sltu => op::SLTIU,
    }
}

fn load_opcode(op: LoadOp) -> u8 {
    match op {
        LoadOp::Lb => op::LB,
        LoadOp::Lh => op::LH,
        LoadOp::Lw => op::LW,
        LoadOp::Lbu => op::LBU,
        LoadOp::Lhu => op::LHU,
    }
}

fn width_index(w: Width) -> u8 {
    match w {
        Width::Byte => 0,
        Width::Half => 1,
        Width::Word => 2,
    }
}

/// Encodes an instruction. Fails, never panics, when a field is out of range.
pub fn encode(instr: &Instr) -> Result<u32, EncodeError> {
    let z = Reg::ZERO;
    Ok(match *instr {
        Instr::Alu { op, rd, rs1, rs2 } => {
            let opcode = op::ALU_BASE + AluOp::ALL.iter().position(|o| *o == op).unwrap_or(0) as u8;
            word(opcode, rd, rs1, (rs2.num() as u32) << 12)
        }
        Instr::AluImm { op, rd, rs1, imm } => {
            let field = if op.is_shift() {
                range("shift amount", imm.into(), 0, 31)?;
                imm as u32
            } else {
                imm16("immediate", imm)?
            };
            word(imm_opcode(op), rd, rs1, field)
        }
        Instr::Lui { rd, imm } | Instr::Auipc { rd, imm } => {
            range("upper immediate", imm.into(), 0, IMM20_MAX.into())?;
            let opcode = if matches!(instr, Instr::Lui { .. }) {
                op::LUI
            } else {
                op::AUIPC
            };
            (opcode as u32) << 24 | (rd.num() as u32) << 20 | imm
        }
        Instr::Load { op, rd, rs1, off } => word(load_opcode(op), rd, rs1, imm16("offset", off)?),
        Instr::Store {
            width,
            rs2,
            rs1,
            off,
        } => word(op::SB + width_index(width), rs2, rs1, imm16("offset", off)?),
        Instr::Branch {
            cond,
            rs1,
            rs2,
            off,
        } => {
            let idx = BranchCond::ALL.iter().position(|c| *c == cond).unwrap_or(0) as u8;
            let w = word_offset("branch offset", off, BRANCH_MIN, BRANCH_MAX)?;
            word(op::BRANCH_BASE + idx, rs1, rs2, w as u32)
        }
        Instr::Jal { rd, off } => {
            let w = word_offset("jump offset", off, JUMP_MIN, JUMP_MAX)?;
            (op::JAL as u32) << 24 | (rd.num() as u32) << 20 | (w as u32 & IMM20_MAX)
        }
        Instr::Jalr { rd, rs1, off } => word(op::JALR, rd, rs1, imm16("offset", off)?),
        Instr::Syscall => (op::SYSCALL as u32) << 24,
        Instr::Hypercall => (op::HYPERCALL as u32) << 24,
        Instr::Break => (op::BREAK as u32) << 24,
        Instr::Csrr { rd, csr } => word(op::CSRR, rd, z, csr.number().into()),
        Instr::Csrw { csr, rs1 } => word(op::CSRW, z, rs1, csr.number().into()),
        Instr::Sret => (op::SRET as u32) << 24,
        Instr::TlbFlush => (op::TLBFLUSH as u32) << 24,
        Instr::TlbFlushPage { rs1 } => word(op::TLBFLUSHP, z, rs1, 0),
        Instr::Wfi => (op::WFI as u32) << 24,
        Instr::Halt => (op::HALT as u32) << 24,
        Instr::GetFlags { rd } => word(op::GETF, rd, z, 0),
        Instr::SetFlags { rs1 } => word(op::SETF, z, rs1, 0),
        Instr::In {
            width,
            rd,
            rs1,
            off,
        } => word(
            op::IN_BASE + width_index(width),
            rd,
            rs1,
            imm16("port offset", off)?,
        ),
        Instr::Out {
            width,
            rs2,
            rs1,
            off,
        } => word(
            op::OUT_BASE + width_index(width),
            rs2,
            rs1,
            imm16("port offset", off)?,
        ),
        Instr::Illegal(w) => {
            if !matches!(decode(w), Instr::Illegal(_)) {
                return Err(EncodeError::NotIllegal(w));
            }
            w
        }
    })
}

/// Decodes a word. Total: an undefined or malformed word decodes to
/// [`Instr::Illegal`], which the machine turns into an illegal-instruction trap.
#[inline]
pub fn decode(w: u32) -> Instr {
    decode_valid(w).unwrap_or(Instr::Illegal(w))
}

fn decode_valid(w: u32) -> Option<Instr> {
    let opcode = (w >> 24) as u8;
    let a = Reg::from_bits(w >> 20);
    let b = Reg::from_bits(w >> 16);
    let c = Reg::from_bits(w >> 12);
    let low12 = w & 0xFFF;
    let low16 = w & 0xFFFF;
    let simm16 = low16 as u16 as i16 as i32;
    let imm20 = w & IMM20_MAX;
    // Formats that leave fields unused require them to be zero.
    let only_opcode = w & 0x00FF_FFFF == 0;
    let only_a = w & 0x000F_FFFF == 0;
    let only_b = w & 0x00F0_FFFF == 0;
    let width = |base: u8| match opcode - base {
        0 => Some(Width::Byte),
        1 => Some(Width::Half),
        2 => Some(Width::Word),
        _ => None,
    };
    Some(match opcode {
        0x01..=0x11 => {
            if low12 != 0 {
                return None;
            }
            let op = AluOp::ALL[(opcode - op::ALU_BASE) as usize];
            Instr::Alu {
                op,
                rd: a,
                rs1: b,
                rs2: c,
            }
        }
        op::ADDI | op::ANDI | op::ORI | op::XORI | op::SLTI | op::SLTIU => {
            let op = match opcode {
                op::ADDI => ImmOp::Add,
                op::ANDI => ImmOp::And,
                op::ORI => ImmOp::Or,
                op::XORI => ImmOp::Xor,
                op::SLTI => ImmOp::Slt,
                _ => ImmOp::Sltu,
            };
            Instr::AluImm {
                op,
                rd: a,
                rs1: b,
                imm: simm16,
            }
        }
        op::SLLI | op::SRLI | op::SRAI => {
            if low16 > 31 {
                return None;
            }
            let op = match opcode {
                op::SLLI => ImmOp::Sll,
                op::SRLI => ImmOp::Srl,
                _ => ImmOp::Sra,
            };
            Instr::AluImm {
                op,
                rd: a,
                rs1: b,
                imm: low16 as i32,
            }
        }
        op::LUI => Instr::Lui { rd: a, imm: imm20 },
        op::AUIPC => Instr::Auipc { rd: a, imm: imm20 },
        op::LB | op::LH | op::LW | op::LBU | op::LHU => {
            let op = match opcode {
                op::LB => LoadOp::Lb,
                op::LH => LoadOp::Lh,
                op::LW => LoadOp::Lw,
                op::LBU => LoadOp::Lbu,
                _ => LoadOp::Lhu,
            };
            Instr::Load {
                op,
                rd: a,
                rs1: b,
                off: simm16,
            }
        }
        op::SB..=op::SW => Instr::Store {
            width: width(op::SB)?,
            rs2: a,
            rs1: b,
            off: simm16,
        },
        0x50..=0x55 => Instr::Branch {
            cond: BranchCond::ALL[(opcode - op::BRANCH_BASE) as usize],
            rs1: a,
            rs2: b,
            off: simm16 * 4,
        },
        op::JAL => {
            // Sign-extend the 20-bit word offset.
            let words = ((imm20 << 12) as i32) >> 12;
            Instr::Jal {
                rd: a,
                off: words * 4,
            }
        }
        op::JALR => Instr::Jalr {
            rd: a,
            rs1: b,
            off: simm16,
        },
        op::SYSCALL if only_opcode => Instr::Syscall,
        op::HYPERCALL if only_opcode => Instr::Hypercall,
        op::BREAK if only_opcode => Instr::Break,
        op::CSRR if w & 0x000F_0000 == 0 => Instr::Csrr {
            rd: a,
            csr: Csr::from_number(low16)?,
        },
        op::CSRW if w & 0x00F0_0000 == 0 => Instr::Csrw {
            csr: Csr::from_number(low16)?,
            rs1: b,
        },
        op::SRET if only_opcode => Instr::Sret,
        op::TLBFLUSH if only_opcode => Instr::TlbFlush,
        op::TLBFLUSHP if only_b => Instr::TlbFlushPage { rs1: b },
        op::WFI if only_opcode => Instr::Wfi,
        op::HALT if only_opcode => Instr::Halt,
        op::GETF if only_a => Instr::GetFlags { rd: a },
        op::SETF if only_b => Instr::SetFlags { rs1: b },
        0x80..=0x82 => Instr::In {
            width: width(op::IN_BASE)?,
            rd: a,
            rs1: b,
            off: simm16,
        },
        0x84..=0x86 => Instr::Out {
            width: width(op::OUT_BASE)?,
            rs2: a,
            rs1: b,
            off: simm16,
        },
        _ => return None,
    })
}
