//! A small demonstration kernel, assembled from inline source: a trap
//! vector, two-level paging with kernel-only and user pages, a user program
//! that makes syscalls, a page-table write, a timer and port I/O, and a
//! power-off. It exercises every path of the monitor in a few thousand
//! instructions, for examples, doctests and tests; the real kernel and
//! workloads live in the guest crate.
//!
//! ```
//! use vmlab_monitor::{demo, Mode, VmConfig};
//!
//! let config = VmConfig::new(demo::boot(100, demo::Probe::None), Mode::Hw);
//! let report = vmlab_monitor::run(config, 1_000_000).unwrap();
//! assert_eq!(report.console, demo::expected(100));
//! ```

use crate::config::BootImage;

/// What the user program does besides its computation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Probe {
    /// Nothing: prints its result and exits with 0.
    None,
    /// Reads a kernel-only address: the kernel powers off with code 3.
    KernelRead,
}

/// The kernel and user program; `iters` loop iterations in user mode.
pub fn source(iters: u32, probe: Probe) -> String {
    let probe = match probe {
        Probe::None => "nop",
        Probe::KernelRead => "lw a0, 0x40(zero)",
    };
    format!(
        r#"
        .equ CONSOLE, 0x100
        .equ LOG, 0x110
        .equ POWER, 0x120
        .equ ROOT, 0x10000
        .equ LEAF, 0x11000
        .equ ULEAF, 0x12000
        .equ TICK, 3000
_start:
        la      t0, trap
        csrw    tvec, t0
        getf    t0                      # am I really the supervisor?
        andi    t0, t0, 1
        beqz    t0, not_supervisor
        setf    zero
        li      t0, LEAF                # identity-map 1 MiB, kernel only
        li      t1, 0x6F                # V R W X A D
        li      t2, 256
map_loop:
        sw      t1, 0(t0)
        addi    t0, t0, 4
        addi    t1, t1, 4096
        addi    t2, t2, -1
        bnez    t2, map_loop
        li      t0, ROOT
        li      t1, 0x11001
        sw      t1, 0(t0)
        li      t1, 0x12001
        sw      t1, 4(t0)
        li      t0, ULEAF               # user code and data at 0x400000
        li      t1, 0x2001B             # V R X U
        sw      t1, 0(t0)
        li      t1, 0x21017             # V R W U
        sw      t1, 4(t0)
        li      t0, ROOT
        csrw    ptbr, t0
        tlbflush
        li      t0, 0x11                # paging on, still supervisor
        csrw    status, t0
        li      t0, TICK
        csrw    timecmp, t0
        li      t0, 1
        csrw    ienable, t0
        li      t0, 0x400000
        csrw    epc, t0
        li      t0, 0x19                # PG, PIE: sret to user with interrupts on
        csrw    status, t0
        sret

not_supervisor:
        la      t0, msg
        li      t1, LOG
msg_loop:
        lbu     t2, 0(t0)
        beqz    t2, msg_done
        outb    t2, 0(t1)
        addi    t0, t0, 1
        j       msg_loop
msg_done:
        li      t1, POWER
        li      t2, 0xE1
        outw    t2, 0(t1)

trap:
        csrw    scratch, t0
        la      t0, save
        sw      t1, 0(t0)
        sw      t2, 4(t0)
        sw      t3, 8(t0)
        csrr    t1, cause
        blt     t1, zero, interrupt
        li      t2, 10
        beq     t1, t2, syscall_h
        li      t2, 6
        beq     t1, t2, load_fault
        li      t1, POWER
        li      t2, 99
        outw    t2, 0(t1)
syscall_h:
        csrr    t1, epc
        addi    t1, t1, 4
        csrw    epc, t1
        li      t2, 1
        beq     a4, t2, sys_putc
        li      t2, 2
        beq     a4, t2, sys_map
        li      t1, POWER
        outw    a0, 0(t1)
sys_putc:
        li      t1, CONSOLE
        outb    a0, 0(t1)
        j       trap_ret
sys_map:
        li      t1, 0x12008
        li      t2, 0x22017
        sw      t2, 0(t1)
        j       trap_ret
interrupt:
        csrr    t1, timecmp
        li      t2, TICK
        add     t1, t1, t2
        csrw    timecmp, t1
        la      t2, ticks
        lw      t3, 0(t2)
        addi    t3, t3, 1
        sw      t3, 0(t2)
        j       trap_ret
load_fault:
        li      t1, POWER
        li      t2, 3
        outw    t2, 0(t1)
trap_ret:
        la      t0, save
        lw      t1, 0(t0)
        lw      t2, 4(t0)
        lw      t3, 8(t0)
        csrr    t0, scratch
        sret

        .org    0x20000                 # the user program, run at 0x400000
user:
        li      s0, 0x401000
        li      a4, 1
        li      a0, 'h'
        syscall
        li      a0, 'i'
        syscall
        {probe}
        li      t0, 0
        li      t1, {iters}
loop:
        add     t0, t0, t1
        sw      t0, 0(s0)
        addi    t1, t1, -1
        bnez    t1, loop
        li      a4, 2                   # map one more page (a PTE write)
        syscall
        li      t2, 0x402000
        sw      t0, 0(t2)
        lw      t0, 0(t2)
        li      t3, 10
        remu    a0, t0, t3
        addi    a0, a0, '0'
        li      a4, 1
        syscall
        li      a0, 10
        syscall
        li      a0, 0
        li      a4, 0
        syscall

        .data
msg:    .asciz  "kernel: not in supervisor mode\n"
        .align  4
save:   .space  16
ticks:  .word   0
"#
    )
}

/// The boot image of [`source`].
pub fn boot(iters: u32, probe: Probe) -> BootImage {
    let image = vmlab_asm::assemble_str(&source(iters, probe)).expect("the demo kernel assembles");
    BootImage::from_image(&image)
}

/// The expected console output for `iters`.
pub fn expected(iters: u32) -> String {
    let sum = (u64::from(iters) * (u64::from(iters) + 1) / 2) as u32;
    format!("hi{}\n", sum % 10)
}
