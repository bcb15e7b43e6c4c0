//! The vmlab assembler and disassembler.
//!
//! [`assemble_str`], [`assemble_source`] and [`assemble_file`] turn assembly
//! text into an [`Image`]: segments, entry point, symbols and a line map.
//! Every problem in the source is reported, each as a [`Diagnostic`] that
//! points at file, line and column. [`disassemble`] turns an image back into
//! text that reassembles to the same bytes.
//!
//! The syntax follows `Instr`'s `Display` in vmlab-isa, so disassembly
//! reassembles:
//!
//! - statements: `add rd, rs1, rs2`, `addi rd, rs1, imm`, `lw rd, off(rs1)`
//!   (`(rs1)` means `0(rs1)`), `beq rs1, rs2, target` with `target` an
//!   absolute address (`.` is the current statement, so `.+8` works),
//!   `csrr rd, csr`; comments start with `#` or `;`.
//! - labels `name:` and local labels `1:` referenced as `1b`/`1f`.
//! - pseudo-instructions: `li la mv not neg j jr call ret nop seqz snez`,
//!   `beqz bnez bltz bgez blez bgtz`, `bgt ble bgtu bleu`.
//! - expressions in 64-bit arithmetic with C operators and precedence
//!   (including comparisons and `&&`/`||`), `%hi(x)`/`%lo(x)`, literals in
//!   decimal, `0x`, `0b`, `0o` with `_` separators, `'c'` ASCII characters;
//!   strings are stored as UTF-8, and each escape (`\n`, `\xNN`, ...) is one byte.
//! - directives: `.org`, `.align N` (to N bytes, N a power of two), `.byte`,
//!   `.half`, `.word`, `.ascii`, `.asciz`, `.space n[, fill]`, `.equ` and
//!   `.set` (redefinable; its value must be known where it is set),
//!   `.section text|data` (`.text`, `.data`),
//!   `.include`, `.if`/`.ifdef`/`.ifndef`/`.elif`/`.else`/`.endif`,
//!   `.macro name a, b=default` ... `.endm` (`\a`, `\@`, substituted outside
//!   literals and comments), `.global`, `.entry`.
//!
//! Layout: text starts at 0; data starts on the 4 KiB page after the text
//! unless `.org` in the data section places it. Entry point: `.entry`, else
//! `_start`, else the start of the text; it must lie inside the text, so
//! every image returned passes [`Image::validate`]. At most 100 errors are
//! reported, then a note says assembly stopped.
//!
//! Sizing rule worth knowing: `li` is one `addi` when its value is known at
//! that line and fits 16 signed bits, otherwise (including any forward
//! reference) `lui` + `addi`; `la` is always `lui` + `addi`.
//!
//! ```
//! use vmlab_asm::{assemble_str, disassemble};
//! use vmlab_isa::{decode, Instr, ImmOp, Reg};
//!
//! let image = assemble_str("
//!     .equ ANSWER, 6 * 7
//! _start:
//!     li a0, ANSWER        # one addi: the value is known and small
//!     halt
//! ").unwrap();
//! let text = &image.segments[0].data;
//! let word = u32::from_le_bytes(text[0..4].try_into().unwrap());
//! assert_eq!(decode(word), Instr::AluImm { op: ImmOp::Add, rd: Reg::A0, rs1: Reg::ZERO, imm: 42 });
//! assert_eq!(image.entry, 0);
//!
//! // Errors point at the line and the token.
//! let err = assemble_str("  addx a0, a1, a2").unwrap_err();
//! assert!(err.to_string().starts_with("error: unknown mnemonic `addx`\n  --> <input>:1:3"));
//!
//! // The disassembly reassembles to the same image.
//! let again = assemble_str(&disassemble(&image)).unwrap();
//! assert_eq!(again.segments, image.segments);
//! ```
//!
//! Words are stored little-endian in segments.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

// format: owned by the image-format module
pub mod format;
pub use format::{ImageError, MAGIC};
pub mod image;
pub use image::*;

mod cond;
mod diag;
mod directive;
mod disasm;
mod expr;
mod instrs;
mod lexer;
mod macros;
mod parse;
mod pass1;
mod pass2;
mod symbols;

use std::path::{Path, PathBuf};

pub use diag::{Diagnostic, Diagnostics, Severity};
pub use disasm::{disassemble, disassemble_words, format_instr};

/// Assembler options: where `.include` looks and what `-D` defines.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Options {
    /// Directories searched for `.include` files after the including file's own.
    pub include_dirs: Vec<PathBuf>,
    /// Symbols defined before the first line (`-D NAME=VALUE`), visible to
    /// `.if`/`.ifdef` and expressions; not listed in the image's symbols.
    pub defines: Vec<(String, i64)>,
}

/// A successful assembly.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Assembled {
    /// The program.
    pub image: Image,
    /// Every file read (the main file and includes), for a build script's
    /// `rerun-if-changed`.
    pub files_read: Vec<PathBuf>,
}

/// Assembles the file at `path`; includes are searched relative to it first.
pub fn assemble_file(path: &Path, opts: &Options) -> Result<Assembled, Diagnostics> {
    let name = path.display().to_string();
    let text = directive::read_text(&path.to_path_buf()).map_err(|msg| {
        Diagnostics(vec![Diagnostic {
            file: name.clone(),
            message: format!("cannot read `{name}`: {msg}"),
            ..Diagnostic::default()
        }])
    })?;
    let mut asm = pass1::Assembler::new(opts);
    asm.files_read.push(path.to_path_buf());
    asm.push_file(&name, Some(path.to_path_buf()), &text);
    run(asm)
}

/// Assembles `source`, named `name` in diagnostics; includes are searched
/// relative to the current directory, then `opts.include_dirs`.
pub fn assemble_source(name: &str, source: &str, opts: &Options) -> Result<Assembled, Diagnostics> {
    let mut asm = pass1::Assembler::new(opts);
    asm.push_file(name, None, source);
    run(asm)
}

/// Assembles a string with default options, named `<input>` in diagnostics.
pub fn assemble_str(source: &str) -> Result<Image, Diagnostics> {
    assemble_source("<input>", source, &Options::default()).map(|a| a.image)
}

fn run(mut asm: pass1::Assembler<'_>) -> Result<Assembled, Diagnostics> {
    asm.run();
    let image = pass2::finish(&mut asm)?;
    Ok(Assembled {
        image,
        files_read: asm.files_read,
    })
}

/// Parses a command-line define: `NAME=VALUE` (any literal, e.g. `0x10`,
/// `-1`, `'a'`) or `NAME` (value 1).
pub fn parse_define(s: &str) -> Result<(String, i64), String> {
    let (name, value) = match s.split_once('=') {
        Some((n, v)) => (n.trim(), Some(v.trim())),
        None => (s.trim(), None),
    };
    if !lexer::is_identifier(name) || name == "." {
        return Err(format!(
            "invalid define name `{name}`: expected a symbol name"
        ));
    }
    let Some(value) = value else {
        return Ok((name.to_string(), 1));
    };
    let bad = || format!("invalid value `{value}` for `{name}`: expected a number");
    let toks = lexer::lex(value).map_err(|_| bad())?;
    let e = expr::parse_expr(&toks, lexer::Span::default()).map_err(|_| bad())?;
    let syms = symbols::Symbols::default();
    let env = symbols::Env {
        syms: &syms,
        bases: [None, None],
        section: symbols::Section::Text,
        offset: 0,
        seq: 0,
        depth: 0,
    };
    let v = e.eval(&env).map_err(|_| bad())?;
    Ok((name.to_string(), v))
}
