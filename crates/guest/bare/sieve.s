# Bare-metal compute kernel: the sieve of Eratosthenes, `reps` times over n.
# Prints "sieve: S" where S is the sum over the repetitions of the number of
# primes below n.
        .equ    DEFAULT_N, 10000
        .equ    DEFAULT_REPS, 1
        .include "bare.s"

main:
        addi    sp, sp, -16
        sw      ra, 0(sp)
        sw      s0, 4(sp)
        sw      s1, 8(sp)
        sw      s2, 12(sp)
        mv      s0, a0                  # n
        mv      s1, a1                  # reps
        mv      s2, zero                # sum of the counts
        beqz    s1, 2f
1:      mv      a0, s0
        la      a1, heap
        call    sieve
        add     s2, s2, a0
        addi    s1, s1, -1
        bnez    s1, 1b
2:      mv      a0, s2
        lw      ra, 0(sp)
        lw      s0, 4(sp)
        lw      s1, 8(sp)
        lw      s2, 12(sp)
        addi    sp, sp, 16
        ret

        .include "algo/sieve.s"

        .section data
name:   .asciz  "sieve"
        .align  4
        .space  8192
stack_top:
heap:
