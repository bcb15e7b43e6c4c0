//! The interpreter fuses ops (pairs of ALU ops, an ALU op in front of a
//! branch, jump or loop closer, an add in front of the load or store it
//! addresses, groups of word loads or stores) and joins the code a `jal`
//! goes to within its page onto the block. A run given one instruction of
//! budget at a time takes the plain path (each pass stops after one
//! instruction, unfused and unjoined), so every program here runs both ways
//! and must end in the same state: registers, pc, instret, memory and
//! counters.

mod common;

use common::*;
use vmlab_isa::{AluOp, BranchCond, ImmOp, Instr, LoadOp, Reg, Width};
use vmlab_machine::{Exit, HostPhys, Machine};

const S0: Reg = Reg::S0;
const S1: Reg = Reg::S1;

/// Where the data the memory tests use lives.
const DATA: u32 = 0x4000;

/// Register values that make every comparison and shift interesting.
const START: [(Reg, u32); 8] = [
    (T0, 0xFFFF_FFF0),
    (T1, 7),
    (T2, 0x8000_0001),
    (A0, 3),
    (A1, DATA),
    (S0, 33),
    (S1, 0x1234_5678),
    (A2, 4),
];

fn setup(prog: &[Instr]) -> Machine {
    let mut m = machine(prog);
    for (r, v) in START {
        m.set_reg(r, v);
    }
    for i in 0..64u32 {
        // Every byte negative: a load that skips its sign extension shows.
        let v = i.wrapping_mul(0x9E37_79B9) | 0x8080_8080;
        m.write_phys_u32(HostPhys(DATA + 4 * i), v).unwrap();
    }
    m
}

/// Runs `prog` whole and one instruction at a time; both must agree.
fn same_both_ways(prog: &[Instr]) {
    let mut whole = setup(prog);
    let first = whole.run(100_000);
    let mut stepped = setup(prog);
    let mut exit = Exit::BudgetExhausted;
    for _ in 0..100_000 {
        exit = stepped.run(1);
        if exit != Exit::BudgetExhausted {
            break;
        }
    }
    let listing: Vec<String> = prog.iter().map(|i| i.to_string()).collect();
    assert_eq!(exit, first, "{listing:?}");
    assert_eq!(stepped.cpu_state(), whole.cpu_state(), "{listing:?}");
    let mut a = vec![0; 256];
    let mut b = vec![0; 256];
    whole.read_phys(HostPhys(DATA), &mut a).unwrap();
    stepped.read_phys(HostPhys(DATA), &mut b).unwrap();
    assert_eq!(a, b, "{listing:?}");
    assert_eq!(
        stepped.counters().retired_total(),
        whole.counters().retired_total(),
        "{listing:?}"
    );
}

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
    // The second op reads the first's result, or not, and may overwrite it.
    for first in simple_ops(T0, T1, T2) {
        for (rd, rs1, rs2) in [(T1, T0, S0), (T0, S1, T0), (A0, T1, T2)] {
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
fn jumps_within_a_page_join_the_block_and_run_as_written() {
    let halt = Instr::Halt;
    // A call and its return, with ALU ops on both sides of the join (they
    // pair across it).
    same_both_ways(&[
        addi(A0, ZERO, 5),
        jal(RA, 12),
        addi(A2, A0, 1),
        halt,
        alu(AluOp::Add, A0, A0, RA),
        jalr(ZERO, RA, 0),
    ]);
    // A loop closed by a jump back: the jump's target joins the block.
    same_both_ways(&[
        addi(T2, ZERO, 30),
        addi(T2, T2, -1),
        branch(BranchCond::Eq, T2, ZERO, 12),
        addi(A0, A0, 3),
        jal(ZERO, -12),
        halt,
    ]);
    // A loop of straight code and a jump: it joins itself until the block
    // has all the stretches it may have, then ends by going on to the
    // jump's target. Runs out of budget both ways.
    same_both_ways(&[addi(A0, A0, 1), jal(ZERO, -4)]);
    // Blocks cut at the longest block length just before, at and after a
    // jump they follow.
    for filler in 58..=64 {
        let mut prog = vec![jal(ZERO, 8), halt];
        prog.extend((0..filler).map(|i| addi(A0, A0, i)));
        prog.push(jal(ZERO, -4 * (filler + 1)));
        same_both_ways(&prog);
    }
    // A fault in the joined code: the pc and instret say where.
    same_both_ways(&[
        jal(RA, 8),
        halt,
        addi(T0, ZERO, 1),
        lw(T1, T0, 0),
        jalr(ZERO, RA, 0),
    ]);
    // A jump to the next page does not join (nor does anything break).
    let mut far = vec![addi(A0, ZERO, 1), jal(RA, 4096 - 4)];
    far.resize(1024, halt);
    far.extend([addi(A0, A0, 7), jalr(ZERO, RA, 0)]);
    far[2] = addi(A2, A0, 2);
    far[3] = halt;
    same_both_ways(&far);
}

#[test]
fn stores_into_joined_code_are_seen() {
    // `f` sits in a line of its own and only ever runs joined onto the
    // block of its call. Each pass of the loop rewrites f's first
    // instruction, to `+100` and back to `+1`: the third pass runs a block
    // decoded in the second, which must have died with the store.
    const F: i32 = 512;
    let plus_1 = addi(A0, A0, 1);
    let [w100, w1] = [words(&[addi(A0, A0, 100)])[0], words(&[plus_1])[0]];
    let mut prog = li(S1, w100);
    prog.extend(li(S0, w100 ^ w1));
    prog.extend([
        addi(T2, ZERO, 3),
        addi(A0, ZERO, 0),
        // loop (index 6): call f, then rewrite it.
        jal(RA, F - 24),
        sw(S1, ZERO, F),
        alu(AluOp::Xor, S1, S1, S0),
        addi(T2, T2, -1),
        branch(BranchCond::Ne, T2, ZERO, -16),
        Instr::Halt,
    ]);
    prog.resize(F as usize / 4, Instr::Halt);
    prog.extend([plus_1, jalr(ZERO, RA, 0)]);
    same_both_ways(&prog);
    let mut m = machine(&prog);
    assert_eq!(m.run(1000), Exit::Halt);
    assert_eq!(m.reg(A0), 1 + 100 + 1);
}

#[test]
fn code_after_a_branch_joins_the_block_and_runs_as_written() {
    let halt = Instr::Halt;
    let rel = |from: i32, to: i32| 4 * (to - from);
    // Branches in a row, each not taken or taken (a side exit) in turn.
    for taken in 0..4 {
        let mut prog = vec![addi(T2, ZERO, taken)];
        for k in 0..4 {
            // Taken when t2 == k: on to the halt at the end, a2 = k.
            prog.push(addi(A2, ZERO, k));
            prog.push(branch(BranchCond::Eq, T2, A2, rel(2 + 3 * k, 14)));
            prog.push(addi(A3, A3, 1));
        }
        prog.extend([addi(A0, A0, 9), halt]);
        same_both_ways(&prog);
    }
    // A loop with a break in it, and a fault after a branch not taken.
    same_both_ways(&[
        addi(T2, ZERO, 20),
        addi(T2, T2, -1),
        branch(BranchCond::Eq, T2, A0, rel(2, 5)),
        addi(A2, A2, 1),
        branch(BranchCond::Ne, T2, ZERO, rel(4, 1)),
        halt,
    ]);
    same_both_ways(&[branch(BranchCond::Eq, A0, ZERO, 8), lw(T0, A1, 2), halt]);
    // A branch on the last word of a page: what follows is not joined.
    let mut edge = vec![jal(ZERO, 4096 - 8)];
    edge.resize(1022, halt);
    edge.extend([
        addi(A0, A0, 1),
        branch(BranchCond::Eq, A0, ZERO, -4),
        addi(A2, A0, 5),
        halt,
    ]);
    same_both_ways(&edge);
    // Branches out of the page, backwards and forwards, in mid-block (a
    // side exit is only decided by its fall-through being in the page).
    let mut out = vec![jal(ZERO, 4096 + 8)];
    out.resize(1026, halt);
    out.extend([
        jal(RA, 4),
        branch(BranchCond::Ne, A0, ZERO, -4096),
        branch(BranchCond::Eq, A0, ZERO, 4096),
        addi(A2, A0, 5),
        halt,
    ]);
    same_both_ways(&out);
    // Recursive fib(12): calls, returns and the branch on n < 2, joined and
    // unrolled.
    let fib = 4;
    let ret = fib + 17;
    let prog = [
        Instr::Lui { rd: SP, imm: 8 },
        addi(A0, ZERO, 12),
        jal(RA, rel(2, fib)),
        halt,
        // fib (4):
        addi(T0, ZERO, 2),
        branch(BranchCond::Ltu, A0, T0, rel(fib + 1, ret)),
        addi(SP, SP, -12),
        sw(RA, SP, 0),
        sw(S0, SP, 4),
        sw(S1, SP, 8),
        addi(S0, A0, 0),
        addi(A0, S0, -1),
        jal(RA, rel(fib + 8, fib)),
        addi(S1, A0, 0),
        addi(A0, S0, -2),
        jal(RA, rel(fib + 11, fib)),
        alu(AluOp::Add, A0, A0, S1),
        lw(RA, SP, 0),
        lw(S0, SP, 4),
        lw(S1, SP, 8),
        addi(SP, SP, 12),
        jalr(ZERO, RA, 0),
    ];
    same_both_ways(&prog);
    let mut m = machine(&prog);
    assert_eq!(m.run(100_000), Exit::Halt);
    assert_eq!(m.reg(A0), 144);
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

/// A call to `f` (at index 8), twice, with `a0` = 0 then 1; `f` returns
/// early through a branch to its `ret` when `a0` is 0. `body` goes between
/// f's entry and its branch.
fn early_return(body: &[Instr]) -> Vec<Instr> {
    let halt = Instr::Halt;
    let mut prog = vec![
        addi(A0, ZERO, 0),
        jal(RA, 4 * 7),
        addi(S0, A0, 0),
        addi(A0, ZERO, 1),
        jal(RA, 4 * 4),
        addi(S1, A0, 0),
        halt,
        halt,
    ];
    // f (index 8):
    prog.extend(body.iter().copied());
    let at = prog.len() as i32;
    prog.push(branch(BranchCond::Eq, A0, ZERO, 12));
    prog.push(addi(A0, A0, 40));
    prog.push(addi(A2, A2, 1));
    // the ret (at + 3):
    prog.push(jalr(ZERO, RA, 0));
    assert_eq!(prog.len() as i32, at + 4);
    prog
}

#[test]
fn early_returns_run_as_written() {
    // Taken and not; with ra untouched, moved (the ret must go where ra
    // says, not to the call's link) and reloaded from memory.
    same_both_ways(&early_return(&[]));
    same_both_ways(&early_return(&[addi(RA, RA, 4)]));
    same_both_ways(&early_return(&[sw(RA, A1, 0), lw(RA, A1, 0)]));
    same_both_ways(&early_return(&[alu(AluOp::Add, T0, A0, A0)]));
    // The branch as the last op a block may take (two jumps on the way use
    // up its stretches): it still runs the ret, and the block ends after it.
    let hops = early_return(&[jal(ZERO, 8), Instr::Halt, jal(ZERO, 8), Instr::Halt]);
    same_both_ways(&hops);
    // Every budget: a run that stops right at the branch must not run the
    // ret that follows it.
    for prog in [early_return(&[]), hops] {
        let mut total = machine(&prog);
        total.run(1000);
        let total = total.instret();
        for budget in 1..=total {
            let mut whole = setup(&prog);
            whole.run(budget);
            let mut stepped = setup(&prog);
            for _ in 0..budget {
                stepped.run(1);
            }
            assert_eq!(whole.cpu_state(), stepped.cpu_state(), "budget {budget}");
        }
    }
}

#[test]
fn a_rewritten_early_return_is_seen() {
    // The block of the loop runs f's `ret` in place; the `ret` sits in a
    // line of its own, which only that block depends on. Each pass writes
    // the `ret` (the same word first), then `addi a0, a0, 100` (falling
    // into a second `ret`). The third pass runs the block decoded in the
    // second, which must have died with the second write.
    const RET: i32 = 1024;
    let ret = jalr(ZERO, RA, 0);
    let [w_ret, w_add] = [words(&[ret])[0], words(&[addi(A0, A0, 100)])[0]];
    let mut prog = li(S1, w_ret);
    prog.extend(li(A2, w_ret ^ w_add));
    prog.extend([
        addi(T2, ZERO, 3),
        // loop (index 5): a0 = 0, call f, then write its ret.
        addi(A0, ZERO, 0),
        jal(RA, 4 * 7),
        alu(AluOp::Add, S0, S0, A0),
        sw(S1, ZERO, RET),
        alu(AluOp::Xor, S1, S1, A2),
        addi(T2, T2, -1),
        branch(BranchCond::Ne, T2, ZERO, -24),
        Instr::Halt,
        // f (index 13): a0 is always 0.
        branch(BranchCond::Eq, A0, ZERO, RET - 4 * 13),
        Instr::Halt,
    ]);
    prog.resize(RET as usize / 4, Instr::Halt);
    prog.extend([ret, ret]);
    same_both_ways(&prog);
    let mut m = machine(&prog);
    assert_eq!(m.run(1000), Exit::Halt);
    assert_eq!(m.reg(S0), 100);
}
