//! Helpers for the monitor's tests, around the demo kernel (`vmlab_monitor::demo`).
#![allow(dead_code)]

pub mod hostile;

use vmlab_isa::Profile;
#[allow(unused_imports)]
pub use vmlab_monitor::demo::{Probe, boot, expected};
use vmlab_monitor::{MemVirt, Mode, RunReport, RunState, Vm, VmConfig};

/// A configuration.
pub fn config(mode: Mode, mem: MemVirt, profile: Profile, iters: u32, probe: Probe) -> VmConfig {
    let mut c = VmConfig::new(boot(iters, probe), mode);
    c.mem = mem;
    c.profile = profile;
    c
}

/// Runs a configuration to the end (at most 10^7 instructions).
pub fn run(config: VmConfig) -> RunReport {
    let mut host = Vm::host_for(&config).expect("host");
    let mut vm = Vm::new(&mut host, config).expect("vm");
    let state = vm.run(&mut host, 10_000_000).expect("run");
    assert!(
        matches!(state, RunState::Finished(_)),
        "did not finish: {:?}",
        vm.report()
    );
    vm.report()
}

/// Every configuration of the equivalence table.
pub fn table() -> Vec<(Mode, MemVirt, Profile)> {
    vec![
        (Mode::Native, MemVirt::None, Profile::Strict),
        (Mode::Trap, MemVirt::Shadow, Profile::Strict),
        (Mode::Hw, MemVirt::Shadow, Profile::Strict),
        (Mode::Hw, MemVirt::Nested, Profile::Strict),
        (Mode::Native, MemVirt::None, Profile::Legacy),
        (Mode::Hw, MemVirt::Shadow, Profile::Legacy),
        (Mode::Hw, MemVirt::Nested, Profile::Legacy),
    ]
}
