//! `vmlab run PROGRAM --engine jit --trace bt`: each block the translator
//! compiles, then its host code beside the guest code.

use std::path::PathBuf;
use std::process::Command;

fn hello() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/hello.s")
}

fn vmlab(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_vmlab"))
        .args(args)
        .output()
        .expect("vmlab runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[cfg(target_arch = "x86_64")]
#[test]
fn a_bare_program_under_the_jit_shows_its_blocks_and_host_code() {
    let path = hello();
    let (code, out, err) = vmlab(&[
        "run",
        path.to_str().unwrap(),
        "--engine",
        "jit",
        "--trace",
        "bt",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("bt: translated block 0x00000000"), "{out}");
    assert!(out.contains("bt: host code of block 0x00000000:"), "{out}");
    // Guest instructions as headers, chain points and callouts marked.
    assert!(out.contains(";; 0x00000000: lui"), "{out}");
    assert!(out.contains("<- chain point: exit"), "{out}");
    assert!(out.contains("<- callout: load"), "{out}");
    // The program still runs and prints.
    assert!(out.contains("Hello"), "{out}");
}

#[test]
fn trace_bt_on_a_bare_program_needs_the_jit() {
    let path = hello();
    let (code, _, err) = vmlab(&["run", path.to_str().unwrap(), "--trace", "bt"]);
    assert_ne!(code, 0);
    assert!(err.contains("--engine jit"), "{err}");
}
