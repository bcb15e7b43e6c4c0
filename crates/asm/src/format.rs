//! The on-disk image format, specified byte by byte in `docs/image-format.md`.
//!
//! An image file is, in order and with every integer little-endian: a 28-byte
//! header, the segment table, the segment bytes, the symbol table, the
//! file-name table and the line table. Nothing else: no padding, no trailer.
//!
//! The loader is strict on purpose: every input it accepts is exactly
//! [`Image::to_bytes`] of the image it returns, so a file has one meaning and
//! a corrupted one is reported rather than half-loaded.
//!
//! ```
//! use vmlab_asm::{Image, Segment, SegmentKind};
//!
//! let image = Image {
//!     entry: 0x1000,
//!     segments: vec![Segment { addr: 0x1000, kind: SegmentKind::Text, data: vec![0; 4] }],
//!     ..Image::default()
//! };
//! let bytes = image.to_bytes();
//! assert_eq!(&bytes[..4], b"VMLB");
//! assert_eq!(Image::from_bytes(&bytes).unwrap(), image);
//! ```

use std::path::Path;

use crate::image::{Image, Segment, SegmentKind, SourceLoc, Symbol};

mod error;
pub use error::{ImageError, Table};

/// The four bytes every image file starts with.
pub const MAGIC: [u8; 4] = *b"VMLB";

/// The format version [`Image::to_bytes`] writes, and the only one
/// [`Image::from_bytes`] reads.
pub const FORMAT_VERSION: u16 = 1;

/// Size of the header: magic, version, flags, entry and four table counts.
pub const HEADER_LEN: usize = 28;

/// Size of one segment table entry: addr, kind, length, file offset.
pub const SEGMENT_ENTRY_LEN: usize = 16;

/// Size of one line table entry: addr, file index, line.
pub const LINE_ENTRY_LEN: usize = 12;

/// Smallest symbol table entry: a name length, an empty name, value, is_label.
const SYMBOL_MIN_LEN: usize = 4 + 4 + 1;

/// Smallest file-name table entry: a name length and an empty name.
const FILE_MIN_LEN: usize = 4;

/// Segment kind codes in the segment table.
const KIND_TEXT: u32 = 0;
const KIND_DATA: u32 = 1;

impl Image {
    /// Encodes the image in the vmlab image format, version [`FORMAT_VERSION`].
    ///
    /// This does not validate: call [`Image::validate`] first (as
    /// [`Image::save_file`] does) if the image may break the format's rules.
    ///
    /// # Panics
    ///
    /// If a table, name or segment has 2^32 or more entries or bytes, which no
    /// image that fits the guest's address space has.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(&MAGIC);
        out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes()); // flags: reserved
        put_u32(&mut out, self.entry);
        for count in [
            self.segments.len(),
            self.symbols.len(),
            self.files.len(),
            self.lines.len(),
        ] {
            put_u32(&mut out, to_u32(count));
        }

        let mut data_offset = HEADER_LEN + SEGMENT_ENTRY_LEN * self.segments.len();
        for seg in &self.segments {
            put_u32(&mut out, seg.addr);
            put_u32(
                &mut out,
                match seg.kind {
                    SegmentKind::Text => KIND_TEXT,
                    SegmentKind::Data => KIND_DATA,
                },
            );
            put_u32(&mut out, to_u32(seg.data.len()));
            put_u32(&mut out, to_u32(data_offset));
            data_offset += seg.data.len();
        }
        for seg in &self.segments {
            out.extend_from_slice(&seg.data);
        }
        for sym in &self.symbols {
            put_name(&mut out, &sym.name);
            put_u32(&mut out, sym.value);
            out.push(u8::from(sym.is_label));
        }
        for file in &self.files {
            put_name(&mut out, file);
        }
        for &(addr, loc) in &self.lines {
            put_u32(&mut out, addr);
            put_u32(&mut out, loc.file);
            put_u32(&mut out, loc.line);
        }
        out
    }

    /// Decodes and validates an image; any input, however malformed, gives
    /// `Ok` or `Err`, never a panic.
    ///
    /// The structure is checked while reading (magic, version, lengths, codes,
    /// UTF-8, layout), then the contents by [`Image::validate`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Image, ImageError> {
        // Check the magic on whatever is there, so a two-byte text file is
        // "not an image" rather than "a truncated image".
        let found = &bytes[..bytes.len().min(MAGIC.len())];
        if found != &MAGIC[..found.len()] {
            return Err(ImageError::BadMagic {
                found: found.to_vec(),
            });
        }
        let mut r = Reader { bytes, pos: 0 };
        r.take(MAGIC.len(), Table::Header)?;
        let version = r.u16(Table::Header)?;
        if version != FORMAT_VERSION {
            return Err(ImageError::UnsupportedVersion { found: version });
        }
        let flags = r.u16(Table::Header)?;
        if flags != 0 {
            return Err(ImageError::ReservedFlags { flags });
        }
        let entry = r.u32(Table::Header)?;
        let n_segments = r.u32(Table::Header)?;
        let n_symbols = r.u32(Table::Header)?;
        let n_files = r.u32(Table::Header)?;
        let n_lines = r.u32(Table::Header)?;

        let segments = r.segments(n_segments)?;
        let symbols = r.symbols(n_symbols)?;

        r.check_count(Table::Files, n_files, FILE_MIN_LEN)?;
        let files = (0..n_files as usize)
            .map(|index| r.name(Table::Files, index))
            .collect::<Result<Vec<_>, _>>()?;

        r.check_count(Table::Lines, n_lines, LINE_ENTRY_LEN)?;
        let mut lines = Vec::with_capacity(n_lines as usize);
        for _ in 0..n_lines {
            let addr = r.u32(Table::Lines)?;
            let file = r.u32(Table::Lines)?;
            let line = r.u32(Table::Lines)?;
            lines.push((addr, SourceLoc { file, line }));
        }

        if r.pos != bytes.len() {
            return Err(ImageError::TrailingBytes {
                offset: r.pos,
                count: bytes.len() - r.pos,
            });
        }
        let image = Image {
            entry,
            segments,
            symbols,
            files,
            lines,
        };
        image.validate()?;
        Ok(image)
    }

    /// Reads and decodes an image file (see [`Image::from_bytes`]).
    pub fn load_file(path: &Path) -> Result<Image, ImageError> {
        let bytes = std::fs::read(path).map_err(|source| ImageError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Image::from_bytes(&bytes)
    }

    /// Validates the image, then writes it to `path`, so that nothing is saved
    /// that [`Image::load_file`] would refuse.
    pub fn save_file(&self, path: &Path) -> Result<(), ImageError> {
        self.validate()?;
        std::fs::write(path, self.to_bytes()).map_err(|source| ImageError::Io {
            path: path.to_path_buf(),
            source,
        })
    }
}

fn put_u32(out: &mut Vec<u8>, value: u32) {
    out.extend_from_slice(&value.to_le_bytes());
}

fn put_name(out: &mut Vec<u8>, name: &str) {
    put_u32(out, to_u32(name.len()));
    out.extend_from_slice(name.as_bytes());
}

fn to_u32(n: usize) -> u32 {
    u32::try_from(n).expect("an image table, name or segment of 4 GiB or more cannot be encoded")
}

/// A cursor over the file that turns running out of bytes into
/// [`ImageError::Truncated`] naming the table being read.
struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn available(&self) -> usize {
        self.bytes.len() - self.pos
    }

    fn take(&mut self, len: usize, table: Table) -> Result<&'a [u8], ImageError> {
        let available = self.available();
        if len > available {
            return Err(ImageError::Truncated {
                table,
                offset: self.pos,
                needed: len,
                available,
            });
        }
        let field = &self.bytes[self.pos..self.pos + len];
        self.pos += len;
        Ok(field)
    }

    fn u8(&mut self, table: Table) -> Result<u8, ImageError> {
        Ok(self.take(1, table)?[0])
    }

    fn u16(&mut self, table: Table) -> Result<u16, ImageError> {
        let mut le = [0; 2];
        le.copy_from_slice(self.take(2, table)?);
        Ok(u16::from_le_bytes(le))
    }

    fn u32(&mut self, table: Table) -> Result<u32, ImageError> {
        let mut le = [0; 4];
        le.copy_from_slice(self.take(4, table)?);
        Ok(u32::from_le_bytes(le))
    }

    /// Rejects a count whose entries cannot fit in the rest of the file, before
    /// anything is allocated for them: a corrupt count must not make the loader
    /// reserve gigabytes.
    fn check_count(&self, table: Table, count: u32, entry_min: usize) -> Result<(), ImageError> {
        // u32 * a small constant cannot overflow u64.
        let min_len = u64::from(count) * entry_min as u64;
        if min_len > self.available() as u64 {
            return Err(ImageError::CountTooLarge {
                table,
                count,
                offset: self.pos,
                min_len,
                available: self.available(),
            });
        }
        Ok(())
    }

    /// Reads a length-prefixed UTF-8 name: entry `index` of `table`.
    fn name(&mut self, table: Table, index: usize) -> Result<String, ImageError> {
        let len = self.u32(table)? as usize;
        let offset = self.pos;
        let raw = self.take(len, table)?;
        match std::str::from_utf8(raw) {
            Ok(name) => Ok(name.to_owned()),
            Err(_) => Err(ImageError::BadUtf8 {
                table,
                index,
                offset,
            }),
        }
    }

    /// Reads the segment table, then each segment's bytes, which must follow
    /// back to back in table order.
    fn segments(&mut self, count: u32) -> Result<Vec<Segment>, ImageError> {
        self.check_count(Table::Segments, count, SEGMENT_ENTRY_LEN)?;
        let mut entries = Vec::with_capacity(count as usize);
        for index in 0..count as usize {
            let addr = self.u32(Table::Segments)?;
            let kind_offset = self.pos;
            let kind = match self.u32(Table::Segments)? {
                KIND_TEXT => SegmentKind::Text,
                KIND_DATA => SegmentKind::Data,
                kind => {
                    return Err(ImageError::BadSegmentKind {
                        index,
                        offset: kind_offset,
                        kind,
                    });
                }
            };
            let len = self.u32(Table::Segments)? as usize;
            let offset_field = self.pos;
            let data_offset = self.u32(Table::Segments)?;
            entries.push((addr, kind, len, offset_field, data_offset));
        }
        let mut segments = Vec::with_capacity(entries.len());
        for (index, (addr, kind, len, offset_field, data_offset)) in entries.into_iter().enumerate()
        {
            if data_offset as usize != self.pos {
                return Err(ImageError::SegmentOffset {
                    index,
                    offset: offset_field,
                    found: data_offset,
                    expected: self.pos,
                });
            }
            let data = self.take(len, Table::SegmentData)?.to_vec();
            segments.push(Segment { addr, kind, data });
        }
        Ok(segments)
    }

    fn symbols(&mut self, count: u32) -> Result<Vec<Symbol>, ImageError> {
        self.check_count(Table::Symbols, count, SYMBOL_MIN_LEN)?;
        let mut symbols = Vec::with_capacity(count as usize);
        for index in 0..count as usize {
            let name = self.name(Table::Symbols, index)?;
            let value = self.u32(Table::Symbols)?;
            let offset = self.pos;
            let is_label = match self.u8(Table::Symbols)? {
                0 => false,
                1 => true,
                value => {
                    return Err(ImageError::BadLabelFlag {
                        index,
                        offset,
                        value,
                    });
                }
            };
            symbols.push(Symbol {
                name,
                value,
                is_label,
            });
        }
        Ok(symbols)
    }
}
