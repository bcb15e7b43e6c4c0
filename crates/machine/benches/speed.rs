//! A quick, criterion-free speed check of the interpreter (the speed report
//! proper, over vmlab-guest's kernels, lives elsewhere). Each kernel is
//! assembled here, run bare-metal, checked against the same algorithm in
//! Rust, and reported as ns per guest instruction and slowdown.
//! `cargo bench -p vmlab-machine --bench speed`.

use std::hint::black_box;
use std::time::{Duration, Instant};

use vmlab_isa::Reg;
use vmlab_machine::{Exit, Machine, MachineConfig};

/// Sieve of Eratosthenes below N: a0 = number of primes.
const SIEVE: &str = "
_start: li a0, 200000
        la a1, buf
        mv t1, zero
        li t3, 1
1:      add t2, a1, t1
        sb t3, 0(t2)
        addi t1, t1, 1
        bltu t1, a0, 1b
        li t0, 2
4:      mul t1, t0, t0
        bgeu t1, a0, 7f
        add t2, a1, t0
        lbu t2, 0(t2)
        beqz t2, 6f
5:      add t2, a1, t1
        sb zero, 0(t2)
        add t1, t1, t0
        bltu t1, a0, 5b
6:      addi t0, t0, 1
        j 4b
7:      li t0, 2
        mv t1, zero
8:      add t2, a1, t0
        lbu t2, 0(t2)
        add t1, t1, t2
        addi t0, t0, 1
        bltu t0, a0, 8b
        mv a0, t1
        halt
        .section data
buf:    .space 200000
";

/// Recursive Fibonacci: a0 = fib(25).
const FIB: &str = "
_start: la sp, stack_top
        li a0, 25
        call fib
        halt
fib:    li t0, 2
        bltu a0, t0, 1f
        addi sp, sp, -12
        sw ra, 0(sp)
        sw s0, 4(sp)
        sw s1, 8(sp)
        mv s0, a0
        addi a0, s0, -1
        call fib
        mv s1, a0
        addi a0, s0, -2
        call fib
        add a0, a0, s1
        lw ra, 0(sp)
        lw s0, 4(sp)
        lw s1, 8(sp)
        addi sp, sp, 12
1:      ret
        .section data
        .space 4096
stack_top:
";

/// A loop of `body` dependent additions: per-instruction versus per-block cost.
fn alu_loop(body: usize) -> String {
    let mut src = String::from("_start: li t0, 2000000\nloop:\n");
    for _ in 0..body {
        src.push_str(" addi a0, a0, 1\n");
    }
    src.push_str(" addi t0, t0, -1\n bnez t0, loop\n halt\n");
    src
}

fn sieve(n: usize) -> u32 {
    let mut buf = vec![1u8; n];
    let mut i = 2;
    while i * i < n {
        if buf[i] != 0 {
            let mut j = i * i;
            while j < n {
                buf[j] = 0;
                j += i;
            }
        }
        i += 1;
    }
    buf[2..].iter().map(|b| u32::from(*b)).sum()
}

fn fib(n: u32) -> u32 {
    if n < 2 {
        n
    } else {
        fib(n - 1).wrapping_add(fib(n - 2))
    }
}

/// Best of `tries` wall-clock times (the machine may be busy).
fn best<T>(tries: usize, mut f: impl FnMut() -> T) -> (Duration, T) {
    let mut out = None;
    let mut t = Duration::MAX;
    for _ in 0..tries {
        let start = Instant::now();
        let r = f();
        t = t.min(start.elapsed());
        out = Some(r);
    }
    (t, out.expect("tries > 0"))
}

/// A kernel: name, source, and the Rust computation of its a0 (if any).
type Case = (String, String, Option<Box<dyn Fn() -> u32>>);

fn main() {
    println!(
        "{:<10} {:>12} {:>9} {:>8} {:>9}",
        "kernel", "instructions", "ns/instr", "MIPS", "slowdown"
    );
    let cases: Vec<Case> = vec![
        ("loop-3".into(), alu_loop(1), None),
        ("loop-48".into(), alu_loop(46), None),
        (
            "sieve".into(),
            SIEVE.into(),
            Some(Box::new(|| sieve(black_box(200_000)))),
        ),
        (
            "fib".into(),
            FIB.into(),
            Some(Box::new(|| fib(black_box(25)))),
        ),
    ];
    for (name, src, native) in cases {
        let image = vmlab_asm::assemble_str(&src).expect("the kernel assembles");
        let (t, m) = best(5, || {
            let mut m = Machine::bare_metal(&image, MachineConfig::default()).expect("fits");
            assert_eq!(m.run(u64::MAX), Exit::Halt, "{name}");
            m
        });
        let n = m.instret();
        let ns = t.as_nanos() as f64 / n as f64;
        let slowdown = match native {
            Some(f) => {
                let (nt, want) = best(5, &f);
                assert_eq!(m.reg(Reg::A0), want, "{name} computed the wrong result");
                format!("{:.1}x", t.as_secs_f64() / nt.as_secs_f64())
            }
            None => "-".into(),
        };
        println!(
            "{name:<10} {n:>12} {ns:>9.3} {:>8.0} {slowdown:>9}",
            1e3 / ns
        );
    }
}
