//! What to run: the options of `vmlab bench`, parsed from strings so the
//! command line stays thin wiring.

use std::str::FromStr;

use vmlab_isa::Profile;
use vmlab_monitor::{CostModel, MemVirt, Mode};

use crate::error::BenchError;

/// A mode, optionally with one memory option (`hw` or `hw/nested`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ModeSpec {
    /// The mode.
    pub mode: Mode,
    /// One memory option, or `None` for every option the mode accepts.
    pub mem: Option<MemVirt>,
}

impl FromStr for ModeSpec {
    type Err = BenchError;
    fn from_str(s: &str) -> Result<ModeSpec, BenchError> {
        let (mode, mem) = match s.split_once('/') {
            Some((m, v)) => (m, Some(v)),
            None => (s, None),
        };
        let mode = mode.trim().parse::<Mode>().map_err(BenchError::Usage)?;
        let mem = mem
            .map(|v| v.trim().parse::<MemVirt>())
            .transpose()
            .map_err(BenchError::Usage)?;
        Ok(ModeSpec { mode, mem })
    }
}

/// The execution engine (`--engine`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Engine {
    /// The interpreter.
    #[default]
    Interp,
    /// The x86-64 translator backend for all guest code of every mode (bt's
    /// translated kernel code included); on hosts other than x86_64 the
    /// portable backend, with a note. Modeled cycles and guest-visible
    /// counters do not depend on the engine; host times do.
    Jit,
}

impl Engine {
    /// The engine's name (`interp`, `jit`).
    pub const fn name(self) -> &'static str {
        self.monitor().name()
    }

    /// The monitor's engine ([`vmlab_monitor::VmConfig::engine`]).
    pub const fn monitor(self) -> vmlab_monitor::Engine {
        match self {
            Engine::Interp => vmlab_monitor::Engine::Interp,
            Engine::Jit => vmlab_monitor::Engine::Jit,
        }
    }
}

impl FromStr for Engine {
    type Err = BenchError;
    fn from_str(s: &str) -> Result<Engine, BenchError> {
        match s {
            "interp" => Ok(Engine::Interp),
            "jit" => Ok(Engine::Jit),
            _ => Err(BenchError::Usage(format!(
                "unknown engine `{s}`; known engines: interp, jit"
            ))),
        }
    }
}

/// A parameter sweep (`--sweep`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sweep {
    /// The VM exit round-trip cost, from the first-generation value down to
    /// a modern one: where hardware assistance overtakes binary translation.
    ExitCost,
}

impl FromStr for Sweep {
    type Err = BenchError;
    fn from_str(s: &str) -> Result<Sweep, BenchError> {
        match s {
            "exit-cost" => Ok(Sweep::ExitCost),
            _ => Err(BenchError::Usage(format!(
                "unknown sweep `{s}`; known sweeps: exit-cost"
            ))),
        }
    }
}

/// Everything `vmlab bench` can be asked.
#[derive(Clone, Debug)]
pub struct BenchOptions {
    /// Workload names; empty means every workload.
    pub workloads: Vec<String>,
    /// Modes; empty means the default set (every mode with every memory
    /// option it accepts; see docs/bench.md).
    pub modes: Vec<ModeSpec>,
    /// I/O options (`emulated`, `pv`); empty means each mode's default
    /// (native: the devices, pv: the rings, the others: emulated). A mode
    /// runs each option it accepts.
    pub io: Vec<String>,
    /// Also run every mode that has a monitor hosted (type 2).
    pub hosted: bool,
    /// The cost model.
    pub cost: CostModel,
    /// The ISA profile.
    pub profile: Profile,
    /// The engine asked for.
    pub engine: Engine,
    /// `default_iters` instead of `bench_iters`, and the quick matrix.
    pub quick: bool,
    /// Build the nanobenchmark table (n and 2n runs of the nb-* workloads).
    pub nanobench: bool,
    /// A sweep to add.
    pub sweep: Option<Sweep>,
    /// Worker threads (0: one per available core).
    pub threads: usize,
    /// Show a progress bar on stderr (only drawn when stderr is a terminal).
    pub progress: bool,
    /// Instruction budget per cell: a guest that spins cannot hang the harness.
    pub max_insns: u64,
}

impl Default for BenchOptions {
    fn default() -> BenchOptions {
        BenchOptions {
            workloads: Vec::new(),
            modes: Vec::new(),
            io: Vec::new(),
            hosted: false,
            cost: CostModel::preset("p4-2006").expect("built-in preset"),
            profile: Profile::Strict,
            engine: Engine::Interp,
            quick: false,
            nanobench: true,
            sweep: None,
            threads: 0,
            progress: false,
            max_insns: 2_000_000_000,
        }
    }
}

impl BenchOptions {
    /// Parses a comma-separated `--modes` list.
    pub fn parse_modes(list: &str) -> Result<Vec<ModeSpec>, BenchError> {
        split_list(list).map(str::parse).collect()
    }

    /// Sets the cost model from a `--cost` spec (preset name or file).
    pub fn set_cost(&mut self, spec: &str) -> Result<(), BenchError> {
        self.cost = CostModel::from_spec(spec)?;
        Ok(())
    }

    /// Parses a `--profile` value.
    pub fn parse_profile(s: &str) -> Result<Profile, BenchError> {
        s.parse::<Profile>()
            .map_err(|e| BenchError::Usage(format!("--profile: {e}")))
    }
}

/// The non-empty items of a comma-separated list.
pub fn split_list(list: &str) -> impl Iterator<Item = &str> {
    list.split(',').map(str::trim).filter(|s| !s.is_empty())
}
