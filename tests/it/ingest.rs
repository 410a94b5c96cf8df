//! Ingest: the real Metrc API shapes, bad records, unreadable files, the manifest.

use std::fs;
use std::path::Path;

use crate::common::{
    f, read, read_table, real_fixtures, row_where, run_expect, s, tagtrail, ts, utc_us,
};

const LIC: &str = "C11-0000001-LIC";

/// An export folder made of the real Metrc documentation examples. The delivery-package
/// example (`GET /transfers/v2/deliveries/{id}/packages`) is placed in the incoming
/// transfer's `Packages`, which is how a transfers file of the export carries it.
fn real_export(root: &Path) {
    let dir = root.join(LIC);
    fs::create_dir_all(&dir).unwrap();
    let real = real_fixtures();
    fs::copy(real.join("Packages_GetActivePackages.json"), dir.join("packages.json")).unwrap();
    fs::copy(real.join("Packages_GetPackagesById.json"), dir.join("packages.2.json")).unwrap();
    fs::copy(real.join("Packages_GetAdjustments.json"), dir.join("adjustments.json")).unwrap();
    fs::copy(real.join("Sales_GetActiveReceipts.json"), dir.join("sales.json")).unwrap();
    fs::copy(real.join("Transfers_GetOutgoingTransfers.json"), dir.join("transfers.2.json"))
        .unwrap();
    let read_json = |name: &str| -> serde_json::Value {
        serde_json::from_str(&fs::read_to_string(real.join(name)).unwrap()).unwrap()
    };
    let mut incoming = read_json("Transfers_GetIncomingTransfers.json");
    let delivery = read_json("Transfers_GetDeliveryPackageById.json");
    incoming["Data"][0]["Packages"] = delivery["Data"].clone();
    fs::write(dir.join("transfers.json"), serde_json::to_vec_pretty(&incoming).unwrap()).unwrap();
}

#[test]
fn ingest_real_metrc_examples_with_zero_rejects() {
    let tmp = tempfile::tempdir().unwrap();
    let export = tmp.path().join("export");
    real_export(&export);
    let out = tmp.path().join("out");
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
    assert_eq!(rejects.height(), 0, "rejects: {rejects:?}");

    // Packages: ...0042 and ...0043. The lookup by id saved as `packages.2.json` holds a
    // single object, not a list: not read (SPEC 2.1), so ...0042 is not a duplicate.
    let p = read_table(&out, "packages");
    assert_eq!(p.height(), 2);
    let i = row_where(&p, "label", "ABCDEF012345670000010043");
    assert_eq!(s(&p, "license", i).as_deref(), Some(LIC));
    assert_eq!(f(&p, "quantity", i), Some(1.0));
    assert_eq!(s(&p, "unit", i).as_deref(), Some("Ounces"));
    assert_eq!(s(&p, "quantity_type", i).as_deref(), Some("weight"));
    assert_eq!(s(&p, "base_unit", i).as_deref(), Some("g"));
    assert!((f(&p, "quantity_base", i).unwrap() - 28.349_523_125).abs() < 1e-6);
    assert_eq!(s(&p, "item_name", i).as_deref(), Some("Buds"));
    assert_eq!(s(&p, "category", i).as_deref(), Some("Buds"));
    assert_eq!(s(&p, "lab_testing_state", i).as_deref(), Some("NotSubmitted"));
    // Date-only PackagedDate: start of the local day (PST, UTC-8) and its end.
    assert_eq!(ts(&p, "packaged_at", i), Some(utc_us("2014-11-29T08:00:00Z")));
    assert_eq!(ts(&p, "packaged_at_end", i), Some(utc_us("2014-11-30T07:59:59.999999Z")));
    assert_eq!(ts(&p, "last_modified", i), Some(utc_us("2026-02-08T07:05:59.804361Z")));
    assert_eq!(s(&p, "source_file", i).as_deref(), Some(&*format!("{LIC}/packages.json")));

    // Adjustments: signed delta in grams, Z timestamp.
    let a = read_table(&out, "adjustments");
    assert_eq!(a.height(), 2);
    let i = row_where(&a, "label", "ABCDEF012345670000010042");
    assert_eq!(f(&a, "quantity", i), Some(-0.5));
    assert_eq!(s(&a, "unit", i).as_deref(), Some("Grams"));
    assert_eq!(f(&a, "quantity_base", i), Some(-0.5));
    assert_eq!(ts(&a, "adjusted_at", i), Some(utc_us("2024-01-15T09:30:00Z")));
    let j = row_where(&a, "label", "ABCDEF012345670000010111");
    assert_eq!(s(&a, "quantity_type", j).as_deref(), Some("each"));

    // Transfers: offset timestamp, naive local (PDT in October), and the 0001 sentinel.
    let t = read_table(&out, "transfers");
    assert_eq!(t.height(), 2);
    let i = row_where(&t, "source_file", &format!("{LIC}/transfers.json"));
    assert_eq!(s(&t, "manifest", i).as_deref(), Some("0000000001"));
    assert_eq!(ts(&t, "received_at", i), Some(utc_us("2016-10-12T00:42:19Z")));
    assert_eq!(ts(&t, "estimated_arrival_at", i), Some(utc_us("2016-10-11T23:50:00Z")));
    let o = row_where(&t, "source_file", &format!("{LIC}/transfers.2.json"));
    assert_eq!(ts(&t, "estimated_arrival_at", o), None, "0001-01-01 means null");

    // Delivery packages, flattened out of the transfer.
    let tp = read_table(&out, "transfer_packages");
    assert_eq!(tp.height(), 2);
    let i = row_where(&tp, "label", "ABCDEF012345670000010026");
    assert_eq!(s(&tp, "state", i).as_deref(), Some("Accepted"));
    assert_eq!(f(&tp, "shipped_quantity", i), Some(10.0));
    assert_eq!(s(&tp, "shipped_unit", i).as_deref(), Some("Ounces"));
    assert_eq!(f(&tp, "received_quantity", i), Some(10.0));
    let r = row_where(&tp, "label", "ABCDEF012345670000010027");
    assert_eq!(s(&tp, "state", r).as_deref(), Some("Rejected"));
    assert_eq!(f(&tp, "received_quantity", r), None);

    // Sales: a receipt without transactions keeps one row; naive local PST time.
    let sa = read_table(&out, "sales");
    assert_eq!(sa.height(), 2);
    let i = row_where(&sa, "receipt", "ABC-123");
    assert_eq!(ts(&sa, "sold_at", i), Some(utc_us("2016-01-02T01:35:45Z")));
    assert_eq!(ts(&sa, "recorded_at", i), None, "0001-01-01 means null");

    // Manifest: every input file with its hash and rows in = accepted + rejected.
    let m = crate::common::manifest(&out);
    let inputs = m["inputs"].as_array().unwrap();
    assert_eq!(inputs.len(), 5);
    assert_eq!(m["unread"].as_array().unwrap().len(), 1, "{m}");
    assert_eq!(m["unread"][0]["path"], format!("{LIC}/packages.2.json"));
    for input in inputs {
        assert_eq!(input["sha256"].as_str().unwrap().len(), 64);
        assert_eq!(input["rows_rejected"], 0);
        assert_eq!(input["rows_in"], input["rows_accepted"]);
    }
}

/// A packages file with one good record and one of each kind of bad record.
const BAD_PACKAGES: &str = r#"[
{"Label": "1A4FF0100000022000000001", "Quantity": 10, "UnitOfMeasureName": "Grams", "PackagedDate": "2026-10-01", "Item": {"Name": "OG Kush", "ProductCategoryName": "Buds"}},
{"Label": "1A4FF0100000022000000002", "Quantity": "ten", "UnitOfMeasureName": "Grams", "PackagedDate": "2026-10-01"},
{"Quantity": 3, "UnitOfMeasureName": "Grams"},
{"Label": "1A4FF0100000022000000004", "Quantity": 3, "UnitOfMeasureName": "Grams", "PackagedDate": "next tuesday"},
{"Label": "1A4FF0100000022000000005", "Quantity": 3, "UnitOfMeasureName": "Grams", "IsProductionBatch": "maybe"},
{"Label": "1A4FF0100000022000000006", "Quantity": "12.5", "UnitOfMeasureName": "Grams", "PackagedDate": "2026-10-02T09:00:00"},
{"Label": "   ", "Quantity": 3, "UnitOfMeasureName": "Grams"},
{"Label": "1A4FF0100000022000000008", "Quantity": 3, "UnitOfMeasureName": "Grams", "Item": ["not", "an", "object"]}
]"#;

#[test]
fn ingest_bad_records_go_to_rejects_and_good_rows_to_the_lake() {
    let tmp = tempfile::tempdir().unwrap();
    let export = tmp.path().join("export");
    fs::create_dir_all(export.join(LIC)).unwrap();
    fs::write(export.join(LIC).join("packages.json"), BAD_PACKAGES).unwrap();
    let counts = tmp.path().join("counts");
    fs::create_dir_all(&counts).unwrap();
    fs::write(
        counts.join(format!("{LIC}.csv")),
        "\u{feff}Tag,Qty,UOM,CountedAt\r\n1A4FF0100000022000000001,10,g,2026-10-20T10:00:00\r\n\
         1A4FF0100000022000000006,abc,g,2026-10-20T10:00:00\r\n,3,g,2026-10-20\r\n\
         1A4FF0100000022000000009,1,oz,yesterday\r\n",
    )
    .unwrap();
    let out = tmp.path().join("out");
    run_expect(
        &[
            "ingest",
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
    let rej = read(&out.join("rejects.parquet"));
    let rows: Vec<(String, i64, String, String)> = (0..rej.height())
        .map(|i| {
            (
                s(&rej, "source_file", i).unwrap(),
                rej.column("record").unwrap().i64().unwrap().get(i).unwrap(),
                s(&rej, "column", i).unwrap(),
                s(&rej, "reason", i).unwrap().to_lowercase(),
            )
        })
        .collect();
    let find = |file: &str, rec: i64| {
        rows.iter()
            .find(|r| r.0 == file && r.1 == rec)
            .unwrap_or_else(|| panic!("no reject for {file} record {rec}: {rows:?}"))
            .clone()
    };
    let pk = format!("{LIC}/packages.json");
    let r = find(&pk, 1);
    assert_eq!(r.2, "Quantity");
    assert!(r.3.contains("number"), "{r:?}");
    let r = find(&pk, 2);
    assert_eq!(r.2, "Label");
    assert!(r.3.contains("missing") || r.3.contains("blank"), "{r:?}");
    let r = find(&pk, 3);
    assert_eq!(r.2, "PackagedDate");
    assert!(r.3.contains("timestamp") && r.3.contains("next tuesday"), "{r:?}");
    let r = find(&pk, 4);
    assert_eq!(r.2, "IsProductionBatch");
    assert!(r.3.contains("type") || r.3.contains("boolean"), "{r:?}");
    assert_eq!(find(&pk, 6).2, "Label");
    let r = find(&pk, 7);
    assert_eq!(r.2, "Item");
    assert!(r.3.contains("type"), "{r:?}");
    // Raw text of the record is kept.
    let i = (0..rej.height()).find(|&i| rows[i].1 == 1 && rows[i].0 == pk).unwrap();
    assert!(s(&rej, "raw", i).unwrap().contains("\"ten\""));

    // CSV rejects are by 1-based physical line (header = line 1).
    let cf = format!("{LIC}.csv");
    // The column is named as in the sheet's header.
    assert_eq!(find(&cf, 3).2, "Qty");
    assert_eq!(find(&cf, 4).2, "Tag");
    assert_eq!(find(&cf, 5).2, "CountedAt");
    assert_eq!(rows.len(), 9, "{rows:?}");

    // The good rows are in the lake.
    let p = read_table(&out, "packages");
    assert_eq!(p.height(), 2);
    let i = row_where(&p, "label", "1A4FF0100000022000000006");
    assert_eq!(f(&p, "quantity", i), Some(12.5), "a number in a string is a number");
    let c = read_table(&out, "counts");
    assert_eq!(c.height(), 1);
    assert_eq!(s(&c, "label", 0).as_deref(), Some("1A4FF0100000022000000001"));
    assert_eq!(s(&c, "license", 0).as_deref(), Some(LIC), "license from the file name");

    // Manifest: rows in = accepted + rejected, per file.
    let m = crate::common::manifest(&out);
    for input in m["inputs"].as_array().unwrap() {
        let (n, a, r) = (&input["rows_in"], &input["rows_accepted"], &input["rows_rejected"]);
        assert_eq!(n.as_u64().unwrap(), a.as_u64().unwrap() + r.as_u64().unwrap(), "{input}");
        match input["path"].as_str().unwrap() {
            p if p.ends_with("packages.json") => assert_eq!((n, r), (&8.into(), &6.into())),
            p if p.ends_with(".csv") => assert_eq!((n, r), (&4.into(), &3.into())),
            other => panic!("unexpected input {other}"),
        }
    }
}

#[test]
fn ingest_truncated_json_is_exit_2_naming_file_and_position_with_no_partial_output() {
    let tmp = tempfile::tempdir().unwrap();
    let export = tmp.path().join("export");
    fs::create_dir_all(export.join(LIC)).unwrap();
    let good =
        r#"[{"Label": "1A4FF0100000022000000001", "Quantity": 1, "UnitOfMeasureName": "Grams"}]"#;
    fs::write(export.join(LIC).join("packages.json"), good).unwrap();
    // A second license whose file stops in the middle of a record.
    fs::create_dir_all(export.join("C11-0000002-LIC")).unwrap();
    let mut text = String::from("[\n");
    for i in 0..50 {
        text.push_str(&format!(
            "{{\"Label\": \"1A4FF01000000220000{i:05}\", \"Quantity\": 1, \"UnitOfMeasureName\": \"Grams\"}},\n"
        ));
    }
    text.push_str("{\"Label\": \"1A4FF0100000022000099999\", \"Quan");
    fs::write(export.join("C11-0000002-LIC").join("packages.json"), &text).unwrap();
    let out = tmp.path().join("out");
    let (e, o) = (export.to_str().unwrap(), out.to_str().unwrap());
    let o = run_expect(&["run", "--quiet", "--export", e, "--out", o], 2);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("C11-0000002-LIC/packages.json"), "{err}");
    assert!(err.contains("byte") || err.contains("line"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "one-line message: {err}");
    // Nothing of this run is left behind.
    let left = crate::common::left_in_out(&out);
    assert!(left.is_empty(), "partial output left in OUT: {left:?}");

    // A previous good result in OUT survives a failed re-run untouched.
    fs::remove_dir_all(export.join("C11-0000002-LIC")).unwrap();
    run_expect(
        &["run", "--quiet", "--export", export.to_str().unwrap(), "--out", out.to_str().unwrap()],
        0,
    );
    let before = fs::read(out.join("findings.parquet")).unwrap();
    fs::create_dir_all(export.join("C11-0000002-LIC")).unwrap();
    fs::write(export.join("C11-0000002-LIC").join("packages.json"), &text).unwrap();
    run_expect(
        &["run", "--quiet", "--export", export.to_str().unwrap(), "--out", out.to_str().unwrap()],
        2,
    );
    assert_eq!(fs::read(out.join("findings.parquet")).unwrap(), before);
    assert_eq!(read_table(&out, "packages").height(), 1);
}

#[test]
fn ingest_jsonl_pages_and_paged_file_names() {
    let tmp = tempfile::tempdir().unwrap();
    let export = tmp.path().join("export");
    let dir = export.join(LIC);
    fs::create_dir_all(&dir).unwrap();
    let rec = |n: u32| {
        format!(
            r#"{{"Label": "1A4FF01000000220000000{n:02}", "Quantity": {n}, "UnitOfMeasureName": "Grams", "LastModified": "2026-10-01T10:00:00Z"}}"#
        )
    };
    fs::write(
        dir.join("packages.json"),
        format!("{{\"Data\": [{}, {}], \"Total\": 4, \"Page\": 1}}", rec(1), rec(2)),
    )
    .unwrap();
    fs::write(
        dir.join("packages.2.json"),
        format!("{{\"Data\": [{}], \"Total\": 4, \"Page\": 2}}", rec(3)),
    )
    .unwrap();
    fs::write(dir.join("packages.3.jsonl"), format!("{}\n\n{}\r\n", rec(4), rec(5))).unwrap();
    let out = tmp.path().join("out");
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
    let p = read_table(&out, "packages");
    assert_eq!(p.height(), 5);
    let i = row_where(&p, "label", "1A4FF0100000022000000005");
    assert_eq!(
        p.column("record").unwrap().i64().unwrap().get(i),
        Some(2),
        "JSONL record = 0-based line"
    );
    assert_eq!(f(&p, "quantity", i), Some(5.0));
}

/// Issue 6: a run killed at any moment leaves no half-written Parquet, and the next run
/// succeeds and cleans up after it.
#[test]
fn ingest_killed_midway_leaves_readable_parquet_and_a_rerun_succeeds() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    crate::common::generate(&data, 4, 40000, 9, "json");
    let out = tmp.path().join("out");
    let args = |out: &Path| {
        vec![
            "run".to_owned(),
            "--quiet".to_owned(),
            "--export".to_owned(),
            data.join("export").display().to_string(),
            "--counts".to_owned(),
            data.join("counts").display().to_string(),
            "--out".to_owned(),
            out.display().to_string(),
        ]
    };
    // Kill at several moments: early in ingest, later in ingest, in check or report.
    for delay_ms in [30u64, 150, 400, 900, 1200, 1400] {
        let mut child = tagtrail().args(args(&out)).spawn().unwrap();
        std::thread::sleep(std::time::Duration::from_millis(delay_ms));
        let _ = child.kill(); // SIGKILL on Unix
        let _ = child.wait();
        for path in walk(&out) {
            if path.extension().is_some_and(|e| e == "parquet") {
                use polars::prelude::SerReader;
                let f = fs::File::open(&path).unwrap();
                polars::prelude::ParquetReader::new(f).finish().unwrap_or_else(|e| {
                    panic!("{} does not read after a kill at {delay_ms} ms: {e}", path.display())
                });
            }
        }
    }
    let o = tagtrail().args(args(&out)).output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    // Only the published result is left: no generation of a killed run.
    let left: Vec<String> = crate::common::left_in_out(&out)
        .into_iter()
        .filter(|n| n.starts_with(".tagtrail/gen-"))
        .collect();
    assert_eq!(left.len(), 1, "leftovers of killed runs: {left:?}");
    assert!(read(&out.join("findings.parquet")).height() > 0);
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = fs::read_dir(&d) else { continue };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() { stack.push(p) } else { out.push(p) }
        }
    }
    out
}

/// Issue 6: hostile values each get a reject row, a clear exit 2, or a documented treatment.
#[test]
fn ingest_hostile_values_are_rejected_or_kept_as_documented() {
    let tmp = tempfile::tempdir().unwrap();
    let export = tmp.path().join("export");
    fs::create_dir_all(export.join(LIC)).unwrap();
    let mut text = br#"[{"Label":"1A4FF0100000022000000001","Quantity":"NaN","UnitOfMeasureName":"Grams"},
{"Label":"1A4FF0100000022000000002","Quantity":1e400,"UnitOfMeasureName":"Grams"},
{"Label":"1A4FF0100000022000000003","Quantity":-5,"UnitOfMeasureName":"Grams","PackagedDate":"9999-12-31"},
{"Label":"1A4FF0100000022000000004","Quantity":1,"UnitOfMeasureName":"Grams","PackagedDate":"0001-01-02"},
{"Label":"1A4FF01000000220000"#
        .to_vec();
    text.extend_from_slice(b"\xff\xfe05\",\"Quantity\":1,\"UnitOfMeasureName\":\"Grams\"}]");
    fs::write(export.join(LIC).join("packages.json"), &text).unwrap();
    let out = tmp.path().join("out");
    let (e, o) = (export.to_str().unwrap(), out.to_str().unwrap());
    run_expect(&["ingest", "--quiet", "--export", e, "--out", o], 0);
    let rej = read(&out.join("rejects.parquet"));
    let got: Vec<(i64, String)> = (0..rej.height())
        .map(|i| {
            (
                rej.column("record").unwrap().i64().unwrap().get(i).unwrap(),
                s(&rej, "reason", i).unwrap(),
            )
        })
        .collect();
    assert_eq!(got.len(), 3, "{got:?}");
    assert!(got[0].0 == 0 && got[0].1.contains("finite"), "NaN: {got:?}");
    assert!(got[1].0 == 1 && got[1].1.contains("range"), "1e400: {got:?}");
    assert!(got[2].0 == 4 && got[2].1.contains("UTF-8"), "non-UTF-8: {got:?}");
    // Kept as read: a negative quantity and dates in years 9999 and 0001.
    let p = read_table(&out, "packages");
    assert_eq!(p.height(), 2);
    let i = row_where(&p, "label", "1A4FF0100000022000000003");
    assert_eq!(f(&p, "quantity", i), Some(-5.0));
    assert_eq!(ts(&p, "packaged_at", i), Some(utc_us("9999-12-31T08:00:00Z")));
    let j = row_where(&p, "label", "1A4FF0100000022000000004");
    assert!(ts(&p, "packaged_at", j).is_some());

    // An empty file cannot be read at all: exit 2 naming it.
    fs::create_dir_all(export.join("C11-0000002-LIC")).unwrap();
    fs::write(export.join("C11-0000002-LIC").join("packages.json"), "").unwrap();
    let o2 = run_expect(&["ingest", "--quiet", "--export", e, "--out", o], 2);
    let err = String::from_utf8_lossy(&o2.stderr);
    assert!(err.contains("C11-0000002-LIC/packages.json") && err.contains("empty"), "{err}");
}

/// The manifest entry of the input file whose path ends with `suffix`.
fn input_entry(out: &Path, suffix: &str) -> serde_json::Value {
    let m = crate::common::manifest(out);
    m["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["path"].as_str().unwrap().ends_with(suffix))
        .unwrap_or_else(|| panic!("no input {suffix} in the manifest: {m}"))
        .clone()
}

/// (record, column, reason, raw length) of every reject.
fn rejects(out: &Path) -> Vec<(i64, String, String, usize)> {
    let rej = read(&out.join("rejects.parquet"));
    (0..rej.height())
        .map(|i| {
            (
                rej.column("record").unwrap().i64().unwrap().get(i).unwrap(),
                s(&rej, "column", i).unwrap(),
                s(&rej, "reason", i).unwrap(),
                s(&rej, "raw", i).unwrap().len(),
            )
        })
        .collect()
}

/// Issue 6: a 100 MB export file on one line (no line break at all: records cross every
/// read block) ingests with every record accounted for.
#[test]
fn ingest_100_mb_single_line_json_accounts_for_every_record() {
    use std::io::Write;
    let tmp = tempfile::tempdir().unwrap();
    let export = tmp.path().join("export");
    fs::create_dir_all(export.join(LIC)).unwrap();
    let mut text = Vec::with_capacity(101 << 20);
    text.push(b'[');
    let (mut n, mut bad) = (0i64, Vec::new());
    while text.len() < 100 << 20 {
        if n > 0 {
            text.push(b',');
        }
        if n % 100_003 == 7 {
            bad.push(n);
            write!(text, r#"{{"Label":"1A4FF01{n:017}","Quantity":"ten","UnitOfMeasureName":"g"}}"#)
        } else {
            write!(
                text,
                r#"{{"Label":"1A4FF01{n:017}","Quantity":{},"UnitOfMeasureName":"Grams","LocationName":"Vault \"A\", shelf {}","PackagedDate":"2026-10-01","Item":{{"Name":"Flower","ProductCategoryName":"Buds"}}}}"#,
                n % 1000,
                n % 7
            )
        }
        .unwrap();
        n += 1;
    }
    text.push(b']');
    assert!(memchr_free(&text), "the file is one line");
    fs::write(export.join(LIC).join("packages.json"), &text).unwrap();
    drop(text);
    let out = tmp.path().join("out");
    let (e, o) = (export.to_str().unwrap(), out.to_str().unwrap());
    run_expect(&["ingest", "--quiet", "--export", e, "--out", o], 0);

    let input = input_entry(&out, "packages.json");
    let good = n as u64 - bad.len() as u64;
    assert_eq!(input["rows_in"], n, "{input}");
    assert_eq!(input["rows_accepted"], good, "{input}");
    assert_eq!(input["rows_rejected"], bad.len(), "{input}");
    let rej = rejects(&out);
    assert_eq!(rej.iter().map(|r| r.0).collect::<Vec<_>>(), bad);
    assert!(rej.iter().all(|r| r.1 == "Quantity"), "{rej:?}");
    let p = read_table(&out, "packages");
    assert_eq!(p.height() as u64, good);
    let last = row_where(&p, "label", &format!("1A4FF01{:017}", n - 1));
    assert_eq!(s(&p, "location", last), Some(format!("Vault \"A\", shelf {}", (n - 1) % 7)));
}

fn memchr_free(b: &[u8]) -> bool {
    !b.contains(&b'\n') && !b.contains(&b'\r')
}

/// Issue 6: a record with a 100 MB string value. In an ignored field the record is read;
/// in a field of the record that is bad, the record goes to rejects with its `raw` text
/// cut at 1 MiB (RAW_CAP) and marked as truncated.
#[test]
fn ingest_record_with_a_100_mb_string_is_read_or_rejected_with_raw_capped() {
    let tmp = tempfile::tempdir().unwrap();
    let export = tmp.path().join("export");
    fs::create_dir_all(export.join(LIC)).unwrap();
    let huge = "é".repeat(50 << 20); // 100 MB of two-byte characters
    let bad = format!(
        "{{\"Label\":\"1A4FF0100000022000000003\",\"Quantity\":\"ten\",\"UnitOfMeasureName\":\"g\",\"LocationName\":\"{huge}\"}}"
    );
    let text = format!(
        "[{{\"Label\":\"1A4FF0100000022000000001\",\"Quantity\":1,\"UnitOfMeasureName\":\"g\"}},\n\
         {{\"Label\":\"1A4FF0100000022000000002\",\"Quantity\":2,\"UnitOfMeasureName\":\"g\",\"Notes\":\"{huge}\"}},\n\
         {bad},\n\
         {{\"Label\":\"1A4FF0100000022000000004\",\"Quantity\":4,\"UnitOfMeasureName\":\"g\"}}]"
    );
    let bad_len = bad.len();
    drop((huge, bad));
    fs::write(export.join(LIC).join("packages.json"), &text).unwrap();
    let size = text.len();
    drop(text);
    let out = tmp.path().join("out");
    let (e, o) = (export.to_str().unwrap(), out.to_str().unwrap());
    run_expect(&["ingest", "--quiet", "--export", e, "--out", o], 0);

    let input = input_entry(&out, "packages.json");
    assert_eq!(input["bytes"], size);
    assert_eq!((&input["rows_in"], &input["rows_accepted"]), (&4.into(), &3.into()), "{input}");
    let p = read_table(&out, "packages");
    assert_eq!(p.height(), 3);
    row_where(&p, "label", "1A4FF0100000022000000002");
    let rej = read(&out.join("rejects.parquet"));
    assert_eq!(rej.height(), 1);
    assert_eq!(s(&rej, "column", 0).as_deref(), Some("Quantity"));
    let raw = s(&rej, "raw", 0).unwrap();
    assert!(raw.starts_with("{\"Label\":\"1A4FF0100000022000000003\""), "{}", &raw[..80]);
    // 1 MiB of the record (cut at a character boundary) and a note of its full length.
    let note = raw.rfind('…').expect("truncation mark");
    assert!(note <= 1 << 20 && note > (1 << 20) - 4, "raw cut at {note}");
    assert_eq!(&raw[note..], format!("… [truncated, {bad_len} bytes in all]"));
}

/// Issue 6: empty folders and files. This pins what happens now; the cases marked
/// "questioned" are silent where the SPEC (2.1: packages*.json is required per license
/// folder) and the issue ask for a clear exit 2 or a documented treatment, and change with
/// `ingest::discover_export` / `discover_counts` / `commit`.
#[test]
fn ingest_empty_folders_and_files() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let good = r#"[{"Label":"1A4FF0100000022000000001","Quantity":5,"UnitOfMeasureName":"Grams","PackagedDate":"2026-10-01"}]"#;
    let run = |export: &Path, counts: Option<&Path>, out: &str, code: i32| {
        let out = root.join(out);
        let mut args = vec!["run", "--quiet", "--export", export.to_str().unwrap()];
        if let Some(c) = counts {
            args.extend(["--counts", c.to_str().unwrap()]);
        }
        args.extend(["--out", out.to_str().unwrap()]);
        let o = run_expect(&args, code);
        let err = String::from_utf8_lossy(&o.stderr).into_owned();
        if code == 2 {
            assert_eq!(err.trim().lines().count(), 1, "one-line message: {err}");
            let left = crate::common::left_in_out(&out);
            assert!(left.is_empty(), "partial output left in OUT: {left:?}");
        }
        (out, err)
    };

    // An export root without license folders: exit 2, saying what the export must hold.
    let empty = root.join("empty-export");
    fs::create_dir_all(&empty).unwrap();
    let (_, err) = run(&empty, None, "out-a", 2);
    assert!(err.contains("no packages*.json") && err.contains("empty-export"), "{err}");

    // A license folder with no packages file, the only one: exit 2, the same message.
    let only = root.join("only-adjustments");
    fs::create_dir_all(only.join("C11-0000002-LIC")).unwrap();
    fs::write(only.join("C11-0000002-LIC").join("adjustments.json"), "[]").unwrap();
    let (_, err) = run(&only, None, "out-b", 2);
    assert!(err.contains("no packages*.json"), "{err}");

    // An empty license folder beside a good one: exit 2 naming it (SPEC 2.1 requires
    // packages*.json in every license folder), not a license silently left out.
    let mixed = root.join("mixed");
    fs::create_dir_all(mixed.join("C11-0000001-LIC")).unwrap();
    fs::create_dir_all(mixed.join("C11-0000002-LIC")).unwrap();
    fs::write(mixed.join("C11-0000001-LIC").join("packages.json"), good).unwrap();
    let (_, err) = run(&mixed, None, "out-c", 2);
    assert!(err.contains("without packages*.json") && err.contains("`C11-0000002-LIC`"), "{err}");
    assert!(!err.contains("C11-0000001-LIC"), "names only the folder at fault: {err}");

    // The same with other files but no packages file: exit 2, not a license checked
    // without its packages.
    fs::write(
        mixed.join("C11-0000002-LIC").join("adjustments.json"),
        r#"[{"PackageLabel":"1A4FF0100000022000000009","AdjustmentQuantity":-1,"AdjustmentUnitOfMeasureName":"Grams","AdjustmentDate":"2026-10-02"}]"#,
    )
    .unwrap();
    let (_, err) = run(&mixed, None, "out-d", 2);
    assert!(err.contains("without packages*.json") && err.contains("`C11-0000002-LIC`"), "{err}");

    // A license with no packages has `[]`: read, its adjustment kept (exit 0).
    fs::write(mixed.join("C11-0000002-LIC").join("packages.json"), "[]").unwrap();
    let (out, _) = run(&mixed, None, "out-d2", 0);
    assert_eq!(read_table(&out, "adjustments").height(), 1);
    assert_eq!(read_table(&out, "packages").height(), 1);
    fs::remove_file(mixed.join("C11-0000002-LIC").join("adjustments.json")).unwrap();

    // An export whose only packages file is `[]`: an empty run, not a failed rename.
    let blank = root.join("blank");
    fs::create_dir_all(blank.join("C11-0000003-LIC")).unwrap();
    fs::write(blank.join("C11-0000003-LIC").join("packages.json"), "[]").unwrap();
    let (out, _) = run(&blank, None, "out-blank", 0);
    assert_eq!(read(&out.join("findings.parquet")).height(), 0);
    let m = crate::common::manifest(&out);
    assert_eq!(m["inputs"][0]["rows_in"], 0, "{m}");

    // A counts folder without any .csv: exit 2 naming it; running on would report "no
    // significant discrepancy" for counts that were never read.
    let counts = root.join("counts");
    fs::create_dir_all(&counts).unwrap();
    fs::write(counts.join("notes.txt"), "counted on Monday").unwrap();
    let (_, err) = run(&mixed, Some(&counts), "out-e", 2);
    assert!(err.contains("no count sheet (.csv or .xlsx)") && err.contains("counts"), "{err}");

    // A count sheet with a header and no rows: read, 0 rows (exit 0).
    fs::write(counts.join("C11-0000001-LIC.csv"), "Tag,Qty\r\n").unwrap();
    let (out, _) = run(&mixed, Some(&counts), "out-f", 0);
    let sheet = input_entry(&out, "C11-0000001-LIC.csv");
    assert_eq!((&sheet["rows_in"], &sheet["rows_rejected"]), (&0.into(), &0.into()));

    // An empty (0-byte) count sheet has no header: exit 2 naming it.
    fs::write(counts.join("C11-0000001-LIC.csv"), "").unwrap();
    let (_, err) = run(&mixed, Some(&counts), "out-g", 2);
    assert!(err.contains("C11-0000001-LIC.csv") && err.contains("header"), "{err}");
}

/// The typed record reader names the field at fault in every reject, nested ones by path,
/// and a syntax error inside a field nobody reads is still an unreadable file (exit 2).
#[test]
fn ingest_rejects_name_nested_fields_duplicates_and_out_of_range_numbers() {
    let tmp = tempfile::tempdir().unwrap();
    let export = tmp.path().join("export");
    let dir = export.join(LIC);
    fs::create_dir_all(&dir).unwrap();
    fs::write(
        dir.join("packages.json"),
        r#"[{"Label":"1A4FF0100000022000000001","Quantity":1,"UnitOfMeasureName":"Grams"},
{"Label":"1A4FF0100000022000000002","Quantity":1e400,"UnitOfMeasureName":"Grams"},
{"Label":"1A4FF0100000022000000003","Label":"1A4FF0100000022000000004"},
{"Label":"1A4FF0100000022000000005","Item":{"Name":"Jar","QuantityType":true}},
{"Label":"1A4FF0100000022000000006","Item":[1,2]},
"1A4FF0100000022000000007",
{"Label":"1A4FF0100000022000000009","Quantity":1e308,"UnitOfMeasureName":"Kilograms"},
{"Label":"1A4FF010000002200000000\u0038","Note":{"x":[1e999,"\ud83d\ude00"]}}]"#,
    )
    .unwrap();
    fs::write(
        dir.join("sales.json"),
        r#"[{"ReceiptNumber":"R1","SalesDateTime":"2026-10-01T10:00:00Z","Transactions":[
  {"PackageLabel":"1A4FF0100000022000000001","QuantitySold":1,"UnitOfMeasureName":"Grams"},
  ["1A4FF0100000022000000001",1]]}]"#,
    )
    .unwrap();
    let out = tmp.path().join("out");
    let (e, o) = (export.to_str().unwrap(), out.to_str().unwrap());
    run_expect(&["ingest", "--quiet", "--export", e, "--out", o], 0);
    let got: Vec<(i64, String, String)> =
        rejects(&out).into_iter().map(|(r, c, why, _)| (r, c, why)).collect();
    let want = |r: i64, c: &str, why: &str| (r, c.to_owned(), why.to_owned());
    assert_eq!(
        got,
        vec![
            want(1, "Quantity", "number out of range"),
            want(2, "Label", "duplicate field `Label`"),
            want(3, "Item.QuantityType", "wrong JSON type: expected string or number, got boolean"),
            want(4, "Item", "wrong JSON type: expected object, got array"),
            want(5, "", "record is not a JSON object"),
            want(6, "Quantity", "quantity out of range once converted to its base unit"),
            want(0, "Transactions[1]", "wrong JSON type: expected object, got array"),
        ]
    );
    // Unused fields are skipped, not built: an out-of-range number in one is no reject, and
    // escaped text in a read field is decoded.
    let p = read_table(&out, "packages");
    assert_eq!(p.height(), 2);
    assert!(row_where(&p, "label", "1A4FF0100000022000000008") < p.height());

    // A syntax error in a field nobody reads: the file cannot be read, exit 2 naming it.
    fs::write(
        dir.join("packages.json"),
        r#"[{"Label":"1A4FF0100000022000000001","Note":{"x":[1,]}}]"#,
    )
    .unwrap();
    let o2 = run_expect(&["ingest", "--quiet", "--export", e, "--out", o], 2);
    let err = String::from_utf8_lossy(&o2.stderr);
    assert!(err.contains("C11-0000001-LIC/packages.json") && err.contains("byte 52"), "{err}");
}

/// An XLSX count sheet (its first worksheet) is read like a CSV one: header aliases, number
/// and text cells, a date-time cell as facility-local time, a date cell as a whole day, the
/// worksheet's row numbers as lines in rejects and findings; a file that is not a workbook
/// is exit 2 naming it.
#[test]
fn ingest_reads_xlsx_count_sheets() {
    let tmp = tempfile::tempdir().unwrap();
    let export = tmp.path().join("export");
    let counts = tmp.path().join("counts");
    fs::create_dir_all(export.join(LIC)).unwrap();
    fs::create_dir_all(&counts).unwrap();
    let pkg = |n: u32, q: f64, unit: &str| {
        format!(
            r#"{{"Label":"1A4FF010000002200000000{n}","Quantity":{q},"UnitOfMeasureName":"{unit}","PackagedDate":"2026-10-01"}}"#
        )
    };
    let packages = [pkg(1, 5.0, "Grams"), pkg(2, 10.0, "Grams"), pkg(4, 2.0, "Each")];
    fs::write(export.join(LIC).join("packages.json"), format!("[{}]", packages.join(","))).unwrap();
    let sheet = format!("{LIC}.xlsx");
    fs::copy(crate::common::fixture("xlsx").join(&sheet), counts.join(&sheet)).unwrap();
    let run = |out: &Path, code: i32| {
        let (export, counts) = (export.to_str().unwrap(), counts.to_str().unwrap());
        let args = ["run", "--quiet", "--export", export, "--counts", counts, "--out"];
        run_expect(&[&args[..], &[out.to_str().unwrap()]].concat(), code)
    };
    let out = tmp.path().join("out");
    run(&out, 0);

    let c = read_table(&out, "counts")
        .sort(["record"], polars::prelude::SortMultipleOptions::default())
        .unwrap();
    assert_eq!(c.height(), 3);
    let rec: Vec<i64> = c.column("record").unwrap().i64().unwrap().into_no_null_iter().collect();
    assert_eq!(rec, [2, 3, 6], "worksheet rows; the blank row 5 is skipped");
    let qty: Vec<f64> = c.column("quantity").unwrap().f64().unwrap().into_no_null_iter().collect();
    assert_eq!(qty, [5.0, 12.5, 2.0]);
    assert_eq!(s(&c, "license", 0).as_deref(), Some(LIC), "from the file name");
    assert_eq!(s(&c, "unit", 1).as_deref(), Some("Grams"));
    assert_eq!(s(&c, "counted_by", 0).as_deref(), Some("Ana"));
    let at = c.column("counted_at").unwrap().cast(&polars::prelude::DataType::Int64).unwrap();
    let end = c.column("counted_at_end").unwrap().cast(&polars::prelude::DataType::Int64).unwrap();
    let us = |iso: &str| chrono::DateTime::parse_from_rfc3339(iso).unwrap().timestamp_micros();
    // 14:30 in Los Angeles in October (PDT, UTC−7).
    assert_eq!(at.i64().unwrap().get(0), Some(us("2026-10-15T21:30:00Z")));
    assert_eq!(end.i64().unwrap().get(0), Some(us("2026-10-15T21:30:00Z")));
    // A date cell is the whole local day.
    assert_eq!(at.i64().unwrap().get(1), Some(us("2026-10-15T07:00:00Z")));
    assert_eq!(end.i64().unwrap().get(1), Some(us("2026-10-16T06:59:59.999999Z")));
    assert_eq!(at.i64().unwrap().get(2), None);

    let rej = read(&out.join("rejects.parquet"));
    assert_eq!(rej.height(), 1);
    assert_eq!(s(&rej, "source_file", 0).as_deref(), Some(sheet.as_str()));
    assert_eq!(rej.column("record").unwrap().i64().unwrap().get(0), Some(4));
    assert_eq!(s(&rej, "column", 0).as_deref(), Some("Qty"));
    assert!(s(&rej, "reason", 0).unwrap().contains("abc"));
    let entry = input_entry(&out, &sheet);
    assert_eq!(
        (&entry["rows_in"], &entry["rows_accepted"], &entry["rows_rejected"]),
        (&4.into(), &3.into(), &1.into())
    );
    // Findings on sheet rows name their line.
    let f = read(&out.join("findings.parquet"));
    let details: Vec<String> = (0..f.height()).filter_map(|i| s(&f, "detail", i)).collect();
    assert!(details.iter().any(|d| d.ends_with("(line 3)")), "{details:?}");

    // Not a workbook: exit 2 naming the file, nothing left in OUT.
    fs::write(counts.join(&sheet), "Tag,Qty\n1A4FF0100000022000000001,5\n").unwrap();
    let bad_out = tmp.path().join("bad");
    let err = String::from_utf8_lossy(&run(&bad_out, 2).stderr).into_owned();
    assert!(err.contains(&sheet) && err.contains("not a readable XLSX workbook"), "{err}");
    let left = crate::common::left_in_out(&bad_out);
    assert!(left.is_empty(), "partial output left in OUT: {left:?}");
}
