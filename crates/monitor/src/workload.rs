//! Booting the guest crate's kernel with its workloads: the boot builder
//! (`vmlab_guest::boot::layout`) places the kernel, the boot-information
//! page and the programs; the VM loads the chunks.

use vmlab_guest::boot::{BootSpec, ProgramSpec, layout};
use vmlab_guest::{KernelBuild, Workload, kernel_image};

use crate::config::{BootImage, Mode, VmConfig};
use crate::error::MonitorError;

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
        let kernel = kernel_image(KernelBuild::Full).ok_or_else(|| {
            MonitorError::Image("the guest crate has no full kernel build".into())
        })?;
        let mut spec = BootSpec::new(kernel, ram_bytes);
        spec.disk_sectors = DISK_SECTORS;
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

impl VmConfig {
    /// A VM running the workload called `name` with `iters` iterations in
    /// `mode` (its default memory option), with 4 MiB of guest RAM.
    pub fn for_workload(name: &str, iters: u32, mode: Mode) -> Result<VmConfig, MonitorError> {
        let w = vmlab_guest::workload(name).ok_or_else(|| {
            let known: Vec<&str> = vmlab_guest::workloads().iter().map(|w| w.name).collect();
            MonitorError::Config(format!(
                "unknown workload `{name}`; known: {}",
                known.join(", ")
            ))
        })?;
        let mut config = VmConfig::new(BootImage::workload(w, iters, WORKLOAD_RAM)?, mode);
        config.ram_bytes = WORKLOAD_RAM;
        config.workload = name.to_string();
        Ok(config)
    }
}
