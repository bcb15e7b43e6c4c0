# Includes itself through inc_cycle_b.s.
    .include "inc_cycle_b.s"
