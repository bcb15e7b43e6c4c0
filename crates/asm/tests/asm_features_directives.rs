//! Feature tests, directives and image fields: local labels, macros,
//! conditionals, placement (`.org`, `.align`, `.space`), sections, the entry
//! point, `.equ`/`.set`, the line map and includes.

mod asm_common;

use std::path::PathBuf;

use asm_common::{asm, err, exec_value, instrs, words};
use vmlab_asm::{Options, SegmentKind, SourceLoc, assemble_file, assemble_source, parse_define};
use vmlab_isa::{BranchCond, ImmOp, Instr, Reg};

#[test]
fn local_labels_resolve_to_nearest() {
    let img = asm("
    1:  nop
    1:  beq a0, a1, 1b
        j 1f
        j 1b
    1:  j 1b
    ");
    let code = instrs(&img);
    assert_eq!(
        code[1],
        Instr::Branch {
            cond: BranchCond::Eq,
            rs1: Reg::A0,
            rs2: Reg::A1,
            off: 0
        }
    );
    assert_eq!(
        code[2],
        Instr::Jal {
            rd: Reg::ZERO,
            off: 8
        }
    );
    assert_eq!(
        code[3],
        Instr::Jal {
            rd: Reg::ZERO,
            off: -8
        }
    );
    assert_eq!(
        code[4],
        Instr::Jal {
            rd: Reg::ZERO,
            off: 0
        }
    );
    assert!(img.symbols.is_empty(), "local labels are not symbols");
    assert!(err("j 2f").contains("no local label `2:` after this line"));
}

#[test]
fn macros_substitute_args_defaults_and_unique_labels() {
    let img = asm("
        .macro spin reg, count=3
        li \\reg, \\count
    loop\\@:
        addi \\reg, \\reg, -1
        bnez \\reg, loop\\@
        .endm
        spin a0
        spin a1, 7
    ");
    let code = instrs(&img);
    assert_eq!(
        code[0],
        Instr::AluImm {
            op: ImmOp::Add,
            rd: Reg::A0,
            rs1: Reg::ZERO,
            imm: 3
        }
    );
    assert_eq!(
        code[2],
        Instr::Branch {
            cond: BranchCond::Ne,
            rs1: Reg::A0,
            rs2: Reg::ZERO,
            off: -4
        }
    );
    assert_eq!(
        code[3],
        Instr::AluImm {
            op: ImmOp::Add,
            rd: Reg::A1,
            rs1: Reg::ZERO,
            imm: 7
        }
    );
    assert_eq!(
        code[5],
        Instr::Branch {
            cond: BranchCond::Ne,
            rs1: Reg::A1,
            rs2: Reg::ZERO,
            off: -4
        }
    );
    let names: Vec<&str> = img.symbols.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["loop1", "loop2"]);
    // Line map: expanded instructions map to the invocation lines.
    let lines: Vec<u32> = img.lines.iter().map(|l| l.1.line).collect();
    assert_eq!(lines, [8, 8, 8, 9, 9, 9]);
    assert!(err(".macro m a\n.endm\nm 1, 2").contains("macro `m` takes 1 argument, found 2"));
    assert!(err(".macro m a\nnop\n").contains("`.macro` without `.endm`"));
    assert!(err(".endm").contains("`.endm` without `.macro`"));
    assert!(err(".macro r\nr\n.endm\nr").contains("nested too deeply"));
}

#[test]
fn conditionals_nest_and_see_defines() {
    let src = "
        .if MODE == 1
          .word 1
        .elif MODE == 2
          .ifdef EXTRA
            .word 22
          .else
            .word 20
          .endif
        .else
          .ifndef EXTRA
            .word 30
          .endif
        .endif
        .if 0
          this is not assembled: \"unterminated
          .if 1
          .word 99
          .endif
        .endif
    ";
    let run = |defines: Vec<(String, i64)>| {
        let opts = Options {
            defines,
            ..Options::default()
        };
        let img = assemble_source("cond.s", src, &opts)
            .unwrap_or_else(|e| panic!("{e}"))
            .image;
        if img.segments.is_empty() {
            Vec::new()
        } else {
            words(&img, 0)
        }
    };
    let d = |s: &str| parse_define(s).unwrap();
    assert_eq!(run(vec![d("MODE=1")]), [1]);
    assert_eq!(run(vec![d("MODE=2")]), [20]);
    assert_eq!(run(vec![d("MODE=0x2"), d("EXTRA")]), [22]);
    assert_eq!(run(vec![d("MODE=3")]), [30]);
    // Nothing selected: a program without text is an error (no entry point).
    let opts = Options {
        defines: vec![d("MODE=3"), d("EXTRA=0")],
        ..Options::default()
    };
    let e = assemble_source("cond.s", src, &opts)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("no code: the program has no text section"),
        "{e}"
    );
    // Defines are visible but not image symbols.
    let opts = Options {
        defines: vec![d("X=5")],
        ..Options::default()
    };
    let img = assemble_source("d.s", "li a0, X", &opts).unwrap().image;
    assert!(img.symbols.is_empty());
    assert_eq!(parse_define("N=-4"), Ok(("N".into(), -4)));
    assert!(parse_define("1X=2").is_err());
    assert!(parse_define("X=abc").is_err());
    assert!(err(".if UNDEF\n.endif").contains("`.if` needs a value known at this line"));
}

#[test]
fn org_align_space_place_bytes() {
    let img = asm("
        .org 0x10
    a:  .byte 1
        .align 4
    b:  .byte 2
        .space 3, 0xAA
        .space 2
        .org 0x20
    c:  .half 0x1234
        .ascii \"hi\", \"!\"
        .asciz \"\\x41\\0\\t\"
    ");
    let seg = &img.segments[0];
    assert_eq!(seg.addr, 0x10);
    let mut expect = vec![1, 0, 0, 0, 2, 0xAA, 0xAA, 0xAA, 0, 0];
    expect.resize(0x10, 0);
    expect.extend([0x34, 0x12, b'h', b'i', b'!', 0x41, 0, 9, 0]);
    assert_eq!(seg.data, expect);
    let addr = |n: &str| img.symbols.iter().find(|s| s.name == n).unwrap().value;
    assert_eq!((addr("a"), addr("b"), addr("c")), (0x10, 0x14, 0x20));
    assert!(err(".align 3").contains("power of two"));
    assert!(err(".byte 1\nnop").contains("instruction at unaligned address 0x1"));
    assert!(err(".space 2, 256").contains("fill byte 256 is out of range"));
}

#[test]
fn sections_have_their_own_counters_and_data_follows_text() {
    let img = asm("
        .data
    d1: .word 1
        .text
    _start:
        la a0, d1
        .section data
    d2: .word d2
        .section text
        halt
    ");
    assert_eq!(img.segments.len(), 2);
    assert_eq!(
        (img.segments[0].kind, img.segments[0].addr),
        (SegmentKind::Text, 0)
    );
    assert_eq!(
        (img.segments[1].kind, img.segments[1].addr),
        (SegmentKind::Data, 0x1000)
    );
    assert_eq!(words(&img, 1), [1, 0x1004]);
    assert_eq!(exec_value(&instrs(&img)[..2], Reg::A0), 0x1000);
    assert_eq!(instrs(&img)[2], Instr::Halt);

    // A text larger than a page pushes data to the next page boundary.
    let img = asm(".space 0x1001\n.data\n.byte 7");
    assert_eq!(img.segments[1].addr, 0x2000);
    // `.org` in data fixes its base.
    let img = asm("nop\n.data\n.org 0x8000\nx: .word x");
    assert_eq!((img.segments[1].addr, words(&img, 1)[0]), (0x8000, 0x8000));
    let e = err("nop\nnop\n.data\n.org 0x4\n.word 1");
    assert!(
        e.contains("data segment 0x4..0x8 overlaps text segment 0x0..0x8"),
        "{e}"
    );
    assert!(err(".data\n.word 1\n.org 0x100").contains("must come before its first data"));
    assert!(err(".section bss").contains("unknown section `bss`"));
}

#[test]
fn entry_point_rules() {
    assert_eq!(asm(".org 0x40\nnop\nmain: halt\n.entry main").entry, 0x44);
    assert_eq!(asm(".org 0x40\nnop\n_start: halt").entry, 0x44);
    assert_eq!(asm(".org 0x40\nnop\nhalt").entry, 0x40);
    assert!(err(".entry nowhere\nnop").contains("undefined symbol `nowhere`"));
}

#[test]
fn equ_and_set_rules() {
    let img = asm("
        .set N, 1
        .word N
        .set N, 2
        .word N
        .equ LEN, end - start
    start: .word LEN
    end:
        .equ ZERO_ADDR, 0
    ");
    assert_eq!(words(&img, 0), [1, 2, 4]);
    let syms: Vec<(&str, u32, bool)> = img
        .symbols
        .iter()
        .map(|s| (s.name.as_str(), s.value, s.is_label))
        .collect();
    assert_eq!(
        syms,
        [
            ("ZERO_ADDR", 0, false),
            ("N", 2, false),
            ("LEN", 4, false),
            ("start", 8, true),
            ("end", 12, true)
        ]
    );
    assert!(err(".equ A, 1\n.equ A, 2").contains("symbol `A` is already defined"));
    assert!(err(".equ A, 1\n.set A, 2").contains("symbol `A` is already defined"));
    assert!(err("x: nop\n.set x, 2").contains("symbol `x` is already defined"));
    assert!(err(".equ A, B\n.equ B, A\n.word A").contains("circular definition"));
}

#[test]
fn line_map_points_at_each_instruction_and_directive() {
    let img = asm("_start:\n  li a0, 0x12345678\n  nop\n.data\n  .word 1, 2\n  .ascii \"x\"\n");
    let lines: Vec<(u32, u32)> = img.lines.iter().map(|(a, l)| (*a, l.line)).collect();
    assert_eq!(lines, [(0, 2), (4, 2), (8, 3), (0x1000, 5), (0x1008, 6)]);
    assert!(img.lines.iter().all(|l| l.1.file == 0));
    assert_eq!(img.files, ["<input>"]);
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("vmlab-asm-{name}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("inc")).unwrap();
    dir
}

#[test]
fn includes_search_own_dir_then_include_dirs() {
    let dir = temp_dir("include");
    std::fs::write(
        dir.join("main.s"),
        "_start:\n  .include \"local.s\"\n  .include \"lib.s\"\n  halt\n",
    )
    .unwrap();
    std::fs::write(dir.join("local.s"), "  li a0, VALUE\n").unwrap();
    std::fs::write(dir.join("inc/lib.s"), "  .equ VALUE, 9\n  nop\n  nop\n").unwrap();
    let opts = Options {
        include_dirs: vec![dir.join("inc")],
        ..Options::default()
    };
    let out = assemble_file(&dir.join("main.s"), &opts).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        out.files_read,
        [
            dir.join("main.s"),
            dir.join("local.s"),
            dir.join("inc/lib.s")
        ]
    );
    let img = &out.image;
    assert_eq!(img.files.len(), 3);
    assert_eq!(
        exec_value(&instrs(img)[..2], Reg::A0),
        9,
        "forward .equ: two instructions"
    );
    // Line map: the nop is line 2 of lib.s.
    let lib = img.files.iter().position(|f| f.ends_with("lib.s")).unwrap() as u32;
    assert_eq!(img.lines[2].1, SourceLoc { file: lib, line: 2 });
    // Without the include dir the file is not found.
    let e = assemble_file(&dir.join("main.s"), &Options::default())
        .unwrap_err()
        .to_string();
    assert!(e.contains("cannot find include file `lib.s`"), "{e}");
    let e = assemble_file(&dir.join("missing.s"), &Options::default())
        .unwrap_err()
        .to_string();
    assert!(e.contains("cannot read"), "{e}");
}
