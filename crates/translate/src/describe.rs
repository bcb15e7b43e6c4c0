//! Showing translations: `vmlab translate IMAGE --addr A` and `--trace bt`.

use std::fmt::Write;

use vmlab_asm::{Image, format_instr};
use vmlab_isa::{Instr, Profile, decode, paging::PAGE_SIZE};

use crate::error::TranslateError;
use crate::ir::{BlockEnd, Op, Privilege, Translation};
use crate::translate::{Source, translate};

/// Translates the kernel block at `addr` of `image` offline (as if its
/// bytes were at host address `addr`) and shows it: the guest address and
/// source line, each guest instruction beside its translation with callouts
/// and inline operations marked, and the block's exits.
pub fn describe_block(
    image: &Image,
    addr: u32,
    profile: Profile,
) -> Result<String, TranslateError> {
    if addr & 3 != 0 {
        return Err(TranslateError::Misaligned { addr });
    }
    let page_end = (addr | (PAGE_SIZE - 1)).wrapping_add(1);
    let mut code = Vec::new();
    let mut a = addr;
    while a != page_end {
        match image.read_u32(a) {
            Some(w) => code.extend_from_slice(&w.to_le_bytes()),
            None => break,
        }
        a = a.wrapping_add(4);
    }
    if code.is_empty() {
        return Err(TranslateError::NotInImage { addr });
    }
    let src = Source {
        va: addr,
        hpa: addr,
        generation: 0,
        code: &code,
    };
    let t = translate(src, Privilege::Supervisor, &|_| false);
    Ok(render_translation(&t, Some(image), profile))
}

/// Renders a translation (for `describe_block` and `--trace bt`): guest
/// code on the left, translated form on the right, `CALLOUT` and `inline`
/// marked; `image` adds labels and source lines.
pub fn render_translation(t: &Translation, image: Option<&Image>, profile: Profile) -> String {
    let mut out = String::new();
    let who = match t.privilege {
        Privilege::Supervisor => "kernel, translated",
        Privilege::User => "user, direct",
    };
    let _ = write!(
        out,
        "block {:#010x} (host {:#010x}, {who}, {profile})",
        t.va, t.hpa
    );
    if let Some(sym) = image.and_then(|im| im.symbol_at(t.va)) {
        let _ = write!(out, " <{}>", sym.name);
    }
    if let Some((file, line)) = image.and_then(|im| im.source_of(t.va)) {
        let _ = write!(out, " at {file}:{line}");
    }
    out.push('\n');
    for o in &t.ops {
        let instr = decode(o.word);
        let guest = format_instr(&instr, o.pc, image);
        let (mark, text) = describe_op(o.op, instr, profile);
        let _ = writeln!(out, "  {:#010x}  {guest:<28} {mark:<8} {text}", o.pc);
    }
    let exits = match t.end {
        BlockEnd::FallThrough { next } => format!("fall through to {next:#010x} (chain 0)"),
        BlockEnd::Branch { taken, next } => {
            format!("taken {taken:#010x} (chain 0), not taken {next:#010x} (chain 1)")
        }
        BlockEnd::Jump { target } => format!("jump {target:#010x} (chain 0)"),
        BlockEnd::Indirect => "indirect: target looked up in the translation cache".into(),
        BlockEnd::Leave => "leaves translated code (monitor or machine decides)".into(),
    };
    let (callouts, inline) = t.sensitive_ops();
    let _ = writeln!(
        out,
        "  exit: {exits}; {callouts} callout(s), {inline} inline op(s)"
    );
    out
}

/// The mark and right-hand text for one op.
fn describe_op(op: Op, instr: Instr, profile: Profile) -> (&'static str, String) {
    let note = if instr.is_sensitive_unprivileged(profile) {
        " (sensitive, unprivileged on this profile: would misbehave natively)"
    } else {
        ""
    };
    match op {
        Op::Guest(_) => ("=", "kept".into()),
        Op::Inline(i) => ("inline", format!("{i}{note}")),
        Op::Callout(kind, _) => ("CALLOUT", format!("{}{note}", kind.name())),
        Op::PteStore(_) => (
            "CALLOUT",
            "pte-write while the page is protected (adaptive)".into(),
        ),
        Op::Native(_) => ("native", "as the hardware runs it (traps)".into()),
    }
}
