//! Executable memory and the boundary crossings into and out of generated
//! code: the only `unsafe` in the workspace.
//!
//! Code is assembled by safe code into a `Vec<u8>`; [`Code::new`] (the
//! trampoline) and [`Arena::place`] (blocks) copy it into anonymous
//! mappings that are read+write only while the copy is made and
//! read+execute before anything can run (W^X: no mapping is ever writable
//! and executable at once, and code is never patched in place: chains go
//! through links in ordinary heap memory the code reads indirectly).
//!
//! Three kinds of `unsafe` block live here, each with its reasoning:
//! entering generated code ([`enter`]), and the two callbacks generated code
//! makes into Rust ([`load_helper`], [`store_helper`]), which turn the
//! context pointer they are handed back into references.

use std::io;

use memmap2::{Mmap, MmapMut};
use vmlab_machine::Machine;

use super::{Ctx, do_load, do_store, refresh_window};

/// A block of generated code in a read+execute mapping.
#[derive(Debug)]
pub(crate) struct Code {
    map: Mmap,
    len: usize,
}

impl Code {
    /// Copies `bytes` into a new mapping, then makes it read+execute
    /// (never writable and executable at once).
    pub(crate) fn new(bytes: &[u8]) -> io::Result<Code> {
        let mut rw = MmapMut::map_anon(bytes.len().max(1))?;
        rw[..bytes.len()].copy_from_slice(bytes);
        let map = rw.make_exec()?;
        Ok(Code {
            map,
            len: bytes.len(),
        })
    }

    /// The address of the first byte.
    pub(crate) fn addr(&self) -> u64 {
        self.map.as_ptr() as u64
    }

    /// The code bytes (for listings).
    pub(crate) fn bytes(&self) -> &[u8] {
        &self.map[..self.len]
    }
}

/// Size of an arena chunk.
const CHUNK: usize = 64 << 10;

/// One mapping of an [`Arena`]: read+execute except while a block is
/// being copied in (then read+write, never both).
#[derive(Debug)]
struct Chunk {
    map: Option<Mmap>,
    used: usize,
    /// Blocks placed here and not yet released.
    live: usize,
}

/// Executable memory for blocks: chunks filled one after the other, each
/// flipped to read+write only while a block is copied in (nothing runs
/// meanwhile: compilation happens outside generated code), so one block
/// costs two `mprotect`s instead of a mapping of its own. A chunk is
/// unmapped when its last block is released.
#[derive(Debug, Default)]
pub(crate) struct Arena {
    chunks: Vec<Chunk>,
}

/// A block's code in an [`Arena`].
#[derive(Debug)]
pub(crate) struct Placed {
    addr: u64,
    chunk: usize,
    bytes: Vec<u8>,
}

impl Placed {
    /// The address of the first byte.
    pub(crate) fn addr(&self) -> u64 {
        self.addr
    }

    /// The code bytes (a copy, for listings).
    pub(crate) fn bytes(&self) -> &[u8] {
        &self.bytes
    }
}

impl Arena {
    /// Copies `bytes` into executable memory.
    pub(crate) fn place(&mut self, bytes: &[u8]) -> io::Result<Placed> {
        let len = bytes.len().max(1);
        let fits = self
            .chunks
            .last()
            .is_some_and(|c| c.map.is_some() && c.used + len <= CHUNK);
        if !fits {
            if let Some(c) = self.chunks.last_mut() {
                if c.live == 0 {
                    c.map = None;
                }
            }
            let rw = MmapMut::map_anon(CHUNK.max(len))?;
            self.chunks.push(Chunk {
                map: Some(rw.make_exec()?),
                used: 0,
                live: 0,
            });
        }
        let index = self.chunks.len() - 1;
        let chunk = &mut self.chunks[index];
        let Some(map) = chunk.map.take() else {
            return Err(io::Error::other("arena chunk lost"));
        };
        // A failed protection change here would drop a mapping that live
        // blocks (and chains into them) still point at: there is no safe
        // way on, so stop the process rather than unwind past it.
        let mut rw = map.make_mut().unwrap_or_else(|_| std::process::abort());
        let at = chunk.used;
        rw[at..at + bytes.len()].copy_from_slice(bytes);
        let map = rw.make_exec().unwrap_or_else(|_| std::process::abort());
        let addr = map.as_ptr() as u64 + at as u64;
        chunk.map = Some(map);
        // Keep blocks 16-byte aligned.
        chunk.used = (at + len + 15) & !15;
        chunk.live += 1;
        Ok(Placed {
            addr,
            chunk: index,
            bytes: bytes.to_vec(),
        })
    }

    /// Releases a block; unmaps its chunk when it was the last one and the
    /// chunk is not the one being filled.
    pub(crate) fn release(&mut self, p: &Placed) {
        let last = self.chunks.len().saturating_sub(1);
        if let Some(c) = self.chunks.get_mut(p.chunk) {
            c.live = c.live.saturating_sub(1);
            if c.live == 0 && p.chunk != last {
                c.map = None;
            }
        }
    }

    /// Drops every chunk.
    pub(crate) fn clear(&mut self) {
        self.chunks.clear();
    }
}

/// The entry trampoline's signature: `enter(ctx, target) -> exit code`.
type EnterFn = unsafe extern "sysv64" fn(*mut Ctx, u64) -> u64;

/// Runs generated code from `target` with `ctx` (and `m`, reachable from
/// the callbacks) until it leaves through the exit stub; returns the exit
/// code.
///
/// `trampoline` must be the backend's entry trampoline and `target` the
/// entry of a block compiled by the same backend and still alive: both hold
/// only while the backend owns them, which is why this is crate-private and
/// called from one place.
pub(crate) fn enter(trampoline: &Code, target: u64, ctx: &mut Ctx, m: &mut Machine) -> u64 {
    let machine: *mut Machine = m;
    ctx.machine = machine;
    let ctx_ptr: *mut Ctx = ctx;
    // SAFETY: `trampoline` holds code our assembler produced for exactly this
    // signature (System V: context in rdi, target in rsi, result in rax; it
    // saves and restores every callee-saved register and keeps the stack
    // aligned for the callbacks). `target` is a block entry in a mapping the
    // backend keeps alive for the whole call, compiled against the `Ctx`
    // layout. Generated code touches only `*ctx_ptr` (live: borrowed
    // mutably for this call), the backend's live block-link data, and the
    // machine through the callbacks, via `ctx.machine`, which points to `m`,
    // borrowed mutably for this call and not otherwise used until it
    // returns. Generated code also reads and writes guest RAM directly below
    // the flat limit through `ctx.ram`, and reads the frames' watch bytes
    // through `ctx.watch`, pointers derived (by `refresh_window`) from
    // borrows of that machine taken after its last use: here, and again in
    // each callback after it used the machine; both are fixed-size buffers
    // that never move while the machine lives, and nothing else touches
    // them while generated code runs.
    let code = unsafe {
        refresh_window(&mut *ctx_ptr, &mut *machine);
        let f: EnterFn = std::mem::transmute::<*const u8, EnterFn>(trampoline.map.as_ptr());
        f(ctx_ptr, target)
    };
    ctx.machine = std::ptr::null_mut();
    code
}

/// Called by generated code for a guest load: `OP` is the index of the
/// `LoadOp` in `LoadOp::ALL` (one instance per kind, so the callback does
/// not dispatch). Returns the value, or bit 32 set on a fault (the stop is
/// left in the context).
pub(crate) extern "sysv64" fn load_helper<const OP: usize>(ctx: *mut Ctx, va: u32) -> u64 {
    // SAFETY: generated code calls this only with the pointer `enter` handed
    // it in r15, so `ctx` is the live, exclusively borrowed context of the
    // running `enter` call, which is not touched elsewhere meanwhile;
    // `ctx.machine` was set by that `enter` from a live `&mut Machine` that
    // its caller does not use until `enter` returns.
    let (ctx, m) = unsafe {
        let ctx = &mut *ctx;
        let m = &mut *ctx.machine;
        (ctx, m)
    };
    let r = do_load(ctx, m, va, OP);
    refresh_window(ctx, m);
    r
}

/// Called by generated code for a guest store of `BYTES` bytes (1, 2, 4;
/// one instance per width). Returns 0 done, 1 done and code was
/// overwritten (the block must end), 2 fault (the stop is left in the
/// context).
pub(crate) extern "sysv64" fn store_helper<const BYTES: u32>(
    ctx: *mut Ctx,
    va: u32,
    value: u32,
) -> u64 {
    // SAFETY: as in `load_helper`: the pointer comes from the running
    // `enter` call, whose context and machine are live and exclusively ours
    // for its duration.
    let (ctx, m) = unsafe {
        let ctx = &mut *ctx;
        let m = &mut *ctx.machine;
        (ctx, m)
    };
    let r = do_store(ctx, m, va, value, BYTES);
    refresh_window(ctx, m);
    r
}
