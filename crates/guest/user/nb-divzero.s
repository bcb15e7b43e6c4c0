# nb-divzero: the divzero nanobenchmark (Adams & Agesen, ASPLOS 2006): a
# user-mode loop of `iters` divides by zero, each delivered to this
# program's handler, which counts it and resumes after the divide.
#
# The loop and the handler run in USER mode, as the paper's did: each
# iteration is an exception taken by the kernel, an upcall to the handler
# and a sigreturn, so a monitor that intercepts guest exceptions pays for
# each one (reflected under trap-and-emulate and binary translation;
# delivered inside the guest under hardware assistance). The handler keeps
# its count in memory and uses only a0..a4, which the kernel clobbers to
# call it anyway, so the loop's registers are safe whether or not sigreturn
# restores them. Prints "nb-divzero done" if exactly `iters` divide-by-zero
# traps arrived, whatever n is (cost comes from differencing n and 2n).
        .include "urt.s"

        .equ    CAUSE_DIVIDE_BY_ZERO, 9 # docs/isa.md, section 6.1

main:
        addi    sp, sp, -8
        sw      ra, 0(sp)
        sw      s0, 4(sp)
        mv      s0, a0                  # iterations
        la      a0, handler
        li      a4, SYS_SET_HANDLER
        syscall
        bltz    a0, 8f
        mv      t0, s0
        li      t1, 1000
        beqz    t0, 2f
1:      divu    t2, t1, zero            # traps; the handler resumes at the next instruction
        addi    t0, t0, -1
        bnez    t0, 1b
2:      la      t0, traps
        lw      t1, 0(t0)
        bne     t1, s0, 9f
        lw      t1, 4(t0)               # wrong causes seen
        bnez    t1, 9f
        la      a0, msg_done
        call    print_str
        li      a0, 0
        lw      ra, 0(sp)
        lw      s0, 4(sp)
        addi    sp, sp, 8
        ret
8:      la      a0, msg_err
        j       fail
9:      la      a0, msg_bad
        j       fail

# handler(a0 = cause, a1 = faulting pc, a2 = badaddr): count the trap, then
# sigreturn to the instruction after the divide.
handler:
        la      a3, traps
        li      a2, CAUSE_DIVIDE_BY_ZERO
        beq     a0, a2, 1f
        lw      a2, 4(a3)               # not a divide by zero: record it
        addi    a2, a2, 1
        sw      a2, 4(a3)
        j       2f
1:      lw      a2, 0(a3)
        addi    a2, a2, 1
        sw      a2, 0(a3)
2:      addi    a0, a1, 4
        li      a4, SYS_SIGRETURN
        syscall                         # does not return

        .section data
        .align  4
traps:  .word   0                       # divide-by-zero traps handled
        .word   0                       # traps with any other cause
msg_done:
        .asciz  "nb-divzero done\n"
msg_err:
        .asciz  "nb-divzero: set_handler failed"
msg_bad:
        .asciz  "nb-divzero: lost a trap or saw the wrong cause"
