//! The command line: exit codes, `rules`, user rules, the findings schema, determinism.

use std::fs;
use std::path::Path;

use crate::common::{fixture, read, run_expect, run_pipeline, s};
use crate::rules::SPEC_RULES;

fn case(name: &str) -> (std::path::PathBuf, Option<std::path::PathBuf>) {
    let dir = fixture("rules").join(name);
    let counts = dir.join("counts");
    (dir.join("export"), counts.is_dir().then_some(counts))
}

fn run_args<'a>(export: &'a Path, out: &'a Path, extra: &[&'a str]) -> Vec<&'a str> {
    let mut v = vec![
        "run",
        "--quiet",
        "--export",
        export.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ];
    v.extend_from_slice(extra);
    v
}

#[test]
fn cli_fail_on_exit_codes() {
    let tmp = tempfile::tempdir().unwrap();
    // A quiet fixture has no high finding: exit 0 with --fail-on high.
    let (clean, _) = case("record.duplicate_package.quiet");
    let out = tmp.path().join("a");
    run_expect(&run_args(&clean, &out, &["--fail-on", "high"]), 0);
    let f = read(&out.join("findings.parquet"));
    let sev = f.column("severity").unwrap().str().unwrap();
    assert!(sev.iter().flatten().all(|s| s != "high" && s != "critical"));
    // A planted duplicate package is high: exit 1, and 0 without --fail-on.
    let (dirty, _) = case("record.duplicate_package.fires");
    let out = tmp.path().join("b");
    let o = run_expect(&run_args(&dirty, &out, &["--fail-on", "high"]), 1);
    // run_args is quiet: the reason for exit 1 is still one line on stderr
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("--fail-on high") && err.contains("worst: high"), "{err}");
    let o = run_expect(&run_args(&dirty, &out, &["--fail-on", "critical"]), 0);
    assert!(o.stderr.is_empty(), "{}", String::from_utf8_lossy(&o.stderr));
    run_expect(&run_args(&dirty, &out, &[]), 0);
}

#[test]
fn cli_usage_errors_are_exit_2_with_one_line_that_says_what_to_do() {
    let tmp = tempfile::tempdir().unwrap();
    let missing = tmp.path().join("no-such-export");
    let out = tmp.path().join("out");
    let o = run_expect(&run_args(&missing, &out, &[]), 2);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("no-such-export") && err.contains("--export"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");

    let o = run_expect(&["run", "--no-such-flag"], 2);
    assert!(String::from_utf8_lossy(&o.stderr).contains("--no-such-flag"));

    let o = run_expect(&["run", "--timezone", "Mars/Olympus", "--out", out.to_str().unwrap()], 2);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("Mars/Olympus") && err.contains("IANA"), "{err}");

    let o = run_expect(&["check", "--out", tmp.path().join("empty").to_str().unwrap()], 2);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("ingest"), "says to run ingest first: {err}");

    // `generate` with an argument out of range, or an --out that cannot be a folder (a
    // dangling symlink), is a usage error, not an internal one.
    let o = run_expect(&["generate", "--out", out.to_str().unwrap(), "--licenses", "0"], 2);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("--licenses") && !err.contains("internal"), "{err}");
    let dangling = tmp.path().join("dangling");
    std::os::unix::fs::symlink(tmp.path().join("nowhere"), &dangling).unwrap();
    let o = run_expect(&["generate", "--quiet", "--out", dangling.to_str().unwrap()], 2);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("dangling") && !err.contains("internal"), "{err}");
}

#[test]
fn cli_rules_lists_every_spec_rule_with_citation() {
    let o = run_expect(&["rules"], 0);
    let text = String::from_utf8(o.stdout).unwrap();
    for rule in SPEC_RULES {
        let line = text
            .lines()
            .find(|l| l.starts_with(&format!("{rule}\t")))
            .unwrap_or_else(|| panic!("{rule} not listed"));
        let cols: Vec<&str> = line.split('\t').collect();
        assert_eq!(cols.len(), 5, "{line}");
        assert!(cols[3].starts_with('§') || cols[3].contains("Metrc"), "citation: {line}");
        assert!(!cols[4].is_empty());
    }
    assert!(text.contains("lineage.cycle\tlineage\tcritical\t§15047.2(c)"));
    assert!(text.contains("count.significant_discrepancy\tcount\tcritical\t§15034, §17218(d)"));
}

const USER_RULE: &str = "-- id: local.large_package
-- severity: info
-- family: local
-- citation: house rule 7
-- description: packages holding more than 450 g
-- tables: packages
SELECT license, label AS package_label, quantity_base AS system_quantity, base_unit AS unit,
       'holds ' || CAST(quantity_base AS VARCHAR) || ' g' AS detail, source_file, record
FROM packages WHERE base_unit = 'g' AND quantity_base > 450
";

#[test]
fn cli_user_rules_run_and_list_and_broken_ones_fail_cleanly() {
    let tmp = tempfile::tempdir().unwrap();
    let rules = tmp.path().join("rules");
    fs::create_dir_all(&rules).unwrap();
    fs::write(rules.join("local.large_package.sql"), USER_RULE).unwrap();
    let o = run_expect(&["rules", "--rules", rules.to_str().unwrap()], 0);
    let listed = String::from_utf8(o.stdout).unwrap();
    assert!(
        listed.contains(
            "local.large_package\tlocal\tinfo\thouse rule 7\tpackages holding more than 450 g"
        ),
        "{listed}"
    );

    let (export, counts) = case("trap.unit_conversion");
    let out = tmp.path().join("out");
    let mut args = run_args(&export, &out, &["--rules", rules.to_str().unwrap()]);
    let c = counts.as_ref().map(|c| c.to_str().unwrap().to_owned());
    if let Some(c) = &c {
        args.extend(["--counts", c.as_str()]);
    }
    run_expect(&args, 0);
    let f = read(&out.join("findings.parquet"));
    let ids = f.column("rule_id").unwrap().str().unwrap();
    let hits: Vec<usize> =
        (0..f.height()).filter(|&i| ids.get(i) == Some("local.large_package")).collect();
    assert!(!hits.is_empty(), "the user rule fired on the fixture's large package");
    for i in hits {
        assert_eq!(s(&f, "citation", i).as_deref(), Some("house rule 7"));
        assert_eq!(s(&f, "severity", i).as_deref(), Some("info"));
        assert!(s(&f, "detail", i).unwrap().starts_with("holds "));
    }

    // Broken: bad SQL, then a valid query with the wrong columns, then a bad header.
    let broken = tmp.path().join("broken");
    fs::create_dir_all(&broken).unwrap();
    let cases = [
        ("x.bad_sql.sql", USER_RULE.replace("FROM packages", "FROM packages WHERE WHERE")),
        ("x.no_detail.sql", "-- id: x.no_detail\n-- severity: low\n-- family: x\n-- citation: c\n-- description: d\nSELECT license FROM packages\n".to_owned()),
        ("x.bad_header.sql", "-- id: x.bad_header\n-- severity: apocalyptic\n-- family: x\n-- citation: c\n-- description: d\nSELECT license, 'x' AS detail FROM packages\n".to_owned()),
    ];
    for (name, text) in cases {
        for f in fs::read_dir(&broken).unwrap() {
            fs::remove_file(f.unwrap().path()).unwrap();
        }
        fs::write(broken.join(name), text).unwrap();
        let o = run_expect(&["rules", "--rules", broken.to_str().unwrap()], 2);
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains(name), "{name}: {err}");
        let (o, r) = (out.to_str().unwrap(), broken.to_str().unwrap());
        run_expect(&["check", "--quiet", "--out", o, "--rules", r], 2);
    }
}

#[test]
fn cli_findings_schema_matches_spec_column_by_column() {
    use polars::prelude::*;
    let tmp = tempfile::tempdir().unwrap();
    let (export, counts) = case("trap.one_lag_per_transaction");
    run_pipeline(&export, counts.as_deref(), tmp.path());
    let f = read(&tmp.path().join("findings.parquet"));
    let utc = DataType::Datetime(TimeUnit::Microseconds, Some(TimeZone::UTC));
    let want: [(&str, DataType); 18] = [
        ("run_id", DataType::String),
        ("rule_id", DataType::String),
        ("family", DataType::String),
        ("severity", DataType::String),
        ("license", DataType::String),
        ("package_label", DataType::String),
        ("related_label", DataType::String),
        ("reference", DataType::String),
        ("occurred_at", utc.clone()),
        ("recorded_at", utc),
        ("lag_hours", DataType::Float64),
        ("system_quantity", DataType::Float64),
        ("counted_quantity", DataType::Float64),
        ("variance", DataType::Float64),
        ("unit", DataType::String),
        ("detail", DataType::String),
        ("citation", DataType::String),
        ("source_file", DataType::String),
    ];
    let schema = f.schema();
    // the 18 fixed columns, then the stable key monthly runs compare by
    assert_eq!(schema.len(), want.len() + 1);
    let (last, last_dt) = schema.iter().last().unwrap();
    assert_eq!((last.as_str(), last_dt), ("finding_key", &DataType::String));
    let keys = f.column("finding_key").unwrap().str().unwrap().clone();
    assert_eq!(keys.null_count(), 0);
    assert!(
        keys.iter().flatten().all(|k| k.len() == 32 && k.chars().all(|c| c.is_ascii_hexdigit()))
    );
    let distinct: std::collections::BTreeSet<&str> = keys.iter().flatten().collect();
    assert_eq!(distinct.len(), f.height(), "one key per finding");
    for ((name, dt), (got_name, got_dt)) in want.iter().zip(schema.iter()) {
        assert_eq!(got_name.as_str(), *name);
        assert_eq!(got_dt, dt, "column {name}");
    }
    assert!(f.height() > 0);
    for c in ["run_id", "rule_id", "family", "severity", "license", "detail", "citation"] {
        assert_eq!(f.column(c).unwrap().null_count(), 0, "{c} is not null");
    }
    // The run id is the manifest's.
    let m = crate::common::manifest(tmp.path());
    assert_eq!(s(&f, "run_id", 0).as_deref(), m["run_id"].as_str());
    let rules = m["rules"].as_array().unwrap();
    assert!(rules.len() >= SPEC_RULES.len());
    assert!(rules.iter().all(|r| r["sha256"].as_str().is_some_and(|h| h.len() == 64)));
    // Severity values are the SPEC's.
    let sev = f.column("severity").unwrap().str().unwrap();
    assert!(
        sev.iter().flatten().all(|v| ["info", "low", "medium", "high", "critical"].contains(&v))
    );
}

#[test]
fn cli_two_runs_on_the_same_input_give_identical_findings_and_summary_wherever_out_is() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    crate::common::generate(&data, 3, 3000, 11, "json");
    // The second OUT under a `key=value` folder and named like a glob pattern: the lake's
    // parts are read as the files they are (no Hive columns from the path, no pattern).
    let (a, b) = (tmp.path().join("a"), tmp.path().join("run=3").join("[b] *"));
    run_pipeline(&data.join("export"), Some(&data.join("counts")), &a);
    run_pipeline(&data.join("export"), Some(&data.join("counts")), &b);
    for file in ["findings.parquet", "summary.parquet", "rejects.parquet"] {
        let (x, y) = (read(&a.join(file)), read(&b.join(file)));
        assert!(x.height() > 0, "{file} is not empty");
        assert!(x.equals_missing(&y), "{file} differs between two runs");
    }
    let strip = |p: &Path| {
        fs::read_to_string(p.join("report.md"))
            .unwrap()
            .lines()
            .filter(|l| {
                !l.contains("Generated") && !l.contains("started") && !l.contains("finished")
                    // The command lines name OUT, quoted and escaped for Markdown.
                    && !l.contains("tagtrail run ")
            })
            .map(|l| l.replace(a.to_str().unwrap(), "OUT").replace(b.to_str().unwrap(), "OUT"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(strip(&a), strip(&b), "report.md differs beyond the run's timestamp");
}

#[test]
fn cli_rules_as_table_and_json() {
    let o = run_expect(&["rules", "--format", "json"], 0);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON");
    let rules = v.as_array().expect("an array");
    assert_eq!(rules.len(), SPEC_RULES.len());
    for rule in SPEC_RULES {
        let r = rules.iter().find(|r| r["id"] == *rule).unwrap_or_else(|| panic!("{rule}"));
        for key in ["family", "severity", "citation", "description"] {
            assert!(r[key].as_str().is_some_and(|s| !s.is_empty()), "{rule} {key}");
        }
    }
    let o = run_expect(&["rules", "--format", "table"], 0);
    let text = String::from_utf8(o.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), SPEC_RULES.len() + 1);
    assert!(!text.contains('\t'));
    // the description column starts at one position on every line
    let at: Vec<usize> = lines
        .iter()
        .map(|l| {
            let byte = l.find("description").or_else(|| l.rfind("  ").map(|i| i + 2)).unwrap();
            l[..byte].chars().count()
        })
        .collect();
    assert!(at.windows(2).all(|w| w[0] == w[1]), "{text}");
}

/// Each subcommand's --help lists the options it takes, and only those.
#[test]
fn cli_help_of_each_subcommand_lists_its_own_options() {
    let help = |cmd: &str| String::from_utf8(run_expect(&[cmd, "--help"], 0).stdout).unwrap();
    let all = [
        "--timezone",
        "--profile",
        "--fail-on",
        "--batch-mb",
        "--counted-at",
        "--sheet",
        "--wait",
        "--quiet",
        "--threads",
        "--previous",
    ];
    let cases: [(&str, &[&str]); 6] = [
        ("run", &all),
        (
            "ingest",
            &[
                "--timezone",
                "--profile",
                "--counted-at",
                "--sheet",
                "--wait",
                "--quiet",
                "--threads",
            ],
        ),
        (
            "check",
            &[
                "--timezone",
                "--profile",
                "--fail-on",
                "--batch-mb",
                "--wait",
                "--quiet",
                "--threads",
                "--previous",
            ],
        ),
        ("report", &["--wait", "--quiet", "--threads"]),
        ("rules", &["--profile", "--quiet", "--threads", "--format"]),
        ("generate", &["--timezone", "--quiet", "--threads", "--seed"]),
    ];
    for (cmd, own) in cases {
        let text = help(cmd);
        for opt in all.iter().chain(own) {
            let listed = text.contains(&format!("{opt} ")) || text.contains(&format!("{opt}\n"));
            assert_eq!(listed, own.contains(opt), "`tagtrail {cmd} --help` and {opt}:\n{text}");
        }
    }
    let counts = help("ingest");
    assert!(counts.contains("CSV") && counts.contains("XLSX") && counts.contains("Quantity"));
}

/// A reader that stops early closes the pipe: `tagtrail rules | head -1` ends with success
/// and no "internal error" (it was a panic, exit 3).
#[test]
fn cli_closed_stdout_is_not_a_crash() {
    use std::process::Stdio;
    let mut child = crate::common::tagtrail()
        .args(["rules", "--format", "json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take()); // the reader is gone before the first line
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(!err.contains("internal error"), "{err}");
}
