//! The variance trend of a chain of monthly runs, from `OUT/trend.parquet` (written with
//! `--previous`): per license and quantity type, the variance % of every run of the chain,
//! oldest first. `report.html` draws one small line chart per license and quantity type
//! (inline SVG, the significance threshold dashed, each point labelled, a run without counts
//! left as a gap); `report.md` has the same numbers as a table.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::Path;

use polars::prelude::*;

use super::data::{Run, bools, floats, ints, scan_optional, strings};
use super::html::esc;
use super::markdown::{cell, table};
use super::text::{cap_note, int, pct};
use crate::error::{PolarsContext, Result};
use crate::schema::out;

macro_rules! w {
    ($dst:expr, $($arg:tt)*) => {{
        let _ = write!($dst, $($arg)*);
    }};
}

/// Charts drawn at most in `report.html`; the table in `report.md` follows `max_rows`.
pub(crate) const MAX_CHARTS: usize = 24;

/// What a license × quantity type shows for one run.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Cell {
    /// No totals in that run (no count sheet, or none of this quantity type): a gap.
    NotChecked,
    /// Its variance % (not finite without system inventory) and whether it was significant
    /// (`None`: not determined).
    Value { pct: f64, significant: Option<bool> },
}

/// One line of the trend: a license and quantity type, one cell per run of the chain.
#[derive(Debug, Clone, Default)]
pub(crate) struct Series {
    pub license: String,
    pub quantity_type: String,
    pub unit: String,
    pub cells: Vec<Cell>,
}

/// The variance trend of the chain of runs.
#[derive(Debug, Clone, Default)]
pub(crate) struct Trend {
    /// Each run's label (its date, UTC; with the time when two runs share a date), oldest
    /// first.
    pub runs: Vec<String>,
    /// Each run's id, in the same order.
    pub run_ids: Vec<String>,
    pub series: Vec<Series>,
    /// The significance threshold (±, %) drawn, when significance is measured against the
    /// system total (`None` under the average-monthly-sales basis or without a manifest).
    pub threshold_pct: Option<f64>,
    /// Significance is measured against average monthly sales, not the variance %.
    pub sales_basis: bool,
}

/// One row of `trend.parquet`.
#[derive(Debug, Clone, Default)]
pub(crate) struct Row {
    pub run_id: String,
    /// µs since 1970, UTC.
    pub run_at: Option<i64>,
    pub license: String,
    pub quantity_type: String,
    pub unit: String,
    pub variance_pct: Option<f64>,
    pub significant: Option<bool>,
}

/// The trend of `OUT/trend.parquet`, or `None` when this run was not compared with a
/// previous one. Series follow `licenses` (the report's order), then the others by name.
pub(crate) fn load(out_dir: &Path, run: &Run, licenses: &[&str]) -> Result<Option<Trend>> {
    let Some(lf) = scan_optional(&out_dir.join(out::TREND))? else { return Ok(None) };
    let df = lf
        .select([
            col("run_id").cast(DataType::String),
            col("run_at").cast(DataType::Int64),
            col("license").cast(DataType::String),
            col("quantity_type").cast(DataType::String),
            col("unit").cast(DataType::String),
            col("variance_pct").cast(DataType::Float64),
            col("significant").cast(DataType::Boolean),
        ])
        .collect()
        .ctx(|| format!("reading {}", out::TREND))?;
    let (run_id, run_at) = (strings(&df, "run_id")?, ints(&df, "run_at")?);
    let (license, qtype) = (strings(&df, "license")?, strings(&df, "quantity_type")?);
    let (unit, pct) = (strings(&df, "unit")?, floats(&df, "variance_pct")?);
    let significant = bools(&df, "significant")?;
    let rows: Vec<Row> = (0..df.height())
        .map(|i| Row {
            run_id: run_id[i].clone().unwrap_or_default(),
            run_at: run_at[i],
            license: license[i].clone().unwrap_or_default(),
            quantity_type: qtype[i].clone().unwrap_or_default(),
            unit: unit[i].clone().unwrap_or_default(),
            variance_pct: pct[i],
            significant: significant[i],
        })
        .collect();
    let sales_basis = run.basis == "average_monthly_sales";
    let threshold = run.threshold_pct.filter(|t| t.is_finite() && !sales_basis);
    Ok(Some(build(&rows, threshold, sales_basis, licenses)))
}

/// The trend of `rows` (oldest run first, as `trend.parquet` holds them).
pub(crate) fn build(
    rows: &[Row],
    threshold_pct: Option<f64>,
    sales_basis: bool,
    licenses: &[&str],
) -> Trend {
    // A run is its id and time: a re-run of the same inputs and options has the same id.
    let mut runs: Vec<(String, Option<i64>)> = Vec::new();
    let mut run_ix: HashMap<(String, Option<i64>), usize> = HashMap::new();
    for r in rows {
        let key = (r.run_id.clone(), r.run_at);
        if !run_ix.contains_key(&key) {
            run_ix.insert(key.clone(), runs.len());
            runs.push(key);
        }
    }
    let mut series: Vec<Series> = Vec::new();
    let mut series_ix: HashMap<(String, String), usize> = HashMap::new();
    for r in rows {
        let at = run_ix[&(r.run_id.clone(), r.run_at)];
        let k =
            *series_ix.entry((r.license.clone(), r.quantity_type.clone())).or_insert_with(|| {
                series.push(Series {
                    license: r.license.clone(),
                    quantity_type: r.quantity_type.clone(),
                    unit: String::new(),
                    cells: vec![Cell::NotChecked; runs.len()],
                });
                series.len() - 1
            });
        let s = &mut series[k];
        if !r.unit.is_empty() {
            s.unit.clone_from(&r.unit);
        }
        let pct = r.variance_pct.unwrap_or(f64::NAN);
        s.cells[at] = Cell::Value { pct, significant: r.significant };
    }
    let rank = |l: &str| licenses.iter().position(|x| *x == l).unwrap_or(usize::MAX);
    series.sort_by(|a, b| {
        (rank(&a.license), &a.license, &a.quantity_type).cmp(&(
            rank(&b.license),
            &b.license,
            &b.quantity_type,
        ))
    });
    Trend {
        runs: run_labels(&runs),
        run_ids: runs.into_iter().map(|(id, _)| id).collect(),
        series,
        threshold_pct,
        sales_basis,
    }
}

/// Each run's date (UTC), with the time to the minute, then the second, then its place in
/// the chain, when two runs would otherwise read the same; `run <id>` for a run without a
/// time.
fn run_labels(runs: &[(String, Option<i64>)]) -> Vec<String> {
    let label = |fmt: &str, (id, at): &(String, Option<i64>)| -> String {
        at.and_then(chrono::DateTime::from_timestamp_micros)
            .map_or_else(|| format!("run {id}"), |t| t.format(fmt).to_string())
    };
    let distinct = |labels: &[String]| {
        let mut sorted = labels.to_vec();
        sorted.sort();
        sorted.dedup();
        sorted.len() == labels.len()
    };
    for fmt in ["%Y-%m-%d", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"] {
        let labels: Vec<String> = runs.iter().map(|r| label(fmt, r)).collect();
        if distinct(&labels) {
            return labels;
        }
    }
    // runs finished within a second of each other: their places in the chain
    runs.iter()
        .enumerate()
        .map(|(i, r)| format!("{} ({})", label("%Y-%m-%d %H:%M:%S", r), i + 1))
        .collect()
}

/// How each chart and table cell reads: what the numbers are, the threshold, the gaps.
fn caption(t: &Trend) -> String {
    let threshold = match (t.threshold_pct, t.sales_basis) {
        (Some(th), _) => format!(
            "the dashed lines are the significance threshold (±{} %, 4 CCR §15034), a red \
             point a significant discrepancy",
            super::text::num(th)
        ),
        (None, true) => "significance is measured against average monthly sales, so no \
                         threshold is drawn on the variance %"
            .to_owned(),
        (None, false) => "the significance threshold is not known".to_owned(),
    };
    format!(
        "Variance % (counted − system, of the system total) per license and quantity type in \
         each run of the chain, oldest first (run dates in UTC); {threshold}. A run in which \
         a license had no counts of that type is a gap: not checked, never 0 %."
    )
}

/// The charts of `report.html`: a heading, the caption, one small chart per series (at
/// most [`MAX_CHARTS`]).
pub(crate) fn html(h: &mut String, t: &Trend) {
    h.push_str("<h3 id=\"trend\">Variance trend over the runs compared</h3>\n");
    w!(h, "<p class=\"muted\">{}</p>\n", esc(&caption(t)));
    if t.series.is_empty() {
        h.push_str("<p class=\"muted\">No license has count totals in any run of the chain.</p>\n");
        return;
    }
    h.push_str("<div class=\"trends\">\n");
    let shown = t.series.len().min(MAX_CHARTS);
    for s in &t.series[..shown] {
        chart(h, t, s);
    }
    h.push_str("</div>\n");
    if shown < t.series.len() {
        w!(
            h,
            "<p class=\"cap\">{} of {} license × quantity type charts shown; every run's totals \
             are in {} and in report.md.</p>\n",
            int(shown as u64),
            int(t.series.len() as u64),
            out::TREND
        );
    }
}

/// A white outline under a label, so that it reads over the lines it crosses.
const HALO: &str = " paint-order=\"stroke\" stroke=\"#fff\" stroke-width=\"3\"";

/// Where the points of a chart go: x per run, y per variance %.
struct Frame {
    left: f64,
    right: f64,
    top: f64,
    bottom: f64,
    lo: f64,
    hi: f64,
    runs: usize,
}

impl Frame {
    fn x(&self, i: usize) -> f64 {
        if self.runs <= 1 {
            (self.left + self.right) / 2.0
        } else {
            self.left + (self.right - self.left) * i as f64 / (self.runs - 1) as f64
        }
    }
    fn y(&self, pct: f64) -> f64 {
        self.bottom - (pct - self.lo) / (self.hi - self.lo) * (self.bottom - self.top)
    }
}

/// The y range of a chart: every finite value, 0 and the threshold either side, padded.
fn y_range(s: &Series, threshold: Option<f64>) -> (f64, f64) {
    let th = threshold.unwrap_or(0.0).abs();
    let (mut lo, mut hi) = (-th, th);
    for c in &s.cells {
        if let Cell::Value { pct, .. } = c
            && pct.is_finite()
        {
            lo = lo.min(*pct);
            hi = hi.max(*pct);
        }
    }
    if hi - lo < 1e-9 {
        (lo, hi) = (lo - 1.0, hi + 1.0);
    }
    let pad = (hi - lo) * 0.15;
    (lo - pad, hi + pad)
}

/// One small chart: variance % of one license and quantity type over the runs.
fn chart(h: &mut String, t: &Trend, s: &Series) {
    const H: f64 = 180.0;
    let n = t.runs.len();
    // run labels are two lines (date, then time or id); about 5.6 px per character
    let longest = t.runs.iter().flat_map(|r| r.splitn(2, ' ')).map(|l| l.chars().count()).max();
    let step = (longest.unwrap_or(0) as f64 * 5.6 + 14.0).max(78.0);
    let w = (100.0 + step * n.saturating_sub(1) as f64).max(300.0);
    let (lo, hi) = y_range(s, t.threshold_pct);
    let f = Frame { left: 64.0, right: w - 36.0, top: 34.0, bottom: H - 44.0, lo, hi, runs: n };
    let unit = if s.unit.is_empty() { String::new() } else { format!(" ({})", s.unit) };
    let name = format!("{}, {}{unit}", s.license, s.quantity_type);
    w!(
        h,
        "<svg class=\"chart trend\" viewBox=\"0 0 {w} {H}\" width=\"{w}\" height=\"{H}\" \
         role=\"img\" data-license=\"{}\" data-quantity-type=\"{}\"><title>Variance % of {} in \
         each run</title>\n<text x=\"4\" y=\"16\" font-weight=\"600\">{}</text>\n",
        esc(&s.license),
        esc(&s.quantity_type),
        esc(&name),
        esc(&name)
    );
    // the y axis: 0 % solid, the threshold dashed either side
    let rule = |h: &mut String, v: f64, class: &str, label: String| {
        let y = f.y(v);
        let dash = if class == "threshold" {
            " stroke=\"#b91c1c\" stroke-dasharray=\"5 4\""
        } else {
            " stroke=\"#9ca3af\""
        };
        w!(
            h,
            "<line class=\"{class}\" x1=\"{}\" x2=\"{}\" y1=\"{y:.1}\" y2=\"{y:.1}\"{dash}/><text \
             x=\"{}\" y=\"{:.1}\" text-anchor=\"end\" font-size=\"10\" fill=\"#6b7280\">{}</text>\n",
            f.left - 14.0,
            f.right + 14.0,
            f.left - 18.0,
            y + 3.5,
            esc(&label)
        );
    };
    rule(h, 0.0, "zero", "0 %".to_owned());
    if let Some(th) = t.threshold_pct.filter(|th| *th > 0.0) {
        rule(h, th, "threshold", format!("+{} %", super::text::num(th)));
        rule(h, -th, "threshold", format!("-{} %", super::text::num(th)));
    }
    line(h, &f, s);
    for (i, c) in s.cells.iter().enumerate() {
        point(h, &f, i, c, &format!("{} (run {})", t.runs[i], t.run_ids[i]));
        let (day, rest) = t.runs[i].split_once(' ').unwrap_or((&t.runs[i], ""));
        let x = f.x(i);
        w!(
            h,
            "<text class=\"run\" x=\"{x:.1}\" y=\"{}\" text-anchor=\"middle\" font-size=\"10\" \
             fill=\"#374151\">{}",
            H - 26.0,
            esc(day)
        );
        if !rest.is_empty() {
            w!(h, "<tspan x=\"{x:.1}\" dy=\"12\">{}</tspan>", esc(rest));
        }
        h.push_str("</text>\n");
    }
    h.push_str("</svg>\n");
}

/// The line through the runs with a value, broken at every gap.
fn line(h: &mut String, f: &Frame, s: &Series) {
    let mut d = String::new();
    let mut pen_down = false;
    for (i, c) in s.cells.iter().enumerate() {
        match c {
            Cell::Value { pct, .. } if pct.is_finite() => {
                w!(d, "{}{:.1} {:.1}", if pen_down { " L" } else { " M" }, f.x(i), f.y(*pct));
                pen_down = true;
            }
            _ => pen_down = false,
        }
    }
    if !d.is_empty() {
        w!(
            h,
            "<path class=\"line\" d=\"{}\" fill=\"none\" stroke=\"#1d4ed8\" stroke-width=\"2\"/>\n",
            d.trim_start()
        );
    }
}

/// A run's point with its value (`run` names the run in its tooltip), or the gap of a run
/// without a value.
fn point(h: &mut String, f: &Frame, i: usize, c: &Cell, run: &str) {
    let x = f.x(i);
    match c {
        Cell::Value { pct: p, significant } if p.is_finite() => {
            let y = f.y(*p);
            let (fill, note) = match significant {
                Some(true) => ("#b91c1c", " (significant)"),
                Some(false) => ("#1d4ed8", ""),
                None => ("#6b7280", " (not determined)"),
            };
            w!(
                h,
                "<circle class=\"point\" cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"3.5\" fill=\"{fill}\">\
                 <title>{}: {}{note}</title></circle><text class=\"value\" x=\"{x:.1}\" \
                 y=\"{:.1}\" text-anchor=\"middle\" font-size=\"10\" fill=\"{fill}\"{HALO}>{}\
                 </text>\n",
                esc(run),
                esc(&pct(*p)),
                if *p < 0.0 { y + 15.0 } else { y - 7.0 },
                esc(&pct(*p))
            );
        }
        _ => {
            let why = if *c == Cell::NotChecked { "not checked" } else { "n/a" };
            w!(
                h,
                "<text class=\"gap\" x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"middle\" \
                 font-size=\"10\" font-style=\"italic\" fill=\"#6b7280\"{HALO}>{why}</text>\n",
                (f.top + f.bottom) / 2.0
            );
        }
    }
}

/// The same numbers in `report.md`: one row per license and quantity type, one column per
/// run, at most `max_rows` rows.
pub(crate) fn markdown(md: &mut String, t: &Trend, max_rows: usize) {
    md.push_str("### Variance trend over the runs compared\n\n");
    w!(md, "{}\n\n", cell(&caption(t)));
    if t.series.is_empty() {
        md.push_str("No license has count totals in any run of the chain.\n\n");
        return;
    }
    let runs: Vec<String> = t.runs.iter().map(|r| cell(r)).collect();
    let mut head: Vec<(&str, bool)> = vec![("License", false), ("Quantity type", false)];
    head.extend(runs.iter().map(|r| (r.as_str(), true)));
    let shown = t.series.len().min(max_rows);
    let rows = t.series[..shown].iter().map(|s| {
        let unit = if s.unit.is_empty() { String::new() } else { format!(" ({})", s.unit) };
        let mut row = vec![cell(&s.license), cell(&format!("{}{unit}", s.quantity_type))];
        row.extend(s.cells.iter().map(|c| match c {
            Cell::NotChecked => "not checked".to_owned(),
            Cell::Value { pct: p, significant } => {
                let note = match significant {
                    Some(true) => " (significant)",
                    Some(false) => "",
                    None => " (not determined)",
                };
                format!("{}{note}", pct(*p))
            }
        }));
        row
    });
    table(md, &head, rows);
    if let Some(note) = cap_note(shown, t.series.len() as u64, out::TREND) {
        w!(md, "{}\n\n", cell(&note));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "C11-0000001-LIC";
    const B: &str = "C11-0000002-LIC";
    const DAY: i64 = 86_400_000_000;
    /// 2026-11-01T00:00:00Z.
    const NOV1: i64 = 1_793_491_200_000_000;

    fn row(run: usize, license: &str, qtype: &str, pct: f64, significant: bool) -> Row {
        Row {
            run_id: format!("run{run}"),
            run_at: Some(NOV1 + run as i64 * 30 * DAY),
            license: license.to_owned(),
            quantity_type: qtype.to_owned(),
            unit: if qtype == "weight" { "g" } else { "ml" }.to_owned(),
            variance_pct: Some(pct),
            significant: Some(significant),
        }
    }

    /// Three runs: A weight in every run; B weight only in runs 0 and 2 (no counts in run 1);
    /// A volume significant in run 2 only.
    fn chain() -> Trend {
        let rows = vec![
            row(0, A, "weight", -0.5, false),
            row(0, A, "volume", 1.25, false),
            row(0, B, "weight", 2.0, false),
            row(1, A, "weight", -0.25, false),
            row(1, A, "volume", 3.0, false),
            row(2, A, "weight", 0.0, false),
            row(2, A, "volume", 12.02, true),
            row(2, B, "weight", -1.0, false),
        ];
        build(&rows, Some(5.0), false, &[B, A])
    }

    fn count(s: &str, pat: &str) -> usize {
        s.matches(pat).count()
    }

    /// The part of `html` drawing the chart of `license` and `qtype`.
    fn svg_of<'a>(html: &'a str, license: &str, qtype: &str) -> &'a str {
        let start = html
            .find(&format!("data-license=\"{license}\" data-quantity-type=\"{qtype}\""))
            .unwrap_or_else(|| panic!("no chart of {license} {qtype}"));
        let end = start + html[start..].find("</svg>").expect("closed");
        &html[start..end]
    }

    #[test]
    fn trend_orders_runs_and_series_and_leaves_gaps() {
        let t = chain();
        assert_eq!(t.runs, ["2026-11-01", "2026-12-01", "2026-12-31"]);
        assert_eq!(t.run_ids, ["run0", "run1", "run2"]);
        let names: Vec<(&str, &str)> =
            t.series.iter().map(|s| (s.license.as_str(), s.quantity_type.as_str())).collect();
        assert_eq!(names, [(B, "weight"), (A, "volume"), (A, "weight")], "report order");
        assert_eq!(t.series[0].cells[1], Cell::NotChecked, "B had no counts in run 1");
        assert_eq!(t.series[0].unit, "g");
        assert_eq!(t.series[1].cells[2], Cell::Value { pct: 12.02, significant: Some(true) });
    }

    #[test]
    fn trend_labels_runs_of_one_day_by_time() {
        let runs = [
            ("a".to_owned(), Some(NOV1 + 3_600_000_000)),
            ("b".to_owned(), Some(NOV1 + 7_200_000_000)),
            ("c".to_owned(), None),
        ];
        assert_eq!(run_labels(&runs), ["2026-11-01 01:00", "2026-11-01 02:00", "run c"]);
        let same_minute = [("a".to_owned(), Some(NOV1)), ("b".to_owned(), Some(NOV1 + 5_000_000))];
        assert_eq!(run_labels(&same_minute), ["2026-11-01 00:00:00", "2026-11-01 00:00:05"]);
        let same_second = [("a".to_owned(), Some(NOV1)), ("a".to_owned(), Some(NOV1 + 5))];
        assert_eq!(
            run_labels(&same_second),
            ["2026-11-01 00:00:00 (1)", "2026-11-01 00:00:00 (2)"]
        );
    }

    #[test]
    fn trend_chart_has_a_point_per_run_the_threshold_and_gaps() {
        let t = chain();
        let mut h = String::new();
        html(&mut h, &t);
        assert_eq!(count(&h, "<svg class=\"chart trend\""), 3, "one chart per series");
        for bad in ["<script", "http", "href", "url("] {
            assert!(!h.contains(bad), "{bad}");
        }

        let a_vol = svg_of(&h, A, "volume");
        assert_eq!(count(a_vol, "<circle class=\"point\""), 3);
        assert_eq!(count(a_vol, "class=\"threshold\""), 2, "±5 % dashed");
        assert_eq!(count(a_vol, "stroke-dasharray"), 2);
        assert!(a_vol.contains(">+5 %</text>") && a_vol.contains(">-5 %</text>"));
        assert_eq!(count(a_vol, "class=\"zero\""), 1);
        assert!(a_vol.contains(">+12.02 %</text>"), "points are labelled");
        assert!(
            a_vol.contains("fill=\"#b91c1c\"><title>2026-12-31 (run run2): +12.02 % (significant)")
        );
        assert_eq!(count(a_vol, "class=\"gap\""), 0);
        assert_eq!(count(a_vol, "<text class=\"run\""), 3);
        assert!(a_vol.contains(">2026-11-01</text>") && a_vol.contains(">2026-12-31</text>"));
        let path = a_vol.split("class=\"line\" d=\"").nth(1).expect("a line");
        let path = &path[..path.find('"').expect("closed")];
        assert_eq!((count(path, "M"), count(path, "L")), (1, 2), "one unbroken line: {path}");

        let b = svg_of(&h, B, "weight");
        assert_eq!(count(b, "<circle class=\"point\""), 2, "two runs with counts");
        assert_eq!(count(b, "class=\"gap\""), 1);
        assert!(b.contains(">not checked</text>"));
        assert!(!b.contains(">+0.00 %<"), "a gap is never 0 %");
        let path = b.split("class=\"line\" d=\"").nth(1).expect("a line");
        let path = &path[..path.find('"').expect("closed")];
        assert_eq!((count(path, "M"), count(path, "L")), (2, 0), "broken at the gap: {path}");
        // the gap sits at the middle run's x, between the two points
        let xs: Vec<f64> = b
            .split("<circle class=\"point\" cx=\"")
            .skip(1)
            .map(|p| p[..p.find('"').unwrap()].parse().unwrap())
            .collect();
        let gap = b.split("<text class=\"gap\" x=\"").nth(1).unwrap();
        let gap_x: f64 = gap[..gap.find('"').unwrap()].parse().unwrap();
        assert!(xs[0] < gap_x && gap_x < xs[1], "{xs:?} {gap_x}");

        // the y axis follows the values: the +2 % point is above 0 %, the -1 % point below
        let y_of = |svg: &str, label: &str| -> f64 {
            let at = svg.find(&format!(">{label}</text>")).unwrap();
            let before = &svg[..at];
            let y = before.rsplit("y=\"").next().unwrap();
            y[..y.find('"').unwrap()].parse().unwrap()
        };
        let cy: Vec<f64> = b
            .split("<circle class=\"point\" cx=\"")
            .skip(1)
            .map(|p| {
                let p = &p[p.find("cy=\"").unwrap() + 4..];
                p[..p.find('"').unwrap()].parse().unwrap()
            })
            .collect();
        let zero = y_of(b, "0 %") - 3.5;
        assert!(cy[0] < zero && zero < cy[1], "+2 % above 0 %, -1 % below: {cy:?} {zero}\n{b}");
    }

    #[test]
    fn trend_without_threshold_under_the_sales_basis() {
        let rows = vec![row(0, A, "weight", 1.0, false), row(1, A, "weight", 2.0, false)];
        let t = build(&rows, None, true, &[]);
        let mut h = String::new();
        html(&mut h, &t);
        assert_eq!(count(&h, "class=\"threshold\""), 0);
        assert!(h.contains("average monthly sales"));
    }

    #[test]
    fn trend_charts_are_capped() {
        let rows: Vec<Row> = (0..MAX_CHARTS + 3)
            .map(|i| row(0, &format!("L{i:03}"), "weight", 1.0, false))
            .collect();
        let t = build(&rows, Some(5.0), false, &[]);
        let mut h = String::new();
        html(&mut h, &t);
        assert_eq!(count(&h, "<svg"), MAX_CHARTS);
        assert!(h.contains(&format!("{MAX_CHARTS} of {} license", MAX_CHARTS + 3)));
        let mut md = String::new();
        markdown(&mut md, &t, 10);
        assert_eq!(count(&md, "| L0"), 10);
        assert!(md.contains("trend.parquet"));
    }

    #[test]
    fn trend_table_has_a_column_per_run_and_gaps() {
        let t = chain();
        let mut md = String::new();
        markdown(&mut md, &t, 500);
        let lines: Vec<&str> = md.lines().filter(|l| l.starts_with('|')).collect();
        assert_eq!(
            lines[0], "| License | Quantity type | 2026-11-01 | 2026-12-01 | 2026-12-31 |",
            "{md}"
        );
        assert_eq!(lines[1], "|---|---|---:|---:|---:|");
        assert_eq!(lines[2], "| C11-0000002-LIC | weight (g) | +2.00 % | not checked | -1.00 % |");
        assert_eq!(
            lines[3],
            "| C11-0000001-LIC | volume (ml) | +1.25 % | +3.00 % | +12.02 % (significant) |"
        );
        assert_eq!(lines[4], "| C11-0000001-LIC | weight (g) | -0.50 % | -0.25 % | +0.00 % |");
        assert_eq!(lines.len(), 5);
        assert!(md.contains("±5 %"), "the threshold is named");
    }

    #[test]
    fn trend_loads_trend_parquet() {
        let dir = tempfile::tempdir().unwrap();
        assert!(load(dir.path(), &Run::default(), &[]).unwrap().is_none(), "no trend, no chart");
        let ts = DataType::Datetime(TimeUnit::Microseconds, Some(TimeZone::UTC));
        let at = Column::new("run_at".into(), [NOV1, NOV1, NOV1 + 30 * DAY]).cast(&ts).unwrap();
        let mut df = DataFrame::new(
            3,
            vec![
                Column::new("run_id".into(), ["r1", "r1", "r2"]),
                at,
                Column::new("license".into(), [A, B, A]),
                Column::new("quantity_type".into(), ["weight"; 3]),
                Column::new("unit".into(), ["g"; 3]),
                Column::new("system_total".into(), [10.0, 0.0, 10.0]),
                Column::new("counted_total".into(), [9.0, 0.0, 10.5]),
                Column::new("variance_pct".into(), [Some(-10.0), None, Some(5.0)]),
                Column::new("significant".into(), [Some(true), Some(false), None]),
            ],
        )
        .unwrap();
        let f = std::fs::File::create(dir.path().join(out::TREND)).unwrap();
        ParquetWriter::new(f).finish(&mut df).unwrap();
        let run =
            Run { threshold_pct: Some(5.0), basis: "net_difference".into(), ..Run::default() };
        let t = load(dir.path(), &run, &[A, B]).unwrap().expect("a trend");
        assert_eq!(t.runs, ["2026-11-01", "2026-12-01"]);
        assert_eq!(t.threshold_pct, Some(5.0));
        assert_eq!(t.series.len(), 2);
        assert_eq!(t.series[0].license, A);
        assert_eq!(t.series[0].cells[0], Cell::Value { pct: -10.0, significant: Some(true) });
        assert_eq!(t.series[0].cells[1], Cell::Value { pct: 5.0, significant: None });
        assert!(matches!(t.series[1].cells[0], Cell::Value { pct, .. } if pct.is_nan()));
        assert_eq!(t.series[1].cells[1], Cell::NotChecked);
        let mut h = String::new();
        html(&mut h, &t);
        assert!(svg_of(&h, B, "weight").contains(">n/a</text>"));
        let sales = Run { basis: "average_monthly_sales".into(), ..run };
        assert_eq!(load(dir.path(), &sales, &[]).unwrap().unwrap().threshold_pct, None);
    }

    #[test]
    fn trend_escapes_what_it_reads() {
        let mut r = row(0, "<b>&\"LIC", "weight", 1.0, false);
        r.unit = "<i>".to_owned();
        let t = build(&[r], Some(5.0), false, &[]);
        let mut h = String::new();
        html(&mut h, &t);
        assert!(!h.contains("<b>") && !h.contains("<i>"), "{h}");
        assert!(h.contains("&lt;b&gt;&amp;&quot;LIC"));
        let mut md = String::new();
        markdown(&mut md, &t, 5);
        assert!(md.contains("\\<b\\>\\&\"LIC"), "{md}");
    }
}
