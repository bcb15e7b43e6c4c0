//! Disassembly reassembles to the same bytes: random instruction words
//! through `disassemble_words`, and a real program through `disassemble`.
//!
//! 256 cases by default; set `VMLAB_LONG=1` for 20,000.

use proptest::prelude::*;
use vmlab_asm::{Image, Symbol, assemble_str, disassemble, disassemble_words, format_instr};
use vmlab_isa::{Instr, decode};

fn cases() -> u32 {
    if std::env::var_os("VMLAB_LONG").is_some() {
        20_000
    } else {
        256
    }
}

/// Every opcode byte that has valid encodings.
const OPCODES: &[u8] = &[
    0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x0E, 0x0F, 0x10,
    0x11, 0x21, 0x23, 0x24, 0x25, 0x26, 0x27, 0x28, 0x29, 0x2A, 0x30, 0x31, 0x40, 0x41, 0x42, 0x44,
    0x45, 0x48, 0x49, 0x4A, 0x50, 0x51, 0x52, 0x53, 0x54, 0x55, 0x58, 0x59, 0x60, 0x61, 0x62, 0x70,
    0x71, 0x72, 0x73, 0x74, 0x75, 0x76, 0x78, 0x79, 0x80, 0x81, 0x82, 0x84, 0x85, 0x86,
];

/// A word that is usually a valid instruction: a real opcode with random
/// operand bits, with fields that must be zero cleared when that makes it valid.
fn valid_word() -> impl Strategy<Value = u32> {
    (prop::sample::select(OPCODES), any::<u32>()).prop_map(|(op, bits)| {
        let w = u32::from(op) << 24 | bits & 0x00FF_FFFF;
        [
            w,
            w & 0xFFFF_F000,
            w & 0xFFFF_001F,
            w & 0xFF0F_000F,
            w & 0xFFF0_000F,
            w & 0xFF00_0000,
        ]
        .into_iter()
        .find(|w| !matches!(decode(*w), Instr::Illegal(_)))
        .unwrap_or(w)
    })
}

fn word() -> impl Strategy<Value = u32> {
    prop_oneof![4 => valid_word(), 1 => any::<u32>()]
}

fn bytes(words: &[u32]) -> Vec<u8> {
    words.iter().flat_map(|w| w.to_le_bytes()).collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases()))]

    #[test]
    fn words_reassemble(words in prop::collection::vec(word(), 1..48), base in 0u32..0x3FFF_0000) {
        let base = base & !3;
        let text = disassemble_words(base, &words);
        let img = assemble_str(&text).map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
        prop_assert_eq!(img.segments.len(), 1);
        prop_assert_eq!(img.segments[0].addr, base);
        prop_assert_eq!(&img.segments[0].data, &bytes(&words), "{}", text);
    }

    #[test]
    fn unaligned_base_reassembles(words in prop::collection::vec(word(), 1..8), base in 1u32..0x1000) {
        let text = disassemble_words(base, &words);
        let img = assemble_str(&text).map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
        prop_assert_eq!((img.segments[0].addr, &img.segments[0].data), (base, &bytes(&words)));
    }
}

const PROGRAM: &str = r#"
    .equ UART, 0x10
    .equ NEG, -2
    .global _start
_start:
    la s0, msg
    li a0, 3
loop:
    lbu a1, 0(s0)
    beqz a1, done
    outb a1, UART(zero)
    addi s0, s0, 1
    j loop
done:
    call helper
1:  bnez a0, 1b
    halt
helper:
    li a0, 0x12345678
    ret
    .word 0xffffffff
end_text:
    .section data
msg: .asciz "hello"
    .align 4
table: .word loop, done, NEG
odd: .byte 1, 2, 3
end_data:
"#;

fn labels_only(img: &Image) -> Vec<Symbol> {
    img.symbols
        .iter()
        .filter(|s| !s.name.starts_with("L_"))
        .cloned()
        .collect()
}

#[test]
fn program_reassembles_identically() {
    let img = assemble_str(PROGRAM).unwrap_or_else(|e| panic!("{e}"));
    let text = disassemble(&img);
    let again = assemble_str(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert_eq!(again.segments, img.segments, "{text}");
    assert_eq!(labels_only(&again), img.symbols, "{text}");
    assert_eq!(again.entry, img.entry);
    // The local label's target got a synthesized label, the rest kept names.
    assert!(text.contains("bne a0, zero, L_"), "{text}");
    assert!(text.contains("jal zero, loop"), "{text}");
    assert!(
        text.contains("\n.section data\n.org 0x00001000\nmsg:\n"),
        "{text}"
    );
    assert!(text.contains(".word 0xffffffff"), "{text}");
    // And a second round is a fixed point.
    assert_eq!(disassemble(&again), text);
}

#[test]
fn format_instr_uses_labels_or_relative_offsets() {
    let img = assemble_str("_start: j target\nnop\ntarget: beq a0, a1, .-4").unwrap();
    let jal = decode(u32::from_le_bytes(
        img.segments[0].data[0..4].try_into().unwrap(),
    ));
    assert_eq!(format_instr(&jal, 0, Some(&img)), "jal zero, target");
    assert_eq!(format_instr(&jal, 0, None), "jal zero, .+8");
    let beq = decode(u32::from_le_bytes(
        img.segments[0].data[8..12].try_into().unwrap(),
    ));
    assert_eq!(format_instr(&beq, 8, Some(&img)), "beq a0, a1, .-4");
}

#[test]
fn labels_outside_segments_become_constants() {
    let img = assemble_str("nop\n.org 0x20\nfar:\n").unwrap();
    let text = disassemble(&img);
    assert!(text.contains(".equ far, 0x20"), "{text}");
    assert_eq!(assemble_str(&text).unwrap().segments, img.segments);
}
