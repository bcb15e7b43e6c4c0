//! The kernel's memory and disk: mapping and unmapping heap pages, running
//! out of memory, demand-zero heap and stack, private data pages, and the
//! disk read back after a write.

mod common;

use common::kernel::{each_build, prog};

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
