# hello.s: the smallest complete vmlab program.
#
# It runs on the bare machine in supervisor mode: it prints a greeting on the
# console one byte at a time (port I/O), counts down a loop to show branches
# and local labels, and powers off with exit code 0.
#
#   vmlab asm examples/hello.s -o hello.vmi     # assemble
#   vmlab disasm hello.vmi                      # and look at what came out
#
# Ports (docs/devices.md): console data at 0x100, power at 0x120.

        .equ CONSOLE_DATA, 0x100
        .equ POWER_EXIT,   0x120

        .section text
        .global _start
_start:
        la      s0, greeting            # s0 walks the string
        li      s1, CONSOLE_DATA
1:      lbu     a0, 0(s0)               # next byte
        beqz    a0, 2f                  # NUL ends the string
        outb    a0, 0(s1)               # transmit it
        addi    s0, s0, 1
        j       1b

2:      li      t0, 3                   # a short countdown: prints "3 2 1 "
3:      addi    a0, t0, '0'
        outb    a0, 0(s1)
        li      a0, ' '
        outb    a0, 0(s1)
        addi    t0, t0, -1
        bnez    t0, 3b
        li      a0, '\n'
        outb    a0, 0(s1)

        li      t1, POWER_EXIT
        outw    zero, 0(t1)             # power off, exit code 0
        halt                            # not reached

        .section data
greeting:
        .asciz  "Hello from the vmlab guest!\n"
