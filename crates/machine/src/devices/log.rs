//! The kernel log: a write-only byte port kept apart from the console, so a
//! kernel can report build- or mode-specific facts without changing the
//! console output that every mode must reproduce.

use std::any::Any;

use vmlab_isa::Width;

use super::{Capture, ports};
use crate::bus::{Device, Effect};

/// DATA register offset.
const DATA: u16 = ports::LOG_DATA - ports::LOG_BASE;

/// The kernel log device (ports `0x110..0x114` on the standard bus).
///
/// Like the console, it keeps up to 16 MiB by default and counts the rest in
/// [`dropped`](Log::dropped).
#[derive(Debug)]
pub struct Log {
    output: Capture,
}

impl Default for Log {
    fn default() -> Log {
        Log::new()
    }
}

impl Log {
    /// An empty log.
    pub fn new() -> Log {
        Log {
            output: Capture::new(),
        }
    }

    /// Bytes the guest has logged and the host has not taken yet.
    pub fn output(&self) -> &[u8] {
        &self.output.bytes
    }

    /// Takes the logged bytes, leaving the log empty.
    pub fn take_output(&mut self) -> Vec<u8> {
        self.output.take()
    }

    /// The log as text lines (invalid UTF-8 replaced by U+FFFD).
    pub fn lines(&self) -> Vec<String> {
        String::from_utf8_lossy(&self.output.bytes)
            .lines()
            .map(str::to_owned)
            .collect()
    }

    /// Logged bytes dropped because the log was full.
    pub fn dropped(&self) -> u64 {
        self.output.dropped
    }

    /// Sets how many bytes are kept before further bytes are dropped.
    pub fn set_output_limit(&mut self, bytes: usize) {
        self.output.limit = bytes;
    }
}

impl Device for Log {
    fn name(&self) -> &'static str {
        "log"
    }

    fn read(&mut self, _offset: u16, _width: Width) -> u32 {
        0
    }

    fn write(&mut self, offset: u16, _width: Width, value: u32) -> Effect {
        if offset == DATA {
            self.output.push(value as u8);
        }
        Effect::None
    }

    fn as_any(&self) -> &dyn Any {
        self
    }

    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
}
