# Bare-metal compute kernel: n x n integer matrix multiply, `reps` times.
# Prints "matmul: H" where H is a hash of the product (matmul_hash).
        .equ    DEFAULT_N, 24
        .equ    DEFAULT_REPS, 1
        .include "bare.s"

main:
        addi    sp, sp, -20
        sw      ra, 0(sp)
        sw      s0, 4(sp)
        sw      s1, 8(sp)
        sw      s2, 12(sp)
        sw      s3, 16(sp)
        mv      s0, a0                  # n
        mv      s1, a1                  # reps
        mul     s2, s0, s0              # s2: bytes per matrix
        slli    s2, s2, 2
        la      s3, heap                # s3: A; B = A + s2; C = B + s2
        mv      a0, s0
        mv      a1, s3
        add     a2, s3, s2
        call    matmul_init
        beqz    s1, 2f
1:      mv      a0, s0
        mv      a1, s3
        add     a2, s3, s2
        add     a3, a2, s2
        call    matmul
        addi    s1, s1, -1
        bnez    s1, 1b
2:      mv      a0, s0
        add     a1, s3, s2
        add     a1, a1, s2
        call    matmul_hash
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
        .space  8192
stack_top:
heap:
