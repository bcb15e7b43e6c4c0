//! `vmlab bench` as a function: plan the matrix, run it, derive the
//! nanobenchmark table and the sweep.

use std::time::Instant;

use serde::Serialize;

use crate::cell::Row;
use crate::error::BenchError;
use crate::matrix::{fill_overhead, plan, run_cells};
use crate::nanobench::{self, NanoRow};
use crate::options::{BenchOptions, Engine, Sweep};
use crate::sweep::{self, SweepReport};

/// Everything one `vmlab bench` produced (the whole of results.json).
#[derive(Clone, Debug, Serialize)]
pub struct BenchReport {
    /// The cost model's name.
    pub cost: String,
    /// The ISA profile.
    pub profile: &'static str,
    /// The engine that ran the cells.
    pub engine: &'static str,
    /// Whether `--quick` was given.
    pub quick: bool,
    /// One row per cell asked for, sorted by workload, mode and memory.
    pub rows: Vec<Row>,
    /// The nanobenchmark table.
    pub nanobench: Vec<NanoRow>,
    /// The sweep, when asked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sweep: Option<SweepReport>,
    /// What was asked for but is not available yet (`bt (issue 7)`).
    pub not_yet_available: Vec<String>,
    /// Remarks about this run (an engine fallback, diverged cells).
    pub notes: Vec<String>,
    /// Cells run, hidden ones (baselines, 2n runs) included.
    pub cells_run: usize,
    /// Wall-clock time of the whole run, in milliseconds.
    pub wall_ms: u64,
}

/// Runs the benchmark `opts` describes.
pub fn run(opts: &BenchOptions) -> Result<BenchReport, BenchError> {
    let start = Instant::now();
    let plan = plan(opts)?;
    let mut notes = Vec::new();
    if opts.engine == Engine::Jit && !vmlab_translate::JIT_AVAILABLE {
        notes.push(
            "--engine jit: no x86-64 host, using the portable backend (modeled cycles do not depend on the engine)"
                .to_owned(),
        );
    }
    let shown_len = plan.shown.len();
    let mut cells = plan.shown;
    cells.extend(plan.hidden);
    let rows = run_cells(&cells, opts)?;
    let (mut shown, hidden): (Vec<Row>, Vec<Row>) = rows.into_iter().partition(|r| {
        r.key
            .as_ref()
            .is_some_and(|k| cells[..shown_len].contains(k))
    });
    fill_overhead(&mut shown, &hidden);
    for r in shown.iter().filter(|r| r.divergence.is_some()) {
        notes.push(format!(
            "{} {}/{} diverged on the {} profile (exit {}, code {}): {}",
            r.workload,
            r.mode,
            r.mem,
            r.profile,
            r.divergence.as_ref().map_or("", |d| d.exit_status.as_str()),
            r.divergence
                .as_ref()
                .and_then(|d| d.exit_code)
                .map_or_else(|| "none".to_owned(), |c| format!("{c:#x}")),
            r.divergence.as_ref().map_or("", |d| d.log_message.as_str()),
        ));
    }
    let nanobench = if opts.nanobench {
        nanobench::table(&shown, &hidden, &opts.cost)
    } else {
        Vec::new()
    };
    let sweep = opts
        .sweep
        .map(|Sweep::ExitCost| sweep::sweep(&shown, &opts.cost));
    Ok(BenchReport {
        cost: opts.cost.name.clone(),
        profile: opts.profile.name(),
        engine: opts.engine.name(),
        quick: opts.quick,
        rows: shown,
        nanobench,
        sweep,
        not_yet_available: plan.unavailable,
        notes,
        cells_run: cells.len(),
        wall_ms: u64::try_from(start.elapsed().as_millis()).unwrap_or(u64::MAX),
    })
}
