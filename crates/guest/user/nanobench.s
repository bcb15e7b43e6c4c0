# nanobench: one kernel-mode nanobenchmark loop (Adams & Agesen, ASPLOS
# 2006): a single nanobench(kind, iters) syscall, a1 = kind.
#
# The loop runs in the KERNEL, as the paper's did, so the measured
# operation can be privileged and binary translation really translates it:
#   NB_IN      (nb-in)      a port read of a device register
#   NB_PRIO    (nb-prio)    a priority-register write, the cr8wr analog
#   NB_CALLRET (nb-callret) a call and a return in kernel code
#   NB_PGFAULT (nb-pgfault) a page fault taken and fixed
#   NB_PTEMOD  (nb-ptemod)  one page-table entry write, no flush
# One syscall enters the kernel, so the user side adds a constant that
# differencing runs of n and 2n iterations cancels. The output names the
# benchmark and does not depend on n: "nb-in done" and so on.
        .include "urt.s"

main:
        addi    sp, sp, -8
        sw      ra, 0(sp)
        sw      s0, 4(sp)
        addi    t0, a1, -NB_IN          # the kind must be NB_IN..NB_PTEMOD
        li      t1, NB_PTEMOD - NB_IN
        bgtu    t0, t1, 8f
        la      t1, names
        slli    t0, t0, 2
        add     t1, t1, t0
        lw      s0, 0(t1)               # s0: the benchmark's name
        mv      t0, a0                  # nanobench(kind = a1, n = a0)
        mv      a0, a1
        mv      a1, t0
        li      a4, SYS_NANOBENCH
        syscall
        bltz    a0, 9f
        mv      a0, s0
        call    print_str
        la      a0, msg_done
        call    print_str
        li      a0, 0
        lw      ra, 0(sp)
        lw      s0, 4(sp)
        addi    sp, sp, 8
        ret
8:      la      a0, msg_kind
        j       fail
9:      mv      a0, s0
        call    print_str
        la      a0, msg_err
        j       fail

        .section data
        .align  4
names:  .word   name_in, name_prio, name_callret, name_pgfault, name_ptemod
name_in:      .asciz "nb-in"
name_prio:    .asciz "nb-prio"
name_callret: .asciz "nb-callret"
name_pgfault: .asciz "nb-pgfault"
name_ptemod:  .asciz "nb-ptemod"
msg_done:
        .asciz  " done\n"
msg_kind:
        .asciz  "nanobench: unknown kind"
msg_err:
        .asciz  ": nanobench syscall failed"
