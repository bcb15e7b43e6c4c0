//! Shadow paging: page tables the monitor builds (guest-virtual ->
//! host-physical) from the guest's own (guest-virtual -> guest-physical),
//! which the MMU walks instead of the guest's.
//!
//! - Shadow tables are filled lazily. A miss is `Exit::PageFault`; if the
//!   guest's tables map the address, the monitor copies the mapping in (a
//!   *hidden* fault: the guest never knows), else it reflects a true guest
//!   page fault.
//! - The guest's page-table pages (the root and every leaf table it names)
//!   are write-protected. A store to one is
//!   `Exit::ProtectedWrite`: the monitor performs the store and drops the
//!   shadow entries derived from the changed entry.
//! - Shadow tables are cached per guest root and per *view*, so a context
//!   switch does not rebuild them. In trap mode the kernel runs in user mode,
//!   so the kernel's view makes every valid page user-accessible while the
//!   user view holds only the guest's user pages: a user read of a kernel
//!   address still faults.
//! - Accessed and dirty bits are set in the guest's entry when filling, and
//!   a page is writable in the shadow only once the guest entry is dirty, so
//!   the first store is seen.

use std::collections::HashMap;

use vmlab_isa::paging::{PTE_A, PTE_D, PTE_R, PTE_U, PTE_V, PTE_W, PTE_X, vpn0, vpn1};
use vmlab_isa::{Access, Exception, Width};
use vmlab_machine::{GuestPhys, GuestVirt, GuestWalkError, HostPhys, Machine, MemMode};

use crate::error::MonitorError;

/// Which privilege a shadow table serves.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum View {
    /// Trap mode, virtual supervisor: every page the guest maps, made
    /// user-accessible because the real CPU runs the kernel in user mode.
    Kernel,
    /// Trap mode, virtual user: only the guest's user pages.
    User,
    /// Guest mode (hw): the guest's U bit is copied; the CPU checks the
    /// guest's own privilege.
    Guest,
}

/// One cached shadow address space: a guest root (`None`: paging off, an
/// identity shadow of guest-physical memory) seen from one view.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ShadowKey {
    /// The guest root table's guest-physical frame, or `None` with paging off.
    pub root: Option<u32>,
    /// The privilege view.
    pub view: View,
}

/// One shadow table: its root frame and its leaf tables by `vpn1`.
#[derive(Debug)]
struct Table {
    root: u32,
    leaves: HashMap<u32, u32>,
}

/// What a shadow fill did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fill {
    /// A hidden fault: the shadow entry now maps the page.
    Filled,
    /// A true guest fault to reflect, with `badaddr` = the address.
    Reflect(Exception),
}

/// The shadow page tables of one VM.
#[derive(Debug)]
pub struct ShadowPager {
    /// Monitor frames not holding a table.
    pool: Vec<u32>,
    tables: HashMap<ShadowKey, Table>,
    /// Guest leaf-table frame -> the shadow tables and `vpn1` built from it.
    rmap: HashMap<u32, Vec<(ShadowKey, u32)>>,
    /// Write-protected host frame -> guest frame (the guest's table pages).
    protected: HashMap<u32, u32>,
    current: Option<ShadowKey>,
    /// Times every table was dropped because the pool ran dry.
    pub resets: u64,
    /// TLB flushes on leaving the trap-mode kernel view (its entries are
    /// user-accessible, so user code must not inherit them).
    pub view_flushes: u64,
}

impl ShadowPager {
    /// A pager that builds its tables in `frames` (host frames the monitor owns).
    pub fn new(frames: Vec<u32>) -> ShadowPager {
        ShadowPager {
            pool: frames,
            tables: HashMap::new(),
            rmap: HashMap::new(),
            protected: HashMap::new(),
            current: None,
            resets: 0,
            view_flushes: 0,
        }
    }

    /// The active shadow address space.
    pub fn current(&self) -> Option<ShadowKey> {
        self.current
    }

    /// Number of cached shadow address spaces.
    pub fn cached(&self) -> usize {
        self.tables.len()
    }

    /// Makes `key` the active shadow table (building an empty one if it is
    /// not cached) and points the MMU at it.
    pub fn activate(&mut self, m: &mut Machine, key: ShadowKey) -> Result<(), MonitorError> {
        if let Some(prev) = self.current
            && prev.view == View::Kernel
            && key.view != View::Kernel
        {
            m.flush_tlb();
            self.view_flushes += 1;
        }
        self.current = Some(key);
        if !self.tables.contains_key(&key) {
            let root = match self.alloc(m)? {
                Some(f) => f,
                None => {
                    self.reset(m);
                    self.alloc(m)?.ok_or_else(too_few)?
                }
            };
            self.tables.insert(
                key,
                Table {
                    root,
                    leaves: HashMap::new(),
                },
            );
            if let Some(g) = key.root {
                self.protect_tables(m, g)?;
            }
        }
        let root = self.tables[&key].root;
        m.set_mem_mode(MemMode::Shadow {
            root: HostPhys::from_page(root),
        });
        Ok(())
    }

    /// Handles a shadow miss at `va` for `access`, walking the guest's tables
    /// at privilege `user` (the guest's own privilege, virtual in trap mode).
    pub fn fill(
        &mut self,
        m: &mut Machine,
        va: GuestVirt,
        access: Access,
        user: bool,
    ) -> Result<Fill, MonitorError> {
        let key = self
            .current
            .ok_or_else(|| MonitorError::Config("no active shadow table".into()))?;
        let user_bit = if key.view == View::Guest { 0 } else { PTE_U };
        let (hpa, flags, leaf_table) = match key.root {
            None => {
                // Paging off: guest-virtual = guest-physical, no protection.
                let Some(hpa) = m.guest_to_host(GuestPhys(va.0)) else {
                    return Ok(Fill::Reflect(Exception::BusError));
                };
                (hpa, PTE_R | PTE_W | PTE_X | PTE_U | PTE_A | PTE_D, None)
            }
            Some(root) => {
                let walk = match m.walk_guest(va, access, user, true) {
                    Ok(w) => w,
                    Err(GuestWalkError::PageFault(e)) => return Ok(Fill::Reflect(e)),
                    Err(GuestWalkError::BusError) => return Ok(Fill::Reflect(Exception::BusError)),
                };
                let Some(hpa) = m.guest_to_host(walk.gpa) else {
                    return Ok(Fill::Reflect(Exception::BusError));
                };
                let root_entry = m.read_guest_phys_u32(GuestPhys((root << 12) + vpn1(va.0) * 4))?;
                let pte = walk.pte;
                let mut flags = pte & (PTE_R | PTE_X) | PTE_A | user_bit;
                if key.view == View::Guest {
                    flags |= pte & PTE_U;
                }
                // Writable only once dirty, so the first store reaches the monitor.
                if pte & PTE_W != 0 && pte & PTE_D != 0 {
                    flags |= PTE_W | PTE_D;
                }
                (hpa, flags, Some(root_entry >> 12))
            }
        };
        let leaf = match self.leaf_for(m, key, vpn1(va.0))? {
            Some(l) => l,
            None => {
                // The pool ran dry: drop everything and rebuild this table.
                self.reset(m);
                self.activate(m, key)?;
                self.leaf_for(m, key, vpn1(va.0))?.ok_or_else(too_few)?
            }
        };
        let entry = HostPhys::from_page(leaf).add(vpn0(va.0) * 4);
        m.write_phys_u32(entry, (hpa.0 & !0xFFF) | flags | PTE_V)?;
        if let Some(table) = leaf_table {
            self.protect(m, table);
            let users = self.rmap.entry(table).or_default();
            if !users.contains(&(key, vpn1(va.0))) {
                users.push((key, vpn1(va.0)));
            }
        }
        Ok(Fill::Filled)
    }

    /// Handles a guest store to a protected page: performs it, then drops
    /// every shadow entry derived from the entry it changed. Returns true
    /// when the page is one of the guest's tables (false: a stale protection
    /// on a page that is no longer a table; the store is still done).
    pub fn write(
        &mut self,
        m: &mut Machine,
        hpa: HostPhys,
        width: Width,
        value: u32,
    ) -> Result<bool, MonitorError> {
        let Some(&guest_frame) = self.protected.get(&hpa.page()) else {
            return Err(MonitorError::Config(format!(
                "protected write to {hpa}, a page this VM never protected"
            )));
        };
        let bytes = value.to_le_bytes();
        m.write_phys(hpa, &bytes[..width.bytes() as usize])?;
        let index = hpa.offset() / 4;
        let mut was_table = false;
        // The page is a leaf table: drop the entries built from entry `index`.
        if let Some(users) = self.rmap.get(&guest_frame) {
            was_table = true;
            for (key, v1) in users {
                if let Some(&leaf) = self.tables.get(key).and_then(|t| t.leaves.get(v1)) {
                    m.write_phys_u32(HostPhys::from_page(leaf).add(index * 4), 0)?;
                }
            }
        }
        // The page is a root: drop the shadow leaf table under entry `index`,
        // and write-protect the leaf table the entry now names.
        let roots: Vec<ShadowKey> = self
            .tables
            .keys()
            .filter(|k| k.root == Some(guest_frame))
            .copied()
            .collect();
        if !roots.is_empty() {
            // Protect the leaf table the entry now names.
            let entry = m.read_phys_u32(HostPhys(hpa.0 & !3))?;
            if entry & PTE_V != 0 {
                self.protect(m, entry >> 12);
            }
        }
        for key in roots {
            was_table = true;
            let table = self.tables.get_mut(&key).expect("key listed above");
            if let Some(leaf) = table.leaves.remove(&index) {
                m.write_phys_u32(HostPhys::from_page(table.root).add(index * 4), 0)?;
                m.write_phys(HostPhys::from_page(leaf), &[0; 4096])?;
                self.pool.push(leaf);
                for users in self.rmap.values_mut() {
                    users.retain(|u| *u != (key, index));
                }
            }
        }
        Ok(was_table)
    }

    /// Drops every shadow table (the pool ran dry); protections go too and
    /// come back as tables are refilled.
    pub fn reset(&mut self, m: &mut Machine) {
        for (_, t) in self.tables.drain() {
            self.pool.push(t.root);
            self.pool.extend(t.leaves.into_values());
        }
        for (&hf, _) in self.protected.iter() {
            m.protect_page(HostPhys::from_page(hf), false);
        }
        self.protected.clear();
        self.rmap.clear();
        m.flush_tlb();
        self.resets += 1;
    }

    /// The leaf table of `key` for `v1`, created (and linked) if missing;
    /// `None` when the pool is empty.
    fn leaf_for(
        &mut self,
        m: &mut Machine,
        key: ShadowKey,
        v1: u32,
    ) -> Result<Option<u32>, MonitorError> {
        let Some(table) = self.tables.get(&key) else {
            return Ok(None);
        };
        if let Some(&l) = table.leaves.get(&v1) {
            return Ok(Some(l));
        }
        let root = table.root;
        let Some(leaf) = self.alloc(m)? else {
            return Ok(None);
        };
        m.write_phys_u32(HostPhys::from_page(root).add(v1 * 4), (leaf << 12) | PTE_V)?;
        self.tables
            .get_mut(&key)
            .expect("checked above")
            .leaves
            .insert(v1, leaf);
        Ok(Some(leaf))
    }

    /// A zeroed frame from the pool.
    fn alloc(&mut self, m: &mut Machine) -> Result<Option<u32>, MonitorError> {
        let Some(f) = self.pool.pop() else {
            return Ok(None);
        };
        m.write_phys(HostPhys::from_page(f), &[0; 4096])?;
        Ok(Some(f))
    }

    /// Write-protects the guest root table `root` and every leaf table its
    /// valid entries name: all of the guest's page-table pages under this
    /// root, so every page-table write is seen (whether or not a shadow
    /// entry came from it yet).
    fn protect_tables(&mut self, m: &mut Machine, root: u32) -> Result<(), MonitorError> {
        self.protect(m, root);
        let Some(root_hpa) = m.guest_to_host(GuestPhys::from_page(root)) else {
            return Ok(());
        };
        let mut bytes = [0u8; 4096];
        m.read_phys(root_hpa, &mut bytes)?;
        for word in bytes.chunks_exact(4) {
            let entry = u32::from_le_bytes([word[0], word[1], word[2], word[3]]);
            if entry & PTE_V != 0 {
                self.protect(m, entry >> 12);
            }
        }
        Ok(())
    }

    /// Write-protects the guest frame `guest_frame` (a table page).
    fn protect(&mut self, m: &mut Machine, guest_frame: u32) {
        if let Some(h) = m.guest_to_host(GuestPhys::from_page(guest_frame)) {
            m.protect_page(h, true);
            self.protected.insert(h.page(), guest_frame);
        }
    }

    /// Every frame the pager owns (for returning them to the host).
    pub fn frames(&self) -> Vec<u32> {
        let mut v = self.pool.clone();
        for t in self.tables.values() {
            v.push(t.root);
            v.extend(t.leaves.values());
        }
        v
    }
}

fn too_few() -> MonitorError {
    MonitorError::Config("too few monitor frames for one shadow table; raise monitor_frames".into())
}
