//! The isolation suite (Popek & Goldberg's resource control): hostile
//! guests, one table, each with its expected containment. A contained
//! attack ends as a guest-visible error code (the guest reports it with
//! `shutdown`), or the VM stopped by the monitor with a clear reason, or a
//! run that returns to the host when its budget is spent. Never a host
//! panic, never a byte of host memory outside the VM.
//!
//! The hostile guests are small inline pv kernels (and one `PV_IO`-style
//! kernel under hw), assembled with `vmlab_asm::assemble_str` and placed
//! by the guest crate's boot builder, so each gets a boot-information page,
//! a P2M table, a shared page and the rings like the real kernel.

mod common;

use common::hostile::{BLOCK_REQ, MMU, OWN_PTE, PIN_S1, RAM, pv_config};
use vmlab_isa::abi;
use vmlab_monitor::{Engine, Host, Outcome, RunState, Vm};

/// What an attack must end in.
#[derive(Clone, Copy, Debug)]
enum Contained {
    /// The guest saw this error (or value) and shut down with it.
    Code(u32),
    /// The monitor stopped the VM; the reason contains this.
    Stopped(&'static str),
    /// The run came back to the host with the budget spent, twice.
    Budget,
}

fn e(code: i32) -> u32 {
    code as u32
}

/// An error `code` at batch index `index`, as the MMU snippet packs it.
fn at(code: i32, index: u32) -> u32 {
    (index << 8) | (code as u32 & 0xFF)
}

fn attacks() -> Vec<(&'static str, String, Contained)> {
    let foreign = "
        li      t1, 0x3FF000 | PTE_V | PTE_R      # a host frame the VM does not own
";
    vec![
        (
            "map a frame the VM does not own with mmu_update",
            format!(
                "{PIN_S1}{foreign}
        la      t3, batch
        sw      s1, 0(t3)
        sw      t1, 4(t3)
        li      a1, 1{MMU}"
            ),
            Contained::Code(at(abi::E_PERM, 0)),
        ),
        (
            "map host memory beyond the host's RAM",
            format!(
                "{PIN_S1}
        li      t1, 0xFFFFF000 | PTE_V | PTE_R
        la      t3, batch
        sw      s1, 0(t3)
        sw      t1, 4(t3)
        li      a1, 1{MMU}"
            ),
            Contained::Code(at(abi::E_PERM, 0)),
        ),
        (
            "a half-valid batch applies nothing",
            format!(
                "{PIN_S1}{OWN_PTE}
        la      t3, batch
        sw      s1, 0(t3)
        sw      t1, 4(t3)
        addi    t0, s1, 4
        sw      t0, 8(t3)
        li      t1, 0x3FF000 | PTE_V | PTE_R
        sw      t1, 12(t3)
        li      a1, 2
        la      a0, batch
        li      a2, TLB_FLUSH_NONE
        li      a3, 0
        li      a4, HC_MMU_UPDATE
        hypercall
        lw      t0, BOOT_FREE_START(s0)
        lw      t0, 0(t0)                 # the first entry must still be 0
        bnez    t0, fail
        slli    a1, a1, 8
        andi    a0, a0, 0xFF
        or      a0, a0, a1"
            ),
            Contained::Code(at(abi::E_PERM, 1)),
        ),
        (
            "a PTE write outside any pinned table",
            format!(
                "{OWN_PTE}
        la      t3, batch
        sw      s1, 0(t3)
        sw      t1, 4(t3)
        li      a1, 1{MMU}"
            ),
            Contained::Code(at(abi::E_PERM, 0)),
        ),
        (
            "self-modifying page tables: map the leaf table writable",
            format!(
                "{PIN_S1}
        ori     t1, s1, PTE_V | PTE_R | PTE_W
        la      t3, batch
        sw      s1, 0(t3)
        sw      t1, 4(t3)
        li      a1, 1{MMU}"
            ),
            Contained::Code(at(abi::E_PERM, 0)),
        ),
        (
            "self-modifying page tables: pin a table that maps itself writable",
            "
        lw      t0, BOOT_FREE_START(s0)
        ori     t1, s1, PTE_V | PTE_R | PTE_W
        sw      t1, 0(t0)
        mv      a0, s1
        li      a1, PIN_LEAF
        li      a4, HC_PIN_TABLE
        hypercall"
                .into(),
            Contained::Code(e(abi::E_PERM)),
        ),
        (
            "write its own pinned page table directly (bounced store fault)",
            format!(
                "{PIN_S1}
        lw      t0, BOOT_FREE_START(s0)
        li      t1, 0x3FF000 | PTE_V | PTE_R
        sw      t1, 0(t0)
        li      a0, 0xBAD"
            ),
            Contained::Code(0x100 + vmlab_isa::Exception::StorePageFault.code()),
        ),
        (
            "a root entry to a frame that is not a pinned leaf",
            "
        lw      t0, BOOT_FREE_START(s0)
        li      t1, 0x3FF000 | PTE_V
        sw      t1, 0(t0)
        mv      a0, s1
        li      a1, PIN_ROOT
        li      a4, HC_PIN_TABLE
        hypercall"
                .into(),
            Contained::Code(e(abi::E_PERM)),
        ),
        (
            "pin a frame the VM does not own",
            "
        li      a0, 0x3FF000
        li      a1, PIN_LEAF
        li      a4, HC_PIN_TABLE
        hypercall"
                .into(),
            Contained::Code(e(abi::E_PERM)),
        ),
        (
            "page-table base outside RAM",
            "
        li      a0, 0xFFFFF000
        li      a4, HC_SET_PTBR
        hypercall"
                .into(),
            Contained::Code(e(abi::E_PERM)),
        ),
        (
            "page-table base on an unpinned frame of its own",
            "
        mv      a0, s1
        li      a4, HC_SET_PTBR
        hypercall"
                .into(),
            Contained::Code(e(abi::E_PERM)),
        ),
        (
            "DMA (block read) beyond the VM's RAM",
            format!(
                "
        li      t1, BLK_OP_READ
        li      t2, 0
        li      t3, {RAM}{BLOCK_REQ}"
            ),
            Contained::Code(e(abi::E_FAULT)),
        ),
        (
            "DMA (block read) into a pinned page table",
            format!(
                "{PIN_S1}
        li      t1, BLK_OP_READ
        li      t2, 0
        lw      t3, BOOT_FREE_START(s0){BLOCK_REQ}"
            ),
            Contained::Code(e(abi::E_PERM)),
        ),
        (
            "DMA (block read) into the shared page",
            format!(
                "
        li      t1, BLK_OP_READ
        li      t2, 0
        mv      t3, s3{BLOCK_REQ}"
            ),
            Contained::Code(e(abi::E_PERM)),
        ),
        (
            "out-of-range ring descriptor: misaligned buffer",
            format!(
                "
        li      t1, BLK_OP_READ
        li      t2, 0
        li      t3, 0x20100{BLOCK_REQ}"
            ),
            Contained::Code(e(abi::E_INVAL)),
        ),
        (
            "out-of-range ring descriptor: unknown op",
            format!(
                "
        li      t1, 77
        li      t2, 0
        li      t3, 0x20000{BLOCK_REQ}"
            ),
            Contained::Code(e(abi::E_INVAL)),
        ),
        (
            "a disk request past the end of the disk",
            format!(
                "
        li      t1, BLK_OP_WRITE
        li      t2, {}
        li      t3, 0x20000{BLOCK_REQ}",
                vmlab_monitor::DISK_SECTORS
            ),
            Contained::Code(e(abi::E_RANGE)),
        ),
        (
            "ring indices running ahead of the ring size",
            "
        li      t0, 1000
        sw      t0, RING_REQ_PROD(s2)
        li      a0, RING_BLOCK
        li      a4, HC_RING_NOTIFY
        hypercall"
                .into(),
            Contained::Code(e(abi::E_RING)),
        ),
        (
            "a console request longer than a slot",
            "
        lw      t0, BOOT_CONSOLE_RING(s0)
        li      t1, CON_OP_WRITE
        sw      t1, RING_SLOTS + RING_REQ_OP(t0)
        li      t1, 4096
        sw      t1, RING_SLOTS + RING_REQ_LEN(t0)
        li      t1, 1
        sw      t1, RING_REQ_PROD(t0)
        li      a0, RING_CONSOLE
        li      a4, HC_RING_NOTIFY
        hypercall
        lw      a0, RING_SLOTS + RING_RSP_STATUS(t0)"
                .into(),
            Contained::Code(e(abi::E_INVAL)),
        ),
        (
            "an unknown ring id",
            "
        li      a0, 9
        li      a4, HC_RING_NOTIFY
        hypercall"
                .into(),
            Contained::Code(e(abi::E_INVAL)),
        ),
        (
            "an unknown hypercall number",
            "
        li      a4, 99
        hypercall"
                .into(),
            Contained::Code(e(abi::E_NOSYS)),
        ),
        (
            "hypercall number 0 (a4 never loaded)",
            "
        li      a4, 0
        hypercall"
                .into(),
            Contained::Code(e(abi::E_NOSYS)),
        ),
        (
            "bad arguments: an oversized mmu_update batch",
            "
        la      a0, batch
        li      a1, 100000
        li      a2, 0
        li      a4, HC_MMU_UPDATE
        hypercall"
                .into(),
            Contained::Code(e(abi::E_INVAL)),
        ),
        (
            "bad arguments: log_write from memory beyond RAM",
            "
        li      a0, 0x7FFFF000
        li      a1, 16
        li      a4, HC_LOG_WRITE
        hypercall"
                .into(),
            Contained::Code(e(abi::E_FAULT)),
        ),
        (
            "bad arguments: a trap table with entry 12 set",
            "
        la      a0, trap_table
        li      t0, 0x8000
        sw      t0, 48(a0)
        li      a4, HC_SET_TRAP_TABLE
        hypercall
        slli    a1, a1, 8
        andi    a0, a0, 0xFF
        or      a0, a0, a1"
                .into(),
            Contained::Code(at(abi::E_INVAL, 12)),
        ),
        (
            "bad arguments: iret with unknown flags",
            "
        li      t0, 0xF0
        sw      t0, SHARED_IRET_FLAGS(s3)
        li      a4, HC_IRET
        hypercall"
                .into(),
            Contained::Code(e(abi::E_INVAL)),
        ),
        (
            "a privileged instruction from the pv kernel",
            "
        csrw    status, zero"
                .into(),
            Contained::Stopped("privileged instruction"),
        ),
        (
            "port I/O from the pv kernel",
            "
        li      t0, 0x120
        outw    t0, 0(t0)"
                .into(),
            Contained::Stopped("port access"),
        ),
        (
            "a hypercall from user mode",
            "
        la      t0, user
        csrw    epc, t0
        sw      zero, SHARED_IRET_FLAGS(s3)
        li      a4, HC_IRET
        hypercall
        j       fail
user:
        li      a0, 0x55
        li      a4, HC_SHUTDOWN
        hypercall
        j       user"
                .into(),
            Contained::Code(0x100 + vmlab_isa::Exception::PrivilegedInstruction.code()),
        ),
        (
            "spin with events masked forever (the budget returns control)",
            "
        li      a0, 100
        li      a1, 0
        li      a4, HC_SET_TIMER
        hypercall
1:      j       1b"
                .into(),
            Contained::Budget,
        ),
        (
            "a console flood (bounded output, the budget returns control)",
            "
        lw      t0, BOOT_CONSOLE_RING(s0)
        li      t2, 0
1:      andi    t1, t2, RING_SIZE - 1
        li      t3, RING_SLOT_BYTES
        mul     t1, t1, t3
        add     t1, t1, t0
        li      t3, CON_OP_WRITE
        sw      t3, RING_SLOTS + RING_REQ_OP(t1)
        li      t3, 64
        sw      t3, RING_SLOTS + RING_REQ_LEN(t1)
        addi    t2, t2, 1
        sw      t2, RING_REQ_PROD(t0)
        sw      t2, RING_RSP_CONS(t0)
        li      a0, RING_CONSOLE
        li      a4, HC_RING_NOTIFY
        hypercall
        j       1b"
                .into(),
            Contained::Budget,
        ),
        (
            "an exception with no trap-table entry",
            "
        la      a0, trap_table
        sw      zero, 36(a0)              # entry 9: divide by zero
        li      a4, HC_SET_TRAP_TABLE
        hypercall
        li      t0, 0
        div     t0, t0, t0"
                .into(),
            Contained::Stopped("unhandled guest exception divide-by-zero"),
        ),
    ]
}

/// Everything outside the VM's frames, as a snapshot of host RAM.
fn outside(host: &Host, own: &[u32]) -> Vec<u8> {
    let ram = host.machine().ram();
    let mut bytes = Vec::new();
    for f in 0..ram.frames() {
        if !own.contains(&f) {
            let mut page = vec![0u8; 4096];
            host.machine()
                .read_phys(vmlab_machine::HostPhys(f << 12), &mut page)
                .unwrap();
            bytes.extend_from_slice(&page);
        }
    }
    bytes
}

#[test]
fn every_attack_is_contained() {
    let mut failures = Vec::new();
    let table = attacks();
    assert!(table.len() >= 15);
    // The translator's code is the one place that could touch host memory:
    // every attack runs on both engines.
    for engine in Engine::ALL {
        attacks_on(engine, &table, &mut failures);
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

fn attacks_on(
    engine: Engine,
    table: &[(&'static str, String, Contained)],
    failures: &mut Vec<String>,
) {
    for (name, attack, want) in table {
        let (name, want) = (*name, *want);
        let mut config = pv_config(attack);
        config.engine = engine;
        let mut host = Vm::host_for(&config).unwrap();
        let mut vm = Vm::new(&mut host, config).unwrap();
        if name.contains("flood") {
            vm.bus_mut()
                .get_mut::<vmlab_machine::devices::Console>()
                .unwrap()
                .set_output_limit(4096);
        }
        let before = outside(&host, vm.frames());
        let first = vm.run(&mut host, 200_000);
        let ok = match (want, &first) {
            (Contained::Code(c), Ok(RunState::Finished(Outcome::Shutdown { code }))) => *code == c,
            (Contained::Stopped(why), Ok(RunState::Finished(Outcome::GuestError { .. }))) => {
                vm.stop_reason().is_some_and(|r| r.contains(why))
            }
            (Contained::Budget, Ok(RunState::Running)) => {
                matches!(vm.run(&mut host, 200_000), Ok(RunState::Running))
                    && vm.console().len() <= 4096
            }
            _ => false,
        };
        // Monitor-owned frames outside the VM are host memory the guest
        // must not have touched (pinning changes only the machine's
        // protection bits, not RAM).
        let untouched = outside(&host, vm.frames()) == before;
        if !ok || !untouched {
            failures.push(format!(
                "{name} ({engine}): wanted {want:?}, got {first:?} (reason {:?}, host memory untouched: {untouched})\n  log {:?}",
                vm.stop_reason(),
                String::from_utf8_lossy(vm.log())
            ));
        }
    }
}
