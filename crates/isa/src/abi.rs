//! The paravirtualization ABI, as specified in `docs/hypercalls.md`: hypercall
//! numbers and error codes, the boot-information page, the shared page, the
//! console and block rings, and the batch formats.
//!
//! Every number a guest kernel and the monitor must agree on is a constant
//! here, and nowhere else. The guest build writes [`asm_include`] to an
//! include file, so the assembly kernel and the Rust monitor cannot disagree.
//! The Rust names and the assembly names are the same.
//!
//! ```
//! use vmlab_isa::abi::{self, Hypercall};
//!
//! let hc = Hypercall::from_number(abi::HC_MMU_UPDATE).unwrap();
//! assert_eq!(hc.name(), "mmu_update");
//! assert_eq!(abi::error_name(abi::E_PERM), Some("E_PERM"));
//! assert!(abi::asm_include().contains(".equ HC_MMU_UPDATE, 3\n"));
//! ```

use std::fmt::{self, Write as _};

use crate::csr::{Csr, irq};
use crate::trap::INTERRUPT_BIT;

// ---------------------------------------------------------------------------
// Hypercall numbers (section 3 of docs/hypercalls.md). 0 is never assigned, so
// a forgotten `li a4, ...` fails with E_NOSYS.

/// Register the trap table: a0 = guest-virtual address of [`TRAP_TABLE_ENTRIES`] words.
pub const HC_SET_TRAP_TABLE: u32 = 1;
/// Return from a trap or upcall to `epc`, with the frame in the shared page.
pub const HC_IRET: u32 = 2;
/// Apply a batch of page-table updates: a0 = entries, a1 = count, a2 = flush kind, a3 = va.
pub const HC_MMU_UPDATE: u32 = 3;
/// Pin a frame as a page-table page: a0 = host-physical frame, a1 = level.
pub const HC_PIN_TABLE: u32 = 4;
/// Unpin a page-table page: a0 = host-physical frame.
pub const HC_UNPIN_TABLE: u32 = 5;
/// Switch address space: a0 = host-physical root (pinned as a root); paging on, TLB flushed.
pub const HC_SET_PTBR: u32 = 6;
/// Flush the TLB: a0 = kind ([`TLB_FLUSH_PAGE`] or [`TLB_FLUSH_ALL`]), a1 = va.
pub const HC_TLB_FLUSH: u32 = 7;
/// Deliver pending events now (call after unmasking if any is pending).
pub const HC_EVENT_CHECK: u32 = 8;
/// Arm the one-shot timer: a0:a1 = 64-bit deadline in retired instructions.
pub const HC_SET_TIMER: u32 = 9;
/// Read the retired-instruction counter: a0 = low word, a1 = high word.
pub const HC_TIME: u32 = 10;
/// Give the rest of the time slice to other VMs.
pub const HC_YIELD: u32 = 11;
/// Unmask events and wait until one is pending (the pv `wfi`).
pub const HC_BLOCK: u32 = 12;
/// Tell the back end that a ring has new requests: a0 = ring id.
pub const HC_RING_NOTIFY: u32 = 13;
/// Append bytes to the kernel log: a0 = guest-virtual buffer, a1 = length.
pub const HC_LOG_WRITE: u32 = 14;
/// Power the VM off: a0 = exit code. Does not return.
pub const HC_SHUTDOWN: u32 = 15;

// ---------------------------------------------------------------------------
// Error codes: a negative a0. 0 or a non-negative value is success.

/// Success.
pub const E_OK: i32 = 0;
/// Bad argument: reserved bits set, unknown kind or level, misaligned, too long.
pub const E_INVAL: i32 = -1;
/// Bad address: a pointer that is not mapped readable, or a guest-physical
/// address outside the VM's RAM.
pub const E_FAULT: i32 = -2;
/// Not allowed: a frame the VM does not own, a PTE outside a pinned table, a
/// writable mapping of a page-table frame, DMA into a page-table frame.
pub const E_PERM: i32 = -3;
/// Unknown hypercall number, or a call this VM's mode does not offer.
pub const E_NOSYS: i32 = -4;
/// Busy: the frame is already pinned, or still in use (current root, or a
/// leaf table referenced by a pinned root).
pub const E_BUSY: i32 = -5;
/// A value outside the device: a sector at or past the end of the disk.
pub const E_RANGE: i32 = -6;
/// Ring indices are inconsistent (a producer ran more than [`RING_SIZE`] ahead);
/// nothing was processed.
pub const E_RING: i32 = -7;

// ---------------------------------------------------------------------------
// Hypercall arguments.

/// Words in the trap table: one per exception code, then the upcall entry.
pub const TRAP_TABLE_ENTRIES: u32 = 16;
/// Trap-table index of the event upcall entry (indices 0..=11 are exception codes).
pub const TRAP_UPCALL: u32 = 13;
/// The `cause` an event upcall writes: the soft-interrupt code (the shared
/// page's pending bytes say which events).
pub const UPCALL_CAUSE: u32 = INTERRUPT_BIT | irq::SOFT;

/// `SHARED_IRET_FLAGS` bit: return to supervisor mode (clear: to user mode).
pub const IRET_KERNEL: u32 = 1 << 0;
/// `SHARED_IRET_FLAGS` bit, with [`IRET_KERNEL`] only: unmask events on return.
pub const IRET_EVENTS: u32 = 1 << 1;

/// Bytes per `mmu_update` entry.
pub const MMU_ENTRY_BYTES: u32 = 8;
/// Entry field: host-physical address of the PTE to write (4-aligned).
pub const MMU_PTR: u32 = 0;
/// Entry field: the new PTE value.
pub const MMU_VAL: u32 = 4;
/// Most entries one `mmu_update` accepts.
pub const MMU_BATCH_MAX: u32 = 128;

/// Flush kind: none (`mmu_update` only).
pub const TLB_FLUSH_NONE: u32 = 0;
/// Flush kind: the page holding the given virtual address.
pub const TLB_FLUSH_PAGE: u32 = 1;
/// Flush kind: the whole TLB.
pub const TLB_FLUSH_ALL: u32 = 2;

/// `pin_table` level: a leaf table (its entries map pages).
pub const PIN_LEAF: u32 = 0;
/// `pin_table` level: a root table (its valid entries point to pinned leaf tables).
pub const PIN_ROOT: u32 = 1;

/// Both halves of a `set_timer` deadline that means "no timer".
pub const TIMER_NEVER: u32 = 0xFFFF_FFFF;
/// Most bytes one `log_write` accepts.
pub const LOG_WRITE_MAX: u32 = 256;

// ---------------------------------------------------------------------------
// The boot-information page, filled by the host before boot, read by the kernel.

/// Guest-physical address of the boot-information page (page 1).
pub const BOOT_INFO_ADDR: u32 = 0x1000;
/// Value of `BOOT_MAGIC`: the bytes `56 4d 42 49`, ASCII "VMBI".
pub const BOOT_INFO_MAGIC: u32 = 0x4942_4D56;
/// Value of `BOOT_VERSION` this document describes.
pub const BOOT_INFO_VERSION: u32 = 1;

/// Offset: magic ([`BOOT_INFO_MAGIC`]).
pub const BOOT_MAGIC: u32 = 0x00;
/// Offset: layout version ([`BOOT_INFO_VERSION`]).
pub const BOOT_VERSION: u32 = 0x04;
/// Offset: flags ([`BOOT_FLAG_PV_CPU`], [`BOOT_FLAG_PV_IO`]).
pub const BOOT_FLAGS: u32 = 0x08;
/// Offset: guest RAM size in bytes (a multiple of the page size).
pub const BOOT_RAM_BYTES: u32 = 0x0C;
/// Offset: guest-physical address of the kernel image's first byte.
pub const BOOT_KERNEL_START: u32 = 0x10;
/// Offset: guest-physical address just past the kernel image.
pub const BOOT_KERNEL_END: u32 = 0x14;
/// Offset: first free guest-physical address (page-aligned): everything the
/// host placed lies below it, every page from it to the end of RAM is free.
pub const BOOT_FREE_START: u32 = 0x18;
/// Offset: disk size in 512-byte sectors (0: no disk).
pub const BOOT_DISK_SECTORS: u32 = 0x1C;
/// Offset: guest-physical address of the physical-to-machine table (pv only, else 0).
pub const BOOT_P2M_ADDR: u32 = 0x20;
/// Offset: entries in the physical-to-machine table: RAM bytes / 4096 (pv only, else 0).
pub const BOOT_P2M_COUNT: u32 = 0x24;
/// Offset: guest-physical address of the shared page (pv only, else 0).
pub const BOOT_SHARED_ADDR: u32 = 0x28;
/// Offset: guest-physical address of the console ring page (pv I/O, else 0).
pub const BOOT_CONSOLE_RING: u32 = 0x2C;
/// Offset: guest-physical address of the block ring page (pv I/O, else 0).
pub const BOOT_BLOCK_RING: u32 = 0x30;
/// Offset: number of programs in the program table (at most [`BOOT_MAX_PROGS`]).
pub const BOOT_NPROGS: u32 = 0x34;
/// Offset: the program table, [`BOOT_MAX_PROGS`] entries of [`BOOT_PROG_BYTES`].
pub const BOOT_PROGS: u32 = 0x40;
/// Entries in the program table.
pub const BOOT_MAX_PROGS: u32 = 8;
/// Bytes per program-table entry.
pub const BOOT_PROG_BYTES: u32 = 0x80;

/// `BOOT_FLAGS` bit: the VM runs in pv mode (P2M table and shared page valid).
pub const BOOT_FLAG_PV_CPU: u32 = 1 << 0;
/// `BOOT_FLAGS` bit: the rings are present (`--io pv`, always with pv).
pub const BOOT_FLAG_PV_IO: u32 = 1 << 1;

/// Program field: name, [`BOOT_PROG_NAME_BYTES`] bytes, NUL-padded.
pub const BOOT_PROG_NAME: u32 = 0x00;
/// Bytes of a program name (a name of exactly 16 bytes has no NUL).
pub const BOOT_PROG_NAME_BYTES: u32 = 16;
/// Program field: entry point (user virtual address).
pub const BOOT_PROG_ENTRY: u32 = 0x10;
/// Program field: number of segments (1..=[`BOOT_MAX_SEGS`]).
pub const BOOT_PROG_NSEGS: u32 = 0x14;
/// Program field: iteration count.
pub const BOOT_PROG_ITERS: u32 = 0x18;
/// Program field: [`BOOT_PROG_NARGS`] argument words.
pub const BOOT_PROG_ARGS: u32 = 0x20;
/// Argument words per program.
pub const BOOT_PROG_NARGS: u32 = 4;
/// Program field: the segment table, [`BOOT_MAX_SEGS`] entries of [`BOOT_SEG_BYTES`].
pub const BOOT_PROG_SEGS: u32 = 0x30;
/// Segments per program.
pub const BOOT_MAX_SEGS: u32 = 4;
/// Bytes per segment entry.
pub const BOOT_SEG_BYTES: u32 = 16;

/// Segment field: load (user virtual) address of the first byte.
pub const BOOT_SEG_VADDR: u32 = 0x0;
/// Segment field: guest-physical address of the first byte (same page offset as the vaddr).
pub const BOOT_SEG_GPA: u32 = 0x4;
/// Segment field: size in bytes.
pub const BOOT_SEG_SIZE: u32 = 0x8;
/// Segment field: kind, [`SEG_TEXT`] or [`SEG_DATA`] (as in the image format).
pub const BOOT_SEG_KIND: u32 = 0xC;
/// Segment kind: code (map read + execute).
pub const SEG_TEXT: u32 = 0;
/// Segment kind: data (map read + write).
pub const SEG_DATA: u32 = 1;

// ---------------------------------------------------------------------------
// The shared page (pv only): written by the guest with plain stores.

/// Offset: the event mask, the kernel's virtual IE (0 = events on, else masked).
pub const SHARED_MASK: u32 = 0x00;
/// Offset: [`EV_COUNT`] pending bytes, one per event (`+ EV_*`); a word load tests them all.
pub const SHARED_PENDING: u32 = 0x04;
/// Offset: the virtual priority threshold, 0..=15 (the pv `prio`).
pub const SHARED_PRIO: u32 = 0x08;
/// Offset: retired instructions at the last hypercall return or upcall, low word.
pub const SHARED_TIME_LO: u32 = 0x10;
/// Offset: the same, high word.
pub const SHARED_TIME_HI: u32 = 0x14;
/// Offset: `iret` frame: flags ([`IRET_KERNEL`], [`IRET_EVENTS`]).
pub const SHARED_IRET_FLAGS: u32 = 0x18;
/// Offset: `iret` frame: the value `a0` gets on return.
pub const SHARED_IRET_A0: u32 = 0x1C;
/// Offset: `iret` frame: the value `a4` gets on return.
pub const SHARED_IRET_A4: u32 = 0x20;

/// Event (pending-byte index): the one-shot timer set by `set_timer` expired.
pub const EV_TIMER: u32 = 0;
/// Event: the console ring produced responses.
pub const EV_CONSOLE: u32 = 1;
/// Event: the block ring produced responses.
pub const EV_BLOCK: u32 = 2;
/// Number of events.
pub const EV_COUNT: u32 = 3;
/// Priority of [`EV_TIMER`] (as the timer interrupt).
pub const EV_PRIO_TIMER: u32 = 8;
/// Priority of [`EV_CONSOLE`] and [`EV_BLOCK`] (as the device interrupt).
pub const EV_PRIO_DEVICE: u32 = 4;

// ---------------------------------------------------------------------------
// Rings: one page each, shared slots (a response replaces a consumed request).

/// Ring id of the console ring.
pub const RING_CONSOLE: u32 = 0;
/// Ring id of the block ring.
pub const RING_BLOCK: u32 = 1;
/// Slots per ring (a power of two; indices are free-running u32, slot = index mod size).
pub const RING_SIZE: u32 = 32;
/// Header offset: request producer (written by the guest).
pub const RING_REQ_PROD: u32 = 0x00;
/// Header offset: request consumer (written by the back end).
pub const RING_REQ_CONS: u32 = 0x04;
/// Header offset: response producer (written by the back end).
pub const RING_RSP_PROD: u32 = 0x08;
/// Header offset: response consumer (written by the guest).
pub const RING_RSP_CONS: u32 = 0x0C;
/// Offset of slot 0; the header before it is reserved beyond the four indices.
pub const RING_SLOTS: u32 = 0x40;
/// Bytes per slot.
pub const RING_SLOT_BYTES: u32 = 80;
/// Inline data bytes per console slot.
pub const RING_DATA_BYTES: u32 = 64;

/// Request field: id, any value, echoed in the response.
pub const RING_REQ_ID: u32 = 0x00;
/// Request field: operation (`CON_OP_*` or `BLK_OP_*`).
pub const RING_REQ_OP: u32 = 0x04;
/// Console request field: byte count (write: bytes in DATA; read: most bytes wanted).
pub const RING_REQ_LEN: u32 = 0x08;
/// Block request field: sector number.
pub const RING_REQ_SECTOR: u32 = 0x08;
/// Block request field: guest-physical address of the 512-byte buffer (512-aligned).
pub const RING_REQ_BUF: u32 = 0x0C;
/// Console request field: inline bytes to write.
pub const RING_REQ_DATA: u32 = 0x10;
/// Response field: the request's id.
pub const RING_RSP_ID: u32 = 0x00;
/// Response field: status, 0 or a negative `E_*` code.
pub const RING_RSP_STATUS: u32 = 0x04;
/// Response field: result value (bytes moved, or the console status bits).
pub const RING_RSP_VALUE: u32 = 0x08;
/// Response field: inline bytes read (console read).
pub const RING_RSP_DATA: u32 = 0x10;

/// Console op: write `len` (1..=64) inline bytes to the console.
pub const CON_OP_WRITE: u32 = 1;
/// Console op: read 1..=`len` bytes; held until at least one byte is available.
pub const CON_OP_READ: u32 = 2;
/// Console op: read the console status bits (the pv `in` nanobenchmark).
pub const CON_OP_STATUS: u32 = 3;
/// Block op: copy a sector into the buffer.
pub const BLK_OP_READ: u32 = 1;
/// Block op: copy the buffer to a sector.
pub const BLK_OP_WRITE: u32 = 2;
/// Bytes per sector (the block buffer size).
pub const BLK_SECTOR_BYTES: u32 = 512;

/// The control registers the deprivileged (ring-1-like) level lets a pv kernel
/// read and write: the trap frame. Every other privileged instruction exits.
pub const TRAP_FRAME_CSRS: [Csr; 4] = [Csr::Epc, Csr::Cause, Csr::BadAddr, Csr::Scratch];

/// Offset of slot `index` (free-running; taken mod [`RING_SIZE`]) in a ring page.
pub const fn ring_slot(index: u32) -> u32 {
    RING_SLOTS + (index & (RING_SIZE - 1)) * RING_SLOT_BYTES
}

/// Offset of program `prog`'s entry in the boot-information page.
pub const fn boot_prog(prog: u32) -> u32 {
    BOOT_PROGS + prog * BOOT_PROG_BYTES
}

/// Offset of segment `seg` of program `prog` in the boot-information page.
pub const fn boot_seg(prog: u32, seg: u32) -> u32 {
    boot_prog(prog) + BOOT_PROG_SEGS + seg * BOOT_SEG_BYTES
}

/// The priority of event `ev`: it is delivered only above `SHARED_PRIO`.
pub const fn event_priority(ev: u32) -> u32 {
    if ev == EV_TIMER {
        EV_PRIO_TIMER
    } else {
        EV_PRIO_DEVICE
    }
}

// ---------------------------------------------------------------------------
// The hypercalls as a type, for the monitor's dispatch and for traces.

/// A hypercall, by its number in `a4`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u32)]
pub enum Hypercall {
    /// [`HC_SET_TRAP_TABLE`].
    SetTrapTable = HC_SET_TRAP_TABLE,
    /// [`HC_IRET`].
    Iret = HC_IRET,
    /// [`HC_MMU_UPDATE`].
    MmuUpdate = HC_MMU_UPDATE,
    /// [`HC_PIN_TABLE`].
    PinTable = HC_PIN_TABLE,
    /// [`HC_UNPIN_TABLE`].
    UnpinTable = HC_UNPIN_TABLE,
    /// [`HC_SET_PTBR`].
    SetPtbr = HC_SET_PTBR,
    /// [`HC_TLB_FLUSH`].
    TlbFlush = HC_TLB_FLUSH,
    /// [`HC_EVENT_CHECK`].
    EventCheck = HC_EVENT_CHECK,
    /// [`HC_SET_TIMER`].
    SetTimer = HC_SET_TIMER,
    /// [`HC_TIME`].
    Time = HC_TIME,
    /// [`HC_YIELD`].
    Yield = HC_YIELD,
    /// [`HC_BLOCK`].
    Block = HC_BLOCK,
    /// [`HC_RING_NOTIFY`].
    RingNotify = HC_RING_NOTIFY,
    /// [`HC_LOG_WRITE`].
    LogWrite = HC_LOG_WRITE,
    /// [`HC_SHUTDOWN`].
    Shutdown = HC_SHUTDOWN,
}

impl Hypercall {
    /// Every hypercall, in number order.
    pub const ALL: [Hypercall; 15] = [
        Hypercall::SetTrapTable,
        Hypercall::Iret,
        Hypercall::MmuUpdate,
        Hypercall::PinTable,
        Hypercall::UnpinTable,
        Hypercall::SetPtbr,
        Hypercall::TlbFlush,
        Hypercall::EventCheck,
        Hypercall::SetTimer,
        Hypercall::Time,
        Hypercall::Yield,
        Hypercall::Block,
        Hypercall::RingNotify,
        Hypercall::LogWrite,
        Hypercall::Shutdown,
    ];

    /// The hypercall with number `n` (the value of `a4`), if defined.
    pub fn from_number(n: u32) -> Option<Hypercall> {
        Hypercall::ALL.iter().copied().find(|h| h.number() == n)
    }

    /// The number the guest puts in `a4`.
    pub const fn number(self) -> u32 {
        self as u32
    }

    /// The lower-case name used in docs and traces (`"mmu_update"`).
    pub const fn name(self) -> &'static str {
        match self {
            Hypercall::SetTrapTable => "set_trap_table",
            Hypercall::Iret => "iret",
            Hypercall::MmuUpdate => "mmu_update",
            Hypercall::PinTable => "pin_table",
            Hypercall::UnpinTable => "unpin_table",
            Hypercall::SetPtbr => "set_ptbr",
            Hypercall::TlbFlush => "tlb_flush",
            Hypercall::EventCheck => "event_check",
            Hypercall::SetTimer => "set_timer",
            Hypercall::Time => "time",
            Hypercall::Yield => "yield",
            Hypercall::Block => "block",
            Hypercall::RingNotify => "ring_notify",
            Hypercall::LogWrite => "log_write",
            Hypercall::Shutdown => "shutdown",
        }
    }

    /// Names of the argument registers it reads, from `a0` on (for traces).
    pub const fn args(self) -> &'static [&'static str] {
        match self {
            Hypercall::SetTrapTable => &["table"],
            Hypercall::MmuUpdate => &["entries", "count", "flush", "va"],
            Hypercall::PinTable => &["frame", "level"],
            Hypercall::UnpinTable => &["frame"],
            Hypercall::SetPtbr => &["root"],
            Hypercall::TlbFlush => &["kind", "va"],
            Hypercall::SetTimer => &["deadline_lo", "deadline_hi"],
            Hypercall::RingNotify => &["ring"],
            Hypercall::LogWrite => &["buf", "len"],
            Hypercall::Shutdown => &["code"],
            Hypercall::Iret
            | Hypercall::EventCheck
            | Hypercall::Time
            | Hypercall::Yield
            | Hypercall::Block => &[],
        }
    }

    /// True if a kernel built with only paravirtual I/O (`PV_IO`, under trap,
    /// hw or bt) may make this call; every other call is pv-only and gives
    /// [`E_NOSYS`] there.
    pub const fn in_pv_io(self) -> bool {
        matches!(self, Hypercall::RingNotify)
    }
}

impl fmt::Display for Hypercall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The name of an error code (`Some("E_PERM")` for -3), or `None` for a
/// value that is not one.
pub const fn error_name(code: i32) -> Option<&'static str> {
    match code {
        E_OK => Some("E_OK"),
        E_INVAL => Some("E_INVAL"),
        E_FAULT => Some("E_FAULT"),
        E_PERM => Some("E_PERM"),
        E_NOSYS => Some("E_NOSYS"),
        E_BUSY => Some("E_BUSY"),
        E_RANGE => Some("E_RANGE"),
        E_RING => Some("E_RING"),
        _ => None,
    }
}

// ---------------------------------------------------------------------------
// Tables of the constants and layouts: the include file, and the tests that
// keep every layout inside its page and free of overlaps.

/// One named number of the ABI.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Constant {
    /// The name, the same in Rust and in assembly.
    pub name: &'static str,
    /// The value (error codes are negative).
    pub value: i64,
}

/// A titled group of constants, in the order `docs/hypercalls.md` gives them.
#[derive(Clone, Copy, Debug)]
pub struct Group {
    /// A short title, written as a comment in the include file.
    pub title: &'static str,
    /// The constants.
    pub constants: &'static [Constant],
}

macro_rules! constants {
    ($($name:ident),* $(,)?) => {
        &[$(Constant { name: stringify!($name), value: $name as i64 }),*]
    };
}

/// Every constant of this module, grouped. [`asm_include`] renders exactly these.
pub const GROUPS: &[Group] = &[
    Group {
        title: "hypercall numbers (a4)",
        constants: constants![
            HC_SET_TRAP_TABLE,
            HC_IRET,
            HC_MMU_UPDATE,
            HC_PIN_TABLE,
            HC_UNPIN_TABLE,
            HC_SET_PTBR,
            HC_TLB_FLUSH,
            HC_EVENT_CHECK,
            HC_SET_TIMER,
            HC_TIME,
            HC_YIELD,
            HC_BLOCK,
            HC_RING_NOTIFY,
            HC_LOG_WRITE,
            HC_SHUTDOWN,
        ],
    },
    Group {
        title: "error codes (negative a0)",
        constants: constants![
            E_OK, E_INVAL, E_FAULT, E_PERM, E_NOSYS, E_BUSY, E_RANGE, E_RING
        ],
    },
    Group {
        title: "hypercall arguments",
        constants: constants![
            TRAP_TABLE_ENTRIES,
            TRAP_UPCALL,
            UPCALL_CAUSE,
            IRET_KERNEL,
            IRET_EVENTS,
            MMU_ENTRY_BYTES,
            MMU_PTR,
            MMU_VAL,
            MMU_BATCH_MAX,
            TLB_FLUSH_NONE,
            TLB_FLUSH_PAGE,
            TLB_FLUSH_ALL,
            PIN_LEAF,
            PIN_ROOT,
            TIMER_NEVER,
            LOG_WRITE_MAX,
        ],
    },
    Group {
        title: "boot-information page",
        constants: constants![
            BOOT_INFO_ADDR,
            BOOT_INFO_MAGIC,
            BOOT_INFO_VERSION,
            BOOT_MAX_PROGS,
            BOOT_PROG_BYTES,
            BOOT_FLAG_PV_CPU,
            BOOT_FLAG_PV_IO,
            BOOT_PROG_NAME_BYTES,
            BOOT_PROG_NARGS,
            BOOT_MAX_SEGS,
            BOOT_SEG_BYTES,
            SEG_TEXT,
            SEG_DATA,
        ],
    },
    Group {
        title: "boot-information offsets",
        constants: constants![
            BOOT_MAGIC,
            BOOT_VERSION,
            BOOT_FLAGS,
            BOOT_RAM_BYTES,
            BOOT_KERNEL_START,
            BOOT_KERNEL_END,
            BOOT_FREE_START,
            BOOT_DISK_SECTORS,
            BOOT_P2M_ADDR,
            BOOT_P2M_COUNT,
            BOOT_SHARED_ADDR,
            BOOT_CONSOLE_RING,
            BOOT_BLOCK_RING,
            BOOT_NPROGS,
            BOOT_PROGS,
        ],
    },
    Group {
        title: "program entry offsets",
        constants: constants![
            BOOT_PROG_NAME,
            BOOT_PROG_ENTRY,
            BOOT_PROG_NSEGS,
            BOOT_PROG_ITERS,
            BOOT_PROG_ARGS,
            BOOT_PROG_SEGS,
        ],
    },
    Group {
        title: "segment entry offsets",
        constants: constants![BOOT_SEG_VADDR, BOOT_SEG_GPA, BOOT_SEG_SIZE, BOOT_SEG_KIND],
    },
    Group {
        title: "shared-page offsets",
        constants: constants![
            SHARED_MASK,
            SHARED_PENDING,
            SHARED_PRIO,
            SHARED_TIME_LO,
            SHARED_TIME_HI,
            SHARED_IRET_FLAGS,
            SHARED_IRET_A0,
            SHARED_IRET_A4,
        ],
    },
    Group {
        title: "events (pending-byte index) and priorities",
        constants: constants![
            EV_TIMER,
            EV_CONSOLE,
            EV_BLOCK,
            EV_COUNT,
            EV_PRIO_TIMER,
            EV_PRIO_DEVICE,
        ],
    },
    Group {
        title: "rings",
        constants: constants![
            RING_CONSOLE,
            RING_BLOCK,
            RING_SIZE,
            RING_SLOT_BYTES,
            RING_DATA_BYTES,
            CON_OP_WRITE,
            CON_OP_READ,
            CON_OP_STATUS,
            BLK_OP_READ,
            BLK_OP_WRITE,
            BLK_SECTOR_BYTES,
        ],
    },
    Group {
        title: "ring header offsets",
        constants: constants![
            RING_REQ_PROD,
            RING_REQ_CONS,
            RING_RSP_PROD,
            RING_RSP_CONS,
            RING_SLOTS
        ],
    },
    Group {
        title: "ring slot offsets",
        constants: constants![
            RING_REQ_ID,
            RING_REQ_OP,
            RING_REQ_LEN,
            RING_REQ_SECTOR,
            RING_REQ_BUF,
            RING_REQ_DATA,
            RING_RSP_ID,
            RING_RSP_STATUS,
            RING_RSP_VALUE,
            RING_RSP_DATA,
        ],
    },
];

/// One field of a memory layout: `size` bytes at `offset`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Field {
    /// The offset constant's name.
    pub name: &'static str,
    /// Byte offset from the start of the structure.
    pub offset: u32,
    /// Size in bytes.
    pub size: u32,
}

/// A structure in guest memory: its size and its fields (the rest is reserved, 0).
#[derive(Clone, Copy, Debug)]
pub struct Layout {
    /// What it is.
    pub name: &'static str,
    /// Its size in bytes: a page, or one table entry.
    pub size: u32,
    /// Its fields, in offset order.
    pub fields: &'static [Field],
}

macro_rules! fields {
    ($($name:ident: $size:expr),* $(,)?) => {
        &[$(Field { name: stringify!($name), offset: $name, size: $size }),*]
    };
}

/// Every memory layout of the ABI.
pub const LAYOUTS: &[Layout] = &[
    Layout {
        name: "boot-information page",
        size: crate::paging::PAGE_SIZE,
        fields: fields![
            BOOT_MAGIC: 4,
            BOOT_VERSION: 4,
            BOOT_FLAGS: 4,
            BOOT_RAM_BYTES: 4,
            BOOT_KERNEL_START: 4,
            BOOT_KERNEL_END: 4,
            BOOT_FREE_START: 4,
            BOOT_DISK_SECTORS: 4,
            BOOT_P2M_ADDR: 4,
            BOOT_P2M_COUNT: 4,
            BOOT_SHARED_ADDR: 4,
            BOOT_CONSOLE_RING: 4,
            BOOT_BLOCK_RING: 4,
            BOOT_NPROGS: 4,
            BOOT_PROGS: BOOT_MAX_PROGS * BOOT_PROG_BYTES,
        ],
    },
    Layout {
        name: "program entry",
        size: BOOT_PROG_BYTES,
        fields: fields![
            BOOT_PROG_NAME: BOOT_PROG_NAME_BYTES,
            BOOT_PROG_ENTRY: 4,
            BOOT_PROG_NSEGS: 4,
            BOOT_PROG_ITERS: 4,
            BOOT_PROG_ARGS: BOOT_PROG_NARGS * 4,
            BOOT_PROG_SEGS: BOOT_MAX_SEGS * BOOT_SEG_BYTES,
        ],
    },
    Layout {
        name: "segment entry",
        size: BOOT_SEG_BYTES,
        fields: fields![BOOT_SEG_VADDR: 4, BOOT_SEG_GPA: 4, BOOT_SEG_SIZE: 4, BOOT_SEG_KIND: 4],
    },
    Layout {
        name: "shared page",
        size: crate::paging::PAGE_SIZE,
        fields: fields![
            SHARED_MASK: 4,
            SHARED_PENDING: 4,
            SHARED_PRIO: 4,
            SHARED_TIME_LO: 4,
            SHARED_TIME_HI: 4,
            SHARED_IRET_FLAGS: 4,
            SHARED_IRET_A0: 4,
            SHARED_IRET_A4: 4,
        ],
    },
    Layout {
        name: "ring page",
        size: crate::paging::PAGE_SIZE,
        fields: fields![
            RING_REQ_PROD: 4,
            RING_REQ_CONS: 4,
            RING_RSP_PROD: 4,
            RING_RSP_CONS: 4,
            RING_SLOTS: RING_SIZE * RING_SLOT_BYTES,
        ],
    },
    Layout {
        name: "console request",
        size: RING_SLOT_BYTES,
        fields: fields![
            RING_REQ_ID: 4,
            RING_REQ_OP: 4,
            RING_REQ_LEN: 4,
            RING_REQ_DATA: RING_DATA_BYTES,
        ],
    },
    Layout {
        name: "block request",
        size: RING_SLOT_BYTES,
        fields: fields![RING_REQ_ID: 4, RING_REQ_OP: 4, RING_REQ_SECTOR: 4, RING_REQ_BUF: 4],
    },
    Layout {
        name: "response",
        size: RING_SLOT_BYTES,
        fields: fields![
            RING_RSP_ID: 4,
            RING_RSP_STATUS: 4,
            RING_RSP_VALUE: 4,
            RING_RSP_DATA: RING_DATA_BYTES,
        ],
    },
    Layout {
        name: "mmu_update entry",
        size: MMU_ENTRY_BYTES,
        fields: fields![MMU_PTR: 4, MMU_VAL: 4],
    },
];

/// Renders every constant of [`GROUPS`] as `.equ NAME, VALUE` lines for the
/// guest assembler, under a header saying the text is generated.
///
/// Values below 4096 in magnitude are written in decimal, larger ones in hex.
pub fn asm_include() -> String {
    let mut out = String::new();
    out.push_str("# The vmlab paravirtualization ABI (docs/hypercalls.md).\n");
    out.push_str(
        "# GENERATED from vmlab_isa::abi by vmlab_isa::abi::asm_include(); do not edit.\n",
    );
    out.push_str("# Change crates/isa/src/abi.rs and rebuild instead.\n");
    for group in GROUPS {
        let _ = write!(out, "\n# {}\n", group.title);
        for c in group.constants {
            if c.value.unsigned_abs() < 4096 {
                let _ = writeln!(out, "        .equ {}, {}", c.name, c.value);
            } else {
                let _ = writeln!(out, "        .equ {}, {:#X}", c.name, c.value);
            }
        }
    }
    out
}
