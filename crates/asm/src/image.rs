//! The assembled program: segments, entry point, symbols and a line map.
//!
//! The queries here ([`Image::read_u32`], [`Image::symbol_at`],
//! [`Image::source_of`], ...) serve loaders, disassemblers and debuggers; the
//! on-disk encoding lives in [`crate::format`].

use std::ops::Range;

use crate::format::ImageError;

/// What a segment holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum SegmentKind {
    /// Code (`.section text`).
    #[default]
    Text,
    /// Data (`.section data`).
    Data,
}

/// A contiguous run of bytes to load at `addr`.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Segment {
    /// Load address (byte address in the guest's physical memory for a
    /// bare-metal program).
    pub addr: u32,
    /// Text or data.
    pub kind: SegmentKind,
    /// The bytes.
    pub data: Vec<u8>,
}

/// A named address.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Symbol {
    /// The label.
    pub name: String,
    /// Its value (an address, or an `.equ` constant).
    pub value: u32,
    /// True for labels (addresses), false for `.equ`/`.set` constants.
    pub is_label: bool,
}

/// Where an emitted word came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct SourceLoc {
    /// Index into [`Image::files`].
    pub file: u32,
    /// 1-based line number.
    pub line: u32,
}

/// An assembled program.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Image {
    /// Entry point: the `_start` label if defined, else the first text address.
    pub entry: u32,
    /// Non-overlapping segments, sorted by address.
    pub segments: Vec<Segment>,
    /// Symbols sorted by value then name.
    pub symbols: Vec<Symbol>,
    /// Source files named by the line map (as given to the assembler).
    pub files: Vec<String>,
    /// Address -> source location, sorted by address, one entry per emitted
    /// instruction or data directive.
    pub lines: Vec<(u32, SourceLoc)>,
}

impl Segment {
    /// The addresses the segment occupies, as `u64` because a segment may end
    /// exactly at 4 GiB.
    pub fn range(&self) -> Range<u64> {
        let start = u64::from(self.addr);
        start..start + self.data.len() as u64
    }

    /// True if `addr` is one of the segment's bytes.
    pub fn contains(&self, addr: u32) -> bool {
        self.range().contains(&u64::from(addr))
    }
}

impl Image {
    /// The instruction words of every text segment, in segment order, as
    /// `(address, word)`: little-endian words at 4-aligned addresses.
    ///
    /// Instructions are fetched only from aligned addresses, so a misaligned
    /// head of a segment and a tail shorter than a word are skipped.
    pub fn text_words(&self) -> impl Iterator<Item = (u32, u32)> {
        self.segments
            .iter()
            .filter(|seg| seg.kind == SegmentKind::Text)
            .flat_map(|seg| {
                // Bytes from `addr` up to the next multiple of 4.
                let head = (seg.addr.wrapping_neg() & 3) as usize;
                let first = seg.addr.wrapping_add(head as u32);
                seg.data
                    .get(head..)
                    .unwrap_or_default()
                    .chunks_exact(4)
                    .zip(0u32..)
                    .map(move |(word, i)| {
                        let word = u32::from_le_bytes([word[0], word[1], word[2], word[3]]);
                        (first.wrapping_add(4 * i), word)
                    })
            })
    }

    /// The little-endian word at `addr` (any alignment), if all four bytes lie
    /// in one segment.
    pub fn read_u32(&self, addr: u32) -> Option<u32> {
        let start = u64::from(addr);
        let seg = self.segments.iter().find(|seg| {
            let range = seg.range();
            range.start <= start && start + 4 <= range.end
        })?;
        let offset = (start - u64::from(seg.addr)) as usize;
        let bytes = seg.data.get(offset..offset + 4)?;
        Some(u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]))
    }

    /// The label at `addr`, the first by name if several share it; `.equ`
    /// constants are skipped because a value is not a place in the program.
    ///
    /// Binary search: relies on symbols being sorted by value then name, as
    /// [`Image::validate`] requires.
    pub fn symbol_at(&self, addr: u32) -> Option<&Symbol> {
        let first = self.symbols.partition_point(|sym| sym.value < addr);
        self.symbols[first..]
            .iter()
            .take_while(|sym| sym.value == addr)
            .find(|sym| sym.is_label)
    }

    /// The first symbol (label or constant) called `name`.
    pub fn symbol(&self, name: &str) -> Option<&Symbol> {
        self.symbols.iter().find(|sym| sym.name == name)
    }

    /// The file name and 1-based line that emitted the byte at exactly `addr`.
    ///
    /// Binary search: relies on the line table being sorted by address, as
    /// [`Image::validate`] requires.
    pub fn source_of(&self, addr: u32) -> Option<(&str, u32)> {
        let index = self.lines.partition_point(|&(at, _)| at < addr);
        let &(at, loc) = self.lines.get(index)?;
        if at != addr {
            return None;
        }
        let file = self.files.get(loc.file as usize)?;
        Some((file.as_str(), loc.line))
    }

    /// One past the highest address any segment occupies (0 with no segments).
    ///
    /// Saturates at `u32::MAX` for a segment that ends exactly at 4 GiB, which
    /// `u32` cannot represent.
    pub fn end(&self) -> u32 {
        let end = self
            .segments
            .iter()
            .map(|seg| seg.range().end)
            .max()
            .unwrap_or(0);
        u32::try_from(end).unwrap_or(u32::MAX)
    }

    /// Checks the rules [`Image::from_bytes`] enforces on an image's contents,
    /// so an in-memory image can be checked before it is saved or loaded:
    ///
    /// 1. every segment is non-empty and ends at or below 4 GiB;
    /// 2. no two segments overlap, and segments are sorted by address;
    /// 3. the entry point is inside a text segment;
    /// 4. symbols are sorted by value, then name;
    /// 5. every line table entry names an existing file, and the line table is
    ///    sorted by address.
    ///
    /// The byte-level rules (magic, version, UTF-8, ...) cannot be broken by an
    /// in-memory image, so only the loader checks them.
    pub fn validate(&self) -> Result<(), ImageError> {
        self.validate_segments()?;
        let in_text = |seg: &Segment| seg.kind == SegmentKind::Text && seg.contains(self.entry);
        if !self.segments.iter().any(in_text) {
            return Err(ImageError::EntryOutsideText { entry: self.entry });
        }
        for (index, pair) in self.symbols.windows(2).enumerate() {
            if (pair[0].value, &pair[0].name) > (pair[1].value, &pair[1].name) {
                return Err(ImageError::SymbolsUnsorted {
                    index: index + 1,
                    name: pair[1].name.clone(),
                });
            }
        }
        for (index, &(addr, loc)) in self.lines.iter().enumerate() {
            if loc.file as usize >= self.files.len() {
                let files = self.files.len();
                return Err(ImageError::LineFileIndex {
                    index,
                    addr,
                    file: loc.file,
                    files,
                });
            }
        }
        for (index, pair) in self.lines.windows(2).enumerate() {
            let ((prev_addr, _), (addr, _)) = (pair[0], pair[1]);
            if prev_addr > addr {
                return Err(ImageError::LinesUnsorted {
                    index: index + 1,
                    addr,
                    prev_addr,
                });
            }
        }
        Ok(())
    }

    fn validate_segments(&self) -> Result<(), ImageError> {
        for (index, seg) in self.segments.iter().enumerate() {
            if seg.data.is_empty() {
                return Err(ImageError::EmptySegment {
                    index,
                    addr: seg.addr,
                });
            }
            if seg.range().end > 1 << 32 {
                let len = seg.data.len() as u64;
                return Err(ImageError::SegmentWraps {
                    index,
                    addr: seg.addr,
                    len,
                });
            }
        }
        // Overlap first, whatever the order, so two overlapping segments are
        // reported as such rather than as merely unsorted. Among ranges sorted
        // by start, any overlap shows up between neighbours.
        let mut order: Vec<usize> = (0..self.segments.len()).collect();
        order.sort_by_key(|&i| (self.segments[i].addr, i));
        for pair in order.windows(2) {
            let (a, b) = (&self.segments[pair[0]], &self.segments[pair[1]]);
            if a.range().end > b.range().start {
                let (first, second) = (pair[0].min(pair[1]), pair[0].max(pair[1]));
                let (f, s) = (&self.segments[first], &self.segments[second]);
                return Err(ImageError::SegmentOverlap {
                    first,
                    first_start: f.addr,
                    first_end: f.range().end,
                    second,
                    second_start: s.addr,
                    second_end: s.range().end,
                });
            }
        }
        for (index, pair) in self.segments.windows(2).enumerate() {
            if pair[0].addr > pair[1].addr {
                let (addr, prev_addr) = (pair[1].addr, pair[0].addr);
                return Err(ImageError::SegmentsUnsorted {
                    index: index + 1,
                    addr,
                    prev_addr,
                });
            }
        }
        Ok(())
    }
}
