//! Guest software for vmlab, written in the vmlab assembly language and
//! assembled at build time (see `build.rs`).
//!
//! For now this holds the bare-metal compute kernels that measure the
//! machine's speed against the same algorithms in Rust ([`bare`]). The tiny
//! kernel and the workload suite join them in their own issue.
//!
//! ```
//! let sieve = vmlab_guest::bare::kernel("sieve").unwrap();
//! let image = sieve.image_with(100, 2);
//! assert!(image.symbol("param_n").is_some());
//! assert_eq!(sieve.expected_output(100, 2), "sieve: 50\n"); // 25 primes below 100, twice
//! ```

pub mod bare;
mod images;

pub use images::{KernelBuild, kernel_image, user_image, user_names};

/// What build.rs assembled (generated).
mod built {
    include!(concat!(env!("OUT_DIR"), "/programs.rs"));
}
