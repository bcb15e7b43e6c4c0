//! The report files of a tiny matrix: results.json against the schema in
//! docs/bench.md, results.csv's shape, the SVG charts as well-formed XML.

use std::path::PathBuf;

use serde_json::Value;
use vmlab_bench::report::{self, Format};
use vmlab_bench::{BenchOptions, BenchReport, Sweep, run};

fn report() -> BenchReport {
    run(&BenchOptions {
        workloads: vec!["fib".into(), "nb-callret".into()],
        quick: true,
        sweep: Some(Sweep::ExitCost),
        ..BenchOptions::default()
    })
    .expect("the tiny matrix runs")
}

fn out_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("vmlab-bench-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// Checks that `obj[field]` exists and has the JSON type `ty`.
fn has(obj: &Value, field: &str, ty: &str) {
    let v = obj
        .get(field)
        .unwrap_or_else(|| panic!("missing `{field}` in {obj}"));
    let ok = match ty {
        "string" => v.is_string(),
        "bool" => v.is_boolean(),
        "uint" => v.is_u64(),
        "number" => v.is_number(),
        "number|null" => v.is_number() || v.is_null(),
        "object" => v.is_object(),
        "array" => v.is_array(),
        _ => unreachable!("type {ty}"),
    };
    assert!(ok, "`{field}` should be {ty}, is {v}");
}

#[test]
fn results_json_follows_the_documented_schema() {
    let r = report();
    let json: Value = serde_json::from_str(&report::json::render(&r)).expect("valid JSON");
    for (f, t) in [
        ("cost", "string"),
        ("profile", "string"),
        ("engine", "string"),
        ("quick", "bool"),
        ("rows", "array"),
        ("nanobench", "array"),
        ("sweep", "object"),
        ("not_yet_available", "array"),
        ("notes", "array"),
        ("cells_run", "uint"),
        ("wall_ms", "uint"),
    ] {
        has(&json, f, t);
    }
    let rows = json["rows"].as_array().unwrap();
    assert!(!rows.is_empty());
    for row in rows {
        for (f, t) in [
            ("workload", "string"),
            ("kind", "string"),
            ("iters", "uint"),
            ("mode", "string"),
            ("profile", "string"),
            ("mem", "string"),
            ("io", "string"),
            ("hosted", "bool"),
            ("engine", "string"),
            ("cost", "string"),
            ("guest_instructions", "uint"),
            ("modeled_cycles", "uint"),
            ("overhead_vs_native", "number|null"),
            ("breakdown", "object"),
            ("counters", "object"),
            ("efficiency", "number"),
            ("host_ns", "uint"),
            ("guest_mips", "number"),
            ("output_ok", "bool"),
        ] {
            has(row, f, t);
        }
        assert!(
            row.get("divergence").is_none(),
            "strict rows do not diverge"
        );
        let b = &row["breakdown"];
        has(b, "total", "uint");
        has(b, "categories", "object");
        has(b, "events", "object");
        assert_eq!(b["total"], row["modeled_cycles"]);
        let c = &row["counters"];
        for f in [
            "exits_total",
            "traps_reflected",
            "hidden_faults",
            "reflected_faults",
            "pt_write_traps",
            "tlb_misses",
            "walk_refs",
            "callouts",
            "hypercalls",
            "translations",
        ] {
            has(c, f, "uint");
        }
        has(c, "exits", "object");
        has(c, "instructions", "object");
    }
    for n in json["nanobench"].as_array().unwrap() {
        for (f, t) in [
            ("bench", "string"),
            ("workload", "string"),
            ("mode", "string"),
            ("mem", "string"),
            ("n", "uint"),
            ("cycles_per_iter", "number|null"),
            ("calibrated", "bool"),
        ] {
            has(n, f, t);
        }
        if let Some(p) = n.get("paper_cycles") {
            assert!(p.is_u64());
        }
    }
    let s = &json["sweep"];
    has(s, "parameter", "string");
    has(s, "values", "array");
    has(s, "series", "array");
    has(s, "crossovers", "array");
}

#[test]
fn out_dir_holds_every_report_and_the_svgs_are_well_formed_xml() {
    let r = report();
    let dir = out_dir("out");
    let files = report::write_dir(&r, &dir).unwrap();
    for name in [
        "report.md",
        "results.json",
        "results.csv",
        "overhead.svg",
        "breakdown.svg",
        "nanobench.svg",
        "sweep.svg",
    ] {
        assert!(files.contains(&dir.join(name)), "{name} not written");
    }
    for f in files
        .iter()
        .filter(|f| f.extension().is_some_and(|e| e == "svg"))
    {
        let text = std::fs::read_to_string(f).unwrap();
        let doc = roxmltree::Document::parse(&text)
            .unwrap_or_else(|e| panic!("{} is not well-formed: {e}", f.display()));
        assert_eq!(doc.root_element().tag_name().name(), "svg");
        assert!(
            doc.descendants().any(|n| n.has_tag_name("text")),
            "{}: labels are <text> elements",
            f.display()
        );
    }
    let md = std::fs::read_to_string(dir.join("report.md")).unwrap();
    assert!(md.contains("## Nanobenchmarks") && md.contains("![sweep.svg](sweep.svg)"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn csv_has_one_line_per_row_and_a_constant_width() {
    let r = report();
    let csv = report::render(&r, Format::Csv);
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), r.rows.len() + 1);
    // No field of these rows needs quoting, so commas count the columns.
    let width = lines[0].split(',').count();
    assert!(lines.iter().all(|l| l.split(',').count() == width));
}

#[test]
fn the_terminal_table_has_a_legend_and_the_paper_beside_ours() {
    let r = report();
    let text = report::render(&r, Format::Table);
    assert!(text.contains("Legend:") && text.contains("modeled cycles"));
    assert!(text.contains("call/ret") && text.contains("[11 "), "{text}");
    let md = report::render(&r, Format::Md);
    assert!(md.contains("| workload |"));
}
