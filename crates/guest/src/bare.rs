//! Bare-metal compute kernels: sieve, matrix multiply, CRC-32 and recursive
//! Fibonacci, each with a Rust reference that computes the same result by the
//! same algorithm (tests as data: the reference gives the expected output).
//!
//! Each program reads two parameters, `param_n` and `param_reps`, from its data
//! section; [`BareKernel::image_with`] patches them. It prints
//! `NAME: RESULT\n` on the console and powers off with exit code 0.

use std::hint::black_box;
use std::sync::OnceLock;

use vmlab_asm::Image;

/// One bare-metal compute kernel.
#[derive(Debug)]
pub struct BareKernel {
    /// Short name (`sieve`, `matmul`, `crc32`, `fib`).
    pub name: &'static str,
    /// One-line description.
    pub description: &'static str,
    /// What it stresses in an engine.
    pub stresses: &'static str,
    /// Problem size used by tests (small).
    pub default_n: u32,
    /// Problem size and repetitions used by the speed report (a few tens of
    /// millions of guest instructions).
    pub speed_n: u32,
    /// Repetitions used by the speed report.
    pub speed_reps: u32,
    image_bytes: &'static [u8],
    image: OnceLock<Image>,
    reference: fn(u32) -> u32,
    repeat: Repeat,
}

/// How a program combines the results of its repetitions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Repeat {
    /// The wrapping sum of the per-repetition results.
    Sum,
    /// The result of the last repetition (0 when there is none: the output
    /// matrix is still zeroed memory).
    Last,
}

/// The image bytes build.rs produced for a bare-metal program.
const fn image_bytes(name: &str) -> &'static [u8] {
    let mut i = 0;
    while i < crate::built::BARE.len() {
        if str_eq(crate::built::BARE[i].0, name) {
            return crate::built::BARE[i].1;
        }
        i += 1;
    }
    panic!("build.rs assembles every program in bare/")
}

const fn str_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

static KERNELS: [BareKernel; 4] = [
    BareKernel {
        name: "sieve",
        description: "sieve of Eratosthenes: count the primes below n",
        stresses: "byte loads and stores, tight loops",
        default_n: 1000,
        speed_n: 200_000,
        speed_reps: 10,
        image_bytes: image_bytes("sieve"),
        image: OnceLock::new(),
        reference: sieve,
        repeat: Repeat::Sum,
    },
    BareKernel {
        name: "matmul",
        description: "n x n integer matrix multiply, hashed",
        stresses: "word loads, strided access, multiplies",
        default_n: 8,
        speed_n: 96,
        speed_reps: 4,
        image_bytes: image_bytes("matmul"),
        image: OnceLock::new(),
        reference: matmul,
        repeat: Repeat::Last,
    },
    BareKernel {
        name: "crc32",
        description: "bitwise CRC-32 (IEEE 802.3) of an n-byte buffer",
        stresses: "ALU work, short inner loop",
        default_n: 256,
        speed_n: 65_536,
        speed_reps: 8,
        image_bytes: image_bytes("crc32"),
        image: OnceLock::new(),
        reference: crc32,
        repeat: Repeat::Sum,
    },
    BareKernel {
        name: "fib",
        description: "naive recursive Fibonacci of n",
        stresses: "calls, returns, stack traffic",
        default_n: 15,
        speed_n: 27,
        speed_reps: 2,
        image_bytes: image_bytes("fib"),
        image: OnceLock::new(),
        reference: fib,
        repeat: Repeat::Sum,
    },
];

/// Every bare-metal kernel.
pub fn kernels() -> &'static [BareKernel] {
    &KERNELS
}

/// The kernel with this name.
pub fn kernel(name: &str) -> Option<&'static BareKernel> {
    KERNELS.iter().find(|k| k.name == name)
}

impl BareKernel {
    /// The assembled program with its default parameters.
    pub fn image(&self) -> &Image {
        self.image.get_or_init(|| {
            // Built by build.rs from sources in this crate: failing to parse
            // our own build output is a build bug, not a runtime condition.
            Image::from_bytes(self.image_bytes).expect("build.rs wrote a valid image")
        })
    }

    /// The program with `param_n = n` and `param_reps = reps`.
    pub fn image_with(&self, n: u32, reps: u32) -> Image {
        let mut image = self.image().clone();
        for (sym, value) in [("param_n", n), ("param_reps", reps)] {
            let addr = image
                .symbol(sym)
                .expect("bare.s defines the parameters")
                .value;
            let seg = image
                .segments
                .iter_mut()
                .find(|s| addr >= s.addr && addr + 4 <= s.addr + s.data.len() as u32)
                .expect("parameters live in the data segment");
            let at = (addr - seg.addr) as usize;
            seg.data[at..at + 4].copy_from_slice(&value.to_le_bytes());
        }
        image
    }

    /// The result the Rust reference computes for one repetition.
    pub fn reference(&self, n: u32) -> u32 {
        (self.reference)(n)
    }

    /// Runs the Rust reference `reps` times, summing the results as the guest
    /// does. `black_box` keeps the compiler from computing it once.
    pub fn native(&self, n: u32, reps: u32) -> u32 {
        let mut acc = 0u32;
        for _ in 0..reps {
            let r = (self.reference)(black_box(n));
            acc = match self.repeat {
                Repeat::Sum => acc.wrapping_add(r),
                Repeat::Last => r,
            };
        }
        acc
    }

    /// The result the guest prints for these parameters.
    pub fn result(&self, n: u32, reps: u32) -> u32 {
        match self.repeat {
            Repeat::Sum => self.reference(n).wrapping_mul(reps),
            Repeat::Last if reps == 0 => 0,
            Repeat::Last => self.reference(n),
        }
    }

    /// The exact console output of the guest program for these parameters.
    pub fn expected_output(&self, n: u32, reps: u32) -> String {
        format!("{}: {}\n", self.name, self.result(n, reps))
    }
}

/// Number of primes below `n` (lib/sieve.s).
pub fn sieve(n: u32) -> u32 {
    let n = n as usize;
    let mut buf = vec![1u8; n];
    let mut i = 2;
    while i * i < n {
        if buf[i] != 0 {
            let mut j = i * i;
            while j < n {
                buf[j] = 0;
                j += i;
            }
        }
        i += 1;
    }
    buf.iter().skip(2).map(|&b| b as u32).sum()
}

/// Hash of A x B for the matrices of lib/matmul.s.
pub fn matmul(n: u32) -> u32 {
    let n = n as usize;
    let a: Vec<u32> = (0..n * n).map(|k| ((k / n) + 2 * (k % n)) as u32).collect();
    let b: Vec<u32> = (0..n * n)
        .map(|k| ((k / n) as u32).wrapping_mul((k % n) as u32) + 1)
        .collect();
    let mut c = vec![0u32; n * n];
    for i in 0..n {
        for j in 0..n {
            let mut sum = 0u32;
            for k in 0..n {
                sum = sum.wrapping_add(a[i * n + k].wrapping_mul(b[k * n + j]));
            }
            c[i * n + j] = sum;
        }
    }
    c.iter()
        .fold(0u32, |h, &x| h.wrapping_mul(31).wrapping_add(x))
}

/// CRC-32 of the buffer of lib/crc32.s (`buf[i] = (7i + 3) & 0xFF`), bit by bit.
pub fn crc32(n: u32) -> u32 {
    let mut crc = u32::MAX;
    for i in 0..n {
        crc ^= (i.wrapping_mul(7).wrapping_add(3)) & 0xFF;
        for _ in 0..8 {
            let mask = (crc & 1).wrapping_neg();
            crc = (crc >> 1) ^ (0xEDB8_8320 & mask);
        }
    }
    !crc
}

/// The n-th Fibonacci number by naive recursion (lib/fib.s), wrapping.
pub fn fib(n: u32) -> u32 {
    if n < 2 {
        n
    } else {
        fib(n - 1).wrapping_add(fib(n - 2))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_match_known_values() {
        assert_eq!(sieve(100), 25);
        assert_eq!(sieve(2), 0);
        assert_eq!(fib(20), 6765);
        // The standard CRC-32 check value is for "123456789"; our buffer is
        // generated, so check the algorithm on the check string instead.
        let mut crc = u32::MAX;
        for &byte in b"123456789" {
            crc ^= byte as u32;
            for _ in 0..8 {
                crc = (crc >> 1) ^ (0xEDB8_8320 & (crc & 1).wrapping_neg());
            }
        }
        assert_eq!(!crc, 0xCBF4_3926);
        assert_eq!(matmul(1), 0); // A = [0], B = [1]: C = [0]
        assert_eq!(matmul(2), 63557); // C = [[2, 4], [4, 7]]: ((2*31+4)*31+4)*31+7
    }
}
