//! Event counters: cheap enough to leave on (retired instructions are counted
//! per block, not per instruction), and the raw material of the cost model.

use vmlab_isa::Exception;
use vmlab_isa::csr::irq;

use crate::exit::Exit;

/// Everything the machine counts. A snapshot: [`Machine::counters`](crate::Machine::counters).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Counters {
    /// Instructions retired, indexed `[guest_mode as usize][supervisor as usize]`.
    pub retired: [[u64; 2]; 2],
    /// Instructions the host emulated and retired with `retire_emulated`/`complete_in`.
    pub emulated: u64,
    /// Guest trap entries for exceptions, indexed by `Exception::code()`.
    pub traps: [u64; 13],
    /// Interrupts delivered (trap entries), indexed by `irq::*`.
    pub interrupts: [u64; 3],
    /// TLB lookups that hit.
    pub tlb_hits: u64,
    /// TLB lookups that missed (each one walks).
    pub tlb_misses: u64,
    /// One-dimensional walks (guest, shadow or direct tables).
    pub walks_1d: u64,
    /// Entries read by one-dimensional walks.
    pub walk_refs_1d: u64,
    /// Walks under nested paging (two-dimensional, or nested-only with paging off).
    pub walks_2d: u64,
    /// Entries read by those walks, nested references included.
    pub walk_refs_2d: u64,
    /// TLB flushes forced by world switches (untagged TLB, guest entry and exit).
    pub world_switch_flushes: u64,
    /// Exits returned by `run`, indexed by [`Exit::index`].
    pub exits: [u64; 15],
    /// Port accesses per device, in bus order (name, accesses).
    pub port_accesses: Vec<(&'static str, u64)>,
    /// Basic blocks decoded into the block cache.
    pub blocks_decoded: u64,
    /// Times cached code was invalidated by a store or a host write.
    pub code_invalidations: u64,
}

impl Counters {
    /// All instructions retired by the CPU (not counting host-emulated ones).
    pub fn retired_total(&self) -> u64 {
        self.retired.iter().flatten().sum()
    }

    /// Every counter as `(name, value)`, for reports. Zero entries are kept,
    /// so two listings line up.
    pub fn iter(&self) -> Vec<(&'static str, u64)> {
        const RETIRED: [[&str; 2]; 2] = [
            ["retired.host.user", "retired.host.supervisor"],
            ["retired.guest.user", "retired.guest.supervisor"],
        ];
        const TRAPS: [&str; 13] = [
            "trap.illegal-instruction",
            "trap.privileged-instruction",
            "trap.misaligned-fetch",
            "trap.misaligned-load",
            "trap.misaligned-store",
            "trap.fetch-page-fault",
            "trap.load-page-fault",
            "trap.store-page-fault",
            "trap.bus-error",
            "trap.divide-by-zero",
            "trap.syscall",
            "trap.breakpoint",
            "trap.hypercall",
        ];
        const EXITS: [&str; 15] = [
            "exit.halt",
            "exit.idle",
            "exit.port-in",
            "exit.port-out",
            "exit.privileged",
            "exit.exception",
            "exit.page-fault",
            "exit.nested-fault",
            "exit.protected-write",
            "exit.hypercall",
            "exit.interrupt-window",
            "exit.interrupt",
            "exit.budget",
            "exit.shutdown",
            "exit.callout",
        ];
        const IRQS: [&str; 3] = ["interrupt.timer", "interrupt.device", "interrupt.soft"];
        let mut v = Vec::with_capacity(64);
        for (g, row) in RETIRED.iter().enumerate() {
            for (s, name) in row.iter().enumerate() {
                v.push((*name, self.retired[g][s]));
            }
        }
        v.push(("retired.emulated", self.emulated));
        v.extend(TRAPS.iter().zip(self.traps).map(|(n, c)| (*n, c)));
        v.extend(IRQS.iter().zip(self.interrupts).map(|(n, c)| (*n, c)));
        v.extend([
            ("tlb.hits", self.tlb_hits),
            ("tlb.misses", self.tlb_misses),
            ("walk.1d", self.walks_1d),
            ("walk.1d.refs", self.walk_refs_1d),
            ("walk.2d", self.walks_2d),
            ("walk.2d.refs", self.walk_refs_2d),
            ("tlb.world-switch-flushes", self.world_switch_flushes),
        ]);
        v.extend(EXITS.iter().zip(self.exits).map(|(n, c)| (*n, c)));
        v.extend(self.port_accesses.iter().map(|(n, c)| (port_name(n), *c)));
        v.push(("blocks.decoded", self.blocks_decoded));
        v.push(("code.invalidations", self.code_invalidations));
        v
    }

    /// Exits of one kind so far.
    pub fn exits_of(&self, exit: &Exit) -> u64 {
        self.exits[exit.index()]
    }

    /// Guest trap entries for `e` so far.
    pub fn traps_of(&self, e: Exception) -> u64 {
        self.traps[e.code() as usize]
    }

    /// Interrupt deliveries from `source` (`irq::*`) so far.
    pub fn interrupts_of(&self, source: u32) -> u64 {
        self.interrupts
            .get(source.min(irq::COUNT - 1) as usize)
            .copied()
            .unwrap_or(0)
    }
}

/// The report name of a device's port counter.
fn port_name(device: &'static str) -> &'static str {
    match device {
        "console" => "port.console",
        "log" => "port.log",
        "power" => "port.power",
        "block" => "port.block",
        other => other,
    }
}
