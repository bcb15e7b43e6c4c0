# sieve: the sieve of Eratosthenes as a user program, `iters` repetitions.
#
# Pure computation: byte loads and stores in tight loops, no syscalls until
# the single line of output. Under every mode it should cost about what it
# costs natively (Popek & Goldberg's efficiency: innocuous instructions run
# directly); only the first touch of each heap page reaches the kernel.
# a1 = n. Prints "sieve: S" with S the sum over the repetitions of the number
# of primes below n, exactly as the bare-metal kernel bare/sieve.s does.
        .include "urt.s"

main:
        addi    sp, sp, -16
        sw      ra, 0(sp)
        sw      s0, 4(sp)
        sw      s1, 8(sp)
        sw      s2, 12(sp)
        mv      s1, a0                  # repetitions
        mv      s0, a1                  # n
        mv      s2, zero                # sum of the counts
        beqz    s1, 2f
1:      mv      a0, s0
        li      a1, HEAP_BASE           # n bytes of demand-zero heap
        call    sieve
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

        .include "algo/sieve.s"

        .section data
name:   .asciz  "sieve"
