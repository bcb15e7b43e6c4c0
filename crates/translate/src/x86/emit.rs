//! The code generator's emitters: guest register access, exits and
//! tails, callbacks, comparisons and ALU lowering.

use std::mem::offset_of;

use iced_x86::code_asm::{
    AsmRegister32, CodeAssembler, CodeLabel, cl, dword_ptr, eax, ecx, edx, esi, qword_ptr, r14,
    r15, rax, rdx, rsi,
};
use vmlab_isa::{AluOp, ImmOp};

use super::{Ctx, Data, Gen, Ic, Mark, R, Tail, exit, off, pinned, reg_off};

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
        self.leave(code, 0, 0)
    }

    /// Leaves with the exit word of `code`, `done` instructions retired
    /// that `r14` does not count yet, and op index `op` ([`exit::word`]).
    fn leave(&mut self, code: u64, done: u32, op: u32) -> R {
        self.a.mov(rax, exit::word(code, done, op, self.id))?;
        self.a.jmp(qword_ptr(r15 + off(offset_of!(Ctx, exit_fn))))
    }

    /// An indirect jump (target in `eax`): through the inline cache when an
    /// entry holds the target (an entry not validated in the current epoch
    /// leads to the miss path), else to Rust for a lookup (target in
    /// `ctx.pc`).
    pub(super) fn indirect_exit(&mut self) -> R {
        self.mark(Mark::Chain(2))?;
        let mut miss = self.a.create_label();
        let mut stale = self.a.create_label();
        self.a.mov(rsi, self.data as *const Data as u64)?;
        for e in 0..2 {
            let base = off(offset_of!(Data, ic) + e * std::mem::size_of::<Ic>());
            // The second entry's mismatch is a miss.
            let mut next = if e == 0 { self.a.create_label() } else { miss };
            let a = &mut self.a;
            a.cmp(eax, dword_ptr(rsi + base + off(offset_of!(Ic, va))))?;
            a.jne(next)?;
            a.inc(qword_ptr(rsi + off(offset_of!(Data, ic_hits))))?;
            a.jmp(qword_ptr(rsi + base + off(offset_of!(Ic, addr))))?;
            if e == 0 {
                a.set_label(&mut next)?;
            }
        }
        // A stale entry's stub: not a hit after all.
        self.a.set_label(&mut stale)?;
        self.a
            .dec(qword_ptr(rsi + off(offset_of!(Data, ic_hits))))?;
        self.a.set_label(&mut miss)?;
        self.a.mov(dword_ptr(r15 + off(offset_of!(Ctx, pc))), eax)?;
        self.ic_stub = Some(stale);
        self.leave_now(exit::INDIRECT)
    }

    /// Direct exit `k`: through its link, to the successor's entry or (not
    /// validated in the current epoch) to the exit's stub, which returns
    /// to Rust (to validate the successor again, or hand the exit to the
    /// engine).
    pub(super) fn chain_exit(&mut self, k: usize) -> R {
        self.mark(Mark::Chain(k))?;
        if self.stubs[k].is_none() {
            self.stubs[k] = Some(self.a.create_label());
        }
        self.a.mov(rax, self.data.links[k].as_ptr() as u64)?;
        self.a.jmp(qword_ptr(rax))
    }

    /// The out-of-line exits, after the body.
    pub(super) fn tails(&mut self) -> R {
        let tails = std::mem::take(&mut self.tails);
        for (mut l, Tail::Leave { code, done, op }) in tails {
            self.a.set_label(&mut l)?;
            self.leave(code, done, op)?;
        }
        // The direct exits' stubs.
        for k in 0..2 {
            if let Some(mut l) = self.stubs[k] {
                self.a.set_label(&mut l)?;
                self.stubs[k] = Some(l);
                self.leave(exit::DIRECT + k as u64, 0, 0)?;
            }
        }
        Ok(())
    }

    /// Calls callback thunk `k` (arguments in `esi`, `edx`; result in
    /// `rax`; pinned registers and the RAM base survive).
    pub(super) fn call(&mut self, k: usize, what: &'static str) -> R {
        self.mark(Mark::Callout(what))?;
        self.a
            .call(qword_ptr(r15 + off(offset_of!(Ctx, thunks) + 8 * k)))
    }

    /// `rdx` = guest RAM (after anything that used `rdx`).
    pub(super) fn reload_ram(&mut self) -> R {
        self.a.mov(rdx, qword_ptr(r15 + off(offset_of!(Ctx, ram))))
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

    /// `d = x op y` for add, sub, and, or, xor: computed in `d`'s host
    /// register when it is pinned (else in `eax`), with `y` read from its
    /// host register or its slot; false if the shape does not allow it.
    fn alu_simple(&mut self, op: AluOp, d: u8, x: u8, y: u8) -> Result<bool, iced_x86::IcedError> {
        if y == 0
            || !matches!(
                op,
                AluOp::Add | AluOp::Sub | AluOp::And | AluOp::Or | AluOp::Xor
            )
        {
            return Ok(false);
        }
        if d == 0 {
            // Nothing to compute: these cannot trap.
            return Ok(true);
        }
        if op == AluOp::Sub && x == 0 {
            // neg: in place when d is y's pinned register.
            let t = pinned(d).unwrap_or(eax);
            if !(d == y && pinned(d).is_some()) {
                self.load(t, y)?;
            }
            self.a.neg(t)?;
            if pinned(d).is_none() {
                self.store(d, eax)?;
            }
            return Ok(true);
        }
        // In place in d's host register unless that would clobber y first.
        let (t, home) = match pinned(d) {
            Some(hd) if !(d == y && d != x) => (hd, true),
            _ => (eax, false),
        };
        if !(home && d == x) {
            self.load(t, x)?;
        }
        let a = &mut self.a;
        match pinned(y) {
            Some(hy) => match op {
                AluOp::Add => a.add(t, hy)?,
                AluOp::Sub => a.sub(t, hy)?,
                AluOp::And => a.and(t, hy)?,
                AluOp::Or => a.or(t, hy)?,
                _ => a.xor(t, hy)?,
            },
            None => {
                let m = dword_ptr(r15 + reg_off(y));
                match op {
                    AluOp::Add => a.add(t, m)?,
                    AluOp::Sub => a.sub(t, m)?,
                    AluOp::And => a.and(t, m)?,
                    AluOp::Or => a.or(t, m)?,
                    _ => a.xor(t, m)?,
                }
            }
        }
        if !home {
            self.store(d, eax)?;
        }
        Ok(true)
    }

    pub(super) fn alu(&mut self, op: AluOp, d: u8, x: u8, y: u8, i: u32) -> R {
        if self.alu_simple(op, d, x, y)? {
            return Ok(());
        }
        self.load(eax, x)?;
        if matches!(op, AluOp::Sll | AluOp::Srl | AluOp::Sra) {
            // The count must be in cl, which holds a pinned guest register:
            // spill it around the shift unless y is that register.
            let in_cl = pinned(y) == Some(ecx);
            if !in_cl {
                self.a
                    .mov(dword_ptr(r15 + off(offset_of!(Ctx, spill))), ecx)?;
                self.load(ecx, y)?;
            }
            match op {
                AluOp::Sll => self.a.shl(eax, cl)?,
                AluOp::Srl => self.a.shr(eax, cl)?,
                _ => self.a.sar(eax, cl)?,
            }
            if !in_cl {
                self.a
                    .mov(ecx, dword_ptr(r15 + off(offset_of!(Ctx, spill))))?;
            }
            return self.store(d, eax);
        }
        self.load(esi, y)?;
        let a = &mut self.a;
        match op {
            AluOp::Add => a.add(eax, esi)?,
            AluOp::Sub => a.sub(eax, esi)?,
            AluOp::And => a.and(eax, esi)?,
            AluOp::Or => a.or(eax, esi)?,
            AluOp::Xor => a.xor(eax, esi)?,
            AluOp::Sll | AluOp::Srl | AluOp::Sra => unreachable!("shifts are above"),
            AluOp::Slt | AluOp::Sltu => {
                a.cmp(eax, esi)?;
                if op == AluOp::Slt {
                    a.setl(iced_x86::code_asm::al)?;
                } else {
                    a.setb(iced_x86::code_asm::al)?;
                }
                a.movzx(eax, iced_x86::code_asm::al)?;
            }
            AluOp::Mul => a.imul_2(eax, esi)?,
            AluOp::Mulh => {
                a.imul(esi)?;
                a.mov(eax, edx)?;
            }
            AluOp::Mulhu => {
                a.mul(esi)?;
                a.mov(eax, edx)?;
            }
            AluOp::Div | AluOp::Rem | AluOp::Divu | AluOp::Remu => {
                a.test(esi, esi)?;
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
                    a.cmp(esi, -1)?;
                    a.jne(normal)?;
                    if op == AluOp::Div {
                        a.neg(eax)?;
                    } else {
                        a.xor(eax, eax)?;
                    }
                    a.jmp(done)?;
                    a.set_label(&mut normal)?;
                    a.cdq()?;
                    a.idiv(esi)?;
                } else {
                    a.xor(edx, edx)?;
                    a.div(esi)?;
                }
                if matches!(op, AluOp::Rem | AluOp::Remu) {
                    a.mov(eax, edx)?;
                }
                a.set_label(&mut done)?;
            }
        }
        if matches!(
            op,
            AluOp::Mulh | AluOp::Mulhu | AluOp::Div | AluOp::Rem | AluOp::Divu | AluOp::Remu
        ) {
            // rdx held the high half or the remainder: the RAM base again.
            self.reload_ram()?;
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
        if let (ImmOp::Add, 0, Some(hx)) = (op, imm, pinned(x)) {
            // A move from a pinned register to a slot.
            return self.store(d, hx);
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
