//! Timestamp parser over a few time zones (DST at 2 am, a 30-minute DST shift, a zone with
//! a :45 offset, UTC). Invariants: nothing panics; start <= end; an instant (not date-only)
//! has start == end and formats back (RFC 3339, `Z`, µs) to the same instant; a date-only
//! value spans at most a day and a bit; surrounding spaces change nothing.
#![no_main]

use chrono::DateTime;
use chrono_tz::Tz;
use libfuzzer_sys::fuzz_target;
use tagtrail::ingest::normalize::parse_timestamp;

const ZONES: [Tz; 4] = [
    chrono_tz::America::Los_Angeles,
    chrono_tz::Australia::Lord_Howe,
    chrono_tz::Asia::Kathmandu,
    chrono_tz::UTC,
];

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else { return };
    for tz in ZONES {
        let r = parse_timestamp(s, tz);
        assert_eq!(r, parse_timestamp(&format!("  {s}\t"), tz), "spaces around `{s}` changed it");
        let Ok(Some(st)) = r else { continue };
        assert!(st.start_us <= st.end_us, "{s:?} in {tz}: {st:?}");
        if st.date_only {
            // A local day is 23 to 25 hours (Lord Howe: 23.5 to 24.5).
            let span = st.end_us - st.start_us + 1;
            assert!((22 * 3_600_000_000..=26 * 3_600_000_000).contains(&span), "{s:?}: {st:?}");
            continue;
        }
        assert_eq!(st.start_us, st.end_us, "{s:?}: {st:?}");
        let at = DateTime::from_timestamp_micros(st.start_us).expect("in chrono's range");
        let back = at.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string();
        // Skip what the parser cannot take back: UTC years outside 1..=9999 and the
        // 0001-01-01 null sentinel.
        if !back.starts_with("0001-01-01") && back.len() == 27 {
            let again = parse_timestamp(&back, tz).expect("own output parses").expect("not null");
            assert_eq!(again.start_us, st.start_us, "{s:?} → {back}");
        }
    }
});
