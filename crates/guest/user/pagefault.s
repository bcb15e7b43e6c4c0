# pagefault: touch `iters` fresh heap pages, one store each, then read the
# stored words back.
#
# Stresses page faults and, under a monitor, shadow page-table fills: every
# store lands on a page never touched before, so it takes a demand-zero
# fault and the kernel writes a new page-table entry. Natively that is one
# fault and a PTE store; under shadow paging the fault is hidden or
# reflected by the monitor and the PTE write is trapped or emulated; with
# nested paging it stays in the guest and only the 2-D walk costs.
# Page i gets the word i * 0x9E3779B1 + 1 at offset (52 i) mod 4096 (so the
# words do not all share a cache line or TLB-set pattern); the read-back
# pass folds them into h = h * 31 + word. Prints
# "pagefault: N pages, checksum 0x........".
        .include "urt.s"

        .equ    MAX_PAGES, (HEAP_END - HEAP_BASE) / PAGE_SIZE

main:
        addi    sp, sp, -12
        sw      ra, 0(sp)
        sw      s0, 4(sp)
        sw      s1, 8(sp)
        mv      s0, a0                  # pages
        li      t0, MAX_PAGES
        bgtu    s0, t0, 9f
        li      t3, 0x9E3779B1
        mv      t0, zero                # i
        beqz    s0, 2f
1:      call    slot                    # t1 = address of page i's word
        mul     t2, t0, t3
        addi    t2, t2, 1
        sw      t2, 0(t1)               # first touch: a demand-zero fault
        addi    t0, t0, 1
        bltu    t0, s0, 1b
2:      mv      s1, zero                # checksum
        mv      t0, zero
        beqz    s0, 4f
        li      t2, 31
3:      call    slot
        lw      t1, 0(t1)
        mul     s1, s1, t2
        add     s1, s1, t1
        addi    t0, t0, 1
        bltu    t0, s0, 3b
4:      la      a0, msg_head
        call    print_str
        mv      a0, s0
        call    print_dec
        la      a0, msg_mid
        call    print_str
        mv      a0, s1
        call    print_hex
        li      a0, '\n'
        call    putc
        li      a0, 0
        lw      ra, 0(sp)
        lw      s0, 4(sp)
        lw      s1, 8(sp)
        addi    sp, sp, 12
        ret
9:      la      a0, msg_big
        j       fail

# slot(t0 = i) -> t1 = HEAP_BASE + i * 4096 + (52 i mod 4096). Clobbers a0.
slot:
        slli    t1, t0, 12
        li      a0, HEAP_BASE
        add     t1, t1, a0
        li      a0, 52
        mul     a0, a0, t0
        andi    a0, a0, 0xFFC
        add     t1, t1, a0
        ret

        .section data
msg_head:
        .asciz  "pagefault: "
msg_mid:
        .asciz  " pages, checksum "
msg_big:
        .asciz  "pagefault: more pages than the heap holds"
