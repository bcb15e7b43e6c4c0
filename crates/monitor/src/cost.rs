//! The cost model: modeled cycles = counted events x named per-event costs.
//!
//! A [`CostModel`] prices each [`Event`] in whole cycles. The monitor counts
//! events while a guest runs and adds them to a [`Breakdown`], which keeps
//! the cycles per [`Category`] for the report. Two presets model real
//! hardware ([`Preset::ALL`]); a TOML or JSON file can override any field.
//! docs/cost-model.md lists every value with its published source.
//!
//! ```
//! use vmlab_monitor::cost::{Breakdown, CostModel, Event};
//!
//! let p4 = CostModel::preset("p4-2006").unwrap();
//! let modern = CostModel::preset("modern").unwrap();
//! assert!(p4.cost(Event::VmExit) > 10 * modern.cost(Event::VmExit));
//!
//! // A cost file may start from a preset and change a few fields.
//! let mine = CostModel::from_toml_str("base = \"p4-2006\"\nvm_exit = 5000\n").unwrap();
//! assert_eq!(mine.vm_exit, 5000);
//!
//! let mut cycles = Breakdown::new(&p4);
//! cycles.add(Event::InsnAlu, 100);
//! cycles.add(Event::VmExit, 2);
//! assert_eq!(cycles.total(), 100 + 2 * p4.vm_exit);
//! ```

use std::path::Path;

mod breakdown;
mod error;
mod events;
mod file;
mod presets;

pub use breakdown::Breakdown;
pub use error::{CostError, Location};
pub use events::{Category, CostModel, Event};
pub use presets::{Calibration, PaperCycles, PaperRow, Preset};

/// The largest cost one event may have in a cost file: a billion cycles.
/// Anything above is taken for a typo.
pub const MAX_COST: u64 = 1_000_000_000;

impl CostModel {
    /// The preset called `name` (`p4-2006`, `modern`).
    pub fn preset(name: &str) -> Option<CostModel> {
        Preset::get(name).map(Preset::model)
    }

    /// The preset names, `p4-2006` first.
    pub fn presets() -> &'static [&'static str] {
        presets::NAMES
    }

    /// Parse a cost file's TOML text.
    pub fn from_toml_str(text: &str) -> Result<CostModel, CostError> {
        file::from_toml(text, "<toml>")
    }

    /// Parse a cost file's JSON text.
    pub fn from_json_str(text: &str) -> Result<CostModel, CostError> {
        file::from_json(text, "<json>")
    }

    /// Load a cost file; the extension (`.toml` or `.json`) picks the format.
    pub fn load(path: impl AsRef<Path>) -> Result<CostModel, CostError> {
        let path = path.as_ref();
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase);
        let parse = match ext.as_deref() {
            Some("toml") => file::from_toml,
            Some("json") => file::from_json,
            _ => {
                return Err(CostError::Extension {
                    path: path.to_owned(),
                });
            }
        };
        let text = std::fs::read_to_string(path).map_err(|source| CostError::Io {
            path: path.to_owned(),
            source,
        })?;
        parse(&text, &path.display().to_string())
    }

    /// What `--cost` takes: a preset name, or else a `.toml`/`.json` file.
    pub fn from_spec(spec: &str) -> Result<CostModel, CostError> {
        if let Some(model) = CostModel::preset(spec) {
            return Ok(model);
        }
        let path = Path::new(spec);
        match path.extension().and_then(|e| e.to_str()) {
            Some(_) => CostModel::load(path),
            None => Err(CostError::UnknownSpec {
                spec: spec.to_owned(),
                known: presets::NAMES.join(", "),
            }),
        }
    }

    /// The model as a complete, commented TOML cost file (every field, no
    /// `base`), which [`from_toml_str`](CostModel::from_toml_str) reads back
    /// to an equal model.
    pub fn to_toml_string(&self) -> String {
        file::to_toml(self)
    }

    /// The model as JSON (every field), which
    /// [`from_json_str`](CostModel::from_json_str) reads back.
    pub fn to_json_string(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// `(event, cost)` for every event, in [`Event::ALL`] order.
    pub fn iter(&self) -> impl Iterator<Item = (Event, u64)> + '_ {
        Event::ALL.iter().map(|&e| (e, self.cost(e)))
    }
}
