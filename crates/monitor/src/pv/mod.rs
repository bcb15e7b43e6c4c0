//! Paravirtualization (docs/hypercalls.md): the hypercalls, the trap table,
//! the shared page and its event upcalls, the one-shot timer, and direct
//! paging with validated, batched page-table updates (Xen 2003).
//!
//! The pv kernel runs in guest mode at the deprivileged (ring-1-like)
//! level: `privileged_exits` with the ring-1 exemption for the trap-frame
//! registers (`frame_csrs_exempt`). Its page tables hold host frames and
//! the MMU walks them directly (`MemMode::Direct`); the monitor keeps them
//! safe by validating every entry before it reaches a pinned table, and by
//! write-protecting every pinned frame.
//!
//! Trap-table delivery: the machine has one guest trap vector, so the
//! monitor points `tvec` at the table's syscall entry and lets every cause
//! whose entry is the same address reach the kernel with no exit (the vmlab
//! pv kernel uses one entry for all causes). Causes with another entry, no
//! entry, and the page faults exit; the monitor delivers those itself (the
//! page-fault "bounce").

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::Serialize;
use vmlab_isa::abi;
use vmlab_isa::csr::status;
use vmlab_isa::paging::{PTE_FRAME_MASK, PTE_R, PTE_V, PTE_W, PTE_X, vpn0, vpn1};
use vmlab_isa::{Csr, Exception, Reg};
use vmlab_machine::{GuestPhys, HostPhys, Machine, MemMode};

use crate::config::Mode;
use crate::cost::Event;
use crate::error::MonitorError;
use crate::handler::{Action, Outcome, VmCtx};
use crate::io::{IoVirt, Ring};

mod events;
mod hypercalls;
mod mmu;

/// Counters of paravirtual work: hypercalls, batches, rings, validation
/// and hosted device exits.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct PvStats {
    /// Hypercalls by number (`a4`; unknown numbers too).
    pub hypercalls: BTreeMap<u32, u64>,
    /// All hypercalls.
    pub hypercalls_total: u64,
    /// `mmu_update` batch sizes: entries per call -> calls.
    pub batch_sizes: BTreeMap<u32, u64>,
    /// Page-table entries written by `mmu_update`.
    pub pte_updates: u64,
    /// `ring_notify` calls (pv, or a `PV_IO` kernel under trap or hw).
    pub ring_notifications: u64,
    /// Ring requests consumed.
    pub ring_requests: u64,
    /// Completion events (pv) or completion interrupts (`PV_IO`) raised.
    pub ring_completions: u64,
    /// Hypercalls, batch entries and ring requests refused by validation.
    pub validation_rejections: u64,
    /// Event upcalls delivered.
    pub upcalls: u64,
    /// Page faults (and stores to pinned frames) bounced to the guest kernel.
    pub bounced_faults: u64,
    /// Exceptions delivered by the monitor through the trap table.
    pub trap_table_deliveries: u64,
    /// Device exits forwarded to the hosted device thread (one world switch each).
    pub hosted_switches: u64,
}

/// The monitor's pv state for one VM.
#[derive(Debug, Default)]
pub(crate) struct PvState {
    /// Guest-physical address of the shared page.
    shared: u32,
    /// The registered trap table.
    trap_table: Option<[u32; 16]>,
    /// The one-shot timer deadline (retired instructions).
    pub(crate) deadline: Option<u64>,
    /// Pinned host frames: true for a root.
    pinned: HashMap<u32, bool>,
    /// The host frames the VM owns (its P2M table, the monitor's copy).
    owned: HashSet<u32>,
    /// Host frames that may not be pinned or DMA'd into: the shared page
    /// and the ring pages.
    special: HashSet<u32>,
}

fn gread(m: &Machine, gpa: u32) -> Result<u32, MonitorError> {
    Ok(m.read_guest_phys_u32(GuestPhys(gpa))?)
}

fn gwrite(m: &mut Machine, gpa: u32, v: u32) -> Result<(), MonitorError> {
    Ok(m.write_guest_phys(GuestPhys(gpa), &v.to_le_bytes())?)
}

/// Sets up pv mode and/or the rings after the boot image is loaded: reads
/// the boot-information page the host wrote, writes the real P2M table,
/// sets the deprivileged level and direct paging.
pub(crate) fn setup(cx: &mut VmCtx<'_>) -> Result<(), MonitorError> {
    let m = &mut *cx.m;
    let vm = &mut *cx.vm;
    vm.io.disk_sectors = m
        .bus()
        .get::<vmlab_machine::devices::BlockDevice>()
        .map_or(0, |b| b.disk().sectors());
    if vm.config.hosted {
        vm.io.hosted = Some(crate::io::hosted::DeviceThread::spawn()?);
    }
    let pv_io = vm.config.io == IoVirt::Pv;
    let pv_cpu = vm.config.mode == Mode::Pv;
    let info = |m: &Machine, off: u32| gread(m, abi::BOOT_INFO_ADDR + off);
    let has_info =
        vm.config.ram_bytes >= 2 * 4096 && info(m, abi::BOOT_MAGIC)? == abi::BOOT_INFO_MAGIC;
    if has_info {
        // Section 4.6: the kernel starts with a0 = the boot information.
        m.set_reg(Reg::A0, abi::BOOT_INFO_ADDR);
    }
    if !pv_io && !pv_cpu {
        return Ok(());
    }
    let flags = if has_info {
        info(m, abi::BOOT_FLAGS)?
    } else {
        0
    };
    if pv_io {
        if flags & abi::BOOT_FLAG_PV_IO == 0 {
            return Err(MonitorError::Config(
                "--io pv needs a PV_IO or pv kernel build with rings in its boot information"
                    .into(),
            ));
        }
        let page = |off| -> Result<Ring, MonitorError> {
            let gpa = info(m, off)?;
            if gpa % 4096 != 0 || u64::from(gpa) + 4096 > u64::from(vm.config.ram_bytes) {
                return Err(MonitorError::Config(format!(
                    "ring page {gpa:#x} outside RAM"
                )));
            }
            Ok(Ring {
                page: gpa,
                ..Ring::default()
            })
        };
        vm.io.rings = Some([page(abi::BOOT_CONSOLE_RING)?, page(abi::BOOT_BLOCK_RING)?]);
    }
    if !pv_cpu {
        return Ok(());
    }
    if flags & abi::BOOT_FLAG_PV_CPU == 0 {
        return Err(MonitorError::Config(
            "mode pv needs the pv kernel build (BOOT_FLAG_PV_CPU in its boot information)".into(),
        ));
    }
    let shared = info(m, abi::BOOT_SHARED_ADDR)?;
    let p2m = info(m, abi::BOOT_P2M_ADDR)?;
    let count = info(m, abi::BOOT_P2M_COUNT)?;
    if count as usize != vm.frames.len() {
        return Err(MonitorError::Config(format!(
            "the boot information has {count} P2M entries for {} guest frames",
            vm.frames.len()
        )));
    }
    if shared % 4096 != 0 || u64::from(shared) + 4096 > u64::from(vm.config.ram_bytes) {
        return Err(MonitorError::Config(format!(
            "the shared page {shared:#x} is not a page inside guest RAM"
        )));
    }
    // The real physical-to-machine table: the VM's own frames.
    for (i, f) in vm.frames.iter().enumerate() {
        gwrite(m, p2m.wrapping_add(4 * i as u32), *f)?;
    }
    let page_frame = |gpa: u32| m.guest_to_host(GuestPhys(gpa)).map(|h| h.0 >> 12);
    let mut special = HashSet::new();
    special.extend(page_frame(shared));
    if let Some(r) = vm.io.rings {
        special.extend(page_frame(r[0].page));
        special.extend(page_frame(r[1].page));
    }
    let mut state = PvState {
        shared,
        owned: vm.frames.iter().copied().collect(),
        special,
        ..PvState::default()
    };
    state.trap_table = None;
    vm.pv = Some(state);
    gwrite(m, shared + abi::SHARED_MASK, 1)?;
    m.set_mem_mode(MemMode::Direct);
    let c = m.controls_mut();
    *c = vmlab_machine::Controls::default();
    c.guest_mode = true;
    c.privileged_exits = true;
    c.frame_csrs_exempt = true;
    c.exception_exits = (1 << Exception::ALL.len()) - 1;
    c.interrupt_exits = true;
    c.port_exits.set_all(true);
    c.vpid = 1;
    m.set_csr(Csr::Status, status::MODE);
    Ok(())
}

/// The modeled event of an exit's transition: in pv a hypercall or a trap
/// into the monitor is a software trap into ring 0 (`hypercall`), and a
/// notification is priced as `ring_notify`.
pub(crate) fn transition_event(
    mode: Mode,
    m: &Machine,
    exit: &vmlab_machine::Exit,
    default: Event,
) -> Event {
    use vmlab_machine::Exit;
    if mode != Mode::Pv {
        return default;
    }
    match exit {
        Exit::Hypercall if m.reg(Reg::A4) == abi::HC_RING_NOTIFY => Event::RingNotify,
        Exit::Hypercall | Exit::Exception { .. } | Exit::ProtectedWrite { .. } => Event::Hypercall,
        _ => default,
    }
}

/// Before each entry: fires the one-shot timer if its deadline is reached
/// (and delivers the upcall), and returns how far the guest may run.
pub(crate) fn slice(cx: &mut VmCtx<'_>, left: u64) -> Result<u64, MonitorError> {
    let Some(pv) = cx.vm.pv.as_mut() else {
        return Ok(left);
    };
    let now = cx.m.instret();
    match pv.deadline {
        Some(d) if now >= d => {
            pv.deadline = None;
            cx.raise_event(abi::EV_TIMER)?;
            cx.deliver_events()?;
            Ok(left)
        }
        Some(d) => Ok(left.min(d - now)),
        None => Ok(left),
    }
}

impl VmCtx<'_> {
    fn pv(&mut self) -> Result<&mut PvState, MonitorError> {
        self.vm
            .pv
            .as_mut()
            .ok_or_else(|| MonitorError::Config("a pv exit in a VM that is not in pv mode".into()))
    }

    /// Stops the VM for a guest error: the guest broke a rule it cannot be
    /// allowed to break (a privileged instruction in the pv kernel, an
    /// exception with no handler). The reason is kept for the report.
    pub fn guest_error(&mut self, why: &str) -> Result<Action, MonitorError> {
        let pc = self.m.pc();
        self.did(|| format!("guest error: {why}"));
        self.vm.stop_reason = Some(format!("{why} (pc {pc:#010x})"));
        Ok(Action::Stop(Outcome::GuestError { pc }))
    }

    /// Reads a word at guest-virtual `va` as a supervisor load would (the
    /// page mapped readable), with no A/D update; guest-physical with
    /// paging off. Never reads outside the VM's own frames.
    fn read_virt(&self, va: u32) -> Option<u32> {
        let pv = self.vm.pv.as_ref()?;
        if va % 4 != 0 {
            return None;
        }
        if self.m.csr(Csr::Status) & status::PG == 0 {
            return self.m.read_guest_phys_u32(GuestPhys(va)).ok();
        }
        let owned = |a: u32| pv.owned.contains(&(a >> 12));
        let root = self.m.csr(Csr::Ptbr) & PTE_FRAME_MASK;
        let re_at = root + vpn1(va) * 4;
        if !owned(re_at) {
            return None;
        }
        let re = self.m.read_phys_u32(HostPhys(re_at)).ok()?;
        if re & PTE_V == 0 || re & (PTE_R | PTE_W | PTE_X) != 0 {
            return None;
        }
        let le_at = (re & PTE_FRAME_MASK) + vpn0(va) * 4;
        if !owned(le_at) {
            return None;
        }
        let le = self.m.read_phys_u32(HostPhys(le_at)).ok()?;
        if le & PTE_V == 0 || le & PTE_R == 0 {
            return None;
        }
        let at = (le & PTE_FRAME_MASK) | (va & 0xFFF);
        if !owned(at) {
            return None;
        }
        self.m.read_phys_u32(HostPhys(at)).ok()
    }
}
