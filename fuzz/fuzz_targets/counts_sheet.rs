//! Count-sheet sniffer: any bytes as a count sheet of unknown encoding, delimiter and
//! preamble (`read_text_sheet`, the entry point ingest uses for CSV-like sheets).
//! Invariants as `counts_csv`: nothing panics; rows in = accepted + rejected; for UTF-8
//! input every row's line number is a physical line of the file; the accepted batch
//! converts to a frame of that many rows with finite quantities.
#![no_main]

use std::collections::BTreeSet;

use libfuzzer_sys::fuzz_target;
use tagtrail::ingest::counts::{self, SheetOptions};

fuzz_target!(|data: &[u8]| {
    let tz = chrono_tz::America::Los_Angeles;
    let set = BTreeSet::new();
    let opts = SheetOptions::plain(tz, "L", &set);
    let Ok(sheet) = counts::read_text_sheet(data, "f.csv", &opts) else { return };
    let accepted = sheet.rows.len() as u64;
    assert_eq!(
        sheet.rows_in,
        accepted + sheet.rejects.len() as u64,
        "rows in != accepted + rejected"
    );
    for r in &sheet.rejects {
        assert!(!r.reason.is_empty());
    }
    // Line numbers are those of the decoded text: for UTF-8 (with or without BOM) the
    // file's own physical lines (`\n`, `\r\n` or a lone `\r`).
    let last_line = std::str::from_utf8(data).ok().map(|_| {
        let breaks = data
            .iter()
            .enumerate()
            .filter(|&(i, &c)| c == b'\n' || (c == b'\r' && data.get(i + 1) != Some(&b'\n')))
            .count();
        1 + breaks as i64
    });
    if let Some(last) = last_line {
        for r in &sheet.rejects {
            assert!((1..=last).contains(&r.line), "reject line {} of {last}", r.line);
        }
    }
    let df = sheet.rows.into_frame().expect("counts batch converts");
    assert_eq!(df.height() as u64, accepted);
    let record = df.column("record").expect("record column");
    let record = record.i64().expect("record is i64");
    for i in 0..record.len() {
        let line = record.get(i).expect("record is never null");
        if let Some(last) = last_line {
            assert!((2..=last).contains(&line), "row line {line} of {last}");
        }
    }
    for name in ["quantity", "quantity_base"] {
        let col = df.column(name).expect("quantity columns").f64().expect("f64");
        for i in 0..col.len() {
            assert!(col.get(i).is_none_or(f64::is_finite), "{name} {:?}", col.get(i));
        }
    }
});
