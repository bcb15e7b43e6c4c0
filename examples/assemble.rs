//! Assemble a program with the library API, look at what came out, and check
//! that the disassembly reassembles to the same words.
//!
//! Run it with `cargo run --example assemble [FILE.s]` (default: examples/hello.s).

use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args_os()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/hello.s"));
    let assembled = vmlab::asm::assemble_file(&path, &vmlab::asm::Options::default())?;
    let image = &assembled.image;
    println!("{}: entry {:#010x}", path.display(), image.entry);
    for seg in &image.segments {
        println!(
            "  {:?} segment at {:#010x}, {} bytes",
            seg.kind,
            seg.addr,
            seg.data.len()
        );
    }
    let text = vmlab::asm::disassemble(image);
    println!("{text}");

    // The disassembler's output is itself a program: it must give the same image.
    let again = vmlab::asm::assemble_str(&text)?;
    assert_eq!(
        again.segments, image.segments,
        "disassembly did not reassemble"
    );
    println!("reassembled: identical segments");
    Ok(())
}
