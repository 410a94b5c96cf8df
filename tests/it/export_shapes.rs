//! Exports as users hold them (SPEC 2.1): gzip-compressed files, files saved under Metrc's
//! endpoint names, single-object lookups, stray files, and `--export` at one license's
//! folder. Each shape is built from the bundled sample and must give the findings of the
//! plain export; a file that is not read is listed on stderr, in the manifest and in the
//! report.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use polars::prelude::*;

use crate::common::{read, read_table, real_fixtures, run_expect, run_pipeline};

const LIC: &str = "C11-0000001-LIC";

/// The bundled sample export.
fn sample_export() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("data").join("sample").join("export")
}

/// A copy of the sample export (only `licenses`, or all when empty) under `dir`.
fn copy_sample(dir: &Path, licenses: &[&str]) -> PathBuf {
    let export = dir.join("export");
    for lic in fs::read_dir(sample_export()).unwrap() {
        let lic = lic.unwrap().path();
        let name = lic.file_name().unwrap().to_string_lossy().into_owned();
        if !licenses.is_empty() && !licenses.contains(&&*name) {
            continue;
        }
        fs::create_dir_all(export.join(&name)).unwrap();
        for f in fs::read_dir(&lic).unwrap() {
            let f = f.unwrap().path();
            fs::copy(&f, export.join(&name).join(f.file_name().unwrap())).unwrap();
        }
    }
    export
}

/// Findings without `run_id` and `source_file` (they name the run and the file, which
/// differ by design), every row sorted on every column.
fn findings(out: &Path) -> DataFrame {
    let df = read(&out.join("findings.parquet"));
    let keep: Vec<PlSmallStr> = df
        .get_column_names()
        .into_iter()
        .filter(|c| !matches!(c.as_str(), "run_id" | "source_file"))
        .cloned()
        .collect();
    let df = df.select(keep.clone()).unwrap();
    let first = ["rule_id", "license", "package_label", "related_label", "reference"];
    let mut by: Vec<PlSmallStr> = first.iter().map(|c| PlSmallStr::from(*c)).collect();
    by.extend(keep.into_iter().filter(|c| !first.contains(&c.as_str())));
    df.sort(by, SortMultipleOptions::default().with_nulls_last(true)).unwrap()
}

/// Run the pipeline on `export` and assert its findings equal those of `plain`.
fn assert_same_findings(export: &Path, plain: &Path, out: &Path) {
    run_pipeline(export, None, out);
    let plain_out = out.with_extension("plain");
    if !plain_out.join("findings.parquet").exists() {
        run_pipeline(plain, None, &plain_out);
    }
    let (got, want) = (findings(out), findings(&plain_out));
    assert!(want.height() > 0, "the sample has findings");
    assert!(got.equals_missing(&want), "findings differ:\n{got}\nplain:\n{want}");
}

/// `tagtrail run` without `--quiet`: exit 0, and stderr.
fn run_loud(export: &Path, out: &Path) -> String {
    let (e, o) = (export.to_str().unwrap(), out.to_str().unwrap());
    let run = run_expect(&["run", "--export", e, "--out", o], 0);
    String::from_utf8_lossy(&run.stderr).into_owned()
}

/// The manifest's `unread` as (path, reason).
fn unread(out: &Path) -> Vec<(String, String)> {
    let m = crate::common::manifest(out);
    m["unread"]
        .as_array()
        .expect("manifest has `unread`")
        .iter()
        .map(|u| (u["path"].as_str().unwrap().to_owned(), u["reason"].as_str().unwrap().to_owned()))
        .collect()
}

fn gzip(path: &Path) -> PathBuf {
    let text = fs::read(path).unwrap();
    let gz = PathBuf::from(format!("{}.gz", path.display()));
    let mut e = flate2::write::GzEncoder::new(
        fs::File::create(&gz).unwrap(),
        flate2::Compression::default(),
    );
    e.write_all(&text).unwrap();
    e.finish().unwrap();
    fs::remove_file(path).unwrap();
    gz
}

#[test]
fn export_shapes_gzipped_files_give_the_same_findings() {
    let tmp = tempfile::tempdir().unwrap();
    let export = copy_sample(tmp.path(), &[]);
    for lic in fs::read_dir(&export).unwrap() {
        for f in fs::read_dir(lic.unwrap().path()).unwrap() {
            gzip(&f.unwrap().path());
        }
    }
    let out = tmp.path().join("out");
    assert_same_findings(&export, &sample_export(), &out);
    // The manifest names each file as stored: its hash and size are of the `.gz` on disk.
    let m = crate::common::manifest(&out);
    let inputs = m["inputs"].as_array().unwrap();
    assert_eq!(inputs.len(), 15, "{m}");
    for input in inputs {
        let rel = input["path"].as_str().unwrap();
        assert!(rel.ends_with(".json.gz"), "{rel}");
        let bytes = fs::read(export.join(rel)).unwrap();
        assert_eq!(input["bytes"], bytes.len() as u64, "{rel}");
        assert_eq!(input["sha256"].as_str().unwrap(), tagtrail::manifest::sha256_hex(&bytes));
        assert!(input["rows_in"].as_u64().unwrap() > 0, "{rel}");
    }
    assert!(unread(&out).is_empty());
}

#[test]
fn export_shapes_metrc_endpoint_names_give_the_same_findings() {
    let tmp = tempfile::tempdir().unwrap();
    let export = copy_sample(tmp.path(), &[]);
    for lic in fs::read_dir(&export).unwrap() {
        let dir = lic.unwrap().path();
        for (from, to) in [
            ("packages.json", "Packages_GetActivePackages.json"),
            ("adjustments.json", "Packages_GetAdjustments.json"),
            ("sales.json", "Sales_GetActiveReceipts.json"),
            ("transfers.json", "Transfers_GetIncomingTransfers.json"),
        ] {
            fs::rename(dir.join(from), dir.join(to)).unwrap();
        }
    }
    let out = tmp.path().join("out");
    assert_same_findings(&export, &sample_export(), &out);
    let m = crate::common::manifest(&out);
    let kind_of = |name: &str| {
        let i = m["inputs"].as_array().unwrap().iter();
        let mut kinds = i.filter(|i| i["path"].as_str().unwrap().ends_with(name));
        kinds.next().map(|i| i["kind"].as_str().unwrap().to_owned())
    };
    assert_eq!(kind_of("Packages_GetActivePackages.json").as_deref(), Some("packages"));
    assert_eq!(kind_of("Packages_GetAdjustments.json").as_deref(), Some("adjustments"));
    assert_eq!(kind_of("Sales_GetActiveReceipts.json").as_deref(), Some("sales"));
    assert_eq!(kind_of("Transfers_GetIncomingTransfers.json").as_deref(), Some("transfers"));
    assert!(unread(&out).is_empty());
}

/// The first package object of a license's packages file.
fn one_package(export: &Path) -> String {
    let text = fs::read_to_string(export.join(LIC).join("packages.json")).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let list = v.get("Data").unwrap_or(&v);
    serde_json::to_string_pretty(&list[0]).unwrap()
}

#[test]
fn export_shapes_single_object_lookup_is_listed_not_a_duplicate_package() {
    let tmp = tempfile::tempdir().unwrap();
    let export = copy_sample(tmp.path(), &[]);
    let lookup = export.join(LIC).join("Packages_GetPackageById.json");
    fs::write(&lookup, one_package(&export)).unwrap();
    let out = tmp.path().join("out");
    assert_same_findings(&export, &sample_export(), &out);
    let rel = format!("{LIC}/Packages_GetPackageById.json");
    let why = "single-object lookup, not a list of packages";
    assert_eq!(unread(&out), vec![(rel.clone(), why.to_owned())]);
    let md = fs::read_to_string(out.join("report.md")).unwrap();
    assert!(md.contains("Files not read"), "report.md lists unread files");
    assert!(md.contains(&rel.replace('_', "\\_")), "report.md names {rel}");
    let html = fs::read_to_string(out.join("report.html")).unwrap();
    assert!(html.contains("Files not read") && html.contains(&rel), "report.html names {rel}");
    let err = run_loud(&export, &tmp.path().join("out-loud"));
    assert!(err.contains(&rel) && err.contains(why), "stderr lists {rel}: {err}");

    // The same object saved under a list's name: seen to be a single object, not read,
    // listed; never a second copy of a listed package.
    fs::rename(&lookup, export.join(LIC).join("packages.2.json")).unwrap();
    let out = tmp.path().join("out-2");
    assert_same_findings(&export, &sample_export(), &out);
    let listed = unread(&out);
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0].0, format!("{LIC}/packages.2.json"));
    assert!(listed[0].1.contains("single JSON object"), "{listed:?}");

    // A license whose only packages file is a single object has no packages list: exit 2.
    fs::rename(export.join(LIC).join("packages.2.json"), export.join(LIC).join("packages.json"))
        .unwrap();
    let (e, o) = (export.to_str().unwrap(), tmp.path().join("out-3"));
    let run = run_expect(&["run", "--quiet", "--export", e, "--out", o.to_str().unwrap()], 2);
    let err = String::from_utf8_lossy(&run.stderr);
    assert!(err.contains(LIC) && err.contains("single JSON object"), "{err}");
}

#[test]
fn export_shapes_lab_results_endpoint_is_read() {
    let tmp = tempfile::tempdir().unwrap();
    let export = copy_sample(tmp.path(), &[]);
    let lab = export.join(LIC).join("LabTests_GetResults.json");
    fs::copy(real_fixtures().join("LabTests_GetResults.json"), &lab).unwrap();
    let out = tmp.path().join("out");
    run_pipeline(&export, None, &out);
    let rows = read_table(&out, "lab_results");
    assert_eq!(rows.height(), 2, "{rows}");
    let mut labels: Vec<Option<String>> =
        (0..2).map(|i| crate::common::s(&rows, "label", i)).collect();
    labels.sort();
    let want = ["ABCDEF012345670000010042", "ABCDEF012345670000010043"];
    assert_eq!(labels, want.map(|l| Some(l.to_owned())), "SourcePackageLabel is the label");
    let m = crate::common::manifest(&out);
    let input = m["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["path"] == format!("{LIC}/LabTests_GetResults.json"))
        .cloned()
        .expect("LabTests_GetResults.json is an input");
    assert_eq!(input["kind"], "labresults");
    assert_eq!((input["rows_in"].as_u64(), input["rows_rejected"].as_u64()), (Some(2), Some(0)));
}

#[test]
fn export_shapes_stray_files_are_listed_not_skipped_in_silence() {
    let tmp = tempfile::tempdir().unwrap();
    let export = copy_sample(tmp.path(), &[]);
    let dir = export.join(LIC);
    fs::write(dir.join("notes.txt"), "counted on Monday").unwrap();
    fs::copy(
        real_fixtures().join("Items_GetActiveItems.json"),
        dir.join("Items_GetActiveItems.json"),
    )
    .unwrap();
    fs::create_dir_all(dir.join("old")).unwrap();
    fs::write(dir.join("old").join("packages.json"), "[]").unwrap();
    fs::write(export.join("README.txt"), "exported by hand").unwrap();
    // Hidden files and folders are not the user's export: left out without a word.
    fs::write(dir.join(".DS_Store"), "x").unwrap();
    fs::create_dir_all(export.join(".git")).unwrap();
    let out = tmp.path().join("out");
    assert_same_findings(&export, &sample_export(), &out);
    let paths: Vec<String> = unread(&out).into_iter().map(|(p, _)| p).collect();
    assert_eq!(
        paths,
        [
            format!("{LIC}/Items_GetActiveItems.json"),
            format!("{LIC}/notes.txt"),
            format!("{LIC}/old/"),
            "README.txt".to_owned(),
        ]
    );
    let err = run_loud(&export, &tmp.path().join("out-loud"));
    assert!(err.contains("4 files under the export not read"), "{err}");
    assert!(err.contains("notes.txt: not a JSON export file"), "{err}");
    assert!(
        err.contains("Items_GetActiveItems.json: Metrc endpoint tagtrail does not use"),
        "{err}"
    );
    assert!(!err.contains(".DS_Store"), "{err}");
    // `--quiet` keeps stderr quiet; the manifest still lists them.
    let (e, o) = (export.to_str().unwrap(), tmp.path().join("out-quiet"));
    let run = run_expect(&["run", "--quiet", "--export", e, "--out", o.to_str().unwrap()], 0);
    assert!(run.stderr.is_empty(), "{}", String::from_utf8_lossy(&run.stderr));
}

#[test]
fn export_shapes_one_license_folder_is_a_one_license_export() {
    let tmp = tempfile::tempdir().unwrap();
    // The same license as a folder of license folders, and as the folder itself.
    let plain = copy_sample(&tmp.path().join("plain"), &[LIC]);
    let one = copy_sample(&tmp.path().join("one"), &[LIC]).join(LIC);
    let out = tmp.path().join("out");
    assert_same_findings(&one, &plain, &out);
    let f = read(&out.join("findings.parquet"));
    let licenses = f.column("license").unwrap().str().unwrap().unique().unwrap();
    assert_eq!(licenses.len(), 1);
    assert_eq!(licenses.get(0), Some(LIC));
    // Paths are relative to the folder given.
    let m = crate::common::manifest(&out);
    assert!(m["inputs"].as_array().unwrap().iter().any(|i| i["path"] == "packages.json"), "{m}");

    // Named by endpoint and compressed too.
    fs::rename(one.join("packages.json"), one.join("Packages_GetActivePackages.json")).unwrap();
    gzip(&one.join("sales.json"));
    assert_same_findings(&one, &plain, &tmp.path().join("out-2"));

    // A folder with packages files and license folders holding them too is refused.
    let other = one.join("C11-0000002-LIC");
    fs::create_dir_all(&other).unwrap();
    fs::copy(
        sample_export().join("C11-0000002-LIC").join("packages.json"),
        other.join("packages.json"),
    )
    .unwrap();
    let (e, o) = (one.to_str().unwrap(), tmp.path().join("out-3"));
    let run = run_expect(&["run", "--quiet", "--export", e, "--out", o.to_str().unwrap()], 2);
    let err = String::from_utf8_lossy(&run.stderr);
    assert!(err.contains("not a mix"), "{err}");
}

#[test]
fn export_shapes_corrupt_gzip_is_exit_2_naming_the_file() {
    let tmp = tempfile::tempdir().unwrap();
    let export = copy_sample(tmp.path(), &[]);
    let sales = gzip(&export.join(LIC).join("sales.json"));
    let whole = fs::read(&sales).unwrap();
    let cases: [(&str, Vec<u8>); 3] = [
        ("truncated", whole[..whole.len() / 2].to_vec()),
        ("corrupted", {
            let mut b = whole.clone();
            let at = b.len() / 2;
            b[at] ^= 0x55;
            b[at + 1] ^= 0xaa;
            b
        }),
        ("not gzip", b"[{\"ReceiptNumber\": \"1\"}]".to_vec()),
    ];
    for (what, bytes) in cases {
        fs::write(&sales, bytes).unwrap();
        let out = tmp.path().join(format!("out-{}", what.replace(' ', "-")));
        let (e, o) = (export.to_str().unwrap(), out.to_str().unwrap());
        let run = run_expect(&["run", "--quiet", "--export", e, "--out", o], 2);
        let err = String::from_utf8_lossy(&run.stderr);
        assert!(err.contains(&format!("{LIC}/sales.json.gz")), "{what}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "{what}: one-line message: {err}");
        let left = crate::common::left_in_out(&out);
        assert!(left.is_empty(), "{what}: partial output left in OUT: {left:?}");
    }
}
