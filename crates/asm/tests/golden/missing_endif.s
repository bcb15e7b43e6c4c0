    .if 1
    nop
    .ifdef FOO
    nop
    .endif
