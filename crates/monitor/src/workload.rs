//! Booting the guest crate's kernel with its workloads: the boot builder
//! (`vmlab_guest::boot::layout`) places the kernel, the boot-information
//! page and the programs; the VM loads the chunks.

use vmlab_guest::boot::{BootSpec, ProgramSpec, layout};
use vmlab_guest::{KernelBuild, Workload, kernel_image};

use crate::config::{BootImage, Mode, VmConfig};
use crate::error::MonitorError;
use crate::io::IoVirt;

/// Sectors of every VM's disk (the boot-information page says so too).
pub const DISK_SECTORS: u32 = 2048;

/// Default guest RAM for workloads: 4 MiB.
pub const WORKLOAD_RAM: u32 = 4 << 20;

impl BootImage {
    /// The full kernel build with `workload`'s processes, each running
    /// `iters` iterations, in `ram_bytes` of guest RAM; the kernel's line map
    /// comes along for traces.
    pub fn workload(
        workload: &Workload,
        iters: u32,
        ram_bytes: u32,
    ) -> Result<BootImage, MonitorError> {
        BootImage::workload_build(workload, iters, ram_bytes, KernelBuild::Full)
    }

    /// As [`workload`](BootImage::workload) with the kernel build `build`:
    /// `PvIo` gets the rings in its boot information, `Pv` the rings, the
    /// shared page and a P2M table (placeholder frames: the monitor writes
    /// the VM's real frames at boot).
    pub fn workload_build(
        workload: &Workload,
        iters: u32,
        ram_bytes: u32,
        build: KernelBuild,
    ) -> Result<BootImage, MonitorError> {
        let kernel = kernel_image(build).ok_or_else(|| {
            MonitorError::Image(format!("the guest crate has no {build:?} kernel build"))
        })?;
        let mut spec = BootSpec::new(kernel, ram_bytes);
        spec.disk_sectors = DISK_SECTORS;
        spec.flags.pv_io = build != KernelBuild::Full;
        spec.flags.pv_cpu = build == KernelBuild::Pv;
        if build == KernelBuild::Pv {
            spec.p2m = Some(vec![0; (ram_bytes / 4096) as usize]);
        }
        for p in workload.processes {
            let image = p.image().ok_or_else(|| {
                MonitorError::Image(format!("user program `{}` is missing", p.program))
            })?;
            let mut prog = ProgramSpec::new(p.program, image, iters);
            prog.args[..3].copy_from_slice(&p.args);
            spec.programs.push(prog);
        }
        let boot = layout(&spec).map_err(|e| MonitorError::Image(e.to_string()))?;
        let mut image = BootImage::from_image(kernel);
        image.chunks = boot.chunks;
        image.entry = boot.entry;
        Ok(image)
    }
}

/// The kernel build a VM of `mode` with I/O `io` boots: the pv build under
/// pv, the `PV_IO` build with `--io pv` under trap or hw, else the full one.
pub fn kernel_build(mode: Mode, io: IoVirt) -> KernelBuild {
    match (mode, io) {
        (Mode::Pv, _) => KernelBuild::Pv,
        (_, IoVirt::Pv) => KernelBuild::PvIo,
        _ => KernelBuild::Full,
    }
}

impl VmConfig {
    /// A VM running the workload called `name` with `iters` iterations in
    /// `mode` (its default memory option), with 4 MiB of guest RAM.
    pub fn for_workload(name: &str, iters: u32, mode: Mode) -> Result<VmConfig, MonitorError> {
        VmConfig::for_workload_io(name, iters, mode, IoVirt::default_for(mode))
    }

    /// As [`for_workload`](VmConfig::for_workload) with I/O virtualization
    /// `io`: the kernel build follows the mode and the I/O (pv: the pv
    /// build; trap or hw with `io` pv: the `PV_IO` build; else the full one).
    pub fn for_workload_io(
        name: &str,
        iters: u32,
        mode: Mode,
        io: IoVirt,
    ) -> Result<VmConfig, MonitorError> {
        let w = vmlab_guest::workload(name).ok_or_else(|| {
            let known: Vec<&str> = vmlab_guest::workloads().iter().map(|w| w.name).collect();
            MonitorError::Config(format!(
                "unknown workload `{name}`; known: {}",
                known.join(", ")
            ))
        })?;
        let build = kernel_build(mode, io);
        let boot = BootImage::workload_build(w, iters, WORKLOAD_RAM, build)?;
        let mut config = VmConfig::new(boot, mode);
        config.io = io;
        config.ram_bytes = WORKLOAD_RAM;
        config.workload = name.to_string();
        Ok(config)
    }
}
