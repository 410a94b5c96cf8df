//! Hostile input and rules (issue 15): pages with `Data` twice or null, a workbook that
//! declares a huge range, link loops and FIFOs among the inputs, lone surrogates, counts
//! that would sum to infinity, bidi controls in labels, paths that are shell code, OUT
//! inside the export, and user rules or profiles that are wrong or read files.
// See: issue 15

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::common::{bin, manifest, read, read_table, run_expect, run_pipeline, s, tagtrail};

const LIC: &str = "C11-0000001-LIC";

/// A copy of the sample export's first license under `dir/export/<LIC>`.
fn one_license(dir: &Path) -> PathBuf {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/sample/export").join(LIC);
    let export = dir.join("export");
    fs::create_dir_all(export.join(LIC)).unwrap();
    for f in fs::read_dir(src).unwrap() {
        let f = f.unwrap().path();
        fs::copy(&f, export.join(LIC).join(f.file_name().unwrap())).unwrap();
    }
    export
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Run `cmd`; kill it and fail when it takes longer than `secs` (a hang is the defect).
fn within(mut cmd: Command, secs: u64) -> Output {
    let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > Duration::from_secs(secs) {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!("still running after {secs} s; stderr:\n{}", text(&out.stderr));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.wait_with_output().unwrap()
}

fn args(cmd: &mut Command, list: &[&Path]) {
    for a in list {
        cmd.arg(a);
    }
}

/// The manifest's input entry for `path` (relative to its root).
fn input<'m>(m: &'m serde_json::Value, path: &str) -> &'m serde_json::Value {
    m["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["path"] == path)
        .unwrap_or_else(|| panic!("no input {path} in {}", m["inputs"]))
}

#[test]
fn hostile_page_with_data_twice_is_an_input_error() {
    let dir = tempfile::tempdir().unwrap();
    let export = one_license(dir.path());
    let sales = export.join(LIC).join("sales.json");
    fs::write(&sales, r#"{"Data": [], "Data": [{"ReceiptNumber": "1"}], "Total": 1}"#).unwrap();
    let out = dir.path().join("out");
    let o = run_expect(
        &[
            "ingest",
            "--quiet",
            "--export",
            export.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ],
        2,
    );
    let err = text(&o.stderr);
    assert!(err.contains("sales.json") && err.contains("`Data` given twice"), "{err}");
    assert!(err.contains("byte 13"), "{err}");
}

#[test]
fn hostile_null_data_is_an_empty_page() {
    let dir = tempfile::tempdir().unwrap();
    let export = one_license(dir.path());
    fs::write(export.join(LIC).join("sales.json"), r#"{"Data": null, "Total": 0}"#).unwrap();
    fs::write(export.join(LIC).join("history.json"), r#"{"Data": []}"#).unwrap();
    let out = dir.path().join("out");
    run_expect(
        &[
            "ingest",
            "--quiet",
            "--export",
            export.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ],
        0,
    );
    let m = manifest(&out);
    for f in ["sales.json", "history.json"] {
        let i = input(&m, &format!("{LIC}/{f}"));
        assert_eq!((i["rows_in"].as_u64(), i["rows_rejected"].as_u64()), (Some(0), Some(0)), "{f}");
    }
    assert_eq!(read_table(&out, "sales").height(), 0);
}

/// A few KB of XLSX whose one stray cell sits at XFD1048576: read by its cells, in
/// seconds and within a few GB of address space, with the rows it holds.
#[test]
fn hostile_xlsx_with_a_far_cell_is_read_by_its_cells() {
    let dir = tempfile::tempdir().unwrap();
    let export = one_license(dir.path());
    let counts = dir.path().join(format!("{LIC}.xlsx"));
    let mut book = rust_xlsxwriter::Workbook::new();
    let ws = book.add_worksheet();
    for (c, h) in ["Package Tag", "Quantity", "UOM", "Counted At"].iter().enumerate() {
        ws.write_string(2, c as u16, *h).unwrap();
    }
    for (r, (label, q)) in
        [("1A4FF0100001000000000001", 4256.0), ("1A4FF0100001000000000002", 93.0)]
            .iter()
            .enumerate()
    {
        let r = 3 + r as u32;
        ws.write_string(r, 0, *label).unwrap();
        ws.write_number(r, 1, *q).unwrap();
        ws.write_string(r, 2, if r == 3 { "g" } else { "ea" }).unwrap();
        ws.write_string(r, 3, "2026-10-29T17:00:00-07:00").unwrap();
    }
    ws.write_string(1_048_575, 16_383, "stray").unwrap();
    book.save(&counts).unwrap();
    assert!(fs::metadata(&counts).unwrap().len() < 64 << 10);
    let out = dir.path().join("out");
    // An 8 GB address-space limit: the dense range took more than 24 GB.
    let mut cmd = Command::new("prlimit");
    cmd.arg("--as=8589934592").arg(bin()).args(["ingest", "--quiet", "--export"]);
    args(&mut cmd, &[&export, Path::new("--counts"), &counts, Path::new("--out"), &out]);
    let o = within(cmd, 120);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let df = read_table(&out, "counts");
    assert_eq!(df.height(), 2);
    let lines: Vec<i64> = df.column("record").unwrap().i64().unwrap().into_no_null_iter().collect();
    assert_eq!(lines, vec![4, 5], "line numbers are the worksheet's row numbers");
}

#[cfg(unix)]
#[test]
fn hostile_link_loops_and_fifos_are_not_read() {
    let dir = tempfile::tempdir().unwrap();
    let export = one_license(dir.path());
    let counts = dir.path().join("counts");
    fs::create_dir_all(counts.join("sub")).unwrap();
    fs::write(
        counts.join("sub").join(format!("{LIC}.csv")),
        "Package Tag,Quantity,UOM,Counted At\n1A4FF0100001000000000002,93,ea,2026-10-29T13:44:00-07:00\n",
    )
    .unwrap();
    std::os::unix::fs::symlink("..", counts.join("sub").join("up")).unwrap();
    std::os::unix::fs::symlink(".", counts.join("here")).unwrap();
    let mkfifo = |p: PathBuf| {
        assert!(Command::new("mkfifo").arg(&p).status().unwrap().success(), "mkfifo {p:?}");
    };
    mkfifo(counts.join("pipe.csv"));
    mkfifo(export.join(LIC).join("adjustments.2.json"));
    let out = dir.path().join("out");
    let mut cmd = tagtrail();
    cmd.args(["ingest", "--export"]);
    args(&mut cmd, &[&export, Path::new("--counts"), &counts, Path::new("--out"), &out]);
    let o = within(cmd, 120);
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert_eq!(read_table(&out, "counts").height(), 1, "the sheet is read once: {err}");
    assert!(err.contains("pipe.csv") && err.contains("not a regular file"), "{err}");
    let unread = manifest(&out)["unread"].to_string();
    assert!(unread.contains("adjustments.2.json") && unread.contains("FIFO"), "{unread}");
}

#[test]
fn hostile_lone_surrogate_rejects_the_record_not_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let export = one_license(dir.path());
    let packages = export.join(LIC).join("packages.json");
    let json = fs::read_to_string(&packages).unwrap();
    let bad = json.replacen(r#""Label":"1A4FF0100001000000000001""#, r#""Label":"\ud800""#, 1);
    assert_ne!(bad, json);
    fs::write(&packages, bad).unwrap();
    let out = dir.path().join("out");
    run_expect(
        &[
            "ingest",
            "--quiet",
            "--export",
            export.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ],
        0,
    );
    let rejects = read(&out.join("rejects.parquet"));
    let i = (0..rejects.height())
        .find(|&i| s(&rejects, "column", i).as_deref() == Some("Label"))
        .expect("a rejected record naming Label");
    assert!(s(&rejects, "reason", i).unwrap().contains("surrogate"));
    assert_eq!(s(&rejects, "source_file", i).unwrap(), format!("{LIC}/packages.json"));
}

/// Finite quantities that sum to infinity: rejected as out of range, so the totals are
/// never "counted n/a vs system n/a".
#[test]
fn hostile_huge_counted_quantities_are_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let export = one_license(dir.path());
    let counts = dir.path().join(format!("{LIC}.csv"));
    let mut csv = String::from("Package Tag,Quantity,UOM,Counted At\n");
    for i in 1..=40 {
        csv.push_str(&format!("1A4FF01000010000000{i:05},1e307,g,2026-10-29T17:00:00-07:00\n"));
    }
    fs::write(&counts, csv).unwrap();
    let out = dir.path().join("out");
    let o = run_expect(
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
    let rejects = read(&out.join("rejects.parquet"));
    let n = (0..rejects.height())
        .filter(|&i| s(&rejects, "reason", i).is_some_and(|r| r.contains("out of range")))
        .count();
    assert_eq!(n, 40, "{}", text(&o.stderr));
    let findings = read(&out.join("findings.parquet"));
    for i in 0..findings.height() {
        let d = s(&findings, "detail", i).unwrap();
        assert!(!d.contains("n/a"), "{d}");
    }
    let md = fs::read_to_string(out.join("report.md")).unwrap();
    assert!(!md.contains("counted n/a"), "{md}");
}

#[test]
fn hostile_bidi_controls_and_nul_are_shown_escaped() {
    let dir = tempfile::tempdir().unwrap();
    // No packages: the counted label's finding is the only one, so the report shows it.
    let export = dir.path().join("export");
    fs::create_dir_all(export.join(LIC)).unwrap();
    fs::write(export.join(LIC).join("packages.json"), "[]").unwrap();
    let counts = dir.path().join(format!("{LIC}.csv"));
    fs::write(
        &counts,
        "Package Tag,Quantity,UOM,Counted At,Location\n\
         1A4FF\u{202e}LIVE\u{0}X\u{2066},1,g,2026-10-29T17:00:00-07:00,Vault\u{200f}\n",
    )
    .unwrap();
    let out = dir.path().join("out");
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
    let html = fs::read_to_string(out.join("report.html")).unwrap();
    let md = fs::read_to_string(out.join("report.md")).unwrap();
    for (name, doc, code) in [("html", &html, "&lt;U+202E&gt;"), ("md", &md, "\\<U+202E\\>")] {
        assert!(doc.contains(code), "{name}: no {code}");
        assert!(doc.contains(&code.replace("202E", "0000")), "{name}: NUL not shown");
        for c in ['\u{202e}', '\u{0}', '\u{2066}', '\u{200f}'] {
            assert!(!doc.contains(c), "{name} holds U+{:04X}", u32::from(c));
        }
    }
}

#[cfg(unix)]
#[test]
fn hostile_rerun_command_is_shell_quoted() {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("it's $(touch pwned) here");
    fs::create_dir_all(&base).unwrap();
    let export = one_license(&base);
    let out = base.join("out put");
    run_expect(
        &[
            "ingest",
            "--quiet",
            "--export",
            export.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ],
        0,
    );
    let rerun = manifest(&out)["rerun"].as_str().unwrap().to_owned();
    let rest = rerun.strip_prefix("tagtrail ").expect("starts with tagtrail");
    let o = Command::new("sh")
        .arg("-c")
        .arg(format!("exec \"$0\" {rest} --quiet"))
        .arg(bin())
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{rerun}\n{}", text(&o.stderr));
    assert!(!dir.path().join("pwned").exists(), "{rerun} ran the shell code");
    assert!(out.join("report.html").is_file(), "{rerun}");
}

#[test]
fn hostile_out_inside_export_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let export = one_license(dir.path());
    let out = export.join("results");
    let o = run_expect(
        &["run", "--quiet", "--export", export.to_str().unwrap(), "--out", out.to_str().unwrap()],
        2,
    );
    assert!(text(&o.stderr).contains("inside --export"), "{}", text(&o.stderr));
    // Also through `..` and for `ingest`.
    let sneaky = export.join(LIC).join("..").join("x");
    let o = run_expect(
        &["ingest", "--export", export.to_str().unwrap(), "--out", sneaky.to_str().unwrap()],
        2,
    );
    assert!(text(&o.stderr).contains("inside --export"), "{}", text(&o.stderr));
    // And an export inside OUT's lake.
    let out = dir.path().join("out");
    fs::create_dir_all(out.join("lake")).unwrap();
    let moved = out.join("lake").join("export");
    fs::rename(&export, &moved).unwrap();
    let o = run_expect(
        &["ingest", "--export", moved.to_str().unwrap(), "--out", out.to_str().unwrap()],
        2,
    );
    assert!(text(&o.stderr).contains("inside the results of --out"), "{}", text(&o.stderr));
}

/// Run with a user rule `name` holding `sql` (after a valid header unless `header` is
/// given) and return the output.
fn run_with_rule(dir: &Path, name: &str, header: Option<&str>, sql: &str, code: i32) -> String {
    let export = one_license(dir);
    let rules = dir.join("rules");
    fs::create_dir_all(&rules).unwrap();
    let header =
        header.unwrap_or("-- severity: low\n-- citation: house rule\n-- description: test\n");
    fs::write(rules.join(name), format!("{header}{sql}\n")).unwrap();
    let out = dir.join("out");
    let o = run_expect(
        &[
            "run",
            "--quiet",
            "--export",
            export.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--rules",
            rules.to_str().unwrap(),
        ],
        code,
    );
    text(&o.stderr)
}

#[test]
fn hostile_rule_with_a_bogus_severity_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let err = run_with_rule(
        dir.path(),
        "house.bogus.sql",
        Some("-- severity: bogus\n-- citation: c\n-- description: d\n"),
        "SELECT license, 'x' AS detail FROM packages",
        2,
    );
    assert!(err.contains("house.bogus.sql") && err.contains("severity"), "{err}");
    // A rule returning its own severity column: each value must be a severity.
    let dir = tempfile::tempdir().unwrap();
    let err = run_with_rule(
        dir.path(),
        "house.returns.sql",
        None,
        "SELECT license, 'x' AS detail, 'bogus' AS severity FROM packages",
        2,
    );
    assert!(err.contains("house.returns.sql") && err.contains("`bogus`"), "{err}");
}

#[test]
fn hostile_rule_reading_a_path_is_refused() {
    // A Parquet file outside the lake: an earlier run's findings.
    let dir = tempfile::tempdir().unwrap();
    let earlier = dir.path().join("earlier");
    run_pipeline(&one_license(dir.path()), None, &earlier);
    let secret = earlier.join("findings.parquet");
    let sql = format!("SELECT license, detail FROM read_parquet('{}')", secret.display());
    let err = run_with_rule(dir.path(), "house.leak.sql", None, &sql, 2);
    assert!(err.contains("house.leak.sql") && err.contains("read_parquet"), "{err}");
}

#[test]
fn hostile_profile_naming_an_unknown_rule_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let export = one_license(dir.path());
    let profile = dir.path().join("profile.toml");
    fs::write(&profile, "[severities]\n\"count.missing_in_sytem\" = \"critical\"\n").unwrap();
    let out = dir.path().join("out");
    let o = run_expect(
        &[
            "run",
            "--quiet",
            "--export",
            export.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--profile",
            profile.to_str().unwrap(),
        ],
        2,
    );
    let err = text(&o.stderr);
    assert!(
        err.contains("count.missing_in_sytem") && err.contains("count.missing_in_system"),
        "{err}"
    );
}
