//! The boot-information page (docs/hypercalls.md, section 4): what the
//! kernel reads at [`abi::BOOT_INFO_ADDR`] to find its memory, the host's
//! pages and the programs.

use vmlab_isa::abi;

use super::{BootLayout, BootSpec, PAGE_SIZE};

/// Writes `value` little-endian at byte `offset` of `page`.
pub(super) fn put(page: &mut [u8], offset: u32, value: u32) {
    let at = offset as usize;
    page[at..at + 4].copy_from_slice(&value.to_le_bytes());
}

/// The boot-information page for `spec` laid out as `boot` (every chunk but
/// the page itself already placed).
pub(super) fn page(spec: &BootSpec<'_>, boot: &BootLayout) -> Vec<u8> {
    let mut info = vec![0u8; PAGE_SIZE as usize];
    put(&mut info, abi::BOOT_MAGIC, abi::BOOT_INFO_MAGIC);
    put(&mut info, abi::BOOT_VERSION, abi::BOOT_INFO_VERSION);
    put(&mut info, abi::BOOT_FLAGS, spec.flags.bits());
    put(&mut info, abi::BOOT_RAM_BYTES, spec.ram_bytes);
    put(&mut info, abi::BOOT_KERNEL_START, boot.kernel_start);
    put(&mut info, abi::BOOT_KERNEL_END, boot.kernel_end);
    put(&mut info, abi::BOOT_FREE_START, boot.free_start);
    put(&mut info, abi::BOOT_DISK_SECTORS, spec.disk_sectors);
    put(&mut info, abi::BOOT_P2M_ADDR, boot.p2m_addr.unwrap_or(0));
    let p2m_count = spec.p2m.as_ref().map_or(0, Vec::len) as u32;
    put(&mut info, abi::BOOT_P2M_COUNT, p2m_count);
    put(
        &mut info,
        abi::BOOT_SHARED_ADDR,
        boot.shared_page.unwrap_or(0),
    );
    put(
        &mut info,
        abi::BOOT_CONSOLE_RING,
        boot.console_ring.unwrap_or(0),
    );
    put(
        &mut info,
        abi::BOOT_BLOCK_RING,
        boot.block_ring.unwrap_or(0),
    );
    put(&mut info, abi::BOOT_NPROGS, spec.programs.len() as u32);
    for (i, (prog, placed)) in spec.programs.iter().zip(&boot.programs).enumerate() {
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
    info
}
