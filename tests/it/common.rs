//! Helpers shared by the integration tests: run the binary, read its Parquet outputs.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use polars::prelude::*;

/// The real Metrc API documentation examples, copied into the repository (see their
/// SOURCES.md), so that a clone tests on its own.
pub fn real_fixtures() -> PathBuf {
    fixture("real/metrc-api-doc-examples")
}

/// `tests/fixtures/<rel>`.
pub fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests").join("fixtures").join(rel)
}

/// The binary under test: `TAGTRAIL_BIN` when set (a worktree sharing another's build
/// folder points it at its own `target/release/deps/tagtrail-<hash>`), else Cargo's.
pub fn bin() -> PathBuf {
    std::env::var_os("TAGTRAIL_BIN")
        .map_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_tagtrail")), PathBuf::from)
}

/// A `tagtrail` command with progress bars off.
pub fn tagtrail() -> Command {
    use std::os::unix::process::CommandExt as _;
    let mut c = Command::new(bin());
    // The command line as a user types it, whichever binary runs (manifest, reports).
    c.arg0("tagtrail");
    c.env_remove("RUST_BACKTRACE").env("NO_COLOR", "1");
    c
}

/// Run and return the output; panics with stderr when the exit code is not `code`.
pub fn run_expect(args: &[&str], code: i32) -> Output {
    let out = tagtrail().args(args).output().expect("the binary runs");
    assert_eq!(
        out.status.code(),
        Some(code),
        "tagtrail {}\nstdout:\n{}\nstderr:\n{}",
        args.join(" "),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// `tagtrail run --export E [--counts C] --out O --quiet`, expecting exit 0.
pub fn run_pipeline(export: &Path, counts: Option<&Path>, out: &Path) -> Output {
    run_pipeline_with(export, counts, out, &[])
}

/// `run_pipeline` with more options (`--previous DIR`, `--profile FILE`, …).
pub fn run_pipeline_with(
    export: &Path,
    counts: Option<&Path>,
    out: &Path,
    extra: &[&str],
) -> Output {
    let mut args = vec![
        "run".to_owned(),
        "--quiet".to_owned(),
        "--export".to_owned(),
        export.display().to_string(),
        "--out".to_owned(),
        out.display().to_string(),
    ];
    if let Some(c) = counts {
        args.push("--counts".to_owned());
        args.push(c.display().to_string());
    }
    args.extend(extra.iter().map(|e| (*e).to_owned()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    run_expect(&args, 0)
}

/// The rows of `OUT/summary.parquet` of one `kind` (`rule`, `quantity`, `coverage`…).
pub fn summary_rows(out: &Path, kind: &str) -> DataFrame {
    read(&out.join("summary.parquet")).lazy().filter(col("kind").eq(lit(kind))).collect().unwrap()
}

/// Read a Parquet file eagerly.
pub fn read(path: &Path) -> DataFrame {
    let f = std::fs::File::open(path).unwrap_or_else(|e| panic!("open {}: {e}", path.display()));
    ParquetReader::new(f).finish().unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

/// Every row of a lake table (all license partitions), with the partition column
/// `license` first, from each part's folder name (parts do not store it).
pub fn read_table(out: &Path, table: &str) -> DataFrame {
    let mut frames = Vec::new();
    let dir = out.join("lake").join(table);
    let Ok(parts) = std::fs::read_dir(&dir) else {
        return DataFrame::empty();
    };
    let mut files = Vec::new();
    for part in parts {
        for f in std::fs::read_dir(part.unwrap().path()).unwrap() {
            files.push(f.unwrap().path());
        }
    }
    files.sort();
    for f in files {
        let mut df = read(&f);
        assert!(df.column("license").is_err(), "{} stores the partition column", f.display());
        let folder = f.parent().unwrap().file_name().unwrap().to_string_lossy().into_owned();
        let license = tagtrail::store::partition_value(&folder);
        let license = Column::new("license".into(), vec![license; df.height()]);
        df.insert_column(0, license).unwrap();
        frames.push(df);
    }
    let mut it = frames.into_iter();
    let Some(mut all) = it.next() else {
        return DataFrame::empty();
    };
    for f in it {
        all.vstack_mut(&f).unwrap();
    }
    all
}

/// String cell, or None for null.
pub fn s(df: &DataFrame, col: &str, row: usize) -> Option<String> {
    df.column(col).unwrap().str().unwrap().get(row).map(str::to_owned)
}

/// f64 cell.
pub fn f(df: &DataFrame, col: &str, row: usize) -> Option<f64> {
    df.column(col).unwrap().f64().unwrap().get(row)
}

/// Timestamp cell (µs since epoch, UTC).
pub fn ts(df: &DataFrame, col: &str, row: usize) -> Option<i64> {
    df.column(col).unwrap().datetime().unwrap().phys.get(row)
}

/// Row index where `col` equals `value`.
pub fn row_where(df: &DataFrame, col: &str, value: &str) -> usize {
    let c = df.column(col).unwrap().str().unwrap();
    c.iter().position(|v| v == Some(value)).unwrap_or_else(|| panic!("no row with {col} = {value}"))
}

/// (rule_id, license, package_label) of every finding, with multiplicity.
pub fn finding_keys(out: &Path) -> BTreeMap<(String, String, String), usize> {
    let mut m = BTreeMap::new();
    for ((rule, license, label, _), n) in finding_keys_with_severity(out) {
        *m.entry((rule, license, label)).or_insert(0) += n;
    }
    m
}

/// (rule, license, label, severity) of every finding, with multiplicity.
pub fn finding_keys_with_severity(out: &Path) -> BTreeMap<(String, String, String, String), usize> {
    let df = read(&out.join("findings.parquet"));
    let mut m = BTreeMap::new();
    for i in 0..df.height() {
        let key = (
            s(&df, "rule_id", i).unwrap(),
            s(&df, "license", i).unwrap(),
            s(&df, "package_label", i).unwrap_or_default(),
            s(&df, "severity", i).unwrap(),
        );
        *m.entry(key).or_insert(0) += 1;
    }
    m
}

/// (rule, license, label, severity) rows of a generator's `truth.csv`, with multiplicity.
pub fn truth_keys(dir: &Path) -> BTreeMap<(String, String, String, String), usize> {
    let text = std::fs::read_to_string(dir.join("truth.csv")).expect("truth.csv");
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("rule_id,license,package_label,severity"));
    let mut m = BTreeMap::new();
    for line in lines {
        let f: Vec<&str> = line.split(',').collect();
        assert_eq!(f.len(), 4, "truth.csv row {line}");
        let key = (f[0].to_owned(), f[1].to_owned(), f[2].to_owned(), f[3].to_owned());
        *m.entry(key).or_insert(0) += 1;
    }
    m
}

/// Parse `2026-03-08T10:00:00Z`-style UTC text into µs since the epoch.
pub fn utc_us(text: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(text).expect("rfc3339").timestamp_micros()
}

/// `OUT/manifest.json` as JSON.
pub fn manifest(out: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(out.join("manifest.json")).expect("manifest.json exists");
    serde_json::from_str(&text).expect("manifest.json is JSON")
}

/// `tagtrail generate` into `out` (export/, counts/, truth.csv, expected_rejects.csv).
pub fn generate(out: &Path, licenses: usize, packages: usize, seed: u64, format: &str) {
    let (l, p, s) = (licenses.to_string(), packages.to_string(), seed.to_string());
    let out = out.to_str().expect("UTF-8 temp path");
    run_expect(
        &[
            "generate",
            "--quiet",
            "--out",
            out,
            "--licenses",
            &l,
            "--packages",
            &p,
            "--seed",
            &s,
            "--format",
            format,
        ],
        0,
    );
}

/// What a run left in OUT besides tagtrail's lock: output names, and anything in
/// `.tagtrail/` other than the lock file (an unpublished generation). Empty after a run
/// that failed before publishing into an OUT without a result.
pub fn left_in_out(out: &Path) -> Vec<String> {
    let mut left = Vec::new();
    for e in std::fs::read_dir(out).map(|d| d.flatten().collect::<Vec<_>>()).unwrap_or_default() {
        let name = e.file_name().to_string_lossy().into_owned();
        if name == ".tagtrail" {
            for s in std::fs::read_dir(e.path()).unwrap().flatten() {
                let n = s.file_name().to_string_lossy().into_owned();
                if n != "lock" {
                    left.push(format!(".tagtrail/{n}"));
                }
            }
        } else {
            left.push(name);
        }
    }
    left.sort();
    left
}

/// Copy a folder tree.
pub fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dest = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_tree(&e.path(), &dest);
        } else {
            std::fs::copy(e.path(), dest).unwrap();
        }
    }
}
