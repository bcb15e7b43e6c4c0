//! The workload suite: user programs that run under the guest kernel, each
//! with its metadata and its expected console output (tests as data), so one
//! table drives every workload through every virtualization mode and checks
//! that the output is identical.
//!
//! A [`Workload`] starts one or more [`Process`]es (user programs from
//! `crates/guest/user/`, see [`user_image`](crate::user_image)). Every
//! process gets the workload's iteration count in `a0` and its argument
//! words in `a1..a3`. [`Workload::expected_output`] is computed by a Rust
//! reference of the same algorithm, never by running the guest.
//!
//! The nanobenchmarks follow Adams & Agesen (ASPLOS 2006): their output
//! does not depend on the iteration count, because the cost of one
//! iteration is measured by differencing runs of n and 2n iterations. Each
//! loop runs at the privilege the paper's did ([`Workload::loop_privilege`]):
//! syscall and divzero in user mode, the others in the kernel through the
//! `nanobench(kind, n)` syscall.
//!
//! ```
//! use vmlab_guest::workloads::{workload, Kind};
//!
//! let w = workload("ctxswitch").unwrap();
//! assert_eq!(w.kind, Kind::Os);
//! assert_eq!(w.processes.len(), 2); // two processes ping-pong with yield
//! assert!(w.expected_output(10).starts_with("ctxswitch: 10 yields"));
//! assert_eq!(workload("nb-in").unwrap().expected_output(1_000), "nb-in done\n");
//! ```

use std::fmt::Write as _;

use vmlab_asm::Image;

mod reference;

use reference::{CRC32_N, FIB_N, MATMUL_N, SIEVE_N};

/// What a workload is about: the column a report groups by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    /// User-mode computation; the kernel is involved only at start and exit.
    Compute,
    /// Operating-system work: syscalls, page faults, page-table writes,
    /// context switches.
    Os,
    /// Device I/O through the kernel's drivers.
    Io,
    /// A nanobenchmark: one operation repeated n times.
    Nanobench,
}

impl Kind {
    /// The kind's name: `compute`, `os`, `io`, `nanobench`.
    pub const fn name(self) -> &'static str {
        match self {
            Kind::Compute => "compute",
            Kind::Os => "os",
            Kind::Io => "io",
            Kind::Nanobench => "nanobench",
        }
    }
}

/// The privilege level a nanobenchmark's measured loop runs at.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Privilege {
    /// The loop is user code; each iteration enters the kernel (or not) on
    /// its own (nb-syscall, nb-divzero).
    User,
    /// The loop runs inside the kernel, in `nanobench(kind, n)`, so the
    /// measured operation can be privileged.
    Kernel,
}

impl Privilege {
    /// The level's name: `user`, `kernel`.
    pub const fn name(self) -> &'static str {
        match self {
            Privilege::User => "user",
            Privilege::Kernel => "kernel",
        }
    }
}

/// One process a workload starts: a user program and its argument words.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Process {
    /// The user program's name (`crates/guest/user/NAME.s`).
    pub program: &'static str,
    /// Argument words, passed in `a1`, `a2`, `a3`.
    pub args: [u32; 3],
}

impl Process {
    const fn new(program: &'static str, a1: u32) -> Process {
        Process {
            program,
            args: [a1, 0, 0],
        }
    }

    /// The assembled program (`None` only if its source is missing).
    pub fn image(&self) -> Option<&'static Image> {
        crate::user_image(self.program)
    }
}

/// One workload: what it runs, what it stresses, and what it must print.
#[derive(Debug)]
pub struct Workload {
    /// Short name, used on the command line (`vmlab run NAME`).
    pub name: &'static str,
    /// One-line description.
    pub description: &'static str,
    /// The property of a virtualization technique it stresses.
    pub stresses: &'static str,
    /// What the workload is about.
    pub kind: Kind,
    /// What one iteration is.
    pub iteration: &'static str,
    /// Iterations for tests: small (the whole run, boot included, stays
    /// well under two million guest instructions).
    pub default_iters: u32,
    /// Iterations for benchmarks: large enough that the workload, not boot,
    /// dominates.
    pub bench_iters: u32,
    /// The processes it starts, in boot order; each gets the iteration count.
    pub processes: &'static [Process],
    /// For a nanobenchmark, where its loop runs; `None` for other workloads.
    pub loop_privilege: Option<Privilege>,
    expected: fn(u32) -> String,
}

impl Workload {
    /// The exact console output of a run with `iters` iterations.
    pub fn expected_output(&self, iters: u32) -> String {
        (self.expected)(iters)
    }
}

/// `nanobench(kind, n)` kinds (crates/guest/lib/syscalls.s `NB_*`).
const NB_IN: u32 = 1;
const NB_PRIO: u32 = 2;
const NB_CALLRET: u32 = 3;
const NB_PGFAULT: u32 = 4;
const NB_PTEMOD: u32 = 5;

/// The role argument of the two ctxswitch processes (user/ctxswitch.s).
const CTX_PARTNER: u32 = 0;
const CTX_REPORTER: u32 = 1;

static WORKLOADS: [Workload; 17] = [
    Workload {
        name: "sieve",
        description: "sieve of Eratosthenes: primes below 4096, repeated",
        stresses: "pure computation",
        kind: Kind::Compute,
        iteration: "one sieve of 4096 bytes",
        default_iters: 3,
        bench_iters: 100,
        processes: &[Process::new("sieve", SIEVE_N)],
        loop_privilege: None,
        expected: reference::sieve,
    },
    Workload {
        name: "matmul",
        description: "16 x 16 integer matrix multiply, repeated, hashed",
        stresses: "pure computation",
        kind: Kind::Compute,
        iteration: "one 16 x 16 matrix product",
        default_iters: 3,
        bench_iters: 100,
        processes: &[Process::new("matmul", MATMUL_N)],
        loop_privilege: None,
        expected: reference::matmul,
    },
    Workload {
        name: "crc32",
        description: "bitwise CRC-32 of a 1 KiB buffer, repeated",
        stresses: "pure computation",
        kind: Kind::Compute,
        iteration: "one CRC of 1024 bytes",
        default_iters: 3,
        bench_iters: 100,
        processes: &[Process::new("crc32", CRC32_N)],
        loop_privilege: None,
        expected: reference::crc32,
    },
    Workload {
        name: "fib",
        description: "naive recursive fib(15), repeated",
        stresses: "pure computation (calls and returns)",
        kind: Kind::Compute,
        iteration: "one fib(15)",
        default_iters: 3,
        bench_iters: 300,
        processes: &[Process::new("fib", FIB_N)],
        loop_privilege: None,
        expected: reference::fib,
    },
    Workload {
        name: "syscall",
        description: "getpid in a loop, checking every call returns the same pid",
        stresses: "syscall path",
        kind: Kind::Os,
        iteration: "one getpid syscall",
        default_iters: 100,
        bench_iters: 10_000,
        processes: &[Process::new("syscall", 0)],
        loop_privilege: None,
        expected: reference::syscall,
    },
    Workload {
        name: "pagefault",
        description: "touch fresh heap pages, one store each, read them back",
        stresses: "page faults / shadow fills",
        kind: Kind::Os,
        iteration: "one demand-zero page fault",
        default_iters: 32,
        bench_iters: 512,
        processes: &[Process::new("pagefault", 0)],
        loop_privilege: None,
        expected: reference::pagefault,
    },
    Workload {
        name: "ptemod",
        description: "map a page, write and read it, unmap it, repeatedly",
        stresses: "page-table writes",
        kind: Kind::Os,
        iteration: "one map + unmap round",
        default_iters: 32,
        bench_iters: 2_000,
        processes: &[Process::new("ptemod", 0)],
        loop_privilege: None,
        expected: reference::ptemod,
    },
    Workload {
        name: "ctxswitch",
        description: "two processes ping-pong with yield, checking their registers",
        stresses: "context switches",
        kind: Kind::Os,
        iteration: "one yield in each process",
        default_iters: 20,
        bench_iters: 2_000,
        processes: &[
            Process::new("ctxswitch", CTX_PARTNER),
            Process::new("ctxswitch", CTX_REPORTER),
        ],
        loop_privilege: None,
        expected: reference::ctxswitch,
    },
    Workload {
        name: "io-disk",
        description: "write 512-byte blocks to the disk, read them back, checksum",
        stresses: "emulated disk I/O",
        kind: Kind::Io,
        iteration: "one block written and read back",
        default_iters: 8,
        bench_iters: 256,
        processes: &[Process::new("io-disk", 0)],
        loop_privilege: None,
        expected: reference::io_disk,
    },
    Workload {
        name: "io-console",
        description: "print numbered lines of text",
        stresses: "console I/O",
        kind: Kind::Io,
        iteration: "one 50-odd-byte line",
        default_iters: 10,
        bench_iters: 500,
        processes: &[Process::new("io-console", 0)],
        loop_privilege: None,
        expected: reference::io_console,
    },
    Workload {
        name: "nb-syscall",
        description: "user loop of null syscalls (getpid)",
        stresses: "syscall path",
        kind: Kind::Nanobench,
        iteration: "one null syscall",
        default_iters: 100,
        bench_iters: 10_000,
        processes: &[Process::new("nb-syscall", 0)],
        loop_privilege: Some(Privilege::User),
        expected: reference::nb_syscall,
    },
    Workload {
        name: "nb-divzero",
        description: "user loop of divides by zero, each handled and resumed",
        stresses: "exception delivery",
        kind: Kind::Nanobench,
        iteration: "one divide-by-zero trap, handler and sigreturn",
        default_iters: 100,
        bench_iters: 10_000,
        processes: &[Process::new("nb-divzero", 0)],
        loop_privilege: Some(Privilege::User),
        expected: reference::nb_divzero,
    },
    Workload {
        name: "nb-in",
        description: "kernel loop of port reads of a device register",
        stresses: "port I/O",
        kind: Kind::Nanobench,
        iteration: "one port read",
        default_iters: 100,
        bench_iters: 100_000,
        processes: &[Process::new("nanobench", NB_IN)],
        loop_privilege: Some(Privilege::Kernel),
        expected: reference::nb_in,
    },
    Workload {
        name: "nb-prio",
        description: "kernel loop of priority-register writes (the cr8wr analog)",
        stresses: "control-register writes",
        kind: Kind::Nanobench,
        iteration: "one prio write",
        default_iters: 100,
        bench_iters: 100_000,
        processes: &[Process::new("nanobench", NB_PRIO)],
        loop_privilege: Some(Privilege::Kernel),
        expected: reference::nb_prio,
    },
    Workload {
        name: "nb-callret",
        description: "kernel loop of calls and returns",
        stresses: "calls and returns in kernel code",
        kind: Kind::Nanobench,
        iteration: "one call and return",
        default_iters: 100,
        bench_iters: 100_000,
        processes: &[Process::new("nanobench", NB_CALLRET)],
        loop_privilege: Some(Privilege::Kernel),
        expected: reference::nb_callret,
    },
    Workload {
        name: "nb-pgfault",
        description: "kernel loop of page faults, each taken and fixed",
        stresses: "page faults / shadow fills",
        kind: Kind::Nanobench,
        iteration: "one page fault taken and fixed",
        default_iters: 64,
        bench_iters: 10_000,
        processes: &[Process::new("nanobench", NB_PGFAULT)],
        loop_privilege: Some(Privilege::Kernel),
        expected: reference::nb_pgfault,
    },
    Workload {
        name: "nb-ptemod",
        description: "kernel loop of page-table entry writes, no flush",
        stresses: "page-table writes",
        kind: Kind::Nanobench,
        iteration: "one PTE store",
        default_iters: 100,
        bench_iters: 100_000,
        processes: &[Process::new("nanobench", NB_PTEMOD)],
        loop_privilege: Some(Privilege::Kernel),
        expected: reference::nb_ptemod,
    },
];

/// Every workload, compute first, nanobenchmarks last.
pub fn workloads() -> &'static [Workload] {
    &WORKLOADS
}

/// The workload with this name.
pub fn workload(name: &str) -> Option<&'static Workload> {
    WORKLOADS.iter().find(|w| w.name == name)
}

/// A readable table of every workload (for `vmlab list`): name, kind, what
/// it stresses, default iterations, where a nanobenchmark's loop runs, and
/// the description.
pub fn list_table() -> String {
    const HEADER: [&str; 6] = ["name", "kind", "stresses", "iters", "loop", "description"];
    let rows: Vec<[String; 6]> = WORKLOADS
        .iter()
        .map(|w| {
            [
                w.name.to_string(),
                w.kind.name().to_string(),
                w.stresses.to_string(),
                w.default_iters.to_string(),
                w.loop_privilege.map_or("-", Privilege::name).to_string(),
                w.description.to_string(),
            ]
        })
        .collect();
    let mut widths = HEADER.map(str::len);
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.len());
        }
    }
    let header = HEADER.map(str::to_string);
    let mut out = String::new();
    for row in std::iter::once(&header).chain(&rows) {
        let mut line = String::new();
        for (i, (cell, w)) in row.iter().zip(widths).enumerate() {
            // The iteration count is a number: right-aligned.
            let _ = if i == 3 {
                write!(line, "{cell:>w$}  ")
            } else {
                write!(line, "{cell:<w$}  ")
            };
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The `.equ NAME, VALUE` of crates/guest/lib/syscalls.s.
    fn equ(name: &str) -> Option<i64> {
        include_str!("../lib/syscalls.s").lines().find_map(|line| {
            let rest = line.trim().strip_prefix(".equ")?;
            let (n, v) = rest.split_once(',')?;
            let v = v.split('#').next()?.trim();
            (n.trim() == name).then(|| v.parse().ok())?
        })
    }

    #[test]
    fn nanobench_kinds_match_syscalls_s() {
        for (name, value) in [
            ("NB_IN", NB_IN),
            ("NB_PRIO", NB_PRIO),
            ("NB_CALLRET", NB_CALLRET),
            ("NB_PGFAULT", NB_PGFAULT),
            ("NB_PTEMOD", NB_PTEMOD),
        ] {
            assert_eq!(equ(name), Some(i64::from(value)), "{name}");
        }
    }

    #[test]
    fn names_are_unique_and_tabled() {
        let table = list_table();
        for (i, w) in WORKLOADS.iter().enumerate() {
            assert!(
                WORKLOADS[..i].iter().all(|v| v.name != w.name),
                "{}",
                w.name
            );
            assert!(table.lines().any(|l| l.starts_with(w.name)), "{}", w.name);
            assert_eq!(
                w.loop_privilege.is_some(),
                w.kind == Kind::Nanobench,
                "{}",
                w.name
            );
        }
        assert_eq!(table.lines().count(), WORKLOADS.len() + 1);
    }
}
