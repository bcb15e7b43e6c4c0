//! vmlab's measurements.
//!
//! For now: the speed report ([`speed`]), which runs each bare-metal compute
//! kernel on the emulated machine and the same algorithm in Rust in the same
//! process, checks that both computed the same result, and reports guest MIPS
//! and the slowdown. The virtualization benchmark matrix joins it when the
//! monitor lands.
//!
//! ```
//! use vmlab_bench::speed::{self, SpeedOptions};
//!
//! let opts = SpeedOptions { kernels: vec!["fib".into()], quick: true, repeat: 1 };
//! let rows = speed::run(&opts).unwrap();
//! assert_eq!(rows[0].kernel, "fib");
//! assert!(rows[0].guest_instructions > 0);
//! ```

pub mod speed;
