//! Checks: every rule of SPEC section 3 over the lake → finding rows and the summary.
//!
//! Set-logic rules are SQL files (`queries/rules/`, plus `--rules DIR`) run by Polars SQL over
//! the canonical tables and the derived views of `queries/views/` ([`views`]); graph rules are Rust
//! ([`lineage`]). Both produce the same finding columns. This module never writes files.

pub mod changes;
pub mod lineage;
pub mod sql;
pub mod views;

use std::collections::BTreeSet;
use std::path::Path;

use polars::prelude::*;
use polars::sql::SQLContext;

use crate::config::Profile;
use crate::error::{Error, PolarsContext, Result};
use crate::manifest::{self, RuleEntry};
use crate::schema;
use crate::vocab::{Severity, family, rule};

/// How a rule is computed.
#[derive(Debug, Clone)]
pub enum RuleKind {
    /// A SQL file.
    Sql(sql::SqlRule),
    /// A graph rule in Rust.
    Cycle,
}

/// One rule of the registry.
#[derive(Debug, Clone)]
pub struct Rule {
    /// Rule id.
    pub id: String,
    /// Family.
    pub family: String,
    /// Default severity.
    pub severity: Severity,
    /// Regulation.
    pub citation: String,
    /// One line.
    pub description: String,
    /// Computation.
    pub kind: RuleKind,
}

impl Rule {
    /// Manifest entry with the hash of the rule's text.
    pub fn entry(&self) -> RuleEntry {
        let (source, text) = match &self.kind {
            RuleKind::Sql(r) => ("sql", r.text.clone()),
            RuleKind::Cycle => {
                ("rust", format!("{}@{} src/checks/lineage.rs", self.id, env!("CARGO_PKG_VERSION")))
            }
        };
        RuleEntry {
            id: self.id.clone(),
            family: self.family.clone(),
            severity: self.severity.as_str().into(),
            citation: self.citation.clone(),
            description: self.description.clone(),
            source: source.into(),
            sha256: manifest::sha256_hex(text.as_bytes()),
        }
    }
}

/// Every rule: built-in SQL, the Rust graph rule, then the user's SQL rules.
pub fn registry(user_rules: Option<&Path>, profile: &Profile) -> Result<Vec<Rule>> {
    let mut sql_rules = sql::builtin()?;
    if let Some(dir) = user_rules {
        sql_rules.extend(sql::load_dir(dir)?);
    }
    let mut rules: Vec<Rule> = sql_rules
        .into_iter()
        .map(|r| Rule {
            id: r.id.clone(),
            family: r.family.clone(),
            severity: Severity::parse(&r.severity).unwrap_or(Severity::Medium),
            citation: r.citation.clone(),
            description: r.description.clone(),
            kind: RuleKind::Sql(r),
        })
        .collect();
    rules.push(Rule {
        id: rule::LINEAGE_CYCLE.into(),
        family: family::LINEAGE.into(),
        severity: Severity::Critical,
        citation: "§15047.2(c)".into(),
        description: "a package is its own ancestor (one finding per package in the cycle)".into(),
        kind: RuleKind::Cycle,
    });
    let mut seen = BTreeSet::new();
    for r in &rules {
        if !seen.insert(r.id.clone()) {
            let path = match &r.kind {
                RuleKind::Sql(s) => s.path.clone(),
                RuleKind::Cycle => rule::LINEAGE_CYCLE.into(),
            };
            return Err(Error::Rule {
                path,
                reason: format!("rule id `{}` is defined twice", r.id),
            });
        }
    }
    // A severity for a rule that does not exist (a typo, a renamed rule) would change
    // nothing without a word while the user believes the rule was re-graded.
    if let Some(id) = profile.severities.keys().find(|id| !seen.contains(*id)) {
        return Err(Error::Usage(format!(
            "the profile sets a severity for `{id}`, which is no rule; the rules are: {}",
            seen.iter().map(String::as_str).collect::<Vec<_>>().join(", ")
        )));
    }
    for r in &mut rules {
        if let Some(s) = profile.severities.get(&r.id).and_then(|s| Severity::parse(s)) {
            r.severity = s;
        }
    }
    rules.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(rules)
}

/// Findings and summary of a check run.
pub struct CheckOutput {
    /// `findings.parquet` rows (SPEC section 4 columns, sorted).
    pub findings: DataFrame,
    /// `summary.parquet` rows.
    pub summary: DataFrame,
}

/// Columns a rule may return besides `license` and `detail` (all optional).
const OPTIONAL: &[&str] = &[
    "package_label",
    "related_label",
    "reference",
    "occurred_at",
    "recorded_at",
    "lag_hours",
    "system_quantity",
    "counted_quantity",
    "variance",
    "unit",
    "source_file",
];

fn finding_dtype(name: &str) -> DataType {
    let ty = schema::FINDINGS_COLUMNS.iter().find(|(n, _)| *n == name).map_or("str", |(_, t)| t);
    crate::store::dtype(ty)
}

/// Bring a rule's output to the finding columns (without run_id).
fn conform(rule: &Rule, lf: LazyFrame, schema: &Schema, profile: &Profile) -> Result<LazyFrame> {
    let path = match &rule.kind {
        RuleKind::Sql(s) => s.path.clone(),
        RuleKind::Cycle => rule::LINEAGE_CYCLE.into(),
    };
    for required in ["license", "detail"] {
        if schema.get(required).is_none() {
            return Err(Error::Rule {
                path,
                reason: format!(
                    "the query returns no `{required}` column (it returned: {}); a rule returns \
                     license, detail and any of {}",
                    schema.iter_names().map(PlSmallStr::as_str).collect::<Vec<_>>().join(", "),
                    OPTIONAL.join(", ")
                ),
            });
        }
    }
    for (name, dt) in schema.iter() {
        let want = finding_dtype(name);
        let ok = match name.as_str() {
            "record" => dt.is_integer(),
            "severity" | "license" | "detail" => *dt == DataType::String,
            n if OPTIONAL.contains(&n) => match want {
                DataType::Float64 => dt.is_primitive_numeric() || dt.is_null(),
                DataType::Datetime(..) => matches!(dt, DataType::Datetime(..) | DataType::Null),
                _ => *dt == DataType::String || dt.is_null(),
            },
            _ => true, // extra columns are ignored
        };
        if !ok {
            return Err(Error::Rule {
                path,
                reason: format!("column `{name}` has type {dt}, expected {want}"),
            });
        }
    }
    let severity = match (schema.get("severity"), profile.severities.contains_key(&rule.id)) {
        (Some(_), false) => col("severity")
            .str()
            .strip_chars(lit(NULL))
            .str()
            .to_lowercase()
            .fill_null(lit(rule.severity.as_str())),
        _ => lit(rule.severity.as_str()),
    };
    let mut exprs = vec![
        lit(rule.id.as_str()).alias("rule_id"),
        lit(rule.family.as_str()).alias("family"),
        severity.alias("severity"),
        col("license").cast(DataType::String),
    ];
    for name in OPTIONAL {
        let dt = finding_dtype(name);
        exprs.push(if schema.get(name).is_some() {
            col(*name).cast(dt).alias(*name)
        } else {
            lit(NULL).cast(dt).alias(*name)
        });
    }
    // Every finding names its input record: "record N" (JSON) or "line N" (CSV).
    let detail = if schema.get("record").is_some() && schema.get("source_file").is_some() {
        let file = col("source_file").str().to_lowercase();
        let sheet = schema::SHEET_EXTENSIONS
            .iter()
            .map(|ext| file.clone().str().ends_with(lit(format!(".{ext}"))))
            .reduce(Expr::or)
            .expect("count sheets have extensions");
        let word = when(sheet).then(lit(" (line ")).otherwise(lit(" (record "));
        when(col("record").is_not_null())
            .then(col("detail") + word + col("record").cast(DataType::String) + lit(")"))
            .otherwise(col("detail"))
    } else {
        col("detail")
    };
    exprs.push(detail.alias("detail"));
    exprs.push(lit(rule.citation.as_str()).alias("citation"));
    Ok(lf.select(exprs))
}

/// Whether `rule` is one of the reconciliation duties whose input file was not given.
fn lacks_input(rule: &str, profile: &Profile) -> bool {
    let d = &profile.duties;
    (rule == rule::RECORD_UNAUTHORIZED_USER && !d.users_given)
        || (rule::OUTAGE_RULES.contains(&rule) && !d.outages_given)
}

/// The licenses whose counts are not checked because their export lacks what the as-of
/// quantities need (`count_coverage.count_lacks`).
fn lacking(views: &views::Views) -> LazyFrame {
    views.get("count_coverage").filter(col("count_lacks").is_not_null()).select([col("license")])
}

/// Whether `rule` judges counts against the as-of system (what a lacking export leaves
/// undecided). The 30-day cadence needs only that a count was made.
fn judges_counts(rule: &Rule) -> bool {
    rule.family == family::COUNT && rule.id != rule::COUNT_RECONCILIATION_OVERDUE
}

/// Parse, plan and validate every rule against the views (no data is read).
fn plan(rules: &[Rule], views: &views::Views, profile: &Profile) -> Result<Vec<LazyFrame>> {
    let mut ctx = SQLContext::new();
    for (name, lf) in &views.frames {
        ctx.register(name, lf.clone());
    }
    let mut plans = Vec::new();
    for rule in rules {
        let lf = match &rule.kind {
            RuleKind::Sql(r) => {
                let query = sql::body(&r.text);
                let lf = ctx.execute(&query).map_err(|e| Error::Rule {
                    path: r.path.clone(),
                    reason: format!("Failed to execute query:\n{query}\n\nERROR: {e}"),
                })?;
                let mut probe = lf.clone();
                let schema = probe.collect_schema().map_err(|e| Error::Rule {
                    path: r.path.clone(),
                    reason: format!("Failed to plan query:\n{query}\n\nERROR: {e}"),
                })?;
                let mut lf = conform(rule, lf, &schema, profile)?;
                // A license whose export lacks adjustments or sales gets no count verdict
                // (evidence before verdicts); applied here, on the rules' few rows, because
                // Spark could not plan the same filter inside the count views.
                if judges_counts(rule) {
                    let anti = JoinArgs::new(JoinType::Anti);
                    lf = lf.join(lacking(views), [col("license")], [col("license")], anti);
                }
                // Without the file a rule needs, its table is empty and so is its result:
                // nothing of the lake is read for it (no cost when the option is absent).
                if lacks_input(&rule.id, profile) { lf.limit(0) } else { lf }
            }
            RuleKind::Cycle => {
                let df = lineage::cycles(views.get("packages"), views.get("package_sources"))?;
                let schema = df.schema().as_ref().clone();
                conform(rule, df.lazy(), &schema, profile)?
            }
        };
        plans.push(lf);
    }
    Ok(plans)
}

/// Validate rules without data: each parses and returns the right columns.
pub fn validate(rules: &[Rule], profile: &Profile) -> Result<()> {
    let dir = std::env::temp_dir().join(format!("tagtrail-empty-lake-{}", std::process::id()));
    let views = views::Views::build(&dir, profile)?;
    plan(rules, &views, profile).map(|_| ())
}

/// With `TAGTRAIL_TIMING` set, print how long a step took (for profiling; see README).
pub(crate) fn timing(what: &str, since: std::time::Instant) {
    if std::env::var_os("TAGTRAIL_TIMING").is_some() {
        let secs = since.elapsed().as_secs_f64();
        crate::printer::stderr_line(&format!("timing: {what}: {secs:.3} s"));
    }
}

/// Default for [`run_all`]'s `batch_bytes`: licenses are checked together up to this many
/// bytes of lake Parquet (about 10× as much memory once read and joined). Smaller batches
/// save memory but repeat each batch's fixed cost; larger ones only cost memory (measured
/// in docs/performance.md, "Check batch size").
pub const BATCH_BYTES: u64 = 32 << 20;

/// Split the lake's partitions into batches of licenses of up to `budget` bytes each (a
/// larger license is a batch alone), in name order, with their sizes; the whole lake
/// when it fits.
fn batches(
    lake: &Path,
    budget: u64,
    only: Option<&BTreeSet<String>>,
) -> Result<Vec<(u64, Option<BTreeSet<String>>)>> {
    let mut parts = crate::store::lake_partitions(lake)?;
    if let Some(only) = only {
        parts.retain(|(folder, _)| only.contains(folder));
    }
    let total = parts.iter().map(|p| p.1).sum::<u64>();
    if only.is_none() && total <= budget {
        return Ok(vec![(total, None)]);
    }
    let mut out: Vec<(u64, BTreeSet<String>)> = Vec::new();
    for (name, bytes) in parts {
        match out.last_mut() {
            Some((size, batch)) if *size + bytes <= budget => {
                *size += bytes;
                batch.insert(name);
            }
            _ => out.push((bytes, BTreeSet::from([name]))),
        }
    }
    Ok(out.into_iter().map(|(n, b)| (n, Some(b))).collect())
}

/// One batch's findings (one frame per rule), count totals, coverage and known counts.
/// A batch of partners (`needed`: the views its rules and coverage read) gives findings
/// and coverage only; their totals and known counts are the previous run's.
type BatchOut = (Vec<DataFrame>, Option<DataFrame>, DataFrame, Option<DataFrame>);

fn check_batch(
    lake: &Path,
    rules: &[Rule],
    profile: &Profile,
    what: &str,
    only: Option<&BTreeSet<String>>,
    needed: Option<&BTreeSet<String>>,
) -> Result<BatchOut> {
    let t = std::time::Instant::now();
    let views = views::Views::build_some(lake, profile, only, needed)?;
    timing(&format!("{what}: all views"), t);
    let t = std::time::Instant::now();
    let plans = plan(rules, &views, profile)?;
    timing(&format!("{what}: planning (and lineage.cycle)"), t);
    // Each rule is collected on its own thread; Polars parallelises inside each plan too.
    let frames: Vec<Result<DataFrame>> = {
        use rayon::prelude::*;
        plans
            .into_par_iter()
            .zip(rules.par_iter())
            .map(|(lf, rule)| {
                let t = std::time::Instant::now();
                let r = lf.collect().ctx(|| format!("running rule {}", rule.id));
                timing(&format!("{what}: rule {}", rule.id), t);
                r
            })
            .collect()
    };
    let mut found = Vec::with_capacity(frames.len());
    for (f, rule) in frames.into_iter().zip(rules) {
        let f = f?;
        check_severities(rule, &f)?;
        found.push(detach(&f)?);
    }
    let coverage = views
        .get("count_coverage")
        .join(
            views.get("duty_coverage"),
            [col("license")],
            [col("license")],
            JoinArgs::new(JoinType::Left),
        )
        .collect()
        .ctx(|| "count coverage".into())?;
    if needed.is_some() {
        return Ok((found, None, detach(&coverage)?, None));
    }
    let totals = views
        .get("count_totals")
        .join(lacking(&views), [col("license")], [col("license")], JoinArgs::new(JoinType::Anti))
        .collect()
        .ctx(|| "count totals".into())?;
    let known = views.get("known_counts").collect().ctx(|| "known counts".into())?;
    Ok((found, Some(detach(&totals)?), detach(&coverage)?, Some(detach(&known)?)))
}

/// A rule may return its own `severity` per finding: each must be one of the five names
/// (a `bogus` one cannot be ranked, filtered with --fail-on, or summarised).
fn check_severities(rule: &Rule, found: &DataFrame) -> Result<()> {
    let Ok(sev) = found.column("severity").and_then(|c| c.str().cloned()) else {
        return Ok(());
    };
    let Some(bad) = sev.iter().flatten().find(|s| Severity::from_name(s).is_none()) else {
        return Ok(());
    };
    let path = match &rule.kind {
        RuleKind::Sql(s) => s.path.clone(),
        RuleKind::Cycle => rule.id.clone().into(),
    };
    Err(Error::Rule {
        path,
        reason: format!(
            "the query returns severity `{bad}`; a `severity` column holds info, low, medium, \
             high or critical (or null for the header's)"
        ),
    })
}

/// Run every rule over the lake at `lake`, in batches of licenses of about `batch_bytes`
/// of lake each, so that memory follows the largest batches, not the whole lake. Two
/// batches run at once while together they are within twice the budget (views are built
/// one after the other inside a batch, so one batch alone leaves a core idle). Every rule
/// is per license, so the findings are the same for any batch size. `progress` hears
/// (batches done, batches) as they finish.
pub fn run_all(
    lake: &Path,
    rules: &[Rule],
    profile: &Profile,
    run_id: &str,
    batch_bytes: u64,
    progress: &(dyn Fn(usize, usize) + Sync),
    reuse: Option<&Reused<'_>>,
) -> Result<CheckOutput> {
    let dirty = reuse.map(|r| folders(&r.changed.dirty));
    let mut work: Vec<_> = batches(lake, batch_bytes, dirty.as_ref())?
        .into_iter()
        .map(|(n, b)| (n, b, false))
        .collect();
    // Partners: batches of their own, of the rules and views that can differ for them.
    let (mut partner_rules, mut partner_views) = (Vec::new(), BTreeSet::new());
    if let Some(r) = reuse.filter(|r| !r.changed.partners.is_empty()) {
        partner_rules = self::partner_rules(rules)?;
        partner_views = self::partner_views(&partner_rules)?;
        let of = batches(lake, batch_bytes, Some(&folders(&r.changed.partners)))?;
        work.extend(of.into_iter().map(|(n, b)| (n, b, true)));
    }
    work.retain(|b| b.1.as_ref().is_none_or(|set| !set.is_empty()));
    let n = work.len();
    let done = std::sync::atomic::AtomicUsize::new(0);
    progress(0, n);
    let results = crate::workers::in_order(
        &work,
        2,
        |b| b.0,
        2 * batch_bytes,
        |i, b| {
            let what = format!("batch {}/{n}", i + 1);
            let r = if b.2 {
                check_batch(
                    lake,
                    &partner_rules,
                    profile,
                    &what,
                    b.1.as_ref(),
                    Some(&partner_views),
                )
            } else {
                check_batch(lake, rules, profile, &what, b.1.as_ref(), None)
            };
            progress(done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1, n);
            r
        },
    );
    let mut all = Vec::new();
    let mut totals = Vec::new();
    let mut coverage = Vec::new();
    let mut known = Vec::new();
    for r in results {
        let (found, batch_totals, batch_coverage, batch_known) = r?;
        all.extend(found.into_iter().map(IntoLazy::lazy));
        totals.extend(batch_totals.map(IntoLazy::lazy));
        coverage.push(batch_coverage.lazy());
        known.extend(batch_known.map(|k| k.lazy().select(KNOWN_KEPT.map(col))));
    }
    if let Some(r) = reuse {
        let rerun: Vec<&str> = partner_rules.iter().map(|r| r.id.as_str()).collect();
        let (found, t, c, k) = r.previous_clean(lake, &rerun)?;
        all.push(found);
        totals = totals.into_iter().map(|t| t.select(TOTALS_KEPT.map(col))).collect();
        coverage = coverage.into_iter().map(|c| c.select(COVERAGE_KEPT.map(col))).collect();
        totals.push(t);
        coverage.push(c);
        known.push(k);
    }
    let known = concat(known, UnionArgs::default()).ctx(|| "known counts".into())?;
    let totals = concat(totals, UnionArgs::default()).ctx(|| "count totals".into())?;
    let coverage = concat(coverage, UnionArgs::default()).ctx(|| "count coverage".into())?;
    let findings = concat(all, UnionArgs::default())
        .ctx(|| "combining findings".into())?
        .with_column(lit(run_id).alias("run_id"))
        .select(schema::FINDINGS_COLUMNS.iter().map(|(n, _)| col(*n)).collect::<Vec<_>>())
        .sort_by_exprs(
            [
                "license",
                "rule_id",
                "package_label",
                "related_label",
                "reference",
                "occurred_at",
                "recorded_at",
                "source_file",
                "detail",
                // Every other column too, so that rows equal in the columns above keep
                // one order whatever order the rules' threads produced them in.
                "severity",
                "lag_hours",
                "system_quantity",
                "counted_quantity",
                "variance",
                "unit",
            ]
            .map(col),
            SortMultipleOptions::default().with_nulls_last(true).with_maintain_order(true),
        )
        .collect()
        .ctx(|| "sorting findings".into())?;
    let mut findings = findings;
    let keys = finding_keys(&findings)?;
    findings.with_column(keys).ctx(|| "finding keys".into())?;
    let summary = summarize(&findings, totals, coverage, known)?;
    Ok(CheckOutput { findings, summary })
}

/// The columns of the count totals and coverage the summary reads (a run with `--previous`
/// takes these of unchanged licenses from the previous summary).
const TOTALS_KEPT: [&str; 9] = [
    "license",
    "quantity_type",
    "unit",
    "system_total",
    "counted_total",
    "variance",
    "variance_pct",
    "significant",
    "basis_total",
];
const COVERAGE_KEPT: [&str; 13] = [
    "license",
    "count_status",
    "count_lacks",
    "count_rows",
    "count_rows_rejected",
    "counted_at",
    "counted_date",
    "as_of",
    "overdue_status",
    "users_status",
    "outages_status",
    "outages",
    "outage_excused",
];
/// The columns of the `known_count` summary rows.
const KNOWN_KEPT: [&str; 4] = ["license", "counted_at", "counted_date", "source_file"];

/// What changed since the previous run, by license (from ingest's reuse of its files).
#[derive(Debug, Clone, Default)]
pub struct Changed {
    /// Licenses whose own inputs changed: every rule is run for them again.
    pub dirty: BTreeSet<String>,
    /// Licenses whose inputs are unchanged but whose activities (`events`) or the shipper's
    /// copy of a transfer they received changed with another license's files: the rules
    /// reading those ([`partner_rules`]) and their coverage row are computed again, the
    /// rest is the previous run's. None of them is in `dirty`.
    pub partners: BTreeSet<String>,
}

/// The lake tables another license's files can change for a license whose own inputs did
/// not change (see [`Changed::partners`]).
const PARTNER_TABLES: [&str; 2] = [schema::EVENTS, views::TRANSFER_PACKAGES_ALL];

/// The views a partner's coverage row is built from (see [`check_batch`]).
const COVERAGE_VIEWS: [&str; 2] = ["count_coverage", "duty_coverage"];

/// The rules whose findings can change when only [`PARTNER_TABLES`] change: those whose
/// SQL mentions them or a view reading them (the graph rule reads packages only).
pub fn partner_rules(rules: &[Rule]) -> Result<Vec<Rule>> {
    let readers = views::readers_of(&PARTNER_TABLES)?;
    Ok(rules
        .iter()
        .filter(|r| {
            sql_body(r).is_some_and(|b| views::words(&b).iter().any(|w| readers.contains(*w)))
        })
        .cloned()
        .collect())
}

/// A SQL rule's query without comments (the graph rule has none).
fn sql_body(rule: &Rule) -> Option<String> {
    match &rule.kind {
        RuleKind::Sql(s) => Some(sql::body(&s.text)),
        RuleKind::Cycle => None,
    }
}

/// The views a partner batch builds: those its rules and its coverage row read.
fn partner_views(partner_rules: &[Rule]) -> Result<BTreeSet<String>> {
    let mut texts: Vec<String> = partner_rules.iter().filter_map(sql_body).collect();
    texts.extend(COVERAGE_VIEWS.map(str::to_owned));
    views::views_read_by(&texts.iter().map(String::as_str).collect::<Vec<_>>())
}

/// A run with `--previous` whose inputs changed for some licenses only: the others'
/// findings and summary rows are the previous run's (same inputs, rules and profile).
pub struct Reused<'a> {
    /// The previous result.
    pub previous: &'a Path,
    /// Which licenses are checked again, and how much of them.
    pub changed: &'a Changed,
}

fn folders(licenses: &BTreeSet<String>) -> BTreeSet<String> {
    licenses.iter().map(|l| format!("license={}", crate::store::encode_partition(l))).collect()
}

impl Reused<'_> {
    /// The previous findings, count totals, coverage and known counts of the licenses of
    /// `lake` that are not dirty, but for the partners' findings of `rerun` (rule ids) and
    /// their coverage rows, which this run computes again.
    fn previous_clean(
        &self,
        lake: &Path,
        rerun: &[&str],
    ) -> Result<(LazyFrame, LazyFrame, LazyFrame, LazyFrame)> {
        let clean: Vec<String> = crate::store::lake_partitions(lake)?
            .into_iter()
            .filter_map(|(folder, _)| crate::store::partition_value(&folder))
            .filter(|l| !self.changed.dirty.contains(l))
            .collect();
        let list = |v: Vec<String>| lit(Series::new("keep".into(), v)).implode(false);
        let keep = list(clean);
        let partners = list(self.changed.partners.iter().cloned().collect());
        let rerun = list(rerun.iter().map(|r| (*r).to_owned()).collect());
        let read = |name: &str| -> Result<LazyFrame> {
            let path = self.previous.join(name);
            LazyFrame::scan_parquet(
                PlRefPath::try_from_path(&path).ctx(|| format!("reading {}", path.display()))?,
                ScanArgsParquet::default(),
            )
            .ctx(|| format!("reading {}", path.display()))
            .map(|lf| lf.filter(col("license").is_in(keep.clone(), false)))
        };
        let partner = || col("license").is_in(partners.clone(), false);
        // The columns of a rule's conformed rows, in their order.
        let cols = ["rule_id", "family", "severity", "license"]
            .into_iter()
            .chain(OPTIONAL.iter().copied())
            .chain(["detail", "citation"])
            .map(col)
            .collect::<Vec<_>>();
        let found = read(schema::out::FINDINGS)?
            .filter(partner().and(col("rule_id").is_in(rerun, false)).not())
            .select(cols);
        let summary = read(schema::out::SUMMARY)?;
        let totals =
            summary.clone().filter(col("kind").eq(lit("quantity"))).select(TOTALS_KEPT.map(col));
        let coverage = summary
            .clone()
            .filter(col("kind").eq(lit("coverage")).and(partner().not()))
            .select(COVERAGE_KEPT.map(col));
        let known = summary.filter(col("kind").eq(lit("known_count"))).select(KNOWN_KEPT.map(col));
        Ok((found, totals, coverage, known))
    }
}

/// A finding's key: the same finding gets the same key in every run and every version,
/// so monthly runs can tell new findings from recurring ones. It is the first 16 bytes,
/// in lower-case hex, of the SHA-256 of the parts joined by U+001F (a missing value is
/// empty): rule id, license, package label, related label, reference; then, for a finding
/// without a package label (one per license and quantity type), its unit; for a `lag.*`
/// finding without a reference (a history entry: one package can have several), the time
/// it occurred in µs since 1970 (UTC).
pub fn finding_key(f: &KeyParts<'_>) -> String {
    use sha2::{Digest, Sha256};
    use std::fmt::Write as _;
    let mut parts: Vec<String> = [f.rule_id, f.license]
        .into_iter()
        .chain([f.package_label, f.related_label, f.reference].map(|p| p.unwrap_or("")))
        .map(str::to_owned)
        .collect();
    if f.package_label.is_none() {
        parts.push(f.unit.unwrap_or("").to_owned());
    }
    if f.reference.is_none() && f.rule_id.starts_with("lag.") {
        parts.push(f.occurred_at_us.map(|t| t.to_string()).unwrap_or_default());
    }
    let digest = Sha256::digest(parts.join("\u{1f}").as_bytes());
    digest[..16].iter().fold(String::with_capacity(32), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// What a finding's key is made of (see [`finding_key`]).
#[derive(Debug, Clone, Copy, Default)]
pub struct KeyParts<'a> {
    pub rule_id: &'a str,
    pub license: &'a str,
    pub package_label: Option<&'a str>,
    pub related_label: Option<&'a str>,
    pub reference: Option<&'a str>,
    pub unit: Option<&'a str>,
    pub occurred_at_us: Option<i64>,
}

/// The `finding_key` column of `findings`.
pub(crate) fn finding_keys(findings: &DataFrame) -> Result<Column> {
    let s = |name: &str| -> Result<StringChunked> {
        Ok(findings.column(name).ctx(|| name.into())?.str().ctx(|| name.into())?.clone())
    };
    let (rule, license, label) = (s("rule_id")?, s("license")?, s("package_label")?);
    let (related, reference, unit) = (s("related_label")?, s("reference")?, s("unit")?);
    let occurred = findings
        .column("occurred_at")
        .and_then(|c| c.cast(&DataType::Int64))
        .ctx(|| "occurred_at".into())?;
    let occurred = occurred.i64().ctx(|| "occurred_at".into())?;
    let keys: Vec<String> = (0..findings.height())
        .map(|i| {
            finding_key(&KeyParts {
                rule_id: rule.get(i).unwrap_or(""),
                license: license.get(i).unwrap_or(""),
                package_label: label.get(i),
                related_label: related.get(i),
                reference: reference.get(i),
                unit: unit.get(i),
                occurred_at_us: occurred.get(i),
            })
        })
        .collect();
    Ok(Column::new(schema::FINDING_KEY.into(), keys))
}

/// Copy the strings of a batch's result out of the batch's views. Polars filters and
/// gathers share string buffers, so a few hundred findings would otherwise keep every
/// batch's packages and positions alive until the end: memory would follow the whole lake
/// instead of the largest batch.
fn detach(df: &DataFrame) -> Result<DataFrame> {
    let height = df.height();
    let cols = df
        .columns()
        .iter()
        .map(|c| match c.dtype() {
            DataType::String => {
                let ca = c.str().ctx(|| format!("column {}", c.name()))?;
                let chunks = ca.downcast_iter().map(|a| a.clone().gc()).collect::<Vec<_>>();
                Ok(StringChunked::from_chunk_iter(c.name().clone(), chunks).into_column())
            }
            _ => Ok(c.clone()),
        })
        .collect::<Result<Vec<_>>>()?;
    DataFrame::new(height, cols).ctx(|| "findings of a batch".into())
}

/// One kind of `summary.parquet` rows: the columns `given` from `lf`, the others null, in
/// the order of [`schema::SUMMARY_COLUMNS`].
fn summary_rows(lf: LazyFrame, kind: &str, given: &[&str]) -> LazyFrame {
    lf.select(
        schema::SUMMARY_COLUMNS
            .iter()
            .map(|(name, ty)| match *name {
                "kind" => lit(kind.to_owned()).alias("kind"),
                n if given.contains(&n) => col(n),
                n => lit(NULL).cast(crate::store::dtype(ty)).alias(n),
            })
            .collect::<Vec<_>>(),
    )
}

/// `summary.parquet`: per license × rule, per license × quantity type, per license.
fn summarize(
    findings: &DataFrame,
    totals: LazyFrame,
    coverage: LazyFrame,
    known: LazyFrame,
) -> Result<DataFrame> {
    let rank = col("severity").replace_strict(
        lit(Series::new("k".into(), Severity::ALL.map(Severity::as_str))),
        lit(Series::new("v".into(), Severity::ALL.map(|s| i32::from(s.rank())))),
        None,
        Some(DataType::Int32),
    );
    let per_rule = findings
        .clone()
        .lazy()
        .with_column(rank.alias("rank"))
        .group_by([col("license"), col("rule_id"), col("family")])
        .agg([len().cast(DataType::Int64).alias("findings"), col("rank").max().alias("rank")])
        .with_column(
            col("rank")
                .replace_strict(
                    lit(Series::new("k".into(), Severity::ALL.map(|s| i32::from(s.rank())))),
                    lit(Series::new("v".into(), Severity::ALL.map(Severity::as_str))),
                    None,
                    Some(DataType::String),
                )
                .alias("worst_severity"),
        );
    let per_rule = summary_rows(
        per_rule,
        "rule",
        &["license", "rule_id", "family", "findings", "worst_severity"],
    );
    let qty_cols: Vec<&str> = TOTALS_KEPT.iter().copied().chain(["family"]).collect();
    let per_qty =
        summary_rows(totals.with_column(lit(family::COUNT).alias("family")), "quantity", &qty_cols);
    let coverage_cols: Vec<&str> = COVERAGE_KEPT.iter().copied().chain(["family"]).collect();
    let per_license = summary_rows(
        coverage.with_column(lit(family::COUNT).alias("family")),
        "coverage",
        &coverage_cols,
    );
    let known = summary_rows(
        known.with_column(lit(family::COUNT).alias("family")),
        "known_count",
        &["license", "counted_at", "counted_date", "source_file", "family"],
    );
    concat([per_rule, per_qty, per_license, known], UnionArgs::default())
        .ctx(|| "summary".into())?
        .sort_by_exprs(
            [
                col("license"),
                col("kind"),
                col("rule_id"),
                col("quantity_type"),
                col("counted_date"),
            ],
            SortMultipleOptions::default().with_nulls_last(true),
        )
        .collect()
        .ctx(|| "summary".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A lake whose `packages` table has one part of `bytes` per license.
    fn lake_of(sizes: &[(&str, usize)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (lic, bytes) in sizes {
            let folder = dir.path().join(schema::PACKAGES).join(lic);
            std::fs::create_dir_all(&folder).unwrap();
            std::fs::write(folder.join("part-00000-00000.parquet"), vec![0u8; *bytes]).unwrap();
        }
        dir
    }

    /// What another license's files can change for a license whose own inputs did not:
    /// its activities (receipts of shipments) and the shipper's copy of what it received.
    /// Every rule and view reading those is checked again; the set is derived from the
    /// SQL, and pinned here so that a change to it is seen.
    #[test]
    fn partners_rerun_the_rules_reading_activities_and_shipped_copies() {
        let rules = registry(None, &Profile::default()).unwrap();
        let ids: Vec<String> = partner_rules(&rules).unwrap().into_iter().map(|r| r.id).collect();
        assert_eq!(
            ids,
            [
                "count.reconciliation_overdue",
                "lag.late_after_outage",
                "lag.late_entry",
                "lag.recorded_before_occurred",
                "record.unauthorized_user",
                "transfer.accepted_quantity_mismatch",
            ]
        );
        let views = partner_views(&partner_rules(&rules).unwrap()).unwrap();
        for v in ["activities", "received_packages", "duty_coverage", "count_coverage", "packages"]
        {
            assert!(views.contains(v), "{v} in {views:?}");
        }
        for v in ["count_totals", "positions", "source_edges", "count_checks"] {
            assert!(!views.contains(v), "{v} in {views:?}");
        }
    }

    #[test]
    fn batches_follow_the_budget_in_name_order() {
        let lake = lake_of(&[("A", 40), ("B", 40), ("C", 40), ("D", 90)]);
        let names = |b: &[(u64, Option<BTreeSet<String>>)]| -> Vec<(u64, Vec<String>)> {
            b.iter()
                .map(|(n, set)| (*n, set.iter().flatten().cloned().collect::<Vec<_>>()))
                .collect()
        };
        let want = |v: &[(u64, &[&str])]| -> Vec<(u64, Vec<String>)> {
            v.iter().map(|(n, l)| (*n, l.iter().map(|s| (*s).to_owned()).collect())).collect()
        };
        assert_eq!(batches(lake.path(), 210, None).unwrap(), vec![(210, None)], "all fits");
        let split = names(&batches(lake.path(), 100, None).unwrap());
        assert_eq!(split, want(&[(80, &["A", "B"]), (40, &["C"]), (90, &["D"])]));
        // a license over the budget is a batch alone
        let split = names(&batches(lake.path(), 50, None).unwrap());
        assert_eq!(split, want(&[(40, &["A"]), (40, &["B"]), (40, &["C"]), (90, &["D"])]));
        // A re-run's licenses only, in batches of the budget too (one batch of twice the
        // budget was measured slower than two at once and one after).
        let abc: BTreeSet<String> = ["A", "C", "D"].map(str::to_owned).into();
        let rerun = names(&batches(lake.path(), 100, Some(&abc)).unwrap());
        assert_eq!(rerun, want(&[(80, &["A", "C"]), (90, &["D"])]));
        let rerun = names(&batches(lake.path(), 300, Some(&abc)).unwrap());
        assert_eq!(rerun, want(&[(170, &["A", "C", "D"])]), "a subset is never `None`");
    }

    #[test]
    fn finding_keys_are_pinned() {
        let k = |p: KeyParts<'_>| finding_key(&p);
        let lic = "C11-0000001-LIC";
        let mismatch = KeyParts {
            rule_id: "count.quantity_mismatch",
            license: lic,
            package_label: Some("1A4FF0100000022000000004"),
            ..KeyParts::default()
        };
        assert_eq!(k(mismatch), "c672457865b5d4b44f6d9e0572462a0d");
        // the count's time and quantities are not part of it: next month's same finding
        let later = KeyParts { occurred_at_us: Some(1), unit: Some("g"), ..mismatch };
        assert_eq!(k(later), k(mismatch));
        let cycle = KeyParts {
            rule_id: "lineage.cycle",
            package_label: Some("1A4FF01000000220000000C1"),
            related_label: Some("1A4FF01000000220000000C3"),
            ..mismatch
        };
        assert_eq!(k(cycle), "e31e7f0169b51946ab223acf36f664ae");
        let receipt = KeyParts {
            rule_id: "lag.late_entry",
            package_label: Some("1A4FF0100001000000000042"),
            reference: Some("0000012345"),
            occurred_at_us: Some(7),
            ..mismatch
        };
        assert_eq!(k(receipt), "52a6a367abb89d18b9a3989237b44d41");
        let history = KeyParts {
            rule_id: "lag.late_entry",
            license: "C11-0000002-LIC",
            package_label: Some("1A4FF0100002000000000542"),
            occurred_at_us: Some(1_781_479_855_000_000),
            ..KeyParts::default()
        };
        assert_eq!(k(history), "99e09366a70cb9da85e1b45ff6f48c54");
        let other_entry = KeyParts { occurred_at_us: Some(1_781_479_856_000_000), ..history };
        assert_ne!(k(other_entry), k(history));
        let weight = KeyParts {
            rule_id: "count.significant_discrepancy",
            license: "C11-0000003-LIC",
            unit: Some("g"),
            ..KeyParts::default()
        };
        assert_eq!(k(weight), "b2618e5f677ff4b7171a716d7e94e16b");
        assert_ne!(k(weight), k(KeyParts { unit: Some("ml"), ..weight }));
    }

    /// A filtered result shares the source's string buffers; `detach` copies out only the
    /// strings it holds, with the values, nulls and other columns unchanged.
    #[test]
    fn detach_keeps_values_and_drops_shared_buffers() {
        let n = 10_000;
        let labels: Vec<Option<String>> = (0..n)
            .map(|i| (i % 7 != 0).then(|| format!("1A4FF01000000220000{i:05}-long-enough")))
            .collect();
        let df = df!("label" => labels, "n" => (0..i64::from(n)).collect::<Vec<_>>()).unwrap();
        let few = df.lazy().filter(col("n").lt(lit(8))).collect().unwrap();
        let buffer_bytes = |df: &DataFrame| -> usize {
            let ca = df.column("label").unwrap().str().unwrap().clone();
            ca.downcast_iter().map(polars_arrow::array::Utf8ViewArray::total_buffer_len).sum()
        };
        assert!(buffer_bytes(&few) > 100_000, "the filter shares the source's buffers");
        let out = detach(&few).unwrap();
        assert!(buffer_bytes(&out) < 1_000, "{} bytes kept", buffer_bytes(&out));
        assert!(out.equals_missing(&few));
        assert_eq!(out.column("label").unwrap().null_count(), 2); // rows 0 and 7
    }
}
