//! The port bus: a 64 Ki-port I/O space that routes `inX`/`outX` accesses to
//! devices, as described in `docs/devices.md`.
//!
//! Each device owns a contiguous range of ports and sees offsets relative to
//! its base, so a device model does not care where it is mapped. The bus
//! counts every access per device (the cost model prices port I/O) and keeps
//! the OR of the devices' interrupt lines cached, because the CPU asks for it
//! at every block boundary.
//!
//! ```
//! use vmlab_isa::Width;
//! use vmlab_machine::bus::Bus;
//! use vmlab_machine::devices::{Console, Disk, ports};
//!
//! let mut bus = Bus::standard(Disk::new(4));
//! bus.write(ports::CONSOLE_DATA, Width::Byte, u32::from(b'h'));
//! bus.write(ports::CONSOLE_DATA, Width::Byte, u32::from(b'i'));
//! assert_eq!(bus.get::<Console>().unwrap().output(), b"hi");
//! // Nothing answers at port 0x7000: the floating bus reads all ones.
//! assert_eq!(bus.read(0x7000, Width::Half), 0xFFFF);
//! ```

use std::any::Any;
use std::fmt;

use vmlab_isa::Width;

use crate::devices::{BlockDevice, Console, Disk, Log, Power, ports};

/// Number of ports in the I/O space (`0x0000..=0xFFFF`).
pub const PORT_SPACE: u32 = 0x1_0000;

/// What a device write asks the machine to do.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Effect {
    /// Nothing beyond the device's own state change.
    #[default]
    None,
    /// Power the machine off with this exit code (the guest wrote the power
    /// device's EXIT register).
    PowerOff(u32),
}

/// A device on the port bus.
///
/// The bus truncates values to the access width on both sides: `write`
/// receives `value` already truncated, and whatever `read` returns is
/// truncated before it reaches the guest, so a device may return a whole
/// register.
pub trait Device: Send + fmt::Debug {
    /// Short name for messages and reports (`"console"`, `"block"`, ...).
    fn name(&self) -> &'static str;
    /// Reads the register at `offset`, relative to the device's base port.
    fn read(&mut self, offset: u16, width: Width) -> u32;
    /// Writes `value` to the register at `offset`, relative to the device's
    /// base port.
    fn write(&mut self, offset: u16, width: Width, value: u32) -> Effect;
    /// Level of the device's interrupt line (feeds the DEVICE bit of `ipend`).
    fn irq_pending(&self) -> bool {
        false
    }
    /// The device as [`Any`], so the host can downcast to read console output etc.
    fn as_any(&self) -> &dyn Any;
    /// The device as mutable [`Any`], so the host can push input, swap disks etc.
    fn as_any_mut(&mut self) -> &mut dyn Any;
}

/// Truncates `value` to `width`: what a port access of that width carries.
pub const fn truncate(value: u32, width: Width) -> u32 {
    match width {
        Width::Byte => value & 0xFF,
        Width::Half => value & 0xFFFF,
        Width::Word => value,
    }
}

/// Identifies a device on one bus: its index in attach order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DeviceId(pub usize);

/// Why a device could not be attached.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum BusError {
    /// The new range shares ports with a device already attached.
    #[error(
        "cannot attach {name} at ports {:#06x}..{:#06x}: it overlaps {other} at ports \
         {:#06x}..{:#06x}; choose a base outside that range",
        base, u32::from(*base) + u32::from(*len), other_base, u32::from(*other_base) + u32::from(*other_len)
    )]
    Overlap {
        /// Name of the device being attached.
        name: &'static str,
        /// Its requested base port.
        base: u16,
        /// Its requested number of ports.
        len: u16,
        /// Name of the device already there.
        other: &'static str,
        /// That device's base port.
        other_base: u16,
        /// That device's number of ports.
        other_len: u16,
    },
    /// The range runs past the last port, 0xFFFF.
    #[error(
        "cannot attach {name} at ports {:#06x}..{:#x}: the port space ends at 0xffff; \
         lower the base or the length",
        base, u32::from(*base) + u32::from(*len)
    )]
    OutOfRange {
        /// Name of the device being attached.
        name: &'static str,
        /// Its requested base port.
        base: u16,
        /// Its requested number of ports.
        len: u16,
    },
    /// The range has no ports.
    #[error(
        "cannot attach {name} at port {base:#06x} with length 0: a device needs at least one port"
    )]
    Empty {
        /// Name of the device being attached.
        name: &'static str,
        /// Its requested base port.
        base: u16,
    },
}

/// One attached device and the ports it answers.
#[derive(Debug)]
struct Slot {
    base: u16,
    len: u16,
    dev: Box<dyn Device>,
}

impl Slot {
    /// The offset of `port` in this slot's range, if it falls inside.
    fn offset(&self, port: u16) -> Option<u16> {
        let offset = port.wrapping_sub(self.base);
        (port >= self.base && offset < self.len).then_some(offset)
    }
}

/// The port bus: devices, their ranges, access counters and the cached
/// interrupt line.
#[derive(Debug, Default)]
pub struct Bus {
    slots: Vec<Slot>,
    accesses: Vec<u64>,
    unmapped: u64,
    /// OR of the devices' lines after the last access.
    irq: bool,
    /// Set when the host may have changed a device behind the bus's back
    /// (`get_mut`, `replace`): `irq` must then be recomputed.
    irq_stale: bool,
}

impl Bus {
    /// An empty bus: every port floats.
    pub fn new() -> Bus {
        Bus::default()
    }

    /// The standard machine: console, log, power and block device at the
    /// ports in [`ports`], as `DeviceId(0)` to `DeviceId(3)` in that order.
    pub fn standard(disk: Disk) -> Bus {
        let mut bus = Bus::new();
        let standard: [(u16, u16, Box<dyn Device>); 4] = [
            (
                ports::CONSOLE_BASE,
                ports::CONSOLE_LEN,
                Box::new(Console::new()),
            ),
            (ports::LOG_BASE, ports::LOG_LEN, Box::new(Log::new())),
            (ports::POWER_BASE, ports::POWER_LEN, Box::new(Power::new())),
            (
                ports::BLOCK_BASE,
                ports::BLOCK_LEN,
                Box::new(BlockDevice::new(disk)),
            ),
        ];
        for (base, len, dev) in standard {
            bus.attach(base, len, dev)
                .expect("the standard port map has no overlaps");
        }
        bus
    }

    /// Attaches `dev` at ports `base..base + len`.
    ///
    /// Fails if the range is empty, runs past port 0xFFFF, or overlaps a
    /// device already attached; the error names both devices and ranges.
    pub fn attach(
        &mut self,
        base: u16,
        len: u16,
        dev: Box<dyn Device>,
    ) -> Result<DeviceId, BusError> {
        let name = dev.name();
        if len == 0 {
            return Err(BusError::Empty { name, base });
        }
        let end = u32::from(base) + u32::from(len);
        if end > PORT_SPACE {
            return Err(BusError::OutOfRange { name, base, len });
        }
        if let Some(slot) = self.slots.iter().find(|s| {
            let s_end = u32::from(s.base) + u32::from(s.len);
            u32::from(base) < s_end && u32::from(s.base) < end
        }) {
            return Err(BusError::Overlap {
                name,
                base,
                len,
                other: slot.dev.name(),
                other_base: slot.base,
                other_len: slot.len,
            });
        }
        self.slots.push(Slot { base, len, dev });
        self.accesses.push(0);
        self.irq_stale = true;
        Ok(DeviceId(self.slots.len() - 1))
    }

    /// Puts `dev` in place of device `id`, on the same ports, and returns the
    /// old model. Monitors use this to install their own device models.
    /// The access count of `id` carries on.
    ///
    /// # Panics
    ///
    /// If `id` was not returned by this bus's [`attach`](Bus::attach).
    pub fn replace(&mut self, id: DeviceId, dev: Box<dyn Device>) -> Box<dyn Device> {
        self.irq_stale = true;
        std::mem::replace(&mut self.slots[id.0].dev, dev)
    }

    /// The slot answering `port`, with the offset inside it.
    fn route(&self, port: u16) -> Option<(usize, u16)> {
        self.slots
            .iter()
            .enumerate()
            .find_map(|(i, s)| s.offset(port).map(|off| (i, off)))
    }

    /// Reads `port`: the device's register truncated to `width`, or all ones
    /// truncated to `width` if no device answers (a floating bus).
    pub fn read(&mut self, port: u16, width: Width) -> u32 {
        let Some((i, offset)) = self.route(port) else {
            self.unmapped += 1;
            return truncate(u32::MAX, width);
        };
        self.accesses[i] += 1;
        let value = self.slots[i].dev.read(offset, width);
        self.refresh_irq();
        truncate(value, width)
    }

    /// Writes `value`, truncated to `width`, to `port`; a write to a port no
    /// device answers is ignored (and counted).
    pub fn write(&mut self, port: u16, width: Width, value: u32) -> Effect {
        let Some((i, offset)) = self.route(port) else {
            self.unmapped += 1;
            return Effect::None;
        };
        self.accesses[i] += 1;
        let effect = self.slots[i]
            .dev
            .write(offset, width, truncate(value, width));
        self.refresh_irq();
        effect
    }

    /// Recomputes the cached interrupt line from every device.
    fn refresh_irq(&mut self) {
        self.irq = self.slots.iter().any(|s| s.dev.irq_pending());
        self.irq_stale = false;
    }

    /// The OR of all devices' interrupt lines. Cheap: the value cached after
    /// the last port access, unless the host has touched a device since
    /// (through [`get_mut`](Bus::get_mut) or [`replace`](Bus::replace)).
    pub fn irq_pending(&self) -> bool {
        if self.irq_stale {
            self.slots.iter().any(|s| s.dev.irq_pending())
        } else {
            self.irq
        }
    }

    /// The device answering `port`, if any.
    pub fn device_of(&self, port: u16) -> Option<DeviceId> {
        self.route(port).map(|(i, _)| DeviceId(i))
    }

    /// The name of device `id`.
    ///
    /// # Panics
    ///
    /// If `id` was not returned by this bus's [`attach`](Bus::attach).
    pub fn device_name(&self, id: DeviceId) -> &'static str {
        self.slots[id.0].dev.name()
    }

    /// Port accesses (reads and writes) per device, indexed by [`DeviceId`].
    pub fn accesses(&self) -> &[u64] {
        &self.accesses
    }

    /// Accesses to ports that no device answers.
    pub fn unmapped_accesses(&self) -> u64 {
        self.unmapped
    }

    /// The first device of type `T`, in attach order.
    pub fn get<T: Device + 'static>(&self) -> Option<&T> {
        self.slots
            .iter()
            .find_map(|s| s.dev.as_any().downcast_ref::<T>())
    }

    /// The first device of type `T`, mutably (to push console input, edit the
    /// disk, ...). The interrupt line is recomputed afterwards.
    pub fn get_mut<T: Device + 'static>(&mut self) -> Option<&mut T> {
        self.irq_stale = true;
        self.slots
            .iter_mut()
            .find_map(|s| s.dev.as_any_mut().downcast_mut::<T>())
    }

    /// Every device with its id, base port and number of ports, in attach order.
    pub fn devices(&self) -> impl Iterator<Item = (DeviceId, u16, u16, &dyn Device)> {
        self.slots
            .iter()
            .enumerate()
            .map(|(i, s)| (DeviceId(i), s.base, s.len, s.dev.as_ref()))
    }
}
