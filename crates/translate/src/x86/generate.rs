//! Lowering one translated block to host code.
//!
//! Layout: the entry (room check), the body with only fast paths inline,
//! then (for a block that loops back to its own start and holds a load or
//! store) a second copy of the body, then the out-of-line load/store slow
//! paths, the exits and the stubs their links start at.
//!
//! The second copy is what lets a loop's back edge be a plain branch to the
//! entry: that is exact only while nothing called back into Rust since the
//! block was entered (a callback may fill the TLB and so start a new chain
//! epoch, after which the block must be validated again). So a slow path in
//! the first copy resumes in the second copy, whose back edge goes through
//! the link, which a new epoch has sent back to its stub.

use std::mem::offset_of;

use iced_x86::code_asm::{CodeAssembler, CodeLabel, dword_ptr, eax, r14, r15};
use vmlab_isa::{BranchCond, Instr};

use crate::backend::BlockId;
use crate::ir::{BlockEnd, Op, Translation};

use super::{Ctx, Data, Gen, Mark, R, Tail, exit, memory, off};

/// Which copy of the body is being emitted.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Pass {
    /// The first copy, entered at the entry.
    Main,
    /// The copy slow paths of the first copy resume in (loop blocks only).
    Slow,
}

/// What the body emitter needs to know about the block.
struct Shape {
    n: u32,
    /// Direct exit `k` goes back to the block's own start.
    self_exit: [bool; 2],
    /// The entry (room check), where a back edge lands.
    entry: CodeLabel,
    /// The second copy's label per instruction (empty: no second copy).
    slow_copy: Vec<CodeLabel>,
    indirect_caches: bool,
}

/// The compiled form of `t` (every op of which runs as host code: see
/// `native_op`): code bytes, entry offset, marks.
pub(super) fn generate(
    id: BlockId,
    t: &Translation,
    data: &Data,
    indirect_caches: bool,
) -> Result<Generated, String> {
    let a = CodeAssembler::new(64).map_err(|e| e.to_string())?;
    let mut g = Gen {
        a,
        id: id as u32,
        data,
        tails: Vec::new(),
        slow: Vec::new(),
        marks: Vec::new(),
        stubs: [None; 2],
        ic_stub: None,
    };
    let mut entry = g.a.create_label();
    (|| -> R {
        let n = t.len() as u32;
        g.a.set_label(&mut entry)?;
        g.mark(Mark::Entry(
            "entry: whole block before the next event check?",
        ))?;
        g.a.cmp(r14, n as i32)?;
        g.leave_if(
            CodeAssembler::jb,
            Tail::Leave {
                code: exit::ROOM,
                done: 0,
                op: 0,
            },
        )?;
        let exits = t.direct_exits();
        let self_exit = [0, 1].map(|k| exits.get(k) == Some(&t.va));
        let loads_or_stores = t
            .ops
            .iter()
            .any(|o| matches!(o.op, Op::Guest(Instr::Load { .. } | Instr::Store { .. })));
        let slow_copy = if self_exit.contains(&true) && loads_or_stores {
            (0..n).map(|_| g.a.create_label()).collect()
        } else {
            Vec::new()
        };
        let mut shape = Shape {
            n,
            self_exit,
            entry,
            slow_copy,
            indirect_caches,
        };
        g.body(t, &mut shape, Pass::Main)?;
        if !shape.slow_copy.is_empty() {
            g.mark(Mark::Entry(
                "second copy: resumed in after a callback (back edge through the link)",
            ))?;
            g.body(t, &mut shape, Pass::Slow)?;
        }
        g.slow_paths()?;
        g.tails()
    })()
    .map_err(|e| e.to_string())?;
    let result =
        g.a.assemble_options(
            0,
            iced_x86::BlockEncoderOptions::RETURN_NEW_INSTRUCTION_OFFSETS,
        )
        .map_err(|e| e.to_string())?;
    let entry_off = result.label_ip(&entry).map_err(|e| e.to_string())?;
    let ip = |l: &Option<CodeLabel>| -> Result<Option<u64>, String> {
        l.as_ref()
            .map(|l| result.label_ip(l).map_err(|e| e.to_string()))
            .transpose()
    };
    let stubs = [ip(&g.stubs[0])?, ip(&g.stubs[1])?];
    let ic_stub = ip(&g.ic_stub)?;
    let mut marks = Vec::new();
    let offsets = &result.inner.new_instruction_offsets;
    for (i, m) in &g.marks {
        if let Some(&o) = offsets.get(*i) {
            marks.push((u64::from(o), m.clone()));
        }
    }
    marks.sort_by_key(|(o, _)| *o);
    Ok(Generated {
        bytes: result.inner.code_buffer,
        entry: entry_off,
        marks,
        stubs,
        ic_stub,
    })
}

impl Gen<'_> {
    /// One copy of the block's body. The second copy starts at instruction
    /// 1: slow paths resume after the instruction that took them.
    fn body(&mut self, t: &Translation, s: &mut Shape, pass: Pass) -> R {
        let n = s.n;
        let first = if pass == Pass::Slow { 1 } else { 0 };
        // Ops up to here were emitted as part of a group.
        let mut grouped = 0;
        for (i, top) in t.ops.iter().enumerate().skip(first) {
            let i32_ = i as u32;
            if i < grouped {
                continue;
            }
            if pass == Pass::Slow {
                self.a.set_label(&mut s.slow_copy[i])?;
            } else if let Some(end) = memory::group_end(t, i) {
                // The second copy keeps every op apart: slow paths resume
                // at a single op there.
                self.group(t, i, end, &s.slow_copy)?;
                grouped = end;
                continue;
            }
            self.mark(Mark::Guest(i))?;
            let emitted = self.a.instructions().len();
            let next_pc = top.pc.wrapping_add(4);
            let Op::Guest(instr) = top.op else {
                unreachable!("non-native op in a native block")
            };
            // A slow path at instruction i resumes in the second copy when
            // there is one (the first copy's back edge is only exact while
            // nothing called back), else right after it.
            let resume = s.slow_copy.get(i + 1).copied();
            match instr {
                Instr::Alu { op, rd, rs1, rs2 } => {
                    self.alu(op, rd.num(), rs1.num(), rs2.num(), i32_)?
                }
                Instr::AluImm { op, rd, rs1, imm } => self.alu_imm(op, rd.num(), rs1.num(), imm)?,
                Instr::Lui { rd, imm } => self.set(rd.num(), imm << 12)?,
                Instr::Auipc { rd, imm } => self.set(rd.num(), top.pc.wrapping_add(imm << 12))?,
                Instr::Load { .. } | Instr::Store { .. } => self.mem_op(instr, i, resume)?,
                Instr::Branch { cond, rs1, rs2, .. } => {
                    self.retire(n)?;
                    self.compare(rs1.num(), rs2.num())?;
                    // A loop's back edge in the first copy branches straight
                    // to the entry; every other edge to its exit.
                    let back = s.self_exit[0] && pass == Pass::Main;
                    let mut taken = if back { s.entry } else { self.a.create_label() };
                    if back {
                        self.mark(Mark::Chain(0))?;
                    }
                    match cond {
                        BranchCond::Eq => self.a.je(taken)?,
                        BranchCond::Ne => self.a.jne(taken)?,
                        BranchCond::Lt => self.a.jl(taken)?,
                        BranchCond::Ge => self.a.jge(taken)?,
                        BranchCond::Ltu => self.a.jb(taken)?,
                        BranchCond::Geu => self.a.jae(taken)?,
                    }
                    self.exit_to(1, s, pass)?;
                    if !back {
                        self.a.set_label(&mut taken)?;
                        self.exit_to(0, s, pass)?;
                    }
                }
                Instr::Jal { rd, .. } => {
                    self.set(rd.num(), next_pc)?;
                    self.retire(n)?;
                    self.exit_to(0, s, pass)?;
                }
                Instr::Jalr { rd, rs1, off: o } => {
                    self.load(eax, rs1.num())?;
                    if o != 0 {
                        self.a.add(eax, o)?;
                    }
                    self.set(rd.num(), next_pc)?;
                    self.retire(n)?;
                    if s.indirect_caches {
                        self.indirect_exit()?;
                    } else {
                        self.a.mov(dword_ptr(r15 + off(offset_of!(Ctx, pc))), eax)?;
                        self.leave_now(exit::INDIRECT)?;
                    }
                }
                _ => unreachable!("non-native instruction in a native block"),
            }
            if pass == Pass::Slow && self.a.instructions().len() == emitted {
                // An op with no host code (a write to r0, `addi x, x, 0`):
                // its label needs an instruction of its own, the next op's
                // label being another.
                self.a.nop()?;
            }
        }
        if let BlockEnd::FallThrough { .. } = t.end {
            self.retire(n)?;
            self.chain_exit(0)?;
        }
        Ok(())
    }

    /// Direct exit `k`: a loop's back edge in the first copy jumps straight
    /// to the entry (an exit to the block's own start is chained from the
    /// start, as in the portable backend); everything else goes through the
    /// link.
    fn exit_to(&mut self, k: usize, s: &Shape, pass: Pass) -> R {
        if !(s.self_exit[k] && pass == Pass::Main) {
            return self.chain_exit(k);
        }
        self.mark(Mark::Chain(k))?;
        self.a.jmp(s.entry)
    }
}

pub(super) struct Generated {
    pub(super) bytes: Vec<u8>,
    pub(super) entry: u64,
    pub(super) marks: Vec<(u64, Mark)>,
    /// Offsets of the direct exits' stubs and the inline cache's.
    pub(super) stubs: [Option<u64>; 2],
    pub(super) ic_stub: Option<u64>,
}
