    .org 0x100
    nop
    .org 0x80
    .word 1 / (2 - 2)
