//! Helpers for the kernel tests (`kernel_*.rs`): the exit codes the kernel
//! documents, the prelude every inline test program starts with, and the
//! builds to run them on.

use vmlab_guest::KernelBuild;

use super::{Outcome, Prog, Setup, run_native, run_with};

/// Exit codes the kernel documents (docs/kernel.md, "Exit codes").
pub const EXIT_BAD_BOOT: u32 = 0xB007;
pub const EXIT_ASSERT_MODE: u32 = 0xDEAD;
/// The exit status of a killed process.
pub const KILLED: u32 = u32::MAX; // -1

/// Guest RAM for the native runs.
pub const RAM: u32 = 4 << 20;

/// Runs `programs` on the full build natively and on the PV_IO build with
/// the test ring back end (common/rings.rs). Their consoles must agree.
pub fn each_build(programs: &[Prog]) -> [Outcome; 3] {
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
pub const PRELUDE: &str = r#"
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

pub fn prog(name: &str, body: &str) -> Prog {
    Prog::asm(name, &format!("{PRELUDE}\n{body}"))
}

/// A program that prints `text` and exits with `status`.
pub fn printer(name: &str, text: &str, status: i32) -> Prog {
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

/// The pv build under the test pv host (common/pvhost.rs).
pub fn pv() -> Setup {
    Setup {
        build: KernelBuild::Pv,
        pv: true,
        ..Setup::default()
    }
}

/// The PV_IO build with the test back end for the rings (common/rings.rs).
pub fn pv_io() -> Setup {
    Setup {
        build: KernelBuild::PvIo,
        rings: true,
        ..Setup::default()
    }
}
