//! Count sheet reader: any bytes as a CSV file. Invariants: nothing panics; every data row
//! is accepted or rejected (rows in = accepted + rejects); every row's line number is a
//! physical line of the file; the accepted batch converts to a frame of that many rows, and
//! its quantities (also in base units) are finite.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tagtrail::ingest::counts;

fuzz_target!(|data: &[u8]| {
    let tz = chrono_tz::America::Los_Angeles;
    let Ok(sheet) = counts::read_csv(data, "f.csv", "C11-0000001-LIC", tz) else { return };
    let accepted = sheet.rows.len() as u64;
    assert_eq!(
        sheet.rows_in,
        accepted + sheet.rejects.len() as u64,
        "rows in != accepted + rejected"
    );
    // Physical lines end with `\n`, `\r\n` or a lone `\r`.
    let breaks = data
        .iter()
        .enumerate()
        .filter(|&(i, &c)| c == b'\n' || (c == b'\r' && data.get(i + 1) != Some(&b'\n')))
        .count();
    let last_line = 1 + breaks as i64;
    for r in &sheet.rejects {
        assert!((1..=last_line).contains(&r.line), "reject line {} of {last_line}", r.line);
        assert!(!r.reason.is_empty());
    }
    let df = sheet.rows.into_frame().expect("counts batch converts");
    assert_eq!(df.height() as u64, accepted);
    let record = df.column("record").expect("record column");
    let record = record.i64().expect("record is i64");
    for i in 0..record.len() {
        let line = record.get(i).expect("record is never null");
        assert!((2..=last_line).contains(&line), "row line {line} of {last_line}");
    }
    for name in ["quantity", "quantity_base"] {
        let col = df.column(name).expect("quantity columns").f64().expect("f64");
        for i in 0..col.len() {
            assert!(col.get(i).is_none_or(f64::is_finite), "{name} {:?}", col.get(i));
        }
    }
});
