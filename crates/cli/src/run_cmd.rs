//! `vmlab run`: run a bare-metal program on the emulated machine.

use std::path::PathBuf;
use std::time::Instant;

use clap::Args;
use vmlab_isa::Profile;
use vmlab_machine::devices::{Console, Log};
use vmlab_machine::{Exit, Machine, MachineConfig};

use crate::asm_cmd::load_program;
use crate::trace::{self, Sources, TraceSet};

/// Run a guest: a bare-metal program, or a workload under the guest kernel
/// in a virtualization mode.
///
/// An existing path is a bare-metal program (a `.vmi` image, or a `.s`
/// assembled on the fly): it starts at its entry point in supervisor mode with
/// interrupts off and paging disabled, and ends when it writes the power port
/// (its exit code becomes vmlab's exit status), executes `halt`, or uses up the
/// instruction budget.
///
/// Any other word is a workload (see `vmlab list`): the guest kernel boots
/// with it under the monitor in --mode native|trap|hw, and the run reports
/// modeled cycles (counted events priced by the cost model), exits by reason
/// and efficiency.
///
/// Examples:
///   vmlab run examples/hello.s
///   vmlab run examples/hello.s --trace insns
///   vmlab run syscall --mode trap --trace exits
///   vmlab run nb-ptemod --mode hw --mem shadow --iters 1000
///   vmlab run ctxswitch --mode trap --profile legacy     # the Popek & Goldberg failure
///   vmlab run pagefault --mode hw --mem nested --cost modern --json
///   vmlab run io-disk --mode pv --trace hypercalls
///   vmlab run io-disk --mode hw --io pv --hosted
///   vmlab run nb-ptemod --mode bt --trace bt
///   vmlab run examples/hello.s --engine jit --trace bt   # host code too
///   vmlab run sieve --mode hw --engine jit     # same cycles, faster host
#[derive(Debug, Args)]
pub struct RunArgs {
    /// A program file (`.vmi` or `.s`) or a workload name.
    target: String,
    /// How the guest kernel runs a workload: native, trap (classic
    /// trap-and-emulate), hw (hardware-assisted), bt (binary translation),
    /// pv (paravirtualized kernel, Xen-style).
    #[arg(long, default_value = "native", value_name = "MODE")]
    mode: vmlab_monitor::Mode,
    /// Memory virtualization for a workload: none (native), shadow (trap,
    /// hw, bt), nested (hw), direct (pv) [default: the mode's own: hw nested].
    #[arg(long, value_name = "MEM")]
    mem: Option<vmlab_monitor::MemVirt>,
    /// I/O virtualization for a workload: emulated (every device register
    /// access exits and is emulated) or pv (console and disk rings, one
    /// notification per batch) [default: native device, pv for pv, else emulated].
    #[arg(long, value_name = "IO")]
    io: Option<vmlab_monitor::IoVirt>,
    /// Hosted (type 2) monitor: device exits go to device models on their
    /// own thread, with an extra modeled world switch each.
    #[arg(long)]
    hosted: bool,
    /// Cost model: a preset (p4-2006, modern) or a TOML/JSON file.
    #[arg(long, default_value = "p4-2006", value_name = "COST")]
    cost: String,
    /// Workload iterations [default: the workload's own small count].
    #[arg(long, value_name = "N")]
    iters: Option<u32>,
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
    /// What runs guest code: interp (the interpreter; bt's kernel code on
    /// the portable backend) or jit (vmlab-translate's x86-64 backend for
    /// all guest code of any mode). Modeled cycles and guest-visible
    /// counters are the same; only host time differs.
    #[arg(long, default_value = "interp", value_name = "ENGINE")]
    engine: vmlab_monitor::Engine,
    /// Comma-separated trace categories: insns (each instruction, its source
    /// line and the registers it changed; bare-metal programs), traps (each
    /// trap and interrupt; bare-metal programs), exits (each exit or monitor
    /// trap with reason, pc, source line, what the monitor did and its cost;
    /// workloads), hypercalls (each hypercall with arguments, result and
    /// cost), bt (each block the binary translator translates; with
    /// --engine jit also its x86-64 host code beside the guest code, as
    /// QEMU's -d in_asm,out_asm; a bare-metal program needs --engine jit).
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
    let path = PathBuf::from(&args.target);
    if !path.exists() {
        return run_workload(args);
    }
    if args.mode != vmlab_monitor::Mode::Native
        || args.mem.is_some()
        || args.iters.is_some()
        || args.io.is_some()
        || args.hosted
    {
        return Err(format!(
            "error: {} is a bare-metal program: it runs natively on the machine;              --mode, --mem, --io, --hosted and --iters apply to workloads (see `vmlab list`)",
            path.display()
        ));
    }
    if args.trace.any() && args.engine == vmlab_monitor::Engine::Jit {
        return Err(
            "error: --trace insns and traps step the interpreter; drop --engine jit to trace"
                .into(),
        );
    }
    if args.trace.bt && args.engine != vmlab_monitor::Engine::Jit {
        return Err(
            "error: --trace bt shows the blocks the binary translator compiles: for a \
             bare-metal program add --engine jit (or run a workload with --mode bt)"
                .into(),
        );
    }
    if args.trace.exits {
        return Err("error: --trace exits applies to workloads under a monitor;                     for a bare-metal program use insns or traps"
            .into());
    }
    let image = load_program(&path, &args.include, &args.define)?;
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
    } else if args.engine == vmlab_monitor::Engine::Jit && args.trace.bt {
        let mut jit = vmlab_translate::jit_engine(&mut |s| eprintln!("{s}"));
        jit.bt_mut().set_trace(true);
        let exit = m.run_with(&mut jit, args.max_insns);
        print_bt_trace(&jit.bt_mut().take_trace(), &image, args.profile);
        exit
    } else if args.engine == vmlab_monitor::Engine::Jit {
        let mut jit = vmlab_translate::jit_engine_for_bare_machine();
        m.run_with(jit.as_mut(), args.max_insns)
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
            "program": path.display().to_string(),
            "profile": args.profile.name(),
            "engine": args.engine.name(),
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

fn run_workload(args: &RunArgs) -> Result<u8, String> {
    if args.trace.insns || args.trace.traps {
        return Err(
            "error: --trace insns and traps apply to bare-metal programs; \
                    for a workload use --trace exits"
                .into(),
        );
    }
    let report = crate::workload_run::run(&crate::workload_run::WorkloadRun {
        name: &args.target,
        mode: args.mode,
        mem: args.mem,
        io: args.io,
        hosted: args.hosted,
        cost: &args.cost,
        iters: args.iters,
        mem_mib: args.mem_mib,
        profile: args.profile,
        max_insns: args.max_insns,
        trace: args.trace,
        engine: args.engine,
    })?;
    let status = match (report.exit_status, report.exit_code) {
        ("shutdown", Some(code)) => code.min(255) as u8,
        ("shutdown" | "halt", _) => 0,
        _ => 3,
    };
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?
        );
        return Ok(status);
    }
    print!("{}", report.console);
    if !report.log.is_empty() {
        eprintln!("--- kernel log ---\n{}", report.log.trim_end());
    }
    eprintln!(
        "--- {} under {}/{}, io {}{} ({} cost model, engine {}): {}{}",
        report.workload,
        report.mode,
        report.mem,
        report.io,
        if report.hosted { ", hosted" } else { "" },
        report.cost,
        report.engine,
        report.exit_status,
        report
            .exit_code
            .map(|c| format!(" with exit code {c:#x}"))
            .unwrap_or_default()
    );
    eprintln!(
        "    {} guest instructions, {} modeled cycles, efficiency {:.2}% (guest instructions run without the monitor), host {:.1} ms",
        report.guest_instructions,
        report.modeled_cycles,
        report.efficiency * 100.0,
        report.host_ns as f64 / 1e6
    );
    let breakdown = serde_json::to_value(&report.breakdown).map_err(|e| e.to_string())?;
    if let Some(cats) = breakdown.get("categories").and_then(|c| c.as_object()) {
        let parts: Vec<String> = cats
            .iter()
            .filter(|(_, v)| v.as_u64().unwrap_or(0) > 0)
            .map(|(k, v)| format!("{k} {v}"))
            .collect();
        eprintln!("    cycles by category: {}", parts.join(", "));
    }
    let counters = serde_json::to_value(&report.counters).map_err(|e| e.to_string())?;
    if let Some(exits) = counters.get("exits").and_then(|e| e.as_object()) {
        let parts: Vec<String> = exits.iter().map(|(k, v)| format!("{k} {v}")).collect();
        if !parts.is_empty() {
            eprintln!("    exits: {}", parts.join(", "));
        }
    }
    if status == 3 {
        eprintln!(
            "error: the run did not finish within --max-insns {}",
            args.max_insns
        );
    }
    Ok(status)
}

/// `--trace bt` for a bare-metal program under `--engine jit`: each block as
/// the translator saw it, then its host code beside the guest code (QEMU's
/// `-d in_asm,out_asm`).
fn print_bt_trace(
    events: &[vmlab_translate::TraceEvent],
    image: &vmlab_asm::Image,
    profile: Profile,
) {
    use vmlab_translate::TraceEvent;
    for ev in events {
        match ev {
            TraceEvent::Translated(t) => {
                let text = vmlab_translate::render_translation(t, Some(image), profile);
                println!("bt: translated {}", text.trim_end());
            }
            TraceEvent::Code { va, lines } => {
                println!("bt: host code of block {va:#010x}:");
                for l in lines {
                    println!("  {l}");
                }
            }
            TraceEvent::Adaptive { .. } => {}
        }
    }
}
