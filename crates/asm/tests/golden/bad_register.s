_start:
    add a0, a9, a1
    lw t0, 4(x2)
