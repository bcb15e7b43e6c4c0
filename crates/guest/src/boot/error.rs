//! Why a boot cannot be laid out: [`BootError`].

use std::fmt;

use vmlab_isa::abi;

use super::{KERNEL_MIN, PAGE_SIZE, RAM_MAX, USER_BASE, USER_SEG_END};

/// Why a boot cannot be laid out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BootError {
    /// More programs than the boot-information page holds.
    TooManyPrograms {
        /// Programs given.
        count: usize,
    },
    /// A program name longer than [`abi::BOOT_PROG_NAME_BYTES`] bytes.
    NameTooLong {
        /// The name.
        name: String,
    },
    /// A program with no bytes to load.
    NoSegments {
        /// The program.
        name: String,
    },
    /// A program with more segments than [`abi::BOOT_MAX_SEGS`].
    TooManySegments {
        /// The program.
        name: String,
        /// Segments it has.
        count: usize,
    },
    /// A program segment outside `[USER_BASE, USER_SEG_END)`.
    SegmentOutsideUser {
        /// The program.
        name: String,
        /// The segment's address.
        addr: u32,
        /// Its size.
        size: usize,
    },
    /// Two segments of a program overlap beyond a shared page.
    SegmentsOverlap {
        /// The program.
        name: String,
    },
    /// A kernel segment below [`KERNEL_MIN`] or past the end of RAM.
    KernelOutOfPlace {
        /// The segment's address.
        addr: u32,
        /// Its size.
        size: usize,
    },
    /// RAM not a multiple of the page size, or above [`RAM_MAX`].
    BadRamSize {
        /// The size asked for.
        ram_bytes: u32,
    },
    /// The kernel, the host's pages and the programs need more RAM.
    DoesNotFit {
        /// Bytes needed before the kernel can allocate anything.
        needed: u64,
        /// The RAM size.
        ram_bytes: u32,
    },
    /// pv: no P2M table, or one of the wrong length; or a P2M without pv.
    BadP2m {
        /// Entries expected (0: none expected).
        expected: usize,
        /// Entries given (`None`: none given).
        found: Option<usize>,
    },
    /// pv CPU without the rings: the pv kernel needs both.
    PvCpuWithoutPvIo,
}

impl fmt::Display for BootError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BootError::TooManyPrograms { count } => write!(
                f,
                "{count} programs given, but the boot-information page holds at most {}",
                abi::BOOT_MAX_PROGS
            ),
            BootError::NameTooLong { name } => write!(
                f,
                "program name `{name}` is {} bytes; at most {} fit in the boot information",
                name.len(),
                abi::BOOT_PROG_NAME_BYTES
            ),
            BootError::NoSegments { name } => {
                write!(f, "program `{name}` has no bytes to load")
            }
            BootError::TooManySegments { name, count } => write!(
                f,
                "program `{name}` has {count} segments; the kernel takes at most {}",
                abi::BOOT_MAX_SEGS
            ),
            BootError::SegmentOutsideUser { name, addr, size } => write!(
                f,
                "program `{name}` has a segment at {addr:#x} ({size} bytes) outside \
                 [{USER_BASE:#x}, {USER_SEG_END:#x}): link it with `.org {USER_BASE:#x}`"
            ),
            BootError::SegmentsOverlap { name } => write!(
                f,
                "program `{name}` has overlapping segments (only a boundary page may be shared)"
            ),
            BootError::KernelOutOfPlace { addr, size } => write!(
                f,
                "kernel segment at {addr:#x} ({size} bytes) must lie between {KERNEL_MIN:#x} \
                 and the end of RAM"
            ),
            BootError::BadRamSize { ram_bytes } => write!(
                f,
                "RAM of {ram_bytes:#x} bytes: it must be a multiple of {PAGE_SIZE} and at most \
                 {RAM_MAX:#x}"
            ),
            BootError::DoesNotFit { needed, ram_bytes } => write!(
                f,
                "the boot needs {needed:#x} bytes before the kernel's own allocations, but RAM \
                 is {ram_bytes:#x} bytes: give the VM more RAM"
            ),
            BootError::BadP2m { expected, found } => match found {
                None => write!(f, "pv boot without a P2M table ({expected} entries needed)"),
                Some(n) if *expected == 0 => {
                    write!(f, "a P2M table ({n} entries) given, but pv_cpu is off")
                }
                Some(n) => write!(
                    f,
                    "the P2M table has {n} entries; RAM needs exactly {expected}"
                ),
            },
            BootError::PvCpuWithoutPvIo => {
                write!(f, "pv_cpu needs pv_io too: the pv kernel uses the rings")
            }
        }
    }
}

impl std::error::Error for BootError {}
