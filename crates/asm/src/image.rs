//! The assembled program: segments, entry point, symbols and a line map.

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
