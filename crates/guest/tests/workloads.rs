//! The workload suite as data: every workload's programs exist, its expected
//! output is a pure function of the iteration count, and (the table test)
//! every workload run natively under the kernel prints exactly that output.

mod common;

use common::{Prog, run_native};
use vmlab_guest::KernelBuild;
use vmlab_guest::workloads::{Kind, Privilege, Workload, workloads};

/// Guest RAM for the native runs (the default iteration counts need far less).
const RAM: u32 = 4 << 20;

/// The processes of `w`, each with `iters` iterations and its arguments.
fn programs(w: &Workload, iters: u32) -> Vec<Prog> {
    w.processes
        .iter()
        .map(|p| Prog {
            name: p.program.to_string(),
            image: p.image().expect("every program is built").clone(),
            iterations: iters,
            args: [p.args[0], p.args[1], p.args[2], 0],
        })
        .collect()
}

/// The table test: every workload, natively on the full kernel, prints
/// exactly its expected output and exits with 0, for its default iteration
/// count and twice that. Failures are collected so one run shows them all.
#[test]
fn every_workload_runs_natively_with_its_expected_output() {
    let mut failures = Vec::new();
    for w in workloads() {
        for iters in [w.default_iters, 2 * w.default_iters] {
            let out = run_native(KernelBuild::Full, &programs(w, iters), RAM);
            let expected = w.expected_output(iters);
            if out.console != expected || out.exit_code != Some(0) {
                failures.push(format!(
                    "{} x{iters}: exit {:?} (code {:?})\n--- expected ---\n{expected}\
                     --- console ---\n{}\n--- log ---\n{}",
                    w.name, out.exit, out.exit_code, out.console, out.log
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn every_program_is_built() {
    for w in workloads() {
        assert!(!w.processes.is_empty(), "{} starts no process", w.name);
        for p in w.processes {
            let image = p.image().unwrap_or_else(|| {
                panic!(
                    "{}: no user program {:?} (crates/guest/user/{}.s)",
                    w.name, p.program, p.program
                )
            });
            assert!(
                image.symbol("_start").is_some(),
                "{}: {} has no _start",
                w.name,
                p.program
            );
            assert!(
                image.symbol("main").is_some(),
                "{}: {} has no main",
                w.name,
                p.program
            );
        }
    }
}

#[test]
fn expected_output_is_a_pure_function_of_the_iterations() {
    for w in workloads() {
        let (n, n2) = (w.default_iters, 2 * w.default_iters);
        let out = w.expected_output(n);
        assert_eq!(out, w.expected_output(n), "{}: not deterministic", w.name);
        assert!(
            out.ends_with('\n'),
            "{}: output must end in a newline",
            w.name
        );
        if w.kind == Kind::Nanobench {
            // Cost is measured by differencing n and 2n: the output must not change.
            assert_eq!(out, w.expected_output(n2), "{}", w.name);
            assert_eq!(out, format!("{} done\n", w.name));
        } else {
            assert_ne!(
                out,
                w.expected_output(n2),
                "{}: iterations do not show",
                w.name
            );
        }
    }
}

#[test]
fn metadata_is_sane() {
    for w in workloads() {
        assert!(
            w.default_iters > 0 && w.bench_iters > w.default_iters,
            "{}",
            w.name
        );
        assert!(
            w.processes.len() <= 8,
            "{}: the boot info holds 8 programs",
            w.name
        );
        match w.name {
            "nb-syscall" | "nb-divzero" => assert_eq!(w.loop_privilege, Some(Privilege::User)),
            name if name.starts_with("nb-") => {
                assert_eq!(w.loop_privilege, Some(Privilege::Kernel))
            }
            _ => assert_eq!(w.loop_privilege, None),
        }
    }
    assert_eq!(
        vmlab_guest::workload("ctxswitch").unwrap().processes.len(),
        2
    );
    assert!(vmlab_guest::workload("no-such-workload").is_none());
}

/// docs/workloads.md's table agrees with the Rust table: same workloads, same
/// kind, stresses and iteration counts.
#[test]
fn the_docs_table_matches() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/workloads.md");
    let doc = std::fs::read_to_string(path).expect("docs/workloads.md exists");
    for w in workloads() {
        let row = doc
            .lines()
            .find(|l| l.starts_with(&format!("| {} |", w.name)))
            .unwrap_or_else(|| panic!("docs/workloads.md has no row for {}", w.name));
        let cells: Vec<String> = row.split('|').map(|c| c.trim().replace(',', "")).collect();
        assert_eq!(cells[2], w.kind.name(), "{}", w.name);
        assert_eq!(cells[3], w.stresses, "{}", w.name);
        assert_eq!(cells[4], w.default_iters.to_string(), "{}", w.name);
        assert_eq!(cells[5], w.bench_iters.to_string(), "{}", w.name);
    }
}
