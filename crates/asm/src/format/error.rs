//! [`ImageError`]: everything that can be wrong with an image file or image,
//! and the [`Table`] each byte-level error points into.

use std::fmt;
use std::path::PathBuf;

use super::FORMAT_VERSION;
#[cfg(doc)]
use super::MAGIC;
#[cfg(doc)]
use crate::image::Image;

/// A part of an image file, named in error messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Table {
    /// The fixed-size header at offset 0.
    Header,
    /// The segment table (addr, kind, length, file offset per segment).
    Segments,
    /// The segment bytes that follow the segment table.
    SegmentData,
    /// The symbol table.
    Symbols,
    /// The file-name table.
    Files,
    /// The line table.
    Lines,
}

impl fmt::Display for Table {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Table::Header => "header",
            Table::Segments => "segment table",
            Table::SegmentData => "segment data",
            Table::Symbols => "symbol table",
            Table::Files => "file-name table",
            Table::Lines => "line table",
        })
    }
}

/// Why an image could not be loaded, saved or validated.
///
/// Variants that describe the file's bytes carry byte offsets; variants that
/// describe the image's contents (shared with [`Image::validate`]) carry table
/// indices and guest addresses instead.
#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    /// Reading or writing the image file failed.
    #[error("cannot access image file {}: {source}; check the path and its permissions", .path.display())]
    Io {
        /// The file that was being read or written.
        path: PathBuf,
        /// What the operating system said.
        source: std::io::Error,
    },
    /// The file does not start with [`MAGIC`].
    #[error(
        "not a vmlab image: expected magic VMLB, found \"{}\" at byte offset 0; \
         pass a file written by the vmlab assembler",
        .found.escape_ascii()
    )]
    BadMagic {
        /// The first (up to four) bytes of the file.
        found: Vec<u8>,
    },
    /// The version field is not [`FORMAT_VERSION`].
    #[error(
        "unsupported image format version {found} (byte offset 4): this vmlab reads \
         version {} only; reassemble the program with this vmlab",
        FORMAT_VERSION
    )]
    UnsupportedVersion {
        /// The version the file claims.
        found: u16,
    },
    /// The reserved flags field is not zero.
    #[error(
        "header flags are {flags:#06x} (byte offset 6), but version 1 defines none; \
         the image was written by a newer or broken tool, reassemble the program"
    )]
    ReservedFlags {
        /// The flags the file holds.
        flags: u16,
    },
    /// The file ends inside a table.
    #[error(
        "image truncated in the {table} at byte offset {offset}: need {needed} bytes, \
         only {available} left; the file is incomplete, copy it again or reassemble"
    )]
    Truncated {
        /// The table being read.
        table: Table,
        /// Where the missing field starts.
        offset: usize,
        /// Bytes the field needs.
        needed: usize,
        /// Bytes left in the file.
        available: usize,
    },
    /// A header count promises more entries than the rest of the file can hold.
    #[error(
        "{table} count {count} cannot be right: it needs at least {min_len} bytes from \
         byte offset {offset} but only {available} remain; the header is corrupt"
    )]
    CountTooLarge {
        /// The table whose count is wrong.
        table: Table,
        /// The count from the header.
        count: u32,
        /// Where the table starts.
        offset: usize,
        /// Bytes `count` entries need at least.
        min_len: u64,
        /// Bytes left in the file.
        available: usize,
    },
    /// A segment's kind code is neither text nor data.
    #[error(
        "segment {index} has kind {kind} (segment table, byte offset {offset}); \
         expected 0 (text) or 1 (data), so the image is corrupt"
    )]
    BadSegmentKind {
        /// Segment table index.
        index: usize,
        /// Byte offset of the kind field.
        offset: usize,
        /// The kind code found.
        kind: u32,
    },
    /// A segment's file offset is not where its bytes must be.
    #[error(
        "segment {index} says its bytes start at byte offset {found} (segment table, \
         byte offset {offset}), but they must start at {expected}: segment bytes follow \
         the segment table back to back, in table order"
    )]
    SegmentOffset {
        /// Segment table index.
        index: usize,
        /// Byte offset of the file-offset field.
        offset: usize,
        /// The file offset found.
        found: u32,
        /// The file offset the layout requires.
        expected: usize,
    },
    /// A symbol's is_label byte is neither 0 nor 1.
    #[error(
        "symbol {index} has is_label byte {value} (symbol table, byte offset {offset}); \
         expected 0 (constant) or 1 (label), so the image is corrupt"
    )]
    BadLabelFlag {
        /// Symbol table index.
        index: usize,
        /// Byte offset of the is_label byte.
        offset: usize,
        /// The byte found.
        value: u8,
    },
    /// A symbol or file name is not UTF-8.
    #[error(
        "{table} entry {index} has a name at byte offset {offset} that is not valid \
         UTF-8; names are UTF-8, so the image is corrupt"
    )]
    BadUtf8 {
        /// The symbol table or the file-name table.
        table: Table,
        /// Index in that table.
        index: usize,
        /// Byte offset of the name's first byte.
        offset: usize,
    },
    /// Bytes follow the line table.
    #[error(
        "{count} unexpected bytes after the line table, at byte offset {offset}; an \
         image ends with its line table, so the file is corrupt or has data appended"
    )]
    TrailingBytes {
        /// Where the extra bytes start.
        offset: usize,
        /// How many there are.
        count: usize,
    },
    /// A segment holds no bytes.
    #[error("segment {index} at {addr:#010x} is empty; drop empty segments from the image")]
    EmptySegment {
        /// Segment table index.
        index: usize,
        /// Its load address.
        addr: u32,
    },
    /// A segment runs past the top of the 32-bit address space.
    #[error(
        "segment {index} at {addr:#010x} is {len} bytes long and runs past the end of the \
         4 GiB address space; load it lower or make it shorter"
    )]
    SegmentWraps {
        /// Segment table index.
        index: usize,
        /// Its load address.
        addr: u32,
        /// Its length in bytes.
        len: u64,
    },
    /// Two segments share an address.
    #[error(
        "segment {first} [{first_start:#010x}, {first_end:#010x}) overlaps segment \
         {second} [{second_start:#010x}, {second_end:#010x}); each address may be \
         loaded by one segment only"
    )]
    SegmentOverlap {
        /// The lower segment table index.
        first: usize,
        /// Its first address.
        first_start: u32,
        /// One past its last address.
        first_end: u64,
        /// The higher segment table index.
        second: usize,
        /// Its first address.
        second_start: u32,
        /// One past its last address.
        second_end: u64,
    },
    /// Segments are not sorted by address.
    #[error(
        "segment {index} at {addr:#010x} comes after segment {} at {prev_addr:#010x}; \
         sort segments by address",
        .index - 1
    )]
    SegmentsUnsorted {
        /// Segment table index of the first one out of order.
        index: usize,
        /// Its load address.
        addr: u32,
        /// The load address of the segment before it.
        prev_addr: u32,
    },
    /// The entry point is not inside a text segment.
    #[error(
        "entry point {entry:#010x} is not inside any text segment; \
         point it (the `_start` label) at code"
    )]
    EntryOutsideText {
        /// The entry point.
        entry: u32,
    },
    /// Symbols are not sorted by value, then name.
    #[error("symbol {index} `{name}` is out of order; sort symbols by value, then by name")]
    SymbolsUnsorted {
        /// Symbol table index of the first one out of order.
        index: usize,
        /// Its name.
        name: String,
    },
    /// Line table entries are not sorted by address.
    #[error(
        "line table entry {index} (address {addr:#010x}) comes after an entry for \
         {prev_addr:#010x}; sort the line table by address"
    )]
    LinesUnsorted {
        /// Line table index of the first entry out of order.
        index: usize,
        /// Its address.
        addr: u32,
        /// The address of the entry before it.
        prev_addr: u32,
    },
    /// A line table entry names a file the file-name table does not have.
    #[error(
        "line table entry {index} (address {addr:#010x}) names file {file}, but the \
         image has only {files} file names; add the file to the file-name table"
    )]
    LineFileIndex {
        /// Line table index.
        index: usize,
        /// Its address.
        addr: u32,
        /// The file index it names.
        file: u32,
        /// How many file names the image has.
        files: usize,
    },
}
