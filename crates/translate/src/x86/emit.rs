//! The code generator's emitters: guest register access, exits and
//! tails, callbacks, comparisons and ALU lowering.

use std::mem::offset_of;

use iced_x86::code_asm::{
    AsmRegister32, CodeAssembler, CodeLabel, dword_ptr, eax, ecx, edx, qword_ptr, r14, r15, rax,
    rcx, rdi, rdx,
};
use vmlab_isa::{AluOp, ImmOp};

use super::{Ctx, Data, Gen, Ic, Link, Mark, PINNED, R, Tail, exit, off, pinned, reg_off};

impl Gen<'_> {
    pub(super) fn load(&mut self, dst: AsmRegister32, r: u8) -> R {
        if r == 0 {
            self.a.xor(dst, dst)
        } else if let Some(h) = pinned(r) {
            self.a.mov(dst, h)
        } else {
            self.a.mov(dst, dword_ptr(r15 + reg_off(r)))
        }
    }

    pub(super) fn store(&mut self, r: u8, src: AsmRegister32) -> R {
        if r == 0 {
            Ok(())
        } else if let Some(h) = pinned(r) {
            self.a.mov(h, src)
        } else {
            self.a.mov(dword_ptr(r15 + reg_off(r)), src)
        }
    }

    /// `r = value`.
    pub(super) fn set(&mut self, r: u8, value: u32) -> R {
        if r == 0 {
            Ok(())
        } else if let Some(h) = pinned(r) {
            self.a.mov(h, value)
        } else {
            self.a.mov(dword_ptr(r15 + reg_off(r)), value)
        }
    }

    /// Saves (or restores) the caller-saved pinned registers around a
    /// callback.
    fn save_pinned(&mut self, restore: bool) -> R {
        for (g, h, callee) in PINNED {
            if !callee {
                if restore {
                    self.a.mov(h.r32, dword_ptr(r15 + reg_off(g)))?;
                } else {
                    self.a.mov(dword_ptr(r15 + reg_off(g)), h.r32)?;
                }
            }
        }
        Ok(())
    }

    pub(super) fn mark(&mut self, m: Mark) -> R {
        self.marks.push((self.a.instructions().len(), m));
        Ok(())
    }

    /// Retires `n` instructions (no flags are needed after it).
    pub(super) fn retire(&mut self, n: u32) -> R {
        if n > 0 {
            self.a.sub(r14, n as i32)?;
        }
        Ok(())
    }

    /// A jump to an out-of-line exit.
    pub(super) fn leave_if(&mut self, jcc: fn(&mut CodeAssembler, CodeLabel) -> R, t: Tail) -> R {
        let l = self.a.create_label();
        jcc(&mut self.a, l)?;
        self.tails.push((l, t));
        Ok(())
    }

    /// Leaves right here with `code` (after retiring already).
    pub(super) fn leave_now(&mut self, code: u64) -> R {
        self.a
            .mov(dword_ptr(r15 + off(offset_of!(Ctx, block))), self.id)?;
        self.a.mov(eax, code as u32)?;
        self.a.jmp(qword_ptr(r15 + off(offset_of!(Ctx, exit_fn))))
    }

    /// An indirect jump (target in `eax`): through the inline cache when an
    /// entry holds the target and is of the current inline-cache epoch, else
    /// to Rust for a lookup (target in `ctx.pc`).
    pub(super) fn indirect_exit(&mut self) -> R {
        self.mark(Mark::Chain(2))?;
        let mut miss = self.a.create_label();
        self.a.mov(rcx, self.data as *const Data as u64)?;
        for e in 0..2 {
            let base = off(offset_of!(Data, ic) + e * std::mem::size_of::<Ic>());
            // The second entry's mismatch is a miss.
            let mut next = if e == 0 { self.a.create_label() } else { miss };
            let a = &mut self.a;
            a.cmp(eax, dword_ptr(rcx + base + off(offset_of!(Ic, va))))?;
            a.jne(next)?;
            a.mov(rdx, qword_ptr(rcx + base + off(offset_of!(Ic, epoch))))?;
            a.cmp(rdx, qword_ptr(r15 + off(offset_of!(Ctx, ic_epoch))))?;
            a.jne(miss)?;
            a.inc(qword_ptr(r15 + off(offset_of!(Ctx, indirect))))?;
            a.jmp(qword_ptr(rcx + base + off(offset_of!(Ic, addr))))?;
            if e == 0 {
                a.set_label(&mut next)?;
            }
        }
        self.a.set_label(&mut miss)?;
        self.a
            .mov(dword_ptr(r15 + off(offset_of!(Ctx, pc))), eax)?;
        self.leave_now(exit::INDIRECT)
    }

    /// Direct exit `k`: through its link while it was validated in this
    /// chain epoch, else to Rust (which validates the target again, or
    /// hands the exit to the engine).
    pub(super) fn chain_exit(&mut self, k: usize) -> R {
        self.mark(Mark::Chain(k))?;
        let link = &self.data.links[k] as *const Link as u64;
        self.a.mov(rax, link)?;
        self.a.mov(rcx, qword_ptr(rax + off(offset_of!(Link, epoch))))?;
        self.a
            .cmp(rcx, qword_ptr(r15 + off(offset_of!(Ctx, epoch))))?;
        self.leave_if(
            CodeAssembler::jne,
            Tail::Leave {
                code: exit::DIRECT + k as u64,
                done: 0,
                op: 0,
            },
        )?;
        self.a
            .inc(qword_ptr(r15 + off(offset_of!(Ctx, chained))))?;
        self.a.jmp(qword_ptr(rax + off(offset_of!(Link, addr))))
    }

    /// The out-of-line exits, after the body.
    pub(super) fn tails(&mut self) -> R {
        let tails = std::mem::take(&mut self.tails);
        for (mut l, Tail::Leave { code, done, op }) in tails {
            self.a.set_label(&mut l)?;
            self.a.mov(dword_ptr(r15 + off(offset_of!(Ctx, op))), op)?;
            self.retire(done)?;
            self.leave_now(code)?;
        }
        Ok(())
    }

    pub(super) fn call(&mut self, field: usize, what: &'static str) -> R {
        self.save_pinned(false)?;
        self.a.mov(rdi, r15)?;
        self.mark(Mark::Callout(what))?;
        self.a.call(qword_ptr(r15 + off(field)))?;
        self.save_pinned(true)
    }

    /// Sets the flags as `cmp x, y` would.
    pub(super) fn compare(&mut self, x: u8, y: u8) -> R {
        match (pinned(x), pinned(y)) {
            (Some(hx), _) if y == 0 => self.a.test(hx, hx),
            (Some(hx), Some(hy)) => self.a.cmp(hx, hy),
            (Some(hx), None) => self.a.cmp(hx, dword_ptr(r15 + reg_off(y))),
            _ => {
                self.load(eax, x)?;
                if y == 0 {
                    self.a.test(eax, eax)
                } else if let Some(hy) = pinned(y) {
                    self.a.cmp(eax, hy)
                } else {
                    self.a.cmp(eax, dword_ptr(r15 + reg_off(y)))
                }
            }
        }
    }

    /// `d = x op y` for add, sub, and, or, xor straight into a pinned `d`;
    /// false if the shape does not allow it.
    fn alu_pinned(&mut self, op: AluOp, d: u8, x: u8, y: u8) -> Result<bool, iced_x86::IcedError> {
        let Some(hd) = pinned(d) else {
            return Ok(false);
        };
        if y == 0 || (d == y && d != x) {
            return Ok(false);
        }
        if !matches!(
            op,
            AluOp::Add | AluOp::Sub | AluOp::And | AluOp::Or | AluOp::Xor
        ) {
            return Ok(false);
        }
        if d != x {
            self.load(hd, x)?;
        }
        let a = &mut self.a;
        match pinned(y) {
            Some(hy) => match op {
                AluOp::Add => a.add(hd, hy)?,
                AluOp::Sub => a.sub(hd, hy)?,
                AluOp::And => a.and(hd, hy)?,
                AluOp::Or => a.or(hd, hy)?,
                _ => a.xor(hd, hy)?,
            },
            None => {
                let m = dword_ptr(r15 + reg_off(y));
                match op {
                    AluOp::Add => a.add(hd, m)?,
                    AluOp::Sub => a.sub(hd, m)?,
                    AluOp::And => a.and(hd, m)?,
                    AluOp::Or => a.or(hd, m)?,
                    _ => a.xor(hd, m)?,
                }
            }
        }
        Ok(true)
    }

    pub(super) fn alu(&mut self, op: AluOp, d: u8, x: u8, y: u8, i: u32) -> R {
        if self.alu_pinned(op, d, x, y)? {
            return Ok(());
        }
        self.load(eax, x)?;
        self.load(ecx, y)?;
        let a = &mut self.a;
        match op {
            AluOp::Add => a.add(eax, ecx)?,
            AluOp::Sub => a.sub(eax, ecx)?,
            AluOp::And => a.and(eax, ecx)?,
            AluOp::Or => a.or(eax, ecx)?,
            AluOp::Xor => a.xor(eax, ecx)?,
            AluOp::Sll => a.shl(eax, iced_x86::code_asm::cl)?,
            AluOp::Srl => a.shr(eax, iced_x86::code_asm::cl)?,
            AluOp::Sra => a.sar(eax, iced_x86::code_asm::cl)?,
            AluOp::Slt | AluOp::Sltu => {
                a.cmp(eax, ecx)?;
                if op == AluOp::Slt {
                    a.setl(iced_x86::code_asm::al)?;
                } else {
                    a.setb(iced_x86::code_asm::al)?;
                }
                a.movzx(eax, iced_x86::code_asm::al)?;
            }
            AluOp::Mul => a.imul_2(eax, ecx)?,
            AluOp::Mulh => {
                a.imul(ecx)?;
                a.mov(eax, edx)?;
            }
            AluOp::Mulhu => {
                a.mul(ecx)?;
                a.mov(eax, edx)?;
            }
            AluOp::Div | AluOp::Rem | AluOp::Divu | AluOp::Remu => {
                a.test(ecx, ecx)?;
                self.leave_if(
                    CodeAssembler::jz,
                    Tail::Leave {
                        code: exit::DIVZERO,
                        done: i,
                        op: i,
                    },
                )?;
                let a = &mut self.a;
                let mut done = a.create_label();
                if matches!(op, AluOp::Div | AluOp::Rem) {
                    // i32::MIN / -1 traps on x86; the guest wraps.
                    let mut normal = a.create_label();
                    a.cmp(ecx, -1)?;
                    a.jne(normal)?;
                    if op == AluOp::Div {
                        a.neg(eax)?;
                    } else {
                        a.xor(eax, eax)?;
                    }
                    a.jmp(done)?;
                    a.set_label(&mut normal)?;
                    a.cdq()?;
                    a.idiv(ecx)?;
                } else {
                    a.xor(edx, edx)?;
                    a.div(ecx)?;
                }
                if matches!(op, AluOp::Rem | AluOp::Remu) {
                    a.mov(eax, edx)?;
                }
                a.set_label(&mut done)?;
                a.nop()?;
            }
        }
        self.store(d, eax)
    }

    pub(super) fn alu_imm(&mut self, op: ImmOp, d: u8, x: u8, imm: i32) -> R {
        if x == 0 && matches!(op, ImmOp::Add | ImmOp::Or | ImmOp::Xor) {
            return self.set(d, imm as u32);
        }
        if d == 0 {
            return Ok(());
        }
        if let Some(hd) = pinned(d) {
            if d != x {
                self.load(hd, x)?;
            }
            // Adding 0 to a pinned register in place is a move already made.
            if !(op == ImmOp::Add && imm == 0) {
                imm_op(&mut self.a, op, hd, imm)?;
            }
            return Ok(());
        }
        self.load(eax, x)?;
        imm_op(&mut self.a, op, eax, imm)?;
        self.store(d, eax)
    }
}

/// `r = r op imm`, in place.
fn imm_op(a: &mut CodeAssembler, op: ImmOp, r: AsmRegister32, imm: i32) -> R {
    let sh = (imm as u32 & 31) as i32;
    match op {
        ImmOp::Add => a.add(r, imm)?,
        ImmOp::And => a.and(r, imm)?,
        ImmOp::Or => a.or(r, imm)?,
        ImmOp::Xor => a.xor(r, imm)?,
        ImmOp::Sll => a.shl(r, sh)?,
        ImmOp::Srl => a.shr(r, sh)?,
        ImmOp::Sra => a.sar(r, sh)?,
        ImmOp::Slt | ImmOp::Sltu => {
            a.cmp(r, imm)?;
            if op == ImmOp::Slt {
                a.setl(iced_x86::code_asm::al)?;
            } else {
                a.setb(iced_x86::code_asm::al)?;
            }
            a.movzx(r, iced_x86::code_asm::al)?;
        }
    }
    Ok(())
}
