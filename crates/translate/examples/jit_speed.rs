//! Speed of the `jit` engine (the x86-64 backend) against the interpreter
//! and native Rust on the bare-metal compute kernels, measured the way
//! `vmlab speed` measures them (best of `REPEAT` runs, output checked).
//!
//! ```text
//! cargo run --release -p vmlab-translate --example jit_speed [--quick] [--jit-only] [KERNEL...]
//! ```

use std::time::Instant;

use vmlab_guest::bare;
use vmlab_machine::devices::Console;
use vmlab_machine::{Engine, Exit, Machine, MachineConfig};
use vmlab_translate::JitEngine;

const BUDGET: u64 = 10_000_000_000;
const REPEAT: usize = 3;

struct Row {
    ns: u64,
    insns: u64,
    translate_ns_per_insn: f64,
}

fn run_one(image: &vmlab_asm::Image, expected: &str, jit: bool) -> Row {
    let mut best = u64::MAX;
    let mut insns = 0;
    let mut tns = 0.0;
    for _ in 0..REPEAT {
        let mut m = Machine::bare_metal(image, MachineConfig::default()).unwrap();
        let mut engine = JitEngine::new();
        let start = Instant::now();
        let exit = if jit {
            engine.run(&mut m, BUDGET)
        } else {
            m.run(BUDGET)
        };
        let ns = start.elapsed().as_nanos() as u64;
        let out = m
            .bus()
            .get::<Console>()
            .map(|c| String::from_utf8_lossy(c.output()).into_owned())
            .unwrap_or_default();
        assert_eq!(exit, Exit::Shutdown { code: 0 }, "{out}");
        assert_eq!(out, expected);
        best = best.min(ns);
        insns = m.instret();
        if jit {
            let c = engine.bt().counters();
            #[cfg(target_arch = "x86_64")]
            let compile = engine.bt().backend().compile_ns() as f64;
            #[cfg(not(target_arch = "x86_64"))]
            let compile = 0.0;
            tns = compile / c.instrs_translated.max(1) as f64;
        }
    }
    Row {
        ns: best,
        insns,
        translate_ns_per_insn: tns,
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let quick = args.iter().any(|a| a == "--quick");
    let only: Vec<&String> = args.iter().filter(|a| !a.starts_with("--")).collect();
    println!(
        "{:8} {:7} {:>12} {:>10} {:>8} {:>8} {:>9} {:>10}",
        "kernel", "engine", "guest insns", "guest ms", "ns/insn", "MIPS", "slowdown", "xlate ns/i"
    );
    let mut logs = [0.0f64; 2];
    let mut count = 0;
    for k in bare::kernels() {
        if !only.is_empty() && !only.iter().any(|o| *o == k.name) {
            continue;
        }
        let (n, reps) = if quick {
            (k.default_n, 1)
        } else {
            (k.speed_n, k.speed_reps)
        };
        let image = k.image_with(n, reps);
        let expected = k.expected_output(n, reps);
        let mut native = u64::MAX;
        for _ in 0..REPEAT {
            let start = Instant::now();
            let r = k.native(n, reps);
            native = native.min(start.elapsed().as_nanos() as u64);
            assert_eq!(r, k.result(n, reps));
        }
        let native = native.max(1);
        let jit_only = args.iter().any(|a| a == "--jit-only");
        for (e, jit) in [("interp", false), ("jit", true)] {
            if jit_only && !jit {
                continue;
            }
            let r = run_one(&image, &expected, jit);
            let slow = r.ns as f64 / native as f64;
            logs[usize::from(jit)] += slow.ln();
            println!(
                "{:8} {:7} {:>12} {:>10.2} {:>8.3} {:>8.0} {:>8.2}x {:>10}",
                k.name,
                e,
                r.insns,
                r.ns as f64 / 1e6,
                r.ns as f64 / r.insns.max(1) as f64,
                r.insns as f64 / r.ns as f64 * 1e3,
                slow,
                if jit {
                    format!("{:.0}", r.translate_ns_per_insn)
                } else {
                    "-".into()
                }
            );
        }
        count += 1;
    }
    let n = f64::from(count);
    println!(
        "geomean slowdown vs native Rust: interp {:.2}x, jit {:.2}x",
        (logs[0] / n).exp(),
        (logs[1] / n).exp()
    );
}
