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

use std::collections::BTreeMap;
use std::fmt;

use vmlab_asm::{Image, SegmentKind};
use vmlab_isa::abi;

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

fn page_up(x: u64) -> u64 {
    x.div_ceil(u64::from(PAGE_SIZE)) * u64::from(PAGE_SIZE)
}

fn put(page: &mut [u8], offset: u32, value: u32) {
    let at = offset as usize;
    page[at..at + 4].copy_from_slice(&value.to_le_bytes());
}

/// Lays out a boot: the kernel at its link addresses, the host's pages, the
/// programs' pages, and the boot-information page describing them.
pub fn layout(spec: &BootSpec<'_>) -> Result<BootLayout, BootError> {
    let ram = spec.ram_bytes;
    if ram % PAGE_SIZE != 0 || !(4 * PAGE_SIZE..=RAM_MAX).contains(&ram) {
        return Err(BootError::BadRamSize { ram_bytes: ram });
    }
    if spec.programs.len() > abi::BOOT_MAX_PROGS as usize {
        return Err(BootError::TooManyPrograms {
            count: spec.programs.len(),
        });
    }
    if spec.flags.pv_cpu && !spec.flags.pv_io {
        return Err(BootError::PvCpuWithoutPvIo);
    }
    let pages = (ram / PAGE_SIZE) as usize;
    match (&spec.p2m, spec.flags.pv_cpu) {
        (None, false) => {}
        (Some(p2m), true) if p2m.len() == pages => {}
        (p2m, pv) => {
            return Err(BootError::BadP2m {
                expected: if pv { pages } else { 0 },
                found: p2m.as_ref().map(Vec::len),
            });
        }
    }

    // The kernel, at its link addresses.
    let mut chunks: Vec<(u32, Vec<u8>)> = Vec::new();
    let (mut kernel_start, mut kernel_end) = (u64::MAX, 0u64);
    for seg in spec.kernel.segments.iter().filter(|s| !s.data.is_empty()) {
        let end = u64::from(seg.addr) + seg.data.len() as u64;
        if seg.addr < KERNEL_MIN || end > u64::from(ram) {
            return Err(BootError::KernelOutOfPlace {
                addr: seg.addr,
                size: seg.data.len(),
            });
        }
        kernel_start = kernel_start.min(u64::from(seg.addr));
        kernel_end = kernel_end.max(end);
        chunks.push((seg.addr, seg.data.clone()));
    }
    if kernel_end == 0 {
        (kernel_start, kernel_end) = (u64::from(KERNEL_MIN), u64::from(KERNEL_MIN));
    }

    // The host's pages, then the programs', page by page from the kernel's end.
    let mut next = page_up(kernel_end);
    let mut take = |n: u64| {
        let at = next;
        next += n * u64::from(PAGE_SIZE);
        at as u32
    };
    let p2m_addr = spec.p2m.as_ref().map(|p2m| {
        let at = take(page_up(p2m.len() as u64 * 4) / u64::from(PAGE_SIZE));
        let bytes: Vec<u8> = p2m.iter().flat_map(|f| f.to_le_bytes()).collect();
        chunks.push((at, bytes));
        at
    });
    let shared_page = spec.flags.pv_cpu.then(|| {
        let at = take(1);
        let mut page = vec![0u8; PAGE_SIZE as usize];
        put(&mut page, abi::SHARED_MASK, 1); // events masked at entry
        chunks.push((at, page));
        at
    });
    let mut ring = || {
        let at = take(1);
        chunks.push((at, vec![0u8; PAGE_SIZE as usize]));
        at
    };
    let (console_ring, block_ring) = if spec.flags.pv_io {
        (Some(ring()), Some(ring()))
    } else {
        (None, None)
    };

    let mut programs = Vec::new();
    for prog in &spec.programs {
        let name = prog.name.to_string();
        if prog.name.len() > abi::BOOT_PROG_NAME_BYTES as usize {
            return Err(BootError::NameTooLong { name });
        }
        let segs: Vec<_> = prog
            .image
            .segments
            .iter()
            .filter(|s| !s.data.is_empty())
            .collect();
        if segs.is_empty() {
            return Err(BootError::NoSegments { name });
        }
        if segs.len() > abi::BOOT_MAX_SEGS as usize {
            return Err(BootError::TooManySegments {
                name,
                count: segs.len(),
            });
        }
        // Each virtual page gets its own guest-physical page, in address
        // order; a page two segments share is placed once.
        let mut page_of: BTreeMap<u32, u32> = BTreeMap::new();
        let mut placed = Vec::new();
        for seg in &segs {
            let end = u64::from(seg.addr) + seg.data.len() as u64;
            if seg.addr < USER_BASE || end > u64::from(USER_SEG_END) {
                return Err(BootError::SegmentOutsideUser {
                    name,
                    addr: seg.addr,
                    size: seg.data.len(),
                });
            }
            let first = seg.addr / PAGE_SIZE;
            let last = ((end - 1) / u64::from(PAGE_SIZE)) as u32;
            for (i, vpage) in (first..=last).enumerate() {
                let gpage = *page_of.entry(vpage).or_insert_with(|| take(1) / PAGE_SIZE);
                // The kernel maps page i of the segment at page(gpa) + i.
                if gpage != page_of[&first] + i as u32 {
                    return Err(BootError::SegmentsOverlap { name });
                }
            }
            placed.push(PlacedSegment {
                vaddr: seg.addr,
                gpa: page_of[&first] * PAGE_SIZE + seg.addr % PAGE_SIZE,
                size: seg.data.len() as u32,
                kind: match seg.kind {
                    SegmentKind::Text => abi::SEG_TEXT,
                    SegmentKind::Data => abi::SEG_DATA,
                },
            });
        }
        // The pages' contents: every segment's bytes, the rest zero.
        let mut contents: BTreeMap<u32, Vec<u8>> = page_of
            .values()
            .map(|&g| (g, vec![0u8; PAGE_SIZE as usize]))
            .collect();
        for seg in &segs {
            for (i, byte) in seg.data.iter().enumerate() {
                let va = seg.addr + i as u32;
                let page = &mut contents
                    .get_mut(&page_of[&(va / PAGE_SIZE)])
                    .expect("placed");
                page[(va % PAGE_SIZE) as usize] = *byte;
            }
        }
        chunks.extend(
            contents
                .into_iter()
                .map(|(g, bytes)| (g * PAGE_SIZE, bytes)),
        );
        programs.push(PlacedProgram {
            name: prog.name.to_string(),
            entry: prog.image.entry,
            segments: placed,
        });
    }

    let free_start = next;
    // The kernel needs a few pages of its own to boot (tables, a process).
    if free_start + 16 * u64::from(PAGE_SIZE) > u64::from(ram) {
        return Err(BootError::DoesNotFit {
            needed: free_start + 16 * u64::from(PAGE_SIZE),
            ram_bytes: ram,
        });
    }

    // The boot-information page (docs/hypercalls.md, section 4).
    let mut info = vec![0u8; PAGE_SIZE as usize];
    put(&mut info, abi::BOOT_MAGIC, abi::BOOT_INFO_MAGIC);
    put(&mut info, abi::BOOT_VERSION, abi::BOOT_INFO_VERSION);
    put(&mut info, abi::BOOT_FLAGS, spec.flags.bits());
    put(&mut info, abi::BOOT_RAM_BYTES, ram);
    put(&mut info, abi::BOOT_KERNEL_START, kernel_start as u32);
    put(&mut info, abi::BOOT_KERNEL_END, kernel_end as u32);
    put(&mut info, abi::BOOT_FREE_START, free_start as u32);
    put(&mut info, abi::BOOT_DISK_SECTORS, spec.disk_sectors);
    put(&mut info, abi::BOOT_P2M_ADDR, p2m_addr.unwrap_or(0));
    let p2m_count = spec.p2m.as_ref().map_or(0, Vec::len) as u32;
    put(&mut info, abi::BOOT_P2M_COUNT, p2m_count);
    put(&mut info, abi::BOOT_SHARED_ADDR, shared_page.unwrap_or(0));
    put(&mut info, abi::BOOT_CONSOLE_RING, console_ring.unwrap_or(0));
    put(&mut info, abi::BOOT_BLOCK_RING, block_ring.unwrap_or(0));
    put(&mut info, abi::BOOT_NPROGS, spec.programs.len() as u32);
    for (i, (prog, placed)) in spec.programs.iter().zip(&programs).enumerate() {
        let base = abi::boot_prog(i as u32);
        let name = base + abi::BOOT_PROG_NAME;
        info[name as usize..name as usize + prog.name.len()].copy_from_slice(prog.name.as_bytes());
        put(&mut info, base + abi::BOOT_PROG_ENTRY, placed.entry);
        put(
            &mut info,
            base + abi::BOOT_PROG_NSEGS,
            placed.segments.len() as u32,
        );
        put(&mut info, base + abi::BOOT_PROG_ITERS, prog.iterations);
        for (k, arg) in prog.args.iter().enumerate() {
            put(&mut info, base + abi::BOOT_PROG_ARGS + 4 * k as u32, *arg);
        }
        for (s, seg) in placed.segments.iter().enumerate() {
            let at = abi::boot_seg(i as u32, s as u32);
            put(&mut info, at + abi::BOOT_SEG_VADDR, seg.vaddr);
            put(&mut info, at + abi::BOOT_SEG_GPA, seg.gpa);
            put(&mut info, at + abi::BOOT_SEG_SIZE, seg.size);
            put(&mut info, at + abi::BOOT_SEG_KIND, seg.kind);
        }
    }
    chunks.push((abi::BOOT_INFO_ADDR, info));
    chunks.sort_by_key(|(addr, _)| *addr);

    Ok(BootLayout {
        chunks,
        entry: spec.kernel.entry,
        kernel_start: kernel_start as u32,
        kernel_end: kernel_end as u32,
        free_start: free_start as u32,
        p2m_addr,
        shared_page,
        console_ring,
        block_ring,
        programs,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use vmlab_asm::assemble_str;

    fn kernel() -> Image {
        assemble_str(
            ".section data\n.org 0x2000\n.word 1\n.section text\n.org 0x8000\n_start: halt",
        )
        .unwrap()
    }

    fn program() -> Image {
        assemble_str(
            ".org 0x40000000\n_start: j _start\n.section data\nx: .word 7\n.space 5000\ny: .word 9",
        )
        .unwrap()
    }

    #[test]
    fn lays_out_kernel_boot_info_and_programs() {
        let k = kernel();
        let p = program();
        let mut spec = BootSpec::new(&k, 1 << 20);
        let mut prog = ProgramSpec::new("demo", &p, 5);
        prog.args = [1, 2, 3, 4];
        spec.programs.push(prog);
        spec.disk_sectors = 64;
        let boot = layout(&spec).unwrap();
        assert_eq!(boot.entry, 0x8000);
        assert_eq!((boot.kernel_start, boot.kernel_end), (0x2000, 0x8004));
        assert_eq!(
            boot.read_u32(abi::BOOT_INFO_ADDR),
            Some(abi::BOOT_INFO_MAGIC)
        );
        let info = |off: u32| boot.read_u32(abi::BOOT_INFO_ADDR + off).unwrap();
        assert_eq!(info(abi::BOOT_NPROGS), 1);
        assert_eq!(info(abi::BOOT_DISK_SECTORS), 64);
        assert_eq!(info(abi::BOOT_FREE_START), boot.free_start);
        assert_eq!(info(abi::boot_prog(0) + abi::BOOT_PROG_ITERS), 5);
        assert_eq!(info(abi::boot_prog(0) + abi::BOOT_PROG_ARGS + 12), 4);
        assert_eq!(info(abi::boot_prog(0)), u32::from_le_bytes(*b"demo"));
        // Text page, then the data pages (0x40001000..0x40002390): 3 pages.
        let segs = &boot.programs[0].segments;
        assert_eq!(segs.len(), 2);
        assert_eq!(segs[0].kind, abi::SEG_TEXT);
        assert_eq!(segs[1].kind, abi::SEG_DATA);
        assert_eq!(segs[1].gpa % PAGE_SIZE, segs[1].vaddr % PAGE_SIZE);
        assert_eq!(boot.read_u32(segs[1].gpa), Some(7));
        assert_eq!(boot.read_u32(segs[1].gpa + 5004), Some(9));
        assert_eq!(boot.free_start, segs[1].gpa + 2 * PAGE_SIZE);
        // Chunks are sorted and do not overlap.
        for pair in boot.chunks.windows(2) {
            assert!(pair[0].0 as usize + pair[0].1.len() <= pair[1].0 as usize);
        }
    }

    #[test]
    fn pv_layout_has_p2m_shared_page_and_rings() {
        let k = kernel();
        let mut spec = BootSpec::new(&k, 1 << 20);
        spec.flags = BootFlags {
            pv_cpu: true,
            pv_io: true,
        };
        spec.p2m = Some((0..256).map(|n| 1000 + n).collect());
        let boot = layout(&spec).unwrap();
        let p2m = boot.p2m_addr.unwrap();
        assert_eq!(boot.read_u32(p2m + 4 * 255), Some(1255));
        let shared = boot.shared_page.unwrap();
        assert_eq!(boot.read_u32(shared + abi::SHARED_MASK), Some(1));
        assert!(boot.console_ring.is_some() && boot.block_ring.is_some());
        let flags = boot.read_u32(abi::BOOT_INFO_ADDR + abi::BOOT_FLAGS);
        assert_eq!(flags, Some(abi::BOOT_FLAG_PV_CPU | abi::BOOT_FLAG_PV_IO));
    }

    #[test]
    fn errors_say_what_is_wrong() {
        let k = kernel();
        let p = program();
        let mut spec = BootSpec::new(&k, 1 << 20);
        spec.programs
            .push(ProgramSpec::new("a-name-that-is-too-long", &p, 1));
        let err = layout(&spec).unwrap_err();
        assert!(matches!(err, BootError::NameTooLong { .. }), "{err}");

        let low = assemble_str("_start: halt").unwrap();
        let mut spec = BootSpec::new(&k, 1 << 20);
        spec.programs.push(ProgramSpec::new("low", &low, 1));
        let err = layout(&spec).unwrap_err();
        assert!(err.to_string().contains(".org 0x40000000"), "{err}");

        let mut spec = BootSpec::new(&k, 1 << 20);
        spec.programs = vec![ProgramSpec::new("p", &p, 1); 9];
        assert_eq!(
            layout(&spec).unwrap_err(),
            BootError::TooManyPrograms { count: 9 }
        );

        let spec = BootSpec::new(&k, 40 << 10);
        assert!(matches!(
            layout(&spec).unwrap_err(),
            BootError::DoesNotFit { .. }
        ));

        let mut spec = BootSpec::new(&k, 1 << 20);
        spec.flags.pv_cpu = true;
        spec.flags.pv_io = true;
        assert!(matches!(
            layout(&spec).unwrap_err(),
            BootError::BadP2m { found: None, .. }
        ));
    }
}
