//! The hardware page walkers (docs/isa.md, "Paging"): the one-dimensional
//! walk of a two-level table, and the two-dimensional walk of guest tables
//! through a nested table.
//!
//! A walk reads page-table entries from memory, checks them, and sets the
//! accessed and dirty bits in memory. Those A/D updates are the walker's own
//! writes, not guest stores: they bypass the write-protect bitmap (but still
//! invalidate cached code, should a table share a line with code).

use vmlab_isa::Access;
use vmlab_isa::Width;
use vmlab_isa::paging::{
    PAGE_MASK, PAGE_SIZE, PTE_A, PTE_D, PTE_FRAME_MASK, PTE_R, PTE_U, PTE_V, PTE_W, PTE_X,
    page_base, vpn0, vpn1,
};

use crate::addr::HostPhys;
use crate::frames::Frames;
use crate::ram::Ram;
use crate::tlb::allow;

/// Why a walk failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum WalkError {
    /// The access's page fault at the walked level.
    Page,
    /// An entry or the final address lies outside RAM (bus-error).
    Bus,
    /// The nested walk of guest-physical `gpa` failed for `access`.
    Nested {
        /// The guest-physical address the nested walk could not translate.
        gpa: u32,
        /// The access the nested walk checked.
        access: Access,
    },
}

/// A successful walk: the leaf entry (after its A/D update) and where it maps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Leaf {
    /// The leaf entry.
    pub pte: u32,
    /// Address of the mapped page, in the table's own address space.
    pub frame: u32,
    /// Host-physical address of the mapped page (checked to be in RAM).
    pub host: u32,
}

/// The memory a walker reads, and the A/D writes it wants done. Writes are
/// collected and applied by the caller ([`commit`]), so a host peek
/// (`set_ad` false) needs only shared access to RAM.
pub(crate) struct WalkMem<'a> {
    pub ram: &'a Ram,
    /// Whether to set A/D bits (false for the host's side-effect-free peeks).
    pub set_ad: bool,
    /// Entry reads so far (the walk references the counters report).
    pub refs: u32,
    /// Pending A/D writes: (host-physical address, new entry).
    writes: [(u32, u32); 4],
    nwrites: usize,
}

impl<'a> WalkMem<'a> {
    pub(crate) fn new(ram: &'a Ram, set_ad: bool) -> WalkMem<'a> {
        WalkMem {
            ram,
            set_ad,
            refs: 0,
            writes: [(0, 0); 4],
            nwrites: 0,
        }
    }

    fn read(&mut self, hpa: u32) -> Result<u32, WalkError> {
        self.refs += 1;
        self.ram.load_u32(hpa).ok_or(WalkError::Bus)
    }

    fn write(&mut self, hpa: u32, pte: u32) {
        if self.nwrites < self.writes.len() {
            self.writes[self.nwrites] = (hpa, pte);
            self.nwrites += 1;
        }
    }

    /// The A/D writes the walk asked for (a copy, so RAM can be borrowed
    /// mutably to apply them), and how many there are.
    pub(crate) fn writes(&self) -> ([(u32, u32); 4], usize) {
        (self.writes, self.nwrites)
    }
}

/// Applies a walk's A/D writes to RAM (invalidating code they overlap).
pub(crate) fn commit(ram: &mut Ram, frames: &mut Frames, writes: &[(u32, u32)]) {
    for &(hpa, pte) in writes {
        if ram.store(hpa, Width::Word, pte) {
            frames.written(hpa, 4);
        }
    }
}

/// Root-level checks: "a root entry with V set and R, W, X clear points to a
/// leaf table; a root entry with any of R, W, X set is reserved and faults".
fn check_root(pte: u32) -> Result<(), WalkError> {
    if pte & PTE_V == 0 || pte & (PTE_R | PTE_W | PTE_X) != 0 {
        return Err(WalkError::Page);
    }
    Ok(())
}

/// Leaf-level checks: V; W without R is reserved; user needs U (supervisor
/// may touch U pages); fetch needs X, load R, store W.
fn check_leaf(pte: u32, access: Access, user: bool) -> Result<(), WalkError> {
    if pte & PTE_V == 0 || (pte & PTE_W != 0 && pte & PTE_R == 0) {
        return Err(WalkError::Page);
    }
    if user && pte & PTE_U == 0 {
        return Err(WalkError::Page);
    }
    if pte & access.required_bit() == 0 {
        return Err(WalkError::Page);
    }
    Ok(())
}

/// The leaf after the walk's update: A on any access, D on a store.
fn with_ad(pte: u32, access: Access) -> u32 {
    match access {
        Access::Store => pte | PTE_A | PTE_D,
        _ => pte | PTE_A,
    }
}

/// The TLB permissions a leaf grants. A store is cached only once D is set,
/// so the first store through a clean page walks again to set it.
pub(crate) fn leaf_allow(pte: u32, user_bit: bool) -> u8 {
    let mut a = 0;
    if pte & PTE_R != 0 {
        a |= allow::LOAD;
    }
    if pte & PTE_W != 0 && pte & PTE_D != 0 {
        a |= allow::STORE;
    }
    if pte & PTE_X != 0 {
        a |= allow::FETCH;
    }
    if user_bit && pte & PTE_U != 0 {
        a |= a << allow::USER_SHIFT;
    }
    a
}

/// The one-dimensional walk of the table at `root` for `va` (docs/isa.md
/// 8.3). `to_hpa` turns an address of the table's space into a host-physical
/// one (the PhysMap for guest tables, identity for host-owned tables).
pub(crate) fn walk_1d(
    mem: &mut WalkMem<'_>,
    root: u32,
    va: u32,
    access: Access,
    user: bool,
    to_hpa: impl Fn(u32) -> Option<u32>,
) -> Result<Leaf, WalkError> {
    // 1-2. read the root entry (outside RAM: bus-error).
    let root_addr = to_hpa(page_base(root) + vpn1(va) * 4).ok_or(WalkError::Bus)?;
    let root_pte = mem.read(root_addr)?;
    // 3-4. it must be valid and point to a leaf table.
    check_root(root_pte)?;
    // 5-6. read the leaf entry.
    let leaf_addr = to_hpa((root_pte & PTE_FRAME_MASK) + vpn0(va) * 4).ok_or(WalkError::Bus)?;
    let pte = mem.read(leaf_addr)?;
    // 7-10. validity, reserved W-without-R, U, and the access's permission.
    check_leaf(pte, access, user)?;
    // 11. the page must be in RAM.
    let frame = pte & PTE_FRAME_MASK;
    let host = to_hpa(frame)
        .filter(|h| mem.ram.contains(HostPhys(*h), PAGE_SIZE as usize))
        .ok_or(WalkError::Bus)?;
    // 12. set A (and D on a store) by writing the entry back.
    let new = with_ad(pte, access);
    if mem.set_ad && new != pte {
        mem.write(leaf_addr, new);
    }
    let pte = if mem.set_ad { new } else { pte };
    Ok(Leaf { pte, frame, host })
}

/// The nested walk: guest-physical `gpa` through the host-owned nested table
/// at `root` (entries hold host frames; the U bit is ignored, as in EPT).
/// Any failure is a nested fault for `gpa`. Returns the host-physical address
/// and the nested leaf.
pub(crate) fn walk_nested(
    mem: &mut WalkMem<'_>,
    root: u32,
    gpa: u32,
    access: Access,
) -> Result<(u32, Leaf), WalkError> {
    match walk_1d(mem, root, gpa, access, false, Some) {
        Ok(leaf) => Ok((leaf.host | (gpa & PAGE_MASK), leaf)),
        Err(_) => Err(WalkError::Nested { gpa, access }),
    }
}

/// The two-dimensional walk: the guest's tables (guest-physical, rooted at
/// `ptbr`) with every guest-physical address, the tables' own included,
/// translated by the nested table at `nested_root`. For two guest levels and
/// two nested levels that is (2+1)(2+1)-1 = 8 entry reads per miss.
///
/// Returns the host-physical page and the TLB permissions: the guest leaf's
/// AND the nested leaf's.
pub(crate) fn walk_2d(
    mem: &mut WalkMem<'_>,
    nested_root: u32,
    ptbr: u32,
    va: u32,
    access: Access,
    user: bool,
) -> Result<(u32, u8), WalkError> {
    // 1. the guest root entry: its guest-physical address goes through the nested table.
    let root_gpa = page_base(ptbr) + vpn1(va) * 4;
    let (root_hpa, _) = walk_nested(mem, nested_root, root_gpa, Access::Load)?;
    let root_pte = mem.read(root_hpa)?;
    check_root(root_pte)?;
    // 2. the guest leaf entry, again through the nested table.
    let leaf_gpa = (root_pte & PTE_FRAME_MASK) + vpn0(va) * 4;
    let (leaf_hpa, table_leaf) = walk_nested(mem, nested_root, leaf_gpa, Access::Load)?;
    let pte = mem.read(leaf_hpa)?;
    check_leaf(pte, access, user)?;
    // 3. the final guest-physical address through the nested table.
    let gpa = (pte & PTE_FRAME_MASK) | (va & PAGE_MASK);
    let (hpa, nested_leaf) = walk_nested(mem, nested_root, gpa, access)?;
    // 4. A/D in the guest leaf: a write to guest memory, so it needs nested W.
    let new = with_ad(pte, access);
    if mem.set_ad && new != pte {
        if table_leaf.pte & PTE_W == 0 {
            return Err(WalkError::Nested {
                gpa: leaf_gpa,
                access: Access::Store,
            });
        }
        mem.write(leaf_hpa, new);
    }
    let pte = if mem.set_ad { new } else { pte };
    let allow = leaf_allow(pte, true) & nested_allow(nested_leaf.pte);
    Ok((page_base(hpa), allow))
}

/// What a nested leaf permits, for both privilege levels.
pub(crate) fn nested_allow(pte: u32) -> u8 {
    let a = leaf_allow(pte, false);
    a | (a << allow::USER_SHIFT)
}
