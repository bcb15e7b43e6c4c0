use super::*;
use vmlab_asm::assemble_str;

fn kernel() -> Image {
    assemble_str(".section data\n.org 0x2000\n.word 1\n.section text\n.org 0x8000\n_start: halt")
        .unwrap()
}

fn program() -> Image {
    assemble_str(
        ".org 0x40000000\n_start: j _start\n.section data\nx: .word 7\n.space 5000\ny: .word 9",
    )
    .unwrap()
}

#[test]
fn lays_out_kernel_boot_info_and_programs() {
    let k = kernel();
    let p = program();
    let mut spec = BootSpec::new(&k, 1 << 20);
    let mut prog = ProgramSpec::new("demo", &p, 5);
    prog.args = [1, 2, 3, 4];
    spec.programs.push(prog);
    spec.disk_sectors = 64;
    let boot = layout(&spec).unwrap();
    assert_eq!(boot.entry, 0x8000);
    assert_eq!((boot.kernel_start, boot.kernel_end), (0x2000, 0x8004));
    assert_eq!(
        boot.read_u32(abi::BOOT_INFO_ADDR),
        Some(abi::BOOT_INFO_MAGIC)
    );
    let info = |off: u32| boot.read_u32(abi::BOOT_INFO_ADDR + off).unwrap();
    assert_eq!(info(abi::BOOT_NPROGS), 1);
    assert_eq!(info(abi::BOOT_DISK_SECTORS), 64);
    assert_eq!(info(abi::BOOT_FREE_START), boot.free_start);
    assert_eq!(info(abi::boot_prog(0) + abi::BOOT_PROG_ITERS), 5);
    assert_eq!(info(abi::boot_prog(0) + abi::BOOT_PROG_ARGS + 12), 4);
    assert_eq!(info(abi::boot_prog(0)), u32::from_le_bytes(*b"demo"));
    // Text page, then the data pages (0x40001000..0x40002390): 3 pages.
    let segs = &boot.programs[0].segments;
    assert_eq!(segs.len(), 2);
    assert_eq!(segs[0].kind, abi::SEG_TEXT);
    assert_eq!(segs[1].kind, abi::SEG_DATA);
    assert_eq!(segs[1].gpa % PAGE_SIZE, segs[1].vaddr % PAGE_SIZE);
    assert_eq!(boot.read_u32(segs[1].gpa), Some(7));
    assert_eq!(boot.read_u32(segs[1].gpa + 5004), Some(9));
    assert_eq!(boot.free_start, segs[1].gpa + 2 * PAGE_SIZE);
    // Chunks are sorted and do not overlap.
    for pair in boot.chunks.windows(2) {
        assert!(pair[0].0 as usize + pair[0].1.len() <= pair[1].0 as usize);
    }
}

#[test]
fn pv_layout_has_p2m_shared_page_and_rings() {
    let k = kernel();
    let mut spec = BootSpec::new(&k, 1 << 20);
    spec.flags = BootFlags {
        pv_cpu: true,
        pv_io: true,
    };
    spec.p2m = Some((0..256).map(|n| 1000 + n).collect());
    let boot = layout(&spec).unwrap();
    let p2m = boot.p2m_addr.unwrap();
    assert_eq!(boot.read_u32(p2m + 4 * 255), Some(1255));
    let shared = boot.shared_page.unwrap();
    assert_eq!(boot.read_u32(shared + abi::SHARED_MASK), Some(1));
    assert!(boot.console_ring.is_some() && boot.block_ring.is_some());
    let flags = boot.read_u32(abi::BOOT_INFO_ADDR + abi::BOOT_FLAGS);
    assert_eq!(flags, Some(abi::BOOT_FLAG_PV_CPU | abi::BOOT_FLAG_PV_IO));
}

#[test]
fn errors_say_what_is_wrong() {
    let k = kernel();
    let p = program();
    let mut spec = BootSpec::new(&k, 1 << 20);
    spec.programs
        .push(ProgramSpec::new("a-name-that-is-too-long", &p, 1));
    let err = layout(&spec).unwrap_err();
    assert!(matches!(err, BootError::NameTooLong { .. }), "{err}");

    let low = assemble_str("_start: halt").unwrap();
    let mut spec = BootSpec::new(&k, 1 << 20);
    spec.programs.push(ProgramSpec::new("low", &low, 1));
    let err = layout(&spec).unwrap_err();
    assert!(err.to_string().contains(".org 0x40000000"), "{err}");

    let mut spec = BootSpec::new(&k, 1 << 20);
    spec.programs = vec![ProgramSpec::new("p", &p, 1); 9];
    assert_eq!(
        layout(&spec).unwrap_err(),
        BootError::TooManyPrograms { count: 9 }
    );

    let spec = BootSpec::new(&k, 40 << 10);
    assert!(matches!(
        layout(&spec).unwrap_err(),
        BootError::DoesNotFit { .. }
    ));

    let mut spec = BootSpec::new(&k, 1 << 20);
    spec.flags.pv_cpu = true;
    spec.flags.pv_io = true;
    assert!(matches!(
        layout(&spec).unwrap_err(),
        BootError::BadP2m { found: None, .. }
    ));
}
