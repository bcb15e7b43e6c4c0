//! Nested paging: one table per VM, built once, mapping guest-physical to
//! host-physical (EPT/NPT-like). The MMU walks the guest's own tables and
//! translates every guest-physical address through it: the two-dimensional
//! walk, 8 references per TLB miss for 2+2 levels. The guest's page-table
//! writes are plain stores; nothing is write-protected.

use vmlab_isa::paging::{PTE_A, PTE_D, PTE_R, PTE_V, PTE_W, PTE_X};
use vmlab_machine::{HostPhys, Machine};

use crate::error::MonitorError;

/// Builds the nested table mapping guest frame `i` to `guest_frames[i]`, in
/// the monitor's frames `table_frames` (one root plus one leaf per 1024
/// guest frames). Returns the root.
pub fn build(
    m: &mut Machine,
    guest_frames: &[u32],
    table_frames: &[u32],
) -> Result<HostPhys, MonitorError> {
    let leaves = guest_frames.len().div_ceil(1024);
    if table_frames.len() < 1 + leaves {
        return Err(MonitorError::Config(format!(
            "a nested table for {} guest frames needs {} monitor frames, got {}",
            guest_frames.len(),
            1 + leaves,
            table_frames.len()
        )));
    }
    let root = HostPhys::from_page(table_frames[0]);
    m.write_phys(root, &[0; 4096])?;
    for (i, chunk) in guest_frames.chunks(1024).enumerate() {
        let leaf = table_frames[1 + i];
        let mut bytes = vec![0u8; 4096];
        for (j, &host) in chunk.iter().enumerate() {
            let pte = (host << 12) | PTE_V | PTE_R | PTE_W | PTE_X | PTE_A | PTE_D;
            bytes[j * 4..j * 4 + 4].copy_from_slice(&pte.to_le_bytes());
        }
        m.write_phys(HostPhys::from_page(leaf), &bytes)?;
        m.write_phys_u32(root.add(i as u32 * 4), (leaf << 12) | PTE_V)?;
    }
    Ok(root)
}

/// Monitor frames a nested table over `guest_frames` frames needs.
pub fn frames_needed(guest_frames: u32) -> u32 {
    1 + guest_frames.div_ceil(1024)
}
