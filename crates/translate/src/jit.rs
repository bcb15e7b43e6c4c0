//! `--engine jit` as a library: a bt engine that runs all guest code (user
//! and supervisor) through the x86-64 backend with innocuous semantics (the
//! machine's own control registers are the virtual CPU, [`NativeCpu`]), so
//! a bare-metal guest runs exactly as under the interpreter. On hosts other
//! than x86_64 it falls back to the portable backend with a notice.
//!
//! Callouts are resolved here, as the hardware would run the instruction
//! ([`Machine::engine_system`]), so the caller sees only the machine's own
//! exits.

use vmlab_isa::encode;
use vmlab_machine::{Engine, Exit, Machine};

use crate::backend::Backend;
use crate::engine::BtEngine;
use crate::vcpu::NativeCpu;

/// True when `jit` means the x86-64 backend on this host.
pub const JIT_AVAILABLE: bool = cfg!(target_arch = "x86_64");

/// The backend `jit` uses on this host.
#[cfg(target_arch = "x86_64")]
type JitBackend = crate::x86::X86Backend;
/// The backend `jit` uses on this host.
#[cfg(not(target_arch = "x86_64"))]
type JitBackend = crate::portable::PortableBackend;

#[cfg(target_arch = "x86_64")]
fn new_backend() -> JitBackend {
    crate::x86::X86Backend::with_indirect_caches()
}

#[cfg(not(target_arch = "x86_64"))]
fn new_backend() -> JitBackend {
    JitBackend::new()
}

/// A bt engine over the host's best backend that resolves its own callouts
/// natively: a drop-in [`Engine`] for any machine whose guest owns the CPU.
#[derive(Debug)]
pub struct JitEngine {
    bt: BtEngine<JitBackend, NativeCpu>,
}

impl JitEngine {
    /// The engine (its backend's name: `"x86-64"` or `"portable"`).
    pub fn new() -> JitEngine {
        JitEngine {
            bt: BtEngine::new(new_backend(), NativeCpu),
        }
    }

    /// The underlying bt engine (counters, backend statistics, listings).
    pub fn bt(&self) -> &BtEngine<JitBackend, NativeCpu> {
        &self.bt
    }

    /// The underlying bt engine, mutably (traces).
    pub fn bt_mut(&mut self) -> &mut BtEngine<JitBackend, NativeCpu> {
        &mut self.bt
    }

    /// Translates all code, kernel code included, for direct execution
    /// ([`BtEngine::set_direct_execution`]): what a machine in guest mode
    /// needs, where the exit controls (not the inline operations on
    /// [`NativeCpu`]) decide what a sensitive instruction does.
    pub fn set_direct_execution(&mut self, on: bool) {
        self.bt.set_direct_execution(on);
    }

    /// Generates host code for every block as soon as it is translated
    /// (instead of once it is hot): what tests that must run host code on
    /// short programs want.
    pub fn set_eager(&mut self, on: bool) {
        self.bt.backend_mut().set_listings(on);
    }

    /// The backend's name.
    pub fn backend_name(&self) -> &'static str {
        self.bt.backend().name()
    }
}

impl Default for JitEngine {
    fn default() -> JitEngine {
        JitEngine::new()
    }
}

impl Engine for JitEngine {
    fn name(&self) -> &'static str {
        "jit"
    }

    fn run(&mut self, m: &mut Machine, budget: u64) -> Exit {
        // Callouts are instructions the hardware runs: run them, then go on
        // in the same run (one world switch, one exit counted).
        self.bt.run_resolving(m, budget, |m, c| {
            let word = encode(&c.instr).unwrap_or(0);
            m.engine_system(word)
        })
    }
}

/// The `jit` engine for a bare machine; `notice` receives a line when the
/// host has no x86-64 backend and the portable one stands in.
pub fn jit_engine(notice: &mut dyn FnMut(&str)) -> JitEngine {
    if !JIT_AVAILABLE {
        notice("notice: --engine jit: no x86-64 host, using the portable backend");
    }
    JitEngine::new()
}

/// `--engine jit` for a bare machine, as a boxed [`Engine`] (the fallback
/// notice goes to stderr).
pub fn jit_engine_for_bare_machine() -> Box<dyn Engine> {
    Box::new(jit_engine(&mut |s| eprintln!("{s}")))
}
