_start:
    addi a0, a0, 40000
    slli a0, a0, 32
    lui a1, 0x100000
