//! Basic blocks: formation (shared by every engine, so they count the same
//! events) and the interpreter's block cache (its ops are built by
//! [`threaded`](crate::threaded)).
//!
//! A block starts at a pc and runs to the first instruction for which
//! [`Instr::ends_block`] holds, the end of the page, or [`MAX_BLOCK`]
//! instructions. Blocks are cached by host-physical address *and* the virtual
//! address they were decoded at (pc-relative values are resolved at decode),
//! and die when their frame's code generation changes (a store or host write
//! to a line holding code).

use vmlab_isa::paging::PAGE_SIZE;
use vmlab_isa::{Access, Exception, Instr, decode};

use crate::exec::{Stop, with_addr};
use crate::machine::Machine;
use crate::threaded::{Lowered, MARKS, TOp, lower_block};
use crate::tlb::allow;

/// Longest block, in instructions.
pub const MAX_BLOCK: usize = 64;

/// Slots in the interpreter's direct-mapped block cache.
pub const BLOCK_CACHE_SLOTS: usize = 4096;

/// The instructions of the block whose bytes start at `code` (the rest of
/// the page from the block's start): decoded words up to and including the
/// first that ends a block, at most [`MAX_BLOCK`].
pub fn form_block(code: &[u8]) -> impl Iterator<Item = Instr> + '_ {
    let mut done = false;
    code.chunks_exact(4).take(MAX_BLOCK).map_while(move |w| {
        if done {
            return None;
        }
        let instr = decode(u32::from_le_bytes([w[0], w[1], w[2], w[3]]));
        done = instr.ends_block();
        Some(instr)
    })
}

/// Bytes from `addr` to the end of its page.
pub const fn page_rest(addr: u32) -> u32 {
    PAGE_SIZE - (addr & (PAGE_SIZE - 1))
}

/// A cached, predecoded block.
#[derive(Clone, Debug, Default)]
pub(crate) struct Block {
    /// Virtual address of the first instruction.
    pub va: u32,
    /// Host-physical address of the first instruction.
    pub hpa: u32,
    /// The frame's code generation at decode time.
    pub generation: u32,
    /// False for an empty slot.
    pub valid: bool,
    /// Decoded while the MMU translated through the TLB, so without joins
    /// (see [`lower_block`]).
    pub paged: bool,
    /// Where its ops are.
    pub loc: Loc,
}

/// Where a block's ops sit in the cache's arena and how many instructions
/// it has.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Loc {
    /// The arena index of its first op.
    pub start: u16,
    /// Its instructions.
    pub len: u16,
}

/// The arena's size in ops: a power of two, so a masked index is in range
/// (no bounds check on the hot path). Blocks fill it from the start; the
/// last [`SCRATCH`] ops hold the one-off partial pass. (Every machine
/// allocates and fills the arena when it is built: 16384 ops of 32 bytes,
/// 512 KiB.)
const ARENA_LEN: usize = 1 << 14;

/// Masks an arena index.
const ARENA_MASK: usize = ARENA_LEN - 1;

/// Room for the longest block's ops and its end op.
const SCRATCH: usize = 128;

/// Where the partial pass's ops go.
const SCRATCH_AT: usize = ARENA_LEN - SCRATCH;

// A loop closer keeps its block's first op index in 16 bits.
const _: () = assert!(MAX_BLOCK < SCRATCH && ARENA_LEN <= 1 << 16);

/// Entries in the jump cache (virtual pc -> block slot).
const JUMP_CACHE_SLOTS: usize = 1024;

/// A jump-cache entry: the ops of the block fetched for `va` while the
/// MMU's epoch was `epoch` (see [`Mmu::epoch`](crate::mmu::Mmu::epoch)).
#[derive(Clone, Copy, Debug, Default)]
struct Jump {
    epoch: u64,
    va: u32,
    loc: Loc,
}

/// The direct-mapped block cache, indexed by host-physical address, with a
/// jump cache in front of it indexed by virtual address: a block-to-block
/// transfer costs one compare while nothing that a fetch depends on changed.
/// The threaded ops of all blocks live in one fixed-size arena, so a
/// jump-cache hit leads straight to them.
#[derive(Clone, Debug)]
pub(crate) struct BlockCache {
    // Fixed sizes: masked indexes need no bounds checks.
    slots: Box<[Block; BLOCK_CACHE_SLOTS]>,
    jumps: Box<[Jump; JUMP_CACHE_SLOTS]>,
    arena: Box<[TOp; ARENA_LEN]>,
    /// Ops of the arena in use (the rest is free).
    used: usize,
}

impl BlockCache {
    pub(crate) fn new() -> BlockCache {
        BlockCache {
            slots: boxed(Block::default()),
            // Epoch u64::MAX is never reached: empty entries never match.
            jumps: boxed(Jump {
                epoch: u64::MAX,
                va: 0,
                loc: Loc::default(),
            }),
            arena: boxed(TOp::EMPTY),
            used: 0,
        }
    }

    /// The ops from arena index `i` to the end of the arena.
    #[inline(always)]
    pub(crate) fn ops_from(&self, i: usize) -> &[TOp] {
        &self.arena[i & ARENA_MASK..]
    }

    /// The block the jump cache remembers for `va` at `epoch`.
    #[inline(always)]
    pub(crate) fn jump(&self, va: u32, epoch: u64) -> Option<Loc> {
        let j = self.jumps[(va >> 2) as usize & (JUMP_CACHE_SLOTS - 1)];
        (j.va == va && j.epoch == epoch).then_some(j.loc)
    }

    /// Remembers that `va` fetched the block in `slot` at `epoch`; returns
    /// where it is.
    #[inline(always)]
    pub(crate) fn remember(&mut self, va: u32, epoch: u64, slot: usize) -> Loc {
        let loc = self.slots[slot & (BLOCK_CACHE_SLOTS - 1)].loc;
        self.jumps[(va >> 2) as usize & (JUMP_CACHE_SLOTS - 1)] = Jump { epoch, va, loc };
        loc
    }

    /// The block in `slot`.
    pub(crate) fn block(&self, slot: usize) -> &Block {
        &self.slots[slot & (BLOCK_CACHE_SLOTS - 1)]
    }

    #[inline(always)]
    fn index(hpa: u32) -> usize {
        (hpa >> 2) as usize & (BLOCK_CACHE_SLOTS - 1)
    }

    /// The slot for a block at `hpa`, if it holds the block decoded at
    /// (`va`, `hpa`) in code generation `generation`, with paging on or off
    /// as `paged` says.
    #[inline(always)]
    pub(crate) fn lookup(&self, va: u32, hpa: u32, generation: u32, paged: bool) -> Option<usize> {
        let i = Self::index(hpa);
        let b = &self.slots[i];
        (b.valid && b.hpa == hpa && b.va == va && b.generation == generation && b.paged == paged)
            .then_some(i)
    }

    /// Decodes the block at (`va`, `hpa`) from `page` (the bytes of its
    /// page) into its slot, evicting what was there; joined across
    /// transfers in the page unless `paged` (see [`lower_block`]). Returns
    /// the slot and the stretches of the page its ops depend on, as (page
    /// offset, bytes).
    pub(crate) fn fill(
        &mut self,
        va: u32,
        hpa: u32,
        generation: u32,
        page: &[u8],
        paged: bool,
    ) -> (usize, [(u32, u32); MARKS]) {
        if self.used + SCRATCH > SCRATCH_AT {
            // Start afresh. (The caller bumps the epoch after every fill, so
            // no jump-cache entry survives either.)
            self.clear();
        }
        let start = self.used;
        let Lowered { ops, len, segments } = lower_block(
            &mut self.arena[..],
            start,
            va,
            page,
            MAX_BLOCK,
            true,
            !paged,
        );
        self.used += ops;
        let i = Self::index(hpa);
        self.slots[i] = Block {
            va,
            hpa,
            generation,
            valid: true,
            paged,
            loc: Loc {
                start: start as u16,
                len: len as u16,
            },
        };
        (i, segments)
    }

    /// Lowers the first `limit` instructions of the block at `va` (`page`:
    /// the bytes of its page) into the scratch area, unfused, ending with a
    /// plain fall-through: for a pass that must stop part-way. Returns its
    /// first op.
    pub(crate) fn fill_partial(&mut self, va: u32, page: &[u8], limit: usize) -> usize {
        lower_block(
            &mut self.arena[..],
            SCRATCH_AT,
            va,
            page,
            limit,
            false,
            false,
        );
        SCRATCH_AT
    }

    /// Empties every slot.
    pub(crate) fn clear(&mut self) {
        for b in self.slots.iter_mut() {
            b.valid = false;
        }
        for j in self.jumps.iter_mut() {
            j.epoch = u64::MAX;
        }
        self.used = 0;
    }
}

/// `N` copies of `x` on the heap (built there: no large stack temporary).
fn boxed<T: Clone, const N: usize>(x: T) -> Box<[T; N]> {
    match vec![x; N].into_boxed_slice().try_into() {
        Ok(b) => b,
        Err(_) => unreachable!("the vector has N elements"),
    }
}

impl Machine {
    /// Finds (or decodes) the block at pc: the jump cache missed.
    #[inline(never)]
    pub(crate) fn fetch_block(&mut self, cache: &mut BlockCache, pc: u32) -> Result<usize, Stop> {
        if pc & 3 != 0 {
            return Err(Stop::Trap(Exception::MisalignedFetch, pc));
        }
        let need = allow::FETCH << self.need_shift;
        if let Some(hpa) = self.mmu.fast_fetch(pc, need) {
            let generation = self.mmu.frames.generation(hpa);
            if let Some(slot) = cache.lookup(pc, hpa, generation, self.mmu.paged) {
                return Ok(slot);
            }
            if let Some(code) = self.mmu.ram.as_bytes().get(hpa as usize..) {
                if !code.is_empty() {
                    return Ok(self.decode_block(cache, pc, hpa));
                }
            }
        }
        let user = self.cpu.user();
        let hpa = self
            .mmu
            .translate(pc, Access::Fetch, user)
            .map_err(|f| with_addr(f, pc))?;
        let generation = self.mmu.frames.generation(hpa);
        match cache.lookup(pc, hpa, generation, self.mmu.paged) {
            Some(slot) => Ok(slot),
            None => Ok(self.decode_block(cache, pc, hpa)),
        }
    }

    /// The bytes of RAM's frame at `frame` (a page's host-physical
    /// address), as far as RAM goes.
    pub(crate) fn page(&self, frame: u32) -> &[u8] {
        let ram = self.mmu.ram.as_bytes();
        let start = (frame as usize).min(ram.len());
        let end = (start + PAGE_SIZE as usize).min(ram.len());
        &ram[start..end]
    }

    #[cold]
    fn decode_block(&mut self, cache: &mut BlockCache, pc: u32, hpa: u32) -> usize {
        let generation = self.mmu.frames.generation(hpa);
        let frame = hpa & !(PAGE_SIZE - 1);
        let paged = self.mmu.paged;
        let (slot, segments) = cache.fill(pc, hpa, generation, self.page(frame), paged);
        for (offset, bytes) in segments {
            self.mmu.frames.mark_code(frame + offset, bytes);
        }
        // The slot may have held a block the jump cache still names.
        self.mmu.tlb.bump();
        self.counters.blocks_decoded += 1;
        slot
    }
}
