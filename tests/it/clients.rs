//! Every Parquet output read by an independent reader (arrow-rs, not Polars), as a
//! dashboard or a script would: each lake table folder with its partition key from the
//! path, findings, summary and rejects. Rows equal the manifest's, and no column is of an
//! Arrow view type (pyarrow and pandas refuse to combine those with a partition key).

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::path::{Path, PathBuf};

use arrow::datatypes::{DataType, Field, Schema};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use crate::common::{manifest, run_expect};

/// Rows of a Parquet file, every batch decoded (a column that does not decode fails), and
/// its Arrow schema (from the footer's `ARROW:schema`, as arrow-rs reads it).
fn read_file(path: &Path) -> (usize, Schema) {
    let file = File::open(path).unwrap_or_else(|e| panic!("open {}: {e}", path.display()));
    let builder = ParquetRecordBatchReaderBuilder::try_new(file)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let schema = builder.schema().as_ref().clone();
    let mut rows = 0;
    for batch in builder.build().unwrap_or_else(|e| panic!("{}: {e}", path.display())) {
        let batch = batch.unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert_eq!(batch.schema().as_ref(), &schema, "{}", path.display());
        rows += batch.num_rows();
    }
    (rows, schema)
}

/// Columns of a type other clients do not take as plain: Arrow views, dictionaries.
fn not_plain(schema: &Schema) -> Vec<String> {
    fn bad(f: &Field) -> bool {
        match f.data_type() {
            DataType::Utf8View | DataType::BinaryView | DataType::Dictionary(..) => true,
            DataType::List(f) | DataType::LargeList(f) => bad(f),
            DataType::Struct(fs) => fs.iter().any(|f| bad(f)),
            _ => false,
        }
    }
    schema
        .fields()
        .iter()
        .filter(|f| bad(f))
        .map(|f| format!("{}: {}", f.name(), f.data_type()))
        .collect()
}

/// A Hive folder value decoded as every Hive reader does (`%XX`).
fn hive_value(encoded: &str) -> String {
    let b = encoded.as_bytes();
    let (mut out, mut i) = (Vec::new(), 0);
    while i < b.len() {
        let hex = b.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok());
        match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
            Some(x) if b[i] == b'%' => {
                out.push(x);
                i += 3;
            }
            _ => {
                out.push(b[i]);
                i += 1;
            }
        }
    }
    String::from_utf8(out).expect("a partition value is UTF-8")
}

/// Every visible file under `dir`, sorted.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.file_name().unwrap().to_string_lossy().starts_with('.') {
            continue;
        }
        if p.is_dir() {
            files.extend(files_under(&p));
        } else {
            files.push(p);
        }
    }
    files.sort();
    files
}

#[test]
fn clients_arrow_rs_reads_every_output_with_manifest_rows_and_plain_types() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    run_expect(&["run", "--quiet", "--out", out.to_str().unwrap()], 0);
    let m = manifest(&out);
    let outputs: BTreeMap<String, u64> = m["outputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| (o["path"].as_str().unwrap().to_owned(), o["rows"].as_u64().unwrap()))
        .collect();
    let sample_licenses: BTreeSet<String> =
        ["C11-0000001-LIC", "C11-0000002-LIC", "C11-0000003-LIC"].map(String::from).into();

    let mut read = 0;
    for (path, rows) in &outputs {
        if let Some(table) = path.strip_prefix("lake/") {
            // Every table has a folder; one without rows holds one part without rows in
            // a license's partition (checked below like any other part).
            let dir = out.join(path);
            assert!(dir.is_dir(), "{path}: no folder ({rows} rows in the manifest)");
            if *rows == 0 {
                assert_eq!(files_under(&dir).len(), 1, "{path}");
            }
            let (mut total, mut licenses) = (0, BTreeSet::new());
            for f in files_under(&dir) {
                let rel = f.strip_prefix(&dir).unwrap();
                let folder = rel.parent().unwrap().to_str().unwrap();
                let (key, value) = folder.split_once('=').expect("a Hive folder key=value");
                assert_eq!(key, "license", "{}", f.display());
                assert!(f.extension().is_some_and(|x| x == "parquet"), "{}", f.display());
                let (n, schema) = read_file(&f);
                assert!(n > 0 || *rows == 0, "{}: an empty part", f.display());
                assert!(not_plain(&schema).is_empty(), "{}: {:?}", f.display(), not_plain(&schema));
                // Hive convention: the key is the folder's, not a column of the part.
                assert!(schema.field_with_name("license").is_err(), "{}", f.display());
                licenses.insert(hive_value(value));
                total += n;
            }
            assert_eq!(total as u64, *rows, "lake table {table}: rows of its parts");
            assert!(licenses.is_subset(&sample_licenses), "{table}: {licenses:?}");
            read += 1;
        } else if path.ends_with(".parquet") {
            let (n, schema) = read_file(&out.join(path));
            assert_eq!(n as u64, *rows, "{path}: rows");
            assert!(not_plain(&schema).is_empty(), "{path}: {:?}", not_plain(&schema));
            read += 1;
        }
    }
    // Every lake table of the sample but lab_results (no rows), and the three files.
    assert!(read >= 13, "{read} outputs read of {outputs:?}");
    for file in ["findings.parquet", "summary.parquet", "rejects.parquet"] {
        assert!(outputs.contains_key(file), "{file} is in the manifest");
    }
    // The findings columns SPEC fixes, as a plain reader sees them.
    let (_, findings) = read_file(&out.join("findings.parquet"));
    let ty = |name: &str| findings.field_with_name(name).unwrap().data_type().clone();
    assert_eq!(ty("rule_id"), DataType::Utf8);
    assert_eq!(ty("license"), DataType::Utf8);
    assert_eq!(ty("variance"), DataType::Float64);
    assert_eq!(
        ty("occurred_at"),
        DataType::Timestamp(arrow::datatypes::TimeUnit::Microsecond, Some("UTC".into()))
    );
}
