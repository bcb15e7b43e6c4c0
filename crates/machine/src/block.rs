//! Basic blocks: formation (shared by every engine, so they count the same
//! events), the interpreter's predecoded form, and the block cache.
//!
//! A block starts at a pc and runs to the first instruction for which
//! [`Instr::ends_block`] holds, the end of the page, or [`MAX_BLOCK`]
//! instructions. Blocks are cached by host-physical address *and* the virtual
//! address they were decoded at (pc-relative values are resolved at decode),
//! and die when their frame's code generation changes (a store or host write
//! to a line holding code).

use vmlab_isa::paging::PAGE_SIZE;
use vmlab_isa::{Access, AluOp, BranchCond, Exception, ImmOp, Instr, LoadOp, Reg, Width, decode};

use crate::cpu::SINK;
use crate::exec::{Stop, with_addr};
use crate::machine::Machine;
use crate::threaded::{
    GROUP_MAX, TOp, end_op, lower, lower_group, lower_indexed, lower_last, lower_pair,
};
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

/// A predecoded instruction, the step between decoding and the threaded
/// ops (`threaded::lower`): one variant per operation, registers as indexes
/// into the register file (writes to `r0` redirected to the sink),
/// immediates sign-extended, pc-relative values resolved. Register-register
/// ops name `d`, `a`, `b`; register-immediate ops and loads `d`, `a`, `imm`;
/// stores `s` (the register stored), `a`, `imm`; branches `a`, `b` and the
/// resolved `target`. Eight bytes.
#[rustfmt::skip]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Op {
    Add { d: u8, a: u8, b: u8 },
    Sub { d: u8, a: u8, b: u8 },
    And { d: u8, a: u8, b: u8 },
    Or { d: u8, a: u8, b: u8 },
    Xor { d: u8, a: u8, b: u8 },
    Sll { d: u8, a: u8, b: u8 },
    Srl { d: u8, a: u8, b: u8 },
    Sra { d: u8, a: u8, b: u8 },
    Slt { d: u8, a: u8, b: u8 },
    Sltu { d: u8, a: u8, b: u8 },
    Mul { d: u8, a: u8, b: u8 },
    /// The other ALU ops (high multiplies, divisions: may trap).
    Alu { op: AluOp, d: u8, a: u8, b: u8 },
    Addi { d: u8, a: u8, imm: u32 },
    Andi { d: u8, a: u8, imm: u32 },
    Ori { d: u8, a: u8, imm: u32 },
    Xori { d: u8, a: u8, imm: u32 },
    Slli { d: u8, a: u8, imm: u32 },
    Srli { d: u8, a: u8, imm: u32 },
    Srai { d: u8, a: u8, imm: u32 },
    Slti { d: u8, a: u8, imm: u32 },
    Sltiu { d: u8, a: u8, imm: u32 },
    /// `lui`, and `auipc` with the pc added at decode.
    Li { d: u8, imm: u32 },
    Lw { d: u8, a: u8, imm: u32 },
    Lh { d: u8, a: u8, imm: u32 },
    Lhu { d: u8, a: u8, imm: u32 },
    Lb { d: u8, a: u8, imm: u32 },
    Lbu { d: u8, a: u8, imm: u32 },
    Sw { s: u8, a: u8, imm: u32 },
    Sh { s: u8, a: u8, imm: u32 },
    Sb { s: u8, a: u8, imm: u32 },
    Beq { a: u8, b: u8, target: u32 },
    Bne { a: u8, b: u8, target: u32 },
    Blt { a: u8, b: u8, target: u32 },
    Bge { a: u8, b: u8, target: u32 },
    Bltu { a: u8, b: u8, target: u32 },
    Bgeu { a: u8, b: u8, target: u32 },
    Jal { d: u8, target: u32 },
    Jalr { d: u8, a: u8, imm: u32 },
    /// A loop closer: `addi d, a, imm` (or `add d, a, b`) fused with the
    /// block's last op, a branch back to the block's start that compares
    /// `d` (the value just computed) with `c`. `kind`: the branch condition
    /// (0..6: `BranchCond` order), plus 6 for the `add` form.
    Closer { d: u8, a: u8, b: u8, c: u8, imm: i16, kind: u8 },
    /// `csrr`: may sit mid-block (reads instret exactly).
    Csrr { word: u32 },
    /// `getf`: may sit mid-block.
    Getf { word: u32 },
    /// Every other instruction: system instructions and illegal words. Always
    /// the last op of its block.
    System { word: u32 },
}

/// The loop closer for a block's last two ops, if they close a loop: an
/// `addi`/`add` whose result the final branch (back to the block's start
/// `va`) compares.
fn fuse_loop(first: Op, last: Op, va: u32) -> Option<Op> {
    let (x, c, target) = match last {
        Op::Beq { a, b, target }
        | Op::Bne { a, b, target }
        | Op::Blt { a, b, target }
        | Op::Bge { a, b, target }
        | Op::Bltu { a, b, target }
        | Op::Bgeu { a, b, target } => (a, b, target),
        _ => return None,
    };
    if target != va || c == x {
        return None;
    }
    let cond = match last {
        Op::Beq { .. } => 0,
        Op::Bne { .. } => 1,
        Op::Blt { .. } => 2,
        Op::Bge { .. } => 3,
        Op::Bltu { .. } => 4,
        _ => 5,
    };
    match first {
        Op::Addi { d, a, imm } if d == x => Some(Op::Closer {
            d,
            a,
            b: 0,
            c,
            imm: i16::try_from(imm as i32).ok()?,
            kind: cond,
        }),
        Op::Add { d, a, b } if d == x => Some(Op::Closer {
            d,
            a,
            b,
            c,
            imm: 0,
            kind: 6 + cond,
        }),
        _ => None,
    }
}

/// A destination register index: `r0` becomes the sink.
fn dst(r: Reg) -> u8 {
    if r.num() == 0 { SINK } else { r.num() }
}

/// Predecodes `instr` at virtual address `pc`.
pub(crate) fn predecode(instr: Instr, word: u32, pc: u32) -> Op {
    match instr {
        Instr::Alu { op, rd, rs1, rs2 } => {
            let (d, a, b) = (dst(rd), rs1.num(), rs2.num());
            match op {
                AluOp::Add => Op::Add { d, a, b },
                AluOp::Sub => Op::Sub { d, a, b },
                AluOp::And => Op::And { d, a, b },
                AluOp::Or => Op::Or { d, a, b },
                AluOp::Xor => Op::Xor { d, a, b },
                AluOp::Sll => Op::Sll { d, a, b },
                AluOp::Srl => Op::Srl { d, a, b },
                AluOp::Sra => Op::Sra { d, a, b },
                AluOp::Slt => Op::Slt { d, a, b },
                AluOp::Sltu => Op::Sltu { d, a, b },
                AluOp::Mul => Op::Mul { d, a, b },
                op => Op::Alu { op, d, a, b },
            }
        }
        Instr::AluImm { op, rd, rs1, imm } => {
            let (d, a, imm) = (dst(rd), rs1.num(), imm as u32);
            match op {
                ImmOp::Add => Op::Addi { d, a, imm },
                ImmOp::And => Op::Andi { d, a, imm },
                ImmOp::Or => Op::Ori { d, a, imm },
                ImmOp::Xor => Op::Xori { d, a, imm },
                ImmOp::Sll => Op::Slli { d, a, imm },
                ImmOp::Srl => Op::Srli { d, a, imm },
                ImmOp::Sra => Op::Srai { d, a, imm },
                ImmOp::Slt => Op::Slti { d, a, imm },
                ImmOp::Sltu => Op::Sltiu { d, a, imm },
            }
        }
        Instr::Lui { rd, imm } => Op::Li {
            d: dst(rd),
            imm: imm << 12,
        },
        Instr::Auipc { rd, imm } => Op::Li {
            d: dst(rd),
            imm: pc.wrapping_add(imm << 12),
        },
        Instr::Load { op, rd, rs1, off } => {
            let (d, a, imm) = (dst(rd), rs1.num(), off as u32);
            match op {
                LoadOp::Lw => Op::Lw { d, a, imm },
                LoadOp::Lh => Op::Lh { d, a, imm },
                LoadOp::Lhu => Op::Lhu { d, a, imm },
                LoadOp::Lb => Op::Lb { d, a, imm },
                LoadOp::Lbu => Op::Lbu { d, a, imm },
            }
        }
        Instr::Store {
            width,
            rs2,
            rs1,
            off,
        } => {
            let (s, a, imm) = (rs2.num(), rs1.num(), off as u32);
            match width {
                Width::Word => Op::Sw { s, a, imm },
                Width::Half => Op::Sh { s, a, imm },
                Width::Byte => Op::Sb { s, a, imm },
            }
        }
        Instr::Branch {
            cond,
            rs1,
            rs2,
            off,
        } => {
            // Offsets are multiples of 4 from an aligned pc: the target is
            // aligned, so its fetch needs no alignment check.
            let (a, b, target) = (rs1.num(), rs2.num(), pc.wrapping_add(off as u32));
            match cond {
                BranchCond::Eq => Op::Beq { a, b, target },
                BranchCond::Ne => Op::Bne { a, b, target },
                BranchCond::Lt => Op::Blt { a, b, target },
                BranchCond::Ge => Op::Bge { a, b, target },
                BranchCond::Ltu => Op::Bltu { a, b, target },
                BranchCond::Geu => Op::Bgeu { a, b, target },
            }
        }
        Instr::Jal { rd, off } => Op::Jal {
            d: dst(rd),
            target: pc.wrapping_add(off as u32),
        },
        Instr::Jalr { rd, rs1, off } => Op::Jalr {
            d: dst(rd),
            a: rs1.num(),
            imm: off as u32,
        },
        Instr::Csrr { .. } => Op::Csrr { word },
        Instr::GetFlags { .. } => Op::Getf { word },
        _ => Op::System { word },
    }
}

const _: () = assert!(std::mem::size_of::<Op>() == 8);

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

/// A decoded instruction of a block being built: its op and pc.
#[derive(Clone, Copy)]
struct Decoded {
    op: Op,
    pc: u32,
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
    /// (`va`, `hpa`) in code generation `generation`.
    #[inline(always)]
    pub(crate) fn lookup(&self, va: u32, hpa: u32, generation: u32) -> Option<usize> {
        let i = Self::index(hpa);
        let b = &self.slots[i];
        (b.valid && b.hpa == hpa && b.va == va && b.generation == generation).then_some(i)
    }

    /// Decodes the block at (`va`, `hpa`) from `code` (the rest of its page)
    /// into its slot, evicting what was there. Returns the slot and the
    /// number of bytes decoded.
    pub(crate) fn fill(&mut self, va: u32, hpa: u32, generation: u32, code: &[u8]) -> (usize, u32) {
        if self.used + SCRATCH > SCRATCH_AT {
            // Start afresh. (The caller bumps the epoch after every fill, so
            // no jump-cache entry survives either.)
            self.clear();
        }
        let start = self.used;
        let (ops, len) = self.lower_block(start, va, code, MAX_BLOCK, true);
        self.used += ops;
        let i = Self::index(hpa);
        self.slots[i] = Block {
            va,
            hpa,
            generation,
            valid: true,
            loc: Loc {
                start: start as u16,
                len: len as u16,
            },
        };
        (i, len as u32 * 4)
    }

    /// Lowers the first `limit` instructions of the block at `va` (its
    /// bytes `code`) into the scratch area, unfused, ending with a plain
    /// fall-through: for a pass that must stop part-way. Returns its first op.
    pub(crate) fn fill_partial(&mut self, va: u32, code: &[u8], limit: usize) -> usize {
        self.lower_block(SCRATCH_AT, va, code, limit.min(MAX_BLOCK), false);
        SCRATCH_AT
    }

    /// Decodes up to `limit` instructions of the block at `va` and writes
    /// their threaded ops at arena index `at`, fusing a loop closer if
    /// `fuse`. Returns (ops written, instructions).
    fn lower_block(
        &mut self,
        at: usize,
        va: u32,
        code: &[u8],
        limit: usize,
        fuse: bool,
    ) -> (usize, usize) {
        let mut decoded = [Decoded {
            op: Op::System { word: 0 },
            pc: 0,
        }; MAX_BLOCK];
        let mut n = 0;
        let mut pc = va;
        for (instr, w) in form_block(code).zip(code.chunks_exact(4)).take(limit) {
            let word = u32::from_le_bytes([w[0], w[1], w[2], w[3]]);
            decoded[n] = Decoded {
                op: predecode(instr, word, pc),
                pc,
            };
            n += 1;
            pc = pc.wrapping_add(4);
        }
        let mut ops = &mut decoded[..n];
        if fuse && n >= 2 {
            if let Some(fused) = fuse_loop(ops[n - 2].op, ops[n - 1].op, va) {
                ops[n - 2] = Decoded {
                    op: fused,
                    pc: ops[n - 1].pc,
                };
                ops = &mut decoded[..n - 1];
            }
        }
        let count = |d: &Decoded| (d.pc.wrapping_sub(va) / 4 + 1) as u8;
        let mut k = at;
        // Ops up to here are members of a group whose header is written.
        let mut grouped = 0;
        let mut i = 0;
        while i < ops.len() {
            let first = ops[i];
            if fuse && i >= grouped {
                let run = ops[i..]
                    .iter()
                    .take_while(|d| same_group(first.op, d.op))
                    .take(GROUP_MAX)
                    .count();
                let members: Vec<Op> = ops[i..i + run].iter().map(|d| d.op).collect();
                if let Some(header) = lower_group(&members) {
                    self.arena[k] = header;
                    k += 1;
                    grouped = i + run;
                }
            }
            let pair = match ops.get(i + 1) {
                Some(second) if fuse && i + 1 >= grouped => {
                    // An add that addresses the op after it fuses with that
                    // op rather than with the one before.
                    let addresses_next = ops.get(i + 2).is_some_and(|third| {
                        lower_indexed(second.op, third.op, third.pc, 0).is_some()
                    });
                    lower_indexed(first.op, second.op, second.pc, count(second))
                        .or_else(|| {
                            lower_last(Some(first.op), second.op, second.pc, count(second), at)
                        })
                        .or_else(|| {
                            (!addresses_next)
                                .then(|| lower_pair(first.op, second.op))
                                .flatten()
                        })
                }
                _ => None,
            };
            self.arena[k] = match pair {
                Some(op) => {
                    i += 2;
                    op
                }
                None => {
                    i += 1;
                    lower(first.op, first.pc, count(&first), at)
                }
            };
            k += 1;
        }
        let last = ops.last().map(|d| d.op);
        if !last.is_some_and(ends_pass) {
            // Falls through: to the instruction after the last one.
            let pc = va.wrapping_add(4 * n as u32).wrapping_sub(4);
            self.arena[k] = end_op(pc, n as u8);
            k += 1;
        }
        (k - at, n)
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

/// True when `op` can join a group that `first` starts: word loads (that
/// do not write their base) or word stores, off the same base register.
fn same_group(first: Op, op: Op) -> bool {
    match (first, op) {
        (Op::Lw { a, .. }, Op::Lw { d, a: b, .. }) => a == b && d != b,
        (Op::Sw { a, .. }, Op::Sw { a: b, .. }) => a == b,
        _ => false,
    }
}

/// True for the ops that leave their block (no end op follows them).
fn ends_pass(op: Op) -> bool {
    matches!(
        op,
        Op::Beq { .. }
            | Op::Bne { .. }
            | Op::Blt { .. }
            | Op::Bge { .. }
            | Op::Bltu { .. }
            | Op::Bgeu { .. }
            | Op::Jal { .. }
            | Op::Jalr { .. }
            | Op::System { .. }
            | Op::Closer { .. }
    )
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
            if let Some(slot) = cache.lookup(pc, hpa, generation) {
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
        match cache.lookup(pc, hpa, generation) {
            Some(slot) => Ok(slot),
            None => Ok(self.decode_block(cache, pc, hpa)),
        }
    }

    #[cold]
    fn decode_block(&mut self, cache: &mut BlockCache, pc: u32, hpa: u32) -> usize {
        let generation = self.mmu.frames.generation(hpa);
        let start = hpa as usize;
        let end = start + page_rest(hpa) as usize;
        let code = &self.mmu.ram.as_bytes()[start..end];
        let (slot, bytes) = cache.fill(pc, hpa, generation, code);
        self.mmu.frames.mark_code(hpa, bytes);
        // The slot may have held a block the jump cache still names.
        self.mmu.tlb.bump();
        self.counters.blocks_decoded += 1;
        slot
    }
}
