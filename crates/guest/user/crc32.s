# crc32: bitwise CRC-32 (IEEE 802.3) of an n-byte heap buffer as a user
# program, `iters` repetitions.
#
# Pure computation: ALU work in a short inner loop over a buffer in
# demand-zero heap pages (touched once by the initialisation, then only
# read). a1 = n. Prints "crc32: S" with S the wrapping sum of the CRC over
# the repetitions, exactly as the bare-metal kernel bare/crc32.s does.
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
        li      a0, HEAP_BASE
        mv      a1, s0
        call    crc32_init
        beqz    s1, 2f
1:      li      a0, HEAP_BASE
        mv      a1, s0
        call    crc32
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

        .include "algo/crc32.s"

        .section data
name:   .asciz  "crc32"
