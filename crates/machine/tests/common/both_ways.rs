//! Running a program two ways: whole, and one instruction of budget at a
//! time. A pass that must stop after one instruction takes the
//! interpreter's plain path (unfused, unjoined), so the two runs compare
//! every fusion and join against the plain semantics.

use vmlab_isa::{Instr, Reg};
use vmlab_machine::{Exit, HostPhys, Machine};

use super::*;

pub const S0: Reg = Reg::S0;
pub const S1: Reg = Reg::S1;

/// Where the data the memory tests use lives.
pub const DATA: u32 = 0x4000;

/// Register values that make every comparison and shift interesting.
pub const START: [(Reg, u32); 8] = [
    (T0, 0xFFFF_FFF0),
    (T1, 7),
    (T2, 0x8000_0001),
    (A0, 3),
    (A1, DATA),
    (S0, 33),
    (S1, 0x1234_5678),
    (A2, 4),
];

pub fn setup(prog: &[Instr]) -> Machine {
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
pub fn same_both_ways(prog: &[Instr]) {
    same_both_ways_within(prog, 100_000);
}

/// [`same_both_ways`], for at most `budget` instructions.
pub fn same_both_ways_within(prog: &[Instr], budget: u64) {
    let mut whole = setup(prog);
    let first = whole.run(budget);
    let mut stepped = setup(prog);
    let mut exit = Exit::BudgetExhausted;
    for _ in 0..budget {
        exit = stepped.run(1);
        if exit != Exit::BudgetExhausted {
            break;
        }
    }
    let listing: Vec<String> = prog.iter().map(|i| i.to_string()).collect();
    assert_eq!(exit, first, "{listing:?}");
    assert_eq!(stepped.cpu_state(), whole.cpu_state(), "{listing:?}");
    // The program, the data and what lies between.
    let mut a = vec![0; DATA as usize + 256];
    let mut b = vec![0; DATA as usize + 256];
    whole.read_phys(HostPhys(0), &mut a).unwrap();
    stepped.read_phys(HostPhys(0), &mut b).unwrap();
    assert!(a == b, "memory differs: {listing:?}");
    assert_eq!(
        stepped.counters().retired_total(),
        whole.counters().retired_total(),
        "{listing:?}"
    );
}
