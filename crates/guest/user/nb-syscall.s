# nb-syscall: the syscall nanobenchmark (Adams & Agesen, ASPLOS 2006): a
# user-mode loop of `iters` null system calls (getpid).
#
# The loop runs in USER mode, as the paper's did: what is measured is one
# user -> kernel -> user round trip, including whatever a monitor puts on
# that path (a reflection through the monitor under trap-and-emulate and
# binary translation; nothing under hardware assistance; the registered trap
# table under paravirtualization). Cost per call comes from differencing
# runs of n and 2n iterations, so the output does not depend on n:
# "nb-syscall done".
        .include "urt.s"

main:
        addi    sp, sp, -4
        sw      ra, 0(sp)
        li      a4, SYS_GETPID
        beqz    a0, 2f
        mv      t0, a0
1:      syscall                         # a0 = pid; every other register kept
        addi    t0, t0, -1
        bnez    t0, 1b
2:      la      a0, msg_done
        call    print_str
        li      a0, 0
        lw      ra, 0(sp)
        addi    sp, sp, 4
        ret

        .section data
msg_done:
        .asciz  "nb-syscall done\n"
