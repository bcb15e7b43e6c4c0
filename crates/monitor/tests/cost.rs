//! The cost model: presets, cost files and their errors, the breakdown.

use std::path::PathBuf;

use vmlab_monitor::cost::{
    Breakdown, Category, CostError, CostModel, Event, MAX_COST, PaperCycles, Preset,
};

fn data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

fn p4() -> CostModel {
    CostModel::preset("p4-2006").expect("p4-2006 preset")
}

fn modern() -> CostModel {
    CostModel::preset("modern").expect("modern preset")
}

/// The error's message, for assertions on what the user reads.
fn message(result: Result<CostModel, CostError>) -> String {
    match result {
        Ok(m) => panic!("expected an error, loaded {m:?}"),
        Err(e) => e.to_string(),
    }
}

fn assert_contains(msg: &str, parts: &[&str]) {
    for part in parts {
        assert!(
            msg.contains(part),
            "message {msg:?} should contain {part:?}"
        );
    }
}

#[test]
fn presets_load_and_differ_where_they_must() {
    assert_eq!(CostModel::presets(), ["p4-2006", "modern"]);
    let (p4, modern) = (p4(), modern());
    assert_eq!(p4.name, "p4-2006");
    assert_eq!(modern.name, "modern");
    assert!(!p4.tlb_tagged, "2006 hardware has no tagged TLB");
    assert!(modern.tlb_tagged);
    assert!(
        p4.vm_exit > 10_000,
        "first-generation VT-x exits are expensive"
    );
    assert!(
        (1_300..=1_400).contains(&modern.vm_exit),
        "modern exit ~1,300 cycles"
    );
    assert!(CostModel::preset("p4").is_none());
    for name in CostModel::presets() {
        assert_eq!(Preset::get(name).map(|p| p.name), Some(*name));
    }
}

#[test]
fn modern_changes_only_what_a_modern_figure_changes() {
    let (p4, modern) = (p4(), modern());
    let changed: Vec<&str> = Event::ALL
        .iter()
        .filter(|&&e| p4.cost(e) != modern.cost(e))
        .map(|e| e.name())
        .collect();
    assert_eq!(changed, ["vm_exit", "hosted_switch"]);
}

#[test]
fn p4_constants_follow_from_their_cited_figures() {
    let m = p4();
    // Adams & Agesen 2006 (ANCHORS.md), as docs/cost-model.md derives them.
    assert_eq!(
        m.exception_entry + m.exception_return,
        889,
        "native divzero"
    );
    assert_eq!(m.monitor_trap, 889, "native divzero");
    assert_eq!(m.device_native, 3_209, "native in");
    assert_eq!(m.insn_ctrl_write, 140, "native cr8wr");
    assert_eq!(m.bt_indirect_lookup, 51 - 11, "call/ret bt - native");
    assert_eq!(m.bt_callout + m.device_emulation, 214, "bt in");
    assert_eq!(m.vm_exit + m.device_emulation, 15_826, "hw in");
    assert_eq!(m.bt_callout + m.shadow_update, 391, "bt ptemod");
    assert_eq!(
        m.monitor_reflect + m.bt_callout + m.monitor_emulate,
        2_000,
        "bt syscall extra"
    );
    let modern = modern();
    assert_eq!(
        modern.vm_exit,
        (1_344 + 1_376) / 2,
        "LKML 2020 VMRUN->exit midpoint"
    );
    assert_eq!(
        modern.vm_exit + modern.hosted_switch,
        (2_528 + 2_576) / 2,
        "whole KVM_RUN"
    );
}

#[test]
fn calibration_and_validation_lists_are_consistent() {
    for preset in Preset::ALL {
        for c in preset.calibration() {
            assert!(
                !c.fields.is_empty(),
                "{}: {} sets no field",
                preset.name,
                c.figure
            );
            for f in c.fields {
                assert!(
                    Event::from_name(f).is_some(),
                    "{}: unknown field {f}",
                    preset.name
                );
            }
        }
    }
    let p4 = Preset::get("p4-2006").expect("preset");
    assert_eq!(p4.paper.len(), 21, "7 benches x 3 columns");
    for bench in [
        "syscall", "in", "cr8wr", "call/ret", "pgfault", "divzero", "ptemod",
    ] {
        for mode in ["native", "bt", "hw"] {
            let n = p4
                .paper
                .iter()
                .filter(|r| r.bench == bench && r.mode == mode)
                .count();
            assert_eq!(n, 1, "{bench}/{mode}");
        }
    }
    let validation = p4.validation();
    assert!(validation.iter().all(|r| !r.calibrated));
    assert_eq!(validation.len(), 11);
    // What calibrated the exit cost cannot also validate it, and vice versa.
    let cell = |bench: &str, mode: &str| {
        p4.paper
            .iter()
            .find(|r| r.bench == bench && r.mode == mode)
            .expect("cell")
    };
    assert!(cell("in", "hw").calibrated);
    for bench in ["syscall", "pgfault", "divzero", "ptemod"] {
        assert!(!cell(bench, "hw").calibrated, "{bench}/hw is validation");
    }
    assert_eq!(cell("syscall", "bt").paper.resolve(Some(500)), Some(2_500));
    assert_eq!(cell("pgfault", "hw").paper, PaperCycles::Cycles(11_242));
    assert_eq!(cell("cr8wr", "native").paper.to_string(), "~140");
}

#[test]
fn to_toml_round_trips_every_preset() {
    for name in CostModel::presets() {
        let model = CostModel::preset(name).expect("preset");
        let text = model.to_toml_string();
        let back = CostModel::from_toml_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(back, model, "{name}");
        assert!(
            !text.lines().any(|l| l.starts_with("base")),
            "a dump is complete without a base"
        );
    }
    let mut odd = p4();
    odd.name = "quote \" backslash \\ tab \t del \u{7f}".to_owned();
    assert_eq!(
        CostModel::from_toml_str(&odd.to_toml_string()).expect("odd name"),
        odd
    );
}

#[test]
fn to_json_round_trips_every_preset() {
    for name in CostModel::presets() {
        let model = CostModel::preset(name).expect("preset");
        let back = CostModel::from_json_str(&model.to_json_string()).expect("json");
        assert_eq!(back, model, "{name}");
    }
}

#[test]
fn base_and_override_from_toml_file() {
    let m = CostModel::load(data("override.toml")).expect("override.toml");
    let mut expected = p4();
    expected.name = "p4-fast-exit".to_owned();
    expected.vm_exit = 5_000;
    expected.tlb_tagged = true;
    assert_eq!(m, expected);
}

#[test]
fn base_and_override_from_json_file() {
    let m = CostModel::load(data("override.json")).expect("override.json");
    let mut expected = modern();
    expected.name = "modern+custom".to_owned();
    expected.vm_exit = 700;
    expected.page_walk_ref = 40;
    assert_eq!(m, expected);
}

#[test]
fn from_spec_takes_a_preset_or_a_file() {
    assert_eq!(CostModel::from_spec("modern").expect("preset"), modern());
    let path = data("override.toml");
    let m = CostModel::from_spec(path.to_str().expect("utf-8 path")).expect("file");
    assert_eq!(m.vm_exit, 5_000);
    let msg = message(CostModel::from_spec("p5-2008"));
    assert_contains(&msg, &["unknown cost model `p5-2008`", "p4-2006, modern"]);
}

#[test]
fn malformed_toml_names_file_line_and_column() {
    let msg = message(CostModel::load(data("malformed.toml")));
    assert_contains(&msg, &["malformed.toml:2:", "malformed TOML"]);
}

#[test]
fn malformed_json_names_file_and_line() {
    let msg = message(CostModel::load(data("malformed.json")));
    assert_contains(
        &msg,
        &["malformed.json:4:", "malformed JSON", "trailing comma"],
    );
}

#[test]
fn missing_field_without_base_is_named() {
    let full = p4().to_toml_string();
    let text: String = full
        .lines()
        .filter(|l| !l.starts_with("vm_exit"))
        .map(|l| format!("{l}\n"))
        .collect();
    let msg = message(CostModel::from_toml_str(&text));
    assert_contains(
        &msg,
        &[
            "<toml>: missing field `vm_exit`",
            "without `base`",
            "add it",
        ],
    );
    // A file missing many fields lists them all, in table order.
    let msg = message(CostModel::load(data("missing.toml")));
    assert_contains(
        &msg,
        &[
            "missing.toml: missing fields `insn_mul`, `insn_div`",
            "`vm_exit`",
        ],
    );
    assert!(!msg.contains("`insn_alu`"), "insn_alu is present: {msg}");
}

#[test]
fn unknown_field_suggests_the_closest_name() {
    let msg = message(CostModel::load(data("unknown_field.toml")));
    assert_contains(
        &msg,
        &[
            "unknown_field.toml:2:1:",
            "unknown field `vm_exits`",
            "did you mean `vm_exit`?",
        ],
    );
    let msg = message(CostModel::from_json_str(
        r#"{"base": "modern", "Page-Walk-Ref": 3}"#,
    ));
    assert_contains(
        &msg,
        &[
            "<json>: unknown field `Page-Walk-Ref`",
            "did you mean `page_walk_ref`?",
        ],
    );
    let msg = message(CostModel::from_toml_str(
        "base = \"modern\"\nfrobnicate = 3\n",
    ));
    assert_contains(&msg, &["unknown field `frobnicate`; remove it"]);
    assert!(!msg.contains("did you mean"));
}

#[test]
fn wrong_type_is_named() {
    let msg = message(CostModel::load(data("wrong_type.toml")));
    assert_contains(
        &msg,
        &[
            "wrong_type.toml:3:11",
            "field `vm_exit` must be a whole number of cycles",
            "found a string (\"fast\")",
        ],
    );
    let msg = message(CostModel::from_toml_str(
        "base = \"p4-2006\"\ninsn_div = 2.5\n",
    ));
    assert_contains(&msg, &["<toml>:2:12", "`insn_div`", "found a float (2.5)"]);
    let msg = message(CostModel::from_toml_str(
        "base = \"p4-2006\"\ntlb_tagged = 1\n",
    ));
    assert_contains(
        &msg,
        &["`tlb_tagged` must be a boolean", "found an integer (1)"],
    );
    let msg = message(CostModel::from_toml_str("base = 2006\n"));
    assert_contains(&msg, &["`base` must be a preset name"]);
    let msg = message(CostModel::from_json_str("[1, 2]"));
    assert_contains(&msg, &["expected a table of cost fields", "found an array"]);
}

#[test]
fn negative_value_is_named() {
    let msg = message(CostModel::load(data("negative.json")));
    assert_contains(
        &msg,
        &[
            "negative.json: field `hypercall` is -5",
            "cannot be negative",
        ],
    );
}

#[test]
fn absurd_value_is_named() {
    let msg = message(CostModel::load(data("too_large.toml")));
    assert_contains(
        &msg,
        &[
            "too_large.toml:2:11",
            "field `vm_exit` is 5000000000",
            "1000000000",
        ],
    );
    let at_limit = format!("base = \"modern\"\nvm_exit = {MAX_COST}\n");
    assert_eq!(
        CostModel::from_toml_str(&at_limit)
            .expect("limit is allowed")
            .vm_exit,
        MAX_COST
    );
}

#[test]
fn unknown_base_preset_is_named() {
    let msg = message(CostModel::load(data("unknown_base.toml")));
    assert_contains(
        &msg,
        &[
            "unknown_base.toml:1:8",
            "unknown base preset `pentium-4`",
            "known presets: p4-2006, modern",
        ],
    );
}

#[test]
fn unknown_extension_and_missing_file() {
    let msg = message(CostModel::load(data("costs.yaml")));
    assert_contains(
        &msg,
        &[
            "costs.yaml: unknown cost file extension",
            "*.toml or *.json",
        ],
    );
    let msg = message(CostModel::load(data("no-such-file.toml")));
    assert_contains(&msg, &["cannot read cost file", "no-such-file.toml"]);
}

#[test]
fn breakdown_sums() {
    let model = p4();
    let mut b = Breakdown::new(&model);
    assert_eq!(b.total(), 0);
    let mut expected = 0;
    for (i, &e) in Event::ALL.iter().enumerate() {
        let n = i as u64 + 1;
        assert_eq!(b.add(e, n), n * model.cost(e));
        expected += n * model.cost(e);
    }
    assert_eq!(b.total(), expected);
    assert_eq!(b.iter().map(|(_, c)| c).sum::<u64>(), expected);
    assert_eq!(b.events().map(|(_, _, c)| c).sum::<u64>(), expected);
    assert_eq!(b.iter().map(|(c, _)| c).collect::<Vec<_>>(), Category::ALL);
    assert_eq!(b.count(Event::VmExit), Event::VmExit.index() as u64 + 1);
    assert_eq!(
        b.category(Category::Exits),
        b.cycles(Event::VmExit) + b.cycles(Event::MonitorTrap)
    );
    let mut twice = b.clone();
    twice.merge(&b);
    assert_eq!(twice.total(), 2 * expected);
    // Saturates instead of wrapping.
    let mut huge = Breakdown::new(&model);
    huge.add(Event::VmExit, u64::MAX);
    huge.add(Event::VmExit, 1);
    assert_eq!(huge.total(), u64::MAX);
}

#[test]
fn breakdown_serializes_in_fixed_order() {
    let model = modern();
    let mut b = Breakdown::new(&model);
    b.add(Event::InsnAlu, 10);
    b.add(Event::VmExit, 1);
    let json = serde_json::to_value(&b).expect("serialize");
    assert_eq!(json["total"], 10 * model.insn_alu + model.vm_exit);
    assert_eq!(json["categories"]["exits"], model.vm_exit);
    assert_eq!(json["events"]["vm_exit"]["count"], 1);
    assert!(
        json["events"].get("hypercall").is_none(),
        "uncounted events are left out"
    );
    let text = serde_json::to_string(&b).expect("serialize");
    let order: Vec<usize> = Category::ALL
        .iter()
        .map(|c| text.find(&format!("\"{}\"", c.name())).expect("key"))
        .collect();
    assert!(
        order.windows(2).all(|w| w[0] < w[1]),
        "categories in fixed order: {text}"
    );
}

#[test]
fn every_event_has_a_name_category_and_description() {
    let mut names: Vec<&str> = Event::ALL.iter().map(|e| e.name()).collect();
    for &e in Event::ALL {
        assert!(!e.description().is_empty(), "{e:?}");
        assert!(Category::ALL.contains(&e.category()), "{e:?}");
        assert_eq!(Event::from_name(e.name()), Some(e));
        assert_eq!(Event::ALL[e.index()], e);
    }
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), Event::COUNT, "names are unique");
    for c in Category::ALL {
        assert!(
            Event::ALL.iter().any(|e| e.category() == c),
            "category {c} has no event"
        );
    }
}

#[test]
fn set_cost_changes_one_event() {
    let mut m = p4();
    m.set_cost(Event::VmExit, 1_000);
    assert_eq!(m.cost(Event::VmExit), 1_000);
    assert_eq!(m.vm_exit, 1_000);
    assert_eq!(m.iter().filter(|&(e, c)| c != p4().cost(e)).count(), 1);
}

#[test]
fn docs_list_every_field_and_both_preset_values() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/cost-model.md");
    let doc = std::fs::read_to_string(&path).expect("docs/cost-model.md");
    let (p4, modern) = (p4(), modern());
    for &e in Event::ALL {
        let row = doc
            .lines()
            .find(|l| l.starts_with(&format!("| `{}` |", e.name())))
            .unwrap_or_else(|| panic!("docs/cost-model.md has no table row for `{}`", e.name()));
        let cells: Vec<String> = row.split('|').map(|c| c.trim().replace(',', "")).collect();
        assert_eq!(
            cells[2],
            p4.cost(e).to_string(),
            "p4-2006 value of {} in the docs",
            e.name()
        );
        assert_eq!(
            cells[3],
            modern.cost(e).to_string(),
            "modern value of {} in the docs",
            e.name()
        );
    }
}
