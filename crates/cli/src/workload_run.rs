//! `vmlab run WORKLOAD --mode M`: boot the guest kernel with a workload under
//! the monitor and report what it cost.

use std::cell::RefCell;
use std::rc::Rc;

use vmlab_isa::Profile;
use vmlab_monitor::{
    BootImage, CostModel, IoVirt, MemVirt, Mode, RunReport, TraceLine, Vm, VmConfig, kernel_build,
};

use crate::trace::TraceSet;

/// What `vmlab run` needs to run a workload.
#[derive(Debug)]
pub struct WorkloadRun<'a> {
    /// Workload name.
    pub name: &'a str,
    /// Virtualization mode.
    pub mode: Mode,
    /// Memory virtualization (None: the mode's default).
    pub mem: Option<MemVirt>,
    /// I/O virtualization (None: the mode's default).
    pub io: Option<IoVirt>,
    /// Device exits go to device models on their own thread (type 2).
    pub hosted: bool,
    /// Cost model preset or file.
    pub cost: &'a str,
    /// Iterations (None: the workload's default).
    pub iters: Option<u32>,
    /// Guest RAM in MiB.
    pub mem_mib: u64,
    /// ISA profile.
    pub profile: Profile,
    /// Instruction budget.
    pub max_insns: u64,
    /// Trace categories.
    pub trace: TraceSet,
    /// What runs guest code.
    pub engine: vmlab_monitor::Engine,
}

/// Runs the workload; returns the report (the caller prints it).
pub fn run(opts: &WorkloadRun<'_>) -> Result<RunReport, String> {
    let w = vmlab_guest::workload(opts.name).ok_or_else(|| {
        let known: Vec<&str> = vmlab_guest::workloads().iter().map(|w| w.name).collect();
        format!(
            "error: `{}` is neither a file nor a workload; the workloads are: {} (see `vmlab list`)",
            opts.name,
            known.join(", ")
        )
    })?;
    let ram = u32::try_from(opts.mem_mib << 20)
        .ok()
        .filter(|r| *r > 0)
        .ok_or_else(|| {
            format!(
                "error: --mem-mib {} is out of range (1..4095)",
                opts.mem_mib
            )
        })?;
    let iters = opts.iters.unwrap_or(w.default_iters);
    let io = opts.io.unwrap_or(IoVirt::default_for(opts.mode));
    // The kernel build follows the mode and I/O: pv needs the pv kernel,
    // paravirtual I/O in a full-virtualization mode the PV_IO drivers.
    let build = kernel_build(opts.mode, io);
    let boot =
        BootImage::workload_build(w, iters, ram, build).map_err(|e| format!("error: {e}"))?;
    let mut config = VmConfig::new(boot, opts.mode);
    config.io = io;
    config.hosted = opts.hosted;
    config.workload = w.name.to_string();
    config.ram_bytes = ram;
    config.profile = opts.profile;
    config.engine = opts.engine;
    if opts.engine == vmlab_monitor::Engine::Jit && !vmlab_translate::JIT_AVAILABLE {
        eprintln!("notice: --engine jit: no x86-64 host, using the portable backend");
    }
    config.mem = opts.mem.unwrap_or(opts.mode.default_mem());
    config.cost = CostModel::from_spec(opts.cost).map_err(|e| format!("error: --cost: {e}"))?;
    config.validate().map_err(|e| format!("error: {e}"))?;

    let mut host = Vm::host_for(&config).map_err(|e| format!("error: {e}"))?;
    let mut vm = Vm::new(&mut host, config).map_err(|e| format!("error: {e}"))?;
    let lines: Rc<RefCell<u64>> = Rc::default();
    if opts.trace.exits || opts.trace.hypercalls {
        let count = Rc::clone(&lines);
        let mode = opts.mode;
        let (exits, hypercalls) = (opts.trace.exits, opts.trace.hypercalls);
        vm.set_tracer(move |t: &TraceLine| {
            if (t.is_hypercall() && hypercalls) || (!t.is_hypercall() && exits) {
                *count.borrow_mut() += 1;
                println!("{}", format_exit(mode, t));
            }
        });
    }
    if opts.trace.bt {
        vm.set_bt_tracer(|text: &str| println!("{}", text.trim_end()))
            .map_err(|e| format!("error: --trace bt: {e}"))?;
    }
    vm.run(&mut host, opts.max_insns)
        .map_err(|e| format!("error: {e}"))?;
    Ok(vm.report())
}

/// One `--trace exits` line: the mode, the exit reason, where, what the
/// monitor did, and what it cost.
fn format_exit(mode: Mode, t: &TraceLine) -> String {
    // Sources come with the directory they were assembled from; the file
    // name and line are what a reader needs.
    let source = t.source.as_deref().unwrap_or("");
    let source = source.rsplit('/').next().unwrap_or(source);
    format!(
        "[{mode}] {:<18} pc {:08x}  {:<44} {:>7} cycles  {source}",
        t.reason, t.pc, t.did, t.cycles
    )
}
