//! The engine trait: what runs guest code. The interpreter implements it;
//! the translator's backends will too. Every engine returns the same
//! [`Exit`] and counts the same guest-visible events (block formation, the
//! TLB and the walkers are shared code in this crate).

use crate::exit::Exit;
use crate::machine::Machine;

/// Something that runs a machine's guest code until an exit.
///
/// An implementation brackets its work with
/// [`Machine::begin_run`] and [`Machine::end_run`] (world-switch accounting,
/// the budget), and must stop exactly where the interpreter would: before
/// the instruction at which an interrupt is taken, and within the budget.
pub trait Engine {
    /// A short name for reports (`"interp"`, `"jit"`).
    fn name(&self) -> &'static str;
    /// Runs `m` for at most `budget` instructions (trap entries count too).
    fn run(&mut self, m: &mut Machine, budget: u64) -> Exit;
}
