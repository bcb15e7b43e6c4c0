//! `vmlab translate`: one block through the binary translator, offline.

use std::path::PathBuf;

use clap::Args;
use vmlab_isa::Profile;

use crate::asm_cmd::load_program;

/// Show how the binary translator (bt mode) translates the kernel block at
/// an address: the guest instructions with their source lines, beside their
/// translation, with callouts into the monitor and inline virtual-CPU
/// operations marked, and the block's exits (chainable direct branches,
/// indirect lookups).
///
/// Without --addr, the block at the image's entry point is shown; the
/// address may be a number or a symbol of the image.
///
/// Examples:
///   vmlab translate examples/hello.s
///   vmlab translate kernel.vmi --addr trap_entry
///   vmlab translate prog.s --addr 0x40 --profile legacy
#[derive(Debug, Args)]
pub struct TranslateArgs {
    /// A `.vmi` image or a `.s` source.
    file: PathBuf,
    /// The block's address: a number (0x.. or decimal) or a symbol.
    #[arg(long, value_name = "ADDR")]
    addr: Option<String>,
    /// ISA profile: strict or legacy (the translation of getf/setf is the same
    /// in both: that is the point of binary translation).
    #[arg(long, default_value = "strict", value_name = "PROFILE")]
    profile: Profile,
    /// Include directories when FILE is a source (repeatable).
    #[arg(short = 'I', long = "include", value_name = "DIR")]
    include: Vec<PathBuf>,
    /// Defines when FILE is a source: NAME=VALUE or NAME. Repeatable.
    #[arg(short = 'D', long = "define", value_name = "NAME=VALUE")]
    define: Vec<String>,
}

fn parse_addr(image: &vmlab_asm::Image, text: &str) -> Result<u32, String> {
    let number = if let Some(hex) = text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        u32::from_str_radix(&hex.replace('_', ""), 16).ok()
    } else {
        text.replace('_', "").parse::<u32>().ok()
    };
    number
        .or_else(|| image.symbol(text).map(|s| s.value))
        .ok_or_else(|| format!("error: --addr {text}: not a number and not a symbol of the image"))
}

pub fn translate(args: &TranslateArgs) -> Result<(), String> {
    let image = load_program(&args.file, &args.include, &args.define)?;
    let addr = match &args.addr {
        Some(text) => parse_addr(&image, text)?,
        None => image.entry,
    };
    let text = vmlab_translate::describe_block(&image, addr, args.profile)
        .map_err(|e| format!("error: {e}"))?;
    print!("{text}");
    Ok(())
}
