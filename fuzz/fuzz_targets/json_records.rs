//! JSON splitter + Metrc record decoder. The first byte picks JSON Lines (odd) or JSON
//! (even); every record the splitter yields is decoded as each export kind.
//!
//! Invariants: nothing panics; records are in-bounds slices of the input in order; a
//! rejected or syntax-broken record writes no rows; an accepted one writes the rows its kind
//! promises, with every column of every batch the same length.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tagtrail::ingest::json::Splitter;
use tagtrail::ingest::metrc::{self, Kind, Origin, Outcome, Rows};

fuzz_target!(|data: &[u8]| {
    let Some((&mode, input)) = data.split_first() else { return };
    let lines = mode & 1 == 1;
    let mut splitter = Splitter::new(input, lines, Default::default());
    let mut last: Option<u64> = None;
    loop {
        match splitter.next_chunk() {
            Ok(Some(chunk)) => {
                assert_eq!(chunk.records.len(), chunk.index.len());
                assert!(!chunk.records.is_empty(), "a chunk without records");
                for (&(a, b), &i) in chunk.records.iter().zip(&chunk.index) {
                    assert!(
                        a < b && b <= chunk.buf.len(),
                        "record {a}..{b} of {}",
                        chunk.buf.len()
                    );
                    assert!(last.is_none_or(|p| i > p), "record index {i} after {last:?}");
                    last = Some(i);
                    let off = usize::try_from(chunk.base).unwrap() + a;
                    let rec = &chunk.buf[a..b];
                    assert_eq!(
                        &input[off..off + rec.len()],
                        rec,
                        "record is not the input's bytes"
                    );
                    // JSON whitespace (not form feed, which `is_ascii_whitespace` allows).
                    assert!(lines || !matches!(rec[0], b' ' | b'\t' | b'\r' | b'\n'));
                    if lines {
                        assert!(!rec.contains(&b'\n'));
                        let line = input[..off].iter().filter(|&&c| c == b'\n').count() as u64;
                        assert_eq!(i, line, "JSON Lines index is the 0-based line");
                    }
                    for kind in Kind::ALL {
                        decode(kind, rec, i);
                    }
                }
                splitter.recycle(chunk.buf);
            }
            Ok(None) => {
                assert_eq!(splitter.bytes_read, input.len() as u64);
                break;
            }
            Err(e) => {
                assert!(e.offset <= input.len() as u64, "error offset {} past the end", e.offset);
                assert!(!e.reason.is_empty());
                break;
            }
        }
    }
});

fn decode(kind: Kind, rec: &[u8], index: u64) {
    let origin = Origin { license: "C11-0000001-LIC", source_file: "f.json", record: index as i64 };
    let mut rows = Rows::new(kind);
    let outcome = metrc::decode(kind, rec, &origin, chrono_tz::America::Los_Angeles, &mut rows);
    let lens: Vec<usize> = rows.batches.iter().map(|b| b.len()).collect();
    match outcome {
        Outcome::Accepted => {
            assert!(std::str::from_utf8(rec).is_ok(), "accepted a record that is not UTF-8");
            match kind {
                Kind::Packages | Kind::Adjustments | Kind::LabResults => assert_eq!(lens[0], 1),
                Kind::Transfers => assert!(lens[0] == 1 && lens[2] <= lens[1], "{lens:?}"),
                Kind::Sales => assert!(
                    lens[0] >= 1 && (lens[1] == lens[0] || (lens[0], lens[1]) == (1, 0)),
                    "{lens:?}"
                ),
                Kind::History => assert_eq!(lens, [1, 1]),
            }
            for batch in rows.batches {
                let n = batch.len();
                let table = batch.table();
                let df = batch.into_frame().unwrap_or_else(|e| panic!("{table}: {e}"));
                assert_eq!(df.height(), n, "{table}");
                for c in df.columns() {
                    assert_eq!(c.len(), n, "{table}.{}", c.name());
                }
            }
        }
        Outcome::Rejected { reason, .. } => {
            assert!(!reason.is_empty());
            assert!(lens.iter().all(|&n| n == 0), "rejected but wrote rows {lens:?}");
        }
        Outcome::Syntax { offset, reason } => {
            assert!(offset <= rec.len(), "syntax offset {offset} past {}", rec.len());
            assert!(!reason.is_empty());
            assert!(lens.iter().all(|&n| n == 0), "syntax error but wrote rows {lens:?}");
        }
    }
}
