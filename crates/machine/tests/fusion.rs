//! The interpreter fuses ops (pairs of ALU ops, an ALU op in front of a
//! branch, jump or loop closer, an add in front of the load or store it
//! addresses, groups of word loads or stores, loops of one load or store).
//! Every program here runs whole and one instruction at a time (the plain
//! path) and must end in the same state (`common::both_ways`); the blocks
//! that reach past a transfer are in `joined.rs`.

mod common;

use common::both_ways::*;
use common::*;
use vmlab_isa::{AluOp, BranchCond, ImmOp, Instr, LoadOp, Reg, Width};

/// Every simple ALU instruction, writing `rd` from `rs1` and `rs2`.
fn simple_ops(rd: Reg, rs1: Reg, rs2: Reg) -> Vec<Instr> {
    // The first eleven, in opcode order, are the simple ones (no high
    // multiplies or divisions).
    let rr = &AluOp::ALL[..11];
    let ri = [
        (ImmOp::Add, -5),
        (ImmOp::And, 0x7F0),
        (ImmOp::Or, -16),
        (ImmOp::Xor, 0x55),
        (ImmOp::Sll, 3),
        (ImmOp::Srl, 4),
        (ImmOp::Sra, 2),
        (ImmOp::Slt, 100),
        (ImmOp::Sltu, 200),
    ];
    let mut ops: Vec<Instr> = rr.iter().map(|&op| alu(op, rd, rs1, rs2)).collect();
    ops.extend(ri.iter().map(|&(op, i)| imm(op, rd, rs1, i)));
    ops.push(Instr::Lui { rd, imm: 0x12345 });
    ops.push(Instr::Auipc { rd, imm: 3 });
    ops
}

#[test]
fn every_pair_of_alu_ops_runs_as_written() {
    // The second op reads the first's result (t0) as either operand, both
    // or neither, and may overwrite it.
    let seconds = [
        (T1, T0, S0),
        (T0, S1, T0),
        (A0, T1, T2),
        (T0, T0, S0),
        (T0, T0, T0),
        (A0, T0, T0),
    ];
    for first in simple_ops(T0, T1, T2) {
        for (rd, rs1, rs2) in seconds {
            for second in simple_ops(rd, rs1, rs2) {
                same_both_ways(&[first, second, Instr::Halt]);
            }
        }
    }
}

#[test]
fn alu_ops_in_front_of_branches_and_jumps_run_as_written() {
    for pre in simple_ops(T0, T1, T2) {
        for cond in BranchCond::ALL {
            // Taken or not, depending on what `pre` left in t0.
            same_both_ways(&[
                pre,
                branch(cond, T0, T1, 12),
                addi(A2, ZERO, 1),
                Instr::Halt,
                addi(A2, ZERO, 2),
                Instr::Halt,
            ]);
        }
        same_both_ways(&[pre, jal(RA, 8), Instr::Halt, addi(A2, RA, 1), Instr::Halt]);
        // jalr through the register `pre` may have just written.
        same_both_ways(&[
            addi(T0, ZERO, 16),
            pre,
            imm(ImmOp::And, T0, T0, 0x1C),
            jalr(RA, T0, 0),
            Instr::Halt,
            Instr::Halt,
            Instr::Halt,
            Instr::Halt,
            Instr::Halt,
            addi(A2, RA, 1),
            Instr::Halt,
        ]);
    }
}

#[test]
fn loop_closers_with_an_alu_op_in_front_run_as_written() {
    for pre in simple_ops(S1, S1, T1) {
        for cond in BranchCond::ALL {
            for step in [
                addi(A0, A0, 1),
                addi(A0, A0, -1),
                alu(AluOp::Add, A0, A0, T1),
            ] {
                // A counted loop: t2 bounds the iterations so that every
                // condition ends (the closer compares a0 with a3).
                same_both_ways(&[
                    addi(A3, ZERO, 9),
                    addi(T2, ZERO, 40),
                    // loop:
                    addi(T2, T2, -1),
                    branch(BranchCond::Eq, T2, ZERO, 16),
                    pre,
                    step,
                    branch(cond, A0, A3, -16),
                    Instr::Halt,
                ]);
            }
        }
    }
}

#[test]
fn indexed_loads_and_stores_run_as_written() {
    let loads = [LoadOp::Lw, LoadOp::Lh, LoadOp::Lhu, LoadOp::Lb, LoadOp::Lbu];
    for op in loads {
        // The sum is the base; the loaded register may be the sum itself.
        for rd in [T0, T2] {
            same_both_ways(&[
                alu(AluOp::Add, T2, A1, A0),
                load(op, rd, T2, 1),
                Instr::Halt,
            ]);
        }
    }
    for width in [Width::Word, Width::Half, Width::Byte] {
        for value in [S1, T2] {
            same_both_ways(&[
                addi(A0, ZERO, 8),
                alu(AluOp::Add, T2, A1, A0),
                store(width, value, T2, 4),
                lw(T0, A1, 12),
                Instr::Halt,
            ]);
        }
    }
    // A misaligned indexed load traps at the load, after the add retired.
    same_both_ways(&[alu(AluOp::Add, T2, A1, A0), lw(T0, T2, 0), Instr::Halt]);
}

#[test]
fn groups_of_word_loads_and_stores_run_as_written() {
    same_both_ways(&[
        sw(S1, A1, 0),
        sw(T0, A1, 8),
        sw(T1, A1, 4),
        sw(T2, A1, 12),
        sw(S0, A1, 16),
        lw(A2, A1, 16),
        lw(A3, A1, 0),
        lw(T0, A1, 4),
        Instr::Halt,
    ]);
    // Members in any order group when their words are consecutive; a gap
    // or a word written twice ends the group before it.
    same_both_ways(&[
        sw(T0, A1, 4),
        sw(T1, A1, 0),
        sw(T2, A1, 12),
        sw(S0, A1, 12),
        sw(S1, A1, 8),
        Instr::Halt,
    ]);
    // Two loads into one register: the later one's word wins, whatever
    // the order of the words.
    same_both_ways(&[lw(T0, A1, 4), lw(T0, A1, 0), lw(T1, A1, 8), Instr::Halt]);
    same_both_ways(&[lw(T0, A1, 0), lw(T1, A1, 4), lw(T0, A1, 8), Instr::Halt]);
    // Loads whose destination is the base end a group.
    same_both_ways(&[
        lw(T0, A1, 0),
        lw(T1, A1, 4),
        lw(A1, A1, 8),
        lw(T2, A1, 0),
        Instr::Halt,
    ]);
    // A group whose base is misaligned runs its members one by one: the
    // first traps.
    same_both_ways(&[addi(A1, A1, 2), lw(T0, A1, 0), lw(T1, A1, 4), Instr::Halt]);
    // An addi of the base in front of a group (a stack frame's prologue)
    // joins it; also when the group then runs member by member.
    same_both_ways(&[
        addi(A1, A1, 16),
        sw(S1, A1, 0),
        sw(T0, A1, 4),
        sw(T1, A1, 8),
        lw(A2, A1, 4),
        Instr::Halt,
    ]);
    same_both_ways(&[addi(A1, A1, -4), lw(T0, A1, 4), lw(T1, A1, 8), Instr::Halt]);
    same_both_ways(&[addi(A1, A1, 2), sw(S1, A1, 0), sw(T0, A1, 4), Instr::Halt]);
    // Not of the base, or not in place: the addi stays apart.
    same_both_ways(&[addi(A0, A0, 4), sw(S1, A1, 0), sw(A0, A1, 4), Instr::Halt]);
    same_both_ways(&[addi(A1, A0, 4), sw(S1, A1, 0), sw(T0, A1, 4), Instr::Halt]);
    // A group that reaches past the end of RAM.
    same_both_ways(&[
        Instr::Lui { rd: A1, imm: 0x100 },
        addi(A1, A1, -8),
        sw(T0, A1, 0),
        sw(T1, A1, 4),
        sw(T2, A1, 8),
        Instr::Halt,
    ]);
}

#[test]
fn loops_over_memory_run_as_written() {
    // A load or store right before a loop closer, plain or indexed, every
    // width and several conditions.
    let loads = [LoadOp::Lw, LoadOp::Lh, LoadOp::Lhu, LoadOp::Lb, LoadOp::Lbu];
    let widths = [Width::Word, Width::Half, Width::Byte];
    for cond in [BranchCond::Ne, BranchCond::Ltu, BranchCond::Geu] {
        // a0 counts 0, 4, 8, ... up to a3 = 40: a walk over the data.
        let close = |cond| branch(cond, A0, A3, -8);
        for op in loads {
            // Plain: base a1 + a0 computed by hand first.
            same_both_ways(&[
                addi(A3, ZERO, 40),
                addi(A0, ZERO, 0),
                // loop: (3 instructions, the last two fused)
                load(op, T0, A1, 2),
                addi(A0, A0, 4),
                close(cond),
                Instr::Halt,
            ]);
            // Indexed: t2 = a1 + a0, then the load through t2.
            same_both_ways(&[
                addi(A3, ZERO, 40),
                addi(A0, ZERO, 0),
                alu(AluOp::Add, T2, A1, A0),
                load(op, T2, T2, 1),
                addi(A0, A0, 4),
                branch(cond, A0, A3, -12),
                Instr::Halt,
            ]);
        }
        for width in widths {
            same_both_ways(&[
                addi(A3, ZERO, 40),
                addi(A0, ZERO, 0),
                alu(AluOp::Add, T2, A1, A0),
                store(width, A0, T2, 0),
                alu(AluOp::Add, A0, A0, A2),
                branch(cond, A0, A3, -12),
                Instr::Halt,
            ]);
        }
    }
    // Off the fast path: misaligned (the load traps), outside RAM, and a
    // store into the loop's own code (its block ends after it).
    same_both_ways(&[
        addi(A3, ZERO, 40),
        addi(A0, ZERO, 0),
        lw(T0, A1, 2),
        addi(A0, A0, 4),
        branch(BranchCond::Ne, A0, A3, -8),
        Instr::Halt,
    ]);
    same_both_ways(&[
        Instr::Lui { rd: A1, imm: 0x100 },
        addi(A1, A1, -16),
        addi(A3, ZERO, 40),
        addi(A0, ZERO, 0),
        alu(AluOp::Add, T2, A1, A0),
        sw(S1, T2, 0),
        addi(A0, A0, 4),
        branch(BranchCond::Ne, A0, A3, -12),
        Instr::Halt,
    ]);
    same_both_ways(&[
        addi(A3, ZERO, 8),
        addi(A0, ZERO, 0),
        // Into the 128-byte line that holds this code: watched, so the
        // store takes the slow path and ends the block.
        sw(ZERO, A0, 64),
        addi(A0, A0, 4),
        branch(BranchCond::Ne, A0, A3, -8),
        Instr::Halt,
    ]);
}

#[test]
fn loops_of_one_load_or_store_run_as_written() {
    // A block of one load or store (plain, or indexed by an add) and a loop
    // closer runs as one loop; here with every simple ALU op in front of
    // the closer, reading the loaded value.
    let loads = [LoadOp::Lw, LoadOp::Lh, LoadOp::Lhu, LoadOp::Lb, LoadOp::Lbu];
    let mut bodies: Vec<Vec<Instr>> = Vec::new();
    for op in loads {
        bodies.push(vec![load(op, T0, A1, 2)]);
        bodies.push(vec![alu(AluOp::Add, T2, A1, A0), load(op, T0, T2, 1)]);
    }
    for width in [Width::Word, Width::Half, Width::Byte] {
        bodies.push(vec![store(width, S1, A1, 0)]);
        bodies.push(vec![alu(AluOp::Add, T2, A1, A0), store(width, S1, T2, 0)]);
    }
    for body in &bodies {
        for pre in simple_ops(S1, S1, T0) {
            let mut prog = vec![addi(A3, ZERO, 40), addi(A0, ZERO, 0)];
            let start = prog.len() as i32;
            prog.extend(body.iter().copied());
            prog.push(pre);
            prog.push(addi(A0, A0, 4));
            let here = prog.len() as i32;
            prog.push(branch(BranchCond::Ltu, A0, A3, 4 * (start - here)));
            prog.push(Instr::Halt);
            same_both_ways(&prog);
        }
    }
    // Long enough that chains run out of room inside the loop (they return
    // to the main loop every 1024 instructions at most).
    same_both_ways(&[
        Instr::Lui { rd: A3, imm: 1 },
        addi(A0, ZERO, 0),
        alu(AluOp::Add, T2, A1, A0),
        store(Width::Byte, S1, T2, 0),
        addi(A0, A0, 1),
        branch(BranchCond::Ltu, A0, A3, -12),
        Instr::Halt,
    ]);
}
