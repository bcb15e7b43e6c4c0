//! Rendering a [`BenchReport`]: a terminal table with its legend
//! ([`table`]), Markdown ([`md`]), JSON ([`json`]), CSV ([`csv`]) and SVG
//! charts ([`svg`]). [`write_dir`] writes them all for `--out DIR`.

use std::path::{Path, PathBuf};

use vmlab_monitor::Category;

use crate::error::BenchError;
use crate::nanobench::{BENCHES, COLUMNS};
use crate::run::BenchReport;

pub mod csv;
pub mod json;
pub mod md;
pub mod svg;
pub mod table;

/// An output format (`--format`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Format {
    /// Aligned text tables with a legend.
    #[default]
    Table,
    /// Markdown (the same as report.md).
    Md,
    /// JSON (the same as results.json).
    Json,
    /// CSV, one line per row (the same as results.csv).
    Csv,
}

impl std::str::FromStr for Format {
    type Err = BenchError;
    fn from_str(s: &str) -> Result<Format, BenchError> {
        match s {
            "table" => Ok(Format::Table),
            "md" => Ok(Format::Md),
            "json" => Ok(Format::Json),
            "csv" => Ok(Format::Csv),
            _ => Err(BenchError::Usage(format!(
                "unknown format `{s}`; known formats: table, md, json, csv"
            ))),
        }
    }
}

/// Renders `report` in `format`.
pub fn render(report: &BenchReport, format: Format) -> String {
    match format {
        Format::Table => table::render(report),
        Format::Md => md::render(report, None),
        Format::Json => json::render(report),
        Format::Csv => csv::render(report),
    }
}

/// Writes report.md, results.json, results.csv and the SVG charts into
/// `dir` (created if missing); returns the files written.
pub fn write_dir(report: &BenchReport, dir: &Path) -> Result<Vec<PathBuf>, BenchError> {
    let io = |path: &Path| {
        let path = path.to_owned();
        move |source| BenchError::Write { path, source }
    };
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let charts = svg::write_charts(report, dir)?;
    let mut files = Vec::new();
    let names: Vec<String> = charts
        .iter()
        .filter_map(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .collect();
    for (name, text) in [
        ("report.md", md::render(report, Some(&names))),
        ("results.json", json::render(report)),
        ("results.csv", csv::render(report)),
    ] {
        let path = dir.join(name);
        std::fs::write(&path, text).map_err(io(&path))?;
        files.push(path);
    }
    files.extend(charts);
    Ok(files)
}

/// A table of strings, rendered as aligned text or Markdown.
#[derive(Clone, Debug, Default)]
pub struct Table {
    /// Column headers.
    pub headers: Vec<String>,
    /// Rows of cells.
    pub rows: Vec<Vec<String>>,
    /// Right-align column i (numbers).
    pub right: Vec<bool>,
}

/// `1234567` as `1,234,567`.
pub fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A float with a sensible number of digits for a cycles figure.
pub fn cycles_f(x: f64) -> String {
    if x.abs() >= 100.0 {
        thousands(x.round().max(0.0) as u64)
    } else {
        format!("{x:.1}")
    }
}

/// Short column names of the breakdown categories.
pub fn category_short(c: Category) -> &'static str {
    match c {
        Category::GuestInstructions => "guest",
        Category::NativeExceptions => "exc",
        Category::Device => "device",
        Category::Exits => "exits",
        Category::MonitorWork => "monitor",
        Category::Tlb => "tlb",
        Category::Hypercalls => "hcall",
        Category::Translation => "xlate",
        Category::Callouts => "callout",
        Category::IoRings => "rings",
        Category::Hosted => "hosted",
    }
}

/// The matrix: one line per cell.
pub fn matrix_table(report: &BenchReport) -> Table {
    let headers = [
        "workload",
        "mode/mem",
        "iters",
        "guest insns",
        "modeled cycles",
        "x native",
        "exits",
        "reflected",
        "hidden",
        "pt writes",
        "tlb miss",
        "walk refs",
        "callouts",
        "hcalls",
        "effic",
        "host ms",
        "MIPS",
        "output",
    ];
    let rows = report
        .rows
        .iter()
        .map(|r| {
            let c = &r.counters;
            vec![
                r.workload.to_owned(),
                r.config(),
                thousands(u64::from(r.iters)),
                thousands(r.guest_instructions),
                thousands(r.modeled_cycles),
                r.overhead_vs_native
                    .map_or_else(|| "-".into(), |o| format!("{o:.2}")),
                thousands(c.report.exits_total),
                thousands(c.report.traps_reflected),
                thousands(c.report.hidden_faults),
                thousands(c.report.pt_write_traps),
                thousands(c.report.tlb_misses),
                thousands(c.report.walk_refs),
                thousands(c.report.callouts),
                thousands(c.hypercalls),
                format!("{:.4}", r.efficiency),
                format!("{:.1}", r.host_ns as f64 / 1e6),
                format!("{:.0}", r.guest_mips),
                if r.output_ok {
                    "ok".into()
                } else {
                    "DIVERGED".into()
                },
            ]
        })
        .collect();
    let right = headers
        .iter()
        .map(|h| !matches!(*h, "workload" | "mode/mem" | "output"))
        .collect();
    Table {
        headers: headers.iter().map(|s| (*s).to_owned()).collect(),
        rows,
        right,
    }
}

/// Where the modeled cycles went: percent per category (only categories
/// some row uses).
pub fn breakdown_table(report: &BenchReport) -> Table {
    let used: Vec<Category> = Category::ALL
        .into_iter()
        .filter(|&c| report.rows.iter().any(|r| r.breakdown.category(c) > 0))
        .collect();
    let mut headers = vec!["workload".to_owned(), "mode/mem".to_owned()];
    headers.extend(used.iter().map(|&c| format!("{} %", category_short(c))));
    headers.push("top exit reasons".to_owned());
    let rows = report
        .rows
        .iter()
        .map(|r| {
            let total = r.breakdown.total().max(1) as f64;
            let mut cells = vec![r.workload.to_owned(), r.config()];
            cells.extend(
                used.iter()
                    .map(|&c| format!("{:.1}", 100.0 * r.breakdown.category(c) as f64 / total)),
            );
            let mut exits: Vec<(&&str, &u64)> = r.counters.report.exits.iter().collect();
            exits.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
            let top: Vec<String> = exits
                .iter()
                .take(3)
                .map(|(k, v)| format!("{k} {v}"))
                .collect();
            cells.push(if top.is_empty() {
                "-".into()
            } else {
                top.join(", ")
            });
            cells
        })
        .collect();
    let n = headers.len();
    let right = (0..n).map(|i| i >= 2 && i + 1 < n).collect();
    Table {
        headers,
        rows,
        right,
    }
}

/// The nanobenchmark table: ours, with the paper's figure in brackets
/// (`C` calibration, `V` validation, `!` disagreement explained below).
pub fn nanobench_table(report: &BenchReport) -> Table {
    let mut headers = vec!["bench".to_owned()];
    headers.extend(COLUMNS.iter().map(|(m, mem)| match *m {
        "native" | "trap" | "bt" | "pv" => (*m).to_owned(),
        _ => format!("{m}/{mem}"),
    }));
    let rows = BENCHES
        .iter()
        .map(|(_, bench)| {
            let mut cells = vec![(*bench).to_owned()];
            for (mode, mem) in COLUMNS {
                let n = report
                    .nanobench
                    .iter()
                    .find(|n| n.bench == *bench && n.mode == mode && n.mem == mem);
                cells.push(match n {
                    None if report.not_yet_available.iter().any(|u| u.starts_with(mode)) => {
                        "n/a".into()
                    }
                    None => "-".into(),
                    Some(n) => {
                        let ours = n
                            .cycles_per_iter
                            .map_or_else(|| "diverged".into(), cycles_f);
                        match &n.paper {
                            Some(p) => format!(
                                "{ours} [{p} {}{}]",
                                if n.calibrated { "C" } else { "V" },
                                if n.disagreement.is_some() { "!" } else { "" }
                            ),
                            None => ours,
                        }
                    }
                });
            }
            cells
        })
        .collect();
    Table {
        right: vec![false; headers.len()],
        headers,
        rows,
    }
}

/// The reasons for each `!` of the nanobenchmark table.
pub fn disagreements(report: &BenchReport) -> Vec<String> {
    report
        .nanobench
        .iter()
        .filter_map(|n| {
            n.disagreement.as_ref().map(|why| {
                format!(
                    "{} {}/{}: ours {} vs paper {}: {why}",
                    n.bench,
                    n.mode,
                    n.mem,
                    n.cycles_per_iter.map_or_else(|| "-".into(), cycles_f),
                    n.paper.as_deref().unwrap_or("-"),
                )
            })
        })
        .collect()
}

/// The sweep in brief: per workload and hw configuration, x native at the
/// first-generation and the modern exit cost, and the crossover with bt.
pub fn sweep_table(report: &BenchReport) -> Table {
    let headers = [
        "workload",
        "hw",
        "x native (first)",
        "x native (modern)",
        "vs bt",
    ];
    let mut rows = Vec::new();
    if let Some(s) = &report.sweep {
        for c in &s.crossovers {
            let native = s
                .series
                .iter()
                .find(|x| x.workload == c.workload && x.config == "native/none")
                .and_then(|x| x.cycles.first().copied())
                .unwrap_or(0)
                .max(1) as f64;
            let hw = s
                .series
                .iter()
                .find(|x| x.workload == c.workload && x.config == c.hw);
            let at = |i: Option<&u64>| {
                i.map_or_else(|| "-".into(), |&v| format!("{:.2}", v as f64 / native))
            };
            rows.push(vec![
                c.workload.to_owned(),
                c.hw.clone(),
                at(hw.and_then(|h| h.cycles.first())),
                at(hw.and_then(|h| h.cycles.last())),
                c.note.clone(),
            ]);
        }
    }
    Table {
        headers: headers.iter().map(|s| (*s).to_owned()).collect(),
        rows,
        right: vec![false, false, true, true, false],
    }
}

/// What each column of the matrix means.
pub const LEGEND: &[(&str, &str)] = &[
    (
        "modeled cycles",
        "counted events x the cost model's per-event costs (the teaching clock; identical on every run)",
    ),
    (
        "x native",
        "modeled cycles / native modeled cycles of the same workload and iteration count",
    ),
    (
        "exits",
        "VM exits (hw) or traps into the monitor (trap), all reasons",
    ),
    (
        "reflected",
        "exceptions, syscalls and interrupts the monitor reflected or injected into the guest",
    ),
    (
        "hidden",
        "shadow-paging faults the monitor handled without the guest knowing",
    ),
    ("pt writes", "guest page-table writes trapped and emulated"),
    (
        "tlb miss / walk refs",
        "TLB misses and the page-walk memory references they made (8 per 2-D walk)",
    ),
    (
        "callouts / hcalls",
        "calls from translated code into the monitor (bt); paravirtual hypercalls (pv)",
    ),
    (
        "effic",
        "fraction of guest instructions the CPU ran without the monitor (Popek & Goldberg's efficiency)",
    ),
    (
        "host ms / MIPS",
        "what the emulator itself spent: host time and guest instructions per host microsecond",
    ),
    (
        "output",
        "ok when the console output equals the workload's expected output",
    ),
];
