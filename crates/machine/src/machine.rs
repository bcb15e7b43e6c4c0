//! The machine: CPU, MMU, bus and controls, and the host's interface to them.

use std::fmt;

use vmlab_asm::Image;
use vmlab_isa::csr::{irq, status};
use vmlab_isa::{Cause, Csr, Profile, Reg, Width};

use crate::addr::HostPhys;
use crate::block::BlockCache;
use crate::bus::Bus;
use crate::controls::Controls;
use crate::counters::Counters;
use crate::cpu::{Cpu, CpuState, Mode};
use crate::devices::Disk;
use crate::engine::Engine;
use crate::error::MachineError;
use crate::exec::Stop;
use crate::exit::Exit;
use crate::interp::Interpreter;
use crate::mmu::Mmu;
use crate::physmap::PhysMap;
use crate::ram::Ram;

/// How to build a [`Machine`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MachineConfig {
    /// Host RAM in bytes: a non-zero multiple of 4096, at most 1 GiB.
    pub ram_bytes: u64,
    /// TLB entries: a power of two, 1..=65536.
    pub tlb_entries: usize,
    /// Tag TLB entries with an address-space id (VPID) instead of flushing
    /// on every world switch.
    pub tlb_tagged: bool,
    /// The ISA profile (which sensitive instructions are privileged).
    pub profile: Profile,
    /// Sectors of the standard bus's (empty, in-memory) disk.
    pub disk_sectors: u32,
}

impl Default for MachineConfig {
    /// 16 MiB of RAM, a 64-entry untagged TLB, the strict profile, a 1 MiB disk.
    fn default() -> MachineConfig {
        MachineConfig {
            ram_bytes: 16 << 20,
            tlb_entries: 64,
            tlb_tagged: false,
            profile: Profile::Strict,
            disk_sectors: 2048,
        }
    }
}

/// The emulated machine.
pub struct Machine {
    pub(crate) cpu: Cpu,
    pub(crate) mmu: Mmu,
    pub(crate) bus: Bus,
    pub(crate) controls: Controls,
    pub(crate) counters: Counters,
    pub(crate) blocks: Option<BlockCache>,
    pub(crate) config: MachineConfig,
    /// The run ends when instret reaches this (traps pull it in by one each).
    pub(crate) budget_end: u64,
    /// The next instret at which the interpreter looks at events; 0 forces a look.
    pub(crate) check_at: u64,
    /// The bus's interrupt line, cached after each port access and run entry.
    pub(crate) dev_line: bool,
    /// 0 in supervisor mode, 3 in user mode: shifts a TLB permission bit.
    pub(crate) need_shift: u32,
    /// The destination of the `in` that last exited, for `complete_in`.
    pub(crate) pending_in: Option<(Reg, Width)>,
    /// `[guest_mode][supervisor]` of `Counters::retired`, as a flat index.
    pub(crate) retire_at: usize,
    /// Why the interpreter's threaded code last stopped short.
    pub(crate) stopped: Stop,
}

impl fmt::Debug for Machine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Machine")
            .field("cpu", &self.cpu.save())
            .field("mem_mode", &self.mmu.mode)
            .field("ram_bytes", &self.mmu.ram.len())
            .field("controls", &self.controls)
            .finish_non_exhaustive()
    }
}

impl Machine {
    /// A machine in its reset state: supervisor mode, interrupts off, pc 0,
    /// RAM zeroed and identity-mapped, the standard bus.
    pub fn new(config: MachineConfig) -> Result<Machine, MachineError> {
        let t = config.tlb_entries;
        if !t.is_power_of_two() || t > 65536 {
            return Err(MachineError::TlbSize { entries: t });
        }
        let ram = Ram::new(config.ram_bytes)?;
        let physmap = PhysMap::identity(ram.frames());
        let mut m = Machine {
            cpu: Cpu::new(),
            mmu: Mmu::new(ram, physmap, t),
            bus: Bus::standard(Disk::new(config.disk_sectors)),
            controls: Controls::default(),
            counters: Counters::default(),
            blocks: Some(BlockCache::new()),
            config,
            budget_end: 0,
            check_at: 0,
            dev_line: false,
            need_shift: 0,
            pending_in: None,
            retire_at: 0,
            stopped: Stop::Exit(Exit::Halt),
        };
        m.status_changed();
        Ok(m)
    }

    /// A bare machine running `image`: identity PhysMap, standard bus, each
    /// segment loaded at its address, pc = the entry, supervisor mode,
    /// interrupts off.
    pub fn bare_metal(image: &Image, config: MachineConfig) -> Result<Machine, MachineError> {
        let mut m = Machine::new(config)?;
        for (index, seg) in image.segments.iter().enumerate() {
            let addr = HostPhys(seg.addr);
            if !m.mmu.ram.contains(addr, seg.data.len()) {
                return Err(MachineError::SegmentOutOfRam {
                    index,
                    addr: seg.addr,
                    len: seg.data.len(),
                    ram_bytes: m.mmu.ram.len(),
                });
            }
            m.write_phys(addr, &seg.data)?;
        }
        m.cpu.pc = image.entry;
        Ok(m)
    }

    /// The configuration the machine was built with.
    pub fn config(&self) -> &MachineConfig {
        &self.config
    }

    /// The ISA profile.
    pub fn profile(&self) -> Profile {
        self.config.profile
    }

    // ---- running ----

    /// Runs the interpreter for at most `budget` instructions (a trap entry
    /// counts as one) and returns why it stopped.
    pub fn run(&mut self, budget: u64) -> Exit {
        Interpreter.run(self, budget)
    }

    /// Runs `engine` for at most `budget` instructions.
    pub fn run_with(&mut self, engine: &mut dyn Engine, budget: u64) -> Exit {
        engine.run(self, budget)
    }

    /// World-switch entry and run setup, for engines: in guest mode an
    /// untagged TLB is flushed (and counted); the TLB's address space is
    /// selected; the budget starts.
    pub fn begin_run(&mut self, budget: u64) {
        let guest = self.controls.guest_mode;
        if guest && !self.config.tlb_tagged {
            self.mmu.tlb.flush_all();
            self.counters.world_switch_flushes += 1;
        }
        let asid = if guest && self.config.tlb_tagged {
            self.controls.vpid
        } else {
            0
        };
        self.mmu.tlb.set_asid(asid);
        self.budget_end = self.cpu.instret.saturating_add(budget);
        self.dev_line = self.bus.irq_pending();
        self.status_changed();
    }

    /// World-switch exit and exit accounting, for engines: in guest mode an
    /// untagged TLB is flushed again; the exit is counted by reason.
    pub fn end_run(&mut self, exit: Exit) -> Exit {
        if self.controls.guest_mode && !self.config.tlb_tagged {
            self.mmu.tlb.flush_all();
            self.counters.world_switch_flushes += 1;
        }
        self.counters.exits[exit.index()] += 1;
        exit
    }

    // ---- completing exits ----

    /// Finishes the `in` of the last `Exit::PortIn`: writes `value`
    /// (truncated to the access width) to its register and retires it.
    pub fn complete_in(&mut self, value: u32) -> Result<(), MachineError> {
        let (rd, width) = self.pending_in.take().ok_or(MachineError::NoPendingIn)?;
        self.cpu.set_reg(rd, crate::bus::truncate(value, width));
        self.retire_emulated();
        Ok(())
    }

    /// The host emulated the instruction at pc: pc += 4, instret += 1
    /// (emulated instructions count as retired, so the timer sees them).
    pub fn retire_emulated(&mut self) {
        self.pending_in = None;
        self.cpu.pc = self.cpu.pc.wrapping_add(4);
        self.cpu.instret += 1;
        self.counters.emulated += 1;
    }

    /// Performs the guest trap entry for `cause` now (reflect an exception,
    /// inject an interrupt): epc = pc, pc = tvec, supervisor mode, IE off.
    pub fn inject(&mut self, cause: Cause, badaddr: u32) {
        self.pending_in = None;
        match cause {
            Cause::Exception(e) => {
                self.counters.traps[e.code() as usize] += 1;
                self.enter_trap(e.code(), badaddr);
            }
            Cause::Interrupt(source) => {
                self.counters.interrupts[source.min(irq::COUNT - 1) as usize] += 1;
                self.enter_trap(cause.code(), badaddr);
            }
        }
    }

    /// Raises a host-side interrupt source: sets the `ipend` bit of `source`
    /// (`irq::DEVICE` or `irq::SOFT`; the timer line is instret >= timecmp
    /// and cannot be raised).
    pub fn raise_irq(&mut self, source: u32) {
        if source == irq::DEVICE || source == irq::SOFT {
            self.cpu.csrs[Csr::IPend.index()] |= 1 << source;
        }
        self.check_at = 0;
    }

    /// Clears a host-raised interrupt bit.
    pub fn lower_irq(&mut self, source: u32) {
        if source < irq::COUNT {
            self.cpu.csrs[Csr::IPend.index()] &= !(1 << source);
        }
        self.check_at = 0;
    }

    // ---- CPU state ----

    /// A general register.
    pub fn reg(&self, r: Reg) -> u32 {
        self.cpu.regs[r.index()]
    }

    /// Writes a general register (writes to `r0` are ignored).
    pub fn set_reg(&mut self, r: Reg, value: u32) {
        self.cpu.set_reg(r, value);
    }

    /// The program counter.
    pub fn pc(&self) -> u32 {
        self.cpu.pc
    }

    /// Sets the program counter.
    pub fn set_pc(&mut self, pc: u32) {
        self.cpu.pc = pc;
        self.pending_in = None;
    }

    /// A control register as stored (the guest copy in guest mode; no read
    /// masks applied). Counters read `instret`; `ipend` includes the timer
    /// and device lines.
    pub fn csr(&self, csr: Csr) -> u32 {
        let now = self.cpu.instret;
        match csr {
            Csr::InstRet | Csr::Cycle => now as u32,
            Csr::InstRetH | Csr::CycleH => (now >> 32) as u32,
            Csr::IPend => self.cpu.pending(self.bus.irq_pending(), now),
            c => self.cpu.csr(c),
        }
    }

    /// Writes a control register as the host (no exit controls, no masks).
    /// Writing a counter sets that half of `instret`.
    pub fn set_csr(&mut self, csr: Csr, value: u32) {
        let i = csr.index();
        let v = u64::from(value);
        match csr {
            Csr::InstRet | Csr::Cycle => {
                self.cpu.instret = (self.cpu.instret & !0xFFFF_FFFF) | v;
            }
            Csr::InstRetH | Csr::CycleH => {
                self.cpu.instret = (self.cpu.instret & 0xFFFF_FFFF) | (v << 32);
            }
            Csr::Status => self.cpu.csrs[i] = value & status::WRITABLE,
            Csr::IPend => self.cpu.csrs[i] = value & ((1 << irq::DEVICE) | (1 << irq::SOFT)),
            Csr::IEnable => self.cpu.csrs[i] = value & irq::MASK,
            Csr::Prio => self.cpu.csrs[i] = value & 0xF,
            _ => self.cpu.csrs[i] = value,
        }
        self.status_changed();
    }

    /// The retired-instruction counter.
    pub fn instret(&self) -> u64 {
        self.cpu.instret
    }

    /// The current privilege mode.
    pub fn mode(&self) -> Mode {
        if self.cpu.user() {
            Mode::User
        } else {
            Mode::Supervisor
        }
    }

    /// A copy of the architectural CPU state.
    pub fn cpu_state(&self) -> CpuState {
        self.cpu.save()
    }

    /// Replaces the architectural CPU state (a monitor switching virtual CPUs).
    pub fn set_cpu_state(&mut self, state: &CpuState) {
        self.cpu.restore(state);
        self.pending_in = None;
        self.status_changed();
    }

    // ---- devices, controls, counters ----

    /// The port bus.
    pub fn bus(&self) -> &Bus {
        &self.bus
    }

    /// The port bus, mutably (push console input, swap devices).
    pub fn bus_mut(&mut self) -> &mut Bus {
        self.check_at = 0;
        &mut self.bus
    }

    /// The exit controls.
    pub fn controls(&self) -> &Controls {
        &self.controls
    }

    /// The exit controls, mutably.
    pub fn controls_mut(&mut self) -> &mut Controls {
        self.check_at = 0;
        &mut self.controls
    }

    /// A snapshot of the counters (TLB, walks and port accesses included).
    pub fn counters(&self) -> Counters {
        let mut c = self.counters.clone();
        c.tlb_hits = self.mmu.tlb.hits;
        c.tlb_misses = self.mmu.tlb.misses;
        c.walks_1d = self.mmu.walks_1d;
        c.walks_2d = self.mmu.walks_2d;
        c.walk_refs_1d = self.mmu.refs_1d;
        c.walk_refs_2d = self.mmu.refs_2d;
        c.port_accesses = self
            .bus
            .devices()
            .map(|(id, _, _, dev)| (dev.name(), self.bus.accesses()[id.0]))
            .collect();
        c
    }

    /// Zeroes the counters (the bus's port counts are the bus's own).
    pub fn reset_counters(&mut self) {
        self.counters = Counters::default();
        self.mmu.tlb.hits = 0;
        self.mmu.tlb.misses = 0;
        self.mmu.walks_1d = 0;
        self.mmu.walks_2d = 0;
        self.mmu.refs_1d = 0;
        self.mmu.refs_2d = 0;
    }

    /// Drops every cached block (they would be re-decoded anyway on a code
    /// change; this is for measurements).
    pub fn flush_code_cache(&mut self) {
        if let Some(blocks) = &mut self.blocks {
            blocks.clear();
        }
    }
}
