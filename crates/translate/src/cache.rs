//! The translation cache: translated blocks keyed by guest-virtual address,
//! host-physical address and privilege, with a size limit.
//!
//! The host-physical address stands for the guest-physical one (the PhysMap
//! and the shadow table make it unique per guest page), so two virtual
//! aliases of one page get two entries, and a virtual page remapped to
//! another frame misses instead of running stale code. Each entry records
//! its frame's code generation: a guest store or host write to the source
//! bytes bumps it, and the stale entry is dropped at its next lookup.

use std::collections::{HashMap, HashSet};

use crate::backend::BlockId;
use crate::ir::Privilege;

/// A translation's identity.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Key {
    /// Guest-virtual address of the block.
    pub va: u32,
    /// Host-physical address of the block.
    pub hpa: u32,
    /// The privilege it was translated for.
    pub privilege: Privilege,
}

/// What a lookup found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lookup {
    /// A current translation in this slot.
    Hit(BlockId),
    /// Nothing.
    Miss,
    /// A translation whose source bytes changed since; it was removed.
    Stale(BlockId),
}

#[derive(Clone, Copy, Debug)]
struct Entry {
    key: Key,
    generation: u32,
    len: usize,
}

/// The translation cache.
#[derive(Clone, Debug)]
pub struct TranslationCache {
    map: HashMap<Key, BlockId>,
    slots: Vec<Option<Entry>>,
    free: Vec<BlockId>,
    /// Guest instructions held.
    size: usize,
    /// The limit on `size`; reaching it flushes everything.
    capacity: usize,
    /// Host-physical addresses of stores known to hit protected pages.
    adaptive: HashSet<u32>,
}

/// Default capacity, in guest instructions (256 KiB of guest code).
pub const DEFAULT_CAPACITY: usize = 1 << 16;

impl TranslationCache {
    /// An empty cache holding at most `capacity` guest instructions.
    pub fn new(capacity: usize) -> TranslationCache {
        TranslationCache {
            map: HashMap::new(),
            slots: Vec::new(),
            free: Vec::new(),
            size: 0,
            capacity: capacity.max(vmlab_machine::MAX_BLOCK),
            adaptive: HashSet::new(),
        }
    }

    /// The limit, in guest instructions.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Guest instructions currently held.
    pub fn size(&self) -> usize {
        self.size
    }

    /// Translations currently held.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Looks `key` up; a stale entry (its frame's code generation is no
    /// longer `generation`) is removed and reported.
    pub fn lookup(&mut self, key: Key, generation: u32) -> Lookup {
        let Some(&id) = self.map.get(&key) else {
            return Lookup::Miss;
        };
        match self.slots[id] {
            Some(e) if e.generation == generation => Lookup::Hit(id),
            _ => {
                self.remove(id);
                Lookup::Stale(id)
            }
        }
    }

    /// True when `len` more instructions fit without a flush.
    pub fn fits(&self, len: usize) -> bool {
        self.size + len <= self.capacity
    }

    /// Adds a translation of `len` instructions; returns its slot.
    pub fn insert(&mut self, key: Key, generation: u32, len: usize) -> BlockId {
        let entry = Some(Entry {
            key,
            generation,
            len,
        });
        let id = match self.free.pop() {
            Some(id) => {
                self.slots[id] = entry;
                id
            }
            None => {
                self.slots.push(entry);
                self.slots.len() - 1
            }
        };
        self.size += len;
        self.map.insert(key, id);
        id
    }

    /// Removes the translation in slot `id`.
    pub fn remove(&mut self, id: BlockId) {
        if let Some(e) = self.slots.get_mut(id).and_then(Option::take) {
            self.map.remove(&e.key);
            self.size -= e.len;
            self.free.push(id);
        }
    }

    /// The key of slot `id`.
    pub fn key(&self, id: BlockId) -> Option<Key> {
        self.slots.get(id).copied().flatten().map(|e| e.key)
    }

    /// Drops every translation (adaptive knowledge survives: it is about
    /// the guest's data, not the cache).
    pub fn flush(&mut self) {
        self.map.clear();
        self.slots.clear();
        self.free.clear();
        self.size = 0;
    }

    /// Records that the store at host-physical `hpa` hits a protected page.
    /// Returns false if it was already known.
    pub fn mark_adaptive(&mut self, hpa: u32) -> bool {
        self.adaptive.insert(hpa)
    }

    /// True when the store at `hpa` is to be translated as a `PteStore`.
    pub fn is_adaptive(&self, hpa: u32) -> bool {
        self.adaptive.contains(&hpa)
    }
}
