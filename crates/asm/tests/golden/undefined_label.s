# Every use of an undefined label is reported.
_start:
    beq a0, a1, missing
    j missing
    la a0, missing + 4
