//! The MMU's virtualization hardware: shadow, nested and direct roots with
//! their walk reference counts, nested faults, protected pages, and TLB
//! flushes on world switches (untagged) versus VPID tags.

mod common;

use common::*;
use vmlab_isa::paging::{PTE_R, PTE_U, PTE_V, PTE_W, PTE_X};
use vmlab_isa::{Access, Csr, Exception, Instr, Width};
use vmlab_machine::{
    Exit, GuestPhys, GuestVirt, HostPhys, Machine, MachineConfig, MemMode, PhysMap,
};

const ROOT: u32 = 0x10_0000;
const POOL: u32 = 0x10_1000;
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

/// A shadow table over host memory: code at gva 0 -> hpa 0.
fn shadow_machine(body: &[Instr]) -> (Machine, Tables) {
    let mut m = machine_with(body, config());
    let mut s = Tables::new(&mut m, ROOT, POOL);
    s.identity(&mut m, 1, RWXU);
    m.set_mem_mode(MemMode::Shadow {
        root: HostPhys(ROOT),
    });
    (m, s)
}

#[test]
fn shadow_misses_exit_to_the_host_who_fills_them() {
    let mut body = li(T0, DATA_VA);
    body.push(lw(A0, T0, 8));
    body.push(Instr::Halt);
    let (mut m, mut s) = shadow_machine(&body);
    m.write_phys_u32(HostPhys(DATA_PA + 8), 1234).unwrap();
    // The guest never turned paging on: the shadow root applies anyway.
    assert_eq!(
        m.run(100),
        Exit::PageFault {
            gva: GuestVirt(DATA_VA + 8),
            access: Access::Load,
            user: false
        }
    );
    assert_eq!(m.pc(), 8, "pc at the load");
    assert_eq!(
        m.counters().traps_of(Exception::LoadPageFault),
        0,
        "no guest trap"
    );
    s.map(&mut m, DATA_VA, DATA_PA, PTE_R);
    assert_eq!(m.run(100), Exit::Halt);
    assert_eq!(m.reg(A0), 1234);
    // The failed walk read only the (invalid) root entry; the successful
    // walks read two entries each.
    let c = m.counters();
    assert_eq!((c.walks_1d, c.walk_refs_1d), (3, 1 + 2 + 2), "{c:?}");
    assert_eq!(c.walk_refs_2d, 0);
}

#[test]
fn shadow_insufficient_permission_exits_with_the_access() {
    let mut body = li(T0, DATA_VA);
    body.push(sw(A0, T0, 0));
    body.push(Instr::Halt);
    let (mut m, mut s) = shadow_machine(&body);
    s.map(&mut m, DATA_VA, DATA_PA, PTE_R);
    assert_eq!(
        m.run(100),
        Exit::PageFault {
            gva: GuestVirt(DATA_VA),
            access: Access::Store,
            user: false
        }
    );
}

const NESTED_ROOT: u32 = 0x20_0000;
const NESTED_POOL: u32 = 0x20_1000;
/// Guest-physical g lives at host g + OFFSET.
const OFFSET: u32 = 0x8_0000;

/// Nested paging: guest-physical 0..256 KiB at host +OFFSET; guest tables
/// (in guest-physical memory) at GROOT; the guest's program at gpa 0.
const GROOT: u32 = 0x3_0000;
const GPOOL: u32 = 0x3_1000;

fn nested_machine(prog: &[Instr]) -> (Machine, Tables) {
    let mut m = Machine::new(config()).unwrap();
    let mut n = Tables::new(&mut m, NESTED_ROOT, NESTED_POOL);
    for p in 0..64 {
        n.map(&mut m, p << 12, (p << 12) + OFFSET, PTE_R | PTE_W | PTE_X);
    }
    put(&mut m, OFFSET, prog);
    m.set_mem_mode(MemMode::Nested {
        root: HostPhys(NESTED_ROOT),
    });
    m.controls_mut().exception_exits = u32::MAX;
    (m, n)
}

/// Builds guest tables in guest-physical memory (host = gpa + OFFSET).
fn guest_tables(m: &mut Machine) -> (Tables, u32) {
    // Tables writes host addresses: build at host GROOT+OFFSET, then fix the
    // root entries to guest-physical frames.
    let mut g = Tables::new(m, GROOT + OFFSET, GPOOL + OFFSET);
    for p in 0..16 {
        g.map(m, p << 12, p << 12, RWXU);
    }
    g.map(m, DATA_VA, DATA_PA, PTE_R | PTE_W);
    for i in 0..1024 {
        let a = HostPhys(GROOT + OFFSET + 4 * i);
        let e = m.read_phys_u32(a).unwrap();
        if e & PTE_V != 0 {
            m.write_phys_u32(a, e - OFFSET).unwrap();
        }
    }
    (g, GROOT)
}

#[test]
fn nested_two_dimensional_walk_costs_eight_references() {
    let mut prog = set_csr(Csr::Ptbr, GROOT);
    prog.extend(set_csr(Csr::Status, SUP_PG));
    prog.extend(li(T0, DATA_VA));
    prog.push(lw(A0, T0, 4));
    prog.push(Instr::Halt);
    let (mut m, _n) = nested_machine(&prog);
    guest_tables(&mut m);
    m.write_phys_u32(HostPhys(DATA_PA + OFFSET + 4), 4321)
        .unwrap();
    assert_eq!(m.run(100), Exit::Halt);
    assert_eq!(m.reg(A0), 4321);
    let c = m.counters();
    assert_eq!(c.walks_1d, 0);
    // Paging off: the code page needs a nested-only walk (2 references);
    // paging on: code page and data page, 8 each.
    assert_eq!(c.walks_2d, 3, "{c:?}");
    assert_eq!(c.walk_refs_2d, 2 + 8 + 8, "{c:?}");
}

#[test]
fn nested_guest_fault_is_an_ordinary_guest_page_fault() {
    let mut prog = set_csr(Csr::Ptbr, GROOT);
    prog.extend(set_csr(Csr::Status, SUP_PG));
    prog.extend(li(T0, DATA_VA + 0x1000)); // not mapped by the guest
    prog.push(lw(A0, T0, 0));
    let (mut m, _n) = nested_machine(&prog);
    guest_tables(&mut m);
    assert_eq!(
        m.run(100),
        Exit::Exception {
            cause: Exception::LoadPageFault,
            addr: DATA_VA + 0x1000
        }
    );
}

#[test]
fn nested_fault_exits_with_the_guest_physical_address() {
    let mut prog = li(T0, 0x10_0000); // gpa beyond the nested map
    prog.push(lw(A0, T0, 0x10));
    prog.push(Instr::Halt);
    let (mut m, mut n) = nested_machine(&prog);
    assert_eq!(
        m.run(100),
        Exit::NestedFault {
            gva: GuestVirt(0x10_0010),
            gpa: GuestPhys(0x10_0010),
            access: Access::Load
        }
    );
    assert_eq!(m.pc(), 8);
    // The host maps it and resumes.
    n.map(&mut m, 0x10_0000, 0x30_0000, PTE_R);
    m.write_phys_u32(HostPhys(0x30_0010), 55).unwrap();
    assert_eq!(m.run(100), Exit::Halt);
    assert_eq!(m.reg(A0), 55);
}

#[test]
fn direct_paging_uses_host_frames() {
    // Guest-physical 0.. at host 1 MiB (PhysMap) while paging is off; the
    // guest's (validated) tables hold host frames and ptbr is host-physical.
    let mut m = Machine::new(config()).unwrap();
    m.set_physmap(PhysMap::from_frames((384..512).collect()))
        .unwrap();
    let code_host = 0x18_0000;
    let mut prog = set_csr(Csr::Ptbr, ROOT);
    prog.extend(set_csr(Csr::Status, SUP_PG));
    prog.extend(li(T0, DATA_VA));
    prog.push(lw(A0, T0, 0));
    prog.push(Instr::Halt);
    put(&mut m, code_host, &prog);
    let mut t = Tables::new(&mut m, ROOT, POOL);
    t.map(&mut m, 0, code_host, PTE_R | PTE_X); // gva 0 -> host code frame
    t.map(&mut m, DATA_VA, DATA_PA, PTE_R);
    m.write_phys_u32(HostPhys(DATA_PA), 99).unwrap();
    m.set_mem_mode(MemMode::Direct);
    assert_eq!(m.run(100), Exit::Halt);
    assert_eq!(m.reg(A0), 99);
}

#[test]
fn protected_write_exits_without_being_performed() {
    let mut prog = li(T0, 0x5000);
    prog.push(addi(A0, ZERO, 42));
    prog.push(store(Width::Half, A0, T0, 2));
    prog.push(lw(A1, T0, 0));
    prog.push(Instr::Halt);
    let mut m = machine_with(&prog, config());
    m.write_phys_u32(HostPhys(0x5000), 0x1111_1111).unwrap();
    m.protect_page(HostPhys(0x5000), true);
    assert!(m.is_protected(HostPhys(0x5FFF)));
    assert_eq!(
        m.run(100),
        Exit::ProtectedWrite {
            gva: GuestVirt(0x5002),
            hpa: HostPhys(0x5002),
            width: Width::Half,
            value: 42
        }
    );
    assert_eq!(m.pc(), 12);
    assert_eq!(m.instret(), 3);
    assert_eq!(
        m.read_phys_u32(HostPhys(0x5000)).unwrap(),
        0x1111_1111,
        "not performed"
    );
    // The host emulates the store and skips it.
    m.write_phys(HostPhys(0x5002), &42u16.to_le_bytes())
        .unwrap();
    m.retire_emulated();
    assert_eq!(m.run(100), Exit::Halt);
    assert_eq!(m.reg(A1), 0x002A_1111);
    assert_eq!(m.protected_pages(), vec![HostPhys(0x5000)]);
}

fn world_switch_run(tagged: bool) -> vmlab_machine::Counters {
    let mut body = li(T0, DATA_VA);
    body.push(lw(A0, T0, 0));
    body.push(Instr::Halt);
    let config = MachineConfig {
        tlb_tagged: tagged,
        ..config()
    };
    let mut m = machine_with(&body, config);
    let mut s = Tables::new(&mut m, ROOT, POOL);
    s.identity(&mut m, 1, RWXU);
    s.map(&mut m, DATA_VA, DATA_PA, PTE_R);
    m.set_mem_mode(MemMode::Shadow {
        root: HostPhys(ROOT),
    });
    m.controls_mut().guest_mode = true;
    m.controls_mut().vpid = 1;
    for _ in 0..3 {
        m.set_pc(0);
        assert_eq!(m.run(100), Exit::Halt);
    }
    m.counters()
}

#[test]
fn untagged_tlb_is_flushed_on_every_world_switch() {
    let untagged = world_switch_run(false);
    assert_eq!(untagged.world_switch_flushes, 6, "entry and exit of 3 runs");
    assert_eq!(untagged.tlb_misses, 6, "code and data miss on every entry");
    let tagged = world_switch_run(true);
    assert_eq!(tagged.world_switch_flushes, 0);
    assert_eq!(tagged.tlb_misses, 2, "only the first entry misses");
}

#[test]
fn tagged_tlb_keeps_spaces_apart() {
    // The host (vpid 0 space) and the guest map DATA_VA differently in the
    // same shadow root swap; each space keeps its own entry.
    let mut body = li(T0, DATA_VA);
    body.push(lw(A0, T0, 0));
    body.push(Instr::Halt);
    let config = MachineConfig {
        tlb_tagged: true,
        ..config()
    };
    let mut m = machine_with(&body, config);
    let mut s = Tables::new(&mut m, ROOT, POOL);
    s.identity(&mut m, 1, RWXU);
    s.map(&mut m, DATA_VA, DATA_PA, PTE_R);
    m.write_phys_u32(HostPhys(DATA_PA), 1).unwrap();
    m.write_phys_u32(HostPhys(DATA_PA + 0x1000), 2).unwrap();
    m.set_mem_mode(MemMode::Shadow {
        root: HostPhys(ROOT),
    });
    m.controls_mut().guest_mode = true;
    m.controls_mut().vpid = 7;
    assert_eq!(m.run(100), Exit::Halt);
    assert_eq!(m.reg(A0), 1);
    // Remap without flushing: vpid 7 still sees the old entry; vpid 8 walks.
    s.map(&mut m, DATA_VA, DATA_PA + 0x1000, PTE_R);
    m.set_pc(0);
    assert_eq!(m.run(100), Exit::Halt);
    assert_eq!(m.reg(A0), 1);
    m.controls_mut().vpid = 8;
    m.set_pc(0);
    assert_eq!(m.run(100), Exit::Halt);
    assert_eq!(m.reg(A0), 2);
}
