# pv.s: what only the paravirtual kernel (PV_CPU) needs, behind the
# macros of pvops.s: the trap table, frame translation both ways, the
# mmu_update queue, and pinning.
#
# The pv kernel's page tables hold host (machine) frames, walked directly by
# the MMU once the monitor has validated them (docs/hypercalls.md, 8). So:
#
#   - writing a PTE needs guest-physical -> machine: the p2m table the host
#     put in the boot information (Xen's mfn_list);
#   - reading one back (to walk a table, or to free the page it maps) needs
#     machine -> guest-physical. Xen gives guests a read-only m2p table; the
#     vmlab ABI does not, so the kernel builds a hash table at boot.

        .ifdef PV_CPU

# P2M_ADDR: a0 = a guest-physical address -> the host-physical address of
# the same byte. Clobbers t0, t1.
        .macro P2M_ADDR
        srli    t0, a0, PAGE_SHIFT
        lw      t1, k_p2m_count(zero)
        bgeu    t0, t1, pv_bad_address
        slli    t0, t0, 2
        lw      t1, k_p2m(zero)
        add     t1, t1, t0
        lw      t1, 0(t1)               # the machine frame number
        slli    t1, t1, PAGE_SHIFT
        andi    a0, a0, PAGE_SIZE - 1
        or      a0, a0, t1
        .endm

# M2P_SLOT: a0 = machine frame -> t0 = the address of its first slot
# (multiplicative hashing: the top bits of frame x 2654435761). Clobbers t1.
        .macro M2P_SLOT
        li      t1, 0x9E3779B1
        mul     t0, a0, t1
        lw      t1, m2p_shift(zero)
        srl     t0, t0, t1
        slli    t0, t0, 3
        lw      t1, m2p_table(zero)
        add     t0, t0, t1
        .endm

# M2P_NEXT: t0 = a slot -> the next one, wrapping. Clobbers t1, t2.
        .macro M2P_NEXT
        lw      t1, m2p_table(zero)
        sub     t0, t0, t1
        addi    t0, t0, 8
        lw      t2, m2p_mask(zero)
        slli    t2, t2, 3
        and     t0, t0, t2
        add     t0, t0, t1
        .endm

# p2m_frame(a0 = guest-physical page) -> a0 = the machine address for a PTE.
p2m_frame:
        P2M_ADDR
        ret

# m2p_init(): the machine-to-physical hash table: 2^bits slots of (machine
# frame + 1, guest page), at least twice as many as guest pages, with linear
# probing. A slot whose first word is 0 is empty.
m2p_init:
        lw      t0, k_p2m_count(zero)
        slli    t0, t0, 1               # t0: slots wanted
        li      t1, 1                   # t1: slots
        li      t2, 32                  # t2: 32 - bits, the hash's shift
1:      bgeu    t1, t0, 2f
        slli    t1, t1, 1
        addi    t2, t2, -1
        j       1b
2:      addi    t3, t1, -1
        sw      t3, m2p_mask(zero)
        sw      t2, m2p_shift(zero)
        lw      a0, k_next_page(zero)   # taken from the allocator's pages
        sw      a0, m2p_table(zero)
        slli    t1, t1, 3               # 8 bytes a slot
        add     t1, a0, t1
        li      t3, PAGE_SIZE - 1
        add     t0, t1, t3
        srli    t0, t0, PAGE_SHIFT
        slli    t0, t0, PAGE_SHIFT
        sw      t0, k_next_page(zero)
        lw      t3, k_ram_bytes(zero)
        bgtu    t0, t3, pv_bad_address
3:      sw      zero, 0(a0)             # free pages are not promised to be zero
        addi    a0, a0, 4
        bltu    a0, t0, 3b
        li      a1, 0                   # a1: guest page
4:      lw      t0, k_p2m_count(zero)
        bgeu    a1, t0, 7f
        lw      t0, k_p2m(zero)
        slli    t1, a1, 2
        add     t0, t0, t1
        lw      a0, 0(t0)               # a0: its machine frame
        M2P_SLOT                        # t0: the slot to look at first
5:      lw      t1, 0(t0)
        beqz    t1, 6f
        M2P_NEXT
        j       5b
6:      addi    t1, a0, 1
        sw      t1, 0(t0)
        sw      a1, 4(t0)
        addi    a1, a1, 1
        j       4b
7:      ret

# m2p_frame(a0 = a PTE) -> a0 = the guest-physical address of its frame.
m2p_frame:
        srli    a0, a0, PAGE_SHIFT      # the machine frame
        M2P_SLOT
        addi    t3, a0, 1               # t3: the key
1:      lw      t1, 0(t0)
        beq     t1, t3, 2f
        beqz    t1, pv_bad_address      # not a frame this VM owns
        M2P_NEXT
        j       1b
2:      lw      a0, 4(t0)
        slli    a0, a0, PAGE_SHIFT
        ret

# mmu_queue(a0 = guest-physical address of a PTE, a1 = value): queue one
# update for the next mmu_update. A full queue is sent first.
mmu_queue:
        lw      t2, mmu_count(zero)
        li      t3, MMU_BATCH_MAX
        bltu    t2, t3, 1f
        sw      a0, mmu_spill_ptr(zero) # full: send it first (no flush)
        sw      a1, mmu_spill_val(zero)
        la      a0, mmu_batch
        li      a1, MMU_BATCH_MAX
        li      a2, TLB_FLUSH_NONE
        li      a3, 0
        li      a4, HC_MMU_UPDATE
        hypercall
        bltz    a0, pv_failed
        lw      a0, mmu_spill_ptr(zero)
        lw      a1, mmu_spill_val(zero)
        li      t2, 0
1:      P2M_ADDR                        # the table's machine address
        la      t0, mmu_batch
        slli    t1, t2, 3
        add     t0, t0, t1
        sw      a0, MMU_PTR(t0)
        sw      a1, MMU_VAL(t0)
        addi    t2, t2, 1
        sw      t2, mmu_count(zero)
        ret

# mmu_commit(a0 = va, a1 = flush kind): send the queue with one mmu_update
# that also does the flush; with an empty queue, only the flush.
mmu_commit:
        mv      a3, a0                  # the va to flush
        mv      a2, a1                  # the flush kind
        lw      a1, mmu_count(zero)
        beqz    a1, 1f
        sw      zero, mmu_count(zero)
        la      a0, mmu_batch
        li      a4, HC_MMU_UPDATE
        hypercall
        bltz    a0, pv_failed
        ret
1:      beqz    a2, 2f                  # TLB_FLUSH_NONE: nothing to do
        mv      a0, a2
        mv      a1, a3
        li      a4, HC_TLB_FLUSH
        hypercall
        bltz    a0, pv_failed
2:      ret

# pv_pin(a0 = guest-physical page, a1 = PIN_LEAF or PIN_ROOT).
pv_pin:
        P2M_ADDR
        li      a4, HC_PIN_TABLE
        hypercall
        bltz    a0, pv_failed
        ret

# pv_unpin(a0 = guest-physical page table).
pv_unpin:
        P2M_ADDR
        li      a4, HC_UNPIN_TABLE
        hypercall
        bltz    a0, pv_failed
        ret

# pv_set_ptbr(a0 = guest-physical root): switch address space.
pv_set_ptbr:
        P2M_ADDR
        li      a4, HC_SET_PTBR
        hypercall
        bltz    a0, pv_failed
        ret

# pv_failed(a0 = error): a hypercall the kernel cannot do without failed.
pv_failed:
        mv      s0, a0
        mv      s1, a4
        la      a0, msg_pv_failed
        call    klog_str
        mv      a0, s1
        call    klog_dec
        la      a0, msg_pv_error
        call    klog_str
        mv      a0, s0
        call    klog_dec
        call    klog_end
        li      a0, EXIT_PANIC
        j       power_off

pv_bad_address:
        la      a0, msg_pv_bad_address
        j       panic

        .section data
        .align  4
# The trap table (set_trap_table): every exception and the upcall enter at
# trap_entry, which dispatches on `cause` as the full kernel does. Entry 12
# (hypercall) must be 0; so must 14 and 15.
pv_trap_table:
        .word   trap_entry, trap_entry, trap_entry, trap_entry  # 0..3
        .word   trap_entry, trap_entry, trap_entry, trap_entry  # 4..7 (5, 6, 7: bounced page faults)
        .word   trap_entry, trap_entry, trap_entry, trap_entry  # 8..11 (10: syscall)
        .word   0, trap_entry, 0, 0                             # 12, 13 = TRAP_UPCALL, 14, 15
m2p_table:      .word 0
m2p_mask:       .word 0
m2p_shift:      .word 0
mmu_count:      .word 0         # entries queued in mmu_batch
mmu_spill_ptr:  .word 0
mmu_spill_val:  .word 0
mmu_batch:
        .space  MMU_BATCH_MAX * MMU_ENTRY_BYTES
msg_pv_failed:
        .asciz  "kernel panic: hypercall "
msg_pv_error:
        .asciz  " failed with error "
msg_pv_bad_address:
        .asciz  "kernel panic: a frame outside the p2m table"
        .section text

        .endif
