//! The image format: round trips, truncation and corruption of random images,
//! and one table row per validation rule.

mod image_common;

use image_common::{arb_image, cases, sample};
use proptest::prelude::*;
use vmlab_asm::format::Table;
use vmlab_asm::{Image, ImageError};

/// Where each table of the sample image starts and ends (see
/// `docs/image-format.md`, whose dump test pins the same layout).
const SAMPLE_REGIONS: [(Table, std::ops::Range<usize>); 6] = [
    (Table::Header, 0..28),
    (Table::Segments, 28..60),
    (Table::SegmentData, 60..72),
    (Table::Symbols, 72..114),
    (Table::Files, 114..125),
    (Table::Lines, 125..161),
];

/// The table an error about a file's layout names, if any.
fn table_of(err: &ImageError) -> Option<Table> {
    match err {
        ImageError::Truncated { table, .. } | ImageError::CountTooLarge { table, .. } => {
            Some(*table)
        }
        _ => None,
    }
}

#[test]
fn sample_round_trips_and_has_the_documented_size() {
    let image = sample();
    let bytes = image.to_bytes();
    assert_eq!(bytes.len(), SAMPLE_REGIONS[5].1.end);
    assert_eq!(Image::from_bytes(&bytes).unwrap(), image);
}

#[test]
fn every_truncation_of_the_sample_names_the_table_it_cuts() {
    let bytes = sample().to_bytes();
    for len in 0..bytes.len() {
        let err = Image::from_bytes(&bytes[..len]).expect_err("a prefix must not load");
        // The first missing byte is at `len`, so the error must blame its table.
        let (want, _) = SAMPLE_REGIONS
            .iter()
            .find(|(_, r)| r.contains(&len))
            .unwrap();
        assert_eq!(table_of(&err), Some(*want), "prefix of {len} bytes: {err}");
        assert!(
            err.to_string().contains("offset"),
            "prefix of {len} bytes: {err}"
        );
    }
}

/// A corruption of the sample's bytes and what the loader must say about it.
struct ByteRule {
    rule: &'static str,
    corrupt: fn(&mut Vec<u8>),
    expect: fn(&ImageError) -> bool,
    mentions: &'static [&'static str],
}

fn put(bytes: &mut [u8], offset: usize, value: u32) {
    bytes[offset..offset + 4].copy_from_slice(&value.to_le_bytes());
}

const BYTE_RULES: &[ByteRule] = &[
    ByteRule {
        rule: "bad magic",
        corrupt: |b| b[..4].copy_from_slice(b"\x7fELF"),
        expect: |e| matches!(e, ImageError::BadMagic { found } if found == b"\x7fELF"),
        mentions: &["not a vmlab image", "expected magic VMLB", "\\x7fELF"],
    },
    ByteRule {
        rule: "short file that is not an image",
        corrupt: |b| *b = b"hi".to_vec(),
        expect: |e| matches!(e, ImageError::BadMagic { found } if found == b"hi"),
        mentions: &["found \"hi\""],
    },
    ByteRule {
        rule: "unsupported version",
        corrupt: |b| b[4] = 2,
        expect: |e| matches!(e, ImageError::UnsupportedVersion { found: 2 }),
        mentions: &["version 2", "version 1 only"],
    },
    ByteRule {
        rule: "reserved flags set",
        corrupt: |b| b[6] = 0x80,
        expect: |e| matches!(e, ImageError::ReservedFlags { flags: 0x80 }),
        mentions: &["0x0080", "offset 6"],
    },
    ByteRule {
        rule: "truncated mid-field",
        corrupt: |b| b.truncate(100),
        expect: |e| {
            matches!(
                e,
                ImageError::Truncated {
                    table: Table::Symbols,
                    offset: 97,
                    needed: 4,
                    available: 3
                }
            )
        },
        mentions: &["symbol table", "offset 97"],
    },
    ByteRule {
        rule: "segment count that overflows the file",
        corrupt: |b| put(b, 12, u32::MAX),
        expect: |e| {
            matches!(
                e,
                ImageError::CountTooLarge {
                    table: Table::Segments,
                    count: u32::MAX,
                    ..
                }
            )
        },
        mentions: &["segment table count 4294967295", "offset 28"],
    },
    ByteRule {
        rule: "line count larger than the rest of the file",
        corrupt: |b| put(b, 24, 4),
        expect: |e| {
            matches!(
                e,
                ImageError::CountTooLarge {
                    table: Table::Lines,
                    count: 4,
                    offset: 125,
                    ..
                }
            )
        },
        mentions: &["line table count 4", "48 bytes", "only 36"],
    },
    ByteRule {
        rule: "unknown segment kind",
        corrupt: |b| put(b, 32, 7),
        expect: |e| {
            matches!(
                e,
                ImageError::BadSegmentKind {
                    index: 0,
                    offset: 32,
                    kind: 7
                }
            )
        },
        mentions: &["segment 0", "kind 7", "offset 32"],
    },
    ByteRule {
        rule: "segment bytes not where the table says",
        corrupt: |b| put(b, 56, 99),
        expect: |e| {
            matches!(
                e,
                ImageError::SegmentOffset {
                    index: 1,
                    offset: 56,
                    found: 99,
                    expected: 68
                }
            )
        },
        mentions: &["segment 1", "offset 99", "start at 68"],
    },
    ByteRule {
        rule: "is_label neither 0 nor 1",
        corrupt: |b| b[101] = 2,
        expect: |e| {
            matches!(
                e,
                ImageError::BadLabelFlag {
                    index: 1,
                    offset: 101,
                    value: 2
                }
            )
        },
        mentions: &["symbol 1", "is_label byte 2", "offset 101"],
    },
    ByteRule {
        rule: "symbol name not UTF-8",
        corrupt: |b| b[91] = 0xff,
        expect: |e| {
            matches!(
                e,
                ImageError::BadUtf8 {
                    table: Table::Symbols,
                    index: 1,
                    offset: 91
                }
            )
        },
        mentions: &["symbol table entry 1", "offset 91", "UTF-8"],
    },
    ByteRule {
        rule: "file name not UTF-8",
        corrupt: |b| b[118] = 0xc3,
        expect: |e| {
            matches!(
                e,
                ImageError::BadUtf8 {
                    table: Table::Files,
                    index: 0,
                    offset: 118
                }
            )
        },
        mentions: &["file-name table entry 0", "offset 118"],
    },
    ByteRule {
        rule: "trailing garbage",
        corrupt: |b| b.extend_from_slice(&[0, 0, 0]),
        expect: |e| {
            matches!(
                e,
                ImageError::TrailingBytes {
                    offset: 161,
                    count: 3
                }
            )
        },
        mentions: &["3 unexpected bytes", "offset 161"],
    },
];

#[test]
fn each_byte_level_rule_is_enforced_with_a_specific_message() {
    let good = sample().to_bytes();
    for row in BYTE_RULES {
        let mut bytes = good.clone();
        (row.corrupt)(&mut bytes);
        let err = Image::from_bytes(&bytes).expect_err(row.rule);
        assert!((row.expect)(&err), "{}: wrong error {err:?}", row.rule);
        let message = err.to_string();
        for needle in row.mentions {
            assert!(
                message.contains(needle),
                "{}: {message:?} lacks {needle:?}",
                row.rule
            );
        }
    }
}

/// A change to the sample image that breaks a content rule.
struct ContentRule {
    rule: &'static str,
    break_it: fn(&mut Image),
    expect: fn(&ImageError) -> bool,
    mentions: &'static [&'static str],
}

const CONTENT_RULES: &[ContentRule] = &[
    ContentRule {
        rule: "empty segment",
        break_it: |i| i.segments[1].data.clear(),
        expect: |e| {
            matches!(
                e,
                ImageError::EmptySegment {
                    index: 1,
                    addr: 0x2000
                }
            )
        },
        mentions: &["segment 1", "0x00002000", "empty"],
    },
    ContentRule {
        rule: "segment past 4 GiB",
        break_it: |i| i.segments[1].addr = 0xffff_fffe,
        expect: |e| {
            matches!(
                e,
                ImageError::SegmentWraps {
                    index: 1,
                    addr: 0xffff_fffe,
                    len: 4
                }
            )
        },
        mentions: &["segment 1", "0xfffffffe", "4 GiB"],
    },
    ContentRule {
        rule: "segment one byte past 4 GiB",
        break_it: |i| i.segments[1].addr = 0xffff_fffd,
        expect: |e| {
            matches!(
                e,
                ImageError::SegmentWraps {
                    index: 1,
                    addr: 0xffff_fffd,
                    ..
                }
            )
        },
        mentions: &["0xfffffffd"],
    },
    ContentRule {
        rule: "overlapping segments",
        break_it: |i| i.segments[1].addr = 0x1004,
        expect: |e| {
            matches!(
                e,
                ImageError::SegmentOverlap {
                    first: 0,
                    second: 1,
                    ..
                }
            )
        },
        mentions: &[
            "segment 0 [0x00001000, 0x00001008)",
            "segment 1 [0x00001004, 0x00001008)",
        ],
    },
    ContentRule {
        rule: "segments out of order",
        break_it: |i| i.segments[1].addr = 0x0800,
        expect: |e| {
            matches!(
                e,
                ImageError::SegmentsUnsorted {
                    index: 1,
                    addr: 0x800,
                    ..
                }
            )
        },
        mentions: &["segment 1 at 0x00000800", "segment 0 at 0x00001000"],
    },
    ContentRule {
        rule: "entry in a data segment",
        break_it: |i| i.entry = 0x2000,
        expect: |e| matches!(e, ImageError::EntryOutsideText { entry: 0x2000 }),
        mentions: &["entry point 0x00002000", "text segment"],
    },
    ContentRule {
        rule: "entry one past the text",
        break_it: |i| i.entry = 0x1008,
        expect: |e| matches!(e, ImageError::EntryOutsideText { entry: 0x1008 }),
        mentions: &["entry point 0x00001008"],
    },
    ContentRule {
        rule: "no segments at all",
        break_it: |i| *i = Image::default(),
        expect: |e| matches!(e, ImageError::EntryOutsideText { entry: 0 }),
        mentions: &["entry point 0x00000000"],
    },
    ContentRule {
        rule: "symbols out of order",
        break_it: |i| i.symbols.swap(1, 2),
        expect: |e| matches!(e, ImageError::SymbolsUnsorted { index: 2, name } if name == "_start"),
        mentions: &["symbol 2 `_start`", "sort symbols"],
    },
    ContentRule {
        rule: "line names a missing file",
        break_it: |i| i.lines[2].1.file = 5,
        expect: |e| {
            matches!(
                e,
                ImageError::LineFileIndex {
                    index: 2,
                    file: 5,
                    files: 1,
                    ..
                }
            )
        },
        mentions: &["line table entry 2", "file 5", "only 1"],
    },
    ContentRule {
        rule: "lines out of order",
        break_it: |i| i.lines.swap(0, 1),
        expect: |e| {
            matches!(
                e,
                ImageError::LinesUnsorted {
                    index: 1,
                    addr: 0x1000,
                    ..
                }
            )
        },
        mentions: &["line table entry 1", "0x00001004"],
    },
];

#[test]
fn each_content_rule_is_enforced_alike_by_validate_and_the_loader() {
    for row in CONTENT_RULES {
        let mut image = sample();
        (row.break_it)(&mut image);
        let err = image.validate().expect_err(row.rule);
        assert!((row.expect)(&err), "{}: wrong error {err:?}", row.rule);
        let message = err.to_string();
        for needle in row.mentions {
            assert!(
                message.contains(needle),
                "{}: {message:?} lacks {needle:?}",
                row.rule
            );
        }
        // The loader applies the same rules to the same image on disk.
        let loaded = Image::from_bytes(&image.to_bytes()).expect_err(row.rule);
        assert_eq!(loaded.to_string(), message, "{}", row.rule);
    }
}

#[test]
fn files_save_load_and_name_their_path_on_failure() {
    let dir = std::env::temp_dir().join(format!("vmlab-image-format-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("sample.vmlb");
    sample().save_file(&path).unwrap();
    assert_eq!(Image::load_file(&path).unwrap(), sample());

    let missing = dir.join("missing.vmlb");
    let err = Image::load_file(&missing).unwrap_err();
    assert!(
        matches!(&err, ImageError::Io { path, .. } if *path == missing),
        "{err:?}"
    );
    assert!(err.to_string().contains("missing.vmlb"), "{err}");

    // An invalid image is refused before anything is written.
    let bad = dir.join("bad.vmlb");
    let err = Image::default().save_file(&bad).unwrap_err();
    assert!(
        matches!(err, ImageError::EntryOutsideText { .. }),
        "{err:?}"
    );
    assert!(!bad.exists());

    let err = sample()
        .save_file(&dir.join("no-such-dir").join("x.vmlb"))
        .unwrap_err();
    assert!(err.to_string().contains("no-such-dir"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases()))]

    #[test]
    fn random_images_round_trip(image in arb_image()) {
        prop_assert_eq!(image.validate().map_err(|e| e.to_string()), Ok(()));
        let bytes = image.to_bytes();
        prop_assert_eq!(Image::from_bytes(&bytes).unwrap(), image);
    }

    #[test]
    fn every_prefix_of_a_random_image_is_refused(image in arb_image()) {
        let bytes = image.to_bytes();
        for len in 0..bytes.len() {
            let err = Image::from_bytes(&bytes[..len]);
            prop_assert!(err.as_ref().is_err_and(|e| table_of(e).is_some()), "{len}: {err:?}");
        }
    }

    /// Flipped bytes never panic, and anything still accepted is the exact
    /// encoding of what was loaded: the format has one spelling per image.
    #[test]
    fn flipped_bytes_never_panic(
        image in arb_image(),
        flips in prop::collection::vec((any::<prop::sample::Index>(), 1u8..), 1..6),
    ) {
        let mut bytes = image.to_bytes();
        for (at, mask) in flips {
            let i = at.index(bytes.len());
            bytes[i] ^= mask;
        }
        if let Ok(loaded) = Image::from_bytes(&bytes) {
            prop_assert_eq!(loaded.to_bytes(), bytes);
        }
    }

    /// Random tables behind a valid header with small counts, so the table
    /// readers (not just the count checks) see garbage.
    #[test]
    fn random_tables_never_panic(
        entry in any::<u32>(),
        counts in [0u32..4, 0u32..4, 0u32..4, 0u32..4],
        tail in prop::collection::vec(any::<u8>(), 0..256),
    ) {
        let mut bytes = b"VMLB\x01\x00\x00\x00".to_vec();
        for field in [entry].iter().chain(&counts) {
            bytes.extend_from_slice(&field.to_le_bytes());
        }
        bytes.extend_from_slice(&tail);
        if let Ok(loaded) = Image::from_bytes(&bytes) {
            prop_assert_eq!(loaded.to_bytes(), bytes);
        }
    }
}
