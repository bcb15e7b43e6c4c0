//! results.json: the whole [`BenchReport`] (schema in docs/bench.md).

use crate::run::BenchReport;

/// `report` as pretty-printed JSON.
pub fn render(report: &BenchReport) -> String {
    let mut s =
        serde_json::to_string_pretty(report).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
    s.push('\n');
    s
}
