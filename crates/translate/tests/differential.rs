//! Differential property test: random kernel programs (ALU, loads and stores
//! across a page boundary, branches, calls and returns, traps, self-modifying
//! stores, inline and callout system instructions, stores to a protected
//! page, timer interrupts) run by the interpreter and by the bt engine with
//! the portable backend end in identical registers, control registers,
//! memory, retired and emulated counts, and trap and interrupt counts. A trap
//! handler logs every trap's cause and epc to memory, so the trap *sequence*
//! (and the exact instruction each timer interrupt landed before) is
//! compared too. A quarter of the programs start in user mode (run as
//! direct translations, their privileged instructions trapping into the
//! translated kernel handler); half use the legacy profile; 30% run with
//! paging on (identity-mapped, through the TLB). On x86-64 hosts
//! the same programs also run on the x86-64 backend (`X86Backend`), which
//! must agree with both. 64 cases by default, 100,000 with VMLAB_LONG set.
//!
//! `wfi` is left out: its idle skip extends the budget of the run it happens
//! in, which a callout resolved between runs cannot reproduce.

mod common;

use common::{assert_same, bt, outcome, put, run_bt, run_interp};
use proptest::prelude::*;
use vmlab_isa::csr::{irq, status};
use vmlab_isa::{AluOp, BranchCond, Csr, ImmOp, Instr, LoadOp, Profile, Reg, Width, encode};
use vmlab_machine::{HostPhys, Machine, MachineConfig};

const RAM: u64 = 64 << 10;
const BODY: u32 = 0x1000;
const DATA: u32 = 0x4FC0;
const LOG: u32 = 0x7000;
const LIMIT: u64 = 4_000;

fn cases() -> u32 {
    if std::env::var_os("VMLAB_LONG").is_some() {
        100_000
    } else {
        64
    }
}

fn r(n: u8) -> Reg {
    Reg::new(n).unwrap()
}

/// A destination the program may clobber: a0..t3 (r3..r11).
fn dst() -> impl Strategy<Value = Reg> {
    (3u8..=11).prop_map(r)
}

/// Any source: zero, ra (data base), sp (code pointer), a0..t3.
fn src() -> impl Strategy<Value = Reg> {
    (0u8..=11).prop_map(r)
}

const ALU: [AluOp; 8] = [
    AluOp::Add,
    AluOp::Sub,
    AluOp::Xor,
    AluOp::Sll,
    AluOp::Sltu,
    AluOp::Mul,
    AluOp::Div,
    AluOp::Remu,
];
const IMM: [ImmOp; 6] = [
    ImmOp::Add,
    ImmOp::And,
    ImmOp::Or,
    ImmOp::Xor,
    ImmOp::Srl,
    ImmOp::Slt,
];
const LOADS: [LoadOp; 5] = [LoadOp::Lw, LoadOp::Lh, LoadOp::Lhu, LoadOp::Lb, LoadOp::Lbu];
const WIDTHS: [Width; 3] = [Width::Word, Width::Half, Width::Byte];
const CONDS: [BranchCond; 4] = [
    BranchCond::Eq,
    BranchCond::Ne,
    BranchCond::Lt,
    BranchCond::Geu,
];
const READ_CSRS: [Csr; 6] = [
    Csr::Scratch,
    Csr::InstRet,
    Csr::Status,
    Csr::Prio,
    Csr::IPend,
    Csr::Epc,
];

/// Innocuous words a self-modifying store may write into the body.
fn patch_word() -> impl Strategy<Value = u32> {
    (dst(), src(), -64i32..64).prop_map(|(rd, rs1, imm)| {
        encode(&Instr::AluImm {
            op: ImmOp::Add,
            rd,
            rs1,
            imm,
        })
        .unwrap()
    })
}

fn instr() -> impl Strategy<Value = Instr> {
    prop_oneof![
        6 => (prop::sample::select(&ALU[..]), dst(), src(), src())
            .prop_map(|(op, rd, rs1, rs2)| Instr::Alu { op, rd, rs1, rs2 }),
        6 => (prop::sample::select(&IMM[..]), dst(), src(), -300i32..300).prop_map(|(op, rd, rs1, imm)| {
            let imm = if op.is_shift() { imm & 31 } else { imm };
            Instr::AluImm { op, rd, rs1, imm }
        }),
        1 => (dst(), 0u32..0x10).prop_map(|(rd, imm)| Instr::Lui { rd, imm }),
        1 => dst().prop_map(|rd| Instr::Auipc { rd, imm: 0 }),
        // Loads and stores around the data page boundary at 0x5000 (the
        // upper page is write-protected in some cases).
        5 => (prop::sample::select(&LOADS[..]), dst(), -8i32..120)
            .prop_map(|(op, rd, off)| Instr::Load { op, rd, rs1: Reg::RA, off }),
        5 => (prop::sample::select(&WIDTHS[..]), src(), -8i32..120)
            .prop_map(|(width, rs2, off)| Instr::Store { width, rs2, rs1: Reg::RA, off }),
        // Self-modifying stores through sp, which points into the body.
        1 => (dst(), 0i32..64).prop_map(|(rs2, k)| Instr::Store { width: Width::Word, rs2, rs1: Reg::SP, off: 4 * k }),
        1 => (-4i32..4).prop_map(|k| Instr::AluImm { op: ImmOp::Add, rd: Reg::RA, rs1: Reg::RA, imm: 4 * k }),
        3 => (prop::sample::select(&CONDS[..]), src(), src(), -6i32..10)
            .prop_map(|(cond, rs1, rs2, k)| Instr::Branch { cond, rs1, rs2, off: 4 * k }),
        // Calls (link in t3) and returns through it: indirect jumps.
        1 => (1i32..12).prop_map(|k| Instr::Jal { rd: r(11), off: 4 * k }),
        1 => Just(Instr::Jalr { rd: Reg::ZERO, rs1: r(11), off: 0 }),
        // Traps, inline ops and callouts.
        1 => prop_oneof![Just(Instr::Syscall), Just(Instr::Break), Just(Instr::Illegal(0xFF00_0000))],
        2 => (dst(), prop::sample::select(&READ_CSRS[..])).prop_map(|(rd, csr)| Instr::Csrr { rd, csr }),
        1 => src().prop_map(|rs1| Instr::Csrw { csr: Csr::Scratch, rs1 }),
        1 => src().prop_map(|rs1| Instr::Csrw { csr: Csr::Prio, rs1 }),
        1 => dst().prop_map(|rd| Instr::GetFlags { rd }),
        1 => src().prop_map(|rs1| Instr::SetFlags { rs1 }),
        1 => Just(Instr::TlbFlush),
        1 => Just(Instr::Hypercall),
    ]
}

#[derive(Clone, Debug)]
struct Case {
    body: Vec<Instr>,
    patches: Vec<u32>,
    regs: [u32; 12],
    timecmp: u32,
    rearm: i32,
    protect: bool,
    timer: bool,
    /// Start the body in user mode: it runs as a direct translation and its
    /// privileged instructions trap to the (translated) kernel handler.
    user: bool,
    legacy: bool,
    /// Run with paging on (all 16 pages identity-mapped through a two-level
    /// table at 0xE000/0xF000): fetches and data accesses go through the
    /// TLB, and the x86-64 backend's chain epochs follow its fills.
    paged: bool,
}

fn case() -> impl Strategy<Value = Case> {
    let flags = (
        any::<bool>(),
        prop::bool::weighted(0.7),
        prop::bool::weighted(0.25),
        any::<bool>(),
        prop::bool::weighted(0.3),
    );
    (
        prop::collection::vec(instr(), 8..400),
        prop::collection::vec(patch_word(), 8),
        prop::array::uniform12(prop_oneof![0u32..64, any::<u32>()]),
        5u32..400,
        3i32..150,
        flags,
    )
        .prop_map(
            |(body, patches, regs, timecmp, rearm, (protect, timer, user, legacy, paged))| Case {
                body,
                patches,
                regs,
                timecmp,
                rearm,
                protect,
                timer,
                user,
                legacy,
                paged,
            },
        )
}

/// The trap handler at 0: log (cause, epc) at s3, skip the instruction of
/// an exception, re-arm the timer for an interrupt; `sret`.
fn handler(rearm: i32) -> Vec<Instr> {
    let (s0, s1, s3) = (r(12), r(13), r(15));
    let i = |op, rd, rs1, imm| Instr::AluImm { op, rd, rs1, imm };
    vec![
        Instr::Csrr {
            rd: s0,
            csr: Csr::Cause,
        },
        Instr::Store {
            width: Width::Word,
            rs2: s0,
            rs1: s3,
            off: 0,
        },
        Instr::Csrr {
            rd: s1,
            csr: Csr::Epc,
        },
        Instr::Store {
            width: Width::Word,
            rs2: s1,
            rs1: s3,
            off: 4,
        },
        i(ImmOp::Add, s3, s3, 8),
        i(ImmOp::And, s3, s3, 0xFF8),
        i(ImmOp::Or, s3, s3, LOG as i32),
        Instr::Branch {
            cond: BranchCond::Lt,
            rs1: s0,
            rs2: Reg::ZERO,
            off: 16,
        },
        i(ImmOp::Add, s1, s1, 4),
        Instr::Csrw {
            csr: Csr::Epc,
            rs1: s1,
        },
        Instr::Sret,
        Instr::Csrr {
            rd: s1,
            csr: Csr::InstRet,
        },
        i(ImmOp::Add, s1, s1, rearm),
        Instr::Csrw {
            csr: Csr::TimeCmp,
            rs1: s1,
        },
        Instr::Sret,
    ]
}

fn build(c: &Case) -> Machine {
    let profile = if c.legacy {
        Profile::Legacy
    } else {
        Profile::Strict
    };
    let config = MachineConfig {
        ram_bytes: RAM,
        profile,
        ..MachineConfig::default()
    };
    let mut m = Machine::new(config).unwrap();
    put(&mut m, 0, &handler(c.rearm));
    let mut body = c.body.clone();
    body.push(Instr::Halt);
    put(&mut m, BODY, &body);
    // Innocuous words the self-modifying stores copy from (t-registers may
    // hold them; they also sit in data for loads).
    for (i, w) in c.patches.iter().enumerate() {
        m.write_phys_u32(HostPhys(DATA + 4 * i as u32), *w).unwrap();
    }
    for (i, v) in c.regs.iter().enumerate().skip(3) {
        m.set_reg(r(i as u8), *v);
    }
    for (i, w) in c.patches.iter().enumerate().take(4) {
        m.set_reg(r(8 + i as u8), *w);
    }
    m.set_reg(Reg::RA, DATA);
    m.set_reg(Reg::SP, BODY + 4 * (c.regs[0] % body.len() as u32));
    m.set_reg(r(15), LOG);
    m.set_pc(BODY);
    m.set_csr(Csr::Tvec, 0);
    m.set_csr(Csr::TimeCmp, c.timecmp);
    let mut mode = if c.user { 0 } else { status::MODE };
    if c.paged {
        use vmlab_isa::paging::{PTE_A, PTE_D, PTE_R, PTE_U, PTE_V, PTE_W, PTE_X, make_pte};
        let mut leaf = PTE_V | PTE_R | PTE_W | PTE_X | PTE_A | PTE_D;
        if c.user {
            leaf |= PTE_U;
        }
        m.write_phys_u32(HostPhys(0xE000), make_pte(0xF000, PTE_V))
            .unwrap();
        for i in 0..16 {
            m.write_phys_u32(HostPhys(0xF000 + 4 * i), make_pte(i << 12, leaf))
                .unwrap();
        }
        m.set_csr(Csr::Ptbr, 0xE000);
        mode |= status::PG;
    }
    if c.timer {
        m.set_csr(Csr::IEnable, 1 << irq::TIMER);
        m.set_csr(Csr::Status, mode | status::IE);
    } else {
        m.set_csr(Csr::Status, mode);
    }
    if c.protect {
        m.protect_page(HostPhys(0x5000), true);
    }
    m
}

fn check(c: &Case) {
    let mut a = build(c);
    let exit_a = run_interp(&mut a, LIMIT);
    let mut b = build(c);
    let mut e = bt();
    let exit_b = run_bt(&mut b, &mut e, LIMIT);
    assert_same(&outcome(&a, exit_a), &outcome(&b, exit_b));
    #[cfg(target_arch = "x86_64")]
    {
        let mut x = build(c);
        let mut ex = common::bt_x86();
        let exit_x = run_bt(&mut x, &mut ex, LIMIT);
        assert_same(&outcome(&a, exit_a), &outcome(&x, exit_x));
        // Translator counters are the same whichever backend runs the code.
        let (pc, xc) = (e.counters(), ex.counters());
        assert_eq!(
            (pc.indirect_lookups, pc.callouts, pc.adaptive_retranslations),
            (xc.indirect_lookups, xc.callouts, xc.adaptive_retranslations),
            "translator counters"
        );
        let mut y = build(c);
        let mut ey = common::bt_x86_plain();
        let exit_y = run_bt(&mut y, &mut ey, LIMIT);
        assert_same(&outcome(&a, exit_a), &outcome(&y, exit_y));
        assert_eq!(ey.counters().indirect_lookups, pc.indirect_lookups);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    #[test]
    fn bt_matches_interpreter(c in case()) {
        check(&c);
    }
}

/// The generator covers what the module docs claim: over a fixed sample,
/// interrupts, traps, self-modification, adaptive translation, callouts,
/// inline operations, chaining and indirect lookups all happen.
#[test]
fn generator_covers_the_events() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::{Config, TestRng, TestRunner};
    let rng = TestRng::deterministic_rng(Config::default().rng_algorithm);
    let mut runner = TestRunner::new_with_rng(Config::default(), rng);
    let mut totals = [0u64; 9];
    let mut paged_tlb_hits = 0;
    #[allow(unused_mut, unused_variables)]
    let mut x86 = [0u64; 3];
    for _ in 0..64 {
        let c = case().new_tree(&mut runner).unwrap().current();
        let mut m = build(&c);
        let mut e = bt();
        run_bt(&mut m, &mut e, LIMIT);
        let (mc, bc) = (m.counters(), e.counters());
        if c.paged {
            paged_tlb_hits += mc.tlb_hits;
        }
        let bs = e.backend_stats();
        for (t, v) in totals.iter_mut().zip([
            mc.interrupts_of(irq::TIMER),
            mc.traps.iter().sum(),
            bc.invalidations,
            bc.adaptive_retranslations,
            bc.callouts_total(),
            bc.inline_ops,
            bs.chained_transfers,
            bc.indirect_lookups,
            bc.user_blocks,
        ]) {
            *t += v;
        }
        #[cfg(target_arch = "x86_64")]
        {
            let mut m = build(&c);
            let mut e = common::bt_x86();
            run_bt(&mut m, &mut e, LIMIT);
            let s = e.backend_stats();
            x86[0] += e.counters().chain_patches;
            x86[1] += s.indirect_lookups;
            x86[2] += e.backend().native_blocks();
        }
        check(&c);
    }
    #[cfg(target_arch = "x86_64")]
    {
        eprintln!("x86-64: chain patches, inline-cached indirect, native blocks: {x86:?}");
        assert!(x86.iter().all(|&t| t > 0), "{x86:?}");
    }
    eprintln!(
        "interrupts, traps, invalidations, adaptive, callouts, inline, chained, indirect, user blocks: {totals:?}"
    );
    assert!(totals.iter().all(|&t| t > 0), "{totals:?}");
    eprintln!("TLB hits in paged cases: {paged_tlb_hits}");
    assert!(paged_tlb_hits > 0);
}
