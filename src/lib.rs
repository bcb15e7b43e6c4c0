//! vmlab: a virtualization teaching library.
//!
//! This facade re-exports the member crates so coursework can depend on one
//! crate: [`isa`] (the guest instruction set) and [`asm`] (assembler,
//! disassembler and image format). Later crates (machine, monitor, translator,
//! guest software, benchmarks) join as they land.
//!
//! ```
//! let image = vmlab::asm::assemble_str("start: addi a0, zero, 1\n halt\n").unwrap();
//! assert_eq!(image.entry, 0);
//! ```

#![forbid(unsafe_code)]

pub use vmlab_asm as asm;
pub use vmlab_isa as isa;
