//! Instruction semantics, traps, trap entry and return, control registers and
//! the profiles' getf/setf differences (docs/isa.md).

mod common;

use common::*;
use vmlab_isa::csr::status;
use vmlab_isa::{AluOp, BranchCond, Csr, Exception, ImmOp, Instr, LoadOp, Width};
use vmlab_machine::{Exit, HostPhys};

/// Runs `a2 = op(a0 = x, a1 = y)` and returns a2, or the exit if not Halt.
fn alu_result(op: AluOp, x: u32, y: u32) -> Result<u32, Exit> {
    let mut prog = li(A0, x);
    prog.extend(li(A1, y));
    prog.push(alu(op, A2, A0, A1));
    prog.push(Instr::Halt);
    let mut m = machine(&prog);
    m.controls_mut()
        .set_exception_exit(Exception::DivideByZero, true);
    match m.run(100) {
        Exit::Halt => Ok(m.reg(A2)),
        other => Err(other),
    }
}

#[test]
fn register_register_operations() {
    let min = 0x8000_0000;
    let cases: &[(AluOp, u32, u32, u32)] = &[
        (AluOp::Add, 7, 5, 12),
        (AluOp::Add, u32::MAX, 2, 1),
        (AluOp::Sub, 5, 7, (-2i32) as u32),
        (AluOp::And, 0xF0F0, 0xFF00, 0xF000),
        (AluOp::Or, 0xF0F0, 0x0F00, 0xFFF0),
        (AluOp::Xor, 0xFF, 0x0F, 0xF0),
        (AluOp::Sll, 1, 33, 2),
        (AluOp::Srl, min, 31, 1),
        (AluOp::Sra, min, 31, u32::MAX),
        (AluOp::Slt, (-1i32) as u32, 1, 1),
        (AluOp::Sltu, (-1i32) as u32, 1, 0),
        (AluOp::Mul, 0x10000, 0x10000, 0),
        (AluOp::Mulh, (-2i32) as u32, 3, u32::MAX),
        (AluOp::Mulhu, u32::MAX, u32::MAX, 0xFFFF_FFFE),
        (AluOp::Div, (-7i32) as u32, 2, (-3i32) as u32),
        (AluOp::Div, min, u32::MAX, min),
        (AluOp::Divu, 7, 2, 3),
        (AluOp::Rem, (-7i32) as u32, 2, u32::MAX),
        (AluOp::Rem, min, u32::MAX, 0),
        (AluOp::Remu, 7, 4, 3),
    ];
    for &(op, x, y, want) in cases {
        assert_eq!(alu_result(op, x, y), Ok(want), "{op:?} {x:#x} {y:#x}");
    }
}

#[test]
fn division_by_zero_traps_without_retiring() {
    for op in [AluOp::Div, AluOp::Divu, AluOp::Rem, AluOp::Remu] {
        assert_eq!(
            alu_result(op, 1, 0),
            Err(Exit::Exception {
                cause: Exception::DivideByZero,
                addr: 0
            }),
            "{op:?}"
        );
    }
}

#[test]
fn immediate_operations() {
    let cases: &[(ImmOp, u32, i32, u32)] = &[
        (ImmOp::Add, 5, -6, u32::MAX),
        (ImmOp::And, 0xFFFF_FFFF, -16, 0xFFFF_FFF0),
        (ImmOp::Or, 1, 0x100, 0x101),
        (ImmOp::Xor, 0xFF, -1, 0xFFFF_FF00),
        (ImmOp::Sll, 3, 4, 48),
        (ImmOp::Srl, 0x8000_0000, 4, 0x0800_0000),
        (ImmOp::Sra, 0x8000_0000, 4, 0xF800_0000),
        (ImmOp::Slt, (-5i32) as u32, -4, 1),
        (ImmOp::Sltu, 5, -1, 1),
    ];
    for &(op, x, i, want) in cases {
        let mut prog = li(A0, x);
        prog.push(imm(op, A2, A0, i));
        prog.push(Instr::Halt);
        let mut m = machine(&prog);
        assert_eq!(m.run(100), Exit::Halt);
        assert_eq!(m.reg(A2), want, "{op:?} {x:#x} {i}");
    }
}

#[test]
fn zero_register_ignores_writes() {
    let prog = [
        addi(ZERO, ZERO, 5),
        addi(A0, ZERO, 0),
        lw(ZERO, ZERO, 0),
        Instr::Halt,
    ];
    let mut m = machine(&prog);
    assert_eq!(m.run(100), Exit::Halt);
    assert_eq!(m.reg(ZERO), 0);
    assert_eq!(m.reg(A0), 0);
}

#[test]
fn lui_auipc_jal_jalr() {
    let prog = [
        Instr::Lui {
            rd: A0,
            imm: 0x12345,
        },
        Instr::Auipc { rd: A1, imm: 1 }, // at 4: 4 + 0x1000
        jal(RA, 8),                      // at 8 -> 16, ra = 12
        Instr::Halt,                     // 12: skipped
        addi(T0, ZERO, 28),              // 16
        jalr(T1, T0, 0),                 // 20 -> 28, t1 = 24
        Instr::Halt,                     // 24: skipped
        Instr::Halt,                     // 28
    ];
    let mut m = machine(&prog);
    assert_eq!(m.run(100), Exit::Halt);
    assert_eq!(m.pc(), 28);
    assert_eq!(m.reg(A0), 0x1234_5000);
    assert_eq!(m.reg(A1), 0x1004);
    assert_eq!(m.reg(RA), 12);
    assert_eq!(m.reg(T1), 24);
    assert_eq!(m.instret(), 5);
}

#[test]
fn jalr_with_rd_equal_rs1_uses_the_old_value() {
    let prog = [
        addi(T0, ZERO, 12),
        jalr(T0, T0, 0),
        Instr::Halt,
        Instr::Halt,
    ];
    let mut m = machine(&prog);
    assert_eq!(m.run(100), Exit::Halt);
    assert_eq!(m.pc(), 12);
    assert_eq!(m.reg(T0), 8);
}

#[test]
fn loads_and_stores() {
    let data = 0x4000;
    let mut prog = li(A0, data);
    prog.extend(li(A1, 0x8081_F0FF));
    prog.extend([
        sw(A1, A0, 0),
        store(Width::Half, A1, A0, 6), // 0xF0FF at 6
        store(Width::Byte, A1, A0, 9), // 0xFF at 9
        load(LoadOp::Lb, T0, A0, 0),   // 0xFF -> -1
        load(LoadOp::Lbu, T1, A0, 0),  // 0xFF
        load(LoadOp::Lh, T2, A0, 2),   // 0x8081 -> sign
        load(LoadOp::Lhu, A2, A0, 2),  // 0x8081
        lw(A3, A0, 0),
        Instr::Halt,
    ]);
    let mut m = machine(&prog);
    assert_eq!(m.run(100), Exit::Halt);
    assert_eq!(m.reg(T0), u32::MAX);
    assert_eq!(m.reg(T1), 0xFF);
    assert_eq!(m.reg(T2), 0xFFFF_8081);
    assert_eq!(m.reg(A2), 0x8081);
    assert_eq!(m.reg(A3), 0x8081_F0FF);
    let mut b = [0; 12];
    m.read_phys(HostPhys(data), &mut b).unwrap();
    assert_eq!(b, [0xFF, 0xF0, 0x81, 0x80, 0, 0, 0xFF, 0xF0, 0, 0xFF, 0, 0]);
}

#[test]
fn branches_taken_and_not() {
    // For each condition and operand pair: a0 = 1 if taken.
    let cases: &[(BranchCond, u32, u32, bool)] = &[
        (BranchCond::Eq, 3, 3, true),
        (BranchCond::Eq, 3, 4, false),
        (BranchCond::Ne, 3, 4, true),
        (BranchCond::Ne, 3, 3, false),
        (BranchCond::Lt, u32::MAX, 0, true),
        (BranchCond::Lt, 0, u32::MAX, false),
        (BranchCond::Ge, 0, u32::MAX, true),
        (BranchCond::Ge, u32::MAX, 0, false),
        (BranchCond::Ltu, 0, u32::MAX, true),
        (BranchCond::Ltu, u32::MAX, 0, false),
        (BranchCond::Geu, u32::MAX, 0, true),
        (BranchCond::Geu, 0, 1, false),
    ];
    for &(cond, x, y, taken) in cases {
        let mut prog = li(T0, x);
        prog.extend(li(T1, y));
        prog.extend([
            branch(cond, T0, T1, 12),
            addi(A0, ZERO, 0),
            Instr::Halt,
            addi(A0, ZERO, 1),
            Instr::Halt,
        ]);
        let mut m = machine(&prog);
        assert_eq!(m.run(100), Exit::Halt);
        assert_eq!(m.reg(A0), u32::from(taken), "{cond:?} {x:#x} {y:#x}");
    }
}

#[test]
fn backward_branch_loop() {
    // a0 = sum 1..=100
    let prog = [
        addi(T0, ZERO, 100),
        alu(AluOp::Add, A0, A0, T0),
        addi(T0, T0, -1),
        branch(BranchCond::Ne, T0, ZERO, -8),
        Instr::Halt,
    ];
    let mut m = machine(&prog);
    assert_eq!(m.run(10_000), Exit::Halt);
    assert_eq!(m.reg(A0), 5050);
    assert_eq!(m.instret(), 1 + 300);
}

#[test]
fn control_register_writes_keep_only_existing_bits() {
    let mut prog = Vec::new();
    for csr in [Csr::IEnable, Csr::Prio, Csr::IPend, Csr::Scratch] {
        prog.extend(set_csr(csr, u32::MAX));
    }
    let s = status::MODE | status::PMODE | status::PIE;
    prog.extend(set_csr(Csr::Status, s | 0xFFFF_FF00));
    prog.push(Instr::Halt);
    let mut m = machine(&prog);
    assert_eq!(m.run(100), Exit::Halt);
    assert_eq!(m.csr(Csr::Status), s);
    assert_eq!(m.csr(Csr::IEnable), 0b111);
    assert_eq!(m.csr(Csr::Prio), 0xF);
    // The timer bit of ipend is instret >= timecmp (timecmp = 0: pending).
    assert_eq!(m.csr(Csr::IPend), 0b111);
    assert_eq!(m.csr(Csr::Scratch), u32::MAX);
}

#[test]
fn counters_read_instret_and_cycle() {
    let prog = [
        addi(T0, ZERO, 1),
        addi(T0, ZERO, 1),
        csrr(A0, Csr::InstRet), // instret = 2 here
        csrr(A1, Csr::Cycle),   // 3
        csrr(A2, Csr::InstRetH),
        Instr::Halt,
    ];
    let mut m = machine(&prog);
    m.set_csr(Csr::InstRetH, 5);
    assert_eq!(m.run(100), Exit::Halt);
    assert_eq!(m.reg(A0), 2);
    assert_eq!(m.reg(A1), 3);
    assert_eq!(m.reg(A2), 5);
}

#[test]
fn halt_stops_at_the_halt_without_retiring() {
    let mut m = machine(&[addi(A0, ZERO, 1), Instr::Halt]);
    assert_eq!(m.run(100), Exit::Halt);
    assert_eq!(m.pc(), 4);
    assert_eq!(m.instret(), 1);
    // Running again halts again, at the same place.
    assert_eq!(m.run(100), Exit::Halt);
    assert_eq!(m.instret(), 1);
}

#[test]
fn budget_bounds_a_spinning_guest_and_trap_loops() {
    let mut m = machine(&[jal(ZERO, 0)]);
    assert_eq!(m.run(1000), Exit::BudgetExhausted);
    assert_eq!(m.instret(), 1000);
    // tvec points at an illegal word: traps forever without retiring.
    let mut m = machine(&[Instr::Illegal(0xFF00_0000)]);
    assert_eq!(m.run(50), Exit::BudgetExhausted);
    assert_eq!(m.instret(), 0);
    assert_eq!(m.counters().traps_of(Exception::IllegalInstruction), 50);
    assert_eq!(m.run(0), Exit::BudgetExhausted);
}

#[test]
fn budget_one_at_a_time_matches_one_big_run() {
    let prog = [
        addi(T0, ZERO, 50),
        alu(AluOp::Add, A0, A0, T0),
        sw(A0, ZERO, 0x400),
        lw(A1, ZERO, 0x400),
        addi(T0, T0, -1),
        branch(BranchCond::Ne, T0, ZERO, -16),
        Instr::Halt,
    ];
    let mut big = machine(&prog);
    assert_eq!(big.run(1_000_000), Exit::Halt);
    let mut small = machine(&prog);
    let mut steps = 0;
    while small.run(1) == Exit::BudgetExhausted {
        steps += 1;
    }
    assert_eq!(steps, big.instret());
    assert_eq!(small.cpu_state(), big.cpu_state());
}

#[test]
fn shutdown_through_the_power_port_retires_the_out() {
    let mut prog = li(T0, 0x120);
    prog.extend([addi(A0, ZERO, 3), outw(A0, T0, 0), Instr::Halt]);
    let mut m = machine(&prog);
    assert_eq!(m.run(100), Exit::Shutdown { code: 3 });
    assert_eq!(m.pc(), 16);
    assert_eq!(m.instret(), 4);
}

#[test]
fn console_output_through_the_bus() {
    let mut prog = li(T0, 0x100);
    for b in b"hi" {
        prog.push(addi(A0, ZERO, i32::from(*b)));
        prog.push(outb(A0, T0, 0));
    }
    prog.push(Instr::Halt);
    let mut m = machine(&prog);
    assert_eq!(m.run(100), Exit::Halt);
    let console = m.bus().get::<vmlab_machine::devices::Console>().unwrap();
    assert_eq!(console.output(), b"hi");
    let c = m.counters();
    assert_eq!(
        c.port_accesses
            .iter()
            .find(|(n, _)| *n == "console")
            .map(|p| p.1),
        Some(2)
    );
}
