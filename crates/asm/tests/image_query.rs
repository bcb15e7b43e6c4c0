//! The lookups loaders and disassemblers use: words, symbols, source lines.

mod image_common;

use image_common::{arb_image, cases, sample};
use proptest::prelude::*;
use vmlab_asm::{Image, Segment, SegmentKind, Symbol};

#[test]
fn text_words_are_the_aligned_words_of_text_segments_only() {
    let mut image = sample();
    let words: Vec<(u32, u32)> = image.text_words().collect();
    assert_eq!(words, [(0x1000, 0x2130_002A), (0x1004, 0x7600_0000)]);

    // A misaligned head and a short tail are not instructions.
    image.segments[0] = Segment {
        addr: 0x1001,
        kind: SegmentKind::Text,
        data: vec![0xAA, 0xBB, 0xCC, 1, 2, 3, 4, 0xDD],
    };
    let words: Vec<(u32, u32)> = image.text_words().collect();
    assert_eq!(words, [(0x1004, 0x0403_0201)]);
}

#[test]
fn read_u32_reads_little_endian_words_inside_one_segment() {
    let image = sample();
    assert_eq!(image.read_u32(0x1000), Some(0x2130_002A));
    assert_eq!(image.read_u32(0x2000), Some(u32::from_le_bytes(*b"hi!\0")));
    assert_eq!(image.read_u32(0x1002), Some(0x0000_2130), "any alignment");
    assert_eq!(image.read_u32(0x1005), None, "runs off the end of the text");
    assert_eq!(image.read_u32(0x0fff), None);
    assert_eq!(image.read_u32(u32::MAX), None);
}

#[test]
fn symbol_at_finds_labels_first_by_name_and_skips_constants() {
    let mut image = sample();
    assert_eq!(
        image.symbol_at(0x1000).map(|s| s.name.as_str()),
        Some("_start")
    );
    assert_eq!(
        image.symbol_at(42),
        None,
        "ANSWER is a constant, not a place"
    );
    assert_eq!(image.symbol_at(0x1004), None);

    let alias = |name: &str, is_label| Symbol {
        name: name.into(),
        value: 0x1000,
        is_label,
    };
    image.symbols.insert(1, alias("_main", true));
    image.symbols.insert(1, alias("A_CONST", false));
    image.validate().unwrap();
    assert_eq!(
        image.symbol_at(0x1000).map(|s| s.name.as_str()),
        Some("_main")
    );
}

#[test]
fn symbol_finds_labels_and_constants_by_name() {
    let image = sample();
    assert_eq!(
        image.symbol("ANSWER").map(|s| (s.value, s.is_label)),
        Some((42, false))
    );
    assert_eq!(image.symbol("msg").map(|s| s.value), Some(0x2000));
    assert!(image.symbol("nope").is_none());
}

#[test]
fn source_of_matches_exact_addresses() {
    let image = sample();
    assert_eq!(image.source_of(0x1000), Some(("hello.s", 4)));
    assert_eq!(image.source_of(0x1004), Some(("hello.s", 5)));
    assert_eq!(image.source_of(0x2000), Some(("hello.s", 8)));
    assert_eq!(image.source_of(0x1002), None);
    assert_eq!(image.source_of(0xffff_ffff), None);
}

#[test]
fn end_is_one_past_the_highest_segment_saturating_at_4_gib() {
    let mut image = sample();
    assert_eq!(image.end(), 0x2004);
    image.segments[1].addr = 0xffff_fffc;
    assert_eq!(image.end(), u32::MAX);
    assert_eq!(Image::default().end(), 0);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases()))]

    /// Every lookup agrees with a naive scan of the same image.
    #[test]
    fn lookups_agree_with_a_linear_scan(image in arb_image(), probe in any::<u32>()) {
        let mut addrs = vec![probe, image.entry];
        addrs.extend(image.symbols.iter().map(|s| s.value));
        addrs.extend(image.lines.iter().map(|l| l.0));
        for addr in addrs {
            let label = image
                .symbols
                .iter()
                .filter(|s| s.is_label && s.value == addr)
                .min_by(|a, b| a.name.cmp(&b.name));
            prop_assert_eq!(image.symbol_at(addr), label);

            let line = image.lines.iter().find(|l| l.0 == addr);
            let want = line.map(|&(_, loc)| (image.files[loc.file as usize].as_str(), loc.line));
            prop_assert_eq!(image.source_of(addr), want);
        }
        let entry = image.read_u32(image.entry & !3);
        if let Some((_, word)) = image.text_words().find(|&(a, _)| a == image.entry & !3) {
            prop_assert_eq!(entry, Some(word));
        }
        let end = image.segments.iter().map(|s| s.range().end).max().unwrap();
        prop_assert_eq!(u64::from(image.end()), end.min(u64::from(u32::MAX)));
    }
}
