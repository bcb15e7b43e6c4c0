_start:
    .ascii "no closing quote
    halt
