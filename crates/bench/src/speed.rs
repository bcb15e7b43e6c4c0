//! The speed report: how fast the emulator runs guest code, against native
//! Rust doing the same work in the same process.
//!
//! Each bare-metal kernel of `vmlab_guest::bare` runs to completion on a fresh
//! machine; its console output must equal the Rust reference's, or the row is
//! an error (a fast wrong answer is not a result). Host times are the best of
//! `repeat` runs, which filters out scheduling noise on a shared machine.
//! Every kernel has two rows: `interp` (the machine's interpreter) and `jit`
//! (vmlab-translate's [`JitEngine`]: the x86-64 backend, or the portable
//! one on other hosts), whose row also gives the translation cost.

use std::time::Instant;

use serde::Serialize;
use vmlab_guest::bare::{self, BareKernel};
use vmlab_machine::devices::Console;
use vmlab_machine::{Engine, Exit, Machine, MachineConfig};
use vmlab_translate::JitEngine;

/// What to measure.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SpeedOptions {
    /// Kernel names; empty means all.
    pub kernels: Vec<String>,
    /// Use the small test sizes instead of the speed sizes (for tests and CI).
    pub quick: bool,
    /// Runs per measurement; the fastest counts.
    pub repeat: u32,
    /// Engines to measure (`interp`, `jit`); empty means both.
    pub engines: Vec<String>,
}

impl Default for SpeedOptions {
    fn default() -> SpeedOptions {
        SpeedOptions {
            kernels: Vec::new(),
            quick: false,
            repeat: 3,
            engines: Vec::new(),
        }
    }
}

/// One row of the report (the JSON schema of `vmlab speed --json`).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SpeedRow {
    /// Kernel name.
    pub kernel: String,
    /// Execution engine (`interp`: the interpreter; `jit`: the translator's
    /// x86-64 backend).
    pub engine: String,
    /// Problem size.
    pub n: u32,
    /// Repetitions.
    pub reps: u32,
    /// Guest instructions retired by the run.
    pub guest_instructions: u64,
    /// Host nanoseconds the guest run took (best of `repeat`).
    pub guest_ns: u64,
    /// Host nanoseconds the Rust reference took (best of `repeat`).
    pub native_ns: u64,
    /// Guest instructions per microsecond of host time.
    pub guest_mips: f64,
    /// Host nanoseconds per guest instruction.
    pub ns_per_insn: f64,
    /// `guest_ns / native_ns`: how many times slower than native Rust.
    pub slowdown: f64,
    /// `jit` rows only: host nanoseconds the backend spent compiling, per
    /// guest instruction translated (in the fastest run).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub translate_ns_per_insn: Option<f64>,
}

/// Why the report could not be made.
#[derive(Debug, thiserror::Error)]
pub enum SpeedError {
    /// A kernel name that does not exist.
    #[error("unknown kernel `{0}`; the kernels are: {1}")]
    UnknownKernel(String, String),
    /// The machine could not be built.
    #[error("kernel {kernel}: {source}")]
    Machine {
        /// Kernel name.
        kernel: String,
        /// The machine's error.
        source: vmlab_machine::MachineError,
    },
    /// The guest stopped some other way than powering off with code 0.
    #[error(
        "kernel {kernel}: the guest stopped with {exit:?} instead of powering off; console: {console:?}"
    )]
    BadExit {
        /// Kernel name.
        kernel: String,
        /// How it stopped.
        exit: Exit,
        /// What it printed.
        console: String,
    },
    /// The guest computed something other than the Rust reference.
    #[error(
        "kernel {kernel}: the guest printed {got:?} but the Rust reference computes {expected:?}"
    )]
    WrongResult {
        /// Kernel name.
        kernel: String,
        /// Guest console output.
        got: String,
        /// Expected console output.
        expected: String,
    },
}

/// Instruction budget for one run: far more than any kernel needs, so a
/// runaway guest still ends.
const BUDGET: u64 = 20_000_000_000;

/// Runs the report.
pub fn run(opts: &SpeedOptions) -> Result<Vec<SpeedRow>, SpeedError> {
    let selected: Vec<&BareKernel> = if opts.kernels.is_empty() {
        bare::kernels().iter().collect()
    } else {
        opts.kernels
            .iter()
            .map(|name| {
                bare::kernel(name).ok_or_else(|| {
                    let all: Vec<_> = bare::kernels().iter().map(|k| k.name).collect();
                    SpeedError::UnknownKernel(name.clone(), all.join(", "))
                })
            })
            .collect::<Result<_, _>>()?
    };
    let mut rows = Vec::new();
    for k in selected {
        rows.extend(measure(k, opts)?);
    }
    Ok(rows)
}

/// The engines of the report, in row order.
const ENGINES: [&str; 2] = ["interp", "jit"];

/// One timed run of the fresh machine `m` on `engine`: (host ns, retired
/// instructions, compile ns per translated instruction for the jit).
fn run_once(
    k: &BareKernel,
    mut m: Machine,
    expected: &str,
    engine: &str,
) -> Result<(u64, u64, Option<f64>), SpeedError> {
    let mut jit = (engine == "jit").then(JitEngine::new);
    let start = Instant::now();
    let exit = match jit.as_mut() {
        Some(j) => j.run(&mut m, BUDGET),
        None => m.run(BUDGET),
    };
    let ns = start.elapsed().as_nanos() as u64;
    let console = m
        .bus()
        .get::<Console>()
        .map(|c| c.output().to_vec())
        .unwrap_or_default();
    let console = String::from_utf8_lossy(&console).into_owned();
    if exit != (Exit::Shutdown { code: 0 }) {
        return Err(SpeedError::BadExit {
            kernel: k.name.into(),
            exit,
            console,
        });
    }
    if console != expected {
        return Err(SpeedError::WrongResult {
            kernel: k.name.into(),
            got: console,
            expected: expected.to_owned(),
        });
    }
    let translate = jit.map(|j| {
        let insns = j.bt().counters().instrs_translated.max(1) as f64;
        compile_ns(&j) as f64 / insns
    });
    Ok((ns, m.instret(), translate))
}

/// Host nanoseconds the jit's backend spent compiling.
#[cfg(target_arch = "x86_64")]
fn compile_ns(j: &JitEngine) -> u64 {
    j.bt().backend().compile_ns()
}

/// Host nanoseconds the jit's backend spent compiling (not measured by the
/// portable stand-in).
#[cfg(not(target_arch = "x86_64"))]
fn compile_ns(_: &JitEngine) -> u64 {
    0
}

fn measure(k: &BareKernel, opts: &SpeedOptions) -> Result<Vec<SpeedRow>, SpeedError> {
    let (n, reps) = if opts.quick {
        (k.default_n, 1)
    } else {
        (k.speed_n, k.speed_reps)
    };
    let image = k.image_with(n, reps);
    let expected = k.expected_output(n, reps);
    let repeat = opts.repeat.max(1);

    let mut guest = Vec::new();
    for engine in ENGINES {
        if !opts.engines.is_empty() && !opts.engines.iter().any(|e| e == engine) {
            continue;
        }
        let mut best = (u64::MAX, 0, None);
        for _ in 0..repeat {
            let m = Machine::bare_metal(&image, MachineConfig::default()).map_err(|source| {
                SpeedError::Machine {
                    kernel: k.name.into(),
                    source,
                }
            })?;
            let run = run_once(k, m, &expected, engine)?;
            if run.0 < best.0 {
                best = run;
            }
        }
        guest.push((engine, best));
    }

    let mut native_ns = u64::MAX;
    for _ in 0..repeat {
        let start = Instant::now();
        let result = k.native(n, reps);
        native_ns = native_ns.min(start.elapsed().as_nanos() as u64);
        if result != k.result(n, reps) {
            // The reference disagreeing with itself would be a bug in this crate.
            return Err(SpeedError::WrongResult {
                kernel: k.name.into(),
                got: result.to_string(),
                expected: k.result(n, reps).to_string(),
            });
        }
    }
    let native_ns = native_ns.max(1);
    Ok(guest
        .into_iter()
        .map(
            |(engine, (guest_ns, guest_instructions, translate_ns_per_insn))| {
                let guest_ns = guest_ns.max(1);
                SpeedRow {
                    kernel: k.name.into(),
                    engine: engine.into(),
                    n,
                    reps,
                    guest_instructions,
                    guest_ns,
                    native_ns,
                    guest_mips: guest_instructions as f64 / guest_ns as f64 * 1_000.0,
                    ns_per_insn: guest_ns as f64 / guest_instructions.max(1) as f64,
                    slowdown: guest_ns as f64 / native_ns as f64,
                    translate_ns_per_insn,
                }
            },
        )
        .collect())
}

/// Geometric mean of the slowdowns of the rows of `engine`.
pub fn geomean_slowdown_of(rows: &[SpeedRow], engine: &str) -> f64 {
    let rows: Vec<SpeedRow> = rows
        .iter()
        .filter(|r| r.engine == engine)
        .cloned()
        .collect();
    geomean_slowdown(&rows)
}

/// Geometric mean of the slowdowns.
pub fn geomean_slowdown(rows: &[SpeedRow]) -> f64 {
    if rows.is_empty() {
        return 0.0;
    }
    let log_sum: f64 = rows.iter().map(|r| r.slowdown.ln()).sum();
    (log_sum / rows.len() as f64).exp()
}

/// The report as a terminal table with a legend.
pub fn render_table(rows: &[SpeedRow]) -> String {
    let mut out = String::new();
    out.push_str(&format!(
        "{:<8} {:<7} {:>8} {:>5} {:>14} {:>11} {:>11} {:>9} {:>8} {:>9} {:>10}\n",
        "kernel",
        "engine",
        "n",
        "reps",
        "guest insns",
        "guest ms",
        "native ms",
        "MIPS",
        "ns/insn",
        "slowdown",
        "xlate ns/i"
    ));
    for r in rows {
        out.push_str(&format!(
            "{:<8} {:<7} {:>8} {:>5} {:>14} {:>11.3} {:>11.3} {:>9.1} {:>8.2} {:>8.1}x {:>10}\n",
            r.kernel,
            r.engine,
            r.n,
            r.reps,
            r.guest_instructions,
            r.guest_ns as f64 / 1e6,
            r.native_ns as f64 / 1e6,
            r.guest_mips,
            r.ns_per_insn,
            r.slowdown,
            r.translate_ns_per_insn
                .map_or_else(|| "-".to_owned(), |t| format!("{t:.0}"))
        ));
    }
    for engine in ENGINES {
        if rows.iter().any(|r| r.engine == engine) {
            out.push_str(&format!(
                "geometric-mean slowdown ({engine}): {:.2}x\n",
                geomean_slowdown_of(rows, engine)
            ));
        }
    }
    out.push_str(
        "\nguest insns: instructions the guest retired; guest ms / native ms: host time of the \
         emulated run and of the same\nalgorithm in Rust (best of the repeats); MIPS: guest \
         instructions per host microsecond; slowdown: guest ms / native ms;\nxlate ns/i (jit \
         rows): host ns the backend spent compiling per guest instruction translated.\nReference points \
         (slowdown vs native): wasm3's interpreter 11.8x, QEMU TCG 4.4x, rv8's JIT 2.4x.\n",
    );
    out
}
