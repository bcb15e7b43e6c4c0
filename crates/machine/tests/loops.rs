//! Loops of one load or store (plain, or indexed by an add in front) and a
//! loop closer, with or without an ALU op in front of the closer, run as
//! one Rust loop; the ones whose registers allow it keep the counter, the
//! accumulator, the address and the loaded value in host registers. Here
//! the registers of every role are drawn from a few, so that they alias in
//! every way the interpreter must notice. Every program runs whole and one
//! instruction at a time (the plain path) and must end in the same state
//! (`common::both_ways`).

mod common;

use common::both_ways::*;
use common::*;
use vmlab_isa::{AluOp, BranchCond, ImmOp, Instr, LoadOp, Reg, Width};
use vmlab_machine::{Exit, HostPhys};

/// The registers each role is drawn from (their starting values are in
/// `both_ways::START`: `A1` points at the data, the others are small or
/// far out of RAM).
const POOL: [Reg; 6] = [A0, A2, T0, T1, T2, S0];

/// A small deterministic generator (xorshift), so a failure names a
/// program that reproduces.
struct Draw(u32);

impl Draw {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 17;
        self.0 ^= self.0 << 5;
        self.0 as usize % n
    }

    /// `usual` four times in five, else any register of the pool (or the
    /// data pointer).
    fn mostly(&mut self, usual: Reg) -> Reg {
        match self.below(10) {
            0 => A1,
            1 => POOL[self.below(POOL.len())],
            _ => usual,
        }
    }
}

/// One loop: the counter and bound set up, then the body, the closer and
/// a halt. Each role has a register of its own, mostly: now and then it
/// shares one with another role.
fn program(d: &mut Draw) -> Vec<Instr> {
    let mut regs = POOL;
    for i in (1..regs.len()).rev() {
        regs.swap(i, d.below(i + 1));
    }
    let [counter, bound, address, data, acc, by] = regs.map(|r| d.mostly(r));
    let step = [1, 2, 4][d.below(3)];
    // Counting from 0 or from the data pointer (then up to 40 past it).
    let from = [ZERO, A1][d.below(2)];
    let mut prog = vec![
        addi(counter, from, [0, 4, 8][d.below(3)]),
        addi(bound, from, [24, 40, 4000][d.below(3)]),
    ];
    let start = prog.len() as i32;
    let off = [0, 0, 2, 4][d.below(4)];
    // The ALU op in front of the closer: none, a pointer that steps, or an
    // accumulator of the loaded value.
    let pre = d.below(3);
    // What varies the address: mostly the counter, else the accumulator.
    let varying = match d.below(3) {
        0 if pre == 1 => acc,
        _ => d.mostly(counter),
    };
    // The address: the data pointer plus what varies it (indexed), or
    // that register alone.
    let base = if d.below(2) == 0 {
        let (a, b) = (d.mostly(A1), varying);
        let (a, b) = if d.below(2) == 0 { (a, b) } else { (b, a) };
        prog.push(alu(AluOp::Add, address, a, b));
        address
    } else {
        varying
    };
    prog.push(if d.below(2) == 0 {
        let op = [LoadOp::Lw, LoadOp::Lh, LoadOp::Lhu, LoadOp::Lb, LoadOp::Lbu][d.below(5)];
        load(op, data, base, off)
    } else {
        let width = [Width::Word, Width::Half, Width::Byte][d.below(3)];
        store(width, data, base, off)
    });
    match pre {
        0 => {}
        1 => prog.push(imm(ImmOp::Add, acc, d.mostly(acc), step)),
        _ => {
            let op = AluOp::ALL[d.below(11)];
            prog.push(alu(op, acc, d.mostly(acc), d.mostly(data)));
        }
    }
    if d.below(3) == 0 {
        prog.push(alu(AluOp::Add, counter, d.mostly(counter), by));
    } else {
        prog.push(addi(counter, d.mostly(counter), step));
    }
    let cond = [
        BranchCond::Ltu,
        BranchCond::Lt,
        BranchCond::Ne,
        BranchCond::Geu,
    ][d.below(4)];
    let here = prog.len() as i32;
    prog.push(branch(cond, counter, bound, 4 * (start - here)));
    prog.push(Instr::Halt);
    prog
}

#[test]
fn loops_of_one_load_or_store_run_as_written_whatever_their_registers() {
    let mut d = Draw(0x2545_F491);
    for _ in 0..1500 {
        same_both_ways_within(&program(&mut d), 3000);
    }
}

#[test]
fn loops_that_hold_their_registers_stop_exactly() {
    // Strike out every third byte (sieve's inner loop), count the bytes
    // left (an accumulator fed by the load), and fill words: each stops at
    // every budget in turn, and must be where stepping leaves it.
    let programs = [
        vec![
            addi(T0, ZERO, 0),
            addi(A2, ZERO, 60),
            alu(AluOp::Add, T2, A1, T0),
            store(Width::Byte, ZERO, T2, 0),
            addi(T0, T0, 3),
            branch(BranchCond::Ltu, T0, A2, -12),
            addi(T0, ZERO, 0),
            addi(S0, ZERO, 0),
            alu(AluOp::Add, T2, A1, T0),
            load(LoadOp::Lbu, T2, T2, 0),
            alu(AluOp::Add, S0, S0, T2),
            addi(T0, T0, 1),
            branch(BranchCond::Ltu, T0, A2, -16),
            Instr::Halt,
        ],
        vec![
            addi(A0, A1, 0),
            addi(A2, A1, 64),
            store(Width::Word, S1, A0, 0),
            addi(A0, A0, 4),
            branch(BranchCond::Ltu, A0, A2, -8),
            Instr::Halt,
        ],
    ];
    for prog in &programs {
        let mut whole = setup(prog);
        assert_eq!(whole.run(100_000), Exit::Halt);
        let total = whole.counters().retired_total();
        for budget in 1..=total {
            let mut cut = setup(prog);
            let mut stepped = setup(prog);
            cut.run(budget);
            for _ in 0..budget {
                stepped.run(1);
            }
            assert_eq!(cut.cpu_state(), stepped.cpu_state(), "budget {budget}");
        }
    }
    // The sum is of the bytes the strike-out left: 40 of the first 60.
    let mut m = setup(&programs[0]);
    let mut bytes = [0u8; 60];
    m.read_phys(HostPhys(DATA), &mut bytes).unwrap();
    let left: u32 = (0..60)
        .filter(|i| i % 3 != 0)
        .map(|i| u32::from(bytes[i]))
        .sum();
    assert_eq!(m.run(100_000), Exit::Halt);
    assert_eq!(m.reg(S0), left);
}

/// A loop of `body` ALU ops and a closer on `t0` (from 0 by 1 to `bound`):
/// the interpreter runs up to four copies of such a body per block.
fn counted(body: usize, bound: i32) -> Vec<Instr> {
    let mut prog = vec![addi(T0, ZERO, 0), addi(A2, ZERO, bound)];
    let ops = [
        alu(AluOp::Add, S0, S0, T0),
        alu(AluOp::Xor, S1, S1, S0),
        imm(ImmOp::Sll, T1, S1, 3),
        alu(AluOp::Sub, S0, S0, T1),
        imm(ImmOp::Add, T2, T2, 7),
    ];
    prog.extend(ops.iter().cycle().take(body));
    prog.push(addi(T0, T0, 1));
    let back = -4 * (body as i32 + 1);
    prog.push(branch(BranchCond::Ltu, T0, A2, back));
    prog.push(Instr::Halt);
    prog
}

#[test]
fn loops_run_as_copies_of_their_body_and_leave_from_any() {
    // Bodies of 0 to 14 ops (four copies down to one), left after every
    // number of passes up to past four copies.
    for body in 0..=14 {
        for bound in 1..=11 {
            same_both_ways_within(&counted(body, bound), 1000);
        }
    }
    // A fault in the third pass: the load walks off the end of RAM.
    let mut faulting = vec![
        addi(T0, ZERO, 0),
        addi(A2, ZERO, 9),
        Instr::Lui { rd: T1, imm: 0x100 },
        addi(T1, T1, -8),
        lw(S0, T1, 0),
        addi(T1, T1, 4),
        alu(AluOp::Add, S1, S1, S0),
        addi(T0, T0, 1),
        branch(BranchCond::Ltu, T0, A2, -16),
    ];
    faulting.push(Instr::Halt);
    same_both_ways(&faulting);
}

#[test]
fn loops_run_as_copies_stop_exactly() {
    // Every budget, so that runs stop in every copy and at every closer,
    // and chains that run out of room re-enter the loop at its start.
    for body in [1, 3, 6] {
        let prog = counted(body, 10);
        let mut whole = setup(&prog);
        assert_eq!(whole.run(100_000), Exit::Halt);
        let total = whole.counters().retired_total();
        for budget in 1..=total {
            let mut cut = setup(&prog);
            let mut stepped = setup(&prog);
            cut.run(budget);
            for _ in 0..budget {
                stepped.run(1);
            }
            assert_eq!(
                cut.cpu_state(),
                stepped.cpu_state(),
                "body {body}, budget {budget}"
            );
        }
    }
}
