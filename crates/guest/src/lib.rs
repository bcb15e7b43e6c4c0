//! Guest software for vmlab, written in the vmlab assembly language and
//! assembled at build time (see `build.rs`).
//!
//! - the tiny kernel, one source built three ways ([`KernelBuild`]: full,
//!   full with paravirtual I/O drivers, and paravirtual), docs/kernel.md;
//! - the workload suite ([`mod@workloads`]): user programs with their expected
//!   output computed by Rust references, docs/workloads.md;
//! - [`boot`]: the pure-data layout of a boot (kernel, programs and the
//!   boot-information page in guest-physical memory) that a host loads;
//! - [`bare`]: bare-metal compute kernels that measure the machine's speed
//!   against the same algorithms in Rust.
//!
//! ```
//! let sieve = vmlab_guest::bare::kernel("sieve").unwrap();
//! let image = sieve.image_with(100, 2);
//! assert!(image.symbol("param_n").is_some());
//! assert_eq!(sieve.expected_output(100, 2), "sieve: 50\n"); // 25 primes below 100, twice
//! ```

#![forbid(unsafe_code)]

pub mod bare;
pub mod boot;
mod images;
pub mod workloads;

pub use boot::{BootError, BootLayout, BootSpec, ProgramSpec, layout};
pub use images::{KernelBuild, kernel_image, user_image, user_names};
pub use workloads::{Workload, workload, workloads};

/// What build.rs assembled (generated).
mod built {
    include!(concat!(env!("OUT_DIR"), "/programs.rs"));
}
