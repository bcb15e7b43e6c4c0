//! Feature tests: every directive, expression operator, pseudo-instruction
//! and image field the assembler promises.

use std::path::PathBuf;

use vmlab_asm::{
    Image, Options, SegmentKind, SourceLoc, assemble_file, assemble_source, assemble_str,
    parse_define,
};
use vmlab_isa::{AluOp, BranchCond, ImmOp, Instr, Reg, decode};

fn asm(src: &str) -> Image {
    assemble_str(src).unwrap_or_else(|e| panic!("assembly failed:\n{e}"))
}

fn err(src: &str) -> String {
    match assemble_str(src) {
        Ok(_) => panic!("expected an error for:\n{src}"),
        Err(e) => e.to_string(),
    }
}

/// The little-endian words of segment `i`.
fn words(img: &Image, i: usize) -> Vec<u32> {
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

fn instrs(img: &Image) -> Vec<Instr> {
    words(img, 0).into_iter().map(decode).collect()
}

/// Runs straight-line `lui`/`addi` code and returns register `rd`.
fn exec_value(code: &[Instr], rd: Reg) -> u32 {
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

#[test]
fn expression_operators_follow_c_precedence() {
    let img = asm("
        .word 1 + 2 * 3, (1 + 2) * 3, 7 / 2, -7 % 3, 1 << 4, 256 >> 4
        .word 6 & 3, 6 ^ 3, 6 | 3, ~0, -5, +5, 'A', '\\n', 0b1010, 0o17, 1_000
        .word 1 | 2 ^ 3 & 1, 1 + 1 << 2, 0x7fffffff, -0x80000000, 0xffffffff
        .word 1 < 2 == 1, 2 <= 1, 3 > 2, 2 >= 3, 1 != 2, 1 && 0 || 1, !5
    ");
    let expect: Vec<u32> = vec![
        7,
        9,
        3,
        (-1i32) as u32,
        16,
        16,
        2,
        5,
        7,
        u32::MAX,
        (-5i32) as u32,
        5,
        65,
        10,
        10,
        15,
        1000,
        1 | (2 ^ (3 & 1)),
        8,
        0x7fff_ffff,
        0x8000_0000,
        0xffff_ffff,
        1,
        0,
        1,
        0,
        1,
        1,
        0,
    ];
    assert_eq!(words(&img, 0), expect);
    assert!(err(".word 1 / 0").contains("division by zero"));
    assert!(err(".word 5 % (3 - 3)").contains("division by zero"));
    assert!(err(".word 1 << 70").contains("shift amount 70 is out of range"));
    assert!(err(".word 0x100000000").contains("does not fit in `.word`"));
    assert!(err(".half 65536").contains("does not fit in `.half`"));
    assert!(err(".byte -129").contains("does not fit in `.byte`"));
}

#[test]
fn hi_lo_and_li_compute_the_value_with_carry() {
    for v in [
        0x1234_5FFFu32,
        0xFFFF_FFFF,
        0x8000_0000,
        0x7FFF,
        0x8000,
        0xFFFF_8000,
        0,
        0x800,
        0x1000_0800,
    ] {
        let img = asm(&format!(
            "li a0, {v:#x}\nlui t0, %hi({v:#x})\naddi t0, t0, %lo({v:#x})"
        ));
        let code = instrs(&img);
        let li_len = code.len() - 2;
        assert_eq!(exec_value(&code[..li_len], Reg::A0), v, "li {v:#x}");
        assert_eq!(exec_value(&code[li_len..], Reg::T0), v, "%hi/%lo {v:#x}");
        let small = (v as i32) >= -32768 && (v as i32) <= 32767;
        assert_eq!(li_len, if small { 1 } else { 2 }, "li {v:#x} size");
    }
    // Negative values and forward references.
    let img = asm("li a1, -1\nli a2, later\nlater: li a3, -32769\n");
    let code = instrs(&img);
    assert_eq!(
        code.len(),
        1 + 2 + 2,
        "forward reference uses two instructions"
    );
    assert_eq!(exec_value(&code[..1], Reg::A1), u32::MAX);
    assert_eq!(exec_value(&code[1..3], Reg::A2), 12);
    assert_eq!(exec_value(&code[3..], Reg::A3), (-32769i32) as u32);
    assert!(err("li a0, 0x100000000").contains("value 4294967296 is out of range"));
}

#[test]
fn pseudo_instructions_expand_as_documented() {
    let img = asm("
        mv a0, a1
        not a0, a1
        neg a0, a1
        nop
        seqz a0, a1
        snez a0, a1
        jr t0
        ret
        j .
        call .
        beqz a0, .
        bnez a0, .
        bltz a0, .
        bgez a0, .
        blez a0, .
        bgtz a0, .
        bgt a0, a1, .
        ble a0, a1, .
        bgtu a0, a1, .
        bleu a0, a1, .
        la t1, 0x12345678
    ");
    use BranchCond::*;
    let (z, a0, a1) = (Reg::ZERO, Reg::A0, Reg::A1);
    let br = |cond, rs1, rs2| Instr::Branch {
        cond,
        rs1,
        rs2,
        off: 0,
    };
    let expect = vec![
        Instr::AluImm {
            op: ImmOp::Add,
            rd: a0,
            rs1: a1,
            imm: 0,
        },
        Instr::AluImm {
            op: ImmOp::Xor,
            rd: a0,
            rs1: a1,
            imm: -1,
        },
        Instr::Alu {
            op: AluOp::Sub,
            rd: a0,
            rs1: z,
            rs2: a1,
        },
        Instr::AluImm {
            op: ImmOp::Add,
            rd: z,
            rs1: z,
            imm: 0,
        },
        Instr::AluImm {
            op: ImmOp::Sltu,
            rd: a0,
            rs1: a1,
            imm: 1,
        },
        Instr::Alu {
            op: AluOp::Sltu,
            rd: a0,
            rs1: z,
            rs2: a1,
        },
        Instr::Jalr {
            rd: z,
            rs1: Reg::T0,
            off: 0,
        },
        Instr::Jalr {
            rd: z,
            rs1: Reg::RA,
            off: 0,
        },
        Instr::Jal { rd: z, off: 0 },
        Instr::Jal {
            rd: Reg::RA,
            off: 0,
        },
        br(Eq, a0, z),
        br(Ne, a0, z),
        br(Lt, a0, z),
        br(Ge, a0, z),
        br(Ge, z, a0),
        br(Lt, z, a0),
        br(Lt, a1, a0),
        br(Ge, a1, a0),
        br(Ltu, a1, a0),
        br(Geu, a1, a0),
        Instr::Lui {
            rd: Reg::T1,
            imm: 0x12345,
        },
        Instr::AluImm {
            op: ImmOp::Add,
            rd: Reg::T1,
            rs1: Reg::T1,
            imm: 0x678,
        },
    ];
    assert_eq!(instrs(&img), expect);
}

#[test]
fn every_instruction_form_reassembles_from_its_display() {
    let src = "
        add a0, a1, a2
        mulhu s3, t3, r0
        addi a0, sp, -32768
        srai t0, t1, 31
        lui a0, 0xfffff
        auipc ra, 0x1
        lb a0, -4(sp)
        lhu a0, 0(a1)
        sw a1, 32767(a0)
        sb zero, 0(zero)
        jalr ra, 8(t0)
        csrr a0, status
        csrw tvec, a1
        csrr t0, cycleh
        tlbflushp a0
        getf a0
        setf a1
        inb a0, 0(t0)
        outw a1, 4(t0)
        syscall
        hypercall
        break
        sret
        tlbflush
        wfi
        halt
        .word 0xffffffff
    ";
    let img = asm(src);
    let shown: Vec<String> = instrs(&img).iter().map(|i| i.to_string()).collect();
    let written: Vec<String> = src
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|l| l.replace("r0", "zero"))
        .collect();
    assert_eq!(shown, written);
    // Register aliases, `(reg)` without an offset.
    let img = asm("lw a0, (fp)\nadd r3, r4, r5");
    assert_eq!(
        instrs(&img)[0],
        Instr::Load {
            op: vmlab_isa::LoadOp::Lw,
            rd: Reg::A0,
            rs1: Reg::S0,
            off: 0
        }
    );
    assert_eq!(instrs(&img)[1].to_string(), "add a0, a1, a2");
}

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
