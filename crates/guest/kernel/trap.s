# trap.s: every way into the kernel and back out.
#
# A trap (syscall, exception, interrupt; in pv also an event upcall or a
# bounced page fault) enters at trap_entry in supervisor mode with interrupts
# off, epc/cause/badaddr describing it (docs/isa.md, section 6.2). The pv
# kernel's trap table points every entry here too, so the path is the same.
#
# From user mode: save the program's registers in its process's trap frame,
# switch to the kernel stack, handle the trap in user_trap, and leave
# through return_to_user, which resumes whichever process is now current
# (a syscall or a tick may have switched).
#
# From the kernel (only a page fault while copying to or from user memory,
# or the pgfault nanobenchmark): save the registers on the kernel stack,
# fix the fault in kernel_trap, and retry the instruction.
#
# One kernel stack is enough because the kernel never sleeps: every syscall
# finishes before the kernel returns to user mode, and interrupts stay off in
# the kernel (events masked, in pv), so nothing else can run on it.

# trap_entry: the address in tvec (and in every trap-table entry).
trap_entry:
        # There is no free register yet: park t0 at an absolute address that a
        # 16-bit offset from the zero register reaches (main.s puts it there).
        sw      t0, k_save_t0(zero)
        lw      t0, k_in_kernel(zero)
        bnez    t0, ktrap_entry
        # From user mode: t0 = the current process's trap frame.
        lw      t0, k_cur_tf(zero)
        sw      ra, TF_RA(t0)
        sw      sp, TF_SP(t0)
        sw      a0, TF_A0(t0)
        sw      a1, TF_A1(t0)
        sw      a2, TF_A2(t0)
        sw      a3, TF_A3(t0)
        sw      a4, TF_A4(t0)
        sw      t1, TF_T1(t0)
        sw      t2, TF_T2(t0)
        sw      t3, TF_T3(t0)
        sw      s0, TF_S0(t0)
        sw      s1, TF_S1(t0)
        sw      s2, TF_S2(t0)
        sw      s3, TF_S3(t0)
        lw      t1, k_save_t0(zero)
        sw      t1, TF_T0(t0)
        csrr    t1, epc                 # pv too: the ring-1 rule (hypercalls.md, 3)
        sw      t1, TF_EPC(t0)
        li      t1, 1
        sw      t1, k_in_kernel(zero)
        la      sp, kstack_top
        csrr    a0, cause
        csrr    a1, badaddr
        call    user_trap
        # fall through

# return_to_user: resume the current process from its trap frame.
return_to_user:
        lw      t0, k_cur_tf(zero)
        lw      t1, TF_EPC(t0)
        csrw    epc, t1
        sw      zero, k_in_kernel(zero)  # the next trap comes from user mode
        PV_RETURN RETURN_TO_USER

# user_trap(a0 = cause, a1 = badaddr): what to do about a user-mode trap.
user_trap:
        addi    sp, sp, -12
        sw      ra, 0(sp)
        sw      s0, 4(sp)
        sw      s1, 8(sp)
        bltz    a0, 5f                  # bit 31: an interrupt (pv: an upcall)
        li      t0, CAUSE_SYSCALL
        beq     a0, t0, 4f
        # A page fault in the heap or stack is demand-zero: map a fresh
        # page and retry the instruction. Anything else kills the process.
        li      t0, CAUSE_FETCH_PF
        bltu    a0, t0, 1f
        li      t0, CAUSE_STORE_PF
        bgtu    a0, t0, 1f
        mv      s0, a0
        mv      s1, a1
        mv      a0, a1
        call    vm_fault
        beqz    a0, 9f                  # fixed: retry
        mv      a0, s0
        mv      a1, s1
        j       2f
        # Divide by zero, illegal instruction and breakpoint go to the
        # program's handler if it registered one.
1:      mv      s0, a0
        mv      s1, a1
        call    deliver_exception
        beqz    a0, 9f
        mv      a0, s0
        mv      a1, s1
2:      call    proc_kill               # log it, exit status -1, switch
        j       9f
4:      call    do_syscall
        j       9f
5:      call    interrupt               # a0 = 1 if the timer ticked
        beqz    a0, 9f
        call    schedule                # round robin: the next process's turn
9:      lw      ra, 0(sp)
        lw      s0, 4(sp)
        lw      s1, 8(sp)
        addi    sp, sp, 12
        ret

# ktrap_entry: a trap taken in the kernel (t0 parked in k_save_t0). The
# registers go on the kernel stack in the trap-frame layout, so the same
# return code restores them.
ktrap_entry:
        addi    t0, sp, -TF_SIZE
        sw      sp, TF_SP(t0)
        mv      sp, t0
        sw      ra, TF_RA(sp)
        sw      a0, TF_A0(sp)
        sw      a1, TF_A1(sp)
        sw      a2, TF_A2(sp)
        sw      a3, TF_A3(sp)
        sw      a4, TF_A4(sp)
        sw      t1, TF_T1(sp)
        sw      t2, TF_T2(sp)
        sw      t3, TF_T3(sp)
        sw      s0, TF_S0(sp)
        sw      s1, TF_S1(sp)
        sw      s2, TF_S2(sp)
        sw      s3, TF_S3(sp)
        lw      t1, k_save_t0(zero)
        sw      t1, TF_T0(sp)
        # A fault while handling a kernel fault is a kernel bug.
        lw      t1, k_ktrap_depth(zero)
        bnez    t1, 1f
        li      t1, 1
        sw      t1, k_ktrap_depth(zero)
        csrr    a0, cause
        csrr    a1, badaddr
        csrr    a2, epc
        call    kernel_trap             # a0 = where to resume
        csrw    epc, a0
        sw      zero, k_ktrap_depth(zero)
        mv      t0, sp
        PV_RETURN RETURN_TO_KERNEL
1:      la      a0, msg_double_fault
        j       panic

# kernel_trap(a0 = cause, a1 = badaddr, a2 = epc) -> a0 = the pc to resume at.
kernel_trap:
        addi    sp, sp, -16
        sw      ra, 0(sp)
        sw      s0, 4(sp)
        sw      s1, 8(sp)
        sw      s2, 12(sp)
        mv      s0, a0
        mv      s1, a1
        mv      s2, a2
        bltz    a0, 8f                  # interrupts stay off in the kernel
        li      t0, CAUSE_FETCH_PF
        bltu    a0, t0, 8f
        li      t0, CAUSE_STORE_PF
        bgtu    a0, t0, 8f
        # The pgfault nanobenchmark's page: map it and retry.
        srli    t0, a1, PAGE_SHIFT
        li      t1, NB_FAULT_VA >> PAGE_SHIFT
        bne     t0, t1, 1f
        call    nb_fault_fix
        j       7f
        # A user address, touched by copyin/copyout for a syscall: demand-zero
        # if it is heap or stack, else the copy fails with SYS_EFAULT.
1:      li      t0, USER_BASE
        bltu    a1, t0, 8f
        mv      a0, a1
        call    vm_fault
        beqz    a0, 7f
        lw      t0, k_uaccess_fixup(zero)
        beqz    t0, 8f
        mv      s2, t0
7:      mv      a0, s2
        lw      ra, 0(sp)
        lw      s0, 4(sp)
        lw      s1, 8(sp)
        lw      s2, 12(sp)
        addi    sp, sp, 16
        ret
        # Anything else is a kernel bug: say where, and stop.
8:      la      a0, msg_kernel_trap
        call    klog_str
        mv      a0, s0
        call    klog_hex
        la      a0, msg_at_pc
        call    klog_str
        mv      a0, s2
        call    klog_hex
        la      a0, msg_address
        call    klog_str
        mv      a0, s1
        call    klog_hex
        call    klog_end
        li      a0, EXIT_PANIC
        j       power_off

        .section data
msg_double_fault:
        .asciz  "kernel panic: trap inside a kernel trap"
msg_kernel_trap:
        .asciz  "kernel panic: unexpected trap in the kernel: cause "
msg_at_pc:
        .asciz  " at pc "
msg_address:
        .asciz  ", address "
        .section text
