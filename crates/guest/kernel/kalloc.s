# kalloc.s: the physical page allocator.
#
# Every page from the boot info's free_start to the end of RAM is the
# kernel's to allocate. kalloc takes a page from the free list (freed pages,
# linked through their first word) or else the next never-used page
# (k_next_page, which only grows), and zeroes it. There is no coalescing and
# no bigger allocation: the kernel only ever needs single pages.

# kalloc() -> a0 = a zeroed page (guest-physical = its kernel address), or 0
# when memory is exhausted. The free list is the textbook critical section,
# so interrupts are off around it (they are anyway in this kernel).
kalloc:
        addi    sp, sp, -8
        sw      ra, 0(sp)
        sw      s0, 4(sp)
        call    irq_save
        mv      t3, a0
        lw      s0, k_free_list(zero)
        beqz    s0, 1f
        lw      t0, 0(s0)               # unlink
        sw      t0, k_free_list(zero)
        j       2f
1:      lw      s0, k_next_page(zero)
        lw      t0, k_ram_bytes(zero)
        bgeu    s0, t0, 3f              # out of memory: s0 = 0
        li      t0, PAGE_SIZE
        add     t0, s0, t0
        sw      t0, k_next_page(zero)
        j       2f
3:      li      s0, 0
2:      mv      a0, t3
        call    irq_restore
        beqz    s0, 5f
        # Zero it, eight words per loop.
        mv      t0, s0
        li      t1, PAGE_SIZE
        add     t1, s0, t1
4:      sw      zero, 0(t0)
        sw      zero, 4(t0)
        sw      zero, 8(t0)
        sw      zero, 12(t0)
        sw      zero, 16(t0)
        sw      zero, 20(t0)
        sw      zero, 24(t0)
        sw      zero, 28(t0)
        addi    t0, t0, 32
        bltu    t0, t1, 4b
5:      mv      a0, s0
        lw      ra, 0(sp)
        lw      s0, 4(sp)
        addi    sp, sp, 8
        ret

# kfree(a0 = page): back on the free list. A page table must be unpinned
# first (pv: it is read-only until then).
kfree:
        addi    sp, sp, -8
        sw      ra, 0(sp)
        sw      s0, 4(sp)
        mv      s0, a0
        call    irq_save
        lw      t0, k_free_list(zero)
        sw      t0, 0(s0)
        sw      s0, k_free_list(zero)
        call    irq_restore
        lw      ra, 0(sp)
        lw      s0, 4(sp)
        addi    sp, sp, 8
        ret
