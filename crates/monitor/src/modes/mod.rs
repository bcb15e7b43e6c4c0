//! The monitors, one per mode: each is an [`ExitHandler`]
//! whose `handle` is one `match` over the exit.

pub(crate) mod bt;
mod hw;
mod native;
mod pv;
mod trap;

pub use bt::{BtMonitor, BtTracer, BtVcpu, Priced};
pub use hw::HwMonitor;
pub use native::NativeMonitor;
pub use pv::PvMonitor;
pub use trap::TrapMonitor;

use crate::config::Mode;
use crate::handler::ExitHandler;

/// The built-in monitor for `mode`.
pub fn default_handler(mode: Mode) -> Box<dyn ExitHandler> {
    match mode {
        Mode::Native => Box::new(NativeMonitor),
        Mode::Trap => Box::new(TrapMonitor),
        Mode::Bt => Box::new(BtMonitor),
        Mode::Pv => Box::new(PvMonitor),
        Mode::Hw => Box::new(HwMonitor),
    }
}
