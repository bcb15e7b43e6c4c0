//! What a VM starts with, per mode: its CPU state and exit controls, and
//! the helpers that load its memory and add up its counters.

use vmlab_isa::Csr;
use vmlab_isa::Exception;
use vmlab_isa::csr::status;
use vmlab_machine::{Controls, Counters, CpuState};

use crate::config::{MemVirt, Mode, VmConfig};

/// The CPU state and controls a VM starts with, per mode.
pub(crate) fn initial_cpu(config: &VmConfig) -> (CpuState, Controls) {
    let mut csrs = [0; 16];
    let mut controls = Controls::default();
    match config.mode {
        Mode::Native => csrs[Csr::Status.index()] = status::MODE,
        Mode::Trap | Mode::Bt | Mode::Pv => {
            // Deprivileged: the real CPU in user mode (the virtual CPU says
            // supervisor); every exception and interrupt goes to the monitor.
            csrs[Csr::Status.index()] = 0;
            controls.exception_exits = (1 << Exception::ALL.len()) - 1;
            controls.interrupt_exits = true;
        }
        Mode::Hw => {
            csrs[Csr::Status.index()] = status::MODE;
            controls.guest_mode = true;
            controls.interrupt_exits = true;
            controls.port_exits.set_all(true);
            controls.halt_exits = false;
            controls.wfi_exits = true;
            controls.vpid = 1;
            if config.mem == MemVirt::Shadow {
                controls.ptbr_exits = true;
                controls.tlbflush_exits = true;
                // The monitor owns status.PG: turning paging on or off must
                // switch shadow tables.
                controls.csr_read_mask[Csr::Status.index()] = status::PG;
                controls.csr_write_mask[Csr::Status.index()] = status::PG;
            }
        }
    }
    if config.mode == Mode::Bt {
        // bt: the machine's privilege is the virtual one; the kernel's code
        // runs translated in supervisor mode (modes/bt.rs).
        csrs[Csr::Status.index()] = status::MODE;
    }
    let cpu = CpuState {
        regs: [0; 16],
        pc: config.boot.entry,
        csrs,
        instret: 0,
    };
    (cpu, controls)
}

/// Splits `data` at `addr` into pieces that do not cross a page.
pub(crate) fn chunks_by_page(addr: u32, data: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let mut rest = data;
    let mut at = addr;
    while !rest.is_empty() {
        let room = (4096 - (at & 0xFFF)) as usize;
        let (a, b) = rest.split_at(room.min(rest.len()));
        out.push(a);
        rest = b;
        at = at.wrapping_add(a.len() as u32);
    }
    out
}

/// `acc += c`, field by field (port counts live on the VM's own bus).
pub(crate) fn add_counters(acc: &mut Counters, c: &Counters) {
    for g in 0..2 {
        for s in 0..2 {
            acc.retired[g][s] += c.retired[g][s];
        }
    }
    acc.emulated += c.emulated;
    for (a, b) in acc.traps.iter_mut().zip(c.traps) {
        *a += b;
    }
    for (a, b) in acc.interrupts.iter_mut().zip(c.interrupts) {
        *a += b;
    }
    for (a, b) in acc.exits.iter_mut().zip(c.exits) {
        *a += b;
    }
    acc.tlb_hits += c.tlb_hits;
    acc.tlb_misses += c.tlb_misses;
    acc.walks_1d += c.walks_1d;
    acc.walk_refs_1d += c.walk_refs_1d;
    acc.walks_2d += c.walks_2d;
    acc.walk_refs_2d += c.walk_refs_2d;
    acc.world_switch_flushes += c.world_switch_flushes;
    acc.blocks_decoded += c.blocks_decoded;
    acc.code_invalidations += c.code_invalidations;
}
