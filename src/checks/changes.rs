//! `OUT/changes.parquet` (SPEC section 7): this run's findings against the previous run's
//! (`--previous OUT_DIR`), by `finding_key`: `new`, `recurring` (with the run it was first
//! seen in, carried along the chain of runs) or `resolved`; and `OUT/trend.parquet`, each
//! license's variance per quantity type in every run of the chain.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use polars::prelude::*;

use crate::error::{Error, PolarsContext, Result};
use crate::schema::{self, out};

/// When and in which run a finding was first seen.
type FirstSeen = (String, Option<i64>);

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
    let mut history: BTreeMap<String, FirstSeen> = BTreeMap::new();
    if let Some(ch) = read(&previous.join(out::CHANGES))? {
        let key = strings(&ch, schema::FINDING_KEY)?;
        let status = strings(&ch, "status")?;
        let run = strings(&ch, "first_seen_run_id")?;
        let at = ch
            .column("first_seen_at")
            .and_then(|c| c.cast(&DataType::Int64))
            .ctx(|| "first_seen_at".into())?;
        let at = at.i64().ctx(|| "first_seen_at".into())?;
        for i in 0..ch.height() {
            if let (Some(k), Some(s)) = (&key[i], &status[i])
                && s != "resolved"
            {
                history.insert(k.clone(), (run[i].clone().unwrap_or_default(), at.get(i)));
            }
        }
    }
    let prev = rows(&prev_findings)?;
    let now = rows(findings)?;
    let prev_keys: BTreeSet<String> = prev.iter().map(|r| r.0.clone()).collect();
    let now_keys: BTreeSet<String> = now.iter().map(|r| r.0.clone()).collect();
    let first_seen = |k: &str| -> FirstSeen {
        history.get(k).cloned().unwrap_or_else(|| (prev_run.clone(), prev_at))
    };
    let mut out_rows: Vec<(Row, &'static str, FirstSeen)> = Vec::new();
    let mut seen = BTreeSet::new();
    for r in now {
        if !seen.insert(r.0.clone()) {
            continue;
        }
        if prev_keys.contains(&r.0) {
            let f = first_seen(&r.0);
            out_rows.push((r, "recurring", f));
        } else {
            out_rows.push((r, "new", (run_id.to_owned(), Some(now_us))));
        }
    }
    for r in prev {
        if !now_keys.contains(&r.0) && seen.insert(r.0.clone()) {
            let f = first_seen(&r.0);
            out_rows.push((r, "resolved", f));
        }
    }
    frame(out_rows)
}

/// (finding_key, rule_id, license, package_label).
type Row = (String, String, String, Option<String>);

fn rows(df: &DataFrame) -> Result<Vec<Row>> {
    let key = match df.column(schema::FINDING_KEY) {
        Ok(_) => strings(df, schema::FINDING_KEY)?,
        Err(_) => {
            let keys = super::finding_keys(df)?;
            keys.str().ctx(|| "finding keys".into())?.iter().map(|k| k.map(str::to_owned)).collect()
        }
    };
    let (rule, license, label) =
        (strings(df, "rule_id")?, strings(df, "license")?, strings(df, "package_label")?);
    Ok((0..df.height())
        .map(|i| {
            (
                key[i].clone().unwrap_or_default(),
                rule[i].clone().unwrap_or_default(),
                license[i].clone().unwrap_or_default(),
                label[i].clone(),
            )
        })
        .collect())
}

fn frame(rows: Vec<(Row, &'static str, FirstSeen)>) -> Result<DataFrame> {
    let n = rows.len();
    let mut cols: [Vec<Option<String>>; 6] = Default::default();
    let mut at = Vec::with_capacity(n);
    for ((key, rule, license, label), status, (run, t)) in rows {
        cols[0].push(Some(key));
        cols[1].push(Some(rule));
        cols[2].push(Some(license));
        cols[3].push(label);
        cols[4].push(Some(status.to_owned()));
        cols[5].push(Some(run));
        at.push(t);
    }
    let names =
        [schema::FINDING_KEY, "rule_id", "license", "package_label", "status", "first_seen_run_id"];
    let mut columns: Vec<Column> =
        names.iter().zip(cols).map(|(name, v)| Column::new((*name).into(), v)).collect();
    let ts = DataType::Datetime(TimeUnit::Microseconds, Some(TimeZone::UTC));
    let at = Column::new("first_seen_at".into(), at).cast(&ts).ctx(|| "first_seen_at".into())?;
    columns.push(at);
    DataFrame::new(n, columns).ctx(|| "changes".into())
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
