//! bt: software full virtualization by binary translation, as VMware's
//! monitor did before VT-x (Adams & Agesen 2006).
//!
//! The unmodified kernel's code runs translated by a
//! [`BtEngine`](vmlab_translate::BtEngine): innocuous instructions are kept,
//! sensitive ones become inline operations on the virtual CPU (`csrr`,
//! `getf`/`setf`, a `prio` write) or callouts into this monitor
//! (`Exit::Callout`, priced `bt_callout`, never a VM exit). User code runs
//! directly (the engine translates it for direct execution: every
//! instruction as the hardware runs it).
//!
//! The machine's privilege is kept equal to the *virtual* privilege: the
//! translated kernel runs with the machine in supervisor mode, which is safe
//! because no sensitive instruction of kernel code reaches the machine. The
//! whole virtual `status` (MODE, IE, PG, ...) and the interrupt registers are
//! mirrored into the machine, so an interrupt lands exactly where the
//! virtual CPU would take it. Every exception and interrupt still goes to the
//! monitor (the exception bitmap is all ones, interrupt exiting is on) and is
//! reflected into the kernel's vector, where translation resumes. Memory is
//! shadow paging with trap mode's two views (kernel, user), switched on a
//! virtual mode change. The first kernel store to a page-table page is a
//! protected-write trap, emulated as in trap mode; the engine then
//! retranslates that store as a `pte-write` callout (adaptive translation).
//!
//! Because `getf`/`setf` are inline operations, the legacy profile's silent
//! misbehaviour cannot happen: bt is correct on both profiles.
//!
//! The backend is chosen in one place, [`new_engine`]; `--trace bt` is
//! [`Vm::set_bt_tracer`](crate::Vm::set_bt_tracer).

use std::collections::{BTreeMap, HashSet};
use std::fmt;

use vmlab_isa::csr::{irq, status};
use vmlab_isa::{Cause, Csr, Profile, encode};
use vmlab_machine::{Engine, HostPhys, Machine};
use vmlab_translate::{
    Backend, BackendStats, BlockExit, BlockId, BtEngine, Callout, CalloutKind, Counters, Op,
    PortableBackend, Privilege, TraceEvent, Translation, VirtualCpu, render_translation,
};

use crate::config::{Engine as EngineKind, VmConfig};
use crate::cost::Event;
use crate::error::MonitorError;
use crate::handler::{Action, Exit, ExitHandler, Outcome, VmCtx};
use crate::vcpu::Vcpu;
use crate::vm::VmState;

/// The binary-translation monitor.
#[derive(Clone, Copy, Debug, Default)]
pub struct BtMonitor;

impl ExitHandler for BtMonitor {
    fn handle(&mut self, cx: &mut VmCtx<'_>, exit: Exit) -> Result<Action, MonitorError> {
        match exit {
            // Translated kernel code called the monitor: not an exit.
            Exit::Callout { .. } => cx.bt_callout(),
            // Syscalls, a user's privileged instruction, divide by zero, ...
            // (and a kernel `syscall`/`break`, which translation keeps
            // native): delivered into the kernel's vector, translated.
            Exit::Exception { cause, addr } => {
                cx.reflect(Cause::Exception(cause), addr)?;
                Ok(Action::Resume)
            }
            // The machine's IE and masks mirror the virtual ones.
            Exit::Interrupt { irq } => {
                cx.reflect(Cause::Interrupt(irq), 0)?;
                Ok(Action::Resume)
            }
            Exit::PageFault { gva, access, user } => cx.shadow_fault(gva, access, user),
            // The first time a kernel store hits a page-table page (the
            // engine then retranslates it as a pte-write callout), or any
            // such store from user code.
            Exit::ProtectedWrite {
                hpa, width, value, ..
            } => cx.protected_write(hpa, width, value),
            Exit::Halt => Ok(Action::Stop(Outcome::Halted)),
            Exit::Idle => Ok(Action::Stop(Outcome::Idle)),
            Exit::Shutdown { code } => Ok(Action::Stop(Outcome::Shutdown { code })),
            Exit::BudgetExhausted => Ok(Action::Resume),
            other => Err(MonitorError::UnexpectedExit {
                exit: other,
                pc: cx.machine().pc(),
                mode: cx.mode(),
            }),
        }
    }
}

impl VmCtx<'_> {
    /// The callout the last `Exit::Callout` stands for (bt mode).
    pub fn callout(&self) -> Option<Callout> {
        self.vm.bt.as_ref().and_then(|b| b.engine.last_callout())
    }

    /// Performs the last callout from translated code and retires its
    /// instruction: `bt_callout`, plus the monitor work it does (emulating
    /// the instruction on the virtual CPU, a device access, or a page-table
    /// update with its shadow entries).
    pub fn bt_callout(&mut self) -> Result<Action, MonitorError> {
        let c = self.callout().ok_or_else(|| {
            MonitorError::Config("a callout exit without a bt engine or callout".into())
        })?;
        self.vm.stats.callouts += 1;
        self.charge(Event::BtCallout);
        let action = match c.kind {
            CalloutKind::PteWrite => {
                let s = c.store.ok_or_else(|| {
                    MonitorError::Config(format!(
                        "pte-write callout at {:#x} without a store",
                        c.pc
                    ))
                })?;
                let pager = self.vm.shadow.as_mut().ok_or_else(|| {
                    MonitorError::Config("a pte-write callout without shadow paging".into())
                })?;
                pager.write(self.m, HostPhys(s.hpa), s.width, s.value)?;
                self.m.retire_emulated();
                self.charge(Event::ShadowUpdate);
                self.did(|| {
                    format!(
                        "page-table write {:#x} at {:#010x} (host {:#x}); shadow entries dropped",
                        s.value, s.gva, s.hpa
                    )
                });
                Action::Resume
            }
            _ => self.emulate(c.instr, encode(&c.instr).unwrap_or(0))?,
        };
        if self.vm.tracing {
            let note = std::mem::take(&mut self.vm.note);
            self.vm.note = format!("callout {}: {note}", c.kind.name());
        }
        Ok(action)
    }
}

/// The virtual CPU translated kernel code acts on inline: the monitor's
/// [`Vcpu`] (copied in before each engine run and out after it), with the
/// machine kept in step: the whole virtual `status` (the machine's privilege
/// is the virtual one) and the interrupt and paging registers.
#[derive(Clone, Debug, Default)]
pub struct BtVcpu {
    vcpu: Vcpu,
}

impl VirtualCpu for BtVcpu {
    fn read_csr(&mut self, m: &Machine, csr: Csr) -> u32 {
        self.vcpu.read(csr, m)
    }

    fn write_csr(&mut self, m: &mut Machine, csr: Csr, value: u32) {
        if csr == Csr::IPend {
            m.set_csr(Csr::IPend, value);
            return;
        }
        let v = match csr {
            Csr::Status => value & status::WRITABLE,
            Csr::IEnable => value & irq::MASK,
            Csr::Prio => value & 0xF,
            _ => value,
        };
        self.vcpu.csrs[csr.index()] = v;
        sync(&self.vcpu, m);
    }
}

/// Mirrors into the machine what decides how it runs the guest under bt:
/// all of `status` (so MODE, the privilege, is the virtual one), `ptbr`,
/// the timer compare and the interrupt masks.
pub(crate) fn sync(v: &Vcpu, m: &mut Machine) {
    for c in [
        Csr::Status,
        Csr::Ptbr,
        Csr::TimeCmp,
        Csr::TimeCmpH,
        Csr::IEnable,
        Csr::Prio,
    ] {
        if m.csr(c) != v.csrs[c.index()] {
            m.set_csr(c, v.csrs[c.index()]);
        }
    }
}

/// A backend wrapper that counts what the cost model prices: guest
/// instructions translated *as kernel code* (user blocks are the identity
/// translation for direct execution, free as VMware's direct execution was)
/// and indirect lookups leaving kernel blocks.
#[derive(Clone, Debug, Default)]
pub struct Priced<B> {
    inner: B,
    kernel_instrs: u64,
    kernel_lookups: u64,
}

impl<B: Backend> Backend for Priced<B> {
    fn name(&self) -> &'static str {
        self.inner.name()
    }

    fn compile(&mut self, id: BlockId, t: &Translation) {
        if t.privilege == Privilege::Supervisor {
            self.kernel_instrs += t.len() as u64;
        }
        self.inner.compile(id, t);
    }

    fn run(&mut self, id: BlockId, m: &mut Machine, vcpu: &mut dyn VirtualCpu) -> BlockExit {
        let exit = self.inner.run(id, m, vcpu);
        // A jalr does not change the privilege: the machine's is the block's.
        if matches!(exit, BlockExit::Indirect { .. }) && !m.engine_user() {
            self.kernel_lookups += 1;
        }
        exit
    }

    fn chain(&mut self, from: BlockId, exit: usize, to: BlockId) {
        self.inner.chain(from, exit, to);
    }

    fn discard(&mut self, id: BlockId) {
        self.inner.discard(id);
    }

    fn flush(&mut self) {
        self.inner.flush();
    }

    fn stats(&self) -> BackendStats {
        self.inner.stats()
    }

    fn listing(&self, id: BlockId) -> Vec<String> {
        self.inner.listing(id)
    }

    fn set_listings(&mut self, on: bool) {
        self.inner.set_listings(on);
    }
}

/// What the VM needs from its bt engine, whatever the backend.
pub(crate) trait BtRunner: fmt::Debug {
    fn run(&mut self, m: &mut Machine, budget: u64) -> Exit;
    fn vcpu_mut(&mut self) -> &mut Vcpu;
    fn last_callout(&self) -> Option<Callout>;
    fn counters(&self) -> Counters;
    /// (kernel instructions translated, kernel indirect lookups).
    fn priced(&self) -> (u64, u64);
    fn set_trace(&mut self, on: bool);
    fn take_trace(&mut self) -> Vec<TraceEvent>;
}

impl<B: Backend + fmt::Debug> BtRunner for BtEngine<Priced<B>, BtVcpu> {
    fn run(&mut self, m: &mut Machine, budget: u64) -> Exit {
        Engine::run(self, m, budget)
    }

    fn vcpu_mut(&mut self) -> &mut Vcpu {
        &mut BtEngine::vcpu_mut(self).vcpu
    }

    fn last_callout(&self) -> Option<Callout> {
        BtEngine::last_callout(self).copied()
    }

    fn counters(&self) -> Counters {
        BtEngine::counters(self)
    }

    fn priced(&self) -> (u64, u64) {
        let b = self.backend();
        (b.kernel_instrs, b.kernel_lookups)
    }

    fn set_trace(&mut self, on: bool) {
        BtEngine::set_trace(self, on);
    }

    fn take_trace(&mut self) -> Vec<TraceEvent> {
        BtEngine::take_trace(self)
    }
}

/// The one place the bt engine's backend is chosen: the portable backend
/// for `--engine interp`, the x86-64 backend for `--engine jit` (every
/// indirect jump back to the engine, so lookups are priced as with the
/// portable backend; on other hosts the portable backend stands in).
pub(crate) fn new_engine(config: &VmConfig) -> Box<dyn BtRunner> {
    match config.engine {
        EngineKind::Interp => priced(PortableBackend::new()),
        #[cfg(target_arch = "x86_64")]
        EngineKind::Jit => priced(vmlab_translate::X86Backend::new()),
        #[cfg(not(target_arch = "x86_64"))]
        EngineKind::Jit => priced(PortableBackend::new()),
    }
}

fn priced<B: Backend + fmt::Debug + 'static>(inner: B) -> Box<dyn BtRunner> {
    Box::new(BtEngine::new(
        Priced {
            inner,
            kernel_instrs: 0,
            kernel_lookups: 0,
        },
        BtVcpu::default(),
    ))
}

/// The `--trace bt` callback: one call per printed event, the text of a
/// block rendering (several lines, no trailing newline) or one line.
pub type BtTracer = Box<dyn FnMut(&str)>;

/// A VM's bt engine and what goes with it.
pub(crate) struct BtState {
    engine: Box<dyn BtRunner>,
    tracer: Option<BtTracer>,
    /// Kernel blocks (va) already shown by the tracer.
    shown: HashSet<u32>,
    /// Store pcs adaptive translation marked, not yet shown retranslated.
    adaptive: Vec<u32>,
}

impl fmt::Debug for BtState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BtState")
            .field("engine", &self.engine)
            .field("tracing", &self.tracer.is_some())
            .finish_non_exhaustive()
    }
}

impl BtState {
    /// The bt state for a VM of `config`: an engine in bt mode, else none.
    pub(crate) fn for_config(config: &VmConfig) -> Option<BtState> {
        (config.mode == crate::config::Mode::Bt).then(|| BtState {
            engine: new_engine(config),
            tracer: None,
            shown: HashSet::new(),
            adaptive: Vec::new(),
        })
    }

    /// The translator's counters as report entries (`bt.*`).
    pub(crate) fn report_counters(&self) -> BTreeMap<String, u64> {
        self.engine.counters().iter().into_iter().collect()
    }

    /// The translator's counters.
    pub(crate) fn counters(&self) -> Counters {
        self.engine.counters()
    }
}

/// Installs the `--trace bt` callback (an error outside bt mode).
pub(crate) fn set_tracer(vm: &mut VmState, tracer: BtTracer) -> Result<(), MonitorError> {
    let Some(bt) = vm.bt.as_mut() else {
        return Err(MonitorError::Config(format!(
            "--trace bt needs --mode bt (this VM runs in {} mode)",
            vm.config.mode
        )));
    };
    bt.engine.set_trace(true);
    bt.tracer = Some(tracer);
    Ok(())
}

/// Runs the guest for at most `budget` instructions with the VM's engine:
/// the interpreter or (`--engine jit`) the jit engine, or in bt mode the
/// translator (the virtual CPU copied in
/// and out, translation and indirect lookups priced as they happen).
pub(crate) fn run_guest(m: &mut Machine, vm: &mut VmState, budget: u64) -> Exit {
    let Some(bt) = vm.bt.as_mut() else {
        return match vm.jit.as_mut() {
            Some(jit) => m.run_with(jit, budget),
            None => m.run(budget),
        };
    };
    *bt.engine.vcpu_mut() = vm.vcpu.clone();
    sync(&vm.vcpu, m);
    let (instrs, lookups) = bt.engine.priced();
    let exit = bt.engine.run(m, budget);
    vm.vcpu = bt.engine.vcpu_mut().clone();
    let (instrs2, lookups2) = bt.engine.priced();
    vm.cycles.add(Event::BtTranslate, instrs2 - instrs);
    vm.cycles.add(Event::BtIndirectLookup, lookups2 - lookups);
    if bt.tracer.is_some() {
        let events = bt.engine.take_trace();
        trace(bt, &vm.config, events);
    }
    exit
}

/// Shows trace events: each kernel block the first time it is translated
/// (under `--engine jit` with its host code beside it, QEMU `out_asm`
/// style), each adaptive marking and the retranslation it causes.
fn trace(bt: &mut BtState, config: &VmConfig, events: Vec<TraceEvent>) {
    let Some(tracer) = bt.tracer.as_mut() else {
        return;
    };
    // The block just shown: its code listing follows it.
    let mut shown = None;
    for ev in events {
        match ev {
            TraceEvent::Code { va, lines } => {
                if shown == Some(va) && config.engine == EngineKind::Jit {
                    tracer(&format!("bt: host code (x86-64) of block {va:#010x}:"));
                    for l in lines {
                        tracer(&format!("  {l}"));
                    }
                }
                shown = None;
            }
            TraceEvent::Translated(t) if t.privilege == Privilege::Supervisor => {
                let adaptive = bt.adaptive.iter().position(|pc| {
                    t.ops
                        .iter()
                        .any(|o| o.pc == *pc && matches!(o.op, Op::PteStore(_)))
                });
                if let Some(i) = adaptive {
                    bt.adaptive.swap_remove(i);
                    let text = render(&t, config);
                    tracer(&format!("bt: retranslated (adaptive) {text}"));
                    shown = Some(t.va);
                } else if bt.shown.insert(t.va) {
                    tracer(&format!("bt: translated {}", render(&t, config)));
                    shown = Some(t.va);
                }
            }
            TraceEvent::Translated(_) => {}
            TraceEvent::Adaptive { pc, hpa } => {
                bt.adaptive.push(pc);
                let line = config.boot.line_of(pc).unwrap_or("?");
                tracer(&format!(
                    "bt: adaptive: kernel store at {pc:#010x} (host {hpa:#x}, {line}) faulted on a page-table page; its block will be retranslated with the store as a pte-write callout"
                ));
            }
        }
    }
}

/// A translation rendered with its source line from the boot image.
fn render(t: &Translation, config: &VmConfig) -> String {
    let profile: Profile = config.profile;
    let text = render_translation(t, None, profile);
    let text = text.trim_end();
    match config.boot.line_of(t.va) {
        Some(line) => match text.split_once('\n') {
            Some((head, rest)) => format!("{head} at {line}\n{rest}"),
            None => format!("{text} at {line}"),
        },
        None => text.to_string(),
    }
}
