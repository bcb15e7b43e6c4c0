//! Scenario tests of the bt engine: invalidation (self-modifying kernel
//! code, page reuse after unmap, a host write into a code page), adaptive
//! translation, the cache's size limit, chaining and indirect lookups, the
//! virtual CPU of inline operations, and `describe_block`. The scenarios
//! run by `both` also run on the x86-64 backend (x86-64 hosts).

mod common;

use common::{assert_same, bt, outcome, run_bt, run_interp};
use vmlab_isa::paging::{PTE_A, PTE_D, PTE_R, PTE_V, PTE_W, PTE_X, make_pte};
use vmlab_isa::{Csr, Profile, Reg, csr::status};
use vmlab_machine::{Engine, Exit, HostPhys, Machine, MachineConfig};
use vmlab_translate::{
    BtEngine, CalloutKind, NativeCpu, PortableBackend, VirtualCpu, describe_block,
};

fn machine(src: &str) -> Machine {
    let image = vmlab_asm::assemble_str(src).unwrap();
    let config = MachineConfig {
        ram_bytes: 256 << 10,
        ..MachineConfig::default()
    };
    Machine::bare_metal(&image, config).unwrap()
}

/// Runs `src` with both engines, asserts identical outcomes, returns the bt
/// machine and engine.
fn both(src: &str, setup: impl Fn(&mut Machine)) -> (Machine, common::Bt) {
    let mut a = machine(src);
    setup(&mut a);
    let exit_a = run_interp(&mut a, 100_000);
    let mut b = machine(src);
    setup(&mut b);
    let mut e = bt();
    let exit_b = run_bt(&mut b, &mut e, 100_000);
    assert_eq!(exit_a, Exit::Halt);
    assert_same(&outcome(&a, exit_a), &outcome(&b, exit_b));
    // The x86-64 backend, in both configurations, agrees too.
    #[cfg(target_arch = "x86_64")]
    for caches in [false, true] {
        let mut x = machine(src);
        setup(&mut x);
        let exit_x = if caches {
            run_bt(&mut x, &mut common::bt_x86(), 100_000)
        } else {
            run_bt(&mut x, &mut common::bt_x86_plain(), 100_000)
        };
        assert_same(&outcome(&a, exit_a), &outcome(&x, exit_x));
    }
    (b, e)
}

const SMC: &str = "
_start: li a0, 0
        li a2, 0
again:  call f
        la t0, f
        la t2, patch
        lw t2, 0(t2)
        sw t2, 0(t0)        # overwrite f's first instruction (another block)
        addi a2, a2, 1
        li t3, 2
        blt a2, t3, again
        la t0, next
        la t2, patch
        lw t2, 0(t2)
        sw t2, 0(t0)        # overwrite the next instruction of this block
next:   addi a0, a0, 1
        halt
f:      addi a0, a0, 1
        ret
patch:  addi a0, a0, 100
";

#[test]
fn self_modifying_kernel_code_is_retranslated() {
    let (m, e) = both(SMC, |_| {});
    assert_eq!(m.reg(Reg::A0), 1 + 100 + 100);
    assert!(e.counters().invalidations >= 1, "{:?}", e.counters());
}

#[test]
fn host_write_into_a_code_page_invalidates() {
    let src = "_start: call f\n halt\nf: li a0, 1\n ret\n";
    let mut m = machine(src);
    let mut e = bt();
    assert_eq!(run_bt(&mut m, &mut e, 1_000), Exit::Halt);
    assert_eq!(m.reg(Reg::A0), 1);
    // DMA: the host rewrites f's first word (li a0, 2), then reruns.
    let f = vmlab_asm::assemble_str(src)
        .unwrap()
        .symbol("f")
        .unwrap()
        .value;
    let word = vmlab_isa::encode(&vmlab_isa::Instr::AluImm {
        op: vmlab_isa::ImmOp::Add,
        rd: Reg::A0,
        rs1: Reg::ZERO,
        imm: 2,
    })
    .unwrap();
    m.write_phys_u32(HostPhys(f), word).unwrap();
    m.set_pc(0);
    assert_eq!(run_bt(&mut m, &mut e, 1_000), Exit::Halt);
    assert_eq!(m.reg(Reg::A0), 2);
    // Code is tracked per frame: every translation from the page is stale.
    assert!(e.counters().invalidations >= 1);
}

/// Page tables: root at 0x8000; VA 0..0x10000 identity (kernel), VA
/// 0x400000 through the leaf table at 0xC000. Frames 0xA000 and 0xB000 hold
/// `li a0, 1; ret` and `li a0, 2; ret`.
fn paging_setup(m: &mut Machine) {
    let rwx = PTE_V | PTE_R | PTE_W | PTE_X | PTE_A | PTE_D;
    m.write_phys_u32(HostPhys(0x8000), make_pte(0x9000, PTE_V))
        .unwrap();
    m.write_phys_u32(HostPhys(0x8004), make_pte(0xC000, PTE_V))
        .unwrap();
    for i in 0..16 {
        m.write_phys_u32(HostPhys(0x9000 + 4 * i), make_pte(i << 12, rwx))
            .unwrap();
    }
    m.write_phys_u32(HostPhys(0xC000), make_pte(0xA000, rwx))
        .unwrap();
    for (frame, value) in [(0xA000u32, 1i32), (0xB000, 2)] {
        let li = vmlab_isa::Instr::AluImm {
            op: vmlab_isa::ImmOp::Add,
            rd: Reg::A0,
            rs1: Reg::ZERO,
            imm: value,
        };
        let ret = vmlab_isa::Instr::Jalr {
            rd: Reg::ZERO,
            rs1: Reg::RA,
            off: 0,
        };
        common::put(m, frame, &[li, ret]);
    }
    m.set_csr(Csr::Ptbr, 0x8000);
    m.set_csr(Csr::Status, status::MODE | status::PG);
}

#[test]
fn page_reuse_after_unmap_runs_the_new_code() {
    let rwx = PTE_V | PTE_R | PTE_W | PTE_X | PTE_A | PTE_D;
    let src = format!(
        "
_start: li s0, 0
        li s1, 0x400000
        li t0, 0xC000           # the leaf entry of 0x400000
        jalr ra, 0(s1)          # frame A: a0 = 1
        add s0, s0, a0
        li t1, {pte_b}
        sw t1, 0(t0)            # remap 0x400000 to frame B
        tlbflushp s1
        jalr ra, 0(s1)          # a0 = 2
        add s0, s0, a0
        li t2, 0xA000           # reuse frame A for new code: li a0, 3
        li t1, {li3}
        sw t1, 0(t2)
        li t1, {pte_a}
        sw t1, 0(t0)            # map it again
        tlbflushp s1
        jalr ra, 0(s1)          # a0 = 3
        add s0, s0, a0
        halt
",
        pte_b = make_pte(0xB000, rwx),
        pte_a = make_pte(0xA000, rwx),
        li3 = li3_word(),
    );
    let (m, e) = both(&src, paging_setup);
    assert_eq!(m.reg(Reg::S0), 1 + 2 + 3);
    assert!(e.counters().invalidations >= 1);
    assert!(e.counters().callouts_of(CalloutKind::TlbFlush) == 2);
}

fn li3_word() -> u32 {
    vmlab_isa::encode(&vmlab_isa::Instr::AluImm {
        op: vmlab_isa::ImmOp::Add,
        rd: Reg::A0,
        rs1: Reg::ZERO,
        imm: 3,
    })
    .unwrap()
}

#[test]
fn a_protected_store_faults_once_then_calls_out() {
    let src = "
_start: li t0, 0x5000
        li t1, 10
loop:   sw t1, 0(t0)
        addi t1, t1, -1
        bne t1, zero, loop
        halt
";
    let protect = |m: &mut Machine| m.protect_page(HostPhys(0x5000), true);
    let (m, e) = both(src, protect);
    let c = e.counters();
    assert_eq!(c.adaptive_retranslations, 1);
    assert_eq!(c.callouts_of(CalloutKind::PteWrite), 9);
    assert_eq!(
        m.counters().exits_of(&Exit::ProtectedWrite {
            gva: vmlab_machine::GuestVirt(0),
            hpa: HostPhys(0),
            width: vmlab_isa::Width::Word,
            value: 0,
        }),
        1
    );
    assert_eq!(m.read_phys_u32(HostPhys(0x5000)).unwrap(), 1);
}

const CALLS: &str = "
_start: li s0, 50
loop:   call f
        call g
        addi s0, s0, -1
        bne s0, zero, loop
        halt
f:      addi a0, a0, 1
        ret
g:      addi a1, a1, 2
        ret
";

#[test]
fn direct_branches_chain_and_returns_look_up() {
    let (m, e) = both(CALLS, |_| {});
    assert_eq!((m.reg(Reg::A0), m.reg(Reg::A1)), (50, 100));
    let (c, s) = (e.counters(), e.backend_stats());
    assert!(
        c.chain_patches > 0 && s.chained_transfers > 0,
        "{c:?} {s:?}"
    );
    assert!(c.indirect_lookups >= 100, "{c:?}");
    assert!(c.cache_hits > 0);
    assert!(c.blocks_translated < 12, "{c:?}");
}

#[test]
fn the_size_limit_flushes_the_cache() {
    // 40 blocks of 3 instructions, 120 > the smallest capacity (64).
    let mut src = String::from("_start: li s0, 3\nloop:\n");
    for i in 0..40 {
        src.push_str(&format!(
            "b{i}: addi a0, a0, 1\n addi a1, a1, {i}\n j b{}\n",
            i + 1
        ));
    }
    src.push_str("b40: addi s0, s0, -1\n bne s0, zero, loop\n halt\n");
    let image = vmlab_asm::assemble_str(&src).unwrap();
    let config = MachineConfig::default();
    let mut a = Machine::bare_metal(&image, config.clone()).unwrap();
    let exit_a = run_interp(&mut a, 100_000);
    let mut b = Machine::bare_metal(&image, config).unwrap();
    let mut e = BtEngine::with_capacity(PortableBackend::new(), NativeCpu, 64);
    let exit_b = run_bt(&mut b, &mut e, 100_000);
    assert_same(&outcome(&a, exit_a), &outcome(&b, exit_b));
    assert!(e.counters().flushes >= 2, "{:?}", e.counters());
    assert!(e.cache().size() <= 64);
}

/// A monitor-owned virtual CPU: inline operations never touch the machine.
#[derive(Debug, Default)]
struct Vcpu {
    csrs: [u32; 16],
}

impl VirtualCpu for Vcpu {
    fn read_csr(&mut self, _: &Machine, csr: Csr) -> u32 {
        self.csrs[csr.index()]
    }
    fn write_csr(&mut self, _: &mut Machine, csr: Csr, value: u32) {
        self.csrs[csr.index()] = value;
    }
}

#[test]
fn inline_operations_act_on_the_virtual_cpu() {
    let mut m =
        machine("_start: li a0, 9\n csrw prio, a0\n csrr a1, prio\n getf a2\n setf a0\n halt\n");
    let mut vcpu = Vcpu::default();
    vcpu.csrs[Csr::Status.index()] = status::MODE;
    let mut e = BtEngine::new(PortableBackend::new(), vcpu);
    assert_eq!(
        e.run(&mut m, 100),
        Exit::Callout {
            id: CalloutKind::Halt as u32
        }
    );
    assert_eq!(m.csr(Csr::Prio), 0, "the real prio is untouched");
    assert_eq!(e.vcpu().csrs[Csr::Prio.index()], 9);
    assert_eq!(m.reg(Reg::A1), 9);
    assert_eq!(m.reg(Reg::A2), status::MODE);
    // setf a0 (9 = 0b1001): IE := bit 1 of a0 = 0; MODE kept.
    assert_eq!(e.vcpu().csrs[Csr::Status.index()], status::MODE);
    assert_eq!(e.counters().inline_ops, 4);
    assert_eq!(m.counters().exits_of(&Exit::Callout { id: 0 }), 1);
}

#[test]
fn describe_block_marks_callouts_and_inline_ops() {
    let src = "_start: csrr a0, status\n getf a1\n addi a0, a0, 1\n csrw status, a0\n";
    let image = vmlab_asm::assemble_str(src).unwrap();
    let text = describe_block(&image, 0, Profile::Legacy).unwrap();
    assert!(text.contains("block 0x00000000"), "{text}");
    assert!(text.contains(":1"), "source line: {text}");
    assert!(text.contains("CALLOUT  csr-write"), "{text}");
    assert!(
        text.contains("inline   a1 = vcpu.status & (MODE|IE) (sensitive, unprivileged"),
        "{text}"
    );
    assert!(text.contains("kept"), "{text}");
    assert!(describe_block(&image, 2, Profile::Strict).is_err());
    assert!(describe_block(&image, 0x9000, Profile::Strict).is_err());
}
