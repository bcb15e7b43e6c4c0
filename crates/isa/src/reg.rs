//! The sixteen general registers and their ABI names.

use std::fmt;

/// A general register, `r0`..`r15`. `r0` always reads as zero and ignores writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Reg(u8);

/// ABI names, indexed by register number (docs/isa.md, "Registers").
pub const ABI_NAMES: [&str; 16] = [
    "zero", "ra", "sp", "a0", "a1", "a2", "a3", "a4", "t0", "t1", "t2", "t3", "s0", "s1", "s2",
    "s3",
];

impl Reg {
    /// Number of general registers.
    pub const COUNT: usize = 16;
    /// `r0`: hard-wired zero.
    pub const ZERO: Reg = Reg(0);
    /// `r1`: return address (written by `jal`/`call`).
    pub const RA: Reg = Reg(1);
    /// `r2`: stack pointer.
    pub const SP: Reg = Reg(2);
    /// `r3`: first argument and return value.
    pub const A0: Reg = Reg(3);
    /// `r4`: second argument.
    pub const A1: Reg = Reg(4);
    /// `r5`: third argument.
    pub const A2: Reg = Reg(5);
    /// `r6`: fourth argument.
    pub const A3: Reg = Reg(6);
    /// `r7`: fifth argument; the syscall and hypercall number.
    pub const A4: Reg = Reg(7);
    /// `r8`: temporary.
    pub const T0: Reg = Reg(8);
    /// `r9`: temporary.
    pub const T1: Reg = Reg(9);
    /// `r10`: temporary.
    pub const T2: Reg = Reg(10);
    /// `r11`: temporary.
    pub const T3: Reg = Reg(11);
    /// `r12`: callee-saved.
    pub const S0: Reg = Reg(12);
    /// `r13`: callee-saved.
    pub const S1: Reg = Reg(13);
    /// `r14`: callee-saved.
    pub const S2: Reg = Reg(14);
    /// `r15`: callee-saved.
    pub const S3: Reg = Reg(15);

    /// The register with number `n`, if `n < 16`.
    pub const fn new(n: u8) -> Option<Reg> {
        if n < 16 { Some(Reg(n)) } else { None }
    }

    /// The register numbered by the low four bits of `n` (used by the decoder).
    pub(crate) const fn from_bits(n: u32) -> Reg {
        Reg((n & 0xF) as u8)
    }

    /// The register number, 0..16.
    pub const fn index(self) -> usize {
        self.0 as usize
    }

    /// The register number as a `u8`.
    pub const fn num(self) -> u8 {
        self.0
    }

    /// The ABI name (`a0`, `sp`, ...).
    pub const fn abi_name(self) -> &'static str {
        ABI_NAMES[self.0 as usize]
    }

    /// Parses `r0`..`r15` or an ABI name (`zero`, `ra`, `sp`, `a0`..`a4`, `t0`..`t3`,
    /// `s0`..`s3`, and `fp` as an alias of `s0`).
    pub fn parse(name: &str) -> Option<Reg> {
        if let Some(num) = name.strip_prefix('r') {
            if let Ok(n) = num.parse::<u8>() {
                if !num.starts_with('+') && (num == "0" || !num.starts_with('0')) {
                    return Reg::new(n);
                }
            }
        }
        if name == "fp" {
            return Some(Reg::S0);
        }
        ABI_NAMES
            .iter()
            .position(|n| *n == name)
            .map(|i| Reg(i as u8))
    }

    /// All sixteen registers in order.
    pub fn all() -> impl Iterator<Item = Reg> {
        (0..16).map(Reg)
    }
}

impl fmt::Display for Reg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.abi_name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for r in Reg::all() {
            assert_eq!(Reg::parse(r.abi_name()), Some(r));
            assert_eq!(Reg::parse(&format!("r{}", r.index())), Some(r));
        }
        assert_eq!(Reg::parse("fp"), Some(Reg::S0));
        assert_eq!(Reg::parse("r16"), None);
        assert_eq!(Reg::parse("r01"), None);
        assert_eq!(Reg::parse("x1"), None);
    }
}
