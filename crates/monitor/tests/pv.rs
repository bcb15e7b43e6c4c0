//! pv mode and paravirtual I/O on the real kernel builds: every workload
//! under pv, under trap and hw with `--io pv`, and hosted, gives the native
//! output; batching is real; the report and the trace show the pv counters.

use std::cell::RefCell;
use std::rc::Rc;

use vmlab_isa::abi;
use vmlab_monitor::{IoVirt, MemVirt, Mode, RunReport, Vm, VmConfig};

fn config(name: &str, iters: u32, mode: Mode, mem: MemVirt, io: IoVirt, hosted: bool) -> VmConfig {
    let mut c = VmConfig::for_workload_io(name, iters, mode, io).unwrap();
    c.mem = mem;
    c.hosted = hosted;
    c
}

fn run(name: &str, iters: u32, mode: Mode, mem: MemVirt, io: IoVirt, hosted: bool) -> RunReport {
    vmlab_monitor::run(config(name, iters, mode, mem, io, hosted), 50_000_000).unwrap()
}

/// Every paravirtual and hosted configuration.
const TABLE: [(Mode, MemVirt, IoVirt, bool); 9] = [
    (Mode::Pv, MemVirt::Direct, IoVirt::Pv, false),
    (Mode::Pv, MemVirt::Direct, IoVirt::Pv, true),
    (Mode::Trap, MemVirt::Shadow, IoVirt::Pv, false),
    (Mode::Hw, MemVirt::Shadow, IoVirt::Pv, false),
    (Mode::Hw, MemVirt::Nested, IoVirt::Pv, false),
    (Mode::Hw, MemVirt::Nested, IoVirt::Pv, true),
    (Mode::Trap, MemVirt::Shadow, IoVirt::Emulated, true),
    (Mode::Hw, MemVirt::Shadow, IoVirt::Emulated, true),
    (Mode::Hw, MemVirt::Nested, IoVirt::Emulated, true),
];

#[test]
fn every_workload_under_pv_io_pv_and_hosted_gives_the_native_output() {
    let mut failures = Vec::new();
    for w in vmlab_guest::workloads() {
        let want = w.expected_output(w.default_iters);
        for (mode, mem, io, hosted) in TABLE {
            let r = run(w.name, w.default_iters, mode, mem, io, hosted);
            if r.console != want || r.exit_code != Some(0) {
                failures.push(format!(
                    "{} {mode}/{mem}/io {io}/hosted {hosted}: status {} code {:?} ({:?})\n  console {:?}\n  log {:?}",
                    w.name, r.exit_status, r.exit_code, r.stop_reason, r.console, r.log
                ));
            }
            assert_eq!(r.io, io.name());
            assert_eq!(r.hosted, hosted);
            assert_eq!(r.mem, mem.name());
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn pv_report_names_direct_memory_pv_io_and_counts_hypercalls() {
    let r = run(
        "io-console",
        2,
        Mode::Pv,
        MemVirt::Direct,
        IoVirt::Pv,
        false,
    );
    assert_eq!(
        (r.mode, r.mem, r.io, r.hosted),
        ("pv", "direct", "pv", false)
    );
    let pv = &r.counters.pv;
    assert!(pv.hypercalls[&abi::HC_SET_TRAP_TABLE] >= 1, "{pv:#?}");
    assert!(pv.hypercalls[&abi::HC_SET_PTBR] >= 1, "{pv:#?}");
    assert!(pv.hypercalls[&abi::HC_RING_NOTIFY] >= 1, "{pv:#?}");
    assert!(pv.ring_notifications >= 1 && pv.ring_requests >= pv.ring_notifications);
    assert_eq!(pv.validation_rejections, 0, "{pv:#?}");
    assert_eq!(r.breakdown.count(vmlab_monitor::Event::VmExit), 0);
    // No port access exits: devices are reached through the rings.
    assert_eq!(r.counters.device_accesses.emulated, 0);
    let json = serde_json::to_value(&r).unwrap();
    assert_eq!(json["mem"], "direct");
    assert_eq!(json["io"], "pv");
    assert_eq!(json["hosted"], false);
    assert!(json["counters"]["pv"]["hypercalls"]["13"].as_u64().unwrap() >= 1);
    let native = run(
        "io-console",
        2,
        Mode::Native,
        MemVirt::None,
        IoVirt::Device,
        false,
    );
    assert_eq!(native.io, "device");
}

#[test]
fn batching_is_real_ptemod_under_pv_makes_fewer_hypercalls_than_pte_writes() {
    let r = run(
        "nb-ptemod",
        2000,
        Mode::Pv,
        MemVirt::Direct,
        IoVirt::Pv,
        false,
    );
    assert_eq!(r.exit_code, Some(0), "{r:#?}");
    let pv = &r.counters.pv;
    let calls = pv.hypercalls[&abi::HC_MMU_UPDATE];
    assert!(pv.pte_updates >= 2000, "{pv:#?}");
    assert!(
        calls * 4 < pv.pte_updates,
        "{calls} calls for {} writes",
        pv.pte_updates
    );
    let biggest = *pv.batch_sizes.keys().max().unwrap();
    assert!(biggest > 1, "{:?}", pv.batch_sizes);
    assert_eq!(
        pv.batch_sizes
            .iter()
            .map(|(k, v)| u64::from(*k) * v)
            .sum::<u64>(),
        pv.pte_updates
    );
}

#[test]
fn io_disk_one_exit_per_word_emulated_one_notification_per_batch_pv() {
    let w = vmlab_guest::workload("io-disk").unwrap();
    let n = w.default_iters;
    let em = |k| {
        run(
            "io-disk",
            k,
            Mode::Hw,
            MemVirt::Nested,
            IoVirt::Emulated,
            false,
        )
    };
    let pv = |k| run("io-disk", k, Mode::Hw, MemVirt::Nested, IoVirt::Pv, false);
    let (e1, e2) = (em(n), em(2 * n));
    let (p1, p2) = (pv(n), pv(2 * n));
    let d_exits = e2.counters.exits_total - e1.counters.exits_total;
    let d_notify = p2.counters.pv.ring_notifications - p1.counters.pv.ring_notifications;
    let d_requests = p2.counters.pv.ring_requests - p1.counters.pv.ring_requests;
    // Sectors moved: one block request per sector under pv.
    let d_sectors = p2.counters.pv.ring_requests - p1.counters.pv.ring_requests;
    assert!(d_sectors > 0);
    let per_sector = d_exits as f64 / d_sectors as f64;
    assert!(per_sector >= 128.0, "{per_sector} exits per sector");
    // The kernel's disk driver is synchronous: each batch is one sector,
    // sent with one notification (and no exit per word).
    assert_eq!(
        d_requests, d_notify,
        "{d_requests} requests, {d_notify} notifications"
    );
    let pv_exits = p2.counters.exits_total - p1.counters.exits_total;
    println!(
        "io-disk: emulated {per_sector:.1} exits per sector; pv {:.2} notifications per batch, \
         {:.2} exits per sector",
        d_notify as f64 / d_requests as f64,
        pv_exits as f64 / d_sectors as f64
    );
}

#[test]
fn hosted_counts_and_prices_a_world_switch_per_device_exit() {
    let a = run(
        "io-console",
        2,
        Mode::Hw,
        MemVirt::Nested,
        IoVirt::Emulated,
        false,
    );
    let b = run(
        "io-console",
        2,
        Mode::Hw,
        MemVirt::Nested,
        IoVirt::Emulated,
        true,
    );
    assert_eq!(a.console, b.console);
    assert_eq!(a.counters.pv.hosted_switches, 0);
    assert_eq!(
        b.counters.pv.hosted_switches,
        b.counters.device_accesses.emulated
    );
    assert!(b.modeled_cycles > a.modeled_cycles);
    assert_eq!(
        b.breakdown.count(vmlab_monitor::Event::HostedSwitch),
        b.counters.pv.hosted_switches
    );
}

#[test]
fn hypercall_trace_lines_name_the_call_its_arguments_result_and_cost() {
    let c = config("ptemod", 100, Mode::Pv, MemVirt::Direct, IoVirt::Pv, false);
    let mut host = Vm::host_for(&c).unwrap();
    let mut vm = Vm::new(&mut host, c).unwrap();
    let lines = Rc::new(RefCell::new(Vec::new()));
    let sink = lines.clone();
    vm.set_tracer(move |l| {
        if l.is_hypercall() {
            sink.borrow_mut().push(l.to_string());
        }
    });
    vm.run(&mut host, 50_000_000).unwrap();
    let lines = lines.borrow();
    let find = |s: &str| lines.iter().find(|l| l.contains(s)).cloned();
    let mmu = find("hypercall mmu_update(").expect("an mmu_update line");
    assert!(mmu.contains("count=") && mmu.contains("cycles"), "{mmu}");
    assert!(find("hypercall set_trap_table(table=").is_some());
    assert!(find("hypercall shutdown(code=0x0)").is_some());
    for l in lines.iter().take(12) {
        println!("{l}");
    }
    println!("{mmu}");
}

#[test]
fn the_ring_1_rule_trap_frame_registers_do_not_exit_anything_else_stops_the_vm() {
    use vmlab_guest::boot::{BootSpec, layout};
    use vmlab_monitor::{Outcome, RunState};
    let boot = |body: &str| {
        let source = format!(
            "{}\n        .org 0x8000\n{body}\n        li a4, HC_SHUTDOWN\n        hypercall\n",
            abi::asm_include()
        );
        let image = vmlab_asm::assemble_str(&source).unwrap();
        let mut spec = BootSpec::new(&image, 256 << 10);
        spec.flags.pv_cpu = true;
        spec.flags.pv_io = true;
        spec.p2m = Some(vec![0; 64]);
        let l = layout(&spec).unwrap();
        let mut c = VmConfig::new(
            vmlab_monitor::BootImage {
                chunks: l.chunks,
                entry: l.entry,
                lines: Vec::new(),
            },
            Mode::Pv,
        );
        c.ram_bytes = 256 << 10;
        c
    };
    let c = boot(
        "        li t0, 0x1234\n        csrw scratch, t0\n        csrw epc, t0\n        csrr t1, epc\n        csrr t2, cause\n        csrr t3, badaddr\n        csrr a0, scratch",
    );
    let mut host = Vm::host_for(&c).unwrap();
    let mut vm = Vm::new(&mut host, c).unwrap();
    let state = vm.run(&mut host, 10_000).unwrap();
    assert_eq!(
        state,
        RunState::Finished(Outcome::Shutdown { code: 0x1234 })
    );
    let r = vm.report();
    assert_eq!(r.counters.exits_total, 1, "{:?}", r.counters.exits);
    // Any other control register is a guest error.
    let c = boot("        csrr a0, ptbr");
    let mut host = Vm::host_for(&c).unwrap();
    let mut vm = Vm::new(&mut host, c).unwrap();
    let state = vm.run(&mut host, 10_000).unwrap();
    assert!(matches!(
        state,
        RunState::Finished(Outcome::GuestError { .. })
    ));
    assert!(vm.stop_reason().unwrap().contains("privileged instruction"));
    assert_eq!(vm.report().exit_status, "guest_error");
}
