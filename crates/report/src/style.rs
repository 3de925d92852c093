//! The page's inline stylesheet and colours.

/// Colours given to maps in order of first appearance: the Okabe–Ito
/// colour-blind-safe palette, minus its yellow (unreadable on white).
pub(crate) const MAP_COLORS: [&str; 7] = [
    "#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000",
];

/// Percentile spectrum colours, light (p50) to dark (max): one sequential
/// blue ramp so order reads as severity.
pub(crate) const PERCENTILE_COLORS: [&str; 5] =
    ["#9ecae1", "#6baed6", "#3182bd", "#08519c", "#252525"];

/// Event marker colours on timelines, distinct from [`MAP_COLORS`].
pub(crate) const EVENT_COLORS: [(&str, &str); 4] = [
    ("promotions", "#7B3294"),
    ("dirty_rebuilds", "#A6611A"),
    ("growths_doubling", "#C51B7D"),
    ("growths_same_size", "#4D9221"),
];

/// Grey for reference lines (y = x).
pub(crate) const REFERENCE: &str = "#8a93a3";

/// Dark red for the latency objective's line: a limit, and unlike every
/// map's colour.
pub(crate) const OBJECTIVE: &str = "#B2182B";

/// The stylesheet. It must contain no `<` or `&` (it sits in `<style>`
/// of a page that also parses as XML).
pub(crate) const CSS: &str = r#"
:root { --fg: #1d2330; --muted: #5b6474; --line: #e3e6eb; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif; color: var(--fg); background: #f3f4f6; }
main { max-width: 1180px; margin: 0 auto; padding: 24px 32px 64px; background: #fff; }
h1 { font-size: 26px; margin: 0 0 4px; }
h2 { font-size: 20px; margin: 40px 0 8px; padding-bottom: 4px; border-bottom: 1px solid var(--line); }
h3 { font-size: 16px; margin: 24px 0 4px; }
h2 small, h3 small { font-weight: normal; color: var(--muted); font-size: 13px; }
p { margin: 6px 0; max-width: 62em; }
.lede, .note, figcaption { color: var(--muted); }
.note, figcaption { font-size: 13px; }
.warn { background: #fff4e5; border-left: 4px solid #E69F00; padding: 8px 12px; max-width: none; }
nav a { margin-right: 14px; }
a { color: #0072B2; }
dl.machine { display: grid; grid-template-columns: max-content 1fr max-content 1fr; gap: 2px 18px; margin: 8px 0; }
dl.machine dt { color: var(--muted); }
dl.machine dd { margin: 0; }
table { border-collapse: collapse; margin: 8px 0 16px; font-variant-numeric: tabular-nums; }
th, td { padding: 4px 12px; border-bottom: 1px solid var(--line); text-align: left; vertical-align: top; }
th { font-weight: 600; background: #f7f8fa; }
td.num { text-align: right; }
td:first-child { white-space: nowrap; }
.swatch { display: inline-block; width: 11px; height: 11px; border-radius: 2px; margin-right: 6px; }
.agree { color: #009E73; }
.disagree { color: #D55E00; }
figure { margin: 10px 0 18px; }
figure svg { display: block; width: 100%; height: auto; }
figure.wide svg { max-width: 940px; }
.grid2 { display: grid; grid-template-columns: repeat(auto-fit, minmax(440px, 1fr)); gap: 4px 24px; }
svg text { font-family: system-ui, -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif; font-size: 12px; }
svg .title { font-size: 14px; font-weight: 600; }
svg .grid line { stroke: #eceef2; }
svg .axis line { stroke: #8a93a3; }
svg .ytick { text-anchor: end; fill: #444; }
svg .xtick { text-anchor: middle; fill: #444; }
svg .xlabel, svg .ylabel { text-anchor: middle; fill: #5b6474; }
svg .mlabel { font-size: 11px; paint-order: stroke; stroke: #fff; stroke-width: 3px; stroke-linejoin: round; }
svg .hlabel { font-size: 11px; font-weight: 600; paint-order: stroke; stroke: #fff; stroke-width: 3px; stroke-linejoin: round; }
svg .empty { text-anchor: middle; fill: #999; }
.never { color: #B2182B; }
"#;
