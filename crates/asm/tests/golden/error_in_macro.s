    .macro load_big rd
    addi \rd, zero, 0x12345
    .endm
_start:
    load_big a0
