//! The x86-64 backend: each translated block compiled to host code with
//! iced-x86's `CodeAssembler`, run in W^X executable memory
//! ([`exec_mem`], the workspace's only `unsafe`).
//!
//! Host register use inside generated code:
//!
//! | host | holds |
//! |---|---|
//! | `r15` | the [`Ctx`]: guest registers, counters, callback addresses |
//! | `r14` | instructions left before the next event check ("room"; what
//! | | was retired since entry is the room at entry minus `r14`) |
//! | `ebx` `ebp` `r12d` `r13d` `r8d`..`r11d` `edi` `ecx` | pinned guest registers (`PINNED`) |
//! | `rdx` | guest RAM's base |
//! | `rax`, `rsi` | scratch; `rsi` and `rdx` carry a callback's arguments |
//!
//! Every block begins with its *entry*: `cmp r14, len; jb room-exit`, so a
//! block runs only when all of it fits before the next event check and an
//! interrupt lands exactly where the interpreter takes it. ALU ops, branches and jumps are native; an
//! aligned load or store in the identity window (paging off) touches guest
//! RAM directly (a store only when its frame's watch byte says no
//! protection and no cached code), every other one calls into Rust (the
//! machine's own load and store paths, so TLB, faults, write protection
//! and code invalidation are the shared code). Direct exits jump through a
//! link in heap memory (RW, never executable), patched by
//! [`Backend::chain`]: to the successor's entry, with no return to Rust,
//! while the link was validated in the current chain epoch (the machine's
//! TLB and code generations unchanged since:
//! [`Machine::engine_chain_epoch`]), else to the exit's own stub, which
//! returns to Rust to validate the successor again. Every link and
//! inline-cache entry validated in the current epoch is on a list, and
//! all of them go back to their stubs when the epoch moves (or a block is
//! dropped), so a transfer costs no check at all. Indirect jumps go through
//! a two-entry inline cache kept the same way. Blocks holding inline
//! operations, callouts or native system instructions run through the
//! embedded [`PortableBackend`] (they get no host code), as does a block
//! that does not fit before the next event check, and a block until it has
//! run [`HOT_RUNS`] times. Loads and stores are in `memory`, the rest of a
//! block's lowering in `generate`, the emitters both use in `emit`.

mod blocks;
mod emit;
#[allow(unsafe_code)]
mod exec_mem;
mod generate;
mod listing;
mod memory;
mod runtime;

use std::cell::Cell;
use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};
use std::mem::offset_of;
use std::rc::Rc;

use iced_x86::code_asm::{
    AsmRegister8, AsmRegister16, AsmRegister32, AsmRegister64, CodeAssembler, CodeLabel, bl, bp,
    bpl, bx, cl, cx, di, dil, ebp, ebx, ecx, edi, r8, r8b, r8d, r8w, r9, r9b, r9d, r9w, r10, r10b,
    r10d, r10w, r11, r11b, r11d, r11w, r12, r12b, r12d, r12w, r13, r13b, r13d, r13w, rbp, rbx, rcx,
    rdi,
};
use vmlab_machine::Machine;
use vmlab_machine::engine_support::EngineStop;

use crate::backend::{Backend, BackendStats, BlockExit, BlockId};
use crate::ir::{Op, Translation};
use crate::portable::PortableBackend;
use crate::vcpu::VirtualCpu;

use exec_mem::{Arena, Code, Placed};
pub use listing::listing;
use runtime::{do_load, do_store, refresh_window};

/// The state generated code works on, pointed to by `r15`.
#[repr(C)]
#[derive(Debug)]
pub(crate) struct Ctx {
    /// Guest `r0`..`r15` (`r0` is never written).
    regs: [u32; 16],
    /// Room left (spilled `r14`).
    left: u64,
    /// Retired, uncommitted (the room at entry minus the room left).
    pending: u64,
    /// The exit stub's address.
    exit_fn: u64,
    /// The load callbacks' addresses, by `LoadOp::ALL` index.
    load_fn: [u64; 5],
    /// The store callbacks' addresses: byte, half, word.
    store_fn: [u64; 3],
    /// The callback thunks' addresses (see [`runtime::build_trampoline`]):
    /// loads by `LoadOp::ALL` index, then stores by width.
    thunks: [u64; runtime::THUNKS],
    /// An indirect jump's target.
    pc: u32,
    /// Where `ecx` (a pinned guest register) waits while a shift by a
    /// register uses `cl`.
    spill: u32,
    /// Guest RAM (see [`refresh_window`]).
    ram: u64,
    /// Loads below this guest address read `ram` directly; stores write it
    /// when their frame's `watch` byte is 0.
    flat: u32,
    _pad2: u32,
    /// The machine's per-frame store-watch bytes (see [`refresh_window`]).
    watch: u64,
    /// The machine, during [`exec_mem::enter`] only.
    machine: *mut Machine,
    /// The machine's chain epoch last seen.
    machine_epoch: u64,
    /// A load's or store's fault.
    stop: Option<EngineStop>,
    /// The links and inline-cache entries validated in the current epoch.
    live: Live,
    /// A watch byte for every page, none zero (stores when the identity
    /// window is not all of RAM).
    all_watched: Box<[u8]>,
}

/// The links and inline-cache entries that lead to a successor (validated
/// in the current epoch): the ones to send back to their stubs when the
/// epoch moves.
#[derive(Debug, Default)]
struct Live(Vec<(Rc<Data>, usize)>);

impl Live {
    /// Validates link `k` of `data` (0, 1), or its inline-cache entry
    /// `k - 2`, now pointing at a successor.
    fn push(&mut self, data: &Rc<Data>, k: usize) {
        self.0.push((Rc::clone(data), k));
    }

    /// Sends every live link and entry back to its stub.
    fn reset(&mut self) {
        for (d, k) in self.0.drain(..) {
            match k {
                0 | 1 => d.links[k].set(d.stubs[k].get()),
                _ => d.ic[k - 2].addr.set(d.ic_stub.get()),
            }
        }
    }
}

/// Exit codes (the direct exit number is added to `DIRECT`), and the exit
/// word generated code leaves with in `rax`.
mod exit {
    /// The exit word: `code` in bits 0..8, the op index in 8..16, the
    /// instructions retired beyond what `r14` counts in 16..24 (both are
    /// below [`MAX_BLOCK`](vmlab_machine::MAX_BLOCK) = 64), the block in
    /// 32..64. One `mov` makes it, so every exit path is two instructions.
    pub(super) const fn word(code: u64, done: u32, op: u32, block: u32) -> u64 {
        code | (op as u64) << 8 | (done as u64) << 16 | (block as u64) << 32
    }

    const _: () = assert!(vmlab_machine::MAX_BLOCK < 256);

    /// The parts of an exit word: (code, done, op, block).
    pub(super) const fn parts(w: u64) -> (u64, u64, u32, u32) {
        (
            w & 0xFF,
            (w >> 16) & 0xFF,
            ((w >> 8) & 0xFF) as u32,
            (w >> 32) as u32,
        )
    }

    pub(super) const DIRECT: u64 = 0;
    pub(super) const INDIRECT: u64 = 8;
    pub(super) const ROOM: u64 = 9;
    pub(super) const STOP: u64 = 12;
    pub(super) const DIVZERO: u64 = 13;
    pub(super) const CUT: u64 = 14;
}

/// A cheap hasher for guest addresses (the lookup after an indirect jump
/// is on the hot path).
#[derive(Debug, Default)]
struct AddrHasher(u64);

impl Hasher for AddrHasher {
    fn finish(&self) -> u64 {
        self.0.wrapping_mul(0x9E37_79B9_7F4A_7C15)
    }

    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 << 8) ^ u64::from(*b) ^ (self.0 >> 56);
        }
    }

    fn write_u32(&mut self, v: u32) {
        self.0 = (self.0 << 32) ^ u64::from(v);
    }

    fn write_u8(&mut self, v: u8) {
        self.0 = (self.0 << 1) ^ u64::from(v);
    }
}

/// An inline-cache entry: jump to `addr` when the target is `va`.
#[derive(Debug, Default)]
#[repr(C)]
struct Ic {
    addr: Cell<u64>,
    va: Cell<u32>,
}

/// Heap data a block's code reads: its direct exits' links and its
/// indirect exit's inline cache; and what Rust keeps beside them.
#[derive(Debug, Default)]
#[repr(C)]
struct Data {
    /// Direct exits 0 and 1: where the exit jumps (the successor's entry,
    /// or the exit's stub).
    links: [Cell<u64>; 2],
    /// Inline-cache hits (guest-visible: they count as the engine's
    /// indirect lookups). Per block, not one for all: a single counter
    /// bumped by every hit would be a chain of dependent memory increments
    /// as long as the run.
    ic_hits: Cell<u64>,
    /// The indirect exit's two-entry inline cache.
    ic: [Ic; 2],
    /// The entry the next fill replaces.
    ic_next: Cell<u32>,
    /// The block each link leads to once validated.
    link_to: [Cell<Option<BlockId>>; 2],
    /// The direct exits' stubs (they leave to Rust).
    stubs: [Cell<u64>; 2],
    /// Where a stale inline-cache entry leads (a miss).
    ic_stub: Cell<u64>,
}

/// What a host-code offset is, for listings.
#[derive(Clone, Debug)]
enum Mark {
    /// Guest instruction `i` starts here.
    Guest(usize),
    /// A callback into Rust (a load or store slow path).
    Callout(&'static str),
    /// Direct exit `k`'s chain jump.
    Chain(usize),
    /// The entry, or the start of a part of the code.
    Entry(&'static str),
}

/// A compiled block.
#[derive(Debug)]
struct Compiled {
    va: u32,
    hpa: u32,
    generation: u32,
    user: bool,
    len: usize,
    /// Every op can run as host code (else the portable backend runs it).
    native: bool,
    exits: Vec<u32>,
    /// The translation (host code is generated from it once the block is
    /// hot; listings show its guest instructions).
    t: Translation,
    /// Host code, once generated.
    host: Option<HostCode>,
    /// Runs on the portable backend so far (before host code).
    runs: u32,
    data: Rc<Data>,
    /// Links into this block: (from, exit).
    incoming: HashSet<(BlockId, usize)>,
}

/// A block's host code.
#[derive(Debug)]
struct HostCode {
    code: Placed,
    /// Offset of the entry.
    entry: u64,
    marks: Vec<(u64, Mark)>,
}

impl Compiled {
    /// The address of the host code's entry, once there is host code.
    fn entry(&self) -> Option<u64> {
        self.host.as_ref().map(|h| h.code.addr() + h.entry)
    }
}

/// Runs a block has on the portable backend before it gets host code: most
/// blocks of a program run a few times (start-up, printing), and compiling
/// one costs about as much as running it a few hundred times there.
pub const HOT_RUNS: u32 = 16;

/// The x86-64 backend.
#[derive(Debug)]
pub struct X86Backend {
    slots: Vec<Option<Compiled>>,
    portable: PortableBackend,
    trampoline: Code,
    arena: Arena,
    ctx: Box<Ctx>,
    stats: BackendStats,
    compile_ns: u64,
    /// Compiled blocks by guest address and privilege (user = true), for
    /// indirect jumps.
    by_va: HashMap<(u32, bool), BlockId, BuildHasherDefault<AddrHasher>>,
    /// Resolve indirect jumps in the backend (inline caches, own lookup).
    indirect_caches: bool,
    /// The link the engine patched (or confirmed) before the current run:
    /// (from, exit, to).
    pending_link: Option<(BlockId, usize, BlockId)>,
    /// Runs a block has on the portable backend before it gets host code
    /// ([`HOT_RUNS`]; 0 with listings on: every block at once).
    hot_runs: u32,
}

/// Adds what generated code counted in a block's data to `stats` (the
/// block is being dropped).
fn fold_counts(stats: &mut BackendStats, d: &Data) {
    stats.indirect_lookups += d.ic_hits.get();
}

/// A displacement from a field offset.
fn off(o: usize) -> i32 {
    o as i32
}

/// A guest register's slot.
fn reg_off(r: u8) -> i32 {
    off(offset_of!(Ctx, regs)) + 4 * i32::from(r)
}

/// One host register in its four widths.
#[derive(Clone, Copy)]
struct Host {
    r32: AsmRegister32,
    r64: AsmRegister64,
    r16: AsmRegister16,
    r8: AsmRegister8,
}

/// Shorthand for [`Host`].
const fn host(d: AsmRegister32, q: AsmRegister64, w: AsmRegister16, b: AsmRegister8) -> Host {
    Host {
        r32: d,
        r64: q,
        r16: w,
        r8: b,
    }
}

/// Guest registers kept in host registers inside generated code (the most
/// used ones of the compute kernels): (guest number, host register, host
/// register is callee-saved). The trampoline loads them, the exit stub
/// stores them back; caller-saved ones are saved around callbacks.
const PINNED: [(u8, Host, bool); 10] = [
    (8, host(ebx, rbx, bx, bl), true),        // t0
    (9, host(ebp, rbp, bp, bpl), true),       // t1
    (3, host(r12d, r12, r12w, r12b), true),   // a0
    (12, host(r13d, r13, r13w, r13b), true),  // s0
    (10, host(r8d, r8, r8w, r8b), false),     // t2
    (4, host(r9d, r9, r9w, r9b), false),      // a1
    (2, host(r10d, r10, r10w, r10b), false),  // sp
    (11, host(r11d, r11, r11w, r11b), false), // t3
    (1, host(edi, rdi, di, dil), false),      // ra
    (13, host(ecx, rcx, cx, cl), false),      // s1
];

/// The host register guest register `r` lives in, if pinned.
fn pinned(r: u8) -> Option<AsmRegister32> {
    pinned_host(r).map(|h| h.r32)
}

/// The host register guest register `r` lives in, in all widths, if pinned.
fn pinned_host(r: u8) -> Option<Host> {
    PINNED.iter().find(|p| p.0 == r).map(|p| p.1)
}

impl Default for X86Backend {
    fn default() -> X86Backend {
        X86Backend::new()
    }
}

/// True when generated code handles `op` natively.
fn native_op(op: &Op) -> bool {
    matches!(op, Op::Guest(instr) if instr.is_computational())
}

/// The code generator for one block.
struct Gen<'a> {
    a: CodeAssembler,
    id: u32,
    data: &'a Data,
    /// Out-of-line exit paths, emitted after the body.
    tails: Vec<(CodeLabel, Tail)>,
    /// Out-of-line load and store slow paths, emitted after the body.
    slow: Vec<memory::Slow>,
    /// Marks by the index of the instruction they precede.
    marks: Vec<(usize, Mark)>,
    /// The direct exits' stubs, once an exit uses them.
    stubs: [Option<CodeLabel>; 2],
    /// The inline cache's stale-entry stub.
    ic_stub: Option<CodeLabel>,
}

/// An out-of-line exit.
#[derive(Clone, Copy)]
enum Tail {
    /// Leave with `code`, `done` instructions retired, op index `op`.
    Leave { code: u64, done: u32, op: u32 },
}

type R = Result<(), iced_x86::IcedError>;

impl Backend for X86Backend {
    fn name(&self) -> &'static str {
        "x86-64"
    }

    fn compile(&mut self, id: BlockId, t: &Translation) {
        let start = std::time::Instant::now();
        self.compile_block(id, t);
        self.compile_ns += start.elapsed().as_nanos() as u64;
        if self.hot_runs == 0 {
            self.ensure_host(id);
        }
    }

    fn run(&mut self, id: BlockId, m: &mut Machine, vcpu: &mut dyn VirtualCpu) -> BlockExit {
        self.run_blocks(id, m, vcpu)
    }

    fn chain(&mut self, from: BlockId, exit: usize, to: BlockId) {
        // Blocks run by the portable backend chain there.
        self.portable.chain(from, exit, to);
        let target = match self.slots.get(to) {
            Some(Some(b)) => b.va,
            _ => return,
        };
        let Some(Some(f)) = self.slots.get(from) else {
            return;
        };
        if exit >= f.exits.len() || f.exits[exit] != target || !f.native {
            return;
        }
        // The engine validated `to` just now: the run that follows points
        // the link at it (live in the epoch it starts in).
        self.pending_link = Some((from, exit, to));
        if f.data.link_to[exit].get() == Some(to) {
            return;
        }
        // Unlink whatever the exit pointed to before.
        if let Some(old) = f.data.link_to[exit].get() {
            if let Some(Some(b)) = self.slots.get_mut(old) {
                b.incoming.remove(&(from, exit));
            }
        }
        if let Some(Some(f)) = self.slots.get(from) {
            // Validated when the run that follows starts.
            f.data.links[exit].set(f.data.stubs[exit].get());
            f.data.link_to[exit].set(Some(to));
        }
        if let Some(Some(t)) = self.slots.get_mut(to) {
            t.incoming.insert((from, exit));
        }
        self.stats.chain_patches += 1;
    }

    fn discard(&mut self, id: BlockId) {
        // Links and inline caches may lead to it: back to their stubs.
        self.ctx.live.reset();
        self.pending_link = None;
        self.unlink_into(id);
        // Links out of the block die with it; drop it from its successors'
        // incoming sets.
        let outgoing: Vec<BlockId> = match self.slots.get(id) {
            Some(Some(b)) => b.data.link_to.iter().filter_map(Cell::get).collect(),
            _ => return,
        };
        for to in outgoing {
            if let Some(Some(b)) = self.slots.get_mut(to) {
                b.incoming.retain(|(f, _)| *f != id);
            }
        }
        self.portable.discard(id);
        if let Some(s) = self.slots.get_mut(id) {
            if let Some(b) = s.take() {
                fold_counts(&mut self.stats, &b.data);
                if let Some(h) = &b.host {
                    self.arena.release(&h.code);
                }
                if self.by_va.get(&(b.va, b.user)) == Some(&id) {
                    self.by_va.remove(&(b.va, b.user));
                }
            }
        }
    }

    fn flush(&mut self) {
        self.ctx.live.reset();
        self.pending_link = None;
        for b in self.slots.iter().flatten() {
            fold_counts(&mut self.stats, &b.data);
        }
        self.slots.clear();
        self.arena.clear();
        self.by_va.clear();
        self.portable.flush();
    }

    fn stats(&self) -> BackendStats {
        let mut s = self.stats;
        s.inline_ops = self.portable.stats().inline_ops;
        // Plus what generated code counted in the blocks still held.
        for b in self.slots.iter().flatten() {
            s.indirect_lookups += b.data.ic_hits.get();
        }
        s
    }

    fn listing(&self, id: BlockId) -> Vec<String> {
        listing(self, id)
    }

    fn set_listings(&mut self, on: bool) {
        self.set_eager(on);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ctx_layout_is_what_the_code_assumes() {
        assert_eq!(offset_of!(Ctx, regs), 0);
        assert!(offset_of!(Ctx, left) >= 64);
    }
}
