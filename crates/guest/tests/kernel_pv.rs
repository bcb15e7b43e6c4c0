//! The paravirtual builds: PV_IO with a test back end for the rings
//! (common/rings.rs), the pv build under the test pv host
//! (common/pvhost.rs), every workload printing the same in every build, and
//! the kernel line counts in the docs.

mod common;

use common::kernel::{EXIT_ASSERT_MODE, printer, pv, pv_io};
use common::{Prog, Setup, run_with};

// ---------------------------------------------------------------------------
// The PV_IO build, with a test back end for the rings (common/rings.rs).

#[test]
fn pv_io_console_write_goes_through_the_ring() {
    let long = "y".repeat(150);
    let out = run_with(&pv_io(), &[printer("hello", &format!("hello\\n{long}"), 7)]);
    out.assert_exit(7);
    assert_eq!(out.console, format!("hello\n{long}"));
    assert_eq!(out.notifies, 1, "one notification for the whole write");
    assert!(
        out.log.contains("vmlab kernel: pv_io build, 1 processes"),
        "{}",
        out.log
    );
}

#[test]
fn deprivileged_on_the_legacy_profile_the_assertion_fails_visibly() {
    let out = common::run_deprivileged_legacy(&[printer("p", "never\\n", 0)]);
    out.assert_exit(EXIT_ASSERT_MODE);
    assert_eq!(
        out.log,
        "kernel assertion failed: not in supervisor mode (getf)\n"
    );
    assert_eq!(out.console, "");
}

// ---------------------------------------------------------------------------
// The pv build under the test pv host (common/pvhost.rs), which stops the
// run at any privileged instruction, unvalidated page-table write or
// store to a pinned table: passing at all says the kernel kept the ABI.

#[test]
fn pv_kernel_boots_through_hypercalls() {
    let out = run_with(&pv(), &[printer("hello", "hello\\n", 7)]);
    out.assert_exit(7);
    assert_eq!(out.console, "hello\n");
    assert!(
        out.log.contains("vmlab kernel: pv build, 1 processes"),
        "{}",
        out.log
    );
    let calls = |hc: u32| out.hypercalls.get(&hc).copied().unwrap_or(0);
    use vmlab_isa::abi;
    assert_eq!(calls(abi::HC_SET_TRAP_TABLE), 1);
    assert_eq!(calls(abi::HC_SHUTDOWN), 1);
    // 4 MiB: one direct-map leaf, the kmap leaf, the kernel root, the
    // process root and its leaf for user space (text and data, no stack yet).
    assert!(calls(abi::HC_PIN_TABLE) >= 5, "{:?}", out.hypercalls);
    assert!(calls(abi::HC_SET_PTBR) >= 2);
    assert!(calls(abi::HC_IRET) >= 2);
    assert_eq!(calls(abi::HC_LOG_WRITE), 3, "one call per log line");
}

#[test]
fn every_workload_prints_the_same_in_every_build() {
    // The determinism contract: the console never depends on the build (nor
    // on where a preemption landed, which differs between builds).
    for w in vmlab_guest::workloads() {
        let programs: Vec<Prog> = w
            .processes
            .iter()
            .map(|p| Prog {
                name: p.program.to_string(),
                image: p.image().expect("built").clone(),
                iterations: w.default_iters,
                args: [p.args[0], p.args[1], p.args[2], 0],
            })
            .collect();
        let expected = w.expected_output(w.default_iters);
        for setup in [Setup::default(), pv_io(), pv()] {
            let out = run_with(&setup, &programs);
            assert_eq!(
                out.console, expected,
                "{} on {:?}\n{}",
                w.name, setup.build, out.log
            );
            out.assert_exit(0);
        }
    }
}

/// The kernel's source lines, and which of them each build assembles, by
/// evaluating `.ifdef`/`.ifndef`/`.if`/`.elif`/`.else`/`.endif` with the
/// build's defines (an `.if` expression counts as true: none of them
/// depends on the build).
fn assembled_lines(defines: &[&str]) -> Vec<(String, String)> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("kernel");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "s"))
        .collect();
    files.sort();
    let mut out = Vec::new();
    for path in files {
        let text = std::fs::read_to_string(&path).unwrap();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        // (this branch is active, some branch was taken)
        let mut stack: Vec<(bool, bool)> = Vec::new();
        for (i, line) in text.lines().enumerate() {
            let words: Vec<&str> = line.split('#').next().unwrap().split_whitespace().collect();
            let active = stack.iter().all(|&(a, _)| a);
            match words.first().copied() {
                Some(".ifdef") | Some(".ifndef") => {
                    let defined = defines.contains(&words[1]);
                    let c = defined == (words[0] == ".ifdef");
                    stack.push((c, c));
                }
                Some(".if") => stack.push((true, true)),
                Some(".elif") => {
                    let (_, taken) = stack.pop().unwrap();
                    stack.push((false, taken));
                }
                Some(".else") => {
                    let (_, taken) = stack.pop().unwrap();
                    stack.push((!taken, true));
                }
                Some(".endif") => {
                    stack.pop();
                }
                _ if active => out.push((format!("{name}:{i}"), line.trim().to_string())),
                _ => {}
            }
        }
    }
    out
}

#[test]
fn line_counts_in_docs_are_current() {
    use std::collections::HashSet;
    let builds = [
        ("full", assembled_lines(&[])),
        ("pv_io", assembled_lines(&["PV_IO"])),
        ("pv", assembled_lines(&["PV_CPU", "PV_IO"])),
    ];
    let docs = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/kernel.md"),
    )
    .unwrap();
    let is_code = |l: &str| !l.is_empty() && !l.starts_with('#');
    for (a, b) in [(0, 1), (0, 2), (1, 2)] {
        let (na, la) = (&builds[a].0, &builds[a].1);
        let (nb, lb) = (&builds[b].0, &builds[b].1);
        let sa: HashSet<_> = la.iter().collect();
        let sb: HashSet<_> = lb.iter().collect();
        let differ: Vec<_> = sa.symmetric_difference(&sb).collect();
        let code = differ.iter().filter(|(_, l)| is_code(l)).count();
        let row = format!("| `{na}` vs `{nb}` | {} | {code} |", differ.len());
        assert!(docs.contains(&row), "docs/kernel.md should say: {row}");
    }
}
