//! The port bus and the standard devices, driven the way a guest drives them:
//! through `Bus::read`/`Bus::write` on the standard port map.

use std::any::Any;

use vmlab_isa::Width;
use vmlab_machine::bus::{Bus, BusError, Device, DeviceId, Effect};
use vmlab_machine::devices::{
    BlockDevice, Console, Disk, Log, Power, SECTOR_SIZE, block_command, block_irq_enable,
    block_status, console_status, ports,
};

/// Transmits `text` on the console, one `outb` per byte.
fn print(bus: &mut Bus, port: u16, text: &[u8]) {
    for &b in text {
        assert_eq!(bus.write(port, Width::Byte, u32::from(b)), Effect::None);
    }
}

/// Writes `data` to `sector` with the PIO protocol: SECTOR, COMMAND=WRITE,
/// then 128 DATA words. Returns STATUS afterwards.
fn pio_write(bus: &mut Bus, sector: u32, data: &[u8]) -> u32 {
    bus.write(ports::BLOCK_SECTOR, Width::Word, sector);
    bus.write(ports::BLOCK_COMMAND, Width::Word, block_command::WRITE);
    for word in data.chunks_exact(4) {
        let word = u32::from_le_bytes(word.try_into().unwrap());
        bus.write(ports::BLOCK_DATA, Width::Word, word);
    }
    bus.read(ports::BLOCK_STATUS, Width::Word)
}

/// Reads `sector` with the PIO protocol: SECTOR, COMMAND=READ, then 128 DATA
/// words while DRQ is set. Returns the bytes and STATUS after the command.
fn pio_read(bus: &mut Bus, sector: u32) -> (Vec<u8>, u32) {
    bus.write(ports::BLOCK_SECTOR, Width::Word, sector);
    bus.write(ports::BLOCK_COMMAND, Width::Word, block_command::READ);
    let status = bus.read(ports::BLOCK_STATUS, Width::Word);
    let mut data = Vec::new();
    while bus.read(ports::BLOCK_STATUS, Width::Word) & block_status::DRQ != 0 {
        data.extend(bus.read(ports::BLOCK_DATA, Width::Word).to_le_bytes());
    }
    (data, status)
}

/// A sector's worth of recognisable bytes.
fn pattern(seed: u8) -> Vec<u8> {
    (0..SECTOR_SIZE)
        .map(|i| (i as u8).wrapping_mul(7) ^ seed)
        .collect()
}

#[test]
fn console_captures_output_and_delivers_input() {
    let mut bus = Bus::standard(Disk::new(1));
    print(&mut bus, ports::CONSOLE_DATA, b"hello\n");
    // A word write transmits only the low byte.
    bus.write(ports::CONSOLE_DATA, Width::Word, 0x1234_5621);
    assert_eq!(bus.get::<Console>().unwrap().output(), b"hello\n!");

    let status = bus.read(ports::CONSOLE_STATUS, Width::Byte);
    assert_eq!(status, console_status::TX_READY);
    // Empty receive queue: all ones, truncated to the width.
    assert_eq!(bus.read(ports::CONSOLE_DATA, Width::Word), 0xFFFF_FFFF);
    assert_eq!(bus.read(ports::CONSOLE_DATA, Width::Byte), 0xFF);

    bus.get_mut::<Console>().unwrap().push_input(b"ok");
    let status = bus.read(ports::CONSOLE_STATUS, Width::Byte);
    assert_eq!(status, console_status::TX_READY | console_status::RX_READY);
    assert_eq!(bus.read(ports::CONSOLE_DATA, Width::Byte), u32::from(b'o'));
    assert_eq!(bus.read(ports::CONSOLE_DATA, Width::Word), u32::from(b'k'));
    assert_eq!(
        bus.read(ports::CONSOLE_STATUS, Width::Byte) & console_status::RX_READY,
        0
    );

    let console = bus.get_mut::<Console>().unwrap();
    assert_eq!(console.take_output(), b"hello\n!");
    assert!(console.output().is_empty());
}

#[test]
fn log_is_kept_apart_from_console() {
    let mut bus = Bus::standard(Disk::new(1));
    print(&mut bus, ports::CONSOLE_DATA, b"user output\n");
    print(&mut bus, ports::LOG_DATA, b"boot: mode native\npaging on\n");
    assert_eq!(bus.get::<Console>().unwrap().output(), b"user output\n");
    let log = bus.get::<Log>().unwrap();
    assert_eq!(log.output(), b"boot: mode native\npaging on\n");
    assert_eq!(log.lines(), ["boot: mode native", "paging on"]);
    assert_eq!(bus.read(ports::LOG_DATA, Width::Word), 0);
    assert_eq!(bus.get_mut::<Log>().unwrap().take_output().len(), 28);
    assert!(bus.get::<Log>().unwrap().lines().is_empty());
}

#[test]
fn power_write_is_an_exit_code() {
    let mut bus = Bus::standard(Disk::new(1));
    assert_eq!(bus.read(ports::POWER_EXIT, Width::Word), 0);
    assert_eq!(
        bus.write(ports::POWER_EXIT, Width::Word, 0),
        Effect::PowerOff(0)
    );
    assert_eq!(
        bus.write(ports::POWER_EXIT, Width::Word, 0xDEAD_BEEF),
        Effect::PowerOff(0xDEAD_BEEF)
    );
    // The value is truncated to the access width.
    assert_eq!(
        bus.write(ports::POWER_EXIT, Width::Byte, 0x1FF),
        Effect::PowerOff(0xFF)
    );
    assert_eq!(bus.get::<Power>().unwrap().exit_code(), Some(0xFF));
}

#[test]
fn block_round_trip_in_memory() {
    let mut bus = Bus::standard(Disk::new(8));
    assert_eq!(bus.read(ports::BLOCK_SECTORS, Width::Word), 8);
    for sector in [0, 3, 7] {
        let status = pio_write(&mut bus, sector, &pattern(sector as u8));
        assert_eq!(status & (block_status::ERROR | block_status::DRQ), 0);
        assert_ne!(status & block_status::READY, 0);
    }
    for sector in [7, 0, 3] {
        let (data, status) = pio_read(&mut bus, sector);
        assert_eq!(status & block_status::ERROR, 0);
        assert_eq!(data, pattern(sector as u8), "sector {sector}");
    }
    let (untouched, _) = pio_read(&mut bus, 1);
    assert_eq!(untouched, vec![0; SECTOR_SIZE]);

    let block = bus.get::<BlockDevice>().unwrap();
    assert_eq!(block.disk().sector(3).unwrap(), pattern(3));
    assert_eq!(&block.disk().bytes()[7 * SECTOR_SIZE..], pattern(7));
    assert_eq!((block.sectors_read(), block.sectors_written()), (4, 3));
    // 4 commands * 4 accesses + 3 * 128 data words + status polls: lots of exits.
    assert!(bus.accesses()[3] > 7 * 128);
}

#[test]
fn block_write_happens_on_the_last_word() {
    let mut bus = Bus::standard(Disk::new(2));
    bus.write(ports::BLOCK_SECTOR, Width::Word, 1);
    bus.write(ports::BLOCK_COMMAND, Width::Word, block_command::WRITE);
    for _ in 0..127 {
        bus.write(ports::BLOCK_DATA, Width::Word, 0xAAAA_AAAA);
    }
    let status = bus.read(ports::BLOCK_STATUS, Width::Word);
    assert_ne!(status & block_status::DRQ, 0);
    assert_eq!(
        bus.get::<BlockDevice>().unwrap().disk().sector(1).unwrap()[0],
        0
    );
    bus.write(ports::BLOCK_DATA, Width::Word, 0xAAAA_AAAA);
    assert_eq!(
        bus.read(ports::BLOCK_STATUS, Width::Word) & block_status::DRQ,
        0
    );
    assert_eq!(
        bus.get::<BlockDevice>().unwrap().disk().sector(1).unwrap(),
        [0xAA; SECTOR_SIZE]
    );
}

#[test]
fn file_backed_disk_round_trip() {
    let dir = std::env::temp_dir().join(format!("vmlab-devices-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("disk.img");
    // A 600-byte image is padded to two sectors.
    std::fs::write(&path, vec![0x55; 600]).unwrap();

    let mut bus = Bus::standard(Disk::open(&path).unwrap());
    assert_eq!(bus.read(ports::BLOCK_SECTORS, Width::Word), 2);
    let (data, _) = pio_read(&mut bus, 1);
    assert_eq!(&data[..88], [0x55; 88]);
    assert_eq!(&data[88..], [0; SECTOR_SIZE - 88]);
    pio_write(&mut bus, 0, &pattern(9));
    bus.get::<BlockDevice>()
        .unwrap()
        .disk()
        .save(&path)
        .unwrap();

    let reopened = Disk::open(&path).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(reopened.sectors(), 2);
    assert_eq!(reopened.sector(0).unwrap(), pattern(9));

    let missing = Disk::open(dir.join("missing.img")).unwrap_err().to_string();
    assert!(
        missing.contains("cannot read disk image") && missing.contains("missing.img"),
        "{missing}"
    );
}

#[test]
fn past_the_end_sets_error_and_transfers_nothing() {
    let mut bus = Bus::standard(Disk::new(4));
    for sector in [4, 5, u32::MAX] {
        let (data, status) = pio_read(&mut bus, sector);
        assert!(data.is_empty());
        assert_ne!(status & block_status::ERROR, 0);
        assert_eq!(status & block_status::DRQ, 0);
        let status = pio_write(&mut bus, sector, &pattern(1));
        assert_ne!(status & block_status::ERROR, 0);
    }
    let block = bus.get::<BlockDevice>().unwrap();
    assert_eq!(block.disk(), &Disk::new(4));
    assert_eq!((block.sectors_read(), block.sectors_written()), (0, 0));
    // A good command clears ERROR again.
    let (_, status) = pio_read(&mut bus, 3);
    assert_eq!(status & block_status::ERROR, 0);
}

#[test]
fn unknown_command_sets_error_and_abandons_transfer() {
    let mut bus = Bus::standard(Disk::new(1));
    bus.write(ports::BLOCK_COMMAND, Width::Word, block_command::READ);
    assert_ne!(
        bus.read(ports::BLOCK_STATUS, Width::Word) & block_status::DRQ,
        0
    );
    for command in [0, 4, 0xFF] {
        bus.write(ports::BLOCK_COMMAND, Width::Word, command);
        let status = bus.read(ports::BLOCK_STATUS, Width::Word);
        assert_ne!(status & block_status::ERROR, 0, "command {command}");
        assert_eq!(status & block_status::DRQ, 0);
    }
    // No data phase: DATA reads 0 and writes are ignored.
    assert_eq!(bus.read(ports::BLOCK_DATA, Width::Word), 0);
    bus.write(ports::BLOCK_DATA, Width::Word, 0x1234_5678);
    assert_eq!(bus.get::<BlockDevice>().unwrap().disk(), &Disk::new(1));
}

#[test]
fn block_irq_line_follows_enable_and_ack() {
    let mut bus = Bus::standard(Disk::new(2));
    // Interrupts disabled: STATUS.IRQ latches, the line stays low.
    pio_read(&mut bus, 0);
    assert_ne!(
        bus.read(ports::BLOCK_STATUS, Width::Word) & block_status::IRQ,
        0
    );
    assert!(!bus.irq_pending());
    bus.write(ports::BLOCK_COMMAND, Width::Word, block_command::ACK);
    assert_eq!(
        bus.read(ports::BLOCK_STATUS, Width::Word) & block_status::IRQ,
        0
    );

    bus.write(
        ports::BLOCK_IRQ_ENABLE,
        Width::Word,
        block_irq_enable::ENABLE,
    );
    assert_eq!(
        bus.read(ports::BLOCK_IRQ_ENABLE, Width::Word),
        block_irq_enable::ENABLE
    );
    assert!(!bus.irq_pending());
    bus.write(ports::BLOCK_SECTOR, Width::Word, 1);
    bus.write(ports::BLOCK_COMMAND, Width::Word, block_command::WRITE);
    assert!(!bus.irq_pending(), "a WRITE completes on its last word");
    for _ in 0..128 {
        bus.write(ports::BLOCK_DATA, Width::Word, 7);
    }
    assert!(bus.irq_pending());
    // ACK drops the line; an error completion raises it too.
    bus.write(ports::BLOCK_COMMAND, Width::Word, block_command::ACK);
    assert!(!bus.irq_pending());
    bus.write(ports::BLOCK_COMMAND, Width::Word, 9);
    assert!(bus.irq_pending());
    bus.write(ports::BLOCK_IRQ_ENABLE, Width::Word, 0);
    assert!(!bus.irq_pending());
}

#[test]
fn console_rx_interrupt() {
    let mut bus = Bus::standard(Disk::new(1));
    bus.get_mut::<Console>().unwrap().push_input(b"x");
    assert!(!bus.irq_pending(), "receive interrupt is off by default");
    bus.write(
        ports::CONSOLE_STATUS,
        Width::Byte,
        console_status::RX_IRQ_ENABLE,
    );
    assert!(bus.irq_pending());
    let status = bus.read(ports::CONSOLE_STATUS, Width::Byte);
    assert_ne!(status & console_status::RX_IRQ_ENABLE, 0);
    bus.read(ports::CONSOLE_DATA, Width::Byte);
    assert!(!bus.irq_pending(), "line drops when the queue empties");
    // Input the host pushes later raises the line without a port access.
    bus.get_mut::<Console>().unwrap().push_input(b"y");
    assert!(bus.irq_pending());
}

#[test]
fn console_flood_is_bounded() {
    let mut bus = Bus::standard(Disk::new(1));
    bus.get_mut::<Console>().unwrap().set_output_limit(1000);
    for i in 0..5000u32 {
        bus.write(ports::CONSOLE_DATA, Width::Byte, i);
    }
    let console = bus.get_mut::<Console>().unwrap();
    assert_eq!(console.output().len(), 1000);
    assert_eq!(console.dropped(), 4000);
    // Taking the output makes room again.
    console.take_output();
    bus.write(ports::CONSOLE_DATA, Width::Byte, u32::from(b'!'));
    assert_eq!(bus.get::<Console>().unwrap().output(), b"!");

    let mut log = Log::new();
    log.set_output_limit(3);
    for b in *b"abcdef" {
        log.write(0, Width::Byte, u32::from(b));
    }
    assert_eq!((log.output(), log.dropped()), (&b"abc"[..], 3));
}

#[test]
fn bus_rejects_overlap_and_out_of_range() {
    let mut bus = Bus::standard(Disk::new(1));
    let err = bus.attach(0x104, 8, Box::new(Log::new())).unwrap_err();
    assert!(matches!(
        err,
        BusError::Overlap {
            other: "console",
            other_base: 0x100,
            ..
        }
    ));
    let msg = err.to_string();
    assert!(msg.contains("log") && msg.contains("console"), "{msg}");
    assert!(
        msg.contains("0x0104..0x010c") && msg.contains("0x0100..0x0108"),
        "{msg}"
    );
    // Touching ranges do not overlap.
    assert_eq!(bus.attach(0x108, 8, Box::new(Log::new())), Ok(DeviceId(4)));

    let err = bus
        .attach(0xFFF0, 0x20, Box::new(Power::new()))
        .unwrap_err();
    assert_eq!(
        err,
        BusError::OutOfRange {
            name: "power",
            base: 0xFFF0,
            len: 0x20
        }
    );
    assert!(err.to_string().contains("0xfff0..0x10010"), "{err}");
    assert!(bus.attach(0xFFF0, 0x10, Box::new(Power::new())).is_ok());
    assert!(matches!(
        bus.attach(0x9000, 0, Box::new(Power::new())),
        Err(BusError::Empty { .. })
    ));
}

#[test]
fn unmapped_ports_float_high() {
    let mut bus = Bus::standard(Disk::new(1));
    assert_eq!(bus.read(0x0000, Width::Byte), 0xFF);
    assert_eq!(bus.read(0x0108, Width::Half), 0xFFFF);
    assert_eq!(bus.read(0xFFFF, Width::Word), 0xFFFF_FFFF);
    assert_eq!(bus.write(0x0300, Width::Word, 1), Effect::None);
    assert_eq!(bus.unmapped_accesses(), 4);
    assert_eq!(bus.device_of(0x0108), None);
    assert_eq!(bus.device_of(0x0107), Some(DeviceId(0)));
    assert_eq!(bus.device_of(0x021F), Some(DeviceId(3)));
    // A reserved port inside a device's range reads 0.
    assert_eq!(bus.read(0x0102, Width::Byte), 0);
    assert_eq!(bus.unmapped_accesses(), 4);
}

#[test]
fn accesses_are_counted_per_device() {
    let mut bus = Bus::standard(Disk::new(1));
    let names: Vec<_> = bus
        .devices()
        .map(|(id, base, len, dev)| (id.0, base, len, dev.name()))
        .collect();
    assert_eq!(
        names,
        [
            (0, 0x100, 8, "console"),
            (1, 0x110, 4, "log"),
            (2, 0x120, 4, "power"),
            (3, 0x200, 0x20, "block")
        ]
    );
    print(&mut bus, ports::CONSOLE_DATA, b"abc");
    bus.read(ports::CONSOLE_STATUS, Width::Byte);
    print(&mut bus, ports::LOG_DATA, b"z");
    pio_read(&mut bus, 0);
    bus.read(0x5000, Width::Byte);
    // pio_read: 2 writes, 1 status read, then 128 * (poll + data) + final poll.
    assert_eq!(bus.accesses(), [4, 1, 0, 2 + 1 + 2 * 128 + 1]);
    assert_eq!(bus.unmapped_accesses(), 1);
    assert_eq!(bus.device_name(DeviceId(3)), "block");
}

/// A monitor's own model of the console port: counts bytes instead of keeping them.
#[derive(Debug, Default)]
struct CountingConsole {
    bytes: u32,
}

impl Device for CountingConsole {
    fn name(&self) -> &'static str {
        "counting-console"
    }
    fn read(&mut self, _offset: u16, _width: Width) -> u32 {
        self.bytes
    }
    fn write(&mut self, _offset: u16, _width: Width, _value: u32) -> Effect {
        self.bytes += 1;
        Effect::None
    }
    fn irq_pending(&self) -> bool {
        self.bytes >= 3
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
}

#[test]
fn replace_swaps_a_device_model() {
    let mut bus = Bus::standard(Disk::new(1));
    print(&mut bus, ports::CONSOLE_DATA, b"before");
    let id = bus.device_of(ports::CONSOLE_DATA).unwrap();
    let old = bus.replace(id, Box::new(CountingConsole::default()));
    assert_eq!(
        old.as_any().downcast_ref::<Console>().unwrap().output(),
        b"before"
    );
    assert!(bus.get::<Console>().is_none());
    assert_eq!(bus.device_name(id), "counting-console");

    print(&mut bus, ports::CONSOLE_DATA, b"after");
    assert_eq!(bus.get::<CountingConsole>().unwrap().bytes, 5);
    assert_eq!(bus.read(ports::CONSOLE_STATUS, Width::Word), 5);
    assert!(bus.irq_pending());
    // The access count of the slot carries on across the swap.
    assert_eq!(bus.accesses()[id.0], 12);
}
