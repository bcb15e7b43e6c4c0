//! `vmlab asm` and `vmlab disasm`.

use std::path::{Path, PathBuf};

use clap::Args;
use vmlab_asm::{Image, Options};

/// Assemble a source file into a vmlab image.
///
/// Errors are reported with file:line:col, the source line and a caret; every
/// error in the file is listed, and the exit status is non-zero.
///
/// Example:
///   vmlab asm examples/hello.s -o hello.vmi -D ITERATIONS=10
#[derive(Debug, Args)]
pub struct AsmArgs {
    /// The assembly source (`.s`).
    file: PathBuf,
    /// Where to write the image [default: FILE with the extension `.vmi`].
    #[arg(short, long, value_name = "OUT")]
    output: Option<PathBuf>,
    /// Add a directory to the `.include` search path (repeatable).
    #[arg(short = 'I', long = "include", value_name = "DIR")]
    include: Vec<PathBuf>,
    /// Define a symbol for `.if`/`.ifdef` and expressions: NAME=VALUE or NAME (=1). Repeatable.
    #[arg(short = 'D', long = "define", value_name = "NAME=VALUE")]
    define: Vec<String>,
}

/// Disassemble an image (or a `.s` file, assembled first) to assembly text that
/// reassembles to the same words.
///
/// Example:
///   vmlab disasm hello.vmi
///   vmlab disasm examples/hello.s
#[derive(Debug, Args)]
pub struct DisasmArgs {
    /// A `.vmi` image, or a `.s` source to assemble first.
    file: PathBuf,
    /// Include directories when FILE is a source (repeatable).
    #[arg(short = 'I', long = "include", value_name = "DIR")]
    include: Vec<PathBuf>,
    /// Defines when FILE is a source: NAME=VALUE or NAME. Repeatable.
    #[arg(short = 'D', long = "define", value_name = "NAME=VALUE")]
    define: Vec<String>,
}

fn options(include: &[PathBuf], define: &[String]) -> Result<Options, String> {
    let mut opts = Options {
        include_dirs: include.to_vec(),
        ..Options::default()
    };
    for d in define {
        opts.defines
            .push(vmlab_asm::parse_define(d).map_err(|e| format!("error: -D {d}: {e}"))?);
    }
    Ok(opts)
}

/// Assembles `path` and returns the image.
pub fn assemble(path: &Path, include: &[PathBuf], define: &[String]) -> Result<Image, String> {
    let opts = options(include, define)?;
    match vmlab_asm::assemble_file(path, &opts) {
        Ok(a) => Ok(a.image),
        Err(diags) => {
            let n = diags
                .0
                .iter()
                .filter(|d| d.severity == vmlab_asm::Severity::Error)
                .count();
            Err(format!(
                "{diags}\nerror: could not assemble {}: {n} error{}",
                path.display(),
                if n == 1 { "" } else { "s" }
            ))
        }
    }
}

/// Loads an image file, or assembles a source file (anything not starting
/// with the image magic).
pub fn load_program(path: &Path, include: &[PathBuf], define: &[String]) -> Result<Image, String> {
    let bytes =
        std::fs::read(path).map_err(|e| format!("error: cannot read {}: {e}", path.display()))?;
    if bytes.starts_with(&vmlab_asm::MAGIC) {
        Image::from_bytes(&bytes).map_err(|e| format!("error: {}: {e}", path.display()))
    } else {
        assemble(path, include, define)
    }
}

pub fn asm(args: &AsmArgs) -> Result<(), String> {
    let image = assemble(&args.file, &args.include, &args.define)?;
    let out = args
        .output
        .clone()
        .unwrap_or_else(|| args.file.with_extension("vmi"));
    image.save_file(&out).map_err(|e| format!("error: {e}"))?;
    let bytes: usize = image.segments.iter().map(|s| s.data.len()).sum();
    println!(
        "assembled {} -> {}: {} segment(s), {bytes} bytes, {} symbol(s), entry {:#010x}",
        args.file.display(),
        out.display(),
        image.segments.len(),
        image.symbols.len(),
        image.entry
    );
    Ok(())
}

pub fn disasm(args: &DisasmArgs) -> Result<(), String> {
    let image = load_program(&args.file, &args.include, &args.define)?;
    print!("{}", vmlab_asm::disassemble(&image));
    Ok(())
}
