//! The host's view of the machine's memory: host-physical and
//! guest-physical access, the memory mode and PhysMap, the TLB, the
//! write-protect bitmap, and the software walker monitors use.

use vmlab_isa::Access;

use crate::addr::{GuestPhys, GuestVirt, HostPhys};
use crate::error::MachineError;
use crate::machine::Machine;
use crate::mmu::{GuestWalk, GuestWalkError, MemMode};
use crate::physmap::PhysMap;
use crate::ram::Ram;

impl Machine {
    /// Host RAM.
    pub fn ram(&self) -> &Ram {
        &self.mmu.ram
    }

    /// Reads host-physical memory.
    pub fn read_phys(&self, addr: HostPhys, buf: &mut [u8]) -> Result<(), MachineError> {
        self.mmu.ram.read(addr, buf)
    }

    /// Writes host-physical memory, invalidating cached code it overlaps
    /// (a loader, device DMA, a monitor patching the guest).
    pub fn write_phys(&mut self, addr: HostPhys, data: &[u8]) -> Result<(), MachineError> {
        self.mmu.ram.write(addr, data)?;
        // Invalidate page by page.
        let mut a = addr.0;
        let end = addr.0 as u64 + data.len() as u64;
        while u64::from(a) < end {
            let page_end = (u64::from(a) | 0xFFF) + 1;
            let len = (page_end.min(end) - u64::from(a)) as u32;
            if self.mmu.frames.written(a, len) {
                self.counters.code_invalidations += 1;
            }
            a = page_end as u32;
            if page_end >= end {
                break;
            }
        }
        Ok(())
    }

    /// Reads a little-endian word of host-physical memory.
    pub fn read_phys_u32(&self, addr: HostPhys) -> Result<u32, MachineError> {
        let mut b = [0; 4];
        self.read_phys(addr, &mut b)?;
        Ok(u32::from_le_bytes(b))
    }

    /// Writes a little-endian word of host-physical memory.
    pub fn write_phys_u32(&mut self, addr: HostPhys, value: u32) -> Result<(), MachineError> {
        self.write_phys(addr, &value.to_le_bytes())
    }

    /// The host-physical address behind a guest-physical one (the PhysMap).
    pub fn guest_to_host(&self, gpa: GuestPhys) -> Option<HostPhys> {
        self.mmu.physmap.translate(gpa)
    }

    /// Reads guest-physical memory through the PhysMap (one page at most).
    pub fn read_guest_phys_u32(&self, gpa: GuestPhys) -> Result<u32, MachineError> {
        let hpa = self
            .guest_to_host(gpa)
            .ok_or(MachineError::GuestUnmapped { addr: gpa })?;
        self.read_phys_u32(hpa)
    }

    /// Writes guest-physical memory through the PhysMap, invalidating code.
    pub fn write_guest_phys(&mut self, gpa: GuestPhys, data: &[u8]) -> Result<(), MachineError> {
        for (i, chunk) in data.chunks(1).enumerate() {
            let a = GuestPhys(gpa.0.wrapping_add(i as u32));
            let hpa = self
                .guest_to_host(a)
                .ok_or(MachineError::GuestUnmapped { addr: a })?;
            self.write_phys(hpa, chunk)?;
        }
        Ok(())
    }

    /// The word at guest-virtual `va` through the current translation (for
    /// a monitor fetching the instruction at pc after an exit), without side
    /// effects: no TLB fill, no A/D update, nothing counted. `None` if it
    /// does not translate (for a fetch at the current privilege level).
    pub fn read_u32_virt(&self, va: GuestVirt) -> Option<u32> {
        let hpa = self.mmu.peek(va.0, Access::Fetch, self.cpu.user()).ok()?;
        self.mmu.ram.load_u32(hpa)
    }

    /// The software walker for monitors: walks the guest's own tables
    /// (guest-physical, at the guest's `ptbr`, through the PhysMap) for
    /// `va`, checking `access` at `user` level, setting A/D in the guest
    /// entry when `set_ad`. With the guest's paging off, `va` maps to itself.
    pub fn walk_guest(
        &mut self,
        va: GuestVirt,
        access: Access,
        user: bool,
        set_ad: bool,
    ) -> Result<GuestWalk, GuestWalkError> {
        self.mmu.walk_guest(va, access, user, set_ad)
    }

    /// The memory mode.
    pub fn mem_mode(&self) -> MemMode {
        self.mmu.mode
    }

    /// Selects the memory mode. The TLB is not flushed (as with a real root
    /// change): call [`flush_tlb`](Machine::flush_tlb) when the old
    /// translations must go.
    pub fn set_mem_mode(&mut self, mode: MemMode) {
        self.mmu.mode = mode;
        self.status_changed();
    }

    /// The PhysMap.
    pub fn physmap(&self) -> &PhysMap {
        &self.mmu.physmap
    }

    /// Replaces the PhysMap; every host frame it names must be in RAM.
    pub fn set_physmap(&mut self, map: PhysMap) -> Result<(), MachineError> {
        let frames = self.mmu.ram.frames();
        if let Some((g, h)) = map.iter().find(|(_, h)| *h >= frames) {
            return Err(MachineError::FrameOutOfRam {
                guest_frame: g,
                host_frame: h,
            });
        }
        self.mmu.set_physmap(map);
        self.status_changed();
        Ok(())
    }

    /// Flushes the whole TLB, every address space (the host's INVEPT/INVVPID).
    pub fn flush_tlb(&mut self) {
        self.mmu.tlb.flush_all();
    }

    /// Write-protects (or unprotects) the host page holding `page`: guest
    /// stores to it exit with `Exit::ProtectedWrite`.
    pub fn protect_page(&mut self, page: HostPhys, protect: bool) {
        self.mmu.frames.set_protected(page.page(), protect);
    }

    /// True when the host page holding `addr` is write-protected.
    pub fn is_protected(&self, addr: HostPhys) -> bool {
        self.mmu.frames.is_protected(addr.0)
    }

    /// Every write-protected host page.
    pub fn protected_pages(&self) -> Vec<HostPhys> {
        self.mmu
            .frames
            .protected_frames()
            .map(HostPhys::from_page)
            .collect()
    }

    /// Number of TLB entries.
    pub fn tlb_capacity(&self) -> usize {
        self.mmu.tlb.capacity()
    }
}
