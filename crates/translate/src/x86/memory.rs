//! Loads and stores in generated code: the inline fast paths, runs of them
//! sharing one check, and the out-of-line slow paths into Rust.

use std::mem::offset_of;

use iced_x86::code_asm::{
    AsmRegister32, AsmRegister64, CodeAssembler, CodeLabel, al, ax, byte_ptr, dword_ptr, eax, edx,
    esi, qword_ptr, r15, rax, rdx, rsi, word_ptr,
};
use vmlab_isa::{Instr, LoadOp, Width};

use crate::ir::{Op, Translation};

use super::{Ctx, Gen, Mark, R, Tail, exit, off, pinned, pinned_host, reg_off};

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

impl Gen<'_> {
    /// Ops `i..end` (a group, see [`group_end`]) with one combined check:
    /// all aligned, in one page, in the identity window, and (stores) on a
    /// page whose watch byte is 0; then each op is one host instruction.
    /// When the check fails, the ops run checked one by one, out of line.
    pub(super) fn group(
        &mut self,
        t: &Translation,
        i: usize,
        end: usize,
        slow_copy: &[CodeLabel],
    ) -> R {
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
            .map(|(k, instr)| (i + k, instr, slow_copy.get(i + k + 1).copied()))
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

    /// Load or store `instr` (op `i`) checked on its own. Its slow path
    /// resumes at `resume` (the second copy's next instruction), or with
    /// none, right after it (the next emitted instruction, of the next guest
    /// instruction or the block end, takes the label).
    pub(super) fn mem_op(&mut self, instr: Instr, i: usize, resume: Option<CodeLabel>) -> R {
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
            _ => unreachable!("only loads and stores"),
        }
        if local {
            self.a.set_label(&mut resume)?;
        }
        Ok(())
    }

    /// The out-of-line slow paths, after the body.
    pub(super) fn slow_paths(&mut self) -> R {
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
                        self.mem_op(instr, i, resume)?;
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

/// The end (exclusive) of the group of ops starting at `i`, if there is one:
/// two or more consecutive word loads (or word stores) off the same pinned
/// base register, none loading into the base, offsets within 2 KiB and all
/// congruent modulo 4 (so one alignment check covers them all).
pub(super) fn group_end(t: &Translation, i: usize) -> Option<usize> {
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
