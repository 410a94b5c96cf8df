//! Report: turn findings, summary, rejects and the manifest into `report.html`,
//! `report.md` and `findings.xlsx`, and the closing paragraph of `tagtrail run`.
//!
//! The report never recomputes a rule: it reads the stage outputs under `--out`, lets
//! Polars sort, count and cap every table, and renders what it is given.

mod data;
mod guidance;
mod html;
mod markdown;
mod text;
mod trend;
mod xlsx;

use std::path::Path;

use crate::error::Result;
use crate::schema::out;
use crate::store;

/// How much the report shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReportOptions {
    /// Rows per table at most; the full lists stay in the Parquet outputs.
    pub max_rows: usize,
    /// Rows per sheet of `findings.xlsx` at most (Excel's limit; smaller in tests).
    pub xlsx_rows: usize,
}

impl Default for ReportOptions {
    fn default() -> Self {
        ReportOptions { max_rows: 500, xlsx_rows: xlsx::MAX_ROWS }
    }
}

/// What [`run`] wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReportStats {
    /// Rows in `findings.parquet`.
    pub findings: usize,
    /// Size of `report.html`.
    pub html_bytes: u64,
    /// Size of `report.md`.
    pub md_bytes: u64,
    /// Size of `findings.xlsx`.
    pub xlsx_bytes: u64,
}

/// Read `OUT/findings.parquet`, `OUT/summary.parquet`, `OUT/rejects.parquet`,
/// `OUT/manifest.json` (and `OUT/lake/packages` for item name, category and location per
/// license and label), write `OUT/report.html`, `OUT/report.md` and `OUT/findings.xlsx`
/// atomically.
pub fn run(out_dir: &Path, opts: &ReportOptions) -> Result<ReportStats> {
    // The workbook holds every finding: its large sheets are written while the model
    // loads, and it is finished beside the two reports, not after them.
    let timezone = data::run_timezone(out_dir)?;
    let (model, rows) = rayon::join(
        || data::load(out_dir, opts.max_rows),
        || xlsx::rows(out_dir, &timezone, opts.xlsx_rows),
    );
    let (model, rows) = (model?, rows?);
    let (reports, workbook) = rayon::join(
        || (html::render(&model), markdown::render(&model)),
        || xlsx::finish(rows, &model),
    );
    let (html, md) = reports;
    let (xlsx, _) = workbook?;
    store::write_atomic(&out_dir.join(out::REPORT_HTML), html.as_bytes())?;
    store::write_atomic(&out_dir.join(out::REPORT_MD), md.as_bytes())?;
    store::write_atomic(&out_dir.join(out::FINDINGS_XLSX), &xlsx)?;
    Ok(ReportStats {
        findings: usize::try_from(model.overview.total_findings).unwrap_or(usize::MAX),
        html_bytes: html.len() as u64,
        md_bytes: md.len() as u64,
        xlsx_bytes: xlsx.len() as u64,
    })
}

/// The plain-language paragraph printed at the end of `tagtrail run`: licenses checked,
/// findings by severity, significant discrepancies and where the report is.
pub fn summary_paragraph(out_dir: &Path) -> Result<String> {
    let overview = data::load_overview(out_dir)?;
    Ok(text::paragraph(&overview, out_dir))
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use polars::prelude::*;
    use serde_json::json;

    use super::*;
    use crate::schema::{self, out};

    const L1: &str = "C11-0000001-LIC";
    const L2: &str = "C11-0000002-LIC";
    const XSS: &str = "<script>alert(1)</script>";
    const HOUR: i64 = 3_600_000_000;

    fn write(df: &mut DataFrame, path: &Path) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        let f = std::fs::File::create(path).unwrap();
        ParquetWriter::new(f).finish(df).unwrap();
    }

    /// `df` as a lake part of `table`: every column of the layout (nulls where `df` has
    /// none), without the partition column.
    fn lake_part(df: DataFrame, table: &str) -> DataFrame {
        let exprs: Vec<Expr> = schema::layout(table)
            .iter()
            .filter(|(n, _)| *n != schema::col::LICENSE)
            .map(|(n, t)| {
                let dtype = store::schema_of(&[(n, t)]).get(n).unwrap().clone();
                if df.schema().contains(n) {
                    col(*n).cast(dtype)
                } else {
                    lit(NULL).cast(dtype).alias(*n)
                }
            })
            .collect();
        df.lazy().select(exprs).collect().unwrap()
    }

    fn to_ts(df: DataFrame, cols: &[&str]) -> DataFrame {
        let ts = DataType::Datetime(TimeUnit::Microseconds, Some(TimeZone::UTC));
        let exprs: Vec<Expr> = cols.iter().map(|c| col(*c).cast(ts.clone())).collect();
        df.lazy().with_columns(exprs).collect().unwrap()
    }

    /// (rule, family, severity, license, label, related, lag, system, counted, variance, unit,
    /// detail)
    type Row = (
        &'static str,
        &'static str,
        &'static str,
        &'static str,
        Option<&'static str>,
        Option<&'static str>,
        Option<f64>,
        Option<f64>,
        Option<f64>,
        Option<f64>,
        Option<&'static str>,
        String,
    );

    /// Findings of every family, then `notes` adjustments without a note.
    fn rows(notes: usize) -> Vec<Row> {
        let mut v = count_rows();
        v.extend(lag_rows());
        v.extend(lineage_rows());
        v.extend(record_rows());
        for i in 0..notes {
            v.push((
                "record.adjustment_without_note",
                "record",
                "low",
                L1,
                Some("1A4FF01000000220000000A1"),
                None,
                None,
                None,
                None,
                None,
                None,
                format!("adjustment without note; record {i}"),
            ));
        }
        v
    }

    /// The count family: a significant discrepancy, a mismatch, a label missing on each side.
    fn count_rows() -> Vec<Row> {
        vec![
            (
                "count.significant_discrepancy",
                "count",
                "critical",
                L1,
                None,
                None,
                None,
                Some(1000.0),
                Some(930.0),
                Some(-70.0),
                Some("g"),
                "weight -7.00 %".into(),
            ),
            (
                "count.quantity_mismatch",
                "count",
                "medium",
                L1,
                Some("1A4FF01000000220000000A1"),
                None,
                None,
                Some(100.0),
                Some(90.0),
                Some(-10.0),
                Some("g"),
                "counted 90 g, system 100 g; record 3".into(),
            ),
            (
                "count.missing_in_system",
                "count",
                "high",
                L1,
                Some(XSS),
                None,
                None,
                None,
                Some(5.0),
                Some(5.0),
                Some("g"),
                "not in the system; record 4".into(),
            ),
            (
                "count.missing_on_premises",
                "count",
                "high",
                L2,
                Some("1A4FF01000000220000000B1"),
                None,
                None,
                Some(20.0),
                None,
                Some(-20.0),
                Some("ea"),
                "not counted; record 0".into(),
            ),
        ]
    }

    /// The lag family: late entries of two severities, one recorded early.
    fn lag_rows() -> Vec<Row> {
        vec![
            (
                "lag.late_entry",
                "lag",
                "medium",
                L1,
                Some("1A4FF01000000220000000A1"),
                None,
                Some(30.0),
                None,
                None,
                None,
                None,
                "sale recorded 30 h late; record 1".into(),
            ),
            (
                "lag.late_entry",
                "lag",
                "high",
                L2,
                Some("1A4FF01000000220000000B1"),
                None,
                Some(100.0),
                None,
                None,
                None,
                None,
                "history recorded 100 h late; record 2".into(),
            ),
            (
                "lag.recorded_before_occurred",
                "lag",
                "low",
                L2,
                Some("1A4FF01000000220000000B2"),
                None,
                Some(-2.0),
                None,
                None,
                None,
                None,
                "recorded 2 h early; record 5".into(),
            ),
        ]
    }

    /// The lineage family: an orphan source and an untested sale.
    fn lineage_rows() -> Vec<Row> {
        vec![
            (
                "lineage.orphan_source",
                "lineage",
                "high",
                L1,
                Some("1A4FF01000000220000000C2"),
                Some("1A4FF01000000220000000C1"),
                None,
                None,
                None,
                None,
                None,
                "source C1 is not a package of this license; record 7".into(),
            ),
            (
                "lineage.untested_sale",
                "lineage",
                "critical",
                L2,
                Some("1A4FF01000000220000000B2"),
                None,
                None,
                None,
                None,
                None,
                None,
                "sold while NotSubmitted; record 8".into(),
            ),
        ]
    }

    /// The record family: a duplicate package.
    fn record_rows() -> Vec<Row> {
        vec![(
            "record.duplicate_package",
            "record",
            "high",
            L1,
            Some("1A4FF01000000220000000A1"),
            None,
            None,
            None,
            None,
            None,
            None,
            "label seen twice | pages 1 and 2 *bold* [x](y); record 9".into(),
        )]
    }

    fn fixture(dir: &Path, notes: usize) -> Vec<Row> {
        let rows = rows(notes);
        let n = rows.len();
        let s = |f: fn(&Row) -> Option<&'static str>| rows.iter().map(f).collect::<Vec<_>>();
        let fl = |f: fn(&Row) -> Option<f64>| rows.iter().map(f).collect::<Vec<_>>();
        let df = df!(
            "run_id" => vec!["run-1"; n],
            "rule_id" => rows.iter().map(|r| r.0).collect::<Vec<_>>(),
            "family" => rows.iter().map(|r| r.1).collect::<Vec<_>>(),
            "severity" => rows.iter().map(|r| r.2).collect::<Vec<_>>(),
            "license" => rows.iter().map(|r| r.3).collect::<Vec<_>>(),
            "package_label" => s(|r| r.4),
            "related_label" => s(|r| r.5),
            "reference" => vec![Some("0000012345"); n],
            "occurred_at" => rows.iter().map(|r| r.6.map(|_| 1_760_000_000_000_000i64)).collect::<Vec<_>>(),
            "recorded_at" => rows.iter().map(|r| r.6.map(|h| 1_760_000_000_000_000i64 + (h as i64) * HOUR)).collect::<Vec<_>>(),
            "lag_hours" => fl(|r| r.6),
            "system_quantity" => fl(|r| r.7),
            "counted_quantity" => fl(|r| r.8),
            "variance" => fl(|r| r.9),
            "unit" => s(|r| r.10),
            "detail" => rows.iter().map(|r| r.11.clone()).collect::<Vec<_>>(),
            "citation" => vec!["§15051"; n],
            "source_file" => vec![Some("C11-0000001-LIC/packages.json"); n],
        )
        .unwrap();
        let mut findings = to_ts(df, &["occurred_at", "recorded_at"]);
        let names: Vec<&str> = findings.get_column_names().iter().map(|n| n.as_str()).collect();
        let want: Vec<&str> = schema::FINDINGS_COLUMNS.iter().map(|(n, _)| *n).collect();
        assert_eq!(names, want);
        write(&mut findings, &dir.join(out::FINDINGS));

        let mut summary = df!(
            "license" => [L1, L1, L2],
            "kind" => ["rule", "quantity", "quantity"],
            "rule_id" => [Some("count.quantity_mismatch"), None, None],
            "family" => [Some("count"), None, None],
            "findings" => [Some(1i64), None, None],
            "worst_severity" => [Some("medium"), None, None],
            "quantity_type" => [None, Some("weight"), Some("each")],
            "unit" => [None, Some("g"), Some("ea")],
            "system_total" => [None, Some(1000.0), Some(1000.0)],
            "counted_total" => [None, Some(930.0), Some(980.0)],
            "variance" => [None, Some(-70.0), Some(-20.0)],
            "variance_pct" => [None, Some(-7.0), Some(-2.0)],
            "significant" => [None, Some(true), Some(false)],
        )
        .unwrap();
        write(&mut summary, &dir.join(out::SUMMARY));

        let mut rejects = df!(
            "source_file" => ["C11-0000001-LIC/packages.json", "counts/C11-0000001-LIC.csv"],
            "record" => [12i64, 7],
            "column" => ["Quantity", "CountedAt"],
            "reason" => ["not a number", "not a date"],
            "raw" => ["\"<b>twelve</b>\"", "yesterday | maybe"],
        )
        .unwrap();
        write(&mut rejects, &dir.join(out::REJECTS));

        let mut packages = df!(
            "license" => [L1, L1, L1],
            "label" => ["1A4FF01000000220000000A1", "1A4FF01000000220000000A1", "1A4FF01000000220000000C2"],
            "item_name" => ["Old name", "Blue Dream 3.5g", "Mini pre-roll 5pk"],
            "category" => ["Shake/Trim", "Buds", "Pre-Roll"],
            "location" => ["Vault <A>", "Vault | B", "Floor"],
            "last_modified" => [1_000i64, 2_000, 1_000],
        )
        .unwrap();
        packages = lake_part(to_ts(packages, &["last_modified"]), schema::PACKAGES);
        let part = dir.join(out::LAKE).join(schema::PACKAGES).join(format!("license={L1}"));
        write(&mut packages, &part.join("part-0.parquet"));

        let manifest = json!({
            "run_id": "run-1", "tool": "tagtrail", "version": "0.1.0",
            "started_at": "2025-10-05T10:00:00Z", "finished_at": "2025-10-05T10:00:07Z",
            "command": ["tagtrail", "run", "--export", "in/<export>"],
            "options": {"timezone": "America/Los_Angeles", "profile": null,
                        "threshold_pct": 5.0, "significance_basis": "net_difference"},
            "inputs": [
                {"path": "C11-0000001-LIC/packages.json", "kind": "packages", "license": L1,
                 "sha256": "ab".repeat(32), "bytes": 1234, "rows_in": 13, "rows_accepted": 12,
                 "rows_rejected": 1},
                {"path": "counts/C11-0000001-LIC.csv", "kind": "counts", "license": null,
                 "sha256": "cd".repeat(32), "bytes": 99, "rows_in": 8, "rows_accepted": 7,
                 "rows_rejected": 1}
            ],
            "rules": [{"id": "count.quantity_mismatch", "family": "count", "severity": "medium",
                       "citation": "§15051", "description": "counted differs from system",
                       "source": "sql", "sha256": "ef".repeat(32)}],
            "outputs": [{"path": "findings.parquet", "rows": rows.len()},
                        {"path": "report.html", "rows": rows.len()}],
            "rerun": "tagtrail run --export in --out out"
        });
        std::fs::write(dir.join(out::MANIFEST), manifest.to_string()).unwrap();
        rows
    }

    fn severity_counts(rows: &[Row]) -> Vec<(&'static str, usize)> {
        data::SEVERITIES.iter().map(|s| (*s, rows.iter().filter(|r| r.2 == *s).count())).collect()
    }

    #[test]
    fn report_writes_complete_escaped_capped_reports() {
        let dir = tempfile::tempdir().unwrap();
        let rows = fixture(dir.path(), 30);
        let stats =
            run(dir.path(), &ReportOptions { max_rows: 10, ..ReportOptions::default() }).unwrap();
        assert_eq!(stats.findings, rows.len());
        let html = std::fs::read_to_string(dir.path().join(out::REPORT_HTML)).unwrap();
        let md = std::fs::read_to_string(dir.path().join(out::REPORT_MD)).unwrap();
        assert_eq!(stats.html_bytes, html.len() as u64);
        assert_eq!(stats.md_bytes, md.len() as u64);

        for text in [&html, &md] {
            assert!(!text.contains("http://") && !text.contains("https://"));
            for heading in [
                "Run and inputs",
                "Executive summary",
                "Inventory discrepancies",
                "Data-entry lag",
                "Lineage and custody",
                "Record quality",
                "Rejected input records",
                "Rules, options and outputs",
            ] {
                assert!(text.contains(heading), "{heading}");
            }
            let cap = "showing 10 of 31 — the full list is in findings.parquet";
            assert!(text.contains(cap), "cap note");
            assert!(text.contains("§15034"));
        }
        // what to act on first: verdicts, then details, the inputs with SHA-256 last
        for (text, first, appendix, inputs) in [
            (
                &html,
                "<h2>1. Executive summary</h2>",
                "Appendix: Run and inputs</h2>",
                ">Bytes</th>",
            ),
            (&md, "## 1. Executive summary", "Appendix: Run and inputs", "| Bytes |"),
        ] {
            let at = |needle: &str| text.find(needle).unwrap_or_else(|| panic!("{needle}"));
            let appendix = text.rfind(appendix).unwrap();
            assert!(at(first) < at("§15034") && at("§15034") < appendix);
            assert!(at("critical finding") < appendix);
            assert!(at(inputs) > appendix, "the input table is the appendix");
        }
        assert!(!html.contains("xmlns") && !html.contains("<link") && !html.contains("src="));
        assert!(html.matches("<svg").count() >= 3, "variance charts and lag histogram");

        for (sev, n) in severity_counts(&rows) {
            assert!(html.contains(&format!("id=\"total-{sev}\"><b>{n}</b>")), "{sev} {n}");
            let cap = format!("{}{}", sev[..1].to_uppercase(), &sev[1..]);
            assert!(md.contains(&format!("| {cap} | {n} |")), "md {sev} {n}");
        }
        assert!(html.contains(&format!("id=\"total-all\"><b>{}</b>", rows.len())));

        // input data never becomes markup
        assert!(!html.contains(XSS) && !md.contains(XSS));
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(md.contains("\\<script\\>alert(1)\\</script\\>"));
        assert!(md.contains("label seen twice \\| pages 1 and 2 \\*bold\\* \\[x\\](y)"));
        assert!(html.contains("&quot;&lt;b&gt;twelve&lt;/b&gt;&quot;"));
        assert!(md.contains("yesterday \\| maybe"));
        assert!(html.contains("in/&lt;export&gt;"));

        // the lake's latest copy gives item, category and location
        assert!(html.contains("Blue Dream 3.5g (Buds)") && !html.contains("Old name"));
        assert!(md.contains("Vault \\| B"));
        // lineage chain and significance
        assert!(html.contains("<code>1A4FF01000000220000000C1</code> →"));
        assert!(md.contains("1A4FF01000000220000000C1 → 1A4FF01000000220000000C2"));
        assert!(html.contains("-7.00 %"));
        // rejects are counted and linked
        assert!(html.contains("<a href=\"#rejects\">2</a>"));
        assert!(html.contains("id=\"rejects\""));
        // the outputs table lists what the report can describe, not the report itself
        assert!(html.contains(">findings.parquet</td>") && !html.contains(">report.html</td>"));

        // atomic writes leave no temporary file; a second run gives the same bytes
        let names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert!(names.iter().all(|n| !n.contains(".tmp-")), "{names:?}");
        run(dir.path(), &ReportOptions { max_rows: 10, ..ReportOptions::default() }).unwrap();
        assert_eq!(std::fs::read_to_string(dir.path().join(out::REPORT_HTML)).unwrap(), html);
        assert_eq!(std::fs::read_to_string(dir.path().join(out::REPORT_MD)).unwrap(), md);
    }

    /// Every cell of one worksheet of `OUT/findings.xlsx`, as text by (row, column).
    fn xlsx_sheet(dir: &Path, name: &str) -> Vec<Vec<String>> {
        use calamine::{Reader, Xlsx};
        let mut book: Xlsx<_> = calamine::open_workbook(dir.join(out::FINDINGS_XLSX)).unwrap();
        let range = book.worksheet_range(name).unwrap();
        range.rows().map(|r| r.iter().map(ToString::to_string).collect()).collect()
    }

    #[test]
    fn workbook_holds_summary_every_finding_and_rejects() {
        let dir = tempfile::tempdir().unwrap();
        let rows = fixture(dir.path(), 30);
        run(dir.path(), &ReportOptions::default()).unwrap();
        let findings = xlsx_sheet(dir.path(), "Findings");
        assert_eq!(findings.len(), rows.len() + 1, "one header row, then every finding");
        let head = &findings[0];
        assert_eq!(head[0], "Severity");
        assert!(head.iter().any(|h| h == "Occurred (America/Los_Angeles)"), "{head:?}");
        // worst first, as in the report
        let sev: Vec<&str> = findings[1..].iter().map(|r| r[0].as_str()).collect();
        let rank = |s: &str| data::severity_slot(s);
        assert!(sev.windows(2).all(|w| rank(w[0]) <= rank(w[1])), "{sev:?}");
        for (s, n) in severity_counts(&rows) {
            assert_eq!(sev.iter().filter(|x| **x == s).count(), n, "{s}");
        }
        // input text stays text (a formula-looking or HTML-looking cell is not interpreted)
        assert!(findings.iter().flatten().any(|c| c.contains(XSS)));

        let summary = xlsx_sheet(dir.path(), "Summary");
        assert_eq!(summary[0][0], "License");
        let verdicts: Vec<(&str, &str)> =
            summary[1..].iter().map(|r| (r[0].as_str(), r[1].as_str())).collect();
        assert!(verdicts.iter().any(|(_, v)| v.starts_with("SIGNIFICANT")), "{verdicts:?}");
        let rejects = xlsx_sheet(dir.path(), "Rejects");
        assert_eq!(rejects.len(), 3, "header and the two rejected records");
        assert!(xlsx_sheet(dir.path(), "Run").iter().any(|r| r[0] == "Run id"));

        // over the sheet's row limit the last row says so and points to findings.parquet
        let opts = ReportOptions { xlsx_rows: 10, ..ReportOptions::default() };
        run(dir.path(), &opts).unwrap();
        let capped = xlsx_sheet(dir.path(), "Findings");
        assert_eq!(capped.len(), 11);
        let note = &capped[10][0];
        assert!(note.contains(&format!("{} more findings", rows.len() - 9)), "{note}");
        assert!(note.contains("findings.parquet"), "{note}");
    }

    #[test]
    fn report_severity_order_and_uncapped_tables() {
        let dir = tempfile::tempdir().unwrap();
        fixture(dir.path(), 2);
        run(dir.path(), &ReportOptions::default()).unwrap();
        let md = std::fs::read_to_string(dir.path().join(out::REPORT_MD)).unwrap();
        assert!(!md.contains("showing "));
        // count table: critical, then high (by license, label), then medium
        let crit = md.find("| critical | count.significant\\_discrepancy").unwrap();
        let high = md.find("| high | count.missing\\_in\\_system").unwrap();
        let med = md.find("| medium | count.quantity\\_mismatch").unwrap();
        assert!(crit < high && high < med);
    }

    #[test]
    fn report_tolerates_missing_optional_inputs() {
        let dir = tempfile::tempdir().unwrap();
        fixture(dir.path(), 1);
        for f in [out::SUMMARY, out::REJECTS, out::MANIFEST] {
            std::fs::remove_file(dir.path().join(f)).unwrap();
        }
        std::fs::remove_dir_all(dir.path().join(out::LAKE)).unwrap();
        run(dir.path(), &ReportOptions::default()).unwrap();
        let html = std::fs::read_to_string(dir.path().join(out::REPORT_HTML)).unwrap();
        assert!(html.contains("manifest.json was not found"));
        assert!(html.contains("run-1"), "run id from the findings");
        assert!(html.contains("Variance by license"));
        assert!(html.contains("<a href=\"#rejects\">0</a>"));
    }

    #[test]
    fn report_needs_findings() {
        let dir = tempfile::tempdir().unwrap();
        let err = run(dir.path(), &ReportOptions::default()).unwrap_err();
        assert!(matches!(err, crate::error::Error::Usage(_)), "{err}");
    }

    #[test]
    fn report_summary_paragraph_names_counts_and_places() {
        let dir = tempfile::tempdir().unwrap();
        let rows = fixture(dir.path(), 3);
        let p = summary_paragraph(dir.path()).unwrap();
        for (sev, n) in severity_counts(&rows) {
            assert!(p.contains(&format!("{n} {sev}")), "{p}");
        }
        assert!(p.contains("Checked 2 licenses"), "{p}");
        assert!(p.contains("Significant inventory discrepancies: 1"), "{p}");
        assert!(p.contains(&format!("{L1} weight -7.00 %")), "{p}");
        assert!(p.contains("2 input records could not be read"), "{p}");
        assert!(p.contains("report.html"), "{p}");
    }
}
