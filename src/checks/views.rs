//! The derived views the rules read, run from `queries/views/NN_<name>.sql` in file order.
//!
//! The view files are the one definition of what the rules see (the deduplicated packages,
//! the system as of each count, lag activities, received packages…), written in a subset of
//! SQL that Polars SQL and Spark SQL both run, so `spark/run.py` runs the same files. This
//! module keeps only what SQL cannot say: which partitions a batch reads, the profile and
//! unit factors as small parameter tables, parameter values bound into the text, and which
//! views are computed once (materialised) because several rules read them.

use std::collections::{BTreeSet, HashMap};
use std::path::Path;

use polars::prelude::*;
use polars::sql::SQLContext;

use crate::config::{Basis, Profile};
use crate::error::{Error, PolarsContext, Result};
use crate::ingest::normalize;
use crate::schema;
use crate::store;

macro_rules! view_files {
    ($($name:literal),* $(,)?) => {
        &[$(($name, include_str!(concat!("../../queries/views/", $name)))),*]
    };
}

/// Built-in view files, in the order they run: (file name, text).
pub const VIEW_FILES: &[(&str, &str)] = view_files!(
    "01_packages.sql",
    "02_package_sources.sql",
    "03_source_edges.sql",
    "04_licenses.sql",
    "05_package_units.sql",
    "06_adjustments_base.sql",
    "10_count_rows_all.sql",
    "11_count_coverage.sql",
    "12_count_sessions.sql",
    "13_counts_first.sql",
    "14_count_duplicates.sql",
    "15_count_points.sql",
    "16_earliest_count_point.sql",
    "17_count_rollback.sql",
    "18_positions.sql",
    "19_count_checks.sql",
    "20_uncounted_expected.sql",
    "21_count_total_parts.sql",
    "22_sold_per_month.sql",
    "23_count_totals.sql",
    "30_activities.sql",
    "31_received_packages.sql",
    "32_outage_activities.sql",
    "40_known_counts.sql",
    "41_duty_as_of.sql",
    "42_duty_coverage.sql",
);

/// How many units `CAST(timestamp AS DOUBLE)` counts per hour in Polars (microseconds; the
/// lake's timestamps are µs). Spark counts seconds, so its runner binds 3600.
const TS_UNITS_PER_HOUR: f64 = 3_600_000_000.0;

/// What a view file defines.
#[derive(Debug, Clone, PartialEq)]
pub enum ViewKind {
    /// A view registered by name; computed once when `materialize` is set.
    View { materialize: bool },
    /// A single value (first column of the first row) bound as `:name` in later files.
    Parameter,
}

/// One view file as read.
#[derive(Debug, Clone)]
pub struct ViewFile {
    /// View or parameter name (`-- view: name` or `-- parameter: name`).
    pub name: String,
    pub kind: ViewKind,
    /// Where it came from.
    pub path: std::path::PathBuf,
    /// The SQL without comments.
    pub body: String,
}

/// Parse a view file's header and body.
pub fn parse_view(path: &Path, text: &str) -> Result<ViewFile> {
    let bad = |reason: String| Error::Rule { path: path.to_path_buf(), reason };
    let (mut view, mut parameter, mut materialize) = (None, None, false);
    for line in text.lines().map(str::trim).take_while(|l| l.starts_with("--")) {
        let Some((key, value)) = line[2..].split_once(':') else { continue };
        let value = value.trim().to_owned();
        match key.trim() {
            "view" => view = Some(value),
            "parameter" => parameter = Some(value),
            "materialize" => materialize = value == "yes",
            _ => {}
        }
    }
    let (name, kind) = match (view, parameter) {
        (Some(v), None) => (v, ViewKind::View { materialize }),
        (None, Some(p)) => (p, ViewKind::Parameter),
        _ => {
            return Err(bad(
                "header needs exactly one of `-- view: name`, `-- parameter: name`".into()
            ));
        }
    };
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(bad(format!("name `{name}` must be letters, digits or `_`")));
    }
    let body = super::sql::body(text);
    if body.is_empty() {
        return Err(bad("no SQL after the header".into()));
    }
    Ok(ViewFile { name, kind, path: path.to_path_buf(), body })
}

/// The built-in view files (from `TAGTRAIL_DEV_QUERIES/views/` when that is set; see
/// [`super::sql::DEV_QUERIES_ENV`]).
pub fn builtin_views() -> Result<Vec<ViewFile>> {
    let dev = std::env::var_os(super::sql::DEV_QUERIES_ENV).filter(|d| !d.is_empty());
    VIEW_FILES
        .iter()
        .map(|(name, text)| match &dev {
            Some(dir) => {
                let path = Path::new(dir).join("views").join(name);
                let text = std::fs::read_to_string(&path).map_err(|e| Error::Rule {
                    path: path.clone(),
                    reason: format!("cannot read ({}): {e}", super::sql::DEV_QUERIES_ENV),
                })?;
                parse_view(&path, &text)
            }
            None => parse_view(&Path::new("queries/views").join(name), text),
        })
        .collect()
}

/// Replace each `:name` outside string literals with `params[name]`. `::` (a cast in some
/// dialects) is left alone; an unknown name is an error naming the file.
pub fn bind(sql: &str, params: &HashMap<String, String>, path: &Path) -> Result<String> {
    let b = sql.as_bytes();
    let mut out = String::with_capacity(sql.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'\'' => {
                let end = memchr::memchr(b'\'', &b[i + 1..]).map_or(b.len(), |k| i + 1 + k + 1);
                out.push_str(&sql[i..end]);
                i = end;
            }
            b':' if b.get(i + 1) == Some(&b':') => {
                out.push_str("::");
                i += 2;
            }
            b':' if b.get(i + 1).is_some_and(|c| c.is_ascii_alphabetic() || *c == b'_') => {
                let start = i + 1;
                let mut end = start;
                while end < b.len() && (b[end].is_ascii_alphanumeric() || b[end] == b'_') {
                    end += 1;
                }
                let name = &sql[start..end];
                let value = params.get(name).ok_or_else(|| Error::Rule {
                    path: path.to_path_buf(),
                    reason: format!(
                        "parameter `:{name}` is not defined by the profile or an earlier view file"
                    ),
                })?;
                out.push_str(value);
                i = end;
            }
            _ => {
                let next = sql[i..].chars().next().map_or(1, char::len_utf8);
                out.push_str(&sql[i..i + next]);
                i += next;
            }
        }
    }
    Ok(out)
}

/// A value as an SQL literal Polars reads with its type.
fn sql_double(v: Option<f64>) -> String {
    match v {
        Some(v) if v.is_finite() => format!("CAST({v:?} AS DOUBLE)"),
        _ => "CAST(NULL AS DOUBLE)".into(),
    }
}

/// An instant as an ISO string in UTC: compared with a timestamp column, Polars SQL reads it
/// in the column's type and zone (a literal, so the scan skips row groups by their
/// statistics; Polars SQL has no `TIMESTAMP WITH TIME ZONE` literal).
fn sql_timestamp(v: i64, tu: TimeUnit) -> String {
    let us = match tu {
        TimeUnit::Nanoseconds => v.div_euclid(1000),
        TimeUnit::Microseconds => v,
        TimeUnit::Milliseconds => v.saturating_mul(1000),
    };
    match chrono::DateTime::from_timestamp_micros(us) {
        Some(t) => format!("'{}'", t.format("%Y-%m-%d %H:%M:%S%.6f")),
        None => "NULL".into(),
    }
}

fn sql_string(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// The profile's values as parameters (`:late_hours`, `:basis`, …).
fn profile_params(profile: &Profile) -> HashMap<String, String> {
    let basis = match profile.significance.basis {
        Basis::NetDifference => "net_difference",
        Basis::AverageMonthlySales => "average_monthly_sales",
    };
    HashMap::from([
        ("late_hours".into(), sql_double(Some(profile.lag.late_hours))),
        ("high_hours".into(), sql_double(Some(profile.lag.high_hours))),
        ("early_hours".into(), sql_double(Some(profile.lag.early_hours))),
        ("threshold".into(), sql_double(Some(profile.significance.threshold_pct() / 100.0))),
        ("basis".into(), sql_string(basis)),
        ("ts_units_per_hour".into(), sql_double(Some(TS_UNITS_PER_HOUR))),
        ("late_bound".into(), sql_interval(profile.lag.late_hours)),
        ("early_bound".into(), sql_interval(profile.lag.early_hours)),
    ])
}

/// `hours` less a microsecond (not below zero) as an interval: a bound every time
/// difference of more than `hours` exceeds, whatever the rounding of hours as a double.
fn sql_interval(hours: f64) -> String {
    format!("INTERVAL '{} microseconds'", interval_bound_us(hours))
}

/// See [`sql_interval`] (`spark/run.py` binds the same number).
fn interval_bound_us(hours: f64) -> i64 {
    #[allow(clippy::cast_possible_truncation, reason = "profile hours are small and checked")]
    let us = (hours * TS_UNITS_PER_HOUR).floor() as i64;
    (us - 1).max(0)
}

/// Every table and view a rule may read, by name.
pub struct Views {
    /// (name, frame), canonical tables and parameter tables first, then the views in order.
    pub frames: Vec<(String, LazyFrame)>,
}

impl Views {
    /// A view by name.
    pub fn get(&self, name: &str) -> LazyFrame {
        self.frames
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, f)| f.clone())
            .unwrap_or_else(|| panic!("view {name} is registered by Views::build"))
    }

    /// Build every view over the lake at `lake`.
    pub fn build(lake: &Path, profile: &Profile) -> Result<Views> {
        Self::build_for(lake, profile, None)
    }

    /// Build every view over the partitions `only` of the lake (every partition: `None`).
    /// Rules are per license, so a batch of licenses gives exactly those licenses'
    /// findings; the one cross-license input, the shipper's copy of a transfer received by
    /// a license of the batch, is read from every partition (`transfer_packages_all`).
    pub fn build_for(
        lake: &Path,
        profile: &Profile,
        only: Option<&BTreeSet<String>>,
    ) -> Result<Views> {
        Self::build_some(lake, profile, only, None)
    }

    /// As [`Views::build_for`], with only the views named in `needed` (and those they read;
    /// see [`views_read_by`]) when it is given.
    pub fn build_some(
        lake: &Path,
        profile: &Profile,
        only: Option<&BTreeSet<String>>,
        needed: Option<&BTreeSet<String>>,
    ) -> Result<Views> {
        let mut frames = canonical_tables(lake, only)?;
        frames.extend(parameter_tables(profile)?);
        let counts = |name: &str| frames.iter().find(|f| f.0 == name).map(|f| f.1.clone());
        let (Some(counts), Some(rejects)) = (counts(schema::COUNTS), counts(schema::COUNT_REJECTS))
        else {
            return Err(Error::Internal("counts are registered".into()));
        };
        let known = known_counts(counts, rejects, profile, only)?;
        frames.push(("known_counts_all".to_owned(), known));
        let mut views = Views { frames };
        let files = builtin_views()?;
        let files = match needed {
            Some(n) => files.into_iter().filter(|f| n.contains(&f.name)).collect(),
            None => files,
        };
        views.run_files(&files, profile_params(profile))?;
        Ok(views)
    }

    /// Run `files` in order over the frames registered so far, adding each view.
    fn run_files(&mut self, files: &[ViewFile], mut params: HashMap<String, String>) -> Result<()> {
        let mut ctx = SQLContext::new();
        for (name, lf) in &self.frames {
            ctx.register(name, lf.clone());
        }
        for file in files {
            let sql = bind(&file.body, &params, &file.path)?;
            let lf = ctx.execute(&sql).map_err(|e| Error::Rule {
                path: file.path.clone(),
                reason: format!("Failed to plan view:\n{sql}\n\nERROR: {e}"),
            })?;
            match file.kind {
                ViewKind::Parameter => {
                    let value = parameter_value(lf, &file.name)?;
                    params.insert(file.name.clone(), value);
                }
                ViewKind::View { materialize: m } => {
                    let lf = if m { materialize(lf, &file.name)? } else { lf };
                    ctx.register(&file.name, lf.clone());
                    if file.name == "packages" {
                        let factors = unit_factors_of(&lf)?;
                        ctx.register("unit_factors", factors.clone());
                        self.frames.push(("unit_factors".to_owned(), factors));
                    }
                    self.frames.push((file.name.clone(), lf));
                }
            }
        }
        Ok(())
    }
}

/// The words of a query (names it may read); a word equal to a name by chance only makes
/// a set below larger, never smaller.
pub fn words(sql: &str) -> BTreeSet<&str> {
    sql.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|w| !w.is_empty())
        .collect()
}

/// The built-in views and parameters that `texts` read, with every view those read in
/// turn (the `packages` view brings `unit_factors`).
pub fn views_read_by(texts: &[&str]) -> Result<BTreeSet<String>> {
    let files = builtin_views()?;
    let mut wanted: BTreeSet<&str> = texts.iter().flat_map(|t| words(t)).collect();
    let mut needed = BTreeSet::new();
    for f in files.iter().rev() {
        let reads_factors = f.name == "packages" && wanted.contains("unit_factors");
        if wanted.contains(f.name.as_str()) || reads_factors {
            needed.insert(f.name.clone());
            wanted.extend(words(&f.body));
        }
    }
    Ok(needed)
}

/// The built-in views that read any of `tables`, directly or through other views, and
/// the tables themselves: what a query mentioning none of them cannot depend on.
pub fn readers_of(tables: &[&str]) -> Result<BTreeSet<String>> {
    let mut names: BTreeSet<String> = tables.iter().map(|t| (*t).to_owned()).collect();
    for f in builtin_views()? {
        if words(&f.body).iter().any(|w| names.contains(*w)) {
            names.insert(f.name.clone());
            if f.name == "packages" {
                names.insert("unit_factors".to_owned());
            }
        }
    }
    Ok(names)
}

/// The latest copy of each package in the lake at `lake`, by the one definition the rules
/// use (the `packages` view): for the report's item, category and location columns.
/// With `labels` (per license), only those packages: the view keeps the latest copy per
/// (license, label) from that pair's copies alone, so other packages cannot change the
/// result. Each license's labels are a list its partition's scan filters by (decoding the
/// other columns only for matching rows), not a join after the whole table.
pub fn latest_packages(lake: &Path, labels: Option<&HashMap<String, Series>>) -> Result<LazyFrame> {
    let file = builtin_views()?
        .into_iter()
        .find(|v| v.name == "packages")
        .expect("queries/views defines packages");
    let mut ctx = SQLContext::new();
    let all = match labels {
        Some(labels) => store::scan_partitions_where(lake, schema::PACKAGES, |license| {
            let these = labels.get(license?)?;
            Some(col("label").is_in(lit(these.clone()).implode(false), false))
        })?,
        None => store::scan_table(lake, schema::PACKAGES)?,
    };
    ctx.register("packages_all", all);
    let sql = bind(&file.body, &HashMap::new(), &file.path)?;
    ctx.execute(&sql).map_err(|e| Error::Rule {
        path: file.path.clone(),
        reason: format!("Failed to plan view:\n{sql}\n\nERROR: {e}"),
    })
}

/// Every partition's `transfer_packages`, whatever the batch: the one input a license's
/// findings read from other licenses' partitions (the shipper's copy of a transfer).
pub const TRANSFER_PACKAGES_ALL: &str = "transfer_packages_all";

/// The canonical tables of the batch, under the names the view files read.
fn canonical_tables(
    lake: &Path,
    only: Option<&BTreeSet<String>>,
) -> Result<Vec<(String, LazyFrame)>> {
    let scan = |t: &str| store::scan_partitions(lake, t, only);
    let mut frames = vec![
        ("packages_all".to_owned(), scan(schema::PACKAGES)?),
        ("package_sources_all".to_owned(), scan(schema::PACKAGE_SOURCES)?),
    ];
    for t in [
        schema::ADJUSTMENTS,
        schema::TRANSFERS,
        schema::TRANSFER_PACKAGES,
        schema::SALES,
        schema::HISTORY,
        schema::LAB_RESULTS,
        schema::COUNTS,
        schema::COUNT_REJECTS,
        schema::EVENTS,
        schema::USERS,
        schema::OUTAGES,
    ] {
        frames.push((t.to_owned(), scan(t)?));
    }
    // A shipper's copy sits in the shipper's partition, maybe outside this batch.
    let all = match only {
        Some(_) => store::scan_table(lake, schema::TRANSFER_PACKAGES)?,
        None => scan(schema::TRANSFER_PACKAGES)?,
    };
    frames.push((TRANSFER_PACKAGES_ALL.to_owned(), all));
    Ok(frames)
}

/// The profile's settings and tolerances as small tables the views and rules join.
fn parameter_tables(profile: &Profile) -> Result<Vec<(String, LazyFrame)>> {
    let t = &profile.tolerance;
    let tolerances = df!(
        "quantity_type" => ["weight", "each", "volume"],
        "abs_tol" => [t.abs_g, t.abs_ea, t.abs_ml],
        "rel_tol" => [t.rel, t.rel, t.rel],
    )
    .ctx(|| "tolerances".into())?
    .lazy();
    let settings = df!(
        "late_hours" => [profile.lag.late_hours],
        "high_hours" => [profile.lag.high_hours],
        "early_hours" => [profile.lag.early_hours],
        "threshold" => [profile.significance.threshold_pct() / 100.0],
    )
    .ctx(|| "settings".into())?
    .lazy();
    let d = &profile.duties;
    let duty_settings = DataFrame::new(
        1,
        vec![
            Column::new("as_of".into(), [d.as_of_us])
                .cast(&store::dtype("ts"))
                .ctx(|| "duty_settings".into())?,
            Column::new("users_given".into(), [d.users_given]),
            Column::new("outages_given".into(), [d.outages_given]),
        ],
    )
    .ctx(|| "duty_settings".into())?
    .lazy();
    let (licenses, kinds): (Vec<&str>, Vec<&str>) =
        d.export_files.iter().map(|(l, k)| (l.as_str(), k.as_str())).unzip();
    let export_files =
        df!("license" => licenses, "kind" => kinds).ctx(|| "export_files".into())?.lazy();
    Ok(vec![
        ("tolerances".to_owned(), tolerances),
        ("export_files".to_owned(), export_files),
        ("settings".to_owned(), settings),
        ("duty_settings".to_owned(), duty_settings),
    ])
}

/// A known count: license, local date (day number), count time (µs), file, record, origin.
type KnownRow = (String, i64, i64, Option<String>, Option<i64>, &'static str);

/// `known_counts_all`: every count of a license the run knows of, one per local count
/// date (its latest count time and that row's file and line): this run's count rows, read
/// or rejected (a rejected row was still counted), and the earlier runs' (`--previous`).
/// `day` is the local date as a day number and `due_end` the last microsecond of the
/// 30th local calendar day after it (§15051(a)): a later count or as-of time after
/// `due_end` is more than 30 calendar days later. Built here because SQL has no time
/// zones; the group is over the count rows only.
fn known_counts(
    counts: LazyFrame,
    rejects: LazyFrame,
    profile: &Profile,
    only: Option<&BTreeSet<String>>,
) -> Result<LazyFrame> {
    let tz = profile.tz().map_err(Error::Usage)?;
    let cols = ["license", "counted_date", "counted_at_end", "source_file", "record"].map(col);
    let order = || {
        ([col("counted_at_end"), col("source_file"), col("record")], SortMultipleOptions::default())
    };
    let latest = |c: &str| {
        let (by, opts) = order();
        col(c).sort_by(by, opts).last().alias(c)
    };
    let df = concat([counts.select(cols.clone()), rejects.select(cols)], UnionArgs::default())
        .ctx(|| "known counts".into())?
        .filter(col("counted_date").is_not_null().and(col("counted_at_end").is_not_null()))
        .group_by([col("license"), col("counted_date")])
        .agg([
            col("counted_at_end").max().alias("counted_at"),
            latest("source_file"),
            latest("record"),
        ])
        .collect()
        .ctx(|| "known counts".into())?;
    let s = |n: &str| -> Result<Column> {
        df.column(n).and_then(|c| c.cast(&DataType::String)).ctx(|| n.into())
    };
    let i = |n: &str| -> Result<Column> {
        df.column(n).and_then(|c| c.cast(&DataType::Int64)).ctx(|| n.into())
    };
    let (lic, file) = (s("license")?, s("source_file")?);
    let (date, at, rec) = (i("counted_date")?, i("counted_at")?, i("record")?);
    let mut rows: Vec<KnownRow> = Vec::new();
    for k in 0..df.height() {
        let (Some(l), Some(d), Some(t)) = (
            lic.str().ctx(|| "license".into())?.get(k),
            date.i64().ctx(|| "date".into())?.get(k),
            at.i64().ctx(|| "counted_at".into())?.get(k),
        ) else {
            continue;
        };
        let f = file.str().ctx(|| "source_file".into())?.get(k).map(str::to_owned);
        rows.push((l.to_owned(), d, t, f, rec.i64().ctx(|| "record".into())?.get(k), "this run"));
    }
    let here: BTreeSet<(String, i64)> = rows.iter().map(|r| (r.0.clone(), r.1)).collect();
    let in_batch = |l: &str| {
        only.is_none_or(|o| o.contains(&format!("license={}", store::encode_partition(l))))
    };
    for p in &profile.duties.previous_counts {
        let d = i64::from(p.counted_date);
        if in_batch(&p.license) && !here.contains(&(p.license.clone(), d)) {
            rows.push((
                p.license.clone(),
                d,
                p.counted_at_us,
                p.source_file.clone(),
                None,
                "earlier run",
            ));
        }
    }
    let due: Vec<Option<i64>> =
        rows.iter().map(|r| crate::ingest::duties::local_day_end(r.1 + 30, tz)).collect();
    let ts = store::dtype("ts");
    let out = DataFrame::new(
        rows.len(),
        vec![
            Column::new("license".into(), rows.iter().map(|r| r.0.clone()).collect::<Vec<_>>()),
            Column::new("counted_date".into(), rows.iter().map(|r| r.1 as i32).collect::<Vec<_>>())
                .cast(&DataType::Date)
                .ctx(|| "counted_date".into())?,
            Column::new("counted_at".into(), rows.iter().map(|r| r.2).collect::<Vec<_>>())
                .cast(&ts)
                .ctx(|| "counted_at".into())?,
            Column::new("day".into(), rows.iter().map(|r| r.1).collect::<Vec<_>>()),
            Column::new("due_end".into(), due).cast(&ts).ctx(|| "due_end".into())?,
            Column::new("source_file".into(), rows.iter().map(|r| r.3.clone()).collect::<Vec<_>>()),
            Column::new("record".into(), rows.iter().map(|r| r.4).collect::<Vec<_>>()),
            Column::new("origin".into(), rows.iter().map(|r| r.5).collect::<Vec<_>>()),
        ],
    )
    .ctx(|| "known counts".into())?;
    Ok(out.lazy())
}

/// `unit_factors`: the factor to base of every unit spelling `packages` uses (the
/// spellings are free text; `normalize::parse_unit` is the one reading of them).
fn unit_factors_of(packages: &LazyFrame) -> Result<LazyFrame> {
    let units: Vec<String> = packages
        .clone()
        .select([col("unit")])
        .unique(None, UniqueKeepStrategy::Any)
        .collect()
        .ctx(|| "package units".into())?
        .column("unit")
        .ctx(|| "unit".into())?
        .str()
        .ctx(|| "unit".into())?
        .iter()
        .flatten()
        .map(str::to_owned)
        .collect();
    Ok(unit_factors(&units).lazy())
}

/// Unit spelling → factor to base, for every spelling in `units` that names a unit.
fn unit_factors(units: &[String]) -> DataFrame {
    let mut names = Vec::new();
    let mut factors = Vec::new();
    for u in units {
        if let Some(unit) = normalize::parse_unit(u) {
            names.push(u.clone());
            factors.push(unit.factor);
        }
    }
    DataFrame::new(
        names.len(),
        vec![Column::new("unit".into(), names), Column::new("unit_factor".into(), factors)],
    )
    .expect("two columns of equal length")
}

/// A parameter file's value: the first column of its first row, as a literal.
fn parameter_value(lf: LazyFrame, name: &str) -> Result<String> {
    let df = lf.collect().ctx(|| format!("computing parameter {name}"))?;
    let value = df.columns().first().filter(|c| !c.is_empty()).map(|c| c.get(0));
    Ok(match value {
        Some(Ok(AnyValue::String(s))) => sql_string(s),
        Some(Ok(AnyValue::StringOwned(s))) => sql_string(&s),
        Some(Ok(AnyValue::Datetime(v, tu, _))) => sql_timestamp(v, tu),
        Some(Ok(AnyValue::DatetimeOwned(v, tu, _))) => sql_timestamp(v, tu),
        Some(Ok(v)) => sql_double(v.extract::<f64>()),
        _ => sql_double(None),
    })
}

/// Compute a view once: it feeds several rules, and each rule's plan is collected on its
/// own, so a lazy view would be recomputed (its sorts and joins included) per rule.
fn materialize(lf: LazyFrame, what: &str) -> Result<LazyFrame> {
    let t = std::time::Instant::now();
    let mut df = lf.collect().ctx(|| format!("computing view {what}"))?;
    // One chunk per column: the rules join and gather these views many times, and Polars
    // gathers strings from several chunks value by value through a builder (copying each
    // long value) but from one chunk by copying views.
    df.rechunk_mut_par();
    super::timing(&format!("view {what} ({} rows)", df.height()), t);
    Ok(df.lazy())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_view_file_parses_and_is_listed() {
        let views = builtin_views().unwrap();
        assert_eq!(views.len(), VIEW_FILES.len());
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("queries/views");
        let mut on_disk: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".sql"))
            .collect();
        on_disk.sort();
        let listed: Vec<String> = VIEW_FILES.iter().map(|(n, _)| (*n).to_owned()).collect();
        assert_eq!(on_disk, listed, "queries/views and VIEW_FILES differ");
    }

    #[test]
    fn parameters_are_bound_outside_strings() {
        let params = HashMap::from([("a".to_owned(), "CAST(1.5 AS DOUBLE)".to_owned())]);
        let p = Path::new("v.sql");
        assert_eq!(
            bind("SELECT x::int, ':a' AS s FROM t WHERE y > :a", &params, p).unwrap(),
            "SELECT x::int, ':a' AS s FROM t WHERE y > CAST(1.5 AS DOUBLE)"
        );
        let e = bind("SELECT :b", &params, p).unwrap_err().to_string();
        assert!(e.contains(":b") && e.contains("v.sql"), "{e}");
    }

    #[test]
    fn headers_name_a_view_or_a_parameter() {
        let p = Path::new("x.sql");
        let v = parse_view(p, "-- view: a_b\n-- materialize: yes\nSELECT 1").unwrap();
        assert_eq!((v.name.as_str(), v.kind), ("a_b", ViewKind::View { materialize: true }));
        let v = parse_view(p, "-- parameter: t0\nSELECT 1 AS value").unwrap();
        assert_eq!(v.kind, ViewKind::Parameter);
        assert!(parse_view(p, "-- description: x\nSELECT 1").is_err());
        assert!(parse_view(p, "-- view: a-b\nSELECT 1").is_err());
    }
}
