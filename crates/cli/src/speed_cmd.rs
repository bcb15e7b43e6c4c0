//! `vmlab speed`: the emulator's own speed against native Rust.

use clap::Args;
use vmlab_bench::speed::{self, SpeedOptions};

/// Measure how fast the emulator runs guest code: each bare-metal compute
/// kernel (sieve, matmul, crc32, fib) runs on the machine and the same
/// algorithm runs in Rust in the same process; both results must agree.
/// Each kernel runs on both engines (interp: the interpreter; jit: the
/// x86-64 translator, whose rows add the translation cost per instruction).
/// Reports guest MIPS and the slowdown versus native Rust, and the geometric
/// mean per engine. Build with --release: a debug build measures the
/// compiler, not the emulator.
///
/// Examples:
///   vmlab speed
///   vmlab speed --kernels fib,sieve --repeat 5
///   vmlab speed --engine jit
///   vmlab speed --json > speed.json
#[derive(Debug, Args)]
pub struct SpeedArgs {
    /// Comma-separated kernels to run (default: all).
    #[arg(long, value_delimiter = ',', value_name = "LIST")]
    kernels: Vec<String>,
    /// Runs per measurement; the fastest counts.
    #[arg(long, default_value_t = 3, value_name = "N")]
    repeat: u32,
    /// Small problem sizes (seconds become milliseconds; for smoke tests).
    #[arg(long)]
    quick: bool,
    /// Only this engine's rows: interp or jit [default: both].
    #[arg(long, value_name = "ENGINE")]
    engine: Option<vmlab_monitor::Engine>,
    /// Print a JSON array of rows instead of the table.
    #[arg(long)]
    json: bool,
}

pub fn speed(args: &SpeedArgs) -> Result<(), String> {
    let opts = SpeedOptions {
        kernels: args.kernels.clone(),
        quick: args.quick,
        repeat: args.repeat,
        engines: args
            .engine
            .map(|e| vec![e.name().to_owned()])
            .unwrap_or_default(),
    };
    if args.engine != Some(vmlab_monitor::Engine::Interp) && !vmlab_translate::JIT_AVAILABLE {
        eprintln!("notice: jit rows: no x86-64 host, the portable backend stands in");
    }
    let rows = speed::run(&opts).map_err(|e| format!("error: {e}"))?;
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&rows).map_err(|e| e.to_string())?
        );
    } else {
        if cfg!(debug_assertions) {
            eprintln!(
                "note: this is a debug build; use `cargo run --release` for meaningful figures"
            );
        }
        print!("{}", speed::render_table(&rows));
    }
    Ok(())
}
