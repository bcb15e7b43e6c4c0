//! The isolation suite beyond the single-VM pv attack table
//! (isolation.rs): a `PV_IO`-style kernel under hw and trap has its ring
//! requests validated too, and a pv VM attacking another VM's memory
//! leaves that VM's output intact.

mod common;

use common::hostile::{BLOCK_REQ, PIN_S1, RAM, pv_config};
use vmlab_guest::boot::{BootSpec, layout};
use vmlab_isa::abi;
use vmlab_monitor::{
    BootImage, Engine, Host, HostConfig, IoVirt, Mode, Outcome, RunState, Vm, VmConfig,
};

#[test]
fn hw_with_pv_io_validates_ring_requests_too() {
    // A PV_IO-style kernel in guest mode under hw: a block read beyond RAM
    // and an unknown hypercall, each answered with an error it then writes
    // to the power port.
    let source = format!(
        r#"{inc}
        .org 0x8000
        lw      s2, BOOT_BLOCK_RING(a0)
        li      t1, BLK_OP_READ
        li      t2, 0
        li      t3, {RAM}
        sw      t1, RING_SLOTS + RING_REQ_OP(s2)
        sw      t2, RING_SLOTS + RING_REQ_SECTOR(s2)
        sw      t3, RING_SLOTS + RING_REQ_BUF(s2)
        li      t0, 1
        sw      t0, RING_REQ_PROD(s2)
        li      a0, RING_BLOCK
        li      a4, HC_RING_NOTIFY
        hypercall
        lw      s0, RING_SLOTS + RING_RSP_STATUS(s2)
        li      a4, HC_SET_PTBR
        hypercall
        slli    a0, a0, 8
        andi    s0, s0, 0xFF
        or      a0, a0, s0
        li      t0, 0x120
        outw    a0, 0(t0)
"#,
        inc = abi::asm_include()
    );
    let image = vmlab_asm::assemble_str(&source).unwrap();
    let mut spec = BootSpec::new(&image, RAM);
    spec.disk_sectors = vmlab_monitor::DISK_SECTORS;
    spec.flags.pv_io = true;
    let boot = layout(&spec).unwrap();
    for (mode, engine) in [Mode::Hw, Mode::Trap]
        .into_iter()
        .flat_map(|m| Engine::ALL.map(|e| (m, e)))
    {
        let mut c = VmConfig::new(
            BootImage {
                chunks: boot.chunks.clone(),
                entry: boot.entry,
                lines: Vec::new(),
            },
            mode,
        );
        c.ram_bytes = RAM;
        c.io = IoVirt::Pv;
        c.engine = engine;
        let r = vmlab_monitor::run(c, 100_000).unwrap();
        let want = ((abi::E_NOSYS as u32) << 8) | (abi::E_FAULT as u32 & 0xFF);
        assert_eq!(r.exit_code, Some(want), "{mode} {engine}: {r:#?}");
        assert_eq!(r.counters.pv.validation_rejections, 2, "{mode} {engine}");
    }
}

#[test]
fn two_vms_one_attacking_the_others_memory_leaves_its_output_intact() {
    for engine in Engine::ALL {
        two_vms_on(engine);
    }
}

fn two_vms_on(engine: Engine) {
    let mut victim_cfg = VmConfig::for_workload("sieve", 3, Mode::Pv).unwrap();
    victim_cfg.engine = engine;
    let want = vmlab_guest::workload("sieve").unwrap().expected_output(3);
    let mut host = Host::new(&HostConfig {
        ram_bytes: 8 << 20,
        ..HostConfig::default()
    })
    .unwrap();
    let mut victim = Vm::new(&mut host, victim_cfg).unwrap();
    let target = victim.frames()[9] << 12; // a frame of the victim's kernel
    // The attacker tries to map the victim's frame, pin it, and DMA into it.
    let attack = format!(
        "{PIN_S1}
        li      t1, {target:#x} | PTE_V | PTE_R | PTE_W
        la      t3, batch
        sw      s1, 0(t3)
        sw      t1, 4(t3)
        li      a1, 1
        la      a0, batch
        li      a2, TLB_FLUSH_NONE
        li      a3, 0
        li      a4, HC_MMU_UPDATE
        hypercall
        mv      s3, a0
        li      a0, {target:#x}
        li      a1, PIN_LEAF
        li      a4, HC_PIN_TABLE
        hypercall
        andi    a0, a0, 0xFF
        slli    a0, a0, 8
        andi    s3, s3, 0xFF
        or      s3, s3, a0
        li      t1, BLK_OP_READ
        li      t2, 0
        li      t3, {beyond:#x}{BLOCK_REQ}
        andi    a0, a0, 0xFF
        slli    a0, a0, 16
        or      a0, a0, s3",
        beyond = RAM + 0x1000
    );
    let mut attacker_cfg = pv_config(&attack);
    attacker_cfg.engine = engine;
    let mut attacker = Vm::new(&mut host, attacker_cfg).unwrap();
    let mut victim_state = RunState::Running;
    let mut attacker_state = RunState::Running;
    for _ in 0..1000 {
        if attacker_state == RunState::Running {
            attacker_state = attacker.run(&mut host, 50).unwrap();
        }
        if victim_state == RunState::Running {
            victim_state = victim.run(&mut host, 20_000).unwrap();
        }
    }
    let pack = |c: i32| c as u32 & 0xFF;
    let want_code = (pack(abi::E_FAULT) << 16) | (pack(abi::E_PERM) << 8) | pack(abi::E_PERM);
    assert_eq!(
        attacker_state,
        RunState::Finished(Outcome::Shutdown { code: want_code }),
        "{engine}"
    );
    assert_eq!(
        victim_state,
        RunState::Finished(Outcome::Shutdown { code: 0 }),
        "{engine}"
    );
    assert_eq!(String::from_utf8_lossy(victim.console()), want);
}
