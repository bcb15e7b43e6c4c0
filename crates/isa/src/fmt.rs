//! Assembly-syntax rendering of an instruction, without symbols. The
//! disassembler in vmlab-asm adds labels; its output reassembles.

use std::fmt;

use crate::instr::{AluOp, BranchCond, ImmOp, Instr, LoadOp};

impl AluOp {
    /// Assembly mnemonic.
    pub const fn mnemonic(self) -> &'static str {
        match self {
            AluOp::Add => "add",
            AluOp::Sub => "sub",
            AluOp::And => "and",
            AluOp::Or => "or",
            AluOp::Xor => "xor",
            AluOp::Sll => "sll",
            AluOp::Srl => "srl",
            AluOp::Sra => "sra",
            AluOp::Slt => "slt",
            AluOp::Sltu => "sltu",
            AluOp::Mul => "mul",
            AluOp::Mulh => "mulh",
            AluOp::Mulhu => "mulhu",
            AluOp::Div => "div",
            AluOp::Divu => "divu",
            AluOp::Rem => "rem",
            AluOp::Remu => "remu",
        }
    }
}

impl ImmOp {
    /// Assembly mnemonic.
    pub const fn mnemonic(self) -> &'static str {
        match self {
            ImmOp::Add => "addi",
            ImmOp::And => "andi",
            ImmOp::Or => "ori",
            ImmOp::Xor => "xori",
            ImmOp::Sll => "slli",
            ImmOp::Srl => "srli",
            ImmOp::Sra => "srai",
            ImmOp::Slt => "slti",
            ImmOp::Sltu => "sltiu",
        }
    }
}

impl LoadOp {
    /// Assembly mnemonic.
    pub const fn mnemonic(self) -> &'static str {
        match self {
            LoadOp::Lb => "lb",
            LoadOp::Lh => "lh",
            LoadOp::Lw => "lw",
            LoadOp::Lbu => "lbu",
            LoadOp::Lhu => "lhu",
        }
    }
}

impl BranchCond {
    /// Assembly mnemonic.
    pub const fn mnemonic(self) -> &'static str {
        match self {
            BranchCond::Eq => "beq",
            BranchCond::Ne => "bne",
            BranchCond::Lt => "blt",
            BranchCond::Ge => "bge",
            BranchCond::Ltu => "bltu",
            BranchCond::Geu => "bgeu",
        }
    }
}

impl Instr {
    /// The assembly mnemonic (`.word` for an illegal word).
    pub fn mnemonic(&self) -> &'static str {
        match self {
            Instr::Alu { op, .. } => op.mnemonic(),
            Instr::AluImm { op, .. } => op.mnemonic(),
            Instr::Lui { .. } => "lui",
            Instr::Auipc { .. } => "auipc",
            Instr::Load { op, .. } => op.mnemonic(),
            Instr::Store { width, .. } => {
                ["sb", "sh", "sw"][width.bytes().trailing_zeros() as usize]
            }
            Instr::Branch { cond, .. } => cond.mnemonic(),
            Instr::Jal { .. } => "jal",
            Instr::Jalr { .. } => "jalr",
            Instr::Syscall => "syscall",
            Instr::Hypercall => "hypercall",
            Instr::Break => "break",
            Instr::Csrr { .. } => "csrr",
            Instr::Csrw { .. } => "csrw",
            Instr::Sret => "sret",
            Instr::TlbFlush => "tlbflush",
            Instr::TlbFlushPage { .. } => "tlbflushp",
            Instr::Wfi => "wfi",
            Instr::Halt => "halt",
            Instr::GetFlags { .. } => "getf",
            Instr::SetFlags { .. } => "setf",
            Instr::In { width, .. } => {
                ["inb", "inh", "inw"][width.bytes().trailing_zeros() as usize]
            }
            Instr::Out { width, .. } => {
                ["outb", "outh", "outw"][width.bytes().trailing_zeros() as usize]
            }
            Instr::Illegal(_) => ".word",
        }
    }

    /// Renders the instruction; `target` formats a branch or jump offset (the
    /// disassembler passes a closure that prints a label).
    pub fn render(&self, f: &mut dyn fmt::Write, target: &dyn Fn(i32) -> String) -> fmt::Result {
        let m = self.mnemonic();
        match *self {
            Instr::Alu { rd, rs1, rs2, .. } => write!(f, "{m} {rd}, {rs1}, {rs2}"),
            Instr::AluImm { rd, rs1, imm, .. } => write!(f, "{m} {rd}, {rs1}, {imm}"),
            Instr::Lui { rd, imm } | Instr::Auipc { rd, imm } => write!(f, "{m} {rd}, {imm:#x}"),
            Instr::Load { rd, rs1, off, .. } => write!(f, "{m} {rd}, {off}({rs1})"),
            Instr::Store { rs2, rs1, off, .. } => write!(f, "{m} {rs2}, {off}({rs1})"),
            Instr::Branch { rs1, rs2, off, .. } => write!(f, "{m} {rs1}, {rs2}, {}", target(off)),
            Instr::Jal { rd, off } => write!(f, "{m} {rd}, {}", target(off)),
            Instr::Jalr { rd, rs1, off } => write!(f, "{m} {rd}, {off}({rs1})"),
            Instr::Csrr { rd, csr } => write!(f, "{m} {rd}, {csr}"),
            Instr::Csrw { csr, rs1 } => write!(f, "{m} {csr}, {rs1}"),
            Instr::TlbFlushPage { rs1 } | Instr::SetFlags { rs1 } => write!(f, "{m} {rs1}"),
            Instr::GetFlags { rd } => write!(f, "{m} {rd}"),
            Instr::In { rd, rs1, off, .. } => write!(f, "{m} {rd}, {off}({rs1})"),
            Instr::Out { rs2, rs1, off, .. } => write!(f, "{m} {rs2}, {off}({rs1})"),
            Instr::Illegal(w) => write!(f, "{m} {w:#010x}"),
            Instr::Syscall
            | Instr::Hypercall
            | Instr::Break
            | Instr::Sret
            | Instr::TlbFlush
            | Instr::Wfi
            | Instr::Halt => f.write_str(m),
        }
    }
}

/// Formats a pc-relative offset as an expression on `.` (the current address),
/// which the assembler accepts: `.+8`, `.-12`, `.`.
pub fn relative(off: i32) -> String {
    match off {
        0 => ".".to_string(),
        o if o > 0 => format!(".+{o}"),
        o => format!(".{o}"),
    }
}

impl fmt::Display for Instr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = String::new();
        self.render(&mut s, &relative)?;
        f.write_str(&s)
    }
}
