//! `vmlab`: assemble, disassemble and (as the machine and monitor land) run and
//! benchmark guest programs. Thin wiring over the library crates.

mod asm_cmd;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// vmlab: a virtualization teaching lab.
///
/// A small guest ISA, an emulated machine, and (as they land) a monitor that
/// runs guests by trap-and-emulate, hardware assistance, binary translation and
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
    Disasm(asm_cmd::DisasmArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Asm(args) => asm_cmd::asm(&args),
        Command::Disasm(args) => asm_cmd::disasm(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{e}");
            ExitCode::FAILURE
        }
    }
}
