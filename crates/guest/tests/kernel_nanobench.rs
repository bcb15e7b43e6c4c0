//! The nanobenchmarks: every kind runs and marks the log, their cost per
//! iteration differences out the boot, and the pv build uses their
//! paravirtual equivalents.

mod common;

use common::kernel::{RAM, each_build, prog, pv};
use common::{run_native, run_with};
use vmlab_guest::KernelBuild;

#[test]
fn nanobench_kinds_run_and_mark_the_log() {
    let p = prog(
        "nb",
        r#"
main:   addi    sp, sp, -8
        sw      ra, 0(sp)
        sw      s0, 4(sp)
        li      s0, NB_IN
1:      mv      a0, s0
        li      a1, 50
        li      a4, SYS_NANOBENCH
        syscall
        bnez    a0, 9f
        addi    s0, s0, 1
        li      t0, NB_PTEMOD
        bleu    s0, t0, 1b
        li      a0, 6                   # no such kind
        li      a1, 1
        syscall
        li      t0, SYS_EINVAL
        bne     a0, t0, 9f
        li      a0, NB_CALLRET          # zero iterations is fine
        li      a1, 0
        syscall
        bnez    a0, 9f
        li      a0, 0
        j       8f
9:      li      a0, 1
8:      lw      ra, 0(sp)
        lw      s0, 4(sp)
        addi    sp, sp, 8
        ret
"#,
    );
    for out in each_build(&[p]) {
        out.assert_exit(0);
        assert_eq!(
            out.log.matches("nanobench start\n").count(),
            6,
            "{}",
            out.log
        );
        assert_eq!(out.log.matches("nanobench end\n").count(), 6);
        assert_eq!(out.console, "");
    }
}

/// Instructions retired by one nanobench(kind, n) run, boot included.
fn nanobench_instret(kind: u32, n: u32) -> u64 {
    let p = prog(
        "nb",
        r#"
main:   mv      a1, a0                  # n = iterations
        mv      a0, a2                  # kind = the second argument word
        li      a4, SYS_NANOBENCH
        syscall
        ret
"#,
    )
    .iters(n)
    .args([0, kind, 0, 0]);
    let out = run_native(KernelBuild::Full, &[p], RAM);
    out.assert_exit(0);
    out.instret
}

#[test]
fn nanobench_cost_per_iteration_differences_out_the_boot() {
    // Natively, per iteration: a port read, a csrw, a call/ret, a store
    // (each plus the loop's own two or three instructions); a page fault
    // costs a trap into the kernel and back. The timer is off inside the
    // loop, so the difference of n and 2n is exact.
    let per = |kind| {
        let (a, b) = (nanobench_instret(kind, 1000), nanobench_instret(kind, 2000));
        (b - a) as f64 / 1000.0
    };
    let (inw, prio, callret, pgfault, ptemod) = (per(1), per(2), per(3), per(4), per(5));
    assert_eq!(inw, 6.0, "in: call, li, inw, ret and the loop");
    assert_eq!(prio, 3.0, "prio: csrw and the loop");
    assert_eq!(callret, 4.0, "call/ret: call, ret, loop");
    assert_eq!(ptemod, 6.0, "ptemod: the store, operands and loop");
    assert!(pgfault > 40.0 && pgfault < 200.0, "pgfault: {pgfault}");
}

/// The hypercalls of one nanobench(kind, n) run on the pv build.
fn pv_nanobench_calls(kind: u32, n: u32) -> std::collections::HashMap<u32, u64> {
    let p = prog(
        "nb",
        r#"
main:   mv      a1, a0
        mv      a0, a2
        li      a4, SYS_NANOBENCH
        syscall
        ret
"#,
    )
    .iters(n)
    .args([0, kind, 0, 0]);
    let out = run_with(&pv(), &[p]);
    out.assert_exit(0);
    out.hypercalls
}

#[test]
fn pv_nanobenchmarks_use_their_paravirtual_equivalents() {
    use vmlab_isa::abi;
    let extra = |kind: u32, n: u32, hc: u32| {
        let base = pv_nanobench_calls(kind, 0);
        let run = pv_nanobench_calls(kind, n);
        run.get(&hc).copied().unwrap_or(0) - base.get(&hc).copied().unwrap_or(0)
    };
    // ptemod: 300 PTE writes queue into three mmu_update batches (128 each).
    assert_eq!(extra(5, 300, abi::HC_MMU_UPDATE), 3);
    // pgfault: per iteration, one update to map (in the fault handler) and
    // one to unmap with the page flush.
    assert_eq!(extra(4, 10, abi::HC_MMU_UPDATE), 20);
    // cr8wr: a shared-page store, no hypercall at all.
    let base = pv_nanobench_calls(2, 0);
    let run = pv_nanobench_calls(2, 100);
    assert_eq!(base.values().sum::<u64>(), run.values().sum::<u64>());
    // in: one ring notification per iteration.
    assert_eq!(extra(1, 10, abi::HC_RING_NOTIFY), 10);
}
