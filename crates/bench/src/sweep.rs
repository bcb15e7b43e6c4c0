//! The exit-cost sweep: the VM exit round-trip cost from first-generation
//! VT-x (p4-2006) down to a modern one, and where hardware assistance
//! overtakes binary translation.
//!
//! The guest is not re-run per cost. Modeled cycles are counted events x
//! costs, and the events a run counts do not depend on the prices (the
//! timer counts guest instructions, never cycles), so each row's
//! [`Breakdown`] counts are re-priced with the swept model. Hardware
//! assistance is linear in the exit cost, so the crossover is solved exactly.

use serde::Serialize;
use vmlab_monitor::{Breakdown, CostModel, Event};

use crate::cell::Row;

/// Points of the sweep.
pub const STEPS: usize = 8;

/// One workload under one mode across the sweep.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Series {
    /// The workload.
    pub workload: &'static str,
    /// `mode/mem`.
    pub config: String,
    /// VM exits the run counted (the slope of its line).
    pub vm_exits: u64,
    /// Modeled cycles at each swept exit cost.
    pub cycles: Vec<u64>,
}

/// Where hardware assistance overtakes binary translation on one workload.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Crossover {
    /// The workload.
    pub workload: &'static str,
    /// The hardware configuration (`hw/shadow`, `hw/nested`).
    pub hw: String,
    /// The exit cost below which hw is cheaper than bt; `null` when bt has
    /// no result.
    pub vm_exit: Option<f64>,
    /// What the numbers say, in words.
    pub note: String,
}

/// The sweep (`sweep` in results.json).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SweepReport {
    /// The swept cost field.
    pub parameter: &'static str,
    /// Its values, first-generation first.
    pub values: Vec<u64>,
    /// One series per (workload, mode) among native, hw and bt.
    pub series: Vec<Series>,
    /// One per workload and hw configuration.
    pub crossovers: Vec<Crossover>,
}

/// The swept exit costs: from the larger of `cost`'s and p4-2006's value
/// down to modern's, in [`STEPS`] even steps.
pub fn exit_costs(cost: &CostModel) -> Vec<u64> {
    let p4 = CostModel::preset("p4-2006").map_or(15_646, |m| m.vm_exit);
    let modern = CostModel::preset("modern").map_or(1_360, |m| m.vm_exit);
    let hi = cost.vm_exit.max(p4);
    let lo = modern.min(hi);
    let span = hi - lo;
    (0..STEPS as u64)
        .map(|i| hi - span * i / (STEPS as u64 - 1))
        .collect()
}

/// `b`'s counts priced by `model`.
pub fn reprice(b: &Breakdown, model: &CostModel) -> u64 {
    let mut out = Breakdown::new(model);
    for (event, count, _) in b.events() {
        out.add(event, count);
    }
    out.total()
}

/// Sweeps `rows` (native, hw and bt rows with a correct output).
pub fn sweep(rows: &[Row], cost: &CostModel) -> SweepReport {
    let values = exit_costs(cost);
    let swept: Vec<&Row> = rows
        .iter()
        .filter(|r| r.output_ok && r.is_plain() && matches!(r.mode, "native" | "hw" | "bt"))
        .collect();
    let series: Vec<Series> = swept
        .iter()
        .map(|r| Series {
            workload: r.workload,
            config: format!("{}/{}", r.mode, r.mem),
            vm_exits: r.breakdown.count(Event::VmExit),
            cycles: values
                .iter()
                .map(|&v| {
                    let mut m = cost.clone();
                    m.set_cost(Event::VmExit, v);
                    reprice(&r.breakdown, &m)
                })
                .collect(),
        })
        .collect();
    let mut crossovers = Vec::new();
    for hw in swept.iter().filter(|r| r.mode == "hw") {
        let bt = swept
            .iter()
            .find(|r| r.mode == "bt" && r.workload == hw.workload && r.iters == hw.iters);
        crossovers.push(crossover(hw, bt.copied(), cost, &values));
    }
    SweepReport {
        parameter: "vm_exit",
        values,
        series,
        crossovers,
    }
}

fn crossover(hw: &Row, bt: Option<&Row>, cost: &CostModel, values: &[u64]) -> Crossover {
    let config = format!("hw/{}", hw.mem);
    let Some(bt) = bt else {
        return Crossover {
            workload: hw.workload,
            hw: config,
            vm_exit: None,
            note: "bt not yet available".to_owned(),
        };
    };
    // cycles(x) = fixed + exits * x for each; solve hw(x) = bt(x).
    let line = |r: &Row| {
        let k = r.breakdown.count(Event::VmExit) as f64;
        (r.modeled_cycles as f64 - k * cost.vm_exit as f64, k)
    };
    let ((a_hw, k_hw), (a_bt, k_bt)) = (line(hw), line(bt));
    let (hi, lo) = (values[0] as f64, values[values.len() - 1] as f64);
    let at = |x: f64| (a_hw + k_hw * x, a_bt + k_bt * x);
    let (vm_exit, note) = if (k_hw - k_bt).abs() < f64::EPSILON {
        let (h, b) = at(hi);
        (
            None,
            if h <= b {
                "hw is cheaper at every exit cost"
            } else {
                "bt is cheaper at every exit cost"
            }
            .to_owned(),
        )
    } else {
        let x = (a_bt - a_hw) / (k_hw - k_bt);
        let (h_hi, b_hi) = at(hi);
        if h_hi <= b_hi {
            (
                Some(x),
                "hw already wins on first-generation hardware".to_owned(),
            )
        } else if x <= 0.0 {
            (
                None,
                "bt wins even with free exits: hw's extra cost here is not its exits (two-dimensional walks, device work)".to_owned(),
            )
        } else if x >= lo {
            (
                Some(x),
                format!("hw overtakes bt below {x:.0} cycles per exit"),
            )
        } else {
            (
                Some(x),
                format!(
                    "bt still wins at modern exit costs (hw would need {x:.0} cycles per exit)"
                ),
            )
        }
    };
    Crossover {
        workload: hw.workload,
        hw: config,
        vm_exit,
        note,
    }
}
