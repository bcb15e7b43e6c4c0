    .align 3
    .section bss
    .space -1
    .byte 1,
