# rt.s: a tiny runtime for bare-metal programs: console output and power-off.
#
# Calling convention (docs/isa.md): arguments in a0..a4, result in a0,
# t0..t3 are caller-saved, s0..s3 callee-saved, ra holds the return address.

        .equ CONSOLE_DATA, 0x100        # docs/devices.md: console transmit
        .equ POWER_EXIT,   0x120        # docs/devices.md: power off with a code

# putc(a0 = byte): transmit one byte on the console.
putc:
        li      t0, CONSOLE_DATA
        outb    a0, 0(t0)
        ret

# print_str(a0 = address of a NUL-terminated string).
print_str:
        li      t0, CONSOLE_DATA
1:      lbu     t1, 0(a0)
        beqz    t1, 2f
        outb    t1, 0(t0)
        addi    a0, a0, 1
        j       1b
2:      ret

# print_dec(a0 = unsigned value): print in decimal, no newline.
# The digits come out least significant first, so they are written backwards
# into a 16-byte buffer on the stack and then transmitted in order.
print_dec:
        addi    sp, sp, -16
        addi    t1, sp, 16              # t1: next free byte, moving down
        li      t2, 10
1:      remu    t3, a0, t2
        divu    a0, a0, t2
        addi    t3, t3, '0'
        addi    t1, t1, -1
        sb      t3, 0(t1)
        bnez    a0, 1b
        li      t0, CONSOLE_DATA
        addi    t2, sp, 16
2:      lbu     t3, 0(t1)
        outb    t3, 0(t0)
        addi    t1, t1, 1
        bltu    t1, t2, 2b
        addi    sp, sp, 16
        ret

# power_off(a0 = exit code): never returns.
power_off:
        li      t0, POWER_EXIT
        outw    a0, 0(t0)
        halt                            # only if there is no power device

# fatal_trap: installed as the trap vector by the bare-metal harnesses. A
# compute kernel never traps, so any trap is a bug: report the cause and pc
# and power off with exit code 1 rather than loop.
fatal_trap:
        la      a0, fatal_msg
        call    print_str
        csrr    a0, cause
        call    print_dec
        la      a0, fatal_at
        call    print_str
        csrr    a0, epc
        call    print_dec
        li      a0, '\n'
        call    putc
        li      a0, 1
        j       power_off

        .section data
fatal_msg:
        .asciz  "unexpected trap: cause "
fatal_at:
        .asciz  " at pc "
        .section text
