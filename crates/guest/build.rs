//! Assembles the guest software at build time with vmlab-asm's library API.
//!
//! - `bare/NAME.s`: bare-metal programs -> `bare_NAME.vmi`
//! - `user/NAME.s`: user programs run by the kernel -> `user_NAME.vmi`
//! - `kernel/main.s`: the kernel, three builds -> `kernel_full.vmi`
//!   (no defines), `kernel_pv_io.vmi` (`PV_IO`), `kernel_pv.vmi`
//!   (`PV_CPU` and `PV_IO`)
//!
//! The paravirtual ABI's constants come from `vmlab_isa::abi` (the single
//! source of truth): this script writes them to `abi.inc` in OUT_DIR, which
//! is on every program's include path. An assembly error fails the build with
//! the assembler's diagnostics; every file the assembler read is a
//! rerun-if-changed trigger. `programs.rs` in OUT_DIR lists what was built.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

struct Build<'a> {
    out: &'a Path,
    include: Vec<PathBuf>,
    failed: bool,
    table: String,
}

fn main() {
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("set by cargo"));
    for dir in ["bare", "user", "kernel", "lib"] {
        println!("cargo:rerun-if-changed={dir}");
    }
    if let Err(e) = std::fs::write(out.join("abi.inc"), vmlab_isa::abi::asm_include()) {
        eprintln!("error: cannot write abi.inc: {e}");
        std::process::exit(1);
    }
    let mut b = Build {
        out: &out,
        include: vec![root.join("lib"), out.clone()],
        failed: false,
        table: String::new(),
    };

    b.table
        .push_str("/// Bare-metal programs: (name, image bytes).\n");
    b.table.push_str("pub static BARE: &[(&str, &[u8])] = &[\n");
    for name in sources(&root.join("bare")) {
        b.assemble(
            &root.join("bare").join(format!("{name}.s")),
            &[],
            &format!("bare_{name}"),
            &name,
        );
    }
    b.table
        .push_str("];\n/// User programs: (name, image bytes).\n");
    b.table.push_str("pub static USER: &[(&str, &[u8])] = &[\n");
    for name in sources(&root.join("user")) {
        b.assemble(
            &root.join("user").join(format!("{name}.s")),
            &[],
            &format!("user_{name}"),
            &name,
        );
    }
    b.table
        .push_str("];\n/// Kernel builds: (name, image bytes).\n");
    b.table
        .push_str("pub static KERNEL: &[(&str, &[u8])] = &[\n");
    let kernel = root.join("kernel").join("main.s");
    if kernel.exists() {
        b.include.insert(0, root.join("kernel"));
        let builds: [(&str, &[(&str, i64)]); 3] = [
            ("full", &[]),
            ("pv_io", &[("PV_IO", 1)]),
            ("pv", &[("PV_CPU", 1), ("PV_IO", 1)]),
        ];
        for (name, defines) in builds {
            b.assemble(&kernel, defines, &format!("kernel_{name}"), name);
        }
    }
    b.table.push_str("];\n");
    if b.failed {
        std::process::exit(1);
    }
    if let Err(e) = std::fs::write(out.join("programs.rs"), &b.table) {
        eprintln!("error: cannot write programs.rs: {e}");
        std::process::exit(1);
    }
}

/// The stems of the `.s` files in `dir`, sorted (a missing dir is empty).
fn sources(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let path = e.path();
            (path.extension()? == "s").then(|| path.file_stem()?.to_str().map(str::to_string))?
        })
        .collect();
    names.sort();
    names
}

impl Build<'_> {
    /// Assembles one program into `OUT_DIR/file.vmi` and adds it to the table.
    fn assemble(&mut self, src: &Path, defines: &[(&str, i64)], file: &str, name: &str) {
        let opts = vmlab_asm::Options {
            include_dirs: self.include.clone(),
            defines: defines.iter().map(|(n, v)| (n.to_string(), *v)).collect(),
        };
        match vmlab_asm::assemble_file(src, &opts) {
            Ok(done) => {
                for f in &done.files_read {
                    println!("cargo:rerun-if-changed={}", f.display());
                }
                let dest = self.out.join(format!("{file}.vmi"));
                if let Err(e) = done.image.save_file(&dest) {
                    eprintln!("error: cannot write {}: {e}", dest.display());
                    self.failed = true;
                    return;
                }
                let _ = writeln!(
                    self.table,
                    "    ({name:?}, include_bytes!(concat!(env!(\"OUT_DIR\"), \"/{file}.vmi\"))),"
                );
            }
            Err(diags) => {
                eprintln!("{diags}");
                eprintln!("error: guest program {} failed to assemble", src.display());
                self.failed = true;
            }
        }
    }
}
