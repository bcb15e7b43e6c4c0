//! results.csv: one line per row of the matrix, flat columns, the breakdown
//! as one column per category and the exits as `reason=count;...`.

use std::fmt::Write as _;

use vmlab_monitor::Category;

use crate::run::BenchReport;

/// Quotes a field if it needs it (RFC 4180).
fn field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

/// `report.rows` as CSV with a header line.
pub fn render(report: &BenchReport) -> String {
    let mut out = String::from(
        "workload,kind,iters,mode,profile,mem,io,hosted,engine,cost,guest_instructions,\
         modeled_cycles,overhead_vs_native,efficiency,host_ns,guest_mips,output_ok,\
         exits_total,traps_reflected,hidden_faults,reflected_faults,pt_write_traps,\
         tlb_misses,walk_refs,callouts,hypercalls,translations",
    );
    for c in Category::ALL {
        let _ = write!(out, ",cycles_{}", c.name().replace(' ', "_"));
    }
    out.push_str(",exits_by_reason,divergence\n");
    for r in &report.rows {
        let c = &r.counters;
        let cells = [
            r.workload.to_owned(),
            r.kind.to_owned(),
            r.iters.to_string(),
            r.mode.to_owned(),
            r.profile.to_owned(),
            r.mem.to_owned(),
            r.io.to_owned(),
            r.hosted.to_string(),
            r.engine.to_owned(),
            r.cost.clone(),
            r.guest_instructions.to_string(),
            r.modeled_cycles.to_string(),
            r.overhead_vs_native
                .map_or_else(String::new, |o| format!("{o:.6}")),
            format!("{:.6}", r.efficiency),
            r.host_ns.to_string(),
            format!("{:.3}", r.guest_mips),
            r.output_ok.to_string(),
            c.report.exits_total.to_string(),
            c.report.traps_reflected.to_string(),
            c.report.hidden_faults.to_string(),
            c.report.reflected_faults.to_string(),
            c.report.pt_write_traps.to_string(),
            c.report.tlb_misses.to_string(),
            c.report.walk_refs.to_string(),
            c.report.callouts.to_string(),
            c.hypercalls.to_string(),
            c.translations.to_string(),
        ];
        let mut line: Vec<String> = cells.iter().map(|s| field(s)).collect();
        line.extend(
            Category::ALL
                .iter()
                .map(|&cat| r.breakdown.category(cat).to_string()),
        );
        let exits: Vec<String> = c
            .report
            .exits
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        line.push(field(&exits.join(";")));
        line.push(field(
            &r.divergence.as_ref().map_or_else(String::new, |d| {
                format!("{} {:?}: {}", d.exit_status, d.exit_code, d.log_message)
            }),
        ));
        out.push_str(&line.join(","));
        out.push('\n');
    }
    out
}
