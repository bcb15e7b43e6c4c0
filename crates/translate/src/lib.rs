//! vmlab binary translation: guest kernel code translated block by block,
//! as VMware's software full virtualization did before VT-x.
//!
//! Innocuous instructions stay as they are; sensitive ones (on either
//! profile) become callouts into the monitor, returned as
//! `Exit::Callout { id }` (never a VM exit), or inline operations on the
//! monitor's [`VirtualCpu`]. Stores that fault on write-protected page-table
//! pages are retranslated as `pte-write` callouts (adaptive translation).
//! Translations live in a [`TranslationCache`] keyed by guest-virtual
//! address, host-physical address and privilege; direct exits are chained,
//! indirect ones looked up; writes to source bytes invalidate them.
//! A [`Backend`] compiles and runs them: [`PortableBackend`] everywhere,
//! and on x86_64 hosts `X86Backend` (iced-x86 code in W^X memory; its
//! `x86::exec_mem` module is the workspace's only `unsafe`). [`JitEngine`]
//! is `--engine jit` for a bare machine. docs/translation.md is the guided
//! tour.
//!
//! ```
//! use vmlab_isa::Reg;
//! use vmlab_machine::{Engine, Exit, Machine, MachineConfig};
//! use vmlab_translate::{BtEngine, CalloutKind, NativeCpu, PortableBackend};
//!
//! let image = vmlab_asm::assemble_str(
//!     "_start: li a0, 5\n csrw prio, a0\n addi a0, a0, 1\n halt\n",
//! )
//! .unwrap();
//! let mut m = Machine::bare_metal(&image, MachineConfig::default()).unwrap();
//! let mut bt = BtEngine::new(PortableBackend::new(), NativeCpu);
//! // The `prio` write is a store to the virtual CPU; `halt` calls out.
//! let exit = bt.run(&mut m, 1_000);
//! assert_eq!(exit, Exit::Callout { id: CalloutKind::Halt as u32 });
//! assert_eq!(bt.last_callout().unwrap().kind, CalloutKind::Halt);
//! assert_eq!(m.reg(Reg::A0), 6);
//! assert_eq!(bt.counters().inline_ops, 1);
//! ```

// `unsafe` is denied everywhere but `x86::exec_mem` (executable memory and
// entering generated code), which allows it: the workspace's only unsafe.
#![deny(unsafe_code)]

mod backend;
mod cache;
mod counters;
mod describe;
mod engine;
mod error;
mod ir;
mod jit;
mod portable;
mod translate;
mod vcpu;
#[cfg(target_arch = "x86_64")]
mod x86;

pub use backend::{Backend, BackendStats, BlockExit, BlockId};
pub use cache::{DEFAULT_CAPACITY, Key, Lookup, TranslationCache};
pub use counters::Counters;
pub use describe::{describe_block, render_translation};
pub use engine::{BtEngine, TraceEvent};
pub use error::TranslateError;
pub use ir::{
    BlockEnd, Callout, CalloutKind, InlineOp, Op, PendingStore, Privilege, TOp, Translation,
};
pub use jit::{JIT_AVAILABLE, JitEngine, jit_engine, jit_engine_for_bare_machine};
pub use portable::{POp, PortableBackend};
pub use translate::{Source, translate, translate_direct};
pub use vcpu::{NativeCpu, VirtualCpu};
#[cfg(target_arch = "x86_64")]
pub use x86::{HOT_RUNS, X86Backend, listing as x86_listing};
