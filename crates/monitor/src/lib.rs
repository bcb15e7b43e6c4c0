//! vmlab-monitor: the virtual machine monitor.
//!
//! For now this crate holds the [cost model](cost): named per-event costs in
//! modeled cycles, the `p4-2006` and `modern` presets with their published
//! sources, cost files, and the per-category [`Breakdown`] of a run.
//!
//! ```
//! use vmlab_monitor::{Breakdown, CostModel, Event};
//!
//! let model = CostModel::preset("p4-2006").expect("a built-in preset");
//! let mut cycles = Breakdown::new(&model);
//! cycles.add(Event::DeviceEmulation, 3);
//! assert_eq!(cycles.total(), 3 * model.device_emulation);
//! ```

pub mod cost;

pub use cost::{
    Breakdown, Calibration, Category, CostError, CostModel, Event, Location, PaperCycles, PaperRow,
    Preset,
};
