# nanobench.s: the kernel-mode nanobenchmarks of Adams & Agesen (ASPLOS
# 2006), run by the syscall nanobench(kind, n).
#
# Each runs one operation n times in the kernel, at the privilege the
# paper's did, so privileged operations are possible and a binary translator
# really translates them. The cost of one iteration is measured from outside
# by differencing runs with n and 2n iterations, which cancels the boot and
# the syscall around the loop. Around the loop the timer is switched off
# (no tick lands in the window) and the log marks "nanobench start" and
# "nanobench end".
#
#   kind         one iteration, full build          pv build
#   NB_IN        `inw` of the console STATUS port   CON_OP_STATUS + ring_notify
#                (PV_IO: as the pv build)
#   NB_PRIO      `csrw prio` (cr8wr)                 a store to SHARED_PRIO
#   NB_CALLRET   `call` + `ret`                      the same
#   NB_PGFAULT   a load from an unmapped kernel page: the fault is fixed by
#                mapping it (one PTE write), then the PTE is cleared and the
#                page flushed for the next iteration
#                                                    the same, with mmu_update
#                                                    and the monitor's bounce
#   NB_PTEMOD    one PTE store, no flush             one mmu_update entry queued
#
# The loop counter costs the same in every build, so it cancels as well.

# nanobench(a0 = kind, a1 = n) -> 0, or SYS_EINVAL for an unknown kind.
sys_nanobench:
        addi    t0, a0, -1
        li      t1, NB_PTEMOD
        bgeu    t0, t1, 9f
        addi    sp, sp, -20
        sw      ra, 0(sp)
        sw      s0, 4(sp)
        sw      s1, 8(sp)
        sw      s2, 12(sp)
        sw      s3, 16(sp)
        mv      s0, a0                  # s0: kind
        mv      s1, a1                  # s1: iterations left
        call    timer_off
        la      a0, msg_nb_start
        call    klog_line
        la      t0, nb_loops
        slli    t1, s0, 2
        add     t0, t0, t1
        lw      t0, -4(t0)
        jalr    ra, 0(t0)
        la      a0, msg_nb_end
        call    klog_line
        call    timer_arm
        li      a0, 0
        lw      ra, 0(sp)
        lw      s0, 4(sp)
        lw      s1, 8(sp)
        lw      s2, 12(sp)
        lw      s3, 16(sp)
        addi    sp, sp, 20
        ret
9:      li      a0, SYS_EINVAL
        ret

# The loops: s1 = n, and each may use s2 and s3 (saved by sys_nanobench).

nb_in:
        mv      s2, ra
        beqz    s1, 2f
1:      call    console_status
        addi    s1, s1, -1
        bnez    s1, 1b
2:      jr      s2

nb_prio:
        beqz    s1, 2f
1:      PV_PRIO_WRITE zero              # threshold 0: every interrupt allowed
        addi    s1, s1, -1
        bnez    s1, 1b
2:      ret

nb_callret:
        mv      s2, ra
        beqz    s1, 2f
1:      call    nb_empty
        addi    s1, s1, -1
        bnez    s1, 1b
2:      jr      s2

nb_empty:
        ret

# nb_pgfault: the page at NB_FAULT_VA is unmapped at the start of every
# iteration. The load faults; kernel_trap calls nb_fault_fix, which maps it;
# the load is retried and succeeds; then the PTE is cleared and the page
# flushed, so the next load faults again.
nb_pgfault:
        mv      s2, ra
        beqz    s1, 2f
        li      s3, NB_FAULT_VA
1:      lw      t0, 0(s3)               # faults, is fixed, retried
        call    nb_fault_pte
        li      a1, 0
        PV_PTE_WRITE                    # unmap ...
        li      a0, NB_FAULT_VA
        PV_MMU_COMMIT TLB_FLUSH_PAGE    # ... and forget the translation
        addi    s1, s1, -1
        bnez    s1, 1b
2:      jr      s2

# nb_fault_fix(): called by kernel_trap for a fault on NB_FAULT_VA: map the
# nanobenchmark frame there. The entry was invalid, so nothing to flush.
nb_fault_fix:
        addi    sp, sp, -4
        sw      ra, 0(sp)
        lw      a0, k_nb_frame(zero)
        PV_PTE_FRAME
        ori     a1, a0, PTE_KERNEL
        call    nb_fault_pte
        PV_PTE_WRITE
        PV_MMU_COMMIT TLB_FLUSH_NONE
        lw      ra, 0(sp)
        addi    sp, sp, 4
        ret

# nb_fault_pte() -> a0 = the address of NB_FAULT_VA's PTE (in the kmap leaf).
# Keeps a1.
nb_fault_pte:
        lw      a0, k_kmap_leaf(zero)
        addi    a0, a0, ((NB_FAULT_VA >> PAGE_SHIFT) & 1023) * 4
        ret

# nb_ptemod: write the PTE of NB_PTE_VA n times, no flush. Natively each
# write is one store; pv queues it, and mmu_update runs once per full queue.
nb_ptemod:
        mv      s2, ra
        beqz    s1, 2f
        lw      a0, k_nb_frame(zero)
        PV_PTE_FRAME
        ori     s3, a0, PTE_KERNEL      # s3: the value written
1:      lw      a0, k_kmap_leaf(zero)
        addi    a0, a0, ((NB_PTE_VA >> PAGE_SHIFT) & 1023) * 4
        mv      a1, s3
        PV_PTE_WRITE
        addi    s1, s1, -1
        bnez    s1, 1b
        PV_MMU_COMMIT TLB_FLUSH_NONE
2:      jr      s2

        .section data
        .align  4
nb_loops:
        .word   nb_in, nb_prio, nb_callret, nb_pgfault, nb_ptemod
msg_nb_start:
        .asciz  "nanobench start"
msg_nb_end:
        .asciz  "nanobench end"
        .section text
