//! A minimal, test-only back end for the console and block rings
//! (docs/hypercalls.md, section 7), so the PV_IO kernel's drivers can be
//! exercised without the monitor: the kernel runs in guest mode, where
//! `hypercall` exits to the host, and this answers `ring_notify`.
//!
//! It follows section 7.4 (private consumer and producer indices, the
//! index checks, each slot copied once, a response per request, the
//! completion interrupt) but no more: the real back ends live in the
//! monitor.

use vmlab_isa::{Reg, Width, abi, csr::irq};
use vmlab_machine::devices::{BlockDevice, ports};
use vmlab_machine::{GuestPhys, HostPhys, Machine};

/// The back end's private state for both rings.
#[derive(Debug, Default)]
pub struct Rings {
    /// (page, req_cons, rsp_prod) of the console and the block ring.
    pub console: (u32, u32, u32),
    pub block: (u32, u32, u32),
    /// Bytes the console ring wrote.
    pub output: Vec<u8>,
    /// Notifications received.
    pub notifies: u32,
}

// Ring pages and buffers are guest-physical addresses.
fn rd(m: &Machine, addr: u32) -> u32 {
    m.read_guest_phys_u32(GuestPhys(addr))
        .expect("ring inside RAM")
}

fn wr(m: &mut Machine, addr: u32, value: u32) {
    m.write_guest_phys(GuestPhys(addr), &value.to_le_bytes())
        .expect("ring inside RAM");
}

/// The host address of guest-physical `gpa` (a buffer inside one page).
fn host(m: &Machine, gpa: u32) -> HostPhys {
    m.guest_to_host(GuestPhys(gpa)).expect("guest RAM")
}

impl Rings {
    /// Handles the hypercall the machine stopped at: `ring_notify`, or
    /// E_NOSYS for anything else (this is not a pv VM). Completes it.
    pub fn hypercall(&mut self, m: &mut Machine) {
        let result = if m.reg(Reg::A4) == abi::HC_RING_NOTIFY {
            self.notifies += 1;
            match m.reg(Reg::A0) {
                abi::RING_CONSOLE => self.process(m, true),
                abi::RING_BLOCK => self.process(m, false),
                _ => abi::E_INVAL,
            }
        } else {
            abi::E_NOSYS
        };
        m.set_reg(Reg::A0, result as u32);
        m.retire_emulated();
    }

    fn process(&mut self, m: &mut Machine, console: bool) -> i32 {
        let (page, mut q, mut r) = if console { self.console } else { self.block };
        let p = rd(m, page + abi::RING_REQ_PROD);
        let c = rd(m, page + abi::RING_RSP_CONS);
        let size = abi::RING_SIZE;
        if p.wrapping_sub(q) > size || r.wrapping_sub(c) > size || p.wrapping_sub(c) > size {
            return abi::E_RING;
        }
        let mut produced = 0;
        while q != p {
            let slot = page + abi::ring_slot(q);
            let mut req = [0u8; abi::RING_SLOT_BYTES as usize];
            m.read_phys(host(m, slot), &mut req).expect("slot");
            let word = |off: u32| {
                u32::from_le_bytes(req[off as usize..off as usize + 4].try_into().unwrap())
            };
            let (status, value, data) = if console {
                self.console_op(m, word(abi::RING_REQ_OP), word(abi::RING_REQ_LEN), &req)
            } else {
                self.block_op(
                    m,
                    word(abi::RING_REQ_OP),
                    word(abi::RING_REQ_SECTOR),
                    word(abi::RING_REQ_BUF),
                )
            };
            let out = page + abi::ring_slot(r);
            wr(m, out + abi::RING_RSP_ID, word(abi::RING_REQ_ID));
            wr(m, out + abi::RING_RSP_STATUS, status as u32);
            wr(m, out + abi::RING_RSP_VALUE, value);
            m.write_guest_phys(GuestPhys(out + abi::RING_RSP_DATA), &data)
                .expect("slot");
            q = q.wrapping_add(1);
            r = r.wrapping_add(1);
            produced += 1;
        }
        wr(m, page + abi::RING_REQ_CONS, q);
        wr(m, page + abi::RING_RSP_PROD, r);
        if console {
            self.console = (page, q, r);
        } else {
            self.block = (page, q, r);
        }
        if produced > 0 {
            m.raise_irq(irq::DEVICE);
        }
        produced
    }

    fn console_op(
        &mut self,
        m: &mut Machine,
        op: u32,
        len: u32,
        req: &[u8],
    ) -> (i32, u32, Vec<u8>) {
        match op {
            abi::CON_OP_WRITE if (1..=abi::RING_DATA_BYTES).contains(&len) => {
                let at = abi::RING_REQ_DATA as usize;
                self.output.extend_from_slice(&req[at..at + len as usize]);
                (0, len, Vec::new())
            }
            abi::CON_OP_READ if (1..=abi::RING_DATA_BYTES).contains(&len) => {
                let mut data = Vec::new();
                while data.len() < len as usize
                    && m.bus_mut().read(ports::CONSOLE_STATUS, Width::Word) & 1 != 0
                {
                    data.push(m.bus_mut().read(ports::CONSOLE_DATA, Width::Byte) as u8);
                }
                // A real back end holds an empty read; the kernel never sends one.
                assert!(!data.is_empty(), "the kernel read with no input waiting");
                (0, data.len() as u32, data)
            }
            abi::CON_OP_STATUS => (
                0,
                m.bus_mut().read(ports::CONSOLE_STATUS, Width::Word),
                Vec::new(),
            ),
            _ => (abi::E_INVAL, 0, Vec::new()),
        }
    }

    fn block_op(&mut self, m: &mut Machine, op: u32, sector: u32, buf: u32) -> (i32, u32, Vec<u8>) {
        let bytes = abi::BLK_SECTOR_BYTES;
        if buf % bytes != 0 {
            return (abi::E_INVAL, 0, Vec::new());
        }
        if u64::from(buf) + u64::from(bytes) > m.config().ram_bytes {
            return (abi::E_FAULT, 0, Vec::new());
        }
        let mut data = vec![0u8; bytes as usize];
        if sector >= disk(m).sectors() {
            return (abi::E_RANGE, 0, Vec::new());
        }
        match op {
            abi::BLK_OP_READ => {
                data.copy_from_slice(disk(m).sector(sector).expect("checked"));
                let to = host(m, buf);
                m.write_phys(to, &data).expect("buffer in RAM");
            }
            abi::BLK_OP_WRITE => {
                m.read_phys(host(m, buf), &mut data).expect("buffer in RAM");
                disk(m)
                    .sector_mut(sector)
                    .expect("checked")
                    .copy_from_slice(&data);
            }
            _ => return (abi::E_INVAL, 0, Vec::new()),
        }
        (0, bytes, Vec::new())
    }
}

fn disk(m: &mut Machine) -> &mut vmlab_machine::devices::Disk {
    m.bus_mut()
        .get_mut::<BlockDevice>()
        .expect("the standard bus has a disk")
        .disk_mut()
}
