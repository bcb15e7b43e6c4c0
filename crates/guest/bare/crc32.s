# Bare-metal compute kernel: CRC-32 of an n-byte buffer, `reps` times.
# Prints "crc32: S" where S is the wrapping sum of the CRCs.
        .equ    DEFAULT_N, 4096
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
        mv      s2, zero                # sum
        la      a0, heap
        mv      a1, s0
        call    crc32_init
        beqz    s1, 2f
1:      la      a0, heap
        mv      a1, s0
        call    crc32
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

        .include "algo/crc32.s"

        .section data
name:   .asciz  "crc32"
        .align  4
        .space  8192
stack_top:
heap:
