//! Evidence before verdicts (SPEC 2.4) and count sheets without a license or a count time
//! (SPEC 2.2): a missing sheet is "not checked", too many unreadable rows leave the verdict
//! "not determined", a rejected row with a label is counted with an unknown quantity, and a
//! license or count time is never guessed.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Output;

use polars::prelude::*;

use crate::common::{finding_keys, read, run_expect, s};

fn sample() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("data").join("sample")
}

fn export() -> PathBuf {
    sample().join("export")
}

/// `tagtrail run` without --quiet (the closing paragraph is the point), expecting `code`.
fn run(counts: Option<&Path>, out: &Path, extra: &[&str], code: i32) -> Output {
    let e = export();
    let mut args = vec!["run", "--export", e.to_str().unwrap(), "--out", out.to_str().unwrap()];
    if let Some(c) = counts {
        args.extend(["--counts", c.to_str().unwrap()]);
    }
    args.extend(extra);
    run_expect(&args, code)
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A counts folder holding the sample's sheets, with `edit` applied to one of them.
fn counts_with(dir: &Path, sheet: &str, edit: impl Fn(&str) -> String) -> PathBuf {
    let counts = dir.join("counts");
    fs::create_dir_all(&counts).unwrap();
    for f in fs::read_dir(sample().join("counts")).unwrap() {
        let p = f.unwrap().path();
        let name = p.file_name().unwrap().to_str().unwrap().to_owned();
        let text = fs::read_to_string(&p).unwrap();
        let text = if name == sheet { edit(&text) } else { text };
        fs::write(counts.join(name), text).unwrap();
    }
    counts
}

/// Coverage rows of summary.parquet: license → (status, rows, rejected).
fn coverage(out: &Path) -> BTreeMap<String, (String, i64, i64)> {
    let df = crate::common::summary_rows(out, "coverage");
    (0..df.height())
        .map(|i| {
            let n = |c: &str| df.column(c).unwrap().i64().unwrap().get(i).unwrap();
            (
                s(&df, "license", i).unwrap(),
                (s(&df, "count_status", i).unwrap(), n("count_rows"), n("count_rows_rejected")),
            )
        })
        .collect()
}

fn count_findings_of(keys: &BTreeMap<(String, String, String), usize>, label: &str) -> usize {
    keys.iter().filter(|((r, _, l), _)| r.starts_with("count.") && l == label).map(|(_, n)| n).sum()
}

#[test]
fn evidence_run_without_counts_says_not_checked_everywhere() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let o = run(None, &out, &[], 0);
    let err = stderr(&o);
    assert!(err.contains("not checked: no count sheet"), "{err}");
    assert!(!err.contains("No significant inventory discrepancy"), "{err}");
    let cov = coverage(&out);
    assert_eq!(cov.len(), 3, "{cov:?}");
    assert!(cov.values().all(|(st, n, _)| st == "not_checked" && *n == 0), "{cov:?}");
    assert!(finding_keys(&out).keys().all(|(r, _, _)| !r.starts_with("count.")));
    for report in ["report.html", "report.md"] {
        let text = fs::read_to_string(out.join(report)).unwrap();
        assert!(text.contains("not checked: no count sheet"), "{report}");
        assert!(!text.contains("No significant inventory discrepancy"), "{report}");
    }
}

#[test]
fn evidence_license_without_a_sheet_is_not_checked_beside_checked_ones() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let o = run(Some(&sample().join("counts")), &out, &[], 0);
    let cov = coverage(&out);
    assert_eq!(cov["C11-0000001-LIC"].0, "checked");
    assert_eq!(cov["C11-0000003-LIC"].0, "checked");
    assert_eq!(cov["C11-0000002-LIC"], ("not_checked".into(), 0, 0));
    let err = stderr(&o);
    assert!(err.contains("(C11-0000002-LIC) not checked: no count sheet"), "{err}");
    let md = fs::read_to_string(out.join("report.md")).unwrap();
    assert!(md.contains("C11-0000002-LIC) not checked: no count sheet"), "{md}");
}

#[test]
fn evidence_rejected_row_with_a_label_is_counted_with_unknown_quantity() {
    let dir = tempfile::tempdir().unwrap();
    let label = "1A4FF0100003000000000004";
    let counts = counts_with(dir.path(), "C11-0000003-LIC.csv", |t| {
        t.replace(&format!("{label},99,Each"), &format!("{label},ninety-nine,Each"))
    });
    let out = dir.path().join("out");
    run(Some(&counts), &out, &["--quiet"], 0);
    let rejects = read(&out.join("rejects.parquet"));
    assert_eq!(rejects.height(), 7, "the sample's 6 and this row");
    let keys = finding_keys(&out);
    assert_eq!(count_findings_of(&keys, label), 0, "no count finding for a counted label");
    let cov = coverage(&out);
    assert_eq!(cov["C11-0000003-LIC"], ("checked".into(), 271, 1), "1 of 271 is not over 1 %");
    let unknown = crate::common::read_table(&out, "count_rejects")
        .lazy()
        .filter(col("license").eq(lit("C11-0000003-LIC")))
        .collect()
        .unwrap();
    assert_eq!(unknown.height(), 1);
    assert_eq!(s(&unknown, "label", 0).as_deref(), Some(label));
}

#[test]
fn evidence_over_one_percent_rejected_leaves_significance_not_determined() {
    let dir = tempfile::tempdir().unwrap();
    // Four of 271 rows (1.5 %) lose their quantity.
    let counts = counts_with(dir.path(), "C11-0000003-LIC.csv", |t| {
        t.lines()
            .enumerate()
            .map(|(i, l)| {
                if (1..=4).contains(&i) {
                    let mut f: Vec<&str> = l.split(',').collect();
                    f[2] = "#N/A";
                    f.join(",")
                } else {
                    l.to_owned()
                }
            })
            .collect::<Vec<_>>()
            .join("\n")
    });
    let out = dir.path().join("out");
    let o = run(Some(&counts), &out, &[], 0);
    let keys = finding_keys(&out);
    assert!(
        !keys
            .keys()
            .any(|(r, l, _)| r == "count.significant_discrepancy" && l == "C11-0000003-LIC"),
        "no verdict where the counts are incomplete: {keys:?}"
    );
    let cov = coverage(&out);
    assert_eq!(cov["C11-0000003-LIC"], ("not_determined".into(), 271, 4));
    let summary = read(&out.join("summary.parquet"))
        .lazy()
        .filter(col("kind").eq(lit("quantity")).and(col("license").eq(lit("C11-0000003-LIC"))))
        .collect()
        .unwrap();
    assert!(summary.height() > 0);
    assert_eq!(summary.column("significant").unwrap().null_count(), summary.height());
    let err = stderr(&o);
    assert!(err.contains("Significance not determined at C11-0000003-LIC: 4 of its 271"), "{err}");
    for report in ["report.html", "report.md"] {
        let text = fs::read_to_string(out.join(report)).unwrap();
        assert!(text.contains("not determined"), "{report}");
    }
}

#[test]
fn evidence_sheet_named_by_a_person_takes_the_license_holding_its_labels() {
    let dir = tempfile::tempdir().unwrap();
    let plain = dir.path().join("plain");
    run(Some(&sample().join("counts")), &plain, &["--quiet"], 0);
    let counts = dir.path().join("counts");
    fs::create_dir_all(&counts).unwrap();
    fs::copy(
        sample().join("counts/C11-0000001-LIC.csv"),
        counts.join("October count 2026-10-29.csv"),
    )
    .unwrap();
    fs::copy(sample().join("counts/C11-0000003-LIC.csv"), counts.join("C11-0000003-LIC.csv"))
        .unwrap();
    let out = dir.path().join("out");
    let o = run(Some(&counts), &out, &["--quiet"], 0);
    assert_eq!(finding_keys(&out), finding_keys(&plain));
    let err = stderr(&o);
    assert!(
        err.contains("`October count 2026-10-29.csv`") && err.contains("C11-0000001-LIC"),
        "{err}"
    );
    let md = fs::read_to_string(out.join("report.md")).unwrap();
    assert!(md.contains("so its rows are counted at C11-0000001-LIC"), "{md}");
    assert!(!coverage(&out).contains_key("October count 2026-10-29"));
}

#[test]
fn evidence_sheet_whose_labels_no_license_holds_is_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let sheet = dir.path().join("inventory.csv");
    fs::write(&sheet, "Tag,Qty,UOM,Counted At\nZZZZ0000000000000000001,1,g,2026-10-29\n").unwrap();
    let o = run(Some(&sheet), &dir.path().join("out"), &["--quiet"], 2);
    let err = stderr(&o);
    assert!(err.contains("inventory.csv") && err.contains("C11-0000002-LIC"), "{err}");
    assert!(!dir.path().join("out/findings.parquet").exists());
}

/// Every count row of C11-0000001-LIC was read at 2026-10-29 17:00 PDT (`--counted-at`).
fn assert_counted_at_5pm_oct_29(out: &Path) {
    let c = crate::common::read_table(out, "counts")
        .lazy()
        .filter(col("license").eq(lit("C11-0000001-LIC")))
        .select([col("counted_at").min().alias("lo"), col("counted_at").max().alias("hi")])
        .collect()
        .unwrap();
    let at = crate::common::utc_us("2026-10-30T00:00:00Z");
    assert_eq!(crate::common::ts(&c, "lo", 0), Some(at));
    assert_eq!(crate::common::ts(&c, "hi", 0), Some(at));
}

#[test]
fn evidence_sheet_without_count_time_needs_counted_at() {
    let dir = tempfile::tempdir().unwrap();
    // The Metrc grid export without its count time (the last column).
    let counts = counts_with(dir.path(), "C11-0000001-LIC.csv", |t| {
        t.lines()
            .map(|l| l.rsplit_once(',').map_or(l, |(a, _)| a).to_owned())
            .collect::<Vec<_>>()
            .join("\n")
    });
    let o = run(Some(&counts), &dir.path().join("out"), &["--quiet"], 2);
    let err = stderr(&o);
    assert!(err.contains("C11-0000001-LIC.csv") && err.contains("--counted-at"), "{err}");
    let out = dir.path().join("out2");
    run(Some(&counts), &out, &["--quiet", "--counted-at", "2026-10-29T17:00"], 0);
    assert_counted_at_5pm_oct_29(&out);
    let m = crate::common::manifest(&out);
    assert!(m["rerun"].as_str().unwrap().contains("--counted-at 2026-10-29T17:00"));
}

/// The sample sheet `t` with `cell` as the count time (its last column) of every row.
fn with_count_times(t: &str, cell: &str) -> String {
    t.lines()
        .enumerate()
        .map(|(i, l)| match (i, l.rsplit_once(',')) {
            (1.., Some((a, _))) => format!("{a},{cell}"),
            _ => l.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// A count-time column left blank on every row of a license gives no moment to judge the
/// count at: exit 2 naming the sheet and the license, not findings against today's
/// quantities. `--counted-at` fills the blank cells.
#[test]
fn evidence_blank_count_times_need_counted_at() {
    let dir = tempfile::tempdir().unwrap();
    let counts = counts_with(dir.path(), "C11-0000001-LIC.csv", |t| with_count_times(t, ""));
    let out = dir.path().join("out");
    let o = run(Some(&counts), &out, &["--quiet"], 2);
    let err = stderr(&o);
    assert!(
        err.contains("C11-0000001-LIC.csv")
            && err.contains("license C11-0000001-LIC")
            && err.contains("--counted-at"),
        "{err}"
    );
    assert!(!out.join("findings.parquet").exists());
    run(Some(&counts), &out, &["--quiet", "--counted-at", "2026-10-29T17:00"], 0);
    assert_counted_at_5pm_oct_29(&out);
}

/// A sheet whose every count time is unreadable rejects its rows (each with its line) and
/// leaves the license's count "not determined"; it is not the blank-time input error.
#[test]
fn evidence_unreadable_count_times_are_rejects_not_an_input_error() {
    let dir = tempfile::tempdir().unwrap();
    let counts =
        counts_with(dir.path(), "C11-0000001-LIC.csv", |t| with_count_times(t, "yesterday"));
    let rows = fs::read_to_string(counts.join("C11-0000001-LIC.csv")).unwrap().lines().count() - 1;
    let out = dir.path().join("out");
    run(Some(&counts), &out, &["--quiet"], 0);
    let rejects = read(&out.join("rejects.parquet"));
    let of_sheet = (0..rejects.height())
        .filter(|&i| s(&rejects, "source_file", i).as_deref() == Some("C11-0000001-LIC.csv"))
        .count();
    assert_eq!(of_sheet, rows);
    let (status, n, rejected) = coverage(&out)["C11-0000001-LIC"].clone();
    assert_eq!((n, rejected), (rows as i64, rows as i64));
    assert_eq!(status, "not_determined");
}

#[test]
fn evidence_old_excel_workbook_is_exit_2_not_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let counts = counts_with(dir.path(), "", ToOwned::to_owned);
    fs::write(counts.join("november.xls"), b"\xd0\xcf\x11\xe0").unwrap();
    let o = run(Some(&counts), &dir.path().join("out"), &["--quiet"], 2);
    assert!(stderr(&o).contains("november.xls"), "{}", stderr(&o));
}

#[test]
fn evidence_stray_quote_rejects_its_line_and_loses_no_other() {
    let dir = tempfile::tempdir().unwrap();
    let label = "1A4FF0100001000000000004";
    let counts = counts_with(dir.path(), "C11-0000001-LIC.csv", |t| {
        t.replace(&format!("{label},Sales Floor"), &format!("{label},\"Sales Floor"))
    });
    let out = dir.path().join("out");
    run(Some(&counts), &out, &["--quiet"], 0);
    let m = crate::common::manifest(&out);
    let input = m["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["path"] == "C11-0000001-LIC.csv")
        .unwrap()
        .clone();
    let sheet = fs::read_to_string(sample().join("counts").join("C11-0000001-LIC.csv")).unwrap();
    let data_lines = sheet.lines().filter(|l| !l.trim().is_empty()).count() - 1;
    assert_eq!(input["rows_in"], data_lines, "every data line is a row read or rejected");
    assert_eq!(input["rows_rejected"], 2, "the sample's bad quantity and this row");
    let keys = finding_keys(&out);
    assert_eq!(count_findings_of(&keys, label), 0);
    let plain = dir.path().join("plain");
    run(Some(&sample().join("counts")), &plain, &["--quiet"], 0);
    let without = |k: BTreeMap<(String, String, String), usize>| -> BTreeMap<_, _> {
        k.into_iter()
            .filter(|((r, _, l), _)| l != label && r != "count.significant_discrepancy")
            .collect()
    };
    assert_eq!(without(keys), without(finding_keys(&plain)));
}

/// `--sheet NAME` picks a worksheet of a workbook holding several count tables; a name the
/// workbook does not have is exit 2 listing its worksheets.
#[test]
fn evidence_sheet_option_picks_the_worksheet() {
    let dir = tempfile::tempdir().unwrap();
    let counts = dir.path().join("counts");
    fs::create_dir_all(&counts).unwrap();
    let text = fs::read_to_string(sample().join("counts/C11-0000001-LIC.csv")).unwrap();
    let mut book = rust_xlsxwriter::Workbook::new();
    for (name, keep) in [("September", 5usize), ("October", usize::MAX)] {
        let ws = book.add_worksheet();
        ws.set_name(name).unwrap();
        for (r, line) in text.lines().take(keep).enumerate() {
            for (c, cell) in line.split(',').enumerate() {
                ws.write_string(r as u32, c as u16, cell).unwrap();
            }
        }
    }
    book.save(counts.join("C11-0000001-LIC.xlsx")).unwrap();
    fs::copy(sample().join("counts/C11-0000003-LIC.csv"), counts.join("C11-0000003-LIC.csv"))
        .unwrap();
    let plain = dir.path().join("plain");
    run(Some(&sample().join("counts")), &plain, &["--quiet"], 0);
    let out = dir.path().join("out");
    run(Some(&counts), &out, &["--quiet", "--sheet", "October"], 0);
    assert_eq!(finding_keys(&out), finding_keys(&plain));
    let m = crate::common::manifest(&out);
    let read_as = m["inputs"].as_array().unwrap().iter().find_map(|i| i["read_as"].as_str());
    assert!(read_as.is_some_and(|r| r.contains("worksheet `October`")), "{read_as:?}");
    let o = run(Some(&counts), &dir.path().join("bad"), &["--quiet", "--sheet", "Nov"], 2);
    let err = stderr(&o);
    assert!(
        err.contains("no worksheet named `Nov`") && err.contains("September, October"),
        "{err}"
    );
}

/// The sample's export with `edit` applied to a copy, run with the sample's counts.
fn run_on_export(dir: &Path, edit: impl Fn(&Path), extra: &[&str]) -> (PathBuf, Output) {
    let export = dir.join("export");
    crate::common::copy_tree(&sample().join("export"), &export);
    edit(&export);
    let out = dir.join("out");
    let c = sample().join("counts");
    let mut args =
        vec!["run", "--export", export.to_str().unwrap(), "--out", out.to_str().unwrap()];
    args.extend(["--counts", c.to_str().unwrap()]);
    args.extend(extra);
    let o = run_expect(&args, 0);
    (out, o)
}

/// `(rule, license, label)` → findings, of the count family at `license`.
fn count_findings_at(out: &Path, license: &str) -> usize {
    finding_keys(out)
        .iter()
        .filter(|((r, l, _), _)| r.starts_with("count.") && l == license)
        .count()
}

/// A counted license whose export has no sales file while others have one cannot be put
/// back to the count's moment: its count family is not checked (no finding, the summary
/// names the file, the closing paragraph says what to add), and nothing else changes.
/// An empty sales file is evidence of no sales: then it is checked.
#[test]
fn evidence_export_without_the_sales_file_is_not_checked() {
    let dir = tempfile::tempdir().unwrap();
    let (full, _) = run_on_export(&dir.path().join("a"), |_| {}, &["--quiet"]);
    let lic = "C11-0000001-LIC";
    assert!(count_findings_at(&full, lic) > 0);
    let (out, o) = run_on_export(
        &dir.path().join("b"),
        |e| fs::remove_file(e.join(lic).join("sales.json")).unwrap(),
        &[],
    );
    assert_eq!(count_findings_at(&out, lic), 0);
    let df = crate::common::summary_rows(&out, "coverage");
    let row = (0..df.height()).find(|&i| s(&df, "license", i).as_deref() == Some(lic)).unwrap();
    assert_eq!(s(&df, "count_status", row).as_deref(), Some("not_checked"));
    assert_eq!(s(&df, "count_lacks", row).as_deref(), Some("sales"));
    let err = stderr(&o);
    assert!(err.contains(&format!("Inventory at {lic} not checked")), "{err}");
    assert!(err.contains("its export has no sales file"), "{err}");
    let md = fs::read_to_string(out.join("report.md")).unwrap();
    assert!(md.contains("not checked: its export has no sales file"), "{md}");
    // The other licenses' findings are the full run's.
    let others = |o: &Path| -> Vec<_> {
        finding_keys(o).into_iter().filter(|((_, l, _), _)| l != lic).collect()
    };
    assert_eq!(others(&out), others(&full));

    let (empty, _) = run_on_export(
        &dir.path().join("c"),
        |e| fs::write(e.join(lic).join("sales.json"), "[]").unwrap(),
        &["--quiet"],
    );
    assert_eq!(coverage(&empty)[lic].0, "checked");
}

/// A license counted but absent from the export is not judged against an empty system
/// (every counted package "missing in system"): its count family is not checked.
#[test]
fn evidence_counted_license_missing_from_the_export_is_not_checked() {
    let dir = tempfile::tempdir().unwrap();
    let lic = "C11-0000003-LIC";
    let (out, o) = run_on_export(dir.path(), |e| fs::remove_dir_all(e.join(lic)).unwrap(), &[]);
    assert_eq!(count_findings_at(&out, lic), 0);
    let (status, rows, _) = coverage(&out)[lic].clone();
    assert_eq!(status, "not_checked");
    assert!(rows > 0);
    assert!(stderr(&o).contains("the export has no packages file for it"), "{}", stderr(&o));
}
