//! Generated data against its own truth: `tagtrail generate` plants an anomaly for every
//! rule and writes `truth.csv`; the findings must equal it exactly, and the only rejects
//! are the ones it planted (`expected_rejects.csv`).

use std::collections::BTreeMap;

use crate::common::{finding_keys_with_severity, read, run_pipeline, s, truth_keys};
use crate::rules::SPEC_RULES;

/// The reconciliation duties (SPEC 3): planted only with `generate --duties` (the default
/// data set stays as the benchmarks and peers know it); without it they are held to "no
/// finding" by the truth comparison.
const NOT_PLANTED: [&str; 5] = [
    "count.reconciliation_overdue",
    "record.unauthorized_user",
    "lag.late_after_outage",
    "transfer.during_outage",
    "record.outage_undocumented",
];

type Keys = BTreeMap<(String, String, String, String), usize>;

fn per_rule(keys: &Keys) -> BTreeMap<&str, usize> {
    let mut m = BTreeMap::new();
    for ((rule, _, _, _), n) in keys {
        *m.entry(rule.as_str()).or_insert(0) += n;
    }
    m
}

fn generate_and_check(licenses: usize, packages: usize, seed: u64, format: &str) {
    check_generated(licenses, packages, seed, format, false);
}

/// `generate` (with `--duties`: the reconciliation duties planted, and the run given the
/// `users.csv` and `outages.csv` it wrote), then the findings against `truth.csv`.
fn check_generated(licenses: usize, packages: usize, seed: u64, format: &str, duties: bool) {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let out = tmp.path().join("out");
    if duties {
        let (l, p, sd) = (licenses.to_string(), packages.to_string(), seed.to_string());
        crate::common::run_expect(
            &[
                "generate",
                "--quiet",
                "--duties",
                "--out",
                data.to_str().unwrap(),
                "--licenses",
                &l,
                "--packages",
                &p,
                "--seed",
                &sd,
                "--format",
                format,
            ],
            0,
        );
        let (users, outages) = (data.join("users.csv"), data.join("outages.csv"));
        crate::common::run_pipeline_with(
            &data.join("export"),
            Some(&data.join("counts")),
            &out,
            &["--users", users.to_str().unwrap(), "--outages", outages.to_str().unwrap()],
        );
    } else {
        crate::common::generate(&data, licenses, packages, seed, format);
        run_pipeline(&data.join("export"), Some(&data.join("counts")), &out);
    }

    // Keys include the severity, so a rule that grades a finding wrongly fails here too.
    let want = truth_keys(&data);
    let got = finding_keys_with_severity(&out);
    // Every rule is planted at least once, so a rule that silently stops firing fails here.
    let planted = per_rule(&want);
    for rule in SPEC_RULES.iter().filter(|r| duties || !NOT_PLANTED.contains(r)) {
        assert!(planted.contains_key(rule), "seed {seed}: generator planted no {rule}");
    }
    if got != want {
        let missed: Vec<_> = want.iter().filter(|(k, n)| got.get(*k) != Some(n)).take(15).collect();
        let extra: Vec<_> = got.iter().filter(|(k, n)| want.get(*k) != Some(n)).take(15).collect();
        panic!(
            "seed {seed}: findings differ from truth.csv\nper rule (truth): {:?}\nper rule (found): \
             {:?}\nmissed (first 15): {missed:?}\nunplanted (first 15): {extra:?}",
            per_rule(&want),
            per_rule(&got)
        );
    }

    // Every finding has its own stable key.
    let f = read(&out.join("findings.parquet"));
    let keys = f.column("finding_key").unwrap().str().unwrap().clone();
    let distinct: std::collections::BTreeSet<&str> = keys.iter().flatten().collect();
    assert_eq!(distinct.len(), f.height(), "seed {seed}: finding keys are not unique");

    // Rejects: exactly the planted bad records.
    let text = std::fs::read_to_string(data.join("expected_rejects.csv")).unwrap();
    let mut want_rej: Vec<(String, i64, String)> = text
        .lines()
        .skip(1)
        .map(|l| {
            let mut it = l.splitn(4, ',');
            let file = it.next().unwrap().to_owned();
            let rec = it.next().unwrap().parse().unwrap();
            let column = it.next().unwrap().to_owned();
            (file, rec, column)
        })
        .collect();
    want_rej.sort();
    let rej = read(&out.join("rejects.parquet"));
    let mut got_rej: Vec<(String, i64, String)> = (0..rej.height())
        .map(|i| {
            (
                s(&rej, "source_file", i).unwrap(),
                rej.column("record").unwrap().i64().unwrap().get(i).unwrap(),
                s(&rej, "column", i).unwrap(),
            )
        })
        .collect();
    got_rej.sort();
    assert_eq!(got_rej, want_rej, "seed {seed}: rejects differ from expected_rejects.csv");
    assert!(!want_rej.is_empty(), "the generator plants bad records");

    // `events` has partitions for the export's licenses only (receipts by licenses outside
    // the export stay in the shippers' transfer_packages rows).
    let folders: std::collections::BTreeSet<String> = std::fs::read_dir(data.join("export"))
        .unwrap()
        .map(|e| format!("license={}", e.unwrap().file_name().to_string_lossy()))
        .collect();
    let recipients = crate::common::read_table(&out, "transfer_packages");
    let outside = recipients
        .column("recipient_license")
        .unwrap()
        .str()
        .unwrap()
        .iter()
        .flatten()
        .filter(|l| !folders.contains(&format!("license={l}")))
        .count();
    for e in std::fs::read_dir(out.join("lake").join("events")).unwrap() {
        let name = e.unwrap().file_name().to_string_lossy().into_owned();
        assert!(folders.contains(&name), "seed {seed}: events partition {name} outside the export");
    }
    if packages > 2_000 {
        assert!(outside > 0, "seed {seed}: the generator ships to licenses outside the export");
    }

    // Checked one license at a time (a 1 MB batch budget), the findings and the summary
    // are the same rows as checked all at once.
    let whole = read(&out.join("findings.parquet"));
    let whole_summary = read(&out.join("summary.parquet"));
    let o = crate::common::tagtrail()
        .args(["check", "--quiet", "--batch-mb", "1", "--out"])
        .arg(&out)
        .env("TAGTRAIL_TIMING", "1")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let stderr = String::from_utf8_lossy(&o.stderr);
    if packages > 2_000 {
        assert!(stderr.contains("batch 2/"), "seed {seed}: one batch only\n{stderr}");
    }
    same_rows(&read(&out.join("findings.parquet")), &whole, &format!("seed {seed}: findings"));
    same_rows(
        &read(&out.join("summary.parquet")),
        &whole_summary,
        &format!("seed {seed}: summary"),
    );
}

/// The same rows in the same order: equal values, floats within 1e-9 relative (a sum over
/// other Parquet chunks may round differently in its last bit).
fn same_rows(a: &polars::prelude::DataFrame, b: &polars::prelude::DataFrame, what: &str) {
    use polars::prelude::DataType;
    assert_eq!(a.shape(), b.shape(), "{what}: shape");
    for (x, y) in a.columns().iter().zip(b.columns()) {
        assert_eq!(x.name(), y.name(), "{what}: columns");
        if x.dtype() == &DataType::Float64 {
            for (i, (p, q)) in x.f64().unwrap().iter().zip(y.f64().unwrap().iter()).enumerate() {
                let close = match (p, q) {
                    (Some(p), Some(q)) => (p - q).abs() <= 1e-9 * p.abs().max(q.abs()).max(1.0),
                    (p, q) => p == q,
                };
                assert!(close, "{what}: {} row {i}: {p:?} vs {q:?}", x.name());
            }
        } else {
            assert!(x.equals_missing(y), "{what}: column {} differs", x.name());
        }
    }
}

#[test]
fn truth_small_json_seed_1() {
    generate_and_check(3, 2_000, 1, "json");
}

#[test]
fn truth_small_jsonl_seed_7() {
    generate_and_check(4, 3_000, 7, "jsonl");
}

#[test]
fn truth_two_licenses_seed_42() {
    generate_and_check(2, 1_500, 42, "json");
}

#[test]
fn truth_50k_packages_seed_2026() {
    generate_and_check(6, 50_000, 2026, "jsonl");
}

#[test]
fn truth_duties_small_seed_3() {
    check_generated(3, 2_000, 3, "json", true);
}

#[test]
fn truth_duties_two_licenses_jsonl_seed_5() {
    check_generated(2, 1_500, 5, "jsonl", true);
}

#[test]
fn truth_duties_50k_packages_seed_11() {
    check_generated(6, 50_000, 11, "json", true);
}
