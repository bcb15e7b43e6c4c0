//! Assembles the guest programs at build time with vmlab-asm's library API.
//! An assembly error fails the build with the assembler's diagnostics; every
//! file the assembler read is a rerun-if-changed trigger.

use std::path::{Path, PathBuf};

fn main() {
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("set by cargo"));
    let lib = root.join("lib");
    println!("cargo:rerun-if-changed=bare");
    println!("cargo:rerun-if-changed=lib");
    let mut failed = false;
    for name in ["sieve", "matmul", "crc32", "fib"] {
        let src = root.join("bare").join(format!("{name}.s"));
        failed |= !assemble(&src, &lib, &out.join(format!("bare_{name}.vmi")));
    }
    if failed {
        std::process::exit(1);
    }
}

/// Assembles one program; prints diagnostics and returns false on error.
fn assemble(src: &Path, include: &Path, dest: &Path) -> bool {
    let opts = vmlab_asm::Options {
        include_dirs: vec![include.to_path_buf()],
        ..Default::default()
    };
    match vmlab_asm::assemble_file(src, &opts) {
        Ok(done) => {
            for f in &done.files_read {
                println!("cargo:rerun-if-changed={}", f.display());
            }
            if let Err(e) = done.image.save_file(dest) {
                eprintln!("error: cannot write {}: {e}", dest.display());
                return false;
            }
            true
        }
        Err(diags) => {
            eprintln!("{diags}");
            eprintln!("error: guest program {} failed to assemble", src.display());
            false
        }
    }
}
