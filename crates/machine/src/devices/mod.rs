//! The standard devices: console, kernel log, power and a PIO block device.
//!
//! `docs/devices.md` is the register-level spec; [`ports`] and the bit
//! modules below are its constants. Every device decodes registers by exact
//! offset from its base: a port inside a device's range that names no
//! register reads 0 and ignores writes.

mod block;
mod console;
mod log;
mod power;

pub use block::{BlockDevice, Disk, DiskError};
pub use console::Console;
pub use log::Log;
pub use power::Power;

/// Bytes a console or log keeps before dropping output (16 MiB), so a guest
/// flooding a port cannot exhaust host memory.
pub const DEFAULT_OUTPUT_LIMIT: usize = 16 << 20;

/// The standard port map (absolute port numbers) and the block device's
/// sector geometry.
pub mod ports {
    /// Console: first port.
    pub const CONSOLE_BASE: u16 = 0x100;
    /// Console: number of ports.
    pub const CONSOLE_LEN: u16 = 8;
    /// Console DATA: write transmits the low byte; read takes the next
    /// received byte, or all ones (truncated to the width) if none.
    pub const CONSOLE_DATA: u16 = CONSOLE_BASE;
    /// Console STATUS: see [`console_status`](super::console_status).
    pub const CONSOLE_STATUS: u16 = CONSOLE_BASE + 4;

    /// Kernel log: first port.
    pub const LOG_BASE: u16 = 0x110;
    /// Kernel log: number of ports.
    pub const LOG_LEN: u16 = 4;
    /// Log DATA: write appends the low byte to the kernel log.
    pub const LOG_DATA: u16 = LOG_BASE;

    /// Power: first port.
    pub const POWER_BASE: u16 = 0x120;
    /// Power: number of ports.
    pub const POWER_LEN: u16 = 4;
    /// Power EXIT: a write powers the machine off with the value as exit code.
    pub const POWER_EXIT: u16 = POWER_BASE;

    /// Block device: first port.
    pub const BLOCK_BASE: u16 = 0x200;
    /// Block device: number of ports.
    pub const BLOCK_LEN: u16 = 0x20;
    /// Block SECTOR (r/w): the sector the next command acts on.
    pub const BLOCK_SECTOR: u16 = BLOCK_BASE;
    /// Block COMMAND (write): see [`block_command`](super::block_command).
    pub const BLOCK_COMMAND: u16 = BLOCK_BASE + 0x04;
    /// Block STATUS (read): see [`block_status`](super::block_status).
    pub const BLOCK_STATUS: u16 = BLOCK_BASE + 0x08;
    /// Block DATA (r/w): one 32-bit word of the sector buffer per access.
    pub const BLOCK_DATA: u16 = BLOCK_BASE + 0x0C;
    /// Block SECTORS (read-only): disk size in sectors.
    pub const BLOCK_SECTORS: u16 = BLOCK_BASE + 0x10;
    /// Block IRQ_ENABLE (r/w): see [`block_irq_enable`](super::block_irq_enable).
    pub const BLOCK_IRQ_ENABLE: u16 = BLOCK_BASE + 0x14;

    /// Bytes per sector.
    pub const SECTOR_SIZE: usize = 512;
    /// DATA accesses per sector (one 32-bit word each).
    pub const WORDS_PER_SECTOR: usize = SECTOR_SIZE / 4;
}

pub use ports::SECTOR_SIZE;

/// Bits of the console STATUS register.
pub mod console_status {
    /// Read: a received byte is waiting in DATA.
    pub const RX_READY: u32 = 1 << 0;
    /// Read: the transmitter accepts a byte (always set: output never blocks).
    pub const TX_READY: u32 = 1 << 1;
    /// Read/write: raise the device interrupt while RX_READY is set.
    pub const RX_IRQ_ENABLE: u32 = 1 << 2;
}

/// Values of the block COMMAND register.
pub mod block_command {
    /// Read sector SECTOR into the buffer; DATA then yields its 128 words.
    pub const READ: u32 = 1;
    /// Write sector SECTOR: DATA then takes 128 words; the sector is written
    /// when the 128th arrives.
    pub const WRITE: u32 = 2;
    /// Acknowledge the completion interrupt (clears STATUS.IRQ).
    pub const ACK: u32 = 3;
}

/// Bits of the block STATUS register.
pub mod block_status {
    /// The device accepts a command (always set: commands complete at once).
    pub const READY: u32 = 1 << 0;
    /// The last command failed (sector past the end, unknown command).
    pub const ERROR: u32 = 1 << 1;
    /// Data request: DATA has words to transfer for the current command.
    pub const DRQ: u32 = 1 << 2;
    /// A command completed since the last ACK (the completion interrupt).
    pub const IRQ: u32 = 1 << 3;
}

/// Bits of the block IRQ_ENABLE register.
pub mod block_irq_enable {
    /// Drive the device interrupt line while STATUS.IRQ is set.
    pub const ENABLE: u32 = 1 << 0;
}

/// Captured output of a console or log: bytes up to a limit, then a count of
/// what was dropped.
#[derive(Debug)]
struct Capture {
    bytes: Vec<u8>,
    limit: usize,
    dropped: u64,
}

impl Capture {
    fn new() -> Capture {
        Capture {
            bytes: Vec::new(),
            limit: DEFAULT_OUTPUT_LIMIT,
            dropped: 0,
        }
    }

    fn push(&mut self, byte: u8) {
        if self.bytes.len() < self.limit {
            self.bytes.push(byte);
        } else {
            self.dropped += 1;
        }
    }

    fn take(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.bytes)
    }
}
