//! A virtual machine: its frames, saved CPU state, devices, virtual CPU,
//! memory virtualization and counters, and the run loop that hands each
//! exit to the mode's monitor.

use std::time::Instant;

use vmlab_machine::bus::Bus;
use vmlab_machine::devices::{Console, Disk, Log};
use vmlab_machine::{Controls, Counters, CpuState, Exit, HostPhys, Machine, MemMode, PhysMap};

use crate::config::{MemVirt, Mode, VmConfig};
use crate::cost::{Breakdown, Event};
use crate::error::MonitorError;
use crate::handler::{Action, ExitHandler, Outcome, VmCtx};
use crate::host::{Host, HostConfig, VmId};
use crate::modes::default_handler;
use crate::nested;
use crate::setup::{add_counters, chunks_by_page, initial_cpu};
use crate::shadow::ShadowPager;
use crate::stats::{Stats, exit_name};
use crate::trace::{TraceLine, Tracer};
use crate::vcpu::Vcpu;

/// Whether a run call finished the guest.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunState {
    /// The budget ran out; call `run` again to continue.
    Running,
    /// The guest is done.
    Finished(Outcome),
}

/// What the machine holds for a VM while it runs, saved while it does not.
#[derive(Debug)]
struct Saved {
    cpu: CpuState,
    controls: Controls,
    mem_mode: MemMode,
    /// The VM's device models (console, log, power, block) on its own bus.
    bus: Bus,
}

/// The monitor's state for one VM (what a handler reaches through [`VmCtx`]).
#[derive(Debug)]
pub struct VmState {
    pub(crate) id: VmId,
    pub(crate) config: VmConfig,
    /// Guest frame `i` is host frame `frames[i]`.
    pub(crate) frames: Vec<u32>,
    /// Frames for the monitor's own tables (nested table, or the shadow pool).
    pub(crate) table_frames: Vec<u32>,
    pub(crate) vcpu: Vcpu,
    pub(crate) shadow: Option<ShadowPager>,
    pub(crate) stats: Stats,
    /// Monitor events priced as they happen.
    pub(crate) cycles: Breakdown,
    /// Machine counters of every finished run call.
    pub(crate) counters: Counters,
    pub(crate) outcome: Option<Outcome>,
    pub(crate) host_ns: u128,
    pub(crate) tracing: bool,
    pub(crate) note: String,
    /// pv mode: trap table, timer, pinned frames (modes/pv.rs, pv/).
    pub(crate) pv: Option<crate::pv::PvState>,
    /// The rings (io pv) and the hosted device thread.
    pub(crate) io: crate::io::IoState,
    /// Why the monitor stopped the VM (an `Outcome::GuestError`).
    pub(crate) stop_reason: Option<String>,
    /// The bt engine (bt mode only).
    pub(crate) bt: Option<crate::modes::bt::BtState>,
    /// `--engine jit` outside bt mode: the translator running all guest
    /// code with the machine's own CSRs as its virtual CPU.
    pub(crate) jit: Option<vmlab_translate::JitEngine>,
}

/// A virtual machine on a [`Host`].
pub struct Vm {
    state: VmState,
    saved: Saved,
    handler: Box<dyn ExitHandler>,
    tracer: Option<Tracer>,
}

impl std::fmt::Debug for Vm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Vm")
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

impl Vm {
    /// A host sized for one VM of `config` (its RAM, its monitor frames and
    /// some slack), with the profile and TLB tagging the config asks for.
    pub fn host_for(config: &VmConfig) -> Result<Host, MonitorError> {
        let frames = u64::from(config.guest_frames() + config.monitor_frames + 16);
        Host::new(&HostConfig {
            ram_bytes: frames * 4096,
            profile: config.profile,
            tlb_tagged: config.cost.tlb_tagged,
            ..HostConfig::default()
        })
    }

    /// Builds and boots a VM on `host` with the mode's built-in monitor.
    pub fn new(host: &mut Host, config: VmConfig) -> Result<Vm, MonitorError> {
        let handler = default_handler(config.mode);
        Vm::with_handler(host, config, handler)
    }

    /// Builds and boots a VM whose exits go to `handler` (a student monitor).
    pub fn with_handler(
        host: &mut Host,
        config: VmConfig,
        handler: Box<dyn ExitHandler>,
    ) -> Result<Vm, MonitorError> {
        config.validate()?;
        let frames = host.alloc(config.guest_frames() as usize)?;
        Vm::build(host, config, frames, handler)
    }

    /// Builds a VM on exactly the host frames `frames` (guest frame `i` on
    /// `frames[i]`): for showing that guest memory need not be contiguous.
    pub fn with_frames(
        host: &mut Host,
        config: VmConfig,
        frames: Vec<u32>,
    ) -> Result<Vm, MonitorError> {
        config.validate()?;
        if frames.len() != config.guest_frames() as usize {
            return Err(MonitorError::Config(format!(
                "{} frames given for {} bytes of guest RAM",
                frames.len(),
                config.ram_bytes
            )));
        }
        host.claim(&frames)?;
        let handler = default_handler(config.mode);
        Vm::build(host, config, frames, handler)
    }

    fn build(
        host: &mut Host,
        config: VmConfig,
        frames: Vec<u32>,
        handler: Box<dyn ExitHandler>,
    ) -> Result<Vm, MonitorError> {
        if config.profile != host.machine.profile() {
            return Err(MonitorError::Config(format!(
                "the VM wants the {:?} profile but the host machine is {:?}",
                config.profile,
                host.machine.profile()
            )));
        }
        let table_count = match config.mem {
            MemVirt::Nested => nested::frames_needed(config.guest_frames()),
            MemVirt::Shadow => config.monitor_frames.max(4),
            _ => 0,
        };
        let table_frames = match host.alloc(table_count as usize) {
            Ok(t) => t,
            Err(e) => {
                host.release(&frames);
                return Err(e);
            }
        };
        let id = host.next_id();
        let (cpu, controls) = initial_cpu(&config);
        let cycles = Breakdown::new(&config.cost);
        let bt = crate::modes::bt::BtState::for_config(&config);
        let jit = (bt.is_none() && config.engine == crate::config::Engine::Jit).then(|| {
            let mut j = vmlab_translate::JitEngine::new();
            // In guest mode (hw, pv) the exit controls decide what a
            // sensitive instruction does: no inline operations.
            j.set_direct_execution(matches!(config.mode, Mode::Hw | Mode::Pv));
            j
        });
        let mut vm = Vm {
            state: VmState {
                id,
                config,
                frames,
                table_frames,
                vcpu: Vcpu::default(),
                shadow: None,
                stats: Stats::default(),
                cycles,
                counters: Counters::default(),
                outcome: None,
                host_ns: 0,
                tracing: false,
                note: String::new(),
                pv: None,
                io: crate::io::IoState::default(),
                stop_reason: None,
                bt,
                jit,
            },
            saved: Saved {
                cpu,
                controls,
                mem_mode: MemMode::Physical,
                bus: Bus::standard(Disk::new(crate::workload::DISK_SECTORS)),
            },
            handler,
            tracer: None,
        };
        vm.boot(host)?;
        Ok(vm)
    }

    /// Loads the boot image and sets up the memory virtualization.
    fn boot(&mut self, host: &mut Host) -> Result<(), MonitorError> {
        let ram = self.state.config.ram_bytes;
        for (addr, data) in &self.state.config.boot.chunks {
            let end = u64::from(*addr) + data.len() as u64;
            if end > u64::from(ram) {
                return Err(MonitorError::Boot {
                    addr: *addr,
                    len: data.len(),
                    ram_bytes: ram,
                });
            }
            let mut at = *addr;
            for piece in chunks_by_page(*addr, data) {
                let host_frame = self.state.frames[(at >> 12) as usize];
                host.machine
                    .write_phys(HostPhys((host_frame << 12) | (at & 0xFFF)), piece)?;
                at += piece.len() as u32;
            }
        }
        self.switch_in(host)?;
        let result = self.setup_memory(&mut host.machine);
        self.switch_out(host);
        result
    }

    fn setup_memory(&mut self, m: &mut Machine) -> Result<(), MonitorError> {
        match self.state.config.mem {
            MemVirt::None | MemVirt::Direct => {}
            MemVirt::Nested => {
                let root = nested::build(m, &self.state.frames, &self.state.table_frames)?;
                m.set_mem_mode(MemMode::Nested { root });
            }
            MemVirt::Shadow => {
                self.state.shadow = Some(ShadowPager::new(self.state.table_frames.clone()));
                VmCtx {
                    m,
                    vm: &mut self.state,
                }
                .activate_shadow()?;
            }
        }
        crate::pv::setup(&mut VmCtx {
            m,
            vm: &mut self.state,
        })
    }

    /// Puts this VM on the machine: PhysMap, controls, memory mode, CPU
    /// state and devices. The TLB is flushed if another VM ran last.
    fn switch_in(&mut self, host: &mut Host) -> Result<(), MonitorError> {
        let m = &mut host.machine;
        m.reset_counters();
        m.set_physmap(PhysMap::from_frames(self.state.frames.clone()))?;
        *m.controls_mut() = self.saved.controls.clone();
        m.set_mem_mode(self.saved.mem_mode);
        m.set_cpu_state(&self.saved.cpu);
        std::mem::swap(m.bus_mut(), &mut self.saved.bus);
        if host.last_vm != Some(self.state.id) {
            m.flush_tlb();
            host.last_vm = Some(self.state.id);
        }
        Ok(())
    }

    /// Takes this VM off the machine, adding the machine's counters to its own.
    fn switch_out(&mut self, host: &mut Host) {
        let m = &mut host.machine;
        self.saved.cpu = m.cpu_state();
        self.saved.controls = m.controls().clone();
        self.saved.mem_mode = m.mem_mode();
        std::mem::swap(m.bus_mut(), &mut self.saved.bus);
        add_counters(&mut self.state.counters, &m.counters());
    }

    /// Runs the guest for about `budget` instructions (each exit uses at
    /// least one), handing every exit to the monitor.
    pub fn run(&mut self, host: &mut Host, budget: u64) -> Result<RunState, MonitorError> {
        if let Some(o) = self.state.outcome {
            return Ok(RunState::Finished(o));
        }
        let start = Instant::now();
        self.switch_in(host)?;
        let result = self.run_loop(&mut host.machine, budget);
        self.switch_out(host);
        self.state.host_ns += start.elapsed().as_nanos();
        result
    }

    /// Runs until the guest finishes or `max_insns` instructions have passed
    /// (then the state is [`RunState::Running`]).
    pub fn run_to_end(
        &mut self,
        host: &mut Host,
        max_insns: u64,
    ) -> Result<RunState, MonitorError> {
        self.run(host, max_insns)
    }

    fn run_loop(&mut self, m: &mut Machine, budget: u64) -> Result<RunState, MonitorError> {
        let transition = match self.state.config.mode {
            Mode::Native => None,
            Mode::Trap | Mode::Bt => Some(Event::MonitorTrap),
            Mode::Hw | Mode::Pv => Some(Event::VmExit),
        };
        let mut left = budget;
        while left > 0 {
            let before = m.instret();
            // pv: the one-shot timer fires at its deadline (the run stops there).
            let slice = crate::pv::slice(
                &mut VmCtx {
                    m,
                    vm: &mut self.state,
                },
                left,
            )?;
            let exit = crate::modes::bt::run_guest(m, &mut self.state, slice);
            if exit == Exit::BudgetExhausted && slice < left {
                left = left.saturating_sub(m.instret().saturating_sub(before).max(1));
                continue;
            }
            if exit == Exit::BudgetExhausted {
                // The machine spent all of `left` (trap entries count too).
                break;
            }
            left = left.saturating_sub(m.instret().saturating_sub(before).max(1));
            let pc = m.pc();
            let cost_before = self.state.cycles.total();
            // A callout from translated code is not a trap or an exit.
            if let (Some(event), false) = (transition, matches!(exit, Exit::Callout { .. })) {
                self.state.stats.count_exit(&exit);
                let event = crate::pv::transition_event(self.state.config.mode, m, &exit, event);
                self.state.cycles.add(event, 1);
            }
            self.state.note.clear();
            let action = self.handler.handle(
                &mut VmCtx {
                    m,
                    vm: &mut self.state,
                },
                exit,
            )?;
            if let Some(tracer) = self.tracer.as_mut() {
                let line = TraceLine {
                    reason: exit_name(&exit),
                    pc,
                    source: self.state.config.boot.line_of(pc).map(str::to_owned),
                    did: std::mem::take(&mut self.state.note),
                    cycles: self.state.cycles.total() - cost_before,
                };
                tracer(&line);
            }
            if let Action::Stop(outcome) = action {
                self.state.outcome = Some(outcome);
                return Ok(RunState::Finished(outcome));
            }
        }
        Ok(RunState::Running)
    }

    /// Calls `tracer` for every exit or trap from now on (`--trace exits`).
    pub fn set_tracer(&mut self, tracer: impl FnMut(&TraceLine) + 'static) {
        self.tracer = Some(Box::new(tracer));
        self.state.tracing = true;
    }

    /// `--trace bt` (bt mode only): calls `tracer` with each kernel block the
    /// first time it is translated (guest address and source line, guest
    /// disassembly beside the translated form, callouts marked), each
    /// adaptive marking of a store, and the retranslation that follows.
    pub fn set_bt_tracer(
        &mut self,
        tracer: impl FnMut(&str) + 'static,
    ) -> Result<(), MonitorError> {
        crate::modes::bt::set_tracer(&mut self.state, Box::new(tracer))
    }

    /// The translator's counters (bt mode only).
    pub fn bt_counters(&self) -> Option<vmlab_translate::Counters> {
        self.state.bt.as_ref().map(|b| b.counters())
    }

    /// Why the monitor stopped the VM, for an [`Outcome::GuestError`].
    pub fn stop_reason(&self) -> Option<&str> {
        self.state.stop_reason.as_deref()
    }

    /// The VM's id on its host.
    pub fn id(&self) -> VmId {
        self.state.id
    }

    /// The configuration.
    pub fn config(&self) -> &VmConfig {
        &self.state.config
    }

    /// How the guest ended, once it has.
    pub fn outcome(&self) -> Option<Outcome> {
        self.state.outcome
    }

    /// The host frames behind the guest's RAM (guest frame `i` is entry `i`).
    pub fn frames(&self) -> &[u32] {
        &self.state.frames
    }

    /// The monitor's counters.
    pub fn stats(&self) -> &Stats {
        &self.state.stats
    }

    /// The machine's counters for this VM, summed over every run call.
    pub fn counters(&self) -> &Counters {
        &self.state.counters
    }

    /// The virtual CPU (trap mode).
    pub fn vcpu(&self) -> &Vcpu {
        &self.state.vcpu
    }

    /// The VM's saved CPU state (between runs).
    pub fn cpu_state(&self) -> &CpuState {
        &self.saved.cpu
    }

    /// Console output so far.
    pub fn console(&self) -> &[u8] {
        self.saved.bus.get::<Console>().map_or(&[], Console::output)
    }

    /// Kernel log output so far.
    pub fn log(&self) -> &[u8] {
        self.saved.bus.get::<Log>().map_or(&[], Log::output)
    }

    /// The VM's device bus (between runs): push console input, inspect the disk.
    pub fn bus_mut(&mut self) -> &mut Bus {
        &mut self.saved.bus
    }

    pub(crate) fn state(&self) -> &VmState {
        &self.state
    }

    pub(crate) fn bus(&self) -> &Bus {
        &self.saved.bus
    }

    /// Returns the VM's frames to the host.
    pub fn destroy(self, host: &mut Host) {
        host.release(&self.state.frames);
        let mut tables = self.state.table_frames.clone();
        tables.sort_unstable();
        tables.dedup();
        for f in &tables {
            host.machine.protect_page(HostPhys::from_page(*f), false);
        }
        for f in &self.state.frames {
            host.machine.protect_page(HostPhys::from_page(*f), false);
        }
        host.release(&tables);
        if host.last_vm == Some(self.state.id) {
            host.last_vm = None;
        }
    }
}

/// Runs `config` alone on a host of its own until the guest finishes or
/// `max_insns` instructions have passed, and returns the report.
pub fn run(config: VmConfig, max_insns: u64) -> Result<crate::RunReport, MonitorError> {
    let mut host = Vm::host_for(&config)?;
    let mut vm = Vm::new(&mut host, config)?;
    vm.run(&mut host, max_insns)?;
    Ok(vm.report())
}
