//! The console: a byte-wide serial port with an output capture for the host
//! and an input queue the host fills.

use std::any::Any;
use std::collections::VecDeque;

use vmlab_isa::Width;

use super::{Capture, console_status, ports};
use crate::bus::{Device, Effect, truncate};

/// DATA register offset.
const DATA: u16 = ports::CONSOLE_DATA - ports::CONSOLE_BASE;
/// STATUS register offset.
const STATUS: u16 = ports::CONSOLE_STATUS - ports::CONSOLE_BASE;

/// The console device (ports `0x100..0x108` on the standard bus).
///
/// Output the guest transmits is captured up to a limit (16 MiB by default);
/// bytes beyond it are dropped and counted in [`dropped`](Console::dropped).
#[derive(Debug)]
pub struct Console {
    output: Capture,
    input: VecDeque<u8>,
    rx_irq_enable: bool,
}

impl Default for Console {
    fn default() -> Console {
        Console::new()
    }
}

impl Console {
    /// A console with no output, no input, and the receive interrupt off.
    pub fn new() -> Console {
        Console {
            output: Capture::new(),
            input: VecDeque::new(),
            rx_irq_enable: false,
        }
    }

    /// Bytes the guest has transmitted and the host has not taken yet.
    pub fn output(&self) -> &[u8] {
        &self.output.bytes
    }

    /// Takes the captured output, leaving it empty (and room for more).
    pub fn take_output(&mut self) -> Vec<u8> {
        self.output.take()
    }

    /// Queues `bytes` for the guest to receive through DATA.
    pub fn push_input(&mut self, bytes: &[u8]) {
        self.input.extend(bytes);
    }

    /// Received bytes the guest has not read yet.
    pub fn input_pending(&self) -> usize {
        self.input.len()
    }

    /// Transmitted bytes dropped because the capture was full.
    pub fn dropped(&self) -> u64 {
        self.output.dropped
    }

    /// Sets how many bytes of output are kept before further bytes are dropped.
    pub fn set_output_limit(&mut self, bytes: usize) {
        self.output.limit = bytes;
    }

    /// The STATUS register as the guest reads it.
    fn status(&self) -> u32 {
        let mut status = console_status::TX_READY;
        if !self.input.is_empty() {
            status |= console_status::RX_READY;
        }
        if self.rx_irq_enable {
            status |= console_status::RX_IRQ_ENABLE;
        }
        status
    }
}

impl Device for Console {
    fn name(&self) -> &'static str {
        "console"
    }

    fn read(&mut self, offset: u16, width: Width) -> u32 {
        match offset {
            // Empty queue: all ones, which a word read tells apart from any
            // byte; a byte read must check STATUS.RX_READY first.
            DATA => self
                .input
                .pop_front()
                .map_or(truncate(u32::MAX, width), u32::from),
            STATUS => self.status(),
            _ => 0,
        }
    }

    fn write(&mut self, offset: u16, _width: Width, value: u32) -> Effect {
        match offset {
            DATA => self.output.push(value as u8),
            // Only the enable bit is writable; RX_READY and TX_READY are state.
            STATUS => self.rx_irq_enable = value & console_status::RX_IRQ_ENABLE != 0,
            _ => {}
        }
        Effect::None
    }

    fn irq_pending(&self) -> bool {
        self.rx_irq_enable && !self.input.is_empty()
    }

    fn as_any(&self) -> &dyn Any {
        self
    }

    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
}
