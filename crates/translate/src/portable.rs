//! The portable backend: predecoded threaded code, runs on every host.
//!
//! Each [`Translation`] is lowered once to a vector of [`POp`]s (register
//! numbers as indexes, immediates extended, pc-relative values and link
//! addresses resolved), which a tight `match` loop runs. Direct exits hold a
//! link to the next block's slot, followed without returning to the engine
//! while the event check is not due and the target's fetch translation and
//! code generation still match.

use vmlab_isa::{AluOp, BranchCond, Csr, Instr, LoadOp, Width};
use vmlab_machine::Machine;
use vmlab_machine::engine_support::EngineStop;

use crate::backend::{Backend, BackendStats, BlockExit, BlockId};
use crate::ir::{Callout, CalloutKind, InlineOp, Op, PendingStore, Privilege, Translation};
use crate::vcpu::VirtualCpu;

/// One predecoded operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum POp {
    /// `d = a op b` (register numbers).
    Alu { op: AluOp, d: u8, a: u8, b: u8 },
    /// `d = a + imm` and the other immediate forms.
    Imm {
        op: vmlab_isa::ImmOp,
        d: u8,
        a: u8,
        imm: i32,
    },
    /// `d = value` (`lui`; `auipc` with the pc added).
    Li { d: u8, value: u32 },
    /// A load.
    Load { op: LoadOp, d: u8, a: u8, off: u32 },
    /// A store.
    Store {
        width: Width,
        s: u8,
        a: u8,
        off: u32,
    },
    /// A store that calls out while its target page is protected.
    PteStore {
        width: Width,
        s: u8,
        a: u8,
        off: u32,
    },
    /// Inline: `d = vcpu.csr`.
    ReadCsr { d: u8, csr: Csr },
    /// Inline: `vcpu.csr = s`.
    WriteCsr { csr: Csr, s: u8 },
    /// Inline: `d = vcpu flags`.
    GetFlags { d: u8 },
    /// Inline: `vcpu.IE = s.IE`.
    SetFlags { s: u8 },
    /// `csrr`/`getf` as the hardware runs it (user code).
    NativeRead { word: u32 },
    /// A system instruction as the hardware runs it (ends the block).
    Native { word: u32 },
    /// A callout (ends the block).
    Callout { kind: CalloutKind },
    /// A conditional branch (ends the block: exit 0 taken, 1 not).
    Branch {
        cond: BranchCond,
        a: u8,
        b: u8,
        taken: u32,
    },
    /// `jal` (ends the block: exit 0).
    Jal { d: u8, target: u32 },
    /// `jalr` (ends the block: a lookup).
    Jalr { d: u8, a: u8, off: u32 },
}

/// A compiled block.
#[derive(Clone, Debug)]
struct Compiled {
    va: u32,
    hpa: u32,
    generation: u32,
    user: bool,
    ops: Vec<POp>,
    /// The guest instruction behind each op (for callouts).
    instrs: Vec<Instr>,
    /// Direct exits' targets and their links.
    exits: Vec<u32>,
    links: Vec<Option<BlockId>>,
}

/// The portable backend.
#[derive(Clone, Debug, Default)]
pub struct PortableBackend {
    slots: Vec<Option<Compiled>>,
    stats: BackendStats,
}

impl PortableBackend {
    /// An empty backend.
    pub fn new() -> PortableBackend {
        PortableBackend::default()
    }
}

/// Lowers one translated instruction at `pc`.
fn lower(op: Op, word: u32, pc: u32) -> POp {
    let n = |r: vmlab_isa::Reg| r.num();
    match op {
        Op::Guest(i) => match i {
            Instr::Alu { op, rd, rs1, rs2 } => POp::Alu {
                op,
                d: n(rd),
                a: n(rs1),
                b: n(rs2),
            },
            Instr::AluImm { op, rd, rs1, imm } => POp::Imm {
                op,
                d: n(rd),
                a: n(rs1),
                imm,
            },
            Instr::Lui { rd, imm } => POp::Li {
                d: n(rd),
                value: imm << 12,
            },
            Instr::Auipc { rd, imm } => POp::Li {
                d: n(rd),
                value: pc.wrapping_add(imm << 12),
            },
            Instr::Load { op, rd, rs1, off } => POp::Load {
                op,
                d: n(rd),
                a: n(rs1),
                off: off as u32,
            },
            Instr::Store {
                width,
                rs2,
                rs1,
                off,
            } => POp::Store {
                width,
                s: n(rs2),
                a: n(rs1),
                off: off as u32,
            },
            Instr::Branch {
                cond,
                rs1,
                rs2,
                off,
            } => POp::Branch {
                cond,
                a: n(rs1),
                b: n(rs2),
                taken: pc.wrapping_add(off as u32),
            },
            Instr::Jal { rd, off } => POp::Jal {
                d: n(rd),
                target: pc.wrapping_add(off as u32),
            },
            Instr::Jalr { rd, rs1, off } => POp::Jalr {
                d: n(rd),
                a: n(rs1),
                off: off as u32,
            },
            _ => POp::Native { word },
        },
        Op::Inline(InlineOp::ReadCsr { rd, csr }) => POp::ReadCsr { d: n(rd), csr },
        Op::Inline(InlineOp::WriteCsr { csr, rs1 }) => POp::WriteCsr { csr, s: n(rs1) },
        Op::Inline(InlineOp::GetFlags { rd }) => POp::GetFlags { d: n(rd) },
        Op::Inline(InlineOp::SetFlags { rs1 }) => POp::SetFlags { s: n(rs1) },
        Op::Callout(kind, _) => POp::Callout { kind },
        Op::PteStore(Instr::Store {
            width,
            rs2,
            rs1,
            off,
        }) => POp::PteStore {
            width,
            s: n(rs2),
            a: n(rs1),
            off: off as u32,
        },
        Op::PteStore(_) => POp::Native { word },
        Op::Native(Instr::Csrr { .. } | Instr::GetFlags { .. }) => POp::NativeRead { word },
        Op::Native(_) => POp::Native { word },
    }
}

impl Backend for PortableBackend {
    fn name(&self) -> &'static str {
        "portable"
    }

    fn compile(&mut self, id: BlockId, t: &Translation) {
        let ops: Vec<POp> = t.ops.iter().map(|o| lower(o.op, o.word, o.pc)).collect();
        let instrs = t
            .ops
            .iter()
            .map(|o| match o.op {
                Op::Guest(i) | Op::Callout(_, i) | Op::PteStore(i) | Op::Native(i) => i,
                Op::Inline(_) => vmlab_isa::decode(o.word),
            })
            .collect();
        let exits = t.direct_exits();
        self.stats.compiled += 1;
        self.stats.code_bytes += (ops.len() * std::mem::size_of::<POp>()) as u64;
        if self.slots.len() <= id {
            self.slots.resize(id + 1, None);
        }
        self.slots[id] = Some(Compiled {
            va: t.va,
            hpa: t.hpa,
            generation: t.generation,
            user: t.privilege == Privilege::User,
            ops,
            instrs,
            // An exit back to the block's own start is chained from the
            // start (the block is its own successor for as long as it lives).
            links: exits.iter().map(|&e| (e == t.va).then_some(id)).collect(),
            exits,
        });
    }

    fn run(&mut self, id: BlockId, m: &mut Machine, vcpu: &mut dyn VirtualCpu) -> BlockExit {
        let mut id = id;
        loop {
            let exit = self.exec(id, m, vcpu);
            if let BlockExit::Direct { from, exit: e, pc } = exit {
                if let Some(to) = self.link(from, e, pc, m) {
                    self.stats.chained_transfers += 1;
                    id = to;
                    continue;
                }
            }
            return exit;
        }
    }

    fn chain(&mut self, from: BlockId, exit: usize, to: BlockId) {
        let target = self.slots.get(to).and_then(|s| s.as_ref()).map(|b| b.va);
        if let Some(Some(b)) = self.slots.get_mut(from) {
            if b.exits.get(exit).copied() == target && b.links[exit] != Some(to) {
                b.links[exit] = Some(to);
                self.stats.chain_patches += 1;
            }
        }
    }

    fn discard(&mut self, id: BlockId) {
        // Links into the slot are checked on every transfer (the slot must
        // hold the block at that address, generation and translation), so
        // emptying it unchains every predecessor.
        if let Some(s) = self.slots.get_mut(id) {
            *s = None;
        }
    }

    fn flush(&mut self) {
        self.slots.clear();
    }

    fn stats(&self) -> BackendStats {
        self.stats
    }

    fn listing(&self, id: BlockId) -> Vec<String> {
        match self.slots.get(id) {
            Some(Some(b)) => b.ops.iter().map(|o| format!("{o:?}")).collect(),
            _ => Vec::new(),
        }
    }
}

impl PortableBackend {
    /// The chained successor of `from`'s exit `exit` toward `pc`, if the
    /// transfer may skip the engine.
    fn link(&self, from: BlockId, exit: usize, pc: u32, m: &Machine) -> Option<BlockId> {
        let to = self.slots.get(from)?.as_ref()?.links.get(exit).copied()??;
        let b = self.slots.get(to)?.as_ref()?;
        let ok = m.engine_room() > 0
            && b.va == pc
            && b.user == m.engine_user()
            && m.engine_fetch_peek(pc).is_some_and(|h| h.0 == b.hpa)
            && m.engine_code_generation(vmlab_machine::HostPhys(b.hpa)) == b.generation;
        ok.then_some(to)
    }

    /// Runs one block: at most `engine_room()` instructions.
    pub(crate) fn exec(
        &mut self,
        id: BlockId,
        m: &mut Machine,
        vcpu: &mut dyn VirtualCpu,
    ) -> BlockExit {
        let Some(Some(b)) = self.slots.get(id) else {
            return BlockExit::Continue;
        };
        let base = b.va;
        let len = b.ops.len();
        let room = usize::try_from(m.engine_room()).unwrap_or(usize::MAX);
        let n = len.min(room);
        let at = |i: usize| base.wrapping_add(4 * i as u32);
        // Instructions of this block committed to the machine so far.
        let mut committed = 0usize;
        macro_rules! sync {
            ($i:expr) => {
                commit_to(m, &mut committed, $i)
            };
        }
        // Stops at instruction i (not retired): deliver its fault or exit.
        macro_rules! stop {
            ($i:expr, $stop:expr) => {{
                sync!($i);
                m.set_pc(at($i));
                return match m.engine_deliver($stop) {
                    Some(exit) => BlockExit::Exit { from: id, exit },
                    None => BlockExit::Continue,
                };
            }};
        }
        for i in 0..n {
            let r = |m: &Machine, x: u8| m.engine_get(x);
            match b.ops[i] {
                POp::Alu { op, d, a, b: rb } => match op.apply(r(m, a), r(m, rb)) {
                    Some(v) => m.engine_set(d, v),
                    None => stop!(i, EngineStop::Trap(vmlab_isa::Exception::DivideByZero, 0)),
                },
                POp::Imm { op, d, a, imm } => m.engine_set(d, op.apply(r(m, a), imm)),
                POp::Li { d, value } => m.engine_set(d, value),
                POp::Load { op, d, a, off } => {
                    let va = r(m, a).wrapping_add(off);
                    match m.engine_load(va, op.width()) {
                        Ok(v) => m.engine_set(d, op.extend(v)),
                        Err(s) => stop!(i, s),
                    }
                }
                POp::Store { width, s, a, off } => {
                    let va = r(m, a).wrapping_add(off);
                    match m.engine_store(va, width, r(m, s)) {
                        Ok(false) => {}
                        Ok(true) => return self.cut(m, i + 1, committed, at(i + 1)),
                        Err(e) => stop!(i, e),
                    }
                }
                POp::PteStore { width, s, a, off } => {
                    let va = r(m, a).wrapping_add(off);
                    let value = r(m, s);
                    match m.engine_store_target(va, width) {
                        Err(e) => stop!(i, e),
                        Ok((hpa, true)) => {
                            sync!(i);
                            m.set_pc(at(i));
                            let mask = if width.bytes() == 4 {
                                u32::MAX
                            } else {
                                (1 << (8 * width.bytes())) - 1
                            };
                            return BlockExit::Callout(Callout {
                                kind: CalloutKind::PteWrite,
                                pc: at(i),
                                instr: b.instrs[i],
                                store: Some(PendingStore {
                                    gva: va,
                                    hpa: hpa.0,
                                    width,
                                    value: value & mask,
                                }),
                            });
                        }
                        Ok((hpa, false)) => match m.engine_store_at(va, hpa, width, value) {
                            Ok(false) => {}
                            Ok(true) => return self.cut(m, i + 1, committed, at(i + 1)),
                            Err(e) => stop!(i, e),
                        },
                    }
                }
                POp::ReadCsr { d, csr } => {
                    sync!(i);
                    let v = vcpu.read_csr(m, csr);
                    m.engine_set(d, v);
                    self.stats.inline_ops += 1;
                }
                POp::GetFlags { d } => {
                    sync!(i);
                    let v = vcpu.flags(m);
                    m.engine_set(d, v);
                    self.stats.inline_ops += 1;
                }
                POp::WriteCsr { csr, s } => {
                    sync!(i);
                    let v = r(m, s);
                    vcpu.write_csr(m, csr, v);
                    m.engine_recheck();
                    self.stats.inline_ops += 1;
                }
                POp::SetFlags { s } => {
                    sync!(i);
                    let v = r(m, s);
                    vcpu.set_flags(m, v);
                    m.engine_recheck();
                    self.stats.inline_ops += 1;
                }
                POp::NativeRead { word } => {
                    sync!(i);
                    m.set_pc(at(i));
                    if let Err(e) = m.engine_read_op(word) {
                        stop!(i, e);
                    }
                }
                POp::Native { word } => {
                    sync!(i);
                    m.set_pc(at(i));
                    return match m.engine_system(word) {
                        Some(exit) => BlockExit::Exit { from: id, exit },
                        None => BlockExit::Continue,
                    };
                }
                POp::Callout { kind } => {
                    sync!(i);
                    m.set_pc(at(i));
                    return BlockExit::Callout(Callout {
                        kind,
                        pc: at(i),
                        instr: b.instrs[i],
                        store: None,
                    });
                }
                POp::Branch {
                    cond,
                    a,
                    b: rb,
                    taken,
                } => {
                    sync!(i + 1);
                    let (exit, pc) = if cond.holds(r(m, a), r(m, rb)) {
                        (0, taken)
                    } else {
                        (1, at(i + 1))
                    };
                    m.set_pc(pc);
                    return BlockExit::Direct { from: id, exit, pc };
                }
                POp::Jal { d, target } => {
                    m.engine_set(d, at(i + 1));
                    sync!(i + 1);
                    m.set_pc(target);
                    return BlockExit::Direct {
                        from: id,
                        exit: 0,
                        pc: target,
                    };
                }
                POp::Jalr { d, a, off } => {
                    // t = rs1 + off first: rd may be rs1.
                    let target = r(m, a).wrapping_add(off);
                    m.engine_set(d, at(i + 1));
                    sync!(i + 1);
                    m.set_pc(target);
                    return BlockExit::Indirect { pc: target };
                }
            }
        }
        if n < len {
            return self.cut(m, n, committed, at(n));
        }
        sync!(n);
        m.set_pc(at(n));
        BlockExit::Direct {
            from: id,
            exit: 0,
            pc: at(n),
        }
    }

    /// Ends a block early after `done` instructions: continue at `pc` with
    /// a fresh lookup.
    fn cut(&self, m: &mut Machine, done: usize, committed: usize, pc: u32) -> BlockExit {
        m.engine_commit((done - committed) as u64);
        m.set_pc(pc);
        BlockExit::Continue
    }
}

/// Commits the block's instructions up to (not including) index `i`.
#[inline(always)]
fn commit_to(m: &mut Machine, committed: &mut usize, i: usize) {
    m.engine_commit((i - *committed) as u64);
    *committed = i;
}
