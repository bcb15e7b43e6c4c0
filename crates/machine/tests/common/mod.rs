//! Helpers shared by the machine's tests: programs built with
//! `vmlab_isa::encode` (no assembler needed) and page tables built by hand.
#![allow(dead_code, unused_imports)]

use vmlab_isa::csr::status;
use vmlab_isa::paging::{PTE_V, make_pte, vpn0, vpn1};
use vmlab_isa::{AluOp, BranchCond, Csr, ImmOp, Instr, LoadOp, Reg, Width, encode, split_hi_lo};
use vmlab_machine::{HostPhys, Machine, MachineConfig};

pub mod both_ways;

pub use vmlab_isa::Reg as R;

pub const ZERO: Reg = Reg::ZERO;
pub const A0: Reg = Reg::A0;
pub const A1: Reg = Reg::A1;
pub const A2: Reg = Reg::A2;
pub const A3: Reg = Reg::A3;
pub const T0: Reg = Reg::T0;
pub const T1: Reg = Reg::T1;
pub const T2: Reg = Reg::T2;
pub const SP: Reg = Reg::SP;
pub const RA: Reg = Reg::RA;

pub fn addi(rd: Reg, rs1: Reg, imm: i32) -> Instr {
    Instr::AluImm {
        op: ImmOp::Add,
        rd,
        rs1,
        imm,
    }
}
pub fn imm(op: ImmOp, rd: Reg, rs1: Reg, imm: i32) -> Instr {
    Instr::AluImm { op, rd, rs1, imm }
}
pub fn alu(op: AluOp, rd: Reg, rs1: Reg, rs2: Reg) -> Instr {
    Instr::Alu { op, rd, rs1, rs2 }
}
pub fn load(op: LoadOp, rd: Reg, rs1: Reg, off: i32) -> Instr {
    Instr::Load { op, rd, rs1, off }
}
pub fn lw(rd: Reg, rs1: Reg, off: i32) -> Instr {
    load(LoadOp::Lw, rd, rs1, off)
}
pub fn store(width: Width, rs2: Reg, rs1: Reg, off: i32) -> Instr {
    Instr::Store {
        width,
        rs2,
        rs1,
        off,
    }
}
pub fn sw(rs2: Reg, rs1: Reg, off: i32) -> Instr {
    store(Width::Word, rs2, rs1, off)
}
pub fn branch(cond: BranchCond, rs1: Reg, rs2: Reg, off: i32) -> Instr {
    Instr::Branch {
        cond,
        rs1,
        rs2,
        off,
    }
}
pub fn jal(rd: Reg, off: i32) -> Instr {
    Instr::Jal { rd, off }
}
pub fn jalr(rd: Reg, rs1: Reg, off: i32) -> Instr {
    Instr::Jalr { rd, rs1, off }
}
pub fn csrr(rd: Reg, csr: Csr) -> Instr {
    Instr::Csrr { rd, csr }
}
pub fn csrw(csr: Csr, rs1: Reg) -> Instr {
    Instr::Csrw { csr, rs1 }
}
pub fn inw(rd: Reg, rs1: Reg, off: i32) -> Instr {
    Instr::In {
        width: Width::Word,
        rd,
        rs1,
        off,
    }
}
pub fn outb(rs2: Reg, rs1: Reg, off: i32) -> Instr {
    Instr::Out {
        width: Width::Byte,
        rs2,
        rs1,
        off,
    }
}
pub fn outw(rs2: Reg, rs1: Reg, off: i32) -> Instr {
    Instr::Out {
        width: Width::Word,
        rs2,
        rs1,
        off,
    }
}

/// `li rd, value` as lui + addi.
pub fn li(rd: Reg, value: u32) -> Vec<Instr> {
    let (hi, lo) = split_hi_lo(value);
    vec![Instr::Lui { rd, imm: hi }, addi(rd, rd, lo)]
}

/// `csrw csr, value` through t2.
pub fn set_csr(csr: Csr, value: u32) -> Vec<Instr> {
    let mut v = li(T2, value);
    v.push(csrw(csr, T2));
    v
}

/// Encodes `prog` into words.
pub fn words(prog: &[Instr]) -> Vec<u32> {
    prog.iter().map(|i| encode(i).expect("encodable")).collect()
}

/// Writes `prog` at host-physical `addr`.
pub fn put(m: &mut Machine, addr: u32, prog: &[Instr]) {
    for (i, w) in words(prog).into_iter().enumerate() {
        m.write_phys_u32(HostPhys(addr + 4 * i as u32), w).unwrap();
    }
}

/// A default machine (1 MiB) with `prog` at address 0 and pc = 0.
pub fn machine(prog: &[Instr]) -> Machine {
    machine_with(
        prog,
        MachineConfig {
            ram_bytes: 1 << 20,
            ..MachineConfig::default()
        },
    )
}

pub fn machine_with(prog: &[Instr], config: MachineConfig) -> Machine {
    let mut m = Machine::new(config).unwrap();
    put(&mut m, 0, prog);
    m
}

/// The trap vector most tests use.
pub const TVEC: u32 = 0x8000;

/// A handler at TVEC that records cause, epc, badaddr, instret and status
/// in s0..s3/t3 and halts.
pub fn recording_handler() -> Vec<Instr> {
    vec![
        csrr(Reg::S0, Csr::Cause),
        csrr(Reg::S1, Csr::Epc),
        csrr(Reg::S2, Csr::BadAddr),
        csrr(Reg::S3, Csr::Status),
        Instr::Halt,
    ]
}

/// A page-table builder over host RAM: tables come from a bump allocator.
pub struct Tables {
    pub root: u32,
    next: u32,
}

impl Tables {
    /// A root table at `root`, further tables allocated from `pool` upward.
    pub fn new(m: &mut Machine, root: u32, pool: u32) -> Tables {
        m.write_phys(HostPhys(root), &[0; 4096]).unwrap();
        Tables { root, next: pool }
    }

    /// Maps the page at `va` to frame `pa` with `flags` (V added).
    pub fn map(&mut self, m: &mut Machine, va: u32, pa: u32, flags: u32) {
        let root_entry = self.root + vpn1(va) * 4;
        let mut r = m.read_phys_u32(HostPhys(root_entry)).unwrap();
        if r & PTE_V == 0 {
            let table = self.next;
            self.next += 4096;
            m.write_phys(HostPhys(table), &[0; 4096]).unwrap();
            r = make_pte(table, PTE_V);
            m.write_phys_u32(HostPhys(root_entry), r).unwrap();
        }
        let leaf = (r & !0xFFF) + vpn0(va) * 4;
        m.write_phys_u32(HostPhys(leaf), make_pte(pa, flags | PTE_V))
            .unwrap();
    }

    /// The leaf entry's host address for `va` (must be mapped).
    pub fn leaf_addr(&self, m: &Machine, va: u32) -> u32 {
        let r = m.read_phys_u32(HostPhys(self.root + vpn1(va) * 4)).unwrap();
        (r & !0xFFF) + vpn0(va) * 4
    }

    /// Identity-maps `pages` pages from address 0 with `flags`.
    pub fn identity(&mut self, m: &mut Machine, pages: u32, flags: u32) {
        for p in 0..pages {
            self.map(m, p << 12, p << 12, flags);
        }
    }
}

/// Status with paging on, supervisor mode.
pub const SUP_PG: u32 = status::MODE | status::PG;
