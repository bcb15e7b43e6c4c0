//! The monitor's one error enum (STYLE.md 10). Guest faults are never errors:
//! the monitor reflects them into the guest. These are host-side failures:
//! a bad configuration, a host out of frames, a machine that refused a
//! request.

use vmlab_machine::{Exit, MachineError};

use crate::config::{MemVirt, Mode};

/// What went wrong on the host side.
#[derive(Debug, thiserror::Error)]
pub enum MonitorError {
    /// A mode this build does not run yet (every mode of `Mode::ALL` runs
    /// today; the variant stays so the harness keeps listing, not failing,
    /// modes that a later issue adds).
    #[error(
        "mode `{mode}` is not available yet: it arrives with issue {issue}; see `vmlab run --help` for the modes that run"
    )]
    ModeNotAvailable {
        /// The mode asked for.
        mode: Mode,
        /// The issue that implements it.
        issue: u32,
    },
    /// A memory-virtualization option the mode cannot use.
    #[error("mode `{mode}` cannot use memory virtualization `{mem}`; valid for {mode}: {valid}")]
    InvalidMem {
        /// The mode.
        mode: Mode,
        /// The option asked for.
        mem: MemVirt,
        /// The options that mode accepts.
        valid: &'static str,
    },
    /// The VM's configuration and its host disagree.
    #[error("invalid VM configuration: {0}")]
    Config(String),
    /// The host has too few free frames.
    #[error(
        "the host is out of memory: {wanted} frames wanted, {free} free; give the host more RAM or the VM less"
    )]
    OutOfFrames {
        /// Frames asked for.
        wanted: usize,
        /// Frames free.
        free: usize,
    },
    /// A boot chunk does not fit the guest's RAM.
    #[error(
        "boot chunk at guest-physical {addr:#010x} ({len} bytes) does not fit in the VM's {ram_bytes} bytes of RAM; raise the guest RAM size"
    )]
    Boot {
        /// Where the chunk starts.
        addr: u32,
        /// Its length.
        len: usize,
        /// The guest's RAM size.
        ram_bytes: u32,
    },
    /// The machine refused a host request.
    #[error("machine: {0}")]
    Machine(#[from] MachineError),
    /// An exit the mode never asked for (a monitor bug, not a guest fault).
    #[error(
        "unexpected exit {exit:?} at pc {pc:#010x} in mode {mode}: the monitor did not ask for it"
    )]
    UnexpectedExit {
        /// The exit.
        exit: Exit,
        /// The guest pc.
        pc: u32,
        /// The mode.
        mode: Mode,
    },
    /// A guest image that could not be prepared.
    #[error("guest image: {0}")]
    Image(String),
}
