# io-console: print `iters` lines of text.
#
# Stresses console I/O: each line is one write syscall, and the kernel sends
# it to the console device byte by byte (natively slow port writes; under a
# monitor each port access is emulated; with the paravirtual drivers the
# bytes go on the console ring with one notification per request). Prints
# "line K: the quick brown fox jumps over the lazy dog" for K = 1..=N.
        .include "urt.s"

main:
        addi    sp, sp, -12
        sw      ra, 0(sp)
        sw      s0, 4(sp)
        sw      s1, 8(sp)
        mv      s0, a0                  # lines
        li      s1, 1                   # line number
1:      bgtu    s1, s0, 2f
        la      a0, msg_line
        call    print_str
        mv      a0, s1
        call    print_dec
        la      a0, msg_text
        call    print_str               # ends in '\n': one write per line
        addi    s1, s1, 1
        j       1b
2:      li      a0, 0
        lw      ra, 0(sp)
        lw      s0, 4(sp)
        lw      s1, 8(sp)
        addi    sp, sp, 12
        ret

        .section data
msg_line:
        .asciz  "line "
msg_text:
        .asciz  ": the quick brown fox jumps over the lazy dog\n"
