# bare.s: the start-up code shared by the bare-metal compute kernels.
#
# The host patches `param_n` and `param_reps` (symbols in the image) before
# the run; the kernel's `main(a0 = n, a1 = reps) -> a0` computes a result,
# which is printed as "NAME: RESULT\n" before powering off with exit code 0.
# Each harness defines `name`, `main`, DEFAULT_N and DEFAULT_REPS, and ends
# its data section with `stack_top` and `heap` (free memory to the end of RAM).

        .section text
        .global _start
_start:
        la      sp, stack_top
        la      t0, fatal_trap          # any trap is a bug in a compute kernel
        csrw    tvec, t0
        la      t0, param_n
        lw      a0, 0(t0)
        lw      a1, 4(t0)
        call    main
        mv      s0, a0
        la      a0, name
        call    print_str
        la      a0, separator
        call    print_str
        mv      a0, s0
        call    print_dec
        li      a0, '\n'
        call    putc
        li      a0, 0
        j       power_off

        .include "rt.s"

        .section data
        .align  4
        .global param_n
param_n:
        .word   DEFAULT_N
        .global param_reps
param_reps:
        .word   DEFAULT_REPS
separator:
        .asciz  ": "
        .section text
