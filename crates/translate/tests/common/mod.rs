//! Shared by the translator's tests: run a machine to the end with the
//! interpreter or the bt engine, with a tiny monitor that resolves callouts
//! by running the instruction as the hardware would (the machine's own
//! registers are the virtual CPU) and emulates protected writes; compare
//! the guest-visible results.
#![allow(dead_code)]

use vmlab_isa::{Instr, encode};
use vmlab_machine::{CpuState, Exit, HostPhys, Machine};
use vmlab_translate::{Backend, BtEngine, CalloutKind, NativeCpu, PortableBackend};

pub type Bt = BtEngine<PortableBackend, NativeCpu>;

pub fn bt() -> Bt {
    BtEngine::new(PortableBackend::new(), NativeCpu)
}

/// The bt engine over the x86-64 backend (resolving indirect jumps
/// itself, the most complex configuration), with host code for every block
/// at once (so short programs run it too).
#[cfg(target_arch = "x86_64")]
pub fn bt_x86() -> BtEngine<vmlab_translate::X86Backend, NativeCpu> {
    let mut b = vmlab_translate::X86Backend::with_indirect_caches();
    b.set_eager(true);
    BtEngine::new(b, NativeCpu)
}

/// The bt engine over the x86-64 backend as the monitor would use it
/// (every indirect jump returned to the engine; host code only for blocks
/// that ran `HOT_RUNS` times on the portable backend).
#[cfg(target_arch = "x86_64")]
pub fn bt_x86_plain() -> BtEngine<vmlab_translate::X86Backend, NativeCpu> {
    BtEngine::new(vmlab_translate::X86Backend::new(), NativeCpu)
}

/// Budget units spent: retired (and emulated) instructions plus trap
/// entries, the same whichever way a run is sliced.
pub fn spent(m: &Machine) -> u64 {
    let c = m.counters();
    m.instret() + c.traps.iter().sum::<u64>() + c.interrupts.iter().sum::<u64>()
}

/// The monitor's part of a protected write: do the store, retire it.
fn emulate_store(m: &mut Machine, hpa: u32, width: vmlab_isa::Width, value: u32) {
    let bytes = value.to_le_bytes();
    m.write_phys(HostPhys(hpa), &bytes[..width.bytes() as usize])
        .unwrap();
    m.retire_emulated();
}

/// Runs the interpreter until the guest stops or `limit` units are spent.
pub fn run_interp(m: &mut Machine, limit: u64) -> Exit {
    loop {
        let left = limit.saturating_sub(spent(m));
        if left == 0 {
            return Exit::BudgetExhausted;
        }
        match m.run(left) {
            Exit::ProtectedWrite {
                hpa, width, value, ..
            } => emulate_store(m, hpa.0, width, value),
            Exit::BudgetExhausted => continue,
            other => return other,
        }
    }
}

/// Runs the bt engine until the guest stops or `limit` units are spent.
pub fn run_bt<B: Backend>(m: &mut Machine, e: &mut BtEngine<B, NativeCpu>, limit: u64) -> Exit {
    loop {
        let left = limit.saturating_sub(spent(m));
        if left == 0 {
            return Exit::BudgetExhausted;
        }
        match m.run_with(e, left) {
            Exit::ProtectedWrite {
                hpa, width, value, ..
            } => emulate_store(m, hpa.0, width, value),
            Exit::Callout { id } => {
                let c = *e.last_callout().unwrap();
                assert_eq!(c.kind as u32, id);
                assert_eq!(c.pc, m.pc());
                if let Some(s) = c.store {
                    assert_eq!(c.kind, CalloutKind::PteWrite);
                    emulate_store(m, s.hpa, s.width, s.value);
                } else if let Some(exit) = m.engine_system(encode(&c.instr).unwrap()) {
                    return exit;
                }
            }
            Exit::BudgetExhausted => continue,
            other => return other,
        }
    }
}

/// What must be identical between engines.
#[derive(Debug, PartialEq, Eq)]
pub struct Outcome {
    pub exit: Exit,
    pub cpu: CpuState,
    pub ram: Vec<u8>,
    pub traps: [u64; 13],
    pub interrupts: [u64; 3],
    pub retired: u64,
    pub emulated: u64,
}

pub fn outcome(m: &Machine, exit: Exit) -> Outcome {
    let c = m.counters();
    let mut ram = vec![0; m.ram().len() as usize];
    m.read_phys(HostPhys(0), &mut ram).unwrap();
    Outcome {
        exit,
        cpu: m.cpu_state(),
        ram,
        traps: c.traps,
        interrupts: c.interrupts,
        retired: c.retired_total(),
        emulated: c.emulated,
    }
}

/// Writes `prog` at host address `addr`.
pub fn put(m: &mut Machine, addr: u32, prog: &[Instr]) {
    for (i, instr) in prog.iter().enumerate() {
        m.write_phys_u32(HostPhys(addr + 4 * i as u32), encode(instr).unwrap())
            .unwrap();
    }
}

/// Asserts two outcomes are equal, with a readable diff of the first
/// differing RAM byte.
pub fn assert_same(a: &Outcome, b: &Outcome) {
    if a.ram != b.ram {
        let i = a.ram.iter().zip(&b.ram).position(|(x, y)| x != y).unwrap();
        panic!(
            "RAM differs first at {i:#x}: interp {:#x}, bt {:#x}",
            a.ram[i], b.ram[i]
        );
    }
    assert_eq!(a.exit, b.exit, "exit");
    assert_eq!(a.cpu, b.cpu, "cpu state");
    assert_eq!(a.traps, b.traps, "traps");
    assert_eq!(a.interrupts, b.interrupts, "interrupts");
    assert_eq!(a.retired, b.retired, "retired");
    assert_eq!(a.emulated, b.emulated, "emulated");
}
