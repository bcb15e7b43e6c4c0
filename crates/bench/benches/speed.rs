//! Criterion benchmarks for the emulator's speed: each bare-metal compute
//! kernel on the interpreter and on the jit engine (vmlab-translate's x86-64
//! backend; compilation included), beside the same algorithm in native Rust, in one
//! process (the same comparison `vmlab speed` reports, with criterion's
//! statistics). Run with `cargo bench -p vmlab-bench`.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use vmlab_guest::bare;
use vmlab_machine::{Engine, Exit, Machine, MachineConfig};
use vmlab_translate::JitEngine;

fn kernels(c: &mut Criterion) {
    for k in bare::kernels() {
        // A mid-sized problem: long enough to amortise machine set-up, short
        // enough for criterion's many samples.
        let (n, reps) = (k.speed_n, 1);
        let image = k.image_with(n, reps);
        let mut group = c.benchmark_group(k.name);
        group.sample_size(10);
        group.bench_function("guest-interp", |b| {
            b.iter(|| {
                let mut m = Machine::bare_metal(&image, MachineConfig::default()).unwrap();
                let exit = m.run(u64::MAX);
                assert_eq!(exit, Exit::Shutdown { code: 0 });
                black_box(m.instret())
            })
        });
        group.bench_function("guest-jit", |b| {
            b.iter(|| {
                let mut m = Machine::bare_metal(&image, MachineConfig::default()).unwrap();
                let exit = JitEngine::new().run(&mut m, u64::MAX);
                assert_eq!(exit, Exit::Shutdown { code: 0 });
                black_box(m.instret())
            })
        });
        group.bench_function("native-rust", |b| {
            b.iter(|| black_box(k.native(black_box(n), 1)))
        });
        group.finish();
    }
}

criterion_group!(benches, kernels);
criterion_main!(benches);
