//! The kernel, run natively: boot, processes and preemption, the syscalls,
//! demand-zero memory, the disk, user exception handlers, the
//! nanobenchmarks, and robustness against programs that misbehave.
//!
//! The programs are small test-only ones assembled inline (the workload
//! suite has its own tests). Each reports on the console and through its
//! exit status, which the kernel passes to the power-off code when it is the
//! last process to exit.

mod common;

use common::{Prog, Setup, run_native, run_with};
use vmlab_guest::{KernelBuild, kernel_image};
use vmlab_isa::Profile;
use vmlab_machine::Exit;

/// Exit codes the kernel documents (docs/kernel.md, "Exit codes").
const EXIT_BAD_BOOT: u32 = 0xB007;
const EXIT_ASSERT_MODE: u32 = 0xDEAD;
/// The exit status of a killed process.
const KILLED: u32 = u32::MAX; // -1

const RAM: u32 = 4 << 20;

/// Runs `programs` on the full build natively and on the PV_IO build with
/// the test ring back end (common/rings.rs). Their consoles must agree.
fn each_build(programs: &[Prog]) -> [common::Outcome; 3] {
    let full = run_native(KernelBuild::Full, programs, RAM);
    let pv_io = run_with(&pv_io(), programs);
    let pv = run_with(&pv(), programs);
    assert_eq!(full.console, pv_io.console, "the builds print the same");
    assert_eq!(full.console, pv.console, "the builds print the same");
    [full, pv_io, pv]
}

/// Every test program starts with this: `_start` calls `main(a0 = iterations,
/// a1..a3 = args)` and exits with its result; `say(str)` writes a
/// NUL-terminated string with one `write`.
const PRELUDE: &str = r#"
        .include "syscalls.s"
        .org    0x40000000
_start: call    main
        li      a4, SYS_EXIT
        syscall
say:    mv      t0, a0
1:      lbu     t1, 0(t0)
        beqz    t1, 2f
        addi    t0, t0, 1
        j       1b
2:      sub     a1, t0, a0
        li      a4, SYS_WRITE
        syscall
        ret
"#;

fn prog(name: &str, body: &str) -> Prog {
    Prog::asm(name, &format!("{PRELUDE}\n{body}"))
}

/// A program that prints `text` and exits with `status`.
fn printer(name: &str, text: &str, status: i32) -> Prog {
    prog(
        name,
        &format!(
            r#"
main:   addi    sp, sp, -4
        sw      ra, 0(sp)
        la      a0, msg
        call    say
        li      a0, {status}
        lw      ra, 0(sp)
        addi    sp, sp, 4
        ret
        .section data
msg:    .asciz  "{text}"
"#
        ),
    )
}

#[test]
fn all_three_builds_assemble() {
    for build in KernelBuild::ALL {
        let image = kernel_image(build).unwrap_or_else(|| panic!("{build:?} missing"));
        assert!(image.symbol("trap_entry").is_some(), "{build:?}");
    }
    // The builds differ: pv has a trap table, the others a `tvec` write.
    let pv = kernel_image(KernelBuild::Pv).unwrap();
    assert!(pv.symbol("pv_trap_table").is_some());
    assert!(
        kernel_image(KernelBuild::Full)
            .unwrap()
            .symbol("pv_trap_table")
            .is_none()
    );
}

#[test]
fn boots_writes_and_exits_with_status() {
    for out in each_build(&[printer("hello", "hello\\n", 7)]) {
        out.assert_exit(7);
        assert_eq!(out.console, "hello\n");
        assert!(out.log.contains(" build, 1 processes"), "{}", out.log);
        assert!(
            out.log.contains("process 1 (hello) exited with status 7"),
            "{}",
            out.log
        );
        assert!(out.log.ends_with("all processes exited\n"), "{}", out.log);
    }
}

#[test]
fn no_programs_powers_off_at_once() {
    let out = run_native(KernelBuild::Full, &[], RAM);
    out.assert_exit(0);
    assert_eq!(out.console, "");
    assert!(out.log.contains("all processes exited"));
}

#[test]
fn entry_registers_carry_iterations_and_arguments() {
    // Exit status = iterations + 10 * a1 + 100 * a2 + 1000 * a3, and sp must be
    // the stack top.
    let p = prog(
        "args",
        r#"
main:   li      t0, 0x7FFFF000          # sp at entry (main is a leaf: no frame)
        bne     sp, t0, 9f
        li      t0, 10
        mul     a1, a1, t0
        add     a0, a0, a1
        li      t0, 100
        mul     a2, a2, t0
        add     a0, a0, a2
        li      t0, 1000
        mul     a3, a3, t0
        add     a0, a0, a3
        ret
9:      li      a0, 99999
        ret
"#,
    )
    .iters(5)
    .args([1, 2, 3, 4]);
    for out in each_build(&[p]) {
        out.assert_exit(5 + 10 + 200 + 3000);
    }
}

#[test]
fn timer_preempts_a_long_running_process() {
    // The first process computes for ~300,000 instructions before printing;
    // the second prints at once. Without preemption "A" would come first.
    let slow = prog(
        "slow",
        r#"
main:   addi    sp, sp, -4
        sw      ra, 0(sp)
        li      t0, 100000
1:      addi    t0, t0, -1
        bnez    t0, 1b
        la      a0, msg
        call    say
        li      a0, 1
        lw      ra, 0(sp)
        addi    sp, sp, 4
        ret
        .section data
msg:    .asciz  "A\n"
"#,
    );
    for out in each_build(&[slow, printer("fast", "B\\n", 2)]) {
        out.assert_exit(1); // the slow one exits last
        assert_eq!(out.console, "B\nA\n");
    }
}

#[test]
fn a_process_spinning_forever_does_not_stop_the_others() {
    let spin = prog("spin", "main: j main\n");
    let setup = Setup {
        budget: 2_000_000,
        ..Setup::default()
    };
    let out = run_with(&setup, &[spin, printer("worker", "done\\n", 0)]);
    assert_eq!(out.exit, Exit::BudgetExhausted);
    assert_eq!(out.console, "done\n");
    assert!(out.log.contains("process 2 (worker) exited with status 0"));
}

#[test]
fn getpid_and_yield() {
    // Each prints its pid, yields, prints it again: the two interleave.
    let body = r#"
main:   addi    sp, sp, -8
        sw      ra, 0(sp)
        sw      s0, 4(sp)
        li      a4, SYS_GETPID
        syscall
        mv      s0, a0
        call    show
        li      a4, SYS_YIELD
        syscall
        bnez    a0, 9f
        call    show
        mv      a0, s0
        lw      ra, 0(sp)
        lw      s0, 4(sp)
        addi    sp, sp, 8
        ret
9:      li      a0, 99
        ret
show:   la      a0, buf
        addi    t0, s0, '0'
        sb      t0, 0(a0)
        li      a1, 1
        li      a4, SYS_WRITE
        syscall
        ret
        .section data
buf:    .word   0
"#;
    for out in each_build(&[prog("p1", body), prog("p2", body)]) {
        out.assert_exit(2);
        assert_eq!(out.console, "1212");
    }
}

#[test]
fn write_of_many_chunks_and_bad_buffers() {
    // 200 bytes (four ring-sized chunks), then a write of kernel memory and
    // of an unmapped user address: both SYS_EFAULT, nothing printed.
    let p = prog(
        "writer",
        r#"
main:   addi    sp, sp, -4
        sw      ra, 0(sp)
        la      a0, long
        li      a1, 200
        li      a4, SYS_WRITE
        syscall
        li      t0, 200
        bne     a0, t0, 9f
        li      a0, 0x2000              # kernel data
        li      a1, 16
        li      a4, SYS_WRITE
        syscall
        li      t0, SYS_EFAULT
        bne     a0, t0, 9f
        li      a0, 0x48000000          # user space, but nothing mapped
        li      a1, 16
        syscall
        li      t0, SYS_EFAULT
        bne     a0, t0, 9f
        li      a0, -8                  # wraps around the address space
        li      a1, 16
        syscall
        li      t0, SYS_EFAULT
        bne     a0, t0, 9f
        li      a4, 99                  # no such syscall
        syscall
        li      t0, SYS_EINVAL
        bne     a0, t0, 9f
        li      a0, 0
        j       8f
9:      li      a0, 1
8:      lw      ra, 0(sp)
        addi    sp, sp, 4
        ret
        .section data
long:   .space  200, 'x'
"#,
    );
    for out in each_build(&[p]) {
        out.assert_exit(0);
        assert_eq!(out.console, "x".repeat(200));
    }
}

#[test]
fn read_returns_what_the_console_received() {
    let p = prog(
        "echo",
        r#"
main:   addi    sp, sp, -4
        sw      ra, 0(sp)
        la      a0, buf
        li      a1, 16
        li      a4, SYS_READ
        syscall
        mv      a1, a0                  # echo what came
        la      a0, buf
        li      a4, SYS_WRITE
        syscall
        la      a0, buf                 # nothing more: 0
        li      a1, 16
        li      a4, SYS_READ
        syscall
        lw      ra, 0(sp)
        addi    sp, sp, 4
        ret
        .section data
buf:    .space  16
"#,
    );
    let setup = Setup {
        console_input: b"ping\n".to_vec(),
        ..Setup::default()
    };
    let out = run_with(&setup, &[p]);
    out.assert_exit(0);
    assert_eq!(out.console, "ping\n");
}

#[test]
fn map_and_unmap_heap_pages() {
    // map two pages, use them, unmap them; touching again gives a fresh zero
    // page (demand-zero). Bad arguments are SYS_EINVAL.
    let p = prog(
        "mapper",
        r#"
        .macro  expect value, code
        li      t0, \value
        li      t1, \code
        bne     a0, t0, fail
        .endm
main:   li      s0, 0x50000000
        mv      a0, s0
        li      a1, 2
        li      a4, SYS_MAP
        syscall
        expect  0, 1
        li      t0, 1234
        sw      t0, 0(s0)
        sw      t0, 4096(s0)
        lw      a0, 4096(s0)
        expect  1234, 2
        mv      a0, s0                  # mapping again keeps the pages
        li      a1, 1
        li      a4, SYS_MAP
        syscall
        expect  0, 3
        lw      a0, 0(s0)
        expect  1234, 4
        mv      a0, s0
        li      a1, 2
        li      a4, SYS_UNMAP
        syscall
        expect  0, 5
        lw      a0, 0(s0)               # demand-zero: a new page
        expect  0, 6
        li      a0, 0x50000004          # not page-aligned
        li      a1, 1
        li      a4, SYS_MAP
        syscall
        expect  SYS_EINVAL, 7
        li      a0, 0x40000000          # not the heap
        li      a1, 1
        syscall
        expect  SYS_EINVAL, 8
        li      a0, 0x5FFFF000          # runs past the heap's end
        li      a1, 2
        syscall
        expect  SYS_EINVAL, 9
        li      a0, 0x50000000          # no pages
        li      a1, 0
        li      a4, SYS_UNMAP
        syscall
        expect  SYS_EINVAL, 10
        li      a0, 0x50100000          # unmapping what is not mapped is fine
        li      a1, 3
        syscall
        expect  0, 11
        li      a0, 0
        ret
fail:   mv      a0, t1
        ret
"#,
    );
    for out in each_build(&[p]) {
        out.assert_exit(0);
    }
}

#[test]
fn map_reports_out_of_memory_and_memory_comes_back() {
    // The first process maps until memory runs out (SYS_ENOMEM), unmaps it
    // all, maps again, and finally exits holding 2 MiB. The second yields
    // until the first is gone, then maps 2 MiB: exit returned the pages.
    let hog = prog(
        "hog",
        r#"
main:   li      a0, 0x50000000
        li      a1, 0xFFFF              # 256 MiB of heap in 4 MiB of RAM
        li      a4, SYS_MAP
        syscall
        li      t0, SYS_ENOMEM
        bne     a0, t0, 9f
        li      a0, 0x50000000
        li      a1, 0xFFFF
        li      a4, SYS_UNMAP
        syscall
        bnez    a0, 9f
        li      a0, 0x50000000
        li      a1, 512
        li      a4, SYS_MAP
        syscall
        ret
9:      li      a0, 1
        ret
"#,
    );
    let after = prog(
        "after",
        r#"
main:   li      t0, 5
        li      a4, SYS_YIELD
1:      syscall
        addi    t0, t0, -1
        bnez    t0, 1b
        li      a0, 0x50000000
        li      a1, 512
        li      a4, SYS_MAP
        syscall
        ret
"#,
    );
    for out in each_build(&[hog, after]) {
        out.assert_exit(0);
        assert!(
            out.log.contains("process 1 (hog) exited with status 0"),
            "{}",
            out.log
        );
        let hog_exit = out.log.find("(hog) exited").unwrap();
        assert!(
            out.log.find("(after) exited").unwrap() > hog_exit,
            "{}",
            out.log
        );
    }
}

#[test]
fn heap_and_stack_are_demand_zero() {
    let p = prog(
        "touch",
        r#"
main:   li      t0, 0x5ABCD000          # anywhere in the heap
        lw      a0, 0(t0)
        bnez    a0, 9f
        li      t1, 77
        sw      t1, 8(t0)
        lw      a0, 8(t0)
        bne     a0, t1, 9f
        li      t0, 0x7FFFF000 - 200000 # deep in the stack
        lw      a0, 0(t0)
        bnez    a0, 9f
        sw      t1, 0(t0)
        addi    sp, sp, -64             # and the ordinary pushes
        sw      t1, 0(sp)
        lw      a0, 0(sp)
        addi    sp, sp, 64
        bne     a0, t1, 9f
        li      a0, 0
        ret
9:      li      a0, 1
        ret
"#,
    );
    for out in each_build(&[p]) {
        out.assert_exit(0);
    }
}

#[test]
fn data_pages_are_private_to_each_process() {
    // Both run the same program: each increments its own counter once.
    let body = r#"
main:   la      t0, counter
        lw      a0, 0(t0)
        addi    a0, a0, 1
        sw      a0, 0(t0)
        li      a4, SYS_YIELD
        syscall
        la      t0, counter
        lw      a0, 0(t0)
        ret
        .section data
counter: .word  41
"#;
    for out in each_build(&[prog("c1", body), prog("c2", body)]) {
        out.assert_exit(42);
        assert!(out.log.contains("process 1 (c1) exited with status 42"));
    }
}

#[test]
fn disk_write_then_read_back() {
    let p = prog(
        "disk",
        r#"
main:   la      t0, out                 # a pattern: word i = i * 3 + 1
        li      t1, 0
1:      slli    t2, t1, 1
        add     t2, t2, t1
        addi    t2, t2, 1
        slli    t3, t1, 2
        add     t3, t0, t3
        sw      t2, 0(t3)
        addi    t1, t1, 1
        li      t2, 128
        bltu    t1, t2, 1b
        li      a0, 3
        la      a1, out
        li      a4, SYS_DISK_WRITE
        syscall
        bnez    a0, e0
        li      a0, 3
        li      a1, 0x50000000          # into the heap: demand-zero on the way
        li      a4, SYS_DISK_READ
        syscall
        bnez    a0, e1
        li      t0, 0x50000000
        la      t1, out
        li      t2, 128
2:      lw      a0, 0(t0)
        lw      a1, 0(t1)
        bne     a0, a1, e2
        addi    t0, t0, 4
        addi    t1, t1, 4
        addi    t2, t2, -1
        bnez    t2, 2b
        li      a0, 64                  # past the end of a 64-sector disk
        la      a1, out
        li      a4, SYS_DISK_READ
        syscall
        li      t0, SYS_EIO
        bne     a0, t0, e3
        li      a0, 1                   # a kernel buffer
        li      a1, 0x2000
        syscall
        li      t0, SYS_EFAULT
        bne     a0, t0, e4
        li      a0, 1                   # into read-only text
        li      a1, 0x40000000
        syscall
        li      t0, SYS_EFAULT
        bne     a0, t0, e5
        li      a0, 0
        ret
# Each check fails with its own status, 10 + its number.
e0:     li      a0, 10
        ret
e1:     li      a0, 11
        ret
e2:     li      a0, 12
        ret
e3:     li      a0, 13
        ret
e4:     li      a0, 14
        ret
e5:     li      a0, 15
        ret

        .section data
        .align  4
out:    .space  512
"#,
    );
    for out in each_build(&[p]) {
        out.assert_exit(0);
        let sector = &out.disk[3 * 512..4 * 512];
        let word = |i: usize| u32::from_le_bytes(sector[4 * i..4 * i + 4].try_into().unwrap());
        assert_eq!((word(0), word(1), word(127)), (1, 4, 382));
    }
}

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

#[test]
fn the_legacy_profile_runs_natively() {
    // Natively the kernel is in supervisor mode, so `getf` sees MODE = 1 and
    // `setf` works: the legacy profile's assertions pass.
    let setup = Setup {
        profile: Profile::Legacy,
        ..Setup::default()
    };
    let out = run_with(&setup, &[printer("legacy", "ok\\n", 3)]);
    out.assert_exit(3);
    assert_eq!(out.console, "ok\n");
    assert!(!out.log.contains("assertion"), "{}", out.log);
}

#[test]
fn a_pv_io_build_without_rings_refuses_to_boot() {
    for build in [KernelBuild::PvIo, KernelBuild::Pv] {
        let setup = Setup {
            build,
            budget: 1_000_000,
            ..Setup::default()
        };
        let out = run_with(&setup, &[printer("p", "x", 0)]);
        if build == KernelBuild::PvIo {
            out.assert_exit(EXIT_BAD_BOOT);
            assert!(out.log.contains("bad boot information"), "{}", out.log);
        } else {
            // The pv kernel's first act is a hypercall, which a bare machine
            // turns into a trap with no handler: it never gets anywhere.
            assert_ne!(out.exit_code, Some(0));
        }
        assert_eq!(out.console, "");
    }
}

#[test]
fn time_advances() {
    let p = prog(
        "time",
        r#"
main:   li      a4, SYS_TIME
        syscall
        mv      t0, a0
        li      t1, 100
1:      addi    t1, t1, -1
        bnez    t1, 1b
        syscall
        sub     a0, a0, t0
        sltiu   a0, a0, 200             # 1 (a failure) if it moved less than the loop
        ret
"#,
    );
    run_native(KernelBuild::Full, &[p], RAM).assert_exit(0);
}

// ---------------------------------------------------------------------------
// The PV_IO build, with a test back end for the rings (common/rings.rs).

fn pv() -> Setup {
    Setup {
        build: KernelBuild::Pv,
        pv: true,
        ..Setup::default()
    }
}

fn pv_io() -> Setup {
    Setup {
        build: KernelBuild::PvIo,
        rings: true,
        ..Setup::default()
    }
}

#[test]
fn pv_io_console_write_goes_through_the_ring() {
    let long = "y".repeat(150);
    let out = run_with(&pv_io(), &[printer("hello", &format!("hello\\n{long}"), 7)]);
    out.assert_exit(7);
    assert_eq!(out.console, format!("hello\n{long}"));
    assert_eq!(out.notifies, 1, "one notification for the whole write");
    assert!(
        out.log.contains("vmlab kernel: pv_io build, 1 processes"),
        "{}",
        out.log
    );
}

#[test]
fn deprivileged_on_the_legacy_profile_the_assertion_fails_visibly() {
    let out = common::run_deprivileged_legacy(&[printer("p", "never\\n", 0)]);
    out.assert_exit(EXIT_ASSERT_MODE);
    assert_eq!(
        out.log,
        "kernel assertion failed: not in supervisor mode (getf)\n"
    );
    assert_eq!(out.console, "");
}

// ---------------------------------------------------------------------------
// The pv build under the test pv host (common/pvhost.rs), which stops the
// run at any privileged instruction, unvalidated page-table write or
// store to a pinned table: passing at all says the kernel kept the ABI.

#[test]
fn pv_kernel_boots_through_hypercalls() {
    let out = run_with(&pv(), &[printer("hello", "hello\\n", 7)]);
    out.assert_exit(7);
    assert_eq!(out.console, "hello\n");
    assert!(
        out.log.contains("vmlab kernel: pv build, 1 processes"),
        "{}",
        out.log
    );
    let calls = |hc: u32| out.hypercalls.get(&hc).copied().unwrap_or(0);
    use vmlab_isa::abi;
    assert_eq!(calls(abi::HC_SET_TRAP_TABLE), 1);
    assert_eq!(calls(abi::HC_SHUTDOWN), 1);
    // 4 MiB: one direct-map leaf, the kmap leaf, the kernel root, the
    // process root and its leaf for user space (text and data, no stack yet).
    assert!(calls(abi::HC_PIN_TABLE) >= 5, "{:?}", out.hypercalls);
    assert!(calls(abi::HC_SET_PTBR) >= 2);
    assert!(calls(abi::HC_IRET) >= 2);
    assert_eq!(calls(abi::HC_LOG_WRITE), 3, "one call per log line");
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

#[test]
fn every_workload_prints_the_same_in_every_build() {
    // The determinism contract: the console never depends on the build (nor
    // on where a preemption landed, which differs between builds).
    for w in vmlab_guest::workloads() {
        let programs: Vec<Prog> = w
            .processes
            .iter()
            .map(|p| Prog {
                name: p.program.to_string(),
                image: p.image().expect("built").clone(),
                iterations: w.default_iters,
                args: [p.args[0], p.args[1], p.args[2], 0],
            })
            .collect();
        let expected = w.expected_output(w.default_iters);
        for setup in [Setup::default(), pv_io(), pv()] {
            let out = run_with(&setup, &programs);
            assert_eq!(
                out.console, expected,
                "{} on {:?}\n{}",
                w.name, setup.build, out.log
            );
            out.assert_exit(0);
        }
    }
}

/// The kernel's source lines, and which of them each build assembles, by
/// evaluating `.ifdef`/`.ifndef`/`.if`/`.elif`/`.else`/`.endif` with the
/// build's defines (an `.if` expression counts as true: none of them
/// depends on the build).
fn assembled_lines(defines: &[&str]) -> Vec<(String, String)> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("kernel");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "s"))
        .collect();
    files.sort();
    let mut out = Vec::new();
    for path in files {
        let text = std::fs::read_to_string(&path).unwrap();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        // (this branch is active, some branch was taken)
        let mut stack: Vec<(bool, bool)> = Vec::new();
        for (i, line) in text.lines().enumerate() {
            let words: Vec<&str> = line.split('#').next().unwrap().split_whitespace().collect();
            let active = stack.iter().all(|&(a, _)| a);
            match words.first().copied() {
                Some(".ifdef") | Some(".ifndef") => {
                    let defined = defines.contains(&words[1]);
                    let c = defined == (words[0] == ".ifdef");
                    stack.push((c, c));
                }
                Some(".if") => stack.push((true, true)),
                Some(".elif") => {
                    let (_, taken) = stack.pop().unwrap();
                    stack.push((false, taken));
                }
                Some(".else") => {
                    let (_, taken) = stack.pop().unwrap();
                    stack.push((!taken, true));
                }
                Some(".endif") => {
                    stack.pop();
                }
                _ if active => out.push((format!("{name}:{i}"), line.trim().to_string())),
                _ => {}
            }
        }
    }
    out
}

#[test]
fn line_counts_in_docs_are_current() {
    use std::collections::HashSet;
    let builds = [
        ("full", assembled_lines(&[])),
        ("pv_io", assembled_lines(&["PV_IO"])),
        ("pv", assembled_lines(&["PV_CPU", "PV_IO"])),
    ];
    let docs = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/kernel.md"),
    )
    .unwrap();
    let is_code = |l: &str| !l.is_empty() && !l.starts_with('#');
    for (a, b) in [(0, 1), (0, 2), (1, 2)] {
        let (na, la) = (&builds[a].0, &builds[a].1);
        let (nb, lb) = (&builds[b].0, &builds[b].1);
        let sa: HashSet<_> = la.iter().collect();
        let sb: HashSet<_> = lb.iter().collect();
        let differ: Vec<_> = sa.symmetric_difference(&sb).collect();
        let code = differ.iter().filter(|(_, l)| is_code(l)).count();
        let row = format!("| `{na}` vs `{nb}` | {} | {code} |", differ.len());
        assert!(docs.contains(&row), "docs/kernel.md should say: {row}");
    }
}
