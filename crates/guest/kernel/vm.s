# vm.s: physical pages, page tables and address spaces.
#
# Pages come from kalloc (kalloc.s). The kernel reaches any page through the
# direct map: virtual address = guest-physical address, for all of RAM.
#
# Page tables (docs/isa.md, section 8). The kernel's part of every address
# space is a set of leaf tables built once at boot: the direct map (root
# entries 0 .. RAM/4 MiB) and the kmap window (root entry 255). A process's
# root copies those entries, so every process shares them, and adds leaves
# of its own for user space (root entries 256..511).
#
# In the pv build a PTE holds host (machine) frames, not guest-physical
# ones, and the tables are read-only to the kernel once pinned: the
# PV_PTE_FRAME, PV_PTE_GPA, PV_PTE_WRITE, PV_MMU_COMMIT and PV_PIN_TABLE
# macros (pvops.s) hide both. Code here never writes a PTE any other way.

# vm_init(): the kernel's page tables, then paging on.
vm_init:
        addi    sp, sp, -20
        sw      ra, 0(sp)
        sw      s0, 4(sp)
        sw      s1, 8(sp)
        sw      s2, 12(sp)
        sw      s3, 16(sp)
        PV_M2P_INIT                     # pv: the machine-to-physical lookup
        # The boot tables come first from the allocator, so they are
        # contiguous: the root, one leaf per 4 MiB of RAM, the kmap leaf.
        lw      t0, k_next_page(zero)
        sw      t0, k_boot_tables(zero)
        call    kalloc
        sw      a0, k_kroot(zero)
        lw      s1, k_ram_bytes(zero)
        li      t0, 0x3FFFFF
        add     s1, s1, t0
        srli    s1, s1, 22              # s1: leaves for the direct map
        mv      s0, s1
1:      call    kalloc
        beqz    a0, 9f
        addi    s0, s0, -1
        bnez    s0, 1b
        call    kalloc
        beqz    a0, 9f
        sw      a0, k_kmap_leaf(zero)
        lw      t0, k_next_page(zero)
        sw      t0, k_boot_tables_end(zero)
        # The direct map: page p at virtual p, kernel-only. The tables
        # themselves are mapped read-only where the build needs that (pv).
        lw      s2, k_kroot(zero)
        addi    s2, s2, PAGE_SIZE       # s2: the first leaf; the leaves are
        li      s0, 1                   # contiguous, so page p's PTE is at
        lw      s3, k_ram_bytes(zero)   # s2 + 4p. Page 0 stays unmapped.
        srli    s3, s3, PAGE_SHIFT
2:      bgeu    s0, s3, 4f
        slli    a0, s0, PAGE_SHIFT
        PV_PTE_FRAME
        ori     a0, a0, PTE_KERNEL
        slli    t0, s0, PAGE_SHIFT
        lw      t1, k_boot_tables(zero)
        bltu    t0, t1, 3f
        lw      t1, k_boot_tables_end(zero)
        bgeu    t0, t1, 3f
        andi    a0, a0, ~(PTE_KERNEL ^ TABLE_MAP_FLAGS)
3:      slli    t0, s0, 2
        add     t0, s2, t0
        sw      a0, 0(t0)               # not a table yet: a plain store
        addi    s0, s0, 1
        j       2b
        # The root: the direct-map leaves, then the kmap leaf.
4:      li      s0, 0
5:      slli    a0, s0, PAGE_SHIFT
        add     a0, s2, a0
        PV_PTE_FRAME
        ori     a0, a0, PTE_V
        lw      t0, k_kroot(zero)
        slli    t1, s0, 2
        add     t0, t0, t1
        sw      a0, 0(t0)
        addi    s0, s0, 1
        bltu    s0, s1, 5b
        lw      a0, k_kmap_leaf(zero)
        PV_PTE_FRAME
        ori     a0, a0, PTE_V
        lw      t0, k_kroot(zero)
        sw      a0, KMAP_ROOT_INDEX * 4(t0)
        # pv: each leaf is validated and pinned, then the root.
        li      s0, 0
6:      slli    a0, s0, PAGE_SHIFT
        add     a0, s2, a0
        PV_PIN_TABLE PIN_LEAF
        addi    s0, s0, 1
        bltu    s0, s1, 6b
        lw      a0, k_kmap_leaf(zero)
        PV_PIN_TABLE PIN_LEAF
        lw      a0, k_kroot(zero)
        PV_PIN_TABLE PIN_ROOT
        # A frame for the nanobenchmarks to map in the kmap window.
        call    kalloc
        beqz    a0, 9f
        sw      a0, k_nb_frame(zero)
        lw      a0, k_kroot(zero)
        PV_PAGING_ON
        lw      ra, 0(sp)
        lw      s0, 4(sp)
        lw      s1, 8(sp)
        lw      s2, 12(sp)
        lw      s3, 16(sp)
        addi    sp, sp, 20
        ret
9:      la      a0, msg_no_memory
        j       panic

# as_create() -> a0 = a new root table (0 if out of memory) holding the
# kernel's entries, pinned as a root in pv.
as_create:
        addi    sp, sp, -8
        sw      ra, 0(sp)
        sw      s0, 4(sp)
        call    kalloc
        mv      s0, a0                  # s0: the new root
        beqz    a0, 2f
        lw      t0, k_kroot(zero)       # copy the kernel's half
        mv      t1, a0
        addi    t2, t0, ROOT_USER_FIRST * 4
1:      lw      t3, 0(t0)
        sw      t3, 0(t1)
        addi    t0, t0, 4
        addi    t1, t1, 4
        bltu    t0, t2, 1b
        lw      t0, k_kroot(zero)       # and the kmap window
        lw      t3, KMAP_ROOT_INDEX * 4(t0)
        sw      t3, KMAP_ROOT_INDEX * 4(s0)
        mv      a0, s0
        PV_PIN_TABLE PIN_ROOT
2:      mv      a0, s0
        lw      ra, 0(sp)
        lw      s0, 4(sp)
        addi    sp, sp, 8
        ret

# as_free(a0 = root): free an address space that is not the current one:
# its user pages, its leaves, its root. Pages below free_start came with the
# boot layout (program text) and are not the allocator's to free.
as_free:
        addi    sp, sp, -20
        sw      ra, 0(sp)
        sw      s0, 4(sp)
        sw      s1, 8(sp)
        sw      s2, 12(sp)
        sw      s3, 16(sp)
        mv      s0, a0                  # s0: the root
        PV_UNPIN_TABLE                  # first the root, then its leaves
        li      s1, ROOT_USER_FIRST * 4 # s1: offset of the root entry
1:      add     t0, s0, s1
        lw      a0, 0(t0)
        andi    t1, a0, PTE_V
        beqz    t1, 4f
        PV_PTE_GPA
        mv      s2, a0                  # s2: the leaf
        li      s3, 0                   # s3: offset of the leaf entry
2:      add     t0, s2, s3
        lw      a0, 0(t0)
        andi    t1, a0, PTE_V
        beqz    t1, 3f
        PV_PTE_GPA
        lw      t0, k_free_start(zero)
        bltu    a0, t0, 3f
        call    kfree
3:      addi    s3, s3, 4
        li      t0, PAGE_SIZE
        bltu    s3, t0, 2b
        mv      a0, s2
        PV_UNPIN_TABLE
        mv      a0, s2
        call    kfree
4:      addi    s1, s1, 4
        li      t0, ROOT_USER_END * 4
        bltu    s1, t0, 1b
        mv      a0, s0
        call    kfree
        lw      ra, 0(sp)
        lw      s0, 4(sp)
        lw      s1, 8(sp)
        lw      s2, 12(sp)
        lw      s3, 16(sp)
        addi    sp, sp, 20
        ret

# walk(a0 = root, a1 = va, a2 = create) -> a0 = the address of va's PTE, or
# 0 if va has no leaf table (and create is 0, or memory is out). This is the
# hardware's two-level walk (docs/isa.md, 8.3) done by software.
walk:
        addi    sp, sp, -16
        sw      ra, 0(sp)
        sw      s0, 4(sp)
        sw      s1, 8(sp)
        sw      s2, 12(sp)
        srli    t0, a1, 22              # vpn1
        slli    t0, t0, 2
        add     s0, a0, t0              # s0: the root entry
        mv      s1, a1                  # s1: va
        lw      a0, 0(s0)
        andi    t1, a0, PTE_V
        beqz    t1, 1f
        PV_PTE_GPA                      # a0: the leaf
        j       2f
1:      beqz    a2, 3f
        call    kalloc                  # a new, empty leaf
        beqz    a0, 3f
        mv      s2, a0                  # s2: the leaf
        PV_PIN_TABLE PIN_LEAF
        mv      a0, s2
        PV_PTE_FRAME
        ori     a1, a0, PTE_V
        mv      a0, s0
        PV_PTE_WRITE
        # Commit now: the next walk must see this entry (a queued pv write is
        # not in the table yet). No flush: the entry was invalid.
        PV_MMU_COMMIT TLB_FLUSH_NONE
        mv      a0, s2
2:      srli    t0, s1, PAGE_SHIFT      # vpn0
        andi    t0, t0, 1023
        slli    t0, t0, 2
        add     a0, a0, t0
3:      lw      ra, 0(sp)
        lw      s0, 4(sp)
        lw      s1, 8(sp)
        lw      s2, 12(sp)
        addi    sp, sp, 16
        ret

# map_page(a0 = root, a1 = va, a2 = page, a3 = flags): map va to page. A
# writable mapping gets a private copy of the page instead. If va is mapped
# already (two segments share the page), the permissions are added to it.
# Used while creating processes: running out of memory there is fatal.
map_page:
        addi    sp, sp, -16
        sw      ra, 0(sp)
        sw      s0, 4(sp)
        sw      s1, 8(sp)
        sw      s2, 12(sp)
        mv      s0, a2                  # s0: the page
        mv      s1, a3                  # s1: the flags
        li      a2, 1
        call    walk
        beqz    a0, 9f
        mv      s2, a0                  # s2: the PTE
        lw      a1, 0(s2)
        andi    t0, a1, PTE_V
        beqz    t0, 1f
        or      a1, a1, s1
        j       3f
1:      andi    t0, s1, PTE_W
        beqz    t0, 2f
        mv      a0, s0
        call    copy_to_new_page
        mv      s0, a0
2:      mv      a0, s0
        PV_PTE_FRAME
        or      a1, a0, s1
3:      mv      a0, s2
        PV_PTE_WRITE
        PV_MMU_COMMIT TLB_FLUSH_NONE    # a new address space: nothing cached
        lw      ra, 0(sp)
        lw      s0, 4(sp)
        lw      s1, 8(sp)
        lw      s2, 12(sp)
        addi    sp, sp, 16
        ret
9:      la      a0, msg_no_memory
        j       panic

# map_program(a0 = process, a1 = its boot-info program entry): map each
# segment page by page (docs/hypercalls.md, 4.4). Text pages are mapped where
# the host put them; data pages are copied into fresh frames, so the program
# may write them without touching the boot layout.
map_program:
        addi    sp, sp, -24
        sw      ra, 0(sp)
        sw      s0, 4(sp)
        sw      s1, 8(sp)
        sw      s2, 12(sp)
        sw      s3, 16(sp)
        lw      t0, P_ROOT(a0)
        sw      t0, 20(sp)              # the root
        mv      s0, a1                  # s0: the program entry
        lw      s1, BOOT_PROG_NSEGS(s0)
        beqz    s1, 8f
        li      t0, BOOT_MAX_SEGS
        bgtu    s1, t0, 8f
        addi    s0, s0, BOOT_PROG_SEGS  # s0: the segment entry
1:      lw      t0, BOOT_SEG_VADDR(s0)  # the segment must lie in user space,
        lw      t1, BOOT_SEG_SIZE(s0)   # below the heap
        li      t2, USER_BASE
        bltu    t0, t2, 8f
        add     t1, t0, t1
        bltu    t1, t0, 8f
        li      t2, USER_SEG_END
        bgtu    t1, t2, 8f
        srli    s2, t0, PAGE_SHIFT      # s2: the page being mapped
        addi    t1, t1, -1
        srli    s3, t1, PAGE_SHIFT      # s3: its last page
        lw      t1, BOOT_SEG_SIZE(s0)
        beqz    t1, 5f                  # empty: nothing to map
2:      lw      t0, BOOT_SEG_VADDR(s0)  # where the host put this page:
        srli    t0, t0, PAGE_SHIFT      # page(gpa) + (p - page(vaddr))
        sub     t0, s2, t0
        lw      t1, BOOT_SEG_GPA(s0)
        srli    t1, t1, PAGE_SHIFT
        add     t0, t0, t1
        slli    a2, t0, PAGE_SHIFT      # a2: that page
        lw      t0, BOOT_SEG_KIND(s0)
        li      a3, PTE_USER_TEXT       # SEG_TEXT: mapped in place
        beqz    t0, 4f
        li      a3, PTE_USER_DATA       # SEG_DATA: map_page copies it
4:      lw      a0, 20(sp)
        slli    a1, s2, PAGE_SHIFT
        call    map_page
        addi    s2, s2, 1
        bleu    s2, s3, 2b
5:      addi    s0, s0, BOOT_SEG_BYTES
        addi    s1, s1, -1
        bnez    s1, 1b
        lw      ra, 0(sp)
        lw      s0, 4(sp)
        lw      s1, 8(sp)
        lw      s2, 12(sp)
        lw      s3, 16(sp)
        addi    sp, sp, 24
        ret
8:      j       bad_boot

# copy_to_new_page(a0 = page) -> a0 = a new page with the same bytes.
copy_to_new_page:
        addi    sp, sp, -8
        sw      ra, 0(sp)
        sw      s0, 4(sp)
        mv      s0, a0
        call    kalloc
        beqz    a0, 9f
        mv      t0, s0
        mv      t1, a0
        li      t2, PAGE_SIZE
        add     t2, t0, t2
1:      lw      t3, 0(t0)
        sw      t3, 0(t1)
        lw      t3, 4(t0)
        sw      t3, 4(t1)
        addi    t0, t0, 8
        addi    t1, t1, 8
        bltu    t0, t2, 1b
        lw      ra, 0(sp)
        lw      s0, 4(sp)
        addi    sp, sp, 8
        ret
9:      la      a0, msg_no_memory
        j       panic

# vm_fault(a0 = va) -> a0 = 0 if the page fault is fixed, -1 if it is a real
# violation. A first touch of an unmapped heap or stack page maps a fresh
# zero page (demand-zero); everything else is the caller's problem.
vm_fault:
        addi    sp, sp, -8
        sw      ra, 0(sp)
        sw      s0, 4(sp)
        mv      a1, a0
        li      t0, HEAP_BASE
        bltu    a1, t0, 9f
        li      t0, HEAP_END
        bltu    a1, t0, 1f
        li      t0, STACK_BOTTOM
        bltu    a1, t0, 9f
        li      t0, STACK_TOP
        bgeu    a1, t0, 9f
1:      lw      t0, k_cur_proc(zero)
        lw      a0, P_ROOT(t0)
        li      a2, 1
        call    walk
        beqz    a0, 9f                  # no memory for a leaf
        mv      s0, a0                  # s0: the PTE
        lw      t0, 0(s0)
        andi    t0, t0, PTE_V
        bnez    t0, 9f                  # mapped: a permission fault
        call    kalloc
        beqz    a0, 9f
        PV_PTE_FRAME
        ori     a1, a0, PTE_USER_DATA
        mv      a0, s0
        PV_PTE_WRITE
        PV_MMU_COMMIT TLB_FLUSH_NONE    # it was invalid: nothing cached
        li      a0, 0
        j       2f
9:      li      a0, -1
2:      lw      ra, 0(sp)
        lw      s0, 4(sp)
        addi    sp, sp, 8
        ret

# heap_range(a0 = va, a1 = npages) -> a0 = 1 if [va, va + npages pages) is
# a page-aligned, non-empty part of the heap.
heap_range:
        andi    t0, a0, PAGE_SIZE - 1
        bnez    t0, 9f
        beqz    a1, 9f
        li      t0, HEAP_BASE
        bltu    a0, t0, 9f
        li      t0, HEAP_END
        bgeu    a0, t0, 9f
        sub     t0, t0, a0
        srli    t0, t0, PAGE_SHIFT      # pages left up to the heap's end
        bgtu    a1, t0, 9f
        li      a0, 1
        ret
9:      li      a0, 0
        ret

# vm_map(a0 = va, a1 = npages) -> 0, SYS_EINVAL or SYS_ENOMEM: map fresh
# zero pages. Pages already mapped are left as they are.
vm_map:
        addi    sp, sp, -20
        sw      ra, 0(sp)
        sw      s0, 4(sp)
        sw      s1, 8(sp)
        sw      s2, 12(sp)
        mv      s0, a0                  # s0: va
        mv      s1, a1                  # s1: pages left
        call    heap_range
        li      s2, SYS_EINVAL
        beqz    a0, 9f
        li      s2, SYS_ENOMEM
1:      lw      t0, k_cur_proc(zero)
        lw      a0, P_ROOT(t0)
        mv      a1, s0
        li      a2, 1
        call    walk
        beqz    a0, 8f
        lw      t0, 0(a0)
        andi    t0, t0, PTE_V
        bnez    t0, 2f
        sw      a0, 16(sp)              # the PTE, across kalloc
        call    kalloc
        beqz    a0, 8f
        PV_PTE_FRAME
        ori     a1, a0, PTE_USER_DATA
        lw      a0, 16(sp)
        PV_PTE_WRITE
2:      li      t0, PAGE_SIZE
        add     s0, s0, t0
        addi    s1, s1, -1
        bnez    s1, 1b
        li      s2, 0
8:      PV_MMU_COMMIT TLB_FLUSH_NONE    # the entries were invalid
9:      mv      a0, s2
        lw      ra, 0(sp)
        lw      s0, 4(sp)
        lw      s1, 8(sp)
        lw      s2, 12(sp)
        addi    sp, sp, 20
        ret

# vm_unmap(a0 = va, a1 = npages) -> 0 or SYS_EINVAL: unmap and free. Pages
# not mapped are skipped. The TLB may still hold the old translations, so
# they are flushed (one page, or everything) before the program runs again.
vm_unmap:
        addi    sp, sp, -24
        sw      ra, 0(sp)
        sw      s0, 4(sp)
        sw      s1, 8(sp)
        sw      s2, 12(sp)
        sw      s3, 16(sp)
        mv      s0, a0
        mv      s1, a1
        mv      s3, a0                  # s3: the first page, for the flush
        call    heap_range
        li      s2, SYS_EINVAL
        beqz    a0, 9f
        mv      s2, s1                  # s2: npages, to choose the flush
1:      lw      t0, k_cur_proc(zero)
        lw      a0, P_ROOT(t0)
        mv      a1, s0
        li      a2, 0
        call    walk
        beqz    a0, 2f                  # no leaf: nothing mapped here
        lw      t0, 0(a0)
        andi    t1, t0, PTE_V
        beqz    t1, 2f
        li      a1, 0
        sw      t0, 20(sp)              # the old PTE
        PV_PTE_WRITE
        lw      a0, 20(sp)
        PV_PTE_GPA
        call    kfree                   # no one can use it before the flush
2:      li      t0, PAGE_SIZE
        add     s0, s0, t0
        addi    s1, s1, -1
        bnez    s1, 1b
        li      t0, 1
        bne     s2, t0, 3f
        mv      a0, s3
        PV_MMU_COMMIT TLB_FLUSH_PAGE
        j       4f
3:      PV_MMU_COMMIT TLB_FLUSH_ALL
4:      li      s2, 0
9:      mv      a0, s2
        lw      ra, 0(sp)
        lw      s0, 4(sp)
        lw      s1, 8(sp)
        lw      s2, 12(sp)
        lw      s3, 16(sp)
        addi    sp, sp, 24
        ret
