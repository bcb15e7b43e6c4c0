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
use vmlab_isa::{AluOp, BranchCond, ImmOp, Instr, LoadOp, Reg, Width, decode};

use crate::cpu::SINK;

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

/// A predecoded instruction: registers as indexes into the register file
/// (writes to `r0` redirected to the sink), immediates sign-extended,
/// pc-relative values resolved.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Op {
    Alu {
        op: AluOp,
        d: u8,
        a: u8,
        b: u8,
    },
    Add {
        d: u8,
        a: u8,
        b: u8,
    },
    Sub {
        d: u8,
        a: u8,
        b: u8,
    },
    Addi {
        d: u8,
        a: u8,
        imm: u32,
    },
    Andi {
        d: u8,
        a: u8,
        imm: u32,
    },
    Ori {
        d: u8,
        a: u8,
        imm: u32,
    },
    Xori {
        d: u8,
        a: u8,
        imm: u32,
    },
    Slli {
        d: u8,
        a: u8,
        imm: u32,
    },
    Srli {
        d: u8,
        a: u8,
        imm: u32,
    },
    Srai {
        d: u8,
        a: u8,
        imm: u32,
    },
    Slti {
        d: u8,
        a: u8,
        imm: u32,
    },
    Sltiu {
        d: u8,
        a: u8,
        imm: u32,
    },
    /// `lui`, and `auipc` with the pc added at decode.
    Li {
        d: u8,
        value: u32,
    },
    Lw {
        d: u8,
        a: u8,
        off: u32,
    },
    Load {
        op: LoadOp,
        d: u8,
        a: u8,
        off: u32,
    },
    Sw {
        s: u8,
        a: u8,
        off: u32,
    },
    Store {
        width: Width,
        s: u8,
        a: u8,
        off: u32,
    },
    Beq {
        a: u8,
        b: u8,
        target: u32,
    },
    Bne {
        a: u8,
        b: u8,
        target: u32,
    },
    Blt {
        a: u8,
        b: u8,
        target: u32,
    },
    Bge {
        a: u8,
        b: u8,
        target: u32,
    },
    Bltu {
        a: u8,
        b: u8,
        target: u32,
    },
    Bgeu {
        a: u8,
        b: u8,
        target: u32,
    },
    Jal {
        d: u8,
        target: u32,
    },
    Jalr {
        d: u8,
        a: u8,
        off: u32,
    },
    /// `csrr`: may sit mid-block (reads instret exactly).
    Csrr {
        word: u32,
    },
    /// `getf`: may sit mid-block.
    Getf {
        word: u32,
    },
    /// Every other instruction: system instructions and illegal words. Always
    /// the last op of its block.
    System {
        word: u32,
    },
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
            value: imm << 12,
        },
        Instr::Auipc { rd, imm } => Op::Li {
            d: dst(rd),
            value: pc.wrapping_add(imm << 12),
        },
        Instr::Load { op, rd, rs1, off } => match op {
            LoadOp::Lw => Op::Lw {
                d: dst(rd),
                a: rs1.num(),
                off: off as u32,
            },
            op => Op::Load {
                op,
                d: dst(rd),
                a: rs1.num(),
                off: off as u32,
            },
        },
        Instr::Store {
            width,
            rs2,
            rs1,
            off,
        } => match width {
            Width::Word => Op::Sw {
                s: rs2.num(),
                a: rs1.num(),
                off: off as u32,
            },
            width => Op::Store {
                width,
                s: rs2.num(),
                a: rs1.num(),
                off: off as u32,
            },
        },
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
            off: off as u32,
        },
        Instr::Csrr { .. } => Op::Csrr { word },
        Instr::GetFlags { .. } => Op::Getf { word },
        _ => Op::System { word },
    }
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
    pub ops: Vec<Op>,
}

/// The direct-mapped block cache, indexed by host-physical address.
#[derive(Clone, Debug, Default)]
pub(crate) struct BlockCache {
    slots: Vec<Block>,
}

impl BlockCache {
    pub(crate) fn new() -> BlockCache {
        BlockCache {
            slots: vec![Block::default(); BLOCK_CACHE_SLOTS],
        }
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
        let b = self.slots.get(i)?;
        (b.valid && b.hpa == hpa && b.va == va && b.generation == generation).then_some(i)
    }

    /// Decodes the block at (`va`, `hpa`) from `code` (the rest of its page)
    /// into its slot, evicting what was there. Returns the slot and the
    /// number of bytes decoded.
    pub(crate) fn fill(&mut self, va: u32, hpa: u32, generation: u32, code: &[u8]) -> (usize, u32) {
        let i = Self::index(hpa);
        let b = &mut self.slots[i];
        b.va = va;
        b.hpa = hpa;
        b.generation = generation;
        b.valid = true;
        b.ops.clear();
        let mut pc = va;
        for (instr, w) in form_block(code).zip(code.chunks_exact(4)) {
            let word = u32::from_le_bytes([w[0], w[1], w[2], w[3]]);
            b.ops.push(predecode(instr, word, pc));
            pc = pc.wrapping_add(4);
        }
        (i, b.ops.len() as u32 * 4)
    }

    #[inline(always)]
    pub(crate) fn block(&self, slot: usize) -> &Block {
        &self.slots[slot]
    }

    /// Empties every slot.
    pub(crate) fn clear(&mut self) {
        for b in &mut self.slots {
            b.valid = false;
        }
    }
}
