//! The paravirtualization ABI (`vmlab_isa::abi`, docs/hypercalls.md): the
//! generated include file says what the Rust constants say, numbers are
//! unique, layouts fit their pages without overlaps, and the doc agrees.

use std::collections::{BTreeMap, BTreeSet};

use vmlab_isa::abi::{self, *};
use vmlab_isa::csr::irq;
use vmlab_isa::paging::PAGE_SIZE;
use vmlab_isa::{Cause, Csr, Exception};

const SOURCE: &str = include_str!("../src/abi.rs");
const DOC: &str = include_str!("../../../docs/hypercalls.md");

/// Parses `asm_include()` back: name -> value. Panics on a malformed line.
fn parse_include(text: &str) -> BTreeMap<String, i64> {
    let mut map = BTreeMap::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let rest = line
            .strip_prefix(".equ ")
            .unwrap_or_else(|| panic!("line {}: not .equ: {line}", n + 1));
        let (name, value) = rest
            .split_once(", ")
            .unwrap_or_else(|| panic!("line {}: no comma: {line}", n + 1));
        let value = if let Some(hex) = value.strip_prefix("0x") {
            i64::from_str_radix(hex, 16).unwrap()
        } else {
            value.parse::<i64>().unwrap()
        };
        assert!(
            map.insert(name.to_string(), value).is_none(),
            "line {}: {name} defined twice",
            n + 1
        );
    }
    map
}

fn all_constants() -> Vec<Constant> {
    GROUPS
        .iter()
        .flat_map(|g| g.constants.iter().copied())
        .collect()
}

/// Every constant, named here independently of `GROUPS`, appears in the
/// include file with its Rust value.
#[test]
fn include_has_every_constant_with_its_value() {
    let inc = parse_include(&asm_include());
    macro_rules! check {
        ($($name:ident),* $(,)?) => {{
            let mut n = 0;
            $(
                assert_eq!(inc.get(stringify!($name)), Some(&($name as i64)), stringify!($name));
                n += 1;
            )*
            n
        }};
    }
    let checked = check![
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
        E_OK,
        E_INVAL,
        E_FAULT,
        E_PERM,
        E_NOSYS,
        E_BUSY,
        E_RANGE,
        E_RING,
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
        BOOT_INFO_ADDR,
        BOOT_INFO_MAGIC,
        BOOT_INFO_VERSION,
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
        BOOT_MAX_PROGS,
        BOOT_PROG_BYTES,
        BOOT_FLAG_PV_CPU,
        BOOT_FLAG_PV_IO,
        BOOT_PROG_NAME,
        BOOT_PROG_NAME_BYTES,
        BOOT_PROG_ENTRY,
        BOOT_PROG_NSEGS,
        BOOT_PROG_ITERS,
        BOOT_PROG_ARGS,
        BOOT_PROG_NARGS,
        BOOT_PROG_SEGS,
        BOOT_MAX_SEGS,
        BOOT_SEG_BYTES,
        BOOT_SEG_VADDR,
        BOOT_SEG_GPA,
        BOOT_SEG_SIZE,
        BOOT_SEG_KIND,
        SEG_TEXT,
        SEG_DATA,
        SHARED_MASK,
        SHARED_PENDING,
        SHARED_PRIO,
        SHARED_TIME_LO,
        SHARED_TIME_HI,
        SHARED_IRET_FLAGS,
        SHARED_IRET_A0,
        SHARED_IRET_A4,
        EV_TIMER,
        EV_CONSOLE,
        EV_BLOCK,
        EV_COUNT,
        EV_PRIO_TIMER,
        EV_PRIO_DEVICE,
        RING_CONSOLE,
        RING_BLOCK,
        RING_SIZE,
        RING_REQ_PROD,
        RING_REQ_CONS,
        RING_RSP_PROD,
        RING_RSP_CONS,
        RING_SLOTS,
        RING_SLOT_BYTES,
        RING_DATA_BYTES,
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
        CON_OP_WRITE,
        CON_OP_READ,
        CON_OP_STATUS,
        BLK_OP_READ,
        BLK_OP_WRITE,
        BLK_SECTOR_BYTES,
    ];
    assert_eq!(
        checked,
        inc.len(),
        "the include has constants this test does not know"
    );
}

/// `GROUPS` (what the include renders) holds every numeric `pub const` of
/// abi.rs, found by reading the source, and the include holds exactly `GROUPS`.
#[test]
fn groups_cover_every_numeric_constant_in_the_source() {
    let declared: BTreeSet<&str> = SOURCE
        .lines()
        .filter_map(|l| l.strip_prefix("pub const "))
        .filter_map(|l| l.split_once(": "))
        .filter(|(_, ty)| ty.starts_with("u32 =") || ty.starts_with("i32 ="))
        .map(|(name, _)| name)
        .collect();
    let grouped: BTreeSet<&str> = all_constants().iter().map(|c| c.name).collect();
    assert_eq!(declared, grouped);
    assert_eq!(
        grouped.len(),
        all_constants().len(),
        "a constant is in two groups"
    );
    let inc = parse_include(&asm_include());
    for c in all_constants() {
        assert_eq!(inc.get(c.name), Some(&c.value), "{}", c.name);
    }
    assert_eq!(inc.len(), grouped.len());
}

#[test]
fn include_says_it_is_generated() {
    let text = asm_include();
    let head: Vec<&str> = text.lines().take(3).collect();
    assert!(head.iter().all(|l| l.starts_with('#')));
    assert!(head.join(" ").contains("GENERATED from vmlab_isa::abi"));
    assert!(text.ends_with('\n'));
    // Large values are written in hex, small ones and negatives in decimal.
    assert!(text.contains(".equ BOOT_INFO_MAGIC, 0x49424D56\n"));
    assert!(text.contains(".equ E_PERM, -3\n"));
}

#[test]
fn hypercall_numbers_round_trip_and_are_unique() {
    let mut seen = BTreeSet::new();
    for hc in Hypercall::ALL {
        assert!(seen.insert(hc.number()), "{hc} number reused");
        assert_ne!(hc.number(), 0, "0 stays unassigned");
        assert_eq!(Hypercall::from_number(hc.number()), Some(hc));
        assert_eq!(hc.to_string(), hc.name());
        assert!(hc.args().len() <= 4, "{hc}: arguments are a0..a3");
    }
    let names: BTreeSet<&str> = Hypercall::ALL.iter().map(|h| h.name()).collect();
    assert_eq!(names.len(), Hypercall::ALL.len());
    // The HC_ constants are exactly the enum's numbers, in order 1..=N.
    let hc: Vec<i64> = GROUPS[0].constants.iter().map(|c| c.value).collect();
    let want: Vec<i64> = (1..=Hypercall::ALL.len() as i64).collect();
    assert_eq!(hc, want);
    assert!(
        GROUPS[0]
            .constants
            .iter()
            .all(|c| c.name.starts_with("HC_"))
    );
    for n in [0, Hypercall::ALL.len() as u32 + 1, u32::MAX] {
        assert_eq!(Hypercall::from_number(n), None);
    }
    let pv_io: Vec<Hypercall> = Hypercall::ALL
        .into_iter()
        .filter(|h| h.in_pv_io())
        .collect();
    assert_eq!(pv_io, [Hypercall::RingNotify]);
}

#[test]
fn error_codes_are_unique_and_negative() {
    let errors = GROUPS
        .iter()
        .find(|g| g.title.starts_with("error"))
        .unwrap();
    let mut seen = BTreeSet::new();
    for c in errors.constants {
        assert!(c.name.starts_with("E_"));
        assert!(seen.insert(c.value), "{} reused", c.name);
        assert_eq!(c.value < 0, c.name != "E_OK", "{}", c.name);
        assert_eq!(error_name(c.value as i32), Some(c.name));
    }
    assert_eq!(error_name(1), None);
    assert_eq!(error_name(-100), None);
}

/// Small sets of codes that share a field must not collide.
#[test]
fn enumerations_are_unique() {
    let sets: [(&str, &[u32]); 7] = [
        ("events", &[EV_TIMER, EV_CONSOLE, EV_BLOCK]),
        ("rings", &[RING_CONSOLE, RING_BLOCK]),
        ("console ops", &[CON_OP_WRITE, CON_OP_READ, CON_OP_STATUS]),
        ("block ops", &[BLK_OP_READ, BLK_OP_WRITE]),
        (
            "flush kinds",
            &[TLB_FLUSH_NONE, TLB_FLUSH_PAGE, TLB_FLUSH_ALL],
        ),
        ("pin levels", &[PIN_LEAF, PIN_ROOT]),
        ("segment kinds", &[SEG_TEXT, SEG_DATA]),
    ];
    for (what, values) in sets {
        let unique: BTreeSet<u32> = values.iter().copied().collect();
        assert_eq!(unique.len(), values.len(), "{what}");
    }
    // Events are byte indices into the 4-byte pending word, numbered from 0.
    assert_eq!(EV_COUNT, 3);
    const { assert!(EV_COUNT <= 4) };
    // Flag bits are single, distinct bits.
    for (a, b) in [
        (IRET_KERNEL, IRET_EVENTS),
        (BOOT_FLAG_PV_CPU, BOOT_FLAG_PV_IO),
    ] {
        assert!(a.is_power_of_two() && b.is_power_of_two() && a != b);
    }
    // Block ops keep the block device's command numbers.
    assert_eq!((BLK_OP_READ, BLK_OP_WRITE), (1, 2));
}

#[test]
fn layouts_fit_and_do_not_overlap() {
    let consts: BTreeMap<&str, i64> = all_constants().iter().map(|c| (c.name, c.value)).collect();
    let mut in_layout = BTreeSet::new();
    for layout in LAYOUTS {
        assert!(layout.size <= PAGE_SIZE, "{}", layout.name);
        let mut end = 0;
        for f in layout.fields {
            assert!(f.size > 0, "{}.{}", layout.name, f.name);
            assert!(
                f.offset >= end,
                "{}: {} overlaps the field before it",
                layout.name,
                f.name
            );
            assert_eq!(
                f.offset % 4,
                0,
                "{}: {} is not word-aligned",
                layout.name,
                f.name
            );
            end = f.offset + f.size;
            assert!(
                end <= layout.size,
                "{}: {} runs past the end",
                layout.name,
                f.name
            );
            assert_eq!(consts.get(f.name), Some(&i64::from(f.offset)), "{}", f.name);
            in_layout.insert(f.name);
        }
    }
    // Every offset constant belongs to some layout.
    for g in GROUPS.iter().filter(|g| g.title.contains("offsets")) {
        for c in g.constants {
            assert!(in_layout.contains(c.name), "{} is in no layout", c.name);
        }
    }
    let pages: Vec<&str> = LAYOUTS
        .iter()
        .filter(|l| l.size == PAGE_SIZE)
        .map(|l| l.name)
        .collect();
    assert_eq!(pages, ["boot-information page", "shared page", "ring page"]);
}

#[test]
fn ring_geometry() {
    assert!(RING_SIZE.is_power_of_two());
    const { assert!(RING_SLOT_BYTES % 4 == 0) };
    const { assert!(RING_REQ_DATA + RING_DATA_BYTES <= RING_SLOT_BYTES) };
    const { assert!(RING_RSP_DATA + RING_DATA_BYTES <= RING_SLOT_BYTES) };
    assert_eq!(ring_slot(0), RING_SLOTS);
    assert_eq!(ring_slot(RING_SIZE), RING_SLOTS, "indices are free-running");
    assert_eq!(
        ring_slot(u32::MAX) + RING_SLOT_BYTES,
        RING_SLOTS + RING_SIZE * RING_SLOT_BYTES
    );
    assert!(ring_slot(RING_SIZE - 1) + RING_SLOT_BYTES <= PAGE_SIZE);
    // A u32 index wraps at a multiple of the ring size, so slot = index mod size
    // stays continuous across the wrap.
    assert_eq!(ring_slot(u32::MAX.wrapping_add(1)), ring_slot(0));
    assert!(MMU_BATCH_MAX.is_power_of_two());
    assert_eq!(TRAP_TABLE_ENTRIES * 4, 64);
}

#[test]
fn boot_info_geometry() {
    assert_eq!(BOOT_INFO_ADDR, PAGE_SIZE, "page 1");
    assert_eq!(BOOT_INFO_MAGIC.to_le_bytes(), *b"VMBI");
    let last = boot_seg(BOOT_MAX_PROGS - 1, BOOT_MAX_SEGS - 1);
    assert!(last + BOOT_SEG_BYTES <= boot_prog(BOOT_MAX_PROGS - 1) + BOOT_PROG_BYTES);
    assert!(boot_prog(BOOT_MAX_PROGS) <= PAGE_SIZE);
    assert_eq!(
        boot_seg(1, 2),
        BOOT_PROGS + BOOT_PROG_BYTES + BOOT_PROG_SEGS + 2 * BOOT_SEG_BYTES
    );
}

#[test]
fn trap_table_and_events_fit_the_isa() {
    for e in Exception::ALL {
        assert!(e.code() < TRAP_TABLE_ENTRIES);
        assert_ne!(e.code(), TRAP_UPCALL);
    }
    const { assert!(TRAP_UPCALL < TRAP_TABLE_ENTRIES) };
    assert_eq!(
        Cause::from_code(UPCALL_CAUSE),
        Some(Cause::Interrupt(irq::SOFT))
    );
    assert_eq!(EV_PRIO_TIMER, irq::priority(irq::TIMER));
    assert_eq!(EV_PRIO_DEVICE, irq::priority(irq::DEVICE));
    assert_eq!(abi::event_priority(EV_TIMER), EV_PRIO_TIMER);
    assert_eq!(abi::event_priority(EV_BLOCK), EV_PRIO_DEVICE);
    assert_eq!(
        TRAP_FRAME_CSRS,
        [Csr::Epc, Csr::Cause, Csr::BadAddr, Csr::Scratch]
    );
    assert!(TRAP_FRAME_CSRS.iter().all(|c| !c.is_read_only()));
}

/// docs/hypercalls.md names every constant, and its summary tables give the
/// numbers the code gives.
#[test]
fn doc_agrees_with_the_constants() {
    for c in all_constants() {
        assert!(
            DOC.contains(&format!("`{}`", c.name)),
            "docs/hypercalls.md never names `{}`",
            c.name
        );
    }
    for hc in Hypercall::ALL {
        let row = format!("| {} | `{}` |", hc.number(), hc.name());
        assert!(DOC.contains(&row), "docs/hypercalls.md lacks the row {row}");
        let section = format!("### {}. `{}`", hc.number(), hc.name());
        assert!(
            DOC.contains(&section),
            "docs/hypercalls.md lacks the section {section}"
        );
    }
    for c in GROUPS
        .iter()
        .find(|g| g.title.starts_with("error"))
        .unwrap()
        .constants
    {
        let row = format!("| {} | `{}` |", c.value, c.name);
        assert!(DOC.contains(&row), "docs/hypercalls.md lacks the row {row}");
    }
}
