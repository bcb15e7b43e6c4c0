//! `--trace`: watching a guest run, one step at a time.
//!
//! Tracing single-steps the machine (`run(1)` is one instruction or one trap
//! entry), so it shows exactly what happened at each step; it is slow, which
//! is fine for the few thousand instructions a student reads.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::str::FromStr;

use vmlab_asm::Image;
use vmlab_isa::{Cause, Csr, Reg, decode};
use vmlab_machine::{Counters, GuestVirt, Machine, Mode};

/// The trace categories, as `--trace a,b` takes them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TraceSet {
    /// Each instruction with its address, source line and the registers it changed.
    pub insns: bool,
    /// Each trap and interrupt.
    pub traps: bool,
    /// Each exit or monitor trap: reason, guest pc, source line, what the
    /// monitor did and its modeled cost (workloads under a monitor).
    pub exits: bool,
    /// Each hypercall with its arguments, result and modeled cost (pv
    /// kernels and PV_IO drivers).
    pub hypercalls: bool,
    /// Each kernel block the first time the binary translator translates it,
    /// and each adaptive retranslation (bt mode).
    pub bt: bool,
}

/// Every category name, for help and errors.
pub const CATEGORIES: &[&str] = &["insns", "traps", "exits", "hypercalls", "bt"];

impl FromStr for TraceSet {
    type Err = String;
    fn from_str(s: &str) -> Result<TraceSet, String> {
        let mut set = TraceSet::default();
        for cat in s.split(',').map(str::trim).filter(|c| !c.is_empty()) {
            match cat {
                "insns" => set.insns = true,
                "traps" => set.traps = true,
                "exits" => set.exits = true,
                "hypercalls" => set.hypercalls = true,
                "bt" => set.bt = true,
                other => {
                    return Err(format!(
                        "unknown trace category `{other}`; the categories are: {}",
                        CATEGORIES.join(", ")
                    ));
                }
            }
        }
        Ok(set)
    }
}

impl TraceSet {
    /// True when the bare machine must single-step (insns or traps).
    pub fn any(&self) -> bool {
        self.insns || self.traps
    }
}

/// Source text of the files an image names, read lazily for trace lines.
#[derive(Debug, Default)]
pub struct Sources {
    files: HashMap<String, Option<Vec<String>>>,
}

impl Sources {
    /// `file:line  text` for an address, when the image has a line entry.
    pub fn describe(&mut self, image: &Image, addr: u32) -> Option<String> {
        let (file, line) = image.source_of(addr)?;
        let lines = self.files.entry(file.to_string()).or_insert_with(|| {
            std::fs::read_to_string(file)
                .ok()
                .map(|t| t.lines().map(str::to_string).collect())
        });
        let text = lines
            .as_ref()
            .and_then(|l| l.get(line as usize - 1))
            .map(|t| t.trim().to_string())
            .unwrap_or_default();
        let short = std::path::Path::new(file)
            .file_name()
            .map_or(file.into(), |f| f.to_string_lossy());
        Some(format!("{short}:{line}  {text}"))
    }
}

fn trap_total(c: &Counters) -> u64 {
    c.traps.iter().sum::<u64>() + c.interrupts.iter().sum::<u64>()
}

/// One traced step: runs `run(1)` and prints what happened. Returns the exit.
pub fn step(
    m: &mut Machine,
    image: &Image,
    set: TraceSet,
    sources: &mut Sources,
) -> vmlab_machine::Exit {
    let pc = m.pc();
    let mode = m.mode();
    let before: Vec<u32> = Reg::all().map(|r| m.reg(r)).collect();
    let traps_before = trap_total(&m.counters());
    let instret_before = m.instret();
    let word = m.read_u32_virt(GuestVirt(pc));
    let exit = m.run(1);
    let trapped = trap_total(&m.counters()) != traps_before;
    if trapped {
        if set.traps {
            let cause = m.csr(Csr::Cause);
            let name = Cause::from_code(cause)
                .map_or_else(|| format!("cause {cause:#x}"), |c| c.to_string());
            println!(
                "trap  {name} at pc {:#010x} (badaddr {:#010x}) -> vector {:#010x}",
                m.csr(Csr::Epc),
                m.csr(Csr::BadAddr),
                m.pc()
            );
        }
        return exit;
    }
    if set.insns && m.instret() > instret_before {
        let text = match word {
            Some(w) => vmlab_asm::format_instr(&decode(w), pc, Some(image)),
            None => "<unmapped>".to_string(),
        };
        let mut line = format!(
            "{pc:08x} {} {text:<28}",
            if mode == Mode::User { "u" } else { "s" }
        );
        let mut changes = String::new();
        for r in Reg::all() {
            let new = m.reg(r);
            if new != before[r.index()] {
                let _ = write!(changes, " {r}={new:#x}");
            }
        }
        let _ = write!(line, "{changes:<24}");
        if let Some(src) = sources.describe(image, pc) {
            let _ = write!(line, "  | {src}");
        }
        println!("{}", line.trim_end());
    }
    exit
}
