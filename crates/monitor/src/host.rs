//! The host: one machine's host-physical RAM, shared by every VM on it.
//!
//! The machine has one CPU and one RAM. The host hands each VM a set of
//! frames from a free list (not necessarily contiguous) and the VM's
//! [`PhysMap`](vmlab_machine::PhysMap) maps its guest-physical frames onto
//! them, like KVM's memory slots. VMs time-share the one CPU: a VM's run
//! switches its CPU state, controls, memory mode, PhysMap and devices into
//! the machine and saves them again when the run ends.

use vmlab_isa::Profile;
use vmlab_machine::{Machine, MachineConfig};

use crate::error::MonitorError;

/// How to build a [`Host`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostConfig {
    /// Host RAM in bytes (a multiple of 4096, at most 1 GiB).
    pub ram_bytes: u64,
    /// The ISA profile of the machine.
    pub profile: Profile,
    /// Whether the TLB is tagged (from the cost model: `p4-2006` is not).
    pub tlb_tagged: bool,
    /// TLB entries.
    pub tlb_entries: usize,
}

impl Default for HostConfig {
    fn default() -> HostConfig {
        HostConfig {
            ram_bytes: 16 << 20,
            profile: Profile::Strict,
            tlb_tagged: false,
            tlb_entries: 64,
        }
    }
}

/// Identifies a VM on its host.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct VmId(pub u32);

/// The machine and its free host frames.
#[derive(Debug)]
pub struct Host {
    pub(crate) machine: Machine,
    /// Free host frames, lowest first.
    free: Vec<u32>,
    next_id: u32,
    /// The VM whose translations the TLB may still hold.
    pub(crate) last_vm: Option<VmId>,
}

impl Host {
    /// A host with `config.ram_bytes` of RAM, every frame free.
    pub fn new(config: &HostConfig) -> Result<Host, MonitorError> {
        let machine = Machine::new(MachineConfig {
            ram_bytes: config.ram_bytes,
            tlb_entries: config.tlb_entries,
            tlb_tagged: config.tlb_tagged,
            profile: config.profile,
            ..MachineConfig::default()
        })?;
        let frames = machine.ram().frames();
        Ok(Host {
            machine,
            free: (0..frames).rev().collect(),
            next_id: 0,
            last_vm: None,
        })
    }

    /// The machine (read-only: VMs change it only while they run).
    pub fn machine(&self) -> &Machine {
        &self.machine
    }

    /// Number of free host frames.
    pub fn free_frames(&self) -> usize {
        self.free.len()
    }

    /// Takes `n` free frames, lowest first.
    pub(crate) fn alloc(&mut self, n: usize) -> Result<Vec<u32>, MonitorError> {
        if n > self.free.len() {
            return Err(MonitorError::OutOfFrames {
                wanted: n,
                free: self.free.len(),
            });
        }
        let at = self.free.len() - n;
        let mut taken = self.free.split_off(at);
        taken.reverse();
        Ok(taken)
    }

    /// Takes exactly the frames `wanted` (each must be free).
    pub(crate) fn claim(&mut self, wanted: &[u32]) -> Result<(), MonitorError> {
        for f in wanted {
            if !self.free.contains(f) {
                return Err(MonitorError::Config(format!(
                    "host frame {f:#x} is not free (in use, or past the host's RAM)"
                )));
            }
        }
        self.free.retain(|f| !wanted.contains(f));
        Ok(())
    }

    /// Returns frames to the free list (zeroing them, so no VM sees another's data).
    pub(crate) fn release(&mut self, frames: &[u32]) {
        let zero = [0u8; 4096];
        for &f in frames {
            // The frames came from this host's RAM, so the write cannot fail.
            let _ = self
                .machine
                .write_phys(vmlab_machine::HostPhys::from_page(f), &zero);
            self.free.push(f);
        }
        self.free.sort_unstable_by(|a, b| b.cmp(a));
    }

    pub(crate) fn next_id(&mut self) -> VmId {
        self.next_id += 1;
        VmId(self.next_id)
    }
}
