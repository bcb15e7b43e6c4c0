//! `vmlab`: assemble, disassemble, run and measure guest programs. Thin
//! wiring over the library crates: anything a library user would need lives
//! in a library.

#![forbid(unsafe_code)]

mod asm_cmd;
mod bench_cmd;
mod list_cmd;
mod run_cmd;
mod speed_cmd;
mod trace;
mod translate_cmd;
mod workload_run;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// vmlab: a virtualization teaching lab.
///
/// A small guest ISA, an emulated machine with VT-x-like virtualization
/// extensions, and (as they land) a monitor that runs guests by
/// trap-and-emulate, hardware assistance, binary translation and
/// paravirtualization, with benchmarks that compare what each costs.
#[derive(Debug, Parser)]
#[command(name = "vmlab", version, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    Asm(asm_cmd::AsmArgs),
    Bench(bench_cmd::BenchArgs),
    Disasm(asm_cmd::DisasmArgs),
    List(list_cmd::ListArgs),
    Run(run_cmd::RunArgs),
    Speed(speed_cmd::SpeedArgs),
    Translate(translate_cmd::TranslateArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Asm(args) => asm_cmd::asm(&args).map(|()| 0),
        Command::Bench(args) => bench_cmd::bench(&args).map(|()| 0),
        Command::Disasm(args) => asm_cmd::disasm(&args).map(|()| 0),
        Command::List(args) => list_cmd::list(&args).map(|()| 0),
        Command::Run(args) => run_cmd::run(&args),
        Command::Speed(args) => speed_cmd::speed(&args).map(|()| 0),
        Command::Translate(args) => translate_cmd::translate(&args).map(|()| 0),
    };
    match result {
        Ok(status) => ExitCode::from(status),
        Err(e) => {
            eprintln!("{e}");
            ExitCode::FAILURE
        }
    }
}
