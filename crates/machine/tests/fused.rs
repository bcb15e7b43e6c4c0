//! The interpreter fuses an `add` with a following load or store based on
//! the sum (indexed addressing). The fused op must behave exactly like the
//! two instructions: the same results when the add's destination is also the
//! load's destination or the stored register, a fault in the memory half
//! after the add retired, a store into the running code, and the same state
//! when runs are sliced between the add and the memory op.

mod common;

use common::*;
use vmlab_isa::{AluOp, Csr, Exception, Instr, LoadOp, Reg, Width, encode};
use vmlab_machine::{Exit, HostPhys, Machine};

const DATA: u32 = 0x4000;

/// Every kind of fused pair, then a misaligned load after an add.
fn program() -> Vec<Instr> {
    let mut p = set_csr(Csr::Tvec, TVEC);
    p.extend(li(A1, DATA));
    p.extend(li(T0, 0x1122_3344));
    p.push(addi(T1, ZERO, 8));
    p.push(sw(T0, A1, 12));
    // add + lw: a0 = [0x400C]
    p.push(alu(AluOp::Add, T2, A1, T1));
    p.push(lw(A0, T2, 4));
    // add + lbu: a2 = byte [0x400D]
    p.push(alu(AluOp::Add, T2, A1, T1));
    p.push(load(LoadOp::Lbu, A2, T2, 5));
    // add + sw: [0x4010] = a0
    p.push(alu(AluOp::Add, T2, A1, T1));
    p.push(sw(A0, T2, 8));
    // add + sw of the sum itself: [0x4014] = 0x4008
    p.push(alu(AluOp::Add, T2, A1, T1));
    p.push(sw(T2, T2, 12));
    // add + sb of the sum: byte [0x4018] = 0x08
    p.push(alu(AluOp::Add, T2, A1, T1));
    p.push(store(Width::Byte, T2, T2, 16));
    // add + lw into the sum's register: t2 = [0x4010]
    p.push(alu(AluOp::Add, T2, T2, T1));
    p.push(lw(T2, T2, 0));
    // add, then a misaligned load: the add retires, the load traps.
    p.push(alu(AluOp::Add, A3, A1, T1));
    p.push(lw(T0, A3, 2));
    p.push(Instr::Halt);
    p
}

fn build(prog: &[Instr]) -> Machine {
    let mut m = machine(prog);
    put(&mut m, TVEC, &recording_handler());
    m
}

fn state(m: &Machine) -> (Vec<u32>, Vec<u32>, u64) {
    let regs = (0..16).map(|r| m.reg(Reg::new(r).unwrap())).collect();
    let mem = (0..8)
        .map(|i| m.read_phys_u32(HostPhys(DATA + 4 * i)).unwrap())
        .collect();
    (regs, mem, m.instret())
}

#[test]
fn fused_indexed_accesses_match_the_two_instructions() {
    let prog = program();
    let mut m = build(&prog);
    assert_eq!(m.run(10_000), Exit::Halt);
    assert_eq!(m.reg(A0), 0x1122_3344);
    assert_eq!(m.reg(A2), 0x33);
    assert_eq!(m.reg(T2), 0x1122_3344);
    assert_eq!(
        m.reg(A3),
        DATA + 8,
        "the add before the faulting load retired"
    );
    assert_eq!(m.read_phys_u32(HostPhys(DATA + 0x10)).unwrap(), 0x1122_3344);
    assert_eq!(m.read_phys_u32(HostPhys(DATA + 0x14)).unwrap(), DATA + 8);
    assert_eq!(m.read_phys_u32(HostPhys(DATA + 0x18)).unwrap(), 0x08);
    let misaligned_lw = 4 * (prog.len() as u32 - 2);
    assert_eq!(m.reg(Reg::S1), misaligned_lw, "epc");
    assert_eq!(m.reg(Reg::S0), Exception::MisalignedLoad.code());

    // The same program one instruction per run: every pass is cut short,
    // so no fused op runs whole.
    let mut sliced = build(&prog);
    let mut runs = 0;
    while sliced.run(1) != Exit::Halt {
        runs += 1;
        assert!(runs < 10_000);
    }
    assert_eq!(state(&sliced), state(&m));
}

#[test]
fn a_fused_store_into_the_next_instruction_is_seen() {
    let new = encode(&addi(A0, ZERO, 7)).unwrap();
    let mut prog = li(T0, new); // 0, 4
    prog.extend(li(A1, 0)); // 8, 12
    prog.push(addi(T1, ZERO, 8)); // 16
    prog.push(alu(AluOp::Add, T2, A1, T1)); // 20: t2 = 8
    prog.push(sw(T0, T2, 20)); // 24: overwrite the instruction at 28
    prog.push(addi(A0, ZERO, 1)); // 28
    prog.push(Instr::Halt);
    let mut m = machine(&prog);
    assert_eq!(m.run(100), Exit::Halt);
    assert_eq!(m.reg(A0), 7);
    assert_eq!(m.counters().code_invalidations, 1);
}
