//! bt mode (issue 7): the kernel's code runs translated (callouts and inline
//! virtual-CPU operations), user code directly, on shadow paging; correct on
//! both profiles.

use std::cell::RefCell;
use std::rc::Rc;

use vmlab_isa::Profile;
use vmlab_monitor::cost::Event;
use vmlab_monitor::{Host, HostConfig, MemVirt, Mode, RunReport, RunState, Vm, VmConfig};

const BUDGET: u64 = 20_000_000;

fn config(name: &str, iters: u32, profile: Profile) -> VmConfig {
    let mut c = VmConfig::for_workload(name, iters, Mode::Bt).unwrap();
    c.profile = profile;
    c
}

fn run(name: &str, iters: u32, profile: Profile) -> RunReport {
    vmlab_monitor::run(config(name, iters, profile), BUDGET).unwrap()
}

fn bt(r: &RunReport, key: &str) -> u64 {
    *r.counters
        .bt
        .get(key)
        .unwrap_or_else(|| panic!("no counter {key}: {:?}", r.counters.bt))
}

#[test]
fn bt_accepts_shadow_paging_only() {
    assert!(Mode::Bt.check(MemVirt::Shadow).is_ok());
    for mem in [MemVirt::None, MemVirt::Nested, MemVirt::Direct] {
        assert!(Mode::Bt.check(mem).is_err(), "{mem}");
    }
    assert_eq!(Mode::Bt.default_mem(), MemVirt::Shadow);
}

#[test]
fn every_workload_gives_the_native_output_on_both_profiles() {
    let mut failures = Vec::new();
    for w in vmlab_guest::workloads() {
        let want = w.expected_output(w.default_iters);
        for profile in [Profile::Strict, Profile::Legacy] {
            let r = run(w.name, w.default_iters, profile);
            if r.console != want || r.exit_code != Some(0) || r.exit_status != "shutdown" {
                failures.push(format!(
                    "{} bt/{profile:?}: status {} code {:?}\n  console {:?}\n  log {:?}",
                    w.name, r.exit_status, r.exit_code, r.console, r.log
                ));
            }
            // Kernel code really ran translated, user code directly.
            if bt(&r, "bt.blocks-translated") == 0 || r.counters.callouts == 0 {
                failures.push(format!("{} bt/{profile:?}: nothing translated", w.name));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn the_legacy_profiles_getf_and_setf_are_inline_operations() {
    // Trap-and-emulate fails this workload on legacy (tests/workloads.rs);
    // under bt the kernel's getf/setf never reach the machine.
    let w = &vmlab_guest::workloads()[0];
    let r = run(w.name, w.default_iters, Profile::Legacy);
    assert_eq!(r.console, w.expected_output(w.default_iters));
    assert!(bt(&r, "bt.inline-ops") > 0);
    assert!(!r.log.contains("assertion"), "{}", r.log);
}

#[test]
fn ptemod_adapts_later_page_table_writes_are_callouts_not_faults() {
    let n = 100;
    let a = run("nb-ptemod", n, Profile::Strict);
    let b = run("nb-ptemod", 2 * n, Profile::Strict);
    for r in [&a, &b] {
        assert_eq!(r.exit_code, Some(0), "{}", r.log);
        assert!(
            bt(r, "bt.adaptive-retranslations") >= 1,
            "{:?}",
            r.counters.bt
        );
    }
    // n more PTE stores: n more pte-write callouts, no more faults.
    assert_eq!(
        bt(&b, "bt.callout.pte-write") - bt(&a, "bt.callout.pte-write"),
        u64::from(n)
    );
    assert_eq!(b.counters.pt_write_traps, a.counters.pt_write_traps);
    assert_eq!(
        b.counters.exits.get("protected-write"),
        a.counters.exits.get("protected-write")
    );
    assert_eq!(
        bt(&b, "bt.adaptive-retranslations"),
        bt(&a, "bt.adaptive-retranslations")
    );
    // Priced as a callout plus a shadow update.
    let per = (b.modeled_cycles - a.modeled_cycles) / u64::from(n);
    let p4 = vmlab_monitor::CostModel::preset("p4-2006").unwrap();
    assert!(
        per >= p4.cost(Event::BtCallout) + p4.cost(Event::ShadowUpdate),
        "{per}"
    );
    assert!(per < p4.cost(Event::MonitorTrap), "{per}");
}

#[test]
fn the_ptemod_workload_adapts() {
    for profile in [Profile::Strict, Profile::Legacy] {
        let r = run("ptemod", 20, profile);
        assert_eq!(r.exit_code, Some(0), "{}", r.log);
        assert!(
            bt(&r, "bt.adaptive-retranslations") >= 1,
            "{:?}",
            r.counters.bt
        );
        // Most page-table writes are callouts: each store faults once.
        assert!(
            bt(&r, "bt.callout.pte-write") > r.counters.pt_write_traps,
            "{} pte-write callouts, {} protected-write traps",
            bt(&r, "bt.callout.pte-write"),
            r.counters.pt_write_traps
        );
    }
}

#[test]
fn callouts_are_never_counted_as_exits() {
    for name in ["nb-in", "nb-syscall", "nb-ptemod"] {
        let r = run(name, 50, Profile::Strict);
        assert_eq!(r.exit_code, Some(0), "{name}: {}", r.log);
        assert!(r.counters.callouts > 0, "{name}");
        assert!(
            !r.counters.exits.contains_key("callout"),
            "{name}: {:?}",
            r.counters.exits
        );
        assert_eq!(
            r.counters.exits_total,
            r.counters.exits.values().sum::<u64>()
        );
        let by_kind: u64 = r
            .counters
            .bt
            .iter()
            .filter(|(k, _)| k.starts_with("bt.callout."))
            .map(|(_, v)| v)
            .sum();
        assert_eq!(by_kind, r.counters.callouts, "{name}");
        assert_eq!(r.breakdown.count(Event::BtCallout), r.counters.callouts);
        assert_eq!(r.breakdown.count(Event::VmExit), 0);
        assert_eq!(
            r.breakdown.count(Event::MonitorTrap),
            r.counters.exits_total
        );
    }
    // Port I/O in the kernel is a callout: nb-in's port reads never trap.
    let a = run("nb-in", 50, Profile::Strict);
    let b = run("nb-in", 100, Profile::Strict);
    assert_eq!(a.counters.exits_total, b.counters.exits_total);
    assert_eq!(
        bt(&b, "bt.callout.port-in") - bt(&a, "bt.callout.port-in"),
        50
    );
}

#[test]
fn translation_and_indirect_lookups_are_priced() {
    let r = run("nb-callret", 100, Profile::Strict);
    assert!(r.breakdown.count(Event::BtTranslate) > 0);
    // Only kernel translations are priced (user blocks run directly).
    assert!(r.breakdown.count(Event::BtTranslate) <= bt(&r, "bt.instrs-translated"));
    assert!(r.breakdown.count(Event::BtIndirectLookup) >= 100);
    assert!(r.breakdown.count(Event::BtIndirectLookup) <= bt(&r, "bt.indirect-lookups"));
}

#[test]
fn runs_are_deterministic() {
    for name in ["ctxswitch", "io-disk", "ptemod"] {
        let a = run(name, 20, Profile::Legacy);
        let b = run(name, 20, Profile::Legacy);
        assert_eq!(a.counters, b.counters, "{name}");
        assert_eq!(a.modeled_cycles, b.modeled_cycles, "{name}");
        assert_eq!(a.breakdown, b.breakdown, "{name}");
        assert_eq!(a.console, b.console, "{name}");
        assert_eq!(a.guest_instructions, b.guest_instructions, "{name}");
    }
}

#[test]
fn budget_slices_give_the_same_run() {
    // Running in many short slices (the engine's cache and the virtual CPU
    // survive between run calls) ends like one long run.
    let whole = run("nb-syscall", 30, Profile::Strict);
    let c = config("nb-syscall", 30, Profile::Strict);
    let mut host = Vm::host_for(&c).unwrap();
    let mut vm = Vm::new(&mut host, c).unwrap();
    let mut state = RunState::Running;
    for _ in 0..100_000 {
        state = vm.run(&mut host, 997).unwrap();
        if state != RunState::Running {
            break;
        }
    }
    assert!(matches!(state, RunState::Finished(_)));
    let sliced = vm.report();
    assert_eq!(sliced.console, whole.console);
    assert_eq!(sliced.exit_code, Some(0));
    assert_eq!(sliced.guest_instructions, whole.guest_instructions);
}

#[test]
fn two_bt_vms_time_share_one_host() {
    // Each VM has its own engine and cache; slices interleave on one machine.
    let a = config("ctxswitch", 10, Profile::Legacy);
    let b = config("io-disk", 3, Profile::Legacy);
    let want_a = run("ctxswitch", 10, Profile::Legacy).console;
    let want_b = run("io-disk", 3, Profile::Legacy).console;
    let frames = u64::from(a.guest_frames() + a.monitor_frames + 16);
    let mut host = Host::new(&HostConfig {
        ram_bytes: 2 * frames * 4096,
        profile: Profile::Legacy,
        ..HostConfig::default()
    })
    .unwrap();
    let mut va = Vm::new(&mut host, a).unwrap();
    let mut vb = Vm::new(&mut host, b).unwrap();
    for _ in 0..100_000 {
        let sa = va.run(&mut host, 1_000).unwrap();
        let sb = vb.run(&mut host, 1_000).unwrap();
        if sa != RunState::Running && sb != RunState::Running {
            break;
        }
    }
    assert_eq!(va.report().console, want_a);
    assert_eq!(vb.report().console, want_b);
    assert_eq!(va.report().exit_code, Some(0));
    assert_eq!(vb.report().exit_code, Some(0));
}

/// The `--trace bt` lines of a run of `c` (which must end well).
fn bt_trace(c: VmConfig) -> Vec<String> {
    let mut host = Vm::host_for(&c).unwrap();
    let mut vm = Vm::new(&mut host, c).unwrap();
    let out = Rc::new(RefCell::new(Vec::<String>::new()));
    let sink = out.clone();
    vm.set_bt_tracer(move |s| sink.borrow_mut().push(s.to_owned()))
        .unwrap();
    vm.run(&mut host, BUDGET).unwrap();
    assert_eq!(vm.report().exit_code, Some(0));
    out.take()
}

#[test]
fn trace_bt_shows_translations_callouts_and_adaptive_retranslation() {
    let out = bt_trace(config("nb-ptemod", 10, Profile::Strict));
    let all = out.join("\n");
    assert!(
        out.iter().any(|s| s.starts_with("bt: translated block")),
        "{all}"
    );
    assert!(all.contains("CALLOUT"), "{all}");
    assert!(all.contains("inline"), "{all}");
    assert!(out.iter().any(|s| s.starts_with("bt: adaptive:")), "{all}");
    assert!(
        out.iter()
            .any(|s| s.starts_with("bt: retranslated (adaptive)") && s.contains("pte-write")),
        "{all}"
    );
    // Source lines come from the kernel's line map.
    assert!(all.contains(".s:") || all.contains(".S:"), "{all}");
    // Each block is shown once (retranslations apart).
    let firsts: Vec<&String> = out
        .iter()
        .filter(|s| s.starts_with("bt: translated"))
        .collect();
    let mut heads: Vec<&str> = firsts.iter().map(|s| s.lines().next().unwrap()).collect();
    let n = heads.len();
    heads.sort_unstable();
    heads.dedup();
    assert_eq!(heads.len(), n);
}

/// Under `--engine jit`, each translated block is followed by its host code
/// (the iced-x86 disassembly beside the guest instructions, with chain
/// points and callouts marked); under the interpreter there is none.
#[cfg(target_arch = "x86_64")]
#[test]
fn trace_bt_under_the_jit_shows_host_code_beside_guest_code() {
    for engine in [vmlab_monitor::Engine::Interp, vmlab_monitor::Engine::Jit] {
        let mut c = config("nb-ptemod", 2, Profile::Strict);
        c.engine = engine;
        let out = bt_trace(c);
        let all = out.join("\n");
        let host_code = out
            .iter()
            .filter(|s| s.starts_with("bt: host code (x86-64) of block"))
            .count();
        if engine == vmlab_monitor::Engine::Interp {
            assert_eq!(host_code, 0, "{all}");
            continue;
        }
        // Each shown block that runs as host code is followed by it.
        let first = out
            .iter()
            .position(|s| s.starts_with("bt: translated block"))
            .expect("a translated block");
        let block = out[first].split_whitespace().nth(3).unwrap().to_owned();
        assert_eq!(
            out[first + 1],
            format!("bt: host code (x86-64) of block {block}:"),
            "{all}"
        );
        assert!(host_code > 10, "{all}");
        assert!(all.contains(";; entry"), "{all}");
        assert!(all.contains("<- chain point: exit 0"), "{all}");
        assert!(all.contains("<- callout: store"), "{all}");
        assert!(all.contains("jmp qword ptr"), "{all}");
    }
}

#[test]
fn the_bt_tracer_needs_bt_mode() {
    let c = VmConfig::for_workload("nb-in", 1, Mode::Trap).unwrap();
    let mut host = Vm::host_for(&c).unwrap();
    let mut vm = Vm::new(&mut host, c).unwrap();
    assert!(vm.set_bt_tracer(|_| {}).is_err());
    assert!(vm.bt_counters().is_none());
}

#[test]
fn every_workload_under_bt_with_the_pv_io_kernel_on_both_profiles() {
    let mut failures = Vec::new();
    for w in vmlab_guest::workloads() {
        let want = w.expected_output(w.default_iters);
        for profile in [Profile::Strict, Profile::Legacy] {
            let mut c = VmConfig::for_workload_io(
                w.name,
                w.default_iters,
                Mode::Bt,
                vmlab_monitor::IoVirt::Pv,
            )
            .unwrap();
            c.profile = profile;
            let r = vmlab_monitor::run(c, BUDGET).unwrap();
            if r.console != want || r.exit_code != Some(0) {
                failures.push(format!(
                    "{} bt/pv-io/{profile:?}: status {} code {:?}\n  console {:?}\n  log {:?}",
                    w.name, r.exit_status, r.exit_code, r.console, r.log
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
