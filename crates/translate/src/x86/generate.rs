//! Lowering one translated block to host code.

use std::mem::offset_of;

use iced_x86::code_asm::{
    CodeAssembler, byte_ptr, dl, dword_ptr, dx, eax, edx, esi, qword_ptr, r14, r15, rax, rcx, rsi,
    word_ptr,
};
use vmlab_isa::{BranchCond, Instr, LoadOp, Width};

use crate::backend::BlockId;
use crate::ir::{BlockEnd, Op, Translation};

use super::{Ctx, Data, Gen, Mark, R, Tail, exit, off};

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
        marks: Vec::new(),
    };
    let mut entry = g.a.create_label();
    (|| -> R {
        let n = t.len() as u32;
        // Chain entry: validated in this epoch?
        g.mark(Mark::Entry("chain entry: validated in this epoch?"))?;
        g.a.mov(rax, data.epoch.as_ptr() as u64)?;
        g.a.mov(rcx, qword_ptr(rax))?;
        g.a.cmp(rcx, qword_ptr(r15 + off(offset_of!(Ctx, epoch))))?;
        g.leave_if(
            CodeAssembler::jne,
            Tail::Leave {
                code: exit::VALIDATE,
                done: 0,
                op: 0,
            },
        )?;
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
        for (i, top) in t.ops.iter().enumerate() {
            let i32_ = i as u32;
            g.mark(Mark::Guest(i))?;
            let next_pc = top.pc.wrapping_add(4);
            let Op::Guest(instr) = top.op else {
                unreachable!("non-native op in a native block")
            };
            match instr {
                Instr::Alu { op, rd, rs1, rs2 } => {
                    g.alu(op, rd.num(), rs1.num(), rs2.num(), i32_)?
                }
                Instr::AluImm { op, rd, rs1, imm } => g.alu_imm(op, rd.num(), rs1.num(), imm)?,
                Instr::Lui { rd, imm } => g.set(rd.num(), imm << 12)?,
                Instr::Auipc { rd, imm } => g.set(rd.num(), top.pc.wrapping_add(imm << 12))?,
                Instr::Load {
                    op,
                    rd,
                    rs1,
                    off: o,
                } => {
                    g.load(esi, rs1.num())?;
                    g.a.add(esi, o)?;
                    let k = LoadOp::ALL.iter().position(|x| *x == op).unwrap_or(0);
                    // The identity window: read RAM directly.
                    let mut slow = g.a.create_label();
                    let mut done = g.a.create_label();
                    g.a.cmp(esi, dword_ptr(r15 + off(offset_of!(Ctx, flat))))?;
                    g.a.jae(slow)?;
                    let bytes = op.width().bytes();
                    if bytes > 1 {
                        g.a.test(esi, bytes - 1)?;
                        g.a.jnz(slow)?;
                    }
                    g.a.mov(rax, qword_ptr(r15 + off(offset_of!(Ctx, ram))))?;
                    match op {
                        LoadOp::Lw => g.a.mov(eax, dword_ptr(rax + rsi))?,
                        LoadOp::Lh => g.a.movsx(eax, word_ptr(rax + rsi))?,
                        LoadOp::Lhu => g.a.movzx(eax, word_ptr(rax + rsi))?,
                        LoadOp::Lb => g.a.movsx(eax, byte_ptr(rax + rsi))?,
                        LoadOp::Lbu => g.a.movzx(eax, byte_ptr(rax + rsi))?,
                    }
                    g.a.jmp(done)?;
                    g.a.set_label(&mut slow)?;
                    g.call(
                        offset_of!(Ctx, load_fn) + 8 * k,
                        "load (outside the window)",
                    )?;
                    g.a.bt(rax, 32)?;
                    g.leave_if(
                        CodeAssembler::jc,
                        Tail::Leave {
                            code: exit::STOP,
                            done: i32_,
                            op: i32_,
                        },
                    )?;
                    g.a.set_label(&mut done)?;
                    if rd.num() == 0 {
                        g.a.nop()?;
                    }
                    g.store(rd.num(), eax)?;
                }
                Instr::Store {
                    width,
                    rs2,
                    rs1,
                    off: o,
                } => {
                    g.load(esi, rs1.num())?;
                    g.a.add(esi, o)?;
                    g.load(edx, rs2.num())?;
                    let w = match width {
                        Width::Byte => 0,
                        Width::Half => 1,
                        Width::Word => 2,
                    };
                    // The identity window, aligned, to a frame with no
                    // protection and no cached code: write RAM directly
                    // (the interpreter's store fast path there).
                    let mut slow = g.a.create_label();
                    let mut done = g.a.create_label();
                    g.a.cmp(esi, dword_ptr(r15 + off(offset_of!(Ctx, flat))))?;
                    g.a.jae(slow)?;
                    let bytes = width.bytes();
                    if bytes > 1 {
                        g.a.test(esi, bytes - 1)?;
                        g.a.jnz(slow)?;
                    }
                    g.a.mov(eax, esi)?;
                    g.a.shr(eax, 12)?;
                    g.a.mov(rcx, qword_ptr(r15 + off(offset_of!(Ctx, watch))))?;
                    g.a.cmp(byte_ptr(rcx + rax), 0)?;
                    g.a.jne(slow)?;
                    g.a.mov(rax, qword_ptr(r15 + off(offset_of!(Ctx, ram))))?;
                    match width {
                        Width::Byte => g.a.mov(byte_ptr(rax + rsi), dl)?,
                        Width::Half => g.a.mov(word_ptr(rax + rsi), dx)?,
                        Width::Word => g.a.mov(dword_ptr(rax + rsi), edx)?,
                    }
                    g.a.jmp(done)?;
                    g.a.set_label(&mut slow)?;
                    g.call(offset_of!(Ctx, store_fn) + 8 * w, "store")?;
                    g.a.test(eax, eax)?;
                    g.a.jz(done)?;
                    g.a.cmp(eax, 1)?;
                    g.leave_if(
                        CodeAssembler::je,
                        Tail::Leave {
                            code: exit::CUT,
                            done: i32_ + 1,
                            op: i32_,
                        },
                    )?;
                    g.leave_if(
                        CodeAssembler::jmp,
                        Tail::Leave {
                            code: exit::STOP,
                            done: i32_,
                            op: i32_,
                        },
                    )?;
                    // The next instruction (there always is one: the next
                    // guest instruction's or the block end's) takes the label.
                    g.a.set_label(&mut done)?;
                }
                Instr::Branch { cond, rs1, rs2, .. } => {
                    g.retire(n)?;
                    g.compare(rs1.num(), rs2.num())?;
                    let mut taken = g.a.create_label();
                    match cond {
                        BranchCond::Eq => g.a.je(taken)?,
                        BranchCond::Ne => g.a.jne(taken)?,
                        BranchCond::Lt => g.a.jl(taken)?,
                        BranchCond::Ge => g.a.jge(taken)?,
                        BranchCond::Ltu => g.a.jb(taken)?,
                        BranchCond::Geu => g.a.jae(taken)?,
                    }
                    g.chain_exit(1)?;
                    g.a.set_label(&mut taken)?;
                    g.chain_exit(0)?;
                }
                Instr::Jal { rd, .. } => {
                    g.set(rd.num(), next_pc)?;
                    g.retire(n)?;
                    g.chain_exit(0)?;
                }
                Instr::Jalr { rd, rs1, off: o } => {
                    g.load(eax, rs1.num())?;
                    g.a.add(eax, o)?;
                    g.a.mov(dword_ptr(r15 + off(offset_of!(Ctx, pc))), eax)?;
                    g.set(rd.num(), next_pc)?;
                    g.retire(n)?;
                    if indirect_caches {
                        g.indirect_exit()?;
                    } else {
                        g.leave_now(exit::INDIRECT)?;
                    }
                }
                _ => unreachable!("non-native instruction in a native block"),
            }
        }
        if let BlockEnd::FallThrough { .. } = t.end {
            g.retire(n)?;
            g.chain_exit(0)?;
        }
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
    })
}

pub(super) struct Generated {
    pub(super) bytes: Vec<u8>,
    pub(super) entry: u64,
    pub(super) marks: Vec<(u64, Mark)>,
}
