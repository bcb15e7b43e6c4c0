//! Placing a boot in guest-physical memory: the kernel at its link
//! addresses, then the host's pages (P2M table, shared page, rings), then
//! each program's pages, one guest-physical page per virtual page.

use std::collections::BTreeMap;

use vmlab_asm::SegmentKind;
use vmlab_isa::abi;

use super::info::{self, put};
use super::{
    BootError, BootLayout, BootSpec, KERNEL_MIN, PAGE_SIZE, PlacedProgram, PlacedSegment, RAM_MAX,
    USER_BASE, USER_SEG_END,
};

fn page_up(x: u64) -> u64 {
    x.div_ceil(u64::from(PAGE_SIZE)) * u64::from(PAGE_SIZE)
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

    let mut boot = BootLayout {
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
    };
    // The boot-information page (docs/hypercalls.md, section 4).
    boot.chunks
        .push((abi::BOOT_INFO_ADDR, info::page(spec, &boot)));
    boot.chunks.sort_by_key(|(addr, _)| *addr);
    Ok(boot)
}
