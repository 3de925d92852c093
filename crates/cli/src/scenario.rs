//! Scenarios: TOML files naming maps, mixes and workload settings; the
//! built-in ones are compiled in. Parse errors carry `file:line:col`.

use serde::Deserialize;
use toml::Spanned;

use crate::CliError;

/// Built-in scenarios: `(name, TOML text)`. `default` is what `run` runs.
pub(crate) const BUILTIN: [(&str, &str); 3] = [
    ("default", include_str!("../../../scenarios/default.toml")),
    ("churn", include_str!("../../../scenarios/churn.toml")),
    (
        "calibration",
        include_str!("../../../scenarios/calibration.toml"),
    ),
];

/// A scenario as written: values keep their source spans so validation can
/// point at them.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ScenarioFile {
    pub(crate) name: Option<String>,
    pub(crate) description: Option<String>,
    pub(crate) maps: Option<Vec<Spanned<String>>>,
    pub(crate) mixes: Option<Vec<Spanned<String>>>,
    pub(crate) keys: Option<Spanned<u64>>,
    pub(crate) prefill: Option<Spanned<f64>>,
    pub(crate) dist: Option<Spanned<String>>,
    pub(crate) ops_per_txn: Option<Spanned<u32>>,
    pub(crate) threads: Option<Spanned<usize>>,
    pub(crate) rates: Option<Spanned<String>>,
    pub(crate) step: Option<Spanned<String>>,
    pub(crate) arrivals: Option<Spanned<String>>,
    pub(crate) hasher: Option<Spanned<String>>,
    pub(crate) budget: Option<Spanned<String>>,
    pub(crate) ladder_steps: Option<Spanned<usize>>,
    pub(crate) refine_steps: Option<Spanned<usize>>,
    pub(crate) quick_budget: Option<Spanned<String>>,
    pub(crate) quick_ladder_steps: Option<Spanned<usize>>,
    pub(crate) quick_refine_steps: Option<Spanned<usize>>,
    pub(crate) repeat: Option<Spanned<usize>>,
}

/// A parsed scenario and where it came from.
#[derive(Debug)]
pub(crate) struct Scenario {
    /// A path, or `<builtin:NAME>`.
    pub(crate) origin: String,
    pub(crate) text: String,
    pub(crate) file: ScenarioFile,
    /// Built-in scenarios skip maps that are not built yet (with a warning)
    /// instead of failing: the lead lists maps ahead of their arrival.
    pub(crate) builtin: bool,
}

impl Scenario {
    /// The 1-based `line:col` of byte offset `at`.
    fn line_col(text: &str, at: usize) -> (usize, usize) {
        let before = &text[..at.min(text.len())];
        let line = before.matches('\n').count() + 1;
        let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        (line, col)
    }

    /// `origin:line:col` of a span's start.
    pub(crate) fn at(&self, span: std::ops::Range<usize>) -> String {
        let (line, col) = Self::line_col(&self.text, span.start);
        format!("{}:{line}:{col}", self.origin)
    }

    /// Parses `text`; errors read `origin:line:col: message`.
    pub(crate) fn parse(origin: &str, text: &str, builtin: bool) -> Result<Self, CliError> {
        let file: ScenarioFile = toml::from_str(text).map_err(|e| {
            let (line, col) = Self::line_col(text, e.span().map_or(0, |s| s.start));
            let msg = e.message().trim().replace('\n', "; ");
            CliError::usage(format!("{origin}:{line}:{col}: {msg}"))
        })?;
        Ok(Scenario {
            origin: origin.into(),
            text: text.into(),
            file,
            builtin,
        })
    }

    /// A built-in scenario by name, or a file by path. A path that exists
    /// wins over a built-in name.
    pub(crate) fn load(name_or_path: &str) -> Result<Self, CliError> {
        let path = std::path::Path::new(name_or_path);
        if !path.exists() {
            if let Some((name, text)) = BUILTIN.iter().find(|(n, _)| *n == name_or_path) {
                return Self::parse(&format!("<builtin:{name}>"), text, true);
            }
        }
        let text = std::fs::read_to_string(path)
            .map_err(|e| CliError::usage(format!("cannot read scenario '{name_or_path}': {e}")))?;
        Self::parse(name_or_path, &text, false)
    }

    pub(crate) fn default_scenario() -> Self {
        Self::load("default").expect("the built-in default scenario parses")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_scenarios_parse() {
        for (name, _) in BUILTIN {
            let s = Scenario::load(name).unwrap();
            assert!(s.builtin);
            assert!(s.file.maps.is_some(), "{name}");
        }
    }

    #[test]
    fn syntax_errors_point_at_line_and_column() {
        let text = "name = \"x\"\nmaps = [\"rwlock\",\nkeys = 5\n";
        let err = Scenario::parse("s.toml", text, false)
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("s.toml:3:"), "{err}");
        assert!(!err.contains('\n'), "{err}");
    }

    #[test]
    fn wrong_types_and_unknown_fields_point_at_the_value() {
        let err = Scenario::parse("s.toml", "keys = 5\nprefill = \"half\"\n", false)
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("s.toml:2:11:"), "{err}");
        let err = Scenario::parse("s.toml", "\n\n  colour = 1\n", false)
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("s.toml:3:3:") && err.contains("colour"),
            "{err}"
        );
    }

    #[test]
    fn spans_of_values_map_to_line_and_column() {
        let s = Scenario::parse("s.toml", "maps = [\n  \"rwlock\", \"btree\"]\n", false).unwrap();
        let maps = s.file.maps.as_ref().unwrap();
        assert_eq!(s.at(maps[1].span()), "s.toml:2:13");
    }

    #[test]
    fn unreadable_files_are_usage_errors() {
        let err = Scenario::load("/nonexistent/s.toml").unwrap_err();
        assert!(err.to_string().starts_with("cannot read scenario"));
    }
}
