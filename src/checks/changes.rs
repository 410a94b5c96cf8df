//! `OUT/changes.parquet` (SPEC section 7): this run's findings against the previous run's
//! (`--previous OUT_DIR`), by `finding_key`: `new`, `recurring` (with the run it was first
//! seen in, carried along the chain of runs) or `resolved`; and `OUT/trend.parquet`, each
//! license's variance per quantity type in every run of the chain.

use std::path::Path;

use polars::prelude::*;

use crate::error::{Error, PolarsContext, Result};
use crate::schema::{self, out};

/// The changes of `findings` (this run, `run_id`, finished at `now_us`) since the result in
/// `previous`. A previous result without keys (an earlier version) gets them computed.
pub fn changes(
    findings: &DataFrame,
    run_id: &str,
    now_us: i64,
    previous: &Path,
) -> Result<DataFrame> {
    // Only the columns a change needs (the findings' details are most of the file), unless
    // the previous result predates keys and they must be computed from the rest.
    let wanted = [schema::FINDING_KEY, "rule_id", "license", "package_label"];
    let prev_findings = read_columns(&previous.join(out::FINDINGS), &wanted)?.ok_or_else(|| {
        Error::Usage(format!(
            "--previous `{}` holds no {}: give the output folder of an earlier run",
            previous.display(),
            out::FINDINGS
        ))
    })?;
    let (prev_run, prev_at) = previous_run(previous)?;
    let key = schema::FINDING_KEY;
    // Each finding once (its first row), in the order of its findings file.
    let once = |df: &DataFrame| -> Result<LazyFrame> {
        Ok(keyed(df)?
            .with_row_index("_row", None)
            .unique_stable_generic(Some(vec![col(key)]), UniqueKeepStrategy::First))
    };
    let (now, prev) = (once(findings)?, once(&prev_findings)?);
    // When and in which run each open finding of the chain was first seen (the last row of
    // a key wins, as a later row would have replaced an earlier one).
    let history = match read(&previous.join(out::CHANGES))? {
        Some(ch) => ch
            .lazy()
            .filter(col(key).is_not_null().and(col("status").neq(lit("resolved"))))
            .select([
                col(key).cast(DataType::String),
                col("first_seen_run_id").cast(DataType::String).fill_null(lit("")).alias("_run"),
                col("first_seen_at").cast(DataType::Int64).alias("_at"),
                lit(true).alias("_known"),
            ])
            .unique_stable_generic(Some(vec![col(key)]), UniqueKeepStrategy::Last),
        None => df!(
            key => Vec::<String>::new(),
            "_run" => Vec::<String>::new(),
            "_at" => Vec::<Option<i64>>::new(),
            "_known" => Vec::<bool>::new()
        )
        .ctx(|| "changes".into())?
        .lazy(),
    };
    let left = || JoinArgs::new(JoinType::Left);
    // A finding open before: since the run its history names, else since the previous run.
    let since = |lf: LazyFrame| {
        lf.join(history.clone(), [col(key)], [col(key)], left()).with_columns([
            when(col("_known").is_not_null())
                .then(col("_run"))
                .otherwise(lit(prev_run.clone()))
                .alias("first_seen_run_id"),
            when(col("_known").is_not_null())
                .then(col("_at"))
                .otherwise(prev_at.map_or_else(|| lit(NULL).cast(DataType::Int64), lit))
                .alias("first_seen_at"),
        ])
    };
    let was_open = prev.clone().select([col(key), lit(true).alias("_before")]);
    let open = |then: Expr, otherwise: Expr| {
        when(col("_before").is_not_null()).then(then).otherwise(otherwise)
    };
    let current = since(now.clone().join(was_open, [col(key)], [col(key)], left())).with_columns([
        open(lit("recurring"), lit("new")).alias("status"),
        open(col("first_seen_run_id"), lit(run_id.to_owned())).alias("first_seen_run_id"),
        open(col("first_seen_at"), lit(now_us)).alias("first_seen_at"),
    ]);
    let anti = JoinArgs::new(JoinType::Anti);
    let gone = since(prev.join(now.select([col(key)]), [col(key)], [col(key)], anti))
        .with_column(lit("resolved").alias("status"));
    let ts = DataType::Datetime(TimeUnit::Microseconds, Some(TimeZone::UTC));
    let in_order = |lf: LazyFrame| {
        lf.sort(["_row"], SortMultipleOptions::default()).select([
            col(key),
            col("rule_id"),
            col("license"),
            col("package_label"),
            col("status"),
            col("first_seen_run_id"),
            col("first_seen_at").cast(ts.clone()),
        ])
    };
    concat([in_order(current), in_order(gone)], UnionArgs::default())
        .and_then(LazyFrame::collect)
        .ctx(|| "changes".into())
}

/// A findings table's key (computed for findings written before keys), rule id, license
/// and package label; a missing key, rule id or license reads as empty.
fn keyed(df: &DataFrame) -> Result<LazyFrame> {
    let key = schema::FINDING_KEY;
    let mut df = df.clone();
    if df.column(key).is_err() {
        let keys = super::finding_keys(&df)?;
        df.with_column(keys).ctx(|| "finding keys".into())?;
    }
    let text = |n: &str| col(n).cast(DataType::String);
    Ok(df.lazy().select([
        text(key).fill_null(lit("")),
        text("rule_id").fill_null(lit("")),
        text("license").fill_null(lit("")),
        text("package_label"),
    ]))
}

/// The previous result's run id and finish time (µs since 1970, UTC).
pub(crate) fn previous_run(previous: &Path) -> Result<(String, Option<i64>)> {
    let path = previous.join(out::MANIFEST);
    let text = std::fs::read_to_string(&path).map_err(|e| Error::io("cannot read", &path, e))?;
    let m: serde_json::Value = serde_json::from_str(&text).map_err(|e| Error::Input {
        path: path.clone(),
        position: None,
        reason: format!("not a tagtrail manifest: {e}"),
    })?;
    let run = m.get("run_id").and_then(|v| v.as_str()).unwrap_or_default().to_owned();
    let at = ["finished_at", "started_at"]
        .iter()
        .filter_map(|k| m.get(*k).and_then(|v| v.as_str()))
        .find_map(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.timestamp_micros());
    Ok((run, at))
}

fn read(path: &Path) -> Result<Option<DataFrame>> {
    if !path.is_file() {
        return Ok(None);
    }
    let f = std::fs::File::open(path).map_err(|e| Error::io("cannot read", path, e))?;
    ParquetReader::new(f).finish().map(Some).ctx(|| format!("cannot read `{}`", path.display()))
}

/// `columns` of a Parquet file when it has them all, else every column.
fn read_columns(path: &Path, columns: &[&str]) -> Result<Option<DataFrame>> {
    if !path.is_file() {
        return Ok(None);
    }
    let what = || format!("cannot read `{}`", path.display());
    let f = std::fs::File::open(path).map_err(|e| Error::io("cannot read", path, e))?;
    let mut reader = ParquetReader::new(f);
    let schema = reader.schema().ctx(what)?;
    if columns.iter().all(|c| schema.contains(c)) {
        reader = reader.with_columns(Some(columns.iter().map(|c| (*c).into()).collect()));
    }
    reader.finish().map(Some).ctx(what)
}

fn strings(df: &DataFrame, name: &str) -> Result<Vec<Option<String>>> {
    let c =
        df.column(name).and_then(|c| c.cast(&DataType::String)).ctx(|| format!("column {name}"))?;
    Ok(c.str().ctx(|| format!("column {name}"))?.iter().map(|v| v.map(str::to_owned)).collect())
}

/// `trend.parquet`: each license's totals per quantity type in every run of the chain,
/// oldest first: the previous result's trend (or, for the first link, its summary), then
/// this run's (`summary`, `run_id`, `now_us`).
pub fn trend(summary: &DataFrame, run_id: &str, now_us: i64, previous: &Path) -> Result<DataFrame> {
    let earlier = match read(&previous.join(out::TREND))? {
        Some(t) => t.lazy(),
        None => {
            let s = read(&previous.join(out::SUMMARY))?.ok_or_else(|| {
                Error::Usage(format!(
                    "--previous `{}` holds no {}: give the output folder of an earlier run",
                    previous.display(),
                    out::SUMMARY
                ))
            })?;
            let (prev_run, prev_at) = previous_run(previous)?;
            trend_rows(s.lazy(), &prev_run, prev_at)
        }
    };
    let now = trend_rows(summary.clone().lazy(), run_id, Some(now_us));
    concat([earlier, now], UnionArgs::default())
        .and_then(LazyFrame::collect)
        .ctx(|| "variance trend".into())
}

fn trend_rows(summary: LazyFrame, run_id: &str, at: Option<i64>) -> LazyFrame {
    let ts = DataType::Datetime(TimeUnit::Microseconds, Some(TimeZone::UTC));
    summary.filter(col("kind").eq(lit("quantity"))).select([
        lit(run_id.to_owned()).alias("run_id"),
        at.map_or_else(|| lit(NULL), lit).cast(ts).alias("run_at"),
        col("license").cast(DataType::String),
        col("quantity_type").cast(DataType::String),
        col("unit").cast(DataType::String),
        col("system_total").cast(DataType::Float64),
        col("counted_total").cast(DataType::Float64),
        col("variance_pct").cast(DataType::Float64),
        col("significant").cast(DataType::Boolean),
    ])
}

/// The counts known to the previous run of the chain (`--previous`): its summary's
/// `known_count` rows, which hold its own counts and those of the runs before it; a
/// summary written before those rows existed gives the previous lake's count rows.
pub fn previous_counts(previous: &Path) -> Result<Vec<crate::config::KnownCount>> {
    let Some(summary) = read(&previous.join(out::SUMMARY))? else {
        return Err(Error::Usage(format!(
            "--previous `{}` holds no {}: give the output folder of an earlier run",
            previous.display(),
            out::SUMMARY
        )));
    };
    let rows = if summary.column("counted_date").is_ok() {
        summary
            .lazy()
            .filter(col("kind").eq(lit("known_count")))
            .select([col("license"), col("counted_at"), col("counted_date"), col("source_file")])
            .collect()
    } else {
        let lake = previous.join(out::LAKE);
        crate::store::scan_table(&lake, schema::COUNTS)?
            .filter(col("counted_date").is_not_null().and(col("counted_at_end").is_not_null()))
            .group_by([col("license"), col("counted_date")])
            .agg([col("counted_at_end").max().alias("counted_at"), col("source_file").min()])
            .collect()
    }
    .ctx(|| format!("counts of the previous run `{}`", previous.display()))?;
    let int = |n: &str| -> Result<Vec<Option<i64>>> {
        let c = rows.column(n).and_then(|c| c.cast(&DataType::Int64)).ctx(|| n.into())?;
        Ok(c.i64().ctx(|| n.into())?.iter().collect())
    };
    let (at, date) = (int("counted_at")?, int("counted_date")?);
    let (lic, file) = (strings(&rows, "license")?, strings(&rows, "source_file")?);
    Ok((0..rows.height())
        .filter_map(|k| {
            Some(crate::config::KnownCount {
                license: lic[k].clone()?,
                counted_at_us: at[k]?,
                counted_date: i32::try_from(date[k]?).ok()?,
                source_file: file[k].clone(),
            })
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Findings of one license: (rule id, package label) each, other key parts null.
    fn findings(rows: &[(&str, &str)], with_keys: bool) -> DataFrame {
        let n = rows.len();
        let none: Vec<Option<&str>> = vec![None; n];
        let mut df = df!(
            "rule_id" => rows.iter().map(|r| r.0).collect::<Vec<_>>(),
            "license" => vec!["C11-0000001-LIC"; n],
            "package_label" => rows.iter().map(|r| r.1).collect::<Vec<_>>(),
            "related_label" => none.clone(),
            "reference" => none.clone(),
            "unit" => none,
            "occurred_at" => vec![None::<i64>; n],
            "detail" => vec!["a long text the changes never read"; n],
        )
        .unwrap();
        if with_keys {
            let keys = crate::checks::finding_keys(&df).unwrap();
            df.with_column(keys).unwrap();
        }
        df
    }

    fn previous_out(prev: &mut DataFrame) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        crate::store::write_parquet(prev, &dir.path().join(out::FINDINGS)).unwrap();
        let manifest = r#"{"run_id": "r1", "finished_at": "2026-11-01T00:00:00Z"}"#;
        std::fs::write(dir.path().join(out::MANIFEST), manifest).unwrap();
        dir
    }

    fn statuses(ch: &DataFrame) -> Vec<(String, String)> {
        let label = strings(ch, "package_label").unwrap();
        let status = strings(ch, "status").unwrap();
        let mut v: Vec<(String, String)> = label
            .into_iter()
            .zip(status)
            .map(|(l, s)| (l.unwrap_or_default(), s.unwrap_or_default()))
            .collect();
        v.sort();
        v
    }

    #[test]
    fn changes_read_the_previous_keys_or_compute_them_for_an_earlier_version() {
        let now = findings(&[("lag.late_entry", "A"), ("lag.late_entry", "C")], true);
        let want = [("A", "recurring"), ("B", "resolved"), ("C", "new")]
            .map(|(l, s)| (l.to_owned(), s.to_owned()));
        for with_keys in [true, false] {
            let mut prev = findings(&[("lag.late_entry", "A"), ("lag.late_entry", "B")], with_keys);
            let dir = previous_out(&mut prev);
            let ch = changes(&now, "r2", 1, dir.path()).unwrap();
            assert_eq!(statuses(&ch), want, "previous findings with keys: {with_keys}");
            let first = strings(&ch, "first_seen_run_id").unwrap();
            let label = strings(&ch, "package_label").unwrap();
            for (l, r) in label.iter().zip(&first) {
                let expected = if l.as_deref() == Some("C") { "r2" } else { "r1" };
                assert_eq!(r.as_deref(), Some(expected), "{l:?}");
            }
        }
    }
}
