//! Feature tests, instructions: every expression operator, `%hi`/`%lo` and
//! `li`, each pseudo-instruction's expansion, and every instruction form
//! reassembling from its display.

mod asm_common;

use asm_common::{asm, err, exec_value, instrs, words};
use vmlab_isa::{AluOp, BranchCond, ImmOp, Instr, Reg};

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
