# syscall.s: the system calls (numbers in lib/syscalls.s, the contract in
# docs/kernel.md).
#
# A program puts the number in a4 and the arguments in a0..a3 and executes
# `syscall`. The trap entry has saved its registers in the trap frame; the
# result goes into the frame's a0, so every other register comes back as it
# was. `syscall` does not retire (docs/isa.md, 4.6): the return address is
# epc + 4.

# do_syscall(): dispatch the current process's syscall.
do_syscall:
        # On the normal path of every syscall: are we really the kernel?
        ASSERT_SUPERVISOR
        addi    sp, sp, -8
        sw      ra, 0(sp)
        sw      s0, 4(sp)
        lw      s0, k_cur_tf(zero)      # the caller's frame, even if we switch
        lw      t0, TF_EPC(s0)
        addi    t0, t0, 4
        sw      t0, TF_EPC(s0)
        lw      t0, TF_A4(s0)
        li      a0, SYS_EINVAL          # an unknown number
        li      t1, SYS_COUNT
        bgeu    t0, t1, 1f
        la      t1, syscall_table
        slli    t0, t0, 2
        add     t1, t1, t0
        lw      t1, 0(t1)
        lw      a0, TF_A0(s0)
        lw      a1, TF_A1(s0)
        lw      a2, TF_A2(s0)
        lw      a3, TF_A3(s0)
        jalr    ra, 0(t1)
1:      sw      a0, TF_A0(s0)
        lw      ra, 0(sp)
        lw      s0, 4(sp)
        addi    sp, sp, 8
        ret

        .section data
        .align  4
syscall_table:
        .word   sys_exit                # 0  SYS_EXIT
        .word   sys_write               # 1  SYS_WRITE
        .word   sys_read                # 2  SYS_READ
        .word   sys_getpid              # 3  SYS_GETPID
        .word   sys_yield               # 4  SYS_YIELD
        .word   sys_map                 # 5  SYS_MAP
        .word   sys_unmap               # 6  SYS_UNMAP
        .word   sys_disk_read           # 7  SYS_DISK_READ
        .word   sys_disk_write          # 8  SYS_DISK_WRITE
        .word   sys_time                # 9  SYS_TIME
        .word   sys_nanobench           # 10 SYS_NANOBENCH
        .word   sys_set_handler         # 11 SYS_SET_HANDLER
        .word   sys_sigreturn           # 12 SYS_SIGRETURN
        .section text

# exit(a0 = status): never returns to the caller.
sys_exit:
        j       proc_exit

# write(a0 = buf, a1 = len) -> len: to the console, through a 64-byte kernel
# buffer (the user buffer is read with copyin, which cannot be fooled into
# reading kernel memory).
sys_write:
        addi    sp, sp, -20
        sw      ra, 0(sp)
        sw      s0, 4(sp)
        sw      s1, 8(sp)
        sw      s2, 12(sp)
        sw      s3, 16(sp)
        mv      s0, a0                  # next user byte
        mv      s1, a1                  # bytes left
        mv      s3, a1                  # the result
1:      beqz    s1, 3f
        li      s2, RING_DATA_BYTES     # a chunk: at most 64 bytes
        bgeu    s1, s2, 2f
        mv      s2, s1
2:      la      a0, kbuf
        mv      a1, s0
        mv      a2, s2
        call    copyin
        bnez    a0, 4f
        la      a0, kbuf
        mv      a1, s2
        call    console_put
        add     s0, s0, s2
        sub     s1, s1, s2
        j       1b
3:      call    console_flush           # PV_IO: one notification per write
        mv      a0, s3
        j       5f
4:      call    console_flush
        li      a0, SYS_EFAULT
5:      lw      ra, 0(sp)
        lw      s0, 4(sp)
        lw      s1, 8(sp)
        lw      s2, 12(sp)
        lw      s3, 16(sp)
        addi    sp, sp, 20
        ret

# read(a0 = buf, a1 = len) -> bytes read: what the console has received, at
# most READ_MAX; 0 if nothing is waiting (read never blocks).
sys_read:
        addi    sp, sp, -12
        sw      ra, 0(sp)
        sw      s0, 4(sp)
        sw      s1, 8(sp)
        mv      s0, a0
        li      t0, READ_MAX
        bleu    a1, t0, 1f
        mv      a1, t0
1:      mv      s1, a1
        call    user_range_ok           # check before consuming any input
        beqz    a0, 3f
        la      a0, kbuf
        mv      a1, s1
        call    console_read
        mv      s1, a0                  # bytes received
        mv      a0, s0
        la      a1, kbuf
        mv      a2, s1
        call    copyout
        bnez    a0, 2f
        mv      a0, s1
2:      lw      ra, 0(sp)
        lw      s0, 4(sp)
        lw      s1, 8(sp)
        addi    sp, sp, 12
        ret
3:      li      a0, SYS_EFAULT
        j       2b

# getpid() -> the current process's pid.
sys_getpid:
        lw      t0, k_cur_proc(zero)
        lw      a0, P_PID(t0)
        ret

# yield() -> 0: the next runnable process gets the processor (the caller's
# result is already decided, so switching here is safe).
sys_yield:
        addi    sp, sp, -4
        sw      ra, 0(sp)
        call    schedule
        li      a0, 0
        lw      ra, 0(sp)
        addi    sp, sp, 4
        ret

# map(a0 = va, a1 = npages) -> 0: fresh zero pages (vm.s).
sys_map:
        j       vm_map

# unmap(a0 = va, a1 = npages) -> 0: unmap and free (vm.s).
sys_unmap:
        j       vm_unmap

# disk_read(a0 = sector, a1 = buf) -> 0: one sector into user memory.
sys_disk_read:
        addi    sp, sp, -12
        sw      ra, 0(sp)
        sw      s0, 4(sp)
        sw      s1, 8(sp)
        mv      s0, a0
        mv      s1, a1
        mv      a0, a1
        li      a1, BLK_SECTOR_BYTES
        call    user_range_ok
        beqz    a0, 8f
        mv      a0, s0
        la      a1, diskbuf
        li      a2, DISK_CMD_READ
        call    disk_rw
        bnez    a0, 9f
        mv      a0, s1
        la      a1, diskbuf
        li      a2, BLK_SECTOR_BYTES
        call    copyout
        j       9f
8:      li      a0, SYS_EFAULT
9:      lw      ra, 0(sp)
        lw      s0, 4(sp)
        lw      s1, 8(sp)
        addi    sp, sp, 12
        ret

# disk_write(a0 = sector, a1 = buf) -> 0: one sector from user memory.
sys_disk_write:
        addi    sp, sp, -8
        sw      ra, 0(sp)
        sw      s0, 4(sp)
        mv      s0, a0
        la      a0, diskbuf
        li      a2, BLK_SECTOR_BYTES
        call    copyin
        bnez    a0, 9f
        mv      a0, s0
        la      a1, diskbuf
        li      a2, DISK_CMD_WRITE
        call    disk_rw
9:      lw      ra, 0(sp)
        lw      s0, 4(sp)
        addi    sp, sp, 8
        ret

# time() -> the low 32 bits of the retired-instruction count.
sys_time:
        j       time_now

# set_handler(a0 = handler, or 0 to remove it) -> 0.
sys_set_handler:
        beqz    a0, 1f
        andi    t0, a0, 3
        bnez    t0, 2f
        li      t0, USER_BASE
        bltu    a0, t0, 2f
        li      t0, USER_END
        bgeu    a0, t0, 2f
1:      lw      t0, k_cur_proc(zero)
        sw      a0, P_HANDLER(t0)
        li      a0, 0
        ret
2:      li      a0, SYS_EINVAL
        ret

# sigreturn(a0 = resume pc): leave the exception handler. The registers saved
# when the exception was delivered come back, a0 included, and the program
# continues at a0 (usually the faulting pc + 4).
sys_sigreturn:
        lw      t0, k_cur_proc(zero)
        lw      t1, P_IN_HANDLER(t0)
        beqz    t1, 2f
        sw      zero, P_IN_HANDLER(t0)
        addi    t1, t0, P_SIGTF         # copy the saved frame back
        addi    t2, t0, P_TF
        addi    t3, t1, TF_SIZE
1:      lw      a1, 0(t1)
        sw      a1, 0(t2)
        addi    t1, t1, 4
        addi    t2, t2, 4
        bltu    t1, t3, 1b
        sw      a0, P_TF + TF_EPC(t0)
        lw      a0, P_TF + TF_A0(t0)    # do_syscall writes this back: unchanged
        ret
2:      li      a0, SYS_EINVAL
        ret

        .section data
        .align  4
kbuf:
        .space  RING_DATA_BYTES         # console bytes on their way in or out
        .align  512
diskbuf:
        .space  BLK_SECTOR_BYTES        # one sector (512-aligned for the block ring)
        .section text
