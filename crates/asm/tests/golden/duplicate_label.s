loop:
    nop
loop:
    j loop
