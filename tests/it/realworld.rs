//! Count sheets as operators keep them (SPEC 2.2): the bundled sample's sheets and the
//! generator's sheets, restyled in every `SheetStyle` (encodings, delimiters, title rows,
//! Metrc grid names, units in cells, XLSX...), must give exactly the findings, summary and
//! count rows of the plain sheets. Compared on what does not depend on a sheet's shape:
//! not run ids, source files, line numbers or the `detail` text that quotes them.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::OnceLock;

use polars::prelude::*;
use tagtrail::generate::sheet_style::{SheetStyle, restyle_folder};

use crate::common::{read, read_table, tagtrail};

/// What a run concluded about the counts, in a form independent of the sheets' shape.
#[derive(Debug, Clone, PartialEq)]
struct Outcome {
    /// rule, license, label, related label, reference, severity, system, counted, variance.
    findings: Vec<Vec<String>>,
    /// license, kind, rule, findings, quantity type, unit, totals, significant.
    summary: Vec<Vec<String>>,
    /// Every column of the `counts` lake table except `source_file` and `record`.
    counts: Vec<Vec<String>>,
    /// Count sheet rows accepted and rejected, over all sheets (manifest).
    rows: (u64, u64),
}

/// Cells of `cols` of every row, floats rounded to 1e-6, rows sorted.
fn rows_of(df: &DataFrame, cols: &[&str]) -> Vec<Vec<String>> {
    let cols: Vec<&Column> = cols.iter().map(|c| df.column(c).unwrap()).collect();
    let mut rows: Vec<Vec<String>> = (0..df.height())
        .map(|i| {
            cols.iter()
                .map(|c| match c.get(i).unwrap() {
                    AnyValue::Float64(x) => format!("{x:.6}"),
                    AnyValue::Null => "null".to_owned(),
                    AnyValue::String(s) => s.to_owned(),
                    v => v.to_string(),
                })
                .collect()
        })
        .collect();
    rows.sort();
    rows
}

/// `tagtrail run` on `export` + `counts` into `out`; an exit code other than 0 is the
/// error (with stderr), so a style the reader refuses shows what it said.
fn outcome(export: &Path, counts: &Path, out: &Path) -> Result<Outcome, String> {
    let o = tagtrail()
        .args(["run", "--quiet", "--export"])
        .arg(export)
        .arg("--counts")
        .arg(counts)
        .arg("--out")
        .arg(out)
        .output()
        .unwrap();
    if o.status.code() != Some(0) {
        return Err(format!(
            "tagtrail run exited {:?}: {}",
            o.status.code(),
            String::from_utf8_lossy(&o.stderr).trim()
        ));
    }
    let findings = rows_of(
        &read(&out.join("findings.parquet")),
        &[
            "rule_id",
            "license",
            "package_label",
            "related_label",
            "reference",
            "severity",
            "system_quantity",
            "counted_quantity",
            "variance",
        ],
    );
    let summary = rows_of(
        &read(&out.join("summary.parquet")),
        &[
            "license",
            "kind",
            "rule_id",
            "findings",
            "quantity_type",
            "unit",
            "system_total",
            "counted_total",
            "significant",
        ],
    );
    let lake = read_table(out, "counts");
    let cols: Vec<&str> = lake
        .get_column_names()
        .into_iter()
        .map(PlSmallStr::as_str)
        .filter(|c| !matches!(*c, "source_file" | "record"))
        .collect();
    let counts = rows_of(&lake, &cols);
    let mut rows = (0, 0);
    for input in crate::common::manifest(out)["inputs"].as_array().unwrap() {
        if input["root"] == "counts" {
            rows.0 += input["rows_accepted"].as_u64().unwrap();
            rows.1 += input["rows_rejected"].as_u64().unwrap();
        }
    }
    Ok(Outcome { findings, summary, counts, rows })
}

/// Rows of `got` and `want` that differ (first 8 of each side), for a readable failure.
fn diff(what: &str, got: &[Vec<String>], want: &[Vec<String>]) -> Option<String> {
    if got == want {
        return None;
    }
    let mut g: BTreeMap<&Vec<String>, i64> = BTreeMap::new();
    for r in got {
        *g.entry(r).or_default() += 1;
    }
    for r in want {
        *g.entry(r).or_default() -= 1;
    }
    let extra: Vec<_> = g.iter().filter(|(_, n)| **n > 0).map(|(r, _)| r).take(8).collect();
    let missing: Vec<_> = g.iter().filter(|(_, n)| **n < 0).map(|(r, _)| r).take(8).collect();
    Some(format!(
        "{what}: {} rows, expected {}\n  unexpected: {extra:?}\n  missing: {missing:?}",
        got.len(),
        want.len()
    ))
}

/// Panics with every difference between the outcomes of `style` and of the plain sheets.
fn assert_same(style: &str, got: &Outcome, want: &Outcome) {
    let problems: Vec<String> = [
        diff("findings", &got.findings, &want.findings),
        diff("summary", &got.summary, &want.summary),
        diff("counts rows", &got.counts, &want.counts),
        (got.rows != want.rows).then(|| {
            format!(
                "count sheet rows (accepted, rejected) {:?}, expected {:?}",
                got.rows, want.rows
            )
        }),
    ]
    .into_iter()
    .flatten()
    .collect();
    assert!(
        problems.is_empty(),
        "style {style}: differs from the plain sheets\n{}",
        problems.join("\n")
    );
}

fn sample() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("data").join("sample")
}

/// Restyles `src` into `dest` in `style`, asserting no sheet fell back to plain (a
/// fallback would make the test weaker without saying so).
fn restyle_into(src: &Path, dest: &Path, style: SheetStyle) {
    let written = restyle_folder(src, dest, style).unwrap();
    assert!(!written.is_empty(), "no sheet in {}", src.display());
    for (file, used, _) in &written {
        assert_eq!(*used, style, "{file} fell back from {}", style.name());
    }
}

/// The sample's sheets restyled plain (that is, with accented locations): the reference.
fn sample_reference() -> &'static Outcome {
    static REF: OnceLock<Outcome> = OnceLock::new();
    REF.get_or_init(|| {
        let tmp = tempfile::tempdir().unwrap();
        let counts = tmp.path().join("counts");
        restyle_into(&sample().join("counts"), &counts, SheetStyle::Plain);
        outcome(&sample().join("export"), &counts, &tmp.path().join("out"))
            .expect("the plain sample runs")
    })
}

fn check_sample(style: SheetStyle) {
    let tmp = tempfile::tempdir().unwrap();
    let counts = tmp.path().join("counts");
    restyle_into(&sample().join("counts"), &counts, style);
    let got = outcome(&sample().join("export"), &counts, &tmp.path().join("out"))
        .unwrap_or_else(|e| panic!("style {}: {e}", style.name()));
    assert_same(style.name(), &got, sample_reference());
}

/// The harness itself: the accented plain sheets give the findings and summary of the
/// bundled sheets as they are (only location text differs), and the reader reads
/// every accented location back.
#[test]
fn realworld_sample_accented_plain_matches_bundled_counts() {
    let tmp = tempfile::tempdir().unwrap();
    let raw = outcome(&sample().join("export"), &sample().join("counts"), tmp.path()).unwrap();
    let want = sample_reference();
    assert_eq!(raw.findings, want.findings);
    assert_eq!(raw.summary, want.summary);
    assert_eq!(raw.rows, want.rows);
    assert_eq!(raw.counts.len(), want.counts.len());
    let accented = want.counts.iter().flatten().filter(|c| c.contains("Bodega Café")).count();
    assert!(accented > 0, "no accented location was read back");
}

macro_rules! sample_style_tests {
    ($($name:ident => $style:expr,)*) => {$(
        #[test]
        fn $name() {
            check_sample($style);
        }
    )*};
}

sample_style_tests! {
    realworld_sample_plain => SheetStyle::Plain,
    realworld_sample_utf8_bom => SheetStyle::Utf8Bom,
    realworld_sample_utf16le_tab => SheetStyle::Utf16LeTab,
    realworld_sample_utf16be => SheetStyle::Utf16Be,
    realworld_sample_cp1252 => SheetStyle::Cp1252,
    realworld_sample_cp1252_semicolon => SheetStyle::Cp1252Semicolon,
    realworld_sample_tab_utf8 => SheetStyle::TabUtf8,
    realworld_sample_pipe => SheetStyle::Pipe,
    realworld_sample_preamble => SheetStyle::Preamble,
    realworld_sample_metrc_grid => SheetStyle::MetrcGrid,
    realworld_sample_qty_with_unit => SheetStyle::QtyWithUnit,
    realworld_sample_qty_with_unit_and_column => SheetStyle::QtyWithUnitAndColumn,
    realworld_sample_thousands => SheetStyle::Thousands,
    realworld_sample_lowercase_labels => SheetStyle::LowercaseLabels,
    realworld_sample_file_named => SheetStyle::FileNamed,
    realworld_sample_xlsx_second_sheet => SheetStyle::XlsxSecondSheet,
    realworld_sample_mixed => SheetStyle::Mixed,
}

// ----------------------------------------------------------- generated data vs truth

/// `tagtrail generate` (4 licenses, 3000 packages, seed 7) with `--sheet-style STYLE`.
fn generate(out: &Path, style: &str) {
    let out = out.to_str().unwrap();
    let args = [
        "generate",
        "--quiet",
        "--out",
        out,
        "--licenses",
        "4",
        "--packages",
        "3000",
        "--seed",
        "7",
        "--format",
        "jsonl",
        "--sheet-style",
        style,
    ];
    crate::common::run_expect(&args, 0);
}

/// The generator's own sheets, restyled in `style` by `generate --sheet-style`, give the
/// findings of `truth.csv` exactly, the export's planted rejects exactly, and as many
/// count-sheet rejects as were planted (their lines and columns depend on the shape).
fn check_truth(style: SheetStyle) {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let out = tmp.path().join("out");
    generate(&data, style.name());
    let counts = data.join("counts-realworld").join(style.name());
    assert!(counts.is_dir(), "generate wrote no {}", counts.display());
    let o = tagtrail()
        .args(["run", "--quiet", "--export"])
        .arg(data.join("export"))
        .arg("--counts")
        .arg(&counts)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "style {}: tagtrail run exited {:?}: {}",
        style.name(),
        o.status.code(),
        String::from_utf8_lossy(&o.stderr).trim()
    );
    let (want, got) =
        (crate::common::truth_keys(&data), crate::common::finding_keys_with_severity(&out));
    if got != want {
        let missed: Vec<_> = want.iter().filter(|(k, n)| got.get(*k) != Some(n)).take(10).collect();
        let extra: Vec<_> = got.iter().filter(|(k, n)| want.get(*k) != Some(n)).take(10).collect();
        panic!(
            "style {}: findings differ from truth.csv\nmissed (first 10): {missed:?}\nunplanted \
             (first 10): {extra:?}",
            style.name()
        );
    }
    // Planted rejects: the export's exactly; the count sheets' by number.
    let plain_sheets: Vec<String> = std::fs::read_dir(data.join("counts"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    let text = std::fs::read_to_string(data.join("expected_rejects.csv")).unwrap();
    let (mut want_export, mut want_counts) = (Vec::new(), 0u64);
    for l in text.lines().skip(1) {
        let f: Vec<&str> = l.splitn(4, ',').collect();
        if plain_sheets.iter().any(|s| s == f[0]) {
            want_counts += 1;
        } else {
            want_export.push((f[0].to_owned(), f[1].parse::<i64>().unwrap(), f[2].to_owned()));
        }
    }
    let manifest = crate::common::manifest(&out);
    let sheets: Vec<&str> = manifest["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["root"] == "counts")
        .map(|i| i["path"].as_str().unwrap())
        .collect();
    let rej = read(&out.join("rejects.parquet"));
    let (mut got_export, mut got_counts) = (Vec::new(), 0u64);
    for i in 0..rej.height() {
        let file = crate::common::s(&rej, "source_file", i).unwrap();
        if sheets.contains(&file.as_str()) {
            got_counts += 1;
        } else {
            let record = rej.column("record").unwrap().i64().unwrap().get(i).unwrap();
            got_export.push((file, record, crate::common::s(&rej, "column", i).unwrap()));
        }
    }
    want_export.sort();
    got_export.sort();
    assert_eq!(got_export, want_export, "style {}: export rejects", style.name());
    assert_eq!(got_counts, want_counts, "style {}: count sheet rejects", style.name());
}

macro_rules! truth_style_tests {
    ($($name:ident => $style:expr,)*) => {$(
        #[test]
        fn $name() {
            check_truth($style);
        }
    )*};
}

truth_style_tests! {
    realworld_truth_plain => SheetStyle::Plain,
    realworld_truth_utf8_bom => SheetStyle::Utf8Bom,
    realworld_truth_utf16le_tab => SheetStyle::Utf16LeTab,
    realworld_truth_utf16be => SheetStyle::Utf16Be,
    realworld_truth_cp1252 => SheetStyle::Cp1252,
    realworld_truth_cp1252_semicolon => SheetStyle::Cp1252Semicolon,
    realworld_truth_tab_utf8 => SheetStyle::TabUtf8,
    realworld_truth_pipe => SheetStyle::Pipe,
    realworld_truth_preamble => SheetStyle::Preamble,
    realworld_truth_metrc_grid => SheetStyle::MetrcGrid,
    realworld_truth_qty_with_unit => SheetStyle::QtyWithUnit,
    realworld_truth_qty_with_unit_and_column => SheetStyle::QtyWithUnitAndColumn,
    realworld_truth_thousands => SheetStyle::Thousands,
    realworld_truth_lowercase_labels => SheetStyle::LowercaseLabels,
    realworld_truth_file_named => SheetStyle::FileNamed,
    realworld_truth_xlsx_second_sheet => SheetStyle::XlsxSecondSheet,
    realworld_truth_mixed => SheetStyle::Mixed,
}

/// `--sheet-style realworld` adds one complete folder per style and changes nothing
/// else; without it no `counts-realworld/` is written (and a stale one is removed).
#[test]
fn realworld_generate_adds_folders_and_keeps_default_output() {
    let tmp = tempfile::tempdir().unwrap();
    let (plain, styled) = (tmp.path().join("plain"), tmp.path().join("styled"));
    crate::common::generate(&plain, 4, 3_000, 7, "jsonl");
    generate(&styled, "realworld");
    assert!(!plain.join("counts-realworld").exists());
    for rel in ["truth.csv", "expected_rejects.csv"] {
        assert_eq!(
            std::fs::read(plain.join(rel)).unwrap(),
            std::fs::read(styled.join(rel)).unwrap()
        );
    }
    for dir in ["export", "counts"] {
        assert_eq!(tree(&plain.join(dir)), tree(&styled.join(dir)), "{dir}/ differs");
    }
    let sheets = std::fs::read_dir(plain.join("counts")).unwrap().count();
    for style in SheetStyle::ALL {
        let d = styled.join("counts-realworld").join(style.name());
        let n = std::fs::read_dir(&d).map(Iterator::count).unwrap_or(0);
        assert_eq!(n, sheets, "{}: one file per sheet", d.display());
    }
    // Generating again without the option removes the stale restyled sheets.
    crate::common::generate(&styled, 4, 3_000, 7, "jsonl");
    assert!(!styled.join("counts-realworld").exists());
}

/// Relative path → bytes of every file under `dir`.
fn tree(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut m = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let rel = p.strip_prefix(dir).unwrap().display().to_string();
                m.insert(rel, std::fs::read(&p).unwrap());
            }
        }
    }
    m
}
