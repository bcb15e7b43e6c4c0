//! The power controller: one register whose write turns the machine off.

use std::any::Any;

use vmlab_isa::Width;

use super::ports;
use crate::bus::{Device, Effect};

/// EXIT register offset.
const EXIT: u16 = ports::POWER_EXIT - ports::POWER_BASE;

/// The power device (ports `0x120..0x124` on the standard bus). A write to
/// EXIT returns [`Effect::PowerOff`] with the value as exit code; the
/// machine, not the device, stops.
#[derive(Debug, Default)]
pub struct Power {
    exit_code: Option<u32>,
}

impl Power {
    /// A power device that has not been asked to power off.
    pub fn new() -> Power {
        Power::default()
    }

    /// The exit code of the last write to EXIT, if any.
    pub fn exit_code(&self) -> Option<u32> {
        self.exit_code
    }
}

impl Device for Power {
    fn name(&self) -> &'static str {
        "power"
    }

    fn read(&mut self, _offset: u16, _width: Width) -> u32 {
        0
    }

    fn write(&mut self, offset: u16, _width: Width, value: u32) -> Effect {
        if offset != EXIT {
            return Effect::None;
        }
        self.exit_code = Some(value);
        Effect::PowerOff(value)
    }

    fn as_any(&self) -> &dyn Any {
        self
    }

    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
}
