//! The block device: a programmed-I/O disk in the style of an emulated IDE
//! disk, and the [`Disk`] behind it.
//!
//! Moving one 32-bit word per DATA access is deliberate: under trap-and-emulate
//! every access is an exit, so emulated disk I/O costs 128 exits per sector,
//! which is exactly what paravirtual rings are designed to avoid.
//!
//! Commands complete synchronously: STATUS reads READY at once and the
//! completion interrupt is raised during the access that completes the
//! command. How long a disk takes is the cost model's business, not a delay
//! here, so runs stay deterministic.

use std::any::Any;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use vmlab_isa::Width;

use super::ports::{SECTOR_SIZE, WORDS_PER_SECTOR};
use super::{block_command, block_irq_enable, block_status, ports};
use crate::bus::{Device, Effect};

/// SECTOR register offset.
const SECTOR: u16 = ports::BLOCK_SECTOR - ports::BLOCK_BASE;
/// COMMAND register offset.
const COMMAND: u16 = ports::BLOCK_COMMAND - ports::BLOCK_BASE;
/// STATUS register offset.
const STATUS: u16 = ports::BLOCK_STATUS - ports::BLOCK_BASE;
/// DATA register offset.
const DATA: u16 = ports::BLOCK_DATA - ports::BLOCK_BASE;
/// SECTORS register offset.
const SECTORS: u16 = ports::BLOCK_SECTORS - ports::BLOCK_BASE;
/// IRQ_ENABLE register offset.
const IRQ_ENABLE: u16 = ports::BLOCK_IRQ_ENABLE - ports::BLOCK_BASE;

/// A disk image failed to load or save.
#[derive(Debug, thiserror::Error)]
pub enum DiskError {
    /// Reading the image file failed.
    #[error("cannot read disk image {}: {source}", path.display())]
    Read {
        /// The image file.
        path: PathBuf,
        /// What the OS said.
        source: io::Error,
    },
    /// Writing the image file failed.
    #[error("cannot write disk image {}: {source}", path.display())]
    Write {
        /// The image file.
        path: PathBuf,
        /// What the OS said.
        source: io::Error,
    },
}

/// The contents of a disk: a whole number of 512-byte sectors in host memory,
/// optionally loaded from and saved to a file.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Disk {
    bytes: Vec<u8>,
}

impl Disk {
    /// A zero-filled disk of `sectors` sectors.
    pub fn new(sectors: u32) -> Disk {
        Disk {
            bytes: vec![0; sectors as usize * SECTOR_SIZE],
        }
    }

    /// A disk holding `bytes`, zero-padded to a whole number of sectors.
    pub fn from_bytes(mut bytes: Vec<u8>) -> Disk {
        bytes.resize(bytes.len().div_ceil(SECTOR_SIZE) * SECTOR_SIZE, 0);
        Disk { bytes }
    }

    /// Loads a disk image file (padded like [`from_bytes`](Disk::from_bytes)).
    /// The disk is a copy: guest writes reach the file only through
    /// [`save`](Disk::save).
    pub fn open(path: impl AsRef<Path>) -> Result<Disk, DiskError> {
        let path = path.as_ref();
        fs::read(path)
            .map(Disk::from_bytes)
            .map_err(|source| DiskError::Read {
                path: path.to_owned(),
                source,
            })
    }

    /// Writes the whole disk to an image file, replacing it.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<(), DiskError> {
        let path = path.as_ref();
        fs::write(path, &self.bytes).map_err(|source| DiskError::Write {
            path: path.to_owned(),
            source,
        })
    }

    /// The whole disk.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Size in sectors (saturating at `u32::MAX`, the SECTORS register's range).
    pub fn sectors(&self) -> u32 {
        u32::try_from(self.bytes.len() / SECTOR_SIZE).unwrap_or(u32::MAX)
    }

    /// Sector `n`, or `None` past the end.
    pub fn sector(&self, n: u32) -> Option<&[u8]> {
        let start = (n as usize).checked_mul(SECTOR_SIZE)?;
        self.bytes.get(start..start.checked_add(SECTOR_SIZE)?)
    }

    /// Sector `n` mutably, or `None` past the end.
    pub fn sector_mut(&mut self, n: u32) -> Option<&mut [u8]> {
        let start = (n as usize).checked_mul(SECTOR_SIZE)?;
        self.bytes.get_mut(start..start.checked_add(SECTOR_SIZE)?)
    }
}

/// Which way DATA moves words for the command in progress (DRQ is set while
/// this is not `Idle`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Transfer {
    /// No data phase.
    Idle,
    /// READ: the guest reads the buffer.
    ToGuest,
    /// WRITE of this sector: the guest fills the buffer.
    FromGuest(u32),
}

/// The block device (ports `0x200..0x220` on the standard bus).
#[derive(Debug)]
pub struct BlockDevice {
    disk: Disk,
    /// The SECTOR register.
    sector: u32,
    buffer: [u8; SECTOR_SIZE],
    /// Next word of `buffer` that DATA moves.
    index: usize,
    transfer: Transfer,
    /// STATUS.ERROR: the last command failed.
    error: bool,
    /// STATUS.IRQ: a command completed since the last ACK.
    irq: bool,
    /// IRQ_ENABLE.ENABLE.
    irq_enable: bool,
    sectors_read: u64,
    sectors_written: u64,
}

impl BlockDevice {
    /// A block device serving `disk`, idle, with interrupts disabled.
    pub fn new(disk: Disk) -> BlockDevice {
        BlockDevice {
            disk,
            sector: 0,
            buffer: [0; SECTOR_SIZE],
            index: 0,
            transfer: Transfer::Idle,
            error: false,
            irq: false,
            irq_enable: false,
            sectors_read: 0,
            sectors_written: 0,
        }
    }

    /// The disk.
    pub fn disk(&self) -> &Disk {
        &self.disk
    }

    /// The disk, mutably (to prepare contents before a run).
    pub fn disk_mut(&mut self) -> &mut Disk {
        &mut self.disk
    }

    /// Sectors successfully read by READ commands.
    pub fn sectors_read(&self) -> u64 {
        self.sectors_read
    }

    /// Sectors successfully written by WRITE commands.
    pub fn sectors_written(&self) -> u64 {
        self.sectors_written
    }

    /// The STATUS register as the guest reads it.
    fn status(&self) -> u32 {
        let mut status = block_status::READY;
        if self.error {
            status |= block_status::ERROR;
        }
        if self.transfer != Transfer::Idle {
            status |= block_status::DRQ;
        }
        if self.irq {
            status |= block_status::IRQ;
        }
        status
    }

    /// Ends a command: records success or failure and latches STATUS.IRQ.
    fn complete(&mut self, ok: bool) {
        self.error = !ok;
        self.irq = true;
    }

    /// A write to COMMAND. A READ, WRITE or unknown command abandons any
    /// transfer in progress; ACK does not.
    fn command(&mut self, command: u32) {
        if command == block_command::ACK {
            self.irq = false;
            return;
        }
        self.transfer = Transfer::Idle;
        self.index = 0;
        match command {
            block_command::READ => match self.disk.sector(self.sector) {
                Some(data) => {
                    self.buffer.copy_from_slice(data);
                    self.transfer = Transfer::ToGuest;
                    self.sectors_read += 1;
                    self.complete(true);
                }
                None => self.complete(false),
            },
            // The WRITE completes when the 128th DATA word arrives; only a
            // sector past the end fails (and completes) at once.
            block_command::WRITE if self.sector < self.disk.sectors() => {
                self.error = false;
                self.transfer = Transfer::FromGuest(self.sector);
            }
            _ => self.complete(false),
        }
    }

    /// A DATA read: the next buffer word during a READ, else 0.
    fn read_data(&mut self) -> u32 {
        if self.transfer != Transfer::ToGuest {
            return 0;
        }
        let word = self.buffer_word(self.index);
        self.index += 1;
        if self.index == WORDS_PER_SECTOR {
            self.transfer = Transfer::Idle;
        }
        word
    }

    /// A DATA write: the next buffer word during a WRITE, else ignored.
    fn write_data(&mut self, value: u32) {
        let Transfer::FromGuest(target) = self.transfer else {
            return;
        };
        let start = self.index * 4;
        self.buffer[start..start + 4].copy_from_slice(&value.to_le_bytes());
        self.index += 1;
        if self.index < WORDS_PER_SECTOR {
            return;
        }
        self.transfer = Transfer::Idle;
        // The host may have swapped in a smaller disk since the command.
        match self.disk.sector_mut(target) {
            Some(sector) => {
                sector.copy_from_slice(&self.buffer);
                self.sectors_written += 1;
                self.complete(true);
            }
            None => self.complete(false),
        }
    }

    /// Word `i` of the buffer, little-endian.
    fn buffer_word(&self, i: usize) -> u32 {
        let b = &self.buffer[i * 4..i * 4 + 4];
        u32::from_le_bytes([b[0], b[1], b[2], b[3]])
    }
}

impl Device for BlockDevice {
    fn name(&self) -> &'static str {
        "block"
    }

    fn read(&mut self, offset: u16, _width: Width) -> u32 {
        match offset {
            SECTOR => self.sector,
            STATUS => self.status(),
            DATA => self.read_data(),
            SECTORS => self.disk.sectors(),
            IRQ_ENABLE => u32::from(self.irq_enable),
            _ => 0,
        }
    }

    fn write(&mut self, offset: u16, _width: Width, value: u32) -> Effect {
        match offset {
            SECTOR => self.sector = value,
            COMMAND => self.command(value),
            DATA => self.write_data(value),
            IRQ_ENABLE => self.irq_enable = value & block_irq_enable::ENABLE != 0,
            // STATUS and SECTORS are read-only.
            _ => {}
        }
        Effect::None
    }

    fn irq_pending(&self) -> bool {
        self.irq && self.irq_enable
    }

    fn as_any(&self) -> &dyn Any {
        self
    }

    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
}
