//! Keeps the worked example in `docs/image-format.md` true: the annotated dump
//! there is regenerated here, field by field from the spec, and must match
//! both the document and `Image::to_bytes`.

mod image_common;

use std::fmt::Write as _;

use image_common::sample;
use vmlab_asm::{Image, SegmentKind};

/// An annotated hex dump built one field at a time.
#[derive(Default)]
struct Dump {
    text: String,
    bytes: Vec<u8>,
}

impl Dump {
    fn field(&mut self, bytes: &[u8], what: &str) {
        let hex: Vec<String> = bytes.iter().map(|b| format!("{b:02x}")).collect();
        writeln!(
            self.text,
            "{:04x}  {:<20}  {what}",
            self.bytes.len(),
            hex.join(" ")
        )
        .unwrap();
        self.bytes.extend_from_slice(bytes);
    }

    fn u32(&mut self, value: u32, what: &str) {
        self.field(&value.to_le_bytes(), what);
    }

    fn name(&mut self, who: &str, name: &str) {
        self.u32(
            name.len() as u32,
            &format!("{who}: name length {}", name.len()),
        );
        self.field(name.as_bytes(), &format!("{who}: name {name:?}"));
    }
}

/// Writes `image` the way `docs/image-format.md` specifies, independently of
/// `to_bytes`.
fn annotate(image: &Image) -> Dump {
    let mut d = Dump::default();
    d.field(b"VMLB", "magic \"VMLB\"");
    d.field(&1u16.to_le_bytes(), "format version 1");
    d.field(&0u16.to_le_bytes(), "flags (reserved, 0)");
    d.u32(image.entry, &format!("entry point {:#010x}", image.entry));
    d.u32(image.segments.len() as u32, "segment count");
    d.u32(image.symbols.len() as u32, "symbol count");
    d.u32(image.files.len() as u32, "file count");
    d.u32(image.lines.len() as u32, "line count");

    let mut offset = 28 + 16 * image.segments.len();
    for (i, seg) in image.segments.iter().enumerate() {
        let (code, kind) = match seg.kind {
            SegmentKind::Text => (0, "text"),
            SegmentKind::Data => (1, "data"),
        };
        d.u32(seg.addr, &format!("segment {i}: addr {:#010x}", seg.addr));
        d.u32(code, &format!("segment {i}: kind {code} ({kind})"));
        d.u32(
            seg.data.len() as u32,
            &format!("segment {i}: length {}", seg.data.len()),
        );
        d.u32(
            offset as u32,
            &format!("segment {i}: file offset {offset} ({offset:#x})"),
        );
        offset += seg.data.len();
    }
    for (i, seg) in image.segments.iter().enumerate() {
        if seg.kind == SegmentKind::Text {
            for (word, at) in seg.data.chunks(4).zip((seg.addr..).step_by(4)) {
                let instr = vmlab_isa::decode(u32::from_le_bytes(word.try_into().unwrap()));
                d.field(word, &format!("segment {i} bytes: {at:#010x}: {instr}"));
            }
        } else {
            d.field(
                &seg.data,
                &format!("segment {i} bytes: \"{}\"", seg.data.escape_ascii()),
            );
        }
    }
    for (i, sym) in image.symbols.iter().enumerate() {
        let who = format!("symbol {i}");
        d.name(&who, &sym.name);
        d.u32(
            sym.value,
            &format!("{who}: value {} ({:#x})", sym.value, sym.value),
        );
        let kind = if sym.is_label {
            "1 (label)"
        } else {
            "0 (constant)"
        };
        d.field(
            &[u8::from(sym.is_label)],
            &format!("{who}: is_label {kind}"),
        );
    }
    for (i, file) in image.files.iter().enumerate() {
        d.name(&format!("file {i}"), file);
    }
    for (i, &(addr, loc)) in image.lines.iter().enumerate() {
        d.u32(addr, &format!("line {i}: addr {addr:#010x}"));
        d.u32(loc.file, &format!("line {i}: file index {}", loc.file));
        d.u32(loc.line, &format!("line {i}: line {}", loc.line));
    }
    d
}

#[test]
fn the_spec_walkthrough_agrees_with_to_bytes() {
    let image = sample();
    assert_eq!(annotate(&image).bytes, image.to_bytes());
}

#[test]
fn the_documented_dump_is_current() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/image-format.md");
    let doc = std::fs::read_to_string(path).expect("docs/image-format.md is readable");
    let dump = annotate(&sample()).text;
    // The dump is the whole fenced block that starts with the header's row.
    let start = doc
        .find("\n0000  ")
        .expect("the doc has a dump starting at offset 0000")
        + 1;
    let len = doc[start..]
        .find("```")
        .expect("the dump's block is closed");
    assert!(
        doc[start..start + len] == dump,
        "docs/image-format.md's example dump is stale; replace it with:\n{dump}"
    );
}
