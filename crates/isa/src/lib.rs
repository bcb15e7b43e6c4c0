//! The vmlab guest instruction set, as specified in `docs/isa.md`.
//!
//! A 32-bit, little-endian, byte-addressed RISC with sixteen registers, fixed
//! 32-bit instruction words, two privilege modes, control registers, two-level
//! paging, port I/O, and two profiles that differ in whether every sensitive
//! instruction is privileged (Popek & Goldberg's condition).
//!
//! Decode once: [`decode`] turns a word into an [`Instr`] that every other
//! part of vmlab matches on. [`abi`] holds the paravirtualization ABI
//! (hypercalls, boot information, shared page, rings; `docs/hypercalls.md`).
//!
//! ```
//! use vmlab_isa::{decode, encode, Instr, ImmOp, Profile, Reg};
//!
//! let addi = Instr::AluImm { op: ImmOp::Add, rd: Reg::A0, rs1: Reg::ZERO, imm: 42 };
//! let word = encode(&addi).unwrap();
//! assert_eq!(word, 0x2130_002A); // opcode 0x21, rd = r3, rs1 = r0, imm = 42
//! assert_eq!(decode(word), addi);
//! assert_eq!(addi.to_string(), "addi a0, zero, 42");
//!
//! // `getf` reads the mode: sensitive, but privileged only in the strict profile.
//! let getf = Instr::GetFlags { rd: Reg::T0 };
//! assert!(getf.is_sensitive());
//! assert!(getf.is_privileged(Profile::Strict));
//! assert!(!getf.is_privileged(Profile::Legacy));
//! ```

#![forbid(unsafe_code)]

pub mod abi;
mod classify;
pub mod csr;
mod encode;
mod fmt;
mod instr;
pub mod paging;
mod profile;
mod reg;
mod trap;

pub use csr::Csr;
pub use encode::{
    BRANCH_MAX, BRANCH_MIN, EncodeError, IMM16_MAX, IMM16_MIN, IMM20_MAX, JUMP_MAX, JUMP_MIN,
    decode, encode, op,
};
pub use fmt::relative;
pub use instr::{AluOp, BranchCond, ImmOp, Instr, LoadOp, Width};
pub use paging::Access;
pub use profile::{ParseProfileError, Profile};
pub use reg::{ABI_NAMES, Reg};
pub use trap::{Cause, Exception, INTERRUPT_BIT};

/// Size of an instruction word in bytes.
pub const INSTR_BYTES: u32 = 4;

/// Computes `%hi(x)` and `%lo(x)`: the `lui` immediate and the low part for
/// `addi`, such that `(hi << 12) + lo == x` (wrapping) with `lo` in -2048..=2047.
///
/// The carry: `lo` is sign-extended by `addi`, so when bit 11 of `x` is set the
/// upper part must be one larger.
pub const fn split_hi_lo(x: u32) -> (u32, i32) {
    let hi = (x.wrapping_add(0x800) >> 12) & IMM20_MAX;
    let lo = (x.wrapping_sub(hi << 12)) as i32;
    (hi, lo)
}
