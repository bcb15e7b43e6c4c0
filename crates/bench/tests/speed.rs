//! The speed report's shape: an `interp` and a `jit` row per kernel, the
//! same guest work on both, translation cost only in the jit rows.

use vmlab_bench::speed::{self, SpeedOptions};

#[test]
fn every_kernel_has_an_interp_and_a_jit_row() {
    let rows = speed::run(&SpeedOptions {
        kernels: vec!["fib".into(), "crc32".into()],
        quick: true,
        repeat: 1,
        engines: Vec::new(),
    })
    .unwrap();
    let shape: Vec<(&str, &str)> = rows
        .iter()
        .map(|r| (r.kernel.as_str(), r.engine.as_str()))
        .collect();
    assert_eq!(
        shape,
        [
            ("fib", "interp"),
            ("fib", "jit"),
            ("crc32", "interp"),
            ("crc32", "jit")
        ]
    );
    for pair in rows.chunks(2) {
        assert_eq!(pair[0].guest_instructions, pair[1].guest_instructions);
        assert!(pair[0].translate_ns_per_insn.is_none());
        assert!(pair[1].translate_ns_per_insn.is_some());
    }
    let json = serde_json::to_value(&rows).unwrap();
    let keys = |i: usize| -> Vec<String> { json[i].as_object().unwrap().keys().cloned().collect() };
    for k in [
        "kernel",
        "engine",
        "guest_instructions",
        "guest_ns",
        "native_ns",
        "guest_mips",
        "slowdown",
    ] {
        assert!(keys(0).iter().any(|x| x == k) && keys(1).iter().any(|x| x == k));
    }
    assert!(!keys(0).iter().any(|x| x == "translate_ns_per_insn"));
    assert!(keys(1).iter().any(|x| x == "translate_ns_per_insn"));
    let table = speed::render_table(&rows);
    assert!(table.contains("geometric-mean slowdown (interp)"));
    assert!(table.contains("geometric-mean slowdown (jit)"));
    let only_jit = speed::run(&SpeedOptions {
        kernels: vec!["fib".into()],
        quick: true,
        repeat: 1,
        engines: vec!["jit".into()],
    })
    .unwrap();
    assert_eq!(only_jit.len(), 1);
    assert_eq!(only_jit[0].engine, "jit");
}
