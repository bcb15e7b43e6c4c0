# Three independent errors; all are reported, in source order.
_start:
    li a0, 1
    mv a0
    nop
    lw a0, 8(a1
    beq a0, a0, .+2
    halt
