//! Rule fixtures: `tests/fixtures/rules/<case>/` holds a tiny export (and counts) and a
//! `case.toml` listing, per rule id, the exact findings expected. Every SPEC rule has a
//! `<rule>.fires` case and a `<rule>.quiet` twin that differs by one fact; `trap.*` cases
//! pin the semantics that are easy to get wrong (as-of rollback, DST, date-only ends...).

use std::collections::BTreeMap;
use std::path::Path;

use polars::prelude::DataType;
use rayon::prelude::*;

use crate::common::{f, fixture, read, run_pipeline_with, s};

/// Every rule id of SPEC section 3.
pub const SPEC_RULES: [&str; 24] = [
    "count.missing_in_system",
    "count.missing_on_premises",
    "count.quantity_mismatch",
    "count.unit_incompatible",
    "count.duplicate_count",
    "count.significant_discrepancy",
    "lag.late_entry",
    "lag.recorded_before_occurred",
    "lineage.orphan_source",
    "lineage.cycle",
    "lineage.child_before_parent",
    "lineage.overdrawn_source",
    "lineage.missing_production_batch",
    "lineage.unneeded_production_batch",
    "lineage.missing_batch_number",
    "lineage.untested_sale",
    "transfer.accepted_quantity_mismatch",
    "record.adjustment_without_note",
    "record.duplicate_package",
    "count.reconciliation_overdue",
    "record.unauthorized_user",
    "lag.late_after_outage",
    "transfer.during_outage",
    "record.outage_undocumented",
];

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    description: String,
    /// Options of the run besides the inputs (`--as-of …`); `users.csv` and `outages.csv`
    /// beside `case.toml` are given as `--users` and `--outages`.
    #[serde(default)]
    args: Vec<String>,
    expect: BTreeMap<String, Vec<Want>>,
    /// Rows of `summary.parquet` (kind `quantity`) the case pins.
    #[serde(default)]
    summary: Vec<TotalsWant>,
    /// Count coverage rows of `summary.parquet` (kind `coverage`) the case pins.
    #[serde(default)]
    coverage: Vec<CoverageWant>,
}

/// One license's count coverage: `checked`, `not_determined` or `not_checked`, with its
/// count rows, how many were rejected and the export files its counts lacked (absent: none).
/// `outages` and `outage_excused` (its outages, the late entries they excused), `overdue_status`,
/// `users_status` and `outages_status` (whether the 30-day cadence, the users list and the
/// outages were judged) and `counted_date` (its latest known count) are compared when given.
#[derive(serde::Deserialize, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
struct CoverageWant {
    license: String,
    count_status: String,
    count_rows: i64,
    count_rows_rejected: i64,
    #[serde(default)]
    count_lacks: Option<String>,
    #[serde(default)]
    outages: Option<i64>,
    #[serde(default)]
    outage_excused: Option<i64>,
    #[serde(default)]
    overdue_status: Option<String>,
    #[serde(default)]
    users_status: Option<String>,
    #[serde(default)]
    outages_status: Option<String>,
    /// The local date of the latest known count (`YYYY-MM-DD`).
    #[serde(default)]
    counted_date: Option<String>,
}

/// One license × quantity type row of the summary: its totals and verdict. Totals are
/// compared to 1e-12 (relative): the sums are exact, so a scale or rounding change in
/// them shows here even when it is far below every tolerance.
#[derive(serde::Deserialize, Debug)]
#[serde(deny_unknown_fields)]
struct TotalsWant {
    license: String,
    quantity_type: String,
    unit: Option<String>,
    system_total: Option<f64>,
    counted_total: Option<f64>,
    variance: Option<f64>,
    variance_pct: Option<f64>,
    basis_total: Option<f64>,
    /// `significant`, `not significant` or `not determined`.
    verdict: Option<String>,
}

/// Run a case's pipeline into `out`: its export, its `counts/`, and its `profile.toml`,
/// `users.csv` and `outages.csv` when present.
fn run_case(dir: &Path, args: &[String], out: &Path) {
    let counts = dir.join("counts");
    let mut extra: Vec<String> = args.to_vec();
    for (flag, file) in
        [("--profile", "profile.toml"), ("--users", "users.csv"), ("--outages", "outages.csv")]
    {
        if dir.join(file).is_file() {
            extra.push(flag.to_owned());
            extra.push(dir.join(file).display().to_string());
        }
    }
    let extra: Vec<&str> = extra.iter().map(String::as_str).collect();
    run_pipeline_with(
        &dir.join("export"),
        counts.is_dir().then_some(counts.as_path()),
        out,
        &extra,
    );
}

/// One expected finding: `"LICENSE/label"` (or `"LICENSE"` for license-level findings), or an
/// inline table that also pins the finding's severity and quantities, e.g.
/// `{ key = "L/1A4…", severity = "high", lag_hours = 72.5 }`. A field left out is not checked;
/// a mutated rule that keeps the key but changes a decision shows up in these.
#[derive(serde::Deserialize, Clone)]
#[serde(untagged)]
enum Want {
    Key(String),
    Pinned(Box<Pinned>),
}

#[derive(serde::Deserialize, Clone, Debug)]
#[serde(deny_unknown_fields)]
struct Pinned {
    key: String,
    severity: Option<String>,
    system: Option<f64>,
    counted: Option<f64>,
    variance: Option<f64>,
    lag_hours: Option<f64>,
    /// The related package label (a cycle's next package, a child's source).
    related: Option<String>,
    /// The base unit (`g`, `ea`, `ml`).
    unit: Option<String>,
    /// The input file the finding points at (which copy of a record was judged).
    source_file: Option<String>,
    /// The reference (a manifest, a user name, the dates of a count gap).
    reference: Option<String>,
    /// Words the detail must hold (where the wording is the verdict, e.g. why a user is
    /// not authorised).
    detail_contains: Option<String>,
}

impl Want {
    fn key(&self) -> &str {
        match self {
            Want::Key(k) => k,
            Want::Pinned(p) => &p.key,
        }
    }
}

/// The columns of a finding that a `Pinned` expectation can check.
struct Found {
    rule: String,
    key: String,
    severity: String,
    system: Option<f64>,
    counted: Option<f64>,
    variance: Option<f64>,
    lag_hours: Option<f64>,
    related: Option<String>,
    unit: Option<String>,
    source_file: Option<String>,
    reference: Option<String>,
    detail: String,
}

impl Found {
    /// Problems with the pinned fields (values within 1e-6: hours and grams are printed
    /// with at most a few decimals).
    fn mismatches(&self, want: &Pinned) -> Vec<String> {
        let mut bad = Vec::new();
        if let Some(sev) = &want.severity
            && sev != &self.severity
        {
            bad.push(format!("severity {} (want {sev})", self.severity));
        }
        for (name, want, have) in [
            ("related", &want.related, &self.related),
            ("unit", &want.unit, &self.unit),
            ("source_file", &want.source_file, &self.source_file),
        ] {
            if let Some(w) = want
                && Some(w) != have.as_ref()
            {
                bad.push(format!("{name} {have:?} (want {w})"));
            }
        }
        if let Some(r) = &want.reference
            && Some(r) != self.reference.as_ref()
        {
            bad.push(format!("reference {:?} (want {r})", self.reference));
        }
        if let Some(d) = &want.detail_contains
            && !self.detail.contains(d.as_str())
        {
            bad.push(format!("detail {:?} (want it to hold {d:?})", self.detail));
        }
        for (name, want, have) in [
            ("system", want.system, self.system),
            ("counted", want.counted, self.counted),
            ("variance", want.variance, self.variance),
            ("lag_hours", want.lag_hours, self.lag_hours),
        ] {
            if let Some(w) = want
                && !have.is_some_and(|h| (h - w).abs() <= 1e-6)
            {
                bad.push(format!("{name} {have:?} (want {w})"));
            }
        }
        bad
    }
}

fn findings(out: &Path) -> Vec<Found> {
    let df = read(&out.join("findings.parquet"));
    let num = |col: &str, i: usize| df.column(col).unwrap().f64().unwrap().get(i);
    (0..df.height())
        .map(|i| {
            let (lic, label) =
                (s(&df, "license", i).unwrap(), s(&df, "package_label", i).unwrap_or_default());
            Found {
                rule: s(&df, "rule_id", i).unwrap(),
                key: if label.is_empty() { lic } else { format!("{lic}/{label}") },
                severity: s(&df, "severity", i).unwrap(),
                system: num("system_quantity", i),
                counted: num("counted_quantity", i),
                variance: num("variance", i),
                lag_hours: num("lag_hours", i),
                related: s(&df, "related_label", i),
                unit: s(&df, "unit", i),
                source_file: s(&df, "source_file", i),
                reference: s(&df, "reference", i),
                detail: s(&df, "detail", i).unwrap_or_default(),
            }
        })
        .collect()
}

fn cases() -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(fixture("rules"))
        .expect("tests/fixtures/rules exists")
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| fixture("rules").join(n).join("case.toml").is_file())
        .collect();
    v.sort();
    v
}

/// The summary's license × quantity-type rows, keyed by (license, quantity type).
fn totals(out: &Path) -> BTreeMap<(String, String), TotalsWant> {
    let df = read(&out.join("summary.parquet"));
    let mut rows = BTreeMap::new();
    for i in 0..df.height() {
        if s(&df, "kind", i).as_deref() != Some("quantity") {
            continue;
        }
        let significant = df.column("significant").unwrap().bool().unwrap().get(i);
        let row = TotalsWant {
            license: s(&df, "license", i).unwrap(),
            quantity_type: s(&df, "quantity_type", i).unwrap_or_default(),
            unit: s(&df, "unit", i),
            system_total: f(&df, "system_total", i),
            counted_total: f(&df, "counted_total", i),
            variance: f(&df, "variance", i),
            variance_pct: f(&df, "variance_pct", i),
            basis_total: f(&df, "basis_total", i),
            verdict: Some(
                match significant {
                    Some(true) => "significant",
                    Some(false) => "not significant",
                    None => "not determined",
                }
                .to_owned(),
            ),
        };
        let key = (row.license.clone(), row.quantity_type.clone());
        // One row per license and quantity type: a repeated key is a fan-out join.
        assert!(rows.insert(key.clone(), row).is_none(), "summary: {key:?} has more than one row");
    }
    rows
}

/// Problems with the pinned coverage rows.
fn coverage_mismatches(out: &Path, want: &[CoverageWant]) -> Vec<String> {
    let df = read(&out.join("summary.parquet"));
    let int = |c: &str, i: usize| df.column(c).unwrap().i64().unwrap().get(i).unwrap_or(-1);
    let dates = df.column("counted_date").unwrap().cast(&DataType::String).unwrap();
    let have: Vec<CoverageWant> = (0..df.height())
        .filter(|&i| s(&df, "kind", i).as_deref() == Some("coverage"))
        .map(|i| CoverageWant {
            license: s(&df, "license", i).unwrap(),
            count_status: s(&df, "count_status", i).unwrap_or_default(),
            count_rows: int("count_rows", i),
            count_rows_rejected: int("count_rows_rejected", i),
            count_lacks: s(&df, "count_lacks", i),
            outages: df.column("outages").unwrap().i64().unwrap().get(i),
            outage_excused: df.column("outage_excused").unwrap().i64().unwrap().get(i),
            overdue_status: s(&df, "overdue_status", i),
            users_status: s(&df, "users_status", i),
            outages_status: s(&df, "outages_status", i),
            counted_date: dates.str().unwrap().get(i).map(str::to_owned),
        })
        .collect();
    let matches = |w: &CoverageWant, h: &CoverageWant| {
        (&w.license, &w.count_status, w.count_rows, w.count_rows_rejected, &w.count_lacks)
            == (&h.license, &h.count_status, h.count_rows, h.count_rows_rejected, &h.count_lacks)
            && w.outages.is_none_or(|n| h.outages == Some(n))
            && w.outage_excused.is_none_or(|n| h.outage_excused == Some(n))
            && w.overdue_status.as_ref().is_none_or(|v| h.overdue_status.as_ref() == Some(v))
            && w.users_status.as_ref().is_none_or(|v| h.users_status.as_ref() == Some(v))
            && w.outages_status.as_ref().is_none_or(|v| h.outages_status.as_ref() == Some(v))
            && w.counted_date.as_ref().is_none_or(|v| h.counted_date.as_ref() == Some(v))
    };
    // One coverage row per license, pinned or not: a join that repeats a license (one row
    // per known count, say) would double it in every report.
    let mut seen = std::collections::BTreeSet::new();
    let repeated = have
        .iter()
        .filter(|h| !seen.insert(h.license.clone()))
        .map(|h| format!("coverage: license {} has more than one row", h.license));
    let missing = want.iter().filter(|w| !have.iter().any(|h| matches(w, h))).map(|w| {
        let got = have.iter().find(|h| h.license == w.license);
        format!("coverage: want {w:?}, got {got:?}")
    });
    repeated.chain(missing).collect()
}

/// Problems with the pinned summary rows.
fn totals_mismatches(out: &Path, want: &[TotalsWant]) -> Vec<String> {
    let have = totals(out);
    // A total of unknown quantity type adds quantities no unit can name.
    let mut bad: Vec<String> = have
        .keys()
        .filter(|(_, qt)| qt.is_empty())
        .map(|(l, _)| format!("summary: a quantity row without a quantity type for {l}"))
        .collect();
    for w in want {
        let Some(h) = have.get(&(w.license.clone(), w.quantity_type.clone())) else {
            bad.push(format!("summary: no row for {} {}", w.license, w.quantity_type));
            continue;
        };
        for (name, want, have) in [("unit", &w.unit, &h.unit), ("verdict", &w.verdict, &h.verdict)]
        {
            if want.is_some() && want != have {
                bad.push(format!(
                    "summary {} {}: {name} {have:?} (want {want:?})",
                    w.license, w.quantity_type
                ));
            }
        }
        for (name, want, have) in [
            ("system_total", w.system_total, h.system_total),
            ("counted_total", w.counted_total, h.counted_total),
            ("variance", w.variance, h.variance),
            ("variance_pct", w.variance_pct, h.variance_pct),
            ("basis_total", w.basis_total, h.basis_total),
        ] {
            if let Some(x) = want
                && !have.is_some_and(|y| (x - y).abs() <= 1e-12 * x.abs().max(1.0))
            {
                bad.push(format!(
                    "summary {} {}: {name} {have:?} (want {x})",
                    w.license, w.quantity_type
                ));
            }
        }
    }
    bad
}

/// Run one case; the problems found, empty when it holds.
fn check_case(name: &str) -> Vec<String> {
    let dir = fixture("rules").join(name);
    let text = std::fs::read_to_string(dir.join("case.toml")).unwrap();
    let case: Case = toml::from_str(&text).unwrap_or_else(|e| panic!("{name}/case.toml: {e}"));
    let tmp = tempfile::tempdir().unwrap();
    run_case(&dir, &case.args, tmp.path());
    let got = findings(tmp.path());
    let mut problems: Vec<String> = totals_mismatches(tmp.path(), &case.summary)
        .into_iter()
        .chain(coverage_mismatches(tmp.path(), &case.coverage))
        .map(|p| format!("{name} ({}): {p}", case.description))
        .collect();
    for (rule, want) in &case.expect {
        let mine: Vec<&Found> = got.iter().filter(|f| &f.rule == rule).collect();
        let mut want_keys: Vec<&str> = want.iter().map(Want::key).collect();
        want_keys.sort_unstable();
        let mut have: Vec<&str> = mine.iter().map(|f| f.key.as_str()).collect();
        have.sort_unstable();
        if have != want_keys {
            problems.push(format!(
                "{name} ({}): {rule}\n    expected {want_keys:?}\n    got      {have:?}",
                case.description
            ));
            continue;
        }
        // Each pinned expectation matches a finding of its own with that key.
        let mut used = vec![false; mine.len()];
        for w in want.iter().filter_map(|w| if let Want::Pinned(p) = w { Some(p) } else { None }) {
            let candidates: Vec<usize> =
                (0..mine.len()).filter(|&i| !used[i] && mine[i].key == w.key).collect();
            match candidates.iter().find(|&&i| mine[i].mismatches(w).is_empty()) {
                Some(&i) => used[i] = true,
                None => problems.push(format!(
                    "{name} ({}): {rule} {}: {}",
                    case.description,
                    w.key,
                    candidates
                        .first()
                        .map_or_else(String::new, |&i| mine[i].mismatches(w).join(", "))
                )),
            }
        }
    }
    problems
}

fn assert_cases(filter: impl Fn(&str) -> bool) {
    let names: Vec<String> = cases().into_iter().filter(|n| filter(n)).collect();
    assert!(!names.is_empty(), "no rule fixtures matched");
    let problems: Vec<String> = names.par_iter().flat_map(|n| check_case(n)).collect();
    assert!(problems.is_empty(), "{} case(s) failed:\n{}", problems.len(), problems.join("\n"));
}

#[test]
fn rules_every_spec_rule_has_a_firing_case_and_a_quiet_twin() {
    let names = cases();
    for rule in SPEC_RULES {
        for suffix in ["fires", "quiet"] {
            let case = format!("{rule}.{suffix}");
            assert!(names.contains(&case), "missing fixture tests/fixtures/rules/{case}");
            let text =
                std::fs::read_to_string(fixture("rules").join(&case).join("case.toml")).unwrap();
            let parsed: Case = toml::from_str(&text).unwrap();
            let want =
                parsed.expect.get(rule).unwrap_or_else(|| panic!("{case} does not list {rule}"));
            // The firing case pins the severity of every finding it expects.
            if suffix == "fires" {
                for w in want {
                    assert!(
                        matches!(w, Want::Pinned(p) if p.severity.is_some()),
                        "{case}: {} should pin its severity",
                        w.key()
                    );
                }
            }
            assert_eq!(suffix == "fires", !want.is_empty(), "{case}: wrong expectation for {rule}");
        }
    }
}

/// The default severity of every SPEC rule, as SPEC section 3 gives it (`lag.late_entry`'s
/// rows say `high` beyond 72 h themselves; its default is still `medium`).
const SPEC_SEVERITIES: [(&str, &str); 24] = [
    ("count.missing_in_system", "high"),
    ("count.missing_on_premises", "high"),
    ("count.quantity_mismatch", "medium"),
    ("count.unit_incompatible", "medium"),
    ("count.duplicate_count", "low"),
    ("count.significant_discrepancy", "critical"),
    ("lag.late_entry", "medium"),
    ("lag.recorded_before_occurred", "low"),
    ("lineage.orphan_source", "high"),
    ("lineage.cycle", "critical"),
    ("lineage.child_before_parent", "medium"),
    ("lineage.overdrawn_source", "high"),
    ("lineage.missing_production_batch", "medium"),
    ("lineage.unneeded_production_batch", "low"),
    ("lineage.missing_batch_number", "medium"),
    ("lineage.untested_sale", "critical"),
    ("transfer.accepted_quantity_mismatch", "high"),
    ("record.adjustment_without_note", "low"),
    ("record.duplicate_package", "high"),
    ("count.reconciliation_overdue", "high"),
    ("record.unauthorized_user", "high"),
    ("lag.late_after_outage", "medium"),
    ("transfer.during_outage", "high"),
    ("record.outage_undocumented", "low"),
];

/// `tagtrail rules` (and so the manifest and report) lists SPEC's default severities; a
/// rule whose rows set their own severity is not covered by its fixtures' findings.
#[test]
fn rules_listed_severities_match_spec() {
    let out = crate::common::run_expect(&["rules"], 0);
    let text = String::from_utf8(out.stdout).unwrap();
    let listed: BTreeMap<&str, &str> = text
        .lines()
        .skip(1)
        .filter_map(|l| {
            let mut cols = l.split('\t');
            Some((cols.next()?, cols.nth(1)?))
        })
        .collect();
    for (rule, severity) in SPEC_SEVERITIES {
        assert_eq!(listed.get(rule), Some(&severity), "tagtrail rules: {rule}\n{text}");
    }
    assert_eq!(SPEC_SEVERITIES.map(|(r, _)| r), SPEC_RULES);
}

#[test]
fn rules_count_family_fixtures() {
    assert_cases(|n| n.starts_with("count."));
}

#[test]
fn rules_lag_family_fixtures() {
    assert_cases(|n| n.starts_with("lag."));
}

#[test]
fn rules_lineage_and_record_fixtures() {
    assert_cases(|n| {
        n.starts_with("lineage.") || n.starts_with("transfer.") || n.starts_with("record.")
    });
}

#[test]
fn rules_traps() {
    assert_cases(|n| n.starts_with("trap."));
}

/// Every case, stopping at the first that fails: the SQL mutation runner's stage
/// (`tests/mutants/run.py`), where a killed mutant then costs only the cases run until one
/// fails. The family tests above run the same cases and report every problem.
#[test]
#[ignore = "the mutation runner's fail-fast stage; the family tests run the same cases"]
fn rules_any_case_fails_fast() {
    // The runner names the mutated rule (or, for a view, the rules reading it): their own
    // cases run first, where a wrong rule is most often caught, so a killed mutant costs a
    // few cases rather than all of them. Every case still runs before a mutant survives.
    let rules = std::env::var("TAGTRAIL_MUTANT_RULE").unwrap_or_default();
    let own =
        |n: &String| rules.split(',').any(|r| !r.is_empty() && n.starts_with(&format!("{r}.")));
    let (first, rest): (Vec<String>, Vec<String>) = cases().into_iter().partition(own);
    let fail = |group: &[String]| {
        group.par_iter().find_map_any(|n| {
            let problems = check_case(n);
            (!problems.is_empty()).then(|| problems.join("\n"))
        })
    };
    let failed = fail(&first).or_else(|| fail(&rest));
    assert!(failed.is_none(), "{}", failed.unwrap_or_default());
}

#[test]
fn rules_fixture_folders_are_well_formed() {
    for name in cases() {
        let dir = fixture("rules").join(&name);
        assert!(dir.join("export").is_dir(), "{name}: no export/");
        assert!(Path::new(&dir).join("case.toml").is_file());
    }
}

/// Not a check: prints every case's findings as pinned expectations (TOML), to review
/// against SPEC before pasting into a `case.toml` — pinning what the code does without
/// reading it would pin its bugs too.
/// `TAGTRAIL_BIN=… target/release/deps/it-<hash> rules_print_pinned --ignored --nocapture`
#[test]
#[ignore = "a tool for writing fixtures"]
#[allow(clippy::print_stdout, reason = "the draft expectations are its output")]
fn rules_print_pinned_expectations() {
    for name in cases() {
        let dir = fixture("rules").join(&name);
        let tmp = tempfile::tempdir().unwrap();
        let text = std::fs::read_to_string(dir.join("case.toml")).unwrap();
        let case: Case = toml::from_str(&text).unwrap();
        run_case(&dir, &case.args, tmp.path());
        let mut got = findings(tmp.path());
        got.sort_by(|a, b| (&a.rule, &a.key).cmp(&(&b.rule, &b.key)));
        println!("## {name}");
        for f in got {
            let mut fields = format!("key = \"{}\", severity = \"{}\"", f.key, f.severity);
            if let Some(r) = &f.reference {
                fields.push_str(&format!(", reference = {r:?}"));
            }
            for (n, v) in [
                ("system", f.system),
                ("counted", f.counted),
                ("variance", f.variance),
                ("lag_hours", f.lag_hours),
            ] {
                if let Some(v) = v {
                    fields.push_str(&format!(", {n} = {:?}", (v * 1e6).round() / 1e6));
                }
            }
            println!("{} {{ {fields} }}", f.rule);
        }
        for r in totals(tmp.path()).values() {
            println!("summary {r:?}");
        }
    }
}
