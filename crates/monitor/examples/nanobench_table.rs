//! Modeled cycles per iteration of every nanobenchmark under native, trap,
//! hw/shadow, hw/nested, bt and pv, from the difference of runs of n and 2n
//! iterations (so boot and shutdown cancel out).
//!
//! `cargo run -p vmlab-monitor --example nanobench_table [-- COST]` (COST: a
//! preset or cost file, default `p4-2006`).

use vmlab_guest::workloads::Kind;
use vmlab_monitor::{CostModel, MemVirt, Mode, MonitorError, VmConfig};

fn cycles(
    name: &str,
    iters: u32,
    mode: Mode,
    mem: MemVirt,
    cost: &CostModel,
) -> Result<u64, MonitorError> {
    let mut c = VmConfig::for_workload(name, iters, mode)?;
    c.mem = mem;
    c.cost = cost.clone();
    let r = vmlab_monitor::run(c, 200_000_000)?;
    assert_eq!(r.exit_code, Some(0), "{name} {mode}/{mem}: {}", r.log);
    Ok(r.modeled_cycles)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let spec = std::env::args().nth(1).unwrap_or_else(|| "p4-2006".into());
    let cost = CostModel::from_spec(&spec)?;
    let columns = [
        (Mode::Native, MemVirt::None),
        (Mode::Trap, MemVirt::Shadow),
        (Mode::Hw, MemVirt::Shadow),
        (Mode::Hw, MemVirt::Nested),
        (Mode::Bt, MemVirt::Shadow),
        (Mode::Pv, MemVirt::Direct),
    ];
    println!(
        "| nanobenchmark ({}) | native | trap | hw/shadow | hw/nested | bt | pv |",
        cost.name
    );
    println!("|---|---|---|---|---|---|---|");
    for w in vmlab_guest::workloads()
        .iter()
        .filter(|w| w.kind == Kind::Nanobench)
    {
        let n = w.default_iters;
        let mut row = format!("| {} |", w.name);
        for (mode, mem) in columns {
            let a = cycles(w.name, n, mode, mem, &cost)?;
            let b = cycles(w.name, 2 * n, mode, mem, &cost)?;
            row += &format!(" {:.0} |", (b as f64 - a as f64) / f64::from(n));
        }
        println!("{row}");
    }
    Ok(())
}
