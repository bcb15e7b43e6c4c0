//! Robustness: no input makes the assembler panic. Random token soup and
//! random text go through `assemble_str`; failures must come with located
//! diagnostics, and successes must pass `Image::validate` (so they can be
//! saved) and survive a disassembly round trip.
//!
//! 256 cases by default; set `VMLAB_LONG=1` for 20,000.

use proptest::prelude::*;
use vmlab_asm::{Severity, assemble_str, disassemble};

fn cases() -> u32 {
    if std::env::var_os("VMLAB_LONG").is_some() {
        20_000
    } else {
        256
    }
}

const TOKENS: &[&str] = &[
    "add",
    "addi",
    "lui",
    "lw",
    "sw",
    "beq",
    "bnez",
    "jal",
    "jalr",
    "li",
    "la",
    "j",
    "call",
    "ret",
    "nop",
    "halt",
    "csrr",
    "csrw",
    "outb",
    "inw",
    "getf",
    "mv",
    "slli",
    "sret",
    "a0",
    "a1",
    "sp",
    "zero",
    "t0",
    "r15",
    "r16",
    "status",
    "epc",
    "0",
    "1",
    "-1",
    "4",
    "0x7fff",
    "0x8000",
    "0xffffffff",
    "0x1_0000_0000",
    "0b101",
    "0o7",
    "99999999999999999999",
    "'a'",
    "'\\n'",
    "'",
    "1b",
    "1f",
    "2f",
    ",",
    "(",
    ")",
    ":",
    "+",
    "-",
    "*",
    "/",
    "%",
    "<<",
    ">>",
    "&",
    "|",
    "^",
    "~",
    "!",
    "==",
    "%hi(",
    "%lo(",
    ".",
    "\"hi\"",
    "\"",
    "\\",
    "\\@",
    "\\x",
    "#",
    ";",
    "=",
    ".org",
    ".align",
    ".byte",
    ".half",
    ".word",
    ".ascii",
    ".asciz",
    ".space",
    ".equ",
    ".set",
    ".section",
    "text",
    "data",
    ".text",
    ".data",
    ".include",
    ".if",
    ".ifdef",
    ".ifndef",
    ".elif",
    ".else",
    ".endif",
    ".macro",
    ".endm",
    ".global",
    ".entry",
    ".bogus",
    "m",
    "x",
    "_start",
    "label:",
    "1:",
    "\n",
    "\n",
    "\n",
    "\t",
];

fn token_soup() -> impl Strategy<Value = String> {
    prop::collection::vec((prop::sample::select(TOKENS), prop::bool::ANY), 0..80).prop_map(|toks| {
        toks.into_iter().fold(String::new(), |mut s, (t, space)| {
            s.push_str(t);
            if space {
                s.push(' ');
            }
            s
        })
    })
}

fn check(src: &str) -> Result<(), TestCaseError> {
    match assemble_str(src) {
        Ok(img) => {
            if let Err(e) = img.validate() {
                return Err(TestCaseError::fail(format!(
                    "assembled image does not validate: {e}\n--- source:\n{src}"
                )));
            }
            let text = disassemble(&img);
            let again = assemble_str(&text).map_err(|e| {
                TestCaseError::fail(format!("{e}\n--- source:\n{src}\n--- disassembly:\n{text}"))
            })?;
            prop_assert_eq!(again.segments, img.segments);
        }
        Err(diags) => {
            prop_assert!(!diags.0.is_empty());
            for d in &diags.0 {
                // Only these two concern the program as a whole, not a line.
                let file_level = d.message == "no code: the program has no text section"
                    || (d.severity == Severity::Note
                        && d.message == "too many errors; stopping after 100");
                prop_assert!(
                    file_level || (d.line >= 1 && d.col >= 1 && d.width >= 1),
                    "{:?}",
                    d
                );
            }
            prop_assert!(diags.to_string().starts_with("error: "));
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases()))]

    #[test]
    fn token_soup_never_panics(src in token_soup()) {
        check(&src)?;
    }

    #[test]
    fn random_text_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
        check(&String::from_utf8_lossy(&bytes))?;
    }

    #[test]
    fn macro_soup_never_panics(body in token_soup(), args in token_soup()) {
        let args = args.replace('\n', " ");
        check(&format!(".macro m a, b=1\n{body}\n.endm\nm {args}\n"))?;
    }
}

#[test]
fn pathological_inputs_are_diagnosed() {
    let deep = format!(".word {}1{}", "(".repeat(10_000), ")".repeat(10_000));
    assert!(assemble_str(&deep).is_err());
    let e = assemble_str(".macro m\nm\nm\n.endm\nm")
        .unwrap_err()
        .to_string();
    assert!(e.contains("nested too deeply"), "{e}");
    assert!(assemble_str(".space 0x7fffffff").is_err());
    assert!(assemble_str(".org 0xfffffffc\nnop\nnop").is_err());
    assert!(assemble_str(".org 0xfffffffc\nnop").is_ok());
    assert!(assemble_str("nop\n.org 0x3fffffff\nnop").is_err());
}
