//! The MMU: memory modes, translation through the TLB and the walkers, the
//! write-protect bitmap and the RAM fast path.
//!
//! | mode | walks | table entries hold | failure |
//! |---|---|---|---|
//! | `Physical` | guest tables at `ptbr` if `status.PG` | guest frames (through the PhysMap) | guest page fault |
//! | `Shadow` | the host's shadow table at `root`, always | host frames | `Exit::PageFault` |
//! | `Nested` | guest tables, each address through the nested table at `root` | guest / host frames | guest page fault / `Exit::NestedFault` |
//! | `Direct` | guest tables at `ptbr` if `status.PG` (pv direct paging) | host frames | guest page fault |

use vmlab_isa::paging::{PAGE_MASK, PAGE_SHIFT};
use vmlab_isa::{Access, Exception, Width};

use crate::addr::{GuestPhys, GuestVirt, HostPhys};
use crate::exit::Exit;
use crate::frames::Frames;
use crate::physmap::PhysMap;
use crate::ram::Ram;
use crate::tlb::{Tlb, need};
use crate::walk::{self, Leaf, WalkError, WalkMem};

/// Which tables the MMU walks (see the module table).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum MemMode {
    /// The guest's own tables in guest-physical memory (when `status.PG`);
    /// every guest-physical address goes through the PhysMap at no cost. The
    /// bare machine and native runs.
    #[default]
    Physical,
    /// A host-owned shadow table (guest-virtual -> host-physical) at `root`,
    /// whatever the guest's `PG` and `ptbr`. Misses exit to the host.
    Shadow {
        /// Host-physical address of the shadow root table.
        root: HostPhys,
    },
    /// Two-dimensional paging: the guest's tables, with every guest-physical
    /// address translated by the nested table at `root` (EPT/NPT-like).
    Nested {
        /// Host-physical address of the nested root table.
        root: HostPhys,
    },
    /// Paravirtual direct paging: the guest's tables hold host frames and
    /// `ptbr` is host-physical; with paging off, the PhysMap applies.
    Direct,
}

/// What a walk depends on besides the address.
#[derive(Clone, Copy, Debug)]
struct Context {
    mode: MemMode,
    ptbr: u32,
    pg: bool,
}

/// How a translation failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Fault {
    /// A guest exception (badaddr = the virtual address).
    Guest(Exception),
    /// An exit to the host.
    Exit(Exit),
}

/// Memory: RAM, the PhysMap, the TLB and the per-frame watch bits.
#[derive(Clone, Debug)]
pub(crate) struct Mmu {
    pub ram: Ram,
    pub physmap: PhysMap,
    pub frames: Frames,
    pub tlb: Tlb,
    pub mode: MemMode,
    /// The guest's `ptbr` (kept in step with the control register).
    pub ptbr: u32,
    /// The guest's `status.PG` (kept in step with the control register).
    pub pg: bool,
    /// True when translation goes through the TLB: paging on in Physical and
    /// Direct modes, always in Shadow and Nested modes.
    pub paged: bool,
    /// Unpaged, addresses below this map to themselves in RAM (the
    /// PhysMap's identity prefix); 0 when paged.
    pub flat: u32,
    /// The PhysMap's identity prefix in bytes (recomputed when it changes).
    pub identity: u32,
    pub walks_1d: u64,
    pub walks_2d: u64,
    pub refs_1d: u64,
    pub refs_2d: u64,
}

impl Mmu {
    pub(crate) fn new(ram: Ram, physmap: PhysMap, tlb_entries: usize) -> Mmu {
        let frames = Frames::new(ram.frames());
        let identity = identity_prefix(&physmap, &ram);
        Mmu {
            ram,
            physmap,
            frames,
            tlb: Tlb::new(tlb_entries),
            mode: MemMode::Physical,
            ptbr: 0,
            pg: false,
            paged: false,
            flat: identity,
            identity,
            walks_1d: 0,
            walks_2d: 0,
            refs_1d: 0,
            refs_2d: 0,
        }
    }

    /// Takes the guest's `ptbr` and `status.PG` and recomputes whether
    /// translation is paged (after a mode, `status` or `ptbr` change).
    pub(crate) fn set_context(&mut self, ptbr: u32, pg: bool) {
        // Under nested paging the TLB caches the guest's paging-off
        // (guest-physical) translations too; they must not survive a change
        // of PG, which natively never leaves TLB entries behind.
        if pg != self.pg && matches!(self.mode, MemMode::Nested { .. }) {
            self.tlb.flush_space();
        }
        self.ptbr = ptbr;
        self.pg = pg;
        self.paged = match self.mode {
            MemMode::Physical | MemMode::Direct => pg,
            MemMode::Shadow { .. } | MemMode::Nested { .. } => true,
        };
        self.flat = if self.paged { 0 } else { self.identity };
        // The privilege level, mode or PhysMap may have changed: cached
        // fetches must translate again.
        self.tlb.bump();
    }

    /// Takes a new PhysMap (the caller then refreshes the context).
    pub(crate) fn set_physmap(&mut self, map: PhysMap) {
        self.physmap = map;
        self.identity = identity_prefix(&self.physmap, &self.ram);
    }

    /// A value that changes whenever a cached fetch (pc -> block) may no
    /// longer hold: any TLB change, context change or code invalidation.
    /// Both counters only grow, so their sum never repeats.
    #[inline(always)]
    pub(crate) fn epoch(&self) -> u64 {
        self.tlb.epoch.wrapping_add(self.frames.epoch)
    }

    fn context(&self) -> Context {
        Context {
            mode: self.mode,
            ptbr: self.ptbr,
            pg: self.pg,
        }
    }

    /// The fast path: `va` to a host-physical address on a TLB hit (or
    /// through the PhysMap when unpaged). `None` sends the caller to
    /// [`translate`](Mmu::translate). An unpaged unmapped address yields an
    /// address outside RAM, which the RAM access then rejects.
    #[inline(always)]
    pub(crate) fn fast_fetch(&self, va: u32, need: u8) -> Option<u32> {
        if self.paged {
            self.tlb.peek(va, need)
        } else {
            Some(self.physmap.fast(va))
        }
    }

    /// Like [`fast_fetch`](Mmu::fast_fetch), counting a TLB hit (data accesses).
    #[inline(always)]
    pub(crate) fn fast(&mut self, va: u32, need: u8) -> Option<u32> {
        if va < self.flat {
            Some(va)
        } else if self.paged {
            self.tlb.lookup(va, need)
        } else {
            Some(self.physmap.fast(va))
        }
    }

    /// The RAM fast path for a load: `None` means take the slow path.
    #[inline(always)]
    pub(crate) fn load_fast(&mut self, va: u32, width: Width, need: u8) -> Option<u32> {
        let hpa = self.fast(va, need)?;
        self.ram.load(hpa, width)
    }

    /// The RAM fast path for a store. `Err(Some(hpa))`: translated, but the
    /// frame is watched (protected or holding code) or outside RAM;
    /// `Err(None)`: not in the TLB.
    #[inline(always)]
    pub(crate) fn store_fast(
        &mut self,
        va: u32,
        width: Width,
        value: u32,
        need: u8,
    ) -> Result<(), Option<u32>> {
        let hpa = self.fast(va, need).ok_or(None)?;
        if self.frames.store_watched(hpa) || !self.ram.store(hpa, width, value) {
            return Err(Some(hpa));
        }
        Ok(())
    }

    /// Translates `va` for `access`, walking on a TLB miss and filling the TLB.
    pub(crate) fn translate(&mut self, va: u32, access: Access, user: bool) -> Result<u32, Fault> {
        if !self.paged {
            let hpa = self.physmap.fast(va);
            return if self.ram.contains(HostPhys(hpa), 1) {
                Ok(hpa)
            } else {
                Err(Fault::Guest(Exception::BusError))
            };
        }
        let need = need(access, user);
        if let Some(hpa) = self.tlb.lookup(va, need) {
            return Ok(hpa);
        }
        self.tlb.misses += 1;
        let mut mem = WalkMem::new(&self.ram, true);
        let result = walk_for(&mut mem, &self.physmap, self.context(), va, access, user);
        let refs = u64::from(mem.refs);
        // A faulting access sets no A/D bits: commit only on success.
        let (writes, n) = mem.writes();
        if result.is_ok() {
            walk::commit(&mut self.ram, &mut self.frames, &writes[..n]);
        }
        if matches!(self.mode, MemMode::Nested { .. }) {
            self.walks_2d += 1;
            self.refs_2d += refs;
        } else {
            self.walks_1d += 1;
            self.refs_1d += refs;
        }
        let (base, allow) = result?;
        self.tlb.insert(va, base, allow);
        Ok(base | (va & PAGE_MASK))
    }

    /// Translates without side effects: no TLB fill, no A/D update, no counting.
    pub(crate) fn peek(&self, va: u32, access: Access, user: bool) -> Result<u32, Fault> {
        if !self.paged {
            let hpa = self.physmap.fast(va);
            return if self.ram.contains(HostPhys(hpa), 1) {
                Ok(hpa)
            } else {
                Err(Fault::Guest(Exception::BusError))
            };
        }
        if let Some(hpa) = self.tlb.peek(va, need(access, user)) {
            return Ok(hpa);
        }
        let mut mem = WalkMem::new(&self.ram, false);
        let (base, _) = walk_for(&mut mem, &self.physmap, self.context(), va, access, user)?;
        Ok(base | (va & PAGE_MASK))
    }

    /// The software walker for monitors: the guest's own tables at guest-physical
    /// `ptbr`, read through the PhysMap, whatever the memory mode. With the
    /// guest's paging off, the address maps to itself.
    pub(crate) fn walk_guest(
        &mut self,
        va: GuestVirt,
        access: Access,
        user: bool,
        set_ad: bool,
    ) -> Result<GuestWalk, GuestWalkError> {
        if !self.pg {
            return Ok(GuestWalk {
                gpa: GuestPhys(va.0),
                pte: 0,
            });
        }
        let mut mem = WalkMem::new(&self.ram, set_ad);
        let pm = &self.physmap;
        let result = walk::walk_1d(&mut mem, self.ptbr, va.0, access, user, |gpa| {
            pm.translate(GuestPhys(gpa)).map(|h| h.0)
        });
        let (writes, n) = mem.writes();
        if result.is_ok() {
            walk::commit(&mut self.ram, &mut self.frames, &writes[..n]);
        }
        match result {
            Ok(Leaf { pte, frame, .. }) => Ok(GuestWalk {
                gpa: GuestPhys(frame | va.offset()),
                pte,
            }),
            Err(WalkError::Page) => Err(GuestWalkError::PageFault(access.page_fault())),
            Err(_) => Err(GuestWalkError::BusError),
        }
    }
}

/// Walks the tables `mode` names. Returns the host-physical page and the TLB
/// permissions.
fn walk_for(
    mem: &mut WalkMem<'_>,
    physmap: &PhysMap,
    ctx: Context,
    va: u32,
    access: Access,
    user: bool,
) -> Result<(u32, u8), Fault> {
    let Context { mode, ptbr, pg } = ctx;
    let gva = GuestVirt(va);
    match mode {
        MemMode::Physical => {
            let leaf = walk::walk_1d(mem, ptbr, va, access, user, |gpa| {
                physmap.translate(GuestPhys(gpa)).map(|h| h.0)
            })
            .map_err(|e| guest_fault(e, access))?;
            Ok((leaf.host, walk::leaf_allow(leaf.pte, true)))
        }
        MemMode::Direct => {
            let leaf = walk::walk_1d(mem, ptbr, va, access, user, Some)
                .map_err(|e| guest_fault(e, access))?;
            Ok((leaf.host, walk::leaf_allow(leaf.pte, true)))
        }
        MemMode::Shadow { root } => {
            let leaf = walk::walk_1d(mem, root.0, va, access, user, Some).map_err(|e| match e {
                WalkError::Page => Fault::Exit(Exit::PageFault { gva, access, user }),
                _ => Fault::Guest(Exception::BusError),
            })?;
            Ok((leaf.host, walk::leaf_allow(leaf.pte, true)))
        }
        MemMode::Nested { root } => {
            let result = if pg {
                walk::walk_2d(mem, root.0, ptbr, va, access, user)
            } else {
                walk::walk_nested(mem, root.0, va, access)
                    .map(|(hpa, leaf)| (hpa & !PAGE_MASK, walk::nested_allow(leaf.pte)))
            };
            result.map_err(|e| match e {
                WalkError::Nested { gpa, access } => Fault::Exit(Exit::NestedFault {
                    gva,
                    gpa: GuestPhys(gpa),
                    access,
                }),
                e => guest_fault(e, access),
            })
        }
    }
}

/// Bytes from address 0 that the PhysMap maps to themselves, within RAM.
fn identity_prefix(physmap: &PhysMap, ram: &Ram) -> u32 {
    let mut frames = 0;
    while frames < ram.frames() && physmap.fast(frames << PAGE_SHIFT) == frames << PAGE_SHIFT {
        frames += 1;
    }
    // Stop one word short of the end so the RAM check stays meaningful.
    (frames << PAGE_SHIFT).saturating_sub(4)
}

fn guest_fault(e: WalkError, access: Access) -> Fault {
    match e {
        WalkError::Page => Fault::Guest(access.page_fault()),
        _ => Fault::Guest(Exception::BusError),
    }
}

/// What the software walker found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GuestWalk {
    /// The guest-physical address `va` maps to.
    pub gpa: GuestPhys,
    /// The guest's leaf entry (after the A/D update, if one was asked for).
    pub pte: u32,
}

/// Why the software walker failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GuestWalkError {
    /// A guest page fault: reflect this cause with badaddr = the address.
    PageFault(Exception),
    /// A table or the page lies outside the guest's memory (bus-error).
    BusError,
}
