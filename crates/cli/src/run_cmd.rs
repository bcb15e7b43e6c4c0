//! `vmlab run`: run a bare-metal program on the emulated machine.

use std::path::PathBuf;
use std::time::Instant;

use clap::Args;
use vmlab_isa::Profile;
use vmlab_machine::devices::{Console, Log};
use vmlab_machine::{Exit, Machine, MachineConfig};

use crate::asm_cmd::load_program;
use crate::trace::{self, Sources, TraceSet};

/// Run a bare-metal program (an image, or a `.s` assembled on the fly) on the
/// emulated machine and print its console output.
///
/// The program starts at its entry point in supervisor mode with interrupts
/// off and paging disabled; it ends when it writes the power port (its exit
/// code becomes vmlab's exit status), executes `halt`, or uses up the
/// instruction budget.
///
/// Examples:
///   vmlab run examples/hello.s
///   vmlab run examples/hello.s --trace insns
///   vmlab run prog.vmi --profile legacy --max-insns 1000000 --json
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The program: a `.vmi` image or a `.s` source.
    file: PathBuf,
    /// ISA profile: `strict` (every sensitive instruction is privileged) or
    /// `legacy` (x86-like: getf/setf are not).
    #[arg(long, default_value = "strict", value_name = "PROFILE")]
    profile: Profile,
    /// Machine RAM in MiB.
    #[arg(long, default_value_t = 16, value_name = "N")]
    mem_mib: u64,
    /// Stop after this many guest instructions (a guest that spins forever
    /// cannot hang the host).
    #[arg(long, default_value_t = 1_000_000_000, value_name = "N")]
    max_insns: u64,
    /// Comma-separated trace categories: insns (each instruction, its source
    /// line and the registers it changed), traps (each trap and interrupt).
    #[arg(long, value_name = "LIST", default_value = "")]
    trace: TraceSet,
    /// Print one JSON object (console, exit code, counters, host time) instead of text.
    #[arg(long)]
    json: bool,
    /// Include directories when FILE is a source (repeatable).
    #[arg(short = 'I', long = "include", value_name = "DIR")]
    include: Vec<PathBuf>,
    /// Defines when FILE is a source: NAME=VALUE or NAME. Repeatable.
    #[arg(short = 'D', long = "define", value_name = "NAME=VALUE")]
    define: Vec<String>,
}

/// How the run ended, for the exit status.
fn describe(exit: &Exit, max_insns: u64) -> (String, Option<u32>, u8) {
    match *exit {
        Exit::Shutdown { code } => (
            format!("powered off with exit code {code}"),
            Some(code),
            code.min(255) as u8,
        ),
        Exit::Halt => ("halted".into(), None, 0),
        Exit::BudgetExhausted => (
            format!(
                "error: the instruction budget ran out after {max_insns} instructions \
                 (raise it with --max-insns, or look for a loop that never ends)"
            ),
            None,
            3,
        ),
        Exit::Idle => (
            "error: the guest waits (wfi) for an interrupt that can never arrive \
             (is the timer enabled in ienable, and timecmp in the future?)"
                .into(),
            None,
            4,
        ),
        other => (
            format!("error: the bare machine stopped with an unexpected exit: {other:?}"),
            None,
            5,
        ),
    }
}

pub fn run(args: &RunArgs) -> Result<u8, String> {
    let image = load_program(&args.file, &args.include, &args.define)?;
    let config = MachineConfig {
        ram_bytes: args
            .mem_mib
            .checked_mul(1 << 20)
            .ok_or("error: --mem-mib is too large")?,
        profile: args.profile,
        ..MachineConfig::default()
    };
    let mut m = Machine::bare_metal(&image, config).map_err(|e| format!("error: {e}"))?;

    let start = Instant::now();
    let exit = if args.trace.any() {
        let mut sources = Sources::default();
        let mut exit = Exit::BudgetExhausted;
        for _ in 0..args.max_insns {
            exit = trace::step(&mut m, &image, args.trace, &mut sources);
            if exit != Exit::BudgetExhausted {
                break;
            }
        }
        exit
    } else {
        m.run(args.max_insns)
    };
    let host_ns = start.elapsed().as_nanos() as u64;

    let console = m
        .bus()
        .get::<Console>()
        .map(|c| c.output().to_vec())
        .unwrap_or_default();
    let log = m
        .bus()
        .get::<Log>()
        .map(|l| l.output().to_vec())
        .unwrap_or_default();
    let (message, exit_code, status) = describe(&exit, args.max_insns);
    let counters = m.counters();

    if args.json {
        let counters: serde_json::Map<String, serde_json::Value> = counters
            .iter()
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.into()))
            .collect();
        let out = serde_json::json!({
            "program": args.file.display().to_string(),
            "profile": args.profile.name(),
            "console": String::from_utf8_lossy(&console),
            "log": String::from_utf8_lossy(&log),
            "exit": exit.reason(),
            "exit_code": exit_code,
            "message": message,
            "guest_instructions": m.instret(),
            "host_ns": host_ns,
            "counters": counters,
        });
        println!(
            "{}",
            serde_json::to_string_pretty(&out).map_err(|e| e.to_string())?
        );
        return Ok(status);
    }

    print!("{}", String::from_utf8_lossy(&console));
    if !log.is_empty() {
        eprintln!(
            "--- kernel log ---\n{}",
            String::from_utf8_lossy(&log).trim_end()
        );
    }
    let mips = m.instret() as f64 / host_ns.max(1) as f64 * 1000.0;
    eprintln!(
        "--- {message}; {} instructions in {:.3} ms ({mips:.1} MIPS)",
        m.instret(),
        host_ns as f64 / 1e6
    );
    if status != 0 && exit_code.is_none() {
        // On failure, the counters help to see what the guest was doing.
        for (name, value) in counters.iter().into_iter().filter(|(_, v)| *v != 0) {
            eprintln!("    {name:<32} {value}");
        }
    }
    Ok(status)
}
