# An unknown mnemonic is reported with the expected kinds.
_start:
    addx a0, a1, a2
    halt
