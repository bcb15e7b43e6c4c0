//! The vmlab emulated machine: the hardware every virtualization mode runs on.
//!
//! A CPU for the vmlab ISA (both profiles, user and supervisor modes,
//! precise traps and interrupts), host-physical RAM, an MMU with a TLB and
//! the page walkers, the port bus and devices, and the virtualization
//! extensions a monitor needs: guest mode with exit controls, shadow, nested
//! and direct memory modes, and a write-protect bitmap. `run(budget)` returns
//! an [`Exit`], in the spirit of kvm-ioctls' `VcpuExit`. docs/machine.md is
//! the guided tour.
//!
//! ```
//! use vmlab_isa::{encode, Instr, ImmOp, Reg};
//! use vmlab_machine::{Exit, HostPhys, Machine, MachineConfig};
//!
//! let mut m = Machine::new(MachineConfig::default()).unwrap();
//! let program = [
//!     Instr::AluImm { op: ImmOp::Add, rd: Reg::A0, rs1: Reg::ZERO, imm: 42 },
//!     Instr::Halt,
//! ];
//! for (i, instr) in program.iter().enumerate() {
//!     m.write_phys_u32(HostPhys(4 * i as u32), encode(instr).unwrap()).unwrap();
//! }
//! assert_eq!(m.run(1_000), Exit::Halt);
//! assert_eq!(m.reg(Reg::A0), 42);
//! assert_eq!(m.instret(), 1);
//! ```

#![forbid(unsafe_code)]

mod addr;
mod block;
pub mod bus;
mod controls;
mod counters;
mod cpu;
pub mod devices;
mod engine;
pub mod engine_support;
mod error;
mod exec;
mod exit;
mod frames;
mod interp;
mod machine;
mod memory;
mod mmu;
mod physmap;
mod ram;
mod threaded;
mod tlb;
mod walk;

pub use addr::{GuestPhys, GuestVirt, HostPhys};
pub use block::{BLOCK_CACHE_SLOTS, MAX_BLOCK, form_block, page_rest};
pub use controls::{Controls, PortBitmap};
pub use counters::Counters;
pub use cpu::{CpuState, Mode};
pub use engine::Engine;
pub use error::MachineError;
pub use exit::Exit;
pub use interp::Interpreter;
pub use machine::{Machine, MachineConfig};
pub use mmu::{GuestWalk, GuestWalkError, MemMode};
pub use physmap::PhysMap;
pub use ram::{MAX_RAM_BYTES, Ram};
