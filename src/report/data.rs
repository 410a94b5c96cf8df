//! The report model, loaded from the stage outputs under `--out`. Polars does the sorting,
//! counting and capping, so only aggregates and at most `max_rows` rows per table reach
//! Rust, whatever the size of the run. Missing optional inputs give empty parts.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;

use polars::prelude::*;
use serde_json::Value;

use crate::error::{Error, PolarsContext, Result};
use crate::schema::{self, out};
use crate::store;
use crate::vocab::{Severity, family, rule};

/// Column names read by the report; a test checks each against [`crate::schema`].
pub(crate) mod c {
    pub const RUN_ID: &str = "run_id";
    pub const RULE_ID: &str = "rule_id";
    pub const FAMILY: &str = "family";
    pub const SEVERITY: &str = "severity";
    pub const LICENSE: &str = crate::schema::col::LICENSE;
    pub const PACKAGE_LABEL: &str = "package_label";
    pub const RELATED_LABEL: &str = "related_label";
    pub const REFERENCE: &str = "reference";
    pub const OCCURRED_AT: &str = "occurred_at";
    pub const RECORDED_AT: &str = "recorded_at";
    pub const LAG_HOURS: &str = "lag_hours";
    pub const SYSTEM_QUANTITY: &str = "system_quantity";
    pub const COUNTED_QUANTITY: &str = "counted_quantity";
    pub const VARIANCE: &str = "variance";
    pub const UNIT: &str = crate::schema::col::UNIT;
    pub const DETAIL: &str = "detail";
    pub const CITATION: &str = "citation";
    pub const SOURCE_FILE: &str = crate::schema::col::SOURCE_FILE;
    // summary.parquet
    pub const KIND: &str = "kind";
    pub const QUANTITY_TYPE: &str = crate::schema::col::QUANTITY_TYPE;
    pub const SYSTEM_TOTAL: &str = "system_total";
    pub const COUNTED_TOTAL: &str = "counted_total";
    pub const VARIANCE_PCT: &str = "variance_pct";
    pub const SIGNIFICANT: &str = "significant";
    // rejects.parquet
    pub const RECORD: &str = crate::schema::col::RECORD;
    pub const COLUMN: &str = "column";
    pub const REASON: &str = "reason";
    pub const RAW: &str = "raw";
    // lake packages
    pub const LABEL: &str = crate::schema::col::LABEL;
    pub const ITEM_NAME: &str = "item_name";
    pub const CATEGORY: &str = "category";
    pub const LOCATION: &str = "location";
}

/// Severity names, worst first: the slots of [`SevCounts`].
pub(crate) const SEVERITIES: [&str; 5] = Severity::names_worst_first();
/// Slot of [`SevCounts`] for a severity outside [`SEVERITIES`] (a user rule's typo).
pub(crate) const OTHER: usize = 5;
/// Findings per severity, in [`SEVERITIES`] order, then [`OTHER`].
pub(crate) type SevCounts = [u64; 6];

/// The slot of a severity in [`SevCounts`]: 0 for critical … 4 for info, [`OTHER`] for
/// anything else.
pub(crate) fn severity_slot(s: &str) -> usize {
    Severity::from_name(s).map_or(OTHER, Severity::worst_first_index)
}

/// What the manifest says about the run.
#[derive(Debug, Default)]
pub(crate) struct Run {
    pub has_manifest: bool,
    pub run_id: String,
    pub tool: String,
    pub version: String,
    pub started_at: String,
    pub finished_at: String,
    pub command: Vec<String>,
    pub timezone: String,
    pub profile: String,
    pub threshold_pct: Option<f64>,
    pub basis: String,
    /// Every option, as (key, compact JSON or text), sorted by key.
    pub options: Vec<(String, String)>,
    pub rerun: String,
}

/// One input file of the manifest.
#[derive(Debug, Default)]
pub(crate) struct Input {
    pub path: String,
    pub kind: String,
    pub license: String,
    pub sha256: String,
    pub bytes: Option<u64>,
    pub rows_in: Option<u64>,
    pub rows_accepted: Option<u64>,
    pub rows_rejected: Option<u64>,
    /// How a count sheet was read (encoding, delimiter, header line, worksheet).
    pub read_as: String,
}

/// One file of the export that was not read, and why.
#[derive(Debug, Default)]
pub(crate) struct Unread {
    pub path: String,
    pub reason: String,
}

/// One rule of the manifest.
#[derive(Debug, Default)]
pub(crate) struct Rule {
    pub id: String,
    pub family: String,
    pub severity: String,
    pub citation: String,
    pub description: String,
    pub source: String,
    pub sha256: String,
}

/// One output of the manifest.
#[derive(Debug, Default)]
pub(crate) struct Output {
    pub path: String,
    pub rows: Option<u64>,
}

/// One `kind = quantity` row of `summary.parquet`.
#[derive(Debug, Clone, Default)]
pub(crate) struct Quantity {
    pub license: String,
    pub quantity_type: String,
    pub unit: String,
    pub system_total: Option<f64>,
    pub counted_total: Option<f64>,
    pub variance: Option<f64>,
    pub variance_pct: Option<f64>,
    pub significant: bool,
}

/// Findings of one rule (at one license, or over all of them).
#[derive(Debug, Clone, Default)]
pub(crate) struct RuleCount {
    pub family: String,
    pub rule_id: String,
    pub citation: String,
    pub counts: SevCounts,
}

impl RuleCount {
    pub fn total(&self) -> u64 {
        self.counts.iter().sum()
    }
    pub fn worst(&self) -> usize {
        worst(&self.counts)
    }
}

/// The worst severity slot with a finding ([`OTHER`] when none).
pub(crate) fn worst(counts: &SevCounts) -> usize {
    counts.iter().position(|n| *n > 0).unwrap_or(OTHER)
}

/// One license of the executive summary.
#[derive(Debug, Clone, Default)]
pub(crate) struct License {
    pub license: String,
    pub counts: SevCounts,
    /// Rules that fired, in family then rule order.
    pub rules: Vec<RuleCount>,
    /// Totals per quantity type from `summary.parquet`.
    pub quantities: Vec<Quantity>,
    /// Whether its counts were checked (SPEC 2.4), from `summary.parquet`.
    pub coverage: Coverage,
}

/// What the count family could conclude at a license.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) enum CountStatus {
    /// Count rows read; the verdicts stand.
    Checked,
    /// Over 1 % of its count rows could not be read: no significance verdict.
    NotDetermined,
    /// No count rows, or an export without what the as-of system needs: the count family
    /// was not checked.
    #[default]
    NotChecked,
}

/// The export files a counted license lacks for its as-of quantities (`count_lacks`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Lacks {
    pub packages: bool,
    pub adjustments: bool,
    pub sales: bool,
}

impl Lacks {
    fn parse(s: Option<&str>) -> Lacks {
        let has = |k: &str| s.is_some_and(|s| s.split(',').any(|w| w.trim() == k));
        Lacks { packages: has("packages"), adjustments: has("adjustments"), sales: has("sales") }
    }

    pub fn any(self) -> bool {
        self.packages || self.adjustments || self.sales
    }

    /// "packages file", "adjustments and sales files".
    pub fn files(self) -> String {
        let names: Vec<&str> =
            [(self.packages, "packages"), (self.adjustments, "adjustments"), (self.sales, "sales")]
                .into_iter()
                .filter_map(|(b, n)| b.then_some(n))
                .collect();
        match names.as_slice() {
            [] => String::new(),
            [one] => format!("{one} file"),
            [rest @ .., last] => format!("{} and {last} files", rest.join(", ")),
        }
    }
}

/// A license's count rows and what they allow.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Coverage {
    pub status: CountStatus,
    pub rows: u64,
    pub rejected: u64,
    /// Export files the as-of quantities needed and did not have (count family not checked).
    pub lacks: Lacks,
    /// The reconciliation duties (None: a summary written before they existed).
    pub duties: Option<Duties>,
}

impl Coverage {
    /// Why the count family was not checked: "no count sheet", or the export files the
    /// as-of quantities needed ("its export has no sales file").
    pub fn not_checked_why(&self) -> String {
        if self.lacks.any() {
            format!("its export has no {}", self.lacks.files())
        } else {
            "no count sheet".to_owned()
        }
    }
}

/// What the reconciliation duties (SPEC 3, §15050, §15051) could be judged on at a license.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Duties {
    /// The local date of its latest known count (this run's or, with --previous, an
    /// earlier run's), days since 1970-01-01.
    pub last_count_date: Option<i32>,
    /// The moment it is judged at (--as-of, else its latest recorded activity).
    pub as_of_us: Option<i64>,
    /// A count is known: `count.reconciliation_overdue` was judged.
    pub overdue_checked: bool,
    /// The --users list names the license.
    pub users_checked: bool,
    /// --outages was given.
    pub outages_checked: bool,
    /// Documented losses of access.
    pub outages: u64,
    /// Late entries those outages excused (recorded within the 3-day grace).
    pub excused: u64,
}

impl Duties {
    /// Local calendar days from the latest count to the as-of time.
    pub fn days_since_count(&self, tz: Option<chrono_tz::Tz>) -> Option<i64> {
        let as_of = chrono::DateTime::from_timestamp_micros(self.as_of_us?)?;
        let day = match tz {
            Some(tz) => as_of.with_timezone(&tz).date_naive(),
            None => as_of.date_naive(),
        };
        let epoch = chrono::NaiveDate::from_ymd_opt(1970, 1, 1)?;
        Some((day - epoch).num_days() - i64::from(self.last_count_date?))
    }
}

impl License {
    pub fn total(&self) -> u64 {
        self.counts.iter().sum()
    }
    /// Its counts were read well enough for a verdict.
    pub fn checked(&self) -> bool {
        self.coverage.status == CountStatus::Checked
    }
    /// Significant per the summary, or per a significance finding when there is no summary.
    pub fn significant(&self) -> bool {
        self.quantities.iter().any(|q| q.significant)
            || self.rules.iter().any(|r| r.rule_id == rule::COUNT_SIGNIFICANT_DISCREPANCY)
    }
    /// Families present, in report order (the four known ones first).
    pub fn families(&self) -> Vec<&str> {
        family_order(self.rules.iter().map(|r| r.family.as_str()))
    }
}

/// Known families first in their fixed order, then any other family sorted.
pub(crate) fn family_order<'a>(families: impl Iterator<Item = &'a str>) -> Vec<&'a str> {
    let set: BTreeSet<&str> = families.collect();
    let mut v: Vec<&str> =
        super::guidance::FAMILIES.iter().map(|f| f.id).filter(|id| set.contains(id)).collect();
    v.extend(set.iter().filter(|f| super::guidance::family(f).is_none()));
    v
}

/// Everything both the report and the closing paragraph need.
#[derive(Debug, Default)]
pub(crate) struct Overview {
    pub run: Run,
    pub inputs: Vec<Input>,
    /// Files of the export that were not read (the manifest's `unread`).
    pub unread: Vec<Unread>,
    pub rules: Vec<Rule>,
    pub outputs: Vec<Output>,
    /// Every license: of the inputs, the findings or the summary. Worst first, then by name.
    pub licenses: Vec<License>,
    pub totals: SevCounts,
    pub total_findings: u64,
    /// Rules over all licenses.
    pub rule_counts: Vec<RuleCount>,
    /// Rows of `rejects.parquet` (the manifest's sum when the file is absent).
    pub rejects_total: u64,
    /// Whether `summary.parquet` was there.
    pub has_summary: bool,
    /// How inputs were read that a reader must know (the manifest's notes, and how each
    /// count sheet was read).
    pub input_notes: Vec<String>,
    /// What changed since the previous run (`--previous`), when this run was compared.
    pub changes: Option<Changes>,
}

/// Counts of `changes.parquet`, and the run they compare with.
#[derive(Debug, Default, Clone)]
pub(crate) struct Changes {
    pub since_run: String,
    pub since_at: String,
    pub new: u64,
    pub recurring: u64,
    pub resolved: u64,
    /// The earliest first sighting of a recurring finding (µs, UTC).
    pub oldest: Option<i64>,
}

/// One finding row as shown, with the package's item, category and location from the lake.
#[derive(Debug, Clone, Default)]
pub(crate) struct Finding {
    pub rule_id: String,
    pub severity: String,
    pub license: String,
    pub package_label: Option<String>,
    pub related_label: Option<String>,
    pub reference: Option<String>,
    pub occurred_at: Option<i64>,
    pub recorded_at: Option<i64>,
    pub lag_hours: Option<f64>,
    pub system_quantity: Option<f64>,
    pub counted_quantity: Option<f64>,
    pub variance: Option<f64>,
    pub unit: Option<String>,
    pub detail: String,
    pub citation: String,
    pub source_file: Option<String>,
    pub item_name: Option<String>,
    pub category: Option<String>,
    pub location: Option<String>,
    /// The facility's time zone (the run's `--timezone`), for the times shown.
    pub tz: Option<chrono_tz::Tz>,
    /// Its stable key (absent in findings of earlier versions).
    pub key: Option<String>,
    /// When a finding that recurs since the previous run was first seen (µs, UTC).
    pub recurring_since: Option<i64>,
}

/// One family section: its rules and its first `max_rows` findings.
#[derive(Debug, Default)]
pub(crate) struct FamilyData {
    pub family: String,
    pub total: u64,
    pub rules: Vec<RuleCount>,
    pub rows: Vec<Finding>,
}

/// One bar of the variance chart: net shortage and overage of one group.
#[derive(Debug, Clone, Default)]
pub(crate) struct Bar {
    pub group: String,
    pub shortage: f64,
    pub overage: f64,
    pub findings: u64,
}

/// Variance by group for one base unit.
#[derive(Debug, Default)]
pub(crate) struct Bars {
    pub unit: String,
    /// `category` when the lake is there, else `license`.
    pub by: &'static str,
    pub bars: Vec<Bar>,
    /// Groups before the chart kept the largest [`MAX_BARS`].
    pub groups: usize,
}

/// Bars per chart at most.
pub(crate) const MAX_BARS: usize = 15;

/// Width of a lag histogram bin, hours.
pub(crate) const LAG_BIN_HOURS: f64 = 12.0;
/// Bins of [`LAG_BIN_HOURS`] from 0 h; the last one also holds every longer lag.
pub(crate) const LAG_BINS: usize = 15;

/// Lag findings by lag.
#[derive(Debug, Default)]
pub(crate) struct LagHistogram {
    /// Recorded before occurring.
    pub negative: u64,
    pub bins: [u64; LAG_BINS],
}

impl LagHistogram {
    pub fn total(&self) -> u64 {
        self.negative + self.bins.iter().sum::<u64>()
    }
}

/// One row of `rejects.parquet`.
#[derive(Debug, Default)]
pub(crate) struct Reject {
    pub source_file: String,
    pub record: Option<i64>,
    pub column: String,
    pub reason: String,
    pub raw: String,
}

/// Everything the report shows.
#[derive(Debug, Default)]
pub(crate) struct Model {
    pub overview: Overview,
    pub max_rows: usize,
    /// The four families always, then any other family that has findings.
    pub families: Vec<FamilyData>,
    pub quantities: Vec<Quantity>,
    pub quantities_total: usize,
    pub bars: Vec<Bars>,
    pub lag: LagHistogram,
    pub rejects: Vec<Reject>,
    /// The variance trend of the chain of runs (`trend.parquet`, with `--previous`).
    pub trend: Option<super::trend::Trend>,
}

/// Load the whole report model.
pub(crate) fn load(out_dir: &Path, max_rows: usize) -> Result<Model> {
    let findings_path = out_dir.join(out::FINDINGS);
    let findings = scan_findings(out_dir)?;
    let summary = scan_optional(&out_dir.join(out::SUMMARY))?;
    let overview = overview(out_dir, &findings, summary.clone())?;

    let mut families = Vec::new();
    let family_ids = family_order(
        super::guidance::FAMILIES
            .iter()
            .map(|f| f.id)
            .chain(overview.rule_counts.iter().map(|r| r.family.as_str())),
    );
    for family in family_ids {
        let rules: Vec<RuleCount> =
            overview.rule_counts.iter().filter(|r| r.family == family).cloned().collect();
        let total = rules.iter().map(RuleCount::total).sum();
        let rows = if total > 0 {
            finding_rows(&findings, family, max_rows, &findings_path)?
        } else {
            Vec::new()
        };
        families.push(FamilyData { family: family.to_owned(), total, rules, rows });
    }

    let packages = lake_packages(out_dir, &findings)?;
    attach_packages(&mut families, packages.as_ref())?;
    let tz: Option<chrono_tz::Tz> = overview.run.timezone.parse().ok();
    let since = recurring_since(out_dir, overview.changes.is_some())?;
    for r in families.iter_mut().flat_map(|f| f.rows.iter_mut()) {
        r.tz = tz;
        r.recurring_since = r.key.as_ref().and_then(|k| since.get(k).copied());
    }

    let mut quantities: Vec<Quantity> =
        overview.licenses.iter().flat_map(|l| l.quantities.iter().cloned()).collect();
    quantities.sort_by(|a, b| {
        (!a.significant, &a.license, &a.quantity_type).cmp(&(
            !b.significant,
            &b.license,
            &b.quantity_type,
        ))
    });
    let quantities_total = quantities.len();
    quantities.truncate(max_rows);

    let bars = variance_bars(&findings, packages.as_ref())?;
    let lag = lag_histogram(&findings)?;
    let rejects = reject_rows(out_dir, max_rows)?;
    let order: Vec<&str> = overview.licenses.iter().map(|l| l.license.as_str()).collect();
    let trend = super::trend::load(out_dir, &overview.run, &order)?;
    Ok(Model {
        overview,
        max_rows,
        families,
        quantities,
        quantities_total,
        bars,
        lag,
        rejects,
        trend,
    })
}

/// Load what the closing paragraph needs.
pub(crate) fn load_overview(out_dir: &Path) -> Result<Overview> {
    let findings = scan_findings(out_dir)?;
    let summary = scan_optional(&out_dir.join(out::SUMMARY))?;
    overview(out_dir, &findings, summary)
}

fn overview(out_dir: &Path, findings: &LazyFrame, summary: Option<LazyFrame>) -> Result<Overview> {
    let manifest = read_manifest(out_dir)?;
    let run = run_of(&manifest);
    let inputs = inputs_of(&manifest);
    let unread = array(&manifest, "unread")
        .map(|v| Unread { path: text_of(v, "path"), reason: text_of(v, "reason") })
        .collect();
    let rules = rules_of(&manifest);
    let outputs = outputs_of(&manifest);

    // license × family × rule × severity: small however many findings there are.
    let df = collect(
        findings
            .clone()
            .group_by([col(c::LICENSE), col(c::FAMILY), col(c::RULE_ID), col(c::SEVERITY)])
            .agg([len().alias("n"), col(c::CITATION).min().alias(c::CITATION)]),
        "counting findings",
    )?;
    let lic = strings(&df, c::LICENSE)?;
    let fam = strings(&df, c::FAMILY)?;
    let rule = strings(&df, c::RULE_ID)?;
    let sev = strings(&df, c::SEVERITY)?;
    let cit = strings(&df, c::CITATION)?;
    let n = ints(&df, "n")?;

    let mut by_license: BTreeMap<String, BTreeMap<(String, String), RuleCount>> = BTreeMap::new();
    let mut overall: BTreeMap<(String, String), RuleCount> = BTreeMap::new();
    for i in 0..df.height() {
        let license = lic[i].clone().unwrap_or_default();
        let family = fam[i].clone().unwrap_or_default();
        let rule_id = rule[i].clone().unwrap_or_default();
        let slot = severity_slot(sev[i].as_deref().unwrap_or(""));
        let count = u64::try_from(n[i].unwrap_or(0)).unwrap_or(0);
        let citation = cit[i].clone().unwrap_or_default();
        for map in [by_license.entry(license).or_default(), &mut overall] {
            let rc = map.entry((family.clone(), rule_id.clone())).or_insert_with(|| RuleCount {
                family: family.clone(),
                rule_id: rule_id.clone(),
                citation: citation.clone(),
                counts: [0; 6],
            });
            rc.counts[slot] += count;
            if rc.citation.is_empty() {
                rc.citation.clone_from(&citation);
            }
        }
    }

    let has_summary = summary.is_some();
    let (quantities, coverage) = match summary {
        Some(s) => (summary_quantities(s.clone())?, summary_coverage(s)?),
        None => (Vec::new(), BTreeMap::new()),
    };

    let mut names: BTreeSet<String> = by_license.keys().cloned().collect();
    names.extend(quantities.iter().map(|q| q.license.clone()));
    // A counted license the export lacks is in the summary's coverage rows only.
    names.extend(coverage.keys().cloned());
    names.extend(inputs.iter().filter(|i| !i.license.is_empty()).map(|i| i.license.clone()));

    let mut licenses: Vec<License> = names
        .into_iter()
        .map(|name| {
            let rules = by_license.remove(&name).map(sorted_rules).unwrap_or_default();
            let mut counts = [0; 6];
            for r in &rules {
                for (acc, n) in counts.iter_mut().zip(r.counts) {
                    *acc += n;
                }
            }
            let quantities: Vec<Quantity> =
                quantities.iter().filter(|q| q.license == name).cloned().collect();
            // A summary without coverage rows (an older OUT): counted where it has totals.
            let coverage = coverage.get(&name).copied().unwrap_or(Coverage {
                status: if quantities.is_empty() {
                    CountStatus::NotChecked
                } else {
                    CountStatus::Checked
                },
                rows: 0,
                rejected: 0,
                lacks: Lacks::default(),
                duties: None,
            });
            License { license: name, counts, rules, quantities, coverage }
        })
        .collect();
    licenses.sort_by(|a, b| {
        (worst(&a.counts), !a.significant(), &a.license).cmp(&(
            worst(&b.counts),
            !b.significant(),
            &b.license,
        ))
    });

    let rule_counts = sorted_rules(overall);
    let mut totals = [0; 6];
    for r in &rule_counts {
        for (acc, n) in totals.iter_mut().zip(r.counts) {
            *acc += n;
        }
    }
    let total_findings = totals.iter().sum();

    let rejects_total = match scan_optional(&out_dir.join(out::REJECTS))? {
        Some(r) => {
            let df = collect(r.select([len().alias("n")]), "counting rejects")?;
            ints(&df, "n")?.first().copied().flatten().unwrap_or(0).max(0) as u64
        }
        None => inputs.iter().filter_map(|i| i.rows_rejected).sum(),
    };

    let mut run = run;
    if run.run_id.is_empty() {
        let df = collect(findings.clone().select([col(c::RUN_ID).min()]), "reading run id")?;
        run.run_id = strings(&df, c::RUN_ID)?.into_iter().flatten().next().unwrap_or_default();
    }

    let mut input_notes: Vec<String> =
        array(&manifest, "notes").filter_map(|v| v.as_str().map(str::to_owned)).collect();
    input_notes.extend(
        inputs
            .iter()
            .filter(|i| !i.read_as.is_empty())
            .map(|i| format!("counts: `{}` read as {}", i.path, i.read_as)),
    );
    Ok(Overview {
        input_notes,
        run,
        inputs,
        unread,
        rules,
        outputs,
        licenses,
        totals,
        total_findings,
        rule_counts,
        rejects_total,
        has_summary,
        changes: changes_of(out_dir, &manifest)?,
    })
}

/// finding_key → first sighting of every finding that recurs since the previous run.
fn recurring_since(out_dir: &Path, compared: bool) -> Result<HashMap<String, i64>> {
    let mut m = HashMap::new();
    let lf = if compared { scan_optional(&out_dir.join(out::CHANGES))? } else { None };
    let Some(lf) = lf else { return Ok(m) };
    let df = collect(
        lf.filter(col("status").eq(lit("recurring")))
            .select([col(schema::FINDING_KEY), col("first_seen_at").cast(DataType::Int64)]),
        "reading changes",
    )?;
    let keys = strings(&df, schema::FINDING_KEY)?;
    let at = ints(&df, "first_seen_at")?;
    for (k, t) in keys.into_iter().zip(at) {
        if let (Some(k), Some(t)) = (k, t) {
            m.insert(k, t);
        }
    }
    Ok(m)
}

/// The counts of `changes.parquet` when the manifest says this run was compared.
fn changes_of(out_dir: &Path, manifest: &Value) -> Result<Option<Changes>> {
    let Some(prev) = manifest.get("previous").filter(|p| p.is_object()) else { return Ok(None) };
    let Some(lf) = scan_optional(&out_dir.join(out::CHANGES))? else { return Ok(None) };
    let df = collect(
        lf.group_by([col("status")]).agg([
            len().alias("n"),
            col("first_seen_at").cast(DataType::Int64).min().alias("oldest"),
        ]),
        "counting changes",
    )?;
    let status = strings(&df, "status")?;
    let n = ints(&df, "n")?;
    let oldest = ints(&df, "oldest")?;
    let mut c = Changes {
        since_run: text_of(prev, "run_id"),
        since_at: text_of(prev, "finished_at"),
        ..Changes::default()
    };
    for i in 0..df.height() {
        let k = n[i].unwrap_or(0).max(0) as u64;
        match status[i].as_deref() {
            Some("new") => c.new = k,
            Some("recurring") => {
                c.recurring = k;
                c.oldest = oldest[i];
            }
            Some("resolved") => c.resolved = k,
            _ => {}
        }
    }
    Ok(Some(c))
}

/// Rules in family report order, then worst severity first, then by id.
fn sorted_rules(map: BTreeMap<(String, String), RuleCount>) -> Vec<RuleCount> {
    let order = family_order(map.keys().map(|(f, _)| f.as_str()))
        .into_iter()
        .map(str::to_owned)
        .collect::<Vec<_>>();
    let mut v: Vec<RuleCount> = map.into_values().collect();
    v.sort_by_key(|r| {
        let family = order.iter().position(|f| *f == r.family).unwrap_or(usize::MAX);
        (family, r.worst(), r.rule_id.clone())
    });
    v
}

fn summary_quantities(mut summary: LazyFrame) -> Result<Vec<Quantity>> {
    let schema = summary.collect_schema().ctx(|| "reading summary.parquet".into())?;
    let needed = [c::LICENSE, c::KIND, c::QUANTITY_TYPE];
    if needed.iter().any(|n| schema.get(n).is_none()) {
        return Ok(Vec::new());
    }
    let opt = |name: &str, dtype: DataType| {
        if schema.get(name).is_some() {
            col(name).cast(dtype)
        } else {
            lit(NULL).cast(dtype).alias(name)
        }
    };
    let df = collect(
        summary.filter(col(c::KIND).eq(lit("quantity"))).select([
            col(c::LICENSE).cast(DataType::String),
            col(c::QUANTITY_TYPE).cast(DataType::String),
            opt(c::UNIT, DataType::String),
            opt(c::SYSTEM_TOTAL, DataType::Float64),
            opt(c::COUNTED_TOTAL, DataType::Float64),
            opt(c::VARIANCE, DataType::Float64),
            opt(c::VARIANCE_PCT, DataType::Float64),
            opt(c::SIGNIFICANT, DataType::Boolean),
        ]),
        "reading summary.parquet",
    )?;
    let license = strings(&df, c::LICENSE)?;
    let qt = strings(&df, c::QUANTITY_TYPE)?;
    let unit = strings(&df, c::UNIT)?;
    let sys = floats(&df, c::SYSTEM_TOTAL)?;
    let cnt = floats(&df, c::COUNTED_TOTAL)?;
    let var = floats(&df, c::VARIANCE)?;
    let pct = floats(&df, c::VARIANCE_PCT)?;
    let sig = bools(&df, c::SIGNIFICANT)?;
    let mut v: Vec<Quantity> = (0..df.height())
        .map(|i| Quantity {
            license: license[i].clone().unwrap_or_default(),
            quantity_type: qt[i].clone().unwrap_or_default(),
            unit: unit[i].clone().unwrap_or_default(),
            system_total: sys[i],
            counted_total: cnt[i],
            variance: var[i],
            variance_pct: pct[i],
            significant: sig[i].unwrap_or(false),
        })
        .collect();
    v.sort_by(|a, b| (&a.license, &a.quantity_type).cmp(&(&b.license, &b.quantity_type)));
    Ok(v)
}

/// `kind = coverage` rows of the summary: per license, whether its counts were checked.
fn summary_coverage(mut summary: LazyFrame) -> Result<BTreeMap<String, Coverage>> {
    let schema = summary.collect_schema().ctx(|| "reading summary.parquet".into())?;
    if ["count_status", "count_rows", "count_rows_rejected", c::KIND]
        .iter()
        .any(|n| schema.get(n).is_none())
    {
        return Ok(BTreeMap::new());
    }
    let summary_for_duties = summary.clone();
    let df = collect(
        summary.filter(col(c::KIND).eq(lit("coverage"))).select([
            col(c::LICENSE).cast(DataType::String),
            col("count_status").cast(DataType::String),
            col("count_rows").cast(DataType::Int64),
            col("count_rows_rejected").cast(DataType::Int64),
            if schema.get("count_lacks").is_some() {
                col("count_lacks").cast(DataType::String)
            } else {
                lit(NULL).cast(DataType::String).alias("count_lacks")
            },
        ]),
        "reading summary.parquet",
    )?;
    let license = strings(&df, c::LICENSE)?;
    let status = strings(&df, "count_status")?;
    let rows = ints(&df, "count_rows")?;
    let rejected = ints(&df, "count_rows_rejected")?;
    let lacks = strings(&df, "count_lacks")?;
    let duties = summary_duties(summary_for_duties, &schema)?;
    Ok((0..df.height())
        .map(|i| {
            let status = match status[i].as_deref() {
                Some("checked") => CountStatus::Checked,
                Some("not_determined") => CountStatus::NotDetermined,
                _ => CountStatus::NotChecked,
            };
            let n = |v: Option<i64>| u64::try_from(v.unwrap_or(0)).unwrap_or(0);
            (
                license[i].clone().unwrap_or_default(),
                Coverage {
                    status,
                    rows: n(rows[i]),
                    rejected: n(rejected[i]),
                    lacks: Lacks::parse(lacks[i].as_deref()),
                    duties: license[i].as_ref().and_then(|l| duties.get(l).copied()),
                },
            )
        })
        .collect())
}

/// The duty columns of the `coverage` rows, per license (empty for an older summary).
fn summary_duties(summary: LazyFrame, schema: &Schema) -> Result<BTreeMap<String, Duties>> {
    if schema.get("overdue_status").is_none() {
        return Ok(BTreeMap::new());
    }
    let df = collect(
        summary.filter(col(c::KIND).eq(lit("coverage"))).select([
            col(c::LICENSE).cast(DataType::String),
            col("counted_date").cast(DataType::Int64),
            col("as_of").cast(DataType::Int64),
            col("overdue_status").cast(DataType::String),
            col("users_status").cast(DataType::String),
            col("outages_status").cast(DataType::String),
            col("outages").cast(DataType::Int64),
            col("outage_excused").cast(DataType::Int64),
        ]),
        "reading summary.parquet",
    )?;
    let license = strings(&df, c::LICENSE)?;
    let (date, as_of) = (ints(&df, "counted_date")?, ints(&df, "as_of")?);
    let (o, u, g) = (
        strings(&df, "overdue_status")?,
        strings(&df, "users_status")?,
        strings(&df, "outages_status")?,
    );
    let (outages, excused) = (ints(&df, "outages")?, ints(&df, "outage_excused")?);
    let yes = |v: &Option<String>| v.as_deref() == Some("checked");
    let n = |v: Option<i64>| u64::try_from(v.unwrap_or(0)).unwrap_or(0);
    Ok((0..df.height())
        .filter_map(|i| {
            // A counted license the export lacks has no duty row: nothing was judged there.
            o[i].as_ref()?;
            let d = Duties {
                last_count_date: date[i].and_then(|d| i32::try_from(d).ok()),
                as_of_us: as_of[i],
                overdue_checked: yes(&o[i]),
                users_checked: yes(&u[i]),
                outages_checked: yes(&g[i]),
                outages: n(outages[i]),
                excused: n(excused[i]),
            };
            Some((license[i].clone()?, d))
        })
        .collect())
}

/// Expression ranking severities, worst first.
pub(crate) fn sev_rank() -> Expr {
    let is = |i: usize| col(c::SEVERITY).eq(lit(SEVERITIES[i]));
    let mut e = when(is(0)).then(lit(0i64)).when(is(1)).then(lit(1i64));
    for i in 2..SEVERITIES.len() {
        e = e.when(is(i)).then(lit(i as i64));
    }
    e.otherwise(lit(OTHER as i64))
}

/// The first `max_rows` findings of `family`, severity first, then license and label.
fn finding_rows(
    findings: &LazyFrame,
    family: &str,
    max_rows: usize,
    path: &Path,
) -> Result<Vec<Finding>> {
    let has_key =
        findings.clone().collect_schema().is_ok_and(|s| s.get(schema::FINDING_KEY).is_some());
    let limit = IdxSize::try_from(max_rows).unwrap_or(IdxSize::MAX);
    let lf = findings
        .clone()
        .filter(col(c::FAMILY).eq(lit(family)))
        .sort_by_exprs(
            [
                sev_rank(),
                col(c::LICENSE),
                col(c::PACKAGE_LABEL),
                col(c::RULE_ID),
                col(c::RELATED_LABEL),
                col(c::REFERENCE),
                col(c::OCCURRED_AT),
                col(c::SOURCE_FILE),
                col(c::DETAIL),
            ],
            SortMultipleOptions::default().with_nulls_last(true).with_maintain_order(true),
        )
        .limit(limit)
        .select([
            col(c::RULE_ID),
            col(c::SEVERITY),
            col(c::LICENSE),
            col(c::PACKAGE_LABEL),
            col(c::RELATED_LABEL),
            col(c::REFERENCE),
            col(c::OCCURRED_AT).dt().timestamp(TimeUnit::Microseconds),
            col(c::RECORDED_AT).dt().timestamp(TimeUnit::Microseconds),
            col(c::LAG_HOURS),
            col(c::SYSTEM_QUANTITY),
            col(c::COUNTED_QUANTITY),
            col(c::VARIANCE),
            col(c::UNIT),
            col(c::DETAIL),
            col(c::CITATION),
            col(c::SOURCE_FILE),
            if has_key {
                col(schema::FINDING_KEY)
            } else {
                lit(NULL).cast(DataType::String).alias(schema::FINDING_KEY)
            },
        ]);
    let df = collect(lf, &format!("reading {} findings from {}", family, path.display()))?;
    let key = strings(&df, schema::FINDING_KEY)?;
    let rule = strings(&df, c::RULE_ID)?;
    let sev = strings(&df, c::SEVERITY)?;
    let lic = strings(&df, c::LICENSE)?;
    let label = strings(&df, c::PACKAGE_LABEL)?;
    let related = strings(&df, c::RELATED_LABEL)?;
    let reference = strings(&df, c::REFERENCE)?;
    let occurred = ints(&df, c::OCCURRED_AT)?;
    let recorded = ints(&df, c::RECORDED_AT)?;
    let lag = floats(&df, c::LAG_HOURS)?;
    let sys = floats(&df, c::SYSTEM_QUANTITY)?;
    let cnt = floats(&df, c::COUNTED_QUANTITY)?;
    let var = floats(&df, c::VARIANCE)?;
    let unit = strings(&df, c::UNIT)?;
    let detail = strings(&df, c::DETAIL)?;
    let citation = strings(&df, c::CITATION)?;
    let source = strings(&df, c::SOURCE_FILE)?;
    Ok((0..df.height())
        .map(|i| Finding {
            rule_id: rule[i].clone().unwrap_or_default(),
            severity: sev[i].clone().unwrap_or_default(),
            license: lic[i].clone().unwrap_or_default(),
            package_label: label[i].clone(),
            related_label: related[i].clone(),
            reference: reference[i].clone(),
            occurred_at: occurred[i],
            recorded_at: recorded[i],
            lag_hours: lag[i],
            system_quantity: sys[i],
            counted_quantity: cnt[i],
            variance: var[i],
            unit: unit[i].clone(),
            detail: detail[i].clone().unwrap_or_default(),
            citation: citation[i].clone().unwrap_or_default(),
            source_file: source[i].clone(),
            key: key[i].clone(),
            ..Finding::default()
        })
        .collect())
}

/// `(item, category, location)` of a package.
type PackageInfo = (Option<String>, Option<String>, Option<String>);

/// Fill item, category and location of the shown rows from the lake.
fn attach_packages(families: &mut [FamilyData], packages: Option<&LazyFrame>) -> Result<()> {
    let Some(packages) = packages else {
        return Ok(());
    };
    let keys: BTreeSet<(&str, &str)> = families
        .iter()
        .flat_map(|f| f.rows.iter())
        .filter_map(|r| r.package_label.as_deref().map(|l| (r.license.as_str(), l)))
        .collect();
    if keys.is_empty() {
        return Ok(());
    }
    let (lic, lab): (Vec<&str>, Vec<&str>) = keys.into_iter().unzip();
    let keys = df!(c::LICENSE => lic, c::PACKAGE_LABEL => lab).ctx(|| "package keys".into())?;
    let df = collect(
        packages.clone().join(
            keys.lazy(),
            [col(c::LICENSE), col(c::LABEL)],
            [col(c::LICENSE), col(c::PACKAGE_LABEL)],
            JoinArgs::new(JoinType::Semi),
        ),
        "reading packages of the lake",
    )?;
    let lic = strings(&df, c::LICENSE)?;
    let lab = strings(&df, c::LABEL)?;
    let item = strings(&df, c::ITEM_NAME)?;
    let cat = strings(&df, c::CATEGORY)?;
    let loc = strings(&df, c::LOCATION)?;
    let mut info: HashMap<(String, String), PackageInfo> = HashMap::with_capacity(df.height());
    for i in 0..df.height() {
        if let (Some(l), Some(p)) = (&lic[i], &lab[i]) {
            info.insert((l.clone(), p.clone()), (item[i].clone(), cat[i].clone(), loc[i].clone()));
        }
    }
    for row in families.iter_mut().flat_map(|f| f.rows.iter_mut()) {
        let Some(label) = &row.package_label else { continue };
        if let Some((item, cat, loc)) = info.get(&(row.license.clone(), label.clone())) {
            row.item_name.clone_from(item);
            row.category.clone_from(cat);
            row.location.clone_from(loc);
        }
    }
    Ok(())
}

/// The latest copy of each package of the lake (the rules' `packages` view: one definition
/// of "the latest copy", so the report shows the copy the rules judged), or `None` when the
/// lake has no packages.
/// Only the labels of `findings` are read: the report shows no other package.
fn lake_packages(out_dir: &Path, findings: &LazyFrame) -> Result<Option<LazyFrame>> {
    let lake = out_dir.join(out::LAKE);
    if store::partition_files(&lake, schema::PACKAGES)?.is_empty() {
        return Ok(None);
    }
    let pairs = collect(
        findings
            .clone()
            .select([col(c::LICENSE), col(c::PACKAGE_LABEL).alias(c::LABEL)])
            .filter(col(c::LICENSE).is_not_null().and(col(c::LABEL).is_not_null()))
            .group_by([col(c::LICENSE)])
            .agg([col(c::LABEL).unique()]),
        "reading the findings' labels",
    )?;
    let licenses = strings(&pairs, c::LICENSE)?;
    let lists = pairs
        .column(c::LABEL)
        .and_then(|c| c.list().cloned())
        .map_err(|e| Error::Internal(format!("findings' labels: {e}")))?;
    let mut labels: HashMap<String, Series> = HashMap::with_capacity(licenses.len());
    for (license, list) in licenses.into_iter().zip(lists.amortized_iter()) {
        if let (Some(license), Some(list)) = (license, list) {
            labels.insert(license, list.as_ref().clone());
        }
    }
    let packages = crate::checks::views::latest_packages(&lake, Some(&labels))?;
    let packages = collect(
        packages.select([
            col(c::LICENSE),
            col(c::LABEL),
            col(c::ITEM_NAME),
            col(c::CATEGORY),
            col(c::LOCATION),
        ]),
        "reading packages of the lake",
    )?;
    Ok(Some(packages.lazy()))
}

/// Net shortage and overage of the package-level count findings, by category (or by
/// license without a lake), per base unit; the largest [`MAX_BARS`] groups per unit.
fn variance_bars(findings: &LazyFrame, packages: Option<&LazyFrame>) -> Result<Vec<Bars>> {
    let rows = findings
        .clone()
        .filter(
            col(c::FAMILY)
                .eq(lit(family::COUNT))
                .and(col(c::RULE_ID).neq(lit(rule::COUNT_SIGNIFICANT_DISCREPANCY)))
                .and(col(c::PACKAGE_LABEL).is_not_null()),
        )
        // A label counted but not in the system adds all it holds to the totals (it has no
        // variance of its own): charted as that overage, so the bars add up to the totals.
        .with_column(
            when(col(c::RULE_ID).eq(lit(rule::COUNT_MISSING_IN_SYSTEM)))
                .then(col(c::VARIANCE).fill_null(col(c::COUNTED_QUANTITY)))
                .otherwise(col(c::VARIANCE))
                .alias(c::VARIANCE),
        )
        .filter(col(c::VARIANCE).is_not_null().and(col(c::VARIANCE).is_not_nan()))
        .select([
            col(c::LICENSE),
            col(c::PACKAGE_LABEL),
            col(c::UNIT).fill_null(lit("")),
            col(c::VARIANCE),
        ]);
    let (rows, by) = match packages {
        Some(p) => {
            let info = p
                .clone()
                .join(
                    rows.clone(),
                    [col(c::LICENSE), col(c::LABEL)],
                    [col(c::LICENSE), col(c::PACKAGE_LABEL)],
                    JoinArgs::new(JoinType::Semi),
                )
                .select([col(c::LICENSE), col(c::LABEL), col(c::CATEGORY)]);
            let joined = rows
                .join(
                    info,
                    [col(c::LICENSE), col(c::PACKAGE_LABEL)],
                    [col(c::LICENSE), col(c::LABEL)],
                    JoinArgs::new(JoinType::Left),
                )
                .select([
                    col(c::CATEGORY).fill_null(lit("uncategorised")).alias("group"),
                    col(c::UNIT),
                    col(c::VARIANCE),
                ]);
            (joined, "category")
        }
        None => (
            rows.select([col(c::LICENSE).alias("group"), col(c::UNIT), col(c::VARIANCE)]),
            "license",
        ),
    };
    let df = collect(
        rows.group_by([col("group"), col(c::UNIT)]).agg([
            when(col(c::VARIANCE).lt(lit(0.0)))
                .then(col(c::VARIANCE))
                .otherwise(lit(0.0))
                .sum()
                .alias("shortage"),
            when(col(c::VARIANCE).gt(lit(0.0)))
                .then(col(c::VARIANCE))
                .otherwise(lit(0.0))
                .sum()
                .alias("overage"),
            len().alias("n"),
        ]),
        "charting count findings",
    )?;
    let group = strings(&df, "group")?;
    let unit = strings(&df, c::UNIT)?;
    let shortage = floats(&df, "shortage")?;
    let overage = floats(&df, "overage")?;
    let n = ints(&df, "n")?;
    let mut per_unit: BTreeMap<String, Vec<Bar>> = BTreeMap::new();
    for i in 0..df.height() {
        per_unit.entry(unit[i].clone().unwrap_or_default()).or_default().push(Bar {
            group: group[i].clone().unwrap_or_default(),
            shortage: shortage[i].unwrap_or(0.0),
            overage: overage[i].unwrap_or(0.0),
            findings: n[i].unwrap_or(0).max(0) as u64,
        });
    }
    Ok(per_unit
        .into_iter()
        .map(|(unit, mut bars)| {
            let groups = bars.len();
            bars.sort_by(|a, b| {
                let (ma, mb) = (a.overage - a.shortage, b.overage - b.shortage);
                mb.total_cmp(&ma).then_with(|| a.group.cmp(&b.group))
            });
            bars.truncate(MAX_BARS);
            Bars { unit, by, bars, groups }
        })
        .collect())
}

/// Lag findings counted per [`LAG_BIN_HOURS`] bin.
fn lag_histogram(findings: &LazyFrame) -> Result<LagHistogram> {
    let lag = col(c::LAG_HOURS);
    let last = (LAG_BINS - 1) as i64;
    let bin = when(lag.clone().lt(lit(0.0)))
        .then(lit(-1i64))
        .when(lag.clone().gt_eq(lit(LAG_BIN_HOURS * last as f64)))
        .then(lit(last))
        .otherwise((lag.clone() / lit(LAG_BIN_HOURS)).floor().cast(DataType::Int64))
        .alias("bin");
    let df = collect(
        findings
            .clone()
            .filter(
                col(c::FAMILY)
                    .eq(lit(family::LAG))
                    .and(lag.clone().is_not_null())
                    .and(lag.is_not_nan()),
            )
            .select([bin])
            .group_by([col("bin")])
            .agg([len().alias("n")]),
        "binning lag findings",
    )?;
    let bins = ints(&df, "bin")?;
    let n = ints(&df, "n")?;
    let mut h = LagHistogram::default();
    for (b, n) in bins.into_iter().zip(n) {
        let n = n.unwrap_or(0).max(0) as u64;
        match b {
            Some(b) if b < 0 => h.negative += n,
            Some(b) => h.bins[usize::try_from(b).unwrap_or(LAG_BINS - 1).min(LAG_BINS - 1)] += n,
            None => {}
        }
    }
    Ok(h)
}

/// The first `max_rows` rejects by file and record.
fn reject_rows(out_dir: &Path, max_rows: usize) -> Result<Vec<Reject>> {
    let Some(mut lf) = scan_optional(&out_dir.join(out::REJECTS))? else {
        return Ok(Vec::new());
    };
    let schema = lf.collect_schema().ctx(|| "reading rejects.parquet".into())?;
    let opt = |name: &str, dtype: DataType| {
        if schema.get(name).is_some() {
            col(name).cast(dtype)
        } else {
            lit(NULL).cast(dtype).alias(name)
        }
    };
    let limit = IdxSize::try_from(max_rows).unwrap_or(IdxSize::MAX);
    let df = collect(
        lf.select([
            opt(c::SOURCE_FILE, DataType::String),
            opt(c::RECORD, DataType::Int64),
            opt(c::COLUMN, DataType::String),
            opt(c::REASON, DataType::String),
            // a raw record can be a whole JSON object; the report shows its start
            opt(c::RAW, DataType::String).str().slice(lit(0i64), lit(RAW_CHARS as u64 + 1)),
        ])
        .sort_by_exprs(
            [col(c::SOURCE_FILE), col(c::RECORD), col(c::COLUMN), col(c::REASON), col(c::RAW)],
            SortMultipleOptions::default().with_nulls_last(true).with_maintain_order(true),
        )
        .limit(limit),
        "reading rejects.parquet",
    )?;
    let file = strings(&df, c::SOURCE_FILE)?;
    let record = ints(&df, c::RECORD)?;
    let column = strings(&df, c::COLUMN)?;
    let reason = strings(&df, c::REASON)?;
    let raw = strings(&df, c::RAW)?;
    Ok((0..df.height())
        .map(|i| Reject {
            source_file: file[i].clone().unwrap_or_default(),
            record: record[i],
            column: column[i].clone().unwrap_or_default(),
            reason: reason[i].clone().unwrap_or_default(),
            raw: raw[i].clone().unwrap_or_default(),
        })
        .collect())
}

/// Characters of a rejected record's raw text that the report shows.
pub(crate) const RAW_CHARS: usize = 200;

fn scan_findings(out_dir: &Path) -> Result<LazyFrame> {
    let path = out_dir.join(out::FINDINGS);
    let Some(mut lf) = scan_optional(&path)? else {
        return Err(Error::Usage(format!(
            "`{}` has no {}: run `tagtrail check --out {}` first",
            out_dir.display(),
            out::FINDINGS,
            out_dir.display()
        )));
    };
    let schema = lf.collect_schema().ctx(|| format!("cannot read `{}`", path.display()))?;
    let missing: Vec<&str> = schema::FINDINGS_COLUMNS
        .iter()
        .map(|(n, _)| *n)
        .filter(|n| schema.get(n).is_none())
        .collect();
    if !missing.is_empty() {
        return Err(Error::Input {
            path,
            position: None,
            reason: format!("not a tagtrail findings table: no column {}", missing.join(", ")),
        });
    }
    Ok(lf)
}

pub(crate) fn scan_optional(path: &Path) -> Result<Option<LazyFrame>> {
    if !path.is_file() {
        return Ok(None);
    }
    let p = PlRefPath::try_from_path(path).ctx(|| format!("cannot read `{}`", path.display()))?;
    let args = ScanArgsParquet {
        glob: false,
        hive_options: HiveOptions::new_disabled(),
        ..Default::default()
    };
    LazyFrame::scan_parquet(p, args).map(Some).ctx(|| format!("cannot read `{}`", path.display()))
}

fn collect(lf: LazyFrame, what: &str) -> Result<DataFrame> {
    lf.collect().ctx(|| what.to_owned())
}

pub(crate) fn strings(df: &DataFrame, name: &str) -> Result<Vec<Option<String>>> {
    let s =
        df.column(name).and_then(|c| c.cast(&DataType::String)).ctx(|| format!("column {name}"))?;
    let ca = s.str().ctx(|| format!("column {name}"))?;
    Ok(ca.iter().map(|v| v.map(str::to_owned)).collect())
}

pub(crate) fn floats(df: &DataFrame, name: &str) -> Result<Vec<Option<f64>>> {
    let s = df
        .column(name)
        .and_then(|c| c.cast(&DataType::Float64))
        .ctx(|| format!("column {name}"))?;
    let ca = s.f64().ctx(|| format!("column {name}"))?;
    Ok(ca.iter().collect())
}

pub(crate) fn ints(df: &DataFrame, name: &str) -> Result<Vec<Option<i64>>> {
    let s =
        df.column(name).and_then(|c| c.cast(&DataType::Int64)).ctx(|| format!("column {name}"))?;
    let ca = s.i64().ctx(|| format!("column {name}"))?;
    Ok(ca.iter().collect())
}

pub(crate) fn bools(df: &DataFrame, name: &str) -> Result<Vec<Option<bool>>> {
    let s = df
        .column(name)
        .and_then(|c| c.cast(&DataType::Boolean))
        .ctx(|| format!("column {name}"))?;
    let ca = s.bool().ctx(|| format!("column {name}"))?;
    Ok(ca.iter().collect())
}

/// The run's time zone as the manifest names it (empty without a manifest).
pub(crate) fn run_timezone(out_dir: &Path) -> Result<String> {
    Ok(run_of(&read_manifest(out_dir)?).timezone)
}

/// `OUT/manifest.json` as JSON, or `Null` when there is none. Unreadable JSON is an error.
fn read_manifest(out_dir: &Path) -> Result<Value> {
    let path = out_dir.join(out::MANIFEST);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Value::Null),
        Err(e) => return Err(Error::io("cannot read", &path, e)),
    };
    serde_json::from_str(&text).map_err(|e| Error::Input {
        path,
        position: Some(format!("line {}, column {}", e.line(), e.column())),
        reason: format!("not JSON: {e}"),
    })
}

/// Text of `v[key]`: a string as is, a number or other value as compact JSON, null as "".
fn text_of(v: &Value, key: &str) -> String {
    match v.get(key) {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

fn u64_of(v: &Value, key: &str) -> Option<u64> {
    let x = v.get(key)?;
    x.as_u64().or_else(|| x.as_f64().filter(|f| *f >= 0.0).map(|f| f as u64))
}

/// The run's options as (what it is, its value) in words, in a fixed order; keys this
/// version does not know are listed after them as they are.
fn options_in_words(options: &Value) -> Vec<(String, String)> {
    if !options.is_object() {
        return Vec::new();
    }
    let num = |v: &Value| v.as_f64().map(super::text::num);
    let get = |path: &[&str]| path.iter().try_fold(options, |v, k| v.get(*k));
    let hours = |path: &[&str]| get(path).and_then(num).map(|h| format!("{h} h"));
    let qty = |path: &[&str], unit: &str| get(path).and_then(num).map(|q| format!("{q} {unit}"));
    let text = |path: &[&str]| get(path).and_then(Value::as_str).map(str::to_owned);
    let basis = match text(&["significance_basis"]).as_deref() {
        Some("net_difference") => {
            Some("net difference between physical and recorded inventory".into())
        }
        Some("average_monthly_sales") => Some("average monthly sales".into()),
        other => other.map(str::to_owned),
    };
    let severities = get(&["severities"]).and_then(Value::as_object).map(|o| {
        if o.is_empty() {
            "none (each rule's own)".to_owned()
        } else {
            o.iter()
                .map(|(k, v)| format!("{k} → {}", v.as_str().unwrap_or("?")))
                .collect::<Vec<_>>()
                .join(", ")
        }
    });
    let rows: Vec<(&str, Option<String>, &str)> = vec![
        ("Facility time zone", text(&["timezone"]), "—"),
        ("Profile", text(&["profile"]), "built-in defaults"),
        (
            "Significance threshold",
            get(&["threshold_pct"]).and_then(num).map(|t| format!("{t} %")),
            "—",
        ),
        ("Significance basis", basis, "—"),
        ("Count tolerance, weight", qty(&["tolerance", "abs_g"], "g"), "—"),
        ("Count tolerance, volume", qty(&["tolerance", "abs_ml"], "ml"), "—"),
        ("Count tolerance, each", qty(&["tolerance", "abs_ea"], "ea"), "—"),
        (
            "Count tolerance, relative",
            get(&["tolerance", "rel"])
                .and_then(num)
                .map(|r| format!("{r} (fraction of the system quantity)")),
            "—",
        ),
        ("Late entry beyond", hours(&["lag", "late_hours"]), "—"),
        ("Late entry is high severity beyond", hours(&["lag", "high_hours"]), "—"),
        ("Recorded before it occurred by more than", hours(&["lag", "early_hours"]), "—"),
        ("Severity overrides", severities, "none (each rule's own)"),
        ("Count time for sheets without one (--counted-at)", text(&["counted_at"]), "not given"),
        ("XLSX worksheet (--sheet)", text(&["sheet"]), "the first with a count table"),
    ];
    let known = [
        "timezone",
        "profile",
        "threshold_pct",
        "significance_basis",
        "tolerance",
        "lag",
        "severities",
        "counted_at",
        "sheet",
    ];
    let mut out: Vec<(String, String)> = rows
        .into_iter()
        .map(|(k, v, dflt)| (k.to_owned(), v.unwrap_or_else(|| dflt.to_owned())))
        .collect();
    if let Some(o) = options.as_object() {
        for k in o.keys().filter(|k| !known.contains(&k.as_str())) {
            out.push((k.clone(), text_of(options, k).chars().take(200).collect()));
        }
    }
    out
}

fn run_of(m: &Value) -> Run {
    let options = m.get("options").cloned().unwrap_or(Value::Null);
    let command = match m.get("command") {
        Some(Value::Array(a)) => {
            a.iter().map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned)).collect()
        }
        Some(Value::String(s)) => vec![s.clone()],
        _ => Vec::new(),
    };
    let opts = options_in_words(&options);
    Run {
        has_manifest: !m.is_null(),
        run_id: text_of(m, "run_id"),
        tool: text_of(m, "tool"),
        version: text_of(m, "version"),
        started_at: text_of(m, "started_at"),
        finished_at: text_of(m, "finished_at"),
        command,
        timezone: text_of(&options, "timezone"),
        profile: text_of(&options, "profile"),
        threshold_pct: options.get("threshold_pct").and_then(Value::as_f64),
        basis: text_of(&options, "significance_basis"),
        options: opts,
        rerun: text_of(m, "rerun"),
    }
}

fn array<'a>(m: &'a Value, key: &str) -> impl Iterator<Item = &'a Value> {
    m.get(key).and_then(Value::as_array).into_iter().flatten()
}

fn inputs_of(m: &Value) -> Vec<Input> {
    array(m, "inputs")
        .map(|v| Input {
            path: text_of(v, "path"),
            kind: text_of(v, "kind"),
            license: text_of(v, "license"),
            sha256: text_of(v, "sha256"),
            bytes: u64_of(v, "bytes"),
            rows_in: u64_of(v, "rows_in"),
            rows_accepted: u64_of(v, "rows_accepted"),
            rows_rejected: u64_of(v, "rows_rejected"),
            read_as: text_of(v, "read_as"),
        })
        .collect()
}

fn rules_of(m: &Value) -> Vec<Rule> {
    let mut v: Vec<Rule> = array(m, "rules")
        .map(|v| Rule {
            id: text_of(v, "id"),
            family: text_of(v, "family"),
            severity: text_of(v, "severity"),
            citation: text_of(v, "citation"),
            description: text_of(v, "description"),
            source: text_of(v, "source"),
            sha256: text_of(v, "sha256"),
        })
        .collect();
    v.sort_by(|a, b| a.id.cmp(&b.id));
    v
}

/// The outputs of the manifest but the reports themselves, which the report cannot describe
/// before it is written (and would otherwise differ between a first and a second run).
fn outputs_of(m: &Value) -> Vec<Output> {
    array(m, "outputs")
        .map(|v| Output { path: text_of(v, "path"), rows: u64_of(v, "rows") })
        .filter(|o| {
            ![out::REPORT_HTML, out::REPORT_MD, out::FINDINGS_XLSX].contains(&o.path.as_str())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn has(cols: &[(&str, &str)], name: &str) -> bool {
        cols.iter().any(|(n, _)| *n == name)
    }

    #[test]
    fn report_column_names_match_schema() {
        for n in [
            c::RUN_ID,
            c::RULE_ID,
            c::FAMILY,
            c::SEVERITY,
            c::LICENSE,
            c::PACKAGE_LABEL,
            c::RELATED_LABEL,
            c::REFERENCE,
            c::OCCURRED_AT,
            c::RECORDED_AT,
            c::LAG_HOURS,
            c::SYSTEM_QUANTITY,
            c::COUNTED_QUANTITY,
            c::VARIANCE,
            c::UNIT,
            c::DETAIL,
            c::CITATION,
            c::SOURCE_FILE,
        ] {
            assert!(has(schema::FINDINGS_COLUMNS, n), "findings column {n}");
        }
        for n in [
            c::LICENSE,
            c::KIND,
            c::RULE_ID,
            c::FAMILY,
            c::QUANTITY_TYPE,
            c::UNIT,
            c::SYSTEM_TOTAL,
            c::COUNTED_TOTAL,
            c::VARIANCE,
            c::VARIANCE_PCT,
            c::SIGNIFICANT,
        ] {
            assert!(has(schema::SUMMARY_COLUMNS, n), "summary column {n}");
        }
        for n in [c::SOURCE_FILE, c::RECORD, c::COLUMN, c::REASON, c::RAW] {
            assert!(has(schema::REJECTS_COLUMNS, n), "rejects column {n}");
        }
        let packages = schema::layout(schema::PACKAGES);
        for n in [c::LICENSE, c::LABEL, c::ITEM_NAME, c::CATEGORY, c::LOCATION] {
            assert!(has(packages, n), "packages column {n}");
        }
    }

    #[test]
    fn report_severity_order_is_worst_first() {
        assert_eq!(severity_slot("critical"), 0);
        assert_eq!(severity_slot("info"), 4);
        assert_eq!(severity_slot("bogus"), OTHER);
        assert_eq!(severity_slot("Critical"), OTHER, "as findings.parquet holds it");
        assert_eq!(worst(&[0, 0, 3, 1, 0, 0]), 2);
        assert_eq!(
            family_order(["zeta", "record", "count"].into_iter()),
            ["count", "record", "zeta"]
        );
    }
}
