//! The monitors, one per mode: each is an [`ExitHandler`]
//! whose `handle` is one `match` over the exit.

mod hw;
mod native;
mod trap;

pub use hw::HwMonitor;
pub use native::NativeMonitor;
pub use trap::TrapMonitor;

use crate::config::Mode;
use crate::handler::ExitHandler;

/// The built-in monitor for `mode` (bt and pv are refused earlier, by
/// [`Mode::check`]).
pub fn default_handler(mode: Mode) -> Box<dyn ExitHandler> {
    match mode {
        Mode::Native => Box::new(NativeMonitor),
        Mode::Trap => Box::new(TrapMonitor),
        Mode::Hw | Mode::Bt | Mode::Pv => Box::new(HwMonitor),
    }
}
