//! `vmlab bench`: every workload under every virtualization technique, the
//! nanobenchmark table and the exit-cost sweep (docs/bench.md).

use std::path::PathBuf;

use clap::Args;
use vmlab_bench::report::{self, Format};
use vmlab_bench::{BenchOptions, split_list};

/// Run the benchmark matrix: workloads x modes x memory options, cells in
/// parallel, each cell's output checked; then the nanobenchmark table
/// (Adams & Agesen's shape, the paper's figures beside ours under p4-2006)
/// and, when asked, the exit-cost sweep.
///
/// Examples:
///   vmlab bench
///   vmlab bench --quick --workloads syscall,pagefault --modes native,hw/shadow
///   vmlab bench --sweep exit-cost --out bench-out
///   vmlab bench --cost modern --json
#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Comma-separated workloads (default: all; `vmlab list` shows them).
    #[arg(long, value_name = "LIST")]
    workloads: Option<String>,
    /// Comma-separated modes, each optionally with a memory option
    /// (`native,trap,hw/nested`); default: every mode with every memory
    /// option it accepts.
    #[arg(long, value_name = "LIST")]
    modes: Option<String>,
    /// Comma-separated I/O options: emulated, pv (paravirtual rings); each
    /// mode runs those it accepts. Default: each mode's own (native the
    /// devices, pv the rings, the others emulated).
    #[arg(long, value_name = "LIST")]
    io: Option<String>,
    /// Also run every mode that has a monitor hosted (type 2): device exits
    /// go to a user-space device model.
    #[arg(long)]
    hosted: bool,
    /// Cost model: a preset (p4-2006, modern) or a .toml/.json cost file.
    #[arg(long, value_name = "MODEL", default_value = "p4-2006")]
    cost: String,
    /// ISA profile: strict (a wrong output fails the run) or legacy (trap
    /// cells diverge, on purpose, and are reported as diverged).
    #[arg(long, value_name = "PROFILE", default_value = "strict")]
    profile: String,
    /// Engine: interp (the interpreter; bt on the portable backend) or jit
    /// (the x86-64 translator for all guest code; same modeled cycles).
    #[arg(long, value_name = "ENGINE", default_value = "interp")]
    engine: String,
    /// Small iteration counts (each workload's default_iters): seconds, for CI.
    #[arg(long)]
    quick: bool,
    /// Add a sweep: exit-cost (the VM exit cost from 2006 to modern).
    #[arg(long, value_name = "SWEEP")]
    sweep: Option<String>,
    /// Output format on stdout: table, md, json, csv.
    #[arg(long, value_name = "FORMAT", default_value = "table")]
    format: String,
    /// Short for --format json.
    #[arg(long)]
    json: bool,
    /// Also write report.md, results.json, results.csv and SVG charts here.
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Worker threads (default: one per core).
    #[arg(long, value_name = "N", default_value_t = 0)]
    threads: usize,
}

pub fn bench(args: &BenchArgs) -> Result<(), String> {
    let err = |e: vmlab_bench::BenchError| format!("error: {e}");
    let mut opts = BenchOptions {
        workloads: args
            .workloads
            .as_deref()
            .map(|l| split_list(l).map(str::to_owned).collect())
            .unwrap_or_default(),
        modes: args
            .modes
            .as_deref()
            .map(BenchOptions::parse_modes)
            .transpose()
            .map_err(err)?
            .unwrap_or_default(),
        io: args
            .io
            .as_deref()
            .map(|l| split_list(l).map(str::to_owned).collect())
            .unwrap_or_default(),
        hosted: args.hosted,
        profile: BenchOptions::parse_profile(&args.profile).map_err(err)?,
        engine: args.engine.parse().map_err(err)?,
        quick: args.quick,
        sweep: args
            .sweep
            .as_deref()
            .map(str::parse)
            .transpose()
            .map_err(err)?,
        threads: args.threads,
        progress: true,
        ..BenchOptions::default()
    };
    opts.set_cost(&args.cost).map_err(err)?;
    let format: Format = if args.json {
        Format::Json
    } else {
        args.format.parse().map_err(err)?
    };
    let report = vmlab_bench::run(&opts).map_err(err)?;
    print!("{}", report::render(&report, format));
    if let Some(dir) = &args.out {
        let files = report::write_dir(&report, dir).map_err(err)?;
        for f in files {
            eprintln!("wrote {}", f.display());
        }
    }
    eprintln!(
        "wall time: {:.2} s for {} cells",
        report.wall_ms as f64 / 1000.0,
        report.cells_run
    );
    Ok(())
}
