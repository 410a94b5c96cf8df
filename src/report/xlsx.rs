//! `OUT/findings.xlsx` for people who work in a spreadsheet (SPEC section 4): the verdict
//! per license and quantity type, every finding, every rejected record, and what the run
//! was. Each sheet is one table: one header row, filters, frozen header; times are local
//! times of the run's time zone, named in the header.
//!
//! Sheets are written row by row in constant-memory mode, so a statewide run's findings
//! cost a few rows of memory, not the whole table.

use std::path::Path;

use chrono::{NaiveDateTime, TimeZone};
use chrono_tz::Tz;
use polars::prelude::*;
use rust_xlsxwriter::{Color, Format, Workbook, Worksheet, XlsxError};

use super::data::{CountStatus, License, Model, SEVERITIES};
use crate::error::{Error, PolarsContext, Result};
use crate::schema::out;

/// Data rows a worksheet holds below its header (Excel's limit is 1,048,576 rows).
pub(crate) const MAX_ROWS: usize = 1_048_575;

/// What went into the workbook.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct XlsxStats {
    pub findings: usize,
    pub findings_shown: usize,
    pub rejects: usize,
}

/// The workbook's two large sheets, Findings and Rejects, written before the report model
/// is needed: they come from the Parquet files alone (and the run's time zone), so they
/// are built while the model loads.
pub(crate) struct Rows {
    wb: Workbook,
    findings: Worksheet,
    rejects: Worksheet,
    stats: XlsxStats,
    /// The zone the sheets' times are in, named again on the Run sheet.
    zone: String,
}

#[allow(clippy::needless_pass_by_value, reason = "the shape `map_err` calls")]
fn xl(e: XlsxError) -> Error {
    Error::Internal(format!("cannot build findings.xlsx: {e}"))
}

/// Findings and Rejects of the run in `out_dir`; `timezone` is the run's (`--tz`).
/// `max_rows` caps both sheets (Excel's limit in production, smaller in tests); a capped
/// sheet says so in its last row.
pub(crate) fn rows(out_dir: &Path, timezone: &str, max_rows: usize) -> Result<Rows> {
    let tz: Option<Tz> = timezone.parse().ok();
    let zone = tz.map_or("UTC".to_owned(), |t| t.name().to_owned());
    let findings = with_changes(read_sorted(&out_dir.join(out::FINDINGS), true)?, out_dir)?;
    let rejects = read_sorted(&out_dir.join(out::REJECTS), false)?;
    let max_rows = max_rows.clamp(2, MAX_ROWS);

    let mut wb = Workbook::new();
    // Rows wait in temporary files until the workbook is zipped: inside OUT's result being
    // written, which is removed with it if the run stops.
    wb.set_tempdir(out_dir).map_err(xl)?;
    let f = Formats::new();
    let mut ws = wb.new_worksheet_with_constant_memory();
    ws.set_name("Findings").map_err(xl)?;
    let (total, shown) = findings_sheet(&mut ws, findings.as_ref(), tz, &zone, max_rows, &f)?;
    let mut rs = wb.new_worksheet_with_constant_memory();
    rs.set_name("Rejects").map_err(xl)?;
    let rejected = rejects_sheet(&mut rs, rejects.as_ref(), max_rows, &f)?;
    let stats = XlsxStats { findings: total, findings_shown: shown, rejects: rejected };
    Ok(Rows { wb, findings: ws, rejects: rs, stats, zone })
}

/// The workbook's bytes: Summary, the two large sheets of [`rows`], Run and (when the run
/// checked them) Duties.
pub(crate) fn finish(rows: Rows, model: &Model) -> Result<(Vec<u8>, XlsxStats)> {
    let Rows { mut wb, findings, rejects, stats, zone } = rows;
    let f = Formats::new();
    let mut ws = wb.new_worksheet_with_constant_memory();
    ws.set_name("Summary").map_err(xl)?;
    summary_sheet(&mut ws, model, &f).map_err(xl)?;
    wb.push_worksheet(ws);
    wb.push_worksheet(findings);
    wb.push_worksheet(rejects);
    let mut ws = wb.new_worksheet_with_constant_memory();
    ws.set_name("Run").map_err(xl)?;
    run_sheet(&mut ws, model, &zone, &stats, &f).map_err(xl)?;
    wb.push_worksheet(ws);
    let duties = super::text::duty_rows(&model.overview);
    if !duties.is_empty() {
        let mut ws = wb.new_worksheet_with_constant_memory();
        ws.set_name("Duties").map_err(xl)?;
        duties_sheet(&mut ws, model, &duties, &f).map_err(xl)?;
        wb.push_worksheet(ws);
    }
    let bytes = wb.save_to_buffer().map_err(xl)?;
    Ok((bytes, stats))
}

struct Formats {
    header: Format,
    number: Format,
    pct: Format,
    hours: Format,
    time: Format,
    bold: Format,
    alert: Format,
    note: Format,
}

impl Formats {
    fn new() -> Formats {
        Formats {
            header: Format::new().set_bold().set_background_color(Color::RGB(0xE7_EC_F2)),
            number: Format::new().set_num_format("#,##0.###"),
            pct: Format::new().set_num_format("+0.00\" %\";-0.00\" %\";0.00\" %\""),
            hours: Format::new().set_num_format("0.0"),
            time: Format::new().set_num_format("yyyy-mm-dd hh:mm:ss"),
            bold: Format::new().set_bold(),
            alert: Format::new().set_bold().set_font_color(Color::RGB(0xB0_00_20)),
            note: Format::new().set_italic(),
        }
    }
}

/// The findings with their change since the previous run (`status`, `first_seen_at` of
/// `changes.parquet`), when this run was compared with one.
fn with_changes(findings: Option<DataFrame>, out_dir: &Path) -> Result<Option<DataFrame>> {
    let Some(df) = findings else { return Ok(None) };
    let Some(ch) = super::data::scan_optional(&out_dir.join(out::CHANGES))? else {
        return Ok(Some(df));
    };
    let key = crate::schema::FINDING_KEY;
    // the findings' order (worst first) is kept through the join by their row number
    let joined = df
        .lazy()
        .with_row_index("row", None)
        .join(
            ch.select([col(key), col("status"), col("first_seen_at")]),
            [col(key)],
            [col(key)],
            JoinArgs::new(JoinType::Left),
        )
        .sort(["row"], SortMultipleOptions::default())
        .collect()
        .ctx(|| "findings with their changes".into())?;
    Ok(Some(joined))
}

/// `findings.parquet` (worst first, as in the report) or `rejects.parquet` (file order);
/// `None` when the file is absent.
fn read_sorted(path: &Path, findings: bool) -> Result<Option<DataFrame>> {
    let Some(lf) = super::data::scan_optional(path)? else { return Ok(None) };
    let lf = if findings {
        let rank = super::data::sev_rank();
        lf.sort_by_exprs(
            [rank, col("license"), col("rule_id"), col("package_label"), col("reference")],
            SortMultipleOptions::default().with_nulls_last(true).with_maintain_order(true),
        )
    } else {
        lf
    };
    let mut df = lf.collect().ctx(|| format!("cannot read `{}`", path.display()))?;
    df.rechunk_mut();
    Ok(Some(df))
}

fn header(ws: &mut Worksheet, names: &[(&str, f64)], f: &Formats) -> Result<(), XlsxError> {
    for (i, (name, width)) in names.iter().enumerate() {
        let c = col_num(i);
        ws.write_string_with_format(0, c, *name, &f.header)?;
        ws.set_column_width(c, *width)?;
    }
    ws.set_freeze_panes(1, 0)?;
    Ok(())
}

fn col_num(i: usize) -> u16 {
    u16::try_from(i).unwrap_or(u16::MAX)
}

fn row_num(i: usize) -> u32 {
    u32::try_from(i).unwrap_or(u32::MAX)
}

fn filter(ws: &mut Worksheet, rows: usize, cols: usize) -> Result<(), XlsxError> {
    ws.autofilter(0, 0, row_num(rows.max(1)), col_num(cols - 1))?;
    Ok(())
}

/// The verdict on one license's counts, in the words of SPEC 2.4.
fn verdict(l: &License, significant: bool) -> String {
    match l.coverage.status {
        CountStatus::NotChecked if !l.significant() => {
            format!("not checked: {}", l.coverage.not_checked_why())
        }
        CountStatus::NotDetermined => format!(
            "not determined: {} of {} count rows could not be read",
            l.coverage.rejected, l.coverage.rows
        ),
        _ if significant => {
            "SIGNIFICANT discrepancy: report to the Department within 24 hours (§15034)".to_owned()
        }
        _ => "no significant discrepancy".to_owned(),
    }
}

fn summary_sheet(ws: &mut Worksheet, model: &Model, f: &Formats) -> Result<(), XlsxError> {
    let cols: [(&str, f64); 16] = [
        ("License", 20.0),
        ("Verdict", 44.0),
        ("Quantity type", 13.0),
        ("Unit", 6.0),
        ("System total", 14.0),
        ("Counted total", 14.0),
        ("Variance", 12.0),
        ("Variance %", 11.0),
        ("Count rows", 11.0),
        ("Count rows rejected", 12.0),
        ("Critical", 9.0),
        ("High", 8.0),
        ("Medium", 9.0),
        ("Low", 8.0),
        ("Info", 8.0),
        ("Findings", 10.0),
    ];
    header(ws, &cols, f)?;
    let mut r = 0u32;
    for l in &model.overview.licenses {
        let quantities: Vec<Option<&super::data::Quantity>> = if l.quantities.is_empty() {
            vec![None]
        } else {
            l.quantities.iter().map(Some).collect()
        };
        for q in quantities {
            r += 1;
            let significant = q.map_or(l.significant(), |q| q.significant);
            ws.write_string(r, 0, &l.license)?;
            let v = verdict(l, significant);
            let fmt = if significant { &f.alert } else { &Format::new() };
            ws.write_string_with_format(r, 1, &v, fmt)?;
            if let Some(q) = q {
                ws.write_string(r, 2, &q.quantity_type)?;
                ws.write_string(r, 3, &q.unit)?;
                let values = [q.system_total, q.counted_total, q.variance];
                for (i, v) in values.into_iter().enumerate() {
                    if let Some(v) = v.filter(|v| v.is_finite()) {
                        ws.write_number_with_format(r, col_num(4 + i), v, &f.number)?;
                    }
                }
                if let Some(p) = q.variance_pct.filter(|v| v.is_finite()) {
                    ws.write_number_with_format(r, 7, p, &f.pct)?;
                }
            }
            if l.coverage.status != CountStatus::NotChecked {
                ws.write_number(r, 8, l.coverage.rows as f64)?;
                ws.write_number(r, 9, l.coverage.rejected as f64)?;
            }
            for (i, n) in l.counts.iter().take(SEVERITIES.len()).enumerate() {
                ws.write_number(r, col_num(10 + i), *n as f64)?;
            }
            ws.write_number_with_format(r, 15, l.total() as f64, &f.bold)?;
        }
    }
    filter(ws, r as usize, cols.len())
}

/// "Reconciliation duties" (§15050, §15051), one row per license, then what was not
/// checked, in words.
fn duties_sheet(
    ws: &mut Worksheet,
    model: &Model,
    rows: &[[String; 6]],
    f: &Formats,
) -> Result<(), XlsxError> {
    let widths = [20.0, 28.0, 14.0, 26.0, 18.0, 30.0];
    let cols: Vec<(&str, f64)> = super::text::DUTY_HEADERS.iter().copied().zip(widths).collect();
    header(ws, &cols, f)?;
    for (i, row) in rows.iter().enumerate() {
        for (j, c) in row.iter().enumerate() {
            ws.write_string(row_num(i + 1), col_num(j), c)?;
        }
    }
    filter(ws, rows.len(), cols.len())?;
    let first = rows.len() + 2;
    for (i, sentence) in super::text::duty_verdicts(&model.overview).iter().enumerate() {
        ws.write_string_with_format(row_num(first + i), 0, sentence, &f.note)?;
    }
    Ok(())
}

const FINDING_COLS: [(&str, &str, f64); 16] = [
    ("severity", "Severity", 9.0),
    ("rule_id", "Rule", 34.0),
    ("family", "Family", 9.0),
    ("license", "License", 18.0),
    ("package_label", "Package", 27.0),
    ("related_label", "Related package", 27.0),
    ("reference", "Reference", 14.0),
    ("occurred_at", "Occurred", 20.0),
    ("recorded_at", "Recorded", 20.0),
    ("lag_hours", "Lag (hours)", 10.0),
    ("system_quantity", "System quantity", 14.0),
    ("counted_quantity", "Counted quantity", 14.0),
    ("variance", "Variance", 12.0),
    ("unit", "Unit", 6.0),
    ("citation", "Citation", 14.0),
    ("detail", "Detail", 90.0),
];

/// Every finding (up to `max_rows`), then the source file. Returns (findings, rows shown).
fn findings_sheet(
    ws: &mut Worksheet,
    df: Option<&DataFrame>,
    tz: Option<Tz>,
    zone: &str,
    max_rows: usize,
    f: &Formats,
) -> Result<(usize, usize)> {
    let xl = |e: XlsxError| Error::Internal(format!("cannot build findings.xlsx: {e}"));
    let mut names: Vec<(String, f64)> = FINDING_COLS
        .iter()
        .map(|(c, n, w)| match *c {
            "occurred_at" | "recorded_at" => (format!("{n} ({zone})"), *w),
            _ => ((*n).to_owned(), *w),
        })
        .collect();
    names.push(("Source file".to_owned(), 40.0));
    // compared with a previous run: each finding's change, and since when it is there
    let changes = df.is_some_and(|d| d.column("status").is_ok());
    if changes {
        names.push(("Change since the previous run".to_owned(), 14.0));
        names.push((format!("First seen ({zone})"), 20.0));
    }
    let refs: Vec<(&str, f64)> = names.iter().map(|(n, w)| (n.as_str(), *w)).collect();
    header(ws, &refs, f).map_err(xl)?;
    let Some(df) = df else {
        ws.write_string_with_format(1, 0, "no findings.parquet in this output", &f.note)
            .map_err(xl)?;
        return Ok((0, 0));
    };
    let total = df.height();
    let shown = if total > max_rows { max_rows - 1 } else { total };
    let mut columns: Vec<Cells> =
        FINDING_COLS.iter().map(|(c, _, _)| Cells::of(df, c)).collect::<Result<_>>()?;
    columns.push(Cells::of(df, "source_file")?);
    if changes {
        columns.push(Cells::of(df, "status")?);
        columns.push(Cells::of(df, "first_seen_at")?);
    }
    for i in 0..shown {
        let r = row_num(i + 1);
        for (j, cells) in columns.iter().enumerate() {
            cells.write(ws, r, col_num(j), i, tz, f).map_err(xl)?;
        }
    }
    if shown < total {
        let note = format!(
            "{} more findings are not shown (a worksheet holds {} rows): every finding is in {}",
            total - shown,
            max_rows,
            out::FINDINGS
        );
        ws.write_string_with_format(row_num(shown + 1), 0, &note, &f.alert).map_err(xl)?;
    }
    filter(ws, shown + usize::from(shown < total), names.len()).map_err(xl)?;
    Ok((total, shown))
}

fn rejects_sheet(
    ws: &mut Worksheet,
    df: Option<&DataFrame>,
    max_rows: usize,
    f: &Formats,
) -> Result<usize> {
    let xl = |e: XlsxError| Error::Internal(format!("cannot build findings.xlsx: {e}"));
    let cols = [
        ("source_file", "Source file", 40.0),
        ("record", "Record", 9.0),
        ("column", "Column", 18.0),
        ("reason", "Reason", 40.0),
        ("raw", "Raw value", 60.0),
    ];
    let refs: Vec<(&str, f64)> = cols.iter().map(|(_, n, w)| (*n, *w)).collect();
    header(ws, &refs, f).map_err(xl)?;
    let Some(df) = df else { return Ok(0) };
    let total = df.height();
    let shown = if total > max_rows { max_rows - 1 } else { total };
    let columns: Vec<Cells> =
        cols.iter().map(|(c, _, _)| Cells::of(df, c)).collect::<Result<_>>()?;
    for i in 0..shown {
        for (j, cells) in columns.iter().enumerate() {
            cells.write(ws, row_num(i + 1), col_num(j), i, None, f).map_err(xl)?;
        }
    }
    if shown < total {
        let note = format!(
            "{} more rejected records are not shown: every one is in {}",
            total - shown,
            out::REJECTS
        );
        ws.write_string_with_format(row_num(shown + 1), 0, &note, &f.alert).map_err(xl)?;
    }
    filter(ws, shown + usize::from(shown < total), cols.len()).map_err(xl)?;
    Ok(total)
}

fn run_sheet(
    ws: &mut Worksheet,
    model: &Model,
    zone: &str,
    stats: &XlsxStats,
    f: &Formats,
) -> Result<(), XlsxError> {
    header(ws, &[("Item", 28.0), ("Value", 100.0)], f)?;
    let run = &model.overview.run;
    let mut rows: Vec<(&str, String)> = vec![
        ("Run id", run.run_id.clone()),
        ("Tool", format!("{} {}", run.tool, run.version)),
        ("Started", run.started_at.clone()),
        ("Finished", run.finished_at.clone()),
        ("Time zone of the times in this workbook", zone.to_owned()),
        ("Command", run.command.join(" ")),
        ("Findings", stats.findings.to_string()),
        ("Findings shown in the Findings sheet", stats.findings_shown.to_string()),
        ("Rejected input records", stats.rejects.to_string()),
    ];
    if let Some(t) = run.threshold_pct {
        rows.push(("Significance threshold", format!("{t} % ({})", run.basis)));
    }
    rows.push(("Full data", format!("{}, {}, {}", out::FINDINGS, out::SUMMARY, out::REJECTS)));
    for (i, (k, v)) in rows.iter().enumerate() {
        ws.write_string_with_format(row_num(i + 1), 0, *k, &f.bold)?;
        ws.write_string(row_num(i + 1), 1, v)?;
    }
    Ok(())
}

/// One column of a table, typed for writing cells.
enum Cells {
    Str(StringChunked),
    Num(Float64Chunked),
    Int(Int64Chunked),
    Time(Int64Chunked),
    Missing,
}

impl Cells {
    fn of(df: &DataFrame, name: &str) -> Result<Cells> {
        let Ok(c) = df.column(name) else { return Ok(Cells::Missing) };
        let what = || format!("findings.xlsx: column {name}");
        Ok(match c.dtype() {
            DataType::Datetime(unit, _) => {
                let us = match unit {
                    TimeUnit::Milliseconds => c.cast(&DataType::Int64).ctx(what)? * 1000,
                    TimeUnit::Nanoseconds => c.cast(&DataType::Int64).ctx(what)? / 1000,
                    TimeUnit::Microseconds => c.cast(&DataType::Int64).ctx(what)?,
                };
                Cells::Time(us.i64().ctx(what)?.clone())
            }
            DataType::Float32 | DataType::Float64 => {
                Cells::Num(c.cast(&DataType::Float64).ctx(what)?.f64().ctx(what)?.clone())
            }
            dt if dt.is_integer() => {
                Cells::Int(c.cast(&DataType::Int64).ctx(what)?.i64().ctx(what)?.clone())
            }
            _ => Cells::Str(c.cast(&DataType::String).ctx(what)?.str().ctx(what)?.clone()),
        })
    }

    fn write(
        &self,
        ws: &mut Worksheet,
        r: u32,
        c: u16,
        i: usize,
        tz: Option<Tz>,
        f: &Formats,
    ) -> Result<(), XlsxError> {
        match self {
            Cells::Str(ca) => {
                if let Some(v) = ca.get(i) {
                    ws.write_string(r, c, v)?;
                }
            }
            Cells::Num(ca) => {
                if let Some(v) = ca.get(i).filter(|v| v.is_finite()) {
                    let fmt = if c == 9 { &f.hours } else { &f.number };
                    ws.write_number_with_format(r, c, v, fmt)?;
                }
            }
            Cells::Int(ca) => {
                if let Some(v) = ca.get(i) {
                    ws.write_number(r, c, v as f64)?;
                }
            }
            Cells::Time(ca) => {
                if let Some(serial) = ca.get(i).and_then(|us| excel_serial(us, tz)) {
                    ws.write_number_with_format(r, c, serial, &f.time)?;
                }
            }
            Cells::Missing => {}
        }
        Ok(())
    }
}

/// Excel's date serial (days since 1899-12-30) of the local time of `us` in `tz` (UTC
/// when none), to the second.
pub(crate) fn excel_serial(us: i64, tz: Option<Tz>) -> Option<f64> {
    let utc = chrono::DateTime::from_timestamp_micros(us)?;
    let local: NaiveDateTime = match tz {
        Some(tz) => tz.from_utc_datetime(&utc.naive_utc()).naive_local(),
        None => utc.naive_utc(),
    };
    let epoch = chrono::NaiveDate::from_ymd_opt(1899, 12, 30)?.and_hms_opt(0, 0, 0)?;
    let secs = (local - epoch).num_seconds();
    Some(secs as f64 / 86_400.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serial_is_local_time() {
        // 2026-07-01 19:30:00 UTC is 12:30 in Los Angeles (PDT, UTC-7)
        let us = chrono::Utc.with_ymd_and_hms(2026, 7, 1, 19, 30, 0).unwrap().timestamp_micros();
        let la: Tz = "America/Los_Angeles".parse().unwrap();
        let s = excel_serial(us, Some(la)).unwrap();
        // 2026-07-01 is serial 46204
        assert!((s - (46204.0 + 12.5 / 24.0)).abs() < 1e-9, "{s}");
        let u = excel_serial(us, None).unwrap();
        assert!((u - (46204.0 + 19.5 / 24.0)).abs() < 1e-9, "{u}");
    }
}
