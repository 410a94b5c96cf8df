//! The licensee's records behind the reconciliation duties (SPEC 2.2b): `--users` and
//! `--outages` become the lake tables `users` and `outages`, listed in the manifest with
//! their SHA-256; unreadable rows go to rejects with their line; inverted or overlapping
//! outage windows stop the run naming the row; without the files the duties are "not
//! checked" in the summary, never a clean result.

use std::fs;
use std::path::{Path, PathBuf};

use polars::prelude::*;

use crate::common::{manifest, read, read_table, run_expect, s};

fn sample() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("data").join("sample")
}

fn run(out: &Path, extra: &[&str], code: i32) -> std::process::Output {
    run_on(&sample(), out, extra, code)
}

/// `tagtrail run` on `data`'s export and counts.
fn run_on(data: &Path, out: &Path, extra: &[&str], code: i32) -> std::process::Output {
    let (e, c) = (data.join("export"), data.join("counts"));
    let mut args = vec![
        "run",
        "--quiet",
        "--export",
        e.to_str().unwrap(),
        "--counts",
        c.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend(extra);
    run_expect(&args, code)
}

/// `license → (overdue, users, outages)` statuses of the summary's coverage rows.
fn duty_statuses(out: &Path) -> Vec<(String, String, String, String)> {
    let df = crate::common::summary_rows(out, "coverage");
    (0..df.height())
        .map(|i| {
            (
                s(&df, "license", i).unwrap(),
                s(&df, "overdue_status", i).unwrap_or_default(),
                s(&df, "users_status", i).unwrap_or_default(),
                s(&df, "outages_status", i).unwrap_or_default(),
            )
        })
        .collect()
}

#[test]
fn duties_files_become_lake_tables_with_rejects_and_manifest_entries() {
    let tmp = tempfile::tempdir().unwrap();
    let users = tmp.path().join("users.csv");
    // a title row, semicolons, aliases; line 5 has an unreadable date, line 6 no name
    fs::write(
        &users,
        "Authorised users\n\nLicense;Employee;Authorized From;Authorized To\n\
         c11-0000001-lic;Dana Whitfield;2025-01-01;\nC11-0000001-LIC;Ray Ng;2025-02-30;\n\
         C11-0000001-LIC;;;\nC11-9999999-LIC;Someone;;\n",
    )
    .unwrap();
    let outages = tmp.path().join("outages.csv");
    fs::write(
        &outages,
        "License,LostAt,RestoredAt,Cause\nC11-0000001-LIC,2026-03-10T08:00,2026-03-10T14:00,\n\
         C11-0000001-LIC,,2026-03-11T14:00,power\n",
    )
    .unwrap();
    let out = tmp.path().join("out");
    let o =
        run(&out, &["--users", users.to_str().unwrap(), "--outages", outages.to_str().unwrap()], 0);
    drop(o);
    let u = read_table(&out, "users");
    assert_eq!(u.height(), 1, "{u}");
    assert_eq!(s(&u, "user_key", 0).as_deref(), Some("danawhitfield"));
    assert_eq!(s(&u, "license", 0).as_deref(), Some("C11-0000001-LIC"));
    let o = read_table(&out, "outages");
    assert_eq!(o.height(), 1);
    assert_eq!(s(&o, "restored_local", 0).as_deref(), Some("2026-03-10 14:00"));
    let rej = read(&out.join("rejects.parquet"));
    let mut rows: Vec<(String, i64, String)> = (0..rej.height())
        .filter(|&i| {
            s(&rej, "source_file", i).is_some_and(|f| f == "users.csv" || f == "outages.csv")
        })
        .map(|i| {
            (
                s(&rej, "source_file", i).unwrap(),
                rej.column("record").unwrap().i64().unwrap().get(i).unwrap(),
                s(&rej, "column", i).unwrap(),
            )
        })
        .collect();
    rows.sort();
    assert_eq!(
        rows,
        [
            ("outages.csv".into(), 3, "LostAt".into()),
            ("users.csv".into(), 5, "AuthorizedFrom".into()),
            ("users.csv".into(), 6, "UserName".into()),
        ]
    );
    let m = manifest(&out);
    let inputs = m["inputs"].as_array().unwrap();
    for (root, rows_in, accepted) in [("users", 4, 2), ("outages", 2, 1)] {
        let i = inputs.iter().find(|i| i["root"] == root).unwrap_or_else(|| panic!("{root}"));
        assert_eq!(i["sha256"].as_str().unwrap().len(), 64);
        assert_eq!(
            (i["rows_in"].as_u64(), i["rows_accepted"].as_u64()),
            (Some(rows_in), Some(accepted))
        );
    }
    assert!(
        m["notes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n.as_str().unwrap().contains("C11-9999999-LIC")),
        "the license outside the export is said: {}",
        m["notes"]
    );
    // users listed for one license: the others are not checked for that rule
    let st = duty_statuses(&out);
    assert!(st.iter().any(|r| r.0 == "C11-0000001-LIC" && r.2 == "checked" && r.3 == "checked"));
    assert!(
        st.iter().any(|r| r.0 == "C11-0000002-LIC" && r.2 == "not_checked" && r.3 == "checked")
    );
}

#[test]
fn duties_without_the_files_are_not_checked() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    run(&out, &[], 0);
    let st = duty_statuses(&out);
    assert!(!st.is_empty());
    for (lic, overdue, users, outages) in &st {
        assert_eq!((users.as_str(), outages.as_str()), ("not_checked", "not_checked"), "{lic}");
        // the sample has no count sheet for C11-0000002-LIC: never overdue by guess
        let want = if lic == "C11-0000002-LIC" { "not_checked" } else { "checked" };
        assert_eq!(overdue, want, "{lic}");
    }
    assert_eq!(read_table(&out, "users").height(), 0);
    assert_eq!(read_table(&out, "outages").height(), 0);
}

#[test]
fn duties_inverted_or_overlapping_outages_stop_the_run_naming_the_row() {
    let tmp = tempfile::tempdir().unwrap();
    for (name, text, line) in [
        (
            "inverted.csv",
            "License,LostAt,RestoredAt,Cause\nC11-0000001-LIC,2026-03-10T14:00,2026-03-10T08:00,x\n",
            "line 2",
        ),
        (
            "overlap.csv",
            "License,LostAt,RestoredAt,Cause\nC11-0000001-LIC,2026-03-10T08:00,2026-03-10T14:00,x\n\
             C11-0000001-LIC,2026-03-10T13:00,2026-03-10T15:00,y\n",
            "line 3",
        ),
    ] {
        let f = tmp.path().join(name);
        fs::write(&f, text).unwrap();
        let out = tmp.path().join(format!("out-{name}"));
        let o = run(&out, &["--outages", f.to_str().unwrap()], 2);
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains(name) && err.contains(line), "{name}: {err}");
        assert!(!out.join("findings.parquet").exists(), "{name}: no partial output");
    }
}

/// With `--previous`, the counts of the earlier runs of the chain are known counts too: a
/// gap between last month's count and this month's is found, and carried along the chain
/// by the summary's `known_count` rows.
#[test]
fn duties_previous_counts_join_the_chain() {
    let tmp = tempfile::tempdir().unwrap();
    let case = crate::common::fixture("rules").join("count.reconciliation_overdue.quiet");
    let export = case.join("export");
    let sheet = |dir: &str, date: &str| -> PathBuf {
        let d = tmp.path().join(dir);
        fs::create_dir_all(&d).unwrap();
        fs::write(
            d.join("C11-0000001-LIC.csv"),
            format!(
                "Label,Quantity,UnitOfMeasure,Location,CountedAt,CountedBy\n\
                 1A4FF0100000022000000001,100,g,Vault A,{date}T17:00:00,Maria Reyes\n"
            ),
        )
        .unwrap();
        d
    };
    let run_month = |counts: &Path, out: &Path, previous: Option<&Path>| {
        let mut extra = vec!["--as-of", "2026-03-15"];
        if let Some(p) = previous {
            extra.extend(["--previous", p.to_str().unwrap()]);
        }
        crate::common::run_pipeline_with(&export, Some(counts), out, &extra);
    };
    let (m1, m2, m3) = (tmp.path().join("m1"), tmp.path().join("m2"), tmp.path().join("m3"));
    run_month(&sheet("c1", "2026-01-05"), &m1, None);
    run_month(&sheet("c2", "2026-02-20"), &m2, Some(&m1));
    run_month(&sheet("c3", "2026-03-10"), &m3, Some(&m2));
    let refs = |out: &Path| -> Vec<String> {
        let f = read(&out.join("findings.parquet"));
        let mut v: Vec<String> = (0..f.height())
            .filter(|&i| s(&f, "rule_id", i).as_deref() == Some("count.reconciliation_overdue"))
            .filter_map(|i| s(&f, "reference", i))
            .collect();
        v.sort();
        v
    };
    // month 1 alone: its count is more than 30 days before the as-of time
    assert_eq!(refs(&m1), ["since 2026-01-05"]);
    // month 2 knows month 1's count: the 46-day gap; its own count is recent enough
    assert_eq!(refs(&m2), ["2026-01-05 to 2026-02-20"]);
    // month 3 still knows month 1's count through month 2's summary
    assert_eq!(refs(&m3), ["2026-01-05 to 2026-02-20"]);
    let known = read(&m3.join("summary.parquet"))
        .lazy()
        .filter(col("kind").eq(lit("known_count")))
        .collect()
        .unwrap();
    assert_eq!(known.height(), 3, "{known}");
}

/// The "Reconciliation duties" table of report.html, report.md and the Duties sheet of
/// findings.xlsx: one row per license of the summary, with its latest known count date
/// (or "not checked"), users checked or not, and its outages with the late entries they
/// excused, as the summary says; the planted overdue license shows "over 30".
#[test]
fn duties_table_in_html_markdown_and_xlsx_equals_the_summary() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let d = data.to_str().unwrap();
    run_expect(
        &["generate", "--quiet", "--out", d, "--licenses", "4", "--packages", "3000", "--duties"],
        0,
    );
    let out = tmp.path().join("out");
    let (u, o) = (data.join("users.csv"), data.join("outages.csv"));
    run_on(&data, &out, &["--users", u.to_str().unwrap(), "--outages", o.to_str().unwrap()], 0);
    let cov = crate::common::summary_rows(&out, "coverage")
        .lazy()
        .select([
            col("license"),
            col("counted_date").cast(DataType::String),
            col("users_status"),
            col("outages"),
            col("outage_excused"),
        ])
        .collect()
        .unwrap();
    // license → the cells the tables must show
    let want: Vec<(String, String, String, String)> = (0..cov.height())
        .map(|i| {
            let n = |c: &str| cov.column(c).unwrap().i64().unwrap().get(i).unwrap();
            (
                s(&cov, "license", i).unwrap(),
                s(&cov, "counted_date", i).unwrap_or_else(|| "not checked: no count known".into()),
                if s(&cov, "users_status", i).as_deref() == Some("checked") {
                    "checked".to_owned()
                } else {
                    "not checked".to_owned()
                },
                format!("{} ({})", n("outages"), n("outage_excused")),
            )
        })
        .collect();
    assert_eq!(want.len(), 4);
    assert!(want.iter().any(|w| w.2 == "not checked"), "a license the users list lacks");
    assert!(want.iter().any(|w| w.3 != "0 (0)"), "an outage was planted");

    let html = fs::read_to_string(out.join("report.html")).unwrap();
    let table = &html[html.find("id=\"duties\"").expect("duties table")..];
    let table = &table[..table.find("</table>").unwrap()];
    let md = fs::read_to_string(out.join("report.md")).unwrap();
    let md_table = &md[md.find("### Reconciliation duties").expect("duties section")..];
    let xlsx: Vec<Vec<String>> = {
        use calamine::{Reader, Xlsx};
        let mut book: Xlsx<_> = calamine::open_workbook(out.join("findings.xlsx")).unwrap();
        let range = book.worksheet_range("Duties").expect("Duties sheet");
        range.rows().map(|r| r.iter().map(ToString::to_string).collect()).collect()
    };
    for (lic, date, users, outages) in &want {
        let html_row = table
            .split("<tr>")
            .find(|r| r.contains(&format!("<code>{lic}</code>")))
            .unwrap_or_else(|| panic!("{lic} in the HTML table"));
        for cell in [date, users, outages] {
            assert!(html_row.contains(&format!("<td>{cell}</td>")), "{lic} {cell}: {html_row}");
        }
        let md_row = md_table.lines().find(|l| l.contains(lic.as_str())).expect("markdown row");
        let md_cells: Vec<&str> = md_row.split('|').map(str::trim).collect();
        for cell in [date, users, outages] {
            assert!(md_cells.contains(&cell.as_str()), "{lic} {cell}: {md_row}");
        }
        let x = xlsx.iter().find(|r| r.first() == Some(lic)).expect("xlsx row");
        for cell in [date, users, outages] {
            assert!(x.contains(cell), "{lic} {cell}: {x:?}");
        }
    }
    assert!(table.contains("(over 30)"), "the planted overdue license: {table}");
}
