//! Robustness: user exception handlers, and programs that misbehave (bad
//! accesses, a stack overflow) are killed while the rest carry on.

mod common;

use common::kernel::{KILLED, RAM, each_build, printer, prog};
use common::run_native;
use vmlab_guest::KernelBuild;

#[test]
fn a_handler_resumes_after_divide_by_zero_and_breakpoint() {
    // The handler counts, checks its arguments, and resumes after the
    // faulting instruction; the interrupted code's registers survive.
    let p = prog(
        "handler",
        r#"
main:   addi    sp, sp, -4
        sw      ra, 0(sp)
        la      a0, handler
        li      a4, SYS_SET_HANDLER
        syscall
        bnez    a0, 9f
        li      s0, 1234                # must survive the handler
        li      t2, 5
fault1: divu    t3, t2, zero
        li      a3, 77
fault2: break
        li      t0, 1234
        bne     s0, t0, 9f
        li      t0, 77
        bne     a3, t0, 9f
        la      t0, count
        lw      t1, 0(t0)
        li      t0, 2
        bne     t1, t0, 9f
        li      a0, 0                   # sigreturn outside a handler
        li      a4, SYS_SIGRETURN
        syscall
        li      t0, SYS_EINVAL
        bne     a0, t0, 9f
        la      a0, msg
        call    say
        li      a0, 0
        j       8f
9:      li      a0, 1
8:      lw      ra, 0(sp)
        addi    sp, sp, 4
        ret
handler:
        li      s0, 0                   # clobber: sigreturn restores it
        li      a3, 0
        la      t0, count
        lw      t1, 0(t0)
        addi    t1, t1, 1
        sw      t1, 0(t0)
        li      t0, 9                   # the first: divide by zero at fault1
        bne     a0, t0, 1f
        la      t0, fault1
        bne     a1, t0, 2f
        j       3f
1:      li      t0, 11                  # the second: breakpoint at fault2
        bne     a0, t0, 2f
        la      t0, fault2
        bne     a1, t0, 2f
3:      addi    a0, a1, 4
        li      a4, SYS_SIGRETURN
        syscall
2:      li      a0, 3                   # wrong arguments
        li      a4, SYS_EXIT
        syscall
        .section data
count:  .word   0
msg:    .asciz  "resumed\n"
"#,
    );
    for out in each_build(&[p]) {
        out.assert_exit(0);
        assert_eq!(out.console, "resumed\n");
    }
}

#[test]
fn bad_programs_are_killed_and_the_rest_carries_on() {
    let bad = [
        (
            "unmapped",
            "main: li t0, 0x48000000\n lw a0, 0(t0)\n ret\n",
            "load page fault",
        ),
        (
            "kernelmem",
            "main: li t0, 0x2000\n lw a0, 0(t0)\n ret\n",
            "load page fault",
        ),
        (
            "textwrite",
            "main: la t0, main\n sw zero, 0(t0)\n ret\n",
            "store page fault",
        ),
        (
            "kerneljump",
            "main: li t0, 0x8000\n jr t0\n",
            "fetch page fault",
        ),
        (
            "privileged",
            "main: csrr a0, status\n ret\n",
            "privileged instruction",
        ),
        (
            "hypercall",
            "main: hypercall\n ret\n",
            "privileged instruction",
        ),
        (
            "divzero",
            "main: li t0, 1\n div a0, t0, zero\n ret\n",
            "divide by zero",
        ),
        (
            "misaligned",
            "main: li t0, 0x7FFFEFF1\n lw a0, 0(t0)\n ret\n",
            "misaligned load",
        ),
    ];
    for (name, body, cause) in bad {
        for out in each_build(&[prog(name, body), printer("good", "still here\\n", 0)]) {
            out.assert_exit(0);
            assert_eq!(out.console, "still here\n", "{name}");
            let killed = format!("process 1 ({name}) killed: {cause} at pc 0x");
            assert!(out.log.contains(&killed), "{name}: {}", out.log);
            assert!(
                out.log
                    .contains(&format!("process 1 ({name}) exited with status -1"))
            );
        }
    }
}

#[test]
fn a_killed_last_process_powers_off_with_minus_one() {
    let out = run_native(KernelBuild::Full, &[prog("bad", "main: break\n")], RAM);
    out.assert_exit(KILLED);
    assert!(out.log.contains("killed: breakpoint"), "{}", out.log);
    assert_eq!(out.console, "");
}

#[test]
fn stack_overflow_past_256_kib_is_fatal() {
    let p = prog(
        "deep",
        "main: li t0, 0x7FFFF000 - 0x41000\n sw zero, 0(t0)\n ret\n",
    );
    let out = run_native(KernelBuild::Full, &[p], RAM);
    out.assert_exit(KILLED);
    assert!(out.log.contains("store page fault"), "{}", out.log);
}
