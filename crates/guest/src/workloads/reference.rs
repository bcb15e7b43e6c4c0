//! Rust references for the workloads' console output: each function computes,
//! by the same algorithm as the user program, exactly what it prints for a
//! given iteration count (tests as data). The programs' header comments in
//! `crates/guest/user/` describe the same computations.

use crate::bare;

/// Problem size of the `sieve` workload: primes below this.
pub(crate) const SIEVE_N: u32 = 4096;
/// Problem size of the `matmul` workload: n x n matrices.
pub(crate) const MATMUL_N: u32 = 16;
/// Problem size of the `crc32` workload: bytes per CRC.
pub(crate) const CRC32_N: u32 = 1024;
/// Problem size of the `fib` workload: fib(n).
pub(crate) const FIB_N: u32 = 15;

/// The golden-ratio multiplier the pagefault and io-disk patterns use.
const GOLDEN: u32 = 0x9E37_79B1;

/// A compute workload prints what the bare-metal kernel of the same name
/// prints for `n` and `reps` (bare.rs holds the algorithms' references).
fn compute(name: &str, n: u32, reps: u32) -> String {
    bare::kernel(name)
        .expect("every compute workload has a bare-metal twin")
        .expected_output(n, reps)
}

pub(crate) fn sieve(iters: u32) -> String {
    compute("sieve", SIEVE_N, iters)
}

/// user/matmul.s sums the hash of C over the repetitions (the bare-metal
/// kernel prints the last hash only).
pub(crate) fn matmul(iters: u32) -> String {
    let hash = bare::matmul(MATMUL_N);
    format!("matmul: {}\n", hash.wrapping_mul(iters))
}

pub(crate) fn crc32(iters: u32) -> String {
    compute("crc32", CRC32_N, iters)
}

pub(crate) fn fib(iters: u32) -> String {
    compute("fib", FIB_N, iters)
}

/// user/syscall.s: a count only; pids never appear.
pub(crate) fn syscall(iters: u32) -> String {
    format!("syscall: {iters} getpid calls, same pid each time\n")
}

/// user/pagefault.s: page i holds `i * GOLDEN + 1`; read back as
/// `h = h * 31 + word`.
pub(crate) fn pagefault(iters: u32) -> String {
    let checksum = (0..iters).fold(0u32, |h, i| {
        h.wrapping_mul(31)
            .wrapping_add(i.wrapping_mul(GOLDEN).wrapping_add(1))
    });
    format!("pagefault: {iters} pages, checksum {checksum:#010x}\n")
}

/// user/ptemod.s: round i stores `7i + 1` on a fresh page; the sum of the
/// words read back.
pub(crate) fn ptemod(iters: u32) -> String {
    let sum = (0..iters).fold(0u32, |s, i| {
        s.wrapping_add(i.wrapping_mul(7).wrapping_add(1))
    });
    format!("ptemod: {iters} map/write/unmap rounds, sum {sum}\n")
}

/// The seed of ctxswitch's reporter (role 1); user/ctxswitch.s `seeds`.
const CTXSWITCH_REPORTER_SEED: u32 = 0x5A5A_0000;

/// user/ctxswitch.s: only the reporter prints, its own checksum
/// `h = h * 31 + (i ^ seed)` over its yields.
pub(crate) fn ctxswitch(iters: u32) -> String {
    let checksum = (0..iters).fold(0u32, |h, i| {
        h.wrapping_mul(31).wrapping_add(i ^ CTXSWITCH_REPORTER_SEED)
    });
    format!("ctxswitch: {iters} yields, registers intact, checksum {checksum:#010x}\n")
}

/// user/io-disk.s: word j of block b is `(b * GOLDEN) ^ (j * 0x85EBCA77)`,
/// all words folded in order by `h = (h ^ word) * 0x01000193` from
/// 0x811C9DC5 (FNV-1a's constants, a word at a time).
pub(crate) fn io_disk(iters: u32) -> String {
    let mut h = 0x811C_9DC5u32;
    for b in 0..iters {
        for j in 0..128u32 {
            let word = b.wrapping_mul(GOLDEN) ^ j.wrapping_mul(0x85EB_CA77);
            h = (h ^ word).wrapping_mul(0x0100_0193);
        }
    }
    format!("io-disk: {iters} blocks written and read back, checksum {h:#010x}\n")
}

/// user/io-console.s: numbered lines of a fixed text.
pub(crate) fn io_console(iters: u32) -> String {
    (1..=iters)
        .map(|k| format!("line {k}: the quick brown fox jumps over the lazy dog\n"))
        .collect()
}

/// Nanobenchmarks print their name and "done", whatever the iteration count
/// (the cost per iteration comes from differencing runs of n and 2n).
macro_rules! done {
    ($($f:ident => $name:literal),* $(,)?) => {
        $(pub(crate) fn $f(_iters: u32) -> String {
            concat!($name, " done\n").to_string()
        })*
    };
}

done! {
    nb_syscall => "nb-syscall",
    nb_divzero => "nb-divzero",
    nb_in => "nb-in",
    nb_prio => "nb-prio",
    nb_callret => "nb-callret",
    nb_pgfault => "nb-pgfault",
    nb_ptemod => "nb-ptemod",
}

#[cfg(test)]
mod tests {
    use super::*;

    // Values printed by the user programs when run under a host-side
    // emulation of the syscall contract, checked against by hand-worked
    // small cases where possible.
    #[test]
    fn small_cases() {
        assert_eq!(ptemod(3), "ptemod: 3 map/write/unmap rounds, sum 24\n"); // 1 + 8 + 15
        assert_eq!(pagefault(0), "pagefault: 0 pages, checksum 0x00000000\n");
        // One page: the word 0 * GOLDEN + 1 = 1.
        assert_eq!(pagefault(1), "pagefault: 1 pages, checksum 0x00000001\n");
        assert_eq!(
            io_disk(0),
            "io-disk: 0 blocks written and read back, checksum 0x811c9dc5\n"
        );
        assert_eq!(
            ctxswitch(1),
            format!(
                "ctxswitch: 1 yields, registers intact, checksum {:#010x}\n",
                0x5A5A_0000
            )
        );
        assert_eq!(io_console(0), "");
        assert_eq!(sieve(1), "sieve: 564\n"); // pi(4096) = 564
        assert_eq!(fib(2), "fib: 1220\n"); // fib(15) = 610
    }

    #[test]
    fn agree_with_runs_of_the_programs() {
        // Outputs of the assembled programs, recorded from runs.
        assert_eq!(pagefault(3), "pagefault: 3 pages, checksum 0x6526b3b2\n");
        assert_eq!(
            pagefault(300),
            "pagefault: 300 pages, checksum 0xdab18476\n"
        );
        assert_eq!(
            ctxswitch(50),
            "ctxswitch: 50 yields, registers intact, checksum 0x0a88b019\n"
        );
        assert_eq!(
            io_disk(70),
            "io-disk: 70 blocks written and read back, checksum 0xc30e08c5\n"
        );
        assert_eq!(sieve(3), "sieve: 1692\n");
        assert_eq!(matmul(1), "matmul: 952703488\n");
        assert_eq!(matmul(3), "matmul: 2858110464\n"); // 3 x the hash, wrapping
        assert_eq!(crc32(3), "crc32: 398047943\n");
    }
}
