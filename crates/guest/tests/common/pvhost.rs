//! A minimal, test-only pv host: enough of docs/hypercalls.md to boot the pv
//! kernel build on the bare machine, so its paravirtual paths run in tests
//! before the real monitor exists. The monitor's pv mode is the real thing;
//! this is a test double with the same rules where the kernel could break
//! them:
//!
//! - guest mode at the deprivileged level (`privileged_exits`): any
//!   privileged instruction but the ring-1 trap-frame registers is a guest
//!   error that ends the run;
//! - direct paging over a scrambled P2M, so a missed guest-physical to
//!   machine translation shows up at once;
//! - pinning and mmu_update validated by the rules of section 8.3, pinned
//!   frames write-protected (a store to one ends the run);
//! - trap-table delivery and the page-fault bounce, `iret`, the one-shot
//!   timer and the event upcall of section 5.4, the rings with events.

use std::collections::HashMap;

use vmlab_isa::csr::{irq, status};
use vmlab_isa::{Cause, Csr, Exception, Instr, Reg, abi};
use vmlab_machine::{Exit, GuestPhys, HostPhys, Machine};

use super::rings::Rings;

const PTE_V: u32 = 1;
const PTE_R: u32 = 2;
const PTE_W: u32 = 4;
const PTE_X: u32 = 8;

/// Why the pv host stopped the guest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PvStop {
    /// `shutdown` with this code.
    Shutdown(u32),
    /// The budget ran out.
    Budget,
    /// The guest broke a rule (a privileged instruction, a store to a pinned
    /// table, an exception with no handler, ...).
    GuestError(String),
}

/// The host's state for one pv guest.
#[derive(Debug)]
pub struct PvHost {
    shared: u32,
    trap_table: Option<[u32; 16]>,
    deadline: Option<u64>,
    /// Pinned machine frames: true for a root.
    pinned: HashMap<u32, bool>,
    /// The machine frames the guest owns.
    owned: Vec<u32>,
    /// Bytes written with log_write.
    pub log: Vec<u8>,
    /// Hypercalls made, by number.
    pub calls: HashMap<u32, u64>,
}

fn gread(m: &Machine, gpa: u32) -> u32 {
    m.read_guest_phys_u32(GuestPhys(gpa)).expect("guest RAM")
}

fn gwrite(m: &mut Machine, gpa: u32, value: u32) {
    m.write_guest_phys(GuestPhys(gpa), &value.to_le_bytes())
        .expect("guest RAM");
}

impl PvHost {
    /// A host for a guest whose P2M is `p2m` and whose shared page is at
    /// guest-physical `shared`.
    pub fn new(p2m: &[u32], shared: u32) -> PvHost {
        PvHost {
            shared,
            trap_table: None,
            deadline: None,
            pinned: HashMap::new(),
            owned: p2m.to_vec(),
            log: Vec::new(),
            calls: HashMap::new(),
        }
    }

    /// Runs the guest until it shuts down, breaks a rule or spends `budget`.
    pub fn run(&mut self, m: &mut Machine, rings: &mut Rings, budget: u64) -> PvStop {
        loop {
            let now = m.instret();
            if let Some(d) = self.deadline
                && now >= d
            {
                // The one-shot timer fires where the native interrupt would.
                self.deadline = None;
                self.raise(m, abi::EV_TIMER);
                self.upcall_if_deliverable(m);
            }
            if now >= budget {
                return PvStop::Budget;
            }
            let mut slice = budget - now;
            if let Some(d) = self.deadline {
                slice = slice.min(d - now);
            }
            let exit = m.run(slice);
            let stop = match exit {
                Exit::BudgetExhausted => None,
                Exit::Hypercall => self.hypercall(m, rings),
                Exit::Exception { cause, addr } => self.deliver(m, cause.code(), addr),
                Exit::Privileged { instr } => self.ring1(m, instr),
                other => Some(PvStop::GuestError(format!(
                    "unexpected exit {other:?} at pc {:#x}",
                    m.pc()
                ))),
            };
            if let Some(stop) = stop {
                return stop;
            }
            self.upcall_if_deliverable(m);
        }
    }

    fn raise(&mut self, m: &mut Machine, event: u32) {
        let at = self.shared + abi::SHARED_PENDING + event;
        let word = gread(m, at & !3);
        let shift = 8 * (at & 3);
        gwrite(m, at & !3, word | (1 << shift));
    }

    /// Section 5.4: one upcall if an event is pending, above the priority,
    /// and the guest is in user mode or unmasked.
    fn upcall_if_deliverable(&mut self, m: &mut Machine) {
        let Some(table) = self.trap_table else { return };
        let entry = table[abi::TRAP_UPCALL as usize];
        let pending = gread(m, self.shared + abi::SHARED_PENDING).to_le_bytes();
        let prio = gread(m, self.shared + abi::SHARED_PRIO) & 15;
        let user = m.csr(Csr::Status) & status::MODE == 0;
        let masked = gread(m, self.shared + abi::SHARED_MASK) != 0;
        let deliverable =
            (0..abi::EV_COUNT).any(|e| pending[e as usize] != 0 && abi::event_priority(e) > prio);
        if entry != 0 && deliverable && (user || !masked) {
            m.set_csr(Csr::Tvec, entry);
            m.inject(Cause::Interrupt(irq::SOFT), 0);
            gwrite(m, self.shared + abi::SHARED_MASK, 1);
            self.publish_time(m);
        }
    }

    fn publish_time(&self, m: &mut Machine) {
        let now = m.instret();
        gwrite(m, self.shared + abi::SHARED_TIME_LO, now as u32);
        gwrite(m, self.shared + abi::SHARED_TIME_HI, (now >> 32) as u32);
    }

    /// Trap-table delivery (section 6.2), page faults included (the bounce).
    fn deliver(&mut self, m: &mut Machine, code: u32, addr: u32) -> Option<PvStop> {
        let entry = self.trap_table.map_or(0, |t| t[code as usize]);
        if entry == 0 {
            return Some(PvStop::GuestError(format!(
                "unhandled guest exception {code} at pc {:#x} (address {addr:#x})",
                m.pc()
            )));
        }
        let e = Exception::from_code(code).expect("an exception code");
        m.set_csr(Csr::Tvec, entry);
        m.inject(Cause::Exception(e), addr);
        None
    }

    /// The ring-1 rule: the trap-frame registers work; nothing else does.
    fn ring1(&mut self, m: &mut Machine, instr: Instr) -> Option<PvStop> {
        let frame = |c: Csr| abi::TRAP_FRAME_CSRS.contains(&c);
        match instr {
            Instr::Csrr { rd, csr } if frame(csr) => m.set_reg(rd, m.csr(csr)),
            Instr::Csrw { csr, rs1 } if frame(csr) => m.set_csr(csr, m.reg(rs1)),
            _ => {
                return Some(PvStop::GuestError(format!(
                    "privileged instruction {instr:?} at pc {:#x} in the pv kernel",
                    m.pc()
                )));
            }
        }
        m.retire_emulated();
        None
    }

    fn hypercall(&mut self, m: &mut Machine, rings: &mut Rings) -> Option<PvStop> {
        let nr = m.reg(Reg::A4);
        *self.calls.entry(nr).or_default() += 1;
        let (a0, a1, a2, a3) = (
            m.reg(Reg::A0),
            m.reg(Reg::A1),
            m.reg(Reg::A2),
            m.reg(Reg::A3),
        );
        let result: i32 = match nr {
            abi::HC_SET_TRAP_TABLE => {
                let mut table = [0u32; 16];
                for (i, slot) in table.iter_mut().enumerate() {
                    *slot = gread(m, a0 + 4 * i as u32);
                }
                let bad = table
                    .iter()
                    .enumerate()
                    .position(|(i, &e)| e % 4 != 0 || (e != 0 && matches!(i, 12 | 14 | 15)));
                if let Some(i) = bad {
                    m.set_reg(Reg::A1, i as u32);
                    abi::E_INVAL
                } else {
                    self.trap_table = Some(table);
                    0
                }
            }
            abi::HC_IRET => {
                let flags = gread(m, self.shared + abi::SHARED_IRET_FLAGS);
                if flags & !(abi::IRET_KERNEL | abi::IRET_EVENTS) != 0 || flags == abi::IRET_EVENTS
                {
                    abi::E_INVAL
                } else {
                    let epc = m.csr(Csr::Epc);
                    m.retire_emulated();
                    m.set_pc(epc);
                    m.set_reg(Reg::A0, gread(m, self.shared + abi::SHARED_IRET_A0));
                    m.set_reg(Reg::A4, gread(m, self.shared + abi::SHARED_IRET_A4));
                    let st = m.csr(Csr::Status) & !status::MODE;
                    let kernel = flags & abi::IRET_KERNEL != 0;
                    m.set_csr(Csr::Status, st | if kernel { status::MODE } else { 0 });
                    let unmask = flags == abi::IRET_KERNEL | abi::IRET_EVENTS;
                    gwrite(m, self.shared + abi::SHARED_MASK, u32::from(!unmask));
                    self.publish_time(m);
                    return None;
                }
            }
            abi::HC_MMU_UPDATE => self.mmu_update(m, a0, a1, a2, a3),
            abi::HC_PIN_TABLE => self.pin(m, a0, a1),
            abi::HC_UNPIN_TABLE => self.unpin(m, a0),
            abi::HC_SET_PTBR => {
                if self.pinned.get(&(a0 >> 12)) != Some(&true) || a0 % 4096 != 0 {
                    abi::E_PERM
                } else {
                    m.set_csr(Csr::Ptbr, a0);
                    m.set_csr(Csr::Status, m.csr(Csr::Status) | status::PG);
                    m.flush_tlb();
                    0
                }
            }
            abi::HC_TLB_FLUSH if a0 == abi::TLB_FLUSH_PAGE || a0 == abi::TLB_FLUSH_ALL => {
                m.flush_tlb();
                0
            }
            abi::HC_EVENT_CHECK | abi::HC_YIELD => 0,
            abi::HC_SET_TIMER => {
                let never = a0 == abi::TIMER_NEVER && a1 == abi::TIMER_NEVER;
                self.deadline = (!never).then_some((u64::from(a1) << 32) | u64::from(a0));
                0
            }
            abi::HC_TIME => {
                let now = m.instret();
                m.set_reg(Reg::A0, now as u32);
                m.set_reg(Reg::A1, (now >> 32) as u32);
                m.retire_emulated();
                return None;
            }
            abi::HC_RING_NOTIFY => {
                let before = m.reg(Reg::A0);
                rings.hypercall(m); // answers, retires, raises the event
                if m.reg(Reg::A0) as i32 > 0 {
                    let ev = if before == abi::RING_CONSOLE {
                        abi::EV_CONSOLE
                    } else {
                        abi::EV_BLOCK
                    };
                    self.raise(m, ev);
                }
                self.publish_time(m);
                return None;
            }
            abi::HC_LOG_WRITE if a1 <= abi::LOG_WRITE_MAX => {
                for i in 0..a1 {
                    let at = a0 + i;
                    let word = gread(m, at & !3).to_le_bytes();
                    self.log.push(word[(at & 3) as usize]);
                }
                a1 as i32
            }
            abi::HC_SHUTDOWN => return Some(PvStop::Shutdown(a0)),
            _ => abi::E_NOSYS,
        };
        m.set_reg(Reg::A0, result as u32);
        m.retire_emulated();
        self.publish_time(m);
        if result < 0 {
            return Some(PvStop::GuestError(format!(
                "hypercall {nr} failed with {result} (a1 = {}) at pc {:#x}",
                m.reg(Reg::A1),
                m.pc() - 4
            )));
        }
        None
    }

    /// Section 8.3: the error for writing `value` into a table of this level.
    fn check_entry(&self, root: bool, value: u32, own_frame: u32) -> i32 {
        if value & PTE_V == 0 {
            return 0;
        }
        let frame = value >> 12;
        let pinned = if frame == own_frame {
            Some(root)
        } else {
            self.pinned.get(&frame).copied()
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
            if !self.owned.contains(&frame) {
                return abi::E_PERM;
            }
            if pinned.is_some() && value & PTE_W != 0 {
                return abi::E_PERM;
            }
        }
        0
    }

    fn mmu_update(&mut self, m: &mut Machine, list: u32, count: u32, flush: u32, _va: u32) -> i32 {
        if count > abi::MMU_BATCH_MAX || flush > abi::TLB_FLUSH_ALL || list % 4 != 0 {
            return abi::E_INVAL;
        }
        let entries: Vec<(u32, u32)> = (0..count)
            .map(|i| {
                let at = list + i * abi::MMU_ENTRY_BYTES;
                (gread(m, at + abi::MMU_PTR), gread(m, at + abi::MMU_VAL))
            })
            .collect();
        for (i, &(ptr, val)) in entries.iter().enumerate() {
            let err = match self.pinned.get(&(ptr >> 12)) {
                _ if ptr % 4 != 0 => abi::E_INVAL,
                None => abi::E_PERM,
                Some(&root) => self.check_entry(root, val, u32::MAX),
            };
            if err != 0 {
                m.set_reg(Reg::A1, i as u32);
                return err;
            }
        }
        for &(ptr, val) in &entries {
            m.write_phys_u32(HostPhys(ptr), val)
                .expect("a pinned frame");
        }
        if flush != abi::TLB_FLUSH_NONE {
            m.flush_tlb();
        }
        count as i32
    }

    fn pin(&mut self, m: &mut Machine, addr: u32, level: u32) -> i32 {
        let frame = addr >> 12;
        if addr % 4096 != 0 || level > abi::PIN_ROOT {
            return abi::E_INVAL;
        }
        if !self.owned.contains(&frame) {
            return abi::E_PERM;
        }
        if self.pinned.contains_key(&frame) {
            return abi::E_BUSY;
        }
        let root = level == abi::PIN_ROOT;
        for i in 0..1024 {
            let value = m.read_phys_u32(HostPhys(addr + 4 * i)).expect("owned");
            let err = self.check_entry(root, value, frame);
            if err != 0 {
                m.set_reg(Reg::A1, i);
                return err;
            }
        }
        self.pinned.insert(frame, root);
        m.protect_page(HostPhys(addr), true);
        0
    }

    fn unpin(&mut self, m: &mut Machine, addr: u32) -> i32 {
        let frame = addr >> 12;
        if addr % 4096 != 0 || !self.pinned.contains_key(&frame) {
            return abi::E_INVAL;
        }
        if m.csr(Csr::Ptbr) >> 12 == frame {
            return abi::E_BUSY;
        }
        if !self.pinned[&frame] {
            for (&r, _) in self.pinned.iter().filter(|&(_, &root)| root) {
                for i in 0..1024 {
                    let e = m
                        .read_phys_u32(HostPhys((r << 12) + 4 * i))
                        .expect("pinned");
                    if e & PTE_V != 0 && e >> 12 == frame {
                        return abi::E_BUSY;
                    }
                }
            }
        }
        self.pinned.remove(&frame);
        m.protect_page(HostPhys(addr), false);
        0
    }
}
