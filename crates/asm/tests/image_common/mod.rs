//! Images shared by the `image_*` tests: a fixed sample and a generator.

// Each test binary compiles this module and uses only part of it.
#![allow(dead_code)]

use proptest::prelude::*;
use proptest::sample::Index;
use vmlab_asm::{Image, Segment, SegmentKind, SourceLoc, Symbol};
use vmlab_isa::{ImmOp, Instr, Reg, encode};

/// Proptest cases: 256, or 20,000 when `VMLAB_LONG` is set for a soak run.
pub fn cases() -> u32 {
    if std::env::var_os("VMLAB_LONG").is_some() {
        20_000
    } else {
        256
    }
}

fn sym(name: &str, value: u32, is_label: bool) -> Symbol {
    Symbol {
        name: name.to_owned(),
        value,
        is_label,
    }
}

/// A line table entry for `hello.s` (file 0).
fn line(addr: u32, line: u32) -> (u32, SourceLoc) {
    (addr, SourceLoc { file: 0, line })
}

/// `hello.s`: two instructions (`addi a0, zero, 42`; `halt`), a data word, and one of each kind of symbol.
/// `docs/image-format.md` dumps this image byte by byte.
pub fn sample() -> Image {
    let addi = Instr::AluImm {
        op: ImmOp::Add,
        rd: Reg::A0,
        rs1: Reg::ZERO,
        imm: 42,
    };
    let words = [encode(&addi).unwrap(), encode(&Instr::Halt).unwrap()];
    let text = words.iter().flat_map(|w| w.to_le_bytes()).collect();
    Image {
        entry: 0x1000,
        segments: vec![
            Segment {
                addr: 0x1000,
                kind: SegmentKind::Text,
                data: text,
            },
            Segment {
                addr: 0x2000,
                kind: SegmentKind::Data,
                data: b"hi!\0".to_vec(),
            },
        ],
        symbols: vec![
            sym("ANSWER", 42, false),
            sym("_start", 0x1000, true),
            sym("msg", 0x2000, true),
        ],
        files: vec!["hello.s".to_owned()],
        lines: vec![line(0x1000, 4), line(0x1004, 5), line(0x2000, 8)],
    }
}

/// One segment before layout: gap after the previous one, kind, bytes.
fn arb_segment() -> impl Strategy<Value = (u32, bool, Vec<u8>)> {
    (
        prop_oneof![Just(0u32), 0u32..64, 0u32..0x10_0000, any::<u32>()],
        any::<bool>(),
        prop::collection::vec(any::<u8>(), 1..40),
    )
}

/// Valid images: sorted non-overlapping segments (some ending exactly at
/// 4 GiB), the entry inside text, sorted symbols and lines.
pub fn arb_image() -> impl Strategy<Value = Image> {
    let base = prop_oneof![
        any::<u32>(),
        0u32..0x1_0000,
        (0u32..64).prop_map(|d| u32::MAX - d)
    ];
    let segments = (base, prop::collection::vec(arb_segment(), 1..6));
    let name = prop_oneof!["[A-Za-z_.][A-Za-z0-9_.$]{0,10}", "\\PC{0,6}"];
    let symbols = prop::collection::vec((name, any::<u32>(), any::<bool>()), 0..8);
    let files = prop::collection::vec("\\PC{0,12}", 0..4);
    let lines = prop::collection::vec((any::<u32>(), any::<Index>(), any::<u32>()), 0..10);
    (segments, symbols, files, lines, any::<(Index, Index)>()).prop_map(
        |((base, raw), symbols, files, lines, (pick_seg, pick_byte))| {
            let segments = lay_out(base, raw);
            let texts: Vec<&Segment> = segments
                .iter()
                .filter(|s| s.kind == SegmentKind::Text)
                .collect();
            let seg = texts[pick_seg.index(texts.len())];
            let entry = seg.addr + pick_byte.index(seg.data.len()) as u32;

            let mut symbols: Vec<Symbol> = symbols
                .into_iter()
                .map(|(name, value, is_label)| Symbol {
                    name,
                    value,
                    is_label,
                })
                .collect();
            symbols.sort_by(|a, b| (a.value, &a.name).cmp(&(b.value, &b.name)));

            // Lines need a file to name, so an image without files has none.
            let mut lines: Vec<(u32, SourceLoc)> = if files.is_empty() {
                Vec::new()
            } else {
                lines
                    .into_iter()
                    .map(|(addr, file, line)| {
                        (
                            addr,
                            SourceLoc {
                                file: file.index(files.len()) as u32,
                                line,
                            },
                        )
                    })
                    .collect()
            };
            lines.sort_by_key(|&(addr, _)| addr);
            Image {
                entry,
                segments,
                symbols,
                files,
                lines,
            }
        },
    )
}

/// Places segments upward from `base`, clipping at 4 GiB; the first is text
/// so that the entry point has somewhere to be.
fn lay_out(base: u32, raw: Vec<(u32, bool, Vec<u8>)>) -> Vec<Segment> {
    const TOP: u64 = 1 << 32;
    let mut segments = Vec::new();
    let mut next = u64::from(base);
    for (i, (gap, is_data, mut data)) in raw.into_iter().enumerate() {
        let addr = if i == 0 { next } else { next + u64::from(gap) };
        if addr >= TOP {
            break;
        }
        data.truncate((TOP - addr).min(data.len() as u64) as usize);
        next = addr + data.len() as u64;
        let kind = if is_data && i > 0 {
            SegmentKind::Data
        } else {
            SegmentKind::Text
        };
        segments.push(Segment {
            addr: addr as u32,
            kind,
            data,
        });
    }
    segments
}
