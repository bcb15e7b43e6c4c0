//! vmlab-monitor: the virtual machine monitor.
//!
//! A [`Host`] owns one machine's host-physical RAM and hands each [`Vm`] its
//! frames. A VM runs its guest in one [`Mode`] with one memory
//! virtualization ([`MemVirt`]); every exit goes to an [`ExitHandler`], which
//! is one `match` over [`Exit`] (the built-in ones are in [`modes`]). The
//! monitor counts events and prices them with a [`CostModel`]; a
//! [`RunReport`] shows both clocks. docs/modes.md is the guided tour.
//!
//! ```
//! use vmlab_monitor::{BootImage, Mode, Outcome, RunState, Vm, VmConfig};
//!
//! let image = vmlab_asm::assemble_str(
//!     "li a0, 0x120\n li a1, 7\n outw a1, 0(a0)\n",
//! ).unwrap();
//! let config = VmConfig::new(BootImage::from_image(&image), Mode::Trap);
//! let mut host = Vm::host_for(&config).unwrap();
//! let mut vm = Vm::new(&mut host, config).unwrap();
//! assert_eq!(vm.run(&mut host, 1_000).unwrap(), RunState::Finished(Outcome::Shutdown { code: 7 }));
//! assert_eq!(vm.report().counters.exits["privileged-instruction"], 1);
//! ```

#![forbid(unsafe_code)]

pub mod cost;

mod config;
pub mod demo;
mod emulate;
mod error;
mod handler;
mod host;
mod io;
pub mod modes;
pub mod nested;
mod pv;
mod report;
mod setup;
pub mod shadow;
mod stats;
mod trace;
mod vcpu;
mod vm;
mod workload;

pub use config::{BootImage, Engine, MemVirt, Mode, VmConfig};
pub use cost::{
    Breakdown, Calibration, Category, CostError, CostModel, Event, Location, PaperCycles, PaperRow,
    Preset,
};
pub use error::MonitorError;
pub use handler::{Action, Exit, ExitHandler, Outcome, VmCtx};
pub use host::{Host, HostConfig, VmId};
pub use io::IoVirt;
pub use pv::PvStats;
pub use report::{DeviceAccesses, Instructions, ReportCounters, RunReport, efficiency};
pub use stats::Stats;
pub use trace::{TraceLine, Tracer};
pub use vcpu::{CsrEffect, Vcpu};
pub use vm::{RunState, Vm, VmState, run};
pub use workload::{DISK_SECTORS, WORKLOAD_RAM, kernel_build};
