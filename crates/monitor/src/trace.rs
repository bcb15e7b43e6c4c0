//! `--trace exits`: one line per exit or trap into the monitor.

use std::fmt;

use serde::Serialize;

/// One exit (hw) or trap (trap mode), as the monitor handled it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TraceLine {
    /// The exit's reason (an exception exit is named by its cause).
    pub reason: &'static str,
    /// The guest pc at the exit.
    pub pc: u32,
    /// `file:line` of the pc, when the boot image has a line map.
    pub source: Option<String>,
    /// What the monitor did.
    pub did: String,
    /// Modeled cycles this exit cost (transition and monitor work).
    pub cycles: u64,
}

impl TraceLine {
    /// True for a hypercall (`--trace hypercalls`): the monitor's note then
    /// reads `hypercall NAME(arg=value, ...) -> RESULT`, and `cycles` is its
    /// modeled cost. A pv kernel's calls exit as `hypercall`; a `PV_IO`
    /// kernel's `ring_notify` under trap arrives as a privileged-instruction
    /// trap and is recognized by the note.
    pub fn is_hypercall(&self) -> bool {
        self.did.starts_with("hypercall ")
    }
}

/// The callback a [`Vm`](crate::Vm) calls per exit.
pub type Tracer = Box<dyn FnMut(&TraceLine)>;

impl fmt::Display for TraceLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "exit {:<22} pc={:#010x}", self.reason, self.pc)?;
        if let Some(s) = &self.source {
            write!(f, " {s}")?;
        }
        write!(f, "  {}  [{} cycles]", self.did, self.cycles)
    }
}
