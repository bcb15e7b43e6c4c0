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
use vmlab_isa::abi::{self, Hypercall};
use vmlab_isa::csr::{irq, status};
use vmlab_isa::paging::{PTE_FRAME_MASK, PTE_R, PTE_V, PTE_W, PTE_X, vpn0, vpn1};
use vmlab_isa::{Cause, Csr, Exception, Reg};
use vmlab_machine::{GuestPhys, HostPhys, Machine, MemMode};

use crate::config::Mode;
use crate::cost::Event;
use crate::error::MonitorError;
use crate::handler::{Action, Outcome, VmCtx};
use crate::io::{IoVirt, Ring};

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

    /// Sets event `ev`'s pending byte in the shared page.
    pub(crate) fn raise_event(&mut self, ev: u32) -> Result<(), MonitorError> {
        let shared = self.pv()?.shared;
        let at = shared + abi::SHARED_PENDING + ev;
        self.m.write_guest_phys(GuestPhys(at), &[1])?;
        Ok(())
    }

    fn publish_time(&mut self) -> Result<(), MonitorError> {
        let shared = self.pv()?.shared;
        let now = self.m.instret();
        gwrite(self.m, shared + abi::SHARED_TIME_LO, now as u32)?;
        gwrite(self.m, shared + abi::SHARED_TIME_HI, (now >> 32) as u32)
    }

    fn deliverable(&mut self) -> Result<bool, MonitorError> {
        let pv = self.pv()?;
        let shared = pv.shared;
        if pv
            .trap_table
            .is_none_or(|t| t[abi::TRAP_UPCALL as usize] == 0)
        {
            return Ok(false);
        }
        let pending = gread(self.m, shared + abi::SHARED_PENDING)?.to_le_bytes();
        let prio = gread(self.m, shared + abi::SHARED_PRIO)? & 15;
        let masked = gread(self.m, shared + abi::SHARED_MASK)? != 0;
        let user = self.m.csr(Csr::Status) & status::MODE == 0;
        let any =
            (0..abi::EV_COUNT).any(|e| pending[e as usize] != 0 && abi::event_priority(e) > prio);
        Ok(any && (user || !masked))
    }

    /// Section 5.4: one upcall if an event is deliverable (the virtual
    /// interrupt mask in the shared page is read first), else only the
    /// shared time is refreshed.
    pub(crate) fn deliver_events(&mut self) -> Result<bool, MonitorError> {
        if !self.deliverable()? {
            self.publish_time()?;
            return Ok(false);
        }
        let pv = self.pv()?;
        let entry = pv.trap_table.map_or(0, |t| t[abi::TRAP_UPCALL as usize]);
        let shared = pv.shared;
        self.enter_at(entry, Cause::Interrupt(irq::SOFT), 0);
        gwrite(self.m, shared + abi::SHARED_MASK, 1)?;
        self.publish_time()?;
        self.vm.stats.pv.upcalls += 1;
        self.vm.stats.traps_reflected += 1;
        self.vm.stats.interrupts_reflected += 1;
        self.charge(Event::InterruptInjection);
        Ok(true)
    }

    /// The trap entry for `cause` at `entry` instead of `tvec`.
    fn enter_at(&mut self, entry: u32, cause: Cause, badaddr: u32) {
        let tvec = self.m.csr(Csr::Tvec);
        self.m.set_csr(Csr::Tvec, entry);
        self.m.inject(cause, badaddr);
        self.m.set_csr(Csr::Tvec, tvec);
    }

    /// An exception that exited under pv: a page fault is bounced to its
    /// trap-table entry, another cause delivered to its own entry; with no
    /// entry the VM stops.
    pub fn pv_exception(&mut self, e: Exception, addr: u32) -> Result<Action, MonitorError> {
        let entry = self.pv()?.trap_table.map_or(0, |t| t[e.code() as usize]);
        if entry == 0 {
            return self.guest_error(&format!(
                "unhandled guest exception {} (address {addr:#x}): no trap-table entry",
                e.name()
            ));
        }
        let fault = matches!(
            e,
            Exception::FetchPageFault | Exception::LoadPageFault | Exception::StorePageFault
        );
        if fault {
            self.vm.stats.pv.bounced_faults += 1;
            self.vm.stats.reflected_faults += 1;
        } else {
            self.vm.stats.pv.trap_table_deliveries += 1;
        }
        self.vm.stats.traps_reflected += 1;
        self.enter_at(entry, Cause::Exception(e), addr);
        self.charge(Event::MonitorReflect);
        self.did(|| {
            format!(
                "bounced {} ({addr:#x}) to trap-table entry {entry:#x}",
                e.name()
            )
        });
        Ok(Action::Resume)
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

    /// A hypercall from a kernel that is not pv (a `PV_IO` kernel under
    /// trap or hw): `ring_notify` when the VM has rings, `E_NOSYS` for any
    /// other number; with emulated I/O, the bare machine's `hypercall`
    /// exception, reflected to the kernel.
    pub fn hypercall_full_virt(&mut self) -> Result<Action, MonitorError> {
        if self.vm.io.rings.is_none() {
            self.reflect(Cause::Exception(Exception::Hypercall), 0)?;
            return Ok(Action::Resume);
        }
        let nr = self.m.reg(Reg::A4);
        let a0 = self.m.reg(Reg::A0);
        self.count_hypercall(nr);
        let result = if nr == abi::HC_RING_NOTIFY {
            let r = self.ring_notify(a0)?;
            if r > 0 {
                self.m.raise_irq(irq::DEVICE);
                self.vm.stats.pv.ring_completions += 1;
                self.charge(Event::CompletionInterrupt);
            }
            r
        } else {
            abi::E_NOSYS
        };
        if result < 0 {
            self.vm.stats.pv.validation_rejections += 1;
        }
        self.m.set_reg(Reg::A0, result as u32);
        self.m.retire_emulated();
        self.note_hypercall(nr, &[a0], result);
        Ok(Action::Resume)
    }

    fn count_hypercall(&mut self, nr: u32) {
        let s = &mut self.vm.stats.pv;
        *s.hypercalls.entry(nr).or_default() += 1;
        s.hypercalls_total += 1;
        self.charge(Event::MonitorEmulate);
    }

    fn note_hypercall(&mut self, nr: u32, args: &[u32], result: i32) {
        self.did(|| {
            let name = Hypercall::from_number(nr).map_or("unknown", Hypercall::name);
            let names = Hypercall::from_number(nr).map_or(&[][..], Hypercall::args);
            let args: Vec<String> = names
                .iter()
                .zip(args)
                .map(|(n, v)| format!("{n}={v:#x}"))
                .collect();
            let res = abi::error_name(result)
                .filter(|_| result < 0)
                .map_or_else(|| result.to_string(), str::to_owned);
            format!("hypercall {name}({}) -> {res}", args.join(", "))
        });
    }

    /// `ring_notify(ring)`: the back end processes the ring (section 7.4).
    fn ring_notify(&mut self, ring: u32) -> Result<i32, MonitorError> {
        self.vm.stats.pv.ring_notifications += 1;
        let ram = self.vm.config.ram_bytes;
        let pinned: HashSet<u32> = self
            .vm
            .pv
            .as_ref()
            .map(|p| p.pinned.keys().chain(p.special.iter()).copied().collect())
            .unwrap_or_default();
        let forbidden =
            move |m: &Machine, h: HostPhys| pinned.contains(&(h.0 >> 12)) || m.is_protected(h);
        let hosted = self.vm.io.hosted.is_some();
        let out = self.vm.io.notify(self.m, ring, ram, &forbidden)?;
        if hosted && out.result != abi::E_NOSYS {
            self.vm.stats.pv.hosted_switches += 1;
            self.charge(Event::HostedSwitch);
        }
        self.vm.stats.pv.ring_requests += u64::from(out.requests);
        self.vm.stats.pv.validation_rejections += u64::from(out.rejected);
        for _ in 0..out.requests {
            self.charge(Event::DeviceEmulation);
        }
        Ok(out.result)
    }

    /// A hypercall from the pv kernel (section 6): performs it, sets `a0`,
    /// resumes after the `hypercall` (or at `epc` for `iret`), then makes
    /// any deliverable upcall.
    pub fn pv_hypercall(&mut self) -> Result<Action, MonitorError> {
        let nr = self.m.reg(Reg::A4);
        let [a0, a1, a2, a3] = [Reg::A0, Reg::A1, Reg::A2, Reg::A3].map(|r| self.m.reg(r));
        self.count_hypercall(nr);
        let before = self.m.instret();
        let hc = Hypercall::from_number(nr);
        let result: i32 = match hc {
            None => abi::E_NOSYS,
            Some(Hypercall::SetTrapTable) => self.set_trap_table(a0)?,
            Some(Hypercall::Iret) => {
                let r = self.iret()?;
                if r == 0 {
                    self.note_hypercall(nr, &[], 0);
                    self.deliver_events()?;
                    return Ok(Action::Resume);
                }
                r
            }
            Some(Hypercall::MmuUpdate) => self.mmu_update(a0, a1, a2, a3)?,
            Some(Hypercall::PinTable) => self.pin(a0, a1)?,
            Some(Hypercall::UnpinTable) => self.unpin(a0)?,
            Some(Hypercall::SetPtbr) => {
                let ok = self.pv()?.pinned.get(&(a0 >> 12)) == Some(&true);
                if a0 % 4096 != 0 {
                    abi::E_INVAL
                } else if !ok {
                    abi::E_PERM
                } else {
                    self.m.set_csr(Csr::Ptbr, a0);
                    let st = self.m.csr(Csr::Status);
                    self.m.set_csr(Csr::Status, st | status::PG);
                    self.m.flush_tlb();
                    0
                }
            }
            Some(Hypercall::TlbFlush) => {
                if a0 == abi::TLB_FLUSH_PAGE || a0 == abi::TLB_FLUSH_ALL {
                    self.m.flush_tlb();
                    0
                } else {
                    abi::E_INVAL
                }
            }
            Some(Hypercall::EventCheck | Hypercall::Yield) => 0,
            Some(Hypercall::SetTimer) => {
                let never = a0 == abi::TIMER_NEVER && a1 == abi::TIMER_NEVER;
                self.pv()?.deadline = (!never).then_some((u64::from(a1) << 32) | u64::from(a0));
                0
            }
            Some(Hypercall::Time) => {
                self.m.set_reg(Reg::A1, (before >> 32) as u32);
                before as u32 as i32
            }
            Some(Hypercall::Block) => return self.block(nr),
            Some(Hypercall::RingNotify) => {
                let r = self.ring_notify(a0)?;
                if r > 0 {
                    let ev = if a0 == abi::RING_CONSOLE {
                        abi::EV_CONSOLE
                    } else {
                        abi::EV_BLOCK
                    };
                    self.raise_event(ev)?;
                    self.vm.stats.pv.ring_completions += 1;
                    self.charge(Event::CompletionInterrupt);
                }
                r
            }
            Some(Hypercall::LogWrite) => self.log_write(a0, a1)?,
            Some(Hypercall::Shutdown) => {
                self.note_hypercall(nr, &[a0], 0);
                return Ok(Action::Stop(Outcome::Shutdown { code: a0 }));
            }
        };
        if result < 0 && hc != Some(Hypercall::Time) {
            self.vm.stats.pv.validation_rejections += 1;
        }
        self.m.set_reg(Reg::A0, result as u32);
        self.m.retire_emulated();
        self.fire_timer_if_due()?;
        self.note_hypercall(nr, &[a0, a1, a2, a3], result);
        let note = std::mem::take(&mut self.vm.note);
        let upcall = self.deliver_events()?;
        self.did(|| {
            if upcall {
                format!("{note}; upcall")
            } else {
                note
            }
        });
        Ok(Action::Resume)
    }

    fn fire_timer_if_due(&mut self) -> Result<(), MonitorError> {
        let now = self.m.instret();
        let pv = self.pv()?;
        if pv.deadline.is_some_and(|d| now >= d) {
            pv.deadline = None;
            self.raise_event(abi::EV_TIMER)?;
        }
        Ok(())
    }

    fn set_trap_table(&mut self, va: u32) -> Result<i32, MonitorError> {
        let mut table = [0u32; 16];
        for (i, slot) in table.iter_mut().enumerate() {
            match self.read_virt(va.wrapping_add(4 * i as u32)) {
                Some(v) => *slot = v,
                None if va % 4 != 0 => return Ok(abi::E_INVAL),
                None => return Ok(abi::E_FAULT),
            }
        }
        let bad = table
            .iter()
            .enumerate()
            .position(|(i, &e)| e % 4 != 0 || (e != 0 && matches!(i, 12 | 14 | 15)));
        if let Some(i) = bad {
            self.m.set_reg(Reg::A1, i as u32);
            return Ok(abi::E_INVAL);
        }
        self.pv()?.trap_table = Some(table);
        // The common entry goes in tvec; causes with another entry (and
        // every page fault) exit to the monitor.
        let common = table[Exception::Syscall.code() as usize];
        let mut exits = 0u32;
        for e in Exception::ALL {
            let c = e.code();
            let fault = matches!(c, 5..=7);
            if fault || table[c as usize] == 0 || table[c as usize] != common {
                exits |= 1 << c;
            }
        }
        self.m.set_csr(Csr::Tvec, common);
        self.m.controls_mut().exception_exits = exits;
        Ok(0)
    }

    fn iret(&mut self) -> Result<i32, MonitorError> {
        let shared = self.pv()?.shared;
        let flags = gread(self.m, shared + abi::SHARED_IRET_FLAGS)?;
        if flags & !(abi::IRET_KERNEL | abi::IRET_EVENTS) != 0 || flags == abi::IRET_EVENTS {
            return Ok(abi::E_INVAL);
        }
        let epc = self.m.csr(Csr::Epc);
        self.m.retire_emulated();
        self.m.set_pc(epc);
        let a0 = gread(self.m, shared + abi::SHARED_IRET_A0)?;
        let a4 = gread(self.m, shared + abi::SHARED_IRET_A4)?;
        self.m.set_reg(Reg::A0, a0);
        self.m.set_reg(Reg::A4, a4);
        let kernel = flags & abi::IRET_KERNEL != 0;
        let st = self.m.csr(Csr::Status) & !status::MODE;
        self.m
            .set_csr(Csr::Status, st | if kernel { status::MODE } else { 0 });
        let unmask = flags == abi::IRET_KERNEL | abi::IRET_EVENTS;
        gwrite(self.m, shared + abi::SHARED_MASK, u32::from(!unmask))?;
        self.fire_timer_if_due()?;
        Ok(0)
    }

    fn block(&mut self, nr: u32) -> Result<Action, MonitorError> {
        let shared = self.pv()?.shared;
        gwrite(self.m, shared + abi::SHARED_MASK, 0)?;
        if self.vm.io.poll_held(self.m)? {
            self.raise_event(abi::EV_CONSOLE)?;
            self.vm.stats.pv.ring_completions += 1;
        }
        self.m.set_reg(Reg::A0, 0);
        if !self.deliverable()? {
            let prio = gread(self.m, shared + abi::SHARED_PRIO)? & 15;
            match self.pv()?.deadline {
                Some(d) if abi::EV_PRIO_TIMER > prio => {
                    let now = self.m.instret();
                    if d > now + 1 {
                        // Virtual time: skip to the deadline (the call retires there).
                        let t = d - 1;
                        self.m.set_csr(Csr::InstRetH, (t >> 32) as u32);
                        self.m.set_csr(Csr::InstRet, t as u32);
                    }
                }
                _ => {
                    self.did(|| "hypercall block with nothing to wake it: idle".into());
                    return Ok(Action::Stop(Outcome::Idle));
                }
            }
        }
        self.m.retire_emulated();
        self.fire_timer_if_due()?;
        self.note_hypercall(nr, &[], 0);
        self.deliver_events()?;
        Ok(Action::Resume)
    }

    fn log_write(&mut self, va: u32, len: u32) -> Result<i32, MonitorError> {
        if len > abi::LOG_WRITE_MAX {
            return Ok(abi::E_INVAL);
        }
        let mut bytes = Vec::with_capacity(len as usize);
        for i in 0..len {
            let at = va.wrapping_add(i);
            let Some(w) = self.read_virt(at & !3) else {
                return Ok(abi::E_FAULT);
            };
            bytes.push(w.to_le_bytes()[(at & 3) as usize]);
        }
        if let Some(log) = self.m.bus_mut().get_mut::<vmlab_machine::devices::Log>() {
            use vmlab_machine::bus::Device;
            for b in bytes {
                log.write(0, vmlab_isa::Width::Byte, u32::from(b));
            }
        }
        Ok(len as i32)
    }

    /// Section 8.3: the error for `value` in a table of level `root`
    /// (`own` is the frame being pinned, treated as pinned at that level).
    fn check_entry(&self, root: bool, value: u32, own: Option<u32>) -> i32 {
        let Some(pv) = self.vm.pv.as_ref() else {
            return abi::E_PERM;
        };
        if value & PTE_V == 0 {
            return 0;
        }
        let frame = value >> 12;
        let pinned = if Some(frame) == own {
            Some(root)
        } else {
            pv.pinned.get(&frame).copied()
        };
        if root {
            if value & (PTE_R | PTE_W | PTE_X) != 0 {
                return abi::E_INVAL;
            }
            if pinned != Some(false) {
                return abi::E_PERM;
            }
        } else {
            if value & PTE_W != 0 && value & PTE_R == 0 {
                return abi::E_INVAL;
            }
            if !pv.owned.contains(&frame) {
                return abi::E_PERM;
            }
            if pinned.is_some() && value & PTE_W != 0 {
                return abi::E_PERM;
            }
        }
        0
    }

    fn mmu_update(
        &mut self,
        list: u32,
        count: u32,
        flush: u32,
        va: u32,
    ) -> Result<i32, MonitorError> {
        if count > abi::MMU_BATCH_MAX || flush > abi::TLB_FLUSH_ALL || list % 4 != 0 {
            return Ok(abi::E_INVAL);
        }
        let mut entries = Vec::with_capacity(count as usize);
        for i in 0..count {
            let at = list.wrapping_add(i * abi::MMU_ENTRY_BYTES);
            let (Some(ptr), Some(val)) = (
                self.read_virt(at.wrapping_add(abi::MMU_PTR)),
                self.read_virt(at.wrapping_add(abi::MMU_VAL)),
            ) else {
                return Ok(abi::E_FAULT);
            };
            entries.push((ptr, val));
        }
        // Validate every entry first: all or nothing.
        for (i, &(ptr, val)) in entries.iter().enumerate() {
            let root = self.pv()?.pinned.get(&(ptr >> 12)).copied();
            let err = match root {
                _ if ptr % 4 != 0 => abi::E_INVAL,
                None => abi::E_PERM,
                Some(root) => self.check_entry(root, val, None),
            };
            if err != 0 {
                self.m.set_reg(Reg::A1, i as u32);
                return Ok(err);
            }
        }
        for &(ptr, val) in &entries {
            // A pinned frame is one of the VM's own (pin checks ownership).
            self.m.write_phys_u32(HostPhys(ptr), val)?;
        }
        let s = &mut self.vm.stats.pv;
        *s.batch_sizes.entry(count).or_default() += 1;
        s.pte_updates += u64::from(count);
        self.vm.cycles.add(Event::ShadowUpdate, u64::from(count));
        match flush {
            abi::TLB_FLUSH_PAGE | abi::TLB_FLUSH_ALL => {
                let _ = va;
                self.m.flush_tlb();
            }
            _ => {}
        }
        Ok(count as i32)
    }

    fn pin(&mut self, addr: u32, level: u32) -> Result<i32, MonitorError> {
        let frame = addr >> 12;
        if addr % 4096 != 0 || level > abi::PIN_ROOT {
            return Ok(abi::E_INVAL);
        }
        let pv = self.pv()?;
        if !pv.owned.contains(&frame) || pv.special.contains(&frame) {
            return Ok(abi::E_PERM);
        }
        if pv.pinned.contains_key(&frame) {
            return Ok(abi::E_BUSY);
        }
        let root = level == abi::PIN_ROOT;
        let mut valid = 0;
        for i in 0..1024 {
            let value = self.m.read_phys_u32(HostPhys(addr + 4 * i))?;
            let err = self.check_entry(root, value, Some(frame));
            if err != 0 {
                self.m.set_reg(Reg::A1, i);
                return Ok(err);
            }
            valid += u64::from(value & PTE_V);
        }
        self.pv()?.pinned.insert(frame, root);
        self.m.protect_page(HostPhys(addr), true);
        self.vm.cycles.add(Event::ShadowUpdate, valid);
        Ok(0)
    }

    fn unpin(&mut self, addr: u32) -> Result<i32, MonitorError> {
        let frame = addr >> 12;
        let ptbr = self.m.csr(Csr::Ptbr) >> 12;
        let paging = self.m.csr(Csr::Status) & status::PG != 0;
        let pv = self.pv()?;
        let Some(&is_root) = pv.pinned.get(&frame) else {
            return Ok(abi::E_INVAL);
        };
        if addr % 4096 != 0 {
            return Ok(abi::E_INVAL);
        }
        if paging && ptbr == frame {
            return Ok(abi::E_BUSY);
        }
        if !is_root {
            let roots: Vec<u32> = pv.pinned.iter().filter(|e| *e.1).map(|e| *e.0).collect();
            for r in roots {
                for i in 0..1024 {
                    let e = self.m.read_phys_u32(HostPhys((r << 12) + 4 * i))?;
                    if e & PTE_V != 0 && e >> 12 == frame {
                        return Ok(abi::E_BUSY);
                    }
                }
            }
        }
        self.pv()?.pinned.remove(&frame);
        self.m.protect_page(HostPhys(addr), false);
        Ok(0)
    }
}
