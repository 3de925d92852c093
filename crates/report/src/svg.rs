//! A small SVG plotting module: linear and log scales with nice ticks, and
//! line charts with point markers, vertical markers, a legend, axis titles
//! and a title. Every coordinate written is finite: points that a scale
//! cannot place (non-finite, or ≤ 0 on a log axis) are dropped, and
//! degenerate domains (empty, one value, all equal) are widened.

use std::fmt::Write as _;

use crate::escape::escape;

/// Writes to a `String`; `fmt::Write` for `String` never fails.
macro_rules! w {
    ($($arg:tt)*) => {{
        let _ = write!($($arg)*);
    }};
}

/// How a scale maps data to pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ScaleKind {
    /// Proportional.
    Linear,
    /// Proportional to log10; only positive values are placeable.
    Log,
}

/// Maps a data domain `[lo, hi]` onto a pixel range `[a, b]`.
///
/// Invariant: `lo < hi`, both finite, and `lo > 0` for [`ScaleKind::Log`].
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Scale {
    kind: ScaleKind,
    lo: f64,
    hi: f64,
    a: f64,
    b: f64,
    ticks: Vec<f64>,
}

/// The "nice" step (1, 2 or 5 × 10^k) closest above `raw`.
fn nice_step(raw: f64) -> f64 {
    if !raw.is_finite() || raw <= 0.0 {
        return 1.0;
    }
    let p = 10f64.powf(raw.log10().floor());
    let f = raw / p;
    let m = if f <= 1.0 {
        1.0
    } else if f <= 2.0 {
        2.0
    } else if f <= 5.0 {
        5.0
    } else {
        10.0
    };
    m * p
}

/// The 1-2-5 value at or below (`up = false`) or above (`up = true`) `v > 0`.
fn snap125(v: f64, up: bool) -> f64 {
    let e = v.log10().floor();
    let p = 10f64.powf(e);
    let cands = [p, 2.0 * p, 5.0 * p, 10.0 * p];
    // A small tolerance keeps 1e-3 * 1e3 rounding noise from skipping a step.
    let tol = 1e-9 * p;
    if up {
        cands
            .into_iter()
            .find(|&c| c >= v - tol)
            .unwrap_or(10.0 * p)
    } else {
        cands.into_iter().rev().find(|&c| c <= v + tol).unwrap_or(p)
    }
}

impl Scale {
    /// A scale over the placeable `values`, widened to nice tick bounds;
    /// `include_zero` makes a linear scale start at (or cross) zero.
    pub(crate) fn fit(
        kind: ScaleKind,
        values: impl IntoIterator<Item = f64>,
        include_zero: bool,
        a: f64,
        b: f64,
    ) -> Scale {
        let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
        for v in values {
            if v.is_finite() && (kind == ScaleKind::Linear || v > 0.0) {
                lo = lo.min(v);
                hi = hi.max(v);
            }
        }
        match kind {
            ScaleKind::Linear => {
                if lo > hi {
                    (lo, hi) = (0.0, 1.0);
                }
                if include_zero {
                    lo = lo.min(0.0);
                    hi = hi.max(0.0);
                }
                if hi - lo <= f64::EPSILON * hi.abs().max(lo.abs()).max(1e-300) {
                    // All equal: widen by half the value, or to [0, 1] at 0.
                    let d = if lo == 0.0 { 1.0 } else { lo.abs() * 0.5 };
                    (lo, hi) = if include_zero && lo >= 0.0 {
                        (0.0, hi + d)
                    } else {
                        (lo - d, hi + d)
                    };
                }
                let step = nice_step((hi - lo) / 5.0);
                let (nlo, nhi) = ((lo / step).floor() * step, (hi / step).ceil() * step);
                let n = ((nhi - nlo) / step).round().clamp(1.0, 100.0) as usize;
                let ticks = (0..=n).map(|i| nlo + i as f64 * step).collect();
                Scale::checked(kind, nlo, nhi, a, b, ticks)
            }
            ScaleKind::Log => {
                if lo > hi {
                    (lo, hi) = (1.0, 10.0);
                }
                let (mut slo, mut shi) = (snap125(lo, false), snap125(hi, true));
                if shi <= slo {
                    // One value on a 1-2-5 step: centre it in a decade.
                    (slo, shi) = (slo / 10f64.sqrt(), shi * 10f64.sqrt());
                    (slo, shi) = (snap125(slo, false), snap125(shi, true));
                }
                let decades = (shi / slo).log10();
                let ticks = if decades <= 2.05 {
                    let mut t = vec![];
                    let mut v = slo;
                    while v <= shi * (1.0 + 1e-9) && t.len() < 40 {
                        t.push(v);
                        v = snap125(v * 1.0001, true);
                    }
                    t
                } else {
                    let (elo, ehi) = (slo.log10().floor(), shi.log10().ceil());
                    (slo, shi) = (10f64.powf(elo), 10f64.powf(ehi));
                    let stride = ((ehi - elo) / 8.0).ceil().max(1.0);
                    let mut t = vec![];
                    let mut e = elo;
                    while e <= ehi && t.len() < 40 {
                        t.push(10f64.powf(e));
                        e += stride;
                    }
                    t
                };
                Scale::checked(kind, slo, shi, a, b, ticks)
            }
        }
    }

    /// Enforces the invariant, falling back to a unit domain.
    fn checked(kind: ScaleKind, lo: f64, hi: f64, a: f64, b: f64, ticks: Vec<f64>) -> Scale {
        let ok = lo.is_finite()
            && hi.is_finite()
            && lo < hi
            && (kind == ScaleKind::Linear || lo > 0.0)
            && a.is_finite()
            && b.is_finite();
        if ok {
            Scale {
                kind,
                lo,
                hi,
                a,
                b,
                ticks,
            }
        } else {
            let (lo, hi) = if kind == ScaleKind::Log {
                (1.0, 10.0)
            } else {
                (0.0, 1.0)
            };
            let (a, b) = if a.is_finite() && b.is_finite() {
                (a, b)
            } else {
                (0.0, 1.0)
            };
            Scale {
                kind,
                lo,
                hi,
                a,
                b,
                ticks: vec![lo, hi],
            }
        }
    }

    /// Whether `v` can be placed on this scale.
    pub(crate) fn placeable(&self, v: f64) -> bool {
        v.is_finite() && (self.kind == ScaleKind::Linear || v > 0.0)
    }

    /// The pixel position of `v`, clamped to the pixel range; `None` when
    /// `v` is not placeable.
    pub(crate) fn map(&self, v: f64) -> Option<f64> {
        if !self.placeable(v) {
            return None;
        }
        let t = match self.kind {
            ScaleKind::Linear => (v - self.lo) / (self.hi - self.lo),
            ScaleKind::Log => (v.log10() - self.lo.log10()) / (self.hi.log10() - self.lo.log10()),
        };
        let p = self.a + t.clamp(-0.02, 1.02) * (self.b - self.a);
        p.is_finite().then_some(p)
    }

    /// Tick values inside the domain, ascending.
    pub(crate) fn ticks(&self) -> &[f64] {
        &self.ticks
    }

    /// The domain `(lo, hi)`.
    #[cfg(test)]
    pub(crate) fn domain(&self) -> (f64, f64) {
        (self.lo, self.hi)
    }
}

/// One axis of a chart.
#[derive(Debug, Clone)]
pub(crate) struct Axis {
    /// Axis title, with its unit.
    pub(crate) label: String,
    /// Linear or log.
    pub(crate) kind: ScaleKind,
    /// Tick-label format.
    pub(crate) format: fn(f64) -> String,
    /// Whether a linear axis must show zero.
    pub(crate) include_zero: bool,
}

/// How a series is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stroke {
    /// Solid line with point markers.
    LineAndPoints,
    /// Solid line only.
    Line,
    /// Dashed line, no markers (references and fits).
    Dashed,
    /// Point markers only.
    Points,
}

/// A named line on a chart.
#[derive(Debug, Clone)]
pub(crate) struct Series {
    /// Legend text (empty: not in the legend).
    pub(crate) label: String,
    /// CSS colour.
    pub(crate) color: String,
    /// Data points `(x, y)`, in drawing order.
    pub(crate) points: Vec<(f64, f64)>,
    /// Drawing style.
    pub(crate) stroke: Stroke,
}

/// How strongly a vertical marker is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Emphasis {
    /// Solid, full colour (the knee).
    Strong,
    /// Dashed and faded (references: Kneedle, M/M/1, events).
    Light,
}

/// A labelled vertical line at `x`.
#[derive(Debug, Clone)]
pub(crate) struct Marker {
    /// Where, in data units.
    pub(crate) x: f64,
    /// Text drawn at the top of the line (empty: none).
    pub(crate) label: String,
    /// Hover text.
    pub(crate) tooltip: String,
    /// CSS colour.
    pub(crate) color: String,
    /// Solid or faded.
    pub(crate) emphasis: Emphasis,
    /// CSS class of the marker group (`knee`, `kneedle`, `mm1`, `event`).
    pub(crate) class: &'static str,
    /// The map this marks, written as `data-map`.
    pub(crate) map: Option<String>,
}

/// A labelled horizontal line at `y`: a threshold the data is read
/// against (the latency objective).
#[derive(Debug, Clone)]
pub(crate) struct HLine {
    /// Where, in data units. The y scale always reaches it, so the line is
    /// drawn even when every point lies below it.
    pub(crate) y: f64,
    /// Text drawn at the right end, above the line.
    pub(crate) label: String,
    /// Hover text.
    pub(crate) tooltip: String,
    /// CSS colour.
    pub(crate) color: String,
    /// CSS class of the line's group (`slo`).
    pub(crate) class: &'static str,
}

/// A line chart.
#[derive(Debug, Clone)]
pub(crate) struct Chart {
    /// Title at the top.
    pub(crate) title: String,
    /// Horizontal axis.
    pub(crate) x: Axis,
    /// Vertical axis.
    pub(crate) y: Axis,
    /// Lines, drawn in order.
    pub(crate) series: Vec<Series>,
    /// Vertical markers, drawn under the lines.
    pub(crate) markers: Vec<Marker>,
    /// Horizontal lines, drawn under the data.
    pub(crate) hlines: Vec<HLine>,
    /// viewBox width.
    pub(crate) width: f64,
    /// viewBox height.
    pub(crate) height: f64,
}

/// Where a marker's label goes: text x, `text-anchor`, row (0 at the top).
type Label = (f64, &'static str, usize);

/// Approximate width of `s` at the 12 px sans-serif used for legends.
fn text_width(s: &str, px: f64) -> f64 {
    s.chars().count() as f64 * px * 0.56
}

/// Left margin: room for tick labels and the rotated axis title.
const LEFT: f64 = 74.0;
/// Right margin: room for the last x tick label.
const RIGHT: f64 = 22.0;
/// Most rows of stacked marker labels before they overlap.
const MARKER_ROWS: usize = 6;
/// Bottom margin: x tick labels and the axis title.
const BOTTOM: f64 = 46.0;

impl Chart {
    /// A chart with no series or markers, `720 × 360`.
    pub(crate) fn new(title: impl Into<String>, x: Axis, y: Axis) -> Chart {
        Chart {
            title: title.into(),
            x,
            y,
            series: vec![],
            markers: vec![],
            hlines: vec![],
            width: 720.0,
            height: 360.0,
        }
    }

    fn placeable(kind: ScaleKind, v: f64) -> bool {
        v.is_finite() && (kind == ScaleKind::Linear || v > 0.0)
    }

    /// Whether any series has a point both axes can place.
    pub(crate) fn has_data(&self) -> bool {
        self.series.iter().any(|s| {
            s.points
                .iter()
                .any(|&(x, y)| Self::placeable(self.x.kind, x) && Self::placeable(self.y.kind, y))
        })
    }

    /// Legend entries laid out in rows: `(row, x, series index)`.
    fn legend_layout(&self) -> (Vec<(usize, f64, usize)>, usize) {
        let mut out = vec![];
        let (mut row, mut x) = (0usize, LEFT);
        for (i, s) in self.series.iter().enumerate() {
            if s.label.is_empty() {
                continue;
            }
            let w = 26.0 + text_width(&s.label, 12.0) + 18.0;
            if x + w > self.width - RIGHT && x > LEFT {
                row += 1;
                x = LEFT;
            }
            out.push((row, x, i));
            x += w;
        }
        let rows = if out.is_empty() { 0 } else { row + 1 };
        (out, rows)
    }

    /// Places marker labels: for each marker, `(text x, anchor, row)` or
    /// `None` (unplaceable or unlabelled). Each label goes to the first row
    /// where it does not overlap an earlier one (greedy), so neighbours stay
    /// legible; returns the rows used too.
    fn label_layout(&self, xscale: &Scale, px1: f64) -> (Vec<Option<Label>>, usize) {
        let mut rows: Vec<Vec<(f64, f64)>> = vec![];
        let mut out = vec![];
        for m in &self.markers {
            let x = match xscale.map(m.x) {
                Some(x) if !m.label.is_empty() => x,
                _ => {
                    out.push(None);
                    continue;
                }
            };
            let tw = text_width(&m.label, 11.0) + 6.0;
            let (tx, anchor, span) = if x + tw > px1 {
                (x - 4.0, "end", (x - tw, x))
            } else {
                (x + 4.0, "start", (x, x + tw))
            };
            let free = |r: &Vec<(f64, f64)>| r.iter().all(|&(a, b)| span.1 < a || b < span.0);
            let row = match rows.iter().position(free) {
                Some(i) => i,
                None if rows.len() < MARKER_ROWS => {
                    rows.push(vec![]);
                    rows.len() - 1
                }
                None => rows.len() - 1,
            };
            if let Some(r) = rows.get_mut(row) {
                r.push(span);
            }
            out.push(Some((tx, anchor, row)));
        }
        (out, rows.len())
    }

    /// The chart as an `<svg>` element.
    pub(crate) fn render(&self) -> String {
        let (w, h) = (self.width, self.height);
        let (legend, rows) = self.legend_layout();
        let top = 30.0 + rows as f64 * 18.0 + if self.markers.is_empty() { 6.0 } else { 8.0 };
        let (px0, px1) = (LEFT, w - RIGHT);
        let (py0, py1) = (h - BOTTOM, top);
        let plot_h = (py0 - py1).max(10.0);
        let py1 = py0 - plot_h;

        let good = |&(x, y): &(f64, f64)| {
            Self::placeable(self.x.kind, x) && Self::placeable(self.y.kind, y)
        };
        let xs = self
            .series
            .iter()
            .flat_map(|s| s.points.iter().filter(|p| good(p)).map(|p| p.0))
            .chain(self.markers.iter().map(|m| m.x));
        let xscale = Scale::fit(self.x.kind, xs, self.x.include_zero, px0, px1);
        let ys = self
            .series
            .iter()
            .flat_map(|s| s.points.iter().filter(|p| good(p)).map(|p| p.1))
            .chain(self.hlines.iter().map(|l| l.y));
        // Data stays below the marker labels' band.
        let (labels, label_rows) = self.label_layout(&xscale, px1);
        let band = (label_rows as f64 * 13.0).min(plot_h * 0.4);
        let yscale = Scale::fit(self.y.kind, ys, self.y.include_zero, py0, py1 + band);

        let mut o = String::new();
        w!(
            o,
            r#"<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {w} {h}" role="img" aria-label="{t}">"#,
            t = escape(&self.title)
        );
        w!(o, "<title>{}</title>", escape(&self.title));
        w!(
            o,
            r#"<text class="title" x="{px0}" y="19">{}</text>"#,
            escape(&self.title)
        );
        // Legend.
        for &(row, x, i) in &legend {
            let s = &self.series[i];
            let y = 36.0 + row as f64 * 18.0;
            w!(o, r#"<g class="legend">"#);
            match s.stroke {
                Stroke::Points => w!(
                    o,
                    r#"<circle cx="{:.1}" cy="{:.1}" r="3.5" fill="{c}"/>"#,
                    x + 11.0,
                    y - 4.0,
                    c = escape(&s.color)
                ),
                _ => {
                    let dash = if s.stroke == Stroke::Dashed {
                        r#" stroke-dasharray="6 4""#
                    } else {
                        ""
                    };
                    w!(
                        o,
                        r#"<line x1="{x:.1}" y1="{yy:.1}" x2="{x2:.1}" y2="{yy:.1}" stroke="{c}" stroke-width="2.5"{dash}/>"#,
                        yy = y - 4.0,
                        x2 = x + 22.0,
                        c = escape(&s.color)
                    );
                }
            }
            w!(
                o,
                r#"<text x="{:.1}" y="{y:.1}">{}</text></g>"#,
                x + 27.0,
                escape(&s.label)
            );
        }
        // Grid and ticks.
        w!(o, r#"<g class="grid">"#);
        for &t in yscale.ticks() {
            if let Some(y) = yscale.map(t) {
                w!(
                    o,
                    r#"<line x1="{px0}" y1="{y:.1}" x2="{px1}" y2="{y:.1}"/>"#
                );
            }
        }
        for &t in xscale.ticks() {
            if let Some(x) = xscale.map(t) {
                w!(
                    o,
                    r#"<line x1="{x:.1}" y1="{py1:.1}" x2="{x:.1}" y2="{py0:.1}"/>"#
                );
            }
        }
        w!(o, "</g>");
        w!(o, r#"<g class="axis">"#);
        w!(
            o,
            r#"<line x1="{px0}" y1="{py0:.1}" x2="{px1}" y2="{py0:.1}"/><line x1="{px0}" y1="{py1:.1}" x2="{px0}" y2="{py0:.1}"/>"#
        );
        for &t in yscale.ticks() {
            if let Some(y) = yscale.map(t) {
                w!(
                    o,
                    r#"<text class="ytick" x="{:.1}" y="{:.1}">{}</text>"#,
                    px0 - 6.0,
                    y + 4.0,
                    escape(&(self.y.format)(t))
                );
            }
        }
        // Thin crowded x labels: at most one per 56 px.
        let xt = xscale.ticks();
        let span = (px1 - px0).abs();
        let every = ((xt.len() as f64 * 56.0 / span.max(1.0)).ceil() as usize).max(1);
        for (i, &t) in xt.iter().enumerate() {
            if i % every != 0 {
                continue;
            }
            if let Some(x) = xscale.map(t) {
                w!(
                    o,
                    r#"<text class="xtick" x="{x:.1}" y="{:.1}">{}</text>"#,
                    py0 + 16.0,
                    escape(&(self.x.format)(t))
                );
            }
        }
        w!(
            o,
            r#"<text class="xlabel" x="{:.1}" y="{:.1}">{}</text>"#,
            (px0 + px1) / 2.0,
            h - 8.0,
            escape(&self.x.label)
        );
        w!(
            o,
            r#"<text class="ylabel" transform="translate(15 {:.1}) rotate(-90)">{}</text>"#,
            (py0 + py1) / 2.0,
            escape(&self.y.label)
        );
        w!(o, "</g>");

        // Vertical markers, over the whole plot height.
        for (m, label) in self.markers.iter().zip(&labels) {
            let Some(x) = xscale.map(m.x) else { continue };
            let map = m
                .map
                .as_deref()
                .map(|n| format!(r#" data-map="{}""#, escape(n)))
                .unwrap_or_default();
            w!(o, r#"<g class="marker {}"{map}>"#, m.class);
            if !m.tooltip.is_empty() {
                w!(o, "<title>{}</title>", escape(&m.tooltip));
            }
            let style = match m.emphasis {
                Emphasis::Strong => r#"stroke-width="2""#,
                Emphasis::Light => r#"stroke-width="1.5" stroke-dasharray="4 3" opacity="0.6""#,
            };
            w!(
                o,
                r#"<line x1="{x:.1}" y1="{py1:.1}" x2="{x:.1}" y2="{py0:.1}" stroke="{}" {style}/>"#,
                escape(&m.color)
            );
            if let Some((tx, anchor, row)) = *label {
                let ly = py1 + 10.0 + row as f64 * 13.0;
                w!(
                    o,
                    r#"<text class="mlabel" x="{tx:.1}" y="{ly:.1}" text-anchor="{anchor}" fill="{}">{}</text>"#,
                    escape(&m.color),
                    escape(&m.label)
                );
            }
            w!(o, "</g>");
        }

        // Horizontal lines, across the plot, labelled at the right end.
        for l in &self.hlines {
            let Some(y) = yscale.map(l.y) else { continue };
            w!(o, r#"<g class="hline {}">"#, l.class);
            if !l.tooltip.is_empty() {
                w!(o, "<title>{}</title>", escape(&l.tooltip));
            }
            w!(
                o,
                r#"<line x1="{px0}" y1="{y:.1}" x2="{px1}" y2="{y:.1}" stroke="{}" stroke-width="1.5" stroke-dasharray="8 4"/>"#,
                escape(&l.color)
            );
            if !l.label.is_empty() {
                w!(
                    o,
                    r#"<text class="hlabel" x="{:.1}" y="{:.1}" text-anchor="end" fill="{}">{}</text>"#,
                    px1 - 4.0,
                    y - 5.0,
                    escape(&l.color),
                    escape(&l.label)
                );
            }
            w!(o, "</g>");
        }

        // Data.
        for s in &self.series {
            let pts: Vec<(f64, f64)> = s
                .points
                .iter()
                .filter_map(|&(x, y)| Some((xscale.map(x)?, yscale.map(y)?)))
                .collect();
            if pts.is_empty() {
                continue;
            }
            let c = escape(&s.color);
            w!(
                o,
                r#"<g class="series" data-series="{}">"#,
                escape(&s.label)
            );
            if s.stroke != Stroke::Points && pts.len() > 1 {
                let dash = if s.stroke == Stroke::Dashed {
                    r#" stroke-dasharray="6 4""#
                } else {
                    ""
                };
                let mut p = String::new();
                for (i, (x, y)) in pts.iter().enumerate() {
                    w!(p, "{}{x:.1},{y:.1}", if i == 0 { "" } else { " " });
                }
                w!(
                    o,
                    r#"<polyline points="{p}" fill="none" stroke="{c}" stroke-width="2" stroke-linejoin="round"{dash}/>"#
                );
            }
            let dots = matches!(s.stroke, Stroke::LineAndPoints | Stroke::Points) || pts.len() == 1;
            if dots {
                for (x, y) in &pts {
                    w!(
                        o,
                        r##"<circle cx="{x:.1}" cy="{y:.1}" r="3.2" fill="{c}" stroke="#fff" stroke-width="1"/>"##
                    );
                }
            }
            w!(o, "</g>");
        }
        if !self.has_data() {
            w!(
                o,
                r#"<text class="empty" x="{:.1}" y="{:.1}">no data</text>"#,
                (px0 + px1) / 2.0,
                (py0 + py1) / 2.0
            );
        }
        w!(o, "</svg>");
        o
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lin(values: &[f64], zero: bool) -> Scale {
        Scale::fit(ScaleKind::Linear, values.iter().copied(), zero, 0.0, 100.0)
    }
    fn log(values: &[f64]) -> Scale {
        Scale::fit(ScaleKind::Log, values.iter().copied(), false, 0.0, 100.0)
    }

    #[test]
    fn nice_steps_are_1_2_5() {
        assert_eq!(nice_step(0.9), 1.0);
        assert_eq!(nice_step(1.3), 2.0);
        assert_eq!(nice_step(3.0), 5.0);
        assert_eq!(nice_step(7.0), 10.0);
        assert_eq!(nice_step(1300.0), 2000.0);
        assert_eq!(nice_step(f64::NAN), 1.0);
        assert_eq!(nice_step(0.0), 1.0);
    }

    #[test]
    fn linear_ticks_cover_the_data_on_nice_bounds() {
        let s = lin(&[3.0, 97.0], false);
        assert_eq!(s.domain(), (0.0, 100.0));
        assert_eq!(s.ticks(), &[0.0, 20.0, 40.0, 60.0, 80.0, 100.0]);
        let s = lin(&[100_000.0, 800_000.0], true);
        assert_eq!(s.domain(), (0.0, 800_000.0));
        assert_eq!(s.ticks().len(), 5);
    }

    #[test]
    fn linear_degenerate_domains_are_widened() {
        for s in [
            lin(&[], false),
            lin(&[5.0], false),
            lin(&[0.0, 0.0], true),
            lin(&[-3.0, -3.0], false),
            lin(&[f64::NAN, f64::INFINITY], true),
        ] {
            let (lo, hi) = s.domain();
            assert!(lo.is_finite() && hi.is_finite() && lo < hi, "{lo} {hi}");
            assert!(s.ticks().len() >= 2);
            for &t in s.ticks() {
                assert!(s.map(t).unwrap().is_finite());
            }
        }
        assert_eq!(lin(&[5.0], true).domain(), (0.0, 5.0));
    }

    #[test]
    fn log_ticks_are_decades_over_wide_ranges() {
        let s = log(&[2_000.0, 40_000_000.0]);
        assert_eq!(s.domain(), (1e3, 1e8));
        assert_eq!(s.ticks(), &[1e3, 1e4, 1e5, 1e6, 1e7, 1e8]);
    }

    #[test]
    fn log_ticks_are_1_2_5_over_narrow_ranges() {
        let s = log(&[1_500.0, 3_000.0]);
        assert_eq!(s.domain(), (1_000.0, 5_000.0));
        assert_eq!(s.ticks(), &[1_000.0, 2_000.0, 5_000.0]);
    }

    #[test]
    fn log_ignores_nonpositive_and_widens_single_values() {
        let s = log(&[0.0, -1.0, 1000.0]);
        let (lo, hi) = s.domain();
        assert!(lo < 1000.0 && 1000.0 < hi, "{lo} {hi}");
        let s = log(&[0.0]);
        assert_eq!(s.domain(), (1.0, 10.0));
        assert_eq!(s.map(0.0), None);
        assert_eq!(s.map(f64::NAN), None);
    }

    #[test]
    fn map_is_monotone_and_clamped() {
        let s = log(&[10.0, 1000.0]);
        assert_eq!(s.map(10.0), Some(0.0));
        assert_eq!(s.map(100.0), Some(50.0));
        assert_eq!(s.map(1000.0), Some(100.0));
        assert_eq!(s.map(1e9), Some(102.0));
        let s = Scale::fit(ScaleKind::Linear, [0.0, 10.0], false, 300.0, 20.0);
        assert!(s.map(2.0).unwrap() > s.map(8.0).unwrap());
    }

    fn axis(kind: ScaleKind) -> Axis {
        Axis {
            label: "x".into(),
            kind,
            format: |v| format!("{v}"),
            include_zero: false,
        }
    }

    #[test]
    fn charts_never_write_nan() {
        let mut c = Chart::new("<edge>", axis(ScaleKind::Log), axis(ScaleKind::Log));
        c.series.push(Series {
            label: "a&b".into(),
            color: "#000".into(),
            points: vec![(0.0, 0.0), (f64::NAN, 1.0), (1.0, f64::INFINITY)],
            stroke: Stroke::LineAndPoints,
        });
        c.markers.push(Marker {
            x: f64::NAN,
            label: "k".into(),
            tooltip: String::new(),
            color: "#000".into(),
            emphasis: Emphasis::Strong,
            class: "knee",
            map: None,
        });
        assert!(!c.has_data());
        let svg = c.render();
        assert!(!svg.contains("NaN") && !svg.contains("inf"), "{svg}");
        assert!(svg.contains("no data") && svg.contains("&lt;edge&gt;"));
    }

    #[test]
    fn a_horizontal_line_is_drawn_even_above_every_point() {
        let mut c = Chart::new("p99", axis(ScaleKind::Linear), axis(ScaleKind::Log));
        c.series.push(Series {
            label: "a".into(),
            color: "#000".into(),
            points: vec![(1.0, 20_000.0), (2.0, 40_000.0)],
            stroke: Stroke::Line,
        });
        c.hlines.push(HLine {
            y: 1e6,
            label: "p99 ≤ 1 ms".into(),
            tooltip: "objective".into(),
            color: "#c00".into(),
            class: "slo",
        });
        let svg = c.render();
        let at = svg
            .find(r#"<g class="hline slo">"#)
            .expect("the line's group");
        let line = &svg[at..];
        // Horizontal: both ends at the same y, inside the plot.
        let attr = |name: &str| -> f64 {
            let k = line.find(&format!(r#"{name}=""#)).unwrap() + name.len() + 2;
            line[k..k + line[k..].find('"').unwrap()].parse().unwrap()
        };
        assert_eq!(attr("y1"), attr("y2"));
        assert!(attr("x1") < attr("x2"));
        // 1e6 is the top of the data's log scale: above the 40 µs point.
        assert!(attr("y1") < 360.0 - BOTTOM && attr("y1") > 0.0);
        assert!(line.contains("p99 ≤ 1 ms"));
        // Not placeable on a log axis: nothing drawn, nothing broken.
        c.hlines[0].y = 0.0;
        let svg = c.render();
        assert!(!svg.contains("hline") && !svg.contains("NaN"));
    }

    #[test]
    fn single_point_draws_a_marker() {
        let mut c = Chart::new("one", axis(ScaleKind::Linear), axis(ScaleKind::Log));
        c.series.push(Series {
            label: "a".into(),
            color: "#000".into(),
            points: vec![(5.0, 5.0)],
            stroke: Stroke::Line,
        });
        let svg = c.render();
        assert!(svg.contains("<circle cx") && !svg.contains("<polyline"));
    }
}
