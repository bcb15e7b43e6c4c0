# matmul: n x n integer matrix multiply as a user program, `iters`
# repetitions of C = A x B.
#
# Pure computation: word loads, a strided column walk and multiplies over
# three matrices in demand-zero heap pages. a1 = n. Prints "matmul: S" with
# S the wrapping sum over the repetitions of the hash of C. (The bare-metal
# kernel prints the hash once; summing per repetition makes the iteration
# count show in the output, as for the other compute workloads.)
        .include "urt.s"

main:
        addi    sp, sp, -20
        sw      ra, 0(sp)
        sw      s0, 4(sp)
        sw      s1, 8(sp)
        sw      s2, 12(sp)
        sw      s3, 16(sp)
        mv      s1, a0                  # repetitions
        mv      s0, a1                  # n
        mul     s2, s0, s0              # s2: bytes per matrix
        slli    s2, s2, 2
        li      s3, HEAP_BASE           # s3: A; B = A + s2; C = B + s2
        mv      a0, s0
        mv      a1, s3
        add     a2, s3, s2
        call    matmul_init
        la      t0, sum
        sw      zero, 0(t0)
        beqz    s1, 2f
1:      mv      a0, s0
        mv      a1, s3
        add     a2, s3, s2
        add     a3, a2, s2
        call    matmul
        mv      a0, s0
        add     a1, s3, s2
        add     a1, a1, s2
        call    matmul_hash
        la      t0, sum                 # sum += hash(C)
        lw      t1, 0(t0)
        add     t1, t1, a0
        sw      t1, 0(t0)
        addi    s1, s1, -1
        bnez    s1, 1b
2:      la      t0, sum
        lw      a1, 0(t0)
        la      a0, name
        call    print_result
        li      a0, 0
        lw      ra, 0(sp)
        lw      s0, 4(sp)
        lw      s1, 8(sp)
        lw      s2, 12(sp)
        lw      s3, 16(sp)
        addi    sp, sp, 20
        ret

        .include "algo/matmul.s"

        .section data
name:   .asciz  "matmul"
        .align  4
sum:    .word   0
