//! The same options give the same bytes: `findings.parquet` and `summary.parquet` do not
//! depend on thread scheduling, the number of threads or the batch size. The license
//! totals are sums over tens of thousands of rows, which a parallel sum adds in whatever
//! order its threads finish (the last bits then differed between runs).

use std::path::Path;

use crate::common::{generate, read, run_expect};

/// The two outputs that must not vary, as bytes.
fn outputs(out: &Path) -> [(String, Vec<u8>); 2] {
    ["findings.parquet", "summary.parquet"].map(|name| {
        let bytes = std::fs::read(out.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        (name.to_owned(), bytes)
    })
}

/// `tagtrail [global] check --quiet --out OUT` (rewrites OUT's findings and summary).
fn check(out: &Path, global: &[&str]) -> [(String, Vec<u8>); 2] {
    let mut args = global.to_vec();
    args.extend(["check", "--quiet", "--out", out.to_str().unwrap()]);
    run_expect(&args, 0);
    outputs(out)
}

/// Byte equality; on a difference, the summary rows whose totals differ (to see which sum).
fn assert_same(what: &str, a: &[(String, Vec<u8>); 2], b: &[(String, Vec<u8>); 2]) {
    for ((name, x), (_, y)) in a.iter().zip(b) {
        if x == y {
            continue;
        }
        let read_bytes = |bytes: &[u8]| {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("f.parquet");
            std::fs::write(&path, bytes).unwrap();
            read(&path)
        };
        let (fx, fy) = (read_bytes(x), read_bytes(y));
        let mut differing = Vec::new();
        if fx.shape() == fy.shape() {
            for c in fx.columns() {
                let other = fy.column(c.name()).unwrap();
                if !c.as_materialized_series().equals_missing(other.as_materialized_series()) {
                    let rows: Vec<String> = (0..fx.height())
                        .filter(|&i| c.get(i).ok() != other.get(i).ok())
                        .take(4)
                        .map(|i| format!("row {i}: {:?} vs {:?}", c.get(i), other.get(i)))
                        .collect();
                    differing.push(format!("{}: {}", c.name(), rows.join("; ")));
                }
            }
        } else {
            differing.push(format!("shape {:?} vs {:?}", fx.shape(), fy.shape()));
        }
        panic!("{what}: {name} differs in bytes; columns differing: {differing:#?}");
    }
}

/// Two runs with default threads, and checks with 1, 2 and 8 threads and tiny batches (and
/// with the average-monthly-sales basis), over 4 licenses and 48 k packages (multi-chunk
/// sums), give byte-identical findings and summary.
#[test]
fn determinism_same_bytes_for_any_threads_runs_and_batches() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    generate(&data, 4, 48_000, 3, "json");
    let export = data.join("export");
    let counts = data.join("counts");
    let run = |out: &Path| {
        run_expect(
            &[
                "run",
                "--quiet",
                "--export",
                export.to_str().unwrap(),
                "--counts",
                counts.to_str().unwrap(),
                "--out",
                out.to_str().unwrap(),
            ],
            0,
        );
        outputs(out)
    };
    let (o1, o2) = (tmp.path().join("o1"), tmp.path().join("o2"));
    let first = run(&o1);
    assert_same("run vs run (default threads)", &first, &run(&o2));
    let summary = read(&o1.join("summary.parquet"));
    let totals = summary.column("system_total").unwrap().f64().unwrap().clone();
    assert!(totals.iter().flatten().any(|v| v > 0.0), "the summary has system totals to compare");
    assert_same("--threads 1 vs --threads 2", &check(&o2, &["--threads", "1"]), &{
        check(&o2, &["--threads", "2"])
    });
    // More threads than cores: the threads finish in another order each time.
    for i in 0..3 {
        assert_same(&format!("run vs --threads 8 ({i})"), &first, &check(&o2, &["--threads", "8"]));
    }
    assert_same("default vs --batch-mb 1", &first, &check(&o2, &["--batch-mb", "1"]));
    // The other significance basis sums the sales per license too.
    let profile = tmp.path().join("ams.toml");
    std::fs::write(&profile, "[significance]\nbasis = \"average_monthly_sales\"\n").unwrap();
    let profile = ["--profile", profile.to_str().unwrap()];
    let ams = check(&o2, &[&profile[..], &["--threads", "1"]].concat());
    for i in 0..2 {
        let again = check(&o2, &[&profile[..], &["--threads", "8"]].concat());
        assert_same(&format!("average monthly sales, 1 vs 8 threads ({i})"), &ams, &again);
    }
}
