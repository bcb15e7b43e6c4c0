//! The crate's one error enum: host failures (a guest fault is never an error,
//! it is an [`Exit`](crate::Exit) or a guest trap).

use crate::addr::{GuestPhys, HostPhys};

/// What went wrong building or driving a machine.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MachineError {
    /// The requested RAM size is unusable.
    #[error(
        "RAM size {bytes} bytes is invalid: it must be a non-zero multiple of 4096 \
         and at most 1 GiB (1073741824 bytes)"
    )]
    RamSize {
        /// The size asked for.
        bytes: u64,
    },
    /// The requested TLB size is unusable.
    #[error("TLB size {entries} is invalid: use a power of two between 1 and 65536")]
    TlbSize {
        /// The number of entries asked for.
        entries: usize,
    },
    /// A program segment does not fit in the machine's RAM.
    #[error(
        "segment {index} ({len} bytes at {addr:#010x}) does not fit in {ram_bytes} bytes \
         of RAM; link it lower or give the machine more memory"
    )]
    SegmentOutOfRam {
        /// Index of the segment in the image.
        index: usize,
        /// Its load address.
        addr: u32,
        /// Its length in bytes.
        len: usize,
        /// The machine's RAM size.
        ram_bytes: u64,
    },
    /// A host access to host-physical memory falls outside RAM.
    #[error("host access of {len} bytes at {addr} is outside RAM ({ram_bytes} bytes)")]
    HostOutOfRam {
        /// The start of the access.
        addr: HostPhys,
        /// Its length.
        len: usize,
        /// The machine's RAM size.
        ram_bytes: u64,
    },
    /// A host access to guest-physical memory is not mapped by the PhysMap.
    #[error("guest-physical address {addr} is not mapped by the machine's PhysMap")]
    GuestUnmapped {
        /// The address.
        addr: GuestPhys,
    },
    /// A PhysMap entry names a host frame outside RAM.
    #[error("PhysMap maps guest frame {guest_frame} to host frame {host_frame}, outside RAM")]
    FrameOutOfRam {
        /// The guest frame number.
        guest_frame: u32,
        /// The host frame number.
        host_frame: u32,
    },
    /// `complete_in` without an `Exit::PortIn` to complete.
    #[error("complete_in called, but the last exit was not a PortIn (or it was already completed)")]
    NoPendingIn,
}
