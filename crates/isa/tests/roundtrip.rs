//! Encode/decode properties and table tests against docs/isa.md.

use proptest::prelude::*;
use vmlab_isa::*;

fn cases() -> u32 {
    if std::env::var_os("VMLAB_LONG").is_some() {
        200_000
    } else {
        2_000
    }
}

fn reg() -> impl Strategy<Value = Reg> {
    (0u8..16).prop_map(|n| Reg::new(n).unwrap())
}

fn width() -> impl Strategy<Value = Width> {
    prop::sample::select(Width::ALL.to_vec())
}

fn imm16() -> impl Strategy<Value = i32> {
    IMM16_MIN..=IMM16_MAX
}

/// Every valid instruction, with every field in range.
fn instr() -> impl Strategy<Value = Instr> {
    prop_oneof![
        (
            prop::sample::select(AluOp::ALL.to_vec()),
            reg(),
            reg(),
            reg()
        )
            .prop_map(|(op, rd, rs1, rs2)| Instr::Alu { op, rd, rs1, rs2 }),
        (
            prop::sample::select(ImmOp::ALL.to_vec()),
            reg(),
            reg(),
            imm16()
        )
            .prop_map(|(op, rd, rs1, imm)| {
                let imm = if op.is_shift() {
                    imm.rem_euclid(32)
                } else {
                    imm
                };
                Instr::AluImm { op, rd, rs1, imm }
            }),
        (reg(), 0..=IMM20_MAX).prop_map(|(rd, imm)| Instr::Lui { rd, imm }),
        (reg(), 0..=IMM20_MAX).prop_map(|(rd, imm)| Instr::Auipc { rd, imm }),
        (
            prop::sample::select(LoadOp::ALL.to_vec()),
            reg(),
            reg(),
            imm16()
        )
            .prop_map(|(op, rd, rs1, off)| Instr::Load { op, rd, rs1, off }),
        (width(), reg(), reg(), imm16()).prop_map(|(width, rs2, rs1, off)| Instr::Store {
            width,
            rs2,
            rs1,
            off
        }),
        (
            prop::sample::select(BranchCond::ALL.to_vec()),
            reg(),
            reg(),
            imm16()
        )
            .prop_map(|(cond, rs1, rs2, w)| Instr::Branch {
                cond,
                rs1,
                rs2,
                off: w * 4
            }),
        (reg(), (JUMP_MIN / 4)..=(JUMP_MAX / 4)).prop_map(|(rd, w)| Instr::Jal { rd, off: w * 4 }),
        (reg(), reg(), imm16()).prop_map(|(rd, rs1, off)| Instr::Jalr { rd, rs1, off }),
        (reg(), prop::sample::select(Csr::ALL.to_vec()))
            .prop_map(|(rd, csr)| Instr::Csrr { rd, csr }),
        (reg(), prop::sample::select(Csr::ALL.to_vec()))
            .prop_map(|(rs1, csr)| Instr::Csrw { csr, rs1 }),
        reg().prop_map(|rs1| Instr::TlbFlushPage { rs1 }),
        reg().prop_map(|rd| Instr::GetFlags { rd }),
        reg().prop_map(|rs1| Instr::SetFlags { rs1 }),
        (width(), reg(), reg(), imm16()).prop_map(|(width, rd, rs1, off)| Instr::In {
            width,
            rd,
            rs1,
            off
        }),
        (width(), reg(), reg(), imm16()).prop_map(|(width, rs2, rs1, off)| Instr::Out {
            width,
            rs2,
            rs1,
            off
        }),
        prop::sample::select(vec![
            Instr::Syscall,
            Instr::Hypercall,
            Instr::Break,
            Instr::Sret,
            Instr::TlbFlush,
            Instr::Wfi,
            Instr::Halt,
        ]),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases()))]

    #[test]
    fn encode_then_decode_is_identity(i in instr()) {
        let w = encode(&i).expect("in-range instruction encodes");
        prop_assert_eq!(decode(w), i);
    }

    #[test]
    fn decode_is_total_and_reencodes(w in any::<u32>()) {
        match decode(w) {
            Instr::Illegal(x) => {
                prop_assert_eq!(x, w);
                prop_assert_eq!(encode(&Instr::Illegal(w)), Ok(w));
            }
            i => prop_assert_eq!(encode(&i), Ok(w), "{} did not re-encode", i),
        }
    }

    #[test]
    fn hi_lo_split_reassembles(x in any::<u32>()) {
        let (hi, lo) = split_hi_lo(x);
        prop_assert!((-2048..=2047).contains(&lo));
        prop_assert!(hi <= IMM20_MAX);
        prop_assert_eq!((hi << 12).wrapping_add(lo as u32), x);
    }
}

#[test]
fn documented_encodings() {
    // A few words from docs/isa.md's encoding examples.
    let table: &[(u32, &str)] = &[
        (0x0134_5000, "add a0, a1, a2"),
        (0x2130_FFFF, "addi a0, zero, -1"),
        (0x3080_0012, "lui t0, 0x12"),
        (0x4234_0008, "lw a0, 8(a1)"),
        (0x4A32_FFFC, "sw a0, -4(sp)"),
        (0x5034_FFFF, "beq a0, a1, .-4"),
        (0x5810_0002, "jal ra, .+8"),
        (0x5901_0000, "jalr zero, 0(ra)"),
        (0x6000_0000, "syscall"),
        (0x7080_0000, "csrr t0, status"),
        (0x7108_0006, "csrw ptbr, t0"),
        (0x7800_0000 | 0x0080_0000, "getf t0"),
        (0x8232_0010, "inw a0, 16(sp)"),
    ];
    for &(w, text) in table {
        assert_eq!(decode(w).to_string(), text, "word {w:#010x}");
    }
}

#[test]
fn undefined_words_are_illegal() {
    for w in [
        0u32,
        0x1200_0000,
        0xFF00_0000,
        0x0134_5001,
        0x7000_0010,
        0x2680_0020,
    ] {
        assert_eq!(decode(w), Instr::Illegal(w), "{w:#010x}");
    }
}

#[test]
fn out_of_range_fields_are_errors() {
    let bad = Instr::AluImm {
        op: ImmOp::Add,
        rd: Reg::A0,
        rs1: Reg::A0,
        imm: 40_000,
    };
    assert!(matches!(encode(&bad), Err(EncodeError::OutOfRange { .. })));
    let bad = Instr::Branch {
        cond: BranchCond::Eq,
        rs1: Reg::A0,
        rs2: Reg::A0,
        off: 6,
    };
    assert!(matches!(encode(&bad), Err(EncodeError::Misaligned { .. })));
    let bad = Instr::AluImm {
        op: ImmOp::Sll,
        rd: Reg::A0,
        rs1: Reg::A0,
        imm: 32,
    };
    assert!(encode(&bad).is_err());
    assert!(matches!(
        encode(&Instr::Illegal(0x6000_0000)),
        Err(EncodeError::NotIllegal(_))
    ));
}

#[test]
fn profiles_differ_only_in_getf_setf() {
    let mut differing = Vec::new();
    for w in (0u32..=0xFF).map(|op| op << 24) {
        let i = decode(w);
        assert!(!i.is_sensitive_unprivileged(Profile::Strict), "{i}");
        if i.is_privileged(Profile::Strict) != i.is_privileged(Profile::Legacy) {
            differing.push(i.mnemonic());
        }
    }
    assert_eq!(differing, ["getf", "setf"]);
}

#[test]
fn division_semantics() {
    assert_eq!(AluOp::Div.apply(7, 0), None);
    assert_eq!(AluOp::Remu.apply(7, 0), None);
    assert_eq!(
        AluOp::Div.apply(i32::MIN as u32, u32::MAX),
        Some(i32::MIN as u32)
    );
    assert_eq!(AluOp::Rem.apply(i32::MIN as u32, u32::MAX), Some(0));
    assert_eq!(AluOp::Div.apply(-7i32 as u32, 2), Some(-3i32 as u32));
    assert_eq!(AluOp::Rem.apply(-7i32 as u32, 2), Some(-1i32 as u32));
    assert_eq!(AluOp::Mulh.apply(-1i32 as u32, -1i32 as u32), Some(0));
    assert_eq!(AluOp::Mulhu.apply(u32::MAX, u32::MAX), Some(0xFFFF_FFFE));
}

#[test]
fn computational_instructions_are_never_sensitive_or_trapping_by_design() {
    let mut computational = 0;
    for w in (0u32..=0xFF).map(|op| op << 24) {
        let i = decode(w);
        if i.is_computational() {
            computational += 1;
            assert!(!i.is_sensitive(), "{i}");
            assert!(
                !matches!(
                    i,
                    Instr::Syscall | Instr::Break | Instr::Hypercall | Instr::Illegal(_)
                ),
                "{i}"
            );
        } else {
            // Everything else is a system instruction or an illegal word.
            assert!(
                i.is_sensitive() || matches!(i, Instr::Syscall | Instr::Break | Instr::Illegal(_)),
                "{i}"
            );
        }
    }
    // 17 ALU, 9 immediate, lui, auipc, 5 loads, 3 stores, 6 branches, jal, jalr.
    assert_eq!(computational, 17 + 9 + 2 + 5 + 3 + 6 + 2);
}
