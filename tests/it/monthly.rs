//! Monthly runs (SPEC 7): `--previous OUT_DIR` writes changes.parquet, each finding key
//! `new`, `recurring` (since the run it first appeared in) or `resolved`, carried along a
//! chain of runs; over a chain of months from `generate --months`, it equals the
//! generator's truth of each month's changes.

use std::collections::BTreeMap;
use std::path::Path;

use crate::common::{
    finding_keys_with_severity, generate, manifest, read, run_expect, s, truth_keys,
};

fn run(data: &Path, out: &Path, extra: &[&str]) {
    crate::common::run_pipeline_with(&data.join("export"), Some(&data.join("counts")), out, extra);
}

/// status → keys, and key → (first_seen_run_id, first_seen_at).
type Changes = (BTreeMap<String, Vec<String>>, BTreeMap<String, (String, i64)>);

fn changes(out: &Path) -> Changes {
    let df = read(&out.join("changes.parquet"));
    let at = df.column("first_seen_at").unwrap().cast(&polars::prelude::DataType::Int64).unwrap();
    let at = at.i64().unwrap();
    let (mut by_status, mut first) = (BTreeMap::<String, Vec<String>>::new(), BTreeMap::new());
    for i in 0..df.height() {
        let key = s(&df, "finding_key", i).unwrap();
        by_status.entry(s(&df, "status", i).unwrap()).or_default().push(key.clone());
        first.insert(key, (s(&df, "first_seen_run_id", i).unwrap(), at.get(i).unwrap()));
    }
    (by_status, first)
}

/// When a result's run finished (µs since 1970, UTC).
fn finished(out: &Path) -> i64 {
    let t = manifest(out)["finished_at"].as_str().unwrap().to_owned();
    chrono::DateTime::parse_from_rfc3339(&t).unwrap().timestamp_micros()
}

/// finding_key → rule_id of a result's findings.
fn keys(out: &Path) -> BTreeMap<String, String> {
    let df = read(&out.join("findings.parquet"));
    (0..df.height())
        .map(|i| (s(&df, "finding_key", i).unwrap(), s(&df, "rule_id", i).unwrap()))
        .collect()
}

fn run_id(out: &Path) -> String {
    manifest(out)["run_id"].as_str().unwrap().to_owned()
}

#[test]
fn monthly_previous_gives_new_recurring_and_resolved_along_a_chain() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    generate(&data, 2, 800, 3, "json");
    let out = |n: &str| tmp.path().join(n);

    // Without --previous nothing changes: no changes.parquet, no link to one.
    run(&data, &out("a"), &[]);
    assert!(std::fs::symlink_metadata(out("a").join("changes.parquet")).is_err());

    // The same inputs again: every finding recurring since run a, none new or resolved.
    run(&data, &out("b"), &["--previous", out("a").to_str().unwrap()]);
    let (st, first) = changes(&out("b"));
    let all = keys(&out("b"));
    assert_eq!(st.get("recurring").map_or(0, Vec::len), all.len());
    assert!(!st.contains_key("new") && !st.contains_key("resolved"), "{:?}", st.keys());
    let since_a = (run_id(&out("a")), finished(&out("a")));
    assert!(first.values().all(|f| *f == since_a));

    // A limit of 1000 h for late entries: those findings are resolved (first seen in a).
    let profile = tmp.path().join("late.toml");
    std::fs::write(&profile, "[lag]\nlate_hours = 1000\nhigh_hours = 2000\n").unwrap();
    let p = profile.to_str().unwrap();
    run(&data, &out("c"), &["--previous", out("b").to_str().unwrap(), "--profile", p]);
    let late: Vec<&String> =
        all.iter().filter(|(_, r)| *r == "lag.late_entry").map(|(k, _)| k).collect();
    assert!(!late.is_empty(), "the generator plants late entries");
    let (st, first) = changes(&out("c"));
    let mut resolved = st.get("resolved").cloned().unwrap_or_default();
    resolved.sort();
    let mut want: Vec<String> = late.iter().map(|k| (*k).clone()).collect();
    want.sort();
    assert_eq!(resolved, want);
    assert!(want.iter().all(|k| first[k] == since_a), "first seen in run a");
    assert!(!st.contains_key("new"));

    // Back to 24 h: they are new again (first seen in d); the rest still date from run a.
    run(&data, &out("d"), &["--previous", out("c").to_str().unwrap()]);
    let (st, first) = changes(&out("d"));
    let st_d = st.clone();
    let mut new = st.get("new").cloned().unwrap_or_default();
    new.sort();
    assert_eq!(new, want);
    let c_done = finished(&out("c"));
    assert!(new.iter().all(|k| first[k].0 == run_id(&out("d")) && first[k].1 > c_done));
    let recurring = &st["recurring"];
    assert_eq!(recurring.len(), all.len() - want.len());
    assert!(recurring.iter().all(|k| first[k] == since_a), "carried along the chain");
    assert!(!st.contains_key("resolved"));

    // The report opens with the change.
    let md = std::fs::read_to_string(out("d").join("report.md")).unwrap();
    let line = md.lines().find(|l| l.contains("Since the run of")).expect("the change line");
    assert!(line.contains(&format!("{} new", want.len())) && line.contains("0 resolved"), "{line}");
    assert!(line.contains(&format!("{} recurring", all.len() - want.len())), "{line}");
    let html = std::fs::read_to_string(out("d").join("report.html")).unwrap();
    assert!(html.find("id=\"changes\"").unwrap() < html.find("Findings by license").unwrap());
    // critical findings already there last time say since when
    assert!(md.contains("critical (recurring since "), "recurring criticals are marked");
    assert!(html.contains("class=\"recurring\">recurring since "));
    let plain = std::fs::read_to_string(out("a").join("report.md")).unwrap();
    assert!(!plain.contains("recurring since"));
    assert!(!plain.contains("Since the run of"));

    // findings.xlsx says each finding's change, beside the finding.
    let sheet = |o: &Path| -> Vec<Vec<String>> {
        use calamine::{Reader, Xlsx};
        let mut book: Xlsx<_> = calamine::open_workbook(o.join("findings.xlsx")).unwrap();
        let range = book.worksheet_range("Findings").unwrap();
        range.rows().map(|r| r.iter().map(ToString::to_string).collect()).collect()
    };
    let rows = sheet(&out("d"));
    let col = rows[0].iter().position(|h| h == "Change since the previous run").expect("column");
    let new_rows = rows[1..].iter().filter(|r| r[col] == "new").count();
    assert_eq!(new_rows, want.len());
    assert_eq!(rows[1..].iter().filter(|r| r[col] == "recurring").count(), all.len() - want.len());
    assert!(!sheet(&out("a"))[0].iter().any(|h| h.starts_with("Change")));

    // The trend holds each license's totals per quantity type in every run, oldest first.
    assert!(std::fs::symlink_metadata(out("a").join("trend.parquet")).is_err());
    let t = read(&out("d").join("trend.parquet"));
    let summary = read(&out("a").join("summary.parquet"));
    let per_run = (0..summary.height())
        .filter(|&i| s(&summary, "kind", i).as_deref() == Some("quantity"))
        .count();
    assert!(per_run > 0);
    assert_eq!(t.height(), 4 * per_run, "runs a, b, c and d");
    let runs: Vec<String> =
        (0..t.height()).step_by(per_run).map(|i| s(&t, "run_id", i).unwrap()).collect();
    let want: Vec<String> = ["a", "b", "c", "d"].iter().map(|n| run_id(&out(n))).collect();
    assert_eq!(runs, want);
    let pct = t.column("variance_pct").unwrap().f64().unwrap();
    let first: Vec<Option<f64>> = (0..per_run).map(|i| pct.get(i)).collect();
    let last: Vec<Option<f64>> = (3 * per_run..4 * per_run).map(|i| pct.get(i)).collect();
    assert_eq!(first, last, "the same counts give the same variance in every run");

    // `tagtrail report` again on that OUT keeps the change and the trend it reports on.
    let md_before = std::fs::read_to_string(out("d").join("report.md")).unwrap();
    run_expect(&["report", "--quiet", "--out", out("d").to_str().unwrap()], 0);
    assert_eq!(changes(&out("d")).0, st_d, "changes.parquet kept");
    assert_eq!(read(&out("d").join("trend.parquet")).height(), 4 * per_run, "trend kept");
    let md_after = std::fs::read_to_string(out("d").join("report.md")).unwrap();
    let change_line =
        |md: &str| md.lines().find(|l| l.contains("Since the run of")).map(str::to_owned);
    assert_eq!(change_line(&md_after), change_line(&md_before));
    assert!(change_line(&md_after).is_some());
}

/// (rule, license, label, status) → rows, of changes.parquet (a missing label as empty).
fn change_rows(out: &Path) -> BTreeMap<(String, String, String, String), usize> {
    let df = read(&out.join("changes.parquet"));
    let mut m = BTreeMap::new();
    for i in 0..df.height() {
        let key = (
            s(&df, "rule_id", i).unwrap(),
            s(&df, "license", i).unwrap(),
            s(&df, "package_label", i).unwrap_or_default(),
            s(&df, "status", i).unwrap(),
        );
        *m.entry(key).or_insert(0) += 1;
    }
    m
}

/// The same of a month's changes_truth.csv.
fn changes_truth(month: &Path) -> BTreeMap<(String, String, String, String), usize> {
    let text = std::fs::read_to_string(month.join("changes_truth.csv")).expect("changes_truth");
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("rule_id,license,package_label,status"));
    let mut m = BTreeMap::new();
    for line in lines {
        let f: Vec<&str> = line.split(',').collect();
        assert_eq!(f.len(), 4, "{line}");
        let key = (f[0].to_owned(), f[1].to_owned(), f[2].to_owned(), f[3].to_owned());
        *m.entry(key).or_insert(0) += 1;
    }
    m
}

#[test]
fn monthly_generated_chain_changes_equal_the_truth() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("chain");
    let d = data.to_str().unwrap();
    run_expect(
        &[
            "generate",
            "--quiet",
            "--out",
            d,
            "--licenses",
            "6",
            "--packages",
            "4000",
            "--seed",
            "5",
            "--months",
            "3",
            "--changed-licenses",
            "2",
        ],
        0,
    );
    let month = |m: usize| data.join(format!("month-{m:02}"));
    let out = |m: usize| tmp.path().join(format!("out-{m}"));
    run(&month(1), &out(1), &[]);
    assert_eq!(finding_keys_with_severity(&out(1)), truth_keys(&month(1)));
    for m in 2..=3 {
        run(&month(m), &out(m), &["--previous", out(m - 1).to_str().unwrap()]);
        assert_eq!(finding_keys_with_severity(&out(m)), truth_keys(&month(m)), "month {m}");
        let want = changes_truth(&month(m));
        for status in ["new", "recurring", "resolved"] {
            assert!(want.keys().any(|k| k.3 == status), "month {m} has {status} findings");
        }
        assert_eq!(change_rows(&out(m)), want, "month {m}: changes.parquet = changes_truth.csv");
    }
    // what recurs in month 3 and was there in month 1 was first seen in month 1's run
    let (st3, first3) = changes(&out(3));
    let (st2, _) = changes(&out(2));
    let since_1 = (run_id(&out(1)), finished(&out(1)));
    let both: Vec<&String> =
        st3["recurring"].iter().filter(|k| st2["recurring"].contains(k)).collect();
    assert!(!both.is_empty());
    assert!(both.iter().all(|k| first3[*k] == since_1), "carried along the chain");

    // month 3 again, compared with its own result: nothing new, nothing resolved
    let all = keys(&out(3)).len();
    run(&month(3), &out(3), &["--previous", out(3).to_str().unwrap()]);
    let (st, _) = changes(&out(3));
    assert!(!st.contains_key("new") && !st.contains_key("resolved"), "{:?}", st.keys());
    assert_eq!(st["recurring"].len(), all);
}
