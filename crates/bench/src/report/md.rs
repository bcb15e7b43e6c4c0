//! report.md: the same tables as the terminal report, in Markdown, with
//! the charts embedded.

use std::fmt::Write as _;

use super::{LEGEND, Table, breakdown_table, disagreements, matrix_table, nanobench_table};
use crate::run::BenchReport;

/// `table` as a Markdown pipe table.
pub fn markdown(table: &Table) -> String {
    let esc = |s: &str| s.replace('|', "\\|");
    let mut out = String::new();
    let head: Vec<String> = table.headers.iter().map(|h| esc(h)).collect();
    let _ = writeln!(out, "| {} |", head.join(" | "));
    let rule: Vec<&str> = (0..table.headers.len())
        .map(|i| {
            if table.right.get(i).copied().unwrap_or(false) {
                "---:"
            } else {
                "---"
            }
        })
        .collect();
    let _ = writeln!(out, "| {} |", rule.join(" | "));
    for row in &table.rows {
        let cells: Vec<String> = row.iter().map(|c| esc(c)).collect();
        let _ = writeln!(out, "| {} |", cells.join(" | "));
    }
    out
}

/// The Markdown report; `charts` are SVG file names to embed (report.md
/// sits beside them).
pub fn render(r: &BenchReport, charts: Option<&[String]>) -> String {
    let mut out = String::from("# vmlab bench\n\n");
    let _ = writeln!(
        out,
        "Cost model `{}`, profile `{}`, engine `{}`{}; {} cells in {:.1} s.\n",
        r.cost,
        r.profile,
        r.engine,
        if r.quick {
            ", quick (default iterations)"
        } else {
            ""
        },
        r.cells_run,
        r.wall_ms as f64 / 1000.0
    );
    if !r.not_yet_available.is_empty() {
        let _ = writeln!(
            out,
            "Not yet available: {}.\n",
            r.not_yet_available.join(", ")
        );
    }
    for note in &r.notes {
        let _ = writeln!(out, "Note: {note}\n");
    }
    out.push_str("## The matrix\n\n");
    out.push_str(&markdown(&matrix_table(r)));
    out.push('\n');
    for (col, what) in LEGEND {
        let _ = writeln!(out, "- **{col}**: {what}");
    }
    out.push_str("\n## Where the modeled cycles went\n\nPercent of each row's modeled cycles, by category (docs/cost-model.md).\n\n");
    out.push_str(&markdown(&breakdown_table(r)));
    if !r.nanobench.is_empty() {
        out.push_str(
            "\n## Nanobenchmarks\n\nModeled cycles per iteration, (cycles(2n) - cycles(n)) / n. \
             In brackets, Adams & Agesen's figure (ASPLOS 2006): **C** calibrated a constant of \
             the preset, **V** was left to validate the model, **!** marks a disagreement \
             explained below.\n\n",
        );
        out.push_str(&markdown(&nanobench_table(r)));
        let why = disagreements(r);
        if !why.is_empty() {
            out.push_str("\nWhere ours and the paper's disagree, and why:\n\n");
            for w in why {
                let _ = writeln!(out, "- {w}");
            }
        }
    }
    if let Some(s) = &r.sweep {
        let _ = writeln!(
            out,
            "\n## Exit-cost sweep\n\n`vm_exit` from {} down to {} cycles in {} steps; counts re-priced, guests not re-run.\n",
            s.values.first().copied().unwrap_or(0),
            s.values.last().copied().unwrap_or(0),
            s.values.len()
        );
        out.push_str(&markdown(&super::sweep_table(r)));
    }
    if let Some(charts) = charts {
        out.push_str("\n## Charts\n\n");
        for name in charts {
            let _ = writeln!(out, "![{name}]({name})\n");
        }
    }
    out
}
