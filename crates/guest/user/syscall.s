# syscall: a loop of `iters` getpid system calls.
#
# Stresses the syscall path: each iteration is a user -> kernel -> user round
# trip that does almost nothing in the kernel, so the trap entry, the return
# to user and whatever a monitor adds to them dominate. Natively a syscall
# is a trap to the kernel's vector; under trap-and-emulate it reaches the
# monitor first and is reflected, and the kernel's return traps too.
# Every call must return the pid of the first call. Prints
# "syscall: N getpid calls, same pid each time"; pid values never appear,
# so the output does not depend on how the kernel numbers processes.
        .include "urt.s"

main:
        addi    sp, sp, -16
        sw      ra, 0(sp)
        sw      s0, 4(sp)
        sw      s1, 8(sp)
        sw      s2, 12(sp)
        mv      s2, a0                  # iterations, for the report
        mv      s0, a0                  # calls left
        li      a4, SYS_GETPID
        syscall
        mv      s1, a0                  # the pid every call must return
        bltz    s1, 3f
        beqz    s0, 2f
1:      syscall                         # a4 is preserved across syscalls
        bne     a0, s1, 3f
        addi    s0, s0, -1
        bnez    s0, 1b
2:      la      a0, msg_head
        call    print_str
        mv      a0, s2
        call    print_dec
        la      a0, msg_tail
        call    print_str
        li      a0, 0
        lw      ra, 0(sp)
        lw      s0, 4(sp)
        lw      s1, 8(sp)
        lw      s2, 12(sp)
        addi    sp, sp, 16
        ret
3:      la      a0, msg_bad
        j       fail

        .section data
msg_head:
        .asciz  "syscall: "
msg_tail:
        .asciz  " getpid calls, same pid each time\n"
msg_bad:
        .asciz  "syscall: getpid failed or returned a different pid"
