//! The kernel, run natively: boot, the entry registers, processes and
//! preemption, the console syscalls, the legacy profile and time.
//!
//! The programs are small test-only ones assembled inline (the workload
//! suite has its own tests). Each reports on the console and through its
//! exit status, which the kernel passes to the power-off code when it is the
//! last process to exit.

mod common;

use common::kernel::{EXIT_BAD_BOOT, RAM, each_build, printer, prog};
use common::{Setup, run_native, run_with};
use vmlab_guest::{KernelBuild, kernel_image};
use vmlab_isa::Profile;
use vmlab_machine::Exit;

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
