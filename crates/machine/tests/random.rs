//! Property tests: random instruction streams in random memory, in and out
//! of guest mode, with random controls and memory modes, never panic and
//! always stop within budget; slicing a run does not change where it stops.
//! 64 cases by default, 5,000 with VMLAB_LONG set.

use proptest::prelude::*;
use vmlab_isa::csr::{irq, status};
use vmlab_isa::paging::{PTE_R, PTE_U, PTE_V, PTE_W, PTE_X};
use vmlab_isa::{Cause, Csr, Exception, Reg};
use vmlab_machine::{Exit, HostPhys, Machine, MachineConfig, MemMode, Mode};

const RAM: u64 = 64 << 10;

fn cases() -> u32 {
    if std::env::var_os("VMLAB_LONG").is_some() {
        5_000
    } else {
        64
    }
}

/// Opcodes that decode to something, so most words are real instructions.
const OPCODES: &[u8] = &[
    0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0A, 0x0B, 0x0E, 0x0F, 0x10, 0x11, 0x21,
    0x23, 0x24, 0x25, 0x26, 0x27, 0x28, 0x29, 0x2A, 0x30, 0x31, 0x40, 0x41, 0x42, 0x44, 0x45, 0x48,
    0x49, 0x4A, 0x50, 0x51, 0x52, 0x53, 0x54, 0x55, 0x58, 0x59, 0x60, 0x61, 0x62, 0x70, 0x71, 0x72,
    0x73, 0x74, 0x75, 0x76, 0x78, 0x79, 0x80, 0x81, 0x82, 0x84, 0x85, 0x86,
];

fn word() -> impl Strategy<Value = u32> {
    prop_oneof![
        8 => (prop::sample::select(OPCODES), any::<u32>()).prop_map(|(op, low)| {
            // Small immediates and offsets keep accesses near RAM.
            let low = match op {
                0x50..=0x55 | 0x58 => low & 0xFF_001F | if low & 0x8000_0000 != 0 { 0xFFE0 } else { 0 },
                0x30 | 0x31 => low & 0xF_000F,
                _ => low & 0xFF_0FFF,
            };
            (u32::from(op) << 24) | (low & 0xFF_FFFF)
        }),
        1 => any::<u32>(),
        // System instructions with their exact encodings.
        1 => prop::sample::select(&[0x6000_0000u32, 0x6100_0000, 0x7200_0000, 0x7300_0000,
            0x7500_0000, 0x7600_0000, 0x7800_0000, 0x7903_0000][..]),
    ]
}

#[derive(Debug, Clone)]
struct Setup {
    code: Vec<u32>,
    regs: [u32; 16],
    status: u32,
    csrs: [u32; 8],
    mem_mode: u8,
    guest_mode: bool,
    exception_exits: u32,
    interrupt_exits: bool,
    window_exits: bool,
    privileged_exits: bool,
    port_exit_every: u16,
    masks: [u32; 3],
    prio_threshold: Option<u32>,
    tlb_entries: usize,
    tagged: bool,
    legacy: bool,
    protect: Vec<u32>,
}

fn setup() -> impl Strategy<Value = Setup> {
    (
        prop::collection::vec(word(), 16..512),
        prop::array::uniform16(prop_oneof![any::<u32>(), 0..RAM as u32]),
        prop_oneof![
            4 => Just(status::MODE),
            2 => Just(status::MODE | status::IE),
            1 => Just(status::MODE | status::PG),
            1 => any::<u32>(),
        ],
        prop::array::uniform8(prop_oneof![0..2048u32, 0..64u32, any::<u32>()]),
        (
            prop_oneof![5 => Just(0u8), 1 => Just(1u8), 1 => Just(2u8), 1 => Just(3u8)],
            any::<bool>(),
            prop_oneof![3 => Just(0u32), 1 => any::<u32>()],
            any::<bool>(),
            any::<bool>(),
            any::<bool>(),
        ),
        (
            any::<u16>(),
            prop::array::uniform3(any::<u32>()),
            prop::option::of(0..16u32),
        ),
        (
            prop::sample::select(&[1usize, 2, 8, 64][..]),
            any::<bool>(),
            any::<bool>(),
        ),
        prop::collection::vec(0..(RAM as u32 / 4096), 0..3),
    )
        .prop_map(|(code, regs, status, csrs, a, b, c, protect)| Setup {
            code,
            regs,
            status,
            csrs,
            mem_mode: a.0,
            guest_mode: a.1,
            exception_exits: a.2,
            interrupt_exits: a.3,
            window_exits: a.4,
            privileged_exits: a.5,
            port_exit_every: b.0,
            masks: b.1,
            prio_threshold: b.2,
            tlb_entries: c.0,
            tagged: c.1,
            legacy: c.2,
            protect,
        })
}

fn build(s: &Setup) -> Machine {
    let config = MachineConfig {
        ram_bytes: RAM,
        tlb_entries: s.tlb_entries,
        tlb_tagged: s.tagged,
        profile: if s.legacy {
            vmlab_isa::Profile::Legacy
        } else {
            vmlab_isa::Profile::Strict
        },
        disk_sectors: 8,
    };
    let mut m = Machine::new(config).unwrap();
    for (i, w) in s.code.iter().enumerate() {
        m.write_phys_u32(HostPhys(4 * i as u32), *w).unwrap();
    }
    for (i, r) in s.regs.iter().enumerate() {
        m.set_reg(Reg::new(i as u8).unwrap(), *r);
    }
    let regs = [
        Csr::Tvec,
        Csr::Epc,
        Csr::Ptbr,
        Csr::TimeCmp,
        Csr::IEnable,
        Csr::Prio,
        Csr::Scratch,
    ];
    for (c, v) in regs.iter().zip(s.csrs) {
        m.set_csr(*c, v);
    }
    m.set_csr(Csr::Status, s.status);
    // An identity table over all of RAM at 0xE000 (root) and 0xF000 (leaf),
    // usable as guest, shadow, nested or direct table; random stores may
    // corrupt it, which is part of the test.
    m.write_phys_u32(HostPhys(0xE000), 0xF000 | PTE_V).unwrap();
    for p in 0..(RAM as u32 / 4096) {
        let pte = (p << 12) | PTE_V | PTE_R | PTE_W | PTE_X | PTE_U;
        m.write_phys_u32(HostPhys(0xF000 + 4 * p), pte).unwrap();
    }
    if s.csrs[7] % 2 == 0 {
        m.set_csr(Csr::Ptbr, 0xE000);
    }
    let root = HostPhys(if s.csrs[7] % 3 == 0 {
        s.csrs[7] & 0xF000
    } else {
        0xE000
    });
    m.set_mem_mode(match s.mem_mode {
        0 => MemMode::Physical,
        1 => MemMode::Shadow { root },
        2 => MemMode::Nested { root },
        _ => MemMode::Direct,
    });
    for p in &s.protect {
        m.protect_page(HostPhys(p << 12), true);
    }
    let c = m.controls_mut();
    c.guest_mode = s.guest_mode;
    c.exception_exits = s.exception_exits;
    c.interrupt_exits = s.interrupt_exits;
    c.interrupt_window_exits = s.window_exits;
    c.privileged_exits = s.privileged_exits;
    c.prio_threshold = s.prio_threshold;
    c.csr_read_mask[Csr::Status.index()] = s.masks[0];
    c.csr_write_mask[Csr::Status.index()] = s.masks[1];
    c.read_shadow[Csr::Status.index()] = s.masks[2];
    c.vpid = s.port_exit_every;
    let mut p = 0u32;
    while s.port_exit_every > 0 && p < 0x1_0000 {
        c.port_exits.set(p as u16, true);
        p += u32::from(s.port_exit_every);
    }
    m
}

/// Plays a simple host: completes or skips whatever exits, reflects some
/// exceptions; stops on halt, idle, shutdown or after `rounds` exits.
fn drive(m: &mut Machine, budget: u64, rounds: usize) -> Vec<(Exit, u32, u64)> {
    let mut trace = Vec::new();
    for round in 0..rounds {
        let before = m.counters().retired_total();
        let exit = m.run(budget);
        let retired = m.counters().retired_total() - before;
        assert!(retired <= budget, "retired {retired} > budget {budget}");
        trace.push((exit, m.pc(), m.instret()));
        match exit {
            Exit::Halt | Exit::Idle | Exit::Shutdown { .. } => break,
            Exit::PortIn { .. } => m.complete_in(round as u32).unwrap(),
            Exit::Exception { cause, addr } if round % 2 == 0 => {
                m.inject(Cause::Exception(cause), addr)
            }
            Exit::Interrupt { irq } => {
                m.controls_mut().interrupt_exits = false;
                m.inject(Cause::Interrupt(irq), 0);
            }
            Exit::InterruptWindow => m.controls_mut().interrupt_window_exits = false,
            Exit::BudgetExhausted => {}
            _ => m.retire_emulated(),
        }
    }
    trace
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    #[test]
    fn random_programs_never_panic_and_respect_the_budget(s in setup(), budget in 0u64..3000) {
        let mut m = build(&s);
        drive(&mut m, budget, 40);
        // The machine is still consistent: state readable, counters sane.
        let c = m.counters();
        prop_assert!(c.tlb_hits.checked_add(c.tlb_misses).is_some());
        let _ = (m.mode() == Mode::User, m.csr(Csr::IPend) & !irq::MASK);
    }

    #[test]
    fn runs_are_deterministic(s in setup()) {
        let mut a = build(&s);
        let mut b = build(&s);
        prop_assert_eq!(drive(&mut a, 500, 20), drive(&mut b, 500, 20));
        prop_assert_eq!(a.cpu_state(), b.cpu_state());
        prop_assert_eq!(a.counters(), b.counters());
    }

    #[test]
    fn slicing_a_run_does_not_move_its_stops(s in setup(), slice in 1u64..7) {
        // Without host interaction, 3600 units of budget in one run or in
        // pieces of `slice` must stop at the same exit in the same state
        // (a budget that runs out consumes exactly its units).
        const TOTAL: u64 = 3600;
        let mut whole = build(&s);
        let first = whole.run(TOTAL);
        let mut sliced = build(&s);
        let mut exit = Exit::BudgetExhausted;
        for _ in 0..TOTAL / slice {
            exit = sliced.run(slice);
            if exit != Exit::BudgetExhausted {
                break;
            }
        }
        prop_assert_eq!(exit, first);
        prop_assert_eq!(sliced.cpu_state(), whole.cpu_state());
    }
}

#[test]
fn status_and_exception_codes_stay_in_range() {
    // A smoke check that the generator's constants mean what they say.
    assert_eq!(status::WRITABLE, 0x1F);
    assert_eq!(Exception::ALL.len(), 13);
}

#[test]
#[ignore = "prints what the generated programs do; run with --ignored --nocapture"]
fn generator_statistics() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let mut total = 0;
    let mut exits = std::collections::BTreeMap::new();
    for _ in 0..200 {
        let s = setup().new_tree(&mut runner).unwrap().current();
        let mut m = build(&s);
        for (e, _, _) in drive(&mut m, 2000, 40) {
            *exits.entry(e.reason()).or_insert(0) += 1;
        }
        total += m.counters().retired_total();
    }
    eprintln!("average retired {} exits {:?}", total / 200, exits);
}
