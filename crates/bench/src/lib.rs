//! vmlab's measurements: every workload under every virtualization
//! technique, side by side, on the same work.
//!
//! [`run`] plans the matrix (workloads x modes x memory options x I/O),
//! runs its cells in parallel through the monitor, checks every cell's
//! console output, and derives the nanobenchmark table (Adams & Agesen's
//! shape, [`nanobench`]) and, when asked, the exit-cost sweep ([`sweep`]).
//! [`report`] renders the result as a terminal table, Markdown, JSON, CSV
//! and SVG charts. docs/bench.md is the guide; [`speed`] is the emulator's
//! own speed report.
//!
//! ```
//! use vmlab_bench::{BenchOptions, run};
//!
//! let opts = BenchOptions {
//!     workloads: vec!["nb-syscall".into()],
//!     modes: BenchOptions::parse_modes("native,hw/nested").unwrap(),
//!     quick: true,
//!     ..BenchOptions::default()
//! };
//! let report = run(&opts).unwrap();
//! assert!(report.rows.iter().all(|r| r.output_ok));
//! assert!(report.nanobench.iter().all(|n| n.cycles_per_iter.unwrap() > 0.0));
//! ```

#![forbid(unsafe_code)]

pub mod cell;
mod error;
pub mod matrix;
pub mod nanobench;
mod options;
pub mod report;
mod run;
pub mod speed;
pub mod sweep;

pub use cell::{Counters, Divergence, Row};
pub use error::BenchError;
pub use nanobench::NanoRow;
pub use options::{BenchOptions, Engine, ModeSpec, Sweep, split_list};
pub use run::{BenchReport, run};
pub use sweep::SweepReport;
