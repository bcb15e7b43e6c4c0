//! Regression tests for assembler bugs that have been fixed: each test failed
//! before its fix.

use std::time::{Duration, Instant};

use vmlab_asm::{Image, Severity, assemble_str};

fn asm(src: &str) -> Image {
    let img = assemble_str(src).unwrap_or_else(|e| panic!("assembly failed:\n{e}"));
    img.validate()
        .unwrap_or_else(|e| panic!("assembled image does not validate: {e}\n{src}"));
    img
}

fn err(src: &str) -> String {
    match assemble_str(src) {
        Ok(_) => panic!("expected an error for:\n{src}"),
        Err(e) => e.to_string(),
    }
}

/// The bytes of the segment at `addr`.
fn bytes_at(img: &Image, addr: u32) -> &[u8] {
    &img.segments
        .iter()
        .find(|s| s.addr == addr)
        .unwrap_or_else(|| panic!("no segment at {addr:#x}"))
        .data
}

// 1. Non-ASCII text in strings is UTF-8, always.

#[test]
fn strings_are_utf8() {
    let img = asm("_start: halt\n.data\n.ascii \"é€\", \"\\xe9\"\n");
    // é is U+00E9 (two UTF-8 bytes), € is U+20AC (three); `\xNN` stays one byte.
    assert_eq!(bytes_at(&img, 0x1000), [0xc3, 0xa9, 0xe2, 0x82, 0xac, 0xe9]);
    let img = asm("_start: halt\n.data\n.asciz \"ÿ\"\n");
    assert_eq!(bytes_at(&img, 0x1000), [0xc3, 0xbf, 0]);
}

#[test]
fn non_ascii_char_literal_is_an_error() {
    let e = err("_start: li a0, 'é'\nhalt");
    assert!(
        e.contains("non-ASCII character `é` in a character literal"),
        "{e}"
    );
    assert!(e.contains("\\xNN"), "{e}");
    assert!(err("_start: li a0, '€'\nhalt").contains("non-ASCII"));
    // An escape for a byte above 0x7f is still fine.
    let img = asm("_start: halt\n.data\n.byte '\\xe9', 'a'\n");
    assert_eq!(bytes_at(&img, 0x1000), [0xe9, b'a']);
}

// 2. `.align` in a data section whose address is not fixed says what the limit is.

#[test]
fn align_error_names_the_data_section_limit() {
    let e = err("_start: halt\n.data\n.align 8192\n.word 1");
    assert!(!e.contains("needs a power of two"), "{e}");
    assert!(e.contains("4096"), "{e}");
    assert!(e.contains("not fixed"), "{e}");
    // With the data address fixed by `.org`, larger alignments work.
    let img = asm("_start: halt\n.data\n.org 0x4000\n.byte 1\n.align 8192\n.byte 2");
    assert_eq!(img.segments[1].addr, 0x4000);
    assert_eq!(img.segments[1].data.len(), 0x2001);
    // Real non-powers of two still say so.
    assert!(err(".align 12").contains("power of two"));
    assert!(err(".align 0x200000").contains("1048576"));
}

// 3. Macro parameters are substituted outside literals and comments only.

#[test]
fn macro_params_do_not_capture_string_escapes() {
    let img = asm("
        .macro str n, t, r
        .byte \\n, \\t, \\r          # \\n stays in this comment
        .ascii \"a\\n\\t\\r\", \"\\\\n\"
        .byte '\\n', '\\t'
        .endm
_start: halt
        .data
        str 7, 8, 9
    ");
    let mut want = vec![7, 8, 9];
    want.extend_from_slice(b"a\n\t\r\\n");
    want.extend_from_slice(b"\n\t");
    assert_eq!(bytes_at(&img, 0x1000), want);
}

#[test]
fn macro_params_are_not_substituted_in_comments() {
    // The rendered error shows the line after substitution: the operand is
    // replaced, the comment is left as written.
    let e = err("
        .macro m x
        addx a0, a0, \\x   # uses \\x and \\@
        .endm
_start: m 5
    ");
    assert!(e.contains("addx a0, a0, 5   # uses \\x and \\@"), "{e}");
}

#[test]
fn macro_unique_label_still_works() {
    let img = asm("
        .macro spin
    l\\@: j l\\@
        .endm
_start: spin
        spin
    ");
    assert_eq!(img.segments[0].data.len(), 8);
    let names: Vec<&str> = img.symbols.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["_start", "l1", "l2"]);
}

// 4. `.set` captures the value current at each line.

#[test]
fn set_use_before_first_set_is_undefined() {
    let e = err("_start: .word N\n.set N, 1\n.set N, 2");
    assert!(e.contains("undefined symbol `N`"), "{e}");
    assert!(e.contains("<input>:1:"), "{e}");
    let e = err("_start: li a0, N\nhalt\n.set N, 5");
    assert!(e.contains("undefined symbol `N`"), "{e}");
    // A forward `.equ` that refers to a `.set` symbol set after it.
    let e = err(".equ A, N + 1\n_start: .word A\n.set N, 5");
    assert!(e.contains("undefined symbol `N`"), "{e}");
}

#[test]
fn set_value_with_forward_reference_is_an_error() {
    let e = err("_start: .set N, later\n.word N\nlater: .set N, 3\n.word N");
    assert!(
        e.contains("`.set` values must be known where they are set"),
        "{e}"
    );
    assert!(e.contains("use `.equ` for forward references"), "{e}");
    assert!(e.contains("<input>:1:"), "{e}");
    // A backward reference is fine, and each use sees its own value.
    let img = asm("_start: .word 0\nhere: .set N, here\n.word N\n.set N, N + 4\n.word N");
    assert_eq!(img.segments[0].data, [0, 0, 0, 0, 4, 0, 0, 0, 8, 0, 0, 0]);
}

// 5. The entry point is checked by the assembler, at the `.entry` line.

#[test]
fn data_only_program_is_an_error() {
    let e = err(".data\n.word 1\n");
    assert!(
        e.contains("no code: the program has no text section"),
        "{e}"
    );
    let e = err("");
    assert!(e.contains("no code"), "{e}");
}

#[test]
fn entry_outside_text_is_reported_at_the_entry_line() {
    let e = err("_start: halt\n.data\nd: .word 1\n.entry d\n");
    assert!(e.contains("<input>:4:"), "{e}");
    assert!(e.contains("not inside the text segment"), "{e}");
    assert!(!e.contains("_start"), "{e}");
    let e = err("nop\n.entry 0x100\n");
    assert!(e.contains("<input>:2:8"), "{e}");
    let e = err(".data\n.word 1\n.entry 0x1000\n");
    assert!(e.contains("<input>:3:"), "{e}");
    assert!(e.contains("no text"), "{e}");
}

#[test]
fn start_label_outside_text_is_reported_at_the_label() {
    let e = err("nop\n.data\n_start: .word 1\n");
    assert!(e.contains("<input>:3:1"), "{e}");
    assert!(e.contains("`_start`"), "{e}");
    // One past the last instruction is outside the segment too.
    let e = err("nop\n_start:\n");
    assert!(e.contains("<input>:2:1"), "{e}");
}

// 6. The number of errors is capped.

#[test]
fn errors_are_capped_at_100() {
    let src = "bogus\n".repeat(500);
    let e = assemble_str(&src).unwrap_err();
    assert_eq!(e.0.len(), 101);
    let last = e.0.last().unwrap();
    assert_eq!(last.message, "too many errors; stopping after 100");
    assert_eq!(last.severity, Severity::Note);
    assert!(e.0[..100].iter().all(|d| d.severity == Severity::Error));
    assert_eq!(e.0[99].line, 100);
    assert!(
        e.to_string()
            .ends_with("note: too many errors; stopping after 100\n  --> <input>")
    );
}

#[test]
fn runaway_recursive_macro_stops_quickly() {
    let start = Instant::now();
    let e = assemble_str(".macro m\nm\nm\n.endm\nm").unwrap_err();
    assert!(e.0.len() <= 101, "{} diagnostics", e.0.len());
    assert!(e.to_string().contains("nested too deeply"));
    assert!(
        start.elapsed() < Duration::from_secs(1),
        "took {:?}",
        start.elapsed()
    );
}

#[test]
fn fewer_than_100_errors_have_no_note() {
    let e = assemble_str(&"bogus\n".repeat(100)).unwrap_err();
    assert_eq!(e.0.len(), 100);
    assert!(e.0.iter().all(|d| d.severity == Severity::Error));
}

// 7. Local labels are decimal digits only.

#[test]
fn non_decimal_local_label_is_an_error() {
    for (src, label) in [
        ("0x10: nop", "0x10"),
        ("0b1: nop", "0b1"),
        ("'a': nop", "'a'"),
        ("1_0: nop", "1_0"),
    ] {
        let e = err(src);
        assert!(e.contains(&format!("invalid local label `{label}`")), "{e}");
        assert!(e.contains("decimal digits"), "{e}");
    }
    let img = asm("10: nop\nj 10b");
    assert_eq!(img.segments[0].data.len(), 8);
}
