//! I/O virtualization: emulated devices or paravirtual rings
//! (docs/hypercalls.md, section 7), with the device models inside the
//! monitor (type 1) or on their own thread (`--hosted`, type 2).
//!
//! The ring back end never trusts the ring page: it reads the producer
//! index once, checks the indices, copies each request slot out once,
//! validates the copy, and only then touches a device or guest memory.

pub(crate) mod hosted;

use std::fmt;
use std::str::FromStr;

use vmlab_isa::{Width, abi};
use vmlab_machine::Machine;
use vmlab_machine::bus::Bus;
use vmlab_machine::bus::Device;
use vmlab_machine::devices::{BlockDevice, Console};
use vmlab_machine::{GuestPhys, HostPhys};

use crate::config::{Mode, VmConfig};
use crate::error::MonitorError;

/// How the guest reaches its devices (`--io`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum IoVirt {
    /// The devices themselves (native only).
    Device,
    /// Every device-register access exits (or traps) and the monitor's
    /// device model emulates it.
    Emulated,
    /// The console and block rings: one notification per batch, a
    /// completion event (the `PV_IO` kernel under trap and hw; always pv).
    Pv,
}

impl IoVirt {
    /// Every option.
    pub const ALL: [IoVirt; 3] = [IoVirt::Device, IoVirt::Emulated, IoVirt::Pv];

    /// The option's name (`device`, `emulated`, `pv`).
    pub const fn name(self) -> &'static str {
        match self {
            IoVirt::Device => "device",
            IoVirt::Emulated => "emulated",
            IoVirt::Pv => "pv",
        }
    }

    /// The I/O a mode uses when none is named: the devices for native,
    /// the rings for pv, emulation otherwise.
    pub const fn default_for(mode: Mode) -> IoVirt {
        match mode {
            Mode::Native => IoVirt::Device,
            Mode::Pv => IoVirt::Pv,
            _ => IoVirt::Emulated,
        }
    }
}

impl fmt::Display for IoVirt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for IoVirt {
    type Err = String;
    fn from_str(s: &str) -> Result<IoVirt, String> {
        IoVirt::ALL
            .into_iter()
            .find(|m| m.name() == s)
            .ok_or_else(|| format!("unknown I/O option `{s}`; known: device, emulated, pv"))
    }
}

/// Checks the I/O option and `hosted` against the mode.
pub(crate) fn check(config: &VmConfig) -> Result<(), MonitorError> {
    let ok = matches!(
        (config.mode, config.io),
        (Mode::Native, IoVirt::Device)
            | (
                Mode::Trap | Mode::Hw | Mode::Bt,
                IoVirt::Emulated | IoVirt::Pv
            )
            | (Mode::Pv, IoVirt::Pv)
    );
    if !ok {
        let valid = match config.mode {
            Mode::Native => "device",
            Mode::Trap | Mode::Hw | Mode::Bt => "emulated or pv",
            Mode::Pv => "pv",
        };
        return Err(MonitorError::Config(format!(
            "mode `{}` cannot use I/O `{}`; valid for {}: {valid}",
            config.mode, config.io, config.mode
        )));
    }
    if config.hosted && config.mode == Mode::Native {
        return Err(MonitorError::Config(
            "--hosted needs a monitor: native runs on the devices themselves".into(),
        ));
    }
    Ok(())
}

/// One device operation a validated ring request asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum DevOp {
    /// Write these bytes to the console.
    ConWrite(Vec<u8>),
    /// Read up to this many bytes of console input (none: the read is held).
    ConRead(u32),
    /// Read the console STATUS register.
    ConStatus,
    /// Read this sector.
    BlkRead(u32),
    /// Write this sector.
    BlkWrite(u32, Vec<u8>),
}

/// What a device operation produced: (value, bytes).
pub(crate) type DevResult = (u32, Vec<u8>);

/// Performs `op` on the device models of `bus` (directly on the devices,
/// not through the port counters: the guest made no port access).
pub(crate) fn perform(bus: &mut Bus, op: &DevOp) -> DevResult {
    use vmlab_machine::devices::ports;
    let status_off = ports::CONSOLE_STATUS - ports::CONSOLE_BASE;
    match op {
        DevOp::ConWrite(bytes) => {
            if let Some(c) = bus.get_mut::<Console>() {
                for &b in bytes {
                    c.write(0, Width::Byte, u32::from(b));
                }
            }
            (bytes.len() as u32, Vec::new())
        }
        DevOp::ConRead(len) => {
            let mut data = Vec::new();
            if let Some(c) = bus.get_mut::<Console>() {
                while data.len() < *len as usize && c.read(status_off, Width::Word) & 1 != 0 {
                    data.push(c.read(0, Width::Byte) as u8);
                }
            }
            (data.len() as u32, data)
        }
        DevOp::ConStatus => (
            bus.get_mut::<Console>()
                .map_or(0, |c| c.read(status_off, Width::Word)),
            Vec::new(),
        ),
        DevOp::BlkRead(sector) => {
            let data = bus
                .get::<BlockDevice>()
                .and_then(|b| b.disk().sector(*sector))
                .map_or_else(|| vec![0; 512], <[u8]>::to_vec);
            (abi::BLK_SECTOR_BYTES, data)
        }
        DevOp::BlkWrite(sector, data) => {
            if let Some(s) = bus
                .get_mut::<BlockDevice>()
                .and_then(|b| b.disk_mut().sector_mut(*sector))
            {
                s.copy_from_slice(data);
            }
            (abi::BLK_SECTOR_BYTES, Vec::new())
        }
    }
}

/// The back end's private state of one ring: where it is and its own
/// consumer and producer indices (never read back from the page).
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Ring {
    /// Guest-physical address of the ring page.
    pub(crate) page: u32,
    pub(crate) req_cons: u32,
    pub(crate) rsp_prod: u32,
}

/// The VM's I/O state: its rings (io pv) and its device thread (hosted).
#[derive(Debug, Default)]
pub(crate) struct IoState {
    /// The console and block rings (io pv).
    pub(crate) rings: Option<[Ring; 2]>,
    /// A console read held until input arrives: (id, most bytes).
    pub(crate) held_read: Option<(u32, u32)>,
    /// Sectors of the VM's disk.
    pub(crate) disk_sectors: u32,
    /// The device-model thread (hosted).
    pub(crate) hosted: Option<hosted::DeviceThread>,
}

/// What one `ring_notify` did, for counters and the trace.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct RingOutcome {
    /// Responses produced (the call's result), or a negative error.
    pub(crate) result: i32,
    /// Requests consumed.
    pub(crate) requests: u32,
    /// Requests answered with an error status.
    pub(crate) rejected: u32,
}

/// One request slot, copied out of guest memory once.
struct Slot([u8; abi::RING_SLOT_BYTES as usize]);

impl Slot {
    fn word(&self, off: u32) -> u32 {
        let o = off as usize;
        u32::from_le_bytes([self.0[o], self.0[o + 1], self.0[o + 2], self.0[o + 3]])
    }
}

fn gread(m: &Machine, gpa: u32) -> Result<u32, MonitorError> {
    Ok(m.read_guest_phys_u32(GuestPhys(gpa))?)
}

fn gwrite(m: &mut Machine, gpa: u32, v: u32) -> Result<(), MonitorError> {
    Ok(m.write_guest_phys(GuestPhys(gpa), &v.to_le_bytes())?)
}

impl IoState {
    /// Processes ring `ring` (section 7.4). `forbidden(hpa)` says whether a
    /// block read may not land in that host frame (a page table, the shared
    /// page, a ring page). Returns the call's result.
    pub(crate) fn notify(
        &mut self,
        m: &mut Machine,
        ring: u32,
        ram_bytes: u32,
        forbidden: &dyn Fn(&Machine, HostPhys) -> bool,
    ) -> Result<RingOutcome, MonitorError> {
        let Some(rings) = self.rings else {
            return Ok(RingOutcome {
                result: abi::E_NOSYS,
                ..RingOutcome::default()
            });
        };
        if ring > abi::RING_BLOCK {
            return Ok(RingOutcome {
                result: abi::E_INVAL,
                ..RingOutcome::default()
            });
        }
        let console = ring == abi::RING_CONSOLE;
        let Ring {
            page,
            req_cons: mut q,
            rsp_prod: mut r,
        } = rings[ring as usize];
        // 1-2. read P and C once, check the indices.
        let p = gread(m, page + abi::RING_REQ_PROD)?;
        let c = gread(m, page + abi::RING_RSP_CONS)?;
        let size = abi::RING_SIZE;
        if p.wrapping_sub(q) > size || r.wrapping_sub(c) > size || p.wrapping_sub(c) > size {
            return Ok(RingOutcome {
                result: abi::E_RING,
                ..RingOutcome::default()
            });
        }
        // 3. copy each slot once, validate the copy.
        let mut out = RingOutcome::default();
        // Per response: (id, the device op's index or the error, block buffer).
        let mut plan: Vec<(u32, Result<usize, i32>, u32)> = Vec::new();
        let mut ops: Vec<DevOp> = Vec::new();
        if console
            && let Some((id, len)) = self.held_read
            && self.console_has_input(m)
        {
            self.held_read = None;
            plan.push((id, Ok(ops.len()), 0));
            ops.push(DevOp::ConRead(len));
        }
        while q != p {
            let mut slot = Slot([0; abi::RING_SLOT_BYTES as usize]);
            let at = page + abi::ring_slot(q);
            let host = m
                .guest_to_host(GuestPhys(at))
                .ok_or_else(|| MonitorError::Config(format!("ring slot {at:#x} outside RAM")))?;
            m.read_phys(host, &mut slot.0)?;
            let id = slot.word(abi::RING_REQ_ID);
            let op = slot.word(abi::RING_REQ_OP);
            let checked = if console {
                self.check_console(op, slot.word(abi::RING_REQ_LEN), &slot)
            } else {
                let sector = slot.word(abi::RING_REQ_SECTOR);
                let buf = slot.word(abi::RING_REQ_BUF);
                self.check_block(m, op, sector, buf, ram_bytes, forbidden)
            };
            q = q.wrapping_add(1);
            out.requests += 1;
            match checked {
                Ok(op) => {
                    if matches!(op, DevOp::ConRead(_)) && !self.console_has_input(m) {
                        // Held: answered when input arrives.
                        if let DevOp::ConRead(len) = op {
                            self.held_read = Some((id, len));
                        }
                        continue;
                    }
                    plan.push((id, Ok(ops.len()), op_buf(&slot, console)));
                    ops.push(op);
                }
                Err(e) => {
                    out.rejected += 1;
                    plan.push((id, Err(e), 0));
                }
            }
        }
        // The device work: here, or on the device thread when hosted.
        let results = match &self.hosted {
            Some(t) => t.ring(m.bus_mut(), ops)?,
            None => {
                let bus = m.bus_mut();
                ops.iter().map(|op| perform(bus, op)).collect()
            }
        };
        // 3-4. responses, in request order.
        for (id, what, buf) in plan {
            let slot = page + abi::ring_slot(r);
            let (status, value, data) = match what {
                Err(e) => (e, 0, Vec::new()),
                Ok(i) => {
                    let (value, data) = results[i].clone();
                    if !console {
                        if !data.is_empty() {
                            // A validated block read: the buffer is in RAM and allowed.
                            m.write_guest_phys(GuestPhys(buf), &data)?;
                        }
                        (0, value, Vec::new())
                    } else {
                        (0, value, data)
                    }
                }
            };
            gwrite(m, slot + abi::RING_RSP_ID, id)?;
            gwrite(m, slot + abi::RING_RSP_STATUS, status as u32)?;
            gwrite(m, slot + abi::RING_RSP_VALUE, value)?;
            let mut bytes = [0u8; abi::RING_DATA_BYTES as usize];
            bytes[..data.len().min(64)].copy_from_slice(&data[..data.len().min(64)]);
            m.write_guest_phys(GuestPhys(slot + abi::RING_RSP_DATA), &bytes)?;
            r = r.wrapping_add(1);
            out.result += 1;
        }
        gwrite(m, page + abi::RING_REQ_CONS, q)?;
        gwrite(m, page + abi::RING_RSP_PROD, r)?;
        if let Some(rings) = self.rings.as_mut() {
            rings[ring as usize] = Ring {
                page,
                req_cons: q,
                rsp_prod: r,
            };
        }
        Ok(out)
    }

    fn console_has_input(&self, m: &Machine) -> bool {
        m.bus()
            .get::<Console>()
            .is_some_and(|c| c.input_pending() > 0)
    }

    fn check_console(&self, op: u32, len: u32, slot: &Slot) -> Result<DevOp, i32> {
        let len_ok = (1..=abi::RING_DATA_BYTES).contains(&len);
        match op {
            abi::CON_OP_WRITE if len_ok => {
                let at = abi::RING_REQ_DATA as usize;
                Ok(DevOp::ConWrite(slot.0[at..at + len as usize].to_vec()))
            }
            abi::CON_OP_READ if len_ok => Ok(DevOp::ConRead(len)),
            abi::CON_OP_STATUS => Ok(DevOp::ConStatus),
            _ => Err(abi::E_INVAL),
        }
    }

    fn check_block(
        &self,
        m: &Machine,
        op: u32,
        sector: u32,
        buf: u32,
        ram_bytes: u32,
        forbidden: &dyn Fn(&Machine, HostPhys) -> bool,
    ) -> Result<DevOp, i32> {
        let bytes = abi::BLK_SECTOR_BYTES;
        if op != abi::BLK_OP_READ && op != abi::BLK_OP_WRITE {
            return Err(abi::E_INVAL);
        }
        if buf % bytes != 0 {
            return Err(abi::E_INVAL);
        }
        if u64::from(buf) + u64::from(bytes) > u64::from(ram_bytes) {
            return Err(abi::E_FAULT);
        }
        let host = m.guest_to_host(GuestPhys(buf)).ok_or(abi::E_FAULT)?;
        if op == abi::BLK_OP_READ && forbidden(m, host) {
            return Err(abi::E_PERM);
        }
        if sector >= self.disk_sectors {
            return Err(abi::E_RANGE);
        }
        if op == abi::BLK_OP_READ {
            Ok(DevOp::BlkRead(sector))
        } else {
            let mut data = vec![0u8; bytes as usize];
            m.read_phys(host, &mut data).map_err(|_| abi::E_FAULT)?;
            Ok(DevOp::BlkWrite(sector, data))
        }
    }

    /// Completes a held console read if input has arrived (at `block`):
    /// true if it produced a response.
    pub(crate) fn poll_held(&mut self, m: &mut Machine) -> Result<bool, MonitorError> {
        if self.held_read.is_none() || !self.console_has_input(m) {
            return Ok(false);
        }
        let out = self.notify(m, abi::RING_CONSOLE, u32::MAX, &|_, _| true)?;
        Ok(out.result > 0)
    }
}

/// The guest-physical buffer of a block request (0 for the console).
fn op_buf(slot: &Slot, console: bool) -> u32 {
    if console {
        0
    } else {
        slot.word(abi::RING_REQ_BUF)
    }
}

impl crate::handler::VmCtx<'_> {
    fn hosted_switch(&mut self) {
        self.vm.stats.pv.hosted_switches += 1;
        self.charge(crate::cost::Event::HostedSwitch);
    }

    /// A device-register read for an emulated port access: on the device
    /// models in the monitor, or on the device thread when hosted.
    pub(crate) fn device_read(&mut self, port: u16, width: Width) -> Result<u32, MonitorError> {
        let v = match &self.vm.io.hosted {
            Some(t) => t.port_in(self.m.bus_mut(), port, width)?,
            None => return Ok(self.m.bus_mut().read(port, width)),
        };
        self.hosted_switch();
        Ok(v)
    }

    /// A device-register write for an emulated port access (see
    /// [`device_read`](Self::device_read)).
    pub(crate) fn device_write(
        &mut self,
        port: u16,
        width: Width,
        value: u32,
    ) -> Result<vmlab_machine::bus::Effect, MonitorError> {
        let e = match &self.vm.io.hosted {
            Some(t) => t.port_out(self.m.bus_mut(), port, width, value)?,
            None => return Ok(self.m.bus_mut().write(port, width, value)),
        };
        self.hosted_switch();
        Ok(e)
    }
}
