//! The PhysMap: guest frame -> host frame. Identity for a bare machine;
//! arbitrary, non-contiguous host frames for a VM, so a monitor can give each
//! VM frames of one shared host RAM (like the memory slots of KVM).

use vmlab_isa::paging::{PAGE_MASK, PAGE_SHIFT};

use crate::addr::{GuestPhys, HostPhys};

/// Marks a guest frame with no host frame behind it.
const UNMAPPED: u32 = u32::MAX;

/// A table from guest-physical frame numbers to host-physical frame numbers.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct PhysMap {
    frames: Vec<u32>,
}

impl PhysMap {
    /// The identity map of `frames` frames (a bare machine: guest-physical
    /// equals host-physical).
    pub fn identity(frames: u32) -> PhysMap {
        PhysMap {
            frames: (0..frames).collect(),
        }
    }

    /// A map of `frames` guest frames, none mapped yet.
    pub fn empty(frames: u32) -> PhysMap {
        PhysMap {
            frames: vec![UNMAPPED; frames as usize],
        }
    }

    /// A map whose guest frame `i` is host frame `host_frames[i]`.
    pub fn from_frames(host_frames: Vec<u32>) -> PhysMap {
        PhysMap {
            frames: host_frames,
        }
    }

    /// Number of guest frames the map covers (the guest's RAM size in pages).
    pub fn len(&self) -> u32 {
        self.frames.len() as u32
    }

    /// True when the map covers no frame.
    pub fn is_empty(&self) -> bool {
        self.frames.is_empty()
    }

    /// Maps guest frame `guest_frame` to host frame `host_frame`, growing the
    /// map if needed.
    pub fn map(&mut self, guest_frame: u32, host_frame: u32) {
        let i = guest_frame as usize;
        if i >= self.frames.len() {
            self.frames.resize(i + 1, UNMAPPED);
        }
        self.frames[i] = host_frame;
    }

    /// Removes the host frame behind `guest_frame`.
    pub fn unmap(&mut self, guest_frame: u32) {
        if let Some(f) = self.frames.get_mut(guest_frame as usize) {
            *f = UNMAPPED;
        }
    }

    /// The host frame behind `guest_frame`.
    pub fn host_frame(&self, guest_frame: u32) -> Option<u32> {
        self.frames
            .get(guest_frame as usize)
            .copied()
            .filter(|f| *f != UNMAPPED)
    }

    /// Translates a guest-physical address.
    pub fn translate(&self, gpa: GuestPhys) -> Option<HostPhys> {
        self.host_frame(gpa.page())
            .map(|f| HostPhys((f << PAGE_SHIFT) | (gpa.0 & PAGE_MASK)))
    }

    /// Every (guest frame, host frame) pair that is mapped.
    pub fn iter(&self) -> impl Iterator<Item = (u32, u32)> + '_ {
        self.frames
            .iter()
            .enumerate()
            .filter(|(_, f)| **f != UNMAPPED)
            .map(|(g, f)| (g as u32, *f))
    }

    /// The raw frame table for the MMU's fast path: a host-physical address
    /// for guest-physical `gpa`, or an address beyond any RAM when unmapped
    /// (the RAM bounds check then fails and the slow path raises bus-error).
    #[inline(always)]
    pub(crate) fn fast(&self, gpa: u32) -> u32 {
        match self.frames.get((gpa >> PAGE_SHIFT) as usize) {
            Some(&f) if f != UNMAPPED => (f << PAGE_SHIFT) | (gpa & PAGE_MASK),
            _ => u32::MAX,
        }
    }
}
