//! The `mapknee/v1` results contract as pretty JSON.

use mapknee_load::Results;

/// The `mapknee/v1` results contract, pretty-printed.
pub fn render(results: &Results) -> String {
    serde_json::to_string_pretty(results).expect("results serialize")
}
