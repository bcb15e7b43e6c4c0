    .macro push reg, slot=0
    sw \reg, \slot(sp)
    .endm
    push
    push a0, 4, 8
    push a0
