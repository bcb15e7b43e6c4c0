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
//! | `ebx` `ebp` `r12d` `r13d` `r8d`..`r11d` `edi` | pinned guest registers (`PINNED`) |
//! | `rax`, `rcx`, `rdx`, `rsi` | scratch and callback arguments (`rdi` too, at a callback) |
//!
//! Every block begins with a *chain entry* that checks the block was
//! validated in the current chain epoch (the machine's TLB and code
//! generations unchanged since: [`Machine::engine_chain_epoch`]), then the
//! *entry*: `cmp r14, len; jb room-exit`, so a block runs only when all of it
//! fits before the next event check and an interrupt lands exactly where
//! the interpreter takes it. ALU ops, branches and jumps are native; an
//! aligned load or store in the identity window (paging off) touches guest
//! RAM directly (a store only when its frame's watch byte says no
//! protection and no cached code), every other one calls into Rust (the
//! machine's own load and store paths, so TLB, faults, write protection
//! and code invalidation are the shared code). Direct exits jump through a link in heap memory (RW, never
//! executable), patched by [`Backend::chain`], to the successor's chain
//! entry, with no return to Rust. Blocks holding inline operations,
//! callouts or native system instructions run through the embedded
//! [`PortableBackend`] (their native code is only the chain entry and an
//! exit), as does a block that does not fit before the next event check.

#[allow(unsafe_code)]
mod exec_mem;

use std::cell::Cell;
use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};
use std::mem::offset_of;

use iced_x86::code_asm::{
    AsmRegister32, CodeAssembler, CodeLabel, byte_ptr, dl, dword_ptr, dx, eax, ebp, ebx, ecx, edi,
    edx, esi, qword_ptr, r8d, r9d, r10d, r11d, r12, r12d, r13, r13d, r14, r15, rax, rbp, rbx, rcx,
    rdi, rdx, rsi, rsp, word_ptr,
};
use iced_x86::{Decoder, DecoderOptions, Formatter, IntelFormatter};
use vmlab_isa::{AluOp, BranchCond, Exception, ImmOp, Instr, LoadOp, Width};
use vmlab_machine::engine_support::EngineStop;
use vmlab_machine::{HostPhys, Machine};

use crate::backend::{Backend, BackendStats, BlockExit, BlockId};
use crate::ir::{BlockEnd, Op, Privilege, Translation};
use crate::portable::PortableBackend;
use crate::vcpu::VirtualCpu;

use exec_mem::{Arena, Code, Placed};

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
    /// The current chain epoch.
    epoch: u64,
    /// Transfers through chains.
    chained: u64,
    /// Indirect jumps that hit an inline cache.
    indirect: u64,
    /// The inline caches' generation.
    ic_gen: u64,
    /// The exit stub's address.
    exit_fn: u64,
    /// The load callbacks' addresses, by `LoadOp::ALL` index.
    load_fn: [u64; 5],
    /// The store callbacks' addresses: byte, half, word.
    store_fn: [u64; 3],
    /// The block that exited.
    block: u32,
    /// The op index of a stop.
    op: u32,
    /// An indirect jump's target.
    pc: u32,
    _pad: u32,
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
}

/// Exit codes in `rax` (the direct exit number is added to `DIRECT`).
mod exit {
    pub(super) const DIRECT: u64 = 0;
    pub(super) const INDIRECT: u64 = 8;
    pub(super) const ROOM: u64 = 9;
    pub(super) const VALIDATE: u64 = 10;
    pub(super) const PORTABLE: u64 = 11;
    pub(super) const STOP: u64 = 12;
    pub(super) const DIVZERO: u64 = 13;
    pub(super) const CUT: u64 = 14;
}

/// The chain epoch of machine `m` as the context holds it (the privilege is
/// part of it: a block validated for one privilege is not for the other).
fn epoch_of(m: &Machine) -> u64 {
    (m.engine_chain_epoch() << 1) | u64::from(m.engine_user())
}

/// Load callback body (see [`exec_mem::load_helper`]).
#[inline(always)]
fn do_load(ctx: &mut Ctx, m: &mut Machine, va: u32, op: usize) -> u64 {
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
fn do_store(ctx: &mut Ctx, m: &mut Machine, va: u32, value: u32, width: u32) -> u64 {
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
fn refresh_window(ctx: &mut Ctx, m: &mut Machine) {
    ctx.flat = m.engine_flat_limit();
    ctx.watch = m.engine_store_watch().as_ptr() as u64;
    ctx.ram = m.engine_ram_mut().as_mut_ptr() as u64;
}

/// After a callback: a walk that filled the TLB starts a new chain epoch.
fn note_epoch(ctx: &mut Ctx, m: &Machine) {
    let e = epoch_of(m);
    if e != ctx.machine_epoch {
        ctx.machine_epoch = e;
        ctx.epoch = ctx.epoch.wrapping_add(2);
    }
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

/// Heap data a block's code reads: its validation epoch and its direct
/// exits' links (the successor's chain entry, or 0).
#[derive(Debug, Default)]
#[repr(C)]
struct Data {
    epoch: Cell<u64>,
    /// Direct exits 0 and 1.
    links: [Cell<u64>; 2],
    /// The indirect exit's two-entry inline cache: successors' chain
    /// entries, valid while `ic_gen` equals the context's (bumped whenever
    /// any block is dropped).
    ic: [Cell<u64>; 2],
    /// The guest addresses the inline cache holds.
    ic_va: [Cell<u32>; 2],
    ic_gen: Cell<u64>,
    /// The entry the next fill replaces.
    ic_next: Cell<u32>,
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
    /// The chain entry / the entry.
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
    native: bool,
    exits: Vec<u32>,
    code: Placed,
    data: Box<Data>,
    /// Offset of the entry (after the chain entry).
    entry: u64,
    marks: Vec<(u64, Mark)>,
    guest: Vec<(u32, String)>,
    /// Links into this block: (from, exit).
    incoming: HashSet<(BlockId, usize)>,
}

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
}

/// Why the backend could not be built.
fn build_trampoline() -> Result<(Code, u64), String> {
    let mut a = CodeAssembler::new(64).map_err(|e| e.to_string())?;
    let mut exit_label = a.create_label();
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
            a.mov(h, dword_ptr(r15 + reg_off(g)))?;
        }
        a.jmp(rsi)?;
        // The exit stub: exit code in rax.
        a.set_label(&mut exit_label)?;
        a.mov(qword_ptr(r15 + off(offset_of!(Ctx, left))), r14)?;
        for (g, h, _) in PINNED {
            a.mov(dword_ptr(r15 + reg_off(g)), h)?;
        }
        a.add(rsp, 8)?;
        a.pop(r15)?;
        a.pop(r14)?;
        a.pop(r13)?;
        a.pop(r12)?;
        a.pop(rbp)?;
        a.pop(rbx)?;
        a.ret()?;
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
    Ok((code, stub))
}

/// A displacement from a field offset.
fn off(o: usize) -> i32 {
    o as i32
}

/// A guest register's slot.
fn reg_off(r: u8) -> i32 {
    off(offset_of!(Ctx, regs)) + 4 * i32::from(r)
}

/// Guest registers kept in host registers inside generated code (the most
/// used ones of the compute kernels): (guest number, host register, host
/// register is callee-saved). The trampoline loads them, the exit stub
/// stores them back; caller-saved ones are saved around callbacks.
const PINNED: [(u8, AsmRegister32, bool); 9] = [
    (8, ebx, true),    // t0
    (9, ebp, true),    // t1
    (3, r12d, true),   // a0
    (12, r13d, true),  // s0
    (10, r8d, false),  // t2
    (4, r9d, false),   // a1
    (2, r10d, false),  // sp
    (11, r11d, false), // t3
    (1, edi, false),   // ra
];

/// The host register guest register `r` lives in, if pinned.
fn pinned(r: u8) -> Option<AsmRegister32> {
    PINNED.iter().find(|p| p.0 == r).map(|p| p.1)
}

impl X86Backend {
    /// A backend with no blocks.
    ///
    /// # Panics
    /// If the host refuses an executable mapping.
    pub fn new() -> X86Backend {
        let (trampoline, exit_stub) =
            build_trampoline().expect("x86-64 backend: cannot map executable memory");
        let ctx = Box::new(Ctx {
            regs: [0; 16],
            left: 0,
            pending: 0,
            epoch: 2,
            chained: 0,
            indirect: 0,
            ic_gen: 1,
            exit_fn: exit_stub,
            load_fn: [
                exec_mem::load_helper::<0> as *const () as usize as u64,
                exec_mem::load_helper::<1> as *const () as usize as u64,
                exec_mem::load_helper::<2> as *const () as usize as u64,
                exec_mem::load_helper::<3> as *const () as usize as u64,
                exec_mem::load_helper::<4> as *const () as usize as u64,
            ],
            store_fn: [
                exec_mem::store_helper::<1> as *const () as usize as u64,
                exec_mem::store_helper::<2> as *const () as usize as u64,
                exec_mem::store_helper::<4> as *const () as usize as u64,
            ],
            block: 0,
            op: 0,
            pc: 0,
            _pad: 0,
            ram: 0,
            flat: 0,
            watch: 0,
            _pad2: 0,
            machine: std::ptr::null_mut(),
            machine_epoch: 0,
            stop: None,
        });
        X86Backend {
            slots: Vec::new(),
            portable: PortableBackend::new(),
            trampoline,
            arena: Arena::default(),
            ctx,
            stats: BackendStats::default(),
            compile_ns: 0,
            by_va: HashMap::default(),
            indirect_caches: false,
        }
    }

    /// A backend that resolves indirect jumps itself, with a two-entry
    /// inline cache per `jalr` and its own lookup on a miss, instead of
    /// returning every one to the engine. They still count as the engine's
    /// indirect lookups ([`BackendStats::indirect_lookups`] is folded into
    /// its counters), but a wrapper that prices
    /// [`BlockExit::Indirect`] exits as they happen (the monitor's bt mode)
    /// would miss them: it wants [`X86Backend::new`].
    pub fn with_indirect_caches() -> X86Backend {
        let mut b = X86Backend::new();
        b.indirect_caches = true;
        b
    }

    /// Blocks compiled to native code (not left to the portable backend)
    /// that are currently held.
    pub fn native_blocks(&self) -> u64 {
        self.slots.iter().flatten().filter(|b| b.native).count() as u64
    }

    /// Host time spent compiling blocks (lowering, assembly, mapping), in
    /// nanoseconds.
    pub fn compile_ns(&self) -> u64 {
        self.compile_ns
    }

    /// Host addresses of the mappings holding generated code (for the W^X
    /// test): the trampoline's and every block's.
    pub fn code_ranges(&self) -> Vec<(u64, u64)> {
        let mut v = vec![(
            self.trampoline.addr(),
            self.trampoline.addr() + self.trampoline.bytes().len() as u64,
        )];
        for b in self.slots.iter().flatten() {
            v.push((b.code.addr(), b.code.addr() + b.code.bytes().len() as u64));
        }
        v
    }

    /// Runs a block that cannot (or need not) run natively through the
    /// portable backend: its result is the run's.
    fn run_portable(
        &mut self,
        id: BlockId,
        m: &mut Machine,
        vcpu: &mut dyn VirtualCpu,
    ) -> BlockExit {
        self.portable.run(id, m, vcpu)
    }

    /// True when block `id` may be entered now (the dispatcher's checks).
    fn valid(&self, id: BlockId, m: &Machine) -> bool {
        let Some(Some(b)) = self.slots.get(id) else {
            return false;
        };
        b.user == m.engine_user()
            && m.engine_fetch_peek(b.va).is_some_and(|h| h.0 == b.hpa)
            && m.engine_code_generation(HostPhys(b.hpa)) == b.generation
    }

    /// The block to continue with at `pc` after an indirect jump, if one
    /// is compiled and may be entered now (what the engine's lookup would
    /// find: same address, privilege, fetch translation and generation).
    fn lookup_indirect(&self, pc: u32, m: &Machine) -> Option<BlockId> {
        let to = *self.by_va.get(&(pc, m.engine_user()))?;
        (m.engine_room() > 0 && self.valid(to, m)).then_some(to)
    }

    /// Puts block `to` (at `pc`) into `from`'s indirect inline cache.
    fn fill_inline_cache(&mut self, from: BlockId, pc: u32, to: BlockId) {
        let (Some(Some(f)), Some(Some(t))) = (self.slots.get(from), self.slots.get(to)) else {
            return;
        };
        let d = &f.data;
        if d.ic_gen.get() != self.ctx.ic_gen {
            d.ic_gen.set(self.ctx.ic_gen);
            for e in &d.ic {
                e.set(0);
            }
        }
        let k = d.ic_next.get() as usize & 1;
        d.ic_next.set((k as u32) ^ 1);
        d.ic_va[k].set(pc);
        d.ic[k].set(t.code.addr());
    }

    fn unlink_into(&mut self, id: BlockId) {
        let incoming = match self.slots.get_mut(id) {
            Some(Some(b)) => std::mem::take(&mut b.incoming),
            _ => return,
        };
        for (from, k) in incoming {
            if let Some(Some(f)) = self.slots.get(from) {
                f.data.links[k].set(0);
            }
        }
    }
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
    /// Marks by the index of the instruction they precede.
    marks: Vec<(usize, Mark)>,
}

/// An out-of-line exit.
#[derive(Clone, Copy)]
enum Tail {
    /// Leave with `code`, `done` instructions retired, op index `op`.
    Leave { code: u64, done: u32, op: u32 },
}

type R = Result<(), iced_x86::IcedError>;

impl Gen<'_> {
    fn load(&mut self, dst: AsmRegister32, r: u8) -> R {
        if r == 0 {
            self.a.xor(dst, dst)
        } else if let Some(h) = pinned(r) {
            self.a.mov(dst, h)
        } else {
            self.a.mov(dst, dword_ptr(r15 + reg_off(r)))
        }
    }

    fn store(&mut self, r: u8, src: AsmRegister32) -> R {
        if r == 0 {
            Ok(())
        } else if let Some(h) = pinned(r) {
            self.a.mov(h, src)
        } else {
            self.a.mov(dword_ptr(r15 + reg_off(r)), src)
        }
    }

    /// `r = value`.
    fn set(&mut self, r: u8, value: u32) -> R {
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
                    self.a.mov(h, dword_ptr(r15 + reg_off(g)))?;
                } else {
                    self.a.mov(dword_ptr(r15 + reg_off(g)), h)?;
                }
            }
        }
        Ok(())
    }

    fn mark(&mut self, m: Mark) -> R {
        self.marks.push((self.a.instructions().len(), m));
        Ok(())
    }

    /// Retires `n` instructions (no flags are needed after it).
    fn retire(&mut self, n: u32) -> R {
        if n > 0 {
            self.a.sub(r14, n as i32)?;
        }
        Ok(())
    }

    /// A jump to an out-of-line exit.
    fn leave_if(&mut self, jcc: fn(&mut CodeAssembler, CodeLabel) -> R, t: Tail) -> R {
        let l = self.a.create_label();
        jcc(&mut self.a, l)?;
        self.tails.push((l, t));
        Ok(())
    }

    /// Leaves right here with `code` (after retiring already).
    fn leave_now(&mut self, code: u64) -> R {
        self.a
            .mov(dword_ptr(r15 + off(offset_of!(Ctx, block))), self.id)?;
        self.a.mov(eax, code as u32)?;
        self.a.jmp(qword_ptr(r15 + off(offset_of!(Ctx, exit_fn))))
    }

    /// An indirect jump (target in `eax` and `ctx.pc`): through the inline
    /// cache when it holds the target, else to Rust for a lookup.
    fn indirect_exit(&mut self) -> R {
        self.mark(Mark::Chain(2))?;
        let a = &mut self.a;
        let mut miss = a.create_label();
        let mut second = a.create_label();
        let mut hit = a.create_label();
        a.mov(rcx, self.data as *const Data as u64)?;
        a.mov(rdx, qword_ptr(rcx + off(offset_of!(Data, ic_gen))))?;
        a.cmp(rdx, qword_ptr(r15 + off(offset_of!(Ctx, ic_gen))))?;
        a.jne(miss)?;
        a.cmp(eax, dword_ptr(rcx + off(offset_of!(Data, ic_va))))?;
        a.jne(second)?;
        a.mov(rax, qword_ptr(rcx + off(offset_of!(Data, ic))))?;
        a.jmp(hit)?;
        a.set_label(&mut second)?;
        a.cmp(eax, dword_ptr(rcx + off(offset_of!(Data, ic_va)) + 4))?;
        a.jne(miss)?;
        a.mov(rax, qword_ptr(rcx + off(offset_of!(Data, ic)) + 8))?;
        a.set_label(&mut hit)?;
        a.test(rax, rax)?;
        a.jz(miss)?;
        a.inc(qword_ptr(r15 + off(offset_of!(Ctx, indirect))))?;
        a.jmp(rax)?;
        a.set_label(&mut miss)?;
        self.leave_now(exit::INDIRECT)
    }

    /// Direct exit `k`: through its link if patched, else to the engine.
    fn chain_exit(&mut self, k: usize) -> R {
        self.mark(Mark::Chain(k))?;
        let link = self.data.links[k].as_ptr() as u64;
        self.a.mov(rax, link)?;
        self.a.mov(rax, qword_ptr(rax))?;
        self.a.test(rax, rax)?;
        let mut unlinked = self.a.create_label();
        self.a.jz(unlinked)?;
        self.a.inc(qword_ptr(r15 + off(offset_of!(Ctx, chained))))?;
        self.a.jmp(rax)?;
        self.a.set_label(&mut unlinked)?;
        self.leave_now(exit::DIRECT + k as u64)
    }

    /// The out-of-line exits, after the body.
    fn tails(&mut self) -> R {
        let tails = std::mem::take(&mut self.tails);
        for (mut l, Tail::Leave { code, done, op }) in tails {
            self.a.set_label(&mut l)?;
            self.a.mov(dword_ptr(r15 + off(offset_of!(Ctx, op))), op)?;
            self.retire(done)?;
            self.leave_now(code)?;
        }
        Ok(())
    }

    fn call(&mut self, field: usize, what: &'static str) -> R {
        self.save_pinned(false)?;
        self.a.mov(rdi, r15)?;
        self.mark(Mark::Callout(what))?;
        self.a.call(qword_ptr(r15 + off(field)))?;
        self.save_pinned(true)
    }

    /// Sets the flags as `cmp x, y` would.
    fn compare(&mut self, x: u8, y: u8) -> R {
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

    fn alu(&mut self, op: AluOp, d: u8, x: u8, y: u8, i: u32) -> R {
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

    fn alu_imm(&mut self, op: ImmOp, d: u8, x: u8, imm: i32) -> R {
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
            let a = &mut self.a;
            let sh = (imm as u32 & 31) as i32;
            match op {
                ImmOp::Add if imm == 0 => {}
                ImmOp::Add => a.add(hd, imm)?,
                ImmOp::And => a.and(hd, imm)?,
                ImmOp::Or => a.or(hd, imm)?,
                ImmOp::Xor => a.xor(hd, imm)?,
                ImmOp::Sll => a.shl(hd, sh)?,
                ImmOp::Srl => a.shr(hd, sh)?,
                ImmOp::Sra => a.sar(hd, sh)?,
                ImmOp::Slt | ImmOp::Sltu => {
                    a.cmp(hd, imm)?;
                    if op == ImmOp::Slt {
                        a.setl(iced_x86::code_asm::al)?;
                    } else {
                        a.setb(iced_x86::code_asm::al)?;
                    }
                    a.movzx(hd, iced_x86::code_asm::al)?;
                }
            }
            return Ok(());
        }
        self.load(eax, x)?;
        let a = &mut self.a;
        let sh = (imm as u32 & 31) as i32;
        match op {
            ImmOp::Add => a.add(eax, imm)?,
            ImmOp::And => a.and(eax, imm)?,
            ImmOp::Or => a.or(eax, imm)?,
            ImmOp::Xor => a.xor(eax, imm)?,
            ImmOp::Sll => a.shl(eax, sh)?,
            ImmOp::Srl => a.shr(eax, sh)?,
            ImmOp::Sra => a.sar(eax, sh)?,
            ImmOp::Slt | ImmOp::Sltu => {
                a.cmp(eax, imm)?;
                if op == ImmOp::Slt {
                    a.setl(iced_x86::code_asm::al)?;
                } else {
                    a.setb(iced_x86::code_asm::al)?;
                }
                a.movzx(eax, iced_x86::code_asm::al)?;
            }
        }
        self.store(d, eax)
    }
}

/// The compiled form of `t`: code bytes, entry offset, marks.
fn generate(
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

struct Generated {
    bytes: Vec<u8>,
    entry: u64,
    marks: Vec<(u64, Mark)>,
}

impl X86Backend {
    fn compile_block(&mut self, id: BlockId, t: &Translation) {
        self.discard(id);
        self.portable.compile(id, t);
        let native = t.ops.iter().all(|o| native_op(&o.op));
        let data = Box::<Data>::default();
        let g = generate(id, t, &data, native, self.indirect_caches)
            .expect("x86-64 backend: assembly failed");
        let code = self
            .arena
            .place(&g.bytes)
            .expect("x86-64 backend: cannot map executable memory");
        self.stats.compiled += 1;
        self.stats.code_bytes += g.bytes.len() as u64;
        if self.slots.len() <= id {
            self.slots.resize_with(id + 1, || None);
        }
        self.slots[id] = Some(Compiled {
            va: t.va,
            hpa: t.hpa,
            generation: t.generation,
            user: t.privilege == Privilege::User,
            len: t.len(),
            native,
            exits: t.direct_exits(),
            code,
            data,
            entry: g.entry,
            marks: g.marks,
            guest: t.ops.iter().map(|o| (o.pc, describe_op(o))).collect(),
            incoming: HashSet::new(),
        });
        self.by_va
            .insert((t.va, t.privilege == Privilege::User), id);
    }

    fn run_blocks(&mut self, id: BlockId, m: &mut Machine, vcpu: &mut dyn VirtualCpu) -> BlockExit {
        // The engine validated `id`; chains out of it revalidate their
        // targets whenever the machine's chain epoch moved.
        let me = epoch_of(m);
        if me != self.ctx.machine_epoch {
            self.ctx.machine_epoch = me;
            self.ctx.epoch = self.ctx.epoch.wrapping_add(2);
        }
        let mut id = id;
        for r in 1..16u8 {
            self.ctx.regs[r as usize] = m.engine_get(r);
        }
        loop {
            let Some(Some(b)) = self.slots.get(id) else {
                return BlockExit::Continue;
            };
            if !b.native || m.engine_room() < b.len as u64 {
                return self.run_portable(id, m, vcpu);
            }
            b.data.epoch.set(self.ctx.epoch);
            let target = b.code.addr() + b.entry;
            let room = m.engine_room();
            self.ctx.left = room;
            self.ctx.pending = 0;
            self.ctx.stop = None;
            let chained_before = self.ctx.chained;
            let indirect_before = self.ctx.indirect;
            let code = exec_mem::enter(&self.trampoline, target, &mut self.ctx, m);
            self.ctx.pending = room - self.ctx.left;
            self.stats.chained_transfers += self.ctx.chained - chained_before;
            self.stats.indirect_lookups += self.ctx.indirect - indirect_before;
            m.engine_commit(self.ctx.pending);
            self.ctx.pending = 0;
            for r in 1..16u8 {
                m.engine_set(r, self.ctx.regs[r as usize]);
            }
            let from = self.ctx.block as BlockId;
            let Some(Some(fb)) = self.slots.get(from) else {
                return BlockExit::Continue;
            };
            let at = |i: u32| fb.va.wrapping_add(4 * i);
            match code {
                exit::INDIRECT => {
                    let pc = self.ctx.pc;
                    m.set_pc(pc);
                    if let Some(to) = self
                        .indirect_caches
                        .then(|| self.lookup_indirect(pc, m))
                        .flatten()
                    {
                        self.fill_inline_cache(from, pc, to);
                        self.stats.indirect_lookups += 1;
                        id = to;
                        continue;
                    }
                    return BlockExit::Indirect { pc };
                }
                exit::ROOM | exit::PORTABLE => {
                    m.set_pc(fb.va);
                    return self.run_portable(from, m, vcpu);
                }
                exit::VALIDATE => {
                    m.set_pc(fb.va);
                    if m.engine_room() > 0 && self.valid(from, m) {
                        self.stats.chained_transfers += 1;
                        id = from;
                        continue;
                    }
                    return BlockExit::Continue;
                }
                exit::STOP | exit::DIVZERO => {
                    let stop = if code == exit::DIVZERO {
                        EngineStop::Trap(Exception::DivideByZero, 0)
                    } else {
                        self.ctx
                            .stop
                            .take()
                            .unwrap_or(EngineStop::Trap(Exception::BusError, 0))
                    };
                    m.set_pc(at(self.ctx.op));
                    return match m.engine_deliver(stop) {
                        Some(exit) => BlockExit::Exit { from, exit },
                        None => BlockExit::Continue,
                    };
                }
                exit::CUT => {
                    m.set_pc(at(self.ctx.op + 1));
                    return BlockExit::Continue;
                }
                k => {
                    let k = k as usize;
                    let pc = fb.exits.get(k).copied().unwrap_or(fb.va);
                    m.set_pc(pc);
                    return BlockExit::Direct { from, exit: k, pc };
                }
            }
        }
    }
}

impl Backend for X86Backend {
    fn name(&self) -> &'static str {
        "x86-64"
    }

    fn compile(&mut self, id: BlockId, t: &Translation) {
        let start = std::time::Instant::now();
        self.compile_block(id, t);
        self.compile_ns += start.elapsed().as_nanos() as u64;
    }

    fn run(&mut self, id: BlockId, m: &mut Machine, vcpu: &mut dyn VirtualCpu) -> BlockExit {
        self.run_blocks(id, m, vcpu)
    }

    fn chain(&mut self, from: BlockId, exit: usize, to: BlockId) {
        // Blocks run by the portable backend chain there.
        self.portable.chain(from, exit, to);
        let target = match self.slots.get(to) {
            Some(Some(b)) => (b.va, b.code.addr()),
            _ => return,
        };
        let Some(Some(f)) = self.slots.get(from) else {
            return;
        };
        if exit >= f.exits.len() || f.exits[exit] != target.0 || !f.native {
            return;
        }
        if f.data.links[exit].get() == target.1 {
            return;
        }
        // Unlink whatever the exit pointed to before.
        let old = f.data.links[exit].get();
        if old != 0 {
            for b in self.slots.iter_mut().flatten() {
                if b.code.addr() == old {
                    b.incoming.remove(&(from, exit));
                }
            }
        }
        if let Some(Some(f)) = self.slots.get(from) {
            f.data.links[exit].set(target.1);
        }
        if let Some(Some(t)) = self.slots.get_mut(to) {
            t.incoming.insert((from, exit));
        }
        self.stats.chain_patches += 1;
    }

    fn discard(&mut self, id: BlockId) {
        // Inline caches may point at it: invalidate them all.
        self.ctx.ic_gen += 1;
        self.unlink_into(id);
        // Links out of the block die with it; drop it from its successors'
        // incoming sets.
        let outgoing: Vec<u64> = match self.slots.get(id) {
            Some(Some(b)) => b.data.links.iter().map(Cell::get).collect(),
            _ => return,
        };
        for b in self.slots.iter_mut().flatten() {
            if outgoing.contains(&b.code.addr()) {
                b.incoming.retain(|(f, _)| *f != id);
            }
        }
        self.portable.discard(id);
        if let Some(s) = self.slots.get_mut(id) {
            if let Some(b) = s.take() {
                self.arena.release(&b.code);
                if self.by_va.get(&(b.va, b.user)) == Some(&id) {
                    self.by_va.remove(&(b.va, b.user));
                }
            }
        }
    }

    fn flush(&mut self) {
        self.ctx.ic_gen += 1;
        self.slots.clear();
        self.arena.clear();
        self.by_va.clear();
        self.portable.flush();
    }

    fn stats(&self) -> BackendStats {
        let mut s = self.stats;
        s.inline_ops = self.portable.stats().inline_ops;
        s
    }

    fn listing(&self, id: BlockId) -> Vec<String> {
        listing(self, id)
    }
}

/// A guest instruction's text for listings.
fn describe_op(o: &crate::ir::TOp) -> String {
    match o.op {
        Op::Guest(i) => format!("{i}"),
        Op::Native(i) => format!("{i}   [native]"),
        Op::Callout(k, i) => format!("{i}   [callout {}]", k.name()),
        Op::PteStore(i) => format!("{i}   [pte-write]"),
        Op::Inline(op) => format!("{op}   [inline]"),
    }
}

/// The host disassembly of block `id` beside its guest code, QEMU
/// `in_asm`/`out_asm` style: guest instructions as `;;` headers, callouts
/// into Rust and chain points marked.
pub fn listing(backend: &X86Backend, id: BlockId) -> Vec<String> {
    let Some(Some(b)) = backend.slots.get(id) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    out.push(format!(
        ";; block {id} at {:#010x} ({} guest instrs, {} host bytes{})",
        b.va,
        b.len,
        b.code.bytes().len(),
        if b.native {
            ""
        } else {
            ", runs through the portable backend"
        }
    ));
    if !b.native {
        for (pc, g) in &b.guest {
            out.push(format!(";; {pc:#010x}: {g}"));
        }
    }
    let base = b.code.addr();
    let mut decoder = Decoder::with_ip(64, b.code.bytes(), base, DecoderOptions::NONE);
    let mut fmt = IntelFormatter::new();
    let mut marks = b.marks.iter().peekable();
    let mut text = String::new();
    let mut note = String::new();
    for instr in &mut decoder {
        let o = instr.ip() - base;
        while let Some((mo, m)) = marks.peek() {
            if *mo > o {
                break;
            }
            match m {
                Mark::Guest(i) => {
                    let (pc, s) = &b.guest[*i];
                    out.push(format!(";; {pc:#010x}: {s}"));
                }
                Mark::Entry(s) => out.push(format!(";; {s}")),
                Mark::Callout(s) => note = format!("   <- callout: {s}"),
                Mark::Chain(k) => note = format!("   <- chain point: exit {k}"),
            }
            marks.next();
        }
        if instr.code() == iced_x86::Code::Nopd {
            continue;
        }
        text.clear();
        fmt.format(&instr, &mut text);
        out.push(format!("  {:6x}  {text}{note}", o));
        note.clear();
    }
    out
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
