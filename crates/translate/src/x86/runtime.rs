//! The Rust side of generated code: the callbacks it calls for loads and
//! stores, and the trampoline that enters it and the exit stub it leaves by.

use std::mem::offset_of;

use iced_x86::code_asm::{
    CodeAssembler, dword_ptr, qword_ptr, r12, r13, r14, r15, rbp, rbx, rdi, rdx, rsi, rsp,
};
use vmlab_isa::{LoadOp, Width};
use vmlab_machine::Machine;

use super::exec_mem::Code;
use super::{Ctx, PINNED, off, reg_off};

/// The chain epoch of machine `m` as the context holds it (the privilege is
/// part of it: a block validated for one privilege is not for the other).
pub(super) fn epoch_of(m: &Machine) -> u64 {
    (m.engine_chain_epoch() << 1) | u64::from(m.engine_user())
}

/// Load callback body (see [`exec_mem::load_helper`]).
#[inline(always)]
pub(super) fn do_load(ctx: &mut Ctx, m: &mut Machine, va: u32, op: usize) -> u64 {
    let op = LoadOp::ALL[op];
    let r = m.engine_load(va, op.width());
    note_epoch(ctx, m);
    match r {
        Ok(v) => u64::from(op.extend(v)),
        Err(s) => {
            ctx.stop = Some(s);
            1 << 32
        }
    }
}

/// Store callback body (see [`exec_mem::store_helper`]).
#[inline(always)]
pub(super) fn do_store(ctx: &mut Ctx, m: &mut Machine, va: u32, value: u32, width: u32) -> u64 {
    let width = match width {
        1 => Width::Byte,
        2 => Width::Half,
        _ => Width::Word,
    };
    let r = m.engine_store(va, width, value);
    note_epoch(ctx, m);
    match r {
        Ok(false) => 0,
        Ok(true) => 1,
        Err(s) => {
            ctx.stop = Some(s);
            2
        }
    }
}

/// Points the context's direct load and store window at the machine's RAM
/// and store-watch bytes as they are now (the pointers come from these
/// borrows, so they are only used until the machine is next borrowed,
/// which is always a callback, which calls this again).
pub(super) fn refresh_window(ctx: &mut Ctx, m: &mut Machine) {
    ctx.flat = m.engine_flat_limit();
    let ram = m.engine_ram_mut();
    ctx.ram = ram.as_mut_ptr() as u64;
    // Stores index the watch bytes by guest address with no window check:
    // the machine's bytes when the identity window is all of RAM (guest
    // address = host address, and the bytes past RAM are never zero), else
    // bytes that send every store to the slow path.
    let whole = ctx.flat as usize + 4 >= ram.len();
    ctx.watch = if whole {
        m.engine_store_watch().as_ptr() as u64
    } else {
        ctx.all_watched.as_ptr() as u64
    };
}

/// After a callback: a walk that filled the TLB starts a new chain epoch.
fn note_epoch(ctx: &mut Ctx, m: &Machine) {
    let e = epoch_of(m);
    if e != ctx.machine_epoch {
        ctx.machine_epoch = e;
        ctx.live.reset();
    }
}

/// The callback fields the thunks call, by thunk index: the loads by
/// `LoadOp::ALL` index, then the stores (byte, half, word).
fn thunk_fields() -> [usize; THUNKS] {
    let l = offset_of!(Ctx, load_fn);
    let s = offset_of!(Ctx, store_fn);
    [l, l + 8, l + 16, l + 24, l + 32, s, s + 8, s + 16]
}

/// Number of callback thunks.
pub(super) const THUNKS: usize = 8;

/// The trampoline (entry at its start), the exit stub's address and the
/// callback thunks' addresses; `Err` says why the backend could not be
/// built.
///
/// A thunk is what a load or store slow path calls: it saves the
/// caller-saved pinned registers, calls the Rust callback with the context,
/// restores them and the RAM base, and returns (the callback's result in
/// `rax`), so each slow path in generated code is a few instructions.
pub(super) fn build_trampoline() -> Result<(Code, u64, [u64; THUNKS]), String> {
    let mut a = CodeAssembler::new(64).map_err(|e| e.to_string())?;
    let mut exit_label = a.create_label();
    let mut thunk_labels: Vec<_> = (0..THUNKS).map(|_| a.create_label()).collect();
    (|| -> Result<(), iced_x86::IcedError> {
        // enter(ctx = rdi, target = rsi)
        a.push(rbx)?;
        a.push(rbp)?;
        a.push(r12)?;
        a.push(r13)?;
        a.push(r14)?;
        a.push(r15)?;
        a.sub(rsp, 8)?;
        a.mov(r15, rdi)?;
        a.mov(r14, qword_ptr(r15 + off(offset_of!(Ctx, left))))?;
        for (g, h, _) in PINNED {
            a.mov(h.r32, dword_ptr(r15 + reg_off(g)))?;
        }
        a.mov(rdx, qword_ptr(r15 + off(offset_of!(Ctx, ram))))?;
        a.jmp(rsi)?;
        // The exit stub: exit code in rax.
        a.set_label(&mut exit_label)?;
        a.mov(qword_ptr(r15 + off(offset_of!(Ctx, left))), r14)?;
        for (g, h, _) in PINNED {
            a.mov(dword_ptr(r15 + reg_off(g)), h.r32)?;
        }
        a.add(rsp, 8)?;
        a.pop(r15)?;
        a.pop(r14)?;
        a.pop(r13)?;
        a.pop(r12)?;
        a.pop(rbp)?;
        a.pop(rbx)?;
        a.ret()?;
        // The thunks (entered with the stack 8 bytes off alignment).
        for (label, field) in thunk_labels.iter_mut().zip(thunk_fields()) {
            a.set_label(label)?;
            a.sub(rsp, 8)?;
            for (g, h, callee) in PINNED {
                if !callee {
                    a.mov(dword_ptr(r15 + reg_off(g)), h.r32)?;
                }
            }
            a.mov(rdi, r15)?;
            a.call(qword_ptr(r15 + off(field)))?;
            for (g, h, callee) in PINNED {
                if !callee {
                    a.mov(h.r32, dword_ptr(r15 + reg_off(g)))?;
                }
            }
            a.mov(rdx, qword_ptr(r15 + off(offset_of!(Ctx, ram))))?;
            a.add(rsp, 8)?;
            a.ret()?;
        }
        Ok(())
    })()
    .map_err(|e| e.to_string())?;
    let result = a
        .assemble_options(
            0,
            iced_x86::BlockEncoderOptions::RETURN_NEW_INSTRUCTION_OFFSETS,
        )
        .map_err(|e| e.to_string())?;
    let exit_off = result.label_ip(&exit_label).map_err(|e| e.to_string())?;
    let code = Code::new(&result.inner.code_buffer).map_err(|e| e.to_string())?;
    let stub = code.addr() + exit_off;
    let mut thunks = [0; THUNKS];
    for (t, l) in thunks.iter_mut().zip(&thunk_labels) {
        *t = code.addr() + result.label_ip(l).map_err(|e| e.to_string())?;
    }
    Ok((code, stub, thunks))
}
