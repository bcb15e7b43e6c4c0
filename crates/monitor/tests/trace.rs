//! `--trace exits`: a line per exit with reason, pc, source line, what the
//! monitor did and its modeled cost.

mod common;

use std::cell::RefCell;
use std::rc::Rc;

use common::*;
use vmlab_isa::Profile;
use vmlab_monitor::{MemVirt, Mode, TraceLine, Vm};

fn trace(mode: Mode, mem: MemVirt, profile: Profile) -> Vec<TraceLine> {
    let cfg = config(mode, mem, profile, 10, Probe::None);
    let mut host = Vm::host_for(&cfg).unwrap();
    let mut vm = Vm::new(&mut host, cfg).unwrap();
    let lines = Rc::new(RefCell::new(Vec::new()));
    let sink = lines.clone();
    vm.set_tracer(move |l| sink.borrow_mut().push(l.clone()));
    vm.run(&mut host, 1_000_000).unwrap();
    lines.borrow().clone()
}

#[test]
fn trap_mode_trace_names_reason_pc_source_action_and_cost() {
    let lines = trace(Mode::Trap, MemVirt::Shadow, Profile::Strict);
    let csrw = lines
        .iter()
        .find(|l| l.did.starts_with("emulated csrw tvec"))
        .expect("the tvec write traps");
    assert_eq!(csrw.reason, "privileged-instruction");
    assert!(csrw.source.is_some(), "{csrw}");
    assert_eq!(
        csrw.cycles,
        889 + 100,
        "monitor_trap + monitor_emulate under p4-2006"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.reason == "syscall" && l.did.contains("reflected syscall"))
    );
    assert!(
        lines
            .iter()
            .any(|l| l.reason == "page-fault" && l.did.contains("hidden fault"))
    );
    assert!(lines.iter().any(|l| l.reason == "protected-write"));
    for l in lines.iter().take(12) {
        println!("{l}");
    }
}

#[test]
fn hw_trace_shows_port_exits_only_with_nested_paging() {
    let lines = trace(Mode::Hw, MemVirt::Nested, Profile::Strict);
    assert!(
        lines
            .iter()
            .all(|l| l.reason == "port-out" || l.reason == "interrupt"),
        "{lines:?}"
    );
    assert!(
        lines
            .iter()
            .all(|l| l.reason != "port-out" || l.cycles == 15_646 + 180)
    );
}

#[test]
fn legacy_trap_trace_shows_the_kernel_never_trapping_on_getf() {
    let lines = trace(Mode::Trap, MemVirt::Shadow, Profile::Legacy);
    for l in &lines {
        println!("{l}");
    }
    assert!(
        lines.iter().all(|l| !l.did.contains("getf")),
        "getf never reaches the monitor"
    );
}
