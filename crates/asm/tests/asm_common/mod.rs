//! Helpers shared by the `asm_features_*` tests: assemble or expect an
//! error, read back words and instructions, and evaluate `lui`/`addi` code.

// Each test binary compiles this module and uses only part of it.
#![allow(dead_code)]

use vmlab_asm::{Image, assemble_str};
use vmlab_isa::{Instr, Reg, decode};

pub fn asm(src: &str) -> Image {
    assemble_str(src).unwrap_or_else(|e| panic!("assembly failed:\n{e}"))
}

pub fn err(src: &str) -> String {
    match assemble_str(src) {
        Ok(_) => panic!("expected an error for:\n{src}"),
        Err(e) => e.to_string(),
    }
}

/// The little-endian words of segment `i`.
pub fn words(img: &Image, i: usize) -> Vec<u32> {
    img.segments[i]
        .data
        .chunks(4)
        .map(|c| {
            let mut b = [0; 4];
            b[..c.len()].copy_from_slice(c);
            u32::from_le_bytes(b)
        })
        .collect()
}

pub fn instrs(img: &Image) -> Vec<Instr> {
    words(img, 0).into_iter().map(decode).collect()
}

/// Runs straight-line `lui`/`addi` code and returns register `rd`.
pub fn exec_value(code: &[Instr], rd: Reg) -> u32 {
    let mut regs = [0u32; 16];
    for i in code {
        match *i {
            Instr::Lui { rd, imm } => regs[rd.index()] = imm << 12,
            Instr::AluImm { op, rd, rs1, imm } => {
                regs[rd.index()] = op.apply(regs[rs1.index()], imm)
            }
            other => panic!("unexpected {other}"),
        }
        regs[0] = 0;
    }
    regs[rd.index()]
}
