# fib: naive recursive Fibonacci as a user program, `iters` repetitions.
#
# Pure computation dominated by calls, returns and stack traffic: user code
# runs directly in every mode, so this is the baseline a monitor should not
# slow down (binary translation only translates kernel code). The recursion
# grows the demand-zero user stack a few pages deep.
# a1 = n. Prints "fib: S" with S the wrapping sum of fib(n) over the
# repetitions, exactly as the bare-metal kernel bare/fib.s does.
        .include "urt.s"

main:
        addi    sp, sp, -16
        sw      ra, 0(sp)
        sw      s0, 4(sp)
        sw      s1, 8(sp)
        sw      s2, 12(sp)
        mv      s1, a0                  # repetitions
        mv      s0, a1                  # n
        mv      s2, zero                # sum
        beqz    s1, 2f
1:      mv      a0, s0
        call    fib
        add     s2, s2, a0
        addi    s1, s1, -1
        bnez    s1, 1b
2:      la      a0, name
        mv      a1, s2
        call    print_result
        li      a0, 0
        lw      ra, 0(sp)
        lw      s0, 4(sp)
        lw      s1, 8(sp)
        lw      s2, 12(sp)
        addi    sp, sp, 16
        ret

        .include "algo/fib.s"

        .section data
name:   .asciz  "fib"
