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

use iced_x86::code_asm::{
    AsmRegister32, AsmRegister64, CodeAssembler, CodeLabel, al, ax, byte_ptr, dword_ptr, eax, edx,
    esi, qword_ptr, r14, r15, rax, rdx, rsi, word_ptr,
};
use vmlab_isa::{BranchCond, Instr, LoadOp, Width};

use crate::backend::BlockId;
use crate::ir::{BlockEnd, Op, Translation};

use super::{Ctx, Data, Gen, Mark, R, Tail, exit, off, pinned, pinned_host, reg_off};

/// Which copy of the body is being emitted.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Pass {
    /// The first copy, entered at the entry.
    Main,
    /// The copy slow paths of the first copy resume in (loop blocks only).
    Slow,
}

/// Where a guest address is.
#[derive(Clone, Copy)]
struct Addr {
    r32: AsmRegister32,
    r64: AsmRegister64,
    /// In a pinned register (not `esi`).
    pinned: bool,
}

/// Where a store's value is for the slow path's call (`edx`).
#[derive(Clone, Copy)]
pub(super) enum Value {
    /// In guest register `r`'s slot in the context.
    Slot(u8),
    /// In a pinned host register.
    Reg(AsmRegister32),
    /// Guest `r0`.
    Zero,
}

/// An out-of-line slow path.
pub(super) enum Slow {
    /// A group of word loads or stores off one pinned base whose combined
    /// check failed: each op checked on its own, then back to `done`.
    Group {
        at: CodeLabel,
        /// (index, instruction, where its slow path resumes: the second
        /// copy's next instruction, or none for right after it).
        ops: Vec<(usize, Instr, Option<CodeLabel>)>,
        done: CodeLabel,
    },
    /// A load's callback: `k` is the `LoadOp::ALL` index.
    Load {
        at: CodeLabel,
        /// The pinned register holding the address (else it is in `esi`).
        addr: Option<AsmRegister32>,
        k: usize,
        rd: u8,
        i: u32,
        resume: CodeLabel,
    },
    /// A store's callback: `w` indexes `store_fn`.
    Store {
        at: CodeLabel,
        /// The pinned register holding the address (else it is in `esi`).
        addr: Option<AsmRegister32>,
        w: usize,
        value: Value,
        i: u32,
        resume: CodeLabel,
    },
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

/// The compiled form of `t`: code bytes, entry offset, marks.
pub(super) fn generate(
    id: BlockId,
    t: &Translation,
    data: &Data,
    native: bool,
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
        if !native {
            g.leave_now(exit::PORTABLE)?;
            return g.tails();
        }
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
        let memory = t
            .ops
            .iter()
            .any(|o| matches!(o.op, Op::Guest(Instr::Load { .. } | Instr::Store { .. })));
        let slow_copy = if self_exit.contains(&true) && memory {
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
            } else if let Some(end) = group_end(t, i) {
                // The second copy keeps every op apart: slow paths resume
                // at a single op there.
                self.group(t, i, end, s)?;
                grouped = end;
                continue;
            }
            self.mark(Mark::Guest(i))?;
            let emitted = self.a.instructions().len();
            let next_pc = top.pc.wrapping_add(4);
            let Op::Guest(instr) = top.op else {
                unreachable!("non-native op in a native block")
            };
            // Where a slow path at instruction i resumes: in the second
            // copy when there is one (the first copy's back edge is only
            // exact while nothing called back), else right after it (the
            // next emitted instruction, of the next guest instruction or
            // the block end, takes the label).
            let resume = |g: &mut Gen<'_>| match s.slow_copy.get(i + 1) {
                Some(l) => (*l, false),
                None => (g.a.create_label(), true),
            };
            match instr {
                Instr::Alu { op, rd, rs1, rs2 } => {
                    self.alu(op, rd.num(), rs1.num(), rs2.num(), i32_)?
                }
                Instr::AluImm { op, rd, rs1, imm } => self.alu_imm(op, rd.num(), rs1.num(), imm)?,
                Instr::Lui { rd, imm } => self.set(rd.num(), imm << 12)?,
                Instr::Auipc { rd, imm } => self.set(rd.num(), top.pc.wrapping_add(imm << 12))?,
                Instr::Load {
                    op,
                    rd,
                    rs1,
                    off: o,
                } => {
                    let (mut resume, local) = resume(self);
                    self.load_op(op, rd.num(), rs1.num(), o, i32_, resume)?;
                    if local {
                        self.a.set_label(&mut resume)?;
                    }
                }
                Instr::Store {
                    width,
                    rs2,
                    rs1,
                    off: o,
                } => {
                    let (mut resume, local) = resume(self);
                    self.store_op(width, rs2.num(), rs1.num(), o, i32_, resume)?;
                    if local {
                        self.a.set_label(&mut resume)?;
                    }
                }
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

    /// Ops `i..end` (a group, see [`group_end`]) with one combined check:
    /// all aligned, in one page, in the identity window, and (stores) on a
    /// page whose watch byte is 0; then each op is one host instruction.
    /// When the check fails, the ops run checked one by one, out of line.
    fn group(&mut self, t: &Translation, i: usize, end: usize, s: &Shape) -> R {
        let ops: Vec<Instr> = t.ops[i..end]
            .iter()
            .map(|o| match o.op {
                Op::Guest(instr) => instr,
                _ => unreachable!("groups hold guest ops"),
            })
            .collect();
        let (base, offs) = group_shape(&ops);
        let Some(b) = pinned_host(base) else {
            unreachable!("groups use a pinned base")
        };
        let (lo, hi) = (
            offs.iter().copied().min().unwrap_or(0),
            offs.iter().copied().max().unwrap_or(0),
        );
        let stores = matches!(ops[0], Instr::Store { .. });
        let slow = self.a.create_label();
        let mut done = self.a.create_label();
        self.mark(Mark::Entry("group: one check for the loads/stores below"))?;
        self.a.lea(esi, dword_ptr(b.r64 + lo))?;
        self.a.test(esi, 3)?;
        self.a.jnz(slow)?;
        self.a.lea(eax, dword_ptr(b.r64 + hi))?;
        if !stores {
            self.a
                .cmp(eax, dword_ptr(r15 + off(offset_of!(Ctx, flat))))?;
            self.a.jae(slow)?;
        }
        if hi != lo {
            // One page (so no wrap, and one watch byte).
            self.a.xor(eax, esi)?;
            self.a.cmp(eax, 0xFFF)?;
            self.a.ja(slow)?;
        }
        if stores {
            self.a.mov(eax, esi)?;
            self.a.shr(eax, 12)?;
            self.a
                .add(rax, qword_ptr(r15 + off(offset_of!(Ctx, watch))))?;
            self.a.cmp(byte_ptr(rax), 0)?;
            self.a.jne(slow)?;
        }
        for (k, (instr, o)) in ops.iter().zip(&offs).enumerate() {
            self.mark(Mark::Guest(i + k))?;
            let m = dword_ptr(rdx + rsi + (o - lo));
            match *instr {
                Instr::Store { rs2, .. } => match pinned(rs2.num()) {
                    _ if rs2.num() == 0 => self.a.mov(m, 0)?,
                    Some(h) => self.a.mov(m, h)?,
                    None => {
                        self.a.mov(eax, dword_ptr(r15 + reg_off(rs2.num())))?;
                        self.a.mov(m, eax)?;
                    }
                },
                Instr::Load { rd, .. } => match pinned(rd.num()) {
                    _ if rd.num() == 0 => {}
                    Some(h) => self.a.mov(h, m)?,
                    None => {
                        self.a.mov(eax, m)?;
                        self.store(rd.num(), eax)?;
                    }
                },
                _ => unreachable!("groups hold loads and stores"),
            }
        }
        self.a.set_label(&mut done)?;
        let ops = ops
            .into_iter()
            .enumerate()
            .map(|(k, instr)| (i + k, instr, s.slow_copy.get(i + k + 1).copied()))
            .collect();
        self.slow.push(Slow::Group {
            at: slow,
            ops,
            done,
        });
        Ok(())
    }

    /// A guest address `rs1 + off`: in `rs1`'s host register when it is
    /// pinned and `off` is 0 (returned, for the slow path to copy into
    /// `esi`), else computed into `esi`.
    fn address(&mut self, rs1: u8, o: i32) -> Result<Addr, iced_x86::IcedError> {
        if rs1 == 0 {
            self.a.mov(esi, o as u32)?;
        } else if let Some(h) = pinned_host(rs1) {
            if o == 0 {
                return Ok(Addr {
                    r32: h.r32,
                    r64: h.r64,
                    pinned: true,
                });
            }
            self.a.lea(esi, dword_ptr(h.r64 + o))?;
        } else {
            self.a.mov(esi, dword_ptr(r15 + reg_off(rs1)))?;
            if o != 0 {
                self.a.add(esi, o)?;
            }
        }
        Ok(Addr {
            r32: esi,
            r64: rsi,
            pinned: false,
        })
    }

    /// Jumps to `slow` unless the address is aligned for `bytes`.
    fn align_check(&mut self, at: Addr, bytes: u32, slow: CodeLabel) -> R {
        if bytes > 1 {
            self.a.test(at.r32, bytes - 1)?;
            self.a.jnz(slow)?;
        }
        Ok(())
    }

    /// A load: guest RAM read directly in the identity window, the
    /// machine's load path out of line.
    fn load_op(&mut self, op: LoadOp, rd: u8, rs1: u8, o: i32, i: u32, resume: CodeLabel) -> R {
        let slow = self.a.create_label();
        let at = self.address(rs1, o)?;
        self.a
            .cmp(at.r32, dword_ptr(r15 + off(offset_of!(Ctx, flat))))?;
        self.a.jae(slow)?;
        self.align_check(at, op.width().bytes(), slow)?;
        let dst = pinned(rd).filter(|_| rd != 0).unwrap_or(eax);
        let m = rdx + at.r64;
        match op {
            LoadOp::Lw => self.a.mov(dst, dword_ptr(m))?,
            LoadOp::Lh => self.a.movsx(dst, word_ptr(m))?,
            LoadOp::Lhu => self.a.movzx(dst, word_ptr(m))?,
            LoadOp::Lb => self.a.movsx(dst, byte_ptr(m))?,
            LoadOp::Lbu => self.a.movzx(dst, byte_ptr(m))?,
        }
        if dst == eax {
            self.store(rd, eax)?;
        }
        let k = LoadOp::ALL.iter().position(|x| *x == op).unwrap_or(0);
        self.slow.push(Slow::Load {
            at: slow,
            addr: at.pinned.then_some(at.r32),
            k,
            rd,
            i,
            resume,
        });
        Ok(())
    }

    /// A store: guest RAM written directly in the identity window to a
    /// frame with no protection and no cached code (the interpreter's store
    /// fast path there), the machine's store path out of line.
    fn store_op(&mut self, width: Width, rs2: u8, rs1: u8, o: i32, i: u32, resume: CodeLabel) -> R {
        let slow = self.a.create_label();
        let at = self.address(rs1, o)?;
        let value = if rs2 == 0 {
            Value::Zero
        } else if let Some(h) = pinned(rs2) {
            Value::Reg(h)
        } else {
            Value::Slot(rs2)
        };
        // The watch bytes cover every page: no window check (a page past
        // RAM, or outside the identity window, is never ordinary).
        self.align_check(at, width.bytes(), slow)?;
        self.a.mov(eax, at.r32)?;
        self.a.shr(eax, 12)?;
        self.a
            .add(rax, qword_ptr(r15 + off(offset_of!(Ctx, watch))))?;
        self.a.cmp(byte_ptr(rax), 0)?;
        self.a.jne(slow)?;
        let h = pinned_host(rs2);
        match (width, value, h) {
            (Width::Byte, Value::Zero, _) => self.a.mov(byte_ptr(rdx + at.r64), 0)?,
            (Width::Half, Value::Zero, _) => self.a.mov(word_ptr(rdx + at.r64), 0)?,
            (Width::Word, Value::Zero, _) => self.a.mov(dword_ptr(rdx + at.r64), 0)?,
            (Width::Byte, Value::Reg(_), Some(h)) => self.a.mov(byte_ptr(rdx + at.r64), h.r8)?,
            (Width::Half, Value::Reg(_), Some(h)) => self.a.mov(word_ptr(rdx + at.r64), h.r16)?,
            (Width::Word, Value::Reg(_), Some(h)) => self.a.mov(dword_ptr(rdx + at.r64), h.r32)?,
            (width, _, _) => {
                // From its slot (eax is free again after the checks).
                let Value::Slot(r) = value else {
                    unreachable!("a value not in a register is in its slot")
                };
                self.a.mov(eax, dword_ptr(r15 + reg_off(r)))?;
                match width {
                    Width::Byte => self.a.mov(byte_ptr(rdx + at.r64), al)?,
                    Width::Half => self.a.mov(word_ptr(rdx + at.r64), ax)?,
                    Width::Word => self.a.mov(dword_ptr(rdx + at.r64), eax)?,
                }
            }
        }
        let w = match width {
            Width::Byte => 0,
            Width::Half => 1,
            Width::Word => 2,
        };
        self.slow.push(Slow::Store {
            at: slow,
            addr: at.pinned.then_some(at.r32),
            w,
            value,
            i,
            resume,
        });
        Ok(())
    }

    /// The out-of-line slow paths, after the body.
    fn slow_paths(&mut self) -> R {
        // Emitting a group's checked ops adds their own slow paths.
        while !self.slow.is_empty() {
            self.slow_batch()?;
        }
        Ok(())
    }

    fn slow_batch(&mut self) -> R {
        for s in std::mem::take(&mut self.slow) {
            match s {
                Slow::Group { mut at, ops, done } => {
                    self.a.set_label(&mut at)?;
                    for (i, instr, resume) in ops {
                        self.mark(Mark::Guest(i))?;
                        let (mut resume, local) = match resume {
                            Some(l) => (l, false),
                            None => (self.a.create_label(), true),
                        };
                        match instr {
                            Instr::Load {
                                op,
                                rd,
                                rs1,
                                off: o,
                            } => self.load_op(op, rd.num(), rs1.num(), o, i as u32, resume)?,
                            Instr::Store {
                                width,
                                rs2,
                                rs1,
                                off: o,
                            } => self.store_op(width, rs2.num(), rs1.num(), o, i as u32, resume)?,
                            _ => unreachable!("only loads and stores are grouped"),
                        }
                        if local {
                            self.a.set_label(&mut resume)?;
                        }
                    }
                    self.a.jmp(done)?;
                }
                Slow::Load {
                    mut at,
                    addr,
                    k,
                    rd,
                    i,
                    resume,
                } => {
                    self.a.set_label(&mut at)?;
                    if let Some(r) = addr {
                        self.a.mov(esi, r)?;
                    }
                    self.call(k, "load (outside the window)")?;
                    self.a.bt(rax, 32)?;
                    self.leave_if(
                        CodeAssembler::jc,
                        Tail::Leave {
                            code: exit::STOP,
                            done: i,
                            op: i,
                        },
                    )?;
                    self.store(rd, eax)?;
                    self.a.jmp(resume)?;
                }
                Slow::Store {
                    mut at,
                    addr,
                    w,
                    value,
                    i,
                    resume,
                } => {
                    self.a.set_label(&mut at)?;
                    if let Some(r) = addr {
                        self.a.mov(esi, r)?;
                    }
                    match value {
                        Value::Slot(r) => self.a.mov(edx, dword_ptr(r15 + reg_off(r)))?,
                        Value::Reg(h) => self.a.mov(edx, h)?,
                        Value::Zero => self.a.xor(edx, edx)?,
                    }
                    self.call(5 + w, "store")?;
                    self.a.test(eax, eax)?;
                    self.a.jz(resume)?;
                    self.a.cmp(eax, 1)?;
                    self.leave_if(
                        CodeAssembler::je,
                        Tail::Leave {
                            code: exit::CUT,
                            done: i + 1,
                            op: i,
                        },
                    )?;
                    self.leave_if(
                        CodeAssembler::jmp,
                        Tail::Leave {
                            code: exit::STOP,
                            done: i,
                            op: i,
                        },
                    )?;
                }
            }
        }
        Ok(())
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

/// The end (exclusive) of the group of ops starting at `i`, if there is one:
/// two or more consecutive word loads (or word stores) off the same pinned
/// base register, none loading into the base, offsets within 2 KiB and all
/// congruent modulo 4 (so one alignment check covers them all).
fn group_end(t: &Translation, i: usize) -> Option<usize> {
    let word = |k: usize| -> Option<(bool, u8, u8, i32)> {
        match t.ops.get(k)?.op {
            Op::Guest(Instr::Load {
                op: LoadOp::Lw,
                rd,
                rs1,
                off,
            }) => Some((false, rs1.num(), rd.num(), off)),
            Op::Guest(Instr::Store {
                width: Width::Word,
                rs1,
                off,
                ..
            }) => Some((true, rs1.num(), 0, off)),
            _ => None,
        }
    };
    let (stores, base, _, first) = word(i)?;
    let fits = |(s, b, d, o): (bool, u8, u8, i32)| {
        s == stores
            && b == base
            && (s || d != base)
            && (-2048..2048).contains(&o)
            && (o - first) % 4 == 0
    };
    if base == 0 || pinned(base).is_none() || !fits(word(i)?) {
        return None;
    }
    let mut end = i + 1;
    while word(end).is_some_and(fits) {
        end += 1;
    }
    (end - i >= 2).then_some(end)
}

/// The base register and offsets of a group's ops.
fn group_shape(ops: &[Instr]) -> (u8, Vec<i32>) {
    let mut base = 0;
    let offs = ops
        .iter()
        .map(|i| match *i {
            Instr::Load { rs1, off, .. } | Instr::Store { rs1, off, .. } => {
                base = rs1.num();
                off
            }
            _ => 0,
        })
        .collect();
    (base, offs)
}
