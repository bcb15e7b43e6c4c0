//! Modeled cycles = counted events x costs, kept per event and per category
//! so a report can show where the cycles went.

use serde::ser::{Serialize, SerializeMap, Serializer};

use super::{Category, CostModel, Event};

/// Modeled cycles of one run, by event and by category.
///
/// Built from a [`CostModel`] whose prices it copies; [`add`](Breakdown::add)
/// counts events. Arithmetic saturates, so an absurd run cannot wrap around.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Breakdown {
    prices: [u64; Event::COUNT],
    counts: [u64; Event::COUNT],
    cycles: [u64; Event::COUNT],
    by_category: [u64; Category::ALL.len()],
    total: u64,
}

impl Breakdown {
    /// An empty breakdown priced by `model`.
    pub fn new(model: &CostModel) -> Breakdown {
        let mut prices = [0; Event::COUNT];
        for &e in Event::ALL {
            prices[e.index()] = model.cost(e);
        }
        Breakdown {
            prices,
            counts: [0; Event::COUNT],
            cycles: [0; Event::COUNT],
            by_category: [0; Category::ALL.len()],
            total: 0,
        }
    }

    /// Count `count` occurrences of `event`; returns the cycles they cost.
    pub fn add(&mut self, event: Event, count: u64) -> u64 {
        let i = event.index();
        let cycles = self.prices[i].saturating_mul(count);
        self.counts[i] = self.counts[i].saturating_add(count);
        self.cycles[i] = self.cycles[i].saturating_add(cycles);
        let c = event.category().index();
        self.by_category[c] = self.by_category[c].saturating_add(cycles);
        self.total = self.total.saturating_add(cycles);
        cycles
    }

    /// Add every count of `other` (priced by `self`'s model).
    pub fn merge(&mut self, other: &Breakdown) {
        for &e in Event::ALL {
            self.add(e, other.counts[e.index()]);
        }
    }

    /// All modeled cycles.
    pub fn total(&self) -> u64 {
        self.total
    }

    /// Modeled cycles of one category.
    pub fn category(&self, category: Category) -> u64 {
        self.by_category[category.index()]
    }

    /// How many times `event` was counted.
    pub fn count(&self, event: Event) -> u64 {
        self.counts[event.index()]
    }

    /// Modeled cycles spent on `event`.
    pub fn cycles(&self, event: Event) -> u64 {
        self.cycles[event.index()]
    }

    /// `(category, cycles)` for every category, in [`Category::ALL`] order
    /// (zeros included, so two breakdowns line up).
    pub fn iter(&self) -> impl Iterator<Item = (Category, u64)> + '_ {
        Category::ALL
            .iter()
            .map(|&c| (c, self.by_category[c.index()]))
    }

    /// `(event, count, cycles)` for every event, in [`Event::ALL`] order.
    pub fn events(&self) -> impl Iterator<Item = (Event, u64, u64)> + '_ {
        Event::ALL
            .iter()
            .map(|&e| (e, self.counts[e.index()], self.cycles[e.index()]))
    }
}

/// Serialized as `{"total": N, "categories": {name: cycles, ...},
/// "events": {name: {"count": N, "cycles": N}, ...}}`, in fixed order; events
/// never counted are left out.
impl Serialize for Breakdown {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        struct Categories<'a>(&'a Breakdown);
        impl Serialize for Categories<'_> {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                let mut map = s.serialize_map(Some(Category::ALL.len()))?;
                for (c, cycles) in self.0.iter() {
                    map.serialize_entry(c.name(), &cycles)?;
                }
                map.end()
            }
        }
        struct Events<'a>(&'a Breakdown);
        #[derive(serde::Serialize)]
        struct Entry {
            count: u64,
            cycles: u64,
        }
        impl Serialize for Events<'_> {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                let mut map = s.serialize_map(None)?;
                for (e, count, cycles) in self.0.events().filter(|(_, n, _)| *n > 0) {
                    map.serialize_entry(e.name(), &Entry { count, cycles })?;
                }
                map.end()
            }
        }
        let mut map = serializer.serialize_map(Some(3))?;
        map.serialize_entry("total", &self.total)?;
        map.serialize_entry("categories", &Categories(self))?;
        map.serialize_entry("events", &Events(self))?;
        map.end()
    }
}
