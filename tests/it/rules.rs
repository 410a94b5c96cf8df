//! Rule fixtures: `tests/fixtures/rules/<case>/` holds a tiny export (and counts) and a
//! `case.toml` listing, per rule id, the exact findings expected. Every SPEC rule has a
//! `<rule>.fires` case and a `<rule>.quiet` twin that differs by one fact; `trap.*` cases
//! pin the semantics that are easy to get wrong (as-of rollback, DST, date-only ends...).

use std::collections::BTreeMap;
use std::path::Path;

use rayon::prelude::*;

use crate::common::{finding_keys, fixture, run_pipeline};

/// Every rule id of SPEC section 3.
pub const SPEC_RULES: [&str; 19] = [
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
];

#[derive(serde::Deserialize)]
struct Case {
    description: String,
    expect: BTreeMap<String, Vec<String>>,
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

/// Run one case; the problems found, empty when it holds.
fn check_case(name: &str) -> Vec<String> {
    let dir = fixture("rules").join(name);
    let text = std::fs::read_to_string(dir.join("case.toml")).unwrap();
    let case: Case = toml::from_str(&text).unwrap_or_else(|e| panic!("{name}/case.toml: {e}"));
    let tmp = tempfile::tempdir().unwrap();
    let counts = dir.join("counts");
    let counts = counts.is_dir().then_some(counts);
    run_pipeline(&dir.join("export"), counts.as_deref(), tmp.path());
    let got = finding_keys(tmp.path());
    let mut problems = Vec::new();
    for (rule, want) in &case.expect {
        let mut want: Vec<String> = want.clone();
        want.sort();
        let mut have: Vec<String> = got
            .iter()
            .filter(|((r, _, _), _)| r == rule)
            .flat_map(|((_, lic, label), n)| {
                let key = if label.is_empty() { lic.clone() } else { format!("{lic}/{label}") };
                std::iter::repeat_n(key, *n)
            })
            .collect();
        have.sort();
        if have != want {
            problems.push(format!(
                "{name} ({}): {rule}\n    expected {want:?}\n    got      {have:?}",
                case.description
            ));
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
            assert_eq!(suffix == "fires", !want.is_empty(), "{case}: wrong expectation for {rule}");
        }
    }
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

#[test]
fn rules_fixture_folders_are_well_formed() {
    for name in cases() {
        let dir = fixture("rules").join(&name);
        assert!(dir.join("export").is_dir(), "{name}: no export/");
        assert!(Path::new(&dir).join("case.toml").is_file());
    }
}
