//! RAM, the PhysMap, loading images, and host memory access.

mod common;

use common::*;
use vmlab_asm::{Image, Segment, SegmentKind};
use vmlab_isa::Instr;
use vmlab_machine::devices::Console;
use vmlab_machine::{
    Exit, GuestPhys, HostPhys, Machine, MachineConfig, MachineError, PhysMap, Ram,
};

#[test]
fn ram_sizes() {
    assert!(Ram::new(256 << 20).is_ok());
    for bad in [0, 4095, 4097, (1 << 30) + 4096] {
        assert_eq!(
            Ram::new(bad),
            Err(MachineError::RamSize { bytes: bad }),
            "{bad}"
        );
    }
    let config = |tlb_entries| MachineConfig {
        ram_bytes: 1 << 20,
        tlb_entries,
        ..MachineConfig::default()
    };
    assert!(matches!(
        Machine::new(config(3)),
        Err(MachineError::TlbSize { entries: 3 })
    ));
    assert!(Machine::new(config(1)).is_ok());
}

#[test]
fn host_access_outside_ram_is_an_error() {
    let mut m = machine(&[]);
    assert!(m.write_phys(HostPhys((1 << 20) - 2), &[1, 2, 3]).is_err());
    assert!(m.read_phys_u32(HostPhys(u32::MAX - 1)).is_err());
    assert!(m.write_phys(HostPhys((1 << 20) - 3), &[1, 2, 3]).is_ok());
}

#[test]
fn physmap_translation() {
    let mut p = PhysMap::empty(4);
    p.map(1, 7);
    p.map(6, 2); // grows
    assert_eq!(p.len(), 7);
    assert_eq!(p.translate(GuestPhys(0x1234)), Some(HostPhys(0x7234)));
    assert_eq!(p.translate(GuestPhys(0x0234)), None);
    p.unmap(1);
    assert_eq!(p.translate(GuestPhys(0x1234)), None);
    assert_eq!(p.iter().collect::<Vec<_>>(), vec![(6, 2)]);
    assert_eq!(
        PhysMap::identity(3).translate(GuestPhys(0x2FFF)),
        Some(HostPhys(0x2FFF))
    );
}

fn image(segments: Vec<Segment>, entry: u32) -> Image {
    Image {
        entry,
        segments,
        ..Image::default()
    }
}

#[test]
fn bare_metal_loads_segments_and_starts_at_the_entry() {
    let code: Vec<u8> = words(&[lw(A0, ZERO, 0x2000), Instr::Halt])
        .iter()
        .flat_map(|w| w.to_le_bytes())
        .collect();
    let img = image(
        vec![
            Segment {
                addr: 0x1000,
                kind: SegmentKind::Text,
                data: code,
            },
            Segment {
                addr: 0x2000,
                kind: SegmentKind::Data,
                data: vec![5, 0, 0, 0],
            },
        ],
        0x1000,
    );
    let mut m = Machine::bare_metal(&img, MachineConfig::default()).unwrap();
    assert_eq!(m.pc(), 0x1000);
    assert_eq!(m.run(10), Exit::Halt);
    assert_eq!(m.reg(A0), 5);
}

#[test]
fn a_segment_beyond_ram_is_an_error_naming_it() {
    let img = image(
        vec![
            Segment {
                addr: 0,
                kind: SegmentKind::Text,
                data: vec![0; 4],
            },
            Segment {
                addr: (1 << 20) - 2,
                kind: SegmentKind::Data,
                data: vec![0; 4],
            },
        ],
        0,
    );
    let config = MachineConfig {
        ram_bytes: 1 << 20,
        ..MachineConfig::default()
    };
    let err = Machine::bare_metal(&img, config).unwrap_err();
    assert!(
        matches!(err, MachineError::SegmentOutOfRam { index: 1, .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("segment 1"));
}

#[test]
fn an_assembled_program_prints() {
    let src = "
_start: la t0, msg
        li t1, 0x100
1:      lbu a0, 0(t0)
        beqz a0, 2f
        outb a0, 0(t1)
        addi t0, t0, 1
        j 1b
2:      li t1, 0x120
        li a0, 7
        outw a0, 0(t1)
        .section data
msg:    .asciz \"hello\\n\"
";
    let img = vmlab_asm::assemble_str(src).expect("assembles");
    let mut m = Machine::bare_metal(&img, MachineConfig::default()).unwrap();
    assert_eq!(m.run(10_000), Exit::Shutdown { code: 7 });
    assert_eq!(m.bus().get::<Console>().unwrap().output(), b"hello\n");
}
