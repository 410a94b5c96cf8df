//! Incremental runs (SPEC 7): with `--previous`, unchanged export files are not decoded
//! again and unchanged licenses keep their findings; the result must equal a full run.

use std::path::Path;

use polars::prelude::*;
use serde_json::Value;

use crate::common::{copy_tree, generate, manifest, read};

fn run(data: &Path, out: &Path, extra: &[&str]) {
    crate::common::run_pipeline_with(&data.join("export"), Some(&data.join("counts")), out, extra);
}

/// Change the records of one export file (a list, or a page object with `Data`).
fn edit(path: &Path, change: impl FnOnce(&mut Vec<Value>)) {
    let mut doc: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let list = match &mut doc {
        Value::Array(a) => a,
        Value::Object(o) => o.get_mut("Data").and_then(Value::as_array_mut).unwrap(),
        _ => panic!("{} holds no records", path.display()),
    };
    change(list);
    std::fs::write(path, serde_json::to_string(&doc).unwrap()).unwrap();
}

/// An output table without its run id, sorted the way tagtrail writes it.
fn table(out: &Path, name: &str) -> DataFrame {
    let df = read(&out.join(name));
    df.drop("run_id").unwrap_or(df)
}

fn license_dirs(export: &Path) -> Vec<std::path::PathBuf> {
    let mut dirs: Vec<_> = std::fs::read_dir(export)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    dirs
}

/// Change one digit of the first `"Quantity":` value of a JSON file: other bytes, same size.
fn same_size_edit(path: &Path) {
    let mut bytes = std::fs::read(path).unwrap();
    let key = b"\"Quantity\":";
    let at = bytes.windows(key.len()).position(|w| w == key).unwrap() + key.len();
    let digit = at + bytes[at..].iter().position(u8::is_ascii_digit).unwrap();
    bytes[digit] = if bytes[digit] == b'9' { b'1' } else { bytes[digit] + 1 };
    let before = std::fs::metadata(path).unwrap().len();
    std::fs::write(path, &bytes).unwrap();
    assert_eq!(std::fs::metadata(path).unwrap().len(), before);
}

/// The inodes of a license's `packages` lake parts in OUT.
fn package_parts(out: &Path, license: &str) -> std::collections::BTreeSet<u64> {
    use std::os::unix::fs::MetadataExt;
    let dir = out.join("lake").join("packages").join(format!("license={license}"));
    std::fs::read_dir(&dir)
        .map(|d| d.map(|e| e.unwrap().metadata().unwrap().ino()).collect())
        .unwrap_or_default()
}

#[test]
fn incremental_run_equals_a_full_run_and_decodes_only_changed_files() {
    let tmp = tempfile::tempdir().unwrap();
    let month1 = tmp.path().join("m1");
    generate(&month1, 4, 3000, 11, "json");
    let month2 = tmp.path().join("m2");
    copy_tree(&month1, &month2);
    let dirs = license_dirs(&month2.join("export"));
    // One license's packages change; another license's shipments change (their recipients'
    // transfer findings read the shipper's copy).
    edit(&dirs[1].join("packages.json"), |list| {
        for p in list.iter_mut().step_by(7) {
            let q = p["Quantity"].as_f64().unwrap_or(0.0);
            p["Quantity"] = Value::from(q + 3.0);
        }
    });
    edit(&dirs[0].join("transfers.json"), |list| {
        for t in list.iter_mut() {
            for p in t["Packages"].as_array_mut().into_iter().flatten() {
                if let Some(q) = p["ReceivedQuantity"].as_f64() {
                    p["ReceivedQuantity"] = Value::from(q * 0.5);
                }
            }
        }
    });
    // A third license's packages change without changing size: found by the bytes' hash.
    same_size_edit(&dirs[3].join("packages.json"));
    let out = |n: &str| tmp.path().join(n);
    run(&month1, &out("a"), &[]);
    run(&month2, &out("b"), &["--previous", out("a").to_str().unwrap()]);
    run(&month2, &out("full"), &[]);
    // The unchanged license's packages are the previous run's parts (hard links); the
    // changed files' parts were written again.
    let lic = |d: &Path| d.file_name().unwrap().to_string_lossy().into_owned();
    let (a, b) = (out("a"), out("b"));
    assert!(!package_parts(&b, &lic(&dirs[2])).is_empty());
    assert_eq!(package_parts(&b, &lic(&dirs[2])), package_parts(&a, &lic(&dirs[2])));
    for changed in [&dirs[1], &dirs[3]] {
        let now = package_parts(&b, &lic(changed));
        assert!(now.is_disjoint(&package_parts(&a, &lic(changed))), "{}", changed.display());
    }

    for name in ["findings.parquet", "summary.parquet", "rejects.parquet"] {
        let (inc, full) = (table(&out("b"), name), table(&out("full"), name));
        assert!(inc.equals_missing(&full), "{name}: incremental {inc:?}\nfull {full:?}");
    }
    // The month-2 changes mattered, and only the changed files were decoded.
    assert!(
        !table(&out("a"), "findings.parquet").equals_missing(&table(&out("b"), "findings.parquet"))
    );
    let m = manifest(&out("b"));
    let inputs = m["inputs"].as_array().unwrap();
    assert!(inputs.iter().filter(|f| f["root"] == "export").all(|f| f["part"].is_string()));
    let m_full = manifest(&out("full"));
    assert_eq!(inputs.len(), m_full["inputs"].as_array().unwrap().len());

    // The same inputs once more: every export file reused, the same findings.
    run(&month2, &out("c"), &["--previous", out("b").to_str().unwrap()]);
    let (again, full) =
        (table(&out("c"), "findings.parquet"), table(&out("full"), "findings.parquet"));
    assert!(again.equals_missing(&full));
}

/// Another time zone reads naive times differently: nothing is reused, and the findings
/// are those of a full run in that zone.
#[test]
fn incremental_run_in_another_time_zone_decodes_everything() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("d");
    generate(&data, 2, 600, 5, "json");
    let out = |n: &str| tmp.path().join(n);
    run(&data, &out("a"), &[]);
    let a = out("a");
    run(&data, &out("b"), &["--previous", a.to_str().unwrap(), "--timezone", "America/Denver"]);
    run(&data, &out("full"), &["--timezone", "America/Denver"]);
    let (inc, full) =
        (table(&out("b"), "findings.parquet"), table(&out("full"), "findings.parquet"));
    assert!(inc.equals_missing(&full));
}

/// A license whose own files did not change, but which received a shipment whose
/// shipper's file changed: its receipts (activities) and the shipper's copy it is judged by
/// are checked again, the rest of it is kept, and the result equals a full run's.
#[test]
fn incremental_run_rechecks_a_recipient_of_a_changed_shipment() {
    let tmp = tempfile::tempdir().unwrap();
    let month1 = tmp.path().join("m1");
    generate(&month1, 4, 3000, 11, "json");
    let dirs = license_dirs(&month1.join("export"));
    let shipper = dirs[0].file_name().unwrap().to_string_lossy().into_owned();
    // One manifest the shipper sent, which the recipient's own file does not hold, so the
    // recipient is judged by the shipper's copy.
    let shipped: Vec<Value> = records(&dirs[0].join("transfers.json"));
    let sent = shipped
        .iter()
        .find(|t| t["ShipperFacilityLicenseNumber"] == shipper.as_str())
        .expect("the shipper sent a manifest");
    let manifest = sent["ManifestNumber"].as_str().unwrap().to_owned();
    let recipient = sent["RecipientFacilityLicenseNumber"].as_str().unwrap().to_owned();
    let own = month1.join("export").join(&recipient).join("transfers.json");
    edit(&own, |list| list.retain(|t| t["ManifestNumber"] != manifest.as_str()));
    let month2 = tmp.path().join("m2");
    copy_tree(&month1, &month2);
    // Month 2: the shipper's copy says half was received, five days later.
    edit(&month2.join("export").join(&shipper).join("transfers.json"), |list| {
        for t in list.iter_mut().filter(|t| t["ManifestNumber"] == manifest.as_str()) {
            t["ReceivedDateTime"] = Value::from("2026-03-30T10:00:00-07:00");
            for p in t["Packages"].as_array_mut().into_iter().flatten() {
                let q = p["ShippedQuantity"].as_f64().unwrap_or(0.0);
                p["ReceivedQuantity"] = Value::from(q * 0.5);
            }
        }
    });
    let out = |n: &str| tmp.path().join(n);
    run(&month1, &out("a"), &[]);
    run(&month2, &out("b"), &["--previous", out("a").to_str().unwrap()]);
    run(&month2, &out("full"), &[]);
    for name in ["findings.parquet", "summary.parquet"] {
        let (inc, full) = (table(&out("b"), name), table(&out("full"), name));
        assert!(inc.equals_missing(&full), "{name}: incremental {inc:?}\nfull {full:?}");
    }
    // The change reached the recipient: a mismatch on that manifest, found in month 2 only.
    let mismatch = |o: &Path| {
        let f = table(o, "findings.parquet");
        let rows = f
            .lazy()
            .filter(
                col("rule_id")
                    .eq(lit("transfer.accepted_quantity_mismatch"))
                    .and(col("license").eq(lit(recipient.as_str())))
                    .and(col("reference").eq(lit(manifest.as_str()))),
            )
            .collect()
            .unwrap();
        rows.height()
    };
    assert_eq!(mismatch(&out("a")), 0);
    assert!(mismatch(&out("b")) > 0);
    // The recipient's own files were not decoded again.
    let lic = |d: &Path| d.file_name().unwrap().to_string_lossy().into_owned();
    let r = dirs.iter().find(|d| lic(d) == recipient).unwrap();
    assert_eq!(package_parts(&out("b"), &lic(r)), package_parts(&out("a"), &lic(r)));
}

/// The records of an export file (a list, or a page object with `Data`).
fn records(path: &Path) -> Vec<Value> {
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    match doc {
        Value::Array(a) => a,
        Value::Object(mut o) => o.remove("Data").and_then(|d| d.as_array().cloned()).unwrap(),
        _ => panic!("{} holds no records", path.display()),
    }
}
