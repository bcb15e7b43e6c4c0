    nop
    .include "include_cycle.s"
