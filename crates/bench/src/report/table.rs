//! The terminal report: the matrix, where the cycles went, the
//! nanobenchmark table, the sweep, and a legend.

use std::fmt::Write as _;

use super::{LEGEND, Table, breakdown_table, disagreements, matrix_table, nanobench_table};
use crate::run::BenchReport;

/// `table` as aligned text, two spaces between columns.
pub fn text(table: &Table) -> String {
    let n = table.headers.len();
    let mut width: Vec<usize> = table.headers.iter().map(|h| h.chars().count()).collect();
    for row in &table.rows {
        for (i, cell) in row.iter().enumerate().take(n) {
            width[i] = width[i].max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let line = |cells: &[String], out: &mut String| {
        let mut s = String::new();
        for (i, cell) in cells.iter().enumerate().take(n) {
            let pad = width[i] - cell.chars().count();
            if i > 0 {
                s.push_str("  ");
            }
            if table.right.get(i).copied().unwrap_or(false) {
                s.push_str(&" ".repeat(pad));
                s.push_str(cell);
            } else {
                s.push_str(cell);
                s.push_str(&" ".repeat(pad));
            }
        }
        out.push_str(s.trim_end());
        out.push('\n');
    };
    line(&table.headers, &mut out);
    let rule: Vec<String> = width.iter().map(|w| "-".repeat(*w)).collect();
    line(&rule, &mut out);
    for row in &table.rows {
        line(row, &mut out);
    }
    out
}

/// The whole terminal report.
pub fn render(r: &BenchReport) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "vmlab bench: cost model {}, profile {}, engine {}{}\n",
        r.cost,
        r.profile,
        r.engine,
        if r.quick {
            ", quick (default iterations)"
        } else {
            ""
        }
    );
    out.push_str(&text(&matrix_table(r)));
    out.push_str("\nWhere the modeled cycles went (percent of each row's total):\n\n");
    out.push_str(&text(&breakdown_table(r)));
    if !r.nanobench.is_empty() {
        out.push_str(
            "\nNanobenchmarks (Adams & Agesen's table): modeled cycles per iteration, \
             (cycles(2n) - cycles(n)) / n.\n",
        );
        if r.nanobench.iter().any(|n| n.paper.is_some()) {
            out.push_str(
                "[paper figure, C = used to calibrate the preset, V = left to validate it, \
                 ! = disagrees, reason below]\n",
            );
        }
        out.push('\n');
        out.push_str(&text(&nanobench_table(r)));
        let why = disagreements(r);
        if !why.is_empty() {
            out.push_str("\nWhere ours and the paper's disagree, and why:\n");
            for w in why {
                let _ = writeln!(out, "  - {w}");
            }
        }
    }
    if let Some(s) = &r.sweep {
        let _ = writeln!(
            out,
            "\nExit-cost sweep: vm_exit from {} down to {} cycles ({} steps); x native at the first and last step.",
            s.values.first().copied().unwrap_or(0),
            s.values.last().copied().unwrap_or(0),
            s.values.len()
        );
        out.push('\n');
        out.push_str(&text(&super::sweep_table(r)));
    }
    out.push_str("\nLegend:\n");
    for (col, what) in LEGEND {
        let _ = writeln!(out, "  {col:<22} {what}");
    }
    if !r.not_yet_available.is_empty() {
        let _ = writeln!(
            out,
            "\nnot yet available: {}",
            r.not_yet_available.join(", ")
        );
    }
    for note in &r.notes {
        let _ = writeln!(out, "note: {note}");
    }
    out
}
