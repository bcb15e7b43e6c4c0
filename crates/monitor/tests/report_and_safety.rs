//! The JSON report's fields, and the monitor's safety against a guest that
//! runs garbage.

mod common;

use common::*;
use vmlab_isa::{Instr, Profile, encode};
use vmlab_monitor::{BootImage, MemVirt, Mode, Vm, VmConfig};

#[test]
fn the_json_report_has_the_documented_fields() {
    let r = run(config(
        Mode::Hw,
        MemVirt::Shadow,
        Profile::Strict,
        100,
        Probe::None,
    ));
    let json: serde_json::Value = serde_json::to_value(&r).unwrap();
    for key in [
        "workload",
        "mode",
        "profile",
        "mem",
        "io",
        "hosted",
        "engine",
        "cost",
        "console",
        "exit_code",
        "guest_instructions",
        "modeled_cycles",
        "breakdown",
        "counters",
        "efficiency",
        "host_ns",
    ] {
        assert!(json.get(key).is_some(), "missing {key}");
    }
    assert_eq!(json["io"], "emulated");
    assert_eq!(json["hosted"], false);
    assert_eq!(json["cost"], "p4-2006");
    assert!(json["counters"]["exits"].is_object());
    assert_eq!(json["counters"]["exits"]["port-out"], 5);
    assert_eq!(json["counters"]["callouts"], 0);
    assert_eq!(json["breakdown"]["total"], json["modeled_cycles"]);
}

#[test]
fn modeled_cycles_follow_the_flow_table() {
    // native: each port access is a device_native.
    let n = run(config(
        Mode::Native,
        MemVirt::None,
        Profile::Strict,
        100,
        Probe::None,
    ));
    assert_eq!(n.breakdown.count(vmlab_monitor::Event::DeviceNative), 5);
    assert_eq!(n.io, "device");
    // trap: every trap is a monitor_trap, never a vm_exit.
    let t = run(config(
        Mode::Trap,
        MemVirt::Shadow,
        Profile::Strict,
        100,
        Probe::None,
    ));
    assert_eq!(
        t.breakdown.count(vmlab_monitor::Event::MonitorTrap),
        t.counters.exits_total
    );
    assert_eq!(t.breakdown.count(vmlab_monitor::Event::VmExit), 0);
    // hw: every exit is a vm_exit; an untagged TLB is flushed at each world switch.
    let h = run(config(
        Mode::Hw,
        MemVirt::Nested,
        Profile::Strict,
        100,
        Probe::None,
    ));
    assert_eq!(
        h.breakdown.count(vmlab_monitor::Event::VmExit),
        h.counters.exits_total
    );
    assert!(h.counters.tlb_flushes >= 2 * h.counters.exits_total);
}

/// A deterministic stream of words, half of them valid instructions.
fn garbage(seed: u64, words: usize) -> Vec<u8> {
    let mut x = seed;
    let mut out = Vec::with_capacity(words * 4);
    for i in 0..words {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let w = (x >> 32) as u32;
        let word = if i % 2 == 0 {
            w
        } else {
            // Bias toward privileged instructions, stores and csr writes.
            let choices = [
                encode(&Instr::Csrw {
                    csr: vmlab_isa::Csr::ALL[(w % 12) as usize],
                    rs1: vmlab_isa::Reg::new((w >> 8) as u8 % 16).unwrap(),
                })
                .unwrap(),
                encode(&Instr::Sret).unwrap(),
                encode(&Instr::Syscall).unwrap(),
                w & 0x4AFF_FFFF,
            ];
            choices[(w >> 28) as usize % 4]
        };
        out.extend_from_slice(&word.to_le_bytes());
    }
    out
}

#[test]
fn a_guest_running_garbage_never_makes_the_monitor_fail() {
    for seed in 0..12u64 {
        for (mode, mem, profile) in table() {
            let boot = BootImage {
                chunks: vec![(0, garbage(seed, 16_384))],
                entry: 0,
                lines: vec![],
            };
            let mut cfg = VmConfig::new(boot, mode);
            cfg.mem = mem;
            cfg.profile = profile;
            cfg.ram_bytes = 256 << 10;
            let mut host = Vm::host_for(&cfg).unwrap();
            let mut vm = Vm::new(&mut host, cfg).unwrap();
            let r = vm.run(&mut host, 200_000);
            assert!(r.is_ok(), "seed {seed} {mode}/{mem}: {r:?}");
        }
    }
}
