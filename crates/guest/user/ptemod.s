# ptemod: `iters` rounds of map one heap page, write it, read it, unmap it.
#
# Stresses page-table writes: each round makes the kernel write a PTE (map)
# and clear it again (unmap, with a TLB flush of that page). Natively those
# are stores into the page table; under shadow paging the page-table pages
# are write-protected, so every PTE store traps to the monitor (or becomes a
# callout after binary translation adapts); paravirtualized, the updates go
# to the hypervisor in a validated batch. Each fresh page must read as zero
# before the store, which proves the unmap really dropped the old page.
# Round i stores i * 7 + 1; the program sums what it reads back. Prints
# "ptemod: N map/write/unmap rounds, sum S".
        .include "urt.s"

        .equ    PAGE, HEAP_BASE + 0x100000   # away from anything demand-mapped

main:
        addi    sp, sp, -16
        sw      ra, 0(sp)
        sw      s0, 4(sp)
        sw      s1, 8(sp)
        sw      s2, 12(sp)
        mv      s0, a0                  # rounds
        mv      s1, zero                # sum
        mv      s2, zero                # i
        beqz    s0, 2f
1:      li      a0, PAGE
        li      a1, 1
        li      a4, SYS_MAP
        syscall
        bltz    a0, 8f
        li      t0, PAGE + 0x7F0
        lw      t1, 0(t0)
        bnez    t1, 9f                  # a fresh page is zero
        slli    t1, s2, 3               # 8i - i = 7i
        sub     t1, t1, s2
        addi    t1, t1, 1
        sw      t1, 0(t0)
        lw      t1, 0(t0)
        add     s1, s1, t1
        li      a0, PAGE
        li      a1, 1
        li      a4, SYS_UNMAP
        syscall
        bltz    a0, 8f
        addi    s2, s2, 1
        bltu    s2, s0, 1b
2:      la      a0, msg_head
        call    print_str
        mv      a0, s0
        call    print_dec
        la      a0, msg_mid
        call    print_str
        mv      a0, s1
        call    print_dec
        li      a0, '\n'
        call    putc
        li      a0, 0
        lw      ra, 0(sp)
        lw      s0, 4(sp)
        lw      s1, 8(sp)
        lw      s2, 12(sp)
        addi    sp, sp, 16
        ret
8:      la      a0, msg_err
        j       fail
9:      la      a0, msg_stale
        j       fail

        .section data
msg_head:
        .asciz  "ptemod: "
msg_mid:
        .asciz  " map/write/unmap rounds, sum "
msg_err:
        .asciz  "ptemod: map or unmap failed"
msg_stale:
        .asciz  "ptemod: a freshly mapped page was not zero"
