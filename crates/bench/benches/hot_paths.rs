//! Criterion micro-benchmarks for the emulator's hot paths, each isolated:
//! set-up, resets and flushes stay outside the timed region, so a regression
//! in one path shows in its own group. speed.rs times whole compute kernels
//! and monitor.rs whole VM runs; these time one step of each path.
//!
//! | group | one element is |
//! |---|---|
//! | `interp_step` | one guest ALU instruction on the interpreter |
//! | `exit_round_trip` | one hw-mode port-out VM exit, handled by the monitor and resumed |
//! | `translate_block` | one 16-instruction kernel block translated and compiled (cold slot) |
//! | `tlb_walk` | one TLB miss and page walk (1-D, and 2-D under nested paging) |
//!
//! `tlb_walk/tlb-hit-reference` is the same loads on a TLB hit, to subtract.
//! docs/bench.md ("Benchmarks for the emulator itself") explains each group.
//!
//! Run with `cargo bench -p vmlab-bench --bench hot_paths`.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use vmlab_isa::csr::status;
use vmlab_isa::paging::{PTE_A, PTE_D, PTE_R, PTE_V, PTE_W, PTE_X};
use vmlab_isa::{Csr, Reg};
use vmlab_machine::{Exit, HostPhys, Machine, MachineConfig, MemMode};
use vmlab_monitor::{BootImage, Mode, Vm, VmConfig};
use vmlab_translate::{Backend, PortableBackend, Privilege, Source, translate};

/// Criterion settings shared by every group: few samples, short runs.
fn configure(group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>) {
    group.sample_size(10);
    group.warm_up_time(Duration::from_millis(500));
    group.measurement_time(Duration::from_secs(2));
}

fn assemble(source: &str) -> vmlab_asm::Image {
    vmlab_asm::assemble_str(source).expect("the benchmark's guest code assembles")
}

// ---- interp_step ----

/// Guest instructions per timed `run`.
const INTERP_BUDGET: u64 = 100_000;

/// A 63-instruction straight-line ALU block closed by a jump back: the
/// interpreter's inner loop with nothing but register arithmetic.
fn alu_loop_source() -> String {
    const OPS: [&str; 9] = [
        "add t0, t0, t1",
        "xor t1, t1, t2",
        "addi t2, t2, 7",
        "slli t3, t0, 3",
        "sub s0, t3, t2",
        "or s1, s0, t1",
        "and s2, s1, t3",
        "srli s3, s2, 2",
        "sltu a0, s3, t0",
    ];
    let mut s = String::from("_start:\n li t1, 3\n li t2, 5\nloop:\n");
    for i in 0..63 {
        s.push_str(&format!(" {}\n", OPS[i % OPS.len()]));
    }
    s.push_str(" j loop\n");
    s
}

fn interp_step(c: &mut Criterion) {
    let image = assemble(&alu_loop_source());
    let mut m = Machine::bare_metal(&image, MachineConfig::default()).unwrap();
    // Warm the block cache; the loop never ends, so every run is the same work.
    assert_eq!(m.run(INTERP_BUDGET), Exit::BudgetExhausted);
    let mut group = c.benchmark_group("interp_step");
    configure(&mut group);
    group.throughput(Throughput::Elements(INTERP_BUDGET));
    group.bench_function("alu-block", |b| {
        b.iter(|| {
            let before = m.instret();
            let exit = m.run(black_box(INTERP_BUDGET));
            debug_assert_eq!(m.instret() - before, INTERP_BUDGET);
            black_box(exit)
        })
    });
    group.finish();
}

// ---- exit_round_trip ----

/// Instruction budget of one timed `Vm::run`: about one exit per instruction.
const EXIT_BUDGET: u64 = 10_000;

/// A hw-mode guest writing the block device's sector register (a device
/// register with no side effect: nothing grows) in a tight loop. Every port
/// exits in hw mode, so each iteration is one VM exit.
const EXIT_LOOP: &str = "
_start:
    li      a0, 0x200           # ports::BLOCK_SECTOR
    li      a1, 0
loop:
    outw    a1, 0(a0)
    j       loop
";

fn exit_round_trip(c: &mut Criterion) {
    let config = VmConfig::new(BootImage::from_image(&assemble(EXIT_LOOP)), Mode::Hw);
    let mut host = Vm::host_for(&config).unwrap();
    let mut vm = Vm::new(&mut host, config).unwrap();
    // One untimed call settles the loop (boot, first translations) and
    // measures how many exits a call of EXIT_BUDGET makes.
    vm.run(&mut host, EXIT_BUDGET).unwrap();
    let before = vm.stats().exits_total();
    vm.run(&mut host, EXIT_BUDGET).unwrap();
    let exits = vm.stats().exits_total() - before;
    assert!(
        exits >= EXIT_BUDGET / 2,
        "expected about one exit per instruction, got {exits} in {EXIT_BUDGET}"
    );
    assert_eq!(vm.stats().exits["port-out"], vm.stats().exits_total());
    let mut group = c.benchmark_group("exit_round_trip");
    configure(&mut group);
    group.throughput(Throughput::Elements(exits));
    group.bench_function("hw-port-out", |b| {
        b.iter(|| black_box(vm.run(&mut host, black_box(EXIT_BUDGET)).unwrap()))
    });
    group.finish();
}

// ---- translate_block ----

/// Blocks translated into empty slots between two cache flushes.
const BLOCKS_PER_FLUSH: u64 = 16;

/// A 16-instruction kernel block: ALU work, loads and stores, an inline
/// virtual-CPU read (`csrr`), ended by a conditional branch.
const KERNEL_BLOCK: &str = "
_start:
    addi    t0, t0, 4
    lw      t1, 0(s0)
    add     t2, t1, t0
    sw      t2, 4(s0)
    csrr    t3, epc
    xor     a0, a0, t3
    slli    a1, a0, 2
    lw      a2, 8(s0)
    sub     a3, a2, a1
    sw      a3, 12(s0)
    andi    a4, a3, 255
    or      s1, s1, a4
    addi    s0, s0, 16
    addi    s2, s2, -1
    srli    s3, s1, 1
    bnez    s2, _start
";

/// Times translate + compile of `BLOCKS_PER_FLUSH` blocks into empty slots,
/// flushing the backend (untimed) before each batch; `iters` blocks in all.
fn time_translations<B: Backend>(backend: &mut B, code: &[u8], iters: u64) -> Duration {
    let mut total = Duration::ZERO;
    let mut done = 0;
    while done < iters {
        backend.flush();
        let n = BLOCKS_PER_FLUSH.min(iters - done);
        let start = Instant::now();
        for slot in 0..n {
            let src = Source {
                va: 0x1000,
                hpa: 0x1000,
                generation: 0,
                code: black_box(code),
            };
            let t = translate(src, Privilege::Supervisor, &|_| false);
            backend.compile(slot as usize, &t);
        }
        total += start.elapsed();
        done += n;
    }
    total
}

fn translate_block(c: &mut Criterion) {
    let image = assemble(KERNEL_BLOCK);
    let code = image.segments[0].data.clone();
    let probe = translate(
        Source {
            va: 0x1000,
            hpa: 0x1000,
            generation: 0,
            code: &code,
        },
        Privilege::Supervisor,
        &|_| false,
    );
    assert_eq!(
        probe.len(),
        16,
        "the benchmark block is one 16-instruction block"
    );
    let mut group = c.benchmark_group("translate_block");
    configure(&mut group);
    group.bench_function("ir-only", |b| {
        b.iter(|| {
            let src = Source {
                va: 0x1000,
                hpa: 0x1000,
                generation: 0,
                code: black_box(&code),
            };
            black_box(translate(src, Privilege::Supervisor, &|_| false))
        })
    });
    let mut portable = PortableBackend::new();
    group.bench_function("portable", |b| {
        b.iter_custom(|iters| time_translations(&mut portable, &code, iters))
    });
    #[cfg(target_arch = "x86_64")]
    {
        let mut x86 = vmlab_translate::X86Backend::new();
        group.bench_function("x86-64", |b| {
            b.iter_custom(|iters| time_translations(&mut x86, &code, iters))
        });
    }
    group.finish();
}

// ---- tlb_walk ----

/// Loads per timed run, each to its own page: 32 data walks plus the fetch.
const WALK_LOADS: u32 = 32;
/// Guest-physical addresses of the guest's page tables and code.
const GUEST_ROOT: u32 = 0x10000;
const GUEST_LEAF: u32 = 0x11000;
const CODE: u32 = 0x1000;
/// The data pages: `WALK_LOADS` consecutive pages from here.
const DATA: u32 = 0x20_0000;
/// Guest-physical memory under nested paging: 4 MiB, placed at host 4 MiB
/// (so the nested table really translates).
const GUEST_FRAMES: u32 = 1024;
const GUEST_AT_FRAME: u32 = 1024;
/// Host frames of the nested table (a root and one leaf).
const NESTED_TABLES: [u32; 2] = [3000, 3001];

/// A bare machine with guest paging on: the guest's two-level table
/// identity-maps the first 4 MiB (A and D preset, so walks write nothing),
/// and the code at `CODE` is `WALK_LOADS` loads, each from its own page
/// (all from one page when `one_page`: the TLB-hit reference).
/// With `nested`, guest-physical memory is at host frame `GUEST_AT_FRAME`
/// behind a nested table and the MMU does two-dimensional walks.
fn walk_machine(nested: bool, one_page: bool) -> Machine {
    let mut m = Machine::new(MachineConfig::default()).unwrap();
    let offset = if nested { GUEST_AT_FRAME << 12 } else { 0 };
    let put = |m: &mut Machine, gpa: u32, word: u32| {
        m.write_phys_u32(HostPhys(gpa + offset), word).unwrap();
    };
    let flags = PTE_V | PTE_R | PTE_W | PTE_X | PTE_A | PTE_D;
    for page in 0..1024 {
        put(&mut m, GUEST_LEAF + 4 * page, (page << 12) | flags);
    }
    put(&mut m, GUEST_ROOT, GUEST_LEAF | PTE_V);
    // s0 and s1 each reach 16 pages with signed 16-bit offsets.
    let mut source = String::from("_start:\n");
    for i in 0..WALK_LOADS {
        let (base, off) = if one_page {
            ("s0", i as i32 * 4)
        } else if i < 16 {
            ("s0", i as i32 * 4096 - 32768)
        } else {
            ("s1", (i - 16) as i32 * 4096 - 32768)
        };
        source.push_str(&format!(" lw t0, {off}({base})\n"));
    }
    let code = assemble(&source).segments[0].data.clone();
    for (i, w) in code.chunks_exact(4).enumerate() {
        let word = u32::from_le_bytes([w[0], w[1], w[2], w[3]]);
        put(&mut m, CODE + 4 * i as u32, word);
    }
    m.set_reg(Reg::S0, DATA + 0x8000);
    m.set_reg(Reg::S1, DATA + 16 * 4096 + 0x8000);
    if nested {
        let frames: Vec<u32> = (GUEST_AT_FRAME..GUEST_AT_FRAME + GUEST_FRAMES).collect();
        let root = vmlab_monitor::nested::build(&mut m, &frames, &NESTED_TABLES).unwrap();
        m.set_mem_mode(MemMode::Nested { root });
    }
    m.set_csr(Csr::Ptbr, GUEST_ROOT);
    m.set_csr(Csr::Status, status::MODE | status::PG);
    m
}

/// One timed run of the load block, from a TLB flushed (untimed) first when
/// `flush`; returns the run's time.
fn timed_walk_run(m: &mut Machine, flush: bool) -> Duration {
    m.set_pc(CODE);
    if flush {
        m.flush_tlb();
    }
    let start = Instant::now();
    let exit = m.run(u64::from(WALK_LOADS));
    let t = start.elapsed();
    debug_assert_eq!(exit, Exit::BudgetExhausted);
    t
}

/// Walks (1-D + 2-D) one flushed run makes; checks it is one per page.
fn walks_per_run(m: &mut Machine) -> u64 {
    let walks = |m: &Machine| {
        let c = m.counters();
        c.walks_1d + c.walks_2d
    };
    let before = walks(m);
    timed_walk_run(m, true);
    let n = walks(m) - before;
    assert_eq!(
        n,
        u64::from(WALK_LOADS) + 1,
        "one walk per load plus the fetch"
    );
    n
}

fn tlb_walk(c: &mut Criterion) {
    let mut group = c.benchmark_group("tlb_walk");
    configure(&mut group);
    for (name, nested) in [("1d", false), ("2d-nested", true)] {
        let mut m = walk_machine(nested, false);
        let walks = walks_per_run(&mut m);
        let c = m.counters();
        if nested {
            assert_eq!(c.walks_1d, 0);
            assert_eq!(c.walk_refs_2d, 8 * c.walks_2d, "8 references per 2-D walk");
        } else {
            assert_eq!(c.walks_2d, 0);
            assert_eq!(c.walk_refs_1d, 2 * c.walks_1d, "2 references per 1-D walk");
        }
        group.throughput(Throughput::Elements(walks));
        group.bench_function(name, |b| {
            b.iter_custom(|iters| (0..iters).map(|_| timed_walk_run(&mut m, true)).sum())
        });
    }
    // The reference: the same 32 loads (and fetch) with the TLB warm and
    // every load on one page, so nothing walks: what an access costs
    // without the walk, to subtract from `1d` and `2d-nested`.
    let mut m = walk_machine(false, true);
    timed_walk_run(&mut m, false);
    let misses = m.counters().tlb_misses;
    timed_walk_run(&mut m, false);
    assert_eq!(
        m.counters().tlb_misses,
        misses,
        "the reference run must not walk"
    );
    group.throughput(Throughput::Elements(u64::from(WALK_LOADS) + 1));
    group.bench_function("tlb-hit-reference", |b| {
        b.iter_custom(|iters| (0..iters).map(|_| timed_walk_run(&mut m, false)).sum())
    });
    group.finish();
}

criterion_group!(
    benches,
    interp_step,
    exit_round_trip,
    translate_block,
    tlb_walk
);
criterion_main!(benches);
