# proc.s: processes and the scheduler.
#
# The process table has one entry per program in the boot information, pid
# = index + 1. An entry is FREE, RUNNABLE or EXITED: nothing ever waits, so
# there is no sleeping state. A process's user registers live in its trap
# frame (P_TF) whenever the kernel runs; switching processes is choosing
# another trap frame and page table for return_to_user to resume.
#
# Scheduling is round robin: the timer ticks every QUANTUM instructions and
# the next RUNNABLE entry after the current one runs. `yield` does the same
# at once. Time is virtual (retired instructions), so the interleaving is the
# same on every run.

# proc_init(): a process for each program in the boot information.
proc_init:
        addi    sp, sp, -20
        sw      ra, 0(sp)
        sw      s0, 4(sp)
        sw      s1, 8(sp)
        sw      s2, 12(sp)
        sw      s3, 16(sp)
        li      t0, BOOT_INFO_ADDR
        lw      s3, BOOT_NPROGS(t0)
        li      t1, NPROC
        bgtu    s3, t1, bad_boot
        sw      s3, k_nproc(zero)
        li      s1, 0                   # s1: program index
1:      bgeu    s1, s3, 9f
        li      t0, P_SIZE
        mul     t0, s1, t0
        la      s0, procs
        add     s0, s0, t0              # s0: the process
        li      t0, BOOT_PROGS + BOOT_INFO_ADDR
        slli    t1, s1, 7               # BOOT_PROG_BYTES = 0x80
        add     s2, t0, t1              # s2: its boot-info program entry
        addi    t0, s1, 1
        sw      t0, P_PID(s0)
        # The name: 16 bytes, NUL-padded (the table entry adds the final NUL).
        li      t0, 0
2:      add     t1, s2, t0
        lbu     t2, BOOT_PROG_NAME(t1)
        add     t1, s0, t0
        sb      t2, P_NAME(t1)
        addi    t0, t0, 1
        li      t1, BOOT_PROG_NAME_BYTES
        bltu    t0, t1, 2b
        # The address space: a new root, then the program's segments.
        call    as_create
        beqz    a0, 8f
        sw      a0, P_ROOT(s0)
        mv      a0, s0
        mv      a1, s2
        call    map_program
        # The first return to user mode enters at the entry point with
        # a0 = iterations, a1..a3 = the first three argument words.
        lw      t0, BOOT_PROG_ENTRY(s2)
        sw      t0, P_TF + TF_EPC(s0)
        li      t0, STACK_TOP
        sw      t0, P_TF + TF_SP(s0)
        lw      t0, BOOT_PROG_ITERS(s2)
        sw      t0, P_TF + TF_A0(s0)
        lw      t0, BOOT_PROG_ARGS(s2)
        sw      t0, P_TF + TF_A1(s0)
        lw      t0, BOOT_PROG_ARGS + 4(s2)
        sw      t0, P_TF + TF_A2(s0)
        lw      t0, BOOT_PROG_ARGS + 8(s2)
        sw      t0, P_TF + TF_A3(s0)
        li      t0, P_RUNNABLE
        sw      t0, P_STATE(s0)
        addi    s1, s1, 1
        j       1b
8:      la      a0, msg_no_memory
        j       panic
9:      lw      ra, 0(sp)
        lw      s0, 4(sp)
        lw      s1, 8(sp)
        lw      s2, 12(sp)
        lw      s3, 16(sp)
        addi    sp, sp, 20
        ret

# schedule(): the next RUNNABLE process after the current one gets the
# processor with a fresh quantum; the current one itself if it is the only
# one. When no process is left, the machine powers off with the exit status
# of the last one to exit.
schedule:
        ASSERT_SUPERVISOR
        addi    sp, sp, -12
        sw      ra, 0(sp)
        sw      s0, 4(sp)
        sw      s1, 8(sp)
        call    irq_save                # the scheduler's critical section
        mv      s1, a0
        la      t2, procs               # t2: the first entry
        li      t3, NPROC * P_SIZE
        add     t3, t2, t3              # t3: just past the last
        lw      t0, k_cur_proc(zero)    # start after the current process
        bnez    t0, 1f
        addi    t0, t3, -P_SIZE         # at boot: start at the first entry
1:      li      t1, NPROC               # look at every entry once
2:      addi    t0, t0, P_SIZE
        bltu    t0, t3, 3f
        mv      t0, t2                  # wrap around
3:      lw      a0, P_STATE(t0)
        li      a1, P_RUNNABLE
        beq     a0, a1, 4f
        addi    t1, t1, -1
        bnez    t1, 2b
        # Nobody is left.
        la      a0, msg_all_exited
        call    klog_str
        call    klog_end
        lw      a0, k_last_status(zero)
        j       power_off
4:      mv      s0, t0
        lw      t0, k_cur_proc(zero)
        beq     t0, s0, 5f              # the same process: same address space
        sw      s0, k_cur_proc(zero)
        addi    t0, s0, P_TF
        sw      t0, k_cur_tf(zero)
        lw      a0, P_ROOT(s0)
        PV_SET_PTBR
5:      call    timer_arm
        mv      a0, s1
        call    irq_restore
        lw      ra, 0(sp)
        lw      s0, 4(sp)
        lw      s1, 8(sp)
        addi    sp, sp, 12
        ret

# proc_exit(a0 = status): the current process ends. Its memory is freed once
# another address space is current (the pv monitor refuses to unpin the
# root in use). Returns to the caller, which resumes the new current process.
proc_exit:
        addi    sp, sp, -8
        sw      ra, 0(sp)
        sw      s0, 4(sp)
        lw      s0, k_cur_proc(zero)
        li      t0, P_EXITED
        sw      t0, P_STATE(s0)
        sw      a0, P_STATUS(s0)
        sw      a0, k_last_status(zero)
        mv      a0, s0
        call    klog_proc
        la      a0, msg_exited
        call    klog_str
        lw      a0, P_STATUS(s0)
        call    klog_dec
        call    klog_end
        call    schedule                # powers off if this was the last
        lw      a0, P_ROOT(s0)
        call    as_free
        sw      zero, P_ROOT(s0)
        lw      ra, 0(sp)
        lw      s0, 4(sp)
        addi    sp, sp, 8
        ret

# proc_kill(a0 = cause, a1 = badaddr): the current process did something it
# may not (or that it did not handle). Say so on the log, never the console,
# and end it with STATUS_KILLED; the others carry on.
proc_kill:
        addi    sp, sp, -12
        sw      ra, 0(sp)
        sw      s0, 4(sp)
        sw      s1, 8(sp)
        mv      s0, a0
        mv      s1, a1
        lw      a0, k_cur_proc(zero)
        call    klog_proc
        la      a0, msg_killed
        call    klog_str
        li      t0, CAUSE_COUNT
        bltu    s0, t0, 1f
        li      s0, CAUSE_COUNT         # "unknown"
1:      la      t0, cause_names
        slli    t1, s0, 2
        add     t0, t0, t1
        lw      a0, 0(t0)
        call    klog_str
        la      a0, msg_at_pc
        call    klog_str
        lw      t0, k_cur_tf(zero)
        lw      a0, TF_EPC(t0)
        call    klog_hex
        la      a0, msg_address
        call    klog_str
        mv      a0, s1
        call    klog_hex
        call    klog_end
        li      a0, STATUS_KILLED
        call    proc_exit
        lw      ra, 0(sp)
        lw      s0, 4(sp)
        lw      s1, 8(sp)
        addi    sp, sp, 12
        ret

# deliver_exception(a0 = cause, a1 = badaddr) -> a0 = 0 if the program's
# handler will run, -1 if the process must be killed instead. Only divide by
# zero, illegal instruction and breakpoint are delivered, and not while the
# handler is already running. The registers are saved in the process entry
# (out of the program's reach) for sigreturn; the handler runs on the same
# stack, below a red zone, with a0 = cause, a1 = faulting pc, a2 = badaddr.
deliver_exception:
        li      t0, CAUSE_DIVZERO
        beq     a0, t0, 1f
        li      t0, CAUSE_ILLEGAL
        beq     a0, t0, 1f
        li      t0, CAUSE_BREAK
        bne     a0, t0, 9f
1:      lw      t0, k_cur_proc(zero)
        lw      t1, P_HANDLER(t0)
        beqz    t1, 9f
        lw      t2, P_IN_HANDLER(t0)
        bnez    t2, 9f
        li      t2, 1
        sw      t2, P_IN_HANDLER(t0)
        addi    t2, t0, P_TF            # save the frame for sigreturn
        addi    t3, t0, P_SIGTF
        addi    a4, t2, TF_SIZE
2:      lw      a3, 0(t2)
        sw      a3, 0(t3)
        addi    t2, t2, 4
        addi    t3, t3, 4
        bltu    t2, a4, 2b
        sw      a0, P_TF + TF_A0(t0)
        lw      t2, P_TF + TF_EPC(t0)
        sw      t2, P_TF + TF_A1(t0)
        sw      a1, P_TF + TF_A2(t0)
        sw      t1, P_TF + TF_EPC(t0)
        lw      t2, P_TF + TF_SP(t0)
        addi    t2, t2, -RED_ZONE
        andi    t2, t2, -16
        sw      t2, P_TF + TF_SP(t0)
        li      a0, 0
        ret
9:      li      a0, -1
        ret

        .section data
msg_exited:
        .asciz  " exited with status "
msg_killed:
        .asciz  " killed: "
msg_all_exited:
        .asciz  "all processes exited"
msg_no_memory:
        .asciz  "out of memory while creating the processes"
cause_name_0:   .asciz "illegal instruction"
cause_name_1:   .asciz "privileged instruction"
cause_name_2:   .asciz "misaligned fetch"
cause_name_3:   .asciz "misaligned load"
cause_name_4:   .asciz "misaligned store"
cause_name_5:   .asciz "fetch page fault"
cause_name_6:   .asciz "load page fault"
cause_name_7:   .asciz "store page fault"
cause_name_8:   .asciz "bus error"
cause_name_9:   .asciz "divide by zero"
cause_name_10:  .asciz "syscall"
cause_name_11:  .asciz "breakpoint"
cause_name_12:  .asciz "hypercall"
cause_name_13:  .asciz "unknown trap"
        .align  4
cause_names:
        .word   cause_name_0, cause_name_1, cause_name_2, cause_name_3
        .word   cause_name_4, cause_name_5, cause_name_6, cause_name_7
        .word   cause_name_8, cause_name_9, cause_name_10, cause_name_11
        .word   cause_name_12, cause_name_13
        .align  4
procs:
        .space  NPROC * P_SIZE          # the process table
        .section text
