//! The TLB: a direct-mapped (hashed-index) cache of translations, guest-virtual page ->
//! host-physical frame, with the permissions the walk found.
//!
//! Entries are tagged with an address-space id: 0 outside guest mode, the
//! `vpid` control in guest mode when the TLB is tagged (VT-x's VPID, AMD's
//! ASID). An untagged TLB is flushed on every world switch instead, as on 2006
//! hardware. The TLB is not coherent with memory: a page-table store changes
//! nothing here until `tlbflush`/`tlbflushp` (docs/isa.md, "Paging").

use vmlab_isa::Access;
use vmlab_isa::paging::{PAGE_MASK, PAGE_SHIFT};

/// Permission bits an entry grants, one per (privilege, access) pair; user
/// bits sit [`USER_SHIFT`](allow::USER_SHIFT) above the supervisor ones.
pub(crate) mod allow {
    /// Supervisor load.
    pub const LOAD: u8 = 1 << 0;
    /// Supervisor store (the leaf's W and D are both set).
    pub const STORE: u8 = 1 << 1;
    /// Supervisor fetch.
    pub const FETCH: u8 = 1 << 2;
    /// Shift from a supervisor bit to the matching user bit.
    pub const USER_SHIFT: u32 = 3;
}

/// The `allow` bit an access needs in a mode.
#[inline(always)]
pub(crate) const fn need(access: Access, user: bool) -> u8 {
    let base = match access {
        Access::Load => allow::LOAD,
        Access::Store => allow::STORE,
        Access::Fetch => allow::FETCH,
    };
    if user {
        base << allow::USER_SHIFT
    } else {
        base
    }
}

/// Marks a valid entry's key.
const VALID: u64 = 1 << 63;

/// One translation.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Entry {
    /// `VALID | asid << 32 | virtual page number`, or 0 when empty.
    key: u64,
    /// Host-physical address of the frame.
    base: u32,
    /// [`allow`] bits.
    allow: u8,
}

/// The translation lookaside buffer.
#[derive(Clone, Debug)]
pub(crate) struct Tlb {
    entries: Vec<Entry>,
    mask: usize,
    /// The key prefix of the current address space (`VALID | asid << 32`).
    space: u64,
    pub(crate) hits: u64,
    pub(crate) misses: u64,
    /// Bumped on every change to the entries or the address space (and by
    /// the MMU on any change of translation context): a fetch cached while
    /// it is unchanged still translates the same way.
    pub(crate) epoch: u64,
}

impl Tlb {
    /// A TLB of `entries` entries (a power of two, checked by the caller).
    pub(crate) fn new(entries: usize) -> Tlb {
        Tlb {
            entries: vec![Entry::default(); entries],
            mask: entries - 1,
            space: VALID,
            hits: 0,
            misses: 0,
            epoch: 0,
        }
    }

    /// Number of entries.
    pub(crate) fn capacity(&self) -> usize {
        self.entries.len()
    }

    /// Selects the address space new lookups and inserts use.
    pub(crate) fn set_asid(&mut self, asid: u16) {
        self.space = VALID | (u64::from(asid) << 32);
        self.bump();
    }

    /// Marks every cached fetch stale.
    #[inline(always)]
    pub(crate) fn bump(&mut self) {
        self.epoch = self.epoch.wrapping_add(1);
    }

    fn key(&self, va: u32) -> u64 {
        self.space | u64::from(va >> PAGE_SHIFT)
    }

    /// The entry a page maps to. Indexing by the low page-number bits alone
    /// made regions at aligned addresses (user text at 0x40000000, the heap
    /// at 0x50000000, the kernel's pages at 0x...) collide on every access,
    /// a conflict-miss storm no real TLB (set-associative) has; a
    /// multiplicative hash spreads them.
    #[inline(always)]
    fn slot(&self, va: u32) -> usize {
        let h = (va >> PAGE_SHIFT).wrapping_mul(0x9E37_79B9);
        (h ^ (h >> 16)) as usize & self.mask
    }

    /// The fast path: the host-physical address of `va` if an entry for the
    /// current space grants `need`. Counts a hit; a miss is counted by the
    /// walk that follows.
    #[inline(always)]
    pub(crate) fn lookup(&mut self, va: u32, need: u8) -> Option<u32> {
        let key = self.key(va);
        let e = self.entries[self.slot(va)];
        if e.key == key && e.allow & need != 0 {
            self.hits += 1;
            Some(e.base | (va & PAGE_MASK))
        } else {
            None
        }
    }

    /// Like [`lookup`](Tlb::lookup) but without counting a hit: for
    /// instruction fetches (an engine looks up once per block, or less if it
    /// chains blocks, so fetch hits are not an event engines can agree on;
    /// fetch misses are, and the walk counts them) and host peeks.
    #[inline(always)]
    pub(crate) fn peek(&self, va: u32, need: u8) -> Option<u32> {
        let e = self.entries[self.slot(va)];
        (e.key == self.key(va) && e.allow & need != 0).then_some(e.base | (va & PAGE_MASK))
    }

    /// Caches a translation of the page holding `va` in the current space.
    pub(crate) fn insert(&mut self, va: u32, frame_base: u32, allow: u8) {
        let key = self.key(va);
        self.bump();
        let slot = self.slot(va);
        self.entries[slot] = Entry {
            key,
            base: frame_base & !PAGE_MASK,
            allow,
        };
    }

    /// Invalidates every entry of every space.
    pub(crate) fn flush_all(&mut self) {
        self.bump();
        self.entries.fill(Entry::default());
    }

    /// Invalidates every entry of the current space (`tlbflush`).
    pub(crate) fn flush_space(&mut self) {
        self.bump();
        let space = self.space;
        for e in &mut self.entries {
            if e.key & !u64::from(u32::MAX) == space {
                *e = Entry::default();
            }
        }
    }

    /// Invalidates the entry for the page holding `va` in the current space
    /// (`tlbflushp`).
    pub(crate) fn flush_page(&mut self, va: u32) {
        self.bump();
        let key = self.key(va);
        let slot = self.slot(va);
        let e = &mut self.entries[slot];
        if e.key == key {
            *e = Entry::default();
        }
    }
}
