//! Blocks that reach past a transfer within their page: the code a `jal`
//! goes to, the code after a conditional branch (a side exit), and a `ret`
//! a side exit runs in place. Every program runs whole and one instruction
//! at a time (unjoined) and must end in the same state
//! (`common::both_ways`); some also check the result.

mod common;

use common::both_ways::*;
use common::*;
use vmlab_isa::{AluOp, BranchCond, Instr};
use vmlab_machine::Exit;

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
    // A constant and an ALU op in front of a side exit (they run in it):
    // the ALU op reads the constant, overwrites it, or neither; the
    // branch compares with it.
    for pre in [addi(T0, T1, 5), addi(T1, T1, 1), addi(T0, A0, 1)] {
        for cond in [BranchCond::Eq, BranchCond::Ne] {
            same_both_ways(&[
                Instr::Lui { rd: T1, imm: 1 },
                pre,
                branch(cond, T0, T1, 12),
                addi(A2, T1, 1),
                halt,
                addi(A2, T0, 2),
                halt,
            ]);
        }
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
