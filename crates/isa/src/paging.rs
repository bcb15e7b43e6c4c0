//! The page-table format (docs/isa.md, "Paging").
//!
//! Two levels, 4 KiB pages, 32-bit virtual and physical addresses. A virtual
//! address splits into `vpn1` (bits 31..22), `vpn0` (bits 21..12) and the page
//! offset (bits 11..0). `ptbr` holds the root table's physical address; each
//! table is one page of 1024 four-byte entries.

/// Page size in bytes.
pub const PAGE_SIZE: u32 = 4096;
/// log2 of the page size.
pub const PAGE_SHIFT: u32 = 12;
/// Mask of the offset within a page.
pub const PAGE_MASK: u32 = PAGE_SIZE - 1;
/// Entries per table.
pub const ENTRIES: u32 = 1024;
/// Levels in a walk.
pub const LEVELS: u32 = 2;

/// Valid: the entry maps something. A root entry with V set and R, W, X clear
/// points to a leaf table; a root entry with any of R, W, X set is reserved and
/// faults.
pub const PTE_V: u32 = 1 << 0;
/// Readable.
pub const PTE_R: u32 = 1 << 1;
/// Writable. (W without R is reserved and faults.)
pub const PTE_W: u32 = 1 << 2;
/// Executable.
pub const PTE_X: u32 = 1 << 3;
/// Accessible from user mode. Supervisor mode may access user pages too.
pub const PTE_U: u32 = 1 << 4;
/// Accessed: set by the hardware walk on any access through the entry.
pub const PTE_A: u32 = 1 << 5;
/// Dirty: set by the hardware walk on a store through the entry.
pub const PTE_D: u32 = 1 << 6;
/// Bits 11..7 are free for software.
pub const PTE_SOFT_MASK: u32 = 0xF80;
/// Physical frame address field (bits 31..12).
pub const PTE_FRAME_MASK: u32 = !PAGE_MASK;

/// Root-table index of a virtual address.
pub const fn vpn1(va: u32) -> u32 {
    va >> 22
}

/// Leaf-table index of a virtual address.
pub const fn vpn0(va: u32) -> u32 {
    (va >> 12) & 0x3FF
}

/// The page number of an address.
pub const fn page_number(addr: u32) -> u32 {
    addr >> PAGE_SHIFT
}

/// The start of the page holding `addr`.
pub const fn page_base(addr: u32) -> u32 {
    addr & !PAGE_MASK
}

/// A leaf entry mapping `frame` (a page-aligned physical address) with `flags`.
pub const fn make_pte(frame: u32, flags: u32) -> u32 {
    (frame & PTE_FRAME_MASK) | (flags & PAGE_MASK)
}

/// The kind of memory access, for permission checks and page faults.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Access {
    /// Instruction fetch (needs X).
    Fetch,
    /// Load (needs R).
    Load,
    /// Store (needs W).
    Store,
}

impl Access {
    /// The page-fault cause for this access.
    pub const fn page_fault(self) -> crate::Exception {
        match self {
            Access::Fetch => crate::Exception::FetchPageFault,
            Access::Load => crate::Exception::LoadPageFault,
            Access::Store => crate::Exception::StorePageFault,
        }
    }

    /// The permission bit this access needs.
    pub const fn required_bit(self) -> u32 {
        match self {
            Access::Fetch => PTE_X,
            Access::Load => PTE_R,
            Access::Store => PTE_W,
        }
    }
}
