//! Equivalence (Popek & Goldberg's first property) on the real kernel and
//! workloads: one table, every workload x {native, trap/shadow, hw/shadow,
//! hw/nested, bt} on strict, and hw and bt on legacy: identical console
//! output and exit status; and the same table with `--engine jit`, whose
//! modeled cycles and guest-visible counters equal the interpreter's.

use vmlab_isa::Profile;
use vmlab_monitor::{Engine, MemVirt, Mode, RunReport, VmConfig};

fn run(name: &str, iters: u32, mode: Mode, mem: MemVirt, profile: Profile) -> RunReport {
    run_on(name, iters, mode, mem, profile, Engine::Interp)
}

fn run_on(
    name: &str,
    iters: u32,
    mode: Mode,
    mem: MemVirt,
    profile: Profile,
    engine: Engine,
) -> RunReport {
    let mut c = VmConfig::for_workload(name, iters, mode).unwrap();
    c.mem = mem;
    c.profile = profile;
    c.engine = engine;
    vmlab_monitor::run(c, 20_000_000).unwrap()
}

/// The report's counters without the engine-internal one, which describes
/// how the host ran the code, not what the guest did: `bt.chain-patches`
/// (how many direct exits the backend linked: each backend links on its
/// own terms, and the x86-64 one's count differs from the portable one's
/// in every bt cell). Nothing is priced from it. Every other counter,
/// `bt.cache-hits` and `bt.indirect-lookups` included, must be equal.
fn guest_visible(r: &RunReport) -> vmlab_monitor::ReportCounters {
    let mut c = r.counters.clone();
    for k in ENGINE_INTERNAL {
        c.bt.remove(*k);
    }
    c
}

/// Counters that may differ between engines (see [`guest_visible`]).
const ENGINE_INTERNAL: &[&str] = &["bt.chain-patches"];

const TABLE: [(Mode, MemVirt, Profile); 10] = [
    (Mode::Native, MemVirt::None, Profile::Strict),
    (Mode::Trap, MemVirt::Shadow, Profile::Strict),
    (Mode::Hw, MemVirt::Shadow, Profile::Strict),
    (Mode::Hw, MemVirt::Nested, Profile::Strict),
    (Mode::Hw, MemVirt::Shadow, Profile::Legacy),
    (Mode::Hw, MemVirt::Nested, Profile::Legacy),
    (Mode::Bt, MemVirt::Shadow, Profile::Strict),
    (Mode::Bt, MemVirt::Shadow, Profile::Legacy),
    (Mode::Pv, MemVirt::Direct, Profile::Strict),
    (Mode::Pv, MemVirt::Direct, Profile::Legacy),
];

/// I/O rows: trap and hw with `--io pv` (the `PV_IO` kernel), and hosted
/// device models (tests/pv.rs has the full pv x io x hosted table).
const IO_TABLE: [(Mode, MemVirt, vmlab_monitor::IoVirt, bool); 4] = [
    (
        Mode::Trap,
        MemVirt::Shadow,
        vmlab_monitor::IoVirt::Pv,
        false,
    ),
    (Mode::Hw, MemVirt::Nested, vmlab_monitor::IoVirt::Pv, true),
    (
        Mode::Hw,
        MemVirt::Shadow,
        vmlab_monitor::IoVirt::Emulated,
        true,
    ),
    (Mode::Pv, MemVirt::Direct, vmlab_monitor::IoVirt::Pv, true),
];

#[test]
fn equivalence_with_pv_io_and_hosted() {
    for w in vmlab_guest::workloads() {
        for (mode, mem, io, hosted) in IO_TABLE {
            let mut c = VmConfig::for_workload_io(w.name, w.default_iters, mode, io).unwrap();
            c.mem = mem;
            c.hosted = hosted;
            let r = vmlab_monitor::run(c, 20_000_000).unwrap();
            let want = w.expected_output(w.default_iters);
            assert_eq!(
                (r.console.as_str(), r.exit_code),
                (want.as_str(), Some(0)),
                "{} {mode}/{io}",
                w.name
            );
        }
    }
}

#[test]
fn equivalence_every_workload_every_mode() {
    let mut failures = Vec::new();
    for w in vmlab_guest::workloads() {
        let want = w.expected_output(w.default_iters);
        for (mode, mem, profile) in TABLE {
            let r = run(w.name, w.default_iters, mode, mem, profile);
            if r.console != want || r.exit_code != Some(0) {
                failures.push(format!(
                    "{} {mode}/{mem}/{profile:?}: status {} code {:?}\n  console {:?}\n  log {:?}",
                    w.name, r.exit_status, r.exit_code, r.console, r.log
                ));
            }
            // The engine dimension: the same cell with --engine jit.
            let j = run_on(w.name, w.default_iters, mode, mem, profile, Engine::Jit);
            assert_eq!((r.engine, j.engine), ("interp", "jit"));
            if j.console != want || j.exit_code != Some(0) {
                failures.push(format!(
                    "{} {mode}/{mem}/{profile:?} jit: status {} code {:?}\n  console {:?}\n  log {:?}",
                    w.name, j.exit_status, j.exit_code, j.console, j.log
                ));
            }
            if j.modeled_cycles != r.modeled_cycles {
                failures.push(format!(
                    "{} {mode}/{mem}/{profile:?}: modeled cycles interp {} jit {}",
                    w.name, r.modeled_cycles, j.modeled_cycles
                ));
            }
            if guest_visible(&j) != guest_visible(&r) {
                failures.push(format!(
                    "{} {mode}/{mem}/{profile:?}: counters differ\n  interp {:?}\n  jit    {:?}",
                    w.name,
                    guest_visible(&r),
                    guest_visible(&j)
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn engines_agree_when_data_pages_evict_the_code_from_the_tlb() {
    // At the bench's size, pagefault touches enough fresh pages that its
    // TLB fills evict the kernel's code pages, so every instruction fetch
    // after a fill can miss: an engine that skipped or added a fetch at a
    // block boundary would count different TLB misses and walk references
    // (the default size, above, touches too few pages to show it).
    let w = vmlab_guest::workloads()
        .iter()
        .find(|w| w.name == "pagefault")
        .expect("the pagefault workload");
    let mut failures = Vec::new();
    for (mode, mem, profile) in TABLE {
        let r = run_on(w.name, w.bench_iters, mode, mem, profile, Engine::Interp);
        let j = run_on(w.name, w.bench_iters, mode, mem, profile, Engine::Jit);
        if (j.modeled_cycles, guest_visible(&j)) != (r.modeled_cycles, guest_visible(&r)) {
            failures.push(format!(
                "{mode}/{mem}/{profile:?}: modeled cycles interp {} jit {}, TLB misses \
                 interp {} jit {}, walk references interp {} jit {}",
                r.modeled_cycles,
                j.modeled_cycles,
                r.counters.tlb_misses,
                j.counters.tlb_misses,
                r.counters.walk_refs,
                j.counters.walk_refs
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn trap_and_emulate_on_legacy_fails_with_the_kernels_assertion() {
    let w = &vmlab_guest::workloads()[0];
    let r = run(
        w.name,
        w.default_iters,
        Mode::Trap,
        MemVirt::Shadow,
        Profile::Legacy,
    );
    assert_eq!(r.exit_code, Some(0xDEAD), "{r:#?}");
    assert!(
        r.log
            .contains("kernel assertion failed: not in supervisor mode (getf)"),
        "{}",
        r.log
    );
    assert_eq!(r.console, "");
}

#[test]
fn compute_workloads_run_above_99_percent_efficiency_after_boot() {
    use vmlab_guest::workloads::Kind;
    for w in vmlab_guest::workloads()
        .iter()
        .filter(|w| w.kind == Kind::Compute)
    {
        for (mode, mem, profile) in TABLE {
            let n = w.default_iters;
            let a = run(w.name, n, mode, mem, profile);
            let b = run(w.name, 2 * n, mode, mem, profile);
            let retired = |r: &RunReport| {
                let i = &r.counters.instructions;
                i.user + i.supervisor + i.guest_user + i.guest_supervisor
            };
            let e = vmlab_monitor::efficiency(
                retired(&b) - retired(&a),
                b.counters.instructions.emulated - a.counters.instructions.emulated,
            );
            assert!(
                e > 0.99,
                "{} {mode}/{mem}/{profile:?}: efficiency {e}",
                w.name
            );
        }
    }
}

#[test]
fn workload_runs_are_deterministic() {
    for name in ["ctxswitch", "pagefault", "nb-ptemod"] {
        let Some(w) = vmlab_guest::workload(name) else {
            continue;
        };
        for (mode, mem, profile) in TABLE {
            let a = run(w.name, w.default_iters, mode, mem, profile);
            let b = run(w.name, w.default_iters, mode, mem, profile);
            assert_eq!(a.counters, b.counters, "{name} {mode}/{mem}");
            assert_eq!(a.modeled_cycles, b.modeled_cycles, "{name} {mode}/{mem}");
        }
    }
}
