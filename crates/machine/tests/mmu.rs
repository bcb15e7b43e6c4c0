//! The MMU: translation, permissions, user/supervisor rules, A/D bits, TLB
//! staleness, bus errors; shadow, nested and direct roots with their walk
//! reference counts; protected pages; world-switch flushes.

mod common;

use common::*;
use vmlab_isa::paging::{PTE_A, PTE_D, PTE_R, PTE_U, PTE_V, PTE_W, PTE_X, make_pte};
use vmlab_isa::{Access, Csr, Exception, Instr};
use vmlab_machine::{
    Exit, GuestPhys, GuestVirt, GuestWalkError, HostPhys, Machine, MachineConfig, PhysMap,
};

const ROOT: u32 = 0x10_0000;
const POOL: u32 = 0x10_1000;
const USER: u32 = 0x3000;
/// Its TLB index (vpn & 63 = 32) differs from the code pages'.
const DATA_VA: u32 = 0x4002_0000;
const DATA_PA: u32 = 0x2_0000;
const RWXU: u32 = PTE_R | PTE_W | PTE_X | PTE_U;

fn config() -> MachineConfig {
    MachineConfig {
        ram_bytes: 4 << 20,
        ..MachineConfig::default()
    }
}

/// A machine whose code at 0 turns paging on (identity-mapped low 64 KiB),
/// then runs `body` in supervisor mode, or in user mode at USER if `user`.
/// Every exception exits.
fn paged(body: &[Instr], user: bool) -> (Machine, Tables) {
    let mut prog = set_csr(Csr::Tvec, TVEC);
    prog.extend(set_csr(Csr::Ptbr, ROOT));
    prog.extend(set_csr(Csr::Status, SUP_PG));
    if user {
        prog.extend(set_csr(Csr::Epc, USER));
        prog.extend(set_csr(
            Csr::Status,
            SUP_PG & !vmlab_isa::csr::status::PMODE,
        ));
        prog.push(Instr::Sret);
    } else {
        prog.extend_from_slice(body);
    }
    let mut m = machine_with(&prog, config());
    if user {
        put(&mut m, USER, body);
    }
    let mut t = Tables::new(&mut m, ROOT, POOL);
    t.identity(&mut m, 16, RWXU);
    m.controls_mut().exception_exits = u32::MAX;
    (m, t)
}

/// The body for one access to DATA_VA, then `break` (supervisor) or
/// `syscall` (user) to show success.
fn access_body(access: Access, user: bool) -> Vec<Instr> {
    let mut b = li(T0, DATA_VA);
    match access {
        Access::Load => b.push(lw(A0, T0, 0)),
        Access::Store => b.push(sw(T0, T0, 0)),
        Access::Fetch => b.push(jalr(RA, T0, 0)),
    }
    b.push(if user { Instr::Syscall } else { Instr::Break });
    b
}

/// Result of one access to DATA_VA mapped with `pte`: Ok or the exception.
fn outcome(pte: u32, access: Access, user: bool) -> Result<(), Exception> {
    let (mut m, t) = paged(&access_body(access, user), user);
    // The data page: code that signals success when fetched.
    put(
        &mut m,
        DATA_PA,
        &[if user { Instr::Syscall } else { Instr::Break }],
    );
    let mut t = t;
    t.map(&mut m, DATA_VA, DATA_PA, 0);
    let leaf = t.leaf_addr(&m, DATA_VA);
    m.write_phys_u32(HostPhys(leaf), pte).unwrap();
    match m.run(1000) {
        Exit::Exception {
            cause: Exception::Syscall | Exception::Breakpoint,
            ..
        } => Ok(()),
        Exit::Exception { cause, addr } => {
            assert_eq!(addr, DATA_VA, "badaddr is the virtual address");
            Err(cause)
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn permissions_table() {
    use Access::*;
    let pf = |a: Access| Err(a.page_fault());
    let v = PTE_V;
    let f = |flags: u32| make_pte(DATA_PA, v | flags);
    let cases: Vec<(u32, Access, bool, Result<(), Exception>)> = vec![
        (f(PTE_R), Load, false, Ok(())),
        (f(PTE_R), Store, false, pf(Store)),
        (f(PTE_R), Fetch, false, pf(Fetch)),
        (f(PTE_R | PTE_W), Store, false, Ok(())),
        (f(PTE_W), Load, false, pf(Load)), // W without R is reserved
        (f(PTE_W), Store, false, pf(Store)),
        (f(PTE_X), Fetch, false, Ok(())),
        (f(PTE_X), Load, false, pf(Load)),
        (f(PTE_R), Load, true, pf(Load)), // user needs U
        (f(PTE_R | PTE_U), Load, true, Ok(())),
        (f(PTE_R | PTE_U), Load, false, Ok(())), // supervisor may touch U pages
        (f(PTE_R | PTE_W | PTE_U), Store, true, Ok(())),
        (f(PTE_X | PTE_U), Fetch, true, Ok(())),
        (f(PTE_X), Fetch, true, pf(Fetch)),
        (
            make_pte(DATA_PA, PTE_R | PTE_W | PTE_X),
            Load,
            false,
            pf(Load),
        ), // V clear
        (
            make_pte(0x4000_0000, v | PTE_R | PTE_W),
            Load,
            false,
            Err(Exception::BusError),
        ),
        (
            make_pte(0x4000_0000, v | PTE_R | PTE_W),
            Store,
            false,
            Err(Exception::BusError),
        ),
    ];
    for (pte, access, user, want) in cases {
        assert_eq!(
            outcome(pte, access, user),
            want,
            "pte {pte:#x} {access:?} user {user}"
        );
    }
}

#[test]
fn reserved_root_entry_faults() {
    let (mut m, _t) = paged(&access_body(Access::Load, false), false);
    // A root entry with R set is reserved.
    let root_entry = ROOT + (DATA_VA >> 22) * 4;
    m.write_phys_u32(HostPhys(root_entry), make_pte(POOL + 0x8000, PTE_V | PTE_R))
        .unwrap();
    assert_eq!(
        m.run(1000),
        Exit::Exception {
            cause: Exception::LoadPageFault,
            addr: DATA_VA
        }
    );
}

#[test]
fn accessed_and_dirty_bits() {
    let mut body = li(T0, DATA_VA);
    body.push(lw(A0, T0, 0));
    body.push(Instr::Break);
    body.push(sw(A0, T0, 0));
    body.push(Instr::Break);
    let (mut m, mut t) = paged(&body, false);
    t.map(&mut m, DATA_VA, DATA_PA, PTE_R | PTE_W);
    let leaf = HostPhys(t.leaf_addr(&m, DATA_VA));
    assert_eq!(m.read_phys_u32(leaf).unwrap() & (PTE_A | PTE_D), 0);
    assert!(matches!(
        m.run(1000),
        Exit::Exception {
            cause: Exception::Breakpoint,
            ..
        }
    ));
    assert_eq!(m.read_phys_u32(leaf).unwrap() & (PTE_A | PTE_D), PTE_A);
    m.set_pc(m.pc() + 4);
    assert!(matches!(
        m.run(1000),
        Exit::Exception {
            cause: Exception::Breakpoint,
            ..
        }
    ));
    assert_eq!(
        m.read_phys_u32(leaf).unwrap() & (PTE_A | PTE_D),
        PTE_A | PTE_D
    );
}

#[test]
fn tlb_is_stale_until_flushed() {
    // Map DATA_VA -> page A, load; remap to page B with a store to the PTE
    // (through an identity mapping of the table pool); load again (stale);
    // tlbflushp; load again (fresh). Then the same with tlbflush.
    let (a, b) = (DATA_PA, DATA_PA + 0x1000);
    for flush in [Instr::TlbFlushPage { rs1: T0 }, Instr::TlbFlush] {
        let mut body = li(T0, DATA_VA);
        body.extend(li(T1, 0)); // patched below: the leaf address
        body.extend(li(T2, make_pte(b, PTE_V | PTE_R | PTE_W)));
        body.push(lw(A0, T0, 0));
        body.push(sw(T2, T1, 0));
        body.push(lw(A1, T0, 0));
        body.push(flush);
        body.push(lw(A2, T0, 0));
        body.push(Instr::Break);
        let (mut m, mut t) = paged(&[], false);
        t.map(&mut m, DATA_VA, a, PTE_R | PTE_W);
        let leaf = t.leaf_addr(&m, DATA_VA);
        t.map(&mut m, leaf & !0xFFF, leaf & !0xFFF, PTE_R | PTE_W);
        let mut prog = set_csr(Csr::Tvec, TVEC);
        prog.extend(set_csr(Csr::Ptbr, ROOT));
        prog.extend(set_csr(Csr::Status, SUP_PG));
        let patched: Vec<Instr> = body
            .iter()
            .enumerate()
            .flat_map(|(i, ins)| match i {
                2 | 3 => li(T1, leaf)
                    .into_iter()
                    .skip(i - 2)
                    .take(1)
                    .collect::<Vec<_>>(),
                _ => vec![*ins],
            })
            .collect();
        prog.extend(patched);
        put(&mut m, 0, &prog);
        m.write_phys_u32(HostPhys(a), 0xAAAA).unwrap();
        m.write_phys_u32(HostPhys(b), 0xBBBB).unwrap();
        assert!(matches!(
            m.run(1000),
            Exit::Exception {
                cause: Exception::Breakpoint,
                ..
            }
        ));
        assert_eq!(m.reg(A0), 0xAAAA);
        assert_eq!(
            m.reg(A1),
            0xAAAA,
            "stale TLB entry until flushed ({flush:?})"
        );
        assert_eq!(m.reg(A2), 0xBBBB, "fresh after {flush:?}");
    }
}

#[test]
fn writing_ptbr_does_not_flush() {
    let mut body = li(T0, DATA_VA);
    body.push(lw(A0, T0, 0));
    body.extend(set_csr(Csr::Ptbr, 0x30_0000)); // an empty root
    body.push(lw(A1, T0, 0)); // still hits the TLB
    body.push(Instr::TlbFlush);
    body.push(lw(A2, T0, 0)); // now faults (the code page too is gone; the fault is on the fetch)
    body.push(Instr::Break);
    let (mut m, mut t) = paged(&body, false);
    t.map(&mut m, DATA_VA, DATA_PA, PTE_R);
    m.write_phys(HostPhys(0x30_0000), &[0; 4096]).unwrap();
    m.write_phys_u32(HostPhys(DATA_PA), 77).unwrap();
    let exit = m.run(1000);
    assert_eq!(m.reg(A0), 77);
    assert_eq!(m.reg(A1), 77);
    assert!(
        matches!(
            exit,
            Exit::Exception {
                cause: Exception::FetchPageFault,
                ..
            }
        ),
        "{exit:?}"
    );
}

#[test]
fn tlb_hits_and_misses_are_counted() {
    let mut body = li(T0, DATA_VA);
    for _ in 0..10 {
        body.push(lw(A0, T0, 0));
    }
    body.push(Instr::Break);
    let (mut m, mut t) = paged(&body, false);
    t.map(&mut m, DATA_VA, DATA_PA, PTE_R);
    m.run(1000);
    let c = m.counters();
    // The data page misses once; the code page once.
    assert_eq!(c.tlb_misses, 2, "{c:?}");
    assert!(c.tlb_hits >= 9);
    assert_eq!(c.walk_refs_1d, 2 * c.walks_1d);
    assert_eq!(c.walks_1d, c.tlb_misses);
}

#[test]
fn nonidentity_physmap_in_physical_mode() {
    // Guest-physical 0..64 KiB lives at host 1 MiB.
    let mut m = Machine::new(config()).unwrap();
    let map = PhysMap::from_frames((0..16).map(|i| 256 + i).collect());
    m.set_physmap(map).unwrap();
    put(
        &mut m,
        0x10_0000,
        &[
            addi(A0, ZERO, 9),
            sw(A0, ZERO, 0x800),
            lw(A1, ZERO, 0x800),
            Instr::Halt,
        ],
    );
    assert_eq!(m.run(100), Exit::Halt);
    assert_eq!(m.reg(A1), 9);
    assert_eq!(m.read_phys_u32(HostPhys(0x10_0800)).unwrap(), 9);
    assert_eq!(m.read_guest_phys_u32(GuestPhys(0x800)).unwrap(), 9);
    // Beyond the map: bus error.
    put(
        &mut m,
        0x10_0000 + 12,
        &[Instr::Lui { rd: T0, imm: 0x10 }, lw(A2, T0, 0)],
    );
    m.set_pc(12);
    m.controls_mut().exception_exits = u32::MAX;
    assert_eq!(
        m.run(100),
        Exit::Exception {
            cause: Exception::BusError,
            addr: 0x1_0000
        }
    );
    assert!(m.set_physmap(PhysMap::from_frames(vec![5000])).is_err());
}

#[test]
fn walker_ad_updates_bypass_write_protection() {
    let mut body = li(T0, DATA_VA);
    body.push(lw(A0, T0, 0));
    body.push(Instr::Break);
    let (mut m, mut t) = paged(&body, false);
    t.map(&mut m, DATA_VA, DATA_PA, PTE_R);
    let leaf = t.leaf_addr(&m, DATA_VA);
    m.protect_page(HostPhys(leaf), true);
    assert!(matches!(
        m.run(1000),
        Exit::Exception {
            cause: Exception::Breakpoint,
            ..
        }
    ));
    assert_ne!(m.read_phys_u32(HostPhys(leaf)).unwrap() & PTE_A, 0);
}

#[test]
fn software_walker_for_monitors() {
    let (mut m, mut t) = paged(&[], false);
    t.map(&mut m, DATA_VA, DATA_PA, PTE_R | PTE_W);
    m.set_csr(Csr::Ptbr, ROOT);
    m.set_csr(Csr::Status, SUP_PG);
    let w = m
        .walk_guest(GuestVirt(DATA_VA + 0x10), Access::Load, false, false)
        .unwrap();
    assert_eq!(w.gpa, GuestPhys(DATA_PA + 0x10));
    assert_eq!(w.pte & PTE_A, 0);
    let leaf = HostPhys(t.leaf_addr(&m, DATA_VA));
    assert_eq!(
        m.read_phys_u32(leaf).unwrap() & PTE_A,
        0,
        "no A/D without set_ad"
    );
    let w = m
        .walk_guest(GuestVirt(DATA_VA), Access::Store, false, true)
        .unwrap();
    assert_eq!(w.pte & (PTE_A | PTE_D), PTE_A | PTE_D);
    assert_eq!(
        m.read_phys_u32(leaf).unwrap() & (PTE_A | PTE_D),
        PTE_A | PTE_D
    );
    assert_eq!(
        m.walk_guest(GuestVirt(DATA_VA), Access::Load, true, false),
        Err(GuestWalkError::PageFault(Exception::LoadPageFault))
    );
    assert_eq!(
        m.walk_guest(GuestVirt(DATA_VA), Access::Fetch, false, false),
        Err(GuestWalkError::PageFault(Exception::FetchPageFault))
    );
    // read_u32_virt translates without side effects.
    let counters = m.counters();
    put(&mut m, 0x40, &[Instr::Break]);
    assert_eq!(
        m.read_u32_virt(GuestVirt(0x40)),
        Some(vmlab_isa::encode(&Instr::Break).unwrap())
    );
    assert_eq!(m.read_u32_virt(GuestVirt(DATA_VA)), None, "not executable");
    assert_eq!(m.counters(), counters);
}

#[test]
fn a_faulting_access_sets_no_accessed_bit() {
    // R-only page stored to, and a page outside RAM: both fault, neither
    // leaf gets A.
    for (frame, access) in [(DATA_PA, Access::Store), (0x4000_0000, Access::Load)] {
        let (mut m, mut t) = paged(&access_body(access, false), false);
        t.map(&mut m, DATA_VA, frame, PTE_R);
        let leaf = HostPhys(t.leaf_addr(&m, DATA_VA));
        assert!(matches!(m.run(1000), Exit::Exception { .. }));
        assert_eq!(m.read_phys_u32(leaf).unwrap() & PTE_A, 0, "{access:?}");
    }
}

#[test]
fn loops_of_one_load_or_store_translate_every_access() {
    // With paging on, a loop of one store and one of one load (which the
    // interpreter runs as Rust loops) go through the page tables: the
    // virtual page at 0x2_0000 is the physical one at 0x3_0000, and the
    // physical page at 0x2_0000 stays untouched.
    const VA: u32 = 0x2_0000;
    const PA: u32 = 0x3_0000;
    let mut body = li(T0, VA);
    body.extend(li(T1, VA + 64));
    body.extend(li(A0, 0x5A));
    // Fill 64 bytes, then sum them back.
    body.extend([
        store(vmlab_isa::Width::Byte, A0, T0, 0),
        addi(T0, T0, 1),
        branch(vmlab_isa::BranchCond::Ltu, T0, T1, -8),
    ]);
    body.extend(li(T0, VA));
    body.extend([
        addi(A1, ZERO, 0),
        load(vmlab_isa::LoadOp::Lbu, A2, T0, 0),
        alu(vmlab_isa::AluOp::Add, A1, A1, A2),
        addi(T0, T0, 1),
        branch(vmlab_isa::BranchCond::Ltu, T0, T1, -12),
        Instr::Break,
    ]);
    let (mut m, mut t) = paged(&body, false);
    t.map(&mut m, VA, PA, PTE_R | PTE_W);
    assert!(matches!(
        m.run(10_000),
        Exit::Exception {
            cause: Exception::Breakpoint,
            ..
        }
    ));
    let mut mapped = [0; 64];
    let mut other = [0; 64];
    m.read_phys(HostPhys(PA), &mut mapped).unwrap();
    m.read_phys(HostPhys(VA), &mut other).unwrap();
    assert_eq!(mapped, [0x5A; 64]);
    assert_eq!(other, [0; 64]);
    assert_eq!(m.reg(A1), 64 * 0x5A);
}
