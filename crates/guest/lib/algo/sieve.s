# sieve(a0 = n, a1 = buffer of n bytes) -> a0 = number of primes below n.
#
# The sieve of Eratosthenes: mark every number as a candidate, strike out the
# multiples of each prime from its square upwards, then count what is left.
# Byte loads and stores, nested loops, a multiply per outer step.
sieve:
        mv      t1, zero                # for i in 0..n: buf[i] = 1
        li      t3, 1
        beqz    a0, 3f
1:      add     t2, a1, t1
        sb      t3, 0(t2)
        addi    t1, t1, 1
        bltu    t1, a0, 1b
3:      li      t0, 2                   # for i = 2; i*i < n; i++
4:      mul     t1, t0, t0
        bgeu    t1, a0, 7f
        add     t2, a1, t0
        lbu     t2, 0(t2)
        beqz    t2, 6f                  # i already struck out: not a prime
5:      add     t2, a1, t1              # for j = i*i; j < n; j += i: buf[j] = 0
        sb      zero, 0(t2)
        add     t1, t1, t0
        bltu    t1, a0, 5b
6:      addi    t0, t0, 1
        j       4b
7:      li      t0, 2                   # count the survivors in 2..n
        mv      t1, zero
        bgeu    t0, a0, 9f
8:      add     t2, a1, t0
        lbu     t2, 0(t2)
        add     t1, t1, t2
        addi    t0, t0, 1
        bltu    t0, a0, 8b
9:      mv      a0, t1
        ret
