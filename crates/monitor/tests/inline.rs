//! The monitor on a small inline kernel: equivalence across modes, the
//! legacy failure of trap-and-emulate, isolation under shadow paging,
//! determinism and efficiency.

mod common;

use common::*;
use vmlab_isa::Profile;
use vmlab_monitor::{MemVirt, Mode};

#[test]
fn equivalence_on_the_inline_kernel() {
    for (mode, mem, profile) in table() {
        let r = run(config(mode, mem, profile, 1000, Probe::None));
        assert_eq!(
            r.console,
            expected(1000),
            "{mode}/{mem}/{profile:?}: {r:#?}"
        );
        assert_eq!(r.exit_code, Some(0), "{mode}/{mem}/{profile:?}");
    }
}

#[test]
fn show_reports() {
    for (mode, mem, profile) in table() {
        let r = run(config(mode, mem, profile, 1000, Probe::None));
        println!(
            "{mode}/{mem}/{profile:?}: cycles {} exits {:?} hidden {} reflected {} ptw {} traps {} native_traps {} tlbmiss {} refs {} flushes {} dev {:?} eff {:.4} insns {:?}",
            r.modeled_cycles,
            r.counters.exits,
            r.counters.hidden_faults,
            r.counters.reflected_faults,
            r.counters.pt_write_traps,
            r.counters.traps_reflected,
            r.counters.native_traps,
            r.counters.tlb_misses,
            r.counters.walk_refs,
            r.counters.tlb_flushes,
            r.counters.device_accesses,
            r.efficiency,
            r.counters.instructions
        );
    }
}

#[test]
fn trap_and_emulate_fails_on_legacy_as_x86_did() {
    let r = run(config(
        Mode::Trap,
        MemVirt::Shadow,
        Profile::Legacy,
        100,
        Probe::None,
    ));
    assert_eq!(r.log, "kernel: not in supervisor mode\n");
    assert_eq!(r.exit_code, Some(0xE1));
    assert_eq!(r.console, "");
}

#[test]
fn a_user_read_of_a_kernel_address_faults_under_trap_mode_shadow_paging() {
    for (mode, mem) in [
        (Mode::Native, MemVirt::None),
        (Mode::Trap, MemVirt::Shadow),
        (Mode::Hw, MemVirt::Shadow),
    ] {
        let r = run(config(mode, mem, Profile::Strict, 10, Probe::KernelRead));
        assert_eq!(r.console, "hi", "{mode}/{mem}");
        assert_eq!(
            r.exit_code,
            Some(3),
            "{mode}/{mem}: the kernel's load-fault handler ran"
        );
        if mem == MemVirt::Shadow {
            assert_eq!(r.counters.reflected_faults, 1, "{mode}/{mem}");
        }
    }
}

#[test]
fn determinism_two_runs_are_identical() {
    for (mode, mem, profile) in table() {
        let a = run(config(mode, mem, profile, 500, Probe::None));
        let b = run(config(mode, mem, profile, 500, Probe::None));
        assert_eq!(a.counters, b.counters, "{mode}/{mem}");
        assert_eq!(a.modeled_cycles, b.modeled_cycles, "{mode}/{mem}");
        assert_eq!(a.breakdown, b.breakdown, "{mode}/{mem}");
    }
}

#[test]
fn efficiency_after_boot_is_above_99_percent() {
    for (mode, mem, profile) in table() {
        let n = run(config(mode, mem, profile, 20_000, Probe::None));
        let n2 = run(config(mode, mem, profile, 40_000, Probe::None));
        let retired = n2.counters.instructions.user
            + n2.counters.instructions.supervisor
            + n2.counters.instructions.guest_user
            + n2.counters.instructions.guest_supervisor
            - (n.counters.instructions.user
                + n.counters.instructions.supervisor
                + n.counters.instructions.guest_user
                + n.counters.instructions.guest_supervisor);
        let emulated = n2.counters.instructions.emulated - n.counters.instructions.emulated;
        let e = vmlab_monitor::efficiency(retired, emulated);
        assert!(e > 0.99, "{mode}/{mem}/{profile:?}: {e}");
    }
}

#[test]
fn invalid_combinations_are_clear_errors() {
    for (mode, mem) in [
        (Mode::Native, MemVirt::Shadow),
        (Mode::Trap, MemVirt::Nested),
        (Mode::Trap, MemVirt::None),
        (Mode::Hw, MemVirt::None),
        (Mode::Hw, MemVirt::Direct),
        (Mode::Bt, MemVirt::Nested),
        (Mode::Bt, MemVirt::None),
    ] {
        let err = config(mode, mem, Profile::Strict, 1, Probe::None)
            .validate()
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(mode.valid_mem()) && err.contains(mem.name()),
            "{err}"
        );
    }
    // bt (issue 7) and pv (issue 6) are available: their default memory
    // options validate.
    for mode in [Mode::Bt, Mode::Pv] {
        assert!(
            config(mode, mode.default_mem(), Profile::Strict, 1, Probe::None)
                .validate()
                .is_ok(),
            "{mode}"
        );
    }
}
