//! Laying out a boot of the vmlab kernel: where the kernel, the programs and
//! the boot-information page go in guest-physical memory.
//!
//! This is pure data, with no machine behind it: [`layout`] turns a
//! [`BootSpec`] (the kernel image, the programs with their iteration counts
//! and arguments, the RAM size, the paravirtual flags) into a [`BootLayout`]:
//! chunks of bytes at guest-physical addresses, and the entry point. A
//! loader writes each chunk into the VM (through whatever guest-physical to
//! host mapping it uses), sets `pc` to the entry and `a0` to
//! [`abi::BOOT_INFO_ADDR`], and starts the kernel. The page it fills at
//! `BOOT_INFO_ADDR` follows `docs/hypercalls.md`, section 4, to the byte.
//!
//! Guest-physical memory after [`layout`]:
//!
//! | pages | what |
//! |---|---|
//! | 0 | nothing (the kernel leaves it unmapped) |
//! | 1 | the boot-information page |
//! | `kernel_start..kernel_end` | the kernel image, at its link addresses |
//! | then | pv: the P2M table and the shared page; PV_IO: the two ring pages |
//! | then | each program's pages, one guest-physical page per virtual page |
//! | `free_start..` | free: the kernel's page allocator |
//!
//! ```
//! use vmlab_asm::assemble_str;
//! use vmlab_guest::boot::{BootSpec, ProgramSpec, layout, USER_BASE};
//! use vmlab_guest::{KernelBuild, kernel_image};
//!
//! let program = assemble_str(".org 0x40000000\n_start: j _start").unwrap();
//! let kernel = kernel_image(KernelBuild::Full).unwrap();
//! let mut spec = BootSpec::new(kernel, 4 << 20);
//! spec.programs.push(ProgramSpec::new("spin", &program, 10));
//! let boot = layout(&spec).unwrap();
//! assert_eq!(boot.entry, kernel.entry);
//! assert_eq!(boot.read_u32(0x1000), Some(vmlab_isa::abi::BOOT_INFO_MAGIC));
//! assert!(boot.programs[0].segments[0].vaddr == USER_BASE);
//! ```

use vmlab_asm::Image;
use vmlab_isa::abi;

mod error;
mod info;
mod place;

pub use error::BootError;
pub use place::layout;

/// Bytes per page.
pub const PAGE_SIZE: u32 = 4096;
/// Where user programs are linked (`.org USER_BASE`): their segments must
/// lie in `[USER_BASE, USER_SEG_END)`.
pub const USER_BASE: u32 = 0x4000_0000;
/// The end of the region for program segments (the heap starts there).
pub const USER_SEG_END: u32 = 0x5000_0000;
/// The demand-zero heap, `[HEAP_BASE, HEAP_END)`; `map`/`unmap` work there.
pub const HEAP_BASE: u32 = 0x5000_0000;
/// The end of the heap.
pub const HEAP_END: u32 = 0x6000_0000;
/// The user stack pointer at entry; 256 KiB of demand-zero stack lie below.
pub const STACK_TOP: u32 = 0x7FFF_F000;
/// The most RAM the kernel's direct map can cover (it stops below the kmap
/// window at 0x3FC00000).
pub const RAM_MAX: u32 = 0x3FC0_0000;
/// The lowest address a kernel segment may use (pages 0 and 1 are reserved).
pub const KERNEL_MIN: u32 = abi::BOOT_INFO_ADDR + PAGE_SIZE;

/// Which paravirtual interfaces the host offers (`BOOT_FLAGS`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct BootFlags {
    /// pv mode: the P2M table and the shared page are present.
    pub pv_cpu: bool,
    /// The console and block rings are present.
    pub pv_io: bool,
}

impl BootFlags {
    /// The `BOOT_FLAGS` word.
    pub fn bits(self) -> u32 {
        let mut bits = 0;
        if self.pv_cpu {
            bits |= abi::BOOT_FLAG_PV_CPU;
        }
        if self.pv_io {
            bits |= abi::BOOT_FLAG_PV_IO;
        }
        bits
    }
}

/// One program for the kernel to run as a process.
#[derive(Clone, Debug)]
pub struct ProgramSpec<'a> {
    /// Its name, at most [`abi::BOOT_PROG_NAME_BYTES`] bytes.
    pub name: &'a str,
    /// The assembled program, linked at [`USER_BASE`].
    pub image: &'a Image,
    /// The iteration count (`a0` at `_start`).
    pub iterations: u32,
    /// The argument words (`a1..a3` at `_start` get the first three).
    pub args: [u32; abi::BOOT_PROG_NARGS as usize],
}

impl<'a> ProgramSpec<'a> {
    /// A program with no arguments.
    pub fn new(name: &'a str, image: &'a Image, iterations: u32) -> ProgramSpec<'a> {
        ProgramSpec {
            name,
            image,
            iterations,
            args: [0; abi::BOOT_PROG_NARGS as usize],
        }
    }
}

/// Everything a boot needs.
#[derive(Clone, Debug)]
pub struct BootSpec<'a> {
    /// The kernel image (a build from [`crate::kernel_image`]).
    pub kernel: &'a Image,
    /// The programs, at most [`abi::BOOT_MAX_PROGS`]; pid = index + 1.
    pub programs: Vec<ProgramSpec<'a>>,
    /// Guest RAM in bytes: a multiple of the page size, at most [`RAM_MAX`].
    pub ram_bytes: u32,
    /// Disk size in sectors (`BOOT_DISK_SECTORS`), 0 without a disk.
    pub disk_sectors: u32,
    /// The paravirtual interfaces the host offers.
    pub flags: BootFlags,
    /// pv only: the host frame backing each guest-physical page
    /// (`ram_bytes / 4096` entries).
    pub p2m: Option<Vec<u32>>,
}

impl<'a> BootSpec<'a> {
    /// A boot of `kernel` with `ram_bytes` of RAM, no programs, no disk, no
    /// paravirtual interfaces.
    pub fn new(kernel: &'a Image, ram_bytes: u32) -> BootSpec<'a> {
        BootSpec {
            kernel,
            programs: Vec::new(),
            ram_bytes,
            disk_sectors: 0,
            flags: BootFlags::default(),
            p2m: None,
        }
    }
}

/// Where one segment of a program went (its boot-info segment entry).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PlacedSegment {
    /// The user virtual address of its first byte.
    pub vaddr: u32,
    /// The guest-physical address of its first byte.
    pub gpa: u32,
    /// Its size in bytes.
    pub size: u32,
    /// [`abi::SEG_TEXT`] or [`abi::SEG_DATA`].
    pub kind: u32,
}

/// Where one program went.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlacedProgram {
    /// Its name.
    pub name: String,
    /// Its entry point.
    pub entry: u32,
    /// Its segments, in address order.
    pub segments: Vec<PlacedSegment>,
}

/// The result of [`layout`]: what to write where, and where to start.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BootLayout {
    /// `(guest-physical address, bytes)`, in address order, not overlapping.
    /// Pages not covered are expected to be zero.
    pub chunks: Vec<(u32, Vec<u8>)>,
    /// The kernel's entry point (`pc`); `a0` = [`abi::BOOT_INFO_ADDR`].
    pub entry: u32,
    /// The first byte of the kernel image.
    pub kernel_start: u32,
    /// Just past the kernel image.
    pub kernel_end: u32,
    /// The first page free for the kernel's allocator.
    pub free_start: u32,
    /// pv: the P2M table.
    pub p2m_addr: Option<u32>,
    /// pv: the shared page.
    pub shared_page: Option<u32>,
    /// PV_IO: the console ring page.
    pub console_ring: Option<u32>,
    /// PV_IO: the block ring page.
    pub block_ring: Option<u32>,
    /// Where each program went.
    pub programs: Vec<PlacedProgram>,
}

impl BootLayout {
    /// The little-endian word at guest-physical `addr`, if a chunk holds it.
    pub fn read_u32(&self, addr: u32) -> Option<u32> {
        self.chunks.iter().find_map(|(base, bytes)| {
            let at = addr.checked_sub(*base)? as usize;
            let word = bytes.get(at..at + 4)?;
            Some(u32::from_le_bytes(word.try_into().ok()?))
        })
    }
}

#[cfg(test)]
mod tests;
