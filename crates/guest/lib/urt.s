# urt.s: the user runtime every workload program includes first.
#
# It places the program at the user text address, provides `_start` (which
# calls the program's `main` and exits with its result), and console output
# that costs one `write` syscall per line: putc appends to a line buffer that
# is written out at each newline (or when full), so a workload that prints
# does not turn into a syscall benchmark by accident, and each line reaches
# the console whole, in one piece, whatever the scheduler does.
#
# Kernel contract: `_start` runs in user mode with a0 = iteration count,
# a1..a3 = the program's argument words and sp = the stack top. Syscalls
# (syscalls.s) preserve every register but a0. Calling convention as in
# docs/isa.md: a0..a4 and t0..t3 caller-saved, s0..s3 callee-saved.
#
# main(a0 = iterations, a1..a3 = args) -> a0 = exit code.

        .include "syscalls.s"

        .equ USER_TEXT,     SYS_USER_BASE   # where the kernel loads user text
        .equ HEAP_BASE,     SYS_HEAP_BASE   # demand-zero heap: [HEAP_BASE, HEAP_END)
        .equ HEAP_END,      SYS_HEAP_END
        .equ PAGE_SIZE,     4096
        .equ SECTOR_SIZE,   512
        .equ OUT_BUF_BYTES, 128         # longest line written in one syscall

        .section text
        .org    USER_TEXT
        .global _start
_start:
        call    main                    # the arguments pass straight through
        j       exit

# exit(a0 = code): flush the line buffer and end the process. Never returns.
exit:
        mv      s0, a0
        call    flush
        mv      a0, s0
        li      a4, SYS_EXIT
1:      syscall
        j       1b                      # exit does not return; never fall through

# fail(a0 = NUL-terminated message): print it and a newline, exit with 1.
fail:
        call    print_str
        li      a0, '\n'
        call    putc
        li      a0, 1
        j       exit

# putc(a0 = byte): append to the line buffer; write it out at a newline or
# when it is full. Clobbers t0..t2, a0, a1, a4.
putc:
        la      t0, out_len
        lw      t1, 0(t0)
        la      t2, out_buf
        add     t2, t2, t1
        sb      a0, 0(t2)
        addi    t1, t1, 1
        sw      t1, 0(t0)
        li      t2, '\n'
        beq     a0, t2, flush
        li      t2, OUT_BUF_BYTES
        bgeu    t1, t2, flush
        ret

# flush(): write the buffered bytes with as few `write` calls as the kernel
# allows (it may accept fewer bytes than asked). Clobbers t0, t1, a0, a1, a4.
flush:
        la      t0, out_len
        lw      a1, 0(t0)               # a1: bytes left
        sw      zero, 0(t0)
        la      t1, out_buf             # t1: next byte to write
        li      a4, SYS_WRITE
1:      blez    a1, 2f
        mv      a0, t1
        syscall                         # a0 = bytes written, or an error
        blez    a0, 2f                  # error or no progress: drop the rest
        add     t1, t1, a0
        sub     a1, a1, a0
        j       1b
2:      ret

# print_str(a0 = address of a NUL-terminated string).
print_str:
        addi    sp, sp, -8
        sw      ra, 0(sp)
        sw      s0, 4(sp)
        mv      s0, a0
1:      lbu     a0, 0(s0)
        beqz    a0, 2f
        call    putc
        addi    s0, s0, 1
        j       1b
2:      lw      ra, 0(sp)
        lw      s0, 4(sp)
        addi    sp, sp, 8
        ret

# print_dec(a0 = unsigned value): decimal, no newline. The digits come out
# least significant first, so they go backwards into a buffer on the stack.
print_dec:
        addi    sp, sp, -24
        sw      ra, 16(sp)
        sw      s0, 20(sp)
        addi    s0, sp, 16              # s0: first digit, moving down
        li      t2, 10
1:      remu    t3, a0, t2
        divu    a0, a0, t2
        addi    t3, t3, '0'
        addi    s0, s0, -1
        sb      t3, 0(s0)
        bnez    a0, 1b
2:      lbu     a0, 0(s0)
        call    putc
        addi    s0, s0, 1
        addi    t3, sp, 16
        bltu    s0, t3, 2b
        lw      ra, 16(sp)
        lw      s0, 20(sp)
        addi    sp, sp, 24
        ret

# print_hex(a0 = value): "0x" and eight lowercase hex digits (Rust's {:#010x}).
print_hex:
        addi    sp, sp, -12
        sw      ra, 0(sp)
        sw      s0, 4(sp)
        sw      s1, 8(sp)
        mv      s1, a0
        li      a0, '0'
        call    putc
        li      a0, 'x'
        call    putc
        li      s0, 28                  # shift of the next nibble
1:      srl     a0, s1, s0
        andi    a0, a0, 15
        li      t3, 10
        bltu    a0, t3, 2f
        addi    a0, a0, 'a' - '0' - 10
2:      addi    a0, a0, '0'
        call    putc
        addi    s0, s0, -4
        bgez    s0, 1b
        lw      ra, 0(sp)
        lw      s0, 4(sp)
        lw      s1, 8(sp)
        addi    sp, sp, 12
        ret

# print_result(a0 = name, a1 = value): the line "NAME: VALUE\n", the format of
# the bare-metal compute kernels, so their Rust references apply unchanged.
print_result:
        addi    sp, sp, -8
        sw      ra, 0(sp)
        sw      s0, 4(sp)
        mv      s0, a1
        call    print_str
        li      a0, ':'
        call    putc
        li      a0, ' '
        call    putc
        mv      a0, s0
        call    print_dec
        li      a0, '\n'
        call    putc
        lw      ra, 0(sp)
        lw      s0, 4(sp)
        addi    sp, sp, 8
        ret

        .section data
        .align  4
out_len:
        .word   0
out_buf:
        .space  OUT_BUF_BYTES
        .section text
