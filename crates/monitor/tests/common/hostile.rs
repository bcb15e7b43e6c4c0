//! Hostile pv kernels for the isolation tests: the common frame every
//! inline attack runs in, the snippets attacks are built from, and the boot
//! that places them like the real kernel (a boot-information page, a P2M
//! table, a shared page and the rings).

use vmlab_guest::boot::{BootSpec, layout};
use vmlab_isa::abi;
use vmlab_monitor::{BootImage, Mode, VmConfig};

/// Guest RAM of a hostile VM.
pub const RAM: u32 = 256 << 10;

/// The common frame of every hostile pv kernel: registers a trap table
/// whose every entry shuts down with 0x100 + cause, then runs `attack`
/// with s0 = the boot information, s1 = the host address of the first
/// free guest page (its frame from the P2M table), s2 = the block ring,
/// s3 = the shared page (all guest-physical: paging stays off). The attack
/// leaves its result in a0 and falls through to `shutdown(a0)`.
pub fn pv_source(attack: &str) -> String {
    format!(
        r#"{inc}
        .equ PTE_V, 1
        .equ PTE_R, 2
        .equ PTE_W, 4
        .org 0x8000
start:
        mv      s0, a0
        la      a0, trap_table
        li      a4, HC_SET_TRAP_TABLE
        hypercall
        bnez    a0, fail
        lw      t0, BOOT_FREE_START(s0)
        srli    t0, t0, 12
        slli    t0, t0, 2
        lw      t1, BOOT_P2M_ADDR(s0)
        add     t0, t0, t1
        lw      s1, 0(t0)
        slli    s1, s1, 12
        lw      s2, BOOT_BLOCK_RING(s0)
        lw      s3, BOOT_SHARED_ADDR(s0)
{attack}
done:
        li      a4, HC_SHUTDOWN
        hypercall
fail:
        li      a0, 0xFA11
        li      a4, HC_SHUTDOWN
        hypercall
handler:
        csrr    a0, cause
        addi    a0, a0, 0x100
        li      a4, HC_SHUTDOWN
        hypercall
        .align  4
trap_table:
        .word   handler, handler, handler, handler, handler, handler
        .word   handler, handler, handler, handler, handler, handler
        .word   0, handler, 0, 0
batch:
        .space  64
"#,
        inc = abi::asm_include()
    )
}

/// The host frame of the kernel's first page (guest page 8), mapped
/// read-only: a valid leaf entry, into t1.
pub const OWN_PTE: &str = "
        lw      t1, BOOT_P2M_ADDR(s0)
        lw      t1, 32(t1)
        slli    t1, t1, 12
        ori     t1, t1, PTE_V | PTE_R
";

/// Pin the free page (s1) as a leaf table.
pub const PIN_S1: &str = "
        mv      a0, s1
        li      a1, PIN_LEAF
        li      a4, HC_PIN_TABLE
        hypercall
        bnez    a0, fail
";

/// mmu_update of the entries at `batch`, count in a1; then a0 = result,
/// packed with a1 (the failing index) as (a1 << 8) | (a0 & 0xFF) when it fails.
pub const MMU: &str = "
        la      a0, batch
        li      a2, TLB_FLUSH_NONE
        li      a3, 0
        li      a4, HC_MMU_UPDATE
        hypercall
        bgez    a0, done
        slli    a1, a1, 8
        andi    a0, a0, 0xFF
        or      a0, a0, a1
";

/// One block request (op, sector, buf in t1, t2, t3) and ring_notify;
/// a0 = the response status (or the notify error).
pub const BLOCK_REQ: &str = "
        sw      zero, RING_SLOTS + RING_REQ_ID(s2)
        sw      t1, RING_SLOTS + RING_REQ_OP(s2)
        sw      t2, RING_SLOTS + RING_REQ_SECTOR(s2)
        sw      t3, RING_SLOTS + RING_REQ_BUF(s2)
        li      t0, 1
        sw      t0, RING_REQ_PROD(s2)
        li      a0, RING_BLOCK
        li      a4, HC_RING_NOTIFY
        hypercall
        bltz    a0, done
        lw      a0, RING_SLOTS + RING_RSP_STATUS(s2)
";

pub fn boot_pv(source: &str) -> BootImage {
    let image = vmlab_asm::assemble_str(source).unwrap_or_else(|e| panic!("{e:?}\n{source}"));
    let mut spec = BootSpec::new(&image, RAM);
    spec.disk_sectors = vmlab_monitor::DISK_SECTORS;
    spec.flags.pv_cpu = true;
    spec.flags.pv_io = true;
    spec.p2m = Some(vec![0; (RAM / 4096) as usize]);
    let boot = layout(&spec).unwrap();
    BootImage {
        chunks: boot.chunks,
        entry: boot.entry,
        lines: Vec::new(),
    }
}

pub fn pv_config(attack: &str) -> VmConfig {
    let mut c = VmConfig::new(boot_pv(&pv_source(attack)), Mode::Pv);
    c.ram_bytes = RAM;
    c.workload = "hostile".into();
    c
}
