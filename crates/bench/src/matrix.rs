//! The matrix: which cells to run, and running them on every core.
//!
//! The harness never lists modes itself: it walks [`Mode::ALL`] and every
//! [`MemVirt`] and asks the monitor ([`Mode::check`]) which combinations it
//! runs, so a mode that lands in the monitor shows up here with no change,
//! and one that has not landed is listed as "not yet available".

use std::io::IsTerminal;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use vmlab_guest::workloads::Kind;
use vmlab_guest::{Workload, workloads};
use vmlab_monitor::{BootImage, IoVirt, MemVirt, Mode, MonitorError, VmConfig};

use crate::cell::{CellKey, Row, check, run_cell};
use crate::error::BenchError;
use crate::options::{BenchOptions, ModeSpec};

/// The cells to run.
#[derive(Clone, Debug, Default)]
pub struct Plan {
    /// Cells shown as rows of the report.
    pub shown: Vec<CellKey>,
    /// Cells run only to compute something (native baselines that were
    /// not asked for; the 2n runs of the nanobenchmarks).
    pub hidden: Vec<CellKey>,
    /// What was asked for but is not available yet, as the monitor says
    /// (`bt (issue 7)`).
    pub unavailable: Vec<String>,
}

/// The iteration count of `w` for this run.
pub fn iters_of(w: &Workload, opts: &BenchOptions) -> u32 {
    if opts.quick {
        w.default_iters
    } else {
        w.bench_iters
    }
}

/// One column of the matrix: a mode with one memory, I/O and hosting option.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Column {
    /// The mode.
    pub mode: Mode,
    /// Memory virtualization.
    pub mem: MemVirt,
    /// I/O virtualization.
    pub io: IoVirt,
    /// Hosted (type-2) monitor.
    pub hosted: bool,
}

/// The columns the monitor runs for `opts`, plus notes for what it cannot
/// run yet. Validity is the monitor's ([`VmConfig::validate`]): an
/// explicit memory option a mode refuses is a usage error carrying the
/// monitor's message; combinations the defaults or the I/O list produce
/// that a mode refuses are skipped.
pub fn columns(opts: &BenchOptions) -> Result<(Vec<Column>, Vec<String>), BenchError> {
    let default: Vec<ModeSpec> = Mode::ALL
        .iter()
        .map(|&mode| ModeSpec { mode, mem: None })
        .collect();
    let specs = if opts.modes.is_empty() {
        &default
    } else {
        &opts.modes
    };
    let ios: Vec<IoVirt> = opts
        .io
        .iter()
        .map(|s| s.parse::<IoVirt>().map_err(BenchError::Usage))
        .collect::<Result<_, _>>()?;
    let (mut cols, mut missing) = (Vec::new(), Vec::new());
    for spec in specs {
        let mems: Vec<MemVirt> = spec.mem.map_or_else(|| MemVirt::ALL.to_vec(), |m| vec![m]);
        let mode_ios: Vec<IoVirt> = match spec.mode {
            Mode::Native => vec![IoVirt::Device],
            m if ios.is_empty() => vec![IoVirt::default_for(m)],
            _ => ios.clone(),
        };
        let hosted: &[bool] = if opts.hosted && spec.mode != Mode::Native {
            &[false, true]
        } else {
            &[false]
        };
        for &mem in &mems {
            if let Err(e) = spec.mode.check(mem) {
                match e {
                    MonitorError::ModeNotAvailable { mode, issue } => {
                        let note = format!("{mode} (issue {issue})");
                        if !missing.contains(&note) {
                            missing.push(note);
                        }
                    }
                    e if spec.mem.is_some() => return Err(BenchError::Usage(e.to_string())),
                    _ => {}
                }
                continue;
            }
            for &io in &mode_ios {
                for &h in hosted {
                    let col = Column {
                        mode: spec.mode,
                        mem,
                        io,
                        hosted: h,
                    };
                    let mut probe = VmConfig::new(BootImage::default(), spec.mode);
                    (probe.mem, probe.io, probe.hosted) = (mem, io, h);
                    match probe.validate() {
                        Ok(()) if !cols.contains(&col) => cols.push(col),
                        Ok(()) => {}
                        Err(MonitorError::ModeNotAvailable { mode, issue }) => {
                            let note = format!(
                                "{mode} with io {io}{} (issue {issue})",
                                if h { ", hosted" } else { "" }
                            );
                            if !missing.contains(&note) {
                                missing.push(note);
                            }
                        }
                        Err(_) => {}
                    }
                }
            }
        }
    }
    Ok((cols, missing))
}

/// Plans the matrix of `opts`.
pub fn plan(opts: &BenchOptions) -> Result<Plan, BenchError> {
    let all = workloads();
    let mut chosen: Vec<(usize, &'static Workload)> = Vec::new();
    if opts.workloads.is_empty() {
        chosen.extend(all.iter().enumerate());
    } else {
        for name in &opts.workloads {
            let found = all.iter().enumerate().find(|(_, w)| w.name == name);
            let Some(found) = found else {
                let known: Vec<&str> = all.iter().map(|w| w.name).collect();
                return Err(BenchError::Usage(format!(
                    "unknown workload `{name}`; known workloads: {}",
                    known.join(", ")
                )));
            };
            chosen.push(found);
        }
    }
    let (cols, unavailable) = columns(opts)?;
    let mut p = Plan {
        unavailable,
        ..Plan::default()
    };
    let native = Column {
        mode: Mode::Native,
        mem: MemVirt::None,
        io: IoVirt::Device,
        hosted: false,
    };
    let has_native = cols.contains(&native);
    for &(index, w) in &chosen {
        let n = iters_of(w, opts);
        let factors: &[u32] = if opts.nanobench && w.kind == Kind::Nanobench {
            &[1, 2]
        } else {
            &[1]
        };
        for &factor in factors {
            let key = |c: &Column| CellKey {
                workload: w,
                workload_index: index,
                iters: n * factor,
                mode: c.mode,
                mem: c.mem,
                io: c.io,
                hosted: c.hosted,
            };
            for c in &cols {
                if factor == 1 {
                    p.shown.push(key(c));
                } else {
                    p.hidden.push(key(c));
                }
            }
            if !has_native {
                // Overhead is always against native: run it, do not show it.
                p.hidden.push(key(&native));
            }
        }
    }
    Ok(p)
}

/// Runs `cells` on `opts.threads` workers (one per core by default) and
/// returns their rows sorted by key, so scheduling never shows. Stops at
/// the first cell whose output fails the profile's check (reporting the
/// failing cell that sorts first).
pub fn run_cells(cells: &[CellKey], opts: &BenchOptions) -> Result<Vec<Row>, BenchError> {
    let threads = match opts.threads {
        0 => std::thread::available_parallelism().map_or(2, |n| n.get()),
        n => n,
    }
    .min(cells.len().max(1));
    let bar = progress_bar(cells.len() as u64, opts.progress);
    // Longest cells first keeps both cores busy to the end.
    let mut order: Vec<usize> = (0..cells.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(u64::from(cells[i].iters)));
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<(usize, Result<Row, BenchError>)>> = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                loop {
                    let at = next.fetch_add(1, Ordering::Relaxed);
                    let Some(&i) = order.get(at) else { break };
                    let key = &cells[i];
                    bar.set_message(key.label());
                    let result = run_cell(key, opts)
                        .and_then(|(_, row)| check(key, &row, opts.profile).map(|()| row));
                    let failed = result.is_err();
                    results
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .push((i, result));
                    bar.inc(1);
                    if failed {
                        // Let the others finish their cell, then stop.
                        next.store(order.len(), Ordering::Relaxed);
                    }
                }
            });
        }
    });
    bar.finish_and_clear();
    let mut results = results.into_inner().unwrap_or_else(|e| e.into_inner());
    results.sort_by(|a, b| cells[a.0].cmp(&cells[b.0]));
    let mut rows = Vec::with_capacity(results.len());
    for (_, r) in results {
        rows.push(r?);
    }
    Ok(rows)
}

/// Fills `overhead_vs_native` from the native row of the same workload and
/// iteration count (in `rows` or `baselines`).
pub fn fill_overhead(rows: &mut [Row], baselines: &[Row]) {
    let native: Vec<(&'static str, u32, u64, bool)> = rows
        .iter()
        .chain(baselines)
        .filter(|r| r.mode == Mode::Native.name())
        .map(|r| (r.workload, r.iters, r.modeled_cycles, r.output_ok))
        .collect();
    for r in rows.iter_mut() {
        r.overhead_vs_native = native
            .iter()
            .find(|n| n.0 == r.workload && n.1 == r.iters && n.3 && n.2 > 0)
            .map(|n| r.modeled_cycles as f64 / n.2 as f64);
    }
}

fn progress_bar(len: u64, wanted: bool) -> ProgressBar {
    if !wanted || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr());
    if let Ok(style) = ProgressStyle::with_template("{bar:30} {pos}/{len} cells  {elapsed}  {msg}")
    {
        bar.set_style(style);
    }
    bar
}
