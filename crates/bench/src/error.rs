//! The bench crate's one error enum (STYLE.md 10): what went wrong, where,
//! and what to do.

use std::path::PathBuf;

/// A failure of the benchmark harness (never a guest fault: a guest that
/// misbehaves is reported in its row).
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    /// A command-line value the harness does not understand.
    #[error("{0}")]
    Usage(String),
    /// The cost model could not be loaded.
    #[error("--cost: {0}")]
    Cost(#[from] vmlab_monitor::CostError),
    /// The monitor failed on the host side.
    #[error("cell {cell}: the monitor failed: {source}")]
    Monitor {
        /// The cell.
        cell: String,
        /// The monitor's error.
        source: vmlab_monitor::MonitorError,
    },
    /// A cell computed the wrong thing on the strict profile.
    #[error(
        "cell {cell}: the console output differs from the workload's expected output \
         (exit {status}, code {code}); a benchmark that computes the wrong thing is not a result\n{diff}"
    )]
    WrongOutput {
        /// The cell.
        cell: String,
        /// How the guest ended.
        status: String,
        /// Its exit code, or `none`.
        code: String,
        /// A line diff of expected and actual output.
        diff: String,
    },
    /// A report file could not be written.
    #[error("cannot write {path}: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A chart could not be drawn.
    #[error("chart {path}: {message}")]
    Chart {
        /// The SVG file.
        path: PathBuf,
        /// What plotters said.
        message: String,
    },
}
