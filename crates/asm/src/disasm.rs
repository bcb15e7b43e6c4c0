//! The disassembler: images and raw words back to assembly text that the
//! assembler turns into the same bytes.
//!
//! Labels come from the image's symbols; a branch or jump target without one
//! gets a synthesized `L_xxxxxxxx` label when it lies in a segment, and is
//! written relative to `.` otherwise. Each instruction line carries an
//! `# address: word` comment, which the assembler ignores.

use std::collections::{BTreeMap, HashSet};
use std::fmt::Write;

use vmlab_isa::{Instr, decode, relative};

use crate::image::{Image, Segment, SegmentKind};

/// Formats one instruction at `pc` for a trace: a branch or jump target is
/// shown as the label there if `image` has one, else as `.+N`.
pub fn format_instr(instr: &Instr, pc: u32, image: Option<&Image>) -> String {
    let target = |off: i32| {
        let t = pc.wrapping_add(off as u32);
        match image.and_then(|im| im.symbol_at(t)) {
            Some(sym) => sym.name.clone(),
            None => relative(off),
        }
    };
    let mut s = String::new();
    // Writing to a String cannot fail.
    let _ = instr.render(&mut s, &target);
    s
}

/// Disassembles a whole image: `.entry`, `.equ` constants, then each segment
/// with its `.section`, `.org`, labels, instructions (text) and `.word`/`.byte`
/// lines (data). Labels that lie outside every segment are written as `.equ`
/// constants, the only way to give a name that value.
pub fn disassemble(image: &Image) -> String {
    let mut out = String::from("# vmlab disassembly\n");
    let entry = match image.symbol_at(image.entry) {
        Some(sym) => sym.name.clone(),
        None => format!("{:#010x}", image.entry),
    };
    let _ = writeln!(out, ".entry {entry}");
    for sym in image.symbols.iter().filter(|s| !s.is_label) {
        let _ = writeln!(out, ".equ {}, {:#x}", sym.name, sym.value);
    }
    let labels = image
        .symbols
        .iter()
        .filter(|s| s.is_label)
        .map(|s| (s.value, s.name.clone()));
    render(&mut out, &image.segments, labels.collect());
    out
}

/// Disassembles `words` as text at `base`, without symbols (branch targets
/// inside the words get synthesized labels).
pub fn disassemble_words(base: u32, words: &[u32]) -> String {
    let seg = Segment {
        addr: base,
        kind: SegmentKind::Text,
        data: words.iter().flat_map(|w| w.to_le_bytes()).collect(),
    };
    let mut out = String::new();
    render(&mut out, &[seg], Vec::new());
    out
}

/// Which segment a label at `addr` is written in: the one containing it, or
/// one ending exactly there.
fn home(segments: &[Segment], addr: u32) -> Option<usize> {
    let a = u64::from(addr);
    segments
        .iter()
        .position(|s| s.range().contains(&a))
        .or_else(|| segments.iter().position(|s| s.range().end == a))
}

fn word_at(seg: &Segment, off: usize) -> Option<u32> {
    let b = seg.data.get(off..off + 4)?;
    Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

/// The aligned instruction words of a text segment, as (address, word).
fn text_words(seg: &Segment) -> impl Iterator<Item = (u32, u32)> + '_ {
    (0..seg.data.len())
        .filter(move |off| (u64::from(seg.addr) + *off as u64) % 4 == 0)
        .filter_map(move |off| Some((seg.addr.wrapping_add(off as u32), word_at(seg, off)?)))
}

/// The absolute target of a branch or jump at `pc`, if it does not wrap.
fn target(instr: &Instr, pc: u32) -> Option<u32> {
    match *instr {
        Instr::Branch { off, .. } | Instr::Jal { off, .. } => {
            u32::try_from(i64::from(pc) + i64::from(off)).ok()
        }
        _ => None,
    }
}

fn render(out: &mut String, segments: &[Segment], labels: Vec<(u32, String)>) {
    let mut names: BTreeMap<u32, Vec<String>> = BTreeMap::new();
    let taken: HashSet<String> = labels.iter().map(|l| l.1.clone()).collect();
    for (addr, name) in labels {
        names.entry(addr).or_default().push(name);
    }
    // Synthesize labels for branch targets that have none but can be placed.
    for seg in segments.iter().filter(|s| s.kind == SegmentKind::Text) {
        for (pc, w) in text_words(seg) {
            if let Some(t) = target(&decode(w), pc) {
                let name = format!("L_{t:08x}");
                if !names.contains_key(&t) && home(segments, t).is_some() && !taken.contains(&name)
                {
                    names.insert(t, vec![name]);
                }
            }
        }
    }
    // Labels outside every segment can only be given as constants.
    let mut placed: Vec<BTreeMap<u64, Vec<String>>> = vec![BTreeMap::new(); segments.len()];
    for (addr, list) in &names {
        match home(segments, *addr) {
            Some(i) => placed[i]
                .insert(u64::from(*addr), list.clone())
                .map_or((), drop),
            None => {
                for n in list {
                    let _ = writeln!(out, ".equ {n}, {addr:#x}    # label outside every segment");
                }
            }
        }
    }
    let label_of = |t: u32| names.get(&t).and_then(|l| l.first()).cloned();
    for (seg, labels) in segments.iter().zip(&placed) {
        let kind = if seg.kind == SegmentKind::Text {
            "text"
        } else {
            "data"
        };
        let _ = writeln!(out, "\n.section {kind}\n.org {:#010x}", seg.addr);
        let start = u64::from(seg.addr);
        let end = seg.range().end;
        let mut a = start;
        while a < end {
            for n in labels.get(&a).into_iter().flatten() {
                let _ = writeln!(out, "{n}:");
            }
            let off = (a - start) as usize;
            // A whole word is printed only where no label falls inside it.
            let is_word =
                |a: u64| a % 4 == 0 && a + 4 <= end && labels.range(a + 1..a + 4).next().is_none();
            match word_at(seg, off).filter(|_| is_word(a)) {
                Some(w) => {
                    let text = if seg.kind == SegmentKind::Text {
                        let instr = decode(w);
                        let pc = a as u32;
                        let t = |o: i32| {
                            target(&instr, pc)
                                .and_then(label_of)
                                .unwrap_or_else(|| relative(o))
                        };
                        let mut s = String::new();
                        let _ = instr.render(&mut s, &t);
                        s
                    } else {
                        format!(".word {w:#010x}")
                    };
                    let _ = writeln!(out, "    {text:<30} # {a:08x}: {w:08x}");
                    a += 4;
                }
                None => {
                    // Up to 8 bytes per line, stopping at a label or a word.
                    let mut items = vec![format!("{:#04x}", seg.data[off])];
                    a += 1;
                    while items.len() < 8 && a < end && !labels.contains_key(&a) && !is_word(a) {
                        items.push(format!("{:#04x}", seg.data[(a - start) as usize]));
                        a += 1;
                    }
                    let _ = writeln!(out, "    .byte {}", items.join(", "));
                }
            }
        }
        for n in labels.get(&end).into_iter().flatten() {
            let _ = writeln!(out, "{n}:");
        }
    }
}
