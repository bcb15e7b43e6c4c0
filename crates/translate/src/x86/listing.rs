//! The iced-x86 formatter listing of a compiled block.

use iced_x86::{Decoder, DecoderOptions, Formatter, IntelFormatter};

use crate::backend::BlockId;
use crate::ir::Op;

use super::{Mark, X86Backend};

/// A guest instruction's text for listings.
pub(super) fn describe_op(o: &crate::ir::TOp) -> String {
    match o.op {
        Op::Guest(i) => format!("{i}"),
        Op::Native(i) => format!("{i}   [native]"),
        Op::Callout(k, i) => format!("{i}   [callout {}]", k.name()),
        Op::PteStore(i) => format!("{i}   [pte-write]"),
        Op::Inline(op) => format!("{op}   [inline]"),
    }
}

/// The host disassembly of block `id` beside its guest code, QEMU
/// `in_asm`/`out_asm` style: guest instructions as `;;` headers, callouts
/// into Rust and chain points marked.
pub fn listing(backend: &X86Backend, id: BlockId) -> Vec<String> {
    let Some(Some(b)) = backend.slots.get(id) else {
        return Vec::new();
    };
    let guest = |i: usize| {
        let o = &b.t.ops[i];
        format!(";; {:#010x}: {}", o.pc, describe_op(o))
    };
    let mut out = Vec::new();
    let Some(h) = &b.host else {
        out.push(format!(
            ";; block {id} at {:#010x} ({} guest instrs, {})",
            b.va,
            b.len,
            if b.native {
                "no host code yet: not hot, runs through the portable backend"
            } else {
                "runs through the portable backend"
            }
        ));
        out.extend((0..b.t.ops.len()).map(guest));
        return out;
    };
    out.push(format!(
        ";; block {id} at {:#010x} ({} guest instrs, {} host bytes)",
        b.va,
        b.len,
        h.code.bytes().len(),
    ));
    let base = h.code.addr();
    let mut decoder = Decoder::with_ip(64, h.code.bytes(), base, DecoderOptions::NONE);
    let mut fmt = IntelFormatter::new();
    let mut marks = h.marks.iter().peekable();
    let mut text = String::new();
    let mut note = String::new();
    for instr in &mut decoder {
        let o = instr.ip() - base;
        while let Some((mo, m)) = marks.peek() {
            if *mo > o {
                break;
            }
            match m {
                Mark::Guest(i) => out.push(guest(*i)),
                Mark::Entry(s) => out.push(format!(";; {s}")),
                Mark::Callout(s) => note = format!("   <- callout: {s}"),
                Mark::Chain(k) => note = format!("   <- chain point: exit {k}"),
            }
            marks.next();
        }
        if instr.code() == iced_x86::Code::Nopd {
            continue;
        }
        text.clear();
        fmt.format(&instr, &mut text);
        out.push(format!("  {:6x}  {text}{note}", o));
        note.clear();
    }
    out
}
