//! Self-modifying code and host writes into code pages are seen by the next
//! execution (docs/isa.md 4.4: "code that a kernel has just written can be
//! executed at once, with no fence").

mod common;

use common::*;
use vmlab_isa::{BranchCond, Instr, encode};
use vmlab_machine::{Exit, HostPhys};

#[test]
fn a_store_into_the_running_block_is_seen_by_the_next_instruction() {
    let new = encode(&addi(A0, ZERO, 7)).unwrap();
    let mut prog = li(T0, new); // 0, 4
    prog.push(sw(T0, ZERO, 12)); // 8: overwrite the next instruction
    prog.push(addi(A0, ZERO, 1)); // 12
    prog.push(Instr::Halt);
    let mut m = machine(&prog);
    assert_eq!(m.run(100), Exit::Halt);
    assert_eq!(m.reg(A0), 7);
    assert_eq!(m.counters().code_invalidations, 1);
}

#[test]
fn patching_a_loop_body_changes_the_next_iteration() {
    // Loop 3 times over a body at 0x100 that adds to a0; after the first
    // iteration the loop patches the body from "+1" to "+100".
    let patch = encode(&addi(A0, A0, 100)).unwrap();
    let mut prog = li(T1, patch); // 0, 4
    prog.push(addi(T0, ZERO, 3)); // 8
    prog.push(jal(RA, 0x100 - 12)); // 12: call body
    prog.push(sw(T1, ZERO, 0x100)); // 16: patch
    prog.push(addi(T0, T0, -1)); // 20
    prog.push(branch(BranchCond::Ne, T0, ZERO, -12)); // 24 -> 12
    prog.push(Instr::Halt); // 28
    let mut m = machine(&prog);
    put(&mut m, 0x100, &[addi(A0, A0, 1), jalr(ZERO, RA, 0)]);
    assert_eq!(m.run(1000), Exit::Halt);
    assert_eq!(m.reg(A0), 1 + 100 + 100);
}

#[test]
fn host_writes_into_code_are_seen_by_the_next_run() {
    let mut m = machine(&[addi(A0, ZERO, 1), Instr::Halt]);
    assert_eq!(m.run(100), Exit::Halt);
    assert_eq!(m.reg(A0), 1);
    m.write_phys_u32(HostPhys(0), encode(&addi(A0, ZERO, 2)).unwrap())
        .unwrap();
    m.set_pc(0);
    assert_eq!(m.run(100), Exit::Halt);
    assert_eq!(m.reg(A0), 2);
    assert_eq!(m.counters().code_invalidations, 1);
}

#[test]
fn data_next_to_code_does_not_invalidate_it() {
    // A loop storing to the same page, 2 KiB away from the code.
    let prog = [
        addi(T0, ZERO, 100),
        sw(T0, ZERO, 0x800),
        addi(T0, T0, -1),
        branch(BranchCond::Ne, T0, ZERO, -8),
        Instr::Halt,
    ];
    let mut m = machine(&prog);
    assert_eq!(m.run(10_000), Exit::Halt);
    let c = m.counters();
    assert_eq!(c.code_invalidations, 0);
    assert_eq!(c.blocks_decoded, 3, "{c:?}");
}
