//! Golden diagnostic tests: each `tests/golden/NAME.s` must fail to assemble
//! with exactly the text in `tests/golden/NAME.expected` (every diagnostic,
//! fully rendered, with file, line, column, source line and carets).
//!
//! To regenerate the expected files after an intended change, run
//! `VMLAB_BLESS=1 cargo test -p vmlab-asm --test asm_golden` and review the diff.
//! Files named `inc_*.s` are only included by other cases.

use std::path::{Path, PathBuf};

use vmlab_asm::{Options, assemble_file};

const DIR: &str = "tests/golden";

fn check(name: &str) {
    // Relative paths keep the rendered file names independent of the checkout.
    let src = PathBuf::from(format!("{DIR}/{name}.s"));
    let expected_path = PathBuf::from(format!("{DIR}/{name}.expected"));
    let actual = match assemble_file(&src, &Options::default()) {
        Ok(_) => panic!("{name}.s assembled without errors; golden cases must fail"),
        Err(diags) => format!("{diags}\n"),
    };
    if std::env::var_os("VMLAB_BLESS").is_some_and(|v| v == "1") {
        std::fs::write(&expected_path, &actual).expect("write expected file");
        return;
    }
    let expected = std::fs::read_to_string(&expected_path).unwrap_or_else(|_| {
        panic!(
            "missing {}; run with VMLAB_BLESS=1 to create it",
            expected_path.display()
        )
    });
    assert_eq!(
        actual, expected,
        "diagnostics for {name}.s differ from {name}.expected"
    );
}

macro_rules! golden {
    ($($name:ident),* $(,)?) => {
        $(#[test] fn $name() { check(stringify!($name)); })*
        const CASES: &[&str] = &[$(stringify!($name)),*];
    };
}

golden!(
    unknown_mnemonic,
    bad_register,
    imm_out_of_range,
    undefined_label,
    duplicate_label,
    unterminated_string,
    bad_directive_arg,
    missing_endif,
    stray_endif,
    macro_arg_count,
    include_cycle,
    three_errors,
    branch_out_of_range,
    org_backwards,
    error_in_macro,
);

/// Every `.s` file in the directory is a listed case or an include helper,
/// so a new golden file cannot be silently skipped.
#[test]
fn every_golden_file_is_a_case() {
    let mut unlisted = Vec::new();
    for entry in std::fs::read_dir(Path::new(DIR)).expect("golden dir") {
        let path = entry.expect("dir entry").path();
        let stem = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_default()
            .to_string();
        if path.extension().is_some_and(|e| e == "s")
            && !stem.starts_with("inc_")
            && !CASES.contains(&stem.as_str())
        {
            unlisted.push(stem);
        }
    }
    assert!(
        unlisted.is_empty(),
        "golden files not listed in asm_golden.rs: {unlisted:?}"
    );
}

/// The three-error file reports all three, not only the first.
#[test]
fn all_errors_are_reported() {
    let err = assemble_file(
        Path::new("tests/golden/three_errors.s"),
        &Options::default(),
    )
    .unwrap_err();
    let lines: Vec<u32> = err.0.iter().map(|d| d.line).collect();
    assert_eq!(lines, [4, 6, 7]);
}
