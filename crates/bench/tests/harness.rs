//! The harness on a tiny matrix: outputs checked, determinism, the legacy
//! profile, nanobenchmark differencing, the sweep's re-pricing, and the
//! modes the monitor does not run yet.

use std::sync::OnceLock;

use vmlab_bench::cell::{CellKey, check, run_cell};
use vmlab_bench::sweep::{exit_costs, reprice};
use vmlab_bench::{BenchOptions, BenchReport, Engine, run};
use vmlab_isa::Profile;
use vmlab_monitor::{CostModel, Event, MemVirt, Mode, MonitorError};

fn tiny() -> BenchOptions {
    BenchOptions {
        workloads: vec!["syscall".into(), "nb-ptemod".into(), "nb-in".into()],
        quick: true,
        ..BenchOptions::default()
    }
}

fn tiny_report() -> &'static BenchReport {
    static REPORT: OnceLock<BenchReport> = OnceLock::new();
    REPORT.get_or_init(|| run(&tiny()).expect("the tiny matrix runs"))
}

#[test]
fn every_row_computes_the_expected_output() {
    let r = tiny_report();
    assert!(!r.rows.is_empty());
    for row in &r.rows {
        assert!(
            row.output_ok,
            "{} {}/{} diverged",
            row.workload, row.mode, row.mem
        );
        assert!(row.divergence.is_none());
        assert!(row.modeled_cycles > 0 && row.guest_instructions > 0);
        assert!(
            row.overhead_vs_native.is_some(),
            "{} {}",
            row.workload,
            row.mode
        );
    }
    for row in r.rows.iter().filter(|x| x.mode == "native") {
        assert_eq!(row.overhead_vs_native, Some(1.0));
    }
}

#[test]
fn every_mode_is_either_run_or_listed_as_not_yet_available() {
    let r = tiny_report();
    for mode in Mode::ALL {
        let ran = r.rows.iter().any(|x| x.mode == mode.name());
        let missing = r
            .not_yet_available
            .iter()
            .any(|u| u.starts_with(&format!("{mode} (issue")));
        let available = MemVirt::ALL.iter().any(|&m| mode.check(m).is_ok());
        assert_eq!(ran, available, "{mode}");
        assert_eq!(missing, !available, "{mode}: {:?}", r.not_yet_available);
    }
    // hw runs both memory options by default.
    assert!(r.rows.iter().any(|x| x.mode == "hw" && x.mem == "shadow"));
    assert!(r.rows.iter().any(|x| x.mode == "hw" && x.mem == "nested"));
}

#[test]
fn rows_sort_by_workload_then_mode() {
    let r = tiny_report();
    let order: Vec<(&str, &str, &str)> =
        r.rows.iter().map(|x| (x.workload, x.mode, x.mem)).collect();
    assert_eq!(order[0], ("syscall", "native", "none"));
    let keys: Vec<&CellKey> = r.rows.iter().filter_map(|x| x.key.as_ref()).collect();
    assert!(keys.windows(2).all(|w| w[0] < w[1]));
}

#[test]
fn two_runs_give_identical_cycles_and_counters_whatever_the_threads_and_engine() {
    let a = tiny_report();
    let b = run(&BenchOptions {
        threads: 1,
        engine: Engine::Jit,
        ..tiny()
    })
    .unwrap();
    assert_eq!(a.rows.len(), b.rows.len());
    for (x, y) in a.rows.iter().zip(&b.rows) {
        assert_eq!((x.workload, x.mode, x.mem), (y.workload, y.mode, y.mem));
        assert_eq!(x.modeled_cycles, y.modeled_cycles);
        assert_eq!(x.breakdown, y.breakdown);
        // `bt.chain-patches` is engine-internal (how many direct exits the
        // backend linked); every other counter is guest-visible and equal.
        let visible = |c: &vmlab_bench::Counters| {
            let mut c = c.clone();
            c.report.bt.remove("bt.chain-patches");
            c
        };
        assert_eq!(visible(&x.counters), visible(&y.counters));
        assert_eq!(x.guest_instructions, y.guest_instructions);
    }
    assert_eq!((a.engine, b.engine), ("interp", "jit"));
    assert!(b.rows.iter().all(|r| r.engine == "jit"));
    let cycles = |r: &BenchReport| -> Vec<Option<f64>> {
        r.nanobench.iter().map(|n| n.cycles_per_iter).collect()
    };
    assert_eq!(cycles(a), cycles(&b));
}

#[test]
fn nanobench_differencing_gives_positive_per_iteration_cycles() {
    let r = tiny_report();
    let nb: Vec<_> = r.nanobench.iter().collect();
    assert!(nb.iter().any(|n| n.bench == "ptemod") && nb.iter().any(|n| n.bench == "in"));
    for n in nb {
        let c = n.cycles_per_iter.expect("both runs correct");
        assert!(c > 0.0, "{} {}/{}: {c}", n.bench, n.mode, n.mem);
    }
    // Under p4-2006 the paper stands beside ours, calibration marked.
    let native_in = r
        .nanobench
        .iter()
        .find(|n| n.bench == "in" && n.mode == "native")
        .unwrap();
    assert_eq!(native_in.paper_cycles, Some(3_209));
    assert!(native_in.calibrated);
    let hw_ptemod = r
        .nanobench
        .iter()
        .find(|n| n.bench == "ptemod" && n.mode == "hw" && n.mem == "shadow")
        .unwrap();
    assert_eq!(hw_ptemod.paper_cycles, Some(12_733));
    assert!(!hw_ptemod.calibrated, "hw ptemod validates the model");
}

#[test]
fn legacy_profile_marks_trap_cells_diverged_and_still_succeeds() {
    let opts = BenchOptions {
        workloads: vec!["syscall".into()],
        modes: BenchOptions::parse_modes("native,trap,hw").unwrap(),
        profile: Profile::Legacy,
        nanobench: false,
        ..tiny()
    };
    let r = run(&opts).expect("legacy divergence does not fail the run");
    let trap = r.rows.iter().find(|x| x.mode == "trap").unwrap();
    assert!(!trap.output_ok);
    let d = trap.divergence.as_ref().expect("a divergence record");
    assert!(d.exit_code.is_some() || d.exit_status != "shutdown");
    assert!(r.notes.iter().any(|n| n.contains("trap/shadow diverged")));
    for row in r.rows.iter().filter(|x| x.mode != "trap") {
        assert!(row.output_ok, "{} must be correct on legacy", row.mode);
    }
    let json = vmlab_bench::report::json::render(&r);
    assert!(json.contains("\"divergence\""));
    // The same cell fails a strict check, naming the cell and showing a diff.
    let key = trap.key.clone().unwrap();
    let err = check(&key, trap, Profile::Strict).unwrap_err().to_string();
    assert!(
        err.contains("syscall trap/shadow") && err.contains("line"),
        "{err}"
    );
}

#[test]
fn the_sweep_reprices_counts_exactly() {
    let r = run(&BenchOptions {
        sweep: Some(vmlab_bench::Sweep::ExitCost),
        nanobench: false,
        ..tiny()
    })
    .unwrap();
    let cost = CostModel::preset("p4-2006").unwrap();
    for row in &r.rows {
        assert_eq!(reprice(&row.breakdown, &cost), row.modeled_cycles);
    }
    let s = r.sweep.as_ref().unwrap();
    assert_eq!(s.values, exit_costs(&cost));
    assert_eq!(s.values.first(), Some(&cost.vm_exit));
    assert_eq!(
        s.values.last(),
        Some(&CostModel::preset("modern").unwrap().vm_exit)
    );
    assert!(s.values.windows(2).all(|w| w[0] > w[1]));
    for series in &s.series {
        assert_eq!(series.cycles.len(), s.values.len());
        if series.config.starts_with("hw") {
            assert!(series.vm_exits > 0);
            assert!(
                series.cycles.windows(2).all(|w| w[0] > w[1]),
                "cheaper exits, fewer cycles"
            );
        }
    }
    // Each hw configuration of each workload gets a crossover line.
    let hw_rows = r.rows.iter().filter(|x| x.mode == "hw").count();
    assert_eq!(s.crossovers.len(), hw_rows);
    // A run at modern's exit cost gives what the sweep's last point says.
    let hw = r.rows.iter().find(|x| x.mode == "hw").unwrap();
    let mut modern_exit = cost;
    modern_exit.set_cost(Event::VmExit, *s.values.last().unwrap());
    let (rerun, _) = run_cell(
        hw.key.as_ref().unwrap(),
        &BenchOptions {
            cost: modern_exit,
            ..tiny()
        },
    )
    .unwrap();
    let series = s
        .series
        .iter()
        .find(|x| x.workload == hw.workload && x.config == format!("hw/{}", hw.mem))
        .unwrap();
    assert_eq!(series.cycles.last(), Some(&rerun.modeled_cycles));
}

#[test]
fn usage_errors_say_what_is_known() {
    let bad = |o: BenchOptions| run(&o).unwrap_err().to_string();
    let e = bad(BenchOptions {
        workloads: vec!["nope".into()],
        ..tiny()
    });
    assert!(
        e.contains("unknown workload `nope`") && e.contains("sieve"),
        "{e}"
    );
    let e = bad(BenchOptions {
        modes: BenchOptions::parse_modes("trap/nested").unwrap(),
        ..tiny()
    });
    assert!(e.contains("trap") && e.contains("shadow"), "{e}");
    assert!(BenchOptions::parse_modes("warp").is_err());
    // Every mode is available now: none is listed as pending.
    let r = run(&BenchOptions {
        workloads: vec!["syscall".into()],
        ..tiny()
    })
    .unwrap();
    assert!(r.not_yet_available.is_empty(), "{:?}", r.not_yet_available);
    assert!(Mode::ALL.into_iter().all(|m| {
        !matches!(
            m.check(m.default_mem()),
            Err(MonitorError::ModeNotAvailable { .. })
        )
    }));
}

#[test]
fn io_and_hosted_options_add_the_columns_the_monitor_accepts() {
    let r = run(&BenchOptions {
        workloads: vec!["io-console".into()],
        io: vec!["emulated".into(), "pv".into()],
        hosted: true,
        nanobench: false,
        ..tiny()
    })
    .unwrap();
    let configs: Vec<String> = r.rows.iter().map(|x| x.config()).collect();
    assert!(configs.contains(&"native/none".to_owned()), "{configs:?}");
    assert!(
        configs.contains(&"hw/nested io=pv".to_owned()),
        "{configs:?}"
    );
    assert!(
        configs.iter().any(|c| c.ends_with(" hosted")),
        "{configs:?}"
    );
    // bt takes paravirtual I/O too (the PV_IO drivers in an unmodified
    // kernel), and native is never hosted.
    assert!(
        configs
            .iter()
            .any(|c| c.starts_with("bt") && c.contains("io=pv")),
        "{configs:?}"
    );
    assert!(
        !configs
            .iter()
            .any(|c| c.starts_with("native") && c.contains("hosted"))
    );
    for row in &r.rows {
        assert!(row.output_ok, "{}", row.config());
    }
}
