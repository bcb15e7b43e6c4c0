//! Criterion benchmarks for the monitor's hot paths in host time: a whole
//! VM run dominated by one kind of exit or callout, so a regression in the
//! exit round trip, the shadow-paging path or translation shows. Run with
//! `cargo bench -p vmlab-bench --bench monitor`; `vmlab bench` reports the
//! modeled cycles, these the emulator's own nanoseconds.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use vmlab_monitor::{MemVirt, Mode, VmConfig};

/// `(name, workload, iterations, mode, memory)`: each run's time is mostly
/// the named path, repeated `iterations` times.
const CASES: &[(&str, &str, u32, Mode, MemVirt)] = &[
    (
        "hw port-I/O exit round trip",
        "nb-in",
        2_000,
        Mode::Hw,
        MemVirt::Nested,
    ),
    (
        "trap privileged-instruction trap",
        "nb-prio",
        2_000,
        Mode::Trap,
        MemVirt::Shadow,
    ),
    (
        "hw/shadow PTE-write exit",
        "nb-ptemod",
        2_000,
        Mode::Hw,
        MemVirt::Shadow,
    ),
    (
        "bt translation and callouts",
        "nb-ptemod",
        2_000,
        Mode::Bt,
        MemVirt::Shadow,
    ),
    (
        "nested 2-D TLB walks",
        "pagefault",
        64,
        Mode::Hw,
        MemVirt::Nested,
    ),
];

fn monitor(c: &mut Criterion) {
    let mut group = c.benchmark_group("monitor");
    group.sample_size(10);
    for &(name, workload, iters, mode, mem) in CASES {
        let Ok(mut config) = VmConfig::for_workload(workload, iters, mode) else {
            continue;
        };
        config.mem = mem;
        if config.validate().is_err() {
            // A mode this build of the monitor does not run yet.
            continue;
        }
        group.bench_function(name, |b| {
            b.iter(|| {
                let report = vmlab_monitor::run(config.clone(), 1_000_000_000).unwrap();
                black_box(report.modeled_cycles)
            })
        });
    }
    group.finish();
}

criterion_group!(benches, monitor);
criterion_main!(benches);
