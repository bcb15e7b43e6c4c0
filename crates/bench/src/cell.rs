//! One cell of the matrix: one workload, with one iteration count, under
//! one mode, memory option, I/O option and monitor placement. Running it
//! boots the vmlab kernel with the workload's programs, runs it to the end
//! through `vmlab_monitor::run`, checks its console output and keeps the
//! monitor's report.

use std::cmp::Ordering;

use serde::Serialize;
use vmlab_guest::Workload;
use vmlab_isa::Profile;
use vmlab_monitor::{Breakdown, Event, IoVirt, MemVirt, Mode, RunReport, VmConfig};

use crate::error::BenchError;
use crate::options::BenchOptions;

/// What identifies a cell. Cells sort by workload (table order), mode
/// ([`Mode::ALL`] order), memory option, I/O, hosted and iterations, so
/// results come out the same whatever order the workers finished in.
#[derive(Clone, Debug)]
pub struct CellKey {
    /// The workload (from `vmlab_guest::workloads()`).
    pub workload: &'static Workload,
    /// Its position in the workload table.
    pub workload_index: usize,
    /// Iterations.
    pub iters: u32,
    /// The mode.
    pub mode: Mode,
    /// Memory virtualization.
    pub mem: MemVirt,
    /// I/O virtualization.
    pub io: IoVirt,
    /// Hosted (type-2) monitor.
    pub hosted: bool,
}

impl CellKey {
    fn order(&self) -> (usize, usize, usize, usize, bool, u32) {
        let mode = Mode::ALL.iter().position(|m| *m == self.mode).unwrap_or(99);
        let mem = MemVirt::ALL
            .iter()
            .position(|m| *m == self.mem)
            .unwrap_or(99);
        let io = IoVirt::ALL.iter().position(|m| *m == self.io).unwrap_or(99);
        (self.workload_index, mode, mem, io, self.hosted, self.iters)
    }

    /// `workload mode/mem` (plus I/O, hosted and the iteration count), for messages.
    pub fn label(&self) -> String {
        format!(
            "{} {}/{} (io {}{}, {} iterations)",
            self.workload.name,
            self.mode,
            self.mem,
            self.io,
            if self.hosted { ", hosted" } else { "" },
            self.iters
        )
    }

    /// The monitor's configuration for this cell: the monitor lays out the
    /// boot of the kernel build the mode and I/O need.
    pub fn config(&self, opts: &BenchOptions) -> Result<VmConfig, BenchError> {
        let mut config =
            VmConfig::for_workload_io(self.workload.name, self.iters, self.mode, self.io).map_err(
                |source| BenchError::Monitor {
                    cell: self.label(),
                    source,
                },
            )?;
        config.mem = self.mem;
        config.hosted = self.hosted;
        config.cost = opts.cost.clone();
        config.profile = opts.profile;
        config.engine = opts.engine.monitor();
        Ok(config)
    }
}

impl PartialEq for CellKey {
    fn eq(&self, other: &CellKey) -> bool {
        self.order() == other.order()
    }
}

impl Eq for CellKey {}

impl PartialOrd for CellKey {
    fn partial_cmp(&self, other: &CellKey) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for CellKey {
    fn cmp(&self, other: &CellKey) -> Ordering {
        self.order().cmp(&other.order())
    }
}

/// Why a cell's output is not the expected one, on the legacy profile.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Divergence {
    /// How the guest ended (`shutdown`, `halt`, `idle`, `running`).
    pub exit_status: String,
    /// The kernel's exit code, if it powered off.
    pub exit_code: Option<u32>,
    /// The last line of the kernel log (its explanation, if it gave one).
    pub log_message: String,
    /// The console output.
    pub console: String,
}

/// Counters of one cell: the monitor's report counters, plus counts the
/// report does not carry as counters but its breakdown does.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Counters {
    /// Every counter of the monitor's report.
    #[serde(flatten)]
    pub report: vmlab_monitor::ReportCounters,
    /// Hypercalls (the `hypercall` event count of the breakdown).
    pub hypercalls: u64,
    /// Guest instructions translated (the `bt_translate` event count).
    pub translations: u64,
    /// Indirect-branch lookups in translated code.
    pub indirect_lookups: u64,
}

/// The result of one cell: one row of every report.
#[derive(Clone, Debug, Serialize)]
pub struct Row {
    /// The workload.
    pub workload: &'static str,
    /// Its kind (`compute`, `os`, `io`, `nanobench`).
    pub kind: &'static str,
    /// Iterations.
    pub iters: u32,
    /// The mode.
    pub mode: &'static str,
    /// The ISA profile.
    pub profile: &'static str,
    /// Memory virtualization.
    pub mem: &'static str,
    /// I/O virtualization.
    pub io: &'static str,
    /// Hosted (type-2) monitor.
    pub hosted: bool,
    /// The engine that ran it.
    pub engine: &'static str,
    /// The cost model's name.
    pub cost: String,
    /// Guest instructions (retired plus emulated).
    pub guest_instructions: u64,
    /// Modeled cycles.
    pub modeled_cycles: u64,
    /// Modeled cycles / native modeled cycles of the same workload and
    /// iteration count (`null` when native did not produce a result).
    pub overhead_vs_native: Option<f64>,
    /// Modeled cycles by category and event.
    pub breakdown: Breakdown,
    /// The counters.
    pub counters: Counters,
    /// Fraction of guest instructions the CPU ran without the monitor.
    pub efficiency: f64,
    /// Host nanoseconds.
    pub host_ns: u64,
    /// Guest instructions per host microsecond.
    pub guest_mips: f64,
    /// Whether the console output equals the workload's expected output.
    pub output_ok: bool,
    /// Present when the output differs (legacy profile).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub divergence: Option<Divergence>,
    /// The key, for sorting and lookups (not serialized).
    #[serde(skip)]
    pub key: Option<CellKey>,
}

impl Row {
    /// `mode/mem`, plus ` io=X` when the I/O is not the mode's default and
    /// ` hosted` for a hosted monitor: the name of the row's column.
    pub fn config(&self) -> String {
        let mut s = format!("{}/{}", self.mode, self.mem);
        let default_io = self
            .mode
            .parse::<Mode>()
            .map_or("", |m| IoVirt::default_for(m).name());
        if self.io != default_io {
            s.push_str(&format!(" io={}", self.io));
        }
        if self.hosted {
            s.push_str(" hosted");
        }
        s
    }

    /// Whether the row runs the mode's default I/O on a bare-metal monitor
    /// (the rows of the nanobenchmark table and the sweep).
    pub fn is_plain(&self) -> bool {
        !self.config().contains(' ')
    }
}

/// Runs one cell. A wrong output is not an error here: the caller decides
/// by profile ([`check`]).
pub fn run_cell(key: &CellKey, opts: &BenchOptions) -> Result<(RunReport, Row), BenchError> {
    let config = key.config(opts)?;
    let report =
        vmlab_monitor::run(config, opts.max_insns).map_err(|source| BenchError::Monitor {
            cell: key.label(),
            source,
        })?;
    let row = row_of(key, &report, opts.profile);
    Ok((report, row))
}

fn row_of(key: &CellKey, r: &RunReport, profile: Profile) -> Row {
    let expected = key.workload.expected_output(key.iters);
    let output_ok = r.console == expected && r.exit_status == "shutdown" && r.exit_code == Some(0);
    let divergence = (!output_ok).then(|| Divergence {
        exit_status: r.exit_status.to_owned(),
        exit_code: r.exit_code,
        log_message: r.log.lines().last().unwrap_or("").to_owned(),
        console: r.console.clone(),
    });
    let host_ns = u64::try_from(r.host_ns).unwrap_or(u64::MAX);
    let b = &r.breakdown;
    Row {
        workload: key.workload.name,
        kind: key.workload.kind.name(),
        iters: key.iters,
        mode: key.mode.name(),
        profile: profile.name(),
        mem: key.mem.name(),
        io: r.io,
        hosted: r.hosted,
        engine: r.engine,
        cost: r.cost.clone(),
        guest_instructions: r.guest_instructions,
        modeled_cycles: r.modeled_cycles,
        overhead_vs_native: None,
        breakdown: r.breakdown.clone(),
        counters: Counters {
            report: r.counters.clone(),
            hypercalls: b.count(Event::Hypercall),
            translations: b.count(Event::BtTranslate),
            indirect_lookups: b.count(Event::BtIndirectLookup),
        },
        efficiency: r.efficiency,
        host_ns,
        guest_mips: r.guest_instructions as f64 / (host_ns.max(1) as f64 / 1000.0),
        output_ok,
        divergence,
        key: Some(key.clone()),
    }
}

/// A short line diff of `expected` and `got`: the first lines that differ.
pub fn diff(expected: &str, got: &str) -> String {
    let mut out = String::new();
    let (e, g): (Vec<&str>, Vec<&str>) = (expected.lines().collect(), got.lines().collect());
    let mut shown = 0;
    for i in 0..e.len().max(g.len()) {
        let (a, b) = (e.get(i), g.get(i));
        if a != b {
            if let Some(a) = a {
                out.push_str(&format!("  line {}: - {a}\n", i + 1));
            }
            if let Some(b) = b {
                out.push_str(&format!("  line {}: + {b}\n", i + 1));
            }
            shown += 1;
            if shown == 5 {
                out.push_str("  ...\n");
                break;
            }
        }
    }
    if out.is_empty() {
        out.push_str("  (the console output matches; the guest did not power off with code 0)\n");
    }
    out
}

/// Applies the profile's rule to a finished cell: on strict, a wrong
/// output fails the run; on legacy, trap cells may diverge (the
/// sensitive-but-unprivileged instructions misbehave, on purpose) and
/// anything else that diverges still fails.
pub fn check(key: &CellKey, row: &Row, profile: Profile) -> Result<(), BenchError> {
    if row.output_ok || (profile == Profile::Legacy && key.mode == Mode::Trap) {
        return Ok(());
    }
    let d = row.divergence.as_ref();
    Err(BenchError::WrongOutput {
        cell: key.label(),
        status: d.map_or_else(String::new, |d| d.exit_status.clone()),
        code: d
            .and_then(|d| d.exit_code)
            .map_or_else(|| "none".to_owned(), |c| format!("{c:#x}")),
        diff: diff(
            &key.workload.expected_output(key.iters),
            d.map_or("", |d| d.console.as_str()),
        ),
    })
}
