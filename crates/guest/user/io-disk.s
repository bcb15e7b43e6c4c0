# io-disk: write `iters` 512-byte blocks to the disk, read them back, and
# check that what came back is what went out.
#
# Stresses emulated disk I/O: every block is one disk_write or disk_read
# syscall, and in the kernel a handful of port accesses to the block device
# (natively slow hardware; under trap-and-emulate, hardware assistance and
# binary translation each access is emulated by the monitor; with the
# paravirtual drivers a request on the block ring, one notification each).
#
# The blocks go through a window of WINDOW sectors, so any disk of at least
# that size works: blocks are written in rounds of up to WINDOW, and each
# round is read back before the next overwrites it. Word j of block b is
# (b * 0x9E3779B1) ^ (j * 0x85EBCA77); both the written and the read words
# are folded, in order, into FNV-style hashes h = (h ^ word) * 0x01000193
# from 0x811C9DC5, and the two must agree. Prints
# "io-disk: N blocks written and read back, checksum 0x........".
        .include "urt.s"

        .equ    WINDOW, 32
        .equ    WORDS, SECTOR_SIZE / 4

main:
        addi    sp, sp, -20
        sw      ra, 0(sp)
        sw      s0, 4(sp)
        sw      s1, 8(sp)
        sw      s2, 12(sp)
        sw      s3, 16(sp)
        mv      s0, a0                  # blocks
        li      s1, 0x811C9DC5          # hash of the written words
        li      s3, 0x811C9DC5          # hash of the words read back
        mv      s2, zero                # first block of this round
1:      bgeu    s2, s0, 6f
        mv      a3, s2                  # write the round: block a3 -> sector a3 - s2
2:      call    fill                    # buffer = block a3, s1 updated
        sub     a0, a3, s2
        la      a1, buf
        li      a4, SYS_DISK_WRITE
        syscall
        bltz    a0, 8f
        addi    a3, a3, 1
        bgeu    a3, s0, 3f
        sub     t0, a3, s2
        li      t1, WINDOW
        bltu    t0, t1, 2b
3:      mv      t3, a3                  # t3: end of the round
        mv      a3, s2                  # read the round back
4:      sub     a0, a3, s2
        la      a1, buf
        li      a4, SYS_DISK_READ
        syscall
        bltz    a0, 8f
        call    fold                    # s3 updated from the buffer
        addi    a3, a3, 1
        bltu    a3, t3, 4b
        mv      s2, t3
        j       1b
6:      bne     s1, s3, 9f
        la      a0, msg_head
        call    print_str
        mv      a0, s0
        call    print_dec
        la      a0, msg_mid
        call    print_str
        mv      a0, s3
        call    print_hex
        li      a0, '\n'
        call    putc
        li      a0, 0
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

# fill(a3 = block): buf[j] = (a3 * 0x9E3779B1) ^ (j * 0x85EBCA77), folding
# each word into s1. Clobbers t0..t2, a0..a2, a4.
fill:
        li      t0, 0x9E3779B1
        mul     a0, a3, t0              # a0: the block's term
        li      a1, 0x85EBCA77          # a1: the word multiplier
        li      a2, 0x01000193
        la      t0, buf
        mv      t1, zero                # j
1:      mul     t2, t1, a1
        xor     t2, t2, a0
        sw      t2, 0(t0)
        xor     s1, s1, t2
        mul     s1, s1, a2
        addi    t0, t0, 4
        addi    t1, t1, 1
        li      a4, WORDS
        bltu    t1, a4, 1b
        ret

# fold(): fold the words of buf into s3. Clobbers t0..t2, a2.
fold:
        la      t0, buf
        li      t1, WORDS
        li      a2, 0x01000193
1:      lw      t2, 0(t0)
        xor     s3, s3, t2
        mul     s3, s3, a2
        addi    t0, t0, 4
        addi    t1, t1, -1
        bnez    t1, 1b
        ret

        .section data
msg_head:
        .asciz  "io-disk: "
msg_mid:
        .asciz  " blocks written and read back, checksum "
msg_err:
        .asciz  "io-disk: disk_read or disk_write failed"
msg_bad:
        .asciz  "io-disk: the blocks read back differ from those written"
        .align  512                     # one sector, never across a page
buf:    .space  SECTOR_SIZE
