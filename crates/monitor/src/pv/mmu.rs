//! Direct paging (docs/hypercalls.md section 8): validated, batched
//! page-table updates (`mmu_update`) and pinning, so that no entry the MMU
//! walks can map a frame the VM does not own or make a pinned table
//! writable.

use vmlab_isa::abi;
use vmlab_isa::csr::status;
use vmlab_isa::paging::{PTE_R, PTE_V, PTE_W, PTE_X};
use vmlab_isa::{Csr, Reg};
use vmlab_machine::HostPhys;

use crate::cost::Event;
use crate::error::MonitorError;
use crate::handler::VmCtx;

impl VmCtx<'_> {
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

    pub(super) fn mmu_update(
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

    pub(super) fn pin(&mut self, addr: u32, level: u32) -> Result<i32, MonitorError> {
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

    pub(super) fn unpin(&mut self, addr: u32) -> Result<i32, MonitorError> {
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
