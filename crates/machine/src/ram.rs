//! Host-physical RAM: the machine's real memory, of which each guest's
//! guest-physical RAM is a part (through a [`PhysMap`](crate::PhysMap)).

use vmlab_isa::Width;
use vmlab_isa::paging::PAGE_SIZE;

use crate::addr::HostPhys;
use crate::error::MachineError;

/// Largest RAM a machine may have: 1 GiB.
pub const MAX_RAM_BYTES: u64 = 1 << 30;

/// Host-physical memory, little-endian, byte-addressed.
#[derive(Clone, PartialEq, Eq)]
pub struct Ram {
    bytes: Vec<u8>,
}

impl std::fmt::Debug for Ram {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ram")
            .field("bytes", &self.bytes.len())
            .finish()
    }
}

impl Ram {
    /// Zeroed RAM of `bytes` bytes: a non-zero multiple of the page size, at
    /// most [`MAX_RAM_BYTES`].
    pub fn new(bytes: u64) -> Result<Ram, MachineError> {
        if bytes == 0 || bytes % u64::from(PAGE_SIZE) != 0 || bytes > MAX_RAM_BYTES {
            return Err(MachineError::RamSize { bytes });
        }
        Ok(Ram {
            bytes: vec![0; bytes as usize],
        })
    }

    /// Size in bytes.
    pub fn len(&self) -> u64 {
        self.bytes.len() as u64
    }

    /// Always false: RAM has at least one page.
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// Number of 4 KiB frames.
    pub fn frames(&self) -> u32 {
        (self.bytes.len() / PAGE_SIZE as usize) as u32
    }

    /// True when `len` bytes at `addr` lie inside RAM.
    pub fn contains(&self, addr: HostPhys, len: usize) -> bool {
        (addr.0 as usize)
            .checked_add(len)
            .is_some_and(|end| end <= self.bytes.len())
    }

    fn range(&self, addr: HostPhys, len: usize) -> Result<std::ops::Range<usize>, MachineError> {
        if self.contains(addr, len) {
            Ok(addr.0 as usize..addr.0 as usize + len)
        } else {
            Err(MachineError::HostOutOfRam {
                addr,
                len,
                ram_bytes: self.len(),
            })
        }
    }

    /// Copies RAM at `addr` into `buf`.
    pub fn read(&self, addr: HostPhys, buf: &mut [u8]) -> Result<(), MachineError> {
        let r = self.range(addr, buf.len())?;
        buf.copy_from_slice(&self.bytes[r]);
        Ok(())
    }

    /// Copies `data` into RAM at `addr`. (Prefer
    /// [`Machine::write_phys`](crate::Machine::write_phys), which also
    /// invalidates cached code.)
    pub fn write(&mut self, addr: HostPhys, data: &[u8]) -> Result<(), MachineError> {
        let r = self.range(addr, data.len())?;
        self.bytes[r].copy_from_slice(data);
        Ok(())
    }

    /// The whole memory as bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The whole RAM, mutably, for an engine's direct store path (see
    /// [`Machine::engine_ram_mut`](crate::Machine::engine_ram_mut)).
    pub(crate) fn as_bytes_mut(&mut self) -> &mut [u8] {
        &mut self.bytes
    }

    /// The little-endian value of `width` at the start of `cell` (0 if
    /// `cell` is shorter).
    #[inline(always)]
    pub(crate) fn decode(cell: &[u8], width: Width) -> u32 {
        match (width, cell) {
            (Width::Word, &[b0, b1, b2, b3, ..]) => u32::from_le_bytes([b0, b1, b2, b3]),
            (Width::Half, &[b0, b1, ..]) => u32::from(u16::from_le_bytes([b0, b1])),
            (Width::Byte, &[b0, ..]) => u32::from(b0),
            _ => 0,
        }
    }

    /// Writes the low `width` bytes of `value` at the start of `cell`,
    /// little-endian (nothing if `cell` is shorter).
    #[inline(always)]
    pub(crate) fn encode(cell: &mut [u8], width: Width, value: u32) {
        let bytes = value.to_le_bytes();
        let n = width.bytes() as usize;
        if let (Some(dst), Some(src)) = (cell.get_mut(..n), bytes.get(..n)) {
            dst.copy_from_slice(src);
        }
    }

    /// Loads a little-endian value of `width` at `hpa`; `None` outside RAM.
    #[inline(always)]
    pub(crate) fn load(&self, hpa: u32, width: Width) -> Option<u32> {
        let a = hpa as usize;
        match width {
            Width::Word => self.load_u32(hpa),
            Width::Half => {
                let b = self.bytes.get(a..a + 2)?;
                Some(u32::from(u16::from_le_bytes([b[0], b[1]])))
            }
            Width::Byte => self.bytes.get(a).map(|b| u32::from(*b)),
        }
    }

    /// Loads a little-endian word at `hpa`; `None` outside RAM.
    #[inline(always)]
    pub(crate) fn load_u32(&self, hpa: u32) -> Option<u32> {
        let a = hpa as usize;
        let b: [u8; 4] = self.bytes.get(a..a + 4)?.try_into().ok()?;
        Some(u32::from_le_bytes(b))
    }

    /// Stores the low `width` bytes of `value` at `hpa`; false outside RAM.
    /// (Fixed-size copies: a variable-length one would call `memcpy`.)
    #[inline(always)]
    pub(crate) fn store(&mut self, hpa: u32, width: Width, value: u32) -> bool {
        let a = hpa as usize;
        match width {
            Width::Word => match self.bytes.get_mut(a..a + 4) {
                Some(dst) => {
                    dst.copy_from_slice(&value.to_le_bytes());
                    true
                }
                None => false,
            },
            Width::Half => match self.bytes.get_mut(a..a + 2) {
                Some(dst) => {
                    dst.copy_from_slice(&(value as u16).to_le_bytes());
                    true
                }
                None => false,
            },
            Width::Byte => match self.bytes.get_mut(a) {
                Some(dst) => {
                    *dst = value as u8;
                    true
                }
                None => false,
            },
        }
    }
}
