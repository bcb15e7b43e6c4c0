//! Per-host-frame state the store path checks: the write-protect bitmap (a
//! monitor's protected pages) and which parts of a frame hold cached code.
//!
//! One byte per frame answers "is this store ordinary?" with a single load:
//! zero means neither protected nor holding cached code, the common case.

use vmlab_isa::paging::PAGE_SHIFT;

/// The frame is write-protected: a guest store exits with `ProtectedWrite`.
const PROTECTED: u8 = 1 << 0;
/// Some 128-byte line of the frame holds code in the block cache.
const CODE: u8 = 1 << 1;
/// Past the end of RAM: a store there is never ordinary.
const OUTSIDE: u8 = 1 << 2;

/// Watch bytes kept: one per 4 KiB page of the whole 32-bit address space,
/// so a translator can index them by any guest address in the identity
/// window without a bounds check first (the bytes past RAM say
/// [`OUTSIDE`]).
const WATCH_PAGES: usize = 1 << 20;

/// log2 of the code-tracking granule: 32 lines of 128 bytes per frame, so data
/// next to code in the same page does not invalidate it on every store.
const LINE_SHIFT: u32 = 7;

/// Write-protect bits, code lines and code generations per host frame.
#[derive(Clone, Debug)]
pub(crate) struct Frames {
    /// `PROTECTED | CODE` per frame, then `OUTSIDE` up to [`WATCH_PAGES`].
    /// Fixed-size: a page number indexes it with no bounds check.
    watch: Box<[u8; WATCH_PAGES]>,
    /// Frames of RAM.
    frames: usize,
    /// Bit i set: line i of the frame holds decoded code.
    code_lines: Vec<u32>,
    /// Bumped whenever the frame's code is invalidated; cached blocks record
    /// the generation they were decoded at.
    generation: Vec<u32>,
    /// Bumped whenever any frame's generation is.
    pub(crate) epoch: u64,
}

impl Frames {
    pub(crate) fn new(frames: u32) -> Frames {
        let n = frames as usize;
        // RAM is at most 1 GiB: its frames are a prefix of the table.
        let mut watch: Box<[u8; WATCH_PAGES]> = match vec![OUTSIDE; WATCH_PAGES].try_into() {
            Ok(w) => w,
            Err(_) => unreachable!("the vector has WATCH_PAGES bytes"),
        };
        watch[..n].fill(0);
        Frames {
            watch,
            frames: n,
            code_lines: vec![0; n],
            generation: vec![0; n],
            epoch: 0,
        }
    }

    /// True when a store to `hpa` needs the slow path (protected or code).
    #[inline(always)]
    pub(crate) fn store_watched(&self, hpa: u32) -> bool {
        self.watch[(hpa >> PAGE_SHIFT) as usize] != 0
    }

    /// The watch byte of every frame (non-zero: stores need the slow path),
    /// and of every page past RAM up to 4 GiB (never zero).
    pub(crate) fn watch_bytes(&self) -> &[u8] {
        &self.watch[..]
    }

    /// True when the frame holding `hpa` is write-protected.
    pub(crate) fn is_protected(&self, hpa: u32) -> bool {
        self.watch
            .get((hpa >> PAGE_SHIFT) as usize)
            .is_some_and(|w| w & PROTECTED != 0)
    }

    /// Sets or clears write protection of the frame `frame`.
    pub(crate) fn set_protected(&mut self, frame: u32, on: bool) {
        if let Some(w) = self.watch[..self.frames].get_mut(frame as usize) {
            if on {
                *w |= PROTECTED;
            } else {
                *w &= !PROTECTED;
            }
        }
    }

    /// Every protected frame.
    pub(crate) fn protected_frames(&self) -> impl Iterator<Item = u32> + '_ {
        self.watch[..self.frames]
            .iter()
            .enumerate()
            .filter(|(_, w)| **w & PROTECTED != 0)
            .map(|(i, _)| i as u32)
    }

    /// The code generation of the frame holding `hpa`.
    #[inline(always)]
    pub(crate) fn generation(&self, hpa: u32) -> u32 {
        self.generation
            .get((hpa >> PAGE_SHIFT) as usize)
            .copied()
            .unwrap_or(0)
    }

    /// Records that bytes `hpa..hpa + len` (inside one frame) now hold cached code.
    pub(crate) fn mark_code(&mut self, hpa: u32, len: u32) {
        let f = (hpa >> PAGE_SHIFT) as usize;
        if f >= self.frames || len == 0 {
            return;
        }
        let first = (hpa >> LINE_SHIFT) & 31;
        let last = ((hpa + len - 1) >> LINE_SHIFT) & 31;
        for line in first..=last {
            self.code_lines[f] |= 1 << line;
        }
        self.watch[f] |= CODE;
    }

    /// A write of `len` bytes at `hpa` happened (or is about to): if it
    /// touches a line holding code, invalidate the frame's code. Returns true
    /// when code was invalidated.
    pub(crate) fn written(&mut self, hpa: u32, len: u32) -> bool {
        let f = (hpa >> PAGE_SHIFT) as usize;
        if f >= self.frames || self.watch[f] & CODE == 0 || len == 0 {
            return false;
        }
        let first = (hpa >> LINE_SHIFT) & 31;
        let last = ((hpa + len - 1) >> LINE_SHIFT) & 31;
        let lines = (u32::MAX >> (31 - (last - first))) << first;
        if self.code_lines[f] & lines == 0 {
            return false;
        }
        self.invalidate_frame(f as u32);
        true
    }

    /// Forgets all code in frame `frame` (its cached blocks become stale).
    pub(crate) fn invalidate_frame(&mut self, frame: u32) {
        let f = frame as usize;
        if f < self.frames {
            self.code_lines[f] = 0;
            self.watch[f] &= !CODE;
            self.generation[f] = self.generation[f].wrapping_add(1);
            self.epoch = self.epoch.wrapping_add(1);
        }
    }
}
