# ctxswitch: two processes ping-pong with yield, `iters` yields each.
#
# Stresses context switches: every yield enters the kernel, saves one
# process's registers, switches address space (page-table base and TLB
# flush) and returns to the other process. Under trap-and-emulate and
# binary translation each switch is several monitor entries (the base
# register write, the flush, the return to user); with shadow paging the
# monitor caches a shadow table per address space, so switching back does
# not rebuild it.
#
# The workload starts this program twice: a1 = 0 (the silent partner) and
# a1 = 1 (the reporter). Before each yield a process fills t0..t3 and s1..s3
# with values derived from its running checksum and its role, and checks
# them after the yield, so a switch that leaks or loses register state is
# caught.
#
# Deterministic by construction: only the reporter writes to the console,
# and it writes one line, at its end, computed from its own state alone.
# The partner is silent unless its registers were corrupted (then the run
# has failed anyway). So the output is the same wherever the timer
# preempts either process and whichever of them finishes first; preemption
# only changes how the yields interleave, never what is printed. Prints
# "ctxswitch: N yields, registers intact, checksum 0x........".
        .include "urt.s"

main:
        addi    sp, sp, -20
        sw      ra, 0(sp)
        sw      s0, 4(sp)
        sw      s1, 8(sp)
        sw      s2, 12(sp)
        sw      s3, 16(sp)
        li      t0, 1
        bgtu    a1, t0, 8f              # the role is 0 or 1
        la      a4, vars
        sw      a0, V_ITERS(a4)
        sw      a1, V_ROLE(a4)
        sw      zero, V_HASH(a4)
        la      t0, seeds
        slli    t1, a1, 2
        add     t0, t0, t1
        lw      t0, 0(t0)
        sw      t0, V_SEED(a4)
        mv      s0, zero                # i
        beqz    a0, 3f
        # h = h * 31 + (i ^ seed); then fill the registers from h and yield.
1:      la      a4, vars
        lw      a0, V_HASH(a4)
        lw      t0, V_SEED(a4)
        xor     t1, s0, t0
        li      t2, 31
        mul     a0, a0, t2
        add     a0, a0, t1
        sw      a0, V_HASH(a4)
        addi    t0, a0, 1
        addi    t1, a0, 2
        addi    t2, a0, 3
        addi    t3, a0, 4
        addi    s1, a0, 5
        addi    s2, a0, 6
        not     s3, a0
        xori    a1, a0, 0x55
        addi    a2, a0, 7
        neg     a3, a0
        li      a4, SYS_YIELD
        syscall                         # the other process runs here
        bltz    a0, 8f
        # Everything but a0 must be as it was before the yield.
        la      a4, vars
        lw      a0, V_HASH(a4)
        addi    a4, a0, 1
        bne     t0, a4, 9f
        addi    a4, a0, 2
        bne     t1, a4, 9f
        addi    a4, a0, 3
        bne     t2, a4, 9f
        addi    a4, a0, 4
        bne     t3, a4, 9f
        addi    a4, a0, 5
        bne     s1, a4, 9f
        addi    a4, a0, 6
        bne     s2, a4, 9f
        not     a4, a0
        bne     s3, a4, 9f
        xori    a4, a0, 0x55
        bne     a1, a4, 9f
        addi    a4, a0, 7
        bne     a2, a4, 9f
        neg     a4, a0
        bne     a3, a4, 9f
        addi    s0, s0, 1
        la      a4, vars
        lw      t0, V_ITERS(a4)
        bltu    s0, t0, 1b
3:      la      a4, vars                # only the reporter prints
        lw      t0, V_ROLE(a4)
        beqz    t0, 4f
        la      a0, msg_head
        call    print_str
        mv      a0, s0
        call    print_dec
        la      a0, msg_mid
        call    print_str
        la      a4, vars
        lw      a0, V_HASH(a4)
        call    print_hex
        li      a0, '\n'
        call    putc
4:      li      a0, 0
        lw      ra, 0(sp)
        lw      s0, 4(sp)
        lw      s1, 8(sp)
        lw      s2, 12(sp)
        lw      s3, 16(sp)
        addi    sp, sp, 20
        ret
8:      la      a0, msg_err
        j       fail
9:      la      a0, msg_bad
        j       fail

        .equ    V_ITERS, 0
        .equ    V_ROLE, 4
        .equ    V_SEED, 8
        .equ    V_HASH, 12

        .section data
        .align  4
vars:   .space  16
seeds:  .word   0x0000A5A5              # role 0, the silent partner
        .word   0x5A5A0000              # role 1, the reporter
msg_head:
        .asciz  "ctxswitch: "
msg_mid:
        .asciz  " yields, registers intact, checksum "
msg_err:
        .asciz  "ctxswitch: bad role or yield failed"
msg_bad:
        .asciz  "ctxswitch: registers changed across a yield"
