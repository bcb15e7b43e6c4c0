# fib(a0 = n) -> a0: the n-th Fibonacci number (mod 2^32), by naive recursion.
# Calls, returns and stack traffic: the call/ret path of every engine.
fib:
        li      t0, 2
        bltu    a0, t0, 1f              # fib(0) = 0, fib(1) = 1
        addi    sp, sp, -12
        sw      ra, 0(sp)
        sw      s0, 4(sp)
        sw      s1, 8(sp)
        mv      s0, a0
        addi    a0, s0, -1
        call    fib
        mv      s1, a0                  # s1 = fib(n - 1)
        addi    a0, s0, -2
        call    fib
        add     a0, a0, s1
        lw      ra, 0(sp)
        lw      s0, 4(sp)
        lw      s1, 8(sp)
        addi    sp, sp, 12
1:      ret
